/* pgio.c - descriptors and child output for the PostgreSQL client programs. */
#include "pg/pgio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "pg/pgproc.h"

/* A pipe with both ends close-on-exec (children get their end by dup2) and
 * a 1 MiB buffer when the system allows it. */
bool pgioPipeNew(int fds[2], LbError *err) {
    if (pipe2(fds, O_CLOEXEC) != 0)
        return lbErrSys(err, "unable to create a pipe");
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
    return true;
}

void pgioClose(int *fd) {
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* An anonymous in-memory file (no disk, no name) for a child's output. */
int pgioMemfdNew(const char *name, LbError *err) {
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        lbErrSys(err, "unable to create an in-memory file for %s", name);
    return fd;
}

/* The whole content of fd (read from offset 0) into out, NUL-terminated. */
bool pgioReadAll(int fd, LbBuf *out, LbError *err) {
    lbBufClear(out);
    for (off_t off = 0;;) {
        lbBufReserve(out, 64 * 1024);
        ssize_t r = pread(fd, out->data + out->len, out->cap - out->len, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return lbErrSys(err, "unable to read a program's output");
        if (r == 0)
            break;
        out->len += (size_t)r;
        off += r;
    }
    lbBufAppend(out, "", 1);
    out->len--;
    return true;
}

uint64_t pgioFdSize(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Write all of data; false with errno set (EPIPE: the reader is gone). */
bool pgioWriteAll(int fd, const uint8_t *data, size_t len) {
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        data += w;
        len -= (size_t)w;
    }
    return true;
}

/* Append a child's stderr (warnings of a program that succeeded) to *acc. */
void pgioAddWarnings(char **acc, const char *text) {
    if (text == NULL || text[0] == '\0')
        return;
    char *joined = *acc ? lbXasprintf("%s\n%s", *acc, text) : lbXstrdup(text);
    free(*acc);
    *acc = joined;
}

/* Run a program to its end with stdout into a memfd. On success *outFd is
 * that memfd (the caller closes it) and the program's stderr is appended to
 * *warnings. */
bool pgioRunToMemfd(const char *path, char *const *argv, char **env, const char *secret, int *outFd, char **warnings,
                    LbError *err) {
    bool ok = false;
    PgProc *proc = NULL;
    int fd = pgioMemfdNew(argv[0], err);
    if (fd < 0)
        goto cleanup;
    proc = pgprocStartP(path, argv, err, .stdoutFd = fd, .envp = env, .secret = secret);
    if (proc == NULL || !pgprocWait(proc, err))
        goto cleanup;
    /* the child wrote through a shared file offset: read from the start */
    if (lseek(fd, 0, SEEK_SET) != 0) {
        lbErrSys(err, "unable to rewind the output of %s", argv[0]);
        goto cleanup;
    }
    if (warnings)
        pgioAddWarnings(warnings, pgprocStderr(proc));
    *outFd = fd;
    fd = -1;
    ok = true;
cleanup:
    pgprocFree(proc);
    pgioClose(&fd);
    return ok;
}
