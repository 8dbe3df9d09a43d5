/*
 * recover.h - what `recover` and `drill` share: the recovery set (the
 * components asked for, the snapshot each recovers from and the instant it
 * will show, its target), and running their restores.
 *
 *   recoverSetBuild     components (partial: the databases, full: all, or
 *                       names), each component's repository opened once, its
 *                       snapshot chosen by recover/plan.h
 *   recoverSetTargets   targets from --target COMPONENT=TARGET, else the
 *                       component's recovery.target
 *   recoverSetInspect   whether each target is empty (a database without
 *                       tables, a missing or empty folder or bucket prefix)
 *   recoverSetRun       the restores, each `lifeboat restore ...` (the same
 *                       command a user could type) in a child process of
 *                       its own process group: the databases first, one
 *                       after the other, then the other components at once
 *
 * Ownership: a RecoverSet owns its items, their snapshots and strings; the
 * configuration file is borrowed. recoverSetFree frees it.
 */
#ifndef LIFEBOAT_CMD_RECOVER_H
#define LIFEBOAT_CMD_RECOVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cmd/cli.h"
#include "config/file.h"
#include "recover/plan.h"

typedef struct RecoverItem {
    const CfgComponent *comp;
    const CfgFileRepository *repo;
    Snapshot snap; /* the chosen snapshot (owned) */
    RecoverChoice choice;
    char *target;      /* where it is restored (owned; NULL until set) */
    bool notEmpty;     /* the target holds something */
    bool serverOnIt;   /* a data directory with postmaster.pid: refused even with --clean */
    bool createDb;     /* postgres: the target database does not exist yet: restore --create */
    char *targetError; /* the target could not be inspected (owned) */
    CliArgv extra;     /* more options for its restore (drill: the scratch server's settings) */
    bool clean;        /* as RecoverRunOptions.clean, for this item only */
    bool skip;         /* not run (drill: its scratch target could not be made); never ok */
    char *checkConn;   /* where the recovered database answers queries (owned; NULL: a logical one's target) */
    /* results */
    bool ran, ok;
    int exitCode;
    double seconds;
    uint64_t bytes;
    bool verified;
    char *error;    /* the restore's message when it failed (owned) */
    json_t *output; /* the restore's JSON summary (owned; may be NULL) */
} RecoverItem;

typedef struct RecoverSet {
    const CfgFile *file;
    RecoverAt at;
    const char *atText; /* as given, borrowed; NULL: latest */
    int64_t nowNs;
    RecoverItem *items;
    size_t count;
} RecoverSet;

bool recoverSetBuild(const CfgFile *file, char *const *names, size_t nameCount, const char *atText, RecoverSet *set,
                     LbError *err);
/* overrides: "COMPONENT=TARGET" strings (borrowed); with required, a
 * component without a target is an error naming it. */
bool recoverSetTargets(RecoverSet *set, const char *const *overrides, size_t overrideCount, bool required,
                       LbError *err);
void recoverSetInspect(RecoverSet *set);
void recoverSetFree(RecoverSet *set);

/* The plan as JSON (new reference) and as a table on out. */
json_t *recoverPlanJson(const RecoverSet *set);
void recoverPlanPrint(const RecoverSet *set, FILE *out);
/* The results as JSON (new reference) and as a table on out. */
json_t *recoverResultJson(const RecoverSet *set);
void recoverResultPrint(const RecoverSet *set, FILE *out);

typedef void (*RecoverPidFn)(void *ctx, pid_t pgid, bool started);
typedef struct RecoverRunOptions {
    bool clean;        /* empty folders and data directories, --clean for databases, --delete for buckets */
    bool verify;       /* --verify where the restore has it */
    bool progress;     /* a line per component start and end on stderr */
    RecoverPidFn pids; /* told every child's process group (drill: killed on a signal) */
    void *pidsCtx;
} RecoverRunOptions;
/* Run every item's restore; false when one failed (each item says how). */
bool recoverSetRun(RecoverSet *set, const RecoverRunOptions *opts);

bool recoverIsDatabase(const CfgComponent *c);

/* The consistency checks (recover/consistency.h) of the recovered
 * databases whose bucket component was recovered too: one JSON object per
 * check appended to out, a line per check on text (NULL: none). False when
 * a check found missing keys or could not run (*err: the first reason). */
bool recoverConsistency(const RecoverSet *set, json_t *out, FILE *text, LbError *err);

#endif
