/* restore.c - `lifeboat restore SNAPSHOT[:SUBPATH] --target DIR|s3:...`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "restore/bucket_target.h"
#include "restore/restore.h"
#include "source/bucket.h"

typedef struct RestoreCli {
    const char *target;
    const char *const *includes, *const *excludes;
    size_t includeCount, excludeCount;
    bool verify, deleteExtra, dryRun;
} RestoreCli;

static RestoreCli restoreOptions(const CfgValues *cfg) {
    RestoreCli o = {
        .target = cfgStr(cfg, cfgOptTarget),
        .verify = cfgFlag(cfg, cfgOptVerify),
        .deleteExtra = cfgFlag(cfg, cfgOptDelete),
        .dryRun = cfgFlag(cfg, cfgOptDryRun),
    };
    o.includes = cfgList(cfg, cfgOptInclude, &o.includeCount);
    o.excludes = cfgList(cfg, cfgOptExclude, &o.excludeCount);
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
    if (o->includeCount > 0 || o->excludeCount > 0 || o->verify)
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
    double secs = lbMonotonicSeconds() - start;
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap->id, hex);
    if (g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("summary"));
        json_object_set_new(j, "snapshot_id", json_string(hex));
        json_object_set_new(j, "dry_run", json_boolean(o->dryRun));
        json_object_set_new(j, "objects_uploaded", json_integer((json_int_t)res.uploaded));
        json_object_set_new(j, "objects_unchanged", json_integer((json_int_t)res.unchanged));
        json_object_set_new(j, "objects_deleted", json_integer((json_int_t)res.deleted));
        json_object_set_new(j, "bytes_uploaded", json_integer((json_int_t)res.bytesUploaded));
        json_object_set_new(j, "entries_skipped", json_integer((json_int_t)res.skipped));
        json_t *f = json_array();
        for (size_t i = 0; i < res.failedCount; i++)
            json_array_append_new(f, json_string(res.failed[i]));
        json_object_set_new(j, "failed", f);
        json_object_set_new(j, "total_duration", json_real(secs));
        cliPrintJson(j);
    } else if (!g->quiet) {
        char bytes[32], dur[32];
        cliFormatBytes((double)res.bytesUploaded, bytes, sizeof(bytes));
        cliFormatDuration(secs, dur, sizeof(dur));
        if (o->dryRun)
            printf("dry run of snapshot %.8s to '%s': would upload %llu objects (%s), leave %llu unchanged, delete "
                   "%llu; nothing was changed\n",
                   hex, o->target, (unsigned long long)res.uploaded, bytes, (unsigned long long)res.unchanged,
                   (unsigned long long)res.deleted);
        else
            printf("restored snapshot %.8s to '%s': %llu objects uploaded (%s), %llu unchanged, %llu deleted in %s\n",
                   hex, o->target, (unsigned long long)res.uploaded, bytes, (unsigned long long)res.unchanged,
                   (unsigned long long)res.deleted, dur);
    }
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
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap->id, hex);
    if (!restoredSomething) {
        /* refused or failed before writing */
    } else if (g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("summary"));
        json_object_set_new(j, "snapshot_id", json_string(hex));
        json_object_set_new(j, "files_restored", json_integer((json_int_t)res->files));
        json_object_set_new(j, "dirs_restored", json_integer((json_int_t)res->dirs));
        json_object_set_new(j, "hard_links", json_integer((json_int_t)res->links));
        json_object_set_new(j, "bytes_restored", json_integer((json_int_t)res->bytes));
        json_object_set_new(j, "files_verified", json_integer((json_int_t)res->verifiedFiles));
        json_t *d = json_array();
        for (size_t i = 0; i < res->damagedCount; i++)
            json_array_append_new(d, json_string(res->damaged[i]));
        json_object_set_new(j, "damaged", d);
        json_object_set_new(j, "total_duration", json_real(secs));
        cliPrintJson(j);
    } else if (!g->quiet) {
        char bytes[32], dur[32];
        cliFormatBytes((double)res->bytes, bytes, sizeof(bytes));
        cliFormatDuration(secs, dur, sizeof(dur));
        printf("restored snapshot %.8s to '%s': %llu files, %llu dirs, %s in %s\n", hex, o->target,
               (unsigned long long)res->files, (unsigned long long)res->dirs, bytes, dur);
        if (o->verify)
            printf("verified %llu files\n", (unsigned long long)res->verifiedFiles);
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
    RestoreOptions ro = {
        .target = o->target,
        .subpath = subpath,
        .includes = o->includes,
        .includeCount = o->includeCount,
        .excludes = o->excludes,
        .excludeCount = o->excludeCount,
        .verify = o->verify,
        .progress = pr.line ? onProgress : NULL,
        .progressCtx = &pr,
    };
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
    ok = ok && cliRepoOpenForReading(&v.g, CLI_LOCK_SHARED, &r, &v.err) &&
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
