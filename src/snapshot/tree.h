/*
 * tree.h - file system nodes and the tree blob codec.
 *
 * A tree blob is JSON: {"nodes":[node, ...]} with nodes sorted by name
 * (bytewise) and names unique. Node fields are documented in
 * docs/repository-format.md. Names and link targets that are not valid UTF-8
 * are stored hex-encoded in "name_hex" / "target_hex".
 *
 * Ownership: a Tree owns its nodes and every string and array in them;
 * treeFree releases everything.
 */
#ifndef LIFEBOAT_SNAPSHOT_TREE_H
#define LIFEBOAT_SNAPSHOT_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/id.h"

typedef enum {
    NODE_FILE = 0,
    NODE_DIR,
    NODE_SYMLINK,
    NODE_CHARDEV,
    NODE_BLOCKDEV,
    NODE_FIFO,
    NODE_SOCKET,
} NodeType;

typedef struct Xattr {
    char *name;
    uint8_t *value;
    size_t len;
} Xattr;

typedef struct Node {
    char *name;
    NodeType type;
    uint32_t mode; /* permission bits incl. setuid/setgid/sticky (st_mode & 07777) */
    uint32_t uid, gid;
    char *user, *group; /* may be NULL */
    int64_t mtimeNs, ctimeNs;
    uint64_t inode, device, links, size, rdev;
    char *linkTarget; /* symlink */
    LbId *content;    /* file: blob IDs in order */
    size_t contentCount;
    LbId subtree; /* dir */
    Xattr *xattrs;
    size_t xattrCount;
} Node;

typedef struct Tree {
    Node *nodes;
    size_t count, cap;
} Tree;

const char *nodeTypeName(NodeType type);
/* Free the members of a node (not the node itself). */
void nodeClear(Node *node);
/* Deep copy src into dst. */
void nodeCopy(Node *dst, const Node *src);
/* Deep copy src's xattrs into dst, which has none. */
void nodeCopyXattrs(Node *dst, const Node *src);

/* Append a zeroed node to the tree and return it (valid until the next append). */
Node *treeAppend(Tree *tree);
void treeSort(Tree *tree);
void treeFree(Tree *tree);
/* Binary search by name in a sorted tree; NULL when absent. */
const Node *treeFind(const Tree *tree, const char *name);

/* Encode the (sorted) tree as canonical JSON appended to out. */
void treeEncode(const Tree *tree, LbBuf *out);
/* Decode and validate: unique names in strictly increasing order, no name
 * that is empty, ".", ".." or contains '/' or NUL (LB_ERR_UNSAFE_PATH). */
bool treeDecode(const uint8_t *data, size_t len, Tree *tree, LbError *err);

/* Is name safe as one path component? */
bool treeNameIsSafe(const char *name);

/* Trees nest at most TREE_DEPTH_MAX directories below a snapshot's root.
 * The backup does not descend deeper (such a directory is stored empty and
 * reported, exit 3), and every reader refuses a deeper tree with an error
 * instead of exhausting its stack on a hand-made one (docs/repository-
 * format.md). */
#define TREE_DEPTH_MAX 1000

/* The depth of a path of a walk ("" = 0, "/a" = 1, "/a/b" = 2). */
size_t treePathDepth(const char *path);
/* false with LB_ERR_FORMAT naming path when depth is beyond TREE_DEPTH_MAX */
bool treeDepthCheck(size_t depth, const char *path, LbError *err);

#endif
