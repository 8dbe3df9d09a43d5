/* target.c - the one tree reader behind every restore target, and the pipe target (restore/target.h). */
#include "restore/target.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "restore/restore.h"

bool restoreLoadTree(Repo *repo, const LbId *id, Tree *t, LbError *err) {
    LbBuf plain = {0};
    bool ok = repoLoadBlob(repo, BLOB_TREE, id, &plain, err) && treeDecode(plain.data, plain.len, t, err);
    lbBufFree(&plain);
    return ok;
}

/* The trees the validating pass of a streaming target decoded, kept for the
 * writing pass in the order they were loaded (the order the writing pass
 * asks for them), up to RESTORE_TREE_CACHE_BYTES of decoded nodes: a tree
 * is decoded once when the snapshot is small, twice beyond, and memory stays
 * bounded either way. LIFEBOAT_RESTORE_TREE_CACHE=BYTES changes the bound
 * (tests: 1 keeps nothing). */
#define RESTORE_TREE_CACHE_BYTES (48u << 20)

typedef struct TreeCache {
    LbId *ids;
    Tree **trees;
    size_t count, cap, next;
    size_t bytes, max;
    bool full; /* a tree did not fit: nothing after it is kept */
} TreeCache;

typedef struct Walk {
    Repo *repo;
    const Target *tg;
    bool validating; /* the first pass of a streaming target */
    TreeCache cache;
} Walk;

static size_t treeCost(const Tree *t) {
    size_t cost = sizeof(Tree) + t->count * sizeof(Node);
    for (size_t i = 0; i < t->count; i++)
        cost += strlen(t->nodes[i].name) + 1 + t->nodes[i].contentCount * sizeof(LbId) + 64;
    return cost;
}

/* The validating pass: keep the loaded tree *t (moved into the cache) when
 * it fits; returns the tree to iterate. */
static Tree *cacheKeep(TreeCache *c, const LbId *id, Tree *t) {
    size_t cost = treeCost(t);
    if (c->full || c->bytes + cost > c->max) {
        c->full = true;
        return t;
    }
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->ids = lbXrealloc(c->ids, c->cap * sizeof(LbId));
        c->trees = lbXrealloc(c->trees, c->cap * sizeof(Tree *));
    }
    Tree *kept = lbXmalloc(sizeof(Tree));
    *kept = *t;
    memset(t, 0, sizeof(*t));
    c->ids[c->count] = *id;
    c->trees[c->count++] = kept;
    c->bytes += cost;
    return kept;
}

/* The writing pass: the cached tree id, taken (the caller frees it), or NULL. */
static Tree *cacheTake(TreeCache *c, const LbId *id) {
    if (c->next >= c->count || !lbIdEqual(&c->ids[c->next], id))
        return NULL;
    Tree *t = c->trees[c->next];
    c->trees[c->next++] = NULL;
    return t;
}

static void cacheFree(TreeCache *c) {
    for (size_t i = 0; i < c->count; i++) {
        if (c->trees[i]) {
            treeFree(c->trees[i]);
            free(c->trees[i]);
        }
    }
    free(c->ids);
    free(c->trees);
    memset(c, 0, sizeof(*c));
}

/* Push the entries of tree id (the directory at snapPrefix, "" for the top)
 * into the target. The validating pass skips a damaged listing silently
 * (the writing pass reports it). */
