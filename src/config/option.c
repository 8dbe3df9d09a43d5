/* option.c - the option table and the verb table (see option.h). */
#include "config/option.h"

#include <stdio.h>
#include <string.h>

#include "chunker/chunker.h"
#include "common/buf.h"
#include "common/membudget.h"
#include "common/timeutil.h"
#include "pg/wal.h"
#include "storage/options.h"

/* ---- checks of values beyond their type ---- */

static bool checkPowerOfTwo(const char *v, LbError *err) {
    uint64_t n = 0;
    for (const char *p = v; *p; p++)
        n = n * 10 + (uint64_t)(*p - '0');
    if (n < 1024 || (n & (n - 1)) != 0)
        return lbErr(err, LB_ERR_ARGS, "a power of two >= 1024");
    return true;
}

/* --at: a time (common/timeutil.h lbParseAt) or a recovery point ID (NAME@TIME, as `points` lists them) */
static bool checkMemory(const char *v, LbError *err) {
    if (lbMemoryBudgetValid(v))
        return true;
    return lbErr(err, LB_ERR_ARGS, "below the least a backup plans for (64M)");
}

static bool checkAt(const char *v, LbError *err) {
    int64_t ns;
    if (strchr(v, '@') || lbParseAt(v, lbNowNs(), &ns))
        return true;
    return lbErr(err, LB_ERR_ARGS,
                 "expected 'latest', a time ('2026-11-23T14:05:00Z', '2026-11-23 14:05' in UTC), a span before now "
                 "(-2h, -3d) or a recovery point ID (NAME@TIME)");
}

/* "MIN,AVG,MAX" with size units (64K, 1M) */
static bool checkChunkSizes(const char *v, LbError *err) {
    uint64_t sz[3];
    const char *p = v;
    for (int i = 0; i < 3; i++) {
        const char *comma = strchr(p, ',');
        size_t n = (i < 2 && comma) ? (size_t)(comma - p) : strlen(p);
        char part[32];
        if ((i < 2 && comma == NULL) || (i == 2 && comma != NULL) || n == 0 || n >= sizeof(part))
            return lbErr(err, LB_ERR_ARGS, "expected MIN,AVG,MAX (for example 8K,32K,128K)");
        memcpy(part, p, n);
        part[n] = '\0';
        if (!lbParseSize(part, &sz[i]) || sz[i] > UINT32_MAX)
            return lbErr(err, LB_ERR_ARGS, "'%s' is not a size", part);
        p += n + 1;
    }
    ChunkerParams cp = {(uint32_t)sz[0], (uint32_t)sz[1], (uint32_t)sz[2], CHUNKER_DEFAULT_NORMALIZATION};
    LbError why = {0};
    if (!chunkerParamsValid(&cp, &why))
        return lbErr(err, LB_ERR_ARGS, "%s", why.msg);
    return true;
}

static bool checkLsn(const char *v, LbError *err) {
    uint64_t lsn;
    if (!walLsnParse(v, &lsn))
        return lbErr(err, LB_ERR_ARGS, "expected an LSN such as 0/3000060");
    return true;
}

/* NAME=VALUE, NAME of letters, digits, '_' and '.', no newline */
static bool checkSetting(const char *v, LbError *err) {
    const char *eq = strchr(v, '=');
    if (eq == NULL || eq == v || strchr(v, '\n') != NULL)
        return lbErr(err, LB_ERR_ARGS, "expected NAME=VALUE");
    for (const char *p = v; p < eq; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '.'))
            return lbErr(err, LB_ERR_ARGS, "bad parameter name");
    return true;
}

/* a file name: not empty, no '/', not "." or ".." */
static bool checkPlainName(const char *v, LbError *err) {
    if (v[0] == '\0' || strchr(v, '/') || strcmp(v, ".") == 0 || strcmp(v, "..") == 0)
        return lbErr(err, LB_ERR_ARGS, "it must be a plain file name");
    return true;
}

/* ---- the tables ---- */

#define C(x) CFG_CMD(cfgCmd##x)
#define BACKUP_ANY (C(Backup) | C(BackupPg) | C(BackupPgPhysical))
#define RESTORE_ANY (C(Restore) | C(RestorePg) | C(RestorePgPhysical))
/* verbs that select snapshots by --tag, --host, --component */
#define SELECTING (C(Snapshots) | C(Ls) | C(Diff) | RESTORE_ANY | C(Forget) | C(Copy))
/* verbs that pick the snapshot current at a time (--at) or of a recovery point */
#define AT_SELECTING (C(Snapshots) | C(Ls) | RESTORE_ANY)
#define KEEP_COUNT(n, key, s, what)                                                                                    \
    {                                                                                                                  \
        .name = n, .shortName = s, .type = cfgTypeInt, .scope = cfgScopeCommand, .commands = C(Forget),                \
        .max = 1000000000, .fileKey = "components.NAME.retention." key, .valueName = "N", .help = what,                \
        .flags = CFG_OPT_UNLIMITED                                                                                     \
    }
#define KEEP_WITHIN(n, key, what)                                                                                      \
    {                                                                                                                  \
        .name = n, .type = cfgTypeDuration, .scope = cfgScopeCommand, .commands = C(Forget),                           \
        .fileKey = "components.NAME.retention." key, .valueName = "D",                                                 \
        .help = "keep " what " within D of the newest snapshot (35d, 1y6m, 2d12h)"                                     \
    }

static const char *const countRowsChoices[] = {"exact", "estimate", NULL};
static const char *const checkpointChoices[] = {"fast", "spread", NULL};
static const char *const walMethodChoices[] = {"fetch", "none", NULL};
static const char *const actionChoices[] = {"promote", "pause", "shutdown", NULL};
static const char *const groupByChoices[] = {"host", "component", "paths", "tags", NULL};
static const char *const logFormatChoices[] = {"text", "json", NULL};
static const char *const reportChoices[] = {"text", "json", "html", NULL};
static const char *const formatChoices[] = {"text", "json", "html", "markdown", NULL};

