/*
 * pitrrestore.h - the restore --pg-physical job up to a data directory that
 * is ready to start, the command (cmd/pg_physical.c) keeping only options,
 * the repository lock and the printing:
 *
 *   pitrRestoreCheck  before the lock: the server's restore_command (the
 *                     given one, or this binary's wal-fetch with the
 *                     repository and a password file or command, never a
 *                     password), and whether the server's user can read the
 *                     password file and a local repository
 *   pitrRestoreRun    choose the base backup (the given one, checked against
 *                     the target, or the newest that ends before it), check
 *                     that its last WAL segment is archived or carried (an
 *                     error without either, a warning when only carried),
 *                     prepare the empty data directory, extract base.tar,
 *                     warn about configuration files kept outside it, write
 *                     the recovery settings
 *
 * Starting the server (pitrStart) is left to the caller, after it released
 * the repository lock. Ownership: options are borrowed; the result owns its
 * strings and snapshot.
 */
#ifndef LIFEBOAT_PG_PITRRESTORE_H
#define LIFEBOAT_PG_PITRRESTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "pg/basebackup.h"
#include "pg/pitr.h"
#include "pg/pitrhonest.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"

typedef struct PitrRestoreOptions {
    const char *snapshotRef;      /* a snapshot ID; NULL or "latest": the newest that ends before the target */
    const SnapshotFilter *filter; /* narrows the choice (component: BASEBACKUP_DEFAULT_COMPONENT when NULL) */
    const PitrTarget *target;
    const PitrOwner *owner;
    const char *dataDir;           /* new or empty */
    const char *repoLocation;      /* the repository as given (-r) */
    const char *restoreCommand;    /* --restore-command, or NULL to build one */
    const char *passwordFile;      /* for the built restore_command: a file ... */
    const char *passwordCommand;   /* ... or a command giving the repository password */
    const StorageOptions *storage; /* the repository's S3 settings, carried into restore_command */
    bool allowPartial;             /* latest: accept a recovery that stops short (pg/pitrhonest.h) */
    int port;                      /* 0 = keep the backup's */
    const char *const *settings;   /* --pg-set "name=value" lines */
    size_t settingCount;
} PitrRestoreOptions;

typedef struct PitrRestoreResult {
    char *restoreCommand; /* written into postgresql.auto.conf (owned) */
    Snapshot snap;        /* the base backup restored */
    BasebackupInfo info;
    char *dataDir; /* absolute (owned) */
    uint64_t tarBytes;
    double extractSeconds;
    PitrReach reach; /* what the archived WAL lets recovery reach */
    bool checked;    /* restore_command was tried and fetched reach.probe */
} PitrRestoreResult;

/* Fill result->restoreCommand and check the owner can read what it names.
 * LB_ERR_ARGS when the password is known only as a value. */
bool pitrRestoreCheck(const PitrRestoreOptions *opts, PitrRestoreResult *result, LbError *err);
/* After pitrRestoreCheck, with the index loaded and a lock held: everything
 * up to the recovery settings (see above). */
bool pitrRestoreRun(Repo *repo, const PitrRestoreOptions *opts, PitrRestoreResult *result, LbError *err);
void pitrRestoreResultClear(PitrRestoreResult *result);

#endif
