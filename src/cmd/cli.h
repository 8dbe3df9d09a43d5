/*
 * cli.h - command-line plumbing shared by every verb: option parsing,
 * global options, password sources, opening the repository, output.
 */
#ifndef LIFEBOAT_CMD_CLI_H
#define LIFEBOAT_CMD_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "repo/lock.h"
#include "repo/repo.h"
#include "archiver/archiver.h"
#include "snapshot/snapshot.h"
#include "storage/options.h"

typedef struct GlobalOpts {
    const char *repo;
    const char *passwordFile;
    const char *passwordCommand;
    bool json;
    bool quiet;
    int verbose;
    /* the main repository's storage settings: the environment
     * (cfgStorageOptionsFromEnv), then the S3 flags below */
    StorageOptions storage;
} GlobalOpts;

/* The per-repository storage flags, the same for the main repository
 * (--s3-region, ..., global) and copy's source repository (--from-s3-region,
 * ...). None takes a secret: keys come from the environment or a
 * credentials file only. */
typedef enum CliStorageFlag {
    CLI_S3_PATH_STYLE = 1,   /* --s3-path-style */
    CLI_S3_REGION,           /* --s3-region R */
    CLI_S3_SSE,              /* --s3-sse AES256|aws:kms */
    CLI_S3_SSE_KMS,          /* --s3-sse-kms-key-id ID */
    CLI_S3_STORAGE_CLASS,    /* --s3-storage-class C */
    CLI_CACERT,              /* --cacert FILE */
    CLI_INSECURE_TLS,        /* --insecure-tls */
    CLI_S3_PROFILE,          /* --s3-profile NAME */
    CLI_S3_CREDENTIALS_FILE, /* --s3-credentials-file FILE */
    CLI_S3_CONFIG_FILE,      /* --s3-config-file FILE */
} CliStorageFlag;

/* Apply one storage flag to s (value: borrowed, NULL for the switches). A
 * profile or credentials file given on the command line wins over an access
 * key pair in the environment: the pair is dropped from s. */
void cliStorageFlagApply(StorageOptions *s, CliStorageFlag flag, const char *value);

typedef struct CliOption {
    const char *longName;
    char shortName; /* 0 = none */
    bool hasArg;
    int id;
} CliOption;

/* Called for each command-specific option; return false (with err) to reject. */
typedef bool (*CliOptionCb)(void *ctx, int id, const char *value, LbError *err);

typedef struct CliArgs {
    char **positional; /* borrowed from argv */
    size_t count;
    char **afterDashDash; /* arguments after "--" (borrowed), NULL-terminated */
    size_t afterCount;
} CliArgs;

/* Parse argv[1..argc) (argv[0] is the verb): global options go to g, the
 * verb's own options to cb. Unknown options fail with LB_ERR_ARGS. */
bool cliParse(int argc, char **argv, const CliOption *opts, CliOptionCb cb, void *ctx, GlobalOpts *g, CliArgs *args,
              LbError *err);
void cliArgsFree(CliArgs *args);

/* Password from LIFEBOAT_PASSWORD, --password-file/LIFEBOAT_PASSWORD_FILE,
 * --password-command/LIFEBOAT_PASSWORD_COMMAND, or a prompt on the terminal.
 * Caller wipes and frees *out with cliPasswordFree. */
bool cliPassword(const GlobalOpts *g, char **out, LbError *err);
/* Read a new password for init / key add: LIFEBOAT_NEW_PASSWORD_FILE or
 * --new-password-file, else the same sources as cliPassword (init), else a
 * prompt asked twice. */
bool cliNewPassword(const GlobalOpts *g, const char *newPasswordFile, bool fallBackToCurrent, char **out, LbError *err);
void cliPasswordFree(char *password);

/* Open the repository named by g (index not loaded). */
Repo *cliOpenRepo(const GlobalOpts *g, LbError *err);

/* Open the source repository of copy / init --copy-chunker-params with its
 * own storage settings (NULL: the environment's, cfgStorageOptionsFromEnv):
 * password from LIFEBOAT_FROM_PASSWORD, --from-password-file /
 * LIFEBOAT_FROM_PASSWORD_FILE, --from-password-command /
 * LIFEBOAT_FROM_PASSWORD_COMMAND, or a prompt. */
Repo *cliOpenSourceRepo(const char *location, const StorageOptions *storage, const char *file, const char *cmd,
                        LbError *err);

/* Report err on stderr ("lifeboat: <msg>") and return its exit code. */
int cliFail(const LbError *err);
/* Print a JSON value to stdout followed by a newline; steals the reference. */
void cliPrintJson(json_t *value);

/* Fill what every backup records the same way in its new snapshot: the time
 * (timeNs, or the start of the run when 0), tree and paths of res, the host
 * (this machine's name when NULL), the user running lifeboat, the tags,
 * component and recovery point (each may be NULL/0). */
void cliSnapshotFill(Snapshot *snap, const ArchiverResult *res, int64_t timeNs, const char *host, char *const *tags,
                     size_t tagCount, const char *component, const char *recoveryPoint);

/* Progress line on stderr when it is a terminal and not quiet/json. */
bool cliProgressEnabled(const GlobalOpts *g);
void cliProgressLine(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cliProgressDone(void);
void cliFormatBytes(double bytes, char *out, size_t n);
void cliFormatDuration(double seconds, char *out, size_t n);

/* prune's options, shared with forget --prune (see prune.c). */
enum { PRUNE_OPT_MAX_UNUSED = 1, PRUNE_OPT_MAX_REPACK, PRUNE_OPT_DRY_RUN };
struct PruneOptions;
struct PruneResult;
bool pruneCliOption(void *pruneOptions, int id, const char *value, LbError *err);
void prunePrintResult(const GlobalOpts *g, const struct PruneOptions *o, const struct PruneResult *r, double secs);

/* The verbs. Each returns the process exit code. */
int cmdInit(int argc, char **argv);
int cmdBackup(int argc, char **argv);
int cmdSnapshots(int argc, char **argv);
int cmdLs(int argc, char **argv);
int cmdDiff(int argc, char **argv);
int cmdRestore(int argc, char **argv);
int cmdCheck(int argc, char **argv);
int cmdUnlock(int argc, char **argv);
int cmdStats(int argc, char **argv);
int cmdKey(int argc, char **argv);
int cmdPrune(int argc, char **argv);
int cmdForget(int argc, char **argv);
int cmdCopy(int argc, char **argv);
/* PostgreSQL (src/cmd/pg_logical.c, src/cmd/pg_physical.c) */
int cmdBackupPgLogical(int argc, char **argv);   /* backup --pg URL */
int cmdRestorePgLogical(int argc, char **argv);  /* restore SNAPSHOT --pg-target URL */
int cmdBackupPgPhysical(int argc, char **argv);  /* backup --pg-physical */
int cmdRestorePgPhysical(int argc, char **argv); /* restore --pg-physical */
int cmdWalPush(int argc, char **argv);
int cmdWalFetch(int argc, char **argv);
int cmdPgCheck(int argc, char **argv);

#endif
