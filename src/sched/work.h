/*
 * work.h - what one run of a component or job does, in the process that runs
 * it (a child of the daemon or of `lifeboat run`).
 *
 * Every step is a command line built from the configuration file (the
 * CfgArgs of config/file.h) and run through the same entry point as a typed
 * command (cmd/dispatch.c), with --json: its one JSON document (docs/
 * commands.md, Output) is read back for the snapshot ID, the bytes added and
 * the error. A component runs its backup; a backup job runs each of its
 * components' backups under one recovery point (the run ID), then copies the
 * new snapshots to copy_to; copy, forget, prune and check jobs run those verbs
 * against their repositories.
 *
 * Ownership: everything is borrowed for the call.
 */
#ifndef LIFEBOAT_SCHED_WORK_H
#define LIFEBOAT_SCHED_WORK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "config/file.h"
#include "state/history.h"

/* argv -> exit code, as main() (cliMain). */
typedef int (*SchedDispatch)(int argc, char **argv);

#define SCHED_SNAPSHOTS_MAX 2048

typedef struct SchedResult {
    HistOutcome outcome;                   /* succeeded, failed or skipped */
    int exitCode;                          /* the worst exit code of the steps */
    int64_t bytesAdded;                    /* sum over the backups; -1 when none ran */
    int64_t bytesProcessed;                /* bytes the backups read (total_bytes_processed); -1 when none ran */
    char snapshotIds[SCHED_SNAPSHOTS_MAX]; /* IDs of the snapshots written, comma-separated */
    char error[LB_ERROR_MSG_MAX];          /* the first failure; empty when none */
} SchedResult;

/* Run the component or job `name` of cfg as run runId (also the recovery
 * point of a backup job). res is filled in every case. */
void schedWork(const CfgFile *cfg, const char *name, const char *runId, SchedDispatch dispatch, SchedResult *res);

/* "9ca1b752,3f2a01bc": the short (8-character) form of a comma-separated
 * list of snapshot IDs, for humans. */
void schedShortIds(const char *ids, char *out, size_t size);

/* res as one JSON line (the child's report to the process recording the run)
 * and back. */
bool schedResultEncode(const SchedResult *res, char *out, size_t size);
bool schedResultDecode(const char *line, SchedResult *res);

#endif
