/*
 * test_compress.c - unit tests for src/compress: round trips of text and
 * zeros, refusal to store incompressible data compressed, strict size and
 * frame checks on decompression, appending to existing buffers, and two
 * threads using the per-thread contexts at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "compress/compress.h"

/* Pseudo-random bytes (xorshift64*): incompressible for zstd. */
static void fillRandom(uint8_t *p, size_t len, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        p[i] = (uint8_t)((x * 0x2545F4914F6CDD1Dull) >> 56);
    }
}

/* Text-like data: words from a small vocabulary in pseudo-random order. */
static void fillText(uint8_t *p, size_t len, uint64_t seed) {
    static const char *words[] = {"backup ",     "restore ",  "snapshot ", "the ",   "of ",
                                  "repository ", "pack ",     "index ",    "chunk ", "and ",
                                  "data\n",      "lifeboat ", "key ",      "a ",     "is "};
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    size_t i = 0;
    while (i < len) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        const char *w = words[((x * 0x2545F4914F6CDD1Dull) >> 33) % (sizeof(words) / sizeof(words[0]))];
        for (size_t j = 0; w[j] && i < len; j++)
            p[i++] = (uint8_t)w[j];
    }
}

/* Compress in, check it shrank by the worth-it margin, decompress and compare. */
static void roundTrip(const uint8_t *in, size_t len, int level) {
    LbBuf z = {0}, back = {0};
    LbError err = {0};
    assert_true(compressMaybe(in, len, level, &z));
    assert_true(z.len <= len - len / 32);
    assert_true(compressDecompress(z.data, z.len, len, &back, &err));
    assert_int_equal(back.len, len);
    assert_memory_equal(back.data, in, len);
    lbBufFree(&z);
    lbBufFree(&back);
}

/* Text compresses and round-trips, below and above the sampling threshold,
 * at several levels. */
static void testTextRoundTrip(void **state) {
    (void)state;
    static const size_t sizes[] = {1000, 64 * 1024, 64 * 1024 + 1, 1 << 20};
    static const int levels[] = {1, COMPRESS_DEFAULT_LEVEL, 9, -5};
    uint8_t *text = malloc(1 << 20);
    fillText(text, 1 << 20, 42);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++)
            roundTrip(text, sizes[i], levels[l]);
    free(text);
}

/* Zeros compress to almost nothing and round-trip. */
static void testZerosRoundTrip(void **state) {
    (void)state;
    size_t len = 1 << 20;
    uint8_t *zeros = calloc(1, len);
    LbBuf z = {0};
    assert_true(compressMaybe(zeros, len, COMPRESS_DEFAULT_LEVEL, &z));
    assert_true(z.len < len / 100);
    lbBufFree(&z);
    roundTrip(zeros, len, COMPRESS_DEFAULT_LEVEL);
    /* Ten zeros: the frame header alone outweighs any saving. */
    assert_false(compressMaybe(zeros, 10, COMPRESS_DEFAULT_LEVEL, &z));
    assert_int_equal(z.len, 0);
    lbBufFree(&z);
    free(zeros);
}

/* Random data is not worth compressing: false, and out keeps its bytes. */
static void testRandomNotCompressed(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 100, 4096, 64 * 1024, 64 * 1024 + 1, 1 << 20};
    uint8_t *rnd = malloc(1 << 20);
    fillRandom(rnd, 1 << 20, 9);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        LbBuf out = {0};
        lbBufAppend(&out, "abc", 3);
        assert_false(compressMaybe(rnd, sizes[i], COMPRESS_DEFAULT_LEVEL, &out));
        assert_int_equal(out.len, 3);
        assert_memory_equal(out.data, "abc", 3);
        lbBufFree(&out);
    }
    free(rnd);
}

/* Nothing to gain from an empty input. */
static void testEmptyNotCompressed(void **state) {
    (void)state;
    LbBuf out = {0};
    assert_false(compressMaybe((const uint8_t *)"", 0, COMPRESS_DEFAULT_LEVEL, &out));
    assert_int_equal(out.len, 0);
    lbBufFree(&out);
}

