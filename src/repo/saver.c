/* saver.c - worker pool and uploader for new blobs. */
#include "repo/saver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/membudget.h"
#include "compress/compress.h"
#include "crypto/crypto.h"
#include "repo/commit.h"
#include "storage/wrap/cache.h"

#define QUEUE_MAX_BYTES (16u * 1024u * 1024u)
#define QUEUE_MAX_JOBS 4096u
#define UPLOAD_QUEUE_MAX 1u
/* Packs uploaded at once: one for a local disk (fsync-bound, in order), more
 * for object stores, where each PUT waits on the network. */
#define SAVER_MAX_UPLOADERS 4

typedef struct Job {
    struct Job *next;
    BlobType type;
    uint8_t *data;
    size_t len;
    LbId *idOut;
    atomic_long *pending;
    bool stored; /* data is sealed already: copy it, entry describes it */
    PackEntry entry;
} Job;

typedef struct FinishedPack {
    struct FinishedPack *next;
    uint8_t *data; /* NULL: spooled into fd / path, named id */
    size_t len;
    PackEntry *entries;
    size_t count;
    int fd;
    char *path;
    LbId id;
} FinishedPack;

/* A pack a worker is filling; on a storage that can spool (local) it is
 * written to a temporary file of the storage as it fills, not held. */
typedef struct OpenPack {
    PackWriter *writer;
    int spoolFd;     /* the file it spools into (-1: none) */
    char *spoolPath; /* its temporary path */
} OpenPack;

typedef struct Worker {
    BlobSaver *saver;
    pthread_t thread;
    /* by BlobType: data blobs, and tree blobs kept apart so restore, check
     * and ls can fetch every tree of a pack with one request */
    OpenPack packs[2];
    LbBuf scratch;
} Worker;

struct BlobSaver {
    Repo *repo;
    const LbLogSink *log; /* the creating thread's, set on every thread started */
    int workerCount;
    Worker *workers;
    pthread_t uploaders[SAVER_MAX_UPLOADERS];
    int uploaderCount;
    bool spool; /* packs go straight to a file of the storage (local) */

    pthread_mutex_t mu;
    pthread_cond_t jobAvailable, jobSpace, idle, uploadAvailable, uploadSpace;
    Job *head, *tail;
    size_t queuedBytes, queuedJobs, busy;
    bool stopWorkers, stopUploader;
    FinishedPack *upHead, *upTail;
    size_t upQueued;

    Index *claimed;      /* blobs being stored by this saver, not yet in the repository index */
    IndexPack *newPacks; /* entries freed once an index file names them */
    size_t newPackCount, newPackCap;
    size_t flushFrom;  /* newPacks[flushFrom...] are in no index file yet */
    size_t flushBlobs; /* their blobs */
    bool flushing;     /* an uploader is writing an index file */
    LbId *indexFiles;  /* the index files this run wrote */
    size_t indexFileCount;
    bool failed;
    LbError firstError;
    SaverStats stats;
};

static void fail(BlobSaver *s, const LbError *err) {
    /* caller holds s->mu */
    if (!s->failed) {
        s->failed = true;
        s->firstError = *err;
    }
}

static void queuePack(BlobSaver *s, OpenPack *op) {
    PackWriter *pw = op->writer;
    LbError err = {0};
    FinishedPack *fp = lbXcalloc(1, sizeof(FinishedPack));
    fp->fd = -1;
    bool ok;
    if (packWriterSpooling(pw)) {
        uint64_t len = 0;
        ok = packWriterFinishSpool(pw, repoKeys(s->repo)->metaKey, &fp->id, &len, &fp->entries, &fp->count, &err);
        fp->len = (size_t)len;
        fp->fd = op->spoolFd;
        fp->path = op->spoolPath;
        op->spoolFd = -1;
        op->spoolPath = NULL;
        if (!ok) {
            storageSpoolAbort(fp->fd, fp->path);
            fp->fd = -1;
            fp->path = NULL;
        }
    } else {
        ok = packWriterFinish(pw, repoKeys(s->repo)->metaKey, &fp->data, &fp->len, &fp->entries, &fp->count, &err);
    }
    if (!ok) {
        pthread_mutex_lock(&s->mu);
        fail(s, &err);
        pthread_mutex_unlock(&s->mu);
        free(fp);
        return;
    }
    pthread_mutex_lock(&s->mu);
    while (s->upQueued >= UPLOAD_QUEUE_MAX && !s->failed)
        pthread_cond_wait(&s->uploadSpace, &s->mu);
    if (s->upTail)
        s->upTail->next = fp;
    else
        s->upHead = fp;
    s->upTail = fp;
    s->upQueued++;
    pthread_cond_signal(&s->uploadAvailable);
    pthread_mutex_unlock(&s->mu);
}

