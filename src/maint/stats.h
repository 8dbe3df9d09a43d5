/*
 * stats.h - what a repository holds: snapshots, packs, blobs, sizes.
 *
 * statsRun reads the loaded index, the snapshot records and the sizes of
 * every stored object; it changes nothing and needs no lock.
 */
#ifndef LIFEBOAT_MAINT_STATS_H
#define LIFEBOAT_MAINT_STATS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "repo/repo.h"

typedef struct RepoStats {
    size_t snapshots, packs;
    uint64_t dataBlobs, treeBlobs;
    uint64_t rawBytes;        /* unique blob bytes before compression */
    uint64_t storedBytes;     /* the same blobs as stored in packs */
    uint64_t repositoryBytes; /* every object on the storage */
    uint64_t snapshotBytes;   /* sum of the snapshots' total sizes */
} RepoStats;

/* Fill *out; the index must be loaded (repoLoadIndex). */
bool statsRun(Repo *repo, RepoStats *out, LbError *err);

/* The figures as the JSON object `stats --json` prints; new reference. */
json_t *statsJson(const RepoStats *stats);

#endif
