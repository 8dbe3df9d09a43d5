/*
 * local.c - the local-directory storage driver.
 *
 * Objects live at ROOT/<name>, with the same layout as in any other backend
 * ("config", "keys/ID", "data/XX/ID", ...). A put writes a temporary file
 * ".tmp-<16 hex>" next to its destination (mode 0600), fsyncs it, renames it
 * over the final name and fsyncs the directory, so a crash leaves either the
 * old object, the new one, or a stray temporary file that list never shows.
 * Missing directories are created with mode 0700 and their parents fsynced.
 *
 * Names are validated before any system call: relative paths of
 * [A-Za-z0-9._-] segments, no empty, "." or ".." segment, and no segment that
 * starts with ".tmp-" (reserved for temporary files). The driver therefore
 * never touches a path outside its root (symbolic links planted inside the
 * root by someone with write access are not defended against).
 *
 * The driver keeps no state besides its root, so every member is safe to
 * call from several threads at once.
 */
#include "storage/local/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define LOCAL_TMP_PREFIX ".tmp-"
#define LOCAL_TMP_PREFIX_LEN 5
#define LOCAL_FILE_MODE 0600
#define LOCAL_DIR_MODE 0700
/* Attempts at a fresh temporary name before giving up (collisions need a
 * broken random source). */
#define LOCAL_TMP_TRIES 8

typedef struct LocalDriver {
    char *root; /* no trailing '/', except when the root is "/" itself */
} LocalDriver;

/***********************************************************************************************************************
 * Names
 **********************************************************************************************************************/

/* ROOT/name, freshly allocated; the caller frees it. */
static char *localPath(const LocalDriver *drv, const char *name) {
    size_t rootLen = strlen(drv->root);
    if (rootLen > 0 && drv->root[rootLen - 1] == '/')
        return lbXasprintf("%s%s", drv->root, name);
    return lbXasprintf("%s/%s", drv->root, name);
}

/* The directory part of path ("." when it has none, "/" for "/x"); the
 * caller frees it. */
static char *localParent(const char *path) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return lbXstrdup(".");
    if (slash == path)
        return lbXstrdup("/");
    size_t len = (size_t)(slash - path);
    char *parent = lbXmalloc(len + 1);
    memcpy(parent, path, len);
    parent[len] = '\0';
    return parent;
}

/***********************************************************************************************************************
 * put
 **********************************************************************************************************************/

/* fsync a directory. Returns false with errno set; no error is recorded. */
static bool localSyncDir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = fsync(fd) == 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return ok;
}

/* mkdir -p for dir (mode 0700), fsyncing the parent of every directory this
 * call created, and also when a concurrent put created it first (we may not
 * return before that entry is durable). Returns false with errno set and
 * *failed pointing at a freshly allocated copy of the directory that could
 * not be made (the caller frees it). */
static bool localMakeDirs(const char *dir, char **failed) {
    if (mkdir(dir, LOCAL_DIR_MODE) != 0) {
        if (errno == ENOENT) {
            char *parent = localParent(dir);
            bool ok = localMakeDirs(parent, failed);
            free(parent);
            if (!ok)
                return false;
            if (mkdir(dir, LOCAL_DIR_MODE) != 0 && errno != EEXIST) {
                *failed = lbXstrdup(dir);
                return false;
            }
        } else if (errno == EEXIST) {
            struct stat st;
            bool statOk = stat(dir, &st) == 0;
            if (!statOk || !S_ISDIR(st.st_mode)) {
                if (statOk)
                    errno = ENOTDIR;
                *failed = lbXstrdup(dir);
                return false;
            }
            /* It existed already (or a concurrent put made it): when we got
             * here from a child's ENOENT, its entry must be durable too. */
        } else {
            *failed = lbXstrdup(dir);
            return false;
        }
    }
    char *parent = localParent(dir);
    bool ok = localSyncDir(parent);
    if (!ok)
        *failed = parent;
    else
        free(parent);
    return ok;
}

/* Fill out with ".tmp-" and 16 random hex digits (out holds 22 bytes).
 * getrandom() rarely fails; the fallback only needs to be unlikely to
 * collide, since O_EXCL catches collisions anyway. */
