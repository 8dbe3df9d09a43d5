/* loop.c - the run loop of the daemon and of `lifeboat run` (see loop.h). */
#include "sched/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "sched/plan.h"
#include "state/history.h"

#define RUNS_MAX 256
#define RESULT_MAX 8192

typedef struct Run {
    pid_t pid;
    int resultFd;
    char *name;
    char *runId;
    int64_t rowId;
    int64_t slot;
    int attempt;
    SchedTrigger trigger;
    CfgRunPolicy policy;
    int64_t startedMs;
    int64_t timeoutAtMs; /* 0: none */
    int64_t killAtMs;    /* 0: no SIGKILL pending */
    bool timedOut, cancelled;
    char result[RESULT_MAX];
    size_t resultLen;
} Run;

typedef struct Pending {
    char *name;
    char *runId; /* NULL: derived from the slot */
    int64_t slot;
    int attempt;
    SchedTrigger trigger;
    int64_t atMs;
} Pending;

struct SchedLoop {
    SchedLoopOptions opts;
    CfgFile *cfg;
    SchedPlan *plan;
    Hist *hist;
    char *stateDir;
    int lockFd; /* daemon.lock */
    int sigFd, timerFd;
    sigset_t oldMask;
    Run runs[RUNS_MAX];
    size_t runCount;
    Pending *pending;
    size_t pendingCount, pendingCap;
    bool stopping, cancelSent;
    int64_t stopDeadlineMs;
    int64_t virtualNowMs;
    uint64_t recorded;
    int worstExit;
};

/* ---- time and logging ---- */

static int64_t nowMs(const SchedLoop *L) {
    return L->opts.virtualClock ? L->virtualNowMs : lbNowNs() / 1000000;
}

static void formatMs(int64_t ms, char *out, size_t n) {
    char full[64];
    lbFormatTimeNs(ms * 1000000, full, sizeof(full)); /* 2026-11-23T14:05:00.123000000Z */
    snprintf(out, n, "%.23sZ", full);
}

/* One line per run start and end on stderr; never a secret (the error
 * messages of runs are the verbs' own, which never hold one). */
static void logRun(const SchedLoop *L, const char *event, const Run *r, const char *runId, const char *name,
                   int attempt, SchedTrigger trigger, HistOutcome outcome, const SchedResult *res, double seconds) {
    char when[40];
    formatMs(nowMs(L), when, sizeof(when));
    if (L->opts.jsonLog) {
        json_t *j = json_object();
        json_object_set_new(j, "time", json_string(when));
        json_object_set_new(j, "event", json_string(event));
        json_object_set_new(j, "run_id", json_string(runId));
        json_object_set_new(j, "job", json_string(name));
        json_object_set_new(j, "attempt", json_integer(attempt));
        json_object_set_new(j, "trigger", json_string(schedTriggerName(trigger)));
        if (r)
            json_object_set_new(j, "pid", json_integer(r->pid));
        if (strcmp(event, "run-start") != 0) {
            json_object_set_new(j, "outcome", json_string(histOutcomeName(outcome)));
            json_object_set_new(j, "duration_seconds", json_real(seconds));
            if (res) {
                json_object_set_new(j, "exit_code", json_integer(res->exitCode));
                if (res->bytesAdded >= 0)
                    json_object_set_new(j, "bytes_added", json_integer(res->bytesAdded));
                if (res->snapshotIds[0])
                    json_object_set_new(j, "snapshot_ids", json_string(res->snapshotIds));
                if (res->error[0])
                    json_object_set_new(j, "error", json_string(res->error));
            }
        }
        char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (s)
            fprintf(stderr, "%s\n", s);
        free(s);
        return;
    }
    if (strcmp(event, "run-start") == 0) {
        fprintf(stderr, "%s lifeboat: run %s attempt %d started (%s, pid %d)\n", when, runId, attempt,
                schedTriggerName(trigger), r ? (int)r->pid : 0);
        return;
    }
    fprintf(stderr, "%s lifeboat: run %s attempt %d %s after %.1f s", when, runId, attempt, histOutcomeName(outcome),
            seconds);
    if (res && res->bytesAdded >= 0)
        fprintf(stderr, ", added %lld bytes", (long long)res->bytesAdded);
    if (res && res->snapshotIds[0]) {
        char ids[512];
        schedShortIds(res->snapshotIds, ids, sizeof(ids));
        fprintf(stderr, ", snapshot %s", ids);
    }
    if (res && res->error[0])
        fprintf(stderr, ": %s", res->error);
    fputc('\n', stderr);
}

