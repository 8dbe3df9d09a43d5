/* policy.c - retention policy: parse, describe and apply (see policy.h). */
#include "retention/policy.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(sizeof(time_t) >= 8, "calendar arithmetic needs a 64-bit time_t");

#define NS_PER_SEC INT64_C(1000000000)
#define BUCKET_COUNT 5 /* hourly, daily, weekly, monthly, yearly */

static const char *const bucketName[BUCKET_COUNT] = {"hourly", "daily", "weekly", "monthly", "yearly"};
static const uint32_t bucketBit[BUCKET_COUNT] = {RETENTION_KEEP_HOURLY, RETENTION_KEEP_DAILY, RETENTION_KEEP_WEEKLY,
                                                 RETENTION_KEEP_MONTHLY, RETENTION_KEEP_YEARLY};
static const uint32_t bucketOldestBit[BUCKET_COUNT] = {RETENTION_KEEP_OLDEST_HOURLY, RETENTION_KEEP_OLDEST_DAILY,
                                                       RETENTION_KEEP_OLDEST_WEEKLY, RETENTION_KEEP_OLDEST_MONTHLY,
                                                       RETENTION_KEEP_OLDEST_YEARLY};
static const uint32_t withinBit[BUCKET_COUNT] = {RETENTION_KEEP_WITHIN_HOURLY, RETENTION_KEEP_WITHIN_DAILY,
                                                 RETENTION_KEEP_WITHIN_WEEKLY, RETENTION_KEEP_WITHIN_MONTHLY,
                                                 RETENTION_KEEP_WITHIN_YEARLY};
static const uint32_t withinOldestBit[BUCKET_COUNT] = {
    RETENTION_KEEP_OLDEST_WITHIN_HOURLY, RETENTION_KEEP_OLDEST_WITHIN_DAILY, RETENTION_KEEP_OLDEST_WITHIN_WEEKLY,
    RETENTION_KEEP_OLDEST_WITHIN_MONTHLY, RETENTION_KEEP_OLDEST_WITHIN_YEARLY};

static void policyCounts(const RetentionPolicy *p, int counts[BUCKET_COUNT]) {
    counts[0] = p->keepHourly;
    counts[1] = p->keepDaily;
    counts[2] = p->keepWeekly;
    counts[3] = p->keepMonthly;
    counts[4] = p->keepYearly;
}

static void policyWithins(const RetentionPolicy *p, const RetentionDuration *within[BUCKET_COUNT]) {
    within[0] = &p->withinHourly;
    within[1] = &p->withinDaily;
    within[2] = &p->withinWeekly;
    within[3] = &p->withinMonthly;
    within[4] = &p->withinYearly;
}

/***********************************************************************************************************************
 * snprintf-like output
 **********************************************************************************************************************/

typedef struct Out {
    char *buf;
    size_t n;
    size_t len; /* length the full text needs */
} Out;

static Out outBegin(char *buf, size_t n) {
    if (buf != NULL && n > 0)
        buf[0] = '\0';
    return (Out){.buf = buf, .n = buf != NULL ? n : 0, .len = 0};
}

__attribute__((format(printf, 2, 3))) static void outAdd(Out *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r;
    if (o->len < o->n)
        r = vsnprintf(o->buf + o->len, o->n - o->len, fmt, ap);
    else
        r = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (r > 0)
        o->len += (size_t)r;
}

/***********************************************************************************************************************
 * Durations and counts
 **********************************************************************************************************************/

bool retentionDurationZero(const RetentionDuration *d) {
    return d->years == 0 && d->months == 0 && d->days == 0 && d->hours == 0;
}

