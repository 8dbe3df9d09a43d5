/*
 * test_prune.c - unit tests for src/maint/prune.c (pruneRun) on repositories
 * built in memory (fixture.h): nothing to prune, a forgotten snapshot's
 * packs, repacking, the repack budget, dry runs, packs no index names, a
 * lock that is no longer alone, and the refusals that protect data. After
 * every prune the remaining snapshots are read back whole and checkRun
 * (read-data) must find nothing.
 *
 * Every prune runs with repackWorkers = 1 so the repacked blobs land in one
 * pack, and reloads the index first, as a new `lifeboat prune` process does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

#include "archiver/archiver.h"
#include "maint/check.h"
#include "repo/commit.h"
#include "source/files.h"
#include "maint/prune.h"
#include "repo/lock.h"
#include "repo/saver.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"

#define T0 1700000000000000000ll

/* Prune under a fresh exclusive lock after reloading the index. */
static bool pruneTry(Repo *repo, const PruneOptions *o, PruneResult *r, LbError *err) {
    fixReload(repo);
    RepoLock *lock = repoLockAcquire(repo, true, err);
    assert_non_null(lock);
    bool ok = pruneRun(repo, lock, o, r, err);
    repoLockRelease(lock);
    return ok;
}

static PruneResult pruneOk(Repo *repo, PruneOptions o) {
    PruneResult r;
    LbError err = {0};
    o.repackWorkers = 1;
    bool ok = pruneTry(repo, &o, &r, &err);
    if (!ok)
        print_error("pruneRun: %s\n", err.msg);
    assert_true(ok);
    return r;
}

static uint32_t treeLen(Repo *repo, const LbId *id) {
    IndexLoc loc;
    assert_true(indexLookup(repoIndex(repo), id, BLOB_TREE, &loc));
    return loc.length;
}

static bool sumLen(void *ctx, const LbId *id, const IndexLoc *loc) {
    (void)id;
    *(uint64_t *)ctx += loc->length;
    return true;
}

/* Three backups: "base" {s}, A {s, u}, B {s, v}; s (seed 10) is shared. */
static void buildShared(Repo *repo, FixBackup *base, FixBackup *a, FixBackup *b) {
    *base = (FixBackup){.tag = "base", .files = {{"s", {10}, 1}}, .fileCount = 1};
    *a = (FixBackup){.tag = "A", .files = {{"s", {10}, 1}, {"u", {11, 12}, 2}}, .fileCount = 2};
    *b = (FixBackup){.tag = "B", .files = {{"s", {10}, 1}, {"v", {13}, 1}}, .fileCount = 2};
    fixBackup(repo, base, T0);
    fixBackup(repo, a, T0 + 1);
    fixBackup(repo, b, T0 + 2);
    assert_int_equal(base->packCount, 2);
    assert_int_equal(a->packCount, 2);
    assert_int_equal(b->packCount, 2);
}

/* A {u: 20 121 22, w: 23}, B {u: 20 22 30, x: 23}: after forgetting A, A's
 * data pack holds three used blobs (20, then 22 and 23 adjacent) and one
 * large unused one (121). */
static void buildPartly(Repo *repo, FixBackup *a, FixBackup *b) {
    *a = (FixBackup){.tag = "A", .files = {{"u", {20, 121, 22}, 3}, {"w", {23}, 1}}, .fileCount = 2};
    *b = (FixBackup){.tag = "B", .files = {{"u", {20, 22, 30}, 3}, {"x", {23}, 1}}, .fileCount = 2};
    fixBackup(repo, a, T0);
    fixBackup(repo, b, T0 + 1);
    assert_int_equal(a->packCount, 2);
    assert_int_equal(b->packCount, 2);
}

/* What a prune did to the packs: total = deleted + repacked + kept. */
typedef struct PackPlan {
    uint64_t total, deleted, repacked, kept, unreferenced;
} PackPlan;

static void assertPlan(const PruneResult *r, PackPlan want) {
    assert_int_equal(r->packsTotal, want.total);
    assert_int_equal(r->packsDeleted, want.deleted);
    assert_int_equal(r->packsRepacked, want.repacked);
    assert_int_equal(r->packsKept, want.kept);
    assert_int_equal(r->packsUnreferenced, want.unreferenced);
}

/* Every snapshot uses every blob: nothing is deleted, repacked or even
 * rewritten (the listing is byte-for-byte the same). */
static void testNothingToPrune(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup base, a, b;
    buildShared(repo, &base, &a, &b);
    fixReload(repo);
    uint64_t used = 0;
    indexForEach(repoIndex(repo), sumLen, &used);
    char *before = fixListing(repo);

    PruneResult r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 5});
    assert_int_equal(r.snapshots, 3);
    assert_int_equal(r.blobsTotal, 10); /* s u1 u2 v + 2 trees each */
    assert_int_equal(r.blobsUsed, 10);
    assert_int_equal(r.bytesUsed, used);
    assert_int_equal(r.bytesUnused, 0);
    assertPlan(&r, (PackPlan){.total = 6, .kept = 6});
    assert_int_equal(r.bytesDeleted, 0);
    assert_int_equal(r.bytesRepacked, 0);
    assert_int_equal(r.bytesUnusedAfter, 0);
    assert_int_equal(r.indexFilesBefore, 3);
    assert_int_equal(r.indexFilesAfter, 3);
    fixAssertUnchanged(repo, before);
    fixVerify(repo, (FixBackup *[]){&base, &a, &b}, 3);
    repoFree(repo);
}

