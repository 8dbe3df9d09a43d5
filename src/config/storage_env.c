/* storage_env.c - StorageOptions from the environment (see storage_env.h). */
#include "config/storage_env.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/log.h"

#define CFG_S3_MAX_PART_THREADS 16
#define CFG_RETRY_MAX_ATTEMPTS 100

/* The variable's value, NULL when unset or empty. */
static const char *cfgEnvString(const char *name) {
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static bool cfgEnvFlag(const char *name) {
    const char *v = getenv(name);
    return v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

/* A number from min to max; -1 when unset, or malformed (with a warning
 * naming the variable: the wrapper's default applies, as it always did). */
static long cfgEnvRetryNumber(const char *name, long min, long max) {
    const char *v = cfgEnvString(name);
    if (v == NULL)
        return -1;
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < min || n > max) {
        lbLogWarn("ignoring %s='%s': not a number from %ld to %ld", name, v, min, max);
        return -1;
    }
    return n;
}

const char *cfgAwsRegionFromEnv(void) {
    const char *region = cfgEnvString("AWS_REGION");
    return region ? region : cfgEnvString("AWS_DEFAULT_REGION");
}

static bool cfgS3FromEnv(StorageS3Options *s3, LbError *err) {
    s3->pathStyle = cfgEnvFlag("LIFEBOAT_S3_PATH_STYLE");
    s3->insecureTls = cfgEnvFlag("LIFEBOAT_S3_INSECURE_TLS");
    s3->region = cfgEnvString("LIFEBOAT_S3_REGION");
    if (s3->region == NULL)
        s3->region = cfgAwsRegionFromEnv();
    s3->sse = cfgEnvString("LIFEBOAT_S3_SSE");
    s3->sseKmsKeyId = cfgEnvString("LIFEBOAT_S3_SSE_KMS_KEY_ID");
    s3->storageClass = cfgEnvString("LIFEBOAT_S3_STORAGE_CLASS");
    s3->caBundle = cfgEnvString("LIFEBOAT_S3_CA_BUNDLE");

    static const struct {
        const char *name;
        size_t offset;
    } sizes[] = {
        {"LIFEBOAT_S3_MULTIPART_THRESHOLD", offsetof(StorageS3Options, multipartThreshold)},
        {"LIFEBOAT_S3_PART_SIZE", offsetof(StorageS3Options, partSize)},
    };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        const char *v = cfgEnvString(sizes[i].name);
        if (v != NULL && !lbParseSize(v, (uint64_t *)((char *)s3 + sizes[i].offset)))
            return lbErr(err, LB_ERR_ARGS, "invalid %s '%s': a size in bytes, optionally with K, M or G", sizes[i].name,
                         v);
    }
    const char *threads = cfgEnvString("LIFEBOAT_S3_PART_THREADS");
    if (threads != NULL) {
        char *end = NULL;
        long n = strtol(threads, &end, 10);
        if (*end != '\0' || n < 1 || n > CFG_S3_MAX_PART_THREADS)
            return lbErr(err, LB_ERR_ARGS, "invalid LIFEBOAT_S3_PART_THREADS '%s': a number from 1 to %d", threads,
                         CFG_S3_MAX_PART_THREADS);
        s3->partThreads = (int)n;
    }

    s3->accessKeyId = cfgEnvString("AWS_ACCESS_KEY_ID");
    s3->secretAccessKey = cfgEnvString("AWS_SECRET_ACCESS_KEY");
    s3->sessionToken = cfgEnvString("AWS_SESSION_TOKEN");
    s3->profile = cfgEnvString("AWS_PROFILE");
    s3->credentialsFile = cfgEnvString("AWS_SHARED_CREDENTIALS_FILE");
    s3->configFile = cfgEnvString("AWS_CONFIG_FILE");
    s3->home = cfgEnvString("HOME");
    return true;
}

/* A wait in ms for StorageRetryOptions, where 0 means "the default": a
 * variable set to 0 (no wait, as it has always meant) becomes 1 ms. */
static unsigned cfgRetryMs(const char *name, long max) {
    long n = cfgEnvRetryNumber(name, 0, max);
    return n < 0 ? 0u : n == 0 ? 1u : (unsigned)n;
}

bool cfgStorageOptionsFromEnv(StorageOptions *out, LbError *err) {
    memset(out, 0, sizeof(*out));
    if (!cfgS3FromEnv(&out->s3, err))
        return false;
    long attempts = cfgEnvRetryNumber("LIFEBOAT_RETRY_ATTEMPTS", 1, CFG_RETRY_MAX_ATTEMPTS);
    out->retry.maxAttempts = attempts < 0 ? 0 : (int)attempts;
    out->retry.baseDelayMs = cfgRetryMs("LIFEBOAT_RETRY_BASE_MS", 600000);
    out->retry.maxDelayMs = cfgRetryMs("LIFEBOAT_RETRY_MAX_MS", 3600000);
    return true;
}
