/*
 * cache.h - a Storage that keeps a local copy of a remote repository's
 * snapshot and index objects.
 *
 * Snapshot and index objects are immutable and named by the SHA-256 of their
 * stored bytes ("snapshots/<hex>", "index/<hex>"), so a copy can be checked
 * against its name without any key. The wrapper keeps them under dir, stored
 * exactly as in the repository (still encrypted): dir/snapshots/<hex>,
 * dir/index/<hex>. The cache is local state, not part of the repository
 * format, and is safe to delete at any time (the next run fetches again).
 *
 * - get of a whole cacheable object: served from the cache when the copy is
 *   there and its SHA-256 matches its name (its access time is then set to
 *   now, for LRU eviction); a copy that does not match is deleted (with a
 *   warning) and the object fetched from the inner storage. An object fetched
 *   (or put) whose bytes match its name is written to the cache: temporary
 *   file, then rename, so a reader never sees a partial copy (no fsync: a
 *   copy torn by a crash fails verification and is fetched again).
 * - list of "snapshots/" or "index/": passed through; when it completes, the
 *   cached copies whose object the listing lacks are deleted.
 * - remove: passed through, and the cached copy deleted.
 * - put, stat, removeTemporary: passed through (put also caches).
 * - Size: when the cached bytes exceed maxBytes, the least recently used
 *   copies (by access time) are deleted until they fit in 90 % of it.
 *
 * Packs are kept only when asked for (storageCacheGetKeep: the packs that
 * hold only trees), as dir/data/<hex>; a whole-object get of a kept pack is
 * served from the copy, a complete listing of "data/" deletes copies of
 * packs gone. Everything else (data packs, keys, config, locks) goes to the
 * inner storage untouched. Several processes may share one cache directory: each write is
 * atomic and a copy deleted under a reader is only a miss. Nothing here
 * reads the environment: repo/cache.h decides whether and where to cache.
 */
#ifndef LIFEBOAT_STORAGE_WRAP_CACHE_H
#define LIFEBOAT_STORAGE_WRAP_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/storage.h"

#define STORAGE_CACHE_DEFAULT_MAX (1024ull * 1024ull * 1024ull) /* 1 GiB */

typedef struct StorageCacheOptions {
    const char *dir;   /* the cache directory of this repository (created with its parents) */
    uint64_t maxBytes; /* 0: STORAGE_CACHE_DEFAULT_MAX */
} StorageCacheOptions;

/* Wrap inner, taking ownership of it (freed with the wrapper). The wrapper
 * reports inner's driver name and location. When the cache directory cannot
 * be created, logs a warning and returns inner itself (no cache). */
Storage *storageCacheNew(Storage *inner, const StorageCacheOptions *opts);

/* True for the names the cache keeps whenever they are read or written:
 * "snapshots/<64 hex>", "index/<64 hex>". */
bool storageCacheable(const char *name);

/* Read the whole object name, through storage's cache when storage is a
 * cache wrapper and name a snapshot, index or pack object ("data/XX/<hex>"):
 * a verified copy is served, else the object is fetched and a copy kept.
 * How the repository caches packs that hold only trees (repo.c): data packs
 * are never cached. Anything else: storageGet. */
bool storageCacheGetKeep(Storage *storage, const char *name, LbBuf *out, LbError *err);
/* storagePut, and a copy kept as storageCacheGetKeep would (the saver's
 * packs of trees: the next backup reads them as its parent's). */
bool storageCachePutKeep(Storage *storage, const char *name, const uint8_t *data, size_t len, LbError *err);

#endif
