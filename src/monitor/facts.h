/*
 * facts.h - what monitoring knows about the platform, in one place: for each
 * component and job of the configuration file, the figures of the run
 * history (runs by outcome, last success, last run, durations, bytes added),
 * of the repository's own catalogue (snapshot count, newest snapshot, the
 * newest restorable instant, the WAL archive, the repository's size), of the
 * last drill, and the objectives the configuration sets. One collection
 * serves the metrics (monitor/metrics.h), the alerts (monitor/alert.h), the
 * report (monitor/report.h) and the daemon's status page.
 *
 * Two sources, read separately:
 *   - the history database (state/history.h): cheap, read on every use;
 *   - the repositories (MonScan, filled by cmd/monitor_scan.c, which opens
 *     each repository without a lock): costly, so the daemon refreshes them
 *     on a bounded interval (monitoring.refresh) and keeps the last scan of
 *     each repository in STATE/monitor/scan-NAME.json; `lifeboat metrics`
 *     and `lifeboat report` scan afresh.
 * The achieved RPO of a component is now minus the newest instant it can be
 * recovered to from what the repository holds (monComponentNewestRestorable):
 * the newest snapshot's read time, or for a physical PostgreSQL component
 * the archive time of the last WAL segment of its recovery window
 * (pg/walwindow.h) when that is newer. Never a cached "last success".
 *
 * Ownership: MonFacts and MonScan own every string and array reachable from
 * them (monFactsFree, monScanClear); names borrowed from a CfgFile are
 * copied.
 */
#ifndef LIFEBOAT_MONITOR_FACTS_H
#define LIFEBOAT_MONITOR_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "config/file.h"
#include "state/history.h"

struct json_t;

/* ---- the repository's figures (one scan of one repository) ---- */

#define MON_WAL_NAME_MAX 64

typedef struct MonScanComponent {
    char *component;      /* the snapshots' component label */
    uint64_t snapshots;   /* how many */
    int64_t newestNs;     /* the newest snapshot's time (Unix ns); 0 when none */
    int64_t newestReadNs; /* its read time (recover/plan.h recoverReadTimeNs): when its data was current */
    uint64_t newestBytes; /* that snapshot's size (bytes of its files or stream) */
    bool physical;        /* the snapshots are PostgreSQL base backups */
    bool walWindow;       /* a recovery window exists (pg/walwindow.h) */
    int64_t walFirstNs;   /* its oldest restorable instant */
    int64_t walNewestNs;  /* its newest restorable instant: the last segment's archive time */
    char walLastSegment[MON_WAL_NAME_MAX]; /* "" when none */
} MonScanComponent;

typedef struct MonScan {
    char *repository;     /* the configuration's name of it */
    int64_t scannedAtMs;  /* when (Unix ms) */
    bool ok;              /* opened and read; false: error says why */
    char *error;          /* NULL when ok; never holds a secret */
    uint64_t sizeBytes;   /* the packs' total size */
    uint64_t packs;       /* how many packs */
    uint64_t snapshots;   /* how many snapshots in all */
    int64_t oldestLockNs; /* the oldest lock's time; 0 when none */
    int64_t newestWalNs;  /* archive time of the newest WAL segment under wal/; 0 when none */
    char newestWal[MON_WAL_NAME_MAX];
    MonScanComponent *components;
    size_t componentCount;
} MonScan;

void monScanClear(MonScan *scan);
/* As JSON (jansson, new reference) and back; fromJson fills *out (cleared
 * first) and fails with LB_ERR_FORMAT on a document it does not know. */
struct json_t *monScanToJson(const MonScan *scan);
bool monScanFromJson(const struct json_t *doc, MonScan *out, LbError *err);
/* STATE/monitor/scan-REPOSITORY.json, written atomically (temporary file,
 * fsync, rename); load: *found false when there is none yet. */
bool monScanSave(const char *stateDir, const MonScan *scan, LbError *err);
bool monScanLoad(const char *stateDir, const char *repository, MonScan *out, bool *found, LbError *err);
const MonScanComponent *monScanComponent(const MonScan *scan, const char *component);
/* A deep copy of scan into *out (monScanClear it). */
bool monScanCopy(const MonScan *scan, MonScan *out, LbError *err);

/* Write len bytes of data to path atomically: a temporary file in the same
 * directory with mode, fsync, rename, fsync of the directory. On failure
 * the temporary file is removed and path is untouched (monitor/scan_file.c;
 * the textfile shares it). */
bool monWriteFileAtomic(const char *path, const char *data, size_t len, mode_t mode, LbError *err);

/* ---- the collected facts ---- */

/* Prometheus's `type` label (docs/monitoring.md): what kind of work. */
typedef enum MonType {
    monTypeLogical,  /* postgres: pg_dump */
    monTypePhysical, /* postgres-physical: base backup */
    monTypeWal,      /* WAL archiving */
    monTypeFiles,
    monTypeBucket,
    monTypeCommand,
    monTypeBackup, /* a backup job of several components */
    monTypeCopy,
    monTypeForget,
    monTypePrune,
    monTypeCheck,
    monTypeDrill,
    monTypeReport,
    MON_TYPE_COUNT
} MonType;
const char *monTypeName(MonType type); /* "logical", ... */

