/*
 * test_copy_commit.c - unit tests for src/maint/copy.h: copy writes its snapshots
 * through the commit path (repo/commit.h).
 *
 * Source and target live on two in-memory stores; the target's Repo reaches
 * its store through the borrowing driver of tests/unit/repo/harness.h, whose
 * put hook lets a test run "a prune" at the moment the copy's index file
 * lands (after its packs and index, before its snapshots): deterministic,
 * where the integration test (tests/integration/test_copy.sh) has to stop a
 * real process at the right moment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "maint/copy.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"
#include "storage/mem/mem.h"

#include "../repo/harness.h"

#define PASSWORD "copy test password"

typedef struct TestCopy {
    Storage *srcMem, *dstMem;
    Repo *src;
    LbId snapA, snapB; /* in the source: files a and b */
    Faults faults;     /* of the target's driver */
    /* the simulated prune */
    LbId *oldIndex, *oldPacks;
    size_t oldIndexCount, oldPackCount;
    bool pruned;
} TestCopy;

static bool collectPack(void *ctx, const char *name, uint64_t size) {
    (void)size;
    TestCopy *t = ctx;
    const char *hex = strrchr(name, '/');
    t->oldPacks = realloc(t->oldPacks, (t->oldPackCount + 1) * sizeof(LbId));
    assert_true(lbIdFromHex(hex + 1, &t->oldPacks[t->oldPackCount++]));
    return true;
}

static LbId saveSnapshot(Repo *repo, const char *name, unsigned seed) {
    LbError err = {0};
    Stored s;
    assert_true(storeFile(repo, name, seed, &s, &err));
    Snapshot snap;
    snapshotOf(&s, &snap);
    snap.timeNs += seed;
    assert_true(snapshotSave(repo, &snap, &err));
    LbId id = snap.id;
    snapshotClear(&snap);
    free(s.packs);
    return id;
}

static int setup(void **state) {
    TestCopy *t = calloc(1, sizeof(*t));
    t->srcMem = storageMemNew();
    t->dstMem = storageMemNew();
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    t->src = repoInit(borrow(t->srcMem, NULL), PASSWORD, &opts, &err);
    assert_non_null(t->src);
    Repo *dst = repoInit(borrow(t->dstMem, NULL), PASSWORD, &opts, &err);
    assert_non_null(dst);
    repoFree(dst);
    assert_true(repoLoadIndex(t->src, &err));
    t->snapA = saveSnapshot(t->src, "a", 11);
    t->snapB = saveSnapshot(t->src, "b", 12);
    *state = t;
    return 0;
}

static int teardown(void **state) {
    TestCopy *t = *state;
    repoFree(t->src);
    storageFree(t->srcMem);
    storageFree(t->dstMem);
    free(t->oldIndex);
    free(t->oldPacks);
    free(t);
    return 0;
}

/* The target as a fresh process opens it: index loaded. */
static Repo *openTarget(TestCopy *t) {
    LbError err = {0};
    Repo *dst = repoOpen(borrowFaulty(t->dstMem, &t->faults), PASSWORD, &err);
    assert_non_null(dst);
    assert_true(repoLoadIndex(dst, &err));
    return dst;
}

static bool copyIds(TestCopy *t, Repo *dst, const LbId *ids, size_t count, CopyResult *r, LbError *err) {
    SnapshotFilter all = {0};
    return copyRun(t->src, dst, &all, ids, count, r, err);
}

/* Every snapshot of the target loads its tree and every file's data. */
static size_t restorableSnapshots(Repo *dst) {
    SnapshotList list = {0};
    LbError err = {0};
    assert_true(repoReloadIndex(dst, &err));
    assert_true(snapshotLoadAll(dst, &list, &err));
    for (size_t i = 0; i < list.count; i++) {
        LbBuf plain = {0};
        Tree tree = {0};
        assert_true(repoLoadBlob(dst, BLOB_TREE, &list.items[i].tree, &plain, &err));
        assert_true(treeDecode(plain.data, plain.len, &tree, &err));
        for (size_t k = 0; k < tree.count; k++)
            for (size_t c = 0; c < tree.nodes[k].contentCount; c++) {
                LbBuf data = {0};
                assert_true(repoLoadBlob(dst, BLOB_DATA, &tree.nodes[k].content[c], &data, &err));
                lbBufFree(&data);
            }
        treeFree(&tree);
        lbBufFree(&plain);
    }
    size_t n = list.count;
    snapshotListFree(&list);
    return n;
}

