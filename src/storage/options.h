/*
 * options.h - the settings of one repository location, given to storageOpen.
 *
 * Every repository a process opens (the main one, copy's --from-repo, the
 * configuration file's repositories) carries its own StorageOptions, so two
 * repositories in one process can differ in endpoint, region, credentials,
 * server-side encryption and storage class. Nothing under src/storage/ reads
 * the environment: the caller (the option model in src/config/) fills this
 * struct from flags, the environment and the configuration file.
 *
 * Ownership: every string is borrowed for the duration of storageOpen and
 * copied by the driver that needs it. Zero/NULL fields take the defaults
 * noted. The secret fields are never logged or put into an error message.
 */
#ifndef LIFEBOAT_STORAGE_OPTIONS_H
#define LIFEBOAT_STORAGE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct StorageS3Options {
    bool pathStyle;              /* force path-style addressing */
    const char *region;          /* signing region; default: the profile's, else us-east-1 */
    const char *sse;             /* x-amz-server-side-encryption: "AES256" or "aws:kms" */
    const char *sseKmsKeyId;     /* x-amz-server-side-encryption-aws-kms-key-id */
    const char *storageClass;    /* x-amz-storage-class, e.g. "STANDARD_IA" */
    const char *caBundle;        /* PEM file of trusted CAs */
    bool insecureTls;            /* do not verify the server's certificate (test rigs only) */
    uint64_t multipartThreshold; /* objects larger than this use multipart upload; default 64 MiB */
    uint64_t partSize;           /* multipart part size, at least 5 MiB; default 16 MiB */
    int partThreads;             /* parts uploaded at once; default 4 */
    /* Credentials, tried in this order: the access key pair (with an
     * optional session token); else profile (default "default") from
     * credentialsFile and configFile (defaults $HOME/.aws/credentials and
     * $HOME/.aws/config, with home given below). */
    const char *accessKeyId;     /* secret-adjacent: never logged */
    const char *secretAccessKey; /* secret */
    const char *sessionToken;    /* secret */
    const char *profile;
    const char *credentialsFile;
    const char *configFile;
    const char *home; /* for the default credential file paths; NULL: none */
    int testFailPart; /* tests only: send this part number with a wrong payload hash, so the
                       * server refuses it and the multipart abort path runs */
} StorageS3Options;

typedef struct StorageRetryOptions {
    int maxAttempts;      /* attempts in all, the first included; 0: default 6 */
    unsigned baseDelayMs; /* the first wait, doubling; 0: default 250 */
    unsigned maxDelayMs;  /* cap on one wait; 0: default 10000 */
} StorageRetryOptions;

typedef struct StorageOptions {
    StorageS3Options s3;
    StorageRetryOptions retry;
} StorageOptions;

#endif
