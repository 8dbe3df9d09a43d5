/*
 * metrics.c - monMetricsText: the Prometheus text format (monitor/metrics.h).
 *
 * Each family is written whole (HELP, TYPE, then its samples) by walking
 * the facts once per family, as the format requires every sample of a
 * family to follow its TYPE line. Values print as integers when they are
 * whole, else with 15 significant digits; timestamps with milliseconds.
 */
#include "monitor/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LIFEBOAT_VERSION
#define LIFEBOAT_VERSION "unknown"
#endif

/* The labels of one series; a NULL value leaves its label out. */
typedef struct Labels {
    const char *job, *component, *type, *repository, *outcome, *le, *version;
} Labels;

/* A gauge family of a table-driven group: which selects its value. */
typedef struct Family {
    const char *name, *help;
    int which;
} Family;

typedef struct Out {
    FILE *f;
    const MonFacts *facts;
} Out;

static void family(Out *o, const char *name, const char *type, const char *help) {
    fprintf(o->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped. */
static void labelValue(FILE *f, const char *v) {
    for (; *v; v++) {
        if (*v == '\\')
            fputs("\\\\", f);
        else if (*v == '"')
            fputs("\\\"", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void labels(FILE *f, const Labels *l) {
    const char *names[] = {"job", "component", "type", "repository", "outcome", "le", "version"};
    const char *values[] = {l->job, l->component, l->type, l->repository, l->outcome, l->le, l->version};
    bool any = false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (values[i] == NULL)
            continue;
        fputs(any ? "," : "{", f);
        fprintf(f, "%s=\"", names[i]);
        labelValue(f, values[i]);
        fputc('"', f);
        any = true;
    }
    if (any)
        fputc('}', f);
}

static void sample(Out *o, const char *name, const Labels *l, double v) {
    fputs(name, o->f);
    labels(o->f, l);
    if (v != v) /* NaN */
        fputs(" NaN\n", o->f);
    else if (v > -9e15 && v < 9e15 && v == (double)(long long)v)
        fprintf(o->f, " %lld\n", (long long)v);
    else
        fprintf(o->f, " %.15g\n", v);
}

/* A time or duration in seconds with milliseconds; 0 (never) as "0". */
static void sampleTime(Out *o, const char *name, const Labels *l, double seconds) {
    fputs(name, o->f);
    labels(o->f, l);
    if (seconds == 0)
        fputs(" 0\n", o->f);
    else
        fprintf(o->f, " %.3f\n", seconds);
}

/* ---- runs: per component (its own rows) and per job ---- */

typedef struct RunSeries {
    Labels l;
    const MonRuns *r;
} RunSeries;

/* Every (labels, runs) of the facts: components' own runs, then jobs. */
static size_t runSeries(const MonFacts *f, RunSeries *out) {
    size_t n = 0;
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        out[n++] = (RunSeries){{.job = c->name, .component = c->name, .type = monTypeName(c->type)}, &c->ownRuns};
    }
    for (size_t i = 0; i < f->jobCount; i++) {
        const MonJob *j = &f->jobs[i];
        out[n++] = (RunSeries){{.job = j->name, .type = monTypeName(j->type)}, &j->runs};
    }
    return n;
}

/* A series per ended outcome of each (labels, runs): the count, or
 * (status) 1 for the newest run's outcome and 0 for the others. */
static void byOutcome(Out *o, const char *name, const RunSeries *s, size_t n, bool status) {
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < HIST_OUTCOME_COUNT; k++) {
            if (k == histRunning)
                continue;
            Labels l = s[i].l;
            l.outcome = histOutcomeName((HistOutcome)k);
            const MonRuns *r = s[i].r;
            sample(o, name, &l,
                   status ? (r->lastRunMs > 0 && r->lastOutcome == (HistOutcome)k ? 1 : 0) : (double)r->byOutcome[k]);
        }
}

static void runsMetrics(Out *o, const RunSeries *s, size_t n) {
    family(o, "lifeboat_job_runs_total", "counter",
           "Runs of a component's backup or a job that ended (or were recorded as not started), by outcome.");
    byOutcome(o, "lifeboat_job_runs_total", s, n, false);
    family(o, "lifeboat_job_run_duration_seconds", "histogram",
           "Duration of the runs that started and ended (not those skipped).");
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < MON_DURATION_BUCKETS; b++) {
            char le[32];
            snprintf(le, sizeof(le), "%g", monDurationBuckets[b]);
            Labels l = s[i].l;
            l.le = le;
            sample(o, "lifeboat_job_run_duration_seconds_bucket", &l, (double)s[i].r->durationBuckets[b]);
        }
        Labels l = s[i].l;
        l.le = "+Inf";
        sample(o, "lifeboat_job_run_duration_seconds_bucket", &l, (double)s[i].r->durationCount);
        sample(o, "lifeboat_job_run_duration_seconds_sum", &s[i].l, s[i].r->durationSum);
        sample(o, "lifeboat_job_run_duration_seconds_count", &s[i].l, (double)s[i].r->durationCount);
    }
    family(o, "lifeboat_job_added_bytes_total", "counter",
           "Bytes the runs added to the repository (stored size of new data).");
    for (size_t i = 0; i < n; i++)
        sample(o, "lifeboat_job_added_bytes_total", &s[i].l, (double)s[i].r->bytesAdded);
    family(o, "lifeboat_job_processed_bytes_total", "counter",
           "Bytes the runs' backups read from their sources (files, dumps, objects), new or not.");
    for (size_t i = 0; i < n; i++)
        sample(o, "lifeboat_job_processed_bytes_total", &s[i].l, (double)s[i].r->bytesProcessed);
    family(o, "lifeboat_job_last_run_timestamp_seconds", "gauge",
           "End of the newest run (ended or not started); 0 when none.");
    for (size_t i = 0; i < n; i++)
        sampleTime(o, "lifeboat_job_last_run_timestamp_seconds", &s[i].l, (double)s[i].r->lastRunMs / 1e3);
    family(o, "lifeboat_job_last_success_timestamp_seconds", "gauge", "End of the newest succeeded run; 0 when none.");
    for (size_t i = 0; i < n; i++)
        sampleTime(o, "lifeboat_job_last_success_timestamp_seconds", &s[i].l, (double)s[i].r->lastSuccessMs / 1e3);
    family(o, "lifeboat_job_last_failure_timestamp_seconds", "gauge",
           "End of the newest failed or timed-out run; 0 when none.");
    for (size_t i = 0; i < n; i++)
        sampleTime(o, "lifeboat_job_last_failure_timestamp_seconds", &s[i].l, (double)s[i].r->lastFailureMs / 1e3);
    family(o, "lifeboat_job_last_run_status", "gauge",
           "1 for the outcome of the newest run, 0 for the others (no series set to 1 when it never ran).");
    byOutcome(o, "lifeboat_job_last_run_status", s, n, true);
    family(o, "lifeboat_job_last_run_duration_seconds", "gauge",
           "Duration of the newest run; 0 when it never started.");
    for (size_t i = 0; i < n; i++)
        sample(o, "lifeboat_job_last_run_duration_seconds", &s[i].l, s[i].r->lastDurationSeconds);
    family(o, "lifeboat_job_consecutive_failures", "gauge", "Failed or timed-out runs since the last success.");
    for (size_t i = 0; i < n; i++)
        sample(o, "lifeboat_job_consecutive_failures", &s[i].l, s[i].r->failuresInRow);
    family(o, "lifeboat_job_running", "gauge", "1 while a run is in progress.");
    for (size_t i = 0; i < n; i++)
        sample(o, "lifeboat_job_running", &s[i].l, s[i].r->running ? 1 : 0);
}

