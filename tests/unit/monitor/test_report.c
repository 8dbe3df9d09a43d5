/*
 * test_report.c - unit tests for src/monitor/report: the daily report's
 * health and recommendations built from hand-made facts, history rows,
 * archiver statistics and size samples (monReportBuild is pure), one
 * condition at a time against a healthy baseline: nothing wrong, a stale
 * backup (warning and critical), a failing job, archive_command failing and
 * recovered, no drill (never, too old), a drill RTO over and near its
 * objective, retention not applied (late, no job at all), a copy behind, an
 * RPO objective tighter than the schedule, a lock held for hours, a
 * repository that cannot be opened, growth out of line; the period's run
 * counts and the RPO chart; and every format rendered (the HTML's hooks and
 * self-containedness, escaping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "monitor/report.h"

#define NOW_MS 1796292900000LL /* 2026-12-03T10:15:00Z */
#define MIN (60LL * 1000)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define NS(ms) ((ms)*1000000LL)

static const char baseYaml[] = "name: test\n"
                               "state: /nonexistent/state\n"
                               "repositories:\n"
                               "  main:\n"
                               "    url: /nonexistent/main\n"
                               "    default: true\n"
                               "    password_command: echo secret\n"
                               "  dr:\n"
                               "    url: /nonexistent/dr\n"
                               "    password_command: echo secret\n"
                               "components:\n"
                               "  database:\n"
                               "    type: postgres-physical\n"
                               "    connection: host=/tmp dbname=postgres\n"
                               "    retention:\n"
                               "      keep_within: 35d\n"
                               "    objectives:\n"
                               "      rpo: 5m\n"
                               "      rto: 10m\n"
                               "  uploads:\n"
                               "    type: files\n"
                               "    paths: [/nonexistent/uploads]\n"
                               "    schedule: \"0 * * * *\"\n"
                               "    retention:\n"
                               "      keep_within: 90d\n"
                               "    objectives:\n"
                               "      rpo: 2h\n"
                               "      rto: 10m\n"
                               "  config:\n"
                               "    type: files\n"
                               "    paths: [/nonexistent/config]\n"
                               "    schedule: \"0 * * * *\"\n"
                               "jobs:\n"
                               "  daily:\n"
                               "    type: backup\n"
                               "    components: [database]\n"
                               "    schedule: \"0 2 * * *\"\n"
                               "    copy_to: dr\n"
                               "  %s:\n"
                               "    type: prune\n"
                               "    schedule: \"30 4 * * *\"\n"
                               "  drill:\n"
                               "    type: drill\n"
                               "    components: [database, uploads]\n"
                               "    schedule: \"0 3 * * 0\"\n";

typedef struct Fixture {
    CfgFile *cfg;
    MonFacts facts;
    MonComponent comps[3]; /* database, uploads, config */
    MonJob jobs[3];        /* daily, retention, drill */
    MonRepository repos[2];
    HistRun rows[16];
    HistRows period;
    ArchcheckReport arch;
    MonReportArchiver archiver;
    MonSizeSample sizes[4];
    MonReportInputs in;
    MonReport *report;
} Fixture;

static Fixture fx;

static CfgFile *loadYaml(const char *pruneJobName) {
    char path[] = "/tmp/lifeboat-report-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, baseYaml, pruneJobName);
    fclose(f);
    char *messages = NULL;
    LbError err = {0};
    CfgFile *cfg = cfgFileLoad(path, &messages, &err);
    if (cfg == NULL)
        fprintf(stderr, "%s\n%s\n", err.msg, messages ? messages : "");
    free(messages);
    unlink(path);
    assert_non_null(cfg);
    return cfg;
}

static MonRuns goodRuns(int64_t lastSuccessMs) {
    return (MonRuns){.lastRunMs = lastSuccessMs, .lastOutcome = histSucceeded, .lastSuccessMs = lastSuccessMs};
}

