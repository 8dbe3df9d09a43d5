/*
 * walk.h - load a tree blob from a repository and visit a tree recursively.
 *
 * treeWalk visits every node below a tree in name order, depth first (a
 * directory before its contents), passing its path ("<prefix>/<name>/...").
 * It is what `ls` lists and what other walkers can share.
 *
 * Ownership: treeLoad fills *out, which the caller frees with treeFree (also
 * on failure). Nodes and paths given to a TreeWalkFn are borrowed for the
 * call only.
 */
#ifndef LIFEBOAT_SNAPSHOT_WALK_H
#define LIFEBOAT_SNAPSHOT_WALK_H

#include <stdbool.h>

#include "common/error.h"
#include "common/id.h"
#include "repo/repo.h"
#include "snapshot/tree.h"

/* Load and decode the tree blob id; the zero ID is the empty tree. */
bool treeLoad(Repo *repo, const LbId *id, Tree *out, LbError *err);

/* Called for each node; return false (with err set) to stop the walk. */
typedef bool (*TreeWalkFn)(void *ctx, const char *path, const Node *node, LbError *err);

/* Visit every node below tree id, paths starting with prefix ("" for the
 * root). Fails with the first load error or the first false of fn. */
bool treeWalk(Repo *repo, const LbId *id, const char *prefix, TreeWalkFn fn, void *ctx, LbError *err);

#endif