static void intervalMetrics(Out *o) {
    const MonFacts *f = o->facts;
    family(o, "lifeboat_job_expected_interval_seconds", "gauge",
           "Shortest interval of the schedule; for a component also of the backup jobs listing it (only when "
           "scheduled).");
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        Labels l = {.job = c->name, .component = c->name, .type = monTypeName(c->type)};
        if (c->expectedIntervalSeconds > 0)
            sample(o, "lifeboat_job_expected_interval_seconds", &l, (double)c->expectedIntervalSeconds);
    }
    for (size_t i = 0; i < f->jobCount; i++) {
        const MonJob *j = &f->jobs[i];
        Labels l = {.job = j->name, .type = monTypeName(j->type)};
        if (j->expectedIntervalSeconds > 0)
            sample(o, "lifeboat_job_expected_interval_seconds", &l, (double)j->expectedIntervalSeconds);
    }
}

/* ---- components: the repository's catalogue, objectives, drills ---- */

static Labels componentLabels(const MonComponent *c) {
    return (Labels){.component = c->name, .type = monTypeName(c->type), .repository = c->repository};
}

static void componentMetrics(Out *o) {
    const MonFacts *f = o->facts;
    family(o, "lifeboat_component_last_success_timestamp_seconds", "gauge",
           "End of the newest succeeded run backing the component up (its own or a backup job's); 0 when none.");
    for (size_t i = 0; i < f->componentCount; i++) {
        Labels l = componentLabels(&f->components[i]);
        l.repository = NULL;
        sampleTime(o, "lifeboat_component_last_success_timestamp_seconds", &l,
                   (double)f->components[i].runs.lastSuccessMs / 1e3);
    }
    family(o, "lifeboat_component_snapshots", "gauge", "Snapshots of the component in the repository (last scan).");
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        Labels l = componentLabels(c);
        if (c->scanned)
            sample(o, "lifeboat_component_snapshots", &l, (double)c->snapshots);
    }
    family(o, "lifeboat_component_newest_snapshot_timestamp_seconds", "gauge",
           "Time of the component's newest snapshot in the repository (and in the repository it is copied to).");
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        Labels l = componentLabels(c);
        if (c->scanned && c->newestSnapshotNs > 0)
            sampleTime(o, "lifeboat_component_newest_snapshot_timestamp_seconds", &l,
                       (double)c->newestSnapshotNs / 1e9);
        l.repository = c->copyRepository;
        if (c->copyScanned && c->copyNewestNs > 0)
            sampleTime(o, "lifeboat_component_newest_snapshot_timestamp_seconds", &l, (double)c->copyNewestNs / 1e9);
    }
    family(o, "lifeboat_component_newest_snapshot_age_seconds", "gauge",
           "Age of the component's newest snapshot at collection time.");
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        Labels l = componentLabels(c);
        double age = (double)f->nowMs / 1e3 - (double)c->newestSnapshotNs / 1e9;
        if (c->scanned && c->newestSnapshotNs > 0)
            sampleTime(o, "lifeboat_component_newest_snapshot_age_seconds", &l, age < 0 ? 0 : age);
    }
    family(o, "lifeboat_component_newest_snapshot_size_bytes", "gauge",
           "Size of the data in the component's newest snapshot.");
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        Labels l = componentLabels(c);
        if (c->scanned && c->newestSnapshotNs > 0)
            sample(o, "lifeboat_component_newest_snapshot_size_bytes", &l, (double)c->newestBytes);
    }
    family(o, "lifeboat_component_newest_restorable_timestamp_seconds", "gauge",
           "Newest instant the component can be recovered to from the repository: the newest snapshot's read time, "
           "or the last archived WAL segment of a physical database's recovery window.");
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        Labels l = componentLabels(c);
        if (c->scanned && c->newestRestorableNs > 0)
            sampleTime(o, "lifeboat_component_newest_restorable_timestamp_seconds", &l,
                       (double)c->newestRestorableNs / 1e9);
    }
    family(o, "lifeboat_rpo_objective_seconds", "gauge", "The component's recovery point objective (when set).");
    for (size_t i = 0; i < f->componentCount; i++) {
        Labels l = componentLabels(&f->components[i]);
        if (f->components[i].rpoObjective >= 0)
            sample(o, "lifeboat_rpo_objective_seconds", &l, (double)f->components[i].rpoObjective);
    }
    family(o, "lifeboat_rpo_achieved_seconds", "gauge",
           "Data a recovery now would lose: now minus the newest restorable instant (absent when nothing is "
           "restorable or the repository was not scanned).");
    for (size_t i = 0; i < f->componentCount; i++) {
        Labels l = componentLabels(&f->components[i]);
        double rpo = monComponentRpoAchieved(f, &f->components[i]);
        if (rpo >= 0)
            sampleTime(o, "lifeboat_rpo_achieved_seconds", &l, rpo);
    }
    family(o, "lifeboat_rto_objective_seconds", "gauge", "The component's recovery time objective (when set).");
    for (size_t i = 0; i < f->componentCount; i++) {
        Labels l = componentLabels(&f->components[i]);
        if (f->components[i].rtoObjective >= 0)
            sample(o, "lifeboat_rto_objective_seconds", &l, (double)f->components[i].rtoObjective);
    }
}

