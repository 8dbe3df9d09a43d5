/*
 * s3_cred.h - credentials and region from StorageS3Options: the access key pair, else a profile of the shared
 * credentials and config files (INI); secrets wiped when freed.
 *
 * Part of the S3 driver; only its files include this (through s3_internal.h).
 */
#ifndef LIFEBOAT_STORAGE_S3_S3_CRED_H
#define LIFEBOAT_STORAGE_S3_S3_CRED_H

#include "storage/s3/s3_internal.h"

void s3Wipe(char *s);

void s3FreeSecret(char *s);

const char *s3OptString(const char *s);

/* Fill c's credentials and region from opts. Fails with LB_ERR_AUTH when no
 * access key / secret key pair can be found; a half pair is an error too
 * (silently mixing sources would sign with a wrong key). */
bool s3LoadCredentials(S3Client *c, const StorageS3Options *opts, LbError *err);

#endif