/* The sample must not reject data that is half incompressible: the whole
 * still shrinks by about half. */
static void testMixedDataCompressed(void **state) {
    (void)state;
    size_t len = 1 << 20;
    uint8_t *mixed = malloc(len);
    fillRandom(mixed, len / 2, 3);
    fillText(mixed + len / 2, len / 2, 4);
    LbBuf z = {0};
    assert_true(compressMaybe(mixed, len, COMPRESS_DEFAULT_LEVEL, &z));
    assert_true(z.len < len * 3 / 4);
    lbBufFree(&z);
    roundTrip(mixed, len, 1);
    free(mixed);
}

/* Data that only just misses the 1/32 rule is not stored compressed. */
static void testWorthItRule(void **state) {
    (void)state;
    /* 4 KiB (below sampling): 98% random, 2% zeros saves less than 1/32. */
    size_t len = 4096;
    uint8_t buf[4096];
    fillRandom(buf, len, 77);
    memset(buf, 0, len / 100 * 2);
    LbBuf out = {0};
    assert_false(compressMaybe(buf, len, COMPRESS_DEFAULT_LEVEL, &out));
    assert_int_equal(out.len, 0);
    /* 25% zeros saves plenty. */
    memset(buf, 0, len / 4);
    assert_true(compressMaybe(buf, len, COMPRESS_DEFAULT_LEVEL, &out));
    assert_true(out.len <= len - len / 32);
    lbBufFree(&out);
}

/* The frame is appended after existing bytes, and decompression appends too. */
static void testAppendsAfterExisting(void **state) {
    (void)state;
    uint8_t text[5000];
    fillText(text, sizeof(text), 1);
    LbBuf z = {0}, back = {0};
    LbError err = {0};
    lbBufAppend(&z, "hdr", 3);
    assert_true(compressMaybe(text, sizeof(text), COMPRESS_DEFAULT_LEVEL, &z));
    assert_memory_equal(z.data, "hdr", 3);
    assert_true(z.len > 3);
    lbBufAppend(&back, "prefix:", 7);
    assert_true(compressDecompress(z.data + 3, z.len - 3, sizeof(text), &back, &err));
    assert_int_equal(back.len, 7 + sizeof(text));
    assert_memory_equal(back.data, "prefix:", 7);
    assert_memory_equal(back.data + 7, text, sizeof(text));
    lbBufFree(&z);
    lbBufFree(&back);
}

/* A frame whose declared size disagrees with rawLen is corrupt, whether
 * rawLen is larger or smaller; out is left alone. */
