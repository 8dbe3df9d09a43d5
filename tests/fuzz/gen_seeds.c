/*
 * gen_seeds.c - writes the binary seed corpora of the fuzz targets from a
 * repository that build/lifeboat filled (tests/fuzz/make-seeds.sh runs it;
 * the tests never do).
 *
 *   gen_seeds init DIR        write the fixture's key file and config into
 *                             DIR, a new local repository lifeboat can open
 *                             with the password "fuzz" (fixed keys)
 *   gen_seeds extract DIR OUT write seeds for pack, index, tree, snapshot,
 *                             unpacked, config, keyfile, lock and wal into
 *                             OUT/<target>/ from DIR's objects
 *
 * Seeds carry the target's mode byte (see each fuzz_<name>.c). Objects
 * larger than SEED_MAX are left out to keep the corpora small.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/id.h"
#include "crypto/crypto.h"
#include "fuzz.h"
#include "index/index.h"

#define SEED_MAX 6000
#define TREES_MAX 6

static const char *outDir;

static void fail(const char *what, const LbError *err) {
    fprintf(stderr, "gen_seeds: unable to %s: %s\n", what, err ? err->msg : strerror(errno));
    exit(1);
}

/* Write OUT/target/name = [mode] || a || [NUL || b]. */
static void seed(const char *target, const char *name, int mode, const void *a, size_t alen, const void *b,
                 size_t blen) {
    if (alen + blen > SEED_MAX)
        return;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", outDir, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        fail("create a corpus folder", NULL);
    snprintf(path, sizeof(path), "%s/%s/%s", outDir, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        fail("create a seed", NULL);
    if (mode >= 0)
        fputc(mode, f);
    fwrite(a, 1, alen, f);
    if (b != NULL) {
        fputc(0, f);
        fwrite(b, 1, blen, f);
    }
    if (fclose(f) != 0)
        fail("write a seed", NULL);
}

static void get(Repo *repo, const char *name, LbBuf *out) {
    LbError err = {0};
    lbBufClear(out);
    if (!storageGet(repoStorage(repo), name, 0, 0, out, &err))
        fail("read an object", &err);
}

/* The stored object and its framed plaintext as seeds of fuzz_unpacked. */
static void unpackedSeeds(const char *kind, const LbBuf *stored) {
    LbBuf framed = {0};
    LbError err = {0};
    char name[64];
    if (!cryptoOpen(fuzzKeys()->metaKey, stored->data, stored->len, &framed, &err))
        fail("open an unpacked object", &err);
    snprintf(name, sizeof(name), "framed-%s", kind);
    seed("unpacked", name, 0, framed.data, framed.len, NULL, 0);
    snprintf(name, sizeof(name), "stored-%s", kind);
    seed("unpacked", name, 1, stored->data, stored->len, NULL, 0);
    lbBufFree(&framed);
}

static void configSeeds(Repo *repo) {
    LbBuf stored = {0}, plain = {0};
    LbError err = {0};
    get(repo, "config", &stored);
    if (!repoOpenUnpacked(repo, stored.data, stored.len, &plain, &err))
        fail("open the config", &err);
    seed("config", "plain", 0, plain.data, plain.len, NULL, 0);
    seed("config", "stored", 1, stored.data, stored.len, NULL, 0);
    unpackedSeeds("config", &stored);
    lbBufFree(&stored);
    lbBufFree(&plain);
}

static void unpackedDirSeeds(Repo *repo, const char *dir, const char *target) {
    LbId *ids = NULL;
    size_t n = 0;
    LbError err = {0};
    if (!repoListIds(repo, dir, &ids, &n, &err))
        fail("list objects", &err);
    LbBuf stored = {0}, plain = {0};
    for (size_t i = 0; i < n; i++) {
        char hex[LB_ID_HEX_LEN + 1], name[128];
        lbIdToHex(&ids[i], hex);
        snprintf(name, sizeof(name), "%s/%s", dir, hex);
        get(repo, name, &stored);
        lbBufClear(&plain);
        if (!repoOpenUnpacked(repo, stored.data, stored.len, &plain, &err))
            fail("open an unpacked object", &err);
        snprintf(name, sizeof(name), "%.12s", hex);
        if (strcmp(target, "snapshot") == 0) {
            seed(target, name, 0, plain.data, plain.len, NULL, 0);
            if (i == 0) {
                snprintf(name, sizeof(name), "stored-%.12s", hex);
                seed(target, name, 1, stored.data, stored.len, NULL, 0);
            }
        } else {
            seed(target, name, -1, plain.data, plain.len, NULL, 0);
        }
        if (i == 0)
            unpackedSeeds(dir, &stored);
    }
    free(ids);
    lbBufFree(&stored);
    lbBufFree(&plain);
}

typedef struct TreeWalk {
    Repo *repo;
    size_t written;
} TreeWalk;

static bool treeSeed(void *ctx, const LbId *id, const IndexLoc *loc) {
    TreeWalk *w = ctx;
    if (loc->type != BLOB_TREE || w->written >= TREES_MAX)
        return w->written < TREES_MAX;
    LbBuf plain = {0};
    LbError err = {0};
    if (!repoLoadBlob(w->repo, BLOB_TREE, id, &plain, &err))
        fail("load a tree", &err);
    char hex[LB_ID_HEX_LEN + 1], name[32];
    lbIdToHex(id, hex);
    snprintf(name, sizeof(name), "%.12s", hex);
    if (plain.len <= SEED_MAX) {
        seed("tree", name, -1, plain.data, plain.len, NULL, 0);
        w->written++;
    }
    lbBufFree(&plain);
    return true;
}

static void packSeeds(Repo *repo) {
    RepoPackList packs = {0};
    LbError err = {0};
    if (!repoListPacks(repo, &packs, &err))
        fail("list packs", &err);
    LbBuf stored = {0}, header = {0};
    for (size_t i = 0; i < packs.count; i++) {
        char name[96], hex[LB_ID_HEX_LEN + 1];
        repoPackName(&packs.items[i].id, name);
        get(repo, name, &stored);
        lbIdToHex(&packs.items[i].id, hex);
        snprintf(name, sizeof(name), "stored-%.12s", hex);
        seed("pack", name, 0, stored.data, stored.len, NULL, 0);
        /* mode 1: u16le blob area size || header plaintext */
        uint32_t hlen = lbGetU32(stored.data + stored.len - 4);
        size_t area = stored.len - 4 - hlen;
        lbBufClear(&header);
        uint8_t size16[2] = {(uint8_t)(area & 0xff), (uint8_t)(area >> 8 & 0xff)};
        lbBufAppend(&header, size16, 2);
        if (!cryptoOpen(fuzzKeys()->metaKey, stored.data + area, hlen, &header, &err))
            fail("open a pack header", &err);
        snprintf(name, sizeof(name), "header-%.12s", hex);
        seed("pack", name, 1, header.data, header.len, NULL, 0);
    }
    free(packs.items);
    lbBufFree(&stored);
    lbBufFree(&header);
}

typedef struct NameList {
    char names[16][128];
    size_t count;
} NameList;

static bool collect(void *ctx, const char *name, uint64_t size) {
    (void)size;
    NameList *l = ctx;
    const char *slash = strrchr(name, '/');
    if (l->count < 16)
        snprintf(l->names[l->count++], sizeof(l->names[0]), "%s", slash ? slash + 1 : name);
    return true;
}

static void keySeeds(Repo *repo) {
    NameList l = {0};
    LbError err = {0};
    if (!storageList(repoStorage(repo), "keys/", collect, &l, &err))
        fail("list key files", &err);
    LbBuf raw = {0};
    for (size_t i = 0; i < l.count; i++) {
        char name[160];
        snprintf(name, sizeof(name), "keys/%s", l.names[i]);
        get(repo, name, &raw);
        snprintf(name, sizeof(name), "only-%.12s", l.names[i]);
        seed("keyfile", name, 0, raw.data, raw.len, NULL, 0);
        snprintf(name, sizeof(name), "beside-%.12s", l.names[i]);
        seed("keyfile", name, 1, raw.data, raw.len, NULL, 0);
    }
    lbBufFree(&raw);
}

static void walSeeds(Repo *repo) {
    NameList l = {0};
    LbError err = {0};
    if (!storageList(repoStorage(repo), "wal/", collect, &l, &err))
        fail("list WAL objects", &err);
    LbBuf stored = {0}, header = {0}, framed = {0};
    for (size_t i = 0; i < l.count; i++) {
        const char *wal = l.names[i];
        char name[160];
        snprintf(name, sizeof(name), "wal/%s", wal);
        get(repo, name, &stored);
        snprintf(name, sizeof(name), "stored-%s", wal);
        seed("wal", name, 0, wal, strlen(wal), stored.data, stored.len);
        uint32_t hlen = lbGetU32(stored.data);
        lbBufClear(&header);
        lbBufClear(&framed);
        lbBufAppend(&header, wal, strlen(wal) + 1);
        if (!cryptoOpen(fuzzKeys()->metaKey, stored.data + 4, hlen, &header, &err) ||
            !cryptoOpen(fuzzKeys()->dataKey, stored.data + 4 + hlen, stored.len - 4 - hlen, &framed, &err))
            fail("open a WAL object", &err);
        snprintf(name, sizeof(name), "plain-%s", wal);
        seed("wal", name, 1, header.data, header.len, framed.data, framed.len);
    }
    lbBufFree(&stored);
    lbBufFree(&header);
    lbBufFree(&framed);
}

/* Locks do not outlive the commands that take them: one as lifeboat writes it. */
static void lockSeeds(void) {
    static const char lock[] =
        "{\"time\":1764745200,\"exclusive\":true,\"hostname\":\"backup-host\",\"username\":\"fuzz\",\"pid\":4242}";
    LbBuf stored = {0};
    fuzzSealUnpacked((const uint8_t *)lock, strlen(lock), &stored);
    seed("lock", "plain", 0, lock, strlen(lock), NULL, 0);
    seed("lock", "stored", 1, stored.data, stored.len, NULL, 0);
    lbBufFree(&stored);
}

int main(int argc, char **argv) {
    LbError err = {0};
    if (argc == 3 && strcmp(argv[1], "init") == 0) {
        if (mkdir(argv[2], 0700) != 0)
            fail("create the repository folder", NULL);
        Storage *storage = storageOpen(argv[2], NULL, &err);
        if (storage == NULL)
            fail("open the repository folder", &err);
        fuzzWriteRepo(storage, true);
        storageFree(storage);
        return 0;
    }
    if (argc != 4 || strcmp(argv[1], "extract") != 0) {
        fprintf(stderr, "usage: gen_seeds init DIR | gen_seeds extract DIR OUT\n");
        return 2;
    }
    outDir = argv[3];
    Storage *storage = storageOpen(argv[2], NULL, &err);
    Repo *repo = storage ? repoOpen(storage, FUZZ_PASSWORD, &err) : NULL;
    if (repo == NULL || !repoLoadIndex(repo, &err))
        fail("open the repository", &err);
    configSeeds(repo);
    unpackedDirSeeds(repo, "index", "index");
    unpackedDirSeeds(repo, "snapshots", "snapshot");
    TreeWalk w = {.repo = repo};
    indexForEach(repoIndex(repo), treeSeed, &w);
    packSeeds(repo);
    keySeeds(repo);
    walSeeds(repo);
    lockSeeds();
    repoFree(repo);
    return 0;
}
