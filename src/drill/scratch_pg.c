/* scratch_pg.c - throwaway PostgreSQL servers inside a scratch set (see scratch.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/childenv.h"
#include "common/log.h"
#include "drill/scratch.h"
#include "drill/scratch_int.h"
#include "pg/pgconn.h"

extern char **environ;

#define PG_LIB_ROOT "/usr/lib/postgresql"
#define START_TIMEOUT "120" /* seconds pg_ctl start -w may wait */
#define STOP_TIMEOUT "30"

/* ---- running a program as the server's user ---- */

/* The last maxBytes of a log file, for messages. Caller frees. */
static char *logTail(const char *path, long maxBytes) {
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f == NULL)
        return lbXstrdup("(no log)");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > maxBytes ? size - maxBytes : 0;
    fseek(f, from, SEEK_SET);
    char *buf = lbXcalloc((size_t)(size - from) + 1, 1);
    size_t got = fread(buf, 1, (size_t)(size - from), f);
    fclose(f);
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
        got--;
    buf[got] = '\0';
    return buf;
}

bool scratchRunAs(const PitrOwner *owner, const char *path, char *const *argv, const char *cwd, const char *logPath,
                  ScratchSet *watch, LbError *err) {
    int out = logPath ? open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)
                      : open("/dev/null", O_WRONLY | O_CLOEXEC);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || in < 0) {
        lbErrSys(err, "unable to run %s: unable to open '%s'", argv[0], logPath ? logPath : "/dev/null");
        if (out >= 0)
            close(out);
        if (in >= 0)
            close(in);
        return false;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(out);
        close(in);
        return lbErrSys(err, "unable to start %s", argv[0]);
    }
    if (pid == 0) { /* async-signal-safe calls only until exec */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setpgid(0, 0);
        if (owner->change && (setgroups(0, NULL) != 0 || setgid(owner->gid) != 0 || setuid(owner->uid) != 0))
            _exit(126);
        if ((cwd && chdir(cwd) != 0) || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
            dup2(out, STDERR_FILENO) < 0)
            _exit(126);
        lbChildEnvScrub(environ, LB_CHILD_ENV_STRICT);
        execv(path, argv);
        _exit(127);
    }
    setpgid(pid, pid); /* also in the parent: the group exists before it is watched */
    close(out);
    close(in);
    if (watch)
        scratchSetWatchPgid(watch, pid);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (watch)
        scratchSetUnwatchPgid(watch, pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
        return lbErr(err, LB_ERR_COMMAND, "unable to run %s as user '%s'", argv[0], owner->name);
    return lbErr(err, LB_ERR_COMMAND, "%s failed (%s %d)", argv[0], WIFEXITED(status) ? "exit status" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* ---- binaries ---- */

static bool isExecutable(const char *dir, const char *name) {
    char *p = lbXasprintf("%s/%s", dir, name);
    bool ok = access(p, X_OK) == 0;
    free(p);
    return ok;
}

/* The newest major under PG_LIB_ROOT that has initdb; 0 when none. */
static int newestMajor(void) {
    DIR *d = opendir(PG_LIB_ROOT);
    int best = 0;
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long v = strtol(e->d_name, &end, 10);
        if (*end != '\0' || v <= 0 || v > 1000 || v <= best)
            continue;
        char *bin = lbXasprintf(PG_LIB_ROOT "/%ld/bin", v);
        if (isExecutable(bin, "initdb"))
            best = (int)v;
        free(bin);
    }
    closedir(d);
    return best;
}

char *scratchPgBinDir(int major, LbError *err) {
    if (major < 0)
        return lbErr(err, LB_ERR_ARGS, "invalid PostgreSQL major version %d", major), NULL;
    if (major == 0) {
        major = newestMajor();
        if (major == 0)
            return lbErr(err, LB_ERR_NOT_FOUND,
                         "unable to find PostgreSQL server programs in '" PG_LIB_ROOT
                         "'. HINT: Install them (Debian: apt-get install postgresql)."),
                   NULL;
    }
    char *dir = lbXasprintf(PG_LIB_ROOT "/%d/bin", major);
    static const char *const needed[] = {"initdb", "pg_ctl", "postgres"};
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        if (!isExecutable(dir, needed[i])) {
            lbErr(err, LB_ERR_NOT_FOUND,
                  "PostgreSQL %d server programs are not installed ('%s/%s' is missing). HINT: Install them "
                  "(Debian: apt-get install postgresql-%d).",
                  major, dir, needed[i], major);
            free(dir);
            return NULL;
        }
    }
    return dir;
}

/* ---- start, adopt, stop ---- */

/* postmaster.pid's first line, or 0. */
static pid_t postmasterPid(const char *dataDir) {
    char *path = lbXasprintf("%s/postmaster.pid", dataDir);
    FILE *f = fopen(path, "r");
    free(path);
    if (f == NULL)
        return 0;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    return (pid_t)pid;
}

