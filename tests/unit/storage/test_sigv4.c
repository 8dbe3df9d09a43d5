/*
 * test_sigv4.c - the SigV4 signer against the published vectors.
 *
 * Sources (see ../shared/vectors/PROVENANCE.md; found through
 * $LIFEBOAT_VECTORS, else LB_SOURCE_ROOT/../shared/vectors):
 *   - sigv4/aws-sig-v4-test-suite/: the official AWS Signature Version 4 test
 *     suite (2015 edition, docs.aws.amazon.com/general/latest/gr/
 *     signature-v4-test-suite.html). Every folder holding a <case>.req is one
 *     test: the request is parsed, signed with AKIDEXAMPLE /
 *     wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, service "service",
 *     20150830T123600Z, and the canonical request, string to sign and
 *     Authorization value must equal .creq, .sts and .authz byte for byte.
 *     Upstream erratum: in post-x-www-form-urlencoded(-parameters) the .sts was
 *     not made from the .creq (PROVENANCE.md 1a), so for those two only the
 *     .creq and the .sts -> signature step are compared.
 *   - sigv4/aws-c-auth-v4/: the newer suite from awslabs/aws-c-auth, header
 *     signing only (context.json gives credentials, session token, normalize;
 *     the signer adds X-Amz-Date and X-Amz-Security-Token as aws-c-auth does).
 *     The query-string (presigned) variants are not used: lifeboat does not
 *     presign.
 *   - sigv4/s3-docs-examples.json: the S3 API Reference's worked examples,
 *     signed in S3 mode (key URI-encoded once, no normalization, no double
 *     encoding). The presigned and chunked examples are skipped likewise.
 *     The documentation prints the Authorization value without spaces after
 *     the commas (aws-c-auth's test_chunked_signing.c notes it); those are
 *     compared with the spaces dropped.
 * A vector folder that cannot be found fails the test: the signer must not
 * pass by testing nothing.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "storage/s3/sigv4.h"

#define TEST_AK "AKIDEXAMPLE"
#define TEST_SK "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TEST_DATE "20150830T123600Z"

/***********************************************************************************************************************
 * Helpers
 **********************************************************************************************************************/

static const char *vectorsDir(void) {
    const char *env = getenv("LIFEBOAT_VECTORS");
    return env != NULL && env[0] != '\0' ? env : LB_SOURCE_ROOT "/../shared/vectors";
}

/* Whole file as a NUL-terminated string, or NULL when it cannot be read. */
static char *readFile(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    LbBuf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        lbBufAppend(&b, chunk, n);
    fclose(f);
    lbBufAppend(&b, "", 1);
    size_t len;
    return (char *)lbBufTake(&b, &len);
}

static char *readFileOrFail(const char *dir, const char *name, const char *suffix) {
    char *path = lbXasprintf("%s/%s%s", dir, name, suffix);
    char *text = readFile(path);
    if (text == NULL)
        fail_msg("cannot read '%s'", path);
    free(path);
    return text;
}

/* Drop one trailing "\n" (some expected files end with one, others not). */
static void chompNewline(char *s) {
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        s[--len] = '\0';
}

/* A parsed HTTP request from a vector file. */
typedef struct TestRequest {
    char *method;
    char *path;
    char *query;
    SigV4Header headers[64];
    size_t headerCount;
    char *body;
    size_t bodyLen;
} TestRequest;

