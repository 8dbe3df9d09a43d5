/* pitr.c - point-in-time recovery: choose, extract, configure, start. */
#include "pg/pitr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/childenv.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pg/pgconn.h"
#include "pg/pgproc.h"
#include "pg/wal.h"
#include "restore/restore.h"
#include "restore/target.h"

extern char **environ;

#define POLL_MS 200

/* ---- targets ---- */

bool pitrActionParse(const char *text, PitrAction *action) {
    if (strcmp(text, "promote") == 0)
        *action = PITR_ACTION_PROMOTE;
    else if (strcmp(text, "pause") == 0)
        *action = PITR_ACTION_PAUSE;
    else if (strcmp(text, "shutdown") == 0)
        *action = PITR_ACTION_SHUTDOWN;
    else
        return false;
    return true;
}

const char *pitrActionName(PitrAction action) {
    return action == PITR_ACTION_PAUSE ? "pause" : action == PITR_ACTION_SHUTDOWN ? "shutdown" : "promote";
}

/* recovery_target_time in UTC with microseconds (PostgreSQL's precision) */
static void formatTargetTime(int64_t ns, char *out, size_t n) {
    time_t sec = (time_t)(ns / 1000000000);
    int64_t us = (ns % 1000000000) / 1000;
    if (us < 0) {
        sec--;
        us += 1000000;
    }
    struct tm tm;
    gmtime_r(&sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out, n, "%s.%06" PRId64 "+00", base, us);
}

void pitrTargetDescribe(const PitrTarget *t, char *out, size_t n) {
    char v[64];
    switch (t->kind) {
    case PITR_TARGET_TIME:
        formatTargetTime(t->timeNs, v, sizeof(v));
        snprintf(out, n, "time '%s'", v);
        return;
    case PITR_TARGET_LSN:
        walLsnFormat(t->lsn, v, sizeof(v));
        snprintf(out, n, "LSN %s", v);
        return;
    case PITR_TARGET_XID:
        snprintf(out, n, "transaction %" PRIu64, t->xid);
        return;
    case PITR_TARGET_IMMEDIATE:
        snprintf(out, n, "the end of the base backup");
        return;
    case PITR_TARGET_LATEST:
        break;
    }
    snprintf(out, n, "the end of the archived WAL");
}

/* Does the backup end before the target? */
static bool endsBefore(const BasebackupInfo *in, const PitrTarget *t) {
    switch (t->kind) {
    case PITR_TARGET_TIME:
        return in->stopNs <= t->timeNs;
    case PITR_TARGET_LSN:
        return in->stopLsn <= t->lsn;
    case PITR_TARGET_XID:
        return in->nextXidAtStop != 0 && in->nextXidAtStop <= t->xid;
    case PITR_TARGET_LATEST:
    case PITR_TARGET_IMMEDIATE:
        break;
    }
    return true;
}

static void describeEnd(const BasebackupInfo *in, const PitrTarget *t, char *out, size_t n) {
    char v[64];
    if (t->kind == PITR_TARGET_LSN) {
        walLsnFormat(in->stopLsn, v, sizeof(v));
        snprintf(out, n, "LSN %s", v);
    } else if (t->kind == PITR_TARGET_XID) {
        snprintf(out, n, "next transaction %" PRIu64, in->nextXidAtStop);
    } else {
        formatTargetTime(in->stopNs, v, sizeof(v));
        snprintf(out, n, "'%s'", v);
    }
}

bool pitrCheckSnapshot(const Snapshot *snap, const PitrTarget *target, BasebackupInfo *info, LbError *err) {
    char id[LB_ID_HEX_LEN + 1];
    lbIdToHex(&snap->id, id);
    if (snap->meta == NULL || !basebackupInfoFromJson(snap->meta, info, err))
        return lbErr(err, LB_ERR_ARGS, "snapshot %.8s is not a physical PostgreSQL backup", id);
    if (!endsBefore(info, target)) {
        char t[96], e[96];
        pitrTargetDescribe(target, t, sizeof(t));
        describeEnd(info, target, e, sizeof(e));
        return lbErr(err, LB_ERR_ARGS,
                     "snapshot %.8s cannot recover to %s: the base backup ends later, at %s. HINT: Choose an older "
                     "backup, or leave the snapshot out to have one chosen.",
                     id, t, e);
    }
    return true;
}

