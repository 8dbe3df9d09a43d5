/*
 * serve.h - the daemon's monitoring listener: a scheduler hook
 * (sched/loop.h SchedHooks) that serves HTTP with libmicrohttpd in external
 * epoll mode, driven from the loop's wait (no thread: the daemon forks its
 * runs), and refreshes the repositories' figures in a forked child every
 * monitoring.refresh (never more than one scan at once, never in the loop's
 * thread).
 *
 * Routes (serve.c's table; one entry per route):
 *   GET /metrics  the metrics (monitor/metrics.h) from the history and the
 *                 last saved scans (STATE/monitor/)
 *   anything else 404; a method other than GET or HEAD 405.
 * With monitoring.token_file, every request must carry "Authorization:
 * Bearer TOKEN" (compared in constant time), else 401.
 *
 * Ownership: MonServe borrows the CfgFile given to configLoaded until the
 * next call (the loop keeps it alive that long).
 */
#ifndef LIFEBOAT_MONITOR_SERVE_H
#define LIFEBOAT_MONITOR_SERVE_H

#include <stdint.h>

#include "common/error.h"
#include "config/file.h"
#include "sched/loop.h"

typedef struct MonServe MonServe;

/* The scan a refresh runs in its child process (cmd/monitor_scan.h
 * monitorScanAll, saving each scan): the child exits after it. */
typedef void (*MonScanFn)(const CfgFile *cfg, int64_t nowMs);

MonServe *monServeNew(MonScanFn scan);
/* Stops the listener, kills a scan still running; NULL is a no-op. */
void monServeFree(MonServe *serve);

/* Apply cfg's monitoring: (listen, token, refresh) now, so that a port in
 * use fails the daemon's start: "unable to listen on 'ADDR': reason". The
 * hook's configLoaded does the same on a reload, reporting on stderr. */
bool monServeConfigure(MonServe *serve, const CfgFile *cfg, LbError *err);

/* The hook to add to SchedLoopOptions.hooks (borrowed from serve). */
const SchedHooks *monServeHooks(MonServe *serve);

/* The port the listener is bound to; 0 when none. */
int monServePort(const MonServe *serve);

#endif
