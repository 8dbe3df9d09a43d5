/*
 * history_stats.c - the history's cumulative counters and repository size
 * samples (schema version 3; state/history.h).
 *
 * counters: one row per (job, component, outcome) with the count, the
 * duration histogram (cumulative "le" columns d0..d11 over
 * histDurationBuckets) and the duration count and sum of the runs that
 * did work (started, not skipped: a manual run that found the job held
 * starts and ends at once as skipped), the bytes added. A row
 * is added to by one statement that reads the run's row (countSql), run in
 * the transaction that ends it, so a count is never lost or doubled; the
 * same statement over every ended row seeds the table when a version 2
 * database is upgraded. component is '' for none (a NULL would defeat the
 * primary key).
 *
 * scans: (repository, at_ms, size_bytes, snapshots), thinned on insert.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/history_int.h"

const double histDurationBuckets[HIST_DURATION_BUCKETS] = {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600};

#define SCAN_KEEP_ALL_MS (48LL * 3600 * 1000)
#define SCAN_KEEP_MAX_MS (400LL * 86400 * 1000)
#define SCAN_THIN_MS (3600LL * 1000)

static const char *const schemaV3 = "CREATE TABLE counters ("
                                    " job TEXT NOT NULL,"
                                    " component TEXT NOT NULL DEFAULT '',"
                                    " outcome TEXT NOT NULL,"
                                    " count INTEGER NOT NULL DEFAULT 0,"
                                    " d0 INTEGER NOT NULL DEFAULT 0, d1 INTEGER NOT NULL DEFAULT 0,"
                                    " d2 INTEGER NOT NULL DEFAULT 0, d3 INTEGER NOT NULL DEFAULT 0,"
                                    " d4 INTEGER NOT NULL DEFAULT 0, d5 INTEGER NOT NULL DEFAULT 0,"
                                    " d6 INTEGER NOT NULL DEFAULT 0, d7 INTEGER NOT NULL DEFAULT 0,"
                                    " d8 INTEGER NOT NULL DEFAULT 0, d9 INTEGER NOT NULL DEFAULT 0,"
                                    " d10 INTEGER NOT NULL DEFAULT 0, d11 INTEGER NOT NULL DEFAULT 0,"
                                    " duration_count INTEGER NOT NULL DEFAULT 0,"
                                    " duration_sum REAL NOT NULL DEFAULT 0," /* seconds */
                                    " bytes_added INTEGER NOT NULL DEFAULT 0,"
                                    " bytes_processed INTEGER NOT NULL DEFAULT 0,"
                                    " PRIMARY KEY (job, component, outcome));"
                                    "ALTER TABLE runs ADD COLUMN bytes_processed INTEGER NOT NULL DEFAULT -1;"
                                    "CREATE TABLE scans ("
                                    " id INTEGER PRIMARY KEY,"
                                    " repository TEXT NOT NULL,"
                                    " at_ms INTEGER NOT NULL,"
                                    " size_bytes INTEGER NOT NULL,"
                                    " snapshots INTEGER NOT NULL);"
                                    "CREATE INDEX scans_repository_time ON scans (repository, at_ms);";

/* The statement adding the ended rows that match `filter` (SQL over runs)
 * to the counters; NULL when out of memory. */
static char *countSql(const char *filter) {
    char cols[256] = "", sums[1024] = "", updates[1024] = "";
    size_t c = 0, s = 0, u = 0;
    for (int i = 0; i < HIST_DURATION_BUCKETS; i++) {
        c += (size_t)snprintf(cols + c, sizeof(cols) - c, "d%d, ", i);
        s += (size_t)snprintf(sums + s, sizeof(sums) - s, "sum(d IS NOT NULL AND d <= %g), ", histDurationBuckets[i]);
        u += (size_t)snprintf(updates + u, sizeof(updates) - u, "d%d = d%d + excluded.d%d, ", i, i, i);
    }
    char *sql = NULL;
    if (asprintf(&sql,
                 "INSERT INTO counters (job, component, outcome, count, %sduration_count, duration_sum, bytes_added, "
                 "bytes_processed) "
                 "SELECT job, comp, outcome, count(*), %ssum(d IS NOT NULL), total(d), total(max(bytes_added, 0)), "
                 "total(max(bytes_processed, 0)) "
                 "FROM (SELECT job, COALESCE(component, '') AS comp, outcome, bytes_added, bytes_processed, CASE WHEN "
                 "started_at > 0 "
                 "AND ended_at >= started_at AND outcome NOT IN ('skipped', 'missed') THEN (ended_at - started_at) / "
                 "1000.0 END AS d FROM runs WHERE "
                 "outcome != 'running' AND (%s)) WHERE true GROUP BY job, comp, outcome "
                 "ON CONFLICT (job, component, outcome) DO UPDATE SET count = count + excluded.count, %s"
                 "duration_count = duration_count + excluded.duration_count, duration_sum = duration_sum + "
                 "excluded.duration_sum, bytes_added = bytes_added + excluded.bytes_added, bytes_processed = "
                 "bytes_processed + excluded.bytes_processed",
                 cols, sums, filter, updates) < 0)
        return NULL;
    return sql;
}

