/* storage.c - Storage dispatch over a driver's interface, with counters. */
#include "storage/storage.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/local/local.h"
#include "storage/s3/s3.h"
#include "storage/wrap/retry.h"

struct Storage {
    const StorageInterface *iface;
    void *driver;
    char *location;
    atomic_uint_fast64_t puts, gets, lists, removes, stats, bytesWritten, bytesRead;
};

Storage *storageNewDriver(const StorageInterface *iface, void *driver, const char *location) {
    Storage *s = lbXcalloc(1, sizeof(*s));
    s->iface = iface;
    s->driver = driver;
    s->location = lbXstrdup(location);
    return s;
}

void storageFree(Storage *storage) {
    if (storage == NULL)
        return;
    if (storage->iface->free)
        storage->iface->free(storage->driver);
    free(storage->location);
    free(storage);
}

static StorageTestHooks storageTestHooks;

void storageTestHooksSet(const StorageTestHooks *hooks) {
    storageTestHooks = hooks != NULL ? *hooks : (StorageTestHooks){0};
}

static Storage *storageOpenLocal(const char *location, const StorageOptions *opts, LbError *err) {
    (void)opts;
    return storageLocalNew(strncmp(location, "local:", 6) == 0 ? location + 6 : location, err);
}

/* An S3 repository: the driver (under the test harness's wrapper when one is
 * installed) under the retry wrapper. */
static Storage *storageOpenS3(const char *location, const StorageOptions *opts, LbError *err) {
    Storage *s = storageS3New(location, opts != NULL ? &opts->s3 : NULL, err);
    if (s != NULL && storageTestHooks.wrap != NULL)
        s = storageTestHooks.wrap(s, err);
    if (s == NULL)
        return NULL;
    return storageRetryNew(s, opts != NULL ? &opts->retry : NULL);
}

/* The drivers, by scheme prefix; a location without a scheme is local. */
typedef struct StorageDriverEntry {
    const char *prefix;
    Storage *(*open)(const char *location, const StorageOptions *opts, LbError *err);
} StorageDriverEntry;

static const StorageDriverEntry storageDrivers[] = {
    {"local:", storageOpenLocal},
    {"s3:", storageOpenS3},
    {NULL, NULL},
};

Storage *storageOpen(const char *location, const StorageOptions *opts, LbError *err) {
    if (location == NULL || location[0] == '\0') {
        lbErr(err, LB_ERR_NO_REPO, "no repository given: use -r/--repo or set LIFEBOAT_REPOSITORY");
        return NULL;
    }
    for (const StorageDriverEntry *d = storageDrivers; d->prefix != NULL; d++)
        if (strncmp(location, d->prefix, strlen(d->prefix)) == 0)
            return d->open(location, opts, err);
    const char *extra = storageTestHooks.scheme;
    if (extra != NULL && storageTestHooks.open != NULL && strncmp(location, extra, strlen(extra)) == 0)
        return storageTestHooks.open(location, opts, err);
    const char *colon = strchr(location, ':');
    const char *slash = strchr(location, '/');
    if (colon != NULL && (slash == NULL || colon < slash) && colon != location) {
        lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': unknown storage scheme", location);
        return NULL;
    }
    return storageOpenLocal(location, opts, err);
}

const char *storageLocation(const Storage *storage) {
    return storage->location;
}

const StorageInterface *storageInterfaceOf(const Storage *storage) {
    return storage->iface;
}

void *storageDriverOf(const Storage *storage) {
    return storage->driver;
}

const char *storageDriverName(const Storage *storage) {
    return storage->iface->name;
}

bool storagePut(Storage *storage, const char *name, const uint8_t *data, size_t len, LbError *err) {
    atomic_fetch_add(&storage->puts, 1);
    atomic_fetch_add(&storage->bytesWritten, len);
    return storage->iface->put(storage->driver, name, data, len, err);
}

bool storageCanSpool(const Storage *storage) {
    return storage->iface->spoolOpen != NULL && storage->iface->spoolCommit != NULL;
}

bool storageIsLocal(const Storage *storage) {
    return storageCanSpool(storage);
}

