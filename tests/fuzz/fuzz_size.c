/*
 * fuzz_size.c - the size parser (lbParseSize: "123", "1.5G", "16MiB").
 *
 * Input: the text. A size that parses fits in 64 bits by contract; one
 * without a unit or fraction is the number itself.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzzCString(data, size);
    uint64_t v;
    if (lbParseSize(text, &v) && strspn(text, "0123456789") == strlen(text) && strlen(text) <= 15 &&
        v != strtoull(text, NULL, 10))
        abort();
    free(text);
    return 0;
}