bool retentionParseDuration(const char *s, RetentionDuration *out, LbError *err) {
    if (s == NULL || *s == '\0')
        return lbErr(err, LB_ERR_ARGS, "invalid duration '': empty (use e.g. '35d' or '2y5m7d3h')");
    RetentionDuration d = {0};
    bool seen[4] = {false, false, false, false};
    const char *c = s;
    while (*c != '\0') {
        if (*c < '0' || *c > '9')
            return lbErr(err, LB_ERR_ARGS, "invalid duration '%s': expected a number at '%s'", s, c);
        long value = 0;
        while (*c >= '0' && *c <= '9') {
            value = value * 10 + (*c - '0');
            if (value > RETENTION_DURATION_COMPONENT_MAX)
                return lbErr(err, LB_ERR_ARGS, "invalid duration '%s': number too large (at most %d per unit)", s,
                             RETENTION_DURATION_COMPONENT_MAX);
            c++;
        }
        int slot;
        switch (*c) {
        case 'y':
            slot = 0;
            d.years = (int)value;
            break;
        case 'm':
            slot = 1;
            d.months = (int)value;
            break;
        case 'd':
            slot = 2;
            d.days = (int)value;
            break;
        case 'h':
            slot = 3;
            d.hours = (int)value;
            break;
        case '\0':
            return lbErr(err, LB_ERR_ARGS, "invalid duration '%s': number without a unit (use y, m, d or h)", s);
        default:
            return lbErr(err, LB_ERR_ARGS, "invalid duration '%s': unknown unit '%c' (use y, m, d or h)", s, *c);
        }
        if (seen[slot])
            return lbErr(err, LB_ERR_ARGS, "invalid duration '%s': unit '%c' given twice", s, *c);
        seen[slot] = true;
        c++;
    }
    if (retentionDurationZero(&d))
        return lbErr(err, LB_ERR_ARGS, "invalid duration '%s': must be greater than zero", s);
    *out = d;
    return true;
}

bool retentionParseCount(const char *s, int *out, LbError *err) {
    if (s == NULL || *s == '\0')
        return lbErr(err, LB_ERR_ARGS, "invalid count '': use a number >= 0 or 'unlimited'");
    if (strcmp(s, "unlimited") == 0 || strcmp(s, "-1") == 0) {
        *out = RETENTION_UNLIMITED;
        return true;
    }
    long value = 0;
    for (const char *c = s; *c != '\0'; c++) {
        if (*c < '0' || *c > '9')
            return lbErr(err, LB_ERR_ARGS, "invalid count '%s': use a number >= 0 or 'unlimited'", s);
        value = value * 10 + (*c - '0');
        if (value > RETENTION_COUNT_MAX)
            return lbErr(err, LB_ERR_ARGS, "invalid count '%s': at most %d (or 'unlimited')", s, RETENTION_COUNT_MAX);
    }
    *out = (int)value;
    return true;
}

size_t retentionDurationFormat(const RetentionDuration *d, char *buf, size_t n) {
    Out o = outBegin(buf, n);
    if (d->years != 0)
        outAdd(&o, "%dy", d->years);
    if (d->months != 0)
        outAdd(&o, "%dm", d->months);
    if (d->days != 0)
        outAdd(&o, "%dd", d->days);
    if (d->hours != 0 || retentionDurationZero(d))
        outAdd(&o, "%dh", d->hours);
    return o.len;
}

