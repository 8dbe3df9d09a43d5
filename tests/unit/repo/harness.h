/*
 * harness.h - helpers shared by the unit tests of src/repo and src/maint: a "borrowing"
 * storage driver and a capture of the logger's output.
 *
 * A Repo owns its Storage and frees it, so to open one store several times
 * (as several processes would) each Repo gets a thin borrowing driver that
 * forwards to a shared Storage and frees nothing. The driver can make
 * operations on names under a prefix fail, or make puts under a prefix
 * "succeed" while storing nothing (an object lost behind the writer's back).
 * Also: a writer's run in miniature (storeFile) and object counting.
 */
#ifndef LIFEBOAT_TESTS_UNIT_REPO_HARNESS_H
#define LIFEBOAT_TESTS_UNIT_REPO_HARNESS_H

#include <stdio.h>

#include "repo/repo.h"
#include "snapshot/snapshot.h"
#include "storage/storage.h"

/* Names with these prefixes fail with LB_ERR_IO for that operation (NULL =
 * never); puts of names with prefix drop report success and store nothing.
 * A test may change them while a Repo uses the driver. */
typedef struct Faults {
    const char *put, *get, *list, *remove, *stat;
    const char *drop;
    /* called after every successful put (NULL = none): a test can act "in
     * the middle" of an operation, e.g. prune when a writer's index lands */
    void (*onPut)(void *ctx, const char *name);
    void *onPutCtx;
} Faults;

/* A borrowing driver over inner (which the caller keeps and frees); puts of
 * names starting with failPutPrefix fail (NULL = none). */
Storage *borrow(Storage *inner, const char *failPutPrefix);
/* A borrowing driver whose faults the test controls through *faults. */
Storage *borrowFaulty(Storage *inner, Faults *faults);

/* Capture what is written to stderr (the logger's output) between begin and
 * end; end returns it NUL-terminated (caller frees). */
typedef struct Capture {
    int saved;
    FILE *file;
} Capture;
void captureBegin(Capture *c);
char *captureEnd(Capture *c);

/* Objects whose names start with prefix in store ("" = all). */
size_t countObjects(Storage *store, const char *prefix);
/* Remove dir/<id> (a pack when dir is "data"), which must exist. */
void removeObject(Storage *store, const char *dir, const LbId *id);

/* What one run of a writer stored: its tree and the packs it uploaded. */
typedef struct Stored {
    LbId data, tree;
    LbId *packs; /* owned */
    size_t packCount;
} Stored;

/* Store one file of 4 KiB (content from seed) named name in a tree, through
 * a saver, the way the archiver does: data blob, tree blob, packs, then the
 * index file. A blob the index already has is not stored again. repo's
 * index must be loaded. */
bool storeFile(Repo *repo, const char *name, unsigned seed, Stored *out, LbError *err);
/* A snapshot of s's tree (caller clears it). */
void snapshotOf(const Stored *s, Snapshot *snap);

#endif
