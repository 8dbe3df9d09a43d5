/* copy.c - snapshot copy between repositories. */
#include "maint/copy.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "crypto/crypto.h"
#include "repo/commit.h"
#include "repo/saver.h"
#include "restore/packread.h"
#include "restore/restore.h"
#include "snapshot/tree.h"

/* Data blobs queued before they are read by pack (packReadBlobs plans them
 * all at once: with the queue's own map about 250 bytes each, 4 MiB). */
#define COPY_FETCH_BLOBS 16384u

/* A map from 32-byte keys to variable-length values (lists of IDs). */
typedef struct MapEntry {
    LbId key;
    LbId *value;
    size_t count;
    bool used;
} MapEntry;

typedef struct IdMap {
    MapEntry *slots;
    size_t cap, count;
} IdMap;

static size_t mapHash(const LbId *k) {
    size_t h;
    memcpy(&h, k->b, sizeof(h));
    return h;
}

static MapEntry *mapFind(IdMap *m, const LbId *key) {
    if (m->cap == 0)
        return NULL;
    for (size_t s = mapHash(key) & (m->cap - 1);; s = (s + 1) & (m->cap - 1)) {
        if (!m->slots[s].used)
            return NULL;
        if (lbIdEqual(&m->slots[s].key, key))
            return &m->slots[s];
    }
}

static void mapPut(IdMap *m, const LbId *key, const LbId *value, size_t count) {
    if ((m->count + 1) * 2 > m->cap) {
        IdMap n = {lbXcalloc(m->cap ? m->cap * 2 : 1024, sizeof(MapEntry)), m->cap ? m->cap * 2 : 1024, 0};
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].used) {
                size_t s = mapHash(&m->slots[i].key) & (n.cap - 1);
                while (n.slots[s].used)
                    s = (s + 1) & (n.cap - 1);
                n.slots[s] = m->slots[i];
                n.count++;
            }
        free(m->slots);
        *m = n;
    }
    size_t s = mapHash(key) & (m->cap - 1);
    while (m->slots[s].used)
        s = (s + 1) & (m->cap - 1);
    MapEntry *e = &m->slots[s];
    e->used = true;
    e->key = *key;
    e->count = count;
    e->value = lbXmalloc((count ? count : 1) * sizeof(LbId));
    memcpy(e->value, value, count * sizeof(LbId));
    m->count++;
}

static void mapFree(IdMap *m) {
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].used)
            free(m->slots[i].value);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

typedef struct Copier {
    Repo *src, *dst;
    BlobSaver *saver;
    bool rechunk[REPO_CHUNK_PROFILES]; /* per chunk profile: the repositories cut differently */
    RepoChunkProfile profile;          /* of the snapshot being copied */
    IdMap trees[REPO_CHUNK_PROFILES];  /* source tree ID -> target tree ID */
    IdMap blobs;                       /* source data blob ID -> target data blob ID (same chunker) */
    IdMap files[REPO_CHUNK_PROFILES];  /* SHA-256 of a source content list -> target content list (re-chunking) */
    Index *stored;                     /* target blobs queued in this run */
    IdMap walked[REPO_CHUNK_PROFILES]; /* trees whose data blobs were queued */
    IdMap wanted;                      /* data blobs queued to be read ... */
    LbId *want;                        /* ... in the order queued */
    size_t wantCount, wantCap;
} Copier;

/* Queue plaintext for the target unless it has the blob already. */
static void storeData(Copier *c, BlobType type, const uint8_t *data, size_t len, LbId *id) {
    repoBlobId(c->dst, data, len, id);
    if (indexHas(repoIndex(c->dst), id, type) || indexHas(c->stored, id, type))
        return;
    PackEntry mark = {.id = *id, .type = (uint8_t)type};
    indexAdd(c->stored, 0, &mark);
    uint8_t *copy = lbXmalloc(len ? len : 1);
    memcpy(copy, data, len);
    saverSubmitTake(c->saver, type, copy, len, NULL, NULL);
}

static void appendId(LbId **list, size_t *n, size_t *cap, const LbId *id) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *list = lbXrealloc(*list, *cap * sizeof(LbId));
    }
    (*list)[(*n)++] = *id;
}

