/*
 * files.h - paths of the local file system as a backup source.
 *
 * Each path is walked depth-first (names in bytewise order, symlinks not
 * followed) below the chain of its parent directories, which are recorded
 * with their own metadata: "/srv/app" is stored as srv/app in the tree. A
 * file whose type, size, mtime, ctime and inode equal the parent snapshot's
 * node is not read (sourceSinkUnchanged): its content list and xattrs are
 * the parent's. Exclude patterns (fnmatch) match the name, or the whole
 * path when they hold a '/'. While a progress line is shown, a scanner
 * thread counts the files and bytes ahead for its totals.
 *
 * A file read in full is checked against its lstat after the read (one
 * fstat): when its inode, size, mtime or ctime differ, or the read did not
 * end at its size, it changed while it was read and is read once more from
 * the start; when it changed again, the second read is stored and the path
 * reported with sourceSinkChanged (the backup exits 3).
 *
 * Ownership: the options' arrays are borrowed and must outlive the source.
 */
#ifndef LIFEBOAT_SOURCE_FILES_H
#define LIFEBOAT_SOURCE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source/source.h"

typedef struct FileSourceOptions {
    const char *const *paths; /* absolute or relative paths to back up */
    size_t pathCount;
    const char *const *excludes; /* fnmatch patterns */
    size_t excludeCount;
    bool oneFileSystem; /* do not descend into other file systems */
} FileSourceOptions;

typedef struct FileSource FileSource;

/* Free with fileSourceFree (NULL is a no-op). */
FileSource *fileSourceNew(const FileSourceOptions *opts);
void fileSourceFree(FileSource *src);

/* The source view for the archiver (borrows src). Its check fails when a
 * path is missing (LB_ERR_IO from lstat); its walk fails when a path's
 * parent is not a directory. */
Source fileSourceSource(FileSource *src);

/* Tests only: hook is called after every read of a regular file's bytes
 * with its path, the bytes read so far and the attempt (1, or 2 when it is
 * read again because it changed). The harness binary lifeboat-test installs
 * one (tests/harness/source/read_hook.c); a production binary has none.
 * Not thread-safe: set before any backup. */
typedef void (*FileSourceReadHook)(const char *path, uint64_t offset, unsigned attempt);
void fileSourceTestHookSet(FileSourceReadHook hook);

#endif
