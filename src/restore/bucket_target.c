/*
 * bucket_target.c - restore into an S3 bucket (see bucket_target.h).
 *
 * Plan, then act: the snapshot's files are collected (trees loaded and
 * validated) and sorted by key, the target prefix is listed, and each file
 * is matched against the listing. Workers then check the candidates that
 * look unchanged (HEAD) and upload the rest; deletes come last.
 */
#include "restore/bucket_target.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "restore/packread.h"
#include "restore/target.h"
#include "source/bucket.h"
#include "storage/s3/s3.h"

/* One file of the snapshot. */
typedef struct TItem {
    char *key;      /* below the target prefix */
    Node node;      /* owned copy */
    bool candidate; /* the listing shows the same size and ETag: HEAD decides */
    bool upload;    /* decided by a worker */
    char *failure;  /* set by a worker */
} TItem;

/* One object of the target listing. */
typedef struct TObject {
    char *name;
    char *etag;
    uint64_t size;
    bool inSnapshot;
} TObject;

typedef struct TargetRun {
    Repo *repo;
    S3Client *client;
    const BucketTargetOptions *opts;
    BucketTargetResult *result;
    bool escaped; /* names are escaped keys (a bucket snapshot) */
    TItem *items;
    size_t count, cap;
    uint64_t skipped;
    TObject *objects;
    size_t objectCount, objectCap;
    char *lastListed;
    LbBuf key;         /* planning: the current directory's key prefix */
    size_t *keyStarts; /* ... and the prefix lengths of the directories entered */
    size_t depth, stackCap;
    atomic_size_t next;
    atomic_size_t active;
    atomic_uint_fast64_t bytesDone;
    atomic_uint_fast64_t uploaded, unchanged;
    uint64_t bytesTotal;
} TargetRun;

/* The retry policy for S3 calls (NULL: the defaults). */
static const StorageRetryOptions *targetRetry(const TargetRun *r) {
    return r->opts->storage != NULL ? &r->opts->storage->retry : NULL;
}

/* Append the key segment of tree name to key. */
static void appendSegment(const TargetRun *r, LbBuf *key, const char *name) {
    if (r->escaped)
        bucketNameUnescape(name, key);
    else
        lbBufAppendStr(key, name);
}

static void addItem(TargetRun *r, const LbBuf *key, const Node *n) {
    if (r->count == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->items = lbXrealloc(r->items, r->cap * sizeof(TItem));
    }
    TItem *it = &r->items[r->count++];
    memset(it, 0, sizeof(*it));
    it->key = lbXmalloc(key->len + 1);
    memcpy(it->key, key->data, key->len);
    it->key[key->len] = '\0';
    nodeCopy(&it->node, n);
    r->bytesTotal += n->size;
}

/* The bucket target's side of the tree reader (restore/target.h): key
 * holds the key prefix of the current directory; keyStarts the prefix
 * lengths of the directories entered. */
static bool bucketEnter(void *driver, TargetEntry *dir, LbError *err) {
    TargetRun *r = driver;
    (void)err;
    if (r->depth == r->stackCap) {
        r->stackCap = r->stackCap ? r->stackCap * 2 : 32;
        r->keyStarts = lbXrealloc(r->keyStarts, r->stackCap * sizeof(size_t));
    }
    r->keyStarts[r->depth++] = r->key.len;
    appendSegment(r, &r->key, dir->node->name);
    lbBufAppend(&r->key, "/", 1);
    return true;
}

static bool bucketAdd(void *driver, TargetEntry *e, LbError *err) {
    TargetRun *r = driver;
    const Node *n = e->node;
    if (e->single && n->type != NODE_FILE)
        return lbErr(err, LB_ERR_ARGS, "'%s' is a %s: only files become objects", r->opts->subpath,
                     nodeTypeName(n->type));
    size_t base = r->key.len;
    appendSegment(r, &r->key, n->name);
    if (n->type == NODE_FILE) {
        addItem(r, &r->key, n);
    } else {
        r->skipped++;
        lbLogWarn("skipping '%.*s': a %s cannot be an object", (int)r->key.len, (const char *)r->key.data,
                  nodeTypeName(n->type));
    }
    r->key.len = base;
    return true;
}

static void bucketLeave(void *driver) {
    TargetRun *r = driver;
    r->key.len = r->keyStarts[--r->depth];
}

static bool bucketFinish(void *driver, LbError *err);

