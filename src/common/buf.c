/* buf.c - growable byte buffer and checked allocation. */
#include "common/buf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void outOfMemory(size_t n) {
    fprintf(stderr, "lifeboat: fatal: unable to allocate %zu bytes\n", n);
    abort();
}

void *lbXmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        outOfMemory(n);
    return p;
}

void *lbXcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        outOfMemory(n * size);
    return p;
}

void *lbXrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        outOfMemory(n);
    return q;
}

char *lbXstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = lbXmalloc(n);
    memcpy(p, s, n);
    return p;
}

char *lbXvasprintf(const char *fmt, va_list ap) {
    char small[256];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    if (n < 0)
        outOfMemory(0);
    char *p = lbXmalloc((size_t)n + 1);
    if ((size_t)n < sizeof(small))
        memcpy(p, small, (size_t)n + 1);
    else
        vsnprintf(p, (size_t)n + 1, fmt, again);
    va_end(again);
    return p;
}

char *lbXasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = lbXvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void lbBufReserve(LbBuf *b, size_t extra) {
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    b->data = lbXrealloc(b->data, cap);
    b->cap = cap;
}

void lbBufAppend(LbBuf *b, const void *data, size_t len) {
    if (len == 0)
        return;
    lbBufReserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void lbBufAppendStr(LbBuf *b, const char *s) {
    lbBufAppend(b, s, strlen(s));
}

void lbBufPrintf(LbBuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = lbXvasprintf(fmt, ap);
    va_end(ap);
    lbBufAppendStr(b, s);
    free(s);
}

void lbBufClear(LbBuf *b) {
    b->len = 0;
}

void lbBufFree(LbBuf *b) {
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

uint8_t *lbBufTake(LbBuf *b, size_t *len) {
    uint8_t *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

char *lbPrintable(const char *s, char *out, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (n == 0)
        return out;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && o + 5 < n; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o] = '\0';
    return out;
}

char *lbPrintableDup(const char *s) {
    size_t n = 4 * strlen(s ? s : "") + 6; /* each byte at most "\\xHH"; lbPrintable keeps 5 spare */
    return lbPrintable(s, lbXmalloc(n), n);
}

bool lbParseSize(const char *s, uint64_t *out) {
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    double x = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(x) || x < 0)
        return false;
    double mult = 1;
    switch (*end) {
    case 'k':
    case 'K':
        mult = 1024.0;
        break;
    case 'm':
    case 'M':
        mult = 1024.0 * 1024;
        break;
    case 'g':
    case 'G':
        mult = 1024.0 * 1024 * 1024;
        break;
    case 't':
    case 'T':
        mult = 1024.0 * 1024 * 1024 * 1024;
        break;
    }
    if (mult != 1)
        end++;
    if (end[0] == 'i' && end[1] == 'B')
        end += 2;
    else if (*end == 'B' || (*end == 'b' && mult != 1))
        end++;
    if (*end != '\0')
        return false;
    double v = x * mult;
    if (v >= 18446744073709551616.0)
        return false;
    *out = (uint64_t)v;
    return true;
}
