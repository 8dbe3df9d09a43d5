/*
 * walretain.h - WAL retention: which files under wal/ no kept base backup
 * and no point-in-time window needs any more, and their deletion
 * (`forget --keep-wal-within D`, `prune --keep-wal-within D`).
 *
 * A file may go only when every one of these holds (docs/postgresql.md,
 * "WAL retention"):
 *
 *   1. at least one physical base backup of its cluster (same system
 *      identifier) is kept: with none, nothing is deleted;
 *   2. it lies before the start segment of every kept backup of its cluster
 *      on its timeline or an earlier one (recovery from such a backup
 *      replays forward from its start, across later timelines);
 *   3. it was archived before the oldest kept backup of its cluster started
 *      (its sealed header's push time): WAL a running server or a running
 *      backup is pushing now is never touched;
 *   4. it was archived before the window: more than D before the newest
 *      archived segment of the repository (not before "now": a server that
 *      stopped archiving keeps its window).
 *
 * `.partial` files are judged as the segment whose number they carry,
 * `.backup` files follow the segment they name when it is stored (else are
 * judged as it). A timeline history file T.history goes only when no kept
 * backup and no kept segment is on timeline T or a higher one (a history
 * file is needed by recovery onto its timeline and every descendant; higher
 * numbers include the descendants), and conditions 1, 3 and 4 hold for it.
 * Files whose cluster is unknown (no system identifier in their header:
 * history and .backup files) are judged against the kept backups of every
 * cluster, so they go only when every cluster would let them go.
 *
 * walRetainPlan is pure (no I/O) so that it can be tested on its own;
 * walRetainRun lists wal/, reads the headers the plan needs, and deletes.
 *
 * Ownership: names in WalRetainFile are borrowed; WalRetainResult owns its
 * name list (walRetainResultClear).
 */
#ifndef LIFEBOAT_PG_WALRETAIN_H
#define LIFEBOAT_PG_WALRETAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pg/wal.h"
#include "repo/lock.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"

/* A kept physical base backup, as the plan needs it. */
typedef struct WalRetainBackup {
    uint64_t systemId; /* 0: unknown, matches every file */
    uint32_t timeline; /* of its start */
    uint64_t startLsn;
    uint64_t segmentSize;
    int64_t startNs; /* when it started (the server's clock) */
} WalRetainBackup;

typedef enum WalRetainVerdict {
    WAL_RETAIN_KEEP_NO_BACKUP = 0, /* no kept base backup of its cluster (or not a cluster this run may touch) */
    WAL_RETAIN_KEEP_NEEDED,        /* at or after a kept backup's start, or its timeline is needed */
    WAL_RETAIN_KEEP_RECENT,        /* archived after the oldest kept backup started (or at an unknown time) */
    WAL_RETAIN_KEEP_WINDOW,        /* inside the point-in-time window */
    WAL_RETAIN_DELETE,
} WalRetainVerdict;

/* One file under wal/. The plan reads header fields only of files for which
 * walRetainNeedsHeader is true (their header must then be filled). */
typedef struct WalRetainFile {
    const char *name; /* borrowed: the file name without "wal/" */
    WalName parsed;
    uint64_t size; /* stored bytes (for the counts) */
    bool haveHeader;
    bool hasSystemId;
    uint64_t systemId;
    int64_t pushedNs; /* 0: unknown */
    WalRetainVerdict verdict;
} WalRetainFile;

typedef struct WalRetainPlanInput {
    const WalRetainBackup *backups; /* the kept physical base backups, every cluster */
    size_t backupCount;
    const uint64_t *systemIds; /* the clusters this run may delete from; count 0 = every cluster */
    size_t systemIdCount;
    int64_t windowStartNs; /* files archived at or after it are kept; INT64_MAX: no window */
} WalRetainPlanInput;

/* Can the file go, judging by its name alone (so its header is worth
 * reading)? False means it is kept whatever its header says. */
bool walRetainNeedsHeader(const WalRetainPlanInput *in, const WalName *name);

/* Decide every file (sets verdict). files need not be sorted. */
void walRetainPlan(const WalRetainPlanInput *in, WalRetainFile *files, size_t count);

typedef struct WalRetainOptions {
    int64_t windowSeconds; /* --keep-wal-within; 0: no window */
    bool dryRun;
    const uint64_t *systemIds; /* as in WalRetainPlanInput */
    size_t systemIdCount;
} WalRetainOptions;

typedef struct WalRetainResult {
    uint64_t filesListed, bytesListed;
    uint64_t filesDeleted, bytesDeleted;                 /* dry run: would be */
    uint64_t segments, partials, histories, backupFiles; /* deleted, by kind */
    uint64_t keptWindow;                                 /* would go but for the window */
    uint64_t keptRecent; /* would go but were archived after the oldest kept backup started */
    uint64_t headersRead;
    size_t backupsKept;    /* kept physical base backups considered */
    int64_t windowStartNs; /* INT64_MIN: no window (or no WAL to measure it from) */
    bool ran;              /* false: the run had no cluster to look at (forget selected no physical backup) */
    char **deleted;        /* names, in deletion order */
    size_t deletedCount;
} WalRetainResult;

/* The kept physical base backups of list (kept[i] true, or every snapshot
 * when kept is NULL) as plan input; *count set. Caller frees. */
WalRetainBackup *walRetainBackups(const SnapshotList *list, const bool *kept, size_t *count);

/* List wal/, plan, and unless o->dryRun delete what goes: segments, partial
 * and .backup files oldest first, then history files, after checking that
 * lock (exclusive, required) is still the only live lock. A failed deletion
 * stops the run with the earlier deletions done (the next run finishes). */
bool walRetainRun(Repo *repo, RepoLock *lock, const SnapshotList *list, const bool *kept, const WalRetainOptions *o,
                  WalRetainResult *result, LbError *err);
void walRetainResultClear(WalRetainResult *result);

/* The result as the "wal" object of forget/prune --json; new reference. */
json_t *walRetainResultJson(const WalRetainOptions *o, const WalRetainResult *r);

#endif
