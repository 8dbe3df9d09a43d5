/*
 * commit.h - the one commit path of every writer: packs -> index -> snapshot,
 * with the checks that keep a concurrent prune from leaving a snapshot that
 * points at deleted data (docs/concurrency.md, step 4).
 *
 * A writer (file and bucket backups, PostgreSQL dumps and base backups, copy)
 * calls repoCommitBegin before it deduplicates against the index: that loads
 * the index if needed and records the index files it was loaded from. It
 * then stores its blobs (the saver writes the packs, then the index files
 * naming them) and hands each snapshot to repoCommitSnapshot, which checks
 * that every pack this run uploaded still exists and that every recorded
 * index file is still there; when one is gone (a prune ran although the
 * writer's lock should have stopped it) it reloads the index and verifies
 * that every blob reachable from the snapshot's tree is still present. Only
 * then is the snapshot written. A failed check writes nothing and fails with
 * LB_ERR_NOT_COMMITTED ("no snapshot written: ..."): running the writer again
 * stores the data again.
 */
#ifndef LIFEBOAT_REPO_COMMIT_H
#define LIFEBOAT_REPO_COMMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/id.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"

typedef struct RepoCommit RepoCommit;

/* Start a writer's commit: load repo's index unless it is loaded, and record
 * the index files it was loaded from. repo is borrowed and must outlive the
 * RepoCommit. NULL on failure (err). */
RepoCommit *repoCommitBegin(Repo *repo, LbError *err);

/* Check, then save snap (sets snap->id). newPacks: the packs this run
 * uploaded (borrowed; may be NULL when newPackCount is 0); snap->tree is the
 * tree the check verifies. May be called once per snapshot (copy writes
 * several): each call checks against the index files recorded at Begin.
 * On failure nothing is written and the message starts with "no snapshot
 * written"; the code is LB_ERR_NOT_COMMITTED when data was found missing,
 * another code when the check or the write itself failed. */
bool repoCommitSnapshot(RepoCommit *commit, const LbId *newPacks, size_t newPackCount, Snapshot *snap, LbError *err);

/* Every pack in packs (borrowed) still exists: prune deletes packs no index
 * names, and until a run's index file is written its packs are such. The
 * saver runs this before it writes its index file, repoCommitSnapshot before
 * the snapshot. A missing pack: LB_ERR_NOT_COMMITTED naming it. */
bool repoCommitCheckPacks(Repo *repo, const LbId *packs, size_t count, LbError *err);

/* NULL is a no-op. */
void repoCommitFree(RepoCommit *commit);

/* True when every tree and data blob reachable from tree is in the
 * repository's index as loaded now; otherwise false with LB_ERR_NOT_COMMITTED
 * naming the first missing data blob (or the error of loading a tree). */
bool repoCommitTreeComplete(Repo *repo, const LbId *tree, LbError *err);

#endif
