/* pgconn.c - parse libpq connection strings, connect, run queries. */
#include "pg/pgconn.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "crypto/crypto.h"

extern char **environ;

struct PgConnInfo {
    char **keys; /* every keyword libpq knows, in its order (owned) */
    char **vals; /* the value given for keys[i], or NULL (owned) */
    size_t count;
};

struct PgConn {
    PGconn *conn;
};

static void wipeFree(char *s) {
    if (s) {
        cryptoWipe(s, strlen(s));
        free(s);
    }
}

/* Drop trailing newlines and spaces (libpq messages end with "\n"). */
static void trimEnd(char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

/* libpq's parse errors quote the offending part of the connection string
 * ("invalid percent-encoded token: \"Pg%ZZsecret\"", or the whole URI), which
 * may be or hold the password: every quoted run longer than one character
 * (single characters are separators such as "=" or "]") becomes "...". */
static void redactQuoted(char *msg) {
    char *w = msg;
    for (const char *r = msg; *r;) {
        const char *close = *r == '"' ? strchr(r + 1, '"') : NULL;
        if (close == NULL) {
            *w++ = *r++;
            continue;
        }
        size_t inner = (size_t)(close - r - 1);
        if (inner > 1) {
            memcpy(w, "\"...\"", 5);
            w += 5;
        } else { /* a separator: keep the whole quoted run */
            memmove(w, r, inner + 2);
            w += inner + 2;
        }
        r = close + 1;
    }
    *w = '\0';
}

PgConnInfo *pgconnInfoNew(const char *conninfo, LbError *err) {
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &why);
    if (opts == NULL) {
        if (why) {
            trimEnd(why);
            redactQuoted(why);
            lbErr(err, LB_ERR_ARGS, "invalid PostgreSQL connection string: %s", why);
            PQfreemem(why);
        } else {
            lbErr(err, LB_ERR_MEMORY, "unable to parse the PostgreSQL connection string: out of memory");
        }
        return NULL;
    }
    PgConnInfo *info = lbXcalloc(1, sizeof(*info));
    size_t n = 0;
    while (opts[n].keyword)
        n++;
    info->keys = lbXcalloc(n + 1, sizeof(char *));
    info->vals = lbXcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        info->keys[i] = lbXstrdup(opts[i].keyword);
        if (opts[i].val)
            info->vals[i] = lbXstrdup(opts[i].val);
    }
    info->count = n;
    for (size_t i = 0; i < n; i++)
        if (opts[i].val)
            cryptoWipe(opts[i].val, strlen(opts[i].val));
    PQconninfoFree(opts);
    if (pgconnInfoGet(info, "sslpassword") != NULL) {
        pgconnInfoFree(info);
        lbErr(err, LB_ERR_ARGS,
              "sslpassword in the PostgreSQL connection string is not supported: the client programs could only "
              "get it on their command line. HINT: Use an unencrypted client key file readable only by this user.");
        return NULL;
    }
    return info;
}

void pgconnInfoFree(PgConnInfo *info) {
    if (info == NULL)
        return;
    for (size_t i = 0; i < info->count; i++) {
        free(info->keys[i]);
        wipeFree(info->vals[i]);
    }
    free(info->keys);
    free(info->vals);
    free(info);
}

PgConnInfo *pgconnInfoDup(const PgConnInfo *info) {
    PgConnInfo *c = lbXcalloc(1, sizeof(*c));
    c->count = info->count;
    c->keys = lbXcalloc(info->count + 1, sizeof(char *));
    c->vals = lbXcalloc(info->count + 1, sizeof(char *));
    for (size_t i = 0; i < info->count; i++) {
        c->keys[i] = lbXstrdup(info->keys[i]);
        c->vals[i] = info->vals[i] ? lbXstrdup(info->vals[i]) : NULL;
    }
    return c;
}

static long findKey(const PgConnInfo *info, const char *keyword) {
    for (size_t i = 0; i < info->count; i++)
        if (strcmp(info->keys[i], keyword) == 0)
            return (long)i;
    return -1;
}

const char *pgconnInfoGet(const PgConnInfo *info, const char *keyword) {
    long i = findKey(info, keyword);
    return i < 0 ? NULL : info->vals[i];
}

bool pgconnInfoSet(PgConnInfo *info, const char *keyword, const char *value) {
    long i = findKey(info, keyword);
    if (i < 0)
        return false;
    wipeFree(info->vals[i]);
    info->vals[i] = value ? lbXstrdup(value) : NULL;
    return true;
}

bool pgconnInfoHasPassword(const PgConnInfo *info) {
    const char *pw = pgconnInfoGet(info, "password");
    return pw != NULL && pw[0] != '\0';
}

char *pgconnInfoDatabase(const PgConnInfo *info) {
    const char *v = pgconnInfoGet(info, "dbname");
    if (v == NULL || v[0] == '\0')
        v = getenv("PGDATABASE");
    if (v == NULL || v[0] == '\0')
        v = pgconnInfoGet(info, "user");
    if (v == NULL || v[0] == '\0')
        v = getenv("PGUSER");
    if (v == NULL || v[0] == '\0') {
        struct passwd *pw = getpwuid(geteuid());
        v = pw ? pw->pw_name : NULL;
    }
    return v && v[0] ? lbXstrdup(v) : NULL;
}

