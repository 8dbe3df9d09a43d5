/* retry.c - the retrying Storage wrapper (see retry.h). */
#include "storage/wrap/retry.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/log.h"

#define RETRY_DEFAULT_ATTEMPTS 6
#define RETRY_DEFAULT_BASE_MS 250
#define RETRY_DEFAULT_MAX_MS 10000
#define RETRY_MAX_ATTEMPTS 100

typedef struct RetryDriver {
    StorageInterface iface; /* a copy of retryInterface with inner's name; outlives no one but this driver */
    Storage *inner;
    StorageRetryOptions opts;
    RetrySleepFn sleepFn; /* NULL: nanosleep */
    void *sleepCtx;
} RetryDriver;

/***********************************************************************************************************************
 * Policy
 **********************************************************************************************************************/

bool retryIsTransient(const LbError *err) {
    return err != NULL && err->code == LB_ERR_TRANSIENT;
}

StorageRetryOptions retryOptionsResolve(const StorageRetryOptions *opts) {
    StorageRetryOptions r = opts != NULL ? *opts : (StorageRetryOptions){0};
    if (r.maxAttempts <= 0)
        r.maxAttempts = RETRY_DEFAULT_ATTEMPTS;
    if (r.maxAttempts > RETRY_MAX_ATTEMPTS)
        r.maxAttempts = RETRY_MAX_ATTEMPTS;
    if (r.baseDelayMs == 0)
        r.baseDelayMs = RETRY_DEFAULT_BASE_MS;
    if (r.maxDelayMs == 0)
        r.maxDelayMs = RETRY_DEFAULT_MAX_MS;
    return r;
}

unsigned retryDelayMs(const StorageRetryOptions *opts, int attempt, uint64_t rnd) {
    uint64_t d = opts->baseDelayMs;
    for (int i = 1; i < attempt && d < opts->maxDelayMs; i++)
        d *= 2;
    if (d > opts->maxDelayMs)
        d = opts->maxDelayMs;
    uint64_t half = d / 2;
    return (unsigned)(d - half + (half > 0 ? rnd % (half + 1) : 0));
}

/* A per-thread random number for jitter (no need for cryptographic quality,
 * only for threads and hosts not to retry in lockstep). */
static uint64_t retryRandom(void) {
    static _Thread_local uint64_t state;
    if (state == 0) {
        if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state) || state == 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&state;
            state |= 1;
        }
    }
    /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1Dull;
}

static void retrySleep(const RetryDriver *drv, unsigned ms) {
    if (drv->sleepFn != NULL) {
        drv->sleepFn(drv->sleepCtx, ms);
        return;
    }
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* After a failed attempt: true (having logged and slept) when another
 * attempt should follow; false when err is final. A final transient error
 * after several attempts is prefixed with how many were made. */
static bool retryAgain(const RetryDriver *drv, int attempt, const char *op, const char *name, LbError *err) {
    if (!retryIsTransient(err))
        return false;
    if (attempt >= drv->opts.maxAttempts) {
        if (attempt > 1)
            lbErrorWrap(err, "gave up after %d attempts", attempt);
        return false;
    }
    unsigned ms = retryDelayMs(&drv->opts, attempt, retryRandom());
    lbLogWarn("%s '%s' failed, retrying in %.2f s (attempt %d of %d): %s", op, name, ms / 1000.0, attempt + 1,
              drv->opts.maxAttempts, err->msg);
    retrySleep(drv, ms);
    return true;
}

/***********************************************************************************************************************
 * Members
 **********************************************************************************************************************/

static bool retryPut(void *driver, const char *name, const uint8_t *data, size_t len, LbError *err) {
    RetryDriver *drv = driver;
    for (int attempt = 1;; attempt++) {
        if (storagePut(drv->inner, name, data, len, err))
            return true;
        if (!retryAgain(drv, attempt, "write", name, err))
            return false;
    }
}

static bool retryGet(void *driver, const char *name, uint64_t offset, uint64_t length, LbBuf *out, LbError *err) {
    RetryDriver *drv = driver;
    size_t before = out->len;
    for (int attempt = 1;; attempt++) {
        if (storageGet(drv->inner, name, offset, length, out, err))
            return true;
        out->len = before; /* whatever a cut transfer left */
        if (!retryAgain(drv, attempt, "read", name, err))
            return false;
    }
}

static bool retryRemove(void *driver, const char *name, LbError *err) {
    RetryDriver *drv = driver;
    for (int attempt = 1;; attempt++) {
        if (storageRemove(drv->inner, name, err))
            return true;
        if (!retryAgain(drv, attempt, "remove", name, err))
            return false;
    }
}

static bool retryStat(void *driver, const char *name, StorageInfo *info, LbError *err) {
    RetryDriver *drv = driver;
    for (int attempt = 1;; attempt++) {
        if (storageStat(drv->inner, name, info, err))
            return true;
        if (!retryAgain(drv, attempt, "stat", name, err))
            return false;
    }
}

/* The names delivered so far in one list call, as 64-bit hashes in an
 * open-addressing table (0 marks an empty slot). */
typedef struct RetrySeen {
    uint64_t *slots;
    size_t cap; /* power of two */
    size_t count;
} RetrySeen;

static uint64_t retryHashName(const char *name) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a strong finalizer */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h ? h : 1;
}