/* The worker's pack for a blob of type: it spools into a file of the
 * storage when it can (opened for a pack's first blob). NULL with err when
 * the file cannot be made. */
static OpenPack *packFor(BlobSaver *s, Worker *w, BlobType type, LbError *err) {
    OpenPack *op = &w->packs[type == BLOB_TREE];
    if (s->spool && !packWriterSpooling(op->writer)) {
        op->spoolFd = storageSpoolOpen(repoStorage(s->repo), &op->spoolPath, err);
        if (op->spoolFd < 0)
            return NULL;
        packWriterSpool(op->writer, op->spoolFd);
    }
    return op;
}

/* Store one new blob into the worker's pack. Returns false on error. */
static bool storeBlob(BlobSaver *s, Worker *w, const Job *job, const LbId *id, LbError *err) {
    const RepoKeys *keys = repoKeys(s->repo);
    const uint8_t *key = job->type == BLOB_DATA ? keys->dataKey : keys->metaKey;
    const uint8_t *plain = job->data;
    size_t plainLen = job->len;
    uint8_t flags = 0;
    lbBufClear(&w->scratch);
    if (compressMaybe(job->data, job->len, repoCompressionLevel(s->repo), &w->scratch)) {
        plain = w->scratch.data;
        plainLen = w->scratch.len;
        flags = PACK_FLAG_COMPRESSED;
    }
    size_t sealedLen = plainLen + CRYPTO_OVERHEAD;
    OpenPack *op = packFor(s, w, job->type, err);
    if (op == NULL)
        return false;
    PackWriter *pw = op->writer;
    uint8_t *dst = packWriterReserve(pw, sealedLen);
    if (!cryptoSealTo(key, plain, plainLen, dst, err))
        return false;
    packWriterCommit(pw, id, job->type, flags, (uint32_t)sealedLen, (uint32_t)job->len);
    pthread_mutex_lock(&s->mu);
    s->stats.blobsNew++;
    s->stats.treeBlobsNew += job->type == BLOB_TREE;
    s->stats.rawNew += job->len;
    s->stats.storedNew += sealedLen;
    pthread_mutex_unlock(&s->mu);
    if (packWriterSize(pw) >= PACK_TARGET_SIZE)
        queuePack(s, op);
    return true;
}

