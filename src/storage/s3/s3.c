/*
 * s3.c - the S3 storage driver (see s3.h for what it does and promises).
 *
 * Layout of this file: names and locations; credentials and options; the
 * libcurl handle pool; one signed request (s3Perform); error mapping; XML
 * (expat); the Storage members; multipart upload; batch delete.
 *
 * Threads: every member may be called from several threads at once. The
 * client is read-only after s3ClientNew except for the handle pool (mutex)
 * and the libcurl share object (DNS and TLS session caches, locked through
 * its callbacks). Each request takes one easy handle from the pool for its
 * whole duration, so no easy handle is ever used by two threads at once.
 */
#include "storage/s3/s3.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <expat.h>
#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/id.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "storage/s3/sigv4.h"

#define S3_DEFAULT_REGION "us-east-1"
#define S3_DEFAULT_THRESHOLD (64ull << 20)
#define S3_DEFAULT_PART_SIZE (16ull << 20)
#define S3_DEFAULT_PART_THREADS 4
#define S3_MAX_PART_THREADS 16
/* Easy handles kept for reuse; more may exist while many threads are busy. */
#define S3_POOL_MAX 16
/* Error and XML bodies longer than this are cut (a sane server sends KiBs). */
#define S3_SMALL_BODY_MAX (8u << 20)
#define S3_CONNECT_TIMEOUT_S 15L
/* A transfer slower than this many bytes per second for S3_LOW_SPEED_TIME_S
 * is abandoned as a timeout (transient). */
#define S3_LOW_SPEED_LIMIT 1024L
#define S3_LOW_SPEED_TIME_S 60L
#define S3_ETAG_MAX 128
#define S3_MESSAGE_MAX 200

/***********************************************************************************************************************
 * Types
 **********************************************************************************************************************/

struct S3Client {
    char *location; /* as given, for messages and storageLocation */
    char *scheme;   /* "https" or "http" */
    char *host;     /* endpoint host, without port ("[::1]" for IPv6) */
    char *hostPort; /* host[:port] as it appears in URLs */
    char *bucket;
    char *prefix; /* "" or "dir/sub" (no leading or trailing '/') */
    char *region;
    bool pathStyle;
    char *baseUrl;    /* scheme://host[:port][/bucket] (no trailing '/') */
    char *endpoint;   /* scheme://host[:port] */
    char *hostHeader; /* the Host header value signed and sent */
    char *basePath;   /* "" or "/bucket": the URL path before "/key" */

    /* credentials: secretKey and sessionToken are wiped in s3ClientFree */
    char *accessKey;
    char *secretKey;
    char *sessionToken;
    char *credSource; /* where the credentials came from, for hints */

    char *sse;
    char *sseKmsKeyId;
    char *storageClass;
    char *caBundle;
    bool insecureTls;
    uint64_t multipartThreshold;
    uint64_t partSize;
    int partThreads;
    int testFailPart;

    pthread_mutex_t poolLock;
    CURL *pool[S3_POOL_MAX];
    size_t poolCount;
    CURLSH *share;
    pthread_mutex_t shareLocks[CURL_LOCK_DATA_LAST];
};

/* What s3Perform sends. */
typedef struct S3Request {
    const char *method;  /* GET, PUT, POST, DELETE, HEAD */
    const char *key;     /* full object key (prefix included), NULL for the bucket itself */
    const char *query;   /* encoded query string without '?', or NULL */
    const uint8_t *body; /* borrowed */
    size_t bodyLen;
    const char *payloadHash; /* hex SHA-256 of body; computed when NULL */
    const char *contentMd5;  /* Content-MD5 header, or NULL */
    const char *contentType; /* Content-Type header, or NULL */
    bool range;              /* send Range: bytes=rangeFirst-[rangeLast] */
    uint64_t rangeFirst;
    uint64_t rangeLast;              /* UINT64_MAX: open-ended */
    bool objectHeaders;              /* add SSE and storage-class headers (PUT object, initiate multipart) */
    const SigV4Header *extraHeaders; /* more headers to sign and send (object metadata), borrowed */
    size_t extraCount;
    LbBuf *out;         /* a 2xx body is appended here; NULL: into the response's body */
    S3ObjectInfo *info; /* object metadata headers of the answer are collected here, or NULL */
} S3Request;

