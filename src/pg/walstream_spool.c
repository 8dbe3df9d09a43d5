/* walstream_spool.c - wal-stream's uploader: spool to repository, and streamed partials for recovery (pg/walstream.h).
 */
#include "pg/walstream.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

struct WalstreamSpool {
    Repo *repo;          /* borrowed */
    const char *recvDir; /* borrowed */
    /* the partial last looked at: skip reading it again while unchanged */
    char partialFile[WAL_NAME_MAX];
    int64_t partialMtimeNs;
    uint32_t partialBytes; /* bytes of WAL it held then */
    LbId partialSha;       /* and the SHA-256 of its content */
    bool partialStored;    /* ... and that content is in the repository */
    double lastPartialPut;
    WalstreamSpoolStats stats;
};

WalstreamSpool *walstreamSpoolNew(Repo *repo, const char *recvDir) {
    WalstreamSpool *s = lbXcalloc(1, sizeof(*s));
    s->repo = repo;
    s->recvDir = recvDir;
    return s;
}

void walstreamSpoolFree(WalstreamSpool *spool) {
    free(spool);
}

void walstreamSpoolStats(const WalstreamSpool *spool, WalstreamSpoolStats *stats) {
    *stats = spool->stats;
}

void walstreamPartialName(const char *segment, uint32_t bytes, char *out, size_t n) {
    char seg[25];
    snprintf(seg, sizeof(seg), "%.24s", segment); /* out may be segment */
    snprintf(out, n, "%s.%08" PRIX32 ".partial", seg, bytes);
}

/* ---- streamed partials in the repository ---- */

typedef struct PartialList {
    char segment[32];
    char (*names)[WAL_NAME_MAX];
    uint32_t *bytes;
    size_t count, cap;
} PartialList;

static bool collectPartial(void *ctx, const char *name, uint64_t size) {
    (void)size;
    PartialList *l = ctx;
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    WalName w;
    if (strncmp(base, l->segment, 24) != 0 || !walNameParse(base, &w) || w.kind != WAL_FILE_PARTIAL ||
        w.streamedBytes == 0)
        return true;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->names = lbXrealloc(l->names, l->cap * sizeof(*l->names));
        l->bytes = lbXrealloc(l->bytes, l->cap * sizeof(uint32_t));
    }
    snprintf(l->names[l->count], WAL_NAME_MAX, "%s", base);
    l->bytes[l->count++] = w.streamedBytes;
    return true;
}

static bool listPartials(Repo *repo, const char *segment, PartialList *l, LbError *err) {
    memset(l, 0, sizeof(*l));
    snprintf(l->segment, sizeof(l->segment), "%.24s", segment);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), WAL_DIR "/%.24s.", segment);
    return storageList(repoStorage(repo), prefix, collectPartial, l, err);
}

static void partialListFree(PartialList *l) {
    free(l->names);
    free(l->bytes);
}

bool walstreamNewestPartial(Repo *repo, const char *segment, bool *found, char *out, size_t n, LbError *err) {
    PartialList l;
    *found = false;
    bool ok = listPartials(repo, segment, &l, err);
    size_t best = SIZE_MAX;
    for (size_t i = 0; ok && i < l.count; i++)
        if (best == SIZE_MAX || l.bytes[i] > l.bytes[best])
            best = i;
    if (ok && best != SIZE_MAX) {
        *found = true;
        snprintf(out, n, "%s", l.names[best]);
    }
    partialListFree(&l);
    return ok;
}

/* Delete the streamed partials of segment holding fewer than keepBytes
 * (UINT32_MAX: all of them). Failures are only logged: a partial left
 * behind is never served while a longer one or the segment exists. */
static void removePartials(Repo *repo, const char *segment, uint32_t keepBytes) {
    PartialList l;
    LbError err = {0};
    if (!listPartials(repo, segment, &l, &err))
        lbLogWarn("unable to list the streamed partials of %s: %s", segment, err.msg);
    for (size_t i = 0; i < l.count; i++) {
        if (keepBytes != UINT32_MAX && l.bytes[i] >= keepBytes)
            continue;
        char obj[WAL_NAME_MAX + 8];
        snprintf(obj, sizeof(obj), WAL_DIR "/%s", l.names[i]);
        if (!storageRemove(repoStorage(repo), obj, &err))
            lbLogWarn("unable to remove superseded '%s': %s", obj, err.msg);
    }
    partialListFree(&l);
}

