/* jsonutil.c - small jansson helpers. */
#include "common/jsonutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

json_t *lbJsonStrings(char *const *items, size_t count) {
    json_t *a = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF); 0 if none. */
static size_t utf8Len(const unsigned char *p) {
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

char *lbUtf8Lossy(const char *s) {
    if (s == NULL)
        return NULL;
    LbBuf b = {0};
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8Len(p);
        if (n == 0) {
            lbBufAppend(&b, "\xEF\xBF\xBD", 3);
            p++;
        } else {
            lbBufAppend(&b, p, n);
            p += n;
        }
    }
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

json_t *lbJsonStringLossy(const char *s) {
    if (s == NULL)
        return json_null();
    json_t *j = json_string(s);
    if (j == NULL) {
        char *ok = lbUtf8Lossy(s);
        j = json_string(ok);
        free(ok);
    }
    return j;
}
