/* repo.c - `lifeboat init`, `key`, `unlock`, `stats`, `check`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "maint/check.h"
#include "maint/stats.h"
#include "snapshot/snapshot.h"
#include "storage/storage.h"
#include "ui/table.h"

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

static void initPrint(const GlobalOpts *g, Repo *repo) {
    if (g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("initialized"));
        json_object_set_new(j, "id", json_string(repoIdHex(repo)));
        json_object_set_new(j, "repository", json_string(g->repo));
        cliPrintJson(j);
    } else if (!g->quiet) {
        printf("created lifeboat repository %.10s at %s\n", repoIdHex(repo), g->repo);
        printf("Keep the password safe: without it the data in this repository cannot be recovered.\n");
    }
}

/* Create the repository at g->repo with o (--copy-chunker-params: the
 * chunker of the --from repository). */
static bool initDo(const CfgValues *cfg, const GlobalOpts *g, RepoInitOptions *o, LbError *err) {
    bool copyChunker = cfgFlag(cfg, cfgOptCopyChunkerParams);
    if (copyChunker && (o->chunker.maxSize || o->dumpChunker.maxSize))
        return lbErr(err, LB_ERR_ARGS, "--copy-chunker-params and --chunk-size/--dump-chunk-size exclude each other");
    Repo *from = copyChunker ? cliOpenSourceRepo(cfg, err) : NULL;
    if (copyChunker && from == NULL)
        return false;
    o->chunkerFrom = from;
    char *password = NULL;
    Storage *st = cliOpenStorage(g->repo, g->storage, err);
    bool ok = st != NULL && cliNewPassword(g, NULL, true, &password, err);
    Repo *repo = ok ? repoInit(st, password, o, err) : NULL;
    if (!ok)
        storageFree(st);
    cliPasswordFree(password);
    repoFree(from);
    if (repo)
        initPrint(g, repo);
    repoFree(repo);
    return repo != NULL;
}

int cmdInit(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    RepoInitOptions o = initOptions(cfg);
    LbError err = {0};
    bool ok = initDo(cfg, &g, &o, &err);
    return cliExit(&g, ok, &err);
}

/* ---- key ---- */

static bool keyList(const GlobalOpts *g, Repo *repo, LbError *err) {
    RepoKeyInfo *keys = NULL;
    size_t n = 0;
    if (!repoKeyList(repo, &keys, &n, err))
        return false;
    json_t *arr = json_array();
    UiTable *t = uiTableNew();
    static const char *const heads[] = {"", "ID", "User", "Host", "Created"};
    for (int c = 0; c < 5; c++)
        uiTableColumn(t, heads[c], UI_ALIGN_LEFT);
    for (size_t i = 0; i < n; i++) {
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&keys[i].id, hex);
        bool current = lbIdEqual(&keys[i].id, repoKeyId(repo));
        json_t *k = json_object();
        json_object_set_new(k, "id", json_string(hex));
        json_object_set_new(k, "current", json_boolean(current));
        json_object_set_new(k, "username", json_string(keys[i].username));
        json_object_set_new(k, "hostname", json_string(keys[i].hostname));
        json_object_set_new(k, "created", json_string(keys[i].created));
        json_array_append_new(arr, k);
        uiTableCell(t, current ? "*" : "");
        uiTableCellf(t, "%.8s", hex);
        uiTableCell(t, keys[i].username);
        uiTableCell(t, keys[i].hostname);
        uiTableCell(t, keys[i].created);
    }
    if (g->json)
        cliPrintJson(json_incref(arr));
    else
        uiTablePrint(t, stdout);
    json_decref(arr);
    uiTableFree(t);
    free(keys);
    return true;
}

/* key add / key passwd: a new key under a new password (passwd: replacing
 * the one in use). */
