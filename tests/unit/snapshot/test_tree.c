/*
 * test_tree.c - unit tests for src/snapshot/tree (nodes and the tree blob
 * codec).
 *
 * The decoder is the gate every tree from a repository passes before restore
 * turns names into paths, so most of these tests feed it hand-written JSON
 * that a hostile or damaged repository could hold and check the error code:
 * LB_ERR_UNSAFE_PATH for any name problem, LB_ERR_CORRUPT for the rest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/tree.h"

/***********************************************************************************************************************
 * Helpers
 **********************************************************************************************************************/

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static LbId idFrom(uint8_t v) {
    LbId id;
    for (int i = 0; i < LB_ID_LEN; i++)
        id.b[i] = (uint8_t)(v + i * 7);
    return id;
}

static void addXattr(Node *n, const char *name, const uint8_t *value, size_t len) {
    n->xattrs = realloc(n->xattrs, (n->xattrCount + 1) * sizeof(Xattr));
    Xattr *x = &n->xattrs[n->xattrCount++];
    x->name = lbXstrdup(name);
    x->len = len;
    x->value = lbXmalloc(len ? len : 1);
    memcpy(x->value, value, len);
}

static void fillCommon(Node *n, const char *name, NodeType type, uint32_t seed) {
    n->name = lbXstrdup(name);
    n->type = type;
    n->mode = 0644 + seed;
    n->uid = 1000 + seed;
    n->gid = 2000 + seed;
    n->user = lbXasprintf("user%u", seed);
    n->group = lbXasprintf("group%u", seed);
    n->mtimeNs = 1700000000123456789ll + seed;
    n->ctimeNs = 1700000001987654321ll + seed;
    n->inode = 100 + seed;
    n->device = 0x803 + seed;
    n->links = 1 + seed;
}

/* One node of every type, every field set, names in sorted order. */
static void buildFullTree(Tree *t) {
    Node *n = treeAppend(t);
    fillCommon(n, "a-file", NODE_FILE, 1);
    n->mode = 04755; /* setuid survives */
    n->size = 123456789012ull;
    n->contentCount = 3;
    n->content = lbXmalloc(3 * sizeof(LbId));
    n->content[0] = idFrom(1);
    n->content[1] = idFrom(2);
    n->content[2] = idFrom(1); /* repeats are kept */
    static const uint8_t bin[] = {0x00, 0xff, 0x80, 0x0a, 0x00};
    addXattr(n, "user.binary", bin, sizeof(bin));
    addXattr(n, "user.empty", (const uint8_t *)"", 0);
    addXattr(n, "security.selinux", (const uint8_t *)"system_u:object_r:etc_t:s0", 26);

    n = treeAppend(t);
    fillCommon(n, "b-dir", NODE_DIR, 2);
    n->mode = 01777; /* sticky */
    n->subtree = idFrom(9);

    n = treeAppend(t);
    fillCommon(n, "c-link", NODE_SYMLINK, 3);
    n->linkTarget = lbXstrdup("../some/where else");

    n = treeAppend(t);
    fillCommon(n, "d-chr", NODE_CHARDEV, 4);
    n->rdev = (1ull << 8) | 3;

    n = treeAppend(t);
    fillCommon(n, "e-blk", NODE_BLOCKDEV, 5);
    n->rdev = (8ull << 8) | 1;

    n = treeAppend(t);
    fillCommon(n, "f-fifo", NODE_FIFO, 6);
    free(n->user);
    free(n->group);
    n->user = n->group = NULL; /* may be NULL */

    n = treeAppend(t);
    fillCommon(n, "g-sock", NODE_SOCKET, 7);
    n->mtimeNs = -1234567890123ll;    /* before 1970 */
    n->inode = 0xfffffffffffffff0ull; /* above INT64_MAX */
}

