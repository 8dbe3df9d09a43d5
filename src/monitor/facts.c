/*
 * facts.c - monFactsCollect: the configuration's components, jobs and
 * repositories with the figures of the history (cumulative counters and the
 * newest rows), the repositories' scans and the drills (see facts.h).
 *
 * A component's runs are its own rows (job = its name) and those of the
 * backup jobs listing it; its expected interval is the shortest of its own
 * schedule's and those jobs'. A schedule's interval is the shortest gap
 * between its next few fire times from now (a "0 2 * * 1-5" gives a day,
 * not the weekend's three).
 */
#include "monitor/facts.h"
#include "pg/walstream.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "sched/cron.h"

#define FIRE_TIMES 8

const double monDurationBuckets[MON_DURATION_BUCKETS] = {1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600};
_Static_assert(MON_DURATION_BUCKETS == HIST_DURATION_BUCKETS, "the metrics' and the history's buckets differ");

static const char *const typeNames[MON_TYPE_COUNT] = {
    [monTypeLogical] = "logical", [monTypePhysical] = "physical", [monTypeWal] = "wal",       [monTypeFiles] = "files",
    [monTypeBucket] = "bucket",   [monTypeCommand] = "command",   [monTypeBackup] = "backup", [monTypeCopy] = "copy",
    [monTypeForget] = "forget",   [monTypePrune] = "prune",       [monTypeCheck] = "check",   [monTypeDrill] = "drill",
    [monTypeReport] = "report",
};

const char *monTypeName(MonType type) {
    return (int)type >= 0 && type < MON_TYPE_COUNT ? typeNames[type] : "unknown";
}

static MonType componentType(CfgComponentType t) {
    switch (t) {
    case cfgCompPostgres:
        return monTypeLogical;
    case cfgCompPostgresPhysical:
        return monTypePhysical;
    case cfgCompFiles:
        return monTypeFiles;
    case cfgCompBucket:
        return monTypeBucket;
    case cfgCompCommand:
        return monTypeCommand;
    }
    return monTypeFiles;
}

static MonType jobType(CfgJobType t) {
    switch (t) {
    case cfgJobBackup:
        return monTypeBackup;
    case cfgJobCopy:
        return monTypeCopy;
    case cfgJobForget:
        return monTypeForget;
    case cfgJobPrune:
        return monTypePrune;
    case cfgJobCheck:
        return monTypeCheck;
    case cfgJobDrill:
        return monTypeDrill;
    case cfgJobReport:
        return monTypeReport;
    }
    return monTypeBackup;
}

/* The shortest gap (seconds) between the next fire times of p's schedule
 * after nowMs; 0 when it has none. */
static int64_t scheduleInterval(const CfgRunPolicy *p, int64_t nowMs) {
    if (p->schedule == NULL)
        return 0;
    LbError err = {0};
    CronSchedule *cron = cronParse(p->schedule, p->timezone, &err);
    if (cron == NULL)
        return 0;
    int64_t at = nowMs / 1000, prev = 0, best = 0;
    for (int i = 0; i < FIRE_TIMES; i++) {
        int64_t next;
        if (!cronNext(cron, at, &next))
            break;
        if (i > 0 && (best == 0 || next - prev < best))
            best = next - prev;
        prev = at = next;
    }
    cronFree(cron);
    return best;
}

static int64_t minPositive(int64_t a, int64_t b) {
    return a <= 0 ? b : (b <= 0 || a < b ? a : b);
}

static bool listed(const CfgJob *j, const char *component) {
    for (size_t i = 0; i < j->componentCount; i++)
        if (strcmp(j->components[i], component) == 0)
            return true;
    return false;
}

static char *dupOrNull(const char *s) {
    return s ? strdup(s) : NULL;
}

