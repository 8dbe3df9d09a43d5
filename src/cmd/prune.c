/* prune.c - `lifeboat prune`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/walret.h"
#include "common/timeutil.h"
#include "maint/prune.h"

void cliPruneOptions(const CfgValues *cfg, PruneOptions *out) {
    *out = (PruneOptions){
        .maxUnusedPercent = cfgPercent(cfg, cfgOptMaxUnused),
        .maxRepackBytes = (uint64_t)cfgInt(cfg, cfgOptMaxRepackSize),
        .dryRun = cfgFlag(cfg, cfgOptDryRun),
    };
}

void prunePrintText(const PruneOptions *o, const PruneResult *r) {
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

bool cliWalRetainOptions(const CfgValues *cfg, WalRetainOptions *out) {
    *out = (WalRetainOptions){
        .windowSeconds = cfgInt(cfg, cfgOptKeepWalWithin),
        .dryRun = cfgFlag(cfg, cfgOptDryRun),
    };
    return cfgIsSet(cfg, cfgOptKeepWalWithin);
}

void cliWalRetainPrint(const WalRetainOptions *o, const WalRetainResult *r) {
    char bytes[32], window[80] = "";
    for (size_t i = 0; i < r->deletedCount && o->dryRun; i++)
        printf("would remove wal/%s\n", r->deleted[i]);
    if (!r->ran) {
        printf("WAL: the selected snapshots hold no physical base backup: no WAL removed\n");
        return;
    }
    if (r->backupsKept == 0) {
        printf("WAL: no physical base backup is kept: no WAL removed (%llu file(s) in wal/)\n",
               (unsigned long long)r->filesListed);
        return;
    }
    cliFormatBytes((double)r->bytesDeleted, bytes, sizeof(bytes));
    if (r->windowStartNs != INT64_MIN) {
        char t[32];
        lbFormatTimeShort(r->windowStartNs, t, sizeof(t));
        snprintf(window, sizeof(window), "; kept %llu archived in the window (since %s)",
                 (unsigned long long)r->keptWindow, t);
    }
    printf("WAL: %s %llu of %llu file(s), %s (%llu segment(s), %llu partial, %llu history, %llu .backup)%s; kept %llu "
           "archived after the oldest kept base backup started\n",
           o->dryRun ? "would remove" : "removed", (unsigned long long)r->filesDeleted,
           (unsigned long long)r->filesListed, bytes, (unsigned long long)r->segments, (unsigned long long)r->partials,
           (unsigned long long)r->histories, (unsigned long long)r->backupFiles, window,
           (unsigned long long)r->keptRecent);
}

int cmdPrune(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    PruneOptions o;
    cliPruneOptions(cfg, &o);
    LbError err = {0};
    CliRepo r;
    PruneResult res;
    WalRetainOptions wo;
    WalRetainResult wr = {0};
    SnapshotList list = {0};
    bool wal = cliWalRetainOptions(cfg, &wo);
    double start = lbMonotonicSeconds();
    bool ok = cliRepoOpen(&g, CLI_LOCK_EXCLUSIVE, &r, &err) && pruneRun(r.repo, r.lock, &o, &res, &err);
    /* the WAL pass over every cluster: after the data, so a failure there leaves prune's work done */
    ok = ok &&
         (!wal || (snapshotLoadAll(r.repo, &list, &err) && walRetainRun(r.repo, r.lock, &list, NULL, &wo, &wr, &err)));
    if (ok && g.json) {
        json_t *j = pruneResultJson(&o, &res, lbMonotonicSeconds() - start);
        if (wal)
            json_object_set_new(j, "wal", walRetainResultJson(&wo, &wr));
        cliPrintJson(j);
    } else if (ok && !g.quiet) {
        prunePrintText(&o, &res);
        if (wal)
            cliWalRetainPrint(&wo, &wr);
    }
    walRetainResultClear(&wr);
    snapshotListFree(&list);
    cliRepoClose(&r);
    return cliExit(&g, ok, &err);
}
