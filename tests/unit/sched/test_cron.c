/*
 * test_cron.c - unit tests for src/sched/cron: both dialects against the
 * shared vectors, daylight saving in Europe/Berlin and America/New_York,
 * Quartz's L, W, # and year field, and the parse errors.
 *
 * The vectors are ../shared/vectors/cron/cases.tsv (columns expr, flavour,
 * start_utc, next): every row is checked, and a missing file fails the test.
 * Where each row comes from is in cases.sources.tsv beside it: the test
 * suites of croniter, cronsim, cron-parser (Vixie rows) and Quartz,
 * cron-utils (Quartz rows), with values asserted by those tests or computed
 * with the engines named there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/timeutil.h"
#include "sched/cron.h"

#define VECTORS LB_SOURCE_ROOT "/../shared/vectors/cron/cases.tsv"

static int64_t at(const char *iso) {
    int64_t ns = 0;
    if (!lbParseTime(iso, &ns))
        fail_msg("bad time in the test: %s", iso);
    return ns / 1000000000 - (ns % 1000000000 < 0);
}

static void iso(int64_t t, char *out, size_t n) {
    struct tm tm;
    time_t tt = (time_t)t;
    gmtime_r(&tt, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The next count fire times after start as "a,b,c" (fewer when it ends). */
static void nextList(const char *expr, const char *tz, const char *start, int count, char *out, size_t n) {
    LbError err = {0};
    CronSchedule *c = cronParse(expr, tz, &err);
    if (c == NULL)
        fail_msg("cronParse('%s', %s): %s", expr, tz ? tz : "UTC", err.msg);
    int64_t t = at(start);
    out[0] = '\0';
    for (int i = 0; i < count && cronNext(c, t, &t); i++) {
        char buf[32];
        iso(t, buf, sizeof(buf));
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s", i ? "," : "", buf);
    }
    cronFree(c);
}

static void expectNext(const char *expr, const char *tz, const char *start, const char *want) {
    int count = 1;
    for (const char *p = want; *p; p++)
        count += *p == ',';
    char got[4096];
    nextList(expr, tz, start, want[0] ? count : 3, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("'%s' in %s after %s:\n  want %s\n  got  %s", expr, tz ? tz : "UTC", start, want, got);
}

static void test_vectors(void **state) {
    (void)state;
    FILE *f = fopen(VECTORS, "r");
    if (f == NULL)
        fail_msg("unable to open the cron vectors '%s' (the repository is cloned next to ../shared)", VECTORS);
    char line[8192];
    int rows = 0, failed = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char *expr = strtok(line, "\t"), *flavour = strtok(NULL, "\t"), *start = strtok(NULL, "\t");
        char *want = strtok(NULL, "\t");
        if (expr == NULL || strcmp(expr, "expr") == 0)
            continue;
        assert_non_null(want);
        rows++;
        int count = 1;
        for (const char *p = want; *p; p++)
            count += *p == ',';
        char got[8192];
        nextList(expr, NULL, start, count, got, sizeof(got));
        if (strcmp(got, want) != 0) {
            print_error("%s row '%s' after %s:\n  want %s\n  got  %s\n", flavour, expr, start, want, got);
            failed++;
        }
    }
    fclose(f);
    print_message("# %d vector rows\n", rows);
    assert_true(rows >= 60);
    assert_int_equal(failed, 0);
}

