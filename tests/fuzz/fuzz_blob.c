/*
 * fuzz_blob.c - one blob of a pack as restore and check read it
 * (repoDecodeBlob): open under the data or metadata key, decompress to the
 * raw length the index claims, verify the ID.
 *
 * Input: u8 type (0 data, 1 tree) || u8 flags (1 = zstd) || u32le raw
 * length || the blob's plaintext (a zstd frame when compressed), sealed by
 * the target under the fixture's key for that type. The ID is the HMAC of
 * the input's plaintext, so an uncompressed blob with its true length
 * decodes.
 */
#include <stdlib.h>

#include "crypto/crypto.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 6)
        return 0;
    const RepoKeys *keys = fuzzKeys();
    IndexLoc loc = {.type = data[0], .flags = data[1], .rawLength = lbGetU32(data + 2)};
    LbBuf stored = {0}, out = {0};
    fuzzSeal(loc.type == BLOB_DATA ? keys->dataKey : keys->metaKey, data + 6, size - 6, &stored);
    loc.length = (uint32_t)stored.len;
    LbId id;
    cryptoHmacId(keys->idKey, data + 6, size - 6, &id);
    LbError err = {0};
    if (repoDecodeBlob(fuzzRepo(), &id, &loc, stored.data, &out, &err) && out.len != loc.rawLength)
        abort();
    lbBufFree(&stored);
    lbBufFree(&out);
    return 0;
}
