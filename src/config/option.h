/*
 * option.h - the one table of command-line options and the table of verbs.
 *
 * Every option is declared once in cfgOptionTable (option.c): its long and
 * short form, value type, default, the verbs (and verb variants) that take
 * it, its environment variable, its future configuration-file key and its
 * help text. The parser (parse.h), every verb's --help and the option lists
 * of docs/commands.md are generated from it. Model: pgBackRest's
 * build/config/config.yaml.
 *
 * Repository-scoped options (CFG_SCOPE_REPOSITORY) exist twice: as --NAME for
 * the repository every verb works on, and as --from-NAME (environment
 * LIFEBOAT_FROM_...) for the source repository of copy and of init
 * --copy-chunker-params. Their values fill one CfgRepository per side
 * (parse.h); an S3 setting names its StorageOptions field with
 * CFG_STORAGE(field), so a new one is a CfgOptionId and one table entry:
 * parsing, environment, both sides, help and docs follow.
 */
#ifndef LIFEBOAT_CONFIG_OPTION_H
#define LIFEBOAT_CONFIG_OPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Verbs and verb variants. A variant shares its verb's name and is chosen
 * after parsing by its selector option (backup --pg, restore --pg-target). */
typedef enum CfgCommand {
    cfgCmdNone = -1,
    cfgCmdInit = 0,
    cfgCmdBackup,
    cfgCmdBackupPgPhysical,
    cfgCmdBackupPg,
    cfgCmdSnapshots,
    cfgCmdLs,
    cfgCmdDiff,
    cfgCmdRestore,
    cfgCmdRestorePgPhysical,
    cfgCmdRestorePg,
    cfgCmdCheck,
    cfgCmdCopy,
    cfgCmdForget,
    cfgCmdPrune,
    cfgCmdWalPush,
    cfgCmdWalFetch,
    cfgCmdWalStream,
    cfgCmdPgCheck,
    cfgCmdUnlock,
    cfgCmdStats,
    cfgCmdKey,
    cfgCmdRepair,
    cfgCmdConfig,
    cfgCmdSchedule,
    cfgCmdRun,
    cfgCmdDaemon,
    cfgCmdHistory,
    cfgCmdPoints,
    cfgCmdRecover,
    cfgCmdDrill,
    cfgCmdMetrics,
    cfgCmdReport,
    cfgCmdHelp,
    cfgCmdVersion,
    CFG_COMMAND_COUNT
} CfgCommand;

#define CFG_CMD(c) (UINT64_C(1) << (c))

