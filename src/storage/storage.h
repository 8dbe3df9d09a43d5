/*
 * storage.h - the storage backend interface.
 *
 * A Storage is a flat namespace of immutable objects addressed by relative
 * names such as "config", "keys/<hex>", "data/ab/<hex>", "index/<hex>",
 * "snapshots/<hex>", "locks/<hex>". Every driver (local directory, S3, the
 * in-memory test driver of tests/harness/) implements the same StorageInterface, so the engine
 * never knows where its bytes live. All members must be safe to call from
 * several threads at once.
 *
 * Ownership: storageOpen/storageNewDriver return a Storage the caller frees
 * with storageFree (NULL is a no-op). Buffers passed to put are borrowed.
 */
#ifndef LIFEBOAT_STORAGE_STORAGE_H
#define LIFEBOAT_STORAGE_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "storage/options.h"

typedef struct StorageInfo {
    bool exists;
    uint64_t size;
} StorageInfo;

/* Called once per object found by list; return false to stop listing early. */
typedef bool (*StorageListCb)(void *ctx, const char *name, uint64_t size);

typedef struct StorageInterface {
    const char *name; /* "local", "s3", "mem" */

    /* Required. Store an object atomically and durably: after true returns, the
     * whole object is visible under name and survives a crash; a failure or a
     * crash never leaves a partial object under name. Overwrites are allowed
     * (only "config" and locks are ever rewritten by the engine). */
    bool (*put)(void *driver, const char *name, const uint8_t *data, size_t len, LbError *err);

    /* Required. Append bytes [offset, offset+length) of the object to out;
     * length 0 means "to the end". A missing object fails with
     * LB_ERR_NOT_FOUND; a range past the end fails with LB_ERR_CORRUPT. */
    bool (*get)(void *driver, const char *name, uint64_t offset, uint64_t length, LbBuf *out, LbError *err);

    /* Required. Call cb for every object whose name starts with prefix (e.g.
     * "data/", "snapshots/"), in no particular order. Temporary files of
     * in-progress puts are never listed. A missing prefix is an empty list. */
    bool (*list)(void *driver, const char *prefix, StorageListCb cb, void *ctx, LbError *err);

    /* Required. Delete an object; deleting a missing object succeeds. */
    bool (*remove)(void *driver, const char *name, LbError *err);

    /* Required. Size and existence of an object (exists=false, true returned,
     * for a missing object). */
    bool (*stat)(void *driver, const char *name, StorageInfo *info, LbError *err);

    /* Optional (may be NULL). Release the driver. */
    void (*free)(void *driver);

    /* Optional (may be NULL). Delete leftovers of interrupted puts (a local
     * driver's temporary files); *removed counts them. Only called by a
     * holder of the repository's exclusive lock: no put of this repository
     * is in progress then. */
    bool (*removeTemporary)(void *driver, uint64_t *removed, LbError *err);

    /* Optional (both or neither). Spool: an object whose name is known only
     * once it is written (a pack, named by its hash) is written straight into
     * a temporary file of the storage (spoolOpen: its descriptor, and its path
     * in *tmpPath), then stored under its name as put would: atomically and
     * durably (spoolCommit, which closes fd; on failure the temporary file is
     * removed). The local driver has it: a pack never sits in memory whole. */
    int (*spoolOpen)(void *driver, char **tmpPath, LbError *err);
    bool (*spoolCommit)(void *driver, int fd, const char *tmpPath, const char *name, LbError *err);
} StorageInterface;

typedef struct Storage Storage;

/* Wrap a driver; the Storage takes ownership of driver (freed via iface->free). */
Storage *storageNewDriver(const StorageInterface *iface, void *driver, const char *location);
void storageFree(Storage *storage);

/* Open a repository location with its settings (opts NULL: all defaults,
 * which for S3 means no credentials). The scheme prefix picks the driver
 * from storage.c's table: "local:PATH" (or a plain path) the local driver,
 * "s3:..." the S3 driver under the retry wrapper (opts->retry). Fails with
 * LB_ERR_ARGS on an unknown scheme. Does not check that a repository exists
 * there. opts is borrowed for the call only. */
