/* repair_snapshots.c - drop what a snapshot lost, keep the rest (maint/repair.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "index/index.h"
#include "maint/repair.h"
#include "repo/commit.h"
#include "repo/saver.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"

typedef struct Repairer {
    Repo *repo;
    bool dryRun;
    BlobSaver *saver; /* created at the first tree to store */
    RepairSnapshot *cur;
    RepairSnapshotsResult *result;
    uint8_t *complete; /* bitmap over index entry numbers: trees found whole */
    size_t completeCount;
} Repairer;

/* A tree already found whole (nothing below it lost) needs no second walk:
 * snapshots share most of their trees. */
static bool knownComplete(const Repairer *rp, const LbId *id, size_t *pos) {
    if (!indexLookupPos(repoIndex(rp->repo), id, BLOB_TREE, pos) || *pos >= rp->completeCount)
        return false;
    return rp->complete[*pos / 8] & (1u << (*pos % 8));
}

static void addLoss(Repairer *rp, const char *path, bool dir, char *reasonTake) {
    RepairSnapshot *s = rp->cur;
    s->losses = lbXrealloc(s->losses, (s->lossCount + 1) * sizeof(RepairLoss));
    s->losses[s->lossCount++] = (RepairLoss){lbXstrdup(path[0] ? path : "/"), dir, reasonTake};
    if (dir)
        rp->result->dirsEmptied++;
    else
        rp->result->filesRemoved++;
}

/* Store a rebuilt tree (or, with dryRun, only compute its ID). */
static void storeTree(Repairer *rp, const Tree *t, LbId *out) {
    LbBuf plain = {0};
    treeEncode(t, &plain);
    if (rp->dryRun) {
        repoBlobId(rp->repo, plain.data, plain.len, out);
        lbBufFree(&plain);
        return;
    }
    if (rp->saver == NULL)
        rp->saver = saverNew(rp->repo, 1);
    size_t len = 0;
    uint8_t *data = lbBufTake(&plain, &len);
    saverSubmitTake(rp->saver, BLOB_TREE, data, len, out, NULL);
    saverWait(rp->saver);
}

/* The first of a file's data blobs the index does not hold, or NULL. */
static const LbId *missingData(Repairer *rp, const Node *n) {
    for (size_t k = 0; k < n->contentCount; k++)
        if (!indexHas(repoIndex(rp->repo), &n->content[k], BLOB_DATA))
            return &n->content[k];
    return NULL;
}

/* Rebuild the tree id (at path) without what is lost; *out is the tree to
 * name instead (id itself when nothing below it changed). */
static bool repairTree(Repairer *rp, const LbId *id, const char *path, size_t depth, LbId *out, LbError *err) {
    *out = *id;
    size_t pos;
    if (knownComplete(rp, id, &pos))
        return true;
    if (!treeDepthCheck(depth, path, err))
        return false;
    LbBuf plain = {0};
    Tree t = {0}, nt = {0};
    bool ok = repoLoadBlob(rp->repo, BLOB_TREE, id, &plain, err) && treeDecode(plain.data, plain.len, &t, err);
    bool changed = false;
    char hex[LB_ID_HEX_LEN + 1];
    for (size_t i = 0; ok && i < t.count; i++) {
        const Node *n = &t.nodes[i];
        char *child = lbXasprintf("%s/%s", path, n->name);
        LbId sub = n->subtree;
        if (n->type == NODE_FILE) {
            const LbId *miss = missingData(rp, n);
            if (miss) {
                lbIdToHex(miss, hex);
                addLoss(rp, child, false, lbXasprintf("data blob %s is not in the index", hex));
                changed = true;
                free(child);
                continue;
            }
        } else if (n->type == NODE_DIR) {
            if (!indexHas(repoIndex(rp->repo), &n->subtree, BLOB_TREE)) {
                lbIdToHex(&n->subtree, hex);
                addLoss(rp, child, true, lbXasprintf("tree blob %s is not in the index", hex));
                Tree empty = {0};
                storeTree(rp, &empty, &sub);
            } else {
                ok = repairTree(rp, &n->subtree, child, depth + 1, &sub, err);
            }
        }
        free(child);
        Node *copy = treeAppend(&nt);
        nodeCopy(copy, n);
        if (n->type == NODE_DIR && !lbIdEqual(&sub, &n->subtree)) {
            copy->subtree = sub;
            changed = true;
        }
    }
    if (ok && changed)
        storeTree(rp, &nt, out);
    else if (ok && indexLookupPos(repoIndex(rp->repo), id, BLOB_TREE, &pos) && pos < rp->completeCount)
        rp->complete[pos / 8] |= (uint8_t)(1u << (pos % 8));
    if (ok && rp->saver && saverFailed(rp->saver))
        ok = saverFinish(rp->saver, err); /* reports the saver's first error */
    lbBufFree(&plain);
    treeFree(&t);
    treeFree(&nt);
    return ok;
}

