/*
 * s3_http.h - one signed request over libcurl: the global init, the share object and the easy-handle pool, s3Perform
 * with its response and header parsing, and the mapping of failures to LbError (transient, auth, not found) with hints.
 *
 * Part of the S3 driver; only its files include this (through s3_internal.h).
 */
#ifndef LIFEBOAT_STORAGE_S3_S3_HTTP_H
#define LIFEBOAT_STORAGE_S3_S3_HTTP_H

#include "storage/s3/s3_internal.h"

/* A NUL-terminated copy of s[0..len); the caller frees it. */
char *s3Dup(const char *s, size_t len);

/* Copy at most size-1 bytes of s[0..len) into out with control characters
 * replaced by spaces (server text goes into one-line messages). */
void s3CopyText(char *out, size_t size, const char *s, size_t len);

/* curl_global_init, run once per process (it is not thread-safe) and never
 * undone; its result. */
CURLcode s3CurlGlobalInit(void);

/* Create c->share, sharing DNS and TLS sessions between c's handles under
 * c->shareLocks. False when libcurl cannot allocate. */
bool s3ShareSetUp(S3Client *c);

bool s3Is2xx(long status);

/* Free what resp holds (not resp). */
void s3ResponseFree(S3Response *r);

/* Send one signed request and collect the response into resp (which the
 * caller frees with s3ResponseFree, on success and failure). Returns false
 * only when no HTTP response was received (resp->curlCode tells why); HTTP
 * error statuses return true with resp->status set: the caller maps them.
 * When req->out is set, a 2xx body is appended to it; on any failure its
 * length is restored. */
bool s3Perform(S3Client *c, const S3Request *req, S3Response *resp);

/* Record the failure of verb ("read", "write", ...) on key in err: a one-line
 * message naming the bucket, the key and the server's error code, with a
 * hint for well-known causes, and the class (LB_ERR_TRANSIENT, LB_ERR_AUTH,
 * LB_ERR_NOT_FOUND, ...). Nothing of the request (signature, token) is
 * quoted. Returns false. */
bool s3Fail(const S3Client *c, LbError *err, const char *verb, const char *key, const S3Response *resp);

/* Create the client's bucket (the first put into a missing bucket). A bucket
 * that exists already, ours, is success. */
bool s3CreateBucket(S3Client *c, LbError *err);

/* Is resp a 404 NoSuchBucket answer? */
bool s3NoSuchBucket(const S3Response *resp);

#endif
