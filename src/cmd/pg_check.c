/*
 * pg_check.c - lifeboat pg-check: is WAL archiving working? The work is in
 * src/pg/archcheck.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archiver/archiver.h"
#include "cmd/cli.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "repo/commit.h"
#include "pg/archcheck.h"
#include "pg/basebackup.h"
#include "pg/pgconn.h"
#include "pg/pitr.h"
#include "pg/pitrrestore.h"
#include "pg/wal.h"
#include "job/pg.h"
#include "pg/walspool.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

/* ======================================================================
 * pg-check
 * ====================================================================== */

static void printCheck(const ArchcheckReport *r) {
    char when[48];
    printf("server:           PostgreSQL %s, %s\n", r->serverVersion, r->inRecovery ? "standby" : "primary");
    printf("archive_mode:     %s\n", r->archiveMode);
    printf("archive_command:  %s\n", r->archiveLibrary[0] ? r->archiveLibrary : r->archiveCommand);
    if (r->lastArchivedWal[0]) {
        lbFormatTimeShort(r->lastArchivedNs, when, sizeof(when));
        printf("last archived:    %s at %s UTC (%" PRIu64 " archived)\n", r->lastArchivedWal, when, r->archivedCount);
    } else {
        printf("last archived:    none\n");
    }
    if (r->failedCount > 0) {
        lbFormatTimeShort(r->lastFailedNs, when, sizeof(when));
        printf("failed:           %" PRIu64 ", last %s at %s UTC\n", r->failedCount, r->lastFailedWal, when);
    } else {
        printf("failed:           0\n");
    }
    if (r->currentWal[0])
        printf("current WAL:      %s\n", r->currentWal);
    if (r->readyCount >= 0)
        printf("waiting:          %ld WAL file(s)\n", r->readyCount);
    if (r->repoChecked)
        printf("repository:       %s %s\n", r->repoHasLast ? "holds" : "MISSES",
               r->lastArchivedWal[0] ? r->lastArchivedWal : "(nothing archived yet)");
    if (r->standbyCount == 0)
        printf("standbys:         none\n");
    for (size_t i = 0; i < r->standbyCount; i++) {
        const ArchcheckStandby *s = &r->standbys[i];
        printf("standby:          %s (%s) %s/%s", s->name, s->client, s->state, s->syncState);
        if (s->hasLagBytes)
            printf(", replay lag %" PRId64 " bytes", s->lagBytes);
        if (s->hasLagSeconds)
            printf(", %.1f s", s->lagSeconds);
        printf("\n");
    }
    for (size_t i = 0; i < r->slotCount; i++) {
        const ArchcheckSlot *sl = &r->slots[i];
        printf("slot:             %s (%s, %s", sl->name, sl->type, sl->active ? "active" : "inactive");
        if (sl->restartLsn[0])
            printf(", restart_lsn %s", sl->restartLsn);
        if (sl->hasLagBytes)
            printf(", lag %" PRId64 " bytes", sl->lagBytes);
        if (sl->walStatus[0])
            printf(", wal_status %s", sl->walStatus);
        printf(")\n");
    }
    if (r->slotCount > 0 && r->maxSlotWalKeepMb < 0)
        printf("slot WAL limit:   unlimited (max_slot_wal_keep_size = -1)\n");
    else if (r->slotCount > 0)
        printf("slot WAL limit:   %" PRId64 " MB (max_slot_wal_keep_size)\n", r->maxSlotWalKeepMb);
    printf("verdict:          %s\n", archcheckVerdictName(r->verdict));
    for (size_t i = 0; i < r->reasonCount; i++)
        printf("  %s\n", r->reasons[i]);
}

int cmdPgCheck(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    ArchcheckLimits limits = {(double)cfgInt(cfg, cfgOptMaxAge), (long)cfgInt(cfg, cfgOptMaxReady),
                              cfgInt(cfg, cfgOptMaxLagBytes), (double)cfgInt(cfg, cfgOptMaxLagSeconds),
                              cfgStr(cfg, cfgOptSlot)};
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    PgConnInfo *ci = NULL;
    PgConn *conn = NULL;
    Storage *st = NULL;
    ArchcheckReport r = {0};
    int rc = 1;
    if (args.count > 0) {
        lbErr(&err, LB_ERR_ARGS, "pg-check takes no arguments (the server is named with --pg CONNINFO)");
        goto fail;
    }
    if (cfgStr(cfg, cfgOptPg) ? !cliConnInfo(&ci, cfgStr(cfg, cfgOptPg), "--pg", &err)
                              : (ci = pgconnInfoNew(NULL, &err)) == NULL)
        goto fail;
    conn = pgconnOpen(ci, &err);
    if (conn == NULL || !archcheckCollect(conn, &r, &err))
        goto fail;
    if (g.repo) {
        /* a STAT needs no password: the object names are not secret */
        st = cliOpenStorage(g.repo, g.storage, &err);
        if (st == NULL)
            goto fail;
        r.repoChecked = true;
        r.repoLocation = lbXstrdup(g.repo);
        if (r.lastArchivedWal[0]) {
            char name[WAL_NAME_MAX + 8];
            StorageInfo si;
            snprintf(name, sizeof(name), WAL_DIR "/%s", r.lastArchivedWal);
            if (!storageStat(st, name, &si, &err))
                goto fail;
            r.repoHasLast = si.exists;
        }
    }
    archcheckJudge(&r, &limits);
    if (g.json)
        cliPrintJson(archcheckToJson(&r));
    else
        printCheck(&r);
    rc = r.verdict == ARCHCHECK_OK ? 0 : 1;
    goto done;
fail:
    rc = cliFailJson(&g, &err);
done:
    archcheckReportClear(&r);
    storageFree(st);
    pgconnClose(conn);
    pgconnInfoFree(ci);
    return rc;
}