const CfgOption cfgOptionTable[CFG_OPTION_COUNT] = {
    [cfgOptHelp] = {"help", 'h', cfgTypeFlag, cfgScopeGlobal, .help = "show this help"},
    [cfgOptVersion] = {"version", 0, cfgTypeFlag, cfgScopeGlobal, .help = "print the version", .flags = CFG_OPT_HIDDEN},
    [cfgOptJson] = {"json", 0, cfgTypeFlag, cfgScopeGlobal,
                    .help = "machine-readable output on stdout (implies --quiet for human text)"},
    [cfgOptQuiet] = {"quiet", 'q', cfgTypeFlag, cfgScopeGlobal, .help = "print nothing but errors"},
    [cfgOptVerbose] = {"verbose", 'v', cfgTypeCount, cfgScopeGlobal, .help = "more detail on stderr (-vv for debug)"},
    [cfgOptNoCache] = {"no-cache", 0, cfgTypeFlag, cfgScopeGlobal,
                       .help = "read everything from the repository, keep no local cache (as LIFEBOAT_NO_CACHE=1)"},
    [cfgOptMaxMemory] = {"max-memory", 0, cfgTypeSize, cfgScopeGlobal, .env = "LIFEBOAT_MAX_MEMORY",
                         .valueName = "SIZE",
                         .help = "the memory the backup pipeline plans for (default: half the cgroup's limit, else 1G)",
                         .check = checkMemory},

    [cfgOptRepo] = {"repo", 'r', cfgTypeString, cfgScopeRepository, .env = "LIFEBOAT_REPOSITORY",
                    .fileKey = "repositories.NAME.url", .valueName = "LOCATION",
                    .help = "repository: a directory (or local:PATH), s3:https://HOST[:PORT]/BUCKET[/PREFIX] or "
                            "s3:BUCKET[/PREFIX] (AWS)"},
    [cfgOptPasswordFile] = {"password-file", 'p', cfgTypeString, cfgScopeRepository, .env = "LIFEBOAT_PASSWORD_FILE",
                            .fileKey = "repositories.NAME.password_file", .valueName = "FILE",
                            .help = "read the password from the first line of FILE"},
    [cfgOptPasswordCommand] = {"password-command", 0, cfgTypeString, cfgScopeRepository,
                               .env = "LIFEBOAT_PASSWORD_COMMAND", .fileKey = "repositories.NAME.password_command",
                               .valueName = "CMD", .help = "run CMD with sh -c and use the first line it prints"},
    [cfgOptS3PathStyle] = {"s3-path-style", 0, cfgTypeFlag, cfgScopeRepository, .env = "LIFEBOAT_S3_PATH_STYLE",
                           .fileKey = "repositories.NAME.s3.path_style",
                           .help = "path-style S3 addressing (automatic for IP and localhost endpoints)",
                           .storageField = CFG_STORAGE(s3.pathStyle)},
    [cfgOptS3Region] = {"s3-region", 0, cfgTypeString, cfgScopeRepository, .env = "LIFEBOAT_S3_REGION",
                        .fileKey = "repositories.NAME.s3.region", .valueName = "R",
                        .help = "signing region (default: AWS_REGION, the profile's, us-east-1)",
                        .storageField = CFG_STORAGE(s3.region)},
    [cfgOptS3Sse] = {"s3-sse", 0, cfgTypeString, cfgScopeRepository, .env = "LIFEBOAT_S3_SSE",
                     .fileKey = "repositories.NAME.s3.sse", .valueName = "AES256|aws:kms",
                     .help = "server-side encryption header on every upload", .storageField = CFG_STORAGE(s3.sse)},
    [cfgOptS3SseKmsKeyId] = {"s3-sse-kms-key-id", 0, cfgTypeString, cfgScopeRepository,
                             .env = "LIFEBOAT_S3_SSE_KMS_KEY_ID", .fileKey = "repositories.NAME.s3.sse_kms_key_id",
                             .valueName = "ID", .help = "KMS key for aws:kms",
                             .storageField = CFG_STORAGE(s3.sseKmsKeyId)},
    [cfgOptS3StorageClass] = {"s3-storage-class", 0, cfgTypeString, cfgScopeRepository,
                              .env = "LIFEBOAT_S3_STORAGE_CLASS", .fileKey = "repositories.NAME.s3.storage_class",
                              .valueName = "C",
                              .help = "storage class of packs, WAL and bucket objects, e.g. STANDARD_IA (config, keys, "
                                      "locks, index and snapshots keep the default)",
                              .storageField = CFG_STORAGE(s3.storageClass)},
    [cfgOptCacert] = {"cacert", 0, cfgTypeString, cfgScopeRepository, .env = "LIFEBOAT_S3_CA_BUNDLE",
                      .fileKey = "repositories.NAME.s3.ca_bundle", .valueName = "FILE",
                      .help = "trusted CA certificates (PEM)", .storageField = CFG_STORAGE(s3.caBundle)},
    [cfgOptInsecureTls] = {"insecure-tls", 0, cfgTypeFlag, cfgScopeRepository, .env = "LIFEBOAT_S3_INSECURE_TLS",
                           .fileKey = "repositories.NAME.s3.insecure_tls",
                           .help = "do not verify the server certificate (test rigs only)",
                           .storageField = CFG_STORAGE(s3.insecureTls)},
    /* credentials: no flag takes a secret; the key pair comes from the
     * environment (AWS_ACCESS_KEY_ID, ...) or a credentials file only, and a
     * profile or file named here wins over a key pair in the environment */
    [cfgOptS3Profile] = {"s3-profile", 0, cfgTypeString, cfgScopeRepository, .fileKey = "repositories.NAME.s3.profile",
                         .valueName = "NAME",
                         .help = "credentials profile (default: AWS_PROFILE, else 'default') of the credentials file",
                         .storageField = CFG_STORAGE(s3.profile)},
    [cfgOptS3CredentialsFile] = {"s3-credentials-file", 0, cfgTypeString, cfgScopeRepository,
                                 .fileKey = "repositories.NAME.s3.credentials_file", .valueName = "FILE",
                                 .help = "AWS shared credentials file (default: AWS_SHARED_CREDENTIALS_FILE, "
                                         "~/.aws/credentials)",
                                 .storageField = CFG_STORAGE(s3.credentialsFile)},
    [cfgOptS3ConfigFile] = {"s3-config-file", 0, cfgTypeString, cfgScopeRepository,
                            .fileKey = "repositories.NAME.s3.config_file", .valueName = "FILE",
                            .help = "AWS shared config file (default: AWS_CONFIG_FILE, ~/.aws/config)",
                            .storageField = CFG_STORAGE(s3.configFile)},

    [cfgOptRetryLock] = {"retry-lock", 0, cfgTypeSeconds, cfgScopeGlobal, .env = "LIFEBOAT_RETRY_LOCK",
                         .valueName = "DURATION",
                         .help = "when another process holds the repository lock, wait up to DURATION (30s, 5m, "
                                 "1h) for it instead of failing"},
    [cfgOptNoLock] = {"no-lock", 0, cfgTypeFlag, cfgScopeCommand, RESTORE_ANY | C(Check) | C(Copy),
                      .help = "read without storing a lock (copy: on the source); a read-only repository is read "
                              "without one anyway"},
    [cfgOptTag] = {"tag", 0, cfgTypeList, cfgScopeCommand, BACKUP_ANY | SELECTING, .fileKey = "components.NAME.tags",
                   .valueName = "T[,T2]", .help = "add the tags T and T2 (repeatable)",
                   .helpSelect = "select snapshots that have T and T2; several --tag options are alternatives"},
    [cfgOptHost] = {"host", 'H', cfgTypeString, cfgScopeCommand, BACKUP_ANY | SELECTING, .env = "LIFEBOAT_HOST",
                    .fileKey = "components.NAME.host", .valueName = "H",
                    .help = "record host H (default: this machine's name; in a container set a stable one)",
                    .helpSelect = "select snapshots of host H", .flags = CFG_OPT_ENV_RECORD},
    [cfgOptComponent] = {"component", 0, cfgTypeString, cfgScopeCommand, BACKUP_ANY | SELECTING,
                         .fileKey = "components.NAME", .valueName = "NAME",
                         .help = "the platform component (database, uploads, configs, logs, ...)",
                         .helpSelect = "select snapshots of component NAME"},
    [cfgOptTime] = {"time", 0, cfgTypeTime, cfgScopeCommand, C(Backup) | C(BackupPg), .valueName = "TIME",
                    .help = "record the snapshot under TIME: 'YYYY-MM-DD HH:MM:SS' (UTC) or RFC 3339"},
    [cfgOptRecoveryPoint] = {"recovery-point", 0, cfgTypeString, cfgScopeCommand, BACKUP_ANY | AT_SELECTING,
                             .valueName = "ID", .help = "group the snapshots taken by one run under recovery point ID",
                             .helpSelect = "select the snapshots of recovery point ID"},

    [cfgOptCompression] = {"compression", 0, cfgTypeInt, cfgScopeCommand, C(Init), "3", 1, 19, .valueName = "LEVEL",
                           .help = "zstd level of the new repository"},
    [cfgOptKdfN] = {"kdf-n", 0, cfgTypeInt, cfgScopeCommand, C(Init), "32768", 1024, INT64_C(1) << 40, .valueName = "N",
                    .help = "scrypt's N, a power of two (tests use 1024 to run fast)", .check = checkPowerOfTwo},
    [cfgOptChunkerReference] = {"chunker-reference", 0, cfgTypeFlag, cfgScopeCommand, C(Init),
                                .help = "use the published FastCDC gear table (test repositories only: chunk "
                                        "boundaries then reveal content)"},
    [cfgOptChunkSize] = {"chunk-size", 0, cfgTypeString, cfgScopeCommand, C(Init), "512K,1M,8M",
                         .valueName = "MIN,AVG,MAX", .help = "chunk sizes of files (MIN >= 64, MAX <= 64M)",
                         .check = checkChunkSizes},
    [cfgOptDumpChunkSize] = {"dump-chunk-size", 0, cfgTypeString, cfgScopeCommand, C(Init), "8K,32K,128K",
                             .valueName = "MIN,AVG,MAX", .help = "chunk sizes of logical database dumps",
                             .check = checkChunkSizes},
    [cfgOptCopyChunkerParams] = {"copy-chunker-params", 0, cfgTypeFlag, cfgScopeCommand, C(Init),
                                 .help = "chunk like the repository --from-repo names (for copy)"},
    [cfgOptNewPasswordFile] = {"new-password-file", 0, cfgTypeString, cfgScopeCommand, C(Key),
                               .env = "LIFEBOAT_NEW_PASSWORD_FILE", .valueName = "FILE",
                               .help = "key add, key passwd: read the new password from the first line of FILE"},

    [cfgOptExclude] = {"exclude", 'e', cfgTypeStrings, cfgScopeCommand, C(Backup) | C(Restore),
                       .fileKey = "components.NAME.exclude", .valueName = "PATTERN",
                       .help = "leave out what matches the glob PATTERN (without '/': any name; with '/': the whole "
                               "path); repeatable"},
    [cfgOptExcludeFile] = {"exclude-file", 0, cfgTypeStrings, cfgScopeCommand, C(Backup),
                           .fileKey = "components.NAME.exclude_file", .valueName = "FILE",
                           .help = "read exclude patterns from FILE, one a line (# comments)"},
    [cfgOptOneFileSystem] = {"one-file-system", 'x', cfgTypeFlag, cfgScopeCommand, C(Backup),
                             .fileKey = "components.NAME.one_file_system",
                             .help = "do not descend into other file systems"},
    [cfgOptStdin] = {"stdin", 0, cfgTypeFlag, cfgScopeCommand, C(Backup), .help = "back up standard input as one file"},
    [cfgOptStdinFilename] = {"stdin-filename", 0, cfgTypeString, cfgScopeCommand, C(Backup),
                             .fileKey = "components.NAME.filename", .valueName = "NAME",
                             .help = "file name for --stdin or --stdin-from-command (default: stdin, or CMD)",
                             .check = checkPlainName},
    [cfgOptStdinFromCommand] = {"stdin-from-command", 0, cfgTypeFlag, cfgScopeCommand, C(Backup),
                                .help = "run the command after '--' and back up its output; no snapshot if it fails"},
    [cfgOptForce] = {"force", 'f', cfgTypeFlag, cfgScopeCommand, C(Backup),
                     .help = "read every file (or object), even when the parent snapshot has it unchanged"},
    [cfgOptParent] = {"parent", 0, cfgTypeString, cfgScopeCommand, C(Backup), .valueName = "SNAPSHOT",
                      .help = "compare with SNAPSHOT instead of the newest one of the same host, component and paths"},

    [cfgOptPg] = {"pg", 0, cfgTypeString, cfgScopeCommand,
                  C(BackupPg) | C(BackupPgPhysical) | C(PgCheck) | C(WalStream),
                  .fileKey = "components.NAME.connection", .valueName = "CONNECTION",
                  .help = "libpq connection string or URI (\"\" for the PG* environment)",
                  .flags = CFG_OPT_SECRET_VALUE},
    [cfgOptPgPhysical] = {"pg-physical", 0, cfgTypeFlag, cfgScopeCommand, C(BackupPgPhysical) | C(RestorePgPhysical),
                          .help = "a physical PostgreSQL backup (pg_basebackup) or point-in-time restore"},
    [cfgOptPgBin] = {"pg-bin", 0, cfgTypeString, cfgScopeCommand,
                     C(BackupPg) | C(BackupPgPhysical) | C(RestorePg) | C(RestorePgPhysical) | C(WalStream),
                     .fileKey = "components.NAME.pg_bin", .valueName = "DIR",
                     .help = "directory of the PostgreSQL client programs (default: PATH)"},
    [cfgOptPgCountRows] = {"pg-count-rows", 0, cfgTypeEnum, cfgScopeCommand, C(BackupPg), "exact",
                           .choices = countRowsChoices, .valueName = "exact|estimate",
                           .help = "row counts: of the stored dump, or the planner's estimates"},
    [cfgOptPgNoGlobals] = {"pg-no-globals", 0, cfgTypeFlag, cfgScopeCommand, C(BackupPg),
                           .help = "do not run pg_dumpall --globals-only"},
    [cfgOptCheckpoint] = {"checkpoint", 0, cfgTypeEnum, cfgScopeCommand, C(BackupPgPhysical), "fast",
                          .choices = checkpointChoices, .valueName = "fast|spread",
                          .help = "checkpoint mode of pg_basebackup"},
    [cfgOptWalMethod] = {"wal-method", 0, cfgTypeEnum, cfgScopeCommand, C(BackupPgPhysical), "fetch",
                         .choices = walMethodChoices, .valueName = "fetch|none",
                         .help = "fetch: WAL inside the backup; none: archived WAL only"},
    [cfgOptLabel] = {"label", 0, cfgTypeString, cfgScopeCommand, C(BackupPgPhysical), .valueName = "TEXT",
                     .help = "backup label (default: lifeboat and the time)"},
    [cfgOptPgTarget] = {"pg-target", 0, cfgTypeString, cfgScopeCommand, C(RestorePg), .valueName = "CONNECTION",
                        .help = "restore a logical snapshot into the database CONNECTION names",
                        .flags = CFG_OPT_SECRET_VALUE},
    [cfgOptCreate] = {"create", 0, cfgTypeFlag, cfgScopeCommand, C(RestorePg),
                      .help = "create the target database first"},
    [cfgOptClean] = {"clean", 0, cfgTypeFlag, cfgScopeCommand, C(RestorePg) | C(Recover),
                     .help = "drop each object before creating it (recover: accept targets that are not empty)"},
    [cfgOptJobs] = {"jobs", 'j', cfgTypeInt, cfgScopeCommand, C(RestorePg), NULL, 1, 256, .valueName = "N",
                    .help = "parallel pg_restore (the dump goes through a temporary file)"},
    [cfgOptGlobals] = {"globals", 0, cfgTypeFlag, cfgScopeCommand, C(RestorePg),
                       .help = "run globals.sql (roles) first"},
    [cfgOptNoOwner] = {"no-owner", 'O', cfgTypeFlag, cfgScopeCommand, C(RestorePg), .help = "pg_restore --no-owner"},
    [cfgOptNoAcl] = {"no-acl", 'x', cfgTypeFlag, cfgScopeCommand, C(RestorePg), .help = "pg_restore --no-acl"},
    [cfgOptPgData] = {"pg-data", 0, cfgTypeString, cfgScopeCommand, C(RestorePgPhysical), .valueName = "DIR",
                      .help = "the data directory to restore into (missing or empty)"},
    [cfgOptToTime] = {"to-time", 0, cfgTypeTime, cfgScopeCommand, C(RestorePgPhysical), .valueName = "TIME",
                      .help = "recover to TIME: 'YYYY-MM-DD HH:MM:SS[.frac][+HH[:MM]]' (UTC without a zone) or RFC "
                              "3339"},
    [cfgOptToLsn] = {"to-lsn", 0, cfgTypeString, cfgScopeCommand, C(RestorePgPhysical), .valueName = "LSN",
                     .help = "recover to LSN", .check = checkLsn},
    [cfgOptToXid] = {"to-xid", 0, cfgTypeInt, cfgScopeCommand, C(RestorePgPhysical), NULL, 3, INT64_MAX,
                     .valueName = "XID", .help = "recover to transaction XID"},
    [cfgOptToLatest] = {"to-latest", 0, cfgTypeFlag, cfgScopeCommand, C(RestorePgPhysical),
                        .help = "recover to the end of the archive (the default)"},
    [cfgOptToImmediate] = {"to-immediate", 0, cfgTypeFlag, cfgScopeCommand, C(RestorePgPhysical),
                           .help = "recover to the end of the base backup"},
    [cfgOptExclusive] = {"exclusive", 0, cfgTypeFlag, cfgScopeCommand, C(RestorePgPhysical),
                         .help = "stop just before the target"},
    [cfgOptTargetAction] = {"target-action", 0, cfgTypeEnum, cfgScopeCommand, C(RestorePgPhysical), "promote",
                            .choices = actionChoices, .valueName = "promote|pause|shutdown",
                            .help = "what the server does at the target"},
    [cfgOptPgUser] = {"pg-user", 0, cfgTypeString, cfgScopeCommand, C(RestorePgPhysical), .valueName = "USER",
                      .help = "owner of the data directory when run as root (default: postgres)"},
    [cfgOptPgPort] = {"pg-port", 0, cfgTypeInt, cfgScopeCommand, C(RestorePgPhysical), NULL, 1, 65535,
                      .valueName = "PORT", .help = "port of the restored server"},
    [cfgOptPgSet] = {"pg-set", 0, cfgTypeStrings, cfgScopeCommand, C(RestorePgPhysical), .valueName = "NAME=VALUE",
                     .help = "a setting for postgresql.auto.conf; repeatable", .check = checkSetting},
    [cfgOptRestoreCommand] = {"restore-command", 0, cfgTypeString, cfgScopeCommand, C(RestorePgPhysical),
                              .valueName = "CMD", .help = "restore_command to write instead of lifeboat wal-fetch"},
    [cfgOptStart] = {"start", 0, cfgTypeFlag, cfgScopeCommand, C(RestorePgPhysical),
                     .help = "start the server and wait until recovery ends"},
    [cfgOptStartTimeout] = {"start-timeout", 0, cfgTypeInt, cfgScopeCommand, C(RestorePgPhysical), "3600", 0, 86400 * 7,
                            .valueName = "SECONDS", .help = "how long --start waits"},
    [cfgOptAhead] = {"ahead", 0, cfgTypeInt, cfgScopeCommand, C(WalPush), "0", 0, 64, .valueName = "N",
                     .help = "also push up to N further ready WAL files, in parallel (needs --spool)"},
    [cfgOptSpool] = {"spool", 0, cfgTypeString, cfgScopeCommand, C(WalPush) | C(WalFetch) | C(WalStream),
                     .valueName = "DIR", .help = "local spool directory (markers, prefetched or streamed WAL)"},
    [cfgOptRetryErrors] = {"retry-errors", 0, cfgTypeFlag, cfgScopeCommand, C(WalFetch),
                           .help = "exit 1 on every failure (a standby that keeps retrying), not 126"},
    [cfgOptMaxAge] = {"max-age", 0, cfgTypeInt, cfgScopeCommand, C(PgCheck), "3600", 0, INT64_MAX,
                      .valueName = "SECONDS", .help = "FAILING when files wait and nothing was archived for longer"},
    [cfgOptMaxReady] = {"max-ready", 0, cfgTypeInt, cfgScopeCommand, C(PgCheck), "16", 0, INT64_MAX, .valueName = "N",
                        .help = "WARNING when more WAL files wait to be archived"},
    [cfgOptMaxLagBytes] = {"max-lag-bytes", 0, cfgTypeInt, cfgScopeCommand, C(PgCheck), "67108864", 0, INT64_MAX,
                           .valueName = "N", .help = "WARNING when a standby replays more bytes behind"},
    [cfgOptMaxLagSeconds] = {"max-lag-seconds", 0, cfgTypeInt, cfgScopeCommand, C(PgCheck), "300", 0, INT64_MAX,
                             .valueName = "S", .help = "WARNING when a standby replays more seconds behind"},

    [cfgOptTarget] = {"target", 't', cfgTypeString, cfgScopeCommand, C(Restore), .valueName = "DIR|s3:...",
                      .help = "restore into the directory DIR (created if missing) or an S3 bucket"},
    [cfgOptInclude] = {"include", 'i', cfgTypeStrings, cfgScopeCommand, C(Restore), .valueName = "PATTERN",
                       .help = "restore only what matches PATTERN; repeatable"},
    [cfgOptVerify] = {"verify", 0, cfgTypeFlag, cfgScopeCommand, C(Restore) | C(RestorePg),
                      .help = "read back what was restored and check it (files: blob IDs; database: row counts)"},
    [cfgOptDelete] = {"delete", 0, cfgTypeFlag, cfgScopeCommand, C(Restore),
                      .help = "s3: target: remove objects under the prefix that are not in the snapshot"},
    [cfgOptDryRun] = {"dry-run", 'n', cfgTypeFlag, cfgScopeCommand,
                      C(Restore) | C(Forget) | C(Prune) | C(Repair) | C(Recover),
                      .help = "show what would be done, change nothing"},
    [cfgOptRepairForget] = {"forget", 0, cfgTypeFlag, cfgScopeCommand, C(Repair),
                            .help = "repair snapshots: remove each original once its repaired snapshot is written"},

    [cfgOptLong] = {"long", 'l', cfgTypeFlag, cfgScopeCommand, C(Ls), .help = "show mode, owner, size and mtime"},
    [cfgOptRecursive] = {"recursive", 'R', cfgTypeFlag, cfgScopeCommand, C(Ls),
                         .help = "accepted for compatibility: ls always lists recursively"},

    [cfgOptReadData] = {"read-data", 0, cfgTypeFlag, cfgScopeCommand, C(Check), .fileKey = "jobs.NAME.read_data",
                        .help = "download and verify every pack"},
    [cfgOptReadDataSubset] = {"read-data-subset", 0, cfgTypePercent, cfgScopeCommand, C(Check),
                              .fileKey = "jobs.NAME.read_data_subset", .valueName = "N%",
                              .help = "download and verify a random N% of the packs", .flags = CFG_OPT_NONZERO},
    [cfgOptRemoveAll] = {"remove-all", 0, cfgTypeFlag, cfgScopeCommand, C(Unlock),
                         .help = "remove every lock, not only stale ones"},

    [cfgOptKeepLast] = KEEP_COUNT("keep-last", "keep_last", 'l', "keep the N newest snapshots"),
    [cfgOptKeepHourly] =
        KEEP_COUNT("keep-hourly", "keep_hourly", 0, "keep the newest snapshot of each of the last N hours"),
    [cfgOptKeepDaily] =
        KEEP_COUNT("keep-daily", "keep_daily", 'd', "keep the newest snapshot of each of the last N days"),
    [cfgOptKeepWeekly] =
        KEEP_COUNT("keep-weekly", "keep_weekly", 'w', "keep the newest snapshot of each of the last N ISO weeks"),
    [cfgOptKeepMonthly] =
        KEEP_COUNT("keep-monthly", "keep_monthly", 'm', "keep the newest snapshot of each of the last N months"),
    [cfgOptKeepYearly] =
        KEEP_COUNT("keep-yearly", "keep_yearly", 'y', "keep the newest snapshot of each of the last N years"),
    [cfgOptKeepWithin] = KEEP_WITHIN("keep-within", "keep_within", "every snapshot"),
    [cfgOptKeepWithinHourly] =
        KEEP_WITHIN("keep-within-hourly", "keep_within_hourly", "the newest snapshot of each hour"),
    [cfgOptKeepWithinDaily] = KEEP_WITHIN("keep-within-daily", "keep_within_daily", "the newest snapshot of each day"),
    [cfgOptKeepWithinWeekly] =
        KEEP_WITHIN("keep-within-weekly", "keep_within_weekly", "the newest snapshot of each week"),
    [cfgOptKeepWithinMonthly] =
        KEEP_WITHIN("keep-within-monthly", "keep_within_monthly", "the newest snapshot of each month"),
    [cfgOptKeepWithinYearly] =
        KEEP_WITHIN("keep-within-yearly", "keep_within_yearly", "the newest snapshot of each year"),
    [cfgOptKeepTag] = {"keep-tag", 0, cfgTypeList, cfgScopeCommand, C(Forget),
                       .fileKey = "components.NAME.retention.keep_tag", .valueName = "T[,T2]",
                       .help = "keep snapshots that have T and T2; repeatable"},
    [cfgOptGroupBy] = {"group-by", 'g', cfgTypeList, cfgScopeCommand, C(Forget), "host,component,paths",
                       .choices = groupByChoices, .valueName = "host,component,paths,tags",
                       .help = "apply the policy within groups of snapshots with equal values ('' = one group)"},
    [cfgOptPrune] = {"prune", 0, cfgTypeFlag, cfgScopeCommand, C(Forget), .help = "run prune afterwards"},
    [cfgOptMaxUnused] = {"max-unused", 0, cfgTypePercent, cfgScopeCommand, C(Forget) | C(Prune), "5",
                         .fileKey = "jobs.NAME.max_unused", .valueName = "PERCENT",
                         .help = "repack until the unused space is at most PERCENT of the used"},
    [cfgOptMaxRepackSize] = {"max-repack-size", 0, cfgTypeSize, cfgScopeCommand, C(Forget) | C(Prune),
                             .fileKey = "jobs.NAME.max_repack_size", .valueName = "SIZE",
                             .help = "copy at most SIZE bytes when repacking (500M, 2G)"},
    [cfgOptConfig] = {"config", 'c', cfgTypeString, cfgScopeCommand,
                      C(Config) | C(Run) | C(Daemon) | C(History) | C(Points) | C(Recover) | C(Drill) | C(Metrics) |
                          C(Report),
                      "/etc/lifeboat/lifeboat.yaml", .env = "LIFEBOAT_CONFIG", .valueName = "FILE",
                      .help = "the configuration file"},
    [cfgOptAfter] = {"after", 0, cfgTypeTime, cfgScopeCommand, C(Schedule), .valueName = "TIME",
                     .help = "list fire times after TIME (ISO-8601; default: now)"},
    [cfgOptCount] = {"count", 0, cfgTypeInt, cfgScopeCommand, C(Schedule), "5", .min = 1, .max = 100000,
                     .valueName = "N", .help = "how many fire times to list"},
    [cfgOptTimezone] = {"timezone", 0, cfgTypeString, cfgScopeCommand, C(Schedule), "UTC", .valueName = "TZ",
                        .help = "evaluate the expression in this IANA time zone (Europe/Berlin)"},
    [cfgOptJob] = {"job", 0, cfgTypeList, cfgScopeCommand, C(History), .valueName = "NAME[,NAME2]",
                   .help = "only runs of these jobs or components"},
    [cfgOptSince] = {"since", 0, cfgTypeTime, cfgScopeCommand, C(History), .valueName = "TIME",
                     .help = "only runs scheduled or started at or after TIME"},
    [cfgOptLogFormat] = {"log-format", 0, cfgTypeEnum, cfgScopeCommand, C(Run) | C(Daemon), "text",
                         .choices = logFormatChoices, .valueName = "text|json",
                         .help = "one line per run start and end, as text or as JSON"},
    [cfgOptGracePeriod] = {"grace-period", 0, cfgTypeInt, cfgScopeCommand, C(Daemon), "300", .max = 86400 * 7,
                           .valueName = "SECONDS",
                           .help = "on SIGTERM, how long running runs may go on before they are terminated"},

    [cfgOptAt] = {"at", 0, cfgTypeString, cfgScopeCommand, AT_SELECTING | C(Points) | C(Recover) | C(Drill),
                  .valueName = "TIME", .check = checkAt,
                  .help = "the state at TIME: 'latest', '2026-11-23T14:05:00Z', '2026-11-23 14:05' (UTC), -2h, -3d; "
                          "or a recovery point ID (NAME@TIME)"},
    [cfgOptRecoverTarget] = {"target", 't', cfgTypeStrings, cfgScopeCommand, C(Recover),
                             .valueName = "COMPONENT=TARGET",
                             .help = "restore COMPONENT into TARGET (a directory, s3:..., a connection URI or a data "
                                     "directory) instead of its recovery.target; repeatable"},
    [cfgOptYes] = {"yes", 'y', cfgTypeFlag, cfgScopeCommand, C(Recover), .help = "do not ask for confirmation"},
    [cfgOptTable] = {"table", 0, cfgTypeStrings, cfgScopeCommand, C(RestorePg), .valueName = "SCHEMA.TABLE",
                     .help = "restore only this table (with its indexes and constraints); repeatable"},
    [cfgOptSchema] = {"schema", 0, cfgTypeStrings, cfgScopeCommand, C(RestorePg), .valueName = "SCHEMA",
                      .help = "restore only the objects of this schema; repeatable"},
    [cfgOptReport] = {"report", 0, cfgTypeEnum, cfgScopeCommand, C(Drill), "text", .choices = reportChoices,
                      .valueName = "text|json|html", .help = "the drill report printed on stdout"},
    [cfgOptDrills] = {"drills", 0, cfgTypeFlag, cfgScopeCommand, C(History),
                      .help = "list the recorded drills, a row per component, instead of the runs"},
    [cfgOptPeriod] = {"since", 0, cfgTypeSeconds, cfgScopeCommand, C(Report), "24h", .valueName = "DURATION",
                      .help = "the period the report covers, back from now (24h, 7d)"},
    [cfgOptFormat] = {"format", 0, cfgTypeEnum, cfgScopeCommand, C(Report), "text", .choices = formatChoices,
                      .valueName = "text|json|html|markdown", .help = "the report's form on stdout"},
    [cfgOptSend] = {"send", 0, cfgTypeFlag, cfgScopeCommand, C(Report),
                    .help = "also send the report through the configured notifications"},
    [cfgOptNoScan] = {"no-scan", 0, cfgTypeFlag, cfgScopeCommand, C(Metrics) | C(Report),
                      .help = "use the daemon's last repository scans (STATE/monitor/) instead of opening the "
                              "repositories"},

    /* issue 14: WAL retention */
    [cfgOptKeepWalWithin] = {"keep-wal-within", 0, cfgTypeSeconds, cfgScopeCommand, C(Forget) | C(Prune),
                             .fileKey = "components.NAME.retention.keep_wal_within", .valueName = "D",
                             .help = "delete WAL no kept base backup needs, but keep what was archived within D of "
                                     "the newest segment (7d, 36h, 90m, 0 = no window); m is minutes"},

    /* issue 14: honest physical recovery, backup from a standby */
    [cfgOptAllowPartial] = {"allow-partial", 0, cfgTypeFlag, cfgScopeCommand, C(RestorePgPhysical),
                            .help = "accept a recovery to the latest point that stops short (exit 0, not 3)"},
    [cfgOptPgPrimary] = {"pg-primary", 0, cfgTypeString, cfgScopeCommand, C(BackupPgPhysical),
                         .fileKey = "components.NAME.primary", .valueName = "CONNECTION",
                         .help = "the primary, when --pg names a standby (WAL switch and archive wait)",
                         .flags = CFG_OPT_SECRET_VALUE},
    [cfgOptArchiveWait] = {"archive-wait", 0, cfgTypeInt, cfgScopeCommand, C(BackupPgPhysical), "300", 1, 86400,
                           .valueName = "SECONDS",
                           .help = "with --pg-primary: how long to wait for the backup's last WAL segment"},

    /* issue 14: WAL throughput */
    [cfgOptAsync] = {"async", 0, cfgTypeFlag, cfgScopeCommand, C(WalPush),
                     .help = "hand the file to the spool's background pusher (--ahead N parallel pushes, default 4) "
                             "and acknowledge from its markers"},
    [cfgOptPrefetch] = {"prefetch", 0, cfgTypeInt, cfgScopeCommand, C(WalFetch), "0", 0, 256, .valueName = "N",
                        .help = "fetch up to N following segments ahead into --spool (a background prefetcher)"},
    [cfgOptAsyncWait] = {"async-wait", 0, cfgTypeInt, cfgScopeCommand, C(WalPush) | C(WalFetch), "60", 1, 3600,
                         .valueName = "SECONDS",
                         .help = "how long a call waits for the background pusher or prefetcher"},
    [cfgOptAsyncIdle] = {"async-idle", 0, cfgTypeInt, cfgScopeCommand, C(WalPush) | C(WalFetch), "30", 1, 86400,
                         .valueName = "SECONDS",
                         .help = "the background pusher or prefetcher exits after this long without work"},

    /* issue 14: WAL streaming */
    [cfgOptSlot] = {"slot", 0, cfgTypeString, cfgScopeCommand, C(WalStream) | C(PgCheck), "lifeboat",
                    .fileKey = "components.NAME.slot", .valueName = "NAME",
                    .help = "the replication slot of wal-stream (pg-check judges its lag)"},
};

