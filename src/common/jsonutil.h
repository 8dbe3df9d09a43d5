/*
 * jsonutil.h - small jansson helpers shared by the modules that write JSON.
 */
#ifndef LIFEBOAT_COMMON_JSONUTIL_H
#define LIFEBOAT_COMMON_JSONUTIL_H

#include <jansson.h>
#include <stddef.h>

/* A new JSON array of the count strings (new reference; the strings are copied). */
json_t *lbJsonStrings(char *const *items, size_t count);

#endif
