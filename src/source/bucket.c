/*
 * bucket.c - an S3 bucket as a backup source (see bucket.h).
 *
 * The listing arrives in key order, so all keys below one "directory"
 * ("a/...") arrive together: the walk keeps the chain of directories of the
 * current key entered in the archiver's sink (source/source.h), which owns
 * the tree being built and the parent snapshot's trees.
 *
 * Threads: the walking thread (the listing callback) creates every entry in
 * listing order and does all the chunking; BUCKET_FETCH_THREADS fetchers
 * only GET the first range of the objects queued in the window (see
 * "Reading objects"). The S3 client is shared: its calls are thread-safe.
 */
#include "source/bucket.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/id.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "storage/s3/s3.h"
#include "storage/wrap/retry.h"

struct BucketSource {
    S3Client *client;
    StorageRetryOptions retry;
    char *path;              /* "s3://BUCKET[/PREFIX]" */
    uint64_t objects, bytes; /* of the last run */
};

typedef struct Fetch Fetch;

/* Objects fetched at once, at most BUCKET_FETCH_WINDOW of them ahead of the
 * chunking and about BUCKET_FETCH_BYTES of first ranges in memory. */
#define BUCKET_FETCH_THREADS 8
#define BUCKET_FETCH_WINDOW 64
#define BUCKET_FETCH_BYTES (64u << 20)

typedef struct BucketRun {
    BucketSource *src;
    SourceSink *sink;
    const LbLogSink *log; /* the walking thread's, set in every fetcher */
    char **open;          /* the escaped names of the directories entered, outermost first */
    size_t depth, openCap;
    char *lastName; /* the last name listed: order check and where a retried listing resumes */
    bool failed;    /* a fatal error inside the listing callback, in err */
    LbError err;
    LbBuf range; /* the current GET range (after an object's first) */

    /* objects being fetched, oldest first: window[head..tail) (counters
     * only grow; index modulo BUCKET_FETCH_WINDOW). head, tail's writes and
     * queuedBytes belong to the walking thread; fetchNext, done flags and
     * stopFetchers are under fetchLock. */
    Fetch *window[BUCKET_FETCH_WINDOW];
    size_t head, tail, fetchNext;
    uint64_t queuedBytes;
    pthread_mutex_t fetchLock;
    pthread_cond_t workCond, doneCond;
    bool stopFetchers;
    pthread_t fetchers[BUCKET_FETCH_THREADS];
    int fetcherCount;
} BucketRun;

/***********************************************************************************************************************
 * Names and xattrs
 **********************************************************************************************************************/

bool bucketSourceIsLocation(const char *arg) {
    return arg != NULL && strncmp(arg, "s3:", 3) == 0;
}

char *bucketNameEscape(const char *seg, size_t len) {
    if (len == 0)
        return lbXstrdup("%");
    if (len == 1 && seg[0] == '.')
        return lbXstrdup("%2E");
    if (len == 2 && seg[0] == '.' && seg[1] == '.')
        return lbXstrdup("%2E%2E");
    LbBuf out = {0};
    for (size_t i = 0; i < len; i++) {
        if (seg[i] == '%')
            lbBufAppendStr(&out, "%25");
        else
            lbBufAppend(&out, &seg[i], 1);
    }
    lbBufAppend(&out, "", 1);
    size_t n;
    return (char *)lbBufTake(&out, &n);
}

void bucketNameUnescape(const char *name, LbBuf *out) {
    size_t len = strlen(name);
    if (len > 1 && name[len - 1] == '%')
        len--; /* the mark of a file that shares a directory's name */
    if (len == 1 && name[0] == '%')
        return;                            /* the empty segment */
    lbPercentDecodeAppend(out, name, len); /* what is not an escape is kept as it is */
}

char *bucketHeaderToXattr(const char *header) {
    if (strncmp(header, "x-amz-meta-", 11) == 0)
        return lbXasprintf("s3.meta.%s", header + 11);
    return lbXasprintf("s3.%s", header);
}

