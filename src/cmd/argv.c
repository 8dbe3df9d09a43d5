/* argv.c - command lines the verbs that run others build (cmd/cli.h CliArgv). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cli.h"
#include "common/buf.h"
#include "config/file.h"

void cliArgvAdd(CliArgv *a, const char *s) {
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = lbXrealloc(a->v, (size_t)a->cap * sizeof(char *));
    }
    a->v[a->n++] = lbXstrdup(s);
    a->v[a->n] = NULL;
}

void cliArgvAddf(CliArgv *a, const char *fmt, ...) {
    va_list ap, copy;
    va_start(ap, fmt);
    va_copy(copy, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *buf = lbXmalloc((size_t)(len > 0 ? len : 0) + 1);
    vsnprintf(buf, (size_t)len + 1, fmt, copy);
    va_end(copy);
    cliArgvAdd(a, buf);
    free(buf);
}

void cliArgvAddAll(CliArgv *a, const CfgArgs *args) {
    for (size_t i = 0; i < args->n; i++)
        cliArgvAdd(a, args->v[i]);
}

void cliArgvFree(CliArgv *a) {
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    *a = (CliArgv){0};
}
