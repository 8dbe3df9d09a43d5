/* pgverify.c - verify a restored PostgreSQL database (see pgverify.h). */
#include "drill/pgverify.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "pg/pgconn.h"
#include "pg/pgdump.h"
#include "pg/pgio.h"
#include "pg/pgproc.h"

#define MAX_TABLE_LINES 10 /* per kind of table failure; the rest are counted */
#define MAX_QUOTED 200     /* characters of a query or value quoted in a line */

/* The tables a logical backup counts (pg/pgdump.c's list): ordinary tables,
 * partitions included, outside the system schemas, not temporary, not
 * members of an extension. */
static const char RESTORED_TABLES_SQL[] = "SELECT n.nspname, c.relname" PGDUMP_COUNTED_TABLES_FROM " ORDER BY 1, 2";

/* Append a line to the result. */
static void addLine(PgVerifyResult *r, bool passed, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void addLine(PgVerifyResult *r, bool passed, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = lbXvasprintf(fmt, ap);
    va_end(ap);
    r->lines = lbXrealloc(r->lines, (r->lineCount + 1) * sizeof(*r->lines));
    r->lines[r->lineCount++] = (PgVerifyLine){.passed = passed, .text = text};
    if (!passed)
        r->passed = false;
}

void pgverifyResultClear(PgVerifyResult *r) {
    for (size_t i = 0; i < r->lineCount; i++)
        free(r->lines[i].text);
    free(r->lines);
    memset(r, 0, sizeof(*r));
}

/* ---- meta keys ---- */

/* One identifier at *p as quote_ident writes it; advances *p. */
static char *parseIdent(const char **p) {
    const char *s = *p;
    LbBuf b = {0};
    if (*s == '"') {
        for (s++;; s++) {
            if (*s == '\0') {
                lbBufFree(&b);
                return NULL;
            }
            if (*s == '"') {
                if (s[1] != '"')
                    break;
                s++;
            }
            lbBufAppend(&b, s, 1);
        }
        s++;
    } else {
        while (*s && *s != '.' && *s != '"')
            lbBufAppend(&b, s++, 1);
    }
    if (b.len == 0) {
        lbBufFree(&b);
        return NULL;
    }
    lbBufAppend(&b, "", 1);
    *p = s;
    return (char *)lbBufTake(&b, NULL);
}

bool pgverifySplitKey(const char *key, char **schema, char **table) {
    const char *p = key;
    *schema = *table = NULL;
    char *s = parseIdent(&p);
    if (s == NULL || *p != '.') {
        free(s);
        return false;
    }
    p++;
    char *t = parseIdent(&p);
    if (t == NULL || *p != '\0') {
        free(s);
        free(t);
        return false;
    }
    *schema = s;
    *table = t;
    return true;
}

/* ---- row counts ---- */

typedef struct TableName {
    char *schema, *name;
    bool seen; /* named by the snapshot */
} TableName;

/* Quote text for a line: printable, at most MAX_QUOTED characters. */
static char *quoted(const char *text) {
    char *p = lbPrintableDup(text);
    if (strlen(p) > MAX_QUOTED)
        strcpy(p + MAX_QUOTED - 3, "...");
    return p;
}

static bool checkRows(PgConn *conn, const json_t *meta, PgVerifyResult *r, LbError *err) {
    const json_t *tables = json_object_get(meta, "tables");
    const char *mode = json_string_value(json_object_get(meta, "row_counts"));
    if (!json_is_object(tables)) {
        addLine(r, false, "rows: the snapshot records no tables");
        return true;
    }
    r->countsExact = mode != NULL && strcmp(mode, "exact") == 0;
    PGresult *res = pgconnQuery(conn, RESTORED_TABLES_SQL, 0, NULL, err);
    if (res == NULL)
        return lbErrorWrap(err, "unable to list the tables of the restored database");
    size_t n = (size_t)PQntuples(res);
    TableName *have = lbXcalloc(n + 1, sizeof(*have));
    for (size_t i = 0; i < n; i++) {
        have[i].schema = lbXstrdup(PQgetvalue(res, (int)i, 0));
        have[i].name = lbXstrdup(PQgetvalue(res, (int)i, 1));
    }
    PQclear(res);
    r->tablesFound = n;
    r->tablesExpected = json_object_size(tables);

    bool ok = true;
    long long restoredRows = 0, recordedRows = 0;
    const char *key;
    json_t *want;
    json_object_foreach((json_t *)tables, key, want) {
        char *schema = NULL, *name = NULL;
        char *shown = quoted(key);
        TableName *found = NULL;
        if (pgverifySplitKey(key, &schema, &name))
            for (size_t i = 0; i < n && found == NULL; i++)
                if (strcmp(have[i].schema, schema) == 0 && strcmp(have[i].name, name) == 0)
                    found = &have[i];
        if (found == NULL) {
            if (r->tablesMissing++ < MAX_TABLE_LINES)
                addLine(r, false, "rows: table %s is missing from the restored database", shown);
            r->passed = false;
            goto next;
        }
        found->seen = true;
        char *qs = pgconnQuoteIdent(conn, schema), *qn = pgconnQuoteIdent(conn, name);
        char *sql = lbXasprintf("SELECT pg_catalog.count(*) FROM ONLY %s.%s", qs, qn);
        char *v = pgconnQueryValue(conn, sql, err);
        free(sql);
        free(qs);
        free(qn);
        if (v == NULL) {
            lbErrorWrap(err, "unable to count the rows of %s", shown);
            ok = false;
            goto next;
        }
        long long got = strtoll(v, NULL, 10);
        free(v);
        restoredRows += got;
        if (json_is_integer(want))
            recordedRows += (long long)json_integer_value(want);
        if (!r->countsExact) {
            r->tablesMatched++;
        } else if (json_is_integer(want) && got == (long long)json_integer_value(want)) {
            r->tablesMatched++;
        } else {
            if (r->tablesMismatched++ < MAX_TABLE_LINES) {
                if (json_is_integer(want))
                    addLine(r, false, "rows: table %s has %lld rows, the snapshot %lld", shown, got,
                            (long long)json_integer_value(want));
                else
                    addLine(r, false, "rows: table %s has %lld rows, the snapshot records no count", shown, got);
            }
            r->passed = false;
        }
    next:
        free(shown);
        free(schema);
        free(name);
        if (!ok)
            break;
    }
    if (ok) {
        for (size_t i = 0; i < n; i++) {
            if (have[i].seen)
                continue;
            if (r->tablesExtra++ < MAX_TABLE_LINES)
                addLine(r, false, "tables: %s.%s is in the restored database but not in the snapshot", have[i].schema,
                        have[i].name);
        }
        if (r->tablesMissing > MAX_TABLE_LINES)
            addLine(r, false, "rows: %zu more tables are missing", r->tablesMissing - MAX_TABLE_LINES);
        if (r->tablesMismatched > MAX_TABLE_LINES)
            addLine(r, false, "rows: %zu more tables have other row counts", r->tablesMismatched - MAX_TABLE_LINES);
        if (r->tablesExtra > MAX_TABLE_LINES)
            addLine(r, false, "tables: %zu more tables are not in the snapshot", r->tablesExtra - MAX_TABLE_LINES);
        addLine(r, r->tablesFound == r->tablesExpected && r->tablesMissing == 0 && r->tablesExtra == 0,
                "tables: %zu in the restored database, %zu in the snapshot", r->tablesFound, r->tablesExpected);
        if (r->countsExact && r->tablesMatched == r->tablesExpected)
            addLine(r, true, "rows: %zu tables match the snapshot (%lld rows, exact counts)", r->tablesMatched,
                    restoredRows);
        else if (!r->countsExact)
            addLine(r, true, "rows: %lld in %zu tables; the snapshot holds estimates (%lld), not compared",
                    restoredRows, r->tablesMatched, recordedRows);
    }
    for (size_t i = 0; i < n; i++) {
        free(have[i].schema);
        free(have[i].name);
    }
    free(have);
    return ok;
}

/* ---- pg_amcheck ---- */

#define MAX_AMCHECK_REPORTS 5 /* problems quoted from pg_amcheck's report; the rest are counted */

/* pg_amcheck's report on one line: each problem is a line naming the
 * relation, block and offset, followed by indented lines saying what is
 * wrong; those become "RELATION...: WHAT; ..." for the first few problems,
 * then "(N problems)". Caller frees. */
static char *amcheckSummary(const char *text) {
    LbBuf b = {0};
    size_t problems = 0;
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        bool indented = line[0] == ' ' || line[0] == '\t';
        const char *start = line;
        while (indented && (*start == ' ' || *start == '\t'))
            start++;
        if (len > 0 && !indented)
            problems++;
        if (len > 0 && problems <= MAX_AMCHECK_REPORTS) {
            if (b.len > 0)
                lbBufAppendStr(&b, indented ? " " : "; ");
            lbBufAppend(&b, start, len - (size_t)(start - line));
        }
        line += len + (line[len] == '\n');
    }
    if (problems > MAX_AMCHECK_REPORTS) {
        char more[64];
        snprintf(more, sizeof(more), "; ... (%zu problems)", problems);
        lbBufAppendStr(&b, more);
    }
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

static void runAmcheck(const PgVerifyOptions *o, const PgConnInfo *info, PgVerifyResult *r) {
    LbError e = {0};
    char *path = pgprocFind(o->binDir, "pg_amcheck", &e);
    char *childStr = NULL, *dbArg = NULL;
    char **env = NULL;
    int outFd = -1;
    PgProc *proc = NULL;
    LbBuf out = {0};
    r->amcheckRun = true;
    if (path == NULL)
        goto done;
    outFd = pgioMemfdNew("lifeboat-pg-amcheck", &e);
    if (outFd < 0)
        goto done;
    childStr = pgconnInfoChildString(info);
    env = pgconnInfoChildEnv(info);
    /* one database: the connection string as pg_amcheck's database argument; --all: as the maintenance
     * database, from which it lists the others */
    dbArg = o->amcheckAll ? lbXasprintf("--maintenance-db=%s", childStr) : lbXstrdup(childStr);
    /* argv[0] the full path: pg_amcheck finds its own installation through it */
    char *argv[] = {path,
                    "--heapallindexed",
                    "--install-missing",
                    "--no-password",
                    o->amcheckAll ? "--all" : dbArg,
                    o->amcheckAll ? dbArg : NULL,
                    NULL};
    proc = pgprocStartP(path, argv, &e, .stdoutFd = outFd, .envp = env, .secret = pgconnInfoGet(info, "password"));
    if (proc == NULL)
        goto done;
    bool ok = pgprocWait(proc, &e);
    if (pgioReadAll(outFd, &out, &e) && ok) {
        r->amcheckPassed = out.len == 0 || ((char *)out.data)[0] == '\0';
        if (r->amcheckPassed) {
            addLine(r, true, "pg_amcheck: no corruption (tables and B-tree indexes, every row found in its indexes)");
            goto cleanup;
        }
    }
    if (out.len > 0 && out.data[0] != '\0') {
        char *masked = pgconnRedact(info, (char *)out.data);
        char *summary = amcheckSummary(masked);
        char *shown = lbPrintableDup(summary);
        free(summary);
        if (strlen(shown) > 1500)
            strcpy(shown + 1497, "...");
        char why[LB_ERROR_MSG_MAX];
        snprintf(why, sizeof(why), "%s", ok ? "" : e.msg);
        lbErr(&e, LB_ERR_CORRUPT, "%s%s%s", shown, ok ? "" : "; ", why);
        free(masked);
        free(shown);
    }
done:
    r->amcheckPassed = false;
    addLine(r, false, "pg_amcheck: %s", e.msg[0] ? e.msg : "failed");
cleanup:
    pgprocFree(proc);
    pgioClose(&outFd);
    pgconnEnvFree(env);
    lbBufFree(&out);
    free(childStr);
    free(dbArg);
    free(path);
}

/* ---- SQL checks ---- */

/* Is the value true or a non-zero number? */
static bool truthy(const char *v) {
    if (strcmp(v, "t") == 0 || strcmp(v, "true") == 0)
        return true;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    return end != v && *end == '\0' && errno != ERANGE && !isnan(d) && d != 0.0;
}

static void runCheck(PgConn *conn, const char *sql, PgVerifyResult *r) {
    LbError e = {0};
    char *q = quoted(sql);
    r->checksRun++;
    PGresult *res = pgconnQuery(conn, sql, 0, NULL, &e);
    if (res == NULL) {
        r->checksFailed++;
        addLine(r, false, "check '%s' failed: %s", q, e.msg);
    } else if (PQntuples(res) != 1 || PQnfields(res) != 1) {
        r->checksFailed++;
        addLine(r, false, "check '%s' failed: it returned %d rows of %d columns, not one value", q, PQntuples(res),
                PQnfields(res));
    } else if (PQgetisnull(res, 0, 0)) {
        r->checksFailed++;
        addLine(r, false, "check '%s' failed: NULL", q);
    } else {
        char *v = quoted(PQgetvalue(res, 0, 0));
        bool pass = truthy(PQgetvalue(res, 0, 0));
        if (!pass)
            r->checksFailed++;
        addLine(r, pass, pass ? "check '%s': %s" : "check '%s' failed: %s", q, v);
        free(v);
    }
    PQclear(res);
    free(q);
}

/* ---- all of it ---- */

bool pgverifyRun(const PgVerifyOptions *o, PgVerifyResult *r, LbError *err) {
    memset(r, 0, sizeof(*r));
    r->passed = true;
    PgConnInfo *info = pgconnInfoNew(o->conninfo, err);
    PgConn *conn = NULL;
    bool ran = false;
    if (info == NULL)
        return r->passed = false;
    conn = pgconnOpen(info, err);
    if (conn == NULL) {
        char *where = pgconnInfoDisplay(info);
        lbErrorWrap(err, "unable to connect to the restored database (%s)", where);
        free(where);
        goto cleanup;
    }
    if (o->meta && !checkRows(conn, o->meta, r, err))
        goto cleanup;
    for (size_t i = 0; i < o->checkCount; i++)
        runCheck(conn, o->checks[i], r);
    if (o->amcheck)
        runAmcheck(o, info, r);
    ran = true;
cleanup:
    pgconnClose(conn);
    pgconnInfoFree(info);
    if (!ran) {
        r->passed = false;
        return false;
    }
    if (r->passed)
        return true;
    size_t failures = 0;
    const char *first = NULL;
    for (size_t i = 0; i < r->lineCount; i++) {
        if (!r->lines[i].passed) {
            failures++;
            if (first == NULL)
                first = r->lines[i].text;
        }
    }
    if (failures > 1)
        return lbErr(err, LB_ERR_CORRUPT, "verification failed: %s (and %zu more failures)", first, failures - 1);
    return lbErr(err, LB_ERR_CORRUPT, "verification failed: %s", first ? first : "no check passed");
}
