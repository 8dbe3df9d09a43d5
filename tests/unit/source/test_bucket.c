/*
 * test_bucket.c - unit tests for the pure parts of src/source/bucket: the
 * mapping between object key segments and tree names (which the restore
 * target reverses, so it must be injective and exactly reversible) and the
 * mapping between object headers and xattr names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "snapshot/tree.h"
#include "source/bucket.h"

/* unescape name into a NUL-terminated string (caller frees) */
static char *unescape(const char *name) {
    LbBuf out = {0};
    bucketNameUnescape(name, &out);
    lbBufAppend(&out, "", 1);
    size_t len;
    return (char *)lbBufTake(&out, &len);
}

static void checkRoundTrip(const char *seg, const char *want) {
    char *esc = bucketNameEscape(seg, strlen(seg));
    if (want != NULL)
        assert_string_equal(esc, want);
    assert_true(treeNameIsSafe(esc));
    char *back = unescape(esc);
    assert_string_equal(back, seg);
    free(back);
    /* the same segment as a file next to a directory of that name: "name%" */
    char *marked = lbXasprintf("%s%%", esc);
    assert_true(treeNameIsSafe(marked));
    back = unescape(marked);
    assert_string_equal(back, seg);
    free(back);
    free(marked);
    free(esc);
}

static void testEscapeTable(void **state) {
    (void)state;
    checkRoundTrip("plain.txt", "plain.txt");
    checkRoundTrip("", "%");
    checkRoundTrip(".", "%2E");
    checkRoundTrip("..", "%2E%2E");
    checkRoundTrip("%", "%25");
    checkRoundTrip("100%.txt", "100%25.txt");
    checkRoundTrip("%2E", "%252E");
    checkRoundTrip("%2E%2E", "%252E%252E");
    checkRoundTrip("...", "...");
    checkRoundTrip(".hidden", ".hidden");
    checkRoundTrip("with space+plus", "with space+plus");
    checkRoundTrip("\xc3\xbc"
                   "n"
                   "\xc3\xaf"
                   "c"
                   "\xc3\xb8"
                   "d"
                   "\xc3\xa9",
                   NULL);
    checkRoundTrip("%%", "%25%25");
    checkRoundTrip("a%", "a%25");
}

static void testInjective(void **state) {
    (void)state;
    const char *segs[] = {"", ".", "..", "%", "%%", "%25", "%2E", "%2E%2E", "a", "a%", "a%25", "A", "...", "%2e"};
    size_t n = sizeof(segs) / sizeof(segs[0]);
    char *esc[sizeof(segs) / sizeof(segs[0]) * 2];
    for (size_t i = 0; i < n; i++) {
        esc[i] = bucketNameEscape(segs[i], strlen(segs[i]));
        esc[n + i] = lbXasprintf("%s%%", esc[i]); /* the marked forms must not collide either */
    }
    for (size_t i = 0; i < 2 * n; i++)
        for (size_t k = i + 1; k < 2 * n; k++)
            assert_string_not_equal(esc[i], esc[k]);
    for (size_t i = 0; i < 2 * n; i++)
        free(esc[i]);
}

static void testEscapedNeverEndsInLonePercent(void **state) {
    (void)state;
    /* the file mark relies on it: only "%" itself ends in a '%' not part of "%XX" */
    const char *segs[] = {"a%", "%", "x%y%", "%%%"};
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        char *esc = bucketNameEscape(segs[i], strlen(segs[i]));
        size_t len = strlen(esc);
        assert_true(len < 3 || esc[len - 3] == '%' || esc[len - 1] != '%');
        free(esc);
    }
    char *esc = bucketNameEscape("", 0);
    assert_string_equal(esc, "%");
    free(esc);
}

static void testUnescapeLenient(void **state) {
    (void)state;
    /* names no escaping produces (a damaged or foreign tree): kept as they are */
    char *s = unescape("50%zz");
    assert_string_equal(s, "50%zz");
    free(s);
    s = unescape("%4");
    assert_string_equal(s, "%4");
    free(s);
    s = unescape("%41%62");
    assert_string_equal(s, "Ab");
    free(s);
}

static void testHeaders(void **state) {
    (void)state;
    struct {
        const char *header, *xattr;
    } pairs[] = {
        {"content-type", "s3.content-type"},
        {"cache-control", "s3.cache-control"},
        {"content-disposition", "s3.content-disposition"},
        {"content-encoding", "s3.content-encoding"},
        {"content-language", "s3.content-language"},
        {"expires", "s3.expires"},
        {"x-amz-meta-owner", "s3.meta.owner"},
        {"x-amz-meta-mixed-case", "s3.meta.mixed-case"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char *x = bucketHeaderToXattr(pairs[i].header);
        assert_string_equal(x, pairs[i].xattr);
        char *h = bucketXattrToHeader(x);
        assert_non_null(h);
        assert_string_equal(h, pairs[i].header);
        free(x);
        free(h);
    }
    const char *notHeaders[] = {BUCKET_XATTR_ETAG,  "s3.meta.",
                                "s3.x-amz-meta-a",  "s3.content-length",
                                "s3.authorization", "user.s3.content-type",
                                "security.selinux", "s3."};
    for (size_t i = 0; i < sizeof(notHeaders) / sizeof(notHeaders[0]); i++)
        assert_null(bucketXattrToHeader(notHeaders[i]));
}

static void testIsLocation(void **state) {
    (void)state;
    assert_true(bucketSourceIsLocation("s3:https://host/bucket/prefix/"));
    assert_true(bucketSourceIsLocation("s3:bucket"));
    assert_false(bucketSourceIsLocation("/srv/s3:data"));
    assert_false(bucketSourceIsLocation("S3:bucket"));
    assert_false(bucketSourceIsLocation(NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testEscapeTable),
        cmocka_unit_test(testInjective),
        cmocka_unit_test(testEscapedNeverEndsInLonePercent),
        cmocka_unit_test(testUnescapeLenient),
        cmocka_unit_test(testHeaders),
        cmocka_unit_test(testIsLocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
