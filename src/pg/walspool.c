/* walspool.c - wal-push --ahead: push ready WAL files in advance, acknowledge from markers. */
#include "pg/walspool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "pg/wal.h"

#define MARKER_SUFFIX ".ok"
#define READY_SUFFIX ".ready"

bool walspoolOpen(const char *dir, LbError *err) {
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return lbErrSys(err, "unable to create spool directory '%s'", dir);
    struct stat st;
    if (stat(dir, &st) != 0)
        return lbErrSys(err, "unable to open spool directory '%s'", dir);
    if (!S_ISDIR(st.st_mode))
        return lbErr(err, LB_ERR_ARGS, "spool '%s' is not a directory", dir);
    if (st.st_uid != geteuid() || (st.st_mode & 022) != 0)
        return lbErr(err, LB_ERR_ARGS,
                     "unable to use spool directory '%s': it must belong to this user and not be writable by others "
                     "(its markers acknowledge WAL files to PostgreSQL)",
                     dir);
    return true;
}

static char *markerPath(const char *dir, const char *name) {
    return lbXasprintf("%s/%s" MARKER_SUFFIX, dir, name);
}

bool walspoolConsume(const char *dir, const char *repository, const char *name, uint64_t size, const LbId *sha256,
                     bool *hit, LbError *err) {
    char *path = markerPath(dir, name);
    json_t *m = NULL;
    bool ok = false;
    *hit = false;
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT) {
            lbErrSys(err, "unable to read spool marker '%s'", path);
            goto cleanup;
        }
        ok = true;
        goto cleanup;
    }
    m = S_ISREG(st.st_mode) ? json_load_file(path, 0, NULL) : NULL;
    const char *mName = json_string_value(json_object_get(m, "name"));
    const char *mRepo = json_string_value(json_object_get(m, "repository"));
    const char *mSha = json_string_value(json_object_get(m, "sha256"));
    json_t *mSize = json_object_get(m, "size");
    LbId sha;
    bool fresh = time(NULL) - st.st_mtime < WALSPOOL_MARKER_MAX_AGE;
    *hit = fresh && mName && strcmp(mName, name) == 0 && mRepo && strcmp(mRepo, repository) == 0 && mSha &&
           lbIdFromHex(mSha, &sha) && lbIdEqual(&sha, sha256) && json_is_integer(mSize) &&
           (uint64_t)json_integer_value(mSize) == size;
    if (!*hit)
        lbLogInfo("spool marker for %s does not match the file: pushing it", name);
    /* used or useless: either way it must not answer again */
    if (unlink(path) != 0 && errno != ENOENT) {
        lbErrSys(err, "unable to remove spool marker '%s'", path);
        *hit = false;
        goto cleanup;
    }
    ok = true;
cleanup:
    json_decref(m);
    free(path);
    return ok;
}

bool walspoolMark(const char *dir, const char *repository, const char *name, uint64_t size, const LbId *sha256,
                  LbError *err) {
    char *path = markerPath(dir, name);
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(sha256, hex);
    json_t *m = json_object();
    json_object_set_new(m, "name", json_string(name));
    json_object_set_new(m, "size", json_integer((json_int_t)size));
    json_object_set_new(m, "sha256", json_string(hex));
    json_object_set_new(m, "repository", json_string(repository));
    char *text = json_dumps(m, JSON_COMPACT);
    bool ok = text != NULL && walspoolWriteFile(path, text, strlen(text), false, err);
    if (text == NULL)
        lbErr(err, LB_ERR_GENERIC, "unable to write spool marker '%s'", path);
    free(text);
    json_decref(m);
    free(path);
    return ok;
}

bool walspoolWriteFile(const char *path, const void *data, size_t len, bool sync, LbError *err) {
    char *tmp = lbXasprintf("%s.%d.tmp", path, (int)getpid());
    bool ok = false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        lbErrSys(err, "unable to write '%s'", tmp);
        goto cleanup;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, (const char *)data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            lbErrSys(err, "unable to write '%s'", tmp);
            goto cleanup;
        }
        done += (size_t)w;
    }
    if (sync && fsync(fd) != 0) {
        lbErrSys(err, "unable to sync '%s'", tmp);
        goto cleanup;
    }
    int rc = close(fd);
    fd = -1;
    if (rc != 0) {
        lbErrSys(err, "unable to write '%s'", tmp);
        goto cleanup;
    }
    if (rename(tmp, path) != 0) {
        lbErrSys(err, "unable to rename '%s'", tmp);
        goto cleanup;
    }
    if (sync) {
        char *copy = lbXstrdup(path);
        int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        free(copy);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    ok = true;
cleanup:
    if (fd >= 0)
        close(fd);
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok;
}

