/* packread.c - read blobs by pack (restore/packread.h). */
#include "restore/packread.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmpKey(const void *x, const void *y) {
    const PackReadKey *a = x, *b = y;
    if (a->pack != b->pack)
        return a->pack < b->pack ? -1 : 1;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return a->pos < b->pos ? -1 : (a->pos > b->pos);
}

size_t packReadPlan(const IndexLoc *locs, PackReadKey *keys, size_t n, PackRead *reads) {
    for (size_t i = 0; i < n; i++)
        keys[i] = (PackReadKey){locs[i].pack, locs[i].offset, i};
    qsort(keys, n, sizeof(PackReadKey), cmpKey);
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        const IndexLoc *loc = &locs[keys[i].pos];
        uint64_t end = (uint64_t)loc->offset + loc->length;
        PackRead *r = count ? &reads[count - 1] : NULL;
        if (r && keys[r->from].pack == loc->pack && loc->offset <= r->hi + PACK_READ_GAP_MAX &&
            (end > r->hi ? end : r->hi) - r->lo <= PACK_READ_SPAN_MAX) {
            r->to = i + 1;
            if (end > r->hi)
                r->hi = end;
            continue;
        }
        reads[count++] = (PackRead){i, i + 1, loc->offset, end};
    }
    return count;
}

bool packReadFetch(Repo *repo, const LbId *ids, const IndexLoc *locs, const PackReadKey *keys, const PackRead *r,
                   LbBuf *stored, LbBuf *plain, PackReadBlobFn fn, void *ctx, LbError *err) {
    char name[80];
    repoPackName(indexPackId(repoIndex(repo), keys[r->from].pack), name);
    lbBufClear(stored);
    if (!storageGet(repoStorage(repo), name, r->lo, r->hi - r->lo, stored, err))
        return false;
    if (stored->len != r->hi - r->lo)
        return lbErr(err, LB_ERR_CORRUPT, "unable to read pack '%s': %zu bytes returned, %llu asked", name, stored->len,
                     (unsigned long long)(r->hi - r->lo));
    for (size_t i = r->from; i < r->to; i++) {
        size_t pos = keys[i].pos;
        const IndexLoc *loc = &locs[pos];
        lbBufClear(plain);
        if (!repoDecodeBlob(repo, &ids[pos], loc, stored->data + (loc->offset - r->lo), plain, err) ||
            !fn(ctx, pos, plain->data, plain->len, err))
            return false;
    }
    return true;
}

size_t packReadWorkers(Repo *repo) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (strcmp(storageDriverName(repoStorage(repo)), "local") != 0)
        n = PACK_READ_WORKERS_MAX;
    return n < 1 ? 1 : n > PACK_READ_WORKERS_MAX ? PACK_READ_WORKERS_MAX : (size_t)n;
}

/* ---- packReadBlobs: every read planned at once, claimed by workers ---- */

typedef struct BlobRead {
    Repo *repo;
    const LbId *ids;
    IndexLoc *locs;
    PackReadKey *keys;
    PackRead *reads;
    size_t readCount;
    atomic_size_t next;
    PackReadBlobFn fn;
    void *ctx;
    pthread_mutex_t mu; /* one fn call at a time; guards failed and err */
    bool failed;
    LbError err; /* the first failure */
} BlobRead;

static bool lockedFn(void *arg, size_t pos, const uint8_t *plain, size_t len, LbError *err) {
    BlobRead *br = arg;
    pthread_mutex_lock(&br->mu);
    bool ok = !br->failed && br->fn(br->ctx, pos, plain, len, err); /* after a failure: stop */
    if (!ok && !br->failed) {                                       /* fn's own failure */
        br->failed = true;
        br->err = *err;
    }
    pthread_mutex_unlock(&br->mu);
    return ok;
}

static void *blobReadWorker(void *arg) {
    BlobRead *br = arg;
    LbBuf stored = {0}, plain = {0};
    for (;;) {
        size_t i = atomic_fetch_add(&br->next, 1);
        if (i >= br->readCount)
            break;
        LbError err = {0};
        bool ok =
            packReadFetch(br->repo, br->ids, br->locs, br->keys, &br->reads[i], &stored, &plain, lockedFn, br, &err);
        pthread_mutex_lock(&br->mu);
        if (!ok && !br->failed) {
            br->failed = true;
            br->err = err;
        }
        bool stop = br->failed;
        pthread_mutex_unlock(&br->mu);
        if (stop)
            break;
    }
    lbBufFree(&stored);
    lbBufFree(&plain);
    return NULL;
}

bool packReadBlobs(Repo *repo, BlobType type, const LbId *ids, size_t count, PackReadBlobFn fn, void *ctx,
                   LbError *err) {
    if (count == 0)
        return true;
    BlobRead br = {.repo = repo, .ids = ids, .fn = fn, .ctx = ctx};
    br.locs = lbXmalloc(count * sizeof(IndexLoc));
    br.keys = lbXmalloc(count * sizeof(PackReadKey));
    br.reads = lbXmalloc(count * sizeof(PackRead));
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++)
        if (!indexLookup(repoIndex(repo), &ids[i], type, &br.locs[i])) {
            char hex[LB_ID_HEX_LEN + 1];
            lbIdToHex(&ids[i], hex);
            ok = lbErr(err, LB_ERR_NOT_FOUND, "%s blob %s is not in the index", type == BLOB_TREE ? "tree" : "data",
                       hex);
        }
    if (ok) {
        br.readCount = packReadPlan(br.locs, br.keys, count, br.reads);
        atomic_init(&br.next, 0);
        pthread_mutex_init(&br.mu, NULL);
        size_t want = packReadWorkers(repo);
        if (want > br.readCount)
            want = br.readCount;
        pthread_t threads[PACK_READ_WORKERS_MAX];
        size_t started = 0;
        for (size_t t = 0; t < want; t++)
            if (pthread_create(&threads[started], NULL, blobReadWorker, &br) == 0)
                started++;
        if (started == 0)
            blobReadWorker(&br); /* no thread to be had: read in this one */
        for (size_t t = 0; t < started; t++)
            pthread_join(threads[t], NULL);
        pthread_mutex_destroy(&br.mu);
        if (br.failed) {
            *err = br.err;
            ok = false;
        }
    }
    free(br.locs);
    free(br.keys);
    free(br.reads);
    return ok;
}
