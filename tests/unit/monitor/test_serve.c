/*
 * test_serve.c - the daemon's monitoring hooks (monitor/serve.h) without a
 * listener: a repository scan that never ends is killed on time, so the
 * loop's wait must end by the scan's deadline whatever else it waits for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "config/file.h"
#include "monitor/serve.h"

static char dir[64];

/* the scan of the child: it does not end while the test runs (bounded,
 * so that a failed test leaves no process behind for long) */
static void scanHangs(const CfgFile *cfg, int64_t nowMs) {
    (void)cfg;
    (void)nowMs;
    sleep(30);
}

static CfgFile *loadCfg(void) {
    char path[128], *text = NULL;
    snprintf(path, sizeof(path), "%s/serve.yaml", dir);
    assert_true(asprintf(&text,
                         "state: %s/state\n"
                         "repositories:\n  main:\n    url: /tmp/x\n    password_command: echo pw\n"
                         "components:\n  app:\n    type: command\n    command: [true]\n    filename: a\n",
                         dir) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(text);
    char *messages = NULL;
    LbError err = {0};
    CfgFile *cfg = cfgFileLoad(path, &messages, &err);
    if (cfg == NULL)
        fail_msg("%s\n%s", err.msg, messages ? messages : "");
    free(messages);
    return cfg;
}

/* With nothing else to wake it (no job due, no listener), the wait ended
 * when the scan that hangs was started, not by its kill deadline: the scan
 * was never killed and no other scan ran. */
static void testHungScanWakes(void **state) {
    (void)state;
    CfgFile *cfg = loadCfg();
    MonServe *s = monServeNew(scanHangs);
    assert_non_null(s);
    LbError err = {0};
    assert_true(monServeConfigure(s, cfg, &err));
    const SchedHooks *h = monServeHooks(s);
    struct pollfd fds[4];
    int64_t now = lbNowNs() / 1000000, wake = INT64_MAX;
    size_t n = h->prepareWait(h->ctx, fds, 4, now, &wake);
    monServeFree(s); /* SIGTERM to the scan */
    int status = 0;
    assert_true(wait(&status) > 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(n, 1); /* the scan's pipe */
    /* the deadline: twice the refresh (5m), at least 10 minutes */
    assert_true(wake <= now + 600 * 1000 + 5000);
    cfgFileFree(cfg);
}

int main(void) {
    snprintf(dir, sizeof(dir), "/tmp/lifeboat-test-serve-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testHungScanWakes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
