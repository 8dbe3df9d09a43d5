/*
 * report.c - the daily report's figures and its recommendations
 * (monitor/report.h): a pure function of the facts, the history rows, the
 * archiver's statistics and the repository size samples. The rules and their
 * thresholds are documented in docs/monitoring.md "The report".
 */
#include "monitor/report.h"
#include "monitor/report_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/timeutil.h"
#include "job/report.h"

#define MS_PER_DAY (86400LL * 1000)

static const char *const healthNames[] = {"ok", "warning", "critical"};
static const char *const recKindNames[MON_REC_KIND_COUNT] = {
    [monRecNeverBackedUp] = "never-backed-up",
    [monRecStale] = "stale-backup",
    [monRecRpoBreached] = "rpo-breached",
    [monRecFailing] = "failing-job",
    [monRecArchiveFailing] = "archive-failing",
    [monRecArchiveFailed] = "archive-failed",
    [monRecRpoTighter] = "rpo-tighter-than-schedule",
    [monRecNoDrill] = "no-drill",
    [monRecDrillFailed] = "drill-failed",
    [monRecDrillRto] = "drill-rto",
    [monRecNoRetention] = "no-retention-job",
    [monRecRetentionLate] = "retention-late",
    [monRecGrowth] = "repository-growth",
    [monRecCopyBehind] = "copy-behind",
    [monRecLockHeld] = "lock-held",
    [monRecRepoUnreadable] = "repository-unreadable",
};

const char *monHealthName(MonHealth health) {
    return health <= monHealthCritical ? healthNames[health] : "?";
}

const char *monRecKindName(MonRecKind kind) {
    return kind < MON_REC_KIND_COUNT ? recKindNames[kind] : "?";
}

bool monReportFormatParse(const char *name, MonReportFormat *out) {
    static const char *const names[] = {"text", "json", "html", "markdown"};
    for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (MonReportFormat)i;
            return true;
        }
    return false;
}