static void testRequestFree(TestRequest *r) {
    free(r->method);
    free(r->path);
    free(r->query);
    for (size_t i = 0; i < r->headerCount; i++) {
        free((char *)r->headers[i].name);
        free((char *)r->headers[i].value);
    }
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static char *dupRange(const char *s, size_t len) {
    char *out = lbXmalloc(len + 1);
    memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

/* Parse "METHOD URI HTTP/1.1\nName:value\n ...\n\nbody". A line starting
 * with whitespace continues the previous header. The two AWS suites read the
 * same get-header-value-multiline request differently: the 2015 suite takes
 * each continuation line as one more value of the header (joined by ','),
 * aws-c-auth as an obsolete line fold (joined by a space): foldWithSpace
 * picks the latter. Headers named in skip (case-insensitive) are dropped. */
static void parseRequest(const char *text, TestRequest *r, const char *skip, bool foldWithSpace) {
    memset(r, 0, sizeof(*r));
    const char *eol = strchr(text, '\n');
    size_t lineLen = eol ? (size_t)(eol - text) : strlen(text);
    if (lineLen > 0 && text[lineLen - 1] == '\r')
        lineLen--;
    const char *sp = memchr(text, ' ', lineLen);
    assert_non_null(sp);
    r->method = dupRange(text, (size_t)(sp - text));
    const char *uri = sp + 1;
    const char *end = text + lineLen;
    /* the URI may hold spaces: it ends at the last " HTTP/" */
    for (const char *p = end - 1; p > uri; p--) {
        if (*p == ' ' && strncmp(p, " HTTP/", 6) == 0) {
            end = p;
            break;
        }
    }
    const char *q = memchr(uri, '?', (size_t)(end - uri));
    if (q != NULL) {
        r->path = dupRange(uri, (size_t)(q - uri));
        r->query = dupRange(q + 1, (size_t)(end - q - 1));
    } else {
        r->path = dupRange(uri, (size_t)(end - uri));
    }

    const char *line = eol ? eol + 1 : text + strlen(text);
    const char *lastName = NULL;
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (len == 0) {
            const char *body = nl ? nl + 1 : line + strlen(line);
            r->bodyLen = strlen(body);
            r->body = dupRange(body, r->bodyLen);
            return;
        }
        assert_true(r->headerCount < sizeof(r->headers) / sizeof(r->headers[0]));
        if ((line[0] == ' ' || line[0] == '\t') && lastName != NULL && foldWithSpace) {
            SigV4Header *prev = &r->headers[r->headerCount - 1];
            char *cont = dupRange(line, len);
            char *joined = lbXasprintf("%s %s", prev->value, cont);
            free(cont);
            free((char *)prev->value);
            prev->value = joined;
        } else if ((line[0] == ' ' || line[0] == '\t') && lastName != NULL) {
            r->headers[r->headerCount].name = lbXstrdup(lastName);
            r->headers[r->headerCount].value = dupRange(line, len);
            r->headerCount++;
        } else {
            const char *colon = memchr(line, ':', len);
            assert_non_null(colon);
            char *name = dupRange(line, (size_t)(colon - line));
            if (skip != NULL && strcasecmp(name, skip) == 0) {
                free(name);
                lastName = NULL;
            } else {
                r->headers[r->headerCount].name = name;
                r->headers[r->headerCount].value = dupRange(colon + 1, len - (size_t)(colon + 1 - line));
                lastName = name;
                r->headerCount++;
            }
        }
        line = nl ? nl + 1 : line + len;
    }
}

static void addHeader(TestRequest *r, const char *name, const char *value) {
    assert_true(r->headerCount < sizeof(r->headers) / sizeof(r->headers[0]));
    r->headers[r->headerCount].name = lbXstrdup(name);
    r->headers[r->headerCount].value = lbXstrdup(value);
    r->headerCount++;
}

/* The signature part of an Authorization value ("...Signature=<hex>"). */
static const char *signatureOf(const char *authz) {
    const char *s = strstr(authz, "Signature=");
    assert_non_null(s);
    return s + 10;
}

/* Remove the spaces after commas (the S3 documentation prints the
 * Authorization value without them; S3 accepts both). The caller frees. */
static char *dropCommaSpaces(const char *s) {
    char *out = lbXstrdup(s);
    char *w = out;
    for (const char *p = s; *p; p++) {
        *w++ = *p;
        if (*p == ',')
            while (p[1] == ' ')
                p++;
    }
    *w = '\0';
    return out;
}

/* Sign r and compare each step with the expected texts (NULL: not checked).
 * checkChain=false skips creq -> sts (the upstream erratum cases). */
static void signAndCompare(const TestRequest *r, const SigV4Options *opt, const SigV4Scope *scope, const char *ak,
                           const char *sk, const char *payloadHash, const char *expCreq, const char *expSts,
                           const char *expAuthz, bool checkChain, bool compactAuthz) {
    SigV4Request req = {.method = r->method,
                        .path = r->path,
                        .query = r->query,
                        .headers = r->headers,
                        .headerCount = r->headerCount,
                        .payloadHash = payloadHash};
    char *signedHeaders = NULL;
    char *creq = sigv4CanonicalRequest(&req, opt, &signedHeaders);
    if (expCreq != NULL)
        assert_string_equal(creq, expCreq);
    char *sts = sigv4StringToSign(scope, creq);
    if (expSts != NULL && checkChain)
        assert_string_equal(sts, expSts);

    uint8_t key[32];
    sigv4SigningKey(sk, scope, key);
    char sig[65];
    sigv4Signature(key, checkChain || expSts == NULL ? sts : expSts, sig);
    if (expAuthz != NULL) {
        if (checkChain) {
            char *authz = sigv4Authorization(ak, scope, signedHeaders, sig);
            /* the one-call form gives the same */
            char *again = sigv4Sign(&req, opt, scope, ak, sk);
            assert_string_equal(again, authz);
            if (compactAuthz) {
                char *compact = dropCommaSpaces(authz);
                assert_string_equal(compact, expAuthz);
                free(compact);
            } else {
                assert_string_equal(authz, expAuthz);
            }
            free(again);
            free(authz);
        } else {
            assert_string_equal(sig, signatureOf(expAuthz));
        }
    }
    free(creq);
    free(sts);
    free(signedHeaders);
}

/***********************************************************************************************************************
 * Test-case discovery
 **********************************************************************************************************************/

typedef struct TestCase {
    char *dir;  /* folder of the case */
    char *name; /* case name (folder base name) */
    char *label;
} TestCase;

typedef struct TestCases {
    TestCase *items;
    size_t count, cap;
} TestCases;

static void casesAdd(TestCases *c, const char *dir, const char *name, const char *label) {
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->items = lbXrealloc(c->items, c->cap * sizeof(*c->items));
    }
    c->items[c->count++] = (TestCase){lbXstrdup(dir), lbXstrdup(name), lbXstrdup(label)};
}

