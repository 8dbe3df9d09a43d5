/*
 * test_index_blocks.c - unit tests for the index's storage (src/index):
 * records in blocks of 65,536 (block 0 grown by doubling, later blocks
 * full), entry numbers in insertion order and stable, the full blocks beyond
 * LIFEBOAT_INDEX_MMAP_BLOBS written to an unlinked file under $TMPDIR and
 * read back from it (and the fallback to memory when that file cannot be
 * made), larger slot tables mapped from such files, and the posmap
 * helpers (bitmaps, entries grouped by pack) that prune and check use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/index.h"
#include "index/posmap.h"

/***********************************************************************************************************************
 * Helpers
 **********************************************************************************************************************/

#define BLOCK 65536u

static uint64_t testRand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The i-th ID of a seeded sequence, made again on demand (no array kept). */
static LbId nthId(uint64_t seed, size_t i) {
    uint64_t s = seed * 1000003u + i * 4;
    LbId id;
    for (int k = 0; k < LB_ID_LEN; k += 8) {
        uint64_t v = testRand(&s);
        memcpy(id.b + k, &v, 8);
    }
    return id;
}

static PackEntry nthEntry(uint64_t seed, size_t i) {
    return (PackEntry){.id = nthId(seed, i),
                       .type = (uint8_t)(i % 3 == 0 ? BLOB_TREE : BLOB_DATA),
                       .flags = (uint8_t)(i % 2),
                       .offset = (uint32_t)i * 5,
                       .length = (uint32_t)i + 40,
                       .rawLength = (uint32_t)i * 2 + 1};
}

static uint32_t nthPack(size_t i) {
    return (uint32_t)((i * 7919) % 13);
}

/* Fill ix with n entries of the seeded sequence, 13 packs. */
static void fill(Index *ix, uint64_t seed, size_t n) {
    for (uint32_t p = 0; p < 13; p++) {
        LbId pid = nthId(seed + 99, p);
        assert_int_equal(indexAddPack(ix, &pid), p);
    }
    for (size_t i = 0; i < n; i++) {
        PackEntry e = nthEntry(seed, i);
        assert_true(indexAdd(ix, nthPack(i), &e));
    }
    assert_int_equal(indexBlobCount(ix), n);
}

/* Every entry is found with its location at entry number i (insertion
 * order), the same ID with the other type and unknown IDs are not. */
static void verify(const Index *ix, uint64_t seed, size_t n) {
    for (size_t i = 0; i < n; i++) {
        PackEntry e = nthEntry(seed, i);
        IndexLoc loc;
        size_t pos = SIZE_MAX;
        assert_true(indexLookup(ix, &e.id, (BlobType)e.type, &loc));
        assert_int_equal(loc.pack, nthPack(i));
        assert_int_equal(loc.offset, e.offset);
        assert_int_equal(loc.length, e.length);
        assert_int_equal(loc.rawLength, e.rawLength);
        assert_int_equal(loc.type, e.type);
        assert_int_equal(loc.flags, e.flags);
        assert_true(indexLookupPos(ix, &e.id, (BlobType)e.type, &pos));
        assert_int_equal(pos, i);
        assert_false(indexHas(ix, &e.id, e.type == BLOB_TREE ? BLOB_DATA : BLOB_TREE));
        LbId id;
        indexEntryAt(ix, i, &id, &loc);
        assert_memory_equal(id.b, e.id.b, LB_ID_LEN);
        assert_int_equal(loc.length, e.length);
    }
    for (size_t i = 0; i < 2000; i++) {
        LbId other = nthId(seed + 7, i);
        assert_false(indexHas(ix, &other, BLOB_DATA));
        assert_false(indexHas(ix, &other, BLOB_TREE));
    }
}

#define BLOCK_BYTES (BLOCK * 50u)

/* What this process keeps in files under dir: blocks = bytes of the files
 * it holds open there (the index's block file; a mapped file's descriptor
 * is closed once mapped), other = bytes it maps from files there (slot
 * tables and grouping arrays). The files are unlinked: /proc/self/fd and
 * /proc/self/maps show them as "dir/#inode (deleted)" or
 * "dir/lifeboat-index-… (deleted)". */
typedef struct Mapped {
    size_t blocks, other;
} Mapped;

