/*
 * walwindow.h - the window of point-in-time recovery: from which instant to
 * which instant the base backups and the WAL actually in the repository can
 * recover a cluster.
 *
 * The WAL segments under wal/ are listed once (names only). Starting from
 * the newest base backup of the component, the segments of its timeline
 * are followed from the backup's first segment while each next one exists;
 * the last one found ends the window, at the time it was archived (its
 * sealed header: the commits a replay can reach are those written before
 * that segment was complete, so this is an upper bound within one
 * archive_timeout). A streamed partial of the segment after the chain
 * (wal-stream, pg/walstream.h) ends it instead, at the time it was stored:
 * wal-fetch serves it as that segment. Older base backups whose first segment connects to that
 * chain without a gap move the start back to their own end (stop time).
 *
 * One timeline: segments of other timelines (a promoted copy's) are not
 * followed. Ownership: the result holds no pointers.
 */
#ifndef LIFEBOAT_PG_WALWINDOW_H
#define LIFEBOAT_PG_WALWINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "pg/wal.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"

typedef struct WalWindow {
    bool available;    /* a base backup whose WAL up to its end is archived */
    int64_t firstNs;   /* the oldest restorable instant: end of the oldest connected base backup */
    int64_t newestNs;  /* the newest restorable instant: when the chain's last segment was archived */
    uint32_t timeline; /* of the chain */
    uint64_t segments; /* in the chain, from the oldest connected backup's first segment */
    size_t backups;    /* base backups connected to the chain */
    char firstSegment[WAL_NAME_MAX], lastSegment[WAL_NAME_MAX];
    LbId oldestBackup, newestBackup;
} WalWindow;

/* The window of the physical snapshots in list that match filter (borrowed).
 * available is false when there is no such snapshot or the newest one's
 * WAL is not archived up to its end. */
bool walWindowCompute(Repo *repo, const SnapshotList *list, const SnapshotFilter *filter, WalWindow *window,
                      LbError *err);

#endif
