/* childenv.c - secrets out of a child's environment (see childenv.h). */
#include "common/childenv.h"

#include <unistd.h>

/* strncmp, strstr and friends are not on POSIX's async-signal-safe list:
 * plain loops over the name (up to '=') instead. */

/* Length of the name in "NAME=value". */
static size_t nameLen(const char *entry) {
    size_t n = 0;
    while (entry[n] != '\0' && entry[n] != '=')
        n++;
    return n;
}

static bool nameIs(const char *name, size_t len, const char *want) {
    size_t i = 0;
    for (; i < len && want[i] != '\0'; i++)
        if (name[i] != want[i])
            return false;
    return i == len && want[i] == '\0';
}

static bool startsWith(const char *name, size_t len, const char *prefix) {
    size_t i = 0;
    for (; prefix[i] != '\0'; i++)
        if (i >= len || name[i] != prefix[i])
            return false;
    return true;
}

static bool endsWith(const char *name, size_t len, const char *suffix) {
    size_t sl = 0;
    while (suffix[sl] != '\0')
        sl++;
    return sl <= len && nameIs(name + len - sl, sl, suffix);
}

static bool contains(const char *name, size_t len, const char *part) {
    for (size_t at = 0; at < len; at++)
        if (startsWith(name + at, len - at, part))
            return true;
    return false;
}

bool lbChildEnvIsSecret(const char *entry, unsigned flags) {
    size_t len = nameLen(entry);
    if (startsWith(entry, len, "LIFEBOAT_"))
        return (contains(entry, len, "PASSWORD") || contains(entry, len, "SECRET") || contains(entry, len, "TOKEN")) &&
               !endsWith(entry, len, "_FILE") && !endsWith(entry, len, "_COMMAND");
    if (flags & LB_CHILD_ENV_KEEP_S3)
        return false;
    return nameIs(entry, len, "AWS_SECRET_ACCESS_KEY") || nameIs(entry, len, "AWS_SESSION_TOKEN");
}

size_t lbChildEnvScrub(char **env, unsigned flags) {
    size_t k = 0;
    if (env == NULL)
        return 0;
    for (size_t i = 0; env[i] != NULL; i++)
        if (!lbChildEnvIsSecret(env[i], flags))
            env[k++] = env[i];
    env[k] = NULL;
    return k;
}

static void closeRange(unsigned first, unsigned last) {
    if (first > last)
        return;
    if (close_range(first, last, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    unsigned end = max > 0 && max < 65536 ? (unsigned)max : 65536u;
    for (unsigned fd = first; fd <= last && fd < end; fd++)
        close((int)fd);
}

void lbChildCloseFds(int keep) {
    if (keep < 3) {
        closeRange(3, ~0U);
        return;
    }
    closeRange(3, (unsigned)keep - 1);
    closeRange((unsigned)keep + 1, ~0U);
}