static Mapped mappedUnder(const char *dir) {
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[4096];
    Mapped m = {0, 0};
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (strstr(line, dir) != NULL && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
            m.other += hi - lo;
    }
    fclose(f);
    DIR *fds = opendir("/proc/self/fd");
    assert_non_null(fds);
    for (struct dirent *de; (de = readdir(fds)) != NULL;) {
        char link[300], target[4096];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        struct stat st;
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strstr(target, dir) != NULL && stat(link, &st) == 0)
            m.blocks += (size_t)st.st_size;
    }
    closedir(fds);
    return m;
}

/* Point the index's file at tmpdir with threshold blobs (NULL: unset) for
 * the indexNew calls that follow; mapEnvRestore puts $TMPDIR back. */
static char *savedTmp;

static void mapEnvSet(const char *tmpdir, const char *blobs) {
    free(savedTmp);
    savedTmp = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
    setenv("TMPDIR", tmpdir, 1);
    if (blobs)
        setenv("LIFEBOAT_INDEX_MMAP_BLOBS", blobs, 1);
    else
        unsetenv("LIFEBOAT_INDEX_MMAP_BLOBS");
}

static void mapEnvRestore(void) {
    if (savedTmp)
        setenv("TMPDIR", savedTmp, 1);
    else
        unsetenv("TMPDIR");
    unsetenv("LIFEBOAT_INDEX_MMAP_BLOBS");
    free(savedTmp);
    savedTmp = NULL;
}

static char *makeTmpDir(void) {
    char tmpl[] = "/tmp/lb-index-XXXXXX";
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    return strdup(dir);
}

/***********************************************************************************************************************
 * Tests
 **********************************************************************************************************************/

/* Across block boundaries (block 0 grown from 64 records, then full blocks):
 * every entry is found, at its insertion-order number, including those just
 * before and after each boundary. */
static void testAcrossBlocks(void **state) {
    (void)state;
    unsetenv("LIFEBOAT_INDEX_MMAP_BLOBS");
    size_t n = 3 * BLOCK + 17;
    Index *ix = indexNew();
    fill(ix, 1, n);
    verify(ix, 1, n);
    /* a duplicate in a later block is refused and changes nothing */
    PackEntry again = nthEntry(1, 2 * BLOCK + 1);
    assert_false(indexAdd(ix, 0, &again));
    assert_int_equal(indexBlobCount(ix), n);
    indexFree(ix);
}

/* Entry numbers handed out early stay valid while the table rehashes and
 * new blocks are added. */
static void testPositionsStable(void **state) {
    (void)state;
    unsetenv("LIFEBOAT_INDEX_MMAP_BLOBS");
    Index *ix = indexNew();
    fill(ix, 2, 100);
    size_t early[100];
    for (size_t i = 0; i < 100; i++) {
        PackEntry e = nthEntry(2, i);
        assert_true(indexLookupPos(ix, &e.id, (BlobType)e.type, &early[i]));
    }
    for (size_t i = 100; i < 2 * BLOCK + 5; i++) {
        PackEntry e = nthEntry(2, i);
        assert_true(indexAdd(ix, nthPack(i), &e));
    }
    for (size_t i = 0; i < 100; i++) {
        PackEntry e = nthEntry(2, i);
        size_t pos;
        assert_true(indexLookupPos(ix, &e.id, (BlobType)e.type, &pos));
        assert_int_equal(pos, early[i]);
        LbId id;
        indexEntryAt(ix, early[i], &id, NULL);
        assert_memory_equal(id.b, e.id.b, LB_ID_LEN);
    }
    indexFree(ix);
}

typedef struct OrderCtx {
    uint64_t seed;
    size_t visits, wrong, stopAfter;
} OrderCtx;

static bool orderCb(void *ctx, const LbId *id, const IndexLoc *loc) {
    OrderCtx *o = ctx;
    PackEntry e = nthEntry(o->seed, o->visits);
    if (memcmp(id->b, e.id.b, LB_ID_LEN) != 0 || loc->offset != e.offset || loc->pack != nthPack(o->visits))
        o->wrong++;
    o->visits++;
    return o->stopAfter == 0 || o->visits < o->stopAfter;
}

