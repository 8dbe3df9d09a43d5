/*
 * sigv4.c - AWS Signature Version 4, pure (see sigv4.h).
 *
 * Follows the AWS General Reference "Create a signed AWS API request" and
 * the S3 API Reference "Signature Calculations for the Authorization Header",
 * checked by the official SigV4 test suite and the S3 documentation's worked
 * examples (tests/unit/storage/test_sigv4.c).
 */
#include "storage/s3/sigv4.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/id.h"

/***********************************************************************************************************************
 * Encoding helpers
 **********************************************************************************************************************/

static bool sigv4Unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

void sigv4UriEncodeAppend(LbBuf *out, const char *s, size_t len, bool keepSlash) {
    static const char hex[] = "0123456789ABCDEF";
    lbBufReserve(out, len + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (sigv4Unreserved(c) || (keepSlash && c == '/')) {
            lbBufAppend(out, &c, 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 0xf]};
            lbBufAppend(out, esc, 3);
        }
    }
}

/* NUL-terminate b and hand its data to the caller as a string. */
static char *sigv4BufString(LbBuf *b) {
    lbBufAppend(b, "", 1);
    size_t len;
    return (char *)lbBufTake(b, &len);
}

char *sigv4UriEncode(const char *s, bool keepSlash) {
    LbBuf b = {0};
    sigv4UriEncodeAppend(&b, s, strlen(s), keepSlash);
    return sigv4BufString(&b);
}

void sigv4Sha256Hex(const void *data, size_t len, char hex[65]) {
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdLen = 0;
    if (EVP_Digest(data, len, md, &mdLen, EVP_sha256(), NULL) != 1 || mdLen != 32)
        abort(); /* only fails when OpenSSL itself is broken */
    lbHexEncode(md, 32, hex);
}

void sigv4Md5Base64(const void *data, size_t len, char out[25]) {
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdLen = 0;
    if (EVP_Digest(data, len, md, &mdLen, EVP_md5(), NULL) != 1 || mdLen != 16)
        abort();
    EVP_EncodeBlock((unsigned char *)out, md, 16);
}

static void sigv4Hmac(const void *key, size_t keyLen, const void *data, size_t len, uint8_t out[32]) {
    unsigned int outLen = 0;
    if (HMAC(EVP_sha256(), key, (int)keyLen, data, len, out, &outLen) == NULL || outLen != 32)
        abort();
}

/***********************************************************************************************************************
 * Canonical URI
 **********************************************************************************************************************/

/* Remove empty, "." and ".." segments (RFC 3986 section 5.2.4, plus
 * collapsing "//"); the result starts with '/' and keeps a trailing '/' when
 * the path ended in one (or in "/." or "/.."). The caller frees it. */
static char *sigv4NormalizePath(const char *path) {
    size_t len = strlen(path);
    /* segment start offsets into path, as a stack */
    size_t *starts = lbXmalloc((len + 1) * sizeof(size_t));
    size_t *lens = lbXmalloc((len + 1) * sizeof(size_t));
    size_t depth = 0;
    bool trailing = false;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        size_t segLen = j - i;
        const char *seg = path + i;
        bool last = j >= len;
        if (segLen == 0 || (segLen == 1 && seg[0] == '.')) {
            if (last)
                trailing = true;
        } else if (segLen == 2 && seg[0] == '.' && seg[1] == '.') {
            if (depth > 0)
                depth--;
            if (last)
                trailing = true;
        } else {
            starts[depth] = i;
            lens[depth] = segLen;
            depth++;
        }
        i = j + 1;
    }
    LbBuf out = {0};
    for (size_t d = 0; d < depth; d++) {
        lbBufAppend(&out, "/", 1);
        lbBufAppend(&out, path + starts[d], lens[d]);
    }
    if (depth == 0 || trailing)
        lbBufAppend(&out, "/", 1);
    free(starts);
    free(lens);
    return sigv4BufString(&out);
}

static void sigv4CanonicalUri(LbBuf *out, const char *path, const SigV4Options *opt) {
    if (path == NULL || path[0] == '\0')
        path = "/";
    char *normalized = opt->normalizePath ? sigv4NormalizePath(path) : NULL;
    const char *p = normalized ? normalized : path;
    if (opt->encodePath)
        sigv4UriEncodeAppend(out, p, strlen(p), true);
    else
        lbBufAppend(out, p, strlen(p));
    free(normalized);
}

/***********************************************************************************************************************
 * Canonical query string
 **********************************************************************************************************************/

typedef struct SigV4Param {
    char *name;  /* encoded */
    char *value; /* encoded */
} SigV4Param;

