/* repo.c - repository init/open, configuration, key files, unpacked objects. */
#include "repo/repo.h"

#include <jansson.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/membudget.h"
#include "compress/compress.h"
#include "crypto/crypto.h"
#include "repo/cache.h"
#include "storage/wrap/cache.h"

#define KDF_DEFAULT_N 32768u
#define KDF_R 8u
#define KDF_P 1u

struct Repo {
    Storage *storage;
    RepoKeys keys;
    LbId keyId;
    char idHex[LB_ID_HEX_LEN + 1];
    Chunker *chunkers[REPO_CHUNK_PROFILES];
    LbId chunkerFingerprints[REPO_CHUNK_PROFILES];
    bool referenceGear;
    uint8_t gearSecret[32];
    int compressionLevel;
    Index *index;
    LbId *indexFiles; /* the index files the in-memory index was loaded from */
    size_t indexFileCount;
    bool indexLoaded;
    /* Whole packs that hold only tree blobs, fetched once (see repoLoadBlob) */
    pthread_mutex_t cacheMu;
    uint8_t *packKind; /* per pack: 0 unknown, 1 trees only, 2 has data */
    size_t packKindCount;
    LbBuf *treePacks;       /* per pack, cached bytes (len 0 = not cached) */
    uint64_t *treePackUsed; /* per pack, when it was last used (LRU) */
    uint64_t treePackClock;
    size_t treePackBytes;
    int64_t lockWait; /* seconds repoLockAcquire waits for another lock */
};

/* tree packs kept in memory, least recently used evicted first */
#define TREE_PACK_CACHE_MAX (32u * 1024u * 1024u)

void repoSetLockWait(Repo *repo, int64_t seconds) {
    repo->lockWait = seconds;
}
int64_t repoLockWait(const Repo *repo) {
    return repo->lockWait;
}
Storage *repoStorage(Repo *repo) {
    return repo->storage;
}
const RepoKeys *repoKeys(const Repo *repo) {
    return &repo->keys;
}
const char *repoIdHex(const Repo *repo) {
    return repo->idHex;
}
const LbId *repoKeyId(const Repo *repo) {
    return &repo->keyId;
}
const char *repoChunkProfileName(RepoChunkProfile profile) {
    return profile == REPO_CHUNK_DUMP ? "dump" : "files";
}
const Chunker *repoChunker(const Repo *repo, RepoChunkProfile profile) {
    return repo->chunkers[profile];
}
const LbId *repoChunkerFingerprint(const Repo *repo, RepoChunkProfile profile) {
    return &repo->chunkerFingerprints[profile];
}

/* Build the chunker of one profile, and its fingerprint: SHA-256 over the
 * parameters and the gear table, so equal fingerprints cut every stream at
 * the same places. */
static bool setChunker(Repo *repo, RepoChunkProfile profile, const ChunkerParams *cp, const uint64_t gear[256],
                       LbError *err) {
    repo->chunkers[profile] = chunkerNew(cp, gear, err);
    if (repo->chunkers[profile] == NULL)
        return lbErrorWrap(err, "invalid %s chunker parameters", repoChunkProfileName(profile));
    uint8_t buf[16 + 256 * 8];
    lbPutU32(buf, cp->minSize);
    lbPutU32(buf + 4, cp->avgSize);
    lbPutU32(buf + 8, cp->maxSize);
    lbPutU32(buf + 12, cp->normalization);
    for (int i = 0; i < 256; i++)
        lbPutU64(buf + 16 + 8 * i, gear[i]);
    cryptoSha256(buf, sizeof(buf), &repo->chunkerFingerprints[profile]);
    return true;
}
int repoCompressionLevel(const Repo *repo) {
    return repo->compressionLevel;
}
Index *repoIndex(Repo *repo) {
    return repo->index;
}
bool repoIndexLoaded(const Repo *repo) {
    return repo->indexLoaded;
}
const LbId *repoIndexFiles(const Repo *repo, size_t *count) {
    *count = repo->indexFileCount;
    return repo->indexFiles;
}

static void treeCacheClear(Repo *repo) {
    for (size_t i = 0; i < repo->packKindCount; i++)
        lbBufFree(&repo->treePacks[i]);
    free(repo->treePacks);
    free(repo->treePackUsed);
    free(repo->packKind);
    repo->treePacks = NULL;
    repo->treePackUsed = NULL;
    repo->packKind = NULL;
    repo->packKindCount = 0;
    repo->treePackBytes = 0;
}

void repoFree(Repo *repo) {
    if (repo == NULL)
        return;
    treeCacheClear(repo);
    pthread_mutex_destroy(&repo->cacheMu);
    storageFree(repo->storage);
    for (int p = 0; p < REPO_CHUNK_PROFILES; p++)
        chunkerFree(repo->chunkers[p]);
    indexFree(repo->index);
    free(repo->indexFiles);
    cryptoWipe(&repo->keys, sizeof(repo->keys));
    cryptoWipe(repo->gearSecret, sizeof(repo->gearSecret));
    free(repo);
}

void repoPackName(const LbId *packId, char *out) {
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(packId, hex);
    snprintf(out, 80, "data/%.2s/%s", hex, hex);
}

void repoBlobId(const Repo *repo, const uint8_t *data, size_t len, LbId *out) {
    cryptoHmacId(repo->keys.idKey, data, len, out);
}