char *bucketXattrToHeader(const char *xattr) {
    if (strncmp(xattr, "s3.meta.", 8) == 0 && xattr[8] != '\0')
        return lbXasprintf("x-amz-meta-%s", xattr + 8);
    if (strncmp(xattr, "s3.", 3) == 0 && strncmp(xattr + 3, "x-amz-", 6) != 0 && s3IsObjectHeader(xattr + 3))
        return lbXstrdup(xattr + 3);
    return NULL;
}

bool bucketRetryAgain(const StorageRetryOptions *retry, int *attempt, const LbError *err) {
    StorageRetryOptions ro = retryOptionsResolve(retry);
    if (!retryIsTransient(err) || *attempt + 1 >= ro.maxAttempts)
        return false;
    (*attempt)++;
    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        rnd = (uint64_t)lbNowNs();
    unsigned ms = retryDelayMs(&ro, *attempt, rnd);
    lbLogWarn("%s (retrying in %u ms, attempt %d of %d)", err->msg, ms, *attempt + 1, ro.maxAttempts);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return true;
}

/***********************************************************************************************************************
 * Source
 **********************************************************************************************************************/

BucketSource *bucketSourceNew(const char *location, const StorageOptions *opts, LbError *err) {
    S3Client *client = s3ClientNew(location, opts != NULL ? &opts->s3 : NULL, err);
    if (client == NULL)
        return NULL;
    BucketSource *src = lbXcalloc(1, sizeof(*src));
    src->client = client;
    src->retry = retryOptionsResolve(opts != NULL ? &opts->retry : NULL);
    const char *prefix = s3ClientPrefix(client);
    src->path = prefix[0] ? lbXasprintf("s3://%s/%s", s3ClientBucket(client), prefix)
                          : lbXasprintf("s3://%s", s3ClientBucket(client));
    return src;
}

void bucketSourceFree(BucketSource *src) {
    if (src == NULL)
        return;
    s3ClientFree(src->client);
    free(src->path);
    free(src);
}

const char *bucketSourcePath(const BucketSource *src) {
    return src->path;
}

json_t *bucketSourceMeta(const BucketSource *src) {
    json_t *m = json_object();
    json_object_set_new(m, "type", json_string(BUCKET_META_TYPE));
    json_object_set_new(m, "endpoint", json_string(s3ClientEndpoint(src->client)));
    json_object_set_new(m, "bucket", json_string(s3ClientBucket(src->client)));
    json_object_set_new(m, "prefix", json_string(s3ClientPrefix(src->client)));
    json_object_set_new(m, "objects", json_integer((json_int_t)src->objects));
    json_object_set_new(m, "bytes", json_integer((json_int_t)src->bytes));
    json_object_set_new(m, "key_escaping", json_string("percent-1"));
    return m;
}

/***********************************************************************************************************************
 * Metadata
 **********************************************************************************************************************/

/* Leave the directories entered down to depth. */
static void leaveTo(BucketRun *r, size_t depth) {
    while (r->depth > depth) {
        free(r->open[--r->depth]);
        sourceSinkLeave(r->sink);
    }
}

/* Enter directory name (escaped; taken) below the deepest one entered. */
static void enter(BucketRun *r, char *name) {
    if (r->depth == r->openCap) {
        r->openCap = r->openCap ? r->openCap * 2 : 16;
        r->open = lbXrealloc(r->open, r->openCap * sizeof(char *));
    }
    r->open[r->depth++] = name;
    Node n = {0};
    n.name = lbXstrdup(name);
    n.mode = 0755;
    n.links = 1;
    sourceSinkEnter(r->sink, &n); /* its times: the newest below it */
}

static const Xattr *findXattr(const Node *n, const char *name) {
    for (size_t i = 0; i < n->xattrCount; i++)
        if (strcmp(n->xattrs[i].name, name) == 0)
            return &n->xattrs[i];
    return NULL;
}

static void addXattr(Node *n, char *nameTaken, const char *value) {
    size_t len = strlen(value);
    n->xattrs = lbXrealloc(n->xattrs, (n->xattrCount + 1) * sizeof(Xattr));
    uint8_t *v = lbXmalloc(len ? len : 1);
    memcpy(v, value, len);
    n->xattrs[n->xattrCount++] = (Xattr){nameTaken, v, len};
}