bool pitrChoose(const SnapshotList *list, const SnapshotFilter *filter, const PitrTarget *target, size_t *chosen,
                BasebackupInfo *info, LbError *err) {
    size_t candidates = 0;
    BasebackupInfo oldest = {0};
    bool found = false;
    for (size_t i = list->count; i-- > 0;) {
        const Snapshot *s = &list->items[i];
        BasebackupInfo in;
        LbError ignored = {0};
        if (!snapshotMatches(s, filter) || s->meta == NULL || !basebackupInfoFromJson(s->meta, &in, &ignored))
            continue;
        candidates++;
        oldest = in;
        if (endsBefore(&in, target)) {
            *chosen = i;
            *info = in;
            found = true;
            break;
        }
    }
    if (found)
        return true;
    if (candidates == 0)
        return lbErr(err, LB_ERR_NOT_FOUND,
                     "no physical PostgreSQL backup found%s. HINT: Take one with 'lifeboat backup --pg-physical'.",
                     filter && (filter->host || filter->component) ? " with the given host and component" : "");
    char t[96], e[96];
    pitrTargetDescribe(target, t, sizeof(t));
    describeEnd(&oldest, target, e, sizeof(e));
    return lbErr(err, LB_ERR_NOT_FOUND,
                 "no physical backup ends before %s: the oldest of %zu ends at %s, so recovery cannot stop there", t,
                 candidates, e);
}

/* ---- owner and directory ---- */

bool pitrOwnerResolve(const char *user, PitrOwner *owner, LbError *err) {
    memset(owner, 0, sizeof(*owner));
    if (geteuid() != 0) {
        struct passwd *me = getpwuid(geteuid());
        if (user && (me == NULL || strcmp(me->pw_name, user) != 0))
            return lbErr(err, LB_ERR_ARGS,
                         "--pg-user '%s' needs root: only root can give the data directory to another user", user);
        owner->uid = geteuid();
        owner->gid = getegid();
        snprintf(owner->name, sizeof(owner->name), "%s", me ? me->pw_name : "unknown");
        return true;
    }
    const char *name = user ? user : "postgres";
    struct passwd *pw = getpwnam(name);
    if (pw == NULL)
        return lbErr(err, LB_ERR_ARGS, "unknown user '%s'. HINT: As root, name the server's user with --pg-user.",
                     name);
    if (pw->pw_uid == 0)
        return lbErr(err, LB_ERR_ARGS, "PostgreSQL does not run as root: give --pg-user another user");
    owner->change = true;
    owner->uid = pw->pw_uid;
    owner->gid = pw->pw_gid;
    snprintf(owner->name, sizeof(owner->name), "%s", pw->pw_name);
    return true;
}

bool pitrPrepareDir(const char *dir, const PitrOwner *owner, LbError *err) {
    if (mkdir(dir, 0700) != 0) {
        if (errno != EEXIST)
            return lbErrSys(err, "unable to create data directory '%s'", dir);
        DIR *d = opendir(dir);
        if (d == NULL)
            return lbErrSys(err, "unable to open data directory '%s'", dir);
        struct dirent *e;
        bool empty = true;
        while ((e = readdir(d)) != NULL && empty)
            empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
        closedir(d);
        if (!empty)
            return lbErr(err, LB_ERR_EXISTS,
                         "unable to restore into '%s': the directory is not empty. HINT: Restore into a new or empty "
                         "directory; lifeboat never overwrites a data directory.",
                         dir);
    }
    if (owner->change && chown(dir, owner->uid, owner->gid) != 0)
        return lbErrSys(err, "unable to give '%s' to user '%s'", dir, owner->name);
    if (chmod(dir, 0700) != 0)
        return lbErrSys(err, "unable to set the mode of '%s'", dir);
    return true;
}

bool pitrChildBecome(const PitrOwner *owner) {
    if (!owner->change)
        return true;
    return setgroups(0, NULL) == 0 && setgid(owner->gid) == 0 && setuid(owner->uid) == 0;
}

