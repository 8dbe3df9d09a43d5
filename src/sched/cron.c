/* cron.c - cron expressions (Vixie 5-field and Quartz 6/7-field) parsed into
 * bitsets, and the next fire time found field by field in a time zone (see
 * cron.h for the dialects and the daylight-saving rules; tz.h for zones). */
#include "sched/cron.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sched/tz.h"

#define CRON_YEAR_MIN 1970
#define CRON_YEAR_MAX 2199 /* the search horizon: nothing fires from 2200 on */
#define CRON_SPECIAL_MAX 8

typedef enum CronField {
    cronFieldSecond,
    cronFieldMinute,
    cronFieldHour,
    cronFieldDom,
    cronFieldMonth,
    cronFieldDow,
    cronFieldYear,
    CRON_FIELD_COUNT
} CronField;

static const struct {
    const char *name;
    int lo, hi; /* Vixie's range; Quartz differs for day of week (1-7) */
} fieldInfo[CRON_FIELD_COUNT] = {
    [cronFieldSecond] = {"second", 0, 59},
    [cronFieldMinute] = {"minute", 0, 59},
    [cronFieldHour] = {"hour", 0, 23},
    [cronFieldDom] = {"day of month", 1, 31},
    [cronFieldMonth] = {"month", 1, 12},
    [cronFieldDow] = {"day of week", 0, 7},
    [cronFieldYear] = {"year", CRON_YEAR_MIN, CRON_YEAR_MAX},
};

/* 256 bits; a value v of a field is bit v (years: v - CRON_YEAR_MIN). */
typedef struct CronBits {
    uint64_t w[4];
} CronBits;

/* Quartz day-of-month items that depend on the month: L-n (n may be 0),
 * with W the weekday nearest to it; nW the weekday nearest to day n. */
typedef struct CronDomSpecial {
    bool fromLast;
    bool weekday;
    int n;
} CronDomSpecial;

/* Quartz day-of-week items: dL (last weekday d of the month), d#k. */
typedef struct CronDowSpecial {
    int dow; /* 0 = Sunday */
    int nth; /* 1-5, or 0 for the last */
} CronDowSpecial;

struct CronSchedule {
    bool quartz;
    bool domStar, dowStar; /* Vixie: the field starts with '*' */
    bool domAny, dowAny;   /* Quartz: the field is '?' */
    bool wildHour;         /* the hour field starts with '*': fire by the wall clock */
    CronBits bits[CRON_FIELD_COUNT];
    CronDomSpecial dom[CRON_SPECIAL_MAX];
    int domCount;
    CronDowSpecial dow[CRON_SPECIAL_MAX];
    int dowCount;
    int lastYear;
    TzZone *zone;
};

/* ---- bitsets ---- */

static void bitSet(CronBits *b, int v) {
    b->w[v >> 6] |= 1ull << (v & 63);
}

static bool bitTest(const CronBits *b, int v) {
    return v >= 0 && v < 256 && (b->w[v >> 6] >> (v & 63) & 1) != 0;
}

/* The smallest set bit >= from and <= max, or -1. */
static int bitNext(const CronBits *b, int from, int max) {
    if (from < 0)
        from = 0;
    for (int v = from; v <= max && v < 256;) {
        uint64_t word = b->w[v >> 6] >> (v & 63);
        if (word != 0) {
            v += __builtin_ctzll(word);
            return v <= max ? v : -1;
        }
        v = (v | 63) + 1;
    }
    return -1;
}

/* ---- parsing ---- */

typedef struct CronParser {
    CronSchedule *cron;
    CronField field;
    int number; /* the field's position in the expression, from 1 */
    LbError *err;
} CronParser;