static void testWrongRawLen(void **state) {
    (void)state;
    uint8_t text[10000];
    fillText(text, sizeof(text), 2);
    LbBuf z = {0}, back = {0};
    LbError err = {0};
    assert_true(compressMaybe(text, sizeof(text), COMPRESS_DEFAULT_LEVEL, &z));
    lbBufAppend(&back, "x", 1);
    assert_false(compressDecompress(z.data, z.len, sizeof(text) + 1, &back, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_false(compressDecompress(z.data, z.len, sizeof(text) - 1, &back, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_false(compressDecompress(z.data, z.len, 0, &back, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_int_equal(back.len, 1);
    assert_true(compressDecompress(z.data, z.len, sizeof(text), &back, &err));
    assert_int_equal(back.len, 1 + sizeof(text));
    lbBufFree(&z);
    lbBufFree(&back);
}

/* Every truncation of a frame is corrupt, as is trailing garbage or input
 * that is not zstd at all; out is left alone. */
static void testTruncatedAndGarbage(void **state) {
    (void)state;
    uint8_t text[3000];
    fillText(text, sizeof(text), 5);
    LbBuf z = {0}, back = {0};
    LbError err = {0};
    assert_true(compressMaybe(text, sizeof(text), COMPRESS_DEFAULT_LEVEL, &z));
    for (size_t cut = 0; cut < z.len; cut++) {
        lbErrorClear(&err);
        assert_false(compressDecompress(z.data, cut, sizeof(text), &back, &err));
        assert_int_equal(err.code, LB_ERR_CORRUPT);
        assert_int_equal(back.len, 0);
    }
    lbBufAppend(&z, "\0\0\0\0", 4);
    assert_false(compressDecompress(z.data, z.len, sizeof(text), &back, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_false(compressDecompress(text, 100, 100, &back, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_int_equal(back.len, 0);
    lbBufFree(&z);
    lbBufFree(&back);
}

/* A frame that does not declare its size (another writer's choice) is still
 * checked: it must produce exactly rawLen bytes. */
static void testFrameWithoutContentSize(void **state) {
    (void)state;
    uint8_t text[20000];
    fillText(text, sizeof(text), 6);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    assert_non_null(cctx);
    assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
    uint8_t frame[ZSTD_COMPRESSBOUND(20000)];
    size_t n = ZSTD_compress2(cctx, frame, sizeof(frame), text, sizeof(text));
    ZSTD_freeCCtx(cctx);
    assert_false(ZSTD_isError(n));
    assert_int_equal(ZSTD_getFrameContentSize(frame, n), ZSTD_CONTENTSIZE_UNKNOWN);

    LbBuf back = {0};
    LbError err = {0};
    assert_false(compressDecompress(frame, n, sizeof(text) + 10, &back, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_false(compressDecompress(frame, n, sizeof(text) - 10, &back, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_int_equal(back.len, 0);
    /* a damaged index entry claiming 4 GiB is a limit, not an allocation
     * (found by tests/fuzz: blob/claimed-4gib-unsized-frame) */
    assert_false(compressDecompress(frame, n, (size_t)4 << 30, &back, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_int_equal(back.len, 0);
    assert_true(back.cap < ((size_t)8 << 20));
    assert_true(compressDecompress(frame, n, sizeof(text), &back, &err));
    assert_int_equal(back.len, sizeof(text));
    assert_memory_equal(back.data, text, sizeof(text));
    lbBufFree(&back);
}

typedef struct ThreadJob {
    uint64_t seed;
    int failures;
} ThreadJob;

/* Compress and decompress text and random data in a loop; count anything
 * wrong (cmocka's asserts are not thread-safe). */
static void *threadWorker(void *arg) {
    ThreadJob *job = arg;
    size_t len = 200 * 1024;
    uint8_t *text = malloc(len), *rnd = malloc(len);
    LbError err = {0};
    for (int i = 0; i < 20; i++) {
        fillText(text, len, job->seed + (uint64_t)i);
        fillRandom(rnd, len, job->seed + (uint64_t)i);
        LbBuf z = {0}, back = {0};
        if (!compressMaybe(text, len, COMPRESS_DEFAULT_LEVEL, &z) ||
            !compressDecompress(z.data, z.len, len, &back, &err) || back.len != len ||
            memcmp(back.data, text, len) != 0)
            job->failures++;
        if (compressMaybe(rnd, len, COMPRESS_DEFAULT_LEVEL, &z))
            job->failures++;
        lbBufFree(&z);
        lbBufFree(&back);
    }
    free(text);
    free(rnd);
    return NULL;
}

static void testTwoThreads(void **state) {
    (void)state;
    ThreadJob jobs[2] = {{10, 0}, {20, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, threadWorker, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(jobs[0].failures, 0);
    assert_int_equal(jobs[1].failures, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testTextRoundTrip),        cmocka_unit_test(testZerosRoundTrip),
        cmocka_unit_test(testRandomNotCompressed),  cmocka_unit_test(testEmptyNotCompressed),
        cmocka_unit_test(testMixedDataCompressed),  cmocka_unit_test(testWorthItRule),
        cmocka_unit_test(testAppendsAfterExisting), cmocka_unit_test(testWrongRawLen),
        cmocka_unit_test(testTruncatedAndGarbage),  cmocka_unit_test(testFrameWithoutContentSize),
        cmocka_unit_test(testTwoThreads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