static int64_t floorDiv(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

int64_t retentionDurationSubtract(int64_t timeNs, const RetentionDuration *d) {
    int64_t sec = floorDiv(timeNs, NS_PER_SEC);
    int64_t frac = timeNs - sec * NS_PER_SEC;
    time_t t = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return INT64_MIN;
    /* timegm normalizes out-of-range months into years and days into months,
     * which is the roll-over described in policy.h. */
    tm.tm_year -= d->years;
    tm.tm_mon -= d->months;
    tm.tm_mday -= d->days;
    tm.tm_isdst = 0;
    int64_t cut = (int64_t)timegm(&tm) - (int64_t)d->hours * 3600;
    /* INT64_MIN / NS_PER_SEC (truncated) is the smallest second that, plus any
     * fraction, still fits in int64 nanoseconds. */
    if (cut < INT64_MIN / NS_PER_SEC)
        return INT64_MIN;
    return cut * NS_PER_SEC + frac;
}

/***********************************************************************************************************************
 * Policy
 **********************************************************************************************************************/

bool retentionPolicyEmpty(const RetentionPolicy *p) {
    int counts[BUCKET_COUNT];
    const RetentionDuration *within[BUCKET_COUNT];
    policyCounts(p, counts);
    policyWithins(p, within);
    if (p->keepLast != 0 || !retentionDurationZero(&p->within) || p->keepTagCount != 0)
        return false;
    for (int r = 0; r < BUCKET_COUNT; r++)
        if (counts[r] != 0 || !retentionDurationZero(within[r]))
            return false;
    return true;
}

static bool checkCount(const char *option, int count, LbError *err) {
    if (count < RETENTION_UNLIMITED || count > RETENTION_COUNT_MAX)
        return lbErr(err, LB_ERR_ARGS, "invalid retention policy: %s is %d (use 0..%d, or -1 for unlimited)", option,
                     count, RETENTION_COUNT_MAX);
    return true;
}

static bool checkDuration(const char *option, const RetentionDuration *d, LbError *err) {
    const int parts[4] = {d->years, d->months, d->days, d->hours};
    for (int i = 0; i < 4; i++)
        if (parts[i] < 0 || parts[i] > RETENTION_DURATION_COMPONENT_MAX)
            return lbErr(err, LB_ERR_ARGS, "invalid retention policy: %s has a component of %d (use 0..%d per unit)",
                         option, parts[i], RETENTION_DURATION_COMPONENT_MAX);
    return true;
}

bool retentionPolicyCheck(const RetentionPolicy *p, LbError *err) {
    static const char *const countOption[BUCKET_COUNT] = {"keep-hourly", "keep-daily", "keep-weekly", "keep-monthly",
                                                          "keep-yearly"};
    static const char *const withinOption[BUCKET_COUNT] = {
        "keep-within-hourly", "keep-within-daily", "keep-within-weekly", "keep-within-monthly", "keep-within-yearly"};
    int counts[BUCKET_COUNT];
    const RetentionDuration *within[BUCKET_COUNT];
    policyCounts(p, counts);
    policyWithins(p, within);

    if (!checkCount("keep-last", p->keepLast, err) || !checkDuration("keep-within", &p->within, err))
        return false;
    for (int r = 0; r < BUCKET_COUNT; r++)
        if (!checkCount(countOption[r], counts[r], err) || !checkDuration(withinOption[r], within[r], err))
            return false;

    if (p->keepTagCount > RETENTION_MAX_TAG_LISTS)
        return lbErr(err, LB_ERR_ARGS, "invalid retention policy: %zu keep-tag options (at most %d)", p->keepTagCount,
                     RETENTION_MAX_TAG_LISTS);
    if (p->keepTagCount > 0 && p->keepTags == NULL)
        return lbErr(err, LB_ERR_ARGS, "invalid retention policy: keep-tag list missing");
    for (size_t i = 0; i < p->keepTagCount; i++) {
        const char *list = p->keepTags[i];
        if (list == NULL)
            return lbErr(err, LB_ERR_ARGS, "invalid retention policy: keep-tag %zu missing", i);
        if (*list == '\0')
            continue; /* "" = untagged */
        /* Inside a list no tag may be empty: "a,,b", ",a" and "a," are errors. */
        size_t len = strlen(list);
        if (list[0] == ',' || list[len - 1] == ',' || strstr(list, ",,") != NULL)
            return lbErr(err, LB_ERR_ARGS, "invalid keep-tag '%s': empty tag in list", list);
    }
    return true;
}

size_t retentionPolicyFormat(const RetentionPolicy *p, char *buf, size_t n) {
    Out o = outBegin(buf, n);
    if (retentionPolicyEmpty(p)) {
        outAdd(&o, "keep everything (empty policy)");
        return o.len;
    }
    int counts[BUCKET_COUNT];
    const RetentionDuration *within[BUCKET_COUNT];
    policyCounts(p, counts);
    policyWithins(p, within);
    const char *sep = "keep ";
    char dur[64];

    if (p->keepLast == RETENTION_UNLIMITED) {
        outAdd(&o, "%sall snapshots", sep);
        sep = ", ";
    } else if (p->keepLast > 0) {
        outAdd(&o, "%sthe last %d snapshot%s", sep, p->keepLast, p->keepLast == 1 ? "" : "s");
        sep = ", ";
    }
    for (int r = 0; r < BUCKET_COUNT; r++) {
        if (counts[r] == RETENTION_UNLIMITED)
            outAdd(&o, "%sall %s snapshots", sep, bucketName[r]);
        else if (counts[r] > 0)
            outAdd(&o, "%s%d %s snapshot%s", sep, counts[r], bucketName[r], counts[r] == 1 ? "" : "s");
        else
            continue;
        sep = ", ";
    }
    for (int r = 0; r < BUCKET_COUNT; r++) {
        if (retentionDurationZero(within[r]))
            continue;
        retentionDurationFormat(within[r], dur, sizeof(dur));
        outAdd(&o, "%s%s snapshots within %s", sep, bucketName[r], dur);
        sep = ", ";
    }
    if (!retentionDurationZero(&p->within)) {
        retentionDurationFormat(&p->within, dur, sizeof(dur));
        outAdd(&o, "%sall snapshots within %s of the newest", sep, dur);
        sep = ", ";
    }
    for (size_t i = 0; i < p->keepTagCount; i++) {
        const char *list = p->keepTags[i] != NULL ? p->keepTags[i] : "";
        if (*list == '\0')
            outAdd(&o, "%suntagged snapshots", sep);
        else
            outAdd(&o, "%ssnapshots tagged '%s'", sep, list);
        sep = ", ";
    }
    return o.len;
}

/***********************************************************************************************************************
 * Apply
 **********************************************************************************************************************/

typedef struct Entry {
    const RetentionItem *item;
    size_t index; /* position in the input */
} Entry;

/* Group, then newest first, then input order. */
static int entryCompare(const void *a, const void *b) {
    const Entry *x = a;
    const Entry *y = b;
    int c = strcmp(x->item->group != NULL ? x->item->group : "", y->item->group != NULL ? y->item->group : "");
    if (c != 0)
        return c;
    if (x->item->timeNs != y->item->timeNs)
        return x->item->timeNs > y->item->timeNs ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index ? 1 : 0);
}