/* every component within its objectives, every job on time */
static int setup(void **state) {
    (void)state;
    monReportFree(fx.report);
    cfgFileFree(fx.cfg);
    memset(&fx, 0, sizeof(fx));
    fx.cfg = loadYaml("retention");
    MonComponent *db = &fx.comps[0], *up = &fx.comps[1], *conf = &fx.comps[2];
    *db = (MonComponent){.name = "database",
                         .type = monTypePhysical,
                         .repository = "main",
                         .expectedIntervalSeconds = 86400,
                         .rpoObjective = 300,
                         .rtoObjective = 600,
                         .runs = goodRuns(NOW_MS - 8 * HOUR),
                         .scanned = true,
                         .snapshots = 30,
                         .newestSnapshotNs = NS(NOW_MS - 8 * HOUR - 10 * MIN),
                         .newestRestorableNs = NS(NOW_MS - MIN),
                         .restorableFromWal = true,
                         .walNewestNs = NS(NOW_MS - MIN),
                         .copyRepository = "dr",
                         .copyScanned = true,
                         .copyNewestNs = NS(NOW_MS - 8 * HOUR - 10 * MIN),
                         .drilled = true,
                         .lastDrillMs = NOW_MS - 3 * DAY,
                         .lastDrillPassed = true,
                         .lastDrillRtoSeconds = 120};
    strcpy(db->walLastSegment, "0000000100000000000000A7");
    *up = (MonComponent){.name = "uploads",
                         .type = monTypeFiles,
                         .repository = "main",
                         .expectedIntervalSeconds = 3600,
                         .rpoObjective = 7200,
                         .rtoObjective = 600,
                         .runs = goodRuns(NOW_MS - 15 * MIN),
                         .scanned = true,
                         .snapshots = 700,
                         .newestSnapshotNs = NS(NOW_MS - 16 * MIN),
                         .newestRestorableNs = NS(NOW_MS - 16 * MIN),
                         .drilled = true,
                         .lastDrillMs = NOW_MS - 3 * DAY,
                         .lastDrillPassed = true,
                         .lastDrillRtoSeconds = 60};
    *conf = (MonComponent){.name = "config",
                           .type = monTypeFiles,
                           .repository = "main",
                           .expectedIntervalSeconds = 3600,
                           .rpoObjective = -1,
                           .rtoObjective = -1,
                           .runs = goodRuns(NOW_MS - 15 * MIN),
                           .scanned = true,
                           .snapshots = 700,
                           .newestSnapshotNs = NS(NOW_MS - 16 * MIN),
                           .newestRestorableNs = NS(NOW_MS - 16 * MIN)};
    for (int i = 0; i < 3; i++)
        fx.comps[i].ownRuns = fx.comps[i].runs;
    fx.jobs[0] = (MonJob){.name = "daily",
                          .type = monTypeBackup,
                          .expectedIntervalSeconds = 86400,
                          .repository = "main",
                          .runs = goodRuns(NOW_MS - 8 * HOUR)};
    fx.jobs[1] = (MonJob){.name = "retention",
                          .type = monTypePrune,
                          .expectedIntervalSeconds = 86400,
                          .repository = "main",
                          .runs = goodRuns(NOW_MS - 6 * HOUR)};
    fx.jobs[2] = (MonJob){.name = "drill",
                          .type = monTypeDrill,
                          .expectedIntervalSeconds = 7 * 86400,
                          .runs = goodRuns(NOW_MS - 3 * DAY)};
    fx.repos[0] = (MonRepository){.name = "main",
                                  .isDefault = true,
                                  .scan = {.repository = "main",
                                           .scannedAtMs = NOW_MS - MIN,
                                           .ok = true,
                                           .sizeBytes = 10ULL << 30,
                                           .snapshots = 1430}};
    fx.repos[1] = (MonRepository){
        .name = "dr",
        .scan = {
            .repository = "dr", .scannedAtMs = NOW_MS - MIN, .ok = true, .sizeBytes = 1ULL << 30, .snapshots = 30}};
    fx.facts = (MonFacts){.nowMs = NOW_MS,
                          .configName = "test",
                          .host = "backup-1",
                          .components = fx.comps,
                          .componentCount = 3,
                          .jobs = fx.jobs,
                          .jobCount = 3,
                          .repositories = fx.repos,
                          .repositoryCount = 2};
    fx.period = (HistRows){.rows = fx.rows, .count = 0};
    fx.in = (MonReportInputs){.cfg = fx.cfg, .periodRows = &fx.period, .chartRows = &fx.period};
    return 0;
}

