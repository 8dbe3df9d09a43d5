/*
 * test_policy.c - unit tests for src/retention/policy (keep/forget policy).
 *
 * Two kinds of tests:
 *
 * - Small hand-written tables whose kept sets and reason strings are listed
 *   literally: ISO weeks across a year end (2024-12-30 is 2025-W01), month
 *   ends, the leap day 2024-02-29, calendar arithmetic of durations, ties,
 *   groups, future snapshots, tags, the empty policy, unlimited counts, and
 *   the parsers.
 *
 * - A generated table: hourly snapshots for three years (2023-01-01 to
 *   2025-12-31, UTC) for three hosts with different minute offsets, whole
 *   days and months missing, random hours dropped (fixed seed), double
 *   snapshots in some hours, exact duplicates of time, and tags. It is fed to
 *   retentionApply in shuffled order, and for each rule alone and for several
 *   combinations the result is compared item by item (keep flag, every reason
 *   bit, every tag-list bit) with a brute-force reference written
 *   differently: calendar fields from Howard Hinnant's days/civil
 *   algorithms instead of gmtime/timegm, ISO weeks from the Thursday rule
 *   instead of day counts, and buckets from a hash map "bucket -> newest",
 *   sorted descending and cut at N, instead of a newest-first walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retention/policy.h"

#define NS INT64_C(1000000000)

/***********************************************************************************************************************
 * Calendar helpers (independent of the module: no libc time functions)
 **********************************************************************************************************************/

static int64_t divFloor(int64_t a, int64_t b) {
    int64_t q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian). */
static int64_t daysFromCivil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = divFloor(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civilFromDays(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    int64_t era = divFloor(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t T(int y, int mo, int d, int h, int mi, int s) {
    return ((daysFromCivil(y, mo, d) * 86400) + h * 3600 + mi * 60 + s) * NS;
}

static void fmtTime(int64_t ns, char *buf, size_t n) {
    int64_t sec = divFloor(ns, NS);
    int64_t days = divFloor(sec, 86400);
    int64_t sod = sec - days * 86400;
    int64_t y;
    int m, d;
    civilFromDays(days, &y, &m, &d);
    snprintf(buf, n, "%04lld-%02d-%02d %02lld:%02lld:%02lld.%09lld", (long long)y, m, d, (long long)(sod / 3600),
             (long long)(sod / 60 % 60), (long long)(sod % 60), (long long)(ns - sec * NS));
}

/* Reference bucket keys: hour YYYYMMDDHH, day YYYYMMDD, ISO week YYYYWW (year
 * of the week's Thursday), month YYYYMM, year YYYY. Increasing with time. */
static int64_t refKey(int64_t ns, int rule) {
    int64_t sec = divFloor(ns, NS);
    int64_t days = divFloor(sec, 86400);
    int64_t hour = (sec - days * 86400) / 3600;
    int64_t y;
    int m, d;
    civilFromDays(days, &y, &m, &d);
    switch (rule) {
    case 0:
        return ((y * 100 + m) * 100 + d) * 100 + hour;
    case 1:
        return (y * 100 + m) * 100 + d;
    case 2: {
        int64_t weekday = ((days % 7) + 7 + 3) % 7; /* Monday = 0; 1970-01-01 was a Thursday */
        int64_t thursday = days - weekday + 3;
        int64_t ty;
        int tm, td;
        civilFromDays(thursday, &ty, &tm, &td);
        int64_t week = (thursday - daysFromCivil(ty, 1, 1)) / 7 + 1;
        return ty * 100 + week;
    }
    case 3:
        return y * 100 + m;
    default:
        return y;
    }
}

/* Reference "ns - duration": subtract years and months on the month count,
 * then add the day offset to the first of that month (which rolls "Feb 31"
 * over), then hours as 3600 s. */
static int64_t refSubtract(int64_t ns, const RetentionDuration *dur) {
    int64_t sec = divFloor(ns, NS);
    int64_t frac = ns - sec * NS;
    int64_t days = divFloor(sec, 86400);
    int64_t sod = sec - days * 86400;
    int64_t y;
    int m, d;
    civilFromDays(days, &y, &m, &d);
    int64_t months = y * 12 + (m - 1) - (int64_t)dur->years * 12 - dur->months;
    int64_t ny = divFloor(months, 12);
    int nm = (int)(months - ny * 12) + 1;
    int64_t nd = daysFromCivil(ny, nm, 1) + (d - 1) - dur->days;
    return (nd * 86400 + sod - (int64_t)dur->hours * 3600) * NS + frac;
}

static RetentionDuration D(const char *s) {
    RetentionDuration d = {0};
    LbError err = {0};
    if (!retentionParseDuration(s, &d, &err))
        fail_msg("duration '%s': %s", s, err.msg);
    return d;
}

/***********************************************************************************************************************
 * Small-table helpers
 **********************************************************************************************************************/

/* Apply p to items (one group unless set) and return a bitmask of kept indexes (n <= 64). */
static uint64_t keptMask(const RetentionPolicy *p, const RetentionItem *items, size_t n, int64_t now,
                         RetentionDecision *out) {
    LbError err = {0};
    assert_true(n <= 64);
    bool ok = retentionApply(p, items, n, now, out, &err);
    if (!ok)
        fail_msg("retentionApply: %s", err.msg);
    uint64_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].keep, out[i].reasons != 0);
        if (out[i].keep)
            mask |= UINT64_C(1) << i;
    }
    return mask;
}

static void assertReasons(const RetentionPolicy *p, const RetentionDecision *d, const char *want) {
    char buf[512];
    size_t len = retentionReasonString(p, d, buf, sizeof(buf));
    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
}

#define BIT(i) (UINT64_C(1) << (i))

/***********************************************************************************************************************
 * Hand-written tables
 **********************************************************************************************************************/

/* 2024-12-30 (Monday) starts ISO week 2025-W01 while still being in calendar year 2024. */
static void testIsoWeekYearEnd(void **state) {
    (void)state;
    RetentionItem it[] = {
        {.timeNs = T(2024, 12, 28, 10, 0, 0)},   /* 0 Sat 2024-W52 */
        {.timeNs = T(2024, 12, 29, 23, 59, 59)}, /* 1 Sun 2024-W52 */
        {.timeNs = T(2024, 12, 30, 0, 0, 0)},    /* 2 Mon 2025-W01, year 2024 */
        {.timeNs = T(2025, 1, 1, 12, 0, 0)},     /* 3 Wed 2025-W01 */
        {.timeNs = T(2025, 1, 5, 23, 0, 0)},     /* 4 Sun 2025-W01 */
        {.timeNs = T(2025, 1, 6, 0, 0, 0)},      /* 5 Mon 2025-W02 */
    };
    size_t n = sizeof(it) / sizeof(it[0]);
    RetentionDecision out[6];

    RetentionPolicy p = {.keepWeekly = 2};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(5) | BIT(4));
    p = (RetentionPolicy){.keepWeekly = 3};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(5) | BIT(4) | BIT(1));
    /* A fourth week does not exist: the oldest snapshot is kept as "oldest". */
    p = (RetentionPolicy){.keepWeekly = 4};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(5) | BIT(4) | BIT(1) | BIT(0));
    assertReasons(&p, &out[0], "oldest weekly snapshot");
    assertReasons(&p, &out[1], "weekly snapshot");

    /* Years are calendar years: 2024-12-30 is the newest of 2024. */
    p = (RetentionPolicy){.keepYearly = 2};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(5) | BIT(2));
    p = (RetentionPolicy){.keepYearly = 5, .keepWeekly = 4};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(5) | BIT(4) | BIT(2) | BIT(1) | BIT(0));
    assertReasons(&p, &out[5], "weekly snapshot, yearly snapshot");
    assertReasons(&p, &out[2], "yearly snapshot");
    assertReasons(&p, &out[0], "oldest weekly snapshot, oldest yearly snapshot");

    p = (RetentionPolicy){.keepDaily = 3};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(5) | BIT(4) | BIT(3));

    /* Within-weekly 8d of 2025-01-06 00:00: cutoff 2024-12-29 00:00. */
    p = (RetentionPolicy){.withinWeekly = D("8d")};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(5) | BIT(4) | BIT(1));
    assertReasons(&p, &out[1], "weekly within 8d");
}