static void test_vixie_basics(void **state) {
    (void)state;
    /* names are case-insensitive; 7 and 0 are Sunday */
    expectNext("0 0 * jAn MoN", NULL, "2026-01-01T00:00:00Z",
               "2026-01-05T00:00:00Z,2026-01-12T00:00:00Z,2026-01-19T00:00:00Z");
    expectNext("0 0 * * 7", NULL, "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z,2026-01-11T00:00:00Z");
    /* the macros */
    expectNext("@hourly", NULL, "2026-01-01T00:30:00Z", "2026-01-01T01:00:00Z,2026-01-01T02:00:00Z");
    expectNext("@daily", NULL, "2026-01-01T00:30:00Z", "2026-01-02T00:00:00Z");
    expectNext("@midnight", NULL, "2026-01-01T00:30:00Z", "2026-01-02T00:00:00Z");
    expectNext("@weekly", NULL, "2026-01-01T00:30:00Z", "2026-01-04T00:00:00Z");
    expectNext("@monthly", NULL, "2026-01-01T00:30:00Z", "2026-02-01T00:00:00Z");
    expectNext("@YEARLY", NULL, "2026-01-01T00:30:00Z", "2027-01-01T00:00:00Z");
    expectNext("@annually", NULL, "2026-01-01T00:30:00Z", "2027-01-01T00:00:00Z");
    /* both day fields restricted: OR; one starting with '*': AND */
    expectNext("0 0 13 * 5", NULL, "2026-02-01T00:00:00Z",
               "2026-02-06T00:00:00Z,2026-02-13T00:00:00Z,2026-02-20T00:00:00Z");
    expectNext("0 0 */13 * 5", NULL, "2026-01-01T00:00:00Z", "2026-02-27T00:00:00Z,2026-03-27T00:00:00Z");
    /* a/step runs to the end of the range; '?' in 5 fields is '*' */
    expectNext("50/5 * * * ?", NULL, "2026-01-01T00:00:00Z",
               "2026-01-01T00:50:00Z,2026-01-01T00:55:00Z,"
               "2026-01-01T01:50:00Z");
    /* strictly after, and the search is fast across years */
    expectNext("0 0 29 2 1", NULL, "2026-01-01T00:00:00Z", "2026-02-02T00:00:00Z");
    expectNext("0 0 29 2 *", NULL, "2097-01-01T00:00:00Z", "2104-02-29T00:00:00Z");
}

static void test_never(void **state) {
    (void)state;
    LbError err = {0};
    const char *never[] = {"0 0 30 2 ?", "0 0 0 30 2 ?", "0 0 31 4 *", "0 0 0 1 1 ? 2005", "0 0 0 ? 2 MON#5 2026"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
        CronSchedule *c = cronParse(never[i], NULL, &err);
        assert_non_null(c);
        int64_t next = 0;
        if (cronNext(c, at("2010-01-01T00:00:00Z"), &next))
            fail_msg("'%s' fired at %lld", never[i], (long long)next);
        cronFree(c);
    }
    /* the horizon: nothing from 2200 on */
    CronSchedule *c = cronParse("* * * * *", NULL, &err);
    int64_t next = 0;
    assert_true(cronNext(c, at("2199-12-31T23:58:00Z"), &next));
    assert_int_equal(next, at("2199-12-31T23:59:00Z"));
    assert_false(cronNext(c, next, &next));
    cronFree(c);
}

static void test_quartz(void **state) {
    (void)state;
    /* L, LW, L-3, W */
    expectNext("0 0 12 L * ?", NULL, "2026-01-31T12:00:00Z", "2026-02-28T12:00:00Z,2026-03-31T12:00:00Z");
    expectNext("0 0 12 LW * ?", NULL, "2026-01-01T00:00:00Z",
               "2026-01-30T12:00:00Z,2026-02-27T12:00:00Z,2026-03-31T12:00:00Z");
    expectNext("0 0 12 L-3 * ?", NULL, "2026-01-01T00:00:00Z", "2026-01-28T12:00:00Z,2026-02-25T12:00:00Z");
    expectNext("0 0 12 15W * ?", NULL, "2026-02-01T00:00:00Z", /* Feb 15 Sun -> 16, Mar 15 Sun -> 16 */
               "2026-02-16T12:00:00Z,2026-03-16T12:00:00Z,2026-04-15T12:00:00Z");
    expectNext("0 0 12 1W * ?", NULL, "2026-07-15T00:00:00Z", "2026-08-03T12:00:00Z"); /* Aug 1 is a Saturday */
    /* 5L: the last Thursday; 6#3: the third Friday (1 = Sunday) */
    expectNext("0 0 12 ? * 5L", NULL, "2026-01-01T00:00:00Z", "2026-01-29T12:00:00Z,2026-02-26T12:00:00Z");
    expectNext("0 0 12 ? * 6#3", NULL, "2026-01-01T00:00:00Z", "2026-01-16T12:00:00Z,2026-02-20T12:00:00Z");
    expectNext("0 0 12 ? * fri#3", NULL, "2026-01-01T00:00:00Z", "2026-01-16T12:00:00Z");
    /* the year field ends the schedule */
    expectNext("0 0 12 1 1 ? 2027,2029", NULL, "2026-01-01T00:00:00Z", "2027-01-01T12:00:00Z,2029-01-01T12:00:00Z");
    /* seconds */
    expectNext("*/20 0 12 * * ?", NULL, "2026-01-01T12:00:00Z", "2026-01-01T12:00:20Z,2026-01-01T12:00:40Z");
}

