/* alert_sched.c - alerts in the scheduler loop (see alert_sched.h). */
#include "monitor/alert_sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/timeutil.h"
#include "monitor/facts.h"
#include "monitor/notify.h"

#define ALERT_CHECK_MS 60000
#define ALERT_FACT_MAX 256

struct AlertSched {
    SchedHooks hooks;
    const CfgFile *cfg; /* borrowed from the loop */
    bool clock;
    int64_t nextCheckMs;
    int64_t scansSeenNs; /* the newest scan file's time at the last check */
    int64_t startedMs;   /* the first configuration loaded: since when it watches */
};

static void alertSchedLog(const char *what, const LbError *err) {
    fprintf(stderr, "lifeboat: alerts: %s: %s\n", what, err->msg);
}

/* "2h 5m", "40s" */
static void alertSpan(double seconds, char *out, size_t n) {
    int64_t s = (int64_t)seconds;
    if (s >= 86400)
        snprintf(out, n, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(out, n, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s >= 60)
        snprintf(out, n, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(out, n, "%llds", (long long)s);
}

/* The stale condition of base's subject (its runs r, expected every
 * interval seconds; never run: counted from sinceMs, when the observer
 * started, 0 when unknown) into *out, its text in buf (512); false when it
 * has no schedule, or has never run and sinceMs is 0. */
static bool alertStaleCondition(AlertCondition base, const MonRuns *r, int64_t interval, int64_t nowMs, int64_t sinceMs,
                                char *buf, AlertCondition *out) {
    char a[32], b[32];
    int64_t from = r->lastRunMs > 0 ? r->lastRunMs : sinceMs;
    if (interval <= 0 || from <= 0)
        return false;
    double age = (double)(nowMs - from) / 1000.0;
    base.kind = alertStale;
    base.active = !r->running && age > 2.0 * (double)interval;
    alertSpan(age, a, sizeof(a));
    alertSpan((double)interval, b, sizeof(b));
    if (base.active && r->lastRunMs > 0)
        snprintf(buf, 512, "%s has not run for %s (expected every %s)", base.subject, a, b);
    else if (base.active)
        snprintf(buf, 512, "%s has never run in the %s the daemon has watched it (expected every %s)", base.subject, a,
                 b);
    else
        snprintf(buf, 512, "%s runs again (expected every %s)", base.subject, b);
    base.summary = buf;
    base.error = base.active ? buf : NULL;
    *out = base;
    return true;
}

size_t alertConditionsOfFacts(const MonFacts *facts, int64_t sinceMs, AlertCondition *out, char (*bufs)[512],
                              size_t max) {
    size_t n = 0;
    char a[32], b[32];
    for (size_t i = 0; i < facts->componentCount && n + 3 <= max; i++) {
        const MonComponent *c = &facts->components[i];
        AlertCondition base = {
            .subject = c->name, .component = c->name, .repository = c->repository, .host = facts->host};
        if (c->rpoObjective >= 0 && c->scanned) {
            double rpo = monComponentRpoAchieved(facts, c);
            AlertCondition x = base;
            x.kind = alertRpo;
            x.active = rpo < 0 || rpo > (double)c->rpoObjective;
            alertSpan((double)c->rpoObjective, b, sizeof(b));
            if (rpo < 0) {
                snprintf(bufs[n], 512, "%s has no restorable point (RPO objective %s)", c->name, b);
            } else {
                alertSpan(rpo, a, sizeof(a));
                snprintf(bufs[n], 512, "%s: achieved RPO %s %s its objective %s", c->name, a,
                         x.active ? "is over" : "is within", b);
            }
            x.summary = x.error = bufs[n];
            if (!x.active)
                x.error = NULL;
            out[n++] = x;
        }
        /* a component run only by jobs: the job's own stale alert covers it */
        if (c->schedule &&
            alertStaleCondition(base, &c->runs, c->expectedIntervalSeconds, facts->nowMs, sinceMs, bufs[n], &out[n]))
            n++;
        if (c->drilled) {
            AlertCondition d = base;
            d.kind = alertDrill;
            bool slow = c->rtoObjective >= 0 && c->lastDrillRtoSeconds > (double)c->rtoObjective;
            d.active = !c->lastDrillPassed || slow;
            alertSpan(c->lastDrillRtoSeconds, a, sizeof(a));
            alertSpan((double)(c->rtoObjective > 0 ? c->rtoObjective : 0), b, sizeof(b));
            if (!c->lastDrillPassed)
                snprintf(bufs[n], 512, "the last drill of %s failed (drill %s)", c->name,
                         c->lastDrillId ? c->lastDrillId : "?");
            else if (slow)
                snprintf(bufs[n], 512, "the last drill of %s took %s, over its RTO objective %s", c->name, a, b);
            else
                snprintf(bufs[n], 512, "the last drill of %s passed in %s", c->name, a);
            d.summary = bufs[n];
            d.error = d.active ? bufs[n] : NULL;
            out[n++] = d;
        }
    }
    for (size_t i = 0; i < facts->jobCount && n < max; i++) {
        const MonJob *j = &facts->jobs[i];
        AlertCondition base = {.subject = j->name, .job = j->name, .repository = j->repository, .host = facts->host};
        if (alertStaleCondition(base, &j->runs, j->expectedIntervalSeconds, facts->nowMs, sinceMs, bufs[n], &out[n]))
            n++;
    }
    for (size_t i = 0; i < facts->repositoryCount && n < max; i++) {
        const MonRepository *r = &facts->repositories[i];
        if (r->scan.scannedAtMs <= 0)
            continue;
        AlertCondition x = {.kind = alertRepository,
                            .subject = r->name,
                            .repository = r->name,
                            .host = facts->host,
                            .active = !r->scan.ok};
        snprintf(bufs[n], 512, x.active ? "repository %s cannot be opened" : "repository %s opens again", r->name);
        x.summary = bufs[n];
        x.error = x.active ? (r->scan.error ? r->scan.error : "unable to open the repository") : NULL;
        out[n++] = x;
    }
    return n;
}

/* The daemon's own clock: the facts now, from the history and the last
 * scans the daemon saved. */
static void alertSchedCheck(AlertSched *a, int64_t nowMs) {
    const CfgFile *cfg = a->cfg;
    LbError err = {0};
    Hist *hist = histOpen(cfg->stateDir, &err);
    if (hist == NULL) {
        alertSchedLog("unable to check the facts", &err);
        return;
    }
    MonScan *scans = lbXcalloc(cfg->repositoryCount + 1, sizeof(MonScan));
    size_t scanCount = 0;
    for (size_t i = 0; i < cfg->repositoryCount; i++) {
        bool found = false;
        LbError e = {0};
        if (monScanLoad(cfg->stateDir, cfg->repositories[i].name, &scans[scanCount], &found, &e) && found)
            scanCount++;
        else if (!found && e.msg[0])
            alertSchedLog("unable to read a repository scan", &e);
    }
    MonFacts *facts = monFactsCollect(cfg, hist, scans, scanCount, nowMs, &err);
    if (facts == NULL) {
        alertSchedLog("unable to collect the facts", &err);
    } else {
        AlertCondition *conds = lbXcalloc(ALERT_FACT_MAX, sizeof(AlertCondition));
        char(*bufs)[512] = lbXcalloc(ALERT_FACT_MAX, 512);
        size_t n = alertConditionsOfFacts(facts, a->startedMs, conds, bufs, ALERT_FACT_MAX);
        /* the run conditions still firing: their reminders come from here */
        AlertState st = {0};
        LbError e = {0};
        if (alertStateLoad(cfg->stateDir, &st, &e))
            n += alertConditionsOfState(&st, conds + n, ALERT_FACT_MAX - n);
        else
            alertSchedLog("unable to read the alert state", &e);
        if (!alertObserve(cfg, conds, n, nowMs, NULL, &err))
            alertSchedLog("unable to send alerts", &err);
        alertStateClear(&st);
        free(bufs);
        free(conds);
        monFactsFree(facts);
    }
    for (size_t i = 0; i < scanCount; i++)
        monScanClear(&scans[i]);
    free(scans);
    histFree(hist);
}

static void alertSchedConfigLoaded(void *ctx, const CfgFile *cfg) {
    AlertSched *a = ctx;
    a->cfg = cfg;
    if (a->startedMs == 0)
        a->startedMs = lbNowNs() / 1000000;
    notifySecretsTake(cfg); /* out of the environment before any run starts */
    a->nextCheckMs = 0;     /* check at once with the new configuration */
}

static void alertSchedRunRecorded(void *ctx, const HistRun *row) {
    AlertSched *a = ctx;
    if (a->cfg == NULL || a->cfg->notificationCount == 0)
        return;
    AlertCondition conds[4];
    char buf[1024];
    size_t n = alertConditionsOfRun(a->cfg, row, conds, buf, sizeof(buf));
    LbError err = {0};
    int64_t now = row->endedAt ? row->endedAt : lbNowNs() / 1000000;
    if (!alertObserve(a->cfg, conds, n, now, NULL, &err))
        alertSchedLog("unable to send alerts", &err);
}

static int64_t alertSchedInterval(const AlertSched *a) {
    int64_t refresh = a->cfg ? a->cfg->monitoring.refresh * 1000 : 0;
    return refresh > 0 && refresh < ALERT_CHECK_MS ? refresh : ALERT_CHECK_MS;
}

/* The newest modification time (Unix ns) of the saved scans
 * (STATE/monitor/scan-NAME.json, written by the daemon's refresh). */
static int64_t alertSchedScansNs(const CfgFile *cfg) {
    int64_t newest = 0;
    for (size_t i = 0; i < cfg->repositoryCount; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/monitor/scan-%s.json", cfg->stateDir, cfg->repositories[i].name);
        if (stat(path, &st) == 0) {
            int64_t ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
            newest = ns > newest ? ns : newest;
        }
    }
    return newest;
}

static size_t alertSchedPrepareWait(void *ctx, struct pollfd *fds, size_t max, int64_t nowMs, int64_t *wakeMs) {
    AlertSched *a = ctx;
    (void)fds;
    (void)max;
    if (!a->clock || a->cfg == NULL || a->cfg->notificationCount == 0)
        return 0;
    int64_t scans = alertSchedScansNs(a->cfg); /* a fresh scan: check its figures at once */
    if (nowMs >= a->nextCheckMs || scans > a->scansSeenNs) {
        a->scansSeenNs = scans;
        alertSchedCheck(a, nowMs);
        a->nextCheckMs = nowMs + alertSchedInterval(a);
    }
    if (a->nextCheckMs < *wakeMs)
        *wakeMs = a->nextCheckMs;
    return 0;
}

AlertSched *alertSchedNew(bool clock) {
    AlertSched *a = lbXcalloc(1, sizeof(AlertSched));
    a->clock = clock;
    a->hooks = (SchedHooks){.ctx = a,
                            .configLoaded = alertSchedConfigLoaded,
                            .runRecorded = alertSchedRunRecorded,
                            .prepareWait = alertSchedPrepareWait};
    return a;
}

void alertSchedFree(AlertSched *a) {
    free(a);
}

const SchedHooks *alertSchedHooks(AlertSched *a) {
    return &a->hooks;
}
