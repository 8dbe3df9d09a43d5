/*
 * test_commit.c - unit tests for src/repo/commit.h: the checks every writer
 * runs before it writes a snapshot (docs/concurrency.md, step 4).
 *
 * One in-memory store is shared by several Repo objects through the
 * borrowing driver of harness.h, so a test can run "an earlier backup" with
 * one Repo and "the writer" with a freshly opened one, exactly as two
 * processes would. The driver can also drop puts under a prefix while
 * reporting success (a pack lost behind the writer's back). A concurrent prune is simulated by
 * deleting or rewriting index files and packs directly in the store.
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

#include "repo/commit.h"
#include "repo/repo.h"
#include "repo/saver.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"
#include "storage/mem/mem.h"

#include "harness.h"

#define PASSWORD "commit test password"

/***********************************************************************************************************************
 * Fixtures and helpers
 **********************************************************************************************************************/

typedef struct TestRepo {
    Storage *mem;  /* the shared store */
    Repo *earlier; /* an earlier writer (initialized the repository) */
    Faults faults; /* of the writer */
} TestRepo;

static int setupRepo(void **state) {
    TestRepo *tr = calloc(1, sizeof(*tr));
    tr->mem = storageMemNew();
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    tr->earlier = repoInit(borrow(tr->mem, NULL), PASSWORD, &opts, &err);
    if (tr->earlier == NULL) {
        print_error("repoInit: %s\n", err.msg);
        return -1;
    }
    if (!repoLoadIndex(tr->earlier, &err)) {
        print_error("repoLoadIndex: %s\n", err.msg);
        return -1;
    }
    *state = tr;
    return 0;
}

static int teardownRepo(void **state) {
    TestRepo *tr = *state;
    repoFree(tr->earlier);
    storageFree(tr->mem);
    free(tr);
    return 0;
}

/* A second process on the same store; its index is not loaded. Puts under
 * dropPuts (NULL = none) are lost. */
static Repo *openWriter(TestRepo *tr, const char *dropPuts) {
    LbError err = {0};
    tr->faults.drop = dropPuts;
    Repo *repo = repoOpen(borrowFaulty(tr->mem, &tr->faults), PASSWORD, &err);
    if (repo == NULL)
        print_error("repoOpen: %s\n", err.msg);
    assert_non_null(repo);
    return repo;
}

/* The single ID in dir (asserts there is exactly one). */
static LbId onlyId(Repo *repo, const char *dir) {
    LbId *ids = NULL;
    size_t n = 0;
    LbError err = {0};
    assert_true(repoListIds(repo, dir, &ids, &n, &err));
    assert_int_equal(n, 1);
    LbId id = ids[0];
    free(ids);
    return id;
}

#define RECHECK_LOG "index file(s) changed during this run"

/***********************************************************************************************************************
 * Tests
 **********************************************************************************************************************/

/* The happy path: a writer opened after an earlier backup begins (which loads
 * the index and deduplicates the earlier data), stores a tree and commits:
 * the snapshot is saved and loads back with that tree. Its own new index
 * file does not count as a change: no re-check runs. */
static void testCommitSavesSnapshot(void **state) {
    TestRepo *tr = *state;
    LbError err = {0};
    Stored before;
    assert_true(storeFile(tr->earlier, "a", 1, &before, &err));
    assert_int_equal(before.packCount, 2); /* a data pack and a tree pack */

    Repo *w = openWriter(tr, NULL);
    assert_false(repoIndexLoaded(w));
    RepoCommit *commit = repoCommitBegin(w, &err);
    assert_non_null(commit);
    assert_true(repoIndexLoaded(w));
    assert_true(indexHas(repoIndex(w), &before.data, BLOB_DATA));
    size_t nfiles = 0;
    repoIndexFiles(w, &nfiles);
    assert_int_equal(nfiles, 1);

    Stored run;
    assert_true(storeFile(w, "b", 2, &run, &err));
    assert_int_equal(run.packCount, 2);
    assert_int_equal(countObjects(tr->mem, "index/"), 2);
    Snapshot snap;
    snapshotOf(&run, &snap);
    Capture cap;
    captureBegin(&cap);
    bool ok = repoCommitSnapshot(commit, run.packs, run.packCount, &snap, &err);
    char *log = captureEnd(&cap);
    if (!ok)
        print_error("commit: %s\n", err.msg);
    assert_true(ok);
    assert_null(strstr(log, RECHECK_LOG));
    free(log);

    assert_int_equal(countObjects(tr->mem, "snapshots/"), 1);
    Snapshot back = {0};
    assert_true(snapshotLoad(tr->earlier, &snap.id, &back, &err));
    assert_true(lbIdEqual(&back.tree, &run.tree));
    snapshotClear(&back);
    snapshotClear(&snap);
    repoCommitFree(commit);
    repoCommitFree(NULL);
    free(before.packs);
    free(run.packs);
    repoFree(w);
}

