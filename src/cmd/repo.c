/* repo.c - `lifeboat init`, `key`, `unlock`, `stats`, `check`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "maint/check.h"
#include "snapshot/snapshot.h"
#include "storage/storage.h"

static bool noOptions(void *ctx, int id, const char *v, LbError *err) {
    (void)ctx;
    (void)id;
    (void)v;
    return lbErr(err, LB_ERR_ARGS, "unhandled option");
}

/* ---- init ---- */

enum {
    I_REFERENCE = 1,
    I_KDF_N,
    I_COMPRESSION,
    I_COPY_CHUNKER,
    I_FROM_REPO,
    I_FROM_FILE,
    I_FROM_CMD,
    I_CHUNK_SIZE,
    I_DUMP_CHUNK_SIZE
};
static const CliOption initOptions[] = {
    {"chunker-reference", 0, false, I_REFERENCE},
    {"chunk-size", 0, true, I_CHUNK_SIZE},
    {"dump-chunk-size", 0, true, I_DUMP_CHUNK_SIZE},
    {"copy-chunker-params", 0, false, I_COPY_CHUNKER},
    {"from-repo", 0, true, I_FROM_REPO},
    {"from-password-file", 0, true, I_FROM_FILE},
    {"from-password-command", 0, true, I_FROM_CMD},
    {"kdf-n", 0, true, I_KDF_N},
    {"compression", 0, true, I_COMPRESSION},
    {NULL, 0, false, 0},
};

typedef struct InitCli {
    RepoInitOptions o;
    bool copyChunker;
    const char *from, *fromFile, *fromCmd;
} InitCli;

/* "MIN,AVG,MAX" with size units (64K, 1M) into cp. */
static bool parseChunkSizes(const char *flag, const char *v, ChunkerParams *cp, LbError *err) {
    uint64_t sz[3];
    const char *p = v;
    for (int i = 0; i < 3; i++) {
        const char *comma = strchr(p, ',');
        size_t n = (i < 2 && comma) ? (size_t)(comma - p) : strlen(p);
        char part[32];
        if ((i < 2 && comma == NULL) || (i == 2 && comma != NULL) || n == 0 || n >= sizeof(part))
            return lbErr(err, LB_ERR_ARGS, "invalid --%s '%s': expected MIN,AVG,MAX (for example 8K,32K,128K)", flag,
                         v);
        memcpy(part, p, n);
        part[n] = '\0';
        if (!lbParseSize(part, &sz[i]) || sz[i] > UINT32_MAX)
            return lbErr(err, LB_ERR_ARGS, "invalid --%s '%s': '%s' is not a size", flag, v, part);
        p += n + 1;
    }
    *cp = (ChunkerParams){(uint32_t)sz[0], (uint32_t)sz[1], (uint32_t)sz[2], CHUNKER_DEFAULT_NORMALIZATION};
    LbError why = {0};
    if (!chunkerParamsValid(cp, &why))
        return lbErr(err, LB_ERR_ARGS, "invalid --%s '%s': %s", flag, v, why.msg);
    return true;
}

static bool onInit(void *ctx, int id, const char *v, LbError *err) {
    InitCli *ic = ctx;
    RepoInitOptions *o = &ic->o;
    char *end;
    switch (id) {
    case I_COPY_CHUNKER:
        ic->copyChunker = true;
        return true;
    case I_FROM_REPO:
        ic->from = v;
        return true;
    case I_FROM_FILE:
        ic->fromFile = v;
        return true;
    case I_FROM_CMD:
        ic->fromCmd = v;
        return true;
    case I_REFERENCE:
        o->referenceGear = true;
        return true;
    case I_CHUNK_SIZE:
        return parseChunkSizes("chunk-size", v, &o->chunker, err);
    case I_DUMP_CHUNK_SIZE:
        return parseChunkSizes("dump-chunk-size", v, &o->dumpChunker, err);
    case I_KDF_N:
        o->kdfN = strtoull(v, &end, 10);
        if (*end || o->kdfN < 1024 || (o->kdfN & (o->kdfN - 1)))
            return lbErr(err, LB_ERR_ARGS, "invalid --kdf-n '%s': a power of two >= 1024", v);
        return true;
    case I_COMPRESSION:
        o->compressionLevel = (int)strtol(v, &end, 10);
        if (*end || o->compressionLevel < 1 || o->compressionLevel > 19)
            return lbErr(err, LB_ERR_ARGS, "invalid --compression '%s': a zstd level from 1 to 19", v);
        return true;
    }
    return lbErr(err, LB_ERR_ARGS, "unhandled option");
}

