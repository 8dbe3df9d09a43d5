/*
 * policy.h - the keep/forget policy of `lifeboat forget`: which snapshots a
 * policy keeps and, for each kept one, every rule that kept it.
 *
 * A pure module: no I/O, no clock (the caller passes "now"), no repository
 * types. retentionApply allocates one scratch array and frees it before it
 * returns; every output lives in memory the caller supplied.
 *
 * Semantics (these follow restic's documented `forget` behaviour; the
 * differences are marked "differs"):
 *
 * - Grouping. Every item carries a group key string built by the caller
 *   (from host/component/paths per --group-by). The rules run inside each
 *   group independently; a NULL key is the same group as "".
 * - Order. Inside a group items are walked newest first. Items with the same
 *   time are ordered by their position in the input: the earlier one counts
 *   as the newer (restic uses a stable sort, which gives the same order).
 * - keepLast N keeps the N newest items.
 * - keepHourly/Daily/Weekly/Monthly/Yearly N: buckets are the UTC calendar
 *   hour, day, ISO 8601 week (Monday 00:00 to Sunday 23:59:59; 2024-12-30 is
 *   in week 2025-W01), month and year. For the N newest buckets that hold at
 *   least one item, the newest item of each bucket is kept. Buckets without
 *   items do not count.
 * - "Oldest" rule (restic >= 0.17): when a counted rule still has buckets
 *   left (N larger than the number of buckets in the group, or unlimited)
 *   when the walk reaches the group's oldest item, that item is kept too,
 *   with the reason "oldest <rule>" (e.g. "oldest daily snapshot"), even if
 *   it is not the newest of its bucket. The same holds for the within-bucket
 *   rules below when the oldest item lies inside the window. This keeps the
 *   longest history while the policy asks for more than exists.
 * - within D keeps every item whose time is strictly after (newest - D),
 *   where "newest" is the newest item of the group whose time is before now
 *   (items at or after nowNs are "in the future" and never serve as the
 *   reference; being after the cutoff they are kept by within rules). If a
 *   group has no item before now, every item of it is inside every window.
 * - withinHourly/Daily/Weekly/Monthly/Yearly D: among the items inside the
 *   window of D (as for within), keep the newest item of every bucket.
 * - keepTags: each entry is a tag list "a,b"; an item matches it when it has
 *   all the listed tags. The empty list "" matches items without tags. An
 *   item is kept when it matches any entry; every matching entry is
 *   recorded (tagMatches bit i for keepTags[i]).
 * - A count of 0 or a zero duration means the rule is unset; -1
 *   (RETENTION_UNLIMITED) means unlimited for counts.
 * - An item is kept if any rule keeps it; its reasons are all rules that
 *   kept it.
 * - Empty policy (no rule set): retentionPolicyEmpty says so and the command
 *   must refuse to act. If retentionApply is called anyway it keeps every
 *   item with the reason "policy is empty" (differs: newer restic would
 *   remove everything here; its command refuses first, as ours must).
 *
 * Durations: a sequence of <number><unit> with units y (years), m (months),
 * d (days), h (hours), e.g. "35d", "2y5m7d3h"; each unit at most once, in any
 * order, each number <= RETENTION_DURATION_COMPONENT_MAX, and not all zero.
 * Years, months and days are calendar arithmetic in UTC (as Go's AddDate,
 * which restic uses): the years and months are subtracted from the date's
 * fields, then the days, and an out-of-range day rolls over into the next
 * month (2024-03-31 minus 1m is "2024-02-31" = 2024-03-02; 2024-02-29 minus
 * 1y is 2023-03-01); then the hours are subtracted as 3600 s each. "1y" is
 * therefore not 365 days. There is no "w" unit: write "7d" (as restic).
 *
 * Reason wording (retentionReasonAt, in this order):
 *   "last snapshot"
 *   "hourly snapshot" / "oldest hourly snapshot"   (same for daily, weekly,
 *                                                    monthly, yearly)
 *   "within 35d"
 *   "hourly within 2d" / "oldest hourly within 2d" (same for daily, ...)
 *   "tag 'a,b'" one per matching keepTags entry; "untagged" for ""
 *   "policy is empty"
 */
