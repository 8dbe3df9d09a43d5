/* test_plan.c - the scheduler core (sched/plan.h) with a controlled clock:
 * one simulated week of examples/platform.yaml fires every job at the right
 * instants and the right number of times (issue 11, Done-when 4); a
 * simulated 3-hour outage gives exactly one catch-up run per job that missed
 * a slot; starting deadlines, reloads and back-off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "config/file.h"
#include "sched/plan.h"
#include "sched/work.h"

#define EXAMPLE LB_SOURCE_ROOT "/examples/platform.yaml"
#define WEEK (7 * 86400)

static CfgFile *loadExample(void) {
    char *messages = NULL;
    LbError err = {0};
    CfgFile *cfg = cfgFileLoad(EXAMPLE, &messages, &err);
    if (cfg == NULL)
        fail_msg("%s: %s\n%s", EXAMPLE, err.msg, messages ? messages : "");
    free(messages);
    return cfg;
}

static int64_t parseTime(const char *s) {
    int64_t ns;
    assert_true(lbParseTime(s, &ns));
    return ns / 1000000000;
}

typedef struct Tally {
    int fires[64];
    int catchUps[64];
    int64_t last[64]; /* newest slot fired */
    bool bad;
} Tally;

/* Drive plan from `from` to `to` (exclusive): wake at each next instant and
 * take what is due; check that each scheduled fire comes at its slot. */
static void drive(SchedPlan *plan, int64_t from, int64_t to, Tally *t) {
    int64_t now = from;
    for (;;) {
        SchedFire fires[16];
        size_t n = schedPlanDue(plan, now, fires, 16);
        for (size_t i = 0; i < n; i++) {
            SchedFire *f = &fires[i];
            t->fires[f->entry]++;
            t->last[f->entry] = f->slot;
            if (f->trigger == schedTriggerCatchUp)
                t->catchUps[f->entry]++;
            else if (f->slot != now) {
                print_error("%s fired at %lld for slot %lld\n", schedPlanEntry(plan, f->entry)->name, (long long)now,
                            (long long)f->slot);
                t->bad = true;
            }
        }
        if (n == 16)
            continue;
        int64_t wake = schedPlanNextWake(plan);
        if (wake >= to)
            return;
        assert_true(wake > now);
        now = wake;
    }
}

static int entryOf(const SchedPlan *plan, const char *name) {
    long i = schedPlanFind(plan, name);
    if (i < 0)
        fail_msg("examples/platform.yaml has no scheduled '%s'", name);
    return (int)i;
}

/* Every slot of name in [from, to) satisfies a check on its UTC time. */
static void checkInstants(const SchedPlan *plan, const char *name, int64_t from, int64_t to, int hour, int minute,
                          int weekday) {
    const SchedEntry *e = schedPlanEntry(plan, (size_t)entryOf(plan, name));
    int64_t t = from - 1, s;
    while (cronNext(e->cron, t, &s) && s < to) {
        time_t tt = (time_t)s;
        struct tm tm;
        gmtime_r(&tt, &tm);
        if ((hour >= 0 && tm.tm_hour != hour) || (minute >= 0 && tm.tm_min != minute) || tm.tm_sec != 0 ||
            (weekday >= 0 && tm.tm_wday != weekday))
            fail_msg("%s fires at %02d:%02d:%02d wday %d", name, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_wday);
        t = s;
    }
}

static void testWeek(void **state) {
    (void)state;
    CfgFile *cfg = loadExample();
    LbError err = {0};
    SchedPlan *plan = schedPlanNew(cfg, &err);
    assert_non_null(plan);
    assert_true(schedPlanCount(plan) <= 64);
    /* Monday 2026-11-30 00:00 UTC: a week from midnight to midnight */
    int64_t t0 = parseTime("2026-11-30T00:00:00Z");
    for (size_t i = 0; i < schedPlanCount(plan); i++)
        schedPlanStart(plan, i, t0, false, 0);
    Tally t = {0};
    drive(plan, t0, t0 + WEEK, &t);
    assert_false(t.bad);
    assert_int_equal(t.fires[entryOf(plan, "database")], 672);
    assert_int_equal(t.fires[entryOf(plan, "uploads")], 168);
    assert_int_equal(t.fires[entryOf(plan, "daily-full")], 7);
    assert_int_equal(t.fires[entryOf(plan, "drill")], 1);
    assert_int_equal(t.fires[entryOf(plan, "report")], 7);
    for (size_t i = 0; i < schedPlanCount(plan); i++)
        assert_int_equal(t.catchUps[i], 0);
    /* at the right instants */
    checkInstants(plan, "daily-full", t0, t0 + WEEK, 2, 0, -1);
    checkInstants(plan, "drill", t0, t0 + WEEK, 3, 0, 0);
    checkInstants(plan, "report", t0, t0 + WEEK, 6, 0, -1);
    checkInstants(plan, "uploads", t0, t0 + WEEK, -1, 0, -1);
    const SchedEntry *db = schedPlanEntry(plan, (size_t)entryOf(plan, "database"));
    int64_t s = t0 - 1, prev = -1;
    while (cronNext(db->cron, s, &s) && s < t0 + WEEK) {
        assert_int_equal(s % 900, 0);
        if (prev >= 0)
            assert_int_equal(s - prev, 900);
        prev = s;
    }
    schedPlanFree(plan);
    cfgFileFree(cfg);
}