bool pitrOwnerCanRead(const PitrOwner *owner, const char *const *paths, size_t count, LbError *err) {
    if (!owner->change || count == 0)
        return true;
    pid_t pid = fork();
    if (pid < 0)
        return lbErrSys(err, "unable to check access as user '%s'", owner->name);
    if (pid == 0) {
        if (!pitrChildBecome(owner))
            _exit(255);
        for (size_t i = 0; i < count; i++)
            if (access(paths[i], R_OK) != 0)
                _exit((int)i + 1);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
        return lbErr(err, LB_ERR_GENERIC, "unable to check access as user '%s'", owner->name);
    int code = WEXITSTATUS(status);
    if (code == 0)
        return true;
    return lbErr(err, LB_ERR_ARGS,
                 "user '%s' cannot read '%s', which the restored server's restore_command needs. HINT: Make it "
                 "readable by that user (and the repository readable and its directories searchable).",
                 owner->name, paths[code - 1]);
}

bool pitrExtract(Repo *repo, const Snapshot *snap, const char *dir, const PitrOwner *owner, uint64_t *bytes,
                 LbError *err) {
    Node node = {0};
    int fds[2] = {-1, -1};
    pid_t pid = -1;
    bool ok = false;
    *bytes = 0;
    if (!restoreFindPath(repo, snap, "/" BASEBACKUP_STREAM_NAME, &node, err))
        goto cleanup;
    if (node.type != NODE_FILE) {
        lbErr(err, LB_ERR_FORMAT, "'" BASEBACKUP_STREAM_NAME "' in the snapshot is not a file");
        goto cleanup;
    }
    if (pipe2(fds, O_CLOEXEC) != 0) {
        lbErrSys(err, "unable to create a pipe");
        goto cleanup;
    }
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024); /* fewer wake-ups of tar; the default stays if refused */
    pid = fork();
    if (pid < 0) {
        lbErrSys(err, "unable to start tar");
        goto cleanup;
    }
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        if (!pitrChildBecome(owner) || dup2(fds[0], STDIN_FILENO) < 0)
            _exit(126);
        char *argv[] = {"tar", "-x", "-p", "--no-same-owner", "-f", "-", "-C", (char *)dir, NULL};
        lbChildEnvScrub(environ, LB_CHILD_ENV_STRICT);
        execvp("tar", argv);
        _exit(127);
    }
    close(fds[0]);
    fds[0] = -1;
    bool sent = restoreToFd(repo, snap, "/" BASEBACKUP_STREAM_NAME, fds[1], NULL, err);
    close(fds[1]);
    fds[1] = -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    pid = -1;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        if (WIFEXITED(status) && WEXITSTATUS(status) >= 126)
            lbErr(err, LB_ERR_COMMAND, "unable to run tar as user '%s' to extract the base backup", owner->name);
        else
            lbErr(err, LB_ERR_COMMAND, "tar failed extracting the base backup into '%s' (%s %d)%s", dir,
                  WIFEXITED(status) ? "exit status" : "signal",
                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), sent ? "" : ", see above");
        goto cleanup;
    }
    if (!sent) {
        lbErrorWrap(err, "unable to restore the base backup");
        goto cleanup;
    }
    *bytes = node.size;
    ok = true;
cleanup:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
    nodeClear(&node);
    return ok;
}

/* ---- configuration ---- */

char *pitrConfQuote(const char *value) {
    LbBuf b = {0};
    lbBufAppendStr(&b, "'");
    for (const char *p = value; *p; p++) {
        if (*p == '\'')
            lbBufAppendStr(&b, "''");
        else if (*p == '\\')
            lbBufAppendStr(&b, "\\\\");
        else
            lbBufAppend(&b, p, 1);
    }
    lbBufAppend(&b, "'", 2);
    return (char *)lbBufTake(&b, NULL);
}

char *pitrShellQuote(const char *value) {
    LbBuf b = {0};
    lbBufAppendStr(&b, "'");
    for (const char *p = value; *p; p++) {
        if (*p == '\'')
            lbBufAppendStr(&b, "'\\''");
        else
            lbBufAppend(&b, p, 1);
    }
    lbBufAppend(&b, "'", 2);
    return (char *)lbBufTake(&b, NULL);
}

