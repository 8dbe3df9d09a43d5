/*
 * test_chunker.c - unit tests for src/chunker (FastCDC, 2020 variant).
 *
 * Reference vectors: shared/vectors/fastcdc/expected-v2020.tsv. Its rows are
 * the expected chunks of the unit tests in nlfiedler/fastcdc-rs, commit
 * f76938d8c2d77799852415247c9b3e1fd91b73f3, src/v2020/mod.rs (MIT); the
 * offsets are the running sums of the crate's lengths and the sha256 column
 * was derived by the collectors from input[offset:offset+length]. The GEAR
 * tables come from the same file (tables/gear64.txt, tables/gear64_ls.txt).
 * See shared/vectors/PROVENANCE.md, section 3.
 *
 * expected-v2016.tsv (src/v2016/mod.rs, a byte-at-a-time loop) is walked as
 * well: on these inputs the 2016 and 2020 algorithms cut at the same places,
 * which PROVENANCE.md states and the walk below confirms with this one
 * implementation. The two only differ at window edges (odd min/center/max).
 *
 * The vectors are found through $LIFEBOAT_VECTORS, else
 * LB_SOURCE_ROOT "/../shared/vectors".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "chunker/chunker.h"

#ifndef LB_SOURCE_ROOT
#define LB_SOURCE_ROOT "."
#endif

/***********************************************************************************************************************
 * Helpers
 **********************************************************************************************************************/

typedef struct TestChunk {
    size_t offset;
    size_t length;
} TestChunk;

typedef struct TestChunkList {
    TestChunk *items;
    size_t count;
    size_t cap;
} TestChunkList;

static void listPush(TestChunkList *list, size_t offset, size_t length) {
    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 64;
        list->items = realloc(list->items, list->cap * sizeof(*list->items));
        assert_non_null(list->items);
    }
    list->items[list->count].offset = offset;
    list->items[list->count].length = length;
    list->count++;
}

static void listFree(TestChunkList *list) {
    free(list->items);
    memset(list, 0, sizeof(*list));
}

static bool listEqual(const TestChunkList *a, const TestChunkList *b) {
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (a->items[i].offset != b->items[i].offset || a->items[i].length != b->items[i].length)
            return false;
    return true;
}

/* splitmix64: deterministic pseudo-random data for the property tests. */
static uint64_t testRand(uint64_t *state) {
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint8_t *randomBytes(size_t len, uint64_t seed) {
    uint8_t *data = malloc(len ? len : 1);
    assert_non_null(data);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = testRand(&seed);
        size_t n = len - i < 8 ? len - i : 8;
        memcpy(data + i, &v, n);
    }
    return data;
}

static Chunker *newChunker(uint32_t minSize, uint32_t avgSize, uint32_t maxSize, uint32_t level, const uint64_t *gear) {
    ChunkerParams params = {.minSize = minSize, .avgSize = avgSize, .maxSize = maxSize, .normalization = level};
    uint64_t reference[256];
    chunkerReferenceGear(reference);
    LbError err = {0};
    Chunker *chunker = chunkerNew(&params, gear ? gear : reference, &err);
    if (chunker == NULL)
        print_error("chunkerNew failed: %s\n", err.msg);
    assert_non_null(chunker);
    return chunker;
}

/* Chunk a whole in-memory input, the caller holding all of it (eof = true). */
static void chunkAll(const Chunker *chunker, const uint8_t *data, size_t len, TestChunkList *out) {
    size_t pos = 0;
    while (pos < len) {
        size_t n = chunkerNext(chunker, data + pos, len - pos, true);
        assert_true(n > 0);
        assert_true(n <= len - pos);
        listPush(out, pos, n);
        pos += n;
    }
    assert_int_equal(chunkerNext(chunker, data + len, 0, true), 0);
}

/*
 * Chunk an input fed in pieces of `piece` bytes, as a streaming caller does:
 * keep a buffer of unconsumed bytes, append a piece, then ask for cuts with
 * eof = false. Lazy callers ask only once they hold >= maxSize bytes (or the
 * input ended); eager callers ask after every piece, which exercises cuts
 * found in a window shorter than maxSize.
 */
