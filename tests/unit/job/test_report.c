/*
 * test_report.c - unit tests for src/job/report: a job's outcome rendered as
 * text and as one JSON object, exit codes, and the JSON error shape.
 *
 * The expected text is what `lifeboat backup` has printed since the first
 * release (docs/commands.md, "backup"): scripts and the tests read it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "job/report.h"

static char *render(const JobReport *r, char **warnText) {
    char *out = NULL, *warn = NULL;
    size_t outLen = 0, warnLen = 0;
    FILE *o = open_memstream(&out, &outLen);
    FILE *w = open_memstream(&warn, &warnLen);
    jobReportPrintText(r, o, w);
    fclose(o);
    fclose(w);
    if (warnText)
        *warnText = warn;
    else
        free(warn);
    return out;
}

static LbId fixedId(void) {
    LbId id;
    for (size_t i = 0; i < sizeof(id.b); i++)
        id.b[i] = (uint8_t)(0x1a + i);
    return id;
}

static void test_backup_text_and_json(void **state) {
    (void)state;
    JobReport *r = jobReportNew("backup");
    SnapshotSummary s = {.filesNew = 3,
                         .filesChanged = 1,
                         .filesUnmodified = 7,
                         .dirsNew = 2,
                         .dataAdded = 3 * 1024 * 1024 / 2,
                         .dataAddedStored = 1024,
                         .totalFiles = 11,
                         .totalBytes = 5000,
                         .blobsNew = 4};
    jobReportSetBackupSummary(r, &s, 62.4);
    LbId id = fixedId();
    jobReportSetSnapshot(r, &id, "uploads", NULL);
    char *text = render(r, NULL);
    assert_string_equal(text, "Files:       3 new, 1 changed, 7 unmodified\n"
                              "Dirs:        2 new, 0 changed, 0 unmodified\n"
                              "Added:       1.50 MiB (1.00 KiB stored)\n"
                              "Processed:   11 files, 4.88 KiB in 1:02\n"
                              "snapshot 1a1b1c1d saved\n");
    free(text);
    json_t *j = jobReportJson(r);
    assert_string_equal(json_string_value(json_object_get(j, "message_type")), "summary");
    assert_int_equal(json_integer_value(json_object_get(j, "files_new")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "data_blobs_new")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "total_bytes_processed")), 5000);
    assert_string_equal(json_string_value(json_object_get(j, "component")), "uploads");
    assert_true(json_is_array(json_object_get(j, "unreadable")));
    assert_int_equal(json_array_size(json_object_get(j, "unreadable")), 0);
    const char *idHex = json_string_value(json_object_get(j, "snapshot_id"));
    assert_int_equal(strlen(idHex), 64);
    assert_memory_equal(idHex, "1a1b1c1d", 8);
    json_decref(j);
    assert_int_equal(jobReportExitCode(r), 0);
    jobReportFree(r);
}

static void test_warnings_make_it_incomplete(void **state) {
    (void)state;
    JobReport *r = jobReportNew("backup");
    LbId id = fixedId();
    jobReportSetSnapshot(r, &id, NULL, NULL);
    jobReportWarning(r, true, "%s: %s", "/srv/a", "Permission denied");
    char *warn = NULL;
    char *text = render(r, &warn);
    assert_string_equal(warn, "lifeboat: snapshot saved, but 1 file(s) could not be read:\n"
                              "  /srv/a: Permission denied\n");
    assert_int_equal(jobReportExitCode(r), 3);
    json_t *j = jobReportJson(r);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "unreadable"), 0)),
                        "/srv/a: Permission denied");
    json_decref(j);
    free(text);
    free(warn);
    jobReportFree(r);
}

static void test_failure_is_an_error_object(void **state) {
    (void)state;
    JobReport *r = jobReportNew("copy");
    jobReportRow(r, "Copied", "%d snapshots", 2);
    LbError err = {0};
    lbErr(&err, LB_ERR_LOCKED, "unable to lock repository '%s': locked by host a", "/r");
    jobReportFail(r, &err);
    assert_true(jobReportFailed(r));
    assert_int_equal(jobReportExitCode(r), 11);
    char *text = render(r, NULL);
    assert_string_equal(text, ""); /* the error is printed by the caller, once */
    free(text);
    json_t *j = jobReportJson(r);
    assert_string_equal(json_string_value(json_object_get(j, "message_type")), "error");
    assert_string_equal(json_string_value(json_object_get(j, "code")), "locked");
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 11);
    assert_string_equal(json_string_value(json_object_get(j, "message")),
                        "unable to lock repository '/r': locked by host a");
    json_decref(j);
    jobReportFree(r);
}

static void test_rows_align_and_other_kinds_say_warnings(void **state) {
    (void)state;
    JobReport *r = jobReportNew("backup-pg-physical");
    jobReportRow(r, "Base backup", "%s", "0/2000028 .. 0/2000100");
    jobReportRow(r, "Tar", "%s", "3 members");
    jobReportLine(r, "restored %d files", 3);
    jobReportWarning(r, false, "WAL archiving is off");
    char *text = render(r, NULL);
    assert_string_equal(text, "Base backup: 0/2000028 .. 0/2000100\n"
                              "Tar:         3 members\n"
                              "restored 3 files\n");
    free(text);
    json_t *j = jobReportJson(r);
    assert_null(json_object_get(j, "unreadable"));
    assert_int_equal(json_array_size(json_object_get(j, "warnings")), 1);
    json_decref(j);
    assert_int_equal(jobReportExitCode(r), 0);
    jobReportFree(r);
}

static void test_formatting(void **state) {
    (void)state;
    char b[32];
    jobFormatBytes(0, b, sizeof(b));
    assert_string_equal(b, "0 B");
    jobFormatBytes(1023, b, sizeof(b));
    assert_string_equal(b, "1023 B");
    jobFormatBytes(1536.0 * 1024 * 1024, b, sizeof(b));
    assert_string_equal(b, "1.50 GiB");
    jobFormatDuration(3723, b, sizeof(b));
    assert_string_equal(b, "1:02:03");
    jobFormatDuration(-5, b, sizeof(b));
    assert_string_equal(b, "0:00");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backup_text_and_json),
        cmocka_unit_test(test_warnings_make_it_incomplete),
        cmocka_unit_test(test_failure_is_an_error_object),
        cmocka_unit_test(test_rows_align_and_other_kinds_say_warnings),
        cmocka_unit_test(test_formatting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