const CfgCommandInfo cfgCommandTable[CFG_COMMAND_COUNT] = {
    [cfgCmdInit] = {"init", cfgOptNone, true, "[OPTIONS]", "create a repository"},
    [cfgCmdBackup] = {"backup", cfgOptNone, false,
                      "[OPTIONS] PATH... | s3:BUCKET... | --stdin | --stdin-from-command -- CMD ARGS...",
                      "back up paths, an S3 bucket, standard input or a command's output"},
    [cfgCmdBackupPgPhysical] = {"backup", cfgOptPgPhysical, false, "--pg-physical [OPTIONS]",
                                "back up a PostgreSQL cluster (pg_basebackup) for point-in-time recovery"},
    [cfgCmdBackupPg] = {"backup", cfgOptPg, false, "--pg CONNECTION [OPTIONS]",
                        "back up a PostgreSQL database (pg_dump), verified before the snapshot is written"},
    [cfgCmdSnapshots] = {"snapshots", cfgOptNone, false, "[OPTIONS]", "list snapshots"},
    [cfgCmdLs] = {"ls", cfgOptNone, false, "[OPTIONS] SNAPSHOT [PATH]", "list the files of a snapshot"},
    [cfgCmdDiff] = {"diff", cfgOptNone, false, "[OPTIONS] SNAP1 SNAP2", "show what changed between two snapshots"},
    [cfgCmdRestore] = {"restore", cfgOptNone, false, "[OPTIONS] SNAPSHOT[:PATH] --target DIR|s3:...",
                       "restore a snapshot into a directory or an S3 bucket"},
    [cfgCmdRestorePgPhysical] = {"restore", cfgOptPgPhysical, false, "--pg-physical [SNAPSHOT] --pg-data DIR [OPTIONS]",
                                 "restore a physical backup and recover to a point in time"},
    [cfgCmdRestorePg] = {"restore", cfgOptPgTarget, false, "SNAPSHOT --pg-target CONNECTION [OPTIONS]",
                         "restore a logical PostgreSQL snapshot with pg_restore"},
    [cfgCmdCheck] = {"check", cfgOptNone, false, "[OPTIONS]", "verify the repository (--read-data reads every pack)"},
    [cfgCmdCopy] = {"copy", cfgOptNone, true, "--from-repo SRC [OPTIONS] [SNAPSHOT...]",
                    "copy snapshots from another repository"},
    [cfgCmdForget] = {"forget", cfgOptNone, false, "[OPTIONS] | SNAPSHOT...",
                      "remove snapshots by a retention policy (--keep-*), optionally --prune"},
    [cfgCmdPrune] = {"prune", cfgOptNone, false, "[OPTIONS]", "remove data no snapshot references"},
    [cfgCmdWalPush] = {"wal-push", cfgOptNone, false, "[OPTIONS] PATH",
                       "archive_command: store a WAL segment (wal-push %p)"},
    [cfgCmdWalFetch] = {"wal-fetch", cfgOptNone, false, "[OPTIONS] NAME DEST",
                        "restore_command: fetch a WAL segment (wal-fetch %f %p)"},
    [cfgCmdWalStream] = {"wal-stream", cfgOptNone, false, "[OPTIONS]",
                         "receive WAL as it is written (replication protocol) into the repository"},
    [cfgCmdPgCheck] = {"pg-check", cfgOptNone, false, "[OPTIONS]", "report whether PostgreSQL WAL archiving works"},
    [cfgCmdUnlock] = {"unlock", cfgOptNone, false, "[OPTIONS]", "remove stale locks"},
    [cfgCmdStats] = {"stats", cfgOptNone, false, "", "show repository statistics"},
    [cfgCmdKey] = {"key", cfgOptNone, false, "list | add | remove ID | passwd [OPTIONS]", "manage passwords"},
    [cfgCmdRepair] = {"repair", cfgOptNone, false, "index | snapshots [SNAPSHOT...] [OPTIONS]",
                      "rebuild the index from the packs, or rewrite snapshots without their lost data"},
    [cfgCmdConfig] = {"config", cfgOptNone, false, "check|show [FILE] [OPTIONS]",
                      "validate the configuration file, or print it with secrets redacted"},
    [cfgCmdSchedule] = {"schedule", cfgOptNone, false, "next 'EXPR' [OPTIONS]",
                        "print the next fire times of a cron expression (5-field or Quartz)"},
    [cfgCmdRun] = {"run", cfgOptNone, false, "NAME... [OPTIONS]",
                   "run a component's backup or a job of the configuration file now, as the daemon would"},
    [cfgCmdDaemon] = {"daemon", cfgOptNone, false, "[OPTIONS]", "run the configuration file's schedule"},
    [cfgCmdHistory] = {"history", cfgOptNone, false, "[OPTIONS]", "list the recorded runs of jobs"},
    [cfgCmdPoints] = {"points", cfgOptNone, false, "[OPTIONS]",
                      "list recovery points: their components, snapshots, skew and the PITR window"},
    [cfgCmdRecover] = {"recover", cfgOptNone, false, "partial|full|COMPONENT... [--at TIME|POINT] [OPTIONS]",
                       "restore components of the configuration file as of one time"},
    [cfgCmdDrill] = {"drill", cfgOptNone, false, "[COMPONENT...] [--at TIME|POINT] [OPTIONS]",
                     "recover into scratch targets, verify, and measure RTO and RPO against the objectives"},
    [cfgCmdMetrics] = {"metrics", cfgOptNone, false, "[OPTIONS]",
                       "print the Prometheus metrics of the configuration file's components, jobs and repositories"},
    [cfgCmdReport] = {"report", cfgOptNone, false, "[--since 24h] [--format text|json|html|markdown] [OPTIONS]",
                      "the health report: runs, RPO and RTO against the objectives, and recommendations"},
    [cfgCmdHelp] = {"help", cfgOptNone, false, "[COMMAND [--VARIANT]]", "show the help of a command"},
    [cfgCmdVersion] = {"version", cfgOptNone, false, "", "print the version"},
};

