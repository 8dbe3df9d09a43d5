/*
 * pitrhonest.h - what a physical restore can really reach, and a
 * restore_command that works on its own.
 *
 *   pitrReachCompute     from the repository, before anything is written:
 *                        the chain of segments from the backup's first one
 *                        on its timeline, as far as it is contiguous; a
 *                        restore to the latest point is partial when that
 *                        chain stops at the backup's last segment (no WAL
 *                        after the backup) or when segments exist after a
 *                        gap (WAL missing)
 *   pitrReachedByServer  after the server recovered and promoted: the point
 *                        it switched timelines at (the newest .history file
 *                        in its pg_wal) and the time of its last replayed
 *                        commit (from its log)
 *   pitrS3Environment    the S3 settings the server's wal-fetch needs
 *                        (region, path style, CA bundle, profile, the
 *                        credentials and config files) as "NAME='value' "
 *                        assignments: names of files, never a secret; fails
 *                        when the credentials exist only as values
 *   pitrRestoreCommandTry run restore_command as the server would (as its
 *                        user, with a bare environment, %f/%p filled) for
 *                        one archived file and fail when it does not
 *                        deliver it
 *
 * Ownership: arguments are borrowed; LbBuf outputs are appended to.
 */
#ifndef LIFEBOAT_PG_PITRHONEST_H
#define LIFEBOAT_PG_PITRHONEST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "pg/basebackup.h"
#include "pg/pitr.h"
#include "pg/wal.h"
#include "repo/repo.h"
#include "storage/options.h"

typedef struct PitrReach {
    bool partial;          /* a restore to the latest point stops short */
    bool gap;              /* ... because a segment is missing (others follow it) */
    uint64_t reachLsn;     /* the end of the chain's last segment */
    int64_t reachNs;       /* when that segment was archived (0: unknown) */
    uint64_t lastSegStart; /* the start LSN of the chain's last segment */
    uint64_t segments;     /* in the chain */
    char lastSegment[WAL_NAME_MAX];
    char missing[WAL_NAME_MAX]; /* the first missing segment when gap */
    char probe[WAL_NAME_MAX];   /* an archived file to try restore_command with ("" when none) */
} PitrReach;

bool pitrReachCompute(Repo *repo, const BasebackupInfo *info, PitrReach *reach, LbError *err);

/* "LSN X/Y (segment S, archived 2026-... UTC)" for messages. */
void pitrReachDescribe(const PitrReach *reach, char *out, size_t n);

/* The LSN the restored server in dataDir left recovery at (its newest
 * timeline history file): false when there is none (it did not promote).
 * *lastCommit gets the log's "last completed transaction" time text, or "". */
bool pitrReachedByServer(const char *dataDir, uint64_t *lsn, char *lastCommit, size_t n);

/* Append the S3 assignments for location (nothing for a local one). */
bool pitrS3Environment(const char *location, const StorageOptions *storage, LbBuf *out, LbError *err);

/* Run restoreCommand for the archived file name as owner; LB_ERR_ARGS with
 * the command's own message when it fails or delivers nothing. */
bool pitrRestoreCommandTry(const char *restoreCommand, const PitrOwner *owner, const char *name, LbError *err);

#endif
