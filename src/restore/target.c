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

/* Push the entries of tree id (the directory at snapPrefix, "" for the top)
 * into the target. validating: the first pass of a streaming target, which
 * skips a damaged listing silently (the second pass reports it). */
static bool walkTree(Repo *repo, const Target *tg, const LbId *id, const char *snapPrefix, size_t depth,
                     bool validating, LbError *err) {
    const TargetInterface *ti = tg->interface;
    if (!treeDepthCheck(depth, snapPrefix, err))
        return false;
    Tree t = {0};
    if (!restoreLoadTree(repo, id, &t, err)) {
        char hex[LB_ID_HEX_LEN + 1], shown[512];
        lbIdToHex(id, hex);
        lbPrintable(snapPrefix[0] ? snapPrefix : "/", shown, sizeof(shown));
        if (err->code == LB_ERR_UNSAFE_PATH || depth == 0 || ti->damagedDir == NULL)
            return lbErrorWrap(err, "unable to read directory '%s' (tree %.8s)", shown, hex);
        /* a damaged listing loses that directory's contents, not the restore */
        if (validating) {
            lbErrorClear(err);
            return true;
        }
        lbLogError("directory '%s' is damaged (tree %.8s): %s", shown, hex, err->msg);
        if (!ti->damagedDir(tg->driver, snapPrefix, err))
            return false;
        lbErrorClear(err);
        return true;
    }
    bool ok = true;
    for (size_t i = 0; i < t.count && ok; i++) {
        Node *n = &t.nodes[i];
        char *snapPath = lbXasprintf("%s/%s", snapPrefix, n->name);
        TargetEntry e = {.node = n, .snapPath = snapPath, .depth = depth};
        if (n->type == NODE_DIR) {
            LbId sub = n->subtree; /* the driver may take the node */
            ok = ti->enter(tg->driver, &e, err);
            if (ok && !e.skip) {
                ok = walkTree(repo, tg, &sub, snapPath, depth + 1, validating, err);
                if (ok)
                    ti->leave(tg->driver);
            }
        } else {
            ok = ti->add(tg->driver, &e, err);
        }
        free(snapPath);
    }
    treeFree(&t);
    return ok;
}

/* One pass: push the restored path top and everything below it. */
static bool pushAll(Repo *repo, const Target *target, const Node *top, const char *snapPrefix, bool validating,
                    LbError *err) {
    if (top->type == NODE_DIR)
        return walkTree(repo, target, &top->subtree, snapPrefix, 0, validating, err);
    /* the driver may take the node: give it a copy */
    Node copy = {0};
    nodeCopy(&copy, top);
    TargetEntry e = {.node = &copy, .snapPath = snapPrefix, .single = true};
    bool ok = target->interface->add(target->driver, &e, err);
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
    bool ok = !streaming || pushAll(repo, target, &top, snapPrefix, true, err);
    if (ok && streaming)
        target->interface->validated(target->driver);
    ok = ok && pushAll(repo, target, &top, snapPrefix, false, err);
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