bool walstreamFetch(Repo *repo, const char *name, LbBuf *out, WalHeader *header, LbError *err) {
    WalName w;
    if (walFetch(repo, name, out, header, err))
        return true;
    if (err->code != LB_ERR_NOT_FOUND || !walNameParse(name, &w) || w.kind != WAL_FILE_SEGMENT)
        return false;
    LbError lerr = {0};
    char partial[WAL_NAME_MAX];
    bool found = false;
    if (!walstreamNewestPartial(repo, name, &found, partial, sizeof(partial), &lerr)) {
        *err = lerr;
        return false;
    }
    if (!found)
        return false; /* err still says: not in the repository */
    if (!walFetch(repo, partial, out, header, err))
        return false;
    lbLogInfo("%s is not in the repository: serving the streamed partial %s (%" PRIu32 " bytes of WAL) as %s", name,
              partial, walNameParse(partial, &w) ? w.streamedBytes : 0, name);
    return true;
}

/* ---- the spool ---- */

typedef struct SpoolFiles {
    char (*segments)[WAL_NAME_MAX];
    size_t segmentCount;
    char (*partials)[WAL_NAME_MAX];
    size_t partialCount;
} SpoolFiles;

static int cmpName(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

static void addName(char (**arr)[WAL_NAME_MAX], size_t *count, const char *name) {
    *arr = lbXrealloc(*arr, (*count + 1) * sizeof(**arr));
    snprintf((*arr)[(*count)++], WAL_NAME_MAX, "%.*s", WAL_NAME_MAX - 1, name);
}

/* Completed segments, history files and .partial files in recvDir, sorted. */
static bool scanSpool(const char *recvDir, SpoolFiles *f, LbError *err) {
    memset(f, 0, sizeof(*f));
    DIR *d = opendir(recvDir);
    if (d == NULL)
        return lbErrSys(err, "unable to read the spool '%s'", recvDir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        WalName w;
        if (!walNameParse(e->d_name, &w))
            continue;
        if (w.kind == WAL_FILE_SEGMENT || w.kind == WAL_FILE_HISTORY)
            addName(&f->segments, &f->segmentCount, e->d_name);
        else if (w.kind == WAL_FILE_PARTIAL && w.streamedBytes == 0)
            addName(&f->partials, &f->partialCount, e->d_name);
    }
    closedir(d);
    if (f->segmentCount)
        qsort(f->segments, f->segmentCount, WAL_NAME_MAX, cmpName);
    if (f->partialCount)
        qsort(f->partials, f->partialCount, WAL_NAME_MAX, cmpName);
    return true;
}

static void spoolFilesFree(SpoolFiles *f) {
    free(f->segments);
    free(f->partials);
}

static bool fsyncDir(const char *dir, LbError *err) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return lbErrSys(err, "unable to open '%s'", dir);
    bool ok = fsync(fd) == 0;
    if (!ok)
        lbErrSys(err, "unable to sync '%s'", dir);
    close(fd);
    return ok;
}

/* Store one completed file, then remove it (and its streamed partials). */
static bool uploadComplete(WalstreamSpool *s, const char *name, LbError *err) {
    char *path = lbXasprintf("%s/%s", s->recvDir, name);
    LbBuf data = {0};
    WalPushResult pr;
    bool ok = false;
    if (!walReadFile(path, &data, err))
        goto cleanup;
    if (!walPush(s->repo, name, data.data, data.len, &pr, err)) {
        if (err->code != LB_ERR_EXISTS)
            goto cleanup;
        /* archive_command stored other bytes under this name: keep those,
         * and this copy aside in the spool for a person to look at */
        char *aside = lbXasprintf("%s/%s.conflict", s->recvDir, name);
        lbLogWarn("%s; keeping the repository's copy, the streamed one is kept as '%s'", err->msg, aside);
        bool moved = rename(path, aside) == 0;
        if (!moved)
            lbErrSys(err, "unable to rename '%s'", path);
        free(aside);
        if (!moved)
            goto cleanup;
        ok = true;
        goto cleanup;
    }
    lbLogInfo("streamed %s %s", name, pr.outcome == WAL_PUSH_STORED ? "stored" : "was already stored");
    WalName w;
    if (walNameParse(name, &w) && w.kind == WAL_FILE_SEGMENT)
        removePartials(s->repo, name, UINT32_MAX);
    /* durable in the repository: only now may the spool forget it */
    if (unlink(path) != 0 && errno != ENOENT) {
        lbErrSys(err, "unable to remove '%s'", path);
        goto cleanup;
    }
    s->stats.segments++;
    snprintf(s->stats.lastSegment, sizeof(s->stats.lastSegment), "%s", name);
    ok = true;
cleanup:
    lbBufFree(&data);
    free(path);
    return ok;
}

/* Bytes of WAL in a zero-padded partial: up to its last non-zero byte,
 * rounded up to PostgreSQL's 8-byte alignment. */
