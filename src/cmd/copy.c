/* copy.c - `lifeboat copy --from-repo SRC [SNAPSHOT...]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "maint/copy.h"

int cmdCopy(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    SnapshotFilter f = cliFilter(cfg);
    LbError err = {0};
    Repo *src = NULL, *dst = NULL;
    RepoLock *srcLock = NULL, *dstLock = NULL;
    LbId *ids = NULL;
    int rc = 1;
    double start = lbMonotonicSeconds();
    src = cliOpenSourceRepo(cfg, &err);
    if (src == NULL)
        goto fail;
    dst = cliOpenRepo(&g, &err);
    if (dst == NULL)
        goto fail;
    if (strcmp(repoIdHex(src), repoIdHex(dst)) == 0) {
        lbErr(&err, LB_ERR_ARGS, "source and target are the same repository");
        goto fail;
    }
    srcLock = repoLockAcquire(src, false, &err);
    if (srcLock == NULL)
        goto fail;
    dstLock = repoLockAcquire(dst, false, &err);
    if (dstLock == NULL || !repoLoadIndex(src, &err) || !repoLoadIndex(dst, &err))
        goto fail;
    if (args.count) {
        ids = lbXcalloc(args.count, sizeof(LbId));
        for (size_t i = 0; i < args.count; i++) {
            Snapshot s;
            if (!snapshotFind(src, args.positional[i], &f, &s, &err))
                goto fail;
            ids[i] = s.id;
            snapshotClear(&s);
        }
    }
    CopyResult r;
    if (!copyRun(src, dst, &f, ids, args.count, &r, &err))
        goto fail;
    double secs = lbMonotonicSeconds() - start;
    if (g.json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("copy"));
        json_object_set_new(j, "snapshots_copied", json_integer((json_int_t)r.snapshotsCopied));
        json_object_set_new(j, "snapshots_skipped", json_integer((json_int_t)r.snapshotsSkipped));
        json_object_set_new(j, "blobs_new", json_integer((json_int_t)r.blobsNew));
        json_object_set_new(j, "bytes_stored", json_integer((json_int_t)r.bytesStored));
        json_object_set_new(j, "bytes_read", json_integer((json_int_t)r.bytesRead));
        json_object_set_new(j, "rechunked", json_boolean(r.rechunked));
        json_object_set_new(j, "total_duration", json_real(secs));
        cliPrintJson(j);
    } else if (!g.quiet) {
        char stored[32], rd[32];
        cliFormatBytes((double)r.bytesStored, stored, sizeof(stored));
        cliFormatBytes((double)r.bytesRead, rd, sizeof(rd));
        printf("copied %llu snapshot(s), skipped %llu already there; %llu new blobs, %s stored, %s read%s\n",
               (unsigned long long)r.snapshotsCopied, (unsigned long long)r.snapshotsSkipped,
               (unsigned long long)r.blobsNew, stored, rd,
               r.rechunked ? " (chunked again: the repositories' chunker parameters differ)" : "");
    }
    rc = 0;
    goto done;
fail:
    rc = cliFail(&err);
done:
    free(ids);
    repoLockRelease(dstLock);
    repoLockRelease(srcLock);
    repoFree(dst);
    repoFree(src);
    return rc;
}