/* Re-chunking one file: its plaintext in order, cut with the target's chunker. */
typedef struct Rechunk {
    Copier *c;
    const Chunker *ch;
    size_t maxSize;
    LbBuf plain;
    size_t start; /* plain's bytes before start are stored */
    LbId *out;    /* the target's content list */
    size_t count, cap;
} Rechunk;

/* Store the chunks cut so far (at eof, the rest too). */
static void rechunkCut(Rechunk *rc, bool eof) {
    for (;;) {
        size_t avail = rc->plain.len - rc->start;
        if (avail == 0 || (!eof && avail < rc->maxSize))
            break;
        size_t cut = chunkerNext(rc->ch, rc->plain.data + rc->start, avail, eof);
        if (cut == 0)
            break;
        LbId id;
        storeData(rc->c, BLOB_DATA, rc->plain.data + rc->start, cut, &id);
        appendId(&rc->out, &rc->count, &rc->cap, &id);
        rc->start += cut;
    }
}

/* RestoreEmitFn: one source blob's plaintext, in file order. */
static int rechunkEmit(void *ctx, const uint8_t *data, size_t len, LbError *err) {
    Rechunk *rc = ctx;
    (void)err;
    if (rc->start > 0) {
        memmove(rc->plain.data, rc->plain.data + rc->start, rc->plain.len - rc->start);
        rc->plain.len -= rc->start;
        rc->start = 0;
    }
    lbBufAppend(&rc->plain, data, len);
    rechunkCut(rc, false);
    return 1;
}

/* The key of c->files for a content list of one blob. */
static void oneBlobKey(const LbId *id, LbId *key) {
    cryptoSha256((const uint8_t *)id, sizeof(LbId), key);
}

/* A data blob read by pack (ctx: the Copier; packReadBlobs calls it one blob
 * at a time): stored under its target ID, or, when re-chunking, the content
 * of a one-blob file cut with the target's chunker. */
static bool storeFetched(void *ctx, size_t pos, const uint8_t *plain, size_t len, LbError *err) {
    Copier *c = ctx;
    if (!c->rechunk[c->profile]) {
        LbId id;
        storeData(c, BLOB_DATA, plain, len, &id);
        mapPut(&c->blobs, &c->want[pos], &id, 1);
        return true;
    }
    Rechunk rc = {.c = c, .ch = repoChunker(c->dst, c->profile)};
    rc.maxSize = chunkerParams(rc.ch)->maxSize;
    rechunkEmit(&rc, plain, len, err);
    rechunkCut(&rc, true);
    LbId key;
    oneBlobKey(&c->want[pos], &key);
    mapPut(&c->files[c->profile], &key, rc.out, rc.count);
    free(rc.out);
    lbBufFree(&rc.plain);
    return true;
}

/* Read the queued data blobs by pack and store them; the queue is emptied. */
static bool fetchWanted(Copier *c, LbError *err) {
    bool ok = packReadBlobs(c->src, BLOB_DATA, c->want, c->wantCount, storeFetched, c, err);
    c->wantCount = 0;
    mapFree(&c->wanted);
    return ok;
}

/* Queue a data blob unless it is copied or queued already; read the queue
 * when it is full. */
static bool wantBlob(Copier *c, const LbId *id, LbError *err) {
    LbId key;
    if (c->rechunk[c->profile])
        oneBlobKey(id, &key);
    if (mapFind(c->rechunk[c->profile] ? &c->files[c->profile] : &c->blobs, c->rechunk[c->profile] ? &key : id) ||
        mapFind(&c->wanted, id))
        return true;
    mapPut(&c->wanted, id, id, 1);
    appendId(&c->want, &c->wantCount, &c->wantCap, id);
    return c->wantCount < COPY_FETCH_BLOBS || fetchWanted(c, err);
}

/* Load and decode a source tree into *t (cleared by the caller with treeFree). */
static bool loadTree(Copier *c, const LbId *id, Tree *t, LbError *err) {
    LbBuf plain = {0};
    bool ok = repoLoadBlob(c->src, BLOB_TREE, id, &plain, err) && treeDecode(plain.data, plain.len, t, err);
    lbBufFree(&plain);
    return ok;
}

/* The first pass over a snapshot: queue the data blobs of its files not
 * copied yet, so they are read by pack (a few ranged reads per pack, several
 * in flight), not one request per blob; the second pass (copyTree) then
 * finds them in c->blobs. When re-chunking, only files of one blob are
 * queued (their new content goes to c->files); longer ones are read in order
 * by restoreFileStream in the second pass. */