/* What came back. */
typedef struct S3Response {
    long status;       /* 0 when no HTTP response arrived */
    CURLcode curlCode; /* CURLE_OK unless the transfer failed */
    char curlError[CURL_ERROR_SIZE];
    LbBuf body;   /* error bodies, and 2xx bodies when S3Request.out is NULL */
    bool bodyCut; /* body exceeded S3_SMALL_BODY_MAX */
    uint64_t contentLength;
    bool haveContentLength;
    uint64_t rangeTotal; /* from Content-Range "bytes a-b/TOTAL" or "bytes * /TOTAL" */
    bool haveRangeTotal;
    char etag[S3_ETAG_MAX];
    char bucketRegion[64]; /* x-amz-bucket-region */
    size_t outBefore;      /* out->len before the transfer */
    LbBuf *out;
    S3ObjectInfo *info; /* S3Request.info */
} S3Response;

/* An S3 error document's fields. */
typedef struct S3ErrorInfo {
    char code[64];
    char message[S3_MESSAGE_MAX];
    char region[64];
} S3ErrorInfo;

/***********************************************************************************************************************
 * Names (the same rules as the local driver: tests on any driver catch names
 * that would fail on another)
 **********************************************************************************************************************/

/* The full key of name under the client's prefix; the caller frees it. */
static char *s3Key(const S3Client *c, const char *name) {
    if (c->prefix[0] == '\0')
        return lbXstrdup(name);
    return lbXasprintf("%s/%s", c->prefix, name);
}

/***********************************************************************************************************************
 * Small helpers
 **********************************************************************************************************************/

static void s3Wipe(char *s) {
    if (s != NULL)
        OPENSSL_cleanse(s, strlen(s));
}

static void s3FreeSecret(char *s) {
    s3Wipe(s);
    free(s);
}

static char *s3Dup(const char *s, size_t len) {
    char *out = lbXmalloc(len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

static char *s3Strip(char *s) {
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    return s;
}

/* Copy at most size-1 bytes of s[0..len) into out with control characters
 * replaced by spaces (server text goes into one-line messages). */
static void s3CopyText(char *out, size_t size, const char *s, size_t len) {
    size_t n = len < size - 1 ? len : size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    out[n] = '\0';
}

/* XML-escape s into out. */
static void s3XmlEscapeAppend(LbBuf *out, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&':
            lbBufAppendStr(out, "&amp;");
            break;
        case '<':
            lbBufAppendStr(out, "&lt;");
            break;
        case '>':
            lbBufAppendStr(out, "&gt;");
            break;
        case '"':
            lbBufAppendStr(out, "&quot;");
            break;
        case '\'':
            lbBufAppendStr(out, "&apos;");
            break;
        default:
            lbBufAppend(out, s, 1);
        }
    }
}

/***********************************************************************************************************************
 * Options
 **********************************************************************************************************************/

/***********************************************************************************************************************
 * Credentials: environment, then the shared credentials and config files
 **********************************************************************************************************************/

/* Read key from section of an INI file (the AWS shared files). In
 * ~/.aws/config a profile's section is "[profile NAME]" (but "[default]");
 * in ~/.aws/credentials it is "[NAME]". Returns a malloc'd value or NULL. */
