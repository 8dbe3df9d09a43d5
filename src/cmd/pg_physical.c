/*
 * pg_physical.c - PostgreSQL physical backups, WAL archiving and PITR:
 *   lifeboat backup --pg-physical     base backup (pg_basebackup tar) as a snapshot
 *   lifeboat restore --pg-physical    point-in-time recovery into a new data directory
 *   lifeboat wal-push PATH            archive_command
 *   lifeboat wal-fetch NAME DEST      restore_command
 *   lifeboat pg-check                 is archiving working?
 * The work is in src/pg/ (basebackup, wal, pitr, archcheck).
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
#include "pg/walspool.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

/* restore_command: exit status for failures other than "not in the
 * repository". PostgreSQL treats 1-125 as "no such file" (recovery may end
 * there and promote) and aborts recovery on a status above 125, which is
 * what a repository that cannot be read must do. */
#define WAL_FETCH_EXIT_ABORT 126

/* ======================================================================
 * backup --pg-physical
 * ====================================================================== */

int cmdBackupPgPhysical(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    PgConnInfo *conn = NULL;
    JobSpec spec = {.kind = JOB_PG_PHYSICAL};
    spec.pgPhysical = (JobPgPhysical){
        .pgBin = cfgStr(cfg, cfgOptPgBin),
        .label = cfgStr(cfg, cfgOptLabel),
        .spreadCheckpoint = cfgEnum(cfg, cfgOptCheckpoint) == 1,
        .walNone = cfgEnum(cfg, cfgOptWalMethod) == 1,
        .labels = cliJobLabels(cfg),
    };
    spec.pgPhysical.labels.timeNs = 0; /* a base backup is dated by its start */
    int rc;
    if (args.count > 0) {
        lbErr(&err, LB_ERR_ARGS, "backup --pg-physical takes no paths (the server is named with --pg CONNINFO)");
        return cliFailJson(&g, &err);
    }
    if (cfgStr(cfg, cfgOptPg) ? !cliConnInfo(&conn, cfgStr(cfg, cfgOptPg), "--pg", &err)
                              : (conn = pgconnInfoNew(NULL, &err)) == NULL)
        return cliFailJson(&g, &err);
    spec.pgPhysical.conn = conn;
    rc = cliRunJob(&g, &spec);
    pgconnInfoFree(conn);
    return rc;
}

/* ======================================================================
 * wal-push / wal-fetch
 * ====================================================================== */

#define WAL_AHEAD_MAX 64

typedef struct WalCli {
    bool retryErrors;
    uint64_t ahead;
    const char *spool;
} WalCli;

