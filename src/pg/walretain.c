/* walretain.c - WAL retention: the plan and the deletion (pg/walretain.h). */
#include "pg/walretain.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pg/basebackup.h"
#include "storage/storage.h"

#define NS_PER_SECOND INT64_C(1000000000)

/* ---- the plan ---- */

static bool segmentLike(const WalName *n) {
    return n->kind == WAL_FILE_SEGMENT || n->kind == WAL_FILE_PARTIAL || n->kind == WAL_FILE_BACKUP;
}

/* Does backup b apply to a file of this cluster (hasSys false: unknown)? */
static bool backupMatches(const WalRetainBackup *b, bool hasSys, uint64_t sys) {
    return b->systemId == 0 || !hasSys || b->systemId == sys;
}

/* Is the segment named n at or after b's start, on b's timeline or a later
 * one (replay from b crosses onto later timelines)? */
static bool neededBy(const WalRetainBackup *b, const WalName *n) {
    if (b->timeline > n->timeline || b->segmentSize == 0)
        return false;
    uint64_t perLog = UINT64_C(0x100000000) / b->segmentSize;
    return (uint64_t)n->log * perLog + n->seg >= b->startLsn / b->segmentSize;
}

/* May this run delete files of the cluster (hasSys false: of every cluster
 * with a kept backup)? */
static bool clusterAllowed(const WalRetainPlanInput *in, bool hasSys, uint64_t sys) {
    if (in->systemIdCount == 0)
        return true;
    for (size_t k = 0; k < in->backupCount && !hasSys; k++) {
        bool listed = false;
        for (size_t i = 0; i < in->systemIdCount && !listed; i++)
            listed = in->backups[k].systemId == in->systemIds[i];
        if (!listed)
            return false;
    }
    for (size_t i = 0; i < in->systemIdCount && hasSys; i++)
        if (in->systemIds[i] == sys)
            return true;
    return !hasSys;
}

/* By position alone, for the kept backups of one cluster (hasSys, sys): is
 * the segment-like file n kept? *matched tells whether any backup applies. */
static bool keptByPosition(const WalRetainPlanInput *in, bool hasSys, uint64_t sys, const WalName *n, bool *matched) {
    *matched = false;
    for (size_t k = 0; k < in->backupCount; k++) {
        const WalRetainBackup *b = &in->backups[k];
        if (!backupMatches(b, hasSys, sys))
            continue;
        *matched = true;
        if (neededBy(b, n))
            return true;
    }
    return false;
}

bool walRetainNeedsHeader(const WalRetainPlanInput *in, const WalName *n) {
    if (in->backupCount == 0)
        return false;
    if (n->kind == WAL_FILE_HISTORY) {
        for (size_t k = 0; k < in->backupCount; k++)
            if (in->backups[k].timeline >= n->timeline)
                return false;
        return true;
    }
    /* the file's cluster is not known from its name: could any cluster
     * (a kept backup's system identifier, or one none has) let it go? */
    bool matched;
    for (size_t k = 0; k < in->backupCount; k++)
        if (in->backups[k].systemId != 0 && !keptByPosition(in, true, in->backups[k].systemId, n, &matched))
            return true;
    return !keptByPosition(in, true, 0, n, &matched) && matched;
}

/* The time rules (3 and 4 in the header) for a file the position rules
 * would let go. */
static WalRetainVerdict byTime(const WalRetainPlanInput *in, const WalRetainFile *f) {
    if (!f->haveHeader || f->pushedNs == 0)
        return WAL_RETAIN_KEEP_RECENT;
    int64_t oldestStart = INT64_MAX;
    for (size_t k = 0; k < in->backupCount; k++) {
        const WalRetainBackup *b = &in->backups[k];
        if (backupMatches(b, f->hasSystemId, f->systemId) && b->startNs < oldestStart)
            oldestStart = b->startNs;
    }
    if (f->pushedNs >= oldestStart)
        return WAL_RETAIN_KEEP_RECENT;
    if (f->pushedNs >= in->windowStartNs)
        return WAL_RETAIN_KEEP_WINDOW;
    return WAL_RETAIN_DELETE;
}

