/*
 * history.c - the run history in SQLite (STATE/history.db).
 *
 * One table, runs, one row per attempt, UNIQUE(run_id, attempt). The
 * database is in WAL mode with a busy timeout, so several processes (the
 * daemon, a manual `lifeboat run`, `lifeboat history`) read and write it at
 * once; a write waits for another's lock instead of failing. Every write is
 * one autocommit statement or a BEGIN IMMEDIATE transaction, so a writer
 * never has to upgrade a read lock (which SQLite refuses with SQLITE_BUSY
 * without waiting).
 *
 * The schema carries a version (PRAGMA user_version) and an application id
 * (PRAGMA application_id): a database of a newer schema, or a file that is
 * some other program's SQLite database, is refused with a message saying so.
 *
 * Every value goes to SQLite as a bound parameter; the job filter of
 * histList is one bound JSON array read with json_each().
 */
#include "state/history.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "state/history_int.h"

#define HIST_SCHEMA_VERSION 3
#define HIST_APPLICATION_ID 0x4c424854 /* "LBHT" */
#define HIST_BUSY_TIMEOUT_MS 10000
#define HIST_ORPHAN_ERROR "interrupted: the process running it ended without recording an outcome"

/* The time a row is ordered by: its start, or its scheduled time for a run
 * that never started (skipped, missed). Milliseconds. */
#define HIST_SORT_KEY "(CASE WHEN started_at > 0 THEN started_at ELSE scheduled_at * 1000 END)"
/* The time an ended row's age is measured from: its end, else its sort key. */
#define HIST_AGE_KEY "(CASE WHEN ended_at > 0 THEN ended_at ELSE " HIST_SORT_KEY " END)"

#define HIST_COLUMNS                                                                                                   \
    "id, run_id, job, component, trigger, scheduled_at, started_at, ended_at, outcome, attempt, exit_code, "           \
    "bytes_added, snapshot_id, error, pid, bytes_processed"

static const char *const schemaV1 =
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY,"
    " run_id TEXT NOT NULL,"
    " job TEXT NOT NULL,"
    " component TEXT,"
    " trigger TEXT NOT NULL,"
    " scheduled_at INTEGER NOT NULL DEFAULT 0," /* Unix seconds, 0 for a manual run */
    " started_at INTEGER NOT NULL DEFAULT 0,"   /* Unix ms, 0 when never started */
    " ended_at INTEGER NOT NULL DEFAULT 0,"     /* Unix ms, 0 while running */
    " outcome TEXT NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'skipped', 'missed',"
    " 'timed-out', 'cancelled')),"
    " attempt INTEGER NOT NULL,"
    " exit_code INTEGER NOT NULL DEFAULT -1,"
    " bytes_added INTEGER NOT NULL DEFAULT -1,"
    " snapshot_id TEXT,"
    " error TEXT,"
    " pid INTEGER NOT NULL DEFAULT 0,"
    " pid_start TEXT," /* the process's identity (boot id, start time) when known */
    " UNIQUE (run_id, attempt));"
    "CREATE INDEX runs_job_time ON runs (job, scheduled_at);"
    "CREATE INDEX runs_outcome ON runs (outcome);";

/* version 2: one row per component of every drill */
static const char *const schemaV2 = "CREATE TABLE drills ("
                                    " id INTEGER PRIMARY KEY,"
                                    " drill_id TEXT NOT NULL,"
                                    " component TEXT NOT NULL,"
                                    " type TEXT NOT NULL,"
                                    " started_at INTEGER NOT NULL," /* Unix ms, the drill's start */
                                    " ended_at INTEGER NOT NULL,"   /* Unix ms, the drill's end */
                                    " snapshot_id TEXT,"
                                    " recovered_as_of INTEGER NOT NULL DEFAULT 0," /* Unix ms */
                                    " bytes INTEGER NOT NULL DEFAULT 0,"
                                    " restore_seconds REAL NOT NULL DEFAULT 0,"
                                    " verify_seconds REAL NOT NULL DEFAULT 0,"
                                    " rto_seconds REAL NOT NULL DEFAULT 0,"  /* achieved */
                                    " rpo_seconds REAL NOT NULL DEFAULT -1," /* achieved; -1 unknown */
                                    " rto_objective INTEGER NOT NULL DEFAULT -1,"
                                    " rpo_objective INTEGER NOT NULL DEFAULT -1,"
                                    " passed INTEGER NOT NULL,"
                                    " missed TEXT,"
                                    " error TEXT,"
                                    " UNIQUE (drill_id, component));"
                                    "CREATE INDEX drills_component_time ON drills (component, started_at);";

