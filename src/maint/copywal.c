/* copywal.c - WAL for copied base backups (maint/copywal.h). */
#include "maint/copywal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "pg/wal.h"
#include "storage/storage.h"

/* objects compared or transferred at once (each holds a segment twice) */
#define COPYWAL_THREADS 4

typedef char WalNameBuf[WAL_NAME_MAX];

/* A sorted set of WAL file names. */
typedef struct NameSet {
    WalNameBuf *names;
    size_t count, cap;
} NameSet;

static void setAdd(NameSet *s, const char *name) {
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->names = lbXrealloc(s->names, s->cap * sizeof(WalNameBuf));
    }
    snprintf(s->names[s->count++], sizeof(WalNameBuf), "%s", name);
}

static int cmpName(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

/* Sort and drop duplicates. */
static void setSort(NameSet *s) {
    if (s->count == 0)
        return;
    qsort(s->names, s->count, sizeof(WalNameBuf), cmpName);
    size_t out = 1;
    for (size_t i = 1; i < s->count; i++)
        if (strcmp(s->names[i], s->names[out - 1]) != 0)
            memmove(s->names[out++], s->names[i], sizeof(WalNameBuf));
    s->count = out;
}

static bool setHas(const NameSet *s, const char *name) {
    WalNameBuf key;
    snprintf(key, sizeof(key), "%s", name);
    return s->count && bsearch(key, s->names, s->count, sizeof(WalNameBuf), cmpName) != NULL;
}

static bool collect(void *ctx, const char *name, uint64_t size) {
    (void)size;
    const char *slash = strrchr(name, '/');
    WalName w;
    if (walNameParse(slash ? slash + 1 : name, &w))
        setAdd(ctx, slash ? slash + 1 : name);
    return true;
}

static bool listWal(Repo *repo, NameSet *s, LbError *err) {
    if (!storageList(repoStorage(repo), WAL_DIR "/", collect, s, err))
        return lbErrorWrap(err, "unable to list the WAL of '%s'", storageLocation(repoStorage(repo)));
    setSort(s);
    return true;
}

static void segName(uint32_t tli, uint64_t segNo, uint64_t segmentSize, char *out, size_t n) {
    walSegmentName(tli, segNo * segmentSize, segmentSize, out, n);
}

/* The chain after a backup ends at segment (missing): the longest streamed
 * partial of it (wal-stream's `<segment>.<bytes>.partial`), when there is
 * one, carries the window on to the newest WAL the stream received. */
static void wantStreamedPartial(const NameSet *have, const char *segment, NameSet *want) {
    const char *best = NULL;
    uint32_t bestBytes = 0;
    size_t n = strlen(segment);
    for (size_t i = 0; i < have->count; i++) {
        WalName w;
        if (strncmp(have->names[i], segment, n) == 0 && have->names[i][n] == '.' && walNameParse(have->names[i], &w) &&
            w.kind == WAL_FILE_PARTIAL && w.streamedBytes > bestBytes) {
            best = have->names[i];
            bestBytes = w.streamedBytes;
        }
    }
    if (best)
        setAdd(want, best);
}

/* Is name a streamed partial (the one kind of WAL object wal-stream may
 * store again, with other bytes, under the same name: pg/walstream.h)? */
static bool isStreamedPartial(const char *name) {
    WalName w;
    return walNameParse(name, &w) && w.kind == WAL_FILE_PARTIAL && w.streamedBytes > 0;
}

/* The names backup b needs, added to want. */
static void wantBackup(const NameSet *have, const BasebackupInfo *b, NameSet *want, CopyWalResult *r) {
    uint64_t ss = b->walSegmentSize;
    if (ss == 0)
        return;
    uint64_t start = b->startLsn / ss, stop = b->stopLsn / ss;
    char name[WAL_NAME_MAX];
    /* its .backup file, then its segments through its end and on while
     * the chain is contiguous */
    char first[32];
    segName(b->startTimeline, start, ss, first, sizeof(first));
    snprintf(name, sizeof(name), "%s.%08" PRIX32 ".backup", first, (uint32_t)(b->startLsn % ss));
    if (setHas(have, name))
        setAdd(want, name);
    for (uint64_t seg = start;; seg++) {
        segName(b->stopTimeline, seg, ss, name, sizeof(name));
        if (!setHas(have, name) && seg == start && b->startTimeline != b->stopTimeline)
            segName(b->startTimeline, seg, ss, name, sizeof(name));
        if (setHas(have, name)) {
            setAdd(want, name);
            continue;
        }
        if (seg <= stop) {
            if (r->segmentsMissing == 0)
                snprintf(r->firstMissing, sizeof(r->firstMissing), "%s", name);
            r->segmentsMissing += stop - seg + 1;
        } else {
            wantStreamedPartial(have, name, want);
        }
        break;
    }
    /* the history of its timeline */
    for (size_t i = 0; i < have->count; i++) {
        WalName w;
        if (walNameParse(have->names[i], &w) && w.kind == WAL_FILE_HISTORY && w.timeline <= b->stopTimeline)
            setAdd(want, have->names[i]);
    }
}

/* name is in both: the same file (size and SHA-256 in the sealed headers)
 * or an error naming it. */
static bool compareExisting(Repo *src, Repo *dst, const char *name, LbError *err) {
    WalHeader hs, hd;
    bool es = false, ed = false;
    if (!walReadHeader(src, name, &es, &hs, err) || !walReadHeader(dst, name, &ed, &hd, err))
        return lbErrorWrap(err, "unable to copy WAL file '%s'", name);
    if (!es || !ed)
        return lbErr(err, LB_ERR_NOT_FOUND, "unable to copy WAL file '%s': it disappeared while copying", name);
    if (hs.size == hd.size && lbIdEqual(&hs.sha256, &hd.sha256))
        return true;
    char a[LB_ID_HEX_LEN + 1], b[LB_ID_HEX_LEN + 1];
    lbIdToHex(&hs.sha256, a);
    lbIdToHex(&hd.sha256, b);
    return lbErr(err, LB_ERR_EXISTS,
                 "unable to copy WAL file '%s': the target already holds a different file of that name (%" PRIu64
                 " bytes, sha256 %.16s...; the source's: %" PRIu64 " bytes, sha256 %.16s...); refusing to "
                 "overwrite it. HINT: each PostgreSQL cluster needs its own repository for WAL.",
                 name, hd.size, b, hs.size, a);
}

/* Read name from src (checked with src's keys), store it under dst's. */
static bool transfer(Repo *src, Repo *dst, const char *name, uint64_t *stored, LbError *err) {
    LbBuf plain = {0}, sealed = {0};
    WalHeader h;
    char obj[WAL_NAME_MAX + 8];
    snprintf(obj, sizeof(obj), WAL_DIR "/%s", name);
    bool ok = walFetch(src, name, &plain, &h, err) && walEncode(dst, &h, plain.data, plain.len, &sealed, err) &&
              storagePut(repoStorage(dst), obj, sealed.data, sealed.len, err);
    if (ok)
        *stored += sealed.len;
    else
        lbErrorWrap(err, "unable to copy WAL file '%s'", name);
    lbBufFree(&plain);
    lbBufFree(&sealed);
    return ok;
}

typedef enum { ITEM_TODO = 0, ITEM_COPIED, ITEM_SKIPPED, ITEM_FAILED } ItemOutcome;

typedef struct CopyItem {
    const char *name; /* into the want set */
    ItemOutcome outcome;
    uint64_t stored;
    LbError err;
} CopyItem;

typedef struct CopyPool {
    Repo *src, *dst;
    const NameSet *there;
    CopyItem *items;
    size_t count;
    atomic_size_t next;
    atomic_bool failed; /* stop taking new items */
} CopyPool;

/* Compare (when the target has it) or transfer one name after another. */
static void *copyWorker(void *arg) {
    CopyPool *p = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->count || atomic_load(&p->failed))
            break;
        CopyItem *it = &p->items[i];
        bool ok;
        if (setHas(p->there, it->name)) {
            ok = compareExisting(p->src, p->dst, it->name, &it->err);
            it->outcome = ok ? ITEM_SKIPPED : ITEM_FAILED;
            if (!ok && it->err.code == LB_ERR_EXISTS && isStreamedPartial(it->name)) {
                /* the source's streamed partial was stored again after a
                 * torn read (wal-stream): its newer bytes replace the copy */
                it->err = (LbError){0};
                ok = transfer(p->src, p->dst, it->name, &it->stored, &it->err);
                it->outcome = ok ? ITEM_COPIED : ITEM_FAILED;
            }
        } else {
            ok = transfer(p->src, p->dst, it->name, &it->stored, &it->err);
            it->outcome = ok ? ITEM_COPIED : ITEM_FAILED;
        }
        if (!ok)
            atomic_store(&p->failed, true);
        else if (it->outcome == ITEM_COPIED)
            lbLogDebug("copied WAL file '%s'", it->name);
    }
    return NULL;
}

