/*
 * cache.h - whether and where a repository's snapshot and index objects are
 * cached locally (the wrapper itself: storage/wrap/cache.h).
 *
 * Only remote repositories (the S3 driver) are cached: not a local disk,
 * nor the test harness's in-memory driver. The cache of a
 * repository lives in $XDG_CACHE_HOME/lifeboat/<repository id>/ (default
 * $HOME/.cache/lifeboat/<repository id>/). Environment:
 *   LIFEBOAT_NO_CACHE=1      no cache
 *   LIFEBOAT_CACHE_MAX=SIZE  the size bound (e.g. 512M, 2G; default 1 GiB)
 * docs/configuration.md describes them, docs/architecture.md the cache.
 */
#ifndef LIFEBOAT_REPO_CACHE_H
#define LIFEBOAT_REPO_CACHE_H

#include "storage/storage.h"

/* storage under the cache wrapper for the repository with ID repoId (hex),
 * or storage itself when no cache applies. Takes ownership of storage. */
Storage *repoCacheWrap(Storage *storage, const char *repoId);

#endif
