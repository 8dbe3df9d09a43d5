/* s3_http.c - one signed request over libcurl: the global init, the share object and the easy-handle pool, s3Perform
 * with its response and header parsing, and the mapping of failures to LbError (transient, auth, not found) with hints.
 */
#include "storage/s3/s3_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/buf.h"
#include "common/log.h"

char *s3Dup(const char *s, size_t len) {
    char *out = lbXmalloc(len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

/* A repository's small, often-read objects (config, keys, locks, index
 * files, snapshots) keep the bucket's default storage class: a cold class
 * (GLACIER) would make a lock unwritable and the index unreadable. The
 * storage class option applies to the bulk: packs, WAL, bucket objects. */
static bool s3IsRepositoryMetadata(const S3Client *c, const char *key) {
    static const char *const names[] = {"config", "keys/", "locks/", "index/", "snapshots/"};
    if (key == NULL)
        return false;
    size_t plen = strlen(c->prefix);
    if (plen > 0) {
        if (strncmp(key, c->prefix, plen) != 0 || key[plen] != '/')
            return false;
        key += plen + 1;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i]);
        if (strncmp(key, names[i], n) == 0 && (names[i][n - 1] == '/' || key[n] == '\0'))
            return true;
    }
    return false;
}

/* Copy at most size-1 bytes of s[0..len) into out with control characters
 * replaced by spaces (server text goes into one-line messages). */
void s3CopyText(char *out, size_t size, const char *s, size_t len) {
    size_t n = len < size - 1 ? len : size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    out[n] = '\0';
}

/***********************************************************************************************************************
 * libcurl: global init, share object, handle pool
 **********************************************************************************************************************/

static pthread_once_t s3CurlOnce = PTHREAD_ONCE_INIT;
static CURLcode s3CurlInitResult = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe: run it once. It is never undone (the
 * process may hold several clients; its memory stays reachable). */
static void s3CurlInit(void) {
    s3CurlInitResult = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void s3ShareLock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userptr) {
    (void)handle;
    (void)access;
    S3Client *c = userptr;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&c->shareLocks[data]);
}

static void s3ShareUnlock(CURL *handle, curl_lock_data data, void *userptr) {
    (void)handle;
    S3Client *c = userptr;
    if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&c->shareLocks[data]);
}

CURLcode s3CurlGlobalInit(void) {
    pthread_once(&s3CurlOnce, s3CurlInit);
    return s3CurlInitResult;
}

bool s3ShareSetUp(S3Client *c) {
    c->share = curl_share_init();
    if (c->share == NULL)
        return false;
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, s3ShareLock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, s3ShareUnlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return true;
}

/* An easy handle for one request: a pooled one (keeping its connections)
 * or a new one. NULL only when libcurl cannot allocate. */
static CURL *s3HandleAcquire(S3Client *c) {
    CURL *h = NULL;
    pthread_mutex_lock(&c->poolLock);
    if (c->poolCount > 0)
        h = c->pool[--c->poolCount];
    pthread_mutex_unlock(&c->poolLock);
    if (h != NULL)
        curl_easy_reset(h); /* options back to defaults; live connections stay */
    else
        h = curl_easy_init();
    return h;
}

/* Give h back to the pool (or close it when the pool is full). A handle
 * whose transfer failed is closed: its connection may be in a bad state. */
static void s3HandleRelease(S3Client *c, CURL *h, bool healthy) {
    if (h == NULL)
        return;
    if (healthy) {
        pthread_mutex_lock(&c->poolLock);
        if (c->poolCount < S3_POOL_MAX) {
            c->pool[c->poolCount++] = h;
            h = NULL;
        }
        pthread_mutex_unlock(&c->poolLock);
    }
    if (h != NULL)
        curl_easy_cleanup(h);
}

/***********************************************************************************************************************
 * One request
 **********************************************************************************************************************/

typedef struct S3Upload {
    const uint8_t *data;
    size_t len;
    size_t pos;
} S3Upload;

static size_t s3ReadCb(char *buf, size_t size, size_t nitems, void *userp) {
    S3Upload *u = userp;
    size_t want = size * nitems;
    size_t left = u->len - u->pos;
    size_t n = want < left ? want : left;
    if (n > 0) {
        memcpy(buf, u->data + u->pos, n);
        u->pos += n;
    }
    return n;
}

static int s3SeekCb(void *userp, curl_off_t offset, int origin) {
    S3Upload *u = userp;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > u->len)
        return CURL_SEEKFUNC_FAIL;
    u->pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

