/* files.c - paths of the local file system as a backup source (see files.h). */
#include "source/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "archiver/archiver.h"
#include "common/log.h"

struct FileSource {
    FileSourceOptions opts;
    char **abs; /* the paths made absolute (by the check) */
    dev_t rootDev;
    size_t keepDepth; /* the depth of the path being walked */
    /* the scanner counting totals for the progress line: its own state, so
     * two runs in one process do not mix their counts */
    pthread_t scanner;
    bool scanning;
    _Atomic uint64_t scanFiles, scanBytes;
    atomic_bool scanStop;
};

/***********************************************************************************************************************
 * Totals for the progress line (ETA): counted by a scanner thread
 **********************************************************************************************************************/

/* nftw has no context argument: the scanner thread's source. */
static _Thread_local FileSource *scanSource;

static int scanVisit(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)path;
    FileSource *fs = scanSource;
    if (atomic_load(&fs->scanStop))
        return FTW_STOP;
    if (flag == FTW_F && S_ISREG(st->st_mode)) {
        atomic_fetch_add(&fs->scanFiles, 1);
        atomic_fetch_add(&fs->scanBytes, (uint64_t)st->st_size);
    }
    /* no deeper than the walk goes (nftw recurses too) */
    return flag == FTW_D && ftw->level >= TREE_DEPTH_MAX ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
}

static void *scanMain(void *arg) {
    FileSource *fs = arg;
    scanSource = fs;
    for (size_t i = 0; i < fs->opts.pathCount && !atomic_load(&fs->scanStop); i++)
        nftw(fs->opts.paths[i], scanVisit, 32, FTW_PHYS | FTW_ACTIONRETVAL | (fs->opts.oneFileSystem ? FTW_MOUNT : 0));
    return NULL;
}

static void scanStart(FileSource *fs) {
    atomic_store(&fs->scanFiles, 0);
    atomic_store(&fs->scanBytes, 0);
    atomic_store(&fs->scanStop, false);
    fs->scanning = pthread_create(&fs->scanner, NULL, scanMain, fs) == 0;
}

static void scanEnd(FileSource *fs) {
    if (!fs->scanning)
        return;
    atomic_store(&fs->scanStop, true);
    pthread_join(fs->scanner, NULL);
    fs->scanning = false;
}

static void fileTotals(void *driver, uint64_t *files, uint64_t *bytes) {
    FileSource *fs = driver;
    *files = atomic_load(&fs->scanFiles);
    *bytes = atomic_load(&fs->scanBytes);
}

/***********************************************************************************************************************
 * Metadata
 **********************************************************************************************************************/

static void fillMeta(SourceSink *sink, Node *n, const struct stat *st) {
    n->mode = st->st_mode & 07777;
    sourceSinkSetOwner(sink, n, st->st_uid, st->st_gid);
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

static bool excluded(const FileSource *fs, const char *path, const char *name) {
    for (size_t i = 0; i < fs->opts.excludeCount; i++) {
        const char *pat = fs->opts.excludes[i];
        if (strchr(pat, '/') ? fnmatch(pat, path, 0) == 0 : fnmatch(pat, name, 0) == 0)
            return true;
    }
    return false;
}

static bool sameFile(const Node *n, const Node *p) {
    return p != NULL && p->type == NODE_FILE && n->size == p->size && n->mtimeNs == p->mtimeNs &&
           n->ctimeNs == p->ctimeNs && n->inode == p->inode;
}

/***********************************************************************************************************************
 * The walk
 **********************************************************************************************************************/

static void walkDir(FileSource *fs, SourceSink *sink, const char *path);

static FileSourceReadHook readHook; /* tests only (files.h) */

void fileSourceTestHookSet(FileSourceReadHook hook) {
    readHook = hook;
}

/* The reader of one attempt at a file: sourceFdRead, and the test hook. */
typedef struct FileReader {
    int fd;
    const char *path;
    unsigned attempt;
    uint64_t offset;
} FileReader;

static ssize_t fileRead(void *ctx, uint8_t *buf, size_t cap, const char **why) {
    FileReader *r = ctx;
    ssize_t n = sourceFdRead(&r->fd, buf, cap, why);
    if (n > 0 && readHook != NULL) {
        r->offset += (uint64_t)n;
        readHook(r->path, r->offset, r->attempt);
    }
    return n;
}

static int openFile(const char *path) {
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC);
    if (fd < 0 && errno == EPERM)
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0)
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    return fd;
}

