/* backup.c - `lifeboat backup`: files, stdin, a command's output, or an S3 bucket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "job/job.h"
#include "source/bucket.h"

typedef struct BackupOpts {
    JobLabels labels;
    char **excludes; /* owned: --exclude and the lines of --exclude-file */
    size_t excludeCount;
    bool oneFs, stdinMode, stdinCmd, force;
    const char *stdinName;
    const char *parent;
} BackupOpts;

static void addStr(char ***arr, size_t *n, const char *s) {
    *arr = lbXrealloc(*arr, (*n + 1) * sizeof(char *));
    (*arr)[(*n)++] = lbXstrdup(s);
}

static bool readExcludeFile(BackupOpts *o, const char *path, LbError *err) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return lbErrSys(err, "unable to read exclude file '%s'", path);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) >= 0) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        addStr(&o->excludes, &o->excludeCount, line);
    }
    free(line);
    fclose(f);
    return true;
}

/* What to back up: paths, or one stream (standard input, a command's
 * output) named by --stdin-filename or after the command. */
static bool checkSources(BackupOpts *o, const CliArgs *args, LbError *err) {
    bool streamMode = o->stdinMode || o->stdinCmd;
    if (o->stdinCmd && args->afterCount == 0)
        return lbErr(err, LB_ERR_ARGS, "--stdin-from-command needs a command after '--'");
    if (!streamMode && args->count == 0)
        return lbErr(err, LB_ERR_ARGS, "nothing to back up: give one or more paths, --stdin or --stdin-from-command");
    if (streamMode && args->count > 0)
        return lbErr(err, LB_ERR_ARGS, "paths cannot be combined with --stdin or --stdin-from-command");
    if (streamMode && o->stdinName == NULL) {
        const char *cmd = o->stdinCmd ? args->afterDashDash[0] : "stdin";
        const char *slash = strrchr(cmd, '/');
        o->stdinName = slash && slash[1] ? slash + 1 : cmd;
    }
    return true;
}

/* The parsed options, with the patterns of every --exclude-file read. */
static bool backupOptions(const CfgValues *cfg, const CliArgs *args, BackupOpts *o, LbError *err) {
    *o = (BackupOpts){
        .labels = cliJobLabels(cfg),
        .oneFs = cfgFlag(cfg, cfgOptOneFileSystem),
        .stdinMode = cfgFlag(cfg, cfgOptStdin),
        .stdinCmd = cfgFlag(cfg, cfgOptStdinFromCommand),
        .force = cfgFlag(cfg, cfgOptForce),
        .stdinName = cfgStr(cfg, cfgOptStdinFilename),
        .parent = cfgStr(cfg, cfgOptParent),
    };
    size_t n = 0;
    const char *const *ex = cfgList(cfg, cfgOptExclude, &n);
    for (size_t i = 0; i < n; i++)
        addStr(&o->excludes, &o->excludeCount, ex[i]);
    const char *const *files = cfgList(cfg, cfgOptExcludeFile, &n);
    for (size_t i = 0; i < n; i++)
        if (!readExcludeFile(o, files[i], err))
            return false;
    return checkSources(o, args, err);
}

/* The job spec of the options: its arrays point into o and args. */
static bool backupSpec(const GlobalOpts *g, const BackupOpts *o, const CliArgs *args, JobBackup *spec, LbError *err) {
    *spec = (JobBackup){
        .kind = o->stdinCmd    ? JOB_SOURCE_COMMAND
                : o->stdinMode ? JOB_SOURCE_STREAM
                               : JOB_SOURCE_FILES,
        .paths = (const char *const *)args->positional,
        .pathCount = args->count,
        .excludes = (const char *const *)o->excludes,
        .excludeCount = o->excludeCount,
        .oneFileSystem = o->oneFs,
        .streamName = o->stdinName,
        .streamFd = STDIN_FILENO,
        .command = args->afterDashDash,
        .bucketStorage = g->storage,
        .force = o->force,
        .parent = o->parent,
        .labels = o->labels,
    };
    if (spec->kind == JOB_SOURCE_FILES && bucketSourceIsLocation(args->positional[0])) {
        if (args->count > 1 || o->excludeCount > 0 || o->oneFs)
            return lbErr(err, LB_ERR_ARGS,
                         "a bucket is backed up on its own: one s3: location, without --exclude or -x");
        spec->kind = JOB_SOURCE_BUCKET;
    }
    return true;
}

int cmdBackup(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    BackupOpts o = {0};
    JobSpec spec = {.kind = JOB_BACKUP};
    LbError err = {0};
    int rc;
    if (!backupOptions(cfg, &args, &o, &err) || !backupSpec(&g, &o, &args, &spec.backup, &err)) {
        rc = cliFailJson(&g, &err);
        goto done;
    }
    rc = cliRunJob(&g, &spec);
done:
    for (size_t i = 0; i < o.excludeCount; i++)
        free(o.excludes[i]);
    free(o.excludes);
    return rc;
}