static void localTmpName(char *out) {
    uint8_t rnd[8];
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t mix =
            (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 48) ^ (uint64_t)(uintptr_t)out;
        mix *= 0x9E3779B97F4A7C15ull;
        lbPutU64(rnd, mix);
    }
    static const char hex[] = "0123456789abcdef";
    memcpy(out, LOCAL_TMP_PREFIX, LOCAL_TMP_PREFIX_LEN);
    for (size_t i = 0; i < sizeof(rnd); i++) {
        out[LOCAL_TMP_PREFIX_LEN + 2 * i] = hex[rnd[i] >> 4];
        out[LOCAL_TMP_PREFIX_LEN + 2 * i + 1] = hex[rnd[i] & 0xf];
    }
    out[LOCAL_TMP_PREFIX_LEN + 16] = '\0';
}

/* Write all len bytes, retrying short writes and EINTR. Returns false with
 * errno set. */
static bool localWriteAll(int fd, const uint8_t *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        if (n == 0) {
            errno = EIO;
            return false;
        }
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Open a new temporary file in dir; returns the fd (and fills tmpPath, which
 * the caller frees) or -1 with errno set. */
static int localTmpOpen(const char *dir, char **tmpPath) {
    for (int attempt = 0; attempt < LOCAL_TMP_TRIES; attempt++) {
        char tmpName[LOCAL_TMP_PREFIX_LEN + 17];
        localTmpName(tmpName);
        char *path = lbXasprintf("%s/%s", dir, tmpName);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, LOCAL_FILE_MODE);
        if (fd >= 0) {
            *tmpPath = path;
            return fd;
        }
        int saved = errno;
        free(path);
        errno = saved;
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

/* Make the written temporary file tmpPath (fd, closed here) the object at
 * path in dir: fsync, close, rename, fsync dir (and alsoSync, the directory
 * the temporary file was in, when not NULL). On failure the temporary file
 * is removed. */
static bool localCommitTmp(int fd, const char *tmpPath, const char *path, const char *dir, const char *alsoSync,
                           LbError *err) {
    bool ok = false;
    if (fsync(fd) != 0) {
        lbErrSys(err, "unable to fsync '%s'", tmpPath);
        goto cleanup;
    }
    int closeRc = close(fd);
    fd = -1;
    if (closeRc != 0) {
        lbErrSys(err, "unable to close '%s'", tmpPath);
        goto cleanup;
    }
    if (rename(tmpPath, path) != 0) {
        lbErrSys(err, "unable to rename '%s' to '%s'", tmpPath, path);
        goto cleanup;
    }
    tmpPath = NULL;
    /* The object is complete and visible; only its durability is unknown if
     * this fails, and a retried put simply replaces it. */
    if (!localSyncDir(dir) || (alsoSync != NULL && !localSyncDir(alsoSync))) {
        lbErrSys(err, "unable to fsync directory '%s' for '%s'", dir, path);
        goto cleanup;
    }
    ok = true;

cleanup:
    if (fd >= 0)
        close(fd);
    if (tmpPath != NULL)
        unlink(tmpPath);
    return ok;
}

/* Store name atomically and durably (see the banner). On failure nothing is
 * left under name that was not there before, the temporary file is removed,
 * and err names the step that failed (create directory, open, write, fsync,
 * close, rename, directory fsync), its path and the system's reason. data is
 * borrowed. */
static bool localPut(void *driver, const char *name, const uint8_t *data, size_t len, LbError *err) {
    LocalDriver *drv = driver;
    if (!storageNameCheck(name, err))
        return false;

    bool ok = false;
    char *path = localPath(drv, name);
    char *dir = localParent(path);
    char *tmpPath = NULL;
    int fd = localTmpOpen(dir, &tmpPath);
    if (fd < 0 && errno == ENOENT) {
        char *failed = NULL;
        if (!localMakeDirs(dir, &failed)) {
            lbErrSys(err, "unable to create directory '%s' for '%s'", failed, path);
            free(failed);
            goto cleanup;
        }
        fd = localTmpOpen(dir, &tmpPath);
    }
    if (fd < 0) {
        lbErrSys(err, "unable to open a temporary file for '%s' in '%s'", path, dir);
        goto cleanup;
    }
    if (!localWriteAll(fd, data, len)) {
        lbErrSys(err, "unable to write '%s'", tmpPath);
        goto cleanup;
    }
    ok = localCommitTmp(fd, tmpPath, path, dir, NULL, err);
    fd = -1;
    free(tmpPath);
    tmpPath = NULL;

cleanup:
    if (fd >= 0)
        close(fd);
    if (tmpPath != NULL)
        unlink(tmpPath);
    free(tmpPath);
    free(dir);
    free(path);
    return ok;
}

/***********************************************************************************************************************
 * get, remove, stat
 **********************************************************************************************************************/

/* Append bytes [offset, offset+length) of name to out (length 0 = to the
 * end). Reads straight into out's storage. On failure out->len is unchanged
 * (its capacity may have grown); a missing object is LB_ERR_NOT_FOUND and a
 * range past the end LB_ERR_CORRUPT. */
static bool localGet(void *driver, const char *name, uint64_t offset, uint64_t length, LbBuf *out, LbError *err) {
    LocalDriver *drv = driver;
    if (!storageNameCheck(name, err))
        return false;

    bool ok = false;
    char *path = localPath(drv, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOTDIR)
            errno = ENOENT; /* a file where a directory should be: no such object */
        lbErrSys(err, "unable to read '%s'", path);
        goto cleanup;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        lbErrSys(err, "unable to read '%s'", path);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        lbErr(err, LB_ERR_NOT_FOUND, "unable to read '%s': not a regular file", path);
        goto cleanup;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (offset > size || (length > 0 && length > size - offset)) {
        lbErr(err, LB_ERR_CORRUPT, "object '%s' is %llu bytes, shorter than requested range", name,
              (unsigned long long)size);
        goto cleanup;
    }
    uint64_t want = length > 0 ? length : size - offset;
    if (want > SIZE_MAX - out->len) {
        lbErr(err, LB_ERR_MEMORY, "unable to read '%s': %llu bytes do not fit in memory", path,
              (unsigned long long)want);
        goto cleanup;
    }
    if (offset == 0 && want == size)
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

    lbBufReserve(out, (size_t)want);
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(fd, out->data + out->len + got, (size_t)want - got, (off_t)(offset + got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            lbErrSys(err, "unable to read '%s'", path);
            goto cleanup;
        }
        if (n == 0) {
            lbErr(err, LB_ERR_CORRUPT, "unable to read '%s': object shrank while reading", path);
            goto cleanup;
        }
        got += (size_t)n;
    }
    out->len += got;
    ok = true;

cleanup:
    if (fd >= 0)
        close(fd);
    free(path);
    return ok;
}

/* Delete name; a missing object (or missing directory) is success. */
static bool localRemove(void *driver, const char *name, LbError *err) {
    LocalDriver *drv = driver;
    if (!storageNameCheck(name, err))
        return false;
    char *path = localPath(drv, name);
    bool ok = true;
    if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR)
        ok = lbErrSys(err, "unable to remove '%s'", path);
    free(path);
    return ok;
}

/* Existence and size of name; anything that is not a regular file (missing,
 * a directory, a file where a directory should be) is exists=false. */
static bool localStat(void *driver, const char *name, StorageInfo *info, LbError *err) {
    LocalDriver *drv = driver;
    info->exists = false;
    info->size = 0;
    if (!storageNameCheck(name, err))
        return false;
    char *path = localPath(drv, name);
    bool ok = true;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            ok = lbErrSys(err, "unable to stat '%s'", path);
    } else if (S_ISREG(st.st_mode)) {
        info->exists = true;
        info->size = (uint64_t)st.st_size;
    }
    free(path);
    return ok;
}