static int teardown(void **state) {
    (void)state;
    monReportFree(fx.report);
    cfgFileFree(fx.cfg);
    fx.report = NULL;
    fx.cfg = NULL;
    return 0;
}

static MonReport *build(void) {
    monReportFree(fx.report);
    fx.report = monReportBuild(&fx.facts, &fx.in, NOW_MS - DAY);
    assert_non_null(fx.report);
    for (size_t i = 0; i < fx.report->recCount; i++)
        printf("# %s %s: %s\n", monHealthName(fx.report->recs[i].severity), monRecKindName(fx.report->recs[i].kind),
               fx.report->recs[i].text);
    return fx.report;
}

static const MonReportComponent *comp(const MonReport *r, const char *name) {
    for (size_t i = 0; i < r->componentCount; i++)
        if (strcmp(r->components[i].name, name) == 0)
            return &r->components[i];
    fail_msg("no component %s", name);
    return NULL;
}

/* exactly one recommendation, of this kind and severity and text */
static void assertOnly(const MonReport *r, MonRecKind kind, MonHealth severity, const char *text) {
    assert_int_equal(r->recCount, 1);
    assert_string_equal(monRecKindName(r->recs[0].kind), monRecKindName(kind));
    assert_int_equal(r->recs[0].severity, severity);
    assert_string_equal(r->recs[0].text, text);
    assert_int_equal(r->health, severity);
}

static void test_nothing_wrong(void **state) {
    (void)state;
    MonReport *r = build();
    assert_int_equal(r->recCount, 0);
    assert_int_equal(r->health, monHealthOk);
    for (size_t i = 0; i < r->componentCount; i++)
        assert_int_equal(r->components[i].health, monHealthOk);
    assert_true(comp(r, "database")->rpoAchieved > 59.9 && comp(r, "database")->rpoAchieved < 60.1);
    assert_true(comp(r, "uploads")->rpoAchieved > 959.9 && comp(r, "uploads")->rpoAchieved < 960.1);
}

static void test_stale_backup(void **state) {
    (void)state;
    /* uploads: 26 h since the last success, over its 2 h RPO: critical */
    MonComponent *up = &fx.comps[1];
    up->runs.lastSuccessMs = up->runs.lastRunMs = NOW_MS - 26 * HOUR;
    up->newestSnapshotNs = up->newestRestorableNs = NS(NOW_MS - 26 * HOUR);
    MonReport *r = build();
    assertOnly(r, monRecStale, monHealthCritical,
               "uploads: last successful backup 26 h ago, its schedule expects one every 1 h (achieved RPO 26 h, "
               "objective 2 h): check the job's errors (lifeboat history --job uploads)");
    assert_int_equal(comp(r, "uploads")->health, monHealthCritical);
    assert_int_equal(comp(r, "config")->health, monHealthOk);
    /* config: 3 h, no objective: 2 to 4 intervals is a warning */
    setup(NULL);
    MonComponent *conf = &fx.comps[2];
    conf->runs.lastSuccessMs = conf->runs.lastRunMs = NOW_MS - 3 * HOUR;
    conf->newestSnapshotNs = conf->newestRestorableNs = NS(NOW_MS - 3 * HOUR);
    assertOnly(build(), monRecStale, monHealthWarning,
               "config: last successful backup 3 h ago, its schedule expects one every 1 h: check the job's errors "
               "(lifeboat history --job config)");
    /* nothing at all */
    setup(NULL);
    conf = &fx.comps[2];
    conf->runs = (MonRuns){0};
    conf->snapshots = 0;
    conf->newestSnapshotNs = conf->newestRestorableNs = 0;
    assertOnly(build(), monRecNeverBackedUp, monHealthCritical,
               "config: no successful backup on record, its schedule expects one every 1 h: run it (lifeboat run "
               "config) and check its errors (lifeboat history --job config)");
    assert_true(comp(fx.report, "config")->rpoAchieved < 0);
}

