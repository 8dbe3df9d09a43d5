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

enum {
    B_PG = 1,
    B_PG_BIN,
    B_COUNT_ROWS,
    B_NO_GLOBALS,
    B_TAG,
    B_HOST,
    B_TIME,
    B_COMPONENT,
    B_RECOVERY_POINT,
};

static const CliOption backupPgOptions[] = {
    {"pg", 0, true, B_PG},
    {"pg-bin", 0, true, B_PG_BIN},
    {"pg-count-rows", 0, true, B_COUNT_ROWS},
    {"pg-no-globals", 0, false, B_NO_GLOBALS},
    {"tag", 0, true, B_TAG},
    {"host", 'H', true, B_HOST},
    {"time", 0, true, B_TIME},
    {"component", 0, true, B_COMPONENT},
    {"recovery-point", 0, true, B_RECOVERY_POINT},
    {NULL, 0, false, 0},
};

typedef struct BackupPgCli {
    PgConnInfo *conn; /* parsed --pg (owned) */
    const char *binDir;
    PgDumpCountMode countMode;
    bool noGlobals;
    char **tags;
    size_t tagCount;
    const char *host, *component, *recoveryPoint;
    bool hasTime;
    int64_t timeNs;
} BackupPgCli;

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

static bool onBackupOption(void *ctx, int id, const char *v, LbError *err) {
    BackupPgCli *o = ctx;
    switch (id) {
    case B_PG:
        return takeConnInfo(&o->conn, v, "--pg", err);
    case B_PG_BIN:
        o->binDir = v;
        return true;
    case B_COUNT_ROWS:
        if (strcmp(v, "exact") == 0)
            o->countMode = PGDUMP_COUNT_EXACT;
        else if (strcmp(v, "estimate") == 0)
            o->countMode = PGDUMP_COUNT_ESTIMATE;
        else
            return lbErr(err, LB_ERR_ARGS, "invalid --pg-count-rows '%s': expected exact or estimate", v);
        return true;
    case B_NO_GLOBALS:
        o->noGlobals = true;
        return true;
    case B_TAG: {
        char *copy = lbXstrdup(v), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            o->tags = lbXrealloc(o->tags, (o->tagCount + 1) * sizeof(char *));
            o->tags[o->tagCount++] = lbXstrdup(t);
        }
        free(copy);
        return true;
    }
    case B_HOST:
        o->host = v;
        return true;
    case B_TIME:
        if (!lbParseTime(v, &o->timeNs))
            return lbErr(err, LB_ERR_ARGS, "invalid --time '%s': expected 'YYYY-MM-DD HH:MM:SS' (UTC) or RFC 3339", v);
        o->hasTime = true;
        return true;
    case B_COMPONENT:
        o->component = v;
        return true;
    case B_RECOVERY_POINT:
        o->recoveryPoint = v;
        return true;
    }
    return lbErr(err, LB_ERR_ARGS, "unhandled option");
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

int cmdBackupPgLogical(int argc, char **argv) {
    GlobalOpts g = {0};
    BackupPgCli o = {0};
    CliArgs args = {0};
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    Snapshot snap = {0};
    PgDumpResult res = {0};
    RepoCommit *commit = NULL;
    int rc = 1;
    double start = lbMonotonicSeconds();
    if (!cliParse(argc, argv, backupPgOptions, onBackupOption, &o, &g, &args, &err))
        goto fail;
    if (o.conn == NULL) {
        lbErr(&err, LB_ERR_ARGS, "backup --pg needs a connection string or URI (\"\" for the PG* environment)");
        goto fail;
    }
    if (args.count > 0 || args.afterCount > 0) {
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
        .conn = o.conn,
        .binDir = o.binDir,
        .countMode = o.countMode,
        .noGlobals = o.noGlobals,
        .progress = cliProgressEnabled(&g) ? onBackupProgress : NULL,
        .progressCtx = &ps,
    };
    bool ok = pgdumpBackup(repo, &po, &res, &err);
    cliProgressDone();
    if (res.warnings)
        fprintf(stderr, "%s\n", res.warnings);
    if (!ok)
        goto fail;

    cliSnapshotFill(&snap, &res.archive, o.hasTime ? o.timeNs : 0, o.host, o.tags, o.tagCount, o.component,
                    o.recoveryPoint);
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
    pgconnInfoFree(o.conn);
    for (size_t i = 0; i < o.tagCount; i++)
        free(o.tags[i]);
    free(o.tags);
    cliArgsFree(&args);
    return rc;
}

/* ------------------------------------------------------------ restore --pg-target */

enum {
    R_TARGET = 1,
    R_PG_BIN,
    R_CREATE,
    R_CLEAN,
    R_JOBS,
    R_GLOBALS,
    R_NO_OWNER,
    R_NO_ACL,
    R_VERIFY,
    R_HOST,
    R_TAG,
    R_COMPONENT,
};

