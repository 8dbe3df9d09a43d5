/*
 * diff.h - the differences between two snapshot trees.
 *
 * diffTrees compares tree a (older) with tree b (newer) and yields each
 * difference through a callback, in path order: a path only in b is added
 * ('+'), only in a removed ('-'), a file or symlink whose content or target
 * differs modified ('M'), and an entry whose mode, owner or mtime alone
 * differs has changed metadata ('U'). An entry whose type changed is removed
 * and added. Below an added or removed directory every entry is reported
 * too. Subtrees with equal IDs are skipped without being loaded.
 *
 * Ownership: paths and nodes given to the callback are borrowed for the call
 * only. The repository's index must be loaded.
 */
#ifndef LIFEBOAT_SNAPSHOT_DIFF_H
#define LIFEBOAT_SNAPSHOT_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/id.h"
#include "repo/repo.h"
#include "snapshot/tree.h"

typedef enum DiffChange {
    DIFF_ADDED = '+',
    DIFF_REMOVED = '-',
    DIFF_MODIFIED = 'M',
    DIFF_METADATA = 'U',
} DiffChange;

typedef struct DiffStats {
    uint64_t added, removed, modified, metadata;
} DiffStats;

/* One difference: the node is b's (a's for DIFF_REMOVED). Return false,
 * with err set, to stop. */
typedef bool (*DiffFn)(void *ctx, DiffChange change, const char *path, const Node *node, LbError *err);

/* Compare the trees a and b (the zero ID is an empty tree), calling fn (may
 * be NULL) for each difference and counting them in *stats (zeroed first). */
bool diffTrees(Repo *repo, const LbId *a, const LbId *b, DiffFn fn, void *ctx, DiffStats *stats, LbError *err);

#endif