char *pitrRestoreCommand(const char *lifeboatPath, const char *repository, const char *passwordFile,
                         const char *passwordCommand) {
    LbBuf b = {0};
    char *q = pitrShellQuote(repository);
    lbBufAppendStr(&b, "LIFEBOAT_REPOSITORY=");
    lbBufAppendStr(&b, q);
    free(q);
    if (passwordFile) {
        q = pitrShellQuote(passwordFile);
        lbBufAppendStr(&b, " LIFEBOAT_PASSWORD_FILE=");
    } else {
        q = pitrShellQuote(passwordCommand ? passwordCommand : "");
        lbBufAppendStr(&b, " LIFEBOAT_PASSWORD_COMMAND=");
    }
    lbBufAppendStr(&b, q);
    free(q);
    q = pitrShellQuote(lifeboatPath);
    lbBufAppendStr(&b, " ");
    lbBufAppendStr(&b, q);
    free(q);
    lbBufAppendStr(&b, " wal-fetch %f \"%p\"");
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

/* Is line a setting of a parameter lifeboat sets (so an older value would
 * conflict with ours)? */
static bool isRecoverySetting(const char *line) {
    while (*line == ' ' || *line == '\t')
        line++;
    return strncmp(line, "restore_command", 15) == 0 || strncmp(line, "recovery_target", 15) == 0;
}

static void appendSetting(LbBuf *b, const char *name, const char *value) {
    char *q = pitrConfQuote(value);
    lbBufAppendStr(b, name);
    lbBufAppendStr(b, " = ");
    lbBufAppendStr(b, q);
    lbBufAppendStr(b, "\n");
    free(q);
}

/* Write path (mode 0600, owner) through a temporary file and a rename. */
static bool writeFileAs(const char *path, const uint8_t *data, size_t len, const PitrOwner *owner, LbError *err) {
    char *tmp = lbXasprintf("%s.lifeboat-tmp", path);
    bool ok = false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        lbErrSys(err, "unable to write '%s'", tmp);
        goto cleanup;
    }
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            lbErrSys(err, "unable to write '%s'", tmp);
            close(fd);
            goto cleanup;
        }
        done += (size_t)w;
    }
    if ((owner->change && fchown(fd, owner->uid, owner->gid) != 0) || fsync(fd) != 0) {
        lbErrSys(err, "unable to write '%s'", tmp);
        close(fd);
        goto cleanup;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        lbErrSys(err, "unable to rename '%s'", tmp);
        goto cleanup;
    }
    ok = true;
cleanup:
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok;
}

bool pitrWriteConfig(const char *dir, const PitrConfig *cfg, const PitrOwner *owner, LbError *err) {
    char *autoPath = lbXasprintf("%s/postgresql.auto.conf", dir);
    char *labelPath = lbXasprintf("%s/backup_label", dir);
    char *signalPath = lbXasprintf("%s/recovery.signal", dir);
    LbBuf out = {0};
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    bool ok = false;
    if (access(labelPath, F_OK) != 0) {
        lbErr(err, LB_ERR_FORMAT, "unable to configure recovery: '%s' has no backup_label (not a base backup?)", dir);
        goto cleanup;
    }
    f = fopen(autoPath, "r");
    if (f == NULL && errno != ENOENT) {
        lbErrSys(err, "unable to read '%s'", autoPath);
        goto cleanup;
    }
    while (f && getline(&line, &cap, f) >= 0) {
        if (isRecoverySetting(line))
            lbBufAppendStr(&out, "# (disabled by lifeboat restore) ");
        lbBufAppendStr(&out, line);
    }
    if (out.len > 0 && out.data[out.len - 1] != '\n')
        lbBufAppendStr(&out, "\n");
    lbBufAppendStr(&out, "\n# ");
    lbBufAppendStr(&out, cfg->comment ? cfg->comment : "lifeboat point-in-time recovery");
    lbBufAppendStr(&out, "\n");
    appendSetting(&out, "restore_command", cfg->restoreCommand);
    const PitrTarget *t = cfg->target;
    char v[64];
    switch (t->kind) {
    case PITR_TARGET_TIME:
        formatTargetTime(t->timeNs, v, sizeof(v));
        appendSetting(&out, "recovery_target_time", v);
        break;
    case PITR_TARGET_LSN:
        walLsnFormat(t->lsn, v, sizeof(v));
        appendSetting(&out, "recovery_target_lsn", v);
        break;
    case PITR_TARGET_XID:
        snprintf(v, sizeof(v), "%" PRIu64, t->xid);
        appendSetting(&out, "recovery_target_xid", v);
        break;
    case PITR_TARGET_IMMEDIATE:
        appendSetting(&out, "recovery_target", "immediate");
        break;
    case PITR_TARGET_LATEST:
        break;
    }
    if (t->kind == PITR_TARGET_TIME || t->kind == PITR_TARGET_LSN || t->kind == PITR_TARGET_XID)
        appendSetting(&out, "recovery_target_inclusive", t->exclusive ? "off" : "on");
    if (t->kind != PITR_TARGET_LATEST)
        appendSetting(&out, "recovery_target_action", pitrActionName(t->action));
    appendSetting(&out, "recovery_target_timeline", "latest");
    if (cfg->port > 0) {
        snprintf(v, sizeof(v), "%d", cfg->port);
        appendSetting(&out, "port", v);
    }
    for (size_t i = 0; i < cfg->settingCount; i++) {
        const char *eq = strchr(cfg->settings[i], '=');
        char *name = lbXasprintf("%.*s", (int)(eq - cfg->settings[i]), cfg->settings[i]);
        appendSetting(&out, name, eq + 1);
        free(name);
    }
    if (!writeFileAs(autoPath, out.data, out.len, owner, err) || !writeFileAs(signalPath, NULL, 0, owner, err))
        goto cleanup;
    ok = true;
cleanup:
    if (f)
        fclose(f);
    free(line);
    lbBufFree(&out);
    free(autoPath);
    free(labelPath);
    free(signalPath);
    return ok;
}

