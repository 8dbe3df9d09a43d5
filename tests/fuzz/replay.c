/*
 * replay.c - main() for test_fuzz_<name>: the regression runner of one fuzz
 * target, built without libFuzzer in every build and run by tests/run.
 *
 * It feeds each file of tests/fuzz/corpus/<name>/ and tests/fuzz/crashes/<name>/
 * to LLVMFuzzerTestOneInput once (or the files given as arguments) and
 * prints one TAP line per folder. A crash is the sanitizers' (or the
 * kernel's) abort, which tests/run counts as a failure. A reproducer listed
 * in tests/fuzz/known-bugs (a bug not fixed yet) is skipped, with its
 * reason, unless LIFEBOAT_KNOWN_BUGS=1.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME is set by tests/fuzz/meson.build"
#endif

static int compareNames(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool readFile(const char *path, LbBuf *out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        lbBufAppend(out, chunk, n);
    bool ok = !ferror(f);
    fclose(f);
    return ok;
}

static bool runFile(const char *path) {
    LbBuf data = {0};
    if (!readFile(path, &data)) {
        printf("not ok - fuzz_%s: unable to read '%s'\n", FUZZ_NAME, path);
        return false;
    }
    /* a copy of exactly the input's size, so ASan sees any overread */
    uint8_t *copy = lbXmalloc(data.len ? data.len : 1);
    if (data.len)
        memcpy(copy, data.data, data.len);
    alarm(60); /* an input that hangs ends the process (SIGALRM): a failure */
    LLVMFuzzerTestOneInput(copy, data.len);
    alarm(0);
    free(copy);
    lbBufFree(&data);
    return true;
}

/* The reason a known bug's reproducer is skipped, from tests/fuzz/known-bugs
 * ("<name>/<file> <reason>" per line), or NULL. Caller frees. */
static char *knownBug(const char *file) {
    FILE *f = fopen(LB_SOURCE_ROOT "/tests/fuzz/known-bugs", "r");
    if (f == NULL)
        return NULL;
    char line[1024], key[512];
    snprintf(key, sizeof(key), "%s/%s ", FUZZ_NAME, file);
    char *reason = NULL;
    while (reason == NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, strlen(key)) == 0) {
            line[strcspn(line, "\n")] = '\0';
            reason = lbXstrdup(line + strlen(key));
        }
    }
    fclose(f);
    return reason;
}

/* Run every file of tests/fuzz/<kind>/<name>/ (sorted); false on a read
 * error, or when a required folder has no input. */
static bool runDir(const char *kind, int *test, bool required) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s/%s", LB_SOURCE_ROOT, kind, FUZZ_NAME);
    DIR *d = opendir(dir);
    char **names = NULL;
    size_t count = 0;
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            names = lbXrealloc(names, (count + 1) * sizeof(char *));
            names[count++] = lbXstrdup(e->d_name);
        }
        closedir(d);
    }
    if (count > 0)
        qsort(names, count, sizeof(char *), compareNames);
    bool ok = true;
    size_t ran = 0;
    bool runKnown = getenv("LIFEBOAT_KNOWN_BUGS") && strcmp(getenv("LIFEBOAT_KNOWN_BUGS"), "1") == 0;
    for (size_t i = 0; i < count; i++) {
        char *reason = knownBug(names[i]);
        if (reason != NULL && !runKnown) {
            printf("ok %d - fuzz_%s %s/%s # SKIP BUG: %s\n", ++*test, FUZZ_NAME, kind, names[i], reason);
        } else {
            char path[8192];
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            fflush(stdout);
            if (runFile(path))
                ran++;
            else
                ok = false;
        }
        free(reason);
        free(names[i]);
    }
    free(names);
    if (!ok) {
        printf("not ok %d - fuzz_%s %s: unreadable input in %s\n", ++*test, FUZZ_NAME, kind, dir);
    } else if (ran == 0 && required) {
        printf("not ok %d - fuzz_%s %s: no input in %s\n", ++*test, FUZZ_NAME, kind, dir);
        ok = false;
    } else if (ran > 0) {
        printf("ok %d - fuzz_%s %s (%zu inputs)\n", ++*test, FUZZ_NAME, kind, ran);
    }
    return ok;
}

int main(int argc, char **argv) {
    int test = 0;
    bool ok = true;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            bool ran = runFile(argv[i]);
            if (ran)
                printf("ok %d - fuzz_%s %s\n", ++test, FUZZ_NAME, argv[i]);
            ok = ran && ok;
        }
    } else {
        ok = runDir("corpus", &test, true);
        ok = runDir("crashes", &test, false) && ok;
    }
    printf("1..%d\n", test);
    return ok ? 0 : 1;
}
