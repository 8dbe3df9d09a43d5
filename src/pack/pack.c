/* pack.c - pack writer and header reader. */
#include "pack/pack.h"

#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

struct PackWriter {
    LbBuf data;
    PackEntry *entries;
    size_t count, cap;
};

PackWriter *packWriterNew(void) {
    return lbXcalloc(1, sizeof(PackWriter));
}

void packWriterFree(PackWriter *pw) {
    if (pw == NULL)
        return;
    lbBufFree(&pw->data);
    free(pw->entries);
    free(pw);
}

size_t packWriterSize(const PackWriter *pw) {
    return pw->data.len;
}

size_t packWriterCount(const PackWriter *pw) {
    return pw->count;
}

uint8_t *packWriterReserve(PackWriter *pw, size_t sealedLen) {
    /* a pack grows to just past PACK_TARGET_SIZE: size it once, not by doubling */
    if (pw->data.cap == 0)
        lbBufReserve(&pw->data, PACK_TARGET_SIZE + (PACK_TARGET_SIZE / 4));
    lbBufReserve(&pw->data, sealedLen);
    return pw->data.data + pw->data.len;
}

void packWriterCommit(PackWriter *pw, const LbId *id, BlobType type, uint8_t flags, uint32_t sealedLen,
                      uint32_t rawLength) {
    if (pw->count == pw->cap) {
        pw->cap = pw->cap ? pw->cap * 2 : 64;
        pw->entries = lbXrealloc(pw->entries, pw->cap * sizeof(PackEntry));
    }
    PackEntry *e = &pw->entries[pw->count++];
    e->id = *id;
    e->type = (uint8_t)type;
    e->flags = flags;
    e->offset = (uint32_t)pw->data.len;
    e->length = sealedLen;
    e->rawLength = rawLength;
    pw->data.len += sealedLen;
}

bool packWriterFinish(PackWriter *pw, const uint8_t metaKey[32], uint8_t **data, size_t *len, PackEntry **entries,
                      size_t *count, LbError *err) {
    size_t hlen = 9 + pw->count * PACK_ENTRY_SIZE;
    uint8_t *hdr = lbXmalloc(hlen);
    memcpy(hdr, "LBPK", 4);
    hdr[4] = 1;
    lbPutU32(hdr + 5, (uint32_t)pw->count);
    for (size_t i = 0; i < pw->count; i++) {
        uint8_t *p = hdr + 9 + i * PACK_ENTRY_SIZE;
        const PackEntry *e = &pw->entries[i];
        p[0] = e->type;
        p[1] = e->flags;
        lbPutU32(p + 2, e->length);
        lbPutU32(p + 6, e->rawLength);
        memcpy(p + 10, e->id.b, LB_ID_LEN);
    }
    size_t before = pw->data.len;
    bool ok = cryptoSeal(metaKey, hdr, hlen, &pw->data, err);
    free(hdr);
    if (!ok) {
        pw->data.len = before;
        return false;
    }
    uint8_t trailer[4];
    lbPutU32(trailer, (uint32_t)(pw->data.len - before));
    lbBufAppend(&pw->data, trailer, 4);
    *data = lbBufTake(&pw->data, len);
    *entries = pw->entries;
    *count = pw->count;
    pw->entries = NULL;
    pw->count = pw->cap = 0;
    return true;
}

bool packReadHeader(const uint8_t *pack, size_t len, const uint8_t metaKey[32], PackEntry **entries, size_t *count,
                    LbError *err) {
    if (len < 4 + CRYPTO_OVERHEAD + 9)
        return lbErr(err, LB_ERR_CORRUPT, "pack is too short (%zu bytes)", len);
    uint32_t hsealed = lbGetU32(pack + len - 4);
    if (hsealed > len - 4 || hsealed < CRYPTO_OVERHEAD + 9)
        return lbErr(err, LB_ERR_CORRUPT,
                     "unable to read pack header: the header length %u in the trailer does not fit a pack of %zu "
                     "bytes (truncated or damaged)",
                     hsealed, len);
    LbBuf hdr = {0};
    if (!cryptoOpen(metaKey, pack + len - 4 - hsealed, hsealed, &hdr, err)) {
        lbBufFree(&hdr);
        return lbErrorWrap(err, "unable to read pack header");
    }
    bool ok = false;
    PackEntry *list = NULL;
    if (hdr.len < 9 || memcmp(hdr.data, "LBPK", 4) != 0 || hdr.data[4] != 1) {
        lbErr(err, LB_ERR_CORRUPT, "pack header has an unknown format");
        goto cleanup;
    }
    uint32_t n = lbGetU32(hdr.data + 5);
    if ((size_t)n * PACK_ENTRY_SIZE != hdr.len - 9) {
        lbErr(err, LB_ERR_CORRUPT, "pack header entry count %u does not match its size", n);
        goto cleanup;
    }
    list = lbXcalloc(n ? n : 1, sizeof(PackEntry));
    uint64_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = hdr.data + 9 + (size_t)i * PACK_ENTRY_SIZE;
        list[i].type = p[0];
        list[i].flags = p[1];
        list[i].length = lbGetU32(p + 2);
        list[i].rawLength = lbGetU32(p + 6);
        memcpy(list[i].id.b, p + 10, LB_ID_LEN);
        list[i].offset = (uint32_t)off;
        off += list[i].length;
    }
    if (off != len - 4 - hsealed) {
        lbErr(err, LB_ERR_CORRUPT, "pack header describes %llu bytes of blobs, pack holds %zu", (unsigned long long)off,
              len - 4 - hsealed);
        goto cleanup;
    }
    *entries = list;
    *count = n;
    list = NULL;
    ok = true;
cleanup:
    free(list);
    lbBufFree(&hdr);
    return ok;
}
