/*
 * source.h - what a backup reads from: the Source interface, and the sink
 * through which a source hands its entries to the archiver.
 *
 * Every source - a list of paths (source/files.h), byte streams such as
 * stdin, a command's output, pg_dump or pg_basebackup (source/stream.h), an
 * S3 bucket (source/bucket.h) - is a driver behind a SourceInterface. The
 * archiver (archiver/archiver.h) runs one or more sources into one snapshot
 * and owns the only tree builder: sources never build or encode trees.
 *
 * A source yields its entries depth-first by calling the sink (a visitor:
 * the file walk recurses and the S3 listing arrives through a callback, so
 * both are push-shaped; a pull iterator would need an explicit stack or a
 * thread). Paths are relative to the snapshot root, one component at a time:
 *
 *   sourceSinkEnter(sink, dirNode)        open a new directory below the
 *                                         current one
 *   ref = sourceSinkAdd(sink, node)       add a file, symlink or special file
 *   sourceSinkRead(sink, ref, read, ...)  a regular file's bytes, chunked now
 *   sourceSinkUnchanged(sink, ref, pn)    ... or the parent snapshot's content
 *   sourceSinkLeave(sink)                 close the current directory
 *
 * A directory left is encoded once its files are stored, so a source
 * yields each directory's entries between its Enter and Leave, except that
 * it may read (sourceSinkRead) a file it added after leaving its directory:
 * the directory waits until every file added to it is read, unchanged or
 * dropped. A source that comes back to a directory keeps it
 * (sourceSinkKeep).
 *
 * Node metadata is what the tree records (snapshot/tree.h). A directory's
 * subtree and a file's content are filled in by the archiver; the
 * SourceFeature bits of the source that entered a directory shape how it is
 * encoded (the root takes the bits of every source of the run). The parent
 * snapshot's node of a name in the current directory is
 * sourceSinkParent(sink, name); a source that can tell a file is unchanged
 * (same stat for files, same ETag/size/mtime for objects) answers
 * sourceSinkUnchanged instead of reading it, unless sourceSinkForce says
 * every file must be read.
 */
#ifndef LIFEBOAT_SOURCE_SOURCE_H
#define LIFEBOAT_SOURCE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "snapshot/tree.h"

typedef struct SourceSink SourceSink;

/* Read up to cap bytes into buf. Returns the number read, 0 at the end of the
 * stream, or -1 with *why set to the reason (a string that outlives the call). */
typedef ssize_t (*SourceReadFn)(void *ctx, uint8_t *buf, size_t cap, const char **why);

/* A SourceReadFn over a file descriptor: ctx points to the int fd (not
 * closed). Retries EINTR; the reason of a failure is strerror(errno). */
ssize_t sourceFdRead(void *ctx, uint8_t *buf, size_t cap, const char **why);

/* Feature bits of a source. */
typedef enum {
    /* the source cannot count ahead: the progress line's totals are what
     * has been seen so far (a streamed listing) */
    SOURCE_FEATURE_TOTALS_SO_FAR = 1u << 0,
    /* a directory's mtime and ctime are the newest mtime below it (the
     * source has no directories of its own: a bucket's key prefixes) */
    SOURCE_FEATURE_DIR_TIME_NEWEST = 1u << 1,
    /* a file and a directory may share a name (objects "a" and "a/b"): the
     * file's gets a '%' appended in the tree ("a%"), see source/bucket.h */
    SOURCE_FEATURE_MARK_FILE_DIR = 1u << 2,
} SourceFeature;

typedef struct SourceInterface {
    const char *name; /* required: "files", "stream", "bucket" */
    unsigned features;

    /* optional: check that the source can be read at all before any data is
     * stored (paths exist, names are valid). Fails with err. */
    bool (*check)(void *driver, LbError *err);

    /* required: yield every entry to sink, depth-first, and record the
     * source's paths with sourceSinkAddPath. Entries that cannot be read
     * are reported with sourceSinkUnreadable/sourceSinkDrop and skipped.
     * Returns false with err when the backup must fail (the archiver then
     * writes no tree). On return every directory entered is left. */
    bool (*walk)(void *driver, SourceSink *sink, LbError *err);

    /* optional: the totals for the progress line, counted ahead (e.g. by a
     * scanner thread); called from the walking thread. */
    void (*totals)(void *driver, uint64_t *files, uint64_t *bytes);
} SourceInterface;

/* A source: an interface and its driver, borrowed (the driver's owner
 * creates and frees it with the driver's own New/Free). */
typedef struct Source {
    const SourceInterface *interface;
    void *driver;
} Source;

/* ---- the sink: implemented by the archiver, called by sources ---- */

/* A handle on an added entry; stays valid until the run ends, so a source
 * may read a file later than it adds it (the bucket prefetches). */
