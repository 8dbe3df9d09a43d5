/*
 * id.h - 32-byte identifiers (blob IDs, object names) and hex conversion.
 */
#ifndef LIFEBOAT_COMMON_ID_H
#define LIFEBOAT_COMMON_ID_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/buf.h"

#define LB_ID_LEN 32
#define LB_ID_HEX_LEN 64

typedef struct LbId {
    uint8_t b[LB_ID_LEN];
} LbId;

/* Writes 64 hex characters and a NUL into out (65 bytes). */
void lbIdToHex(const LbId *id, char out[LB_ID_HEX_LEN + 1]);
/* Parses exactly 64 hex characters; false on anything else. */
bool lbIdFromHex(const char *hex, LbId *id);
void lbHexEncode(const uint8_t *data, size_t len, char *out);
bool lbHexDecode(const char *hex, size_t hexLen, uint8_t *out);
/* The value of one hex digit (either case), or -1. */
int lbHexValue(char c);
/* Append the percent-decoding of s[0..len) to out: "%XX" becomes the byte,
 * anything else (a '%' not followed by two hex digits too) is kept as is;
 * '+' stays '+'. */
void lbPercentDecodeAppend(LbBuf *out, const char *s, size_t len);

static inline bool lbIdEqual(const LbId *a, const LbId *b) {
    return memcmp(a->b, b->b, LB_ID_LEN) == 0;
}
static inline int lbIdCompare(const LbId *a, const LbId *b) {
    return memcmp(a->b, b->b, LB_ID_LEN);
}
static inline bool lbIdIsZero(const LbId *a) {
    for (int i = 0; i < LB_ID_LEN; i++)
        if (a->b[i])
            return false;
    return true;
}

#endif
