/*
 * pg_physical.c - PostgreSQL physical backups and PITR:
 *   lifeboat backup --pg-physical     base backup (pg_basebackup tar) as a snapshot
 *   lifeboat restore --pg-physical    point-in-time recovery into a new data directory
 * WAL archiving is in cmd/wal.c, pg-check in cmd/pg_check.c; the work is in
 * src/pg/ (basebackup, wal, pitr, archcheck).
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

/* ======================================================================
 * backup --pg-physical
 * ====================================================================== */

int cmdBackupPgPhysical(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    PgConnInfo *conn = NULL, *primary = NULL;
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
    if (cfgStr(cfg, cfgOptPgPrimary) && !cliConnInfo(&primary, cfgStr(cfg, cfgOptPgPrimary), "--pg-primary", &err)) {
        pgconnInfoFree(conn);
        return cliFailJson(&g, &err);
    }
    spec.pgPhysical.primary = primary;
    spec.pgPhysical.archiveWaitSeconds = (int)cfgInt(cfg, cfgOptArchiveWait);
    rc = cliRunJob(&g, &spec);
    pgconnInfoFree(primary);
    pgconnInfoFree(conn);
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
    bool start, allowPartial;
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
        .allowPartial = cfgFlag(cfg, cfgOptAllowPartial),
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
                         const PitrOwner *owner, const char *restoreCommand, const PitrReach *reach, uint64_t tarBytes,
                         bool started, double extractSecs, double startSecs) {
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
        char lsn[32];
        walLsnFormat(reach->reachLsn, lsn, sizeof(lsn));
        json_object_set_new(j, "wal_reach_lsn", json_string(lsn));
        json_object_set_new(j, "wal_reach_segment", json_string(reach->lastSegment));
        json_object_set_new(j, "wal_partial", json_boolean(reach->partial));
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
    char point[192];
    pitrReachDescribe(reach, point, sizeof(point));
    printf("The archived WAL reaches %s%s\n", point,
           reach->partial ? ": no further than the end of the base backup or a gap" : "");
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

/* After recovery to the latest point: did the server replay the newest
 * archived segment of the chain? LB_ERR_INCOMPLETE (or a warning with
 * --allow-partial) naming the point it stopped at. */
static bool checkReached(const RestoreCli *o, const PitrRestoreResult *res, LbError *err) {
    uint64_t lsn = 0;
    char lastCommit[96], at[32], want[32];
    if (!pitrReachedByServer(o->dataDir, &lsn, lastCommit, sizeof(lastCommit)) || res->reach.segments == 0 ||
        lsn >= res->reach.lastSegStart)
        return true;
    walLsnFormat(lsn, at, sizeof(at));
    walLsnFormat(res->reach.lastSegStart, want, sizeof(want));
    char msg[512];
    snprintf(msg, sizeof(msg),
             "recovery ended at LSN %s%s%s, before the archived WAL's newest segment %s (from LSN %s): a segment in "
             "between could not be fetched (see %s/lifeboat-recovery.log)",
             at, lastCommit[0] ? ", last commit at " : "", lastCommit, res->reach.lastSegment, want, o->dataDir);
    if (o->allowPartial) {
        lbLogWarn("%s (--allow-partial)", msg);
        return true;
    }
    return lbErr(err, LB_ERR_INCOMPLETE, "%s; the server runs, promoted at that point", msg);
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
        .storage = g.storage,
        .allowPartial = o.allowPartial,
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
        if (!pitrStart(&so, &owner, &startSecs, &err) ||
            (o.target.kind == PITR_TARGET_LATEST && !checkReached(&o, &res, &err)))
            goto fail;
    }
    printRestore(&g, &o, &res.snap, &res.info, &owner, res.restoreCommand, &res.reach, res.tarBytes, o.start,
                 res.extractSeconds, startSecs);
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
