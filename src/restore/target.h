/*
 * target.h - where a restore writes to: the Target interface, the
 * counterpart of the backup side's Source (source/source.h), and the one
 * tree reader that serves every target.
 *
 * Every target - a directory (restore/restore.h), an S3 bucket
 * (restore/bucket_target.h), a pipe into a program such as pg_restore or
 * `tar -x` for a PostgreSQL data directory (restoreToFd below) - is a
 * driver behind a TargetInterface. restoreTargetRun reads the snapshot's
 * trees (loaded, decoded and validated: an unsafe name fails with
 * LB_ERR_UNSAFE_PATH before the target wrote anything) and pushes the
 * entries into the driver depth-first, pre-order, one directory at a time:
 *
 *   enter(dir)   a directory, before its entries
 *   add(entry)   a file, symlink or special file of the current directory
 *   leave()      the end of the current directory
 *   finish()     every entry was pushed: write the data, apply metadata
 *
 * The reader does not write anything itself; how the data is written is the
 * driver's, told by its feature bits:
 *   TARGET_FEATURE_RANDOM_ACCESS: it writes any part of any file at any
 *     time, so its data is fetched pack by pack, each pack read once, by a
 *     pool of workers (the directory). Without it, the target consumes each
 *     file's bytes in order, from start to end (restoreFileStream: a few
 *     blobs decoded ahead), as an upload or a pipe does.
 *   TARGET_FEATURE_METADATA: owners, modes, times, xattrs, hard links and
 *     special files are restored (the directory); without, only regular
 *     files' bytes (and what the driver maps, e.g. S3 headers) matter.
 *   TARGET_FEATURE_SYNC_DELETE: the target may delete what the snapshot
 *     does not hold (a bucket restore with --delete).
 *   TARGET_FEATURE_STREAMING: the driver writes while the entries are
 *     pushed, a bounded batch at a time, instead of keeping them all until
 *     finish (the directory: memory flat in the number of files). So that
 *     an unsafe snapshot still writes nothing, the reader pushes the whole
 *     tree twice: a first pass that loads and validates every tree and in
 *     which the driver must not write (it may count: progress totals), then
 *     validated(), then the pass that writes. The first pass's decoded
 *     trees are kept for the second up to a bound (48 MiB, about 200,000
 *     files' worth), so a small snapshot's trees are decoded once and a
 *     large one's beyond the bound twice. In the first pass the driver must
 *     not take nodes (they are kept).
 *
 * The restored path itself (SNAP:PATH, or the snapshot root) is not an
 * entry when it is a directory: its entries are the top level of the
 * target, and the target directory keeps its own mode and owner (as restic
 * does). When it is a file, it is the one entry, with single set.
 */
#ifndef LIFEBOAT_RESTORE_TARGET_H
#define LIFEBOAT_RESTORE_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"

typedef enum {
    TARGET_FEATURE_RANDOM_ACCESS = 1u << 0,
    TARGET_FEATURE_METADATA = 1u << 1,
    TARGET_FEATURE_SYNC_DELETE = 1u << 2,
    TARGET_FEATURE_STREAMING = 1u << 3,
} TargetFeature;

/* One entry pushed into a target. */
typedef struct TargetEntry {
    Node *node;           /* the tree's node: the driver may take it (copy the struct, then zero *node) */
    const char *snapPath; /* absolute path in the snapshot ("/home/x/file"), printable or not */
    size_t depth;         /* 0: the top level of the target */
    bool single;          /* the restored path itself is this (non-directory) entry */
    bool skip;            /* set by enter: do not read this directory (no entries, no leave) */
} TargetEntry;

typedef struct TargetInterface {
    const char *name; /* required: "directory", "bucket", "pipe" */
    unsigned features;

    /* required: a directory, before its entries; it becomes the current
     * one. False with err stops the walk (the run fails). */
    bool (*enter)(void *driver, TargetEntry *dir, LbError *err);
    /* required: a non-directory entry of the current directory. */
    bool (*add)(void *driver, TargetEntry *entry, LbError *err);
    /* required: the end of the current directory. */
    void (*leave)(void *driver);

    /* optional: the listing of directory dir (entered already) cannot be
     * read, for another reason than an unsafe name. True: go on without its
     * entries (the driver records the loss; the reader clears err). NULL or
     * false: the run fails with err. */
    bool (*damagedDir)(void *driver, const char *snapPath, LbError *err);

    /* required with TARGET_FEATURE_STREAMING: the first pass pushed every
     * entry and every tree is valid; the second pass, which may write,
     * starts. */
    void (*validated)(void *driver);

    /* required: every entry was pushed; do the work. */
    bool (*finish)(void *driver, LbError *err);
} TargetInterface;

/* A target: an interface and its driver, borrowed. */
typedef struct Target {
    const TargetInterface *interface;
    void *driver;
} Target;

/* The one tree reader: push the entries below subpath ("/" or NULL: the
 * whole snapshot) of snap into target, then call its finish. Fails before
 * finish (nothing written by a well-behaved driver) when the path is not
 * in the snapshot or a tree cannot be read or is unsafe. */
bool restoreTargetRun(Repo *repo, const Snapshot *snap, const char *subpath, const Target *target, LbError *err);

/* Load and decode the tree blob id. */
bool restoreLoadTree(Repo *repo, const LbId *id, Tree *tree, LbError *err);

/* The pipe target: the one regular file at path, in order, into fd (a pipe
 * to pg_restore, psql or `tar -x`; not closed). LB_ERR_FORMAT when path is
 * not a regular file. *bytes (may be NULL) receives the bytes written. */
bool restoreToFd(Repo *repo, const Snapshot *snap, const char *path, int fd, uint64_t *bytes, LbError *err);

#endif