/* runs from the counters of jobs and the history's newest rows of them. */
static bool runsFill(MonRuns *runs, Hist *hist, const HistCounters *counters, const char *const *jobs, size_t n,
                     LbError *err) {
    for (size_t i = 0; i < counters->count; i++) {
        const HistCounter *c = &counters->rows[i];
        bool mine = false;
        for (size_t k = 0; k < n && !mine; k++)
            mine = strcmp(c->job, jobs[k]) == 0;
        if (!mine || (int)c->outcome >= HIST_OUTCOME_COUNT)
            continue;
        runs->byOutcome[c->outcome] += c->count;
        for (int b = 0; b < MON_DURATION_BUCKETS; b++)
            runs->durationBuckets[b] += c->durationBuckets[b];
        runs->durationCount += c->durationCount;
        runs->durationSum += c->durationSum;
        runs->bytesAdded += c->bytesAdded;
        runs->bytesProcessed += c->bytesProcessed;
    }
    HistSummary s;
    if (!histSummarize(hist, jobs, n, &s, err))
        return false;
    runs->lastRunMs = s.lastRunMs;
    runs->lastOutcome = s.lastOutcome;
    runs->lastError = s.lastError;
    runs->lastSuccessMs = s.lastSuccessMs;
    runs->lastFailureMs = s.lastFailureMs;
    runs->failuresInRow = s.failuresInRow;
    runs->lastDurationSeconds = s.lastDurationSeconds;
    runs->running = s.running;
    return true;
}

static const MonScan *scanOf(const MonScan *scans, size_t count, const char *repository) {
    for (size_t i = 0; repository != NULL && i < count; i++)
        if (scans[i].repository && strcmp(scans[i].repository, repository) == 0)
            return &scans[i];
    return NULL;
}

/* The repository figures of c from its repository's scan (and its copy's). */
static void componentScan(MonComponent *c, const MonScan *scans, size_t scanCount) {
    const MonScan *s = scanOf(scans, scanCount, c->repository);
    if (s != NULL && s->ok && s->scannedAtMs > 0) {
        c->scanned = true;
        c->scannedAtMs = s->scannedAtMs;
        const MonScanComponent *sc = monScanComponent(s, c->name);
        if (sc != NULL) {
            c->snapshots = sc->snapshots;
            c->newestSnapshotNs = sc->newestNs;
            c->newestBytes = sc->newestBytes;
            c->newestRestorableNs = sc->newestReadNs;
            if (sc->physical && sc->walWindow) {
                c->walNewestNs = sc->walNewestNs;
                snprintf(c->walLastSegment, sizeof(c->walLastSegment), "%s", sc->walLastSegment);
                if (sc->walNewestNs > c->newestRestorableNs) {
                    c->newestRestorableNs = sc->walNewestNs;
                    c->restorableFromWal = true;
                }
            }
        }
    }
    const MonScan *copy = scanOf(scans, scanCount, c->copyRepository);
    if (copy != NULL && copy->ok && copy->scannedAtMs > 0) {
        c->copyScanned = true;
        const MonScanComponent *sc = monScanComponent(copy, c->name);
        c->copyNewestNs = sc ? sc->newestNs : 0;
    }
}

/* The last drill of each component from histListDrills' rows (oldest first). */
static bool drillsFill(MonFacts *f, Hist *hist, LbError *err) {
    json_t *rows = NULL;
    if (!histListDrills(hist, 0, &rows, err))
        return false;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        MonComponent *c = (MonComponent *)monFactsComponent(f, json_string_value(json_object_get(row, "component")));
        if (c == NULL)
            continue;
        free(c->lastDrillId);
        c->drilled = true;
        c->lastDrillId = dupOrNull(json_string_value(json_object_get(row, "drill_id")));
        c->lastDrillMs = json_integer_value(json_object_get(row, "started_at"));
        c->lastDrillPassed = json_is_true(json_object_get(row, "passed"));
        c->lastDrillRtoSeconds = json_number_value(json_object_get(row, "rto_seconds"));
        c->lastDrillRpoSeconds = json_number_value(json_object_get(row, "rpo_seconds"));
    }
    json_decref(rows);
    return true;
}

/* The wal-stream of a `stream: true` component, from its status file. */
static void componentStream(MonComponent *c, const CfgComponent *cc, const char *stateDir, int64_t nowMs) {
    if (!cc->stream || stateDir == NULL)
        return;
    c->streamed = true;
    char *spool = walstreamDaemonSpool(stateDir, cc->name);
    WalstreamStatus st;
    LbError ignored = {0};
    if (walstreamStatusRead(spool, &st, &ignored) && nowMs * 1000000 - st.updatedNs <= MON_STREAM_STALE_NS) {
        c->streamConnected = st.connected;
        c->streamHasLag = st.hasLag;
        c->streamLagBytes = st.lagBytes;
    }
    free(spool);
}

