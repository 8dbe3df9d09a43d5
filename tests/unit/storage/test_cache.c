/*
 * test_cache.c - the local cache of snapshot and index objects
 * (src/storage/wrap/cache.c) over the in-memory driver: hits and misses
 * counted on the inner storage, copies checked against their names (a
 * corrupt copy is deleted and fetched again), atomic writes (no temporary
 * file served or left behind), the LRU size bound, and copies of objects
 * gone from a listing deleted.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/id.h"
#include "crypto/crypto.h"
#include "storage/mem/mem.h"
#include "storage/wrap/cache.h"

typedef struct Fixture {
    char dir[64];
    Storage *inner; /* borrowed from the wrapper */
    Storage *cache;
} Fixture;

static Storage *openCache(Fixture *f, uint64_t maxBytes) {
    f->inner = storageMemNew();
    StorageCacheOptions o = {.dir = f->dir, .maxBytes = maxBytes};
    f->cache = storageCacheNew(f->inner, &o);
    return f->cache;
}

static int setup(void **state) {
    Fixture *f = lbXcalloc(1, sizeof(Fixture));
    snprintf(f->dir, sizeof(f->dir), "/tmp/lb-cache-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int rmEntry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state) {
    Fixture *f = *state;
    storageFree(f->cache);
    nftw(f->dir, rmEntry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* An object of len pseudo-random bytes (seeded) named dir/<its SHA-256>. */
static uint8_t *object(const char *dir, unsigned seed, size_t len, char *name) {
    uint8_t *data = lbXmalloc(len);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    LbId id;
    char hex[LB_ID_HEX_LEN + 1];
    cryptoSha256(data, len, &id);
    lbIdToHex(&id, hex);
    sprintf(name, "%s/%s", dir, hex);
    return data;
}

static uint64_t innerGets(const Fixture *f) {
    StorageStats st;
    storageGetStats(f->inner, &st);
    return st.gets;
}

static bool cached(const Fixture *f, const char *name) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    return access(path, F_OK) == 0;
}

static void getEquals(Fixture *f, const char *name, const uint8_t *want, size_t len) {
    LbBuf b = {0};
    LbError err = {0};
    assert_true(storageGet(f->cache, name, 0, 0, &b, &err));
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, want, len);
    lbBufFree(&b);
}

static void testNames(void **state) {
    (void)state;
    char name[128];
    free(object("snapshots", 1, 10, name));
    assert_true(storageCacheable(name));
    free(object("index", 1, 10, name));
    assert_true(storageCacheable(name));
    assert_false(storageCacheable("config"));
    assert_false(storageCacheable("keys/0123"));
    name[0] = 'x'; /* "xndex/..." */
    assert_false(storageCacheable(name));
    assert_false(storageCacheable("snapshots/ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"));
    assert_false(storageCacheable("snapshots/../../../../../../etc/passwd"));
}

/* Put caches; a get is then served without the inner storage, also by a
 * second wrapper on the same directory (the next run); packs are never
 * cached; reading a range goes to the inner storage. */
static void testHitAndMiss(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    openCache(f, 0);
    char snap[128], idx[128];
    uint8_t *s = object("snapshots", 1, 3000, snap), *x = object("index", 2, 5000, idx);
    assert_true(storagePut(f->cache, snap, s, 3000, &err));
    assert_true(storagePut(f->cache, "data/ab/abcd", s, 3000, &err));
    assert_true(cached(f, snap));
    assert_false(cached(f, "data/ab/abcd"));
    getEquals(f, snap, s, 3000);
    assert_int_equal(innerGets(f), 0);
    /* the index object is put behind the cache's back: first a miss, then a hit */
    assert_true(storagePut(f->inner, idx, x, 5000, &err));
    getEquals(f, idx, x, 5000);
    assert_int_equal(innerGets(f), 1);
    getEquals(f, idx, x, 5000);
    assert_int_equal(innerGets(f), 1);
    LbBuf b = {0};
    assert_true(storageGet(f->cache, idx, 10, 20, &b, &err));
    assert_int_equal(b.len, 20);
    assert_memory_equal(b.data, x + 10, 20);
    assert_int_equal(innerGets(f), 2);
    lbBufFree(&b);
    getEquals(f, "data/ab/abcd", s, 3000);
    assert_int_equal(innerGets(f), 3);
    assert_string_equal(storageDriverName(f->cache), "mem");

    /* the next run: a new wrapper, an inner storage holding the objects */
    storageFree(f->cache);
    openCache(f, 0);
    getEquals(f, snap, s, 3000);
    getEquals(f, idx, x, 5000);
    assert_int_equal(innerGets(f), 0);
    /* a copy whose object is not in the repository is still served: the
     * cache trusts names, and a listing removes stale copies (testPrune) */
    free(s);
    free(x);
}

/* A copy that does not match its name is deleted, the object fetched again
 * and the copy rewritten; an object whose bytes do not match its name is
 * never cached. */
static void testCorruptCopy(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    openCache(f, 0);
    char snap[128], path[256];
    uint8_t *s = object("snapshots", 3, 4000, snap);
    assert_true(storagePut(f->cache, snap, s, 4000, &err));
    snprintf(path, sizeof(path), "%s/%s", f->dir, snap);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    fseek(fp, 100, SEEK_SET);
    fputc(s[100] ^ 0x5a, fp);
    fclose(fp);
    getEquals(f, snap, s, 4000);
    assert_int_equal(innerGets(f), 1);
    getEquals(f, snap, s, 4000); /* rewritten: a hit again */
    assert_int_equal(innerGets(f), 1);
    /* truncated (a copy torn by a crash before its data reached the disk) */
    assert_int_equal(truncate(path, 0), 0);
    getEquals(f, snap, s, 4000);
    assert_int_equal(innerGets(f), 2);

    /* stored bytes that do not match the name: passed on, not cached */
    char other[128];
    free(object("index", 4, 100, other));
    assert_true(storagePut(f->cache, other, s, 4000, &err));
    assert_false(cached(f, other));
    getEquals(f, other, s, 4000);
    assert_false(cached(f, other));
    free(s);
}

static size_t countTemporary(const Fixture *f, const char *sub) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", f->dir, sub);
    DIR *d = opendir(path);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, ".tmp-", 5) == 0;
    closedir(d);
    return n;
}