static void chunkStreamed(const Chunker *chunker, const uint8_t *data, size_t len, size_t piece, bool eager,
                          TestChunkList *out) {
    size_t maxSize = chunkerParams(chunker)->maxSize;
    uint8_t *buf = malloc(maxSize + piece);
    assert_non_null(buf);
    size_t have = 0;
    size_t fed = 0;
    size_t offset = 0;

    for (;;) {
        size_t take = len - fed < piece ? len - fed : piece;
        assert_true(have + take <= maxSize + piece);
        memcpy(buf + have, data + fed, take);
        have += take;
        fed += take;
        bool eof = fed == len;
        if (!eager && !eof && have < maxSize)
            continue;

        size_t start = 0;
        for (;;) {
            size_t n = chunkerNext(chunker, buf + start, have - start, eof);
            if (n == 0)
                break;
            assert_true(n <= have - start);
            listPush(out, offset, n);
            offset += n;
            start += n;
        }
        /* 0 means "need more": only legal below maxSize and before eof. */
        assert_true(have - start < maxSize || have == start);
        memmove(buf, buf + start, have - start);
        have -= start;
        if (eof) {
            assert_int_equal(have, 0);
            break;
        }
    }
    assert_int_equal(offset, len);
    free(buf);
}

static uint8_t *readFile(const char *path, size_t *lenOut) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        print_error("cannot open '%s' (set LIFEBOAT_VECTORS to the shared/vectors folder)\n", path);
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    uint8_t *data = malloc((size_t)size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    data[size] = 0;
    fclose(f);
    *lenOut = (size_t)size;
    return data;
}

static const char *vectorsDir(void) {
    const char *env = getenv("LIFEBOAT_VECTORS");
    return env != NULL && env[0] != '\0' ? env : LB_SOURCE_ROOT "/../shared/vectors";
}

static void vectorPath(char *out, size_t size, const char *rel) {
    int n = snprintf(out, size, "%s/fastcdc/%s", vectorsDir(), rel);
    assert_true(n > 0 && (size_t)n < size);
}

