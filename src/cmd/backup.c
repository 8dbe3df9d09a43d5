/* backup.c - `lifeboat backup`: files, stdin, a command's output, or an S3 bucket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/archiver.h"
#include "cmd/cli.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "repo/commit.h"
#include "source/bucket.h"
#include "source/command.h"
#include "source/files.h"
#include "source/stream.h"

typedef struct BackupOpts {
    const char *const *tags;
    size_t tagCount;
    const char *host;
    int64_t timeNs; /* 0: now */
    const char *component;
    char **excludes; /* owned: --exclude and the lines of --exclude-file */
    size_t excludeCount;
    bool oneFs, stdinMode, stdinCmd, force;
    const char *stdinName;
    const char *parent;
    const char *recoveryPoint;
} BackupOpts;

static void addStr(char ***arr, size_t *n, const char *s) {
    *arr = lbXrealloc(*arr, (*n + 1) * sizeof(char *));
    (*arr)[(*n)++] = lbXstrdup(s);
}

static bool readExcludeFile(BackupOpts *o, const char *path, LbError *err) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return lbErrSys(err, "unable to read exclude file '%s'", path);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        addStr(&o->excludes, &o->excludeCount, line);
    }
    free(line);
    fclose(f);
    return true;
}

/* What to back up: paths, or one stream (standard input, a command's
 * output) named by --stdin-filename or after the command. */
static bool checkSources(BackupOpts *o, const CliArgs *args, LbError *err) {
    bool streamMode = o->stdinMode || o->stdinCmd;
    if (o->stdinCmd && args->afterCount == 0)
        return lbErr(err, LB_ERR_ARGS, "--stdin-from-command needs a command after '--'");
    if (!streamMode && args->count == 0)
        return lbErr(err, LB_ERR_ARGS, "nothing to back up: give one or more paths, --stdin or --stdin-from-command");
    if (streamMode && args->count > 0)
        return lbErr(err, LB_ERR_ARGS, "paths cannot be combined with --stdin or --stdin-from-command");
    if (streamMode && o->stdinName == NULL) {
        const char *cmd = o->stdinCmd ? args->afterDashDash[0] : "stdin";
        const char *slash = strrchr(cmd, '/');
        o->stdinName = slash && slash[1] ? slash + 1 : cmd;
    }
    return true;
}

/* The parsed options, with the patterns of every --exclude-file read. */
static bool backupOptions(const CfgValues *cfg, const CliArgs *args, BackupOpts *o, LbError *err) {
    *o = (BackupOpts){
        .host = cfgStr(cfg, cfgOptHost),
        .timeNs = cfgInt(cfg, cfgOptTime),
        .component = cfgStr(cfg, cfgOptComponent),
        .oneFs = cfgFlag(cfg, cfgOptOneFileSystem),
        .stdinMode = cfgFlag(cfg, cfgOptStdin),
        .stdinCmd = cfgFlag(cfg, cfgOptStdinFromCommand),
        .force = cfgFlag(cfg, cfgOptForce),
        .stdinName = cfgStr(cfg, cfgOptStdinFilename),
        .parent = cfgStr(cfg, cfgOptParent),
        .recoveryPoint = cfgStr(cfg, cfgOptRecoveryPoint),
    };
    o->tags = cfgList(cfg, cfgOptTag, &o->tagCount);
    size_t n = 0;
    const char *const *ex = cfgList(cfg, cfgOptExclude, &n);
    for (size_t i = 0; i < n; i++)
        addStr(&o->excludes, &o->excludeCount, ex[i]);
    const char *const *files = cfgList(cfg, cfgOptExcludeFile, &n);
    for (size_t i = 0; i < n; i++)
        if (!readExcludeFile(o, files[i], err))
            return false;
    return checkSources(o, args, err);
}

typedef struct ProgressState {
    double start;
} ProgressState;

static void onProgress(void *ctx, const ArchiverProgress *p) {
    ProgressState *ps = ctx;
    double el = lbMonotonicSeconds() - ps->start;
    char bytes[32], total[32], rate[32], elapsed[32], eta[32] = "?";
    double r = el > 0 ? (double)p->bytesDone / el : 0;
    cliFormatBytes((double)p->bytesDone, bytes, sizeof(bytes));
    cliFormatBytes((double)p->bytesTotal, total, sizeof(total));
    cliFormatBytes(r, rate, sizeof(rate));
    cliFormatDuration(el, elapsed, sizeof(elapsed));
    if (p->bytesTotal > p->bytesDone && r > 0)
        cliFormatDuration((double)(p->bytesTotal - p->bytesDone) / r, eta, sizeof(eta));
    else if (p->bytesTotal > 0)
        snprintf(eta, sizeof(eta), "0:00");
    cliProgressLine("[%s] %llu / %llu files  %s / %s  %s/s  ETA %s", elapsed, (unsigned long long)p->filesDone,
                    (unsigned long long)p->filesTotal, bytes, total, rate, eta);
}

