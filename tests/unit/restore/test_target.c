/* test_target.c - the one tree reader behind every restore target
 * (restore/target.h): entries arrive depth-first with enter/add/leave and
 * their snapshot paths, a skipped directory is not read, SNAP:PATH naming a
 * file gives one single entry, an unreadable listing fails the run unless
 * the target takes it (damagedDir), finish runs last, a streaming target
 * gets the whole tree twice with validated() in between (with and without
 * the first pass's trees kept), and the pipe target streams one file in
 * order into a descriptor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repo/saver.h"
#include "restore/target.h"
#include "storage/mem/mem.h"

typedef struct Fixture {
    Repo *repo;
    Snapshot snap;
    LbId fileBlob;
} Fixture;

static const char CONTENT[] = "the bytes of /d/b";

static void storeTree(Fixture *f, BlobSaver *saver, atomic_long *pending, Tree *t, LbId *id) {
    LbBuf enc = {0};
    treeSort(t);
    treeEncode(t, &enc);
    repoBlobId(f->repo, enc.data, enc.len, id);
    atomic_fetch_add(pending, 1);
    /* the saver writes the same ID into *id later (id outlives saverFinish) */
    saverSubmitTake(saver, BLOB_TREE, enc.data, enc.len, id, pending);
    treeFree(t);
}

static Node *add(Tree *t, const char *name, NodeType type) {
    Node *n = treeAppend(t);
    n->name = lbXstrdup(name);
    n->type = type;
    n->mode = type == NODE_DIR ? 0755 : 0644;
    return n;
}

/* / = { a (file), d/ = { b (file, CONTENT), e/ = {} }, gone/ (a tree never stored), l -> a } */
static int setup(void **state) {
    Fixture *f = lbXcalloc(1, sizeof(*f));
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    f->repo = repoInit(storageMemNew(), "pw", &opts, &err);
    assert_non_null(f->repo);
    BlobSaver *saver = saverNew(f->repo, 1);
    atomic_long pending;
    atomic_init(&pending, 0);
    uint8_t *data = lbXmalloc(sizeof(CONTENT) - 1);
    memcpy(data, CONTENT, sizeof(CONTENT) - 1);
    repoBlobId(f->repo, data, sizeof(CONTENT) - 1, &f->fileBlob);
    atomic_fetch_add(&pending, 1);
    saverSubmitTake(saver, BLOB_DATA, data, sizeof(CONTENT) - 1, &f->fileBlob, &pending);

    Tree e = {0}, d = {0}, root = {0};
    LbId eId, dId;
    storeTree(f, saver, &pending, &e, &eId);
    Node *b = add(&d, "b", NODE_FILE);
    b->size = sizeof(CONTENT) - 1;
    b->content = lbXmalloc(sizeof(LbId));
    b->content[0] = f->fileBlob;
    b->contentCount = 1;
    add(&d, "e", NODE_DIR)->subtree = eId;
    storeTree(f, saver, &pending, &d, &dId);
    add(&root, "a", NODE_FILE);
    add(&root, "d", NODE_DIR)->subtree = dId;
    Node *gone = add(&root, "gone", NODE_DIR);
    memset(&gone->subtree, 0x5a, sizeof(gone->subtree));
    add(&root, "l", NODE_SYMLINK)->linkTarget = lbXstrdup("a");
    storeTree(f, saver, &pending, &root, &f->snap.tree);
    assert_true(saverFinish(saver, &err));
    saverFree(saver);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    Fixture *f = *state;
    repoFree(f->repo);
    free(f);
    return 0;
}

/* A target that records what it is told, one line per call. */
typedef struct Recorder {
    LbBuf log;
    const char *skip; /* snapPath of a directory to skip */
    bool takeDamaged; /* damagedDir returns true */
    bool finished;
    bool streaming; /* with streamInterface: */
    bool validated; /* the writing pass runs */
    size_t depth;
} Recorder;

static void record(Recorder *r, const char *fmt, const char *a, size_t depth, bool single) {
    char line[256];
    snprintf(line, sizeof(line), fmt, a);
    lbBufAppendStr(&r->log, line);
    if (single)
        lbBufAppendStr(&r->log, " single");
    snprintf(line, sizeof(line), " @%zu;", depth);
    lbBufAppendStr(&r->log, line);
}

