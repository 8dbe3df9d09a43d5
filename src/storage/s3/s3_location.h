/*
 * s3_location.h - locations and keys: parse "s3:..." into endpoint, bucket and prefix; object keys under the prefix.
 *
 * Part of the S3 driver; only its files include this (through s3_internal.h).
 */
#ifndef LIFEBOAT_STORAGE_S3_S3_LOCATION_H
#define LIFEBOAT_STORAGE_S3_S3_LOCATION_H

#include "storage/s3/s3_internal.h"

/* The full key of name under the client's prefix; the caller frees it. */
char *s3Key(const S3Client *c, const char *name);

bool s3HostIsIp(const char *host);

/* Parse "s3:https://HOST[:PORT]/BUCKET[/PREFIX]" or "s3:BUCKET[/PREFIX]" into
 * c (scheme, host, hostPort, bucket, prefix). Fails with LB_ERR_ARGS. */
bool s3ParseLocation(S3Client *c, const char *location, LbError *err);

#endif
