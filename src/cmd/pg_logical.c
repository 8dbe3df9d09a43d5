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

typedef struct PgProgress {
    double start;
} PgProgress;

static void onBackupProgress(void *ctx, const ArchiverProgress *p) {
    PgProgress *ps = ctx;
    double el = lbMonotonicSeconds() - ps->start;
    char bytes[32], rate[32], elapsed[32];
    cliFormatBytes((double)p->bytesDone, bytes, sizeof(bytes));
    cliFormatBytes(el > 0 ? (double)p->bytesDone / el : 0, rate, sizeof(rate));
    cliFormatDuration(el, elapsed, sizeof(elapsed));
    cliProgressLine("[%s] pg_dump: %s  %s/s", elapsed, bytes, rate);
}

/* Did an index file we deduplicated against vanish meanwhile (a prune that
 * ignored our lock)? Then make sure every blob of the tree is still there. */

static json_int_t metaInt(const json_t *meta, const char *key) {
    json_t *v = json_object_get(meta, key);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static const char *metaStr(const json_t *meta, const char *key) {
    json_t *v = json_object_get(meta, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static void printBackupSummary(const GlobalOpts *g, const Snapshot *snap, const PgDumpResult *r, double seconds) {
    const SnapshotSummary *s = &snap->summary;
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap->id, hex);
    json_t *tables = json_object_get(r->meta, "tables");
    size_t tableCount = json_is_object(tables) ? json_object_size(tables) : 0;
    if (g->json) {
        json_t *o = json_object();
        json_object_set_new(o, "message_type", json_string("summary"));
        json_object_set_new(o, "snapshot_id", json_string(hex));
        json_object_set_new(o, "database", json_string(metaStr(r->meta, "database")));
        json_object_set_new(o, "server_version", json_string(metaStr(r->meta, "server_version")));
        json_object_set_new(o, "dump_size", json_integer(metaInt(r->meta, "dump_size")));
        json_object_set_new(o, "globals_size", json_integer(metaInt(r->meta, "globals_size")));
        json_object_set_new(o, "tables", json_integer((json_int_t)tableCount));
        json_object_set_new(o, "verified", json_true());
        json_object_set_new(o, "data_blobs_new", json_integer((json_int_t)s->blobsNew));
        json_object_set_new(o, "data_added", json_integer((json_int_t)s->dataAdded));
        json_object_set_new(o, "data_added_stored", json_integer((json_int_t)s->dataAddedStored));
        json_object_set_new(o, "total_bytes_processed", json_integer((json_int_t)s->totalBytes));
        json_object_set_new(o, "total_duration", json_real(seconds));
        json_object_set_new(o, "meta", json_incref(r->meta));
        cliPrintJson(o);
        return;
    }
    if (g->quiet)
        return;
    char dump[32], added[32], stored[32], dur[32];
    cliFormatBytes((double)metaInt(r->meta, "dump_size"), dump, sizeof(dump));
    cliFormatBytes((double)s->dataAdded, added, sizeof(added));
    cliFormatBytes((double)s->dataAddedStored, stored, sizeof(stored));
    cliFormatDuration(seconds, dur, sizeof(dur));
    printf("Database:    %s (PostgreSQL %s)\n", metaStr(r->meta, "database"), metaStr(r->meta, "server_version"));
    printf("Dump:        %s, %zu tables, row counts %s\n", dump, tableCount, metaStr(r->meta, "row_counts"));
    printf("Verified:    pg_restore read the dump back; its table of contents (%lld entries) lists every table\n",
           (long long)metaInt(r->meta, "toc_entries"));
    printf("Added:       %s (%s stored) in %s\n", added, stored, dur);
    printf("snapshot %.8s saved\n", hex);
}

int cmdBackupPgLogical(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    PgConnInfo *conn = NULL;
    size_t tagCount = 0;
    const char *const *tags = cfgList(cfg, cfgOptTag, &tagCount);
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    Snapshot snap = {0};
    PgDumpResult res = {0};
    RepoCommit *commit = NULL;
    int rc = 1;
    double start = lbMonotonicSeconds();
    if (!takeConnInfo(&conn, cfgStr(cfg, cfgOptPg), "--pg", &err))
        goto fail;
    if (args.count > 0) {
        lbErr(&err, LB_ERR_ARGS, "backup --pg takes no paths or command");
        goto fail;
    }
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    lock = repoLockAcquire(repo, false, &err);
    if (lock == NULL)
        goto fail;
    commit = repoCommitBegin(repo, &err);
    if (commit == NULL)
        goto fail;

    PgProgress ps = {start};
    PgDumpOptions po = {
        .conn = conn,
        .binDir = cfgStr(cfg, cfgOptPgBin),
        .countMode = cfgEnum(cfg, cfgOptPgCountRows) == 1 ? PGDUMP_COUNT_ESTIMATE : PGDUMP_COUNT_EXACT,
        .noGlobals = cfgFlag(cfg, cfgOptPgNoGlobals),
        .progress = cliProgressEnabled(&g) ? onBackupProgress : NULL,
        .progressCtx = &ps,
    };
    bool ok = pgdumpBackup(repo, &po, &res, &err);
    cliProgressDone();
    if (res.warnings)
        fprintf(stderr, "%s\n", res.warnings);
    if (!ok)
        goto fail;

    cliSnapshotFill(&snap, &res.archive, cfgInt(cfg, cfgOptTime), cfgStr(cfg, cfgOptHost), tags, tagCount,
                    cfgStr(cfg, cfgOptComponent), cfgStr(cfg, cfgOptRecoveryPoint));
    snap.summary = res.archive.summary;
    snap.chunkProfile = REPO_CHUNK_DUMP;
    snap.meta = json_incref(res.meta);
    if (!repoCommitSnapshot(commit, res.archive.newPacks, res.archive.newPackCount, &snap, &err))
        goto fail;
    printBackupSummary(&g, &snap, &res, lbMonotonicSeconds() - start);
    rc = 0;
    goto done;
fail:
    rc = cliFail(&err);
done:
    repoCommitFree(commit);
    pgdumpResultClear(&res);
    snapshotClear(&snap);
    repoLockRelease(lock);
    repoFree(repo);
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
int cmdRestorePgLogical(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    PgConnInfo *target = NULL; /* owned */
    PgRestoreOptions ro = restorePgOptions(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    Snapshot snap = {0};
    PgRestoreResult res = {0};
    int rc = 1;
    double start = lbMonotonicSeconds();
    if (!takeConnInfo(&target, cfgStr(cfg, cfgOptPgTarget), "--pg-target", &err))
        goto fail;
    if (args.count != 1) {
        lbErr(&err, LB_ERR_ARGS, "restore --pg-target needs exactly one snapshot (an ID, or 'latest')");
        goto fail;
    }
    ro.target = target;
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    lock = repoLockAcquire(repo, false, &err);
    if (lock == NULL)
        goto fail;
    if (!repoLoadIndex(repo, &err))
        goto fail;
    SnapshotFilter f = cliFilter(cfg);
    if (!pgdumpFindSnapshot(repo, args.positional[0], &f, &snap, &err))
        goto fail;
    bool ok = pgdumpRestore(repo, &snap, &ro, &res, &err);
    if (res.warnings)
        fprintf(stderr, "%s\n", res.warnings);
    if (!ok)
        goto fail;
    double secs = lbMonotonicSeconds() - start;
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap.id, hex);
    char *db = pgconnInfoDatabase(target);
    if (g.json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("summary"));
        json_object_set_new(j, "snapshot_id", json_string(hex));
        json_object_set_new(j, "database", json_string(db ? db : ""));
        json_object_set_new(j, "dump_size", json_integer((json_int_t)res.dumpBytes));
        json_object_set_new(j, "tables_verified", json_integer((json_int_t)res.tablesVerified));
        json_object_set_new(j, "total_duration", json_real(secs));
        cliPrintJson(j);
    } else if (!g.quiet) {
        char bytes[32], dur[32];
        cliFormatBytes((double)res.dumpBytes, bytes, sizeof(bytes));
        cliFormatDuration(secs, dur, sizeof(dur));
        printf("restored snapshot %.8s into database '%s': %s dump in %s\n", hex, db ? db : "?", bytes, dur);
        if (ro.verify)
            printf("verified the row counts of %zu tables\n", res.tablesVerified);
    }
    free(db);
    rc = 0;
    goto done;
fail:
    rc = cliFail(&err);
done:
    pgdumpRestoreResultClear(&res);
    snapshotClear(&snap);
    repoLockRelease(lock);
    repoFree(repo);
    pgconnInfoFree(target);
    return rc;
}
