/*
 * test_archiver.c - the one tree builder, driven by a scripted source: the
 * trees it stores (names, order, subtrees, content), the parent snapshot's
 * nodes and unchanged files, re-entered directories, dropped entries, the
 * bucket's tree-shape features, a failing walk, and two runs at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/archiver.h"
#include "storage/mem/mem.h"

#include "archtest.h"

/* ---- a scripted source ----
 * Each step: 'D' enter a new directory, 'K' keep it (to re-enter it),
 * 'R' re-enter one, 'U' leave,
 * 'F' a file with data (read through sourceSinkRead, or sourceSinkUnchanged
 * when the parent snapshot has it and 'reuse' is set), 'L' a symlink,
 * 'X' a file whose read fails (dropped, unreadable), 'E' fail the walk. */
typedef struct Step {
    char op;
    const char *name;
    const char *data; /* file bytes, symlink target */
    int64_t mtimeNs;
} Step;

typedef struct Script {
    const Step *steps;
    size_t count;
    bool reuse;
    unsigned unchangedSeen; /* files answered unchanged */
} Script;

static ssize_t failRead(void *ctx, uint8_t *buf, size_t cap, const char **why) {
    (void)ctx;
    (void)buf;
    (void)cap;
    *why = "injected read error";
    return -1;
}

static Node fileNode(const Step *st, NodeType type) {
    Node n = {0};
    n.name = lbXstrdup(st->name);
    n.type = type;
    n.mode = 0644;
    n.links = 1;
    n.mtimeNs = n.ctimeNs = st->mtimeNs;
    return n;
}

static bool scriptWalk(void *driver, SourceSink *sink, LbError *err) {
    Script *sc = driver;
    for (size_t i = 0; i < sc->count; i++) {
        const Step *st = &sc->steps[i];
        Node n;
        const char *why = NULL;
        switch (st->op) {
        case 'D':
            n = fileNode(st, NODE_DIR);
            n.mode = 0755;
            sourceSinkEnter(sink, &n);
            break;
        case 'K':
            sourceSinkKeep(sink);
            break;
        case 'R':
            if (!sourceSinkReenter(sink, st->name))
                return lbErr(err, LB_ERR_ARGS, "no directory '%s'", st->name);
            break;
        case 'U':
            sourceSinkLeave(sink);
            break;
        case 'L':
            n = fileNode(st, NODE_SYMLINK);
            n.linkTarget = lbXstrdup(st->data);
            sourceSinkAdd(sink, &n);
            break;
        case 'F': {
            const Node *pn = sourceSinkParent(sink, st->name);
            n = fileNode(st, NODE_FILE);
            n.size = strlen(st->data);
            SourceRef ref = sourceSinkAdd(sink, &n);
            if (sc->reuse && !sourceSinkForce(sink) && pn != NULL && pn->size == strlen(st->data)) {
                sourceSinkUnchanged(sink, ref, pn);
                sc->unchangedSeen++;
            } else {
                MemReader m = {st->data, 0, strlen(st->data)};
                if (!sourceSinkRead(sink, ref, memRead, &m, pn ? SOURCE_FILE_CHANGED : SOURCE_FILE_NEW, NULL, &why))
                    return lbErr(err, LB_ERR_IO, "read: %s", why);
            }
            break;
        }
        case 'X': {
            n = fileNode(st, NODE_FILE);
            SourceRef ref = sourceSinkAdd(sink, &n);
            assert_false(sourceSinkRead(sink, ref, failRead, NULL, SOURCE_FILE_NEW, NULL, &why));
            sourceSinkDrop(sink, ref, st->name, why);
            break;
        }
        case 'E':
            return lbErr(err, LB_ERR_IO, "injected walk failure");
        }
    }
    sourceSinkAddPath(sink, "/scripted");
    return true;
}

static const SourceInterface scriptInterface = {.name = "script", .walk = scriptWalk};
static const SourceInterface bucketShapeInterface = {
    .name = "bucket-shaped",
    .features = SOURCE_FEATURE_DIR_TIME_NEWEST | SOURCE_FEATURE_MARK_FILE_DIR,
    .walk = scriptWalk,
};

/* ---- helpers ---- */

static bool run(Repo *repo, const SourceInterface *iface, Script *sc, const Snapshot *parent, ArchiverResult *res,
                LbError *err) {
    Source src = {iface, sc};
    ArchiverOptions ao = {.sources = &src, .sourceCount = 1, .parent = parent};
    return archiverRun(repo, &ao, res, err);
}