static void sha256Hex(const uint8_t *data, size_t len, char hex[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdLen = 0;
    assert_int_equal(EVP_Digest(data, len, md, &mdLen, EVP_sha256(), NULL), 1);
    assert_int_equal(mdLen, 32);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Read a table file of "0x..." lines (comments start with '#'). */
static size_t readTable(const char *rel, uint64_t *values, size_t max) {
    char path[4096];
    vectorPath(path, sizeof(path), rel);
    size_t len;
    char *text = (char *)readFile(path, &len);
    size_t count = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        assert_true(count < max);
        values[count++] = strtoull(line, NULL, 16);
    }
    free(text);
    return count;
}

/***********************************************************************************************************************
 * Reference vectors
 **********************************************************************************************************************/

typedef struct VectorRow {
    char test[128];
    char input[128];
    uint32_t minSize, avgSize, maxSize, level;
    uint64_t seed;
    size_t index, offset, length;
    char sha256[65];
} VectorRow;

/* Split one TSV data line into a VectorRow (columns as in the file header). */
static void parseRow(char *line, VectorRow *row) {
    char *field[14];
    size_t n = 0;
    char *p = line;
    while (n < 14) {
        field[n++] = p;
        char *tab = strchr(p, '\t');
        if (tab == NULL)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    assert_int_equal(n, 14);
    memset(row, 0, sizeof(*row));
    assert_true(strlen(field[0]) < sizeof(row->test) && strlen(field[2]) < sizeof(row->input));
    strcpy(row->test, field[0]);
    strcpy(row->input, field[2]);
    row->minSize = (uint32_t)strtoul(field[3], NULL, 10);
    row->avgSize = (uint32_t)strtoul(field[4], NULL, 10);
    row->maxSize = (uint32_t)strtoul(field[5], NULL, 10);
    row->level = (uint32_t)strtoul(field[6], NULL, 10);
    row->seed = strtoull(field[7], NULL, 10);
    row->index = strtoul(field[8], NULL, 10);
    row->offset = strtoul(field[9], NULL, 10);
    row->length = strtoul(field[10], NULL, 10);
    assert_int_equal(strlen(field[13]), 64);
    strcpy(row->sha256, field[13]);
}

static uint8_t *loadInput(const char *spec, size_t *len) {
    if (strncmp(spec, "zeros:", 6) == 0) {
        *len = strtoul(spec + 6, NULL, 10);
        uint8_t *data = calloc(*len ? *len : 1, 1);
        assert_non_null(data);
        return data;
    }
    char path[4096];
    vectorPath(path, sizeof(path), spec);
    return readFile(path, len);
}

static void expectChunks(const char *test, const char *how, const TestChunkList *got, const VectorRow *rows,
                         size_t count) {
    if (got->count != count)
        print_error("%s (%s): %zu chunks, expected %zu\n", test, how, got->count, count);
    assert_int_equal(got->count, count);
    for (size_t i = 0; i < count; i++) {
        if (got->items[i].offset != rows[i].offset || got->items[i].length != rows[i].length)
            print_error("%s (%s) chunk %zu: %zu+%zu, expected %zu+%zu\n", test, how, i, got->items[i].offset,
                        got->items[i].length, rows[i].offset, rows[i].length);
        assert_int_equal(got->items[i].offset, rows[i].offset);
        assert_int_equal(got->items[i].length, rows[i].length);
    }
}

/*
 * Check one test's rows (one input, one parameter set): chunk the input in
 * one go and streamed in several piece sizes, lazily and eagerly, and compare
 * offsets, lengths and SHA-256 with the rows. A non-zero seed is the crate's
 * get_gear_with_seed: GEAR[i] ^ seed and GEAR_LS[i] ^ (seed << 1). Since
 * GEAR_LS[i] == GEAR[i] << 1, that is exactly a gear table of GEAR[i] ^ seed
 * given to chunkerNew, so seeded rows need no special support.
 */
static void checkVectorGroup(const VectorRow *rows, size_t count) {
    const VectorRow *first = &rows[0];
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(rows[i].index, i);
        assert_string_equal(rows[i].input, first->input);
        assert_int_equal(rows[i].minSize, first->minSize);
        assert_int_equal(rows[i].avgSize, first->avgSize);
        assert_int_equal(rows[i].maxSize, first->maxSize);
        assert_int_equal(rows[i].level, first->level);
        assert_int_equal(rows[i].seed, first->seed);
    }

    uint64_t gear[256];
    chunkerReferenceGear(gear);
    for (size_t i = 0; i < 256; i++)
        gear[i] ^= first->seed;
    Chunker *chunker = newChunker(first->minSize, first->avgSize, first->maxSize, first->level, gear);

    size_t len;
    uint8_t *data = loadInput(first->input, &len);

    TestChunkList got = {0};
    chunkAll(chunker, data, len, &got);
    expectChunks(first->test, "whole input", &got, rows, count);
    for (size_t i = 0; i < count; i++) {
        char hex[65];
        sha256Hex(data + rows[i].offset, rows[i].length, hex);
        assert_string_equal(hex, rows[i].sha256);
    }
    listFree(&got);

    static const size_t lazyPieces[] = {1, 7, 4096, 65539};
    for (size_t p = 0; p < sizeof(lazyPieces) / sizeof(lazyPieces[0]); p++) {
        chunkStreamed(chunker, data, len, lazyPieces[p], false, &got);
        expectChunks(first->test, "streamed lazily", &got, rows, count);
        listFree(&got);
    }
    static const size_t eagerPieces[] = {997, 4093};
    for (size_t p = 0; p < sizeof(eagerPieces) / sizeof(eagerPieces[0]); p++) {
        chunkStreamed(chunker, data, len, eagerPieces[p], true, &got);
        expectChunks(first->test, "streamed eagerly", &got, rows, count);
        listFree(&got);
    }

    free(data);
    chunkerFree(chunker);
}

/* Walk every data row of a vector file, test by test. Returns the row count. */
static size_t walkVectorFile(const char *rel, size_t *testsOut) {
    char path[4096];
    vectorPath(path, sizeof(path), rel);
    size_t len;
    char *text = (char *)readFile(path, &len);

    VectorRow rows[256];
    size_t count = 0;
    size_t total = 0;
    size_t tests = 0;
    bool sawHeader = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
        VectorRow row;
        bool end = line == NULL;
        if (!end) {
            size_t l = strlen(line);
            if (l > 0 && line[l - 1] == '\r')
                line[l - 1] = '\0';
            if (line[0] == '#' || line[0] == '\0')
                continue;
            if (strncmp(line, "test\t", 5) == 0) {
                sawHeader = true;
                continue;
            }
            parseRow(line, &row);
        }
        if (count > 0 && (end || strcmp(row.test, rows[0].test) != 0)) {
            checkVectorGroup(rows, count);
            total += count;
            tests++;
            count = 0;
        }
        if (end)
            break;
        assert_true(count < sizeof(rows) / sizeof(rows[0]));
        rows[count++] = row;
    }
    free(text);
    assert_true(sawHeader);
    *testsOut = tests;
    return total;
}