static void assertStrEq(const char *a, const char *b) {
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assertNodeEqual(const Node *a, const Node *b) {
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->uid, b->uid);
    assert_int_equal(a->gid, b->gid);
    assertStrEq(a->user, b->user);
    assertStrEq(a->group, b->group);
    assert_true(a->mtimeNs == b->mtimeNs);
    assert_true(a->ctimeNs == b->ctimeNs);
    assert_true(a->inode == b->inode);
    assert_true(a->device == b->device);
    assert_true(a->links == b->links);
    if (a->type == NODE_FILE)
        assert_true(a->size == b->size);
    if (a->type == NODE_CHARDEV || a->type == NODE_BLOCKDEV)
        assert_true(a->rdev == b->rdev);
    if (a->type == NODE_SYMLINK)
        assertStrEq(a->linkTarget, b->linkTarget);
    if (a->type == NODE_DIR)
        assert_memory_equal(a->subtree.b, b->subtree.b, LB_ID_LEN);
    assert_int_equal(a->contentCount, b->contentCount);
    if (a->contentCount)
        assert_memory_equal(a->content, b->content, a->contentCount * sizeof(LbId));
    assert_int_equal(a->xattrCount, b->xattrCount);
    for (size_t i = 0; i < a->xattrCount; i++) {
        assert_string_equal(a->xattrs[i].name, b->xattrs[i].name);
        assert_int_equal(a->xattrs[i].len, b->xattrs[i].len);
        if (a->xattrs[i].len)
            assert_memory_equal(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len);
    }
}

static void assertTreeEqual(const Tree *a, const Tree *b) {
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++)
        assertNodeEqual(&a->nodes[i], &b->nodes[i]);
}

/* Decode text, expect failure with code, and an empty tree afterwards. */
static void expectDecodeFails(const char *json, LbErrorCode code) {
    Tree t = {0};
    LbError err = {0};
    bool ok = treeDecode((const uint8_t *)json, strlen(json), &t, &err);
    if (ok || err.code != code)
        print_error("input: %s\nok=%d code=%d msg=%s\n", json, ok, err.code, err.msg);
    assert_false(ok);
    assert_int_equal(err.code, code);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(t.count, 0);
    assert_null(t.nodes);
}

static void expectDecodeOk(const char *json, Tree *t) {
    LbError err = {0};
    bool ok = treeDecode((const uint8_t *)json, strlen(json), t, &err);
    if (!ok)
        print_error("input: %s\nmsg=%s\n", json, err.msg);
    assert_true(ok);
}

/* A minimal valid node object with the given name member and type. */
#define NODE(nameMember, type) "{" nameMember ",\"type\":\"" type "\",\"mode\":420,\"uid\":0,\"gid\":0}"
#define FILE_NODE(nameMember) "{" nameMember ",\"type\":\"file\",\"content\":[]}"
#define TREE1(node) "{\"nodes\":[" node "]}"

/***********************************************************************************************************************
 * Round trips
 **********************************************************************************************************************/

/* Every node type with every field set survives encode and decode. */
static void testRoundTripAllTypes(void **state) {
    (void)state;
    Tree t = {0};
    buildFullTree(&t);
    LbBuf buf = {0};
    treeEncode(&t, &buf);
    assert_true(buf.len > 0);
    assert_int_equal(buf.data[buf.len - 1], '\n');

    Tree back = {0};
    LbError err = {0};
    assert_true(treeDecode(buf.data, buf.len, &back, &err));
    assertTreeEqual(&t, &back);
    assert_int_equal(back.nodes[0].mode, 04755);
    assert_int_equal(back.nodes[1].mode, 01777);
    assert_null(back.nodes[5].user);
    assert_true(back.nodes[6].mtimeNs < 0);
    treeFree(&back);
    treeFree(&t);
    assert_null(t.nodes);
    assert_int_equal(t.count, 0);
    lbBufFree(&buf);
}

/* The encoding is canonical: encoding twice gives the same bytes, and so
 * does decode + encode, also from a hand-written equivalent with other key
 * order, whitespace and unknown members. */
