/*
 * scratch_int.h - what scratch.c (the set, its cleanup, the signal guard)
 * and scratch_pg.c (scratch PostgreSQL servers) share. Not for other
 * modules.
 */
#ifndef LIFEBOAT_DRILL_SCRATCH_INT_H
#define LIFEBOAT_DRILL_SCRATCH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "drill/scratch.h"
#include "pg/pitr.h"

struct ScratchPg {
    ScratchSet *set;
    char *dataDir;
    char *binDir;
    char *socketDir;
    char *logPath; /* the server's log; NULL for an adopted server */
    int port;
    PitrOwner owner; /* the user the server runs as */
    bool stopped;    /* stopped by scratchPgStop or the cleanup */
};

struct ScratchSet {
    char *dir;          /* absolute */
    pthread_mutex_t mu; /* guards everything below, and the cleanup */
    bool cleaned;
    pid_t *pgids;
    size_t pgidCount, pgidCap;
    ScratchPg **pgs;
    size_t pgCount;
    int pgSeq;          /* numbers the servers' folders pg-1, pg-2, ... */
    bool searchChecked; /* the server user may search dir (root only) */
    bool guarded;       /* registered with the signal guard */
};

/* Add pg to the set (thread-safe). */
void scratchSetAddPg(ScratchSet *set, ScratchPg *pg);

/* As root: can the server's user (owner) enter the set's folder? Checked
 * once per set; LB_ERR_ARGS naming the first directory it cannot enter. */
bool scratchCheckSearch(ScratchSet *set, const PitrOwner *owner, LbError *err);

/* Run path with argv as owner (a child in a process group of its own,
 * signals unblocked, lifeboat's secrets scrubbed from its environment,
 * working directory cwd, stdout and stderr appended to logPath or
 * /dev/null), watched in set (when not NULL) while it runs; wait for it.
 * True when it exited 0; otherwise err names argv[0] and its exit status. */
bool scratchRunAs(const PitrOwner *owner, const char *path, char *const *argv, const char *cwd, const char *logPath,
                  ScratchSet *watch, LbError *err);

/* Stop pg's server if it runs: `pg_ctl stop -m MODE`, then SIGQUIT, then
 * SIGKILL of the postmaster and its children. True when nothing of it runs
 * afterwards. Marks it stopped. Caller holds no lock the caller of the
 * cleanup needs. */
bool scratchPgHalt(ScratchPg *pg, const char *mode, LbError *err);

/* Is pid a live (not zombie) process? */
bool scratchProcAlive(pid_t pid);
/* SIGKILL pid and its direct children, and wait up to waitMs until none of
 * them is alive. */
void scratchProcKillTree(pid_t pid, int waitMs);
void scratchSleepMs(int ms);

#endif
