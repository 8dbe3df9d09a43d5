/* scratch.c - the scratch set: its folder, its cleanup and the signal guard (see scratch.h). */
#include "drill/scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "drill/scratch_int.h"

#define SCRATCH_TERM_WAIT_MS 2000 /* SIGTERM to SIGKILL for watched process groups */

/* ---- processes, through /proc ---- */

void scratchSleepMs(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* State, parent and process group of pid from /proc/PID/stat. */
static bool procStat(pid_t pid, char *state, pid_t *ppid, pid_t *pgrp) {
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold anything, even ')' */
    int pp = 0, pg = 0;
    if (p == NULL || sscanf(p + 1, " %c %d %d", state, &pp, &pg) != 3)
        return false;
    *ppid = pp;
    *pgrp = pg;
    return true;
}

bool scratchProcAlive(pid_t pid) {
    char state = 0;
    pid_t ppid, pgrp;
    return pid > 0 && procStat(pid, &state, &ppid, &pgrp) && state != 'Z' && state != 'X';
}

typedef enum { PROC_BY_PARENT, PROC_BY_GROUP } ProcMatch;

/* Live processes whose parent (or process group) is who, up to max. */
static size_t procFind(ProcMatch how, pid_t who, pid_t *out, size_t max) {
    DIR *d = opendir("/proc");
    size_t n = 0;
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0)
            continue;
        char state = 0;
        pid_t ppid, pgrp;
        if (!procStat((pid_t)pid, &state, &ppid, &pgrp) || state == 'Z' || state == 'X')
            continue;
        if ((how == PROC_BY_PARENT ? ppid : pgrp) == who)
            out[n++] = (pid_t)pid;
    }
    closedir(d);
    return n;
}

void scratchProcKillTree(pid_t pid, int waitMs) {
    pid_t kids[256];
    size_t n = procFind(PROC_BY_PARENT, pid, kids, sizeof(kids) / sizeof(kids[0]));
    kill(pid, SIGKILL);
    for (size_t i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    for (int waited = 0; waited < waitMs; waited += 20) {
        bool any = scratchProcAlive(pid);
        for (size_t i = 0; i < n && !any; i++)
            any = scratchProcAlive(kids[i]);
        if (!any)
            return;
        scratchSleepMs(20);
    }
}

/* Does some argument of process pid name path or something below it? */
static bool procMentions(pid_t pid, const char *path) {
    char file[64];
    snprintf(file, sizeof(file), "/proc/%d/cmdline", (int)pid);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    size_t len = strlen(path);
    for (char *arg = buf; arg < buf + n; arg += strlen(arg) + 1) {
        char *at = strstr(arg, path);
        if (at && (at[len] == '\0' || at[len] == '/'))
            return true;
    }
    return false;
}

/* The last sweep: SIGKILL every process (and its children) whose command
 * line names the set's folder, such as a postmaster whose start raced with
 * the cleanup and had not written postmaster.pid yet. */
static void sweepProcesses(const char *dir) {
    DIR *d = opendir("/proc");
    if (d == NULL)
        return;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == self || !scratchProcAlive((pid_t)pid))
            continue;
        if (procMentions((pid_t)pid, dir)) {
            lbLogDebug("scratch: killing leftover process %ld", pid);
            scratchProcKillTree((pid_t)pid, 3000);
        }
    }
    closedir(d);
}

/* ---- removing the folder without following links ---- */

/* Make the directory name (in dirfd, known not to be a link) writable and
 * searchable by us; for a user other than root, a restored read-only
 * directory could not be emptied otherwise. Through /proc/self/fd so that
 * no path is followed. */
static void makeWritable(int dirfd, const char *name) {
    int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (chmod(proc, 0700) != 0)
        lbLogDebug("scratch: unable to chmod '%s': %s", name, strerror(errno));
    close(fd);
}

/* Remove name in dirfd and everything below it. Links are removed, never
 * followed; every step is relative to an open directory. */