static int sigv4ParamCompare(const void *a, const void *b) {
    const SigV4Param *pa = a, *pb = b;
    int c = strcmp(pa->name, pb->name);
    return c != 0 ? c : strcmp(pa->value, pb->value);
}

/* Decode then encode s[0..len): the same canonical form whether the caller
 * passed raw or percent-encoded text. */
static char *sigv4Reencode(const char *s, size_t len) {
    LbBuf raw = {0};
    lbPercentDecodeAppend(&raw, s, len); /* '+' is not a space in SigV4 */
    LbBuf enc = {0};
    sigv4UriEncodeAppend(&enc, (const char *)raw.data, raw.len, false);
    lbBufFree(&raw);
    return sigv4BufString(&enc);
}

static void sigv4CanonicalQuery(LbBuf *out, const char *query) {
    if (query == NULL || query[0] == '\0')
        return;
    size_t count = 1;
    for (const char *q = query; *q; q++)
        if (*q == '&')
            count++;
    SigV4Param *params = lbXcalloc(count, sizeof(*params));
    size_t n = 0;
    const char *p = query;
    for (;;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t nameLen = eq ? (size_t)(eq - p) : len;
            params[n].name = sigv4Reencode(p, nameLen);
            params[n].value = eq ? sigv4Reencode(eq + 1, len - nameLen - 1) : lbXstrdup("");
            n++;
        }
        if (amp == NULL)
            break;
        p = amp + 1;
    }
    qsort(params, n, sizeof(*params), sigv4ParamCompare);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            lbBufAppend(out, "&", 1);
        lbBufAppendStr(out, params[i].name);
        lbBufAppend(out, "=", 1);
        lbBufAppendStr(out, params[i].value);
        free(params[i].name);
        free(params[i].value);
    }
    free(params);
}

/***********************************************************************************************************************
 * Canonical headers
 **********************************************************************************************************************/

typedef struct SigV4CanonHeader {
    char *name;  /* lowercase */
    LbBuf value; /* trimmed, spaces collapsed, repeated headers joined by ',' (not NUL-terminated) */
    size_t order;
} SigV4CanonHeader;

static int sigv4HeaderCompare(const void *a, const void *b) {
    const SigV4CanonHeader *ha = a, *hb = b;
    int c = strcmp(ha->name, hb->name);
    if (c != 0)
        return c;
    return ha->order < hb->order ? -1 : ha->order > hb->order;
}

static bool sigv4Space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Append value trimmed, with every run of whitespace turned into one space. */
static void sigv4AppendTrimmed(LbBuf *out, const char *value) {
    const char *s = value;
    const char *e = value + strlen(value);
    while (s < e && sigv4Space(*s))
        s++;
    while (e > s && sigv4Space(e[-1]))
        e--;
    bool inSpace = false;
    for (const char *p = s; p < e; p++) {
        if (sigv4Space(*p)) {
            if (!inSpace)
                lbBufAppend(out, " ", 1);
            inSpace = true;
        } else {
            lbBufAppend(out, p, 1);
            inSpace = false;
        }
    }
}