pid_t scratchPgPid(const ScratchPg *pg) {
    pid_t pid = postmasterPid(pg->dataDir);
    return scratchProcAlive(pid) ? pid : 0;
}

bool scratchPgHalt(ScratchPg *pg, const char *mode, LbError *err) {
    pid_t pid = postmasterPid(pg->dataDir);
    pg->stopped = true;
    if (!scratchProcAlive(pid))
        return true;
    char *pgCtl = lbXasprintf("%s/pg_ctl", pg->binDir);
    char *argv[] = {pgCtl, "-D", pg->dataDir, "-m", (char *)mode, "-w", "-t", STOP_TIMEOUT, "stop", NULL};
    LbError ctlErr = {0};
    if (!scratchRunAs(&pg->owner, pgCtl, argv, "/", pg->logPath, NULL, &ctlErr))
        lbLogDebug("scratch: %s", ctlErr.msg);
    free(pgCtl);
    /* pg_ctl may be missing or refuse: immediate shutdown by hand, then SIGKILL */
    if (scratchProcAlive(pid)) {
        kill(pid, SIGQUIT);
        for (int waited = 0; waited < 5000 && scratchProcAlive(pid); waited += 20)
            scratchSleepMs(20);
    }
    if (scratchProcAlive(pid))
        scratchProcKillTree(pid, 5000);
    if (scratchProcAlive(pid))
        return lbErr(err, LB_ERR_GENERIC, "unable to stop the scratch server of '%s' (process %d)", pg->dataDir,
                     (int)pid);
    return true;
}

bool scratchPgStop(ScratchPg *pg, LbError *err) {
    return scratchPgHalt(pg, "fast", err);
}

/* Settings for a server whose data is thrown away. */
static bool writeConfig(const ScratchPg *pg, LbError *err) {
    char *path = lbXasprintf("%s/postgresql.conf", pg->dataDir);
    FILE *f = fopen(path, "a");
    bool ok = false;
    if (f == NULL) {
        lbErrSys(err, "unable to write '%s'", path);
        goto cleanup;
    }
    char *sock = pitrConfQuote(pg->socketDir);
    fprintf(f,
            "\n# lifeboat drill: a scratch server, removed after the drill\n"
            "listen_addresses = ''\n"
            "port = %d\n"
            "unix_socket_directories = %s\n"
            "unix_socket_permissions = 0700\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "wal_level = minimal\n"
            "max_wal_senders = 0\n"
            "archive_mode = off\n"
            "logging_collector = off\n"
            "log_min_messages = warning\n",
            pg->port, sock);
    free(sock);
    ok = fclose(f) == 0;
    if (!ok)
        lbErrSys(err, "unable to write '%s'", path);
cleanup:
    free(path);
    return ok;
}

/* Connect once: the server answers. */
static bool probe(const ScratchPg *pg, LbError *err) {
    char *conn = scratchPgConnString(pg, "postgres");
    PgConnInfo *info = pgconnInfoNew(conn, err);
    free(conn);
    if (info == NULL)
        return false;
    PgConn *c = pgconnOpen(info, err);
    pgconnInfoFree(info);
    if (c == NULL)
        return false;
    char *v = pgconnQueryValue(c, "SELECT 1", err);
    pgconnClose(c);
    bool ok = v != NULL;
    free(v);
    return ok;
}

static ScratchPg *pgNew(ScratchSet *set, const char *dataDir, const char *binDir, int port, const char *socketDir,
                        const PitrOwner *owner) {
    ScratchPg *pg = lbXcalloc(1, sizeof(*pg));
    pg->set = set;
    pg->dataDir = lbXstrdup(dataDir);
    pg->binDir = lbXstrdup(binDir);
    pg->socketDir = lbXstrdup(socketDir);
    pg->port = port;
    pg->owner = *owner;
    return pg;
}

