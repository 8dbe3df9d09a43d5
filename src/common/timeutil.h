/*
 * timeutil.h - wall-clock helpers: RFC 3339 formatting and parsing.
 */
#ifndef LIFEBOAT_COMMON_TIMEUTIL_H
#define LIFEBOAT_COMMON_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t lbNowNs(void);
double lbMonotonicSeconds(void);
/* "2026-11-23T14:05:00.123456789Z" (UTC, nanoseconds). out holds >= 40. */
void lbFormatTimeNs(int64_t ns, char *out, size_t n);
/* "2026-11-23 14:05:00" in UTC, for tables. */
void lbFormatTimeShort(int64_t ns, char *out, size_t n);
/* Parse "YYYY-MM-DD[ T]HH:MM[:SS[.frac]][Z|+HH:MM|-HH:MM]" or "YYYY-MM-DD";
 * without a zone the time is UTC. */
bool lbParseTime(const char *s, int64_t *ns);
/* Parse a span of time into seconds: numbers with units s m h d w, summed
 * ("90s", "5m", "1h30m", "2d", "1w"); "0" alone needs no unit. */
bool lbParseSeconds(const char *s, int64_t *seconds);
/* Parse the TIME of --at: "latest" or "now" (*ns = INT64_MAX: no bound), a
 * span before now ("-2h", "-3d", "-1h30m"), or lbParseTime's forms. */
bool lbParseAt(const char *s, int64_t nowNs, int64_t *ns);

#endif
