/* tz.c - IANA time zones from TZif files (RFC 8536): transitions and the
 * footer's POSIX TZ rule. See tz.h for why this does not use localtime_r. */
#include "sched/tz.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_FILE_MAX (1 << 20)
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

/* One date of a POSIX TZ rule: Jn (1-365, no Feb 29), n (0-365) or Mm.w.d. */
typedef struct TzRuleDate {
    char kind; /* 'J', 'N', 'M' */
    int a, b, c;
    int32_t time; /* seconds after local midnight, may be negative or > 24 h */
} TzRuleDate;

typedef struct TzRule {
    bool valid;
    bool hasDst;
    int32_t stdOff, dstOff; /* seconds east of UTC */
    TzRuleDate start, end;
} TzRule;

struct TzZone {
    int64_t *at;  /* instants where the offset changes, ascending */
    int32_t *off; /* the offset from at[i] on */
    size_t n;
    int32_t initial; /* before at[0], or always when n == 0 and no rule */
    TzRule rule;     /* after at[n-1] */
};

/* ---- civil calendar (H. Hinnant's algorithms) ---- */

int64_t tzDaysFromCivil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tzCivilFromDays(int64_t days, int64_t *y, int *m, int *d) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floorDiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool isLeap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- the POSIX TZ rule ---- */

static bool ruleName(const char **p) {
    const char *s = *p;
    if (*s == '<') {
        const char *e = strchr(s, '>');
        if (e == NULL)
            return false;
        *p = e + 1;
        return true;
    }
    while (isalpha((unsigned char)*s))
        s++;
    if (s - *p < 3)
        return false;
    *p = s;
    return true;
}

/* [+-]hh[:mm[:ss]] in seconds, hours up to 167 (RFC 8536 extension). */
static bool ruleTime(const char **p, int32_t *out) {
    const char *s = *p;
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*s))
        return false;
    long part[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i > 0) {
            if (*s != ':')
                break;
            s++;
        }
        char *end;
        part[i] = strtol(s, &end, 10);
        if (end == s || part[i] < 0 || part[i] > (i == 0 ? 167 : 59))
            return false;
        s = end;
    }
    *out = (int32_t)(sign * (part[0] * 3600 + part[1] * 60 + part[2]));
    *p = s;
    return true;
}

static bool ruleDate(const char **p, TzRuleDate *out) {
    const char *s = *p;
    char *end;
    *out = (TzRuleDate){.time = 7200};
    if (*s == 'M') {
        out->kind = 'M';
        out->a = (int)strtol(s + 1, &end, 10);
        if (*end != '.')
            return false;
        out->b = (int)strtol(end + 1, &end, 10);
        if (*end != '.')
            return false;
        out->c = (int)strtol(end + 1, &end, 10);
        if (out->a < 1 || out->a > 12 || out->b < 1 || out->b > 5 || out->c < 0 || out->c > 6)
            return false;
    } else {
        out->kind = *s == 'J' ? 'J' : 'N';
        if (*s == 'J')
            s++;
        if (!isdigit((unsigned char)*s))
            return false;
        out->a = (int)strtol(s, &end, 10);
        if (out->a > 365 || (out->kind == 'J' && out->a < 1))
            return false;
    }
    s = end;
    if (*s == '/') {
        s++;
        if (!ruleTime(&s, &out->time))
            return false;
    }
    *p = s;
    return true;
}

static bool ruleParse(const char *s, TzRule *r) {
    *r = (TzRule){0};
    int32_t v;
    if (!ruleName(&s) || !ruleTime(&s, &v))
        return false;
    r->stdOff = -v;
    r->dstOff = r->stdOff;
    if (*s != '\0') {
        if (!ruleName(&s))
            return false;
        r->hasDst = true;
        r->dstOff = r->stdOff + 3600;
        if (*s != ',' && *s != '\0') {
            if (!ruleTime(&s, &v))
                return false;
            r->dstOff = -v;
        }
        const char *us = ",M3.2.0,M11.1.0"; /* the POSIX default when no rule is given */
        if (*s == '\0')
            s = us;
        if (*s++ != ',' || !ruleDate(&s, &r->start) || *s++ != ',' || !ruleDate(&s, &r->end) || *s != '\0')
            return false;
    }
    r->valid = true;
    return true;
}