/* A pack this run uploaded is gone before the snapshot (a prune whose lock
 * check missed the writer): the commit fails with LB_ERR_NOT_COMMITTED
 * naming the pack, and writes no snapshot. */
static void testLostPackWritesNothing(void **state) {
    TestRepo *tr = *state;
    LbError err = {0};
    Repo *w = openWriter(tr, NULL);
    RepoCommit *commit = repoCommitBegin(w, &err);
    assert_non_null(commit);
    Stored run;
    assert_true(storeFile(w, "c", 3, &run, &err));
    assert_int_equal(run.packCount, 2);
    removeObject(tr->mem, "data", &run.packs[0]);

    Snapshot snap;
    snapshotOf(&run, &snap);
    assert_false(repoCommitSnapshot(commit, run.packs, run.packCount, &snap, &err));
    assert_int_equal(err.code, LB_ERR_NOT_COMMITTED);
    assert_string_equal(lbErrorName(err.code), "not-committed");
    assert_int_equal(lbErrorExitCode(err.code), 1);
    char packName[80];
    repoPackName(&run.packs[0], packName);
    assert_non_null(strstr(err.msg, "no snapshot written"));
    assert_non_null(strstr(err.msg, packName));
    assert_int_equal(countObjects(tr->mem, "snapshots/"), 0);
    snapshotClear(&snap);
    repoCommitFree(commit);
    free(run.packs);
    repoFree(w);
}

/* A prune whose lock was lost deletes a pack of this run between the
 * commit's check and its snapshot write (the hook removes it the moment the
 * snapshot object lands): the check after the write finds it, the snapshot
 * is withdrawn and the commit fails with LB_ERR_NOT_COMMITTED. Before this
 * check existed, the command exited 0 with an unrestorable snapshot. */
typedef struct PruneOnSnapshot {
    Storage *mem;
    LbId pack;
    int fired;
} PruneOnSnapshot;

static void pruneOnSnapshotPut(void *ctx, const char *name) {
    PruneOnSnapshot *p = ctx;
    if (strncmp(name, "snapshots/", 10) != 0 || p->fired++)
        return;
    removeObject(p->mem, "data", &p->pack);
}

static void testPackLostDuringSnapshotWriteWithdraws(void **state) {
    TestRepo *tr = *state;
    LbError err = {0};
    Repo *w = openWriter(tr, NULL);
    RepoCommit *commit = repoCommitBegin(w, &err);
    assert_non_null(commit);
    Stored run;
    assert_true(storeFile(w, "e", 5, &run, &err));
    PruneOnSnapshot hook = {.mem = tr->mem, .pack = run.packs[0]};
    tr->faults.onPut = pruneOnSnapshotPut;
    tr->faults.onPutCtx = &hook;
    Snapshot snap;
    snapshotOf(&run, &snap);
    assert_false(repoCommitSnapshot(commit, run.packs, run.packCount, &snap, &err));
    tr->faults.onPut = NULL;
    assert_int_equal(hook.fired, 1);
    assert_int_equal(err.code, LB_ERR_NOT_COMMITTED);
    assert_non_null(strstr(err.msg, "no snapshot written"));
    assert_int_equal(countObjects(tr->mem, "snapshots/"), 0); /* withdrawn */
    snapshotClear(&snap);
    repoCommitFree(commit);
    free(run.packs);
    repoFree(w);
}

/* The saver runs the same pack check before it writes its index file: a pack
 * lost on upload makes saverFinish fail with LB_ERR_NOT_COMMITTED, and no
 * index file names it. */
static void testSaverLostPackWritesNoIndex(void **state) {
    TestRepo *tr = *state;
    LbError err = {0};
    Repo *w = openWriter(tr, "data/");
    RepoCommit *commit = repoCommitBegin(w, &err);
    assert_non_null(commit);
    Stored run;
    assert_false(storeFile(w, "d", 4, &run, &err));
    assert_int_equal(err.code, LB_ERR_NOT_COMMITTED);
    assert_non_null(strstr(err.msg, "no snapshot written"));
    assert_int_equal(countObjects(tr->mem, "index/"), 0);
    assert_int_equal(countObjects(tr->mem, "snapshots/"), 0);
    repoCommitFree(commit);
    free(run.packs);
    repoFree(w);
}

/* A writer that deduplicated against an earlier backup: the earlier backup
 * stored a file (one index file, oldIndex); the writer, opened afterwards,
 * began its commit and stored the same data under another name, so only
 * its tree blob is new. */
typedef struct DedupRun {
    Stored before, run;
    LbId oldIndex;
    Repo *w;
    RepoCommit *commit;
} DedupRun;

static void dedupRunBegin(TestRepo *tr, unsigned seed, DedupRun *d) {
    LbError err = {0};
    assert_true(storeFile(tr->earlier, "earlier", seed, &d->before, &err));
    d->oldIndex = onlyId(tr->earlier, "index");
    d->w = openWriter(tr, NULL);
    d->commit = repoCommitBegin(d->w, &err);
    assert_non_null(d->commit);
    assert_true(storeFile(d->w, "writer", seed, &d->run, &err));
    assert_true(lbIdEqual(&d->run.data, &d->before.data));
    assert_int_equal(d->run.packCount, 1); /* only the tree blob is new */
}

