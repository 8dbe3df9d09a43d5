/*
 * test_check.c - unit tests for src/maint/check.c (checkRun,
 * repoCommitTreeComplete) on repositories built in memory (fixture.h): a healthy
 * repository passes with and without read-data (and read-data subsets); a
 * missing pack, a corrupted byte in a pack, a missing tree blob, a missing
 * data blob, an index naming a pack that does not exist, a truncated pack,
 * unreadable index files and an unreadable snapshot file are each reported,
 * with exact counts and messages naming the object, and the rest is still
 * checked; prune refuses to run while an index file is unreadable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#include "maint/check.h"
#include "repo/commit.h"
#include "maint/prune.h"
#include "repo/lock.h"

#define T0 1700000000000000000ll

/* A {u: 80 81, w: 82}, B {u: 80, v: 83}: blob 80 is shared. */
typedef struct World {
    Repo *repo;
    FixBackup a, b;
} World;

static int setupWorld(void **state) {
    World *w = lbXcalloc(1, sizeof(*w));
    w->repo = fixRepoNew();
    w->a = (FixBackup){.tag = "A", .files = {{"u", {80, 81}, 2}, {"w", {82}, 1}}, .fileCount = 2};
    w->b = (FixBackup){.tag = "B", .files = {{"u", {80}, 1}, {"v", {83}, 1}}, .fileCount = 2};
    fixBackup(w->repo, &w->a, T0);
    fixBackup(w->repo, &w->b, T0 + 1);
    *state = w;
    return 0;
}

static int teardownWorld(void **state) {
    World *w = *state;
    repoFree(w->repo);
    free(w);
    return 0;
}

/* Reload the index (a new process) and run check. */
static void runCheck(Repo *repo, CheckOptions o, CheckResult *r) {
    LbError err = {0};
    fixReload(repo);
    bool ok = checkRun(repo, &o, r, &err);
    if (!ok)
        print_error("checkRun: %s\n", err.msg);
    assert_true(ok);
    fixPrintLines("error", r->errors, r->errorCount);
    fixPrintLines("note", r->notes, r->noteCount);
}

/* Run prune (5% unused allowed, one repack worker) under an exclusive lock. */
static bool runPrune(Repo *repo, PruneResult *pr, LbError *err) {
    RepoLock *lock = repoLockAcquire(repo, true, err);
    assert_non_null(lock);
    PruneOptions po = {.maxUnusedPercent = 5, .repackWorkers = 1};
    bool ok = pruneRun(repo, lock, &po, pr, err);
    repoLockRelease(lock);
    return ok;
}

typedef struct Progress {
    uint64_t calls, done, total, bytes;
} Progress;

static void onProgress(void *ctx, uint64_t packsDone, uint64_t packsTotal, uint64_t bytesDone) {
    Progress *p = ctx;
    p->calls++;
    p->done = packsDone;
    p->total = packsTotal;
    p->bytes = bytesDone;
}

static uint64_t packBytes(Repo *repo) {
    RepoPackList list = {0};
    LbError err = {0};
    assert_true(repoListPacks(repo, &list, &err));
    uint64_t sum = 0;
    for (size_t i = 0; i < list.count; i++)
        sum += list.items[i].size;
    free(list.items);
    return sum;
}

/* Healthy: no error, no note, exact counts; read-data reads every pack
 * (and reports progress for each), a subset reads its share. */
