/* test_packread.c - reading blobs by pack (restore/packread.h): the plan
 * coalesces neighbours of one pack within the gap and span limits and never
 * across packs; packReadBlobs hands every blob over once with its
 * plaintext, in far fewer requests than blobs, and fails with the blob
 * named when one is missing or with the callback's error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "repo/saver.h"
#include "restore/packread.h"
#include "storage/mem/mem.h"

enum { BLOBS = 40 };

typedef struct Fixture {
    Repo *repo;
    LbId ids[BLOBS];
    LbBuf data[BLOBS]; /* each blob's plaintext */
} Fixture;

/* 40 blobs of 1..64 KiB, distinct contents, stored through the saver. */
static int setup(void **state) {
    Fixture *f = lbXcalloc(1, sizeof(*f));
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    f->repo = repoInit(storageMemNew(), "pw", &opts, &err);
    assert_non_null(f->repo);
    BlobSaver *saver = saverNew(f->repo, 2);
    atomic_long pending;
    atomic_init(&pending, 0);
    uint32_t x = 777;
    for (size_t k = 0; k < BLOBS; k++) {
        size_t len = 1024 * (1 + (k * 11) % 64);
        uint8_t *data = lbXmalloc(len);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            data[i] = (uint8_t)(x >> 16);
        }
        lbBufAppend(&f->data[k], data, len);
        atomic_fetch_add(&pending, 1);
        saverSubmitTake(saver, BLOB_DATA, data, len, &f->ids[k], &pending);
    }
    assert_true(saverFinish(saver, &err));
    saverFree(saver);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    for (size_t k = 0; k < BLOBS; k++)
        lbBufFree(&f->data[k]);
    repoFree(f->repo);
    free(f);
    return 0;
}

static void test_plan_coalesces(void **state) {
    (void)state;
    /* pack 1: two neighbours, one a gap too far; pack 0: one; pack 1 again
     * (listed out of order): the plan sorts by pack and offset */
    IndexLoc locs[] = {
        {.pack = 1, .offset = 0, .length = 100},
        {.pack = 1, .offset = 100 + PACK_READ_GAP_MAX, .length = 100},    /* within the gap: same read */
        {.pack = 1, .offset = 300 + 2 * PACK_READ_GAP_MAX, .length = 50}, /* beyond it: a new read */
        {.pack = 0, .offset = 0, .length = 10},
        {.pack = 2, .offset = 0, .length = PACK_READ_SPAN_MAX}, /* a read of its own size */
        {.pack = 2, .offset = PACK_READ_SPAN_MAX, .length = 1}, /* would pass the span: a new read */
    };
    PackReadKey keys[6];
    PackRead reads[6];
    size_t n = packReadPlan(locs, keys, 6, reads);
    assert_int_equal(n, 5);
    assert_int_equal(keys[reads[0].from].pack, 0);
    assert_int_equal(reads[1].to - reads[1].from, 2); /* pack 1's first two blobs */
    assert_int_equal(reads[1].lo, 0);
    assert_int_equal(reads[1].hi, 200 + PACK_READ_GAP_MAX);
    assert_int_equal(keys[reads[1].from].pos, 0);
    assert_int_equal(keys[reads[1].from + 1].pos, 1);
    assert_int_equal(keys[reads[2].from].pos, 2);
    assert_int_equal(reads[3].hi - reads[3].lo, PACK_READ_SPAN_MAX);
    assert_int_equal(keys[reads[4].from].pos, 5);
}

typedef struct Seen {
    Fixture *f;
    const LbId *ids; /* the list handed to packReadBlobs */
    size_t calls[2 * BLOBS];
    size_t total, failAt; /* fail on call failAt (1-based; 0: never) */
    bool wrong;
} Seen;

static bool record(void *ctx, size_t pos, const uint8_t *plain, size_t len, LbError *err) {
    Seen *s = ctx;
    s->total++;
    if (s->failAt && s->total == s->failAt)
        return lbErr(err, LB_ERR_IO, "unable to store blob %zu: disk full", pos);
    s->calls[pos]++;
    size_t k = 0;
    while (k < BLOBS && !lbIdEqual(&s->f->ids[k], &s->ids[pos]))
        k++;
    if (k == BLOBS || s->f->data[k].len != len || memcmp(s->f->data[k].data, plain, len) != 0)
        s->wrong = true;
    return true;
}

static void test_read_blobs(void **state) {
    Fixture *f = *state;
    /* every blob, backwards, and the first ten twice */
    LbId list[BLOBS + 10];
    for (size_t k = 0; k < BLOBS; k++)
        list[k] = f->ids[BLOBS - 1 - k];
    for (size_t k = 0; k < 10; k++)
        list[BLOBS + k] = f->ids[k];
    Seen s = {.f = f, .ids = list};
    StorageStats before, after;
    storageGetStats(repoStorage(f->repo), &before);
    LbError err = {0};
    assert_true(packReadBlobs(f->repo, BLOB_DATA, list, BLOBS + 10, record, &s, &err));
    storageGetStats(repoStorage(f->repo), &after);
    assert_false(s.wrong);
    assert_int_equal(s.total, BLOBS + 10);
    for (size_t i = 0; i < BLOBS + 10; i++)
        assert_int_equal(s.calls[i], 1);
    /* 40 blobs of about 1.3 MiB in all, in at most 2 packs: a few ranged reads */
    assert_true(after.gets - before.gets <= 6);
    assert_true(after.gets - before.gets >= 1);
}

static void test_missing_blob(void **state) {
    Fixture *f = *state;
    LbId list[3] = {f->ids[0], f->ids[1], f->ids[2]};
    memset(list[1].b, 0xab, sizeof(list[1].b));
    Seen s = {.f = f, .ids = list};
    LbError err = {0};
    assert_false(packReadBlobs(f->repo, BLOB_DATA, list, 3, record, &s, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "abababab"));
    assert_int_equal(s.total, 0); /* nothing read */
}

static void test_callback_fails(void **state) {
    Fixture *f = *state;
    Seen s = {.f = f, .ids = f->ids, .failAt = 5};
    LbError err = {0};
    assert_false(packReadBlobs(f->repo, BLOB_DATA, f->ids, BLOBS, record, &s, &err));
    assert_int_equal(err.code, LB_ERR_IO);
    assert_non_null(strstr(err.msg, "disk full"));
    assert_int_equal(s.total, 5); /* no call after the failure */
}

static void test_empty(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    assert_true(packReadBlobs(f->repo, BLOB_DATA, NULL, 0, record, NULL, &err));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_coalesces),
        cmocka_unit_test_setup_teardown(test_read_blobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_blob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