static void testVectorsV2020(void **state) {
    (void)state;
    size_t tests;
    size_t rows = walkVectorFile("expected-v2020.tsv", &tests);
    /* 40 rows in 8 tests, including the 6 rows of test_cut_sekien_16k_chunks_seed_666. */
    print_message("fastcdc v2020: %zu rows in %zu tests match\n", rows, tests);
    assert_int_equal(rows, 40);
    assert_int_equal(tests, 8);
}

static void testVectorsV2016(void **state) {
    (void)state;
    size_t tests;
    size_t rows = walkVectorFile("expected-v2016.tsv", &tests);
    print_message("fastcdc v2016: %zu rows in %zu tests match\n", rows, tests);
    assert_int_equal(rows, 34);
    assert_int_equal(tests, 7);
}

/* The reference gear is the crate's table, and the crate's own derivation:
 * first 8 bytes (big-endian) of MD5 over 64 bytes equal to i. GEAR_LS in the
 * crate is GEAR << 1, which the chunker relies on to derive it. */
static void testReferenceGear(void **state) {
    (void)state;
    uint64_t gear[256];
    chunkerReferenceGear(gear);

    uint64_t fromFile[256];
    assert_int_equal(readTable("tables/gear64.txt", fromFile, 256), 256);
    assert_memory_equal(gear, fromFile, sizeof(gear));

    uint64_t shifted[256];
    assert_int_equal(readTable("tables/gear64_ls.txt", shifted, 256), 256);
    for (size_t i = 0; i < 256; i++)
        assert_true(shifted[i] == gear[i] << 1);

    for (unsigned i = 0; i < 256; i++) {
        uint8_t in[64];
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdLen = 0;
        memset(in, (int)i, sizeof(in));
        assert_int_equal(EVP_Digest(in, sizeof(in), md, &mdLen, EVP_md5(), NULL), 1);
        uint64_t v = 0;
        for (int b = 0; b < 8; b++)
            v = (v << 8) | md[b];
        assert_true(v == gear[i]);
    }
}

/***********************************************************************************************************************
 * Parameters
 **********************************************************************************************************************/

