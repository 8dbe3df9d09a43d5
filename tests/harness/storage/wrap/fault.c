/* fault.c - the fault-injecting Storage wrapper, for tests only (see fault.h). */
#include "storage/wrap/fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define FAULT_DEFAULT_DELAY_MS 300

typedef enum { FAULT_NONE = -1, FAULT_503 = 0, FAULT_CUT, FAULT_500, FAULT_DELAY, FAULT_KINDS } FaultKind;

typedef struct FaultDriver {
    StorageInterface iface; /* retryInterface-style copy carrying inner's name */
    Storage *inner;
    FaultOptions opts;
    atomic_uint_fast64_t ops;
    atomic_uint_fast64_t injected;
    /* names that just got a fault: their next operation passes, so a retry
     * of one operation never meets a fault twice in a row (with several
     * threads sharing the counter it otherwise could, and then a bounded
     * retry gives up, and the test is flaky) */
    pthread_mutex_t mu;
    uint64_t recent[64];
    unsigned recentNext;
} FaultDriver;

bool faultOptionsParse(const char *spec, FaultOptions *opts, LbError *err) {
    memset(opts, 0, sizeof(*opts));
    opts->delayMs = FAULT_DEFAULT_DELAY_MS;
    char *copy = lbXstrdup(spec ? spec : "");
    bool ok = true;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        char *end = NULL;
        unsigned long v = 0;
        if (eq != NULL) {
            errno = 0;
            v = strtoul(eq + 1, &end, 10);
        }
        if (eq == NULL || errno != 0 || end == eq + 1 || *end != '\0' || v > 1000000) {
            ok = lbErr(err, LB_ERR_ARGS, "invalid LIFEBOAT_TEST_FAULTS item '%s': expected NAME=NUMBER", tok);
            break;
        }
        *eq = '\0';
        if (strcmp(tok, "every") == 0 && v >= 2)
            opts->every = (unsigned)v;
        else if (strcmp(tok, "delay_ms") == 0)
            opts->delayMs = (unsigned)v;
        else if (strcmp(tok, "first") == 0)
            opts->first = (unsigned)v;
        else
            ok = lbErr(err, LB_ERR_ARGS,
                       "invalid LIFEBOAT_TEST_FAULTS item '%s': use every=N (N >= 2), delay_ms=N, first=N", tok);
    }
    free(copy);
    return ok;
}

/* Which fault, if any, this operation gets. */
static uint64_t faultNameHash(const char *name) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h | 1; /* never 0, the empty slot */
}

static FaultKind faultNext(FaultDriver *drv, const char *name) {
    uint64_t n = atomic_fetch_add(&drv->ops, 1);
    if (drv->opts.every == 0 || n < drv->opts.first)
        return FAULT_NONE;
    n -= drv->opts.first;
    if (n % drv->opts.every != drv->opts.every - 1)
        return FAULT_NONE;
    uint64_t h = faultNameHash(name);
    pthread_mutex_lock(&drv->mu);
    for (unsigned i = 0; i < 64; i++) {
        if (drv->recent[i] == h) {
            drv->recent[i] = 0; /* this retry passes; a later operation may fail again */
            pthread_mutex_unlock(&drv->mu);
            return FAULT_NONE;
        }
    }
    drv->recent[drv->recentNext++ % 64] = h;
    pthread_mutex_unlock(&drv->mu);
    atomic_fetch_add(&drv->injected, 1);
    return (FaultKind)((n / drv->opts.every) % FAULT_KINDS);
}

