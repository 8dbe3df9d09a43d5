/*
 * archcheck.h - `lifeboat pg-check`: does WAL archiving work?
 *
 * archcheckCollect reads the server's view (pg_settings, pg_stat_archiver,
 * the archive_status backlog, pg_stat_replication, pg_replication_slots);
 * archcheckJudge turns it
 * into a verdict with reasons (pure: no I/O, unit-testable):
 *
 *   FAILING  archive_mode off; no archive_command/archive_library; the last
 *            archive attempt failed; WAL waits while nothing was archived
 *            for longer than maxAgeSeconds; the last archived segment is
 *            missing from the repository (when one was checked)
 *   WARNING  archive_command does not call `lifeboat wal-push`; earlier
 *            failures (recovered); nothing archived yet; a backlog of more
 *            than maxReady segments; a standby not streaming or lagging more
 *            than maxLagBytes / maxLagSeconds; wal-stream's slot lagging more
 *            than maxLagBytes or its WAL unreserved; another slot inactive
 *            and holding more than maxLagBytes; a slot while
 *            max_slot_wal_keep_size is unlimited (-1)
 *   FAILING  (slots) wal-stream's slot inactive (the stream is down: a
 *            synchronous commit waits for it) or its WAL lost
 *   OK       none of these
 *
 * Ownership: an ArchcheckReport owns its strings and arrays; free with
 * archcheckReportClear.
 */
#ifndef LIFEBOAT_PG_ARCHCHECK_H
#define LIFEBOAT_PG_ARCHCHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "pg/pgconn.h"

typedef enum { ARCHCHECK_OK = 0, ARCHCHECK_WARNING, ARCHCHECK_FAILING } ArchcheckVerdict;

typedef struct ArchcheckStandby {
    char *name, *client, *state, *syncState;
    bool hasLagBytes;
    int64_t lagBytes;
    bool hasLagSeconds;
    double lagSeconds;
} ArchcheckStandby;

/* A replication slot (pg_replication_slots). */
typedef struct ArchcheckSlot {
    char *name, *type, *restartLsn, *walStatus; /* "" when NULL */
    bool active;
    bool hasLagBytes; /* restart_lsn behind the current WAL position */
    int64_t lagBytes;
} ArchcheckSlot;

typedef struct ArchcheckReport {
    /* collected */
    char *serverVersion;
    bool inRecovery;
    char *archiveMode, *archiveCommand, *archiveLibrary;
    uint64_t archivedCount, failedCount;
    char *lastArchivedWal, *lastFailedWal;                     /* "" when none */
    int64_t lastArchivedNs, lastFailedNs, statsResetNs, nowNs; /* 0 when none */
    char *currentWal;                                          /* "" on a standby */
    long readyCount;                                           /* -1 when it could not be read */
    ArchcheckStandby *standbys;
    size_t standbyCount;
    ArchcheckSlot *slots;
    size_t slotCount;
    int64_t maxSlotWalKeepMb; /* max_slot_wal_keep_size; -1 = unlimited */
    bool repoChecked;         /* filled by the caller */
    bool repoHasLast;
    char *repoLocation;
    /* judged */
    ArchcheckVerdict verdict;
    char **reasons;
    size_t reasonCount;
} ArchcheckReport;

typedef struct ArchcheckLimits {
    double maxAgeSeconds; /* WAL waiting and nothing archived for this long = FAILING */
    long maxReady;        /* more .ready files than this = WARNING */
    int64_t maxLagBytes;
    double maxLagSeconds;
    const char *streamSlot; /* wal-stream's slot: FAILING when inactive or lost, WARNING when lagging */
} ArchcheckLimits;

#define ARCHCHECK_DEFAULT_MAX_AGE 3600.0
#define ARCHCHECK_DEFAULT_MAX_READY 16
#define ARCHCHECK_DEFAULT_MAX_LAG_BYTES (64LL * 1024 * 1024)
#define ARCHCHECK_DEFAULT_MAX_LAG_SECONDS 300.0

bool archcheckCollect(PgConn *conn, ArchcheckReport *report, LbError *err);
void archcheckJudge(ArchcheckReport *report, const ArchcheckLimits *limits);
const char *archcheckVerdictName(ArchcheckVerdict verdict);
json_t *archcheckToJson(const ArchcheckReport *report);
void archcheckReportClear(ArchcheckReport *report);

#endif
