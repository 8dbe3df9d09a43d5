/*
 * s3_list.h - the ListObjectsV2 pager (continuation tokens, url-encoded keys) shared by the Storage list and
 * s3ClientListObjects.
 *
 * Part of the S3 driver; only its files include this (through s3_internal.h).
 */
#ifndef LIFEBOAT_STORAGE_S3_S3_LIST_H
#define LIFEBOAT_STORAGE_S3_S3_LIST_H

#include "storage/s3/s3_internal.h"

typedef struct S3ObjectEntry {
    char *key;
    char *etag;
    uint64_t size;
    int64_t lastModifiedNs;
} S3ObjectEntry;

/* Call cb for every object whose key starts with keyPrefix (after startKey
 * when given), page by page (1000 keys each, keys url-decoded). The callback
 * runs after a page is parsed, outside any lock; it returns false to stop.
 * A missing bucket is an empty list when missingIsEmpty, else
 * LB_ERR_NOT_FOUND. */
bool s3ListKeys(S3Client *c, const char *keyPrefix, const char *startKey, bool missingIsEmpty,
                bool (*cb)(void *ctx, S3ObjectEntry *e), void *ctx, LbError *err);

#endif