static void drillMetrics(Out *o) {
    const MonFacts *f = o->facts;
    static const Family fams[] = {
        {"lifeboat_drill_last_timestamp_seconds", "Start of the component's last drill.", 0},
        {"lifeboat_drill_success", "1 when the component's last drill passed, 0 when it failed.", 1},
        {"lifeboat_drill_rto_seconds", "Recovery time the component's last drill measured.", 2},
        {"lifeboat_drill_rpo_seconds", "Recovery point the component's last drill measured (-1: unknown).", 3},
    };
    for (size_t k = 0; k < sizeof(fams) / sizeof(fams[0]); k++) {
        family(o, fams[k].name, "gauge", fams[k].help);
        for (size_t i = 0; i < f->componentCount; i++) {
            const MonComponent *c = &f->components[i];
            Labels l = {.component = c->name, .type = monTypeName(c->type)};
            if (!c->drilled)
                continue;
            if (fams[k].which == 0)
                sampleTime(o, fams[k].name, &l, (double)c->lastDrillMs / 1e3);
            else
                sample(o, fams[k].name, &l,
                       fams[k].which == 1   ? (c->lastDrillPassed ? 1 : 0)
                       : fams[k].which == 2 ? c->lastDrillRtoSeconds
                                            : c->lastDrillRpoSeconds);
        }
    }
}