static void printSummary(const GlobalOpts *g, const Snapshot *snap, const ArchiverResult *res, double seconds) {
    const SnapshotSummary *s = &snap->summary;
    if (g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "message_type", json_string("summary"));
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&snap->id, hex);
        json_object_set_new(o, "snapshot_id", json_string(hex));
        json_object_set_new(o, "files_new", json_integer((json_int_t)s->filesNew));
        json_object_set_new(o, "files_changed", json_integer((json_int_t)s->filesChanged));
        json_object_set_new(o, "files_unmodified", json_integer((json_int_t)s->filesUnmodified));
        json_object_set_new(o, "files_unreadable", json_integer((json_int_t)s->filesUnreadable));
        json_object_set_new(o, "dirs_new", json_integer((json_int_t)s->dirsNew));
        json_object_set_new(o, "dirs_changed", json_integer((json_int_t)s->dirsChanged));
        json_object_set_new(o, "dirs_unmodified", json_integer((json_int_t)s->dirsUnmodified));
        json_object_set_new(o, "data_blobs_new", json_integer((json_int_t)s->blobsNew));
        json_object_set_new(o, "tree_blobs_new", json_integer((json_int_t)s->treeBlobsNew));
        json_object_set_new(o, "data_added", json_integer((json_int_t)s->dataAdded));
        json_object_set_new(o, "data_added_stored", json_integer((json_int_t)s->dataAddedStored));
        json_object_set_new(o, "total_files_processed", json_integer((json_int_t)s->totalFiles));
        json_object_set_new(o, "total_bytes_processed", json_integer((json_int_t)s->totalBytes));
        json_object_set_new(o, "total_duration", json_real(seconds));
        json_t *un = json_array();
        for (size_t i = 0; i < res->unreadableCount; i++)
            json_array_append_new(un, json_string(res->unreadable[i]));
        json_object_set_new(o, "unreadable", un);
        cliPrintJson(o);
        return;
    }
    if (g->quiet)
        return;
    char added[32], stored[32], total[32], dur[32], hex[LB_ID_HEX_LEN + 1];
    cliFormatBytes((double)s->dataAdded, added, sizeof(added));
    cliFormatBytes((double)s->dataAddedStored, stored, sizeof(stored));
    cliFormatBytes((double)s->totalBytes, total, sizeof(total));
    cliFormatDuration(seconds, dur, sizeof(dur));
    lbIdToHex(&snap->id, hex);
    printf("Files:       %llu new, %llu changed, %llu unmodified\n", (unsigned long long)s->filesNew,
           (unsigned long long)s->filesChanged, (unsigned long long)s->filesUnmodified);
    printf("Dirs:        %llu new, %llu changed, %llu unmodified\n", (unsigned long long)s->dirsNew,
           (unsigned long long)s->dirsChanged, (unsigned long long)s->dirsUnmodified);
    printf("Added:       %s (%s stored)\n", added, stored);
    printf("Processed:   %llu files, %s in %s\n", (unsigned long long)s->totalFiles, total, dur);
    printf("snapshot %.8s saved\n", hex);
}

