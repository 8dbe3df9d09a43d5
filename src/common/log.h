/*
 * log.h - leveled logging to stderr.
 *
 * Secrets are never passed to the logger; there is no format directive that
 * could print one. lbLogDebug compiles out of release builds (NDEBUG).
 */
#ifndef LIFEBOAT_COMMON_LOG_H
#define LIFEBOAT_COMMON_LOG_H

typedef enum { LB_LOG_ERROR = 0, LB_LOG_WARN, LB_LOG_INFO, LB_LOG_DEBUG } LbLogLevel;

void lbLogSetLevel(LbLogLevel level);
LbLogLevel lbLogGetLevel(void);
void lbLog(LbLogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define lbLogError(...) lbLog(LB_LOG_ERROR, __VA_ARGS__)
#define lbLogWarn(...) lbLog(LB_LOG_WARN, __VA_ARGS__)
#define lbLogInfo(...) lbLog(LB_LOG_INFO, __VA_ARGS__)
#ifdef NDEBUG
#define lbLogDebug(...) ((void)0)
#else
#define lbLogDebug(...) lbLog(LB_LOG_DEBUG, __VA_ARGS__)
#endif

#endif