static bool removeTreeAt(int dirfd, const char *name, const char *shown) {
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == EACCES) {
        makeWritable(dirfd, name);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
        lbLogWarn("unable to remove scratch directory '%s/%s': %s", shown, name, strerror(errno));
        return false;
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return false;
    }
    bool ok = true, fixed = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (!fixed && faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
                makeWritable(dirfd, name);
                fixed = true;
            }
            ok = removeTreeAt(fd, e->d_name, shown) && ok;
            continue;
        }
        if (unlinkat(fd, e->d_name, 0) == 0 || errno == ENOENT)
            continue;
        if (errno == EACCES && !fixed) {
            makeWritable(dirfd, name);
            fixed = true;
            if (unlinkat(fd, e->d_name, 0) == 0 || errno == ENOENT)
                continue;
        }
        lbLogWarn("unable to remove scratch file '%s/.../%s': %s", shown, e->d_name, strerror(errno));
        ok = false;
    }
    closedir(d);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
        lbLogWarn("unable to remove scratch directory '%s/%s': %s", shown, name, strerror(errno));
        ok = false;
    }
    return ok;
}

/* Remove the absolute path dir (its last component opened from its
 * parent). Every level holds one descriptor: allow as many as the hard
 * limit does, for restored trees a thousand directories deep. */
static bool removeTree(const char *dir) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    char *copy = lbXstrdup(dir);
    char *slash = strrchr(copy, '/');
    bool ok = false;
    if (slash != NULL && slash[1] != '\0') {
        *slash = '\0';
        int parent = open(copy[0] ? copy : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (parent >= 0) {
            ok = removeTreeAt(parent, slash + 1, copy[0] ? copy : "/");
            close(parent);
        }
    }
    free(copy);
    return ok;
}

/* ---- the set ---- */

/* Can the server's user search every directory on the way to dir? Checked
 * in a child that becomes that user; on failure *failed names the first
 * directory it cannot enter. */
static bool ownerCanSearch(const PitrOwner *owner, const char *dir, char *failed, size_t n) {
    char path[PATH_MAX];
    int fds[2];
    if (!owner->change || strlen(dir) >= sizeof(path) || pipe2(fds, O_CLOEXEC) != 0)
        return true;
    snprintf(path, sizeof(path), "%s", dir);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return true;
    }
    if (pid == 0) {
        close(fds[0]);
        if (setgroups(0, NULL) != 0 || setgid(owner->gid) != 0 || setuid(owner->uid) != 0)
            _exit(2);
        for (size_t i = 1;; i++) { /* every prefix ending before a '/', then the whole path */
            char c = path[i];
            if (c != '/' && c != '\0')
                continue;
            path[i] = '\0';
            if (access(path, X_OK) != 0) {
                ssize_t w = write(fds[1], path, i);
                (void)w;
                _exit(1);
            }
            path[i] = c;
            if (c == '\0')
                _exit(0);
        }
    }
    close(fds[1]);
    ssize_t got = read(fds[0], failed, n - 1);
    failed[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

bool scratchCheckSearch(ScratchSet *set, const PitrOwner *owner, LbError *err) {
    pthread_mutex_lock(&set->mu);
    bool checked = set->searchChecked;
    pthread_mutex_unlock(&set->mu);
    if (checked)
        return true;
    char failed[PATH_MAX];
    if (!ownerCanSearch(owner, set->dir, failed, sizeof(failed)))
        return lbErr(err, LB_ERR_ARGS,
                     "unable to start a scratch server in '%s': user '%s' cannot enter '%s'. HINT: Put the scratch "
                     "folder under a directory that user can search (such as /tmp), with TMPDIR or the drill's "
                     "scratch directory setting; lifeboat does not change the mode of directories it did not create.",
                     set->dir, owner->name, failed);
    pthread_mutex_lock(&set->mu);
    set->searchChecked = true;
    pthread_mutex_unlock(&set->mu);
    return true;
}

/* The parent for a new set: parentDir, else $TMPDIR, else /tmp. As root,
 * a $TMPDIR the server's user cannot search gives way to /tmp. */
static const char *chooseParent(const char *parentDir) {
    if (parentDir && parentDir[0])
        return parentDir;
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        return "/tmp";
    PitrOwner owner;
    LbError ignored = {0};
    char failed[PATH_MAX];
    if (geteuid() == 0 && pitrOwnerResolve(NULL, &owner, &ignored) &&
        !ownerCanSearch(&owner, tmp, failed, sizeof(failed))) {
        lbLogInfo("scratch folder in /tmp: user '%s' cannot enter '%s' (TMPDIR)", owner.name, failed);
        return "/tmp";
    }
    return tmp;
}

ScratchSet *scratchSetNew(const char *parentDir, LbError *err) {
    const char *parent = chooseParent(parentDir);
    char *templ = lbXasprintf("%s/lifeboat-drill.XXXXXX", parent);
    if (mkdtemp(templ) == NULL) {
        lbErrSys(err, "unable to create a scratch folder in '%s'", parent);
        free(templ);
        return NULL;
    }
    char *real = realpath(templ, NULL);
    if (real == NULL) {
        lbErrSys(err, "unable to resolve scratch folder '%s'", templ);
        rmdir(templ);
        free(templ);
        return NULL;
    }
    free(templ);
    /* as root: the server's user may pass through, not list */
    if (geteuid() == 0 && chmod(real, 0711) != 0) {
        lbErrSys(err, "unable to set the mode of scratch folder '%s'", real);
        rmdir(real);
        free(real);
        return NULL;
    }
    ScratchSet *set = lbXcalloc(1, sizeof(*set));
    set->dir = real;
    pthread_mutex_init(&set->mu, NULL);
    return set;
}

const char *scratchSetDir(const ScratchSet *set) {
    return set->dir;
}

char *scratchSetPath(ScratchSet *set, const char *name) {
    while (name[0] == '/')
        name++;
    return lbXasprintf("%s/%s", set->dir, name);
}

bool scratchSetMkdir(ScratchSet *set, const char *name, char **pathOut, LbError *err) {
    if (pathOut)
        *pathOut = NULL;
    char *path = scratchSetPath(set, name);
    if (strstr(name, "..") != NULL) {
        lbErr(err, LB_ERR_ARGS, "unable to create scratch directory '%s': '..' is not allowed", name);
        free(path);
        return false;
    }
    size_t base = strlen(set->dir);
    for (char *p = path + base + 1; *p; p++) { /* the parents inside the set */
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc != 0 && errno != EEXIST) {
            lbErrSys(err, "unable to create scratch directory '%s'", path);
            free(path);
            return false;
        }
    }
    if (mkdir(path, 0700) != 0) {
        lbErrSys(err, "unable to create scratch directory '%s'", path);
        free(path);
        return false;
    }
    if (pathOut)
        *pathOut = path;
    else
        free(path);
    return true;
}