static const TargetInterface bucketTargetInterface = {
    .name = "bucket",
    .features = TARGET_FEATURE_SYNC_DELETE, /* in order: each object's body is read start to end */
    .enter = bucketEnter,
    .add = bucketAdd,
    .leave = bucketLeave,
    .finish = bucketFinish,
};

static int cmpItem(const void *x, const void *y) {
    return strcmp(((const TItem *)x)->key, ((const TItem *)y)->key);
}

static int cmpObject(const void *x, const void *y) {
    return strcmp(((const TObject *)x)->name, ((const TObject *)y)->name);
}

static bool onListed(void *ctx, const S3ListedObject *obj) {
    TargetRun *r = ctx;
    if (r->objectCount == r->objectCap) {
        r->objectCap = r->objectCap ? r->objectCap * 2 : 256;
        r->objects = lbXrealloc(r->objects, r->objectCap * sizeof(TObject));
    }
    r->objects[r->objectCount++] = (TObject){lbXstrdup(obj->name), lbXstrdup(obj->etag), obj->size, false};
    free(r->lastListed);
    r->lastListed = lbXstrdup(obj->name);
    return true;
}

static const Xattr *findXattr(const Node *n, const char *name) {
    for (size_t i = 0; i < n->xattrCount; i++)
        if (strcmp(n->xattrs[i].name, name) == 0)
            return &n->xattrs[i];
    return NULL;
}

static bool xattrEquals(const Node *n, const char *name, const char *value) {
    const Xattr *x = findXattr(n, name);
    return x != NULL && x->len == strlen(value) && memcmp(x->value, value, x->len) == 0;
}

/* The metadata headers of a node, from its s3.* xattrs (values that cannot
 * be a header value are left out, with a warning). */
static void nodeHeaders(const TItem *it, S3Header **out, size_t *count) {
    *out = NULL;
    *count = 0;
    for (size_t i = 0; i < it->node.xattrCount; i++) {
        const Xattr *x = &it->node.xattrs[i];
        char *header = bucketXattrToHeader(x->name);
        if (header == NULL)
            continue;
        if (memchr(x->value, '\0', x->len) != NULL) {
            lbLogWarn("object '%s': metadata '%s' holds a NUL byte: left out", it->key, x->name);
            free(header);
            continue;
        }
        char *value = lbXmalloc(x->len + 1);
        memcpy(value, x->value, x->len);
        value[x->len] = '\0';
        *out = lbXrealloc(*out, (*count + 1) * sizeof(S3Header));
        (*out)[(*count)++] = (S3Header){header, value};
    }
}

