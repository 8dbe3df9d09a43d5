/* pgdump.c - logical backups: the catalog, pg_dumpall and pg_dump into the repository (pg/pgdump.h). */
#include "pg/pgdump.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "pg/pgio.h"
#include "pg/pgproc.h"
#include "restore/restore.h"
#include "source/stream.h"

/* ------------------------------------------------------------ the catalog */

static void tableClear(PgDumpTable *t) {
    free(t->schema);
    free(t->name);
    free(t->owner);
}

/* The tables pg_dump dumps with data, as this transaction sees them:
 * ordinary tables (partitions included) outside the system schemas, not
 * temporary, not members of an extension. */
static const char TABLES_SQL[] = "SELECT n.nspname, c.relname, pg_catalog.pg_get_userbyid(c.relowner),"
                                 " pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),"
                                 " c.reltuples::pg_catalog.float8" PGDUMP_COUNTED_TABLES_FROM " ORDER BY 1, 2";

static const char DATABASE_SQL[] =
    "SELECT pg_catalog.current_database(), pg_catalog.pg_encoding_to_char(d.encoding), d.datcollate, d.datctype,"
    " pg_catalog.pg_is_in_recovery()"
    " FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()";

typedef struct Catalog {
    PgDumpTable *tables;
    char **keys;      /* quote_ident(schema).quote_ident(name): the meta key */
    double *estimate; /* reltuples, < 0 when unknown */
    int64_t *rows;    /* exact counts (from the stored dump) */
    size_t count;
    char *database, *encoding, *collate, *ctype;
    bool inRecovery;
} Catalog;

static void catalogClear(Catalog *c) {
    for (size_t i = 0; i < c->count; i++) {
        tableClear(&c->tables[i]);
        free(c->keys[i]);
    }
    free(c->tables);
    free(c->keys);
    free(c->estimate);
    free(c->rows);
    free(c->database);
    free(c->encoding);
    free(c->collate);
    free(c->ctype);
    memset(c, 0, sizeof(*c));
}

static bool catalogLoad(PgConn *conn, Catalog *c, LbError *err) {
    PGresult *res = pgconnQuery(conn, DATABASE_SQL, 0, NULL, err);
    if (res == NULL)
        return lbErrorWrap(err, "unable to read the database's settings");
    if (PQntuples(res) != 1) {
        PQclear(res);
        return lbErr(err, LB_ERR_GENERIC, "unable to read the database's settings: no row for the database");
    }
    c->database = lbXstrdup(PQgetvalue(res, 0, 0));
    c->encoding = lbXstrdup(PQgetvalue(res, 0, 1));
    c->collate = lbXstrdup(PQgetvalue(res, 0, 2));
    c->ctype = lbXstrdup(PQgetvalue(res, 0, 3));
    c->inRecovery = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    PQclear(res);
    res = pgconnQuery(conn, TABLES_SQL, 0, NULL, err);
    if (res == NULL)
        return lbErrorWrap(err, "unable to list the tables");
    size_t n = (size_t)PQntuples(res);
    c->tables = lbXcalloc(n + 1, sizeof(PgDumpTable));
    c->keys = lbXcalloc(n + 1, sizeof(char *));
    c->estimate = lbXcalloc(n + 1, sizeof(double));
    c->rows = lbXcalloc(n + 1, sizeof(int64_t));
    for (size_t i = 0; i < n; i++) {
        c->tables[i].schema = lbXstrdup(PQgetvalue(res, (int)i, 0));
        c->tables[i].name = lbXstrdup(PQgetvalue(res, (int)i, 1));
        c->tables[i].owner = lbXstrdup(PQgetvalue(res, (int)i, 2));
        c->keys[i] = lbXstrdup(PQgetvalue(res, (int)i, 3));
        c->estimate[i] = strtod(PQgetvalue(res, (int)i, 4), NULL);
        c->rows[i] = -1;
    }
    c->count = n;
    PQclear(res);
    return true;
}

/* ------------------------------------------------------------ backup */

/* The connection string for the children: what the user gave, minus the
 * password, pointed at the database (and, for a multi-host string, the
 * server) our own connection reached, so --snapshot refers to the same
 * server. */
static char *childConnString(const PgConnInfo *info, PgConn *conn, const char *database) {
    PgConnInfo *c = pgconnInfoDup(info);
    pgconnInfoSet(c, "dbname", database);
    const char *host = pgconnInfoGet(info, "host");
    if (host && strchr(host, ',')) {
        pgconnInfoSet(c, "host", PQhost(pgconnRaw(conn)));
        pgconnInfoSet(c, "hostaddr", NULL);
        pgconnInfoSet(c, "port", PQport(pgconnRaw(conn)));
    }
    char *s = pgconnInfoChildString(c);
    pgconnInfoFree(c);
    return s;
}