bool s3Is2xx(long status) {
    return status >= 200 && status < 300;
}

static size_t s3WriteCb(char *ptr, size_t size, size_t nmemb, void *userp) {
    S3Response *r = userp;
    size_t n = size * nmemb;
    if (s3Is2xx(r->status) && r->out != NULL) {
        lbBufAppend(r->out, ptr, n);
        return n;
    }
    if (r->body.len + n > S3_SMALL_BODY_MAX) {
        r->bodyCut = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    lbBufAppend(&r->body, ptr, n);
    return n;
}

/* Header names are case-insensitive; value is trimmed into out. */
static bool s3HeaderIs(const char *line, size_t len, const char *name, const char **value, size_t *valueLen) {
    size_t nlen = strlen(name);
    if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
        return false;
    const char *v = line + nlen + 1;
    const char *e = line + len;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *value = v;
    *valueLen = (size_t)(e - v);
    return true;
}

/* The object metadata headers PUT can set (besides x-amz-meta-*). */
static const char *const s3ObjectHeaders[] = {"content-type",     "cache-control",    "content-disposition",
                                              "content-encoding", "content-language", "expires"};

bool s3IsObjectHeader(const char *name) {
    if (strncmp(name, "x-amz-meta-", 11) == 0)
        return name[11] != '\0';
    for (size_t i = 0; i < sizeof(s3ObjectHeaders) / sizeof(s3ObjectHeaders[0]); i++)
        if (strcmp(name, s3ObjectHeaders[i]) == 0)
            return true;
    return false;
}

void s3ObjectInfoClear(S3ObjectInfo *info) {
    if (info == NULL)
        return;
    for (size_t i = 0; i < info->headerCount; i++) {
        free(info->headers[i].name);
        free(info->headers[i].value);
    }
    free(info->headers);
    memset(info, 0, sizeof(*info));
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 7231 IMF-fixdate) in ns since the
 * epoch; 0 when it does not parse. */
/* The most a Content-Length may make us reserve before the body arrives. */
#define S3_RESERVE_MAX (64u << 20)

static int64_t s3ParseHttpDate(const char *s) {
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4] = "";
    int day, year, h, m, sec;
    if (sscanf(s, "%*3s, %d %3s %d %d:%d:%d GMT", &day, mon, &year, &h, &m, &sec) != 6)
        return 0;
    const char *found = strstr(months, mon);
    if (strlen(mon) != 3 || found == NULL || (found - months) % 3 != 0)
        return 0;
    struct tm tm = {.tm_year = year - 1900,
                    .tm_mon = (int)((found - months) / 3),
                    .tm_mday = day,
                    .tm_hour = h,
                    .tm_min = m,
                    .tm_sec = sec};
    if (year < 1900 || year > 2200 || day < 1 || day > 31 || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 ||
        sec > 60) /* nanoseconds in 64 bits end in 2262; fields out of range would normalize past it */
        return 0;
    int64_t t = (int64_t)timegm(&tm);
    if (t < INT64_MIN / 1000000000 || t > INT64_MAX / 1000000000)
        return 0;
    return t * 1000000000;
}

/* Keep line (one raw header line) in info when it is an object metadata
 * header with a value: the name lowercased, the value trimmed, control
 * characters replaced by spaces. */
static void s3CollectObjectHeader(S3ObjectInfo *info, const char *line, size_t len) {
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line || (size_t)(colon - line) > 256)
        return;
    char name[257];
    size_t nlen = (size_t)(colon - line);
    for (size_t i = 0; i < nlen; i++)
        name[i] = (char)tolower((unsigned char)line[i]);
    name[nlen] = '\0';
    if (!s3IsObjectHeader(name))
        return;
    const char *v;
    size_t vlen;
    if (!s3HeaderIs(line, len, name, &v, &vlen) || vlen == 0)
        return;
    char *value = lbXmalloc(vlen + 1);
    s3CopyText(value, vlen + 1, v, vlen);
    info->headers = lbXrealloc(info->headers, (info->headerCount + 1) * sizeof(S3Header));
    info->headers[info->headerCount++] = (S3Header){lbXstrdup(name), value};
}

