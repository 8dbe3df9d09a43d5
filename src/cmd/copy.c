/* copy.c - `lifeboat copy --from-repo SRC [SNAPSHOT...]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "maint/copy.h"

static void copyPrintText(const CopyResult *r) {
    char stored[32], rd[32];
    cliFormatBytes((double)r->bytesStored, stored, sizeof(stored));
    cliFormatBytes((double)r->bytesRead, rd, sizeof(rd));
    printf("copied %llu snapshot(s), skipped %llu already there; %llu new blobs, %s stored, %s read%s\n",
           (unsigned long long)r->snapshotsCopied, (unsigned long long)r->snapshotsSkipped,
           (unsigned long long)r->blobsNew, stored, rd,
           r->rechunked ? " (chunked again: the repositories' chunker parameters differ)" : "");
    const CopyWalResult *w = &r->wal;
    if (w->segmentsCopied + w->segmentsSkipped + w->filesCopied + w->filesSkipped == 0)
        return;
    char wb[32];
    cliFormatBytes((double)w->bytesStored, wb, sizeof(wb));
    printf("WAL: copied %llu segment(s), skipped %llu already there; %llu history/backup file(s) copied, %llu "
           "skipped; %s stored\n",
           (unsigned long long)w->segmentsCopied, (unsigned long long)w->segmentsSkipped,
           (unsigned long long)w->filesCopied, (unsigned long long)w->filesSkipped, wb);
}

/* The named source snapshots (resolved against f) into ids. */
static bool findSnapshots(Repo *src, const CliArgs *args, const SnapshotFilter *f, LbId *ids, LbError *err) {
    for (size_t i = 0; i < args->count; i++) {
        Snapshot s;
        if (!snapshotFind(src, args->positional[i], f, &s, err))
            return false;
        ids[i] = s.id;
        snapshotClear(&s);
    }
    return true;
}

/* Lock both, load both indexes, copy. */
static bool copyDo(const CliArgs *args, const SnapshotFilter *f, CliRepo *src, CliRepo *dst, CopyResult *r,
                   LbError *err) {
    if (strcmp(repoIdHex(src->repo), repoIdHex(dst->repo)) == 0)
        return lbErr(err, LB_ERR_ARGS, "source and target are the same repository");
    if (!repoLockForReading(src->repo, false, cliNoLock(), &src->lock, err))
        return false;
    dst->lock = repoLockAcquire(dst->repo, false, err);
    if (dst->lock == NULL || !repoLoadIndex(src->repo, err) || !repoLoadIndex(dst->repo, err))
        return false;
    LbId *ids = lbXcalloc(args->count + 1, sizeof(LbId));
    bool ok = findSnapshots(src->repo, args, f, ids, err) &&
              copyRun(src->repo, dst->repo, f, args->count ? ids : NULL, args->count, r, err);
    free(ids);
    return ok;
}

int cmdCopy(const CfgValues *cfg) {
    CliVerb v = cliVerb(cfg);
    CliRepo src = {0}, dst = {0};
    CopyResult r;
    double start = lbMonotonicSeconds();
    src.repo = cliOpenSourceRepo(cfg, &v.err);
    bool ok = src.repo != NULL && cliRepoOpen(&v.g, CLI_LOCK_NONE, &dst, &v.err) &&
              copyDo(&v.args, &v.filter, &src, &dst, &r, &v.err);
    if (ok && v.g.json)
        cliPrintJson(copyResultJson(&r, lbMonotonicSeconds() - start));
    else if (ok && !v.g.quiet)
        copyPrintText(&r);
    cliRepoClose(&dst);
    cliRepoClose(&src);
    return cliExit(&v.g, ok, &v.err);
}