static bool keyAdd(const GlobalOpts *g, const char *newFile, bool passwd, CliRepo *r, LbError *err) {
    r->lock = repoLockAcquire(r->repo, passwd, err);
    char *pw = NULL;
    if (r->lock == NULL || !cliNewPassword(g, newFile, false, &pw, err))
        return false;
    LbId id, old;
    bool ok = passwd ? repoKeyChangePassword(r->repo, pw, &id, &old, err) : repoKeyAdd(r->repo, pw, &id, err);
    cliPasswordFree(pw);
    char hex[LB_ID_HEX_LEN + 1], oldHex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&id, hex);
    json_t *j = json_object();
    json_object_set_new(j, "message_type", json_string(passwd ? "key_changed" : "key_added"));
    json_object_set_new(j, "id", json_string(hex));
    if (passwd && ok) {
        lbIdToHex(&old, oldHex);
        json_object_set_new(j, "replaced", json_string(oldHex));
    }
    if (ok && g->json)
        cliPrintJson(json_incref(j));
    else if (ok && !g->quiet && passwd)
        printf("password changed: new key %.8s replaces %.8s\n", hex, oldHex);
    else if (ok && !g->quiet)
        printf("added key %.8s\n", hex);
    json_decref(j);
    return ok;
}

static bool keyRemove(const GlobalOpts *g, const CliArgs *args, CliRepo *r, LbError *err) {
    if (args->count != 2)
        return lbErr(err, LB_ERR_ARGS, "key remove needs the ID of the key to remove");
    r->lock = repoLockAcquire(r->repo, true, err);
    LbId id;
    if (r->lock == NULL || !repoFindId(r->repo, "keys", args->positional[1], &id, err) ||
        !repoKeyRemove(r->repo, &id, err))
        return false;
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&id, hex);
    if (g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("key_removed"));
        json_object_set_new(j, "id", json_string(hex));
        cliPrintJson(j);
    } else if (!g->quiet) {
        printf("removed key %.8s\n", args->positional[1]);
    }
    return true;
}

static bool keyDo(const CfgValues *cfg, const GlobalOpts *g, CliRepo *r, LbError *err) {
    CliArgs args = cliArgs(cfg);
    if (args.count < 1)
        return lbErr(err, LB_ERR_ARGS, "key needs a subcommand: add, list, remove ID, passwd");
    const char *sub = args.positional[0];
    bool known =
        strcmp(sub, "list") == 0 || strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0 || strcmp(sub, "remove") == 0;
    if (!known)
        return lbErr(err, LB_ERR_ARGS, "unknown key subcommand '%s': use add, list, remove or passwd", sub);
    if (!cliRepoOpen(g, CLI_LOCK_NONE, r, err))
        return false;
    if (strcmp(sub, "list") == 0)
        return keyList(g, r->repo, err);
    if (strcmp(sub, "remove") == 0)
        return keyRemove(g, &args, r, err);
    return keyAdd(g, cfgStr(cfg, cfgOptNewPasswordFile), strcmp(sub, "passwd") == 0, r, err);
}

int cmdKey(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    LbError err = {0};
    CliRepo r = {0};
    bool ok = keyDo(cfg, &g, &r, &err);
    cliRepoClose(&r);
    return cliExit(&g, ok, &err);
}

/* ---- unlock ---- */

int cmdUnlock(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    bool all = cfgFlag(cfg, cfgOptRemoveAll);
    LbError err = {0};
    CliRepo r;
    size_t removed = 0;
    bool ok = cliRepoOpen(&g, CLI_LOCK_NONE, &r, &err) && repoLockRemoveStale(r.repo, all, &removed, &err);
    if (ok && g.json) {
        json_t *j = json_object();
        json_object_set_new(j, "removed", json_integer((json_int_t)removed));
        cliPrintJson(j);
    } else if (ok && !g.quiet) {
        printf("removed %zu %slock(s)\n", removed, all ? "" : "stale ");
    }
    cliRepoClose(&r);
    return cliExit(&g, ok, &err);
}

/* ---- stats ---- */

static void statsText(const RepoStats *s) {
    char raw[32], stored[32], total[32], logical[32];
    cliFormatBytes((double)s->rawBytes, raw, sizeof(raw));
    cliFormatBytes((double)s->storedBytes, stored, sizeof(stored));
    cliFormatBytes((double)s->repositoryBytes, total, sizeof(total));
    cliFormatBytes((double)s->snapshotBytes, logical, sizeof(logical));
    UiTable *t = uiTableNew();
    uiTableSetHeader(t, false);
    uiTableColumn(t, "", UI_ALIGN_LEFT);
    uiTableColumn(t, "", UI_ALIGN_LEFT);
    uiTableCell(t, "Snapshots:");
    uiTableCellf(t, "%zu", s->snapshots);
    uiTableCell(t, "Packs:");
    uiTableCellf(t, "%zu", s->packs);
    uiTableCell(t, "Blobs:");
    uiTableCellf(t, "%llu data, %llu tree", (unsigned long long)s->dataBlobs, (unsigned long long)s->treeBlobs);
    uiTableCell(t, "Unique data:");
    uiTableCell(t, raw);
    uiTableCell(t, "Stored (compressed):");
    uiTableCell(t, stored);
    uiTableCell(t, "Repository on storage:");
    uiTableCell(t, total);
    uiTableCell(t, "All snapshots hold:");
    if (s->repositoryBytes > 0)
        uiTableCellf(t, "%s (%.1fx deduplication and compression)", logical,
                     (double)s->snapshotBytes / (double)s->repositoryBytes);
    else
        uiTableCell(t, logical);
    uiTablePrint(t, stdout);
    uiTableFree(t);
}