static void testHealthy(void **state) {
    World *w = *state;
    CheckResult r;
    runCheck(w->repo, (CheckOptions){0}, &r);
    assert_int_equal(r.errorCount, 0);
    assert_int_equal(r.noteCount, 0);
    assert_int_equal(r.snapshots, 2);
    assert_int_equal(r.packs, 4);
    assert_int_equal(r.blobs, 8); /* 80 81 82 83 + 2 trees each */
    assert_int_equal(r.trees, 4);
    assert_int_equal(r.packsRead, 0);
    assert_int_equal(r.bytesRead, 0);
    checkResultClear(&r);

    Progress p = {0};
    runCheck(w->repo, (CheckOptions){.readData = true, .subsetPercent = 100, .progress = onProgress, .progressCtx = &p},
             &r);
    assert_int_equal(r.errorCount, 0);
    assert_int_equal(r.noteCount, 0);
    assert_int_equal(r.packsRead, 4);
    assert_int_equal(r.bytesRead, packBytes(w->repo));
    assert_int_equal(p.calls, 4);
    assert_int_equal(p.total, 4);
    assert_int_equal(p.bytes, r.bytesRead);
    checkResultClear(&r);

    runCheck(w->repo, (CheckOptions){.readData = true, .subsetPercent = 50}, &r);
    assert_int_equal(r.errorCount, 0);
    assert_int_equal(r.packsRead, 2);
    checkResultClear(&r);
    runCheck(w->repo, (CheckOptions){.readData = true, .subsetPercent = 10}, &r);
    assert_int_equal(r.errorCount, 0);
    assert_int_equal(r.packsRead, 1);
    checkResultClear(&r);
    fixVerify(w->repo, (FixBackup *[]){&w->a, &w->b}, 2);
}

/* A's data pack is gone: the structure check names it and every file of
 * every snapshot that used its blobs (issue 10 item 2: before, only
 * --read-data named the files); read-data the same. */
static void testMissingPack(void **state) {
    World *w = *state;
    char name[80], pack8[9], snapA[9], snapB[9], blob80[65];
    repoPackName(&w->a.dataPack, name);
    fixHex8(&w->a.dataPack, pack8);
    fixHex8(&w->a.snapshot, snapA);
    fixHex8(&w->b.snapshot, snapB);
    LbId id80 = fixChunkId(w->repo, 80);
    fixHex(&id80, blob80);
    LbError err = {0};
    assert_true(storageRemove(repoStorage(w->repo), name, &err));

    CheckResult r;
    runCheck(w->repo, (CheckOptions){0}, &r);
    assert_int_equal(r.errorCount, 4);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, pack8, "named by the index but missing"), 1);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, "'/dir/w' is damaged", snapA), 1);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, snapB, "'/dir/u' is damaged"), 1);
    assert_int_equal(fixCountLines(r.notes, r.noteCount, "repair index", NULL), 1);
    checkResultClear(&r);

    runCheck(w->repo, (CheckOptions){.readData = true}, &r);
    assert_int_equal(r.errorCount, 4);
    assert_int_equal(r.packsRead, 3);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, pack8, "named by the index but missing"), 1);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, snapA, "damaged"), 2);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, "'/dir/w' is damaged", snapA), 1);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, "'/dir/u' is damaged", blob80), 2);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, snapB, "'/dir/u' is damaged"), 1);
    checkResultClear(&r);
}

/* Besides the lines about the pack, exactly one: file '/dir/w' of snapshot
 * A is damaged, naming blob 82; nothing about '/dir/u'. */
static void assertOnlyWDamaged(const CheckResult *r, const char *snapA, const char *blob82) {
    assert_int_equal(fixCountLines(r->errors, r->errorCount, snapA, "file '/dir/w' is damaged"), 1);
    assert_int_equal(fixCountLines(r->errors, r->errorCount, "'/dir/w'", blob82), 1);
    assert_int_equal(fixCountLines(r->errors, r->errorCount, "/dir/u", NULL), 0);
}

/* One flipped byte inside blob 82: the structure check cannot see it;
 * read-data reports the pack's hash, the blob and the one file using it. */