/* Forgetting A frees A's own data and tree packs; the blob A shares with
 * the others (s) stays where it is. */
static void testForgottenSnapshotPacks(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup base, a, b;
    buildShared(repo, &base, &a, &b);
    fixReload(repo);
    IndexLoc s0 = fixChunkLoc(repo, 10);
    assert_true(lbIdEqual(indexPackId(repoIndex(repo), s0.pack), &base.dataPack));
    uint64_t unused = fixChunkLoc(repo, 11).length + fixChunkLoc(repo, 12).length + treeLen(repo, &a.dirTree) +
                      treeLen(repo, &a.root);
    uint64_t freed = fixPackSize(repo, &a.dataPack) + fixPackSize(repo, &a.treePack);
    fixForget(repo, &a);

    PruneResult r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 5});
    assert_int_equal(r.snapshots, 2);
    assert_int_equal(r.blobsTotal, 10);
    assert_int_equal(r.blobsUsed, 6);
    assert_int_equal(r.bytesUnused, unused);
    assertPlan(&r, (PackPlan){.total = 6, .deleted = 2, .kept = 4});
    assert_int_equal(r.bytesDeleted, freed);
    assert_int_equal(r.bytesRepacked, 0);
    assert_int_equal(r.bytesUnusedAfter, 0);
    assert_int_equal(r.indexFilesBefore, 3);
    assert_int_equal(r.indexFilesAfter, 1);

    assert_false(fixPackExists(repo, &a.dataPack));
    assert_false(fixPackExists(repo, &a.treePack));
    assert_true(fixPackExists(repo, &base.dataPack));
    assert_true(fixPackExists(repo, &base.treePack));
    assert_true(fixPackExists(repo, &b.dataPack));
    assert_true(fixPackExists(repo, &b.treePack));
    assert_int_equal(fixCount(repo, "data/"), 4);
    assert_int_equal(fixCount(repo, "index/"), 1);
    fixVerify(repo, (FixBackup *[]){&base, &b}, 2);
    IndexLoc s1 = fixChunkLoc(repo, 10);
    assert_true(lbIdEqual(indexPackId(repoIndex(repo), s1.pack), &base.dataPack));
    assert_int_equal(s1.offset, s0.offset);
    repoFree(repo);
}

/* maxUnusedPercent 0: a partly used pack is repacked. The used blobs (one
 * alone, two adjacent) move into one new pack and read back; the large
 * unused blob is never downloaded; a second prune finds nothing to do. */
static void testRepackPartlyUsed(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup a, b;
    buildPartly(repo, &a, &b);
    fixReload(repo);
    uint64_t moved = fixChunkLoc(repo, 20).length + fixChunkLoc(repo, 22).length + fixChunkLoc(repo, 23).length;
    uint64_t unused = fixChunkLoc(repo, 121).length + treeLen(repo, &a.dirTree) + treeLen(repo, &a.root);
    uint64_t oldSize = fixPackSize(repo, &a.dataPack);
    uint64_t freed = oldSize + fixPackSize(repo, &a.treePack);
    fixForget(repo, &a);

    PruneResult r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0});
    assert_int_equal(r.snapshots, 1);
    assert_int_equal(r.blobsTotal, 9);
    assert_int_equal(r.blobsUsed, 6);
    assert_int_equal(r.bytesUnused, unused);
    assertPlan(&r, (PackPlan){.total = 4, .deleted = 1 /* A's tree pack */, .repacked = 1, .kept = 2});
    assert_int_equal(r.bytesRepacked, moved);
    assert_int_equal(r.bytesDeleted, freed);
    assert_int_equal(r.bytesUnusedAfter, 0);
    assert_int_equal(r.indexFilesBefore, 2);
    assert_int_equal(r.indexFilesAfter, 2); /* kept packs + the repacked one */
    assert_true(r.bytesRead >= moved);
    assert_true(r.bytesRead < fixChunkLen(121)); /* blob 121 was not read */

    assert_false(fixPackExists(repo, &a.dataPack));
    assert_false(fixPackExists(repo, &a.treePack));
    assert_int_equal(fixCount(repo, "data/"), 3);
    fixVerify(repo, (FixBackup *[]){&b}, 1);
    IndexLoc l20 = fixChunkLoc(repo, 20), l22 = fixChunkLoc(repo, 22), l23 = fixChunkLoc(repo, 23);
    const LbId *newPack = indexPackId(repoIndex(repo), l20.pack);
    assert_int_equal(l22.pack, l20.pack);
    assert_int_equal(l23.pack, l20.pack);
    assert_false(lbIdEqual(newPack, &a.dataPack));
    assert_false(lbIdEqual(newPack, &b.dataPack));
    assert_true(fixPackSize(repo, newPack) < oldSize - fixChunkLen(121));

    char *before = fixListing(repo);
    r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0});
    assertPlan(&r, (PackPlan){.total = 3, .kept = 3});
    assert_int_equal(r.bytesUnused, 0);
    fixAssertUnchanged(repo, before);
    repoFree(repo);
}

