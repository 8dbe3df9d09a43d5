/* archiver.c - the backup walk and tree builder. */
#include "archiver/archiver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <pthread.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "repo/saver.h"

#define READ_BUF_SIZE (16u * 1024u * 1024u)

struct ArchiverChunker {
    const Chunker *chunker; /* the repository's, of one profile */
    BlobSaver *saver;
    uint8_t *buf;
    size_t bufSize; /* at least twice the largest chunk */
    atomic_long pending;
};

typedef struct ADir ADir;

typedef struct AEntry {
    Node node;
    ArchiverSlots slots;
    bool useSlots;
    ADir *dir;
    bool hasParentTree;
    LbId parentSubtree;
} AEntry;

struct ADir {
    AEntry *entries;
    size_t count, cap;
};

typedef struct NameCache {
    uint32_t id;
    char *name;
} NameCache;

typedef struct Archiver {
    Repo *repo;
    const ArchiverOptions *opts;
    BlobSaver *saver;
    ArchiverChunker *chunker;
    ArchiverResult *result;
    NameCache *users, *groups;
    size_t userCount, groupCount;
    dev_t rootDev;
    ArchiverProgress progress;
    double lastProgress;
} Archiver;

/* ---- totals for the progress line (ETA): counted by a scanner thread ---- */

static _Atomic uint64_t scanFiles, scanBytes;
static atomic_bool scanStop;

static int scanVisit(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)path;
    (void)ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode)) {
        atomic_fetch_add(&scanFiles, 1);
        atomic_fetch_add(&scanBytes, (uint64_t)st->st_size);
    }
    return atomic_load(&scanStop) ? 1 : 0;
}

typedef struct ScanArgs {
    const ArchiverOptions *opts;
    atomic_bool done;
} ScanArgs;

static void *scanMain(void *arg) {
    ScanArgs *sa = arg;
    for (size_t i = 0; i < sa->opts->pathCount && !atomic_load(&scanStop); i++)
        nftw(sa->opts->paths[i], scanVisit, 32, FTW_PHYS | (sa->opts->oneFileSystem ? FTW_MOUNT : 0));
    atomic_store(&sa->done, true);
    return NULL;
}

static LbId *slotAt(ArchiverSlots *s, size_t i) {
    size_t k = 0;
    while (((size_t)2 << k) - 1 <= i)
        k++;
    size_t base = ((size_t)1 << k) - 1;
    if (s->blocks[k] == NULL)
        s->blocks[k] = lbXcalloc((size_t)1 << k, sizeof(LbId));
    return &s->blocks[k][i - base];
}

void archiverSlotsTake(ArchiverSlots *s, Node *n) {
    n->contentCount = s->count;
    n->content = s->count ? lbXmalloc(s->count * sizeof(LbId)) : NULL;
    for (size_t i = 0; i < s->count; i++)
        n->content[i] = *slotAt(s, i);
    archiverSlotsClear(s);
}

void archiverSlotsClear(ArchiverSlots *s) {
    for (int k = 0; k < ARCHIVER_SLOT_BLOCKS; k++)
        free(s->blocks[k]);
    memset(s, 0, sizeof(*s));
}

static AEntry *dirAppend(ADir *d) {
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->entries = lbXrealloc(d->entries, d->cap * sizeof(AEntry));
    }
    AEntry *e = &d->entries[d->count++];
    memset(e, 0, sizeof(*e));
    return e;
}

static void dirFree(ADir *d) {
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->count; i++) {
        AEntry *e = &d->entries[i];
        nodeClear(&e->node);
        archiverSlotsClear(&e->slots);
        dirFree(e->dir);
    }
    free(d->entries);
    free(d);
}

static AEntry *dirFind(ADir *d, const char *name) {
    for (size_t i = 0; i < d->count; i++)
        if (strcmp(d->entries[i].node.name, name) == 0)
            return &d->entries[i];
    return NULL;
}