static void testCorruptByte(void **state) {
    World *w = *state;
    char name[80], pack8[9], snapA[9], blob82[65];
    repoPackName(&w->a.dataPack, name);
    fixHex8(&w->a.dataPack, pack8);
    fixHex8(&w->a.snapshot, snapA);
    LbId id82 = fixChunkId(w->repo, 82);
    fixHex(&id82, blob82);
    fixReload(w->repo);
    fixFlipBit(w->repo, name, fixChunkLoc(w->repo, 82).offset + 10);

    CheckResult r;
    runCheck(w->repo, (CheckOptions){0}, &r);
    assert_int_equal(r.errorCount, 0);
    checkResultClear(&r);

    runCheck(w->repo, (CheckOptions){.readData = true}, &r);
    assert_int_equal(r.errorCount, 3);
    assert_int_equal(r.packsRead, 4);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, pack8, "does not match its name"), 1);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, pack8, blob82), 1);
    assertOnlyWDamaged(&r, snapA, blob82);
    checkResultClear(&r);
}

/* Snapshot C's directory tree was never stored: check names the tree and
 * its path, repoCommitTreeComplete refuses C and accepts A. */
static void testMissingTreeBlob(void **state) {
    World *w = *state;
    FixBackup c = {.tag = "C", .files = {{"z", {84}, 1}}, .fileCount = 1, .dirTreeMissing = true};
    fixBackup(w->repo, &c, T0 + 2);
    char tree8[9], tree[65];
    fixHex8(&c.dirTree, tree8);
    fixHex(&c.dirTree, tree);

    CheckResult r;
    runCheck(w->repo, (CheckOptions){0}, &r);
    assert_int_equal(r.snapshots, 3);
    assert_int_equal(r.errorCount, 1);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, tree8, "('/dir')"), 1);
    checkResultClear(&r);
    runCheck(w->repo, (CheckOptions){.readData = true}, &r);
    assert_int_equal(r.errorCount, 1);
    checkResultClear(&r);

    LbError err = {0};
    assert_false(repoCommitTreeComplete(w->repo, &c.root, &err));
    assert_non_null(strstr(err.msg, tree));
    lbErrorClear(&err);
    assert_true(repoCommitTreeComplete(w->repo, &w->a.root, &err));
}

/* A file references a data blob that was never stored: check names the
 * file and the blob; repoCommitTreeComplete fails as NOT_COMMITTED naming it. */
static void testMissingDataBlob(void **state) {
    World *w = *state;
    FixBackup d = {.tag = "D", .files = {{"m", {85, FIX_SEED_MISSING + 1}, 2}}, .fileCount = 1};
    fixBackup(w->repo, &d, T0 + 2);
    char blob[65];
    LbId id = fixChunkId(w->repo, FIX_SEED_MISSING + 1);
    fixHex(&id, blob);

    CheckResult r;
    runCheck(w->repo, (CheckOptions){0}, &r);
    assert_int_equal(r.errorCount, 1);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, "file '/dir/m'", blob), 1);
    checkResultClear(&r);

    LbError err = {0};
    assert_false(repoCommitTreeComplete(w->repo, &d.root, &err));
    assert_int_equal(err.code, LB_ERR_NOT_COMMITTED);
    assert_non_null(strstr(err.msg, blob));
}

/* An index file names a pack that does not exist (and a blob no snapshot
 * uses): check names the pack, read-data still reads the four real packs,
 * and prune drops the phantom from the index so check passes again. */
static void testIndexNamesMissingPack(void **state) {
    World *w = *state;
    LbId phantom, blob, file;
    memset(&phantom, 0x5a, sizeof(phantom));
    memset(&blob, 0xa5, sizeof(blob));
    PackEntry e = {.id = blob, .type = BLOB_DATA, .offset = 0, .length = 100, .rawLength = 72};
    IndexPack ip = {.id = phantom, .entries = &e, .count = 1};
    LbBuf plain = {0};
    indexEncode(&ip, 1, &plain);
    LbError err = {0};
    assert_true(repoSaveUnpacked(w->repo, "index", plain.data, plain.len, &file, &err));
    lbBufFree(&plain);
    char pack8[9];
    fixHex8(&phantom, pack8);

    CheckResult r;
    runCheck(w->repo, (CheckOptions){0}, &r);
    assert_int_equal(r.errorCount, 1);
    assert_int_equal(r.blobs, 9);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, pack8, "named by the index but missing"), 1);
    checkResultClear(&r);
    runCheck(w->repo, (CheckOptions){.readData = true}, &r);
    assert_int_equal(r.errorCount, 1);
    assert_int_equal(r.packsRead, 4);
    checkResultClear(&r);

    PruneResult pr;
    bool ok = runPrune(w->repo, &pr, &err);
    if (!ok)
        print_error("pruneRun: %s\n", err.msg);
    assert_true(ok);
    assert_int_equal(pr.packsTotal, 5);
    assert_int_equal(pr.packsDeleted, 1);
    assert_int_equal(pr.bytesDeleted, 0);
    assert_int_equal(pr.packsKept, 4);
    assert_int_equal(fixCount(w->repo, "data/"), 4);
    fixVerify(w->repo, (FixBackup *[]){&w->a, &w->b}, 2);
}