static bool fieldError(const CronParser *p, const char *tok, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool fieldError(const CronParser *p, const char *tok, size_t len, const char *fmt, ...) {
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    return lbErr(p->err, LB_ERR_ARGS, "field %d (%s) '%.*s': %s", p->number, fieldInfo[p->field].name, (int)len, tok,
                 reason);
}

static int fieldLo(const CronParser *p) {
    return p->field == cronFieldDow && p->cron->quartz ? 1 : fieldInfo[p->field].lo;
}

static int fieldHi(const CronParser *p) {
    return fieldInfo[p->field].hi;
}

static const char *const monthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                         "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const dayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* A number or (month, day of week) a three-letter name at s; *end after it. */
static bool parseValue(const CronParser *p, const char *s, const char **end, int *out) {
    if (isdigit((unsigned char)*s)) {
        long v = 0;
        for (; isdigit((unsigned char)*s); s++) /* clamped: a huge number is out of range */
            v = v < 100000 ? v * 10 + (*s - '0') : v;
        *out = (int)v;
        *end = s;
        return true;
    }
    const char *const *names = p->field == cronFieldMonth ? monthNames : p->field == cronFieldDow ? dayNames : NULL;
    int count = p->field == cronFieldMonth ? 12 : 7;
    for (int i = 0; names != NULL && i < count; i++)
        if (strncasecmp(s, names[i], 3) == 0) {
            *out = p->field == cronFieldMonth ? i + 1 : i + (p->cron->quartz ? 1 : 0);
            *end = s + 3;
            return true;
        }
    return false;
}

/* Store value v (in the field's external numbering) into the bitset. */
static void storeValue(CronParser *p, int v) {
    CronBits *b = &p->cron->bits[p->field];
    if (p->field == cronFieldYear)
        bitSet(b, v - CRON_YEAR_MIN);
    else if (p->field == cronFieldDow)
        bitSet(b, p->cron->quartz ? v - 1 : v % 7);
    else
        bitSet(b, v);
}

static bool checkRange(const CronParser *p, const char *tok, size_t len, int v) {
    if (v < fieldLo(p) || v > fieldHi(p))
        return fieldError(p, tok, len, "out of range %d-%d", fieldLo(p), fieldHi(p));
    return true;
}

/* Quartz L, W, LW, L-n, L-nW, nW in day of month. */
static bool parseDomSpecial(CronParser *p, const char *tok, size_t len) {
    CronSchedule *c = p->cron;
    CronDomSpecial sp = {0};
    const char *s = tok, *e = tok + len;
    if (toupper((unsigned char)*s) == 'L') {
        sp.fromLast = true;
        s++;
        if (s < e && *s == '-') {
            s++;
            if (s == e || !isdigit((unsigned char)*s))
                return fieldError(p, tok, len, "expected a number after 'L-'");
            parseValue(p, s, &s, &sp.n);
            if (sp.n > 30)
                return fieldError(p, tok, len, "'L-n' needs n in 0-30");
        }
    } else {
        parseValue(p, s, &s, &sp.n);
        if (!checkRange(p, tok, len, sp.n))
            return false;
    }
    if (s < e && toupper((unsigned char)*s) == 'W') {
        sp.weekday = true;
        s++;
    }
    if (s != e || (!sp.fromLast && !sp.weekday))
        return fieldError(p, tok, len, "expected L, LW, L-n, L-nW or nW");
    if (c->domCount == CRON_SPECIAL_MAX)
        return fieldError(p, tok, len, "more than %d L/W items", CRON_SPECIAL_MAX);
    c->dom[c->domCount++] = sp;
    return true;
}

/* Quartz L (Saturday), dL and d#k in day of week. */
static bool parseDowSpecial(CronParser *p, const char *tok, size_t len) {
    CronSchedule *c = p->cron;
    const char *s = tok, *e = tok + len;
    if (len == 1) { /* "L" alone: the last day of the week, Saturday */
        storeValue(p, 7);
        return true;
    }
    int d, k = 0;
    if (!parseValue(p, s, &s, &d))
        return fieldError(p, tok, len, "expected a day number or name before 'L' or '#'");
    if (!checkRange(p, tok, len, d))
        return false;
    if (s < e && *s == '#') {
        s++;
        if (s == e || !isdigit((unsigned char)*s) || !parseValue(p, s, &s, &k) || k < 1 || k > 5)
            return fieldError(p, tok, len, "'d#k' needs k in 1-5");
    } else if (s < e && toupper((unsigned char)*s) == 'L') {
        s++;
    }
    if (s != e)
        return fieldError(p, tok, len, "expected dL or d#k");
    if (c->dowCount == CRON_SPECIAL_MAX)
        return fieldError(p, tok, len, "more than %d L/# items", CRON_SPECIAL_MAX);
    c->dow[c->dowCount++] = (CronDowSpecial){.dow = d - 1, .nth = k};
    return true;
}

/* One item of a list: *, v, a-b, with an optional /step (a/step = a-max/step). */
static bool parseItem(CronParser *p, const char *tok, size_t len) {
    const char *s = tok, *e = tok + len;
    bool quartz = p->cron->quartz;
    if (memchr(tok, '?', len) != NULL)
        return fieldError(p, tok, len, "'?' must be the whole field");
    int first = toupper((unsigned char)tok[0]), last = toupper((unsigned char)tok[len - 1]);
    bool special = first == 'L' || memchr(tok, '#', len) != NULL ||
                   (len >= 2 && (last == 'L' || last == 'W') && isdigit((unsigned char)tok[len - 2]));
    if (quartz && p->field == cronFieldDom && (first == 'L' || last == 'W'))
        return parseDomSpecial(p, tok, len);
    if (quartz && p->field == cronFieldDow && (last == 'L' || memchr(tok, '#', len) != NULL))
        return parseDowSpecial(p, tok, len);
    if (special && !quartz && (p->field == cronFieldDom || p->field == cronFieldDow))
        return fieldError(p, tok, len, "L, W and # are Quartz syntax (6 or 7 fields)");
    if (special)
        return fieldError(p, tok, len, "L, W and # are allowed only in day of month or day of week");
    int lo = fieldLo(p), hi = fieldHi(p), step = 1;
    bool range = false;
    if (*s == '*') {
        s++;
    } else {
        if (!parseValue(p, s, &s, &lo))
            return fieldError(p, tok, len, "not a number%s",
                              p->field == cronFieldMonth || p->field == cronFieldDow ? " or a three-letter name" : "");
        if (!checkRange(p, tok, len, lo))
            return false;
        hi = lo;
        if (s < e && *s == '-') {
            s++;
            if (!parseValue(p, s, &s, &hi))
                return fieldError(p, tok, len, "expected a value after '-'");
            if (!checkRange(p, tok, len, hi))
                return false;
            if (hi < lo)
                return fieldError(p, tok, len, "range %d-%d ends before it starts", lo, hi);
            range = true;
        }
    }
    if (s < e && *s == '/') {
        s++;
        if (s == e || !isdigit((unsigned char)*s))
            return fieldError(p, tok, len, "expected a number after '/'");
        parseValue(p, s, &s, &step);
        if (step < 1)
            return fieldError(p, tok, len, "step must be at least 1");
        if (tok[0] != '*' && !range)
            hi = fieldHi(p); /* a/step: from a to the end of the range */
    }
    if (s != e)
        return fieldError(p, tok, len, "unexpected '%c'", *s);
    for (int v = lo; v <= hi; v += step)
        storeValue(p, v);
    return true;
}

static bool parseField(CronParser *p, const char *tok, size_t len) {
    CronSchedule *c = p->cron;
    if (len == 1 && tok[0] == '?') {
        if (p->field != cronFieldDom && p->field != cronFieldDow)
            return fieldError(p, tok, len, "'?' is allowed only in day of month or day of week");
        if (!c->quartz) /* 5 fields: '?' is '*', as in Cronos */
            return parseField(p, "*", 1);
        if (p->field == cronFieldDom)
            c->domAny = true;
        else
            c->dowAny = true;
        return true;
    }
    if (p->field == cronFieldDom)
        c->domStar = tok[0] == '*';
    if (p->field == cronFieldDow)
        c->dowStar = tok[0] == '*';
    if (p->field == cronFieldHour)
        c->wildHour = tok[0] == '*';
    for (const char *s = tok, *e = tok + len; s < e;) {
        const char *comma = memchr(s, ',', (size_t)(e - s));
        const char *end = comma ? comma : e;
        if (end == s)
            return fieldError(p, tok, len, "empty list item");
        if (!parseItem(p, s, (size_t)(end - s)))
            return false;
        s = comma ? comma + 1 : e;
        if (comma && s == e)
            return fieldError(p, tok, len, "empty list item");
    }
    return true;
}

static const struct {
    const char *name;
    const char *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},
};

