/*
 * cron.h - cron expressions: parse once, then ask for the next fire time.
 *
 * The number of fields decides the dialect:
 *   5 fields  Vixie cron: minute hour day-of-month month day-of-week; names
 *             (jan, mon), ranges, steps, lists; day-of-week 0-7 with 0 and 7
 *             for Sunday; when both day fields are restricted a day matches
 *             either (OR), unless one of them starts with '*' (then AND, as
 *             Vixie's DOM_STAR/DOW_STAR); @hourly @daily @midnight @weekly
 *             @monthly @yearly @annually.
 *   6/7       Quartz: second minute hour day-of-month month day-of-week
 *             [year]; day-of-week 1-7 from Sunday; '?' in one day field;
 *             L, W, LW, L-n in day-of-month; nL (last weekday n of the
 *             month) and n#k in day-of-week.
 * A schedule is evaluated in one IANA time zone (default UTC). Daylight
 * saving (as cronie and Cronos): a wall time skipped by the spring change
 * fires once, at the transition; a wall time repeated in the autumn fires
 * once, at its first occurrence; a schedule whose hour field is a wildcard
 * ('*' or '*' with a step, "runs at least hourly") fires by the wall clock of
 * both offsets, so its interval holds across both changes.
 *
 * Details (docs/schedules.md): in 5 fields '?' in a day field is '*'; a
 * range must not wrap; the year field takes 1970-2199 and nothing fires from
 * 2200 on (the search horizon). Zones come from the system's zoneinfo
 * (sched/tz.h), never from TZ/localtime_r, so a schedule is immutable after
 * cronParse and any number of threads may call cronNext on it at once.
 *
 * Ownership: cronParse returns a CronSchedule the caller frees with cronFree
 * (NULL is a no-op); it copies what it needs from its arguments.
 */
#ifndef LIFEBOAT_SCHED_CRON_H
#define LIFEBOAT_SCHED_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

typedef struct CronSchedule CronSchedule;

/* Parse expr for time zone tz (IANA name such as "Europe/Berlin"; NULL or ""
 * = UTC). NULL with err (LB_ERR_ARGS) on a bad expression or an unknown
 * zone; the message names the field and the reason, for example
 * "field 3 (day of month) '32': out of range 1-31". */
CronSchedule *cronParse(const char *expr, const char *tz, LbError *err);
void cronFree(CronSchedule *cron);

/* The first fire time strictly after `after` (Unix seconds, UTC) in *next.
 * false when there is none (a year field in the past, an impossible date
 * such as "0 0 30 2 ?"). */
bool cronNext(const CronSchedule *cron, int64_t after, int64_t *next);

/* Is tz a time zone of the system's zoneinfo? err names it when not. */
bool cronTimezoneValid(const char *tz, LbError *err);

#endif