static void testMonthEndAndLeapDay(void **state) {
    (void)state;
    RetentionItem it[] = {
        {.timeNs = T(2024, 1, 31, 23, 59, 59)}, /* 0 */
        {.timeNs = T(2024, 2, 1, 0, 0, 0)},     /* 1 */
        {.timeNs = T(2024, 2, 28, 23, 0, 0)},   /* 2 */
        {.timeNs = T(2024, 2, 29, 12, 0, 0)},   /* 3 leap day */
        {.timeNs = T(2024, 3, 1, 0, 0, 0)},     /* 4 */
    };
    size_t n = 5;
    RetentionDecision out[5];

    RetentionPolicy p = {.keepMonthly = 2};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(4) | BIT(3));
    p = (RetentionPolicy){.keepMonthly = 3};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(4) | BIT(3) | BIT(0));
    assertReasons(&p, &out[0], "monthly snapshot");
    /* Five distinct days; the oldest is the newest of its day, so not "oldest". */
    p = (RetentionPolicy){.keepDaily = 10};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), 0x1f);
    assertReasons(&p, &out[0], "daily snapshot");
    p = (RetentionPolicy){.keepHourly = 2};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(4) | BIT(3));

    /* Same month in consecutive years, nothing in between: distinct buckets. */
    RetentionItem years[] = {
        {.timeNs = T(2024, 3, 15, 0, 0, 0)},    /* 0 */
        {.timeNs = T(2023, 3, 20, 0, 0, 0)},    /* 1 */
        {.timeNs = T(2022, 3, 1, 0, 0, 0)},     /* 2 */
        {.timeNs = T(2022, 3, 1, 0, 0, 0) - 1}, /* 3 2022-02-28 23:59:59.999999999 */
    };
    p = (RetentionPolicy){.keepMonthly = 3};
    assert_int_equal(keptMask(&p, years, 4, RETENTION_NOW_NONE, out), BIT(0) | BIT(1) | BIT(2));
    p = (RetentionPolicy){.keepDaily = 3};
    assert_int_equal(keptMask(&p, years, 4, RETENTION_NOW_NONE, out), BIT(0) | BIT(1) | BIT(2));
    p = (RetentionPolicy){.keepHourly = 4};
    assert_int_equal(keptMask(&p, years, 4, RETENTION_NOW_NONE, out), 0xf);
    p = (RetentionPolicy){.withinMonthly = D("2y1d")}; /* after 2022-03-14 */
    assert_int_equal(keptMask(&p, years, 4, RETENTION_NOW_NONE, out), BIT(0) | BIT(1));

    /* Buckets a whole cycle apart (365 days; even years) stay distinct. */
    RetentionItem apart[] = {
        {.timeNs = T(2024, 6, 1, 12, 0, 0)}, /* 0 */
        {.timeNs = T(2023, 6, 2, 12, 0, 0)}, /* 1 365 days earlier */
        {.timeNs = T(2022, 1, 1, 0, 0, 0)},  /* 2 */
        {.timeNs = T(2020, 5, 5, 0, 0, 0)},  /* 3 no 2021 */
    };
    p = (RetentionPolicy){.keepDaily = 4};
    assert_int_equal(keptMask(&p, apart, 4, RETENTION_NOW_NONE, out), 0xf);
    p = (RetentionPolicy){.keepYearly = 4};
    assert_int_equal(keptMask(&p, apart, 4, RETENTION_NOW_NONE, out), 0xf);
    assertReasons(&p, &out[3], "yearly snapshot"); /* a bucket of its own, not "oldest" */
    p = (RetentionPolicy){.keepWeekly = 4};
    assert_int_equal(keptMask(&p, apart, 4, RETENTION_NOW_NONE, out), 0xf);

    /* within 1d of 2024-03-01 00:00 = after 2024-02-29 00:00 (the leap day exists). */
    p = (RetentionPolicy){.within = D("1d")};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(4) | BIT(3));
    /* within 1m of 2024-03-01 = after 2024-02-01 00:00 (strictly): item 1 is out. */
    p = (RetentionPolicy){.within = D("1m")};
    assert_int_equal(keptMask(&p, it, n, RETENTION_NOW_NONE, out), BIT(4) | BIT(3) | BIT(2));
    assertReasons(&p, &out[4], "within 1m");
}

static void testDurationSubtract(void **state) {
    (void)state;
    const struct {
        int64_t from;
        const char *dur;
        int64_t want;
    } c[] = {
        {T(2024, 3, 31, 0, 0, 0), "1m", T(2024, 3, 2, 0, 0, 0)},   /* "2024-02-31" rolls over */
        {T(2024, 2, 29, 12, 0, 0), "1y", T(2023, 3, 1, 12, 0, 0)}, /* "2023-02-29" rolls over */
        {T(2025, 2, 28, 0, 0, 0), "1y", T(2024, 2, 28, 0, 0, 0)},
        {T(2024, 3, 29, 12, 0, 0), "1m", T(2024, 2, 29, 12, 0, 0)},
        {T(2025, 1, 15, 10, 30, 0), "2y5m7d3h", T(2022, 8, 8, 7, 30, 0)},
        {T(2025, 1, 15, 10, 30, 0), "3h7d5m2y", T(2022, 8, 8, 7, 30, 0)},
        {T(2024, 3, 1, 0, 0, 0), "1d", T(2024, 2, 29, 0, 0, 0)},
        {T(2023, 3, 1, 0, 0, 0), "1d", T(2023, 2, 28, 0, 0, 0)},
        {T(2024, 1, 1, 1, 0, 0), "2h", T(2023, 12, 31, 23, 0, 0)},
        {T(2024, 1, 1, 0, 0, 0), "1m", T(2023, 12, 1, 0, 0, 0)},
        {T(2024, 5, 10, 6, 0, 0), "35d", T(2024, 4, 5, 6, 0, 0)},
        {T(2024, 5, 10, 6, 0, 0), "48h", T(2024, 5, 8, 6, 0, 0)},
        {T(2024, 5, 31, 0, 0, 0), "3m", T(2024, 3, 2, 0, 0, 0)}, /* "2024-02-31" */
        {T(2024, 12, 31, 0, 0, 0), "10m", T(2024, 3, 2, 0, 0, 0)},
        {T(1970, 1, 1, 0, 0, 0), "1y", T(1969, 1, 1, 0, 0, 0)},
        {T(2024, 1, 1, 0, 0, 0) + 123, "1d", T(2023, 12, 31, 0, 0, 0) + 123}, /* fraction kept */
        {T(1970, 1, 1, 0, 0, 0) - 1, "1h", T(1969, 12, 31, 22, 59, 59) + NS - 1},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        RetentionDuration d = D(c[i].dur);
        int64_t got = retentionDurationSubtract(c[i].from, &d);
        if (got != c[i].want) {
            char a[64], b[64], f[64];
            fmtTime(c[i].from, f, sizeof(f));
            fmtTime(got, a, sizeof(a));
            fmtTime(c[i].want, b, sizeof(b));
            fail_msg("%s - %s: got %s, want %s", f, c[i].dur, a, b);
        }
        assert_int_equal(got, refSubtract(c[i].from, &d));
    }
    /* Far beyond the nanosecond range: clamped. */
    RetentionDuration huge = D("1000000y");
    assert_true(retentionDurationSubtract(0, &huge) == INT64_MIN);
    RetentionDuration big = D("400y");
    assert_true(retentionDurationSubtract(T(1800, 1, 1, 0, 0, 0), &big) == INT64_MIN);
}

/* The keep-within boundary is strict: exactly newest - D is not kept. */
static void testWithinBoundary(void **state) {
    (void)state;
    RetentionItem it[] = {
        {.timeNs = T(2024, 3, 29, 12, 0, 0)},     /* 0 newest */
        {.timeNs = T(2024, 2, 29, 12, 0, 0)},     /* 1 exactly newest - 1m */
        {.timeNs = T(2024, 2, 29, 12, 0, 0) + 1}, /* 2 one ns later */
        {.timeNs = T(2024, 3, 10, 0, 0, 0)},      /* 3 */
        {.timeNs = T(2023, 12, 24, 0, 0, 0)},     /* 4 */
    };
    RetentionDecision out[5];
    RetentionPolicy p = {.within = D("1m")};
    assert_int_equal(keptMask(&p, it, 5, RETENTION_NOW_NONE, out), BIT(0) | BIT(2) | BIT(3));
    p = (RetentionPolicy){.within = D("1y")}; /* 2023-03-29 12:00 */
    assert_int_equal(keptMask(&p, it, 5, RETENTION_NOW_NONE, out), 0x1f);
    p = (RetentionPolicy){.within = D("3h")};
    assert_int_equal(keptMask(&p, it, 5, RETENTION_NOW_NONE, out), BIT(0));
}