static int compareCases(const void *a, const void *b) {
    return strcmp(((const TestCase *)a)->label, ((const TestCase *)b)->label);
}

/* Every folder below dir holding "<folder>.req" (the official suite nests
 * normalize-path/ and post-sts-token/ one level deeper). */
static void findSuiteCases(TestCases *c, const char *dir, const char *rel) {
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *sub = lbXasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            char *subRel = rel[0] ? lbXasprintf("%s/%s", rel, de->d_name) : lbXstrdup(de->d_name);
            char *req = lbXasprintf("%s/%s.req", sub, de->d_name);
            if (access(req, R_OK) == 0)
                casesAdd(c, sub, de->d_name, subRel);
            free(req);
            findSuiteCases(c, sub, subRel);
            free(subRel);
        }
        free(sub);
    }
    closedir(d);
}

/* Every folder directly below dir holding context.json. */
static void findCAuthCases(TestCases *c, const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char *sub = lbXasprintf("%s/%s", dir, de->d_name);
        char *ctx = lbXasprintf("%s/context.json", sub);
        if (access(ctx, R_OK) == 0)
            casesAdd(c, sub, de->d_name, de->d_name);
        free(ctx);
        free(sub);
    }
    closedir(d);
}

/***********************************************************************************************************************
 * The official suite
 **********************************************************************************************************************/