/* ---- hooks (monitoring) ---- */

static void hooksConfigLoaded(const SchedLoop *L) {
    for (size_t i = 0; i < L->opts.hookCount; i++)
        if (L->opts.hooks[i]->configLoaded)
            L->opts.hooks[i]->configLoaded(L->opts.hooks[i]->ctx, L->cfg);
}

static void hooksRunRecorded(const SchedLoop *L, const HistRun *row) {
    for (size_t i = 0; i < L->opts.hookCount; i++)
        if (L->opts.hooks[i]->runRecorded)
            L->opts.hooks[i]->runRecorded(L->opts.hooks[i]->ctx, row);
}

/* systemd Type=notify: a datagram to $NOTIFY_SOCKET (sd_notify(3)). */
static void notifySystemd(const char *state) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (path == NULL || (path[0] != '/' && path[0] != '@') ||
        strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    memcpy(addr.sun_path, path, len);
    if (path[0] == '@')
        addr.sun_path[0] = '\0';
    (void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&addr,
                 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
    close(fd);
}

/* ---- the child ---- */

/* Take the job's lock by policy. Returns the fd (kept until exit), -1 for
 * Allow, -2 when skipped (res filled). */
static int takeJobLock(const SchedLoop *L, const char *name, const CfgRunPolicy *p, SchedResult *res) {
    if (p->concurrency == cfgConcurrencyAllow)
        return -1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/locks", L->stateDir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/locks/%s.lock", L->stateDir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        res->outcome = histFailed;
        res->exitCode = 1;
        snprintf(res->error, sizeof(res->error), "unable to open job lock '%.700s': %s", path, strerror(errno));
        return -2;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {0};
        (void)!pread(fd, buf, sizeof(buf) - 1, 0);
        pid_t holder = (pid_t)atoi(buf);
        if (p->concurrency == cfgConcurrencyForbid || holder <= 0) {
            res->outcome = histSkipped;
            res->exitCode = 11;
            snprintf(res->error, sizeof(res->error),
                     "the previous run of %s (pid %d) still runs; concurrency_policy Forbid skips this one", name,
                     (int)holder);
            close(fd);
            return -2;
        }
        /* Replace: stop the holder's process group, then wait for the lock */
        kill(-holder, SIGTERM);
        int64_t waited = 0;
        while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (waited == p->killAfter * 1000)
                kill(-holder, SIGKILL);
            usleep(50 * 1000);
            waited += 50;
        }
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        /* the pid is only a hint for Replace */
    }
    return fd;
}

static void childRun(SchedLoop *L, const Run *r, int resultFd) {
    setpgid(0, 0);
    sigprocmask(SIG_SETMASK, &L->oldMask, NULL);
    if (L->sigFd >= 0)
        close(L->sigFd);
    if (L->timerFd >= 0)
        close(L->timerFd);
    if (L->lockFd >= 0)
        close(L->lockFd);
    for (size_t i = 0; i < L->runCount; i++) /* the other runs' result pipes (this one is not counted yet) */
        close(L->runs[i].resultFd);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        dup2(devnull, STDIN_FILENO);
        close(devnull);
    }
    SchedResult res;
    memset(&res, 0, sizeof(res));
    int lock = takeJobLock(L, r->name, &r->policy, &res);
    if (lock != -2)
        (L->opts.work ? L->opts.work : schedWork)(L->cfg, r->name, r->runId, L->opts.dispatch, &res);
    char line[RESULT_MAX];
    if (!schedResultEncode(&res, line, sizeof(line))) {
        res.snapshotIds[0] = '\0';
        schedResultEncode(&res, line, sizeof(line));
    }
    (void)!write(resultFd, line, strlen(line));
    fflush(NULL);
    _exit(res.outcome == histSucceeded ? 0 : (res.exitCode > 0 ? res.exitCode : 1));
}