typedef struct DstCase {
    const char *expr, *tz, *start, *want, *what;
} DstCase;

/* Berlin: 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z); 2026-10-25 03:00 CEST
 * -> 02:00 CET (01:00Z). New York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z);
 * 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z). */
static const DstCase dstCases[] = {
    {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z,2026-03-30T00:30:00Z",
     "02:30 in the spring gap fires once, at the change"},
    {"0 30 2 * * ?", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z,2026-03-30T00:30:00Z",
     "the same in Quartz"},
    {"*/15 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z,2026-03-30T00:00:00Z",
     "four wall times in the gap fire once together"},
    {"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z,2026-10-26T01:30:00Z",
     "02:30 in the autumn overlap fires once (CEST)"},
    {"0 30 2 * * ?", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z,2026-10-26T01:30:00Z",
     "the same in Quartz"},
    {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:45:00Z", "2026-10-26T01:30:00Z",
     "started inside the overlap after the first 02:30: not again"},
    {"*/15 * * * *", "Europe/Berlin", "2026-03-29T00:30:00Z",
     "2026-03-29T00:45:00Z,2026-03-29T01:00:00Z,2026-03-29T01:15:00Z,2026-03-29T01:30:00Z",
     "every 15 minutes across the spring change"},
    {"*/15 * * * *", "Europe/Berlin", "2026-10-25T00:30:00Z",
     "2026-10-25T00:45:00Z,2026-10-25T01:00:00Z,2026-10-25T01:15:00Z,2026-10-25T01:30:00Z",
     "every 15 minutes across the autumn change (02:xx twice)"},
    {"0 */30 * * * ?", "Europe/Berlin", "2026-03-29T00:00:00Z",
     "2026-03-29T00:30:00Z,2026-03-29T01:00:00Z,2026-03-29T01:30:00Z,2026-03-29T02:00:00Z",
     "Quartz every 30 minutes across the spring change"},
    {"0 */30 * * * ?", "Europe/Berlin", "2026-10-25T00:00:00Z",
     "2026-10-25T00:30:00Z,2026-10-25T01:00:00Z,2026-10-25T01:30:00Z,2026-10-25T02:00:00Z",
     "Quartz every 30 minutes across the autumn change"},
    {"30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z,2026-03-09T06:30:00Z",
     "02:30 in the spring gap fires at the change"},
    {"0 30 2 * * ?", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z,2026-03-09T06:30:00Z",
     "the same in Quartz"},
    {"30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z,2026-11-02T06:30:00Z",
     "01:30 in the autumn overlap fires once (EDT)"},
    {"0 30 1 * * ?", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z,2026-11-02T06:30:00Z",
     "the same in Quartz"},
    {"*/15 * * * *", "America/New_York", "2026-03-08T06:30:00Z",
     "2026-03-08T06:45:00Z,2026-03-08T07:00:00Z,2026-03-08T07:15:00Z", "every 15 minutes across the spring change"},
    {"*/15 * * * *", "America/New_York", "2026-11-01T05:30:00Z",
     "2026-11-01T05:45:00Z,2026-11-01T06:00:00Z,2026-11-01T06:15:00Z", "every 15 minutes across the autumn change"},
    {"0 */30 * * * ?", "America/New_York", "2026-03-08T06:00:00Z",
     "2026-03-08T06:30:00Z,2026-03-08T07:00:00Z,2026-03-08T07:30:00Z", "Quartz every 30 minutes, spring"},
    {"0 */30 * * * ?", "America/New_York", "2026-11-01T05:00:00Z",
     "2026-11-01T05:30:00Z,2026-11-01T06:00:00Z,2026-11-01T06:30:00Z", "Quartz every 30 minutes, autumn"},
    {"0 12 * * *", "Europe/Berlin", "2026-06-01T00:00:00Z", "2026-06-01T10:00:00Z", "summer time: UTC+2"},
    /* after the file's last listed transition (2037): the footer's POSIX rule */
    {"0 12 * * *", "Europe/Berlin", "2100-03-26T00:00:00Z",
     "2100-03-26T11:00:00Z,2100-03-27T11:00:00Z,2100-03-28T10:00:00Z", "2100 from the footer rule"},
    {"30 2 * * *", "Europe/Berlin", "2100-03-27T12:00:00Z", "2100-03-28T01:00:00Z", "2100's spring gap"},
    {"0 12 * * *", "UTC", "2026-06-01T00:00:00Z", "2026-06-01T12:00:00Z", "UTC by name"},
};

