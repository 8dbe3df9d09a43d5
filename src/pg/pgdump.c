/* pgdump.c - logical PostgreSQL backups: pg_dump -> repository -> pg_restore. */
#include "pg/pgdump.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "pg/pgproc.h"
#include "restore/restore.h"
#include "source/stream.h"

/* ------------------------------------------------------------ descriptors */

/* A pipe with both ends close-on-exec (children get their end by dup2) and
 * a 1 MiB buffer when the system allows it. */
static bool pipeNew(int fds[2], LbError *err) {
    if (pipe2(fds, O_CLOEXEC) != 0)
        return lbErrSys(err, "unable to create a pipe");
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
    return true;
}

static void closeFd(int *fd) {
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* An anonymous in-memory file (no disk, no name) for a child's output. */
static int memfdNew(const char *name, LbError *err) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        lbErrSys(err, "unable to create an in-memory file for %s", name);
    return fd;
}

/* The whole content of fd (read from offset 0) into out, NUL-terminated. */
static bool readAllFrom(int fd, LbBuf *out, LbError *err) {
    lbBufClear(out);
    for (off_t off = 0;;) {
        lbBufReserve(out, 64 * 1024);
        ssize_t r = pread(fd, out->data + out->len, out->cap - out->len, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lbErrSys(err, "unable to read a program's output");
        if (r == 0)
            break;
        out->len += (size_t)r;
        off += r;
    }
    lbBufAppend(out, "", 1);
    out->len--;
    return true;
}

static uint64_t fdSize(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Write all of data; false with errno set (EPIPE: the reader is gone). */
static bool writeAll(int fd, const uint8_t *data, size_t len) {
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        data += w;
        len -= (size_t)w;
    }
    return true;
}

/* Append a child's stderr (warnings of a program that succeeded) to *acc. */
static void addWarnings(char **acc, const char *text) {
    if (text == NULL || text[0] == '\0')
        return;
    char *joined = *acc ? lbXasprintf("%s\n%s", *acc, text) : lbXstrdup(text);
    free(*acc);
    *acc = joined;
}

/* Run a program to its end with stdout into a memfd. On success *outFd is
 * that memfd (the caller closes it) and the program's stderr is appended to
 * *warnings. */
static bool runToMemfd(const char *path, char *const *argv, char **env, const char *secret, int *outFd, char **warnings,
                       LbError *err) {
    bool ok = false;
    PgProc *proc = NULL;
    int fd = memfdNew(argv[0], err);
    if (fd < 0)
        goto cleanup;
    proc = pgprocStartP(path, argv, err, .stdoutFd = fd, .envp = env, .secret = secret);
    if (proc == NULL || !pgprocWait(proc, err))
        goto cleanup;
    /* the child wrote through a shared file offset: read from the start */
    if (lseek(fd, 0, SEEK_SET) != 0) {
        lbErrSys(err, "unable to rewind the output of %s", argv[0]);
        goto cleanup;
    }
    if (warnings)
        addWarnings(warnings, pgprocStderr(proc));
    *outFd = fd;
    fd = -1;
    ok = true;
cleanup:
    pgprocFree(proc);
    closeFd(&fd);
    return ok;
}

/* ------------------------------------------------------------ the catalog */

static void tableClear(PgDumpTable *t) {
    free(t->schema);
    free(t->name);
    free(t->owner);
}

/* The tables pg_dump dumps with data, as this transaction sees them:
 * ordinary tables (partitions included) outside the system schemas, not
 * temporary, not members of an extension. */
static const char TABLES_SQL[] =
    "SELECT n.nspname, c.relname, pg_catalog.pg_get_userbyid(c.relowner),"
    " pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),"
    " c.reltuples::pg_catalog.float8"
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'r' AND c.relpersistence <> 't'"
    " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
    " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
    " AND d.objid = c.oid AND d.deptype = 'e')"
    " ORDER BY 1, 2";

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

/* ------------------------------------------------------------ row counts */

/* Counts the rows of every table in pg_restore's SQL output of the stored
 * dump: a table's data is the lines between "COPY <key> ... FROM stdin;" and
 * "\.", one row per line (COPY's text format escapes newlines in values).
 * Reads fd to its end on its own thread (pg_restore must never block on a
 * full pipe). */
typedef struct RowCounter {
    int fd;
    char *const *keys; /* quote_ident(schema).quote_ident(name), as pg_dump writes them */
    int64_t *rows;     /* per key; -1 until the table's COPY block is seen */
    size_t count;
    bool readFailed;
} RowCounter;

#define ROWCOUNT_PREFIX 4096 /* bytes of a line kept: enough for any COPY header's table name */

static void rowCounterLine(RowCounter *rc, const char *line, size_t kept, size_t len, long *cur) {
    if (*cur != -2) { /* inside a COPY block */
        if (len == 2 && line[0] == '\\' && line[1] == '.')
            *cur = -2;
        else if (*cur >= 0)
            rc->rows[*cur]++;
        return;
    }
    if (kept < 5 || memcmp(line, "COPY ", 5) != 0)
        return;
    *cur = -1; /* a COPY block: counted only when it is one of the tables */
    for (size_t i = 0; i < rc->count; i++) {
        size_t k = strlen(rc->keys[i]);
        if (kept > 5 + k && memcmp(line + 5, rc->keys[i], k) == 0 && line[5 + k] == ' ') {
            *cur = (long)i;
            rc->rows[i] = 0;
            break;
        }
    }
}

static void *rowCounterMain(void *arg) {
    RowCounter *rc = arg;
    enum { BUF = 256 * 1024 };
    char *buf = lbXmalloc(BUF);
    char line[ROWCOUNT_PREFIX];
    size_t kept = 0, len = 0;
    long cur = -2; /* -2 outside COPY data, -1 in a table not counted, else the table */
    for (;;) {
        ssize_t r = read(rc->fd, buf, BUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc->readFailed = true;
        if (r <= 0)
            break;
        const char *p = buf, *end = buf + r;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = (size_t)((nl ? nl : end) - p);
            if (kept < sizeof(line)) {
                size_t take = n < sizeof(line) - kept ? n : sizeof(line) - kept;
                memcpy(line + kept, p, take);
                kept += take;
            }
            len += n;
            if (nl == NULL)
                break;
            rowCounterLine(rc, line, kept, len, &cur);
            kept = len = 0;
            p = nl + 1;
        }
    }
    free(buf);
    return NULL;
}

/* ------------------------------------------------------------ verification */

/* pg_restore --list prints names with newlines turned into spaces and an
 * empty owner as "-" (sanitize_line in pg_dump's sources). */
static char *tocName(const char *s, bool hyphenIfEmpty) {
    if (s == NULL || s[0] == '\0')
        return lbXstrdup(hyphenIfEmpty ? "-" : "");
    char *c = lbXstrdup(s);
    for (char *p = c; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return c;
}

static int cmpStr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parse a TOC listing: every entry line "ID; TABLEOID OID TYPE SCHEMA NAME
 * OWNER" contributes "TYPE SCHEMA NAME OWNER" to *entries (pointers into
 * text, which is modified). */
static void tocParse(char *text, char ***entries, size_t *count) {
    *entries = NULL;
    *count = 0;
    size_t cap = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == ';' || line[0] < '0' || line[0] > '9')
            continue;
        char *p = strstr(line, "; ");
        if (p == NULL)
            continue;
        p += 2;
        /* two numbers: the catalog table's OID and the object's OID */
        for (int field = 0; field < 2 && p; field++) {
            if (*p < '0' || *p > '9') {
                p = NULL;
                break;
            }
            while (*p >= '0' && *p <= '9')
                p++;
            if (*p != ' ')
                p = NULL;
            else
                p++;
        }
        if (p == NULL)
            continue;
        if (*count == cap) {
            cap = cap ? cap * 2 : 256;
            *entries = lbXrealloc(*entries, cap * sizeof(char *));
        }
        (*entries)[(*count)++] = p;
    }
}