static void test_failing_job(void **state) {
    (void)state;
    MonComponent *conf = &fx.comps[2];
    conf->runs.failuresInRow = 3;
    conf->runs.lastOutcome = histFailed;
    conf->runs.lastRunMs = conf->runs.lastFailureMs = NOW_MS - 10 * MIN;
    conf->runs.lastSuccessMs = NOW_MS - 75 * MIN;
    conf->runs.lastError = "unable to read '/nonexistent/config/app.yml': Permission denied";
    conf->ownRuns = conf->runs; /* its own runs (config is listed by no backup job) */
    MonReport *r = build();
    assertOnly(r, monRecFailing, monHealthCritical,
               "config: the last 3 runs failed, the newest 10 min ago: unable to read "
               "'/nonexistent/config/app.yml': Permission denied: fix the cause, then lifeboat run config (lifeboat "
               "history --job config)");
    assert_int_equal(comp(r, "config")->health, monHealthCritical);
    assert_int_equal(comp(r, "uploads")->health, monHealthOk);
    /* one failure of the daily backup job: a warning, on its component */
    setup(NULL);
    fx.jobs[0].runs.failuresInRow = 1;
    fx.jobs[0].runs.lastOutcome = histTimedOut;
    fx.jobs[0].runs.lastFailureMs = NOW_MS - 2 * HOUR;
    fx.jobs[0].runs.lastError = "timed out after 6 h";
    r = build();
    assertOnly(r, monRecFailing, monHealthWarning,
               "daily: the last run failed 2 h ago: timed out after 6 h: fix the cause, then lifeboat run daily "
               "(lifeboat history --job daily)");
    assert_int_equal(comp(r, "database")->health, monHealthWarning);
    assert_int_equal(comp(r, "uploads")->health, monHealthOk);
}

static void setArchiver(uint64_t failed, int64_t lastFailedMs, int64_t lastArchivedMs) {
    fx.arch = (ArchcheckReport){.failedCount = failed,
                                .lastFailedNs = NS(lastFailedMs),
                                .lastArchivedNs = NS(lastArchivedMs),
                                .lastFailedWal = "0000000100000000000000A8"};
    fx.archiver = (MonReportArchiver){.component = "database", .report = &fx.arch};
    fx.in.archivers = &fx.archiver;
    fx.in.archiverCount = 1;
}

static void test_archive_failures(void **state) {
    (void)state;
    setArchiver(12, NOW_MS - 5 * MIN, NOW_MS - 3 * HOUR);
    MonReport *r = build();
    assertOnly(r, monRecArchiveFailing, monHealthCritical,
               "database: archive_command is failing: 12 failures in pg_stat_archiver, the last 5 min ago (segment "
               "0000000100000000000000A8), the last segment archived 3 h ago: WAL piles up in pg_wal until it "
               "succeeds: read the server log and run lifeboat pg-check");
    assert_true(comp(r, "database")->archiverKnown);
    assert_int_equal(comp(r, "database")->archiveFailed, 12);
    /* recovered within the period: a warning */
    setArchiver(2, NOW_MS - 3 * HOUR, NOW_MS - MIN);
    assertOnly(build(), monRecArchiveFailed, monHealthWarning,
               "database: archive_command failed in the period (2 failures in pg_stat_archiver, the last 3 h ago, "
               "segment 0000000100000000000000A8) and has archived since (the last segment archived 1 min ago): read "
               "the server log "
               "for the cause");
    /* failures before the period and recovered: nothing */
    setArchiver(2, NOW_MS - 3 * DAY, NOW_MS - MIN);
    assert_int_equal(build()->recCount, 0);
}

static void test_no_drill(void **state) {
    (void)state;
    fx.comps[1].drilled = false;
    assertOnly(build(), monRecNoDrill, monHealthWarning,
               "uploads: never drilled, its drill job drill expects a drill every 7 d: run one (lifeboat run drill)");
    setup(NULL);
    fx.comps[0].lastDrillMs = NOW_MS - 12 * DAY;
    assertOnly(build(), monRecNoDrill, monHealthWarning,
               "database: last drill 12 d ago, its drill job drill expects one every 7 d: check its runs (lifeboat "
               "history --job drill)");
    /* 10 days: within 1.5 intervals */
    setup(NULL);
    fx.comps[0].lastDrillMs = NOW_MS - 10 * DAY;
    assert_int_equal(build()->recCount, 0);
    /* an RTO objective and no drill job covering it */
    setup(NULL);
    fx.comps[2].rtoObjective = 900;
    assertOnly(build(), monRecNoDrill, monHealthWarning,
               "config: an RTO objective of 15 min but never drilled and no drill job covers it: add it to a drill "
               "job (lifeboat drill config proves the objective)");
}

