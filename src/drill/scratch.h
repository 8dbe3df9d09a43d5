/*
 * scratch.h - throwaway resources for a DR drill: one folder, the
 * PostgreSQL servers started in it, and the process groups restoring into
 * it, all removed at the end whatever happens.
 *
 * A ScratchSet is a new folder PARENT/lifeboat-drill.XXXXXX. Everything a
 * drill creates lives below it: restored files, command output, the data
 * directory, socket and log of every scratch server. scratchSetFree (the
 * normal end) and the signal guard (SIGINT, SIGTERM, SIGHUP) run the same
 * idempotent cleanup, under the set's mutex:
 *   1. every watched process group gets SIGTERM, then SIGKILL after 2 s;
 *   2. every scratch server is stopped with `pg_ctl stop -m immediate`
 *      (its data is thrown away, so no checkpoint), and its postmaster and
 *      the postmaster's children get SIGKILL if they are still there;
 *   3. the folder is removed recursively with openat/unlinkat, never
 *      following a symbolic link (a restored link to /etc is unlinked, not
 *      entered), making read-only directories writable on the way.
 * Afterwards nothing of the set remains: no process, no folder.
 *
 * Root: PostgreSQL refuses to run as root, so when lifeboat runs as root the
 * servers run as the user pitrOwnerResolve picks ("postgres"), as in
 * pg/pitr.h and tests/harness/pg/start.sh. The set's folder is then mode
 * 0711 (that user may pass through it, not list it) and each server's folder
 * is that user's, mode 0700; nothing is made readable to others. The
 * parents of the folder must already be searchable by that user: lifeboat
 * does not change the mode of a directory it did not create (a chmod of
 * /root would outlive the drill). With the default parent ($TMPDIR) a
 * parent the user cannot search makes the set fall back to /tmp; with a
 * parent given, scratchPgStart fails naming the directory.
 *
 * Scratch servers listen on no TCP port (listen_addresses = ''): only a Unix
 * socket in the server's own folder inside the set, so nothing outside the
 * machine, and no other local user without access to the folder, can reach
 * them, and no port can be taken by someone else between choosing and
 * binding it. The "port" is then only part of the socket's name
 * (.s.PGSQL.5432); connection strings carry host=SOCKETDIR port=5432.
 *
 * Threads: the restores of a drill may run in parallel, so scratchSetPath,
 * scratchSetMkdir, scratchSetWatchPgid/UnwatchPgid, scratchPgStart and
 * scratchPgAdopt may be called from several threads at once; the cleanup
 * may run on the signal guard's thread. scratchSetFree must be the last
 * call, after every other thread is done with the set.
 */
#ifndef LIFEBOAT_DRILL_SCRATCH_H
#define LIFEBOAT_DRILL_SCRATCH_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

typedef struct ScratchSet ScratchSet;
typedef struct ScratchPg ScratchPg;

/* The port scratch servers use: only the name of their Unix socket. */
#define SCRATCH_PG_PORT 5432

/* A new folder lifeboat-drill.XXXXXX under parentDir (NULL: $TMPDIR, else
 * /tmp). Free with scratchSetFree. */
ScratchSet *scratchSetNew(const char *parentDir, LbError *err);
/* The folder (absolute; borrowed). */
const char *scratchSetDir(const ScratchSet *set);
/* DIR/name (caller frees); name must be a relative path without "..". */
char *scratchSetPath(ScratchSet *set, const char *name);
/* Create DIR/name (mode 0700; parents within the set as needed). *pathOut,
 * when not NULL, receives its path (caller frees). */
bool scratchSetMkdir(ScratchSet *set, const char *name, char **pathOut, LbError *err);

/* Process groups to terminate at cleanup (a restore's children started with
 * setpgid). Thread-safe. */
void scratchSetWatchPgid(ScratchSet *set, pid_t pgid);
void scratchSetUnwatchPgid(ScratchSet *set, pid_t pgid);

/* Run the cleanup on SIGINT, SIGTERM and SIGHUP, then _exit(128 + signal).
 *
 * A signal handler may only call async-signal-safe functions, and the
 * cleanup needs fork+exec of pg_ctl (as another user), waiting, directory
 * walks and malloc: none of that is allowed in a handler. So the three
 * signals are blocked instead and one dedicated thread waits for them with
 * sigwait(); it runs the ordinary cleanup code on an ordinary thread. A
 * blocked signal is inherited by threads created afterwards, so call this
 * before starting any other thread (threads started earlier keep their
 * mask and would receive the signals' default action: call it first). The
 * guard covers every guarded set of the process (one thread for all); the
 * calling thread's signal mask is restored when the last guarded set is
 * freed. If a signal arrives while scratchSetFree cleans up, the signal's
 * cleanup waits for it (the set's mutex) and finds nothing left to do.
 * Child processes started through pg/pgproc.h unblock the signals. */
bool scratchSetGuardSignals(ScratchSet *set, LbError *err);

/* The normal cleanup (see the banner), then free. NULL is a no-op. */
void scratchSetFree(ScratchSet *set);

/* The directory of the PostgreSQL server programs (initdb, pg_ctl,
 * postgres, pg_amcheck) of one major version: Debian's
 * /usr/lib/postgresql/MAJOR/bin; major 0 = the newest one installed. Caller
 * frees; NULL with LB_ERR_NOT_FOUND naming the version and the Debian
 * package (postgresql-MAJOR) when it is missing.
 *
 * Which major a drill needs: a logical dump made by server version N needs
 * pg_restore >= N (older pg_restore may not read the archive), and any
 * server at least as new can load it, so the newest installed major that
 * is >= N does. A base backup is a copy of the data directory's files, whose
 * on-disk format is only readable by the exact major version that wrote it
 * (PG_VERSION in the backup): it needs exactly that major. */
char *scratchPgBinDir(int major, LbError *err);

/* initdb (trust authentication, UTF8, --no-locale, superuser "postgres")
 * into a new folder of the set, settings for scratch data (fsync off,
 * wal_level minimal, archive_mode off, no TCP: a Unix socket in the
 * server's folder), `pg_ctl start -w`, and a test connection. The server is
 * registered in the set: cleanup stops it. major as for scratchPgBinDir.
 * The ScratchPg is owned by the set (valid until scratchSetFree). */
ScratchPg *scratchPgStart(ScratchSet *set, int major, LbError *err);

/* Register a server something else started from a data directory inside
 * the set (the point-in-time restore) so that cleanup stops it. binDir
 * holds its pg_ctl; socketDir and port say how to reach it. The server runs
 * as the owner of dataDir. Owned by the set. */
ScratchPg *scratchPgAdopt(ScratchSet *set, const char *dataDir, const char *binDir, int port, const char *socketDir,
                          LbError *err);

/* Borrowed accessors. */
int scratchPgPort(const ScratchPg *pg);
const char *scratchPgSocketDir(const ScratchPg *pg);
const char *scratchPgBinPath(const ScratchPg *pg);
const char *scratchPgDataDir(const ScratchPg *pg);
/* The postmaster's PID while it runs (from postmaster.pid), else 0. */
pid_t scratchPgPid(const ScratchPg *pg);

/* "host='SOCKETDIR' port='5432' user='postgres' dbname='DB'" (libpq
 * keyword form; dbname NULL = postgres). Caller frees. */
char *scratchPgConnString(const ScratchPg *pg, const char *dbname);

/* Stop the server now (pg_ctl stop -m fast, SIGKILL if it does not stop);
 * it stays registered, cleanup then has nothing to do for it. */
bool scratchPgStop(ScratchPg *pg, LbError *err);

#endif