/* The example of restic's forum thread "keep vs keep-within". */
static void testKeepDailyVersusWithinDaily(void **state) {
    (void)state;
    RetentionItem it[] = {
        {.timeNs = T(2023, 5, 1, 8, 0, 0)},  /* 0 a1 */
        {.timeNs = T(2023, 5, 2, 8, 0, 0)},  /* 1 a2 */
        {.timeNs = T(2023, 5, 2, 11, 0, 0)}, /* 2 a3 */
        {.timeNs = T(2023, 5, 4, 9, 0, 0)},  /* 3 a4 */
        {.timeNs = T(2023, 5, 5, 10, 0, 0)}, /* 4 a5 */
        {.timeNs = T(2023, 5, 1, 7, 0, 0)},  /* 5 a0, the oldest */
    };
    RetentionDecision out[6];
    RetentionPolicy p = {.keepDaily = 4};
    assert_int_equal(keptMask(&p, it, 5, RETENTION_NOW_NONE, out), BIT(0) | BIT(2) | BIT(3) | BIT(4));
    p = (RetentionPolicy){.withinDaily = D("4d")}; /* after May 1 10:00 */
    assert_int_equal(keptMask(&p, it, 5, RETENTION_NOW_NONE, out), BIT(2) | BIT(3) | BIT(4));
    assertReasons(&p, &out[4], "daily within 4d");
    p = (RetentionPolicy){.withinDaily = D("5d")}; /* after Apr 30 10:00: May 1 is in */
    assert_int_equal(keptMask(&p, it, 5, RETENTION_NOW_NONE, out), BIT(0) | BIT(2) | BIT(3) | BIT(4));
    assertReasons(&p, &out[0], "daily within 5d");
    /* With a0 the window outlasts the data: a0 is kept as the oldest. */
    p = (RetentionPolicy){.withinDaily = D("10d")};
    assert_int_equal(keptMask(&p, it, 6, RETENTION_NOW_NONE, out), BIT(0) | BIT(2) | BIT(3) | BIT(4) | BIT(5));
    assertReasons(&p, &out[5], "oldest daily within 10d");
    /* ...but not when the window ends before it. */
    p = (RetentionPolicy){.withinDaily = D("4d")};
    assert_int_equal(keptMask(&p, it, 6, RETENTION_NOW_NONE, out), BIT(2) | BIT(3) | BIT(4));
    /* keep-daily 5 over 4 days: a0 as the oldest daily snapshot. */
    p = (RetentionPolicy){.keepDaily = 5};
    assert_int_equal(keptMask(&p, it, 6, RETENTION_NOW_NONE, out), BIT(0) | BIT(2) | BIT(3) | BIT(4) | BIT(5));
    assertReasons(&p, &out[5], "oldest daily snapshot");
    assertReasons(&p, &out[0], "daily snapshot");
    /* keep-daily 4 over 4 days: no count left, a0 goes. */
    p = (RetentionPolicy){.keepDaily = 4};
    assert_int_equal(keptMask(&p, it, 6, RETENTION_NOW_NONE, out), BIT(0) | BIT(2) | BIT(3) | BIT(4));
}

/* restic's documentation example: one backup every Sunday for 12 weeks, --keep-daily 4. */
static void testSundaysKeepDaily(void **state) {
    (void)state;
    RetentionItem it[12];
    for (int w = 0; w < 12; w++)
        it[w] = (RetentionItem){.timeNs = T(2019, 9, 1, 11, 0, 0) + (int64_t)w * 7 * 86400 * NS};
    RetentionDecision out[12];
    RetentionPolicy p = {.keepDaily = 4};
    assert_int_equal(keptMask(&p, it, 12, RETENTION_NOW_NONE, out), BIT(8) | BIT(9) | BIT(10) | BIT(11));
    assert_int_equal(it[11].timeNs, T(2019, 11, 17, 11, 0, 0));
    assertReasons(&p, &out[8], "daily snapshot");
}

static void testUnlimited(void **state) {
    (void)state;
    RetentionItem it[] = {
        {.timeNs = T(2024, 6, 1, 1, 0, 0)},  /* 0 oldest */
        {.timeNs = T(2024, 6, 1, 13, 0, 0)}, /* 1 */
        {.timeNs = T(2024, 6, 2, 1, 0, 0)},  /* 2 */
        {.timeNs = T(2024, 6, 2, 13, 0, 0)}, /* 3 */
        {.timeNs = T(2024, 6, 3, 1, 0, 0)},  /* 4 */
        {.timeNs = T(2024, 6, 3, 13, 0, 0)}, /* 5 */
    };
    RetentionDecision out[6];
    RetentionPolicy p = {.keepLast = RETENTION_UNLIMITED};
    assert_int_equal(keptMask(&p, it, 6, RETENTION_NOW_NONE, out), 0x3f);
    assertReasons(&p, &out[0], "last snapshot");
    p = (RetentionPolicy){.keepDaily = RETENTION_UNLIMITED};
    assert_int_equal(keptMask(&p, it, 6, RETENTION_NOW_NONE, out), BIT(5) | BIT(3) | BIT(1) | BIT(0));
    assertReasons(&p, &out[0], "oldest daily snapshot");
    p = (RetentionPolicy){.keepHourly = RETENTION_UNLIMITED};
    assert_int_equal(keptMask(&p, it, 6, RETENTION_NOW_NONE, out), 0x3f);
    p = (RetentionPolicy){.keepMonthly = RETENTION_UNLIMITED, .keepLast = 2};
    assert_int_equal(keptMask(&p, it, 6, RETENTION_NOW_NONE, out), BIT(5) | BIT(4) | BIT(0));
    assertReasons(&p, &out[5], "last snapshot, monthly snapshot");
    assertReasons(&p, &out[0], "oldest monthly snapshot");
    /* A lone snapshot is "last", "daily", never "oldest". */
    p = (RetentionPolicy){.keepLast = 1, .keepDaily = RETENTION_UNLIMITED, .withinDaily = D("1d")};
    assert_int_equal(keptMask(&p, it, 1, RETENTION_NOW_NONE, out), BIT(0));
    assertReasons(&p, &out[0], "last snapshot, daily snapshot, daily within 1d");
}

/* Equal times: the item earlier in the input counts as the newer one. */
static void testTies(void **state) {
    (void)state;
    int64_t t = T(2024, 8, 8, 8, 8, 8);
    RetentionItem it[] = {
        {.timeNs = t - 3600 * NS}, /* 0 */
        {.timeNs = t},             /* 1 */
        {.timeNs = t},             /* 2 */
    };
    RetentionDecision out[3];
    RetentionPolicy p = {.keepLast = 1};
    assert_int_equal(keptMask(&p, it, 3, RETENTION_NOW_NONE, out), BIT(1));
    p = (RetentionPolicy){.keepLast = 2};
    assert_int_equal(keptMask(&p, it, 3, RETENTION_NOW_NONE, out), BIT(1) | BIT(2));
    p = (RetentionPolicy){.keepDaily = 1};
    assert_int_equal(keptMask(&p, it, 3, RETENTION_NOW_NONE, out), BIT(1));
    p = (RetentionPolicy){.keepHourly = 1};
    assert_int_equal(keptMask(&p, it, 3, RETENTION_NOW_NONE, out), BIT(1));
    /* The oldest of a tie is the later input. */
    RetentionItem two[] = {{.timeNs = t}, {.timeNs = t}};
    p = (RetentionPolicy){.keepDaily = 5};
    assert_int_equal(keptMask(&p, two, 2, RETENTION_NOW_NONE, out), BIT(0) | BIT(1));
    assertReasons(&p, &out[0], "daily snapshot");
    assertReasons(&p, &out[1], "oldest daily snapshot");
    /* within: both equal to the newest, both kept. */
    p = (RetentionPolicy){.within = D("1h")};
    assert_int_equal(keptMask(&p, it, 3, RETENTION_NOW_NONE, out), BIT(1) | BIT(2));
}

static void testGroups(void **state) {
    (void)state;
    RetentionItem it[] = {
        {.timeNs = T(2024, 5, 10, 0, 0, 0), .group = "host=a"},  /* 0 */
        {.timeNs = T(2024, 5, 9, 1, 0, 0), .group = "host=a"},   /* 1 */
        {.timeNs = T(2024, 5, 8, 0, 0, 0), .group = "host=a"},   /* 2 */
        {.timeNs = T(2024, 1, 1, 0, 0, 0), .group = "host=b"},   /* 3 */
        {.timeNs = T(2023, 12, 31, 1, 0, 0), .group = "host=b"}, /* 4 */
        {.timeNs = T(2023, 12, 30, 0, 0, 0), .group = "host=b"}, /* 5 */
        {.timeNs = T(2020, 1, 1, 0, 0, 0), .group = NULL},       /* 6 same group as "" */
        {.timeNs = T(2019, 1, 1, 0, 0, 0), .group = ""},         /* 7 */
    };
    RetentionDecision out[8];
    RetentionPolicy p = {.within = D("1d")};
    assert_int_equal(keptMask(&p, it, 8, RETENTION_NOW_NONE, out), BIT(0) | BIT(1) | BIT(3) | BIT(4) | BIT(6));
    p = (RetentionPolicy){.keepLast = 1};
    assert_int_equal(keptMask(&p, it, 8, RETENTION_NOW_NONE, out), BIT(0) | BIT(3) | BIT(6));
    p = (RetentionPolicy){.keepYearly = 1};
    assert_int_equal(keptMask(&p, it, 8, RETENTION_NOW_NONE, out), BIT(0) | BIT(3) | BIT(6));
}