/* Run copyWorker on COPYWAL_THREADS threads (this one included). */
static void copyAll(CopyPool *pool) {
    size_t threads = pool->count < COPYWAL_THREADS ? pool->count : COPYWAL_THREADS;
    pthread_t tids[COPYWAL_THREADS];
    size_t started = 0;
    while (started + 1 < threads && pthread_create(&tids[started], NULL, copyWorker, pool) == 0)
        started++;
    copyWorker(pool);
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
}

bool copyWalRun(Repo *src, Repo *dst, const BasebackupInfo *backups, size_t count, CopyWalResult *r, LbError *err) {
    NameSet have = {0}, there = {0}, want = {0};
    CopyItem *items = NULL;
    bool ok = false;
    if (count == 0)
        return true;
    if (!listWal(src, &have, err) || !listWal(dst, &there, err))
        goto cleanup;
    for (size_t i = 0; i < count; i++)
        wantBackup(&have, &backups[i], &want, r);
    setSort(&want);
    items = lbXcalloc(want.count + 1, sizeof(CopyItem));
    for (size_t i = 0; i < want.count; i++)
        items[i].name = want.names[i];
    CopyPool pool = {.src = src, .dst = dst, .there = &there, .items = items, .count = want.count};
    atomic_init(&pool.next, 0);
    atomic_init(&pool.failed, false);
    copyAll(&pool);
    /* the counts of what was done; the first failure in WAL order */
    bool reported = false;
    for (size_t i = 0; i < want.count; i++) {
        CopyItem *it = &items[i];
        WalName w;
        walNameParse(it->name, &w);
        bool segment = w.kind == WAL_FILE_SEGMENT;
        if (it->outcome == ITEM_FAILED && !reported) {
            *err = it->err;
            reported = true;
        } else if (it->outcome == ITEM_SKIPPED) {
            (*(segment ? &r->segmentsSkipped : &r->filesSkipped))++;
        } else if (it->outcome == ITEM_COPIED) {
            (*(segment ? &r->segmentsCopied : &r->filesCopied))++;
            r->bytesStored += it->stored;
        }
    }
    ok = !atomic_load(&pool.failed);
cleanup:
    free(items);
    free(have.names);
    free(there.names);
    free(want.names);
    return ok;
}
