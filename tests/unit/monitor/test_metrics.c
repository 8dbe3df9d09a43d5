/*
 * test_metrics.c - unit tests for src/monitor/metrics.c: the Prometheus
 * text of hand-made facts. Every sample follows its family's HELP and TYPE
 * lines, counters alone end in _total, the histogram's +Inf bucket is its
 * count, label values are escaped, absent figures leave their series out,
 * the heartbeat only for the daemon, and the values are the facts'.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/facts.h"
#include "monitor/metrics.h"

#define NOW_MS 1796292900000LL

static MonFacts *facts(void) {
    MonFacts *f = calloc(1, sizeof(*f));
    f->nowMs = NOW_MS;
    f->components = calloc(2, sizeof(*f->components));
    f->componentCount = 2;
    MonComponent *db = &f->components[0];
    db->name = "db";
    db->type = monTypePhysical;
    db->repository = "main";
    db->expectedIntervalSeconds = 900;
    db->rpoObjective = 300;
    db->rtoObjective = -1;
    db->ownRuns.byOutcome[histSucceeded] = 3;
    db->ownRuns.byOutcome[histFailed] = 1;
    db->ownRuns.durationCount = 4;
    db->ownRuns.durationSum = 12.5;
    for (int i = 1; i < MON_DURATION_BUCKETS; i++)
        db->ownRuns.durationBuckets[i] = 4;
    db->ownRuns.durationBuckets[0] = 1;
    db->ownRuns.bytesAdded = 4096;
    db->ownRuns.lastRunMs = NOW_MS - 60000;
    db->ownRuns.lastOutcome = histFailed;
    db->ownRuns.lastSuccessMs = NOW_MS - 960000;
    db->ownRuns.failuresInRow = 1;
    db->runs = db->ownRuns;
    db->scanned = true;
    db->snapshots = 5;
    db->newestSnapshotNs = (NOW_MS - 3600000) * 1000000;
    db->newestRestorableNs = (NOW_MS - 30000) * 1000000;
    db->walNewestNs = db->newestRestorableNs;
    db->streamed = true; /* stream: true, connected, 4096 bytes behind */
    db->streamConnected = true;
    db->streamHasLag = true;
    db->streamLagBytes = 4096;
    db->restorableFromWal = true;
    db->drilled = true;
    db->lastDrillPassed = true;
    db->lastDrillRtoSeconds = 42.5;
    db->lastDrillMs = NOW_MS - 86400000;
    MonComponent *odd = &f->components[1];
    odd->name = "we\"ird\\na\nme";
    odd->type = monTypeFiles;
    odd->repository = "main";
    odd->rpoObjective = -1;
    odd->rtoObjective = -1;
    f->jobs = calloc(1, sizeof(*f->jobs));
    f->jobCount = 1;
    f->jobs[0].name = "nightly";
    f->jobs[0].type = monTypeBackup;
    f->repositories = calloc(2, sizeof(*f->repositories));
    f->repositoryCount = 2;
    f->repositories[0].name = "main";
    f->repositories[0].scan = (MonScan){
        .repository = "main", .scannedAtMs = NOW_MS, .ok = true, .sizeBytes = 1 << 20, .packs = 3, .snapshots = 5};
    f->repositories[1].name = "gone";
    f->repositories[1].scan = (MonScan){.repository = "gone", .scannedAtMs = NOW_MS, .ok = false, .error = "x"};
    return f;
}

static void factsFree(MonFacts *f) {
    free(f->components);
    free(f->jobs);
    free(f->repositories);
    free(f);
}

/* The value of the sample `series` (name with labels), or NULL. */
static const char *valueOf(const char *text, const char *series) {
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return p + n + 1;
    return NULL;
}

static bool valueIs(const char *text, const char *series, const char *want) {
    const char *v = valueOf(text, series);
    if (v == NULL) {
        fprintf(stderr, "missing: %s\n", series);
        return false;
    }
    size_t n = strcspn(v, "\n");
    if (strlen(want) != n || strncmp(v, want, n) != 0) {
        fprintf(stderr, "%s: %.*s, want %s\n", series, (int)n, v, want);
        return false;
    }
    return true;
}