/* maxRepackBytes: the pack with the largest unused share goes first; the
 * next one would exceed the budget and is kept. One byte less than the
 * first pack's used bytes repacks nothing. */
static void testMaxRepackBytes(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup a = {.tag = "A", .files = {{"a", {40, 41}, 2}}, .fileCount = 1};
    FixBackup b = {.tag = "B", .files = {{"b", {50, 51, 52}, 3}}, .fileCount = 1};
    FixBackup c = {.tag = "C", .files = {{"a", {40}, 1}, {"b", {50}, 1}, {"c", {60}, 1}}, .fileCount = 3};
    fixBackup(repo, &a, T0);
    fixBackup(repo, &b, T0 + 1);
    fixBackup(repo, &c, T0 + 2);
    fixReload(repo);
    uint64_t l41 = fixChunkLoc(repo, 41).length, l50 = fixChunkLoc(repo, 50).length;
    uint64_t l51 = fixChunkLoc(repo, 51).length, l52 = fixChunkLoc(repo, 52).length;
    fixForget(repo, &a);
    fixForget(repo, &b);

    char *before = fixListing(repo);
    PruneResult r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0, .maxRepackBytes = l50 - 1, .dryRun = true});
    assertPlan(&r, (PackPlan){.total = 6, .deleted = 2 /* the tree packs of A and B */, .kept = 4});
    assert_int_equal(r.bytesRepacked, 0);
    assert_int_equal(r.bytesUnusedAfter, l41 + l51 + l52);
    fixAssertUnchanged(repo, before);

    r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0, .maxRepackBytes = l50});
    assertPlan(&r, (PackPlan){.total = 6, .deleted = 2, .repacked = 1, .kept = 3});
    assert_int_equal(r.bytesRepacked, l50);
    assert_int_equal(r.bytesUnusedAfter, l41);
    assert_true(fixPackExists(repo, &a.dataPack));
    assert_false(fixPackExists(repo, &b.dataPack));
    assert_int_equal(fixCount(repo, "data/"), 4);
    fixVerify(repo, (FixBackup *[]){&c}, 1);
    repoFree(repo);
}

/* A dry run changes nothing and reports exactly what the real run then
 * does. */
static void testDryRun(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup a, b;
    buildPartly(repo, &a, &b);
    fixForget(repo, &a);
    char *before = fixListing(repo);
    PruneResult dry = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0, .dryRun = true});
    fixAssertUnchanged(repo, before);
    assertPlan(&dry, (PackPlan){.total = 4, .deleted = 1, .repacked = 1, .kept = 2});
    assert_true(dry.bytesDeleted > 0);
    assert_int_equal(dry.indexFilesAfter, dry.indexFilesBefore);
    assert_true(fixPackExists(repo, &a.dataPack));
    assert_true(fixPackExists(repo, &a.treePack));

    PruneResult r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0});
#define SAME(f) assert_int_equal(dry.f, r.f)
    SAME(snapshots);
    SAME(blobsTotal);
    SAME(blobsUsed);
    SAME(bytesUsed);
    SAME(bytesUnused);
    SAME(packsTotal);
    SAME(packsDeleted);
    SAME(packsRepacked);
    SAME(packsKept);
    SAME(packsUnreferenced);
    SAME(bytesDeleted);
    SAME(bytesRepacked);
    SAME(bytesUnusedAfter);
    SAME(indexFilesBefore);
#undef SAME
    assert_false(fixPackExists(repo, &a.dataPack));
    fixVerify(repo, (FixBackup *[]){&b}, 1);
    repoFree(repo);
}

/* An interrupted backup leaves a pack no index names: check notes it, prune
 * deletes it (and nothing else). */