/* ---- starting and recording runs ---- */

static const CfgRunPolicy *policyOf(const CfgFile *cfg, const char *name, const char **component) {
    const CfgComponent *c = cfgFileComponent(cfg, name);
    *component = c ? c->name : NULL;
    if (c)
        return &c->run;
    const CfgJob *j = cfgFileJob(cfg, name);
    return j ? &j->run : NULL;
}

static void trim(SchedLoop *L, const char *name, const CfgRunPolicy *p) {
    LbError err = {0};
    if (!histTrim(L->hist, name, p->successfulHistoryLimit, p->failedHistoryLimit, p->historyMaxAge, nowMs(L), &err))
        fprintf(stderr, "lifeboat: %s\n", err.msg);
}

/* A run that is not started (missed): one row with its outcome. */
static void recordNotRun(SchedLoop *L, const char *name, int64_t slot, SchedTrigger trigger, HistOutcome outcome,
                         const char *why) {
    const char *component;
    const CfgRunPolicy *p = policyOf(L->cfg, name, &component);
    char runId[600];
    schedRunId(name, slot, runId, sizeof(runId));
    HistRun row = {.runId = runId,
                   .job = name,
                   .component = component,
                   .trigger = schedTriggerName(trigger),
                   .scheduledAt = slot,
                   .endedAt = nowMs(L),
                   .outcome = outcome,
                   .attempt = 1,
                   .exitCode = -1,
                   .bytesAdded = -1,
                   .bytesProcessed = -1,
                   .error = why,
                   .pid = (int)getpid()};
    bool claimed;
    int64_t rowId;
    LbError err = {0};
    if (!histClaim(L->hist, &row, &claimed, &rowId, &err)) {
        fprintf(stderr, "lifeboat: %s\n", err.msg);
        return;
    }
    if (claimed) {
        L->recorded++;
        row.id = rowId;
        hooksRunRecorded(L, &row);
        SchedResult res = {.outcome = outcome, .bytesAdded = -1, .bytesProcessed = -1};
        snprintf(res.error, sizeof(res.error), "%s", why);
        logRun(L, "run-end", NULL, runId, name, 1, trigger, outcome, &res, 0);
        if (p)
            trim(L, name, p);
    }
}

static void startRun(SchedLoop *L, const char *name, const char *givenRunId, int64_t slot, int attempt,
                     SchedTrigger trigger) {
    const char *component;
    const CfgRunPolicy *p = policyOf(L->cfg, name, &component);
    if (p == NULL) {
        fprintf(stderr, "lifeboat: run %s: no such component or job any more\n", name);
        return;
    }
    if (L->runCount == RUNS_MAX) {
        recordNotRun(L, name, slot, trigger, histSkipped, "too many runs at once");
        return;
    }
    char runId[600];
    if (givenRunId)
        snprintf(runId, sizeof(runId), "%s", givenRunId);
    else
        schedRunId(name, slot, runId, sizeof(runId));
    int64_t start = nowMs(L);
    HistRun row = {.runId = runId,
                   .job = name,
                   .component = component,
                   .trigger = schedTriggerName(trigger),
                   .scheduledAt = slot,
                   .startedAt = start,
                   .outcome = histRunning,
                   .attempt = attempt,
                   .exitCode = -1,
                   .bytesAdded = -1,
                   .bytesProcessed = -1,
                   .pid = (int)getpid()};
    bool claimed;
    int64_t rowId;
    LbError err = {0};
    if (!histClaim(L->hist, &row, &claimed, &rowId, &err)) {
        fprintf(stderr, "lifeboat: run %s: %s\n", runId, err.msg);
        L->worstExit = L->worstExit ? L->worstExit : 1;
        return;
    }
    if (!claimed) /* another daemon or a restart of this one has it */
        return;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        histFinish(L->hist, rowId, histFailed, nowMs(L), -1, -1, -1, NULL, "unable to create a pipe", &err);
        return;
    }
    Run *r = &L->runs[L->runCount];
    memset(r, 0, sizeof(*r));
    r->name = strdup(name);
    r->runId = strdup(runId);
    r->rowId = rowId;
    r->slot = slot;
    r->attempt = attempt;
    r->trigger = trigger;
    r->policy = *p;
    r->startedMs = start;
    r->timeoutAtMs = p->timeout > 0 ? start + p->timeout * 1000 : 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        childRun(L, r, fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        histFinish(L->hist, rowId, histFailed, nowMs(L), -1, -1, -1, NULL, "unable to start a process", &err);
        free(r->name);
        free(r->runId);
        return;
    }
    r->pid = pid;
    r->resultFd = fds[0];
    fcntl(r->resultFd, F_SETFL, O_NONBLOCK);
    L->runCount++;
    logRun(L, "run-start", r, runId, name, attempt, trigger, histRunning, NULL, 0);
}