static void test_dst(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(dstCases) / sizeof(dstCases[0]); i++) {
        const DstCase *d = &dstCases[i];
        print_message("# %s %s: %s\n", d->tz, d->expr, d->what);
        expectNext(d->expr, d->tz, d->start, d->want);
    }
}

/* The interval of an interval schedule holds over a whole year of changes. */
static void test_interval_holds_all_year(void **state) {
    (void)state;
    const char *zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"};
    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
        LbError err = {0};
        CronSchedule *c = cronParse("*/30 * * * *", zones[z], &err);
        assert_non_null(c);
        int64_t t = at("2026-01-01T00:00:00Z"), end = at("2027-01-01T00:00:00Z");
        while (t < end) {
            int64_t next;
            assert_true(cronNext(c, t, &next));
            if (next - t != 1800)
                fail_msg("%s: %lld -> %lld", zones[z], (long long)t, (long long)next);
            t = next;
        }
        cronFree(c);
    }
}

/* A "slim" TZif file lists almost no transitions and leaves the years to its
 * footer's POSIX rule: built with zic -b slim, read through $TZDIR. Test/South
 * changes at 24:00 on a Saturday (M9.1.6/24, M4.1.6/24) with <-04> names. */
static void test_slim_zone_file(void **state) {
    (void)state;
    char dir[] = "/tmp/lifeboat-tz.XXXXXX", cmd[512], path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/src", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("Rule EU 1981 max - Mar lastSun 1:00u 1:00 S\n"
          "Rule EU 1996 max - Oct lastSun 1:00u 0 -\n"
          "Zone Test/Slim 1:00 EU CE%sT\n"
          "Rule SO 2000 max - Sep Sun>=2 4:00u 1:00 -\n"
          "Rule SO 2000 max - Apr Sun>=2 3:00u 0 -\n"
          "Zone Test/South -4:00 SO -04/-03\n",
          f);
    fclose(f);
    const char *zic = access("/usr/sbin/zic", X_OK) == 0 ? "/usr/sbin/zic" : "zic";
    snprintf(cmd, sizeof(cmd), "%s -b slim -d %s/zi %s", zic, dir, path);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/zi", dir);
    setenv("TZDIR", path, 1);
    expectNext("30 2 * * *", "Test/Slim", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z,2026-03-30T00:30:00Z");
    expectNext("30 2 * * *", "Test/Slim", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z,2026-10-26T01:30:00Z");
    expectNext("30 0 * * *", "Test/South", "2026-09-04T12:00:00Z",
               "2026-09-05T04:30:00Z,2026-09-06T04:00:00Z,2026-09-07T03:30:00Z");
    expectNext("30 23 * * *", "Test/South", "2027-04-02T12:00:00Z",
               "2027-04-03T02:30:00Z,2027-04-04T02:30:00Z,2027-04-05T03:30:00Z");
    expectNext("*/30 * * * *", "Test/South", "2027-04-04T02:00:00Z",
               "2027-04-04T02:30:00Z,2027-04-04T03:00:00Z,2027-04-04T03:30:00Z");
    unsetenv("TZDIR");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void *threadRun(void *arg) {
    const CronSchedule *c = arg;
    int64_t t = at("2026-01-01T00:00:00Z");
    for (int i = 0; i < 20000; i++)
        if (!cronNext(c, t, &t))
            return (void *)1;
    return t == at("2028-04-13T08:00:00Z") ? NULL : (void *)2;
}

/* One schedule used by several threads at once gives each the same answer. */
static void test_threads(void **state) {
    (void)state;
    LbError err = {0};
    CronSchedule *c = cronParse("0 * * * *", "Europe/Berlin", &err);
    assert_non_null(c);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, threadRun, c), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    cronFree(c);
}

static void expectError(const char *expr, const char *tz, const char *want) {
    LbError err = {0};
    CronSchedule *c = cronParse(expr, tz, &err);
    if (c != NULL)
        fail_msg("'%s' parsed; wanted the error \"%s\"", expr, want);
    assert_int_equal(err.code, LB_ERR_ARGS);
    if (strstr(err.msg, want) == NULL)
        fail_msg("'%s': \"%s\" does not contain \"%s\"", expr, err.msg, want);
}

static void test_errors(void **state) {
    (void)state;
    expectError("* * * *", NULL, "expected 5 fields (Vixie) or 6-7 (Quartz), got 4");
    expectError("", NULL, "got 0");
    expectError("1 2 3 4 5 6 7 8", NULL, "got 8");
    expectError("0 0 32 * *", NULL, "field 3 (day of month) '32': out of range 1-31");
    expectError("60 * * * *", NULL, "field 1 (minute) '60': out of range 0-59");
    expectError("99999999999 * * * *", NULL, "field 1 (minute) '99999999999': out of range 0-59");
    expectError("0 24 * * *", NULL, "field 2 (hour) '24': out of range 0-23");
    expectError("0 0 * 13 *", NULL, "field 4 (month) '13': out of range 1-12");
    expectError("0 0 * * 8", NULL, "field 5 (day of week) '8': out of range 0-7");
    expectError("0 0 0 ? * 0", NULL, "field 6 (day of week) '0': out of range 1-7");
    expectError("0 0 0 1 1 ? 2300", NULL, "field 7 (year) '2300': out of range 1970-2199");
    expectError("0 0 1 foo *", NULL, "field 4 (month) 'foo': not a number or a three-letter name");
    expectError("*/0 * * * *", NULL, "field 1 (minute) '*/0': step must be at least 1");
    expectError("5-1 * * * *", NULL, "field 1 (minute) '5-1': range 5-1 ends before it starts");
    expectError("1,,2 * * * *", NULL, "field 1 (minute) '1,,2': empty list item");
    expectError("1x * * * *", NULL, "field 1 (minute) '1x': unexpected 'x'");
    expectError("0 0 L * *", NULL, "field 3 (day of month) 'L': L, W and # are Quartz syntax");
    expectError("0 0 * * MON#2", NULL, "field 5 (day of week) 'MON#2': L, W and # are Quartz syntax");
    expectError("? * * * *", NULL, "field 1 (minute) '?': '?' is allowed only in day of month or day of week");
    expectError("0 ? 0 * * ?", NULL, "field 2 (minute) '?': '?' is allowed only in day of month or day of week");
    expectError("0 0 0 * * *", NULL, "field 6 (day of week) '*': Quartz needs '?' in day of month or day of week");
    expectError("0 0 0 ? * ?", NULL, "field 6 (day of week) '?': '?' in both day fields");
    expectError("0 0 0 ? * MON#6", NULL, "field 6 (day of week) 'MON#6': 'd#k' needs k in 1-5");
    expectError("0 0 0 L-31 * ?", NULL, "field 4 (day of month) 'L-31': 'L-n' needs n in 0-30");
    expectError("0 0 0 32W * ?", NULL, "field 4 (day of month) '32W': out of range 1-31");
    expectError("0 L 0 1 * ?", NULL, "field 2 (minute) 'L': L, W and # are allowed only in day of month");
    expectError("@reboot", NULL, "unknown macro '@reboot'");
    expectError("* * * * *", "Mars/Olympus_Mons", "unknown time zone 'Mars/Olympus_Mons': not found");
    expectError("* * * * *", "../../etc/passwd", "unknown time zone '../../etc/passwd'");
    expectError("* * * * *", "/etc/passwd", "unknown time zone '/etc/passwd'");
    expectError("* * * * *", "zone.tab", "is not a TZif file");
}

static void test_timezone_valid(void **state) {
    (void)state;
    LbError err = {0};
    assert_true(cronTimezoneValid(NULL, &err));
    assert_true(cronTimezoneValid("", &err));
    assert_true(cronTimezoneValid("UTC", &err));
    assert_true(cronTimezoneValid("Europe/Berlin", &err));
    assert_false(cronTimezoneValid("Europe/Nowhere", &err));
    assert_non_null(strstr(err.msg, "'Europe/Nowhere'"));
    assert_false(cronTimezoneValid("Europe/../Europe/Berlin", &err));
    /* $TZDIR is where zones are looked up */
    setenv("TZDIR", "/nonexistent", 1);
    assert_false(cronTimezoneValid("Europe/Berlin", &err));
    assert_non_null(strstr(err.msg, "not found in /nonexistent"));
    assert_true(cronTimezoneValid("UTC", &err));
    unsetenv("TZDIR");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_vixie_basics),
        cmocka_unit_test(test_never),
        cmocka_unit_test(test_quartz),
        cmocka_unit_test(test_dst),
        cmocka_unit_test(test_interval_holds_all_year),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_timezone_valid),
        cmocka_unit_test(test_slim_zone_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