static void testUnreferencedPack(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup base = {.tag = "base", .files = {{"s", {10}, 1}}, .fileCount = 1};
    fixBackup(repo, &base, T0);
    LbError err = {0};
    LbId *idxBefore = NULL, *idxAfter = NULL;
    size_t nBefore = 0, nAfter = 0;
    assert_true(repoListIds(repo, "index", &idxBefore, &nBefore, &err));
    BlobSaver *saver = saverNew(repo, 1);
    saverSubmitTake(saver, BLOB_DATA, fixChunk(70), fixChunkLen(70), NULL, NULL);
    saverSubmitTake(saver, BLOB_DATA, fixChunk(71), fixChunkLen(71), NULL, NULL);
    assert_true(saverFinish(saver, &err));
    size_t np = 0;
    LbId *packs = saverNewPackIds(saver, &np);
    saverFree(saver);
    assert_int_equal(np, 1);
    LbId orphan = packs[0];
    free(packs);
    /* the backup died before its index file: remove the one just written */
    assert_true(repoListIds(repo, "index", &idxAfter, &nAfter, &err));
    assert_int_equal(nAfter, nBefore + 1);
    for (size_t i = 0; i < nAfter; i++) {
        bool old = false;
        for (size_t k = 0; k < nBefore; k++)
            old = old || lbIdEqual(&idxAfter[i], &idxBefore[k]);
        if (!old)
            fixRemove(repo, "index", &idxAfter[i]);
    }
    free(idxBefore);
    free(idxAfter);
    uint64_t size = fixPackSize(repo, &orphan);
    assert_true(size > fixChunkLen(70) + fixChunkLen(71));

    fixReload(repo);
    CheckOptions co = {0};
    CheckResult cr;
    assert_true(checkRun(repo, &co, &cr, &err));
    char hex8[9];
    fixHex8(&orphan, hex8);
    assert_int_equal(cr.errorCount, 0);
    assert_int_equal(cr.noteCount, 1);
    assert_int_equal(fixCountLines(cr.notes, cr.noteCount, hex8, "not referenced by any index"), 1);
    checkResultClear(&cr);

    PruneResult r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 5});
    assertPlan(&r, (PackPlan){.total = 2, .kept = 2, .unreferenced = 1});
    assert_int_equal(r.bytesDeleted, size);
    assert_false(fixPackExists(repo, &orphan));
    assert_true(fixPackExists(repo, &base.dataPack));
    assert_int_equal(fixCount(repo, "data/"), 2);
    fixVerify(repo, (FixBackup *[]){&base}, 1);
    repoFree(repo);
}

/* Prune's lock was lost (its file deleted) and a backup took a shared lock:
 * prune stops before deleting anything. Everything that was there is still
 * there, every snapshot reads back, and a later prune under a proper lock
 * finishes the job. */
static void testLockNotAlone(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup a, b;
    buildPartly(repo, &a, &b);
    fixForget(repo, &a);
    fixReload(repo);
    LbError err = {0};
    RepoLock *lock = repoLockAcquire(repo, true, &err);
    assert_non_null(lock);
    char *before = fixListing(repo);
    LbId *locks = NULL;
    size_t nlocks = 0;
    assert_true(repoListIds(repo, "locks", &locks, &nlocks, &err));
    assert_int_equal(nlocks, 1);
    fixRemove(repo, "locks", &locks[0]);
    free(locks);
    RepoLock *other = repoLockAcquire(repo, false, &err);
    assert_non_null(other);

    PruneResult r;
    PruneOptions o = {.maxUnusedPercent = 0, .repackWorkers = 1};
    assert_false(pruneRun(repo, lock, &o, &r, &err));
    assert_int_equal(err.code, LB_ERR_LOCKED);
    assert_non_null(strstr(err.msg, "prune stopped before deleting anything"));
    repoLockRelease(other);
    repoLockRelease(lock);

    /* nothing removed (the lock file we deleted ourselves aside) */
    fixAssertNothingRemoved(repo, before);
    assert_true(fixPackExists(repo, &a.dataPack));
    assert_true(fixPackExists(repo, &a.treePack));
    assert_int_equal(fixCount(repo, "data/"), 5); /* + the repacked copy */
    assert_int_equal(fixCount(repo, "index/"), 4);
    fixVerify(repo, (FixBackup *[]){&b}, 1);

    r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0});
    assert_false(fixPackExists(repo, &a.dataPack));
    assert_false(fixPackExists(repo, &a.treePack));
    assert_int_equal(fixCount(repo, "data/"), 3);
    fixVerify(repo, (FixBackup *[]){&b}, 1);
    repoFree(repo);
}

/* A writer that lost sight of prune's lock commits a snapshot while prune
 * runs (here: the moment prune writes its new index, after it listed the
 * snapshots): prune looks at the snapshots again before it deletes, stops
 * with LB_ERR_LOCKED naming the new one, and deletes nothing; the new
 * snapshot and every earlier one stay complete. */
typedef struct LateWriter {
    Repo *repo;
    const FixBackup *backup; /* whose tree the late snapshot names (its data deduplicated) */
    int fired;
} LateWriter;

static void lateWriterCommits(void *ctx, const char *name) {
    LateWriter *w = ctx;
    if (strncmp(name, "index/", 6) != 0 || w->fired++)
        return;
    Snapshot s = {.timeNs = T0 + 50, .tree = w->backup->root, .hostname = lbXstrdup("testhost")};
    snapshotAddString(&s.paths, &s.pathCount, "/");
    snapshotAddString(&s.tags, &s.tagCount, w->backup->tag);
    LbError err = {0};
    assert_true(snapshotSave(w->repo, &s, &err));
    snapshotClear(&s);
}

