/* copy.c - `lifeboat copy --from-repo SRC [SNAPSHOT...]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "config/storage_env.h"
#include "maint/copy.h"

enum {
    C_FROM_REPO = 1,
    C_FROM_FILE,
    C_FROM_CMD,
    C_HOST,
    C_TAG,
    C_COMPONENT,
    C_FROM_STORAGE = 100 /* + CliStorageFlag */
};

static const CliOption copyOptions[] = {
    {"from-repo", 0, true, C_FROM_REPO},
    {"from-password-file", 0, true, C_FROM_FILE},
    {"from-password-command", 0, true, C_FROM_CMD},
    /* the source repository's storage settings, as the global --s3-* flags */
    {"from-s3-path-style", 0, false, C_FROM_STORAGE + CLI_S3_PATH_STYLE},
    {"from-s3-region", 0, true, C_FROM_STORAGE + CLI_S3_REGION},
    {"from-s3-sse", 0, true, C_FROM_STORAGE + CLI_S3_SSE},
    {"from-s3-sse-kms-key-id", 0, true, C_FROM_STORAGE + CLI_S3_SSE_KMS},
    {"from-s3-storage-class", 0, true, C_FROM_STORAGE + CLI_S3_STORAGE_CLASS},
    {"from-cacert", 0, true, C_FROM_STORAGE + CLI_CACERT},
    {"from-insecure-tls", 0, false, C_FROM_STORAGE + CLI_INSECURE_TLS},
    {"from-s3-profile", 0, true, C_FROM_STORAGE + CLI_S3_PROFILE},
    {"from-s3-credentials-file", 0, true, C_FROM_STORAGE + CLI_S3_CREDENTIALS_FILE},
    {"from-s3-config-file", 0, true, C_FROM_STORAGE + CLI_S3_CONFIG_FILE},
    {"host", 'H', true, C_HOST},
    {"tag", 0, true, C_TAG},
    {"component", 0, true, C_COMPONENT},
    {NULL, 0, false, 0},
};

typedef struct CopyCli {
    const char *from, *fromFile, *fromCmd;
    StorageOptions fromStorage; /* the environment's, then the --from-* storage flags */
    SnapshotFilter f;
    const char **tags;
} CopyCli;

static bool onOption(void *ctx, int id, const char *v, LbError *err) {
    CopyCli *o = ctx;
    switch (id) {
    case C_FROM_REPO:
        o->from = v;
        return true;
    case C_FROM_FILE:
        o->fromFile = v;
        return true;
    case C_FROM_CMD:
        o->fromCmd = v;
        return true;
    case C_HOST:
        o->f.host = v;
        return true;
    case C_TAG:
        o->tags = lbXrealloc(o->tags, (o->f.tagCount + 1) * sizeof(char *));
        o->tags[o->f.tagCount++] = v;
        o->f.tags = o->tags;
        return true;
    case C_COMPONENT:
        o->f.component = v;
        return true;
    default:
        if (id > C_FROM_STORAGE && id <= C_FROM_STORAGE + CLI_S3_CONFIG_FILE) {
            cliStorageFlagApply(&o->fromStorage, (CliStorageFlag)(id - C_FROM_STORAGE), v);
            return true;
        }
    }
    return lbErr(err, LB_ERR_ARGS, "unhandled option");
}

int cmdCopy(int argc, char **argv) {
    GlobalOpts g = {0};
    CopyCli o = {0};
    CliArgs args;
    LbError err = {0};
    Repo *src = NULL, *dst = NULL;
    RepoLock *srcLock = NULL, *dstLock = NULL;
    LbId *ids = NULL;
    int rc = 1;
    double start = lbMonotonicSeconds();
    if (!cfgStorageOptionsFromEnv(&o.fromStorage, &err) ||
        !cliParse(argc, argv, copyOptions, onOption, &o, &g, &args, &err))
        goto fail;
    src = cliOpenSourceRepo(o.from, &o.fromStorage, o.fromFile, o.fromCmd, &err);
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
            if (!snapshotFind(src, args.positional[i], &o.f, &s, &err))
                goto fail;
            ids[i] = s.id;
            snapshotClear(&s);
        }
    }
    CopyResult r;
    if (!copyRun(src, dst, &o.f, ids, args.count, &r, &err))
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
    free(o.tags);
    repoLockRelease(dstLock);
    repoLockRelease(srcLock);
    repoFree(dst);
    repoFree(src);
    cliArgsFree(&args);
    return rc;
}
