/*
 * restore.h - restore a snapshot (or a subtree of it) into a directory: the
 * directory target of restore/target.h (random access, metadata).
 *
 * Validate first, write after: every tree is loaded and validated before the
 * first byte is written, so an unsafe snapshot (names with '/', '..', absolute
 * paths, duplicate names) fails with LB_ERR_UNSAFE_PATH and writes nothing.
 * Then the trees are read again (up to 48 MiB of them kept from the first
 * pass, restore/target.h) and restored in batches (16,384 entries or
 * 128 MiB of content, LIFEBOAT_RESTORE_BATCH=ENTRIES[:BYTES] to change),
 * so memory is flat in the number of files: a batch, the directories on the
 * current path, and for hard links the first path of each inode with more
 * than one link.
 * Every path is opened component by component below the target with
 * O_NOFOLLOW, so no symlink, pre-existing or restored, can redirect a write
 * outside the target. A batch's data is written pack by pack: each pack is
 * read once per batch, in order, by a pool of workers; all-zero blobs become
 * holes (sparse files). A directory's metadata is applied once its whole
 * contents are written, deepest first.
 */
#ifndef LIFEBOAT_RESTORE_RESTORE_H
#define LIFEBOAT_RESTORE_RESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "repo/repo.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"

typedef struct RestoreProgress {
    uint64_t bytesDone, bytesTotal;
    uint64_t filesTotal;
} RestoreProgress;
typedef void (*RestoreProgressCb)(void *ctx, const RestoreProgress *progress);

typedef struct RestoreOptions {
    const char *target;
    const char *subpath; /* path inside the snapshot to restore, NULL = everything */
    const char *const *includes;
    size_t includeCount;
    const char *const *excludes;
    size_t excludeCount;
    bool verify; /* read every restored file back and check it against its blob IDs */
    RestoreProgressCb progress;
    void *progressCtx;
} RestoreOptions;

typedef struct RestoreResult {
    uint64_t files, dirs, links, bytes;
    char **damaged; /* paths of files that could not be fully restored (owned) */
    size_t damagedCount;
    char **warnings; /* metadata that could not be applied (owned) */
    size_t warningCount;
    uint64_t verifiedFiles;
} RestoreResult;

/* Restore into opts->target (created if missing). Damaged blobs do not stop
 * the restore: the files they belong to are listed in result->damaged and the
 * call returns false with LB_ERR_INCOMPLETE after restoring everything else. */
bool restoreRun(Repo *repo, const Snapshot *snap, const RestoreOptions *opts, RestoreResult *result, LbError *err);
void restoreResultClear(RestoreResult *result);

/* Load the tree at a path inside a snapshot ("/" or NULL = root). On success
 * *node describes the path (a synthetic dir node for the root). In
 * target.c, with the tree reader. */
bool restoreFindPath(Repo *repo, const Snapshot *snap, const char *path, Node *node, LbError *err);

/* Receives a file's content in order. Returns > 0 for more, 0 to stop early
 * (success), < 0 on failure with err set. */
typedef int (*RestoreEmitFn)(void *ctx, const uint8_t *data, size_t len, LbError *err);

/* Hand the content of a file node to emit, blob by blob, in order. Worker
 * threads fetch and decode a few blobs ahead (stream.c); a damaged blob
 * fails with its ID named. */
bool restoreFileStream(Repo *repo, const Node *file, RestoreEmitFn emit, void *ctx, LbError *err);

/* restoreFileStream into fd (a pipe is fine): how a stored dump is streamed
 * into pg_restore, or a stored tar into tar. */
bool restoreFileToFd(Repo *repo, const Node *file, int fd, LbError *err);

#endif
