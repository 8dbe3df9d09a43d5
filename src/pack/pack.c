/* pack.c - pack writer and header reader. */
#include "pack/pack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"

struct PackWriter {
    LbBuf data; /* the pack; spooling: the blob being reserved */
    PackEntry *entries;
    size_t count, cap;
    /* spooling (packWriterSpool): blobs go to fd as they are committed */
    int fd;
    uint64_t written;
    CryptoSha256 *hash;
    int ioErrno; /* the first write error, reported by the finish */
};

PackWriter *packWriterNew(void) {
    PackWriter *pw = lbXcalloc(1, sizeof(PackWriter));
    pw->fd = -1;
    return pw;
}

void packWriterFree(PackWriter *pw) {
    if (pw == NULL)
        return;
    lbBufFree(&pw->data);
    free(pw->entries);
    if (pw->hash != NULL) {
        LbId unused;
        cryptoSha256Final(pw->hash, &unused);
    }
    free(pw);
}

void packWriterSpool(PackWriter *pw, int fd) {
    pw->fd = fd;
    pw->written = 0;
    pw->ioErrno = 0;
    pw->hash = cryptoSha256New();
    lbBufClear(&pw->data);
}

bool packWriterSpooling(const PackWriter *pw) {
    return pw->fd >= 0;
}

size_t packWriterSize(const PackWriter *pw) {
    return pw->fd >= 0 ? (size_t)pw->written : pw->data.len;
}

size_t packWriterCount(const PackWriter *pw) {
    return pw->count;
}

uint8_t *packWriterReserve(PackWriter *pw, size_t sealedLen) {
    if (pw->fd >= 0) {
        lbBufClear(&pw->data);
        lbBufReserve(&pw->data, sealedLen);
        return pw->data.data;
    }
    /* a pack grows to just past PACK_TARGET_SIZE: size it once, not by doubling */
    if (pw->data.cap == 0)
        lbBufReserve(&pw->data, PACK_TARGET_SIZE + (PACK_TARGET_SIZE / 4));
    lbBufReserve(&pw->data, sealedLen);
    return pw->data.data + pw->data.len;
}

/* Append len bytes to the spool file and the pack's hash. */
static void spoolWrite(PackWriter *pw, const uint8_t *p, size_t len) {
    cryptoSha256Update(pw->hash, p, len);
    pw->written += len;
    while (len > 0 && pw->ioErrno == 0) {
        ssize_t n = write(pw->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            pw->ioErrno = n < 0 ? errno : EIO;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
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
    e->offset = (uint32_t)packWriterSize(pw);
    e->length = sealedLen;
    e->rawLength = rawLength;
    if (pw->fd >= 0)
        spoolWrite(pw, pw->data.data, sealedLen);
    else
        pw->data.len += sealedLen;
}

/* Append the sealed header and its trailer to out. */
static bool sealHeader(const PackWriter *pw, const uint8_t metaKey[32], LbBuf *out, LbError *err) {
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
    size_t before = out->len;
    bool ok = cryptoSeal(metaKey, hdr, hlen, out, err);
    free(hdr);
    if (!ok) {
        out->len = before;
        return false;
    }
    uint8_t trailer[4];
    lbPutU32(trailer, (uint32_t)(out->len - before));
    lbBufAppend(out, trailer, 4);
    return true;
}

/* Hand the entries out and reset the list. */
static void takeEntries(PackWriter *pw, PackEntry **entries, size_t *count) {
    *entries = pw->entries;
    *count = pw->count;
    pw->entries = NULL;
    pw->count = pw->cap = 0;
}

bool packWriterFinish(PackWriter *pw, const uint8_t metaKey[32], uint8_t **data, size_t *len, PackEntry **entries,
                      size_t *count, LbError *err) {
    if (!sealHeader(pw, metaKey, &pw->data, err))
        return false;
    *data = lbBufTake(&pw->data, len);
    takeEntries(pw, entries, count);
    return true;
}

bool packWriterFinishSpool(PackWriter *pw, const uint8_t metaKey[32], LbId *packId, uint64_t *len, PackEntry **entries,
                           size_t *count, LbError *err) {
    LbBuf tail = {0};
    bool ok = sealHeader(pw, metaKey, &tail, err);
    if (ok)
        spoolWrite(pw, tail.data, tail.len);
    lbBufFree(&tail);
    cryptoSha256Final(pw->hash, packId);
    pw->hash = NULL;
    *len = pw->written;
    pw->fd = -1;
    pw->written = 0;
    lbBufClear(&pw->data);
    if (ok && pw->ioErrno != 0)
        ok = lbErr(err, LB_ERR_IO, "unable to write a pack: %s", strerror(pw->ioErrno));
    if (ok)
        takeEntries(pw, entries, count);
    else
        pw->count = 0;
    return ok;
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