static bool queue(SchedLoop *L, const char *name, const char *runId, int64_t slot, int attempt, SchedTrigger trigger,
                  int64_t atMs) {
    if (L->pendingCount == L->pendingCap) {
        size_t cap = L->pendingCap ? L->pendingCap * 2 : 8;
        Pending *p = realloc(L->pending, cap * sizeof(*p));
        if (p == NULL)
            return false;
        L->pending = p;
        L->pendingCap = cap;
    }
    Pending *q = &L->pending[L->pendingCount];
    q->name = strdup(name);
    q->runId = runId ? strdup(runId) : NULL;
    if (q->name == NULL || (runId && q->runId == NULL)) {
        free(q->name);
        free(q->runId);
        return false;
    }
    q->slot = slot;
    q->attempt = attempt;
    q->trigger = trigger;
    q->atMs = atMs;
    L->pendingCount++;
    return true;
}

static void drainResult(Run *r) {
    for (;;) {
        ssize_t n = read(r->resultFd, r->result + r->resultLen, sizeof(r->result) - 1 - r->resultLen);
        if (n <= 0)
            break;
        r->resultLen += (size_t)n;
    }
    r->result[r->resultLen] = '\0';
}

static uint32_t randomU32(void) {
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
        v = (uint32_t)lbNowNs();
    return v;
}