#ifndef LIFEBOAT_RETENTION_POLICY_H
#define LIFEBOAT_RETENTION_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define RETENTION_UNLIMITED (-1)
/* Largest number accepted for one duration component (years, months, ...). */
#define RETENTION_DURATION_COMPONENT_MAX 1000000
/* Largest accepted count (keep-last etc.); larger input is a usage error. */
#define RETENTION_COUNT_MAX 1000000000
/* keepTags entries are tracked in a 64-bit mask. */
#define RETENTION_MAX_TAG_LISTS 64
/* nowNs value that disables the "future snapshot" handling. */
#define RETENTION_NOW_NONE INT64_MAX

/* All zero = unset. */
typedef struct RetentionDuration {
    int years;
    int months;
    int days;
    int hours;
} RetentionDuration;

/* Counts: 0 = unset, RETENTION_UNLIMITED = all, otherwise > 0. Durations:
 * zero = unset. keepTags (borrowed) holds keepTagCount tag lists. */
typedef struct RetentionPolicy {
    int keepLast;
    int keepHourly;
    int keepDaily;
    int keepWeekly;
    int keepMonthly;
    int keepYearly;
    RetentionDuration within;
    RetentionDuration withinHourly;
    RetentionDuration withinDaily;
    RetentionDuration withinWeekly;
    RetentionDuration withinMonthly;
    RetentionDuration withinYearly;
    const char *const *keepTags;
    size_t keepTagCount;
} RetentionPolicy;

/* One snapshot as the policy sees it. All pointers are borrowed. */
typedef struct RetentionItem {
    int64_t timeNs;          /* UTC, nanoseconds since the epoch */
    const char *group;       /* group key; NULL = "" */
    const char *const *tags; /* tagCount non-NULL strings */
    size_t tagCount;
} RetentionItem;

/* Reason bits. The "OLDEST_" bits replace the plain bit of the same rule
 * when the item was kept by the oldest-item rule only. */
typedef enum RetentionReason {
    RETENTION_KEEP_LAST = 1u << 0,
    RETENTION_KEEP_HOURLY = 1u << 1,
    RETENTION_KEEP_DAILY = 1u << 2,
    RETENTION_KEEP_WEEKLY = 1u << 3,
    RETENTION_KEEP_MONTHLY = 1u << 4,
    RETENTION_KEEP_YEARLY = 1u << 5,
    RETENTION_KEEP_OLDEST_HOURLY = 1u << 6,
    RETENTION_KEEP_OLDEST_DAILY = 1u << 7,
    RETENTION_KEEP_OLDEST_WEEKLY = 1u << 8,
    RETENTION_KEEP_OLDEST_MONTHLY = 1u << 9,
    RETENTION_KEEP_OLDEST_YEARLY = 1u << 10,
    RETENTION_KEEP_WITHIN = 1u << 11,
    RETENTION_KEEP_WITHIN_HOURLY = 1u << 12,
    RETENTION_KEEP_WITHIN_DAILY = 1u << 13,
    RETENTION_KEEP_WITHIN_WEEKLY = 1u << 14,
    RETENTION_KEEP_WITHIN_MONTHLY = 1u << 15,
    RETENTION_KEEP_WITHIN_YEARLY = 1u << 16,
    RETENTION_KEEP_OLDEST_WITHIN_HOURLY = 1u << 17,
    RETENTION_KEEP_OLDEST_WITHIN_DAILY = 1u << 18,
    RETENTION_KEEP_OLDEST_WITHIN_WEEKLY = 1u << 19,
    RETENTION_KEEP_OLDEST_WITHIN_MONTHLY = 1u << 20,
    RETENTION_KEEP_OLDEST_WITHIN_YEARLY = 1u << 21,
    RETENTION_KEEP_TAG = 1u << 22,
    RETENTION_KEEP_EMPTY_POLICY = 1u << 23,
} RetentionReason;

