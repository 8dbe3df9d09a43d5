/*
 * archiver.h - backup: run sources (source/source.h), chunk the files they
 * yield into the blob saver, build trees bottom-up with the one tree
 * builder, and return the root tree of a new snapshot.
 *
 * A file a source reports unchanged (sourceSinkUnchanged) is not read: its
 * content list is taken from the parent snapshot's node.
 */
#ifndef LIFEBOAT_ARCHIVER_ARCHIVER_H
#define LIFEBOAT_ARCHIVER_ARCHIVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "repo/repo.h"
#include "repo/saver.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"
#include "source/source.h"

typedef struct ArchiverProgress {
    uint64_t filesDone, bytesDone;
    uint64_t filesTotal, bytesTotal; /* 0 while unknown */
    const char *currentPath;         /* may be NULL */
} ArchiverProgress;

typedef void (*ArchiverProgressCb)(void *ctx, const ArchiverProgress *progress);

typedef struct ArchiverOptions {
    const Source *sources; /* read in order into one snapshot (borrowed) */
    size_t sourceCount;
    bool force;                    /* read every file even when unchanged */
    const Snapshot *parent;        /* borrowed, may be NULL */
    RepoChunkProfile chunkProfile; /* REPO_CHUNK_FILES unless the sources are dumps */
    ArchiverProgressCb progress;
    void *progressCtx;
    /* may be NULL; once set, the run stops between files and chunks and
     * fails with LB_ERR_NOT_COMMITTED (no snapshot to write) */
    const atomic_bool *cancel;
    /* entries of left directories that may wait for their files' chunks
     * before the walk waits for the oldest (trees stream, see archiver.c);
     * 0: the default (65,536) */
    size_t leftEntriesMax;
} ArchiverOptions;

typedef struct ArchiverResult {
    LbId tree;
    SnapshotSummary summary;
    char **paths; /* absolute paths recorded in the snapshot (owned) */
    size_t pathCount;
    char **unreadable; /* "path: reason" for every file that could not be read (owned) */
    size_t unreadableCount;
    /* paths of files that changed while they were read, and again while
     * they were read a second time (sourceSinkChanged); stored as the
     * second read got them (owned) */
    char **changed;
    size_t changedCount;
    LbId *newPacks; /* packs this run uploaded (owned), for repoCommitSnapshot */
    size_t newPackCount;
} ArchiverResult;

/* Run a backup of opts->sources into repo (index loaded): every source is
 * checked first, then walked in order into one tree (source/source.h). On
 * success the data and trees are stored (index written), but no snapshot:
 * the caller writes it. Fails when a source's check or walk fails, or on any
 * repository error. Entries a source could not read are listed in
 * result->unreadable and skipped; files that kept changing while read, in
 * result->changed (stored as last read). All state is per run: runs may go on in
 * several threads at once. */
bool archiverRun(Repo *repo, const ArchiverOptions *opts, ArchiverResult *result, LbError *err);
void archiverResultClear(ArchiverResult *result);

/* Normalize a path to an absolute one without resolving symlinks. Caller frees. */
char *archiverAbsPath(const char *path);

#endif
