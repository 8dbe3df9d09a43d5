/* check.c - structural and data verification of a repository. */
#include "maint/check.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/jsonutil.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"

static void addLine(char ***arr, size_t *n, char *taken) {
    *arr = lbXrealloc(*arr, (*n + 1) * sizeof(char *));
    (*arr)[(*n)++] = taken;
}

typedef struct Checker {
    Repo *repo;
    const CheckOptions *opts;
    CheckResult *result;
    pthread_mutex_t mu;
    Index *visitedTrees;
    Index *damaged; /* damaged blob IDs (pack number unused) */
    uint32_t *packOrder;
    size_t packTodo;
    atomic_size_t next;
    atomic_uint_fast64_t packsDone, bytesDone;
} Checker;

static void problem(Checker *c, char *taken) {
    pthread_mutex_lock(&c->mu);
    addLine(&c->result->errors, &c->result->errorCount, taken);
    pthread_mutex_unlock(&c->mu);
}

/* One error per unreadable index or snapshot file (the reason names it);
 * empties the list. */
static void reportDamaged(Checker *c, const char *what, RepoDamagedList *files) {
    for (size_t i = 0; i < files->count; i++)
        problem(c, lbXasprintf("%s: %s", what, files->items[i].reason));
    repoDamagedListFree(files);
}

/* Walk a tree: load it, check every referenced blob is indexed. */
static void walkTree(Checker *c, const LbId *id, const char *path) {
    PackEntry mark = {.id = *id, .type = BLOB_TREE};
    if (!indexAdd(c->visitedTrees, 0, &mark))
        return;
    c->result->trees++;
    char hex[LB_ID_HEX_LEN + 1];
    LbBuf plain = {0};
    LbError err = {0};
    Tree t = {0};
    if (!treeDepthCheck(treePathDepth(path), path, &err)) {
        lbIdToHex(id, hex);
        problem(c, lbXasprintf("tree %.8s: %s", hex, err.msg));
        return;
    }
    if (!repoLoadBlob(c->repo, BLOB_TREE, id, &plain, &err) || !treeDecode(plain.data, plain.len, &t, &err)) {
        lbIdToHex(id, hex);
        problem(c, lbXasprintf("tree %.8s ('%s'): %s", hex, path[0] ? path : "/", err.msg));
        lbBufFree(&plain);
        return;
    }
    lbBufFree(&plain);
    for (size_t i = 0; i < t.count; i++) {
        Node *n = &t.nodes[i];
        char *child = lbXasprintf("%s/%s", path, n->name);
        if (n->type == NODE_DIR) {
            walkTree(c, &n->subtree, child);
        } else if (n->type == NODE_FILE) {
            for (size_t k = 0; k < n->contentCount; k++) {
                if (!indexHas(repoIndex(c->repo), &n->content[k], BLOB_DATA)) {
                    lbIdToHex(&n->content[k], hex);
                    problem(c, lbXasprintf("file '%s': data blob %s is not in any pack", child, hex));
                }
            }
        }
        free(child);
    }
    treeFree(&t);
}

/* Report which files of which snapshots use damaged blobs. */
static void traceDamaged(Checker *c, const LbId *treeId, const char *snapHex, const char *path, Index *seen) {
    PackEntry mark = {.id = *treeId, .type = BLOB_TREE};
    if (treePathDepth(path) > TREE_DEPTH_MAX || !indexAdd(seen, 0, &mark))
        return; /* walkTree has reported the depth */
    LbBuf plain = {0};
    LbError err = {0};
    Tree t = {0};
    bool ok = repoLoadBlob(c->repo, BLOB_TREE, treeId, &plain, &err) && treeDecode(plain.data, plain.len, &t, &err);
    lbBufFree(&plain);
    if (!ok) {
        if (indexHas(c->damaged, treeId, BLOB_TREE)) {
            char hex[LB_ID_HEX_LEN + 1], shown[1024];
            lbIdToHex(treeId, hex);
            problem(c, lbXasprintf("snapshot %.8s: directory '%s' is damaged (tree %.8s): everything below it is lost",
                                   snapHex, path[0] ? lbPrintable(path, shown, sizeof(shown)) : "/", hex));
        }
        return;
    }
    for (size_t i = 0; i < t.count; i++) {
        Node *n = &t.nodes[i];
        char *child = lbXasprintf("%s/%s", path, n->name);
        if (n->type == NODE_DIR) {
            traceDamaged(c, &n->subtree, snapHex, child, seen);
        } else if (n->type == NODE_FILE) {
            for (size_t k = 0; k < n->contentCount; k++) {
                if (indexHas(c->damaged, &n->content[k], BLOB_DATA)) {
                    char hex[LB_ID_HEX_LEN + 1];
                    lbIdToHex(&n->content[k], hex);
                    char shown[1024];
                    problem(c, lbXasprintf("snapshot %.8s: file '%s' is damaged (blob %s)", snapHex,
                                           lbPrintable(child, shown, sizeof(shown)), hex));
                    break;
                }
            }
        }
        free(child);
    }
    treeFree(&t);
}