/***********************************************************************************************************************
 * list
 **********************************************************************************************************************/

typedef struct LocalListState {
    const char *prefix;
    size_t prefixLen;
    StorageListCb cb;
    void *ctx;
    bool stopped;
    const char *root; /* for messages */
    LbError *err;
} LocalListState;

/* True when some name below directory rel (ending in '/') can start with the
 * prefix: one of the two is a prefix of the other. */
static bool localListCanMatch(const LocalListState *st, const char *rel, size_t relLen) {
    size_t n = relLen < st->prefixLen ? relLen : st->prefixLen;
    return memcmp(rel, st->prefix, n) == 0;
}

/* Walk the directory open as dirFd (which this function takes and closes),
 * whose names relative to the root start with rel (empty or ending in '/').
 * Entries that vanish while we walk are skipped; other errors stop the walk
 * and are recorded in st->err. */
static bool localListDir(LocalListState *st, int dirFd, const char *rel) {
    DIR *dirp = fdopendir(dirFd);
    if (dirp == NULL) {
        lbErrSys(st->err, "unable to list '%s/%s'", st->root, rel);
        close(dirFd);
        return false;
    }
    bool ok = true;
    size_t relLen = strlen(rel);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dirp);
        if (de == NULL) {
            if (errno != 0)
                ok = lbErrSys(st->err, "unable to list '%s/%s'", st->root, rel);
            break;
        }
        /* "." and "..", temporary files and foreign names are not objects. */
        if (!storageSegmentValid(de->d_name, strlen(de->d_name)))
            continue;

        char *child = lbXasprintf("%s%s", rel, de->d_name);
        size_t childLen = relLen + strlen(de->d_name);
        bool isDir = false, isReg = false;
        uint64_t size = 0;