typedef enum CfgOptionId {
    cfgOptNone = -1,
    /* global */
    cfgOptHelp = 0,
    cfgOptVersion,
    cfgOptJson,
    cfgOptQuiet,
    cfgOptVerbose,
    cfgOptNoCache,
    cfgOptMaxMemory,
    /* repository-scoped (also --from-NAME) */
    cfgOptRepo,
    cfgOptPasswordFile,
    cfgOptPasswordCommand,
    cfgOptS3PathStyle,
    cfgOptS3Region,
    cfgOptS3Sse,
    cfgOptS3SseKmsKeyId,
    cfgOptS3StorageClass,
    cfgOptCacert,
    cfgOptInsecureTls,
    cfgOptS3Profile,
    cfgOptS3CredentialsFile,
    cfgOptS3ConfigFile,
    cfgOptRetryLock,
    cfgOptNoLock,
    /* snapshot selection and recording */
    cfgOptTag,
    cfgOptHost,
    cfgOptComponent,
    cfgOptTime,
    cfgOptRecoveryPoint,
    /* init */
    cfgOptCompression,
    cfgOptKdfN,
    cfgOptChunkerReference,
    cfgOptChunkSize,
    cfgOptDumpChunkSize,
    cfgOptCopyChunkerParams,
    cfgOptNewPasswordFile,
    /* backup */
    cfgOptExclude,
    cfgOptExcludeFile,
    cfgOptOneFileSystem,
    cfgOptStdin,
    cfgOptStdinFilename,
    cfgOptStdinFromCommand,
    cfgOptForce,
    cfgOptParent,
    /* PostgreSQL */
    cfgOptPg,
    cfgOptPgPhysical,
    cfgOptPgBin,
    cfgOptPgCountRows,
    cfgOptPgNoGlobals,
    cfgOptCheckpoint,
    cfgOptWalMethod,
    cfgOptLabel,
    cfgOptPgTarget,
    cfgOptCreate,
    cfgOptClean,
    cfgOptJobs,
    cfgOptGlobals,
    cfgOptNoOwner,
    cfgOptNoAcl,
    cfgOptPgData,
    cfgOptToTime,
    cfgOptToLsn,
    cfgOptToXid,
    cfgOptToLatest,
    cfgOptToImmediate,
    cfgOptExclusive,
    cfgOptTargetAction,
    cfgOptPgUser,
    cfgOptPgPort,
    cfgOptPgSet,
    cfgOptRestoreCommand,
    cfgOptStart,
    cfgOptStartTimeout,
    cfgOptAhead,
    cfgOptSpool,
    cfgOptRetryErrors,
    cfgOptMaxAge,
    cfgOptMaxReady,
    cfgOptMaxLagBytes,
    cfgOptMaxLagSeconds,
    /* restore */
    cfgOptTarget,
    cfgOptInclude,
    cfgOptVerify,
    cfgOptDelete,
    cfgOptDryRun,
    cfgOptRepairForget,
    /* ls */
    cfgOptLong,
    cfgOptRecursive,
    /* check, unlock */
    cfgOptReadData,
    cfgOptReadDataSubset,
    cfgOptRemoveAll,
    /* forget, prune */
    cfgOptKeepLast,
    cfgOptKeepHourly,
    cfgOptKeepDaily,
    cfgOptKeepWeekly,
    cfgOptKeepMonthly,
    cfgOptKeepYearly,
    cfgOptKeepWithin,
    cfgOptKeepWithinHourly,
    cfgOptKeepWithinDaily,
    cfgOptKeepWithinWeekly,
    cfgOptKeepWithinMonthly,
    cfgOptKeepWithinYearly,
    cfgOptKeepTag,
    cfgOptGroupBy,
    cfgOptPrune,
    cfgOptMaxUnused,
    cfgOptMaxRepackSize,
    /* configuration file, scheduler, history */
    cfgOptConfig,
    cfgOptAfter,
    cfgOptCount,
    cfgOptTimezone,
    cfgOptJob,
    cfgOptSince,
    cfgOptLogFormat,
    cfgOptGracePeriod,
    /* recovery points, recover, drill */
    cfgOptAt,
    cfgOptRecoverTarget,
    cfgOptYes,
    cfgOptTable,
    cfgOptSchema,
    cfgOptReport,
    cfgOptDrills,
    /* monitoring: metrics, report */
    cfgOptPeriod,
    cfgOptFormat,
    cfgOptSend,
    cfgOptNoScan,
    /* issue 14: WAL retention (forget, prune) */
    cfgOptKeepWalWithin,

    /* issue 14: honest physical recovery, backup from a standby */
    cfgOptAllowPartial,
    cfgOptPgPrimary,
    cfgOptArchiveWait,

    /* issue 14: WAL throughput (wal-push --async, wal-fetch --prefetch) */
    cfgOptAsync,
    cfgOptPrefetch,
    cfgOptAsyncWait,
    cfgOptAsyncIdle,

    /* issue 14: WAL streaming (wal-stream) */
    cfgOptSlot,

    CFG_OPTION_COUNT
} CfgOptionId;

typedef enum CfgType {
    cfgTypeFlag,     /* no value */
    cfgTypeCount,    /* no value; counts repetitions (-vv) */
    cfgTypeString,   /* the last one given wins */
    cfgTypeStrings,  /* repeatable, each value kept as given (patterns may hold commas) */
    cfgTypeList,     /* comma-separated and repeatable: items, and each occurrence as a group */
    cfgTypeInt,      /* whole number in [min, max]; "unlimited" = -1 with CFG_OPT_UNLIMITED */
    cfgTypeSize,     /* lbParseSize: 500M, 2G */
    cfgTypePercent,  /* 0..100, with or without '%' */
    cfgTypeDuration, /* retention duration: 35d, 1y6m, 2d12h */
    cfgTypeTime,     /* 'YYYY-MM-DD HH:MM:SS' (UTC) or RFC 3339 */
    cfgTypeSeconds,  /* a span of time: 90s, 5m, 1h30m, 2d (lbParseSeconds); cfgInt gives seconds */
    cfgTypeEnum,     /* one of choices */
} CfgType;