/* Is the file in state b the same as in a: same inode, size, mtime and ctime? */
static bool sameState(const struct stat *a, const struct stat *b) {
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Read the open file fd (in state *st before the read) into ref: *stable
 * tells whether it was still in that state after the read and the read got
 * exactly its size. False when it cannot be read (ref is then dropped). */
static bool readAttempt(SourceSink *sink, SourceRef ref, const char *path, int fd, const struct stat *st,
                        unsigned attempt, SourceFileState state, bool *stable) {
    FileReader r = {fd, path, attempt, 0};
    const char *why = NULL;
    uint64_t got = 0;
    if (!sourceSinkRead(sink, ref, fileRead, &r, state, &got, &why)) {
        sourceSinkDrop(sink, ref, path, why);
        return false;
    }
    struct stat after;
    if (fstat(fd, &after) != 0) {
        sourceSinkDrop(sink, ref, path, strerror(errno));
        return false;
    }
    /* a read that did not end at the size: truncated and grown back, or a
     * file of /proc or /sys, whose sizes are made up (no blocks; a sparse
     * file without any reads as zeros to its size) */
    *stable = sameState(st, &after) && (got == (uint64_t)st->st_size || st->st_blocks == 0);
    return true;
}

/* Read a regular file that is not unchanged into ref (st: the walk's lstat,
 * which the node holds); drop it when it cannot be read. A file found
 * changed after the read (inode, size, mtime or ctime, or a read that did
 * not end at its size) is read once more from the start, its node's
 * metadata refreshed from the reopened file; if it changed again, that read
 * is kept and the path reported changed (sourceSinkChanged). The node keeps
 * the state from before that read, so the next backup reads it again. */
static void readFile(SourceSink *sink, SourceRef ref, const char *path, const struct stat *st, const Node *parentNode) {
    SourceFileState state = parentNode && parentNode->type == NODE_FILE ? SOURCE_FILE_CHANGED : SOURCE_FILE_NEW;
    int fd = openFile(path);
    if (fd < 0) {
        sourceSinkDrop(sink, ref, path, strerror(errno));
        return;
    }
    bool stable = false;
    bool ok = readAttempt(sink, ref, path, fd, st, 1, state, &stable);
    close(fd);
    if (!ok || stable)
        return;
    lbLogInfo("'%s' changed while it was read: reading it again", path);
    sourceSinkRetry(sink, ref);
    fd = openFile(path);
    struct stat again;
    if (fd < 0 || fstat(fd, &again) != 0) {
        sourceSinkDrop(sink, ref, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    if (!S_ISREG(again.st_mode)) {
        close(fd);
        sourceSinkDrop(sink, ref, path, "changed while being read into a file that is not a regular file");
        return;
    }
    Node *n = sourceSinkNode(sink, ref);
    free(n->user);
    free(n->group);
    fillMeta(sink, n, &again);
    ok = readAttempt(sink, ref, path, fd, &again, 2, state, &stable);
    close(fd);
    if (ok && !stable)
        sourceSinkChanged(sink, path);
}

/* Yield path (named name in the current directory, already lstat'ed into
 * st) and, for a directory, what is below it. */
static void processEntry(FileSource *fs, SourceSink *sink, const char *path, const char *name, const struct stat *st) {
    /* a directory deeper than trees may nest is left out, not descended
     * into: the walk recurses, and readers refuse deeper trees */
    if (S_ISDIR(st->st_mode) && treePathDepth(path) > TREE_DEPTH_MAX) {
        char why[128];
        snprintf(why, sizeof(why), "not backed up: nested deeper than %d directories (the limit)", TREE_DEPTH_MAX);
        sourceSinkUnreadable(sink, path, why);
        return;
    }
    const Node *parentNode = sourceSinkParent(sink, name);
    Node n = {0};
    n.name = lbXstrdup(name);
    fillMeta(sink, &n, st);
    /* an xattr change updates ctime: an unchanged file keeps its parent's xattrs */
    bool unchanged = n.type == NODE_FILE && !sourceSinkForce(sink) && sameFile(&n, parentNode);
    if (unchanged)
        nodeCopyXattrs(&n, parentNode);
    else
        readXattrs(&n, path);
    if (n.type == NODE_SYMLINK) {
        char *target = lbXmalloc(PATH_MAX + 1); /* not on the stack of a recursive walk */
        ssize_t len = readlink(path, target, PATH_MAX);
        if (len < 0) {
            sourceSinkUnreadable(sink, path, strerror(errno));
            free(target);
            nodeClear(&n);
            return;
        }
        target[len] = '\0';
        n.linkTarget = lbXstrdup(target);
        free(target);
        sourceSinkAdd(sink, &n);
    } else if (n.type == NODE_FILE) {
        SourceRef ref = sourceSinkAdd(sink, &n);
        if (unchanged)
            sourceSinkUnchanged(sink, ref, parentNode);
        else
            readFile(sink, ref, path, st, parentNode);
        sourceSinkProgress(sink, path);
    } else if (n.type == NODE_DIR) {
        sourceSinkEnter(sink, &n); /* names in a directory are unique */
        if (treePathDepth(path) <= fs->keepDepth)
            sourceSinkKeep(sink); /* a path given: another may be below it */
        if (fs->opts.oneFileSystem && st->st_dev != fs->rootDev)
            lbLogInfo("not descending into '%s': other file system", path);
        else
            walkDir(fs, sink, path);
        sourceSinkLeave(sink);
    } else {
        sourceSinkAdd(sink, &n);
    }
}

static int cmpName(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Yield what is below the directory path (the current directory). */
static void walkDir(FileSource *fs, SourceSink *sink, const char *path) {
    DIR *d = opendir(path);
    if (d == NULL) {
        sourceSinkUnreadable(sink, path, strerror(errno));
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
        if (sourceSinkCancelled(sink)) {
            for (; i < count; i++)
                free(names[i]);
            break;
        }
        char *child = strcmp(path, "/") == 0 ? lbXasprintf("/%s", names[i]) : lbXasprintf("%s/%s", path, names[i]);
        if (!excluded(fs, child, names[i])) {
            struct stat st;
            if (lstat(child, &st) != 0)
                sourceSinkUnreadable(sink, child, strerror(errno));
            else
                processEntry(fs, sink, child, names[i], &st);
        }
        free(child);
        free(names[i]);
    }
    free(names);
}

/* Enter the chain of directories above abs ("/a/b/c": a, then b), creating
 * those not yet in the tree with their own metadata. *entered counts the
 * levels entered (to leave them again). */
static bool enterParents(SourceSink *sink, const char *abs, size_t *entered, LbError *err) {
    char *copy = lbXstrdup(abs);
    char *save = NULL;
    char *comp = strtok_r(copy + 1, "/", &save);
    char prefix[PATH_MAX] = "";
    bool ok = true;
    *entered = 0;
    while (comp != NULL) {
        char *next = strtok_r(NULL, "/", &save);
        if (next == NULL)
            break;
        size_t plen = strlen(prefix);
        snprintf(prefix + plen, sizeof(prefix) - plen, "/%s", comp);
        if (sourceSinkHas(sink, comp)) {
            if (!sourceSinkReenter(sink, comp)) {
                ok = lbErr(err, LB_ERR_ARGS, "unable to back up '%s': '%s' is not a directory", abs, prefix);
                break;
            }
        } else {
            struct stat st;
            if (lstat(prefix, &st) != 0) {
                ok = lbErrSys(err, "unable to back up '%s': cannot stat '%s'", abs, prefix);
                break;
            }
            Node n = {0};
            n.name = lbXstrdup(comp);
            fillMeta(sink, &n, &st);
            sourceSinkEnter(sink, &n);
        }
        sourceSinkKeep(sink); /* the next path may be below it too */
        (*entered)++;
        comp = next;
    }
    free(copy);
    return ok;
}

static bool fileCheck(void *driver, LbError *err) {
    FileSource *fs = driver;
    for (size_t i = 0; i < fs->opts.pathCount; i++) {
        if (fs->abs[i] == NULL)
            fs->abs[i] = archiverAbsPath(fs->opts.paths[i]);
        struct stat st;
        if (lstat(fs->abs[i], &st) != 0)
            return lbErrSys(err, "unable to back up '%s'", fs->opts.paths[i]);
    }
    return true;
}

static bool fileWalk(void *driver, SourceSink *sink, LbError *err) {
    FileSource *fs = driver;
    bool ok = fileCheck(fs, err);
    if (ok && sourceSinkWantsProgress(sink))
        scanStart(fs);
    for (size_t i = 0; ok && i < fs->opts.pathCount; i++) {
        const char *abs = fs->abs[i];
        struct stat st;
        if (lstat(abs, &st) != 0) {
            ok = lbErrSys(err, "unable to back up '%s'", fs->opts.paths[i]);
            break;
        }
        fs->rootDev = st.st_dev;
        fs->keepDepth = treePathDepth(abs);
        sourceSinkAddPath(sink, abs);
        if (strcmp(abs, "/") == 0) {
            walkDir(fs, sink, "/");
            continue;
        }
        size_t entered = 0;
        ok = enterParents(sink, abs, &entered, err);
        const char *base = strrchr(abs, '/') + 1;
        if (ok && !sourceSinkHas(sink, base)) /* else the same path was given twice */
            processEntry(fs, sink, abs, base, &st);
        while (entered-- > 0)
            sourceSinkLeave(sink);
    }
    scanEnd(fs);
    return ok;
}

static const SourceInterface fileSourceInterface = {
    .name = "files",
    .check = fileCheck,
    .walk = fileWalk,
    .totals = fileTotals,
};

FileSource *fileSourceNew(const FileSourceOptions *opts) {
    FileSource *fs = lbXcalloc(1, sizeof(*fs));
    fs->opts = *opts;
    fs->abs = lbXcalloc(opts->pathCount ? opts->pathCount : 1, sizeof(char *));
    return fs;
}

void fileSourceFree(FileSource *fs) {
    if (fs == NULL)
        return;
    scanEnd(fs);
    for (size_t i = 0; i < fs->opts.pathCount; i++)
        free(fs->abs[i]);
    free(fs->abs);
    free(fs);
}

Source fileSourceSource(FileSource *fs) {
    return (Source){&fileSourceInterface, fs};
}
