/*
 * jsonutil.h - small jansson helpers shared by the modules that write JSON.
 */
#ifndef LIFEBOAT_COMMON_JSONUTIL_H
#define LIFEBOAT_COMMON_JSONUTIL_H

#include <jansson.h>
#include <stddef.h>

/* A new JSON array of the count strings (new reference; the strings are copied). */
json_t *lbJsonStrings(char *const *items, size_t count);

/* A copy of s (NULL: NULL) that is valid UTF-8: every byte that does not
 * start a well-formed sequence becomes U+FFFD. jansson refuses strings
 * that are not UTF-8 (json_string returns NULL), so text from outside
 * (error messages quoting file names, command output) goes through this
 * before it becomes JSON. Caller frees. */
char *lbUtf8Lossy(const char *s);

/* json_string of lbUtf8Lossy(s): never NULL for a non-NULL s (new
 * reference); json_null() for NULL. */
json_t *lbJsonStringLossy(const char *s);

#endif
