/*
 * pitr.h - point-in-time recovery of a PostgreSQL cluster from a physical
 * base backup (base.tar in a "pg-physical" snapshot) and the WAL archived in
 * the repository's wal/ objects.
 *
 * The steps, each a function so the command stays thin:
 *   pitrChoose       pick the newest base backup that ends before the target
 *   pitrPrepareDir   an empty (or new) data directory, mode 0700, owned by
 *                    the server's user
 *   pitrExtract      stream base.tar from the repository into `tar -x`
 *   pitrWriteConfig  restore_command and recovery_target_* in
 *                    postgresql.auto.conf, and recovery.signal
 *   pitrStart        pg_ctl start as the owner, wait until recovery ends
 *
 * Ownership: everything passed in is borrowed.
 */
#ifndef LIFEBOAT_PG_PITR_H
#define LIFEBOAT_PG_PITR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "pg/basebackup.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"

typedef enum {
    PITR_TARGET_LATEST = 0, /* replay every archived WAL file */
    PITR_TARGET_TIME,
    PITR_TARGET_LSN,
    PITR_TARGET_XID,
    PITR_TARGET_IMMEDIATE, /* stop as soon as the base backup is consistent */
} PitrTargetKind;

typedef enum {
    PITR_ACTION_PROMOTE = 0,
    PITR_ACTION_PAUSE,
    PITR_ACTION_SHUTDOWN,
} PitrAction;

typedef struct PitrTarget {
    PitrTargetKind kind;
    int64_t timeNs;
    uint64_t lsn;
    uint64_t xid;
    bool exclusive; /* recovery_target_inclusive = off */
    PitrAction action;
} PitrTarget;

/* "promote" / "pause" / "shutdown" */
bool pitrActionParse(const char *text, PitrAction *action);
const char *pitrActionName(PitrAction action);
/* Describe a target for messages ("time 2026-11-23 14:05:00 UTC", ...). */
void pitrTargetDescribe(const PitrTarget *target, char *out, size_t n);

/* Index into list of the newest snapshot that matches filter, is a physical
 * backup, and ends before the target (stop time <= target time, stop LSN <=
 * target LSN, first transaction after it <= target XID; the newest for
 * latest/immediate). *info is its metadata. LB_ERR_NOT_FOUND, naming the
 * oldest candidate, when none qualifies. */
bool pitrChoose(const SnapshotList *list, const SnapshotFilter *filter, const PitrTarget *target, size_t *chosen,
                BasebackupInfo *info, LbError *err);
/* The same test for one given snapshot: LB_ERR_ARGS when its backup ends
 * after the target (recovery could not stop there). */
bool pitrCheckSnapshot(const Snapshot *snap, const PitrTarget *target, BasebackupInfo *info, LbError *err);

/* Who owns the restored data directory and runs the server. */
typedef struct PitrOwner {
    bool change; /* true when running as root: files are given to uid/gid */
    uid_t uid;
    gid_t gid;
    char name[64];
} PitrOwner;

/* In a forked child: become the owner (async-signal-safe calls only);
 * true without a change when not root. */
bool pitrChildBecome(const PitrOwner *owner);

/* pipe2(fds) (close-on-exec) and fork: the child's pid, 0 in the child, -1
 * with err ("unable to <what>") on failure (fds then may be open: the
 * caller closes what is not -1). */
pid_t pitrForkPiped(int fds[2], const char *what, LbError *err);

/* In the parent: read what the child writes to fd until it closes (at most
 * n - 1 bytes kept, NUL-terminated, *got of them; the rest drained), then
 * wait for it. Returns its wait status. */
int pitrChildCollect(pid_t pid, int fd, char *out, size_t n, size_t *got);

/* Resolve --pg-user (NULL = "postgres" as root, else the current user). */
bool pitrOwnerResolve(const char *user, PitrOwner *owner, LbError *err);

/* Can the owner read each path (a password file, a repository's config)?
 * Checked in a child that becomes the owner. False with LB_ERR_ARGS naming
 * the first path it cannot read. */
bool pitrOwnerCanRead(const PitrOwner *owner, const char *const *paths, size_t count, LbError *err);

/* Create dir (mode 0700) or accept an existing empty one; chown it to the
 * owner. LB_ERR_EXISTS when it holds anything. */
bool pitrPrepareDir(const char *dir, const PitrOwner *owner, LbError *err);

/* Stream the snapshot's base.tar into `tar -x` running as the owner in dir.
 * *bytes is the size of the tar. */
bool pitrExtract(Repo *repo, const Snapshot *snap, const char *dir, const PitrOwner *owner, uint64_t *bytes,
                 LbError *err);

typedef struct PitrConfig {
    const char *restoreCommand; /* the whole restore_command */
    const PitrTarget *target;
    int port;                    /* 0 = keep the backup's */
    const char *const *settings; /* extra "name=value" lines (--pg-set) */
    size_t settingCount;
    const char *comment; /* first line of the block, without '#' */
} PitrConfig;

/* restore_command calling this lifeboat binary's wal-fetch with the given
 * repository and password source (only names of files/commands, never a
 * password). Caller frees. */
char *pitrRestoreCommand(const char *lifeboatPath, const char *repository, const char *passwordFile,
                         const char *passwordCommand);

/* Append the recovery settings to dir/postgresql.auto.conf (older
 * restore_command / recovery_target* lines there are commented out) and
 * create dir/recovery.signal, both owned by the owner. */
bool pitrWriteConfig(const char *dir, const PitrConfig *cfg, const PitrOwner *owner, LbError *err);

/* Quote a value for postgresql.conf ('...' with ' and \ escaped). Caller frees. */
char *pitrConfQuote(const char *value);
/* Quote an argument for sh ('...' with ' as '\''). Caller frees. */
char *pitrShellQuote(const char *value);

typedef struct PitrStartOptions {
    const char *dir;
    const char *pgBin;   /* directory of pg_ctl, NULL = PATH */
    const char *logFile; /* server log, NULL = dir/lifeboat-recovery.log */
    const char *dbUser;  /* role to connect as, NULL = PGUSER or the owner's name */
    int timeoutSeconds;
    PitrAction action;
} PitrStartOptions;

/* Start the server with pg_ctl as the owner and wait until recovery is over
 * (promote: pg_is_in_recovery() false; pause: replay paused; shutdown: the
 * server stopped). Fails with the tail of the server log when the server
 * stops early or the wait times out. *seconds is the time it took. */
bool pitrStart(const PitrStartOptions *opts, const PitrOwner *owner, double *seconds, LbError *err);

#endif