static bool collectTree(Copier *c, const LbId *srcId, size_t depth, LbError *err) {
    if (!treeDepthCheck(depth, "", err))
        return false;
    if (mapFind(&c->trees[c->profile], srcId) || mapFind(&c->walked[c->profile], srcId))
        return true;
    mapPut(&c->walked[c->profile], srcId, srcId, 1);
    Tree t = {0};
    bool ok = loadTree(c, srcId, &t, err);
    for (size_t i = 0; ok && i < t.count; i++) {
        Node *n = &t.nodes[i];
        if (n->type == NODE_DIR)
            ok = collectTree(c, &n->subtree, depth + 1, err);
        else if (n->type == NODE_FILE && c->rechunk[c->profile] && n->contentCount == 1)
            ok = wantBlob(c, &n->content[0], err); /* longer files: restoreFileStream */
        else if (n->type == NODE_FILE && !c->rechunk[c->profile])
            for (size_t k = 0; ok && k < n->contentCount; k++)
                ok = wantBlob(c, &n->content[k], err);
    }
    treeFree(&t);
    return ok;
}

/* Feed a file's source blobs to rc: by pack (restoreFileStream) when there
 * are several, else the one blob (when collectTree did not queue it). */
static bool rechunkRead(Copier *c, const Node *n, Rechunk *rc, LbError *err) {
    if (n->contentCount > 1)
        return restoreFileStream(c->src, n, rechunkEmit, rc, err);
    LbBuf blob = {0};
    bool ok = repoLoadBlob(c->src, BLOB_DATA, &n->content[0], &blob, err);
    if (ok)
        rechunkEmit(rc, blob.data, blob.len, err);
    lbBufFree(&blob);
    return ok;
}

/* Translate one file's content list into the target's blobs. */
static bool copyFile(Copier *c, Node *n, LbError *err) {
    if (n->contentCount == 0)
        return true;
    LbId *out = NULL;
    size_t count = 0, cap = 0;
    bool ok = true;
    if (!c->rechunk[c->profile]) {
        LbBuf plain = {0};
        for (size_t k = 0; k < n->contentCount && ok; k++) {
            MapEntry *e = mapFind(&c->blobs, &n->content[k]);
            LbId id;
            if (e) {
                id = e->value[0];
            } else { /* not read by collectTree: one blob */
                lbBufClear(&plain);
                ok = repoLoadBlob(c->src, BLOB_DATA, &n->content[k], &plain, err);
                if (!ok)
                    break;
                storeData(c, BLOB_DATA, plain.data, plain.len, &id);
                mapPut(&c->blobs, &n->content[k], &id, 1);
            }
            appendId(&out, &count, &cap, &id);
        }
        lbBufFree(&plain);
    } else {
        LbId key;
        cryptoSha256((const uint8_t *)n->content, n->contentCount * sizeof(LbId), &key);
        MapEntry *e = mapFind(&c->files[c->profile], &key);
        if (e) {
            free(n->content);
            n->content = lbXmalloc(e->count * sizeof(LbId));
            memcpy(n->content, e->value, e->count * sizeof(LbId));
            n->contentCount = e->count;
            return true;
        }
        Rechunk rc = {.c = c, .ch = repoChunker(c->dst, c->profile)};
        rc.maxSize = chunkerParams(rc.ch)->maxSize;
        ok = rechunkRead(c, n, &rc, err);
        if (ok) {
            rechunkCut(&rc, true);
            mapPut(&c->files[c->profile], &key, rc.out, rc.count);
        }
        lbBufFree(&rc.plain);
        out = rc.out;
        count = rc.count;
    }
    if (ok) {
        free(n->content);
        n->content = out;
        n->contentCount = count;
    } else {
        free(out);
    }
    return ok;
}