static void faultSleep(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Apply a fault that acts before the operation. Returns false (with err
 * set) when the operation must not run. */
static bool faultBefore(FaultDriver *drv, FaultKind kind, const char *verb, const char *name, LbError *err) {
    switch (kind) {
    case FAULT_503:
        return lbErr(err, LB_ERR_TRANSIENT, "unable to %s '%s': HTTP 503 SlowDown (injected by LIFEBOAT_TEST_FAULTS)",
                     verb, name);
    case FAULT_500:
        return lbErr(err, LB_ERR_TRANSIENT,
                     "unable to %s '%s': HTTP 500 InternalError (injected by LIFEBOAT_TEST_FAULTS)", verb, name);
    case FAULT_DELAY:
        faultSleep(drv->opts.delayMs);
        return true;
    default:
        return true;
    }
}

static bool faultCut(LbError *err, const char *verb, const char *name) {
    return lbErr(err, LB_ERR_TRANSIENT,
                 "unable to %s '%s': connection reset by peer before the answer (injected by LIFEBOAT_TEST_FAULTS)",
                 verb, name);
}

static bool faultPut(void *driver, const char *name, const uint8_t *data, size_t len, LbError *err) {
    FaultDriver *drv = driver;
    FaultKind kind = faultNext(drv, name);
    if (!faultBefore(drv, kind, "write", name, err))
        return false;
    if (!storagePut(drv->inner, name, data, len, err))
        return false;
    return kind == FAULT_CUT ? faultCut(err, "write", name) : true;
}

static bool faultGet(void *driver, const char *name, uint64_t offset, uint64_t length, LbBuf *out, LbError *err) {
    FaultDriver *drv = driver;
    FaultKind kind = faultNext(drv, name);
    if (!faultBefore(drv, kind, "read", name, err))
        return false;
    size_t before = out->len;
    if (!storageGet(drv->inner, name, offset, length, out, err))
        return false;
    if (kind != FAULT_CUT)
        return true;
    /* the connection closed mid-body: half the bytes arrived, then nothing */
    size_t got = out->len - before;
    out->len = before;
    return lbErr(err, LB_ERR_TRANSIENT,
                 "unable to read '%s': connection closed after %zu of %zu bytes (injected by LIFEBOAT_TEST_FAULTS)",
                 name, got / 2, got);
}

static bool faultRemove(void *driver, const char *name, LbError *err) {
    FaultDriver *drv = driver;
    FaultKind kind = faultNext(drv, name);
    if (!faultBefore(drv, kind, "remove", name, err))
        return false;
    if (!storageRemove(drv->inner, name, err))
        return false;
    return kind == FAULT_CUT ? faultCut(err, "remove", name) : true;
}

static bool faultStat(void *driver, const char *name, StorageInfo *info, LbError *err) {
    FaultDriver *drv = driver;
    FaultKind kind = faultNext(drv, name);
    if (!faultBefore(drv, kind, "stat", name, err))
        return false;
    if (!storageStat(drv->inner, name, info, err))
        return false;
    return kind == FAULT_CUT ? faultCut(err, "stat", name) : true;
}

/* A list cut after half of its names: the first names reach the caller's
 * callback, then the listing fails. */
typedef struct FaultListCtx {
    StorageListCb cb;
    void *ctx;
    bool cut;
    size_t delivered;
    size_t limit; /* deliver at most this many when cut */
    bool stoppedByCaller;
    bool stoppedByCut;
} FaultListCtx;

static bool faultListCb(void *ctx, const char *name, uint64_t size) {
    FaultListCtx *l = ctx;
    if (l->cut && l->delivered >= l->limit) {
        l->stoppedByCut = true;
        return false;
    }
    l->delivered++;
    if (!l->cb(l->ctx, name, size)) {
        l->stoppedByCaller = true;
        return false;
    }
    return true;
}

static bool faultCountCb(void *ctx, const char *name, uint64_t size) {
    (void)name;
    (void)size;
    (*(size_t *)ctx)++;
    return true;
}

static bool faultList(void *driver, const char *prefix, StorageListCb cb, void *ctx, LbError *err) {
    FaultDriver *drv = driver;
    FaultKind kind = faultNext(drv, prefix);
    if (!faultBefore(drv, kind, "list", prefix, err))
        return false;
    FaultListCtx l = {.cb = cb, .ctx = ctx, .cut = kind == FAULT_CUT};
    if (l.cut) {
        size_t total = 0;
        if (!storageList(drv->inner, prefix, faultCountCb, &total, err))
            return false;
        l.limit = total / 2;
    }
    if (!storageList(drv->inner, prefix, faultListCb, &l, err))
        return false;
    if (l.cut && !l.stoppedByCaller)
        return lbErr(err, LB_ERR_TRANSIENT,
                     "unable to list '%s': connection reset after %zu names (injected by LIFEBOAT_TEST_FAULTS)", prefix,
                     l.delivered);
    return true;
}

static void faultFree(void *driver) {
    FaultDriver *drv = driver;
    if (drv == NULL)
        return;
    lbLogWarn("test faults (LIFEBOAT_TEST_FAULTS): injected %llu faults into %llu storage operations",
              (unsigned long long)atomic_load(&drv->injected), (unsigned long long)atomic_load(&drv->ops));
    storageFree(drv->inner);
    pthread_mutex_destroy(&drv->mu);
    free(drv);
}

static const StorageInterface faultInterface = {
    .name = "fault",
    .put = faultPut,
    .get = faultGet,
    .list = faultList,
    .remove = faultRemove,
    .stat = faultStat,
    .free = faultFree,
};

Storage *storageFaultNew(Storage *inner, const FaultOptions *opts) {
    FaultDriver *drv = lbXcalloc(1, sizeof(*drv));
    drv->iface = faultInterface;
    pthread_mutex_init(&drv->mu, NULL);
    drv->iface.name = storageDriverName(inner);
    drv->inner = inner;
    drv->opts = *opts;
    atomic_init(&drv->ops, 0);
    atomic_init(&drv->injected, 0);
    return storageNewDriver(&drv->iface, drv, storageLocation(inner));
}
