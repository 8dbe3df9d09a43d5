/* walwindow.c - the point-in-time recovery window (pg/walwindow.h). */
#include "pg/walwindow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "pg/basebackup.h"
#include "pg/walstream.h"

typedef struct SegSet {
    uint32_t timeline;
    uint64_t *segs; /* segment numbers on that timeline */
    size_t count, cap;
} SegSet;

static uint64_t segsPerLog(uint64_t segmentSize) {
    return UINT64_C(0x100000000) / segmentSize;
}

typedef struct Listing {
    WalName *names;
    size_t count, cap;
    WalName *partials; /* streamed partials (wal-stream) */
    size_t partialCount, partialCap;
} Listing;

static bool collectName(void *ctx, const char *name, uint64_t size) {
    (void)size;
    Listing *l = ctx;
    const char *slash = strrchr(name, '/');
    WalName w;
    if (!walNameParse(slash ? slash + 1 : name, &w))
        return true;
    if (w.kind == WAL_FILE_PARTIAL && w.streamedBytes > 0) {
        if (l->partialCount == l->partialCap) {
            l->partialCap = l->partialCap ? l->partialCap * 2 : 16;
            l->partials = lbXrealloc(l->partials, l->partialCap * sizeof(WalName));
        }
        l->partials[l->partialCount++] = w;
        return true;
    }
    if (w.kind != WAL_FILE_SEGMENT)
        return true;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->names = lbXrealloc(l->names, l->cap * sizeof(WalName));
    }
    l->names[l->count++] = w;
    return true;
}

static int cmpU64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool hasSeg(const SegSet *s, uint64_t seg) {
    return bsearch(&seg, s->segs, s->count, sizeof(uint64_t), cmpU64) != NULL;
}

static void segName(uint32_t tli, uint64_t seg, uint64_t segmentSize, char *out, size_t n) {
    walSegmentName(tli, seg * segmentSize, segmentSize, out, n);
}

bool walWindowCompute(Repo *repo, const SnapshotList *list, const SnapshotFilter *filter, WalWindow *w, LbError *err) {
    memset(w, 0, sizeof(*w));
    /* the newest physical backup of the component */
    size_t newest = SIZE_MAX;
    BasebackupInfo nb = {0};
    for (size_t i = list->count; i-- > 0 && newest == SIZE_MAX;) {
        LbError ignored = {0};
        const Snapshot *s = &list->items[i];
        if (snapshotMatches(s, filter) && s->meta && basebackupInfoFromJson(s->meta, &nb, &ignored))
            newest = i;
    }
    if (newest == SIZE_MAX || nb.walSegmentSize == 0)
        return true;
    Listing l = {0};
    if (!storageList(repoStorage(repo), WAL_DIR "/", collectName, &l, err)) {
        free(l.names);
        free(l.partials);
        return false;
    }
    SegSet set = {.timeline = nb.stopTimeline};
    uint64_t per = segsPerLog(nb.walSegmentSize);
    for (size_t i = 0; i < l.count; i++) {
        if (l.names[i].timeline != set.timeline)
            continue;
        if (set.count == set.cap) {
            set.cap = set.cap ? set.cap * 2 : 256;
            set.segs = lbXrealloc(set.segs, set.cap * sizeof(uint64_t));
        }
        set.segs[set.count++] = (uint64_t)l.names[i].log * per + l.names[i].seg;
    }
    free(l.names);
    qsort(set.segs, set.count, sizeof(uint64_t), cmpU64);
    uint64_t start = nb.startLsn / nb.walSegmentSize, stop = nb.stopLsn / nb.walSegmentSize;
    bool ok = true;
    uint64_t last = start - 1;
    while (hasSeg(&set, last + 1))
        last++;
    /* a streamed partial of the next segment ends the chain (wal-fetch
     * serves it as that segment) */
    uint32_t partialBytes = 0;
    for (size_t i = 0; i < l.partialCount; i++)
        if (l.partials[i].timeline == set.timeline &&
            (uint64_t)l.partials[i].log * per + l.partials[i].seg == last + 1 &&
            l.partials[i].streamedBytes > partialBytes)
            partialBytes = l.partials[i].streamedBytes;
    free(l.partials);
    if (partialBytes)
        last++;
    if (last + 1 == start) {
        free(set.segs);
        return true; /* the newest backup's own WAL is not archived */
    }
    if (last < stop) {
        free(set.segs);
        return true; /* a gap before the newest backup's end */
    }
    /* older backups on the same timeline whose first segment connects */
    uint64_t first = start;
    int64_t firstNs = nb.stopNs;
    size_t backups = 1;
    w->newestBackup = list->items[newest].id;
    w->oldestBackup = list->items[newest].id;
    for (size_t i = newest; i-- > 0;) {
        LbError ignored = {0};
        BasebackupInfo in;
        const Snapshot *s = &list->items[i];
        if (!snapshotMatches(s, filter) || s->meta == NULL || !basebackupInfoFromJson(s->meta, &in, &ignored) ||
            in.stopTimeline != set.timeline || in.walSegmentSize != nb.walSegmentSize)
            continue;
        uint64_t st = in.startLsn / in.walSegmentSize;
        if (st > first)
            continue;
        bool connected = true;
        for (uint64_t k = st; k < first && connected; k++)
            connected = hasSeg(&set, k);
        if (!connected)
            break;
        first = st;
        firstNs = in.stopNs;
        w->oldestBackup = s->id;
        backups++;
    }
    char name[WAL_NAME_MAX];
    segName(set.timeline, last, nb.walSegmentSize, name, sizeof(name));
    if (partialBytes)
        walstreamPartialName(name, partialBytes, name, sizeof(name));
    bool exists = false;
    WalHeader h;
    ok = walReadHeader(repo, name, &exists, &h, err);
    if (ok && exists) {
        w->available = true;
        w->firstNs = firstNs;
        w->newestNs = h.timeNs > firstNs ? h.timeNs : firstNs;
        w->timeline = set.timeline;
        w->segments = last - first + 1;
        w->backups = backups;
        snprintf(w->lastSegment, sizeof(w->lastSegment), "%s", name);
        segName(set.timeline, first, nb.walSegmentSize, w->firstSegment, sizeof(w->firstSegment));
    }
    free(set.segs);
    return ok;
}
