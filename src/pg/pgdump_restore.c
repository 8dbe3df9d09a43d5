/* pgdump_restore.c - restore a logical snapshot: globals with psql, the dump into pg_restore (pg/pgdump.h). */
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
#include "pg/pgtoc.h"
#include "restore/restore.h"
#include "restore/target.h"
#include "source/stream.h"

/* ------------------------------------------------------------ restore */

static const char *metaString(const Snapshot *snap, const char *key) {
    json_t *v = snap->meta ? json_object_get(snap->meta, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Connect to the target server's maintenance database ("postgres", else
 * "template1"); *info gets the connection string used (caller frees). */
static PgConn *openMaintenance(const PgConnInfo *target, PgConnInfo **info, LbError *err) {
    static const char *const names[] = {"postgres", "template1"};
    PgConn *conn = NULL;
    for (size_t i = 0; i < 2 && conn == NULL; i++) {
        PgConnInfo *c = pgconnInfoDup(target);
        pgconnInfoSet(c, "dbname", names[i]);
        LbError e = {0};
        conn = pgconnOpen(c, &e);
        if (conn) {
            *info = c;
            return conn;
        }
        pgconnInfoFree(c);
        if (i == 0 && strstr(e.msg, "does not exist") == NULL) {
            *err = e;
            return NULL;
        }
        *err = e;
    }
    lbErrorWrap(err, "unable to reach a maintenance database (postgres or template1)");
    return NULL;
}

static bool createDatabase(PgConn *conn, const Snapshot *snap, const char *name, LbError *err) {
    char *ident = pgconnQuoteIdent(conn, name);
    LbBuf sql = {0};
    lbBufAppendStr(&sql, "CREATE DATABASE ");
    lbBufAppendStr(&sql, ident);
    lbBufAppendStr(&sql, " TEMPLATE template0");
    static const char *const keys[] = {"encoding", "lc_collate", "lc_ctype"};
    static const char *const words[] = {" ENCODING ", " LC_COLLATE ", " LC_CTYPE "};
    for (size_t i = 0; i < 3; i++) {
        const char *v = metaString(snap, keys[i]);
        if (v == NULL || v[0] == '\0')
            continue;
        char *lit = pgconnQuoteLiteral(conn, v);
        lbBufAppendStr(&sql, words[i]);
        lbBufAppendStr(&sql, lit);
        free(lit);
    }
    lbBufAppend(&sql, "", 1);
    LbError e = {0};
    bool ok = pgconnExec(conn, (char *)sql.data, &e);
    if (!ok)
        lbErr(err, e.code, "unable to create database %s: %s%s", ident, e.msg,
              strstr(e.msg, "already exists") ? ". HINT: Drop it first, or restore into it without --create "
                                                "(--clean replaces the objects it holds)."
                                              : "");
    lbBufFree(&sql);
    free(ident);
    return ok;
}

/* Run globals.sql through psql on the maintenance database. Errors of
 * single statements (a role that exists already) are warnings. */
static bool restoreGlobals(Repo *repo, const Snapshot *snap, const PgRestoreOptions *o, const PgConnInfo *maint,
                           PgRestoreResult *r, LbError *err) {
    bool ok = false;
    Node node = {0};
    char *path = NULL, *connStr = NULL, *dbArg = NULL;
    char **env = NULL;
    int fds[2] = {-1, -1};
    PgProc *psql = NULL;
    if (!restoreFindPath(repo, snap, "/" PGDUMP_GLOBALS_FILE, &node, err)) {
        lbErrorWrap(err, "the snapshot holds no globals (it was taken with --pg-no-globals)");
        goto cleanup;
    }
    path = pgprocFind(o->binDir, "psql", err);
    if (path == NULL || !pgioPipeNew(fds, err))
        goto cleanup;
    env = pgconnInfoChildEnv(maint);
    connStr = pgconnInfoChildString(maint);
    dbArg = lbXasprintf("--dbname=%s", connStr);
    char *argv[] = {"psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=0", dbArg, NULL};
    psql = pgprocStartP(path, argv, err, .stdinFd = fds[0], .envp = env, .secret = pgconnInfoGet(maint, "password"));
    if (psql == NULL)
        goto cleanup;
    pgioClose(&fds[0]);
    LbError writeErr = {0};
    bool written = restoreToFd(repo, snap, "/" PGDUMP_GLOBALS_FILE, fds[1], NULL, &writeErr);
    pgioClose(&fds[1]);
    if (!pgprocWait(psql, err))
        goto cleanup;
    if (!written) {
        *err = writeErr;
        goto cleanup;
    }
    pgioAddWarnings(&r->warnings, pgprocStderr(psql));
    ok = true;
cleanup:
    pgioClose(&fds[0]);
    pgioClose(&fds[1]);
    pgprocFree(psql);
    pgconnEnvFree(env);
    nodeClear(&node);
    free(path);
    free(connStr);
    free(dbArg);
    return ok;
}

/* Is the snapshot's table key (quote_ident(schema).quote_ident(name))
 * among the tables or schemas restored? Everything is without a choice. */
static bool keyChosen(const char *key, const PgTocName *tables, size_t tableCount, const PgTocName *schemas,
                      size_t schemaCount) {
    if (tableCount == 0 && schemaCount == 0)
        return true;
    PgTocName n;
    LbError e = {0};
    if (!pgtocNameParse(key, true, &n, &e))
        return false;
    bool chosen = false;
    for (size_t i = 0; i < tableCount && !chosen; i++)
        chosen = strcmp(n.schema, tables[i].schema) == 0 && strcmp(n.name, tables[i].name) == 0;
    for (size_t i = 0; i < schemaCount && !chosen; i++)
        chosen = strcmp(n.schema, schemas[i].schema) == 0;
    pgtocNameClear(&n);
    return chosen;
}

/* Choosing tables or schemas: the requested names, the snapshot's tables
 * (to tell names with spaces apart) and the dump's table of contents. */
typedef struct Choice {
    PgTocName *tables, *schemas, *known;
    size_t tableCount, schemaCount, knownCount;
    PgToc *toc;
    char dumpName[64];
} Choice;

/* Compare the restored tables' row counts with the snapshot's (with a
 * choice: of the tables chosen). */
static bool verifyCounts(const Snapshot *snap, const PgConnInfo *target, const Choice *c, PgRestoreResult *r,
                         LbError *err) {
    const char *mode = metaString(snap, "row_counts");
    json_t *tables = json_object_get(snap->meta, "tables");
    if (mode == NULL || strcmp(mode, "exact") != 0 || !json_is_object(tables))
        return lbErr(err, LB_ERR_ARGS,
                     "--verify needs exact row counts in the snapshot (taken with "
                     "--pg-count-rows=exact)");
    PgConn *conn = pgconnOpen(target, err);
    if (conn == NULL)
        return lbErrorWrap(err, "unable to verify the restored database");
    bool ok = true;
    size_t mismatches = 0;
    char first[512] = "";
    const char *key;
    json_t *want;
    json_object_foreach(tables, key, want) {
        if (!keyChosen(key, c->tables, c->tableCount, c->schemas, c->schemaCount))
            continue;
        /* resolve the stored name with to_regclass (a lookup, never SQL text) */
        const char *params[] = {key};
        PGresult *res =
            pgconnQuery(conn,
                        "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                        " ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass($1)",
                        1, params, err);
        if (res == NULL) {
            ok = false;
            break;
        }
        if (PQntuples(res) != 1) {
            PQclear(res);
            if (mismatches++ == 0)
                snprintf(first, sizeof(first), "%s is missing", key);
            continue;
        }
        char *s = pgconnQuoteIdent(conn, PQgetvalue(res, 0, 0));
        char *n = pgconnQuoteIdent(conn, PQgetvalue(res, 0, 1));
        PQclear(res);
        char *sql = lbXasprintf("SELECT pg_catalog.count(*) FROM ONLY %s.%s", s, n);
        char *v = pgconnQueryValue(conn, sql, err);
        free(sql);
        free(s);
        free(n);
        if (v == NULL) {
            ok = false;
            break;
        }
        long long got = strtoll(v, NULL, 10);
        free(v);
        if (!json_is_integer(want) || got != (long long)json_integer_value(want)) {
            if (mismatches++ == 0)
                snprintf(first, sizeof(first), "%s has %lld rows, the snapshot %lld", key, got,
                         json_is_integer(want) ? (long long)json_integer_value(want) : -1LL);
        } else {
            r->tablesVerified++;
        }
    }
    pgconnClose(conn);
    if (ok && mismatches > 0)
        ok = lbErr(err, LB_ERR_CORRUPT, "verification of the restored database failed: %zu table(s) differ (%s)",
                   mismatches, first);
    return ok;
}

/* A new empty file of mode 0600 in $TMPDIR (or /tmp) for what; *name gets
 * its name (caller frees). -1 with err on failure. */
static int tempFileNew(const char *what, char **name, LbError *err) {
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    *name = lbXasprintf("%s/lifeboat-pgrestore-XXXXXX", dir);
    int fd = mkostemp(*name, O_CLOEXEC);
    if (fd < 0) {
        lbErrSys(err, "unable to create a temporary file in '%s' for %s", dir, what);
        free(*name);
        *name = NULL;
        return -1;
    }
    (void)fchmod(fd, 0600);
    return fd;
}

/* Copy the stored dump into an unnamed temporary file for a parallel
 * pg_restore (which needs to seek). *pathOut names it for pg_restore:
 * /proc/self/fd/N of the already unlinked file where /proc is mounted (the
 * file then vanishes with us, even on a crash), else its real name, which
 * the caller unlinks (*unlinkPath). */
static int dumpToTempFile(Repo *repo, const Node *node, char **pathOut, char **unlinkPath, LbError *err) {
    char *name = NULL;
    int fd = tempFileNew("the parallel restore", &name, err);
    if (fd < 0)
        return -1;
    if (!restoreFileToFd(repo, node, fd, err)) {
        lbErrorWrap(err, "unable to write the dump to '%s'", name);
        close(fd);
        unlink(name);
        free(name);
        return -1;
    }
    char *procPath = lbXasprintf("/proc/self/fd/%d", fd);
    if (access(procPath, R_OK) == 0) {
        unlink(name);
        free(name);
        *pathOut = procPath;
        *unlinkPath = NULL;
    } else {
        free(procPath);
        *pathOut = lbXstrdup(name);
        *unlinkPath = name;
    }
    return fd;
}

/* ------------------------------------------------------------ --table, --schema */

static void choiceFree(Choice *c) {
    PgTocName *lists[] = {c->tables, c->schemas, c->known};
    size_t counts[] = {c->tableCount, c->schemaCount, c->knownCount};
    for (size_t l = 0; l < 3; l++) {
        for (size_t i = 0; i < counts[l]; i++)
            pgtocNameClear(&lists[l][i]);
        free(lists[l]);
    }
    pgtocFree(c->toc);
    memset(c, 0, sizeof(*c));
}

static PgTocRequest choiceRequest(const Choice *c, char *const *targetSchemas, size_t targetSchemaCount,
                                  const PgTocName *targetTables, size_t targetTableCount) {
    return (PgTocRequest){.tables = c->tables,
                          .tableCount = c->tableCount,
                          .schemas = c->schemas,
                          .schemaCount = c->schemaCount,
                          .known = c->known,
                          .knownCount = c->knownCount,
                          .targetSchemas = targetSchemas,
                          .targetSchemaCount = targetSchemaCount,
                          .targetTables = targetTables,
                          .targetTableCount = targetTableCount,
                          .dumpName = c->dumpName};
}

/* Parse the requested names, read the dump's table of contents and check
 * that every name is in it: before anything is written. */
static bool choiceBegin(Repo *repo, const Snapshot *snap, const Node *dump, const PgRestoreOptions *o, Choice *c,
                        PgRestoreResult *r, LbError *err) {
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap->id, hex);
    snprintf(c->dumpName, sizeof(c->dumpName), "snapshot %.8s's dump", hex);
    c->tables = lbXcalloc(o->tableCount + 1, sizeof(PgTocName));
    c->schemas = lbXcalloc(o->schemaCount + 1, sizeof(PgTocName));
    for (; c->tableCount < o->tableCount; c->tableCount++)
        if (!pgtocNameParse(o->tables[c->tableCount], true, &c->tables[c->tableCount], err))
            return lbErrorWrap(err, "--table");
    for (; c->schemaCount < o->schemaCount; c->schemaCount++)
        if (!pgtocNameParse(o->schemas[c->schemaCount], false, &c->schemas[c->schemaCount], err))
            return lbErrorWrap(err, "--schema");
    json_t *tables = json_object_get(snap->meta, "tables");
    c->known = lbXcalloc(json_object_size(tables) + 1, sizeof(PgTocName));
    const char *key;
    json_t *v;
    json_object_foreach(tables, key, v) {
        LbError e = {0};
        if (pgtocNameParse(key, true, &c->known[c->knownCount], &e))
            c->knownCount++;
    }
    LbBuf listing = {0};
    bool ok = pgdumpListToc(repo, dump, o->binDir, &listing, err);
    if (ok) {
        c->toc = pgtocNew((char *)listing.data);
        r->tocEntries = pgtocCount(c->toc);
        PgTocRequest req = choiceRequest(c, NULL, 0, NULL, 0);
        PgTocSelection sel;
        ok = pgtocSelect(c->toc, &req, &sel, err);
        pgtocSelectionClear(&sel);
    } else {
        lbErrorWrap(err, "unable to list the dump's table of contents");
    }
    lbBufFree(&listing);
    return ok;
}

