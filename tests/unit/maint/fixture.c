/* fixture.c - small repositories in memory for the maint/ unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#include "maint/check.h"
#include "repo/commit.h"
#include "repo/saver.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"
#include "storage/mem/mem.h"

Repo *fixRepoNew(void) {
    RepoInitOptions opts = {.kdfN = 1024};
    return fixRepoNewOpts(&opts);
}

/* A new repository on st (taken), index loaded. */
static Repo *repoOn(Storage *st, const RepoInitOptions *opts) {
    LbError err = {0};
    Repo *repo = repoInit(st, "pw", opts, &err);
    if (repo == NULL)
        print_error("repoInit: %s\n", err.msg);
    assert_non_null(repo);
    assert_true(repoLoadIndex(repo, &err));
    return repo;
}

Repo *fixRepoNewOpts(const RepoInitOptions *opts) {
    return repoOn(storageMemNew(), opts);
}

typedef struct Crashable {
    Storage *inner; /* owned */
    FixCrash *crash;
} Crashable;

/* Whether one more put (remove) of name may happen; counts it if so. */
static bool crashAllows(FixCrash *c, bool put, const char *name, LbError *err) {
    if (strncmp(name, "locks/", 6) == 0)
        return true;
    long *left = put ? &c->putsLeft : &c->removesLeft;
    if (*left == 0)
        return lbErr(err, LB_ERR_IO, "unable to %s '%s': crashed", put ? "put" : "remove", name);
    if (*left > 0)
        (*left)--;
    (*(put ? &c->puts : &c->removes))++;
    return true;
}

static bool crashPut(void *d, const char *name, const uint8_t *data, size_t len, LbError *err) {
    Crashable *c = d;
    if (!crashAllows(c->crash, true, name, err) || !storagePut(c->inner, name, data, len, err))
        return false;
    if (c->crash->onPut && strncmp(name, "locks/", 6) != 0)
        c->crash->onPut(c->crash->onPutCtx, name);
    return true;
}
static bool crashGet(void *d, const char *name, uint64_t off, uint64_t len, LbBuf *out, LbError *err) {
    return storageGet(((Crashable *)d)->inner, name, off, len, out, err);
}
static bool crashList(void *d, const char *prefix, StorageListCb cb, void *ctx, LbError *err) {
    return storageList(((Crashable *)d)->inner, prefix, cb, ctx, err);
}
static bool crashRemove(void *d, const char *name, LbError *err) {
    Crashable *c = d;
    return crashAllows(c->crash, false, name, err) && storageRemove(c->inner, name, err);
}
static bool crashStat(void *d, const char *name, StorageInfo *info, LbError *err) {
    return storageStat(((Crashable *)d)->inner, name, info, err);
}
static void crashFree(void *d) {
    storageFree(((Crashable *)d)->inner);
    free(d);
}

static const StorageInterface crashIface = {
    .name = "crashable",
    .put = crashPut,
    .get = crashGet,
    .list = crashList,
    .remove = crashRemove,
    .stat = crashStat,
    .free = crashFree,
};

Repo *fixRepoNewCrashable(FixCrash *crash) {
    Crashable *c = lbXcalloc(1, sizeof(*c));
    c->inner = storageMemNew();
    c->crash = crash;
    RepoInitOptions opts = {.kdfN = 1024};
    return repoOn(storageNewDriver(&crashIface, c, "mem:crashable"), &opts);
}

static uint64_t mix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t fixChunkLen(uint64_t seed) {
    return seed >= 100 ? 100000 + (size_t)seed : 2000 + 37 * (size_t)seed;
}

uint8_t *fixChunk(uint64_t seed) {
    size_t len = fixChunkLen(seed);
    uint8_t *p = lbXmalloc(len);
    uint64_t s = seed * 7919 + 1;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = mix(&s);
        memcpy(p + i, &v, len - i < 8 ? len - i : 8);
    }
    return p;
}

/* Queue encoded tree bytes as a tree blob; the ID is known after saverWait. */
void fixSubmitTree(BlobSaver *saver, Tree *t, LbId *id) {
    LbBuf enc = {0};
    treeSort(t);
    treeEncode(t, &enc);
    size_t len = enc.len;
    saverSubmitTake(saver, BLOB_TREE, lbBufTake(&enc, NULL), len, id, NULL);
}

void fixSubmitRoot(BlobSaver *saver, const LbId *dirTree, LbId *root) {
    Tree t = {0};
    Node *d = treeAppend(&t);
    d->name = lbXstrdup("dir");
    d->type = NODE_DIR;
    d->mode = 0755;
    d->subtree = *dirTree;
    fixSubmitTree(saver, &t, root);
    treeFree(&t);
}