static void test_drill_rto(void **state) {
    (void)state;
    fx.comps[0].lastDrillRtoSeconds = 700;
    MonReport *r = build();
    assertOnly(r, monRecDrillRto, monHealthCritical,
               "database: the last drill (2026-11-30 10:15 UTC) recovered it in 11 min, over its RTO objective of "
               "10 min (117%): make the restore faster (a nearer repository, a newer base backup, fewer WAL segments "
               "to replay) or revisit the objective");
    fx.comps[0].lastDrillRtoSeconds = 540;
    assertOnly(build(), monRecDrillRto, monHealthWarning,
               "database: the last drill (2026-11-30 10:15 UTC) recovered it in 9 min, 90% of its RTO objective "
               "of 10 min: the margin is thin as the data grows");
    fx.comps[0].lastDrillRtoSeconds = 480; /* 80%: not near */
    assert_int_equal(build()->recCount, 0);
    fx.comps[0].lastDrillPassed = false;
    assertOnly(build(), monRecDrillFailed, monHealthCritical,
               "database: the last drill (2026-11-30 10:15 UTC, 3 d ago) failed: read its report (lifeboat "
               "history --drills) and fix the restore before it is needed");
}

static void test_no_retention_run(void **state) {
    (void)state;
    fx.jobs[1].runs.lastSuccessMs = fx.jobs[1].runs.lastRunMs = NOW_MS - 3 * DAY;
    MonReport *r = build();
    assert_int_equal(r->recCount, 2);
    assert_int_equal(r->health, monHealthWarning);
    assert_string_equal(r->recs[0].text, "database: retention last applied 3 d ago by job retention, which runs every "
                                         "24 h: check it (lifeboat history --job retention)");
    assert_string_equal(r->recs[1].text, "uploads: retention last applied 3 d ago by job retention, which runs every "
                                         "24 h: check it (lifeboat history --job retention)");
    assert_int_equal(r->recs[1].kind, monRecRetentionLate);
    assert_int_equal(comp(r, "config")->health, monHealthOk); /* no retention of its own */
    /* never succeeded */
    fx.jobs[1].runs = (MonRuns){0};
    r = build();
    assert_int_equal(r->recCount, 2);
    assert_string_equal(r->recs[0].text, "database: its retention has never been applied: job retention has no "
                                         "successful run, it runs every 24 h: check it (lifeboat history --job "
                                         "retention)");
    /* no prune or forget job applies to repository main: the only one works on dr */
    setup(NULL);
    ((CfgJob *)cfgFileJob(fx.cfg, "retention"))->repository = "dr";
    r = build();
    assert_int_equal(r->recCount, 2);
    assert_int_equal(r->recs[0].kind, monRecNoRetention);
    assert_string_equal(r->recs[0].text, "database: it has a retention policy but no forget or prune job applies it: "
                                         "its snapshots are never removed and the repository only grows: add a "
                                         "prune job for repository main");
}

static void test_copy_behind(void **state) {
    (void)state;
    fx.comps[0].copyNewestNs = fx.comps[0].newestSnapshotNs - NS(3 * DAY);
    MonReport *r = build();
    assertOnly(r, monRecCopyBehind, monHealthWarning,
               "database: the newest copy in repository dr is 3 d older than the newest snapshot, more than the "
               "job's interval of 24 h: check the copies (lifeboat history --job daily)");
    fx.comps[0].copyNewestNs = fx.comps[0].newestSnapshotNs - NS(20 * HOUR);
    assert_int_equal(build()->recCount, 0);
    fx.comps[0].copyNewestNs = 0;
    assertOnly(build(), monRecCopyBehind, monHealthWarning,
               "database: nothing copied to repository dr yet: the second copy does not exist (lifeboat history "
               "--job daily)");
}