int cmdInit(int argc, char **argv) {
    GlobalOpts g = {0};
    InitCli ic = {0};
    CliArgs args;
    LbError err = {0};
    char *password = NULL;
    Repo *from = NULL;
    if (!cliParse(argc, argv, initOptions, onInit, &ic, &g, &args, &err))
        goto fail;
    if (ic.copyChunker && (ic.o.chunker.maxSize || ic.o.dumpChunker.maxSize)) {
        lbErr(&err, LB_ERR_ARGS, "--copy-chunker-params and --chunk-size/--dump-chunk-size exclude each other");
        goto fail;
    }
    if (ic.copyChunker) {
        from = cliOpenSourceRepo(ic.from, NULL, ic.fromFile, ic.fromCmd, &err);
        if (from == NULL)
            goto fail;
        ic.o.chunkerFrom = from;
    }
    Storage *st = storageOpen(g.repo, &g.storage, &err);
    if (st == NULL)
        goto fail;
    if (!cliNewPassword(&g, NULL, true, &password, &err)) {
        storageFree(st);
        goto fail;
    }
    Repo *repo = repoInit(st, password, &ic.o, &err);
    cliPasswordFree(password);
    repoFree(from);
    from = NULL;
    if (repo == NULL)
        goto fail;
    if (g.json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("initialized"));
        json_object_set_new(j, "id", json_string(repoIdHex(repo)));
        json_object_set_new(j, "repository", json_string(g.repo));
        cliPrintJson(j);
    } else if (!g.quiet) {
        printf("created lifeboat repository %.10s at %s\n", repoIdHex(repo), g.repo);
        printf("Keep the password safe: without it the data in this repository cannot be recovered.\n");
    }
    repoFree(repo);
    cliArgsFree(&args);
    return 0;
fail:
    repoFree(from);
    cliArgsFree(&args);
    return cliFail(&err);
}

/* ---- key ---- */

enum { K_NEW_PASSWORD_FILE = 1 };
static const CliOption keyOptions[] = {{"new-password-file", 0, true, K_NEW_PASSWORD_FILE}, {NULL, 0, false, 0}};

static bool onKey(void *ctx, int id, const char *v, LbError *err) {
    if (id == K_NEW_PASSWORD_FILE) {
        *(const char **)ctx = v;
        return true;
    }
    return lbErr(err, LB_ERR_ARGS, "unhandled option");
}