/* Repair one snapshot's tree; *newTree is the tree a repaired snapshot names. */
static bool repairOne(Repairer *rp, const Snapshot *s, LbId *newTree, LbError *err) {
    rp->result->snapshotsChecked++;
    RepairSnapshot item = {.old = s->id};
    rp->cur = &item;
    bool ok;
    if (!indexHas(repoIndex(rp->repo), &s->tree, BLOB_TREE)) {
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&s->tree, hex);
        addLoss(rp, "", true, lbXasprintf("tree blob %s is not in the index", hex));
        Tree empty = {0};
        storeTree(rp, &empty, newTree);
        ok = !(rp->saver && saverFailed(rp->saver)) || saverFinish(rp->saver, err);
    } else {
        ok = repairTree(rp, &s->tree, "", 0, newTree, err);
    }
    if (!ok) {
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&s->id, hex);
        lbErrorWrap(err, "unable to repair snapshot %.8s", hex);
    }
    RepairSnapshotsResult *r = rp->result;
    if (item.lossCount > 0) {
        r->items = lbXrealloc(r->items, (r->count + 1) * sizeof(RepairSnapshot));
        r->items[r->count++] = item;
    }
    rp->cur = NULL;
    return ok;
}

/* A snapshot tagged "repaired" names id as its original: repairing id again
 * would only write a duplicate of it. */
static bool repairedBefore(const SnapshotList *all, const LbId *id) {
    for (size_t i = 0; i < all->count; i++) {
        const Snapshot *s = &all->items[i];
        for (size_t k = 0; s->hasOriginal && lbIdEqual(&s->original, id) && k < s->tagCount; k++)
            if (strcmp(s->tags[k], "repaired") == 0)
                return true;
    }
    return false;
}