int cmdStats(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    LbError err = {0};
    CliRepo r;
    RepoStats s;
    bool ok = cliRepoOpen(&g, CLI_LOCK_NONE, &r, &err) && repoLoadIndex(r.repo, &err) && statsRun(r.repo, &s, &err);
    if (ok && g.json)
        cliPrintJson(statsJson(&s));
    else if (ok)
        statsText(&s);
    cliRepoClose(&r);
    return cliExit(&g, ok, &err);
}

/* ---- check ---- */

static void checkProgress(void *ctx, uint64_t done, uint64_t total, uint64_t bytes) {
    char b[32];
    cliFormatBytes((double)bytes, b, sizeof(b));
    cliProgressShow(ctx, "reading packs: %llu / %llu (%s)", (unsigned long long)done, (unsigned long long)total, b);
}

static void checkText(const GlobalOpts *g, const CheckOptions *o, const CheckResult *res) {
    for (size_t i = 0; i < res->noteCount && !g->quiet; i++)
        printf("note: %s\n", res->notes[i]);
    for (size_t i = 0; i < res->errorCount; i++)
        fprintf(stderr, "error: %s\n", res->errors[i]);
    if (g->quiet)
        return;
    printf("checked %llu snapshots, %llu trees, %llu packs", (unsigned long long)res->snapshots,
           (unsigned long long)res->trees, (unsigned long long)res->packs);
    if (o->readData)
        printf(", read %llu packs", (unsigned long long)res->packsRead);
    printf(": %s\n", res->errorCount ? "ERRORS FOUND" : "no errors");
}

int cmdCheck(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CheckOptions o = {0};
    if (cfgFlag(cfg, cfgOptReadData) || cfgIsSet(cfg, cfgOptReadDataSubset)) {
        o.readData = true;
        o.subsetPercent = cfgIsSet(cfg, cfgOptReadDataSubset) ? cfgPercent(cfg, cfgOptReadDataSubset) : 100;
    }
    CliProgress *line = cliProgressNew(&g);
    if (line) {
        o.progress = checkProgress;
        o.progressCtx = line;
    }
    LbError err = {0};
    CliRepo r;
    CheckResult res = {0};
    /* check verifies the repository itself, not the local cache's copies of
     * its objects (repo/cache.h): opened without the cache, which the rest
     * of the process (a scheduled run's next step) keeps */
    char *noCache = getenv("LIFEBOAT_NO_CACHE") ? lbXstrdup(getenv("LIFEBOAT_NO_CACHE")) : NULL;
    setenv("LIFEBOAT_NO_CACHE", "1", 1);
    bool ok = cliRepoOpen(&g, CLI_LOCK_READ_EXCLUSIVE, &r, &err);
    if (noCache)
        setenv("LIFEBOAT_NO_CACHE", noCache, 1);
    else
        unsetenv("LIFEBOAT_NO_CACHE");
    free(noCache);
    ok = ok && checkRun(r.repo, &o, &res, &err);
    cliProgressFree(line);
    if (ok && g.json)
        cliPrintJson(checkResultJson(&res));
    else if (ok)
        checkText(&g, &o, &res);
    int rc = cliExit(&g, ok, &err);
    if (ok && res.errorCount) {
        /* the report above is the one JSON document; the exit code and
         * stderr say that the repository has errors */
        fprintf(stderr, "lifeboat: check found %zu error(s) in the repository\n", res.errorCount);
        rc = lbErrorExitCode(LB_ERR_CORRUPT);
    }
    checkResultClear(&res);
    cliRepoClose(&r);
    return rc;
}