/* indexForEach visits every blob once, in entry-number order, across blocks,
 * and stops when the callback says so (also right at a block boundary). */
static void testForEachOrder(void **state) {
    (void)state;
    unsetenv("LIFEBOAT_INDEX_MMAP_BLOBS");
    size_t n = BLOCK + 300;
    Index *ix = indexNew();
    fill(ix, 3, n);
    OrderCtx all = {.seed = 3};
    indexForEach(ix, orderCb, &all);
    assert_int_equal(all.visits, n);
    assert_int_equal(all.wrong, 0);
    OrderCtx stop = {.seed = 3, .stopAfter = BLOCK};
    indexForEach(ix, orderCb, &stop);
    assert_int_equal(stop.visits, BLOCK);
    assert_int_equal(stop.wrong, 0);
    indexFree(ix);
}

/* With LIFEBOAT_INDEX_MMAP_BLOBS=0 the slot table is mapped from a file
 * under $TMPDIR and every full block after the first is written to another
 * (the block being filled stays in memory); lookups, positions and visits
 * are the same, and freeing the index closes and unmaps them. */
static void testMappedBlocks(void **state) {
    (void)state;
    char *dir = makeTmpDir();
    mapEnvSet(dir, "0");
    size_t n = 3 * BLOCK + 1;
    Index *ix = indexNew();
    fill(ix, 4, BLOCK);
    Mapped m = mappedUnder(dir);
    assert_int_equal(m.blocks, 0); /* block 0 is always in memory */
    assert_true(m.other > 0);      /* the slot table */
    for (size_t i = BLOCK; i < n; i++) {
        PackEntry e = nthEntry(4, i);
        assert_true(indexAdd(ix, nthPack(i), &e));
    }
    m = mappedUnder(dir);
    assert_int_equal(m.blocks, 2 * BLOCK_BYTES); /* blocks 1 and 2; block 3 is being filled */
    assert_true(m.other >= 4 * n);               /* at least one slot per blob */
    verify(ix, 4, n);
    /* entries read back in any order, from two indexes in turn (each
     * thread keeps a window of the last records read from a file) */
    Index *other = indexNew();
    fill(other, 9, 2 * BLOCK + 1);
    uint64_t r = 77;
    for (size_t k = 0; k < 20000; k++) {
        size_t i = (size_t)(testRand(&r) % n), j = (size_t)(testRand(&r) % (2 * BLOCK + 1));
        if (k % 1000 == 0) /* around block starts, where windows are shorter */
            i = BLOCK * (1 + k / 1000 % 2) - 1 + k / 2000 % 3;
        LbId id;
        IndexLoc loc;
        indexEntryAt(ix, i, &id, &loc);
        PackEntry e = nthEntry(4, i);
        assert_memory_equal(id.b, e.id.b, LB_ID_LEN);
        assert_int_equal(loc.offset, e.offset);
        assert_int_equal(loc.pack, nthPack(i));
        indexEntryAt(other, j, &id, NULL);
        e = nthEntry(9, j);
        assert_memory_equal(id.b, e.id.b, LB_ID_LEN);
    }
    indexFree(other);
    OrderCtx all = {.seed = 4};
    indexForEach(ix, orderCb, &all);
    assert_int_equal(all.visits, n);
    assert_int_equal(all.wrong, 0);
    indexFree(ix);
    m = mappedUnder(dir);
    assert_int_equal(m.blocks + m.other, 0);
    assert_int_equal(rmdir(dir), 0); /* the files were never linked there (or unlinked at once) */
    mapEnvRestore();
    free(dir);
}

/* A threshold counts elements: at 2 blocks' worth, a slot table of up to
 * 131,072 slots stays in memory and a larger one is mapped, blocks 0 and 1
 * stay in memory and block 2 goes to the file once full; "off" keeps
 * everything in memory. */
