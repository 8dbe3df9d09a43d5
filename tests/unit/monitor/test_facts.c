/*
 * test_facts.c - unit tests for src/monitor/facts.c and scan_file.c: the
 * facts of a configuration file from a temporary history (counters by
 * outcome, a component's runs including the backup jobs listing it, last
 * success and failures in a row, expected intervals from the schedules,
 * types), the scans (newest restorable instant: the snapshot's read time,
 * or the WAL's newest segment for a physical component; the copy's newest),
 * the last drill, the JSON, and the scan files (atomic save, load).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "config/file.h"
#include "monitor/facts.h"
#include "state/history.h"

#define T0 1796292900LL /* 2026-12-03T10:15:00Z */
#define NOW_MS ((T0 + 7200) * 1000)

typedef struct Fixture {
    char *dir, *state;
    CfgFile *cfg;
    Hist *hist;
} Fixture;

static int rmOne(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static const char *const yaml = "name: plat\n"
                                "state: %s\n"
                                "repositories:\n"
                                "  main:\n"
                                "    url: %s/repo\n"
                                "    default: true\n"
                                "    password_file: %s/pw\n"
                                "  dr:\n"
                                "    url: %s/dr\n"
                                "    password_file: %s/pw\n"
                                "components:\n"
                                "  db:\n"
                                "    type: postgres\n"
                                "    connection: host=/tmp dbname=x\n"
                                "    schedule: \"*/15 * * * *\"\n"
                                "    objectives:\n"
                                "      rpo: 15m\n"
                                "      rto: 5m\n"
                                "  base:\n"
                                "    type: postgres-physical\n"
                                "    connection: host=/tmp dbname=postgres\n"
                                "    objectives:\n"
                                "      rpo: 5m\n"
                                "  files:\n"
                                "    type: files\n"
                                "    paths: [/etc]\n"
                                "    schedule: \"0 * * * *\"\n"
                                "jobs:\n"
                                "  nightly:\n"
                                "    type: backup\n"
                                "    components: [base, files]\n"
                                "    schedule: \"0 0 2 * * ?\"\n"
                                "    copy_to: dr\n"
                                "  verify:\n"
                                "    type: check\n"
                                "    schedule: \"0 5 * * 6\"\n";

static int setup(void **state) {
    Fixture *f = calloc(1, sizeof(*f));
    f->dir = strdup("/tmp/lb-test-facts-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    if (asprintf(&f->state, "%s/state", f->dir) < 0)
        return -1;
    char *path = NULL, *pw = NULL;
    if (asprintf(&path, "%s/plat.yaml", f->dir) < 0 || asprintf(&pw, "%s/pw", f->dir) < 0)
        return -1;
    FILE *out = fopen(pw, "w");
    fputs("secret\n", out);
    fclose(out);
    chmod(pw, 0600);
    out = fopen(path, "w");
    fprintf(out, yaml, f->state, f->dir, f->dir, f->dir, f->dir);
    fclose(out);
    char *messages = NULL;
    LbError err = {0};
    f->cfg = cfgFileLoad(path, &messages, &err);
    if (f->cfg == NULL) {
        fprintf(stderr, "%s\n%s\n", err.msg, messages ? messages : "");
        return -1;
    }
    f->hist = histOpen(f->state, &err);
    free(path);
    free(pw);
    *state = f;
    return f->hist ? 0 : -1;
}

static int teardown(void **state) {
    Fixture *f = *state;
    histFree(f->hist);
    cfgFileFree(f->cfg);
    nftw(f->dir, rmOne, 16, FTW_DEPTH | FTW_PHYS);
    free(f->dir);
    free(f->state);
    free(f);
    return 0;
}

static void run(Hist *h, const char *job, const char *component, int64_t slot, HistOutcome o, double seconds,
                int64_t bytes, const char *error) {
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
                 .error = notStarted ? error : NULL};
    LbError err = {0};
    bool claimed = false;
    int64_t id = 0;
    if (!histClaim(h, &r, &claimed, &id, &err) || !claimed)
        fail_msg("histClaim: %s", err.msg);
    if (!notStarted && !histFinish(h, id, o, slot * 1000 + (int64_t)(seconds * 1000), 0, bytes,
                                   bytes > 0 ? bytes * 10 : -1, NULL, error, &err))
        fail_msg("histFinish: %s", err.msg);
}

static void history(Hist *h) {
    run(h, "db", "db", T0, histSucceeded, 3, 100, NULL);
    run(h, "db", "db", T0 + 900, histSucceeded, 4, 200, NULL);
    run(h, "db", "db", T0 + 1800, histFailed, 2, -1, "unable to connect");
    run(h, "db", "db", T0 + 2700, histFailed, 2, -1, "unable to connect again");
    run(h, "nightly", NULL, T0, histSucceeded, 100, 5000, NULL);
    run(h, "files", "files", T0 + 3600, histSkipped, 0, -1, "the previous run still runs");
    run(h, "files", "files", T0 + 60, histSucceeded, 1, 10, NULL);
    HistDrillRow d[] = {
        {.drillId = "drill@1",
         .component = "db",
         .type = "postgres",
         .startedAt = T0 * 1000,
         .endedAt = T0 * 1000 + 60000,
         .rtoSeconds = 40,
         .rpoSeconds = 100,
         .rtoObjective = 300,
         .rpoObjective = 900,
         .passed = true},
        {.drillId = "drill@2",
         .component = "db",
         .type = "postgres",
         .startedAt = T0 * 1000 + 3600000,
         .endedAt = T0 * 1000 + 3700000,
         .rtoSeconds = 400,
         .rpoSeconds = 120,
         .rtoObjective = 300,
         .rpoObjective = 900,
         .passed = false},
    };
    LbError err = {0};
    if (!histRecordDrill(h, d, 2, &err))
        fail_msg("histRecordDrill: %s", err.msg);
}

static MonScanComponent scanComp(const char *name, uint64_t n, int64_t newestNs, int64_t readNs) {
    return (MonScanComponent){.component = (char *)name, .snapshots = n, .newestNs = newestNs, .newestReadNs = readNs};
}

static void test_collect(void **state) {
    Fixture *f = *state;
    history(f->hist);
    MonScanComponent mainComps[3] = {
        scanComp("db", 2, (T0 + 905) * 1000000000LL, (T0 + 901) * 1000000000LL),
        scanComp("base", 1, T0 * 1000000000LL, (T0 + 10) * 1000000000LL),
        scanComp("files", 1, (T0 + 61) * 1000000000LL, (T0 + 60) * 1000000000LL),
    };
    mainComps[1].physical = true;
    mainComps[1].walWindow = true;
    mainComps[1].walNewestNs = (T0 + 7000) * 1000000000LL;
    snprintf(mainComps[1].walLastSegment, sizeof(mainComps[1].walLastSegment), "000000010000000000000007");
    MonScanComponent drComps[1] = {scanComp("base", 1, (T0 - 86400) * 1000000000LL, 0)};
    MonScan scans[2] = {
        {.repository = "main",
         .scannedAtMs = NOW_MS - 1000,
         .ok = true,
         .sizeBytes = 12345,
         .packs = 3,
         .snapshots = 4,
         .components = mainComps,
         .componentCount = 3},
        {.repository = "dr", .scannedAtMs = NOW_MS - 1000, .ok = true, .components = drComps, .componentCount = 1},
    };
    LbError err = {0};
    MonFacts *m = monFactsCollect(f->cfg, f->hist, scans, 2, NOW_MS, &err);
    if (m == NULL)
        fail_msg("monFactsCollect: %s", err.msg);
    assert_string_equal(m->configName, "plat");
    assert_int_equal(m->componentCount, 3);
    assert_int_equal(m->jobCount, 2);
    assert_int_equal(m->repositoryCount, 2);

    const MonComponent *db = monFactsComponent(m, "db");
    assert_non_null(db);
    assert_int_equal(db->type, monTypeLogical);
    assert_string_equal(monTypeName(db->type), "logical");
    assert_int_equal(db->expectedIntervalSeconds, 900);
    assert_int_equal(db->rpoObjective, 900);
    assert_int_equal(db->rtoObjective, 300);
    assert_int_equal(db->runs.byOutcome[histSucceeded], 2);
    assert_int_equal(db->runs.byOutcome[histFailed], 2);
    assert_int_equal(db->runs.bytesAdded, 300);
    assert_int_equal(db->runs.durationCount, 4);
    assert_int_equal(db->runs.durationBuckets[0], 0);
    assert_int_equal(db->runs.durationBuckets[1], 4);
    assert_int_equal(db->runs.lastSuccessMs, (T0 + 900) * 1000 + 4000);
    assert_int_equal(db->runs.lastFailureMs, (T0 + 2700) * 1000 + 2000);
    assert_int_equal(db->runs.lastRunMs, (T0 + 2700) * 1000 + 2000);
    assert_int_equal(db->runs.lastOutcome, histFailed);
    assert_string_equal(db->runs.lastError, "unable to connect again");
    assert_int_equal(db->runs.failuresInRow, 2);
    assert_false(db->runs.running);
    assert_true(db->scanned);
    assert_int_equal(db->snapshots, 2);
    assert_int_equal(db->newestRestorableNs, (T0 + 901) * 1000000000LL);
    assert_false(db->restorableFromWal);
    double rpo = monComponentRpoAchieved(m, db);
    assert_true(rpo > 7200 - 901 - 0.01 && rpo < 7200 - 901 + 0.01);
    assert_true(db->drilled);
    assert_string_equal(db->lastDrillId, "drill@2");
    assert_false(db->lastDrillPassed);
    assert_true(db->lastDrillRtoSeconds == 400);
    assert_null(db->copyRepository);

    /* base: only in the nightly job: its runs and schedule; restorable from the WAL */
    const MonComponent *base = monFactsComponent(m, "base");
    assert_int_equal(base->type, monTypePhysical);
    assert_null(base->schedule);
    assert_int_equal(base->expectedIntervalSeconds, 86400);
    assert_int_equal(base->runs.byOutcome[histSucceeded], 1);
    assert_int_equal(base->runs.bytesAdded, 5000);
    assert_int_equal(base->runs.lastSuccessMs, T0 * 1000 + 100000);
    assert_true(base->restorableFromWal);
    assert_int_equal(base->newestRestorableNs, (T0 + 7000) * 1000000000LL);
    assert_string_equal(base->walLastSegment, "000000010000000000000007");
    rpo = monComponentRpoAchieved(m, base);
    assert_true(rpo > 199.99 && rpo < 200.01);
    assert_string_equal(base->copyRepository, "dr");
    assert_true(base->copyScanned);
    assert_int_equal(base->copyNewestNs, (T0 - 86400) * 1000000000LL);
    assert_false(base->drilled);
    assert_int_equal(base->rtoObjective, -1);

    /* files: its own hourly schedule is shorter than the nightly job's; skipped counts */
    const MonComponent *files = monFactsComponent(m, "files");
    assert_int_equal(files->expectedIntervalSeconds, 3600);
    assert_int_equal(files->runs.byOutcome[histSkipped], 1);
    assert_int_equal(files->runs.byOutcome[histSucceeded], 2); /* its own and nightly's */
    assert_int_equal(files->runs.lastOutcome, histSkipped);

    const MonJob *nightly = monFactsJob(m, "nightly");
    assert_int_equal(nightly->type, monTypeBackup);
    assert_string_equal(nightly->repository, "main");
    assert_int_equal(nightly->expectedIntervalSeconds, 86400);
    assert_int_equal(nightly->runs.byOutcome[histSucceeded], 1);
    const MonJob *verify = monFactsJob(m, "verify");
    assert_int_equal(verify->type, monTypeCheck);
    assert_int_equal(verify->expectedIntervalSeconds, 7 * 86400);
    assert_int_equal(verify->runs.lastRunMs, 0);
    assert_null(monFactsJob(m, "nope"));
    assert_null(monFactsComponent(m, "nope"));

    assert_true(m->repositories[0].isDefault);
    assert_int_equal(m->repositories[0].scan.sizeBytes, 12345);

    json_t *doc = monFactsJson(m);
    char *text = json_dumps(doc, JSON_COMPACT);
    assert_non_null(strstr(text, "\"rpo_achieved_seconds\":200.0"));
    assert_non_null(strstr(text, "\"failures_in_row\":2"));
    assert_null(strstr(text, "secret"));
    json_t *c0 = json_array_get(json_object_get(doc, "components"), 0);
    assert_string_equal(json_string_value(json_object_get(c0, "name")), "db");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(json_object_get(c0, "runs"), "by_outcome"), "failed")), 2);
    free(text);
    json_decref(doc);
    monFactsFree(m);
    monFactsFree(NULL);
}