/* Add h; returns false when it was there already. */
static bool retrySeenAdd(RetrySeen *s, uint64_t h) {
    if (s->count * 2 >= s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *slots = lbXcalloc(cap, sizeof(*slots));
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slots[i] == 0)
                continue;
            size_t j = (size_t)s->slots[i] & (cap - 1);
            while (slots[j] != 0)
                j = (j + 1) & (cap - 1);
            slots[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t j = (size_t)h & (s->cap - 1);
    while (s->slots[j] != 0) {
        if (s->slots[j] == h)
            return false;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = h;
    s->count++;
    return true;
}

typedef struct RetryListCtx {
    StorageListCb cb;
    void *ctx;
    RetrySeen seen;
    bool stopped;
} RetryListCtx;

static bool retryListCb(void *ctx, const char *name, uint64_t size) {
    RetryListCtx *l = ctx;
    if (!retrySeenAdd(&l->seen, retryHashName(name)))
        return true; /* delivered before the failure that restarted the list */
    if (!l->cb(l->ctx, name, size)) {
        l->stopped = true;
        return false;
    }
    return true;
}

static bool retryList(void *driver, const char *prefix, StorageListCb cb, void *ctx, LbError *err) {
    RetryDriver *drv = driver;
    RetryListCtx l = {.cb = cb, .ctx = ctx};
    bool ok = false;
    for (int attempt = 1;; attempt++) {
        if (storageList(drv->inner, prefix, retryListCb, &l, err)) {
            ok = true;
            break;
        }
        if (l.stopped || !retryAgain(drv, attempt, "list", prefix, err))
            break;
    }
    free(l.seen.slots);
    return ok;
}

static void retryFree(void *driver) {
    RetryDriver *drv = driver;
    if (drv == NULL)
        return;
    storageFree(drv->inner);
    free(drv);
}

static const StorageInterface retryInterface = {
    .name = "retry",
    .put = retryPut,
    .get = retryGet,
    .list = retryList,
    .remove = retryRemove,
    .stat = retryStat,
    .free = retryFree,
};

Storage *storageRetryNewSleep(Storage *inner, const StorageRetryOptions *opts, RetrySleepFn sleepFn, void *sleepCtx) {
    RetryDriver *drv = lbXcalloc(1, sizeof(*drv));
    drv->iface = retryInterface;
    drv->iface.name = storageDriverName(inner); /* inner outlives the interface: both go in retryFree */
    drv->inner = inner;
    drv->opts = retryOptionsResolve(opts);
    drv->sleepFn = sleepFn;
    drv->sleepCtx = sleepCtx;
    return storageNewDriver(&drv->iface, drv, storageLocation(inner));
}

Storage *storageRetryNew(Storage *inner, const StorageRetryOptions *opts) {
    return storageRetryNewSleep(inner, opts, NULL, NULL);
}
