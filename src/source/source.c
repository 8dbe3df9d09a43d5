/* source.c - helpers shared by sources (see source.h). */
#include "source/source.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

ssize_t sourceFdRead(void *ctx, uint8_t *buf, size_t cap, const char **why) {
    int fd = *(const int *)ctx;
    for (;;) {
        ssize_t r = read(fd, buf, cap);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            *why = strerror(errno);
        return r;
    }
}
