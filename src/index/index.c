/*
 * index.c - the blob index: packed 50-byte records in fixed blocks of 65,536
 * (never moved, so entry numbers are stable) and an open-addressing table of
 * u32 slots, each an entry number with a few hash bits beside it so that
 * probes rarely touch a record that does not match. Full blocks beyond
 * LIFEBOAT_INDEX_MMAP_BLOBS records are written to an unlinked temporary
 * file and read back with pread (through the page cache, not the process's
 * memory); a slot table of more slots than that is memory-mapped from a
 * file of its own (mapmem.h, docs/memory.md). And the index file codec.
 *
 * The mapped slots are MAP_SHARED and the block file is shared too: after
 * fork() only one of parent and child may add to an index it had before the
 * fork (lifeboat's children exec or build their own).
 */
#include "index/index.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "index/mapmem.h"

/* One blob: 50 bytes, no padding. */
typedef struct __attribute__((packed)) IndexRec {
    LbId id;
    uint8_t type;
    uint8_t flags;
    uint32_t pack;
    uint32_t offset;
    uint32_t length;
    uint32_t rawLength;
} IndexRec;

_Static_assert(sizeof(IndexRec) == 50, "IndexRec must stay packed");

#define INDEX_BLOCK_SHIFT 16
#define INDEX_BLOCK_RECS ((size_t)1 << INDEX_BLOCK_SHIFT)
#define INDEX_BLOCK_BYTES (INDEX_BLOCK_RECS * sizeof(IndexRec)) /* 3,276,800: a whole number of pages */

struct Index {
    IndexRec **blocks; /* block 0 grows by doubling up to a full block; later blocks are full */
    size_t blockCount, blockCap;
    size_t block0Cap; /* records block 0 holds */
    size_t count;
    uint32_t *slots;  /* tag << posBits | entry number + 1; 0 = empty */
    bool slotsMapped; /* from a file of their own (mapmem.h) */
    size_t slotCount; /* power of two, at most 3/4 full */
    unsigned posBits; /* log2(slotCount): entry numbers + 1 fit below it */
    size_t mapAfter;  /* full blocks from this number on go to the file */
    size_t fileFirst; /* the first block in the file (blocks[b] NULL) */
    size_t fileCount; /* blocks in the file: fileFirst.. */
    int fileFd;
    uint64_t serial; /* unique per index: the key of readers' window caches */
    LbId *packs;
    size_t packCount, packCap;
    uint32_t *packSlots;
    size_t packSlotCount;
};

/* Blocks from this number on are file-backed: those past the threshold. */
static size_t indexMapAfterBlocks(void) {
    size_t blobs = indexMapThreshold();
    if (blobs == SIZE_MAX)
        return SIZE_MAX;
    size_t blocks = blobs / INDEX_BLOCK_RECS + (blobs % INDEX_BLOCK_RECS != 0);
    return blocks > 1 ? blocks : 1; /* block 0 grows by doubling: always in memory */
}

Index *indexNew(void) {
    Index *ix = lbXcalloc(1, sizeof(Index));
    ix->slotCount = 256;
    ix->posBits = 8;
    ix->slots = indexArrayNew(ix->slotCount, sizeof(uint32_t), &ix->slotsMapped);
    ix->mapAfter = indexMapAfterBlocks();
    ix->fileFd = -1;
    static _Atomic uint64_t serials;
    ix->serial = atomic_fetch_add(&serials, 1) + 1;
    ix->packSlotCount = 256;
    ix->packSlots = lbXcalloc(ix->packSlotCount, sizeof(uint32_t));
    return ix;
}

void indexFree(Index *ix) {
    if (ix == NULL)
        return;
    for (size_t b = 0; b < ix->blockCount; b++)
        free(ix->blocks[b]);
    if (ix->fileFd >= 0)
        close(ix->fileFd);
    free(ix->blocks);
    indexArrayFree(ix->slots, ix->slotCount, sizeof(uint32_t), ix->slotsMapped);
    free(ix->packs);
    free(ix->packSlots);
    free(ix);
}

