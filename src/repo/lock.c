/* lock.c - repository locks with a refresh thread. */
#include "repo/lock.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"

struct RepoLock {
    Repo *repo;
    const LbLogSink *log; /* the acquiring thread's, for the refresh thread */
    bool exclusive;
    LbId id;
    pthread_t thread;
    bool threadStarted;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    bool stop;
};

typedef struct LockInfo {
    LbId id;
    long long time;
    bool exclusive;
    char hostname[256];
    char username[64];
    long pid;
} LockInfo;

static bool writeLock(Repo *repo, bool exclusive, LbId *id, LbError *err) {
    char host[256] = "unknown";
    gethostname(host, sizeof(host) - 1);
    struct passwd pwBuf, *pw = NULL;
    char pwText[1024];
    getpwuid_r(getuid(), &pwBuf, pwText, sizeof(pwText), &pw);
    json_t *j = json_object();
    json_object_set_new(j, "time", json_integer((json_int_t)time(NULL)));
    json_object_set_new(j, "exclusive", json_boolean(exclusive));
    json_object_set_new(j, "hostname", json_string(host));
    json_object_set_new(j, "username", json_string(pw ? pw->pw_name : "unknown"));
    json_object_set_new(j, "pid", json_integer(getpid()));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    bool ok = repoSaveUnpacked(repo, "locks", (const uint8_t *)text, strlen(text), id, err);
    free(text);
    return ok;
}

static bool readLock(Repo *repo, const LbId *id, LockInfo *info, LbError *err) {
    LbBuf plain = {0};
    if (!repoLoadUnpacked(repo, "locks", id, &plain, err)) {
        lbBufFree(&plain);
        return false;
    }
    json_t *j = json_loadb((const char *)plain.data, plain.len, 0, NULL);
    lbBufFree(&plain);
    if (j == NULL) {
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(id, hex);
        return lbErr(err, LB_ERR_CORRUPT, "lock 'locks/%s' is not valid JSON", hex);
    }
    memset(info, 0, sizeof(*info));
    info->id = *id;
    info->time = json_integer_value(json_object_get(j, "time"));
    info->exclusive = json_is_true(json_object_get(j, "exclusive"));
    info->pid = (long)json_integer_value(json_object_get(j, "pid"));
    const char *s;
    if ((s = json_string_value(json_object_get(j, "hostname"))))
        snprintf(info->hostname, sizeof(info->hostname), "%s", s);
    if ((s = json_string_value(json_object_get(j, "username"))))
        snprintf(info->username, sizeof(info->username), "%s", s);
    json_decref(j);
    return true;
}

/* A lock of this host is stale exactly when its process is gone (its age says
 * nothing: a live process may be suspended); a lock of another host is stale
 * when it has not been refreshed for LOCK_STALE_SECONDS. */
static bool lockIsStale(const LockInfo *info, bool *sameHostDead) {
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    *sameHostDead = false;
    if (strcmp(host, info->hostname) == 0 && info->pid > 0) {
        if (kill((pid_t)info->pid, 0) != 0 && errno == ESRCH) {
            *sameHostDead = true;
            return true;
        }
        return false;
    }
    return (long long)time(NULL) - info->time > LOCK_STALE_SECONDS;
}

static void removeLockObject(Repo *repo, const LbId *id) {
    char hex[LB_ID_HEX_LEN + 1], name[80];
    lbIdToHex(id, hex);
    snprintf(name, sizeof(name), "locks/%s", hex);
    LbError ignored;
    storageRemove(repoStorage(repo), name, &ignored);
}

static void formatAge(long long secs, char *out, size_t n) {
    if (secs < 0)
        secs = 0;
    if (secs < 60)
        snprintf(out, n, "%llds", secs);
    else if (secs < 3600)
        snprintf(out, n, "%lldm%llds", secs / 60, secs % 60);
    else
        snprintf(out, n, "%lldh%lldm", secs / 3600, secs / 60 % 60);
}