static size_t s3HeaderCb(char *buffer, size_t size, size_t nitems, void *userp) {
    S3Response *r = userp;
    size_t len = size * nitems;
    const char *v;
    size_t vlen;
    if (len >= 5 && strncmp(buffer, "HTTP/", 5) == 0) {
        /* a new status line (after a 100 Continue or a redirect): start over */
        const char *sp = memchr(buffer, ' ', len);
        r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->haveContentLength = false;
        r->haveRangeTotal = false;
        r->etag[0] = '\0';
        r->bucketRegion[0] = '\0';
        if (s3Is2xx(r->status) && r->out != NULL)
            r->out->len = r->outBefore;
        lbBufClear(&r->body);
        if (r->info != NULL)
            s3ObjectInfoClear(r->info);
    } else if (s3HeaderIs(buffer, len, "content-length", &v, &vlen)) {
        char tmp[32];
        s3CopyText(tmp, sizeof(tmp), v, vlen);
        char *end = NULL;
        unsigned long long n = isdigit((unsigned char)tmp[0]) ? strtoull(tmp, &end, 10) : 0;
        if (end != NULL && end != tmp && *end == '\0') {
            r->contentLength = n;
            r->haveContentLength = true;
            /* make room for the whole body at once, but never trust the
             * server with more than S3_RESERVE_MAX up front: a larger body
             * grows the buffer as it arrives (a broken or hostile endpoint
             * cannot make us allocate what it claims) */
            if (s3Is2xx(r->status) && r->out != NULL && n <= S3_RESERVE_MAX)
                lbBufReserve(r->out, (size_t)n);
        }
    } else if (s3HeaderIs(buffer, len, "content-range", &v, &vlen)) {
        char tmp[96];
        s3CopyText(tmp, sizeof(tmp), v, vlen);
        const char *slash = strrchr(tmp, '/');
        if (slash != NULL && slash[1] != '*') {
            char *end = NULL;
            unsigned long long total = strtoull(slash + 1, &end, 10);
            if (end != slash + 1 && *end == '\0') {
                r->rangeTotal = total;
                r->haveRangeTotal = true;
            }
        }
    } else if (s3HeaderIs(buffer, len, "etag", &v, &vlen)) {
        s3CopyText(r->etag, sizeof(r->etag), v, vlen);
    } else if (s3HeaderIs(buffer, len, "x-amz-bucket-region", &v, &vlen)) {
        s3CopyText(r->bucketRegion, sizeof(r->bucketRegion), v, vlen);
    } else if (r->info != NULL && s3HeaderIs(buffer, len, "last-modified", &v, &vlen)) {
        char tmp[64];
        s3CopyText(tmp, sizeof(tmp), v, vlen);
        r->info->lastModifiedNs = s3ParseHttpDate(tmp);
    } else if (r->info != NULL) {
        s3CollectObjectHeader(r->info, buffer, len);
    }
    return len;
}

void s3ResponseFree(S3Response *r) {
    lbBufFree(&r->body);
}

/* Header pairs for signing and sending, built per request. */
#define S3_BASE_HEADERS 16
typedef struct S3Headers {
    SigV4Header *h; /* room for S3_BASE_HEADERS plus the request's extra headers */
    size_t count;
    char *owned[S3_BASE_HEADERS]; /* values allocated here */
    size_t ownedCount;
} S3Headers;

static void s3HeadersAdd(S3Headers *hs, const char *name, const char *value) {
    hs->h[hs->count].name = name;
    hs->h[hs->count].value = value;
    hs->count++;
}

static void s3HeadersAddOwned(S3Headers *hs, const char *name, char *value) {
    hs->owned[hs->ownedCount++] = value;
    s3HeadersAdd(hs, name, value);
}

/* Send one signed request and collect the response into resp (which the
 * caller frees with s3ResponseFree, on success and failure). Returns false
 * only when no HTTP response was received (resp->curlCode tells why); HTTP
 * error statuses return true with resp->status set: the caller maps them.
 * When req->out is set, a 2xx body is appended to it; on any failure its
 * length is restored. */