/* ---- WAL archiving, repositories, the process ---- */

static void walMetrics(Out *o) {
    const MonFacts *f = o->facts;
    family(o, "lifeboat_wal_last_archived_timestamp_seconds", "gauge",
           "Archive time of the last WAL segment of the component's recovery window (type wal).");
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        Labels l = {.component = c->name, .type = "wal", .repository = c->repository};
        if (c->scanned && c->walNewestNs > 0)
            sampleTime(o, "lifeboat_wal_last_archived_timestamp_seconds", &l, (double)c->walNewestNs / 1e9);
    }
    family(o, "lifeboat_wal_archive_lag_seconds", "gauge",
           "Time since the last WAL segment of the component's recovery window was archived.");
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        Labels l = {.component = c->name, .type = "wal", .repository = c->repository};
        double lag = (double)f->nowMs / 1e3 - (double)c->walNewestNs / 1e9;
        if (c->scanned && c->walNewestNs > 0)
            sampleTime(o, "lifeboat_wal_archive_lag_seconds", &l, lag < 0 ? 0 : lag);
    }
}

/* issue 14: the daemon's WAL streams (stream: true) */
static void streamMetrics(Out *o) {
    const MonFacts *f = o->facts;
    family(o, "lifeboat_wal_stream_connected", "gauge",
           "1 when the component's wal-stream receives WAL from the server (stream: true), else 0.");
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        Labels l = {.component = c->name, .type = "wal", .repository = c->repository};
        if (c->streamed)
            sample(o, "lifeboat_wal_stream_connected", &l, c->streamConnected ? 1 : 0);
    }
    family(o, "lifeboat_wal_stream_lag_bytes", "gauge",
           "Bytes of WAL the server holds for the component's replication slot (restart_lsn behind the current "
           "position).");
    for (size_t i = 0; i < f->componentCount; i++) {
        const MonComponent *c = &f->components[i];
        Labels l = {.component = c->name, .type = "wal", .repository = c->repository};
        if (c->streamed && c->streamHasLag)
            sample(o, "lifeboat_wal_stream_lag_bytes", &l, (double)c->streamLagBytes);
    }
}

