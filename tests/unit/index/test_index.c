/*
 * test_index.c - unit tests for src/index (in-memory blob index and the
 * index file codec).
 *
 * IDs come from a seeded splitmix64 generator, so every run uses the same
 * "random" IDs; a few tests build IDs that share their first 8 bytes (the
 * bytes the table hashes) to force long probe chains.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index.h"

/***********************************************************************************************************************
 * Helpers
 **********************************************************************************************************************/

static uint64_t testRand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static LbId randomId(uint64_t *s) {
    LbId id;
    for (int i = 0; i < LB_ID_LEN; i += 8) {
        uint64_t v = testRand(s);
        memcpy(id.b + i, &v, 8);
    }
    return id;
}

static PackEntry makeEntry(const LbId *id, BlobType type, uint32_t n) {
    return (PackEntry){.id = *id,
                       .type = (uint8_t)type,
                       .flags = (uint8_t)(n % 2),
                       .offset = n * 7,
                       .length = n + 28,
                       .rawLength = n * 3 + 1};
}

static void assertLoc(const IndexLoc *loc, uint32_t pack, const PackEntry *e) {
    assert_int_equal(loc->pack, pack);
    assert_int_equal(loc->offset, e->offset);
    assert_int_equal(loc->length, e->length);
    assert_int_equal(loc->rawLength, e->rawLength);
    assert_int_equal(loc->type, e->type);
    assert_int_equal(loc->flags, e->flags);
}

/* Three packs (one empty) with entries of both types, for the codec tests. */
typedef struct TestPacks {
    IndexPack packs[3];
    size_t count;
} TestPacks;

static void makePacks(TestPacks *tp, uint64_t seed) {
    static const size_t counts[] = {5, 0, 17};
    tp->count = 3;
    for (size_t p = 0; p < tp->count; p++) {
        tp->packs[p].id = randomId(&seed);
        tp->packs[p].count = counts[p];
        tp->packs[p].entries = calloc(counts[p] ? counts[p] : 1, sizeof(PackEntry));
        for (size_t i = 0; i < counts[p]; i++) {
            LbId id = randomId(&seed);
            tp->packs[p].entries[i] = makeEntry(&id, (BlobType)(i % 2), (uint32_t)(p * 100 + i));
        }
    }
}

static void freePacks(TestPacks *tp) {
    for (size_t p = 0; p < tp->count; p++)
        free(tp->packs[p].entries);
}

static void encodePacks(const TestPacks *tp, LbBuf *out) {
    indexEncode(tp->packs, tp->count, out);
}

static void expectDecodeFails(const uint8_t *data, size_t len, LbErrorCode code) {
    Index *ix = indexNew();
    LbError err = {0};
    assert_false(indexDecodeInto(ix, data, len, &err));
    assert_int_equal(err.code, code);
    assert_true(err.msg[0] != '\0');
    indexFree(ix);
}

/***********************************************************************************************************************
 * Table
 **********************************************************************************************************************/

/* An empty index finds nothing and visits nothing. */
static void testEmpty(void **state) {
    (void)state;
    Index *ix = indexNew();
    uint64_t seed = 1;
    LbId id = randomId(&seed);
    IndexLoc loc;
    assert_false(indexLookup(ix, &id, BLOB_DATA, &loc));
    assert_false(indexHas(ix, &id, BLOB_TREE));
    assert_int_equal(indexBlobCount(ix), 0);
    assert_int_equal(indexPackCount(ix), 0);
    indexFree(ix);
    indexFree(NULL);
}

/* Thousands of random IDs (several rehashes from the initial 1024 slots):
 * every one is found with its own location, and IDs never added are not. */