static bool componentsFill(MonFacts *f, const CfgFile *cfg, Hist *hist, const HistCounters *counters,
                           const MonScan *scans, size_t scanCount, LbError *err) {
    const char **jobs = calloc(cfg->jobCount + 1, sizeof(*jobs));
    if (jobs == NULL)
        return lbErr(err, LB_ERR_MEMORY, "unable to collect the facts: out of memory");
    bool ok = true;
    for (size_t i = 0; ok && i < cfg->componentCount; i++) {
        const CfgComponent *cc = &cfg->components[i];
        MonComponent *c = &f->components[f->componentCount++];
        c->name = strdup(cc->name);
        c->type = componentType(cc->type);
        c->repository = dupOrNull(cc->repository);
        c->schedule = dupOrNull(cc->run.schedule);
        c->expectedIntervalSeconds = scheduleInterval(&cc->run, f->nowMs);
        c->rpoObjective = cc->rpo;
        c->rtoObjective = cc->rto;
        size_t n = 0;
        jobs[n++] = cc->name;
        for (size_t k = 0; k < cfg->jobCount; k++) {
            const CfgJob *j = &cfg->jobs[k];
            if (j->type != cfgJobBackup || !listed(j, cc->name))
                continue;
            jobs[n++] = j->name;
            c->expectedIntervalSeconds = minPositive(c->expectedIntervalSeconds, scheduleInterval(&j->run, f->nowMs));
            if (j->copyTo != NULL && c->copyRepository == NULL)
                c->copyRepository = strdup(j->copyTo);
        }
        ok = runsFill(&c->runs, hist, counters, jobs, n, err) && runsFill(&c->ownRuns, hist, counters, jobs, 1, err);
        componentScan(c, scans, scanCount);
        componentStream(c, cc, cfg->stateDir, f->nowMs);
    }
    free(jobs);
    return ok;
}

static bool jobsFill(MonFacts *f, const CfgFile *cfg, Hist *hist, const HistCounters *counters, LbError *err) {
    for (size_t i = 0; i < cfg->jobCount; i++) {
        const CfgJob *cj = &cfg->jobs[i];
        MonJob *j = &f->jobs[f->jobCount++];
        j->name = strdup(cj->name);
        j->type = jobType(cj->type);
        j->schedule = dupOrNull(cj->run.schedule);
        j->expectedIntervalSeconds = scheduleInterval(&cj->run, f->nowMs);
        const char *repo = cj->repository;
        if (cj->type == cfgJobBackup && cj->componentCount > 0) {
            const CfgComponent *c = cfgFileComponent(cfg, cj->components[0]);
            repo = c ? c->repository : NULL;
        }
        j->repository = dupOrNull(repo);
        const char *one[] = {cj->name};
        if (!runsFill(&j->runs, hist, counters, one, 1, err))
            return false;
    }
    return true;
}

MonFacts *monFactsCollect(const CfgFile *cfg, Hist *hist, const MonScan *scans, size_t scanCount, int64_t nowMs,
                          LbError *err) {
    MonFacts *f = calloc(1, sizeof(*f));
    HistCounters *counters = NULL;
    char host[256] = "";
    if (f == NULL)
        goto oom;
    f->nowMs = nowMs;
    f->configName = dupOrNull(cfg->name);
    gethostname(host, sizeof(host) - 1);
    f->host = strdup(host);
    f->components = calloc(cfg->componentCount + 1, sizeof(*f->components));
    f->jobs = calloc(cfg->jobCount + 1, sizeof(*f->jobs));
    f->repositories = calloc(cfg->repositoryCount + 1, sizeof(*f->repositories));
    if (f->host == NULL || f->components == NULL || f->jobs == NULL || f->repositories == NULL)
        goto oom;
    for (size_t i = 0; i < cfg->repositoryCount; i++) {
        MonRepository *r = &f->repositories[f->repositoryCount++];
        r->name = strdup(cfg->repositories[i].name);
        r->isDefault = cfg->repositories[i].isDefault;
        const MonScan *s = scanOf(scans, scanCount, r->name);
        if (s != NULL && !monScanCopy(s, &r->scan, err))
            goto fail;
    }
    if (!histListCounters(hist, &counters, err) || !componentsFill(f, cfg, hist, counters, scans, scanCount, err) ||
        !jobsFill(f, cfg, hist, counters, err) || !drillsFill(f, hist, err))
        goto fail;
    histCountersFree(counters);
    return f;
oom:
    lbErr(err, LB_ERR_MEMORY, "unable to collect the facts: out of memory");
fail:
    lbErrorWrap(err, "unable to collect the monitoring facts of '%s'", cfg->path ? cfg->path : "?");
    histCountersFree(counters);
    monFactsFree(f);
    return NULL;
}

