/* prune.c - mark, decide, repack, rewrite the index, delete. */
#include "maint/prune.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "index/posmap.h"
#include "repo/saver.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"

typedef struct PackStat {
    uint64_t usedBytes, unusedBytes;
    uint32_t usedCount, totalCount;
    bool exists;
    uint64_t size;
    enum { PACK_KEEP, PACK_DELETE, PACK_REPACK } action;
} PackStat;

/* Per blob, prune keeps one bit (used) and, when it rewrites the index, the
 * entry numbers grouped by pack (4 bytes): docs/memory.md. */
typedef struct Pruner {
    Repo *repo;
    IndexBits used; /* by index entry number */
    size_t blobCount;
    IndexByPack byPack;
} Pruner;

static bool isUsed(const Pruner *p, size_t pos) {
    return indexBitsGet(&p->used, pos);
}

static void setUsed(Pruner *p, size_t pos) {
    indexBitsSet(&p->used, pos);
}

/* Mark a tree and everything below it. A blob missing from the index stops
 * prune: deleting anything from an inconsistent repository could lose data. */
static bool markTree(Pruner *p, const LbId *id, size_t depth, LbError *err) {
    if (!treeDepthCheck(depth, "", err))
        return false;
    size_t pos;
    Index *ix = repoIndex(p->repo);
    char hex[LB_ID_HEX_LEN + 1];
    if (!indexLookupPos(ix, id, BLOB_TREE, &pos)) {
        lbIdToHex(id, hex);
        return lbErr(err, LB_ERR_CORRUPT, "tree %s is referenced but not in the index: run 'lifeboat check'", hex);
    }
    if (isUsed(p, pos))
        return true;
    setUsed(p, pos);
    LbBuf plain = {0};
    Tree t = {0};
    bool ok = repoLoadBlob(p->repo, BLOB_TREE, id, &plain, err) && treeDecode(plain.data, plain.len, &t, err);
    lbBufFree(&plain);
    for (size_t i = 0; ok && i < t.count; i++) {
        Node *n = &t.nodes[i];
        if (n->type == NODE_DIR) {
            ok = markTree(p, &n->subtree, depth + 1, err);
        } else if (n->type == NODE_FILE) {
            for (size_t k = 0; k < n->contentCount && ok; k++) {
                if (!indexLookupPos(ix, &n->content[k], BLOB_DATA, &pos)) {
                    lbIdToHex(&n->content[k], hex);
                    ok = lbErr(err, LB_ERR_CORRUPT,
                               "data blob %s is referenced but not in the index: run 'lifeboat check'", hex);
                } else {
                    setUsed(p, pos);
                }
            }
        }
    }
    treeFree(&t);
    return ok;
}

typedef struct Candidate {
    uint32_t pack;
    double unusedShare;
} Candidate;

