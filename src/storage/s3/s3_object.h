/*
 * s3_object.h - objects by key: HEAD and ranged GET behind the Storage members, batch delete and upload counting, and
 * the object API of any name (s3Client*Object) that bucket sources and restore targets use.
 *
 * Part of the S3 driver; only its files include this (through s3_internal.h).
 */
#ifndef LIFEBOAT_STORAGE_S3_S3_OBJECT_H
#define LIFEBOAT_STORAGE_S3_S3_OBJECT_H

#include "storage/s3/s3_internal.h"

/* Copy an ETag header value without its quotes. */
void s3EtagCopy(char *out, size_t size, const char *etag);

/* HEAD key: exists and size. A missing object or bucket is exists=false.
 * meta, when not NULL, receives the object's metadata headers and ETag. */
bool s3Head(S3Client *c, const char *key, const char *verb, StorageInfo *info, S3ObjectInfo *meta, LbError *err);

/* Append bytes [offset, offset+length) of key to out (length 0: to the
 * end). On failure out->len is unchanged. A missing object is
 * LB_ERR_NOT_FOUND; a range past the end LB_ERR_CORRUPT naming the size
 * (learned from Content-Range, or a HEAD when the server does not say).
 * meta, when not NULL, receives the answer's metadata headers, ETag and the
 * object's size (when the server says it). */
bool s3GetKey(S3Client *c, const char *key, uint64_t offset, uint64_t length, LbBuf *out, S3ObjectInfo *meta,
              LbError *err);

#endif
