/* test_plan.c - which snapshot and instant a component recovers to
 * (recover/plan.h): --at latest, a time, a recovery point, a span before
 * now; a physical backup with a WAL window replays to exactly the time
 * asked (data loss 0), past the window's end to its end; nothing taken
 * before the time is an error naming the component. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/timeutil.h"
#include "recover/plan.h"

#define S INT64_C(1000000000)
#define T0 (INT64_C(1764547200) * S) /* 2025-12-01T00:00:00Z */

static void add(SnapshotList *l, const char *component, int64_t timeNs, const char *point, int64_t stopNs) {
    l->items = lbXrealloc(l->items, (l->count + 1) * sizeof(Snapshot));
    Snapshot *s = &l->items[l->count++];
    memset(s, 0, sizeof(*s));
    s->timeNs = timeNs;
    s->id.b[0] = (uint8_t)l->count;
    s->component = lbXstrdup(component);
    s->recoveryPoint = point ? lbXstrdup(point) : NULL;
    if (stopNs) { /* a base backup: its metadata (pg/basebackup.h) */
        char start[48], stop[48];
        lbFormatTimeNs(timeNs, start, sizeof(start));
        lbFormatTimeNs(stopNs, stop, sizeof(stop));
        s->meta = json_pack("{s:s, s:s, s:I, s:s, s:s, s:i, s:i, s:I, s:s, s:s}", "kind", "pg-physical",
                            "server_version", "16.4", "server_version_num", (json_int_t)160004, "start_lsn",
                            "0/2000028", "stop_lsn", "0/2000100", "timeline", 1, "stop_timeline", 1, "wal_segment_size",
                            (json_int_t)16777216, "start_time", start, "stop_time", stop);
    }
}

static void test_at_parse(void **state) {
    (void)state;
    RecoverAt at;
    LbError err = {0};
    assert_true(recoverAtParse(NULL, T0, &at, &err));
    assert_int_equal(at.kind, RECOVER_AT_LATEST);
    assert_true(recoverAtParse("latest", T0, &at, &err));
    assert_int_equal(at.kind, RECOVER_AT_LATEST);
    assert_true(recoverAtParse("2025-11-30T22:00:00Z", T0, &at, &err));
    assert_int_equal(at.kind, RECOVER_AT_TIME);
    assert_true(at.ns == T0 - 2 * 3600 * S);
    assert_true(recoverAtParse("2025-11-30 22:00", T0, &at, &err)); /* no zone: UTC */
    assert_true(at.ns == T0 - 2 * 3600 * S);
    assert_true(recoverAtParse("-2h", T0, &at, &err));
    assert_true(at.ns == T0 - 2 * 3600 * S);
    assert_true(recoverAtParse("-3d", T0, &at, &err));
    assert_true(at.ns == T0 - 3 * 86400 * S);
    assert_true(recoverAtParse("daily-full@2025-11-30T02:00:00Z", T0, &at, &err));
    assert_int_equal(at.kind, RECOVER_AT_POINT);
    assert_string_equal(at.point, "daily-full@2025-11-30T02:00:00Z");
    assert_false(recoverAtParse("yesterday", T0, &at, &err));
    assert_non_null(strstr(err.msg, "'yesterday'"));
}