static void testSuiteCase(void **state) {
    const TestCase *tc = *state;
    char *reqText = readFileOrFail(tc->dir, tc->name, ".req");
    char *creq = readFileOrFail(tc->dir, tc->name, ".creq");
    char *sts = readFileOrFail(tc->dir, tc->name, ".sts");
    char *authz = readFileOrFail(tc->dir, tc->name, ".authz");
    chompNewline(creq);
    chompNewline(sts);
    chompNewline(authz);

    TestRequest r;
    parseRequest(reqText, &r, NULL, false);
    char payload[65];
    sigv4Sha256Hex(r.body ? r.body : "", r.bodyLen, payload);
    bool erratum = strcmp(tc->name, "post-x-www-form-urlencoded") == 0 ||
                   strcmp(tc->name, "post-x-www-form-urlencoded-parameters") == 0;
    SigV4Scope scope = {.amzDate = TEST_DATE, .region = "us-east-1", .service = "service"};
    SigV4Options opt = SIGV4_OPTIONS_GENERIC;
    if (erratum) {
        /* the .creq is still right; the .sts and .authz belong together */
        signAndCompare(&r, &opt, &scope, TEST_AK, TEST_SK, payload, creq, sts, authz, false, false);
    } else {
        signAndCompare(&r, &opt, &scope, TEST_AK, TEST_SK, payload, creq, sts, authz, true, false);
    }
    testRequestFree(&r);
    free(reqText);
    free(creq);
    free(sts);
    free(authz);
}

/***********************************************************************************************************************
 * aws-c-auth suite (header signing)
 **********************************************************************************************************************/

static void testCAuthCase(void **state) {
    const TestCase *tc = *state;
    char *ctxText = readFileOrFail(tc->dir, "context.json", "");
    json_error_t jerr;
    json_t *ctx = json_loads(ctxText, 0, &jerr);
    if (ctx == NULL)
        fail_msg("%s/context.json: %s", tc->dir, jerr.text);
    json_t *creds = json_object_get(ctx, "credentials");
    const char *ak = json_string_value(json_object_get(creds, "access_key_id"));
    const char *sk = json_string_value(json_object_get(creds, "secret_access_key"));
    const char *token = json_string_value(json_object_get(creds, "token"));
    const char *region = json_string_value(json_object_get(ctx, "region"));
    const char *service = json_string_value(json_object_get(ctx, "service"));
    const char *timestamp = json_string_value(json_object_get(ctx, "timestamp"));
    bool normalize = json_is_true(json_object_get(ctx, "normalize"));
    bool omitToken = json_is_true(json_object_get(ctx, "omit_session_token"));
    bool signBody = json_is_true(json_object_get(ctx, "sign_body"));
    assert_non_null(ak);
    assert_non_null(sk);
    assert_non_null(region);
    assert_non_null(service);
    assert_non_null(timestamp);

    /* "2015-08-30T12:36:00Z" -> "20150830T123600Z" */
    char amzDate[SIGV4_AMZ_DATE_SIZE];
    size_t n = 0;
    for (const char *p = timestamp; *p && n < sizeof(amzDate) - 1; p++)
        if (*p != '-' && *p != ':')
            amzDate[n++] = *p;
    amzDate[n] = '\0';
    assert_int_equal(n, 16);

    char *reqText = readFileOrFail(tc->dir, "request.txt", "");
    char *creq = readFileOrFail(tc->dir, "header-canonical-request.txt", "");
    char *sts = readFileOrFail(tc->dir, "header-string-to-sign.txt", "");
    char *sig = readFileOrFail(tc->dir, "header-signature.txt", "");
    char *signedReq = readFileOrFail(tc->dir, "header-signed-request.txt", "");
    chompNewline(creq);
    chompNewline(sts);
    chompNewline(sig);

    TestRequest r;
    parseRequest(reqText, &r, NULL, true);
    addHeader(&r, "X-Amz-Date", amzDate);
    if (token != NULL && !omitToken)
        addHeader(&r, "X-Amz-Security-Token", token);
    char payload[65];
    sigv4Sha256Hex(r.body ? r.body : "", r.bodyLen, payload);
    if (signBody)
        addHeader(&r, "X-Amz-Content-Sha256", payload);

    /* the expected Authorization value is a line of the signed request */
    const char *authzLine = strstr(signedReq, "\nAuthorization:");
    assert_non_null(authzLine);
    authzLine += strlen("\nAuthorization:");
    const char *authzEnd = strchr(authzLine, '\n');
    char *authz = dupRange(authzLine, authzEnd ? (size_t)(authzEnd - authzLine) : strlen(authzLine));
    chompNewline(authz);
    assert_string_equal(signatureOf(authz), sig);

    SigV4Scope scope = {.amzDate = amzDate, .region = region, .service = service};
    SigV4Options opt = {.normalizePath = normalize, .encodePath = true};
    signAndCompare(&r, &opt, &scope, ak, sk, payload, creq, sts, authz, true, false);

    testRequestFree(&r);
    free(authz);
    free(reqText);
    free(creq);
    free(sts);
    free(sig);
    free(signedReq);
    free(ctxText);
    json_decref(ctx);
}