static void dedupRunEnd(DedupRun *d) {
    repoCommitFree(d->commit);
    free(d->before.packs);
    free(d->run.packs);
    repoFree(d->w);
}

/* Commit a snapshot of the run's tree, capturing the log; true when saved. */
static bool commitRun(DedupRun *d, Snapshot *snap, char **log, LbError *err) {
    snapshotOf(&d->run, snap);
    Capture cap;
    captureBegin(&cap);
    bool ok = repoCommitSnapshot(d->commit, d->run.packs, d->run.packCount, snap, err);
    *log = captureEnd(&cap);
    return ok;
}

/* After a writer deduplicated against an earlier backup's data, a prune
 * removed that backup's index file and packs (no snapshot referenced them).
 * The writer's own pack is intact, so only the re-check the missing index
 * file triggers can notice: the commit reloads the index, finds the data blob
 * gone and fails with LB_ERR_NOT_COMMITTED, writing nothing. A commit of the
 * same run before the prune (copy writes several snapshots) succeeded. */
static void testPrunedIndexRecheckFails(void **state) {
    TestRepo *tr = *state;
    LbError err = {0};
    DedupRun d;
    dedupRunBegin(tr, 5, &d);
    Snapshot first, snap;
    char *log;
    assert_true(commitRun(&d, &first, &log, &err));
    assert_null(strstr(log, RECHECK_LOG));
    free(log);
    assert_int_equal(countObjects(tr->mem, "snapshots/"), 1);
    /* the prune: forget the first snapshot, drop the earlier backup's index
     * file and packs (the writer's own pack and index survive) */
    removeObject(tr->mem, "snapshots", &first.id);
    removeObject(tr->mem, "index", &d.oldIndex);
    for (size_t i = 0; i < d.before.packCount; i++)
        removeObject(tr->mem, "data", &d.before.packs[i]);

    assert_false(commitRun(&d, &snap, &log, &err));
    assert_non_null(strstr(log, "1 " RECHECK_LOG));
    free(log);
    assert_int_equal(err.code, LB_ERR_NOT_COMMITTED);
    assert_non_null(strstr(err.msg, "no snapshot written: data this run relies on was removed meanwhile"));
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&d.before.data, hex);
    assert_non_null(strstr(err.msg, hex));
    assert_int_equal(countObjects(tr->mem, "snapshots/"), 0);
    snapshotClear(&first);
    snapshotClear(&snap);
    dedupRunEnd(&d);
}

/* A prune that rewrote the index (a new index file naming the same packs, the
 * old one deleted) but kept every blob: the missing index file triggers the
 * re-check, which finds everything and the snapshot is saved. */
static void testPrunedIndexRecheckPasses(void **state) {
    TestRepo *tr = *state;
    LbError err = {0};
    DedupRun d;
    dedupRunBegin(tr, 6, &d);
    /* the prune: the same entries under a new index file, the old one gone */
    LbBuf plain = {0};
    LbId newIndex;
    assert_true(repoLoadUnpacked(tr->earlier, "index", &d.oldIndex, &plain, &err));
    assert_true(repoSaveUnpacked(tr->earlier, "index", plain.data, plain.len, &newIndex, &err));
    assert_false(lbIdEqual(&newIndex, &d.oldIndex));
    lbBufFree(&plain);
    removeObject(tr->mem, "index", &d.oldIndex);

    Snapshot snap;
    char *log;
    bool ok = commitRun(&d, &snap, &log, &err);
    if (!ok)
        print_error("commit: %s\n", err.msg);
    assert_true(ok);
    assert_non_null(strstr(log, "1 " RECHECK_LOG));
    free(log);
    assert_int_equal(countObjects(tr->mem, "snapshots/"), 1);
    /* the reload took the rewritten index */
    size_t nfiles = 0;
    const LbId *files = repoIndexFiles(d.w, &nfiles);
    bool sawNew = false;
    for (size_t i = 0; i < nfiles; i++) {
        assert_false(lbIdEqual(&files[i], &d.oldIndex));
        sawNew |= lbIdEqual(&files[i], &newIndex);
    }
    assert_true(sawNew);
    snapshotClear(&snap);
    dedupRunEnd(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(testCommitSavesSnapshot, setupRepo, teardownRepo),
        cmocka_unit_test_setup_teardown(testLostPackWritesNothing, setupRepo, teardownRepo),
        cmocka_unit_test_setup_teardown(testPackLostDuringSnapshotWriteWithdraws, setupRepo, teardownRepo),
        cmocka_unit_test_setup_teardown(testSaverLostPackWritesNoIndex, setupRepo, teardownRepo),
        cmocka_unit_test_setup_teardown(testPrunedIndexRecheckFails, setupRepo, teardownRepo),
        cmocka_unit_test_setup_teardown(testPrunedIndexRecheckPasses, setupRepo, teardownRepo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
