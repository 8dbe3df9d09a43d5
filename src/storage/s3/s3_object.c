/* s3_object.c - objects by key: HEAD and ranged GET behind the Storage members, batch delete and upload counting, and
 * the object API of any name (s3Client*Object) that bucket sources and restore targets use. */
#include "storage/s3/s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"

/***********************************************************************************************************************
 * HEAD and GET by key
 **********************************************************************************************************************/

/* HEAD answers have no body, so a refused HEAD says nothing about why: ask
 * again with a one-byte GET to learn the server's error code, and fail with
 * that answer. Returns false. */
static bool s3FailHead(S3Client *c, LbError *err, const char *verb, const char *key, const S3Response *head) {
    S3Request req = {.method = "GET", .key = key, .range = true, .rangeFirst = 0, .rangeLast = 0};
    S3Response resp;
    bool ok = s3Perform(c, &req, &resp);
    if (ok && resp.status == head->status)
        s3Fail(c, err, verb, key, &resp);
    else
        s3Fail(c, err, verb, key, head);
    s3ResponseFree(&resp);
    return false;
}

/* Copy an ETag header value without its quotes. */
void s3EtagCopy(char *out, size_t size, const char *etag) {
    size_t len = strlen(etag);
    if (len >= 2 && etag[0] == '"' && etag[len - 1] == '"') {
        etag++;
        len -= 2;
    }
    s3CopyText(out, size, etag, len);
}

/* HEAD key: exists and size. A missing object or bucket is exists=false.
 * meta, when not NULL, receives the object's metadata headers and ETag. */
bool s3Head(S3Client *c, const char *key, const char *verb, StorageInfo *info, S3ObjectInfo *meta, LbError *err) {
    info->exists = false;
    info->size = 0;
    S3Request req = {.method = "HEAD", .key = key, .info = meta};
    S3Response resp;
    bool ok = s3Perform(c, &req, &resp);
    if (!ok) {
        s3Fail(c, err, verb, key, &resp);
    } else if (s3Is2xx(resp.status)) {
        info->exists = true;
        info->size = resp.haveContentLength ? resp.contentLength : 0;
        if (meta != NULL) {
            meta->size = info->size;
            s3EtagCopy(meta->etag, sizeof(meta->etag), resp.etag);
        }
    } else if (resp.status != 404) {
        ok = s3FailHead(c, err, verb, key, &resp);
    }
    s3ResponseFree(&resp);
    return ok;
}

static bool s3RangeError(const S3Client *c, LbError *err, const char *key, uint64_t size) {
    (void)c;
    return lbErr(err, LB_ERR_CORRUPT, "object '%s' is %llu bytes, shorter than requested range", key,
                 (unsigned long long)size);
}

/* Append bytes [offset, offset+length) of key to out (length 0: to the
 * end). On failure out->len is unchanged. A missing object is
 * LB_ERR_NOT_FOUND; a range past the end LB_ERR_CORRUPT naming the size
 * (learned from Content-Range, or a HEAD when the server does not say).
 * meta, when not NULL, receives the answer's metadata headers, ETag and the
 * object's size (when the server says it). */