static void nowIso(char *out, size_t n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void hexField(json_t *obj, const char *key, const uint8_t *data, size_t len) {
    char *hex = lbXmalloc(len * 2 + 1);
    lbHexEncode(data, len, hex);
    json_object_set_new(obj, key, json_string(hex));
    cryptoWipe(hex, len * 2);
    free(hex);
}

static bool getHexField(json_t *obj, const char *key, uint8_t *out, size_t len) {
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL && strlen(s) == len * 2 && lbHexDecode(s, len * 2, out);
}

/* ---- unpacked objects ---- */

static bool sealUnpacked(Repo *repo, const uint8_t *plain, size_t len, LbBuf *stored, LbError *err) {
    /* framed = u8 flags || (flags & 1 ? u32le rawLength || zstd frame : raw bytes) */
    LbBuf framed = {0};
    uint8_t head[5] = {1, 0, 0, 0, 0};
    lbPutU32(head + 1, (uint32_t)len);
    lbBufAppend(&framed, head, sizeof(head));
    if (len > UINT32_MAX || !compressMaybe(plain, len, repo->compressionLevel, &framed)) {
        framed.len = 0;
        head[0] = 0;
        lbBufAppend(&framed, head, 1);
        lbBufAppend(&framed, plain, len);
    }
    bool ok = cryptoSeal(repo->keys.metaKey, framed.data, framed.len, stored, err);
    lbBufFree(&framed);
    return ok;
}

bool repoOpenUnpacked(Repo *repo, const uint8_t *stored, size_t len, LbBuf *plain, LbError *err) {
    LbBuf framed = {0};
    bool ok = false;
    if (!cryptoOpen(repo->keys.metaKey, stored, len, &framed, err))
        goto cleanup;
    if (framed.len >= 1 && framed.data[0] == 0) {
        lbBufAppend(plain, framed.data + 1, framed.len - 1);
    } else if (framed.len >= 5 && framed.data[0] == 1) {
        if (!compressDecompress(framed.data + 5, framed.len - 5, lbGetU32(framed.data + 1), plain, err))
            goto cleanup;
    } else if (framed.len == 0) {
        lbErr(err, LB_ERR_FORMAT, "unable to unframe object: it is empty");
        goto cleanup;
    } else {
        lbErr(err, LB_ERR_FORMAT, "unable to unframe object: unknown framing %u", framed.data[0]);
        goto cleanup;
    }
    ok = true;
cleanup:
    lbBufFree(&framed);
    return ok;
}

bool repoSaveUnpacked(Repo *repo, const char *dir, const uint8_t *plain, size_t len, LbId *id, LbError *err) {
    LbBuf stored = {0};
    bool ok = false;
    if (!sealUnpacked(repo, plain, len, &stored, err))
        goto cleanup;
    cryptoSha256(stored.data, stored.len, id);
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(id, hex);
    char name[128];
    snprintf(name, sizeof(name), "%s/%s", dir, hex);
    ok = storagePut(repo->storage, name, stored.data, stored.len, err);
cleanup:
    lbBufFree(&stored);
    return ok;
}

bool repoLoadUnpacked(Repo *repo, const char *dir, const LbId *id, LbBuf *plain, LbError *err) {
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(id, hex);
    char name[128];
    snprintf(name, sizeof(name), "%s/%s", dir, hex);
    LbBuf stored = {0};
    bool ok = false;
    if (!storageGet(repo->storage, name, 0, 0, &stored, err))
        goto cleanup;
    LbId actual;
    cryptoSha256(stored.data, stored.len, &actual);
    if (!lbIdEqual(&actual, id)) {
        lbErr(err, LB_ERR_CORRUPT, "object '%s' is corrupt: its content does not match its name", name);
        goto cleanup;
    }
    if (!repoOpenUnpacked(repo, stored.data, stored.len, plain, err)) {
        lbErrorWrap(err, "unable to decode '%s'", name);
        goto cleanup;
    }
    ok = true;
cleanup:
    lbBufFree(&stored);
    return ok;
}

/* ---- config ---- */

static json_t *chunkerParamsJson(const ChunkerParams *cp) {
    json_t *ch = json_object();
    json_object_set_new(ch, "algorithm", json_string("fastcdc-2020"));
    json_object_set_new(ch, "min_size", json_integer(cp->minSize));
    json_object_set_new(ch, "avg_size", json_integer(cp->avgSize));
    json_object_set_new(ch, "max_size", json_integer(cp->maxSize));
    json_object_set_new(ch, "normalization", json_integer(cp->normalization));
    return ch;
}

static ChunkerParams chunkerParamsFromJson(const json_t *ch) {
    return (ChunkerParams){
        .minSize = (uint32_t)json_integer_value(json_object_get(ch, "min_size")),
        .avgSize = (uint32_t)json_integer_value(json_object_get(ch, "avg_size")),
        .maxSize = (uint32_t)json_integer_value(json_object_get(ch, "max_size")),
        .normalization = (uint32_t)json_integer_value(json_object_get(ch, "normalization")),
    };
}

static bool saveConfig(Repo *repo, const uint8_t gearSecret[32], bool referenceGear, LbError *err) {
    json_t *cfg = json_object();
    json_object_set_new(cfg, "version", json_integer(REPO_FORMAT_VERSION));
    json_object_set_new(cfg, "id", json_string(repo->idHex));
    json_t *ch = chunkerParamsJson(chunkerParams(repo->chunkers[REPO_CHUNK_FILES]));
    if (referenceGear)
        json_object_set_new(ch, "gear", json_string("reference"));
    else
        hexField(ch, "gear_secret", gearSecret, 32);
    json_object_set_new(cfg, "chunker", ch);
    json_object_set_new(cfg, "dump_chunker", chunkerParamsJson(chunkerParams(repo->chunkers[REPO_CHUNK_DUMP])));
    json_object_set_new(cfg, "compression_level", json_integer(repo->compressionLevel));
    json_object_set_new(cfg, "pack_size", json_integer(PACK_TARGET_SIZE));
    char *text = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    LbBuf stored = {0};
    bool ok = sealUnpacked(repo, (const uint8_t *)text, strlen(text), &stored, err) &&
              storagePut(repo->storage, "config", stored.data, stored.len, err);
    cryptoWipe(text, strlen(text));
    free(text);
    lbBufFree(&stored);
    return ok;
}

static bool loadConfig(Repo *repo, LbError *err) {
    LbBuf stored = {0}, plain = {0};
    json_t *cfg = NULL;
    bool ok = false;
    uint8_t secret[32];
    if (!storageGet(repo->storage, "config", 0, 0, &stored, err))
        goto cleanup;
    if (!repoOpenUnpacked(repo, stored.data, stored.len, &plain, err)) {
        lbErrorWrap(err, "unable to decode repository config");
        goto cleanup;
    }
    json_error_t jerr;
    cfg = json_loadb((const char *)plain.data, plain.len, 0, &jerr);
    if (cfg == NULL) {
        lbErr(err, LB_ERR_CORRUPT, "repository config is not valid JSON: %s", jerr.text);
        goto cleanup;
    }
    json_int_t version = json_integer_value(json_object_get(cfg, "version"));
    if (version != REPO_FORMAT_VERSION) {
        lbErr(err, LB_ERR_FORMAT, "repository format version %lld is not supported (this lifeboat reads version %d)",
              (long long)version, REPO_FORMAT_VERSION);
        goto cleanup;
    }
    const char *idHex = json_string_value(json_object_get(cfg, "id"));
    if (idHex == NULL || strlen(idHex) != LB_ID_HEX_LEN) {
        lbErr(err, LB_ERR_CORRUPT, "repository config has no valid 'id'");
        goto cleanup;
    }
    memcpy(repo->idHex, idHex, sizeof(repo->idHex));
    json_t *ch = json_object_get(cfg, "chunker");
    ChunkerParams cp = chunkerParamsFromJson(ch);
    /* a repository made before dump chunking cuts dumps like files */
    json_t *dch = json_object_get(cfg, "dump_chunker");
    ChunkerParams dcp = dch ? chunkerParamsFromJson(dch) : cp;
    uint64_t gear[256];
    const char *gearMode = json_string_value(json_object_get(ch, "gear"));
    if (gearMode != NULL && strcmp(gearMode, "reference") == 0) {
        chunkerReferenceGear(gear);
    } else {
        if (!getHexField(ch, "gear_secret", secret, 32)) {
            lbErr(err, LB_ERR_CORRUPT, "repository config has no valid 'chunker.gear_secret'");
            goto cleanup;
        }
        cryptoDeriveGear(secret, gear);
    }
    if (!setChunker(repo, REPO_CHUNK_FILES, &cp, gear, err) || !setChunker(repo, REPO_CHUNK_DUMP, &dcp, gear, err)) {
        lbErrorWrap(err, "repository config is invalid");
        goto cleanup;
    }
    repo->referenceGear = gearMode != NULL && strcmp(gearMode, "reference") == 0;
    if (!repo->referenceGear)
        memcpy(repo->gearSecret, secret, 32);
    repo->compressionLevel = (int)json_integer_value(json_object_get(cfg, "compression_level"));
    if (repo->compressionLevel <= 0)
        repo->compressionLevel = COMPRESS_DEFAULT_LEVEL;
    ok = true;
cleanup:
    cryptoWipe(secret, sizeof(secret));
    json_decref(cfg);
    if (plain.data)
        cryptoWipe(plain.data, plain.len);
    lbBufFree(&plain);
    lbBufFree(&stored);
    return ok;
}

/* ---- key files ---- */

static void whoAmI(char *user, size_t ulen, char *host, size_t hlen) {
    struct passwd *pw = getpwuid(getuid());
    snprintf(user, ulen, "%s", pw ? pw->pw_name : "unknown");
    if (gethostname(host, hlen) != 0)
        snprintf(host, hlen, "unknown");
    host[hlen - 1] = '\0';
}

static bool writeKeyFile(Repo *repo, const char *password, uint64_t n, LbId *outId, LbError *err) {
    uint8_t salt[32], kek[32];
    json_t *master = NULL, *key = NULL;
    char *masterText = NULL, *keyText = NULL;
    LbBuf sealed = {0};
    bool ok = false;
    if (!cryptoRandom(salt, sizeof(salt), err))
        goto cleanup;
    if (!cryptoScrypt(password, strlen(password), salt, sizeof(salt), n, KDF_R, KDF_P, kek, err))
        goto cleanup;
    master = json_object();
    hexField(master, "data_key", repo->keys.dataKey, 32);
    hexField(master, "meta_key", repo->keys.metaKey, 32);
    hexField(master, "id_key", repo->keys.idKey, 32);
    masterText = json_dumps(master, JSON_COMPACT);
    if (!cryptoSeal(kek, (const uint8_t *)masterText, strlen(masterText), &sealed, err))
        goto cleanup;
    char user[64], host[128], created[40];
    whoAmI(user, sizeof(user), host, sizeof(host));
    nowIso(created, sizeof(created));
    key = json_object();
    json_object_set_new(key, "version", json_integer(1));
    json_object_set_new(key, "created", json_string(created));
    json_object_set_new(key, "username", json_string(user));
    json_object_set_new(key, "hostname", json_string(host));
    json_object_set_new(key, "kdf", json_string("scrypt"));
    json_object_set_new(key, "N", json_integer((json_int_t)n));
    json_object_set_new(key, "r", json_integer(KDF_R));
    json_object_set_new(key, "p", json_integer(KDF_P));
    hexField(key, "salt", salt, sizeof(salt));
    hexField(key, "data", sealed.data, sealed.len);
    keyText = json_dumps(key, JSON_INDENT(2));
    LbId id;
    cryptoSha256((const uint8_t *)keyText, strlen(keyText), &id);
    char hex[LB_ID_HEX_LEN + 1], name[80];
    lbIdToHex(&id, hex);
    snprintf(name, sizeof(name), "keys/%s", hex);
    if (!storagePut(repo->storage, name, (const uint8_t *)keyText, strlen(keyText), err))
        goto cleanup;
    if (outId)
        *outId = id;
    ok = true;
cleanup:
    cryptoWipe(kek, sizeof(kek));
    if (masterText) {
        cryptoWipe(masterText, strlen(masterText));
        free(masterText);
    }
    free(keyText);
    json_decref(master);
    json_decref(key);
    lbBufFree(&sealed);
    return ok;
}

/* Try to open one key file with password. Returns true when it opened; false
 * with err->code LB_ERR_WRONG_PASSWORD when the password does not fit. */
static bool tryKeyFile(Repo *repo, const LbId *id, const char *password, LbError *err) {
    char hex[LB_ID_HEX_LEN + 1], name[80];
    lbIdToHex(id, hex);
    snprintf(name, sizeof(name), "keys/%s", hex);
    LbBuf raw = {0}, plain = {0};
    json_t *key = NULL, *master = NULL;
    uint8_t kek[32], salt[32];
    uint8_t *sealed = NULL;
    bool ok = false;
    if (!storageGet(repo->storage, name, 0, 0, &raw, err))
        goto cleanup;
    /* the name is the SHA-256 of the file: a damaged key file is told apart
     * from a wrong password before any scrypt */
    LbId sum;
    cryptoSha256(raw.data, raw.len, &sum);
    if (!lbIdEqual(&sum, id)) {
        lbErr(err, LB_ERR_KEY_CORRUPT,
              "key file '%s' is damaged: its content does not match its name (SHA-256)\n"
              "HINT: restore the file from a copy of the repository, or open it with the password of another key.",
              name);
        goto cleanup;
    }
    json_error_t jerr;
    key = json_loadb((const char *)raw.data, raw.len, 0, &jerr);
    if (key == NULL) {
        lbErr(err, LB_ERR_CORRUPT, "key file '%s' is not valid JSON: %s", name, jerr.text);
        goto cleanup;
    }
    json_int_t n = json_integer_value(json_object_get(key, "N"));
    json_int_t r = json_integer_value(json_object_get(key, "r"));
    json_int_t p = json_integer_value(json_object_get(key, "p"));
    const char *data = json_string_value(json_object_get(key, "data"));
    if (n < 2 || n > (1 << 22) || r < 1 || r > 32 || p < 1 || p > 16) {
        lbErr(err, LB_ERR_CORRUPT, "key file '%s' has invalid parameters: scrypt N=%lld r=%lld p=%lld", name,
              (long long)n, (long long)r, (long long)p);
        goto cleanup;
    }
    if (!getHexField(key, "salt", salt, sizeof(salt))) {
        lbErr(err, LB_ERR_CORRUPT, "key file '%s' has invalid parameters: no valid 'salt'", name);
        goto cleanup;
    }
    if (data == NULL || strlen(data) % 2) {
        lbErr(err, LB_ERR_CORRUPT, "key file '%s' has invalid data: 'data' is not a hex string", name);
        goto cleanup;
    }
    size_t slen = strlen(data) / 2;
    sealed = lbXmalloc(slen);
    if (!lbHexDecode(data, slen * 2, sealed)) {
        lbErr(err, LB_ERR_CORRUPT, "key file '%s' has invalid data", name);
        goto cleanup;
    }
    if (!cryptoScrypt(password, strlen(password), salt, sizeof(salt), (uint64_t)n, (uint32_t)r, (uint32_t)p, kek, err))
        goto cleanup;
    if (!cryptoOpen(kek, sealed, slen, &plain, err)) {
        lbErr(err, LB_ERR_WRONG_PASSWORD, "wrong password");
        goto cleanup;
    }
    master = json_loadb((const char *)plain.data, plain.len, 0, &jerr);
    if (master == NULL) {
        lbErr(err, LB_ERR_CORRUPT, "key file '%s' holds invalid keys: not valid JSON", name);
        goto cleanup;
    }
    const char *missing = !getHexField(master, "data_key", repo->keys.dataKey, 32)   ? "data_key"
                          : !getHexField(master, "meta_key", repo->keys.metaKey, 32) ? "meta_key"
                          : !getHexField(master, "id_key", repo->keys.idKey, 32)     ? "id_key"
                                                                                     : NULL;
    if (missing != NULL) {
        lbErr(err, LB_ERR_CORRUPT, "key file '%s' holds invalid keys: no valid '%s'", name, missing);
        goto cleanup;
    }
    repo->keyId = *id;
    ok = true;
cleanup:
    cryptoWipe(kek, sizeof(kek));
    if (plain.data)
        cryptoWipe(plain.data, plain.len);
    lbBufFree(&plain);
    lbBufFree(&raw);
    free(sealed);
    json_decref(key);
    json_decref(master);
    return ok;
}

/* storageList callback: keep the first name that is not a key file, stop
 * (key files without a config are left by an interrupted init, which may be
 * run again) */
static bool firstName(void *ctx, const char *name, uint64_t size) {
    (void)size;
    if (strncmp(name, "keys/", 5) == 0)
        return true;
    snprintf((char *)ctx, 256, "%s", name);
    return false;
}

Repo *repoInit(Storage *storage, const char *password, const RepoInitOptions *opts, LbError *err) {
    Repo *repo = lbXcalloc(1, sizeof(Repo));
    pthread_mutex_init(&repo->cacheMu, NULL);
    repo->storage = storage;
    repo->index = indexNew();
    uint8_t gearSecret[32], rid[32];
    StorageInfo info;
    if (!storageStat(storage, "config", &info, err))
        goto fail;
    if (info.exists) {
        lbErr(err, LB_ERR_EXISTS, "unable to init repository '%s': a repository already exists there",
              storageLocation(storage));
        goto fail;
    }
    /* a repository needs a place of its own: prune removes what it does not
     * know (a '.tmp-*' file of the user's, for one) */
    char first[256] = "";
    if (!storageList(storage, "", firstName, first, err))
        goto fail;
    if (first[0] != '\0') {
        char shown[256];
        lbErr(err, LB_ERR_EXISTS,
              "unable to init repository '%s': it is not empty (it holds '%s')\n"
              "HINT: A repository needs an empty or new directory (or bucket prefix) of its own.",
              storageLocation(storage), lbPrintable(first, shown, sizeof(shown)));
        goto fail;
    }
    if (!cryptoRandom((uint8_t *)&repo->keys, sizeof(repo->keys), err) ||
        !cryptoRandom(gearSecret, sizeof(gearSecret), err) || !cryptoRandom(rid, sizeof(rid), err))
        goto fail;
    lbHexEncode(rid, sizeof(rid), repo->idHex);
    if (opts && opts->chunkerFrom) {
        memcpy(gearSecret, opts->chunkerFrom->gearSecret, 32);
    }
    ChunkerParams cp = opts ? opts->chunker : (ChunkerParams){0};
    ChunkerParams dcp = opts ? opts->dumpChunker : (ChunkerParams){0};
    if (opts && opts->chunkerFrom) {
        cp = *chunkerParams(opts->chunkerFrom->chunkers[REPO_CHUNK_FILES]);
        dcp = *chunkerParams(opts->chunkerFrom->chunkers[REPO_CHUNK_DUMP]);
    }
    if (cp.maxSize == 0)
        cp = (ChunkerParams){CHUNKER_DEFAULT_MIN, CHUNKER_DEFAULT_AVG, CHUNKER_DEFAULT_MAX,
                             CHUNKER_DEFAULT_NORMALIZATION};
    if (dcp.maxSize == 0)
        dcp = (ChunkerParams){REPO_DUMP_CHUNK_MIN, REPO_DUMP_CHUNK_AVG, REPO_DUMP_CHUNK_MAX,
                              CHUNKER_DEFAULT_NORMALIZATION};
    bool ref = opts && (opts->referenceGear || (opts->chunkerFrom && opts->chunkerFrom->referenceGear));
    uint64_t gear[256];
    if (ref)
        chunkerReferenceGear(gear);
    else
        cryptoDeriveGear(gearSecret, gear);
    if (!setChunker(repo, REPO_CHUNK_FILES, &cp, gear, err) || !setChunker(repo, REPO_CHUNK_DUMP, &dcp, gear, err))
        goto fail;
    repo->referenceGear = ref;
    memcpy(repo->gearSecret, gearSecret, 32);
    repo->compressionLevel = opts && opts->compressionLevel > 0 ? opts->compressionLevel : COMPRESS_DEFAULT_LEVEL;
    /* key first, config last: a repository exists once its config does */
    if (!writeKeyFile(repo, password, opts && opts->kdfN ? opts->kdfN : KDF_DEFAULT_N, &repo->keyId, err))
        goto fail;
    if (!saveConfig(repo, gearSecret, ref, err)) {
        /* no config, no repository: take the key file back */
        char hex[LB_ID_HEX_LEN + 1], name[80];
        lbIdToHex(&repo->keyId, hex);
        snprintf(name, sizeof(name), "keys/%s", hex);
        LbError ignored;
        storageRemove(storage, name, &ignored);
        goto fail;
    }
    cryptoWipe(gearSecret, sizeof(gearSecret));
    return repo;
fail:
    cryptoWipe(gearSecret, sizeof(gearSecret));
    repoFree(repo);
    return NULL;
}

/* True, with err set to LB_ERR_NO_REPO, when storage holds no config (or
 * cannot say: err is then the storage's); err untouched otherwise. Asked
 * only once opening failed, so an open makes one request fewer. */
static bool noRepoThere(Storage *storage, LbError *err) {
    StorageInfo info;
    LbError statErr = {0};
    if (!storageStat(storage, "config", &info, &statErr)) {
        *err = statErr;
        return true;
    }
    if (info.exists)
        return false;
    lbErr(err, LB_ERR_NO_REPO, "unable to open repository '%s': no repository found there (run 'lifeboat init')",
          storageLocation(storage));
    return true;
}

Repo *repoOpen(Storage *storage, const char *password, LbError *err) {
    Repo *repo = lbXcalloc(1, sizeof(Repo));
    pthread_mutex_init(&repo->cacheMu, NULL);
    repo->storage = storage;
    repo->index = indexNew();
    LbId *ids = NULL;
    size_t n = 0;
    /* the config is only looked for when no key opens it: one request (a
     * round trip to an object store) fewer on every open */
    if (!repoListIds(repo, "keys", &ids, &n, err)) {
        noRepoThere(storage, err); /* a missing folder or bucket: named as such */
        goto fail;
    }
    /* A key file that opens but whose keys do not decrypt the config is a
     * leftover of an interrupted init: go on with the next key file. "Wrong
     * password" only when every readable key file refused the password. */
    bool opened = false, refused = false, otherError = false;
    LbError first = {0};
    for (size_t i = 0; i < n && !opened; i++) {
        LbError kerr = {0};
        if (tryKeyFile(repo, &ids[i], password, &kerr)) {
            if (loadConfig(repo, &kerr)) {
                opened = true;
                break;
            }
            for (int p = 0; p < REPO_CHUNK_PROFILES; p++) {
                chunkerFree(repo->chunkers[p]);
                repo->chunkers[p] = NULL;
            }
        }
        if (kerr.code == LB_ERR_WRONG_PASSWORD) {
            refused = true;
        } else if (!otherError) {
            first = kerr; /* warned below, unless it becomes the error */
            otherError = true;
        } else {
            lbLogWarn("%s", kerr.msg);
        }
    }
    /* a damaged key file is named even when others refused the password:
     * it may be the one this password opens */
    bool reportFirst = !opened && otherError && (!refused || first.code == LB_ERR_KEY_CORRUPT);
    if (otherError && !reportFirst)
        lbLogWarn("%s", first.msg);
    if (!opened) {
        if (noRepoThere(storage, err))
            goto fail;
        if (reportFirst)
            *err = first;
        else
            lbErr(err, LB_ERR_WRONG_PASSWORD, "unable to open repository '%s': wrong password (no key file accepts it)",
                  storageLocation(storage));
        goto fail;
    }
    repo->storage = repoCacheWrap(repo->storage, repo->idHex); /* snapshots and index of a remote repository */
    free(ids);
    return repo;
fail:
    free(ids);
    repoFree(repo);
    return NULL;
}

/* ---- index and blobs ---- */

void repoLoadSkip(const RepoLoadOptions *opts, const LbId *id, const char *reason, const char *consequence) {
    RepoDamagedList *list = opts->damaged;
    if (list == NULL) {
        lbLogWarn("%s (skipped: %s)", reason, consequence);
        return;
    }
    list->items = lbXrealloc(list->items, (list->count + 1) * sizeof(*list->items));
    list->items[list->count].id = *id;
    list->items[list->count++].reason = lbXstrdup(reason);
}

void repoDamagedListFree(RepoDamagedList *list) {
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].reason);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* Read and decode one index file into the in-memory index; the message names
 * the file. */