typedef enum CfgScope {
    cfgScopeGlobal,     /* every verb, before or after it */
    cfgScopeRepository, /* every verb; --from-NAME on verbs with a source repository */
    cfgScopeCommand,    /* the verbs in commands */
} CfgScope;

/* flags */
#define CFG_OPT_SECRET_VALUE 0x1u /* the value may hold a password: never echoed in a message */
#define CFG_OPT_UNLIMITED 0x2u    /* cfgTypeInt: "unlimited" (or -1) is allowed and reads as -1 */
#define CFG_OPT_HIDDEN 0x4u       /* accepted, left out of help and docs */
#define CFG_OPT_NONZERO 0x8u      /* cfgTypePercent: more than 0 */
#define CFG_OPT_ENV_RECORD                                                                                             \
    0x10u /* its environment variable applies where it records (backup), not where it selects                          \
           */

/* Extra validation of a value already converted to its type; on failure
 * writes the reason (without the option's name) into err. */
typedef bool (*CfgCheck)(const char *value, LbError *err);

/* StorageOptions field a repository-scoped option fills (+1 so 0 means none). */
#define CFG_STORAGE(field) (offsetof(StorageOptions, field) + 1)

typedef struct CfgOption {
    const char *name; /* long form without "--" */
    char shortName;   /* 0: none */
    CfgType type;
    CfgScope scope;
    uint64_t commands;          /* cfgScopeCommand: CFG_CMD bits */
    const char *defaultValue;   /* as typed on a command line; NULL: none */
    int64_t min, max;           /* cfgTypeInt */
    const char *const *choices; /* cfgTypeEnum; cfgTypeList of fixed words */
    const char *env;            /* environment variable; NULL: none */
    const char *fileKey;        /* the configuration file's key (config/file.h; NAME: a repository, component or job) */
    const char *valueName;      /* in help: LOCATION, N, ... */
    const char *help;           /* what it does; on verbs that select snapshots, helpSelect when set */
    const char *helpSelect;     /* --tag, --host, --component: as a snapshot filter */
    unsigned flags;
    CfgCheck check;
    size_t storageField; /* CFG_STORAGE(...) or 0 */
} CfgOption;

typedef struct CfgCommandInfo {
    const char *name;     /* the verb as typed */
    CfgOptionId selector; /* option that chooses this variant; cfgOptNone for the plain verb */
    bool sourceRepo;      /* takes --from-repo and the other --from-* options */
    const char *usage;    /* synopsis after "lifeboat VERB" */
    const char *summary;
} CfgCommandInfo;

extern const CfgOption cfgOptionTable[CFG_OPTION_COUNT];
extern const CfgCommandInfo cfgCommandTable[CFG_COMMAND_COUNT];

/* Does command (a variant) accept option on the side named (from = the
 * --from- side)? */
bool cfgOptionAccepted(CfgOptionId id, CfgCommand cmd, bool from);
/* The option with this long name (without "--"); *from set when the name is
 * "from-" + a repository-scoped option. cfgOptNone when unknown. */
CfgOptionId cfgOptionFind(const char *name, size_t len, bool *from);
/* The plain verb named name (cfgCmdNone if none); variants follow it. */
CfgCommand cfgCommandFind(const char *name);
/* The environment variable of option on a side; NULL when none. Returns
 * buf or a constant. */
const char *cfgOptionEnv(CfgOptionId id, bool from, char *buf, size_t size);
/* The help text of option on command (cfgCmdNone: the general one). */
const char *cfgOptionHelp(CfgOptionId id, CfgCommand cmd);
/* "backup --pg": a command (variant) as typed; "lifeboat" for cfgCmdNone */
void cfgCommandLabel(CfgCommand cmd, char *buf, size_t size);
/* The label of option on a side ("--from-repo"). */
void cfgOptionLabel(CfgOptionId id, bool from, char *buf, size_t size);

#endif
