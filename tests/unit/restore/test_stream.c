/* test_stream.c - restoreFileStream: a stored file's blobs come out in
 * order whatever order the workers finish in, the reader may stop early,
 * and a damaged or missing blob fails the stream with the blob named. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "repo/saver.h"
#include "restore/restore.h"
#include "storage/mem/mem.h"

enum { BLOBS = 40 };

typedef struct Fixture {
    Repo *repo;
    Node node;
    LbBuf want; /* the file's content */
} Fixture;

/* 40 blobs of 1..64 KiB, distinct contents, stored through the saver. */
static int setup(void **state) {
    Fixture *f = lbXcalloc(1, sizeof(*f));
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    f->repo = repoInit(storageMemNew(), "pw", &opts, &err);
    assert_non_null(f->repo);
    f->node.type = NODE_FILE;
    f->node.name = lbXstrdup("file");
    f->node.content = lbXcalloc(BLOBS, sizeof(LbId));
    f->node.contentCount = BLOBS;
    BlobSaver *saver = saverNew(f->repo, 2);
    atomic_long pending;
    atomic_init(&pending, 0);
    uint32_t x = 12345;
    for (size_t k = 0; k < BLOBS; k++) {
        size_t len = 1024 * (1 + (k * 7) % 64);
        uint8_t *data = lbXmalloc(len);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            data[i] = (uint8_t)(x >> 16);
        }
        lbBufAppend(&f->want, data, len);
        atomic_fetch_add(&pending, 1);
        saverSubmitTake(saver, BLOB_DATA, data, len, &f->node.content[k], &pending);
    }
    assert_true(saverFinish(saver, &err));
    saverFree(saver);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    free(f->node.content);
    free(f->node.name);
    lbBufFree(&f->want);
    repoFree(f->repo);
    free(f);
    return 0;
}

typedef struct Collect {
    LbBuf got;
    size_t calls, stopAfter; /* 0 = never stop */
} Collect;

static int collect(void *ctx, const uint8_t *data, size_t len, LbError *err) {
    (void)err;
    Collect *c = ctx;
    lbBufAppend(&c->got, data, len);
    c->calls++;
    return c->stopAfter && c->calls == c->stopAfter ? 0 : 1;
}

static int failing(void *ctx, const uint8_t *data, size_t len, LbError *err) {
    (void)data;
    (void)len;
    size_t *calls = ctx;
    if (++*calls == 3)
        return lbErr(err, LB_ERR_IO, "sink refused"), -1;
    return 1;
}

static void testInOrder(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    for (int round = 0; round < 5; round++) { /* workers race: the order must hold every time */
        Collect c = {0};
        StorageStats before, after;
        storageGetStats(repoStorage(f->repo), &before);
        assert_true(restoreFileStream(f->repo, &f->node, collect, &c, &err));
        storageGetStats(repoStorage(f->repo), &after);
        /* the file (1.3 MiB, one batch) lies in the packs the saver's
         * workers filled: one ranged read per pack, not one per blob */
        size_t packs = indexPackCount(repoIndex(f->repo));
        assert_true(packs >= 1 && packs < BLOBS / 4);
        assert_int_equal(after.gets - before.gets, packs);
        assert_true(c.calls >= 1 && c.calls <= BLOBS);
        assert_int_equal(c.got.len, f->want.len);
        assert_memory_equal(c.got.data, f->want.data, f->want.len);
        lbBufFree(&c.got);
    }
    /* restoreFileToFd through a pipe read back to the end */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        char buf[65536];
        ssize_t r;
        while ((r = read(fds[0], buf, sizeof(buf))) > 0)
            fwrite(buf, 1, (size_t)r, tmp);
        fflush(tmp);
        _exit(0);
    }
    close(fds[0]);
    assert_true(restoreFileToFd(f->repo, &f->node, fds[1], &err));
    close(fds[1]);
    int status;
    waitpid(pid, &status, 0);
    assert_int_equal(ftell(tmp) >= 0, 1);
    fseek(tmp, 0, SEEK_END);
    assert_int_equal((size_t)ftell(tmp), f->want.len);
    fclose(tmp);
}