static char *s3IniGet(const char *path, const char *profile, bool configStyle, const char *key) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *wanted =
        configStyle && strcmp(profile, "default") != 0 ? lbXasprintf("profile %s", profile) : lbXstrdup(profile);
    char *value = NULL;
    bool inSection = false;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        char *s = s3Strip(line);
        if (*s == '#' || *s == ';' || *s == '\0')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (close == NULL)
                continue;
            *close = '\0';
            char *name = s3Strip(s + 1);
            /* collapse "profile    x" */
            inSection = strcmp(name, wanted) == 0;
            if (!inSection && configStyle && strncmp(name, "profile", 7) == 0 && isspace((unsigned char)name[7])) {
                char *rest = s3Strip(name + 7);
                inSection = strcmp(profile, "default") != 0 && strcmp(rest, profile) == 0;
            }
            continue;
        }
        if (!inSection)
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL)
            continue;
        *eq = '\0';
        char *k = s3Strip(s);
        char *v = s3Strip(eq + 1);
        if (strcasecmp(k, key) == 0) {
            s3FreeSecret(value);
            value = lbXstrdup(v);
        }
    }
    if (line != NULL) {
        OPENSSL_cleanse(line, cap);
        free(line);
    }
    fclose(f);
    free(wanted);
    return value;
}

/* A shared AWS file: the path given, else HOME/.aws/LEAF (NULL without a home). */
static char *s3AwsFile(const char *given, const char *home, const char *leaf) {
    if (given != NULL && given[0] != '\0')
        return lbXstrdup(given);
    return home != NULL && home[0] != '\0' ? lbXasprintf("%s/.aws/%s", home, leaf) : NULL;
}