static bool loadIndexFile(Repo *repo, const LbId *id, LbBuf *plain, LbError *err) {
    lbBufClear(plain);
    if (!repoLoadUnpacked(repo, "index", id, plain, err))
        return false;
    if (!indexDecodeInto(repo->index, plain->data, plain->len, err)) {
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(id, hex);
        return lbErrorWrap(err, "unable to decode index file 'index/%s'", hex);
    }
    return true;
}

bool repoIndexAddFile(Repo *repo, const LbId *id, LbError *err) {
    LbBuf plain = {0};
    bool ok = loadIndexFile(repo, id, &plain, err);
    lbBufFree(&plain);
    if (ok) {
        repo->indexFiles = lbXrealloc(repo->indexFiles, (repo->indexFileCount + 1) * sizeof(LbId));
        repo->indexFiles[repo->indexFileCount++] = *id;
    }
    return ok;
}

bool repoLoadIndexOpt(Repo *repo, const RepoLoadOptions *opts, LbError *err) {
    LbId *ids = NULL;
    size_t n = 0;
    if (!repoListIds(repo, "index", &ids, &n, err))
        return false;
    bool ok = true;
    size_t loaded = 0; /* ids[0, loaded) were read */
    LbBuf plain = {0};
    for (size_t i = 0; i < n && ok; i++) {
        LbError fileErr = {0};
        if (loadIndexFile(repo, &ids[i], &plain, &fileErr)) {
            ids[loaded++] = ids[i];
        } else if (opts->skipDamaged) {
            repoLoadSkip(opts, &ids[i], fileErr.msg, "the blobs only it names cannot be found");
        } else {
            ok = false;
            if (err == NULL)
                break;
            *err = fileErr;
            lbErrorWrap(err, "unable to load the index");
            size_t len = strlen(err->msg);
            snprintf(err->msg + len, sizeof(err->msg) - len,
                     ". HINT: Run 'lifeboat repair index': it rebuilds the index from the packs themselves. Do "
                     "not delete the file by hand: prune would then delete the packs only it names.");
        }
    }
    lbBufFree(&plain);
    lbMemTrim(); /* the files' buffers and the slot tables outgrown */
    if (ok && loaded > 0) {
        repo->indexFiles = lbXrealloc(repo->indexFiles, (repo->indexFileCount + loaded) * sizeof(LbId));
        memcpy(repo->indexFiles + repo->indexFileCount, ids, loaded * sizeof(LbId));
        repo->indexFileCount += loaded;
    }
    repo->indexLoaded |= ok;
    free(ids);
    return ok;
}