/* A's data pack cut short inside blob 82 (as an interrupted upload to a
 * storage without atomic writes would leave it): read-data reports the
 * hash, the unreadable header, the blob beyond the end and the one file
 * using it; blobs 80 and 81 before the cut still decode. */
static void truncateInBlob82(World *w, char pack8[9], char snapA[9], char blob82[65]) {
    char name[80];
    repoPackName(&w->a.dataPack, name);
    fixHex8(&w->a.dataPack, pack8);
    fixHex8(&w->a.snapshot, snapA);
    LbId id82 = fixChunkId(w->repo, 82);
    fixHex(&id82, blob82);
    fixReload(w->repo);
    fixTruncate(w->repo, name, fixChunkLoc(w->repo, 82).offset + 5);
}

static void testTruncatedPack(void **state) {
    World *w = *state;
    char pack8[9], snapA[9], blob82[65];
    truncateInBlob82(w, pack8, snapA, blob82);
    CheckResult r;
    runCheck(w->repo, (CheckOptions){.readData = true}, &r);
    assert_int_equal(r.errorCount, 4);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, pack8, "does not match its name"), 1);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, pack8, "lies beyond the end of the pack"), 1);
    assert_int_equal(fixCountLines(r.errors, r.errorCount, pack8, NULL), 3);
    assertOnlyWDamaged(&r, snapA, blob82);
    checkResultClear(&r);
}

/* The "lies beyond the end" message names the blob, like every other message
 * about a blob (it printed a literal "?" before). */
static void testTruncatedPackNamesBlob(void **state) {
    World *w = *state;
    char pack8[9], snapA[9], blob82[65];
    truncateInBlob82(w, pack8, snapA, blob82);
    CheckResult r;
    runCheck(w->repo, (CheckOptions){.readData = true}, &r);
    size_t beyond = fixCountLines(r.errors, r.errorCount, "lies beyond the end of the pack", blob82);
    size_t header = fixCountLines(r.errors, r.errorCount, pack8, "unable to read pack header");
    checkResultClear(&r);
    assert_int_equal(beyond, 1);
    assert_int_equal(header, 1);
}

/* Store junk as index/<hex> (not a valid object: its content does not match
 * its name); hex is 64 times digit. */
static void putJunkIndex(World *w, char digit, char name[96]) {
    static const char junk[] = "not an index file";
    snprintf(name, 96, "index/%s", "");
    memset(name + 6, digit, 64);
    name[70] = '\0';
    LbError err = {0};
    assert_true(storagePut(repoStorage(w->repo), name, (const uint8_t *)junk, sizeof(junk), &err));
}

/* Two unreadable index files, one sorting before and one after the real
 * ones: each is reported once, by name; every readable index file still
 * loads, so no blob is reported missing (before the fix, the load stopped at
 * the first one and every blob was 'not in any pack'). read-data reads every
 * pack. The strict load (what prune uses) fails naming the first one. */
