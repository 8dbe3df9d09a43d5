/*
 * posmap.h - per-blob state kept by index entry number (see indexLookupPos)
 * instead of by ID: bitmaps (1 bit per blob) and the entry numbers grouped by
 * pack (4 bytes per blob), for prune and check (docs/memory.md).
 */
#ifndef LIFEBOAT_INDEX_POSMAP_H
#define LIFEBOAT_INDEX_POSMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index/index.h"

/* One bit per entry number, all clear at first. */
typedef struct IndexBits {
    uint8_t *bits;
    size_t count;
} IndexBits;

void indexBitsInit(IndexBits *b, size_t count);
void indexBitsFree(IndexBits *b);
void indexBitsClearAll(IndexBits *b);
static inline bool indexBitsGet(const IndexBits *b, size_t pos) {
    return b->bits[pos / 8] & (1u << (pos % 8));
}
static inline void indexBitsSet(IndexBits *b, size_t pos) {
    b->bits[pos / 8] |= (uint8_t)(1u << (pos % 8));
}

/* The entry numbers of each pack, ascending: pack p's are
 * pos[start[p]] .. pos[start[p + 1] - 1]. */
typedef struct IndexByPack {
    uint32_t *pos; /* indexBlobCount entries, mapped past the threshold (mapmem.h) */
    size_t *start; /* packCount + 1 */
    size_t packCount, count;
    bool mapped;
} IndexByPack;

/* Group every entry of ix by pack (two passes over the index). */
void indexByPackBuild(const Index *ix, IndexByPack *out);
void indexByPackFree(IndexByPack *bp);

#endif
