/*
 * buf.h - growable byte buffer.
 *
 * An LbBuf owns its data; lbBufFree releases it (safe on a zeroed buffer).
 * Allocation failure aborts the process (lbXmalloc): a backup tool that runs
 * out of memory cannot continue safely, and every caller would do the same.
 */
#ifndef LIFEBOAT_COMMON_BUF_H
#define LIFEBOAT_COMMON_BUF_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct LbBuf {
    uint8_t *data;
    size_t len;
    size_t cap;
} LbBuf;

void *lbXmalloc(size_t n);
void *lbXcalloc(size_t n, size_t size);
void *lbXrealloc(void *p, size_t n);
char *lbXstrdup(const char *s);
char *lbXasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* lbXasprintf with a va_list (ap is consumed). */
char *lbXvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

void lbBufReserve(LbBuf *b, size_t extra);
void lbBufAppend(LbBuf *b, const void *data, size_t len);
void lbBufAppendStr(LbBuf *b, const char *s);
/* Append printf-formatted text. */
void lbBufPrintf(LbBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lbBufClear(LbBuf *b);
void lbBufFree(LbBuf *b);
/* Hand the data to the caller (who must free() it) and reset the buffer. */
uint8_t *lbBufTake(LbBuf *b, size_t *len);

/* Copy s into out (size n, always terminated) with control characters
 * (below 0x20, and 0x7f) shown as \xHH, so a hostile name cannot drive a
 * terminal; UTF-8 passes as is.
 * Returns out. */
char *lbPrintable(const char *s, char *out, size_t n);
/* lbPrintable into a new string of whatever length it takes (caller frees). */
char *lbPrintableDup(const char *s);

/* Parse a byte size: "123", "1.5G", "64K", "16MiB", "8MB" (K, M, G, T are
 * binary units; a fraction is allowed with a unit). False on anything else,
 * a negative value or an overflow. */
bool lbParseSize(const char *s, uint64_t *out);

/* Little-endian fixed-width helpers used by the binary formats. */
static inline void lbPutU32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t lbGetU32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline void lbPutU64(uint8_t *p, uint64_t v) {
    lbPutU32(p, (uint32_t)v);
    lbPutU32(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t lbGetU64(const uint8_t *p) {
    return (uint64_t)lbGetU32(p) | ((uint64_t)lbGetU32(p + 4) << 32);
}

#endif
