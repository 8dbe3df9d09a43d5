/* plan.c - the scheduler core (see plan.h). */
#include "sched/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct SchedPlan {
    SchedEntry *entries;
    size_t count;
};

const char *schedTriggerName(SchedTrigger trigger) {
    static const char *const names[] = {"schedule", "catch-up", "retry", "manual"};
    return names[trigger];
}

void schedRunId(const char *name, int64_t slot, char *out, size_t size) {
    time_t t = (time_t)slot;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, size, "%s@%04d-%02d-%02dT%02d:%02d:%02dZ", name, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool addEntry(SchedPlan *plan, const char *name, const char *component, const CfgRunPolicy *policy,
                     LbError *err) {
    if (policy->schedule == NULL)
        return true;
    SchedEntry *e = &plan->entries[plan->count];
    memset(e, 0, sizeof(*e));
    e->cron = cronParse(policy->schedule, policy->timezone, err);
    if (e->cron == NULL)
        return lbErrorWrap(err, "unable to schedule '%s'", name);
    plan->count++;
    e->name = strdup(name);
    e->component = component ? strdup(component) : NULL;
    e->schedule = strdup(policy->schedule);
    e->timezone = strdup(policy->timezone ? policy->timezone : "UTC");
    e->policy = *policy;
    e->policy.schedule = NULL;
    e->policy.timezone = NULL;
    e->next = SCHED_NEVER;
    if (e->name == NULL || e->schedule == NULL || e->timezone == NULL || (component && e->component == NULL))
        return lbErr(err, LB_ERR_MEMORY, "out of memory");
    return true;
}

SchedPlan *schedPlanNew(const CfgFile *cfg, LbError *err) {
    SchedPlan *plan = calloc(1, sizeof(*plan));
    if (plan == NULL)
        return lbErr(err, LB_ERR_MEMORY, "out of memory"), NULL;
    plan->entries = calloc(cfg->componentCount + cfg->jobCount + 1, sizeof(SchedEntry));
    if (plan->entries == NULL) {
        free(plan);
        return lbErr(err, LB_ERR_MEMORY, "out of memory"), NULL;
    }
    for (size_t i = 0; i < cfg->componentCount; i++)
        if (!addEntry(plan, cfg->components[i].name, cfg->components[i].name, &cfg->components[i].run, err))
            goto fail;
    for (size_t i = 0; i < cfg->jobCount; i++)
        if (!addEntry(plan, cfg->jobs[i].name, NULL, &cfg->jobs[i].run, err))
            goto fail;
    return plan;
fail:
    schedPlanFree(plan);
    return NULL;
}

void schedPlanFree(SchedPlan *plan) {
    if (plan == NULL)
        return;
    for (size_t i = 0; i < plan->count; i++) {
        SchedEntry *e = &plan->entries[i];
        free(e->name);
        free(e->component);
        free(e->schedule);
        free(e->timezone);
        cronFree(e->cron);
    }
    free(plan->entries);
    free(plan);
}

size_t schedPlanCount(const SchedPlan *plan) {
    return plan->count;
}

const SchedEntry *schedPlanEntry(const SchedPlan *plan, size_t i) {
    return &plan->entries[i];
}

long schedPlanFind(const SchedPlan *plan, const char *name) {
    for (size_t i = 0; i < plan->count; i++)
        if (strcmp(plan->entries[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* The newest slot s with from < s <= now; -1 when none. A long gap is not
 * walked slot by slot from its start: the search starts from the smallest
 * window before now that holds a slot. */
static int64_t newestSlot(const CronSchedule *cron, int64_t from, int64_t now) {
    static const int64_t windows[] = {3600, 86400, 32 * 86400, 367 * 86400, 8 * 367 * 86400};
    int64_t cursor = from, s;
    if (now - from > 2 * 86400) {
        for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
            if (now - windows[i] <= from)
                break;
            if (cronNext(cron, now - windows[i], &s) && s <= now) {
                cursor = now - windows[i];
                break;
            }
        }
    }
    int64_t last = -1;
    while (cronNext(cron, cursor, &s) && s <= now) {
        last = s;
        cursor = s;
    }
    return last;
}

static int64_t nextAfter(const CronSchedule *cron, int64_t t) {
    int64_t s;
    return cronNext(cron, t, &s) ? s : SCHED_NEVER;
}

void schedPlanStart(SchedPlan *plan, size_t i, int64_t now, bool haveLast, int64_t lastSlot) {
    SchedEntry *e = &plan->entries[i];
    e->catchUp = false;
    if (haveLast && e->policy.catchUp && lastSlot < now) {
        int64_t missed = newestSlot(e->cron, lastSlot, now);
        if (missed >= 0) {
            e->next = missed;
            e->catchUp = true;
            return;
        }
    }
    /* a slot at exactly now still fires */
    e->next = nextAfter(e->cron, now - 1);
}

void schedPlanAdopt(SchedPlan *plan, const SchedPlan *old, bool *adopted) {
    for (size_t i = 0; i < plan->count; i++) {
        SchedEntry *e = &plan->entries[i];
        long j = schedPlanFind(old, e->name);
        adopted[i] = false;
        if (j < 0)
            continue;
        const SchedEntry *o = &old->entries[j];
        if (strcmp(o->schedule, e->schedule) == 0 && strcmp(o->timezone, e->timezone) == 0) {
            e->next = o->next;
            e->catchUp = o->catchUp;
            adopted[i] = true;
        }
    }
}

size_t schedPlanDue(SchedPlan *plan, int64_t now, SchedFire *out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < plan->count && n < max; i++) {
        SchedEntry *e = &plan->entries[i];
        if (e->next == SCHED_NEVER || e->next > now)
            continue;
        int64_t slot = e->next;
        bool collapsed = false;
        int64_t newer = newestSlot(e->cron, slot, now);
        if (newer >= 0) {
            slot = newer;
            collapsed = true;
        }
        SchedFire *f = &out[n++];
        f->entry = i;
        f->slot = slot;
        f->trigger = (e->catchUp || collapsed) ? schedTriggerCatchUp : schedTriggerSchedule;
        f->missed = e->policy.startingDeadline > 0 && now - slot > e->policy.startingDeadline;
        e->catchUp = false;
        e->next = nextAfter(e->cron, now);
    }
    return n;
}

int64_t schedPlanNextWake(const SchedPlan *plan) {
    int64_t wake = SCHED_NEVER;
    for (size_t i = 0; i < plan->count; i++)
        if (plan->entries[i].next < wake)
            wake = plan->entries[i].next;
    return wake;
}

int64_t schedBackoff(const CfgRunPolicy *policy, int attempt, uint32_t random) {
    int64_t d = policy->backoff > 0 ? policy->backoff : 1;
    for (int i = 1; i < attempt && d < policy->backoffMax; i++)
        d *= 2;
    if (policy->backoffMax > 0 && d > policy->backoffMax)
        d = policy->backoffMax;
    int64_t jitter = d / 5;
    if (jitter > 0)
        d -= (int64_t)(random % (uint64_t)(jitter + 1));
    return d > 0 ? d : 1;
}
