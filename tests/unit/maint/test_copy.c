/*
 * test_copy.c - unit tests for src/maint/copy.c (copyRun) between two
 * repositories built in memory (fixture.h): a copy into a repository that
 * chunks alike moves blobs as they are, into one with its own gear secret
 * re-chunks; either way every file reads back equal, every copied snapshot
 * names its original, the target passes check with read-data, and a second
 * run copies nothing. Selecting snapshots by ID copies only those.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#include "maint/copy.h"
#include "maint/prune.h"
#include "repo/lock.h"

#define T0 1700000000000000000ll

/* Source: A {u: 80 81, w: 82}, B {u: 80, v: 83}. */
typedef struct Pair {
    Repo *src, *dst;
    FixBackup a, b;
} Pair;

static Pair *pairNew(bool sameChunker) {
    Pair *p = lbXcalloc(1, sizeof(*p));
    p->src = fixRepoNew();
    p->a = (FixBackup){.tag = "A", .files = {{"u", {80, 81}, 2}, {"w", {82}, 1}}, .fileCount = 2};
    p->b = (FixBackup){.tag = "B", .files = {{"u", {80}, 1}, {"v", {83}, 1}}, .fileCount = 2};
    fixBackup(p->src, &p->a, T0);
    fixBackup(p->src, &p->b, T0 + 1);
    RepoInitOptions o = {.kdfN = 1024, .chunkerFrom = sameChunker ? p->src : NULL};
    p->dst = fixRepoNewOpts(&o);
    return p;
}

static void pairFree(Pair *p) {
    repoFree(p->src);
    repoFree(p->dst);
    free(p);
}

static CopyResult copyOk(Pair *p, const LbId *ids, size_t idCount) {
    CopyResult r;
    LbError err = {0};
    fixReload(p->src);
    fixReload(p->dst);
    bool ok = copyRun(p->src, p->dst, NULL, ids, idCount, &r, &err);
    if (!ok)
        print_error("copyRun: %s\n", err.msg);
    assert_true(ok);
    return r;
}

/* Same chunker: the 8 blobs (4 data, 4 trees) are stored once under the
 * target's IDs, never the source's; again: nothing copied. */
static void testCopySameChunker(void **state) {
    (void)state;
    Pair *p = pairNew(true);
    CopyResult r = copyOk(p, NULL, 0);
    assert_int_equal(r.snapshotsCopied, 2);
    assert_int_equal(r.snapshotsSkipped, 0);
    assert_false(r.rechunked);
    assert_int_equal(r.blobsNew, 8);
    assert_true(r.bytesStored > fixChunkLen(80) + fixChunkLen(81) + fixChunkLen(82) + fixChunkLen(83));
    assert_true(r.bytesRead > 0);
    fixVerifyCopy(p->dst, (FixBackup *[]){&p->a, &p->b}, 2);

    LbId inSrc = fixChunkId(p->src, 80), inDst = fixChunkId(p->dst, 80);
    assert_false(lbIdEqual(&inSrc, &inDst)); /* IDs are keyed per repository */
    assert_true(indexHas(repoIndex(p->dst), &inDst, BLOB_DATA));
    assert_false(indexHas(repoIndex(p->dst), &inSrc, BLOB_DATA));

    char *before = fixListing(p->dst);
    r = copyOk(p, NULL, 0);
    assert_int_equal(r.snapshotsCopied, 0);
    assert_int_equal(r.snapshotsSkipped, 2);
    assert_int_equal(r.blobsNew, 0);
    fixAssertUnchanged(p->dst, before);
    pairFree(p);
}

/* The target has its own gear secret: files are cut again (each file here
 * is smaller than the target's minimum chunk: one chunk per file, so B's u
 * (80 alone) is a blob of its own), and still read back equal. */
static void testCopyRechunks(void **state) {
    (void)state;
    Pair *p = pairNew(false);
    CopyResult r = copyOk(p, NULL, 0);
    assert_int_equal(r.snapshotsCopied, 2);
    assert_true(r.rechunked);
    assert_int_equal(r.blobsNew, 8); /* u(A), w, u(B), v + 4 trees */
    fixVerifyCopy(p->dst, (FixBackup *[]){&p->a, &p->b}, 2);
    r = copyOk(p, NULL, 0);
    assert_int_equal(r.snapshotsCopied, 0);
    assert_int_equal(r.snapshotsSkipped, 2);
    assert_int_equal(r.blobsNew, 0);
    pairFree(p);
}

/* Only the snapshot asked for is copied (with just the blobs it needs);
 * a later full copy adds the other one and skips it. Forgetting the copy of
 * B in the target and pruning there leaves A whole. */
static void testCopySelectedThenPrune(void **state) {
    (void)state;
    Pair *p = pairNew(true);
    CopyResult r = copyOk(p, &p->b.snapshot, 1);
    assert_int_equal(r.snapshotsCopied, 1);
    assert_int_equal(r.blobsNew, 4); /* 80, 83 + 2 trees */
    fixVerifyCopy(p->dst, (FixBackup *[]){&p->b}, 1);
    r = copyOk(p, NULL, 0);
    assert_int_equal(r.snapshotsCopied, 1);
    assert_int_equal(r.snapshotsSkipped, 1);
    assert_int_equal(r.blobsNew, 4); /* 81, 82 + 2 trees */
    fixVerifyCopy(p->dst, (FixBackup *[]){&p->a, &p->b}, 2);

    SnapshotList snaps = {0};
    LbError err = {0};
    assert_true(snapshotLoadAll(p->dst, &snaps, &err));
    assert_int_equal(snaps.count, 2);
    for (size_t i = 0; i < snaps.count; i++)
        if (lbIdEqual(&snaps.items[i].original, &p->b.snapshot))
            fixRemove(p->dst, "snapshots", &snaps.items[i].id);
    snapshotListFree(&snaps);
    RepoLock *lock = repoLockAcquire(p->dst, true, &err);
    assert_non_null(lock);
    PruneOptions o = {.maxUnusedPercent = 0, .repackWorkers = 1};
    PruneResult pr;
    bool ok = pruneRun(p->dst, lock, &o, &pr, &err);
    repoLockRelease(lock);
    if (!ok)
        print_error("pruneRun: %s\n", err.msg);
    assert_true(ok);
    assert_int_equal(pr.blobsTotal, 8);
    assert_int_equal(pr.blobsUsed, 5); /* 80 81 82 + A's 2 trees */
    fixVerifyCopy(p->dst, (FixBackup *[]){&p->a}, 1);
    pairFree(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testCopySameChunker),
        cmocka_unit_test(testCopyRechunks),
        cmocka_unit_test(testCopySelectedThenPrune),
    };
    return fixRunTests(tests, sizeof(tests) / sizeof(tests[0]), NULL, 0);
}
