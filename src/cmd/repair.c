/* repair.c - `lifeboat repair index | snapshots [SNAPSHOT...]` (maint/repair.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "maint/repair.h"

static void printIndexText(bool dryRun, const RepairIndexResult *r) {
    for (uint64_t i = 0; i < r->packsDamaged; i++)
        printf("damaged pack left out: %s\n", r->damaged[i]);
    printf("%spacks: %llu read, %llu damaged; %llu blobs indexed; index files: %llu %s, %llu %s\n",
           dryRun ? "[dry run] " : "", (unsigned long long)r->packsRead, (unsigned long long)r->packsDamaged,
           (unsigned long long)r->blobsIndexed, (unsigned long long)r->indexFilesWritten,
           dryRun ? "would be written" : "written", (unsigned long long)r->indexFilesRemoved,
           dryRun ? "would be removed" : "removed");
}

static int repairIndex(const GlobalOpts *g, bool dryRun) {
    LbError err = {0};
    CliRepo r;
    RepairIndexResult res = {0};
    double start = lbMonotonicSeconds();
    bool ok = cliRepoOpen(g, CLI_LOCK_EXCLUSIVE, &r, &err) && repairIndexRun(r.repo, r.lock, dryRun, &res, &err);
    if (ok && g->json)
        cliPrintJson(repairIndexResultJson(dryRun, &res, lbMonotonicSeconds() - start));
    else if (ok && !g->quiet)
        printIndexText(dryRun, &res);
    if (ok && res.packsDamaged > 0) {
        /* the index is rewritten, but the damaged packs' blobs are not in it */
        ok = lbErr(&err, LB_ERR_INCOMPLETE,
                   "%llu pack(s) could not be read and are not indexed: run 'lifeboat repair snapshots' to drop "
                   "what they held from the snapshots",
                   (unsigned long long)res.packsDamaged);
    }
    repairIndexResultClear(&res);
    cliRepoClose(&r);
    return cliExit(g, ok, &err);
}

static void printSnapshotsText(bool dryRun, const RepairSnapshotsResult *r) {
    for (size_t i = 0; i < r->count; i++) {
        const RepairSnapshot *s = &r->items[i];
        char old[LB_ID_HEX_LEN + 1], neu[LB_ID_HEX_LEN + 1];
        lbIdToHex(&s->old, old);
        lbIdToHex(&s->new, neu);
        if (s->hasNew)
            printf("snapshot %.8s: saved as %.8s (tag repaired; the original is %s)\n", old, neu,
                   s->forgotten ? "forgotten" : "kept");
        else
            printf("snapshot %.8s: %s\n", old, dryRun ? "would be repaired" : "lost data");
        for (size_t k = 0; k < s->lossCount; k++) {
            char *shown = lbPrintableDup(s->losses[k].path);
            printf("  %s %s: %s\n", s->losses[k].dir ? "emptied directory" : "removed file", shown,
                   s->losses[k].reason);
            free(shown);
        }
    }
    printf("%s%llu snapshots checked, %llu repaired before (skipped), %zu %s, %llu files removed, %llu directories "
           "emptied\n",
           dryRun ? "[dry run] " : "", (unsigned long long)r->snapshotsChecked, (unsigned long long)r->alreadyRepaired,
           r->count, dryRun ? "would be repaired" : "repaired", (unsigned long long)r->filesRemoved,
           (unsigned long long)r->dirsEmptied);
}

static int repairSnapshots(const GlobalOpts *g, bool dryRun, bool forget, const CliArgs *a) {
    LbError err = {0};
    CliRepo r;
    RepairSnapshotsResult res = {0};
    double start = lbMonotonicSeconds();
    bool ok = cliRepoOpen(g, CLI_LOCK_EXCLUSIVE, &r, &err) &&
              repairSnapshotsRun(r.repo, r.lock, (const char *const *)a->positional + 1, a->count - 1, dryRun, forget,
                                 &res, &err);
    if (ok && g->json)
        cliPrintJson(repairSnapshotsResultJson(dryRun, &res, lbMonotonicSeconds() - start));
    else if (ok && !g->quiet)
        printSnapshotsText(dryRun, &res);
    repairSnapshotsResultClear(&res);
    cliRepoClose(&r);
    return cliExit(g, ok, &err);
}

int cmdRepair(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs a = cliArgs(cfg);
    bool dryRun = cfgFlag(cfg, cfgOptDryRun);
    LbError err = {0};
    if (a.count >= 1 && strcmp(a.positional[0], "index") == 0) {
        if (a.count > 1) {
            lbErr(&err, LB_ERR_ARGS, "repair index takes no further arguments (got '%s')", a.positional[1]);
            return cliFailJson(&g, &err);
        }
        if (cfgFlag(cfg, cfgOptRepairForget)) {
            lbErr(&err, LB_ERR_ARGS, "--forget applies to repair snapshots, not repair index");
            return cliFailJson(&g, &err);
        }
        return repairIndex(&g, dryRun);
    }
    if (a.count >= 1 && strcmp(a.positional[0], "snapshots") == 0)
        return repairSnapshots(&g, dryRun, cfgFlag(cfg, cfgOptRepairForget), &a);
    if (a.count == 0)
        lbErr(&err, LB_ERR_ARGS, "repair needs what to repair: 'index' or 'snapshots'");
    else
        lbErr(&err, LB_ERR_ARGS, "repair: unknown subcommand '%s' (expected 'index' or 'snapshots')", a.positional[0]);
    return cliFailJson(&g, &err);
}