int cmdBackup(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    BackupOpts o = {0};
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    Snapshot parent = {0}, snap = {0};
    ArchiverResult res = {0};
    bool haveParent = false;
    int rc = 1;
    RepoCommit *commit = NULL;
    BucketSource *bucket = NULL;
    FileSource *files = NULL;
    CommandSource *command = NULL;
    double start = lbMonotonicSeconds();
    if (!backupOptions(cfg, &args, &o, &err))
        goto fail;
    bool streamMode = o.stdinMode || o.stdinCmd;
    if (!streamMode && bucketSourceIsLocation(args.positional[0])) {
        if (args.count > 1 || o.excludeCount > 0 || o.oneFs) {
            lbErr(&err, LB_ERR_ARGS, "a bucket is backed up on its own: one s3: location, without --exclude or -x");
            goto fail;
        }
        bucket = bucketSourceNew(args.positional[0], g.storage, &err);
        if (bucket == NULL)
            goto fail;
    }
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    lock = repoLockAcquire(repo, false, &err);
    if (lock == NULL)
        goto fail;
    commit = repoCommitBegin(repo, &err);
    if (commit == NULL)
        goto fail;

    char host[256] = "unknown";
    gethostname(host, sizeof(host) - 1);
    const char *hostname = o.host ? o.host : host;
    char **absPaths = lbXcalloc(args.count + 1, sizeof(char *));
    for (size_t i = 0; i < args.count; i++)
        absPaths[i] = bucket ? lbXstrdup(bucketSourcePath(bucket)) : archiverAbsPath(args.positional[i]);
    if (!streamMode) {
        SnapshotFilter f = {.host = hostname,
                            .component = o.component,
                            .paths = (const char *const *)absPaths,
                            .pathCount = args.count};
        LbError perr = {0};
        if (o.parent)
            haveParent = snapshotFind(repo, o.parent, NULL, &parent, &perr);
        else
            haveParent = snapshotFind(repo, "latest", &f, &parent, &perr);
        if (!haveParent && o.parent) {
            err = perr;
            goto failPaths;
        }
    }
    SourceStream stream = {.name = o.stdinName, .fd = STDIN_FILENO};
    StreamSource streams = {.streams = &stream, .count = 1};
    FileSourceOptions fo = {.paths = (const char *const *)args.positional,
                            .pathCount = args.count,
                            .excludes = (const char *const *)o.excludes,
                            .excludeCount = o.excludeCount,
                            .oneFileSystem = o.oneFs};
    files = streamMode || bucket ? NULL : fileSourceNew(&fo);
    command = o.stdinCmd ? commandSourceNew(args.afterDashDash, o.stdinName) : NULL;
    Source source = bucket    ? bucketSourceSource(bucket)
                    : files   ? fileSourceSource(files)
                    : command ? commandSourceSource(command)
                              : streamSourceSource(&streams);
    ProgressState ps = {start};
    bool progress = cliProgressEnabled(&g);
    ArchiverOptions ao = {
        .sources = &source,
        .sourceCount = 1,
        .force = o.force,
        .parent = haveParent ? &parent : NULL,
        .progress = progress ? onProgress : NULL,
        .progressCtx = &ps,
    };
    bool ok = archiverRun(repo, &ao, &res, &err);
    cliProgressDone();
    if (!ok) {
        if (err.code != LB_ERR_ARGS && err.code != LB_ERR_NOT_COMMITTED)
            lbErrorWrap(&err, "no snapshot written");
        goto failPaths;
    }

    cliSnapshotFill(&snap, &res, o.timeNs, hostname, o.tags, o.tagCount, o.component, o.recoveryPoint);
    for (size_t i = 0; i < o.excludeCount; i++)
        snapshotAddString(&snap.excludes, &snap.excludeCount, o.excludes[i]);
    if (haveParent) {
        snap.hasParent = true;
        snap.parent = parent.id;
    }
    snap.summary = res.summary;
    if (bucket)
        snap.meta = bucketSourceMeta(bucket);
    if (!repoCommitSnapshot(commit, res.newPacks, res.newPackCount, &snap, &err))
        goto failPaths;
    printSummary(&g, &snap, &res, lbMonotonicSeconds() - start);
    rc = 0;
    if (res.unreadableCount > 0) {
        fprintf(stderr, "lifeboat: snapshot saved, but %zu file(s) could not be read:\n", res.unreadableCount);
        for (size_t i = 0; i < res.unreadableCount; i++)
            fprintf(stderr, "  %s\n", res.unreadable[i]);
        rc = lbErrorExitCode(LB_ERR_INCOMPLETE);
    }
    for (size_t i = 0; i < args.count; i++)
        free(absPaths[i]);
    free(absPaths);
    goto done;
failPaths:
    for (size_t i = 0; i < args.count; i++)
        free(absPaths[i]);
    free(absPaths);
fail:
    rc = cliFail(&err);
done:
    repoCommitFree(commit);
    bucketSourceFree(bucket);
    fileSourceFree(files);
    commandSourceFree(command);
    archiverResultClear(&res);
    snapshotClear(&parent);
    snapshotClear(&snap);
    repoLockRelease(lock);
    repoFree(repo);
    for (size_t i = 0; i < o.excludeCount; i++)
        free(o.excludes[i]);
    free(o.excludes);
    return rc;
}