/* The child of r ended with status: record its outcome, queue a retry. */
static void finishRun(SchedLoop *L, Run *r, int status) {
    drainResult(r);
    close(r->resultFd);
    SchedResult res;
    bool reported = schedResultDecode(r->result, &res);
    if (!reported) {
        memset(&res, 0, sizeof(res));
        res.bytesAdded = -1;
        res.bytesProcessed = -1;
        res.outcome = histFailed;
    }
    HistOutcome outcome = res.outcome;
    int exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r->timedOut) {
        outcome = histTimedOut;
        snprintf(res.error, sizeof(res.error), "timed out after %lld s", (long long)r->policy.timeout);
    } else if (r->cancelled) {
        outcome = histCancelled;
        snprintf(res.error, sizeof(res.error), "cancelled: the %s stopped", L->opts.once ? "run" : "daemon");
    } else if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        outcome = (sig == SIGTERM || sig == SIGKILL) ? histCancelled : histFailed;
        snprintf(res.error, sizeof(res.error), "%s by signal %d (%s)",
                 outcome == histCancelled ? "terminated (replaced by another run, or stopped)" : "crashed", sig,
                 strsignal(sig));
    } else if (!reported) {
        snprintf(res.error, sizeof(res.error), "exited with code %d without reporting an outcome", exitCode);
    }
    res.exitCode = exitCode;
    int64_t end = nowMs(L);
    LbError err = {0};
    if (!histFinish(L->hist, r->rowId, outcome, end, exitCode, res.bytesAdded, res.bytesProcessed,
                    res.snapshotIds[0] ? res.snapshotIds : NULL, res.error[0] ? res.error : NULL, &err))
        fprintf(stderr, "lifeboat: run %s: %s\n", r->runId, err.msg);
    L->recorded++;
    const char *component;
    policyOf(L->cfg, r->name, &component);
    HistRun row = {.id = r->rowId,
                   .runId = r->runId,
                   .job = r->name,
                   .component = component,
                   .trigger = schedTriggerName(r->trigger),
                   .scheduledAt = r->slot,
                   .startedAt = r->startedMs,
                   .endedAt = end,
                   .outcome = outcome,
                   .attempt = r->attempt,
                   .exitCode = exitCode,
                   .bytesAdded = res.bytesAdded,
                   .bytesProcessed = res.bytesProcessed,
                   .snapshotId = res.snapshotIds[0] ? res.snapshotIds : NULL,
                   .error = res.error[0] ? res.error : NULL,
                   .pid = r->pid};
    hooksRunRecorded(L, &row);
    logRun(L, "run-end", r, r->runId, r->name, r->attempt, r->trigger, outcome, &res,
           (double)(end - r->startedMs) / 1000.0);
    trim(L, r->name, &r->policy);
    bool retry = (outcome == histFailed || outcome == histTimedOut) && r->attempt <= r->policy.retries && !L->stopping;
    if (retry) {
        int64_t delay = schedBackoff(&r->policy, r->attempt, randomU32());
        queue(L, r->name, r->runId, r->slot, r->attempt + 1, schedTriggerRetry, end + delay * 1000);
    } else if (L->opts.once) {
        int code = outcome == histSucceeded ? 0 : (exitCode > 0 ? exitCode : 1);
        if (outcome == histSkipped)
            code = 11;
        if (code > L->worstExit)
            L->worstExit = code;
    }
    free(r->name);
    free(r->runId);
    *r = L->runs[--L->runCount];
}

static void reap(SchedLoop *L) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        for (size_t i = 0; i < L->runCount; i++)
            if (L->runs[i].pid == pid) {
                finishRun(L, &L->runs[i], status);
                break;
            }
    }
}

/* ---- configuration ---- */

static void startPlan(SchedLoop *L, SchedPlan *plan, const bool *adopted) {
    int64_t now = nowMs(L) / 1000;
    for (size_t i = 0; i < schedPlanCount(plan); i++) {
        if (adopted && adopted[i])
            continue;
        const SchedEntry *e = schedPlanEntry(plan, i);
        int64_t last = 0;
        bool found = false;
        LbError err = {0};
        if (!histLastScheduled(L->hist, e->name, &last, &found, &err))
            fprintf(stderr, "lifeboat: %s\n", err.msg);
        schedPlanStart(plan, i, now, found, last);
    }
}

static void reload(SchedLoop *L) {
    notifySystemd("RELOADING=1");
    char *messages = NULL;
    LbError err = {0};
    CfgFile *cfg = cfgFileLoad(L->opts.configPath, &messages, &err);
    SchedPlan *plan = cfg ? schedPlanNew(cfg, &err) : NULL;
    if (plan == NULL) {
        fprintf(stderr, "lifeboat: reload of '%s' failed, the previous configuration keeps running: %s\n",
                L->opts.configPath, err.msg);
        if (messages)
            fprintf(stderr, "%s%s", messages, messages[0] && messages[strlen(messages) - 1] != '\n' ? "\n" : "");
        free(messages);
        cfgFileFree(cfg);
        notifySystemd("READY=1");
        return;
    }
    free(messages);
    bool *adopted = calloc(schedPlanCount(plan) + 1, sizeof(bool));
    if (adopted)
        schedPlanAdopt(plan, L->plan, adopted);
    startPlan(L, plan, adopted);
    free(adopted);
    schedPlanFree(L->plan);
    cfgFileFree(L->cfg);
    L->plan = plan;
    L->cfg = cfg;
    hooksConfigLoaded(L);
    fprintf(stderr, "lifeboat: reloaded '%s': %zu scheduled\n", L->opts.configPath, schedPlanCount(plan));
    notifySystemd("READY=1");
}