static void testDamagedIndexFile(void **state) {
    World *w = *state;
    char first[96], last[96];
    putJunkIndex(w, '0', first);
    putJunkIndex(w, 'f', last);
    LbError err = {0};
    assert_false(repoReloadIndex(w->repo, &err)); /* a new process: no index yet */
    assert_non_null(strstr(err.msg, first));
    assert_non_null(strstr(err.msg, "HINT: Run 'lifeboat repair index'"));
    lbErrorClear(&err);
    for (int readData = 0; readData <= 1; readData++) {
        CheckResult r;
        CheckOptions o = {.readData = readData};
        assert_true(checkRun(w->repo, &o, &r, &err));
        fixPrintLines("error", r.errors, r.errorCount);
        size_t indexLines = fixCountLines(r.errors, r.errorCount, "index:", NULL);
        size_t firstLines = fixCountLines(r.errors, r.errorCount, "index:", first + 6);
        size_t lastLines = fixCountLines(r.errors, r.errorCount, "index:", last + 6);
        size_t errors = r.errorCount, notes = r.noteCount;
        uint64_t blobs = r.blobs, trees = r.trees, snapshots = r.snapshots, packsRead = r.packsRead;
        checkResultClear(&r);
        assert_int_equal(indexLines, 2);
        assert_int_equal(firstLines, 1);
        assert_int_equal(lastLines, 1);
        assert_int_equal(errors, 2);
        assert_int_equal(notes, 0);
        assert_int_equal(blobs, 8);
        assert_int_equal(snapshots, 2);
        assert_int_equal(trees, 4);
        assert_int_equal(packsRead, readData ? 4 : 0);
    }
    /* the tolerant load leaves the damaged files out of repoIndexFiles */
    size_t nfiles = 0;
    repoIndexFiles(w->repo, &nfiles);
    assert_int_equal(nfiles, fixCount(w->repo, "index/") - 2);
}

/* prune refuses to run while an index file is unreadable (it could be the
 * only one naming some packs, which prune would delete as unreferenced): the
 * error names the file, and nothing is written or removed. */
static void testPruneRefusesDamagedIndex(void **state) {
    World *w = *state;
    fixForget(w->repo, &w->b); /* something to prune */
    char name[96];
    putJunkIndex(w, '0', name);
    char *before = fixListing(w->repo);
    LbError err = {0};
    PruneResult pr;
    bool ok = runPrune(w->repo, &pr, &err);
    print_message("# prune: %s\n", err.msg);
    assert_false(ok);
    assert_non_null(strstr(err.msg, name));
    assert_non_null(strstr(err.msg, "unable to load the index"));
    fixAssertUnchanged(w->repo, before);
}

/* One unreadable snapshot file is reported, naming it, and the other
 * snapshots are still checked (before the fix, none was). */
static void testDamagedSnapshotFile(void **state) {
    World *w = *state;
    char name[96], hex[LB_ID_HEX_LEN + 1];
    fixHex(&w->b.snapshot, hex);
    snprintf(name, sizeof(name), "snapshots/%s", hex);
    fixFlipBit(w->repo, name, 20);
    CheckResult r;
    runCheck(w->repo, (CheckOptions){0}, &r);
    size_t named = fixCountLines(r.errors, r.errorCount, "snapshots:", hex);
    size_t errors = r.errorCount;
    uint64_t trees = r.trees, snapshots = r.snapshots;
    checkResultClear(&r);
    assert_int_equal(named, 1);
    assert_int_equal(errors, 1);
    assert_int_equal(snapshots, 1);
    assert_int_equal(trees, 2); /* A's root and dir trees */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(testHealthy, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testMissingPack, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testCorruptByte, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testMissingTreeBlob, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testMissingDataBlob, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testIndexNamesMissingPack, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testTruncatedPack, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testTruncatedPackNamesBlob, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testDamagedIndexFile, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testPruneRefusesDamagedIndex, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testDamagedSnapshotFile, setupWorld, teardownWorld),
    };
    /* no known bug of check is open (tests of known bugs: see fixRunTests) */
    return fixRunTests(tests, sizeof(tests) / sizeof(tests[0]), NULL, 0);
}
