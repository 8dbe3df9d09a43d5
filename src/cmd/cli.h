/*
 * cli.h - what every verb shares: the global options and snapshot filter
 * from the parsed command line (config/parse.h: options are parsed once,
 * before a verb runs), password sources, opening the repository, output.
 */
#ifndef LIFEBOAT_CMD_CLI_H
#define LIFEBOAT_CMD_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "job/run.h"
#include "pg/pgconn.h"
#include "config/parse.h"
#include "repo/lock.h"
#include "repo/repo.h"
#include "archiver/archiver.h"
#include "snapshot/snapshot.h"
#include "storage/storage.h"

typedef struct GlobalOpts {
    const char *repo;
    const char *passwordFile;
    const char *passwordCommand;
    bool passwordGiven;            /* file or command given as an option: LIFEBOAT_PASSWORD does not override it */
    const StorageOptions *storage; /* the repository's S3 settings */
    bool json;
    bool quiet;
    int verbose;
} GlobalOpts;

/* Positional arguments and those after "--" (borrowed from the CfgValues). */
typedef struct CliArgs {
    char *const *positional;
    size_t count;
    char *const *afterDashDash; /* NULL-terminated */
    size_t afterCount;
} CliArgs;

/* The global options of the parsed command line; sets the log level. */
GlobalOpts cliGlobals(const CfgValues *cfg);
CliArgs cliArgs(const CfgValues *cfg);
/* --host, --component and --tag as a snapshot filter (each --tag a group). */
SnapshotFilter cliFilter(const CfgValues *cfg);

/* Password from LIFEBOAT_PASSWORD, --password-file/LIFEBOAT_PASSWORD_FILE,
 * --password-command/LIFEBOAT_PASSWORD_COMMAND, or a prompt on the terminal.
 * Caller wipes and frees *out with cliPasswordFree. */
bool cliPassword(const GlobalOpts *g, char **out, LbError *err);
/* Read a new password for init / key add: LIFEBOAT_NEW_PASSWORD_FILE or
 * --new-password-file, else the same sources as cliPassword (init), else a
 * prompt asked twice. */
bool cliNewPassword(const GlobalOpts *g, const char *newPasswordFile, bool fallBackToCurrent, char **out, LbError *err);
void cliPasswordFree(char *password);

/* Open the storage at location with its settings (no repository check). */
Storage *cliOpenStorage(const char *location, const StorageOptions *opts, LbError *err);
/* Open the repository named by g (index not loaded). */
Repo *cliOpenRepo(const GlobalOpts *g, LbError *err);

/* Open the source repository of copy / init --copy-chunker-params (the
 * --from-* options): password from LIFEBOAT_FROM_PASSWORD,
 * --from-password-file / LIFEBOAT_FROM_PASSWORD_FILE, --from-password-command
 * / LIFEBOAT_FROM_PASSWORD_COMMAND, or a prompt. */
Repo *cliOpenSourceRepo(const CfgValues *cfg, LbError *err);

/* Report err and return its exit code: "lifeboat: <msg>" on stderr, and
 * under --json also the error object on stdout as one line
 * ({"message_type":"error","code":NAME,"exit_code":N,"message":TEXT},
 * job/report.h jobErrorJson): the output contract of docs/commands.md. */
/* cliFailJson with one more member, key: value (taken), in the JSON error
 * document (value is freed also without --json). */
int cliFailJsonWith(const GlobalOpts *g, const LbError *err, const char *key, json_t *value);
int cliFailJson(const GlobalOpts *g, const LbError *err);
/* A verb's exit: 0 when ok, else cliFailJson(g, err). */
int cliExit(const GlobalOpts *g, bool ok, const LbError *err);
/* Print a JSON value to stdout followed by a newline; steals the reference.
 * One call prints one document (or one line of a JSON Lines stream). */
void cliPrintJson(json_t *value);

/* What a verb that names snapshots starts from: the global options, the
 * arguments, the snapshot filter, and the error its steps fill. */
typedef struct CliVerb {
    GlobalOpts g;
    CliArgs args;
    SnapshotFilter filter;
    LbError err;
} CliVerb;
CliVerb cliVerb(const CfgValues *cfg);

/* The repository a verb works on, with the lock it holds (or NULL). */
typedef enum CliLock {
    CLI_LOCK_NONE,
    CLI_LOCK_SHARED,
    CLI_LOCK_EXCLUSIVE,
    /* a verb that only reads: without a lock when the repository is not
     * writable here or with --no-lock (repoLockForReading) */
    CLI_LOCK_READ_SHARED,
    CLI_LOCK_READ_EXCLUSIVE,
} CliLock;
/* --no-lock was given (verbs that only read) */
bool cliNoLock(void);
typedef struct CliRepo {
    Repo *repo;
    RepoLock *lock;
} CliRepo;
/* Open the repository named by g and take the lock; on failure *out holds
 * what was opened (cliRepoClose frees it either way). */
bool cliRepoOpen(const GlobalOpts *g, CliLock lock, CliRepo *out, LbError *err);
/* cliRepoOpen, then the index for a reader: a damaged index file is skipped
 * with a warning naming it (repoLoadIndexP .skipDamaged). */
bool cliRepoOpenForReading(const GlobalOpts *g, CliLock lock, CliRepo *out, LbError *err);
void cliRepoClose(CliRepo *r);

