/* walasync.c - wal-push --async: the background pusher of a spool and the archive_command that waits for it. */
#include "pg/walasync.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "pg/wal.h"
#include "pg/walspool.h"

#define PUSH_LOCK "pusher.lock"
#define PUSH_LOG "pusher.log"
#define PUSH_NAME "lb-wal-pusher"
#define WAL_DIR_FILE "wal-dir"
#define ERROR_FILE "error"
/* a file pushed this recently is not pushed again while PostgreSQL has not
 * yet renamed its .ready (its marker was just consumed) */
#define RECENT_SECONDS 10.0
#define RECENT_MAX 256
#define POLL_MS 10
#define IDLE_POLL_MS 50

void walasyncSleepMs(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

char *walasyncReadText(const char *path) {
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return NULL;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return lbXstrdup(buf);
}

/* In the grandchild: nothing of the caller stays attached (its stdio is
 * PostgreSQL's log, its other descriptors the server's); lockFd is kept as 3. */
static void detach(const WalasyncConfig *c, int lockFd, const char *logName, const char *procName) {
    char *logPath = lbXasprintf("%s/%s", c->spool, logName);
    int in = open("/dev/null", O_RDONLY);
    int out = open(logPath, O_WRONLY | O_CREAT | O_APPEND, 0600);
    free(logPath);
    if (in >= 0)
        dup2(in, STDIN_FILENO);
    if (out >= 0) {
        dup2(out, STDOUT_FILENO);
        dup2(out, STDERR_FILENO);
    }
    if (lockFd != 3)
        dup2(lockFd, 3);
    if (close_range(4, ~0U, 0) != 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = 4; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            close(fd);
    }
    if (chdir("/") != 0) {
        /* nothing holds on to the caller's directory either way */
    }
    umask(077);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_NAME, procName, 0, 0, 0);
    if (lbLogGetLevel() < LB_LOG_INFO)
        lbLogSetLevel(LB_LOG_INFO); /* its own log: starts, files, errors, exit */
}

bool walasyncStillOwner(const WalasyncConfig *c, const char *lockName) {
    char *lockPath = lbXasprintf("%s/%s", c->spool, lockName);
    struct stat held, named;
    bool same = fstat(3, &held) == 0 && stat(lockPath, &named) == 0 && held.st_dev == named.st_dev &&
                held.st_ino == named.st_ino;
    free(lockPath);
    return same;
}

bool walasyncEnsure(const WalasyncConfig *c, const char *lockName, const char *logName, const char *procName,
                    WalasyncRunFn run, bool *started, LbError *err) {
    char *lockPath = lbXasprintf("%s/%s", c->spool, lockName);
    bool ok = false;
    *started = false;
    int fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        lbErrSys(err, "unable to open lock file '%s'", lockPath);
        goto cleanup;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK || errno == EINTR)
            ok = true; /* it runs */
        else
            lbErrSys(err, "unable to lock '%s'", lockPath);
        goto cleanup;
    }
    /* the lock is ours: hand it to a detached grandchild (the lock belongs to
     * the open file, which the grandchild keeps when this process closes it) */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        lbErrSys(err, "unable to start %s", procName);
        goto cleanup;
    }
    if (pid == 0) {
        setsid();
        pid_t g = fork();
        if (g == 0) {
            detach(c, fd, logName, procName);
            run(c);
            _exit(0);
        }
        _exit(g < 0 ? 1 : 0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        lbErr(err, LB_ERR_GENERIC, "unable to start %s", procName);
        goto cleanup;
    }
    *started = true;
    ok = true;
cleanup:
    if (fd >= 0)
        close(fd);
    free(lockPath);
    return ok;
}

/* ------------------------------------------------------------------ pusher */

/* The pusher: c->workers threads, each taking the next ready file (WAL
 * order) that no other thread holds, has no marker and was not pushed in the
 * last RECENT_SECONDS, pushing it and writing its marker; no batch waits for
 * its slowest file. The ready list is read again at most every LIST_MS. */
#define LIST_MS 20

typedef struct Recent {
    char name[WAL_NAME_MAX];
    double at;
} Recent;