static void *workerMain(void *arg) {
    Worker *w = arg;
    BlobSaver *s = w->saver;
    lbLogSinkSet(s->log);
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->head == NULL && !s->stopWorkers)
            pthread_cond_wait(&s->jobAvailable, &s->mu);
        if (s->head == NULL) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        Job *job = s->head;
        s->head = job->next;
        if (s->head == NULL)
            s->tail = NULL;
        s->queuedBytes -= job->len;
        s->queuedJobs--;
        s->busy++;
        bool failed = s->failed;
        pthread_cond_signal(&s->jobSpace);
        pthread_mutex_unlock(&s->mu);

        LbId id;
        bool isNew = false;
        if (!failed && job->stored) {
            id = job->entry.id;
            pthread_mutex_lock(&s->mu);
            if (!indexHas(s->claimed, &id, job->type)) {
                PackEntry claim = {.id = id, .type = (uint8_t)job->type};
                indexAdd(s->claimed, 0, &claim);
                isNew = true;
            }
            pthread_mutex_unlock(&s->mu);
        } else if (!failed) {
            repoBlobId(s->repo, job->data, job->len, &id);
            if (job->idOut)
                *job->idOut = id;
            pthread_mutex_lock(&s->mu);
            if (!indexHas(repoIndex(s->repo), &id, job->type) && !indexHas(s->claimed, &id, job->type)) {
                PackEntry claim = {.id = id, .type = (uint8_t)job->type};
                indexAdd(s->claimed, 0, &claim);
                isNew = true;
            } else {
                s->stats.blobsKnown++;
            }
            pthread_mutex_unlock(&s->mu);
        }
        LbError err = {0};
        bool ok = true;
        OpenPack *op = isNew && job->stored ? packFor(s, w, job->type, &err) : NULL;
        if (isNew && job->stored && op == NULL) {
            ok = false;
        } else if (isNew && job->stored) {
            PackWriter *pw = op->writer;
            uint8_t *dst = packWriterReserve(pw, job->len);
            memcpy(dst, job->data, job->len);
            packWriterCommit(pw, &id, job->type, job->entry.flags, (uint32_t)job->len, job->entry.rawLength);
            pthread_mutex_lock(&s->mu);
            s->stats.blobsNew++;
            s->stats.treeBlobsNew += job->type == BLOB_TREE;
            s->stats.rawNew += job->entry.rawLength;
            s->stats.storedNew += job->len;
            pthread_mutex_unlock(&s->mu);
            if (packWriterSize(pw) >= PACK_TARGET_SIZE)
                queuePack(s, op);
        } else if (isNew) {
            ok = storeBlob(s, w, job, &id, &err);
        }
        free(job->data);
        if (job->pending)
            atomic_fetch_sub(job->pending, 1);
        pthread_mutex_lock(&s->mu);
        if (!ok)
            fail(s, &err);
        s->busy--;
        if (s->busy == 0 && s->head == NULL)
            pthread_cond_broadcast(&s->idle);
        pthread_mutex_unlock(&s->mu);
        free(job);
    }
    return NULL;
}

/* Write one index file naming newPacks[from, to) (every pack present, or
 * none is named: LB_ERR_NOT_COMMITTED), record it and free the entries.
 * Called without s->mu by one thread at a time (flushing, or the finish). */
