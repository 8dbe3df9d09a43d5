/*
 * error.h - the one error table and the LbError status type.
 *
 * Functions that can fail return bool (true = success) and fill an LbError
 * supplied by the caller. The error carries a code from LB_ERROR_TABLE, the
 * source file and line where it was raised, and a human message in the form
 * "unable to <verb> <what> '<path>': <reason>". Messages never contain secrets.
 */
#ifndef LIFEBOAT_COMMON_ERROR_H
#define LIFEBOAT_COMMON_ERROR_H

#include <stdbool.h>
#include <stddef.h>

/* X(code, name, exit code) — the single table of errors and their exit codes.
 * LB_ERR_NOT_COMMITTED: a writer (backup, copy) stopped before its commit
 * because data it relies on was removed meanwhile; it wrote no snapshot, and
 * running it again stores the data again (docs/concurrency.md).
 * LB_ERR_KEY_CORRUPT: a key file is damaged (its bytes no longer match its
 * name, the SHA-256 of the file): reported as such, not as a wrong password,
 * since the password may be the one that damaged file holds. */
#define LB_ERROR_TABLE(X)                                                                                              \
    X(LB_OK, "ok", 0)                                                                                                  \
    X(LB_ERR_GENERIC, "error", 1)                                                                                      \
    X(LB_ERR_IO, "io", 1)                                                                                              \
    X(LB_ERR_NOT_FOUND, "not-found", 1)                                                                                \
    X(LB_ERR_EXISTS, "exists", 1)                                                                                      \
    X(LB_ERR_FORMAT, "format", 1)                                                                                      \
    X(LB_ERR_CORRUPT, "corrupt", 1)                                                                                    \
    X(LB_ERR_CRYPTO, "crypto", 1)                                                                                      \
    X(LB_ERR_ARGS, "usage", 1)                                                                                         \
    X(LB_ERR_UNSAFE_PATH, "unsafe-path", 1)                                                                            \
    X(LB_ERR_COMMAND, "command-failed", 1)                                                                             \
    X(LB_ERR_MEMORY, "memory", 1)                                                                                      \
    X(LB_ERR_TRANSIENT, "transient", 1)                                                                                \
    X(LB_ERR_AUTH, "auth", 1)                                                                                          \
    X(LB_ERR_NOT_COMMITTED, "not-committed", 1)                                                                        \
    X(LB_ERR_KEY_CORRUPT, "key-corrupt", 1)                                                                            \
    X(LB_ERR_INCOMPLETE, "incomplete", 3)                                                                              \
    X(LB_ERR_NO_REPO, "no-repository", 10)                                                                             \
    X(LB_ERR_LOCKED, "locked", 11)                                                                                     \
    X(LB_ERR_WRONG_PASSWORD, "wrong-password", 12)

typedef enum {
#define LB_ERROR_ENUM(code, name, exitCode) code,
    LB_ERROR_TABLE(LB_ERROR_ENUM)
#undef LB_ERROR_ENUM
        LB_ERR_COUNT
} LbErrorCode;

#define LB_ERROR_MSG_MAX 1024

typedef struct LbError {
    LbErrorCode code;
    const char *file;
    int line;
    char msg[LB_ERROR_MSG_MAX];
} LbError;

/* Record an error; always returns false so callers can `return lbErr(...)`. */
bool lbErrorSet(LbError *err, LbErrorCode code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Prefix the existing message with more context ("while doing X: <old>"). Returns false. */
bool lbErrorWrap(LbError *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void lbErrorClear(LbError *err);
int lbErrorExitCode(LbErrorCode code);
const char *lbErrorName(LbErrorCode code);

#define lbErr(err, code, ...) lbErrorSet((err), (code), __FILE__, __LINE__, __VA_ARGS__)
/* errno-based I/O error: message gets ": strerror(errno)" appended. */
#define lbErrSys(err, ...) lbErrorSetSys((err), __FILE__, __LINE__, __VA_ARGS__)
bool lbErrorSetSys(LbError *err, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
