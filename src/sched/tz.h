/*
 * tz.h - IANA time zones read from the system's zoneinfo (TZif, RFC 8536).
 *
 * Why not localtime_r/mktime with TZ switched: TZ is process-wide state, so
 * every other thread's localtime_r (the log, reports) would see the switched
 * zone while a schedule is evaluated, and mktime's answer for a wall time in
 * a gap or an overlap is unspecified. Reading the file ourselves gives a
 * read-only table per schedule that any thread may use at once, and the
 * exact change instants that daylight-saving handling needs.
 *
 * A zone is its version 2+ (64-bit) transitions and, for instants after the
 * last one, the POSIX TZ rule of the file's footer (Debian's tzdata files are
 * "fat" today, with transitions listed up to 2037; "slim" files list fewer
 * and rely on the footer, and both work). Transitions that change only the
 * abbreviation or the DST flag, not the offset, are dropped.
 *
 * Ownership: tzLoad returns a zone the caller frees with tzFree (NULL is a
 * no-op); a loaded zone is immutable and safe to share between threads.
 */
#ifndef LIFEBOAT_SCHED_TZ_H
#define LIFEBOAT_SCHED_TZ_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

typedef struct TzZone TzZone;

/* Load zone name from $TZDIR or /usr/share/zoneinfo. NULL, "" and "UTC" are
 * UTC without a file. NULL with err (LB_ERR_ARGS) for a name that is not a
 * plain relative zone name (no "..", no leading '/'), is not found, or is not
 * a TZif file. */
TzZone *tzLoad(const char *name, LbError *err);
void tzFree(TzZone *zone);

/* The UTC offset (seconds east) in effect at t; *since is the instant of the
 * last offset change at or before t (INT64_MIN: none), *until the next one
 * after t (INT64_MAX: none). */
int32_t tzLookup(const TzZone *zone, int64_t t, int64_t *since, int64_t *until);

/* Civil calendar helpers (proleptic Gregorian, days since 1970-01-01). */
int64_t tzDaysFromCivil(int64_t y, int m, int d);
void tzCivilFromDays(int64_t days, int64_t *y, int *m, int *d);

#endif
