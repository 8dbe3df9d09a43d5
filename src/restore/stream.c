/*
 * stream.c - one stored file streamed in order (restoreFileStream): how a
 * stored dump reaches pg_restore and a stored tar reaches tar.
 *
 * Worker threads fetch and decode (read, decrypt, decompress, check the ID)
 * the blobs ahead of the reader, each into a slot of a small ring; the caller
 * hands the slots to emit strictly in order. The ring has two slots per
 * worker, which bounds memory to that many blobs plus one per worker and
 * the one being emitted (chunks are at most 8 MiB by default).
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "restore/restore.h"

#define STREAM_WORKERS_MAX 4
#define STREAM_DEPTH 8 /* ring capacity; 2 slots per worker are used */

typedef struct Slot {
    size_t index; /* the blob it holds or is being filled with */
    int state;    /* SLOT_FREE, SLOT_FILLING, SLOT_READY */
    LbBuf data;
} Slot;

enum { SLOT_FREE = 0, SLOT_FILLING, SLOT_READY };

typedef struct Stream {
    Repo *repo;
    const Node *file;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t depth;     /* slots in use, <= STREAM_DEPTH */
    size_t nextClaim; /* the next blob a worker takes */
    bool stop;        /* the reader is done (or failed): workers leave */
    bool failed;
    LbError err; /* the first worker error */
    Slot slots[STREAM_DEPTH];
} Stream;

static void *streamWorker(void *arg) {
    Stream *s = arg;
    size_t depth = s->depth;
    LbBuf buf = {0};
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->stop && s->nextClaim < s->file->contentCount && s->slots[s->nextClaim % depth].state != SLOT_FREE)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop || s->nextClaim >= s->file->contentCount)
            break;
        size_t k = s->nextClaim++;
        Slot *slot = &s->slots[k % depth];
        slot->index = k;
        slot->state = SLOT_FILLING;
        pthread_mutex_unlock(&s->mu);

        LbError err = {0};
        lbBufClear(&buf);
        bool ok = repoLoadBlob(s->repo, BLOB_DATA, &s->file->content[k], &buf, &err);

        pthread_mutex_lock(&s->mu);
        if (!ok) {
            if (!s->failed) {
                s->failed = true;
                s->err = err;
            }
            s->stop = true;
            pthread_cond_broadcast(&s->cv);
            break;
        }
        LbBuf t = slot->data; /* hand the buffer over, keep the slot's old one */
        slot->data = buf;
        buf = t;
        slot->state = SLOT_READY;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    lbBufFree(&buf);
    return NULL;
}

bool restoreFileStream(Repo *repo, const Node *file, RestoreEmitFn emit, void *ctx, LbError *err) {
    if (file->type != NODE_FILE)
        return lbErr(err, LB_ERR_ARGS, "'%s' is not a regular file", file->name);
    if (file->contentCount == 0)
        return true;
    Stream s = {.repo = repo, .file = file};
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = n < 1 ? 1 : n > STREAM_WORKERS_MAX ? STREAM_WORKERS_MAX : (size_t)n;
    if (want > file->contentCount)
        want = file->contentCount;
    s.depth = 2 * want;
    pthread_t threads[STREAM_WORKERS_MAX];
    size_t started = 0;
    for (size_t t = 0; t < want; t++)
        if (pthread_create(&threads[started], NULL, streamWorker, &s) == 0)
            started++;
    bool ok = true;
    LbBuf out = {0};
    if (started == 0) {
        ok = lbErr(err, LB_ERR_GENERIC, "unable to start a thread to read '%s'", file->name);
    }
    for (size_t k = 0; ok && k < file->contentCount; k++) {
        Slot *slot = &s.slots[k % s.depth];
        pthread_mutex_lock(&s.mu);
        while (!s.failed && !(slot->state == SLOT_READY && slot->index == k))
            pthread_cond_wait(&s.cv, &s.mu);
        bool ready = slot->state == SLOT_READY && slot->index == k;
        if (ready) { /* take the data, leave an empty buffer */
            LbBuf t = slot->data;
            slot->data = out;
            out = t;
            lbBufClear(&slot->data);
            slot->state = SLOT_FREE;
            pthread_cond_broadcast(&s.cv);
        } else {
            *err = s.err;
            ok = false;
        }
        pthread_mutex_unlock(&s.mu);
        if (!ok)
            break;
        int r = emit(ctx, out.data, out.len, err);
        if (r < 0)
            ok = false;
        if (r <= 0)
            break;
    }
    pthread_mutex_lock(&s.mu);
    s.stop = true;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    for (size_t t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    for (size_t i = 0; i < STREAM_DEPTH; i++)
        lbBufFree(&s.slots[i].data);
    lbBufFree(&out);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    return ok;
}