static void headersFree(S3Header *h, size_t count) {
    for (size_t i = 0; i < count; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

/* Does the object's metadata (a HEAD) equal the node's? */
static bool sameHeaders(const TItem *it, const S3ObjectInfo *info) {
    S3Header *want;
    size_t wantCount;
    nodeHeaders(it, &want, &wantCount);
    bool same = wantCount == info->headerCount;
    for (size_t i = 0; i < wantCount && same; i++) {
        bool found = false;
        for (size_t k = 0; k < info->headerCount && !found; k++)
            found =
                strcmp(want[i].name, info->headers[k].name) == 0 && strcmp(want[i].value, info->headers[k].value) == 0;
        same = found;
    }
    headersFree(want, wantCount);
    return same;
}

/* ---- the body of an upload: the node's blobs in order ---- */

/* An object's blobs are read a window at a time, by pack (restore/packread.h:
 * the window's blobs grouped by pack, neighbours one ranged GET, several in
 * flight), not one request per blob. Memory per upload worker: the window
 * (<= max(CONTENT_WINDOW_RAW, largest blob)) plus packReadBlobs' ranges. */
#define CONTENT_WINDOW_RAW (4u * 1024u * 1024u) /* plaintext bytes per window */
#define CONTENT_WINDOW_BLOBS 256u               /* blobs per window */

typedef struct ContentReader {
    Repo *repo;
    const TItem *item;
    size_t next; /* the first blob not read yet */
    LbBuf blob;  /* the window's plaintext, in order */
    size_t pos;  /* bytes of it handed out */
    size_t outOff[CONTENT_WINDOW_BLOBS + 1];
    atomic_uint_fast64_t *bytesDone;
} ContentReader;

/* A window's blob to its place (ctx: the ContentReader; PackReadBlobFn). */
static bool placeBlob(void *ctx, size_t pos, const uint8_t *plain, size_t len, LbError *err) {
    ContentReader *cr = ctx;
    if (len != cr->outOff[pos + 1] - cr->outOff[pos])
        return lbErr(err, LB_ERR_CORRUPT, "file '%s': a blob holds %zu bytes, the index says %zu", cr->item->key, len,
                     cr->outOff[pos + 1] - cr->outOff[pos]);
    if (len)
        memcpy(cr->blob.data + cr->outOff[pos], plain, len);
    return true;
}

/* Read the next window of blobs into cr->blob. */
static bool readWindow(ContentReader *cr, LbError *err) {
    const Node *n = &cr->item->node;
    const LbId *ids = &n->content[cr->next];
    size_t count = 0, raw = 0;
    lbBufClear(&cr->blob);
    cr->pos = 0;
    for (; cr->next + count < n->contentCount && count < CONTENT_WINDOW_BLOBS; count++) {
        IndexLoc loc;
        if (!indexLookup(repoIndex(cr->repo), &ids[count], BLOB_DATA, &loc))
            break; /* packReadBlobs names it */
        if (count > 0 && raw + loc.rawLength > CONTENT_WINDOW_RAW)
            break;
        cr->outOff[count] = raw;
        raw += loc.rawLength;
    }
    if (count <= 1) { /* one blob: one request either way */
        cr->next++;
        return repoLoadBlob(cr->repo, BLOB_DATA, ids, &cr->blob, err);
    }
    cr->outOff[count] = raw;
    lbBufReserve(&cr->blob, raw);
    cr->blob.len = raw;
    cr->next += count;
    return packReadBlobs(cr->repo, BLOB_DATA, ids, count, placeBlob, cr, err);
}

static bool contentRead(void *ctx, uint8_t *buf, size_t len, LbError *err) {
    ContentReader *cr = ctx;
    const Node *n = &cr->item->node;
    while (len > 0) {
        if (cr->pos == cr->blob.len) {
            if (cr->next == n->contentCount)
                return lbErr(err, LB_ERR_CORRUPT, "file '%s' holds fewer bytes than its size %llu", cr->item->key,
                             (unsigned long long)n->size);
            if (!readWindow(cr, err))
                return false;
            continue;
        }
        size_t k = cr->blob.len - cr->pos < len ? cr->blob.len - cr->pos : len;
        memcpy(buf, cr->blob.data + cr->pos, k);
        cr->pos += k;
        buf += k;
        len -= k;
        atomic_fetch_add(cr->bytesDone, k);
    }
    return true;
}

/* Upload one item, retrying transient failures. */
static bool uploadItem(TargetRun *r, TItem *it, LbError *err) {
    S3Header *headers;
    size_t headerCount;
    nodeHeaders(it, &headers, &headerCount);
    bool ok;
    int attempt = 0;
    for (;;) {
        ContentReader cr = {.repo = r->repo, .item = it, .bytesDone = &r->bytesDone};
        ok = s3ClientPutObject(r->client, it->key, it->node.size, contentRead, &cr, headers, headerCount, err);
        bool surplus = ok && (cr.pos != cr.blob.len || cr.next != it->node.contentCount);
        lbBufFree(&cr.blob);
        if (surplus) {
            ok = lbErr(err, LB_ERR_CORRUPT, "file '%s' holds more bytes than its size %llu (uploaded as recorded)",
                       it->key, (unsigned long long)it->node.size);
            break;
        }
        if (ok || !bucketRetryAgain(targetRetry(r), &attempt, err))
            break;
    }
    headersFree(headers, headerCount);
    return ok;
}

/* Is the object already there as the snapshot has it? (HEAD) */
static bool stillSame(TargetRun *r, TItem *it, bool *same, LbError *err) {
    S3ObjectInfo info = {0};
    bool exists = false;
    int attempt = 0;
    bool ok;
    do {
        ok = s3ClientHeadObject(r->client, it->key, &exists, &info, err);
    } while (!ok && bucketRetryAgain(targetRetry(r), &attempt, err));
    const Xattr *etag = findXattr(&it->node, BUCKET_XATTR_ETAG);
    *same = ok && exists && info.size == it->node.size && etag != NULL && strlen(info.etag) == etag->len &&
            memcmp(info.etag, etag->value, etag->len) == 0 && sameHeaders(it, &info);
    s3ObjectInfoClear(&info);
    return ok;
}

static void *worker(void *arg) {
    TargetRun *r = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->count)
            break;
        TItem *it = &r->items[i];
        LbError err = {0};
        if (it->candidate) {
            bool same = false;
            if (!stillSame(r, it, &same, &err)) {
                it->failure = lbXasprintf("%s", err.msg);
                continue;
            }
            if (same) {
                atomic_fetch_add(&r->unchanged, 1);
                atomic_fetch_add(&r->bytesDone, it->node.size);
                continue;
            }
        }
        it->upload = true;
        if (r->opts->dryRun) {
            atomic_fetch_add(&r->bytesDone, it->node.size);
        } else if (!uploadItem(r, it, &err)) {
            it->failure = lbXasprintf("%s", err.msg);
            continue;
        }
        atomic_fetch_add(&r->uploaded, 1);
    }
    atomic_fetch_sub(&r->active, 1);
    return NULL;
}