bool repoLoadIndex(Repo *repo, LbError *err) {
    return repoLoadIndexOpt(repo, &(RepoLoadOptions){0}, err);
}

bool repoReloadIndexOpt(Repo *repo, const RepoLoadOptions *opts, LbError *err) {
    pthread_mutex_lock(&repo->cacheMu);
    treeCacheClear(repo); /* pack numbers change with a new index */
    pthread_mutex_unlock(&repo->cacheMu);
    indexFree(repo->index);
    repo->index = indexNew();
    free(repo->indexFiles);
    repo->indexFiles = NULL;
    repo->indexFileCount = 0;
    repo->indexLoaded = false;
    return repoLoadIndexOpt(repo, opts, err);
}

bool repoReloadIndex(Repo *repo, LbError *err) {
    return repoReloadIndexOpt(repo, &(RepoLoadOptions){0}, err);
}

bool repoDecodeBlob(const Repo *repo, const LbId *id, const IndexLoc *loc, const uint8_t *stored, LbBuf *out,
                    LbError *err) {
    char hex[LB_ID_HEX_LEN + 1];
    const uint8_t *key = loc->type == BLOB_DATA ? repo->keys.dataKey : repo->keys.metaKey;
    size_t before = out->len;
    if (loc->flags & PACK_FLAG_COMPRESSED) {
        LbBuf tmp = {0};
        bool ok = cryptoOpen(key, stored, loc->length, &tmp, err) &&
                  compressDecompress(tmp.data, tmp.len, loc->rawLength, out, err);
        lbBufFree(&tmp);
        if (!ok) {
            lbIdToHex(id, hex);
            return lbErrorWrap(err, "blob %s is damaged", hex);
        }
    } else if (!cryptoOpen(key, stored, loc->length, out, err)) {
        lbIdToHex(id, hex);
        return lbErrorWrap(err, "blob %s is damaged", hex);
    }
    LbId actual;
    /* an empty plaintext may leave out without a buffer: no pointer arithmetic on NULL */
    cryptoHmacId(repo->keys.idKey, out->data ? out->data + before : NULL, out->len - before, &actual);
    if (!lbIdEqual(&actual, id) || out->len - before != loc->rawLength) {
        out->len = before;
        lbIdToHex(id, hex);
        return lbErr(err, LB_ERR_CORRUPT, "blob %s is damaged: its content does not match its ID", hex);
    }
    return true;
}

