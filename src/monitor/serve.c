/*
 * serve.c - the daemon's monitoring listener and repository refresh
 * (monitor/serve.h).
 *
 * libmicrohttpd runs without a thread of its own (MHD_USE_EPOLL without
 * MHD_USE_INTERNAL_POLLING_THREAD): its epoll descriptor joins the loop's
 * poll (prepareWait), its timeout lowers the loop's wake time, and MHD_run
 * does the ready work after each wait (afterWait). A request is answered at
 * once from the history (a few SQLite reads) and the saved scans.
 *
 * The refresh forks a child that runs the scan, saves it and exits; the
 * parent keeps the read end of a pipe whose other end only the child holds,
 * so the end of the child is seen as that pipe's hang-up in the same poll
 * (the loop reaps the process itself: it waits for any child).
 */
#include "monitor/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/childenv.h"
#include "common/timeutil.h"
#include "monitor/facts.h"
#include "monitor/metrics.h"
#include "monitor/report.h"
#include "state/history.h"

#define SCAN_TIMEOUT_MIN_MS (600LL * 1000)
#define CONNECTION_TIMEOUT_S 15
#define CONNECTION_LIMIT 64

/* One answer: status, content type, body (malloc'd). */
typedef struct Reply {
    unsigned status;
    const char *contentType;
    char *body;
} Reply;

/* A route's handler fills reply (status 200 unless it says otherwise). */
typedef void (*RouteFn)(MonServe *s, Reply *reply);

static void routeMetrics(MonServe *s, Reply *reply);
static void routeStatusHtml(MonServe *s, Reply *reply);
static void routeStatusJson(MonServe *s, Reply *reply);

/* The routes: adding one is one entry here. */
static const struct {
    const char *path;
    RouteFn fn;
} routes[] = {
    {"/metrics", routeMetrics},
    {"/", routeStatusHtml},
    {"/api/status", routeStatusJson},
};

struct MonServe {
    SchedHooks hooks;
    MonScanFn scan;
    const CfgFile *cfg; /* borrowed: the loop's current file */
    struct MHD_Daemon *mhd;
    char *listen; /* what mhd is bound to */
    int port;
    int epollFd;
    int listenFd;
    bool hasToken;
    unsigned char tokenHash[32]; /* SHA-256 of the token */
    /* the refresh */
    int64_t nextScanMs;
    pid_t scanPid;
    int scanFd; /* read end of the child's pipe; -1 when no scan runs */
    int64_t scanKillAtMs;
    int64_t scanStartedMs; /* the scans' scannedAtMs */
};

/* The listener of this process, for the fork handler: a run's child (the
 * loop forks them without exec) must not keep the listening socket open
 * after the daemon ends, nor wait on its epoll descriptor. */
static MonServe *forkServe;

static void forkChild(void) {
    MonServe *s = forkServe;
    if (s != NULL && s->listenFd >= 0)
        close(s->listenFd);
    if (s != NULL && s->epollFd >= 0)
        close(s->epollFd);
    forkServe = NULL;
}

static int64_t wallMs(void) {
    return lbNowNs() / 1000000;
}