static void testParamValidation(void **state) {
    (void)state;
    static const struct {
        ChunkerParams params;
        const char *field;
    } bad[] = {
        {{0, 1024, 4096, 1}, "minSize"},
        {{63, 1024, 4096, 1}, "minSize"},
        {{1024, 1023, 4096, 1}, "avgSize"},
        {{64, 4096, 4095, 1}, "maxSize"},
        {{64, 1024, 64u * 1024 * 1024 + 1, 1}, "maxSize"},
        {{64, 1024, UINT32_MAX, 1}, "maxSize"},
        {{64, 1024, 4096, 4}, "normalization"},
        {{64, 1024, 4096, UINT32_MAX}, "normalization"},
    };
    uint64_t gear[256];
    chunkerReferenceGear(gear);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        LbError err = {0};
        Chunker *chunker = chunkerNew(&bad[i].params, gear, &err);
        assert_null(chunker);
        assert_int_equal(err.code, LB_ERR_FORMAT);
        char want[128];
        snprintf(want, sizeof(want), "invalid chunker parameter '%s': ", bad[i].field);
        if (strncmp(err.msg, want, strlen(want)) != 0)
            print_error("case %zu: message '%s' does not start with '%s'\n", i, err.msg, want);
        assert_true(strncmp(err.msg, want, strlen(want)) == 0);
    }

    LbError err = {0};
    assert_null(chunkerNew(NULL, gear, &err));
    assert_int_equal(err.code, LB_ERR_FORMAT);

    /* The edges of the valid range are accepted and chunk within bounds. */
    static const ChunkerParams good[] = {
        {64, 64, 64, 0},
        {64, 64, 64, 3},
        {64, 64, 256, 3},
        {64, 64u * 1024 * 1024, 64u * 1024 * 1024, 3},
        {CHUNKER_DEFAULT_MIN, CHUNKER_DEFAULT_AVG, CHUNKER_DEFAULT_MAX, CHUNKER_DEFAULT_NORMALIZATION},
    };
    size_t len = 1u << 20;
    uint8_t *data = randomBytes(len, 7);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        lbErrorClear(&err);
        Chunker *chunker = chunkerNew(&good[i], gear, &err);
        assert_non_null(chunker);
        assert_memory_equal(chunkerParams(chunker), &good[i], sizeof(ChunkerParams));

        TestChunkList got = {0};
        chunkAll(chunker, data, len, &got);
        for (size_t c = 0; c < got.count; c++) {
            assert_true(got.items[c].length <= good[i].maxSize);
            if (c + 1 < got.count)
                assert_true(got.items[c].length >= good[i].minSize);
        }
        listFree(&got);
        chunkerFree(chunker);
    }
    free(data);
    chunkerFree(NULL);
}

/***********************************************************************************************************************
 * chunkerNext contract
 **********************************************************************************************************************/

/* len == 0 never yields a chunk, eof or not, with or without a pointer. */
static void testLenZero(void **state) {
    (void)state;
    Chunker *chunker = newChunker(64, 256, 1024, 1, NULL);
    uint8_t byte = 0;
    assert_int_equal(chunkerNext(chunker, NULL, 0, false), 0);
    assert_int_equal(chunkerNext(chunker, NULL, 0, true), 0);
    assert_int_equal(chunkerNext(chunker, &byte, 0, false), 0);
    assert_int_equal(chunkerNext(chunker, &byte, 0, true), 0);
    chunkerFree(chunker);
}

/*
 * eof decides what happens when no boundary is found below maxSize. Zeros
 * never hit a boundary with these params (the vector test_cut_all_zeros cuts
 * 10240 zeros into 1024-byte chunks), so only eof or maxSize can cut.
 */