bool histStatsSchema(Hist *hist, LbError *err) {
    char *seed = countSql("true");
    if (seed == NULL)
        return lbErr(err, LB_ERR_MEMORY, "unable to upgrade history database '%s': out of memory", hist->path);
    bool ok = histExec(hist, schemaV3, NULL, err) && histExec(hist, seed, NULL, err);
    free(seed);
    return ok;
}

bool histStatsCount(Hist *hist, int64_t rowId, LbError *err) {
    char *sql = countSql("id = ?1");
    if (sql == NULL)
        return lbErr(err, LB_ERR_MEMORY, "unable to count a run in history database '%s': out of memory", hist->path);
    sqlite3_stmt *st = histPrepare(hist, sql, "count a run", err);
    free(sql);
    if (st == NULL)
        return false;
    sqlite3_bind_int64(st, 1, rowId);
    bool ok = sqlite3_step(st) == SQLITE_DONE || histDbErr(hist, err, "count a run");
    sqlite3_finalize(st);
    return ok;
}

static bool listCountersLocked(Hist *hist, HistCounters **out, LbError *err) {
    *out = NULL;
    sqlite3_stmt *st =
        histPrepare(hist,
                    "SELECT job, component, outcome, count, d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, "
                    "d10, d11, duration_count, duration_sum, bytes_added, bytes_processed FROM counters ORDER BY job, "
                    "component, outcome",
                    "list the counters", err);
    if (st == NULL)
        return false;
    HistCounters *c = calloc(1, sizeof(*c));
    size_t cap = 0;
    bool ok = c != NULL;
    int rc = SQLITE_DONE;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (c->count == cap) {
            cap = cap ? cap * 2 : 16;
            HistCounter *n = realloc(c->rows, cap * sizeof(*n));
            if (n == NULL) {
                ok = false;
                break;
            }
            c->rows = n;
        }
        HistCounter *r = &c->rows[c->count];
        memset(r, 0, sizeof(*r));
        const char *job = (const char *)sqlite3_column_text(st, 0);
        const char *comp = (const char *)sqlite3_column_text(st, 1);
        const char *outcome = (const char *)sqlite3_column_text(st, 2);
        r->outcome = HIST_OUTCOME_COUNT;
        for (int o = 0; outcome != NULL && o < HIST_OUTCOME_COUNT; o++)
            if (strcmp(outcome, histOutcomeName((HistOutcome)o)) == 0)
                r->outcome = (HistOutcome)o;
        if (r->outcome == HIST_OUTCOME_COUNT || job == NULL)
            continue; /* a name this version does not know: not counted */
        r->job = strdup(job);
        r->component = comp != NULL && comp[0] != '\0' ? strdup(comp) : NULL;
        c->count++;
        if (r->job == NULL || (comp != NULL && comp[0] != '\0' && r->component == NULL)) {
            ok = false;
            break;
        }
        r->count = (uint64_t)sqlite3_column_int64(st, 3);
        for (int i = 0; i < HIST_DURATION_BUCKETS; i++)
            r->durationBuckets[i] = (uint64_t)sqlite3_column_int64(st, 4 + i);
        r->durationCount = (uint64_t)sqlite3_column_int64(st, 16);
        r->durationSum = sqlite3_column_double(st, 17);
        r->bytesAdded = (uint64_t)sqlite3_column_int64(st, 18);
        r->bytesProcessed = (uint64_t)sqlite3_column_int64(st, 19);
    }
    if (!ok)
        lbErr(err, LB_ERR_MEMORY, "unable to list the counters in history database '%s': out of memory", hist->path);
    else if (rc != SQLITE_DONE)
        ok = histDbErr(hist, err, "list the counters");
    sqlite3_finalize(st);
    if (ok)
        *out = c;
    else
        histCountersFree(c);
    return ok;
}