static bool sameGroup(const RetentionItem *a, const RetentionItem *b) {
    return strcmp(a->group != NULL ? a->group : "", b->group != NULL ? b->group : "") == 0;
}

/* Bucket keys of t: hour, day and ISO week as counts since the epoch (the
 * epoch was a Thursday, so Monday-based weeks start at day -3), month and
 * year from the calendar. Equal keys = same bucket; only equality matters. */
static void bucketKeys(int64_t timeNs, int64_t keys[BUCKET_COUNT]) {
    int64_t sec = floorDiv(timeNs, NS_PER_SEC);
    int64_t day = floorDiv(sec, 86400);
    keys[0] = floorDiv(sec, 3600);
    keys[1] = day;
    keys[2] = floorDiv(day + 3, 7);
    time_t t = (time_t)sec;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL) {
        keys[3] = keys[4] = INT64_MIN; /* unreachable for int64 nanoseconds */
        return;
    }
    keys[3] = ((int64_t)tm.tm_year + 1900) * 12 + tm.tm_mon;
    keys[4] = (int64_t)tm.tm_year + 1900;
}

static bool itemHasTag(const RetentionItem *it, const char *tag, size_t len) {
    for (size_t i = 0; i < it->tagCount; i++) {
        const char *have = it->tags[i];
        if (have != NULL && strlen(have) == len && memcmp(have, tag, len) == 0)
            return true;
    }
    return false;
}

/* list is "a,b" (all required) or "" (untagged only). */
static bool itemMatchesTagList(const RetentionItem *it, const char *list) {
    if (*list == '\0')
        return it->tagCount == 0;
    const char *start = list;
    for (;;) {
        const char *end = strchr(start, ',');
        size_t len = end != NULL ? (size_t)(end - start) : strlen(start);
        if (!itemHasTag(it, start, len))
            return false;
        if (end == NULL)
            return true;
        start = end + 1;
    }
}

typedef struct BucketState {
    int remaining; /* counted rules: buckets left, -1 = unlimited */
    bool hasLast;
    int64_t lastKey;
} BucketState;

/* The bucket walk shared by counted and within rules: keep cur when it opens
 * a new bucket, or when it is the group's oldest item (then as "oldest" if
 * its bucket was already kept). Returns the bit to set, or 0. */
