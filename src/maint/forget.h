/*
 * forget.h - apply a retention policy to a repository's snapshots, or
 * forget named snapshots, and delete the snapshot records that go.
 *
 * forgetRun loads every snapshot, and either
 *   - (policy) groups the snapshots the filter selects by the chosen fields
 *     (host, component, paths, tags; none: one group) and applies the policy
 *     to each group (retention/policy.h); snapshots outside the filter are
 *     kept untouched; or
 *   - (names) forgets exactly the named snapshots (ID prefixes), keeping the
 *     rest; the policy is not consulted.
 * Unless dryRun, it then removes snapshots/<id> of each snapshot that goes.
 * Data stays until prune (maint/prune.h) removes what nothing references.
 *
 * The caller holds an exclusive lock on the repository (forgetRun refuses
 * NULL). The scheduler calls this without the CLI; `lifeboat forget` only
 * parses options and prints the result.
 *
 * Ownership: *out is filled on success and on failure alike (partially) and
 * freed with forgetResultClear. Strings and arrays in ForgetOptions are
 * borrowed.
 */
#ifndef LIFEBOAT_MAINT_FORGET_H
#define LIFEBOAT_MAINT_FORGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "repo/lock.h"
#include "repo/repo.h"
#include "retention/policy.h"
#include "snapshot/snapshot.h"

/* The fields snapshots are grouped by before the policy applies. */
typedef enum ForgetGroupBy {
    FORGET_BY_HOST = 1u << 0,
    FORGET_BY_COMPONENT = 1u << 1,
    FORGET_BY_PATHS = 1u << 2,
    FORGET_BY_TAGS = 1u << 3,
} ForgetGroupBy;

typedef struct ForgetOptions {
    RetentionPolicy policy;   /* used when nameCount == 0; must not be empty */
    unsigned groupBy;         /* ForgetGroupBy bits */
    SnapshotFilter filter;    /* which snapshots the policy considers */
    const char *const *names; /* snapshot ID prefixes to forget instead */
    size_t nameCount;
    bool dryRun;   /* decide and report, remove nothing */
    int64_t nowNs; /* "now" for --keep-within*; 0: the clock */
} ForgetOptions;

/* One group: the indexes (into ForgetResult.list) of its snapshots kept and
 * removed, newest first. */
typedef struct ForgetGroup {
    char *key; /* "host=a component=db"; "" for one group or named snapshots */
    size_t *keep, keepCount;
    size_t *remove, removeCount;
} ForgetGroup;

typedef struct ForgetResult {
    SnapshotList list;            /* every snapshot, oldest first */
    RetentionDecision *decisions; /* one per list item (keep = not forgotten) */
    ForgetGroup *groups;          /* sorted by key */
    size_t groupCount;
    size_t removed; /* snapshots forgotten (or, dry run, to be) */
    bool byPolicy;  /* false: named snapshots */
} ForgetResult;

/* The group key of s for the groupBy fields: each field labelled
 * ("host=... component=... paths=a,b tags=x,y"), so fields never collide.
 * Caller frees. */
char *forgetGroupKey(unsigned groupBy, const Snapshot *s);

/* Refuse an empty policy (forget never removes every snapshot) or an
 * invalid one, unless snapshots are named: LB_ERR_ARGS. forgetRun checks
 * this too; callers may check before opening anything. */
bool forgetOptionsCheck(const ForgetOptions *o, LbError *err);

/* Decide and (unless o->dryRun) remove; see the banner. Fails with
 * LB_ERR_ARGS for an empty or invalid policy, LB_ERR_NOT_FOUND (or
 * ambiguous) for a name that matches no snapshot, or the storage's error;
 * a failed removal leaves the earlier removals done. */
bool forgetRun(Repo *repo, RepoLock *lock, const ForgetOptions *o, ForgetResult *out, LbError *err);
void forgetResultClear(ForgetResult *result);

#endif
