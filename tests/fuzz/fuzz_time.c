/*
 * fuzz_time.c - the time parser (lbParseTime: RFC 3339 and the shorter
 * forms of --time and snapshot records).
 *
 * Input: the text. A time that parses and lies in years 1678..2261 (what
 * an int64 of nanoseconds holds) must format (lbFormatTimeNs) to text
 * that parses to the same instant.
 */
#include <stdlib.h>

#include "common/timeutil.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzzCString(data, size);
    int64_t ns, again;
    if (lbParseTime(text, &ns) && ns > -9214560000000000000 && ns < 9214560000000000000) {
        char out[64];
        lbFormatTimeNs(ns, out, sizeof(out));
        if (!lbParseTime(out, &again) || again != ns)
            abort();
    }
    free(text);
    return 0;
}