int storageSpoolOpen(Storage *storage, char **tmpPath, LbError *err) {
    *tmpPath = NULL;
    if (!storageCanSpool(storage)) {
        lbErr(err, LB_ERR_ARGS, "storage '%s' cannot spool", storage->iface->name);
        return -1;
    }
    return storage->iface->spoolOpen(storage->driver, tmpPath, err);
}

bool storageSpoolCommit(Storage *storage, int fd, char *tmpPathTaken, const char *name, uint64_t len, LbError *err) {
    atomic_fetch_add(&storage->puts, 1);
    atomic_fetch_add(&storage->bytesWritten, len);
    bool ok = storage->iface->spoolCommit(storage->driver, fd, tmpPathTaken, name, err);
    free(tmpPathTaken);
    return ok;
}

void storageSpoolAbort(int fd, char *tmpPathTaken) {
    if (fd >= 0)
        close(fd);
    if (tmpPathTaken != NULL)
        unlink(tmpPathTaken);
    free(tmpPathTaken);
}

bool storageGet(Storage *storage, const char *name, uint64_t offset, uint64_t length, LbBuf *out, LbError *err) {
    atomic_fetch_add(&storage->gets, 1);
    size_t before = out->len;
    bool ok = storage->iface->get(storage->driver, name, offset, length, out, err);
    if (ok)
        atomic_fetch_add(&storage->bytesRead, out->len - before);
    return ok;
}

bool storageList(Storage *storage, const char *prefix, StorageListCb cb, void *ctx, LbError *err) {
    atomic_fetch_add(&storage->lists, 1);
    return storage->iface->list(storage->driver, prefix, cb, ctx, err);
}

bool storageRemove(Storage *storage, const char *name, LbError *err) {
    atomic_fetch_add(&storage->removes, 1);
    return storage->iface->remove(storage->driver, name, err);
}

bool storageStat(Storage *storage, const char *name, StorageInfo *info, LbError *err) {
    atomic_fetch_add(&storage->stats, 1);
    return storage->iface->stat(storage->driver, name, info, err);
}

void storageGetStats(const Storage *storage, StorageStats *out) {
    out->puts = atomic_load(&storage->puts);
    out->gets = atomic_load(&storage->gets);
    out->lists = atomic_load(&storage->lists);
    out->removes = atomic_load(&storage->removes);
    out->stats = atomic_load(&storage->stats);
    out->bytesWritten = atomic_load(&storage->bytesWritten);
    out->bytesRead = atomic_load(&storage->bytesRead);
}

bool storageRemoveTemporary(Storage *storage, uint64_t *removed, LbError *err) {
    *removed = 0;
    if (storage->iface->removeTemporary == NULL)
        return true;
    return storage->iface->removeTemporary(storage->driver, removed, err);
}

static bool charValid(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

bool storageSegmentValid(const char *seg, size_t len) {
    if (len == 0)
        return false;
    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
        return false;
    if (len >= 5 && memcmp(seg, ".tmp-", 5) == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!charValid(seg[i]))
            return false;
    return true;
}

bool storageNameValid(const char *name) {
    if (name == NULL || name[0] == '\0')
        return false;
    const char *seg = name;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (!storageSegmentValid(seg, len))
            return false;
        if (slash == NULL)
            return true;
        seg = slash + 1;
    }
}

bool storagePrefixValid(const char *prefix) {
    if (prefix == NULL)
        return false;
    const char *seg = prefix;
    for (;;) {
        const char *slash = strchr(seg, '/');
        if (slash == NULL)
            break;
        if (!storageSegmentValid(seg, (size_t)(slash - seg)))
            return false;
        seg = slash + 1;
    }
    for (; *seg; seg++)
        if (!charValid(*seg))
            return false;
    return true;
}

bool storageNameCheck(const char *name, LbError *err) {
    if (storageNameValid(name))
        return true;
    return lbErr(err, LB_ERR_ARGS, "unable to use object name '%s': not a relative path of [A-Za-z0-9._-] segments",
                 name ? name : "(null)");
}
