/* fuzz_common.c - the fuzz targets' fixture (see fuzz.h). */
#include "fuzz.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/id.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "storage/mem/mem.h"

static RepoKeys keys;
static bool keysReady;

static void die(const char *what, const LbError *err) {
    fprintf(stderr, "fuzz fixture: unable to %s: %s\n", what, err ? err->msg : "");
    abort();
}

const RepoKeys *fuzzKeys(void) {
    if (!keysReady) {
        LbId id;
        cryptoSha256((const uint8_t *)"lifeboat fuzz data key", 22, &id);
        memcpy(keys.dataKey, id.b, 32);
        cryptoSha256((const uint8_t *)"lifeboat fuzz meta key", 22, &id);
        memcpy(keys.metaKey, id.b, 32);
        cryptoSha256((const uint8_t *)"lifeboat fuzz id key", 20, &id);
        memcpy(keys.idKey, id.b, 32);
        keysReady = true;
        /* decoders warn on stderr about what they reject: keep runs quiet */
        lbLogSetLevel(LB_LOG_ERROR);
    }
    return &keys;
}

void fuzzSeal(const uint8_t key[32], const uint8_t *plain, size_t len, LbBuf *out) {
    LbError err = {0};
    if (!cryptoSeal(key, plain, len, out, &err))
        die("seal", &err);
}

static void setHex(json_t *o, const char *name, const uint8_t *data, size_t len) {
    char *hex = lbXmalloc(len * 2 + 1);
    lbHexEncode(data, len, hex);
    json_object_set_new(o, name, json_string(hex));
    free(hex);
}

static void appendJson(json_t *o, size_t flags, LbBuf *out) {
    char *text = json_dumps(o, flags);
    lbBufAppendStr(out, text);
    free(text);
    json_decref(o);
}

void fuzzKeyFile(LbBuf *out) {
    const RepoKeys *k = fuzzKeys();
    uint8_t salt[32], kek[32];
    memset(salt, 0x5a, sizeof(salt));
    LbError err = {0};
    if (!cryptoScrypt(FUZZ_PASSWORD, strlen(FUZZ_PASSWORD), salt, sizeof(salt), FUZZ_KDF_N, 8, 1, kek, &err))
        die("derive the fixture's key", &err);
    json_t *master = json_object();
    setHex(master, "data_key", k->dataKey, 32);
    setHex(master, "meta_key", k->metaKey, 32);
    setHex(master, "id_key", k->idKey, 32);
    LbBuf masterText = {0}, sealed = {0};
    appendJson(master, JSON_COMPACT, &masterText);
    fuzzSeal(kek, masterText.data, masterText.len, &sealed);
    json_t *key = json_object();
    json_object_set_new(key, "version", json_integer(1));
    json_object_set_new(key, "created", json_string("2026-12-03T07:00:00Z"));
    json_object_set_new(key, "username", json_string("fuzz"));
    json_object_set_new(key, "hostname", json_string("fuzz"));
    json_object_set_new(key, "kdf", json_string("scrypt"));
    json_object_set_new(key, "N", json_integer(FUZZ_KDF_N));
    json_object_set_new(key, "r", json_integer(8));
    json_object_set_new(key, "p", json_integer(1));
    setHex(key, "salt", salt, sizeof(salt));
    setHex(key, "data", sealed.data, sealed.len);
    appendJson(key, JSON_INDENT(2), out);
    lbBufFree(&masterText);
    lbBufFree(&sealed);
}

void fuzzConfigJson(LbBuf *out) {
    json_t *cfg = json_object(), *ch = json_object();
    json_object_set_new(cfg, "version", json_integer(REPO_FORMAT_VERSION));
    json_object_set_new(cfg, "id", json_string("f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"));
    json_object_set_new(ch, "algorithm", json_string("fastcdc-2020"));
    json_object_set_new(ch, "min_size", json_integer(64 * 1024));
    json_object_set_new(ch, "avg_size", json_integer(256 * 1024));
    json_object_set_new(ch, "max_size", json_integer(1024 * 1024));
    json_object_set_new(ch, "normalization", json_integer(2));
    json_object_set_new(ch, "gear", json_string("reference"));
    json_object_set_new(cfg, "chunker", ch);
    json_object_set_new(cfg, "compression_level", json_integer(3));
    json_object_set_new(cfg, "pack_size", json_integer(PACK_TARGET_SIZE));
    appendJson(cfg, JSON_COMPACT, out);
}

void fuzzSealUnpacked(const uint8_t *plain, size_t len, LbBuf *out) {
    LbBuf framed = {0};
    lbBufAppend(&framed, "", 1); /* flags 0: not compressed */
    lbBufAppend(&framed, plain, len);
    fuzzSeal(fuzzKeys()->metaKey, framed.data, framed.len, out);
    lbBufFree(&framed);
}

void fuzzWriteRepo(Storage *storage, bool withConfig) {
    LbBuf text = {0}, stored = {0};
    LbError err = {0};
    fuzzKeyFile(&text);
    LbId id;
    cryptoSha256(text.data, text.len, &id);
    char hex[LB_ID_HEX_LEN + 1], name[80];
    lbIdToHex(&id, hex);
    snprintf(name, sizeof(name), "keys/%s", hex);
    if (!storagePut(storage, name, text.data, text.len, &err))
        die("write the fixture's key file", &err);
    if (withConfig) {
        lbBufClear(&text);
        fuzzConfigJson(&text);
        fuzzSealUnpacked(text.data, text.len, &stored);
        if (!storagePut(storage, "config", stored.data, stored.len, &err))
            die("write the fixture's config", &err);
    }
    lbBufFree(&text);
    lbBufFree(&stored);
}

Repo *fuzzRepo(void) {
    static Repo *repo;
    if (repo == NULL) {
        Storage *storage = storageMemNew();
        fuzzWriteRepo(storage, true);
        LbError err = {0};
        repo = repoOpen(storage, FUZZ_PASSWORD, &err);
        if (repo == NULL)
            die("open the fixture repository", &err);
    }
    return repo;
}

char *fuzzCString(const uint8_t *data, size_t len) {
    char *s = lbXmalloc(len + 1);
    if (len > 0)
        memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

size_t fuzzSplit(const uint8_t *data, size_t len, const uint8_t **parts, size_t *lens, size_t max) {
    size_t n = 0, start = 0;
    for (size_t i = 0; i < len && n + 1 < max; i++) {
        if (data[i] == 0) {
            parts[n] = data + start;
            lens[n++] = i - start;
            start = i + 1;
        }
    }
    parts[n] = data + start;
    lens[n++] = len - start;
    return n;
}