static int cmpXattr(const void *x, const void *y) {
    return strcmp(((const Xattr *)x)->name, ((const Xattr *)y)->name);
}

/* The object's ETag and metadata headers as xattrs, in canonical order. A
 * header sent twice keeps its first value. */
static void setXattrs(Node *n, const S3ObjectInfo *info) {
    addXattr(n, lbXstrdup(BUCKET_XATTR_ETAG), info->etag);
    for (size_t i = 0; i < info->headerCount; i++) {
        char *name = bucketHeaderToXattr(info->headers[i].name);
        if (findXattr(n, name) != NULL)
            free(name);
        else
            addXattr(n, name, info->headers[i].value);
    }
    qsort(n->xattrs, n->xattrCount, sizeof(Xattr), cmpXattr);
}

/***********************************************************************************************************************
 * Reading objects: fetchers GET the first range of the next objects in
 * listing order while the walking thread chunks them, one at a time, in
 * that order (ranges after the first are fetched by the walking thread)
 **********************************************************************************************************************/

/* One object to read. The walking thread owns it, except for the fields a
 * fetcher fills before it sets done (under fetchLock). */
struct Fetch {
    SourceRef ref; /* the entry being filled */
    char *name;
    uint64_t listedSize;
    bool changed; /* the parent snapshot has a file of that name */
    /* filled by a fetcher */
    bool done, ok, vanished;
    LbBuf first; /* the first range */
    S3ObjectInfo info;
    char why[LB_ERROR_MSG_MAX];
};

static void fetchFree(Fetch *f) {
    if (f == NULL)
        return;
    free(f->name);
    lbBufFree(&f->first);
    s3ObjectInfoClear(&f->info);
    free(f);
}

/* GET the first range of f (with the metadata headers), retrying
 * transient failures. Runs on a fetcher. */
static void fetchFirst(const BucketSource *src, Fetch *f) {
    S3Client *client = src->client;
    LbError err = {0};
    int attempt = 0;
    /* an empty object has no range to ask for: one plain GET */
    uint64_t want = f->listedSize < BUCKET_RANGE_SIZE ? f->listedSize : BUCKET_RANGE_SIZE;
    do {
        lbBufClear(&f->first);
        f->ok = s3ClientGetObject(client, f->name, 0, want, &f->first, &f->info, &err);
    } while (!f->ok && bucketRetryAgain(&src->retry, &attempt, &err));
    if (!f->ok && want > 0 && err.code == LB_ERR_CORRUPT) {
        /* shorter than listed (rewritten meanwhile): take it whole, the ETag tells */
        attempt = 0;
        do {
            lbBufClear(&f->first);
            f->ok = s3ClientGetObject(client, f->name, 0, 0, &f->first, &f->info, &err);
        } while (!f->ok && bucketRetryAgain(&src->retry, &attempt, &err));
    }
    if (!f->ok) {
        f->vanished = err.code == LB_ERR_NOT_FOUND;
        snprintf(f->why, sizeof(f->why), "%s", err.msg);
        lbBufFree(&f->first);
    }
}

static void *fetcherMain(void *arg) {
    BucketRun *r = arg;
    lbLogSinkSet(r->log);
    pthread_mutex_lock(&r->fetchLock);
    for (;;) {
        while (r->fetchNext == r->tail && !r->stopFetchers)
            pthread_cond_wait(&r->workCond, &r->fetchLock);
        if (r->stopFetchers)
            break;
        Fetch *f = r->window[r->fetchNext++ % BUCKET_FETCH_WINDOW];
        pthread_mutex_unlock(&r->fetchLock);
        fetchFirst(r->src, f);
        pthread_mutex_lock(&r->fetchLock);
        f->done = true;
        pthread_cond_broadcast(&r->doneCond);
    }
    pthread_mutex_unlock(&r->fetchLock);
    return NULL;
}

/* Reads one object for the chunker: the fetched first range, then the
 * following ranges, each checked to come from the same object version. */