static bool recEnter(void *driver, TargetEntry *dir, LbError *err) {
    (void)err;
    Recorder *r = driver;
    assert_int_equal(dir->depth, r->depth);
    record(r, "enter %s", dir->snapPath, dir->depth, dir->single);
    dir->skip = r->skip && strcmp(r->skip, dir->snapPath) == 0;
    if (!dir->skip)
        r->depth++;
    if (!r->streaming || r->validated) { /* taking the node is allowed, not in a validating pass */
        nodeClear(dir->node);
        memset(dir->node, 0, sizeof(*dir->node));
    }
    return true;
}

static bool recAdd(void *driver, TargetEntry *e, LbError *err) {
    (void)err;
    Recorder *r = driver;
    record(r, "add %s", e->snapPath, e->depth, e->single);
    return true;
}

static void recLeave(void *driver) {
    Recorder *r = driver;
    r->depth--;
    record(r, "leave%s", "", r->depth, false);
}

static bool recDamaged(void *driver, const char *snapPath, LbError *err) {
    (void)err;
    Recorder *r = driver;
    record(r, "damaged %s", snapPath, r->depth, false);
    return r->takeDamaged;
}

static bool recFinish(void *driver, LbError *err) {
    (void)err;
    Recorder *r = driver;
    r->finished = true;
    return true;
}

static const TargetInterface recInterface = {
    .name = "recorder",
    .enter = recEnter,
    .add = recAdd,
    .leave = recLeave,
    .damagedDir = recDamaged,
    .finish = recFinish,
};

static void recValidated(void *driver) {
    Recorder *r = driver;
    r->validated = true;
    lbBufAppendStr(&r->log, "validated;");
}

static const TargetInterface streamInterface = {
    .name = "streaming recorder",
    .features = TARGET_FEATURE_STREAMING,
    .enter = recEnter,
    .add = recAdd,
    .leave = recLeave,
    .damagedDir = recDamaged,
    .validated = recValidated,
    .finish = recFinish,
};

static const TargetInterface strictInterface = {
    .name = "strict",
    .enter = recEnter,
    .add = recAdd,
    .leave = recLeave,
    .finish = recFinish,
};

static char *run(Fixture *f, const TargetInterface *ti, Recorder *r, const char *subpath, bool *ok, LbError *err) {
    Target t = {ti, r};
    *ok = restoreTargetRun(f->repo, &f->snap, subpath, &t, err);
    lbBufAppend(&r->log, "", 1);
    return (char *)r->log.data;
}

static void testOrder(void **state) {
    Fixture *f = *state;
    Recorder r = {.takeDamaged = true};
    LbError err = {0};
    bool ok;
    const char *log = run(f, &recInterface, &r, NULL, &ok, &err);
    assert_true(ok);
    assert_true(r.finished);
    assert_string_equal(log, "add /a @0;enter /d @0;add /d/b @1;enter /d/e @1;leave @1;leave @0;"
                             "enter /gone @0;damaged /gone @1;leave @0;add /l @0;");
    lbBufFree(&r.log);
}

static void testSkipAndSubpath(void **state) {
    Fixture *f = *state;
    Recorder r = {.skip = "/d", .takeDamaged = true};
    LbError err = {0};
    bool ok;
    /* a skipped directory is neither read nor left */
    const char *log = run(f, &recInterface, &r, "/", &ok, &err);
    assert_true(ok);
    assert_string_equal(log, "add /a @0;enter /d @0;enter /gone @0;damaged /gone @1;leave @0;add /l @0;");
    lbBufFree(&r.log);
    /* SNAP:/d: its entries are the top level, /d itself is not an entry */
    Recorder r2 = {0};
    log = run(f, &recInterface, &r2, "/d/", &ok, &err);
    assert_true(ok);
    assert_string_equal(log, "add /d/b @0;enter /d/e @0;leave @0;");
    lbBufFree(&r2.log);
    /* SNAP:/d/b: one single entry */
    Recorder r3 = {0};
    log = run(f, &recInterface, &r3, "/d/b", &ok, &err);
    assert_true(ok);
    assert_string_equal(log, "add /d/b single @0;");
    lbBufFree(&r3.log);
    /* a path that is not there fails before anything is pushed */
    Recorder r4 = {0};
    log = run(f, &recInterface, &r4, "/nope", &ok, &err);
    assert_false(ok);
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    assert_string_equal(log, "");
    assert_false(r4.finished);
    lbBufFree(&r4.log);
}