static void testCanonical(void **state) {
    (void)state;
    Tree t = {0};
    buildFullTree(&t);
    LbBuf a = {0}, b = {0}, c = {0};
    treeEncode(&t, &a);
    treeEncode(&t, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);

    Tree back = {0};
    LbError err = {0};
    assert_true(treeDecode(a.data, a.len, &back, &err));
    treeEncode(&back, &c);
    assert_int_equal(a.len, c.len);
    assert_memory_equal(a.data, c.data, a.len);
    treeFree(&back);
    treeFree(&t);
    lbBufFree(&a);
    lbBufFree(&b);
    lbBufFree(&c);

    /* a reordered, spaced-out equivalent re-encodes to the canonical form */
    Tree one = {0};
    Node *n = treeAppend(&one);
    n->name = lbXstrdup("x");
    n->type = NODE_DIR;
    n->mode = 0755;
    n->subtree = idFrom(3);
    LbBuf canon = {0}, again = {0};
    treeEncode(&one, &canon);
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&n->subtree, hex);
    char *text = lbXasprintf("{ \"extra\": 1, \"nodes\": [ { \"subtree\": \"%s\", \"mode\": 493, \"type\": \"dir\", "
                             "\"future_field\": [1,2], \"name\": \"x\" } ] }",
                             hex);
    Tree parsed = {0};
    expectDecodeOk(text, &parsed);
    treeEncode(&parsed, &again);
    assert_int_equal(canon.len, again.len);
    assert_memory_equal(canon.data, again.data, canon.len);
    free(text);
    treeFree(&parsed);
    treeFree(&one);
    lbBufFree(&canon);
    lbBufFree(&again);
}

/* Names, symlink targets and user/group names that are not valid UTF-8 are
 * stored hex-encoded and come back byte for byte. */
static void testNonUtf8Names(void **state) {
    (void)state;
    Tree t = {0};
    Node *n = treeAppend(&t);
    n->name = lbXstrdup("caf\xe9"); /* Latin-1 */
    n->type = NODE_SYMLINK;
    n->linkTarget = lbXstrdup("\xff\xfe/target");
    n->user = lbXstrdup("\xc3\x28");
    n->group = lbXstrdup("ok");
    n = treeAppend(&t);
    n->name = lbXstrdup("plain");
    n->type = NODE_FILE;
    n = treeAppend(&t);
    n->name = lbXstrdup("\xc3\xa9t\xc3\xa9"); /* valid UTF-8: stays a JSON string */
    n->type = NODE_FIFO;
    treeSort(&t);
    assert_string_equal(t.nodes[0].name, "caf\xe9");
    assert_string_equal(t.nodes[1].name, "plain");

    LbBuf buf = {0};
    treeEncode(&t, &buf);
    lbBufAppend(&buf, "", 1);
    const char *text = (const char *)buf.data;
    assert_non_null(strstr(text, "\"name_hex\":\"636166e9\""));
    assert_non_null(strstr(text, "\"target_hex\":\"fffe2f746172676574\""));
    assert_non_null(strstr(text, "\"user_hex\":\"c328\""));
    assert_non_null(strstr(text, "\"group\":\"ok\""));
    assert_non_null(strstr(text, "\"name\":\"plain\""));

    Tree back = {0};
    LbError err = {0};
    assert_true(treeDecode(buf.data, buf.len - 1, &back, &err));
    assertTreeEqual(&t, &back);
    treeFree(&back);
    treeFree(&t);
    lbBufFree(&buf);
}

/* An extended attribute whose name is not valid UTF-8 (Linux allows any
 * bytes after the namespace prefix, and the archiver stores names as it
 * reads them) must survive the round trip like file names do. */
static void testNonUtf8XattrName(void **state) {
    (void)state;
    Tree t = {0};
    Node *n = treeAppend(&t);
    n->name = lbXstrdup("f");
    n->type = NODE_FILE;
    addXattr(n, "user.\xff\xfe", (const uint8_t *)"v", 1);
    LbBuf buf = {0};
    treeEncode(&t, &buf);
    Tree back = {0};
    LbError err = {0};
    bool ok = treeDecode(buf.data, buf.len, &back, &err);
    if (!ok) {
        print_error("tree written by treeEncode is refused by treeDecode: %s\n", err.msg);
        treeFree(&t); /* keep the sanitizer run about the finding, not the test */
        lbBufFree(&buf);
    }
    assert_true(ok);
    assertTreeEqual(&t, &back);
    treeFree(&back);
    treeFree(&t);
    lbBufFree(&buf);
}

/* An empty tree encodes to {"nodes":[]} and decodes to zero nodes. */
static void testEmptyTree(void **state) {
    (void)state;
    Tree t = {0};
    LbBuf buf = {0};
    treeEncode(&t, &buf);
    assert_int_equal(buf.len, strlen("{\"nodes\":[]}\n"));
    assert_memory_equal(buf.data, "{\"nodes\":[]}\n", buf.len);
    Tree back = {0};
    LbError err = {0};
    assert_true(treeDecode(buf.data, buf.len, &back, &err));
    assert_int_equal(back.count, 0);
    treeFree(&back);
    lbBufFree(&buf);
    treeFree(NULL);
}

