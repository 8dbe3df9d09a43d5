/*
 * copywal.h - the WAL that copied physical base backups need, from one
 * repository's wal/ into another's.
 *
 * For each base backup given, the segments of its timeline from its first
 * segment on, as far as the chain is contiguous in the source (so through
 * its end, and for the newest backup on through the point-in-time window
 * after it), its .backup history file, and the timeline .history files up
 * to its timeline. Where the chain after a backup's end stops, the longest
 * streamed partial of the next segment (wal-stream) comes along too, so the
 * second repository recovers as far as the first. Both wal/ folders are listed once (names only).
 *
 * WAL objects are write-once under fixed names: a name the target holds
 * already is compared by its sealed header (size and SHA-256) and skipped
 * when equal; a different file under that name fails with LB_ERR_EXISTS
 * naming it, and nothing is overwritten. A missing one is read and checked
 * with the source's keys and written again under the target's (the original
 * header, with its archive time, is kept: pg/wal.h describes the format).
 *
 * Ownership: backups is borrowed.
 */
#ifndef LIFEBOAT_MAINT_COPYWAL_H
#define LIFEBOAT_MAINT_COPYWAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "pg/basebackup.h"
#include "repo/repo.h"

typedef struct CopyWalResult {
    uint64_t segmentsCopied, segmentsSkipped; /* skipped: the target had them */
    uint64_t filesCopied, filesSkipped;       /* .history and .backup files */
    uint64_t bytesStored;                     /* objects written to the target */
    uint64_t segmentsMissing;                 /* a backup needs them, the source lacks them */
    char firstMissing[64];                    /* the first of those */
} CopyWalResult;

/* Copy what the backups need (none: nothing is listed, true). The result
 * is added to. Objects are compared or transferred four at a time (each
 * worker holds one segment, plain and sealed); after an error no new one is
 * started, and the first failure in WAL order is returned (the objects
 * written before stay: a next run skips them). */
bool copyWalRun(Repo *src, Repo *dst, const BasebackupInfo *backups, size_t count, CopyWalResult *result, LbError *err);

#endif