/* Check the listing has TABLE and TABLE DATA for every table. */
static bool tocCheck(char *listing, const PgDumpTable *tables, size_t tableCount, size_t *tocEntries, LbError *err) {
    char **entries = NULL;
    size_t count = 0;
    tocParse(listing, &entries, &count);
    *tocEntries = count;
    if (count > 0)
        qsort(entries, count, sizeof(char *), cmpStr);
    bool ok = true;
    size_t missing = 0;
    char first[256] = "";
    for (size_t i = 0; i < tableCount; i++) {
        char *s = tocName(tables[i].schema, true), *n = tocName(tables[i].name, true);
        char *o = tocName(tables[i].owner, true);
        char *want[2] = {lbXasprintf("TABLE %s %s %s", s, n, o), lbXasprintf("TABLE DATA %s %s %s", s, n, o)};
        for (int k = 0; k < 2; k++) {
            const char *key = want[k];
            if (count == 0 || bsearch(&key, entries, count, sizeof(char *), cmpStr) == NULL) {
                if (missing++ == 0)
                    snprintf(first, sizeof(first), "%s %s.%s", k ? "TABLE DATA" : "TABLE", s, n);
            }
            free(want[k]);
        }
        free(s);
        free(n);
        free(o);
    }
    if (missing > 0)
        ok = lbErr(err, LB_ERR_CORRUPT,
                   "verification failed: the dump's table of contents lacks %zu of the %zu expected entries "
                   "(first: %s)",
                   missing, tableCount * 2, first);
    free(entries);
    return ok;
}