static void testManyRandomIds(void **state) {
    (void)state;
    enum { N = 20000 };
    Index *ix = indexNew();
    uint64_t seed = 42;
    LbId *ids = malloc(N * sizeof(LbId));
    uint32_t packs[4];
    for (int p = 0; p < 4; p++) {
        LbId pid = randomId(&seed);
        packs[p] = indexAddPack(ix, &pid);
        assert_int_equal(packs[p], p);
    }
    for (uint32_t i = 0; i < N; i++) {
        ids[i] = randomId(&seed);
        PackEntry e = makeEntry(&ids[i], (BlobType)(i % 2), i);
        assert_true(indexAdd(ix, packs[i % 4], &e));
        assert_int_equal(indexBlobCount(ix), i + 1);
        /* the most recent and the first stay findable across every rehash */
        assert_true(indexHas(ix, &ids[i], (BlobType)(i % 2)));
        assert_true(indexHas(ix, &ids[0], BLOB_DATA));
    }
    for (uint32_t i = 0; i < N; i++) {
        IndexLoc loc;
        PackEntry e = makeEntry(&ids[i], (BlobType)(i % 2), i);
        assert_true(indexLookup(ix, &ids[i], (BlobType)(i % 2), &loc));
        assertLoc(&loc, packs[i % 4], &e);
        /* same ID, other type: never added */
        assert_false(indexHas(ix, &ids[i], (BlobType)((i + 1) % 2)));
    }
    for (int i = 0; i < 1000; i++) {
        LbId other = randomId(&seed);
        assert_false(indexHas(ix, &other, BLOB_DATA));
        assert_false(indexHas(ix, &other, BLOB_TREE));
    }
    assert_int_equal(indexPackCount(ix), 4);
    free(ids);
    indexFree(ix);
}

/* IDs that share their first 8 bytes all hash to one slot: the probe chain
 * must still tell them apart, across a rehash. */
static void testCollidingIds(void **state) {
    (void)state;
    enum { N = 1500 };
    Index *ix = indexNew();
    uint32_t p = 0;
    LbId *ids = calloc(N, sizeof(LbId));
    for (uint32_t i = 0; i < N; i++) {
        memset(ids[i].b, 0xab, 8);
        lbPutU32(ids[i].b + 28, i);
        PackEntry e = makeEntry(&ids[i], BLOB_TREE, i);
        assert_true(indexAdd(ix, p, &e));
    }
    for (uint32_t i = 0; i < N; i++) {
        IndexLoc loc;
        PackEntry e = makeEntry(&ids[i], BLOB_TREE, i);
        assert_true(indexLookup(ix, &ids[i], BLOB_TREE, &loc));
        assertLoc(&loc, p, &e);
        assert_false(indexHas(ix, &ids[i], BLOB_DATA));
    }
    LbId absent = ids[0];
    lbPutU32(absent.b + 28, N + 5);
    assert_false(indexHas(ix, &absent, BLOB_TREE));
    free(ids);
    indexFree(ix);
}

/* A duplicate add returns false and keeps the first location; the count
 * does not change. */
static void testDuplicateKeepsFirst(void **state) {
    (void)state;
    Index *ix = indexNew();
    uint64_t seed = 7;
    LbId id = randomId(&seed);
    PackEntry first = makeEntry(&id, BLOB_DATA, 10);
    PackEntry second = makeEntry(&id, BLOB_DATA, 20);
    assert_true(indexAdd(ix, 3, &first));
    assert_false(indexAdd(ix, 5, &second));
    assert_false(indexAdd(ix, 3, &first));
    assert_int_equal(indexBlobCount(ix), 1);
    IndexLoc loc;
    assert_true(indexLookup(ix, &id, BLOB_DATA, &loc));
    assertLoc(&loc, 3, &first);
    /* lookup with a NULL out only answers presence */
    assert_true(indexLookup(ix, &id, BLOB_DATA, NULL));
    indexFree(ix);
}

/* The same ID as a data blob and as a tree blob is two entries. */
static void testSameIdDifferentType(void **state) {
    (void)state;
    Index *ix = indexNew();
    uint64_t seed = 9;
    LbId id = randomId(&seed);
    PackEntry data = makeEntry(&id, BLOB_DATA, 1);
    PackEntry tree = makeEntry(&id, BLOB_TREE, 2);
    assert_true(indexAdd(ix, 0, &data));
    assert_true(indexAdd(ix, 1, &tree));
    assert_int_equal(indexBlobCount(ix), 2);
    IndexLoc loc;
    assert_true(indexLookup(ix, &id, BLOB_DATA, &loc));
    assertLoc(&loc, 0, &data);
    assert_true(indexLookup(ix, &id, BLOB_TREE, &loc));
    assertLoc(&loc, 1, &tree);
    assert_false(indexAdd(ix, 2, &tree));
    indexFree(ix);
}

