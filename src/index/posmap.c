/* posmap.c - bitmaps and pack grouping over index entry numbers. */
#include "index/posmap.h"

#include <stdlib.h>
#include <string.h>

#include "index/mapmem.h"

void indexBitsInit(IndexBits *b, size_t count) {
    b->count = count;
    b->bits = lbXcalloc(count / 8 + 1, 1);
}

void indexBitsFree(IndexBits *b) {
    free(b->bits);
    b->bits = NULL;
    b->count = 0;
}

void indexBitsClearAll(IndexBits *b) {
    memset(b->bits, 0, b->count / 8 + 1);
}

void indexByPackBuild(const Index *ix, IndexByPack *out) {
    size_t np = indexPackCount(ix), n = indexBlobCount(ix);
    out->packCount = np;
    out->start = lbXcalloc(np + 1, sizeof(size_t));
    out->count = n;
    out->pos = indexArrayNew(n, sizeof(uint32_t), &out->mapped);
    IndexLoc loc;
    for (size_t i = 0; i < n; i++) {
        indexEntryAt(ix, i, NULL, &loc);
        out->start[loc.pack + 1]++;
    }
    for (size_t p = 0; p < np; p++)
        out->start[p + 1] += out->start[p];
    /* start[p] is the next free place of pack p while filling; shift back after */
    for (size_t i = 0; i < n; i++) {
        indexEntryAt(ix, i, NULL, &loc);
        out->pos[out->start[loc.pack]++] = (uint32_t)i;
    }
    for (size_t p = np; p > 0; p--)
        out->start[p] = out->start[p - 1];
    out->start[0] = 0;
}

void indexByPackFree(IndexByPack *bp) {
    if (bp->pos)
        indexArrayFree(bp->pos, bp->count, sizeof(uint32_t), bp->mapped);
    free(bp->start);
    memset(bp, 0, sizeof(*bp));
}