static const CliOption restorePgOptions[] = {
    {"pg-target", 0, true, R_TARGET},
    {"pg-bin", 0, true, R_PG_BIN},
    {"create", 0, false, R_CREATE},
    {"clean", 0, false, R_CLEAN},
    {"jobs", 'j', true, R_JOBS},
    {"globals", 0, false, R_GLOBALS},
    {"no-owner", 'O', false, R_NO_OWNER},
    {"no-acl", 'x', false, R_NO_ACL},
    {"verify", 0, false, R_VERIFY},
    {"host", 'H', true, R_HOST},
    {"tag", 0, true, R_TAG},
    {"component", 0, true, R_COMPONENT},
    {NULL, 0, false, 0},
};

typedef struct RestorePgCli {
    PgConnInfo *target; /* owned */
    PgRestoreOptions ro;
    const char **tags;
    size_t tagCount;
    const char *host, *component;
} RestorePgCli;

static bool onRestoreOption(void *ctx, int id, const char *v, LbError *err) {
    RestorePgCli *o = ctx;
    switch (id) {
    case R_TARGET:
        return takeConnInfo(&o->target, v, "--pg-target", err);
    case R_PG_BIN:
        o->ro.binDir = v;
        return true;
    case R_CREATE:
        o->ro.create = true;
        return true;
    case R_CLEAN:
        o->ro.clean = true;
        return true;
    case R_JOBS: {
        char *end = NULL;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < 1 || n > 256)
            return lbErr(err, LB_ERR_ARGS, "invalid --jobs '%s': expected a number from 1 to 256", v);
        o->ro.jobs = (int)n;
        return true;
    }
    case R_GLOBALS:
        o->ro.globals = true;
        return true;
    case R_NO_OWNER:
        o->ro.noOwner = true;
        return true;
    case R_NO_ACL:
        o->ro.noAcl = true;
        return true;
    case R_VERIFY:
        o->ro.verify = true;
        return true;
    case R_HOST:
        o->host = v;
        return true;
    case R_TAG:
        o->tags = lbXrealloc(o->tags, (o->tagCount + 1) * sizeof(char *));
        o->tags[o->tagCount++] = v;
        return true;
    case R_COMPONENT:
        o->component = v;
        return true;
    }
    return lbErr(err, LB_ERR_ARGS, "unhandled option");
}

/* "latest" is the newest logical PostgreSQL snapshot matching the filter;
 * anything else an ID prefix. */
static bool findPgSnapshot(Repo *repo, const char *ref, const SnapshotFilter *f, Snapshot *out, LbError *err) {
    if (strcmp(ref, "latest") != 0)
        return snapshotFind(repo, ref, f, out, err);
    SnapshotList list;
    if (!snapshotLoadAll(repo, &list, err))
        return false;
    for (size_t i = list.count; i-- > 0;) {
        if (snapshotMatches(&list.items[i], f) && pgdumpIsLogicalSnapshot(&list.items[i])) {
            *out = list.items[i];
            memset(&list.items[i], 0, sizeof(Snapshot));
            snapshotListFree(&list);
            return true;
        }
    }
    snapshotListFree(&list);
    return lbErr(err, LB_ERR_NOT_FOUND, "no logical PostgreSQL snapshot matches 'latest'%s",
                 f->host || f->component || f->tagCount ? " with the given filters" : "");
}

int cmdRestorePgLogical(int argc, char **argv) {
    GlobalOpts g = {0};
    RestorePgCli o = {0};
    CliArgs args = {0};
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    Snapshot snap = {0};
    PgRestoreResult res = {0};
    int rc = 1;
    double start = lbMonotonicSeconds();
    if (!cliParse(argc, argv, restorePgOptions, onRestoreOption, &o, &g, &args, &err))
        goto fail;
    if (args.count != 1) {
        lbErr(&err, LB_ERR_ARGS, "restore --pg-target needs exactly one snapshot (an ID, or 'latest')");
        goto fail;
    }
    if (o.target == NULL) {
        lbErr(&err, LB_ERR_ARGS, "restore needs --pg-target CONNECTION");
        goto fail;
    }
    o.ro.target = o.target;
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    lock = repoLockAcquire(repo, false, &err);
    if (lock == NULL)
        goto fail;
    if (!repoLoadIndex(repo, &err))
        goto fail;
    SnapshotFilter f = {.host = o.host, .component = o.component, .tags = o.tags, .tagCount = o.tagCount};
    if (!findPgSnapshot(repo, args.positional[0], &f, &snap, &err))
        goto fail;
    bool ok = pgdumpRestore(repo, &snap, &o.ro, &res, &err);
    if (res.warnings)
        fprintf(stderr, "%s\n", res.warnings);
    if (!ok)
        goto fail;
    double secs = lbMonotonicSeconds() - start;
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap.id, hex);
    char *db = pgconnInfoDatabase(o.target);
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
        if (o.ro.verify)
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
    pgconnInfoFree(o.target);
    free(o.tags);
    cliArgsFree(&args);
    return rc;
}