static const char *cachedName(NameCache **cache, size_t *count, uint32_t id, bool user) {
    for (size_t i = 0; i < *count; i++)
        if ((*cache)[i].id == id)
            return (*cache)[i].name;
    char *name = NULL;
    if (user) {
        struct passwd *pw = getpwuid(id);
        if (pw)
            name = lbXstrdup(pw->pw_name);
    } else {
        struct group *gr = getgrgid(id);
        if (gr)
            name = lbXstrdup(gr->gr_name);
    }
    *cache = lbXrealloc(*cache, (*count + 1) * sizeof(NameCache));
    (*cache)[*count] = (NameCache){id, name};
    (*count)++;
    return name;
}

static void addUnreadable(Archiver *a, const char *path, const char *reason) {
    ArchiverResult *r = a->result;
    r->unreadable = lbXrealloc(r->unreadable, (r->unreadableCount + 1) * sizeof(char *));
    r->unreadable[r->unreadableCount++] = lbXasprintf("%s: %s", path, reason);
    r->summary.filesUnreadable++;
    lbLogWarn("unable to read '%s': %s", path, reason);
}

static bool excluded(const Archiver *a, const char *path, const char *name) {
    for (size_t i = 0; i < a->opts->excludeCount; i++) {
        const char *pat = a->opts->excludes[i];
        if (strchr(pat, '/') ? fnmatch(pat, path, 0) == 0 : fnmatch(pat, name, 0) == 0)
            return true;
    }
    return false;
}

static void reportProgress(Archiver *a, const char *path, bool force) {
    if (a->opts->progress == NULL)
        return;
    double now = lbMonotonicSeconds();
    if (!force && now - a->lastProgress < 0.2)
        return;
    a->lastProgress = now;
    a->progress.currentPath = path;
    a->progress.filesTotal = atomic_load(&scanFiles);
    a->progress.bytesTotal = atomic_load(&scanBytes);
    a->opts->progress(a->opts->progressCtx, &a->progress);
}

static void fillMeta(Archiver *a, Node *n, const struct stat *st) {
    n->mode = st->st_mode & 07777;
    n->uid = st->st_uid;
    n->gid = st->st_gid;
    const char *u = cachedName(&a->users, &a->userCount, st->st_uid, true);
    const char *g = cachedName(&a->groups, &a->groupCount, st->st_gid, false);
    n->user = u ? lbXstrdup(u) : NULL;
    n->group = g ? lbXstrdup(g) : NULL;
    n->mtimeNs = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    n->ctimeNs = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
    n->inode = st->st_ino;
    n->device = st->st_dev;
    n->links = st->st_nlink;
    if (S_ISREG(st->st_mode)) {
        n->type = NODE_FILE;
        n->size = (uint64_t)st->st_size;
    } else if (S_ISDIR(st->st_mode)) {
        n->type = NODE_DIR;
    } else if (S_ISLNK(st->st_mode)) {
        n->type = NODE_SYMLINK;
    } else if (S_ISCHR(st->st_mode)) {
        n->type = NODE_CHARDEV;
        n->rdev = st->st_rdev;
    } else if (S_ISBLK(st->st_mode)) {
        n->type = NODE_BLOCKDEV;
        n->rdev = st->st_rdev;
    } else if (S_ISFIFO(st->st_mode)) {
        n->type = NODE_FIFO;
    } else {
        n->type = NODE_SOCKET;
    }
}

/* Read extended attributes of path (not following symlinks). Failures other
 * than "not supported" are logged; the node keeps what could be read. */
