/* sparse.c - write restored data, leaving holes (restore/sparse.h). */
#include "restore/sparse.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static bool allZero(const uint8_t *p, size_t n) {
    static const uint8_t zero[4096];
    while (n >= sizeof(zero)) {
        if (memcmp(p, zero, sizeof(zero)) != 0)
            return false;
        p += sizeof(zero);
        n -= sizeof(zero);
    }
    return memcmp(p, zero, n) == 0;
}

bool restoreWriteSparse(int fd, const uint8_t *data, size_t len, uint64_t offset) {
    size_t pos = 0;
    while (pos < len) {
        /* the block that holds pos ends at the next 4 KiB boundary of the file */
        size_t blockEnd = (size_t)((((offset + pos) / 4096) + 1) * 4096 - offset);
        if (blockEnd > len)
            blockEnd = len;
        if (allZero(data + pos, blockEnd - pos)) {
            pos = blockEnd;
            continue;
        }
        /* extend the run over following non-zero blocks */
        size_t runEnd = blockEnd;
        while (runEnd < len) {
            size_t next = runEnd + 4096 < len ? runEnd + 4096 : len;
            if (allZero(data + runEnd, next - runEnd))
                break;
            runEnd = next;
        }
        for (size_t done = pos; done < runEnd;) {
            ssize_t w = pwrite(fd, data + done, runEnd - done, (off_t)(offset + done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return false;
            done += (size_t)w;
        }
        pos = runEnd;
    }
    return true;
}