/* The daemon is down from Wednesday 01:30 to 04:37 (3 h 7 min): when it
 * starts again with the history's last slots, each job that missed a slot
 * runs once at once (for its newest missed slot), the others wait. */
static void testOutage(void **state) {
    (void)state;
    CfgFile *cfg = loadExample();
    LbError err = {0};
    SchedPlan *plan = schedPlanNew(cfg, &err);
    assert_non_null(plan);
    int64_t t0 = parseTime("2026-11-30T00:00:00Z");
    int64_t down = parseTime("2026-12-02T01:30:00Z"), up = parseTime("2026-12-02T04:37:00Z");
    for (size_t i = 0; i < schedPlanCount(plan); i++)
        schedPlanStart(plan, i, t0, false, 0);
    Tally before = {0};
    drive(plan, t0, down + 1, &before);
    /* restart: a new plan from the history (each entry's newest fired slot) */
    SchedPlan *again = schedPlanNew(cfg, &err);
    assert_non_null(again);
    size_t n = schedPlanCount(again);
    bool missed[64] = {false};
    for (size_t i = 0; i < n; i++) {
        const SchedEntry *e = schedPlanEntry(again, i);
        int64_t s;
        missed[i] = cronNext(e->cron, down, &s) && s <= up;
        schedPlanStart(again, i, up, before.fires[i] > 0, before.last[i]);
    }
    SchedFire fires[64];
    size_t due = schedPlanDue(again, up, fires, 64);
    int catchUps[64] = {0};
    for (size_t i = 0; i < due; i++) {
        assert_int_equal(fires[i].trigger, schedTriggerCatchUp);
        assert_true(fires[i].slot > down && fires[i].slot <= up);
        catchUps[fires[i].entry]++;
    }
    int missedJobs = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(catchUps[i], missed[i] ? 1 : 0);
        missedJobs += missed[i];
    }
    /* the database (every 15 min), uploads (hourly) and the 02:00 full */
    assert_true(missed[entryOf(again, "database")]);
    assert_true(missed[entryOf(again, "uploads")]);
    assert_true(missed[entryOf(again, "daily-full")]);
    assert_false(missed[entryOf(again, "report")]);
    assert_false(missed[entryOf(again, "drill")]);
    assert_true(missedJobs >= 3);
    /* the database's catch-up is for its newest missed slot, 04:30 */
    for (size_t i = 0; i < due; i++)
        if ((int)fires[i].entry == entryOf(again, "database"))
            assert_int_equal(fires[i].slot, parseTime("2026-12-02T04:30:00Z"));
    /* then the schedule goes on: the next database slot is 04:45 */
    assert_int_equal(schedPlanEntry(again, (size_t)entryOf(again, "database"))->next,
                     parseTime("2026-12-02T04:45:00Z"));
    /* nothing more is due at the same instant */
    assert_int_equal(schedPlanDue(again, up, fires, 64), 0);
    schedPlanFree(again);
    schedPlanFree(plan);
    cfgFileFree(cfg);
}

/* A plan built by hand: one entry with the given policy. */
static CfgFile *oneJob(const char *schedule, CfgRunPolicy policy) {
    static CfgComponent comp;
    static CfgFile file;
    memset(&comp, 0, sizeof(comp));
    memset(&file, 0, sizeof(file));
    comp.name = "job";
    policy.schedule = schedule;
    comp.run = policy;
    file.components = &comp;
    file.componentCount = 1;
    return &file;
}

static void testStartingDeadline(void **state) {
    (void)state;
    CfgRunPolicy p = {.catchUp = true, .startingDeadline = 600};
    CfgFile *file = oneJob("0 * * * *", p);
    LbError err = {0};
    SchedPlan *plan = schedPlanNew(file, &err);
    assert_non_null(plan);
    int64_t t0 = parseTime("2026-12-01T10:00:00Z");
    /* last ran at 10:00; back at 12:20: the 12:00 slot is 20 min late */
    schedPlanStart(plan, 0, t0 + 8400, true, t0);
    SchedFire f[4];
    assert_int_equal(schedPlanDue(plan, t0 + 8400, f, 4), 1);
    assert_int_equal(f[0].slot, t0 + 7200);
    assert_true(f[0].missed);
    /* back at 12:05 instead: within the deadline, it runs */
    schedPlanStart(plan, 0, t0 + 7500, true, t0);
    assert_int_equal(schedPlanDue(plan, t0 + 7500, f, 4), 1);
    assert_false(f[0].missed);
    assert_int_equal(f[0].trigger, schedTriggerCatchUp);
    /* without catch_up, the missed slots are dropped */
    schedPlanFree(plan);
    p.catchUp = false;
    file = oneJob("0 * * * *", p);
    plan = schedPlanNew(file, &err);
    schedPlanStart(plan, 0, t0 + 7500, true, t0);
    assert_int_equal(schedPlanDue(plan, t0 + 7500, f, 4), 0);
    assert_int_equal(schedPlanNextWake(plan), t0 + 10800);
    schedPlanFree(plan);
}

