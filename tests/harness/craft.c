/*
 * craft.c - lb-craft: write hostile snapshots into a repository, for tests.
 *
 * usage: lb-craft REPO KIND [PATH]          (password from LIFEBOAT_PASSWORD)
 *        lb-craft REPO locate SNAP PATH
 * REPO is a directory or an s3: location (credentials, region, ... from the
 * environment, like lifeboat's).
 *
 * Opens REPO, builds a tree with the Tree/Node API, encodes it with
 * treeEncode (which does not validate names), stores the blobs through a
 * BlobSaver exactly like the archiver does, and writes a snapshot whose root
 * is the crafted tree. Prints the new snapshot ID (64 hex digits) on stdout.
 *
 * Every crafted root starts with a harmless file "!first" that sorts before
 * every hostile name: a restorer that validates lazily would write it before
 * meeting the hostile node, so a test can see "nothing was written at all".
 *
 * Kinds:
 *   dotdot          dir ".." holding file "pwned", then file "../escape"
 *   slash           empty dir "a", then file "a/b"
 *   absolute        file named PATH (default /tmp/lb-abs-<pid>), an absolute path
 *   symlink-escape  symlink "evil" -> PATH (an outside directory), then a
 *                   directory also named "evil" holding file "pwned"
 *                   (duplicate names, symlink first)
 *   nested-symlink  the symlink-escape pair one level down, inside dir "d":
 *                   validation must cover subtrees before anything is written
 *   hex-slash       file named "\xff/../../pwned": not UTF-8, so treeEncode
 *                   stores it as name_hex, the path a decoder must validate too
 *   ctrl-name       file named ESC "]0;owned" BEL ESC "[2J/x": unsafe ('/'), and
 *                   full of terminal control codes an error message must not
 *                   replay to the user's terminal
 *   empty-name      file named ""
 *   dot             dir "." holding file "pwned"
 *   deep            PATH (default 100000) directories "d" nested in each other,
 *                   a file "bottom" in the innermost: a tree deeper than any
 *                   walker may recurse (issue 10 item 5)
 *   benign          a legitimate tree: symlink "evil" -> PATH (never followed),
 *                   dir "sub" holding file "pwned"; restores without error
 *
 * locate: print where the blob behind PATH of snapshot SNAP (an ID prefix or
 * "latest") is stored, as "PACKNAME OFFSET LENGTH TYPE ID": the tree blob of a
 * directory, the first content blob of a file. Lets corruption tests damage
 * one chosen blob.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/id.h"
#include "common/timeutil.h"
#include "config/storage_env.h"
#include "repo/repo.h"
#include "repo/saver.h"
#include "restore/restore.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"
#include "storage/storage.h"

/* Every kind craftBuild knows, for checking the argument before any write. */
static const char *const craftKinds[] = {
    "dotdot", "slash",  "absolute", "symlink-escape", "nested-symlink", "hex-slash", "ctrl-name", "empty-name",
    "dot",    "benign", "deep"};

static bool craftKindKnown(const char *kind) {
    for (size_t i = 0; i < sizeof(craftKinds) / sizeof(craftKinds[0]); i++)
        if (strcmp(kind, craftKinds[i]) == 0)
            return true;
    return false;
}

/* The content of every crafted file. */
static const char craftPayload[] = "written by lb-craft\n";

typedef struct Craft {
    Repo *repo;
    BlobSaver *saver;
    LbId payload;        /* data blob holding craftPayload */
    const char *outside; /* PATH argument: absolute name or symlink target */
} Craft;

/* ---- node builders (the tree takes ownership of every string) ---- */

static Node *craftNode(Tree *t, const char *name, NodeType type, uint32_t mode) {
    Node *n = treeAppend(t);
    n->name = lbXstrdup(name);
    n->type = type;
    n->mode = mode;
    n->uid = (uint32_t)getuid();
    n->gid = (uint32_t)getgid();
    n->mtimeNs = n->ctimeNs = lbNowNs();
    n->links = 1;
    return n;
}

static void craftFile(Craft *c, Tree *t, const char *name) {
    Node *n = craftNode(t, name, NODE_FILE, 0644);
    n->size = sizeof(craftPayload) - 1;
    n->contentCount = 1;
    n->content = lbXmalloc(sizeof(LbId));
    n->content[0] = c->payload;
}

static void craftDir(Tree *t, const char *name, const LbId *subtree) {
    Node *n = craftNode(t, name, NODE_DIR, 0755);
    n->subtree = *subtree;
}

static void craftSymlink(Tree *t, const char *name, const char *target) {
    Node *n = craftNode(t, name, NODE_SYMLINK, 0777);
    n->linkTarget = lbXstrdup(target);
}