/* Write full block b to the file and free it; false (errno set) when the
 * file cannot be made or written: the block then stays in memory. */
static bool indexSpillBlock(Index *ix, size_t b) {
    if (ix->fileFd < 0 && (ix->fileFd = indexMapFile()) < 0)
        return false;
    const uint8_t *p = (const uint8_t *)ix->blocks[b];
    off_t at = (off_t)(ix->fileCount * INDEX_BLOCK_BYTES);
    for (size_t done = 0; done < INDEX_BLOCK_BYTES;) {
        ssize_t n = pwrite(ix->fileFd, p + done, INDEX_BLOCK_BYTES - done, at + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return false;
        }
        done += (size_t)n;
    }
    if (ix->fileCount == 0)
        ix->fileFirst = b;
    ix->fileCount++;
    free(ix->blocks[b]);
    ix->blocks[b] = NULL;
    return true;
}

/* Room for one more record at ix->count. */
static void indexGrow(Index *ix) {
    size_t b = ix->count >> INDEX_BLOCK_SHIFT;
    if (b == 0) {
        if (ix->count < ix->block0Cap)
            return;
        if (ix->blockCap == 0) {
            ix->blockCap = 16;
            ix->blocks = lbXcalloc(ix->blockCap, sizeof(IndexRec *));
            ix->blockCount = 1;
        }
        ix->block0Cap = ix->block0Cap ? ix->block0Cap * 2 : 64;
        ix->blocks[0] = lbXrealloc(ix->blocks[0], ix->block0Cap * sizeof(IndexRec));
        return;
    }
    if (b < ix->blockCount)
        return;
    if (ix->blockCount == ix->blockCap) {
        ix->blockCap *= 2;
        ix->blocks = lbXrealloc(ix->blocks, ix->blockCap * sizeof(IndexRec *));
    }
    /* the block just filled goes to the file (the file's blocks follow each
     * other: after a failure none goes there any more) */
    if (b - 1 >= ix->mapAfter && !indexSpillBlock(ix, b - 1)) {
        indexMapWarn(INDEX_BLOCK_BYTES, errno);
        ix->mapAfter = SIZE_MAX;
    }
    ix->blocks[ix->blockCount++] = lbXmalloc(INDEX_BLOCK_BYTES);
}

static void readFailed(size_t bytes) {
    lbLogError("reading %zu bytes of the index back from its temporary file failed: %s", bytes, strerror(errno));
    abort();
}

/* count records from entry number pos (all in one block in the file) into out. */
static void fileRead(const Index *ix, size_t pos, size_t count, IndexRec *out) {
    size_t b = pos >> INDEX_BLOCK_SHIFT;
    off_t at = (off_t)((b - ix->fileFirst) * INDEX_BLOCK_BYTES + (pos & (INDEX_BLOCK_RECS - 1)) * sizeof(IndexRec));
    size_t bytes = count * sizeof(IndexRec);
    for (size_t done = 0; done < bytes;) {
        ssize_t n = pread(ix->fileFd, (uint8_t *)out + done, bytes - done, at + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            readFailed(bytes);
        }
        done += (size_t)n;
    }
}

/* Each thread's last windows of records read from an index's file. Entry
 * numbers follow the order blobs were stored in, which is the order a
 * backup of the same tree, a restore or prune asks for them again: one read
 * of WINDOW_RECS records serves the lookups that follow. Two windows, so
 * that a thread alternating between two indexes (the saver's and the
 * repository's) keeps one of each. */
#define WINDOW_RECS 256 /* 12,800 bytes; a block holds 256 windows */
#define WINDOWS 2
typedef struct Window {
    uint64_t serial; /* of the index; 0: empty */
    uint64_t used;   /* when last used (the older one is replaced) */
    size_t first, count;
    IndexRec recs[WINDOW_RECS];
} Window;
static _Thread_local Window *windows; /* allocated on first use, freed when the thread ends */
static _Thread_local uint64_t windowClock;
static pthread_key_t windowKey;
static pthread_once_t windowOnce = PTHREAD_ONCE_INIT;

static void windowKeyMake(void) {
    if (pthread_key_create(&windowKey, free) != 0)
        abort();
}

