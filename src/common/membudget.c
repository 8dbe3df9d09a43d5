/* membudget.c - the memory budget and the CPU count of a run. */
#include "common/membudget.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"

/* The number in file (memory.max / memory.limit_in_bytes), or 0 when the
 * file is missing, says "max" or holds no number. */
static uint64_t readLimit(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[64] = "";
    uint64_t v = 0;
    if (fgets(line, sizeof(line), f) != NULL && line[0] >= '0' && line[0] <= '9')
        v = strtoull(line, NULL, 10);
    fclose(f);
    /* v1 says "no limit" with a huge page-aligned number */
    return v >= (1ull << 60) ? 0 : v;
}

/* The smallest limit in the directories from base/rel up to base. */
static uint64_t smallestUp(const char *base, const char *rel, const char *file) {
    char path[4096 + 256];
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", rel);
    uint64_t best = 0;
    for (;;) {
        size_t n = strlen(dir);
        while (n > 0 && dir[n - 1] == '/')
            dir[--n] = '\0';
        int len = snprintf(path, sizeof(path), "%s%s/%s", base, dir, file);
        uint64_t v = len > 0 && (size_t)len < sizeof(path) ? readLimit(path) : 0;
        if (v != 0 && (best == 0 || v < best))
            best = v;
        char *slash = strrchr(dir, '/');
        if (slash == NULL || n == 0)
            break;
        *slash = '\0';
    }
    return best;
}

uint64_t lbCgroupMemoryLimit(void) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (f == NULL)
        return 0;
    char line[4096];
    uint64_t best = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        /* "ID:CONTROLLERS:PATH"; v2 is "0::PATH" */
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c2 = '\0';
        const char *controllers = c1 + 1, *rel = c2 + 1;
        uint64_t v = 0;
        if (controllers[0] == '\0') {
            v = smallestUp("/sys/fs/cgroup", rel, "memory.max");
            uint64_t u = smallestUp("/sys/fs/cgroup/unified", rel, "memory.max");
            if (u != 0 && (v == 0 || u < v))
                v = u;
        } else {
            bool memory = false;
            char *save = NULL;
            for (char *t = strtok_r((char *)controllers, ",", &save); t; t = strtok_r(NULL, ",", &save))
                memory |= strcmp(t, "memory") == 0;
            if (memory)
                v = smallestUp("/sys/fs/cgroup/memory", rel, "memory.limit_in_bytes");
        }
        if (v != 0 && (best == 0 || v < best))
            best = v;
    }
    fclose(f);
    return best;
}

bool lbMemoryBudgetValid(const char *s) {
    uint64_t v;
    return lbParseSize(s, &v) && v >= MEMBUDGET_MIN;
}

uint64_t lbMemoryBudget(void) {
    const char *env = getenv("LIFEBOAT_MAX_MEMORY");
    uint64_t v;
    if (env != NULL && env[0] != '\0' && lbParseSize(env, &v))
        return v < MEMBUDGET_MIN ? MEMBUDGET_MIN : v;
    uint64_t limit = lbCgroupMemoryLimit();
    if (limit != 0)
        return limit / 2 < MEMBUDGET_MIN ? MEMBUDGET_MIN : limit / 2;
    return MEMBUDGET_DEFAULT;
}

int lbCpuCount(void) {
    const char *env = getenv("LIFEBOAT_CPUS");
    if (env != NULL && env[0] != '\0') {
        char *end;
        long n = strtol(env, &end, 10);
        if (*end == '\0' && n >= 1 && n <= 4096)
            return (int)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void lbMemTrim(void) {
    malloc_trim(0);
}
