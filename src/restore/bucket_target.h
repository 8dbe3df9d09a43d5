/*
 * bucket_target.h - restore a snapshot (or a subtree of it) into an S3
 * bucket: `lifeboat restore SNAPSHOT[:PATH] --target s3:https://HOST/BUCKET/PREFIX/
 * [--delete] [--dry-run]`.
 *
 * Every file of the snapshot becomes the object PREFIX/KEY, KEY being its
 * path below the restored tree; in a bucket snapshot (meta type "s3-bucket")
 * each name is unescaped back into its key segment (source/bucket.h), in
 * any other snapshot names are used as they are. Objects are uploaded with
 * their metadata headers (the s3.* xattrs: content type, cache control,
 * content encoding/disposition/language, expires, x-amz-meta-*), one PUT up
 * to the multipart threshold and a multipart upload above it, the body read
 * from the repository blob by blob (no temporary file). A few objects go up
 * at once.
 *
 * Like `aws s3 sync`, the target prefix is listed first. An object already
 * there with the same size, the same ETag as the snapshot recorded (for
 * single-part uploads, the MD5 of the content) and the same metadata headers
 * (one HEAD) is left alone; every other file is uploaded. With deleteExtra,
 * objects under the prefix that are not in the snapshot are deleted (in
 * batches, after the uploads). With dryRun nothing is written or deleted:
 * the actions are only reported.
 */
#ifndef LIFEBOAT_RESTORE_BUCKET_TARGET_H
#define LIFEBOAT_RESTORE_BUCKET_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "repo/repo.h"
#include "restore/restore.h"
#include "snapshot/snapshot.h"
#include "storage/options.h"

/* Objects uploaded at once. */
#define BUCKET_TARGET_THREADS 4

/* Called once per action, in key order, after the work (or instead of it
 * with dryRun): action is "upload" or "delete", key the whole object key. */
typedef void (*BucketTargetActionCb)(void *ctx, const char *action, const char *key);

typedef struct BucketTargetOptions {
    const char *location;          /* s3:https://HOST/BUCKET[/PREFIX][/] (or s3:BUCKET[/PREFIX] for AWS) */
    const StorageOptions *storage; /* S3 settings, credentials and retries (NULL: defaults, no credentials) */
    const char *subpath;           /* path inside the snapshot to restore, NULL = everything */
    bool deleteExtra;              /* delete objects under the prefix that are not in the snapshot */
    bool dryRun;                   /* report what would change, change nothing */
    BucketTargetActionCb action;
    void *actionCtx;
    RestoreProgressCb progress;
    void *progressCtx;
} BucketTargetOptions;

typedef struct BucketTargetResult {
    uint64_t uploaded, unchanged, deleted; /* objects (planned ones with dryRun) */
    uint64_t bytesUploaded;
    uint64_t skipped; /* snapshot entries that are not files (symlinks, devices, ...) */
    char **failed;    /* "key: reason" for every object that could not be uploaded (owned) */
    size_t failedCount;
} BucketTargetResult;

/* Restore snap (index loaded) into the bucket. Objects that cannot be
 * uploaded (a damaged blob, a refused key) do not stop the others: they are
 * listed in result->failed and the call returns false with
 * LB_ERR_INCOMPLETE after everything else is done (deletes included).
 * Other failures (location, credentials, listing, an unsafe or unreadable
 * snapshot) return false before anything is written. */
bool bucketTargetRun(Repo *repo, const Snapshot *snap, const BucketTargetOptions *opts, BucketTargetResult *result,
                     LbError *err);
void bucketTargetResultClear(BucketTargetResult *result);

#endif
