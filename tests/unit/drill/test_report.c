/*
 * test_report.c - unit tests for src/drill/report: objectives compared,
 * the JSON record's documented fields, the text table and its failures,
 * the HTML page's escaping of user data (a component named <script>&")
 * and its self-containedness, and saving STATE/drills/ID.{json,txt,html}.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "drill/report.h"

#define T0 1796292900000000000LL /* 2026-12-03T10:15:00Z */
#define SNAP_ID "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b"

/* A drill of two components: "database" passes within its objectives,
 * the second (named by the caller) misses its RTO and has a failed check;
 * plus a consistency section with two missing keys. */
static DrillResult *sample(const char *secondName) {
    DrillResult *r = drillResultNew("drill-20261203T101500Z", "2026-12-03 10:00");
    r->startNs = T0;
    r->endNs = T0 + 75LL * 1000000000LL;
    r->recoveryPoint = strdup("rp-42");
    DrillComponentResult *c = drillResultAddComponent(r, "database", "postgres");
    c->snapshotId = strdup(SNAP_ID);
    c->snapshotNs = T0 - 3600LL * 1000000000LL;
    c->recoveredNs = c->snapshotNs;
    c->bytes = 1572864;
    c->restoreSeconds = 3.2;
    c->verifySeconds = 1.1;
    c->totalSeconds = 4.3;
    c->rpoSeconds = 3600;
    c->rtoObjective = 300;
    c->rpoObjective = 86400;
    drillComponentAddCheck(c, true, "rows: %d tables match the snapshot", 20);
    drillComponentAddCheck(c, true, "pg_amcheck: no corruption");
    drillComponentCompare(c);
    c = drillResultAddComponent(r, secondName, "files");
    c->snapshotId = strdup(SNAP_ID);
    c->snapshotNs = T0;
    c->recoveredNs = T0;
    c->bytes = 10;
    c->restoreSeconds = 2.0;
    c->verifySeconds = 1.5;
    c->totalSeconds = 3.5;
    c->rtoObjective = 1;
    drillComponentAddCheck(c, false, "file <b>x</b> differs");
    drillComponentCompare(c);
    DrillConsistency *k = drillResultConsistency(r);
    k->query = strdup("SELECT storage_key FROM uploads");
    k->component = strdup("uploads");
    k->keysReferenced = 1000;
    k->keysMissing = 2;
    k->examples = calloc(2, sizeof(char *));
    k->examples[0] = strdup("a/1.png");
    k->examples[1] = strdup("b/2.png");
    k->exampleCount = 2;
    k->passed = false;
    drillResultFinish(r);
    return r;
}

static char *render(bool (*fn)(const DrillResult *, FILE *, LbError *), const DrillResult *r) {
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    LbError err = {0};
    assert_true(fn(r, f, &err));
    fclose(f);
    return out;
}

static void test_objectives(void **state) {
    (void)state;
    DrillResult *r = sample("files");
    DrillComponentResult *db = &r->components[0], *files = &r->components[1];
    assert_true(db->passed);
    assert_null(db->missed);
    assert_null(db->error);
    assert_false(files->passed);
    assert_string_equal(files->missed, "rto");
    assert_non_null(strstr(files->error, "RTO objective missed: recovered in 3.5 s, the objective is 1.0 s"));
    assert_false(r->passed);

    /* an unknown RPO misses no objective; a known one over it does */
    DrillComponentResult *c = drillResultAddComponent(r, "logs", "files");
    c->rpoObjective = 60;
    drillComponentCompare(c);
    assert_null(c->missed);
    assert_true(c->passed);
    c->rpoSeconds = 61;
    c->rtoObjective = 0;
    c->totalSeconds = 0.5;
    drillComponentCompare(c);
    assert_string_equal(c->missed, "rto,rpo");
    assert_non_null(strstr(c->error, "RPO objective missed: the newest restorable data is 1m01s old"));
    drillResultFree(r);
    drillResultFree(NULL);

    char buf[32];
    drillFormatSeconds(0.42, buf, sizeof(buf));
    assert_string_equal(buf, "0.4 s");
    drillFormatSeconds(245, buf, sizeof(buf));
    assert_string_equal(buf, "4m05s");
    drillFormatSeconds(7800, buf, sizeof(buf));
    assert_string_equal(buf, "2h10m");
    drillFormatSeconds(3 * 86400 + 4 * 3600, buf, sizeof(buf));
    assert_string_equal(buf, "3d04h");
    drillFormatSeconds(-1, buf, sizeof(buf));
    assert_string_equal(buf, "-");
}