static bool copyTree(Copier *c, const LbId *srcId, LbId *dstId, size_t depth, LbError *err) {
    if (!treeDepthCheck(depth, "", err))
        return false;
    MapEntry *e = mapFind(&c->trees[c->profile], srcId);
    if (e) {
        *dstId = e->value[0];
        return true;
    }
    LbBuf plain = {0};
    Tree t = {0};
    bool ok = loadTree(c, srcId, &t, err);
    for (size_t i = 0; ok && i < t.count; i++) {
        Node *n = &t.nodes[i];
        if (n->type == NODE_DIR)
            ok = copyTree(c, &n->subtree, &n->subtree, depth + 1, err);
        else if (n->type == NODE_FILE)
            ok = copyFile(c, n, err);
    }
    if (ok) {
        treeEncode(&t, &plain);
        storeData(c, BLOB_TREE, plain.data, plain.len, dstId);
        mapPut(&c->trees[c->profile], srcId, dstId, 1);
    }
    treeFree(&t);
    lbBufFree(&plain);
    return ok;
}

static bool alreadyCopied(const SnapshotList *dst, const Snapshot *s) {
    const LbId *origin = s->hasOriginal ? &s->original : &s->id;
    for (size_t i = 0; i < dst->count; i++)
        if (dst->items[i].hasOriginal && lbIdEqual(&dst->items[i].original, origin))
            return true;
    return false;
}

static bool selected(const Snapshot *s, const SnapshotFilter *f, const LbId *ids, size_t idCount) {
    if (ids == NULL)
        return snapshotMatches(s, f);
    for (size_t i = 0; i < idCount; i++)
        if (lbIdEqual(&ids[i], &s->id))
            return true;
    return false;
}

/* The WAL of the selected physical base backups, before their snapshots. */
static bool copyWal(Repo *src, Repo *dst, const SnapshotList *list, const SnapshotFilter *filter, const LbId *ids,
                    size_t idCount, CopyWalResult *r, LbError *err) {
    BasebackupInfo *infos = lbXcalloc(list->count + 1, sizeof(BasebackupInfo));
    size_t n = 0;
    for (size_t i = 0; i < list->count; i++) {
        LbError ignored = {0};
        const Snapshot *s = &list->items[i];
        if (selected(s, filter, ids, idCount) && s->meta && basebackupInfoFromJson(s->meta, &infos[n], &ignored))
            n++;
    }
    bool ok = copyWalRun(src, dst, infos, n, r, err);
    free(infos);
    if (ok && r->segmentsMissing > 0)
        lbLogWarn("the source lacks %" PRIu64 " WAL segment(s) a copied base backup needs, from '%s' on: "
                  "that backup can not be restored from either repository",
                  r->segmentsMissing, r->firstMissing);
    return ok;
}

