/*
 * snapshot.h - snapshot records (snapshots/<id>, sealed JSON) and lookup.
 *
 * Ownership: a Snapshot owns its strings and arrays; snapshotClear frees
 * them. A SnapshotList owns its snapshots.
 */
#ifndef LIFEBOAT_SNAPSHOT_SNAPSHOT_H
#define LIFEBOAT_SNAPSHOT_SNAPSHOT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "repo/repo.h"

typedef struct SnapshotSummary {
    uint64_t filesNew, filesChanged, filesUnmodified, filesUnreadable;
    uint64_t dirsNew, dirsChanged, dirsUnmodified;
    uint64_t blobsNew;        /* data blobs */
    uint64_t treeBlobsNew;    /* tree blobs */
    uint64_t dataAdded;       /* plaintext bytes of new blobs */
    uint64_t dataAddedStored; /* stored bytes of new blobs */
    uint64_t totalFiles, totalBytes;
    int64_t startNs, endNs;
} SnapshotSummary;

typedef struct Snapshot {
    LbId id; /* set by load/save */
    int64_t timeNs;
    LbId tree;
    char **paths;
    size_t pathCount;
    char *hostname, *username;
    uint32_t uid, gid;
    char **tags;
    size_t tagCount;
    char *component;     /* may be NULL */
    char *recoveryPoint; /* may be NULL */
    bool hasParent;
    LbId parent;
    bool hasOriginal; /* copied from another repository: the snapshot's ID there */
    LbId original;
    char **excludes;
    size_t excludeCount;
    RepoChunkProfile chunkProfile; /* how its files were cut ("chunker", absent = files) */
    SnapshotSummary summary;
    json_t *meta; /* component-specific metadata (owned reference), may be NULL */
} Snapshot;

typedef struct SnapshotList {
    Snapshot *items; /* sorted by time, oldest first */
    size_t count;
} SnapshotList;

typedef struct SnapshotFilter {
    const char *host;
    const char *component;
    const char *const *tags; /* every tag listed must be present */
    size_t tagCount;
    /* when set, the snapshot must have every tag of at least one group; a
     * group is a comma-separated list as given to one --tag ("a,b"), and an
     * empty group selects snapshots without tags (restic's rule) */
    const char *const *tagGroups;
    size_t tagGroupCount;
    const char *const *paths; /* when set, the snapshot's paths must equal these */
    size_t pathCount;
    int64_t atNs;              /* when not 0: the snapshot was taken at or before this time (--at) */
    const char *recoveryPoint; /* when set: the snapshot belongs to this recovery point */
} SnapshotFilter;

void snapshotClear(Snapshot *snap);
void snapshotListFree(SnapshotList *list);

bool snapshotSave(Repo *repo, Snapshot *snap, LbError *err); /* sets snap->id */
bool snapshotLoad(Repo *repo, const LbId *id, Snapshot *snap, LbError *err);
/* Every snapshot, oldest first. Strict: one unreadable snapshot file fails the
 * whole load. With opts->skipDamaged (the P form), every readable one is
 * loaded and each unreadable one reported as repo.h's RepoLoadOptions says. */
bool snapshotLoadAll(Repo *repo, SnapshotList *list, LbError *err);
bool snapshotLoadAllOpt(Repo *repo, SnapshotList *list, const RepoLoadOptions *opts, LbError *err);
#define snapshotLoadAllP(repo, list, err, ...)                                                                         \
    snapshotLoadAllOpt((repo), (list), &(RepoLoadOptions){__VA_ARGS__}, (err))
bool snapshotMatches(const Snapshot *snap, const SnapshotFilter *filter);

/* Resolve "latest" (newest matching the filter) or a unique ID prefix. */
bool snapshotFind(Repo *repo, const char *ref, const SnapshotFilter *filter, Snapshot *out, LbError *err);

/* JSON form for --json output and storage. Caller owns the result. */
json_t *snapshotToJson(const Snapshot *snap, bool withId);

void snapshotAddString(char ***arr, size_t *count, const char *s);

#endif