int cmdKey(int argc, char **argv) {
    GlobalOpts g = {0};
    const char *newFile = NULL;
    CliArgs args;
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    int rc = 1;
    if (!cliParse(argc, argv, keyOptions, onKey, &newFile, &g, &args, &err))
        goto fail;
    if (args.count < 1) {
        lbErr(&err, LB_ERR_ARGS, "key needs a subcommand: add, list, remove ID, passwd");
        goto fail;
    }
    const char *sub = args.positional[0];
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    if (strcmp(sub, "list") == 0) {
        RepoKeyInfo *keys = NULL;
        size_t n = 0;
        if (!repoKeyList(repo, &keys, &n, &err))
            goto fail;
        json_t *arr = g.json ? json_array() : NULL;
        if (!g.json)
            printf(" %-10s %-20s %-16s %s\n", "ID", "User", "Host", "Created");
        for (size_t i = 0; i < n; i++) {
            char hex[LB_ID_HEX_LEN + 1];
            lbIdToHex(&keys[i].id, hex);
            bool current = lbIdEqual(&keys[i].id, repoKeyId(repo));
            if (g.json) {
                json_t *k = json_object();
                json_object_set_new(k, "id", json_string(hex));
                json_object_set_new(k, "current", json_boolean(current));
                json_object_set_new(k, "username", json_string(keys[i].username));
                json_object_set_new(k, "hostname", json_string(keys[i].hostname));
                json_object_set_new(k, "created", json_string(keys[i].created));
                json_array_append_new(arr, k);
            } else {
                printf("%c%-10.8s %-20s %-16s %s\n", current ? '*' : ' ', hex, keys[i].username, keys[i].hostname,
                       keys[i].created);
            }
        }
        if (arr)
            cliPrintJson(arr);
        free(keys);
    } else if (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) {
        lock = repoLockAcquire(repo, strcmp(sub, "passwd") == 0, &err);
        if (lock == NULL)
            goto fail;
        char *pw = NULL;
        if (!cliNewPassword(&g, newFile, false, &pw, &err))
            goto fail;
        LbId id;
        bool ok = repoKeyAdd(repo, pw, &id, &err);
        cliPasswordFree(pw);
        if (!ok)
            goto fail;
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&id, hex);
        if (strcmp(sub, "passwd") == 0) {
            char old[LB_ID_HEX_LEN + 1], name[80];
            lbIdToHex(repoKeyId(repo), old);
            snprintf(name, sizeof(name), "keys/%s", old);
            if (!storageRemove(repoStorage(repo), name, &err))
                goto fail;
            if (!g.quiet)
                printf("password changed: new key %.8s replaces %.8s\n", hex, old);
        } else if (!g.quiet) {
            printf("added key %.8s\n", hex);
        }
    } else if (strcmp(sub, "remove") == 0) {
        if (args.count != 2) {
            lbErr(&err, LB_ERR_ARGS, "key remove needs the ID of the key to remove");
            goto fail;
        }
        lock = repoLockAcquire(repo, true, &err);
        if (lock == NULL)
            goto fail;
        LbId id;
        if (!repoFindId(repo, "keys", args.positional[1], &id, &err) || !repoKeyRemove(repo, &id, &err))
            goto fail;
        if (!g.quiet)
            printf("removed key %.8s\n", args.positional[1]);
    } else {
        lbErr(&err, LB_ERR_ARGS, "unknown key subcommand '%s': use add, list, remove or passwd", sub);
        goto fail;
    }
    rc = 0;
    goto done;
fail:
    rc = cliFail(&err);
done:
    repoLockRelease(lock);
    repoFree(repo);
    cliArgsFree(&args);
    return rc;
}

/* ---- unlock ---- */

enum { U_ALL = 1 };
static const CliOption unlockOptions[] = {{"remove-all", 0, false, U_ALL}, {NULL, 0, false, 0}};

static bool onUnlock(void *ctx, int id, const char *v, LbError *err) {
    (void)v;
    if (id == U_ALL) {
        *(bool *)ctx = true;
        return true;
    }
    return lbErr(err, LB_ERR_ARGS, "unhandled option");
}

int cmdUnlock(int argc, char **argv) {
    GlobalOpts g = {0};
    bool all = false;
    CliArgs args;
    LbError err = {0};
    Repo *repo = NULL;
    if (!cliParse(argc, argv, unlockOptions, onUnlock, &all, &g, &args, &err))
        goto fail;
    repo = cliOpenRepo(&g, &err);
    size_t removed = 0;
    if (repo == NULL || !repoLockRemoveStale(repo, all, &removed, &err))
        goto fail;
    if (g.json) {
        json_t *j = json_object();
        json_object_set_new(j, "removed", json_integer((json_int_t)removed));
        cliPrintJson(j);
    } else if (!g.quiet) {
        printf("removed %zu %slock(s)\n", removed, all ? "" : "stale ");
    }
    repoFree(repo);
    cliArgsFree(&args);
    return 0;
fail:
    repoFree(repo);
    cliArgsFree(&args);
    return cliFail(&err);
}