void monFactsFree(MonFacts *facts) {
    if (facts == NULL)
        return;
    for (size_t i = 0; i < facts->componentCount; i++) {
        MonComponent *c = &facts->components[i];
        free(c->name);
        free(c->repository);
        free(c->schedule);
        free(c->runs.lastError);
        free(c->ownRuns.lastError);
        free(c->copyRepository);
        free(c->lastDrillId);
    }
    for (size_t i = 0; i < facts->jobCount; i++) {
        free(facts->jobs[i].name);
        free(facts->jobs[i].schedule);
        free(facts->jobs[i].repository);
        free(facts->jobs[i].runs.lastError);
    }
    for (size_t i = 0; i < facts->repositoryCount; i++) {
        free(facts->repositories[i].name);
        monScanClear(&facts->repositories[i].scan);
    }
    free(facts->components);
    free(facts->jobs);
    free(facts->repositories);
    free(facts->configName);
    free(facts->host);
    free(facts);
}

double monComponentRpoAchieved(const MonFacts *facts, const MonComponent *c) {
    if (!c->scanned || c->newestRestorableNs <= 0)
        return -1;
    double s = ((double)facts->nowMs / 1e3) - ((double)c->newestRestorableNs / 1e9);
    return s < 0 ? 0 : s;
}

const MonComponent *monFactsComponent(const MonFacts *facts, const char *name) {
    for (size_t i = 0; name != NULL && i < facts->componentCount; i++)
        if (strcmp(facts->components[i].name, name) == 0)
            return &facts->components[i];
    return NULL;
}

const MonJob *monFactsJob(const MonFacts *facts, const char *name) {
    for (size_t i = 0; name != NULL && i < facts->jobCount; i++)
        if (strcmp(facts->jobs[i].name, name) == 0)
            return &facts->jobs[i];
    return NULL;
}

/* ---- JSON ---- */

