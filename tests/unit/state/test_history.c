/*
 * test_history.c - unit tests for src/state/history: the run history in
 * STATE/history.db. Claims of a slot are unique across handles and
 * processes, two processes write at once without losing a row or failing as
 * "busy", trimming keeps the newest rows per outcome, orphaned "running"
 * rows are closed, and the JSON is the documented contract.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    char *dir = strdup("/tmp/lb-test-history-XXXXXX");
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

static char *pathJoin(const char *dir, const char *name) {
    char *p = NULL;
    assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

static Hist *openOk(const char *stateDir) {
    LbError err = {0};
    Hist *h = histOpen(stateDir, &err);
    if (h == NULL)
        fail_msg("histOpen: %s", err.msg);
    return h;
}

static HistRun scheduledRun(const char *runId, const char *job, int64_t scheduledAt, int64_t startedAtMs) {
    HistRun r = {.runId = runId,
                 .job = job,
                 .component = job,
                 .trigger = "schedule",
                 .scheduledAt = scheduledAt,
                 .startedAt = startedAtMs,
                 .outcome = histRunning,
                 .attempt = 1,
                 .exitCode = -1,
                 .bytesAdded = -1,
                 .pid = (int)getpid()};
    return r;
}

static int64_t claimOk(Hist *h, const HistRun *r) {
    LbError err = {0};
    bool claimed = false;
    int64_t id = 0;
    if (!histClaim(h, r, &claimed, &id, &err))
        fail_msg("histClaim: %s", err.msg);
    assert_true(claimed);
    assert_true(id > 0);
    return id;
}

static void finishOk(Hist *h, int64_t id, HistOutcome o, int64_t endedAtMs) {
    LbError err = {0};
    if (!histFinish(h, id, o, endedAtMs, o == histSucceeded ? 0 : 1, o == histSucceeded ? 42 : -1,
                    o == histSucceeded ? 4200 : -1, o == histSucceeded ? "abcd" : NULL,
                    o == histSucceeded ? NULL : "it broke", &err))
        fail_msg("histFinish: %s", err.msg);
}

static HistRows *listOk(Hist *h, const HistQuery *q) {
    LbError err = {0};
    HistRows *rows = NULL;
    if (!histList(h, q, &rows, &err))
        fail_msg("histList: %s", err.msg);
    assert_non_null(rows);
    return rows;
}

static size_t countRows(Hist *h, const char *job) {
    const char *jobs[] = {job};
    HistQuery q = {.jobs = job ? jobs : NULL, .jobCount = job ? 1 : 0};
    HistRows *rows = listOk(h, &q);
    size_t n = rows->count;
    histRowsFree(rows);
    return n;
}

static void test_open_creates_dir_and_modes(void **state) {
    char *stateDir = pathJoin(*state, "a/b/state");
    mode_t old = umask(022);
    Hist *h = openOk(stateDir);
    umask(old);
    struct stat sb;
    assert_int_equal(stat(stateDir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    char *db = pathJoin(stateDir, "history.db");
    assert_int_equal(stat(db, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    histFree(h);
    histFree(NULL);
    free(db);
    free(stateDir);
}

static void test_claim_finish_list_roundtrip(void **state) {
    Hist *h = openOk(*state);
    HistRun r = scheduledRun("database@2026-12-03T10:15:00Z", "database", T0, T0 * 1000 + 120);
    int64_t id = claimOk(h, &r);
    HistRows *rows = listOk(h, NULL);
    assert_int_equal(rows->count, 1);
    assert_int_equal(rows->rows[0].id, id);
    assert_int_equal(rows->rows[0].outcome, histRunning);
    assert_int_equal(rows->rows[0].endedAt, 0);
    histRowsFree(rows);

    LbError err = {0};
    assert_true(histFinish(h, id, histSucceeded, T0 * 1000 + 5120, 0, 1234, 98765, "0123abcd", NULL, &err));
    rows = listOk(h, NULL);
    assert_int_equal(rows->count, 1);
    const HistRun *g = &rows->rows[0];
    assert_string_equal(g->runId, "database@2026-12-03T10:15:00Z");
    assert_string_equal(g->job, "database");
    assert_string_equal(g->component, "database");
    assert_string_equal(g->trigger, "schedule");
    assert_int_equal(g->scheduledAt, T0);
    assert_int_equal(g->startedAt, T0 * 1000 + 120);
    assert_int_equal(g->endedAt, T0 * 1000 + 5120);
    assert_int_equal(g->outcome, histSucceeded);
    assert_int_equal(g->attempt, 1);
    assert_int_equal(g->exitCode, 0);
    assert_int_equal(g->bytesAdded, 1234);
    assert_int_equal(g->bytesProcessed, 98765);
    assert_string_equal(g->snapshotId, "0123abcd");
    assert_null(g->error);
    assert_int_equal(g->pid, getpid());
    histRowsFree(rows);

    /* finishing a row that does not exist is an error, not a silent no-op */
    assert_false(histFinish(h, id + 100, histFailed, T0 * 1000, 1, -1, -1, NULL, "x", &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    histFree(h);
}

static void test_list_filters_order_limit(void **state) {
    Hist *h = openOk(*state);
    /* inserted out of order; a skipped run (never started) sorts by its scheduled time */
    HistRun a = scheduledRun("db@3", "db", T0 + 300, (T0 + 300) * 1000 + 5);
    HistRun b = scheduledRun("db@1", "db", T0 + 100, (T0 + 100) * 1000 + 5);
    HistRun c = scheduledRun("logs@2", "logs", T0 + 200, 0);
    c.outcome = histSkipped;
    HistRun d = scheduledRun("cfg@4", "cfg", T0 + 400, (T0 + 400) * 1000);
    claimOk(h, &a);
    claimOk(h, &b);
    claimOk(h, &c);
    claimOk(h, &d);

    HistRows *rows = listOk(h, NULL);
    assert_int_equal(rows->count, 4);
    assert_string_equal(rows->rows[0].runId, "db@1");
    assert_string_equal(rows->rows[1].runId, "logs@2");
    assert_int_equal(rows->rows[1].outcome, histSkipped);
    assert_string_equal(rows->rows[2].runId, "db@3");
    assert_string_equal(rows->rows[3].runId, "cfg@4");
    histRowsFree(rows);

    const char *jobs[] = {"db", "logs"};
    HistQuery q = {.jobs = jobs, .jobCount = 2};
    rows = listOk(h, &q);
    assert_int_equal(rows->count, 3);
    histRowsFree(rows);

    q.limit = 2; /* keeps the newest two, still oldest first */
    rows = listOk(h, &q);
    assert_int_equal(rows->count, 2);
    assert_string_equal(rows->rows[0].runId, "logs@2");
    assert_string_equal(rows->rows[1].runId, "db@3");
    histRowsFree(rows);

    HistQuery since = {.sinceMs = (T0 + 200) * 1000}; /* the skipped row counts by its scheduled time */
    rows = listOk(h, &since);
    assert_int_equal(rows->count, 3);
    assert_string_equal(rows->rows[0].runId, "logs@2");
    histRowsFree(rows);

    const char *none[] = {"nope"};
    HistQuery q2 = {.jobs = none, .jobCount = 1};
    rows = listOk(h, &q2);
    assert_int_equal(rows->count, 0);
    histRowsFree(rows);
    histFree(h);
}

static void test_second_claim_refused(void **state) {
    Hist *h1 = openOk(*state);
    Hist *h2 = openOk(*state);
    HistRun r = scheduledRun("db@2026-12-03T10:15:00Z", "db", T0, T0 * 1000);
    int64_t id = claimOk(h1, &r);

    LbError err = {0};
    bool claimed = true;
    int64_t other = -7;
    assert_true(histClaim(h1, &r, &claimed, &other, &err));
    assert_false(claimed);
    claimed = true;
    assert_true(histClaim(h2, &r, &claimed, &other, &err));
    assert_false(claimed);
    assert_int_equal(countRows(h2, NULL), 1);

    /* the next attempt of the same slot is a new row */
    r.attempt = 2;
    r.trigger = "retry";
    int64_t id2 = claimOk(h2, &r);
    assert_true(id2 != id);
    assert_int_equal(countRows(h1, NULL), 2);

    /* a missing run id is a usage error, not a refused claim */
    HistRun bad = r;
    bad.runId = NULL;
    assert_false(histClaim(h1, &bad, &claimed, &other, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    histFree(h1);
    histFree(h2);
}

#define CONCURRENT_ROWS 300

/* A child: open its own handle, say so on ready, wait until go closes, then
 * insert and finish CONCURRENT_ROWS rows. */
static int concurrentChild(const char *stateDir, const char *job, int ready, int go) {
    LbError err = {0};
    Hist *h = histOpen(stateDir, &err);
    char c = 1;
    if (h == NULL) {
        fprintf(stderr, "# child %s: %s\n", job, err.msg);
        (void)!write(ready, &c, 1); /* do not leave the parent waiting */
        return 2;
    }
    if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 0) {
        histFree(h);
        return 4;
    }
    for (int i = 0; i < CONCURRENT_ROWS; i++) {
        char runId[64];
        snprintf(runId, sizeof(runId), "%s@%d", job, i);
        HistRun r = scheduledRun(runId, job, T0 + i, (T0 + i) * 1000);
        bool claimed = false;
        int64_t id = 0;
        lbErrorClear(&err);
        if (!histClaim(h, &r, &claimed, &id, &err) || !claimed ||
            !histFinish(h, id, histSucceeded, (T0 + i) * 1000 + 10, 0, i, -1, NULL, NULL, &err)) {
            fprintf(stderr, "# child %s row %d: %s\n", job, i, err.msg[0] ? err.msg : "claim refused");
            histFree(h);
            return 3;
        }
    }
    histFree(h);
    return 0;
}

static void test_two_processes_write_at_once(void **state) {
    const char *dir = *state; /* a new database: the children race to create it too */
    pid_t pids[2];
    const char *jobs[2] = {"alpha", "beta"};
    int ready[2], go[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    for (int i = 0; i < 2; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(ready[0]);
            close(go[1]);
            _exit(concurrentChild(dir, jobs[i], ready[1], go[0]));
        }
    }
    close(ready[1]);
    close(go[0]);
    /* both have opened (or failed): start their writes at the same moment */
    char c[2];
    size_t got = 0;
    ssize_t n;
    while (got < 2 && (n = read(ready[0], c, 2 - got)) > 0)
        got += (size_t)n;
    close(go[1]);
    close(ready[0]);
    for (int i = 0; i < 2; i++) {
        int status = 0;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    Hist *h = openOk(dir);
    HistRows *rows = listOk(h, NULL);
    assert_int_equal(rows->count, 2 * CONCURRENT_ROWS);
    size_t done[2] = {0, 0};
    for (size_t i = 0; i < rows->count; i++) {
        assert_int_equal(rows->rows[i].outcome, histSucceeded);
        done[strcmp(rows->rows[i].job, "beta") == 0]++;
    }
    assert_int_equal(done[0], CONCURRENT_ROWS);
    assert_int_equal(done[1], CONCURRENT_ROWS);
    histRowsFree(rows);
    histFree(h);
}

typedef struct ThreadArg {
    Hist *hist;
    const char *job;
    char msg[LB_ERROR_MSG_MAX + 128];
} ThreadArg;

/* Claim, finish and trim (a transaction) in a loop on a Hist another thread uses too. */
static void *threadWriter(void *p) {
    ThreadArg *a = p;
    LbError err = {0};
    for (int i = 0; i < 100 && a->msg[0] == '\0'; i++) {
        char runId[64];
        snprintf(runId, sizeof(runId), "%s@%d", a->job, i);
        HistRun r = scheduledRun(runId, a->job, T0 + i, (T0 + i) * 1000);
        bool claimed = false;
        int64_t id = 0;
        if (!histClaim(a->hist, &r, &claimed, &id, &err) || !claimed ||
            !histFinish(a->hist, id, histSucceeded, (T0 + i) * 1000 + 1, 0, 0, -1, NULL, NULL, &err) ||
            !histTrim(a->hist, a->job, 1000, 1000, 0, (T0 + i) * 1000, &err))
            snprintf(a->msg, sizeof(a->msg), "%s row %d: %s", a->job, i, claimed ? err.msg : "claim refused");
    }
    return NULL;
}

static void test_threads_share_one_handle(void **state) {
    Hist *h = openOk(*state);
    ThreadArg args[2] = {{.hist = h, .job = "alpha"}, {.hist = h, .job = "beta"}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, threadWriter, &args[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < 2; i++)
        if (args[i].msg[0] != '\0')
            fail_msg("%s", args[i].msg);
    assert_int_equal(countRows(h, "alpha"), 100);
    assert_int_equal(countRows(h, "beta"), 100);
    histFree(h);
}

static void test_last_scheduled(void **state) {
    Hist *h = openOk(*state);
    LbError err = {0};
    bool found = true;
    int64_t at = 0;
    assert_true(histLastScheduled(h, "db", &at, &found, &err));
    assert_false(found);

    HistRun r1 = scheduledRun("db@1", "db", T0, T0 * 1000);
    HistRun r2 = scheduledRun("db@2", "db", T0 + 900, 0);
    r2.trigger = "catch-up";
    r2.outcome = histMissed;
    HistRun r3 = scheduledRun("db@manual", "db", 0, (T0 + 5000) * 1000); /* manual: does not count */
    r3.trigger = "manual";
    HistRun r4 = scheduledRun("logs@9", "logs", T0 + 9000, (T0 + 9000) * 1000); /* another job */
    claimOk(h, &r1);
    claimOk(h, &r2);
    claimOk(h, &r3);
    claimOk(h, &r4);
    assert_true(histLastScheduled(h, "db", &at, &found, &err));
    assert_true(found);
    assert_int_equal(at, T0 + 900);

    HistRun r5 = scheduledRun("db@1", "db", T0 + 1800, T0 * 1000);
    r5.attempt = 2;
    r5.trigger = "retry";
    claimOk(h, &r5);
    assert_true(histLastScheduled(h, "db", &at, &found, &err));
    assert_int_equal(at, T0 + 1800);
    histFree(h);
}

static void test_trim(void **state) {
    Hist *h = openOk(*state);
    /* job db: 5 succeeded, 4 failed/timed-out/missed, 1 running (oldest); job logs untouched */
    HistRun run = scheduledRun("db@0", "db", T0, T0 * 1000);
    int64_t runningId = claimOk(h, &run);
    for (int i = 1; i <= 9; i++) {
        char runId[32];
        snprintf(runId, sizeof(runId), "db@%d", i);
        HistRun r = scheduledRun(runId, "db", T0 + i * 60, (T0 + i * 60) * 1000);
        int64_t id = claimOk(h, &r);
        HistOutcome o = i % 2 ? histSucceeded : (i == 4 ? histTimedOut : histFailed);
        finishOk(h, id, o, (T0 + i * 60) * 1000 + 30000);
    }
    HistRun other = scheduledRun("logs@1", "logs", T0, T0 * 1000);
    finishOk(h, claimOk(h, &other), histFailed, T0 * 1000 + 1);

    LbError err = {0};
    /* no limit, no age: nothing goes */
    assert_true(histTrim(h, "db", -1, -1, 0, (T0 + 10000) * 1000, &err));
    assert_int_equal(countRows(h, "db"), 10);

    assert_true(histTrim(h, "db", 3, 1, 0, (T0 + 10000) * 1000, &err));
    HistRows *rows = listOk(h, NULL);
    /* kept: running db@0, succeeded db@5, db@7, db@9, failed db@8, logs@1 */
    assert_int_equal(rows->count, 6);
    const char *want[] = {"db@0", "logs@1", "db@5", "db@7", "db@8", "db@9"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(rows->rows[i].runId, want[i]);
    assert_int_equal(rows->rows[0].id, runningId);
    histRowsFree(rows);

    /* age: ended more than 200 s before now goes (db@5 ended T0+330, db@7 T0+450,
     * db@8 T0+510, db@9 T0+570); now = T0+700: db@5 and db@7 go */
    assert_true(histTrim(h, "db", -1, -1, 200, (T0 + 700) * 1000, &err));
    rows = listOk(h, NULL);
    assert_int_equal(rows->count, 4);
    assert_string_equal(rows->rows[0].runId, "db@0");
    assert_string_equal(rows->rows[2].runId, "db@8");
    assert_string_equal(rows->rows[3].runId, "db@9");
    histRowsFree(rows);

    /* limits of 0 drop every ended row but never a running one */
    assert_true(histTrim(h, "db", 0, 0, 1, (T0 + 100000) * 1000, &err));
    assert_int_equal(countRows(h, "db"), 1);
    assert_int_equal(countRows(h, "logs"), 1);
    histFree(h);
}

static void test_close_orphans(void **state) {
    Hist *h = openOk(*state);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child); /* reaped: the pid is gone */

    HistRun dead = scheduledRun("db@dead", "db", T0, T0 * 1000);
    dead.pid = (int)child;
    HistRun none = scheduledRun("db@nopid", "db", T0 + 1, T0 * 1000 + 1);
    none.pid = 0;
    HistRun live = scheduledRun("db@live", "db", T0 + 2, T0 * 1000 + 2);
    HistRun reused = scheduledRun("db@reused", "db", T0 + 3, T0 * 1000 + 3);
    HistRun ended = scheduledRun("db@ended", "db", T0 + 4, T0 * 1000 + 4);
    ended.pid = (int)child;
    int64_t deadId = claimOk(h, &dead);
    claimOk(h, &none);
    int64_t liveId = claimOk(h, &live);
    int64_t reusedId = claimOk(h, &reused);
    finishOk(h, claimOk(h, &ended), histSucceeded, T0 * 1000 + 9);

    /* a live pid whose recorded identity is another process's (a pid reused
     * after a reboot): written behind the module's back */
    char *db = pathJoin(*state, "history.db");
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(raw, "UPDATE runs SET pid_start = 'other-boot:1' WHERE id = ?1", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, reusedId);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(raw);
    free(db);

    LbError err = {0};
    size_t closed = 99;
    assert_true(histCloseOrphans(h, T0 * 1000 + 60000, &closed, &err));
    bool haveIdentity = access("/proc/self/stat", R_OK) == 0;
    assert_int_equal(closed, haveIdentity ? 3 : 2);
    HistRows *rows = listOk(h, NULL);
    assert_int_equal(rows->count, 5);
    for (size_t i = 0; i < rows->count; i++) {
        const HistRun *r = &rows->rows[i];
        if (r->id == liveId || (r->id == reusedId && !haveIdentity)) {
            assert_int_equal(r->outcome, histRunning);
            assert_int_equal(r->endedAt, 0);
            assert_null(r->error);
        } else if (strcmp(r->runId, "db@ended") == 0) {
            assert_int_equal(r->outcome, histSucceeded);
            assert_null(r->error);
        } else {
            assert_int_equal(r->outcome, histFailed);
            assert_int_equal(r->endedAt, T0 * 1000 + 60000);
            assert_string_equal(r->error, "interrupted: the process running it ended without recording an outcome");
        }
    }
    assert_int_equal(rows->rows[0].id, deadId);
    histRowsFree(rows);

    /* nothing left to close */
    assert_true(histCloseOrphans(h, T0 * 1000 + 70000, &closed, &err));
    assert_int_equal(closed, 0);
    histFree(h);
}

static void assertKeyNull(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (v == NULL || !json_is_null(v))
        fail_msg("key %s: want null", key);
}

static void test_json_shape(void **state) {
    Hist *h = openOk(*state);
    HistRun r = scheduledRun("database@2026-12-03T10:15:00Z", "database", T0, T0 * 1000 + 500);
    int64_t id = claimOk(h, &r);
    LbError err = {0};
    assert_true(histFinish(h, id, histTimedOut, T0 * 1000 + 90750, 124, 2048, -1, NULL, "timed out after 90 s", &err));
    HistRun m = scheduledRun("job@manual-2026-12-03T10:20:00.000Z", "job", 0, (T0 + 300) * 1000);
    m.trigger = "manual";
    m.component = NULL;
    claimOk(h, &m);
    HistRows *rows = listOk(h, NULL);
    json_t *doc = histRowsJson(rows);
    histRowsFree(rows);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    json_error_t jerr;
    json_t *a = json_loads(text, 0, &jerr);
    free(text);
    assert_non_null(a);
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), 2);

    const char *keys[] = {"id",
                          "run_id",
                          "job",
                          "component",
                          "trigger",
                          "scheduled_at",
                          "started_at",
                          "ended_at",
                          "outcome",
                          "attempt",
                          "exit_code",
                          "bytes_added",
                          "snapshot_id",
                          "error",
                          "duration_seconds",
                          "bytes_processed"};
    json_t *o = json_array_get(a, 0);
    assert_int_equal(json_object_size(o), sizeof(keys) / sizeof(keys[0]));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_get(o, keys[i]) == NULL)
            fail_msg("missing key %s", keys[i]);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), id);
    assert_string_equal(json_string_value(json_object_get(o, "run_id")), "database@2026-12-03T10:15:00Z");
    assert_string_equal(json_string_value(json_object_get(o, "component")), "database");
    assert_string_equal(json_string_value(json_object_get(o, "trigger")), "schedule");
    assert_string_equal(json_string_value(json_object_get(o, "scheduled_at")), "2026-12-03T10:15:00.000000000Z");
    assert_string_equal(json_string_value(json_object_get(o, "started_at")), "2026-12-03T10:15:00.500000000Z");
    assert_string_equal(json_string_value(json_object_get(o, "ended_at")), "2026-12-03T10:16:30.750000000Z");
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "timed-out");
    assert_int_equal(json_integer_value(json_object_get(o, "attempt")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "exit_code")), 124);
    assert_int_equal(json_integer_value(json_object_get(o, "bytes_added")), 2048);
    assertKeyNull(o, "snapshot_id");
    assert_string_equal(json_string_value(json_object_get(o, "error")), "timed out after 90 s");
    assert_true(json_is_real(json_object_get(o, "duration_seconds")));
    assert_float_equal(json_real_value(json_object_get(o, "duration_seconds")), 90.25, 1e-9);

    json_t *p = json_array_get(a, 1); /* manual, still running */
    assert_int_equal(json_object_size(p), sizeof(keys) / sizeof(keys[0]));
    assert_string_equal(json_string_value(json_object_get(p, "outcome")), "running");
    assert_string_equal(json_string_value(json_object_get(p, "trigger")), "manual");
    const char *nulls[] = {"component",   "scheduled_at", "ended_at", "exit_code",
                           "bytes_added", "snapshot_id",  "error",    "duration_seconds"};
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        assertKeyNull(p, nulls[i]);
    json_decref(a);

    HistRows empty = {0};
    json_t *e = histRowsJson(&empty);
    assert_true(json_is_array(e));
    assert_int_equal(json_array_size(e), 0);
    json_decref(e);
    histFree(h);
}

