/* walprefetch.c - wal-fetch --prefetch: the background prefetcher of a spool and the restore_command that uses it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pg/walasync.h"
#include "pg/wal.h"
#include "pg/walspool.h"

#define FETCH_LOCK "prefetch.lock"
#define FETCH_LOG "prefetch.log"
#define FETCH_NAME "lb-wal-prefetch"
#define FETCH_DIR "prefetch"
#define REQUEST_FILE "request"
#define REPO_FILE "repository"
#define MISSING_SUFFIX ".missing"
#define MISSING_RETRY_SECONDS 2.0
#define POLL_MS 10
#define IDLE_POLL_MS 20

static char *fetchPath(const WalasyncConfig *c, const char *name) {
    return lbXasprintf("%s/" FETCH_DIR "/%s", c->spool, name);
}

/* Segment number of a segment name for segSize; false for other names. */
static bool segmentNo(const char *name, uint64_t segSize, uint32_t *tli, uint64_t *no) {
    WalName wn;
    if (!walNameParse(name, &wn) || wn.kind != WAL_FILE_SEGMENT || segSize == 0)
        return false;
    *tli = wn.timeline;
    *no = (uint64_t)wn.log * (UINT64_C(0x100000000) / segSize) + wn.seg;
    return true;
}

static void segmentFileName(uint32_t tli, uint64_t no, uint64_t segSize, char *out, size_t n) {
    uint64_t perLog = UINT64_C(0x100000000) / segSize;
    snprintf(out, n, "%08X%08X%08X", tli, (uint32_t)(no / perLog), (uint32_t)(no % perLog));
}

typedef struct FetchItem {
    char name[WAL_NAME_MAX];
    bool ok, missing;
    size_t size;
    LbError err;
} FetchItem;

typedef struct FetchPool {
    const WalasyncConfig *c;
    Repo *repo;
    FetchItem *items;
    size_t count;
    atomic_size_t next;
} FetchPool;

static void *fetchWorker(void *arg) {
    FetchPool *p = arg;
    LbBuf data = {0};
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->count)
            break;
        FetchItem *it = &p->items[i];
        WalHeader h;
        WalName wn;
        WalSegmentInfo info;
        data.len = 0;
        /* walFetch checks the content against the sealed header (name, size,
         * SHA-256); walSegmentCheck the segment's own header against its name */
        if (!walFetch(p->repo, it->name, &data, &h, &it->err)) {
            it->missing = it->err.code == LB_ERR_NOT_FOUND;
            continue;
        }
        if (!walNameParse(it->name, &wn) || !walSegmentCheck(&wn, data.data, data.len, &info, &it->err))
            continue;
        char *path = fetchPath(p->c, it->name);
        it->ok = walspoolWriteFile(path, data.data, data.len, true, &it->err);
        it->size = data.len;
        free(path);
    }
    lbBufFree(&data);
    return NULL;
}

static void fetchAll(const WalasyncConfig *c, Repo *repo, FetchItem *items, size_t count) {
    FetchPool pool = {.c = c, .repo = repo, .items = items, .count = count};
    atomic_init(&pool.next, 0);
    walspoolRunWorkers(fetchWorker, &pool, c->workers, count);
}

/* Remove what recovery has passed (segments of the request's timeline
 * before it) and anything older than the maximum age. */
