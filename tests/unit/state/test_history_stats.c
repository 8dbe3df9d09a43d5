/*
 * test_history_stats.c - unit tests for src/state/history_stats.c: the
 * cumulative counters (added when a run ends, when a not-started run is
 * recorded, when an orphan is closed; never lowered by trimming; seeded when
 * a version 2 database is upgraded) and the repository size samples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "state/history.h"

#define T0 1796292900LL /* 2026-12-03T10:15:00Z */

static int rmOne(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setupDir(void **state) {
    char *dir = strdup("/tmp/lb-test-histstats-XXXXXX");
    if (dir == NULL || mkdtemp(dir) == NULL)
        return -1;
    *state = dir;
    return 0;
}

static int teardownDir(void **state) {
    nftw(*state, rmOne, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

static Hist *openOk(const char *stateDir) {
    LbError err = {0};
    Hist *h = histOpen(stateDir, &err);
    if (h == NULL)
        fail_msg("histOpen: %s", err.msg);
    return h;
}

/* One run of job at slot, started (unless never) and ended after seconds. */
static void runOnce(Hist *h, const char *job, const char *component, int64_t slot, HistOutcome o, double seconds,
                    int64_t bytes) {
    char runId[128];
    snprintf(runId, sizeof(runId), "%s@%lld", job, (long long)slot);
    bool notStarted = o == histSkipped || o == histMissed;
    HistRun r = {.runId = runId,
                 .job = job,
                 .component = component,
                 .trigger = "schedule",
                 .scheduledAt = slot,
                 .startedAt = notStarted ? 0 : slot * 1000,
                 .endedAt = notStarted ? slot * 1000 : 0,
                 .outcome = notStarted ? o : histRunning,
                 .attempt = 1,
                 .exitCode = -1,
                 .bytesAdded = -1,
                 .pid = (int)getpid()};
    LbError err = {0};
    bool claimed = false;
    int64_t id = 0;
    if (!histClaim(h, &r, &claimed, &id, &err))
        fail_msg("histClaim: %s", err.msg);
    assert_true(claimed);
    if (notStarted)
        return;
    if (!histFinish(h, id, o, slot * 1000 + (int64_t)(seconds * 1000), o == histSucceeded ? 0 : 1, bytes,
                    bytes > 0 ? bytes * 3 : -1, NULL, o == histSucceeded ? NULL : "it broke", &err))
        fail_msg("histFinish: %s", err.msg);
}

static HistCounters *countersOk(Hist *h) {
    LbError err = {0};
    HistCounters *c = NULL;
    if (!histListCounters(h, &c, &err))
        fail_msg("histListCounters: %s", err.msg);
    assert_non_null(c);
    return c;
}

static const HistCounter *find(const HistCounters *c, const char *job, const char *component, HistOutcome o) {
    for (size_t i = 0; i < c->count; i++) {
        const HistCounter *r = &c->rows[i];
        if (strcmp(r->job, job) == 0 && r->outcome == o &&
            (component == NULL ? r->component == NULL : r->component && strcmp(r->component, component) == 0))
            return r;
    }
    return NULL;
}

/* Ends and not-started runs count by outcome, with the histogram, sum and
 * bytes; a running row does not count. */
static void test_counts_by_outcome(void **state) {
    Hist *h = openOk(*state);
    runOnce(h, "database", "database", T0, histSucceeded, 3.0, 100);
    runOnce(h, "database", "database", T0 + 900, histSucceeded, 40.0, 50);
    runOnce(h, "database", "database", T0 + 1800, histFailed, 0.5, -1);
    runOnce(h, "database", "database", T0 + 2700, histSkipped, 0, -1);
    runOnce(h, "nightly", NULL, T0, histMissed, 0, -1);
    HistCounters *c = countersOk(h);
    assert_int_equal(c->count, 4);
    const HistCounter *ok = find(c, "database", "database", histSucceeded);
    assert_non_null(ok);
    assert_int_equal(ok->count, 2);
    assert_int_equal(ok->durationCount, 2);
    assert_true(ok->durationSum > 42.99 && ok->durationSum < 43.01);
    assert_int_equal(ok->bytesAdded, 150);
    /* cumulative buckets: 1 5 15 30 60 ... */
    assert_int_equal(ok->durationBuckets[0], 0);
    assert_int_equal(ok->durationBuckets[1], 1);
    assert_int_equal(ok->durationBuckets[3], 1);
    assert_int_equal(ok->durationBuckets[4], 2);
    assert_int_equal(ok->durationBuckets[HIST_DURATION_BUCKETS - 1], 2);
    const HistCounter *failed = find(c, "database", "database", histFailed);
    assert_non_null(failed);
    assert_int_equal(failed->count, 1);
    assert_int_equal(failed->durationBuckets[0], 1);
    assert_int_equal(failed->bytesAdded, 0);
    const HistCounter *skipped = find(c, "database", "database", histSkipped);
    assert_non_null(skipped);
    assert_int_equal(skipped->count, 1);
    assert_int_equal(skipped->durationCount, 0);
    const HistCounter *missed = find(c, "nightly", NULL, histMissed);
    assert_non_null(missed);
    assert_int_equal(missed->count, 1);
    histCountersFree(c);

    /* a second claim of the same slot (refused) adds nothing */
    HistRun again = {.runId = "database@1796295600",
                     .job = "database",
                     .trigger = "schedule",
                     .scheduledAt = T0 + 2700,
                     .endedAt = 1,
                     .outcome = histSkipped,
                     .attempt = 1,
                     .exitCode = -1,
                     .bytesAdded = -1};
    LbError err = {0};
    bool claimed = true;
    assert_true(histClaim(h, &again, &claimed, NULL, &err));
    assert_false(claimed);
    c = countersOk(h);
    assert_int_equal(find(c, "database", "database", histSkipped)->count, 1);
    histCountersFree(c);
    histFree(h);
}

/* Trimming drops rows, never counts; a closed orphan counts as failed. */
static void test_trim_keeps_counts_orphans_count(void **state) {
    Hist *h = openOk(*state);
    for (int i = 0; i < 10; i++)
        runOnce(h, "files", "files", T0 + i * 60, i % 3 == 0 ? histFailed : histSucceeded, 2.0, 10);
    LbError err = {0};
    assert_true(histTrim(h, "files", 1, 1, 0, (T0 + 3600) * 1000, &err));
    HistRows *rows = NULL;
    assert_true(histList(h, NULL, &rows, &err));
    assert_int_equal(rows->count, 2);
    histRowsFree(rows);
    HistCounters *c = countersOk(h);
    assert_int_equal(find(c, "files", "files", histSucceeded)->count, 6);
    assert_int_equal(find(c, "files", "files", histFailed)->count, 4);
    assert_int_equal(find(c, "files", "files", histSucceeded)->bytesAdded, 60);
    histCountersFree(c);

    /* a running row of a gone process (pid 0) */
    HistRun r = {.runId = "files@orphan",
                 .job = "files",
                 .component = "files",
                 .trigger = "manual",
                 .startedAt = T0 * 1000,
                 .outcome = histRunning,
                 .attempt = 1,
                 .exitCode = -1,
                 .bytesAdded = -1,
                 .pid = 0};
    bool claimed = false;
    assert_true(histClaim(h, &r, &claimed, NULL, &err));
    c = countersOk(h);
    assert_int_equal(find(c, "files", "files", histFailed)->count, 4);
    histCountersFree(c);
    size_t closed = 0;
    assert_true(histCloseOrphans(h, T0 * 1000 + 7000, &closed, &err));
    assert_int_equal(closed, 1);
    c = countersOk(h);
    const HistCounter *f = find(c, "files", "files", histFailed);
    assert_int_equal(f->count, 5);
    assert_int_equal(f->durationBuckets[1], 4); /* 7 s is over 5 */
    assert_int_equal(f->durationBuckets[2], 5);
    histCountersFree(c);
    histFree(h);
}

/* A version 2 database (no counters) is upgraded and seeded from its rows. */
static void test_upgrade_from_v2_seeds(void **state) {
    Hist *h = openOk(*state);
    runOnce(h, "database", "database", T0, histSucceeded, 3.0, 7);
    runOnce(h, "database", "database", T0 + 60, histFailed, 1.0, -1);
    runOnce(h, "database", "database", T0 + 120, histMissed, 0, -1);
    histFree(h);
    char *db = NULL;
    assert_true(asprintf(&db, "%s/history.db", (char *)*state) > 0);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(raw,
                     "DROP TABLE counters; DROP TABLE scans; ALTER TABLE runs DROP COLUMN bytes_processed; "
                     "PRAGMA user_version = 2",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(raw);
    h = openOk(*state);
    HistCounters *c = countersOk(h);
    assert_int_equal(c->count, 3);
    assert_int_equal(find(c, "database", "database", histSucceeded)->count, 1);
    assert_int_equal(find(c, "database", "database", histSucceeded)->bytesAdded, 7);
    assert_int_equal(find(c, "database", "database", histSucceeded)->bytesProcessed, 0); /* not known in version 2 */
    assert_int_equal(find(c, "database", "database", histSucceeded)->durationBuckets[1], 1);
    assert_int_equal(find(c, "database", "database", histFailed)->count, 1);
    assert_int_equal(find(c, "database", "database", histMissed)->count, 1);
    histCountersFree(c);
    /* and counts on from there */
    runOnce(h, "database", "database", T0 + 180, histSucceeded, 3.0, 1);
    c = countersOk(h);
    assert_int_equal(find(c, "database", "database", histSucceeded)->count, 2);
    assert_int_equal(find(c, "database", "database", histSucceeded)->bytesProcessed, 3);
    histCountersFree(c);
    histFree(h);
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    sqlite3_close(raw);
    free(db);
}

/* Size samples: listed since a time, per repository, thinned past 48 h. */
static void test_scans(void **state) {
    Hist *h = openOk(*state);
    LbError err = {0};
    int64_t t = T0 * 1000;
    /* one sample every 10 minutes for 3 days */
    for (int i = 0; i < 3 * 144; i++)
        if (!histRecordScan(h, "main", t + i * 600000LL, 1000 + (uint64_t)i, (uint64_t)i / 10, &err))
            fail_msg("histRecordScan: %s", err.msg);
    assert_true(histRecordScan(h, "offsite", t, 5, 1, &err));
    HistScan *s = NULL;
    size_t n = 0;
    assert_true(histListScans(h, "main", 0, &s, &n, &err));
    /* the last 48 h whole (288 + the newest), the first day thinned to one an hour */
    assert_true(n >= 24 + 288 && n <= 24 + 290);
    for (size_t i = 1; i < n; i++)
        assert_true(s[i].atMs > s[i - 1].atMs);
    assert_int_equal(s[n - 1].sizeBytes, 1000 + 3 * 144 - 1);
    assert_int_equal(s[n - 1].snapshots, (3 * 144 - 1) / 10);
    free(s);
    int64_t last = t + (3 * 144 - 1) * 600000LL;
    assert_true(histListScans(h, "main", last - 3600000, &s, &n, &err));
    assert_int_equal(n, 7);
    free(s);
    assert_true(histListScans(h, "offsite", 0, &s, &n, &err));
    assert_int_equal(n, 1);
    assert_int_equal(s[0].sizeBytes, 5);
    free(s);
    assert_true(histListScans(h, "none", 0, &s, &n, &err));
    assert_int_equal(n, 0);
    assert_null(s);
    histFree(h);
}

/* Rows of the history as another program sees them: a process of its own
 * (python3's sqlite3, not a fork of this one, which would share SQLite's
 * record of this process's locks), that closes its connection at the end,
 * so that it checkpoints and removes the WAL when it believes itself the
 * last connection. (size_t)-1 when python3 cannot run. */
static size_t rowsSeenByAnotherProcess(const char *stateDir) {
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "python3 -c \"import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
             "print(c.execute('SELECT count(*) FROM runs').fetchone()[0]); c.close()\" '%s/history.db' 2>/dev/null",
             stateDir);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return (size_t)-1;
    unsigned long n = 0;
    int got = fscanf(p, "%lu", &n);
    int rc = pclose(p);
    return got == 1 && rc == 0 ? (size_t)n : (size_t)-1;
}

/* A second handle opened and freed in the process of the first (the
 * daemon's metrics) keeps the first's locks: another process closing its
 * handle must not take itself for the last one, checkpoint and remove the
 * WAL the first still writes to (later readers would see a stale
 * snapshot). */
static void test_second_handle_in_process(void **state) {
    Hist *h = openOk(*state);
    runOnce(h, "files", "files", T0, histSucceeded, 1, 1);
    if (rowsSeenByAnotherProcess(*state) == (size_t)-1) {
        histFree(h);
        skip(); /* no python3 */
    }
    assert_int_equal(rowsSeenByAnotherProcess(*state), 1);
    for (int i = 0; i < 3; i++) {
        Hist *second = openOk(*state);
        HistCounters *c = countersOk(second);
        histCountersFree(c);
        LbError err = {0};
        assert_true(histRecordScan(second, "main", T0 * 1000 + i, 1, 1, &err));
        histFree(second);
        runOnce(h, "files", "files", T0 + 60 * (i + 1), histSucceeded, 1, 1);
        assert_int_equal(rowsSeenByAnotherProcess(*state), (size_t)i + 2);
    }
    histFree(h);
}

static void test_bucket_bounds(void **state) {
    (void)state;
    static const double want[] = {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600};
    assert_int_equal(HIST_DURATION_BUCKETS, sizeof(want) / sizeof(want[0]));
    for (int i = 0; i < HIST_DURATION_BUCKETS; i++)
        assert_true(histDurationBuckets[i] == want[i]);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, setupDir, teardownDir)

int main(void) {
    const struct CMUnitTest tests[] = {
        DIR_TEST(test_counts_by_outcome),        DIR_TEST(test_trim_keeps_counts_orphans_count),
        DIR_TEST(test_upgrade_from_v2_seeds),    DIR_TEST(test_scans),
        DIR_TEST(test_second_handle_in_process), cmocka_unit_test(test_bucket_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
