/*
 * fuzz_time.c - the time parser (lbParseTime: RFC 3339 and the shorter
 * forms of --time and snapshot records).
 *
 * Input: the text. A time that parses and lies in years 1679..2261 (what
 * an int64 of nanoseconds holds) must format (lbFormatTimeNs) to text
 * that parses to the same instant.
 */
#include <stdlib.h>

#include "common/timeutil.h"
#include "fuzz.h"

static int yearOf(const char *text) {
    return (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzzCString(data, size);
    int64_t ns, again;
    /* a time that parses starts with a 4-digit year; years outside
     * 1679..2261 overflow (tests/fuzz/known-bugs) and are not checked here */
    if (lbParseTime(text, &ns) && yearOf(text) > 1678 && yearOf(text) < 2262) {
        char out[64];
        lbFormatTimeNs(ns, out, sizeof(out));
        if (!lbParseTime(out, &again) || again != ns)
            abort();
    }
    free(text);
    return 0;
}
