/*
 * loop.h - the run loop shared by `lifeboat daemon` and `lifeboat run`: it
 * starts runs in child processes, records each attempt in the history,
 * enforces timeouts, retries failures with back-off, and (as the daemon)
 * sleeps until the plan's next slot.
 *
 * A run: the loop claims the run's history row (run ID + attempt, so one
 * slot runs once however many daemons share the state directory), forks a
 * child in its own process group, and records the outcome the child reports
 * on a pipe (or how it died). The child takes the job's lock
 * (STATE/locks/NAME.lock) by its concurrency policy: Forbid - held by another
 * run, this one is recorded as skipped; Replace - the holder's process group
 * gets SIGTERM (it is recorded as cancelled) and this run waits for the lock;
 * Allow - no lock. A crash in a run never takes the loop down.
 *
 * The daemon (schedLoopRun without once): one per state directory
 * (STATE/daemon.lock); sleeps on a timerfd armed at the next due instant
 * (wall clock, re-armed when the clock is set) and a signalfd; SIGHUP reloads
 * the configuration file (an invalid file logs every error and the old one
 * keeps running); SIGTERM/SIGINT stop starting runs and wait up to the grace
 * period for the running ones, then terminate them (SIGTERM, SIGKILL after
 * their kill_after); a second SIGTERM does that at once. systemd's Type=notify
 * is told READY, RELOADING and STOPPING.
 *
 * Ownership: the loop takes the CfgFile given to schedLoopNew (and each one
 * it loads on SIGHUP) and frees it.
 */
#ifndef LIFEBOAT_SCHED_LOOP_H
#define LIFEBOAT_SCHED_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "config/file.h"
#include "sched/work.h"

struct pollfd;

/* Monitoring's part in the loop (monitor/daemon.h): metrics listener,
 * alerts. Called in the loop's own thread, so none may block for long; every
 * member is optional. */
typedef struct SchedHooks {
    void *ctx;
    /* at start (before the first run) and after each successful reload */
    void (*configLoaded)(void *ctx, const CfgFile *cfg);
    /* a run's row was recorded: ended (any outcome) or recorded as not
     * started (skipped, missed); the row and its strings are borrowed */
    void (*runRecorded)(void *ctx, const HistRun *row);
    /* before each wait: add up to max descriptors to wait on (returns how
     * many) and lower *wakeMs (Unix ms) when the hook must act earlier */
    size_t (*prepareWait)(void *ctx, struct pollfd *fds, size_t max, int64_t nowMs, int64_t *wakeMs);
    /* after each wait, with the descriptors it added (revents filled in;
     * count 0 under the virtual clock) */
    void (*afterWait)(void *ctx, const struct pollfd *fds, size_t count, int64_t nowMs);
} SchedHooks;

#define SCHED_HOOKS_MAX 4
#define SCHED_HOOK_FDS_MAX 64

/* What a child runs: schedWork, or a stand-in in tests. */
typedef void (*SchedWorkFn)(const CfgFile *cfg, const char *name, const char *runId, SchedDispatch dispatch,
                            SchedResult *res);

typedef struct SchedLoopOptions {
    const char *configPath; /* reloaded on SIGHUP */
    SchedDispatch dispatch; /* cliMain */
    SchedWorkFn work;       /* NULL: schedWork */
    bool jsonLog;           /* run start/end lines as JSON */
    bool once;              /* lifeboat run: only the queued runs (and their retries), then return */
    int64_t gracePeriodMs;  /* daemon stop: how long running runs may go on */
    /* tests: time is virtual, starts at startMs and jumps to the next due
     * instant whenever no run is going; the loop returns at endMs */
    bool virtualClock;
    int64_t virtualStartMs, virtualEndMs;
    const SchedHooks *hooks[SCHED_HOOKS_MAX]; /* borrowed; the daemon's monitoring */
    size_t hookCount;
} SchedLoopOptions;

typedef struct SchedLoop SchedLoop;

/* A loop over cfg (taken). Opens STATE/history.db; the daemon also takes
 * STATE/daemon.lock (LB_ERR_LOCKED when another daemon has it). */
SchedLoop *schedLoopNew(CfgFile *cfg, const SchedLoopOptions *opts, LbError *err);
void schedLoopFree(SchedLoop *loop);

/* Queue a manual run of the component or job named name (lifeboat run). */
bool schedLoopRunNow(SchedLoop *loop, const char *name, LbError *err);

/* Run until stopped (daemon) or until the queued runs are done (once).
 * Returns the exit code: 0; for once the worst exit code of the runs' last
 * attempts (11 when one was skipped because the job was held). */
int schedLoopRun(SchedLoop *loop);

/* Virtual clock: run on to endMs at the next schedLoopRun. */
void schedLoopSetVirtualEnd(SchedLoop *loop, int64_t endMs);

/* Runs recorded so far (for tests and the soak). */
uint64_t schedLoopRunCount(const SchedLoop *loop);

#endif
