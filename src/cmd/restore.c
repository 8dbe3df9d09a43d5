/* restore.c - `lifeboat restore SNAPSHOT[:SUBPATH] --target DIR`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "restore/restore.h"

enum { O_TARGET = 1, O_INCLUDE, O_EXCLUDE, O_VERIFY, O_HOST, O_TAG, O_COMPONENT };

static const CliOption restoreOptions[] = {
    {"target", 't', true, O_TARGET},   {"include", 'i', true, O_INCLUDE}, {"exclude", 'e', true, O_EXCLUDE},
    {"verify", 0, false, O_VERIFY},    {"host", 'H', true, O_HOST},       {"tag", 0, true, O_TAG},
    {"component", 0, true, O_COMPONENT}, {NULL, 0, false, 0},
};

typedef struct RestoreCli {
    const char *target;
    const char **includes, **excludes, **tags;
    size_t includeCount, excludeCount, tagCount;
    bool verify;
    const char *host, *component;
} RestoreCli;

static void push(const char ***arr, size_t *n, const char *v) {
    *arr = lbXrealloc(*arr, (*n + 1) * sizeof(char *));
    (*arr)[(*n)++] = v;
}

static bool onOption(void *ctx, int id, const char *v, LbError *err) {
    RestoreCli *o = ctx;
    switch (id) {
    case O_TARGET:
        o->target = v;
        return true;
    case O_INCLUDE:
        push(&o->includes, &o->includeCount, v);
        return true;
    case O_EXCLUDE:
        push(&o->excludes, &o->excludeCount, v);
        return true;
    case O_VERIFY:
        o->verify = true;
        return true;
    case O_HOST:
        o->host = v;
        return true;
    case O_TAG:
        push(&o->tags, &o->tagCount, v);
        return true;
    case O_COMPONENT:
        o->component = v;
        return true;
    }
    return lbErr(err, LB_ERR_ARGS, "unhandled option");
}

typedef struct Prog {
    double start;
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
    cliProgressLine("[%s] %5.1f%%  %llu files  %s / %s  ETA %s", elapsed, pct, (unsigned long long)p->filesTotal,
                    done, total, eta);
}

int cmdRestore(int argc, char **argv) {
    GlobalOpts g = {0};
    RestoreCli o = {0};
    CliArgs args;
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    Snapshot snap = {0};
    RestoreResult res = {0};
    char *ref = NULL;
    int rc = 1;
    double start = lbMonotonicSeconds();
    if (!cliParse(argc, argv, restoreOptions, onOption, &o, &g, &args, &err))
        goto fail;
    if (args.count != 1) {
        lbErr(&err, LB_ERR_ARGS, "restore needs exactly one snapshot (an ID, or 'latest'), optionally SNAPSHOT:PATH");
        goto fail;
    }
    if (o.target == NULL) {
        lbErr(&err, LB_ERR_ARGS, "restore needs --target DIR");
        goto fail;
    }
    ref = lbXstrdup(args.positional[0]);
    char *subpath = strchr(ref, ':');
    if (subpath)
        *subpath++ = '\0';
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    lock = repoLockAcquire(repo, false, &err);
    if (lock == NULL)
        goto fail;
    if (!repoLoadIndex(repo, &err))
        goto fail;
    SnapshotFilter f = {.host = o.host, .component = o.component, .tags = o.tags, .tagCount = o.tagCount};
    if (!snapshotFind(repo, ref, &f, &snap, &err))
        goto fail;
    Prog pr = {start};
    RestoreOptions ro = {
        .target = o.target,
        .subpath = subpath && subpath[0] ? subpath : NULL,
        .includes = o.includes,
        .includeCount = o.includeCount,
        .excludes = o.excludes,
        .excludeCount = o.excludeCount,
        .verify = o.verify,
        .progress = cliProgressEnabled(&g) ? onProgress : NULL,
        .progressCtx = &pr,
    };
    bool ok = restoreRun(repo, &snap, &ro, &res, &err);
    cliProgressDone();
    for (size_t i = 0; i < res.warningCount; i++)
        fprintf(stderr, "warning: %s\n", res.warnings[i]);
    double secs = lbMonotonicSeconds() - start;
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap.id, hex);
    bool restoredSomething = ok || err.code == LB_ERR_INCOMPLETE;
    if (!restoredSomething) {
        /* refused or failed before writing: no summary that could read as success */
    } else if (g.json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("summary"));
        json_object_set_new(j, "snapshot_id", json_string(hex));
        json_object_set_new(j, "files_restored", json_integer((json_int_t)res.files));
        json_object_set_new(j, "dirs_restored", json_integer((json_int_t)res.dirs));
        json_object_set_new(j, "hard_links", json_integer((json_int_t)res.links));
        json_object_set_new(j, "bytes_restored", json_integer((json_int_t)res.bytes));
        json_object_set_new(j, "files_verified", json_integer((json_int_t)res.verifiedFiles));
        json_t *d = json_array();
        for (size_t i = 0; i < res.damagedCount; i++)
            json_array_append_new(d, json_string(res.damaged[i]));
        json_object_set_new(j, "damaged", d);
        json_object_set_new(j, "total_duration", json_real(secs));
        cliPrintJson(j);
    } else if (!g.quiet) {
        char bytes[32], dur[32];
        cliFormatBytes((double)res.bytes, bytes, sizeof(bytes));
        cliFormatDuration(secs, dur, sizeof(dur));
        printf("restored snapshot %.8s to '%s': %llu files, %llu dirs, %s in %s\n", hex, o.target,
               (unsigned long long)res.files, (unsigned long long)res.dirs, bytes, dur);
        if (o.verify)
            printf("verified %llu files\n", (unsigned long long)res.verifiedFiles);
    }
    if (res.damagedCount) {
        fprintf(stderr, "lifeboat: these files are damaged (restored as far as possible):\n");
        for (size_t i = 0; i < res.damagedCount; i++)
            fprintf(stderr, "  %s\n", res.damaged[i]);
    }
    if (!ok)
        goto fail;
    rc = 0;
    goto done;
fail:
    rc = cliFail(&err);
done:
    restoreResultClear(&res);
    snapshotClear(&snap);
    repoLockRelease(lock);
    repoFree(repo);
    free(ref);
    free(o.includes);
    free(o.excludes);
    free(o.tags);
    cliArgsFree(&args);
    return rc;
}