/* Choose the entries (the target's schemas known now: a schema it lacks is
 * created) and write them to a list file for pg_restore --use-list; *listPath
 * gets its name (the caller unlinks and frees it). Entries left out go to
 * the warnings. */
static bool choiceWriteList(Choice *c, const PgConnInfo *target, PgRestoreResult *r, char **listPath, LbError *err) {
    bool ok = false;
    char **schemas = NULL;
    PgTocName *tables = NULL;
    size_t schemaCount = 0, tableCount = 0;
    PgTocSelection sel = {0};
    int fd = -1;
    PgConn *conn = pgconnOpen(target, err);
    PGresult *res = conn ? pgconnQuery(conn, "SELECT nspname FROM pg_catalog.pg_namespace", 0, NULL, err) : NULL;
    PGresult *rels = res ? pgconnQuery(conn,
                                       "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN "
                                       "pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN "
                                       "('r', 'p', 'f')",
                                       0, NULL, err)
                         : NULL;
    if (rels == NULL) {
        lbErrorWrap(err, "unable to list the schemas and tables of the target database");
        goto cleanup;
    }
    schemaCount = (size_t)PQntuples(res);
    schemas = lbXcalloc(schemaCount + 1, sizeof(char *));
    for (size_t i = 0; i < schemaCount; i++)
        schemas[i] = lbXstrdup(PQgetvalue(res, (int)i, 0));
    tableCount = (size_t)PQntuples(rels);
    tables = lbXcalloc(tableCount + 1, sizeof(PgTocName));
    for (size_t i = 0; i < tableCount; i++)
        tables[i] = (PgTocName){lbXstrdup(PQgetvalue(rels, (int)i, 0)), lbXstrdup(PQgetvalue(rels, (int)i, 1))};
    PgTocRequest req = choiceRequest(c, schemas, schemaCount, tables, tableCount);
    if (!pgtocSelect(c->toc, &req, &sel, err))
        goto cleanup;
    r->tocSelected = sel.selected;
    pgioAddWarnings(&r->warnings, sel.leftOut);
    fd = tempFileNew("the list of entries to restore", listPath, err);
    if (fd < 0)
        goto cleanup;
    if (!pgioWriteAll(fd, sel.list.data, sel.list.len)) {
        lbErrSys(err, "unable to write '%s'", *listPath);
        goto cleanup;
    }
    ok = true;
cleanup:
    PQclear(res);
    PQclear(rels);
    pgioClose(&fd);
    pgtocSelectionClear(&sel);
    for (size_t i = 0; i < schemaCount; i++)
        free(schemas[i]);
    for (size_t i = 0; i < tableCount; i++)
        pgtocNameClear(&tables[i]);
    free(schemas);
    free(tables);
    pgconnClose(conn);
    return ok;
}