static void readXattrs(Node *n, const char *path) {
    ssize_t len = llistxattr(path, NULL, 0);
    if (len <= 0)
        return;
    char *names = lbXmalloc((size_t)len);
    len = llistxattr(path, names, (size_t)len);
    for (ssize_t off = 0; len > 0 && off < len; off += (ssize_t)strlen(names + off) + 1) {
        const char *name = names + off;
        ssize_t vlen = lgetxattr(path, name, NULL, 0);
        if (vlen < 0)
            continue;
        uint8_t *value = lbXmalloc((size_t)vlen + 1);
        vlen = lgetxattr(path, name, value, (size_t)vlen);
        if (vlen < 0) {
            free(value);
            continue;
        }
        n->xattrs = lbXrealloc(n->xattrs, (n->xattrCount + 1) * sizeof(Xattr));
        n->xattrs[n->xattrCount++] = (Xattr){lbXstrdup(name), value, (size_t)vlen};
    }
    free(names);
    /* canonical order keeps tree blobs stable between backups */
    for (size_t i = 1; i < n->xattrCount; i++)
        for (size_t k = i; k > 0 && strcmp(n->xattrs[k - 1].name, n->xattrs[k].name) > 0; k--) {
            Xattr t = n->xattrs[k];
            n->xattrs[k] = n->xattrs[k - 1];
            n->xattrs[k - 1] = t;
        }
}

ArchiverChunker *archiverChunkerNew(Repo *repo, BlobSaver *saver, RepoChunkProfile profile) {
    ArchiverChunker *c = lbXcalloc(1, sizeof(*c));
    c->chunker = repoChunker(repo, profile);
    c->saver = saver;
    size_t maxSize = chunkerParams(c->chunker)->maxSize;
    c->bufSize = READ_BUF_SIZE >= 2 * maxSize ? READ_BUF_SIZE : 2 * maxSize;
    c->buf = lbXmalloc(c->bufSize);
    atomic_init(&c->pending, 0);
    return c;
}

void archiverChunkerFree(ArchiverChunker *c) {
    if (c == NULL)
        return;
    free(c->buf);
    free(c);
}

bool archiverChunkStream(ArchiverChunker *c, ArchiverReadFn readFn, void *readCtx, ArchiverSlots *slots,
                         uint64_t *bytesRead, const char **why) {
    const Chunker *ch = c->chunker;
    size_t start = 0, end = 0;
    bool eof = false;
    *bytesRead = 0;
    for (;;) {
        /* cut while the buffer holds a whole chunk: chunkerNext answers 0
         * when the rest may still grow into a longer one */
        size_t n = start < end ? chunkerNext(ch, c->buf + start, end - start, eof) : 0;
        if (n == 0) {
            if (eof)
                return true;
            /* only the unfinished tail moves to the front (the buffer holds
             * at least two maximal chunks, so a whole one always fits) */
            if (start > 0) {
                memmove(c->buf, c->buf + start, end - start);
                end -= start;
                start = 0;
            }
            while (!eof && end < c->bufSize) {
                ssize_t r = readFn(readCtx, c->buf + end, c->bufSize - end, why);
                if (r < 0)
                    return false;
                if (r == 0)
                    eof = true;
                end += (size_t)r;
                *bytesRead += (uint64_t)r;
            }
            continue;
        }
        uint8_t *copy = lbXmalloc(n);
        memcpy(copy, c->buf + start, n);
        LbId *slot = slotAt(slots, slots->count++);
        atomic_fetch_add(&c->pending, 1);
        saverSubmitTake(c->saver, BLOB_DATA, copy, n, slot, &c->pending);
        start += n;
    }
}

/* An open file or stream read by the archiver; counts bytes for progress. */
typedef struct FdReader {
    int fd;
    Archiver *a;
} FdReader;

static ssize_t fdRead(void *ctx, uint8_t *buf, size_t cap, const char **why) {
    FdReader *fr = ctx;
    for (;;) {
        ssize_t r = read(fr->fd, buf, cap);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            *why = strerror(errno);
        else
            fr->a->progress.bytesDone += (uint64_t)r;
        return r;
    }
}

/* Chunk the stream fd into e's slots. Returns false with an errno reason
 * in *why on a read error. */
static bool chunkStream(Archiver *a, int fd, AEntry *e, uint64_t *bytesRead, const char **why) {
    FdReader fr = {fd, a};
    e->useSlots = true;
    return archiverChunkStream(a->chunker, fdRead, &fr, &e->slots, bytesRead, why);
}

