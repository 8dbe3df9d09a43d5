/*
 * history.h - the record of every run of every job: SQLite in the state
 * directory (STATE/history.db), WAL mode, so the daemon and a manual
 * `lifeboat run` can write at the same time (each waits on the other's
 * write lock for up to a few seconds, never fails as "busy").
 *
 * One row per attempt. A scheduled run's ID is derived from its job and its
 * scheduled time ("database@2026-12-03T10:15:00Z"); (run_id, attempt) is
 * unique, so claiming a slot is an INSERT that only one process can win:
 * a restart or a second daemon never runs the same slot twice.
 *
 * Threads: one Hist may be shared by the threads of a process; each call
 * runs whole before another thread's (two processes each open their own).
 *
 * Ownership: Hist is opened and freed by its user; HistRows returned by
 * histList are owned by the caller (histRowsFree). Strings in a HistRun
 * given to a function are borrowed for the call.
 */
#ifndef LIFEBOAT_STATE_HISTORY_H
#define LIFEBOAT_STATE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum HistOutcome {
    histRunning = 0, /* started, not ended yet */
    histSucceeded,
    histFailed,
    histSkipped,   /* not started: the previous run still held the job (Forbid) */
    histMissed,    /* not started: later than its starting deadline, or a slot caught up as one run */
    histTimedOut,  /* terminated after its timeout */
    histCancelled, /* stopped by SIGTERM past the grace period, or replaced (Replace) */
    HIST_OUTCOME_COUNT
} HistOutcome;

typedef struct HistRun {
    int64_t id;            /* row id (set by histClaim, histList) */
    const char *runId;     /* "JOB@2026-12-03T10:15:00Z"; manual runs "JOB@manual-2026-12-03T10:15:07.123Z" */
    const char *job;       /* job or component name */
    const char *component; /* the component backed up; NULL for jobs of several or none */
    const char *trigger;   /* "schedule", "catch-up", "retry", "manual" */
    int64_t scheduledAt;   /* Unix seconds; 0 for a manual run */
    int64_t startedAt;     /* Unix ms; 0 when never started (skipped, missed) */
    int64_t endedAt;       /* Unix ms; 0 while running */
    HistOutcome outcome;
    int attempt;            /* 1 for the first try of a slot */
    int exitCode;           /* -1 when none */
    int64_t bytesAdded;     /* -1 when unknown */
    int64_t bytesProcessed; /* bytes the backups read (their total_bytes_processed); -1 when unknown */
    const char *snapshotId; /* NULL when none */
    const char *error;      /* NULL when none; never holds a secret */
    int pid;                /* process running it; 0 when none */
} HistRun;

typedef struct HistRows {
    HistRun *rows;
    size_t count;
} HistRows;

typedef struct Hist Hist;

/* Open (creating the directory, mode 0700, and the database, mode 0600, if
 * needed) STATE/history.db. Errors: "unable to open history database
 * 'STATE/history.db': reason", LB_ERR_IO; LB_ERR_FORMAT for a database of a
 * newer schema version or another program's SQLite file. */
Hist *histOpen(const char *stateDir, LbError *err);
void histFree(Hist *hist);

const char *histOutcomeName(HistOutcome outcome); /* "succeeded", "timed-out", ... */

/* Insert run as a new row. *claimed false (and true returned) when a row with
 * the same (runId, attempt) exists: another process has this slot. *rowId
 * receives the new row's id. */
bool histClaim(Hist *hist, const HistRun *run, bool *claimed, int64_t *rowId, LbError *err);

/* Record the end of a claimed row: outcome, end time, exit code, bytes added,
 * snapshot ID and error (NULL when none). LB_ERR_NOT_FOUND when no row has
 * that id (trimmed meanwhile). */
bool histFinish(Hist *hist, int64_t rowId, HistOutcome outcome, int64_t endedAtMs, int exitCode, int64_t bytesAdded,
                int64_t bytesProcessed, const char *snapshotId, const char *error, LbError *err);

/* The newest scheduled time of job's scheduled or caught-up runs (any
 * outcome); *found false when there is none. The daemon's catch-up starts
 * from it. */
bool histLastScheduled(Hist *hist, const char *job, int64_t *scheduledAt, bool *found, LbError *err);

typedef struct HistQuery {
    const char *const *jobs; /* NULL: every job */
    size_t jobCount;
    int64_t sinceMs; /* 0: all; rows scheduled or started at or after */
    size_t limit;    /* 0: no limit (newest rows are kept) */
} HistQuery;

/* Rows matching q, oldest first: by start time, or by scheduled time for a
 * run that never started (skipped, missed), then by id. q NULL: every row. */
bool histList(Hist *hist, const HistQuery *q, HistRows **out, LbError *err);
void histRowsFree(HistRows *rows);

/* Keep job's newest successfulLimit succeeded rows and newest failedLimit
 * rows of the other ended outcomes (-1: no limit), and drop ended rows older
 * than maxAgeSeconds (0: no age limit) relative to nowMs. Running rows are
 * never dropped. */
bool histTrim(Hist *hist, const char *job, int successfulLimit, int failedLimit, int64_t maxAgeSeconds, int64_t nowMs,
              LbError *err);