/* Wait for pg_restore. When it fails after printing more than the error
 * message quotes (many "errors ignored on restore"), all it printed goes to
 * r->warnings so that none of it is lost. */
static bool waitRestore(PgProc *proc, PgRestoreResult *r, LbError *err) {
    if (pgprocWait(proc, err))
        return true;
    const char *text = pgprocStderr(proc);
    if (strlen(text) > 700)
        pgioAddWarnings(&r->warnings, text);
    return false;
}

bool pgdumpRestore(Repo *repo, const Snapshot *snap, const PgRestoreOptions *o, PgRestoreResult *r, LbError *err) {
    bool ok = false;
    Node node = {0};
    char *restorePath = NULL, *targetDb = NULL, *targetConn = NULL, *dbArg = NULL, *jobsArg = NULL;
    char *fileArg = NULL, *unlinkPath = NULL, *listPath = NULL, *listArg = NULL;
    char **env = NULL;
    Choice choice = {0};
    PgConnInfo *maintInfo = NULL;
    PgConn *maint = NULL;
    PgProc *proc = NULL;
    int fds[2] = {-1, -1}, tmpFd = -1;
    memset(r, 0, sizeof(*r));
    if (!pgdumpIsLogicalSnapshot(snap) || !restoreFindPath(repo, snap, "/" PGDUMP_DUMP_FILE, &node, err) ||
        node.type != NODE_FILE) {
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&snap->id, hex);
        lbErr(err, LB_ERR_ARGS, "snapshot %.8s is not a logical PostgreSQL backup (no %s)", hex, PGDUMP_DUMP_FILE);
        goto cleanup;
    }
    r->dumpBytes = node.size;
    restorePath = pgprocFind(o->binDir, "pg_restore", err);
    if (restorePath == NULL)
        goto cleanup;
    targetDb = pgconnInfoDatabase(o->target);
    if (targetDb == NULL || (o->create && pgconnInfoGet(o->target, "dbname") == NULL && getenv("PGDATABASE") == NULL)) {
        lbErr(err, LB_ERR_ARGS, "--pg-target names no database (give dbname=NAME or a URI ending in /NAME)");
        goto cleanup;
    }
    bool choosing = o->tableCount > 0 || o->schemaCount > 0;
    if (choosing && !choiceBegin(repo, snap, &node, o, &choice, r, err))
        goto cleanup;
    if (o->create || o->globals) {
        maint = openMaintenance(o->target, &maintInfo, err);
        if (maint == NULL)
            goto cleanup;
    }
    if (o->globals && !restoreGlobals(repo, snap, o, maintInfo, r, err))
        goto cleanup;
    if (o->create && !createDatabase(maint, snap, targetDb, err))
        goto cleanup;
    pgconnClose(maint);
    maint = NULL;

    PgConnInfo *t = pgconnInfoDup(o->target);
    pgconnInfoSet(t, "dbname", targetDb);
    targetConn = pgconnInfoChildString(t);
    bool listed = !choosing || choiceWriteList(&choice, t, r, &listPath, err);
    pgconnInfoFree(t);
    if (!listed)
        goto cleanup;
    dbArg = lbXasprintf("--dbname=%s", targetConn);
    env = pgconnInfoChildEnv(o->target);
    const char *argv[13];
    size_t n = 0;
    argv[n++] = "pg_restore";
    argv[n++] = dbArg;
    if (o->clean) {
        argv[n++] = "--clean";
        argv[n++] = "--if-exists";
    }
    if (o->noOwner)
        argv[n++] = "--no-owner";
    if (o->noAcl)
        argv[n++] = "--no-acl";
    if (listPath) {
        listArg = lbXasprintf("--use-list=%s", listPath);
        argv[n++] = listArg;
    }
    if (o->jobs > 1) {
        tmpFd = dumpToTempFile(repo, &node, &fileArg, &unlinkPath, err);
        if (tmpFd < 0)
            goto cleanup;
        jobsArg = lbXasprintf("--jobs=%d", o->jobs);
        argv[n++] = jobsArg;
        argv[n++] = fileArg;
        argv[n] = NULL;
        proc = pgprocStartP(restorePath, (char *const *)argv, err, .keepFd = tmpFd, .envp = env,
                            .secret = pgconnInfoGet(o->target, "password"));
        if (proc == NULL || !waitRestore(proc, r, err))
            goto cleanup;
    } else {
        argv[n] = NULL;
        if (!pgioPipeNew(fds, err))
            goto cleanup;
        proc = pgprocStartP(restorePath, (char *const *)argv, err, .stdinFd = fds[0], .envp = env,
                            .secret = pgconnInfoGet(o->target, "password"));
        if (proc == NULL)
            goto cleanup;
        pgioClose(&fds[0]);
        LbError writeErr = {0};
        bool written = restoreToFd(repo, snap, "/" PGDUMP_DUMP_FILE, fds[1], NULL, &writeErr);
        pgioClose(&fds[1]);
        /* pg_restore's message first when our side failed on the closed
         * pipe (only its symptom); ours first when the repository could not
         * give the dump (a damaged or missing blob: pg_restore then only
         * sees the input end early) */
        bool ours = !written && (writeErr.code == LB_ERR_CORRUPT || writeErr.code == LB_ERR_CRYPTO ||
                                 writeErr.code == LB_ERR_NOT_FOUND || writeErr.code == LB_ERR_FORMAT);
        LbError restoreErr = {0};
        bool restored = waitRestore(proc, r, &restoreErr);
        if (!written && (ours || restored)) {
            *err = writeErr;
            goto cleanup;
        }
        if (!restored) {
            *err = restoreErr;
            goto cleanup;
        }
    }
    pgioAddWarnings(&r->warnings, pgprocStderr(proc));
    if (o->verify && !verifyCounts(snap, o->target, &choice, r, err))
        goto cleanup;
    ok = true;
cleanup:
    pgioClose(&fds[0]);
    pgioClose(&fds[1]);
    pgprocFree(proc);
    pgioClose(&tmpFd);
    if (unlinkPath)
        unlink(unlinkPath);
    if (listPath)
        unlink(listPath);
    choiceFree(&choice);
    pgconnClose(maint);
    pgconnInfoFree(maintInfo);
    pgconnEnvFree(env);
    nodeClear(&node);
    free(restorePath);
    free(targetDb);
    free(targetConn);
    free(dbArg);
    free(jobsArg);
    free(fileArg);
    free(unlinkPath);
    free(listPath);
    free(listArg);
    return ok;
}

void pgdumpRestoreResultClear(PgRestoreResult *result) {
    free(result->warnings);
    memset(result, 0, sizeof(*result));
}

bool pgdumpFindSnapshot(Repo *repo, const char *ref, const SnapshotFilter *f, Snapshot *out, LbError *err) {
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
                 f->host || f->component || f->tagGroupCount ? " with the given filters" : "");
}