static WalRetainVerdict decideSegment(const WalRetainPlanInput *in, const WalRetainFile *f) {
    bool hasSys = f->haveHeader && f->hasSystemId, matched;
    if (in->backupCount == 0 || !clusterAllowed(in, hasSys, f->systemId))
        return WAL_RETAIN_KEEP_NO_BACKUP;
    if (keptByPosition(in, hasSys, f->systemId, &f->parsed, &matched))
        return WAL_RETAIN_KEEP_NEEDED;
    if (!matched)
        return WAL_RETAIN_KEEP_NO_BACKUP;
    return byTime(in, f);
}

static int cmpFileName(const void *a, const void *b) {
    return strcmp((*(WalRetainFile *const *)a)->name, (*(WalRetainFile *const *)b)->name);
}

void walRetainPlan(const WalRetainPlanInput *in, WalRetainFile *files, size_t count) {
    WalRetainFile **byName = lbXmalloc((count + 1) * sizeof(WalRetainFile *));
    for (size_t i = 0; i < count; i++)
        byName[i] = &files[i];
    qsort(byName, count, sizeof(WalRetainFile *), cmpFileName);
    /* segments and partials first: .backup files and history files depend on them */
    for (size_t i = 0; i < count; i++)
        if (files[i].parsed.kind == WAL_FILE_SEGMENT || files[i].parsed.kind == WAL_FILE_PARTIAL)
            files[i].verdict = decideSegment(in, &files[i]);
    for (size_t i = 0; i < count; i++) {
        WalRetainFile *f = &files[i];
        if (f->parsed.kind != WAL_FILE_BACKUP)
            continue;
        char segName[WAL_NAME_MAX];
        snprintf(segName, sizeof(segName), "%.24s", f->name);
        WalRetainFile key = {.name = segName}, *keyRef = &key;
        WalRetainFile **seg = bsearch(&keyRef, byName, count, sizeof(WalRetainFile *), cmpFileName);
        f->verdict = seg ? (*seg)->verdict : decideSegment(in, f);
    }
    /* the highest timeline a kept backup or a kept file is on */
    uint32_t maxTimeline = 0;
    for (size_t k = 0; k < in->backupCount; k++)
        if (in->backups[k].timeline > maxTimeline)
            maxTimeline = in->backups[k].timeline;
    for (size_t i = 0; i < count; i++)
        if (segmentLike(&files[i].parsed) && files[i].verdict != WAL_RETAIN_DELETE &&
            files[i].parsed.timeline > maxTimeline)
            maxTimeline = files[i].parsed.timeline;
    for (size_t i = 0; i < count; i++) {
        WalRetainFile *f = &files[i];
        if (f->parsed.kind != WAL_FILE_HISTORY)
            continue;
        if (in->backupCount == 0 || !clusterAllowed(in, false, 0))
            f->verdict = WAL_RETAIN_KEEP_NO_BACKUP;
        else if (f->parsed.timeline <= maxTimeline)
            f->verdict = WAL_RETAIN_KEEP_NEEDED;
        else
            f->verdict = byTime(in, f);
    }
    free(byName);
}

/* ---- listing, headers, deletion ---- */

WalRetainBackup *walRetainBackups(const SnapshotList *list, const bool *kept, size_t *count) {
    WalRetainBackup *out = lbXcalloc(list->count + 1, sizeof(WalRetainBackup));
    size_t n = 0;
    for (size_t i = 0; i < list->count; i++) {
        const Snapshot *s = &list->items[i];
        BasebackupInfo in;
        LbError ignored = {0};
        if ((kept && !kept[i]) || s->meta == NULL)
            continue;
        if (!basebackupInfoFromJson(s->meta, &in, &ignored)) {
            const char *kind = json_string_value(json_object_get(s->meta, "kind"));
            /* a physical backup whose metadata this version cannot read
             * protects every file: unknown cluster, from the first segment */
            if (kind && strcmp(kind, BASEBACKUP_META_KIND) == 0)
                out[n++] = (WalRetainBackup){0, 1, 0, 16 * 1024 * 1024, INT64_MIN};
            continue;
        }
        out[n++] = (WalRetainBackup){in.systemId, in.startTimeline ? in.startTimeline : in.stopTimeline, in.startLsn,
                                     in.walSegmentSize, in.startNs};
    }
    *count = n;
    return out;
}

