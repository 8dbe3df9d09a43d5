/*
 * mapmem.h - the threshold past which the index keeps its records in an
 * unlinked temporary file in $TMPDIR (else /var/tmp) instead of memory, and
 * large arrays of the index and of prune/check either in ordinary memory or,
 * past that many elements, mapped from such a file, which the kernel may
 * write back and drop under memory pressure (docs/memory.md).
 */
#ifndef LIFEBOAT_INDEX_MAPMEM_H
#define LIFEBOAT_INDEX_MAPMEM_H

#include <stdbool.h>
#include <stddef.h>

/* LIFEBOAT_INDEX_MMAP_BLOBS: records, and elements of an array, kept in
 * ordinary memory (default 262,144; "off": SIZE_MAX). */
size_t indexMapThreshold(void);

/* A new unlinked temporary file (close-on-exec), or -1 with errno set. */
int indexMapFile(void);

/* Warn (once per process) that bytes stay in memory because of err. */
void indexMapWarn(size_t bytes, int err);

/* count × size zeroed bytes: mapped from a file of their own when count is
 * above the threshold (*mapped set), else (or when the file cannot be made,
 * with a warning) from the heap. Never NULL. */
void *indexArrayNew(size_t count, size_t size, bool *mapped);
/* Free what indexArrayNew returned (NULL is a no-op). */
void indexArrayFree(void *p, size_t count, size_t size, bool mapped);

#endif
