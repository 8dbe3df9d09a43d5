/*
 * fuzz_sigv4.c - the parsing inside SigV4 signing: the query string
 * (split, percent-decoded, re-encoded, sorted), the path (normalized for
 * generic services, as sent for S3) and header values (trimmed, runs of
 * spaces collapsed).
 *
 * Input: NUL-separated fields: method, path, query, then header name and
 * value pairs (at most 8). Signed with both option sets; the canonical
 * request must have at least its six lines, and sigv4Sign must agree with
 * the steps done one by one.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "storage/s3/sigv4.h"

#define MAX_FIELDS 19

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *parts[MAX_FIELDS];
    size_t lens[MAX_FIELDS];
    size_t n = fuzzSplit(data, size, parts, lens, MAX_FIELDS);
    if (n < 3)
        return 0;
    char *fields[MAX_FIELDS];
    for (size_t i = 0; i < n; i++)
        fields[i] = fuzzCString(parts[i], lens[i]);
    SigV4Header headers[8];
    size_t headerCount = 0;
    for (size_t i = 3; i + 1 < n && headerCount < 8; i += 2)
        headers[headerCount++] = (SigV4Header){.name = fields[i], .value = fields[i + 1]};
    SigV4Request req = {.method = fields[0],
                        .path = fields[1],
                        .query = fields[2],
                        .headers = headers,
                        .headerCount = headerCount,
                        .payloadHash = SIGV4_UNSIGNED_PAYLOAD};
    const SigV4Options options[2] = {SIGV4_OPTIONS_S3, SIGV4_OPTIONS_GENERIC};
    const SigV4Scope scope = {.amzDate = "20261203T070000Z", .region = "us-east-1", .service = "s3"};
    for (int o = 0; o < 2; o++) {
        char *signedHeaders = NULL;
        char *creq = sigv4CanonicalRequest(&req, &options[o], &signedHeaders);
        size_t lines = 1;
        for (const char *p = creq; *p; p++)
            lines += *p == '\n';
        /* method, URI, query, header lines and a blank one, signed headers, hash */
        if (lines < 6)
            abort();
        char *sts = sigv4StringToSign(&scope, creq);
        uint8_t key[32];
        char sig[65];
        sigv4SigningKey("secret", &scope, key);
        sigv4Signature(key, sts, sig);
        char *auth = sigv4Sign(&req, &options[o], &scope, "AKIDEXAMPLE", "secret");
        if (strstr(auth, sig) == NULL)
            abort();
        free(auth);
        free(sts);
        free(creq);
        free(signedHeaders);
    }
    for (size_t i = 0; i < n; i++)
        free(fields[i]);
    return 0;
}
