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

/* ---- init ---- */

/* "MIN,AVG,MAX" as the option table checked it (config/option.c) into cp */
static void chunkSizes(const char *v, ChunkerParams *cp) {
    uint64_t sz[3] = {0, 0, 0};
    char *copy = lbXstrdup(v), *save = NULL;
    int i = 0;
    for (char *t = strtok_r(copy, ",", &save); t && i < 3; t = strtok_r(NULL, ",", &save))
        lbParseSize(t, &sz[i++]);
    free(copy);
    *cp = (ChunkerParams){(uint32_t)sz[0], (uint32_t)sz[1], (uint32_t)sz[2], CHUNKER_DEFAULT_NORMALIZATION};
}

static RepoInitOptions initOptions(const CfgValues *cfg) {
    RepoInitOptions o = {
        .referenceGear = cfgFlag(cfg, cfgOptChunkerReference),
        .kdfN = (uint64_t)cfgInt(cfg, cfgOptKdfN),
        .compressionLevel = (int)cfgInt(cfg, cfgOptCompression),
    };
    if (cfgIsSet(cfg, cfgOptChunkSize))
        chunkSizes(cfgStr(cfg, cfgOptChunkSize), &o.chunker);
    if (cfgIsSet(cfg, cfgOptDumpChunkSize))
        chunkSizes(cfgStr(cfg, cfgOptDumpChunkSize), &o.dumpChunker);
    return o;
}

int cmdInit(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    RepoInitOptions o = initOptions(cfg);
    bool copyChunker = cfgFlag(cfg, cfgOptCopyChunkerParams);
    LbError err = {0};
    char *password = NULL;
    Repo *from = NULL;
    if (copyChunker && (o.chunker.maxSize || o.dumpChunker.maxSize)) {
        lbErr(&err, LB_ERR_ARGS, "--copy-chunker-params and --chunk-size/--dump-chunk-size exclude each other");
        goto fail;
    }
    if (copyChunker) {
        from = cliOpenSourceRepo(cfg, &err);
        if (from == NULL)
            goto fail;
        o.chunkerFrom = from;
    }
    Storage *st = cliOpenStorage(g.repo, g.storage, &err);
    if (st == NULL)
        goto fail;
    if (!cliNewPassword(&g, NULL, true, &password, &err)) {
        storageFree(st);
        goto fail;
    }
    Repo *repo = repoInit(st, password, &o, &err);
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
    return 0;
fail:
    repoFree(from);
    return cliFail(&err);
}

/* ---- key ---- */

int cmdKey(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    const char *newFile = cfgStr(cfg, cfgOptNewPasswordFile);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    int rc = 1;
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
    return rc;
}

/* ---- unlock ---- */

int cmdUnlock(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    bool all = cfgFlag(cfg, cfgOptRemoveAll);
    LbError err = {0};
    Repo *repo = NULL;
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
    return 0;
fail:
    repoFree(repo);
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

int cmdStats(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    LbError err = {0};
    Repo *repo = NULL;
    SnapshotList snaps = {0};
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
    return 0;
fail:
    snapshotListFree(&snaps);
    repoFree(repo);
    return cliFail(&err);
}

/* ---- check ---- */

static void checkProgress(void *ctx, uint64_t done, uint64_t total, uint64_t bytes) {
    (void)ctx;
    char b[32];
    cliFormatBytes((double)bytes, b, sizeof(b));
    cliProgressLine("reading packs: %llu / %llu (%s)", (unsigned long long)done, (unsigned long long)total, b);
}

int cmdCheck(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CheckOptions o = {0};
    if (cfgFlag(cfg, cfgOptReadData) || cfgIsSet(cfg, cfgOptReadDataSubset)) {
        o.readData = true;
        o.subsetPercent = cfgIsSet(cfg, cfgOptReadDataSubset) ? cfgPercent(cfg, cfgOptReadDataSubset) : 100;
    }
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    CheckResult res = {0};
    int rc = 1;
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
    return rc;
}