void histCountersFree(HistCounters *counters) {
    if (counters == NULL)
        return;
    for (size_t i = 0; i < counters->count; i++) {
        free(counters->rows[i].job);
        free(counters->rows[i].component);
    }
    free(counters->rows);
    free(counters);
}

static bool scanStep(Hist *hist, sqlite3_stmt *st, const char *repository, int64_t a, int64_t b, LbError *err) {
    if (st == NULL)
        return false;
    histBindText(st, 1, repository);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    bool ok = sqlite3_step(st) == SQLITE_DONE || histDbErr(hist, err, "record a repository scan");
    sqlite3_finalize(st);
    return ok;
}

static bool recordScanLocked(Hist *hist, const char *repository, int64_t atMs, uint64_t sizeBytes, uint64_t snapshots,
                             LbError *err) {
    if (!histExec(hist, "BEGIN IMMEDIATE", "record a repository scan", err))
        return false;
    sqlite3_stmt *st =
        histPrepare(hist, "INSERT INTO scans (repository, at_ms, size_bytes, snapshots) VALUES (?1, ?2, ?3, ?4)",
                    "record a repository scan", err);
    bool ok = st != NULL;
    if (ok) {
        histBindText(st, 1, repository);
        sqlite3_bind_int64(st, 2, atMs);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)sizeBytes);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)snapshots);
        ok = sqlite3_step(st) == SQLITE_DONE || histDbErr(hist, err, "record a repository scan");
        sqlite3_finalize(st);
    }
    /* older than 48 hours: the first sample of each hour; none past 400 days */
    ok = ok &&
         scanStep(hist,
                  histPrepare(hist,
                              "DELETE FROM scans WHERE repository = ?1 AND at_ms < ?2 AND id NOT IN (SELECT min(id) "
                              "FROM scans WHERE repository = ?1 AND at_ms < ?2 GROUP BY at_ms / ?3)",
                              "record a repository scan", err),
                  repository, atMs - SCAN_KEEP_ALL_MS, SCAN_THIN_MS, err) &&
         scanStep(hist,
                  histPrepare(hist, "DELETE FROM scans WHERE repository = ?1 AND at_ms < ?2 AND ?3 >= 0",
                              "record a repository scan", err),
                  repository, atMs - SCAN_KEEP_MAX_MS, 0, err);
    if (ok)
        return histExec(hist, "COMMIT", "record a repository scan", err);
    sqlite3_exec(hist->db, "ROLLBACK", NULL, NULL, NULL);
    return false;
}

static bool listScansLocked(Hist *hist, const char *repository, int64_t sinceMs, HistScan **out, size_t *count,
                            LbError *err) {
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st = histPrepare(hist,
                                   "SELECT at_ms, size_bytes, snapshots FROM scans WHERE repository = ?1 AND at_ms "
                                   ">= ?2 ORDER BY at_ms, id",
                                   "list repository scans", err);
    if (st == NULL)
        return false;
    histBindText(st, 1, repository);
    sqlite3_bind_int64(st, 2, sinceMs);
    HistScan *a = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            HistScan *g = realloc(a, cap * sizeof(*g));
            if (g == NULL) {
                ok = lbErr(err, LB_ERR_MEMORY,
                           "unable to list repository scans in history database '%s': out of "
                           "memory",
                           hist->path);
                break;
            }
            a = g;
        }
        a[n++] = (HistScan){.atMs = sqlite3_column_int64(st, 0),
                            .sizeBytes = (uint64_t)sqlite3_column_int64(st, 1),
                            .snapshots = (uint64_t)sqlite3_column_int64(st, 2)};
    }
    if (ok && rc != SQLITE_DONE)
        ok = histDbErr(hist, err, "list repository scans");
    sqlite3_finalize(st);
    if (!ok) {
        free(a);
        return false;
    }
    *out = a;
    *count = n;
    return true;
}