static const IndexRec *windowRec(const Index *ix, size_t pos) {
    if (windows == NULL) {
        windows = lbXcalloc(WINDOWS, sizeof(Window));
        pthread_once(&windowOnce, windowKeyMake);
        pthread_setspecific(windowKey, windows); /* the destructor frees it */
    }
    Window *w = &windows[0];
    for (int i = 0; i < WINDOWS; i++) {
        Window *c = &windows[i];
        if (c->serial == ix->serial && pos >= c->first && pos < c->first + c->count) {
            c->used = ++windowClock;
            return &c->recs[pos - c->first];
        }
        if (c->used < w->used)
            w = c;
    }
    size_t first = pos - pos % WINDOW_RECS; /* windows never cross blocks */
    size_t end = first + WINDOW_RECS < ix->count ? first + WINDOW_RECS : ix->count;
    w->serial = 0;
    fileRead(ix, first, end - first, w->recs);
    w->serial = ix->serial;
    w->used = ++windowClock;
    w->first = first;
    w->count = end - first;
    return &w->recs[pos - first];
}

/* Record pos: in memory, or from a window of the file (valid until the
 * thread's next read of a record). */
static inline const IndexRec *recAt(const Index *ix, size_t pos) {
    const IndexRec *blk = ix->blocks[pos >> INDEX_BLOCK_SHIFT];
    if (blk != NULL)
        return &blk[pos & (INDEX_BLOCK_RECS - 1)];
    return windowRec(ix, pos);
}

/* The records of block b (how many: *count): in memory, or read from the
 * file into scratch (INDEX_BLOCK_BYTES, allocated on first use). */
static const IndexRec *blockRecs(const Index *ix, size_t b, IndexRec **scratch, size_t *count) {
    size_t first = b << INDEX_BLOCK_SHIFT;
    *count = ix->count - first < INDEX_BLOCK_RECS ? ix->count - first : INDEX_BLOCK_RECS;
    if (ix->blocks[b] != NULL)
        return ix->blocks[b];
    if (*scratch == NULL)
        *scratch = lbXmalloc(INDEX_BLOCK_BYTES);
    fileRead(ix, first, *count, *scratch);
    return *scratch;
}

/* IDs are uniformly random (HMAC/SHA-256 output): their first bytes are a hash. */
static uint64_t idHash(const LbId *id, uint8_t type) {
    uint64_t h;
    memcpy(&h, id->b, sizeof(h));
    return h ^ ((uint64_t)type * 0x9e3779b97f4a7c15ull);
}

/* The slot value of entry pos with hash h: the hash's top bits (those the
 * slot number does not use) above the entry number + 1. */
static inline uint32_t slotValue(const Index *ix, uint64_t h, size_t pos) {
    uint64_t tag = ix->posBits >= 32 ? 0 : h >> (32 + ix->posBits);
    return (uint32_t)((tag << ix->posBits) | (pos + 1));
}

static inline uint32_t slotTag(const Index *ix, uint32_t v) {
    return ix->posBits >= 32 ? 0 : v >> ix->posBits;
}

static inline size_t slotPos(const Index *ix, uint32_t v) {
    return ix->posBits >= 32 ? (size_t)v - 1 : (size_t)(v & ((1u << ix->posBits) - 1)) - 1;
}

static void rehash(Index *ix) {
    if (ix->posBits >= 32) {
        lbLogError("the index cannot hold more than %zu blobs", ix->count);
        abort();
    }
    size_t n = ix->slotCount * 2;
    indexArrayFree(ix->slots, ix->slotCount, sizeof(uint32_t), ix->slotsMapped);
    ix->slots = indexArrayNew(n, sizeof(uint32_t), &ix->slotsMapped);
    ix->slotCount = n;
    ix->posBits++;
    IndexRec *scratch = NULL;
    for (size_t b = 0, i = 0; i < ix->count; b++) {
        size_t count;
        const IndexRec *recs = blockRecs(ix, b, &scratch, &count);
        for (size_t k = 0; k < count; k++, i++) {
            uint64_t h = idHash(&recs[k].id, recs[k].type);
            size_t s = h & (n - 1);
            while (ix->slots[s])
                s = (s + 1) & (n - 1);
            ix->slots[s] = slotValue(ix, h, i);
        }
    }
    free(scratch);
}