static void testSnapshotDuringPruneStops(void **state) {
    (void)state;
    FixCrash crash = {.putsLeft = -1, .removesLeft = -1};
    Repo *repo = fixRepoNewCrashable(&crash);
    FixBackup a, b;
    buildPartly(repo, &a, &b);
    fixForget(repo, &a);
    fixReload(repo);
    /* a late writer deduplicated against all of A's data, which prune is
     * about to delete, and commits when prune writes its index */
    LateWriter w = {.repo = repo, .backup = &a};
    crash.onPut = lateWriterCommits;
    crash.onPutCtx = &w;
    LbError err = {0};
    RepoLock *lock = repoLockAcquire(repo, true, &err);
    assert_non_null(lock);
    long removesBefore = crash.removes;
    PruneResult r;
    PruneOptions o = {.maxUnusedPercent = 0, .repackWorkers = 1};
    bool ok = pruneRun(repo, lock, &o, &r, &err);
    crash.onPut = NULL;
    repoLockRelease(lock);
    assert_true(w.fired >= 1); /* prune wrote its index (one or more files) */
    assert_false(ok);
    assert_int_equal(err.code, LB_ERR_LOCKED);
    assert_non_null(strstr(err.msg, "prune stopped before deleting anything"));
    assert_non_null(strstr(err.msg, "was written while prune ran"));
    assert_int_equal(crash.removes, removesBefore);
    assert_true(fixPackExists(repo, &a.dataPack));
    fixVerify(repo, (FixBackup *[]){&a, &b}, 2);
    repoFree(repo);
}

/* A snapshot whose directory tree is not in the index stops prune before it
 * deletes anything, naming the tree. */
static void testStopsOnMissingTree(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup base, a, b;
    buildShared(repo, &base, &a, &b);
    FixBackup c = {.tag = "C", .files = {{"z", {14}, 1}}, .fileCount = 1, .dirTreeMissing = true};
    fixBackup(repo, &c, T0 + 3);
    fixForget(repo, &a);
    char *before = fixListing(repo);
    PruneResult r;
    LbError err = {0};
    PruneOptions o = {.maxUnusedPercent = 0, .repackWorkers = 1};
    assert_false(pruneTry(repo, &o, &r, &err));
    char hex[LB_ID_HEX_LEN + 1];
    fixHex(&c.dirTree, hex);
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, hex));
    assert_non_null(strstr(err.msg, "lifeboat check"));
    fixAssertUnchanged(repo, before);
    repoFree(repo);
}

/* A pack that holds used data but is missing stops prune (deleting anything
 * from such a repository could lose more). */
static void testStopsOnMissingUsedPack(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup base, a, b;
    buildShared(repo, &base, &a, &b);
    fixForget(repo, &a);
    char name[80], hex8[9];
    repoPackName(&b.dataPack, name);
    fixHex8(&b.dataPack, hex8);
    LbError err = {0};
    assert_true(storageRemove(repoStorage(repo), name, &err));
    char *before = fixListing(repo);
    PruneResult r;
    PruneOptions o = {.maxUnusedPercent = 5};
    assert_false(pruneTry(repo, &o, &r, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, hex8));
    assert_non_null(strstr(err.msg, "missing"));
    fixAssertUnchanged(repo, before);
    repoFree(repo);
}

/* A used blob of a pack being repacked is damaged: prune stops with an
 * error naming the pack and the blob, and deletes nothing. */
static void testRepackDamagedBlobStops(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup a, b;
    buildPartly(repo, &a, &b);
    fixReload(repo);
    IndexLoc l22 = fixChunkLoc(repo, 22);
    LbId id22 = fixChunkId(repo, 22);
    char name[80], hex[LB_ID_HEX_LEN + 1];
    repoPackName(&a.dataPack, name);
    fixHex(&id22, hex);
    fixFlipBit(repo, name, l22.offset + 100);
    fixForget(repo, &a);
    char *before = fixListing(repo);
    PruneResult r;
    LbError err = {0};
    PruneOptions o = {.maxUnusedPercent = 0, .repackWorkers = 1};
    assert_false(pruneTry(repo, &o, &r, &err));
    assert_non_null(strstr(err.msg, name));
    assert_non_null(strstr(err.msg, hex));
    fixAssertNothingRemoved(repo, before);
    assert_true(fixPackExists(repo, &a.dataPack));
    assert_true(fixPackExists(repo, &a.treePack));
    repoFree(repo);
}

/* A snapshot file that cannot be read stops prune: its data must not be
 * taken for unused. */
static void testStopsOnDamagedSnapshot(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup base, a, b;
    buildShared(repo, &base, &a, &b);
    char name[96], hex[LB_ID_HEX_LEN + 1];
    fixHex(&b.snapshot, hex);
    snprintf(name, sizeof(name), "snapshots/%s", hex);
    fixFlipBit(repo, name, 20);
    char *before = fixListing(repo);
    PruneResult r;
    LbError err = {0};
    PruneOptions o = {.maxUnusedPercent = 0, .repackWorkers = 1};
    assert_false(pruneTry(repo, &o, &r, &err));
    assert_non_null(strstr(err.msg, hex));
    fixAssertUnchanged(repo, before);
    repoFree(repo);
}

/* A prune that dies after any number of its writes, or of its deletes (a
 * crash at each step in turn), leaves every snapshot whole and check
 * without error; the next prune finishes the job, leaving as many packs as
 * an uninterrupted prune. */
static Repo *crashWorld(FixCrash *crash, FixBackup *a, FixBackup *b) {
    *crash = (FixCrash){.putsLeft = -1, .removesLeft = -1};
    Repo *repo = fixRepoNewCrashable(crash);
    buildPartly(repo, a, b);
    fixForget(repo, a);
    crash->puts = crash->removes = 0;
    return repo;
}