/* Snapshots at or after "now" never serve as the reference of duration rules. */
static void testFuture(void **state) {
    (void)state;
    int64_t now = T(2024, 6, 1, 0, 0, 0);
    RetentionItem it[] = {
        {.timeNs = T(2024, 6, 5, 0, 0, 0)},   /* 0 future */
        {.timeNs = T(2024, 5, 31, 12, 0, 0)}, /* 1 reference */
        {.timeNs = T(2024, 5, 29, 13, 0, 0)}, /* 2 inside 2d of the reference, not of "now" */
        {.timeNs = T(2024, 5, 20, 0, 0, 0)},  /* 3 */
        {.timeNs = now},                      /* 4 "now" itself counts as future */
    };
    RetentionDecision out[5];
    RetentionPolicy p = {.within = D("2d")};
    assert_int_equal(keptMask(&p, it, 5, now, out), BIT(0) | BIT(1) | BIT(2) | BIT(4));
    /* Without a clock, the future snapshot is the reference (cutoff 2024-06-03). */
    assert_int_equal(keptMask(&p, it, 5, RETENTION_NOW_NONE, out), BIT(0));
    p = (RetentionPolicy){.withinDaily = D("2d")};
    assert_int_equal(keptMask(&p, it, 5, now, out), BIT(0) | BIT(4) | BIT(1) | BIT(2));
    /* Count rules are not about durations: the future snapshot is the last one. */
    p = (RetentionPolicy){.keepLast = 1};
    assert_int_equal(keptMask(&p, it, 5, now, out), BIT(0));
    /* Everything in the future: every snapshot is inside every window. */
    p = (RetentionPolicy){.within = D("1h")};
    assert_int_equal(keptMask(&p, it, 5, T(2000, 1, 1, 0, 0, 0), out), 0x1f);
    p = (RetentionPolicy){.withinMonthly = D("1h")};
    assert_int_equal(keptMask(&p, it, 5, T(2000, 1, 1, 0, 0, 0), out), BIT(0) | BIT(1) | BIT(3));
    assertReasons(&p, &out[3], "oldest monthly within 1h");
}

static void testTags(void **state) {
    (void)state;
    static const char *const manual[] = {"manual"};
    static const char *const a[] = {"a"};
    static const char *const abc[] = {"c", "b", "a"};
    static const char *const ba[] = {"b", "a"};
    static const char *const ab2[] = {"ab"};
    RetentionItem it[] = {
        {.timeNs = T(2024, 1, 1, 0, 0, 0), .tags = manual, .tagCount = 1}, /* 0 */
        {.timeNs = T(2024, 1, 2, 0, 0, 0), .tags = a, .tagCount = 1},      /* 1 */
        {.timeNs = T(2024, 1, 3, 0, 0, 0), .tags = abc, .tagCount = 3},    /* 2 */
        {.timeNs = T(2024, 1, 4, 0, 0, 0)},                                /* 3 untagged */
        {.timeNs = T(2024, 1, 5, 0, 0, 0), .tags = ba, .tagCount = 2},     /* 4 */
        {.timeNs = T(2024, 1, 6, 0, 0, 0), .tags = ab2, .tagCount = 1},    /* 5 "ab" is not "a" */
        {.timeNs = T(2024, 1, 7, 0, 0, 0)},                                /* 6 untagged, newest */
    };
    RetentionDecision out[7];
    const char *lists[] = {"manual", "a,b", ""};
    RetentionPolicy p = {.keepTags = lists, .keepTagCount = 3};
    assert_int_equal(keptMask(&p, it, 7, RETENTION_NOW_NONE, out), BIT(0) | BIT(2) | BIT(3) | BIT(4) | BIT(6));
    assert_int_equal(out[0].tagMatches, BIT(0));
    assert_int_equal(out[2].tagMatches, BIT(1));
    assert_int_equal(out[3].tagMatches, BIT(2));
    assert_int_equal(out[5].tagMatches, 0);
    assertReasons(&p, &out[0], "tag 'manual'");
    assertReasons(&p, &out[2], "tag 'a,b'");
    assertReasons(&p, &out[3], "untagged");

    const char *lists2[] = {"a", "b,a"};
    p = (RetentionPolicy){.keepTags = lists2, .keepTagCount = 2, .keepLast = 1};
    assert_int_equal(keptMask(&p, it, 7, RETENTION_NOW_NONE, out), BIT(1) | BIT(2) | BIT(4) | BIT(6));
    assert_int_equal(out[2].tagMatches, BIT(0) | BIT(1));
    assertReasons(&p, &out[2], "tag 'a', tag 'b,a'");
    assertReasons(&p, &out[6], "last snapshot");
    assert_int_equal(retentionReasonCount(&p, &out[2]), 2);
    char buf[64];
    assert_int_equal(retentionReasonAt(&p, &out[2], 1, buf, sizeof(buf)), strlen("tag 'b,a'"));
    assert_string_equal(buf, "tag 'b,a'");
}

static void testEmptyPolicy(void **state) {
    (void)state;
    RetentionPolicy p = {0};
    assert_true(retentionPolicyEmpty(&p));
    /* Every single rule makes it non-empty. */
    const char *lists[] = {"x"};
    for (int field = 0; field < 13; field++) {
        RetentionPolicy q = {0};
        switch (field) {
        case 0:
            q.keepLast = 1;
            break;
        case 1:
            q.keepHourly = RETENTION_UNLIMITED;
            break;
        case 2:
            q.keepDaily = 1;
            break;
        case 3:
            q.keepWeekly = 1;
            break;
        case 4:
            q.keepMonthly = 1;
            break;
        case 5:
            q.keepYearly = 1;
            break;
        case 6:
            q.within = D("1h");
            break;
        case 7:
            q.withinHourly = D("1h");
            break;
        case 8:
            q.withinDaily = D("1d");
            break;
        case 9:
            q.withinWeekly = D("1m");
            break;
        case 10:
            q.withinMonthly = D("1y");
            break;
        case 11:
            q.withinYearly = D("2y");
            break;
        default:
            q.keepTags = lists;
            q.keepTagCount = 1;
            break;
        }
        if (retentionPolicyEmpty(&q))
            fail_msg("policy with field %d set reported empty", field);
    }
    /* Applying it anyway keeps everything, and says why. */
    RetentionItem it[] = {{.timeNs = T(2024, 1, 1, 0, 0, 0)}, {.timeNs = T(2023, 1, 1, 0, 0, 0)}};
    RetentionDecision out[2];
    assert_int_equal(keptMask(&p, it, 2, RETENTION_NOW_NONE, out), 0x3);
    assert_int_equal(out[1].reasons, RETENTION_KEEP_EMPTY_POLICY);
    assertReasons(&p, &out[1], "policy is empty");
    char buf[64];
    retentionPolicyFormat(&p, buf, sizeof(buf));
    assert_string_equal(buf, "keep everything (empty policy)");
    /* n == 0 is fine with NULL arrays. */
    LbError err = {0};
    RetentionPolicy q = {.keepLast = 1};
    assert_true(retentionApply(&q, NULL, 0, RETENTION_NOW_NONE, NULL, &err));
}