bool s3Perform(S3Client *c, const S3Request *req, S3Response *resp) {
    memset(resp, 0, sizeof(*resp));
    resp->out = req->out;
    resp->outBefore = req->out ? req->out->len : 0;
    resp->info = req->info;
    if (req->info != NULL)
        s3ObjectInfoClear(req->info);

    /* URL path: basePath + "/" + key, the key URI-encoded once; S3 signs
     * exactly this path (no normalization, no second encoding) */
    LbBuf path = {0};
    lbBufAppendStr(&path, c->basePath);
    lbBufAppend(&path, "/", 1);
    if (req->key != NULL)
        sigv4UriEncodeAppend(&path, req->key, strlen(req->key), true);
    lbBufAppend(&path, "", 1);
    const char *pathStr = (const char *)path.data;
    char *url = lbXasprintf("%s://%s%s%s%s", c->scheme, c->pathStyle ? c->hostPort : c->hostHeader, pathStr,
                            req->query && req->query[0] ? "?" : "", req->query ? req->query : "");

    char amzDate[SIGV4_AMZ_DATE_SIZE];
    sigv4FormatAmzDate((int64_t)time(NULL), amzDate);
    char payloadHash[65];
    if (req->payloadHash != NULL)
        snprintf(payloadHash, sizeof(payloadHash), "%s", req->payloadHash);
    else
        sigv4Sha256Hex(req->body ? (const void *)req->body : "", req->bodyLen, payloadHash);

    S3Headers hs = {0};
    hs.h = lbXcalloc(S3_BASE_HEADERS + req->extraCount, sizeof(SigV4Header));
    s3HeadersAdd(&hs, "Host", c->hostHeader);
    s3HeadersAdd(&hs, "x-amz-date", amzDate);
    s3HeadersAdd(&hs, "x-amz-content-sha256", payloadHash);
    if (c->sessionToken != NULL)
        s3HeadersAdd(&hs, "x-amz-security-token", c->sessionToken);
    if (req->contentMd5 != NULL)
        s3HeadersAdd(&hs, "Content-MD5", req->contentMd5);
    if (req->range) {
        if (req->rangeLast == UINT64_MAX)
            s3HeadersAddOwned(&hs, "Range", lbXasprintf("bytes=%llu-", (unsigned long long)req->rangeFirst));
        else
            s3HeadersAddOwned(&hs, "Range",
                              lbXasprintf("bytes=%llu-%llu", (unsigned long long)req->rangeFirst,
                                          (unsigned long long)req->rangeLast));
    }
    if (req->objectHeaders) {
        if (c->sse != NULL)
            s3HeadersAdd(&hs, "x-amz-server-side-encryption", c->sse);
        if (c->sseKmsKeyId != NULL)
            s3HeadersAdd(&hs, "x-amz-server-side-encryption-aws-kms-key-id", c->sseKmsKeyId);
        if (c->storageClass != NULL && !s3IsRepositoryMetadata(c, req->key))
            s3HeadersAdd(&hs, "x-amz-storage-class", c->storageClass);
    }
    for (size_t i = 0; i < req->extraCount; i++)
        s3HeadersAdd(&hs, req->extraHeaders[i].name, req->extraHeaders[i].value);

    SigV4Request sreq = {.method = req->method,
                         .path = pathStr,
                         .query = req->query,
                         .headers = hs.h,
                         .headerCount = hs.count,
                         .payloadHash = payloadHash};
    SigV4Scope scope = {.amzDate = amzDate, .region = c->region, .service = "s3"};
    SigV4Options opt = SIGV4_OPTIONS_S3;
    char *authz = sigv4Sign(&sreq, &opt, &scope, c->accessKey, c->secretKey);

    struct curl_slist *list = NULL;
    for (size_t i = 0; i < hs.count; i++) {
        char *line = lbXasprintf("%s: %s", hs.h[i].name, hs.h[i].value);
        list = curl_slist_append(list, line);
        s3Wipe(line); /* may hold the session token */
        free(line);
    }
    char *authLine = lbXasprintf("Authorization: %s", authz);
    list = curl_slist_append(list, authLine);
    free(authLine);
    list = curl_slist_append(list, "Expect:"); /* no 100-continue round trip */
    if (req->contentType != NULL) {
        char *ct = lbXasprintf("Content-Type: %s", req->contentType);
        list = curl_slist_append(list, ct);
        free(ct);
    } else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        list = curl_slist_append(list, "Content-Type:"); /* no form-urlencoded default */
    }

    bool ok = false;
    S3Upload up = {.data = req->body, .len = req->bodyLen};
    CURL *h = s3HandleAcquire(c);
    if (h == NULL || list == NULL) {
        resp->curlCode = CURLE_OUT_OF_MEMORY;
        snprintf(resp->curlError, sizeof(resp->curlError), "out of memory");
        goto cleanup;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    /* the path is the key: no squashing of "/./" or "/../" (keys may hold them) */
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, S3_LOW_SPEED_LIMIT);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, S3_LOW_SPEED_TIME_S);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, resp->curlError);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, s3HeaderCb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, s3WriteCb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    if (c->caBundle != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->caBundle);
    if (c->insecureTls) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, s3ReadCb);
        curl_easy_setopt(h, CURLOPT_READDATA, &up);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, s3SeekCb);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &up);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->bodyLen);
    } else if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->bodyLen);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }

    resp->curlCode = curl_easy_perform(h);
    if (resp->curlCode == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        resp->status = status;
        /* curl checks Content-Length against what arrived for plain bodies;
         * check again for what we kept */
        if (s3Is2xx(status) && req->out != NULL && resp->haveContentLength && strcmp(req->method, "HEAD") != 0 &&
            req->out->len - resp->outBefore != resp->contentLength) {
            resp->curlCode = CURLE_PARTIAL_FILE;
            snprintf(resp->curlError, sizeof(resp->curlError), "received %zu of %llu bytes",
                     req->out->len - resp->outBefore, (unsigned long long)resp->contentLength);
        } else {
            ok = true;
        }
    } else if (resp->curlError[0] == '\0') {
        snprintf(resp->curlError, sizeof(resp->curlError), "%s", curl_easy_strerror(resp->curlCode));
    }
    if (!ok || !s3Is2xx(resp->status)) {
        if (req->out != NULL)
            req->out->len = resp->outBefore;
    }