static bool walkTree(Walk *w, const LbId *id, const char *snapPrefix, size_t depth, LbError *err) {
    const Target *tg = w->tg;
    const TargetInterface *ti = tg->interface;
    if (!treeDepthCheck(depth, snapPrefix, err))
        return false;
    Tree loaded = {0};
    Tree *taken = w->validating ? NULL : cacheTake(&w->cache, id), *t = taken ? taken : &loaded;
    if (taken == NULL && !restoreLoadTree(w->repo, id, &loaded, err)) {
        char hex[LB_ID_HEX_LEN + 1], shown[512];
        lbIdToHex(id, hex);
        lbPrintable(snapPrefix[0] ? snapPrefix : "/", shown, sizeof(shown));
        if (err->code == LB_ERR_UNSAFE_PATH || depth == 0 || ti->damagedDir == NULL)
            return lbErrorWrap(err, "unable to read directory '%s' (tree %.8s)", shown, hex);
        /* a damaged listing loses that directory's contents, not the restore */
        if (w->validating) {
            lbErrorClear(err);
            return true;
        }
        lbLogError("directory '%s' is damaged (tree %.8s): %s", shown, hex, err->msg);
        if (!ti->damagedDir(tg->driver, snapPrefix, err))
            return false;
        lbErrorClear(err);
        return true;
    }
    if (w->validating)
        t = cacheKeep(&w->cache, id, &loaded);
    bool ok = true;
    for (size_t i = 0; i < t->count && ok; i++) {
        Node *n = &t->nodes[i];
        char *snapPath = lbXasprintf("%s/%s", snapPrefix, n->name);
        TargetEntry e = {.node = n, .snapPath = snapPath, .depth = depth};
        if (n->type == NODE_DIR) {
            LbId sub = n->subtree; /* the driver may take the node */
            ok = ti->enter(tg->driver, &e, err);
            if (ok && !e.skip) {
                ok = walkTree(w, &sub, snapPath, depth + 1, err);
                if (ok)
                    ti->leave(tg->driver);
            }
        } else {
            ok = ti->add(tg->driver, &e, err);
        }
        free(snapPath);
    }
    treeFree(&loaded);
    if (taken) {
        treeFree(taken);
        free(taken);
    }
    return ok;
}

/* One pass: push the restored path top and everything below it. */
static bool pushAll(Walk *w, const Node *top, const char *snapPrefix, LbError *err) {
    if (top->type == NODE_DIR)
        return walkTree(w, &top->subtree, snapPrefix, 0, err);
    /* the driver may take the node: give it a copy */
    Node copy = {0};
    nodeCopy(&copy, top);
    TargetEntry e = {.node = &copy, .snapPath = snapPrefix, .single = true};
    bool ok = w->tg->interface->add(w->tg->driver, &e, err);
    nodeClear(&copy);
    return ok;
}

bool restoreTargetRun(Repo *repo, const Snapshot *snap, const char *subpath, const Target *target, LbError *err) {
    Node top = {0};
    if (!restoreFindPath(repo, snap, subpath, &top, err))
        return false;
    /* the snapshot path of the restored root, without trailing slashes; "" for the whole snapshot */
    char *snapPrefix = lbXstrdup(subpath && strcmp(subpath, "/") != 0 ? subpath : "");
    for (size_t l = strlen(snapPrefix); l > 1 && snapPrefix[l - 1] == '/';)
        snapPrefix[--l] = '\0';
    bool streaming = (target->interface->features & TARGET_FEATURE_STREAMING) != 0;
    Walk w = {.repo = repo, .tg = target, .validating = streaming};
    const char *max = getenv("LIFEBOAT_RESTORE_TREE_CACHE");
    w.cache.max = max && *max ? (size_t)strtoull(max, NULL, 10) : RESTORE_TREE_CACHE_BYTES;
    bool ok = !streaming || pushAll(&w, &top, snapPrefix, err);
    if (ok && streaming)
        target->interface->validated(target->driver);
    w.validating = false;
    ok = ok && pushAll(&w, &top, snapPrefix, err);
    cacheFree(&w.cache);
    free(snapPrefix);
    nodeClear(&top);
    return ok && target->interface->finish(target->driver, err);
}

