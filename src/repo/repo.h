/*
 * repo.h - a repository: its storage, keys, configuration and index.
 *
 * Objects outside packs ("unpacked": config, index, snapshots, locks) are
 * stored as seal(metaKey, u8 flags || payload), flags bit 0 = zstd, and named
 * by the SHA-256 of the stored bytes (config is named "config"). Key files
 * are JSON in the clear with the master keys sealed under a scrypt-derived
 * key. Blobs: data blobs are sealed with the data key, tree blobs with the
 * metadata key, IDs are HMAC-SHA-256 under the ID key.
 */
#ifndef LIFEBOAT_REPO_REPO_H
#define LIFEBOAT_REPO_REPO_H

#include <stdbool.h>
#include <stdint.h>

#include "chunker/chunker.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/id.h"
#include "index/index.h"
#include "pack/pack.h"
#include "storage/storage.h"

#define REPO_FORMAT_VERSION 1

typedef struct Repo Repo;

typedef struct RepoKeys {
    uint8_t dataKey[32];
    uint8_t metaKey[32];
    uint8_t idKey[32];
} RepoKeys;

/* Chunk profiles: every profile shares the gear table; the parameters differ.
 * Files (and bucket objects) use FILES; logical database dumps use DUMP, whose
 * smaller chunks keep a dump's scattered row changes from touching every
 * chunk. A snapshot records the profile it was chunked with. */
typedef enum RepoChunkProfile { REPO_CHUNK_FILES = 0, REPO_CHUNK_DUMP = 1, REPO_CHUNK_PROFILES } RepoChunkProfile;

#define REPO_DUMP_CHUNK_MIN (8u * 1024u)
#define REPO_DUMP_CHUNK_AVG (32u * 1024u)
#define REPO_DUMP_CHUNK_MAX (128u * 1024u)

const char *repoChunkProfileName(RepoChunkProfile profile); /* "files", "dump" */

typedef struct RepoInitOptions {
    ChunkerParams chunker;          /* zero = defaults */
    ChunkerParams dumpChunker;      /* zero = defaults (REPO_DUMP_CHUNK_*) */
    bool referenceGear;             /* use the published FastCDC table (tests only) */
    int compressionLevel;           /* 0 = default */
    uint64_t kdfN;                  /* scrypt N, 0 = default 32768 */
    const struct Repo *chunkerFrom; /* copy chunker parameters and gear secret from this open repository */
} RepoInitOptions;

/* Create a repository in storage (which must not hold one: LB_ERR_EXISTS).
 * Takes ownership of storage, also on failure. */
Repo *repoInit(Storage *storage, const char *password, const RepoInitOptions *opts, LbError *err);

/* Open: LB_ERR_NO_REPO when there is no config, LB_ERR_WRONG_PASSWORD when no
 * key opens with the password. Takes ownership of storage, also on failure.
 * Does not load the index (repoLoadIndex). */
Repo *repoOpen(Storage *storage, const char *password, LbError *err);
void repoFree(Repo *repo);

Storage *repoStorage(Repo *repo);
/* How long (seconds) repoLockAcquire waits while another process holds a
 * conflicting lock before it fails with LB_ERR_LOCKED (default 0: at once). */
void repoSetLockWait(Repo *repo, int64_t seconds);
int64_t repoLockWait(const Repo *repo);
const RepoKeys *repoKeys(const Repo *repo);
const char *repoIdHex(const Repo *repo);
const LbId *repoKeyId(const Repo *repo); /* the key file that opened it */
const Chunker *repoChunker(const Repo *repo, RepoChunkProfile profile);
/* Equal fingerprints mean equal chunk boundaries (same parameters and gear). */
const LbId *repoChunkerFingerprint(const Repo *repo, RepoChunkProfile profile);
int repoCompressionLevel(const Repo *repo);
Index *repoIndex(Repo *repo);

/* Unpacked objects (index or snapshot files) that could not be read, each
 * with the reason, a message naming the object (owned; free the list with
 * repoDamagedListFree). */
typedef struct RepoDamagedList {
    struct RepoDamaged {
        LbId id;
        char *reason;
    } * items;
    size_t count;
} RepoDamagedList;
void repoDamagedListFree(RepoDamagedList *list);

/* How to load the index (and, with snapshotLoadAllOpt, the snapshots).
 *
 * Strict (the default): the first index file that cannot be read or decoded
 * fails the whole load, with a message naming it and a hint. Prune needs
 * this: an index file it cannot read may be the only one naming some packs,
 * which prune would then delete as unreferenced.
 *
 * skipDamaged: load every file that can be read; report each one that cannot
 * (its load error, naming it) in *damaged, or as a logged warning when damaged
 * is NULL. The load then fails only when the folder cannot be listed. Blobs
 * only a skipped index file names are not in the index, so looking them up
 * fails with NOT_FOUND naming the blob. Right for check (which reports the
 * list), restore, ls and diff (a blob not found fails clearly) and backup (it
 * only deduplicates less); never for prune. Entries an index file decoded
 * before a format fault inside it (authenticated content: a bug or a newer
 * version, not damage) stay in the index. */