static bool loadTree(Archiver *a, const LbId *id, Tree *t) {
    LbBuf plain = {0};
    LbError err = {0};
    bool ok = repoLoadBlob(a->repo, BLOB_TREE, id, &plain, &err) && treeDecode(plain.data, plain.len, t, &err);
    lbBufFree(&plain);
    if (!ok) {
        lbLogWarn("unable to load parent tree (reading every file): %s", err.msg);
        treeFree(t);
    }
    return ok;
}

static bool sameFile(const Node *n, const Node *p) {
    return p != NULL && p->type == NODE_FILE && n->size == p->size && n->mtimeNs == p->mtimeNs &&
           n->ctimeNs == p->ctimeNs && n->inode == p->inode;
}

static void walkDir(Archiver *a, const char *path, ADir *dir, const Tree *parentTree);

/* Fill entry e for path (already lstat'ed into st) and descend. Returns false
 * when the entry must be dropped (unreadable). */
static bool processEntry(Archiver *a, const char *path, AEntry *e, const struct stat *st, const Node *parentNode) {
    fillMeta(a, &e->node, st);
    Node *n = &e->node;
    /* an xattr change updates ctime: an unchanged file keeps its parent's xattrs */
    bool unchanged = n->type == NODE_FILE && !a->opts->force && sameFile(n, parentNode);
    if (unchanged)
        nodeCopyXattrs(n, parentNode);
    else
        readXattrs(n, path);
    if (n->type == NODE_SYMLINK) {
        char target[PATH_MAX + 1];
        ssize_t len = readlink(path, target, PATH_MAX);
        if (len < 0) {
            addUnreadable(a, path, strerror(errno));
            return false;
        }
        target[len] = '\0';
        n->linkTarget = lbXstrdup(target);
    } else if (n->type == NODE_FILE) {
        a->progress.filesDone++;
        if (unchanged) {
            n->contentCount = parentNode->contentCount;
            if (n->contentCount) {
                n->content = lbXmalloc(n->contentCount * sizeof(LbId));
                memcpy(n->content, parentNode->content, n->contentCount * sizeof(LbId));
            }
            a->result->summary.filesUnmodified++;
            a->progress.bytesDone += n->size;
        } else {
            int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);
            if (fd < 0 && errno == EPERM)
                fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                addUnreadable(a, path, strerror(errno));
                return false;
            }
            posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
            uint64_t got = 0;
            const char *why = NULL;
            bool ok = chunkStream(a, fd, e, &got, &why);
            close(fd);
            if (!ok) {
                addUnreadable(a, path, why);
                return false;
            }
            n->size = got; /* what was read is what the snapshot holds */
            if (parentNode && parentNode->type == NODE_FILE)
                a->result->summary.filesChanged++;
            else
                a->result->summary.filesNew++;
        }
        a->result->summary.totalFiles++;
        a->result->summary.totalBytes += n->size;
        reportProgress(a, path, false);
    } else if (n->type == NODE_DIR) {
        e->dir = lbXcalloc(1, sizeof(ADir));
        Tree pt = {0};
        if (parentNode && parentNode->type == NODE_DIR) {
            e->hasParentTree = true;
            e->parentSubtree = parentNode->subtree;
            loadTree(a, &parentNode->subtree, &pt);
        }
        if (a->opts->oneFileSystem && st->st_dev != a->rootDev)
            lbLogInfo("not descending into '%s': other file system", path);
        else
            walkDir(a, path, e->dir, &pt);
        treeFree(&pt);
    }
    return true;
}