/* A symlink without a target is encoded with target "" (decodable). */
static void testSymlinkNullTarget(void **state) {
    (void)state;
    Tree t = {0};
    Node *n = treeAppend(&t);
    n->name = lbXstrdup("l");
    n->type = NODE_SYMLINK;
    LbBuf buf = {0};
    treeEncode(&t, &buf);
    Tree back = {0};
    LbError err = {0};
    assert_true(treeDecode(buf.data, buf.len, &back, &err));
    assert_string_equal(back.nodes[0].linkTarget, "");
    treeFree(&back);
    treeFree(&t);
    lbBufFree(&buf);
}

/***********************************************************************************************************************
 * Decoder refusals
 **********************************************************************************************************************/

/* Names that cannot be one path component are UNSAFE_PATH, whether given as
 * "name" or "name_hex", and so is a missing name. */
static void testUnsafeNames(void **state) {
    (void)state;
    expectDecodeFails(TREE1(FILE_NODE("\"name\":\"\"")), LB_ERR_UNSAFE_PATH);
    expectDecodeFails(TREE1(FILE_NODE("\"name\":\".\"")), LB_ERR_UNSAFE_PATH);
    expectDecodeFails(TREE1(FILE_NODE("\"name\":\"..\"")), LB_ERR_UNSAFE_PATH);
    expectDecodeFails(TREE1(FILE_NODE("\"name\":\"a/b\"")), LB_ERR_UNSAFE_PATH);
    expectDecodeFails(TREE1(FILE_NODE("\"name\":\"/etc\"")), LB_ERR_UNSAFE_PATH);
    expectDecodeFails(TREE1(FILE_NODE("\"name\":\"x/\"")), LB_ERR_UNSAFE_PATH);
    expectDecodeFails(TREE1(FILE_NODE("\"name_hex\":\"2e2e\"")), LB_ERR_UNSAFE_PATH);   /* ".." */
    expectDecodeFails(TREE1(FILE_NODE("\"name_hex\":\"612f62\"")), LB_ERR_UNSAFE_PATH); /* "a/b" */
    expectDecodeFails(TREE1(FILE_NODE("\"name_hex\":\"\"")), LB_ERR_UNSAFE_PATH);       /* "" */
    expectDecodeFails(TREE1(FILE_NODE("\"name_hex\":\"6100\"")), LB_ERR_UNSAFE_PATH);   /* NUL inside */
    expectDecodeFails(TREE1(FILE_NODE("\"name_hex\":\"61zz\"")), LB_ERR_UNSAFE_PATH);   /* not hex */
    expectDecodeFails(TREE1(FILE_NODE("\"name_hex\":\"616\"")), LB_ERR_UNSAFE_PATH);    /* odd length */
    expectDecodeFails(TREE1(FILE_NODE("\"name\":5")), LB_ERR_UNSAFE_PATH);              /* not a string */
    expectDecodeFails(TREE1("{\"type\":\"file\",\"content\":[]}"), LB_ERR_UNSAFE_PATH); /* no name */
    expectDecodeFails("{\"nodes\":[5]}", LB_ERR_UNSAFE_PATH);                           /* not an object */
    /* a bad name after good ones: the good nodes are released too */
    expectDecodeFails("{\"nodes\":[" FILE_NODE("\"name\":\"a\"") "," FILE_NODE("\"name\":\"b\"") "," FILE_NODE(
                          "\"name\":\"..\"") "]}",
                      LB_ERR_UNSAFE_PATH);
    /* names with dots that are not "." or ".." are fine */
    Tree t = {0};
    expectDecodeOk("{\"nodes\":[" FILE_NODE("\"name\":\"...\"") "," FILE_NODE("\"name\":\".hidden\"") "]}", &t);
    assert_int_equal(t.count, 2);
    treeFree(&t);
}

/* Duplicate names and names out of (bytewise) order are UNSAFE_PATH: a
 * second entry with the same name could redirect a restore. */
