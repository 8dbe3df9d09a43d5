/*
 * walspool.h - `wal-push --ahead N --spool DIR`: archive several WAL files
 * per call, acknowledging each to PostgreSQL only once it is in the
 * repository.
 *
 * PostgreSQL runs archive_command once per file, in order, and waits for it.
 * Opening an encrypted repository costs a scrypt derivation (about 0.1 s at
 * the default N) plus a process start, which caps one-file-per-call at a few
 * segments a second. With --ahead, the call for file X also pushes up to N
 * files that PostgreSQL has marked ready (the .ready files in pg_wal/archive_status),
 * in parallel, and records each one stored in the spool directory as a
 * marker: DIR/<name>.ok = JSON {name, size, sha256, repository}. When
 * PostgreSQL then asks for one of those files, the call finds the marker,
 * checks that the file's size and SHA-256 are the ones stored (so exactly
 * these bytes are in the repository) and that the repository is the same,
 * removes the marker and succeeds without opening the repository.
 *
 * Safety: a marker is written only after the object is durable in the
 * repository (storagePut returned); a lost marker only means the file is
 * pushed again (and found identical). Markers older than an hour are removed
 * unused. The spool directory must belong to the server's user (mode 0700):
 * whoever can write markers there can make files look archived.
 */
#ifndef LIFEBOAT_PG_WALSPOOL_H
#define LIFEBOAT_PG_WALSPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/id.h"
#include "repo/repo.h"

#define WALSPOOL_MARKER_MAX_AGE 3600

/* Create dir (0700) if missing; refuse one that others can write. */
bool walspoolOpen(const char *dir, LbError *err);

/* Is there a marker for name matching size/sha256 and repository? On a hit
 * the marker is removed. A marker that does not match is removed too (and
 * *hit is false). */
bool walspoolConsume(const char *dir, const char *repository, const char *name, uint64_t size, const LbId *sha256,
                     bool *hit, LbError *err);

/* Record that name (size, sha256) is durable in repository. */
bool walspoolMark(const char *dir, const char *repository, const char *name, uint64_t size, const LbId *sha256,
                  LbError *err);

/* Remove markers older than maxAgeSeconds. Errors are ignored. */
void walspoolPrune(const char *dir, int maxAgeSeconds);

/* Names of WAL files PostgreSQL marked ready in walDir/archive_status,
 * other than skip and those with a marker, sorted (history files first, as
 * PostgreSQL archives them), at most max. Caller frees each and the array. */
bool walspoolReady(const char *walDir, const char *spoolDir, const char *skip, size_t max, char ***names, size_t *count,
                   LbError *err);

typedef struct WalspoolItem {
    const char *path; /* file to push (borrowed) */
    const char *name; /* its WAL file name (borrowed) */
    bool ok;
    bool identical;
    uint64_t size, storedBytes;
    LbId sha256;
    LbError err;
} WalspoolItem;

/* Push items with up to threads workers (each reads its file, walPush).
 * With markDir, each worker writes the item's marker (walspoolMark, for
 * repository) as soon as the item is durable; a marker that cannot be
 * written fails the item. Fills every item's result; returns the number
 * pushed (and marked) successfully. */
size_t walspoolPushAll(Repo *repo, WalspoolItem *items, size_t count, int threads, const char *markDir,
                       const char *repository);

/* Run worker(arg) on up to threads threads (this one included) for count
 * items, and wait for them: the workers share the items through arg. */
void walspoolRunWorkers(void *(*worker)(void *), void *arg, int threads, size_t count);

/* Write data to path atomically (a temporary file beside it, then rename;
 * with sync, fsync of the file and of its directory). Mode 0600. */
bool walspoolWriteFile(const char *path, const void *data, size_t len, bool sync, LbError *err);

#endif
