/*
 * stream.c - one stored file streamed in order (restoreFileStream): how a
 * stored dump reaches pg_restore (verification, `restore --pg-target`) and a
 * stored tar reaches tar.
 *
 * Reads are planned per pack, as file restore and `check --read-data` do.
 * The file is cut into batches of consecutive blobs (at most STREAM_BATCH_RAW
 * plaintext bytes, STREAM_BATCH_BLOBS blobs; a larger blob is a batch of its
 * own). A batch's blobs are grouped by pack and sorted by offset, and
 * neighbours (gaps of at most PACK_READ_GAP_MAX) become one ranged GET of at
 * most PACK_READ_SPAN_MAX stored bytes (restore/packread.h). The backup's workers each fill a pack
 * of their own, so a dump's consecutive chunks alternate between a few packs:
 * grouping a batch by pack, not only consecutive blobs, is what turns them
 * into a few large reads. The pgbench scale-50 dump (489 MiB, 6,172 chunks,
 * in 2 packs) is 62 requests instead of 6,172; with 4 MiB batches it was
 * 239, and on an object store each request is a round trip.
 *
 * Worker threads claim reads (planning the next batch from the index when
 * none is left and a batch slot is free: no plan of the whole file is held),
 * fetch the range and decode (decrypt, decompress, check the ID) each blob
 * into its place in the batch; the caller emits complete batches strictly in
 * order, blob by blob.
 *
 * Memory bound, whatever the size of the file: STREAM_BATCHES batches of
 * plaintext (each <= max(STREAM_BATCH_RAW, largest blob)) plus, per worker,
 * one fetched range (<= max(PACK_READ_SPAN_MAX, largest blob)) and one decoded
 * blob: with the defaults (3 x 16 MiB, 8 workers x (2 MiB + 128 KiB dump
 * chunks)) about 65 MiB at most on an object store, 53 MiB on a local disk
 * of 2 cores. Measured (bench/streamread.sh, pgbench scale 50, one paired
 * run): 3 x 16 MiB batches read the dump back from RGW in 1.06 s with 62
 * requests, 6 x 4 MiB in 2.21 s with 239.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "restore/packread.h"
#include "restore/restore.h"

#define STREAM_BATCHES 3                       /* batches planned or read ahead of the reader */
#define STREAM_BATCH_RAW (16u * 1024u * 1024u) /* plaintext bytes per batch */
#define STREAM_BATCH_BLOBS 1024u               /* blobs per batch */

typedef struct Batch {
    int state;           /* BATCH_FREE, BATCH_READING, BATCH_READY */
    size_t first, count; /* the file's blobs [first, first + count) */
    IndexLoc locs[STREAM_BATCH_BLOBS];
    size_t outOff[STREAM_BATCH_BLOBS + 1]; /* where each blob's plaintext starts in data */
    PackReadKey order[STREAM_BATCH_BLOBS]; /* the blobs sorted by pack, offset */
    PackRead reads[STREAM_BATCH_BLOBS];
    size_t readCount, nextClaim, readsDone;
    LbBuf data; /* the batch's plaintext, in file order */
} Batch;

enum { BATCH_FREE = 0, BATCH_READING, BATCH_READY };

typedef struct Stream {
    Repo *repo;
    const Node *file;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t head;     /* sequence number of the batch the reader waits for */
    size_t planned;  /* batches planned so far */
    size_t nextBlob; /* the first blob of the next batch */
    bool stop;       /* the reader is done (or failed): workers leave */
    bool failed;
    LbError err; /* the first worker error */
    Batch batches[STREAM_BATCHES];
} Stream;

/* Plan the batch starting at s->nextBlob into b (called with the lock held):
 * look its blobs up, sort them by pack and offset, coalesce neighbours into
 * reads. False with err set when a blob is not in the index. */
static bool planBatch(Stream *s, Batch *b, LbError *err) {
    const Node *f = s->file;
    Index *ix = repoIndex(s->repo);
    b->first = s->nextBlob;
    b->count = b->readCount = b->nextClaim = b->readsDone = 0;
    uint64_t raw = 0;
    for (size_t k = b->first; k < f->contentCount && b->count < STREAM_BATCH_BLOBS; k++) {
        IndexLoc loc;
        if (!indexLookup(ix, &f->content[k], BLOB_DATA, &loc)) {
            char hex[LB_ID_HEX_LEN + 1];
            lbIdToHex(&f->content[k], hex);
            return lbErr(err, LB_ERR_NOT_FOUND, "data blob %s is not in the index", hex);
        }
        if (b->count > 0 && raw + loc.rawLength > STREAM_BATCH_RAW)
            break;
        b->outOff[b->count] = (size_t)raw;
        b->locs[b->count++] = loc;
        raw += loc.rawLength;
    }
    b->outOff[b->count] = (size_t)raw;
    s->nextBlob = b->first + b->count;
    b->readCount = packReadPlan(b->locs, b->order, b->count, b->reads);
    lbBufClear(&b->data);
    lbBufReserve(&b->data, (size_t)raw);
    b->data.len = (size_t)raw;
    b->state = BATCH_READING;
    return true;
}

