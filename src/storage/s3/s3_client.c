/* s3_client.c - the S3Client: s3ClientNew (location, credentials, options, curl share) and s3ClientFree, and its
 * getters. */
#include "storage/s3/s3_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"

/***********************************************************************************************************************
 * Client
 **********************************************************************************************************************/

void s3ClientFree(S3Client *c) {
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->poolCount; i++)
        curl_easy_cleanup(c->pool[i]);
    if (c->share != NULL)
        curl_share_cleanup(c->share);
    pthread_mutex_destroy(&c->poolLock);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->shareLocks[i]);
    free(c->location);
    free(c->scheme);
    free(c->host);
    free(c->hostPort);
    free(c->bucket);
    free(c->prefix);
    free(c->region);
    free(c->baseUrl);
    free(c->endpoint);
    free(c->hostHeader);
    free(c->basePath);
    free(c->accessKey);
    s3FreeSecret(c->secretKey);
    s3FreeSecret(c->sessionToken);
    free(c->credSource);
    free(c->sse);
    free(c->sseKmsKeyId);
    free(c->storageClass);
    free(c->caBundle);
    free(c);
}

const char *s3ClientBaseUrl(const S3Client *c) {
    return c->baseUrl;
}

const char *s3ClientRegion(const S3Client *c) {
    return c->region;
}

const char *s3ClientEndpoint(const S3Client *c) {
    return c->endpoint;
}

const char *s3ClientBucket(const S3Client *c) {
    return c->bucket;
}

const char *s3ClientPrefix(const S3Client *c) {
    return c->prefix;
}

static char *s3OptDup(const char *s) {
    return s3OptString(s) ? lbXstrdup(s) : NULL;
}

S3Client *s3ClientNew(const char *location, const StorageS3Options *opts, LbError *err) {
    StorageS3Options defaults = {0};
    if (opts == NULL)
        opts = &defaults;
    CURLcode init = s3CurlGlobalInit();
    if (init != CURLE_OK) {
        lbErr(err, LB_ERR_IO, "unable to open repository '%s': libcurl initialization failed: %s", location,
              curl_easy_strerror(init));
        return NULL;
    }
    S3Client *c = lbXcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->poolLock, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->shareLocks[i], NULL);
    c->location = lbXstrdup(location);
    if (!s3ParseLocation(c, location, err) || !s3LoadCredentials(c, opts, err))
        goto fail;
    if (c->host == NULL) {
        /* s3:BUCKET[/PREFIX]: AWS itself */
        c->host = lbXasprintf("s3.%s.amazonaws.com", c->region);
        c->hostPort = lbXstrdup(c->host);
    }
    c->pathStyle = opts->pathStyle || s3HostIsIp(c->host) || strchr(c->bucket, '.') != NULL;
    if (c->pathStyle) {
        c->hostHeader = lbXstrdup(c->hostPort);
        char *encBucket = sigv4UriEncode(c->bucket, false);
        c->basePath = lbXasprintf("/%s", encBucket);
        free(encBucket);
    } else {
        c->hostHeader = lbXasprintf("%s.%s", c->bucket, c->hostPort);
        c->basePath = lbXstrdup("");
    }
    c->baseUrl = lbXasprintf("%s://%s%s", c->scheme, c->hostHeader, c->basePath);
    c->endpoint = lbXasprintf("%s://%s", c->scheme, c->hostPort);

    if (opts->sse != NULL && opts->sse[0] != '\0' && strcmp(opts->sse, "AES256") != 0 &&
        strcmp(opts->sse, "aws:kms") != 0 && strcmp(opts->sse, "aws:kms:dsse") != 0) {
        lbErr(err, LB_ERR_ARGS, "invalid server-side encryption '%s': use AES256 or aws:kms", opts->sse);
        goto fail;
    }
    if (opts->sseKmsKeyId != NULL && opts->sseKmsKeyId[0] != '\0' &&
        (opts->sse == NULL || strncmp(opts->sse, "aws:kms", 7) != 0)) {
        lbErr(err, LB_ERR_ARGS, "a KMS key id needs server-side encryption aws:kms");
        goto fail;
    }
    c->sse = s3OptDup(opts->sse);
    c->sseKmsKeyId = s3OptDup(opts->sseKmsKeyId);
    c->storageClass = s3OptDup(opts->storageClass);
    c->caBundle = s3OptDup(opts->caBundle);
    c->insecureTls = opts->insecureTls;
    c->multipartThreshold = opts->multipartThreshold ? opts->multipartThreshold : S3_DEFAULT_THRESHOLD;
    c->partSize = opts->partSize ? opts->partSize : S3_DEFAULT_PART_SIZE;
    if (c->partSize < S3_MIN_PART_SIZE) {
        lbErr(err, LB_ERR_ARGS, "invalid part size %llu: S3 needs parts of at least 5 MiB",
              (unsigned long long)c->partSize);
        goto fail;
    }
    if (c->multipartThreshold < S3_MIN_PART_SIZE)
        c->multipartThreshold = S3_MIN_PART_SIZE;
    c->partThreads = opts->partThreads > 0 ? opts->partThreads : S3_DEFAULT_PART_THREADS;
    c->testFailPart = opts->testFailPart;
    if (c->partThreads > S3_MAX_PART_THREADS)
        c->partThreads = S3_MAX_PART_THREADS;
    if (c->insecureTls && strcmp(c->scheme, "https") == 0)
        lbLogWarn("TLS certificate verification is off for %s (--insecure-tls): use it for test rigs only",
                  c->hostPort);

    if (!s3ShareSetUp(c)) {
        lbErr(err, LB_ERR_MEMORY, "unable to open repository '%s': out of memory", location);
        goto fail;
    }
    return c;

fail:
    s3ClientFree(c);
    return NULL;
}
