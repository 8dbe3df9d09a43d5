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
#include <sys/types.h>

#include "repo/repo.h"
#include "repo/saver.h"
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
    bool force;                    /* read every file even when unchanged */
    const ArchiverStream *streams; /* streams stored as files (stdin, a command's output, pg_dump) */
    size_t streamCount;
    const Snapshot *parent;        /* borrowed, may be NULL */
    RepoChunkProfile chunkProfile; /* REPO_CHUNK_FILES unless the streams are dumps */
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
    LbId *newPacks; /* packs this run uploaded (owned), for checkBeforeCommit */
    size_t newPackCount;
} ArchiverResult;

/* Run a backup into repo (index loaded). On success the data and trees are
 * stored (index written), but no snapshot: the caller writes it. Fails when a
 * given path is missing, or on any repository error. Unreadable files below
 * the given paths are listed in result->unreadable and skipped. */
bool archiverRun(Repo *repo, const ArchiverOptions *opts, ArchiverResult *result, LbError *err);
void archiverResultClear(ArchiverResult *result);

/* Normalize a path to an absolute one without resolving symlinks. Caller frees. */
char *archiverAbsPath(const char *path);

/*
 * Chunking, shared by every source (files and streams here, buckets in
 * source/bucket.h): a byte stream is cut by one of the repository's chunkers and each
 * chunk queued into a BlobSaver; the saver's workers write the chunk IDs into
 * the file's ArchiverSlots as they finish, so the reader never waits for them.
 */

#define ARCHIVER_SLOT_BLOCKS 48

/* The chunk IDs of one file, in order. Block k holds 2^k IDs, so the
 * pointers handed to the saver stay valid while the list grows. Zero-init;
 * read or free only after saverWait (workers may still be writing). */
typedef struct ArchiverSlots {
    LbId *blocks[ARCHIVER_SLOT_BLOCKS];
    size_t count;
} ArchiverSlots;

/* Read up to cap bytes into buf. Returns the number read, 0 at the end of the
 * stream, or -1 with *why set to the reason (a string that outlives the call). */
typedef ssize_t (*ArchiverReadFn)(void *ctx, uint8_t *buf, size_t cap, const char **why);

typedef struct ArchiverChunker ArchiverChunker;

/* A chunker of the repository's given profile feeding saver, with its own
 * read buffer. repo and saver are borrowed and must outlive it. One chunker
 * is used by one thread. */
ArchiverChunker *archiverChunkerNew(Repo *repo, BlobSaver *saver, RepoChunkProfile profile);
void archiverChunkerFree(ArchiverChunker *chunker); /* NULL is a no-op */

/* Read a stream to its end through read, cut it into chunks and queue them;
 * their IDs land in slots after the ones already there. *bytesRead is what
 * was read. On a read failure returns false with *why: the chunks queued so
 * far stay harmlessly unreferenced, and slots must still be cleared after
 * saverWait. */
bool archiverChunkStream(ArchiverChunker *chunker, ArchiverReadFn read, void *readCtx, ArchiverSlots *slots,
                         uint64_t *bytesRead, const char **why);

/* After saverWait: move the IDs into node->content (contentCount), leaving
 * slots empty. node must have no content yet. */
void archiverSlotsTake(ArchiverSlots *slots, Node *node);

/* Free the IDs (after saverWait). */
void archiverSlotsClear(ArchiverSlots *slots);

#endif