#define SCRIPT(arr)                                                                                                    \
    { arr, sizeof(arr) / sizeof(arr[0]), false, 0 }

static const Step basic[] = {
    {'F', "zeta", "last file", 10}, {'D', "dir", NULL, 20}, {'K', NULL, NULL, 0},      {'F', "b", "bee", 30},
    {'F', "a", "ay", 40},           {'L', "link", "a", 50}, {'X', "broken", NULL, 60}, {'U', NULL, NULL, 0},
    {'D', "empty", NULL, 70},       {'U', NULL, NULL, 0},   {'R', "dir", NULL, 0},     {'F', "c", "second path", 80},
    {'U', NULL, NULL, 0},
};

/* Trees are sorted by name, hold every entry once (a re-entered directory
 * is the same one), the content of each file, and no dropped entry. */
static void testTreesBottomUp(void **state) {
    (void)state;
    Repo *repo = newRepo();
    Script sc = SCRIPT(basic);
    ArchiverResult res = {0};
    LbError err = {0};
    assert_true(run(repo, &scriptInterface, &sc, NULL, &res, &err));
    Tree root = {0};
    loadTree(repo, &res.tree, &root);
    assert_int_equal(root.count, 3);
    assert_string_equal(root.nodes[0].name, "dir");
    assert_string_equal(root.nodes[1].name, "empty");
    assert_string_equal(root.nodes[2].name, "zeta");
    assert_int_equal(root.nodes[0].type, NODE_DIR);
    assert_int_equal(root.nodes[0].mtimeNs, 20); /* a directory keeps its own time */
    assertContent(repo, &root.nodes[2], "last file", 9);
    Tree dir = {0};
    loadTree(repo, &root.nodes[0].subtree, &dir);
    assert_int_equal(dir.count, 4);
    const char *names[] = {"a", "b", "c", "link"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(dir.nodes[i].name, names[i]);
    assertContent(repo, &dir.nodes[0], "ay", 2);
    assertContent(repo, &dir.nodes[2], "second path", 11);
    assert_string_equal(dir.nodes[3].linkTarget, "a");
    assert_int_equal(res.summary.filesNew, 4);
    assert_int_equal(res.summary.totalFiles, 4);
    assert_int_equal(res.summary.totalBytes, strlen("last file") + 3 + 2 + strlen("second path"));
    assert_int_equal(res.summary.dirsNew, 2);
    assert_int_equal(res.unreadableCount, 1);
    assert_string_equal(res.unreadable[0], "broken: injected read error");
    assert_int_equal(res.pathCount, 1);
    assert_string_equal(res.paths[0], "/scripted");
    treeFree(&dir);
    treeFree(&root);
    archiverResultClear(&res);
    repoFree(repo);
}

/* The same entries give the same tree ID (trees deduplicate); a second run
 * against the first as parent takes unchanged files' content from it and
 * counts the directories unmodified. */
static void testParentAndUnchanged(void **state) {
    (void)state;
    Repo *repo = newRepo();
    Script sc = SCRIPT(basic);
    ArchiverResult first = {0}, second = {0}, third = {0};
    LbError err = {0};
    assert_true(run(repo, &scriptInterface, &sc, NULL, &first, &err));
    Snapshot parent = {.tree = first.tree};
    sc.reuse = true;
    assert_true(run(repo, &scriptInterface, &sc, &parent, &second, &err));
    assert_true(lbIdEqual(&first.tree, &second.tree));
    assert_int_equal(sc.unchangedSeen, 4);
    assert_int_equal(second.summary.filesUnmodified, 4);
    assert_int_equal(second.summary.filesNew, 0);
    assert_int_equal(second.summary.dirsUnmodified, 2);
    assert_int_equal(second.summary.blobsNew, 0);
    assert_int_equal(second.summary.treeBlobsNew, 0);
    assert_int_equal(second.summary.totalBytes, first.summary.totalBytes);
    /* a changed file: counted changed, its directory changed */
    Step changed[sizeof(basic) / sizeof(basic[0])];
    memcpy(changed, basic, sizeof(basic));
    changed[3].data = "bee, longer now"; /* "b" */
    Script sc2 = SCRIPT(changed);
    sc2.reuse = true;
    assert_true(run(repo, &scriptInterface, &sc2, &parent, &third, &err));
    assert_false(lbIdEqual(&first.tree, &third.tree));
    assert_int_equal(third.summary.filesChanged, 1);
    assert_int_equal(third.summary.filesUnmodified, 3);
    assert_int_equal(third.summary.dirsChanged, 1);
    assert_int_equal(third.summary.dirsUnmodified, 1);
    archiverResultClear(&first);
    archiverResultClear(&second);
    archiverResultClear(&third);
    repoFree(repo);
}

/* A bucket-shaped source: directories take the newest time below them, and
 * a file sharing a directory's name is stored as "name%". */
static void testBucketShape(void **state) {
    (void)state;
    Repo *repo = newRepo();
    static const Step steps[] = {
        {'F', "a", "file a", 100}, {'D', "a", NULL, 0},  {'F', "b", "x", 300},
        {'F', "c", "y", 200},      {'U', NULL, NULL, 0}, {'F', "b", "z", 50},
    };
    Script sc = SCRIPT(steps);
    ArchiverResult res = {0};
    LbError err = {0};
    assert_true(run(repo, &bucketShapeInterface, &sc, NULL, &res, &err));
    Tree root = {0};
    loadTree(repo, &res.tree, &root);
    assert_int_equal(root.count, 3);
    assert_string_equal(root.nodes[0].name, "a");
    assert_int_equal(root.nodes[0].type, NODE_DIR);
    assert_int_equal(root.nodes[0].mtimeNs, 300);
    assert_int_equal(root.nodes[0].ctimeNs, 300);
    assert_string_equal(root.nodes[1].name, "a%");
    assert_int_equal(root.nodes[1].type, NODE_FILE);
    assertContent(repo, &root.nodes[1], "file a", 6);
    assert_string_equal(root.nodes[2].name, "b");
    treeFree(&root);
    archiverResultClear(&res);
    repoFree(repo);
}

/* A walk that fails fails the run with its error, and a re-entry of a
 * name that is not a directory is refused. */
static void testWalkFails(void **state) {
    (void)state;
    Repo *repo = newRepo();
    static const Step steps[] = {{'F', "f", "data", 1}, {'E', NULL, NULL, 0}};
    Script sc = SCRIPT(steps);
    ArchiverResult res = {0};
    LbError err = {0};
    assert_false(run(repo, &scriptInterface, &sc, NULL, &res, &err));
    assert_string_equal(err.msg, "injected walk failure");
    archiverResultClear(&res);
    static const Step notDir[] = {{'F', "f", "data", 1}, {'R', "f", NULL, 0}};
    Script sc2 = SCRIPT(notDir);
    assert_false(run(repo, &scriptInterface, &sc2, NULL, &res, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    archiverResultClear(&res);
    /* a directory left without sourceSinkKeep is encoded: no way back in */
    static const Step notKept[] = {
        {'D', "d", NULL, 1}, {'F', "f", "data", 1}, {'U', NULL, NULL, 0}, {'R', "d", NULL, 0}};
    Script sc3 = SCRIPT(notKept);
    assert_false(run(repo, &scriptInterface, &sc3, NULL, &res, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    archiverResultClear(&res);
    repoFree(repo);
}

/* Two runs at once in one process (as the daemon may do) share no state:
 * both succeed with the same tree. */
typedef struct Job {
    Repo *repo;
    ArchiverResult res;
    bool ok;
} Job;

static void *jobMain(void *arg) {
    Job *j = arg;
    Script sc = SCRIPT(basic);
    LbError err = {0};
    j->ok = run(j->repo, &scriptInterface, &sc, NULL, &j->res, &err);
    return NULL;
}

static void testTwoRunsAtOnce(void **state) {
    (void)state;
    Job jobs[2] = {{.repo = newRepo()}, {.repo = newRepo()}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, jobMain, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_true(jobs[i].ok);
        assert_int_equal(jobs[i].res.summary.totalFiles, 4);
        assert_int_equal(jobs[i].res.unreadableCount, 1);
        archiverResultClear(&jobs[i].res);
        repoFree(jobs[i].repo);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testTreesBottomUp), cmocka_unit_test(testParentAndUnchanged),
        cmocka_unit_test(testBucketShape),   cmocka_unit_test(testWalkFails),
        cmocka_unit_test(testTwoRunsAtOnce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
