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

int cmdPrune(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    PruneOptions o;
    cliPruneOptions(cfg, &o);
    LbError err = {0};
    CliRepo r;
    PruneResult res;
    double start = lbMonotonicSeconds();
    bool ok = cliRepoOpen(&g, CLI_LOCK_EXCLUSIVE, &r, &err) && pruneRun(r.repo, r.lock, &o, &res, &err);
    if (ok && g.json)
        cliPrintJson(pruneResultJson(&o, &res, lbMonotonicSeconds() - start));
    else if (ok && !g.quiet)
        prunePrintText(&o, &res);
    cliRepoClose(&r);
    return cliExit(&g, ok, &err);
}