typedef struct RepoLoadOptions {
    bool skipDamaged;
    RepoDamagedList *damaged; /* with skipDamaged: appended to (or NULL) */
} RepoLoadOptions;
/* For loaders skipping a damaged object: append id and a copy of reason to
 * opts->damaged, or, when that is NULL, log reason and what skipping means
 * (consequence) as a warning. */
void repoLoadSkip(const RepoLoadOptions *opts, const LbId *id, const char *reason, const char *consequence);

/* Load every index file into the repository's index; the P form takes
 * options (repoLoadIndexP(repo, &err, .skipDamaged = true, .damaged = &list)),
 * the plain form is strict. */
bool repoLoadIndexOpt(Repo *repo, const RepoLoadOptions *opts, LbError *err);
#define repoLoadIndexP(repo, err, ...) repoLoadIndexOpt((repo), &(RepoLoadOptions){__VA_ARGS__}, (err))
bool repoLoadIndex(Repo *repo, LbError *err);
/* Drop the in-memory index and load it again from the index files. */
bool repoReloadIndexOpt(Repo *repo, const RepoLoadOptions *opts, LbError *err);
#define repoReloadIndexP(repo, err, ...) repoReloadIndexOpt((repo), &(RepoLoadOptions){__VA_ARGS__}, (err))
bool repoReloadIndex(Repo *repo, LbError *err);
/* True once a load (or reload) succeeded, also one that skipped damaged
 * index files. */
bool repoIndexLoaded(const Repo *repo);
/* The index files the in-memory index was loaded from (borrowed: valid until
 * the next load or reload; index files this process wrote and damaged index
 * files skipped are not listed). */
const LbId *repoIndexFiles(const Repo *repo, size_t *count);
/* Read index file id (written since the index was loaded) into the
 * in-memory index and record it among repoIndexFiles. */
bool repoIndexAddFile(Repo *repo, const LbId *id, LbError *err);

/* Unpacked objects. dir is "snapshots", "index", "locks". */
bool repoSaveUnpacked(Repo *repo, const char *dir, const uint8_t *plain, size_t len, LbId *id, LbError *err);
bool repoLoadUnpacked(Repo *repo, const char *dir, const LbId *id, LbBuf *plain, LbError *err);
/* Decode stored bytes of an unpacked object (verifies nothing about the name). */
bool repoOpenUnpacked(Repo *repo, const uint8_t *stored, size_t len, LbBuf *plain, LbError *err);
/* List IDs in dir. Caller frees *ids. */
bool repoListIds(Repo *repo, const char *dir, LbId **ids, size_t *count, LbError *err);
/* Resolve a unique hex prefix of an object in dir. */
bool repoFindId(Repo *repo, const char *dir, const char *prefix, LbId *id, LbError *err);

/* The packs in storage, sorted by ID, with their sizes. */
typedef struct RepoPackList {
    struct RepoPack {
        LbId id;
        uint64_t size;
    } * items;
    size_t count, cap;
} RepoPackList;
/* Fill list (caller frees list->items). */
bool repoListPacks(Repo *repo, RepoPackList *list, LbError *err);
/* The listed pack with this ID, or NULL. */
const struct RepoPack *repoPackFind(const RepoPackList *list, const LbId *id);

/* Pack object name "data/XX/<hex>" into out (at least 80 bytes). */
void repoPackName(const LbId *packId, char *out);

/* Decode one stored blob (decrypt, decompress, verify its ID); append the
 * plaintext to out. On any damage the message names the blob; the code is
 * LB_ERR_CRYPTO (authentication failed) or LB_ERR_CORRUPT (anything else). */
bool repoDecodeBlob(const Repo *repo, const LbId *id, const IndexLoc *loc, const uint8_t *stored, LbBuf *out,
                    LbError *err);
/* Fetch and decode a blob through the index. */
bool repoLoadBlob(Repo *repo, BlobType type, const LbId *id, LbBuf *out, LbError *err);

/* Blob ID of plaintext. */
void repoBlobId(const Repo *repo, const uint8_t *data, size_t len, LbId *out);

/* Keys. */
typedef struct RepoKeyInfo {
    LbId id;
    char created[40];
    char username[64];
    char hostname[128];
} RepoKeyInfo;
bool repoKeyAdd(Repo *repo, const char *newPassword, LbId *newId, LbError *err);
bool repoKeyList(Repo *repo, RepoKeyInfo **keys, size_t *count, LbError *err);
bool repoKeyRemove(Repo *repo, const LbId *id, LbError *err);
/* Replace the key in use by a new key under newPassword (`key passwd`): the
 * new key file is written first, then the old one removed, so a crash in
 * between leaves both keys, each opening the repository. The new key is then
 * the one in use. Take an exclusive lock first. */
bool repoKeyChangePassword(Repo *repo, const char *newPassword, LbId *newId, LbId *oldId, LbError *err);

#endif