/* The two pg_restore readers of pgdumpVerify; a reader that stops reading
 * (EPIPE) is closed and the other one goes on. */
typedef struct VerifySinks {
    int fd[2];
} VerifySinks;

static int emitToBoth(void *ctx, const uint8_t *data, size_t len, LbError *err) {
    (void)err;
    VerifySinks *v = ctx;
    for (int i = 0; i < 2; i++)
        if (v->fd[i] >= 0 && !writeAll(v->fd[i], data, len))
            closeFd(&v->fd[i]);
    return v->fd[0] >= 0 || v->fd[1] >= 0 ? 1 : 0;
}

bool pgdumpVerify(Repo *repo, const Node *dump, const char *binDir, const PgDumpTable *tables, size_t tableCount,
                  char *const *keys, int64_t *rows, size_t *tocEntries, LbError *err) {
    bool ok = false, counting = false;
    char *path = NULL;
    PgProc *list = NULL, *full = NULL;
    int listPipe[2] = {-1, -1}, fullPipe[2] = {-1, -1}, listOut = -1, sqlPipe[2] = {-1, -1};
    RowCounter rc = {.keys = keys, .rows = rows, .count = tableCount, .fd = -1};
    pthread_t counterThread;
    LbBuf listing = {0};
    *tocEntries = 0;
    if (dump->type != NODE_FILE) {
        lbErr(err, LB_ERR_CORRUPT, "verification failed: '%s' is not a regular file", dump->name);
        goto cleanup;
    }
    path = pgprocFind(binDir, "pg_restore", err);
    if (path == NULL)
        goto cleanup;
    if (!pipeNew(listPipe, err) || !pipeNew(fullPipe, err) || (rows && !pipeNew(sqlPipe, err)))
        goto cleanup;
    listOut = memfdNew("pg_restore --list", err);
    if (listOut < 0)
        goto cleanup;
    char *listArgv[] = {"pg_restore", "--list", NULL};
    /* the full pass writes the SQL to us when rows are counted */
    char *fullArgv[] = {"pg_restore", rows ? "--file=-" : "--file=/dev/null", NULL};
    list = pgprocStartP(path, listArgv, err, .stdinFd = listPipe[0], .stdoutFd = listOut);
    if (list == NULL)
        goto cleanup;
    full = pgprocStartP(path, fullArgv, err, .stdinFd = fullPipe[0], .stdoutFd = rows ? sqlPipe[1] : 0);
    if (full == NULL)
        goto cleanup;
    closeFd(&listPipe[0]);
    closeFd(&fullPipe[0]);
    if (rows) {
        closeFd(&sqlPipe[1]);
        for (size_t i = 0; i < tableCount; i++)
            rows[i] = -1;
        rc.fd = sqlPipe[0];
        if (pthread_create(&counterThread, NULL, rowCounterMain, &rc) != 0) {
            lbErr(err, LB_ERR_GENERIC, "unable to start the row counting thread");
            goto cleanup;
        }
        counting = true;
    }

    /* one read of the stored dump feeds both: --list stops reading after
     * the table of contents (its pipe then reports EPIPE), the full pass
     * reads everything */
    VerifySinks sinks = {{listPipe[1], fullPipe[1]}};
    listPipe[1] = fullPipe[1] = -1; /* the sinks own them now */
    bool readOk = restoreFileStream(repo, dump, emitToBoth, &sinks, err);
    closeFd(&sinks.fd[0]);
    closeFd(&sinks.fd[1]);
    closeFd(&listPipe[1]);
    closeFd(&fullPipe[1]);
    bool listOk = pgprocWait(list, err);
    if (!readOk) {
        lbErrorWrap(err, "verification failed: unable to read the stored dump back");
        goto cleanup;
    }
    if (!listOk) {
        lbErrorWrap(err, "verification failed: pg_restore --list");
        goto cleanup;
    }
    bool fullOk = pgprocWait(full, err);
    if (counting) { /* pg_restore has exited: its output ends */
        pthread_join(counterThread, NULL);
        counting = false;
    }
    if (!fullOk) {
        lbErrorWrap(err, "verification failed: pg_restore reading the whole dump");
        goto cleanup;
    }
    if (!readAllFrom(listOut, &listing, err))
        goto cleanup;
    if (strstr((char *)listing.data, "Format: CUSTOM") == NULL) {
        lbErr(err, LB_ERR_CORRUPT, "verification failed: pg_restore --list does not report a custom-format archive");
        goto cleanup;
    }
    if (!tocCheck((char *)listing.data, tables, tableCount, tocEntries, err))
        goto cleanup;
    /* after the TOC check, whose message names a missing entry more precisely */
    if (rows) {
        if (rc.readFailed) {
            lbErr(err, LB_ERR_IO, "verification failed: unable to read pg_restore's output");
            goto cleanup;
        }
        for (size_t i = 0; i < tableCount; i++)
            if (rows[i] < 0) {
                lbErr(err, LB_ERR_CORRUPT, "verification failed: the dump holds no data for table %s", keys[i]);
                goto cleanup;
            }
    }
    ok = true;
cleanup:
    closeFd(&listPipe[0]);
    closeFd(&listPipe[1]);
    closeFd(&fullPipe[0]);
    closeFd(&fullPipe[1]);
    closeFd(&listOut);
    closeFd(&sqlPipe[1]);
    pgprocFree(list);
    pgprocFree(full); /* kills and reaps pg_restore if still running: the counter sees the end */
    if (counting)
        pthread_join(counterThread, NULL);
    closeFd(&sqlPipe[0]);
    lbBufFree(&listing);
    free(path);
    return ok;
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
    if (!runToMemfd(dumpPath, versionArgv, env, secret, &versionFd, NULL, err) || !readAllFrom(versionFd, &text, err))
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
        bool ran = runToMemfd(dumpallPath, argv, env, secret, &globalsFd, &result->warnings, err);
        free(lArg);
        if (!ran) {
            lbErrorWrap(err, "no snapshot was written");
            goto cleanup;
        }
    }

    /* 3. pg_dump straight into the chunker, rows counted meanwhile */
    if (!pipeNew(dumpPipe, err))
        goto cleanup;
    snapshotArg = snapshotId ? lbXasprintf("--snapshot=%s", snapshotId) : NULL;
    encodingArg = lbXasprintf("--encoding=%s", serverEncoding ? serverEncoding : cat.encoding);
    char *dumpArgv[] = {"pg_dump", "--format=custom", "--compress=0", encodingArg, dbnameArg, snapshotArg, NULL};
    dump = pgprocStartP(dumpPath, dumpArgv, err, .stdoutFd = dumpPipe[1], .envp = env, .secret = secret);
    if (dump == NULL)
        goto cleanup;
    closeFd(&dumpPipe[1]);
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
    closeFd(&dumpPipe[0]);
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
    addWarnings(&result->warnings, pgprocStderr(dump));
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
    result->meta = buildMeta(o, conn, &cat, tool, dumpNode.size, globalsFd >= 0 ? fdSize(globalsFd) : 0, rolePasswords,
                             tocEntries);
    ok = true;
