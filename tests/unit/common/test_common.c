/*
 * test_common.c - unit tests for src/common: time parsing and formatting,
 * the error table and message helpers, hex and IDs, LbBuf.
 *
 * Expected instants in the time tests were computed independently (Unix
 * seconds for the given UTC wall-clock time, e.g. with `date -u -d ... +%s`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/id.h"
#include "common/log.h"
#include "common/timeutil.h"

#define SEC 1000000000ll

/***********************************************************************************************************************
 * Time
 **********************************************************************************************************************/

static void expectTime(const char *s, int64_t want) {
    int64_t got = 12345;
    bool ok = lbParseTime(s, &got);
    if (!ok || got != want)
        print_error("'%s': ok=%d got=%lld want=%lld\n", s, ok, (long long)got, (long long)want);
    assert_true(ok);
    assert_true(got == want);
}

static void expectBadTime(const char *s) {
    int64_t got = 0;
    bool ok = lbParseTime(s, &got);
    if (ok)
        print_error("'%s' was accepted as %lld\n", s, (long long)got);
    assert_false(ok);
}

/* 2026-11-23T14:05:00Z is Unix time 1795442700. */
#define T_2026 1795442700ll

/* Every accepted form: date only, minutes, seconds, fractions of any length,
 * 'T', 't' or ' ' as separator, Z/z, +HH:MM, -HH:MM, +HHMM, +HH. */
static void testParseTimeAccepted(void **state) {
    (void)state;
    expectTime("2026-11-23", (T_2026 - 14 * 3600 - 5 * 60) * SEC);
    expectTime("2026-11-23T14:05", T_2026 * SEC);
    expectTime("2026-11-23T14:05Z", T_2026 * SEC);
    expectTime("2026-11-23 14:05:00", T_2026 * SEC);
    expectTime("2026-11-23t14:05:00z", T_2026 * SEC);
    expectTime("2026-11-23T14:05:07Z", (T_2026 + 7) * SEC);
    expectTime("2026-11-23T14:05:00.5Z", T_2026 * SEC + 500000000);
    expectTime("2026-11-23T14:05:00.123Z", T_2026 * SEC + 123000000);
    expectTime("2026-11-23T14:05:00.123456789Z", T_2026 * SEC + 123456789);
    expectTime("2026-11-23T14:05:00.000000001", T_2026 * SEC + 1);
    /* digits past nanoseconds are dropped, not rounded */
    expectTime("2026-11-23T14:05:00.1234567899999Z", T_2026 * SEC + 123456789);
    /* offsets: local time minus offset is UTC */
    expectTime("2026-11-23T16:05:00+02:00", T_2026 * SEC);
    expectTime("2026-11-23T16:05:00+0200", T_2026 * SEC);
    expectTime("2026-11-23T16:05:00+02", T_2026 * SEC);
    expectTime("2026-11-23T08:35:00-0530", T_2026 * SEC);
    expectTime("2026-11-23T08:35:00-05:30", T_2026 * SEC);
    expectTime("2026-11-23T14:05:00.25+00:00", T_2026 * SEC + 250000000);
    expectTime("2026-11-24T00:05:00.75+10:00", T_2026 * SEC + 750000000);
    /* an offset that crosses midnight and the date */
    expectTime("2026-11-22T23:05-15:00", T_2026 * SEC);
    /* epoch, before it, leap day, end of year */
    expectTime("1970-01-01T00:00:00Z", 0);
    expectTime("1969-12-31T23:59:59Z", -1 * SEC);
    expectTime("1969-12-31T23:59:59.5Z", -SEC + 500000000);
    expectTime("2024-02-29", 1709164800ll * SEC);
    expectTime("2025-12-31T23:59:59Z", 1767225599ll * SEC);
}