ScratchPg *scratchPgStart(ScratchSet *set, int major, LbError *err) {
    PitrOwner owner;
    char *binDir = scratchPgBinDir(major, err);
    char *serverDir = NULL, *dataDir = NULL, *setupLog = NULL, *path = NULL;
    ScratchPg *pg = NULL;
    if (binDir == NULL || !pitrOwnerResolve(NULL, &owner, err) || !scratchCheckSearch(set, &owner, err))
        goto cleanup;
    pthread_mutex_lock(&set->mu);
    int seq = ++set->pgSeq;
    pthread_mutex_unlock(&set->mu);
    serverDir = lbXasprintf("%s/pg-%d", set->dir, seq);
    struct sockaddr_un sun;
    if (strlen(serverDir) + sizeof("/.s.PGSQL.65535") > sizeof(sun.sun_path)) {
        lbErr(err, LB_ERR_ARGS,
              "unable to start a scratch server in '%s': the path is too long for a Unix socket (%zu bytes at "
              "most). HINT: Use a shorter scratch directory, such as /tmp.",
              serverDir, sizeof(sun.sun_path) - sizeof("/pg-1/.s.PGSQL.65535"));
        goto cleanup;
    }
    if (!pitrPrepareDir(serverDir, &owner, err))
        goto cleanup;
    dataDir = lbXasprintf("%s/data", serverDir);
    setupLog = lbXasprintf("%s/setup.log", serverDir);
    pg = pgNew(set, dataDir, binDir, SCRATCH_PG_PORT, serverDir, &owner);
    pg->logPath = lbXasprintf("%s/server.log", serverDir);
    scratchSetAddPg(set, pg); /* from now on the cleanup stops it, whatever happens below */

    path = lbXasprintf("%s/initdb", binDir);
    /* argv[0] the full path: initdb and pg_ctl find postgres beside themselves through it */
    char *initdb[] = {path, "-D",   dataDir,       "-U",        "postgres", "--auth=trust",
                      "-E", "UTF8", "--no-locale", "--no-sync", NULL};
    if (!scratchRunAs(&owner, path, initdb, serverDir, setupLog, set, err)) {
        char *tail = logTail(setupLog, 1500);
        lbErrorWrap(err, "unable to create a scratch PostgreSQL cluster in '%s' (%s)", dataDir, tail);
        free(tail);
        pg = NULL;
        goto cleanup;
    }
    if (!writeConfig(pg, err)) {
        pg = NULL;
        goto cleanup;
    }
    free(path);
    path = lbXasprintf("%s/pg_ctl", binDir);
    char *start[] = {path, "-D", dataDir, "-l", pg->logPath, "-w", "-t", START_TIMEOUT, "start", NULL};
    if (!scratchRunAs(&owner, path, start, serverDir, setupLog, set, err) || !probe(pg, err)) {
        char *tail = logTail(pg->logPath, 1500);
        lbErrorWrap(err, "unable to start the scratch PostgreSQL server in '%s' (server log: %s)", dataDir, tail);
        free(tail);
        pg = NULL;
        goto cleanup;
    }
cleanup:
    free(binDir);
    free(serverDir);
    free(dataDir);
    free(setupLog);
    free(path);
    return pg;
}

/* Is path (resolved) inside the set's folder? */
static bool insideSet(const ScratchSet *set, const char *path) {
    char *real = realpath(path, NULL);
    size_t n = strlen(set->dir);
    bool inside = real && strncmp(real, set->dir, n) == 0 && real[n] == '/';
    free(real);
    return inside;
}

ScratchPg *scratchPgAdopt(ScratchSet *set, const char *dataDir, const char *binDir, int port, const char *socketDir,
                          LbError *err) {
    struct stat st;
    if (stat(dataDir, &st) != 0)
        return lbErrSys(err, "unable to adopt the scratch server of '%s'", dataDir), NULL;
    if (!insideSet(set, dataDir))
        return lbErr(err, LB_ERR_ARGS, "unable to adopt the server of '%s': it is not inside the scratch folder '%s'",
                     dataDir, set->dir),
               NULL;
    PitrOwner owner = {0};
    owner.uid = st.st_uid;
    owner.gid = st.st_gid;
    owner.change = geteuid() == 0 && st.st_uid != 0;
    struct passwd *pw = getpwuid(st.st_uid);
    snprintf(owner.name, sizeof(owner.name), "%s", pw ? pw->pw_name : "unknown");
    ScratchPg *pg = pgNew(set, dataDir, binDir, port, socketDir ? socketDir : dataDir, &owner);
    scratchSetAddPg(set, pg);
    return pg;
}

int scratchPgPort(const ScratchPg *pg) {
    return pg->port;
}

const char *scratchPgSocketDir(const ScratchPg *pg) {
    return pg->socketDir;
}

const char *scratchPgBinPath(const ScratchPg *pg) {
    return pg->binDir;
}

const char *scratchPgDataDir(const ScratchPg *pg) {
    return pg->dataDir;
}

/* Append 'value' quoted for a libpq keyword/value string. */
static void connAppend(LbBuf *b, const char *key, const char *value) {
    if (b->len > 0)
        lbBufAppendStr(b, " ");
    lbBufAppendStr(b, key);
    lbBufAppendStr(b, "='");
    for (const char *p = value; *p; p++) {
        if (*p == '\'' || *p == '\\')
            lbBufAppend(b, "\\", 1);
        lbBufAppend(b, p, 1);
    }
    lbBufAppendStr(b, "'");
}

char *scratchPgConnString(const ScratchPg *pg, const char *dbname) {
    LbBuf b = {0};
    char port[16];
    snprintf(port, sizeof(port), "%d", pg->port);
    connAppend(&b, "host", pg->socketDir);
    connAppend(&b, "port", port);
    connAppend(&b, "user", "postgres");
    connAppend(&b, "dbname", dbname ? dbname : "postgres");
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}