/* Writes go through a temporary file and a rename: none is left behind, a
 * temporary file is never served, and one left by a crash long ago is
 * deleted when the cache is next scanned. */
static void testAtomicWrite(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    openCache(f, 0);
    char snap[128], path[256];
    uint8_t *s = object("snapshots", 5, 2000, snap);
    for (int i = 0; i < 3; i++)
        assert_true(storagePut(f->cache, snap, s, 2000, &err));
    assert_int_equal(countTemporary(f, "snapshots"), 0);
    /* a crash's leftovers: a fresh one (another process may be writing it)
     * and an old one */
    snprintf(path, sizeof(path), "%s/snapshots/.tmp-1-1", f->dir);
    FILE *fp = fopen(path, "wb");
    fputs("partial", fp);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/snapshots/.tmp-1-2", f->dir);
    fp = fopen(path, "wb");
    fputs("partial", fp);
    fclose(fp);
    struct timespec old[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
    assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
    storageFree(f->cache);
    openCache(f, 0);
    char snap2[128];
    uint8_t *s2 = object("snapshots", 6, 2000, snap2);
    assert_true(storagePut(f->cache, snap2, s2, 2000, &err)); /* the first write scans */
    assert_int_equal(countTemporary(f, "snapshots"), 1);
    assert_int_equal(access(path, F_OK), -1);
    free(s);
    free(s2);
}

static void setAtime(const Fixture *f, const char *name, time_t t) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    struct timespec times[2] = {{.tv_sec = t}, {.tv_nsec = UTIME_OMIT}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* Past the bound, the least recently used copies go until 90 % of it is
 * left; a get counts as a use. */
static void testLruBound(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    openCache(f, 10000);
    char names[5][128];
    uint8_t *data[5];
    for (int i = 0; i < 5; i++)
        data[i] = object(i % 2 ? "index" : "snapshots", 10 + (unsigned)i, 3000, names[i]);
    time_t now = time(NULL);
    for (int i = 0; i < 3; i++)
        assert_true(storagePut(f->cache, names[i], data[i], 3000, &err));
    setAtime(f, names[0], now - 300);
    setAtime(f, names[1], now - 200);
    setAtime(f, names[2], now - 100);
    getEquals(f, names[0], data[0], 3000); /* used now: the most recent */
    assert_int_equal(innerGets(f), 0);
    /* 12000 > 10000: the least recently used (1) goes, 9000 <= 9000 */
    assert_true(storagePut(f->cache, names[3], data[3], 3000, &err));
    assert_true(cached(f, names[0]));
    assert_false(cached(f, names[1]));
    assert_true(cached(f, names[2]));
    assert_true(cached(f, names[3]));
    setAtime(f, names[2], now - 500);
    setAtime(f, names[3], now - 400);
    assert_true(storagePut(f->cache, names[4], data[4], 3000, &err));
    assert_false(cached(f, names[2]));
    assert_true(cached(f, names[0]) && cached(f, names[3]) && cached(f, names[4]));
    /* an evicted object is still read, from the repository */
    getEquals(f, names[1], data[1], 3000);
    assert_int_equal(innerGets(f), 1);
    for (int i = 0; i < 5; i++)
        free(data[i]);
}

typedef struct Seen {
    size_t count, stopAt;
} Seen;
static bool countCb(void *ctx, const char *name, uint64_t size) {
    (void)name;
    (void)size;
    Seen *s = ctx;
    return ++s->count != s->stopAt;
}

/* A complete listing of snapshots/ or index/ deletes the copies of objects
 * it lacks (forgotten by another host); one stopped early deletes nothing. */
static void testPrune(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    openCache(f, 0);
    char a[128], b[128], c[128];
    uint8_t *da = object("snapshots", 20, 500, a), *db = object("snapshots", 21, 500, b),
            *dc = object("snapshots", 22, 500, c);
    assert_true(storagePut(f->cache, a, da, 500, &err));
    assert_true(storagePut(f->cache, b, db, 500, &err));
    assert_true(storagePut(f->cache, c, dc, 500, &err));
    assert_true(storageRemove(f->inner, b, &err));
    assert_true(storageRemove(f->inner, c, &err));
    Seen s = {.stopAt = 1};
    assert_true(storageList(f->cache, "snapshots/", countCb, &s, &err));
    assert_true(cached(f, b) && cached(f, c));
    s = (Seen){0};
    assert_true(storageList(f->cache, "snapshots/", countCb, &s, &err));
    assert_int_equal(s.count, 1);
    assert_true(cached(f, a));
    assert_false(cached(f, b));
    assert_false(cached(f, c));
    /* remove through the wrapper drops the copy */
    assert_true(storageRemove(f->cache, a, &err));
    assert_false(cached(f, a));
    free(da);
    free(db);
    free(dc);
}

/* Packs: kept only through storageCacheGetKeep (the tree packs), then served
 * whole from the copy; a plain get never keeps one; a listing of data/
 * deletes copies of packs gone. */
static void testPackOnRequest(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    openCache(f, 0);
    char t[128], d[128], tname[160], dname[160], copy[200];
    uint8_t *tp = object("x", 30, 6000, t), *dp = object("x", 31, 6000, d);
    snprintf(tname, sizeof(tname), "data/%.2s/%s", t + 2, t + 2);
    snprintf(dname, sizeof(dname), "data/%.2s/%s", d + 2, d + 2);
    snprintf(copy, sizeof(copy), "data/%s", t + 2);
    assert_true(storagePut(f->cache, tname, tp, 6000, &err));
    assert_true(storagePut(f->cache, dname, dp, 6000, &err));
    assert_false(cached(f, copy));
    getEquals(f, dname, dp, 6000);
    getEquals(f, tname, tp, 6000);
    assert_false(cached(f, copy));
    assert_int_equal(innerGets(f), 2);
    LbBuf b = {0};
    assert_true(storageCacheGetKeep(f->cache, tname, &b, &err));
    assert_int_equal(innerGets(f), 3);
    assert_true(cached(f, copy));
    lbBufClear(&b);
    assert_true(storageCacheGetKeep(f->cache, tname, &b, &err));
    assert_int_equal(b.len, 6000);
    assert_memory_equal(b.data, tp, 6000);
    getEquals(f, tname, tp, 6000);
    assert_int_equal(innerGets(f), 3);
    lbBufFree(&b);
    /* not a cache wrapper: a plain get */
    assert_true(storageCacheGetKeep(f->inner, tname, &b, &err));
    assert_int_equal(innerGets(f), 4);
    lbBufFree(&b);
    char dcopy[200];
    snprintf(dcopy, sizeof(dcopy), "data/%s", d + 2);
    assert_true(storageCacheGetKeep(f->cache, dname, &b, &err));
    lbBufFree(&b);
    assert_true(storageRemove(f->inner, tname, &err));
    Seen s = {0};
    assert_true(storageList(f->cache, "data/", countCb, &s, &err));
    assert_int_equal(s.count, 1);
    assert_false(cached(f, copy));
    assert_true(cached(f, dcopy)); /* still in the repository: kept */
    free(tp);
    free(dp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testNames),
        cmocka_unit_test_setup_teardown(testHitAndMiss, setup, teardown),
        cmocka_unit_test_setup_teardown(testCorruptCopy, setup, teardown),
        cmocka_unit_test_setup_teardown(testAtomicWrite, setup, teardown),
        cmocka_unit_test_setup_teardown(testLruBound, setup, teardown),
        cmocka_unit_test_setup_teardown(testPrune, setup, teardown),
        cmocka_unit_test_setup_teardown(testPackOnRequest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