/* The fixed buckets (seconds) of the run duration histogram. */
#define MON_DURATION_BUCKETS 12
extern const double monDurationBuckets[MON_DURATION_BUCKETS]; /* 1 5 15 30 60 120 300 600 1800 3600 7200 21600 */

/* The history's figures of one job or component. Counts are cumulative
 * (never lowered by history trimming: state/history.h keeps counters). */
typedef struct MonRuns {
    uint64_t byOutcome[HIST_OUTCOME_COUNT];         /* ended runs and not-started ones, by outcome */
    uint64_t durationBuckets[MON_DURATION_BUCKETS]; /* started and ended runs, cumulative per bucket (le) */
    uint64_t durationCount;
    double durationSum;      /* seconds */
    uint64_t bytesAdded;     /* sum over runs */
    uint64_t bytesProcessed; /* sum over runs: what their backups read */
    int64_t lastRunMs;       /* end of the newest ended or not-started run; 0 when none */
    HistOutcome lastOutcome; /* of that run */
    char *lastError;         /* of that run; NULL when none */
    int64_t lastSuccessMs;   /* end of the newest succeeded run; 0 when none */
    int64_t lastFailureMs;   /* end of the newest failed or timed-out run; 0 when none */
    unsigned failuresInRow;  /* failed or timed-out runs since the last success */
    double lastDurationSeconds;
    bool running; /* a run has started and not ended */
} MonRuns;

typedef struct MonComponent {
    char *name;
    MonType type;                       /* logical, physical, files, bucket, command */
    char *repository;                   /* its repository's name */
    char *schedule;                     /* its own schedule; NULL when it runs only within jobs */
    int64_t expectedIntervalSeconds;    /* the shortest interval of its schedule or of the backup jobs listing it;
                                           0 when it runs on no schedule */
    int64_t rpoObjective, rtoObjective; /* seconds; -1 when not set */
    MonRuns runs;                       /* its own runs and those of the backup jobs listing it */
    MonRuns ownRuns;                    /* its own runs only (job = its name): the metrics' per-job series */
    /* from the repository's scan (scanned false: none yet, or it failed) */
    bool scanned;
    int64_t scannedAtMs;
    uint64_t snapshots;
    int64_t newestSnapshotNs;   /* 0 when none */
    int64_t newestRestorableNs; /* see the header comment; 0 when nothing is restorable */
    bool restorableFromWal;     /* newestRestorableNs comes from the WAL archive */
    uint64_t newestBytes;
    int64_t walNewestNs; /* physical: the last archived segment of the window; 0 when none */
    char walLastSegment[MON_WAL_NAME_MAX];
    /* copy_to of a backup job listing it: that repository's newest copy */
    char *copyRepository; /* NULL when none */
    bool copyScanned;
    int64_t copyNewestNs; /* 0 when none */
    /* the last drill of it (state/history.h histListDrills) */
    bool drilled;
    char *lastDrillId;
    int64_t lastDrillMs; /* its start */
    bool lastDrillPassed;
    double lastDrillRtoSeconds, lastDrillRpoSeconds;
    /* issue 14: `stream: true`: its wal-stream's STATE/wal-stream/NAME/status.json
     * (connected false when missing or older than MON_STREAM_STALE_NS) */
    bool streamed;
    bool streamConnected;
    bool streamHasLag;
    int64_t streamLagBytes; /* the slot's restart_lsn behind the server's WAL position */
} MonComponent;
#define MON_STREAM_STALE_NS (60LL * 1000000000)

typedef struct MonJob {
    char *name;
    MonType type;
    char *schedule; /* NULL when none */
    int64_t expectedIntervalSeconds;
    char *repository; /* the repository it works on (copy: the source); NULL when none */
    MonRuns runs;
} MonJob;

typedef struct MonRepository {
    char *name;
    bool isDefault;
    MonScan scan; /* scan.scannedAtMs 0: never scanned */
} MonRepository;

typedef struct MonFacts {
    int64_t nowMs;
    char *configName; /* the configuration's name */
    char *host;       /* this machine's host name (gethostname) */
    MonComponent *components;
    size_t componentCount;
    MonJob *jobs;
    size_t jobCount;
    MonRepository *repositories;
    size_t repositoryCount;
} MonFacts;

/* Collect the facts of cfg at nowMs from hist and the scans given (by
 * repository name; a repository without one has scan.scannedAtMs 0). */
MonFacts *monFactsCollect(const CfgFile *cfg, Hist *hist, const MonScan *scans, size_t scanCount, int64_t nowMs,
                          LbError *err);
void monFactsFree(MonFacts *facts);

/* The achieved RPO of c at facts->nowMs in seconds; -1 when nothing is
 * restorable (or not scanned). */
double monComponentRpoAchieved(const MonFacts *facts, const MonComponent *c);

const MonComponent *monFactsComponent(const MonFacts *facts, const char *name);
const MonJob *monFactsJob(const MonFacts *facts, const char *name);

/* The facts as JSON (new reference): the body of /api/status's "facts". */
struct json_t *monFactsJson(const MonFacts *facts);

#endif