static uint32_t bucketStep(BucketState *st, int64_t key, bool oldestItem, uint32_t bit, uint32_t oldestBit) {
    bool same = st->hasLast && st->lastKey == key;
    if (same && !oldestItem)
        return 0;
    st->hasLast = true;
    st->lastKey = key;
    return same ? oldestBit : bit;
}

static void applyGroup(const RetentionPolicy *p, const Entry *e, size_t m, int64_t nowNs, RetentionDecision *out) {
    int counts[BUCKET_COUNT];
    const RetentionDuration *within[BUCKET_COUNT];
    policyCounts(p, counts);
    policyWithins(p, within);

    /* The reference for duration rules: the newest item before now. */
    bool haveRef = false;
    int64_t ref = 0;
    for (size_t k = 0; k < m; k++) {
        if (e[k].item->timeNs < nowNs) {
            haveRef = true;
            ref = e[k].item->timeNs;
            break;
        }
    }
    /* Without a reference every item is inside every window: cutoff INT64_MIN
     * plus allIn (INT64_MIN itself would otherwise be outside). */
    bool allIn = !haveRef;
    int64_t cutWithin = INT64_MIN;
    int64_t cutBucket[BUCKET_COUNT];
    if (haveRef && !retentionDurationZero(&p->within))
        cutWithin = retentionDurationSubtract(ref, &p->within);
    for (int r = 0; r < BUCKET_COUNT; r++)
        cutBucket[r] =
            (haveRef && !retentionDurationZero(within[r])) ? retentionDurationSubtract(ref, within[r]) : INT64_MIN;

    BucketState counted[BUCKET_COUNT];
    BucketState windowed[BUCKET_COUNT];
    for (int r = 0; r < BUCKET_COUNT; r++) {
        counted[r] = (BucketState){.remaining = counts[r], .hasLast = false, .lastKey = 0};
        windowed[r] = (BucketState){.remaining = RETENTION_UNLIMITED, .hasLast = false, .lastKey = 0};
    }

    for (size_t k = 0; k < m; k++) {
        const RetentionItem *it = e[k].item;
        RetentionDecision *d = &out[e[k].index];
        int64_t t = it->timeNs;
        bool oldestItem = k + 1 == m;
        uint32_t reasons = 0;
        uint64_t tagMatches = 0;
        int64_t keys[BUCKET_COUNT];
        bucketKeys(t, keys);

        for (size_t j = 0; j < p->keepTagCount; j++) {
            if (itemMatchesTagList(it, p->keepTags[j])) {
                tagMatches |= UINT64_C(1) << j;
                reasons |= RETENTION_KEEP_TAG;
            }
        }

        if (p->keepLast == RETENTION_UNLIMITED || (p->keepLast > 0 && k < (size_t)p->keepLast))
            reasons |= RETENTION_KEEP_LAST;

        if (!retentionDurationZero(&p->within) && (allIn || t > cutWithin))
            reasons |= RETENTION_KEEP_WITHIN;

        for (int r = 0; r < BUCKET_COUNT; r++) {
            BucketState *st = &counted[r];
            if (st->remaining == 0)
                continue;
            uint32_t bit = bucketStep(st, keys[r], oldestItem, bucketBit[r], bucketOldestBit[r]);
            if (bit != 0) {
                reasons |= bit;
                if (st->remaining > 0)
                    st->remaining--;
            }
        }

        for (int r = 0; r < BUCKET_COUNT; r++) {
            if (retentionDurationZero(within[r]) || !(allIn || t > cutBucket[r]))
                continue;
            reasons |= bucketStep(&windowed[r], keys[r], oldestItem, withinBit[r], withinOldestBit[r]);
        }

        d->reasons = reasons;
        d->tagMatches = tagMatches;
        d->keep = reasons != 0;
    }
}