static void testDuplicateAndOrder(void **state) {
    (void)state;
    expectDecodeFails("{\"nodes\":[" FILE_NODE("\"name\":\"a\"") "," FILE_NODE("\"name\":\"a\"") "]}",
                      LB_ERR_UNSAFE_PATH);
    /* the same name once as "name" and once as "name_hex" */
    expectDecodeFails("{\"nodes\":[" FILE_NODE("\"name\":\"a\"") "," FILE_NODE("\"name_hex\":\"61\"") "]}",
                      LB_ERR_UNSAFE_PATH);
    expectDecodeFails("{\"nodes\":[" FILE_NODE("\"name\":\"b\"") "," FILE_NODE("\"name\":\"a\"") "]}",
                      LB_ERR_UNSAFE_PATH);
    expectDecodeFails(
        "{\"nodes\":[" FILE_NODE("\"name\":\"a\"") "," FILE_NODE("\"name\":\"c\"") "," FILE_NODE("\"name\":\"b\"") "]}",
        LB_ERR_UNSAFE_PATH);
    /* bytewise: 0xe9 sorts after 'z' */
    expectDecodeFails("{\"nodes\":[" FILE_NODE("\"name_hex\":\"e9\"") "," FILE_NODE("\"name\":\"z\"") "]}",
                      LB_ERR_UNSAFE_PATH);
    Tree t = {0};
    expectDecodeOk("{\"nodes\":[" FILE_NODE("\"name\":\"z\"") "," FILE_NODE("\"name_hex\":\"e9\"") "]}", &t);
    assert_int_equal(t.count, 2);
    treeFree(&t);
}

/* Structure and field errors are CORRUPT. */
static void testCorrupt(void **state) {
    (void)state;
    expectDecodeFails("", LB_ERR_CORRUPT);
    expectDecodeFails("not json", LB_ERR_CORRUPT);
    expectDecodeFails("{\"nodes\":[", LB_ERR_CORRUPT);
    expectDecodeFails("{}", LB_ERR_CORRUPT);
    expectDecodeFails("{\"nodes\":{}}", LB_ERR_CORRUPT);
    expectDecodeFails("[]", LB_ERR_CORRUPT);
    /* unknown or missing type */
    expectDecodeFails(TREE1(NODE("\"name\":\"a\"", "door")), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1(NODE("\"name\":\"a\"", "FILE")), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"a\"}"), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"a\",\"type\":3}"), LB_ERR_CORRUPT);
    /* bad content IDs */
    expectDecodeFails(TREE1("{\"name\":\"a\",\"type\":\"file\",\"content\":[\"abc\"]}"), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"a\",\"type\":\"file\",\"content\":[\"" HEX_A "\",\"" HEX_A "0\"]}"),
                      LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"a\",\"type\":\"file\",\"content\":[\"" HEX_A "\",\"zz" HEX_A "\"]}"),
                      LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"a\",\"type\":\"file\",\"content\":[\"gggggggggggggggggggggggggggggggggggg"
                            "gggggggggggggggggggggggggggg\"]}"),
                      LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"a\",\"type\":\"file\",\"content\":[42]}"), LB_ERR_CORRUPT);
    /* bad subtree */
    expectDecodeFails(TREE1("{\"name\":\"d\",\"type\":\"dir\"}"), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"d\",\"type\":\"dir\",\"subtree\":\"\"}"), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"d\",\"type\":\"dir\",\"subtree\":\"" HEX_A "a\"}"), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"d\",\"type\":\"dir\",\"subtree\":\"x" HEX_A "\"}"), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"d\",\"type\":\"dir\",\"subtree\":null}"), LB_ERR_CORRUPT);
    /* symlink without a usable target */
    expectDecodeFails(TREE1("{\"name\":\"l\",\"type\":\"symlink\"}"), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"l\",\"type\":\"symlink\",\"target_hex\":\"zz\"}"), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"l\",\"type\":\"symlink\",\"target_hex\":\"610062\"}"), LB_ERR_CORRUPT);
    /* bad xattrs */
    expectDecodeFails(TREE1("{\"name\":\"f\",\"type\":\"fifo\",\"xattrs\":[{\"value_hex\":\"00\"}]}"), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"f\",\"type\":\"fifo\",\"xattrs\":[{\"name\":\"user.a\"}]}"), LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"f\",\"type\":\"fifo\",\"xattrs\":[{\"name\":\"user.a\",\"value_hex\":"
                            "\"abc\"}]}"),
                      LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"f\",\"type\":\"fifo\",\"xattrs\":[{\"name\":\"user.a\",\"value_hex\":"
                            "\"00\"},{\"name\":\"user.b\",\"value_hex\":\"0g\"}]}"),
                      LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"f\",\"type\":\"fifo\",\"xattrs\":[{\"name_hex\":\"zz\",\"value_hex\":"
                            "\"00\"}]}"),
                      LB_ERR_CORRUPT);
    expectDecodeFails(TREE1("{\"name\":\"f\",\"type\":\"fifo\",\"xattrs\":[{\"name_hex\":\"6100\",\"value_hex\":"
                            "\"00\"}]}"),
                      LB_ERR_CORRUPT); /* NUL inside an xattr name */
    /* an error in a later node releases the earlier, complete ones */
    expectDecodeFails("{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"content\":[\"" HEX_A
                      "\"],\"xattrs\":[{\"name\":\"user.x\",\"value_hex\":\"0102\"}]},"
                      "{\"name\":\"b\",\"type\":\"dir\",\"subtree\":\"nope\"}]}",
                      LB_ERR_CORRUPT);

    /* the same shapes, valid, are accepted with their values */
    Tree t = {0};
    expectDecodeOk(
        "{\"nodes\":[{\"name\":\"a\",\"type\":\"file\",\"content\":[\"" HEX_A "\",\"" HEX_B
        "\"]},{\"name\":\"d\",\"type\":\"dir\",\"subtree\":\"" HEX_B
        "\"},{\"name\":\"f\",\"type\":\"fifo\",\"xattrs\":[{\"name\":\"user.a\",\"value_hex\":\"00FF\"}]},"
        "{\"name\":\"l\",\"type\":\"symlink\",\"target_hex\":\"2f746d70\"},"
        "{\"name\":\"x\",\"type\":\"fifo\",\"xattrs\":[{\"name_hex\":\"757365722eff\",\"value_hex\":\"\"}]}]}",
        &t);
    assert_int_equal(t.count, 5);
    assert_string_equal(t.nodes[4].xattrs[0].name, "user.\xff");
    assert_int_equal(t.nodes[4].xattrs[0].len, 0);
    assert_int_equal(t.nodes[0].contentCount, 2);
    assert_int_equal(t.nodes[0].content[0].b[0], 0xaa);
    assert_int_equal(t.nodes[0].content[1].b[31], 0xef);
    assert_int_equal(t.nodes[1].subtree.b[0], 0x01);
    assert_int_equal(t.nodes[2].xattrs[0].len, 2);
    assert_int_equal(t.nodes[2].xattrs[0].value[1], 0xff);
    assert_string_equal(t.nodes[3].linkTarget, "/tmp");
    treeFree(&t);
}