Storage *storageOpen(const char *location, const StorageOptions *opts, LbError *err);

/*
 * TESTS ONLY. The test harness (tests/harness/storage/) installs these at
 * start-up in its test binaries; lifeboat itself never calls
 * storageTestHooksSet, so a production binary has neither hook.
 */
typedef struct StorageTestHooks {
    const char *scheme; /* an extra scheme prefix, e.g. "mem:" (NULL: none) */
    Storage *(*open)(const char *location, const StorageOptions *opts, LbError *err); /* opens scheme */
    /* Put around every S3 driver, under the retry wrapper (NULL: nothing).
     * Takes ownership of driver: returns it or a wrapper of it, or frees it
     * and returns NULL with err set. */
    Storage *(*wrap)(Storage *driver, LbError *err);
} StorageTestHooks;

/* Install hooks (copied; NULL removes them). Not thread-safe: call before
 * the first storageOpen. */
void storageTestHooksSet(const StorageTestHooks *hooks);

const char *storageLocation(const Storage *storage);
/* For wrappers that recognise their own Storage (storage/wrap/cache.h):
 * the interface and the driver a Storage was made with. */
const StorageInterface *storageInterfaceOf(const Storage *storage);
void *storageDriverOf(const Storage *storage);
const char *storageDriverName(const Storage *storage);

bool storagePut(Storage *storage, const char *name, const uint8_t *data, size_t len, LbError *err);
/* Spooled puts (see StorageInterface.spoolOpen): storageCanSpool says whether
 * the driver has them; storageSpoolOpen returns a descriptor to write the
 * object into (-1 with err), with the temporary file's path in *tmpPath
 * (owned); storageSpoolCommit stores it under name (len bytes, for the
 * statistics) and storageSpoolAbort gives it up; both close fd and free
 * tmpPathTaken. */
bool storageCanSpool(const Storage *storage);
/* Are the objects files of this machine (the local driver, the one that
 * spools), so that reading a range costs one pread, not a request? */
bool storageIsLocal(const Storage *storage);
int storageSpoolOpen(Storage *storage, char **tmpPath, LbError *err);
bool storageSpoolCommit(Storage *storage, int fd, char *tmpPathTaken, const char *name, uint64_t len, LbError *err);
void storageSpoolAbort(int fd, char *tmpPathTaken);
bool storageGet(Storage *storage, const char *name, uint64_t offset, uint64_t length, LbBuf *out, LbError *err);
bool storageList(Storage *storage, const char *prefix, StorageListCb cb, void *ctx, LbError *err);
bool storageRemove(Storage *storage, const char *name, LbError *err);
bool storageStat(Storage *storage, const char *name, StorageInfo *info, LbError *err);

/* Object names, the same rules for every driver (so a test on one catches a
 * name another would refuse): one or more segments of [A-Za-z0-9._-]
 * separated by single '/', none empty, ".", ".." or starting with ".tmp-"
 * (reserved for temporary files). */
bool storageSegmentValid(const char *seg, size_t len);
bool storageNameValid(const char *name);
/* A list prefix: "" or valid segments each followed by '/', then an optional
 * partial last segment of valid characters. */
bool storagePrefixValid(const char *prefix);
/* storageNameValid, or LB_ERR_ARGS naming the name. */
bool storageNameCheck(const char *name, LbError *err);

/* Calls the driver's removeTemporary when it has one (else removes nothing). */
bool storageRemoveTemporary(Storage *storage, uint64_t *removed, LbError *err);

/* Counters for tests and the benchmark (bytes and calls through this Storage). */
typedef struct StorageStats {
    uint64_t puts, gets, lists, removes, stats;
    uint64_t bytesWritten, bytesRead;
} StorageStats;
void storageGetStats(const Storage *storage, StorageStats *out);

#endif
