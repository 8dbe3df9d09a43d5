/*
 * test_pack.c - unit tests for src/pack (pack writer and header reader).
 *
 * A pack is blob_1 || ... || blob_n || seal(metaKey, header) || u32le len.
 * The writer does not look inside blobs, so most tests fill the reserved room
 * with a known pattern and check that every byte lands at the offset the
 * header reports. Tampering tests either damage a pack the writer made or
 * build one by hand (sealing a hand-written header with cryptoSeal) to reach
 * the reader's consistency checks that sealing alone would not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "pack/pack.h"

/***********************************************************************************************************************
 * Helpers
 **********************************************************************************************************************/

static const uint8_t metaKey[CRYPTO_KEY_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t otherKey[CRYPTO_KEY_LEN] = {99};

/* Size of the sealed header plus trailer for n entries. */
static size_t headerOverhead(size_t n) {
    return 9 + n * PACK_ENTRY_SIZE + CRYPTO_OVERHEAD + 4;
}

static void fillPattern(uint8_t *p, size_t len, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static LbId makeId(uint32_t seed) {
    LbId id;
    fillPattern(id.b, LB_ID_LEN, seed + 1000);
    return id;
}

typedef struct TestBlob {
    uint32_t len;
    uint32_t rawLength;
    BlobType type;
    uint8_t flags;
} TestBlob;

/* Reserve, fill with pattern(seed = index) and commit every blob. */
static void addBlobs(PackWriter *pw, const TestBlob *blobs, size_t n, uint32_t seedBase) {
    for (size_t i = 0; i < n; i++) {
        size_t before = packWriterSize(pw);
        uint8_t *dst = packWriterReserve(pw, blobs[i].len);
        assert_non_null(dst);
        fillPattern(dst, blobs[i].len, seedBase + (uint32_t)i);
        /* reserving does not count as written */
        assert_int_equal(packWriterSize(pw), before);
        LbId id = makeId(seedBase + (uint32_t)i);
        packWriterCommit(pw, &id, blobs[i].type, blobs[i].flags, blobs[i].len, blobs[i].rawLength);
        assert_int_equal(packWriterSize(pw), before + blobs[i].len);
        assert_int_equal(packWriterCount(pw), i + 1);
    }
}

/* Check entries against the blobs written by addBlobs, and each blob's bytes. */
static void checkEntries(const uint8_t *pack, const PackEntry *e, size_t count, const TestBlob *blobs, size_t n,
                         uint32_t seedBase) {
    assert_int_equal(count, n);
    uint32_t off = 0;
    for (size_t i = 0; i < n; i++) {
        LbId id = makeId(seedBase + (uint32_t)i);
        assert_memory_equal(e[i].id.b, id.b, LB_ID_LEN);
        assert_int_equal(e[i].type, blobs[i].type);
        assert_int_equal(e[i].flags, blobs[i].flags);
        assert_int_equal(e[i].offset, off);
        assert_int_equal(e[i].length, blobs[i].len);
        assert_int_equal(e[i].rawLength, blobs[i].rawLength);
        uint8_t *want = malloc(blobs[i].len ? blobs[i].len : 1);
        fillPattern(want, blobs[i].len, seedBase + (uint32_t)i);
        if (blobs[i].len)
            assert_memory_equal(pack + off, want, blobs[i].len);
        free(want);
        off += blobs[i].len;
    }
}

/* Build a pack by hand: blob area of blobLen pattern bytes, then header
 * (plaintext given) sealed under metaKey, then the trailer. */
static uint8_t *craftPack(size_t blobLen, const uint8_t *hdr, size_t hlen, size_t *len) {
    LbBuf b = {0};
    LbError err = {0};
    uint8_t *blob = malloc(blobLen ? blobLen : 1);
    fillPattern(blob, blobLen, 7);
    lbBufAppend(&b, blob, blobLen);
    free(blob);
    size_t before = b.len;
    assert_true(cryptoSeal(metaKey, hdr, hlen, &b, &err));
    uint8_t trailer[4];
    lbPutU32(trailer, (uint32_t)(b.len - before));
    lbBufAppend(&b, trailer, 4);
    return lbBufTake(&b, len);
}

/* Header plaintext with n entries whose stored lengths are lens[]. */
static uint8_t *craftHeader(const uint32_t *lens, uint32_t n, uint32_t claimedN, size_t *hlen) {
    *hlen = 9 + (size_t)n * PACK_ENTRY_SIZE;
    uint8_t *h = calloc(1, *hlen);
    memcpy(h, "LBPK", 4);
    h[4] = 1;
    lbPutU32(h + 5, claimedN);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *p = h + 9 + (size_t)i * PACK_ENTRY_SIZE;
        p[0] = BLOB_DATA;
        lbPutU32(p + 2, lens[i]);
        lbPutU32(p + 6, lens[i]);
        LbId id = makeId(i);
        memcpy(p + 10, id.b, LB_ID_LEN);
    }
    return h;
}

static void expectReadFails(const uint8_t *pack, size_t len, const uint8_t *key, LbErrorCode code) {
    PackEntry *entries = (PackEntry *)(uintptr_t)0x1; /* must stay untouched on failure */
    size_t count = 12345;
    LbError err = {0};
    assert_false(packReadHeader(pack, len, key, &entries, &count, &err));
    assert_int_equal(err.code, code);
    assert_true(err.msg[0] != '\0');
    assert_ptr_equal(entries, (PackEntry *)(uintptr_t)0x1);
    assert_int_equal(count, 12345);
}

/* Make a standard 3-blob pack with the writer. */
static const TestBlob stdBlobs[] = {
    {100, 100, BLOB_DATA, 0},
    {1 + CRYPTO_OVERHEAD, 4000, BLOB_TREE, PACK_FLAG_COMPRESSED},
    {5000, 9000, BLOB_DATA, PACK_FLAG_COMPRESSED},
};
#define STD_COUNT (sizeof(stdBlobs) / sizeof(stdBlobs[0]))

static uint8_t *makeStdPack(size_t *len) {
    PackWriter *pw = packWriterNew();
    addBlobs(pw, stdBlobs, STD_COUNT, 0);
    uint8_t *data = NULL;
    PackEntry *entries = NULL;
    size_t count = 0;
    LbError err = {0};
    assert_true(packWriterFinish(pw, metaKey, &data, len, &entries, &count, &err));
    free(entries);
    packWriterFree(pw);
    return data;
}

/***********************************************************************************************************************
 * Writer and reader round trip
 **********************************************************************************************************************/

/* Blobs of both types and flags come back from the header with the offsets,
 * lengths and raw lengths they were committed with; the writer's own entry
 * list agrees; the pack is exactly blobs + sealed header + trailer. */
static void testRoundTrip(void **state) {
    (void)state;
    PackWriter *pw = packWriterNew();
    assert_int_equal(packWriterSize(pw), 0);
    assert_int_equal(packWriterCount(pw), 0);
    addBlobs(pw, stdBlobs, STD_COUNT, 0);

    uint8_t *data = NULL;
    size_t len = 0, count = 0;
    PackEntry *entries = NULL;
    LbError err = {0};
    assert_true(packWriterFinish(pw, metaKey, &data, &len, &entries, &count, &err));
    size_t blobBytes = 100 + 1 + CRYPTO_OVERHEAD + 5000;
    assert_int_equal(len, blobBytes + headerOverhead(STD_COUNT));
    assert_int_equal(lbGetU32(data + len - 4), 9 + STD_COUNT * PACK_ENTRY_SIZE + CRYPTO_OVERHEAD);
    checkEntries(data, entries, count, stdBlobs, STD_COUNT, 0);

    PackEntry *read = NULL;
    size_t readCount = 0;
    assert_true(packReadHeader(data, len, metaKey, &read, &readCount, &err));
    checkEntries(data, read, readCount, stdBlobs, STD_COUNT, 0);

    /* the header is sealed: the entry IDs do not appear in the clear */
    LbId id0 = makeId(0);
    for (size_t i = blobBytes; i + LB_ID_LEN <= len; i++)
        assert_memory_not_equal(data + i, id0.b, LB_ID_LEN);

    free(read);
    free(entries);
    free(data);
    packWriterFree(pw);
}

/* A spooled pack (packWriterSpool): the file holds exactly the bytes a pack
 * in memory would lay out (same length, same entries, a header that reads),
 * its ID is the SHA-256 of those bytes, the writer is back in memory mode
 * after, and a second pack spools into another file. */
static void testSpool(void **state) {
    (void)state;
    char path[] = "/tmp/lifeboat-pack-spool-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    PackWriter *pw = packWriterNew();
    assert_false(packWriterSpooling(pw));
    packWriterSpool(pw, fd);
    assert_true(packWriterSpooling(pw));
    addBlobs(pw, stdBlobs, STD_COUNT, 0);
    size_t blobBytes = 100 + 1 + CRYPTO_OVERHEAD + 5000;
    assert_int_equal(packWriterSize(pw), blobBytes);
    LbId packId;
    uint64_t len = 0;
    size_t count = 0;
    PackEntry *entries = NULL;
    LbError err = {0};
    assert_true(packWriterFinishSpool(pw, metaKey, &packId, &len, &entries, &count, &err));
    assert_false(packWriterSpooling(pw));
    assert_int_equal(len, blobBytes + headerOverhead(STD_COUNT));
    close(fd);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *data = malloc(len + 1);
    assert_int_equal(fread(data, 1, len + 1, f), len);
    fclose(f);
    unlink(path);
    LbId want;
    cryptoSha256(data, len, &want);
    assert_true(lbIdEqual(&packId, &want));
    checkEntries(data, entries, count, stdBlobs, STD_COUNT, 0);
    PackEntry *read = NULL;
    size_t readCount = 0;
    assert_true(packReadHeader(data, len, metaKey, &read, &readCount, &err));
    checkEntries(data, read, readCount, stdBlobs, STD_COUNT, 0);
    free(read);
    free(entries);
    free(data);
    /* a write error (a closed descriptor) fails the finish */
    packWriterSpool(pw, fd);
    addBlobs(pw, stdBlobs, STD_COUNT, 0);
    assert_false(packWriterFinishSpool(pw, metaKey, &packId, &len, &entries, &count, &err));
    assert_int_equal(err.code, LB_ERR_IO);
    packWriterFree(pw);
}

/* Many small blobs (more than the writer's initial entry capacity of 64). */
static void testManyBlobs(void **state) {
    (void)state;
    enum { N = 1000 };
    TestBlob *blobs = calloc(N, sizeof(TestBlob));
    for (size_t i = 0; i < N; i++)
        blobs[i] = (TestBlob){(uint32_t)(CRYPTO_OVERHEAD + i % 97), (uint32_t)(i * 3), (BlobType)(i % 2),
                              (uint8_t)(i % 3 == 0 ? PACK_FLAG_COMPRESSED : 0)};
    PackWriter *pw = packWriterNew();
    addBlobs(pw, blobs, N, 500);
    uint8_t *data = NULL;
    size_t len = 0, count = 0;
    PackEntry *entries = NULL;
    LbError err = {0};
    assert_true(packWriterFinish(pw, metaKey, &data, &len, &entries, &count, &err));
    free(entries);
    PackEntry *read = NULL;
    assert_true(packReadHeader(data, len, metaKey, &read, &count, &err));
    checkEntries(data, read, count, blobs, N, 500);
    free(read);
    free(data);
    free(blobs);
    packWriterFree(pw);
}

/* A blob larger than the writer's first allocation (PACK_TARGET_SIZE * 1.25)
 * after a small one: reserve must grow the buffer and keep what was written. */
static void testReserveBeyondTarget(void **state) {
    (void)state;
    const TestBlob blobs[] = {
        {64, 64, BLOB_DATA, 0},
        {PACK_TARGET_SIZE + PACK_TARGET_SIZE / 2, 1, BLOB_DATA, 0},
        {64, 64, BLOB_TREE, 0},
    };
    PackWriter *pw = packWriterNew();
    addBlobs(pw, blobs, 3, 77);
    assert_int_equal(packWriterSize(pw), 128 + PACK_TARGET_SIZE + PACK_TARGET_SIZE / 2);
    uint8_t *data = NULL;
    size_t len = 0, count = 0;
    PackEntry *entries = NULL;
    LbError err = {0};
    assert_true(packWriterFinish(pw, metaKey, &data, &len, &entries, &count, &err));
    free(entries);
    PackEntry *read = NULL;
    assert_true(packReadHeader(data, len, metaKey, &read, &count, &err));
    checkEntries(data, read, count, blobs, 3, 77);
    free(read);
    free(data);
    packWriterFree(pw);
}

/* After finish the writer is empty and a second pack holds only its own
 * blobs, with offsets starting at 0 again. */
static void testFinishResetsWriter(void **state) {
    (void)state;
    PackWriter *pw = packWriterNew();
    LbError err = {0};
    addBlobs(pw, stdBlobs, STD_COUNT, 0);
    uint8_t *first = NULL;
    size_t firstLen = 0, count = 0;
    PackEntry *entries = NULL;
    assert_true(packWriterFinish(pw, metaKey, &first, &firstLen, &entries, &count, &err));
    free(entries);
    assert_int_equal(packWriterSize(pw), 0);
    assert_int_equal(packWriterCount(pw), 0);

    const TestBlob second[] = {{300, 301, BLOB_TREE, 0}, {40, 41, BLOB_DATA, PACK_FLAG_COMPRESSED}};
    addBlobs(pw, second, 2, 900);
    uint8_t *data = NULL;
    size_t len = 0;
    assert_true(packWriterFinish(pw, metaKey, &data, &len, &entries, &count, &err));
    assert_int_equal(len, 340 + headerOverhead(2));
    checkEntries(data, entries, count, second, 2, 900);
    free(entries);
    PackEntry *read = NULL;
    assert_true(packReadHeader(data, len, metaKey, &read, &count, &err));
    checkEntries(data, read, count, second, 2, 900);
    free(read);

    /* the first pack is still intact and independent */
    assert_true(packReadHeader(first, firstLen, metaKey, &read, &count, &err));
    checkEntries(first, read, count, stdBlobs, STD_COUNT, 0);
    free(read);
    free(first);
    free(data);
    packWriterFree(pw);
}

/* A pack with no blobs is just a sealed 9-byte header and the trailer. */
static void testEmptyPack(void **state) {
    (void)state;
    PackWriter *pw = packWriterNew();
    uint8_t *data = NULL;
    size_t len = 0, count = 99;
    PackEntry *entries = NULL;
    LbError err = {0};
    assert_true(packWriterFinish(pw, metaKey, &data, &len, &entries, &count, &err));
    assert_int_equal(len, headerOverhead(0));
    assert_int_equal(count, 0);
    free(entries);
    PackEntry *read = NULL;
    count = 99;
    assert_true(packReadHeader(data, len, metaKey, &read, &count, &err));
    assert_int_equal(count, 0);
    free(read);
    free(data);
    packWriterFree(pw);
}

/* packWriterFree(NULL) is a no-op; freeing a writer with uncommitted,
 * unfinished content releases it (checked by the sanitizer build). */
static void testFreeNullAndUnfinished(void **state) {
    (void)state;
    packWriterFree(NULL);
    PackWriter *pw = packWriterNew();
    addBlobs(pw, stdBlobs, STD_COUNT, 3);
    (void)packWriterReserve(pw, 1000);
    assert_int_equal(packWriterCount(pw), STD_COUNT);
    packWriterFree(pw);
}

/***********************************************************************************************************************
 * Reader: damage and inconsistency
 **********************************************************************************************************************/

/* Every single-byte change inside the sealed header fails authentication. */
static void testTamperedHeaderByte(void **state) {
    (void)state;
    size_t len = 0;
    uint8_t *data = makeStdPack(&len);
    uint32_t hsealed = lbGetU32(data + len - 4);
    size_t start = len - 4 - hsealed;
    for (size_t i = start; i < len - 4; i++) {
        data[i] ^= 0x01;
        expectReadFails(data, len, metaKey, LB_ERR_CRYPTO);
        data[i] ^= 0x01;
    }
    /* restored: reads again */
    PackEntry *read = NULL;
    size_t count = 0;
    LbError err = {0};
    assert_true(packReadHeader(data, len, metaKey, &read, &count, &err));
    assert_int_equal(count, STD_COUNT);
    free(read);
    free(data);
}

/* A damaged blob is not the header's business: the header still reads (the
 * blob's own seal catches the damage later). */
static void testDamagedBlobAreaStillParses(void **state) {
    (void)state;
    size_t len = 0;
    uint8_t *data = makeStdPack(&len);
    data[10] ^= 0xff;
    PackEntry *read = NULL;
    size_t count = 0;
    LbError err = {0};
    assert_true(packReadHeader(data, len, metaKey, &read, &count, &err));
    assert_int_equal(count, STD_COUNT);
    free(read);
    free(data);
}

/* Truncated packs fail: cut at the end (trailer is then garbage), at the
 * front (header describes more blob bytes than present), and below the
 * minimum size. No cut length is accepted. */
static void testTruncated(void **state) {
    (void)state;
    size_t len = 0;
    uint8_t *data = makeStdPack(&len);
    for (size_t cut = 1; cut < len; cut++) {
        /* keep the tail, drop `cut` bytes at the end */
        PackEntry *read = NULL;
        size_t count = 0;
        LbError err = {0};
        assert_false(packReadHeader(data, len - cut, metaKey, &read, &count, &err));
        assert_true(err.code == LB_ERR_CORRUPT || err.code == LB_ERR_CRYPTO);
        /* drop `cut` bytes at the front: the trailer and header are intact */
        lbErrorClear(&err);
        assert_false(packReadHeader(data + cut, len - cut, metaKey, &read, &count, &err));
        assert_true(err.code == LB_ERR_CORRUPT || err.code == LB_ERR_CRYPTO);
    }
    /* cutting one blob byte from the front leaves the sealed header intact:
     * the size check, not the seal, must catch it */
    expectReadFails(data + 1, len - 1, metaKey, LB_ERR_CORRUPT);
    /* shorter than the smallest possible pack */
    expectReadFails(data, headerOverhead(0) - 1, metaKey, LB_ERR_CORRUPT);
    expectReadFails(data, 0, metaKey, LB_ERR_CORRUPT);
    free(data);
}

/* Trailer lengths that point outside the pack or below the minimum sealed
 * header are CORRUPT; lengths that are merely wrong fail the seal. */
static void testBadTrailer(void **state) {
    (void)state;
    size_t len = 0;
    uint8_t *data = makeStdPack(&len);
    uint32_t hsealed = lbGetU32(data + len - 4);

    lbPutU32(data + len - 4, (uint32_t)(len - 3));
    expectReadFails(data, len, metaKey, LB_ERR_CORRUPT);
    lbPutU32(data + len - 4, 0xffffffffu);
    expectReadFails(data, len, metaKey, LB_ERR_CORRUPT);
    lbPutU32(data + len - 4, CRYPTO_OVERHEAD + 8);
    expectReadFails(data, len, metaKey, LB_ERR_CORRUPT);
    lbPutU32(data + len - 4, 0);
    expectReadFails(data, len, metaKey, LB_ERR_CORRUPT);

    lbPutU32(data + len - 4, hsealed - 1);
    expectReadFails(data, len, metaKey, LB_ERR_CRYPTO);
    lbPutU32(data + len - 4, hsealed + 1);
    expectReadFails(data, len, metaKey, LB_ERR_CRYPTO);
    /* the whole pack as header: in range, but not a valid seal */
    lbPutU32(data + len - 4, (uint32_t)(len - 4));
    expectReadFails(data, len, metaKey, LB_ERR_CRYPTO);
    free(data);
}

/* The header is sealed under the metadata key: another key cannot read it. */
static void testWrongKey(void **state) {
    (void)state;
    size_t len = 0;
    uint8_t *data = makeStdPack(&len);
    expectReadFails(data, len, otherKey, LB_ERR_CRYPTO);
    free(data);
}

/* Validly sealed headers whose entries describe more or fewer blob bytes
 * than the pack holds are CORRUPT. */
static void testHeaderBlobBytesMismatch(void **state) {
    (void)state;
    const uint32_t lens[] = {100, 200};
    size_t hlen = 0, len = 0;
    uint8_t *hdr = craftHeader(lens, 2, 2, &hlen);

    /* exact: accepted, and offsets are the running sums */
    uint8_t *pack = craftPack(300, hdr, hlen, &len);
    PackEntry *read = NULL;
    size_t count = 0;
    LbError err = {0};
    assert_true(packReadHeader(pack, len, metaKey, &read, &count, &err));
    assert_int_equal(count, 2);
    assert_int_equal(read[0].offset, 0);
    assert_int_equal(read[1].offset, 100);
    assert_int_equal(read[1].length, 200);
    free(read);
    free(pack);

    pack = craftPack(299, hdr, hlen, &len); /* header claims more */
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);
    pack = craftPack(301, hdr, hlen, &len); /* header claims less */
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);
    pack = craftPack(0, hdr, hlen, &len);
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);
    free(hdr);

    /* lengths whose sum overflows 32 bits must not wrap around to a match */
    const uint32_t huge[] = {0xffffffffu, 301};
    hdr = craftHeader(huge, 2, 2, &hlen);
    pack = craftPack(300, hdr, hlen, &len);
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);
    free(hdr);
}