static void testCrashAtEveryStep(void **state) {
    (void)state;
    FixCrash crash;
    FixBackup a, b;
    Repo *repo = crashWorld(&crash, &a, &b);
    pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0});
    long puts = crash.puts, removes = crash.removes;
    size_t packs = fixCount(repo, "data/");
    repoFree(repo);
    assert_int_equal(puts, 3);    /* the repacked pack, its index, the kept packs' index */
    assert_int_equal(removes, 4); /* 2 index files, A's 2 packs */
    assert_int_equal(packs, 3);

    for (int kind = 0; kind < 2; kind++) {
        for (long k = 0; k < (kind == 0 ? puts : removes); k++) {
            repo = crashWorld(&crash, &a, &b);
            if (kind == 0)
                crash.putsLeft = k;
            else
                crash.removesLeft = k;
            PruneResult r;
            LbError err = {0};
            PruneOptions o = {.maxUnusedPercent = 0, .repackWorkers = 1};
            assert_false(pruneTry(repo, &o, &r, &err));
            assert_non_null(strstr(err.msg, "crashed"));
            crash.putsLeft = crash.removesLeft = -1;
            fixVerifyAfterCrash(repo, (FixBackup *[]){&b}, 1);
            pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0});
            assert_int_equal(fixCount(repo, "data/"), packs);
            fixVerify(repo, (FixBackup *[]){&b}, 1);
            repoFree(repo);
        }
    }
}

/***********************************************************************************************************************
 * The same on real backups: the archiver over a temporary directory
 **********************************************************************************************************************/

static void writeFile(const char *dir, const char *name, const uint8_t *data, size_t len) {
    char *path = lbXasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(path);
}

static void randomBytes(uint8_t *p, size_t len, uint64_t seed) {
    for (size_t i = 0; i < len; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(seed >> 56);
    }
}

static LbId archive(Repo *repo, const char *dir, const char *tag, int64_t timeNs) {
    const char *paths[] = {dir};
    FileSource *files = fileSourceNew(&(FileSourceOptions){.paths = paths, .pathCount = 1});
    Source src = fileSourceSource(files);
    ArchiverOptions o = {.sources = &src, .sourceCount = 1};
    ArchiverResult res = {0};
    LbError err = {0};
    bool ok = archiverRun(repo, &o, &res, &err);
    fileSourceFree(files);
    if (!ok)
        print_error("archiverRun: %s\n", err.msg);
    assert_true(ok);
    assert_int_equal(res.unreadableCount, 0);
    Snapshot s = {0};
    s.timeNs = timeNs;
    s.tree = res.tree;
    s.hostname = lbXstrdup("testhost");
    snapshotAddString(&s.paths, &s.pathCount, res.paths[0]);
    snapshotAddString(&s.tags, &s.tagCount, tag);
    assert_true(snapshotSave(repo, &s, &err));
    LbId id = s.id;
    snapshotClear(&s);
    archiverResultClear(&res);
    return id;
}

/* Compare the tree at id (the backed-up directory) with dir on disk: same
 * names, and every file's content read back from the repository equal to
 * the file's bytes. Returns the number of files compared. */
static size_t compareTree(Repo *repo, const LbId *id, const char *dir) {
    LbBuf plain = {0};
    LbError err = {0};
    Tree t = {0};
    assert_true(repoLoadBlob(repo, BLOB_TREE, id, &plain, &err));
    assert_true(treeDecode(plain.data, plain.len, &t, &err));
    lbBufFree(&plain);
    size_t files = 0;
    for (size_t i = 0; i < t.count; i++) {
        const Node *n = &t.nodes[i];
        char *path = lbXasprintf("%s/%s", dir, n->name);
        if (n->type == NODE_DIR) {
            files += compareTree(repo, &n->subtree, path);
        } else {
            assert_int_equal(n->type, NODE_FILE);
            LbBuf got = {0};
            for (size_t k = 0; k < n->contentCount; k++) {
                bool ok = repoLoadBlob(repo, BLOB_DATA, &n->content[k], &got, &err);
                if (!ok)
                    print_error("'%s': %s\n", path, err.msg);
                assert_true(ok);
            }
            FILE *f = fopen(path, "rb");
            assert_non_null(f);
            uint8_t *want = lbXmalloc(got.len + 1);
            size_t len = fread(want, 1, got.len + 1, f);
            fclose(f);
            assert_int_equal(len, got.len);
            if (len)
                assert_memory_equal(got.data, want, len);
            free(want);
            lbBufFree(&got);
            files++;
        }
        free(path);
    }
    /* nothing on disk that the tree lacks */
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t onDisk = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        onDisk += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    assert_int_equal(onDisk, t.count);
    treeFree(&t);
    return files;
}

/* The tree of the backed-up directory abs inside a snapshot's root. */
static LbId descend(Repo *repo, const LbId *root, const char *abs) {
    LbId id = *root;
    char *copy = lbXstrdup(abs), *save = NULL;
    for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        LbBuf plain = {0};
        LbError err = {0};
        Tree t = {0};
        assert_true(repoLoadBlob(repo, BLOB_TREE, &id, &plain, &err));
        assert_true(treeDecode(plain.data, plain.len, &t, &err));
        const Node *n = treeFind(&t, part);
        assert_non_null(n);
        assert_int_equal(n->type, NODE_DIR);
        id = n->subtree;
        treeFree(&t);
        lbBufFree(&plain);
    }
    free(copy);
    return id;
}