cleanup:
    s3HandleRelease(c, h, ok);
    if (list != NULL) {
        /* the list holds the Authorization header and maybe the token */
        for (struct curl_slist *l = list; l; l = l->next)
            s3Wipe(l->data);
        curl_slist_free_all(list);
    }
    s3Wipe(authz);
    free(authz);
    for (size_t i = 0; i < hs.ownedCount; i++)
        free(hs.owned[i]);
    free(hs.h);
    free(url);
    lbBufFree(&path);
    return ok;
}

/***********************************************************************************************************************
 * Errors
 **********************************************************************************************************************/

static bool s3CurlTransient(CURLcode code) {
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_READ_ERROR:
        return true;
    default:
        return false;
    }
}

static bool s3CodeIs(const S3ErrorInfo *e, const char *code) {
    return strcmp(e->code, code) == 0;
}

/* The error class of an HTTP failure: transient for what a later attempt
 * may get through (5xx, 429, throttling, timeouts, bodies damaged in
 * transit), auth for refused credentials, not-found for 404. */
static LbErrorCode s3Classify(long status, const S3ErrorInfo *e) {
    if (s3CodeIs(e, "NotImplemented"))
        return LB_ERR_IO;
    if (status == 429 || status >= 500)
        return LB_ERR_TRANSIENT;
    if (s3CodeIs(e, "SlowDown") || s3CodeIs(e, "RequestTimeout") || s3CodeIs(e, "OperationAborted") ||
        s3CodeIs(e, "BadDigest") || s3CodeIs(e, "XAmzContentSHA256Mismatch") || s3CodeIs(e, "IncompleteBody") ||
        s3CodeIs(e, "InternalError") || s3CodeIs(e, "ServiceUnavailable"))
        return LB_ERR_TRANSIENT;
    if (status == 403 || s3CodeIs(e, "InvalidAccessKeyId") || s3CodeIs(e, "SignatureDoesNotMatch") ||
        s3CodeIs(e, "ExpiredToken") || s3CodeIs(e, "InvalidToken") || s3CodeIs(e, "AccessDenied"))
        return LB_ERR_AUTH;
    if (status == 404)
        return LB_ERR_NOT_FOUND;
    return LB_ERR_IO;
}

/* A hint for well-known causes, or "" (one sentence, after "HINT: "). */
static const char *s3Hint(const S3Client *c, long status, const S3ErrorInfo *e, char *buf, size_t size) {
    buf[0] = '\0';
    if (s3CodeIs(e, "SignatureDoesNotMatch") || s3CodeIs(e, "InvalidAccessKeyId"))
        snprintf(buf, size, "check the credentials (%s).", c->credSource);
    else if (s3CodeIs(e, "ExpiredToken") || s3CodeIs(e, "InvalidToken"))
        snprintf(buf, size, "the session token is no longer valid; renew AWS_SESSION_TOKEN.");
    else if (s3CodeIs(e, "RequestTimeTooSkewed"))
        snprintf(buf, size, "this machine's clock differs from the server's by more than 15 minutes.");
    else if (e->region[0] != '\0' && strcmp(e->region, c->region) != 0)
        snprintf(buf, size, "the bucket is in region '%s'; set LIFEBOAT_S3_REGION or AWS_REGION to it.", e->region);
    else if (status == 403)
        snprintf(buf, size, "the credentials (%s) lack permission for this bucket or key.", c->credSource);
    else if (status == 301 || s3CodeIs(e, "PermanentRedirect") || s3CodeIs(e, "AuthorizationHeaderMalformed"))
        snprintf(buf, size, "the bucket is in another region; set LIFEBOAT_S3_REGION or AWS_REGION.");
    return buf;
}