void walspoolPrune(const char *dir, int maxAgeSeconds) {
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        bool marker = n > 3 && strcmp(e->d_name + n - 3, MARKER_SUFFIX) == 0;
        bool tmp = n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0;
        if (!marker && !tmp)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && now - st.st_mtime >= maxAgeSeconds)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

/* PostgreSQL archives history files first, then the rest in name order. */
static int readyOrder(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    bool hx = strstr(x, ".history") != NULL, hy = strstr(y, ".history") != NULL;
    if (hx != hy)
        return hx ? -1 : 1;
    return strcmp(x, y);
}

bool walspoolReady(const char *walDir, const char *spoolDir, const char *skip, size_t max, char ***names, size_t *count,
                   LbError *err) {
    char *statusDir = lbXasprintf("%s/archive_status", walDir);
    DIR *d = opendir(statusDir);
    char **list = NULL;
    size_t n = 0;
    *names = NULL;
    *count = 0;
    if (d == NULL) {
        lbErrSys(err, "unable to list '%s'", statusDir);
        free(statusDir);
        return false;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= strlen(READY_SUFFIX) || strcmp(e->d_name + len - strlen(READY_SUFFIX), READY_SUFFIX) != 0)
            continue;
        char *name = lbXasprintf("%.*s", (int)(len - strlen(READY_SUFFIX)), e->d_name);
        WalName wn;
        char *marker = markerPath(spoolDir, name);
        bool marked = access(marker, F_OK) == 0;
        free(marker);
        if (!walNameParse(name, &wn) || strcmp(name, skip) == 0 || marked) {
            free(name);
            continue;
        }
        list = lbXrealloc(list, (n + 1) * sizeof(char *));
        list[n++] = name;
    }
    closedir(d);
    free(statusDir);
    if (n > 0)
        qsort(list, n, sizeof(char *), readyOrder);
    for (size_t i = max; i < n; i++)
        free(list[i]);
    *names = list;
    *count = n < max ? n : max;
    return true;
}

typedef struct PushPool {
    Repo *repo;
    WalspoolItem *items;
    size_t count;
    const char *markDir, *repository;
    atomic_size_t next;
} PushPool;

static void *pushWorker(void *arg) {
    PushPool *p = arg;
    LbBuf data = {0};
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->count)
            break;
        WalspoolItem *it = &p->items[i];
        WalPushResult r;
        data.len = 0;
        it->ok =
            walReadFile(it->path, &data, &it->err) && walPush(p->repo, it->name, data.data, data.len, &r, &it->err);
        if (it->ok) {
            it->identical = r.outcome == WAL_PUSH_IDENTICAL;
            it->size = data.len;
            it->storedBytes = r.storedBytes;
            it->sha256 = r.sha256;
            if (p->markDir)
                it->ok = walspoolMark(p->markDir, p->repository, it->name, it->size, &it->sha256, &it->err);
        }
    }
    lbBufFree(&data);
    return NULL;
}

void walspoolRunWorkers(void *(*worker)(void *), void *arg, int threads, size_t count) {
    if (threads < 1)
        threads = 1;
    if ((size_t)threads > count)
        threads = count > 0 ? (int)count : 1;
    pthread_t *tids = lbXcalloc((size_t)threads + 1, sizeof(pthread_t));
    int started = 0;
    for (int t = 1; t < threads; t++)
        if (pthread_create(&tids[t], NULL, worker, arg) == 0)
            started = t;
        else
            break;
    worker(arg); /* this thread works too */
    for (int t = 1; t <= started; t++)
        pthread_join(tids[t], NULL);
    free(tids);
}

size_t walspoolPushAll(Repo *repo, WalspoolItem *items, size_t count, int threads, const char *markDir,
                       const char *repository) {
    PushPool pool = {.repo = repo, .items = items, .count = count, .markDir = markDir, .repository = repository};
    atomic_init(&pool.next, 0);
    walspoolRunWorkers(pushWorker, &pool, threads, count);
    size_t ok = 0;
    for (size_t i = 0; i < count; i++)
        ok += items[i].ok;
    return ok;
}