static void test_format(void **state) {
    (void)state;
    MonFacts *f = facts();
    char *text = monMetricsText(f, false);
    assert_non_null(text);
    /* every sample follows the TYPE of its family; _total only on counters */
    char family[128] = "", type[32] = "";
    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# HELP ", 7) == 0)
            continue;
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%127s %31s", family, type), 2);
            size_t n = strlen(family);
            bool total = n > 6 && strcmp(family + n - 6, "_total") == 0;
            assert_true(total == (strcmp(type, "counter") == 0));
            char help[160];
            snprintf(help, sizeof(help), "# HELP %s ", family);
            assert_non_null(strstr(text, help));
            continue;
        }
        assert_true(strncmp(line, family, strlen(family)) == 0);
        assert_true(strncmp(line, "lifeboat_", 9) == 0);
    }
    free(copy);

    const char *L = "{job=\"db\",component=\"db\",type=\"physical\"";
    char s[256];
    snprintf(s, sizeof(s), "lifeboat_job_runs_total%s,outcome=\"succeeded\"}", L);
    assert_true(valueIs(text, s, "3"));
    snprintf(s, sizeof(s), "lifeboat_job_runs_total%s,outcome=\"skipped\"}", L);
    assert_true(valueIs(text, s, "0"));
    snprintf(s, sizeof(s), "lifeboat_job_run_duration_seconds_bucket%s,le=\"1\"}", L);
    assert_true(valueIs(text, s, "1"));
    snprintf(s, sizeof(s), "lifeboat_job_run_duration_seconds_bucket%s,le=\"+Inf\"}", L);
    assert_true(valueIs(text, s, "4"));
    snprintf(s, sizeof(s), "lifeboat_job_run_duration_seconds_sum%s}", L);
    assert_true(valueIs(text, s, "12.5"));
    snprintf(s, sizeof(s), "lifeboat_job_last_run_status%s,outcome=\"failed\"}", L);
    assert_true(valueIs(text, s, "1"));
    snprintf(s, sizeof(s), "lifeboat_job_last_success_timestamp_seconds%s}", L);
    assert_true(valueIs(text, s, "1796291940.000"));
    assert_true(valueIs(text, "lifeboat_job_last_run_timestamp_seconds{job=\"nightly\",type=\"backup\"}", "0"));
    assert_true(valueIs(text, "lifeboat_rpo_achieved_seconds{component=\"db\",type=\"physical\",repository=\"main\"}",
                        "30.000"));
    assert_true(
        valueIs(text, "lifeboat_rpo_objective_seconds{component=\"db\",type=\"physical\",repository=\"main\"}", "300"));
    assert_true(
        valueIs(text, "lifeboat_wal_archive_lag_seconds{component=\"db\",type=\"wal\",repository=\"main\"}", "30.000"));
    assert_true(valueIs(text, "lifeboat_wal_stream_connected{component=\"db\",type=\"wal\",repository=\"main\"}", "1"));
    assert_true(
        valueIs(text, "lifeboat_wal_stream_lag_bytes{component=\"db\",type=\"wal\",repository=\"main\"}", "4096"));
    assert_true(valueIs(text, "lifeboat_drill_rto_seconds{component=\"db\",type=\"physical\"}", "42.5"));
    assert_true(valueIs(text, "lifeboat_drill_success{component=\"db\",type=\"physical\"}", "1"));
    assert_true(valueIs(text, "lifeboat_repository_up{repository=\"main\"}", "1"));
    assert_true(valueIs(text, "lifeboat_repository_up{repository=\"gone\"}", "0"));
    assert_true(valueIs(text, "lifeboat_repository_size_bytes{repository=\"main\"}", "1048576"));
    assert_null(valueOf(text, "lifeboat_repository_size_bytes{repository=\"gone\"}"));
    assert_true(
        valueIs(text, "lifeboat_job_expected_interval_seconds{job=\"db\",component=\"db\",type=\"physical\"}", "900"));
    /* not set or not known: no series */
    assert_null(strstr(text, "lifeboat_rto_objective_seconds{"));
    assert_null(strstr(text, "lifeboat_rpo_achieved_seconds{component=\"we"));
    assert_null(strstr(text, "lifeboat_daemon_heartbeat_timestamp_seconds"));
    /* escaped label values */
    assert_non_null(strstr(text, "component=\"we\\\"ird\\\\na\\nme\""));
    assert_non_null(strstr(text, "lifeboat_build_info{version=\""));
    free(text);

    text = monMetricsText(f, true);
    assert_true(valueIs(text, "lifeboat_daemon_heartbeat_timestamp_seconds", "1796292900.000"));
    free(text);
    factsFree(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