/* Record the failure of verb ("read", "write", ...) on key in err: a one-line
 * message naming the bucket, the key and the server's error code, with a
 * hint for well-known causes, and the class (LB_ERR_TRANSIENT, LB_ERR_AUTH,
 * LB_ERR_NOT_FOUND, ...). Nothing of the request (signature, token) is
 * quoted. Returns false. */
bool s3Fail(const S3Client *c, LbError *err, const char *verb, const char *key, const S3Response *resp) {
    const char *what = key ? key : "";
    if (resp->status == 0 || resp->curlCode != CURLE_OK) {
        LbErrorCode code = s3CurlTransient(resp->curlCode) ? LB_ERR_TRANSIENT : LB_ERR_IO;
        if (resp->bodyCut)
            code = LB_ERR_IO;
        const char *tlsHint = "";
        if (resp->curlCode == CURLE_PEER_FAILED_VERIFICATION || resp->curlCode == CURLE_SSL_CACERT_BADFILE)
            tlsHint = ". HINT: set LIFEBOAT_S3_CA_BUNDLE to the server's CA certificate.";
        return lbErr(err, code, "unable to %s '%s' in s3 bucket '%s' at %s://%s: %s%s", verb, what, c->bucket,
                     c->scheme, c->hostPort, resp->bodyCut ? "response too large" : resp->curlError, tlsHint);
    }
    S3ErrorInfo e;
    s3ParseError(resp, &e);
    LbErrorCode code = s3Classify(resp->status, &e);
    char hint[256];
    s3Hint(c, resp->status, &e, hint, sizeof(hint));
    const char *reason = code == LB_ERR_AUTH ? "access denied: " : "";
    if (code == LB_ERR_AUTH && (s3CodeIs(&e, "SignatureDoesNotMatch") || s3CodeIs(&e, "InvalidAccessKeyId")))
        reason = "the server rejected the credentials: ";
    return lbErr(err, code, "unable to %s '%s' in s3 bucket '%s': %sHTTP %ld%s%s%s%s%s%s%s", verb, what, c->bucket,
                 reason, resp->status, e.code[0] ? " " : "", e.code, e.message[0] ? " (" : "", e.message,
                 e.message[0] ? ")" : "", hint[0] ? ". HINT: " : "", hint);
}

/***********************************************************************************************************************
 * Buckets
 **********************************************************************************************************************/

/* Create the client's bucket (the first put into a missing bucket). A bucket
 * that exists already, ours, is success. */
bool s3CreateBucket(S3Client *c, LbError *err) {
    LbBuf body = {0};
    if (strcmp(c->region, S3_DEFAULT_REGION) != 0) {
        lbBufAppendStr(&body, "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                              "<LocationConstraint>");
        s3XmlEscapeAppend(&body, c->region);
        lbBufAppendStr(&body, "</LocationConstraint></CreateBucketConfiguration>");
    }
    S3Request req = {.method = "PUT", .body = body.data, .bodyLen = body.len};
    S3Response resp;
    bool ok = s3Perform(c, &req, &resp);
    if (ok && !s3Is2xx(resp.status)) {
        S3ErrorInfo e;
        s3ParseError(&resp, &e);
        ok = s3CodeIs(&e, "BucketAlreadyOwnedByYou");
    }
    if (!ok)
        s3Fail(c, err, "create bucket", c->bucket, &resp);
    else
        lbLogInfo("created s3 bucket '%s'", c->bucket);
    s3ResponseFree(&resp);
    lbBufFree(&body);
    return ok;
}

bool s3NoSuchBucket(const S3Response *resp) {
    if (resp->status != 404)
        return false;
    S3ErrorInfo e;
    s3ParseError(resp, &e);
    return s3CodeIs(&e, "NoSuchBucket");
}