/* The first column of a query over the job array ?1 as an integer (0 for NULL). */
static bool summaryInt(Hist *hist, const char *sql, const char *jobs, int64_t arg, int64_t *out, LbError *err) {
    sqlite3_stmt *st = histPrepare(hist, sql, "summarize runs", err);
    if (st == NULL)
        return false;
    histBindText(st, 1, jobs);
    sqlite3_bind_int64(st, 2, arg);
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    bool ok = rc == SQLITE_ROW || histDbErr(hist, err, "summarize runs");
    sqlite3_finalize(st);
    return ok;
}

#define SUMMARY_JOBS "job IN (SELECT value FROM json_each(?1))"
#define SUMMARY_FAILED "outcome IN ('failed', 'timed-out')"

static bool summarizeLocked(Hist *hist, const char *jobs, HistSummary *out, LbError *err) {
    memset(out, 0, sizeof(*out));
    out->lastOutcome = histRunning;
    int64_t running = 0, failures = 0;
    bool ok =
        summaryInt(hist, "SELECT max(ended_at) FROM runs WHERE " SUMMARY_JOBS " AND outcome = 'succeeded'", jobs, 0,
                   &out->lastSuccessMs, err) &&
        summaryInt(hist, "SELECT max(ended_at) FROM runs WHERE " SUMMARY_JOBS " AND " SUMMARY_FAILED, jobs, 0,
                   &out->lastFailureMs, err) &&
        summaryInt(hist, "SELECT count(*) FROM runs WHERE " SUMMARY_JOBS " AND " SUMMARY_FAILED " AND ended_at > ?2",
                   jobs, out->lastSuccessMs, &failures, err) &&
        summaryInt(hist, "SELECT count(*) FROM runs WHERE " SUMMARY_JOBS " AND outcome = 'running'", jobs, 0, &running,
                   err);
    if (!ok)
        return false;
    out->failuresInRow = (unsigned)failures;
    out->running = running > 0;
    sqlite3_stmt *st = histPrepare(hist,
                                   "SELECT outcome, ended_at, started_at, error FROM runs WHERE " SUMMARY_JOBS
                                   " AND outcome != 'running' ORDER BY ended_at DESC, id DESC LIMIT 1",
                                   "summarize runs", err);
    if (st == NULL)
        return false;
    histBindText(st, 1, jobs);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *outcome = (const char *)sqlite3_column_text(st, 0);
        for (int o = 0; outcome != NULL && o < HIST_OUTCOME_COUNT; o++)
            if (strcmp(outcome, histOutcomeName((HistOutcome)o)) == 0)
                out->lastOutcome = (HistOutcome)o;
        out->lastRunMs = sqlite3_column_int64(st, 1);
        int64_t started = sqlite3_column_int64(st, 2);
        if (started > 0 && out->lastRunMs >= started)
            out->lastDurationSeconds = (double)(out->lastRunMs - started) / 1000.0;
        const char *e = (const char *)sqlite3_column_text(st, 3);
        out->lastError = e != NULL ? strdup(e) : NULL;
    } else if (rc != SQLITE_DONE)
        ok = histDbErr(hist, err, "summarize runs");
    sqlite3_finalize(st);
    return ok;
}

bool histSummarize(Hist *hist, const char *const *jobs, size_t jobCount, HistSummary *out, LbError *err) {
    memset(out, 0, sizeof(*out));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return lbErr(err, LB_ERR_MEMORY, "unable to summarize runs in history database '%s': out of memory",
                     hist->path);
    json_t *a = json_array();
    for (size_t i = 0; i < jobCount; i++)
        json_array_append_new(a, json_string(jobs[i]));
    json_dumpf(a, f, JSON_COMPACT);
    json_decref(a);
    fclose(f);
    sqlite3_mutex_enter(sqlite3_db_mutex(hist->db));
    bool ok = summarizeLocked(hist, text, out, err);
    sqlite3_mutex_leave(sqlite3_db_mutex(hist->db));
    free(text);
    return ok;
}

bool histListCounters(Hist *hist, HistCounters **out, LbError *err) {
    HIST_LOCKED(listCountersLocked(hist, out, err));
}

bool histRecordScan(Hist *hist, const char *repository, int64_t atMs, uint64_t sizeBytes, uint64_t snapshots,
                    LbError *err) {
    HIST_LOCKED(recordScanLocked(hist, repository, atMs, sizeBytes, snapshots, err));
}

bool histListScans(Hist *hist, const char *repository, int64_t sinceMs, HistScan **out, size_t *count, LbError *err) {
    HIST_LOCKED(listScansLocked(hist, repository, sinceMs, out, count, err));
}