static const char *const outcomeNames[HIST_OUTCOME_COUNT] = {
    [histRunning] = "running", [histSucceeded] = "succeeded", [histFailed] = "failed",       [histSkipped] = "skipped",
    [histMissed] = "missed",   [histTimedOut] = "timed-out",  [histCancelled] = "cancelled",
};

const char *histOutcomeName(HistOutcome outcome) {
    if ((int)outcome < 0 || outcome >= HIST_OUTCOME_COUNT)
        return "unknown";
    return outcomeNames[outcome];
}

static bool outcomeParse(const char *name, HistOutcome *out) {
    for (int i = 0; name != NULL && i < HIST_OUTCOME_COUNT; i++)
        if (strcmp(name, outcomeNames[i]) == 0) {
            *out = (HistOutcome)i;
            return true;
        }
    return false;
}

/* An SQLite failure as LB_ERR_IO: "unable to <what> in history database 'PATH': reason". */
bool histDbErr(Hist *hist, LbError *err, const char *what) {
    int rc = sqlite3_errcode(hist->db) & 0xff;
    hist->busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
    if (what == NULL) /* while opening */
        return lbErr(err, LB_ERR_IO, "unable to open history database '%s': %s", hist->path, sqlite3_errmsg(hist->db));
    return lbErr(err, LB_ERR_IO, "unable to %s in history database '%s': %s", what, hist->path,
                 sqlite3_errmsg(hist->db));
}

