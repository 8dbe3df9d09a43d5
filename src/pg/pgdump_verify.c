/* pgdump_verify.c - read a stored dump back through pg_restore: TOC check and row counts (pg/pgdump.h). */
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
#include "common/timeutil.h"
#include "pg/pgio.h"
#include "pg/pgproc.h"
#include "restore/restore.h"
#include "source/stream.h"

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

/* The pg_restore readers of pgdumpVerify (two) and pgdumpListToc (one;
 * fd[1] is -1); a reader that stops reading (EPIPE) is closed and the other
 * one goes on. */
typedef struct VerifySinks {
    int fd[2];
} VerifySinks;

static int emitToBoth(void *ctx, const uint8_t *data, size_t len, LbError *err) {
    (void)err;
    VerifySinks *v = ctx;
    for (int i = 0; i < 2; i++)
        if (v->fd[i] >= 0 && !pgioWriteAll(v->fd[i], data, len))
            pgioClose(&v->fd[i]);
    return v->fd[0] >= 0 || v->fd[1] >= 0 ? 1 : 0;
}

bool pgdumpListToc(Repo *repo, const Node *dump, const char *binDir, LbBuf *listing, LbError *err) {
    bool ok = false;
    char *path = pgprocFind(binDir, "pg_restore", err);
    PgProc *list = NULL;
    int in[2] = {-1, -1}, out = -1;
    if (path == NULL || !pgioPipeNew(in, err))
        goto cleanup;
    out = pgioMemfdNew("pg_restore --list", err);
    if (out < 0)
        goto cleanup;
    char *argv[] = {"pg_restore", "--list", "--verbose", NULL};
    list = pgprocStartP(path, argv, err, .stdinFd = in[0], .stdoutFd = out);
    if (list == NULL)
        goto cleanup;
    pgioClose(&in[0]);
    /* --list stops reading after the table of contents: the sink then stops the read */
    VerifySinks sink = {{in[1], -1}};
    in[1] = -1;
    bool readOk = restoreFileStream(repo, dump, emitToBoth, &sink, err);
    pgioClose(&sink.fd[0]);
    if (!pgprocWait(list, err)) /* its message first: a short read is only its symptom */
        goto cleanup;
    if (!readOk) {
        lbErrorWrap(err, "unable to read the stored dump");
        goto cleanup;
    }
    ok = pgioReadAll(out, listing, err);
cleanup:
    pgioClose(&in[0]);
    pgioClose(&in[1]);
    pgioClose(&out);
    pgprocFree(list);
    free(path);
    return ok;
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
    double started = lbMonotonicSeconds();
    *tocEntries = 0;
    if (dump->type != NODE_FILE) {
        lbErr(err, LB_ERR_CORRUPT, "verification failed: '%s' is not a regular file", dump->name);
        goto cleanup;
    }
    path = pgprocFind(binDir, "pg_restore", err);
    if (path == NULL)
        goto cleanup;
    if (!pgioPipeNew(listPipe, err) || !pgioPipeNew(fullPipe, err) || (rows && !pgioPipeNew(sqlPipe, err)))
        goto cleanup;
    listOut = pgioMemfdNew("pg_restore --list", err);
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
    pgioClose(&listPipe[0]);
    pgioClose(&fullPipe[0]);
    if (rows) {
        pgioClose(&sqlPipe[1]);
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
    pgioClose(&sinks.fd[0]);
    pgioClose(&sinks.fd[1]);
    pgioClose(&listPipe[1]);
    pgioClose(&fullPipe[1]);
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
    if (!pgioReadAll(listOut, &listing, err))
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
    /* -v: how long reading back took (the benchmark of docs/benchmarks.md reads it) */
    lbLogInfo("verified the stored dump (%" PRIu64 " bytes) in %.2f s", dump->size, lbMonotonicSeconds() - started);
    ok = true;
cleanup:
    pgioClose(&listPipe[0]);
    pgioClose(&listPipe[1]);
    pgioClose(&fullPipe[0]);
    pgioClose(&fullPipe[1]);
    pgioClose(&listOut);
    pgioClose(&sqlPipe[1]);
    pgprocFree(list);
    pgprocFree(full); /* kills and reaps pg_restore if still running: the counter sees the end */
    if (counting)
        pthread_join(counterThread, NULL);
    pgioClose(&sqlPipe[0]);
    lbBufFree(&listing);
    free(path);
    return ok;
}
