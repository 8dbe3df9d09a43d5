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
    LbId *missingPacks; /* packs the index names that the repository lacks (at the start) */
    size_t missingCount;
};

/* The packs the index names that are not in data/ (one listing). A blob the
 * run deduplicates against, or an unchanged file's blob, may be in one. */
static bool findMissingPacks(RepoCommit *c, LbError *err) {
    RepoPackList packs = {0};
    if (!repoListPacks(c->repo, &packs, err))
        return false;
    Index *ix = repoIndex(c->repo);
    for (uint32_t p = 0; p < indexPackCount(ix); p++) {
        if (repoPackFind(&packs, indexPackId(ix, p)) != NULL)
            continue;
        c->missingPacks = lbXrealloc(c->missingPacks, (c->missingCount + 1) * sizeof(LbId));
        c->missingPacks[c->missingCount++] = *indexPackId(ix, p);
    }
    free(packs.items);
    return true;
}

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
    if (!findMissingPacks(c, err)) {
        repoCommitFree(c);
        return NULL;
    }
    if (c->missingCount > 0)
        lbLogWarn("%zu pack(s) named by the index are missing from the repository: this run's snapshot is checked "
                  "against them before it is written",
                  c->missingCount);
    return c;
}

void repoCommitFree(RepoCommit *c) {
    if (c == NULL)
        return;
    free(c->indexAtStart);
    free(c->missingPacks);
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

/* id's entry in the index names one of the commit's missing packs (c may be
 * NULL: none); its name into err. */
static bool inMissingPack(const RepoCommit *c, Repo *repo, const LbId *id, BlobType type, const char *name,
                          LbError *err) {
    IndexLoc loc;
    if (c == NULL || c->missingCount == 0 || !indexLookup(repoIndex(repo), id, type, &loc))
        return false;
    const LbId *pack = indexPackId(repoIndex(repo), loc.pack);
    for (size_t i = 0; i < c->missingCount; i++) {
        if (lbIdEqual(pack, &c->missingPacks[i])) {
            char hex[LB_ID_HEX_LEN + 1], shown[256];
            lbIdToHex(pack, hex);
            lbErr(err, LB_ERR_NOT_COMMITTED,
                  "%s%s%s would use pack %.8s, which is missing from the repository\n"
                  "HINT: 'lifeboat check' names what the lost pack held; 'lifeboat repair index' drops it from the "
                  "index, after which a backup stores that data again.",
                  name ? "file '" : "a directory", name ? lbPrintable(name, shown, sizeof(shown)) : "", name ? "'" : "",
                  hex);
            return true;
        }
    }
    return false;
}

/* Every tree and data blob reachable from id is in the (reloaded) index, and
 * none is in a pack c found missing (c NULL: not checked); seen holds the
 * trees already walked. */
static bool treeComplete(const RepoCommit *c, Repo *repo, const LbId *id, Index *seen, size_t depth, LbError *err) {
    if (!treeDepthCheck(depth, "", err))
        return false;
    PackEntry mark = {.id = *id, .type = BLOB_TREE};
    if (!indexAdd(seen, 0, &mark))
        return true;
    if (inMissingPack(c, repo, id, BLOB_TREE, NULL, err))
        return false;
    LbBuf plain = {0};
    Tree t = {0};
    bool ok = repoLoadBlob(repo, BLOB_TREE, id, &plain, err) && treeDecode(plain.data, plain.len, &t, err);
    lbBufFree(&plain);
    for (size_t i = 0; ok && i < t.count; i++) {
        Node *n = &t.nodes[i];
        if (n->type == NODE_DIR) {
            ok = treeComplete(c, repo, &n->subtree, seen, depth + 1, err);
        } else if (n->type == NODE_FILE) {
            for (size_t k = 0; k < n->contentCount && ok; k++) {
                if (!indexHas(repoIndex(repo), &n->content[k], BLOB_DATA)) {
                    char hex[LB_ID_HEX_LEN + 1];
                    lbIdToHex(&n->content[k], hex);
                    ok = lbErr(err, LB_ERR_NOT_COMMITTED, "data blob %s of '%s' is no longer in the repository", hex,
                               n->name);
                } else if (inMissingPack(c, repo, &n->content[k], BLOB_DATA, n->name, err)) {
                    ok = false;
                }
            }
        }
    }
    treeFree(&t);
    return ok;
}

bool repoCommitTreeComplete(Repo *repo, const LbId *tree, LbError *err) {
    Index *seen = indexNew();
    bool ok = treeComplete(NULL, repo, tree, seen, 0, err);
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
    if (gone == 0 && c->missingCount > 0) {
        /* "saved" must mean "restorable": nothing of it may be in a lost pack */
        Index *seen = indexNew();
        bool ok = treeComplete(c, c->repo, &snap->tree, seen, 0, err);
        indexFree(seen);
        if (!ok && (err->code == LB_ERR_NOT_FOUND || err->code == LB_ERR_CORRUPT || err->code == LB_ERR_IO))
            err->code = LB_ERR_NOT_COMMITTED;
        return ok || lbErrorWrap(err, "no snapshot written");
    }
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