/* A decoded blob to its place in the batch's plaintext (ctx: the Batch). */
static bool placeBlob(void *ctx, size_t pos, const uint8_t *plain, size_t len, LbError *err) {
    Batch *b = ctx;
    (void)err;
    if (len)
        memcpy(b->data.data + b->outOff[pos], plain, len);
    return true;
}

/* Fetch one read's range and decode its blobs into their places in b->data
 * (disjoint from every other read's: no lock needed). */
static bool fillRead(Stream *s, Batch *b, const PackRead *r, LbBuf *stored, LbBuf *plain, LbError *err) {
    return packReadFetch(s->repo, &s->file->content[b->first], b->locs, b->order, r, stored, plain, placeBlob, b, err);
}

/* The oldest batch with a read nobody claimed yet, planning a new batch
 * when there is none and a slot is free; NULL when there is nothing to do
 * now (*finished: nor will there be). Called with the lock held. */
static Batch *claimable(Stream *s, bool *finished, LbError *err, bool *failed) {
    *finished = false;
    for (size_t q = s->head; q < s->planned; q++) {
        Batch *b = &s->batches[q % STREAM_BATCHES];
        if (b->state == BATCH_READING && b->nextClaim < b->readCount)
            return b;
    }
    if (s->nextBlob >= s->file->contentCount) {
        *finished = true;
        return NULL;
    }
    if (s->planned - s->head >= STREAM_BATCHES)
        return NULL;
    Batch *b = &s->batches[s->planned % STREAM_BATCHES];
    if (!planBatch(s, b, err)) {
        *failed = true;
        return NULL;
    }
    s->planned++;
    return b;
}

static void *streamWorker(void *arg) {
    Stream *s = arg;
    LbBuf stored = {0}, plain = {0};
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        bool finished, failed = false;
        LbError err = {0};
        Batch *b = claimable(s, &finished, &err, &failed);
        if (b == NULL && !failed) {
            if (finished)
                break;
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        if (b) {
            PackRead *r = &b->reads[b->nextClaim++];
            pthread_mutex_unlock(&s->mu);
            failed = !fillRead(s, b, r, &stored, &plain, &err);
            pthread_mutex_lock(&s->mu);
        }
        if (failed) {
            if (!s->failed) {
                s->failed = true;
                s->err = err;
            }
            s->stop = true;
            pthread_cond_broadcast(&s->cv);
            break;
        }
        if (++b->readsDone == b->readCount) {
            b->state = BATCH_READY;
            pthread_cond_broadcast(&s->cv);
        }
    }
    pthread_mutex_unlock(&s->mu);
    lbBufFree(&stored);
    lbBufFree(&plain);
    return NULL;
}

/* Emit batch b blob by blob: > 0 for more, 0 to stop, < 0 on failure. */
static int emitBatch(const Batch *b, RestoreEmitFn emit, void *ctx, LbError *err) {
    for (size_t i = 0; i < b->count; i++) {
        int r = emit(ctx, b->data.data + b->outOff[i], b->outOff[i + 1] - b->outOff[i], err);
        if (r <= 0)
            return r;
    }
    return 1;
}

bool restoreFileStream(Repo *repo, const Node *file, RestoreEmitFn emit, void *ctx, LbError *err) {
    if (file->type != NODE_FILE)
        return lbErr(err, LB_ERR_ARGS, "'%s' is not a regular file", file->name);
    if (file->contentCount == 0)
        return true;
    Stream *s = lbXcalloc(1, sizeof(Stream));
    s->repo = repo;
    s->file = file;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    size_t want = packReadWorkers(repo);
    pthread_t threads[PACK_READ_WORKERS_MAX];
    size_t started = 0;
    for (size_t t = 0; t < want; t++)
        if (pthread_create(&threads[started], NULL, streamWorker, s) == 0)
            started++;
    bool ok = true;
    if (started == 0)
        ok = lbErr(err, LB_ERR_GENERIC, "unable to start a thread to read '%s'", file->name);
    for (size_t done = 0; ok && done < file->contentCount;) {
        Batch *b = &s->batches[s->head % STREAM_BATCHES];
        pthread_mutex_lock(&s->mu);
        while (!s->failed && !(s->head < s->planned && b->state == BATCH_READY))
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->failed) {
            *err = s->err;
            ok = false;
        }
        pthread_mutex_unlock(&s->mu);
        if (!ok)
            break;
        /* the workers leave a READY batch alone: emit without the lock */
        int r = emitBatch(b, emit, ctx, err);
        if (r < 0)
            ok = false;
        if (r <= 0)
            break;
        done += b->count;
        pthread_mutex_lock(&s->mu);
        b->state = BATCH_FREE;
        s->head++;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (size_t t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    for (size_t i = 0; i < STREAM_BATCHES; i++)
        lbBufFree(&s->batches[i].data);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return ok;
}