void scratchSetWatchPgid(ScratchSet *set, pid_t pgid) {
    pthread_mutex_lock(&set->mu);
    if (set->pgidCount == set->pgidCap) {
        set->pgidCap = set->pgidCap ? set->pgidCap * 2 : 8;
        set->pgids = lbXrealloc(set->pgids, set->pgidCap * sizeof(pid_t));
    }
    set->pgids[set->pgidCount++] = pgid;
    pthread_mutex_unlock(&set->mu);
}

void scratchSetUnwatchPgid(ScratchSet *set, pid_t pgid) {
    pthread_mutex_lock(&set->mu);
    for (size_t i = 0; i < set->pgidCount; i++) {
        if (set->pgids[i] == pgid) {
            set->pgids[i] = set->pgids[--set->pgidCount];
            break;
        }
    }
    pthread_mutex_unlock(&set->mu);
}

void scratchSetAddPg(ScratchSet *set, ScratchPg *pg) {
    pthread_mutex_lock(&set->mu);
    set->pgs = lbXrealloc(set->pgs, (set->pgCount + 1) * sizeof(*set->pgs));
    set->pgs[set->pgCount++] = pg;
    pthread_mutex_unlock(&set->mu);
}

/* SIGTERM every watched group, SIGKILL after a grace time. */
static void killGroups(ScratchSet *set) {
    if (set->pgidCount == 0)
        return;
    for (size_t i = 0; i < set->pgidCount; i++)
        kill(-set->pgids[i], SIGTERM);
    for (int waited = 0; waited < SCRATCH_TERM_WAIT_MS; waited += 20) {
        bool any = false;
        for (size_t i = 0; i < set->pgidCount && !any; i++) {
            pid_t one;
            any = procFind(PROC_BY_GROUP, set->pgids[i], &one, 1) > 0;
        }
        if (!any)
            break;
        scratchSleepMs(20);
    }
    for (size_t i = 0; i < set->pgidCount; i++)
        kill(-set->pgids[i], SIGKILL);
    set->pgidCount = 0;
}

