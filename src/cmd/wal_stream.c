/*
 * wal_stream.c - lifeboat wal-stream --pg CONNECTION --spool DIR [--slot
 * NAME]: receive WAL as it is written, for RPO 0. The work is in
 * src/pg/walstream.c (pg_receivewal) and walstream_spool.c (uploads).
 */
#include <signal.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/log.h"
#include "pg/pgconn.h"
#include "pg/walstream.h"

static volatile sig_atomic_t walStreamStop = 0;

static void onStopSignal(int sig) {
    (void)sig;
    walStreamStop = 1;
}

int cmdWalStream(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    PgConnInfo *ci = NULL;
    Repo *repo = NULL;
    int rc = 1;
    const char *spool = cfgStr(cfg, cfgOptSpool);
    if (args.count > 0 || spool == NULL) {
        lbErr(&err, LB_ERR_ARGS,
              "usage: lifeboat wal-stream --pg CONNECTION --spool DIR [--slot NAME] (the spool must be on durable "
              "storage: it holds acknowledged WAL until it is uploaded)");
        goto fail;
    }
    if (cfgStr(cfg, cfgOptPg) ? !cliConnInfo(&ci, cfgStr(cfg, cfgOptPg), "--pg", &err)
                              : (ci = pgconnInfoNew(NULL, &err)) == NULL)
        goto fail;
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = onStopSignal; /* no SA_RESTART: the loop's sleep ends at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    WalstreamOptions o = {
        .conn = ci,
        .spool = spool,
        .slot = cfgStr(cfg, cfgOptSlot),
        .pgBin = cfgStr(cfg, cfgOptPgBin),
        .stop = &walStreamStop,
    };
    if (!walstreamRun(repo, &o, &err))
        goto fail;
    lbLogInfo("wal-stream stopped; the spool is uploaded");
    rc = 0;
    goto done;
fail:
    rc = cliFailJson(&g, &err);
done:
    repoFree(repo);
    pgconnInfoFree(ci);
    return rc;
}
