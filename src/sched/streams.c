/* streams.c - the daemon's WAL streams (sched/streams.h). */
#include "sched/streams.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "pg/walstream.h"

#define STREAM_BACKOFF_MIN_MS 1000
#define STREAM_BACKOFF_MAX_MS 60000
#define STREAM_STABLE_MS 60000

typedef struct Stream {
    char *name;
    char **argv; /* NULL-terminated, owned */
    int argc;
    bool wanted; /* configured in the current file */
    pid_t pid;   /* 0 when not running */
    int fd;      /* read end of the pipe only the child holds; -1 */
    int64_t startedMs, nextStartMs, backoffMs;
} Stream;

struct SchedStreams {
    SchedHooks hooks;
    SchedDispatch dispatch;
    Stream *items;
    size_t count;
};

static int64_t nowMs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void argvFree(char **argv) {
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

static bool argvEqual(char **a, char **b) {
    size_t i = 0;
    for (; a[i] && b[i]; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return a[i] == NULL && b[i] == NULL;
}

/* The value after option in a component's backup arguments, or NULL. */
static const char *argAfter(const CfgArgs *args, const char *option) {
    for (size_t i = 0; i + 1 < args->n; i++)
        if (strcmp(args->v[i], option) == 0)
            return args->v[i + 1];
    return NULL;
}

/* lifeboat wal-stream REPO-ARGS --pg CONN --spool STATE/wal-stream/NAME [--slot S] [--pg-bin D] */
static char **streamArgv(const CfgFile *cfg, const CfgComponent *c, int *argc) {
    const CfgFileRepository *repo = cfgFileRepository(cfg, c->repository);
    size_t cap = 16 + (repo ? repo->args.n : 0), n = 0;
    char **v = lbXcalloc(cap, sizeof(char *));
    v[n++] = lbXstrdup("lifeboat");
    v[n++] = lbXstrdup("wal-stream");
    for (size_t i = 0; repo && i < repo->args.n; i++)
        v[n++] = lbXstrdup(repo->args.v[i]);
    const char *conn = argAfter(&c->backupArgs, "--pg");
    const char *pgBin = argAfter(&c->backupArgs, "--pg-bin");
    v[n++] = lbXstrdup("--pg");
    v[n++] = lbXstrdup(conn ? conn : "");
    v[n++] = lbXstrdup("--spool");
    v[n++] = walstreamDaemonSpool(cfg->stateDir, c->name);
    if (c->streamSlot) {
        v[n++] = lbXstrdup("--slot");
        v[n++] = lbXstrdup(c->streamSlot);
    }
    if (pgBin) {
        v[n++] = lbXstrdup("--pg-bin");
        v[n++] = lbXstrdup(pgBin);
    }
    *argc = (int)n;
    return v;
}

static Stream *findStream(SchedStreams *s, const char *name) {
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->items[i].name, name) == 0)
            return &s->items[i];
    return NULL;
}

/* SIGTERM to wal-stream alone: it stops pg_receivewal and uploads */
static void stopStream(Stream *st) {
    if (st->pid > 0)
        kill(st->pid, SIGTERM);
}

static void configLoaded(void *ctx, const CfgFile *cfg) {
    SchedStreams *s = ctx;
    for (size_t i = 0; i < s->count; i++)
        s->items[i].wanted = false;
    for (size_t i = 0; i < cfg->componentCount; i++) {
        const CfgComponent *c = &cfg->components[i];
        if (!c->stream || c->type != cfgCompPostgresPhysical)
            continue;
        int argc;
        char **argv = streamArgv(cfg, c, &argc);
        Stream *st = findStream(s, c->name);
        if (st == NULL) {
            s->items = lbXrealloc(s->items, (s->count + 1) * sizeof(Stream));
            st = &s->items[s->count++];
            memset(st, 0, sizeof(*st));
            st->name = lbXstrdup(c->name);
            st->fd = -1;
            st->backoffMs = STREAM_BACKOFF_MIN_MS;
        } else if (!argvEqual(st->argv, argv)) {
            stopStream(st); /* restarted with the new command line once it ended */
        }
        argvFree(st->argv);
        st->argv = argv;
        st->argc = argc;
        st->wanted = true;
    }
    for (size_t i = 0; i < s->count; i++)
        if (!s->items[i].wanted)
            stopStream(&s->items[i]);
}