typedef struct ObjectReader {
    BucketRun *run;
    Fetch *fetch;
    uint64_t total;   /* the object's size, from the first answer */
    uint64_t offset;  /* next byte to fetch */
    const LbBuf *cur; /* the range being handed out */
    size_t pos;
    char why[LB_ERROR_MSG_MAX];
} ObjectReader;

static bool fetchNextRange(ObjectReader *o) {
    BucketRun *r = o->run;
    Fetch *f = o->fetch;
    uint64_t want = o->total - o->offset < BUCKET_RANGE_SIZE ? o->total - o->offset : BUCKET_RANGE_SIZE;
    S3ObjectInfo later = {0};
    LbError err = {0};
    int attempt = 0;
    bool ok;
    do {
        lbBufClear(&r->range);
        ok = s3ClientGetObject(r->src->client, f->name, o->offset, want, &r->range, &later, &err);
    } while (!ok && bucketRetryAgain(&r->src->retry, &attempt, &err));
    bool same = ok && strcmp(later.etag, f->info.etag) == 0 && later.size == o->total;
    s3ObjectInfoClear(&later);
    if (!ok)
        snprintf(o->why, sizeof(o->why), "%s", err.msg);
    else if (!same)
        snprintf(o->why, sizeof(o->why), "the object changed while it was read; the next backup reads it again");
    if (!same)
        return false;
    o->cur = &r->range;
    o->pos = 0;
    o->offset += r->range.len;
    return true;
}

static ssize_t objectRead(void *ctx, uint8_t *buf, size_t cap, const char **why) {
    ObjectReader *o = ctx;
    if (o->pos == o->cur->len) {
        if (o->offset >= o->total)
            return 0;
        if (!fetchNextRange(o)) {
            *why = o->why;
            return -1;
        }
        if (o->cur->len == 0 || o->offset > o->total) {
            *why = "the object's size changed while it was read";
            return -1;
        }
    }
    size_t n = o->cur->len - o->pos;
    if (n > cap)
        n = cap;
    memcpy(buf, o->cur->data + o->pos, n);
    o->pos += n;
    return (ssize_t)n;
}

/* Chunk a fetched object into its entry (walking thread). A failure drops
 * the entry: it is left out of the tree. */
static void storeFetched(BucketRun *r, Fetch *f) {
    bool ok = f->ok;
    const char *why = f->why;
    uint64_t got = 0;
    if (ok) {
        ObjectReader o = {.run = r, .fetch = f, .total = f->info.size, .offset = f->first.len, .cur = &f->first};
        if (f->first.len > o.total) {
            ok = false;
            why = "the object's size changed while it was read";
        } else {
            ok = sourceSinkRead(r->sink, f->ref, objectRead, &o, f->changed ? SOURCE_FILE_CHANGED : SOURCE_FILE_NEW,
                                &got, &why);
        }
    }
    if (!ok) {
        if (f->vanished)
            lbLogInfo("object '%s' was deleted since it was listed: left out", f->name);
        sourceSinkDrop(r->sink, f->ref, f->name, f->vanished ? NULL : why ? why : "read error");
        return;
    }
    setXattrs(sourceSinkNode(r->sink, f->ref), &f->info);
    r->src->objects++;
    r->src->bytes += got;
    sourceSinkProgress(r->sink, f->name);
}

/* Wait for the oldest fetch and store it. */
static void consumeHead(BucketRun *r) {
    Fetch *f = r->window[r->head % BUCKET_FETCH_WINDOW];
    pthread_mutex_lock(&r->fetchLock);
    while (!f->done)
        pthread_cond_wait(&r->doneCond, &r->fetchLock);
    pthread_mutex_unlock(&r->fetchLock);
    storeFetched(r, f);
    r->queuedBytes -= f->listedSize < BUCKET_RANGE_SIZE ? f->listedSize : BUCKET_RANGE_SIZE;
    r->window[r->head % BUCKET_FETCH_WINDOW] = NULL;
    r->head++;
    fetchFree(f);
}

