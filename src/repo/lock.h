/*
 * lock.h - repository locks (locks/<id>, sealed JSON: time, exclusive,
 * hostname, username, pid).
 *
 * Shared locks (backup, restore) coexist; an exclusive lock (check, prune,
 * forget, key remove) excludes every other lock. A lock is refreshed every
 * LOCK_REFRESH_SECONDS by a background thread while held. A lock of this
 * host is stale when its process no longer exists; a lock of another host is
 * stale when it was not refreshed for LOCK_STALE_SECONDS. Stale locks are ignored by lock
 * acquisition (those of dead processes on this host are deleted on the way)
 * and removed by `unlock`.
 */
#ifndef LIFEBOAT_REPO_LOCK_H
#define LIFEBOAT_REPO_LOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "repo/repo.h"

#define LOCK_REFRESH_SECONDS 300
#define LOCK_STALE_SECONDS 1800

typedef struct RepoLock RepoLock;

/* Acquire a lock. Conflicts fail with LB_ERR_LOCKED and a message naming the
 * holder's host, pid, kind and age. Free with repoLockRelease. */
RepoLock *repoLockAcquire(Repo *repo, bool exclusive, LbError *err);
/* For a command that only reads (restore, check, copy's source): take a
 * lock of this kind; when the lock cannot be stored because the repository
 * is not writable here (a read-only mount, a full disk, a bucket that denies
 * writes), or with noLock (--no-lock), read without one (*lock NULL, a
 * warning in the first case) but still fail with LB_ERR_LOCKED while another
 * process holds an exclusive lock. */
bool repoLockForReading(Repo *repo, bool exclusive, bool noLock, RepoLock **lock, LbError *err);
/* Stop refreshing and delete the lock file; NULL is a no-op. */
void repoLockRelease(RepoLock *lock);

/* For exclusive holders about to delete data: true when no other live lock
 * exists (a defence in depth should the lock have been lost). */
bool repoLockVerifyAlone(RepoLock *lock, LbError *err);

/* Remove stale locks (or all locks when all is true). */
bool repoLockRemoveStale(Repo *repo, bool all, size_t *removed, LbError *err);

#endif
