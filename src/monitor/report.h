/*
 * report.h - the daily report (issue 13): per component the runs of the
 * period, the achieved RPO against its objective, the last drill's RTO
 * against its objective, the newest restorable point, the repository's size
 * and growth and the WAL archive; an overall health (ok / warning /
 * critical) with its reasons; and recommendations computed from those
 * facts, each with its numbers (docs/monitoring.md "The report" lists every
 * rule and threshold).
 *
 * monReportBuild is a pure function of its inputs (no I/O, no clock: "now"
 * is facts->nowMs), so every rule is unit-testable; cmd/report.c gathers the
 * inputs. monReportRender turns a report into text, markdown, JSON or a
 * self-contained HTML page (inline CSS and SVG, no external reference): the
 * daemon serves the HTML at / and the JSON at /api/status.
 *
 * Ownership: a MonReport owns every string and array reachable from it
 * (monReportFree; NULL is a no-op); the inputs are borrowed for the call
 * only. monReportRender returns a string the caller frees.
 */
#ifndef LIFEBOAT_MONITOR_REPORT_H
#define LIFEBOAT_MONITOR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/file.h"
#include "monitor/facts.h"
#include "pg/archcheck.h"
#include "state/history.h"

typedef enum MonHealth { monHealthOk = 0, monHealthWarning, monHealthCritical } MonHealth;
const char *monHealthName(MonHealth health); /* "ok", "warning", "critical" */

typedef enum MonReportFormat { monReportText = 0, monReportJson, monReportHtml, monReportMarkdown } MonReportFormat;
/* "text", "json", "html", "markdown"; false for another name */
bool monReportFormatParse(const char *name, MonReportFormat *out);

/* pg_stat_archiver of a physical component's server, when it was reachable */
typedef struct MonReportArchiver {
    const char *component;
    const ArchcheckReport *report; /* failedCount, lastFailedNs, lastArchivedNs, lastFailedWal are used */
} MonReportArchiver;

/* One measurement of a repository's size (the daemon's scans, in the history) */
typedef struct MonSizeSample {
    const char *repository;
    int64_t atMs;
    uint64_t bytes;
} MonSizeSample;

/* What the report is built from besides the facts; every member optional. */
typedef struct MonReportInputs {
    const CfgFile *cfg;         /* which jobs cover which component (backup, copy_to, forget/prune, drill) and
                                   retention; NULL: the rules that need it are skipped */
    const HistRows *periodRows; /* the history rows of the period (since sinceMs) */
    const HistRows *chartRows;  /* the rows of the last 30 days, for the charts */
    const MonReportArchiver *archivers;
    size_t archiverCount;
    const MonSizeSample *sizes; /* any order */
    size_t sizeCount;
} MonReportInputs;

/* What a recommendation is about (stable names, the JSON's "kind"). */
typedef enum MonRecKind {
    monRecNeverBackedUp,
    monRecStale,
    monRecRpoBreached,
    monRecFailing,
    monRecArchiveFailing,
    monRecArchiveFailed, /* failures in the period, archiving recovered since */
    monRecRpoTighter,
    monRecNoDrill,
    monRecDrillFailed,
    monRecDrillRto,
    monRecNoRetention,
    monRecRetentionLate,
    monRecGrowth,
    monRecCopyBehind,
    monRecLockHeld,
    monRecRepoUnreadable,
    MON_REC_KIND_COUNT
} MonRecKind;
const char *monRecKindName(MonRecKind kind); /* "stale-backup", ... */

typedef struct MonRecommendation {
    MonRecKind kind;
    MonHealth severity; /* warning or critical */
    char *component;    /* NULL when about a job or a repository as a whole */
    char *job;          /* NULL when none */
    char *repository;   /* NULL when none */
    char *text; /* "uploads: last successful backup 26 h ago, ...: check ... (lifeboat history --job uploads)" */
} MonRecommendation;

/* A chart's series: x in Unix ms, y in the series' unit */
typedef struct MonSeries {
    int64_t *atMs;
    double *value;
    size_t count;
} MonSeries;

#define MON_REPORT_CHART_DAYS 30

