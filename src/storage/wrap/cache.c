/* cache.c - the local cache of snapshot and index objects (see cache.h). */
#include "storage/wrap/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/id.h"
#include "common/log.h"
#include "crypto/crypto.h"

#define CACHE_TMP_PREFIX ".tmp-"
#define CACHE_TMP_STALE_SECONDS 3600 /* a temporary file this old was left by a crash */

/* Kept: snapshot and index objects (whenever read or written), packs (only
 * through storageCacheGetKeep), each in a folder of its own. */
static const char *const cacheDirs[] = {"snapshots", "index", "data", NULL};

enum { CACHE_NONE = 0, CACHE_AUTO, CACHE_ON_REQUEST };

typedef struct CacheDriver {
    StorageInterface iface; /* a copy of cacheInterface with inner's name */
    Storage *inner;
    char *dir;
    uint64_t maxBytes;
    pthread_mutex_t mu;
    bool scanned;   /* total is known */
    uint64_t total; /* bytes of the cached copies */
    unsigned seq;   /* temporary file names */
} CacheDriver;

/* p starts with len lowercase hex digits followed by end (a '\0' or '/'). */
static bool isHex(const char *p, size_t len, char end) {
    size_t i = 0;
    while (i < len && ((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
        i++;
    return i == len && p[i] == end;
}

/* How name is cached: CACHE_AUTO for "snapshots/<hex>" and "index/<hex>",
 * CACHE_ON_REQUEST for a pack "data/<2 hex>/<hex>" (kept as data/<hex>),
 * CACHE_NONE for everything else. */
static int cacheKind(const char *name) {
    if (strncmp(name, "snapshots/", 10) == 0)
        return isHex(name + 10, LB_ID_HEX_LEN, '\0') ? CACHE_AUTO : CACHE_NONE;
    if (strncmp(name, "index/", 6) == 0)
        return isHex(name + 6, LB_ID_HEX_LEN, '\0') ? CACHE_AUTO : CACHE_NONE;
    if (strncmp(name, "data/", 5) == 0 && isHex(name + 5, 2, '/') && isHex(name + 8, LB_ID_HEX_LEN, '\0') &&
        strncmp(name + 5, name + 8, 2) == 0)
        return CACHE_ON_REQUEST;
    return CACHE_NONE;
}

bool storageCacheable(const char *name) {
    return cacheKind(name) == CACHE_AUTO;
}

/* True when data's SHA-256 is the hex at the end of name. */
static bool matchesName(const char *name, const uint8_t *data, size_t len) {
    LbId id;
    char hex[LB_ID_HEX_LEN + 1];
    cryptoSha256(data, len, &id);
    lbIdToHex(&id, hex);
    return strcmp(name + strlen(name) - LB_ID_HEX_LEN, hex) == 0;
}

/* The copy of name: dir/snapshots/<hex>, dir/index/<hex>, dir/data/<hex>. */
static char *entryPath(const CacheDriver *c, const char *name) {
    const char *slash = strchr(name, '/');
    return lbXasprintf("%s/%.*s/%s", c->dir, (int)(slash - name), name, name + strlen(name) - LB_ID_HEX_LEN);
}

/* ---- size bound ---- */

typedef struct CacheEntry {
    char *path;
    struct timespec atime;
    uint64_t size;
} CacheEntry;

static int cmpAtime(const void *x, const void *y) {
    const CacheEntry *a = x, *b = y;
    if (a->atime.tv_sec != b->atime.tv_sec)
        return a->atime.tv_sec < b->atime.tv_sec ? -1 : 1;
    return a->atime.tv_nsec < b->atime.tv_nsec ? -1 : (a->atime.tv_nsec > b->atime.tv_nsec);
}

/* Every cached copy (stale temporary files are deleted on the way); caller
 * frees the paths and the array. Called with mu held. */
static CacheEntry *scanEntries(CacheDriver *c, size_t *count, uint64_t *total) {
    CacheEntry *list = NULL;
    size_t n = 0, cap = 0;
    *total = 0;
    time_t now = time(NULL);
    for (const char *const *d = cacheDirs; *d; d++) {
        char *sub = lbXasprintf("%s/%s", c->dir, *d);
        DIR *dh = opendir(sub);
        struct dirent *de;
        while (dh && (de = readdir(dh)) != NULL) {
            if (de->d_name[0] == '.' && strncmp(de->d_name, CACHE_TMP_PREFIX, strlen(CACHE_TMP_PREFIX)) != 0)
                continue;
            struct stat st;
            if (fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
                continue;
            if (strncmp(de->d_name, CACHE_TMP_PREFIX, strlen(CACHE_TMP_PREFIX)) == 0) {
                if (now - st.st_mtime > CACHE_TMP_STALE_SECONDS)
                    unlinkat(dirfd(dh), de->d_name, 0);
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                list = lbXrealloc(list, cap * sizeof(CacheEntry));
            }
            list[n++] = (CacheEntry){lbXasprintf("%s/%s", sub, de->d_name), st.st_atim, (uint64_t)st.st_size};
            *total += (uint64_t)st.st_size;
        }
        if (dh)
            closedir(dh);
        free(sub);
    }
    *count = n;
    return list;
}

/* Account for added bytes; past maxBytes, delete the least recently used
 * copies until 90 % of it is left. */
static void cacheAccount(CacheDriver *c, uint64_t added) {
    pthread_mutex_lock(&c->mu);
    if (!c->scanned) { /* the first write of this process counts what is there */
        size_t n;
        CacheEntry *list = scanEntries(c, &n, &c->total);
        for (size_t i = 0; i < n; i++)
            free(list[i].path);
        free(list);
        c->scanned = true;
    } else {
        c->total += added;
    }
    if (c->total > c->maxBytes) {
        size_t n;
        uint64_t total;
        CacheEntry *list = scanEntries(c, &n, &total);
        if (n > 1)
            qsort(list, n, sizeof(CacheEntry), cmpAtime);
        uint64_t goal = c->maxBytes / 10 * 9;
        size_t removed = 0;
        for (size_t i = 0; i < n && total > goal; i++)
            if (unlink(list[i].path) == 0) {
                total -= list[i].size;
                removed++;
            }
        for (size_t i = 0; i < n; i++)
            free(list[i].path);
        free(list);
        lbLogDebug("cache '%s': %zu least recently used entries evicted, %llu bytes left", c->dir, removed,
                   (unsigned long long)total);
        c->total = total;
    }
    pthread_mutex_unlock(&c->mu);
}

static void cacheForget(CacheDriver *c, uint64_t size) {
    pthread_mutex_lock(&c->mu);
    c->total = c->total > size ? c->total - size : 0;
    pthread_mutex_unlock(&c->mu);
}

/* ---- one copy ---- */

/* Append the verified cached copy of name to out; false on a miss (a copy
 * that does not match its name is deleted). */
static bool cacheRead(CacheDriver *c, const char *name, LbBuf *out) {
    char *path = entryPath(c, name);
    size_t before = out->len;
    bool ok = false;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto cleanup;
    size_t len = (size_t)st.st_size;
    lbBufReserve(out, len);
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, out->data + before + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == len && matchesName(name, out->data + before, len)) {
        out->len = before + len;
        /* the access time orders eviction (whatever the mount's atime policy) */
        struct timespec times[2] = {{.tv_nsec = UTIME_NOW}, {.tv_nsec = UTIME_OMIT}};
        futimens(fd, times);
        ok = true;
        goto cleanup;
    }
    lbLogWarn("cached copy '%s' does not match its name: deleted, reading the object from the repository", path);
    if (unlink(path) == 0)
        cacheForget(c, (uint64_t)st.st_size);
cleanup:
    if (fd >= 0)
        close(fd);
    if (!ok)
        out->len = before;
    free(path);
    return ok;
}

/* Keep a copy of name (data already matches it): temporary file, rename.
 * A failure only means no copy (logged at debug level). */
static void cacheWrite(CacheDriver *c, const char *name, const uint8_t *data, size_t len) {
    char *path = entryPath(c, name);
    const char *slash = strchr(name, '/');
    pthread_mutex_lock(&c->mu);
    unsigned seq = c->seq++;
    pthread_mutex_unlock(&c->mu);
    char *tmp =
        lbXasprintf("%s/%.*s/" CACHE_TMP_PREFIX "%ld-%u", c->dir, (int)(slash - name), name, (long)getpid(), seq);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    for (size_t done = 0; ok && done < len;) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        done += ok ? (size_t)w : 0;
    }
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        lbLogDebug("unable to write cache entry '%s': %s", path, strerror(errno));
        unlink(tmp);
    } else {
        cacheAccount(c, len);
    }
    free(tmp);
    free(path);
}

static void cacheDrop(CacheDriver *c, const char *name) {
    char *path = entryPath(c, name);
    struct stat st;
    if (stat(path, &st) == 0 && unlink(path) == 0)
        cacheForget(c, (uint64_t)st.st_size);
    free(path);
}

/* ---- members ---- */

static bool cacheGet(void *driver, const char *name, uint64_t offset, uint64_t length, LbBuf *out, LbError *err) {
    CacheDriver *c = driver;
    int kind = offset == 0 && length == 0 ? cacheKind(name) : CACHE_NONE;
    if (kind != CACHE_NONE && cacheRead(c, name, out))
        return true;
    size_t before = out->len;
    if (!storageGet(c->inner, name, offset, length, out, err))
        return false;
    if (kind == CACHE_AUTO && matchesName(name, out->data + before, out->len - before))
        cacheWrite(c, name, out->data + before, out->len - before);
    return true;
}

bool storageCachePutKeep(Storage *storage, const char *name, const uint8_t *data, size_t len, LbError *err) {
    if (storageInterfaceOf(storage)->get != cacheGet || cacheKind(name) == CACHE_NONE)
        return storagePut(storage, name, data, len, err);
    CacheDriver *c = storageDriverOf(storage);
    if (!storagePut(c->inner, name, data, len, err))
        return false;
    if (matchesName(name, data, len))
        cacheWrite(c, name, data, len);
    return true;
}

bool storageCacheGetKeep(Storage *storage, const char *name, LbBuf *out, LbError *err) {
    if (storageInterfaceOf(storage)->get != cacheGet || cacheKind(name) == CACHE_NONE)
        return storageGet(storage, name, 0, 0, out, err);
    CacheDriver *c = storageDriverOf(storage);
    if (cacheRead(c, name, out))
        return true;
    size_t before = out->len;
    if (!storageGet(c->inner, name, 0, 0, out, err))
        return false;
    if (matchesName(name, out->data + before, out->len - before))
        cacheWrite(c, name, out->data + before, out->len - before);
    return true;
}

static bool cachePut(void *driver, const char *name, const uint8_t *data, size_t len, LbError *err) {
    CacheDriver *c = driver;
    if (!storagePut(c->inner, name, data, len, err))
        return false;
    if (storageCacheable(name) && matchesName(name, data, len))
        cacheWrite(c, name, data, len);
    return true;
}

static bool cacheRemove(void *driver, const char *name, LbError *err) {
    CacheDriver *c = driver;
    if (!storageRemove(c->inner, name, err))
        return false;
    if (cacheKind(name) != CACHE_NONE)
        cacheDrop(c, name);
    return true;
}

static bool cacheStat(void *driver, const char *name, StorageInfo *info, LbError *err) {
    CacheDriver *c = driver;
    return storageStat(c->inner, name, info, err);
}

/* The names one list call delivered (sorted afterwards for lookups). */
typedef struct CacheListCtx {
    StorageListCb cb;
    void *ctx;
    char **names;
    size_t count, cap;
    bool stopped;
} CacheListCtx;

static bool cacheListCb(void *ctx, const char *name, uint64_t size) {
    CacheListCtx *l = ctx;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->names = lbXrealloc(l->names, l->cap * sizeof(char *));
    }
    const char *slash = strrchr(name, '/');
    l->names[l->count++] = lbXstrdup(slash ? slash + 1 : name);
    if (!l->cb(l->ctx, name, size)) {
        l->stopped = true;
        return false;
    }
    return true;
}