static void *refreshMain(void *arg) {
    RepoLock *lock = arg;
    lbLogSinkSet(lock->log);
    pthread_mutex_lock(&lock->mutex);
    while (!lock->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += LOCK_REFRESH_SECONDS;
        int rc = 0;
        while (!lock->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&lock->cond, &lock->mutex, &until);
        if (lock->stop)
            break;
        LbError err = {0};
        LbId fresh;
        if (writeLock(lock->repo, lock->exclusive, &fresh, &err)) {
            char hex[LB_ID_HEX_LEN + 1], name[80];
            lbIdToHex(&lock->id, hex);
            snprintf(name, sizeof(name), "locks/%s", hex);
            if (!storageRemove(repoStorage(lock->repo), name, &err))
                lbLogWarn("lock refreshed, but unable to remove the previous lock '%s': %s", name, err.msg);
            lock->id = fresh;
        } else {
            lbLogWarn("unable to refresh lock: %s", err.msg);
        }
    }
    pthread_mutex_unlock(&lock->mutex);
    return NULL;
}

/* Fail with LB_ERR_LOCKED when a live lock other than own conflicts with a
 * lock of this kind (exclusive: any lock; shared: an exclusive one). Stale
 * locks of dead processes on this host are removed on the way. */
static bool scanOthers(Repo *repo, bool exclusive, const LbId *own, LbError *err) {
    LbId *ids = NULL;
    size_t n = 0;
    if (!repoListIds(repo, "locks", &ids, &n, err))
        return false;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        if (own && lbIdEqual(&ids[i], own))
            continue;
        LockInfo info;
        LbError lerr = {0};
        if (!readLock(repo, &ids[i], &info, &lerr)) {
            if (lerr.code == LB_ERR_NOT_FOUND)
                continue; /* released meanwhile */
            *err = lerr;
            ok = false;
            break;
        }
        bool dead;
        if (lockIsStale(&info, &dead)) {
            if (dead && own) {
                lbLogInfo("removing stale lock of PID %ld (no longer running on this host)", info.pid);
                removeLockObject(repo, &ids[i]);
            }
            continue;
        }
        if (!exclusive && !info.exclusive)
            continue;
        char age[32];
        formatAge((long long)time(NULL) - info.time, age, sizeof(age));
        ok = lbErr(err, LB_ERR_LOCKED,
                   "repository is already locked %sby PID %ld on host '%s' by user '%s' (lock created %s ago)\n"
                   "HINT: wait for that process to finish; if it is gone, 'lifeboat unlock' removes stale locks.",
                   info.exclusive ? "exclusively " : "", info.pid, info.hostname, info.username, age);
    }
    free(ids);
    return ok;
}

/* One attempt; *notWritten set when the lock itself could not be stored. */
static RepoLock *lockTry(Repo *repo, bool exclusive, bool *notWritten, LbError *err) {
    RepoLock *lock = lbXcalloc(1, sizeof(RepoLock));
    lock->repo = repo;
    lock->exclusive = exclusive;
    lock->log = lbLogSinkGet();
    pthread_mutex_init(&lock->mutex, NULL);
    pthread_cond_init(&lock->cond, NULL);
    /* write ours first, then look: of two racing lockers at least one sees the other */
    if (!writeLock(repo, exclusive, &lock->id, err)) {
        *notWritten = true;
        goto fail;
    }
    if (!scanOthers(repo, exclusive, &lock->id, err))
        goto fail;
    if (pthread_create(&lock->thread, NULL, refreshMain, lock) == 0)
        lock->threadStarted = true;
    return lock;
fail:
    if (!lbIdIsZero(&lock->id)) {
        char hex[LB_ID_HEX_LEN + 1], name[80];
        lbIdToHex(&lock->id, hex);
        snprintf(name, sizeof(name), "locks/%s", hex);
        LbError ignored;
        storageRemove(repoStorage(repo), name, &ignored);
    }
    pthread_mutex_destroy(&lock->mutex);
    pthread_cond_destroy(&lock->cond);
    free(lock);
    return NULL;
}

void repoLockRelease(RepoLock *lock) {
    if (lock == NULL)
        return;
    if (lock->threadStarted) {
        pthread_mutex_lock(&lock->mutex);
        lock->stop = true;
        pthread_cond_signal(&lock->cond);
        pthread_mutex_unlock(&lock->mutex);
        pthread_join(lock->thread, NULL);
    }
    char hex[LB_ID_HEX_LEN + 1], name[80];
    lbIdToHex(&lock->id, hex);
    snprintf(name, sizeof(name), "locks/%s", hex);
    LbError err;
    if (!storageRemove(repoStorage(lock->repo), name, &err))
        lbLogWarn("unable to remove lock '%s': %s", name, err.msg);
    pthread_mutex_destroy(&lock->mutex);
    pthread_cond_destroy(&lock->cond);
    free(lock);
}