static void testEof(void **state) {
    (void)state;
    Chunker *chunker = newChunker(64, 256, 1024, 1, NULL);
    uint8_t *zeros = calloc(5000, 1);
    assert_non_null(zeros);

    static const struct {
        size_t len;
        size_t notEof;
        size_t atEof;
    } cases[] = {
        {1, 0, 1},       {63, 0, 63},        {64, 0, 64},        {65, 0, 65},
        {1023, 0, 1023}, {1024, 1024, 1024}, {1025, 1024, 1024}, {5000, 1024, 1024},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(chunkerNext(chunker, zeros, cases[i].len, false), cases[i].notEof);
        assert_int_equal(chunkerNext(chunker, zeros, cases[i].len, true), cases[i].atEof);
    }
    free(zeros);
    chunkerFree(chunker);

    /*
     * On random data a content boundary below maxSize is reported without
     * eof, and never early: every prefix of the data gives 0 until the pair
     * holding the boundary is complete, then the same cut as the full data.
     */
    chunker = newChunker(256, 1024, 8192, 1, NULL);
    size_t len = 64 * 1024;
    uint8_t *data = randomBytes(len, 11);
    size_t full = chunkerNext(chunker, data, len, false);
    assert_true(full >= 256 && full < 8192); /* a content boundary, not maxSize */
    for (size_t k = 1; k <= full + 2; k++) {
        size_t n = chunkerNext(chunker, data, k, false);
        if (k < full)
            assert_int_equal(n, 0);
        else if (k >= full + 2)
            assert_int_equal(n, full);
        else
            assert_true(n == 0 || n == full);
        /* With eof the prefix is final: a cut inside it, the boundary if it fits. */
        size_t e = chunkerNext(chunker, data, k, true);
        assert_true(e > 0 && e <= k);
        if (k >= full + 2)
            assert_int_equal(e, full);
    }
    free(data);
    chunkerFree(chunker);
}

/*
 * Every chunk is <= maxSize, every chunk but the last is >= minSize (for an
 * odd minSize the reference, and so this chunker, may cut at minSize - 1),
 * the chunks tile the input, and content boundaries really occur. Higher
 * normalization narrows the size distribution.
 */
static void testBounds(void **state) {
    (void)state;
    static const ChunkerParams cases[] = {
        {256, 1024, 4096, 0},  {256, 1024, 4096, 1}, {256, 1024, 4096, 2}, {256, 1024, 4096, 3},
        {512, 4096, 16384, 1}, {257, 1024, 4095, 1}, {64, 128, 256, 3},    {4096, 16384, 65535, 1},
    };
    size_t len = 4u << 20;
    uint8_t *data = randomBytes(len, 3);
    double variance[4] = {0};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const ChunkerParams *p = &cases[i];
        Chunker *chunker = newChunker(p->minSize, p->avgSize, p->maxSize, p->normalization, NULL);
        TestChunkList got = {0};
        chunkAll(chunker, data, len, &got);

        size_t floorSize = p->minSize & ~(size_t)1; /* == minSize unless odd */
        size_t sum = 0;
        size_t inside = 0;
        size_t atMin = 0;
        double mean = (double)len / (double)got.count;
        double sq = 0;
        for (size_t c = 0; c < got.count; c++) {
            size_t l = got.items[c].length;
            assert_int_equal(got.items[c].offset, sum);
            assert_true(l > 0 && l <= p->maxSize);
            if (c + 1 < got.count)
                assert_true(l >= floorSize);
            if (l > p->minSize && l < p->maxSize)
                inside++;
            if (l == p->minSize)
                atMin++;
            sum += l;
            sq += ((double)l - mean) * ((double)l - mean);
        }
        assert_int_equal(sum, len);
        assert_true(inside > got.count / 2);
        /* With small masks, cuts right at minSize occur: the scan starts there. */
        if (p->maxSize == 256)
            assert_true(atMin > 0);
        if (i < 4)
            variance[i] = sq / (double)got.count;
        listFree(&got);
        chunkerFree(chunker);
    }
    assert_true(variance[3] < variance[1]);
    assert_true(variance[1] < variance[0]);

    /* maxSize == minSize: every chunk but the last is exactly that size. */
    Chunker *chunker = newChunker(64, 64, 64, 3, NULL);
    TestChunkList got = {0};
    chunkAll(chunker, data, 1000, &got);
    assert_int_equal(got.count, 16);
    for (size_t c = 0; c < 15; c++)
        assert_int_equal(got.items[c].length, 64);
    assert_int_equal(got.items[15].length, 1000 - 15 * 64);
    listFree(&got);
    chunkerFree(chunker);
    free(data);
}

/* Same params + gear + data give the same cuts: across chunkers, across
 * calls, and whichever way the data is fed. */
