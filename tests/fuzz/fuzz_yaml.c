/*
 * fuzz_yaml.c - the configuration file (config/file.h): libyaml's parser
 * under lifeboat's loader and validation, and `config show` of what loads.
 *
 * Input: the file's bytes (written to a memfd and loaded by its /proc path).
 * A file that does not load must say why, in at least one message line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/file.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 64 * 1024)
        return 0;
    int fd = memfd_create("fuzz-yaml", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    char *messages = NULL;
    LbError err = {0};
    CfgFile *cfg = cfgFileLoad(path, &messages, &err);
    if (cfg != NULL) {
        FILE *out = fopen("/dev/null", "w");
        if (out) {
            cfgFileShow(cfg, out, &err);
            fclose(out);
        }
        cfgFileFree(cfg);
    } else if (err.msg[0] == '\0') {
        abort();
    }
    free(messages);
    close(fd);
    return 0;
}