static WalCli walOptions(const CfgValues *cfg) {
    return (WalCli){.retryErrors = cfgFlag(cfg, cfgOptRetryErrors),
                    .ahead = (uint64_t)cfgInt(cfg, cfgOptAhead),
                    .spool = cfgStr(cfg, cfgOptSpool)};
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
    walspoolPushAll(repo, items, n + 1, workerCount());
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
    if (o.ahead > 0 && o.spool == NULL) {
        lbErr(&err, LB_ERR_ARGS,
              "--ahead needs --spool DIR (a directory of the server's user, outside the data "
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
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    if (!walFetch(repo, name, &data, &h, &err)) {
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

/* ======================================================================
 * restore --pg-physical
 * ====================================================================== */

typedef struct RestoreCli {
    const char *dataDir, *pgUser, *restoreCommand, *pgBin;
    PitrTarget target;
    int targets;
    int port;
    bool start;
    int startTimeout;
    const char *const *settings;
    size_t settingCount;
} RestoreCli;

/* The parsed options; the recovery target is the one --to-* given. */
static bool restoreOptions(const CfgValues *cfg, const CliArgs *args, RestoreCli *out, LbError *err) {
    RestoreCli o = {
        .dataDir = cfgStr(cfg, cfgOptPgData),
        .pgUser = cfgStr(cfg, cfgOptPgUser),
        .restoreCommand = cfgStr(cfg, cfgOptRestoreCommand),
        .pgBin = cfgStr(cfg, cfgOptPgBin),
        .port = (int)cfgInt(cfg, cfgOptPgPort),
        .start = cfgFlag(cfg, cfgOptStart),
        .startTimeout = (int)cfgInt(cfg, cfgOptStartTimeout),
    };
    o.settings = cfgList(cfg, cfgOptPgSet, &o.settingCount);
    PitrTarget *t = &o.target;
    t->exclusive = cfgFlag(cfg, cfgOptExclusive);
    pitrActionParse(cfgStr(cfg, cfgOptTargetAction), &t->action);
    if (cfgFlag(cfg, cfgOptToLatest)) {
        t->kind = PITR_TARGET_LATEST;
        o.targets++;
    }
    if (cfgFlag(cfg, cfgOptToImmediate)) {
        t->kind = PITR_TARGET_IMMEDIATE;
        o.targets++;
    }
    if (cfgIsSet(cfg, cfgOptToTime)) {
        t->kind = PITR_TARGET_TIME;
        t->timeNs = cfgInt(cfg, cfgOptToTime);
        o.targets++;
    }
    if (cfgIsSet(cfg, cfgOptToLsn)) {
        t->kind = PITR_TARGET_LSN;
        walLsnParse(cfgStr(cfg, cfgOptToLsn), &t->lsn);
        o.targets++;
    }
    if (cfgIsSet(cfg, cfgOptToXid)) {
        t->kind = PITR_TARGET_XID;
        t->xid = (uint64_t)cfgInt(cfg, cfgOptToXid);
        o.targets++;
    }
    *out = o;
    if (o.dataDir == NULL)
        return lbErr(err, LB_ERR_ARGS, "restore --pg-physical needs --pg-data DIR (a new or empty data directory)");
    if (o.targets > 1)
        return lbErr(err, LB_ERR_ARGS,
                     "give one recovery target: --to-time, --to-lsn, --to-xid, --to-latest or --to-immediate");
    if (args->count > 1)
        return lbErr(err, LB_ERR_ARGS, "restore --pg-physical takes at most one snapshot");
    return true;
}

static void printRestore(const GlobalOpts *g, const RestoreCli *o, const Snapshot *snap, const BasebackupInfo *in,
                         const PitrOwner *owner, const char *restoreCommand, uint64_t tarBytes, bool started,
                         double extractSecs, double startSecs) {
    char hex[LB_ID_HEX_LEN + 1], target[128], stop[32], size[32];
    lbIdToHex(&snap->id, hex);
    pitrTargetDescribe(&o->target, target, sizeof(target));
    walLsnFormat(in->stopLsn, stop, sizeof(stop));
    cliFormatBytes((double)tarBytes, size, sizeof(size));
    if (g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "snapshot_id", json_string(hex));
        json_object_set_new(j, "pg_data", json_string(o->dataDir));
        json_object_set_new(j, "target", json_string(target));
        json_object_set_new(j, "target_action", json_string(pitrActionName(o->target.action)));
        json_object_set_new(j, "restore_command", json_string(restoreCommand));
        json_object_set_new(j, "base_backup_bytes", json_integer((json_int_t)tarBytes));
        json_object_set_new(j, "extract_seconds", json_real(extractSecs));
        json_object_set_new(j, "started", json_boolean(started));
        if (started)
            json_object_set_new(j, "recovery_seconds", json_real(startSecs));
        json_object_set(j, "pg", snap->meta);
        cliPrintJson(j);
        return;
    }
    if (g->quiet)
        return;
    char when[48];
    lbFormatTimeShort(in->stopNs, when, sizeof(when));
    printf("Restored base backup %.8s (ends at %s, %s UTC; %s) into %s in %.1f s\n", hex, stop, when, size, o->dataDir,
           extractSecs);
    printf("Recovery target: %s, then %s\n", target,
           o->target.kind == PITR_TARGET_LATEST ? "promote" : pitrActionName(o->target.action));
    if (started) {
        printf("The server finished recovery in %.1f s and is running (log: %s/lifeboat-recovery.log)\n", startSecs,
               o->dataDir);
        return;
    }
    printf("Recovery settings are in %s/postgresql.auto.conf and %s/recovery.signal exists.\n", o->dataDir, o->dataDir);
    printf("Start the server%s%s%s with:\n  pg_ctl -D %s -l %s/lifeboat-recovery.log start\n",
           owner->change ? " as user '" : "", owner->change ? owner->name : "", owner->change ? "'" : "", o->dataDir,
           o->dataDir);
    printf("It replays archived WAL through 'lifeboat wal-fetch' until the target, then %s.\n",
           o->target.kind == PITR_TARGET_LATEST      ? "promotes"
           : o->target.action == PITR_ACTION_PROMOTE ? "promotes (opens for writes on a new timeline)"
           : o->target.action == PITR_ACTION_PAUSE   ? "pauses (check, then SELECT pg_wal_replay_resume())"
                                                     : "shuts down");
}

int cmdRestorePgPhysical(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    RestoreCli o;
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    PitrOwner owner;
    PitrRestoreResult res = {0};
    int rc = 1;
    double startSecs = 0;
    if (!restoreOptions(cfg, &args, &o, &err) || !pitrOwnerResolve(o.pgUser, &owner, &err))
        goto fail;
    repo = cliOpenRepo(&g, &err); /* also: a repository was given */
    if (repo == NULL)
        goto fail;
    SnapshotFilter f = cliFilter(cfg);
    PitrRestoreOptions po = {
        .snapshotRef = args.count == 1 ? args.positional[0] : NULL,
        .filter = &f,
        .target = &o.target,
        .owner = &owner,
        .dataDir = o.dataDir,
        .repoLocation = g.repo,
        .restoreCommand = o.restoreCommand,
        .passwordFile = g.passwordFile ? g.passwordFile : getenv("LIFEBOAT_PASSWORD_FILE"),
        .passwordCommand = g.passwordCommand ? g.passwordCommand : getenv("LIFEBOAT_PASSWORD_COMMAND"),
        .port = o.port,
        .settings = o.settings,
        .settingCount = o.settingCount,
    };
    if (!pitrRestoreCheck(&po, &res, &err))
        goto fail;
    if (!repoLockForReading(repo, false, cliNoLock(), &lock, &err) || !repoLoadIndex(repo, &err) ||
        !pitrRestoreRun(repo, &po, &res, &err))
        goto fail;
    o.dataDir = res.dataDir; /* messages and pg_ctl name it absolutely */
    repoLockRelease(lock);
    lock = NULL;
    if (o.start) {
        PitrStartOptions so = {.dir = o.dataDir,
                               .pgBin = o.pgBin,
                               .timeoutSeconds = o.startTimeout ? o.startTimeout : 3600,
                               .action = o.target.kind == PITR_TARGET_LATEST ? PITR_ACTION_PROMOTE : o.target.action};
        if (!pitrStart(&so, &owner, &startSecs, &err))
            goto fail;
    }
    printRestore(&g, &o, &res.snap, &res.info, &owner, res.restoreCommand, res.tarBytes, o.start, res.extractSeconds,
                 startSecs);
    rc = 0;
    goto done;
fail:
    rc = cliFailJson(&g, &err);
done:
    repoLockRelease(lock);
    pitrRestoreResultClear(&res);
    repoFree(repo);
    return rc;
}

/* ======================================================================
 * pg-check
 * ====================================================================== */

static void printCheck(const ArchcheckReport *r) {
    char when[48];
    printf("server:           PostgreSQL %s, %s\n", r->serverVersion, r->inRecovery ? "standby" : "primary");
    printf("archive_mode:     %s\n", r->archiveMode);
    printf("archive_command:  %s\n", r->archiveLibrary[0] ? r->archiveLibrary : r->archiveCommand);
    if (r->lastArchivedWal[0]) {
        lbFormatTimeShort(r->lastArchivedNs, when, sizeof(when));
        printf("last archived:    %s at %s UTC (%" PRIu64 " archived)\n", r->lastArchivedWal, when, r->archivedCount);
    } else {
        printf("last archived:    none\n");
    }
    if (r->failedCount > 0) {
        lbFormatTimeShort(r->lastFailedNs, when, sizeof(when));
        printf("failed:           %" PRIu64 ", last %s at %s UTC\n", r->failedCount, r->lastFailedWal, when);
    } else {
        printf("failed:           0\n");
    }
    if (r->currentWal[0])
        printf("current WAL:      %s\n", r->currentWal);
    if (r->readyCount >= 0)
        printf("waiting:          %ld WAL file(s)\n", r->readyCount);
    if (r->repoChecked)
        printf("repository:       %s %s\n", r->repoHasLast ? "holds" : "MISSES",
               r->lastArchivedWal[0] ? r->lastArchivedWal : "(nothing archived yet)");
    if (r->standbyCount == 0)
        printf("standbys:         none\n");
    for (size_t i = 0; i < r->standbyCount; i++) {
        const ArchcheckStandby *s = &r->standbys[i];
        printf("standby:          %s (%s) %s/%s", s->name, s->client, s->state, s->syncState);
        if (s->hasLagBytes)
            printf(", replay lag %" PRId64 " bytes", s->lagBytes);
        if (s->hasLagSeconds)
            printf(", %.1f s", s->lagSeconds);
        printf("\n");
    }
    printf("verdict:          %s\n", archcheckVerdictName(r->verdict));
    for (size_t i = 0; i < r->reasonCount; i++)
        printf("  %s\n", r->reasons[i]);
}

int cmdPgCheck(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    ArchcheckLimits limits = {(double)cfgInt(cfg, cfgOptMaxAge), (long)cfgInt(cfg, cfgOptMaxReady),
                              cfgInt(cfg, cfgOptMaxLagBytes), (double)cfgInt(cfg, cfgOptMaxLagSeconds)};
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    PgConnInfo *ci = NULL;
    PgConn *conn = NULL;
    Storage *st = NULL;
    ArchcheckReport r = {0};
    int rc = 1;
    if (args.count > 0) {
        lbErr(&err, LB_ERR_ARGS, "pg-check takes no arguments (the server is named with --pg CONNINFO)");
        goto fail;
    }
    if (cfgStr(cfg, cfgOptPg) ? !cliConnInfo(&ci, cfgStr(cfg, cfgOptPg), "--pg", &err)
                              : (ci = pgconnInfoNew(NULL, &err)) == NULL)
        goto fail;
    conn = pgconnOpen(ci, &err);
    if (conn == NULL || !archcheckCollect(conn, &r, &err))
        goto fail;
    if (g.repo) {
        /* a STAT needs no password: the object names are not secret */
        st = cliOpenStorage(g.repo, g.storage, &err);
        if (st == NULL)
            goto fail;
        r.repoChecked = true;
        r.repoLocation = lbXstrdup(g.repo);
        if (r.lastArchivedWal[0]) {
            char name[WAL_NAME_MAX + 8];
            StorageInfo si;
            snprintf(name, sizeof(name), WAL_DIR "/%s", r.lastArchivedWal);
            if (!storageStat(st, name, &si, &err))
                goto fail;
            r.repoHasLast = si.exists;
        }
    }
    archcheckJudge(&r, &limits);
    if (g.json)
        cliPrintJson(archcheckToJson(&r));
    else
        printCheck(&r);
    rc = r.verdict == ARCHCHECK_OK ? 0 : 1;
    goto done;
fail:
    rc = cliFailJson(&g, &err);
done:
    archcheckReportClear(&r);
    storageFree(st);
    pgconnClose(conn);
    pgconnInfoFree(ci);
    return rc;
}