static void test_outcome_names(void **state) {
    (void)state;
    const char *want[] = {"running", "succeeded", "failed", "skipped", "missed", "timed-out", "cancelled"};
    assert_int_equal(HIST_OUTCOME_COUNT, 7);
    for (int i = 0; i < HIST_OUTCOME_COUNT; i++)
        assert_string_equal(histOutcomeName((HistOutcome)i), want[i]);
}

static void test_reopen_existing(void **state) {
    Hist *h = openOk(*state);
    HistRun r = scheduledRun("db@1", "db", T0, T0 * 1000);
    int64_t id = claimOk(h, &r);
    finishOk(h, id, histFailed, T0 * 1000 + 5);
    histFree(h);

    h = openOk(*state);
    HistRows *rows = listOk(h, NULL);
    assert_int_equal(rows->count, 1);
    assert_int_equal(rows->rows[0].id, id);
    assert_int_equal(rows->rows[0].outcome, histFailed);
    assert_string_equal(rows->rows[0].error, "it broke");
    histRowsFree(rows);
    /* the slot is still taken after the reopen */
    LbError err = {0};
    bool claimed = true;
    int64_t other = 0;
    assert_true(histClaim(h, &r, &claimed, &other, &err));
    assert_false(claimed);
    histFree(h);
}

