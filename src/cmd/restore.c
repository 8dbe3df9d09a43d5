/* restore.c - `lifeboat restore SNAPSHOT[:SUBPATH] --target DIR|s3:...`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"
#include "restore/bucket_target.h"
#include "restore/restore.h"
#include "source/bucket.h"

/* The options of a restore: a directory's (restore/restore.h) and those
 * only an s3: target takes. */
typedef struct RestoreCli {
    RestoreOptions dir; /* target, includes, excludes, verify */
    const char *target;
    bool verify, deleteExtra, dryRun;
} RestoreCli;

static RestoreCli restoreOptions(const CfgValues *cfg) {
    RestoreCli o = {.target = cfgStr(cfg, cfgOptTarget), .verify = cfgFlag(cfg, cfgOptVerify)};
    o.deleteExtra = cfgFlag(cfg, cfgOptDelete);
    o.dryRun = cfgFlag(cfg, cfgOptDryRun);
    o.dir.target = o.target;
    o.dir.verify = o.verify;
    o.dir.includes = cfgList(cfg, cfgOptInclude, &o.dir.includeCount);
    o.dir.excludes = cfgList(cfg, cfgOptExclude, &o.dir.excludeCount);
    return o;
}

typedef struct Prog {
    double start;
    CliProgress *line; /* NULL: no progress line */
} Prog;

static void onProgress(void *ctx, const RestoreProgress *p) {
    Prog *pr = ctx;
    double el = lbMonotonicSeconds() - pr->start;
    char done[32], total[32], elapsed[32], eta[32];
    cliFormatBytes((double)p->bytesDone, done, sizeof(done));
    cliFormatBytes((double)p->bytesTotal, total, sizeof(total));
    cliFormatDuration(el, elapsed, sizeof(elapsed));
    double rate = el > 0 ? (double)p->bytesDone / el : 0;
    cliFormatDuration(rate > 0 ? (double)(p->bytesTotal - p->bytesDone) / rate : 0, eta, sizeof(eta));
    double pct = p->bytesTotal ? 100.0 * (double)p->bytesDone / (double)p->bytesTotal : 100.0;
    cliProgressShow(pr->line, "[%s] %5.1f%%  %llu files  %s / %s  ETA %s", elapsed, pct,
                    (unsigned long long)p->filesTotal, done, total, eta);
}

/* A restore's report: its kind and the snapshot restored (not "saved"). */
static JobReport *restoreReport(const Snapshot *snap) {
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap->id, hex);
    JobReport *report = jobReportNew("restore");
    jobReportJsonSet(report, "snapshot_id", json_string(hex));
    return report;
}

typedef struct BucketCtx {
    const GlobalOpts *g;
    bool print;
} BucketCtx;

static void onBucketAction(void *ctx, const char *action, const char *key) {
    const BucketCtx *b = ctx;
    if (!b->print)
        return;
    if (b->g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("action"));
        json_object_set_new(j, "action", json_string(action));
        json_object_set_new(j, "key", json_string(key));
        cliPrintJson(j);
    } else {
        char safe[4 * 1024 + 64]; /* a key is at most 1024 bytes; control characters print as \xNN */
        printf("%s %s\n", action, lbPrintable(key, safe, sizeof(safe)));
    }
}

/* restore into an S3 bucket (restore/bucket_target.h) */
static bool restoreToBucket(const GlobalOpts *g, const RestoreCli *o, Repo *repo, const Snapshot *snap,
                            const char *subpath, double start, LbError *err) {
    if (o->dir.includeCount > 0 || o->dir.excludeCount > 0 || o->verify)
        return lbErr(err, LB_ERR_ARGS, "--include, --exclude and --verify do not apply to an s3: target");
    BucketCtx bc = {g, o->dryRun || g->verbose > 0};
    Prog pr = {start, o->dryRun ? NULL : cliProgressNew(g)};
    BucketTargetOptions bo = {
        .location = o->target,
        .storage = g->storage,
        .subpath = subpath,
        .deleteExtra = o->deleteExtra,
        .dryRun = o->dryRun,
        .action = onBucketAction,
        .actionCtx = &bc,
        .progress = pr.line ? onProgress : NULL,
        .progressCtx = &pr,
    };
    BucketTargetResult res = {0};
    bool ok = bucketTargetRun(repo, snap, &bo, &res, err);
    cliProgressFree(pr.line);
    JobReport *report = restoreReport(snap);
    char bytes[32], dur[32];
    double secs = lbMonotonicSeconds() - start;
    cliFormatBytes((double)res.bytesUploaded, bytes, sizeof(bytes));
    cliFormatDuration(secs, dur, sizeof(dur));
    jobReportJsonSet(report, "dry_run", json_boolean(o->dryRun));
    jobReportJsonSet(report, "objects_uploaded", json_integer((json_int_t)res.uploaded));
    jobReportJsonSet(report, "objects_unchanged", json_integer((json_int_t)res.unchanged));
    jobReportJsonSet(report, "objects_deleted", json_integer((json_int_t)res.deleted));
    jobReportJsonSet(report, "bytes_uploaded", json_integer((json_int_t)res.bytesUploaded));
    jobReportJsonSet(report, "entries_skipped", json_integer((json_int_t)res.skipped));
    jobReportJsonSet(report, "failed", lbJsonStrings(res.failed, res.failedCount));
    jobReportSetSeconds(report, secs);
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap->id, hex);
    if (o->dryRun)
        jobReportLine(report,
                      "dry run of snapshot %.8s to '%s': would upload %llu objects (%s), leave %llu unchanged, "
                      "delete %llu; nothing was changed",
                      hex, o->target, (unsigned long long)res.uploaded, bytes, (unsigned long long)res.unchanged,
                      (unsigned long long)res.deleted);
    else
        jobReportLine(report,
                      "restored snapshot %.8s to '%s': %llu objects uploaded (%s), %llu unchanged, %llu "
                      "deleted in %s",
                      hex, o->target, (unsigned long long)res.uploaded, bytes, (unsigned long long)res.unchanged,
                      (unsigned long long)res.deleted, dur);
    cliPrintReport(g, report);
    jobReportFree(report);
    if (res.failedCount) {
        fprintf(stderr, "lifeboat: these objects could not be restored:\n");
        for (size_t i = 0; i < res.failedCount; i++)
            fprintf(stderr, "  %s\n", res.failed[i]);
    }
    bucketTargetResultClear(&res);
    return ok;
}