static int cmpName(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void walkDir(Archiver *a, const char *path, ADir *dir, const Tree *parentTree) {
    DIR *d = opendir(path);
    if (d == NULL) {
        addUnreadable(a, path, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 32;
            names = lbXrealloc(names, cap * sizeof(char *));
        }
        names[count++] = lbXstrdup(de->d_name);
    }
    closedir(d);
    if (count > 1)
        qsort(names, count, sizeof(char *), cmpName);
    for (size_t i = 0; i < count; i++) {
        char *child = strcmp(path, "/") == 0 ? lbXasprintf("/%s", names[i]) : lbXasprintf("%s/%s", path, names[i]);
        if (!excluded(a, child, names[i])) {
            struct stat st;
            if (lstat(child, &st) != 0) {
                addUnreadable(a, child, strerror(errno));
            } else {
                AEntry *e = dirAppend(dir);
                e->node.name = lbXstrdup(names[i]);
                const Node *pn = parentTree ? treeFind(parentTree, names[i]) : NULL;
                if (!processEntry(a, child, e, &st, pn)) {
                    nodeClear(&e->node);
                    if (e->slots.count > 0)
                        saverWait(a->saver); /* workers may still write IDs into the slots */
                    archiverSlotsClear(&e->slots);
                    dirFree(e->dir);
                    dir->count--;
                }
            }
        }
        free(child);
        free(names[i]);
    }
    free(names);
}

/* Encode dir bottom-up, queue its tree blob, return its ID in *id. */
static void finishDir(Archiver *a, ADir *dir, LbId *id) {
    Tree t = {0};
    for (size_t i = 0; i < dir->count; i++) {
        AEntry *e = &dir->entries[i];
        if (e->useSlots)
            archiverSlotsTake(&e->slots, &e->node);
        if (e->dir) {
            finishDir(a, e->dir, &e->node.subtree);
            if (!e->hasParentTree)
                a->result->summary.dirsNew++;
            else if (lbIdEqual(&e->parentSubtree, &e->node.subtree))
                a->result->summary.dirsUnmodified++;
            else
                a->result->summary.dirsChanged++;
        }
        Node *n = treeAppend(&t);
        *n = e->node; /* moved: the entry no longer owns it */
        memset(&e->node, 0, sizeof(e->node));
    }
    treeSort(&t);
    LbBuf json = {0};
    treeEncode(&t, &json);
    repoBlobId(a->repo, json.data, json.len, id);
    size_t len;
    uint8_t *data = lbBufTake(&json, &len);
    /* the ID is known already; the saver only stores the blob */
    saverSubmitTake(a->saver, BLOB_TREE, data, len, NULL, NULL);
    treeFree(&t);
}

char *archiverAbsPath(const char *path) {
    char *joined;
    if (path[0] == '/') {
        joined = lbXstrdup(path);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return lbXstrdup(path);
        joined = lbXasprintf("%s/%s", cwd, path);
    }
    /* collapse "//", "/./" and "/../" lexically */
    char *out = lbXmalloc(strlen(joined) + 2);
    size_t len = 0;
    const char *p = joined;
    while (*p) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0 || (n == 1 && s[0] == '.'))
            continue;
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
            continue;
        }
        out[len++] = '/';
        memcpy(out + len, s, n);
        len += n;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    free(joined);
    return out;
}

/* Find or create the chain of directories for abs (e.g. "/a/b/c") in root;
 * return the ADir that holds the last component, its parent-tree node. */
static ADir *ensureParents(Archiver *a, ADir *root, const char *abs, Tree *rootParent, const Node **parentNode,
                           Tree **ownedTrees, size_t *ownedCount, bool *ok, LbError *err) {
    ADir *dir = root;
    const Tree *pt = rootParent;
    char *copy = lbXstrdup(abs);
    char *save = NULL;
    char *comp = strtok_r(copy + 1, "/", &save);
    char prefix[PATH_MAX] = "";
    *ok = true;
    while (comp != NULL) {
        char *next = strtok_r(NULL, "/", &save);
        const Node *pn = pt ? treeFind(pt, comp) : NULL;
        if (next == NULL) {
            *parentNode = pn;
            break;
        }
        size_t plen = strlen(prefix);
        snprintf(prefix + plen, sizeof(prefix) - plen, "/%s", comp);
        AEntry *e = dirFind(dir, comp);
        if (e != NULL && e->dir == NULL) {
            *ok = lbErr(err, LB_ERR_ARGS, "unable to back up '%s': '%s' is not a directory", abs, prefix);
            break;
        }
        if (e == NULL) {
            struct stat st;
            if (lstat(prefix, &st) != 0) {
                *ok = lbErrSys(err, "unable to back up '%s': cannot stat '%s'", abs, prefix);
                break;
            }
            e = dirAppend(dir);
            e->node.name = lbXstrdup(comp);
            fillMeta(a, &e->node, &st);
            e->node.type = NODE_DIR;
            e->dir = lbXcalloc(1, sizeof(ADir));
            if (pn && pn->type == NODE_DIR) {
                e->hasParentTree = true;
                e->parentSubtree = pn->subtree;
            }
        }
        Tree *sub = NULL;
        if (e->hasParentTree) {
            *ownedTrees = lbXrealloc(*ownedTrees, (*ownedCount + 1) * sizeof(Tree));
            sub = &(*ownedTrees)[(*ownedCount)++];
            memset(sub, 0, sizeof(*sub));
            loadTree(a, &e->parentSubtree, sub);
        }
        pt = sub;
        dir = e->dir;
        comp = next;
    }
    free(copy);
    return dir;
}