static bool markPackKind(void *ctx, const LbId *id, const IndexLoc *loc) {
    (void)id;
    Repo *repo = ctx;
    if (loc->pack < repo->packKindCount && loc->type != BLOB_TREE)
        repo->packKind[loc->pack] = 2;
    return true;
}

/* The cached bytes of pack number pack when it holds only trees (fetching it
 * whole on first use), or NULL: then the caller reads the blob's range. A
 * restore, check or ls of a tree with hundreds of directories costs one
 * request per tree pack instead of one per directory (each a round trip on
 * S3). A local repository's range is one pread: nothing is cached (the
 * cache would cost up to 48 MiB of memory for nothing). Called with cacheMu
 * held. */
static const LbBuf *treePackCached(Repo *repo, uint32_t pack, LbError *err, bool *failed) {
    *failed = false;
    if (storageIsLocal(repo->storage))
        return NULL;
    size_t n = indexPackCount(repo->index);
    if (n != repo->packKindCount) {
        treeCacheClear(repo);
        repo->packKind = lbXcalloc(n ? n : 1, 1);
        repo->treePacks = lbXcalloc(n ? n : 1, sizeof(LbBuf));
        repo->treePackUsed = lbXcalloc(n ? n : 1, sizeof(uint64_t));
        repo->packKindCount = n;
        for (size_t i = 0; i < n; i++)
            repo->packKind[i] = 1;
        indexForEach(repo->index, markPackKind, repo);
    }
    if (pack >= repo->packKindCount || repo->packKind[pack] != 1)
        return NULL;
    LbBuf *b = &repo->treePacks[pack];
    repo->treePackUsed[pack] = ++repo->treePackClock;
    if (b->len > 0)
        return b;
    while (repo->treePackBytes >= TREE_PACK_CACHE_MAX) { /* make room: the least recently used goes */
        size_t lru = SIZE_MAX;
        for (size_t i = 0; i < repo->packKindCount; i++)
            if (repo->treePacks[i].len > 0 && (lru == SIZE_MAX || repo->treePackUsed[i] < repo->treePackUsed[lru]))
                lru = i;
        if (lru == SIZE_MAX)
            break;
        repo->treePackBytes -= repo->treePacks[lru].len;
        lbBufFree(&repo->treePacks[lru]);
    }
    char name[80];
    repoPackName(indexPackId(repo->index, pack), name);
    if (!storageCacheGetKeep(repo->storage, name, b, err)) { /* kept in the local cache of a remote repository */
        lbBufFree(b);
        *failed = true;
        return NULL;
    }
    repo->treePackBytes += b->len;
    return b;
}