typedef struct PackBlobs {
    IndexLoc *locs;
    LbId *ids;
    size_t count, cap;
} PackBlobs;

typedef struct Gather {
    PackBlobs *byPack;
} Gather;

static bool gatherBlob(void *ctx, const LbId *id, const IndexLoc *loc) {
    Gather *g = ctx;
    PackBlobs *pb = &g->byPack[loc->pack];
    if (pb->count == pb->cap) {
        pb->cap = pb->cap ? pb->cap * 2 : 16;
        pb->locs = lbXrealloc(pb->locs, pb->cap * sizeof(IndexLoc));
        pb->ids = lbXrealloc(pb->ids, pb->cap * sizeof(LbId));
    }
    pb->locs[pb->count] = *loc;
    pb->ids[pb->count++] = *id;
    return true;
}

typedef struct ReadCtx {
    Checker *c;
    PackBlobs *byPack;
} ReadCtx;

static void markDamagedBlob(Checker *c, const LbId *id, uint8_t type) {
    PackEntry e = {.id = *id, .type = type};
    pthread_mutex_lock(&c->mu);
    indexAdd(c->damaged, 0, &e);
    pthread_mutex_unlock(&c->mu);
}

/* The blobs of packs the index names but the repository lacks are lost:
 * mark them, so the files that use them are named (with or without
 * --read-data). */
typedef struct MissingCtx {
    Checker *c;
    const bool *missing; /* per pack number */
} MissingCtx;

static bool markMissingBlob(void *ctx, const LbId *id, const IndexLoc *loc) {
    MissingCtx *m = ctx;
    if (m->missing[loc->pack])
        markDamagedBlob(m->c, id, loc->type);
    return true;
}

static void readPack(Checker *c, PackBlobs *byPack, uint32_t p) {
    Index *ix = repoIndex(c->repo);
    const LbId *packId = indexPackId(ix, p);
    char name[80], hex[LB_ID_HEX_LEN + 1];
    repoPackName(packId, name);
    lbIdToHex(packId, hex);
    LbBuf data = {0}, plain = {0};
    LbError err = {0};
    PackBlobs *pb = &byPack[p];
    if (!storageGet(repoStorage(c->repo), name, 0, 0, &data, &err)) {
        problem(c, lbXasprintf("pack %.8s: %s", hex, err.msg));
        for (size_t i = 0; i < pb->count; i++)
            markDamagedBlob(c, &pb->ids[i], pb->locs[i].type);
        lbBufFree(&data);
        return;
    }
    atomic_fetch_add(&c->bytesDone, data.len);
    LbId actual;
    cryptoSha256(data.data, data.len, &actual);
    if (!lbIdEqual(&actual, packId))
        problem(c, lbXasprintf("pack %.8s: content does not match its name (SHA-256 mismatch)", hex));
    PackEntry *entries = NULL;
    size_t count = 0;
    if (!packReadHeader(data.data, data.len, repoKeys(c->repo)->metaKey, &entries, &count, &err))
        problem(c, lbXasprintf("pack %.8s: %s", hex, err.msg));
    free(entries);
    for (size_t i = 0; i < pb->count; i++) {
        const IndexLoc *loc = &pb->locs[i];
        lbBufClear(&plain);
        if ((uint64_t)loc->offset + loc->length > data.len) {
            char blobHex[LB_ID_HEX_LEN + 1];
            lbIdToHex(&pb->ids[i], blobHex);
            problem(c, lbXasprintf("pack %.8s: blob %s lies beyond the end of the pack (offset %" PRIu32
                                   ", length %" PRIu32 ", pack size %zu)",
                                   hex, blobHex, loc->offset, loc->length, data.len));
            markDamagedBlob(c, &pb->ids[i], loc->type);
            continue;
        }
        if (!repoDecodeBlob(c->repo, &pb->ids[i], loc, data.data + loc->offset, &plain, &err)) {
            problem(c, lbXasprintf("pack %.8s: %s", hex, err.msg));
            markDamagedBlob(c, &pb->ids[i], loc->type);
        }
    }
    lbBufFree(&plain);
    lbBufFree(&data);
}