bool s3GetKey(S3Client *c, const char *key, uint64_t offset, uint64_t length, LbBuf *out, S3ObjectInfo *meta,
              LbError *err) {
    bool ok = false;
    S3Response resp = {0};
    StorageInfo info;
    size_t before = out->len;
    uint64_t objectSize = 0; /* for meta */
    if (length > 0 && length > UINT64_MAX - offset) {
        /* cannot be expressed as a Range: the answer only needs the size */
        if (s3Head(c, key, "read", &info, NULL, err)) {
            if (!info.exists)
                lbErr(err, LB_ERR_NOT_FOUND, "unable to read '%s' in s3 bucket '%s': no such object", key, c->bucket);
            else
                s3RangeError(c, err, key, info.size);
        }
        goto cleanup;
    }
    S3Request req = {.method = "GET", .key = key, .out = out, .info = meta};
    if (offset > 0 || length > 0) {
        req.range = true;
        req.rangeFirst = offset;
        req.rangeLast = length > 0 ? offset + length - 1 : UINT64_MAX;
    }
    if (!s3Perform(c, &req, &resp)) {
        s3Fail(c, err, "read", key, &resp);
        goto cleanup;
    }
    if (resp.status == 416) {
        /* the range starts at or past the end: fine only for an empty tail */
        uint64_t size = resp.rangeTotal;
        if (!resp.haveRangeTotal) {
            if (!s3Head(c, key, "read", &info, NULL, err))
                goto cleanup;
            if (!info.exists) {
                lbErr(err, LB_ERR_NOT_FOUND, "unable to read '%s' in s3 bucket '%s': no such object", key, c->bucket);
                goto cleanup;
            }
            size = info.size;
        }
        if (length == 0 && offset == size)
            ok = true;
        else
            s3RangeError(c, err, key, size);
        objectSize = size;
        goto cleanup;
    }
    if (!s3Is2xx(resp.status)) {
        if (resp.status == 404)
            lbErr(err, LB_ERR_NOT_FOUND, "unable to read '%s' in s3 bucket '%s': no such object", key, c->bucket);
        else
            s3Fail(c, err, "read", key, &resp);
        goto cleanup;
    }
    size_t got = out->len - before;
    uint64_t size = resp.haveRangeTotal ? resp.rangeTotal : (resp.status == 200 ? (uint64_t)got + offset : 0);
    if (resp.status == 200 && req.range) {
        /* the server ignored the range: keep only the part asked for */
        size = got;
        if (offset > size || (length > 0 && length > size - offset)) {
            out->len = before;
            s3RangeError(c, err, key, size);
            goto cleanup;
        }
        uint64_t want = length > 0 ? length : size - offset;
        memmove(out->data + before, out->data + before + offset, (size_t)want);
        out->len = before + (size_t)want;
        objectSize = size;
        ok = true;
        goto cleanup;
    }
    uint64_t want = length > 0 ? length : size - offset;
    if (req.range && (!resp.haveRangeTotal || got != want)) {
        /* a short answer: the object ends before the range does */
        out->len = before;
        s3RangeError(c, err, key, size);
        goto cleanup;
    }
    objectSize = size;
    ok = true;

cleanup:
    if (meta != NULL) {
        if (ok) {
            s3EtagCopy(meta->etag, sizeof(meta->etag), resp.etag);
            meta->size = objectSize;
        } else {
            s3ObjectInfoClear(meta);
        }
    }
    s3ResponseFree(&resp);
    return ok;
}

/***********************************************************************************************************************
 * Batch delete and upload listing
 **********************************************************************************************************************/

typedef struct S3DeleteXml {
    char *failedKey;
    char code[64];
    char *curKey;
    char curCode[64];
} S3DeleteXml;

static void s3DeleteXmlCb(void *ctx, const char *path, const char *text, size_t len) {
    S3DeleteXml *x = ctx;
    if (strcmp(path, "DeleteResult/Error/Key") == 0) {
        free(x->curKey);
        x->curKey = s3Dup(text, len);
    } else if (strcmp(path, "DeleteResult/Error/Code") == 0) {
        s3CopyText(x->curCode, sizeof(x->curCode), text, len);
    } else if (strcmp(path, "DeleteResult/Error") == 0) {
        if (x->failedKey == NULL && strcmp(x->curCode, "NoSuchKey") != 0) {
            x->failedKey = x->curKey ? x->curKey : lbXstrdup("?");
            x->curKey = NULL;
            snprintf(x->code, sizeof(x->code), "%s", x->curCode);
        }
        free(x->curKey);
        x->curKey = NULL;
        x->curCode[0] = '\0';
    }
}

