/*
 * s3_multipart.h - put: one PUT up to the multipart threshold, else a parallel multipart upload that is aborted on
 * failure; a missing bucket is created.
 *
 * Part of the S3 driver; only its files include this (through s3_internal.h).
 */
#ifndef LIFEBOAT_STORAGE_S3_S3_MULTIPART_H
#define LIFEBOAT_STORAGE_S3_S3_MULTIPART_H

#include "storage/s3/s3_internal.h"

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

/* Store name: one PUT up to the multipart threshold, a multipart upload
 * above it. S3 makes either visible atomically, complete, or not at all. A
 * missing bucket is created and the put tried once more. data is borrowed. */
bool s3PutKey(S3Client *c, const char *key, const S3PutSource *src, LbError *err);

#endif