char *sigv4CanonicalRequest(const SigV4Request *req, const SigV4Options *opt, char **signedHeaders) {
    LbBuf out = {0};
    lbBufAppendStr(&out, req->method);
    lbBufAppend(&out, "\n", 1);
    sigv4CanonicalUri(&out, req->path, opt);
    lbBufAppend(&out, "\n", 1);
    sigv4CanonicalQuery(&out, req->query);
    lbBufAppend(&out, "\n", 1);

    /* Sort by name (stable in the given order), then merge repeated names. */
    SigV4CanonHeader *hs = lbXcalloc(req->headerCount ? req->headerCount : 1, sizeof(*hs));
    for (size_t i = 0; i < req->headerCount; i++) {
        hs[i].name = lbXstrdup(req->headers[i].name);
        for (char *c = hs[i].name; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        sigv4AppendTrimmed(&hs[i].value, req->headers[i].value ? req->headers[i].value : "");
        hs[i].order = i;
    }
    qsort(hs, req->headerCount, sizeof(*hs), sigv4HeaderCompare);

    LbBuf names = {0};
    for (size_t i = 0; i < req->headerCount;) {
        size_t j = i + 1;
        lbBufAppendStr(&out, hs[i].name);
        lbBufAppend(&out, ":", 1);
        lbBufAppend(&out, hs[i].value.data, hs[i].value.len);
        while (j < req->headerCount && strcmp(hs[j].name, hs[i].name) == 0) {
            lbBufAppend(&out, ",", 1);
            lbBufAppend(&out, hs[j].value.data, hs[j].value.len);
            j++;
        }
        lbBufAppend(&out, "\n", 1);
        if (names.len > 0)
            lbBufAppend(&names, ";", 1);
        lbBufAppendStr(&names, hs[i].name);
        i = j;
    }
    for (size_t i = 0; i < req->headerCount; i++) {
        free(hs[i].name);
        lbBufFree(&hs[i].value);
    }
    free(hs);

    lbBufAppend(&out, "\n", 1);
    lbBufAppend(&out, names.data, names.len);
    lbBufAppend(&out, "\n", 1);
    lbBufAppendStr(&out, req->payloadHash ? req->payloadHash : SIGV4_EMPTY_SHA256);
    if (signedHeaders != NULL)
        *signedHeaders = sigv4BufString(&names);
    else
        lbBufFree(&names);
    return sigv4BufString(&out);
}

/***********************************************************************************************************************
 * String to sign, key, signature
 **********************************************************************************************************************/

/* "<date>/<region>/<service>/aws4_request" appended to out. */
static void sigv4AppendScope(LbBuf *out, const SigV4Scope *scope) {
    lbBufAppend(out, scope->amzDate, strnlen(scope->amzDate, 8));
    lbBufAppend(out, "/", 1);
    lbBufAppendStr(out, scope->region);
    lbBufAppend(out, "/", 1);
    lbBufAppendStr(out, scope->service);
    lbBufAppendStr(out, "/aws4_request");
}

char *sigv4StringToSign(const SigV4Scope *scope, const char *canonicalRequest) {
    LbBuf out = {0};
    lbBufAppendStr(&out, SIGV4_ALGORITHM "\n");
    lbBufAppendStr(&out, scope->amzDate);
    lbBufAppend(&out, "\n", 1);
    sigv4AppendScope(&out, scope);
    lbBufAppend(&out, "\n", 1);
    char hex[65];
    sigv4Sha256Hex(canonicalRequest, strlen(canonicalRequest), hex);
    lbBufAppend(&out, hex, 64);
    return sigv4BufString(&out);
}

void sigv4SigningKey(const char *secretKey, const SigV4Scope *scope, uint8_t key[32]) {
    size_t secretLen = strlen(secretKey);
    uint8_t *first = lbXmalloc(secretLen + 4);
    memcpy(first, "AWS4", 4);
    memcpy(first + 4, secretKey, secretLen);
    uint8_t k[32];
    sigv4Hmac(first, secretLen + 4, scope->amzDate, strnlen(scope->amzDate, 8), k);
    OPENSSL_cleanse(first, secretLen + 4);
    free(first);
    sigv4Hmac(k, 32, scope->region, strlen(scope->region), k);
    sigv4Hmac(k, 32, scope->service, strlen(scope->service), k);
    sigv4Hmac(k, 32, "aws4_request", 12, key);
    OPENSSL_cleanse(k, sizeof(k));
}

void sigv4Signature(const uint8_t key[32], const char *stringToSign, char hex[65]) {
    uint8_t mac[32];
    sigv4Hmac(key, 32, stringToSign, strlen(stringToSign), mac);
    lbHexEncode(mac, 32, hex);
}

char *sigv4Authorization(const char *accessKey, const SigV4Scope *scope, const char *signedHeaders,
                         const char *signatureHex) {
    LbBuf out = {0};
    lbBufAppendStr(&out, SIGV4_ALGORITHM " Credential=");
    lbBufAppendStr(&out, accessKey);
    lbBufAppend(&out, "/", 1);
    sigv4AppendScope(&out, scope);
    lbBufAppendStr(&out, ", SignedHeaders=");
    lbBufAppendStr(&out, signedHeaders);
    lbBufAppendStr(&out, ", Signature=");
    lbBufAppendStr(&out, signatureHex);
    return sigv4BufString(&out);
}

char *sigv4Sign(const SigV4Request *req, const SigV4Options *opt, const SigV4Scope *scope, const char *accessKey,
                const char *secretKey) {
    char *signedHeaders = NULL;
    char *creq = sigv4CanonicalRequest(req, opt, &signedHeaders);
    char *sts = sigv4StringToSign(scope, creq);
    uint8_t key[32];
    sigv4SigningKey(secretKey, scope, key);
    char sig[65];
    sigv4Signature(key, sts, sig);
    OPENSSL_cleanse(key, sizeof(key));
    char *authz = sigv4Authorization(accessKey, scope, signedHeaders, sig);
    free(creq);
    free(sts);
    free(signedHeaders);
    return authz;
}

void sigv4FormatAmzDate(int64_t t, char out[SIGV4_AMZ_DATE_SIZE]) {
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, SIGV4_AMZ_DATE_SIZE, "%Y%m%dT%H%M%SZ", &tm);
}
