/*
 * index.h - the in-memory blob index (blob -> pack, offset, length) and the
 * index file codec.
 *
 * Index file plaintext (before compress + seal, see repo):
 *   "LBIX" || u8 version(1) || u32le packCount || packCount × pack
 *   pack  = id[32] || u32le n || n × entry
 *   entry = u8 type || u8 flags || u32le offset || u32le storedLength
 *           || u32le rawLength || id[32]
 * Not thread-safe: callers that share an Index serialize access.
 */
#ifndef LIFEBOAT_INDEX_INDEX_H
#define LIFEBOAT_INDEX_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/id.h"
#include "pack/pack.h"

typedef struct Index Index;

typedef struct IndexLoc {
    uint32_t pack; /* pack number, see indexPackId */
    uint32_t offset;
    uint32_t length;
    uint32_t rawLength;
    uint8_t type;
    uint8_t flags;
} IndexLoc;

/* A pack and its entries, as recorded in an index file. */
typedef struct IndexPack {
    LbId id;
    PackEntry *entries;
    size_t count;
} IndexPack;

Index *indexNew(void);
void indexFree(Index *index);

/* Register a pack (idempotent) and return its number. */
uint32_t indexAddPack(Index *index, const LbId *packId);
/* Add a blob location; returns false (and changes nothing) when the blob is
 * already indexed. */
bool indexAdd(Index *index, uint32_t pack, const PackEntry *entry);
bool indexLookup(const Index *index, const LbId *id, BlobType type, IndexLoc *out);
static inline bool indexHas(const Index *index, const LbId *id, BlobType type) {
    return indexLookup(index, id, type, NULL);
}

/* Entry numbers: every blob has a stable number in [0, indexBlobCount) for
 * as long as the index lives, usable to keep per-blob bitmaps. */
bool indexLookupPos(const Index *index, const LbId *id, BlobType type, size_t *pos);
void indexEntryAt(const Index *index, size_t pos, LbId *id, IndexLoc *loc);

size_t indexBlobCount(const Index *index);
size_t indexPackCount(const Index *index);
const LbId *indexPackId(const Index *index, uint32_t pack);

/* Visit every blob; stop early when cb returns false. */
typedef bool (*IndexVisitCb)(void *ctx, const LbId *id, const IndexLoc *loc);
void indexForEach(const Index *index, IndexVisitCb cb, void *ctx);

/* Blobs per index file written (a backup's saver, prune, repair index): writing
 * one holds its entries, plaintext, compressed and sealed copies at once,
 * about 4 x 48 bytes per blob (12 MiB), and so does loading one. A pack is
 * never split, so a file may exceed it by one pack's blobs. */
#define INDEX_FILE_MAX_BLOBS 65536u

/* Encode packs into index-file plaintext appended to out. */
void indexEncode(const IndexPack *packs, size_t count, LbBuf *out);
/* Decode index-file plaintext and add every pack and blob to index. */
bool indexDecodeInto(Index *index, const uint8_t *data, size_t len, LbError *err);

#endif