static void test_json_fields(void **state) {
    (void)state;
    DrillResult *r = sample("files");
    json_t *j = drillResultToJson(r);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "drill-20261203T101500Z");
    assert_string_equal(json_string_value(json_object_get(j, "start_time")), "2026-12-03T10:15:00.000000000Z");
    assert_string_equal(json_string_value(json_object_get(j, "end_time")), "2026-12-03T10:16:15.000000000Z");
    assert_true(json_real_value(json_object_get(j, "duration_seconds")) == 75.0);
    assert_string_equal(json_string_value(json_object_get(j, "at")), "2026-12-03 10:00");
    assert_string_equal(json_string_value(json_object_get(j, "recovery_point")), "rp-42");
    assert_true(json_is_false(json_object_get(j, "passed")));
    json_t *comps = json_object_get(j, "components");
    assert_int_equal(json_array_size(comps), 2);
    json_t *db = json_array_get(comps, 0);
    assert_string_equal(json_string_value(json_object_get(db, "name")), "database");
    assert_string_equal(json_string_value(json_object_get(db, "type")), "postgres");
    assert_string_equal(json_string_value(json_object_get(db, "snapshot_id")), SNAP_ID);
    assert_string_equal(json_string_value(json_object_get(db, "snapshot_time")), "2026-12-03T09:15:00.000000000Z");
    assert_string_equal(json_string_value(json_object_get(db, "recovered_as_of")), "2026-12-03T09:15:00.000000000Z");
    assert_int_equal(json_integer_value(json_object_get(db, "bytes_restored")), 1572864);
    assert_true(json_real_value(json_object_get(db, "restore_seconds")) == 3.2);
    assert_true(json_real_value(json_object_get(db, "verify_seconds")) == 1.1);
    assert_true(json_real_value(json_object_get(db, "rto_seconds")) == 4.3);
    assert_true(json_real_value(json_object_get(db, "rpo_seconds")) == 3600.0);
    assert_int_equal(json_integer_value(json_object_get(db, "rto_objective_seconds")), 300);
    assert_int_equal(json_integer_value(json_object_get(db, "rpo_objective_seconds")), 86400);
    assert_true(json_is_true(json_object_get(db, "passed")));
    assert_true(json_is_null(json_object_get(db, "error")));
    assert_true(json_is_null(json_object_get(db, "missed_objective")));
    json_t *checks = json_object_get(db, "checks");
    assert_int_equal(json_array_size(checks), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(checks, 0), "text")),
                        "rows: 20 tables match the snapshot");
    assert_true(json_is_true(json_object_get(json_array_get(checks, 0), "passed")));
    json_t *files = json_array_get(comps, 1);
    assert_true(json_is_false(json_object_get(files, "passed")));
    assert_string_equal(json_string_value(json_object_get(files, "missed_objective")), "rto");
    assert_true(json_is_null(json_object_get(files, "rpo_seconds")));
    assert_true(json_is_null(json_object_get(files, "rpo_objective_seconds")));
    assert_non_null(strstr(json_string_value(json_object_get(files, "error")), "RTO objective missed"));
    json_t *k = json_object_get(j, "consistency");
    assert_string_equal(json_string_value(json_object_get(k, "query")), "SELECT storage_key FROM uploads");
    assert_string_equal(json_string_value(json_object_get(k, "component")), "uploads");
    assert_int_equal(json_integer_value(json_object_get(k, "keys_referenced")), 1000);
    assert_int_equal(json_integer_value(json_object_get(k, "keys_missing")), 2);
    assert_int_equal(json_array_size(json_object_get(k, "missing_examples")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(k, "missing_examples"), 1)), "b/2.png");
    assert_true(json_is_false(json_object_get(k, "passed")));
    json_decref(j);

    /* no consistency check: null; no recovery point: null */
    DrillResult *plain = drillResultNew("d1", NULL);
    drillResultAddComponent(plain, "database", "postgres");
    drillResultFinish(plain);
    j = drillResultToJson(plain);
    assert_true(json_is_null(json_object_get(j, "consistency")));
    assert_true(json_is_null(json_object_get(j, "recovery_point")));
    assert_string_equal(json_string_value(json_object_get(j, "at")), "latest");
    assert_true(json_is_true(json_object_get(j, "passed")));
    json_decref(j);
    drillResultFree(plain);
    drillResultFree(r);
}