bool repairSnapshotsRun(Repo *repo, RepoLock *lock, const char *const *refs, size_t refCount, bool dryRun, bool forget,
                        RepairSnapshotsResult *r, LbError *err) {
    memset(r, 0, sizeof(*r));
    Repairer rp = {.repo = repo, .dryRun = dryRun, .result = r};
    SnapshotList snaps = {0}, all = {0};
    LbId *trees = NULL, *newPacks = NULL;
    bool *lost = NULL;
    size_t newPackCount = 0;
    bool ok = false;
    RepoCommit *commit = repoCommitBegin(repo, err);
    if (commit == NULL)
        goto cleanup;
    if (refCount == 0) {
        if (!snapshotLoadAll(repo, &snaps, err))
            goto cleanup;
    } else {
        snaps.items = lbXcalloc(refCount, sizeof(Snapshot));
        for (size_t i = 0; i < refCount; i++) {
            if (!snapshotFind(repo, refs[i], &(SnapshotFilter){0}, &snaps.items[i], err))
                goto cleanup;
            snaps.count++;
        }
    }
    if (!snapshotLoadAll(repo, &all, err))
        goto cleanup;
    rp.completeCount = indexBlobCount(repoIndex(repo)); /* before any new tree is stored */
    rp.complete = lbXcalloc(rp.completeCount / 8 + 1, 1);
    trees = lbXcalloc(snaps.count ? snaps.count : 1, sizeof(LbId));
    lost = lbXcalloc(snaps.count ? snaps.count : 1, sizeof(bool));
    for (size_t i = 0; i < snaps.count; i++) {
        size_t before = r->count;
        if (repairedBefore(&all, &snaps.items[i].id)) {
            r->alreadyRepaired++;
            continue;
        }
        if (!repairOne(&rp, &snaps.items[i], &trees[i], err))
            goto cleanup;
        lost[i] = r->count > before;
    }
    if (dryRun || r->count == 0) {
        ok = true;
        goto cleanup;
    }
    if (rp.saver) {
        if (!saverFinish(rp.saver, err)) {
            lbErrorWrap(err, "no snapshot written: unable to store the repaired trees");
            goto cleanup;
        }
        newPacks = saverNewPackIds(rp.saver, &newPackCount);
    }
    size_t done = 0;
    for (size_t i = 0; i < snaps.count; i++) {
        if (!lost[i])
            continue;
        Snapshot *s = &snaps.items[i];
        RepairSnapshot *item = &r->items[done++];
        s->tree = trees[i];
        s->original = item->old;
        s->hasOriginal = true;
        bool tagged = false;
        for (size_t k = 0; k < s->tagCount && !tagged; k++)
            tagged = strcmp(s->tags[k], "repaired") == 0;
        if (!tagged)
            snapshotAddString(&s->tags, &s->tagCount, "repaired");
        if (!repoCommitSnapshot(commit, newPacks, newPackCount, s, err))
            goto cleanup;
        item->new = s->id;
        item->hasNew = true;
    }
    if (forget && !repoLockVerifyAlone(lock, err)) {
        lbErrorWrap(err, "the repaired snapshots are written, the originals kept");
        goto cleanup;
    }
    for (size_t i = 0; forget && i < r->count; i++) {
        char hex[LB_ID_HEX_LEN + 1], name[80];
        lbIdToHex(&r->items[i].old, hex);
        snprintf(name, sizeof(name), "snapshots/%s", hex);
        if (!storageRemove(repoStorage(repo), name, err)) {
            lbErrorWrap(err, "the repaired snapshots are written; unable to forget the original %.8s", hex);
            goto cleanup;
        }
        r->items[i].forgotten = true;
    }
    ok = true;
cleanup:
    saverFree(rp.saver);
    free(rp.complete);
    repoCommitFree(commit);
    snapshotListFree(&snaps);
    snapshotListFree(&all);
    free(trees);
    free(lost);
    free(newPacks);
    return ok;
}

json_t *repairSnapshotsResultJson(bool dryRun, const RepairSnapshotsResult *r, double seconds) {
    json_t *j = json_object(), *list = json_array();
    json_object_set_new(j, "message_type", json_string("repair_snapshots"));
    json_object_set_new(j, "dry_run", json_boolean(dryRun));
    json_object_set_new(j, "snapshots_checked", json_integer((json_int_t)r->snapshotsChecked));
    json_object_set_new(j, "snapshots_repaired_before", json_integer((json_int_t)r->alreadyRepaired));
    json_object_set_new(j, "snapshots_repaired", json_integer((json_int_t)r->count));
    json_object_set_new(j, "files_removed", json_integer((json_int_t)r->filesRemoved));
    json_object_set_new(j, "dirs_emptied", json_integer((json_int_t)r->dirsEmptied));
    for (size_t i = 0; i < r->count; i++) {
        const RepairSnapshot *s = &r->items[i];
        char hex[LB_ID_HEX_LEN + 1];
        json_t *o = json_object(), *losses = json_array();
        lbIdToHex(&s->old, hex);
        json_object_set_new(o, "original", json_string(hex));
        if (s->hasNew) {
            lbIdToHex(&s->new, hex);
            json_object_set_new(o, "id", json_string(hex));
        }
        json_object_set_new(o, "original_forgotten", json_boolean(s->forgotten));
        for (size_t k = 0; k < s->lossCount; k++) {
            json_t *l = json_object();
            json_object_set_new(l, "path", json_string(s->losses[k].path));
            json_object_set_new(l, "type", json_string(s->losses[k].dir ? "dir" : "file"));
            json_object_set_new(l, "reason", json_string(s->losses[k].reason));
            json_array_append_new(losses, l);
        }
        json_object_set_new(o, "removed", losses);
        json_array_append_new(list, o);
    }
    json_object_set_new(j, "snapshots", list);
    json_object_set_new(j, "total_duration", json_real(seconds));
    return j;
}

void repairSnapshotsResultClear(RepairSnapshotsResult *r) {
    for (size_t i = 0; i < r->count; i++) {
        for (size_t k = 0; k < r->items[i].lossCount; k++) {
            free(r->items[i].losses[k].path);
            free(r->items[i].losses[k].reason);
        }
        free(r->items[i].losses);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}
