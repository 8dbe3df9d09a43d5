/* walk.c - load tree blobs and visit trees recursively (see walk.h). */
#include "snapshot/walk.h"

#include <stdlib.h>

#include "common/log.h"

bool treeLoad(Repo *repo, const LbId *id, Tree *out, LbError *err) {
    if (lbIdIsZero(id))
        return true;
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(id, hex);
    lbLogDebug("loading tree %.8s", hex);
    LbBuf plain = {0};
    bool ok = repoLoadBlob(repo, BLOB_TREE, id, &plain, err) && treeDecode(plain.data, plain.len, out, err);
    lbBufFree(&plain);
    return ok;
}

bool treeWalk(Repo *repo, const LbId *id, const char *prefix, TreeWalkFn fn, void *ctx, LbError *err) {
    if (!treeDepthCheck(treePathDepth(prefix), prefix, err))
        return false;
    Tree t = {0};
    bool ok = treeLoad(repo, id, &t, err);
    for (size_t i = 0; ok && i < t.count; i++) {
        char *path = lbXasprintf("%s/%s", prefix, t.nodes[i].name);
        ok = fn(ctx, path, &t.nodes[i], err);
        if (ok && t.nodes[i].type == NODE_DIR)
            ok = treeWalk(repo, &t.nodes[i].subtree, path, fn, ctx, err);
        free(path);
    }
    treeFree(&t);
    return ok;
}
