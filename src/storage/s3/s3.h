/*
 * s3.h - the S3 storage driver (AWS S3, Ceph RGW, MinIO and other
 * S3-compatible servers).
 *
 * Repository locations:
 *   s3:https://HOST[:PORT]/BUCKET[/PREFIX]   any endpoint (http:// for test rigs)
 *   s3:BUCKET[/PREFIX]                       AWS, endpoint s3.REGION.amazonaws.com
 * Objects are stored under PREFIX/<name> ("config", "data/ab/<id>", ...).
 * Addressing is virtual-hosted style (BUCKET.HOST) unless path style is
 * asked for, the endpoint is an IP address or localhost, or the bucket name
 * has a dot (TLS wildcard certificates do not cover it).
 *
 * Requests are signed with SigV4 (sigv4.h) and sent with libcurl: a small
 * pool of easy handles, each keeping its connections alive between requests
 * (curl_easy_reset keeps live connections, the DNS and TLS session caches).
 * put sends objects up to the multipart threshold in one PUT and larger
 * ones as a multipart upload whose parts (>= 5 MiB) go up in parallel; a
 * failed multipart upload is aborted so no parts are left behind. get uses
 * ranged GETs, list ListObjectsV2 with continuation tokens, stat HEAD.
 * The first put into a missing bucket creates it.
 *
 * The driver does not retry: failures carry LB_ERR_TRANSIENT (5xx, 429,
 * SlowDown, RequestTimeout, connection resets and timeouts) for the retry
 * wrapper (storage/wrap/retry.h) to act on, LB_ERR_AUTH for rejected
 * credentials, and other codes for permanent errors. Messages name the
 * bucket, the key and the server's error code; they never contain the
 * secret key, the session token or a signature.
 */
#ifndef LIFEBOAT_STORAGE_S3_S3_H
#define LIFEBOAT_STORAGE_S3_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"

/* Options beyond the location. Strings are borrowed during storageS3New and
 * copied. Zero/NULL fields take the defaults noted. */
typedef struct S3Options {
    bool pathStyle;              /* force path-style addressing (--s3-path-style) */
    const char *region;          /* signing region; default: AWS_REGION, AWS_DEFAULT_REGION, profile, us-east-1 */
    const char *sse;             /* x-amz-server-side-encryption: "AES256" or "aws:kms" (--s3-sse) */
    const char *sseKmsKeyId;     /* x-amz-server-side-encryption-aws-kms-key-id (--s3-sse-kms-key-id) */
    const char *storageClass;    /* x-amz-storage-class, e.g. "STANDARD_IA" (--s3-storage-class) */
    const char *caBundle;        /* PEM file of trusted CAs (--cacert) */
    bool insecureTls;            /* do not verify the server's certificate (--insecure-tls; test rigs only) */
    uint64_t multipartThreshold; /* objects larger than this use multipart upload; default 64 MiB */
    uint64_t partSize;           /* multipart part size, at least 5 MiB; default 16 MiB */
    int partThreads;             /* parts uploaded at once; default 4 */
    int testFailPart;            /* tests only: send this part number with a wrong payload hash, so
                                  * the server refuses it and the abort path runs */
} S3Options;

#define S3_MIN_PART_SIZE (5ull << 20)
#define S3_MAX_PARTS 10000
#define S3_DELETE_BATCH 1000

/* Fill opts from the environment (until the CLI has flags):
 * LIFEBOAT_S3_PATH_STYLE=1, LIFEBOAT_S3_REGION, LIFEBOAT_S3_SSE,
 * LIFEBOAT_S3_SSE_KMS_KEY_ID, LIFEBOAT_S3_STORAGE_CLASS,
 * LIFEBOAT_S3_CA_BUNDLE, LIFEBOAT_S3_INSECURE_TLS=1,
 * LIFEBOAT_S3_MULTIPART_THRESHOLD, LIFEBOAT_S3_PART_SIZE (bytes, or with a
 * K/M/G suffix meaning KiB/MiB/GiB), LIFEBOAT_S3_PART_THREADS. The strings
 * point into the environment. Fails with LB_ERR_ARGS on a malformed value. */
bool s3OptionsFromEnv(S3Options *opts, LbError *err);

/* The S3 client behind the driver, usable on its own (tests, batch deletes). */
typedef struct S3Client S3Client;

/* Parse location ("s3:..."), resolve credentials (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; else AWS_PROFILE or "default"
 * from AWS_SHARED_CREDENTIALS_FILE / ~/.aws/credentials and AWS_CONFIG_FILE /
 * ~/.aws/config) and the region. No request is sent. Fails with
 * LB_ERR_ARGS for a malformed location or option and LB_ERR_AUTH when no
 * credentials are found. opts may be NULL (all defaults). The caller frees
 * the client with s3ClientFree (NULL is a no-op), which wipes the secrets. */
S3Client *s3ClientNew(const char *location, const S3Options *opts, LbError *err);
void s3ClientFree(S3Client *client);

/* The base URL requests go to ("https://BUCKET.HOST" or
 * "http://HOST:PORT/BUCKET"), and the signing region. Owned by the client. */
const char *s3ClientBaseUrl(const S3Client *client);
const char *s3ClientRegion(const S3Client *client);

/* Delete names (relative to the prefix) with DeleteObjects, in batches of
 * S3_DELETE_BATCH. Missing objects count as deleted. Stops at the first
 * failed batch or the first object the server refused to delete (err names
 * it); objects of earlier batches stay deleted. */
bool s3ClientRemoveMany(S3Client *client, const char *const *names, size_t count, LbError *err);

/* Number of multipart uploads in progress under the prefix (the tests check
 * that failed uploads leave none behind). */
bool s3ClientCountUploads(S3Client *client, size_t *count, LbError *err);

/* The "Storage" for location: the driver without retries (storageOpen adds
 * the retry wrapper). The Storage owns the client. */
Storage *storageS3New(const char *location, const S3Options *opts, LbError *err);

#endif
