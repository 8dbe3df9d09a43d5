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

#include "storage/options.h"
#include "storage/storage.h"

#define S3_MIN_PART_SIZE (5ull << 20)
#define S3_MAX_PARTS 10000
#define S3_DELETE_BATCH 1000

/* The S3 client behind the driver, usable on its own (tests, batch deletes). */
typedef struct S3Client S3Client;

/* Parse location ("s3:..."), resolve credentials (the access key pair of
 * opts, else opts' profile or "default" from its credentials file, default
 * HOME/.aws/credentials, then its config file, default HOME/.aws/config) and
 * the region (opts', else the profile's, else us-east-1). No request is sent. Fails with
 * LB_ERR_ARGS for a malformed location or option and LB_ERR_AUTH when no
 * credentials are found. opts may be NULL (all defaults). The caller frees
 * the client with s3ClientFree (NULL is a no-op), which wipes the secrets. */
S3Client *s3ClientNew(const char *location, const StorageS3Options *opts, LbError *err);
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

/* The endpoint ("https://HOST[:PORT]"), bucket and prefix ("" or "dir/sub",
 * no leading or trailing '/') of the location. Owned by the client. */
const char *s3ClientEndpoint(const S3Client *client);
const char *s3ClientBucket(const S3Client *client);
const char *s3ClientPrefix(const S3Client *client);

/*
 * Objects of any name: a bucket as a backup source or a restore target.
 *
 * The Storage members only take repository names ([A-Za-z0-9._-] segments).
 * These take any object name: a key relative to the location's prefix
 * ("PREFIX/" + name is the key; without a prefix the name is the key, and
 * then it must not be empty). The URL path carries the key exactly (curl does
 * not squash "//" or resolve "." and ".." segments), so keys such as "a//b",
 * "dir/" or "x/../y" address their own objects. None of these retry:
 * transient failures carry LB_ERR_TRANSIENT for the caller to retry.
 */

/* One object metadata header, as sent on PUT and answered by GET and HEAD.
 * name is lowercase: "content-type", "cache-control", "content-disposition",
 * "content-encoding", "content-language", "expires", or "x-amz-meta-NAME". */
typedef struct S3Header {
    char *name;
    char *value;
} S3Header;

/* What GET and HEAD say about an object. Strings are owned (s3ObjectInfoClear). */
typedef struct S3ObjectInfo {
    uint64_t size;          /* the whole object's size */
    char etag[128];         /* without the quotes; "" when the server sent none */
    int64_t lastModifiedNs; /* 0 when unknown */
    S3Header *headers;      /* the metadata headers above, in the order received */
    size_t headerCount;
} S3ObjectInfo;

void s3ObjectInfoClear(S3ObjectInfo *info);

/* Is name (lowercase) an object metadata header that PUT can set? */
bool s3IsObjectHeader(const char *name);

/* One object of a listing; the strings are valid during the callback only. */
typedef struct S3ListedObject {
    const char *name; /* key with "PREFIX/" removed */
    uint64_t size;
    const char *etag; /* without the quotes */
    int64_t lastModifiedNs;
} S3ListedObject;

/* Return false to stop the listing (s3ClientListObjects then returns true). */
typedef bool (*S3ObjectListCb)(void *ctx, const S3ListedObject *object);

/* Call cb for every object whose key starts with "PREFIX/" (every object of
 * the bucket without a prefix), in key order (UTF-8 bytes), one
 * ListObjectsV2 page of 1000 keys at a time with continuation tokens.
 * startAfter (a name, may be NULL) resumes a listing after that name: how a
 * caller retries a listing that failed part-way without seeing an object
 * twice. Keys are asked for URL-encoded (encoding-type=url), so keys XML
 * cannot carry survive. A missing bucket fails with LB_ERR_NOT_FOUND (for
 * a backup source that is an error, for a restore target an empty list). */
bool s3ClientListObjects(S3Client *client, const char *startAfter, S3ObjectListCb cb, void *ctx, LbError *err);

/* Append bytes [offset, offset+length) of object name to out (length 0: to
 * the end; offset 0 and length 0: one plain GET of the whole object). When
 * info is not NULL it receives the object's size, ETag and metadata headers
 * from the same answer (caller clears it; it is cleared first). A missing
 * object fails with LB_ERR_NOT_FOUND, a range past the end with
 * LB_ERR_CORRUPT. On failure out->len is unchanged. */
bool s3ClientGetObject(S3Client *client, const char *name, uint64_t offset, uint64_t length, LbBuf *out,
                       S3ObjectInfo *info, LbError *err);

/* HEAD name: *exists and, when it exists, info (cleared first; the caller
 * clears it). A missing object is *exists = false and true returned. */
bool s3ClientHeadObject(S3Client *client, const char *name, bool *exists, S3ObjectInfo *info, LbError *err);

/* Fill buf with exactly len bytes of the object being uploaded, in order.
 * Return false with err set to abandon the upload. Called from one thread at
 * a time, but not always the same thread. */
typedef bool (*S3ReadFn)(void *ctx, uint8_t *buf, size_t len, LbError *err);

/* Upload object name of size bytes read through read, with the metadata
 * headers given (names from s3IsObjectHeader; a value may not hold control
 * characters: LB_ERR_ARGS). Up to the multipart threshold the object is read
 * into memory and sent with one PUT; above it, as a multipart upload whose
 * parts are read in order, one part buffer per upload thread, and sent in
 * parallel (memory: partThreads x partSize); a failed multipart upload is
 * aborted. A missing bucket is created. The object appears whole or not at
 * all. */
bool s3ClientPutObject(S3Client *client, const char *name, uint64_t size, S3ReadFn read, void *readCtx,
                       const S3Header *headers, size_t headerCount, LbError *err);

/* Delete objects by name with DeleteObjects, in batches of S3_DELETE_BATCH;
 * like s3ClientRemoveMany but for any names. */
bool s3ClientDeleteObjects(S3Client *client, const char *const *names, size_t count, LbError *err);

/* The "Storage" for location: the driver without retries (storageOpen adds
 * the retry wrapper). The Storage owns the client. */
Storage *storageS3New(const char *location, const StorageS3Options *opts, LbError *err);

#endif
