/* harness.c - the borrowing storage driver and the stderr capture of harness.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    if (under(name, faultsOf(b)->drop))
        return true;
    return storagePut(b->inner, name, data, len, err);
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
