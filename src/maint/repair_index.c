/* repair_index.c - rebuild the index from the pack headers (maint/repair.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "index/index.h"
#include "maint/repair.h"
#include "pack/pack.h"

/* Encode packs[0..count) as index files of at most INDEX_FILE_MAX_BLOBS
 * blobs (a pack is never split); store them unless dryRun. The IDs written
 * go to *written (caller frees), their number to *writtenCount. */
static bool writeIndexFiles(Repo *repo, const IndexPack *packs, size_t count, bool dryRun, LbId **written,
                            size_t *writtenCount, LbError *err) {
    *written = NULL;
    *writtenCount = 0;
    bool ok = true;
    size_t first = 0, blobs = 0;
    for (size_t k = 0; k <= count && ok; k++) {
        bool flush = k == count || (blobs > 0 && blobs + packs[k].count > INDEX_FILE_MAX_BLOBS);
        if (flush && k > first) {
            *written = lbXrealloc(*written, (*writtenCount + 1) * sizeof(LbId));
            LbId *id = &(*written)[*writtenCount];
            memset(id, 0, sizeof(*id));
            if (!dryRun) {
                LbBuf plain = {0};
                indexEncode(packs + first, k - first, &plain);
                ok = repoSaveUnpacked(repo, "index", plain.data, plain.len, id, err);
                lbBufFree(&plain);
            }
            if (ok)
                (*writtenCount)++;
            first = k;
            blobs = 0;
        }
        if (k < count)
            blobs += packs[k].count;
    }
    return ok;
}

bool repairIndexRun(Repo *repo, RepoLock *lock, bool dryRun, RepairIndexResult *r, LbError *err) {
    memset(r, 0, sizeof(*r));
    LbId *oldIndex = NULL, *written = NULL;
    size_t oldCount = 0, writtenCount = 0, good = 0;
    RepoPackList seen = {0};
    IndexPack *packs = NULL;
    LbBuf data = {0};
    bool ok = false;

    if (!repoListIds(repo, "index", &oldIndex, &oldCount, err) || !repoListPacks(repo, &seen, err))
        goto cleanup;
    packs = lbXcalloc(seen.count ? seen.count : 1, sizeof(IndexPack));
    for (size_t i = 0; i < seen.count; i++) {
        char name[80];
        repoPackName(&seen.items[i].id, name);
        LbError perr = {0};
        PackEntry *entries = NULL;
        size_t n = 0;
        lbBufClear(&data);
        if (!storageGet(repoStorage(repo), name, 0, 0, &data, &perr) ||
            !packReadHeader(data.data, data.len, repoKeys(repo)->metaKey, &entries, &n, &perr)) {
            /* a transient storage error must not drop a whole pack from the index */
            if (perr.code == LB_ERR_TRANSIENT || perr.code == LB_ERR_AUTH) {
                *err = perr;
                lbErrorWrap(err, "repair stopped before writing anything: unable to read '%s'", name);
                free(entries);
                goto cleanup;
            }
            r->damaged = lbXrealloc(r->damaged, (r->packsDamaged + 1) * sizeof(char *));
            r->damaged[r->packsDamaged++] = lbXasprintf("%s: %s", name, perr.msg);
            lbLogWarn("unable to read pack '%s': %s (left out of the index)", name, perr.msg);
            free(entries);
            continue;
        }
        r->packsRead++;
        r->blobsIndexed += n;
        packs[good++] = (IndexPack){seen.items[i].id, entries, n};
    }
    if (!writeIndexFiles(repo, packs, good, dryRun, &written, &writtenCount, err)) {
        lbErrorWrap(err, "repair stopped before deleting anything: unable to write the new index");
        goto cleanup;
    }
    r->indexFilesWritten = writtenCount;
    if (!dryRun && !repoLockVerifyAlone(lock, err)) {
        lbErrorWrap(err, "repair stopped before deleting the old index files (the new index is written)");
        goto cleanup;
    }
    for (size_t i = 0; i < oldCount; i++) {
        bool mine = false;
        for (size_t k = 0; k < writtenCount && !mine; k++)
            mine = lbIdEqual(&oldIndex[i], &written[k]);
        if (mine)
            continue;
        if (!dryRun) {
            char hex[LB_ID_HEX_LEN + 1], name[80];
            lbIdToHex(&oldIndex[i], hex);
            snprintf(name, sizeof(name), "index/%s", hex);
            if (!storageRemove(repoStorage(repo), name, err)) {
                lbErrorWrap(err, "repair stopped while deleting the old index files (the new index is written: run "
                                 "repair index again)");
                goto cleanup;
            }
        }
        r->indexFilesRemoved++;
    }
    ok = true;
cleanup:
    for (size_t i = 0; i < good; i++)
        free(packs[i].entries);
    free(packs);
    free(written);
    free(oldIndex);
    free(seen.items);
    lbBufFree(&data);
    return ok;
}

json_t *repairIndexResultJson(bool dryRun, const RepairIndexResult *r, double seconds) {
    json_t *j = json_object(), *damaged = json_array();
    json_object_set_new(j, "message_type", json_string("repair_index"));
    json_object_set_new(j, "dry_run", json_boolean(dryRun));
    json_object_set_new(j, "packs_read", json_integer((json_int_t)r->packsRead));
    json_object_set_new(j, "packs_damaged", json_integer((json_int_t)r->packsDamaged));
    json_object_set_new(j, "blobs_indexed", json_integer((json_int_t)r->blobsIndexed));
    json_object_set_new(j, "index_files_written", json_integer((json_int_t)r->indexFilesWritten));
    json_object_set_new(j, "index_files_removed", json_integer((json_int_t)r->indexFilesRemoved));
    for (uint64_t i = 0; i < r->packsDamaged; i++)
        json_array_append_new(damaged, json_string(r->damaged[i]));
    json_object_set_new(j, "damaged_packs", damaged);
    json_object_set_new(j, "total_duration", json_real(seconds));
    return j;
}

void repairIndexResultClear(RepairIndexResult *r) {
    for (uint64_t i = 0; i < r->packsDamaged; i++)
        free(r->damaged[i]);
    free(r->damaged);
    memset(r, 0, sizeof(*r));
}