/* Parse the fields of expr into c; the dialect is chosen by their number. */
static bool parseExpr(CronSchedule *c, const char *expr, LbError *err) {
    while (isspace((unsigned char)*expr))
        expr++;
    if (expr[0] == '@') {
        size_t n = strcspn(expr, " \t\r\n");
        for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
            if (strlen(macros[i].name) == n && strncasecmp(expr, macros[i].name, n) == 0 &&
                expr[n + strspn(expr + n, " \t\r\n")] == '\0')
                return parseExpr(c, macros[i].expr, err);
        return lbErr(err, LB_ERR_ARGS,
                     "unknown macro '%.*s' (known: @yearly @annually @monthly @weekly @daily "
                     "@midnight @hourly)",
                     (int)n, expr);
    }
    const char *tok[8];
    size_t len[8];
    int count = 0;
    for (const char *s = expr; *s;) {
        s += strspn(s, " \t\r\n");
        if (*s == '\0')
            break;
        size_t n = strcspn(s, " \t\r\n");
        if (count < 8) {
            tok[count] = s;
            len[count] = n;
        }
        count++;
        s += n;
    }
    if (count < 5 || count > 7)
        return lbErr(err, LB_ERR_ARGS, "expected 5 fields (Vixie) or 6-7 (Quartz), got %d", count);
    c->quartz = count >= 6;
    CronParser p = {.cron = c, .err = err};
    for (int i = 0; i < count; i++) {
        p.number = i + 1;
        p.field = (CronField)(c->quartz ? i : i + 1);
        if (!parseField(&p, tok[i], len[i]))
            return false;
    }
    if (!c->quartz)
        bitSet(&c->bits[cronFieldSecond], 0);
    if (count != 7)
        for (int y = CRON_YEAR_MIN; y <= CRON_YEAR_MAX; y++)
            bitSet(&c->bits[cronFieldYear], y - CRON_YEAR_MIN);
    if (c->quartz && c->domAny == c->dowAny) {
        p.number = 6;
        p.field = cronFieldDow;
        return fieldError(&p, tok[5], len[5], "%s",
                          c->domAny ? "'?' in both day fields: Quartz takes '?' in exactly one of them"
                                    : "Quartz needs '?' in day of month or day of week (it does not combine both)");
    }
    c->lastYear = -1;
    for (int v = 0; v <= CRON_YEAR_MAX - CRON_YEAR_MIN; v++)
        if (bitTest(&c->bits[cronFieldYear], v))
            c->lastYear = v + CRON_YEAR_MIN;
    return true;
}