/* The target holds A's data but no snapshot: a copy of A, forgotten. Records
 * the target's index files and packs then (what the prune will delete). */
static void forgottenCopyOfA(TestCopy *t) {
    Repo *dst = openTarget(t);
    CopyResult r;
    LbError err = {0};
    assert_true(copyIds(t, dst, &t->snapA, 1, &r, &err));
    assert_int_equal(r.snapshotsCopied, 1);
    SnapshotList list = {0};
    assert_true(snapshotLoadAll(dst, &list, &err));
    assert_int_equal(list.count, 1);
    removeObject(t->dstMem, "snapshots", &list.items[0].id);
    snapshotListFree(&list);
    assert_true(repoListIds(dst, "index", &t->oldIndex, &t->oldIndexCount, &err));
    assert_true(storageList(t->dstMem, "data/", collectPack, t, &err));
    assert_true(t->oldIndexCount > 0 && t->oldPackCount > 0);
    repoFree(dst);
}

/* The put hook: when the copy's index file lands, delete the old index files
 * and packs, as a prune whose lock check missed the copy would (no snapshot
 * references them). */
static void pruneOnIndex(void *ctx, const char *name) {
    TestCopy *t = ctx;
    if (t->pruned || strncmp(name, "index/", 6) != 0)
        return;
    t->pruned = true;
    for (size_t i = 0; i < t->oldIndexCount; i++)
        removeObject(t->dstMem, "index", &t->oldIndex[i]);
    for (size_t i = 0; i < t->oldPackCount; i++)
        removeObject(t->dstMem, "data", &t->oldPacks[i]);
}

/* Without interference the copy of A (deduplicated against the forgotten
 * copy's data) and B writes both snapshots, and they load completely. */
static void testCopyCommits(void **state) {
    TestCopy *t = *state;
    forgottenCopyOfA(t);
    Repo *dst = openTarget(t);
    LbId ids[2] = {t->snapA, t->snapB};
    CopyResult r;
    LbError err = {0};
    bool ok = copyIds(t, dst, ids, 2, &r, &err);
    if (!ok)
        print_error("copy: %s\n", err.msg);
    assert_true(ok);
    assert_int_equal(r.snapshotsCopied, 2);
    assert_int_equal(restorableSnapshots(dst), 2);
    repoFree(dst);
}

/* A prune deletes the data A's copy deduplicated against while the copy
 * writes its index: the copy's own packs survive, but an index file it
 * loaded is gone, so its commit re-checks A's tree, finds the data missing
 * and fails with LB_ERR_NOT_COMMITTED; no snapshot is written. */
static void testCopyPrunedMeanwhile(void **state) {
    TestCopy *t = *state;
    forgottenCopyOfA(t);
    Repo *dst = openTarget(t);
    t->faults.onPut = pruneOnIndex;
    t->faults.onPutCtx = t;
    LbId ids[2] = {t->snapA, t->snapB};
    CopyResult r;
    LbError err = {0};
    Capture cap;
    captureBegin(&cap);
    bool ok = copyIds(t, dst, ids, 2, &r, &err);
    char *log = captureEnd(&cap);
    t->faults.onPut = NULL;
    assert_true(t->pruned);
    assert_false(ok);
    assert_int_equal(err.code, LB_ERR_NOT_COMMITTED);
    assert_int_equal(lbErrorExitCode(err.code), 1);
    assert_non_null(strstr(err.msg, "no snapshot written: data this run relies on was removed meanwhile"));
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&t->snapA, hex);
    char want[64];
    snprintf(want, sizeof(want), "unable to copy snapshot %.8s", hex);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(log, "index file(s) changed during this run"));
    free(log);
    assert_int_equal(r.snapshotsCopied, 0);
    assert_int_equal(countObjects(t->dstMem, "snapshots/"), 0);
    repoFree(dst);

    /* running it again stores the data again */
    dst = openTarget(t);
    ok = copyIds(t, dst, ids, 2, &r, &err);
    if (!ok)
        print_error("copy again: %s\n", err.msg);
    assert_true(ok);
    assert_int_equal(r.snapshotsCopied, 2);
    assert_int_equal(restorableSnapshots(dst), 2);
    repoFree(dst);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(testCopyCommits, setup, teardown),
        cmocka_unit_test_setup_teardown(testCopyPrunedMeanwhile, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