static void test_rpo_tighter(void **state) {
    (void)state;
    fx.comps[2].rpoObjective = 900;
    MonReport *r = build();
    assertOnly(r, monRecRpoTighter, monHealthWarning,
               "config: its RPO objective is 15 min but its schedule runs every 1 h: up to 1 h of changes can be "
               "lost between runs: schedule config at least every 15 min");
    /* a physical database's RPO comes from its WAL: no such advice */
    assert_int_equal(comp(r, "database")->health, monHealthOk);
    fx.comps[2].rpoObjective = 0;
    assertOnly(build(), monRecRpoTighter, monHealthWarning,
               "config: its RPO objective is 0 s but its schedule runs every 1 h: up to 1 h of changes can be lost "
               "between runs: only continuous WAL archiving (a postgres-physical component with archive_command) "
               "approaches an RPO of 0");
}

static void test_rpo_breached(void **state) {
    (void)state;
    /* uploads: the last success 100 min ago (not yet stale at 2 intervals)
     * but nothing restorable newer than 2 h 30 min: over its 2 h objective */
    fx.comps[1].runs.lastSuccessMs = NOW_MS - 100 * MIN;
    fx.comps[1].newestSnapshotNs = NS(NOW_MS - 100 * MIN);
    fx.comps[1].newestRestorableNs = NS(NOW_MS - 150 * MIN);
    MonReport *r = build();
    assertOnly(r, monRecRpoBreached, monHealthCritical,
               "uploads: achieved RPO 2 h 30 min, over its objective of 2 h: back it up now (lifeboat run uploads)");
    assert_true(comp(r, "uploads")->rpoAchieved > 8999.9 && comp(r, "uploads")->rpoAchieved < 9000.1);
}

static void test_lock_and_unreadable(void **state) {
    (void)state;
    fx.repos[0].scan.oldestLockNs = NS(NOW_MS - 5 * HOUR);
    MonReport *r = build();
    assertOnly(r, monRecLockHeld, monHealthWarning,
               "main: a lock has been held for 5 h: a stuck or crashed run blocks prune; if no lifeboat process "
               "works on it, remove stale locks (lifeboat unlock)");
    assert_int_equal(comp(r, "uploads")->health, monHealthWarning); /* every component of main */
    fx.repos[0].scan.oldestLockNs = NS(NOW_MS - HOUR);
    assert_int_equal(build()->recCount, 0);
    fx.repos[1].scan.ok = false;
    fx.repos[1].scan.error = "unable to open repository '/nonexistent/dr': No such file or directory";
    assertOnly(build(), monRecRepoUnreadable, monHealthCritical,
               "dr: the repository cannot be opened (scanned 2026-12-03 10:14 UTC): unable to open repository "
               "'/nonexistent/dr': No such file or directory: check its location, credentials and password "
               "(lifeboat snapshots --config FILE)");
}

static void test_growth(void **state) {
    (void)state;
    fx.sizes[0] = (MonSizeSample){"main", NOW_MS - 30 * HOUR, 9ULL << 30};
    fx.sizes[1] = (MonSizeSample){"main", NOW_MS - 25 * HOUR, 10ULL << 30};
    fx.sizes[2] = (MonSizeSample){"main", NOW_MS - 2 * HOUR, 12ULL << 30};
    fx.sizes[3] = (MonSizeSample){"dr", NOW_MS - 2 * HOUR, 1ULL << 30};
    fx.in.sizes = fx.sizes;
    fx.in.sizeCount = 4;
    fx.repos[0].scan.sizeBytes = 13ULL << 30; /* the scan is the newest figure */
    fx.rows[0] = (HistRun){.runId = "uploads@x",
                           .job = "uploads",
                           .component = "uploads",
                           .startedAt = NOW_MS - HOUR,
                           .endedAt = NOW_MS - HOUR + 30000,
                           .outcome = histSucceeded,
                           .bytesAdded = 100LL << 20};
    fx.period.count = 1;
    MonReport *r = build();
    assertOnly(r, monRecGrowth, monHealthWarning,
               "main: the repository grew 3.00 GiB in the last 24 h while the backups added 100.00 MiB: data no "
               "snapshot needs is kept (interrupted runs leave packs; forget alone frees nothing): run lifeboat prune "
               "and check the retention jobs");
    assert_true(r->repositories[0].growthKnown);
    assert_int_equal(r->repositories[0].growthBytes, 3LL << 30);
    assert_int_equal(r->repositories[0].addedBytes, 100LL << 20);
    /* dr: no sample before the period: from the oldest one inside it */
    assert_true(r->repositories[1].growthKnown);
    assert_int_equal(r->repositories[1].growthBytes, 0);
    /* in line: 1.2 GiB added */
    fx.rows[0].bytesAdded = 1600LL << 20;
    assert_int_equal(build()->recCount, 0);
}

