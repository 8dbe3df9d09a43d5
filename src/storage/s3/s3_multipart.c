/* s3_multipart.c - put: one PUT up to the multipart threshold, else a parallel multipart upload that is aborted on
 * failure; a missing bucket is created. */
#include "storage/s3/s3_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"

/***********************************************************************************************************************
 * put: single PUT or multipart upload
 **********************************************************************************************************************/

/* PUT the whole object (src->data) in one request. Leaves resp for the
 * caller's inspection (freed by the caller); false when no answer came. */
static bool s3PutSingle(S3Client *c, const char *key, const S3PutSource *src, S3Response *resp) {
    S3Request req = {.method = "PUT",
                     .key = key,
                     .body = src->data,
                     .bodyLen = (size_t)src->len,
                     .objectHeaders = true,
                     .contentType = src->contentType,
                     .extraHeaders = src->extraHeaders,
                     .extraCount = src->extraCount};
    return s3Perform(c, &req, resp);
}

typedef struct S3InitXml {
    char *uploadId;
} S3InitXml;

static void s3InitXmlCb(void *ctx, const char *path, const char *text, size_t len) {
    S3InitXml *x = ctx;
    if (strcmp(path, "InitiateMultipartUploadResult/UploadId") == 0) {
        free(x->uploadId);
        x->uploadId = s3Dup(text, len);
    }
}

typedef struct S3Multipart {
    const LbLogSink *log; /* the starting thread's, set in every part worker */
    S3Client *client;
    const char *key;
    const char *uploadId;
    const uint8_t *data; /* the object in memory, or NULL: read under readLock, in part order */
    S3ReadFn read;
    void *readCtx;
    pthread_mutex_t readLock;
    size_t len;
    size_t partSize;
    size_t parts;
    char (*etags)[S3_ETAG_MAX];
    atomic_size_t next;
    atomic_bool failed;
    pthread_mutex_t lock;
    LbError err; /* the first failure */
} S3Multipart;

/* Record the first failure of a multipart upload. */
static void s3PartFailed(S3Multipart *m, const LbError *local) {
    pthread_mutex_lock(&m->lock);
    if (!atomic_load(&m->failed)) {
        m->err = *local;
        atomic_store(&m->failed, true);
    }
    pthread_mutex_unlock(&m->lock);
}

/* Upload parts until none is left or one failed. Each thread records its
 * own error locally and the first one is kept in m->err. With a reader, a
 * thread takes the next part number and reads that part into its own
 * buffer under readLock, so the reader sees the parts in order. */
static void *s3PartWorker(void *arg) {
    S3Multipart *m = arg;
    S3Client *c = m->client;
    uint8_t *partBuf = NULL;
    const LbLogSink *previousLog = lbLogSinkSet(m->log);
    for (;;) {
        if (atomic_load(&m->failed))
            break;
        size_t i;
        const uint8_t *body;
        size_t n;
        if (m->data != NULL) {
            i = atomic_fetch_add(&m->next, 1);
            if (i >= m->parts)
                break;
            size_t off = i * m->partSize;
            n = m->len - off < m->partSize ? m->len - off : m->partSize;
            body = m->data + off;
        } else {
            if (partBuf == NULL)
                partBuf = lbXmalloc(m->partSize);
            LbError local = {0};
            bool readOk = true;
            pthread_mutex_lock(&m->readLock);
            i = atomic_fetch_add(&m->next, 1);
            size_t off = i * m->partSize;
            n = i < m->parts ? (m->len - off < m->partSize ? m->len - off : m->partSize) : 0;
            if (i < m->parts && !atomic_load(&m->failed))
                readOk = m->read(m->readCtx, partBuf, n, &local);
            pthread_mutex_unlock(&m->readLock);
            if (i >= m->parts)
                break;
            if (!readOk) {
                s3PartFailed(m, &local);
                break;
            }
            body = partBuf;
        }
        LbBuf q = {0};
        char head[64];
        snprintf(head, sizeof(head), "partNumber=%zu&uploadId=", i + 1);
        lbBufAppendStr(&q, head);
        sigv4UriEncodeAppend(&q, m->uploadId, strlen(m->uploadId), false);
        lbBufAppend(&q, "", 1);
        S3Request req = {.method = "PUT", .key = m->key, .query = (const char *)q.data, .body = body, .bodyLen = n};
        if (c->testFailPart > 0 && (size_t)c->testFailPart == i + 1)
            req.payloadHash = SIGV4_EMPTY_SHA256; /* tests only: the server refuses this part */
        S3Response resp;
        LbError local = {0};
        bool ok = s3Perform(c, &req, &resp);
        if (!ok || !s3Is2xx(resp.status)) {
            ok = false;
            char verb[64];
            snprintf(verb, sizeof(verb), "write part %zu of", i + 1);
            s3Fail(c, &local, verb, m->key, &resp);
        } else if (resp.etag[0] == '\0') {
            ok = false;
            lbErr(&local, LB_ERR_IO, "unable to write part %zu of '%s' in s3 bucket '%s': no ETag in the answer", i + 1,
                  m->key, c->bucket);
        } else {
            snprintf(m->etags[i], S3_ETAG_MAX, "%s", resp.etag);
        }
        s3ResponseFree(&resp);
        lbBufFree(&q);
        if (!ok) {
            s3PartFailed(m, &local);
            break;
        }
    }
    free(partBuf);
    lbLogSinkSet(previousLog); /* also runs on the caller's thread */
    return NULL;
}