/* Garbage, out-of-range fields, trailing text and half-written parts. */
static void testParseTimeRejected(void **state) {
    (void)state;
    static const char *const bad[] = {
        "",
        "garbage",
        "2026",
        "2026-11",
        "2026-11-2",
        "26-11-23",
        "2026/11/23",
        "2026-13-01",
        "2026-00-10",
        "2026-11-00",
        "2026-11-32",
        "2026-11-23T24:00",
        "2026-11-23T14:60",
        "2026-11-23T14:05:61",
        "2026-11-23T",
        "2026-11-23T14",
        "2026-11-23T14:5",
        "2026-11-23T14:05:",
        "2026-11-23T14:05:0",
        "2026-11-23T14:05:00.",
        "2026-11-23T14:05:00.Z",
        "2026-11-23T14:05.5",
        "2026-11-23T14:05:00Zjunk",
        "2026-11-23T14:05:00 ",
        "2026-11-23 ",
        "2026-11-23x",
        "2026-11-23T14:05:00+",
        "2026-11-23T14:05:00+2",
        "2026-11-23T14:05:00+02:0",
        "2026-11-23T14:05:00+02:00:00",
        "2026-11-23T14:05:00 UTC",
        " 2026-11-23",
        "2026-1a-23",
        "-2026-11-23",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expectBadTime(bad[i]);
}

/* Calendar dates that do not exist are refused rather than silently moved
 * to another day (2026-02-30 would otherwise mean 2026-03-02). */
static void testParseTimeRejectsImpossibleDates(void **state) {
    (void)state;
    expectBadTime("2026-02-30");
    expectBadTime("2026-02-29"); /* not a leap year */
    expectBadTime("2026-04-31");
    expectBadTime("2026-06-31T10:00:00Z");
}

/* Offsets beyond any real zone (hours > 23, minutes > 59) are refused. */
static void testParseTimeRejectsBadOffsets(void **state) {
    (void)state;
    expectBadTime("2026-11-23T14:05:00+24:00");
    expectBadTime("2026-11-23T14:05:00+99:99");
    expectBadTime("2026-11-23T14:05:00-02:60");
}

/* lbFormatTimeNs prints RFC 3339 UTC with nanoseconds; parsing that text
 * gives back the same instant, also before 1970 (negative ns). */
static void testFormatTimeRoundTrip(void **state) {
    (void)state;
    char buf[48];
    lbFormatTimeNs(T_2026 * SEC + 123456789, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-23T14:05:00.123456789Z");
    lbFormatTimeNs(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
    lbFormatTimeNs(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999999999Z");
    lbFormatTimeNs(-SEC, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.000000000Z");
    lbFormatTimeNs(-SEC - 1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:58.999999999Z");

    static const int64_t values[] = {0,
                                     1,
                                     -1,
                                     999999999,
                                     -999999999,
                                     SEC,
                                     -SEC,
                                     T_2026 * SEC + 123456789,
                                     -86400 * SEC * 365 * 50 + 42,
                                     4102444800ll * SEC - 1 /* 2099-12-31T23:59:59.999999999 */};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        int64_t back = 0;
        lbFormatTimeNs(values[i], buf, sizeof(buf));
        assert_true(lbParseTime(buf, &back));
        if (back != values[i])
            print_error("%lld -> %s -> %lld\n", (long long)values[i], buf, (long long)back);
        assert_true(back == values[i]);
    }

    lbFormatTimeShort(T_2026 * SEC + 999999999, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-23 14:05:00");
    lbFormatTimeShort(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31 23:59:59");

    /* a short output buffer is truncated, never overrun */
    char small[12];
    memset(small, 'x', sizeof(small));
    lbFormatTimeNs(T_2026 * SEC, small, 11);
    assert_int_equal(strlen(small), 10);
    assert_string_equal(small, "2026-11-23");
    assert_int_equal(small[11], 'x');
}

/* The clocks move forward and agree with each other roughly. */
static void testClocks(void **state) {
    (void)state;
    int64_t a = lbNowNs();
    double m1 = lbMonotonicSeconds();
    int64_t b = lbNowNs();
    double m2 = lbMonotonicSeconds();
    assert_true(a > 1600000000ll * SEC);
    assert_true(b >= a);
    assert_true(m2 >= m1);
}

/***********************************************************************************************************************
 * Errors
 **********************************************************************************************************************/

/* Exit codes: 0 for ok, 3 incomplete, 10 no repository, 11 locked, 12 wrong
 * password, 1 for every other error and for codes outside the table. */
static void testExitCodes(void **state) {
    (void)state;
    assert_int_equal(lbErrorExitCode(LB_OK), 0);
    assert_int_equal(lbErrorExitCode(LB_ERR_INCOMPLETE), 3);
    assert_int_equal(lbErrorExitCode(LB_ERR_NO_REPO), 10);
    assert_int_equal(lbErrorExitCode(LB_ERR_LOCKED), 11);
    assert_int_equal(lbErrorExitCode(LB_ERR_WRONG_PASSWORD), 12);
    static const LbErrorCode ones[] = {LB_ERR_GENERIC,     LB_ERR_IO,      LB_ERR_NOT_FOUND, LB_ERR_EXISTS,
                                       LB_ERR_FORMAT,      LB_ERR_CORRUPT, LB_ERR_CRYPTO,    LB_ERR_ARGS,
                                       LB_ERR_UNSAFE_PATH, LB_ERR_COMMAND, LB_ERR_MEMORY};
    for (size_t i = 0; i < sizeof(ones) / sizeof(ones[0]); i++)
        assert_int_equal(lbErrorExitCode(ones[i]), 1);
    /* every code in the table: only the five above differ from 1 */
    int special = 0;
    for (int c = 0; c < LB_ERR_COUNT; c++) {
        int want = 1;
        switch ((LbErrorCode)c) {
        case LB_OK:
            want = 0;
            break;
        case LB_ERR_INCOMPLETE:
            want = 3;
            break;
        case LB_ERR_NO_REPO:
            want = 10;
            break;
        case LB_ERR_LOCKED:
            want = 11;
            break;
        case LB_ERR_WRONG_PASSWORD:
            want = 12;
            break;
        default:
            break;
        }
        special += want != 1;
        if (lbErrorExitCode((LbErrorCode)c) != want)
            print_error("code %d (%s): exit %d, want %d\n", c, lbErrorName((LbErrorCode)c),
                        lbErrorExitCode((LbErrorCode)c), want);
        assert_int_equal(lbErrorExitCode((LbErrorCode)c), want);
    }
    assert_int_equal(special, 5);
    assert_true(LB_ERR_COUNT >= 1 + 11 + 4);
    assert_int_equal(lbErrorExitCode(LB_ERR_COUNT), 1);
    assert_int_equal(lbErrorExitCode((LbErrorCode)-1), 1);
    assert_int_equal(lbErrorExitCode((LbErrorCode)1000), 1);
}

/* Names are unique and non-empty; out-of-range codes are "unknown". */
static void testErrorNames(void **state) {
    (void)state;
    assert_string_equal(lbErrorName(LB_OK), "ok");
    assert_string_equal(lbErrorName(LB_ERR_CORRUPT), "corrupt");
    assert_string_equal(lbErrorName(LB_ERR_WRONG_PASSWORD), "wrong-password");
    assert_string_equal(lbErrorName(LB_ERR_UNSAFE_PATH), "unsafe-path");
    for (int i = 0; i < LB_ERR_COUNT; i++) {
        assert_true(lbErrorName((LbErrorCode)i)[0] != '\0');
        for (int k = i + 1; k < LB_ERR_COUNT; k++)
            assert_string_not_equal(lbErrorName((LbErrorCode)i), lbErrorName((LbErrorCode)k));
    }
    assert_string_equal(lbErrorName(LB_ERR_COUNT), "unknown");
    assert_string_equal(lbErrorName((LbErrorCode)-3), "unknown");
}

/* lbErr records code, file, line and message and returns false; clear
 * resets; NULL errors are accepted. */
static void testErrorSetAndClear(void **state) {
    (void)state;
    LbError err = {0};
    int line = __LINE__ + 1;
    bool r = lbErr(&err, LB_ERR_IO, "unable to read '%s': %s", "/x", "boom");
    assert_false(r);
    assert_int_equal(err.code, LB_ERR_IO);
    assert_int_equal(err.line, line);
    assert_non_null(strstr(err.file, "test_common.c"));
    assert_string_equal(err.msg, "unable to read '/x': boom");
    lbErrorClear(&err);
    assert_int_equal(err.code, LB_OK);
    assert_string_equal(err.msg, "");
    assert_null(err.file);
    assert_false(lbErr(NULL, LB_ERR_IO, "x"));
    assert_false(lbErrorWrap(NULL, "x"));
    lbErrorClear(NULL);

    /* a message longer than the buffer is truncated and terminated */
    char longArg[2000];
    memset(longArg, 'q', sizeof(longArg) - 1);
    longArg[sizeof(longArg) - 1] = '\0';
    lbErr(&err, LB_ERR_GENERIC, "%s", longArg);
    assert_int_equal(strlen(err.msg), LB_ERROR_MSG_MAX - 1);
}

/* lbErrSys appends strerror(errno), maps ENOENT/EEXIST/ENOMEM, and keeps errno. */
static void testErrorSys(void **state) {
    (void)state;
    LbError err = {0};
    errno = ENOENT;
    assert_false(lbErrSys(&err, "unable to open '%s'", "/nope"));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    assert_int_equal(errno, ENOENT);
    char want[256];
    snprintf(want, sizeof(want), "unable to open '/nope': %s", strerror(ENOENT));
    assert_string_equal(err.msg, want);
    errno = EEXIST;
    lbErrSys(&err, "x");
    assert_int_equal(err.code, LB_ERR_EXISTS);
    errno = ENOMEM;
    lbErrSys(&err, "x");
    assert_int_equal(err.code, LB_ERR_MEMORY);
    errno = EACCES;
    lbErrSys(&err, "x");
    assert_int_equal(err.code, LB_ERR_IO);
    assert_int_equal(errno, EACCES);
}

/* lbErrorWrap prefixes "context: " and keeps the code; with a 1000-character
 * message and a 1000-character prefix the result is truncated to the buffer
 * and terminated (the sanitizer build checks for overruns). */
static void testErrorWrap(void **state) {
    (void)state;
    LbError err = {0};
    lbErr(&err, LB_ERR_CORRUPT, "inner %d", 1);
    assert_false(lbErrorWrap(&err, "while %s", "loading"));
    assert_string_equal(err.msg, "while loading: inner 1");
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    lbErrorWrap(&err, "outer");
    assert_string_equal(err.msg, "outer: while loading: inner 1");

    char m1000[1001];
    memset(m1000, 'm', 1000);
    m1000[1000] = '\0';
    char p1000[1001];
    memset(p1000, 'p', 1000);
    p1000[1000] = '\0';

    /* long inner message, short prefix: prefix whole, inner cut */
    lbErr(&err, LB_ERR_IO, "%s", m1000);
    lbErrorWrap(&err, "ctx");
    assert_int_equal(strlen(err.msg), 3 + 2 + 1000);
    assert_memory_equal(err.msg, "ctx: mmm", 8);
    lbErrorWrap(&err, "%s", "0123456789012345678901234567890123456789");
    assert_int_equal(strlen(err.msg), LB_ERROR_MSG_MAX - 1);
    assert_memory_equal(err.msg, "0123456789012345678901234567890123456789: ctx: m", 48);

    /* long prefix and long inner message */
    lbErr(&err, LB_ERR_IO, "%s", m1000);
    lbErrorWrap(&err, "%s", p1000);
    assert_int_equal(strlen(err.msg), LB_ERROR_MSG_MAX - 1);
    assert_memory_equal(err.msg, p1000, 1000);
    assert_memory_equal(err.msg + 1000, ": ", 2);
    assert_int_equal(err.msg[1002], 'm');
    assert_int_equal(err.code, LB_ERR_IO);

    /* a prefix longer than the whole buffer */
    char p2000[2001];
    memset(p2000, 'P', 2000);
    p2000[2000] = '\0';
    lbErr(&err, LB_ERR_IO, "%s", m1000);
    lbErrorWrap(&err, "%s", p2000);
    assert_int_equal(strlen(err.msg), LB_ERROR_MSG_MAX - 1);
    assert_int_equal(err.msg[0], 'P');
    assert_memory_equal(err.msg + LB_ERROR_MSG_MAX - 3, ": ", 2);

    /* a full inner message wrapped again and again stays terminated */
    lbErr(&err, LB_ERR_IO, "%s", p2000);
    for (int i = 0; i < 50; i++) {
        lbErrorWrap(&err, "w%d", i);
        assert_int_equal(strlen(err.msg), LB_ERROR_MSG_MAX - 1);
    }
    assert_memory_equal(err.msg, "w49: w48: ", 10);

    /* wrapping an empty message */
    lbErrorClear(&err);
    lbErrorWrap(&err, "only");
    assert_string_equal(err.msg, "only: ");
}

/* Capture stderr around a call (the logger writes there). */
static char *captureLog(void (*fn)(void)) {
    fflush(stderr);
    FILE *f = tmpfile();
    assert_non_null(f);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), 2) >= 0);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    long n = ftell(f);
    char *text = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    rewind(f);
    size_t got = fread(text, 1, (size_t)(n > 0 ? n : 0), f);
    text[got] = '\0';
    fclose(f);
    return text;
}

static void logAtEveryLevel(void) {
    lbLogError("e%d", 1);
    lbLogWarn("w%d", 2);
    lbLogInfo("i%d", 3);
    lbLog(LB_LOG_DEBUG, "d%d", 4);
}

static void logLong(void) {
    char big[6000];
    memset(big, 'L', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    lbLogError("%s", big);
}

/* One line per call with the level's prefix ("error: ", "warning: ", none
 * for info, "debug: "); messages above the current level are dropped; the
 * default level is warnings; long messages are cut, still one line. */
static void testLogLines(void **state) {
    (void)state;
    LbLogLevel old = lbLogGetLevel();
    assert_int_equal(old, LB_LOG_WARN);

    char *out = captureLog(logAtEveryLevel);
    assert_string_equal(out, "error: e1\nwarning: w2\n");
    free(out);

    lbLogSetLevel(LB_LOG_DEBUG);
    assert_int_equal(lbLogGetLevel(), LB_LOG_DEBUG);
    out = captureLog(logAtEveryLevel);
    assert_string_equal(out, "error: e1\nwarning: w2\ni3\ndebug: d4\n");
    free(out);

    lbLogSetLevel(LB_LOG_ERROR);
    out = captureLog(logAtEveryLevel);
    assert_string_equal(out, "error: e1\n");
    free(out);

    out = captureLog(logLong);
    size_t len = strlen(out);
    assert_true(len > 1000 && len < 5000);
    assert_memory_equal(out, "error: LLL", 10);
    assert_int_equal(out[len - 1], '\n');
    assert_null(strchr(out, '\n') != out + len - 1 ? out : NULL);
    free(out);
    lbLogSetLevel(old);
}

/***********************************************************************************************************************
 * Hex and IDs
 **********************************************************************************************************************/

static void testHex(void **state) {
    (void)state;
    const uint8_t data[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char hex[2 * sizeof(data) + 1];
    lbHexEncode(data, sizeof(data), hex);
    assert_string_equal(hex, "00017f80abff");
    uint8_t back[sizeof(data)];
    assert_true(lbHexDecode(hex, strlen(hex), back));
    assert_memory_equal(back, data, sizeof(data));
    assert_true(lbHexDecode("00017F80ABFF", 12, back)); /* upper case */
    assert_memory_equal(back, data, sizeof(data));
    lbHexEncode(data, 0, hex);
    assert_string_equal(hex, "");
    assert_true(lbHexDecode("", 0, back));

    assert_false(lbHexDecode("abc", 3, back));
    assert_false(lbHexDecode("0g", 2, back));
    assert_false(lbHexDecode("g0", 2, back));
    assert_false(lbHexDecode("0 ", 2, back));
    assert_false(lbHexDecode("-1", 2, back));
    assert_false(lbHexDecode("0x", 2, back));
    /* only hexLen characters are read */
    assert_true(lbHexDecode("ffzz", 2, back));
    assert_int_equal(back[0], 0xff);

    /* every byte value round-trips */
    uint8_t all[256], all2[256];
    char allHex[513];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    lbHexEncode(all, 256, allHex);
    assert_int_equal(strlen(allHex), 512);
    assert_true(lbHexDecode(allHex, 512, all2));
    assert_memory_equal(all, all2, 256);
}

static void testIdHex(void **state) {
    (void)state;
    LbId id, back;
    for (int i = 0; i < LB_ID_LEN; i++)
        id.b[i] = (uint8_t)(i * 9 + 1);
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&id, hex);
    assert_int_equal(strlen(hex), LB_ID_HEX_LEN);
    assert_memory_equal(hex, "010a131c", 8);
    assert_true(lbIdFromHex(hex, &back));
    assert_true(lbIdEqual(&id, &back));
    assert_int_equal(lbIdCompare(&id, &back), 0);

    /* wrong lengths */
    char shorter[LB_ID_HEX_LEN];
    memcpy(shorter, hex, LB_ID_HEX_LEN - 1);
    shorter[LB_ID_HEX_LEN - 1] = '\0';
    assert_false(lbIdFromHex(shorter, &back));
    char longer[LB_ID_HEX_LEN + 3];
    memcpy(longer, hex, LB_ID_HEX_LEN);
    memcpy(longer + LB_ID_HEX_LEN, "00", 3);
    assert_false(lbIdFromHex(longer, &back));
    assert_false(lbIdFromHex("", &back));
    assert_false(lbIdFromHex("abcd", &back));
    /* right length, not hex, at the start, middle and end */
    static const size_t positions[] = {0, 31, 63};
    for (size_t i = 0; i < 3; i++) {
        char bad[LB_ID_HEX_LEN + 1];
        memcpy(bad, hex, sizeof(bad));
        bad[positions[i]] = 'g';
        assert_false(lbIdFromHex(bad, &back));
    }

    LbId zero = {{0}}, one = zero;
    assert_true(lbIdIsZero(&zero));
    one.b[31] = 1;
    assert_false(lbIdIsZero(&one));
    assert_true(lbIdCompare(&zero, &one) < 0);
    assert_true(lbIdCompare(&one, &zero) > 0);
    assert_false(lbIdEqual(&zero, &one));
}

/***********************************************************************************************************************
 * LbBuf and allocation helpers
 **********************************************************************************************************************/

/* Percent-decoding shared by SigV4 and bucket names: escapes in either
 * case become bytes, a broken escape and '+' stay as they are. */
static void testPercentDecode(void **state) {
    (void)state;
    static const struct {
        const char *in, *want;
        size_t wantLen;
    } cases[] = {
        {"a%20b", "a b", 3}, {"%2f%2F", "//", 2}, {"%00x", "\0x", 2}, {"100%", "100%", 4},
        {"%4", "%4", 2},     {"%zz", "%zz", 3},   {"a+b", "a+b", 3},  {"", "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        LbBuf out = {0};
        lbPercentDecodeAppend(&out, cases[i].in, strlen(cases[i].in));
        assert_int_equal(out.len, cases[i].wantLen);
        if (out.len)
            assert_memory_equal(out.data, cases[i].want, out.len);
        lbBufFree(&out);
    }
    assert_int_equal(lbHexValue('0'), 0);
    assert_int_equal(lbHexValue('f'), 15);
    assert_int_equal(lbHexValue('F'), 15);
    assert_int_equal(lbHexValue('g'), -1);
}

/* Byte sizes as given on command lines and in S3 options. */
static void testParseSize(void **state) {
    (void)state;
    static const struct {
        const char *in;
        uint64_t want;
    } good[] = {
        {"0", 0},
        {"123", 123},
        {"123B", 123},
        {"64K", 65536},
        {"64k", 65536},
        {"64KiB", 65536},
        {"64KB", 65536},
        {"16M", 16777216},
        {"16MiB", 16777216},
        {"1.5G", 1610612736},
        {"2T", 2199023255552ull},
        {"0.5K", 512},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        uint64_t v = 7;
        assert_true(lbParseSize(good[i].in, &v));
        assert_int_equal(v, good[i].want);
    }
    static const char *const bad[] = {"",    "K",   "-1", "+1",  " 1",  "1 ",   "1X",
                                      "1KX", "1Ki", "1b", "nan", "inf", "1e30", "99999999999999999999T",
                                      "1,5M"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v = 7;
        assert_false(lbParseSize(bad[i], &v));
        assert_int_equal(v, 7); /* untouched */
    }
    uint64_t v;
    assert_false(lbParseSize(NULL, &v));
}

static void testBuf(void **state) {
    (void)state;
    LbBuf b = {0};
    lbBufAppend(&b, NULL, 0); /* nothing to do, nothing allocated */
    assert_null(b.data);
    assert_int_equal(b.len, 0);

    lbBufAppend(&b, "abc", 3);
    assert_int_equal(b.len, 3);
    assert_true(b.cap >= 3);
    lbBufAppendStr(&b, "def");
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "abcdef", 6);

    /* reserve guarantees room without changing the length */
    lbBufReserve(&b, 10000);
    assert_int_equal(b.len, 6);
    assert_true(b.cap >= 10006);
    uint8_t *before = b.data;
    size_t cap = b.cap;
    memset(b.data + b.len, 'z', 10000);
    lbBufReserve(&b, 10000); /* already there: no reallocation */
    assert_ptr_equal(b.data, before);
    assert_int_equal(b.cap, cap);

    /* growth keeps the contents */
    for (int i = 0; i < 5000; i++)
        lbBufAppend(&b, "0123456789", 10);
    assert_int_equal(b.len, 6 + 50000);
    assert_memory_equal(b.data, "abcdef0123456789", 16);
    assert_memory_equal(b.data + b.len - 10, "0123456789", 10);

    lbBufClear(&b);
    assert_int_equal(b.len, 0);
    assert_true(b.cap >= 50006);
    lbBufAppend(&b, "x", 1);
    assert_memory_equal(b.data, "x", 1);

    /* take hands the data out and resets the buffer */
    size_t len = 0;
    uint8_t *taken = lbBufTake(&b, &len);
    assert_int_equal(len, 1);
    assert_int_equal(taken[0], 'x');
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(taken);
    lbBufAppend(&b, "again", 5);
    taken = lbBufTake(&b, NULL);
    assert_memory_equal(taken, "again", 5);
    free(taken);
    assert_null(lbBufTake(&b, &len)); /* empty buffer: NULL, length 0 */
    assert_int_equal(len, 0);

    lbBufFree(&b);
    lbBufFree(NULL);
    LbBuf big = {0};
    lbBufReserve(&big, 1); /* from zero capacity */
    assert_non_null(big.data);
    lbBufFree(&big);
    assert_null(big.data);
}

static void testLittleEndian(void **state) {
    (void)state;
    uint8_t p[8];
    lbPutU32(p, 0x01020304u);
    assert_memory_equal(p, "\x04\x03\x02\x01", 4);
    assert_int_equal(lbGetU32(p), 0x01020304u);
    lbPutU64(p, 0x0102030405060708ull);
    assert_memory_equal(p, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    assert_true(lbGetU64(p) == 0x0102030405060708ull);
    lbPutU32(p, 0xffffffffu);
    assert_int_equal(lbGetU32(p), 0xffffffffu);
}

static void testXalloc(void **state) {
    (void)state;
    char *s = lbXstrdup("hello");
    assert_string_equal(s, "hello");
    free(s);
    s = lbXasprintf("%d-%s", 42, "x");
    assert_string_equal(s, "42-x");
    free(s);
    /* longer than the internal 256-byte first try */
    char longArg[600];
    memset(longArg, 'a', 599);
    longArg[599] = '\0';
    s = lbXasprintf("<%s>", longArg);
    assert_int_equal(strlen(s), 601);
    assert_int_equal(s[0], '<');
    assert_int_equal(s[600], '>');
    free(s);
    /* zero-size requests return freeable, non-NULL memory */
    void *p = lbXmalloc(0);
    assert_non_null(p);
    free(p);
    p = lbXcalloc(0, 0);
    assert_non_null(p);
    free(p);
    int *arr = lbXcalloc(100, sizeof(int));
    for (int i = 0; i < 100; i++)
        assert_int_equal(arr[i], 0);
    arr = lbXrealloc(arr, 1000 * sizeof(int));
    assert_int_equal(arr[99], 0);
    free(arr);
}

/* lbPrintableDup: any length, control bytes as \xHH, the rest as is */
static void testPrintableDup(void **state) {
    (void)state;
    char *s = lbPrintableDup("a\x1b[2Jb\x07\x7f\xc3\xa9");
    assert_string_equal(s, "a\\x1b[2Jb\\x07\\x7f\xc3\xa9");
    free(s);
    char long_[3000];
    memset(long_, '\x01', sizeof(long_) - 1);
    long_[sizeof(long_) - 1] = '\0';
    s = lbPrintableDup(long_);
    assert_int_equal(strlen(s), 4 * (sizeof(long_) - 1));
    free(s);
    s = lbPrintableDup(NULL);
    assert_string_equal(s, "");
    free(s);
}

/* lbParseSeconds: the spans of the configuration file's run policy and of
 * --retry-lock */
static void testParseSeconds(void **state) {
    (void)state;
    static const struct {
        const char *text;
        int64_t seconds;
    } good[] = {
        {"0", 0}, {"90s", 90}, {"5m", 300}, {"1h30m", 5400}, {"2d", 172800}, {"1w", 604800}, {"1w2d3h4m5s", 788645},
        {"0s", 0}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t v = -1;
        assert_true(lbParseSeconds(good[i].text, &v));
        assert_int_equal(v, good[i].seconds);
    }
    static const char *const bad[] = {"", "90", "5x", "m", "1h30", "-5m", "1.5h", " 5m", "99999999999999999s"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;
        if (lbParseSeconds(bad[i], &v))
            fail_msg("'%s' parsed as %lld", bad[i], (long long)v);
    }
}

static void testUtf8Lossy(void **state) {
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"}, /* valid stays */
        {"caf\xe9", "caf\xef\xbf\xbd"},                                                             /* Latin-1 byte */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                                                   /* overlong '/' */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                                   /* a surrogate */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                   /* above U+10FFFF */
        {"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"},                                                   /* cut at the end */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *o = lbUtf8Lossy(cases[i].in);
        assert_string_equal(o, cases[i].out);
        json_t *j = lbJsonStringLossy(cases[i].in);
        assert_non_null(j);
        assert_string_equal(json_string_value(j), cases[i].out);
        json_decref(j);
        free(o);
    }
    assert_null(lbUtf8Lossy(NULL));
    json_t *n = lbJsonStringLossy(NULL);
    assert_true(json_is_null(n));
    json_decref(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testParseTimeAccepted),
        cmocka_unit_test(testParseTimeRejected),
        cmocka_unit_test(testParseTimeRejectsImpossibleDates),
        cmocka_unit_test(testParseTimeRejectsBadOffsets),
        cmocka_unit_test(testFormatTimeRoundTrip),
        cmocka_unit_test(testClocks),
        cmocka_unit_test(testExitCodes),
        cmocka_unit_test(testErrorNames),
        cmocka_unit_test(testErrorSetAndClear),
        cmocka_unit_test(testErrorSys),
        cmocka_unit_test(testErrorWrap),
        cmocka_unit_test(testLogLines),
        cmocka_unit_test(testHex),
        cmocka_unit_test(testIdHex),
        cmocka_unit_test(testParseSize),
        cmocka_unit_test(testPercentDecode),
        cmocka_unit_test(testBuf),
        cmocka_unit_test(testLittleEndian),
        cmocka_unit_test(testXalloc),
        cmocka_unit_test(testParseSeconds),
        cmocka_unit_test(testPrintableDup),
        cmocka_unit_test(testUtf8Lossy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
