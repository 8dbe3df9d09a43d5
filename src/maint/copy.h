/*
 * copy.h - copy snapshots from one repository into another.
 *
 * Blobs are decrypted with the source's keys and stored under the target's
 * (their IDs are recomputed with the target's ID key); only blobs the target
 * lacks are stored. When the two repositories cut chunks differently
 * (different chunker parameters or gear secret), file contents are chunked
 * again with the target's chunker so they deduplicate against the target's
 * own backups. Each copied snapshot records the source snapshot's ID as
 * "original"; snapshots whose original is already in the target are skipped,
 * so running copy again copies nothing. Physical base backups take their WAL
 * along (maint/copywal.h).
 */
#ifndef LIFEBOAT_MAINT_COPY_H
#define LIFEBOAT_MAINT_COPY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "maint/copywal.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"

typedef struct CopyResult {
    uint64_t snapshotsCopied, snapshotsSkipped;
    uint64_t blobsNew, bytesStored; /* added to the target */
    uint64_t bytesRead;             /* read from the source */
    bool rechunked;
    CopyWalResult wal; /* the WAL of the selected physical base backups */
} CopyResult;

/* Both repositories should have their index loaded (dst's is loaded if not):
 * the copy deduplicates against the index files dst's index was loaded from,
 * and writes each snapshot through the commit checks (repo/commit.h): when a
 * prune on dst removed data a snapshot needs, that snapshot and the ones after
 * it are not written and the code is LB_ERR_NOT_COMMITTED. ids (may be NULL)
 * limits the copy to those source snapshots; filter applies otherwise.
 * The WAL the selected physical base backups need (maint/copywal.h; also
 * for those copied before) is copied first, so a snapshot in dst never
 * goes without its WAL. */
bool copyRun(Repo *src, Repo *dst, const SnapshotFilter *filter, const LbId *ids, size_t idCount, CopyResult *result,
             LbError *err);

/* The result as the JSON object `copy --json` prints ("message_type":
 * "copy", the counters, "total_duration": seconds); new reference. */
json_t *copyResultJson(const CopyResult *result, double seconds);

#endif