typedef struct Pusher {
    const WalasyncConfig *c;
    Repo *repo;
    char *walDirFile;
    pthread_mutex_t mu; /* guards everything below */
    char *walDir;
    char **list; /* ready files without a marker, in WAL order */
    size_t listCount;
    double listAt, lastWork;
    Recent recent[RECENT_MAX]; /* pushed (or failed) lately */
    size_t nRecent, nextRecent;
    char (*inflight)[WAL_NAME_MAX];
    size_t pushed;
    bool stop;
    atomic_int seats; /* hands each worker thread its slot in inflight */
} Pusher;

static bool recentHas(const Pusher *p, const char *name, double now) {
    for (size_t i = 0; i < p->nRecent; i++)
        if (now - p->recent[i].at < RECENT_SECONDS && strcmp(p->recent[i].name, name) == 0)
            return true;
    return false;
}

static void recentAdd(Pusher *p, const char *name, double at) {
    Recent *slot = &p->recent[p->nextRecent];
    snprintf(slot->name, sizeof(slot->name), "%s", name);
    slot->at = at;
    p->nextRecent = (p->nextRecent + 1) % RECENT_MAX;
    if (p->nRecent < RECENT_MAX)
        p->nRecent++;
}

static void writeError(const WalasyncConfig *c, const char *msg) {
    char *path = lbXasprintf("%s/" ERROR_FILE, c->spool);
    LbError e = {0};
    lbLogError("%s", msg);
    if (!walspoolWriteFile(path, msg, strlen(msg), false, &e))
        lbLogError("%s", e.msg);
    free(path);
}

static void listFree(Pusher *p) {
    for (size_t i = 0; i < p->listCount; i++)
        free(p->list[i]);
    free(p->list);
    p->list = NULL;
    p->listCount = 0;
}

/* Under p->mu: the next file for worker w, copied to name; false when none. */
static bool pickNext(Pusher *p, int w, char *name, double now) {
    if (now - p->listAt >= LIST_MS / 1000.0) {
        LbError lerr = {0};
        listFree(p);
        free(p->walDir);
        p->walDir = walasyncReadText(p->walDirFile);
        p->listAt = now;
        if (p->walDir &&
            !walspoolReady(p->walDir, p->c->spool, "", (size_t)p->c->workers * 4 + 64, &p->list, &p->listCount, &lerr))
            lbLogWarn("%s", lerr.msg);
    }
    for (size_t i = 0; i < p->listCount; i++) {
        bool held = false;
        for (int k = 0; k < p->c->workers && !held; k++)
            held = strcmp(p->inflight[k], p->list[i]) == 0;
        if (held || recentHas(p, p->list[i], now))
            continue;
        snprintf(name, WAL_NAME_MAX, "%s", p->list[i]);
        snprintf(p->inflight[w], WAL_NAME_MAX, "%s", name);
        return true;
    }
    return false;
}

typedef struct PusherSeat {
    Pusher *p;
    int w;
} PusherSeat;