/* indexAddPack numbers packs in order and returns the same number for a
 * pack seen before, also after the pack table has grown (256 slots at
 * first, rehashed at half full). */
static void testAddPackIdempotent(void **state) {
    (void)state;
    enum { N = 2000 };
    Index *ix = indexNew();
    uint64_t seed = 11;
    LbId *ids = malloc(N * sizeof(LbId));
    for (uint32_t i = 0; i < N; i++) {
        ids[i] = randomId(&seed);
        assert_int_equal(indexAddPack(ix, &ids[i]), i);
        assert_int_equal(indexAddPack(ix, &ids[i]), i);
        assert_int_equal(indexAddPack(ix, &ids[0]), 0);
    }
    assert_int_equal(indexPackCount(ix), N);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(indexAddPack(ix, &ids[i]), i);
        assert_memory_equal(indexPackId(ix, i)->b, ids[i].b, LB_ID_LEN);
    }
    assert_int_equal(indexPackCount(ix), N);
    assert_int_equal(indexBlobCount(ix), 0);
    free(ids);
    indexFree(ix);
}

/* Entry numbers are dense, stable across rehashes, and indexEntryAt gives
 * back the ID and location of each; absent blobs have no number. */
static void testEntryPositions(void **state) {
    (void)state;
    enum { N = 5000 };
    Index *ix = indexNew();
    uint64_t seed = 17;
    LbId *ids = malloc(N * sizeof(LbId));
    size_t *pos = malloc(N * sizeof(size_t));
    bool *used = calloc(N, sizeof(bool));
    for (uint32_t i = 0; i < N; i++) {
        ids[i] = randomId(&seed);
        PackEntry e = makeEntry(&ids[i], (BlobType)(i % 2), i);
        assert_true(indexAdd(ix, i % 7, &e));
        assert_true(indexLookupPos(ix, &ids[i], (BlobType)(i % 2), &pos[i]));
    }
    for (uint32_t i = 0; i < N; i++) {
        size_t p = N + 1;
        assert_true(indexLookupPos(ix, &ids[i], (BlobType)(i % 2), &p));
        assert_int_equal(p, pos[i]); /* unchanged by the rehashes since */
        assert_true(p < N);
        assert_false(used[p]);
        used[p] = true;
        LbId id;
        IndexLoc loc;
        indexEntryAt(ix, p, &id, &loc);
        assert_true(lbIdEqual(&id, &ids[i]));
        PackEntry e = makeEntry(&ids[i], (BlobType)(i % 2), i);
        assertLoc(&loc, i % 7, &e);
        indexEntryAt(ix, p, NULL, &loc); /* either output may be NULL */
        indexEntryAt(ix, p, &id, NULL);
        assert_true(lbIdEqual(&id, &ids[i]));
        size_t untouched = 12345;
        assert_false(indexLookupPos(ix, &ids[i], (BlobType)((i + 1) % 2), &untouched));
        assert_int_equal(untouched, 12345);
    }
    free(ids);
    free(pos);
    free(used);
    indexFree(ix);
}

typedef struct VisitCtx {
    size_t visits;
    size_t stopAfter; /* 0 = never stop */
    Index *seen;      /* every visited (id, type), to catch repeats */
    size_t repeats;
    size_t mismatches;
    const Index *source;
} VisitCtx;

static bool visitCb(void *ctx, const LbId *id, const IndexLoc *loc) {
    VisitCtx *v = ctx;
    v->visits++;
    IndexLoc want;
    if (!indexLookup(v->source, id, (BlobType)loc->type, &want) || want.pack != loc->pack ||
        want.offset != loc->offset || want.length != loc->length || want.rawLength != loc->rawLength ||
        want.flags != loc->flags)
        v->mismatches++;
    PackEntry e = {.id = *id, .type = loc->type};
    if (!indexAdd(v->seen, 0, &e))
        v->repeats++;
    return v->stopAfter == 0 || v->visits < v->stopAfter;
}

/* indexForEach visits every blob exactly once with its location, and stops
 * as soon as the callback returns false. */