static bool writeIndexFile(BlobSaver *s, size_t from, size_t to, LbError *err) {
    pthread_mutex_lock(&s->mu); /* newPacks may move while uploaders append */
    IndexPack *batch = lbXmalloc((to - from) * sizeof(IndexPack));
    memcpy(batch, s->newPacks + from, (to - from) * sizeof(IndexPack));
    pthread_mutex_unlock(&s->mu);
    LbId *packs = lbXmalloc((to - from) * sizeof(LbId));
    for (size_t k = 0; k < to - from; k++)
        packs[k] = batch[k].id;
    /* An index must never name a pack that is gone: if one of ours vanished
     * (a prune that ran although our lock should have stopped it), write no
     * index and fail; the orphaned packs are harmless. */
    bool ok = repoCommitCheckPacks(s->repo, packs, to - from, err);
    free(packs);
    LbId id;
    if (ok) {
        LbBuf plain = {0};
        indexEncode(batch, to - from, &plain);
        ok = repoSaveUnpacked(s->repo, "index", plain.data, plain.len, &id, err);
        lbBufFree(&plain);
    }
    free(batch);
    if (!ok)
        return false;
    pthread_mutex_lock(&s->mu);
    s->indexFiles = lbXrealloc(s->indexFiles, (s->indexFileCount + 1) * sizeof(LbId));
    s->indexFiles[s->indexFileCount++] = id;
    for (size_t k = from; k < to; k++) {
        free(s->newPacks[k].entries);
        s->newPacks[k].entries = NULL;
        s->newPacks[k].count = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return true;
}

/* Once INDEX_FILE_MAX_BLOBS blobs of uploaded packs are in no index file, write
 * one (the uploader that sees it, unless another is writing one): the run's
 * entries do not pile up in memory. Called with s->mu held. */
static void maybeFlushIndex(BlobSaver *s) {
    if (s->flushing || s->failed || s->flushBlobs < INDEX_FILE_MAX_BLOBS)
        return;
    size_t from = s->flushFrom, to = s->newPackCount;
    s->flushFrom = to;
    s->flushBlobs = 0;
    s->flushing = true;
    pthread_mutex_unlock(&s->mu);
    LbError err = {0};
    bool ok = writeIndexFile(s, from, to, &err);
    lbMemTrim(); /* the entries just freed, and the packs' buffers */
    pthread_mutex_lock(&s->mu);
    s->flushing = false;
    if (!ok)
        fail(s, &err);
}

static void *uploaderMain(void *arg) {
    BlobSaver *s = arg;
    lbLogSinkSet(s->log);
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->upHead == NULL && !s->stopUploader)
            pthread_cond_wait(&s->uploadAvailable, &s->mu);
        if (s->upHead == NULL) {
            pthread_mutex_unlock(&s->mu);
            break;
        }
        FinishedPack *fp = s->upHead;
        s->upHead = fp->next;
        if (s->upHead == NULL)
            s->upTail = NULL;
        bool failed = s->failed;
        pthread_mutex_unlock(&s->mu);

        LbError err = {0};
        bool ok = true;
        LbId packId;
        if (!failed && fp->data == NULL) {
            packId = fp->id;
            char name[80];
            repoPackName(&packId, name);
            ok = storageSpoolCommit(repoStorage(s->repo), fp->fd, fp->path, name, fp->len, &err);
            fp->fd = -1;
            fp->path = NULL;
        } else if (!failed) {
            cryptoSha256(fp->data, fp->len, &packId);
            char name[80];
            repoPackName(&packId, name);
            bool trees = fp->count > 0;
            for (size_t i = 0; i < fp->count && trees; i++)
                trees = fp->entries[i].type == BLOB_TREE;
            /* a pack of trees is the next backup's parent: kept in the local
             * cache of a remote repository (storage/wrap/cache.h) */
            ok = trees ? storageCachePutKeep(repoStorage(s->repo), name, fp->data, fp->len, &err)
                       : storagePut(repoStorage(s->repo), name, fp->data, fp->len, &err);
        }
        free(fp->data);
        storageSpoolAbort(fp->fd, fp->path); /* not committed (failed): -1 / NULL once it is */
        pthread_mutex_lock(&s->mu);
        if (!failed && ok) {
            if (s->newPackCount == s->newPackCap) {
                s->newPackCap = s->newPackCap ? s->newPackCap * 2 : 16;
                s->newPacks = lbXrealloc(s->newPacks, s->newPackCap * sizeof(IndexPack));
            }
            s->newPacks[s->newPackCount++] = (IndexPack){.id = packId, .entries = fp->entries, .count = fp->count};
            s->stats.packs++;
            s->flushBlobs += fp->count;
            maybeFlushIndex(s);
        } else {
            if (!ok)
                fail(s, &err);
            free(fp->entries);
        }
        s->upQueued--;
        pthread_cond_broadcast(&s->uploadSpace);
        pthread_mutex_unlock(&s->mu);
        free(fp);
    }
    return NULL;
}

/* Each worker fills a pack (up to PACK_BUFFER bytes), and so does each
 * upload in flight; the queue and the archiver's read buffer take the rest
 * of the fixed part. */
#define PACK_BUFFER ((uint64_t)PACK_TARGET_SIZE + PACK_TARGET_SIZE / 4)
#define PIPELINE_FIXED ((uint64_t)QUEUE_MAX_BYTES + 32u * 1024u * 1024u)

