/*
 * repair.h - rebuild the index from the packs' own headers, and rewrite
 * snapshots so that they name only data the repository still holds.
 *
 * repairIndexRun reads every pack in data/, decrypts its header (its own list
 * of blobs) and writes index files naming every blob of every pack whose
 * header reads; only once they are all stored (and the caller's exclusive
 * lock is verified alone) does it delete the index files that existed when it
 * started. A pack whose header cannot be read is reported, naming it and the
 * reason, and left out; packs an old index named but data/ no longer holds
 * drop out.
 *
 * repairSnapshotsRun walks each chosen snapshot's tree against the loaded
 * index: a file with a data blob the index does not hold is removed from its
 * directory, a directory whose tree blob is missing becomes an empty
 * directory. Rebuilt trees are stored through the saver (new packs, one new
 * index file) and each snapshot that lost anything gets a new snapshot with
 * the same metadata, tag "repaired" and "original" = the old snapshot's ID,
 * through the commit path. The old snapshots are kept (restic's behaviour)
 * unless forget is set. Snapshots that lost
 * nothing are left untouched, and so is a snapshot some "repaired" snapshot
 * already names as its original (running repair again writes no duplicate).
 *
 * Both need the caller to hold an exclusive lock; with dryRun nothing is
 * written or deleted, the results say what would be.
 */
#ifndef LIFEBOAT_MAINT_REPAIR_H
#define LIFEBOAT_MAINT_REPAIR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "repo/lock.h"
#include "repo/repo.h"

typedef struct RepairIndexResult {
    uint64_t packsRead, packsDamaged, blobsIndexed;
    uint64_t indexFilesWritten, indexFilesRemoved; /* with dryRun: would be */
    char **damaged;                                /* "data/XX/<id>: reason", packsDamaged of them (owned) */
} RepairIndexResult;

bool repairIndexRun(Repo *repo, RepoLock *lock, bool dryRun, RepairIndexResult *result, LbError *err);
/* "message_type": "repair_index"; new reference */
json_t *repairIndexResultJson(bool dryRun, const RepairIndexResult *result, double seconds);
void repairIndexResultClear(RepairIndexResult *result);

/* One path a snapshot lost. */
typedef struct RepairLoss {
    char *path;   /* "/dir/file" inside the snapshot (owned) */
    bool dir;     /* a directory emptied, else a file removed */
    char *reason; /* owned */
} RepairLoss;

typedef struct RepairSnapshot {
    LbId old;
    bool hasNew;    /* a new snapshot was written (never with dryRun) */
    bool forgotten; /* the original was removed (forget) */
    LbId new;
    RepairLoss *losses;
    size_t lossCount;
} RepairSnapshot;

typedef struct RepairSnapshotsResult {
    uint64_t snapshotsChecked, filesRemoved, dirsEmptied;
    uint64_t alreadyRepaired; /* skipped: a "repaired" snapshot names it as original */
    RepairSnapshot *items;    /* only the snapshots that lost something (owned) */
    size_t count;
} RepairSnapshotsResult;

/* refs: snapshot IDs (prefixes) or "latest"; refCount 0 means every snapshot.
 * forget: once every repaired snapshot is written and the lock is verified
 * alone, remove the originals. */
bool repairSnapshotsRun(Repo *repo, RepoLock *lock, const char *const *refs, size_t refCount, bool dryRun, bool forget,
                        RepairSnapshotsResult *result, LbError *err);
/* "message_type": "repair_snapshots"; new reference */
json_t *repairSnapshotsResultJson(bool dryRun, const RepairSnapshotsResult *result, double seconds);
void repairSnapshotsResultClear(RepairSnapshotsResult *result);

#endif