static int rmEntry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Two archiver backups of a directory (small chunks), the second after a
 * file changed in its middle, one was deleted and one added; forget the
 * first, prune everything unused: the second restores byte-identical from
 * the repository, check finds nothing, and a second prune finds nothing
 * unused. */
static void testArchiverBackupsPrune(void **state) {
    (void)state;
    const char *tmp = getenv("TMPDIR");
    char *dir = lbXasprintf("%s/lifeboat-maint-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    char *sub = lbXasprintf("%s/sub", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    enum { BIG = 400 * 1024, SMALL = 1000, C = 50 * 1024 };
    uint8_t *big = lbXmalloc(BIG), *small = lbXmalloc(SMALL), *c = lbXmalloc(C);
    randomBytes(big, BIG, 1);
    randomBytes(small, SMALL, 2);
    randomBytes(c, C, 3);
    writeFile(dir, "big", big, BIG);
    writeFile(dir, "small", small, SMALL);
    writeFile(sub, "c", c, C);

    LbError err = {0};
    RepoInitOptions ro = {.kdfN = 1024, .chunker = {.minSize = 4096, .avgSize = 16384, .maxSize = 65536}};
    Repo *repo = fixRepoNewOpts(&ro);
    LbId first = archive(repo, dir, "one", T0);

    randomBytes(big + BIG / 2, 20 * 1024, 4);
    writeFile(dir, "big", big, BIG);
    char *smallPath = lbXasprintf("%s/small", dir);
    assert_int_equal(unlink(smallPath), 0);
    writeFile(dir, "new", small, SMALL / 2);
    LbId second = archive(repo, dir, "two", T0 + 1);

    char hex[LB_ID_HEX_LEN + 1], name[96];
    fixHex(&first, hex);
    snprintf(name, sizeof(name), "snapshots/%s", hex);
    assert_true(storageRemove(repoStorage(repo), name, &err));
    PruneResult r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0});
    assert_int_equal(r.snapshots, 1);
    assert_true(r.blobsUsed < r.blobsTotal);
    assert_true(r.bytesDeleted > 0);
    assert_true(r.packsDeleted + r.packsRepacked > 0);
    assert_int_equal(r.bytesUnusedAfter, 0);

    fixReload(repo);
    Snapshot s = {0};
    assert_true(snapshotLoad(repo, &second, &s, &err));
    assert_true(repoCommitTreeComplete(repo, &s.tree, &err));
    LbId top = descend(repo, &s.tree, s.paths[0]);
    assert_int_equal(compareTree(repo, &top, dir), 3); /* big, new, sub/c */
    snapshotClear(&s);
    CheckOptions co = {.readData = true};
    CheckResult cr;
    assert_true(checkRun(repo, &co, &cr, &err));
    fixPrintLines("check error", cr.errors, cr.errorCount);
    assert_int_equal(cr.errorCount, 0);
    assert_int_equal(cr.noteCount, 0);
    checkResultClear(&cr);

    r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0});
    assert_int_equal(r.blobsUsed, r.blobsTotal);
    assert_int_equal(r.bytesUnused, 0);
    assert_int_equal(r.packsDeleted + r.packsRepacked + r.packsUnreferenced, 0);

    repoFree(repo);
    nftw(dir, rmEntry, 16, FTW_DEPTH | FTW_PHYS);
    free(smallPath);
    free(sub);
    free(dir);
    free(big);
    free(small);
    free(c);
}

/* BUG (skipped, see main): two prunes in one process on one open Repo (a
 * daemon running jobs in process would do this): the second must see the
 * repository as the first left it, find nothing to do and succeed. */
static void testPruneTwiceOneRepo(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup a, b;
    buildPartly(repo, &a, &b);
    fixForget(repo, &a);
    LbError err = {0};
    RepoLock *lock = repoLockAcquire(repo, true, &err);
    assert_non_null(lock);
    PruneOptions o = {.maxUnusedPercent = 0, .repackWorkers = 1};
    PruneResult r;
    assert_true(pruneRun(repo, lock, &o, &r, &err));
    assert_int_equal(r.packsRepacked, 1);
    bool ok = pruneRun(repo, lock, &o, &r, &err);
    repoLockRelease(lock);
    if (!ok)
        print_error("second pruneRun: %s\n", err.msg);
    assert_true(ok);
    assertPlan(&r, (PackPlan){.total = 3, .kept = 3});
    fixVerify(repo, (FixBackup *[]){&b}, 1);
    repoFree(repo);
}

/* BUG (skipped, see main): a pack kept despite unused blobs (within
 * maxUnusedPercent) still counts them as unused at the next prune, so a
 * later prune with a lower limit reclaims the space. */