/* ---- stats ---- */

typedef struct StatsAcc {
    uint64_t raw, stored, blobs, trees;
} StatsAcc;

static bool statBlob(void *ctx, const LbId *id, const IndexLoc *loc) {
    (void)id;
    StatsAcc *a = ctx;
    a->raw += loc->rawLength;
    a->stored += loc->length;
    if (loc->type == BLOB_TREE)
        a->trees++;
    else
        a->blobs++;
    return true;
}

static bool sumSize(void *ctx, const char *name, uint64_t size) {
    (void)name;
    *(uint64_t *)ctx += size;
    return true;
}

int cmdStats(int argc, char **argv) {
    GlobalOpts g = {0};
    CliArgs args;
    LbError err = {0};
    Repo *repo = NULL;
    SnapshotList snaps = {0};
    if (!cliParse(argc, argv, NULL, noOptions, NULL, &g, &args, &err))
        goto fail;
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL || !repoLoadIndex(repo, &err) || !snapshotLoadAll(repo, &snaps, &err))
        goto fail;
    StatsAcc a = {0};
    indexForEach(repoIndex(repo), statBlob, &a);
    uint64_t total = 0, logical = 0;
    if (!storageList(repoStorage(repo), "", sumSize, &total, &err))
        goto fail;
    for (size_t i = 0; i < snaps.count; i++)
        logical += snaps.items[i].summary.totalBytes;
    if (g.json) {
        json_t *j = json_object();
        json_object_set_new(j, "snapshots_count", json_integer((json_int_t)snaps.count));
        json_object_set_new(j, "packs_count", json_integer((json_int_t)indexPackCount(repoIndex(repo))));
        json_object_set_new(j, "data_blobs", json_integer((json_int_t)a.blobs));
        json_object_set_new(j, "tree_blobs", json_integer((json_int_t)a.trees));
        json_object_set_new(j, "raw_data_size", json_integer((json_int_t)a.raw));
        json_object_set_new(j, "stored_blob_size", json_integer((json_int_t)a.stored));
        json_object_set_new(j, "repository_size", json_integer((json_int_t)total));
        json_object_set_new(j, "snapshots_total_size", json_integer((json_int_t)logical));
        cliPrintJson(j);
    } else {
        char b1[32], b2[32], b3[32], b4[32];
        cliFormatBytes((double)a.raw, b1, sizeof(b1));
        cliFormatBytes((double)a.stored, b2, sizeof(b2));
        cliFormatBytes((double)total, b3, sizeof(b3));
        cliFormatBytes((double)logical, b4, sizeof(b4));
        printf("Snapshots:             %zu\n", snaps.count);
        printf("Packs:                 %zu\n", indexPackCount(repoIndex(repo)));
        printf("Blobs:                 %llu data, %llu tree\n", (unsigned long long)a.blobs,
               (unsigned long long)a.trees);
        printf("Unique data:           %s\n", b1);
        printf("Stored (compressed):   %s\n", b2);
        printf("Repository on storage: %s\n", b3);
        printf("All snapshots hold:    %s", b4);
        if (total > 0)
            printf(" (%.1fx deduplication and compression)", (double)logical / (double)total);
        printf("\n");
    }
    snapshotListFree(&snaps);
    repoFree(repo);
    cliArgsFree(&args);
    return 0;
fail:
    snapshotListFree(&snaps);
    repoFree(repo);
    cliArgsFree(&args);
    return cliFail(&err);
}

/* ---- check ---- */