/* ---- blobs ---- */

/* Encode t as is (no sorting, no validation), queue it as a tree blob, put
 * its ID in *id, and free the tree. Like the archiver's finishDir. */
static void craftSaveTree(Craft *c, Tree *t, LbId *id) {
    LbBuf json = {0};
    treeEncode(t, &json);
    repoBlobId(c->repo, json.data, json.len, id);
    size_t len;
    uint8_t *data = lbBufTake(&json, &len);
    saverSubmitTake(c->saver, BLOB_TREE, data, len, NULL, NULL);
    treeFree(t);
}

/* Store the payload data blob and wait for its ID. */
static void craftSavePayload(Craft *c) {
    size_t len = sizeof(craftPayload) - 1;
    uint8_t *data = lbXmalloc(len);
    memcpy(data, craftPayload, len);
    saverSubmitTake(c->saver, BLOB_DATA, data, len, &c->payload, NULL);
    saverWait(c->saver);
}

/* A directory tree holding the single file "pwned"; its ID in *id. */
static void craftPwnedDir(Craft *c, LbId *id) {
    Tree t = {0};
    craftFile(c, &t, "pwned");
    craftSaveTree(c, &t, id);
}

/* Append the pair attackers hope a restorer creates in order: symlink
 * "evil" -> outside, then a directory "evil" whose file lands behind it. */
static void craftSymlinkPair(Craft *c, Tree *t) {
    LbId sub;
    craftPwnedDir(c, &sub);
    craftSymlink(t, "evil", c->outside);
    craftDir(t, "evil", &sub);
}

/* ---- kinds ---- */

/* Build the root tree for kind into *root (unsorted: callers append in the
 * exact order they want stored). False for an unknown kind. */
static bool craftBuild(Craft *c, const char *kind, Tree *root) {
    craftFile(c, root, "!first");
    if (strcmp(kind, "dotdot") == 0) {
        LbId sub;
        craftPwnedDir(c, &sub);
        craftDir(root, "..", &sub);
        craftFile(c, root, "../escape");
    } else if (strcmp(kind, "slash") == 0) {
        Tree empty = {0};
        LbId sub;
        craftSaveTree(c, &empty, &sub);
        craftDir(root, "a", &sub);
        craftFile(c, root, "a/b");
    } else if (strcmp(kind, "absolute") == 0) {
        craftFile(c, root, c->outside);
    } else if (strcmp(kind, "symlink-escape") == 0) {
        craftSymlinkPair(c, root);
    } else if (strcmp(kind, "nested-symlink") == 0) {
        Tree d = {0};
        LbId sub;
        craftFile(c, &d, "!first");
        craftSymlinkPair(c, &d);
        craftSaveTree(c, &d, &sub);
        craftDir(root, "d", &sub);
    } else if (strcmp(kind, "hex-slash") == 0) {
        craftFile(c, root, "\xff/../../pwned");
    } else if (strcmp(kind, "ctrl-name") == 0) {
        craftFile(c, root, "\x1b]0;owned\x07\x1b[2J/x");
    } else if (strcmp(kind, "empty-name") == 0) {
        craftFile(c, root, "");
    } else if (strcmp(kind, "dot") == 0) {
        LbId sub;
        craftPwnedDir(c, &sub);
        craftDir(root, ".", &sub);
    } else if (strcmp(kind, "deep") == 0) {
        char *end;
        long levels = strtol(c->outside, &end, 10);
        if (*end != '\0' || levels < 1)
            levels = 100000;
        Tree inner = {0};
        LbId sub;
        craftFile(c, &inner, "bottom");
        craftSaveTree(c, &inner, &sub);
        for (long i = 1; i < levels; i++) {
            Tree t = {0};
            craftDir(&t, "d", &sub);
            craftSaveTree(c, &t, &sub);
        }
        craftDir(root, "d", &sub);
    } else if (strcmp(kind, "benign") == 0) {
        LbId sub;
        craftPwnedDir(c, &sub);
        craftSymlink(root, "evil", c->outside);
        craftDir(root, "sub", &sub);
    } else {
        return false;
    }
    return true;
}

/* Write a snapshot record pointing at tree; its ID in *id. */
static bool craftSnapshot(Craft *c, const char *kind, const LbId *tree, LbId *id, LbError *err) {
    Snapshot snap = {0};
    char host[256] = "unknown";
    gethostname(host, sizeof(host) - 1);
    snap.timeNs = lbNowNs();
    snap.tree = *tree;
    snapshotAddString(&snap.paths, &snap.pathCount, "/crafted");
    snap.hostname = lbXstrdup(host);
    snap.username = lbXstrdup("lb-craft");
    snap.uid = (uint32_t)getuid();
    snap.gid = (uint32_t)getgid();
    snapshotAddString(&snap.tags, &snap.tagCount, "crafted");
    snapshotAddString(&snap.tags, &snap.tagCount, kind);
    bool ok = snapshotSave(c->repo, &snap, err);
    *id = snap.id;
    snapshotClear(&snap);
    return ok;
}

