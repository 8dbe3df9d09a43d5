/*
 * test_stream.c - trees stream (archiver.c): a directory is encoded as soon
 * as it is complete, not at the end. A model file tree, generated with a
 * fixed seed, is walked by a model source; the stored trees must not depend
 * on how the walk streams: the default, a FIFO of left directories bounded
 * to one entry (the walk waits for every directory), and files read after
 * their directory was left (as the bucket reads its objects) all give the
 * same tree ID. Against a parent snapshot, after files added, removed,
 * changed and renamed, directories renamed, directories turned into files
 * and files into directories at every depth, the incremental run stores the
 * same trees as a run without a parent, and every file's content matches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archiver/archiver.h"
#include "storage/mem/mem.h"

#include "archtest.h"

/* ---- the model ---- */

typedef struct MDir MDir;

typedef struct MEntry {
    char *name;
    char *data; /* a file's bytes (NULL: a directory) */
    int64_t mtimeNs;
    MDir *sub;
} MEntry;

struct MDir {
    MEntry *entries;
    size_t count;
};

static unsigned rng = 12345;
static unsigned nameSeq = 0;

static unsigned nextRand(void) {
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) & 0x7fff;
}

static MEntry *mAdd(MDir *d) {
    d->entries = realloc(d->entries, (d->count + 1) * sizeof(MEntry));
    MEntry *e = &d->entries[d->count++];
    memset(e, 0, sizeof(*e));
    return e;
}

static char *mData(void) {
    size_t len = nextRand() % 3000;
    char *data = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)('a' + nextRand() % 26);
    data[len] = '\0';
    return data;
}

static void mFile(MDir *d) {
    MEntry *e = mAdd(d);
    e->name = lbXasprintf("f%u", nameSeq++);
    e->data = mData();
    e->mtimeNs = (int64_t)nextRand() * 1000;
}

static MDir *mGen(int depth) {
    MDir *d = calloc(1, sizeof(MDir));
    unsigned files = nextRand() % 12, dirs = depth < 4 ? 1 + nextRand() % 3 : 0;
    for (unsigned i = 0; i < files; i++)
        mFile(d);
    for (unsigned i = 0; i < dirs; i++) {
        MEntry *e = mAdd(d);
        e->name = lbXasprintf("d%u", nameSeq++);
        e->mtimeNs = 7;
        e->sub = mGen(depth + 1);
    }
    return d;
}

static void mFree(MDir *d) {
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->count; i++) {
        free(d->entries[i].name);
        free(d->entries[i].data);
        mFree(d->entries[i].sub);
    }
    free(d->entries);
    free(d);
}

static MDir *mCopy(const MDir *d) {
    MDir *c = calloc(1, sizeof(MDir));
    for (size_t i = 0; i < d->count; i++) {
        MEntry *e = mAdd(c);
        e->name = lbXstrdup(d->entries[i].name);
        e->data = d->entries[i].data ? lbXstrdup(d->entries[i].data) : NULL;
        e->mtimeNs = d->entries[i].mtimeNs;
        e->sub = d->entries[i].sub ? mCopy(d->entries[i].sub) : NULL;
    }
    return c;
}

static size_t mFind(const MDir *d, bool dir, size_t nth) {
    for (size_t i = 0; i < d->count; i++)
        if ((d->entries[i].sub != NULL) == dir && nth-- == 0)
            return i;
    return SIZE_MAX;
}

/* Change the tree in place at every depth: a file changed, one removed, one
 * added, one renamed, a directory renamed, a directory turned into a file of
 * its name and a file into a directory of its name. */