static void testStopEarlyAndSinkError(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    Collect c = {.stopAfter = 3};
    assert_true(restoreFileStream(f->repo, &f->node, collect, &c, &err));
    assert_int_equal(c.calls, 3);
    assert_memory_equal(c.got.data, f->want.data, c.got.len);
    lbBufFree(&c.got);

    size_t calls = 0;
    assert_false(restoreFileStream(f->repo, &f->node, failing, &calls, &err));
    assert_int_equal(calls, 3);
    assert_int_equal(err.code, LB_ERR_IO);
    assert_non_null(strstr(err.msg, "sink refused"));

    /* an empty file emits nothing; a directory is refused */
    Node empty = {.type = NODE_FILE, .name = "empty"};
    Collect e = {0};
    assert_true(restoreFileStream(f->repo, &empty, collect, &e, &err));
    assert_int_equal(e.calls, 0);
    Node dir = {.type = NODE_DIR, .name = "d"};
    lbErrorClear(&err);
    assert_false(restoreFileStream(f->repo, &dir, collect, &e, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
}

/* Blob k's plaintext: where it starts in f->want and its length (setup's sizes). */
static size_t blobSize(size_t k) {
    return 1024 * (1 + (k * 7) % 64);
}
static size_t blobStart(size_t k) {
    size_t off = 0;
    for (size_t i = 0; i < k; i++)
        off += blobSize(i);
    return off;
}

/* Blobs backwards and repeated (a later dump deduplicated against an earlier
 * one reads packs out of order), about 21 MiB: several batches (16 MiB of
 * plaintext each), each still read with one request per pack, and the file
 * comes out whole. */
static void testReorderedAndRepeated(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    size_t n = 16 * BLOBS;
    LbId *saved = f->node.content;
    LbId *ids = lbXcalloc(n, sizeof(LbId));
    LbBuf want = {0};
    for (size_t i = 0; i < n; i++) {
        size_t k = i < BLOBS ? BLOBS - 1 - i : (i * 13) % BLOBS; /* backwards, then jumping about */
        ids[i] = saved[k];
        lbBufAppend(&want, f->want.data + blobStart(k), blobSize(k));
    }
    f->node.content = ids;
    f->node.contentCount = n;
    Collect c = {0};
    StorageStats before, after;
    storageGetStats(repoStorage(f->repo), &before);
    assert_true(restoreFileStream(f->repo, &f->node, collect, &c, &err));
    storageGetStats(repoStorage(f->repo), &after);
    size_t batches = 1 + want.len / (16u * 1024u * 1024u) + 1; /* 16 MiB batches, a partial one at each end */
    assert_true(want.len > 16u * 1024u * 1024u);
    assert_true(after.gets - before.gets <= batches * indexPackCount(repoIndex(f->repo)));
    assert_int_equal(c.calls, n);
    assert_int_equal(c.got.len, want.len);
    assert_memory_equal(c.got.data, want.data, want.len);
    lbBufFree(&c.got);
    lbBufFree(&want);
    free(ids);
    f->node.content = saved;
    f->node.contentCount = BLOBS;
}

/* A blob the repository does not have: the blobs before it come out, then
 * the stream fails naming it. */
static void testMissingBlob(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    LbId saved = f->node.content[25];
    memset(&f->node.content[25], 0xab, sizeof(LbId));
    Collect c = {0};
    assert_false(restoreFileStream(f->repo, &f->node, collect, &c, &err));
    assert_true(c.calls <= 25);
    assert_memory_equal(c.got.data, f->want.data, c.got.len);
    assert_non_null(strstr(err.msg, "abababab"));
    lbBufFree(&c.got);
    f->node.content[25] = saved;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(testInOrder, setup, teardown),
        cmocka_unit_test_setup_teardown(testStopEarlyAndSinkError, setup, teardown),
        cmocka_unit_test_setup_teardown(testMissingBlob, setup, teardown),
        cmocka_unit_test_setup_teardown(testReorderedAndRepeated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
