/* log.c - leveled logging to stderr or a per-thread sink, one line per call, thread-safe. */
#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static _Atomic LbLogLevel processLevel = LB_LOG_WARN;
static pthread_mutex_t stderrLock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local const LbLogSink *threadSink = NULL;

void lbLogSetLevel(LbLogLevel level) {
    processLevel = level;
}

LbLogLevel lbLogGetLevel(void) {
    return threadSink ? threadSink->level : processLevel;
}

const LbLogSink *lbLogSinkSet(const LbLogSink *sink) {
    const LbLogSink *previous = threadSink;
    threadSink = sink;
    return previous;
}

const LbLogSink *lbLogSinkGet(void) {
    return threadSink;
}

const char *lbLogPrefix(LbLogLevel level) {
    static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
    return level >= LB_LOG_ERROR && level <= LB_LOG_DEBUG ? prefix[level] : "";
}

void lbLog(LbLogLevel level, const char *fmt, ...) {
    const LbLogSink *sink = threadSink;
    if (level > (sink ? sink->level : processLevel))
        return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (sink) {
        sink->write(sink->ctx, level, line);
        return;
    }
    pthread_mutex_lock(&stderrLock);
    fprintf(stderr, "%s%s\n", lbLogPrefix(level), line);
    pthread_mutex_unlock(&stderrLock);
}