/* ---- start and wait ---- */

/* The last lines of the server log, for messages. Caller frees. */
static char *logTail(const char *path, size_t maxBytes) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return lbXstrdup("(no server log)");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > (long)maxBytes ? size - (long)maxBytes : 0;
    fseek(f, from, SEEK_SET);
    char *buf = lbXcalloc((size_t)(size - from) + 1, 1);
    size_t got = fread(buf, 1, (size_t)(size - from), f);
    buf[got] = '\0';
    fclose(f);
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
        buf[--got] = '\0';
    return buf;
}

/* postmaster.pid: pid, data dir, start time, port, socket dir, listen address, ... */
static bool readPostmasterPid(const char *dir, pid_t *pid, int *port, char *socketDir, size_t n) {
    char *path = lbXasprintf("%s/postmaster.pid", dir);
    FILE *f = fopen(path, "r");
    free(path);
    if (f == NULL)
        return false;
    char line[1024];
    int lineNo = 0;
    bool ok = false;
    socketDir[0] = '\0';
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        lineNo++;
        if (lineNo == 1)
            *pid = (pid_t)strtol(line, NULL, 10);
        else if (lineNo == 4)
            *port = (int)strtol(line, NULL, 10);
        else if (lineNo == 5) {
            snprintf(socketDir, n, "%s", line);
            ok = *pid > 0 && *port > 0;
        }
    }
    fclose(f);
    return ok;
}