static const char *s3OptString(const char *s) {
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Fill c's credentials and region from opts. Fails with LB_ERR_AUTH when no
 * access key / secret key pair can be found; a half pair is an error too
 * (silently mixing sources would sign with a wrong key). */
static bool s3LoadCredentials(S3Client *c, const StorageS3Options *opts, LbError *err) {
    const char *profile = s3OptString(opts->profile);
    if (profile == NULL)
        profile = "default";
    char *credFile = s3AwsFile(opts->credentialsFile, opts->home, "credentials");
    char *confFile = s3AwsFile(opts->configFile, opts->home, "config");

    const char *ak = s3OptString(opts->accessKeyId);
    const char *sk = s3OptString(opts->secretAccessKey);
    bool ok = false;
    if (ak != NULL || sk != NULL) {
        if (ak == NULL || sk == NULL) {
            lbErr(err, LB_ERR_AUTH, "unable to use S3 credentials from the environment: %s is set but %s is not",
                  ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                  ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
            goto cleanup;
        }
        c->accessKey = lbXstrdup(ak);
        c->secretKey = lbXstrdup(sk);
        const char *token = s3OptString(opts->sessionToken);
        c->sessionToken = token ? lbXstrdup(token) : NULL;
        c->credSource = lbXstrdup("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    } else {
        const char *files[2] = {credFile, confFile};
        for (int i = 0; i < 2 && c->accessKey == NULL; i++) {
            if (files[i] == NULL)
                continue;
            char *fak = s3IniGet(files[i], profile, i == 1, "aws_access_key_id");
            char *fsk = s3IniGet(files[i], profile, i == 1, "aws_secret_access_key");
            if (fak != NULL && fsk != NULL) {
                c->accessKey = fak;
                c->secretKey = fsk;
                c->sessionToken = s3IniGet(files[i], profile, i == 1, "aws_session_token");
                c->credSource = lbXasprintf("profile '%s' in %s", profile, files[i]);
            } else {
                free(fak);
                s3FreeSecret(fsk);
            }
        }
        if (c->accessKey == NULL) {
            lbErr(err, LB_ERR_AUTH,
                  "unable to find S3 credentials for bucket '%s': no access key pair given (AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY) and no profile '%s' with one in %s%s%s",
                  c->bucket, profile, credFile ? credFile : "~/.aws/credentials", confFile ? " or " : "",
                  confFile ? confFile : "");
            goto cleanup;
        }
    }

    const char *region = s3OptString(opts->region);
    if (region != NULL) {
        c->region = lbXstrdup(region);
    } else {
        char *fromFile = confFile ? s3IniGet(confFile, profile, true, "region") : NULL;
        c->region = fromFile ? fromFile : lbXstrdup(S3_DEFAULT_REGION);
    }
    ok = true;

cleanup:
    free(credFile);
    free(confFile);
    return ok;
}

/***********************************************************************************************************************
 * Location
 **********************************************************************************************************************/

static bool s3HostIsIp(const char *host) {
    if (host[0] == '[')
        return true; /* IPv6 literal */
    if (strcasecmp(host, "localhost") == 0)
        return true;
    for (const char *p = host; *p; p++)
        if (!(isdigit((unsigned char)*p) || *p == '.'))
            return false;
    return true;
}

static bool s3BucketValid(const char *b) {
    size_t len = strlen(b);
    if (len < 3 || len > 255)
        return false;
    for (const char *p = b; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_'))
            return false;
    return true;
}

/* Parse "s3:https://HOST[:PORT]/BUCKET[/PREFIX]" or "s3:BUCKET[/PREFIX]" into
 * c (scheme, host, hostPort, bucket, prefix). Fails with LB_ERR_ARGS. */
static bool s3ParseLocation(S3Client *c, const char *location, LbError *err) {
    if (strncmp(location, "s3:", 3) != 0)
        return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': not an s3: location", location);
    const char *rest = location + 3;
    const char *path;
    if (strncmp(rest, "https://", 8) == 0 || strncmp(rest, "http://", 7) == 0) {
        bool tls = rest[4] == 's';
        c->scheme = lbXstrdup(tls ? "https" : "http");
        const char *hostStart = rest + (tls ? 8 : 7);
        const char *slash = strchr(hostStart, '/');
        if (slash == NULL || slash == hostStart)
            return lbErr(err, LB_ERR_ARGS,
                         "unable to open repository '%s': expected s3:%s://HOST[:PORT]/BUCKET[/PREFIX]", location,
                         c->scheme);
        c->hostPort = s3Dup(hostStart, (size_t)(slash - hostStart));
        if (strchr(c->hostPort, '@') != NULL)
            return lbErr(err, LB_ERR_ARGS,
                         "unable to open s3 repository: credentials in the URL are not supported (the location "
                         "is not repeated here so as not to print them; use AWS_ACCESS_KEY_ID and "
                         "AWS_SECRET_ACCESS_KEY)");
        /* host without the port: "[v6]:port" or "name:port" */
        const char *hp = c->hostPort;
        const char *portColon = NULL;
        if (hp[0] == '[') {
            const char *close = strchr(hp, ']');
            if (close == NULL)
                return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': bad IPv6 address", location);
            if (close[1] == ':')
                portColon = close + 1;
            else if (close[1] != '\0')
                return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': bad IPv6 address", location);
        } else {
            portColon = strchr(hp, ':');
        }
        if (portColon != NULL) {
            char *end = NULL;
            long port = strtol(portColon + 1, &end, 10);
            if (*end != '\0' || port < 1 || port > 65535)
                return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': bad port", location);
            c->host = s3Dup(hp, (size_t)(portColon - hp));
        } else {
            c->host = lbXstrdup(hp);
        }
        path = slash + 1;
    } else {
        c->scheme = lbXstrdup("https");
        c->host = NULL; /* filled from the region once it is known */
        path = rest;
    }
    const char *slash = strchr(path, '/');
    c->bucket = slash ? s3Dup(path, (size_t)(slash - path)) : lbXstrdup(path);
    if (!s3BucketValid(c->bucket))
        return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': '%s' is not a valid bucket name", location,
                     c->bucket);
    const char *prefix = slash ? slash + 1 : "";
    while (*prefix == '/')
        prefix++;
    size_t plen = strlen(prefix);
    while (plen > 0 && prefix[plen - 1] == '/')
        plen--;
    c->prefix = s3Dup(prefix, plen);
    if (strstr(c->prefix, "//") != NULL)
        return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': empty folder name in the prefix", location);
    return true;
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

static bool s3Is2xx(long status) {
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
    return (int64_t)timegm(&tm) * 1000000000;
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
        unsigned long long n = strtoull(tmp, &end, 10);
        if (end != tmp && *end == '\0') {
            r->contentLength = n;
            r->haveContentLength = true;
            /* make room for the whole body at once */
            if (s3Is2xx(r->status) && r->out != NULL && n <= SIZE_MAX - r->out->len)
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

static void s3ResponseFree(S3Response *r) {
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
static bool s3Perform(S3Client *c, const S3Request *req, S3Response *resp) {
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
        if (c->storageClass != NULL)
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
 * XML (expat): the few documents S3 answers with
 **********************************************************************************************************************/

/* Called at the end of every element with its path from the root
 * ("ListBucketResult/Contents/Key") and its text content. */
typedef void (*S3XmlEndCb)(void *ctx, const char *path, const char *text, size_t textLen);

typedef struct S3XmlState {
    LbBuf path; /* NUL-terminated element path */
    LbBuf text; /* text of the innermost element */
    S3XmlEndCb cb;
    void *ctx;
} S3XmlState;

static void XMLCALL s3XmlStart(void *userData, const XML_Char *name, const XML_Char **atts) {
    (void)atts;
    S3XmlState *st = userData;
    if (st->path.len > 0) {
        st->path.data[st->path.len - 1] = '/'; /* the NUL becomes the separator */
    }
    lbBufAppendStr(&st->path, name);
    lbBufAppend(&st->path, "", 1);
    lbBufClear(&st->text);
}

static void XMLCALL s3XmlEnd(void *userData, const XML_Char *name) {
    (void)name;
    S3XmlState *st = userData;
    lbBufAppend(&st->text, "", 1);
    st->cb(st->ctx, (const char *)st->path.data, (const char *)st->text.data, st->text.len - 1);
    lbBufClear(&st->text);
    /* pop the last element */
    char *p = (char *)st->path.data;
    char *slash = strrchr(p, '/');
    if (slash != NULL) {
        *slash = '\0';
        st->path.len = (size_t)(slash - p) + 1;
    } else {
        p[0] = '\0';
        st->path.len = 0;
    }
}

static void XMLCALL s3XmlChars(void *userData, const XML_Char *s, int len) {
    S3XmlState *st = userData;
    if (len > 0 && st->text.len + (size_t)len < S3_SMALL_BODY_MAX)
        lbBufAppend(&st->text, s, (size_t)len);
}

/* Parse an XML document, calling cb at each element's end. Returns false for
 * a malformed document (nothing is recorded: the caller words the error). */
static bool s3XmlParse(const uint8_t *data, size_t len, S3XmlEndCb cb, void *ctx) {
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (p == NULL)
        return false;
    S3XmlState st = {.cb = cb, .ctx = ctx};
    XML_SetUserData(p, &st);
    XML_SetElementHandler(p, s3XmlStart, s3XmlEnd);
    XML_SetCharacterDataHandler(p, s3XmlChars);
    bool ok = len <= (size_t)INT32_MAX && XML_Parse(p, (const char *)data, (int)len, 1) == XML_STATUS_OK;
    XML_ParserFree(p);
    lbBufFree(&st.path);
    lbBufFree(&st.text);
    return ok;
}

static void s3ErrorXmlCb(void *ctx, const char *path, const char *text, size_t len) {
    S3ErrorInfo *e = ctx;
    if (strcmp(path, "Error/Code") == 0)
        s3CopyText(e->code, sizeof(e->code), text, len);
    else if (strcmp(path, "Error/Message") == 0)
        s3CopyText(e->message, sizeof(e->message), text, len);
    else if (strcmp(path, "Error/Region") == 0)
        s3CopyText(e->region, sizeof(e->region), text, len);
}

/* The error document in resp's body, if any (fields stay empty otherwise). */
static void s3ParseError(const S3Response *resp, S3ErrorInfo *e) {
    memset(e, 0, sizeof(*e));
    if (resp->body.len > 0)
        (void)s3XmlParse(resp->body.data, resp->body.len, s3ErrorXmlCb, e);
    if (e->region[0] == '\0' && resp->bucketRegion[0] != '\0')
        snprintf(e->region, sizeof(e->region), "%s", resp->bucketRegion);
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
static bool s3Fail(const S3Client *c, LbError *err, const char *verb, const char *key, const S3Response *resp) {
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
static bool s3CreateBucket(S3Client *c, LbError *err) {
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

static bool s3NoSuchBucket(const S3Response *resp) {
    if (resp->status != 404)
        return false;
    S3ErrorInfo e;
    s3ParseError(resp, &e);
    return s3CodeIs(&e, "NoSuchBucket");
}

/***********************************************************************************************************************
 * stat, get, remove
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
static void s3EtagCopy(char *out, size_t size, const char *etag) {
    size_t len = strlen(etag);
    if (len >= 2 && etag[0] == '"' && etag[len - 1] == '"') {
        etag++;
        len -= 2;
    }
    s3CopyText(out, size, etag, len);
}

/* HEAD key: exists and size. A missing object or bucket is exists=false.
 * meta, when not NULL, receives the object's metadata headers and ETag. */
static bool s3Head(S3Client *c, const char *key, const char *verb, StorageInfo *info, S3ObjectInfo *meta,
                   LbError *err) {
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

static bool s3Stat(void *driver, const char *name, StorageInfo *info, LbError *err) {
    S3Client *c = driver;
    info->exists = false;
    info->size = 0;
    if (!storageNameCheck(name, err))
        return false;
    char *key = s3Key(c, name);
    bool ok = s3Head(c, key, "stat", info, NULL, err);
    free(key);
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
static bool s3GetKey(S3Client *c, const char *key, uint64_t offset, uint64_t length, LbBuf *out, S3ObjectInfo *meta,
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

static bool s3Get(void *driver, const char *name, uint64_t offset, uint64_t length, LbBuf *out, LbError *err) {
    S3Client *c = driver;
    if (!storageNameCheck(name, err))
        return false;
    char *key = s3Key(c, name);
    bool ok = s3GetKey(c, key, offset, length, out, NULL, err);
    free(key);
    return ok;
}

/* Delete name; a missing object or bucket is success. */
static bool s3Remove(void *driver, const char *name, LbError *err) {
    S3Client *c = driver;
    if (!storageNameCheck(name, err))
        return false;
    char *key = s3Key(c, name);
    S3Request req = {.method = "DELETE", .key = key};
    S3Response resp;
    bool ok = s3Perform(c, &req, &resp);
    if (!ok)
        s3Fail(c, err, "remove", key, &resp);
    else if (!s3Is2xx(resp.status) && resp.status != 404)
        ok = s3Fail(c, err, "remove", key, &resp);
    s3ResponseFree(&resp);
    free(key);
    return ok;
}

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

typedef struct S3ObjectEntry {
    char *key;
    char *etag;
    uint64_t size;
    int64_t lastModifiedNs;
} S3ObjectEntry;

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
static bool s3ListKeys(S3Client *c, const char *keyPrefix, const char *startKey, bool missingIsEmpty,
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

typedef struct S3NameLister {
    const char *keyPrefix;
    size_t strip;
    StorageListCb cb;
    void *ctx;
} S3NameLister;

/* keys that are not valid object names (foreign objects under the prefix)
 * are skipped */
static bool s3ListName(void *ctx, S3ObjectEntry *e) {
    S3NameLister *l = ctx;
    if (strlen(e->key) < l->strip || strncmp(e->key, l->keyPrefix, strlen(l->keyPrefix)) != 0)
        return true;
    const char *name = e->key + l->strip;
    return !storageNameValid(name) || l->cb(l->ctx, name, e->size);
}

/* Call cb for every object whose name starts with prefix (s3ListKeys). A
 * missing bucket is an empty list. */
static bool s3List(void *driver, const char *prefix, StorageListCb cb, void *ctx, LbError *err) {
    S3Client *c = driver;
    if (!storagePrefixValid(prefix))
        return lbErr(err, LB_ERR_ARGS, "unable to list prefix '%s': not a relative path of [A-Za-z0-9._-] segments",
                     prefix ? prefix : "(null)");
    char *keyPrefix = c->prefix[0] ? lbXasprintf("%s/%s", c->prefix, prefix) : lbXstrdup(prefix);
    S3NameLister l = {keyPrefix, c->prefix[0] ? strlen(c->prefix) + 1 : 0, cb, ctx};
    bool ok = s3ListKeys(c, keyPrefix, NULL, true, s3ListName, &l, err);
    free(keyPrefix);
    return ok;
}

/***********************************************************************************************************************
 * put: single PUT or multipart upload
 **********************************************************************************************************************/

/* What a put sends: the object in memory (data), or read part by part in
 * order (read), with optional metadata headers. */
typedef struct S3PutSource {
    const uint8_t *data; /* the whole object, or NULL */
    S3ReadFn read;       /* when data is NULL */
    void *readCtx;
    uint64_t len;
    const char *contentType;         /* or NULL */
    const SigV4Header *extraHeaders; /* x-amz-meta-*, cache-control, ... */
    size_t extraCount;
} S3PutSource;

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
static bool s3PutKey(S3Client *c, const char *key, const S3PutSource *src, LbError *err) {
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

static bool s3Put(void *driver, const char *name, const uint8_t *data, size_t len, LbError *err) {
    S3Client *c = driver;
    if (!storageNameCheck(name, err))
        return false;
    char *key = s3Key(c, name);
    S3PutSource src = {.data = data, .len = len};
    bool ok = s3PutKey(c, key, &src, err);
    free(key);
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

/***********************************************************************************************************************
 * Client and driver
 **********************************************************************************************************************/

void s3ClientFree(S3Client *c) {
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->poolCount; i++)
        curl_easy_cleanup(c->pool[i]);
    if (c->share != NULL)
        curl_share_cleanup(c->share);
    pthread_mutex_destroy(&c->poolLock);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->shareLocks[i]);
    free(c->location);
    free(c->scheme);
    free(c->host);
    free(c->hostPort);
    free(c->bucket);
    free(c->prefix);
    free(c->region);
    free(c->baseUrl);
    free(c->endpoint);
    free(c->hostHeader);
    free(c->basePath);
    free(c->accessKey);
    s3FreeSecret(c->secretKey);
    s3FreeSecret(c->sessionToken);
    free(c->credSource);
    free(c->sse);
    free(c->sseKmsKeyId);
    free(c->storageClass);
    free(c->caBundle);
    free(c);
}

const char *s3ClientBaseUrl(const S3Client *c) {
    return c->baseUrl;
}

const char *s3ClientRegion(const S3Client *c) {
    return c->region;
}

const char *s3ClientEndpoint(const S3Client *c) {
    return c->endpoint;
}

const char *s3ClientBucket(const S3Client *c) {
    return c->bucket;
}

const char *s3ClientPrefix(const S3Client *c) {
    return c->prefix;
}

static char *s3OptDup(const char *s) {
    return s3OptString(s) ? lbXstrdup(s) : NULL;
}

S3Client *s3ClientNew(const char *location, const StorageS3Options *opts, LbError *err) {
    StorageS3Options defaults = {0};
    if (opts == NULL)
        opts = &defaults;
    pthread_once(&s3CurlOnce, s3CurlInit);
    if (s3CurlInitResult != CURLE_OK) {
        lbErr(err, LB_ERR_IO, "unable to open repository '%s': libcurl initialization failed: %s", location,
              curl_easy_strerror(s3CurlInitResult));
        return NULL;
    }
    S3Client *c = lbXcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->poolLock, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->shareLocks[i], NULL);
    c->location = lbXstrdup(location);
    if (!s3ParseLocation(c, location, err) || !s3LoadCredentials(c, opts, err))
        goto fail;
    if (c->host == NULL) {
        /* s3:BUCKET[/PREFIX]: AWS itself */
        c->host = lbXasprintf("s3.%s.amazonaws.com", c->region);
        c->hostPort = lbXstrdup(c->host);
    }
    c->pathStyle = opts->pathStyle || s3HostIsIp(c->host) || strchr(c->bucket, '.') != NULL;
    if (c->pathStyle) {
        c->hostHeader = lbXstrdup(c->hostPort);
        char *encBucket = sigv4UriEncode(c->bucket, false);
        c->basePath = lbXasprintf("/%s", encBucket);
        free(encBucket);
    } else {
        c->hostHeader = lbXasprintf("%s.%s", c->bucket, c->hostPort);
        c->basePath = lbXstrdup("");
    }
    c->baseUrl = lbXasprintf("%s://%s%s", c->scheme, c->hostHeader, c->basePath);
    c->endpoint = lbXasprintf("%s://%s", c->scheme, c->hostPort);

    if (opts->sse != NULL && opts->sse[0] != '\0' && strcmp(opts->sse, "AES256") != 0 &&
        strcmp(opts->sse, "aws:kms") != 0 && strcmp(opts->sse, "aws:kms:dsse") != 0) {
        lbErr(err, LB_ERR_ARGS, "invalid server-side encryption '%s': use AES256 or aws:kms", opts->sse);
        goto fail;
    }
    if (opts->sseKmsKeyId != NULL && opts->sseKmsKeyId[0] != '\0' &&
        (opts->sse == NULL || strncmp(opts->sse, "aws:kms", 7) != 0)) {
        lbErr(err, LB_ERR_ARGS, "a KMS key id needs server-side encryption aws:kms");
        goto fail;
    }
    c->sse = s3OptDup(opts->sse);
    c->sseKmsKeyId = s3OptDup(opts->sseKmsKeyId);
    c->storageClass = s3OptDup(opts->storageClass);
    c->caBundle = s3OptDup(opts->caBundle);
    c->insecureTls = opts->insecureTls;
    c->multipartThreshold = opts->multipartThreshold ? opts->multipartThreshold : S3_DEFAULT_THRESHOLD;
    c->partSize = opts->partSize ? opts->partSize : S3_DEFAULT_PART_SIZE;
    if (c->partSize < S3_MIN_PART_SIZE) {
        lbErr(err, LB_ERR_ARGS, "invalid part size %llu: S3 needs parts of at least 5 MiB",
              (unsigned long long)c->partSize);
        goto fail;
    }
    if (c->multipartThreshold < S3_MIN_PART_SIZE)
        c->multipartThreshold = S3_MIN_PART_SIZE;
    c->partThreads = opts->partThreads > 0 ? opts->partThreads : S3_DEFAULT_PART_THREADS;
    c->testFailPart = opts->testFailPart;
    if (c->partThreads > S3_MAX_PART_THREADS)
        c->partThreads = S3_MAX_PART_THREADS;
    if (c->insecureTls && strcmp(c->scheme, "https") == 0)
        lbLogWarn("TLS certificate verification is off for %s (--insecure-tls): use it for test rigs only",
                  c->hostPort);

    c->share = curl_share_init();
    if (c->share == NULL) {
        lbErr(err, LB_ERR_MEMORY, "unable to open repository '%s': out of memory", location);
        goto fail;
    }
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, s3ShareLock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, s3ShareUnlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return c;

fail:
    s3ClientFree(c);
    return NULL;
}

static void s3DriverFree(void *driver) {
    s3ClientFree(driver);
}

static const StorageInterface s3Interface = {
    .name = "s3",
    .put = s3Put,
    .get = s3Get,
    .list = s3List,
    .remove = s3Remove,
    .stat = s3Stat,
    .free = s3DriverFree,
};

Storage *storageS3New(const char *location, const StorageS3Options *opts, LbError *err) {
    S3Client *c = s3ClientNew(location, opts, err);
    if (c == NULL)
        return NULL;
    return storageNewDriver(&s3Interface, c, location);
}
