/*
 * archiver.h - backup: walk sources, chunk files, feed the blob saver, build
 * trees bottom-up, and return the root tree of a new snapshot.
 *
 * Files whose type, size, mtime, ctime and inode equal the parent snapshot's
 * node are not read: their content list is taken from the parent.
 */
#ifndef LIFEBOAT_ARCHIVER_ARCHIVER_H
#define LIFEBOAT_ARCHIVER_ARCHIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "repo/repo.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"

typedef struct ArchiverProgress {
    uint64_t filesDone, bytesDone;
    uint64_t filesTotal, bytesTotal; /* 0 while unknown */
    const char *currentPath;         /* may be NULL */
} ArchiverProgress;

typedef void (*ArchiverProgressCb)(void *ctx, const ArchiverProgress *progress);

/* A byte stream stored as one regular file at the top of the snapshot. */
typedef struct ArchiverStream {
    const char *name; /* a plain file name */
    int fd;           /* read to its end; not closed */
    uint32_t mode;    /* permission bits recorded, 0 = 0644 */
} ArchiverStream;

typedef struct ArchiverOptions {
    const char *const *paths; /* absolute or relative paths to back up */
    size_t pathCount;
    const char *const *excludes; /* fnmatch patterns */
    size_t excludeCount;
    bool oneFileSystem;
    bool force;               /* read every file even when unchanged */
    const ArchiverStream *streams; /* streams stored as files (stdin, a command's output, pg_dump) */
    size_t streamCount;
    const Snapshot *parent;   /* borrowed, may be NULL */
    ArchiverProgressCb progress;
    void *progressCtx;
} ArchiverOptions;

typedef struct ArchiverResult {
    LbId tree;
    SnapshotSummary summary;
    char **paths; /* absolute paths recorded in the snapshot (owned) */
    size_t pathCount;
    char **unreadable; /* "path: reason" for every file that could not be read (owned) */
    size_t unreadableCount;
} ArchiverResult;

/* Run a backup into repo (index loaded). On success the data and trees are
 * stored (index written), but no snapshot: the caller writes it. Fails when a
 * given path is missing, or on any repository error. Unreadable files below
 * the given paths are listed in result->unreadable and skipped. */
bool archiverRun(Repo *repo, const ArchiverOptions *opts, ArchiverResult *result, LbError *err);
void archiverResultClear(ArchiverResult *result);

/* Normalize a path to an absolute one without resolving symlinks. Caller frees. */
char *archiverAbsPath(const char *path);

#endif