bool histExec(Hist *hist, const char *sql, const char *what, LbError *err) {
    if (sqlite3_exec(hist->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return histDbErr(hist, err, what);
    return true;
}

sqlite3_stmt *histPrepare(Hist *hist, const char *sql, const char *what, LbError *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(hist->db, sql, -1, &st, NULL) != SQLITE_OK) {
        histDbErr(hist, err, what);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

void histBindText(sqlite3_stmt *st, int i, const char *s) {
    if (s == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* The first column of a one-row query without parameters, while opening. */
static bool queryInt(Hist *hist, const char *sql, int64_t *out, LbError *err) {
    sqlite3_stmt *st = histPrepare(hist, sql, NULL, err);
    if (st == NULL)
        return false;
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        *out = sqlite3_column_int64(st, 0);
    else
        histDbErr(hist, err, NULL);
    sqlite3_finalize(st);
    return ok;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static bool makeDirs(const char *dir, LbError *err) {
    struct stat sb;
    if (stat(dir, &sb) == 0)
        return true;
    char *p = strdup(dir);
    if (p == NULL)
        return lbErr(err, LB_ERR_MEMORY, "unable to create state directory '%s': out of memory", dir);
    bool ok = true;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            ok = lbErr(err, LB_ERR_IO, "unable to create state directory '%s': %s", p, strerror(errno));
            break;
        }
        *s = saved;
        if (saved == '\0')
            break;
    }
    free(p);
    return ok;
}

/* Create the tables of a new database (user_version 0), or check the version
 * of an existing one. Two processes opening a new database at once: the
 * IMMEDIATE transaction lets one create, the other then sees the version.
 * Version 2 added drills, version 3 the counters and scans
 * (history_stats.c), seeded from the rows the database holds. */
static bool schemaEnsure(Hist *hist, LbError *err) {
    int64_t version = 0, appId = 0;
    if (!queryInt(hist, "PRAGMA user_version", &version, err))
        return false;
    if (version == 0) {
        if (!histExec(hist, "BEGIN IMMEDIATE", NULL, err))
            return false;
        int64_t objects = 0;
        bool ok = queryInt(hist, "PRAGMA user_version", &version, err) &&
                  queryInt(hist, "SELECT count(*) FROM sqlite_master", &objects, err);
        if (ok && version == 0 && objects > 0)
            ok = lbErr(err, LB_ERR_FORMAT,
                       "unable to open history database '%s': the file is an SQLite database of another program",
                       hist->path);
        else if (ok && version == 0) {
            char pragmas[128];
            snprintf(pragmas, sizeof(pragmas), "PRAGMA application_id = %d; PRAGMA user_version = %d;",
                     HIST_APPLICATION_ID, HIST_SCHEMA_VERSION);
            ok = histExec(hist, schemaV1, NULL, err) && histExec(hist, schemaV2, NULL, err) &&
                 histStatsSchema(hist, err) && histExec(hist, pragmas, NULL, err);
            version = HIST_SCHEMA_VERSION;
        }
        if (ok)
            ok = histExec(hist, "COMMIT", NULL, err);
        if (!ok) {
            sqlite3_exec(hist->db, "ROLLBACK", NULL, NULL, NULL);
            return false;
        }
    }
    if (!queryInt(hist, "PRAGMA application_id", &appId, err))
        return false;
    if (appId != HIST_APPLICATION_ID)
        return lbErr(err, LB_ERR_FORMAT,
                     "unable to open history database '%s': the file is an SQLite database of another program "
                     "(application id %lld)",
                     hist->path, (long long)appId);
    if (version > HIST_SCHEMA_VERSION)
        return lbErr(err, LB_ERR_FORMAT,
                     "unable to open history database '%s': its schema version %lld is newer than this lifeboat "
                     "knows (%d); use the lifeboat that wrote it, or a newer one",
                     hist->path, (long long)version, HIST_SCHEMA_VERSION);
    /* add the tables of each later version (two processes: IMMEDIATE lets
     * one do it, the other sees the new version) */
    while (version < HIST_SCHEMA_VERSION) {
        if (!histExec(hist, "BEGIN IMMEDIATE", NULL, err))
            return false;
        int64_t now = 0;
        bool ok = queryInt(hist, "PRAGMA user_version", &now, err);
        if (ok && now == version) {
            char pragma[64];
            snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %lld", (long long)version + 1);
            ok = (version == 1 ? histExec(hist, schemaV2, NULL, err) : histStatsSchema(hist, err)) &&
                 histExec(hist, pragma, NULL, err);
        }
        if (ok)
            ok = histExec(hist, "COMMIT", NULL, err);
        if (!ok) {
            sqlite3_exec(hist->db, "ROLLBACK", NULL, NULL, NULL);
            return false;
        }
        version = now == version ? version + 1 : now;
    }
    return true;
}

Hist *histOpen(const char *stateDir, LbError *err) {
    Hist *hist = calloc(1, sizeof(*hist));
    if (hist == NULL || asprintf(&hist->path, "%s/history.db", stateDir) < 0) {
        free(hist);
        lbErr(err, LB_ERR_MEMORY, "unable to open history database in '%s': out of memory", stateDir);
        return NULL;
    }
    if (!makeDirs(stateDir, err)) {
        lbErrorWrap(err, "unable to open history database '%s'", hist->path);
        goto cleanup;
    }
    /* Create the file ourselves so that it is 0600 whatever the umask; SQLite
     * gives its -wal and -shm files the database file's mode. Only when it
     * does not exist: closing a descriptor of the file would drop the POSIX
     * locks another connection of this process holds on it (the daemon
     * opens a second one for its metrics), and a reader in another process
     * would then see a stale snapshot. */
    struct stat sb;
    if (stat(hist->path, &sb) != 0) {
        int fd = open(hist->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            lbErr(err, LB_ERR_IO, "unable to open history database '%s': %s", hist->path, strerror(errno));
            goto cleanup;
        }
        if (fd >= 0)
            close(fd);
    }
    if (sqlite3_open_v2(hist->path, &hist->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        lbErr(err, LB_ERR_IO, "unable to open history database '%s': %s", hist->path,
              hist->db ? sqlite3_errmsg(hist->db) : "out of memory");
        goto cleanup;
    }
    sqlite3_busy_timeout(hist->db, HIST_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(hist->db, 1);
    /* Switching a new database to WAL upgrades a read lock to a write lock,
     * which SQLite refuses at once (SQLITE_BUSY, without waiting) while
     * another process does the same: retry the setup until the busy timeout. */
    double deadline = lbMonotonicSeconds() + HIST_BUSY_TIMEOUT_MS / 1000.0;
    for (;;) {
        hist->busy = false;
        if (histExec(hist, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", NULL, err) &&
            schemaEnsure(hist, err))
            break;
        if (!hist->busy || lbMonotonicSeconds() > deadline)
            goto cleanup;
        usleep(20000);
    }
    return hist;
cleanup:
    histFree(hist);
    return NULL;
}

void histFree(Hist *hist) {
    if (hist == NULL)
        return;
    sqlite3_close_v2(hist->db);
    free(hist->path);
    free(hist);
}

/* "BOOTID:STARTTICKS" of a live process, from /proc (Linux); NULL elsewhere or
 * when it cannot be read. A pid reused by another process (after a reboot, or
 * a daemon that is always pid 1 in its container) gets another identity. */
static char *pidIdentity(int pid) {
    if (pid <= 0)
        return NULL;
    char path[64], boot[64] = "", stat[1024];
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
    if (f != NULL) {
        if (fgets(boot, sizeof(boot), f) == NULL)
            boot[0] = '\0';
        fclose(f);
    }
    boot[strcspn(boot, "\n")] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    size_t n = fread(stat, 1, sizeof(stat) - 1, f);
    fclose(f);
    stat[n] = '\0';
    /* field 22 (starttime); the name (field 2) may hold spaces and ')' */
    char *p = strrchr(stat, ')');
    for (int field = 2; p != NULL && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (p == NULL || boot[0] == '\0')
        return NULL;
    char *out = NULL;
    if (asprintf(&out, "%s:%lld", boot, strtoll(p + 1, NULL, 10)) < 0)
        return NULL;
    return out;
}

static bool claimLocked(Hist *hist, const HistRun *run, bool *claimed, int64_t *rowId, LbError *err) {
    *claimed = false;
    if (run->runId == NULL || run->job == NULL || run->trigger == NULL)
        return lbErr(err, LB_ERR_ARGS,
                     "unable to record a run in history database '%s': run id, job and trigger "
                     "are required",
                     hist->path);
    if ((int)run->outcome < 0 || run->outcome >= HIST_OUTCOME_COUNT)
        return lbErr(err, LB_ERR_ARGS, "unable to record run '%s' in history database '%s': unknown outcome %d",
                     run->runId, hist->path, (int)run->outcome);
    sqlite3_stmt *st =
        histPrepare(hist,
                    "INSERT INTO runs (run_id, job, component, trigger, scheduled_at, started_at, "
                    "ended_at, outcome, attempt, exit_code, bytes_added, snapshot_id, error, pid, "
                    "pid_start, bytes_processed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                    "?15, ?16)",
                    "record a run", err);
    if (st == NULL)
        return false;
    char *identity = pidIdentity(run->pid);
    histBindText(st, 1, run->runId);
    histBindText(st, 2, run->job);
    histBindText(st, 3, run->component);
    histBindText(st, 4, run->trigger);
    sqlite3_bind_int64(st, 5, run->scheduledAt);
    sqlite3_bind_int64(st, 6, run->startedAt);
    sqlite3_bind_int64(st, 7, run->endedAt);
    histBindText(st, 8, histOutcomeName(run->outcome));
    sqlite3_bind_int(st, 9, run->attempt);
    sqlite3_bind_int(st, 10, run->exitCode);
    sqlite3_bind_int64(st, 11, run->bytesAdded);
    histBindText(st, 12, run->snapshotId);
    histBindText(st, 13, run->error);
    sqlite3_bind_int(st, 14, run->pid);
    histBindText(st, 15, identity);
    sqlite3_bind_int64(st, 16, run->bytesProcessed);
    /* a row recorded as ended (skipped, missed) counts at once, in the
     * same transaction (history_stats.c) */
    bool ended = run->outcome != histRunning;
    bool ok = !ended || histExec(hist, "BEGIN IMMEDIATE", "record a run", err);
    int rc = ok ? sqlite3_step(st) : SQLITE_ERROR;
    if (ok && rc == SQLITE_DONE) {
        *claimed = true;
        int64_t id = sqlite3_last_insert_rowid(hist->db);
        if (rowId != NULL)
            *rowId = id;
        if (ended)
            ok = histStatsCount(hist, id, err);
    } else if (ok && rc != SQLITE_CONSTRAINT_UNIQUE) {
        ok = lbErr(err, LB_ERR_IO, "unable to record run '%s' in history database '%s': %s", run->runId, hist->path,
                   sqlite3_errmsg(hist->db));
    }
    sqlite3_finalize(st);
    free(identity);
    if (ended && ok)
        ok = histExec(hist, "COMMIT", "record a run", err);
    if (ended && !ok) {
        *claimed = false;
        sqlite3_exec(hist->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return ok;
}

static bool finishLocked(Hist *hist, int64_t rowId, HistOutcome outcome, int64_t endedAtMs, int exitCode,
                         int64_t bytesAdded, int64_t bytesProcessed, const char *snapshotId, const char *error,
                         LbError *err) {
    if ((int)outcome < 0 || outcome >= HIST_OUTCOME_COUNT)
        return lbErr(err, LB_ERR_ARGS,
                     "unable to record the end of run %lld in history database '%s': unknown "
                     "outcome %d",
                     (long long)rowId, hist->path, (int)outcome);
    sqlite3_stmt *st = histPrepare(hist,
                                   "UPDATE runs SET outcome = ?1, ended_at = ?2, exit_code = ?3, bytes_added = ?4, "
                                   "snapshot_id = ?5, error = ?6, bytes_processed = ?8 WHERE id = ?7",
                                   "record the end of a run", err);
    if (st == NULL)
        return false;
    histBindText(st, 1, histOutcomeName(outcome));
    sqlite3_bind_int64(st, 2, endedAtMs);
    sqlite3_bind_int(st, 3, exitCode);
    sqlite3_bind_int64(st, 4, bytesAdded);
    histBindText(st, 5, snapshotId);
    histBindText(st, 6, error);
    sqlite3_bind_int64(st, 7, rowId);
    sqlite3_bind_int64(st, 8, bytesProcessed);
    /* the row and its counters (history_stats.c) in one transaction */
    bool ok = histExec(hist, "BEGIN IMMEDIATE", "record the end of a run", err);
    if (ok && sqlite3_step(st) != SQLITE_DONE)
        ok = lbErr(err, LB_ERR_IO, "unable to record the end of run %lld in history database '%s': %s",
                   (long long)rowId, hist->path, sqlite3_errmsg(hist->db));
    else if (ok && sqlite3_changes(hist->db) == 0)
        ok = lbErr(err, LB_ERR_NOT_FOUND, "unable to record the end of run %lld in history database '%s': no such row",
                   (long long)rowId, hist->path);
    sqlite3_finalize(st);
    if (ok)
        ok = histStatsCount(hist, rowId, err) && histExec(hist, "COMMIT", "record the end of a run", err);
    if (!ok)
        sqlite3_exec(hist->db, "ROLLBACK", NULL, NULL, NULL);
    return ok;
}

static bool lastScheduledLocked(Hist *hist, const char *job, int64_t *scheduledAt, bool *found, LbError *err) {
    *found = false;
    sqlite3_stmt *st = histPrepare(hist,
                                   "SELECT MAX(scheduled_at) FROM runs WHERE job = ?1 AND trigger IN ('schedule', "
                                   "'catch-up', 'retry')",
                                   "read the last scheduled run", err);
    if (st == NULL)
        return false;
    histBindText(st, 1, job);
    bool ok = true;
    if (sqlite3_step(st) != SQLITE_ROW)
        ok = histDbErr(hist, err, "read the last scheduled run");
    else if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *found = true;
        *scheduledAt = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return ok;
}

static char *columnDup(sqlite3_stmt *st, int col) {
    const unsigned char *s = sqlite3_column_text(st, col);
    return s == NULL ? NULL : strdup((const char *)s);
}

/* Fill r from a row of HIST_COLUMNS; its strings are new copies. */
static bool rowRead(sqlite3_stmt *st, HistRun *r) {
    r->id = sqlite3_column_int64(st, 0);
    r->runId = columnDup(st, 1);
    r->job = columnDup(st, 2);
    r->component = columnDup(st, 3);
    r->trigger = columnDup(st, 4);
    r->scheduledAt = sqlite3_column_int64(st, 5);
    r->startedAt = sqlite3_column_int64(st, 6);
    r->endedAt = sqlite3_column_int64(st, 7);
    bool known = outcomeParse((const char *)sqlite3_column_text(st, 8), &r->outcome);
    r->attempt = sqlite3_column_int(st, 9);
    r->exitCode = sqlite3_column_int(st, 10);
    r->bytesAdded = sqlite3_column_int64(st, 11);
    r->snapshotId = columnDup(st, 12);
    r->error = columnDup(st, 13);
    r->pid = sqlite3_column_int(st, 14);
    r->bytesProcessed = sqlite3_column_int64(st, 15);
    return known && r->runId != NULL && r->job != NULL && r->trigger != NULL;
}

static void runStringsFree(HistRun *r) {
    free((char *)r->runId);
    free((char *)r->job);
    free((char *)r->component);
    free((char *)r->trigger);
    free((char *)r->snapshotId);
    free((char *)r->error);
}

void histRowsFree(HistRows *rows) {
    if (rows == NULL)
        return;
    for (size_t i = 0; i < rows->count; i++)
        runStringsFree(&rows->rows[i]);
    free(rows->rows);
    free(rows);
}

static bool listLocked(Hist *hist, const HistQuery *q, HistRows **out, LbError *err) {
    *out = NULL;
    bool ok = false;
    char *jobsText = NULL;
    HistRows *rows = calloc(1, sizeof(*rows));
    size_t cap = 0;
    /* newest first, so that LIMIT keeps the newest; reversed below */
    sqlite3_stmt *st =
        histPrepare(hist,
                    "SELECT " HIST_COLUMNS " FROM runs WHERE (?1 IS NULL OR job IN (SELECT value FROM "
                    "json_each(?1))) AND (started_at >= ?2 OR scheduled_at * 1000 >= ?2) ORDER BY " HIST_SORT_KEY
                    " DESC, id DESC LIMIT ?3",
                    "list runs", err);
    if (rows == NULL || st == NULL) {
        if (rows == NULL)
            lbErr(err, LB_ERR_MEMORY, "unable to list runs in history database '%s': out of memory", hist->path);
        goto cleanup;
    }
    if (q != NULL && q->jobs != NULL) {
        json_t *a = json_array();
        for (size_t i = 0; i < q->jobCount; i++)
            json_array_append_new(a, json_string(q->jobs[i]));
        jobsText = json_dumps(a, JSON_COMPACT);
        json_decref(a);
    }
    histBindText(st, 1, jobsText);
    sqlite3_bind_int64(st, 2, q != NULL ? q->sinceMs : 0);
    sqlite3_bind_int64(st, 3, q != NULL && q->limit > 0 ? (sqlite3_int64)q->limit : -1);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (rows->count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            HistRun *n = realloc(rows->rows, ncap * sizeof(*n));
            if (n == NULL) {
                lbErr(err, LB_ERR_MEMORY, "unable to list runs in history database '%s': out of memory", hist->path);
                goto cleanup;
            }
            rows->rows = n;
            cap = ncap;
        }
        HistRun *r = &rows->rows[rows->count++];
        memset(r, 0, sizeof(*r));
        if (!rowRead(st, r)) {
            lbErr(err, LB_ERR_CORRUPT, "unable to list runs in history database '%s': row %lld is malformed",
                  hist->path, (long long)r->id);
            goto cleanup;
        }
    }
    if (rc != SQLITE_DONE) {
        histDbErr(hist, err, "list runs");
        goto cleanup;
    }
    for (size_t i = 0; i < rows->count / 2; i++) {
        HistRun t = rows->rows[i];
        rows->rows[i] = rows->rows[rows->count - 1 - i];
        rows->rows[rows->count - 1 - i] = t;
    }
    *out = rows;
    rows = NULL;
    ok = true;
cleanup:
    sqlite3_finalize(st);
    free(jobsText);
    histRowsFree(rows);
    return ok;
}

/* One DELETE of histTrim with its job (?1) and a number (?2). */
static bool trimStep(Hist *hist, const char *sql, const char *job, int64_t n, LbError *err) {
    sqlite3_stmt *st = histPrepare(hist, sql, "trim the history", err);
    if (st == NULL)
        return false;
    histBindText(st, 1, job);
    sqlite3_bind_int64(st, 2, n);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    if (!ok)
        lbErr(err, LB_ERR_IO, "unable to trim the history of job '%s' in history database '%s': %s", job, hist->path,
              sqlite3_errmsg(hist->db));
    sqlite3_finalize(st);
    return ok;
}

static bool trimLocked(Hist *hist, const char *job, int successfulLimit, int failedLimit, int64_t maxAgeSeconds,
                       int64_t nowMs, LbError *err) {
    if (!histExec(hist, "BEGIN IMMEDIATE", "begin trimming the history", err))
        return false;
    bool ok = true;
    if (successfulLimit >= 0)
        ok = trimStep(hist,
                      "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE job = ?1 AND outcome = 'succeeded' "
                      "ORDER BY " HIST_SORT_KEY " DESC, id DESC LIMIT -1 OFFSET ?2)",
                      job, successfulLimit, err);
    if (ok && failedLimit >= 0)
        ok = trimStep(hist,
                      "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE job = ?1 AND outcome NOT IN "
                      "('running', 'succeeded') ORDER BY " HIST_SORT_KEY " DESC, id DESC LIMIT -1 OFFSET ?2)",
                      job, failedLimit, err);
    if (ok && maxAgeSeconds > 0)
        ok = trimStep(hist, "DELETE FROM runs WHERE job = ?1 AND outcome != 'running' AND " HIST_AGE_KEY " < ?2", job,
                      nowMs - maxAgeSeconds * 1000, err);
    if (ok)
        ok = histExec(hist, "COMMIT", "trim the history", err);
    if (!ok)
        sqlite3_exec(hist->db, "ROLLBACK", NULL, NULL, NULL);
    return ok;
}

/* Whether the process of a running row is gone: no pid recorded, no such
 * process, or a process with the pid that is not the one recorded. */
static bool processGone(int pid, const char *recordedIdentity) {
    if (pid <= 0)
        return true;
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return true;
    if (recordedIdentity == NULL)
        return false;
    char *now = pidIdentity(pid);
    bool gone = now != NULL && strcmp(now, recordedIdentity) != 0;
    free(now);
    return gone;
}

static bool closeOrphansLocked(Hist *hist, int64_t nowMs, size_t *closed, LbError *err) {
    *closed = 0;
    sqlite3_stmt *sel = histPrepare(hist, "SELECT id, pid, pid_start FROM runs WHERE outcome = 'running'",
                                    "find interrupted runs", err);
    sqlite3_stmt *upd = histPrepare(hist,
                                    "UPDATE runs SET outcome = 'failed', ended_at = ?1, error = ?2 WHERE id = ?3 AND "
                                    "outcome = 'running'",
                                    "close interrupted runs", err);
    bool ok = sel != NULL && upd != NULL;
    /* collect first: no write while the read statement is open */
    int64_t *ids = NULL;
    size_t count = 0, cap = 0;
    int rc = SQLITE_DONE;
    while (ok && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
        if (!processGone(sqlite3_column_int(sel, 1), (const char *)sqlite3_column_text(sel, 2)))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 8;
            int64_t *n = realloc(ids, cap * sizeof(*n));
            if (n == NULL) {
                ok = lbErr(err, LB_ERR_MEMORY,
                           "unable to close interrupted runs in history database '%s': out of "
                           "memory",
                           hist->path);
                break;
            }
            ids = n;
        }
        ids[count++] = sqlite3_column_int64(sel, 0);
    }
    if (ok && rc != SQLITE_DONE)
        ok = histDbErr(hist, err, "find interrupted runs");
    sqlite3_finalize(sel);
    bool txn = ok && count > 0 && histExec(hist, "BEGIN IMMEDIATE", "close interrupted runs", err);
    ok = ok && (count == 0 || txn);
    for (size_t i = 0; ok && i < count; i++) {
        sqlite3_reset(upd);
        sqlite3_bind_int64(upd, 1, nowMs);
        histBindText(upd, 2, HIST_ORPHAN_ERROR);
        sqlite3_bind_int64(upd, 3, ids[i]);
        if (sqlite3_step(upd) != SQLITE_DONE)
            ok = histDbErr(hist, err, "close interrupted runs");
        else if (sqlite3_changes(hist->db) > 0) {
            *closed += 1;
            ok = histStatsCount(hist, ids[i], err);
        }
    }
    sqlite3_finalize(upd);
    if (txn && ok)
        ok = histExec(hist, "COMMIT", "close interrupted runs", err);
    if (txn && !ok) {
        *closed = 0;
        sqlite3_exec(hist->db, "ROLLBACK", NULL, NULL, NULL);
    }
    free(ids);
    return ok;
}

/* An ISO-8601 UTC time (the format of every --json time) or null for 0. */
static json_t *jsonTimeMs(int64_t ms) {
    if (ms == 0)
        return json_null();
    char buf[48];
    lbFormatTimeNs(ms * 1000000, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *jsonStringOrNull(const char *s) {
    return s == NULL ? json_null() : json_string(s);
}

json_t *histRowsJson(const HistRows *rows) {
    json_t *a = json_array();
    for (size_t i = 0; rows != NULL && i < rows->count; i++) {
        const HistRun *r = &rows->rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(r->id));
        json_object_set_new(o, "run_id", jsonStringOrNull(r->runId));
        json_object_set_new(o, "job", jsonStringOrNull(r->job));
        json_object_set_new(o, "component", jsonStringOrNull(r->component));
        json_object_set_new(o, "trigger", jsonStringOrNull(r->trigger));
        json_object_set_new(o, "scheduled_at", jsonTimeMs(r->scheduledAt * 1000));
        json_object_set_new(o, "started_at", jsonTimeMs(r->startedAt));
        json_object_set_new(o, "ended_at", jsonTimeMs(r->endedAt));
        json_object_set_new(o, "outcome", json_string(histOutcomeName(r->outcome)));
        json_object_set_new(o, "attempt", json_integer(r->attempt));
        json_object_set_new(o, "exit_code", r->exitCode == -1 ? json_null() : json_integer(r->exitCode));
        json_object_set_new(o, "bytes_added", r->bytesAdded == -1 ? json_null() : json_integer(r->bytesAdded));
        json_object_set_new(o, "bytes_processed",
                            r->bytesProcessed == -1 ? json_null() : json_integer(r->bytesProcessed));
        json_object_set_new(o, "snapshot_id", jsonStringOrNull(r->snapshotId));
        json_object_set_new(o, "error", jsonStringOrNull(r->error));
        json_object_set_new(o, "duration_seconds",
                            r->endedAt > 0 && r->startedAt > 0 ? json_real((double)(r->endedAt - r->startedAt) / 1000.0)
                                                               : json_null());
        json_array_append_new(a, o);
    }
    return a;
}

bool histClaim(Hist *hist, const HistRun *run, bool *claimed, int64_t *rowId, LbError *err) {
    HIST_LOCKED(claimLocked(hist, run, claimed, rowId, err));
}

bool histFinish(Hist *hist, int64_t rowId, HistOutcome outcome, int64_t endedAtMs, int exitCode, int64_t bytesAdded,
                int64_t bytesProcessed, const char *snapshotId, const char *error, LbError *err) {
    HIST_LOCKED(
        finishLocked(hist, rowId, outcome, endedAtMs, exitCode, bytesAdded, bytesProcessed, snapshotId, error, err));
}

bool histLastScheduled(Hist *hist, const char *job, int64_t *scheduledAt, bool *found, LbError *err) {
    HIST_LOCKED(lastScheduledLocked(hist, job, scheduledAt, found, err));
}

bool histList(Hist *hist, const HistQuery *q, HistRows **out, LbError *err) {
    HIST_LOCKED(listLocked(hist, q, out, err));
}

bool histTrim(Hist *hist, const char *job, int successfulLimit, int failedLimit, int64_t maxAgeSeconds, int64_t nowMs,
              LbError *err) {
    HIST_LOCKED(trimLocked(hist, job, successfulLimit, failedLimit, maxAgeSeconds, nowMs, err));
}

bool histCloseOrphans(Hist *hist, int64_t nowMs, size_t *closed, LbError *err) {
    HIST_LOCKED(closeOrphansLocked(hist, nowMs, closed, err));
}

bool histRecordDrill(Hist *hist, const HistDrillRow *rows, size_t count, LbError *err) {
    if (!histExec(hist, "BEGIN IMMEDIATE", "record a drill", err))
        return false;
    sqlite3_stmt *st =
        histPrepare(hist,
                    "INSERT OR REPLACE INTO drills (drill_id, component, type, started_at, ended_at, "
                    "snapshot_id, recovered_as_of, bytes, restore_seconds, verify_seconds, rto_seconds, "
                    "rpo_seconds, rto_objective, rpo_objective, passed, missed, error) VALUES (?1, ?2, ?3, "
                    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                    "record a drill", err);
    bool ok = st != NULL;
    for (size_t i = 0; ok && i < count; i++) {
        const HistDrillRow *r = &rows[i];
        sqlite3_reset(st);
        histBindText(st, 1, r->drillId);
        histBindText(st, 2, r->component);
        histBindText(st, 3, r->type);
        sqlite3_bind_int64(st, 4, r->startedAt);
        sqlite3_bind_int64(st, 5, r->endedAt);
        histBindText(st, 6, r->snapshotId);
        sqlite3_bind_int64(st, 7, r->recoveredAsOf);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)r->bytes);
        sqlite3_bind_double(st, 9, r->restoreSeconds);
        sqlite3_bind_double(st, 10, r->verifySeconds);
        sqlite3_bind_double(st, 11, r->rtoSeconds);
        sqlite3_bind_double(st, 12, r->rpoSeconds);
        sqlite3_bind_int64(st, 13, r->rtoObjective);
        sqlite3_bind_int64(st, 14, r->rpoObjective);
        sqlite3_bind_int(st, 15, r->passed);
        histBindText(st, 16, r->missed);
        histBindText(st, 17, r->error);
        if (sqlite3_step(st) != SQLITE_DONE)
            ok = histDbErr(hist, err, "record a drill");
    }
    sqlite3_finalize(st);
    if (ok)
        return histExec(hist, "COMMIT", "record a drill", err);
    sqlite3_exec(hist->db, "ROLLBACK", NULL, NULL, NULL);
    return false;
}

bool histListDrills(Hist *hist, int64_t sinceMs, json_t **out, LbError *err) {
    *out = NULL;
    sqlite3_stmt *st =
        histPrepare(hist,
                    "SELECT drill_id, component, type, started_at, ended_at, snapshot_id, recovered_as_of, "
                    "bytes, restore_seconds, verify_seconds, rto_seconds, rpo_seconds, rto_objective, "
                    "rpo_objective, passed, missed, error FROM drills WHERE started_at >= ?1 "
                    "ORDER BY started_at, id",
                    "list drills", err);
    if (st == NULL)
        return false;
    sqlite3_bind_int64(st, 1, sinceMs);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        static const char *const names[] = {"drill_id",        "component",     "type",
                                            "started_at",      "ended_at",      "snapshot_id",
                                            "recovered_as_of", "bytes",         "restore_seconds",
                                            "verify_seconds",  "rto_seconds",   "rpo_seconds",
                                            "rto_objective",   "rpo_objective", "passed",
                                            "missed",          "error"};
        for (int c = 0; c < 17; c++) {
            int t = sqlite3_column_type(st, c);
            json_t *v = t == SQLITE_NULL      ? json_null()
                        : t == SQLITE_INTEGER ? json_integer(sqlite3_column_int64(st, c))
                        : t == SQLITE_FLOAT   ? json_real(sqlite3_column_double(st, c))
                                              : json_string((const char *)sqlite3_column_text(st, c));
            json_object_set_new(o, names[c], c == 14 ? json_boolean(sqlite3_column_int(st, c)) : v);
            if (c == 14)
                json_decref(v);
        }
        json_array_append_new(arr, o);
    }
    bool ok = rc == SQLITE_DONE || histDbErr(hist, err, "list drills");
    sqlite3_finalize(st);
    if (ok)
        *out = arr;
    else
        json_decref(arr);
    return ok;
}