/* Abort an upload so its parts do not linger (and cost) on the server.
 * Best effort: a failure is logged, the caller's error stays the first one. */
static void s3AbortUpload(S3Client *c, const char *key, const char *uploadId) {
    LbBuf q = {0};
    lbBufAppendStr(&q, "uploadId=");
    sigv4UriEncodeAppend(&q, uploadId, strlen(uploadId), false);
    lbBufAppend(&q, "", 1);
    S3Request req = {.method = "DELETE", .key = key, .query = (const char *)q.data};
    S3Response resp;
    bool ok = s3Perform(c, &req, &resp) && (s3Is2xx(resp.status) || resp.status == 404);
    if (!ok) {
        LbError e = {0};
        s3Fail(c, &e, "abort multipart upload of", key, &resp);
        lbLogWarn("%s (its parts stay on the server until a lifecycle rule removes them)", e.msg);
    }
    s3ResponseFree(&resp);
    lbBufFree(&q);
}

/* Multipart upload: initiate, parts in parallel, complete; abort on any
 * failure. When the upload cannot even be initiated, *resp of that request
 * is handed back through noBucket so the caller can create the bucket. */
static bool s3PutMultipart(S3Client *c, const char *key, const S3PutSource *src, bool *noBucket, LbError *err) {
    *noBucket = false;
    uint64_t len = src->len;
    uint64_t partSize = c->partSize;
    if (partSize < S3_MIN_PART_SIZE)
        partSize = S3_MIN_PART_SIZE;
    if ((len + partSize - 1) / partSize > S3_MAX_PARTS)
        partSize = (len + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
    size_t parts = (size_t)((len + partSize - 1) / partSize);

    S3Request init = {.method = "POST",
                      .key = key,
                      .query = "uploads",
                      .objectHeaders = true,
                      .contentType = src->contentType,
                      .extraHeaders = src->extraHeaders,
                      .extraCount = src->extraCount};
    S3Response resp;
    S3InitXml x = {0};
    bool ok = s3Perform(c, &init, &resp);
    if (!ok || !s3Is2xx(resp.status)) {
        *noBucket = ok && s3NoSuchBucket(&resp);
        s3Fail(c, err, "start multipart upload of", key, &resp);
        s3ResponseFree(&resp);
        return false;
    }
    if (!s3XmlParse(resp.body.data, resp.body.len, s3InitXmlCb, &x) || x.uploadId == NULL || x.uploadId[0] == '\0') {
        lbErr(err, LB_ERR_TRANSIENT,
              "unable to start multipart upload of '%s' in s3 bucket '%s': no UploadId in the answer", key, c->bucket);
        s3ResponseFree(&resp);
        free(x.uploadId);
        return false;
    }
    s3ResponseFree(&resp);

    S3Multipart m = {.client = c,
                     .key = key,
                     .uploadId = x.uploadId,
                     .data = src->data,
                     .read = src->read,
                     .readCtx = src->readCtx,
                     .len = (size_t)len,
                     .partSize = (size_t)partSize,
                     .parts = parts};
    m.etags = lbXcalloc(parts, sizeof(*m.etags));
    m.log = lbLogSinkGet();
    atomic_init(&m.next, 0);
    atomic_init(&m.failed, false);
    pthread_mutex_init(&m.lock, NULL);
    pthread_mutex_init(&m.readLock, NULL);
    int threads = c->partThreads > 0 ? c->partThreads : S3_DEFAULT_PART_THREADS;
    if ((size_t)threads > parts)
        threads = (int)parts;
    pthread_t tids[S3_MAX_PART_THREADS];
    int started = 0;
    for (int i = 1; i < threads; i++) {
        if (pthread_create(&tids[started], NULL, s3PartWorker, &m) != 0)
            break; /* fewer threads: the remaining ones do the work */
        started++;
    }
    s3PartWorker(&m);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);

    ok = !atomic_load(&m.failed);
    if (!ok)
        *err = m.err;
    if (ok) {
        LbBuf body = {0};
        lbBufAppendStr(&body, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        for (size_t i = 0; i < parts; i++) {
            char num[32];
            snprintf(num, sizeof(num), "%zu", i + 1);
            lbBufAppendStr(&body, "<Part><PartNumber>");
            lbBufAppendStr(&body, num);
            lbBufAppendStr(&body, "</PartNumber><ETag>");
            s3XmlEscapeAppend(&body, m.etags[i]);
            lbBufAppendStr(&body, "</ETag></Part>");
        }
        lbBufAppendStr(&body, "</CompleteMultipartUpload>");
        LbBuf q = {0};
        lbBufAppendStr(&q, "uploadId=");
        sigv4UriEncodeAppend(&q, x.uploadId, strlen(x.uploadId), false);
        lbBufAppend(&q, "", 1);
        S3Request done = {.method = "POST",
                          .key = key,
                          .query = (const char *)q.data,
                          .body = body.data,
                          .bodyLen = body.len,
                          .contentType = "application/xml"};
        ok = s3Perform(c, &done, &resp);
        if (ok && s3Is2xx(resp.status)) {
            /* S3 may answer 200 and still fail: the body is then an
             * <Error> document. (RGW answers with an empty <ETag>: the
             * ETag is not relied upon.) */
            S3ErrorInfo e;
            s3ParseError(&resp, &e);
            if (e.code[0] != '\0') {
                resp.status = 500;
                ok = false;
            }
        } else {
            ok = false;
        }
        if (!ok)
            s3Fail(c, err, "complete multipart upload of", key, &resp);
        s3ResponseFree(&resp);
        lbBufFree(&body);
        lbBufFree(&q);
    }
    if (!ok)
        s3AbortUpload(c, key, x.uploadId);
    pthread_mutex_destroy(&m.lock);
    pthread_mutex_destroy(&m.readLock);
    free(m.etags);
    free(x.uploadId);
    return ok;
}

/* Store name: one PUT up to the multipart threshold, a multipart upload
 * above it. S3 makes either visible atomically, complete, or not at all. A
 * missing bucket is created and the put tried once more. data is borrowed. */
bool s3PutKey(S3Client *c, const char *key, const S3PutSource *src, LbError *err) {
    bool ok = false;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool noBucket = false;
        if (src->len > c->multipartThreshold) {
            ok = s3PutMultipart(c, key, src, &noBucket, err);
        } else {
            S3Response resp;
            ok = s3PutSingle(c, key, src, &resp);
            if (ok && !s3Is2xx(resp.status)) {
                noBucket = s3NoSuchBucket(&resp);
                ok = false;
                s3Fail(c, err, "write", key, &resp);
            } else if (!ok) {
                s3Fail(c, err, "write", key, &resp);
            }
            s3ResponseFree(&resp);
        }
        if (ok || !noBucket || attempt > 0)
            break;
        if (!s3CreateBucket(c, err))
            break;
    }
    return ok;
}