static void sha256(const void *data, size_t len, unsigned char out[32]) {
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

/* ---- requests ---- */

/* The last saved scan of each repository of the file (calloc'd, one per
 * repository; a repository never scanned has scannedAtMs 0); free with
 * freeScans. */
static MonScan *loadScans(MonServe *s) {
    MonScan *scans = calloc(s->cfg->repositoryCount + 1, sizeof(*scans));
    for (size_t i = 0; scans != NULL && i < s->cfg->repositoryCount; i++) {
        bool found = false;
        LbError lerr = {0};
        if (!monScanLoad(s->cfg->stateDir, s->cfg->repositories[i].name, &scans[i], &found, &lerr))
            fprintf(stderr, "lifeboat: %s\n", lerr.msg);
    }
    return scans;
}

static void freeScans(MonServe *s, MonScan *scans) {
    for (size_t i = 0; scans != NULL && i < s->cfg->repositoryCount; i++)
        monScanClear(&scans[i]);
    free(scans);
}

/* The facts now from the history and the last saved scans (what every
 * route serves); NULL with err on failure. */
static MonFacts *collectFacts(MonServe *s, LbError *err) {
    Hist *hist = histOpen(s->cfg->stateDir, err);
    MonScan *scans = hist ? loadScans(s) : NULL;
    if (hist && scans == NULL)
        lbErr(err, LB_ERR_MEMORY, "unable to collect the facts: out of memory");
    MonFacts *facts =
        hist && scans ? monFactsCollect(s->cfg, hist, scans, s->cfg->repositoryCount, wallMs(), err) : NULL;
    freeScans(s, scans);
    histFree(hist);
    return facts;
}

/* The status page: the report of the last 24 hours from the history and
 * the last saved scans (pg_stat_archiver is not read here: the page must
 * answer at once), as HTML (/) or JSON (/api/status). */
static void routeStatus(MonServe *s, Reply *reply, MonReportFormat fmt) {
    LbError err = {0};
    Hist *hist = histOpen(s->cfg->stateDir, &err);
    MonScan *scans = hist ? loadScans(s) : NULL;
    int64_t now = wallMs();
    MonReport *report = scans ? monReportCollect(s->cfg, hist, scans, s->cfg->repositoryCount, NULL, 0, now,
                                                 now - 24LL * 3600 * 1000, &err)
                              : NULL;
    reply->body = report ? monReportRender(report, fmt) : NULL;
    monReportFree(report);
    freeScans(s, scans);
    histFree(hist);
    if (reply->body == NULL) {
        fprintf(stderr, "lifeboat: status page: %s\n", err.msg[0] ? err.msg : "out of memory");
        reply->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        reply->body = strdup("unable to build the status report; see the daemon's log\n");
        return;
    }
    reply->contentType = fmt == monReportHtml ? "text/html; charset=utf-8" : "application/json";
}

static void routeStatusHtml(MonServe *s, Reply *reply) {
    routeStatus(s, reply, monReportHtml);
}

static void routeStatusJson(MonServe *s, Reply *reply) {
    routeStatus(s, reply, monReportJson);
}

static void routeMetrics(MonServe *s, Reply *reply) {
    LbError err = {0};
    MonFacts *facts = collectFacts(s, &err);
    reply->body = facts ? monMetricsText(facts, true) : NULL;
    if (reply->body == NULL) {
        fprintf(stderr, "lifeboat: metrics: %s\n", err.msg[0] ? err.msg : "out of memory");
        reply->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        reply->body = strdup("unable to collect the metrics; see the daemon's log\n");
    } else
        reply->contentType = MON_METRICS_CONTENT_TYPE;
    monFactsFree(facts);
}

/* The bearer token matches (constant time: the hashes are compared). */
static bool authorized(MonServe *s, struct MHD_Connection *conn) {
    if (!s->hasToken)
        return true;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    const char *t = h + 7;
    while (*t == ' ')
        t++;
    unsigned char got[32];
    sha256(t, strlen(t), got);
    return CRYPTO_memcmp(got, s->tokenHash, sizeof(got)) == 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *uploadData, size_t *uploadSize, void **conCls) {
    (void)version;
    (void)uploadData;
    MonServe *s = cls;
    if (*conCls == NULL) { /* the headers: answer on the next call */
        *conCls = s;
        return MHD_YES;
    }
    if (*uploadSize > 0) { /* a body is ignored */
        *uploadSize = 0;
        return MHD_YES;
    }
    Reply reply = {.status = MHD_HTTP_OK, .contentType = "text/plain; charset=utf-8"};
    bool head = strcmp(method, "HEAD") == 0;
    if (!authorized(s, conn)) {
        reply.status = MHD_HTTP_UNAUTHORIZED;
        reply.body = strdup("a bearer token is required\n");
    } else if (strcmp(method, "GET") != 0 && !head) {
        reply.status = MHD_HTTP_METHOD_NOT_ALLOWED;
        reply.body = strdup("only GET and HEAD\n");
    } else {
        reply.status = MHD_HTTP_NOT_FOUND;
        for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
            if (strcmp(url, routes[i].path) == 0) {
                reply.status = MHD_HTTP_OK;
                routes[i].fn(s, &reply);
                break;
            }
        if (reply.status == MHD_HTTP_NOT_FOUND)
            reply.body = strdup("not found\n");
    }
    size_t len = reply.body ? strlen(reply.body) : 0;
    struct MHD_Response *r = reply.body ? MHD_create_response_from_buffer(len, reply.body, MHD_RESPMEM_MUST_FREE)
                                        : MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        free(reply.body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, reply.contentType);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* the page is self-contained: nothing may load from elsewhere, no script runs */
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* no idle keep-alive socket for a forked run to inherit */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    if (reply.status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (reply.status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(conn, reply.status, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- the listener ---- */

static void stopListener(MonServe *s) {
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    s->epollFd = -1;
    s->listenFd = -1;
    s->port = 0;
    free(s->listen);
    s->listen = NULL;
}

static bool startListener(MonServe *s, const char *listen, LbError *err) {
    char host[256];
    int port = 0;
    bool loopback = false;
    if (!cfgListenParse(listen, host, sizeof(host), &port, &loopback))
        return lbErr(err, LB_ERR_ARGS, "unable to listen on '%s': not HOST:PORT", listen);
    struct sockaddr_storage ss = {0};
    bool v6 = strchr(host, ':') != NULL;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, host, &a->sin6_addr);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, host, &a->sin_addr);
    }
    errno = 0;
    s->mhd = MHD_start_daemon(MHD_USE_EPOLL | (v6 ? MHD_USE_IPv6 : 0), (uint16_t)port, NULL, NULL, answer, s,
                              MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
                              (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                              MHD_OPTION_END);
    if (s->mhd == NULL)
        return lbErr(err, LB_ERR_IO, "unable to listen on '%s': %s", listen,
                     errno ? strerror(errno) : "libmicrohttpd refused to start");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    const union MHD_DaemonInfo *li = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    s->epollFd = info ? info->epoll_fd : -1;
    s->listenFd = li ? li->listen_fd : -1;
    s->port = pi ? pi->port : port;
    s->listen = strdup(listen);
    return true;
}

/* The token of token_file: its first line, without the line end. */
static bool loadToken(MonServe *s, const char *path, LbError *err) {
    s->hasToken = false;
    if (path == NULL)
        return true;
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return lbErr(err, LB_ERR_IO, "unable to read token file '%s': %s", path, strerror(errno));
    char line[4096];
    bool got = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    line[got ? strcspn(line, "\r\n") : 0] = '\0';
    if (line[0] == '\0')
        return lbErr(err, LB_ERR_ARGS, "unable to read token file '%s': it is empty", path);
    sha256(line, strlen(line), s->tokenHash);
    OPENSSL_cleanse(line, sizeof(line));
    s->hasToken = true;
    return true;
}

bool monServeConfigure(MonServe *s, const CfgFile *cfg, LbError *err) {
    const char *listen = cfg->monitoring.listen;
    bool first = s->cfg == NULL;
    s->cfg = cfg;
    if (first)
        s->nextScanMs = wallMs(); /* a first scan at once */
    if (!loadToken(s, cfg->monitoring.tokenFile, err)) {
        /* never serve without the token asked for */
        stopListener(s);
        return false;
    }
    if (s->listen != NULL && listen != NULL && strcmp(s->listen, listen) == 0)
        return true;
    stopListener(s);
    if (listen == NULL)
        return true;
    if (!startListener(s, listen, err))
        return false;
    fprintf(stderr, "lifeboat: serving metrics on http://%s/metrics%s\n", listen,
            s->hasToken ? " (bearer token required)" : "");
    return true;
}

/* ---- the refresh ---- */

static void scanStart(MonServe *s, int64_t now) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fprintf(stderr, "lifeboat: unable to scan the repositories: %s\n", strerror(errno));
        s->nextScanMs = now + s->cfg->monitoring.refresh * 1000;
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        lbChildCloseFds(fds[1]); /* the parent's sockets, database, locks */
        s->scan(s->cfg, now);
        _exit(0);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        fprintf(stderr, "lifeboat: unable to scan the repositories: unable to start a process: %s\n", strerror(errno));
        s->nextScanMs = now + s->cfg->monitoring.refresh * 1000;
        return;
    }
    s->scanPid = pid;
    s->scanFd = fds[0];
    s->scanStartedMs = now;
    int64_t timeout = s->cfg->monitoring.refresh * 2000;
    s->scanKillAtMs = now + (timeout > SCAN_TIMEOUT_MIN_MS ? timeout : SCAN_TIMEOUT_MIN_MS);
    s->nextScanMs = now + s->cfg->monitoring.refresh * 1000;
}

/* The child is done: record a size sample of each scan it saved (here, not
 * in the child: an SQLite connection must not cross a fork). */
static void scanEnded(MonServe *s, bool record) {
    close(s->scanFd);
    s->scanFd = -1;
    s->scanPid = 0;
    if (!record)
        return;
    LbError err = {0};
    Hist *hist = histOpen(s->cfg->stateDir, &err);
    for (size_t i = 0; hist != NULL && i < s->cfg->repositoryCount; i++) {
        MonScan scan;
        bool found = false;
        if (monScanLoad(s->cfg->stateDir, s->cfg->repositories[i].name, &scan, &found, &err) && found && scan.ok &&
            scan.scannedAtMs == s->scanStartedMs &&
            !histRecordScan(hist, scan.repository, scan.scannedAtMs, scan.sizeBytes, scan.snapshots, &err))
            fprintf(stderr, "lifeboat: %s\n", err.msg);
        monScanClear(&scan);
    }
    if (hist == NULL)
        fprintf(stderr, "lifeboat: %s\n", err.msg);
    histFree(hist);
}

/* ---- the hook ---- */

static void hookConfigLoaded(void *ctx, const CfgFile *cfg) {
    MonServe *s = ctx;
    if (s->cfg == cfg)
        return;
    LbError err = {0};
    if (!monServeConfigure(s, cfg, &err))
        fprintf(stderr, "lifeboat: %s\n", err.msg);
}

static size_t hookPrepareWait(void *ctx, struct pollfd *fds, size_t max, int64_t nowMs, int64_t *wakeMs) {
    MonServe *s = ctx;
    size_t n = 0;
    (void)nowMs;
    int64_t now = wallMs();
    if (s->cfg == NULL)
        return 0;
    if (s->scanFd >= 0 && now >= s->scanKillAtMs) {
        fprintf(stderr, "lifeboat: the repository scan (pid %d) ran out of time: killed\n", (int)s->scanPid);
        kill(s->scanPid, SIGKILL);
        s->scanKillAtMs = INT64_MAX; /* its pipe closes when it is gone */
    }
    if (s->scanFd < 0 && now >= s->nextScanMs)
        scanStart(s, now);
    if (s->scanFd >= 0 && s->scanKillAtMs < *wakeMs) /* a hung scan is killed on time */
        *wakeMs = s->scanKillAtMs;
    if (s->scanFd >= 0 && n < max)
        fds[n++] = (struct pollfd){.fd = s->scanFd, .events = POLLIN};
    else if (s->scanFd < 0 && s->nextScanMs < *wakeMs)
        *wakeMs = s->nextScanMs;
    if (s->mhd != NULL && s->epollFd >= 0 && n < max) {
        fds[n++] = (struct pollfd){.fd = s->epollFd, .events = POLLIN};
        MHD_UNSIGNED_LONG_LONG timeout;
        if (MHD_get_timeout(s->mhd, &timeout) == MHD_YES && now + (int64_t)timeout < *wakeMs)
            *wakeMs = now + (int64_t)timeout;
    }
    return n;
}

static void hookAfterWait(void *ctx, const struct pollfd *fds, size_t count, int64_t nowMs) {
    MonServe *s = ctx;
    (void)nowMs;
    for (size_t i = 0; i < count; i++)
        if (fds[i].fd == s->scanFd && s->scanFd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[64];
            ssize_t r = read(s->scanFd, buf, sizeof(buf));
            if (r <= 0 && !(r < 0 && errno == EINTR))
                scanEnded(s, true);
        }
    if (s->mhd != NULL)
        MHD_run(s->mhd);
}

MonServe *monServeNew(MonScanFn scan) {
    MonServe *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->scan = scan;
    s->epollFd = -1;
    s->listenFd = -1;
    static bool registered;
    if (!registered && pthread_atfork(NULL, NULL, forkChild) == 0)
        registered = true;
    forkServe = s;
    s->scanFd = -1;
    s->hooks = (SchedHooks){
        .ctx = s, .configLoaded = hookConfigLoaded, .prepareWait = hookPrepareWait, .afterWait = hookAfterWait};
    return s;
}

void monServeFree(MonServe *s) {
    if (s == NULL)
        return;
    if (forkServe == s)
        forkServe = NULL;
    stopListener(s);
    if (s->scanFd >= 0) {
        kill(s->scanPid, SIGTERM);
        scanEnded(s, false);
    }
    OPENSSL_cleanse(s->tokenHash, sizeof(s->tokenHash));
    free(s);
}

const SchedHooks *monServeHooks(MonServe *s) {
    return &s->hooks;
}

int monServePort(const MonServe *s) {
    return s->port;
}
