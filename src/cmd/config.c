/* config.c - lifeboat config check|show [FILE]: validate the configuration
 * file and print every error, or print the effective configuration with
 * secrets redacted (config/file.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "config/file.h"

int cmdConfig(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs a = cliArgs(cfg);
    LbError err = {0};
    if (a.count < 1 || a.count > 2 || (strcmp(a.positional[0], "check") != 0 && strcmp(a.positional[0], "show") != 0)) {
        lbErr(&err, LB_ERR_ARGS, "config: expected 'check [FILE]' or 'show [FILE]' (see 'lifeboat config --help')");
        return cliFailJson(&g, &err);
    }
    bool show = strcmp(a.positional[0], "show") == 0;
    const char *path = a.count == 2 ? a.positional[1] : cfgStr(cfg, cfgOptConfig);
    char *messages = NULL;
    CfgFile *file = cfgFileLoad(path, &messages, &err);
    int rc = 0;
    if (!show && g.json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "valid", json_boolean(file != NULL));
        json_t *errors = json_array();
        for (char *line = messages, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            else
                next = line + strlen(line);
            json_array_append_new(errors, json_string(line));
        }
        json_object_set_new(o, "errors", errors);
        if (file) {
            json_object_set_new(o, "repositories", json_integer((json_int_t)file->repositoryCount));
            json_object_set_new(o, "components", json_integer((json_int_t)file->componentCount));
            json_object_set_new(o, "jobs", json_integer((json_int_t)file->jobCount));
        }
        cliPrintJson(o);
        rc = file ? 0 : lbErrorExitCode(err.code);
    } else if (file == NULL) {
        if (err.code == LB_ERR_ARGS) /* invalid: every error; unreadable: the one line below */
            fputs(messages ? messages : "", stderr);
        fprintf(stderr, "lifeboat: %s\n", err.msg);
        rc = lbErrorExitCode(err.code);
    } else if (show) {
        rc = cfgFileShow(file, stdout, &err) ? 0 : cliFailJson(&g, &err);
    } else if (!g.quiet) {
        printf("%s: ok (%zu repositor%s, %zu component%s, %zu job%s)\n", path, file->repositoryCount,
               file->repositoryCount == 1 ? "y" : "ies", file->componentCount, file->componentCount == 1 ? "" : "s",
               file->jobCount, file->jobCount == 1 ? "" : "s");
    }
    free(messages);
    cfgFileFree(file);
    return rc;
}