static void prefetchPrune(const WalasyncConfig *c, const char *request) {
    char *dir = lbXasprintf("%s/" FETCH_DIR, c->spool);
    DIR *d = opendir(dir);
    free(dir);
    if (d == NULL)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, REQUEST_FILE) == 0 || strcmp(e->d_name, REPO_FILE) == 0)
            continue;
        struct stat st;
        bool old = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                   now - st.st_mtime >= WALASYNC_PREFETCH_MAX_AGE;
        bool passed = request && strlen(e->d_name) >= 24 && strncmp(e->d_name, request, 8) == 0 &&
                      strncmp(e->d_name, request, 24) < 0;
        if (old || passed)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void prefetcherRun(const WalasyncConfig *c) {
    LbError err = {0};
    lbLogInfo("prefetcher %d started (spool '%s', %d ahead, %d workers)", (int)getpid(), c->spool, c->ahead,
              c->workers);
    Repo *repo = c->openRepo(c->ctx, &err);
    if (repo == NULL) {
        lbLogError("prefetcher: %s", err.msg);
        return;
    }
    char *requestFile = lbXasprintf("%s/" FETCH_DIR "/" REQUEST_FILE, c->spool);
    char *lastRequest = NULL;
    uint64_t segSize = 0; /* learnt from the first segment fetched */
    double lastWork = lbMonotonicSeconds(), missingAt = -1e9;
    char missingName[WAL_NAME_MAX] = "";
    size_t fetched = 0;
    FetchItem *items = lbXcalloc((size_t)c->ahead + 1, sizeof(FetchItem));
    for (;;) {
        if (!walasyncStillOwner(c, FETCH_LOCK)) {
            lbLogWarn("prefetcher %d: the spool '%s' was removed or replaced: exiting", (int)getpid(), c->spool);
            break;
        }
        char *request = walasyncReadText(requestFile);
        double now = lbMonotonicSeconds();
        if (request && (lastRequest == NULL || strcmp(request, lastRequest) != 0)) {
            free(lastRequest);
            lastRequest = lbXstrdup(request);
            lastWork = now;
            prefetchPrune(c, request);
        }
        size_t count = 0;
        uint32_t tli;
        uint64_t no;
        bool recentMiss = now - missingAt < MISSING_RETRY_SECONDS;
        if (request && segSize == 0) {
            char *path = fetchPath(c, request);
            if (!exists(path) && !(recentMiss && strcmp(request, missingName) >= 0))
                items[count++] = (FetchItem){0};
            snprintf(items[0].name, sizeof(items[0].name), "%s", request);
            free(path);
        } else if (request && segmentNo(request, segSize, &tli, &no)) {
            for (int i = 0; i <= c->ahead; i++) {
                char name[WAL_NAME_MAX];
                segmentFileName(tli, no + (uint64_t)i, segSize, name, sizeof(name));
                if (recentMiss && strcmp(name, missingName) >= 0)
                    break; /* the end of the archive: nothing after it either, for now */
                char *path = fetchPath(c, name);
                bool have = exists(path);
                free(path);
                if (!have) {
                    items[count] = (FetchItem){0};
                    snprintf(items[count++].name, sizeof(items[0].name), "%s", name);
                }
            }
        }
        if (count > 0) {
            fetchAll(c, repo, items, count);
            bool sawMissing = false;
            for (size_t i = 0; i < count; i++) {
                char *path = fetchPath(c, items[i].name);
                char *missing = lbXasprintf("%s" MISSING_SUFFIX, path);
                if (items[i].ok) {
                    fetched++;
                    unlink(missing);
                    if (segSize == 0)
                        segSize = items[i].size;
                } else {
                    /* missing (the end of the archive) or failed: the caller
                     * then asks the repository itself and reports it */
                    if (!items[i].missing)
                        lbLogWarn("prefetcher: %s", items[i].err.msg);
                    if (!sawMissing || strcmp(items[i].name, missingName) < 0)
                        snprintf(missingName, sizeof(missingName), "%s", items[i].name);
                    sawMissing = true;
                    LbError e = {0};
                    if (!exists(missing) && !walspoolWriteFile(missing, "", 0, false, &e))
                        lbLogWarn("%s", e.msg);
                }
                free(missing);
                free(path);
            }
            if (sawMissing)
                missingAt = lbMonotonicSeconds();
            lastWork = lbMonotonicSeconds();
        } else {
            if (lbMonotonicSeconds() - lastWork >= c->idleSeconds) {
                free(request);
                break;
            }
            walasyncSleepMs(IDLE_POLL_MS);
        }
        free(request);
    }
    lbLogInfo("prefetcher %d exits after %d s idle (%zu segments fetched)", (int)getpid(), c->idleSeconds, fetched);
    prefetchPrune(c, lastRequest);
    free(items);
    free(lastRequest);
    free(requestFile);
    repoFree(repo);
}

/* Move src to dest durably: rename when on one filesystem, else copy. */
static bool moveInto(const char *src, const char *dest, LbError *err) {
    if (rename(src, dest) != 0) {
        if (errno != EXDEV)
            return lbErrSys(err, "unable to move '%s' to '%s'", src, dest);
        LbBuf data = {0};
        bool ok = walReadFile(src, &data, err) && walspoolWriteFile(dest, data.data, data.len, true, err);
        lbBufFree(&data);
        if (!ok)
            return false;
        unlink(src);
        return true;
    }
    int fd = open(dest, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        if (fd >= 0)
            close(fd);
        return lbErrSys(err, "unable to sync '%s'", dest);
    }
    close(fd);
    return true;
}

/* The prefetch folder, emptied when it held another repository's files. */
static bool prefetchOpen(const WalasyncConfig *c, LbError *err) {
    char *dir = lbXasprintf("%s/" FETCH_DIR, c->spool);
    char *repoFile = lbXasprintf("%s/" REPO_FILE, dir);
    bool ok = false;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        lbErrSys(err, "unable to create '%s'", dir);
        goto cleanup;
    }
    char *have = walasyncReadText(repoFile);
    if (have == NULL || strcmp(have, c->repository) != 0) {
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                unlinkat(dirfd(d), e->d_name, 0);
        if (d)
            closedir(d);
        ok = walspoolWriteFile(repoFile, c->repository, strlen(c->repository), false, err);
    } else {
        ok = true;
    }
    free(have);
cleanup:
    free(repoFile);
    free(dir);
    return ok;
}

bool walasyncFetch(const WalasyncConfig *c, const char *name, const char *dest, bool *hit, LbError *err) {
    char *path = fetchPath(c, name);
    char *missing = lbXasprintf("%s" MISSING_SUFFIX, path);
    char *requestFile = lbXasprintf("%s/" FETCH_DIR "/" REQUEST_FILE, c->spool);
    bool ok = false;
    *hit = false;
    if (!prefetchOpen(c, err) || !walspoolWriteFile(requestFile, name, strlen(name), false, err))
        goto cleanup;
    double t0 = lbMonotonicSeconds();
    for (int round = 0;; round++) {
        bool started = false;
        if (exists(path)) {
            if (!moveInto(path, dest, err))
                goto cleanup;
            *hit = true;
            ok = true;
            goto cleanup;
        }
        if (exists(missing)) {
            unlink(missing);
            ok = true; /* not there (yet): the caller asks the repository itself */
            goto cleanup;
        }
        if (round % 20 == 0) {
            if (!walasyncEnsure(c, FETCH_LOCK, FETCH_LOG, FETCH_NAME, prefetcherRun, &started, err))
                goto cleanup;
            if (started)
                lbLogInfo("started the background prefetcher (log: %s/" FETCH_LOG ")", c->spool);
        }
        if (lbMonotonicSeconds() - t0 >= c->waitSeconds) {
            lbLogWarn("the prefetcher did not deliver %s within %d s: fetching it directly", name, c->waitSeconds);
            ok = true;
            goto cleanup;
        }
        walasyncSleepMs(POLL_MS);
    }
cleanup:
    free(requestFile);
    free(missing);
    free(path);
    return ok;
}