static void testDamaged(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    bool ok;
    /* no damagedDir: the unreadable listing fails the run, finish never runs */
    Recorder r = {0};
    run(f, &strictInterface, &r, NULL, &ok, &err);
    assert_false(ok);
    assert_false(r.finished);
    assert_non_null(strstr(err.msg, "'/gone'"));
    lbBufFree(&r.log);
    /* damagedDir refusing: the same */
    Recorder r2 = {0};
    lbErrorClear(&err);
    run(f, &recInterface, &r2, NULL, &ok, &err);
    assert_false(ok);
    assert_false(r2.finished);
    lbBufFree(&r2.log);
}

/* A streaming target: the validating pass (a damaged listing skipped
 * silently), validated, then the writing pass; the same whether the first
 * pass's trees are kept (default) or decoded again (cache of 1 byte). */
static void testStreaming(void **state) {
    Fixture *f = *state;
    const char *want = "add /a @0;enter /d @0;add /d/b @1;enter /d/e @1;leave @1;leave @0;"
                       "enter /gone @0;leave @0;add /l @0;validated;"
                       "add /a @0;enter /d @0;add /d/b @1;enter /d/e @1;leave @1;leave @0;"
                       "enter /gone @0;damaged /gone @1;leave @0;add /l @0;";
    for (int cache = 0; cache < 2; cache++) {
        if (cache)
            setenv("LIFEBOAT_RESTORE_TREE_CACHE", "1", 1);
        Recorder r = {.takeDamaged = true, .streaming = true};
        LbError err = {0};
        bool ok;
        const char *log = run(f, &streamInterface, &r, NULL, &ok, &err);
        assert_true(ok);
        assert_true(r.finished);
        assert_string_equal(log, want);
        lbBufFree(&r.log);
    }
    unsetenv("LIFEBOAT_RESTORE_TREE_CACHE");
    /* a listing that cannot be read at the top fails in the validating
     * pass: validated and finish never run */
    Snapshot bad = f->snap;
    memset(&bad.tree, 0x5a, sizeof(bad.tree));
    Recorder r = {.streaming = true};
    LbError err = {0};
    Target t = {&streamInterface, &r};
    assert_false(restoreTargetRun(f->repo, &bad, NULL, &t, &err));
    assert_false(r.validated);
    assert_false(r.finished);
    lbBufFree(&r.log);
}

static void testPipe(void **state) {
    Fixture *f = *state;
    LbError err = {0};
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    uint64_t bytes = 0;
    assert_true(restoreToFd(f->repo, &f->snap, "/d/b", fds[1], &bytes, &err));
    close(fds[1]);
    char got[64] = {0};
    ssize_t n = read(fds[0], got, sizeof(got) - 1);
    close(fds[0]);
    assert_int_equal(n, (ssize_t)strlen(CONTENT));
    assert_int_equal(bytes, strlen(CONTENT));
    assert_string_equal(got, CONTENT);
    /* a directory or a symlink is not a file to stream */
    assert_false(restoreToFd(f->repo, &f->snap, "/d", 1, NULL, &err));
    assert_int_equal(err.code, LB_ERR_FORMAT);
    lbErrorClear(&err);
    assert_false(restoreToFd(f->repo, &f->snap, "/l", 1, NULL, &err));
    assert_int_equal(err.code, LB_ERR_FORMAT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(testOrder, setup, teardown),
        cmocka_unit_test_setup_teardown(testSkipAndSubpath, setup, teardown),
        cmocka_unit_test_setup_teardown(testDamaged, setup, teardown),
        cmocka_unit_test_setup_teardown(testStreaming, setup, teardown),
        cmocka_unit_test_setup_teardown(testPipe, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