static json_t *buildMeta(const PgDumpOptions *o, PgConn *conn, const Catalog *cat, const char *tool, uint64_t dumpSize,
                         uint64_t globalsSize, bool rolePasswords, size_t tocEntries) {
    PGconn *raw = pgconnRaw(conn);
    json_t *m = json_object();
    json_object_set_new(m, "type", json_string(PGDUMP_META_TYPE));
    json_object_set_new(m, "format", json_string("custom"));
    json_object_set_new(m, "dump_file", json_string(PGDUMP_DUMP_FILE));
    json_object_set_new(m, "globals_file", o->noGlobals ? json_null() : json_string(PGDUMP_GLOBALS_FILE));
    json_object_set_new(m, "tool", json_string(tool));
    json_object_set_new(m, "server_version", json_string(pgconnServerVersion(conn)));
    json_object_set_new(m, "server_version_num", json_integer(pgconnServerVersionNum(conn)));
    json_object_set_new(m, "database", json_string(cat->database));
    json_object_set_new(m, "encoding", json_string(cat->encoding));
    json_object_set_new(m, "lc_collate", json_string(cat->collate));
    json_object_set_new(m, "lc_ctype", json_string(cat->ctype));
    json_object_set_new(m, "host", json_string(PQhost(raw) ? PQhost(raw) : ""));
    json_object_set_new(m, "port", json_string(PQport(raw) ? PQport(raw) : ""));
    json_object_set_new(m, "user", json_string(PQuser(raw) ? PQuser(raw) : ""));
    json_object_set_new(m, "dump_size", json_integer((json_int_t)dumpSize));
    json_object_set_new(m, "globals_size", json_integer((json_int_t)globalsSize));
    json_object_set_new(m, "role_passwords", json_boolean(rolePasswords && !o->noGlobals));
    bool exact = o->countMode == PGDUMP_COUNT_EXACT;
    json_object_set_new(m, "row_counts", json_string(exact ? "exact" : "estimate"));
    if (exact) /* counted in the stored dump itself */
        json_object_set_new(m, "row_counts_snapshot", json_string("dump"));
    json_t *t = json_object();
    for (size_t i = 0; i < cat->count; i++) {
        json_int_t v = exact ? (json_int_t)cat->rows[i] : (json_int_t)(cat->estimate[i] + 0.5);
        json_object_set_new(t, cat->keys[i], (!exact && cat->estimate[i] < 0) ? json_null() : json_integer(v));
    }
    json_object_set_new(m, "tables", t);
    json_object_set_new(m, "toc_entries", json_integer((json_int_t)tocEntries));
    json_object_set_new(m, "verified", json_true());
    return m;
}