/* Woken late (the machine slept), several passed slots give one fire. */
static void testLateWake(void **state) {
    (void)state;
    CfgRunPolicy p = {.catchUp = true};
    SchedPlan *plan = schedPlanNew(oneJob("*/5 * * * * ?", p), &(LbError){0});
    int64_t t0 = parseTime("2026-12-01T10:00:00Z");
    schedPlanStart(plan, 0, t0, false, 0);
    SchedFire f[4];
    assert_int_equal(schedPlanDue(plan, t0, f, 4), 1); /* a slot at exactly now fires */
    assert_int_equal(schedPlanDue(plan, t0 + 3600, f, 4), 1);
    assert_int_equal(f[0].slot, t0 + 3600);
    assert_int_equal(f[0].trigger, schedTriggerCatchUp);
    assert_int_equal(schedPlanNextWake(plan), t0 + 3605);
    /* a year asleep: still one fire, found without walking every slot */
    assert_int_equal(schedPlanDue(plan, t0 + 366 * 86400 + 2, f, 4), 1);
    assert_int_equal(f[0].slot, t0 + 366 * 86400);
    schedPlanFree(plan);
}

static void testAdopt(void **state) {
    (void)state;
    CfgRunPolicy p = {.catchUp = true};
    SchedPlan *old = schedPlanNew(oneJob("0 * * * *", p), &(LbError){0});
    int64_t t0 = parseTime("2026-12-01T10:30:00Z");
    schedPlanStart(old, 0, t0, false, 0);
    SchedPlan *same = schedPlanNew(oneJob("0 * * * *", p), &(LbError){0});
    bool adopted[1];
    schedPlanAdopt(same, old, adopted);
    assert_true(adopted[0]);
    assert_int_equal(schedPlanEntry(same, 0)->next, t0 + 1800);
    SchedPlan *changed = schedPlanNew(oneJob("30 * * * *", p), &(LbError){0});
    schedPlanAdopt(changed, old, adopted);
    assert_false(adopted[0]);
    schedPlanFree(old);
    schedPlanFree(same);
    schedPlanFree(changed);
}

static void testBackoff(void **state) {
    (void)state;
    CfgRunPolicy p = {.backoff = 30, .backoffMax = 600};
    assert_int_equal(schedBackoff(&p, 1, 0), 30);
    assert_int_equal(schedBackoff(&p, 2, 0), 60);
    assert_int_equal(schedBackoff(&p, 3, 0), 120);
    assert_int_equal(schedBackoff(&p, 10, 0), 600);
    for (uint32_t r = 0; r < 1000; r += 7) {
        int64_t d = schedBackoff(&p, 2, r);
        assert_true(d >= 48 && d <= 60); /* at most 20% jitter, never more than the base */
    }
    char id[80];
    schedRunId("database", parseTime("2026-12-03T10:15:00Z"), id, sizeof(id));
    assert_string_equal(id, "database@2026-12-03T10:15:00Z");
}

/* the short IDs of history rows and log lines; the result line a run's child
 * reports survives its round trip */
static void testShortIdsAndResult(void **state) {
    (void)state;
    char out[64];
    schedShortIds("9ca1b75265793de15edb2fc8eff9a98a,402fc80c11", out, sizeof(out));
    assert_string_equal(out, "9ca1b752,402fc80c");
    schedShortIds("abc", out, sizeof(out));
    assert_string_equal(out, "abc");
    schedShortIds("", out, sizeof(out));
    assert_string_equal(out, "");
    schedShortIds("1111111111,2222222222,3333333333", out, 12);
    assert_string_equal(out, "11111111");
    SchedResult res = {.outcome = histSkipped, .exitCode = 11, .bytesAdded = 42};
    snprintf(res.snapshotIds, sizeof(res.snapshotIds), "a,b");
    snprintf(res.error, sizeof(res.error), "held by \"pid 7\"\n");
    char line[8192];
    assert_true(schedResultEncode(&res, line, sizeof(line)));
    SchedResult back;
    assert_true(schedResultDecode(line, &back));
    assert_int_equal(back.outcome, histSkipped);
    assert_int_equal(back.exitCode, 11);
    assert_int_equal(back.bytesAdded, 42);
    assert_string_equal(back.snapshotIds, "a,b");
    assert_string_equal(back.error, res.error);
    assert_false(schedResultDecode("not json", &back));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testWeek),
        cmocka_unit_test(testOutage),
        cmocka_unit_test(testStartingDeadline),
        cmocka_unit_test(testLateWake),
        cmocka_unit_test(testAdopt),
        cmocka_unit_test(testBackoff),
        cmocka_unit_test(testShortIdsAndResult),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
