/*
 * wal.c - lifeboat wal-push PATH (archive_command) and lifeboat wal-fetch
 * NAME DEST (restore_command). The work is in src/pg/wal.c and walspool.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archiver/archiver.h"
#include "cmd/cli.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "repo/commit.h"
#include "pg/archcheck.h"
#include "pg/basebackup.h"
#include "pg/pgconn.h"
#include "pg/pitr.h"
#include "pg/pitrrestore.h"
#include "pg/wal.h"
#include "job/pg.h"
#include "pg/walasync.h"
#include "pg/walspool.h"
#include "pg/walstream.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

/* restore_command: exit status for failures other than "not in the
 * repository". PostgreSQL treats 1-125 as "no such file" (recovery may end
 * there and promote) and aborts recovery on a status above 125, which is
 * what a repository that cannot be read must do. */
#define WAL_FETCH_EXIT_ABORT 126
/* ======================================================================
 * wal-push / wal-fetch
 * ====================================================================== */

#define WAL_AHEAD_MAX 64

typedef struct WalCli {
    bool retryErrors;
    uint64_t ahead;
    const char *spool;
    bool async;
    int prefetch, asyncWait, asyncIdle;
} WalCli;

static WalCli walOptions(const CfgValues *cfg) {
    return (WalCli){.retryErrors = cfgFlag(cfg, cfgOptRetryErrors),
                    .ahead = (uint64_t)cfgInt(cfg, cfgOptAhead),
                    .spool = cfgStr(cfg, cfgOptSpool),
                    .async = cfgFlag(cfg, cfgOptAsync),
                    .prefetch = (int)cfgInt(cfg, cfgOptPrefetch),
                    .asyncWait = (int)cfgInt(cfg, cfgOptAsyncWait),
                    .asyncIdle = (int)cfgInt(cfg, cfgOptAsyncIdle)};
}

/* The background pusher or prefetcher opens the repository as the call would
 * have (the same options and environment: a password file or command). */
static Repo *openRepoForBackground(void *ctx, LbError *err) {
    return cliOpenRepo(ctx, err);
}

static WalasyncConfig asyncConfig(const WalCli *o, const GlobalOpts *g, const char *repository, int workers) {
    return (WalasyncConfig){.spool = o->spool,
                            .repository = repository,
                            .workers = workers,
                            .ahead = o->prefetch,
                            .waitSeconds = o->asyncWait,
                            .idleSeconds = o->asyncIdle,
                            .openRepo = openRepoForBackground,
                            .ctx = (void *)g};
}