static void repositoryMetrics(Out *o) {
    const MonFacts *f = o->facts;
    family(o, "lifeboat_repository_up", "gauge",
           "1 when the repository's last scan opened and read it, 0 when it failed (absent: never scanned).");
    for (size_t i = 0; i < f->repositoryCount; i++) {
        const MonRepository *r = &f->repositories[i];
        Labels l = {.repository = r->name};
        if (r->scan.scannedAtMs > 0)
            sample(o, "lifeboat_repository_up", &l, r->scan.ok ? 1 : 0);
    }
    family(o, "lifeboat_repository_scan_timestamp_seconds", "gauge", "Time of the repository's last scan.");
    for (size_t i = 0; i < f->repositoryCount; i++) {
        const MonRepository *r = &f->repositories[i];
        Labels l = {.repository = r->name};
        if (r->scan.scannedAtMs > 0)
            sampleTime(o, "lifeboat_repository_scan_timestamp_seconds", &l, (double)r->scan.scannedAtMs / 1e3);
    }
    static const Family fams[] = {
        {"lifeboat_repository_size_bytes", "Total size of the repository's packs.", 0},
        {"lifeboat_repository_packs", "Packs in the repository.", 1},
        {"lifeboat_repository_snapshots", "Snapshots in the repository.", 2},
        {"lifeboat_repository_oldest_lock_timestamp_seconds", "Time of the repository's oldest lock (when locked).", 3},
        {"lifeboat_repository_newest_wal_timestamp_seconds", "Archive time of the newest WAL segment under wal/.", 4},
    };
    for (size_t k = 0; k < sizeof(fams) / sizeof(fams[0]); k++) {
        family(o, fams[k].name, "gauge", fams[k].help);
        for (size_t i = 0; i < f->repositoryCount; i++) {
            const MonScan *s = &f->repositories[i].scan;
            Labels l = {.repository = f->repositories[i].name};
            if (s->scannedAtMs <= 0 || !s->ok)
                continue;
            if (fams[k].which == 0)
                sample(o, fams[k].name, &l, (double)s->sizeBytes);
            else if (fams[k].which == 1)
                sample(o, fams[k].name, &l, (double)s->packs);
            else if (fams[k].which == 2)
                sample(o, fams[k].name, &l, (double)s->snapshots);
            else if (fams[k].which == 3 && s->oldestLockNs > 0)
                sampleTime(o, fams[k].name, &l, (double)s->oldestLockNs / 1e9);
            else if (fams[k].which == 4 && s->newestWalNs > 0)
                sampleTime(o, fams[k].name, &l, (double)s->newestWalNs / 1e9);
        }
    }
}

char *monMetricsText(const MonFacts *facts, bool daemon) {
    char *text = NULL;
    size_t len = 0;
    Out o = {.f = open_memstream(&text, &len), .facts = facts};
    if (o.f == NULL)
        return NULL;
    RunSeries *series = calloc(facts->componentCount + facts->jobCount + 1, sizeof(*series));
    if (series == NULL) {
        fclose(o.f);
        free(text);
        return NULL;
    }
    size_t n = runSeries(facts, series);
    runsMetrics(&o, series, n);
    free(series);
    intervalMetrics(&o);
    componentMetrics(&o);
    drillMetrics(&o);
    walMetrics(&o);
    streamMetrics(&o);
    repositoryMetrics(&o);
    if (daemon) {
        family(&o, "lifeboat_daemon_heartbeat_timestamp_seconds", "gauge",
               "When the daemon last answered (its clock at the scrape).");
        sampleTime(&o, "lifeboat_daemon_heartbeat_timestamp_seconds", &(Labels){0}, (double)facts->nowMs / 1e3);
    }
    family(&o, "lifeboat_build_info", "gauge", "Always 1; version: the lifeboat that wrote these metrics.");
    sample(&o, "lifeboat_build_info", &(Labels){.version = LIFEBOAT_VERSION}, 1);
    if (fclose(o.f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