/* Rows still "running" whose process is gone (a crash of the daemon or of
 * the machine) become failed, ended at nowMs, with the error "interrupted:
 * the process running it ended without recording an outcome". Gone: pid 0,
 * no such process (kill(pid, 0) fails with ESRCH), or, on Linux, a process
 * with that pid that is not the one recorded by histClaim (boot id and start
 * time differ: a pid reused after a reboot, a daemon that is always pid 1 in
 * its container). *closed receives how many. */
bool histCloseOrphans(Hist *hist, int64_t nowMs, size_t *closed, LbError *err);

/* One component of a drill (cmd/drill.c; drill/report.h has the whole
 * result): times in Unix ms, durations in seconds, objectives -1 when not
 * set. Strings borrowed for the call. */
typedef struct HistDrillRow {
    const char *drillId, *component, *type, *snapshotId, *missed, *error;
    int64_t startedAt, endedAt, recoveredAsOf;
    uint64_t bytes;
    double restoreSeconds, verifySeconds, rtoSeconds, rpoSeconds;
    int64_t rtoObjective, rpoObjective;
    bool passed;
} HistDrillRow;
/* Record a drill's components (one transaction; a drill recorded again
 * replaces its rows). */
bool histRecordDrill(Hist *hist, const HistDrillRow *rows, size_t count, LbError *err);
/* Every drill component started at or after sinceMs, oldest first, as a
 * JSON array of objects with the columns above (snake_case; new reference). */
struct json_t;
bool histListDrills(Hist *hist, int64_t sinceMs, struct json_t **out, LbError *err);

/* ---- cumulative counters (schema version 3, history_stats.c) ----
 *
 * One row per (job, component, outcome), added to in the transaction that
 * records a run's end (histFinish, histCloseOrphans) or a run recorded as
 * not started (histClaim with skipped or missed), so the counts are exact
 * and histTrim never lowers them. A database upgraded from version 2 starts
 * from the rows it held. */

#define HIST_DURATION_BUCKETS 12
/* upper bounds (seconds) of the duration buckets: 1 5 15 30 60 120 300 600
 * 1800 3600 7200 21600 (the metrics' histogram, monitor/facts.h) */
extern const double histDurationBuckets[HIST_DURATION_BUCKETS];

typedef struct HistCounter {
    char *job;
    char *component; /* NULL when the rows had none */
    HistOutcome outcome;
    uint64_t count;                                  /* rows ended with outcome */
    uint64_t durationBuckets[HIST_DURATION_BUCKETS]; /* runs with duration <= bound (cumulative) */
    uint64_t durationCount;                          /* runs that started and were not skipped or missed */
    double durationSum;                              /* seconds, over those runs */
    uint64_t bytesAdded;                             /* sum of the known bytes added */
    uint64_t bytesProcessed;                         /* sum of the known bytes read (backups' total_bytes_processed) */
} HistCounter;

typedef struct HistCounters {
    HistCounter *rows;
    size_t count;
} HistCounters;

/* Every counter, ordered by job, component, outcome; *out owned by the
 * caller (histCountersFree). */
bool histListCounters(Hist *hist, HistCounters **out, LbError *err);
void histCountersFree(HistCounters *counters);

/* The newest figures of the rows of jobs (one or several: a component's own
 * runs and those of the backup jobs listing it), read from the rows present
 * (so bounded by trimming). lastError is owned by the caller (free). */
typedef struct HistSummary {
    int64_t lastRunMs;          /* end of the newest ended or not-started row; 0 when none */
    HistOutcome lastOutcome;    /* of that row (histRunning when none) */
    char *lastError;            /* of that row; NULL when none */
    double lastDurationSeconds; /* of that row; 0 when it never started */
    int64_t lastSuccessMs;      /* end of the newest succeeded row; 0 when none */
    int64_t lastFailureMs;      /* end of the newest failed or timed-out row; 0 when none */
    unsigned failuresInRow;     /* failed or timed-out rows ended after the last success */
    bool running;               /* a row is running */
} HistSummary;

bool histSummarize(Hist *hist, const char *const *jobs, size_t jobCount, HistSummary *out, LbError *err);

/* ---- repository size samples (the report's "growth") ----
 *
 * histRecordScan keeps every sample of the last 48 hours, one per hour
 * before that, none older than 400 days. */
typedef struct HistScan {
    int64_t atMs;
    uint64_t sizeBytes;
    uint64_t snapshots;
} HistScan;

bool histRecordScan(Hist *hist, const char *repository, int64_t atMs, uint64_t sizeBytes, uint64_t snapshots,
                    LbError *err);
/* The samples of repository taken at or after sinceMs, oldest first; *out
 * (malloc'd, free()) NULL when *count is 0. */
bool histListScans(Hist *hist, const char *repository, int64_t sinceMs, HistScan **out, size_t *count, LbError *err);

/* The rows as a JSON array (jansson json_t *, new reference), the contract
 * of `lifeboat history --json` (docs/commands.md). */
struct json_t *histRowsJson(const HistRows *rows);

#endif
