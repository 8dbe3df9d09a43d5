/*
 * alert_sched.h - alerts in the scheduler loop (sched/loop.h SchedHooks):
 * every recorded run (the daemon's and `lifeboat run`'s) is observed at
 * once (failure, recovered, missed, skipped); the daemon also checks the
 * facts (monitor/facts.h) on its own clock, at start, every minute (or
 * monitoring.refresh when shorter) and as soon as the daemon's refresh
 * saves a new scan of a repository, even when no job runs: RPO objectives,
 * stale schedules, drills, repositories that cannot be opened, and the
 * reminders of the run conditions still firing.
 * Sending never blocks the loop (notify.h notifySpawn).
 */
#ifndef LIFEBOAT_MONITOR_ALERT_SCHED_H
#define LIFEBOAT_MONITOR_ALERT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/file.h"
#include "monitor/alert.h"
#include "sched/loop.h"

typedef struct AlertSched AlertSched;

/* clock: check the facts on the loop's clock (the daemon); false for
 * `lifeboat run`, which observes its runs only. */
AlertSched *alertSchedNew(bool clock);
void alertSchedFree(AlertSched *a);
/* The hooks to put in SchedLoopOptions.hooks (borrowed from a). */
const SchedHooks *alertSchedHooks(AlertSched *a);

/* Pure: the conditions the facts show (rpo, stale, drill, repository) into
 * out (capacity max; returns how many), strings borrowed from facts or the
 * slots of bufs (max of them, 512 bytes each). sinceMs: since when the
 * observer watches (a scheduled job that never ran is stale 2 intervals
 * after it; 0: never-run jobs are not judged). */
struct MonFacts;
size_t alertConditionsOfFacts(const struct MonFacts *facts, int64_t sinceMs, AlertCondition *out, char (*bufs)[512],
                              size_t max);

#endif