/* Print where the blob behind path in snapshot ref is stored. */
static bool craftLocate(Repo *repo, const char *ref, const char *path, LbError *err) {
    Snapshot snap = {0};
    Node node = {0};
    bool ok = false;
    if (!snapshotFind(repo, ref, NULL, &snap, err) || !restoreFindPath(repo, &snap, path, &node, err))
        goto done;
    LbId id;
    BlobType type;
    if (node.type == NODE_DIR) {
        id = node.subtree;
        type = BLOB_TREE;
    } else if (node.type == NODE_FILE && node.contentCount > 0) {
        id = node.content[0];
        type = BLOB_DATA;
    } else {
        lbErr(err, LB_ERR_ARGS, "'%s' is neither a directory nor a non-empty file", path);
        goto done;
    }
    IndexLoc loc;
    if (!indexLookup(repoIndex(repo), &id, type, &loc)) {
        lbErr(err, LB_ERR_NOT_FOUND, "the blob of '%s' is not in the index", path);
        goto done;
    }
    char pack[80], hex[LB_ID_HEX_LEN + 1];
    repoPackName(indexPackId(repoIndex(repo), loc.pack), pack);
    lbIdToHex(&id, hex);
    printf("%s %u %u %s %s\n", pack, loc.offset, loc.length, type == BLOB_TREE ? "tree" : "data", hex);
    ok = true;
done:
    nodeClear(&node);
    snapshotClear(&snap);
    return ok;
}

static int craftUsage(void) {
    fprintf(stderr, "usage: lb-craft REPO KIND [PATH] | lb-craft REPO locate SNAP PATH\n"
                    "kinds: dotdot slash absolute symlink-escape nested-symlink hex-slash ctrl-name empty-name dot\n"
                    "       benign\n"
                    "password from LIFEBOAT_PASSWORD\n");
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5)
        return craftUsage();
    const char *location = argv[1], *kind = argv[2];
    bool locate = strcmp(kind, "locate") == 0;
    if (locate ? argc != 5 : (argc > 4 || !craftKindKnown(kind)))
        return craftUsage();
    const char *password = getenv("LIFEBOAT_PASSWORD");
    if (password == NULL) {
        fprintf(stderr, "lb-craft: LIFEBOAT_PASSWORD is not set\n");
        return 1;
    }
    char defaultPath[64];
    snprintf(defaultPath, sizeof(defaultPath), "/tmp/lb-abs-%ld", (long)getpid());
    Craft c = {.outside = argc == 4 ? argv[3] : defaultPath};
    if ((strcmp(kind, "symlink-escape") == 0 || strcmp(kind, "nested-symlink") == 0) && argc != 4) {
        fprintf(stderr, "lb-craft: %s needs the outside directory as PATH\n", kind);
        return 1;
    }

    LbError err = {0};
    int rc = 1;
    Tree root = {0};
    /* the environment's storage settings, as lifeboat reads them (an S3
     * repository's credentials and region) */
    StorageOptions opts;
    if (!cfgStorageOptionsFromEnv(&opts, &err))
        goto fail;
    Storage *storage = storageOpen(location, &opts, &err);
    if (storage == NULL)
        goto fail;
    c.repo = repoOpen(storage, password, &err); /* owns storage from here on */
    if (c.repo == NULL || !repoLoadIndex(c.repo, &err))
        goto fail;
    if (locate) {
        if (!craftLocate(c.repo, argv[3], argv[4], &err))
            goto fail;
        rc = 0;
        goto done;
    }
    c.saver = saverNew(c.repo, 1);
    craftSavePayload(&c);
    if (!craftBuild(&c, kind, &root)) {
        lbErr(&err, LB_ERR_ARGS, "unknown kind '%s'", kind); /* unreachable: checked above */
        saverFinish(c.saver, &err);
        goto fail;
    }
    LbId rootId, snapId;
    craftSaveTree(&c, &root, &rootId);
    if (!saverFinish(c.saver, &err) || !craftSnapshot(&c, kind, &rootId, &snapId, &err))
        goto fail;
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snapId, hex);
    printf("%s\n", hex);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "lb-craft: %s\n", err.msg);
done:
    treeFree(&root);
    saverFree(c.saver);
    repoFree(c.repo);
    return rc;
}