/***********************************************************************************************************************
 * S3 documentation examples (S3 mode)
 **********************************************************************************************************************/

static void testS3DocExamples(void **state) {
    (void)state;
    char *path = lbXasprintf("%s/sigv4/s3-docs-examples.json", vectorsDir());
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (root == NULL)
        fail_msg("cannot load '%s': %s", path, jerr.text);
    json_t *common = json_object_get(root, "common");
    const char *ak = json_string_value(json_object_get(common, "access_key_id"));
    const char *sk = json_string_value(json_object_get(common, "secret_access_key"));
    const char *amzDate = json_string_value(json_object_get(common, "timestamp"));
    SigV4Scope scope = {.amzDate = amzDate,
                        .region = json_string_value(json_object_get(common, "region")),
                        .service = json_string_value(json_object_get(common, "service"))};
    size_t checked = 0;
    size_t i;
    json_t *ex;
    json_array_foreach(json_object_get(root, "examples"), i, ex) {
        const char *id = json_string_value(json_object_get(ex, "id"));
        const char *authz = json_string_value(json_object_get(ex, "authorization"));
        /* presigned URLs and aws-chunked streaming are not used by lifeboat */
        if (authz == NULL || strcmp(id, "chunked-put-object") == 0)
            continue;
        TestRequest r;
        parseRequest(json_string_value(json_object_get(ex, "request")), &r, "Authorization", false);
        /* the example prints the key raw ("test$file.text", "" for the
         * bucket): the driver sends "/" + the key URI-encoded once */
        const char *key = r.path[0] == '/' ? r.path + 1 : r.path;
        char *enc = sigv4UriEncode(key, true);
        free(r.path);
        r.path = lbXasprintf("/%s", enc);
        free(enc);
        SigV4Options opt = SIGV4_OPTIONS_S3;
        signAndCompare(&r, &opt, &scope, ak, sk, json_string_value(json_object_get(ex, "payload_sha256")),
                       json_string_value(json_object_get(ex, "canonical_request")),
                       json_string_value(json_object_get(ex, "string_to_sign")), authz, true, true);
        testRequestFree(&r);
        checked++;
    }
    assert_int_equal(checked, 4);
    json_decref(root);
    free(path);
}

/***********************************************************************************************************************
 * Helpers of the signer
 **********************************************************************************************************************/

static void testUriEncode(void **state) {
    (void)state;
    char *s = sigv4UriEncode("AZaz09-._~ /+=&%$\xe1\x88\xb4", false);
    assert_string_equal(s, "AZaz09-._~%20%2F%2B%3D%26%25%24%E1%88%B4");
    free(s);
    s = sigv4UriEncode("data/ab/x y", true);
    assert_string_equal(s, "data/ab/x%20y");
    free(s);
    s = sigv4UriEncode("", true);
    assert_string_equal(s, "");
    free(s);
}

