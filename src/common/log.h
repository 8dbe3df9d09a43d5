/*
 * log.h - leveled logging: to stderr, or to the sink of the job running on
 * this thread.
 *
 * By default a line goes to stderr when its level is at or below the process
 * level (lbLogSetLevel, set once by the command line). A job that runs beside
 * other jobs in one process (the scheduler daemon) installs its own sink on
 * its thread with lbLogSinkSet: the lines that thread logs then go to the
 * sink, filtered by the sink's level, and never to another job's sink.
 * Threads a job starts inherit nothing; a module that hands work to worker
 * threads passes lbLogSinkGet() along and sets it in the worker.
 *
 * Secrets are never passed to the logger; there is no format directive that
 * could print one. lbLogDebug compiles out of release builds (NDEBUG).
 */
#ifndef LIFEBOAT_COMMON_LOG_H
#define LIFEBOAT_COMMON_LOG_H

typedef enum { LB_LOG_ERROR = 0, LB_LOG_WARN, LB_LOG_INFO, LB_LOG_DEBUG } LbLogLevel;

/* Receives one formatted line (no trailing newline, no level prefix). Called
 * on the logging thread; must be thread-safe if the sink is shared. */
typedef void (*LbLogWriteFn)(void *ctx, LbLogLevel level, const char *line);

typedef struct LbLogSink {
    LbLogWriteFn write;
    void *ctx;
    LbLogLevel level; /* lines above this level are dropped */
} LbLogSink;

void lbLogSetLevel(LbLogLevel level);
/* The level in force on this thread: its sink's, else the process level. */
LbLogLevel lbLogGetLevel(void);

/* Route this thread's lines to sink (borrowed: it must outlive its use), or
 * back to stderr with NULL. Returns the sink that was set before, so a caller
 * can restore it. */
const LbLogSink *lbLogSinkSet(const LbLogSink *sink);
const LbLogSink *lbLogSinkGet(void);

void lbLog(LbLogLevel level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The prefix stderr lines carry for level ("error: ", "warning: ", "", "debug: "). */
const char *lbLogPrefix(LbLogLevel level);

#define lbLogError(...) lbLog(LB_LOG_ERROR, __VA_ARGS__)
#define lbLogWarn(...) lbLog(LB_LOG_WARN, __VA_ARGS__)
#define lbLogInfo(...) lbLog(LB_LOG_INFO, __VA_ARGS__)
#ifdef NDEBUG
#define lbLogDebug(...) ((void)0)
#else
#define lbLogDebug(...) lbLog(LB_LOG_DEBUG, __VA_ARGS__)
#endif

#endif