/* Without scans: nothing restorable, the achieved RPO unknown (-1). */
static void test_unscanned(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    MonScan failed = {.repository = "main", .scannedAtMs = NOW_MS, .ok = false, .error = "unable to open"};
    MonFacts *m = monFactsCollect(f->cfg, f->hist, &failed, 1, NOW_MS, &err);
    assert_non_null(m);
    const MonComponent *db = monFactsComponent(m, "db");
    assert_false(db->scanned);
    assert_true(monComponentRpoAchieved(m, db) < 0);
    assert_int_equal(db->runs.lastRunMs, 0);
    assert_false(m->repositories[0].scan.ok);
    assert_string_equal(m->repositories[0].scan.error, "unable to open");
    assert_int_equal(m->repositories[1].scan.scannedAtMs, 0);
    monFactsFree(m);
}

/* A scan saved and loaded is the same; the file is 0600 and replaced whole. */
static void test_scan_files(void **state) {
    Fixture *f = *state;
    MonScanComponent comps[1] = {scanComp("db", 7, 123456789012345LL, 123456789000000LL)};
    comps[0].physical = true;
    comps[0].walWindow = true;
    comps[0].walFirstNs = 5;
    comps[0].walNewestNs = 6;
    snprintf(comps[0].walLastSegment, sizeof(comps[0].walLastSegment), "00000001000000000000000A");
    MonScan s = {.repository = "main",
                 .scannedAtMs = 1700000000123LL,
                 .ok = true,
                 .sizeBytes = 1ULL << 40,
                 .packs = 9,
                 .snapshots = 7,
                 .oldestLockNs = 42,
                 .newestWalNs = 43,
                 .components = comps,
                 .componentCount = 1};
    snprintf(s.newestWal, sizeof(s.newestWal), "00000001000000000000000B");
    LbError err = {0};
    MonScan back;
    bool found = true;
    assert_true(monScanLoad(f->state, "main", &back, &found, &err));
    assert_false(found);
    if (!monScanSave(f->state, &s, &err))
        fail_msg("monScanSave: %s", err.msg);
    assert_true(monScanLoad(f->state, "main", &back, &found, &err));
    assert_true(found);
    assert_string_equal(back.repository, "main");
    assert_int_equal(back.scannedAtMs, s.scannedAtMs);
    assert_true(back.ok);
    assert_null(back.error);
    assert_int_equal(back.sizeBytes, 1ULL << 40);
    assert_int_equal(back.packs, 9);
    assert_int_equal(back.oldestLockNs, 42);
    assert_string_equal(back.newestWal, "00000001000000000000000B");
    assert_int_equal(back.componentCount, 1);
    const MonScanComponent *c = monScanComponent(&back, "db");
    assert_non_null(c);
    assert_int_equal(c->newestNs, 123456789012345LL);
    assert_int_equal(c->newestReadNs, 123456789000000LL);
    assert_true(c->physical && c->walWindow);
    assert_int_equal(c->walNewestNs, 6);
    assert_string_equal(c->walLastSegment, "00000001000000000000000A");
    assert_null(monScanComponent(&back, "other"));
    monScanClear(&back);

    char *path = NULL;
    assert_true(asprintf(&path, "%s/monitor/scan-main.json", f->state) > 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    /* a failed scan replaces it; no temporary file is left */
    MonScan bad = {.repository = "main", .scannedAtMs = 5, .ok = false, .error = "unable to open repository"};
    assert_true(monScanSave(f->state, &bad, &err));
    assert_true(monScanLoad(f->state, "main", &back, &found, &err));
    assert_false(back.ok);
    assert_string_equal(back.error, "unable to open repository");
    monScanClear(&back);
    char *dir = NULL;
    assert_true(asprintf(&dir, "%s/monitor", f->state) > 0);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "test $(ls %s | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    /* a document of another kind is refused */
    FILE *out = fopen(path, "w");
    fputs("{\"version\": 9}", out);
    fclose(out);
    assert_false(monScanLoad(f->state, "main", &back, &found, &err));
    assert_int_equal(err.code, LB_ERR_FORMAT);
    free(dir);
    free(path);
}

static void test_bucket_bounds_agree(void **state) {
    (void)state;
    for (int i = 0; i < MON_DURATION_BUCKETS; i++)
        assert_true(monDurationBuckets[i] == histDurationBuckets[i]);
    assert_string_equal(monTypeName(monTypeWal), "wal");
    assert_string_equal(monTypeName(monTypeDrill), "drill");
    assert_string_equal(monTypeName(MON_TYPE_COUNT), "unknown");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unscanned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_files, setup, teardown),
        cmocka_unit_test(test_bucket_bounds_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
