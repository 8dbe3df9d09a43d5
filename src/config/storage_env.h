/*
 * storage_env.h - the storage settings the environment gives (StorageOptions).
 *
 * The one place that reads the storage-related environment variables, so
 * that nothing under src/storage/ does; the command line then overrides
 * what it has flags for (src/cmd/cli.c). Variables read:
 *
 *   credentials  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 *                AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE,
 *                HOME (for ~/.aws/credentials and ~/.aws/config)
 *   region       LIFEBOAT_S3_REGION, else AWS_REGION, else AWS_DEFAULT_REGION
 *   S3           LIFEBOAT_S3_PATH_STYLE=1, LIFEBOAT_S3_SSE,
 *                LIFEBOAT_S3_SSE_KMS_KEY_ID, LIFEBOAT_S3_STORAGE_CLASS,
 *                LIFEBOAT_S3_CA_BUNDLE, LIFEBOAT_S3_INSECURE_TLS=1,
 *                LIFEBOAT_S3_MULTIPART_THRESHOLD, LIFEBOAT_S3_PART_SIZE (bytes,
 *                or with a K/M/G suffix meaning KiB/MiB/GiB),
 *                LIFEBOAT_S3_PART_THREADS (1..16)
 *   retries      LIFEBOAT_RETRY_ATTEMPTS (1..100), LIFEBOAT_RETRY_BASE_MS,
 *                LIFEBOAT_RETRY_MAX_MS; a malformed value is ignored with a
 *                warning (the default applies)
 *
 * An empty variable counts as unset. Flags ("1", "true", "yes") are true,
 * anything else false.
 */
#ifndef LIFEBOAT_CONFIG_STORAGE_ENV_H
#define LIFEBOAT_CONFIG_STORAGE_ENV_H

#include <stdbool.h>

#include "common/error.h"
#include "storage/options.h"

/* Fill *out (zeroed first) from the environment. The strings point into the
 * environment: they stay valid while it is not changed. Fails with
 * LB_ERR_ARGS naming the variable on a malformed size or thread count (the
 * retry variables only warn). Secrets are never part of a message. */
bool cfgStorageOptionsFromEnv(StorageOptions *out, LbError *err);

/* AWS_REGION, else AWS_DEFAULT_REGION, else NULL. */
const char *cfgAwsRegionFromEnv(void);

#endif