bool repoLockRemoveStale(Repo *repo, bool all, size_t *removed, LbError *err) {
    LbId *ids = NULL;
    size_t n = 0;
    *removed = 0;
    if (!repoListIds(repo, "locks", &ids, &n, err))
        return false;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        LockInfo info;
        LbError lerr = {0};
        bool readable = readLock(repo, &ids[i], &info, &lerr);
        bool dead;
        if (readable && !all && !lockIsStale(&info, &dead))
            continue;
        if (!readable && lerr.code == LB_ERR_NOT_FOUND)
            continue;
        char hex[LB_ID_HEX_LEN + 1], name[80];
        lbIdToHex(&ids[i], hex);
        snprintf(name, sizeof(name), "locks/%s", hex);
        ok = storageRemove(repoStorage(repo), name, err);
        if (ok)
            (*removed)++;
    }
    free(ids);
    return ok;
}

bool repoLockVerifyAlone(RepoLock *lock, LbError *err) {
    LbId *ids = NULL;
    size_t n = 0;
    if (!repoListIds(lock->repo, "locks", &ids, &n, err))
        return false;
    bool alone = true;
    for (size_t i = 0; i < n && alone; i++) {
        if (lbIdEqual(&ids[i], &lock->id))
            continue;
        LockInfo info;
        LbError lerr = {0};
        bool dead;
        if (!readLock(lock->repo, &ids[i], &info, &lerr)) {
            if (lerr.code == LB_ERR_NOT_FOUND)
                continue; /* released meanwhile */
            /* unreadable: assume the worst before deleting data */
            alone = false;
            lbErr(err, LB_ERR_LOCKED, "another lock exists that cannot be read: %s", lerr.msg);
            break;
        }
        if (lockIsStale(&info, &dead))
            continue;
        alone = false;
        lbErr(err, LB_ERR_LOCKED, "another process (PID %ld on host '%s') took a lock meanwhile", info.pid,
              info.hostname);
    }
    free(ids);
    return alone;
}

/* Try; while another process's lock conflicts, and the repository's lock
 * wait allows, try again after 1, 2, 4 ... (at most 30) seconds. */
static RepoLock *acquire(Repo *repo, bool exclusive, bool *notWritten, LbError *err) {
    double deadline = lbMonotonicSeconds() + (double)repoLockWait(repo);
    unsigned delay = 1;
    bool told = false;
    for (;;) {
        RepoLock *lock = lockTry(repo, exclusive, notWritten, err);
        if (lock != NULL || err->code != LB_ERR_LOCKED)
            return lock;
        double left = deadline - lbMonotonicSeconds();
        if (left <= 0)
            return NULL;
        if (!told) {
            char *nl = strchr(err->msg, '\n');
            lbLogWarn("%.*s; waiting up to %.0f s (--retry-lock)", nl ? (int)(nl - err->msg) : (int)strlen(err->msg),
                      err->msg, left);
            told = true;
        }
        double wait = delay < left ? delay : left;
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
        delay = delay * 2 > 30 ? 30 : delay * 2;
    }
}

RepoLock *repoLockAcquire(Repo *repo, bool exclusive, LbError *err) {
    bool notWritten = false;
    return acquire(repo, exclusive, &notWritten, err);
}

bool repoLockForReading(Repo *repo, bool exclusive, bool noLock, RepoLock **lock, LbError *err) {
    *lock = NULL;
    bool notWritten = false;
    if (!noLock) {
        *lock = acquire(repo, exclusive, &notWritten, err);
        if (*lock != NULL)
            return true;
        if (!notWritten)
            return false;
        lbLogWarn("unable to store a lock (%s): the repository is not writable here, reading it without one", err->msg);
        lbErrorClear(err);
    }
    /* without a lock of our own, still refuse to read while prune, forget
     * or another exclusive holder works */
    return scanOthers(repo, false, NULL, err);
}