/* DeleteObjects for names (relative to the prefix), in batches. */
static bool s3DeleteNames(S3Client *c, const char *const *names, size_t count, LbError *err) {
    bool ok = true;
    for (size_t start = 0; start < count && ok; start += S3_DELETE_BATCH) {
        size_t n = count - start < S3_DELETE_BATCH ? count - start : S3_DELETE_BATCH;
        LbBuf body = {0};
        lbBufAppendStr(&body, "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
        for (size_t i = 0; i < n; i++) {
            char *key = s3Key(c, names[start + i]);
            lbBufAppendStr(&body, "<Object><Key>");
            s3XmlEscapeAppend(&body, key);
            lbBufAppendStr(&body, "</Key></Object>");
            free(key);
        }
        lbBufAppendStr(&body, "</Delete>");
        char md5[25];
        sigv4Md5Base64(body.data, body.len, md5); /* DeleteObjects requires Content-MD5 */
        S3Request req = {.method = "POST",
                         .query = "delete",
                         .body = body.data,
                         .bodyLen = body.len,
                         .contentMd5 = md5,
                         .contentType = "application/xml"};
        S3Response resp;
        S3DeleteXml x = {0};
        ok = s3Perform(c, &req, &resp);
        if (ok && resp.status == 404 && s3NoSuchBucket(&resp)) {
            ok = true; /* nothing to delete */
        } else if (!ok || !s3Is2xx(resp.status)) {
            ok = s3Fail(c, err, "delete objects starting with", names[start], &resp);
        } else if (!s3XmlParse(resp.body.data, resp.body.len, s3DeleteXmlCb, &x)) {
            ok = lbErr(err, LB_ERR_TRANSIENT,
                       "unable to delete objects in s3 bucket '%s': malformed DeleteObjects answer", c->bucket);
        } else if (x.failedKey != NULL) {
            ok = lbErr(err, x.code[0] && strcmp(x.code, "AccessDenied") == 0 ? LB_ERR_AUTH : LB_ERR_IO,
                       "unable to remove '%s' in s3 bucket '%s': %s", x.failedKey, c->bucket,
                       x.code[0] ? x.code : "refused");
        }
        free(x.failedKey);
        free(x.curKey);
        s3ResponseFree(&resp);
        lbBufFree(&body);
    }
    return ok;
}

bool s3ClientRemoveMany(S3Client *c, const char *const *names, size_t count, LbError *err) {
    for (size_t i = 0; i < count; i++)
        if (!storageNameCheck(names[i], err))
            return false;
    return s3DeleteNames(c, names, count, err);
}

typedef struct S3UploadsXml {
    size_t count;
    bool truncated;
    char *nextKey;
    char *nextUpload;
} S3UploadsXml;

static void s3UploadsXmlCb(void *ctx, const char *path, const char *text, size_t len) {
    S3UploadsXml *x = ctx;
    if (strcmp(path, "ListMultipartUploadsResult/Upload") == 0) {
        x->count++;
    } else if (strcmp(path, "ListMultipartUploadsResult/IsTruncated") == 0) {
        x->truncated = len == 4 && strncmp(text, "true", 4) == 0;
    } else if (strcmp(path, "ListMultipartUploadsResult/NextKeyMarker") == 0) {
        free(x->nextKey);
        x->nextKey = s3Dup(text, len);
    } else if (strcmp(path, "ListMultipartUploadsResult/NextUploadIdMarker") == 0) {
        free(x->nextUpload);
        x->nextUpload = s3Dup(text, len);
    }
}

bool s3ClientCountUploads(S3Client *c, size_t *count, LbError *err) {
    *count = 0;
    char *prefix = c->prefix[0] ? lbXasprintf("%s/", c->prefix) : lbXstrdup("");
    char *keyMarker = NULL, *uploadMarker = NULL;
    bool ok = true;
    for (;;) {
        LbBuf q = {0};
        if (keyMarker != NULL) {
            lbBufAppendStr(&q, "key-marker=");
            sigv4UriEncodeAppend(&q, keyMarker, strlen(keyMarker), false);
            lbBufAppend(&q, "&", 1);
        }
        lbBufAppendStr(&q, "prefix=");
        sigv4UriEncodeAppend(&q, prefix, strlen(prefix), false);
        if (uploadMarker != NULL) {
            lbBufAppendStr(&q, "&upload-id-marker=");
            sigv4UriEncodeAppend(&q, uploadMarker, strlen(uploadMarker), false);
        }
        lbBufAppendStr(&q, "&uploads");
        lbBufAppend(&q, "", 1);
        S3Request req = {.method = "GET", .query = (const char *)q.data};
        S3Response resp;
        S3UploadsXml x = {0};
        ok = s3Perform(c, &req, &resp);
        if (ok && resp.status == 404 && s3NoSuchBucket(&resp)) {
            ok = true;
        } else if (!ok || !s3Is2xx(resp.status)) {
            ok = s3Fail(c, err, "list multipart uploads under", prefix, &resp);
        } else if (!s3XmlParse(resp.body.data, resp.body.len, s3UploadsXmlCb, &x)) {
            ok = lbErr(err, LB_ERR_IO, "unable to list multipart uploads in s3 bucket '%s': malformed answer",
                       c->bucket);
        }
        *count += x.count;
        s3ResponseFree(&resp);
        lbBufFree(&q);
        free(keyMarker);
        free(uploadMarker);
        keyMarker = x.nextKey;
        uploadMarker = x.nextUpload;
        if (!ok || !x.truncated || keyMarker == NULL)
            break;
    }
    free(keyMarker);
    free(uploadMarker);
    free(prefix);
    return ok;
}

/***********************************************************************************************************************
 * Objects of any name (bucket sources and restore targets)
 **********************************************************************************************************************/

/* The key of an object name, or NULL (err set) for the empty key. */
static char *s3ObjectKey(const S3Client *c, const char *name, LbError *err) {
    if (name == NULL || (name[0] == '\0' && c->prefix[0] == '\0')) {
        lbErr(err, LB_ERR_ARGS, "unable to use an empty object key in s3 bucket '%s'", c->bucket);
        return NULL;
    }
    return s3Key(c, name);
}

typedef struct S3ObjectLister {
    const char *keyPrefix;
    size_t strip;
    S3ObjectListCb cb;
    void *ctx;
} S3ObjectLister;

static bool s3ListObject(void *ctx, S3ObjectEntry *e) {
    S3ObjectLister *l = ctx;
    if (strncmp(e->key, l->keyPrefix, l->strip) != 0 || (l->strip == 0 && e->key[0] == '\0'))
        return true;
    S3ListedObject obj = {
        .name = e->key + l->strip, .size = e->size, .etag = e->etag, .lastModifiedNs = e->lastModifiedNs};
    return l->cb(l->ctx, &obj);
}

bool s3ClientListObjects(S3Client *c, const char *startAfter, S3ObjectListCb cb, void *ctx, LbError *err) {
    char *keyPrefix = c->prefix[0] ? lbXasprintf("%s/", c->prefix) : lbXstrdup("");
    char *startKey = startAfter ? lbXasprintf("%s%s", keyPrefix, startAfter) : NULL;
    S3ObjectLister l = {keyPrefix, strlen(keyPrefix), cb, ctx};
    bool ok = s3ListKeys(c, keyPrefix, startKey, false, s3ListObject, &l, err);
    free(startKey);
    free(keyPrefix);
    return ok;
}

bool s3ClientGetObject(S3Client *c, const char *name, uint64_t offset, uint64_t length, LbBuf *out, S3ObjectInfo *info,
                       LbError *err) {
    if (info != NULL)
        s3ObjectInfoClear(info);
    char *key = s3ObjectKey(c, name, err);
    if (key == NULL)
        return false;
    bool ok = s3GetKey(c, key, offset, length, out, info, err);
    free(key);
    return ok;
}

bool s3ClientHeadObject(S3Client *c, const char *name, bool *exists, S3ObjectInfo *info, LbError *err) {
    *exists = false;
    s3ObjectInfoClear(info);
    char *key = s3ObjectKey(c, name, err);
    if (key == NULL)
        return false;
    StorageInfo si;
    bool ok = s3Head(c, key, "stat", &si, info, err);
    *exists = ok && si.exists;
    if (!*exists)
        s3ObjectInfoClear(info);
    free(key);
    return ok;
}

/* A header value that can go on the wire as is: no control characters
 * (which would end the header early or smuggle another one in). */
static bool s3HeaderValueValid(const char *v) {
    for (; *v; v++)
        if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
            return false;
    return true;
}

bool s3ClientPutObject(S3Client *c, const char *name, uint64_t size, S3ReadFn read, void *readCtx,
                       const S3Header *headers, size_t headerCount, LbError *err) {
    for (size_t i = 0; i < headerCount; i++) {
        if (!s3IsObjectHeader(headers[i].name))
            return lbErr(err, LB_ERR_ARGS, "unable to write '%s' in s3 bucket '%s': '%s' is not an object header", name,
                         c->bucket, headers[i].name);
        if (!s3HeaderValueValid(headers[i].value))
            return lbErr(err, LB_ERR_ARGS,
                         "unable to write '%s' in s3 bucket '%s': header '%s' holds control characters", name,
                         c->bucket, headers[i].name);
    }
    char *key = s3ObjectKey(c, name, err);
    if (key == NULL)
        return false;
    const char *contentType = NULL;
    SigV4Header *extra = lbXcalloc(headerCount ? headerCount : 1, sizeof(SigV4Header));
    size_t extraCount = 0;
    for (size_t i = 0; i < headerCount; i++) {
        if (strcmp(headers[i].name, "content-type") == 0)
            contentType = headers[i].value; /* sent as Content-Type (not signed, like every body type) */
        else
            extra[extraCount++] = (SigV4Header){headers[i].name, headers[i].value};
    }
    S3PutSource src = {.read = read,
                       .readCtx = readCtx,
                       .len = size,
                       .contentType = contentType,
                       .extraHeaders = extra,
                       .extraCount = extraCount};
    uint8_t *whole = NULL;
    bool ok = false;
    if (size <= c->multipartThreshold) {
        /* one PUT: the body must be at hand (at most the threshold) */
        whole = lbXmalloc(size ? (size_t)size : 1);
        if (size > 0 && !read(readCtx, whole, (size_t)size, err))
            goto cleanup;
        src.data = whole;
        src.read = NULL;
    }
    ok = s3PutKey(c, key, &src, err);
cleanup:
    free(whole);
    free(extra);
    free(key);
    return ok;
}

bool s3ClientDeleteObjects(S3Client *c, const char *const *names, size_t count, LbError *err) {
    for (size_t i = 0; i < count; i++) {
        char *key = s3ObjectKey(c, names[i], err);
        if (key == NULL)
            return false;
        free(key);
    }
    return s3DeleteNames(c, names, count, err);
}