#ifdef _DIRENT_HAVE_D_TYPE
        unsigned char type = de->d_type;
#else
        unsigned char type = DT_UNKNOWN;
#endif
        if (type == DT_DIR) {
            isDir = true;
        } else if (type == DT_REG || type == DT_UNKNOWN) {
            /* Only stat what can be listed (or what we cannot classify). */
            if (type == DT_UNKNOWN || (childLen >= st->prefixLen && memcmp(child, st->prefix, st->prefixLen) == 0)) {
                struct stat sb;
                if (fstatat(dirfd(dirp), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
                    if (errno != ENOENT) {
                        ok = lbErrSys(st->err, "unable to stat '%s/%s'", st->root, child);
                        free(child);
                        break;
                    }
                } else {
                    isDir = S_ISDIR(sb.st_mode);
                    isReg = S_ISREG(sb.st_mode);
                    size = (uint64_t)sb.st_size;
                }
            }
        }

        if (isReg && childLen >= st->prefixLen && memcmp(child, st->prefix, st->prefixLen) == 0) {
            if (!st->cb(st->ctx, child, size))
                st->stopped = true;
        } else if (isDir) {
            char *childDir = lbXasprintf("%s/", child);
            if (localListCanMatch(st, childDir, childLen + 1)) {
                int fd = openat(dirfd(dirp), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                    if (errno != ENOENT)
                        ok = lbErrSys(st->err, "unable to list '%s/%s'", st->root, child);
                } else {
                    ok = localListDir(st, fd, childDir);
                }
            }
            free(childDir);
        }
        free(child);
        if (!ok || st->stopped)
            break;
    }
    closedir(dirp);
    return ok;
}

/* Call cb for every object whose name starts with prefix. A missing
 * directory is an empty list; cb returning false stops early (still true).
 * cb must not keep the name pointer past the call. */
static bool localList(void *driver, const char *prefix, StorageListCb cb, void *ctx, LbError *err) {
    LocalDriver *drv = driver;
    if (!storagePrefixValid(prefix))
        return lbErr(err, LB_ERR_ARGS, "unable to list prefix '%s': not a relative path of [A-Za-z0-9._-] segments",
                     prefix ? prefix : "(null)");

    /* Start at the deepest directory named by the prefix ("data/ab" -> "data/"). */
    const char *lastSlash = strrchr(prefix, '/');
    size_t relLen = lastSlash ? (size_t)(lastSlash - prefix) + 1 : 0;
    char *rel = lbXmalloc(relLen + 1);
    memcpy(rel, prefix, relLen);
    rel[relLen] = '\0';
    char *dir = relLen ? localPath(drv, rel) : lbXstrdup(drv->root);

    bool ok = true;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            ok = lbErrSys(err, "unable to list '%s'", dir);
    } else {
        LocalListState st = {
            .prefix = prefix, .prefixLen = strlen(prefix), .cb = cb, .ctx = ctx, .root = drv->root, .err = err};
        ok = localListDir(&st, fd, rel);
    }
    free(dir);
    free(rel);
    return ok;
}

/* A name this driver gives its temporary files: ".tmp-" and 16 hex digits
 * (localTmpName), nothing else: a user's own ".tmp-notes" stays. */
