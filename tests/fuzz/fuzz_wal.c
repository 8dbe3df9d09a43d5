/*
 * fuzz_wal.c - WAL objects (wal/<name>: u32le H || seal(meta, header JSON)
 * || seal(data, framed content)) and WAL names, LSNs and segment headers.
 *
 * Input: a mode byte, then
 *   0: name NUL stored object: put as wal/<name> in the fixture repository,
 *      then walReadHeader and walFetch;
 *   1: name NUL header JSON NUL framed content: the target seals both parts
 *      under the fixture's keys and stores the object, then as 0;
 *   2: text: walNameParse and walLsnParse (an LSN must format back to
 *      itself);
 *   3: name NUL segment start: walSegmentCheck.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pg/wal.h"

static void fetch(const char *name, const uint8_t *stored, size_t len) {
    Repo *repo = fuzzRepo();
    char obj[WAL_NAME_MAX + 80];
    snprintf(obj, sizeof(obj), "%s/%s", WAL_DIR, name);
    LbError err = {0};
    if (strlen(name) >= WAL_NAME_MAX || !storageNameValid(obj) ||
        !storagePut(repoStorage(repo), obj, stored, len, &err))
        return;
    bool exists = false;
    WalHeader header;
    walReadHeader(repo, name, &exists, &header, &err);
    LbBuf out = {0};
    if (walFetch(repo, name, &out, &header, &err) && (out.len != header.size || strcmp(header.name, name) != 0))
        abort();
    lbBufFree(&out);
    storageRemove(repoStorage(repo), obj, &err);
}

static void seal(const char *name, const uint8_t *header, size_t hlen, const uint8_t *body, size_t blen) {
    LbBuf stored = {0};
    lbBufAppend(&stored, "\0\0\0\0", 4);
    fuzzSeal(fuzzKeys()->metaKey, header, hlen, &stored);
    lbPutU32(stored.data, (uint32_t)(stored.len - 4));
    fuzzSeal(fuzzKeys()->dataKey, body, blen, &stored);
    fetch(name, stored.data, stored.len);
    lbBufFree(&stored);
}

static void names(const char *text) {
    WalName wn;
    if (walNameParse(text, &wn) && (strchr(text, '/') != NULL || strstr(text, "..") != NULL))
        abort();
    uint64_t lsn, again;
    if (walLsnParse(text, &lsn)) {
        char out[32], seg[32];
        walLsnFormat(lsn, out, sizeof(out));
        if (!walLsnParse(out, &again) || again != lsn)
            abort();
        walSegmentName(1, lsn, 16u << 20, seg, sizeof(seg));
        if (!walNameParse(seg, &wn) || wn.kind != WAL_FILE_SEGMENT)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || data[0] > 3)
        return 0;
    const uint8_t *parts[3];
    size_t lens[3];
    size_t n = fuzzSplit(data + 1, size - 1, parts, lens, data[0] == 1 ? 3 : 2);
    char *name = fuzzCString(parts[0], lens[0]);
    if (data[0] == 0 && n == 2) {
        fetch(name, parts[1], lens[1]);
    } else if (data[0] == 1 && n == 3) {
        seal(name, parts[1], lens[1], parts[2], lens[2]);
    } else if (data[0] == 2) {
        char *text = fuzzCString(data + 1, size - 1);
        names(text);
        free(text);
    } else if (data[0] == 3 && n == 2) {
        WalName wn;
        WalSegmentInfo info;
        LbError err = {0};
        if (walNameParse(name, &wn))
            walSegmentCheck(&wn, parts[1], lens[1], &info, &err);
    }
    free(name);
    return 0;
}