void fixSaveSnapshot(Repo *repo, const LbId *root, int64_t timeNs, const char *host, const char *component,
                     const char *tag, LbId *id) {
    LbError err = {0};
    Snapshot s = {0};
    s.timeNs = timeNs;
    s.tree = *root;
    s.hostname = lbXstrdup(host ? host : "testhost");
    if (component)
        s.component = lbXstrdup(component);
    snapshotAddString(&s.paths, &s.pathCount, "/dir");
    snapshotAddString(&s.tags, &s.tagCount, tag);
    assert_true(snapshotSave(repo, &s, &err));
    *id = s.id;
    snapshotClear(&s);
}

void fixBackup(Repo *repo, FixBackup *b, int64_t timeNs) {
    LbError err = {0};
    BlobSaver *saver = saverNew(repo, 1);
    Tree dir = {0};
    for (size_t f = 0; f < b->fileCount; f++) {
        const FixFile *spec = &b->files[f];
        Node *n = treeAppend(&dir);
        n->name = lbXstrdup(spec->name);
        n->type = NODE_FILE;
        n->mode = 0644;
        n->content = lbXcalloc(spec->chunkCount ? spec->chunkCount : 1, sizeof(LbId));
        n->contentCount = spec->chunkCount;
        for (size_t k = 0; k < spec->chunkCount; k++) {
            n->size += fixChunkLen(spec->seeds[k]);
            uint8_t *chunk = fixChunk(spec->seeds[k]);
            if (spec->seeds[k] >= FIX_SEED_MISSING) {
                repoBlobId(repo, chunk, fixChunkLen(spec->seeds[k]), &n->content[k]);
                free(chunk);
            } else {
                saverSubmitTake(saver, BLOB_DATA, chunk, fixChunkLen(spec->seeds[k]), &n->content[k], NULL);
            }
        }
    }
    saverWait(saver); /* the content IDs are in place */
    if (b->dirTreeMissing) {
        LbBuf enc = {0};
        treeSort(&dir);
        treeEncode(&dir, &enc);
        repoBlobId(repo, enc.data, enc.len, &b->dirTree);
        lbBufFree(&enc);
    } else {
        fixSubmitTree(saver, &dir, &b->dirTree);
        saverWait(saver);
    }
    fixSubmitRoot(saver, &b->dirTree, &b->root);
    bool ok = saverFinish(saver, &err);
    if (!ok)
        print_error("saverFinish: %s\n", err.msg);
    assert_true(ok);
    LbId *packs = saverNewPackIds(saver, &b->packCount);
    assert_true(b->packCount >= 1 && b->packCount <= 2);
    memcpy(b->packs, packs, b->packCount * sizeof(LbId));
    free(packs);
    saverFree(saver);
    treeFree(&dir);

    /* which pack is which: the tree pack holds the root tree */
    memset(&b->dataPack, 0, sizeof(LbId));
    memset(&b->treePack, 0, sizeof(LbId));
    IndexLoc loc;
    assert_true(indexLookup(repoIndex(repo), &b->root, BLOB_TREE, &loc));
    for (size_t i = 0; i < b->packCount; i++) {
        if (lbIdEqual(&b->packs[i], indexPackId(repoIndex(repo), loc.pack)))
            b->treePack = b->packs[i];
        else
            b->dataPack = b->packs[i];
    }
    fixSaveSnapshot(repo, &b->root, timeNs, b->host, b->component, b->tag, &b->snapshot);
}

void fixRemove(Repo *repo, const char *dir, const LbId *id) {
    char hex[LB_ID_HEX_LEN + 1], name[96];
    lbIdToHex(id, hex);
    snprintf(name, sizeof(name), "%s/%s", dir, hex);
    LbError err = {0};
    assert_true(storageRemove(repoStorage(repo), name, &err));
}

void fixForget(Repo *repo, const FixBackup *b) {
    fixRemove(repo, "snapshots", &b->snapshot);
}

/* Rewrite object name with bit 0 of byte pos flipped (pos < len) and cut to
 * len bytes. */
static void rewrite(Repo *repo, const char *name, size_t pos, size_t len) {
    LbBuf b = {0};
    LbError err = {0};
    assert_true(storageGet(repoStorage(repo), name, 0, 0, &b, &err));
    assert_true(len <= b.len);
    if (pos < len)
        b.data[pos] ^= 0x01;
    assert_true(storagePut(repoStorage(repo), name, b.data, len, &err));
    lbBufFree(&b);
}

void fixFlipBit(Repo *repo, const char *name, size_t pos) {
    StorageInfo info;
    LbError err = {0};
    assert_true(storageStat(repoStorage(repo), name, &info, &err));
    assert_true(pos < info.size);
    rewrite(repo, name, pos, info.size);
}