static void testParseDuration(void **state) {
    (void)state;
    static const struct {
        const char *in;
        int y, m, d, h;
    } ok[] = {
        {"35d", 0, 0, 35, 0},           {"2y5m7d3h", 2, 5, 7, 3}, {"1h", 0, 0, 0, 1},
        {"3h2d", 0, 0, 2, 3},           {"0y1m", 0, 1, 0, 0},     {"007d", 0, 0, 7, 0},
        {"1000000y", 1000000, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        RetentionDuration d = {9, 9, 9, 9};
        LbError err = {0};
        if (!retentionParseDuration(ok[i].in, &d, &err))
            fail_msg("'%s' rejected: %s", ok[i].in, err.msg);
        assert_int_equal(d.years, ok[i].y);
        assert_int_equal(d.months, ok[i].m);
        assert_int_equal(d.days, ok[i].d);
        assert_int_equal(d.hours, ok[i].h);
    }
    static const struct {
        const char *in;
        const char *why;
    } bad[] = {
        {"", "empty"},
        {"d", "expected a number"},
        {"35", "without a unit"},
        {"35x", "unknown unit 'x'"},
        {"35D", "unknown unit 'D'"},
        {"1w", "unknown unit 'w'"},
        {"-1d", "expected a number"},
        {"1d1d", "twice"},
        {"1.5d", "unknown unit '.'"},
        {" 35d", "expected a number"},
        {"35d ", "expected a number"},
        {"0d", "greater than zero"},
        {"0y0h", "greater than zero"},
        {"1000001y", "too large"},
        {"99999999999999999999999d", "too large"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        RetentionDuration d = {9, 9, 9, 9};
        LbError err = {0};
        if (retentionParseDuration(bad[i].in, &d, &err))
            fail_msg("'%s' accepted", bad[i].in);
        assert_int_equal(err.code, LB_ERR_ARGS);
        char named[64];
        snprintf(named, sizeof(named), "'%s'", bad[i].in);
        if (strstr(err.msg, named) == NULL || strstr(err.msg, bad[i].why) == NULL)
            fail_msg("message for '%s' is \"%s\"", bad[i].in, err.msg);
        assert_int_equal(d.years, 9); /* untouched */
        assert_int_equal(d.hours, 9);
    }
    LbError err = {0};
    RetentionDuration d;
    assert_false(retentionParseDuration(NULL, &d, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
}

static void testDurationFormat(void **state) {
    (void)state;
    char buf[32];
    RetentionDuration d = D("3h7d5m2y");
    assert_int_equal(retentionDurationFormat(&d, buf, sizeof(buf)), 8);
    assert_string_equal(buf, "2y5m7d3h");
    d = D("35d");
    retentionDurationFormat(&d, buf, sizeof(buf));
    assert_string_equal(buf, "35d");
    d = (RetentionDuration){0};
    retentionDurationFormat(&d, buf, sizeof(buf));
    assert_string_equal(buf, "0h");
    d = D("2y5m7d3h");
    assert_int_equal(retentionDurationFormat(&d, buf, 4), 8); /* truncated, length still reported */
    assert_string_equal(buf, "2y5");
    assert_true(retentionDurationZero(&(RetentionDuration){0}));
    assert_false(retentionDurationZero(&d));
}

static void testParseCount(void **state) {
    (void)state;
    int v = 5;
    LbError err = {0};
    assert_true(retentionParseCount("7", &v, &err));
    assert_int_equal(v, 7);
    assert_true(retentionParseCount("0", &v, &err));
    assert_int_equal(v, 0);
    assert_true(retentionParseCount("unlimited", &v, &err));
    assert_int_equal(v, RETENTION_UNLIMITED);
    assert_true(retentionParseCount("-1", &v, &err));
    assert_int_equal(v, RETENTION_UNLIMITED);
    const char *bad[] = {"", "-2", "7d", "x", "1000000001", "99999999999999999999", " 7"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 5;
        if (retentionParseCount(bad[i], &v, &err))
            fail_msg("count '%s' accepted", bad[i]);
        assert_int_equal(err.code, LB_ERR_ARGS);
        char named[64];
        snprintf(named, sizeof(named), "'%s'", bad[i]);
        assert_non_null(strstr(err.msg, named));
        assert_int_equal(v, 5);
    }
}

static void testPolicyCheck(void **state) {
    (void)state;
    LbError err = {0};
    RetentionItem it[] = {{.timeNs = 0}};
    RetentionDecision out[1];

    RetentionPolicy p = {.keepDaily = -2};
    assert_false(retentionPolicyCheck(&p, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    assert_non_null(strstr(err.msg, "keep-daily"));
    assert_false(retentionApply(&p, it, 1, RETENTION_NOW_NONE, out, &err));

    p = (RetentionPolicy){.withinMonthly = {.days = -1}};
    assert_false(retentionPolicyCheck(&p, &err));
    assert_non_null(strstr(err.msg, "keep-within-monthly"));

    p = (RetentionPolicy){.keepLast = RETENTION_COUNT_MAX + 1};
    assert_false(retentionPolicyCheck(&p, &err));
    assert_non_null(strstr(err.msg, "keep-last"));

    const char *badLists[] = {"a,,b", ",a", "a,"};
    for (size_t i = 0; i < 3; i++) {
        p = (RetentionPolicy){.keepTags = &badLists[i], .keepTagCount = 1};
        assert_false(retentionPolicyCheck(&p, &err));
        assert_non_null(strstr(err.msg, badLists[i]));
    }
    const char *nullList[] = {NULL};
    p = (RetentionPolicy){.keepTags = nullList, .keepTagCount = 1};
    assert_false(retentionPolicyCheck(&p, &err));

    const char *many[RETENTION_MAX_TAG_LISTS + 1];
    for (size_t i = 0; i < RETENTION_MAX_TAG_LISTS + 1; i++)
        many[i] = "t";
    p = (RetentionPolicy){.keepTags = many, .keepTagCount = RETENTION_MAX_TAG_LISTS + 1};
    assert_false(retentionPolicyCheck(&p, &err));
    p.keepTagCount = RETENTION_MAX_TAG_LISTS;
    assert_true(retentionPolicyCheck(&p, &err));

    const char *good[] = {"a,b", ""};
    p = (RetentionPolicy){.keepLast = RETENTION_UNLIMITED, .within = D("1y"), .keepTags = good, .keepTagCount = 2};
    assert_true(retentionPolicyCheck(&p, &err));
}

static void testPolicyFormat(void **state) {
    (void)state;
    char buf[512];
    const char *lists[] = {"x", ""};
    RetentionPolicy p = {.keepLast = 3,
                         .keepDaily = 7,
                         .keepWeekly = 1,
                         .keepMonthly = RETENTION_UNLIMITED,
                         .withinDaily = D("7d"),
                         .within = D("35d"),
                         .keepTags = lists,
                         .keepTagCount = 2};
    const char *want = "keep the last 3 snapshots, 7 daily snapshots, 1 weekly snapshot, all monthly snapshots, daily "
                       "snapshots within 7d, all snapshots within 35d of the newest, snapshots tagged 'x', untagged "
                       "snapshots";
    assert_int_equal(retentionPolicyFormat(&p, buf, sizeof(buf)), strlen(want));
    assert_string_equal(buf, want);
    p = (RetentionPolicy){.keepLast = RETENTION_UNLIMITED};
    retentionPolicyFormat(&p, buf, sizeof(buf));
    assert_string_equal(buf, "keep all snapshots");
    p = (RetentionPolicy){.keepLast = 1};
    assert_int_equal(retentionPolicyFormat(&p, NULL, 0), strlen("keep the last 1 snapshot"));
}

static void testReasonStrings(void **state) {
    (void)state;
    const char *lists[] = {"x", "y,z"};
    RetentionPolicy p = {.keepLast = 1,
                         .keepDaily = 1,
                         .keepYearly = 1,
                         .within = D("35d"),
                         .withinHourly = D("2d"),
                         .withinYearly = D("75y"),
                         .keepTags = lists,
                         .keepTagCount = 2};
    RetentionDecision d = {.keep = true,
                           .reasons = RETENTION_KEEP_LAST | RETENTION_KEEP_DAILY | RETENTION_KEEP_OLDEST_YEARLY |
                                      RETENTION_KEEP_WITHIN | RETENTION_KEEP_WITHIN_HOURLY |
                                      RETENTION_KEEP_OLDEST_WITHIN_YEARLY | RETENTION_KEEP_TAG,
                           .tagMatches = BIT(0) | BIT(1)};
    const char *want = "last snapshot, daily snapshot, oldest yearly snapshot, within 35d, hourly within 2d, oldest "
                       "yearly within 75y, tag 'x', tag 'y,z'";
    assertReasons(&p, &d, want);
    assert_int_equal(retentionReasonCount(&p, &d), 8);
    char buf[16];
    assert_int_equal(retentionReasonString(&p, &d, buf, sizeof(buf)), strlen(want));
    assert_string_equal(buf, "last snapshot, ");
    assert_int_equal(retentionReasonAt(&p, &d, 3, buf, sizeof(buf)), strlen("within 35d"));
    assert_string_equal(buf, "within 35d");
    assert_int_equal(retentionReasonAt(&p, &d, 8, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    RetentionDecision none = {0};
    assertReasons(&p, &none, "");
    assert_int_equal(retentionReasonCount(&p, &none), 0);
}

/***********************************************************************************************************************
 * Generated table: three hosts, three years, hourly, with gaps
 **********************************************************************************************************************/

typedef struct Table {
    RetentionItem *items;
    size_t count;
    size_t cap;
} Table;

static Table table;

static const char *const groupNames[] = {"host=alpha", "host=bravo", "host=charlie"};
#define GROUPS 3

static const char *const tagWeekly[] = {"weekly-job"};
static const char *const tagManual[] = {"manual"};
static const char *const tagManualUpgrade[] = {"pre-upgrade", "manual"};

static uint64_t rngState;
static uint32_t rngNext(void) {
    rngState = rngState * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    return (uint32_t)(rngState >> 33);
}

static void tablePush(RetentionItem item) {
    if (table.count == table.cap) {
        table.cap = table.cap ? table.cap * 2 : 4096;
        table.items = realloc(table.items, table.cap * sizeof(*table.items));
        if (table.items == NULL)
            abort();
    }
    table.items[table.count++] = item;
}

/* Whole days and months each host misses. */
static bool hostSkipsDay(int host, int64_t y, int m, int d) {
    switch (host) {
    case 0: /* alpha: all of November 2023, two single days */
        return (y == 2023 && m == 11) || (y == 2023 && m == 3 && d == 15) || (y == 2025 && m == 6 && d == 2);
    case 1: /* bravo: all of July 2024, the leap day, new year's day 2025, a week in 2023 */
        return (y == 2024 && m == 7) || (y == 2024 && m == 2 && d == 29) || (y == 2025 && m == 1 && d == 1) ||
               (y == 2023 && m == 9 && d >= 4 && d <= 10);
    default: /* charlie: starts 2023-06-10, ends 2025-09-14, misses February 2025 */
        return (y == 2023 && (m < 6 || (m == 6 && d < 10))) || (y == 2025 && m == 2) ||
               (y == 2025 && (m > 9 || (m == 9 && d > 14)));
    }
}

static int tableSetup(void **state) {
    (void)state;
    rngState = 42;
    static const int64_t offset[GROUPS] = {17 * 60 * NS + 123456789, (23 * 60 + 30) * NS, (41 * 60 + 5) * NS};
    int64_t start = T(2023, 1, 1, 0, 0, 0);
    int64_t hours = (daysFromCivil(2026, 1, 1) - daysFromCivil(2023, 1, 1)) * 24;
    for (int host = 0; host < GROUPS; host++) {
        for (int64_t h = 0; h < hours; h++) {
            int64_t base = start + h * 3600 * NS;
            int64_t y;
            int m, d;
            civilFromDays(divFloor(base / NS, 86400), &y, &m, &d);
            if (hostSkipsDay(host, y, m, d))
                continue;
            if (rngNext() % 8 == 0) /* random hours dropped */
                continue;
            RetentionItem it = {.timeNs = base + offset[host], .group = groupNames[host]};
            uint32_t r = rngNext() % 1000;
            if (h % 168 == 5) {
                it.tags = tagWeekly;
                it.tagCount = 1;
            } else if (r < 5) {
                it.tags = tagManual;
                it.tagCount = 1;
            } else if (r < 7) {
                it.tags = tagManualUpgrade;
                it.tagCount = 2;
            }
            tablePush(it);
            /* alpha: a second snapshot in the noon hour every 5th day. */
            if (host == 0 && (h / 24) % 5 == 0 && h % 24 == 12)
                tablePush((RetentionItem){.timeNs = base + 47 * 60 * NS, .group = groupNames[host]});
            /* charlie: now and then an exact duplicate of the time. */
            if (host == 2 && rngNext() % 97 == 0)
                tablePush((RetentionItem){.timeNs = it.timeNs, .group = groupNames[host]});
        }
    }
    /* Shuffle so the input order says nothing about time or group. */
    for (size_t i = table.count - 1; i > 0; i--) {
        size_t j = rngNext() % (i + 1);
        RetentionItem tmp = table.items[i];
        table.items[i] = table.items[j];
        table.items[j] = tmp;
    }
    return 0;
}

static int tableTeardown(void **state) {
    (void)state;
    free(table.items);
    table = (Table){0};
    return 0;
}

/* --- reference ----------------------------------------------------------------------------------------------------*/

/* "a newer than b": later time, or same time and earlier in the input. */
static bool newer(const RetentionItem *items, size_t a, size_t b) {
    return items[a].timeNs > items[b].timeNs || (items[a].timeNs == items[b].timeNs && a < b);
}

typedef struct KeyMap {
    int64_t *keys;
    size_t *best;
    bool *used;
    size_t cap;
    int64_t *distinct;
    size_t distinctCount;
} KeyMap;

static void keyMapInit(KeyMap *km, size_t n) {
    km->cap = 16;
    while (km->cap < n * 2 + 1)
        km->cap *= 2;
    km->keys = calloc(km->cap, sizeof(*km->keys));
    km->best = calloc(km->cap, sizeof(*km->best));
    km->used = calloc(km->cap, sizeof(*km->used));
    km->distinct = calloc(n + 1, sizeof(*km->distinct));
    km->distinctCount = 0;
    assert_non_null(km->keys);
    assert_non_null(km->best);
    assert_non_null(km->used);
    assert_non_null(km->distinct);
}

static void keyMapFree(KeyMap *km) {
    free(km->keys);
    free(km->best);
    free(km->used);
    free(km->distinct);
}

static size_t keyMapSlot(const KeyMap *km, int64_t key) {
    size_t s = (size_t)(((uint64_t)key * UINT64_C(0x9E3779B97F4A7C15)) >> 17) & (km->cap - 1);
    while (km->used[s] && km->keys[s] != key)
        s = (s + 1) & (km->cap - 1);
    return s;
}

static void keyMapOffer(KeyMap *km, const RetentionItem *items, int64_t key, size_t idx) {
    size_t s = keyMapSlot(km, key);
    if (!km->used[s]) {
        km->used[s] = true;
        km->keys[s] = key;
        km->best[s] = idx;
        km->distinct[km->distinctCount++] = key;
    } else if (newer(items, idx, km->best[s])) {
        km->best[s] = idx;
    }
}

static size_t keyMapBest(const KeyMap *km, int64_t key) {
    size_t s = keyMapSlot(km, key);
    assert_true(km->used[s]);
    return km->best[s];
}

static int cmpInt64Desc(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : (x > y ? -1 : 0);
}

static const RetentionItem *sortItems;
/* Oldest first. */
static int cmpOldestFirst(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (x == y)
        return 0;
    return newer(sortItems, x, y) ? 1 : -1;
}

static bool refHasTagList(const RetentionItem *it, const char *list) {
    if (list[0] == '\0')
        return it->tagCount == 0;
    char copy[128];
    snprintf(copy, sizeof(copy), "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        bool found = false;
        for (size_t i = 0; i < it->tagCount; i++)
            if (strcmp(it->tags[i], tok) == 0)
                found = true;
        if (!found)
            return false;
    }
    return true;
}

static const uint32_t refBucketBit[5] = {RETENTION_KEEP_HOURLY, RETENTION_KEEP_DAILY, RETENTION_KEEP_WEEKLY,
                                         RETENTION_KEEP_MONTHLY, RETENTION_KEEP_YEARLY};
static const uint32_t refOldestBit[5] = {RETENTION_KEEP_OLDEST_HOURLY, RETENTION_KEEP_OLDEST_DAILY,
                                         RETENTION_KEEP_OLDEST_WEEKLY, RETENTION_KEEP_OLDEST_MONTHLY,
                                         RETENTION_KEEP_OLDEST_YEARLY};
static const uint32_t refWithinBit[5] = {RETENTION_KEEP_WITHIN_HOURLY, RETENTION_KEEP_WITHIN_DAILY,
                                         RETENTION_KEEP_WITHIN_WEEKLY, RETENTION_KEEP_WITHIN_MONTHLY,
                                         RETENTION_KEEP_WITHIN_YEARLY};
static const uint32_t refWithinOldestBit[5] = {
    RETENTION_KEEP_OLDEST_WITHIN_HOURLY, RETENTION_KEEP_OLDEST_WITHIN_DAILY, RETENTION_KEEP_OLDEST_WITHIN_WEEKLY,
    RETENTION_KEEP_OLDEST_WITHIN_MONTHLY, RETENTION_KEEP_OLDEST_WITHIN_YEARLY};

static bool durSet(const RetentionDuration *d) {
    return d->years || d->months || d->days || d->hours;
}

/* Rule r of the counted family (count) or the within family (window). */
static void refBuckets(const RetentionItem *items, const size_t *g, size_t m, size_t oldest, int rule, int count,
                       bool windowed, int64_t cutoff, bool allIn, uint32_t *reasons) {
    KeyMap km;
    keyMapInit(&km, m);
    for (size_t k = 0; k < m; k++) {
        if (windowed && !(allIn || items[g[k]].timeNs > cutoff))
            continue;
        keyMapOffer(&km, items, refKey(items[g[k]].timeNs, rule), g[k]);
    }
    qsort(km.distinct, km.distinctCount, sizeof(int64_t), cmpInt64Desc);
    size_t take = windowed || count == RETENTION_UNLIMITED
                      ? km.distinctCount
                      : (km.distinctCount < (size_t)count ? km.distinctCount : (size_t)count);
    for (size_t i = 0; i < take; i++)
        reasons[keyMapBest(&km, km.distinct[i])] |= windowed ? refWithinBit[rule] : refBucketBit[rule];
    /* Not enough buckets for the rule: the group's oldest is kept too. */
    bool short_ = windowed || count == RETENTION_UNLIMITED || km.distinctCount < (size_t)count;
    bool oldestIn = !windowed || allIn || items[oldest].timeNs > cutoff;
    if (short_ && oldestIn && keyMapBest(&km, refKey(items[oldest].timeNs, rule)) != oldest)
        reasons[oldest] |= windowed ? refWithinOldestBit[rule] : refOldestBit[rule];
    keyMapFree(&km);
}

static void refApply(const RetentionPolicy *p, const RetentionItem *items, size_t n, int64_t now, uint32_t *reasons,
                     uint64_t *tagMatches) {
    memset(reasons, 0, n * sizeof(*reasons));
    memset(tagMatches, 0, n * sizeof(*tagMatches));
    size_t *g = malloc(n * sizeof(*g));
    assert_non_null(g);
    const int counts[5] = {p->keepHourly, p->keepDaily, p->keepWeekly, p->keepMonthly, p->keepYearly};
    const RetentionDuration *within[5] = {&p->withinHourly, &p->withinDaily, &p->withinWeekly, &p->withinMonthly,
                                          &p->withinYearly};
    for (int grp = 0; grp < GROUPS; grp++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(items[i].group, groupNames[grp]) == 0)
                g[m++] = i;
        if (m == 0)
            continue;
        sortItems = items;
        qsort(g, m, sizeof(*g), cmpOldestFirst);
        size_t oldest = g[0];

        /* Reference time: newest before now. */
        bool haveRef = false;
        int64_t ref = 0;
        for (size_t k = 0; k < m; k++) {
            if (items[g[k]].timeNs < now && (!haveRef || items[g[k]].timeNs > ref)) {
                ref = items[g[k]].timeNs;
                haveRef = true;
            }
        }

        for (size_t k = 0; k < m; k++) {
            size_t i = g[k];
            size_t rank = m - 1 - k; /* 0 = newest */
            if (p->keepLast == RETENTION_UNLIMITED || (p->keepLast > 0 && rank < (size_t)p->keepLast))
                reasons[i] |= RETENTION_KEEP_LAST;
            if (durSet(&p->within) && (!haveRef || items[i].timeNs > refSubtract(ref, &p->within)))
                reasons[i] |= RETENTION_KEEP_WITHIN;
            for (size_t j = 0; j < p->keepTagCount; j++) {
                if (refHasTagList(&items[i], p->keepTags[j])) {
                    tagMatches[i] |= UINT64_C(1) << j;
                    reasons[i] |= RETENTION_KEEP_TAG;
                }
            }
        }
        for (int r = 0; r < 5; r++) {
            if (counts[r] != 0)
                refBuckets(items, g, m, oldest, r, counts[r], false, 0, false, reasons);
            if (durSet(within[r]))
                refBuckets(items, g, m, oldest, r, 0, true, haveRef ? refSubtract(ref, within[r]) : 0, !haveRef,
                           reasons);
        }
    }
    free(g);
}

/* Reasons are joined by ", " (tag lists use a bare ","). */
static size_t countSeparators(const char *s) {
    size_t n = 0;
    for (const char *c = strstr(s, ", "); c != NULL; c = strstr(c + 2, ", "))
        n++;
    return n;
}

/* "2y5m7d3h" with zero parts left out (durations here are never all zero). */
static void refDur(const RetentionDuration *d, char *buf, size_t n) {
    const int v[4] = {d->years, d->months, d->days, d->hours};
    const char unit[4] = {'y', 'm', 'd', 'h'};
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < 4; i++)
        if (v[i] != 0)
            len += (size_t)snprintf(buf + len, n - len, "%d%c", v[i], unit[i]);
}

/* The reason text the reference expects for bits/tagMatches, spelled out
 * from the header's wording list (not from the module's tables). */
static void refReasonString(const RetentionPolicy *p, uint32_t bits, uint64_t tagMatches, char *buf, size_t n) {
    static const char *const names[5] = {"hourly", "daily", "weekly", "monthly", "yearly"};
    const RetentionDuration *within[5] = {&p->withinHourly, &p->withinDaily, &p->withinWeekly, &p->withinMonthly,
                                          &p->withinYearly};
    char parts[80][64];
    size_t count = 0;
    if (bits & RETENTION_KEEP_LAST)
        snprintf(parts[count++], 64, "last snapshot");
    for (int r = 0; r < 5; r++) {
        if (bits & refOldestBit[r])
            snprintf(parts[count++], 64, "oldest %s snapshot", names[r]);
        if (bits & refBucketBit[r])
            snprintf(parts[count++], 64, "%s snapshot", names[r]);
    }
    char dur[48];
    if (bits & RETENTION_KEEP_WITHIN) {
        refDur(&p->within, dur, sizeof(dur));
        snprintf(parts[count++], 64, "within %s", dur);
    }
    for (int r = 0; r < 5; r++) {
        refDur(within[r], dur, sizeof(dur));
        if (bits & refWithinOldestBit[r])
            snprintf(parts[count++], 64, "oldest %s within %s", names[r], dur);
        if (bits & refWithinBit[r])
            snprintf(parts[count++], 64, "%s within %s", names[r], dur);
    }
    for (size_t j = 0; j < p->keepTagCount; j++) {
        if (!(tagMatches & (UINT64_C(1) << j)))
            continue;
        if (p->keepTags[j][0] == '\0')
            snprintf(parts[count++], 64, "untagged");
        else
            snprintf(parts[count++], 64, "tag '%s'", p->keepTags[j]);
    }
    buf[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            strncat(buf, ", ", n - strlen(buf) - 1);
        strncat(buf, parts[i], n - strlen(buf) - 1);
    }
}

/* --- cases --------------------------------------------------------------------------------------------------------*/

typedef struct TableCase {
    const char *name;
    int keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly;
    const char *within, *withinHourly, *withinDaily, *withinWeekly, *withinMonthly, *withinYearly;
    const char *tags[3];
    size_t tagCount;
    int64_t now;     /* 0 = RETENTION_NOW_NONE */
    long expectKept; /* -1 = not known in closed form */
} TableCase;

static RetentionDuration optD(const char *s) {
    return s != NULL ? D(s) : (RetentionDuration){0};
}

static void runTableCase(void **state) {
    const TableCase *c = *state;
    RetentionPolicy p = {.keepLast = c->keepLast,
                         .keepHourly = c->keepHourly,
                         .keepDaily = c->keepDaily,
                         .keepWeekly = c->keepWeekly,
                         .keepMonthly = c->keepMonthly,
                         .keepYearly = c->keepYearly,
                         .within = optD(c->within),
                         .withinHourly = optD(c->withinHourly),
                         .withinDaily = optD(c->withinDaily),
                         .withinWeekly = optD(c->withinWeekly),
                         .withinMonthly = optD(c->withinMonthly),
                         .withinYearly = optD(c->withinYearly),
                         .keepTags = c->tags,
                         .keepTagCount = c->tagCount};
    assert_false(retentionPolicyEmpty(&p));
    int64_t now = c->now != 0 ? c->now : RETENTION_NOW_NONE;
    size_t n = table.count;
    RetentionDecision *out = calloc(n, sizeof(*out));
    uint32_t *want = calloc(n, sizeof(*want));
    uint64_t *wantTags = calloc(n, sizeof(*wantTags));
    assert_non_null(out);
    assert_non_null(want);
    assert_non_null(wantTags);

    LbError err = {0};
    if (!retentionApply(&p, table.items, n, now, out, &err))
        fail_msg("retentionApply: %s", err.msg);
    refApply(&p, table.items, n, now, want, wantTags);

    size_t kept[GROUPS] = {0}, mismatches = 0, keptTotal = 0;
    for (size_t i = 0; i < n; i++) {
        bool wantKeep = want[i] != 0;
        if (out[i].keep != wantKeep || out[i].reasons != want[i] || out[i].tagMatches != wantTags[i] ||
            out[i].keep != (out[i].reasons != 0)) {
            if (mismatches < 10) {
                char tb[64];
                fmtTime(table.items[i].timeNs, tb, sizeof(tb));
                print_error("%s: item %zu %s %s: got keep=%d reasons=0x%x tags=0x%llx, want reasons=0x%x "
                            "tags=0x%llx\n",
                            c->name, i, table.items[i].group, tb, out[i].keep, out[i].reasons,
                            (unsigned long long)out[i].tagMatches, want[i], (unsigned long long)wantTags[i]);
            }
            mismatches++;
        }
        if (out[i].keep) {
            char got[1024], exp[1024];
            retentionReasonString(&p, &out[i], got, sizeof(got));
            refReasonString(&p, want[i], wantTags[i], exp, sizeof(exp));
            if (strcmp(got, exp) != 0) {
                if (mismatches < 10)
                    print_error("%s: item %zu reasons \"%s\", want \"%s\"\n", c->name, i, got, exp);
                mismatches++;
            }
            assert_int_equal(retentionReasonCount(&p, &out[i]), countSeparators(exp) + 1);
            keptTotal++;
            for (int grp = 0; grp < GROUPS; grp++)
                if (strcmp(table.items[i].group, groupNames[grp]) == 0)
                    kept[grp]++;
        }
    }
    print_message("# %s: %zu of %zu kept (alpha %zu, bravo %zu, charlie %zu)\n", c->name, keptTotal, n, kept[0],
                  kept[1], kept[2]);
    free(out);
    free(want);
    free(wantTags);
    if (mismatches != 0)
        fail_msg("%s: %zu decisions differ from the reference", c->name, mismatches);
    if (c->expectKept >= 0)
        assert_int_equal(keptTotal, (size_t)c->expectKept);
    /* Every case removes something and keeps something in each group. */
    for (int grp = 0; grp < GROUPS; grp++)
        assert_true(kept[grp] > 0);
    assert_true(keptTotal < n);
}

/* Counts in closed form (see hostSkipsDay): alpha and bravo span 36 months
 * and lose one each (35), charlie spans 28 and loses one (27); every host
 * covers 3 calendar years; every group has >= 12 recent days and weeks. With
 * too few buckets the oldest snapshot is kept additionally. */
static const TableCase tableCases[] = {
    {.name = "keep-last 10", .keepLast = 10, .expectKept = 30},
    {.name = "keep-hourly 48", .keepHourly = 48, .expectKept = 144},
    {.name = "keep-daily 7", .keepDaily = 7, .expectKept = 21},
    {.name = "keep-daily 400", .keepDaily = 400, .expectKept = 1200},
    {.name = "keep-daily 2000", .keepDaily = 2000, .expectKept = -1},
    {.name = "keep-weekly 5", .keepWeekly = 5, .expectKept = 15},
    {.name = "keep-weekly 60", .keepWeekly = 60, .expectKept = 180},
    {.name = "keep-monthly 12", .keepMonthly = 12, .expectKept = 36},
    {.name = "keep-monthly 40", .keepMonthly = 40, .expectKept = 35 + 1 + 35 + 1 + 27 + 1},
    {.name = "keep-monthly unlimited", .keepMonthly = -1, .expectKept = 35 + 1 + 35 + 1 + 27 + 1},
    {.name = "keep-yearly 7", .keepYearly = 7, .expectKept = 12},
    {.name = "keep-yearly 2", .keepYearly = 2, .expectKept = 6},
    {.name = "keep-yearly unlimited", .keepYearly = -1, .expectKept = 12},
    {.name = "keep-within 35d", .within = "35d", .expectKept = -1},
    {.name = "keep-within 2y5m7d3h", .within = "2y5m7d3h", .expectKept = -1},
    {.name = "keep-within 1m", .within = "1m", .expectKept = -1},
    {.name = "keep-within-hourly 2d", .withinHourly = "2d", .expectKept = -1},
    {.name = "keep-within-daily 10d", .withinDaily = "10d", .expectKept = -1},
    {.name = "keep-within-weekly 2m", .withinWeekly = "2m", .expectKept = -1},
    {.name = "keep-within-monthly 1y", .withinMonthly = "1y", .expectKept = -1},
    {.name = "keep-within-monthly 1y6m", .withinMonthly = "1y6m", .expectKept = -1},
    {.name = "keep-within-yearly 5y", .withinYearly = "5y", .expectKept = 12},
    {.name = "keep-tag manual", .tags = {"manual"}, .tagCount = 1, .expectKept = -1},
    {.name = "keep-tag pre-upgrade,manual + weekly-job",
     .tags = {"pre-upgrade,manual", "weekly-job"},
     .tagCount = 2,
     .expectKept = -1},
    {.name = "daily 7 weekly 5 monthly 12 yearly 7",
     .keepDaily = 7,
     .keepWeekly = 5,
     .keepMonthly = 12,
     .keepYearly = 7,
     .expectKept = -1},
    {.name = "within 35d + monthly 12", .within = "35d", .keepMonthly = 12, .expectKept = -1},
    {.name = "last 3 + tag manual", .keepLast = 3, .tags = {"manual"}, .tagCount = 1, .expectKept = -1},
    {.name = "within-daily 7d weekly 1m monthly 1y yearly 75y",
     .withinDaily = "7d",
     .withinWeekly = "1m",
     .withinMonthly = "1y",
     .withinYearly = "75y",
     .expectKept = -1},
    {.name = "hourly 24 daily 30 within-weekly 6m + last 1",
     .keepHourly = 24,
     .keepDaily = 30,
     .withinWeekly = "6m",
     .keepLast = 1,
     .expectKept = -1},
    {.name = "everything",
     .keepLast = 5,
     .keepHourly = 30,
     .keepDaily = 20,
     .keepWeekly = 10,
     .keepMonthly = 14,
     .keepYearly = -1,
     .within = "3d",
     .withinHourly = "1d",
     .withinDaily = "2m",
     .withinWeekly = "5m",
     .withinMonthly = "1y",
     .withinYearly = "9y",
     .tags = {"manual", "weekly-job", "pre-upgrade"},
     .tagCount = 3,
     .expectKept = -1},
    {.name = "now 2025-12-01: within 35d + within-daily 7d",
     .within = "35d",
     .withinDaily = "7d",
     .now = ((INT64_C(20423) * 86400)) * NS, /* 2025-12-01 00:00 UTC */
     .expectKept = -1},
    {.name = "now 2025-12-01: daily 7 + within-monthly 3m",
     .keepDaily = 7,
     .withinMonthly = "3m",
     .now = ((INT64_C(20423) * 86400)) * NS,
     .expectKept = -1},
};
#define TABLE_CASES (sizeof(tableCases) / sizeof(tableCases[0]))

/* The table is what the cases claim it is. */
static void testTableShape(void **state) {
    (void)state;
    assert_int_equal(daysFromCivil(2025, 12, 1), 20423);
    size_t per[GROUPS] = {0};
    int64_t newest[GROUPS] = {INT64_MIN, INT64_MIN, INT64_MIN};
    int64_t oldestT[GROUPS] = {INT64_MAX, INT64_MAX, INT64_MAX};
    bool sawLeapDay = false, sawRemovedMonth = false, sawTie = false, sawDoubleHour = false;
    for (size_t i = 0; i < table.count; i++) {
        const RetentionItem *it = &table.items[i];
        int grp = it->group == groupNames[0] ? 0 : it->group == groupNames[1] ? 1 : 2;
        per[grp]++;
        if (it->timeNs > newest[grp])
            newest[grp] = it->timeNs;
        if (it->timeNs < oldestT[grp])
            oldestT[grp] = it->timeNs;
        if (refKey(it->timeNs, 1) == 20240229 && grp == 0)
            sawLeapDay = true;
        if (refKey(it->timeNs, 3) == 202407 && grp == 1)
            sawRemovedMonth = true;
        if (refKey(it->timeNs, 3) == 202311 && grp == 0)
            sawRemovedMonth = true;
    }
    /* Ties and double hours, by scanning a sorted copy of charlie and alpha. */
    int64_t *ts = malloc(table.count * sizeof(*ts));
    assert_non_null(ts);
    for (int grp = 0; grp < GROUPS; grp += 2) {
        size_t m = 0;
        for (size_t i = 0; i < table.count; i++)
            if (table.items[i].group == groupNames[grp])
                ts[m++] = table.items[i].timeNs;
        qsort(ts, m, sizeof(*ts), cmpInt64Desc);
        for (size_t k = 1; k < m; k++) {
            if (ts[k] == ts[k - 1])
                sawTie = true;
            else if (refKey(ts[k], 0) == refKey(ts[k - 1], 0))
                sawDoubleHour = true;
        }
    }
    free(ts);
    print_message("# table: %zu snapshots (alpha %zu, bravo %zu, charlie %zu)\n", table.count, per[0], per[1], per[2]);
    assert_true(table.count > 60000);
    assert_true(sawLeapDay);
    assert_false(sawRemovedMonth);
    assert_true(sawTie);
    assert_true(sawDoubleHour);
    assert_true(refKey(newest[2], 1) <= 20250914);
    assert_true(refKey(oldestT[2], 1) >= 20230610);
    assert_true(refKey(newest[0], 1) == 20251231);
}

/* The reference agrees with the literal small tables too (guards the reference). */
static void testReferenceOnIsoWeeks(void **state) {
    (void)state;
    assert_int_equal(refKey(T(2024, 12, 30, 0, 0, 0), 2), 202501);
    assert_int_equal(refKey(T(2024, 12, 29, 23, 59, 59), 2), 202452);
    assert_int_equal(refKey(T(2021, 1, 3, 12, 0, 0), 2), 202053); /* 2020 had 53 ISO weeks */
    assert_int_equal(refKey(T(2021, 1, 4, 0, 0, 0), 2), 202101);
    assert_int_equal(refKey(T(2026, 1, 1, 0, 0, 0), 2), 202601);
    assert_int_equal(refKey(T(2027, 1, 1, 0, 0, 0), 2), 202653);
}

int main(void) {
    static const struct CMUnitTest small[] = {
        cmocka_unit_test(testIsoWeekYearEnd),
        cmocka_unit_test(testMonthEndAndLeapDay),
        cmocka_unit_test(testDurationSubtract),
        cmocka_unit_test(testWithinBoundary),
        cmocka_unit_test(testKeepDailyVersusWithinDaily),
        cmocka_unit_test(testSundaysKeepDaily),
        cmocka_unit_test(testUnlimited),
        cmocka_unit_test(testTies),
        cmocka_unit_test(testGroups),
        cmocka_unit_test(testFuture),
        cmocka_unit_test(testTags),
        cmocka_unit_test(testEmptyPolicy),
        cmocka_unit_test(testParseDuration),
        cmocka_unit_test(testDurationFormat),
        cmocka_unit_test(testParseCount),
        cmocka_unit_test(testPolicyCheck),
        cmocka_unit_test(testPolicyFormat),
        cmocka_unit_test(testReasonStrings),
        cmocka_unit_test(testReferenceOnIsoWeeks),
        cmocka_unit_test(testTableShape),
    };
    enum { SMALL = sizeof(small) / sizeof(small[0]) };
    /* One group: the generated table is built once in the group setup. */
    struct CMUnitTest tests[SMALL + TABLE_CASES];
    for (size_t i = 0; i < SMALL; i++)
        tests[i] = small[i];
    for (size_t i = 0; i < TABLE_CASES; i++) {
        tests[SMALL + i] = (struct CMUnitTest){.name = tableCases[i].name,
                                               .test_func = runTableCase,
                                               .setup_func = NULL,
                                               .teardown_func = NULL,
                                               .initial_state = (void *)&tableCases[i]};
    }
    return cmocka_run_group_tests_name("policy", tests, tableSetup, tableTeardown);
}