static void test_unwritable_state_dir(void **state) {
    /* a regular file where a directory of the path should be: fails for root too */
    char *file = pathJoin(*state, "file");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    char *stateDir = pathJoin(file, "state");
    LbError err = {0};
    Hist *h = histOpen(stateDir, &err);
    assert_null(h);
    assert_int_equal(err.code, LB_ERR_IO);
    assert_non_null(strstr(err.msg, "unable to open history database '"));
    assert_non_null(strstr(err.msg, stateDir));

    /* a directory without write permission (not for root, who may write anyway) */
    if (geteuid() != 0) {
        char *ro = pathJoin(*state, "ro");
        assert_int_equal(mkdir(ro, 0500), 0);
        lbErrorClear(&err);
        assert_null(histOpen(ro, &err));
        assert_int_equal(err.code, LB_ERR_IO);
        assert_non_null(strstr(err.msg, ro));
        chmod(ro, 0700);
        free(ro);
    }

    /* a file that is not an SQLite database */
    char *junkDir = pathJoin(*state, "junk");
    assert_int_equal(mkdir(junkDir, 0700), 0);
    char *junk = pathJoin(junkDir, "history.db");
    f = fopen(junk, "w");
    assert_non_null(f);
    for (int i = 0; i < 512; i++)
        fputs("not a database ", f);
    fclose(f);
    lbErrorClear(&err);
    assert_null(histOpen(junkDir, &err));
    assert_int_equal(err.code, LB_ERR_IO);
    assert_non_null(strstr(err.msg, junk));
    free(junk);
    free(junkDir);
    free(stateDir);
    free(file);
}

