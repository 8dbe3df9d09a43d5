/*
 * pgproc.h - run PostgreSQL client programs (pg_dump, pg_dumpall,
 * pg_restore, psql, pg_basebackup, ...) as child processes.
 *
 * The program is looked up by the parent (a --pg-bin directory, else PATH),
 * so a missing program is a clear error rather than a child that exits 127.
 * The child gets the given descriptors as stdin/stdout, its stderr goes to an
 * anonymous memory file (memfd) that never blocks it, and every other
 * descriptor of ours is closed on exec. The child's environment never holds
 * lifeboat's secrets (lbChildEnvScrub, common/childenv.h). After pgprocWait
 * the stderr text is available for messages; a failure message quotes it
 * (with the connection's password, if one is given, masked).
 */
#ifndef LIFEBOAT_PG_PGPROC_H
#define LIFEBOAT_PG_PGPROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

typedef struct PgProc PgProc;

typedef struct PgProcOptions {
    int stdinFd;        /* becomes the child's stdin; 0 = /dev/null */
    int stdoutFd;       /* becomes the child's stdout; 0 = /dev/null */
    int keepFd;         /* one more descriptor the child inherits as is; 0 = none */
    char *const *envp;  /* the child's environment (borrowed); NULL = ours */
    const char *secret; /* masked as <redacted> in the captured stderr; may be NULL */
    unsigned envFlags;  /* LbChildEnvFlags for lbChildEnvScrub; 0 = strict (no S3 secrets either) */
} PgProcOptions;

/* Full path of program name: binDir/name when binDir is given, else the
 * first executable name on PATH. NULL with LB_ERR_NOT_FOUND and a hint when
 * there is none. Caller frees. */
char *pgprocFind(const char *binDir, const char *name, LbError *err);

/* Start path with argv (argv[0] names it in messages; NULL-terminated; both
 * borrowed). Returns NULL with err when it cannot be started. Free with
 * pgprocFree. */
PgProc *pgprocStart(const char *path, char *const *argv, const PgProcOptions *opts, LbError *err);
#define pgprocStartP(path, argv, err, ...) pgprocStart((path), (argv), &(PgProcOptions){__VA_ARGS__}, (err))

/* Wait for the child to end. True when it exited with status 0; otherwise
 * LB_ERR_COMMAND "<name> failed (exit status N): <its stderr>". */
bool pgprocWait(PgProc *proc, LbError *err);
/* The child's stderr (after pgprocWait; the last 64 KiB at most, trailing
 * newlines dropped, secret masked). Borrowed from proc; "" when empty. */
const char *pgprocStderr(PgProc *proc);
pid_t pgprocPid(const PgProc *proc);

/* Terminate the child (SIGTERM) if it still runs, reap it, release
 * everything. NULL is a no-op. */
void pgprocFree(PgProc *proc);

#endif