/* ---- the loop ---- */

static void stop(SchedLoop *L, bool now) {
    if (!L->stopping) {
        L->stopping = true;
        L->stopDeadlineMs = nowMs(L) + (L->opts.once ? 0 : L->opts.gracePeriodMs);
        notifySystemd("STOPPING=1");
        if (!L->opts.once)
            fprintf(stderr, "lifeboat: stopping: %zu run(s) may finish within %lld s\n", L->runCount,
                    (long long)(L->opts.gracePeriodMs / 1000));
    }
    if (now)
        L->stopDeadlineMs = nowMs(L);
}

/* Start what is due, enforce timeouts; returns the next instant (ms) the
 * loop has to act at. */
static int64_t tick(SchedLoop *L) {
    int64_t now = nowMs(L);
    if (!L->stopping) {
        if (L->plan && !L->opts.once) {
            SchedFire fires[64];
            size_t n;
            while ((n = schedPlanDue(L->plan, now / 1000, fires, 64)) > 0) {
                for (size_t i = 0; i < n; i++) {
                    const SchedEntry *e = schedPlanEntry(L->plan, fires[i].entry);
                    if (fires[i].missed)
                        recordNotRun(L, e->name, fires[i].slot, fires[i].trigger, histMissed,
                                     "not started within its starting deadline");
                    else
                        startRun(L, e->name, NULL, fires[i].slot, 1, fires[i].trigger);
                }
                if (n < 64)
                    break;
            }
        }
        for (size_t i = 0; i < L->pendingCount;) {
            Pending q = L->pending[i];
            if (q.atMs > now) {
                i++;
                continue;
            }
            L->pending[i] = L->pending[--L->pendingCount];
            startRun(L, q.name, q.runId, q.slot, q.attempt, q.trigger);
            free(q.name);
            free(q.runId);
        }
    } else if (now >= L->stopDeadlineMs && !L->cancelSent) {
        L->cancelSent = true;
        for (size_t i = 0; i < L->runCount; i++) {
            Run *r = &L->runs[i];
            r->cancelled = true;
            kill(-r->pid, SIGTERM);
            r->killAtMs = now + r->policy.killAfter * 1000;
        }
    }
    int64_t wake = SCHED_NEVER;
    for (size_t i = 0; i < L->runCount; i++) {
        Run *r = &L->runs[i];
        if (r->timeoutAtMs && now >= r->timeoutAtMs && !r->timedOut && !r->cancelled) {
            r->timedOut = true;
            kill(-r->pid, SIGTERM);
            r->killAtMs = now + r->policy.killAfter * 1000;
        }
        if (r->killAtMs && now >= r->killAtMs) {
            kill(-r->pid, SIGKILL);
            r->killAtMs = 0;
        }
        if (r->timeoutAtMs && !r->timedOut && r->timeoutAtMs < wake)
            wake = r->timeoutAtMs;
        if (r->killAtMs && r->killAtMs < wake)
            wake = r->killAtMs;
    }
    if (L->stopping) {
        if (!L->cancelSent && L->stopDeadlineMs < wake)
            wake = L->stopDeadlineMs;
        return wake;
    }
    for (size_t i = 0; i < L->pendingCount; i++)
        if (L->pending[i].atMs < wake)
            wake = L->pending[i].atMs;
    if (L->plan && !L->opts.once) {
        int64_t next = schedPlanNextWake(L->plan);
        if (next != SCHED_NEVER && next * 1000 < wake)
            wake = next * 1000;
    }
    return wake;
}