static void testForEach(void **state) {
    (void)state;
    enum { N = 3000 };
    Index *ix = indexNew();
    uint64_t seed = 13;
    for (uint32_t i = 0; i < N; i++) {
        LbId id = randomId(&seed);
        PackEntry e = makeEntry(&id, (BlobType)(i % 2), i);
        assert_true(indexAdd(ix, i % 3, &e));
    }
    VisitCtx v = {.seen = indexNew(), .source = ix};
    indexForEach(ix, visitCb, &v);
    assert_int_equal(v.visits, N);
    assert_int_equal(v.repeats, 0);
    assert_int_equal(v.mismatches, 0);
    assert_int_equal(indexBlobCount(v.seen), N);
    indexFree(v.seen);

    VisitCtx stop = {.stopAfter = 5, .seen = indexNew(), .source = ix};
    indexForEach(ix, visitCb, &stop);
    assert_int_equal(stop.visits, 5);
    indexFree(stop.seen);

    VisitCtx one = {.stopAfter = 1, .seen = indexNew(), .source = ix};
    indexForEach(ix, visitCb, &one);
    assert_int_equal(one.visits, 1);
    indexFree(one.seen);
    indexFree(ix);
}

/***********************************************************************************************************************
 * Codec
 **********************************************************************************************************************/

/* Encode three packs (one of them empty) and decode into a fresh index:
 * every pack is registered, every blob found at its pack and location. */
static void testEncodeDecodeRoundTrip(void **state) {
    (void)state;
    TestPacks tp;
    makePacks(&tp, 100);
    LbBuf buf = {0};
    lbBufAppend(&buf, "x", 1); /* encode appends */
    encodePacks(&tp, &buf);
    assert_int_equal(buf.len, 1 + 9 + 3 * (LB_ID_LEN + 4) + (5 + 0 + 17) * 46);
    assert_memory_equal(buf.data + 1, "LBIX\x01", 5);
    assert_int_equal(lbGetU32(buf.data + 6), 3);

    Index *ix = indexNew();
    LbError err = {0};
    assert_true(indexDecodeInto(ix, buf.data + 1, buf.len - 1, &err));
    assert_int_equal(indexPackCount(ix), 3);
    assert_int_equal(indexBlobCount(ix), 22);
    for (size_t p = 0; p < tp.count; p++) {
        assert_memory_equal(indexPackId(ix, (uint32_t)p)->b, tp.packs[p].id.b, LB_ID_LEN);
        for (size_t i = 0; i < tp.packs[p].count; i++) {
            const PackEntry *e = &tp.packs[p].entries[i];
            IndexLoc loc;
            assert_true(indexLookup(ix, &e->id, (BlobType)e->type, &loc));
            assertLoc(&loc, (uint32_t)p, e);
        }
    }

    /* decoding the same file again changes nothing */
    assert_true(indexDecodeInto(ix, buf.data + 1, buf.len - 1, &err));
    assert_int_equal(indexPackCount(ix), 3);
    assert_int_equal(indexBlobCount(ix), 22);

    /* a second file with other packs adds to what is there */
    TestPacks tp2;
    makePacks(&tp2, 200);
    LbBuf buf2 = {0};
    encodePacks(&tp2, &buf2);
    assert_true(indexDecodeInto(ix, buf2.data, buf2.len, &err));
    assert_int_equal(indexPackCount(ix), 6);
    assert_int_equal(indexBlobCount(ix), 44);
    const PackEntry *e = &tp2.packs[2].entries[16];
    IndexLoc loc;
    assert_true(indexLookup(ix, &e->id, (BlobType)e->type, &loc));
    assertLoc(&loc, 5, e);

    lbBufFree(&buf);
    lbBufFree(&buf2);
    freePacks(&tp);
    freePacks(&tp2);
    indexFree(ix);
}

/* An index file with no packs is valid and adds nothing. */
static void testEncodeEmpty(void **state) {
    (void)state;
    LbBuf buf = {0};
    indexEncode(NULL, 0, &buf);
    assert_int_equal(buf.len, 9);
    Index *ix = indexNew();
    LbError err = {0};
    assert_true(indexDecodeInto(ix, buf.data, buf.len, &err));
    assert_int_equal(indexPackCount(ix), 0);
    assert_int_equal(indexBlobCount(ix), 0);
    indexFree(ix);
    lbBufFree(&buf);
}

