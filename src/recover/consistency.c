/* consistency.c - database references against bucket keys (recover/consistency.h). */
#include "recover/consistency.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "pg/pgconn.h"
#include "source/bucket.h"
#include "storage/s3/s3.h"

typedef struct Keys {
    char **v;
    size_t n, cap;
} Keys;

static void keysAdd(Keys *k, const char *s, size_t len) {
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 256;
        k->v = lbXrealloc(k->v, k->cap * sizeof(char *));
    }
    char *c = lbXmalloc(len + 1);
    memcpy(c, s, len);
    c[len] = '\0';
    k->v[k->n++] = c;
}

static void keysFree(Keys *k) {
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
}

static int cmpStr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sort and drop duplicates */
static void keysSort(Keys *k) {
    qsort(k->v, k->n, sizeof(char *), cmpStr);
    size_t u = 0;
    for (size_t i = 0; i < k->n; i++) {
        if (u > 0 && strcmp(k->v[u - 1], k->v[i]) == 0)
            free(k->v[i]);
        else
            k->v[u++] = k->v[i];
    }
    k->n = u;
}

static bool listedObject(void *ctx, const S3ListedObject *o) {
    keysAdd(ctx, o->name, strlen(o->name));
    return true;
}

/* nftw has no context argument: the folder walk is not reentrant */
static Keys *walkKeys;
static size_t walkRootLen;

static int walkFile(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    if (flag != FTW_F || ftw->level == 0)
        return 0;
    LbBuf key = {0};
    const char *p = path + walkRootLen;
    while (*p == '/')
        p++;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        char *seg = lbXmalloc(len + 1);
        memcpy(seg, p, len);
        seg[len] = '\0';
        if (key.len)
            lbBufAppend(&key, "/", 1);
        bucketNameUnescape(seg, &key);
        free(seg);
        p += len;
        while (*p == '/')
            p++;
    }
    keysAdd(walkKeys, (const char *)key.data, key.len);
    lbBufFree(&key);
    return 0;
}

static bool bucketKeys(const char *bucket, const StorageS3Options *s3, Keys *k, LbError *err) {
    if (strncmp(bucket, "s3:", 3) == 0) {
        S3Client *c = s3ClientNew(bucket, s3, err);
        bool ok = c && s3ClientListObjects(c, NULL, listedObject, k, err);
        s3ClientFree(c);
        return ok;
    }
    walkKeys = k;
    walkRootLen = strlen(bucket);
    if (nftw(bucket, walkFile, 32, FTW_PHYS) != 0)
        return lbErrSys(err, "unable to list '%s'", bucket);
    return true;
}

static bool queryKeys(const char *conninfo, const char *query, Keys *k, LbError *err) {
    PgConnInfo *info = pgconnInfoNew(conninfo, err);
    PgConn *conn = info ? pgconnOpen(info, err) : NULL;
    PGresult *res = conn ? pgconnQuery(conn, query, 0, NULL, err) : NULL;
    bool ok = res != NULL;
    if (ok && PQnfields(res) < 1)
        ok = lbErr(err, LB_ERR_ARGS, "the consistency query returns no column: %s", query);
    for (int i = 0; ok && i < PQntuples(res); i++)
        if (!PQgetisnull(res, i, 0))
            keysAdd(k, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
    if (res)
        PQclear(res);
    pgconnClose(conn);
    pgconnInfoFree(info);
    if (!ok)
        lbErrorWrap(err, "consistency query");
    return ok;
}

bool consistencyCheck(const char *conninfo, const char *query, const char *bucket, const StorageS3Options *s3,
                      ConsistencyResult *r, LbError *err) {
    memset(r, 0, sizeof(*r));
    Keys refs = {0}, objs = {0};
    bool ok = queryKeys(conninfo, query, &refs, err) && bucketKeys(bucket, s3, &objs, err);
    if (ok) {
        keysSort(&refs);
        keysSort(&objs);
        r->referenced = refs.n;
        r->objects = objs.n;
        for (size_t i = 0; i < refs.n; i++) {
            if (bsearch(&refs.v[i], objs.v, objs.n, sizeof(char *), cmpStr))
                continue;
            r->missing++;
            if (r->exampleCount < CONSISTENCY_EXAMPLES) {
                r->examples = lbXrealloc(r->examples, (r->exampleCount + 1) * sizeof(char *));
                r->examples[r->exampleCount++] = lbXstrdup(refs.v[i]);
            }
        }
    }
    keysFree(&refs);
    keysFree(&objs);
    return ok;
}

void consistencyResultClear(ConsistencyResult *r) {
    for (size_t i = 0; i < r->exampleCount; i++)
        free(r->examples[i]);
    free(r->examples);
    memset(r, 0, sizeof(*r));
}