static void testThresholdAndOff(void **state) {
    (void)state;
    char *dir = makeTmpDir();
    mapEnvSet(dir, "131072");
    Index *ix = indexNew();
    fill(ix, 5, 98304); /* 3/4 of 131,072 slots: not grown yet */
    Mapped m = mappedUnder(dir);
    assert_int_equal(m.blocks + m.other, 0);
    PackEntry e = nthEntry(5, 98304);
    assert_true(indexAdd(ix, nthPack(98304), &e)); /* 262,144 slots */
    m = mappedUnder(dir);
    assert_int_equal(m.blocks, 0);
    assert_int_equal(m.other, 262144 * 4);
    for (size_t i = 98305; i <= 3 * BLOCK; i++) {
        e = nthEntry(5, i);
        assert_true(indexAdd(ix, nthPack(i), &e));
        if (i == 3 * BLOCK - 1)
            assert_int_equal(mappedUnder(dir).blocks, 0);
    }
    assert_int_equal(mappedUnder(dir).blocks, BLOCK_BYTES);
    verify(ix, 5, 3 * BLOCK + 1);
    indexFree(ix);

    setenv("LIFEBOAT_INDEX_MMAP_BLOBS", "off", 1);
    ix = indexNew();
    fill(ix, 6, 2 * BLOCK + 10);
    m = mappedUnder(dir);
    assert_int_equal(m.blocks + m.other, 0);
    verify(ix, 6, 2 * BLOCK + 10);
    indexFree(ix);
    assert_int_equal(rmdir(dir), 0);
    mapEnvRestore();
    free(dir);
}

/* When the file cannot be made ($TMPDIR does not exist), the blocks stay in
 * memory and the index works the same. */
static void testMapFallback(void **state) {
    (void)state;
    mapEnvSet("/nonexistent/lifeboat-index-test", "0");
    Index *ix = indexNew();
    fill(ix, 7, 2 * BLOCK + 3);
    verify(ix, 7, 2 * BLOCK + 3);
    indexFree(ix);
    mapEnvRestore();
}

/* indexByPackBuild lists each entry exactly once under its own pack, in
 * ascending entry-number order; packs without blobs have empty ranges. The
 * array is in memory, or mapped when threshold is "0". */
static void checkByPack(const char *threshold) {
    char *dir = makeTmpDir();
    mapEnvSet(dir, threshold);
    size_t n = BLOCK + 77;
    Index *ix = indexNew();
    fill(ix, 8, n);
    LbId extra = nthId(8 + 99, 13);
    assert_int_equal(indexAddPack(ix, &extra), 13); /* a pack with no blobs */
    IndexByPack bp;
    size_t before = mappedUnder(dir).other;
    indexByPackBuild(ix, &bp);
    assert_int_equal(bp.mapped, strcmp(threshold, "0") == 0);
    assert_int_equal(mappedUnder(dir).other - before, bp.mapped ? (n * 4 + 4095) / 4096 * 4096 : 0);
    assert_int_equal(bp.packCount, 14);
    assert_int_equal(bp.start[0], 0);
    assert_int_equal(bp.start[14], n);
    assert_int_equal(bp.start[13], bp.start[14]);
    IndexBits seen;
    indexBitsInit(&seen, n);
    for (uint32_t p = 0; p < 14; p++) {
        for (size_t i = bp.start[p]; i < bp.start[p + 1]; i++) {
            size_t pos = bp.pos[i];
            assert_true(pos < n);
            assert_int_equal(nthPack(pos), p);
            assert_false(indexBitsGet(&seen, pos));
            indexBitsSet(&seen, pos);
            if (i > bp.start[p])
                assert_true(bp.pos[i - 1] < pos);
        }
    }
    for (size_t pos = 0; pos < n; pos++)
        assert_true(indexBitsGet(&seen, pos));
    indexBitsClearAll(&seen);
    for (size_t pos = 0; pos < n; pos++)
        assert_false(indexBitsGet(&seen, pos));
    indexBitsFree(&seen);
    indexByPackFree(&bp);
    assert_null(bp.pos);
    assert_int_equal(mappedUnder(dir).other, before);
    indexFree(ix);
    assert_int_equal(rmdir(dir), 0);
    mapEnvRestore();
    free(dir);
}

static void testByPack(void **state) {
    (void)state;
    checkByPack("off");
    checkByPack("0");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testAcrossBlocks), cmocka_unit_test(testPositionsStable), cmocka_unit_test(testForEachOrder),
        cmocka_unit_test(testMappedBlocks), cmocka_unit_test(testThresholdAndOff), cmocka_unit_test(testMapFallback),
        cmocka_unit_test(testByPack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