void saverPlan(uint64_t budget, int cpus, int *workers, int *uploaders) {
    uint64_t packs = budget > PIPELINE_FIXED ? (budget - PIPELINE_FIXED) / PACK_BUFFER : 0;
    if (packs < 2 + UPLOAD_QUEUE_MAX)
        packs = 2 + UPLOAD_QUEUE_MAX;
    uint64_t up = packs / 4 ? packs / 4 : 1;
    if ((uint64_t)*uploaders > up)
        *uploaders = (int)up;
    uint64_t w = packs - (uint64_t)*uploaders - UPLOAD_QUEUE_MAX;
    if (*workers <= 0)
        *workers = cpus < (int64_t)w ? cpus : (int)w;
    if (*workers < 1)
        *workers = 1;
}

BlobSaver *saverNew(Repo *repo, int workers) {
    BlobSaver *s = lbXcalloc(1, sizeof(BlobSaver));
    s->repo = repo;
    bool remote = strcmp(storageDriverName(repoStorage(repo)), "local") != 0;
    int uploaders = remote ? SAVER_MAX_UPLOADERS - 1 : 1;
    saverPlan(lbMemoryBudget(), lbCpuCount(), &workers, &uploaders);
    s->workerCount = workers;
    s->spool = storageCanSpool(repoStorage(repo)) && getenv("LIFEBOAT_NO_SPOOL") == NULL;
    s->claimed = indexNew();
    s->log = lbLogSinkGet();
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->jobAvailable, NULL);
    pthread_cond_init(&s->jobSpace, NULL);
    pthread_cond_init(&s->idle, NULL);
    pthread_cond_init(&s->uploadAvailable, NULL);
    pthread_cond_init(&s->uploadSpace, NULL);
    s->workers = lbXcalloc((size_t)workers, sizeof(Worker));
    for (int i = 0; i < workers; i++) {
        s->workers[i].saver = s;
        for (int k = 0; k < 2; k++)
            s->workers[i].packs[k] = (OpenPack){.writer = packWriterNew(), .spoolFd = -1};
        if (pthread_create(&s->workers[i].thread, NULL, workerMain, &s->workers[i]) != 0) {
            fprintf(stderr, "lifeboat: fatal: unable to start worker thread\n");
            abort();
        }
    }
    s->uploaderCount = uploaders;
    for (int i = 0; i < s->uploaderCount; i++) {
        if (pthread_create(&s->uploaders[i], NULL, uploaderMain, s) != 0) {
            fprintf(stderr, "lifeboat: fatal: unable to start uploader thread\n");
            abort();
        }
    }
    return s;
}

static void enqueue(BlobSaver *s, Job *job) {
    pthread_mutex_lock(&s->mu);
    while ((s->queuedBytes + job->len > QUEUE_MAX_BYTES || s->queuedJobs >= QUEUE_MAX_JOBS) && s->queuedJobs > 0)
        pthread_cond_wait(&s->jobSpace, &s->mu);
    if (s->tail)
        s->tail->next = job;
    else
        s->head = job;
    s->tail = job;
    s->queuedBytes += job->len;
    s->queuedJobs++;
    pthread_cond_signal(&s->jobAvailable);
    pthread_mutex_unlock(&s->mu);
}

void saverSubmitTake(BlobSaver *s, BlobType type, uint8_t *data, size_t len, LbId *idOut, atomic_long *pending) {
    Job *job = lbXcalloc(1, sizeof(Job));
    job->type = type;
    job->data = data;
    job->len = len;
    job->idOut = idOut;
    job->pending = pending;
    enqueue(s, job);
}

void saverSubmitStoredTake(BlobSaver *s, const PackEntry *entry, uint8_t *stored) {
    Job *job = lbXcalloc(1, sizeof(Job));
    job->type = (BlobType)entry->type;
    job->data = stored;
    job->len = entry->length;
    job->stored = true;
    job->entry = *entry;
    enqueue(s, job);
}