/* mode keeps only permission bits (st_mode & 07777). */
static void testModeMasked(void **state) {
    (void)state;
    Tree t = {0};
    expectDecodeOk(TREE1("{\"name\":\"a\",\"type\":\"fifo\",\"mode\":4607}"), &t); /* 010777 */
    assert_int_equal(t.nodes[0].mode, 0777);
    treeFree(&t);
}

/***********************************************************************************************************************
 * Helpers on trees and nodes
 **********************************************************************************************************************/

/* treeFind finds every name of a sorted tree and nothing else: before the
 * first, after the last, between neighbours, prefixes, empty tree. */
static void testTreeFind(void **state) {
    (void)state;
    Tree t = {0};
    assert_null(treeFind(&t, "a"));
    for (int i = 99; i >= 0; i--) {
        Node *n = treeAppend(&t);
        n->name = lbXasprintf("n%03d", i * 2);
        n->type = NODE_FILE;
    }
    treeSort(&t);
    for (size_t i = 1; i < t.count; i++)
        assert_true(strcmp(t.nodes[i - 1].name, t.nodes[i].name) < 0);
    for (int i = 0; i < 100; i++) {
        char name[16], odd[16];
        snprintf(name, sizeof(name), "n%03d", i * 2);
        snprintf(odd, sizeof(odd), "n%03d", i * 2 + 1);
        const Node *n = treeFind(&t, name);
        assert_non_null(n);
        assert_string_equal(n->name, name);
        assert_ptr_equal(n, &t.nodes[i]);
        assert_null(treeFind(&t, odd));
    }
    assert_null(treeFind(&t, ""));
    assert_null(treeFind(&t, "a"));
    assert_null(treeFind(&t, "z"));
    assert_null(treeFind(&t, "n"));
    assert_null(treeFind(&t, "n0000"));
    treeFree(&t);

    Tree one = {0};
    treeAppend(&one)->name = lbXstrdup("only");
    assert_non_null(treeFind(&one, "only"));
    assert_null(treeFind(&one, "onl"));
    assert_null(treeFind(&one, "onlyx"));
    treeFree(&one);
}

