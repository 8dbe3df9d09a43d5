/* stats.c - what a repository holds (see stats.h). */
#include "maint/stats.h"

#include "index/index.h"
#include "snapshot/snapshot.h"
#include "storage/storage.h"

static bool statBlob(void *ctx, const LbId *id, const IndexLoc *loc) {
    (void)id;
    RepoStats *s = ctx;
    s->rawBytes += loc->rawLength;
    s->storedBytes += loc->length;
    if (loc->type == BLOB_TREE)
        s->treeBlobs++;
    else
        s->dataBlobs++;
    return true;
}

static bool sumSize(void *ctx, const char *name, uint64_t size) {
    (void)name;
    *(uint64_t *)ctx += size;
    return true;
}

bool statsRun(Repo *repo, RepoStats *out, LbError *err) {
    *out = (RepoStats){0};
    SnapshotList snaps = {0};
    if (!snapshotLoadAll(repo, &snaps, err))
        return false;
    out->snapshots = snaps.count;
    for (size_t i = 0; i < snaps.count; i++)
        out->snapshotBytes += snaps.items[i].summary.totalBytes;
    snapshotListFree(&snaps);
    indexForEach(repoIndex(repo), statBlob, out);
    out->packs = indexPackCount(repoIndex(repo));
    return storageList(repoStorage(repo), "", sumSize, &out->repositoryBytes, err);
}

json_t *statsJson(const RepoStats *s) {
    json_t *j = json_object();
    json_object_set_new(j, "snapshots_count", json_integer((json_int_t)s->snapshots));
    json_object_set_new(j, "packs_count", json_integer((json_int_t)s->packs));
    json_object_set_new(j, "data_blobs", json_integer((json_int_t)s->dataBlobs));
    json_object_set_new(j, "tree_blobs", json_integer((json_int_t)s->treeBlobs));
    json_object_set_new(j, "raw_data_size", json_integer((json_int_t)s->rawBytes));
    json_object_set_new(j, "stored_blob_size", json_integer((json_int_t)s->storedBytes));
    json_object_set_new(j, "repository_size", json_integer((json_int_t)s->repositoryBytes));
    json_object_set_new(j, "snapshots_total_size", json_integer((json_int_t)s->snapshotBytes));
    return j;
}