void monFormatSpan(double seconds, char *out, size_t n) {
    int64_t s = seconds < 0 ? 0 : (int64_t)(seconds + 0.5);
    if (s >= 2 * 86400 && s % 86400 == 0)
        snprintf(out, n, "%lld d", (long long)(s / 86400));
    else if (s > 0 && s % 3600 == 0 && s < 48 * 3600)
        snprintf(out, n, "%lld h", (long long)(s / 3600));
    else if (s > 0 && s % 60 == 0 && s < 120 * 60)
        snprintf(out, n, "%lld min", (long long)(s / 60));
    else if (s < 120)
        snprintf(out, n, "%lld s", (long long)s);
    else if (s < 120 * 60)
        snprintf(out, n, "%lld min", (long long)(s / 60));
    else if (s < 48 * 3600 && s % 3600 / 60 == 0)
        snprintf(out, n, "%lld h", (long long)(s / 3600));
    else if (s < 48 * 3600)
        snprintf(out, n, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s % 86400 / 3600 == 0)
        snprintf(out, n, "%lld d", (long long)(s / 86400));
    else
        snprintf(out, n, "%lld d %lld h", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

/* ---- the configuration's view: which jobs cover a component ---- */

static bool listed(const char *const *names, size_t count, const char *name) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

static const char *repoName(const CfgFile *cfg, const char *name) {
    const CfgFileRepository *r = cfgFileRepository(cfg, name);
    return r ? r->name : name;
}

static bool sameRepo(const CfgFile *cfg, const char *a, const char *b) {
    const char *ra = repoName(cfg, a), *rb = repoName(cfg, b);
    return ra && rb && strcmp(ra, rb) == 0;
}

/* does job (of type backup, forget, prune or drill) cover component c? */
static bool jobCovers(const CfgFile *cfg, const CfgJob *job, const CfgComponent *c) {
    if (job->componentCount > 0)
        return listed(job->components, job->componentCount, c->name);
    if (job->type == cfgJobForget || job->type == cfgJobPrune)
        return sameRepo(cfg, job->repository, c->repository);
    return job->type == cfgJobDrill;
}

static const MonJob *factsJob(const MonFacts *f, const char *name) {
    for (size_t i = 0; name && i < f->jobCount; i++)
        if (strcmp(f->jobs[i].name, name) == 0)
            return &f->jobs[i];
    return NULL;
}

/* The job whose history tells about c's backups: its own schedule, else the
 * first backup job listing it (a scheduled one first). */
static const char *runJobOf(const CfgFile *cfg, const CfgComponent *cc, const char *name) {
    if (cfg == NULL || cc == NULL || cc->run.schedule)
        return name;
    const char *found = NULL;
    for (size_t j = 0; j < cfg->jobCount; j++) {
        const CfgJob *job = &cfg->jobs[j];
        if (job->type != cfgJobBackup || !jobCovers(cfg, job, cc))
            continue;
        if (job->run.schedule)
            return job->name;
        if (found == NULL)
            found = job->name;
    }
    return found ? found : name;
}

/* does history row r tell about component name? */
static bool rowTouches(const CfgFile *cfg, const HistRun *r, const char *name, bool *shared) {
    *shared = false;
    if ((r->component && strcmp(r->component, name) == 0) || (r->job && strcmp(r->job, name) == 0))
        return true;
    const CfgJob *job = cfg && r->job ? cfgFileJob(cfg, r->job) : NULL;
    const CfgComponent *c = cfg ? cfgFileComponent(cfg, name) : NULL;
    if (job == NULL || c == NULL || job->type != cfgJobBackup || !jobCovers(cfg, job, c))
        return false;
    *shared = job->componentCount != 1;
    return true;
}

/* The repository a row's bytes were added to; NULL when none. */
static const char *rowRepository(const CfgFile *cfg, const HistRun *r) {
    if (cfg == NULL || r->job == NULL)
        return NULL;
    const CfgComponent *c = cfgFileComponent(cfg, r->component ? r->component : r->job);
    if (c)
        return repoName(cfg, c->repository);
    const CfgJob *job = cfgFileJob(cfg, r->job);
    if (job && job->type == cfgJobBackup && job->componentCount > 0 &&
        (c = cfgFileComponent(cfg, job->components[0])) != NULL)
        return repoName(cfg, c->repository);
    if (job && job->type == cfgJobCopy)
        return repoName(cfg, job->to);
    return NULL;
}

/* ---- recommendations ---- */

typedef struct Builder {
    const MonFacts *f;
    const MonReportInputs *in;
    MonReport *r;
    size_t recCap;
} Builder;

static void recAdd(Builder *b, MonRecKind kind, MonHealth severity, const char *component, const char *job,
                   const char *repository, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void recAdd(Builder *b, MonRecKind kind, MonHealth severity, const char *component, const char *job,
                   const char *repository, const char *fmt, ...) {
    MonReport *r = b->r;
    if (r->recCount == b->recCap) {
        b->recCap = b->recCap ? b->recCap * 2 : 8;
        r->recs = lbXrealloc(r->recs, b->recCap * sizeof(*r->recs));
    }
    MonRecommendation *rec = &r->recs[r->recCount++];
    va_list ap;
    va_start(ap, fmt);
    *rec = (MonRecommendation){.kind = kind,
                               .severity = severity,
                               .component = component ? lbXstrdup(component) : NULL,
                               .job = job ? lbXstrdup(job) : NULL,
                               .repository = repository ? lbXstrdup(repository) : NULL,
                               .text = lbXvasprintf(fmt, ap)};
    va_end(ap);
}

static double ageSeconds(const MonFacts *f, int64_t atMs) {
    return (double)(f->nowMs - atMs) / 1000.0;
}

/* a run's error, shortened for one line */
static void shortError(const char *error, char *out, size_t n) {
    snprintf(out, n, "%s", error ? error : "no error recorded");
    size_t len = strlen(out);
    if (len + 1 == n && n > 4)
        memcpy(out + n - 4, "...", 4);
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
}

static void ruleFailing(Builder *b, const char *name, const MonRuns *runs, const char *repository) {
    if (runs->failuresInRow == 0 || (runs->lastOutcome != histFailed && runs->lastOutcome != histTimedOut))
        return;
    char ago[32], error[200];
    monFormatSpan(ageSeconds(b->f, runs->lastFailureMs ? runs->lastFailureMs : runs->lastRunMs), ago, sizeof(ago));
    shortError(runs->lastError, error, sizeof(error));
    MonHealth sev = runs->failuresInRow >= 3 || runs->lastSuccessMs == 0 ? monHealthCritical : monHealthWarning;
    if (runs->failuresInRow == 1)
        recAdd(b, monRecFailing, sev, NULL, name, repository,
               "%s: the last run failed %s ago: %s: fix the cause, then lifeboat run %s (lifeboat history --job %s)",
               name, ago, error, name, name);
    else
        recAdd(b, monRecFailing, sev, NULL, name, repository,
               "%s: the last %u runs failed, the newest %s ago: %s: fix the cause, then lifeboat run %s (lifeboat "
               "history --job %s)",
               name, runs->failuresInRow, ago, error, name, name);
}

static bool rpoTighter(const MonComponent *c);

/* A stale backup judges by the schedule; the RPO objective makes it
 * critical, or is breached on its own (not when the objective is tighter
 * than the schedule: ruleRpoTighter says so once instead of a breach at
 * every run). */
static void ruleStale(Builder *b, const MonComponent *c, const MonReportComponent *rc, const char *job) {
    int64_t interval = c->expectedIntervalSeconds;
    if (interval <= 0)
        return;
    char every[32], ago[32], rpo[32], obj[32];
    monFormatSpan((double)interval, every, sizeof(every));
    int64_t lastGood = c->runs.lastSuccessMs;
    if (c->scanned && c->newestSnapshotNs / 1000000 > lastGood)
        lastGood = c->newestSnapshotNs / 1000000;
    bool rpoOver = c->rpoObjective >= 0 && !rpoTighter(c) && rc->rpoAchieved > (double)c->rpoObjective;
    if (lastGood == 0) {
        recAdd(b, monRecNeverBackedUp, monHealthCritical, c->name, job, NULL,
               "%s: no successful backup on record, its schedule expects one every %s: run it (lifeboat run %s) and "
               "check its errors (lifeboat history --job %s)",
               c->name, every, job, job);
        return;
    }
    double age = ageSeconds(b->f, lastGood);
    if (age > MON_STALE_FACTOR * (double)interval) {
        MonHealth sev =
            age > MON_STALE_CRITICAL_FACTOR * (double)interval || rpoOver ? monHealthCritical : monHealthWarning;
        monFormatSpan(age, ago, sizeof(ago));
        if (rpoOver) {
            monFormatSpan(rc->rpoAchieved, rpo, sizeof(rpo));
            monFormatSpan((double)c->rpoObjective, obj, sizeof(obj));
            recAdd(b, monRecStale, sev, c->name, job, NULL,
                   "%s: last successful backup %s ago, its schedule expects one every %s (achieved RPO %s, objective "
                   "%s): check the job's errors (lifeboat history --job %s)",
                   c->name, ago, every, rpo, obj, job);
        } else {
            recAdd(b, monRecStale, sev, c->name, job, NULL,
                   "%s: last successful backup %s ago, its schedule expects one every %s: check the job's errors "
                   "(lifeboat history --job %s)",
                   c->name, ago, every, job);
        }
        return;
    }
    if (rpoOver) {
        monFormatSpan(rc->rpoAchieved, rpo, sizeof(rpo));
        monFormatSpan((double)c->rpoObjective, obj, sizeof(obj));
        recAdd(b, monRecRpoBreached, monHealthCritical, c->name, job, NULL,
               "%s: achieved RPO %s, over its objective of %s: back it up now (lifeboat run %s)", c->name, rpo, obj,
               job);
    }
}

/* the objective asks for less than the schedule can give (WAL archiving
 * gives a physical database its RPO between base backups) */
static bool rpoTighter(const MonComponent *c) {
    bool wal = c->type == monTypePhysical || c->restorableFromWal || c->walNewestNs > 0;
    return c->rpoObjective >= 0 && c->expectedIntervalSeconds > c->rpoObjective && !wal;
}

static void ruleRpoTighter(Builder *b, const MonComponent *c, const char *job) {
    if (!rpoTighter(c))
        return;
    char obj[32], every[32];
    monFormatSpan((double)c->rpoObjective, obj, sizeof(obj));
    monFormatSpan((double)c->expectedIntervalSeconds, every, sizeof(every));
    if (c->rpoObjective == 0)
        recAdd(b, monRecRpoTighter, monHealthWarning, c->name, job, NULL,
               "%s: its RPO objective is 0 s but its schedule runs every %s: up to %s of changes can be lost between "
               "runs: only continuous WAL archiving (a postgres-physical component with archive_command) approaches "
               "an RPO of 0",
               c->name, every, every);
    else
        recAdd(b, monRecRpoTighter, monHealthWarning, c->name, job, NULL,
               "%s: its RPO objective is %s but its schedule runs every %s: up to %s of changes can be lost between "
               "runs: schedule %s at least every %s%s",
               c->name, obj, every, every, job, obj, c->type == monTypeLogical ? ", or archive its WAL" : "");
}

static void ruleArchiver(Builder *b, const MonReportComponent *rc, const MonReportArchiver *a) {
    const ArchcheckReport *ar = a->report;
    if (ar->failedCount == 0 || ar->lastFailedNs == 0)
        return;
    int64_t nowNs = b->f->nowMs * 1000000;
    char failedAgo[32], archivedAgo[80] = "nothing archived yet";
    monFormatSpan((double)(nowNs - ar->lastFailedNs) / 1e9, failedAgo, sizeof(failedAgo));
    if (ar->lastArchivedNs) {
        char ago[32];
        monFormatSpan((double)(nowNs - ar->lastArchivedNs) / 1e9, ago, sizeof(ago));
        snprintf(archivedAgo, sizeof(archivedAgo), "the last segment archived %s ago", ago);
    }
    const char *failures = ar->failedCount == 1 ? "failure" : "failures";
    const char *seg = ar->lastFailedWal && ar->lastFailedWal[0] ? ar->lastFailedWal : "?";
    if (ar->lastFailedNs > ar->lastArchivedNs) {
        recAdd(b, monRecArchiveFailing, monHealthCritical, rc->name, NULL, NULL,
               "%s: archive_command is failing: %llu %s in pg_stat_archiver, the last %s ago (segment %s), %s: WAL "
               "piles up in pg_wal until it succeeds: read the server log and run lifeboat pg-check",
               rc->name, (unsigned long long)ar->failedCount, failures, failedAgo, seg, archivedAgo);
    } else if (ar->lastFailedNs >= b->r->sinceMs * 1000000) {
        recAdd(b, monRecArchiveFailed, monHealthWarning, rc->name, NULL, NULL,
               "%s: archive_command failed in the period (%llu %s in pg_stat_archiver, the last %s ago, segment %s) "
               "and has archived since (%s): read the server log for the cause",
               rc->name, (unsigned long long)ar->failedCount, failures, failedAgo, seg, archivedAgo);
    }
}

static void ruleDrill(Builder *b, const MonComponent *c, const CfgComponent *cc) {
    const CfgFile *cfg = b->in->cfg;
    const CfgJob *drillJob = NULL;
    int64_t interval = 0;
    for (size_t j = 0; cfg && cc && j < cfg->jobCount; j++) {
        const CfgJob *job = &cfg->jobs[j];
        if (job->type != cfgJobDrill || !jobCovers(cfg, job, cc))
            continue;
        const MonJob *mj = factsJob(b->f, job->name);
        int64_t iv = mj ? mj->expectedIntervalSeconds : 0;
        if (drillJob == NULL || (iv > 0 && (interval == 0 || iv < interval))) {
            drillJob = job;
            interval = iv;
        }
    }
    char ago[32], every[32], rto[32], obj[32], when[40];
    if (c->drilled)
        monFormatSpan(ageSeconds(b->f, c->lastDrillMs), ago, sizeof(ago));
    if (drillJob && interval > 0) {
        monFormatSpan((double)interval, every, sizeof(every));
        if (!c->drilled)
            recAdd(b, monRecNoDrill, monHealthWarning, c->name, drillJob->name, NULL,
                   "%s: never drilled, its drill job %s expects a drill every %s: run one (lifeboat run %s)", c->name,
                   drillJob->name, every, drillJob->name);
        else if (ageSeconds(b->f, c->lastDrillMs) > MON_DRILL_GRACE_FACTOR * (double)interval)
            recAdd(b, monRecNoDrill, monHealthWarning, c->name, drillJob->name, NULL,
                   "%s: last drill %s ago, its drill job %s expects one every %s: check its runs (lifeboat history "
                   "--job %s)",
                   c->name, ago, drillJob->name, every, drillJob->name);
    } else if (cfg && drillJob == NULL && c->rtoObjective >= 0) {
        monFormatSpan((double)c->rtoObjective, obj, sizeof(obj));
        if (c->drilled)
            recAdd(b, monRecNoDrill, monHealthWarning, c->name, NULL, NULL,
                   "%s: an RTO objective of %s but no scheduled drill job covers it (last drill %s ago): add it to a "
                   "drill job",
                   c->name, obj, ago);
        else
            recAdd(b, monRecNoDrill, monHealthWarning, c->name, NULL, NULL,
                   "%s: an RTO objective of %s but never drilled and no drill job covers it: add it to a drill job "
                   "(lifeboat drill %s proves the objective)",
                   c->name, obj, c->name);
    }
    if (!c->drilled)
        return;
    monFormatWhenNs(c->lastDrillMs * 1000000, when, sizeof(when));
    if (!c->lastDrillPassed) {
        recAdd(b, monRecDrillFailed, monHealthCritical, c->name, drillJob ? drillJob->name : NULL, NULL,
               "%s: the last drill (%s, %s ago) failed: read its report (lifeboat history --drills) and fix the "
               "restore before it is needed",
               c->name, when, ago);
        return;
    }
    if (c->rtoObjective <= 0)
        return;
    double ratio = c->lastDrillRtoSeconds / (double)c->rtoObjective;
    if (ratio <= MON_RTO_NEAR)
        return;
    monFormatSpan(c->lastDrillRtoSeconds, rto, sizeof(rto));
    monFormatSpan((double)c->rtoObjective, obj, sizeof(obj));
    if (ratio > 1.0)
        recAdd(b, monRecDrillRto, monHealthCritical, c->name, drillJob ? drillJob->name : NULL, NULL,
               "%s: the last drill (%s) recovered it in %s, over its RTO objective of %s (%.0f%%): make the "
               "restore faster (a nearer repository, a newer base backup, fewer WAL segments to replay) or revisit "
               "the objective",
               c->name, when, rto, obj, ratio * 100.0);
    else
        recAdd(b, monRecDrillRto, monHealthWarning, c->name, drillJob ? drillJob->name : NULL, NULL,
               "%s: the last drill (%s) recovered it in %s, %.0f%% of its RTO objective of %s: the margin is "
               "thin as the data grows",
               c->name, when, rto, ratio * 100.0, obj);
}

static void ruleRetention(Builder *b, const MonComponent *c, const CfgComponent *cc) {
    const CfgFile *cfg = b->in->cfg;
    if (cfg == NULL || cc == NULL || cc->retentionArgs.n == 0)
        return;
    const MonJob *best = NULL;
    const char *anyJob = NULL;
    for (size_t j = 0; j < cfg->jobCount; j++) {
        const CfgJob *job = &cfg->jobs[j];
        if ((job->type != cfgJobForget && job->type != cfgJobPrune) || !jobCovers(cfg, job, cc))
            continue;
        anyJob = job->name;
        const MonJob *mj = factsJob(b->f, job->name);
        if (mj && (best == NULL || mj->runs.lastSuccessMs > best->runs.lastSuccessMs))
            best = mj;
    }
    if (anyJob == NULL) {
        recAdd(b, monRecNoRetention, monHealthWarning, c->name, NULL, c->repository,
               "%s: it has a retention policy but no forget or prune job applies it: its snapshots are never "
               "removed and the repository only grows: add a prune job for repository %s",
               c->name, c->repository ? c->repository : "(default)");
        return;
    }
    const char *name = best ? best->name : anyJob;
    int64_t interval = best ? best->expectedIntervalSeconds : 0;
    char every[32], ago[32];
    monFormatSpan((double)interval, every, sizeof(every));
    if (best == NULL || best->runs.lastSuccessMs == 0) {
        recAdd(b, monRecRetentionLate, monHealthWarning, c->name, name, NULL,
               "%s: its retention has never been applied: job %s has no successful run%s%s: check it (lifeboat "
               "history --job %s)",
               c->name, name, interval > 0 ? ", it runs every " : "", interval > 0 ? every : "", name);
        return;
    }
    double age = ageSeconds(b->f, best->runs.lastSuccessMs);
    if (interval > 0 && age > MON_STALE_FACTOR * (double)interval) {
        monFormatSpan(age, ago, sizeof(ago));
        recAdd(b, monRecRetentionLate, monHealthWarning, c->name, name, NULL,
               "%s: retention last applied %s ago by job %s, which runs every %s: check it (lifeboat history --job "
               "%s)",
               c->name, ago, name, every, name);
    }
}

static void ruleCopy(Builder *b, const MonComponent *c, const CfgComponent *cc) {
    if (c->copyRepository == NULL || !c->copyScanned || !c->scanned || c->newestSnapshotNs == 0)
        return;
    const CfgFile *cfg = b->in->cfg;
    const char *jobName = NULL;
    int64_t interval = c->expectedIntervalSeconds;
    for (size_t j = 0; cfg && cc && j < cfg->jobCount; j++) {
        const CfgJob *job = &cfg->jobs[j];
        if (job->type == cfgJobBackup && job->copyTo && jobCovers(cfg, job, cc)) {
            jobName = job->name;
            const MonJob *mj = factsJob(b->f, job->name);
            if (mj && mj->expectedIntervalSeconds > 0)
                interval = mj->expectedIntervalSeconds;
            break;
        }
    }
    const char *hist = jobName ? jobName : c->name;
    if (c->copyNewestNs == 0) {
        recAdd(b, monRecCopyBehind, monHealthWarning, c->name, jobName, NULL,
               "%s: nothing copied to repository %s yet: the second copy does not exist (lifeboat history --job %s)",
               c->name, c->copyRepository, hist);
        return;
    }
    double lag = (double)(c->newestSnapshotNs - c->copyNewestNs) / 1e9;
    if (interval <= 0 || lag <= (double)interval)
        return;
    char behind[32], every[32];
    monFormatSpan(lag, behind, sizeof(behind));
    monFormatSpan((double)interval, every, sizeof(every));
    recAdd(b, monRecCopyBehind, monHealthWarning, c->name, jobName, NULL,
           "%s: the newest copy in repository %s is %s older than the newest snapshot, more than the job's interval "
           "of %s: check the copies (lifeboat history --job %s)",
           c->name, c->copyRepository, behind, every, hist);
}

static void ruleRepository(Builder *b, const MonRepository *repo, const MonReportRepository *rr) {
    const MonScan *s = &repo->scan;
    if (s->scannedAtMs == 0)
        return;
    if (!s->ok) {
        char when[40];
        monFormatWhenNs(s->scannedAtMs * 1000000, when, sizeof(when));
        recAdd(b, monRecRepoUnreadable, monHealthCritical, NULL, NULL, repo->name,
               "%s: the repository cannot be opened (scanned %s): %s: check its location, credentials and "
               "password (lifeboat snapshots --config FILE)",
               repo->name, when, s->error ? s->error : "unknown error");
        return;
    }
    if (s->oldestLockNs > 0) {
        double age = (double)(b->f->nowMs * 1000000 - s->oldestLockNs) / 1e9;
        if (age > MON_LOCK_HOURS * 3600.0) {
            char held[32];
            monFormatSpan(age, held, sizeof(held));
            recAdd(b, monRecLockHeld, monHealthWarning, NULL, NULL, repo->name,
                   "%s: a lock has been held for %s: a stuck or crashed run blocks prune; if no lifeboat process "
                   "works on it, remove stale locks (lifeboat unlock)",
                   repo->name, held);
        }
    }
    if (rr->growthKnown && rr->growthBytes > 0) {
        double added = rr->addedBytes > 0 ? (double)rr->addedBytes : 0.0;
        if ((double)rr->growthBytes > MON_GROWTH_FACTOR * added + (double)MON_GROWTH_SLACK) {
            char grew[32], add[32], period[32];
            jobFormatBytes((double)rr->growthBytes, grew, sizeof(grew));
            jobFormatBytes(added, add, sizeof(add));
            monFormatSpan((double)(b->f->nowMs - b->r->sinceMs) / 1000.0, period, sizeof(period));
            recAdd(b, monRecGrowth, monHealthWarning, NULL, NULL, repo->name,
                   "%s: the repository grew %s in the last %s while the backups added %s: data no snapshot needs is "
                   "kept (interrupted runs leave packs; forget alone frees nothing): run lifeboat prune and check the "
                   "retention jobs",
                   repo->name, grew, period, add);
        }
    }
}

/* ---- figures ---- */

static void seriesAdd(MonSeries *s, size_t *cap, int64_t atMs, double value) {
    if (s->count == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        s->atMs = lbXrealloc(s->atMs, *cap * sizeof(*s->atMs));
        s->value = lbXrealloc(s->value, *cap * sizeof(*s->value));
    }
    s->atMs[s->count] = atMs;
    s->value[s->count++] = value;
}

static void periodFigures(Builder *b, MonReportComponent *rc) {
    const HistRows *rows = b->in->periodRows;
    rc->bytesAdded = -1;
    for (size_t i = 0; rows && i < rows->count; i++) {
        const HistRun *r = &rows->rows[i];
        bool shared;
        if (r->outcome == histRunning || !rowTouches(b->in->cfg, r, rc->name, &shared))
            continue;
        rc->runs++;
        if (r->outcome == histSucceeded)
            rc->successes++;
        else if (r->outcome == histFailed || r->outcome == histTimedOut)
            rc->failures++;
        else if (r->outcome == histSkipped || r->outcome == histMissed)
            rc->notStarted++;
        if (r->bytesAdded >= 0 && !shared)
            rc->bytesAdded = (rc->bytesAdded < 0 ? 0 : rc->bytesAdded) + r->bytesAdded;
    }
}

static void chartFigures(Builder *b, MonReportComponent *rc) {
    const HistRows *rows = b->in->chartRows;
    size_t capD = 0, capA = 0, capR = 0;
    int64_t nowMs = b->f->nowMs;
    int64_t start = nowMs - MON_REPORT_CHART_DAYS * MS_PER_DAY;
    int64_t *okEnds = lbXcalloc(rows ? rows->count + 1 : 1, sizeof(*okEnds));
    size_t okCount = 0;
    for (size_t i = 0; rows && i < rows->count; i++) {
        const HistRun *r = &rows->rows[i];
        bool shared;
        if (!rowTouches(b->in->cfg, r, rc->name, &shared))
            continue;
        if (r->outcome == histSucceeded && r->endedAt > 0)
            okEnds[okCount++] = r->endedAt;
        if (r->startedAt < start || r->startedAt == 0 || r->endedAt == 0 || r->startedAt > nowMs)
            continue;
        seriesAdd(&rc->duration, &capD, r->startedAt, (double)(r->endedAt - r->startedAt) / 1000.0);
        if (r->bytesAdded >= 0)
            seriesAdd(&rc->added, &capA, r->startedAt, (double)r->bytesAdded);
    }
    /* the achieved RPO at each day's end: the time since the newest success
     * that had ended by then */
    for (int d = MON_REPORT_CHART_DAYS - 1; d >= 0; d--) {
        int64_t dayEnd = nowMs - (int64_t)d * MS_PER_DAY, lastOk = 0;
        for (size_t k = 0; k < okCount; k++)
            if (okEnds[k] <= dayEnd && okEnds[k] > lastOk)
                lastOk = okEnds[k];
        if (lastOk > 0)
            seriesAdd(&rc->rpo, &capR, dayEnd, (double)(dayEnd - lastOk) / 1000.0);
    }
    free(okEnds);
}

static void componentFigures(Builder *b, const MonComponent *c, MonReportComponent *rc) {
    rc->name = lbXstrdup(c->name);
    rc->type = c->type;
    rc->repository = c->repository ? lbXstrdup(c->repository) : NULL;
    rc->lastSuccessMs = c->runs.lastSuccessMs;
    rc->expectedIntervalSeconds = c->expectedIntervalSeconds;
    rc->rpoObjective = c->rpoObjective;
    rc->rtoObjective = c->rtoObjective;
    rc->scanned = c->scanned;
    rc->snapshots = c->snapshots;
    rc->newestRestorableNs = c->newestRestorableNs;
    rc->restorableFromWal = c->restorableFromWal;
    rc->rpoAchieved =
        c->scanned && c->newestRestorableNs > 0 ? (double)(b->f->nowMs * 1000000 - c->newestRestorableNs) / 1e9 : -1.0;
    if (rc->rpoAchieved < -0.0 && c->newestRestorableNs > 0 && c->scanned)
        rc->rpoAchieved = 0; /* a clock a little ahead */
    rc->drilled = c->drilled;
    rc->lastDrillMs = c->lastDrillMs;
    rc->lastDrillPassed = c->lastDrillPassed;
    rc->lastDrillRtoSeconds = c->lastDrillRtoSeconds;
    rc->physical = c->type == monTypePhysical;
    rc->walNewestNs = c->walNewestNs;
    memcpy(rc->walLastSegment, c->walLastSegment, sizeof(rc->walLastSegment));
    rc->walLastSegment[MON_WAL_NAME_MAX - 1] = '\0';
    rc->copyRepository = c->copyRepository ? lbXstrdup(c->copyRepository) : NULL;
    rc->copyNewestNs = c->copyNewestNs;
    periodFigures(b, rc);
    chartFigures(b, rc);
}

static void repositoryFigures(Builder *b, const MonRepository *repo, MonReportRepository *rr) {
    const MonScan *s = &repo->scan;
    rr->name = lbXstrdup(repo->name);
    rr->scanned = s->scannedAtMs > 0;
    rr->ok = s->ok;
    rr->error = s->error ? lbXstrdup(s->error) : NULL;
    rr->sizeBytes = s->sizeBytes;
    rr->snapshots = s->snapshots;
    rr->oldestLockNs = s->oldestLockNs;
    /* growth: the newest size (scan or sample) minus the newest sample at or
     * before the period's start (else the oldest one inside it) */
    int64_t newestAt = rr->scanned && s->ok ? s->scannedAtMs : 0, baseAt = 0;
    uint64_t newest = s->sizeBytes, base = 0;
    bool baseBefore = false;
    for (size_t i = 0; i < b->in->sizeCount; i++) {
        const MonSizeSample *z = &b->in->sizes[i];
        if (z->repository == NULL || strcmp(z->repository, repo->name) != 0)
            continue;
        if (z->atMs > newestAt) {
            newestAt = z->atMs;
            newest = z->bytes;
        }
        bool before = z->atMs <= b->r->sinceMs;
        if (baseAt == 0 || (before && (!baseBefore || z->atMs > baseAt)) ||
            (!before && !baseBefore && z->atMs < baseAt)) {
            baseAt = z->atMs;
            base = z->bytes;
            baseBefore = before;
        }
    }
    if (newestAt > 0 && baseAt > 0 && baseAt < newestAt) {
        rr->growthKnown = true;
        rr->growthBytes = (int64_t)newest - (int64_t)base;
        if (rr->sizeBytes == 0)
            rr->sizeBytes = newest;
    }
    rr->addedBytes = -1;
    const HistRows *rows = b->in->periodRows;
    for (size_t i = 0; rows && i < rows->count; i++) {
        const HistRun *r = &rows->rows[i];
        const char *rn = rowRepository(b->in->cfg, r);
        if (r->bytesAdded >= 0 && rn && strcmp(rn, repo->name) == 0)
            rr->addedBytes = (rr->addedBytes < 0 ? 0 : rr->addedBytes) + r->bytesAdded;
    }
}

/* does rec touch component rc (for its health)? */
static bool recTouches(const Builder *b, const MonRecommendation *rec, const MonReportComponent *rc) {
    if (rec->component)
        return strcmp(rec->component, rc->name) == 0;
    const CfgFile *cfg = b->in->cfg;
    if (rec->job && cfg) {
        const CfgJob *job = cfgFileJob(cfg, rec->job);
        const CfgComponent *cc = cfgFileComponent(cfg, rc->name);
        if (job && cc && job->type == cfgJobBackup && jobCovers(cfg, job, cc))
            return true;
    }
    if (rec->job && strcmp(rec->job, rc->name) == 0)
        return true;
    return rec->repository && rc->repository && strcmp(rec->repository, rc->repository) == 0;
}

static int recCompare(const void *a, const void *b) {
    const MonRecommendation *x = a, *y = b;
    if (x->severity != y->severity)
        return x->severity > y->severity ? -1 : 1;
    return 0;
}

MonReport *monReportBuild(const MonFacts *facts, const MonReportInputs *inputs, int64_t sinceMs) {
    static const MonReportInputs none = {0};
    MonReport *r = lbXcalloc(1, sizeof(*r));
    Builder b = {.f = facts, .in = inputs ? inputs : &none, .r = r};
    r->nowMs = facts->nowMs;
    r->sinceMs = sinceMs;
    r->configName = lbXstrdup(facts->configName ? facts->configName : "");
    r->host = lbXstrdup(facts->host ? facts->host : "");
    r->components = lbXcalloc(facts->componentCount + 1, sizeof(*r->components));
    r->componentCount = facts->componentCount;
    r->repositories = lbXcalloc(facts->repositoryCount + 1, sizeof(*r->repositories));
    r->repositoryCount = facts->repositoryCount;
    for (size_t i = 0; i < facts->componentCount; i++)
        componentFigures(&b, &facts->components[i], &r->components[i]);
    for (size_t i = 0; i < facts->repositoryCount; i++)
        repositoryFigures(&b, &facts->repositories[i], &r->repositories[i]);

    /* the rules, component by component, then jobs, then repositories */
    const CfgFile *cfg = b.in->cfg;
    for (size_t i = 0; i < facts->componentCount; i++) {
        const MonComponent *c = &facts->components[i];
        MonReportComponent *rc = &r->components[i];
        const CfgComponent *cc = cfg ? cfgFileComponent(cfg, c->name) : NULL;
        const char *job = runJobOf(cfg, cc, c->name);
        if (cfg == NULL || (cc && cc->run.schedule)) /* the backup jobs listing it: below */
            ruleFailing(&b, c->name, &c->ownRuns, NULL);
        ruleStale(&b, c, rc, job);
        for (size_t a = 0; a < b.in->archiverCount; a++) {
            const MonReportArchiver *ar = &b.in->archivers[a];
            if (ar->report && ar->component && strcmp(ar->component, c->name) == 0) {
                rc->archiverKnown = true;
                rc->archiveFailed = ar->report->failedCount;
                rc->archiveLastFailedNs = ar->report->lastFailedNs;
                rc->archiveLastArchivedNs = ar->report->lastArchivedNs;
                ruleArchiver(&b, rc, ar);
            }
        }
        ruleRpoTighter(&b, c, job);
        ruleDrill(&b, c, cc);
        ruleRetention(&b, c, cc);
        ruleCopy(&b, c, cc);
    }
    for (size_t j = 0; j < facts->jobCount; j++) {
        const MonJob *mj = &facts->jobs[j];
        if (cfg && cfgFileComponent(cfg, mj->name))
            continue; /* a component's own runs: above */
        ruleFailing(&b, mj->name, &mj->runs, mj->type == monTypeBackup ? NULL : mj->repository);
    }
    for (size_t i = 0; i < facts->repositoryCount; i++)
        ruleRepository(&b, &facts->repositories[i], &r->repositories[i]);

    /* health: the worst severity; recommendations worst first, stable */
    for (size_t i = 0; i < r->recCount; i++)
        if (r->recs[i].severity > r->health)
            r->health = r->recs[i].severity;
    for (size_t c = 0; c < r->componentCount; c++)
        for (size_t i = 0; i < r->recCount; i++)
            if (r->recs[i].severity > r->components[c].health && recTouches(&b, &r->recs[i], &r->components[c]))
                r->components[c].health = r->recs[i].severity;
    for (size_t i = 1; i < r->recCount; i++) { /* insertion sort: stable, and the list is short */
        MonRecommendation x = r->recs[i];
        size_t j = i;
        for (; j > 0 && recCompare(&r->recs[j - 1], &x) > 0; j--)
            r->recs[j] = r->recs[j - 1];
        r->recs[j] = x;
    }
    return r;
}

static void seriesFree(MonSeries *s) {
    free(s->atMs);
    free(s->value);
}

void monReportFree(MonReport *r) {
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->componentCount; i++) {
        MonReportComponent *c = &r->components[i];
        free(c->name);
        free(c->repository);
        free(c->copyRepository);
        seriesFree(&c->duration);
        seriesFree(&c->added);
        seriesFree(&c->rpo);
    }
    for (size_t i = 0; i < r->repositoryCount; i++) {
        free(r->repositories[i].name);
        free(r->repositories[i].error);
    }
    for (size_t i = 0; i < r->recCount; i++) {
        free(r->recs[i].component);
        free(r->recs[i].job);
        free(r->recs[i].repository);
        free(r->recs[i].text);
    }
    free(r->components);
    free(r->repositories);
    free(r->recs);
    free(r->configName);
    free(r->host);
    free(r);
}
