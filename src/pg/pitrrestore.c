/* pitrrestore.c - restore --pg-physical up to a data directory ready to start (pg/pitrrestore.h). */
#include "pg/pitrrestore.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archiver/archiver.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pg/wal.h"

/* Absolute form of a path that may not exist yet (its parent must). Caller frees. */
static char *absolutePath(const char *path) {
    char buf[PATH_MAX];
    if (realpath(path, buf) != NULL)
        return lbXstrdup(buf);
    return archiverAbsPath(path);
}

/* The repository as the server will name it in restore_command. Caller frees. */
static char *repositoryForServer(const char *location) {
    if (strncmp(location, "local:", 6) == 0) {
        char *abs = absolutePath(location + 6);
        char *r = lbXasprintf("local:%s", abs);
        free(abs);
        return r;
    }
    const char *colon = strchr(location, ':'), *slash = strchr(location, '/');
    if (colon != NULL && colon != location && (slash == NULL || colon < slash))
        return lbXstrdup(location); /* s3:... and other schemes */
    return absolutePath(location);
}

static char *selfPath(void) {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return lbXstrdup("lifeboat");
    buf[n] = '\0';
    return lbXstrdup(buf);
}

/* restore_command from --restore-command or this binary, repository and
 * password source. NULL with err when the password is known only as a
 * value (it is never written into the configuration). */
static char *buildRestoreCommand(const PitrRestoreOptions *o, LbError *err) {
    if (o->restoreCommand)
        return lbXstrdup(o->restoreCommand);
    const char *file = o->passwordFile, *cmd = o->passwordCommand;
    if (file == NULL && cmd == NULL) {
        lbErr(err, LB_ERR_ARGS,
              "unable to write restore_command: the server's wal-fetch needs the repository password from a file "
              "or a command, and lifeboat never writes a password into the configuration. HINT: Give "
              "--password-file FILE (readable by the server's user) or --password-command, or write your own "
              "with --restore-command.");
        return NULL;
    }
    LbBuf env = {0};
    char *repoLoc = repositoryForServer(o->repoLocation);
    if (!pitrS3Environment(repoLoc, o->storage, &env, err)) {
        free(repoLoc);
        lbBufFree(&env);
        return NULL;
    }
    char *self = selfPath();
    char *fileAbs = file ? absolutePath(file) : NULL;
    char *rc = pitrRestoreCommand(self, repoLoc, fileAbs, file ? NULL : cmd);
    lbBufAppendStr(&env, rc);
    lbBufAppend(&env, "", 1);
    free(rc);
    free(self);
    free(repoLoc);
    free(fileAbs);
    return (char *)lbBufTake(&env, NULL);
}

/* The restored server runs wal-fetch as the owner: can it read the password
 * file and (for a local repository) the repository? */
static bool serverCanRead(const PitrRestoreOptions *o, LbError *err) {
    if (o->restoreCommand || !o->owner->change)
        return true;
    char *paths[2] = {NULL, NULL};
    size_t n = 0;
    if (o->passwordFile)
        paths[n++] = absolutePath(o->passwordFile);
    char *loc = repositoryForServer(o->repoLocation);
    const char *dir = strncmp(loc, "local:", 6) == 0 ? loc + 6 : loc[0] == '/' ? loc : NULL;
    if (dir)
        paths[n++] = lbXasprintf("%s/config", dir);
    bool ok = pitrOwnerCanRead(o->owner, (const char *const *)paths, n, err);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(loc);
    return ok;
}

bool pitrRestoreCheck(const PitrRestoreOptions *opts, PitrRestoreResult *r, LbError *err) {
    free(r->restoreCommand);
    r->restoreCommand = buildRestoreCommand(opts, err);
    return r->restoreCommand != NULL && serverCanRead(opts, err);
}

/* The given snapshot, checked against the target, or the newest that ends
 * before it. */
static bool chooseBackup(Repo *repo, const PitrRestoreOptions *o, PitrRestoreResult *r, LbError *err) {
    if (o->snapshotRef && strcmp(o->snapshotRef, "latest") != 0)
        return snapshotFind(repo, o->snapshotRef, NULL, &r->snap, err) &&
               pitrCheckSnapshot(&r->snap, o->target, &r->info, err);
    SnapshotFilter f = o->filter ? *o->filter : (SnapshotFilter){0};
    if (f.component == NULL)
        f.component = BASEBACKUP_DEFAULT_COMPONENT;
    SnapshotList list = {0};
    size_t at = 0;
    bool ok = snapshotLoadAll(repo, &list, err) && pitrChoose(&list, &f, o->target, &at, &r->info, err);
    if (ok) {
        r->snap = list.items[at];
        memset(&list.items[at], 0, sizeof(Snapshot));
    }
    snapshotListFree(&list);
    return ok;
}

/* The archive must continue where the backup ends (or the backup must carry
 * its WAL) for anything but a restore to the backup's own end. */
