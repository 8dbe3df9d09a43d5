/* walstream.c - wal-stream's receiver: pg_receivewal --synchronous, supervised (pg/walstream.h). */
#include "pg/walstream.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "pg/pgproc.h"

/* the loop's tick, and how often the slot's lag is asked */
#define WALSTREAM_TICK_MS 200
#define WALSTREAM_LAG_INTERVAL 5.0
/* restart backoff for pg_receivewal, and how long it must have run for the
 * backoff to start again from its minimum */
#define WALSTREAM_BACKOFF_MIN 1.0
#define WALSTREAM_BACKOFF_MAX 30.0
#define WALSTREAM_STABLE_RUN 30.0
/* how long a stopping pg_receivewal gets before SIGTERM */
#define WALSTREAM_STOP_WAIT 10.0

typedef struct Stream {
    Repo *repo;
    const WalstreamOptions *o;
    char *recvDir, *statusPath, *receivewal;
    PgConnInfo *streamInfo; /* application_name = the slot unless given */
    PgConnInfo *queryInfo;  /* for the slot's creation and lag */
    PgConn *query;
    PgProc *child;
    double childStarted, nextStart, backoff, nextLag;
    bool slotReady;
    WalstreamStatus status;
    WalstreamSpool *spool;
} Stream;

static void sleepMs(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL); /* a signal ends it early: the loop then looks at stop */
}

static bool makeDir(const char *path, LbError *err) {
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return lbErrSys(err, "unable to create the spool '%s'", path);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return lbErr(err, LB_ERR_ARGS, "unable to use the spool '%s': not a directory", path);
    if (st.st_mode & 0022)
        return lbErr(err, LB_ERR_ARGS,
                     "unable to use the spool '%s': others can write to it. HINT: chmod 700 the directory.", path);
    return true;
}

/* ---- status file (for the daemon's metrics) ---- */

static void writeStatus(Stream *s) {
    WalstreamSpoolStats st;
    walstreamSpoolStats(s->spool, &st);
    json_t *j = json_object();
    json_object_set_new(j, "slot", json_string(s->o->slot));
    json_object_set_new(j, "connected", json_boolean(s->child != NULL));
    if (s->status.hasLag)
        json_object_set_new(j, "lag_bytes", json_integer((json_int_t)s->status.lagBytes));
    json_object_set_new(j, "segments_uploaded", json_integer((json_int_t)st.segments));
    json_object_set_new(j, "last_segment", json_string(st.lastSegment));
    json_object_set_new(j, "last_partial", json_string(st.lastPartial));
    json_object_set_new(j, "updated_ns", json_integer((json_int_t)lbNowNs()));
    json_object_set_new(j, "pid", json_integer((json_int_t)getpid()));
    char *tmp = lbXasprintf("%s.tmp", s->statusPath);
    if (json_dump_file(j, tmp, JSON_COMPACT) != 0 || rename(tmp, s->statusPath) != 0)
        lbLogWarn("unable to write '%s'", s->statusPath);
    free(tmp);
    json_decref(j);
}

bool walstreamStatusRead(const char *spool, WalstreamStatus *status, LbError *err) {
    char *path = lbXasprintf("%s/" WALSTREAM_STATUS_FILE, spool);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    memset(status, 0, sizeof(*status));
    bool ok = j != NULL && json_is_object(j);
    if (!ok) {
        lbErr(err, LB_ERR_NOT_FOUND, "unable to read '%s': %s", path, jerr.text);
    } else {
        json_t *lag = json_object_get(j, "lag_bytes");
        status->connected = json_is_true(json_object_get(j, "connected"));
        status->hasLag = json_is_integer(lag);
        status->lagBytes = status->hasLag ? (int64_t)json_integer_value(lag) : 0;
        status->updatedNs = (int64_t)json_integer_value(json_object_get(j, "updated_ns"));
        const char *slot = json_string_value(json_object_get(j, "slot"));
        snprintf(status->slot, sizeof(status->slot), "%s", slot ? slot : "");
    }
    json_decref(j);
    free(path);
    return ok;
}

char *walstreamDaemonSpool(const char *stateDir, const char *component) {
    return lbXasprintf("%s/wal-stream/%s", stateDir, component);
}

/* ---- the server: slot and lag ---- */

static PgConn *queryConn(Stream *s, LbError *err) {
    if (s->query == NULL)
        s->query = pgconnOpen(s->queryInfo, err);
    return s->query;
}

static void dropQueryConn(Stream *s) {
    pgconnClose(s->query);
    s->query = NULL;
}