static int cmpStr(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* After a complete listing of dir: delete the copies of objects it lacks. */
static void cachePrune(CacheDriver *c, const char *dir, CacheListCtx *l) {
    if (l->count > 1)
        qsort(l->names, l->count, sizeof(char *), cmpStr);
    char *sub = lbXasprintf("%s/%s", c->dir, dir);
    DIR *dh = opendir(sub);
    struct dirent *de;
    size_t removed = 0;
    while (dh && (de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        const char *key = de->d_name;
        if (l->count > 0 && bsearch(&key, l->names, l->count, sizeof(char *), cmpStr) != NULL)
            continue;
        struct stat st;
        if (fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && unlinkat(dirfd(dh), de->d_name, 0) == 0) {
            cacheForget(c, (uint64_t)st.st_size);
            removed++;
        }
    }
    if (dh)
        closedir(dh);
    if (removed)
        lbLogDebug("cache '%s': %zu entries of objects gone from '%s/' deleted", c->dir, removed, dir);
    free(sub);
}

static bool cacheList(void *driver, const char *prefix, StorageListCb cb, void *ctx, LbError *err) {
    CacheDriver *c = driver;
    const char *dir = NULL;
    for (const char *const *d = cacheDirs; *d && !dir; d++)
        if (strncmp(prefix, *d, strlen(*d)) == 0 && strcmp(prefix + strlen(*d), "/") == 0)
            dir = *d;
    if (dir == NULL)
        return storageList(c->inner, prefix, cb, ctx, err);
    CacheListCtx l = {.cb = cb, .ctx = ctx};
    bool ok = storageList(c->inner, prefix, cacheListCb, &l, err);
    if (ok && !l.stopped)
        cachePrune(c, dir, &l);
    for (size_t i = 0; i < l.count; i++)
        free(l.names[i]);
    free(l.names);
    return ok;
}

static bool cacheRemoveTemporary(void *driver, uint64_t *removed, LbError *err) {
    CacheDriver *c = driver;
    return storageRemoveTemporary(c->inner, removed, err);
}

static void cacheFree(void *driver) {
    CacheDriver *c = driver;
    storageFree(c->inner);
    pthread_mutex_destroy(&c->mu);
    free(c->dir);
    free(c);
}

static const StorageInterface cacheInterface = {
    .put = cachePut,
    .get = cacheGet,
    .list = cacheList,
    .remove = cacheRemove,
    .stat = cacheStat,
    .free = cacheFree,
    .removeTemporary = cacheRemoveTemporary,
};

/* mkdir -p path (mode 0700: the copies are encrypted, but their number and
 * sizes are nobody else's business). */
static bool makeDirs(const char *path) {
    char *copy = lbXstrdup(path);
    bool ok = true;
    for (char *p = copy + 1; ok && *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        ok = mkdir(copy, 0700) == 0 || errno == EEXIST;
        *p = '/';
    }
    ok = ok && (mkdir(copy, 0700) == 0 || errno == EEXIST);
    free(copy);
    return ok;
}

Storage *storageCacheNew(Storage *inner, const StorageCacheOptions *opts) {
    for (const char *const *d = cacheDirs; *d; d++) {
        char *sub = lbXasprintf("%s/%s", opts->dir, *d);
        bool made = makeDirs(sub);
        free(sub);
        if (!made) {
            lbLogWarn("unable to create cache directory '%s': %s (going on without a cache)", opts->dir,
                      strerror(errno));
            return inner;
        }
    }
    CacheDriver *c = lbXcalloc(1, sizeof(*c));
    c->iface = cacheInterface;
    c->iface.name = storageDriverName(inner);
    c->inner = inner;
    c->dir = lbXstrdup(opts->dir);
    c->maxBytes = opts->maxBytes ? opts->maxBytes : STORAGE_CACHE_DEFAULT_MAX;
    pthread_mutex_init(&c->mu, NULL);
    return storageNewDriver(&c->iface, c, storageLocation(inner));
}