static void mMutate(MDir *d) {
    size_t i;
    if ((i = mFind(d, false, 0)) != SIZE_MAX) { /* changed */
        free(d->entries[i].data);
        d->entries[i].data = mData();
        d->entries[i].mtimeNs += 1;
    }
    if ((i = mFind(d, false, 1)) != SIZE_MAX) { /* removed */
        free(d->entries[i].name);
        free(d->entries[i].data);
        d->entries[i] = d->entries[--d->count];
    }
    mFile(d);                                   /* added */
    if ((i = mFind(d, false, 2)) != SIZE_MAX) { /* renamed */
        free(d->entries[i].name);
        d->entries[i].name = lbXasprintf("r%u", nameSeq++);
    }
    if ((i = mFind(d, true, 1)) != SIZE_MAX) { /* a directory renamed */
        free(d->entries[i].name);
        d->entries[i].name = lbXasprintf("rd%u", nameSeq++);
    }
    if ((i = mFind(d, true, 2)) != SIZE_MAX) { /* a directory turned into a file */
        mFree(d->entries[i].sub);
        d->entries[i].sub = NULL;
        d->entries[i].data = mData();
    }
    if ((i = mFind(d, false, 3)) != SIZE_MAX) { /* a file turned into a directory */
        free(d->entries[i].data);
        d->entries[i].data = NULL;
        d->entries[i].sub = calloc(1, sizeof(MDir));
        mFile(d->entries[i].sub);
    }
    for (i = 0; i < d->count; i++)
        if (d->entries[i].sub != NULL)
            mMutate(d->entries[i].sub);
}

static size_t mCount(const MDir *d, bool dirs) {
    size_t n = 0;
    for (size_t i = 0; i < d->count; i++) {
        if (d->entries[i].sub != NULL)
            n += dirs + mCount(d->entries[i].sub, dirs);
        else
            n += !dirs;
    }
    return n;
}

/* ---- the model source ---- */

typedef struct Deferred {
    SourceRef ref;
    const MEntry *e;
    bool changed;
} Deferred;

typedef struct ModelWalk {
    const MDir *root;
    bool reuse;   /* answer unchanged files from the parent */
    size_t defer; /* read files only once this many wait (0: at once) */
    Deferred *queue;
    size_t queued;
    unsigned unchanged;
} ModelWalk;

static bool readOne(SourceSink *sink, const Deferred *q) {
    MemReader m = {q->e->data, 0, strlen(q->e->data)};
    const char *why = NULL;
    return sourceSinkRead(sink, q->ref, memRead, &m, q->changed ? SOURCE_FILE_CHANGED : SOURCE_FILE_NEW, NULL, &why);
}

static bool flush(ModelWalk *w, SourceSink *sink) {
    for (size_t i = 0; i < w->queued; i++)
        if (!readOne(sink, &w->queue[i]))
            return false;
    w->queued = 0;
    return true;
}

static bool walkDir(ModelWalk *w, SourceSink *sink, const MDir *d) {
    for (size_t i = 0; i < d->count; i++) {
        const MEntry *e = &d->entries[i];
        Node n = {0};
        n.name = lbXstrdup(e->name);
        n.mode = 0644;
        n.links = 1;
        n.mtimeNs = n.ctimeNs = e->mtimeNs;
        if (e->sub != NULL) {
            n.type = NODE_DIR;
            sourceSinkEnter(sink, &n);
            if (!walkDir(w, sink, e->sub))
                return false;
            sourceSinkLeave(sink);
            continue;
        }
        const Node *pn = sourceSinkParent(sink, e->name);
        n.type = NODE_FILE;
        n.size = strlen(e->data);
        Deferred q = {sourceSinkAdd(sink, &n), e, pn != NULL};
        if (w->reuse && pn != NULL && pn->type == NODE_FILE && pn->size == strlen(e->data) &&
            pn->mtimeNs == e->mtimeNs) {
            sourceSinkUnchanged(sink, q.ref, pn);
            w->unchanged++;
        } else if (w->defer == 0) {
            if (!readOne(sink, &q))
                return false;
        } else {
            w->queue = realloc(w->queue, (w->queued + 1) * sizeof(Deferred));
            w->queue[w->queued++] = q;
            if (w->queued >= w->defer && !flush(w, sink))
                return false;
        }
    }
    return true;
}

static bool modelWalk(void *driver, SourceSink *sink, LbError *err) {
    ModelWalk *w = driver;
    bool ok = walkDir(w, sink, w->root) && flush(w, sink);
    free(w->queue);
    w->queue = NULL;
    w->queued = 0;
    if (!ok)
        return lbErr(err, LB_ERR_IO, "model read failed");
    sourceSinkAddPath(sink, "/model");
    return true;
}

static const SourceInterface modelInterface = {.name = "model", .walk = modelWalk};

typedef struct Mode {
    size_t leftEntriesMax;
    size_t defer;
} Mode;

static const Mode modes[] = {{0, 0}, {1, 0}, {0, 7}, {1, 3}, {2, 50}};