static void test_text(void **state) {
    (void)state;
    DrillResult *r = sample("up\x1b[2Jloads");
    char *out = render(drillReportText, r);
    assert_non_null(strstr(out, "drill drill-20261203T101500Z: FAILED\n"));
    assert_non_null(strstr(out, "started 2026-12-03 10:15:00 UTC, took 1m15s, recovering as of 2026-12-03 10:00, "
                                "recovery point rp-42\n"));
    assert_non_null(strstr(out, "component       type      snapshot      as of                   bytes  restore  "
                                "verify  RTO            RPO            result\n"));
    assert_non_null(strstr(out, "database        postgres  1a2b3c4d5e6f  2026-12-03 09:15:00  1.50 MiB    3.2 s   "
                                "1.1 s  4.3 s / 5m00s  1h00m / 1d00h  ok\n"));
    assert_non_null(strstr(out, "up\\x1b[2Jloads  files     1a2b3c4d5e6f  2026-12-03 10:15:00      10 B    2.0 s   "
                                "1.5 s  3.5 s / 1.0 s  - / -          FAILED (rto)\n"));
    assert_non_null(strstr(out, "  FAIL up\\x1b[2Jloads: file <b>x</b> differs\n"));
    assert_non_null(strstr(out, "consistency: FAILED: 1000 keys referenced by 'SELECT storage_key FROM uploads', 2 "
                                "missing from uploads\n  missing: a/1.png\n  missing: b/2.png\n"));
    assert_non_null(strstr(out, "failures:\n  up\\x1b[2Jloads: RTO objective missed: recovered in 3.5 s, the "
                                "objective is 1.0 s\n"));
    assert_null(strchr(out, '\x1b'));
    free(out);
    drillResultFree(r);
}

static void test_html_escaping(void **state) {
    (void)state;
    DrillResult *r = sample("<script>&\"");
    free(r->components[1].error);
    r->components[1].error = strdup("pg_restore: <img src=x onerror=alert(1)> 'quoted'");
    char *out = render(drillReportHtml, r);
    assert_true(strncmp(out, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(out, "&lt;script&gt;&amp;&quot;"));
    assert_non_null(strstr(out, "pg_restore: &lt;img src=x onerror=alert(1)&gt; &#39;quoted&#39;"));
    assert_non_null(strstr(out, "file &lt;b&gt;x&lt;/b&gt; differs"));
    /* self-contained: no script, no external resource */
    assert_null(strstr(out, "<script"));
    assert_null(strstr(out, "<img"));
    assert_null(strstr(out, " src=\""));
    assert_null(strstr(out, "href="));
    assert_null(strstr(out, "@import"));
    assert_null(strstr(out, "url("));
    assert_non_null(strstr(out, "<style>"));
    /* pass/fail coloured, the objective beside the achieved value, the missed one marked */
    assert_non_null(strstr(out, "<tr class=\"pass\">"));
    assert_non_null(strstr(out, "<tr class=\"fail\">"));
    assert_non_null(strstr(out, "<td class=\"num\">4.3 s <span class=\"obj\">/ 5m00s</span></td>"));
    assert_non_null(strstr(out, "<td class=\"num miss\">3.5 s <span class=\"obj\">/ 1.0 s</span></td>"));
    assert_non_null(strstr(out, "</html>\n"));
    free(out);
    drillResultFree(r);
}

static int rmOne(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_save(void **state) {
    (void)state;
    char dir[] = "/tmp/lb-test-drill-report-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char stateDir[128];
    snprintf(stateDir, sizeof(stateDir), "%s/state", dir);
    DrillResult *r = sample("files");
    LbError err = {0};
    assert_true(drillReportSave(r, stateDir, &err));
    struct stat st;
    char path[256];
    snprintf(path, sizeof(path), "%s/drills", stateDir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    const char *exts[] = {"json", "txt", "html"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/drills/drill-20261203T101500Z.%s", stateDir, exts[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_true(st.st_size > 100);
    }
    json_error_t je;
    snprintf(path, sizeof(path), "%s/drills/drill-20261203T101500Z.json", stateDir);
    json_t *j = json_load_file(path, 0, &je);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "drill-20261203T101500Z");
    json_decref(j);
    /* nothing but the three files: no temporary file left */
    snprintf(path, sizeof(path), "%s/drills", stateDir);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(n, 3);
    /* saving again replaces the files */
    assert_true(drillReportSave(r, stateDir, &err));
    /* an ID that is no file name is refused */
    free(r->id);
    r->id = strdup("../escape");
    assert_false(drillReportSave(r, stateDir, &err));
    assert_non_null(strstr(err.msg, "not a valid file name"));
    drillResultFree(r);
    nftw(dir, rmOne, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objectives),    cmocka_unit_test(test_json_fields), cmocka_unit_test(test_text),
        cmocka_unit_test(test_html_escaping), cmocka_unit_test(test_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
