/*
 * fuzz_index.c - the index file codec (indexDecodeInto) on plaintext.
 *
 * The stored form (seal and framing of an unpacked object) is fuzz_unpacked's.
 * A decoded index is walked: every blob must be found again by its ID and
 * name a pack the index holds.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "index/index.h"

typedef struct Walk {
    const Index *index;
    size_t seen;
} Walk;

static bool visit(void *ctx, const LbId *id, const IndexLoc *loc) {
    Walk *w = ctx;
    IndexLoc again;
    if (!indexLookup(w->index, id, (BlobType)loc->type, &again) || again.pack != loc->pack ||
        loc->pack >= indexPackCount(w->index))
        abort();
    w->seen++;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    Index *index = indexNew();
    LbError err = {0};
    if (indexDecodeInto(index, data, size, &err)) {
        Walk w = {.index = index};
        indexForEach(index, visit, &w);
        if (w.seen != indexBlobCount(index))
            abort();
    }
    indexFree(index);
    return 0;
}