typedef struct SourceRef {
    void *dir;
    size_t index;
} SourceRef;

/* Open directory node->name (node taken; its type is set to a directory)
 * below the current one and make it current. The name must be new in the
 * current directory (a source with SOURCE_FEATURE_MARK_FILE_DIR may also
 * have added a file of that name). */
void sourceSinkEnter(SourceSink *sink, Node *nodeTaken);
/* Make the directory name, added to the current one before and kept
 * (sourceSinkKeep), current again (a second path below it). False when there
 * is no such directory. */
bool sourceSinkReenter(SourceSink *sink, const char *name);
/* Make the parent of the current directory current again. A directory left
 * is encoded as soon as its files are stored (trees stream: memory does not
 * grow with the number of files), unless it is kept; it cannot be reentered. */
void sourceSinkLeave(SourceSink *sink);
/* Keep the current directory open until the run ends, so that the source
 * may reenter it (the directories above a path and the path's own). */
void sourceSinkKeep(SourceSink *sink);
/* The parent snapshot's node of name in the current directory, or NULL
 * (also for a file whose data blobs are not all in the index: it must be
 * read again). Valid until the current directory is left. */
const Node *sourceSinkParent(SourceSink *sink, const char *name);
/* Was name added to the current directory already? */
bool sourceSinkHas(SourceSink *sink, const char *name);
/* Must every file be read, even one the source sees unchanged? */
bool sourceSinkForce(const SourceSink *sink);

/* Add a node that is not a directory to the current directory (node taken;
 * a file's content and size are filled by sourceSinkRead or
 * sourceSinkUnchanged). Counts a regular file for the progress line. */
SourceRef sourceSinkAdd(SourceSink *sink, Node *nodeTaken);

/* The node of an added entry, to complete metadata known only once it is
 * read (an object's headers). Valid until the next add to its directory. */
Node *sourceSinkNode(SourceSink *sink, SourceRef ref);

/* The state of a file read in full. */
typedef enum {
    SOURCE_FILE_NEW,     /* no file of that name in the parent snapshot */
    SOURCE_FILE_CHANGED, /* the parent snapshot has a different version */
} SourceFileState;

/* Read a regular file's bytes to their end through read and chunk them;
 * the node's size becomes the bytes read (*bytesRead too, may be NULL). On
 * a read failure returns false with *why; the caller then drops the entry
 * (sourceSinkDrop) or fails. */
bool sourceSinkRead(SourceSink *sink, SourceRef ref, SourceReadFn read, void *readCtx, SourceFileState state,
                    uint64_t *bytesRead, const char **why);
/* Give up what sourceSinkRead stored for ref (a file that changed while it
 * was read) so that it can be read again from the start: the node then
 * references only the next read's chunks (those of the first stay in the
 * packs, unreferenced, until a prune) and the summary counts only that
 * read. The node's metadata is the source's to refresh. */
void sourceSinkRetry(SourceSink *sink, SourceRef ref);
/* Report path (copied) as changed during the backup: it changed while it
 * was read and again while it was read a second time, so what the snapshot
 * holds may be a mix of versions. A warning on stderr and in the result's
 * changed list; the backup exits 3 (incomplete). */
void sourceSinkChanged(SourceSink *sink, const char *path);
/* The file is the parent snapshot's parentNode: take its content list (the
 * node's size, xattrs and the rest are the source's to set). */
void sourceSinkUnchanged(SourceSink *sink, SourceRef ref, const Node *parentNode);
/* Leave the entry out of the tree. With a reason, it is reported as
 * unreadable (path: reason); without, silently. */
void sourceSinkDrop(SourceSink *sink, SourceRef ref, const char *path, const char *reason);
/* Report path as unreadable without an entry (a directory that cannot be
 * listed, a file that cannot be stat'ed). */
void sourceSinkUnreadable(SourceSink *sink, const char *path, const char *reason);

/* Record a path of the snapshot (an absolute path, "/NAME" of a stream, the
 * bucket's "s3://..."). Copied. */
void sourceSinkAddPath(SourceSink *sink, const char *path);
/* Fill node's uid, gid and user and group names (looked up once per run). */
void sourceSinkSetOwner(SourceSink *sink, Node *node, uint32_t uid, uint32_t gid);
/* Tell the progress line (at most every 0.2 s) which path is being read. */
void sourceSinkProgress(SourceSink *sink, const char *path);
/* Is a progress line shown (worth counting totals ahead)? */
bool sourceSinkWantsProgress(const SourceSink *sink);
/* Has the storing side failed already, or the run been cancelled (stop
 * walking early)? */
bool sourceSinkFailed(SourceSink *sink);
/* Has the run been cancelled (ArchiverOptions.cancel)? Cheap: a source may
 * ask between any two entries, and stops walking when it answers true. */
bool sourceSinkCancelled(SourceSink *sink);

#endif
