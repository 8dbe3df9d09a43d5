/*
 * saver.h - the blob pipeline: ID -> dedup -> compress -> seal -> pack ->
 * upload, on a pool of worker threads plus one uploader thread.
 *
 * The submitting thread (the reader) never waits on a worker unless the
 * queue holds too many bytes; workers fill their own pack each, so they
 * never wait on one another; finished packs go to the uploader, so workers
 * never wait on storage unless two packs are already queued. saverFinish
 * uploads the last packs, then writes the index files naming every new pack
 * (one per 65,536 blobs):
 * packs are always durable before the index that names them.
 */
#ifndef LIFEBOAT_REPO_SAVER_H
#define LIFEBOAT_REPO_SAVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "repo/repo.h"

typedef struct BlobSaver BlobSaver;

typedef struct SaverStats {
    uint64_t blobsNew, blobsKnown; /* all types */
    uint64_t treeBlobsNew;         /* of blobsNew, tree blobs */
    uint64_t rawNew;               /* plaintext bytes of new blobs */
    uint64_t storedNew;            /* bytes of new blobs as stored (compressed, sealed) */
    uint64_t packs;
} SaverStats;

/* repo is borrowed and must have its index loaded. workers <= 0 means one
 * per CPU (lbCpuCount) as far as the memory budget (lbMemoryBudget) allows:
 * see saverPlan. */
BlobSaver *saverNew(Repo *repo, int workers);
/* The threads a budget (bytes) allows: *uploaders (in: the most wanted) and,
 * when *workers <= 0, *workers (at most cpus), each filling a pack of up to
 * 20 MiB, after the queue and the read buffer (32 MiB with the archiver's):
 * at least one of each. */
void saverPlan(uint64_t budget, int cpus, int *workers, int *uploaders);

/* Queue a blob. Takes ownership of data (malloc'd; the saver frees it). When
 * the blob is stored or found known, its ID is written to *idOut and, if
 * pending is not NULL, *pending is decremented. Never fails: after an error
 * the saver drops new work and saverFinish reports the first error. */
void saverSubmitTake(BlobSaver *saver, BlobType type, uint8_t *data, size_t len, LbId *idOut, atomic_long *pending);

/* Queue a blob in its stored form (sealed bytes, as read from a pack) with its
 * pack entry: it is copied as is into a new pack, without the dedup check
 * against the repository index (prune repacks with it). Takes ownership of
 * stored (entry->length bytes). */
void saverSubmitStoredTake(BlobSaver *saver, const PackEntry *entry, uint8_t *stored);

/* Block until every submitted blob has been processed (IDs written). */
void saverWait(BlobSaver *saver);

/* True once a worker or the uploader failed. */
bool saverFailed(BlobSaver *saver);

/* Flush, upload, write the index file. Returns the first error, if any. */
bool saverFinish(BlobSaver *saver, LbError *err);

void saverGetStats(BlobSaver *saver, SaverStats *out);

/* The packs this saver uploaded (after saverFinish), as a malloc'd array the
 * caller frees; *count may be 0 (then NULL is returned). */
LbId *saverNewPackIds(BlobSaver *saver, size_t *count);
void saverFree(BlobSaver *saver);

#endif