bool repoLoadBlob(Repo *repo, BlobType type, const LbId *id, LbBuf *out, LbError *err) {
    IndexLoc loc;
    char hex[LB_ID_HEX_LEN + 1];
    if (!indexLookup(repo->index, id, type, &loc)) {
        lbIdToHex(id, hex);
        return lbErr(err, LB_ERR_NOT_FOUND, "%s blob %s is not in the index", type == BLOB_TREE ? "tree" : "data", hex);
    }
    if (type == BLOB_TREE) {
        pthread_mutex_lock(&repo->cacheMu);
        bool failed;
        const LbBuf *cached = treePackCached(repo, loc.pack, err, &failed);
        bool ok = false;
        if (cached && (uint64_t)loc.offset + loc.length <= cached->len)
            ok = repoDecodeBlob(repo, id, &loc, cached->data + loc.offset, out, err);
        else if (cached)
            ok = lbErr(err, LB_ERR_CORRUPT, "pack of tree blob is shorter than the index says");
        pthread_mutex_unlock(&repo->cacheMu);
        if (cached || failed)
            return ok;
    }
    char name[80];
    repoPackName(indexPackId(repo->index, loc.pack), name);
    LbBuf stored = {0};
    bool ok = storageGet(repo->storage, name, loc.offset, loc.length, &stored, err) &&
              repoDecodeBlob(repo, id, &loc, stored.data, out, err);
    lbBufFree(&stored);
    return ok;
}

