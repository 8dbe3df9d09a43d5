/* jsonutil.c - small jansson helpers. */
#include "common/jsonutil.h"

json_t *lbJsonStrings(char *const *items, size_t count) {
    json_t *a = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}