typedef struct Listing {
    WalRetainFile *files;
    size_t count, cap;
} Listing;

static bool collect(void *ctx, const char *name, uint64_t size) {
    Listing *l = ctx;
    const char *slash = strrchr(name, '/');
    WalName parsed;
    name = slash ? slash + 1 : name;
    if (!walNameParse(name, &parsed))
        return true; /* not a file wal-push writes (a temporary one): never ours to delete */
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->files = lbXrealloc(l->files, l->cap * sizeof(WalRetainFile));
    }
    l->files[l->count++] = (WalRetainFile){.name = lbXstrdup(name), .parsed = parsed, .size = size};
    return true;
}

static bool readHeader(Repo *repo, WalRetainFile *f, WalRetainResult *r, LbError *err) {
    WalHeader h;
    bool exists = false;
    if (!walReadHeader(repo, f->name, &exists, &h, err))
        return false;
    r->headersRead++;
    if (!exists)
        return true; /* gone meanwhile: haveHeader stays false, so it is kept */
    f->haveHeader = true;
    f->hasSystemId = h.hasSystemId;
    f->systemId = h.systemId;
    f->pushedNs = h.timeNs;
    return true;
}

/* The newest segment or partial by name (highest timeline, then position). */
static WalRetainFile *newestSegment(Listing *l) {
    WalRetainFile *best = NULL;
    for (size_t i = 0; i < l->count; i++) {
        WalRetainFile *f = &l->files[i];
        if ((f->parsed.kind == WAL_FILE_SEGMENT || f->parsed.kind == WAL_FILE_PARTIAL) &&
            (best == NULL || strncmp(f->name, best->name, 24) > 0))
            best = f;
    }
    return best;
}

static int cmpDeletion(const void *a, const void *b) {
    const WalRetainFile *x = *(WalRetainFile *const *)a, *y = *(WalRetainFile *const *)b;
    bool hx = x->parsed.kind == WAL_FILE_HISTORY, hy = y->parsed.kind == WAL_FILE_HISTORY;
    if (hx != hy)
        return hx ? 1 : -1; /* history files last */
    return strcmp(x->name, y->name);
}

static void count(const WalRetainFile *f, WalRetainResult *r) {
    if (f->verdict == WAL_RETAIN_KEEP_WINDOW)
        r->keptWindow++;
    if (f->verdict == WAL_RETAIN_KEEP_RECENT && f->haveHeader)
        r->keptRecent++;
    if (f->verdict != WAL_RETAIN_DELETE)
        return;
    r->filesDeleted++;
    r->bytesDeleted += f->size;
    r->segments += f->parsed.kind == WAL_FILE_SEGMENT;
    r->partials += f->parsed.kind == WAL_FILE_PARTIAL;
    r->histories += f->parsed.kind == WAL_FILE_HISTORY;
    r->backupFiles += f->parsed.kind == WAL_FILE_BACKUP;
}