typedef struct RetentionDecision {
    bool keep;           /* reasons != 0 */
    uint32_t reasons;    /* RetentionReason bits */
    uint64_t tagMatches; /* bit i: keepTags[i] matched (RETENTION_KEEP_TAG set) */
} RetentionDecision;

/* Parse "35d", "2y5m7d3h", ... (grammar in the banner). On failure returns
 * false with LB_ERR_ARGS and a message naming the input; *out is untouched. */
bool retentionParseDuration(const char *s, RetentionDuration *out, LbError *err);

/* Parse a keep count: a decimal number 0..RETENTION_COUNT_MAX, or
 * "unlimited" / "-1" for RETENTION_UNLIMITED. LB_ERR_ARGS naming the input. */
bool retentionParseCount(const char *s, int *out, LbError *err);

bool retentionDurationZero(const RetentionDuration *d);

/* Canonical text ("2y5m7d3h", zero components left out; "0h" for zero) into
 * buf (always NUL-terminated when n > 0). Returns the length it needs, as
 * snprintf does. */
size_t retentionDurationFormat(const RetentionDuration *d, char *buf, size_t n);

/* timeNs minus d with the calendar arithmetic described in the banner.
 * Results below the int64 nanosecond range are clamped to INT64_MIN. d must
 * pass the component limits (as retentionParseDuration guarantees). */
int64_t retentionDurationSubtract(int64_t timeNs, const RetentionDuration *d);

/* True when no rule is set: the command must refuse to forget with it. */
bool retentionPolicyEmpty(const RetentionPolicy *p);

/* Validate counts (>= -1, <= RETENTION_COUNT_MAX), durations (components in
 * 0..RETENTION_DURATION_COMPONENT_MAX) and tag lists (at most
 * RETENTION_MAX_TAG_LISTS, non-NULL, no empty tag inside a list). LB_ERR_ARGS
 * naming the bad option. */
bool retentionPolicyCheck(const RetentionPolicy *p, LbError *err);

/* One line describing the policy, e.g. "keep the last 3 snapshots, 7 daily
 * snapshots, all monthly snapshots, daily snapshots within 7d, all snapshots
 * within 35d of the newest, snapshots tagged 'x'". snprintf-like return. */
size_t retentionPolicyFormat(const RetentionPolicy *p, char *buf, size_t n);

/* Decide for items[0..n) (any order, any mix of groups): out[i] is the
 * decision for items[i]. nowNs is the current time (RETENTION_NOW_NONE to
 * treat no item as in the future). Returns false on an invalid policy
 * (LB_ERR_ARGS, as retentionPolicyCheck) or when the scratch array cannot be
 * allocated (LB_ERR_MEMORY); out is then unspecified. items and out may be
 * NULL when n == 0. */
bool retentionApply(const RetentionPolicy *p, const RetentionItem *items, size_t n, int64_t nowNs,
                    RetentionDecision *out, LbError *err);

/* Number of reason strings of a decision (tag matches count one each). */
size_t retentionReasonCount(const RetentionPolicy *p, const RetentionDecision *d);

/* Reason i (0-based, in the banner's order) into buf; snprintf-like return,
 * 0 and "" when i is out of range. p must be the policy that made d. */
size_t retentionReasonAt(const RetentionPolicy *p, const RetentionDecision *d, size_t i, char *buf, size_t n);

/* All reasons joined with ", " ("last snapshot, daily snapshot, within 35d");
 * "" for a removed item. snprintf-like return. */
size_t retentionReasonString(const RetentionPolicy *p, const RetentionDecision *d, char *buf, size_t n);

#endif