static void test_period_and_charts(void **state) {
    (void)state;
    HistOutcome outcomes[] = {histSucceeded, histFailed, histSkipped, histSucceeded, histTimedOut, histSucceeded};
    for (int i = 0; i < 6; i++) {
        HistRun *row = &fx.rows[i];
        int64_t at = NOW_MS - (6 - i) * 3 * HOUR;
        *row = (HistRun){.runId = "uploads@x",
                         .job = "uploads",
                         .scheduledAt = at / 1000,
                         .startedAt = outcomes[i] == histSkipped ? 0 : at,
                         .endedAt = outcomes[i] == histSkipped ? 0 : at + (i + 1) * 60000,
                         .outcome = outcomes[i],
                         .bytesAdded = outcomes[i] == histSucceeded ? 1000 * (i + 1) : -1};
    }
    /* the daily job's run counts for database, not for uploads */
    fx.rows[6] = (HistRun){.runId = "daily@x",
                           .job = "daily",
                           .startedAt = NOW_MS - 8 * HOUR - 20 * MIN,
                           .endedAt = NOW_MS - 8 * HOUR,
                           .outcome = histSucceeded,
                           .bytesAdded = 5000};
    /* running: not counted */
    fx.rows[7] = (HistRun){
        .runId = "uploads@y", .job = "uploads", .startedAt = NOW_MS - MIN, .outcome = histRunning, .bytesAdded = -1};
    fx.period.count = 8;
    MonReport *r = build();
    const MonReportComponent *up = comp(r, "uploads"), *db = comp(r, "database");
    assert_int_equal(up->runs, 6);
    assert_int_equal(up->successes, 3);
    assert_int_equal(up->failures, 2);
    assert_int_equal(up->notStarted, 1);
    assert_int_equal(up->bytesAdded, 1000 + 4000 + 6000);
    assert_int_equal(db->runs, 1);
    assert_int_equal(db->bytesAdded, 5000);
    assert_int_equal(up->duration.count, 5);
    assert_true(up->duration.value[0] > 59.9 && up->duration.value[0] < 60.1);
    assert_int_equal(up->added.count, 3);
    /* the RPO chart: one point per day once a success is known; today's is
     * the time since the newest success (3 h ago, 6 min long) */
    assert_int_equal(up->rpo.count, 1);
    assert_int_equal(up->rpo.atMs[0], NOW_MS);
    assert_true(up->rpo.value[0] > 3 * 3600 - 6 * 60 - 1 && up->rpo.value[0] < 3 * 3600 - 6 * 60 + 1);
}

static bool contains(const char *s, const char *what) {
    return strstr(s, what) != NULL;
}