static bool isOwnTmpName(const char *name) {
    size_t plen = strlen(LOCAL_TMP_PREFIX);
    if (strncmp(name, LOCAL_TMP_PREFIX, plen) != 0 || strlen(name) != plen + 16)
        return false;
    for (const char *p = name + plen; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* Unlink this driver's ".tmp-*" files in dirFd and, up to depth levels
 * further down, in its subdirectories (the layout is at most two levels
 * deep: data/xx/). */
static bool localRemoveTmpIn(int dirFd, int depth, const char *root, uint64_t *removed, LbError *err) {
    int fd = dup(dirFd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return lbErrSys(err, "unable to list '%s'", root);
    }
    bool ok = true;
    struct dirent *de;
    while (ok && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (isOwnTmpName(de->d_name)) {
            if (unlinkat(dirfd(d), de->d_name, 0) == 0)
                (*removed)++;
            else if (errno != ENOENT)
                ok = lbErrSys(err, "unable to remove temporary file '%s' below '%s'", de->d_name, root);
            continue;
        }
        if (depth > 0 && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                ok = localRemoveTmpIn(sub, depth - 1, root, removed, err);
                close(sub);
            }
        }
    }
    closedir(d);
    return ok;
}

static bool localRemoveTemporary(void *driver, uint64_t *removed, LbError *err) {
    LocalDriver *drv = driver;
    *removed = 0;
    int fd = open(drv->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? true : lbErrSys(err, "unable to open '%s'", drv->root);
    bool ok = localRemoveTmpIn(fd, 2, drv->root, removed, err);
    close(fd);
    return ok;
}

/***********************************************************************************************************************
 * Spooled puts: a temporary file in the repository's root (one file system
 * with every object, so the commit is a rename; removeTemporary finds it)
 **********************************************************************************************************************/

static int localSpoolOpen(void *driver, char **tmpPath, LbError *err) {
    LocalDriver *drv = driver;
    int fd = localTmpOpen(drv->root, tmpPath);
    if (fd < 0)
        lbErrSys(err, "unable to open a temporary file in '%s'", drv->root);
    return fd;
}

static bool localSpoolCommit(void *driver, int fd, const char *tmpPath, const char *name, LbError *err) {
    LocalDriver *drv = driver;
    if (!storageNameCheck(name, err)) {
        close(fd);
        unlink(tmpPath);
        return false;
    }
    char *path = localPath(drv, name);
    char *dir = localParent(path);
    char *failed = NULL;
    bool ok = localMakeDirs(dir, &failed);
    if (!ok) {
        lbErrSys(err, "unable to create directory '%s' for '%s'", failed, path);
        close(fd);
        unlink(tmpPath);
    } else {
        ok = localCommitTmp(fd, tmpPath, path, dir, drv->root, err);
    }
    free(failed);
    free(dir);
    free(path);
    return ok;
}

/***********************************************************************************************************************
 * Driver
 **********************************************************************************************************************/

static void localFree(void *driver) {
    LocalDriver *drv = driver;
    if (drv == NULL)
        return;
    free(drv->root);
    free(drv);
}

static const StorageInterface localInterface = {
    .name = "local",
    .put = localPut,
    .get = localGet,
    .list = localList,
    .remove = localRemove,
    .stat = localStat,
    .free = localFree,
    .removeTemporary = localRemoveTemporary,
    .spoolOpen = localSpoolOpen,
    .spoolCommit = localSpoolCommit,
};

/* Returns a Storage over root without creating it; fails with LB_ERR_ARGS
 * for an empty root or one that exists but is not a directory. */
Storage *storageLocalNew(const char *root, LbError *err) {
    if (root == NULL || root[0] == '\0') {
        lbErr(err, LB_ERR_ARGS, "unable to open repository '': empty path");
        return NULL;
    }
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        len--;
    char *kept = lbXmalloc(len + 1);
    memcpy(kept, root, len);
    kept[len] = '\0';

    struct stat st;
    if (stat(kept, &st) == 0 ? !S_ISDIR(st.st_mode) : errno == ENOTDIR) {
        lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': not a directory", kept);
        free(kept);
        return NULL;
    }

    LocalDriver *drv = lbXcalloc(1, sizeof(*drv));
    drv->root = kept;
    return storageNewDriver(&localInterface, drv, kept);
}
