/* harness.c - the borrowing storage driver and the stderr capture of harness.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo/saver.h"
#include "snapshot/tree.h"

#include "harness.h"

typedef struct Borrow {
    Storage *inner;
    Faults faults;
    Faults *shared; /* when set, used instead of faults */
} Borrow;

static const Faults *faultsOf(const Borrow *b) {
    return b->shared ? b->shared : &b->faults;
}

static bool under(const char *name, const char *prefix) {
    return prefix != NULL && strncmp(name, prefix, strlen(prefix)) == 0;
}

static bool injected(const Borrow *b, const char *which, const char *name, LbError *err) {
    const Faults *f = faultsOf(b);
    const char *prefix = which[0] == 'p'   ? f->put
                         : which[0] == 'g' ? f->get
                         : which[0] == 'l' ? f->list
                         : which[0] == 'r' ? f->remove
                                           : f->stat;
    if (!under(name, prefix))
        return false;
    lbErr(err, LB_ERR_IO, "unable to %s '%s': injected failure", which, name);
    return true;
}

static bool borrowPut(void *d, const char *name, const uint8_t *data, size_t len, LbError *err) {
    Borrow *b = d;
    if (injected(b, "put", name, err))
        return false;
    const Faults *f = faultsOf(b);
    if (under(name, f->drop))
        return true;
    if (!storagePut(b->inner, name, data, len, err))
        return false;
    if (f->onPut)
        f->onPut(f->onPutCtx, name);
    return true;
}
static bool borrowGet(void *d, const char *name, uint64_t off, uint64_t len, LbBuf *out, LbError *err) {
    if (injected(d, "get", name, err))
        return false;
    return storageGet(((Borrow *)d)->inner, name, off, len, out, err);
}
static bool borrowList(void *d, const char *prefix, StorageListCb cb, void *ctx, LbError *err) {
    if (injected(d, "list", prefix, err))
        return false;
    return storageList(((Borrow *)d)->inner, prefix, cb, ctx, err);
}
static bool borrowRemove(void *d, const char *name, LbError *err) {
    if (injected(d, "remove", name, err))
        return false;
    return storageRemove(((Borrow *)d)->inner, name, err);
}
static bool borrowStat(void *d, const char *name, StorageInfo *info, LbError *err) {
    if (injected(d, "stat", name, err))
        return false;
    return storageStat(((Borrow *)d)->inner, name, info, err);
}
static void borrowFree(void *d) {
    free(d);
}

static const StorageInterface borrowIface = {
    .name = "borrow",
    .put = borrowPut,
    .get = borrowGet,
    .list = borrowList,
    .remove = borrowRemove,
    .stat = borrowStat,
    .free = borrowFree,
};

Storage *borrow(Storage *inner, const char *failPutPrefix) {
    Borrow *b = lbXcalloc(1, sizeof(*b));
    b->inner = inner;
    b->faults.put = failPutPrefix;
    return storageNewDriver(&borrowIface, b, "mem:test");
}

Storage *borrowFaulty(Storage *inner, Faults *faults) {
    Borrow *b = lbXcalloc(1, sizeof(*b));
    b->inner = inner;
    b->shared = faults;
    return storageNewDriver(&borrowIface, b, "mem:test");
}

void captureBegin(Capture *c) {
    fflush(stderr);
    c->file = tmpfile();
    assert_non_null(c->file);
    c->saved = dup(2);
    assert_true(c->saved >= 0);
    assert_true(dup2(fileno(c->file), 2) >= 0);
}

char *captureEnd(Capture *c) {
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    long n = ftell(c->file);
    if (n < 0)
        n = 0;
    char *text = lbXcalloc(1, (size_t)n + 1);
    rewind(c->file);
    size_t got = fread(text, 1, (size_t)n, c->file);
    text[got] = '\0';
    fclose(c->file);
    return text;
}

static bool countOne(void *ctx, const char *name, uint64_t size) {
    (void)name;
    (void)size;
    (*(size_t *)ctx)++;
    return true;
}

size_t countObjects(Storage *store, const char *prefix) {
    size_t n = 0;
    LbError err = {0};
    assert_true(storageList(store, prefix, countOne, &n, &err));
    return n;
}

void removeObject(Storage *store, const char *dir, const LbId *id) {
    char hex[LB_ID_HEX_LEN + 1], name[128];
    lbIdToHex(id, hex);
    if (strcmp(dir, "data") == 0)
        repoPackName(id, name);
    else
        snprintf(name, sizeof(name), "%s/%s", dir, hex);
    LbError err = {0};
    StorageInfo info;
    assert_true(storageStat(store, name, &info, &err));
    assert_true(info.exists);
    assert_true(storageRemove(store, name, &err));
}

static uint8_t *randomBytes(size_t len, unsigned seed) {
    uint8_t *p = malloc(len);
    srand(seed);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)rand();
    return p;
}

bool storeFile(Repo *repo, const char *name, unsigned seed, Stored *out, LbError *err) {
    memset(out, 0, sizeof(*out));
    BlobSaver *saver = saverNew(repo, 1);
    saverSubmitTake(saver, BLOB_DATA, randomBytes(4096, seed), 4096, &out->data, NULL);
    saverWait(saver);
    Tree t = {0};
    Node *n = treeAppend(&t);
    n->name = strdup(name);
    n->type = NODE_FILE;
    n->mode = 0644;
    n->size = 4096;
    n->content = malloc(sizeof(LbId));
    n->content[0] = out->data;
    n->contentCount = 1;
    LbBuf plain = {0};
    treeEncode(&t, &plain);
    treeFree(&t);
    uint8_t *copy = malloc(plain.len);
    memcpy(copy, plain.data, plain.len);
    saverSubmitTake(saver, BLOB_TREE, copy, plain.len, &out->tree, NULL);
    lbBufFree(&plain);
    bool ok = saverFinish(saver, err);
    out->packs = saverNewPackIds(saver, &out->packCount);
    saverFree(saver);
    return ok;
}

void snapshotOf(const Stored *s, Snapshot *snap) {
    memset(snap, 0, sizeof(*snap));
    snap->timeNs = 1700000000000000000LL;
    snap->tree = s->tree;
    snap->hostname = strdup("test-host");
    snap->username = strdup("tester");
}
