/*
 * fuzz_keyfile.c - key files (keys/<id>: JSON in the clear, master keys
 * sealed under a scrypt-derived key), read by repoOpen and repoKeyList.
 *
 * Input: a mode byte, then the key file:
 *   0: it is the only key file beside the fixture's config: repoOpen parses
 *      it, derives the key with FUZZ_PASSWORD and opens the master keys;
 *   1: it lies beside the fixture's key file: the repository opens and
 *      repoKeyList reads its metadata.
 * Key files whose scrypt parameters ask for more than 4 MiB are skipped:
 * their cost (up to the 2 GiB cryptoScrypt allows) is by design, and the
 * fuzzer would spend its time there.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/id.h"
#include "crypto/crypto.h"
#include "fuzz.h"
#include "storage/mem/mem.h"

static bool tooCostly(const uint8_t *data, size_t size) {
    json_t *key = json_loadb((const char *)data, size, 0, NULL);
    json_int_t n = json_integer_value(json_object_get(key, "N"));
    json_int_t r = json_integer_value(json_object_get(key, "r"));
    json_int_t p = json_integer_value(json_object_get(key, "p"));
    json_decref(key);
    if (n <= 0 || r <= 0 || p <= 0)
        return false;
    return n > 4096 || r > 64 || p > 64 || (uint64_t)n * (uint64_t)r * 128u * (uint64_t)(p + 1) > (4u << 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || data[0] > 1 || tooCostly(data + 1, size - 1))
        return 0;
    Storage *storage = storageMemNew();
    LbError err = {0};
    if (data[0] == 0) {
        LbBuf text = {0}, stored = {0};
        fuzzConfigJson(&text);
        fuzzSealUnpacked(text.data, text.len, &stored);
        if (!storagePut(storage, "config", stored.data, stored.len, &err))
            abort();
        lbBufFree(&text);
        lbBufFree(&stored);
    } else {
        fuzzWriteRepo(storage, true);
    }
    LbId id;
    cryptoSha256(data + 1, size - 1, &id);
    char hex[LB_ID_HEX_LEN + 1], name[96];
    lbIdToHex(&id, hex);
    snprintf(name, sizeof(name), "keys/%s", hex);
    if (!storagePut(storage, name, data + 1, size - 1, &err))
        abort();
    Repo *repo = repoOpen(storage, FUZZ_PASSWORD, &err); /* takes storage */
    if (repo != NULL && data[0] == 1) {
        RepoKeyInfo *keys = NULL;
        size_t count = 0;
        if (repoKeyList(repo, &keys, &count, &err) && (count < 1 || count > 2))
            abort();
        free(keys);
    }
    repoFree(repo);
    return 0;
}
