/*
 * fixture.h - small repositories in memory for the maint/ unit tests.
 *
 * A "backup" here is what the archiver would store for one directory "dir"
 * holding a few files, built by hand so the pack layout is exact: one
 * BlobSaver with one worker per backup, so each backup adds at most one data
 * pack, one tree pack and one index file. A file's content is a list of
 * chunks; chunk bytes are a pure function of a seed (fixChunk), so equal
 * seeds are shared (deduplicated) blobs and every read can be compared with
 * the expected bytes.
 */
#ifndef LIFEBOAT_TESTS_UNIT_MAINT_FIXTURE_H
#define LIFEBOAT_TESTS_UNIT_MAINT_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"
#include "repo/saver.h"
#include "snapshot/tree.h"

#define FIX_MAX_CHUNKS 4
#define FIX_MAX_FILES 4
/* Seeds from here on are referenced by a file but never stored (a blob
 * missing from the repository). */
#define FIX_SEED_MISSING 900u

typedef struct FixFile {
    const char *name; /* files of one backup are listed in name order */
    uint64_t seeds[FIX_MAX_CHUNKS];
    size_t chunkCount;
} FixFile;

typedef struct FixBackup {
    const char *tag; /* the snapshot's only tag: how fixVerify finds its spec */
    FixFile files[FIX_MAX_FILES];
    size_t fileCount;
    bool dirTreeMissing;   /* reference the "dir" tree without storing it */
    const char *host;      /* the snapshot's host; NULL: "testhost" */
    const char *component; /* may be NULL */
    /* filled by fixBackup */
    LbId snapshot, root, dirTree;
    LbId packs[2]; /* the packs this backup uploaded: data (when any) then tree */
    size_t packCount;
    LbId dataPack, treePack; /* zero when the backup added none */
} FixBackup;

/* A new repository on a new in-memory storage (owned by the Repo), index
 * loaded. fixRepoNew uses a cheap scrypt cost and default chunking. */
Repo *fixRepoNew(void);
Repo *fixRepoNewOpts(const RepoInitOptions *opts);

/* A crash in the middle of a run: once putsLeft (removesLeft) more puts
 * (removes) of names outside locks/ have succeeded, every further one fails
 * with LB_ERR_IO, as if the process had died there. -1 = no limit. The
 * counters also count what was done. */
typedef struct FixCrash {
    long putsLeft, removesLeft;
    long puts, removes; /* done so far, outside locks/ */
    /* called after every successful put outside locks/ (NULL = none): a test
     * can act in the middle of a run, e.g. a writer committing meanwhile */
    void (*onPut)(void *ctx, const char *name);
    void *onPutCtx;
} FixCrash;

/* fixRepoNew on a storage that obeys *crash (borrowed; it must outlive the
 * Repo). */
Repo *fixRepoNewCrashable(FixCrash *crash);

/* Plaintext of chunk seed (malloc'd, fixChunkLen(seed) bytes): random, so
 * it does not compress. Seeds >= 100 make large chunks (100 KB and more). */
size_t fixChunkLen(uint64_t seed);
uint8_t *fixChunk(uint64_t seed);

/* Store backup b (data, trees, index, snapshot taken at timeNs). */
void fixBackup(Repo *repo, FixBackup *b, int64_t timeNs);

/* The steps of fixBackup, for tests that build other shapes of backup:
 * submit tree t (sorted first) and receive its ID in *id once the saver is
 * waited for; submit the root tree, holding one directory "dir" whose tree
 * is *dirTree; save the snapshot of root (host NULL: "testhost"; component
 * may be NULL; path "/dir", the one tag) and return its ID in *id. */
void fixSubmitTree(BlobSaver *saver, Tree *t, LbId *id);
void fixSubmitRoot(BlobSaver *saver, const LbId *dirTree, LbId *root);
void fixSaveSnapshot(Repo *repo, const LbId *root, int64_t timeNs, const char *host, const char *component,
                     const char *tag, LbId *id);
/* Remove b's snapshot (what forget does). */
void fixForget(Repo *repo, const FixBackup *b);
/* Remove the object dir/<id>. */
void fixRemove(Repo *repo, const char *dir, const LbId *id);
/* Damage the object name: flip one bit at pos, or keep its first len bytes. */
void fixFlipBit(Repo *repo, const char *name, size_t pos);
void fixTruncate(Repo *repo, const char *name, size_t len);

/* Reload the index from the index files, as a new process would. */
void fixReload(Repo *repo);
/* The blob of chunk seed through the (reloaded) index: its location. */
IndexLoc fixChunkLoc(Repo *repo, uint64_t seed);
LbId fixChunkId(Repo *repo, uint64_t seed);

bool fixPackExists(Repo *repo, const LbId *pack);
uint64_t fixPackSize(Repo *repo, const LbId *pack);
size_t fixCount(Repo *repo, const char *prefix); /* objects under prefix */
/* Every object as "name size\n", sorted (caller frees). */
char *fixListing(Repo *repo);
/* Assert the listing now equals before; or that every object of before
 * except lock files is still there, unchanged. Both free before. */
void fixAssertUnchanged(Repo *repo, char *before);
void fixAssertNothingRemoved(Repo *repo, char *before);

/* First 8 hex digits of id (the form check's messages use). */
void fixHex8(const LbId *id, char out[9]);
void fixHex(const LbId *id, char out[65]);

/* Reload the index, then assert the repository holds exactly the snapshots
 * of expect (found by tag), each tree complete (repoCommitTreeComplete) and each
 * file's content read back equal to its chunks; and that checkRun with
 * read-data finds no error and no note. */
void fixVerify(Repo *repo, FixBackup *const *expect, size_t count);
/* The same for a repository the backups were copied into: each snapshot's
 * original is the backup's snapshot, files compare as a whole. */
void fixVerifyCopy(Repo *repo, FixBackup *const *expect, size_t count);
/* fixVerify after a crash: notes (packs no index names) are allowed. */
void fixVerifyAfterCrash(Repo *repo, FixBackup *const *expect, size_t count);

/* How many of lines contain a (and b, unless NULL). */
size_t fixCountLines(char **lines, size_t count, const char *a, const char *b);
void fixPrintLines(const char *what, char **lines, size_t count);

/* A test of a known bug whose fix lies outside the change that added it. */
typedef struct FixKnownBug {
    struct CMUnitTest test;
    const char *bug; /* "BUG: what is wrong; fix: ..." */
} FixKnownBug;

/* Run tests; then report each known-bug test as a TAP skip naming its bug
 * (cmocka's own skip() prints "not ok"), or, with LIFEBOAT_KNOWN_BUGS=1, run
 * them too (they fail until fixed). Returns the number of failures. */
int fixRunTests(const struct CMUnitTest *tests, size_t count, const FixKnownBug *bugs, size_t bugCount);

#endif