/* Create the physical slot (reserving WAL now) unless it exists. */
static bool ensureSlot(Stream *s, LbError *err) {
    PgConn *c = queryConn(s, err);
    if (c == NULL)
        return false;
    const char *params[] = {s->o->slot};
    PGresult *r = pgconnQuery(c,
                              "SELECT slot_type, (SELECT count(*) FROM pg_create_physical_replication_slot($1, true)) "
                              "FROM (SELECT 'physical'::text AS slot_type) x WHERE NOT EXISTS "
                              "(SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
                              1, params, err);
    if (r == NULL) {
        dropQueryConn(s);
        return false;
    }
    if (PQntuples(r) > 0)
        lbLogInfo("created the physical replication slot '%s'", s->o->slot);
    PQclear(r);
    r = pgconnQuery(c, "SELECT slot_type FROM pg_replication_slots WHERE slot_name = $1", 1, params, err);
    if (r == NULL) {
        dropQueryConn(s);
        return false;
    }
    bool ok = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "physical") == 0;
    PQclear(r);
    if (!ok)
        return lbErr(err, LB_ERR_ARGS, "unable to stream through slot '%s': it is not a physical replication slot",
                     s->o->slot);
    return true;
}

static void updateLag(Stream *s) {
    LbError err = {0};
    PgConn *c = queryConn(s, &err);
    s->status.hasLag = false;
    if (c == NULL)
        return;
    const char *params[] = {s->o->slot};
    PGresult *r = pgconnQuery(c,
                              "SELECT pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() "
                              "ELSE pg_current_wal_lsn() END, restart_lsn)::bigint FROM pg_replication_slots "
                              "WHERE slot_name = $1 AND restart_lsn IS NOT NULL",
                              1, params, &err);
    if (r == NULL) {
        dropQueryConn(s);
        return;
    }
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
        s->status.hasLag = true;
        s->status.lagBytes = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    }
    PQclear(r);
}

/* ---- pg_receivewal ---- */

static bool startChild(Stream *s, LbError *err) {
    char *conn = pgconnInfoChildString(s->streamInfo);
    char **env = pgconnInfoChildEnv(s->streamInfo);
    char *argv[] = {
        "pg_receivewal", "--directory", s->recvDir, "--slot", (char *)s->o->slot, "--synchronous", "--no-loop",
        "--no-password", "--dbname",    conn,       NULL};
    s->child = pgprocStartP(s->receivewal, argv, err, .envp = env, .secret = pgconnInfoGet(s->streamInfo, "password"));
    pgconnEnvFree(env);
    free(conn);
    if (s->child == NULL)
        return false;
    s->childStarted = lbMonotonicSeconds();
    lbLogInfo("streaming WAL through slot '%s' into '%s' (pg_receivewal pid %d)", s->o->slot, s->recvDir,
              (int)pgprocPid(s->child));
    return true;
}

static bool childExited(Stream *s) {
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pgprocPid(s->child), &si, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno == ECHILD;
    return si.si_pid != 0;
}

/* Reap the ended child, log why it ended, schedule the restart. */
static void reapChild(Stream *s, bool stopping) {
    LbError err = {0};
    double ran = lbMonotonicSeconds() - s->childStarted;
    if (!pgprocWait(s->child, &err) && !stopping)
        lbLogWarn("the WAL stream ended after %.1f s: %s", ran, err.msg);
    else if (!stopping)
        lbLogWarn("the WAL stream ended after %.1f s: %s", ran, pgprocStderr(s->child));
    pgprocFree(s->child);
    s->child = NULL;
    s->backoff = ran >= WALSTREAM_STABLE_RUN              ? WALSTREAM_BACKOFF_MIN
                 : s->backoff * 2 > WALSTREAM_BACKOFF_MAX ? WALSTREAM_BACKOFF_MAX
                                                          : s->backoff * 2;
    s->nextStart = lbMonotonicSeconds() + s->backoff;
}

static void stopChild(Stream *s) {
    if (s->child == NULL)
        return;
    /* SIGINT: pg_receivewal's clean stop (it flushes and exits 0) */
    kill(pgprocPid(s->child), SIGINT);
    double until = lbMonotonicSeconds() + WALSTREAM_STOP_WAIT;
    while (!childExited(s) && lbMonotonicSeconds() < until)
        sleepMs(50);
    if (!childExited(s))
        kill(pgprocPid(s->child), SIGTERM);
    reapChild(s, true);
}