/* One job's progress line on stderr, redrawn in place and cut to the
 * terminal's width: NULL (every call a no-op) unless stderr is a terminal
 * and neither --quiet nor --json is given. cliProgressFree clears the line. */
typedef struct CliProgress CliProgress;
CliProgress *cliProgressNew(const GlobalOpts *g);
void cliProgressShow(CliProgress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cliProgressClear(CliProgress *p);
void cliProgressFree(CliProgress *p);
/* A JobProgressFn (job/job.h) drawing on the CliProgress ctx (may be NULL). */
void cliProgressJob(void *ctx, const JobProgress *progress);

/* --at (checked by the option table): a recovery point ID (NAME@TIME) sets
 * f->recoveryPoint, a time f->atNs; "latest" leaves f as it is. */
void cliAtFilter(const char *at, SnapshotFilter *f);

/* --host, --time, --component, --tag (each a tag) and --recovery-point. */
JobLabels cliJobLabels(const CfgValues *cfg);

/* A report as the verb's output: one JSON object with --json, else its text
 * on stdout (nothing with --quiet) and its warnings on stderr. */
void cliPrintReport(const GlobalOpts *g, const JobReport *report);

/* options -> job -> run -> print: open the repository named by g, run the
 * job with a progress line on a terminal, print its report (text, or one
 * JSON object with --json; warnings to stderr) and return its exit code. */
int cliRunJob(const GlobalOpts *g, const JobSpec *spec);

/* Parse a PostgreSQL connection string or URI given with option (--pg,
 * --pg-target) into *out (freeing what was there), then scrub the argument
 * in place so the password leaves the process list; errors never repeat it. */
bool cliConnInfo(PgConnInfo **out, const char *value, const char *option, LbError *err);

void cliFormatBytes(double bytes, char *out, size_t n);
void cliFormatDuration(double seconds, char *out, size_t n);

/* prune's options, shared with forget --prune (see prune.c). */
struct PruneOptions;
struct PruneResult;
void cliPruneOptions(const CfgValues *cfg, struct PruneOptions *out);
/* prune's human summary (three lines) on stdout. */
void prunePrintText(const struct PruneOptions *o, const struct PruneResult *r);

/* The verbs. Each returns the process exit code. */
/* Load the configuration file of --config / LIFEBOAT_CONFIG; on errors print
 * every one and return NULL (exit 1: nothing runs). Free with cfgFileFree. */
struct CfgFile;
struct CfgFile *cliLoadConfig(const CfgValues *cfg, const GlobalOpts *g);

/* A command line built for cliMain (the verbs that run others: recover,
 * drill, points --config). Owns copies of its strings; v is NULL-terminated. */
typedef struct CliArgv {
    char **v;
    int n, cap;
} CliArgv;
struct CfgArgs;
void cliArgvAdd(CliArgv *a, const char *s);
void cliArgvAddf(CliArgv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cliArgvAddAll(CliArgv *a, const struct CfgArgs *args);
void cliArgvFree(CliArgv *a);

int cmdInit(const CfgValues *cfg);
int cmdBackup(const CfgValues *cfg);
int cmdSnapshots(const CfgValues *cfg);
int cmdLs(const CfgValues *cfg);
int cmdDiff(const CfgValues *cfg);
int cmdRestore(const CfgValues *cfg);
int cmdCheck(const CfgValues *cfg);
int cmdUnlock(const CfgValues *cfg);
int cmdStats(const CfgValues *cfg);
int cmdKey(const CfgValues *cfg);
/* lifeboat repair index|snapshots (src/cmd/repair.c) */
int cmdRepair(const CfgValues *cfg);
int cmdRun(const CfgValues *cfg);
int cmdDaemon(const CfgValues *cfg);
int cmdHistory(const CfgValues *cfg);
int cmdPoints(const CfgValues *cfg);
int cmdRecover(const CfgValues *cfg);
int cmdDrill(const CfgValues *cfg);
int cmdMetrics(const CfgValues *cfg); /* cmd/metrics.c */
int cmdReport(const CfgValues *cfg);  /* cmd/report.c */

/* argv -> option model -> verb; returns the exit code (cmd/dispatch.c). */
int cliMain(int argc, char **argv);
int cmdPrune(const CfgValues *cfg);
int cmdForget(const CfgValues *cfg);
int cmdCopy(const CfgValues *cfg);
/* PostgreSQL (src/cmd/pg_logical.c, src/cmd/pg_physical.c) */
int cmdBackupPgLogical(const CfgValues *cfg);   /* backup --pg URL */
int cmdRestorePgLogical(const CfgValues *cfg);  /* restore SNAPSHOT --pg-target URL */
int cmdBackupPgPhysical(const CfgValues *cfg);  /* backup --pg-physical */
int cmdRestorePgPhysical(const CfgValues *cfg); /* restore --pg-physical */
int cmdWalPush(const CfgValues *cfg);
int cmdWalFetch(const CfgValues *cfg);
int cmdPgCheck(const CfgValues *cfg);
int cmdWalStream(const CfgValues *cfg);
/* lifeboat schedule next EXPR (src/cmd/schedule.c) */
int cmdSchedule(const CfgValues *cfg);
/* lifeboat config check|show [FILE] (src/cmd/config.c) */
int cmdConfig(const CfgValues *cfg);

#endif
