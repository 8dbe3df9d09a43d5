/*
 * plan.h - the scheduler core: which run falls due when. Pure logic over a
 * clock the caller passes in (Unix seconds), so a test can drive a whole
 * simulated week in milliseconds; the daemon (daemon.h) feeds it the wall
 * clock and starts what it returns.
 *
 * One entry per component with a schedule and per job with a schedule. Each
 * entry knows its next slot (the next fire time of its cron expression). When
 * the clock reaches or passes slots, schedPlanDue returns ONE fire per entry,
 * for the newest slot passed: slots passed while the daemon was down or the
 * machine slept are caught up by one run, never one per slot (systemd's
 * Persistent=). Such a run's trigger is "catch-up"; past its starting
 * deadline it is returned as missed (recorded, not run). Retries are the
 * loop's (loop.h): they belong to a run, not to a schedule.
 *
 * Ownership: a SchedPlan owns its entries (names copied, cron parsed);
 * the CfgFile it was built from may be freed afterwards.
 */
#ifndef LIFEBOAT_SCHED_PLAN_H
#define LIFEBOAT_SCHED_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "config/file.h"
#include "sched/cron.h"

#define SCHED_NEVER INT64_MAX

typedef enum SchedTrigger {
    schedTriggerSchedule, /* its slot came */
    schedTriggerCatchUp,  /* one run for slots passed while not running */
    schedTriggerRetry,    /* a later attempt of a failed run */
    schedTriggerManual,   /* lifeboat run */
} SchedTrigger;

const char *schedTriggerName(SchedTrigger trigger); /* "schedule", "catch-up", "retry", "manual" */

typedef struct SchedEntry {
    char *name;      /* component or job name */
    char *component; /* the component a component entry backs up; NULL for jobs */
    char *schedule;  /* cron expression and zone, to carry state across reloads */
    char *timezone;
    CronSchedule *cron;
    CfgRunPolicy policy; /* its strings are not used (schedule, timezone: above) */
    int64_t next;        /* next slot, Unix seconds; SCHED_NEVER when none */
    bool catchUp;        /* next is a slot passed while the daemon was down */
} SchedEntry;

typedef struct SchedFire {
    size_t entry; /* index into the plan */
    int64_t slot; /* scheduled time, Unix seconds */
    SchedTrigger trigger;
    bool missed; /* past its starting deadline: record as missed, do not run */
} SchedFire;

typedef struct SchedPlan SchedPlan;

/* Entries for every component and job of cfg that has a schedule. NULL with
 * err when a schedule does not parse (cfgFileLoad has checked them). Every
 * entry starts with no next slot: call schedPlanStart for each. */
SchedPlan *schedPlanNew(const CfgFile *cfg, LbError *err);
void schedPlanFree(SchedPlan *plan);

size_t schedPlanCount(const SchedPlan *plan);
const SchedEntry *schedPlanEntry(const SchedPlan *plan, size_t i);
/* index of the entry named name, or -1 */
long schedPlanFind(const SchedPlan *plan, const char *name);

/* Set entry i's next slot at time now. haveLast: the history holds a
 * scheduled run of it at lastSlot. With catch_up and a slot after lastSlot
 * already passed, the next schedPlanDue returns one catch-up fire for the
 * newest such slot; otherwise the first slot after now. */
void schedPlanStart(SchedPlan *plan, size_t i, int64_t now, bool haveLast, int64_t lastSlot);

/* Entries of plan that are in old too, with the same schedule and zone, take
 * over old's next slot (SIGHUP reload). Returns, in adopted (plan-sized,
 * caller-allocated), which ones did. */
void schedPlanAdopt(SchedPlan *plan, const SchedPlan *old, bool *adopted);

/* The fires due at now (next slot <= now), at most max, in entry order;
 * each returned entry advances to its first slot after now. Call again while
 * it returns max. */
size_t schedPlanDue(SchedPlan *plan, int64_t now, SchedFire *out, size_t max);

/* The earliest time anything falls due; SCHED_NEVER when nothing will. */
int64_t schedPlanNextWake(const SchedPlan *plan);

/* Delay before attempt+1 after attempt failed: backoff * 2^(attempt-1),
 * capped at backoff_max, minus up to 20% jitter taken from random. */
int64_t schedBackoff(const CfgRunPolicy *policy, int attempt, uint32_t random);

/* "database@2026-12-03T10:15:00Z": the ID of entry name's run for slot. */
void schedRunId(const char *name, int64_t slot, char *out, size_t size);

#endif
