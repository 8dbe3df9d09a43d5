/*
 * consistency.h - are the objects a recovered database refers to in the
 * recovered bucket? A query on the database lists the object keys its rows
 * reference (`SELECT storage_key FROM uploads`); the keys of the bucket are
 * listed (an s3: location, or a folder a bucket snapshot was restored into,
 * whose names are the escaped key segments of source/bucket.h); the keys
 * the database names and the bucket lacks are counted and the first few
 * (in byte order) given as examples.
 *
 * Ownership: a ConsistencyResult owns its examples (consistencyResultClear).
 * The connection string and S3 options are borrowed; no password is printed.
 */
#ifndef LIFEBOAT_RECOVER_CONSISTENCY_H
#define LIFEBOAT_RECOVER_CONSISTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "storage/options.h"

#define CONSISTENCY_EXAMPLES 20

typedef struct ConsistencyResult {
    uint64_t referenced; /* distinct non-NULL keys the query returned */
    uint64_t objects;    /* keys in the bucket */
    uint64_t missing;    /* referenced and not in the bucket */
    char **examples;     /* the first CONSISTENCY_EXAMPLES missing keys */
    size_t exampleCount;
} ConsistencyResult;

/* Run query (its first column are keys) on the database of conninfo and
 * compare with the keys at bucket (s3:... with s3 options, or a folder). */
bool consistencyCheck(const char *conninfo, const char *query, const char *bucket, const StorageS3Options *s3,
                      ConsistencyResult *result, LbError *err);
void consistencyResultClear(ConsistencyResult *result);

#endif