/* Start pg_receivewal when it is time: the slot first. */
static void maybeStart(Stream *s) {
    LbError err = {0};
    if (s->child || lbMonotonicSeconds() < s->nextStart)
        return;
    if ((!s->slotReady && !(s->slotReady = ensureSlot(s, &err))) || !startChild(s, &err)) {
        s->backoff = s->backoff * 2 > WALSTREAM_BACKOFF_MAX ? WALSTREAM_BACKOFF_MAX : s->backoff * 2;
        s->nextStart = lbMonotonicSeconds() + s->backoff;
        lbLogWarn("unable to start the WAL stream (retrying in %.0f s): %s", s->backoff, err.msg);
    }
}

static bool streamInit(Stream *s, Repo *repo, const WalstreamOptions *o, LbError *err) {
    memset(s, 0, sizeof(*s));
    s->repo = repo;
    s->o = o;
    s->backoff = WALSTREAM_BACKOFF_MIN / 2;
    s->recvDir = lbXasprintf("%s/" WALSTREAM_RECV_DIR, o->spool);
    s->statusPath = lbXasprintf("%s/" WALSTREAM_STATUS_FILE, o->spool);
    char *parent = lbXstrdup(o->spool);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        (void)mkdir(parent, 0700); /* STATE/wal-stream for the daemon's spools */
    }
    free(parent);
    if (!makeDir(o->spool, err) || !makeDir(s->recvDir, err))
        return false;
    s->receivewal = pgprocFind(o->pgBin, "pg_receivewal", err);
    if (s->receivewal == NULL)
        return false;
    s->streamInfo = pgconnInfoDup(o->conn);
    s->queryInfo = pgconnInfoDup(o->conn);
    if (pgconnInfoGet(o->conn, "application_name") == NULL)
        pgconnInfoSet(s->streamInfo, "application_name", o->slot);
    pgconnInfoSet(s->queryInfo, "application_name", "lifeboat wal-stream");
    if (pgconnInfoGet(o->conn, "connect_timeout") == NULL)
        pgconnInfoSet(s->queryInfo, "connect_timeout", "5");
    s->spool = walstreamSpoolNew(repo, s->recvDir);
    return true;
}

static void streamClear(Stream *s) {
    stopChild(s);
    pgconnClose(s->query);
    pgconnInfoFree(s->streamInfo);
    pgconnInfoFree(s->queryInfo);
    walstreamSpoolFree(s->spool);
    free(s->receivewal);
    free(s->recvDir);
    free(s->statusPath);
}

/* One wal-stream per spool: an exclusive lock on SPOOL/lock for the
 * process's life (the descriptor is kept open; -1 on failure). */
static int lockSpool(const char *spool, LbError *err) {
    char *path = lbXasprintf("%s/lock", spool);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        lbErrSys(err, "unable to open '%s'", path);
    } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        lbErr(err, LB_ERR_LOCKED, "unable to lock the spool '%s': another wal-stream uses it", spool);
        close(fd);
        fd = -1;
    }
    free(path);
    return fd;
}

bool walstreamRun(Repo *repo, const WalstreamOptions *o, LbError *err) {
    Stream s;
    bool ok = false;
    int lockFd = -1;
    if (!streamInit(&s, repo, o, err) || (lockFd = lockSpool(o->spool, err)) < 0)
        goto cleanup;
    /* what a previous run left in the spool first: it is acknowledged WAL
     * (a repository that is down does not keep the stream from starting:
     * the spool holds the WAL and the loop retries) */
    LbError lerr = {0};
    if (!walstreamSpoolUpload(s.spool, true, true, &lerr))
        lbLogWarn("unable to upload the spool's leftovers (retrying): %s", lerr.msg);
    while (!*o->stop) {
        maybeStart(&s);
        bool ended = s.child && childExited(&s);
        if (ended)
            reapChild(&s, false);
        /* on a disconnect, the partial at once: it may hold the last commits */
        LbError uerr = {0};
        if (!walstreamSpoolUpload(s.spool, ended, false, &uerr)) {
            lbLogWarn("unable to upload streamed WAL (retrying): %s", uerr.msg);
            sleepMs(1000); /* a repository that is down: retry, the spool keeps the WAL */
        }
        if (lbMonotonicSeconds() >= s.nextLag) {
            updateLag(&s);
            s.nextLag = lbMonotonicSeconds() + WALSTREAM_LAG_INTERVAL;
            writeStatus(&s);
        }
        sleepMs(WALSTREAM_TICK_MS);
    }
    lbLogInfo("stopping: ending the WAL stream and uploading what remains");
    stopChild(&s);
    if (!walstreamSpoolUpload(s.spool, true, true, err))
        goto cleanup;
    ok = true;
cleanup:
    if (lockFd >= 0 && s.spool)
        writeStatus(&s);
    if (lockFd >= 0)
        close(lockFd);
    streamClear(&s);
    return ok;
}
