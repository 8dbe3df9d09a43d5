/*
 * file.h - the configuration file: one YAML file (libyaml) that describes the
 * platform's repositories, components, jobs and state directory, validated as
 * a whole on load.
 *
 * Every error names the file, line, column, the key path and the reason:
 *   platform.yaml:14:7: components.database.retention.keep_within: '35x' is
 *   not a duration (use 35d, 12h, 90m)
 * and every error of the file is reported at once. Keys that mirror a
 * command-line option (the option table's fileKey, config/option.h) are
 * validated by that option's own type and check, and become that option on
 * the verb the component or job runs (CfgArgs below), so a component runs
 * exactly as the same command line would. Secrets never sit in the file:
 * passwords come from password_file / password_command, other values may
 * reference the environment as ${NAME}; a literal password or secret key is
 * refused with a hint. docs/configuration.md documents every key.
 *
 * Ownership: cfgFileLoad returns a CfgFile that owns every string and array
 * reachable from it; cfgFileFree frees it (NULL is a no-op). Lookups return
 * borrowed pointers into it.
 */
#ifndef LIFEBOAT_CONFIG_FILE_H
#define LIFEBOAT_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "config/parse.h"

/* A NULL-terminated argument vector (v[n] == NULL). */
typedef struct CfgArgs {
    char **v;
    size_t n;
} CfgArgs;

typedef enum CfgConcurrency {
    cfgConcurrencyForbid = 0, /* a run due while the previous one runs is skipped (recorded) */
    cfgConcurrencyAllow,      /* runs may overlap */
    cfgConcurrencyReplace,    /* the running one is cancelled, the new one starts */
} CfgConcurrency;

/* When and how a component's backup or a job runs (keys at the component's
 * or job's level). Durations are seconds. */
typedef struct CfgRunPolicy {
    const char *schedule;       /* cron expression (sched/cron.h); NULL: only by `lifeboat run` */
    const char *timezone;       /* IANA name; default "UTC" */
    CfgConcurrency concurrency; /* concurrency_policy: Forbid | Allow | Replace; default Forbid */
    int64_t startingDeadline;   /* starting_deadline: later than this after its slot, a run is missed; 0: none */
    int retries;                /* retries after a failure; default 2 */
    int64_t backoff;            /* first retry delay, doubled per attempt, with jitter; default 30 */
    int64_t backoffMax;         /* backoff_max: cap of the delay; default 600 */
    int64_t timeout;            /* terminate (SIGTERM, then SIGKILL after kill_after) past this; 0: none */
    int64_t killAfter;          /* kill_after: default 30 */
    bool catchUp;               /* catch_up: after downtime, one run for the missed slots; default true */
    int successfulHistoryLimit; /* successful_history_limit: rows kept; -1 (default): no limit */
    int failedHistoryLimit;     /* failed_history_limit: rows kept; -1 (default): no limit */
    int64_t historyMaxAge;      /* history_max_age: ended rows older than this go; default 400d; 0: keep */
} CfgRunPolicy;

typedef struct CfgFileRepository {
    const char *name;
    bool isDefault;
    CfgArgs args;     /* as options of the main side: --repo=URL --password-file=F --s3-region=R ... */
    CfgArgs fromArgs; /* the same as --from-... options (copy's source) */
    int line;
    CfgArgs shown; /* args as config show prints them: secrets "<redacted>" */
} CfgFileRepository;

typedef enum CfgComponentType {
    cfgCompPostgres,         /* pg_dump of one database: backup --pg */
    cfgCompPostgresPhysical, /* base backup (+ WAL archiving): backup --pg-physical */
    cfgCompFiles,            /* paths: backup PATH... */
    cfgCompBucket,           /* an S3 bucket: backup s3:... */
    cfgCompCommand,          /* a command's output: backup --stdin-from-command -- CMD */
} CfgComponentType;

typedef struct CfgComponent {
    const char *name;
    CfgComponentType type;
    const char *repository; /* name of its repository (the default one when not given) */
    const char *host;       /* stable host identity; default: the configuration's name */
    const char *const *tags;
    size_t tagCount;
    CfgArgs backupArgs;           /* after the verb: "--pg" CONN ... "--component" NAME "--host" H "--tag" T ... */
    CfgArgs retentionArgs;        /* the --keep-* options of its retention; n == 0: no retention */
    int64_t rpo, rto;             /* objectives, seconds; -1 when not set */
    const char *recoveryTarget;   /* recovery.target: where `recover` restores it; NULL when not set */
    bool recoveryStart;           /* recovery.start: postgres-physical: start the recovered server (default false) */
    int64_t recoveryPort;         /* recovery.port: postgres-physical: the recovered server's port; 0: the backup's */
    const char *recoveryScratch;  /* recovery.scratch: bucket: where a drill restores (s3:...); NULL: a folder */
    const char *const *verifySql; /* verify.sql: queries a recovered database must pass (recover, drill) */
    size_t verifySqlCount;
    const char *consistencyQuery;  /* consistency.query: the object keys the database refers to */
    const char *consistencyBucket; /* consistency.bucket: the bucket component holding them */
    void *consistencyNode;         /* (private: where it was written, for errors) */
    CfgRunPolicy run;
    int line;
    const char *typeName; /* as written: "postgres", "files", ... */
    CfgArgs backupShown;  /* backupArgs as config show prints them: secrets "<redacted>" */
    /* issue 14: `stream: true` (postgres-physical): the daemon runs wal-stream for it */
    bool stream;
    const char *streamSlot; /* `slot:`; NULL: wal-stream's default */
} CfgComponent;