/* The day (since the epoch) a rule date falls on in year y. */
static int64_t ruleDay(const TzRuleDate *d, int64_t y) {
    int64_t jan1 = tzDaysFromCivil(y, 1, 1);
    if (d->kind == 'J')
        return jan1 + d->a - 1 + (isLeap(y) && d->a >= 60);
    if (d->kind == 'N')
        return jan1 + d->a;
    int64_t first = tzDaysFromCivil(y, d->a, 1);
    int64_t next = d->a == 12 ? tzDaysFromCivil(y + 1, 1, 1) : tzDaysFromCivil(y, d->a + 1, 1);
    int dow1 = (int)(((first + 4) % 7 + 7) % 7);
    int64_t day = first + (d->c - dow1 + 7) % 7 + (int64_t)(d->b - 1) * 7;
    while (day >= next)
        day -= 7;
    return day;
}

typedef struct TzEvent {
    int64_t at;
    int32_t off;
} TzEvent;

/* The rule's changes in years y-1 .. y+1, ascending: six events. */
static void ruleEvents(const TzRule *r, int64_t y, TzEvent ev[6]) {
    for (int k = 0; k < 3; k++) {
        int64_t yy = y - 1 + k;
        ev[2 * k] = (TzEvent){ruleDay(&r->start, yy) * 86400 + r->start.time - r->stdOff, r->dstOff};
        ev[2 * k + 1] = (TzEvent){ruleDay(&r->end, yy) * 86400 + r->end.time - r->dstOff, r->stdOff};
    }
    for (int i = 1; i < 6; i++)
        for (int j = i; j > 0 && ev[j].at < ev[j - 1].at; j--) {
            TzEvent tmp = ev[j];
            ev[j] = ev[j - 1];
            ev[j - 1] = tmp;
        }
}

/* ---- lookup ---- */

