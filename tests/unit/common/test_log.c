/*
 * test_log.c - unit tests for src/common/log: levels, and per-thread sinks
 * that keep two jobs' lines apart when they run on two threads at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

typedef struct Captured {
    char text[8192];
    int lines;
} Captured;

static void capture(void *ctx, LbLogLevel level, const char *line) {
    Captured *c = ctx;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof(c->text) - used, "%s%s\n", lbLogPrefix(level), line);
    c->lines++;
}

static void test_sink_filters_by_its_level(void **state) {
    (void)state;
    Captured c = {0};
    LbLogSink sink = {capture, &c, LB_LOG_INFO};
    const LbLogSink *before = lbLogSinkSet(&sink);
    assert_null(before);
    assert_int_equal(lbLogGetLevel(), LB_LOG_INFO);
    lbLogWarn("disk %s", "full");
    lbLogInfo("step %d", 2);
    lbLog(LB_LOG_DEBUG, "hidden");
    assert_ptr_equal(lbLogSinkSet(before), &sink);
    assert_int_equal(c.lines, 2);
    assert_string_equal(c.text, "warning: disk full\nstep 2\n");
    /* back on stderr: the sink sees nothing more */
    lbLogSetLevel(LB_LOG_ERROR);
    lbLogWarn("not captured");
    assert_int_equal(c.lines, 2);
    assert_int_equal(lbLogGetLevel(), LB_LOG_ERROR);
    lbLogSetLevel(LB_LOG_WARN);
}

typedef struct Worker {
    const char *name;
    Captured captured;
    pthread_barrier_t *barrier;
} Worker;

static void *workerMain(void *arg) {
    Worker *w = arg;
    LbLogSink sink = {capture, &w->captured, LB_LOG_INFO};
    lbLogSinkSet(&sink);
    pthread_barrier_wait(w->barrier);
    for (int i = 0; i < 50; i++)
        lbLogInfo("%s line %d", w->name, i);
    lbLogSinkSet(NULL);
    return NULL;
}

static void test_two_threads_keep_their_lines_apart(void **state) {
    (void)state;
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    Worker a = {.name = "alpha", .barrier = &barrier}, b = {.name = "beta", .barrier = &barrier};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, workerMain, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, workerMain, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_int_equal(a.captured.lines, 50);
    assert_int_equal(b.captured.lines, 50);
    assert_null(strstr(a.captured.text, "beta"));
    assert_null(strstr(b.captured.text, "alpha"));
    assert_non_null(strstr(a.captured.text, "alpha line 49\n"));
    /* the main thread never had a sink */
    assert_null(lbLogSinkGet());
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_filters_by_its_level),
        cmocka_unit_test(test_two_threads_keep_their_lines_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