void saverWait(BlobSaver *s) {
    pthread_mutex_lock(&s->mu);
    while (s->head != NULL || s->busy > 0)
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

bool saverFailed(BlobSaver *s) {
    pthread_mutex_lock(&s->mu);
    bool f = s->failed;
    pthread_mutex_unlock(&s->mu);
    return f;
}

static void stopThreads(BlobSaver *s) {
    if (s->workers == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopWorkers = true;
    pthread_cond_broadcast(&s->jobAvailable);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->workerCount; i++)
        pthread_join(s->workers[i].thread, NULL);
    for (int i = 0; i < s->workerCount; i++) {
        Worker *w = &s->workers[i];
        for (int k = 0; k < 2; k++)
            if (packWriterCount(w->packs[k].writer) > 0 && !saverFailed(s))
                queuePack(s, &w->packs[k]);
    }
    pthread_mutex_lock(&s->mu);
    s->stopUploader = true;
    pthread_cond_broadcast(&s->uploadAvailable);
    pthread_cond_broadcast(&s->uploadSpace);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->uploaderCount; i++)
        pthread_join(s->uploaders[i], NULL);
    for (int i = 0; i < s->workerCount; i++) {
        for (int k = 0; k < 2; k++) {
            OpenPack *op = &s->workers[i].packs[k];
            storageSpoolAbort(op->spoolFd, op->spoolPath); /* a failed run's */
            packWriterFree(op->writer);
        }
        lbBufFree(&s->workers[i].scratch);
    }
    free(s->workers);
    s->workers = NULL;
}

bool saverFinish(BlobSaver *s, LbError *err) {
    stopThreads(s);
    if (s->failed) {
        *err = s->firstError;
        return false;
    }
    /* the rest of the run's packs: index files of at most INDEX_FILE_MAX_BLOBS
     * blobs each (the encoded file is a copy of its entries) */
    for (size_t first = s->flushFrom, end; first < s->newPackCount; first = end) {
        size_t blobs = s->newPacks[first].count;
        for (end = first + 1; end < s->newPackCount && blobs + s->newPacks[end].count <= INDEX_FILE_MAX_BLOBS; end++)
            blobs += s->newPacks[end].count;
        if (!writeIndexFile(s, first, end, err))
            return false;
        s->flushFrom = end;
    }
    /* only now, with every thread stopped and the index files written, does
     * the in-memory index change: during the backup other threads read it
     * without the saver's lock, and it must not name unrecorded blobs. The
     * run's claims go first; the entries come back from the files written. */
    indexFree(s->claimed);
    s->claimed = NULL;
    lbMemTrim();
    for (size_t i = 0; i < s->indexFileCount; i++)
        if (!repoIndexAddFile(s->repo, &s->indexFiles[i], err))
            return false;
    lbMemTrim();
    return true;
}

LbId *saverNewPackIds(BlobSaver *s, size_t *count) {
    *count = s->newPackCount;
    if (s->newPackCount == 0)
        return NULL;
    LbId *ids = lbXmalloc(s->newPackCount * sizeof(LbId));
    for (size_t i = 0; i < s->newPackCount; i++)
        ids[i] = s->newPacks[i].id;
    return ids;
}

void saverGetStats(BlobSaver *s, SaverStats *out) {
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

void saverFree(BlobSaver *s) {
    if (s == NULL)
        return;
    stopThreads(s);
    for (Job *j = s->head; j;) {
        Job *next = j->next;
        free(j->data);
        free(j);
        j = next;
    }
    for (FinishedPack *fp = s->upHead; fp;) {
        FinishedPack *next = fp->next;
        storageSpoolAbort(fp->fd, fp->path);
        free(fp->data);
        free(fp->entries);
        free(fp);
        fp = next;
    }
    for (size_t i = 0; i < s->newPackCount; i++)
        free(s->newPacks[i].entries);
    free(s->newPacks);
    free(s->indexFiles);
    indexFree(s->claimed);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->jobAvailable);
    pthread_cond_destroy(&s->jobSpace);
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->uploadAvailable);
    pthread_cond_destroy(&s->uploadSpace);
    free(s);
}