typedef enum CfgJobType {
    cfgJobBackup, /* the listed components into one recovery point */
    cfgJobCopy,   /* copy snapshots from repository to `to` */
    cfgJobForget, /* apply each listed component's retention (forget) */
    cfgJobPrune,  /* forget as above, then prune the repository */
    cfgJobCheck,  /* check the repository */
    cfgJobDrill,  /* DR drill (issue 12) */
    cfgJobReport, /* daily report (issue 13) */
} CfgJobType;

typedef struct CfgJob {
    const char *name;
    CfgJobType type;
    const char *const *components; /* backup: what it backs up; forget/prune: whose retention (empty: every component of
                                      the repository) */
    size_t componentCount;
    const char *repository; /* copy: the source; forget, prune, check: the repository (default one when not given) */
    const char *to;         /* copy: the target repository */
    const char *copyTo;     /* backup: after success, copy the recovery point to this repository (copy_to) */
    CfgArgs args;           /* the verb's own options from the job's keys (check --read-data-subset=5%, ...) */
    CfgRunPolicy run;
    int line;
    const char *typeName; /* as written: "backup", "copy", ... */
} CfgJob;

/* monitoring: the daemon's HTTP listener, the textfile, the refresh of
 * repository figures (docs/monitoring.md). */
typedef struct CfgMonitoring {
    const char *listen;    /* listen: "127.0.0.1:9188" (HOST:PORT); NULL: no listener */
    const char *tokenFile; /* token_file: bearer token the listener requires; NULL: none (loopback only) */
    const char *textfile;  /* textfile: node_exporter textfile written after each `lifeboat run`; NULL: none */
    int64_t refresh;       /* refresh: seconds between the daemon's repository scans; default 300 */
    int line;
} CfgMonitoring;

/* monitoring.listen "HOST:PORT" (HOST an IPv4 address, [IPv6] or
 * localhost) into host (without brackets) and port; *loopback: 127.0.0.0/8,
 * ::1 or localhost. False when it is not of that form (file_monitor.c). */
bool cfgListenParse(const char *listen, char *host, size_t hostSize, int *port, bool *loopback);

typedef enum CfgNotifyKind {
    cfgNotifySlack,   /* Slack-compatible incoming webhook: text + blocks */
    cfgNotifyWebhook, /* generic JSON webhook (docs/monitoring.md schema) */
    cfgNotifyEmail,   /* SMTP (libcurl) */
} CfgNotifyKind;

/* notifications.NAME: where alerts and reports go (docs/monitoring.md). */
typedef struct CfgNotification {
    const char *name;
    CfgNotifyKind kind;
    const char *kindName;      /* as written: "slack", "webhook", "email" */
    const char *const *events; /* the events it receives; NULL: the default (all but report) */
    size_t eventCount;
    /* slack, webhook: the URL is a secret, read when sending from a file
     * (url_file) or an environment variable (url_env); one is set */
    const char *urlFile, *urlEnv;
    /* email */
    const char *smtpUrl;   /* smtp://HOST:PORT or smtps://HOST:PORT */
    const char *from;      /* the sender's address */
    const char *const *to; /* the recipients */
    size_t toCount;
    const char *username;                   /* NULL: no authentication */
    const char *passwordFile, *passwordEnv; /* the SMTP password's secret; NULL: none */
    int64_t remindEvery;                    /* seconds between reminders of a firing alert; 0: none (default 4h) */
    int64_t timeout;                        /* seconds per attempt (default 10) */
    int retries;                            /* attempts after the first (default 3) */
    int line;
} CfgNotification;

typedef struct CfgFile {
    const char *path;
    const char *name;     /* `name:`, default the file name without its extension ("platform") */
    const char *stateDir; /* `state:` default /var/lib/lifeboat */
    CfgFileRepository *repositories;
    size_t repositoryCount;
    CfgComponent *components;
    size_t componentCount;
    CfgJob *jobs;
    size_t jobCount;
    const char *host; /* `host:` default host identity of the components (default: name) */
    CfgMonitoring monitoring;
    CfgNotification *notifications;
    size_t notificationCount;
    void **owned; /* every string and array above (private) */
    size_t ownedCount;
} CfgFile;

/* Load and validate path. NULL when the file is invalid or unreadable: err
 * (LB_ERR_ARGS, or LB_ERR_IO when it cannot be read) summarises, and
 * *messages (when messages is not NULL; caller frees) holds every error, one
 * per line, each "FILE:LINE:COL: KEY.PATH: reason". */
CfgFile *cfgFileLoad(const char *path, char **messages, LbError *err);
void cfgFileFree(CfgFile *file);

const CfgFileRepository *cfgFileRepository(const CfgFile *file, const char *name); /* NULL name: the default */
const CfgComponent *cfgFileComponent(const CfgFile *file, const char *name);
const CfgJob *cfgFileJob(const CfgFile *file, const char *name);

/* The effective configuration as YAML, every default filled in and every
 * secret (a connection string's password, a value from a ${VAR} of a secret
 * key) replaced by "<redacted>". */
bool cfgFileShow(const CfgFile *file, FILE *out, LbError *err);

/* The verb a component or job runs ("backup", "forget", ...; NULL for the
 * job types whose runs arrive later: drill, report) and the command of its
 * cfgParse (backup --pg: cfgCmdBackupPg). */
const char *cfgComponentVerb(const CfgComponent *c, CfgCommand *cmd);
const char *cfgJobVerb(const CfgJob *j, CfgCommand *cmd);

#endif
