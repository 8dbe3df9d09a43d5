/*
 * sigv4.h - AWS Signature Version 4 (header-based), as a pure function of
 * the request: canonical request, string to sign, signing key, signature and
 * Authorization header. No I/O, no clock, no global state, so every step is
 * checked against the published test vectors (tests/unit/storage/test_sigv4.c).
 *
 * Two flavours differ only in the canonical URI:
 *   - generic AWS services (the official test suite): the path is normalized
 *     (".", "..", "//" removed) and URI-encoded once more (so a path already
 *     percent-encoded on the wire ends up double-encoded);
 *   - S3: the path is used exactly as sent, which the caller has URI-encoded
 *     once (sigv4UriEncode with keepSlash), never normalized: an object key
 *     "a//b/../c" is a legal key of its own.
 *
 * Ownership: every char * returned is malloc'd and freed by the caller.
 * Allocation failure aborts (lbXmalloc). The secret key is only read; the
 * caller keeps and wipes it. Nothing here logs.
 */
#ifndef LIFEBOAT_STORAGE_S3_SIGV4_H
#define LIFEBOAT_STORAGE_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* Length of "YYYYMMDDTHHMMSSZ" plus the terminating NUL. */
#define SIGV4_AMZ_DATE_SIZE 17

typedef struct SigV4Header {
    const char *name;  /* any case; lowercased for signing */
    const char *value; /* trimmed and inner runs of spaces collapsed for signing */
} SigV4Header;

typedef struct SigV4Request {
    const char *method;         /* "GET", "PUT", ... */
    const char *path;           /* as sent on the wire, starting with '/' ("" is taken as "/") */
    const char *query;          /* without '?'; NULL or "" for none. Each name and value is
                                 * percent-decoded and re-encoded, then sorted. */
    const SigV4Header *headers; /* every header to sign, including host and
                                 * x-amz-date; repeated names are joined by ','
                                 * in the order given */
    size_t headerCount;
    const char *payloadHash; /* lowercase hex SHA-256 of the body, or UNSIGNED-PAYLOAD */
} SigV4Request;

typedef struct SigV4Options {
    bool normalizePath; /* remove "." / ".." segments and empty segments (not for S3) */
    bool encodePath;    /* URI-encode the path once more (not for S3) */
} SigV4Options;

/* Options for S3 requests and for the generic services of the AWS test suite. */
#define SIGV4_OPTIONS_S3 ((SigV4Options){.normalizePath = false, .encodePath = false})
#define SIGV4_OPTIONS_GENERIC ((SigV4Options){.normalizePath = true, .encodePath = true})

typedef struct SigV4Scope {
    const char *amzDate; /* "YYYYMMDDTHHMMSSZ" (UTC); its first 8 characters are the date */
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3" */
} SigV4Scope;

/* Append s to out, percent-encoding every byte except the unreserved
 * characters A-Z a-z 0-9 - . _ ~ (and '/' when keepSlash), with upper-case
 * hex digits, as SigV4 and S3 object keys require. */
void sigv4UriEncodeAppend(LbBuf *out, const char *s, size_t len, bool keepSlash);

/* The same into a new NUL-terminated string. */
char *sigv4UriEncode(const char *s, bool keepSlash);

/* The canonical request (six lines joined by '\n', no trailing newline). When
 * signedHeaders is not NULL it receives the ';'-joined lowercase header
 * names (malloc'd). */
char *sigv4CanonicalRequest(const SigV4Request *req, const SigV4Options *opt, char **signedHeaders);

/* "AWS4-HMAC-SHA256\n<amzDate>\n<date>/<region>/<service>/aws4_request\n<hex sha256 of creq>". */
char *sigv4StringToSign(const SigV4Scope *scope, const char *canonicalRequest);

/* The signing key HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").
 * The caller wipes key when done (it is as sensitive as the secret for a day). */
void sigv4SigningKey(const char *secretKey, const SigV4Scope *scope, uint8_t key[32]);

/* Lowercase hex HMAC-SHA-256 of stringToSign under key. */
void sigv4Signature(const uint8_t key[32], const char *stringToSign, char hex[65]);

/* "AWS4-HMAC-SHA256 Credential=<ak>/<scope>, SignedHeaders=<sh>, Signature=<sig>". */
char *sigv4Authorization(const char *accessKey, const SigV4Scope *scope, const char *signedHeaders,
                         const char *signatureHex);

/* All of the above: the Authorization header value for req. The intermediate
 * signing key is wiped before returning. */
char *sigv4Sign(const SigV4Request *req, const SigV4Options *opt, const SigV4Scope *scope, const char *accessKey,
                const char *secretKey);

/* Format t (seconds since the epoch) as "YYYYMMDDTHHMMSSZ" in UTC. */
void sigv4FormatAmzDate(int64_t t, char out[SIGV4_AMZ_DATE_SIZE]);

/* Lowercase hex SHA-256 of data. */
void sigv4Sha256Hex(const void *data, size_t len, char hex[65]);

/* Base64 of the MD5 of data (the Content-MD5 header value; 24 characters). */
void sigv4Md5Base64(const void *data, size_t len, char out[25]);

#endif
