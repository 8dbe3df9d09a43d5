/* storage.c - Storage dispatch over a driver's interface, with counters. */
#include "storage/storage.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "storage/local/local.h"
#include "storage/mem/mem.h"
#include "storage/s3/s3.h"
#include "storage/wrap/fault.h"
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

/* An S3 repository: the driver, under the fault injector when
 * LIFEBOAT_TEST_FAULTS is set (tests only), under the retry wrapper. */
static Storage *storageOpenS3(const char *location, LbError *err) {
    S3Options opts;
    if (!s3OptionsFromEnv(&opts, err))
        return NULL;
    FaultOptions faults = {0};
    const char *faultSpec = getenv("LIFEBOAT_TEST_FAULTS");
    if (faultSpec != NULL && faultSpec[0] != '\0' && !faultOptionsParse(faultSpec, &faults, err))
        return NULL;
    Storage *s = storageS3New(location, &opts, err);
    if (s == NULL)
        return NULL;
    if (faults.every > 0)
        s = storageFaultNew(s, &faults);
    RetryOptions retry;
    retryOptionsFromEnv(&retry);
    return storageRetryNew(s, &retry);
}

Storage *storageOpen(const char *location, LbError *err) {
    if (location == NULL || location[0] == '\0') {
        lbErr(err, LB_ERR_NO_REPO, "no repository given: use -r/--repo or set LIFEBOAT_REPOSITORY");
        return NULL;
    }
    if (strncmp(location, "local:", 6) == 0)
        return storageLocalNew(location + 6, err);
    if (strncmp(location, "mem:", 4) == 0)
        return storageMemNew();
    if (strncmp(location, "s3:", 3) == 0)
        return storageOpenS3(location, err);
    const char *colon = strchr(location, ':');
    const char *slash = strchr(location, '/');
    if (colon != NULL && (slash == NULL || colon < slash) && colon != location) {
        lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': unknown storage scheme", location);
        return NULL;
    }
    return storageLocalNew(location, err);
}

const char *storageLocation(const Storage *storage) {
    return storage->location;
}

const char *storageDriverName(const Storage *storage) {
    return storage->iface->name;
}

bool storagePut(Storage *storage, const char *name, const uint8_t *data, size_t len, LbError *err) {
    atomic_fetch_add(&storage->puts, 1);
    atomic_fetch_add(&storage->bytesWritten, len);
    return storage->iface->put(storage->driver, name, data, len, err);
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
