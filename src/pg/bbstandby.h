/*
 * bbstandby.h - a base backup taken from a standby, with the primary for
 * what a standby cannot do (`backup --pg-physical --pg STANDBY --pg-primary
 * PRIMARY`).
 *
 * pg_basebackup reads the data files from the standby, so the primary is not
 * loaded. But the backup ends in a segment only the primary can finish, and
 * only the primary's archive_command archives it: a standby cannot call
 * pg_switch_wal(). So, before the backup, bbStandbyCheckPrimary makes sure
 * the primary is one (not in recovery) of the same cluster (system
 * identifier); after it, bbStandbyFinish calls pg_switch_wal() on the
 * primary and waits, bounded, until the backup's last segment is in the
 * repository.
 *
 * Ownership: everything is borrowed.
 */
#ifndef LIFEBOAT_PG_BBSTANDBY_H
#define LIFEBOAT_PG_BBSTANDBY_H

#include <stdbool.h>

#include "common/error.h"
#include "pg/basebackup.h"
#include "pg/pgconn.h"
#include "repo/repo.h"

/* How long bbStandbyFinish waits for the segment to be archived, by
 * default (backup --archive-wait). */
#define BB_STANDBY_ARCHIVE_WAIT_SECONDS 300

/* LB_ERR_ARGS when primary is in recovery or another cluster than the
 * standby the backup is taken from (standby: its info after serverBefore). */
bool bbStandbyCheckPrimary(const PgConnInfo *primary, const BasebackupInfo *standby, LbError *err);

/* pg_switch_wal() on the primary, then wait until the segment holding the
 * backup's stop LSN is in repo's wal/ (at most timeoutSeconds): an error
 * naming the segment when it does not arrive. */
bool bbStandbyFinish(const PgConnInfo *primary, Repo *repo, const BasebackupInfo *info, int timeoutSeconds,
                     LbError *err);

#endif