/* The cleanup (see scratch.h): idempotent, under the set's mutex. */
static void cleanupSet(ScratchSet *set) {
    pthread_mutex_lock(&set->mu);
    if (!set->cleaned) {
        killGroups(set);
        for (size_t i = 0; i < set->pgCount; i++) {
            LbError err = {0};
            if (!scratchPgHalt(set->pgs[i], "immediate", &err))
                lbLogWarn("%s", err.msg);
        }
        sweepProcesses(set->dir);
        removeTree(set->dir);
        set->cleaned = true;
    }
    pthread_mutex_unlock(&set->mu);
}

/* ---- the signal guard: one thread for every guarded set ---- */

static pthread_mutex_t guardMu = PTHREAD_MUTEX_INITIALIZER;
static ScratchSet **guardSets;
static size_t guardCount;
static bool guardRunning;
static pthread_t guardThread;
static sigset_t guardOldMask;

static void guardSignalSet(sigset_t *s) {
    sigemptyset(s);
    sigaddset(s, SIGINT);
    sigaddset(s, SIGTERM);
    sigaddset(s, SIGHUP);
}

static void *guardMain(void *arg) {
    (void)arg;
    sigset_t s;
    guardSignalSet(&s);
    for (;;) {
        int sig = 0;
        if (sigwait(&s, &sig) != 0) /* a cancellation point: scratchSetFree stops us here */
            continue;
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        pthread_mutex_lock(&guardMu); /* held until _exit: no set can be freed meanwhile */
        fprintf(stderr, "lifeboat: %s: removing the drill's scratch servers and folders\n", strsignal(sig));
        for (size_t i = 0; i < guardCount; i++)
            cleanupSet(guardSets[i]);
        fflush(stderr);
        _exit(128 + sig);
    }
    return NULL;
}

bool scratchSetGuardSignals(ScratchSet *set, LbError *err) {
    pthread_mutex_lock(&guardMu);
    if (!guardRunning) {
        sigset_t s;
        guardSignalSet(&s);
        pthread_sigmask(SIG_BLOCK, &s, &guardOldMask);
        int rc = pthread_create(&guardThread, NULL, guardMain, NULL);
        if (rc != 0) {
            pthread_sigmask(SIG_SETMASK, &guardOldMask, NULL);
            pthread_mutex_unlock(&guardMu);
            errno = rc;
            return lbErrSys(err, "unable to start the thread that cleans up on signals");
        }
        guardRunning = true;
    }
    if (!set->guarded) {
        guardSets = lbXrealloc(guardSets, (guardCount + 1) * sizeof(*guardSets));
        guardSets[guardCount++] = set;
        set->guarded = true;
    }
    pthread_mutex_unlock(&guardMu);
    return true;
}

/* Take set out of the guard; stop the thread after the last one. */
static void guardRemove(ScratchSet *set) {
    bool stop = false;
    pthread_t thread;
    pthread_mutex_lock(&guardMu);
    for (size_t i = 0; i < guardCount; i++) {
        if (guardSets[i] == set) {
            guardSets[i] = guardSets[--guardCount];
            break;
        }
    }
    if (guardCount == 0 && guardRunning) {
        stop = true;
        thread = guardThread;
        guardRunning = false;
        free(guardSets);
        guardSets = NULL;
    }
    pthread_mutex_unlock(&guardMu);
    if (stop) {
        pthread_cancel(thread);
        pthread_join(thread, NULL);
        /* a signal that came meanwhile is delivered now, with its default action: nothing is left to clean */
        pthread_sigmask(SIG_SETMASK, &guardOldMask, NULL);
    }
}

void scratchSetFree(ScratchSet *set) {
    if (set == NULL)
        return;
    cleanupSet(set);
    if (set->guarded)
        guardRemove(set);
    for (size_t i = 0; i < set->pgCount; i++) {
        ScratchPg *pg = set->pgs[i];
        free(pg->dataDir);
        free(pg->binDir);
        free(pg->socketDir);
        free(pg->logPath);
        free(pg);
    }
    free(set->pgs);
    free(set->pgids);
    pthread_mutex_destroy(&set->mu);
    free(set->dir);
    free(set);
}