typedef struct MonReportComponent {
    char *name;
    MonType type;
    char *repository;
    MonHealth health; /* the worst severity of the recommendations that touch it */
    /* the period */
    unsigned runs, successes, failures, notStarted; /* failures: failed or timed out; notStarted: skipped, missed */
    int64_t bytesAdded;                             /* -1 when no run told */
    /* now */
    int64_t lastSuccessMs;           /* 0 when none */
    int64_t expectedIntervalSeconds; /* 0: no schedule */
    double rpoAchieved;              /* seconds; -1 when nothing is restorable or not scanned */
    int64_t rpoObjective, rtoObjective;
    int64_t newestRestorableNs;
    bool restorableFromWal;
    bool scanned;
    uint64_t snapshots;
    bool drilled;
    int64_t lastDrillMs;
    bool lastDrillPassed;
    double lastDrillRtoSeconds;
    bool physical;
    int64_t walNewestNs;
    char walLastSegment[MON_WAL_NAME_MAX];
    bool archiverKnown; /* pg_stat_archiver was read */
    uint64_t archiveFailed;
    int64_t archiveLastFailedNs, archiveLastArchivedNs;
    char *copyRepository; /* NULL when none */
    int64_t copyNewestNs;
    /* charts over MON_REPORT_CHART_DAYS days */
    MonSeries duration; /* seconds per ended run */
    MonSeries added;    /* bytes added per run that told */
    MonSeries rpo;      /* seconds since the newest success, at the end of each day */
} MonReportComponent;

typedef struct MonReportRepository {
    char *name;
    bool scanned, ok;
    char *error;
    uint64_t sizeBytes, snapshots;
    bool growthKnown;
    int64_t growthBytes; /* size now (newest sample) minus the newest sample at or before the period's start */
    int64_t addedBytes;  /* bytes the period's runs said they added; -1 when none told */
    int64_t oldestLockNs;
} MonReportRepository;

typedef struct MonReport {
    int64_t nowMs, sinceMs;
    char *configName, *host;
    MonHealth health;
    MonReportComponent *components;
    size_t componentCount;
    MonReportRepository *repositories;
    size_t repositoryCount;
    MonRecommendation *recs; /* worst first, then in configuration order */
    size_t recCount;
} MonReport;

/* The thresholds of the rules (docs/monitoring.md). */
#define MON_STALE_FACTOR 2.0                   /* no success for 2 intervals: stale (warning) */
#define MON_STALE_CRITICAL_FACTOR 4.0          /* ... for 4 intervals, or the RPO objective breached: critical */
#define MON_DRILL_GRACE_FACTOR 1.5             /* no drill for 1.5 drill intervals */
#define MON_RTO_NEAR 0.8                       /* drill RTO above 80% of its objective */
#define MON_LOCK_HOURS 2                       /* a lock older than this */
#define MON_GROWTH_FACTOR 2.0                  /* growth over 2x the bytes added ... */
#define MON_GROWTH_SLACK (256LL * 1024 * 1024) /* ... plus 256 MiB */

/* Build the report of the period [sinceMs, facts->nowMs]. NULL only when
 * out of memory. */
MonReport *monReportBuild(const MonFacts *facts, const MonReportInputs *in, int64_t sinceMs);
void monReportFree(MonReport *report);

/* The report of cfg's plan at nowMs for [sinceMs, nowMs] from hist (facts,
 * the period's and the last 30 days' rows, the size samples), the scans (by
 * repository name, monitor/facts.h) and the archivers given (may be none):
 * what `lifeboat report` prints and the daemon serves at / and /api/status
 * (monitor/report_collect.c). NULL with err when the history cannot be
 * read. */
MonReport *monReportCollect(const CfgFile *cfg, Hist *hist, const MonScan *scans, size_t scanCount,
                            const MonReportArchiver *archivers, size_t archiverCount, int64_t nowMs, int64_t sinceMs,
                            LbError *err);

/* The report in fmt (a NUL-terminated string the caller frees; NULL when out
 * of memory). */
char *monReportRender(const MonReport *report, MonReportFormat fmt);

/* "45 s", "15 min", "1 h", "2 h 30 min", "3 d 4 h": an exact multiple takes
 * the larger unit (60: "1 min", 3600: "1 h", days from 2 d on), otherwise
 * seconds below 2 min, minutes below 2 h, hours and minutes below 2 d, days
 * and hours; the rest is rounded down */
void monFormatSpan(double seconds, char *out, size_t n);

#endif
