/*
 * test_repair.c - unit tests for src/maint/repair_index.c and
 * repair_snapshots.c on repositories built in memory (fixture.h): the index
 * rebuilt from the pack headers after every index file is removed, a pack
 * with a damaged header named and left out, dry runs changing nothing, and
 * snapshots that lost a file or a directory rewritten (tag "repaired",
 * original set, the original kept, no duplicate on a second run).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#include "maint/repair.h"
#include "repo/commit.h"
#include "repo/lock.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"

#define T0 1700000000000000000ll

static void removeAllIndexFiles(Repo *repo) {
    LbId *ids = NULL;
    size_t n = 0;
    LbError err = {0};
    assert_true(repoListIds(repo, "index", &ids, &n, &err));
    for (size_t i = 0; i < n; i++)
        fixRemove(repo, "index", &ids[i]);
    free(ids);
    assert_int_equal(fixCount(repo, "index/"), 0);
}

static void testIndexRebuilt(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup a = {.tag = "a", .files = {{"f", {1, 2}, 2}, {"g", {3}, 1}}, .fileCount = 2};
    FixBackup b = {.tag = "b", .files = {{"f", {1, 2}, 2}, {"h", {104}, 1}}, .fileCount = 2};
    fixBackup(repo, &a, T0);
    fixBackup(repo, &b, T0 + 1);
    size_t packs = fixCount(repo, "data/");
    removeAllIndexFiles(repo);
    LbError err = {0};
    RepoLock *lock = repoLockAcquire(repo, true, &err);
    assert_non_null(lock);

    char *before = fixListing(repo);
    RepairIndexResult r;
    assert_true(repairIndexRun(repo, lock, true, &r, &err));
    assert_int_equal(r.packsRead, packs);
    assert_int_equal(r.indexFilesWritten, 1);
    repairIndexResultClear(&r);
    fixAssertUnchanged(repo, before);

    assert_true(repairIndexRun(repo, lock, false, &r, &err));
    assert_int_equal(r.packsRead, packs);
    assert_int_equal(r.packsDamaged, 0);
    assert_int_equal(r.blobsIndexed, 4 /* data */ + 4 /* two trees each */);
    assert_int_equal(r.indexFilesWritten, 1);
    assert_int_equal(r.indexFilesRemoved, 0);
    repairIndexResultClear(&r);
    assert_int_equal(fixCount(repo, "index/"), 1);
    repoLockRelease(lock);
    FixBackup *expect[] = {&a, &b};
    fixVerify(repo, expect, 2);
    repoFree(repo);
}

static void testDamagedPackLeftOut(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup a = {.tag = "a", .files = {{"f", {1}, 1}}, .fileCount = 1};
    FixBackup b = {.tag = "b", .files = {{"g", {2}, 1}}, .fileCount = 1};
    fixBackup(repo, &a, T0);
    fixBackup(repo, &b, T0 + 1);
    char name[80], hex8[9];
    repoPackName(&b.dataPack, name);
    fixTruncate(repo, name, fixPackSize(repo, &b.dataPack) - 3);
    LbError err = {0};
    RepoLock *lock = repoLockAcquire(repo, true, &err);
    assert_non_null(lock);
    RepairIndexResult r;
    assert_true(repairIndexRun(repo, lock, false, &r, &err));
    assert_int_equal(r.packsDamaged, 1);
    assert_int_equal(r.indexFilesRemoved, 2);
    fixHex8(&b.dataPack, hex8);
    assert_non_null(strstr(r.damaged[0], hex8));
    repairIndexResultClear(&r);
    /* a's data is indexed and reads, b's is not indexed */
    fixReload(repo);
    LbId one = fixChunkId(repo, 1), two;
    uint8_t *chunk2 = fixChunk(2);
    repoBlobId(repo, chunk2, fixChunkLen(2), &two);
    free(chunk2);
    LbBuf buf = {0};
    assert_true(repoLoadBlob(repo, BLOB_DATA, &one, &buf, &err));
    lbBufFree(&buf);
    assert_false(indexHas(repoIndex(repo), &two, BLOB_DATA));
    repoLockRelease(lock);
    repoFree(repo);
}

static bool hasTag(const Snapshot *s, const char *tag) {
    for (size_t i = 0; i < s->tagCount; i++)
        if (strcmp(s->tags[i], tag) == 0)
            return true;
    return false;
}