static void *pusherWorker(void *arg) {
    PusherSeat *seat = arg;
    Pusher *p = seat->p;
    char name[WAL_NAME_MAX];
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        double now = lbMonotonicSeconds();
        if (!pickNext(p, seat->w, name, now)) {
            bool busy = false;
            for (int k = 0; k < p->c->workers; k++)
                busy = busy || p->inflight[k][0] != '\0';
            if (!busy && now - p->lastWork >= p->c->idleSeconds)
                p->stop = true;
            else if (!walasyncStillOwner(p->c, PUSH_LOCK)) {
                lbLogWarn("pusher %d: the spool '%s' was removed or replaced: exiting", (int)getpid(), p->c->spool);
                p->stop = true;
            }
            pthread_mutex_unlock(&p->mu);
            walasyncSleepMs(LIST_MS);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        char *path = lbXasprintf("%s/%s", p->walDir, name);
        pthread_mutex_unlock(&p->mu);
        WalspoolItem it = {.path = path, .name = name};
        walspoolPushAll(p->repo, &it, 1, 1, p->c->spool, p->c->repository);
        free(path);
        pthread_mutex_lock(&p->mu);
        now = lbMonotonicSeconds();
        p->inflight[seat->w][0] = '\0';
        p->lastWork = now;
        if (it.ok) {
            recentAdd(p, name, now);
            p->pushed++;
            lbLogInfo("archived %s (%s)", name, it.identical ? "identical" : "stored");
        } else {
            /* retried in a second: PostgreSQL sees the error meanwhile */
            recentAdd(p, name, now - RECENT_SECONDS + 1.0);
            char *msg = lbXasprintf("background pusher: unable to archive %s: %s", name, it.err.msg);
            writeError(p->c, msg);
            free(msg);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void *pusherSeat(void *arg) {
    /* walspoolRunWorkers hands every thread the same argument: take a seat */
    Pusher *p = arg;
    PusherSeat seat = {.p = p};
    seat.w = atomic_fetch_add(&p->seats, 1) % p->c->workers;
    return pusherWorker(&seat);
}

static void pusherRun(const WalasyncConfig *c) {
    LbError err = {0};
    double t0 = lbMonotonicSeconds();
    lbLogInfo("pusher %d started (spool '%s', %d workers)", (int)getpid(), c->spool, c->workers);
    Repo *repo = c->openRepo(c->ctx, &err);
    if (repo == NULL) {
        char *msg = lbXasprintf("background pusher: %s", err.msg);
        writeError(c, msg);
        free(msg);
        return;
    }
    lbLogInfo("repository open in %.3f s", lbMonotonicSeconds() - t0);
    Pusher p = {.c = c,
                .repo = repo,
                .walDirFile = lbXasprintf("%s/" WAL_DIR_FILE, c->spool),
                .listAt = -1e9,
                .lastWork = lbMonotonicSeconds(),
                .inflight = lbXcalloc((size_t)c->workers, WAL_NAME_MAX)};
    atomic_init(&p.seats, 0);
    pthread_mutex_init(&p.mu, NULL);
    walspoolRunWorkers(pusherSeat, &p, c->workers, (size_t)c->workers);
    lbLogInfo("pusher %d exits after %d s idle (%zu files archived)", (int)getpid(), c->idleSeconds, p.pushed);
    pthread_mutex_destroy(&p.mu);
    listFree(&p);
    free(p.walDir);
    free(p.inflight);
    free(p.walDirFile);
    repoFree(repo);
}

/* Record (absolute) where the server's WAL is, for the pusher. */
static bool recordWalDir(const WalasyncConfig *c, const char *path, LbError *err) {
    char *copy = lbXstrdup(path);
    char abs[PATH_MAX];
    bool ok = false;
    if (realpath(dirname(copy), abs) == NULL) {
        lbErrSys(err, "unable to resolve the directory of '%s'", path);
        goto cleanup;
    }
    char *file = lbXasprintf("%s/" WAL_DIR_FILE, c->spool);
    char *have = walasyncReadText(file);
    ok = (have && strcmp(have, abs) == 0) || walspoolWriteFile(file, abs, strlen(abs), false, err);
    free(have);
    free(file);
cleanup:
    free(copy);
    return ok;
}

bool walasyncPush(const WalasyncConfig *c, const char *path, const char *name, uint64_t size, const LbId *sha256,
                  LbError *err) {
    char *errorFile = lbXasprintf("%s/" ERROR_FILE, c->spool);
    bool ok = false;
    if (!recordWalDir(c, path, err))
        goto cleanup;
    double t0 = lbMonotonicSeconds();
    for (int round = 0;; round++) {
        bool hit = false, started = false;
        if (!walspoolConsume(c->spool, c->repository, name, size, sha256, &hit, err))
            goto cleanup;
        if (hit) {
            ok = true;
            goto cleanup;
        }
        char *msg = walasyncReadText(errorFile);
        if (msg) {
            unlink(errorFile);
            lbErr(err, LB_ERR_GENERIC, "%s", msg);
            free(msg);
            goto cleanup;
        }
        /* first round, then every 0.2 s: a pusher that ended (idle, killed)
         * is replaced at once */
        if (round % 20 == 0) {
            if (!walasyncEnsure(c, PUSH_LOCK, PUSH_LOG, PUSH_NAME, pusherRun, &started, err))
                goto cleanup;
            if (started)
                lbLogInfo("started the background pusher (log: %s/" PUSH_LOG ")", c->spool);
        }
        if (lbMonotonicSeconds() - t0 >= c->waitSeconds) {
            lbErr(err, LB_ERR_GENERIC,
                  "unable to archive '%s': the background pusher did not archive it within %d s (see %s/" PUSH_LOG ")",
                  path, c->waitSeconds, c->spool);
            goto cleanup;
        }
        walasyncSleepMs(POLL_MS);
    }
cleanup:
    free(errorFile);
    return ok;
}