static void packRehash(Index *ix) {
    size_t n = ix->packSlotCount * 2;
    uint32_t *slots = lbXcalloc(n, sizeof(uint32_t));
    for (size_t i = 0; i < ix->packCount; i++) {
        size_t s = idHash(&ix->packs[i], 0) & (n - 1);
        while (slots[s])
            s = (s + 1) & (n - 1);
        slots[s] = (uint32_t)i + 1;
    }
    free(ix->packSlots);
    ix->packSlots = slots;
    ix->packSlotCount = n;
}

uint32_t indexAddPack(Index *ix, const LbId *packId) {
    size_t s = idHash(packId, 0) & (ix->packSlotCount - 1);
    while (ix->packSlots[s]) {
        uint32_t p = ix->packSlots[s] - 1;
        if (lbIdEqual(&ix->packs[p], packId))
            return p;
        s = (s + 1) & (ix->packSlotCount - 1);
    }
    if (ix->packCount == ix->packCap) {
        ix->packCap = ix->packCap ? ix->packCap * 2 : 64;
        ix->packs = lbXrealloc(ix->packs, ix->packCap * sizeof(LbId));
    }
    uint32_t p = (uint32_t)ix->packCount++;
    ix->packs[p] = *packId;
    ix->packSlots[s] = p + 1;
    if (ix->packCount * 2 > ix->packSlotCount)
        packRehash(ix);
    return p;
}

/* The entry number + 1 of a blob, or 0; *slot is where it is or would go. */
static size_t findRec(const Index *ix, const LbId *id, uint8_t type, size_t *slot) {
    uint64_t h = idHash(id, type);
    size_t mask = ix->slotCount - 1, s = h & mask;
    uint32_t tag = slotTag(ix, slotValue(ix, h, 0));
    for (uint32_t v; (v = ix->slots[s]) != 0; s = (s + 1) & mask) {
        if (slotTag(ix, v) != tag)
            continue;
        const IndexRec *r = recAt(ix, slotPos(ix, v));
        if (r->type == type && lbIdEqual(&r->id, id)) {
            *slot = s;
            return slotPos(ix, v) + 1;
        }
    }
    *slot = s;
    return 0;
}

static void recToLoc(const IndexRec *r, IndexLoc *loc) {
    loc->pack = r->pack;
    loc->offset = r->offset;
    loc->length = r->length;
    loc->rawLength = r->rawLength;
    loc->type = r->type;
    loc->flags = r->flags;
}

bool indexAdd(Index *ix, uint32_t pack, const PackEntry *pe) {
    size_t s;
    if (findRec(ix, &pe->id, pe->type, &s))
        return false;
    indexGrow(ix);
    IndexRec *r = &ix->blocks[ix->count >> INDEX_BLOCK_SHIFT][ix->count & (INDEX_BLOCK_RECS - 1)];
    r->id = pe->id;
    r->type = pe->type;
    r->flags = pe->flags;
    r->pack = pack;
    r->offset = pe->offset;
    r->length = pe->length;
    r->rawLength = pe->rawLength;
    ix->slots[s] = slotValue(ix, idHash(&pe->id, pe->type), ix->count);
    ix->count++;
    if (ix->count * 4 > ix->slotCount * 3)
        rehash(ix);
    return true;
}

bool indexLookup(const Index *ix, const LbId *id, BlobType type, IndexLoc *out) {
    size_t s, e = findRec(ix, id, (uint8_t)type, &s);
    if (e && out)
        recToLoc(recAt(ix, e - 1), out);
    return e != 0;
}

bool indexLookupPos(const Index *ix, const LbId *id, BlobType type, size_t *pos) {
    size_t s, e = findRec(ix, id, (uint8_t)type, &s);
    if (e)
        *pos = e - 1;
    return e != 0;
}

