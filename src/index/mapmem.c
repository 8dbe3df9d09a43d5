/* mapmem.c - heap or file-mapped arrays past a threshold. */
#include "index/mapmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"

#define INDEX_MMAP_DEFAULT ((size_t)1 << 18)

size_t indexMapThreshold(void) {
    const char *v = getenv("LIFEBOAT_INDEX_MMAP_BLOBS");
    if (v && strcmp(v, "off") == 0)
        return SIZE_MAX;
    if (v && *v) {
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        if (*end == '\0')
            return (size_t)n;
    }
    return INDEX_MMAP_DEFAULT;
}

void indexMapWarn(size_t bytes, int err) {
    static atomic_bool warned;
    if (!atomic_exchange(&warned, true))
        lbLogWarn("unable to map %zu bytes of the index to a temporary file: %s (keeping them in memory)", bytes,
                  strerror(err));
}

/* In $TMPDIR, else /var/tmp (on disk where /tmp may be RAM). */
int indexMapFile(void) {
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/var/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
        return fd;
    char path[4096];
    snprintf(path, sizeof(path), "%s/lifeboat-index-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

void *indexArrayNew(size_t count, size_t size, bool *mapped) {
    *mapped = false;
    size_t bytes = count * size;
    if (count <= indexMapThreshold() || bytes == 0)
        return lbXcalloc(count ? count : 1, size);
    int fd = indexMapFile();
    void *p = MAP_FAILED;
    int rc = fd < 0 ? errno : posix_fallocate(fd, 0, (off_t)bytes);
    if (rc == 0) {
        p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        rc = p == MAP_FAILED ? errno : 0;
    }
    if (fd >= 0)
        close(fd); /* the mapping keeps the file until munmap */
    if (p == MAP_FAILED) {
        indexMapWarn(bytes, rc);
        return lbXcalloc(count, size);
    }
    *mapped = true;
    return p;
}

void indexArrayFree(void *p, size_t count, size_t size, bool mapped) {
    if (mapped)
        munmap(p, count * size);
    else
        free(p);
}
