/*
 * s3_internal.h - what the S3 driver's files share: the limits, the client
 * (struct S3Client), a request and its response, and the module headers.
 *
 * The driver is split by job: s3_location (locations, keys), s3_cred
 * (credentials), s3_http (libcurl pool, one signed request, errors), s3_xml
 * (expat), s3_list (ListObjectsV2), s3_multipart (put), s3_object (objects
 * by key and the object API), s3_driver (the Storage members), s3_client
 * (new/free). sigv4.c signs. Nothing outside src/storage/s3/ includes this.
 *
 * Threads: every member may be called from several threads at once. The
 * client is read-only after s3ClientNew except for the handle pool (mutex)
 * and the libcurl share object (DNS and TLS session caches, locked through
 * its callbacks). Each request takes one easy handle from the pool for its
 * whole duration, so no easy handle is ever used by two threads at once.
 */
#ifndef LIFEBOAT_STORAGE_S3_S3_INTERNAL_H
#define LIFEBOAT_STORAGE_S3_S3_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <expat.h>

#include "common/buf.h"
#include "common/error.h"
#include "storage/s3/s3.h"
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

#include "storage/s3/s3_cred.h"
#include "storage/s3/s3_http.h"
#include "storage/s3/s3_list.h"
#include "storage/s3/s3_location.h"
#include "storage/s3/s3_multipart.h"
#include "storage/s3/s3_object.h"
#include "storage/s3/s3_xml.h"

#endif