static bool checkStopWal(Repo *repo, const PitrRestoreOptions *o, const PitrRestoreResult *r, const char *hex,
                         LbError *err) {
    const BasebackupInfo *in = &r->info;
    char stopWal[32];
    walSegmentName(in->stopTimeline ? in->stopTimeline : in->startTimeline, in->stopLsn ? in->stopLsn - 1 : 0,
                   in->walSegmentSize ? in->walSegmentSize : (16u << 20), stopWal, sizeof(stopWal));
    bool stopArchived = false;
    WalHeader wh;
    if (!walReadHeader(repo, stopWal, &stopArchived, &wh, err))
        return false;
    if (!stopArchived && !in->walIncluded)
        return lbErr(err, LB_ERR_NOT_FOUND,
                     "unable to restore base backup %.8s: it holds no WAL (--wal-method none) and its last segment "
                     "%s is not in the repository",
                     hex, stopWal);
    if (!stopArchived && o->target->kind != PITR_TARGET_IMMEDIATE)
        lbLogWarn("the backup's last WAL segment %s is not in the repository yet: recovery may stop at the end of "
                  "the base backup (is archive_command = 'lifeboat wal-push %%p' working? see 'lifeboat pg-check')",
                  stopWal);
    return true;
}

static void warnMissingConfig(const char *dataDir) {
    static const char *const configFiles[] = {"postgresql.conf", "pg_hba.conf"};
    for (size_t i = 0; i < 2; i++) {
        char *p = lbXasprintf("%s/%s", dataDir, configFiles[i]);
        if (access(p, F_OK) != 0)
            lbLogWarn("the base backup has no %s (the cluster kept it outside its data directory, as Debian's "
                      "/etc/postgresql does): copy one into %s before starting the server",
                      configFiles[i], dataDir);
        free(p);
    }
}

/* Latest: does the archived WAL go past the backup? Then: does
 * restore_command fetch a file, as the server would run it? */
static bool checkReach(Repo *repo, const PitrRestoreOptions *o, PitrRestoreResult *r, const char *hex, LbError *err) {
    if (!pitrReachCompute(repo, &r->info, &r->reach, err))
        return false;
    char point[192];
    pitrReachDescribe(&r->reach, point, sizeof(point));
    if (o->target->kind == PITR_TARGET_LATEST && r->reach.partial) {
        char why[160];
        if (r->reach.gap)
            snprintf(why, sizeof(why), "segment %s is missing from the repository and later ones exist",
                     r->reach.missing);
        else
            snprintf(why, sizeof(why), "the repository holds no WAL after the end of base backup %.8s", hex);
        if (!o->allowPartial)
            return lbErr(err, LB_ERR_INCOMPLETE,
                         "recovery to the latest point can only reach %s: %s; nothing was written. HINT: Check "
                         "archiving ('lifeboat pg-check'); if the server wrote nothing since, or that point is "
                         "enough, give --allow-partial.",
                         point, why);
        lbLogWarn("recovery can only reach %s: %s (--allow-partial)", point, why);
    }
    if (r->reach.probe[0] == '\0') {
        lbLogWarn("restore_command was not tried: the repository holds no WAL segment of the backup's timeline");
        return true;
    }
    if (!pitrRestoreCommandTry(r->restoreCommand, o->owner, r->reach.probe, err))
        return false;
    r->checked = true;
    return true;
}

bool pitrRestoreRun(Repo *repo, const PitrRestoreOptions *o, PitrRestoreResult *r, LbError *err) {
    if (!chooseBackup(repo, o, r, err))
        return false;
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&r->snap.id, hex);
    lbLogInfo("using base backup %.8s", hex);
    if (!checkStopWal(repo, o, r, hex, err) || !checkReach(repo, o, r, hex, err))
        return false;
    double t0 = lbMonotonicSeconds();
    if (!pitrPrepareDir(o->dataDir, o->owner, err))
        return false;
    free(r->dataDir);
    r->dataDir = absolutePath(o->dataDir); /* messages and pg_ctl name it absolutely */
    if (!pitrExtract(repo, &r->snap, r->dataDir, o->owner, &r->tarBytes, err))
        return false;
    warnMissingConfig(r->dataDir);
    r->extractSeconds = lbMonotonicSeconds() - t0;
    char target[128], nowText[48];
    pitrTargetDescribe(o->target, target, sizeof(target));
    lbFormatTimeShort(lbNowNs(), nowText, sizeof(nowText));
    char *comment =
        lbXasprintf("lifeboat restore --pg-physical, %s UTC: base backup %.8s, recovery to %s", nowText, hex, target);
    PitrConfig pc = {.restoreCommand = r->restoreCommand,
                     .target = o->target,
                     .port = o->port,
                     .settings = o->settings,
                     .settingCount = o->settingCount,
                     .comment = comment};
    bool ok = pitrWriteConfig(r->dataDir, &pc, o->owner, err);
    free(comment);
    return ok;
}

void pitrRestoreResultClear(PitrRestoreResult *r) {
    free(r->restoreCommand);
    free(r->dataDir);
    snapshotClear(&r->snap);
    memset(r, 0, sizeof(*r));
}
