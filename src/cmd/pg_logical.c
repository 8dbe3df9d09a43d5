/*
 * pg_logical.c - `lifeboat backup --pg CONN` (pg_dump into the repository,
 * verified before the snapshot is written) and
 * `lifeboat restore SNAPSHOT --pg-target CONN` (pg_restore from it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "repo/commit.h"
#include "pg/pgconn.h"
#include "pg/pgdump.h"
#include "job/pg.h"

/* ------------------------------------------------------------ backup --pg */

/* Parse a connection string option into *out and hide its password in our
 * argv (value points into it) so `ps` does not show it. */
static bool takeConnInfo(PgConnInfo **out, const char *value, const char *option, LbError *err) {
    PgConnInfo *info = pgconnInfoNew(value, err);
    pgconnScrubArg((char *)value);
    if (info == NULL)
        return lbErrorWrap(err, "invalid %s", option);
    pgconnInfoFree(*out);
    *out = info;
    return true;
}

static bool runPgLogical(Repo *repo, const void *spec, const JobEnv *env, JobReport *report) {
    return jobPgLogicalRun(repo, spec, env, report);
}

int cmdBackupPgLogical(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    JobPgLogical spec = {
        .binDir = cfgStr(cfg, cfgOptPgBin),
        .countMode = cfgEnum(cfg, cfgOptPgCountRows) == 1 ? PGDUMP_COUNT_ESTIMATE : PGDUMP_COUNT_EXACT,
        .noGlobals = cfgFlag(cfg, cfgOptPgNoGlobals),
        .labels = cliJobLabels(cfg),
    };
    PgConnInfo *conn = NULL;
    if (!takeConnInfo(&conn, cfgStr(cfg, cfgOptPg), "--pg", &err))
        return cliFailJson(&g, &err);
    int rc;
    if (args.count > 0) {
        lbErr(&err, LB_ERR_ARGS, "backup --pg takes no paths or command");
        rc = cliFailJson(&g, &err);
    } else {
        spec.conn = conn;
        rc = cliRunJob(&g, "pg-logical-backup", runPgLogical, &spec);
    }
    pgconnInfoFree(conn);
    return rc;
}

/* ------------------------------------------------------------ restore --pg-target */

/* pg_restore's options from the parsed command line */
static PgRestoreOptions restorePgOptions(const CfgValues *cfg) {
    return (PgRestoreOptions){
        .binDir = cfgStr(cfg, cfgOptPgBin),
        .create = cfgFlag(cfg, cfgOptCreate),
        .clean = cfgFlag(cfg, cfgOptClean),
        .jobs = (int)cfgInt(cfg, cfgOptJobs),
        .globals = cfgFlag(cfg, cfgOptGlobals),
        .noOwner = cfgFlag(cfg, cfgOptNoOwner),
        .noAcl = cfgFlag(cfg, cfgOptNoAcl),
        .verify = cfgFlag(cfg, cfgOptVerify),
    };
}

/* "latest" is the newest logical PostgreSQL snapshot matching the filter;
 * anything else an ID prefix. */
static void printPgRestore(const GlobalOpts *g, const PgRestoreOptions *ro, const Snapshot *snap,
                           const PgRestoreResult *res, double secs) {
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap->id, hex);
    char *db = pgconnInfoDatabase(ro->target);
    if (g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("summary"));
        json_object_set_new(j, "snapshot_id", json_string(hex));
        json_object_set_new(j, "database", json_string(db ? db : ""));
        json_object_set_new(j, "dump_size", json_integer((json_int_t)res->dumpBytes));
        json_object_set_new(j, "tables_verified", json_integer((json_int_t)res->tablesVerified));
        json_object_set_new(j, "total_duration", json_real(secs));
        cliPrintJson(j);
    } else if (!g->quiet) {
        char bytes[32], dur[32];
        cliFormatBytes((double)res->dumpBytes, bytes, sizeof(bytes));
        cliFormatDuration(secs, dur, sizeof(dur));
        printf("restored snapshot %.8s into database '%s': %s dump in %s\n", hex, db ? db : "?", bytes, dur);
        if (ro->verify)
            printf("verified the row counts of %zu tables\n", res->tablesVerified);
    }
    free(db);
}

int cmdRestorePgLogical(const CfgValues *cfg) {
    CliVerb v = cliVerb(cfg);
    PgConnInfo *target = NULL; /* owned */
    PgRestoreOptions ro = restorePgOptions(cfg);
    CliRepo r = {0};
    Snapshot snap = {0};
    PgRestoreResult res = {0};
    double start = lbMonotonicSeconds();
    bool ok = takeConnInfo(&target, cfgStr(cfg, cfgOptPgTarget), "--pg-target", &v.err);
    if (ok && v.args.count != 1)
        ok = lbErr(&v.err, LB_ERR_ARGS, "restore --pg-target needs exactly one snapshot (an ID, or 'latest')");
    ro.target = target;
    ok = ok && cliRepoOpenForReading(&v.g, CLI_LOCK_SHARED, &r, &v.err) &&
         pgdumpFindSnapshot(r.repo, v.args.positional[0], &v.filter, &snap, &v.err);
    if (ok) {
        ok = pgdumpRestore(r.repo, &snap, &ro, &res, &v.err);
        if (res.warnings)
            fprintf(stderr, "%s\n", res.warnings);
    }
    if (ok)
        printPgRestore(&v.g, &ro, &snap, &res, lbMonotonicSeconds() - start);
    pgdumpRestoreResultClear(&res);
    snapshotClear(&snap);
    cliRepoClose(&r);
    pgconnInfoFree(target);
    return cliExit(&v.g, ok, &v.err);
}