static uint32_t walBytes(const uint8_t *data, size_t len) {
    size_t n = len;
    while (n > 0 && data[n - 1] == 0)
        n--;
    n = (n + 7) & ~(size_t)7;
    return n > len ? (uint32_t)len : (uint32_t)n;
}

/* Store the partial file (a .partial of recv/) when its content changed. */
static bool uploadPartial(WalstreamSpool *s, const char *file, bool force, LbError *err) {
    char *path = lbXasprintf("%s/%s", s->recvDir, file);
    LbBuf data = {0};
    bool ok = false;
    struct stat st;
    if (stat(path, &st) != 0) {
        ok = errno == ENOENT; /* completed (renamed) meanwhile: the next scan has it */
        if (!ok)
            lbErrSys(err, "unable to read '%s'", path);
        goto cleanup;
    }
    int64_t mtimeNs = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    bool sameFile = strcmp(s->partialFile, file) == 0;
    double now = lbMonotonicSeconds();
    ok = true;
    if (!force && sameFile && s->partialMtimeNs == mtimeNs && s->partialStored)
        goto cleanup; /* unchanged since it was stored */
    if (!force && now - s->lastPartialPut < WALSTREAM_PARTIAL_INTERVAL)
        goto cleanup; /* debounce: store it again in a moment */
    ok = false;
    if (!walReadFile(path, &data, err))
        goto cleanup;
    uint32_t bytes = walBytes(data.data, data.len);
    LbId sha;
    cryptoSha256(data.data, data.len, &sha);
    snprintf(s->partialFile, sizeof(s->partialFile), "%s", file);
    s->partialMtimeNs = mtimeNs;
    ok = true;
    if (sameFile && s->partialStored && bytes == s->partialBytes && lbIdEqual(&sha, &s->partialSha))
        goto cleanup;
    s->partialBytes = bytes;
    s->partialSha = sha;
    s->partialStored = false;
    WalName w;
    WalSegmentInfo si;
    LbError lerr = {0};
    if (bytes < WAL_LONG_HEADER_SIZE || !walNameParse(file, &w) ||
        !walSegmentCheck(&w, data.data, data.len, &si, &lerr))
        goto cleanup; /* nothing usable received yet */
    ok = false;
    char name[WAL_NAME_MAX];
    WalPushResult pr;
    walstreamPartialName(file, bytes, name, sizeof(name));
    s->lastPartialPut = now;
    struct stat after;
    if (!force && (stat(path, &after) != 0 || after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
                   after.st_mtim.tv_nsec != st.st_mtim.tv_nsec)) {
        ok = true; /* written to while read: again at the next tick */
        s->partialMtimeNs = 0;
        goto cleanup;
    }
    if (!walPushStreamedPartial(s->repo, name, data.data, data.len, &pr, err))
        goto cleanup;
    s->partialStored = true;
    removePartials(s->repo, file, bytes);
    s->stats.partials++;
    snprintf(s->stats.lastPartial, sizeof(s->stats.lastPartial), "%s", name);
    lbLogDebug("streamed partial %s stored", name);
    ok = true;
cleanup:
    lbBufFree(&data);
    free(path);
    return ok;
}

bool walstreamSpoolUpload(WalstreamSpool *s, bool force, bool final, LbError *err) {
    SpoolFiles f;
    bool ok = false, removed = false;
    if (!scanSpool(s->recvDir, &f, err))
        return false;
    for (size_t i = 0; i < f.segmentCount; i++) {
        if (!uploadComplete(s, f.segments[i], err))
            goto cleanup;
        removed = true;
    }
    /* pg_receivewal writes one partial at a time: the newest; older ones
     * are left over from a stream that stopped mid-segment */
    for (size_t i = 0; i < f.partialCount; i++) {
        bool newest = i + 1 == f.partialCount;
        if (!newest && !final)
            continue;
        if (!uploadPartial(s, f.partials[i], force || !newest, err))
            goto cleanup;
        if (final) {
            /* a partial whose segment is complete in the repository is done */
            WalHeader h;
            bool exists = false;
            char seg[WAL_NAME_MAX];
            snprintf(seg, sizeof(seg), "%.24s", f.partials[i]);
            if (!walReadHeader(s->repo, seg, &exists, &h, err))
                goto cleanup;
            if (exists) {
                char *path = lbXasprintf("%s/%s", s->recvDir, f.partials[i]);
                if (unlink(path) == 0)
                    removed = true;
                free(path);
            }
        }
    }
    if (removed && !fsyncDir(s->recvDir, err))
        goto cleanup;
    ok = true;
cleanup:
    spoolFilesFree(&f);
    return ok;
}