static bool headDone(BucketRun *r) {
    if (r->head == r->tail)
        return false;
    pthread_mutex_lock(&r->fetchLock);
    bool done = r->window[r->head % BUCKET_FETCH_WINDOW]->done;
    pthread_mutex_unlock(&r->fetchLock);
    return done;
}

/* Queue f for the fetchers (taking it), keeping at most
 * BUCKET_FETCH_WINDOW objects and about BUCKET_FETCH_BYTES in flight. */
static void enqueueFetch(BucketRun *r, Fetch *f) {
    uint64_t need = f->listedSize < BUCKET_RANGE_SIZE ? f->listedSize : BUCKET_RANGE_SIZE;
    while (r->tail - r->head == BUCKET_FETCH_WINDOW ||
           (r->tail > r->head && r->queuedBytes + need > BUCKET_FETCH_BYTES))
        consumeHead(r);
    pthread_mutex_lock(&r->fetchLock);
    r->window[r->tail % BUCKET_FETCH_WINDOW] = f;
    r->tail++;
    pthread_cond_signal(&r->workCond);
    pthread_mutex_unlock(&r->fetchLock);
    r->queuedBytes += need;
    while (headDone(r))
        consumeHead(r);
}

static void drainFetches(BucketRun *r) {
    while (r->head < r->tail)
        consumeHead(r);
}

/***********************************************************************************************************************
 * One listed object
 **********************************************************************************************************************/

/* The parent snapshot's file node for escaped name in the current directory, or NULL. */
static const Node *parentFile(SourceSink *sink, const char *name) {
    const Node *pn = sourceSinkParent(sink, name);
    if (pn != NULL && pn->type == NODE_FILE)
        return pn;
    char *marked = lbXasprintf("%s%%", name); /* stored as "name%" next to a directory "name" */
    pn = sourceSinkParent(sink, marked);
    free(marked);
    return pn != NULL && pn->type == NODE_FILE ? pn : NULL;
}

/* Same size, ETag and Last-Modified as the parent's node. Last-Modified
 * catches a metadata-only change (a copy onto itself with new metadata
 * keeps the ETag). */
static bool unchangedSince(const Node *pn, const S3ListedObject *obj) {
    if (pn == NULL || pn->size != obj->size || pn->mtimeNs != obj->lastModifiedNs || obj->etag[0] == '\0')
        return false;
    const Xattr *x = findXattr(pn, BUCKET_XATTR_ETAG);
    return x != NULL && x->len == strlen(obj->etag) && memcmp(x->value, obj->etag, x->len) == 0;
}

/* Make the directories of name (all but its last segment) the ones
 * entered; returns the start of the last segment. */
static const char *openDirsOf(BucketRun *r, const char *name) {
    size_t level = 0; /* open[level] is the directory of the next segment */
    const char *seg = name;
    const char *slash;
    while ((slash = strchr(seg, '/')) != NULL) {
        char *esc = bucketNameEscape(seg, (size_t)(slash - seg));
        if (level < r->depth && strcmp(r->open[level], esc) == 0) {
            free(esc);
        } else {
            leaveTo(r, level);
            enter(r, esc);
        }
        level++;
        seg = slash + 1;
    }
    leaveTo(r, level);
    return seg;
}

static bool onObject(void *ctx, const S3ListedObject *obj) {
    BucketRun *r = ctx;
    if (r->lastName != NULL && strcmp(obj->name, r->lastName) <= 0) {
        r->failed = true;
        lbErr(&r->err, LB_ERR_IO, "unable to back up s3 bucket '%s': the listing is not in key order ('%s' after '%s')",
              s3ClientBucket(r->src->client), obj->name, r->lastName);
        return false;
    }
    free(r->lastName);
    r->lastName = lbXstrdup(obj->name);
    if (sourceSinkFailed(r->sink)) {
        r->failed = true; /* the archiver reports the saver's error */
        lbErr(&r->err, LB_ERR_IO, "unable to store s3 bucket '%s'", s3ClientBucket(r->src->client));
        return false;
    }

    const char *last = openDirsOf(r, obj->name);
    char *esc = bucketNameEscape(last, strlen(last));
    const Node *pn = parentFile(r->sink, esc);
    Node n = {0};
    n.name = esc;
    n.type = NODE_FILE;
    n.mode = 0644;
    n.links = 1;
    n.mtimeNs = n.ctimeNs = obj->lastModifiedNs;

    if (!sourceSinkForce(r->sink) && unchangedSince(pn, obj)) {
        n.size = obj->size;
        nodeCopyXattrs(&n, pn);
        SourceRef ref = sourceSinkAdd(r->sink, &n);
        sourceSinkUnchanged(r->sink, ref, pn);
        r->src->objects++;
        r->src->bytes += obj->size;
        sourceSinkProgress(r->sink, obj->name);
        return true;
    }
    Fetch *f = lbXcalloc(1, sizeof(Fetch));
    f->ref = sourceSinkAdd(r->sink, &n);
    f->name = lbXstrdup(obj->name);
    f->listedSize = obj->size;
    f->changed = pn != NULL;
    enqueueFetch(r, f);
    return true;
}