static void testSnapshotsRepaired(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup good = {.tag = "good", .files = {{"f", {1}, 1}}, .fileCount = 1};
    FixBackup lostFile = {
        .tag = "lostfile", .files = {{"f", {1}, 1}, {"g", {2, FIX_SEED_MISSING}, 2}, {"h", {3}, 1}}, .fileCount = 3};
    FixBackup lostDir = {.tag = "lostdir", .files = {{"x", {4}, 1}}, .fileCount = 1, .dirTreeMissing = true};
    fixBackup(repo, &good, T0);
    fixBackup(repo, &lostFile, T0 + 1);
    fixBackup(repo, &lostDir, T0 + 2);
    LbError err = {0};
    RepoLock *lock = repoLockAcquire(repo, true, &err);
    assert_non_null(lock);

    char *before = fixListing(repo);
    RepairSnapshotsResult r;
    assert_true(repairSnapshotsRun(repo, lock, NULL, 0, true, false, &r, &err));
    assert_int_equal(r.snapshotsChecked, 3);
    assert_int_equal(r.count, 2);
    assert_false(r.items[0].hasNew);
    repairSnapshotsResultClear(&r);
    fixAssertUnchanged(repo, before);

    assert_true(repairSnapshotsRun(repo, lock, NULL, 0, false, false, &r, &err));
    assert_int_equal(r.count, 2);
    assert_int_equal(r.filesRemoved, 1);
    assert_int_equal(r.dirsEmptied, 1);
    assert_true(lbIdEqual(&r.items[0].old, &lostFile.snapshot));
    assert_int_equal(r.items[0].lossCount, 1);
    assert_string_equal(r.items[0].losses[0].path, "/dir/g");
    assert_false(r.items[0].losses[0].dir);
    assert_true(lbIdEqual(&r.items[1].old, &lostDir.snapshot));
    assert_string_equal(r.items[1].losses[0].path, "/dir");
    assert_true(r.items[1].losses[0].dir);
    LbId fixedFile = r.items[0].new, fixedDir = r.items[1].new;
    repairSnapshotsResultClear(&r);

    SnapshotList all = {0};
    assert_true(snapshotLoadAll(repo, &all, &err));
    assert_int_equal(all.count, 5); /* the originals are kept */
    size_t seen = 0;
    for (size_t i = 0; i < all.count; i++) {
        Snapshot *s = &all.items[i];
        if (lbIdEqual(&s->id, &fixedFile) || lbIdEqual(&s->id, &fixedDir)) {
            seen++;
            assert_true(hasTag(s, "repaired"));
            assert_true(s->hasOriginal);
            assert_true(
                lbIdEqual(&s->original, lbIdEqual(&s->id, &fixedFile) ? &lostFile.snapshot : &lostDir.snapshot));
            assert_true(repoCommitTreeComplete(repo, &s->tree, &err));
        }
    }
    assert_int_equal(seen, 2);
    snapshotListFree(&all);

    /* the repaired file snapshot still holds f and h */
    Snapshot s = {0};
    char hex[65];
    fixHex(&fixedFile, hex);
    assert_true(snapshotFind(repo, hex, &(SnapshotFilter){0}, &s, &err));
    LbBuf plain = {0};
    Tree root = {0}, dir = {0};
    assert_true(repoLoadBlob(repo, BLOB_TREE, &s.tree, &plain, &err) && treeDecode(plain.data, plain.len, &root, &err));
    const Node *d = treeFind(&root, "dir");
    assert_non_null(d);
    lbBufClear(&plain);
    assert_true(repoLoadBlob(repo, BLOB_TREE, &d->subtree, &plain, &err) &&
                treeDecode(plain.data, plain.len, &dir, &err));
    assert_int_equal(dir.count, 2);
    assert_string_equal(dir.nodes[0].name, "f");
    assert_string_equal(dir.nodes[1].name, "h");
    treeFree(&root);
    treeFree(&dir);
    lbBufFree(&plain);
    snapshotClear(&s);

    /* again: nothing to do */
    before = fixListing(repo);
    assert_true(repairSnapshotsRun(repo, lock, NULL, 0, false, false, &r, &err));
    assert_int_equal(r.count, 0);
    assert_int_equal(r.alreadyRepaired, 2);
    repairSnapshotsResultClear(&r);
    fixAssertUnchanged(repo, before);
    repoLockRelease(lock);
    repoFree(repo);
}

static void testForgetOriginals(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup good = {.tag = "good", .files = {{"f", {1}, 1}}, .fileCount = 1};
    FixBackup lost = {.tag = "lost", .files = {{"f", {1}, 1}, {"g", {FIX_SEED_MISSING}, 1}}, .fileCount = 2};
    fixBackup(repo, &good, T0);
    fixBackup(repo, &lost, T0 + 1);
    LbError err = {0};
    RepoLock *lock = repoLockAcquire(repo, true, &err);
    assert_non_null(lock);
    RepairSnapshotsResult r;
    const char *refs[] = {"latest"};
    assert_true(repairSnapshotsRun(repo, lock, refs, 1, false, true, &r, &err));
    assert_int_equal(r.snapshotsChecked, 1);
    assert_int_equal(r.count, 1);
    assert_true(r.items[0].forgotten);
    LbId fixed = r.items[0].new;
    repairSnapshotsResultClear(&r);
    SnapshotList all = {0};
    assert_true(snapshotLoadAll(repo, &all, &err));
    assert_int_equal(all.count, 2); /* good, and the repaired one; the original is gone */
    assert_true(lbIdEqual(&all.items[0].id, &good.snapshot));
    assert_true(lbIdEqual(&all.items[1].id, &fixed));
    assert_true(lbIdEqual(&all.items[1].original, &lost.snapshot));
    snapshotListFree(&all);
    repoLockRelease(lock);
    /* everything left is whole: check with read-data finds nothing */
    FixBackup *expect[] = {&good};
    fixForget(repo, &(FixBackup){.snapshot = fixed});
    fixVerify(repo, expect, 1);
    repoFree(repo);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testIndexRebuilt),
        cmocka_unit_test(testDamagedPackLeftOut),
        cmocka_unit_test(testSnapshotsRepaired),
        cmocka_unit_test(testForgetOriginals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