static void test_render(void **state) {
    (void)state;
    fx.comps[1].runs.lastSuccessMs = NOW_MS - 26 * HOUR;
    fx.comps[1].newestSnapshotNs = fx.comps[1].newestRestorableNs = NS(NOW_MS - 26 * HOUR);
    fx.comps[2].name = "<b>&\"x"; /* user data in the page is escaped */
    fx.rows[0] = (HistRun){.runId = "uploads@x",
                           .job = "uploads",
                           .startedAt = NOW_MS - 2 * DAY,
                           .endedAt = NOW_MS - 2 * DAY + 60000,
                           .outcome = histSucceeded,
                           .bytesAdded = 1 << 20};
    fx.period.count = 1;
    fx.in.periodRows = NULL;
    MonReport *r = build();
    /* a success that ended after a day's end counts from the next one */
    const MonReportComponent *up = comp(r, "uploads");
    assert_int_equal(up->rpo.count, 2);
    assert_true(up->rpo.value[0] > 86400 - 61 && up->rpo.value[0] < 86400 - 59);
    char *html = monReportRender(r, monReportHtml);
    assert_non_null(html);
    assert_false(contains(html, "http://"));
    assert_false(contains(html, "https://"));
    assert_false(contains(html, "src="));
    assert_false(contains(html, "<link"));
    assert_false(contains(html, "<script"));
    assert_true(contains(html, "<body class=\"critical\" data-health=\"critical\">"));
    assert_true(contains(html, "data-component=\"database\" data-health=\"ok\""));
    assert_true(contains(html, "data-component=\"uploads\" data-health=\"critical\""));
    assert_true(contains(html, "data-component=\"&lt;b&gt;&amp;&quot;x\""));
    assert_false(contains(html, "<b>&"));
    assert_true(contains(html, "<span class=\"rpo-achieved\" data-seconds=\"60\">1 min</span>"));
    assert_true(contains(html, "<span class=\"rpo-achieved\" data-seconds=\"93600\">26 h</span>"));
    assert_true(contains(html, "<svg"));
    assert_true(contains(html, "<polyline"));
    assert_true(contains(html, "data-kind=\"stale-backup\" data-severity=\"critical\""));
    free(html);

    char *text = monReportRender(r, monReportText);
    assert_true(contains(text, "Health: CRITICAL (1 critical, 0 warning)"));
    assert_true(contains(text, "  achieved RPO       1 min (objective 5 min)\n"));
    assert_true(contains(text, "  achieved RPO       26 h (objective 2 h, over)\n"));
    assert_true(contains(text,
                         "  ! uploads: last successful backup 26 h ago, its schedule expects one every 1 h "
                         "(achieved RPO 26 h,\n    objective 2 h): check the job's errors (lifeboat history --job "
                         "uploads)\n"));
    for (const char *line = text; *line;) { /* no line wider than 100 columns */
        size_t len = strcspn(line, "\n");
        if (len > 100)
            fail_msg("too wide: %.*s", (int)len, line);
        line += len + (line[len] == '\n');
    }
    free(text);

    char *md = monReportRender(r, monReportMarkdown);
    assert_true(contains(md, "## uploads (files): critical"));
    assert_true(contains(md, "| achieved RPO | 26 h (objective 2 h, over) |"));
    free(md);

    char *js = monReportRender(r, monReportJson);
    json_error_t jerr;
    json_t *doc = json_loads(js, 0, &jerr);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "health")), "critical");
    json_t *comps = json_object_get(doc, "components");
    assert_int_equal(json_array_size(comps), 3);
    json_t *jup = json_array_get(comps, 1);
    assert_string_equal(json_string_value(json_object_get(jup, "name")), "uploads");
    assert_string_equal(json_string_value(json_object_get(jup, "health")), "critical");
    json_t *rpo = json_object_get(jup, "rpo");
    assert_true(json_real_value(json_object_get(rpo, "achieved_seconds")) == 93600.0);
    assert_int_equal(json_integer_value(json_object_get(rpo, "objective_seconds")), 7200);
    json_t *rec = json_array_get(json_object_get(doc, "recommendations"), 0);
    assert_string_equal(json_string_value(json_object_get(rec, "kind")), "stale-backup");
    assert_string_equal(json_string_value(json_object_get(rec, "component")), "uploads");
    assert_int_equal(json_array_size(json_object_get(json_object_get(jup, "charts"), "duration_seconds")), 1);
    json_decref(doc);
    free(js);
}

static void test_format_span(void **state) {
    (void)state;
    char s[32];
    struct {
        double seconds;
        const char *want;
    } cases[] = {{0, "0 s"},           {45, "45 s"},        {60, "1 min"},    {119, "119 s"},    {120, "2 min"},
                 {900, "15 min"},      {3600, "1 h"},       {5400, "90 min"}, {7199, "119 min"}, {93600, "26 h"},
                 {9000, "2 h 30 min"}, {273600, "3 d 4 h"}, {93650, "26 h"},  {86400, "24 h"},   {172800, "2 d"},
                 {604800, "7 d"},      {1036800, "12 d"},   {-5, "0 s"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        monFormatSpan(cases[i].seconds, s, sizeof(s));
        assert_string_equal(s, cases[i].want);
    }
    MonReportFormat f;
    assert_true(monReportFormatParse("markdown", &f));
    assert_int_equal(f, monReportMarkdown);
    assert_false(monReportFormatParse("pdf", &f));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nothing_wrong, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_backup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_drill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drill_rto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_retention_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_behind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpo_tighter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpo_breached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_and_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_period_and_charts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render, setup, teardown),
        cmocka_unit_test(test_format_span),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