/* Sealed headers with a bad magic, an unknown version, or an entry count
 * that does not match the header size are CORRUPT. */
static void testHeaderFormat(void **state) {
    (void)state;
    const uint32_t lens[] = {10, 20};
    size_t hlen = 0, len = 0;
    uint8_t *hdr = craftHeader(lens, 2, 2, &hlen);
    uint8_t *pack;

    hdr[0] = 'X';
    pack = craftPack(30, hdr, hlen, &len);
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);
    hdr[0] = 'L';

    hdr[4] = 2;
    pack = craftPack(30, hdr, hlen, &len);
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);
    hdr[4] = 1;

    lbPutU32(hdr + 5, 3);
    pack = craftPack(30, hdr, hlen, &len);
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);
    lbPutU32(hdr + 5, 1);
    pack = craftPack(30, hdr, hlen, &len);
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);
    lbPutU32(hdr + 5, 0xffffffffu);
    pack = craftPack(30, hdr, hlen, &len);
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);
    lbPutU32(hdr + 5, 2);

    /* a header with a partial entry */
    pack = craftPack(30, hdr, hlen - 1, &len);
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);

    /* a sealed header shorter than 9 bytes */
    pack = craftPack(0, (const uint8_t *)"LBPK\x01", 5, &len);
    expectReadFails(pack, len, metaKey, LB_ERR_CORRUPT);
    free(pack);

    /* restored: accepted */
    pack = craftPack(30, hdr, hlen, &len);
    PackEntry *read = NULL;
    size_t count = 0;
    LbError err = {0};
    assert_true(packReadHeader(pack, len, metaKey, &read, &count, &err));
    assert_int_equal(count, 2);
    free(read);
    free(pack);
    free(hdr);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testRoundTrip),
        cmocka_unit_test(testSpool),
        cmocka_unit_test(testManyBlobs),
        cmocka_unit_test(testReserveBeyondTarget),
        cmocka_unit_test(testFinishResetsWriter),
        cmocka_unit_test(testEmptyPack),
        cmocka_unit_test(testFreeNullAndUnfinished),
        cmocka_unit_test(testTamperedHeaderByte),
        cmocka_unit_test(testDamagedBlobAreaStillParses),
        cmocka_unit_test(testTruncated),
        cmocka_unit_test(testBadTrailer),
        cmocka_unit_test(testWrongKey),
        cmocka_unit_test(testHeaderBlobBytesMismatch),
        cmocka_unit_test(testHeaderFormat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
