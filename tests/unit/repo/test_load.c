/*
 * test_load.c - unit tests for loading a repository's index and snapshots
 * when some of their files are unreadable (repo.h RepoLoadOptions).
 *
 * Three writers each store one file (its own packs and index file) in one
 * in-memory store; then one index file is damaged (a flipped byte: its
 * content no longer matches its name), one cannot be decoded (sealed
 * correctly, not an index), or one cannot be fetched (an injected I/O
 * error). The strict load fails naming the file; the tolerant load
 * (.skipDamaged) loads every other file, reports each bad one by ID with a
 * reason naming it, and a blob only a bad file named is then NOT_FOUND by
 * name. snapshotLoadAllP does the same for snapshot files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"
#include "snapshot/snapshot.h"
#include "storage/mem/mem.h"

#include "harness.h"

#define PASSWORD "load test password"
#define FILES 3

typedef struct World {
    Storage *mem;
    Faults faults;     /* of reader */
    Repo *reader;      /* a fresh process: nothing loaded */
    Stored s[FILES];   /* what writer k stored */
    LbId index[FILES]; /* the index file writer k wrote */
} World;

/* The one ID in dir that is not in known[0, count). */
static LbId newId(Repo *repo, const char *dir, const LbId *known, size_t count) {
    LbId *ids = NULL, found = {0};
    size_t n = 0, fresh = 0;
    LbError err = {0};
    assert_true(repoListIds(repo, dir, &ids, &n, &err));
    for (size_t i = 0; i < n; i++) {
        bool old = false;
        for (size_t k = 0; k < count; k++)
            old |= lbIdEqual(&ids[i], &known[k]);
        if (!old) {
            found = ids[i];
            fresh++;
        }
    }
    free(ids);
    assert_int_equal(fresh, 1);
    return found;
}

static int setupWorld(void **state) {
    World *w = calloc(1, sizeof(*w));
    w->mem = storageMemNew();
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    Repo *writer = repoInit(borrow(w->mem, NULL), PASSWORD, &opts, &err);
    if (writer == NULL || !repoLoadIndex(writer, &err)) {
        print_error("init: %s\n", err.msg);
        return -1;
    }
    for (unsigned k = 0; k < FILES; k++) {
        char name[8];
        snprintf(name, sizeof(name), "f%u", k);
        assert_true(storeFile(writer, name, 100 + k, &w->s[k], &err));
        w->index[k] = newId(writer, "index", w->index, k);
        Snapshot snap;
        snapshotOf(&w->s[k], &snap);
        snap.timeNs += k;
        assert_true(snapshotSave(writer, &snap, &err));
        snapshotClear(&snap);
    }
    repoFree(writer);
    w->reader = repoOpen(borrowFaulty(w->mem, &w->faults), PASSWORD, &err);
    assert_non_null(w->reader);
    *state = w;
    return 0;
}

static int teardownWorld(void **state) {
    World *w = *state;
    repoFree(w->reader);
    for (int k = 0; k < FILES; k++)
        free(w->s[k].packs);
    storageFree(w->mem);
    free(w);
    return 0;
}

static void objectName(const char *dir, const LbId *id, char *out, size_t size) {
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(id, hex);
    snprintf(out, size, "%s/%s", dir, hex);
}

/* Flip one byte of dir/<id> in the store. */
static void flipByte(World *w, const char *dir, const LbId *id) {
    char name[128];
    objectName(dir, id, name, sizeof(name));
    LbBuf b = {0};
    LbError err = {0};
    assert_true(storageGet(w->mem, name, 0, 0, &b, &err));
    b.data[b.len / 2] ^= 0xff;
    assert_true(storagePut(w->mem, name, b.data, b.len, &err));
    lbBufFree(&b);
}

/* Whether the reader's index finds writer k's data and tree blobs. */
static bool hasFile(World *w, int k) {
    bool data = indexHas(repoIndex(w->reader), &w->s[k].data, BLOB_DATA);
    bool tree = indexHas(repoIndex(w->reader), &w->s[k].tree, BLOB_TREE);
    assert_int_equal(data, tree);
    return data;
}

static bool listed(const LbId *ids, size_t count, const LbId *id) {
    for (size_t i = 0; i < count; i++)
        if (lbIdEqual(&ids[i], id))
            return true;
    return false;
}

/* The damaged list holds exactly id, with a reason naming dir/<id>. */
static void assertOnlyDamaged(const RepoDamagedList *list, const char *dir, const LbId *id) {
    char name[128];
    objectName(dir, id, name, sizeof(name));
    assert_int_equal(list->count, 1);
    assert_true(lbIdEqual(&list->items[0].id, id));
    if (strstr(list->items[0].reason, name) == NULL)
        print_error("reason does not name '%s': %s\n", name, list->items[0].reason);
    assert_non_null(strstr(list->items[0].reason, name));
}

/* The middle index file is damaged: the strict load fails naming it (with a
 * hint) and leaves the index not loaded; the tolerant load has the other
 * two writers' blobs, lists the damaged file (and not in repoIndexFiles),
 * and a blob only it named fails NOT_FOUND naming the blob. */
