/*
 * test_diff.c - unit tests for src/snapshot/diff.c (diffTrees) and
 * src/snapshot/walk.c (treeWalk) on trees stored in an in-memory repository
 * (tests/unit/maint/fixture.h): every kind of change in path order, counts,
 * equal trees, the empty tree, a callback stopping the diff, and a missing
 * subtree failing with the load error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../maint/fixture.h"

#include "repo/saver.h"
#include "snapshot/diff.h"
#include "snapshot/tree.h"
#include "snapshot/walk.h"

/* Store t (sorted first) and return its ID. */
static LbId saveTree(Repo *repo, Tree *t) {
    BlobSaver *saver = saverNew(repo, 1);
    LbBuf enc = {0};
    LbId id;
    treeSort(t);
    treeEncode(t, &enc);
    size_t len = enc.len;
    saverSubmitTake(saver, BLOB_TREE, lbBufTake(&enc, NULL), len, &id, NULL);
    LbError err = {0};
    assert_true(saverFinish(saver, &err));
    saverFree(saver);
    treeFree(t);
    return id;
}

static Node *addNode(Tree *t, const char *name, NodeType type, uint32_t mode) {
    Node *n = treeAppend(t);
    n->name = lbXstrdup(name);
    n->type = type;
    n->mode = mode;
    return n;
}

static void addFile(Tree *t, const char *name, uint8_t content, uint32_t mode) {
    Node *n = addNode(t, name, NODE_FILE, mode);
    n->content = lbXcalloc(1, sizeof(LbId));
    n->content[0].b[0] = content;
    n->contentCount = 1;
}

static void addLink(Tree *t, const char *name, const char *target) {
    addNode(t, name, NODE_SYMLINK, 0777)->linkTarget = lbXstrdup(target);
}

static void addDir(Repo *repo, Tree *t, const char *name, const char *fileInside) {
    Tree sub = {0};
    addFile(&sub, fileInside, 9, 0644);
    addNode(t, name, NODE_DIR, 0755)->subtree = saveTree(repo, &sub);
}

/* A: a(1) d/{x} m(0644) s->t1 t(file)    B: a(2) m(0600) n/{f} s->t2 t/{i} */
static void twoTrees(Repo *repo, LbId *a, LbId *b) {
    Tree ta = {0}, tb = {0};
    addFile(&ta, "a", 1, 0644);
    addDir(repo, &ta, "d", "x");
    addFile(&ta, "m", 3, 0644);
    addLink(&ta, "s", "t1");
    addFile(&ta, "t", 4, 0644);
    *a = saveTree(repo, &ta);
    addFile(&tb, "a", 2, 0644);
    addFile(&tb, "m", 3, 0600);
    addDir(repo, &tb, "n", "f");
    addLink(&tb, "s", "t2");
    addDir(repo, &tb, "t", "i");
    *b = saveTree(repo, &tb);
}

typedef struct Seen {
    LbBuf text; /* "<change> <path>\n" each */
    size_t stopAfter;
    size_t calls;
} Seen;

static bool record(void *ctx, DiffChange change, const char *path, const Node *node, LbError *err) {
    Seen *s = ctx;
    assert_non_null(node);
    char line[256];
    snprintf(line, sizeof(line), "%c %s\n", (char)change, path);
    lbBufAppendStr(&s->text, line);
    if (++s->calls == s->stopAfter)
        return lbErr(err, LB_ERR_IO, "stopped");
    return true;
}

static char *diffText(Repo *repo, const LbId *a, const LbId *b, DiffStats *st) {
    Seen s = {0};
    LbError err = {0};
    assert_true(diffTrees(repo, a, b, record, &s, st, &err));
    lbBufAppend(&s.text, "", 1);
    return (char *)lbBufTake(&s.text, NULL);
}

static void test_every_kind_of_change(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    LbId a, b;
    twoTrees(repo, &a, &b);
    DiffStats st;
    char *got = diffText(repo, &a, &b, &st);
    assert_string_equal(got, "M /a\n"
                             "- /d\n"
                             "- /d/x\n"
                             "U /m\n"
                             "+ /n\n"
                             "+ /n/f\n"
                             "M /s\n"
                             "- /t\n"
                             "+ /t\n"
                             "+ /t/i\n");
    free(got);
    assert_int_equal(st.added, 4);
    assert_int_equal(st.removed, 3);
    assert_int_equal(st.modified, 2);
    assert_int_equal(st.metadata, 1);
    repoFree(repo);
}

static void test_equal_and_empty(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    LbId a, b, zero = {{0}};
    twoTrees(repo, &a, &b);
    DiffStats st;
    char *got = diffText(repo, &a, &a, &st);
    assert_string_equal(got, "");
    free(got);
    assert_int_equal(st.added + st.removed + st.modified + st.metadata, 0);
    got = diffText(repo, &zero, &a, &st); /* from nothing: everything added */
    assert_string_equal(got, "+ /a\n+ /d\n+ /d/x\n+ /m\n+ /s\n+ /t\n");
    free(got);
    assert_int_equal(st.added, 6);
    LbError err = {0};
    assert_true(diffTrees(repo, &b, &zero, NULL, NULL, &st, &err)); /* no callback: counts only */
    assert_int_equal(st.removed, 7);
    repoFree(repo);
}

static void test_stop_and_missing_tree(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    LbId a, b;
    twoTrees(repo, &a, &b);
    Seen s = {.stopAfter = 2};
    DiffStats st;
    LbError err = {0};
    assert_false(diffTrees(repo, &a, &b, record, &s, &st, &err));
    assert_string_equal(err.msg, "stopped");
    assert_int_equal(s.calls, 2);
    lbBufFree(&s.text);
    /* a subtree nothing stored */
    Tree t = {0};
    addNode(&t, "gone", NODE_DIR, 0755)->subtree.b[0] = 0x42;
    LbId c = saveTree(repo, &t);
    err = (LbError){0};
    assert_false(diffTrees(repo, &a, &c, NULL, NULL, &st, &err));
    assert_int_not_equal(err.code, LB_OK);
    repoFree(repo);
}

static bool walkRecord(void *ctx, const char *path, const Node *node, LbError *err) {
    (void)err;
    char line[256];
    snprintf(line, sizeof(line), "%s %s\n", nodeTypeName(node->type), path);
    lbBufAppendStr(ctx, line);
    return true;
}

static void test_walk(void **state) {
    (void)state;
    Repo *repo = fixRepoNew();
    LbId a, b;
    twoTrees(repo, &a, &b);
    LbBuf out = {0};
    LbError err = {0};
    assert_true(treeWalk(repo, &b, "/r", walkRecord, &out, &err));
    lbBufAppend(&out, "", 1);
    assert_string_equal((char *)out.data, "file /r/a\nfile /r/m\ndir /r/n\nfile /r/n/f\nsymlink /r/s\ndir /r/t\nfile "
                                          "/r/t/i\n");
    lbBufFree(&out);
    repoFree(repo);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_of_change),
        cmocka_unit_test(test_equal_and_empty),
        cmocka_unit_test(test_stop_and_missing_tree),
        cmocka_unit_test(test_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