static void *readWorker(void *arg) {
    ReadCtx *rc = arg;
    Checker *c = rc->c;
    for (;;) {
        size_t k = atomic_fetch_add(&c->next, 1);
        if (k >= c->packTodo)
            break;
        readPack(c, rc->byPack, c->packOrder[k]);
        uint64_t done = atomic_fetch_add(&c->packsDone, 1) + 1;
        if (c->opts->progress) {
            pthread_mutex_lock(&c->mu);
            c->opts->progress(c->opts->progressCtx, done, c->packTodo, atomic_load(&c->bytesDone));
            pthread_mutex_unlock(&c->mu);
        }
    }
    return NULL;
}

bool checkRun(Repo *repo, const CheckOptions *opts, CheckResult *result, LbError *err) {
    memset(result, 0, sizeof(*result));
    Checker c = {.repo = repo, .opts = opts, .result = result};
    pthread_mutex_init(&c.mu, NULL);
    c.visitedTrees = indexNew();
    c.damaged = indexNew();
    RepoPackList packs = {0};
    SnapshotList snaps = {0};
    Gather g = {0};
    RepoDamagedList damagedFiles = {0};
    bool ok = false;
    /* a fresh index (what is in storage now), every readable index file in
     * it: one damaged file is one error, not one per blob only it names */
    if (!repoReloadIndexP(repo, err, .skipDamaged = true, .damaged = &damagedFiles))
        goto cleanup;
    reportDamaged(&c, "index", &damagedFiles);
    Index *ix = repoIndex(repo);
    if (!repoListPacks(repo, &packs, err))
        goto cleanup;
    result->packs = packs.count;
    result->blobs = indexBlobCount(ix);
    /* every indexed pack must exist */
    bool *indexed = lbXcalloc(packs.count + 1, sizeof(bool));
    bool *missing = lbXcalloc(indexPackCount(ix) + 1, sizeof(bool));
    bool anyMissing = false;
    for (uint32_t p = 0; p < indexPackCount(ix); p++) {
        const struct RepoPack *hit = repoPackFind(&packs, indexPackId(ix, p));
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(indexPackId(ix, p), hex);
        if (hit == NULL) {
            problem(&c, lbXasprintf("pack %.8s is named by the index but missing from the repository", hex));
            missing[p] = anyMissing = true;
        } else {
            indexed[hit - packs.items] = true;
        }
    }
    if (anyMissing) {
        MissingCtx m = {&c, missing};
        indexForEach(ix, markMissingBlob, &m);
        addLine(&result->notes, &result->noteCount,
                lbXasprintf("a pack is missing: 'lifeboat repair index' drops its blobs from the index, so the next "
                            "backup stores them again; 'lifeboat repair snapshots' rewrites the snapshots above "
                            "without the lost files"));
    }
    free(missing);
    for (size_t i = 0; i < packs.count; i++) {
        if (!indexed[i]) {
            char hex[LB_ID_HEX_LEN + 1];
            lbIdToHex(&packs.items[i].id, hex);
            addLine(&result->notes, &result->noteCount,
                    lbXasprintf("pack %.8s is not referenced by any index (left by an interrupted backup; "
                                "'prune' removes it)",
                                hex));
        }
    }
    free(indexed);
    if (!snapshotLoadAllP(repo, &snaps, err, .skipDamaged = true, .damaged = &damagedFiles))
        goto cleanup;
    reportDamaged(&c, "snapshots", &damagedFiles);
    result->snapshots = snaps.count;
    for (size_t i = 0; i < snaps.count; i++)
        walkTree(&c, &snaps.items[i].tree, "");

    if (opts->readData) {
        size_t np = indexPackCount(ix);
        g.byPack = lbXcalloc(np ? np : 1, sizeof(PackBlobs));
        indexForEach(ix, gatherBlob, &g);
        c.packOrder = lbXmalloc((np ? np : 1) * sizeof(uint32_t));
        for (uint32_t p = 0; p < np; p++) {
            if (repoPackFind(&packs, indexPackId(ix, p)) == NULL)
                continue; /* missing: reported and its blobs marked above */
            c.packOrder[c.packTodo++] = p;
        }
        if (opts->subsetPercent > 0 && opts->subsetPercent < 100) {
            /* random subset: shuffle, keep the first N% (at least one pack) */
            for (size_t i = c.packTodo; i > 1; i--) {
                uint32_t rnd;
                cryptoRandom((uint8_t *)&rnd, sizeof(rnd), NULL);
                size_t k = rnd % i;
                uint32_t t = c.packOrder[i - 1];
                c.packOrder[i - 1] = c.packOrder[k];
                c.packOrder[k] = t;
            }
            size_t keep = (size_t)((double)c.packTodo * opts->subsetPercent / 100.0 + 0.999);
            if (keep < c.packTodo)
                c.packTodo = keep;
        }
        long nthreads = sysconf(_SC_NPROCESSORS_ONLN);
        if (nthreads < 1)
            nthreads = 1;
        if (nthreads > 8)
            nthreads = 8;
        pthread_t th[8];
        int started = 0;
        ReadCtx rc = {&c, g.byPack};
        for (long t = 0; t < nthreads; t++)
            if (pthread_create(&th[t], NULL, readWorker, &rc) == 0)
                started++;
        if (started == 0)
            readWorker(&rc);
        for (int t = 0; t < started; t++)
            pthread_join(th[t], NULL);
        result->packsRead = atomic_load(&c.packsDone);
        result->bytesRead = atomic_load(&c.bytesDone);
        for (size_t p = 0; p < np; p++) {
            free(g.byPack[p].locs);
            free(g.byPack[p].ids);
        }
    }
    /* name the snapshots and files that use lost or damaged blobs */
    if (indexBlobCount(c.damaged) > 0) {
        for (size_t i = 0; i < snaps.count; i++) {
            char hex[LB_ID_HEX_LEN + 1];
            lbIdToHex(&snaps.items[i].id, hex);
            Index *seen = indexNew();
            traceDamaged(&c, &snaps.items[i].tree, hex, "", seen);
            indexFree(seen);
        }
    }
    ok = true;
cleanup:
    free(g.byPack);
    free(c.packOrder);
    free(packs.items);
    repoDamagedListFree(&damagedFiles);
    snapshotListFree(&snaps);
    indexFree(c.visitedTrees);
    indexFree(c.damaged);
    pthread_mutex_destroy(&c.mu);
    return ok;
}

void checkResultClear(CheckResult *r) {
    for (size_t i = 0; i < r->errorCount; i++)
        free(r->errors[i]);
    free(r->errors);
    for (size_t i = 0; i < r->noteCount; i++)
        free(r->notes[i]);
    free(r->notes);
    memset(r, 0, sizeof(*r));
}

json_t *checkResultJson(const CheckResult *r) {
    json_t *j = json_object();
    json_object_set_new(j, "ok", json_boolean(r->errorCount == 0));
    json_object_set_new(j, "snapshots", json_integer((json_int_t)r->snapshots));
    json_object_set_new(j, "packs", json_integer((json_int_t)r->packs));
    json_object_set_new(j, "packs_read", json_integer((json_int_t)r->packsRead));
    json_object_set_new(j, "bytes_read", json_integer((json_int_t)r->bytesRead));
    json_object_set_new(j, "errors", lbJsonStrings(r->errors, r->errorCount));
    json_object_set_new(j, "notes", lbJsonStrings(r->notes, r->noteCount));
    return j;
}
