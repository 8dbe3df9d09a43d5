/* pg.c - the PostgreSQL backup jobs: logical (pg_dump) and physical (base backup). */
#include "job/pg.h"

#include <inttypes.h>
#include <stdio.h>

#include "common/timeutil.h"
#include "pg/basebackup.h"
#include "pg/bbstandby.h"
#include "pg/wal.h"
#include "repo/commit.h"
#include "repo/lock.h"

/* The lock and commit every backup job holds while it runs. */
typedef struct PgHold {
    RepoLock *lock;
    RepoCommit *commit;
} PgHold;

static bool holdBegin(Repo *repo, PgHold *h, LbError *err) {
    h->lock = repoLockAcquire(repo, false, err);
    if (h->lock == NULL)
        return false;
    h->commit = repoCommitBegin(repo, err);
    return h->commit != NULL;
}

static void holdEnd(PgHold *h) {
    repoCommitFree(h->commit);
    repoLockRelease(h->lock);
}

/* ------------------------------------------------------------ logical */

static json_int_t metaInt(const json_t *meta, const char *key) {
    json_t *v = json_object_get(meta, key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static const char *metaStr(const json_t *meta, const char *key) {
    json_t *v = json_object_get(meta, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* The data counters every backup report has in JSON. */
static void reportAdded(JobReport *r, const SnapshotSummary *s, bool blobs) {
    if (blobs)
        jobReportJsonSet(r, "data_blobs_new", json_integer((json_int_t)s->blobsNew));
    jobReportJsonSet(r, "data_added", json_integer((json_int_t)s->dataAdded));
    jobReportJsonSet(r, "data_added_stored", json_integer((json_int_t)s->dataAddedStored));
    jobReportJsonSet(r, "total_bytes_processed", json_integer((json_int_t)s->totalBytes));
}

static void reportLogical(JobReport *r, const Snapshot *snap, const PgDumpResult *res, double seconds) {
    const SnapshotSummary *s = &snap->summary;
    const json_t *meta = res->meta;
    json_t *tables = json_object_get(meta, "tables");
    size_t tableCount = json_is_object(tables) ? json_object_size(tables) : 0;
    jobReportSetSnapshot(r, &snap->id, NULL, NULL);
    jobReportJsonSet(r, "database", json_string(metaStr(meta, "database")));
    jobReportJsonSet(r, "server_version", json_string(metaStr(meta, "server_version")));
    jobReportJsonSet(r, "dump_size", json_integer(metaInt(meta, "dump_size")));
    jobReportJsonSet(r, "globals_size", json_integer(metaInt(meta, "globals_size")));
    jobReportJsonSet(r, "tables", json_integer((json_int_t)tableCount));
    jobReportJsonSet(r, "verified", json_true());
    reportAdded(r, s, true);
    jobReportSetSeconds(r, seconds);
    jobReportJsonSet(r, "meta", json_incref(res->meta));

    char dump[32], added[32], stored[32], dur[32];
    jobFormatBytes((double)metaInt(meta, "dump_size"), dump, sizeof(dump));
    jobFormatBytes((double)s->dataAdded, added, sizeof(added));
    jobFormatBytes((double)s->dataAddedStored, stored, sizeof(stored));
    jobFormatDuration(seconds, dur, sizeof(dur));
    jobReportRow(r, "Database", "%s (PostgreSQL %s)", metaStr(meta, "database"), metaStr(meta, "server_version"));
    jobReportRow(r, "Dump", "%s, %zu tables, row counts %s", dump, tableCount, metaStr(meta, "row_counts"));
    jobReportRow(r, "Verified", "pg_restore read the dump back; its table of contents (%lld entries) lists every table",
                 (long long)metaInt(meta, "toc_entries"));
    jobReportRow(r, "Added", "%s (%s stored) in %s", added, stored, dur);
}

bool jobPgLogicalRun(Repo *repo, const JobPgLogical *spec, const JobEnv *env, JobReport *report) {
    JobRun run;
    jobRunBegin(&run, env, "pg_dump");
    LbError err = {0};
    PgHold hold = {0};
    Snapshot snap = {0};
    PgDumpResult res = {0};
    bool ok = false;
    if (!holdBegin(repo, &hold, &err))
        goto cleanup;
    PgDumpOptions po = {
        .conn = spec->conn,
        .binDir = spec->binDir,
        .countMode = spec->countMode,
        .noGlobals = spec->noGlobals,
        .progress = run.env->progress ? jobRunArchiverProgress : NULL,
        .progressCtx = &run,
    };
    bool dumped = pgdumpBackup(repo, &po, &res, &err);
    if (res.warnings)
        lbLogWarn("%s", res.warnings);
    if (!dumped)
        goto cleanup;
    jobSnapshotFill(&snap, &res.archive, &spec->labels);
    snap.chunkProfile = REPO_CHUNK_DUMP;
    snap.meta = json_incref(res.meta);
    if (!repoCommitSnapshot(hold.commit, res.archive.newPacks, res.archive.newPackCount, &snap, &err))
        goto cleanup;
    reportLogical(report, &snap, &res, jobRunSeconds(&run));
    ok = true;
cleanup:
    if (!ok)
        jobReportFail(report, &err);
    holdEnd(&hold);
    pgdumpResultClear(&res);
    snapshotClear(&snap);
    jobRunEnd(&run);
    return ok;
}

/* ------------------------------------------------------------ physical */

static void reportPhysical(JobReport *r, const Snapshot *snap, const BasebackupInfo *in, double seconds) {
    const SnapshotSummary *s = &snap->summary;
    jobReportSetSnapshot(r, &snap->id, NULL, NULL);
    reportAdded(r, s, false);
    jobReportSetSeconds(r, seconds);
    jobReportJsonSet(r, "pg", json_incref(snap->meta));

    char start[32], stop[32], total[32], added[32], stored[32], dur[32];
    walLsnFormat(in->startLsn, start, sizeof(start));
    walLsnFormat(in->stopLsn, stop, sizeof(stop));
    jobFormatBytes((double)s->totalBytes, total, sizeof(total));
    jobFormatBytes((double)s->dataAdded, added, sizeof(added));
    jobFormatBytes((double)s->dataAddedStored, stored, sizeof(stored));
    jobFormatDuration(seconds, dur, sizeof(dur));
    jobReportRow(r, "Base backup", "%s .. %s on timeline %" PRIu32 " (PostgreSQL %s, system %" PRIu64 ")", start, stop,
                 in->startTimeline, in->serverVersion, in->systemId);
    jobReportRow(r, "Tar", "%s in %" PRIu64 " members; added %s (%s stored) in %s", total, in->tarEntries, added,
                 stored, dur);
}

/* The latest base backup of host and component, the new one's parent. */
static bool findPhysicalParent(Repo *repo, const JobLabels *l, Snapshot *parent) {
    const char *path = "/" BASEBACKUP_STREAM_NAME;
    SnapshotFilter f = {.host = l->host, .component = l->component, .paths = &path, .pathCount = 1};
    LbError ignored = {0};
    return snapshotFind(repo, "latest", &f, parent, &ignored);
}

bool jobPgPhysicalRun(Repo *repo, const JobPgPhysical *spec, const JobEnv *env, JobReport *report) {
    JobRun run;
    jobRunBegin(&run, env, "base backup");
    LbError err = {0};
    PgHold hold = {0};
    Basebackup *bb = NULL;
    Snapshot parent = {0}, snap = {0};
    ArchiverResult res = {0};
    BasebackupInfo info = {0};
    bool ok = false;
    int streamFd = -1;
    char here[256], label[128], when[48];
    JobLabels labels = spec->labels;
    labels.host = jobHostname(labels.host, here, sizeof(here));
    if (labels.component == NULL)
        labels.component = BASEBACKUP_DEFAULT_COMPONENT;
    if (!holdBegin(repo, &hold, &err))
        goto cleanup;
    bool haveParent = findPhysicalParent(repo, &labels, &parent);
    lbFormatTimeShort(lbNowNs(), when, sizeof(when));
    snprintf(label, sizeof(label), spec->label ? "%s" : "lifeboat %s", spec->label ? spec->label : when);
    BasebackupOptions bo = {.conn = spec->conn,
                            .pgBin = spec->pgBin,
                            .spreadCheckpoint = spec->spreadCheckpoint,
                            .walNone = spec->walNone,
                            .label = label,
                            .primary = spec->primary};
    bb = basebackupStart(&bo, &streamFd, &err);
    if (bb == NULL)
        goto cleanup;
    Source source = basebackupSource(bb);
    ArchiverOptions ao = {.sources = &source, .sourceCount = 1};
    jobRunArchiverOptions(&run, &ao);
    if (!archiverRun(repo, &ao, &res, &err)) {
        basebackupFree(bb); /* stops pg_basebackup */
        bb = NULL;
        lbErrorWrap(&err, "unable to store the base backup");
        goto cleanup;
    }
    if (!basebackupFinish(bb, &info, &err))
        goto cleanup;
    /* from a standby: the primary finishes the last segment, its archive_command stores it */
    if (info.fromStandby && spec->primary &&
        !bbStandbyFinish(spec->primary, repo, &info,
                         spec->archiveWaitSeconds > 0 ? spec->archiveWaitSeconds : BB_STANDBY_ARCHIVE_WAIT_SECONDS,
                         &err))
        goto cleanup;
    jobSnapshotFill(&snap, &res, &labels);
    if (haveParent) {
        snap.hasParent = true;
        snap.parent = parent.id;
    }
    snap.meta = basebackupInfoToJson(&info);
    if (!repoCommitSnapshot(hold.commit, res.newPacks, res.newPackCount, &snap, &err))
        goto cleanup;
    reportPhysical(report, &snap, &info, jobRunSeconds(&run));
    ok = true;
cleanup:
    if (!ok)
        jobReportFail(report, &err);
    basebackupFree(bb);
    holdEnd(&hold);
    archiverResultClear(&res);
    snapshotClear(&parent);
    snapshotClear(&snap);
    jobRunEnd(&run);
    return ok;
}