bool copyRun(Repo *src, Repo *dst, const SnapshotFilter *filter, const LbId *ids, size_t idCount, CopyResult *r,
             LbError *err) {
    memset(r, 0, sizeof(*r));
    SnapshotList srcSnaps = {0}, dstSnaps = {0};
    Copier c = {.src = src, .dst = dst};
    for (int p = 0; p < REPO_CHUNK_PROFILES; p++)
        c.rechunk[p] = !lbIdEqual(repoChunkerFingerprint(src, (RepoChunkProfile)p),
                                  repoChunkerFingerprint(dst, (RepoChunkProfile)p));
    c.stored = indexNew();
    Snapshot *pending = NULL;
    size_t pendingCount = 0, newPackCount = 0;
    LbId *newPacks = NULL;
    RepoCommit *commit = NULL;
    bool ok = false;
    StorageStats before;
    storageGetStats(repoStorage(src), &before);
    /* the target's index files this copy deduplicates against */
    commit = repoCommitBegin(dst, err);
    if (commit == NULL || !snapshotLoadAll(src, &srcSnaps, err) || !snapshotLoadAll(dst, &dstSnaps, err))
        goto cleanup;
    c.saver = saverNew(dst, 0);
    pending = lbXcalloc(srcSnaps.count + 1, sizeof(Snapshot));
    if (!copyWal(src, dst, &srcSnaps, filter, ids, idCount, &r->wal, err))
        goto cleanup;
    for (size_t i = 0; i < srcSnaps.count; i++) {
        Snapshot *s = &srcSnaps.items[i];
        if (!selected(s, filter, ids, idCount))
            continue;
        if (alreadyCopied(&dstSnaps, s)) {
            r->snapshotsSkipped++;
            continue;
        }
        LbId tree;
        c.profile = s->chunkProfile;
        r->rechunked |= c.rechunk[c.profile];
        if (!collectTree(&c, &s->tree, 0, err) || !fetchWanted(&c, err) || !copyTree(&c, &s->tree, &tree, 0, err)) {
            char hex[LB_ID_HEX_LEN + 1];
            lbIdToHex(&s->id, hex);
            lbErrorWrap(err, "unable to copy snapshot %.8s", hex);
            goto cleanup;
        }
        Snapshot *d = &pending[pendingCount++];
        *d = *s;
        memset(s, 0, sizeof(*s)); /* moved */
        if (!d->hasOriginal) {    /* a copy of a copy keeps the first origin */
            d->original = d->id;
            d->hasOriginal = true;
        }
        d->hasParent = false;
        d->tree = tree;
    }
    /* packs and index first, then the snapshots that need them */
    if (!saverFinish(c.saver, err)) {
        if (err->code != LB_ERR_NOT_COMMITTED) /* its message says so already */
            lbErrorWrap(err, "no snapshot written");
        goto cleanup;
    }
    SaverStats ss;
    saverGetStats(c.saver, &ss);
    r->blobsNew = ss.blobsNew;
    r->bytesStored = ss.storedNew;
    /* each snapshot through the commit checks: the new packs and every blob
     * of its tree must still be there (a prune on the target meanwhile) */
    newPacks = saverNewPackIds(c.saver, &newPackCount);
    for (size_t i = 0; i < pendingCount; i++) {
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&pending[i].id, hex); /* the source's ID until saved */
        if (!repoCommitSnapshot(commit, newPacks, newPackCount, &pending[i], err)) {
            if (r->snapshotsCopied > 0)
                lbErrorWrap(err, "unable to copy snapshot %.8s (%llu snapshot(s) were copied before it)", hex,
                            (unsigned long long)r->snapshotsCopied);
            else
                lbErrorWrap(err, "unable to copy snapshot %.8s", hex);
            goto cleanup;
        }
        r->snapshotsCopied++;
    }
    ok = true;
cleanup : {
    StorageStats now;
    storageGetStats(repoStorage(src), &now);
    r->bytesRead = now.bytesRead - before.bytesRead;
}
    for (size_t i = 0; i < pendingCount; i++)
        snapshotClear(&pending[i]);
    free(pending);
    free(newPacks);
    repoCommitFree(commit);
    saverFree(c.saver);
    indexFree(c.stored);
    for (int p = 0; p < REPO_CHUNK_PROFILES; p++) {
        mapFree(&c.trees[p]);
        mapFree(&c.files[p]);
        mapFree(&c.walked[p]);
    }
    mapFree(&c.blobs);
    mapFree(&c.wanted);
    free(c.want);
    snapshotListFree(&srcSnaps);
    snapshotListFree(&dstSnaps);
    return ok;
}

json_t *copyResultJson(const CopyResult *r, double seconds) {
    json_t *j = json_object();
    json_object_set_new(j, "message_type", json_string("copy"));
    json_object_set_new(j, "snapshots_copied", json_integer((json_int_t)r->snapshotsCopied));
    json_object_set_new(j, "snapshots_skipped", json_integer((json_int_t)r->snapshotsSkipped));
    json_object_set_new(j, "blobs_new", json_integer((json_int_t)r->blobsNew));
    json_object_set_new(j, "bytes_stored", json_integer((json_int_t)r->bytesStored));
    json_object_set_new(j, "bytes_read", json_integer((json_int_t)r->bytesRead));
    json_object_set_new(j, "rechunked", json_boolean(r->rechunked));
    json_t *w = json_object();
    json_object_set_new(w, "segments_copied", json_integer((json_int_t)r->wal.segmentsCopied));
    json_object_set_new(w, "segments_skipped", json_integer((json_int_t)r->wal.segmentsSkipped));
    json_object_set_new(w, "files_copied", json_integer((json_int_t)r->wal.filesCopied));
    json_object_set_new(w, "files_skipped", json_integer((json_int_t)r->wal.filesSkipped));
    json_object_set_new(w, "bytes_stored", json_integer((json_int_t)r->wal.bytesStored));
    json_object_set_new(w, "segments_missing", json_integer((json_int_t)r->wal.segmentsMissing));
    json_object_set_new(j, "wal", w);
    json_object_set_new(j, "total_duration", json_real(seconds));
    return j;
}