bool pgdumpBackup(Repo *repo, const PgDumpOptions *o, PgDumpResult *result, LbError *err) {
    bool ok = false, inTx = false;
    PgConn *conn = NULL;
    Catalog cat = {0};
    char **env = NULL;
    char *dumpPath = NULL, *dumpallPath = NULL, *childConn = NULL, *snapshotId = NULL, *tool = NULL;
    char *dbnameArg = NULL, *snapshotArg = NULL, *encodingArg = NULL;
    int versionFd = -1, globalsFd = -1, dumpPipe[2] = {-1, -1};
    PgProc *dump = NULL;
    Node dumpNode = {0};
    LbBuf text = {0};
    memset(result, 0, sizeof(*result));
    const char *secret = pgconnInfoGet(o->conn, "password");

    dumpPath = pgprocFind(o->binDir, "pg_dump", err);
    if (dumpPath == NULL)
        goto cleanup;
    if (!o->noGlobals && (dumpallPath = pgprocFind(o->binDir, "pg_dumpall", err)) == NULL)
        goto cleanup;
    env = pgconnInfoChildEnv(o->conn);
    char *versionArgv[] = {"pg_dump", "--version", NULL};
    if (!pgioRunToMemfd(dumpPath, versionArgv, env, secret, &versionFd, NULL, err) ||
        !pgioReadAll(versionFd, &text, err))
        goto cleanup;
    tool = lbXstrdup((char *)text.data);
    tool[strcspn(tool, "\n")] = '\0';

    /* 1. our transaction: its snapshot is the dump's */
    conn = pgconnOpen(o->conn, err);
    if (conn == NULL)
        goto cleanup;
    const char *serverEncoding = PQparameterStatus(pgconnRaw(conn), "server_encoding");
    if (serverEncoding && PQsetClientEncoding(pgconnRaw(conn), serverEncoding) != 0) {
        lbErr(err, LB_ERR_GENERIC, "unable to set the client encoding to %s", serverEncoding);
        goto cleanup;
    }
    if (!pgconnExec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err))
        goto cleanup;
    inTx = true;
    if (!catalogLoad(conn, &cat, err))
        goto cleanup;
    if (!cat.inRecovery) {
        snapshotId = pgconnQueryValue(conn, "SELECT pg_catalog.pg_export_snapshot()", err);
        if (snapshotId == NULL)
            goto cleanup;
    } else {
        lbLogInfo("the server is a standby: pg_dump takes its own snapshot (no exported one)");
    }
    childConn = childConnString(o->conn, conn, cat.database);
    dbnameArg = lbXasprintf("--dbname=%s", childConn);

    /* 2. globals, into memory */
    bool rolePasswords = pgconnIsSuperuser(conn);
    if (!o->noGlobals) {
        char *lArg = lbXasprintf("--database=%s", cat.database);
        /* argv[0] is the full path: pg_dumpall finds pg_dump next to its own argv[0] */
        char *argv[] = {dumpallPath, "--globals-only", dbnameArg, lArg, rolePasswords ? NULL : "--no-role-passwords",
                        NULL};
        bool ran = pgioRunToMemfd(dumpallPath, argv, env, secret, &globalsFd, &result->warnings, err);
        free(lArg);
        if (!ran) {
            lbErrorWrap(err, "no snapshot was written");
            goto cleanup;
        }
    }

    /* 3. pg_dump straight into the chunker, rows counted meanwhile */
    if (!pgioPipeNew(dumpPipe, err))
        goto cleanup;
    snapshotArg = snapshotId ? lbXasprintf("--snapshot=%s", snapshotId) : NULL;
    encodingArg = lbXasprintf("--encoding=%s", serverEncoding ? serverEncoding : cat.encoding);
    char *dumpArgv[] = {"pg_dump", "--format=custom", "--compress=0", encodingArg, dbnameArg, snapshotArg, NULL};
    dump = pgprocStartP(dumpPath, dumpArgv, err, .stdoutFd = dumpPipe[1], .envp = env, .secret = secret);
    if (dump == NULL)
        goto cleanup;
    pgioClose(&dumpPipe[1]);
    SourceStream streams[2] = {
        {.name = PGDUMP_DUMP_FILE, .fd = dumpPipe[0], .mode = 0600},
        {.name = PGDUMP_GLOBALS_FILE, .fd = globalsFd, .mode = 0600},
    };
    StreamSource dumpSource = {.streams = streams, .count = o->noGlobals ? 1 : 2};
    Source source = streamSourceSource(&dumpSource);
    ArchiverOptions ao = {
        .sources = &source,
        .sourceCount = 1,
        .chunkProfile = REPO_CHUNK_DUMP,
        .progress = o->progress,
        .progressCtx = o->progressCtx,
    };
    bool archived = archiverRun(repo, &ao, &result->archive, err);
    /* a failed archiver stops reading: pg_dump then dies of SIGPIPE */
    pgioClose(&dumpPipe[0]);
    LbError dumpErr = {0};
    bool dumped = pgprocWait(dump, &dumpErr);
    if (!archived)
        goto cleanup;
    /* pg_dump's own message says what went wrong with the dump */
    if (!dumped) {
        *err = dumpErr;
        lbErrorWrap(err, "no snapshot was written");
        goto cleanup;
    }
    pgioAddWarnings(&result->warnings, pgprocStderr(dump));
    /* pg_dump is done with the exported snapshot: end the transaction */
    pgconnExec(conn, "COMMIT", NULL);
    inTx = false;

    /* 4. read the stored dump back */
    Snapshot probe = {.tree = result->archive.tree};
    if (!restoreFindPath(repo, &probe, "/" PGDUMP_DUMP_FILE, &dumpNode, err)) {
        lbErrorWrap(err, "verification failed");
        goto cleanup;
    }
    size_t tocEntries = 0;
    /* exact row counts: the COPY lines of the stored dump itself */
    bool exact = o->countMode == PGDUMP_COUNT_EXACT;
    if (!pgdumpVerify(repo, &dumpNode, o->binDir, cat.tables, cat.count, cat.keys, exact ? cat.rows : NULL, &tocEntries,
                      err)) {
        lbErrorWrap(err, "no snapshot was written");
        goto cleanup;
    }
    result->meta = buildMeta(o, conn, &cat, tool, dumpNode.size, globalsFd >= 0 ? pgioFdSize(globalsFd) : 0,
                             rolePasswords, tocEntries);
    ok = true;
cleanup:
    if (inTx && conn)
        pgconnExec(conn, "ROLLBACK", NULL);
    pgioClose(&dumpPipe[0]);
    pgioClose(&dumpPipe[1]);
    pgprocFree(dump);
    pgconnClose(conn);
    catalogClear(&cat);
    pgconnEnvFree(env);
    pgioClose(&versionFd);
    pgioClose(&globalsFd);
    nodeClear(&dumpNode);
    lbBufFree(&text);
    free(dumpPath);
    free(dumpallPath);
    free(childConn);
    free(snapshotId);
    free(tool);
    free(dbnameArg);
    free(snapshotArg);
    free(encodingArg);
    if (!ok) {
        char *warnings = result->warnings; /* what the programs said stays for the caller */
        result->warnings = NULL;
        pgdumpResultClear(result);
        result->warnings = warnings;
    }
    return ok;
}

void pgdumpResultClear(PgDumpResult *result) {
    archiverResultClear(&result->archive);
    json_decref(result->meta);
    free(result->warnings);
    memset(result, 0, sizeof(*result));
}

bool pgdumpIsLogicalSnapshot(const Snapshot *snap) {
    json_t *t = snap->meta ? json_object_get(snap->meta, "type") : NULL;
    return json_is_string(t) && strcmp(json_string_value(t), PGDUMP_META_TYPE) == 0;
}