static void test_choose_files(void **state) {
    (void)state;
    SnapshotList l = {0};
    add(&l, "app", T0 - 3600 * S, "full@a", 0);
    add(&l, "db", T0 - 3000 * S, NULL, 0);
    add(&l, "app", T0 - 1800 * S, "full@b", 0);
    add(&l, "app", T0 - 600 * S, NULL, 0);
    SnapshotFilter f = {.component = "app"};
    RecoverAt at = {0};
    RecoverChoice c;
    LbError err = {0};
    assert_true(recoverChoose(&l, &f, NULL, &at, T0, &c, &err)); /* latest */
    assert_int_equal(c.index, 3);
    assert_true(c.lossNs == 600 * S);
    at = (RecoverAt){.kind = RECOVER_AT_TIME, .ns = T0 - 1000 * S}; /* between the 2nd and 3rd */
    assert_true(recoverChoose(&l, &f, NULL, &at, T0, &c, &err));
    assert_int_equal(c.index, 2);
    assert_true(c.asOfNs == T0 - 1800 * S);
    assert_true(c.lossNs == 800 * S);
    assert_int_equal(c.replay, RECOVER_REPLAY_NONE);
    at = (RecoverAt){.kind = RECOVER_AT_POINT, .point = "full@a"};
    assert_true(recoverChoose(&l, &f, NULL, &at, T0, &c, &err));
    assert_int_equal(c.index, 0);
    assert_true(c.lossNs == 0);
    at = (RecoverAt){.kind = RECOVER_AT_TIME, .ns = T0 - 7200 * S}; /* before the first */
    assert_false(recoverChoose(&l, &f, NULL, &at, T0, &c, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "'app'"));
    at = (RecoverAt){.kind = RECOVER_AT_POINT, .point = "full@zzz"};
    assert_false(recoverChoose(&l, &f, NULL, &at, T0, &c, &err));
    assert_non_null(strstr(err.msg, "full@zzz"));
    snapshotListFree(&l);
}

static void test_choose_pitr(void **state) {
    (void)state;
    SnapshotList l = {0};
    add(&l, "db", T0 - 5000 * S, NULL, T0 - 4900 * S);
    add(&l, "db", T0 - 2000 * S, NULL, T0 - 1900 * S);
    SnapshotFilter f = {.component = "db"};
    WalWindow w = {.available = true, .firstNs = T0 - 4900 * S, .newestNs = T0 - 100 * S};
    RecoverChoice c;
    LbError err = {0};
    /* inside the window, after the second backup: that one, replayed to T */
    RecoverAt at = {.kind = RECOVER_AT_TIME, .ns = T0 - 1000 * S};
    assert_true(recoverChoose(&l, &f, &w, &at, T0, &c, &err));
    assert_int_equal(c.index, 1);
    assert_int_equal(c.replay, RECOVER_REPLAY_TIME);
    assert_true(c.asOfNs == at.ns);
    assert_true(c.lossNs == 0);
    /* between the backups: the first one, replayed */
    at.ns = T0 - 3000 * S;
    assert_true(recoverChoose(&l, &f, &w, &at, T0, &c, &err));
    assert_int_equal(c.index, 0);
    assert_true(c.asOfNs == at.ns);
    /* past the window's end: to its end, the rest is lost */
    at.ns = T0 - 10 * S;
    assert_true(recoverChoose(&l, &f, &w, &at, T0, &c, &err));
    assert_int_equal(c.replay, RECOVER_REPLAY_LATEST);
    assert_true(c.asOfNs == w.newestNs);
    assert_true(c.lossNs == 90 * S);
    /* latest */
    at = (RecoverAt){0};
    assert_true(recoverChoose(&l, &f, &w, &at, T0, &c, &err));
    assert_int_equal(c.replay, RECOVER_REPLAY_LATEST);
    assert_true(c.lossNs == 100 * S);
    /* without WAL: the backup as it ended, never one that ended after T */
    at = (RecoverAt){.kind = RECOVER_AT_TIME, .ns = T0 - 1950 * S};
    assert_true(recoverChoose(&l, &f, NULL, &at, T0, &c, &err));
    assert_int_equal(c.index, 0);
    assert_int_equal(c.replay, RECOVER_REPLAY_IMMEDIATE);
    assert_true(c.asOfNs == T0 - 4900 * S);
    assert_true(recoverReadTimeNs(&l.items[1]) == T0 - 1900 * S);
    snapshotListFree(&l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_at_parse),
        cmocka_unit_test(test_choose_files),
        cmocka_unit_test(test_choose_pitr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