int32_t tzLookup(const TzZone *z, int64_t t, int64_t *since, int64_t *until) {
    *since = INT64_MIN;
    *until = INT64_MAX;
    if (z->n > 0 && t < z->at[0]) {
        *until = z->at[0];
        return z->initial;
    }
    size_t lo = 0, hi = z->n;
    while (hi - lo > 1) { /* the last at[i] <= t */
        size_t mid = (lo + hi) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    int32_t off = z->n > 0 ? z->off[lo] : z->initial;
    if (z->n > 0)
        *since = z->at[lo];
    if (lo + 1 < z->n) {
        *until = z->at[lo + 1];
        return off;
    }
    if (!z->rule.valid)
        return off;
    if (!z->rule.hasDst || z->rule.stdOff == z->rule.dstOff)
        return z->rule.stdOff;
    int64_t y;
    int m, d;
    tzCivilFromDays(floorDiv(t, 86400), &y, &m, &d);
    TzEvent ev[6];
    ruleEvents(&z->rule, y, ev);
    /* before the first of these events the rule's other offset holds */
    off = ev[0].off == z->rule.dstOff ? z->rule.stdOff : z->rule.dstOff;
    for (int i = 0; i < 6; i++) {
        if (ev[i].at <= t) {
            off = ev[i].off;
            if (ev[i].at > *since)
                *since = ev[i].at;
        } else {
            *until = ev[i].at;
            break;
        }
    }
    return off;
}

/* ---- loading ---- */

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) {
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Parse a TZif image into z; false when it is not one. */
static bool tzifParse(const unsigned char *buf, size_t len, TzZone *z) {
    if (len < 44 || memcmp(buf, "TZif", 4) != 0)
        return false;
    bool v2 = buf[4] >= '2';
    const unsigned char *h = buf;
    int tsize = 4;
    for (int pass = 0; pass < (v2 ? 2 : 1); pass++) {
        if ((size_t)(h - buf) + 44 > len || memcmp(h, "TZif", 4) != 0)
            return false;
        uint32_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28);
        uint32_t timecnt = be32(h + 32), typecnt = be32(h + 36), charcnt = be32(h + 40);
        if (timecnt > 100000 || typecnt > 256 || charcnt > 65536 || leap > 100000 || isut > 256 || isstd > 256)
            return false;
        size_t block =
            (size_t)timecnt * (size_t)(tsize + 1) + typecnt * 6u + charcnt + leap * (size_t)(tsize + 4) + isstd + isut;
        if ((size_t)(h - buf) + 44 + block > len)
            return false;
        if (pass + 1 < (v2 ? 2 : 1)) {
            h += 44 + block;
            tsize = 8;
            continue;
        }
        if (typecnt == 0)
            return false;
        const unsigned char *times = h + 44, *idx = times + (size_t)timecnt * tsize, *types = idx + timecnt;
        z->at = calloc(timecnt + 1, sizeof(*z->at));
        z->off = calloc(timecnt + 1, sizeof(*z->off));
        if (z->at == NULL || z->off == NULL)
            return false;
        z->initial = (int32_t)be32(types);
        int32_t prev = z->initial;
        for (uint32_t i = 0; i < timecnt; i++) {
            if (idx[i] >= typecnt)
                return false;
            int32_t off = (int32_t)be32(types + 6u * idx[i]);
            if (off == prev)
                continue;
            z->at[z->n] = tsize == 8 ? be64(times + 8u * i) : (int32_t)be32(times + 4u * i);
            z->off[z->n++] = prev = off;
        }
        const unsigned char *foot = h + 44 + block;
        if (v2 && foot < buf + len && *foot == '\n') {
            const unsigned char *e = memchr(foot + 1, '\n', (size_t)(buf + len - foot - 1));
            char rule[256];
            size_t n = e ? (size_t)(e - foot - 1) : 0;
            if (e != NULL && n > 0 && n < sizeof(rule)) {
                memcpy(rule, foot + 1, n);
                rule[n] = '\0';
                if (!ruleParse(rule, &z->rule))
                    z->rule.valid = false; /* fall back to the last transition's offset */
            }
        }
    }
    return true;
}

static bool nameValid(const char *name) {
    if (name[0] == '/' || strstr(name, "..") != NULL || strstr(name, "//") != NULL || strlen(name) > 200)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && strchr("/_+-.", *p) == NULL)
            return false;
    return true;
}

TzZone *tzLoad(const char *name, LbError *err) {
    TzZone *z = calloc(1, sizeof(*z));
    unsigned char *buf = NULL;
    FILE *f = NULL;
    if (z == NULL) {
        lbErr(err, LB_ERR_MEMORY, "out of memory");
        return NULL;
    }
    if (name == NULL || name[0] == '\0' || strcmp(name, "UTC") == 0)
        return z;
    if (!nameValid(name)) {
        lbErr(err, LB_ERR_ARGS, "unknown time zone '%s': not an IANA zone name such as Europe/Berlin", name);
        goto fail;
    }
    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = TZ_DEFAULT_DIR;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        lbErr(err, LB_ERR_ARGS, "unknown time zone '%s': not found in %s", name, dir);
        goto fail;
    }
    buf = malloc(TZ_FILE_MAX);
    size_t len = buf ? fread(buf, 1, TZ_FILE_MAX, f) : 0;
    if (buf == NULL || !tzifParse(buf, len, z)) {
        lbErr(err, LB_ERR_ARGS, "unknown time zone '%s': %s is not a TZif file", name, path);
        goto fail;
    }
    fclose(f);
    free(buf);
    return z;
fail:
    if (f != NULL)
        fclose(f);
    free(buf);
    tzFree(z);
    return NULL;
}

void tzFree(TzZone *zone) {
    if (zone == NULL)
        return;
    free(zone->at);
    free(zone->off);
    free(zone);
}