/* ---- key management ---- */

bool repoKeyAdd(Repo *repo, const char *newPassword, LbId *newId, LbError *err) {
    return writeKeyFile(repo, newPassword, KDF_DEFAULT_N, newId, err);
}

bool repoKeyList(Repo *repo, RepoKeyInfo **keys, size_t *count, LbError *err) {
    LbId *ids = NULL;
    size_t n = 0;
    if (!repoListIds(repo, "keys", &ids, &n, err))
        return false;
    RepoKeyInfo *list = lbXcalloc(n ? n : 1, sizeof(RepoKeyInfo));
    for (size_t i = 0; i < n; i++) {
        char hex[LB_ID_HEX_LEN + 1], name[80];
        lbIdToHex(&ids[i], hex);
        snprintf(name, sizeof(name), "keys/%s", hex);
        LbBuf raw = {0};
        list[i].id = ids[i];
        if (storageGet(repo->storage, name, 0, 0, &raw, err)) {
            json_t *k = json_loadb((const char *)raw.data, raw.len, 0, NULL);
            const char *v;
            if ((v = json_string_value(json_object_get(k, "created"))))
                snprintf(list[i].created, sizeof(list[i].created), "%s", v);
            if ((v = json_string_value(json_object_get(k, "username"))))
                snprintf(list[i].username, sizeof(list[i].username), "%s", v);
            if ((v = json_string_value(json_object_get(k, "hostname"))))
                snprintf(list[i].hostname, sizeof(list[i].hostname), "%s", v);
            json_decref(k);
        }
        lbBufFree(&raw);
    }
    free(ids);
    *keys = list;
    *count = n;
    return true;
}

bool repoKeyRemove(Repo *repo, const LbId *id, LbError *err) {
    char hex[LB_ID_HEX_LEN + 1], name[80];
    lbIdToHex(id, hex);
    if (lbIdEqual(id, &repo->keyId))
        return lbErr(err, LB_ERR_ARGS, "unable to remove key %.8s: it is the key in use (open with another password)",
                     hex);
    snprintf(name, sizeof(name), "keys/%s", hex);
    StorageInfo info;
    if (!storageStat(repo->storage, name, &info, err))
        return false;
    if (!info.exists)
        return lbErr(err, LB_ERR_NOT_FOUND, "unable to remove key %.8s: no such key", hex);
    return storageRemove(repo->storage, name, err);
}

bool repoKeyChangePassword(Repo *repo, const char *newPassword, LbId *newId, LbId *oldId, LbError *err) {
    char hex[LB_ID_HEX_LEN + 1], name[80];
    *oldId = repo->keyId;
    if (!repoKeyAdd(repo, newPassword, newId, err))
        return false;
    lbIdToHex(oldId, hex);
    snprintf(name, sizeof(name), "keys/%s", hex);
    if (!storageRemove(repo->storage, name, err))
        return false;
    repo->keyId = *newId;
    return true;
}
