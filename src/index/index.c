/* index.c - open-addressing hash table of blob locations, and the codec. */
#include "index/index.h"

#include <stdlib.h>
#include <string.h>

typedef struct IndexEntry {
    LbId id;
    IndexLoc loc;
} IndexEntry;

struct Index {
    IndexEntry *entries;
    size_t count, cap;
    uint32_t *slots;  /* entry number + 1; 0 = empty */
    size_t slotCount; /* power of two */
    LbId *packs;
    size_t packCount, packCap;
    uint32_t *packSlots;
    size_t packSlotCount;
};

Index *indexNew(void) {
    Index *ix = lbXcalloc(1, sizeof(Index));
    ix->slotCount = 1024;
    ix->slots = lbXcalloc(ix->slotCount, sizeof(uint32_t));
    ix->packSlotCount = 256;
    ix->packSlots = lbXcalloc(ix->packSlotCount, sizeof(uint32_t));
    return ix;
}

void indexFree(Index *ix) {
    if (ix == NULL)
        return;
    free(ix->entries);
    free(ix->slots);
    free(ix->packs);
    free(ix->packSlots);
    free(ix);
}

/* IDs are uniformly random (HMAC/SHA-256 output): their first bytes are a hash. */
static size_t idHash(const LbId *id, uint8_t type) {
    uint64_t h;
    memcpy(&h, id->b, sizeof(h));
    return (size_t)(h ^ ((uint64_t)type * 0x9e3779b97f4a7c15ull));
}

static void rehash(Index *ix) {
    size_t n = ix->slotCount * 2;
    uint32_t *slots = lbXcalloc(n, sizeof(uint32_t));
    for (size_t i = 0; i < ix->count; i++) {
        size_t s = idHash(&ix->entries[i].id, ix->entries[i].loc.type) & (n - 1);
        while (slots[s])
            s = (s + 1) & (n - 1);
        slots[s] = (uint32_t)i + 1;
    }
    free(ix->slots);
    ix->slots = slots;
    ix->slotCount = n;
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

static size_t findSlot(const Index *ix, const LbId *id, uint8_t type, bool *found) {
    size_t s = idHash(id, type) & (ix->slotCount - 1);
    while (ix->slots[s]) {
        const IndexEntry *e = &ix->entries[ix->slots[s] - 1];
        if (e->loc.type == type && lbIdEqual(&e->id, id)) {
            *found = true;
            return s;
        }
        s = (s + 1) & (ix->slotCount - 1);
    }
    *found = false;
    return s;
}

bool indexAdd(Index *ix, uint32_t pack, const PackEntry *pe) {
    bool found;
    size_t s = findSlot(ix, &pe->id, pe->type, &found);
    if (found)
        return false;
    if (ix->count == ix->cap) {
        ix->cap = ix->cap ? ix->cap * 2 : 1024;
        ix->entries = lbXrealloc(ix->entries, ix->cap * sizeof(IndexEntry));
    }
    IndexEntry *e = &ix->entries[ix->count];
    e->id = pe->id;
    e->loc.pack = pack;
    e->loc.offset = pe->offset;
    e->loc.length = pe->length;
    e->loc.rawLength = pe->rawLength;
    e->loc.type = pe->type;
    e->loc.flags = pe->flags;
    ix->slots[s] = (uint32_t)++ix->count;
    if (ix->count * 10 > ix->slotCount * 7)
        rehash(ix);
    return true;
}

bool indexLookup(const Index *ix, const LbId *id, BlobType type, IndexLoc *out) {
    bool found;
    size_t s = findSlot(ix, id, (uint8_t)type, &found);
    if (found && out)
        *out = ix->entries[ix->slots[s] - 1].loc;
    return found;
}

bool indexLookupPos(const Index *ix, const LbId *id, BlobType type, size_t *pos) {
    bool found;
    size_t s = findSlot(ix, id, (uint8_t)type, &found);
    if (found)
        *pos = ix->slots[s] - 1;
    return found;
}

void indexEntryAt(const Index *ix, size_t pos, LbId *id, IndexLoc *loc) {
    if (id)
        *id = ix->entries[pos].id;
    if (loc)
        *loc = ix->entries[pos].loc;
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
    for (size_t i = 0; i < ix->count; i++)
        if (!cb(ctx, &ix->entries[i].id, &ix->entries[i].loc))
            return;
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