enum { C_READ_DATA = 1, C_SUBSET };
static const CliOption checkOptions[] = {
    {"read-data", 0, false, C_READ_DATA},
    {"read-data-subset", 0, true, C_SUBSET},
    {NULL, 0, false, 0},
};

static bool onCheck(void *ctx, int id, const char *v, LbError *err) {
    CheckOptions *o = ctx;
    if (id == C_READ_DATA) {
        o->readData = true;
        o->subsetPercent = 100;
        return true;
    }
    if (id == C_SUBSET) {
        char *end;
        double p = strtod(v, &end);
        if (end == v || (*end != '%' && *end != '\0') || (*end == '%' && end[1] != '\0') || p <= 0 || p > 100)
            return lbErr(err, LB_ERR_ARGS, "invalid --read-data-subset '%s': a percentage such as 10%%", v);
        o->readData = true;
        o->subsetPercent = p;
        return true;
    }
    return lbErr(err, LB_ERR_ARGS, "unhandled option");
}

static void checkProgress(void *ctx, uint64_t done, uint64_t total, uint64_t bytes) {
    (void)ctx;
    char b[32];
    cliFormatBytes((double)bytes, b, sizeof(b));
    cliProgressLine("reading packs: %llu / %llu (%s)", (unsigned long long)done, (unsigned long long)total, b);
}

int cmdCheck(int argc, char **argv) {
    GlobalOpts g = {0};
    CheckOptions o = {0};
    CliArgs args;
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    CheckResult res = {0};
    int rc = 1;
    if (!cliParse(argc, argv, checkOptions, onCheck, &o, &g, &args, &err))
        goto fail;
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    lock = repoLockAcquire(repo, true, &err);
    if (lock == NULL)
        goto fail;
    if (cliProgressEnabled(&g))
        o.progress = checkProgress;
    if (!checkRun(repo, &o, &res, &err))
        goto fail;
    cliProgressDone();
    if (g.json) {
        json_t *j = json_object();
        json_object_set_new(j, "ok", json_boolean(res.errorCount == 0));
        json_object_set_new(j, "snapshots", json_integer((json_int_t)res.snapshots));
        json_object_set_new(j, "packs", json_integer((json_int_t)res.packs));
        json_object_set_new(j, "packs_read", json_integer((json_int_t)res.packsRead));
        json_object_set_new(j, "bytes_read", json_integer((json_int_t)res.bytesRead));
        json_t *e = json_array(), *n = json_array();
        for (size_t i = 0; i < res.errorCount; i++)
            json_array_append_new(e, json_string(res.errors[i]));
        for (size_t i = 0; i < res.noteCount; i++)
            json_array_append_new(n, json_string(res.notes[i]));
        json_object_set_new(j, "errors", e);
        json_object_set_new(j, "notes", n);
        cliPrintJson(j);
    } else {
        for (size_t i = 0; i < res.noteCount; i++)
            if (!g.quiet)
                printf("note: %s\n", res.notes[i]);
        for (size_t i = 0; i < res.errorCount; i++)
            fprintf(stderr, "error: %s\n", res.errors[i]);
        if (!g.quiet) {
            printf("checked %llu snapshots, %llu trees, %llu packs", (unsigned long long)res.snapshots,
                   (unsigned long long)res.trees, (unsigned long long)res.packs);
            if (o.readData)
                printf(", read %llu packs", (unsigned long long)res.packsRead);
            printf(": %s\n", res.errorCount ? "ERRORS FOUND" : "no errors");
        }
    }
    if (res.errorCount) {
        lbErr(&err, LB_ERR_CORRUPT, "check found %zu error(s) in the repository", res.errorCount);
        goto fail;
    }
    rc = 0;
    goto done;
fail:
    rc = cliFail(&err);
done:
    checkResultClear(&res);
    repoLockRelease(lock);
    repoFree(repo);
    cliArgsFree(&args);
    return rc;
}