const char *cfgOptionHelp(CfgOptionId id, CfgCommand cmd) {
    const CfgOption *o = &cfgOptionTable[id];
    if (o->helpSelect && cmd != cfgCmdNone && (CFG_CMD(cmd) & BACKUP_ANY) == 0)
        return o->helpSelect;
    return o->help;
}

bool cfgOptionAccepted(CfgOptionId id, CfgCommand cmd, bool from) {
    const CfgOption *o = &cfgOptionTable[id];
    if (from)
        return o->scope == cfgScopeRepository && cfgCommandTable[cmd].sourceRepo;
    if (cmd == cfgCmdHelp || cmd == cfgCmdVersion)
        return o->scope == cfgScopeGlobal;
    if (o->scope != cfgScopeCommand)
        return true;
    return (o->commands & CFG_CMD(cmd)) != 0;
}

CfgOptionId cfgOptionFind(const char *name, size_t len, bool *from) {
    *from = false;
    for (int i = 0; i < CFG_OPTION_COUNT; i++)
        if (strlen(cfgOptionTable[i].name) == len && strncmp(cfgOptionTable[i].name, name, len) == 0)
            return (CfgOptionId)i;
    if (len > 5 && strncmp(name, "from-", 5) == 0) {
        for (int i = 0; i < CFG_OPTION_COUNT; i++) {
            const CfgOption *o = &cfgOptionTable[i];
            if (o->scope == cfgScopeRepository && strlen(o->name) == len - 5 &&
                strncmp(o->name, name + 5, len - 5) == 0) {
                *from = true;
                return (CfgOptionId)i;
            }
        }
    }
    return cfgOptNone;
}