/* Wrong magic is CORRUPT, an unknown version is FORMAT. */
static void testDecodeBadMagicAndVersion(void **state) {
    (void)state;
    TestPacks tp;
    makePacks(&tp, 300);
    LbBuf buf = {0};
    encodePacks(&tp, &buf);
    buf.data[3] = 'Y';
    expectDecodeFails(buf.data, buf.len, LB_ERR_CORRUPT);
    buf.data[3] = 'X';
    buf.data[4] = 2;
    expectDecodeFails(buf.data, buf.len, LB_ERR_FORMAT);
    buf.data[4] = 0;
    expectDecodeFails(buf.data, buf.len, LB_ERR_FORMAT);
    buf.data[4] = 1;
    Index *ix = indexNew();
    LbError err = {0};
    assert_true(indexDecodeInto(ix, buf.data, buf.len, &err));
    indexFree(ix);
    lbBufFree(&buf);
    freePacks(&tp);
}

/* Every truncation of a valid file is refused as CORRUPT: inside the head,
 * inside a pack header, inside an entry, between entries and between packs. */
static void testDecodeTruncated(void **state) {
    (void)state;
    TestPacks tp;
    makePacks(&tp, 400);
    LbBuf buf = {0};
    encodePacks(&tp, &buf);
    for (size_t len = 0; len < buf.len; len++)
        expectDecodeFails(buf.data, len, LB_ERR_CORRUPT);
    lbBufFree(&buf);
    freePacks(&tp);
}

/* Counts larger than the data are refused without reading past it. */
static void testDecodeHugeCounts(void **state) {
    (void)state;
    TestPacks tp;
    makePacks(&tp, 500);
    LbBuf buf = {0};
    encodePacks(&tp, &buf);
    lbPutU32(buf.data + 5, 0xffffffffu);
    expectDecodeFails(buf.data, buf.len, LB_ERR_CORRUPT);
    lbPutU32(buf.data + 5, 4);
    expectDecodeFails(buf.data, buf.len, LB_ERR_CORRUPT);
    lbPutU32(buf.data + 5, 3);
    /* first pack's entry count */
    lbPutU32(buf.data + 9 + LB_ID_LEN, 0xffffffffu);
    expectDecodeFails(buf.data, buf.len, LB_ERR_CORRUPT);
    lbPutU32(buf.data + 9 + LB_ID_LEN, 0x80000000u);
    expectDecodeFails(buf.data, buf.len, LB_ERR_CORRUPT);
    lbBufFree(&buf);
    freePacks(&tp);
}

/* Bytes after the last pack are refused, also when there are no packs. */
static void testDecodeTrailingBytes(void **state) {
    (void)state;
    TestPacks tp;
    makePacks(&tp, 600);
    LbBuf buf = {0};
    encodePacks(&tp, &buf);
    lbBufAppend(&buf, "\0", 1);
    expectDecodeFails(buf.data, buf.len, LB_ERR_CORRUPT);
    lbBufAppend(&buf, "0123456789012345678901234567890123456789012345", 46);
    expectDecodeFails(buf.data, buf.len, LB_ERR_CORRUPT);
    lbBufFree(&buf);

    indexEncode(NULL, 0, &buf);
    lbBufAppend(&buf, "z", 1);
    expectDecodeFails(buf.data, buf.len, LB_ERR_CORRUPT);
    lbBufFree(&buf);
    freePacks(&tp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testEmpty),
        cmocka_unit_test(testManyRandomIds),
        cmocka_unit_test(testCollidingIds),
        cmocka_unit_test(testDuplicateKeepsFirst),
        cmocka_unit_test(testSameIdDifferentType),
        cmocka_unit_test(testAddPackIdempotent),
        cmocka_unit_test(testEntryPositions),
        cmocka_unit_test(testForEach),
        cmocka_unit_test(testEncodeDecodeRoundTrip),
        cmocka_unit_test(testEncodeEmpty),
        cmocka_unit_test(testDecodeBadMagicAndVersion),
        cmocka_unit_test(testDecodeTruncated),
        cmocka_unit_test(testDecodeHugeCounts),
        cmocka_unit_test(testDecodeTrailingBytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
