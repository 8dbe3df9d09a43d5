/*
 * prune.h - remove data no snapshot references.
 *
 * Marks every blob reachable from a snapshot (a bitmap over the index, so
 * memory stays at a few bytes per blob on top of the index), deletes packs
 * with no used blob, repacks the packs whose unused share is largest until the
 * repository's unused space is within maxUnusedPercent of its used space
 * (copying the used blobs' stored bytes after checking them: packs kept whole
 * are never downloaded), writes a new index, deletes the old index files,
 * and deletes obsolete packs last. Packs that no index names (left by
 * interrupted backups) are deleted too.
 *
 * The caller holds an exclusive lock. Before deleting anything, prune checks
 * the lock is still alone; a crash at any point leaves a repository whose
 * index files together name every used blob.
 */
#ifndef LIFEBOAT_MAINT_PRUNE_H
#define LIFEBOAT_MAINT_PRUNE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "repo/lock.h"
#include "repo/repo.h"

typedef struct PruneOptions {
    double maxUnusedPercent; /* default 5 */
    uint64_t maxRepackBytes; /* 0 = no limit */
    bool dryRun;
    int repackWorkers; /* saver workers for repacking, 0 = one per CPU (1 gives tests a fixed pack layout) */
} PruneOptions;

typedef struct PruneResult {
    uint64_t snapshots;
    uint64_t blobsTotal, blobsUsed;
    uint64_t bytesUsed, bytesUnused;
    uint64_t packsTotal, packsDeleted, packsRepacked, packsKept, packsUnreferenced;
    uint64_t bytesDeleted, bytesRepacked, bytesUnusedAfter;
    uint64_t indexFilesBefore, indexFilesAfter;
    uint64_t bytesRead;        /* from the storage, everything prune downloaded */
    uint64_t temporaryRemoved; /* leftovers of interrupted writes */
} PruneResult;

bool pruneRun(Repo *repo, RepoLock *lock, const PruneOptions *opts, PruneResult *result, LbError *err);

/* The result as the JSON object `prune --json` prints ("message_type":
 * "prune", the counters, "total_duration": seconds); new reference. */
json_t *pruneResultJson(const PruneOptions *opts, const PruneResult *result, double seconds);

#endif
