/* id.c - hex encoding of identifiers. */
#include "common/id.h"

static const char hexDigits[] = "0123456789abcdef";

void lbHexEncode(const uint8_t *data, size_t len, char *out) {
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hexDigits[data[i] >> 4];
        out[2 * i + 1] = hexDigits[data[i] & 15];
    }
    out[2 * len] = '\0';
}

int lbHexValue(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool lbHexDecode(const char *hex, size_t hexLen, uint8_t *out) {
    if (hexLen % 2)
        return false;
    for (size_t i = 0; i < hexLen / 2; i++) {
        int hi = lbHexValue(hex[2 * i]), lo = lbHexValue(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

void lbIdToHex(const LbId *id, char out[LB_ID_HEX_LEN + 1]) {
    lbHexEncode(id->b, LB_ID_LEN, out);
}

bool lbIdFromHex(const char *hex, LbId *id) {
    if (strlen(hex) != LB_ID_HEX_LEN)
        return false;
    return lbHexDecode(hex, LB_ID_HEX_LEN, id->b);
}

void lbPercentDecodeAppend(LbBuf *out, const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < len && (hi = lbHexValue(s[i + 1])) >= 0 && (lo = lbHexValue(s[i + 2])) >= 0) {
            uint8_t c = (uint8_t)(hi * 16 + lo);
            lbBufAppend(out, &c, 1);
            i += 2;
        } else {
            lbBufAppend(out, &s[i], 1);
        }
    }
}
