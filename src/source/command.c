/* command.c - a command's standard output as a backup source (see command.h). */
#include "source/command.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/childenv.h"
#include "source/stream.h"

extern char **environ;

struct CommandSource {
    char *const *argv;
    SourceStream stream; /* the read end of the command's stdout */
    StreamSource streams;
    pid_t pid; /* > 0 while started and not waited for */
};

/* Start the command with its stdout on a pipe whose read end is the
 * stream's fd. */
static bool start(CommandSource *cs, LbError *err) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return lbErrSys(err, "unable to create a pipe");
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return lbErrSys(err, "unable to start '%s'", cs->argv[0]);
    }
    if (pid == 0) {
        /* no secret of ours; the S3 keys stay for commands such as `aws s3 cp` */
        lbChildEnvScrub(environ, LB_CHILD_ENV_KEEP_S3);
        dup2(fds[1], STDOUT_FILENO);
        execvp(cs->argv[0], cs->argv);
        fprintf(stderr, "lifeboat: unable to run '%s': %s\n", cs->argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    cs->pid = pid;
    cs->stream.fd = fds[0];
    return true;
}

/* Close the read end (a command still writing gets SIGPIPE) and wait. */
static int finish(CommandSource *cs) {
    if (cs->stream.fd >= 0)
        close(cs->stream.fd);
    cs->stream.fd = -1;
    int status = 0;
    while (waitpid(cs->pid, &status, 0) < 0 && errno == EINTR)
        ;
    cs->pid = -1;
    return status;
}

static bool commandCheck(void *driver, LbError *err) {
    CommandSource *cs = driver;
    Source s = streamSourceSource(&cs->streams);
    return s.interface->check(s.driver, err);
}

static bool commandWalk(void *driver, SourceSink *sink, LbError *err) {
    CommandSource *cs = driver;
    if (!start(cs, err))
        return false;
    Source s = streamSourceSource(&cs->streams);
    bool ok = s.interface->walk(s.driver, sink, err);
    int status = finish(cs);
    if (!ok)
        return false;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFEXITED(status))
        return lbErr(err, LB_ERR_COMMAND, "command '%s' exited with status %d: no snapshot was written", cs->argv[0],
                     WEXITSTATUS(status));
    return lbErr(err, LB_ERR_COMMAND, "command '%s' was killed by signal %d: no snapshot was written", cs->argv[0],
                 WTERMSIG(status));
}

static const SourceInterface commandSourceInterface = {
    .name = "command",
    .check = commandCheck,
    .walk = commandWalk,
};

CommandSource *commandSourceNew(char *const *argv, const char *name) {
    CommandSource *cs = lbXcalloc(1, sizeof(*cs));
    cs->argv = argv;
    cs->stream = (SourceStream){.name = name, .fd = -1};
    cs->streams = (StreamSource){.streams = &cs->stream, .count = 1};
    cs->pid = -1;
    return cs;
}

void commandSourceFree(CommandSource *cs) {
    if (cs == NULL)
        return;
    if (cs->pid > 0) {
        kill(cs->pid, SIGTERM);
        finish(cs);
    }
    if (cs->stream.fd >= 0)
        close(cs->stream.fd);
    free(cs);
}

Source commandSourceSource(CommandSource *cs) {
    return (Source){&commandSourceInterface, cs};
}
