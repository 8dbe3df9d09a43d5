/*
 * read_hook.c - LIFEBOAT_TEST_AFTER_READ: a shell command the harness binary
 * lifeboat-test runs after every read of a backed-up file's bytes (tests
 * only; see fileSourceTestHookSet in source/files.h).
 *
 * The command runs as `sh -c COMMAND lifeboat-read-hook PATH OFFSET
 * ATTEMPT` and the backup waits for it, so a test can change a file at an
 * exact point of its read (tests/integration/test_torn_file.sh). Unset or
 * empty: no hook.
 */
#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "source/files.h"

extern char **environ;

static const char *hookCommand;

static void harnessAfterRead(const char *path, uint64_t offset, unsigned attempt) {
    char off[32], att[16];
    snprintf(off, sizeof(off), "%" PRIu64, offset);
    snprintf(att, sizeof(att), "%u", attempt);
    char *argv[] = {"sh", "-c", (char *)hookCommand, "lifeboat-read-hook", (char *)path, off, att, NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0) {
        fprintf(stderr, "lifeboat-test: unable to run LIFEBOAT_TEST_AFTER_READ\n");
        return;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}

__attribute__((constructor)) static void harnessReadHookInstall(void) {
    const char *command = getenv("LIFEBOAT_TEST_AFTER_READ");
    if (command != NULL && command[0] != '\0') {
        hookCommand = command;
        fileSourceTestHookSet(harnessAfterRead);
    }
}
