/*
 * fuzz_unpacked.c - the framing of unpacked objects (config, index files,
 * snapshots, locks: repoOpenUnpacked).
 *
 * Input: a mode byte, then
 *   0: the framed plaintext (u8 flags || payload, flags 1 = u32le length ||
 *      zstd frame), sealed by the target under the fixture's metadata key;
 *   1: the stored bytes themselves.
 * What opens as an index file is also decoded as one (indexDecodeInto).
 */
#include "fuzz.h"
#include "index/index.h"

static void open_(const uint8_t *stored, size_t len) {
    LbBuf plain = {0};
    LbError err = {0};
    if (repoOpenUnpacked(fuzzRepo(), stored, len, &plain, &err)) {
        Index *index = indexNew();
        indexDecodeInto(index, plain.data, plain.len, &err);
        indexFree(index);
    }
    lbBufFree(&plain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    if (data[0] == 0) {
        LbBuf stored = {0};
        fuzzSeal(fuzzKeys()->metaKey, data + 1, size - 1, &stored);
        open_(stored.data, stored.len);
        lbBufFree(&stored);
    } else if (data[0] == 1) {
        open_(data + 1, size - 1);
    }
    return 0;
}