static void testDamagedIndexFile(void **state) {
    World *w = *state;
    flipByte(w, "index", &w->index[1]);
    char name[128];
    objectName("index", &w->index[1], name, sizeof(name));
    LbError err = {0};
    assert_false(repoReloadIndex(w->reader, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, name));
    assert_non_null(strstr(err.msg, "HINT: "));
    assert_false(repoIndexLoaded(w->reader));

    RepoDamagedList damaged = {0};
    lbErrorClear(&err);
    assert_true(repoReloadIndexP(w->reader, &err, .skipDamaged = true, .damaged = &damaged));
    assertOnlyDamaged(&damaged, "index", &w->index[1]);
    repoDamagedListFree(&damaged);
    assert_int_equal(damaged.count, 0);
    assert_true(repoIndexLoaded(w->reader));
    assert_true(hasFile(w, 0));
    assert_false(hasFile(w, 1));
    assert_true(hasFile(w, 2));
    size_t nfiles = 0;
    const LbId *files = repoIndexFiles(w->reader, &nfiles);
    assert_int_equal(nfiles, 2);
    assert_true(listed(files, nfiles, &w->index[0]));
    assert_true(listed(files, nfiles, &w->index[2]));

    LbBuf out = {0};
    assert_true(repoLoadBlob(w->reader, BLOB_DATA, &w->s[0].data, &out, &err));
    assert_int_equal(out.len, 4096);
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&w->s[1].data, hex);
    assert_false(repoLoadBlob(w->reader, BLOB_DATA, &w->s[1].data, &out, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, hex));
    lbBufFree(&out);
}

/* An index file that opens (right key, right name) but is not an index,
 * and one whose fetch fails: the strict load names the undecodable one; the
 * tolerant load without a list logs one warning per file, naming it. */
static void testUndecodableAndUnfetchableIndexFiles(void **state) {
    World *w = *state;
    LbId junk;
    LbError err = {0};
    assert_true(repoSaveUnpacked(w->reader, "index", (const uint8_t *)"not an index", 12, &junk, &err));
    char junkName[128], goneName[128];
    objectName("index", &junk, junkName, sizeof(junkName));
    assert_false(repoLoadIndex(w->reader, &err));
    assert_non_null(strstr(err.msg, "unable to decode index file"));
    assert_non_null(strstr(err.msg, junkName));

    objectName("index", &w->index[2], goneName, sizeof(goneName));
    w->faults.get = goneName;
    RepoDamagedList damaged = {0};
    lbErrorClear(&err);
    assert_true(repoReloadIndexP(w->reader, &err, .skipDamaged = true, .damaged = &damaged));
    assert_int_equal(damaged.count, 2);
    size_t junkLines = 0, goneLines = 0;
    for (size_t i = 0; i < damaged.count; i++) {
        junkLines += lbIdEqual(&damaged.items[i].id, &junk) && strstr(damaged.items[i].reason, junkName);
        goneLines += lbIdEqual(&damaged.items[i].id, &w->index[2]) && strstr(damaged.items[i].reason, goneName);
    }
    repoDamagedListFree(&damaged);
    assert_int_equal(junkLines, 1);
    assert_int_equal(goneLines, 1);
    assert_true(hasFile(w, 0) && hasFile(w, 1));
    assert_false(hasFile(w, 2));

    Capture cap;
    captureBegin(&cap);
    bool ok = repoReloadIndexP(w->reader, &err, .skipDamaged = true);
    char *log = captureEnd(&cap);
    assert_true(ok);
    if (strstr(log, junkName) == NULL || strstr(log, goneName) == NULL || strstr(log, "skipped: ") == NULL)
        print_error("log: %s\n", log);
    assert_non_null(strstr(log, junkName));
    assert_non_null(strstr(log, goneName));
    assert_non_null(strstr(log, "skipped: the blobs only it names cannot be found"));
    free(log);
    w->faults.get = NULL;
}

/* The index folder cannot be listed: even the tolerant load fails. */
static void testListFailureStillFails(void **state) {
    World *w = *state;
    w->faults.list = "index/";
    RepoDamagedList damaged = {0};
    LbError err = {0};
    assert_false(repoLoadIndexP(w->reader, &err, .skipDamaged = true, .damaged = &damaged));
    assert_int_equal(err.code, LB_ERR_IO);
    assert_int_equal(damaged.count, 0);
    assert_false(repoIndexLoaded(w->reader));
    w->faults.list = NULL;
}

/* One damaged snapshot file: snapshotLoadAll fails naming it; the tolerant
 * load returns the other two, oldest first, and lists the damaged one. */
static void testDamagedSnapshotFile(void **state) {
    World *w = *state;
    LbId *ids = NULL;
    size_t n = 0;
    LbError err = {0};
    assert_true(repoListIds(w->reader, "snapshots", &ids, &n, &err));
    assert_int_equal(n, FILES);
    LbId bad = ids[1];
    free(ids);
    flipByte(w, "snapshots", &bad);
    char name[128];
    objectName("snapshots", &bad, name, sizeof(name));
    SnapshotList list;
    assert_false(snapshotLoadAll(w->reader, &list, &err));
    assert_non_null(strstr(err.msg, name));

    RepoDamagedList damaged = {0};
    assert_true(snapshotLoadAllP(w->reader, &list, &err, .skipDamaged = true, .damaged = &damaged));
    assertOnlyDamaged(&damaged, "snapshots", &bad);
    repoDamagedListFree(&damaged);
    assert_int_equal(list.count, FILES - 1);
    assert_true(list.items[0].timeNs < list.items[1].timeNs);
    for (size_t i = 0; i < list.count; i++)
        assert_false(lbIdEqual(&list.items[i].id, &bad));
    snapshotListFree(&list);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(testDamagedIndexFile, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testUndecodableAndUnfetchableIndexFiles, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testListFailureStillFails, setupWorld, teardownWorld),
        cmocka_unit_test_setup_teardown(testDamagedSnapshotFile, setupWorld, teardownWorld),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