cleanup:
    if (inTx && conn)
        pgconnExec(conn, "ROLLBACK", NULL);
    closeFd(&dumpPipe[0]);
    closeFd(&dumpPipe[1]);
    pgprocFree(dump);
    pgconnClose(conn);
    catalogClear(&cat);
    pgconnEnvFree(env);
    closeFd(&versionFd);
    closeFd(&globalsFd);
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
    if (path == NULL || !pipeNew(fds, err))
        goto cleanup;
    env = pgconnInfoChildEnv(maint);
    connStr = pgconnInfoChildString(maint);
    dbArg = lbXasprintf("--dbname=%s", connStr);
    char *argv[] = {"psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=0", dbArg, NULL};
    psql = pgprocStartP(path, argv, err, .stdinFd = fds[0], .envp = env, .secret = pgconnInfoGet(maint, "password"));
    if (psql == NULL)
        goto cleanup;
    closeFd(&fds[0]);
    LbError writeErr = {0};
    bool written = restoreFileToFd(repo, &node, fds[1], &writeErr);
    closeFd(&fds[1]);
    if (!pgprocWait(psql, err))
        goto cleanup;
    if (!written) {
        *err = writeErr;
        goto cleanup;
    }
    addWarnings(&r->warnings, pgprocStderr(psql));
    ok = true;