static json_t *timeMs(int64_t ms) {
    if (ms <= 0)
        return json_null();
    char buf[48];
    lbFormatTimeNs(ms * 1000000, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *timeNs(int64_t ns) {
    if (ns <= 0)
        return json_null();
    char buf[48];
    lbFormatTimeNs(ns, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *strOrNull(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *secondsOrNull(int64_t s) {
    return s < 0 ? json_null() : json_integer(s);
}

static json_t *runsJson(const MonRuns *r) {
    json_t *o = json_object(), *by = json_object(), *buckets = json_array();
    for (int i = 0; i < HIST_OUTCOME_COUNT; i++)
        if (i != histRunning)
            json_object_set_new(by, histOutcomeName((HistOutcome)i), json_integer((json_int_t)r->byOutcome[i]));
    for (int i = 0; i < MON_DURATION_BUCKETS; i++) {
        json_t *b = json_object();
        json_object_set_new(b, "le", json_real(monDurationBuckets[i]));
        json_object_set_new(b, "count", json_integer((json_int_t)r->durationBuckets[i]));
        json_array_append_new(buckets, b);
    }
    json_object_set_new(o, "by_outcome", by);
    json_object_set_new(o, "duration_buckets", buckets);
    json_object_set_new(o, "duration_count", json_integer((json_int_t)r->durationCount));
    json_object_set_new(o, "duration_sum_seconds", json_real(r->durationSum));
    json_object_set_new(o, "bytes_added", json_integer((json_int_t)r->bytesAdded));
    json_object_set_new(o, "bytes_processed", json_integer((json_int_t)r->bytesProcessed));
    json_object_set_new(o, "last_run", timeMs(r->lastRunMs));
    json_object_set_new(o, "last_outcome", r->lastRunMs ? json_string(histOutcomeName(r->lastOutcome)) : json_null());
    json_object_set_new(o, "last_error", strOrNull(r->lastError));
    json_object_set_new(o, "last_success", timeMs(r->lastSuccessMs));
    json_object_set_new(o, "last_failure", timeMs(r->lastFailureMs));
    json_object_set_new(o, "failures_in_row", json_integer(r->failuresInRow));
    json_object_set_new(o, "last_duration_seconds", json_real(r->lastDurationSeconds));
    json_object_set_new(o, "running", json_boolean(r->running));
    return o;
}

static json_t *componentJson(const MonFacts *f, const MonComponent *c) {
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "type", json_string(monTypeName(c->type)));
    json_object_set_new(o, "repository", strOrNull(c->repository));
    json_object_set_new(o, "schedule", strOrNull(c->schedule));
    json_object_set_new(o, "expected_interval_seconds", json_integer(c->expectedIntervalSeconds));
    json_object_set_new(o, "rpo_objective_seconds", secondsOrNull(c->rpoObjective));
    json_object_set_new(o, "rto_objective_seconds", secondsOrNull(c->rtoObjective));
    json_object_set_new(o, "runs", runsJson(&c->runs));
    json_object_set_new(o, "scanned", json_boolean(c->scanned));
    json_object_set_new(o, "scanned_at", timeMs(c->scannedAtMs));
    json_object_set_new(o, "snapshots", json_integer((json_int_t)c->snapshots));
    json_object_set_new(o, "newest_snapshot", timeNs(c->newestSnapshotNs));
    json_object_set_new(o, "newest_restorable", timeNs(c->newestRestorableNs));
    json_object_set_new(o, "restorable_from_wal", json_boolean(c->restorableFromWal));
    double rpo = monComponentRpoAchieved(f, c);
    json_object_set_new(o, "rpo_achieved_seconds", rpo < 0 ? json_null() : json_real(rpo));
    json_object_set_new(o, "newest_bytes", json_integer((json_int_t)c->newestBytes));
    json_object_set_new(o, "wal_newest", timeNs(c->walNewestNs));
    json_object_set_new(o, "wal_last_segment", c->walLastSegment[0] ? json_string(c->walLastSegment) : json_null());
    json_t *copy = json_null();
    if (c->copyRepository) {
        copy = json_object();
        json_object_set_new(copy, "repository", json_string(c->copyRepository));
        json_object_set_new(copy, "scanned", json_boolean(c->copyScanned));
        json_object_set_new(copy, "newest_snapshot", timeNs(c->copyNewestNs));
    }
    json_object_set_new(o, "copy", copy);
    json_t *drill = json_null();
    if (c->drilled) {
        drill = json_object();
        json_object_set_new(drill, "id", strOrNull(c->lastDrillId));
        json_object_set_new(drill, "at", timeMs(c->lastDrillMs));
        json_object_set_new(drill, "passed", json_boolean(c->lastDrillPassed));
        json_object_set_new(drill, "rto_seconds", json_real(c->lastDrillRtoSeconds));
        json_object_set_new(drill, "rpo_seconds", json_real(c->lastDrillRpoSeconds));
    }
    json_object_set_new(o, "last_drill", drill);
    return o;
}

json_t *monFactsJson(const MonFacts *facts) {
    json_t *o = json_object(), *comps = json_array(), *jobs = json_array(), *repos = json_array();
    json_object_set_new(o, "now", timeMs(facts->nowMs));
    json_object_set_new(o, "config", strOrNull(facts->configName));
    json_object_set_new(o, "host", strOrNull(facts->host));
    for (size_t i = 0; i < facts->componentCount; i++)
        json_array_append_new(comps, componentJson(facts, &facts->components[i]));
    for (size_t i = 0; i < facts->jobCount; i++) {
        const MonJob *j = &facts->jobs[i];
        json_t *e = json_object();
        json_object_set_new(e, "name", json_string(j->name));
        json_object_set_new(e, "type", json_string(monTypeName(j->type)));
        json_object_set_new(e, "schedule", strOrNull(j->schedule));
        json_object_set_new(e, "expected_interval_seconds", json_integer(j->expectedIntervalSeconds));
        json_object_set_new(e, "repository", strOrNull(j->repository));
        json_object_set_new(e, "runs", runsJson(&j->runs));
        json_array_append_new(jobs, e);
    }
    for (size_t i = 0; i < facts->repositoryCount; i++) {
        const MonRepository *r = &facts->repositories[i];
        json_t *e = json_object();
        json_object_set_new(e, "name", json_string(r->name));
        json_object_set_new(e, "default", json_boolean(r->isDefault));
        json_object_set_new(e, "scan", r->scan.scannedAtMs > 0 ? monScanToJson(&r->scan) : json_null());
        json_array_append_new(repos, e);
    }
    json_object_set_new(o, "components", comps);
    json_object_set_new(o, "jobs", jobs);
    json_object_set_new(o, "repositories", repos);
    return o;
}