/* nodeCopy is deep: the copy owns its own strings and arrays and stays
 * intact after the original is changed and cleared. */
static void testNodeCopyDeep(void **state) {
    (void)state;
    Tree t = {0};
    buildFullTree(&t);
    Tree ref = {0};
    buildFullTree(&ref); /* an identical, independent tree to compare with */
    Node copies[7];
    for (size_t i = 0; i < t.count; i++) {
        nodeCopy(&copies[i], &t.nodes[i]);
        assert_ptr_not_equal(copies[i].name, t.nodes[i].name);
        if (t.nodes[i].user)
            assert_ptr_not_equal(copies[i].user, t.nodes[i].user);
        if (t.nodes[i].content)
            assert_ptr_not_equal(copies[i].content, t.nodes[i].content);
        if (t.nodes[i].xattrs) {
            assert_ptr_not_equal(copies[i].xattrs, t.nodes[i].xattrs);
            assert_ptr_not_equal(copies[i].xattrs[0].value, t.nodes[i].xattrs[0].value);
        }
    }
    /* scribble over the originals, then free them */
    for (size_t i = 0; i < t.count; i++) {
        Node *n = &t.nodes[i];
        n->name[0] = 'Z';
        if (n->user)
            n->user[0] = 'Z';
        if (n->linkTarget)
            n->linkTarget[0] = 'Z';
        for (size_t k = 0; k < n->contentCount; k++)
            memset(n->content[k].b, 0, LB_ID_LEN);
        for (size_t k = 0; k < n->xattrCount; k++)
            if (n->xattrs[k].len)
                n->xattrs[k].value[0] ^= 0xff;
    }
    treeFree(&t);
    for (size_t i = 0; i < ref.count; i++) {
        assertNodeEqual(&ref.nodes[i], &copies[i]);
        nodeClear(&copies[i]);
        assert_null(copies[i].name);
        assert_int_equal(copies[i].xattrCount, 0);
    }
    treeFree(&ref);
}

/* treeNameIsSafe and nodeTypeName. */
static void testNameSafeAndTypeNames(void **state) {
    (void)state;
    assert_false(treeNameIsSafe(NULL));
    assert_false(treeNameIsSafe(""));
    assert_false(treeNameIsSafe("."));
    assert_false(treeNameIsSafe(".."));
    assert_false(treeNameIsSafe("a/b"));
    assert_false(treeNameIsSafe("/"));
    assert_true(treeNameIsSafe("..."));
    assert_true(treeNameIsSafe("a\\b"));
    assert_true(treeNameIsSafe("\xff"));
    assert_string_equal(nodeTypeName(NODE_FILE), "file");
    assert_string_equal(nodeTypeName(NODE_DIR), "dir");
    assert_string_equal(nodeTypeName(NODE_SYMLINK), "symlink");
    assert_string_equal(nodeTypeName(NODE_CHARDEV), "chardev");
    assert_string_equal(nodeTypeName(NODE_BLOCKDEV), "blockdev");
    assert_string_equal(nodeTypeName(NODE_FIFO), "fifo");
    assert_string_equal(nodeTypeName(NODE_SOCKET), "socket");
    assert_string_equal(nodeTypeName((NodeType)99), "unknown");
    assert_string_equal(nodeTypeName((NodeType)-1), "unknown");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testRoundTripAllTypes),
        cmocka_unit_test(testCanonical),
        cmocka_unit_test(testNonUtf8Names),
        cmocka_unit_test(testNonUtf8XattrName),
        cmocka_unit_test(testEmptyTree),
        cmocka_unit_test(testSymlinkNullTarget),
        cmocka_unit_test(testUnsafeNames),
        cmocka_unit_test(testDuplicateAndOrder),
        cmocka_unit_test(testCorrupt),
        cmocka_unit_test(testModeMasked),
        cmocka_unit_test(testTreeFind),
        cmocka_unit_test(testNodeCopyDeep),
        cmocka_unit_test(testNameSafeAndTypeNames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