cleanup:
    closeFd(&fds[0]);
    closeFd(&fds[1]);
    pgprocFree(psql);
    pgconnEnvFree(env);
    nodeClear(&node);
    free(path);
    free(connStr);
    free(dbArg);
    return ok;
}

/* Compare the restored tables' row counts with the snapshot's. */
static bool verifyCounts(const Snapshot *snap, const PgConnInfo *target, PgRestoreResult *r, LbError *err) {
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

/* Copy the stored dump into an unnamed temporary file for a parallel
 * pg_restore (which needs to seek). *pathOut names it for pg_restore:
 * /proc/self/fd/N of the already unlinked file where /proc is mounted (the
 * file then vanishes with us, even on a crash), else its real name, which
 * the caller unlinks (*unlinkPath). */
static int dumpToTempFile(Repo *repo, const Node *node, char **pathOut, char **unlinkPath, LbError *err) {
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    char *name = lbXasprintf("%s/lifeboat-pgrestore-XXXXXX", dir);
    int fd = mkostemp(name, O_CLOEXEC);
    if (fd < 0) {
        lbErrSys(err, "unable to create a temporary file in '%s' for the parallel restore", dir);
        free(name);
        return -1;
    }
    (void)fchmod(fd, 0600);
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

/* Wait for pg_restore. When it fails after printing more than the error
 * message quotes (many "errors ignored on restore"), all it printed goes to
 * r->warnings so that none of it is lost. */
static bool waitRestore(PgProc *proc, PgRestoreResult *r, LbError *err) {
    if (pgprocWait(proc, err))
        return true;
    const char *text = pgprocStderr(proc);
    if (strlen(text) > 700)
        addWarnings(&r->warnings, text);
    return false;
}

bool pgdumpRestore(Repo *repo, const Snapshot *snap, const PgRestoreOptions *o, PgRestoreResult *r, LbError *err) {
    bool ok = false;
    Node node = {0};
    char *restorePath = NULL, *targetDb = NULL, *targetConn = NULL, *dbArg = NULL, *jobsArg = NULL;
    char *fileArg = NULL, *unlinkPath = NULL;
    char **env = NULL;
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
    pgconnInfoFree(t);
    dbArg = lbXasprintf("--dbname=%s", targetConn);
    env = pgconnInfoChildEnv(o->target);
    const char *argv[12];
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
        if (!pipeNew(fds, err))
            goto cleanup;
        proc = pgprocStartP(restorePath, (char *const *)argv, err, .stdinFd = fds[0], .envp = env,
                            .secret = pgconnInfoGet(o->target, "password"));
        if (proc == NULL)
            goto cleanup;
        closeFd(&fds[0]);
        LbError writeErr = {0};
        bool written = restoreFileToFd(repo, &node, fds[1], &writeErr);
        closeFd(&fds[1]);
        /* pg_restore's message first: a closed pipe is only its symptom */
        if (!waitRestore(proc, r, err))
            goto cleanup;
        if (!written) {
            *err = writeErr;
            goto cleanup;
        }
    }
    addWarnings(&r->warnings, pgprocStderr(proc));
    if (o->verify && !verifyCounts(snap, o->target, r, err))
        goto cleanup;
    ok = true;
cleanup:
    closeFd(&fds[0]);
    closeFd(&fds[1]);
    pgprocFree(proc);
    closeFd(&tmpFd);
    if (unlinkPath)
        unlink(unlinkPath);
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
    return ok;
}

void pgdumpRestoreResultClear(PgRestoreResult *result) {
    free(result->warnings);
    memset(result, 0, sizeof(*result));
}