static void handleSignals(SchedLoop *L) {
    struct signalfd_siginfo si;
    while (read(L->sigFd, &si, sizeof(si)) == sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            break;
        case SIGHUP:
            if (!L->opts.once && L->opts.configPath && !L->stopping)
                reload(L);
            break;
        default: /* SIGTERM, SIGINT: a second one stops the runs at once */
            stop(L, L->stopping || L->opts.once);
            break;
        }
    }
    reap(L);
}

/* Sleep until wakeMs (SCHED_NEVER: until a signal), a signal or a change of
 * the wall clock. */
static void waitUntil(SchedLoop *L, int64_t wakeMs) {
    struct pollfd p[2 + SCHED_HOOK_FDS_MAX];
    size_t hookFds[SCHED_HOOKS_MAX] = {0}, extra = 0;
    for (size_t i = 0; i < L->opts.hookCount; i++)
        if (L->opts.hooks[i]->prepareWait && !L->opts.virtualClock) {
            hookFds[i] = L->opts.hooks[i]->prepareWait(L->opts.hooks[i]->ctx, p + 2 + extra, SCHED_HOOK_FDS_MAX - extra,
                                                       nowMs(L), &wakeMs);
            extra += hookFds[i];
        }
    if (L->opts.virtualClock) {
        if (L->runCount > 0) {
            struct pollfd sp = {.fd = L->sigFd, .events = POLLIN};
            poll(&sp, 1, 1000);
            handleSignals(L);
        } else {
            handleSignals(L);
            if (wakeMs > L->virtualNowMs)
                L->virtualNowMs = wakeMs;
        }
        for (size_t i = 0; i < L->opts.hookCount; i++)
            if (L->opts.hooks[i]->afterWait)
                L->opts.hooks[i]->afterWait(L->opts.hooks[i]->ctx, NULL, 0, nowMs(L));
        return;
    }
    struct itimerspec its = {0};
    if (wakeMs != SCHED_NEVER) {
        its.it_value.tv_sec = (time_t)(wakeMs / 1000);
        its.it_value.tv_nsec = (long)(wakeMs % 1000) * 1000000;
        if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
            its.it_value.tv_nsec = 1;
    }
    timerfd_settime(L->timerFd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
    p[0] = (struct pollfd){.fd = L->sigFd, .events = POLLIN};
    p[1] = (struct pollfd){.fd = L->timerFd, .events = POLLIN};
    if (poll(p, 2 + extra, -1) < 0 && errno != EINTR)
        return;
    if (p[1].revents & POLLIN) {
        uint64_t expirations;
        (void)!read(L->timerFd, &expirations, sizeof(expirations)); /* ECANCELED when the clock was set */
    }
    handleSignals(L);
    size_t at = 2;
    for (size_t i = 0; i < L->opts.hookCount; i++) {
        if (L->opts.hooks[i]->afterWait)
            L->opts.hooks[i]->afterWait(L->opts.hooks[i]->ctx, p + at, hookFds[i], nowMs(L));
        at += hookFds[i];
    }
}

static bool openState(SchedLoop *L, LbError *err) {
    L->hist = histOpen(L->stateDir, err);
    if (L->hist == NULL)
        return false;
    size_t closed = 0;
    if (!histCloseOrphans(L->hist, nowMs(L), &closed, err))
        return false;
    if (closed)
        fprintf(stderr, "lifeboat: %zu run(s) of a previous process had no outcome; recorded as failed\n", closed);
    if (L->opts.once)
        return true;
    char path[4096];
    snprintf(path, sizeof(path), "%s/daemon.lock", L->stateDir);
    L->lockFd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (L->lockFd < 0)
        return lbErrSys(err, "unable to open '%s'", path);
    if (flock(L->lockFd, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = {0};
        (void)!pread(L->lockFd, buf, sizeof(buf) - 1, 0);
        return lbErr(err, LB_ERR_LOCKED, "another daemon (pid %d) runs on state directory '%s'", atoi(buf),
                     L->stateDir);
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(L->lockFd, 0) != 0 || pwrite(L->lockFd, pid, (size_t)n, 0) != n)
        return lbErrSys(err, "unable to write '%s'", path);
    return true;
}

SchedLoop *schedLoopNew(CfgFile *cfg, const SchedLoopOptions *opts, LbError *err) {
    SchedLoop *L = calloc(1, sizeof(*L));
    if (L == NULL) {
        cfgFileFree(cfg);
        return lbErr(err, LB_ERR_MEMORY, "out of memory"), NULL;
    }
    L->opts = *opts;
    L->cfg = cfg;
    L->lockFd = L->sigFd = L->timerFd = -1;
    L->virtualNowMs = opts->virtualStartMs;
    L->stateDir = strdup(cfg->stateDir);
    if (L->stateDir == NULL) {
        lbErr(err, LB_ERR_MEMORY, "out of memory");
        goto fail;
    }
    if (!openState(L, err))
        goto fail;
    if (!opts->once) {
        L->plan = schedPlanNew(cfg, err);
        if (L->plan == NULL)
            goto fail;
        startPlan(L, L->plan, NULL);
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, &L->oldMask);
    L->sigFd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    L->timerFd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (L->sigFd < 0 || L->timerFd < 0) {
        lbErrSys(err, "unable to set up the signal and timer descriptors");
        goto fail;
    }
    return L;
fail:
    schedLoopFree(L);
    return NULL;
}

void schedLoopFree(SchedLoop *L) {
    if (L == NULL)
        return;
    if (L->sigFd >= 0) {
        close(L->sigFd);
        sigprocmask(SIG_SETMASK, &L->oldMask, NULL);
    }
    if (L->timerFd >= 0)
        close(L->timerFd);
    if (L->lockFd >= 0)
        close(L->lockFd);
    for (size_t i = 0; i < L->pendingCount; i++) {
        free(L->pending[i].name);
        free(L->pending[i].runId);
    }
    for (size_t i = 0; i < L->runCount; i++) {
        free(L->runs[i].name);
        free(L->runs[i].runId);
        close(L->runs[i].resultFd);
    }
    free(L->pending);
    schedPlanFree(L->plan);
    histFree(L->hist);
    cfgFileFree(L->cfg);
    free(L->stateDir);
    free(L);
}

bool schedLoopRunNow(SchedLoop *L, const char *name, LbError *err) {
    const char *component;
    if (policyOf(L->cfg, name, &component) == NULL)
        return lbErr(err, LB_ERR_ARGS, "'%s': no component or job of that name in '%s'", name, L->cfg->path);
    char runId[600], when[40];
    formatMs(nowMs(L), when, sizeof(when));
    snprintf(runId, sizeof(runId), "%s@manual-%s", name, when);
    if (!queue(L, name, runId, 0, 1, schedTriggerManual, 0))
        return lbErr(err, LB_ERR_MEMORY, "out of memory");
    return true;
}

int schedLoopRun(SchedLoop *L) {
    hooksConfigLoaded(L);
    if (!L->opts.once) {
        notifySystemd("READY=1");
        fprintf(stderr, "lifeboat: daemon started on '%s': %zu scheduled, state in '%s'\n",
                L->opts.configPath ? L->opts.configPath : "?", schedPlanCount(L->plan), L->stateDir);
    }
    for (;;) {
        int64_t wake = tick(L);
        if (L->stopping && L->runCount == 0)
            break;
        if (L->opts.once && L->runCount == 0 && L->pendingCount == 0)
            break;
        if (L->opts.virtualClock && !L->stopping && L->runCount == 0 && wake >= L->opts.virtualEndMs)
            break;
        waitUntil(L, wake);
    }
    if (!L->opts.once)
        fprintf(stderr, "lifeboat: daemon stopped\n");
    return L->opts.once ? L->worstExit : 0;
}

uint64_t schedLoopRunCount(const SchedLoop *L) {
    return L->recorded;
}

void schedLoopSetVirtualEnd(SchedLoop *L, int64_t endMs) {
    L->opts.virtualEndMs = endMs;
}
