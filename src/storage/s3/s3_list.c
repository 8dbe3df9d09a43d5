/* s3_list.c - the ListObjectsV2 pager (continuation tokens, url-encoded keys) shared by the Storage list and
 * s3ClientListObjects. */
#include "storage/s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/id.h"
#include "common/timeutil.h"

/***********************************************************************************************************************
 * list (ListObjectsV2)
 **********************************************************************************************************************/

/* Decode a key of an encoding-type=url listing in place: "%XX" is a byte and
 * '+' a space (S3 encodes a literal '+' as "%2B"). */
static void s3UrlDecodeInPlace(char *s) {
    char *out = s;
    for (const char *p = s; *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = lbHexValue(p[1])) >= 0 && (lo = lbHexValue(p[2])) >= 0) {
            *out++ = (char)(hi * 16 + lo);
            p += 2;
        } else if (*p == '+') {
            *out++ = ' ';
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

typedef struct S3ObjectPage {
    S3ObjectEntry *entries;
    size_t count, cap;
    S3ObjectEntry cur;
    bool truncated;
    bool urlEncoded;
    char *token;
    bool sawRoot;
} S3ObjectPage;

static void s3ObjectEntryFree(S3ObjectEntry *e) {
    free(e->key);
    free(e->etag);
    memset(e, 0, sizeof(*e));
}

static void s3ObjectXmlCb(void *ctx, const char *path, const char *text, size_t len) {
    S3ObjectPage *p = ctx;
    if (strcmp(path, "ListBucketResult") == 0) {
        p->sawRoot = true;
    } else if (strcmp(path, "ListBucketResult/Contents/Key") == 0) {
        free(p->cur.key);
        p->cur.key = s3Dup(text, len);
    } else if (strcmp(path, "ListBucketResult/Contents/Size") == 0) {
        p->cur.size = strtoull(text, NULL, 10);
    } else if (strcmp(path, "ListBucketResult/Contents/ETag") == 0) {
        char etag[S3_ETAG_MAX], raw[S3_ETAG_MAX];
        s3CopyText(raw, sizeof(raw), text, len);
        s3EtagCopy(etag, sizeof(etag), raw);
        free(p->cur.etag);
        p->cur.etag = lbXstrdup(etag);
    } else if (strcmp(path, "ListBucketResult/Contents/LastModified") == 0) {
        char tmp[64];
        s3CopyText(tmp, sizeof(tmp), text, len);
        int64_t ns = 0;
        p->cur.lastModifiedNs = lbParseTime(tmp, &ns) ? ns : 0;
    } else if (strcmp(path, "ListBucketResult/Contents") == 0) {
        if (p->cur.key != NULL) {
            if (p->count == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 256;
                p->entries = lbXrealloc(p->entries, p->cap * sizeof(*p->entries));
            }
            if (p->cur.etag == NULL)
                p->cur.etag = lbXstrdup("");
            p->entries[p->count++] = p->cur;
            memset(&p->cur, 0, sizeof(p->cur));
        }
        s3ObjectEntryFree(&p->cur);
    } else if (strcmp(path, "ListBucketResult/IsTruncated") == 0) {
        p->truncated = len == 4 && strncmp(text, "true", 4) == 0;
    } else if (strcmp(path, "ListBucketResult/EncodingType") == 0) {
        p->urlEncoded = len == 3 && strncasecmp(text, "url", 3) == 0;
    } else if (strcmp(path, "ListBucketResult/NextContinuationToken") == 0) {
        free(p->token);
        p->token = s3Dup(text, len);
    }
}

static void s3ObjectPageFree(S3ObjectPage *p) {
    for (size_t i = 0; i < p->count; i++)
        s3ObjectEntryFree(&p->entries[i]);
    free(p->entries);
    s3ObjectEntryFree(&p->cur);
    free(p->token);
    memset(p, 0, sizeof(*p));
}

/* Call cb for every object whose key starts with keyPrefix (after startKey
 * when given), page by page (1000 keys each, keys url-decoded). The callback
 * runs after a page is parsed, outside any lock; it returns false to stop.
 * A missing bucket is an empty list when missingIsEmpty, else
 * LB_ERR_NOT_FOUND. */
bool s3ListKeys(S3Client *c, const char *keyPrefix, const char *startKey, bool missingIsEmpty,
                bool (*cb)(void *ctx, S3ObjectEntry *e), void *ctx, LbError *err) {
    char *token = NULL;
    bool ok = true;
    bool stop = false;
    while (ok && !stop) {
        /* query parameters in canonical (sorted) order */
        LbBuf q = {0};
        if (token != NULL) {
            lbBufAppendStr(&q, "continuation-token=");
            sigv4UriEncodeAppend(&q, token, strlen(token), false);
            lbBufAppend(&q, "&", 1);
        }
        lbBufAppendStr(&q, "encoding-type=url&list-type=2&max-keys=1000&prefix=");
        sigv4UriEncodeAppend(&q, keyPrefix, strlen(keyPrefix), false);
        if (token == NULL && startKey != NULL) {
            lbBufAppendStr(&q, "&start-after=");
            sigv4UriEncodeAppend(&q, startKey, strlen(startKey), false);
        }
        lbBufAppend(&q, "", 1);
        S3Request req = {.method = "GET", .query = (const char *)q.data};
        S3Response resp;
        S3ObjectPage page = {0};
        if (!s3Perform(c, &req, &resp)) {
            ok = s3Fail(c, err, "list", keyPrefix, &resp);
        } else if (resp.status == 404 && s3NoSuchBucket(&resp)) {
            if (missingIsEmpty)
                stop = true; /* no bucket, no objects */
            else
                ok = lbErr(err, LB_ERR_NOT_FOUND, "unable to list s3 bucket '%s' at %s://%s: no such bucket", c->bucket,
                           c->scheme, c->hostPort);
        } else if (!s3Is2xx(resp.status)) {
            ok = s3Fail(c, err, "list", keyPrefix, &resp);
        } else if (!s3XmlParse(resp.body.data, resp.body.len, s3ObjectXmlCb, &page) || !page.sawRoot) {
            ok = lbErr(err, LB_ERR_TRANSIENT, "unable to list '%s' in s3 bucket '%s': malformed ListObjectsV2 answer",
                       keyPrefix, c->bucket);
        } else {
            for (size_t i = 0; i < page.count && !stop; i++) {
                S3ObjectEntry *e = &page.entries[i];
                if (page.urlEncoded)
                    s3UrlDecodeInPlace(e->key);
                if (!cb(ctx, e))
                    stop = true;
            }
            if (!page.truncated) {
                stop = true;
            } else if (page.token == NULL || page.token[0] == '\0') {
                ok = lbErr(err, LB_ERR_IO,
                           "unable to list '%s' in s3 bucket '%s': truncated answer without a continuation token",
                           keyPrefix, c->bucket);
            } else {
                free(token);
                token = page.token;
                page.token = NULL;
            }
        }
        s3ObjectPageFree(&page);
        s3ResponseFree(&resp);
        lbBufFree(&q);
    }
    free(token);
    return ok;
}