static int workerCount(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

/* --ahead: push name (at path) and up to ahead more ready files of its
 * directory in parallel; mark the others in the spool. *main gets name's
 * result. Returns false only when name itself failed (err). */
static bool pushAhead(Repo *repo, const WalCli *o, const char *repository, const char *path, const char *name,
                      WalspoolItem *mainOut, size_t *extraPushed, LbError *err) {
    char *walDir = NULL;
    const char *slash = strrchr(path, '/');
    walDir = slash ? lbXasprintf("%.*s", (int)(slash - path), path) : lbXstrdup(".");
    char **names = NULL;
    size_t n = 0;
    LbError lerr = {0};
    if (!walspoolReady(walDir, o->spool, name, o->ahead, &names, &n, &lerr)) {
        lbLogWarn("not pushing ahead: %s", lerr.msg);
        n = 0;
    }
    WalspoolItem *items = lbXcalloc(n + 1, sizeof(WalspoolItem));
    char **paths = lbXcalloc(n + 1, sizeof(char *));
    items[0].path = path;
    items[0].name = name;
    for (size_t i = 0; i < n; i++) {
        paths[i + 1] = lbXasprintf("%s/%s", walDir, names[i]);
        items[i + 1].path = paths[i + 1];
        items[i + 1].name = names[i];
    }
    walspoolPushAll(repo, items, n + 1, workerCount(), NULL, NULL);
    *extraPushed = 0;
    for (size_t i = 1; i <= n; i++) {
        LbError merr = {0};
        if (!items[i].ok)
            lbLogWarn("pushing ahead: %s", items[i].err.msg);
        else if (!walspoolMark(o->spool, repository, items[i].name, items[i].size, &items[i].sha256, &merr))
            lbLogWarn("%s", merr.msg);
        else
            (*extraPushed)++;
    }
    *mainOut = items[0];
    bool ok = items[0].ok;
    if (!ok)
        *err = items[0].err;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    for (size_t i = 0; i <= n; i++)
        free(paths[i]);
    free(paths);
    free(items);
    free(walDir);
    return ok;
}

int cmdWalPush(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    WalCli o = walOptions(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    Repo *repo = NULL;
    LbBuf data = {0};
    int rc = 1;
    const char *outcome = "stored";
    uint64_t storedBytes = 0;
    size_t extraPushed = 0;
    double t0 = lbMonotonicSeconds(), tOpen = 0;
    if (args.count != 1) {
        lbErr(&err, LB_ERR_ARGS,
              "usage: lifeboat wal-push [--ahead N --spool DIR] PATH (archive_command = "
              "'lifeboat wal-push %%p')");
        goto fail;
    }
    if ((o.ahead > 0 || o.async) && o.spool == NULL) {
        lbErr(&err, LB_ERR_ARGS,
              "--ahead and --async need --spool DIR (a directory of the server's user, outside the data "
              "directory)");
        goto fail;
    }
    const char *path = args.positional[0];
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *repository = g.repo ? g.repo : "";
    WalName wn;
    if (!walNameParse(name, &wn)) {
        lbErr(&err, LB_ERR_ARGS,
              "unable to archive '%s': not the name of a WAL segment, .partial, .history or .backup file", path);
        goto fail;
    }
    if (!walReadFile(path, &data, &err))
        goto fail;
    if (o.async) {
        LbId sha;
        cryptoSha256(data.data, data.len, &sha);
        WalasyncConfig ac = asyncConfig(&o, &g, repository, o.ahead > 0 ? (int)o.ahead : WALASYNC_PUSH_WORKERS);
        if (!walspoolOpen(o.spool, &err) || !walasyncPush(&ac, path, name, data.len, &sha, &err))
            goto fail;
        walspoolPrune(o.spool, WALSPOOL_MARKER_MAX_AGE);
        outcome = "spooled";
        lbLogInfo("%s archived by the background pusher (spool marker matches): acknowledged", name);
        goto report;
    }
    if (o.spool) {
        LbId sha;
        bool hit = false;
        cryptoSha256(data.data, data.len, &sha);
        if (!walspoolOpen(o.spool, &err) || !walspoolConsume(o.spool, repository, name, data.len, &sha, &hit, &err))
            goto fail;
        walspoolPrune(o.spool, WALSPOOL_MARKER_MAX_AGE);
        if (hit) {
            outcome = "spooled";
            lbLogInfo("%s was archived ahead (spool marker matches): acknowledged", name);
            goto report;
        }
    }
    double tRead = lbMonotonicSeconds();
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    tOpen = lbMonotonicSeconds() - tRead;
    if (o.ahead > 0) {
        WalspoolItem mainItem;
        if (!pushAhead(repo, &o, repository, path, name, &mainItem, &extraPushed, &err))
            goto fail;
        outcome = mainItem.identical ? "identical" : "stored";
        storedBytes = mainItem.storedBytes;
    } else {
        WalPushResult pr;
        if (!walPush(repo, name, data.data, data.len, &pr, &err))
            goto fail;
        outcome = pr.outcome == WAL_PUSH_STORED ? "stored" : "identical";
        storedBytes = pr.storedBytes;
    }
report:;
    double secs = lbMonotonicSeconds() - t0;
    if (g.json) {
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(name));
        json_object_set_new(j, "outcome", json_string(outcome));
        json_object_set_new(j, "size", json_integer((json_int_t)data.len));
        json_object_set_new(j, "stored_bytes", json_integer((json_int_t)storedBytes));
        json_object_set_new(j, "pushed_ahead", json_integer((json_int_t)extraPushed));
        json_object_set_new(j, "seconds", json_real(secs));
        json_object_set_new(j, "open_seconds", json_real(tOpen));
        cliPrintJson(j);
    } else if (strcmp(outcome, "identical") == 0) {
        lbLogInfo("%s is already archived with the same content: nothing to do", name);
    } else if (strcmp(outcome, "stored") == 0) {
        lbLogInfo("archived %s (%zu bytes) and %zu more ahead in %.3f s (repository open %.3f s)", name, data.len,
                  extraPushed, secs, tOpen);
    }
    rc = 0;
    goto done;
fail:
    rc = cliFailJson(&g, &err);
done:
    lbBufFree(&data);
    repoFree(repo);
    return rc;
}

static bool writeWholeFile(const char *path, const uint8_t *data, size_t len, LbError *err) {
    bool toStdout = strcmp(path, "-") == 0;
    int fd = toStdout ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return lbErrSys(err, "unable to write '%s'", path);
    size_t done = 0;
    bool ok = true;
    while (done < len) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            ok = lbErrSys(err, "unable to write '%s'", path);
            break;
        }
        done += (size_t)w;
    }
    if (!toStdout && close(fd) != 0 && ok)
        ok = lbErrSys(err, "unable to write '%s'", path);
    if (!ok && !toStdout)
        unlink(path);
    return ok;
}

int cmdWalFetch(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    WalCli o = walOptions(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    Repo *repo = NULL;
    LbBuf data = {0};
    WalHeader h;
    int rc = 1;
    if (args.count != 2) {
        lbErr(&err, LB_ERR_ARGS,
              "usage: lifeboat wal-fetch NAME DEST (restore_command = 'lifeboat wal-fetch %%f %%p')");
        goto fail;
    }
    const char *name = args.positional[0], *dest = args.positional[1];
    WalName wn;
    if (o.prefetch > 0 && o.spool == NULL) {
        lbErr(&err, LB_ERR_ARGS, "--prefetch needs --spool DIR (a directory of the server's user)");
        goto fail;
    }
    if (o.prefetch > 0 && walNameParse(name, &wn) && wn.kind == WAL_FILE_SEGMENT) {
        bool hit = false;
        int workers = o.prefetch < 8 ? o.prefetch : 8;
        WalasyncConfig ac = asyncConfig(&o, &g, g.repo ? g.repo : "", workers);
        if (!walspoolOpen(o.spool, &err) || !walasyncFetch(&ac, name, dest, &hit, &err))
            goto fail;
        if (hit) {
            lbLogInfo("fetched %s from the prefetch spool", name);
            rc = 0;
            goto done;
        }
    }
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    if (!walstreamFetch(repo, name, &data, &h, &err)) {
        if (err.code == LB_ERR_NOT_FOUND) {
            /* PostgreSQL asks for files that do not exist (the next timeline's
             * history, the segment after the last): not an error */
            lbLogInfo("%s", err.msg);
            rc = 1;
            goto done;
        }
        goto fail;
    }
    if (!writeWholeFile(dest, data.data, data.len, &err))
        goto fail;
    lbLogInfo("fetched %s (%zu bytes)", name, data.len);
    rc = 0;
    goto done;
fail:
    rc = cliFailJson(&g, &err);
    if (!o.retryErrors)
        rc = WAL_FETCH_EXIT_ABORT;
    else
        rc = 1;
done:
    lbBufFree(&data);
    repoFree(repo);
    return rc;
}