void fixTruncate(Repo *repo, const char *name, size_t len) {
    rewrite(repo, name, SIZE_MAX, len);
}

void fixReload(Repo *repo) {
    LbError err = {0};
    bool ok = repoReloadIndex(repo, &err);
    if (!ok)
        print_error("repoReloadIndex: %s\n", err.msg);
    assert_true(ok);
}

LbId fixChunkId(Repo *repo, uint64_t seed) {
    uint8_t *chunk = fixChunk(seed);
    LbId id;
    repoBlobId(repo, chunk, fixChunkLen(seed), &id);
    free(chunk);
    return id;
}

IndexLoc fixChunkLoc(Repo *repo, uint64_t seed) {
    LbId id = fixChunkId(repo, seed);
    IndexLoc loc;
    assert_true(indexLookup(repoIndex(repo), &id, BLOB_DATA, &loc));
    return loc;
}

uint64_t fixPackSize(Repo *repo, const LbId *pack) {
    char name[80];
    repoPackName(pack, name);
    StorageInfo info;
    LbError err = {0};
    assert_true(storageStat(repoStorage(repo), name, &info, &err));
    return info.exists ? info.size : 0;
}

bool fixPackExists(Repo *repo, const LbId *pack) {
    return fixPackSize(repo, pack) > 0; /* a pack is never empty */
}

typedef struct Listing {
    LbBuf text;
    size_t count;
} Listing;

static bool listCb(void *ctx, const char *name, uint64_t size) {
    Listing *l = ctx;
    char line[256];
    snprintf(line, sizeof(line), "%s %llu\n", name, (unsigned long long)size);
    lbBufAppendStr(&l->text, line);
    l->count++;
    return true;
}

size_t fixCount(Repo *repo, const char *prefix) {
    Listing l = {0};
    LbError err = {0};
    assert_true(storageList(repoStorage(repo), prefix, listCb, &l, &err));
    lbBufFree(&l.text);
    return l.count;
}

char *fixListing(Repo *repo) {
    Listing l = {0};
    LbError err = {0};
    assert_true(storageList(repoStorage(repo), "", listCb, &l, &err));
    lbBufAppend(&l.text, "", 1);
    return (char *)lbBufTake(&l.text, NULL);
}

void fixAssertUnchanged(Repo *repo, char *before) {
    char *after = fixListing(repo);
    assert_string_equal(after, before);
    free(before);
    free(after);
}

void fixAssertNothingRemoved(Repo *repo, char *before) {
    char *after = fixListing(repo);
    for (char *line = before; *line;) {
        char *end = strchr(line, '\n');
        *end = '\0';
        if (strncmp(line, "locks/", 6) != 0 && strstr(after, line) == NULL) {
            print_error("removed or changed: %s\n", line);
            fail();
        }
        line = end + 1;
    }
    free(before);
    free(after);
}

int fixRunTests(const struct CMUnitTest *tests, size_t count, const FixKnownBug *bugs, size_t bugCount) {
    int failed = _cmocka_run_group_tests("tests", tests, count, NULL, NULL);
    const char *run = getenv("LIFEBOAT_KNOWN_BUGS");
    if (run != NULL && strcmp(run, "1") == 0) {
        struct CMUnitTest *list = lbXcalloc(bugCount ? bugCount : 1, sizeof(*list));
        for (size_t i = 0; i < bugCount; i++)
            list[i] = bugs[i].test;
        failed += _cmocka_run_group_tests("known-bugs", list, bugCount, NULL, NULL);
        free(list);
        return failed;
    }
    for (size_t i = 0; i < bugCount; i++)
        printf("ok - %s # SKIP %s\n", bugs[i].test.name, bugs[i].bug);
    return failed;
}

void fixHex(const LbId *id, char out[65]) {
    lbIdToHex(id, out);
}

void fixHex8(const LbId *id, char out[9]) {
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(id, hex);
    memcpy(out, hex, 8);
    out[8] = '\0';
}

size_t fixCountLines(char **lines, size_t count, const char *a, const char *b) {
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        n += strstr(lines[i], a) != NULL && (b == NULL || strstr(lines[i], b) != NULL);
    return n;
}

void fixPrintLines(const char *what, char **lines, size_t count) {
    for (size_t i = 0; i < count; i++)
        print_message("# %s: %s\n", what, lines[i]);
}

static const FixBackup *findByTag(FixBackup *const *expect, size_t count, const Snapshot *s) {
    assert_int_equal(s->tagCount, 1);
    for (size_t i = 0; i < count; i++)
        if (strcmp(expect[i]->tag, s->tags[0]) == 0)
            return expect[i];
    print_error("unexpected snapshot tagged '%s'\n", s->tags[0]);
    fail();
    return NULL;
}