bool restoreFindPath(Repo *repo, const Snapshot *snap, const char *path, Node *node, LbError *err) {
    memset(node, 0, sizeof(*node));
    node->type = NODE_DIR;
    node->subtree = snap->tree;
    node->mode = 0755;
    node->name = lbXstrdup("/");
    if (path == NULL)
        return true;
    char *copy = lbXstrdup(path);
    char *save = NULL;
    bool ok = true;
    for (char *comp = strtok_r(copy, "/", &save); comp && ok; comp = strtok_r(NULL, "/", &save)) {
        if (node->type != NODE_DIR) {
            ok = lbErr(err, LB_ERR_NOT_FOUND, "path '%s' is not in the snapshot ('%s' is not a directory)", path,
                       node->name);
            break;
        }
        Tree t = {0};
        if (!restoreLoadTree(repo, &node->subtree, &t, err)) {
            ok = false;
            break;
        }
        const Node *found = treeFind(&t, comp);
        if (found == NULL) {
            ok = lbErr(err, LB_ERR_NOT_FOUND, "path '%s' is not in the snapshot", path);
        } else {
            nodeClear(node);
            nodeCopy(node, found);
        }
        treeFree(&t);
    }
    free(copy);
    if (!ok)
        nodeClear(node);
    return ok;
}

/* ---- the pipe target: one file, in order, into a descriptor ---- */

typedef struct PipeTarget {
    Repo *repo;
    const char *path;
    int fd;
    Node file; /* taken from the reader */
    bool have;
    uint64_t bytes;
} PipeTarget;

static bool pipeEnter(void *driver, TargetEntry *dir, LbError *err) {
    const PipeTarget *p = driver;
    (void)dir;
    return lbErr(err, LB_ERR_FORMAT, "'%s' in the snapshot is a directory, not a file", p->path);
}

static bool pipeAdd(void *driver, TargetEntry *e, LbError *err) {
    PipeTarget *p = driver;
    if (!e->single || e->node->type != NODE_FILE)
        return lbErr(err, LB_ERR_FORMAT, "'%s' in the snapshot is not a file", p->path);
    p->file = *e->node;
    memset(e->node, 0, sizeof(*e->node));
    p->have = true;
    return true;
}

static void pipeLeave(void *driver) {
    (void)driver;
}

typedef struct FdSink {
    int fd;
    const char *name;
    uint64_t *bytes;
} FdSink;

static int emitToFd(void *ctx, const uint8_t *data, size_t len, LbError *err) {
    FdSink *sink = ctx;
    for (size_t done = 0; done < len;) {
        ssize_t w = write(sink->fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            lbErrSys(err, "unable to write '%s' to its reader", sink->name);
            return -1;
        }
        done += (size_t)w;
        if (sink->bytes)
            *sink->bytes += (uint64_t)w;
    }
    return 1;
}

static bool pipeFinish(void *driver, LbError *err) {
    PipeTarget *p = driver;
    if (!p->have)
        return lbErr(err, LB_ERR_FORMAT, "'%s' in the snapshot is not a file", p->path);
    FdSink sink = {p->fd, p->file.name, &p->bytes};
    return restoreFileStream(p->repo, &p->file, emitToFd, &sink, err);
}

static const TargetInterface pipeTargetInterface = {
    .name = "pipe",
    .features = 0, /* in order, bytes only */
    .enter = pipeEnter,
    .add = pipeAdd,
    .leave = pipeLeave,
    .finish = pipeFinish,
};

bool restoreToFd(Repo *repo, const Snapshot *snap, const char *path, int fd, uint64_t *bytes, LbError *err) {
    PipeTarget p = {.repo = repo, .path = path, .fd = fd};
    Target t = {&pipeTargetInterface, &p};
    bool ok = restoreTargetRun(repo, snap, path, &t, err);
    if (bytes)
        *bytes = p.bytes;
    nodeClear(&p.file);
    return ok;
}

bool restoreFileToFd(Repo *repo, const Node *file, int fd, LbError *err) {
    FdSink sink = {fd, file->name, NULL};
    return restoreFileStream(repo, file, emitToFd, &sink, err);
}
