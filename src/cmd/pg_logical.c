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

int cmdBackupPgLogical(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    JobSpec spec = {.kind = JOB_PG_LOGICAL};
    spec.pgLogical = (JobPgLogical){
        .binDir = cfgStr(cfg, cfgOptPgBin),
        .countMode = cfgEnum(cfg, cfgOptPgCountRows) == 1 ? PGDUMP_COUNT_ESTIMATE : PGDUMP_COUNT_EXACT,
        .noGlobals = cfgFlag(cfg, cfgOptPgNoGlobals),
        .labels = cliJobLabels(cfg),
    };
    PgConnInfo *conn = NULL;
    if (!cliConnInfo(&conn, cfgStr(cfg, cfgOptPg), "--pg", &err))
        return cliFailJson(&g, &err);
    int rc;
    if (args.count > 0) {
        lbErr(&err, LB_ERR_ARGS, "backup --pg takes no paths or command");
        rc = cliFailJson(&g, &err);
    } else {
        spec.pgLogical.conn = conn;
        rc = cliRunJob(&g, &spec);
    }
    pgconnInfoFree(conn);
    return rc;
}

/* ------------------------------------------------------------ restore --pg-target */

/* pg_restore's options from the parsed command line */
static PgRestoreOptions restorePgOptions(const CfgValues *cfg) {
    size_t tableCount = 0, schemaCount = 0;
    const char *const *tables = cfgList(cfg, cfgOptTable, &tableCount);
    const char *const *schemas = cfgList(cfg, cfgOptSchema, &schemaCount);
    return (PgRestoreOptions){
        .binDir = cfgStr(cfg, cfgOptPgBin),
        .create = cfgFlag(cfg, cfgOptCreate),
        .clean = cfgFlag(cfg, cfgOptClean),
        .jobs = (int)cfgInt(cfg, cfgOptJobs),
        .globals = cfgFlag(cfg, cfgOptGlobals),
        .noOwner = cfgFlag(cfg, cfgOptNoOwner),
        .noAcl = cfgFlag(cfg, cfgOptNoAcl),
        .verify = cfgFlag(cfg, cfgOptVerify),
        .tables = tables,
        .tableCount = tableCount,
        .schemas = schemas,
        .schemaCount = schemaCount,
    };
}

/* "latest" is the newest logical PostgreSQL snapshot matching the filter;
 * anything else an ID prefix. */
static void printPgRestore(const GlobalOpts *g, const PgRestoreOptions *ro, const Snapshot *snap,
                           const PgRestoreResult *res, double secs) {
    char hex[LB_ID_HEX_LEN + 1], bytes[32], dur[32];
    lbIdToHex(&snap->id, hex);
    cliFormatBytes((double)res->dumpBytes, bytes, sizeof(bytes));
    cliFormatDuration(secs, dur, sizeof(dur));
    char *db = pgconnInfoDatabase(ro->target);
    JobReport *report = jobReportNew("pg-logical-restore");
    jobReportJsonSet(report, "snapshot_id", json_string(hex));
    jobReportJsonSet(report, "database", json_string(db ? db : ""));
    jobReportJsonSet(report, "dump_size", json_integer((json_int_t)res->dumpBytes));
    jobReportJsonSet(report, "tables_verified", json_integer((json_int_t)res->tablesVerified));
    jobReportSetSeconds(report, secs);
    jobReportLine(report, "restored snapshot %.8s into database '%s': %s dump in %s", hex, db ? db : "?", bytes, dur);
    if (ro->tableCount > 0 || ro->schemaCount > 0) {
        jobReportJsonSet(report, "toc_entries", json_integer((json_int_t)res->tocEntries));
        jobReportJsonSet(report, "toc_entries_restored", json_integer((json_int_t)res->tocSelected));
        jobReportLine(report, "restored %zu of the dump's %zu table-of-contents entries (--table, --schema)",
                      res->tocSelected, res->tocEntries);
    }
    if (ro->verify)
        jobReportLine(report, "verified the row counts of %zu tables", res->tablesVerified);
    cliPrintReport(g, report);
    jobReportFree(report);
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
    bool ok = cliConnInfo(&target, cfgStr(cfg, cfgOptPgTarget), "--pg-target", &v.err);
    if (ok && v.args.count != 1)
        ok = lbErr(&v.err, LB_ERR_ARGS, "restore --pg-target needs exactly one snapshot (an ID, or 'latest')");
    ro.target = target;
    ok = ok && cliRepoOpenForReading(&v.g, CLI_LOCK_READ_SHARED, &r, &v.err) &&
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