static void test_newer_schema_refused(void **state) {
    histFree(openOk(*state));
    char *db = pathJoin(*state, "history.db");
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    LbError err = {0};
    assert_null(histOpen(*state, &err));
    assert_int_equal(err.code, LB_ERR_FORMAT);
    assert_non_null(strstr(err.msg, db));
    assert_non_null(strstr(err.msg, "schema version 99 is newer"));

    /* another program's SQLite database */
    char *otherDir = pathJoin(*state, "other");
    assert_int_equal(mkdir(otherDir, 0700), 0);
    char *otherDb = pathJoin(otherDir, "history.db");
    assert_int_equal(sqlite3_open(otherDb, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "CREATE TABLE t (x); PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    lbErrorClear(&err);
    assert_null(histOpen(otherDir, &err));
    assert_int_equal(err.code, LB_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "another program"));
    free(otherDb);
    free(otherDir);
    free(db);
}

/* Drills: rows per component, recorded again replaces them, listed with
 * their figures; a version 1 database (before drills) gets the table. */
static void test_drills(void **state) {
    char *db = pathJoin(*state, "history.db");
    sqlite3 *raw = NULL;
    /* a version 1 database: only the runs table */
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw,
                                  "CREATE TABLE runs (id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, job TEXT NOT "
                                  "NULL, component TEXT, trigger TEXT NOT NULL, scheduled_at INTEGER NOT NULL DEFAULT "
                                  "0, started_at INTEGER NOT NULL DEFAULT 0, ended_at INTEGER NOT NULL DEFAULT 0, "
                                  "outcome TEXT NOT NULL, attempt INTEGER NOT NULL, exit_code INTEGER NOT NULL "
                                  "DEFAULT -1, bytes_added INTEGER NOT NULL DEFAULT -1, snapshot_id TEXT, error TEXT, "
                                  "pid INTEGER NOT NULL DEFAULT 0, pid_start TEXT, UNIQUE (run_id, attempt));"
                                  "PRAGMA application_id = 1279412308; PRAGMA user_version = 1",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
    Hist *h = openOk(*state);
    LbError err = {0};
    HistDrillRow rows[2] = {
        {.drillId = "drill-1",
         .component = "database",
         .type = "postgres",
         .snapshotId = "ab",
         .startedAt = 1000,
         .endedAt = 5000,
         .recoveredAsOf = 900,
         .bytes = 42,
         .restoreSeconds = 2.5,
         .verifySeconds = 0.5,
         .rtoSeconds = 3.0,
         .rpoSeconds = 60,
         .rtoObjective = 300,
         .rpoObjective = 0,
         .passed = false,
         .missed = "rpo",
         .error = "objective rpo missed"},
        {.drillId = "drill-1",
         .component = "uploads",
         .type = "bucket",
         .startedAt = 1000,
         .endedAt = 5000,
         .rtoObjective = -1,
         .rpoObjective = -1,
         .passed = true},
    };
    assert_true(histRecordDrill(h, rows, 2, &err));
    rows[1].bytes = 7;
    assert_true(histRecordDrill(h, rows, 2, &err)); /* replaces */
    json_t *list = NULL;
    assert_true(histListDrills(h, 0, &list, &err));
    assert_int_equal(json_array_size(list), 2);
    json_t *d = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(d, "component")), "database");
    assert_true(json_is_false(json_object_get(d, "passed")));
    assert_string_equal(json_string_value(json_object_get(d, "missed")), "rpo");
    assert_true(json_real_value(json_object_get(d, "rto_seconds")) == 3.0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "bytes")), 7);
    json_decref(list);
    assert_true(histListDrills(h, 2000, &list, &err));
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    histFree(h);
    free(db);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, setupDir, teardownDir)

int main(void) {
    const struct CMUnitTest tests[] = {
        DIR_TEST(test_open_creates_dir_and_modes),
        DIR_TEST(test_claim_finish_list_roundtrip),
        DIR_TEST(test_list_filters_order_limit),
        DIR_TEST(test_second_claim_refused),
        DIR_TEST(test_two_processes_write_at_once),
        DIR_TEST(test_threads_share_one_handle),
        DIR_TEST(test_last_scheduled),
        DIR_TEST(test_trim),
        DIR_TEST(test_close_orphans),
        DIR_TEST(test_json_shape),
        cmocka_unit_test(test_outcome_names),
        DIR_TEST(test_reopen_existing),
        DIR_TEST(test_unwritable_state_dir),
        DIR_TEST(test_newer_schema_refused),
        DIR_TEST(test_drills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