static void testKeptPackUnusedStaysVisible(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    FixBackup a, b;
    buildPartly(repo, &a, &b);
    fixReload(repo);
    uint64_t l121 = fixChunkLoc(repo, 121).length;
    fixForget(repo, &a);
    PruneResult r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 100000});
    assertPlan(&r, (PackPlan){.total = 4, .deleted = 1 /* A's tree pack; its data pack stays */, .kept = 3});
    assert_int_equal(r.bytesUnusedAfter, l121);
    assert_true(fixPackExists(repo, &a.dataPack));
    fixVerify(repo, (FixBackup *[]){&b}, 1);

    r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 0});
    assert_int_equal(r.bytesUnused, l121);
    assert_int_equal(r.packsRepacked, 1);
    assert_false(fixPackExists(repo, &a.dataPack));
    fixVerify(repo, (FixBackup *[]){&b}, 1);
    repoFree(repo);
}

/* One snapshot of a file of n blobs of 1 KiB (random, distinct): about 16,000
 * to a 16 MiB pack. Its ID goes to *snap. */
static void bigBackup(Repo *repo, size_t n, LbId *snap) {
    LbError err = {0};
    BlobSaver *saver = saverNew(repo, 1);
    Tree dir = {0};
    Node *f = treeAppend(&dir);
    f->name = lbXstrdup("big");
    f->type = NODE_FILE;
    f->mode = 0644;
    f->content = lbXcalloc(n, sizeof(LbId));
    f->contentCount = n;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < n; i++) {
        uint8_t *blob = lbXmalloc(1024);
        for (size_t k = 0; k < 1024; k += 8) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            memcpy(blob + k, &x, 8);
        }
        f->size += 1024;
        saverSubmitTake(saver, BLOB_DATA, blob, 1024, &f->content[i], NULL);
    }
    saverWait(saver);
    LbId dirId, rootId;
    fixSubmitTree(saver, &dir, &dirId);
    saverWait(saver);
    fixSubmitRoot(saver, &dirId, &rootId);
    assert_true(saverFinish(saver, &err));
    saverFree(saver);
    treeFree(&dir);
    fixSaveSnapshot(repo, &rootId, T0, NULL, NULL, "big", snap);
}

/* The index prune writes for the kept packs is split into files of at most
 * INDEX_FILE_MAX_BLOBS blobs (a pack is never split; these packs hold about
 * 16,000 each), as a backup writes them: writing (and later loading) one
 * file holds all of it in memory at once, four copies. */
static void testKeptIndexFilesBounded(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    size_t n = INDEX_FILE_MAX_BLOBS + INDEX_FILE_MAX_BLOBS / 2;
    LbId big;
    bigBackup(repo, n, &big);
    FixBackup a = {.tag = "A", .files = {{"s", {10}, 1}}, .fileCount = 1};
    fixBackup(repo, &a, T0 + 1);
    fixForget(repo, &a);
    PruneResult r = pruneOk(repo, (PruneOptions){.maxUnusedPercent = 5});
    assert_int_equal(r.blobsUsed, n + 2);
    assert_int_equal(r.packsDeleted, 2);
    assert_true(r.indexFilesAfter >= 2);

    LbError err = {0};
    LbId *ids = NULL;
    size_t count = 0, total = 0;
    assert_true(repoListIds(repo, "index", &ids, &count, &err));
    assert_int_equal(count, r.indexFilesAfter);
    for (size_t i = 0; i < count; i++) {
        LbBuf plain = {0};
        Index *one = indexNew();
        assert_true(repoLoadUnpacked(repo, "index", &ids[i], &plain, &err));
        assert_true(indexDecodeInto(one, plain.data, plain.len, &err));
        assert_true(indexBlobCount(one) <= INDEX_FILE_MAX_BLOBS);
        total += indexBlobCount(one);
        indexFree(one);
        lbBufFree(&plain);
    }
    assert_int_equal(total, n + 2);
    free(ids);

    fixReload(repo);
    CheckOptions co = {.readData = true};
    CheckResult cr;
    assert_true(checkRun(repo, &co, &cr, &err));
    assert_int_equal(cr.errorCount, 0);
    assert_int_equal(cr.snapshots, 1);
    checkResultClear(&cr);
    repoFree(repo);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testNothingToPrune),
        cmocka_unit_test(testForgottenSnapshotPacks),
        cmocka_unit_test(testRepackPartlyUsed),
        cmocka_unit_test(testMaxRepackBytes),
        cmocka_unit_test(testDryRun),
        cmocka_unit_test(testUnreferencedPack),
        cmocka_unit_test(testLockNotAlone),
        cmocka_unit_test(testSnapshotDuringPruneStops),
        cmocka_unit_test(testStopsOnMissingTree),
        cmocka_unit_test(testStopsOnMissingUsedPack),
        cmocka_unit_test(testRepackDamagedBlobStops),
        cmocka_unit_test(testStopsOnDamagedSnapshot),
        cmocka_unit_test(testCrashAtEveryStep),
        cmocka_unit_test(testArchiverBackupsPrune),
        cmocka_unit_test(testPruneTwiceOneRepo),
        cmocka_unit_test(testKeptPackUnusedStaysVisible),
        cmocka_unit_test(testKeptIndexFilesBounded),
    };
    return fixRunTests(tests, sizeof(tests) / sizeof(tests[0]), NULL, 0);
}
