/* error.c - error table lookups and message formatting. */
#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int exitCode;
} errorTable[] = {
#define LB_ERROR_ROW(code, name, exitCode) {name, exitCode},
    LB_ERROR_TABLE(LB_ERROR_ROW)
#undef LB_ERROR_ROW
};

bool lbErrorSet(LbError *err, LbErrorCode code, const char *file, int line, const char *fmt, ...) {
    if (err == NULL)
        return false;
    err->code = code;
    err->file = file;
    err->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return false;
}

bool lbErrorSetSys(LbError *err, const char *file, int line, const char *fmt, ...) {
    int saved = errno;
    if (err == NULL)
        return false;
    char head[LB_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    LbErrorCode code = LB_ERR_IO;
    if (saved == ENOENT)
        code = LB_ERR_NOT_FOUND;
    else if (saved == EEXIST)
        code = LB_ERR_EXISTS;
    else if (saved == ENOMEM)
        code = LB_ERR_MEMORY;
    lbErrorSet(err, code, file, line, "%s: %s", head, strerror(saved));
    errno = saved;
    return false;
}

bool lbErrorWrap(LbError *err, const char *fmt, ...) {
    if (err == NULL)
        return false;
    char head[LB_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    size_t hlen = strnlen(head, sizeof(head) - 1);
    size_t olen = strnlen(err->msg, sizeof(err->msg) - 1);
    if (hlen + 2 >= sizeof(err->msg))
        hlen = sizeof(err->msg) - 3;
    if (hlen + 2 + olen >= sizeof(err->msg))
        olen = sizeof(err->msg) - 3 - hlen;
    memmove(err->msg + hlen + 2, err->msg, olen);
    memcpy(err->msg, head, hlen);
    err->msg[hlen] = ':';
    err->msg[hlen + 1] = ' ';
    err->msg[hlen + 2 + olen] = '\0';
    return false;
}

void lbErrorClear(LbError *err) {
    if (err == NULL)
        return;
    err->code = LB_OK;
    err->file = NULL;
    err->line = 0;
    err->msg[0] = '\0';
}

int lbErrorExitCode(LbErrorCode code) {
    if ((int)code < 0 || code >= LB_ERR_COUNT)
        return 1;
    return errorTable[code].exitCode;
}

const char *lbErrorName(LbErrorCode code) {
    if ((int)code < 0 || code >= LB_ERR_COUNT)
        return "unknown";
    return errorTable[code].name;
}