static void testDeterminism(void **state) {
    (void)state;
    size_t len = 8u << 20;
    uint8_t *data = randomBytes(len, 5);
    Chunker *a = newChunker(16384, 65536, 262144, 1, NULL);
    Chunker *b = newChunker(16384, 65536, 262144, 1, NULL);

    TestChunkList first = {0}, second = {0}, third = {0}, lazy = {0}, eager = {0};
    chunkAll(a, data, len, &first);
    chunkAll(a, data, len, &second);
    chunkAll(b, data, len, &third);
    chunkStreamed(b, data, len, 65537, false, &lazy);
    chunkStreamed(a, data, len, 40000, true, &eager);
    assert_true(first.count > 8);
    assert_true(listEqual(&first, &second));
    assert_true(listEqual(&first, &third));
    assert_true(listEqual(&first, &lazy));
    assert_true(listEqual(&first, &eager));

    listFree(&first);
    listFree(&second);
    listFree(&third);
    listFree(&lazy);
    listFree(&eager);
    chunkerFree(a);
    chunkerFree(b);
    free(data);
}

/* Count boundaries (chunk end offsets) the two lists share. */
static size_t sharedBoundaries(const TestChunkList *a, const TestChunkList *b) {
    size_t i = 0, j = 0, shared = 0;
    while (i < a->count && j < b->count) {
        size_t ea = a->items[i].offset + a->items[i].length;
        size_t eb = b->items[j].offset + b->items[j].length;
        if (ea == eb) {
            shared++;
            i++;
            j++;
        } else if (ea < eb) {
            i++;
        } else {
            j++;
        }
    }
    return shared;
}

/* The gear table is what keys the boundaries: another table (seeded like the
 * crate, or fully random as cryptoDeriveGear would give) moves nearly all of
 * them. chunkerNew copies the table, so later changes to it do not matter. */
static void testGearChangesBoundaries(void **state) {
    (void)state;
    size_t len = 4u << 20;
    uint8_t *data = randomBytes(len, 9);

    uint64_t reference[256], seeded[256], random[256];
    chunkerReferenceGear(reference);
    uint64_t rng = 42;
    for (size_t i = 0; i < 256; i++) {
        seeded[i] = reference[i] ^ 666;
        random[i] = testRand(&rng);
    }

    Chunker *ref = newChunker(2048, 8192, 65536, 1, reference);
    Chunker *seed = newChunker(2048, 8192, 65536, 1, seeded);
    Chunker *rnd = newChunker(2048, 8192, 65536, 1, random);
    TestChunkList refList = {0}, seedList = {0}, rndList = {0};
    chunkAll(ref, data, len, &refList);
    chunkAll(seed, data, len, &seedList);
    chunkAll(rnd, data, len, &rndList);

    assert_true(refList.count > 100);
    assert_false(listEqual(&refList, &seedList));
    assert_false(listEqual(&refList, &rndList));
    /* Only the final boundary (end of input) is bound to coincide. */
    assert_true(sharedBoundaries(&refList, &seedList) < refList.count / 10);
    assert_true(sharedBoundaries(&refList, &rndList) < refList.count / 10);

    /* Mutating the caller's array after chunkerNew changes nothing. */
    for (size_t i = 0; i < 256; i++)
        random[i] = reference[i];
    TestChunkList again = {0};
    chunkAll(rnd, data, len, &again);
    assert_true(listEqual(&rndList, &again));

    listFree(&refList);
    listFree(&seedList);
    listFree(&rndList);
    listFree(&again);
    chunkerFree(ref);
    chunkerFree(seed);
    chunkerFree(rnd);
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testVectorsV2020),
        cmocka_unit_test(testVectorsV2016),
        cmocka_unit_test(testReferenceGear),
        cmocka_unit_test(testParamValidation),
        cmocka_unit_test(testLenZero),
        cmocka_unit_test(testEof),
        cmocka_unit_test(testBounds),
        cmocka_unit_test(testDeterminism),
        cmocka_unit_test(testGearChangesBoundaries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
