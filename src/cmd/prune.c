/* prune.c - `lifeboat prune`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "maint/prune.h"

void cliPruneOptions(const CfgValues *cfg, PruneOptions *out) {
    *out = (PruneOptions){
        .maxUnusedPercent = cfgPercent(cfg, cfgOptMaxUnused),
        .maxRepackBytes = (uint64_t)cfgInt(cfg, cfgOptMaxRepackSize),
        .dryRun = cfgFlag(cfg, cfgOptDryRun),
    };
}

void prunePrintResult(const GlobalOpts *g, const PruneOptions *o, const PruneResult *r, double secs) {
    if (g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("prune"));
        json_object_set_new(j, "dry_run", json_boolean(o->dryRun));
        json_object_set_new(j, "snapshots", json_integer((json_int_t)r->snapshots));
        json_object_set_new(j, "blobs_total", json_integer((json_int_t)r->blobsTotal));
        json_object_set_new(j, "blobs_used", json_integer((json_int_t)r->blobsUsed));
        json_object_set_new(j, "bytes_used", json_integer((json_int_t)r->bytesUsed));
        json_object_set_new(j, "bytes_unused", json_integer((json_int_t)r->bytesUnused));
        json_object_set_new(j, "packs_total", json_integer((json_int_t)r->packsTotal));
        json_object_set_new(j, "packs_deleted", json_integer((json_int_t)r->packsDeleted));
        json_object_set_new(j, "packs_repacked", json_integer((json_int_t)r->packsRepacked));
        json_object_set_new(j, "packs_kept", json_integer((json_int_t)r->packsKept));
        json_object_set_new(j, "packs_unreferenced", json_integer((json_int_t)r->packsUnreferenced));
        json_object_set_new(j, "bytes_deleted", json_integer((json_int_t)r->bytesDeleted));
        json_object_set_new(j, "bytes_repacked", json_integer((json_int_t)r->bytesRepacked));
        json_object_set_new(j, "bytes_unused_after", json_integer((json_int_t)r->bytesUnusedAfter));
        json_object_set_new(j, "bytes_read", json_integer((json_int_t)r->bytesRead));
        json_object_set_new(j, "temporary_files_removed", json_integer((json_int_t)r->temporaryRemoved));
        json_object_set_new(j, "index_files_before", json_integer((json_int_t)r->indexFilesBefore));
        json_object_set_new(j, "index_files_after", json_integer((json_int_t)r->indexFilesAfter));
        json_object_set_new(j, "total_duration", json_real(secs));
        cliPrintJson(j);
        return;
    }
    if (g->quiet)
        return;
    char used[32], unused[32], del[32], rep[32], after[32], rd[32];
    cliFormatBytes((double)r->bytesUsed, used, sizeof(used));
    cliFormatBytes((double)r->bytesUnused, unused, sizeof(unused));
    cliFormatBytes((double)r->bytesDeleted, del, sizeof(del));
    cliFormatBytes((double)r->bytesRepacked, rep, sizeof(rep));
    cliFormatBytes((double)r->bytesUnusedAfter, after, sizeof(after));
    cliFormatBytes((double)r->bytesRead, rd, sizeof(rd));
    printf("%s%llu snapshots: %llu of %llu blobs used (%s used, %s unused)\n", o->dryRun ? "[dry run] " : "",
           (unsigned long long)r->snapshots, (unsigned long long)r->blobsUsed, (unsigned long long)r->blobsTotal, used,
           unused);
    printf("packs: %llu deleted, %llu repacked (%s of used data copied), %llu kept, %llu unreferenced removed\n",
           (unsigned long long)r->packsDeleted, (unsigned long long)r->packsRepacked, rep,
           (unsigned long long)r->packsKept, (unsigned long long)r->packsUnreferenced);
    printf("%s %s, %s unused space left, %s read from the repository\n", o->dryRun ? "would free" : "freed", del, after,
           rd);
}

int cmdPrune(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    PruneOptions o;
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    PruneResult r;
    int rc = 1;
    double start = lbMonotonicSeconds();
    cliPruneOptions(cfg, &o);
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    lock = repoLockAcquire(repo, true, &err);
    if (lock == NULL || !pruneRun(repo, lock, &o, &r, &err))
        goto fail;
    prunePrintResult(&g, &o, &r, lbMonotonicSeconds() - start);
    rc = 0;
    goto done;
fail:
    rc = cliFail(&err);
done:
    repoLockRelease(lock);
    repoFree(repo);
    return rc;
}
