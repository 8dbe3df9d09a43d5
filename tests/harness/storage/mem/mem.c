/*
 * mem.c - the in-memory storage driver, for tests.
 *
 * A mutex-protected array of objects kept sorted by name, so a prefix is one
 * contiguous run found by binary search. The semantics match the local
 * driver exactly: the same name rules (LB_ERR_ARGS), LB_ERR_NOT_FOUND for a
 * missing object, LB_ERR_CORRUPT for a range past the end, removing a missing
 * object succeeds. Each storageMemNew() is a separate, empty store.
 *
 * list copies the matching names and sizes under the lock and calls the
 * callback after releasing it, so a callback may call back into the storage.
 */
#include "storage/mem/mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct MemObject {
    char *name;
    uint8_t *data;
    size_t len;
} MemObject;

typedef struct MemDriver {
    pthread_mutex_t lock;
    MemObject *objects; /* sorted by strcmp(name) */
    size_t count;
    size_t cap;
} MemDriver;

/***********************************************************************************************************************
 * The sorted array (callers hold the lock)
 **********************************************************************************************************************/

/* Index of the first object whose name is >= key. */
static size_t memLowerBound(const MemDriver *drv, const char *key) {
    size_t lo = 0, hi = drv->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(drv->objects[mid].name, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The object called name, or NULL. */
static MemObject *memFind(MemDriver *drv, const char *name) {
    size_t i = memLowerBound(drv, name);
    if (i < drv->count && strcmp(drv->objects[i].name, name) == 0)
        return &drv->objects[i];
    return NULL;
}

/***********************************************************************************************************************
 * Interface
 **********************************************************************************************************************/

/* Store a private copy of data under name, replacing any previous object.
 * Fails only on an invalid name. data is borrowed. */
static bool memPut(void *driver, const char *name, const uint8_t *data, size_t len, LbError *err) {
    MemDriver *drv = driver;
    if (!storageNameCheck(name, err))
        return false;
    uint8_t *copy = lbXmalloc(len);
    if (len > 0)
        memcpy(copy, data, len);

    pthread_mutex_lock(&drv->lock);
    size_t i = memLowerBound(drv, name);
    if (i < drv->count && strcmp(drv->objects[i].name, name) == 0) {
        free(drv->objects[i].data);
        drv->objects[i].data = copy;
        drv->objects[i].len = len;
    } else {
        if (drv->count == drv->cap) {
            drv->cap = drv->cap ? drv->cap * 2 : 64;
            drv->objects = lbXrealloc(drv->objects, drv->cap * sizeof(*drv->objects));
        }
        memmove(&drv->objects[i + 1], &drv->objects[i], (drv->count - i) * sizeof(*drv->objects));
        drv->objects[i] = (MemObject){.name = lbXstrdup(name), .data = copy, .len = len};
        drv->count++;
    }
    pthread_mutex_unlock(&drv->lock);
    return true;
}

/* Append bytes [offset, offset+length) of name to out (length 0 = to the
 * end). On failure out is unchanged. */
static bool memGet(void *driver, const char *name, uint64_t offset, uint64_t length, LbBuf *out, LbError *err) {
    MemDriver *drv = driver;
    if (!storageNameCheck(name, err))
        return false;

    bool ok = false;
    pthread_mutex_lock(&drv->lock);
    MemObject *obj = memFind(drv, name);
    if (obj == NULL) {
        lbErr(err, LB_ERR_NOT_FOUND, "unable to read 'mem:%s': No such file or directory", name);
    } else if (offset > obj->len || (length > 0 && length > obj->len - offset)) {
        lbErr(err, LB_ERR_CORRUPT, "object '%s' is %zu bytes, shorter than requested range", name, obj->len);
    } else {
        size_t want = length > 0 ? (size_t)length : obj->len - (size_t)offset;
        lbBufAppend(out, obj->data + offset, want);
        ok = true;
    }
    pthread_mutex_unlock(&drv->lock);
    return ok;
}

/* One entry of a listing snapshot. */
typedef struct MemListEntry {
    char *name;
    uint64_t size;
} MemListEntry;

/* Call cb for every object whose name starts with prefix, in name order,
 * without holding the lock; cb returning false stops early (still true). */
static bool memList(void *driver, const char *prefix, StorageListCb cb, void *ctx, LbError *err) {
    MemDriver *drv = driver;
    if (!storagePrefixValid(prefix))
        return lbErr(err, LB_ERR_ARGS, "unable to list prefix '%s': not a relative path of [A-Za-z0-9._-] segments",
                     prefix ? prefix : "(null)");
    size_t prefixLen = strlen(prefix);

    pthread_mutex_lock(&drv->lock);
    size_t first = memLowerBound(drv, prefix);
    size_t end = first;
    while (end < drv->count && strncmp(drv->objects[end].name, prefix, prefixLen) == 0)
        end++;
    size_t n = end - first;
    MemListEntry *entries = lbXmalloc(n * sizeof(*entries));
    for (size_t i = 0; i < n; i++) {
        entries[i].name = lbXstrdup(drv->objects[first + i].name);
        entries[i].size = drv->objects[first + i].len;
    }
    pthread_mutex_unlock(&drv->lock);

    bool going = true;
    for (size_t i = 0; i < n; i++) {
        if (going)
            going = cb(ctx, entries[i].name, entries[i].size);
        free(entries[i].name);
    }
    free(entries);
    return true;
}

/* Delete name; a missing object is success. */
static bool memRemove(void *driver, const char *name, LbError *err) {
    MemDriver *drv = driver;
    if (!storageNameCheck(name, err))
        return false;
    pthread_mutex_lock(&drv->lock);
    size_t i = memLowerBound(drv, name);
    if (i < drv->count && strcmp(drv->objects[i].name, name) == 0) {
        free(drv->objects[i].name);
        free(drv->objects[i].data);
        memmove(&drv->objects[i], &drv->objects[i + 1], (drv->count - i - 1) * sizeof(*drv->objects));
        drv->count--;
    }
    pthread_mutex_unlock(&drv->lock);
    return true;
}

/* Existence and size of name (exists=false for a missing object). */
static bool memStat(void *driver, const char *name, StorageInfo *info, LbError *err) {
    MemDriver *drv = driver;
    info->exists = false;
    info->size = 0;
    if (!storageNameCheck(name, err))
        return false;
    pthread_mutex_lock(&drv->lock);
    MemObject *obj = memFind(drv, name);
    if (obj != NULL) {
        info->exists = true;
        info->size = obj->len;
    }
    pthread_mutex_unlock(&drv->lock);
    return true;
}

static void memFree(void *driver) {
    MemDriver *drv = driver;
    if (drv == NULL)
        return;
    for (size_t i = 0; i < drv->count; i++) {
        free(drv->objects[i].name);
        free(drv->objects[i].data);
    }
    free(drv->objects);
    pthread_mutex_destroy(&drv->lock);
    free(drv);
}

static const StorageInterface memInterface = {
    .name = "mem",
    .put = memPut,
    .get = memGet,
    .list = memList,
    .remove = memRemove,
    .stat = memStat,
    .free = memFree,
};

/* A new, empty in-memory store; the caller frees it with storageFree. */
Storage *storageMemNew(void) {
    MemDriver *drv = lbXcalloc(1, sizeof(*drv));
    pthread_mutex_init(&drv->lock, NULL);
    return storageNewDriver(&memInterface, drv, "mem:");
}