static void addFailure(BucketTargetResult *res, const char *key, const char *why) {
    res->failed = lbXrealloc(res->failed, (res->failedCount + 1) * sizeof(char *));
    res->failed[res->failedCount++] = lbXasprintf("%s: %s", key, why);
}

/* The whole key of a name, for messages and the action callback. */
static char *fullKey(const TargetRun *r, const char *name) {
    const char *prefix = s3ClientPrefix(r->client);
    return prefix[0] ? lbXasprintf("%s/%s", prefix, name) : lbXstrdup(name);
}

static void report(const TargetRun *r, const char *action, const char *name) {
    if (r->opts->action == NULL)
        return;
    char *key = fullKey(r, name);
    r->opts->action(r->opts->actionCtx, action, key);
    free(key);
}

/* Every file was collected: list the target, upload, delete. */
static bool bucketFinish(void *driver, LbError *err) {
    TargetRun *r = driver;
    const char **doomed = NULL;
    size_t doomedCount = 0;
    bool ok = false;
    if (r->count > 1)
        qsort(r->items, r->count, sizeof(TItem), cmpItem);
    for (size_t i = 0; i < r->count; i++) {
        if (r->items[i].key[0] == '\0' && s3ClientPrefix(r->client)[0] == '\0') {
            lbErr(err, LB_ERR_ARGS, "the snapshot holds a file for the empty key: restore it below a prefix");
            goto done;
        }
        if (i > 0 && strcmp(r->items[i - 1].key, r->items[i].key) == 0) {
            lbErr(err, LB_ERR_UNSAFE_PATH, "two files of the snapshot map to the object key '%s'", r->items[i].key);
            goto done;
        }
    }

    /* the target as it is */
    int attempt = 0;
    for (;;) {
        LbError listErr = {0};
        char *resume = r->lastListed ? lbXstrdup(r->lastListed) : NULL;
        bool listed = s3ClientListObjects(r->client, resume, onListed, r, &listErr);
        free(resume);
        if (listed || listErr.code == LB_ERR_NOT_FOUND)
            break; /* a missing bucket is created by the first upload */
        if (!bucketRetryAgain(targetRetry(r), &attempt, &listErr)) {
            *err = listErr;
            goto done;
        }
    }
    if (r->objectCount > 1)
        qsort(r->objects, r->objectCount, sizeof(TObject), cmpObject);
    for (size_t i = 0; i < r->count && r->objectCount > 0; i++) {
        TItem *it = &r->items[i];
        TObject probe = {.name = it->key};
        TObject *o = bsearch(&probe, r->objects, r->objectCount, sizeof(TObject), cmpObject);
        if (o == NULL)
            continue;
        o->inSnapshot = true;
        it->candidate =
            o->size == it->node.size && o->etag[0] != '\0' && xattrEquals(&it->node, BUCKET_XATTR_ETAG, o->etag);
    }

    /* act: HEAD the candidates, upload the rest */
    atomic_init(&r->next, 0);
    atomic_init(&r->bytesDone, 0);
    atomic_init(&r->uploaded, 0);
    atomic_init(&r->unchanged, 0);
    pthread_t tids[BUCKET_TARGET_THREADS];
    int started = 0;
    atomic_init(&r->active, BUCKET_TARGET_THREADS);
    for (int t = 0; t < BUCKET_TARGET_THREADS; t++) {
        if (pthread_create(&tids[started], NULL, worker, r) != 0)
            break;
        started++;
    }
    atomic_fetch_sub(&r->active, (size_t)(BUCKET_TARGET_THREADS - started));
    if (started == 0) {
        atomic_fetch_add(&r->active, 1);
        worker(r);
    }
    while (r->opts->progress != NULL && atomic_load(&r->active) > 0) {
        RestoreProgress p = {atomic_load(&r->bytesDone), r->bytesTotal, r->count};
        r->opts->progress(r->opts->progressCtx, &p);
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    r->result->uploaded = atomic_load(&r->uploaded);
    r->result->unchanged = atomic_load(&r->unchanged);
    for (size_t i = 0; i < r->count; i++) {
        TItem *it = &r->items[i];
        if (it->failure != NULL) {
            char *k = fullKey(r, it->key);
            addFailure(r->result, k, it->failure);
            free(k);
        } else if (it->upload) {
            r->result->bytesUploaded += it->node.size;
            report(r, "upload", it->key);
        }
    }

    /* delete what the snapshot does not have */
    if (r->opts->deleteExtra) {
        doomed = lbXcalloc(r->objectCount ? r->objectCount : 1, sizeof(char *));
        for (size_t i = 0; i < r->objectCount; i++)
            if (!r->objects[i].inSnapshot)
                doomed[doomedCount++] = r->objects[i].name;
        bool deleted = true;
        if (!r->opts->dryRun && doomedCount > 0) {
            LbError delErr = {0};
            attempt = 0;
            while (!(deleted = s3ClientDeleteObjects(r->client, doomed, doomedCount, &delErr)) &&
                   bucketRetryAgain(targetRetry(r), &attempt, &delErr)) {
            }
            if (!deleted) {
                *err = delErr;
                lbErrorWrap(err, "uploads done, but unable to delete the objects the snapshot does not have");
                goto done;
            }
        }
        for (size_t i = 0; i < doomedCount; i++)
            report(r, "delete", doomed[i]);
        r->result->deleted = doomedCount;
    }
    r->result->skipped = r->skipped;
    if (r->result->failedCount > 0) {
        lbErr(err, LB_ERR_INCOMPLETE, "%zu object(s) could not be restored", r->result->failedCount);
        goto done;
    }
    ok = true;

done:
    free(doomed);
    return ok;
}

bool bucketTargetRun(Repo *repo, const Snapshot *snap, const BucketTargetOptions *opts, BucketTargetResult *result,
                     LbError *err) {
    memset(result, 0, sizeof(*result));
    TargetRun r = {.repo = repo, .opts = opts, .result = result};
    json_t *type = snap->meta ? json_object_get(snap->meta, "type") : NULL;
    r.escaped = json_is_string(type) && strcmp(json_string_value(type), BUCKET_META_TYPE) == 0;
    r.client = s3ClientNew(opts->location, opts->storage != NULL ? &opts->storage->s3 : NULL, err);
    if (r.client == NULL)
        return false;
    /* a part of a snapshot synced into a whole bucket would delete every
     * object outside that part: refuse unless the target is a prefix */
    if (opts->deleteExtra && opts->subpath != NULL && s3ClientPrefix(r.client)[0] == '\0') {
        s3ClientFree(r.client);
        return lbErr(err, LB_ERR_ARGS,
                     "unable to restore '%s' with --delete into the root of bucket '%s': every object outside it "
                     "would be deleted\nHINT: Give the target a prefix (s3:.../BUCKET/PREFIX/), or restore without "
                     "--delete.",
                     opts->subpath, opts->location);
    }
    Target t = {&bucketTargetInterface, &r};
    bool ok = restoreTargetRun(repo, snap, opts->subpath, &t, err);
    for (size_t i = 0; i < r.count; i++) {
        free(r.items[i].key);
        nodeClear(&r.items[i].node);
        free(r.items[i].failure);
    }
    free(r.items);
    for (size_t i = 0; i < r.objectCount; i++) {
        free(r.objects[i].name);
        free(r.objects[i].etag);
    }
    free(r.objects);
    free(r.lastListed);
    lbBufFree(&r.key);
    free(r.keyStarts);
    s3ClientFree(r.client);
    return ok;
}

void bucketTargetResultClear(BucketTargetResult *result) {
    for (size_t i = 0; i < result->failedCount; i++)
        free(result->failed[i]);
    free(result->failed);
    memset(result, 0, sizeof(*result));
}
