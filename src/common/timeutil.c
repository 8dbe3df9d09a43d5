/* timeutil.c - time formatting and parsing. */
#include "common/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

int64_t lbNowNs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double lbMonotonicSeconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void splitNs(int64_t ns, time_t *sec, long *frac) {
    *sec = (time_t)(ns / 1000000000);
    *frac = (long)(ns % 1000000000);
    if (*frac < 0) {
        *frac += 1000000000;
        (*sec)--;
    }
}

void lbFormatTimeNs(int64_t ns, char *out, size_t n) {
    time_t sec;
    long frac;
    splitNs(ns, &sec, &frac);
    struct tm tm;
    gmtime_r(&sec, &tm);
    char head[32];
    strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%09ldZ", head, frac);
}

void lbFormatTimeShort(int64_t ns, char *out, size_t n) {
    time_t sec;
    long frac;
    splitNs(ns, &sec, &frac);
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

static bool digits(const char **p, int count, int *out) {
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (!isdigit((unsigned char)**p))
            return false;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return true;
}

bool lbParseTime(const char *s, int64_t *ns) {
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, se = 0;
    long frac = 0;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' || !digits(&p, 2, &d))
        return false;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi))
            return false;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &se))
                return false;
            if (*p == '.') {
                p++;
                int n = 0;
                while (isdigit((unsigned char)*p)) {
                    if (n < 9) {
                        frac = frac * 10 + (*p - '0');
                        n++;
                    }
                    p++;
                }
                if (n == 0)
                    return false;
                for (; n < 9; n++)
                    frac *= 10;
            }
        }
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (!digits(&p, 2, &oh))
            return false;
        if (*p == ':')
            p++;
        if (*p && !digits(&p, 2, &om))
            return false;
        if (oh > 23 || om > 59)
            return false;
        offset = sign * (oh * 3600L + om * 60L);
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = se};
    time_t t = timegm(&tm);
    /* timegm normalizes (Feb 30 -> Mar 2): a date that moved did not exist */
    if (tm.tm_mday != d || tm.tm_mon != mo - 1 || tm.tm_year != y - 1900)
        return false;
    /* nanoseconds since the epoch in 64 bits cover 1677-09-21 .. 2262-04-11 */
    int64_t secs = (int64_t)t - offset;
    if (secs < INT64_MIN / 1000000000 + 1 || secs > INT64_MAX / 1000000000 - 1)
        return false;
    *ns = secs * 1000000000 + frac;
    return true;
}

bool lbParseSeconds(const char *s, int64_t *seconds) {
    int64_t total = 0;
    if (strcmp(s, "0") == 0) {
        *seconds = 0;
        return true;
    }
    if (*s == '\0')
        return false;
    for (const char *p = s; *p;) {
        if (*p < '0' || *p > '9')
            return false;
        int64_t v = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p++ - '0');
            if (v > INT64_C(1) << 40)
                return false;
        }
        int64_t unit = *p == 's' ? 1 : *p == 'm' ? 60 : *p == 'h' ? 3600 : *p == 'd' ? 86400 : *p == 'w' ? 604800 : 0;
        if (unit == 0)
            return false;
        total += v * unit;
        p++;
    }
    *seconds = total;
    return true;
}

bool lbParseAt(const char *s, int64_t nowNs, int64_t *ns) {
    if (strcmp(s, "latest") == 0 || strcmp(s, "now") == 0) {
        *ns = INT64_MAX;
        return true;
    }
    if (s[0] == '-') {
        int64_t secs;
        if (!lbParseSeconds(s + 1, &secs) || secs > INT64_MAX / 1000000000 || secs * 1000000000 > nowNs)
            return false;
        *ns = nowNs - secs * 1000000000;
        return true;
    }
    return lbParseTime(s, ns);
}