/* Append keyword='value' with \ and ' escaped (libpq's key=value syntax). */
static void appendPair(LbBuf *b, const char *key, const char *val) {
    if (b->len)
        lbBufAppendStr(b, " ");
    lbBufAppendStr(b, key);
    lbBufAppendStr(b, "='");
    for (const char *p = val; *p; p++) {
        if (*p == '\\' || *p == '\'')
            lbBufAppend(b, "\\", 1);
        lbBufAppend(b, p, 1);
    }
    lbBufAppendStr(b, "'");
}

char *pgconnInfoChildString(const PgConnInfo *info) {
    LbBuf b = {0};
    for (size_t i = 0; i < info->count; i++)
        if (info->vals[i] && strcmp(info->keys[i], "password") != 0)
            appendPair(&b, info->keys[i], info->vals[i]);
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

char *pgconnInfoDisplay(const PgConnInfo *info) {
    LbBuf b = {0};
    for (size_t i = 0; i < info->count; i++) {
        if (info->vals[i] == NULL || strcmp(info->keys[i], "password") == 0)
            continue;
        if (b.len)
            lbBufAppendStr(&b, " ");
        lbBufAppendStr(&b, info->keys[i]);
        lbBufAppendStr(&b, "=");
        lbBufAppendStr(&b, info->vals[i]);
    }
    if (b.len == 0)
        lbBufAppendStr(&b, "(the PG* environment)");
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

char **pgconnInfoChildEnv(const PgConnInfo *info) {
    const char *pw = pgconnInfoGet(info, "password");
    bool setPw = pw != NULL && pw[0] != '\0';
    size_t n = 0;
    while (environ && environ[n])
        n++;
    char **env = lbXcalloc(n + 2, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (setPw && strncmp(environ[i], "PGPASSWORD=", 11) == 0)
            continue;
        env[k++] = lbXstrdup(environ[i]);
    }
    if (setPw)
        env[k++] = lbXasprintf("PGPASSWORD=%s", pw);
    env[k] = NULL;
    return env;
}

void pgconnEnvFree(char **env) {
    if (env == NULL)
        return;
    for (size_t i = 0; env[i]; i++) {
        if (strncmp(env[i], "PGPASSWORD=", 11) == 0)
            wipeFree(env[i]);
        else
            free(env[i]);
    }
    free(env);
}

char *pgconnRedact(const PgConnInfo *info, const char *text) {
    const char *pw = info ? pgconnInfoGet(info, "password") : NULL;
    if (pw == NULL || pw[0] == '\0')
        return lbXstrdup(text);
    LbBuf b = {0};
    size_t pl = strlen(pw);
    const char *p = text;
    for (const char *hit; (hit = strstr(p, pw)) != NULL; p = hit + pl) {
        lbBufAppend(&b, p, (size_t)(hit - p));
        lbBufAppendStr(&b, "<redacted>");
    }
    lbBufAppendStr(&b, p);
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

static void mask(char *from, const char *to) {
    for (; from < to; from++)
        *from = '*';
}

void pgconnScrubArg(char *arg) {
    if (arg == NULL)
        return;
    char *p = NULL;
    if (strncmp(arg, "postgresql://", 13) == 0)
        p = arg + 13;
    else if (strncmp(arg, "postgres://", 11) == 0)
        p = arg + 11;
    if (p) {
        /* userinfo ends at the first '@' before the path (libpq's rule) */
        char *slash = p + strcspn(p, "/");
        char *at = memchr(p, '@', (size_t)(slash - p));
        if (at) {
            char *colon = memchr(p, ':', (size_t)(at - p));
            if (colon)
                mask(colon + 1, at);
        }
        char *q = strchr(p, '?');
        while (q) {
            q++;
            char *end = q + strcspn(q, "&");
            if (strncmp(q, "password=", 9) == 0)
                mask(q + 9, end);
            q = *end ? end : NULL;
        }
        return;
    }
    /* key = value pairs; values may be quoted with '' and \ escapes */
    p = arg;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p == '\0')
            break;
        char *key = p;
        while (*p && *p != '=' && *p != ' ' && *p != '\t')
            p++;
        size_t keyLen = (size_t)(p - key);
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=')
            return; /* not a connection string libpq accepts: leave it */
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        bool secret = keyLen == 8 && strncmp(key, "password", 8) == 0;
        if (*p == '\'') {
            char *start = ++p;
            while (*p && *p != '\'') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (secret)
                mask(start, p);
            if (*p)
                p++;
        } else {
            char *start = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (secret)
                mask(start, p);
        }
    }
}

PgConn *pgconnOpen(const PgConnInfo *info, LbError *err) {
    const char **keys = lbXcalloc(info->count + 3, sizeof(char *));
    const char **vals = lbXcalloc(info->count + 3, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < info->count; i++)
        if (info->vals[i]) {
            keys[n] = info->keys[i];
            vals[n++] = info->vals[i];
        }
    if (pgconnInfoGet(info, "application_name") == NULL) {
        keys[n] = "fallback_application_name";
        vals[n++] = "lifeboat";
    }
    if (pgconnInfoGet(info, "connect_timeout") == NULL && getenv("PGCONNECT_TIMEOUT") == NULL) {
        keys[n] = "connect_timeout";
        vals[n++] = "30";
    }
    keys[n] = NULL;
    vals[n] = NULL;
    PGconn *c = PQconnectdbParams(keys, vals, 0);
    free(keys);
    free(vals);
    if (c == NULL) {
        lbErr(err, LB_ERR_MEMORY, "unable to connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        char *msg = pgconnRedact(info, PQerrorMessage(c));
        trimEnd(msg);
        lbErr(err, LB_ERR_GENERIC, "unable to connect to PostgreSQL: %s", msg);
        free(msg);
        PQfinish(c);
        return NULL;
    }
    PgConn *conn = lbXcalloc(1, sizeof(*conn));
    conn->conn = c;
    return conn;
}

void pgconnClose(PgConn *conn) {
    if (conn == NULL)
        return;
    PQfinish(conn->conn);
    free(conn);
}

PGconn *pgconnRaw(PgConn *conn) {
    return conn->conn;
}

int pgconnServerVersionNum(const PgConn *conn) {
    return PQserverVersion(conn->conn);
}

const char *pgconnServerVersion(const PgConn *conn) {
    const char *v = PQparameterStatus(conn->conn, "server_version");
    return v ? v : "unknown";
}

bool pgconnIsSuperuser(const PgConn *conn) {
    const char *v = PQparameterStatus(conn->conn, "is_superuser");
    return v != NULL && strcmp(v, "on") == 0;
}

/* The server's message for a failed result, trimmed, in err. */
static bool resultError(PgConn *conn, PGresult *res, const char *what, LbError *err) {
    const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(conn->conn);
    char *msg = lbXstrdup(m && m[0] ? m : PQerrorMessage(conn->conn));
    trimEnd(msg);
    lbErr(err, LB_ERR_GENERIC, "unable to run %s on PostgreSQL: %s", what, msg);
    free(msg);
    return false;
}

/* First word of the statement, to name it in messages without its text. */
static void statementName(const char *sql, char *out, size_t n) {
    while (*sql == ' ' || *sql == '\n')
        sql++;
    size_t len = strcspn(sql, " \n(;");
    snprintf(out, n, "%.*s", (int)len, sql);
}

bool pgconnExec(PgConn *conn, const char *sql, LbError *err) {
    PGresult *res = PQexec(conn->conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        char name[32];
        statementName(sql, name, sizeof(name));
        resultError(conn, res, name, err);
    }
    PQclear(res);
    return ok;
}

PGresult *pgconnQuery(PgConn *conn, const char *sql, int nParams, const char *const *params, LbError *err) {
    PGresult *res = PQexecParams(conn->conn, sql, nParams, NULL, params, NULL, NULL, 0);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        char name[32];
        statementName(sql, name, sizeof(name));
        resultError(conn, res, name, err);
        PQclear(res);
        return NULL;
    }
    return res;
}

char *pgconnQueryValue(PgConn *conn, const char *sql, LbError *err) {
    PGresult *res = pgconnQuery(conn, sql, 0, NULL, err);
    if (res == NULL)
        return NULL;
    char *v = NULL;
    if (PQntuples(res) < 1 || PQnfields(res) < 1 || PQgetisnull(res, 0, 0))
        lbErr(err, LB_ERR_GENERIC, "unexpected empty result from PostgreSQL");
    else
        v = lbXstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* Quote with q, doubling q (and, for E'' literals, backslashes) inside. */
static char *quoteByHand(const char *s, char q, const char *prefix) {
    LbBuf b = {0};
    lbBufAppendStr(&b, prefix);
    lbBufAppend(&b, &q, 1);
    for (const char *p = s; *p; p++) {
        if (*p == q || (prefix[0] && *p == '\\'))
            lbBufAppend(&b, p, 1);
        lbBufAppend(&b, p, 1);
    }
    lbBufAppend(&b, &q, 1);
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

char *pgconnQuoteIdent(PgConn *conn, const char *name) {
    char *q = PQescapeIdentifier(conn->conn, name, strlen(name));
    if (q == NULL) /* only on invalid encoding or out of memory: quote by hand */
        return quoteByHand(name, '"', "");
    char *out = lbXstrdup(q);
    PQfreemem(q);
    return out;
}

char *pgconnQuoteLiteral(PgConn *conn, const char *value) {
    char *q = PQescapeLiteral(conn->conn, value, strlen(value));
    if (q == NULL)
        return quoteByHand(value, '\'', "E");
    char *out = lbXstrdup(q);
    PQfreemem(q);
    return out;
}
