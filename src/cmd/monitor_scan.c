/* monitor_scan.c - the monitoring's repository scan (cmd/monitor_scan.h). */
#include "cmd/monitor_scan.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/file_repo.h"
#include "pg/wal.h"
#include "pg/walwindow.h"
#include "recover/plan.h"

static bool packSum(void *ctx, const char *name, uint64_t size) {
    (void)name;
    MonScan *s = ctx;
    s->packs++;
    s->sizeBytes += size;
    return true;
}

/* The newest segment's name (segments only; names order by timeline and position). */
static bool walNewest(void *ctx, const char *name, uint64_t size) {
    (void)size;
    MonScan *s = ctx;
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    WalName w;
    if (walNameParse(base, &w) && w.kind == WAL_FILE_SEGMENT && strcmp(base, s->newestWal) > 0)
        snprintf(s->newestWal, sizeof(s->newestWal), "%s", base);
    return true;
}

/* The oldest lock's time (the lock files' "time", Unix seconds). */
static void locksRead(Repo *repo, MonScan *s) {
    LbId *ids = NULL;
    size_t count = 0;
    LbError err = {0};
    if (!repoListIds(repo, "locks", &ids, &count, &err))
        return;
    for (size_t i = 0; i < count; i++) {
        LbBuf plain = {0};
        if (repoLoadUnpacked(repo, "locks", &ids[i], &plain, &err)) {
            json_t *j = json_loadb((const char *)plain.data, plain.len, 0, NULL);
            int64_t t = json_integer_value(json_object_get(j, "time"));
            if (t > 0 && t < INT64_MAX / 1000000000LL && /* a damaged lock's time must not overflow */
                (s->oldestLockNs == 0 || t * 1000000000LL < s->oldestLockNs))
                s->oldestLockNs = t * 1000000000LL;
            json_decref(j);
        }
        lbBufFree(&plain);
    }
    free(ids);
}

/* One entry per component label of the snapshots: count, newest, its read
 * time; the WAL window of a physical one. */
static bool componentsRead(const CfgFile *cfg, CliFileRepo *o, MonScan *s, LbError *err) {
    const SnapshotList *list = &o->list;
    s->components = calloc(list->count + 1, sizeof(*s->components));
    if (s->components == NULL)
        return lbErr(err, LB_ERR_MEMORY, "out of memory");
    for (size_t i = 0; i < list->count; i++) { /* oldest first: the last seen is the newest */
        const Snapshot *snap = &list->items[i];
        if (snap->component == NULL)
            continue;
        MonScanComponent *c = (MonScanComponent *)monScanComponent(s, snap->component);
        if (c == NULL) {
            c = &s->components[s->componentCount++];
            c->component = strdup(snap->component);
        }
        c->snapshots++;
        c->newestNs = snap->timeNs;
        c->newestReadNs = recoverReadTimeNs(snap);
        c->newestBytes = snap->summary.totalBytes;
        c->physical = recoverIsPhysical(snap);
    }
    for (size_t i = 0; i < s->componentCount; i++) {
        MonScanComponent *c = &s->components[i];
        if (!c->physical)
            continue;
        const CfgComponent *cc = cfgFileComponent(cfg, c->component);
        SnapshotFilter f = {.host = cc ? cc->host : NULL, .component = c->component};
        WalWindow w = {0};
        if (!walWindowCompute(o->r.repo, list, &f, &w, err))
            return false;
        c->walWindow = w.available;
        if (w.available) {
            c->walFirstNs = w.firstNs;
            c->walNewestNs = w.newestNs;
            snprintf(c->walLastSegment, sizeof(c->walLastSegment), "%s", w.lastSegment);
        }
    }
    return true;
}

void monitorScanRepository(const CfgFile *cfg, const CfgFileRepository *repo, int64_t nowMs, MonScan *out) {
    memset(out, 0, sizeof(*out));
    out->repository = strdup(repo->name);
    out->scannedAtMs = nowMs;
    CliFileRepo o;
    LbError err = {0};
    bool ok = cliFileRepoOpen(&o, repo, &err) && componentsRead(cfg, &o, out, &err);
    if (ok) {
        Storage *st = repoStorage(o.r.repo);
        out->snapshots = o.list.count;
        ok = storageList(st, "data/", packSum, out, &err) && storageList(st, WAL_DIR "/", walNewest, out, &err);
        locksRead(o.r.repo, out);
    }
    if (ok && out->newestWal[0] != '\0') {
        bool exists = false;
        WalHeader h;
        if (walReadHeader(o.r.repo, out->newestWal, &exists, &h, &err) && exists)
            out->newestWalNs = h.timeNs;
    }
    cliFileRepoClose(&o);
    out->ok = ok;
    if (!ok) {
        char *msg = NULL;
        if (asprintf(&msg, "unable to scan repository '%s': %s", repo->name, err.msg) >= 0)
            out->error = msg;
    }
}

MonScan *monitorScanAll(const CfgFile *cfg, Hist *hist, bool save, int64_t nowMs) {
    MonScan *scans = calloc(cfg->repositoryCount + 1, sizeof(*scans));
    for (size_t i = 0; scans != NULL && i < cfg->repositoryCount; i++) {
        MonScan *s = &scans[i];
        monitorScanRepository(cfg, &cfg->repositories[i], nowMs, s);
        LbError err = {0};
        if (hist != NULL && s->ok &&
            !histRecordScan(hist, s->repository, s->scannedAtMs, s->sizeBytes, s->snapshots, &err))
            fprintf(stderr, "lifeboat: %s\n", err.msg);
        if (save && !monScanSave(cfg->stateDir, s, &err))
            fprintf(stderr, "lifeboat: %s\n", err.msg);
    }
    return scans;
}

MonScan *monitorScansLoad(const CfgFile *cfg) {
    MonScan *scans = calloc(cfg->repositoryCount + 1, sizeof(*scans));
    for (size_t i = 0; scans != NULL && i < cfg->repositoryCount; i++) {
        LbError err = {0};
        bool found = false;
        if (!monScanLoad(cfg->stateDir, cfg->repositories[i].name, &scans[i], &found, &err))
            fprintf(stderr, "lifeboat: %s\n", err.msg);
    }
    return scans;
}

void monitorScansFree(MonScan *scans, size_t count) {
    for (size_t i = 0; scans != NULL && i < count; i++)
        monScanClear(&scans[i]);
    free(scans);
}