static void sleepMs(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One look at the server: true with *done when recovery is over as the
 * action wants. Connection failures are normal while it starts. */
static void probeServer(const char *socketDir, int port, const char *user, PitrAction action, bool *done) {
    char portText[16];
    snprintf(portText, sizeof(portText), "%d", port);
    LbError err = {0};
    PgConnInfo *ci = pgconnInfoNew("", &err);
    *done = false;
    if (ci == NULL)
        return;
    pgconnInfoSet(ci, "host", socketDir[0] ? socketDir : "localhost");
    pgconnInfoSet(ci, "port", portText);
    pgconnInfoSet(ci, "dbname", "postgres");
    pgconnInfoSet(ci, "connect_timeout", "5");
    if (user)
        pgconnInfoSet(ci, "user", user);
    PgConn *c = pgconnOpen(ci, &err);
    if (c) {
        const char *sql = action == PITR_ACTION_PAUSE
                              ? (pgconnServerVersionNum(c) >= 140000
                                     ? "SELECT (NOT pg_is_in_recovery() OR pg_get_wal_replay_pause_state() = "
                                       "'paused')::text"
                                     : "SELECT (NOT pg_is_in_recovery() OR pg_is_wal_replay_paused())::text")
                              : "SELECT (NOT pg_is_in_recovery())::text";
        char *v = pgconnQueryValue(c, sql, &err);
        *done = v != NULL && strcmp(v, "true") == 0;
        free(v);
        pgconnClose(c);
    } else {
        lbLogDebug("waiting for the server: %s", err.msg);
    }
    pgconnInfoFree(ci);
}

/* The child's work: runs as the owner. Writes a message to msgFd on failure. */
static int startChild(const PitrStartOptions *o, const char *pgCtl, const char *logFile, const char *user, int msgFd) {
    LbError err = {0};
    PgProc *proc = NULL;
    char timeout[16];
    int limit = o->timeoutSeconds > 0 ? o->timeoutSeconds : 3600;
    snprintf(timeout, sizeof(timeout), "%d", limit);
    /* -w returns once the server accepts (read-only) connections, which in
     * archive recovery is when it is consistent, or fails at once when the
     * server stops */
    char *argv[] = {"pg_ctl", "-D", (char *)o->dir, "-l", (char *)logFile, "-w", "-t", timeout, "start", NULL};
    double start = lbMonotonicSeconds();
    /* the server's restore_command runs lifeboat wal-fetch, which may need
     * the S3 credentials of the environment (never the repository password:
     * restore_command names a password file or command) */
    proc = pgprocStartP(pgCtl, argv, &err, .envFlags = LB_CHILD_ENV_KEEP_S3);
    if (proc == NULL || !pgprocWait(proc, &err)) {
        pid_t pid = 0;
        int port = 0;
        char sock[8];
        /* a server that stopped at its target as asked is done */
        if (proc && o->action == PITR_ACTION_SHUTDOWN && !readPostmasterPid(o->dir, &pid, &port, sock, sizeof(sock)))
            goto stopped;
        goto fail;
    }
    pgprocFree(proc);
    proc = NULL;
    pid_t pid = 0;
    int port = 0;
    char socketDir[1024] = "";
    if (!readPostmasterPid(o->dir, &pid, &port, socketDir, sizeof(socketDir))) {
        if (o->action == PITR_ACTION_SHUTDOWN)
            goto stopped;
        lbErr(&err, LB_ERR_GENERIC, "the server stopped during recovery");
        goto fail;
    }
    for (;;) {
        if (lbMonotonicSeconds() - start > limit) {
            lbErr(&err, LB_ERR_GENERIC, "the server did not finish recovery within %d s (it still runs)", limit);
            goto fail;
        }
        if (kill(pid, 0) != 0) {
            if (o->action == PITR_ACTION_SHUTDOWN)
                goto stopped;
            lbErr(&err, LB_ERR_GENERIC, "the server stopped during recovery");
            goto fail;
        }
        if (o->action != PITR_ACTION_SHUTDOWN) {
            bool done = false;
            probeServer(socketDir, port, user, o->action, &done);
            if (done)
                return 0;
        }
        sleepMs(POLL_MS);
    }
stopped:
    pgprocFree(proc);
    return 0;
fail:
    pgprocFree(proc);
    if (msgFd >= 0) {
        ssize_t w = write(msgFd, err.msg, strlen(err.msg));
        (void)w;
    }
    return 1;
}

pid_t pitrForkPiped(int fds[2], const char *what, LbError *err) {
    if (pipe2(fds, O_CLOEXEC) != 0) {
        lbErrSys(err, "unable to create a pipe");
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        lbErrSys(err, "unable to %s", what);
    return pid;
}

int pitrChildCollect(pid_t pid, int fd, char *out, size_t n, size_t *got) {
    *got = 0;
    for (;;) {
        char chunk[512];
        ssize_t r = read(fd, chunk, sizeof(chunk));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r < n - 1 - *got ? (size_t)r : n - 1 - *got;
        memcpy(out + *got, chunk, take);
        *got += take;
    }
    out[*got] = '\0';
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

bool pitrStart(const PitrStartOptions *opts, const PitrOwner *owner, double *seconds, LbError *err) {
    char *pgCtl = pgprocFind(opts->pgBin, "pg_ctl", err);
    char *logFile = opts->logFile ? lbXstrdup(opts->logFile) : lbXasprintf("%s/lifeboat-recovery.log", opts->dir);
    int fds[2] = {-1, -1};
    bool ok = false;
    double t0 = lbMonotonicSeconds();
    const char *user = opts->dbUser ? opts->dbUser : getenv("PGUSER") ? getenv("PGUSER") : owner->name;
    *seconds = 0;
    if (pgCtl == NULL)
        goto cleanup;
    pid_t pid = pitrForkPiped(fds, "start the server", err);
    if (pid < 0)
        goto cleanup;
    if (pid == 0) {
        close(fds[0]);
        if (!pitrChildBecome(owner)) {
            static const char msg[] = "unable to switch to the server's user";
            ssize_t w = write(fds[1], msg, sizeof(msg) - 1);
            (void)w;
            _exit(1);
        }
        _exit(startChild(opts, pgCtl, logFile, user, fds[1]));
    }
    close(fds[1]);
    fds[1] = -1;
    char msg[LB_ERROR_MSG_MAX];
    size_t got = 0;
    int status = pitrChildCollect(pid, fds[0], msg, sizeof(msg), &got);
    *seconds = lbMonotonicSeconds() - t0;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char *tail = logTail(logFile, 1500);
        lbErr(err, LB_ERR_GENERIC, "%s; the server log '%s' ends with:\n%s", got ? msg : "unable to start the server",
              logFile, tail);
        free(tail);
        goto cleanup;
    }
    ok = true;
cleanup:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    free(pgCtl);
    free(logFile);
    return ok;
}