static void runModel(Repo *repo, const MDir *root, const Snapshot *parent, Mode mode, ArchiverResult *res,
                     unsigned *unchanged) {
    ModelWalk w = {.root = root, .reuse = parent != NULL, .defer = mode.defer};
    Source src = {&modelInterface, &w};
    ArchiverOptions ao = {.sources = &src, .sourceCount = 1, .parent = parent, .leftEntriesMax = mode.leftEntriesMax};
    LbError err = {0};
    memset(res, 0, sizeof(*res));
    assert_true(archiverRun(repo, &ao, res, &err));
    if (unchanged != NULL)
        *unchanged = w.unchanged;
}

/* The stored tree id holds exactly the model d: names, types, times, content. */
static void assertTreeIs(Repo *repo, const LbId *id, const MDir *d) {
    Tree t = {0};
    loadTree(repo, id, &t);
    assert_int_equal(t.count, d->count);
    for (size_t i = 0; i < d->count; i++) {
        const MEntry *e = &d->entries[i];
        const Node *n = treeFind(&t, e->name);
        assert_non_null(n);
        assert_int_equal(n->mtimeNs, e->mtimeNs);
        if (e->sub != NULL) {
            assert_int_equal(n->type, NODE_DIR);
            assertTreeIs(repo, &n->subtree, e->sub);
        } else {
            assert_int_equal(n->type, NODE_FILE);
            assertContent(repo, n, e->data, strlen(e->data));
        }
    }
    treeFree(&t);
}

/* However the walk streams, the trees are the same. */
static void testModesAgree(void **state) {
    (void)state;
    rng = 1;
    MDir *root = mGen(0);
    size_t files = mCount(root, false), dirs = mCount(root, true);
    assert_true(files > 100 && dirs > 20);
    Repo *repo = newRepo();
    LbId first = {0};
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        ArchiverResult res;
        runModel(repo, root, NULL, modes[m], &res, NULL);
        if (m == 0) {
            first = res.tree;
            assertTreeIs(repo, &res.tree, root);
        }
        assert_true(lbIdEqual(&res.tree, &first));
        assert_int_equal(res.summary.totalFiles, files);
        assert_int_equal(res.summary.dirsNew, dirs);
        archiverResultClear(&res);
    }
    repoFree(repo);
    mFree(root);
}

/* Against a parent: changes at every depth give the trees a run without a
 * parent stores; the unchanged files are taken from the parent; turning
 * the tree back gives the first trees again. */
static void testAgainstParent(void **state) {
    (void)state;
    rng = 2;
    MDir *v1 = mGen(0);
    MDir *v2 = mCopy(v1);
    mMutate(v2);
    Repo *repo = newRepo();
    ArchiverResult r1, fresh;
    runModel(repo, v1, NULL, modes[0], &r1, NULL);
    runModel(repo, v2, NULL, modes[0], &fresh, NULL);
    assertTreeIs(repo, &fresh.tree, v2);
    Snapshot p1 = {.tree = r1.tree};
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        ArchiverResult r2, back;
        unsigned unchanged = 0;
        runModel(repo, v2, &p1, modes[m], &r2, &unchanged);
        assert_true(lbIdEqual(&r2.tree, &fresh.tree));
        assert_true(unchanged > 0);
        const SnapshotSummary *sum = &r2.summary;
        assert_int_equal(sum->filesUnmodified, unchanged);
        assert_true(sum->filesChanged > 0 && sum->filesNew > 0);
        assert_int_equal(sum->filesNew + sum->filesChanged + sum->filesUnmodified, mCount(v2, false));
        assert_int_equal(sum->dirsNew + sum->dirsChanged + sum->dirsUnmodified, mCount(v2, true));
        assert_true(sum->dirsNew > 0 && sum->dirsChanged > 0);
        /* and back: directories that became files are directories again */
        Snapshot p2 = {.tree = r2.tree};
        runModel(repo, v1, &p2, modes[m], &back, NULL);
        assert_true(lbIdEqual(&back.tree, &r1.tree));
        archiverResultClear(&r2);
        archiverResultClear(&back);
    }
    archiverResultClear(&r1);
    archiverResultClear(&fresh);
    repoFree(repo);
    mFree(v1);
    mFree(v2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testModesAgree),
        cmocka_unit_test(testAgainstParent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
