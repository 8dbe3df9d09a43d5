/* diff.c - the differences between two snapshot trees (see diff.h). */
#include "snapshot/diff.h"

#include <stdlib.h>
#include <string.h>

#include "snapshot/walk.h"

typedef struct Differ {
    Repo *repo;
    DiffFn fn;
    void *ctx;
    DiffStats *stats;
} Differ;

static bool sameContent(const Node *a, const Node *b) {
    if (a->type == NODE_FILE)
        return a->contentCount == b->contentCount &&
               (a->contentCount == 0 || memcmp(a->content, b->content, a->contentCount * sizeof(LbId)) == 0);
    if (a->type == NODE_SYMLINK)
        return strcmp(a->linkTarget ? a->linkTarget : "", b->linkTarget ? b->linkTarget : "") == 0;
    return true;
}

static bool sameMeta(const Node *a, const Node *b) {
    return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid && a->mtimeNs == b->mtimeNs;
}

static bool emit(Differ *d, DiffChange change, const char *path, const Node *n, LbError *err) {
    switch (change) {
    case DIFF_ADDED:
        d->stats->added++;
        break;
    case DIFF_REMOVED:
        d->stats->removed++;
        break;
    case DIFF_MODIFIED:
        d->stats->modified++;
        break;
    case DIFF_METADATA:
        d->stats->metadata++;
        break;
    }
    return d->fn == NULL || d->fn(d->ctx, change, path, n, err);
}

static bool diffLevel(Differ *d, const LbId *a, const LbId *b, const char *prefix, LbError *err);

/* n and, for a directory, everything below it, as added or removed. */
static bool emitAll(Differ *d, DiffChange change, const Node *n, const char *path, LbError *err) {
    if (!emit(d, change, path, n, err))
        return false;
    if (n->type != NODE_DIR)
        return true;
    LbId zero = {{0}};
    return change == DIFF_ADDED ? diffLevel(d, &zero, &n->subtree, path, err)
                                : diffLevel(d, &n->subtree, &zero, path, err);
}

/* The same name on both sides. */
static bool diffPair(Differ *d, const Node *na, const Node *nb, const char *path, LbError *err) {
    if (na->type != nb->type)
        return emitAll(d, DIFF_REMOVED, na, path, err) && emitAll(d, DIFF_ADDED, nb, path, err);
    if (na->type == NODE_DIR) {
        if (!sameMeta(na, nb) && !emit(d, DIFF_METADATA, path, nb, err))
            return false;
        return diffLevel(d, &na->subtree, &nb->subtree, path, err);
    }
    if (!sameContent(na, nb))
        return emit(d, DIFF_MODIFIED, path, nb, err);
    if (!sameMeta(na, nb))
        return emit(d, DIFF_METADATA, path, nb, err);
    return true;
}

static bool diffLevel(Differ *d, const LbId *a, const LbId *b, const char *prefix, LbError *err) {
    if (lbIdEqual(a, b))
        return true;
    if (!treeDepthCheck(treePathDepth(prefix), prefix, err))
        return false;
    Tree ta = {0}, tb = {0};
    bool ok = treeLoad(d->repo, a, &ta, err) && treeLoad(d->repo, b, &tb, err);
    size_t i = 0, k = 0;
    while (ok && (i < ta.count || k < tb.count)) {
        int c = i >= ta.count ? 1 : k >= tb.count ? -1 : strcmp(ta.nodes[i].name, tb.nodes[k].name);
        const Node *na = c <= 0 ? &ta.nodes[i++] : NULL, *nb = c >= 0 ? &tb.nodes[k++] : NULL;
        char *path = lbXasprintf("%s/%s", prefix, (na ? na : nb)->name);
        if (na && nb)
            ok = diffPair(d, na, nb, path, err);
        else
            ok = na ? emitAll(d, DIFF_REMOVED, na, path, err) : emitAll(d, DIFF_ADDED, nb, path, err);
        free(path);
    }
    treeFree(&ta);
    treeFree(&tb);
    return ok;
}

bool diffTrees(Repo *repo, const LbId *a, const LbId *b, DiffFn fn, void *ctx, DiffStats *stats, LbError *err) {
    *stats = (DiffStats){0};
    Differ d = {repo, fn, ctx, stats};
    return diffLevel(&d, a, b, "", err);
}