bool retentionApply(const RetentionPolicy *p, const RetentionItem *items, size_t n, int64_t nowNs,
                    RetentionDecision *out, LbError *err) {
    if (!retentionPolicyCheck(p, err))
        return false;
    if (n == 0)
        return true;
    if (retentionPolicyEmpty(p)) {
        for (size_t i = 0; i < n; i++)
            out[i] = (RetentionDecision){.keep = true, .reasons = RETENTION_KEEP_EMPTY_POLICY, .tagMatches = 0};
        return true;
    }
    if (n > SIZE_MAX / sizeof(Entry))
        return lbErr(err, LB_ERR_MEMORY, "unable to apply retention policy: %zu snapshots are too many", n);
    Entry *e = malloc(n * sizeof(*e));
    if (e == NULL)
        return lbErr(err, LB_ERR_MEMORY, "unable to apply retention policy: out of memory for %zu snapshots", n);
    for (size_t i = 0; i < n; i++) {
        e[i] = (Entry){.item = &items[i], .index = i};
        out[i] = (RetentionDecision){.keep = false, .reasons = 0, .tagMatches = 0};
    }
    qsort(e, n, sizeof(*e), entryCompare);
    size_t start = 0;
    while (start < n) {
        size_t end = start + 1;
        while (end < n && sameGroup(e[start].item, e[end].item))
            end++;
        applyGroup(p, e + start, end - start, nowNs, out);
        start = end;
    }
    free(e);
    return true;
}

/***********************************************************************************************************************
 * Reasons
 **********************************************************************************************************************/

/* Walk d's reasons in the documented order; format reason `want` into o (if
 * o != NULL). Returns how many reasons there are. */
static size_t reasonWalk(const RetentionPolicy *p, const RetentionDecision *d, size_t want, Out *o) {
    const RetentionDuration *within[BUCKET_COUNT];
    policyWithins(p, within);
    uint32_t bits = d->reasons;
    size_t count = 0;
    char dur[64];

#define REASON(...)                                                                                                    \
    do {                                                                                                               \
        if (o != NULL && count == want)                                                                                \
            outAdd(o, __VA_ARGS__);                                                                                    \
        count++;                                                                                                       \
    } while (0)

    if (bits & RETENTION_KEEP_LAST)
        REASON("last snapshot");
    for (int r = 0; r < BUCKET_COUNT; r++) {
        if (bits & bucketOldestBit[r])
            REASON("oldest %s snapshot", bucketName[r]);
        else if (bits & bucketBit[r])
            REASON("%s snapshot", bucketName[r]);
    }
    if (bits & RETENTION_KEEP_WITHIN) {
        retentionDurationFormat(&p->within, dur, sizeof(dur));
        REASON("within %s", dur);
    }
    for (int r = 0; r < BUCKET_COUNT; r++) {
        if (!(bits & (withinBit[r] | withinOldestBit[r])))
            continue;
        retentionDurationFormat(within[r], dur, sizeof(dur));
        if (bits & withinOldestBit[r])
            REASON("oldest %s within %s", bucketName[r], dur);
        else
            REASON("%s within %s", bucketName[r], dur);
    }
    if (bits & RETENTION_KEEP_TAG) {
        for (size_t j = 0; j < p->keepTagCount && j < RETENTION_MAX_TAG_LISTS; j++) {
            if (!(d->tagMatches & (UINT64_C(1) << j)))
                continue;
            const char *list = p->keepTags[j] != NULL ? p->keepTags[j] : "";
            if (*list == '\0')
                REASON("untagged");
            else
                REASON("tag '%s'", list);
        }
    }
    if (bits & RETENTION_KEEP_EMPTY_POLICY)
        REASON("policy is empty");
#undef REASON
    return count;
}

size_t retentionReasonCount(const RetentionPolicy *p, const RetentionDecision *d) {
    return reasonWalk(p, d, 0, NULL);
}

size_t retentionReasonAt(const RetentionPolicy *p, const RetentionDecision *d, size_t i, char *buf, size_t n) {
    Out o = outBegin(buf, n);
    reasonWalk(p, d, i, &o);
    return o.len;
}

size_t retentionReasonString(const RetentionPolicy *p, const RetentionDecision *d, char *buf, size_t n) {
    Out o = outBegin(buf, n);
    size_t count = reasonWalk(p, d, 0, NULL);
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            outAdd(&o, ", ");
        reasonWalk(p, d, i, &o);
    }
    return o.len;
}