static int cmpCandidate(const void *a, const void *b) {
    double x = ((const Candidate *)a)->unusedShare, y = ((const Candidate *)b)->unusedShare;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Copy the used blobs of one pack into the saver, one ranged read per run of
 * adjacent used blobs; each blob is decoded and checked before it is copied. */
static bool repackPack(Pruner *p, BlobSaver *saver, uint32_t pack, PackEntry *entries, size_t n, LbError *err) {
    char name[80];
    repoPackName(indexPackId(repoIndex(p->repo), pack), name);
    LbBuf buf = {0}, plain = {0};
    bool ok = true;
    for (size_t i = 0; i < n && ok;) {
        size_t j = i + 1;
        while (j < n && entries[j].offset == entries[j - 1].offset + entries[j - 1].length)
            j++;
        uint32_t lo = entries[i].offset, hi = entries[j - 1].offset + entries[j - 1].length;
        lbBufClear(&buf);
        ok = storageGet(repoStorage(p->repo), name, lo, hi - lo, &buf, err);
        for (size_t k = i; ok && k < j; k++) {
            IndexLoc loc = {
                pack, entries[k].offset, entries[k].length, entries[k].rawLength, entries[k].type, entries[k].flags};
            const uint8_t *stored = buf.data + (entries[k].offset - lo);
            lbBufClear(&plain);
            if (!repoDecodeBlob(p->repo, &entries[k].id, &loc, stored, &plain, err)) {
                lbErrorWrap(err, "unable to repack '%s'", name);
                ok = false;
                break;
            }
            uint8_t *copy = lbXmalloc(entries[k].length);
            memcpy(copy, stored, entries[k].length);
            saverSubmitStoredTake(saver, &entries[k], copy);
        }
        i = j;
    }
    lbBufFree(&buf);
    lbBufFree(&plain);
    return ok;
}

static int cmpOffset(const void *a, const void *b) {
    const PackEntry *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The entries of pack k (only the used ones when usedOnly), appended to
 * list at *n, sorted by offset. */
static void packEntries(Pruner *p, uint32_t k, bool usedOnly, PackEntry *list, size_t *n) {
    Index *ix = repoIndex(p->repo);
    size_t first = *n;
    for (size_t i = p->byPack.start[k]; i < p->byPack.start[k + 1]; i++) {
        size_t pos = p->byPack.pos[i];
        if (usedOnly && !isUsed(p, pos))
            continue;
        LbId id;
        IndexLoc loc;
        indexEntryAt(ix, pos, &id, &loc);
        list[(*n)++] = (PackEntry){id, loc.type, loc.flags, loc.offset, loc.length, loc.rawLength};
    }
    qsort(list + first, *n - first, sizeof(PackEntry), cmpOffset);
}

/* Write every entry of the kept packs as new index files: their unused blobs
 * too, so a later prune still sees (and can reclaim) that space, and a backup
 * may deduplicate against a blob that is still there. */
static bool writeKeptIndex(Pruner *p, PackStat *stats, LbError *err) {
    Index *ix = repoIndex(p->repo);
    size_t np = p->byPack.packCount; /* the repacked blobs' new packs come after: the saver indexes them */
    /* one index file's worth of packs at a time: memory for at most
     * INDEX_FILE_MAX_BLOBS entries plus one pack's */
    IndexPack *batch = lbXcalloc(np ? np : 1, sizeof(IndexPack));
    size_t cap = p->blobCount < INDEX_FILE_MAX_BLOBS ? p->blobCount + 1 : INDEX_FILE_MAX_BLOBS;
    size_t blobs = 0, batchCount = 0;
    PackEntry *entries = lbXmalloc(cap * sizeof(PackEntry));
    bool ok = true;
    for (uint32_t k = 0; k <= np && ok; k++) {
        size_t count = k < np && stats[k].action == PACK_KEEP ? p->byPack.start[k + 1] - p->byPack.start[k] : 0;
        bool flush = k == np || (blobs > 0 && blobs + count > INDEX_FILE_MAX_BLOBS);
        if (flush && batchCount > 0) {
            LbBuf plain = {0};
            LbId id;
            for (size_t b = 0, at = 0; b < batchCount; at += batch[b++].count)
                batch[b].entries = entries + at;
            indexEncode(batch, batchCount, &plain);
            ok = repoSaveUnpacked(p->repo, "index", plain.data, plain.len, &id, err);
            lbBufFree(&plain);
            batchCount = 0;
            blobs = 0;
        }
        if (k == np || count == 0)
            continue;
        if (count > cap) {
            cap = count;
            entries = lbXrealloc(entries, cap * sizeof(PackEntry));
        }
        packEntries(p, k, false, entries, &blobs);
        batch[batchCount++] = (IndexPack){*indexPackId(ix, k), NULL, count};
    }
    free(entries);
    free(batch);
    return ok;
}

/* No snapshot appeared since prune loaded them: a writer that lost its lock
 * (or never saw ours) may have committed one that needs what prune is about
 * to delete. Fails with LB_ERR_LOCKED naming it. */
static bool snapshotsUnchanged(Repo *repo, const SnapshotList *snaps, LbError *err) {
    LbId *now = NULL;
    size_t count = 0;
    if (!repoListIds(repo, "snapshots", &now, &count, err))
        return false;
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++) {
        bool known = false;
        for (size_t k = 0; k < snaps->count && !known; k++)
            known = lbIdEqual(&now[i], &snaps->items[k].id);
        if (!known) {
            char hex[LB_ID_HEX_LEN + 1];
            lbIdToHex(&now[i], hex);
            ok = lbErr(err, LB_ERR_LOCKED,
                       "snapshot %.8s was written while prune ran (by a writer whose lock prune did not see); run "
                       "prune again",
                       hex);
        }
    }
    free(now);
    return ok;
}

bool pruneRun(Repo *repo, RepoLock *lock, const PruneOptions *opts, PruneResult *r, LbError *err) {
    memset(r, 0, sizeof(*r));
    Pruner p = {.repo = repo};
    SnapshotList snaps = {0};
    RepoPackList seen = {0};
    PackStat *stats = NULL;
    Candidate *cands = NULL;
    LbId *oldIndex = NULL;
    size_t oldIndexCount = 0;
    BlobSaver *saver = NULL;
    bool ok = false;
    StorageStats before;
    storageGetStats(repoStorage(repo), &before);

    /* reload: an earlier prune or backup of this process may have changed the
     * index files since the Repo's in-memory index was loaded */
    if (!repoListIds(repo, "index", &oldIndex, &oldIndexCount, err) || !repoReloadIndex(repo, err) ||
        !snapshotLoadAll(repo, &snaps, err))
        goto cleanup;
    r->indexFilesBefore = oldIndexCount;
    r->snapshots = snaps.count;
    Index *ix = repoIndex(repo);
    p.blobCount = indexBlobCount(ix);
    indexBitsInit(&p.used, p.blobCount);
    for (size_t i = 0; i < snaps.count; i++)
        if (!markTree(&p, &snaps.items[i].tree, 0, err))
            goto cleanup;

    /* what each pack holds, and which packs exist */
    size_t np = indexPackCount(ix);
    stats = lbXcalloc(np ? np : 1, sizeof(PackStat));
    for (size_t pos = 0; pos < p.blobCount; pos++) {
        IndexLoc loc;
        indexEntryAt(ix, pos, NULL, &loc);
        PackStat *ps = &stats[loc.pack];
        ps->totalCount++;
        if (isUsed(&p, pos)) {
            ps->usedCount++;
            ps->usedBytes += loc.length;
            r->blobsUsed++;
            r->bytesUsed += loc.length;
        } else {
            ps->unusedBytes += loc.length;
            r->bytesUnused += loc.length;
        }
    }
    r->blobsTotal = p.blobCount;
    if (!repoListPacks(repo, &seen, err))
        goto cleanup;
    bool *named = lbXcalloc(seen.count + 1, sizeof(bool));
    for (uint32_t k = 0; k < np; k++) {
        const struct RepoPack *hit = repoPackFind(&seen, indexPackId(ix, k));
        if (hit) {
            stats[k].exists = true;
            stats[k].size = hit->size;
            named[hit - seen.items] = true;
        } else if (stats[k].usedCount > 0) {
            char hex[LB_ID_HEX_LEN + 1];
            lbIdToHex(indexPackId(ix, k), hex);
            free(named);
            lbErr(err, LB_ERR_CORRUPT, "pack %.8s holds used data but is missing: run 'lifeboat check'", hex);
            goto cleanup;
        }
    }
    r->packsTotal = np;

    /* decide */
    size_t candCount = 0;
    cands = lbXcalloc(np ? np : 1, sizeof(Candidate));
    for (uint32_t k = 0; k < np; k++) {
        PackStat *ps = &stats[k];
        if (ps->usedCount == 0) {
            ps->action = PACK_DELETE;
            r->packsDeleted++;
            r->bytesDeleted += ps->size;
        } else if (ps->unusedBytes > 0) {
            cands[candCount++] = (Candidate){k, (double)ps->unusedBytes / (double)(ps->usedBytes + ps->unusedBytes)};
        }
    }
    qsort(cands, candCount, sizeof(Candidate), cmpCandidate);
    double maxUnused = opts->maxUnusedPercent >= 0 ? opts->maxUnusedPercent : 5.0;
    uint64_t unusedLeft = 0;
    for (size_t i = 0; i < candCount; i++)
        unusedLeft += stats[cands[i].pack].unusedBytes;
    uint64_t allowed = (uint64_t)((double)r->bytesUsed * maxUnused / 100.0);
    for (size_t i = 0; i < candCount && unusedLeft > allowed; i++) {
        PackStat *ps = &stats[cands[i].pack];
        if (opts->maxRepackBytes && r->bytesRepacked + ps->usedBytes > opts->maxRepackBytes)
            break;
        ps->action = PACK_REPACK;
        r->packsRepacked++;
        r->bytesRepacked += ps->usedBytes;
        r->bytesDeleted += ps->size; /* the old pack goes once its blobs are copied */
        unusedLeft -= ps->unusedBytes;
    }
    r->bytesUnusedAfter = unusedLeft;
    r->packsKept = np - r->packsDeleted - r->packsRepacked;
    for (size_t i = 0; i < seen.count; i++)
        if (!named[i]) {
            r->packsUnreferenced++;
            r->bytesDeleted += seen.items[i].size;
        }
    if (opts->dryRun) {
        r->indexFilesAfter = r->indexFilesBefore;
        free(named);
        ok = true;
        goto cleanup;
    }

    /* repack */
    bool anyChange = r->packsDeleted || r->packsRepacked || r->packsUnreferenced;
    if (r->packsRepacked) {
        saver = saverNew(repo, opts->repackWorkers);
        if (p.byPack.start == NULL)
            indexByPackBuild(ix, &p.byPack);
        size_t most = 0;
        for (uint32_t k = 0; k < np; k++)
            if (p.byPack.start[k + 1] - p.byPack.start[k] > most)
                most = p.byPack.start[k + 1] - p.byPack.start[k];
        PackEntry *list = lbXmalloc((most ? most : 1) * sizeof(PackEntry));
        for (uint32_t k = 0; k < np; k++) {
            size_t m = 0;
            if (stats[k].action != PACK_REPACK)
                continue;
            packEntries(&p, k, true, list, &m);
            if (!repackPack(&p, saver, k, list, m, err)) {
                free(list);
                free(named);
                goto cleanup;
            }
        }
        free(list);
        if (!saverFinish(saver, err)) {
            lbErrorWrap(err, "prune stopped before deleting anything: unable to store the repacked blobs");
            free(named);
            goto cleanup;
        }
    }
    /* new index: kept packs (written here) + repacked blobs (written by the saver) */
    if (anyChange && p.byPack.start == NULL)
        indexByPackBuild(ix, &p.byPack);
    if (anyChange && !writeKeptIndex(&p, stats, err)) {
        lbErrorWrap(err, "prune stopped before deleting anything: unable to write the new index");
        free(named);
        goto cleanup;
    }
    if (!repoLockVerifyAlone(lock, err) || !snapshotsUnchanged(repo, &snaps, err)) {
        lbErrorWrap(err, "prune stopped before deleting anything");
        free(named);
        goto cleanup;
    }
    for (size_t i = 0; anyChange && i < oldIndexCount; i++) {
        char hex[LB_ID_HEX_LEN + 1], name[80];
        lbIdToHex(&oldIndex[i], hex);
        snprintf(name, sizeof(name), "index/%s", hex);
        if (!storageRemove(repoStorage(repo), name, err)) {
            lbErrorWrap(err, "prune stopped while deleting the old index files (the new index is written: run prune "
                             "again)");
            free(named);
            goto cleanup;
        }
    }
    for (uint32_t k = 0; k < np; k++) {
        if (stats[k].action == PACK_KEEP || !stats[k].exists)
            continue;
        char name[80];
        repoPackName(indexPackId(ix, k), name);
        lbLogInfo("deleting %s (%s)", name, stats[k].action == PACK_REPACK ? "repacked" : "unused");
        if (!storageRemove(repoStorage(repo), name, err)) {
            lbErrorWrap(err, "prune stopped while deleting unused and repacked packs (run prune again)");
            free(named);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < seen.count; i++) {
        if (named[i])
            continue;
        char name[80];
        repoPackName(&seen.items[i].id, name);
        lbLogInfo("deleting %s (no index names it)", name);
        if (!storageRemove(repoStorage(repo), name, err)) {
            lbErrorWrap(err, "prune stopped while deleting packs no index names (run prune again)");
            free(named);
            goto cleanup;
        }
    }
    free(named);
    if (!storageRemoveTemporary(repoStorage(repo), &r->temporaryRemoved, err)) {
        lbErrorWrap(err, "prune stopped while deleting temporary files");
        goto cleanup;
    }
    LbId *after = NULL;
    size_t afterCount = 0;
    if (repoListIds(repo, "index", &after, &afterCount, err))
        r->indexFilesAfter = afterCount;
    free(after);
    ok = true;
cleanup : {
    StorageStats now;
    storageGetStats(repoStorage(repo), &now);
    r->bytesRead = now.bytesRead - before.bytesRead;
}
    saverFree(saver);
    indexBitsFree(&p.used);
    indexByPackFree(&p.byPack);
    free(stats);
    free(cands);
    free(seen.items);
    free(oldIndex);
    snapshotListFree(&snaps);
    return ok;
}

json_t *pruneResultJson(const PruneOptions *o, const PruneResult *r, double seconds) {
    json_t *j = json_object();
    json_object_set_new(j, "message_type", json_string("prune"));
    json_object_set_new(j, "dry_run", json_boolean(o->dryRun));
    json_object_set_new(j, "snapshots", json_integer((json_int_t)r->snapshots));
    json_object_set_new(j, "blobs_total", json_integer((json_int_t)r->blobsTotal));
    json_object_set_new(j, "blobs_used", json_integer((json_int_t)r->blobsUsed));
    json_object_set_new(j, "bytes_used", json_integer((json_int_t)r->bytesUsed));
    json_object_set_new(j, "bytes_unused", json_integer((json_int_t)r->bytesUnused));
    json_object_set_new(j, "packs_total", json_integer((json_int_t)r->packsTotal));
    json_object_set_new(j, "packs_deleted", json_integer((json_int_t)r->packsDeleted));
    json_object_set_new(j, "packs_repacked", json_integer((json_int_t)r->packsRepacked));
    json_object_set_new(j, "packs_kept", json_integer((json_int_t)r->packsKept));
    json_object_set_new(j, "packs_unreferenced", json_integer((json_int_t)r->packsUnreferenced));
    json_object_set_new(j, "bytes_deleted", json_integer((json_int_t)r->bytesDeleted));
    json_object_set_new(j, "bytes_repacked", json_integer((json_int_t)r->bytesRepacked));
    json_object_set_new(j, "bytes_unused_after", json_integer((json_int_t)r->bytesUnusedAfter));
    json_object_set_new(j, "bytes_read", json_integer((json_int_t)r->bytesRead));
    json_object_set_new(j, "temporary_files_removed", json_integer((json_int_t)r->temporaryRemoved));
    json_object_set_new(j, "index_files_before", json_integer((json_int_t)r->indexFilesBefore));
    json_object_set_new(j, "index_files_after", json_integer((json_int_t)r->indexFilesAfter));
    json_object_set_new(j, "total_duration", json_real(seconds));
    return j;
}
