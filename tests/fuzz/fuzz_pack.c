/*
 * fuzz_pack.c - the pack header and trailer (packReadHeader).
 *
 * Input: a mode byte, then
 *   0: the whole pack as stored (trailer length, sealed header; only what
 *      comes before the authentication is reached unless the input is a
 *      real pack sealed under the fixture's metadata key);
 *   1: u16le blob area size || header plaintext: the target builds
 *      zeros(size) || seal(metaKey, plaintext) || u32le len and decodes it.
 * A decoded header must describe exactly the pack's blob area.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pack/pack.h"

static void decode(const uint8_t *pack, size_t len) {
    PackEntry *entries = NULL;
    size_t count = 0;
    LbError err = {0};
    if (packReadHeader(pack, len, fuzzKeys()->metaKey, &entries, &count, &err)) {
        uint64_t end = 0;
        for (size_t i = 0; i < count; i++) {
            if (entries[i].offset != end)
                abort(); /* offsets are implied: each blob follows the last */
            end += entries[i].length;
        }
        if (end > len)
            abort();
    }
    free(entries);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    if (data[0] == 0) {
        decode(data + 1, size - 1);
    } else if (data[0] == 1 && size >= 3) {
        size_t area = (size_t)data[1] | (size_t)data[2] << 8;
        LbBuf pack = {0};
        uint8_t *zeros = calloc(1, area + 1);
        lbBufAppend(&pack, zeros, area);
        free(zeros);
        fuzzSeal(fuzzKeys()->metaKey, data + 3, size - 3, &pack);
        uint8_t trailer[4];
        lbPutU32(trailer, (uint32_t)(pack.len - area));
        lbBufAppend(&pack, trailer, sizeof(trailer));
        decode(pack.data, pack.len);
        lbBufFree(&pack);
    }
    return 0;
}