CfgCommand cfgCommandFind(const char *name) {
    for (int i = 0; i < CFG_COMMAND_COUNT; i++)
        if (cfgCommandTable[i].selector == cfgOptNone && strcmp(cfgCommandTable[i].name, name) == 0)
            return (CfgCommand)i;
    return cfgCmdNone;
}

const char *cfgOptionEnv(CfgOptionId id, bool from, char *buf, size_t size) {
    const char *env = cfgOptionTable[id].env;
    if (env == NULL || !from)
        return env;
    /* LIFEBOAT_X -> LIFEBOAT_FROM_X */
    snprintf(buf, size, "LIFEBOAT_FROM_%s", strncmp(env, "LIFEBOAT_", 9) == 0 ? env + 9 : env);
    return buf;
}

void cfgCommandLabel(CfgCommand cmd, char *buf, size_t size) {
    if (cmd == cfgCmdNone) {
        snprintf(buf, size, "lifeboat");
        return;
    }
    const CfgCommandInfo *c = &cfgCommandTable[cmd];
    if (c->selector == cfgOptNone)
        snprintf(buf, size, "%s", c->name);
    else
        snprintf(buf, size, "%s --%s", c->name, cfgOptionTable[c->selector].name);
}

void cfgOptionLabel(CfgOptionId id, bool from, char *buf, size_t size) {
    snprintf(buf, size, "--%s%s", from ? "from-" : "", cfgOptionTable[id].name);
}