static bool backupStream(Archiver *a, ADir *root, const ArchiverStream *st) {
    AEntry *e = dirAppend(root);
    Node *n = &e->node;
    n->name = lbXstrdup(st->name);
    n->type = NODE_FILE;
    n->mode = st->mode ? st->mode : 0644;
    n->uid = getuid();
    n->gid = getgid();
    const char *u = cachedName(&a->users, &a->userCount, n->uid, true);
    const char *g = cachedName(&a->groups, &a->groupCount, n->gid, false);
    n->user = u ? lbXstrdup(u) : NULL;
    n->group = g ? lbXstrdup(g) : NULL;
    n->mtimeNs = n->ctimeNs = lbNowNs();
    n->links = 1;
    uint64_t got = 0;
    const char *why = NULL;
    if (!chunkStream(a, st->fd, e, &got, &why)) {
        addUnreadable(a, st->name, why);
        return false;
    }
    n->size = got;
    a->result->summary.filesNew++;
    a->result->summary.totalFiles++;
    a->result->summary.totalBytes += got;
    a->result->paths = lbXrealloc(a->result->paths, (a->result->pathCount + 1) * sizeof(char *));
    a->result->paths[a->result->pathCount++] = lbXasprintf("/%s", st->name);
    return true;
}

bool archiverRun(Repo *repo, const ArchiverOptions *opts, ArchiverResult *result, LbError *err) {
    memset(result, 0, sizeof(*result));
    Archiver a = {.repo = repo, .opts = opts, .result = result};
    pthread_t scanner;
    ScanArgs scanArgs = {.opts = opts};
    bool scanning = false;
    result->summary.startNs = lbNowNs();
    ADir *root = lbXcalloc(1, sizeof(ADir));
    Tree rootParent = {0};
    Tree *owned = NULL;
    size_t ownedCount = 0;
    bool ok = false;
    bool haveParent = opts->parent != NULL && loadTree(&a, &opts->parent->tree, &rootParent);

    /* check every path first: a missing path fails the backup before any work */
    char **abs = lbXcalloc(opts->pathCount ? opts->pathCount : 1, sizeof(char *));
    for (size_t i = 0; i < opts->pathCount; i++) {
        abs[i] = archiverAbsPath(opts->paths[i]);
        struct stat st;
        if (lstat(abs[i], &st) != 0) {
            lbErrSys(err, "unable to back up '%s'", opts->paths[i]);
            goto cleanup;
        }
    }
    a.saver = saverNew(repo, 0);
    a.chunker = archiverChunkerNew(repo, a.saver, opts->chunkProfile);
    if (opts->progress && opts->streamCount == 0) {
        atomic_store(&scanFiles, 0);
        atomic_store(&scanBytes, 0);
        atomic_store(&scanStop, false);
        scanning = pthread_create(&scanner, NULL, scanMain, &scanArgs) == 0;
    }
    for (size_t i = 0; i < opts->streamCount; i++) {
        for (size_t k = 0; k < i; k++)
            if (strcmp(opts->streams[k].name, opts->streams[i].name) == 0) {
                lbErr(err, LB_ERR_ARGS, "two streams are named '%s'", opts->streams[i].name);
                goto cleanup;
            }
        if (!treeNameIsSafe(opts->streams[i].name)) {
            lbErr(err, LB_ERR_ARGS, "invalid stream name '%s': it must be a plain file name", opts->streams[i].name);
            goto cleanup;
        }
        if (!backupStream(&a, root, &opts->streams[i])) {
            saverFinish(a.saver, err);
            lbErr(err, LB_ERR_IO, "unable to read stream: %s",
                  result->unreadableCount ? result->unreadable[0] : "read error");
            goto cleanup;
        }
    }
    for (size_t i = 0; i < opts->pathCount; i++) {
        struct stat st;
        if (lstat(abs[i], &st) != 0) {
            lbErrSys(err, "unable to back up '%s'", opts->paths[i]);
            goto cleanup;
        }
        a.rootDev = st.st_dev;
        result->paths = lbXrealloc(result->paths, (result->pathCount + 1) * sizeof(char *));
        result->paths[result->pathCount++] = lbXstrdup(abs[i]);
        if (strcmp(abs[i], "/") == 0) {
            walkDir(&a, "/", root, haveParent ? &rootParent : NULL);
            continue;
        }
        const Node *pn = NULL;
        bool chainOk;
        ADir *dir =
            ensureParents(&a, root, abs[i], haveParent ? &rootParent : NULL, &pn, &owned, &ownedCount, &chainOk, err);
        if (!chainOk)
            goto cleanup;
        const char *base = strrchr(abs[i], '/') + 1;
        if (dirFind(dir, base) != NULL)
            continue; /* the same path given twice */
        AEntry *e = dirAppend(dir);
        e->node.name = lbXstrdup(base);
        if (!processEntry(&a, abs[i], e, &st, pn)) {
            nodeClear(&e->node);
            if (e->slots.count > 0)
                saverWait(a.saver); /* workers may still write IDs into the slots */
            archiverSlotsClear(&e->slots);
            dirFree(e->dir);
            dir->count--;
        }
    }
    reportProgress(&a, NULL, true);
    saverWait(a.saver);
    if (saverFailed(a.saver)) {
        saverFinish(a.saver, err);
        goto cleanup;
    }
    finishDir(&a, root, &result->tree);
    if (!saverFinish(a.saver, err))
        goto cleanup;
    SaverStats ss;
    saverGetStats(a.saver, &ss);
    result->newPacks = saverNewPackIds(a.saver, &result->newPackCount);
    result->summary.blobsNew = ss.blobsNew - ss.treeBlobsNew;
    result->summary.treeBlobsNew = ss.treeBlobsNew;
    result->summary.dataAdded = ss.rawNew;
    result->summary.dataAddedStored = ss.storedNew;
    result->summary.endNs = lbNowNs();
    ok = true;
cleanup:
    if (scanning) {
        atomic_store(&scanStop, true);
        pthread_join(scanner, NULL);
    }
    archiverChunkerFree(a.chunker);
    saverFree(a.saver);
    for (size_t i = 0; i < opts->pathCount; i++)
        free(abs[i]);
    free(abs);
    dirFree(root);
    treeFree(&rootParent);
    for (size_t i = 0; i < ownedCount; i++)
        treeFree(&owned[i]);
    free(owned);
    for (size_t i = 0; i < a.userCount; i++)
        free(a.users[i].name);
    for (size_t i = 0; i < a.groupCount; i++)
        free(a.groups[i].name);
    free(a.users);
    free(a.groups);
    return ok;
}

void archiverResultClear(ArchiverResult *r) {
    for (size_t i = 0; i < r->pathCount; i++)
        free(r->paths[i]);
    free(r->paths);
    for (size_t i = 0; i < r->unreadableCount; i++)
        free(r->unreadable[i]);
    free(r->unreadable);
    free(r->newPacks);
    memset(r, 0, sizeof(*r));
}
