/* commit.c - the checks before a snapshot is written, and the write. */
#include "repo/commit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "snapshot/tree.h"
#include "storage/storage.h"

struct RepoCommit {
    Repo *repo;         /* borrowed */
    LbId *indexAtStart; /* the index files deduplicated against */
    size_t indexAtStartCount;
};

RepoCommit *repoCommitBegin(Repo *repo, LbError *err) {
    if (!repoIndexLoaded(repo) && !repoLoadIndex(repo, err))
        return NULL;
    RepoCommit *c = lbXcalloc(1, sizeof(*c));
    c->repo = repo;
    size_t n = 0;
    const LbId *files = repoIndexFiles(repo, &n);
    c->indexAtStart = lbXmalloc((n ? n : 1) * sizeof(LbId));
    if (n > 0)
        memcpy(c->indexAtStart, files, n * sizeof(LbId));
    c->indexAtStartCount = n;
    return c;
}

void repoCommitFree(RepoCommit *c) {
    if (c == NULL)
        return;
    free(c->indexAtStart);
    free(c);
}

bool repoCommitCheckPacks(Repo *repo, const LbId *packs, size_t count, LbError *err) {
    for (size_t i = 0; i < count; i++) {
        char name[80];
        repoPackName(&packs[i], name);
        StorageInfo info;
        if (!storageStat(repoStorage(repo), name, &info, err))
            return lbErrorWrap(err, "no snapshot written: unable to check pack '%s'", name);
        if (!info.exists)
            return lbErr(err, LB_ERR_NOT_COMMITTED,
                         "no snapshot written: pack '%s' uploaded by this run was removed meanwhile (a prune while "
                         "this run's lock was lost?); run it again",
                         name);
    }
    return true;
}

/* How many of the index files recorded at the start are gone now. */
static bool countIndexGone(RepoCommit *c, size_t *gone, LbError *err) {
    LbId *now = NULL;
    size_t nowCount = 0;
    if (!repoListIds(c->repo, "index", &now, &nowCount, err))
        return lbErrorWrap(err, "no snapshot written: unable to list the index");
    *gone = 0;
    for (size_t i = 0; i < c->indexAtStartCount; i++) {
        bool found = false;
        for (size_t k = 0; k < nowCount && !found; k++)
            found = lbIdEqual(&c->indexAtStart[i], &now[k]);
        *gone += !found;
    }
    free(now);
    return true;
}

/* Every tree and data blob reachable from id is in the (reloaded) index;
 * seen holds the trees already walked. */
static bool treeComplete(Repo *repo, const LbId *id, Index *seen, size_t depth, LbError *err) {
    if (!treeDepthCheck(depth, "", err))
        return false;
    PackEntry mark = {.id = *id, .type = BLOB_TREE};
    if (!indexAdd(seen, 0, &mark))
        return true;
    LbBuf plain = {0};
    Tree t = {0};
    bool ok = repoLoadBlob(repo, BLOB_TREE, id, &plain, err) && treeDecode(plain.data, plain.len, &t, err);
    lbBufFree(&plain);
    for (size_t i = 0; ok && i < t.count; i++) {
        Node *n = &t.nodes[i];
        if (n->type == NODE_DIR) {
            ok = treeComplete(repo, &n->subtree, seen, depth + 1, err);
        } else if (n->type == NODE_FILE) {
            for (size_t k = 0; k < n->contentCount && ok; k++) {
                if (!indexHas(repoIndex(repo), &n->content[k], BLOB_DATA)) {
                    char hex[LB_ID_HEX_LEN + 1];
                    lbIdToHex(&n->content[k], hex);
                    ok = lbErr(err, LB_ERR_NOT_COMMITTED, "data blob %s of '%s' is no longer in the repository", hex,
                               n->name);
                }
            }
        }
    }
    treeFree(&t);
    return ok;
}

bool repoCommitTreeComplete(Repo *repo, const LbId *tree, LbError *err) {
    Index *seen = indexNew();
    bool ok = treeComplete(repo, tree, seen, 0, err);
    indexFree(seen);
    return ok;
}

/* The checks a commit runs before and again after it writes the snapshot:
 * the packs this run uploaded exist, and when an index file recorded at the
 * start is gone, every blob reachable from the new tree is still indexed. */
static bool commitCheck(RepoCommit *c, const LbId *newPacks, size_t newPackCount, const Snapshot *snap, LbError *err) {
    size_t gone = 0;
    if (!repoCommitCheckPacks(c->repo, newPacks, newPackCount, err) || !countIndexGone(c, &gone, err))
        return false;
    if (gone == 0)
        return true;
    lbLogWarn("%zu index file(s) changed during this run (a concurrent prune?): verifying the new snapshot", gone);
    bool ok = repoReloadIndex(c->repo, err) && repoCommitTreeComplete(c->repo, &snap->tree, err);
    if (!ok && (err->code == LB_ERR_NOT_FOUND || err->code == LB_ERR_CORRUPT))
        err->code = LB_ERR_NOT_COMMITTED; /* a tree, a pack or a blob is gone */
    if (!ok && err->code == LB_ERR_NOT_COMMITTED)
        return lbErrorWrap(err, "no snapshot written: data this run relies on was removed meanwhile; run it again");
    if (!ok)
        return lbErrorWrap(err, "no snapshot written: unable to verify the snapshot after the index changed");
    return true;
}

bool repoCommitSnapshot(RepoCommit *c, const LbId *newPacks, size_t newPackCount, Snapshot *snap, LbError *err) {
    if (!commitCheck(c, newPacks, newPackCount, snap, err))
        return false;
    if (!snapshotSave(c->repo, snap, err))
        return lbErrorWrap(err, "no snapshot written");
    /* A prune whose lock was lost may have deleted data between the check
     * above and the write (it listed the snapshots before this one
     * existed). Check again now that the snapshot is visible: if something
     * is gone, withdraw the snapshot, so that a snapshot that stays is one
     * whose data was there after it was written (docs/concurrency.md). */
    if (commitCheck(c, newPacks, newPackCount, snap, err))
        return true;
    char hex[LB_ID_HEX_LEN + 1], name[16 + LB_ID_HEX_LEN];
    lbIdToHex(&snap->id, hex);
    snprintf(name, sizeof(name), "snapshots/%s", hex);
    LbError rmErr = {0};
    if (!storageRemove(repoStorage(c->repo), name, &rmErr)) {
        size_t len = strlen(err->msg);
        snprintf(err->msg + len, sizeof(err->msg) - len,
                 "; snapshot %.8s was written before this was found and could not be withdrawn (%s): forget it", hex,
                 rmErr.msg);
    }
    err->code = LB_ERR_NOT_COMMITTED;
    return false;
}