bool walRetainRun(Repo *repo, RepoLock *lock, const SnapshotList *list, const bool *kept, const WalRetainOptions *o,
                  WalRetainResult *r, LbError *err) {
    *r = (WalRetainResult){.windowStartNs = INT64_MIN, .ran = true};
    if (lock == NULL)
        return lbErr(err, LB_ERR_ARGS, "WAL retention needs an exclusive lock on the repository");
    Listing l = {0};
    WalRetainFile **order = NULL;
    bool ok = false;
    WalRetainBackup *backups = walRetainBackups(list, kept, &r->backupsKept);
    WalRetainPlanInput in = {backups, r->backupsKept, o->systemIds, o->systemIdCount, INT64_MAX};
    if (!storageList(repoStorage(repo), WAL_DIR "/", collect, &l, err))
        goto cleanup;
    for (size_t i = 0; i < l.count; i++) {
        r->filesListed++;
        r->bytesListed += l.files[i].size;
    }
    int64_t newestNs = INT64_MIN;
    for (size_t i = 0; i < l.count; i++) {
        WalRetainFile *f = &l.files[i];
        if (walRetainNeedsHeader(&in, &f->parsed)) {
            if (!readHeader(repo, f, r, err))
                goto cleanup;
            if (f->haveHeader && f->pushedNs > newestNs && f->parsed.kind != WAL_FILE_HISTORY)
                newestNs = f->pushedNs;
        }
    }
    if (o->windowSeconds > 0 && r->backupsKept > 0) {
        /* the window is measured back from the newest archived segment */
        WalRetainFile *newest = newestSegment(&l);
        if (newest && !newest->haveHeader && !readHeader(repo, newest, r, err))
            goto cleanup;
        if (newest && newest->haveHeader && newest->pushedNs > newestNs)
            newestNs = newest->pushedNs;
        /* no segment to measure from: nothing can be outside the window */
        bool huge = o->windowSeconds >= INT64_MAX / NS_PER_SECOND / 2; /* 146 years: no end */
        in.windowStartNs = newestNs == INT64_MIN || huge ? INT64_MIN : newestNs - o->windowSeconds * NS_PER_SECOND;
        r->windowStartNs = newestNs == INT64_MIN ? INT64_MIN : in.windowStartNs;
    }
    walRetainPlan(&in, l.files, l.count);
    order = lbXmalloc((l.count + 1) * sizeof(WalRetainFile *));
    size_t n = 0;
    for (size_t i = 0; i < l.count; i++) {
        count(&l.files[i], r);
        if (l.files[i].verdict == WAL_RETAIN_DELETE)
            order[n++] = &l.files[i];
    }
    qsort(order, n, sizeof(WalRetainFile *), cmpDeletion);
    r->deleted = lbXcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        r->deleted[r->deletedCount++] = lbXstrdup(order[i]->name);
    if (!o->dryRun && n > 0 && !repoLockVerifyAlone(lock, err))
        goto cleanup;
    for (size_t i = 0; i < n && !o->dryRun; i++) {
        char obj[WAL_NAME_MAX + 8];
        snprintf(obj, sizeof(obj), WAL_DIR "/%s", order[i]->name);
        if (!storageRemove(repoStorage(repo), obj, err)) {
            lbErrorWrap(err, "unable to remove '%s' (%zu of %zu WAL files removed)", obj, i, n);
            goto cleanup;
        }
        lbLogDebug("removed %s", obj);
    }
    ok = true;
cleanup:
    for (size_t i = 0; i < l.count; i++)
        free((char *)l.files[i].name);
    free(l.files);
    free(order);
    free(backups);
    return ok;
}

void walRetainResultClear(WalRetainResult *r) {
    for (size_t i = 0; i < r->deletedCount; i++)
        free(r->deleted[i]);
    free(r->deleted);
    *r = (WalRetainResult){.windowStartNs = INT64_MIN};
}

json_t *walRetainResultJson(const WalRetainOptions *o, const WalRetainResult *r) {
    json_t *j = json_object(), *names = json_array();
    json_object_set_new(j, "dry_run", json_boolean(o->dryRun));
    json_object_set_new(j, "window_seconds", json_integer((json_int_t)o->windowSeconds));
    if (r->windowStartNs != INT64_MIN) {
        char t[48];
        lbFormatTimeNs(r->windowStartNs, t, sizeof(t));
        json_object_set_new(j, "window_start", json_string(t));
    }
    json_object_set_new(j, "base_backups_kept", json_integer((json_int_t)r->backupsKept));
    json_object_set_new(j, "files_listed", json_integer((json_int_t)r->filesListed));
    json_object_set_new(j, "bytes_listed", json_integer((json_int_t)r->bytesListed));
    json_object_set_new(j, "files_removed", json_integer((json_int_t)r->filesDeleted));
    json_object_set_new(j, "bytes_removed", json_integer((json_int_t)r->bytesDeleted));
    json_object_set_new(j, "segments_removed", json_integer((json_int_t)r->segments));
    json_object_set_new(j, "partial_removed", json_integer((json_int_t)r->partials));
    json_object_set_new(j, "history_removed", json_integer((json_int_t)r->histories));
    json_object_set_new(j, "backup_files_removed", json_integer((json_int_t)r->backupFiles));
    json_object_set_new(j, "kept_for_window", json_integer((json_int_t)r->keptWindow));
    json_object_set_new(j, "kept_as_recent", json_integer((json_int_t)r->keptRecent));
    for (size_t i = 0; i < r->deletedCount; i++)
        json_array_append_new(names, json_string(r->deleted[i]));
    json_object_set_new(j, "removed", names);
    return j;
}
