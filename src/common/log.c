/* log.c - leveled logging to stderr, one line per call, thread-safe. */
#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

static LbLogLevel currentLevel = LB_LOG_WARN;
static pthread_mutex_t logLock = PTHREAD_MUTEX_INITIALIZER;

void lbLogSetLevel(LbLogLevel level) {
    currentLevel = level;
}

LbLogLevel lbLogGetLevel(void) {
    return currentLevel;
}

void lbLog(LbLogLevel level, const char *fmt, ...) {
    if (level > currentLevel)
        return;
    static const char *const prefix[] = {"error: ", "warning: ", "", "debug: "};
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&logLock);
    fprintf(stderr, "%s%s\n", prefix[level], line);
    pthread_mutex_unlock(&logLock);
}