/* Load the tree blob id and decode it. */
static void loadTree(Repo *repo, const LbId *id, Tree *t) {
    LbBuf plain = {0};
    LbError err = {0};
    bool ok = repoLoadBlob(repo, BLOB_TREE, id, &plain, &err) && treeDecode(plain.data, plain.len, t, &err);
    if (!ok)
        print_error("tree: %s\n", err.msg);
    assert_true(ok);
    lbBufFree(&plain);
}

/* Read every file of b's snapshot (tree root) and compare it with its
 * chunks: chunk by chunk (sameChunks) or as a whole (a copy may cut
 * differently). */
static void verifyContent(Repo *repo, const FixBackup *b, const LbId *root, bool sameChunks) {
    Tree r = {0}, dir = {0};
    loadTree(repo, root, &r);
    assert_int_equal(r.count, 1);
    assert_string_equal(r.nodes[0].name, "dir");
    assert_int_equal(r.nodes[0].type, NODE_DIR);
    loadTree(repo, &r.nodes[0].subtree, &dir);
    assert_int_equal(dir.count, b->fileCount);
    for (size_t f = 0; f < b->fileCount; f++) {
        const FixFile *spec = &b->files[f];
        const Node *n = &dir.nodes[f];
        assert_string_equal(n->name, spec->name);
        if (sameChunks)
            assert_int_equal(n->contentCount, spec->chunkCount);
        LbBuf got = {0}, want = {0};
        for (size_t k = 0; k < n->contentCount; k++) {
            LbError err = {0};
            bool ok = repoLoadBlob(repo, BLOB_DATA, &n->content[k], &got, &err);
            if (!ok)
                print_error("file '%s' chunk %zu: %s\n", spec->name, k, err.msg);
            assert_true(ok);
            uint8_t *chunk = sameChunks ? fixChunk(spec->seeds[k]) : NULL;
            if (chunk) { /* blob k is chunk k */
                lbBufAppend(&want, chunk, fixChunkLen(spec->seeds[k]));
                assert_int_equal(got.len, want.len);
                free(chunk);
            }
        }
        for (size_t k = 0; !sameChunks && k < spec->chunkCount; k++) {
            uint8_t *chunk = fixChunk(spec->seeds[k]);
            lbBufAppend(&want, chunk, fixChunkLen(spec->seeds[k]));
            free(chunk);
        }
        assert_int_equal(got.len, want.len);
        assert_memory_equal(got.data, want.data, got.len);
        lbBufFree(&got);
        lbBufFree(&want);
    }
    treeFree(&r);
    treeFree(&dir);
}

static void verify(Repo *repo, FixBackup *const *expect, size_t count, bool copied, bool notesAllowed) {
    LbError err = {0};
    fixReload(repo);
    SnapshotList snaps = {0};
    assert_true(snapshotLoadAll(repo, &snaps, &err));
    assert_int_equal(snaps.count, count);
    for (size_t i = 0; i < snaps.count; i++) {
        const Snapshot *s = &snaps.items[i];
        const FixBackup *b = findByTag(expect, count, s);
        if (copied) {
            assert_true(s->hasOriginal);
            assert_true(lbIdEqual(&s->original, &b->snapshot));
        } else {
            assert_true(lbIdEqual(&s->tree, &b->root));
        }
        bool ok = repoCommitTreeComplete(repo, &s->tree, &err);
        if (!ok)
            print_error("snapshot '%s': %s\n", b->tag, err.msg);
        assert_true(ok);
        verifyContent(repo, b, &s->tree, !copied);
    }
    snapshotListFree(&snaps);

    fixReload(repo);
    CheckOptions co = {.readData = true};
    CheckResult cr;
    assert_true(checkRun(repo, &co, &cr, &err));
    fixPrintLines("check error", cr.errors, cr.errorCount);
    fixPrintLines("check note", cr.notes, cr.noteCount);
    assert_int_equal(cr.errorCount, 0);
    if (!notesAllowed)
        assert_int_equal(cr.noteCount, 0);
    assert_int_equal(cr.snapshots, count);
    assert_int_equal(cr.packsRead, indexPackCount(repoIndex(repo)));
    checkResultClear(&cr);
    fixReload(repo);
}

void fixVerify(Repo *repo, FixBackup *const *expect, size_t count) {
    verify(repo, expect, count, false, false);
}

void fixVerifyAfterCrash(Repo *repo, FixBackup *const *expect, size_t count) {
    verify(repo, expect, count, false, true);
}

void fixVerifyCopy(Repo *repo, FixBackup *const *expect, size_t count) {
    verify(repo, expect, count, true, false);
}
