/*
 * plan.h - which snapshot recovers a component as of a given time, and what
 * that time will be: the pure part of `recover`, `drill` and `points`
 * (no I/O; the snapshot lists and WAL windows are read by the caller).
 *
 *   --at latest   the newest snapshot; a physical backup with archived WAL
 *                 replays to the end of the archive (the window's end)
 *   --at TIME     the newest snapshot taken at or before TIME; a physical
 *                 backup whose WAL window holds TIME replays to exactly TIME
 *                 (data loss 0), one past the window's end to its end
 *   --at POINT    the component's snapshot of that recovery point; a
 *                 physical one stops where its backup became consistent
 *
 * A snapshot's read time is when its data was read: the end of a base
 * backup (where it becomes consistent), the start of any other backup (a
 * dump reads one transaction snapshot taken then).
 */
#ifndef LIFEBOAT_RECOVER_PLAN_H
#define LIFEBOAT_RECOVER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pg/walwindow.h"
#include "snapshot/snapshot.h"

typedef enum RecoverAtKind {
    RECOVER_AT_LATEST = 0,
    RECOVER_AT_TIME,
    RECOVER_AT_POINT,
} RecoverAtKind;

typedef struct RecoverAt {
    RecoverAtKind kind;
    int64_t ns;        /* RECOVER_AT_TIME */
    const char *point; /* RECOVER_AT_POINT (borrowed) */
} RecoverAt;

/* NULL or "latest", a time or span (lbParseAt), or a recovery point ID
 * (NAME@TIME). text is borrowed by *at. */
bool recoverAtParse(const char *text, int64_t nowNs, RecoverAt *at, LbError *err);

typedef enum RecoverReplay {
    RECOVER_REPLAY_NONE = 0,  /* restore the snapshot as it is */
    RECOVER_REPLAY_TIME,      /* a base backup, WAL replayed to asOfNs */
    RECOVER_REPLAY_LATEST,    /* a base backup, WAL replayed to the end of the archive */
    RECOVER_REPLAY_IMMEDIATE, /* a base backup, stopped where it is consistent */
} RecoverReplay;

typedef struct RecoverChoice {
    size_t index;         /* into the list */
    int64_t readNs;       /* the snapshot's read time */
    int64_t asOfNs;       /* the instant the recovered component shows */
    int64_t lossNs;       /* asked instant (latest: now) minus asOfNs, >= 0 */
    RecoverReplay replay; /* physical backups */
} RecoverChoice;

int64_t recoverReadTimeNs(const Snapshot *snap);
bool recoverIsPhysical(const Snapshot *snap);

/* Choose for the snapshots in list matching filter (host and component;
 * borrowed); window is the component's WAL window (NULL or !available: no
 * replay beyond a backup's end). LB_ERR_NOT_FOUND naming the component
 * (filter->component) and the time when nothing qualifies. */
bool recoverChoose(const SnapshotList *list, const SnapshotFilter *filter, const WalWindow *window, const RecoverAt *at,
                   int64_t nowNs, RecoverChoice *choice, LbError *err);

#endif