/***********************************************************************************************************************
 * Run
 **********************************************************************************************************************/

static bool bucketWalk(void *driver, SourceSink *sink, LbError *err) {
    BucketSource *src = driver;
    src->objects = src->bytes = 0;
    BucketRun r = {.src = src, .sink = sink, .log = lbLogSinkGet()};
    pthread_mutex_init(&r.fetchLock, NULL);
    pthread_cond_init(&r.workCond, NULL);
    pthread_cond_init(&r.doneCond, NULL);
    for (int i = 0; i < BUCKET_FETCH_THREADS; i++)
        if (pthread_create(&r.fetchers[r.fetcherCount], NULL, fetcherMain, &r) == 0)
            r.fetcherCount++;
    bool ok = false;
    if (r.fetcherCount == 0) {
        lbErr(err, LB_ERR_MEMORY, "unable to start threads to read s3 bucket '%s'", s3ClientBucket(src->client));
        goto cleanup;
    }

    int attempt = 0;
    for (;;) {
        LbError listErr = {0};
        char *resumeAfter = r.lastName ? lbXstrdup(r.lastName) : NULL;
        bool listed = s3ClientListObjects(src->client, resumeAfter, onObject, &r, &listErr);
        bool progressed = (resumeAfter == NULL) != (r.lastName == NULL) ||
                          (resumeAfter != NULL && strcmp(resumeAfter, r.lastName) != 0);
        free(resumeAfter);
        if (r.failed) {
            *err = r.err;
            goto cleanup;
        }
        if (listed)
            break;
        if (progressed)
            attempt = 0; /* a listing that moves on may retry again */
        if (!bucketRetryAgain(&src->retry, &attempt, &listErr)) {
            *err = listErr;
            goto cleanup;
        }
    }
    drainFetches(&r);
    if (r.lastName == NULL)
        lbLogWarn("%s holds no object: the snapshot is empty", src->path);
    sourceSinkAddPath(sink, src->path);
    ok = true;

cleanup:
    pthread_mutex_lock(&r.fetchLock);
    r.stopFetchers = true;
    pthread_cond_broadcast(&r.workCond);
    pthread_mutex_unlock(&r.fetchLock);
    for (int i = 0; i < r.fetcherCount; i++)
        pthread_join(r.fetchers[i], NULL);
    for (size_t i = r.head; i < r.tail; i++)
        fetchFree(r.window[i % BUCKET_FETCH_WINDOW]);
    pthread_mutex_destroy(&r.fetchLock);
    pthread_cond_destroy(&r.workCond);
    pthread_cond_destroy(&r.doneCond);
    leaveTo(&r, 0);
    free(r.open);
    free(r.lastName);
    lbBufFree(&r.range);
    return ok;
}

static const SourceInterface bucketSourceInterface = {
    .name = "bucket",
    .features = SOURCE_FEATURE_TOTALS_SO_FAR | SOURCE_FEATURE_DIR_TIME_NEWEST | SOURCE_FEATURE_MARK_FILE_DIR,
    .walk = bucketWalk,
};

Source bucketSourceSource(BucketSource *src) {
    return (Source){&bucketSourceInterface, src};
}