/* The summary of a directory restore, and the files it could not restore
 * intact; nothing when it was refused or failed before writing (no summary
 * that could read as success). */
static void printDirSummary(const GlobalOpts *g, const RestoreCli *o, const Snapshot *snap, const RestoreResult *res,
                            bool restoredSomething, double secs) {
    if (restoredSomething) { /* else refused or failed before writing */
        JobReport *report = restoreReport(snap);
        jobReportJsonSet(report, "files_restored", json_integer((json_int_t)res->files));
        jobReportJsonSet(report, "dirs_restored", json_integer((json_int_t)res->dirs));
        jobReportJsonSet(report, "hard_links", json_integer((json_int_t)res->links));
        jobReportJsonSet(report, "bytes_restored", json_integer((json_int_t)res->bytes));
        jobReportJsonSet(report, "files_verified", json_integer((json_int_t)res->verifiedFiles));
        jobReportJsonSet(report, "damaged", lbJsonStrings(res->damaged, res->damagedCount));
        jobReportSetSeconds(report, secs);
        char hex[LB_ID_HEX_LEN + 1], bytes[32], dur[32];
        lbIdToHex(&snap->id, hex);
        cliFormatBytes((double)res->bytes, bytes, sizeof(bytes));
        cliFormatDuration(secs, dur, sizeof(dur));
        jobReportLine(report, "restored snapshot %.8s to '%s': %llu files, %llu dirs, %s in %s", hex, o->target,
                      (unsigned long long)res->files, (unsigned long long)res->dirs, bytes, dur);
        if (o->verify)
            jobReportLine(report, "verified %llu files", (unsigned long long)res->verifiedFiles);
        cliPrintReport(g, report);
        jobReportFree(report);
    }
    if (res->damagedCount) {
        fprintf(stderr, "lifeboat: these files are damaged (restored as far as possible):\n");
        for (size_t i = 0; i < res->damagedCount; i++)
            fprintf(stderr, "  %s\n", res->damaged[i]);
    }
}

/* into a directory (restore/restore.h) */
static bool restoreToDir(const GlobalOpts *g, const RestoreCli *o, Repo *repo, const Snapshot *snap,
                         const char *subpath, double start, LbError *err) {
    RestoreResult res = {0};
    Prog pr = {start, cliProgressNew(g)};
    RestoreOptions ro = o->dir;
    ro.subpath = subpath;
    ro.progress = pr.line ? onProgress : NULL;
    ro.progressCtx = &pr;
    bool ok = restoreRun(repo, snap, &ro, &res, err);
    cliProgressFree(pr.line);
    for (size_t i = 0; i < res.warningCount; i++)
        fprintf(stderr, "warning: %s\n", res.warnings[i]);
    printDirSummary(g, o, snap, &res, ok || err->code == LB_ERR_INCOMPLETE, lbMonotonicSeconds() - start);
    restoreResultClear(&res);
    return ok;
}

int cmdRestore(const CfgValues *cfg) {
    CliVerb v = cliVerb(cfg);
    RestoreCli o = restoreOptions(cfg);
    CliRepo r = {0};
    Snapshot snap = {0};
    char *ref = NULL, *subpath = NULL;
    double start = lbMonotonicSeconds();
    bool toBucket = o.target != NULL && bucketSourceIsLocation(o.target), ok = false;
    if (v.args.count != 1)
        lbErr(&v.err, LB_ERR_ARGS, "restore needs exactly one snapshot (an ID, or 'latest'), optionally SNAPSHOT:PATH");
    else if (o.target == NULL)
        lbErr(&v.err, LB_ERR_ARGS, "restore needs --target DIR");
    else if (!toBucket && (o.deleteExtra || o.dryRun))
        lbErr(&v.err, LB_ERR_ARGS, "--delete and --dry-run apply to an s3: target only");
    else
        ok = true;
    if (ok) {
        ref = lbXstrdup(v.args.positional[0]);
        subpath = strchr(ref, ':');
        if (subpath)
            *subpath++ = '\0';
        if (subpath && subpath[0] == '\0')
            subpath = NULL;
    }
    ok = ok && cliRepoOpenForReading(&v.g, CLI_LOCK_READ_SHARED, &r, &v.err) &&
         snapshotFind(r.repo, ref, &v.filter, &snap, &v.err);
    if (ok && toBucket)
        ok = restoreToBucket(&v.g, &o, r.repo, &snap, subpath, start, &v.err);
    else if (ok)
        ok = restoreToDir(&v.g, &o, r.repo, &snap, subpath, start, &v.err);
    snapshotClear(&snap);
    cliRepoClose(&r);
    free(ref);
    return cliExit(&v.g, ok, &v.err);
}