void indexEntryAt(const Index *ix, size_t pos, LbId *id, IndexLoc *loc) {
    const IndexRec *r = recAt(ix, pos);
    if (id)
        *id = r->id;
    if (loc)
        recToLoc(r, loc);
}

size_t indexBlobCount(const Index *ix) {
    return ix->count;
}

size_t indexPackCount(const Index *ix) {
    return ix->packCount;
}

const LbId *indexPackId(const Index *ix, uint32_t pack) {
    return &ix->packs[pack];
}

void indexForEach(const Index *ix, IndexVisitCb cb, void *ctx) {
    IndexRec *scratch = NULL;
    for (size_t b = 0, i = 0; i < ix->count; b++) {
        size_t count;
        const IndexRec *recs = blockRecs(ix, b, &scratch, &count);
        for (size_t k = 0; k < count; k++, i++) {
            LbId id = recs[k].id;
            IndexLoc loc;
            recToLoc(&recs[k], &loc);
            if (!cb(ctx, &id, &loc)) {
                free(scratch);
                return;
            }
        }
    }
    free(scratch);
}

#define INDEX_ENTRY_SIZE 46

void indexEncode(const IndexPack *packs, size_t count, LbBuf *out) {
    uint8_t head[9];
    memcpy(head, "LBIX", 4);
    head[4] = 1;
    lbPutU32(head + 5, (uint32_t)count);
    lbBufAppend(out, head, sizeof(head));
    for (size_t i = 0; i < count; i++) {
        uint8_t ph[LB_ID_LEN + 4];
        memcpy(ph, packs[i].id.b, LB_ID_LEN);
        lbPutU32(ph + LB_ID_LEN, (uint32_t)packs[i].count);
        lbBufAppend(out, ph, sizeof(ph));
        lbBufReserve(out, packs[i].count * INDEX_ENTRY_SIZE);
        for (size_t k = 0; k < packs[i].count; k++) {
            const PackEntry *e = &packs[i].entries[k];
            uint8_t *p = out->data + out->len;
            p[0] = e->type;
            p[1] = e->flags;
            lbPutU32(p + 2, e->offset);
            lbPutU32(p + 6, e->length);
            lbPutU32(p + 10, e->rawLength);
            memcpy(p + 14, e->id.b, LB_ID_LEN);
            out->len += INDEX_ENTRY_SIZE;
        }
    }
}

bool indexDecodeInto(Index *ix, const uint8_t *data, size_t len, LbError *err) {
    if (len < 9 || memcmp(data, "LBIX", 4) != 0)
        return lbErr(err, LB_ERR_CORRUPT, "index has an unknown format");
    if (data[4] != 1)
        return lbErr(err, LB_ERR_FORMAT, "index version %u is not supported", data[4]);
    uint32_t packCount = lbGetU32(data + 5);
    size_t pos = 9;
    for (uint32_t i = 0; i < packCount; i++) {
        if (len - pos < LB_ID_LEN + 4)
            return lbErr(err, LB_ERR_CORRUPT, "index is truncated in pack %u", i);
        LbId packId;
        memcpy(packId.b, data + pos, LB_ID_LEN);
        uint32_t n = lbGetU32(data + pos + LB_ID_LEN);
        pos += LB_ID_LEN + 4;
        if ((len - pos) / INDEX_ENTRY_SIZE < n)
            return lbErr(err, LB_ERR_CORRUPT, "index is truncated in pack %u", i);
        uint32_t p = indexAddPack(ix, &packId);
        for (uint32_t k = 0; k < n; k++, pos += INDEX_ENTRY_SIZE) {
            const uint8_t *q = data + pos;
            PackEntry e;
            e.type = q[0];
            e.flags = q[1];
            e.offset = lbGetU32(q + 2);
            e.length = lbGetU32(q + 6);
            e.rawLength = lbGetU32(q + 10);
            memcpy(e.id.b, q + 14, LB_ID_LEN);
            indexAdd(ix, p, &e);
        }
    }
    if (pos != len)
        return lbErr(err, LB_ERR_CORRUPT, "index has %zu trailing bytes", len - pos);
    return true;
}
