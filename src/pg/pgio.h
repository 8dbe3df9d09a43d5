/*
 * pgio.h - descriptors and captured output for the PostgreSQL client
 * programs run by pgdump*.c: close-on-exec pipes, anonymous memory files
 * for a child's output, whole reads and writes, and a program run to its
 * end with stdout into a memory file.
 */
#ifndef LIFEBOAT_PG_PGIO_H
#define LIFEBOAT_PG_PGIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

/* A pipe with both ends close-on-exec (children get their end by dup2) and
 * a 1 MiB buffer when the system allows it. */
bool pgioPipeNew(int fds[2], LbError *err);
/* Close *fd when it is open and set it to -1. */
void pgioClose(int *fd);
/* An anonymous in-memory file (no disk, no name) for a child's output; -1
 * with err on failure. */
int pgioMemfdNew(const char *name, LbError *err);
/* The whole content of fd (read from offset 0) into out, NUL-terminated. */
bool pgioReadAll(int fd, LbBuf *out, LbError *err);
/* fd's size, 0 when it cannot be had. */
uint64_t pgioFdSize(int fd);
/* Write all of data; false with errno set (EPIPE: the reader is gone). */
bool pgioWriteAll(int fd, const uint8_t *data, size_t len);
/* Append a child's stderr (warnings of a program that succeeded) to *acc
 * (owned, may be NULL). */
void pgioAddWarnings(char **acc, const char *text);
/* Run a program to its end with stdout into a memfd. On success *outFd is
 * that memfd (the caller closes it) and the program's stderr is appended to
 * *warnings (when not NULL). */
bool pgioRunToMemfd(const char *path, char *const *argv, char **env, const char *secret, int *outFd, char **warnings,
                    LbError *err);

#endif