CronSchedule *cronParse(const char *expr, const char *tz, LbError *err) {
    CronSchedule *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        lbErr(err, LB_ERR_MEMORY, "out of memory");
        return NULL;
    }
    if (expr == NULL)
        expr = "";
    if (!parseExpr(c, expr, err) || (c->zone = tzLoad(tz, err)) == NULL) {
        cronFree(c);
        return NULL;
    }
    return c;
}

void cronFree(CronSchedule *cron) {
    if (cron == NULL)
        return;
    tzFree(cron->zone);
    free(cron);
}

bool cronTimezoneValid(const char *tz, LbError *err) {
    TzZone *z = tzLoad(tz, err);
    tzFree(z);
    return z != NULL;
}

/* ---- the next fire time ---- */

static int daysInMonth(int64_t y, int m) {
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* Quartz's nearest weekday to day d (within the month), or 0 when d is past
 * the month's end. */
static int nearestWeekday(int d, int dim, int dow1) {
    if (d < 1 || d > dim)
        return 0;
    int dow = (dow1 + d - 1) % 7;
    if (dow == 6)
        return d == 1 ? 3 : d - 1;
    if (dow == 0)
        return d == dim ? d - 2 : d + 1;
    return d;
}

/* The days (bit d) of month m of year y on which the schedule fires. */
/* The days of month m of year y that match. lo is the search's start (wall
 * seconds): as Quartz does, a W day (nearest weekday) counts only while its
 * base day's first fire time is not before lo, so once the base day has
 * passed, the weekday it moved to does not fire either (the cron vectors'
 * "0 15 10 L-1W,L-1 * ? 2010" pins this). */
static uint32_t dayMask(const CronSchedule *c, int64_t y, int m, int64_t lo) {
    int dim = daysInMonth(y, m);
    int dow1 = (int)(((tzDaysFromCivil(y, m, 1) + 4) % 7 + 7) % 7);
    uint32_t dom = (uint32_t)c->bits[cronFieldDom].w[0] & (uint32_t)(((1ull << (dim + 1)) - 1) & ~1ull);
    for (int i = 0; i < c->domCount; i++) {
        const CronDomSpecial *s = &c->dom[i];
        int d = s->fromLast ? dim - s->n : s->n;
        if (s->weekday) {
            int64_t firstTime = (int64_t)bitNext(&c->bits[cronFieldHour], 0, 23) * 3600 +
                                bitNext(&c->bits[cronFieldMinute], 0, 59) * 60 +
                                bitNext(&c->bits[cronFieldSecond], 0, 59);
            if (d >= 1 && d <= dim && tzDaysFromCivil(y, m, d) * 86400 + firstTime < lo)
                continue;
            d = nearestWeekday(d, dim, dow1);
        }
        if (d >= 1 && d <= dim)
            dom |= 1u << d;
    }
    uint32_t dow = 0;
    for (int d = 1; d <= dim; d++)
        if (bitTest(&c->bits[cronFieldDow], (dow1 + d - 1) % 7))
            dow |= 1u << d;
    for (int i = 0; i < c->dowCount; i++) {
        const CronDowSpecial *s = &c->dow[i];
        int first = 1 + (s->dow - dow1 + 7) % 7;
        int d = s->nth > 0 ? first + 7 * (s->nth - 1) : first + 7 * ((dim - first) / 7);
        if (d <= dim)
            dow |= 1u << d;
    }
    if (c->quartz)
        return c->domAny ? dow : dom;
    return c->domStar || c->dowStar ? dom & dow : dom | dow;
}

/* The first wall time (local seconds, as if UTC) in [lo, hi) that matches
 * the fields, ignoring the zone; false when there is none. */
static bool nextWall(const CronSchedule *c, int64_t lo, int64_t hi, int64_t *out) {
    int64_t days = lo / 86400 - (lo % 86400 < 0);
    int64_t sod = lo - days * 86400, y;
    int mo, d, h = (int)(sod / 3600), mi = (int)(sod / 60 % 60), s = (int)(sod % 60);
    tzCivilFromDays(days, &y, &mo, &d);
    const CronBits *b = c->bits;
    /* each pass moves at least one field forward; a year has < 600 passes */
    for (int guard = 0; guard < 1000000; guard++) {
        /* the day of the position so far (d 32 and mo 13 count on into the
         * next month and year) bounds every match still to come */
        if (y > c->lastYear || tzDaysFromCivil(y, mo, d) * 86400 >= hi)
            return false;
        if (y < CRON_YEAR_MIN || !bitTest(&b[cronFieldYear], (int)(y - CRON_YEAR_MIN))) {
            int ny = bitNext(&b[cronFieldYear], y < CRON_YEAR_MIN ? 0 : (int)(y - CRON_YEAR_MIN), 255);
            if (ny < 0)
                return false;
            y = ny + CRON_YEAR_MIN;
            mo = 1, d = 1, h = mi = s = 0;
            continue;
        }
        int v = bitNext(&b[cronFieldMonth], mo, 12);
        if (v < 0) {
            y++, mo = 1, d = 1, h = mi = s = 0;
            continue;
        }
        if (v != mo)
            mo = v, d = 1, h = mi = s = 0;
        CronBits dm = {{dayMask(c, y, mo, lo), 0, 0, 0}};
        v = bitNext(&dm, d, 31);
        if (v < 0) {
            mo++, d = 1, h = mi = s = 0;
            continue;
        }
        if (v != d)
            d = v, h = mi = s = 0;
        v = bitNext(&b[cronFieldHour], h, 23);
        if (v < 0) {
            d++, h = mi = s = 0;
            continue;
        }
        if (v != h)
            h = v, mi = s = 0;
        v = bitNext(&b[cronFieldMinute], mi, 59);
        if (v < 0) {
            h++, mi = s = 0;
            continue;
        }
        if (v != mi)
            mi = v, s = 0;
        v = bitNext(&b[cronFieldSecond], s, 59);
        if (v < 0) {
            mi++, s = 0;
            continue;
        }
        *out = tzDaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + v;
        return *out < hi;
    }
    return false;
}

/*
 * Walk the zone's spans of constant offset from after+1 on. In each span the
 * first matching wall time that falls inside it is the answer. A schedule
 * with a fixed hour fires once per wall time: in the span after an autumn
 * change the wall times already passed before it are skipped, and wall times
 * in a spring gap fire at the change instant. A wildcard-hour schedule just
 * follows the wall clock of each span.
 */
bool cronNext(const CronSchedule *cron, int64_t after, int64_t *next) {
    const int64_t horizon = tzDaysFromCivil(CRON_YEAR_MAX + 1, 1, 1) * 86400;
    if (after >= horizon)
        return false;
    int64_t t = after + 1;
    while (t < horizon) {
        int64_t since, until, w, ignore;
        int32_t off = tzLookup(cron->zone, t, &since, &until);
        int64_t lo = t + off;
        if (!cron->wildHour && since != INT64_MIN) {
            int32_t prev = tzLookup(cron->zone, since - 1, &ignore, &ignore);
            if (prev > off && lo < since + prev)
                lo = since + prev; /* wall times that fired before the change */
        }
        if (nextWall(cron, lo, until == INT64_MAX ? INT64_MAX : until + off, &w)) {
            *next = w - off;
            return *next < horizon;
        }
        if (until == INT64_MAX)
            return false;
        int32_t after2 = tzLookup(cron->zone, until, &ignore, &ignore);
        if (!cron->wildHour && after2 > off && nextWall(cron, until + off, until + after2, &w)) {
            *next = until; /* a wall time in the spring gap fires at the change */
            return true;
        }
        t = until;
    }
    return false;
}