/* S3 mode keeps the path exactly; generic mode normalizes and encodes. */
static void testPathModes(void **state) {
    (void)state;
    SigV4Header h[] = {{"Host", "h"}};
    SigV4Request req = {.method = "GET",
                        .path = "/a//b/../c%2Fd",
                        .headers = h,
                        .headerCount = 1,
                        .payloadHash = SIGV4_UNSIGNED_PAYLOAD};
    SigV4Options s3 = SIGV4_OPTIONS_S3, generic = SIGV4_OPTIONS_GENERIC;
    char *creq = sigv4CanonicalRequest(&req, &s3, NULL);
    assert_string_equal(creq, "GET\n/a//b/../c%2Fd\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
    free(creq);
    creq = sigv4CanonicalRequest(&req, &generic, NULL);
    assert_string_equal(creq, "GET\n/a/c%252Fd\n\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
    free(creq);
    /* query: raw and encoded forms sign the same; sorted by name then value */
    req.path = "/";
    req.query = "b=2&a=x%2Fy&a=x/a&uploads";
    creq = sigv4CanonicalRequest(&req, &s3, NULL);
    assert_string_equal(creq, "GET\n/\na=x%2Fa&a=x%2Fy&b=2&uploads=\nhost:h\n\nhost\nUNSIGNED-PAYLOAD");
    free(creq);
}

/* The signing-key example of the AWS General Reference ("Examples of how to
 * derive a signing key for Signature Version 4"). */
static void testSigningKeyExample(void **state) {
    (void)state;
    SigV4Scope scope = {.amzDate = "20120215T000000Z", .region = "us-east-1", .service = "iam"};
    uint8_t key[32];
    sigv4SigningKey(TEST_SK, &scope, key);
    char hex[65];
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[key[i] >> 4];
        hex[2 * i + 1] = digits[key[i] & 0xf];
    }
    hex[64] = '\0';
    assert_string_equal(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

static void testAmzDateAndDigests(void **state) {
    (void)state;
    char d[SIGV4_AMZ_DATE_SIZE];
    sigv4FormatAmzDate(1440938160, d); /* 2015-08-30 12:36:00 UTC */
    assert_string_equal(d, TEST_DATE);
    char hex[65];
    sigv4Sha256Hex("", 0, hex);
    assert_string_equal(hex, SIGV4_EMPTY_SHA256);
    char md5[25];
    sigv4Md5Base64("", 0, md5);
    assert_string_equal(md5, "1B2M2Y8AsgTpgAmY7PhCfg==");
}

/***********************************************************************************************************************
 * Main
 **********************************************************************************************************************/

static void casesFree(TestCases *c) {
    for (size_t i = 0; i < c->count; i++) {
        free(c->items[i].dir);
        free(c->items[i].name);
        free(c->items[i].label);
    }
    free(c->items);
}

/* One cmocka test per case, named after the case. */
static int runCases(const char *group, TestCases *c, CMUnitTestFunction fn, size_t minimum) {
    if (c->count < minimum) {
        fprintf(stdout, "not ok - %s: found %zu cases under %s, expected at least %zu (set LIFEBOAT_VECTORS)\n", group,
                c->count, vectorsDir(), minimum);
        return 1;
    }
    qsort(c->items, c->count, sizeof(*c->items), compareCases);
    struct CMUnitTest *tests = lbXcalloc(c->count, sizeof(*tests));
    for (size_t i = 0; i < c->count; i++) {
        tests[i].name = c->items[i].label;
        tests[i].test_func = fn;
        tests[i].initial_state = &c->items[i];
    }
    int failed = _cmocka_run_group_tests(group, tests, c->count, NULL, NULL);
    free(tests);
    return failed;
}

int main(void) {
    int failed = 0;
    TestCases suite = {0}, cauth = {0};
    char *dir = lbXasprintf("%s/sigv4/aws-sig-v4-test-suite", vectorsDir());
    findSuiteCases(&suite, dir, "");
    free(dir);
    failed += runCases("sigv4-aws-test-suite", &suite, testSuiteCase, 31);
    dir = lbXasprintf("%s/sigv4/aws-c-auth-v4", vectorsDir());
    findCAuthCases(&cauth, dir);
    free(dir);
    failed += runCases("sigv4-aws-c-auth", &cauth, testCAuthCase, 38);
    casesFree(&suite);
    casesFree(&cauth);

    const struct CMUnitTest other[] = {
        cmocka_unit_test(testS3DocExamples),     cmocka_unit_test(testUriEncode),
        cmocka_unit_test(testPathModes),         cmocka_unit_test(testSigningKeyExample),
        cmocka_unit_test(testAmzDateAndDigests),
    };
    failed += cmocka_run_group_tests_name("sigv4", other, NULL, NULL);
    return failed;
}
