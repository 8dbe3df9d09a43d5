/* backup.c - the backup job: files, a stream, a command's output or a bucket into one snapshot. */
#include <stdlib.h>

#include "common/log.h"

#include "job/job.h"
#include "repo/commit.h"
#include "repo/lock.h"
#include "source/bucket.h"
#include "source/command.h"
#include "source/files.h"
#include "source/stream.h"

/* The sources of one run (each NULL unless its kind is the spec's). */
typedef struct BackupSources {
    BucketSource *bucket;
    FileSource *files;
    CommandSource *command;
    SourceStream stream;
    StreamSource streams;
    Source source;
} BackupSources;

static bool sourcesOpen(BackupSources *b, const JobBackup *spec, LbError *err) {
    switch (spec->kind) {
    case JOB_SOURCE_BUCKET:
        b->bucket = bucketSourceNew(spec->paths[0], spec->bucketStorage, err);
        if (b->bucket == NULL)
            return false;
        b->source = bucketSourceSource(b->bucket);
        return true;
    case JOB_SOURCE_FILES: {
        FileSourceOptions fo = {.paths = spec->paths,
                                .pathCount = spec->pathCount,
                                .excludes = spec->excludes,
                                .excludeCount = spec->excludeCount,
                                .oneFileSystem = spec->oneFileSystem};
        b->files = fileSourceNew(&fo);
        b->source = fileSourceSource(b->files);
        return true;
    }
    case JOB_SOURCE_COMMAND:
        b->command = commandSourceNew(spec->command, spec->streamName);
        b->source = commandSourceSource(b->command);
        return true;
    case JOB_SOURCE_STREAM:
        b->stream = (SourceStream){.name = spec->streamName, .fd = spec->streamFd};
        b->streams = (StreamSource){.streams = &b->stream, .count = 1};
        b->source = streamSourceSource(&b->streams);
        return true;
    }
    return lbErr(err, LB_ERR_ARGS, "unknown kind of backup source");
}

static void sourcesClose(BackupSources *b) {
    bucketSourceFree(b->bucket);
    fileSourceFree(b->files);
    commandSourceFree(b->command);
}

/* The parent snapshot: spec->parent (which must exist), else the latest of
 * the same host, component and paths (a stream has none). */
static bool findParent(Repo *repo, const JobBackup *spec, const BackupSources *b, const char *host, Snapshot *parent,
                       bool *found, LbError *err) {
    *found = false;
    if (spec->kind == JOB_SOURCE_STREAM || spec->kind == JOB_SOURCE_COMMAND)
        return true;
    if (spec->parent != NULL) {
        *found = snapshotFind(repo, spec->parent, NULL, parent, err);
        return *found;
    }
    char **abs = lbXcalloc(spec->pathCount + 1, sizeof(char *));
    for (size_t i = 0; i < spec->pathCount; i++)
        abs[i] = b->bucket ? lbXstrdup(bucketSourcePath(b->bucket)) : archiverAbsPath(spec->paths[i]);
    SnapshotFilter f = {.host = host,
                        .component = spec->labels.component,
                        .paths = (const char *const *)abs,
                        .pathCount = spec->pathCount};
    LbError ignored = {0};
    *found = snapshotFind(repo, "latest", &f, parent, &ignored);
    for (size_t i = 0; i < spec->pathCount; i++)
        free(abs[i]);
    free(abs);
    return true;
}

/* With -v: what is backed up, against which parent. */
static void logStart(const JobBackup *spec, const Snapshot *parent) {
    char hex[LB_ID_HEX_LEN + 1] = "";
    if (parent != NULL)
        lbIdToHex(&parent->id, hex);
    bool stream = spec->kind == JOB_SOURCE_STREAM || spec->kind == JOB_SOURCE_COMMAND;
    const char *what = stream ? spec->streamName : spec->paths[0];
    size_t more = stream || spec->pathCount == 0 ? 0 : spec->pathCount - 1;
    if (parent != NULL)
        lbLogInfo("backing up '%s' and %zu more path(s), parent snapshot %.8s", what, more, hex);
    else
        lbLogInfo("backing up '%s' and %zu more path(s), no parent snapshot", what, more);
}

/* The new snapshot of a finished archiver run, committed. */
static bool commitSnapshot(RepoCommit *commit, const JobBackup *spec, const BackupSources *b, const char *host,
                           const Snapshot *parent, const ArchiverResult *res, Snapshot *snap, LbError *err) {
    JobLabels labels = spec->labels;
    labels.host = host;
    jobSnapshotFill(snap, res, &labels);
    for (size_t i = 0; i < spec->excludeCount; i++)
        snapshotAddString(&snap->excludes, &snap->excludeCount, spec->excludes[i]);
    if (parent != NULL) {
        snap->hasParent = true;
        snap->parent = parent->id;
    }
    if (b->bucket)
        snap->meta = bucketSourceMeta(b->bucket);
    return repoCommitSnapshot(commit, res->newPacks, res->newPackCount, snap, err);
}

bool jobBackupRun(Repo *repo, const JobBackup *spec, const JobEnv *env, JobReport *report) {
    JobRun run;
    jobRunBegin(&run, env, NULL);
    LbError err = {0};
    BackupSources b = {0};
    RepoLock *lock = NULL;
    RepoCommit *commit = NULL;
    Snapshot parent = {0}, snap = {0};
    ArchiverResult res = {0};
    bool haveParent = false, ok = false;
    char here[256];
    const char *host = jobHostname(spec->labels.host, here, sizeof(here));
    if (!sourcesOpen(&b, spec, &err))
        goto cleanup;
    lock = repoLockAcquire(repo, false, &err);
    if (lock == NULL)
        goto cleanup;
    commit = repoCommitBegin(repo, &err);
    if (commit == NULL || !findParent(repo, spec, &b, host, &parent, &haveParent, &err))
        goto cleanup;
    logStart(spec, haveParent ? &parent : NULL);
    ArchiverOptions ao = {
        .sources = &b.source, .sourceCount = 1, .force = spec->force, .parent = haveParent ? &parent : NULL};
    jobRunArchiverOptions(&run, &ao);
    if (!archiverRun(repo, &ao, &res, &err)) {
        if (err.code != LB_ERR_ARGS && err.code != LB_ERR_NOT_COMMITTED)
            lbErrorWrap(&err, "no snapshot written");
        goto cleanup;
    }
    if (!commitSnapshot(commit, spec, &b, host, haveParent ? &parent : NULL, &res, &snap, &err))
        goto cleanup;
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap.id, hex);
    lbLogInfo("snapshot %.8s saved", hex);
    jobReportSetSnapshot(report, &snap.id, NULL, NULL);
    jobReportSetBackupSummary(report, &snap.summary, jobRunSeconds(&run));
    for (size_t i = 0; i < res.unreadableCount; i++)
        jobReportWarning(report, true, "%s", res.unreadable[i]);
    for (size_t i = 0; i < res.changedCount; i++)
        jobReportChanged(report, res.changed[i]);
    ok = true;
cleanup:
    if (!ok)
        jobReportFail(report, &err);
    repoCommitFree(commit);
    sourcesClose(&b);
    archiverResultClear(&res);
    snapshotClear(&parent);
    snapshotClear(&snap);
    repoLockRelease(lock);
    jobRunEnd(&run);
    return ok;
}