static void childMain(SchedStreams *s, Stream *st, int keepFd) {
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    /* none of the daemon's descriptors (its lock, signalfd, history) */
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
        if (fd != keepFd)
            close(fd);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        close(devnull);
    }
    fflush(NULL);
    _exit(s->dispatch(st->argc, st->argv));
}

static void startStream(SchedStreams *s, Stream *st, int64_t now) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        st->nextStartMs = now + st->backoffMs;
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        childMain(s, st, fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        st->nextStartMs = now + st->backoffMs;
        return;
    }
    st->pid = pid;
    st->fd = fds[0];
    st->startedMs = now;
    fprintf(stderr, "lifeboat: wal-stream of component '%s' started (pid %d)\n", st->name, (int)pid);
}

/* The child ended (its pipe closed): reap it unless the loop did. */
static void ended(Stream *st, int64_t now) {
    int status = 0;
    pid_t r = waitpid(st->pid, &status, WNOHANG);
    close(st->fd);
    st->fd = -1;
    st->pid = 0;
    if (now - st->startedMs >= STREAM_STABLE_MS)
        st->backoffMs = STREAM_BACKOFF_MIN_MS;
    char how[64] = "ended";
    if (r > 0 && WIFEXITED(status))
        snprintf(how, sizeof(how), "exited with status %d", WEXITSTATUS(status));
    else if (r > 0 && WIFSIGNALED(status))
        snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
    st->nextStartMs = now + (st->wanted ? st->backoffMs : 0);
    fprintf(stderr, "lifeboat: wal-stream of component '%s' %s after %.1f s%s\n", st->name, how,
            (double)(now - st->startedMs) / 1000.0, st->wanted ? "; restarting it after a pause" : "");
    if (st->wanted)
        st->backoffMs = st->backoffMs * 2 > STREAM_BACKOFF_MAX_MS ? STREAM_BACKOFF_MAX_MS : st->backoffMs * 2;
}

static size_t prepareWait(void *ctx, struct pollfd *fds, size_t max, int64_t now, int64_t *wakeMs) {
    SchedStreams *s = ctx;
    size_t n = 0;
    (void)now;
    int64_t t = nowMs();
    for (size_t i = 0; i < s->count; i++) {
        Stream *st = &s->items[i];
        if (st->pid == 0 && st->wanted && t >= st->nextStartMs)
            startStream(s, st, t);
        if (st->pid > 0 && n < max) {
            fds[n].fd = st->fd;
            fds[n].events = POLLIN;
            fds[n].revents = 0;
            n++;
        } else if (st->pid == 0 && st->wanted && st->nextStartMs < *wakeMs) {
            *wakeMs = st->nextStartMs;
        }
    }
    return n;
}

static void afterWait(void *ctx, const struct pollfd *fds, size_t count, int64_t now) {
    SchedStreams *s = ctx;
    (void)now;
    for (size_t k = 0; k < count; k++) {
        if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        for (size_t i = 0; i < s->count; i++) {
            Stream *st = &s->items[i];
            char b;
            if (st->fd == fds[k].fd && read(st->fd, &b, 1) <= 0)
                ended(st, nowMs());
        }
    }
}

SchedStreams *schedStreamsNew(SchedDispatch dispatch) {
    SchedStreams *s = lbXcalloc(1, sizeof(*s));
    s->dispatch = dispatch;
    s->hooks = (SchedHooks){.ctx = s, .configLoaded = configLoaded, .prepareWait = prepareWait, .afterWait = afterWait};
    return s;
}

const SchedHooks *schedStreamsHooks(SchedStreams *s) {
    return &s->hooks;
}

void schedStreamsFree(SchedStreams *s) {
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->count; i++) {
        s->items[i].wanted = false;
        stopStream(&s->items[i]);
    }
    /* each uploads what it holds, then ends: wait for the pipes to close */
    int64_t until = nowMs() + SCHED_STREAM_STOP_WAIT_MS;
    for (size_t i = 0; i < s->count; i++) {
        Stream *st = &s->items[i];
        while (st->pid > 0) {
            struct pollfd p = {.fd = st->fd, .events = POLLIN};
            int64_t left = until - nowMs();
            if (left <= 0) {
                kill(-st->pid, SIGKILL);
                left = 1000;
            }
            char b;
            if (poll(&p, 1, (int)left) > 0 && read(st->fd, &b, 1) <= 0)
                ended(st, nowMs());
        }
        argvFree(st->argv);
        free(st->name);
    }
    free(s->items);
    free(s);
}
