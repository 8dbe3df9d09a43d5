/*
 * walasync.h - `wal-push --async` and `wal-fetch --prefetch`: one long-running
 * lifeboat process per spool directory that keeps the repository open (one
 * key derivation) and moves WAL in parallel, while the archive_command /
 * restore_command calls PostgreSQL makes one file at a time stay cheap.
 *
 * Push (archive_command): the call never opens the repository. It records
 * the server's pg_wal directory in the spool (DIR/wal-dir), then waits for
 * the marker of its file (walspool.h: name, size, SHA-256, repository; the
 * marker is written only once the object is durable in the repository) and
 * succeeds only then. Meanwhile it makes sure the pusher runs: DIR/pusher.lock
 * is held with flock by the one pusher; when the lock is free the call starts
 * one, detached (double fork, setsid, stdio to DIR/pusher.log, no other
 * descriptor kept, process name lb-wal-pusher). The pusher lists
 * pg_wal/archive_status/ *.ready, pushes the files in WAL order with N
 * workers, marks each, and exits after an idle period. A pusher's error is
 * written to DIR/error; the next call reports it (PostgreSQL logs it),
 * removes it and fails, so PostgreSQL retries. A call that waited longer than
 * its timeout fails too (PostgreSQL retries).
 *
 * Fetch (restore_command, segments only): DIR/prefetch/<name> is a segment
 * the prefetcher (DIR/prefetch.lock, DIR/prefetch.log, lb-wal-prefetch)
 * fetched and checked against its sealed header (name, size, SHA-256), then
 * wrote atomically (temporary file, fsync, rename). The call records its
 * segment as the request (DIR/prefetch/request), makes sure the prefetcher
 * runs, and moves the prefetched file into place (rename or copy, fsync)
 * when it is there; the prefetcher fetches the requested segment and the N
 * after it on the same timeline, stops at the first missing one (the end of
 * the archive, DIR/prefetch/<name>.missing), removes files behind the
 * request or older than WALASYNC_PREFETCH_MAX_AGE, and exits when idle.
 *
 * The background process gets the password as the call did (inherited
 * environment: a password file or command, never argv); it is a fork of the
 * call, not a new program.
 */
#ifndef LIFEBOAT_PG_WALASYNC_H
#define LIFEBOAT_PG_WALASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/id.h"
#include "repo/repo.h"

#define WALASYNC_PUSH_WORKERS 4
#define WALASYNC_PREFETCH_MAX_AGE 600

typedef struct WalasyncConfig {
    const char *spool;      /* spool directory, walspoolOpen'ed */
    const char *repository; /* repository location, as recorded in markers */
    int workers;            /* parallel pushes or fetches */
    int ahead;              /* prefetch: segments after the requested one */
    int waitSeconds;        /* how long a call waits for the background process */
    int idleSeconds;        /* the background process exits after this long without work */
    /* opens the repository in the background process (one key derivation) */
    Repo *(*openRepo)(void *ctx, LbError *err);
    void *ctx;
} WalasyncConfig;

/* archive_command side: succeed once the pusher marked name (size, sha256)
 * as durable in the repository; fail with the pusher's error or on timeout.
 * path is the file PostgreSQL passed (its directory is the pg_wal recorded
 * for the pusher). */
bool walasyncPush(const WalasyncConfig *c, const char *path, const char *name, uint64_t size, const LbId *sha256,
                  LbError *err);

/* restore_command side, for a segment name: request it from the prefetcher
 * and move the prefetched file to dest. *hit false (and true returned) when
 * the prefetcher did not deliver it (missing in the repository, or not within
 * waitSeconds): the caller then fetches it itself. */
bool walasyncFetch(const WalasyncConfig *c, const char *name, const char *dest, bool *hit, LbError *err);

/* Shared by both: make sure the one background process of lockName runs in
 * c->spool (start run detached when the lock is free). *started tells
 * whether this call started it. */
typedef void (*WalasyncRunFn)(const WalasyncConfig *c);
bool walasyncEnsure(const WalasyncConfig *c, const char *lockName, const char *logName, const char *procName,
                    WalasyncRunFn run, bool *started, LbError *err);

/* In the background process: is the lock it holds (descriptor 3) still the
 * spool's lock file? False once the spool was removed or replaced: the
 * process then exits rather than serve a folder nobody uses. */
bool walasyncStillOwner(const WalasyncConfig *c, const char *lockName);
/* Read a small text file; NULL when missing or unreadable. Caller frees. */
char *walasyncReadText(const char *path);
void walasyncSleepMs(int ms);

#endif
