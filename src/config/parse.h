/*
 * parse.h - command line (and environment) -> typed option values.
 *
 * cfgParse reads argv once against the option table (option.h): global
 * options before or after the verb, the verb, its options, positional
 * arguments and what follows "--". The verb variant (backup --pg, restore
 * --pg-physical, ...) is chosen after parsing from the options given, and an
 * option the chosen variant does not take is an error naming both. Values
 * not given on the command line come from the option's environment variable,
 * then its default. Every error reads "<verb>: option '--x' ...: <reason>"
 * (LB_ERR_ARGS, exit code 1); a value marked secret is never echoed.
 *
 * Ownership: CfgValues borrows argv and the environment (they outlive it);
 * cfgValuesFree frees what the parser allocated. Returned strings and arrays
 * are borrowed from the CfgValues.
 */
#ifndef LIFEBOAT_CONFIG_PARSE_H
#define LIFEBOAT_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "config/option.h"
#include "retention/policy.h"
#include "storage/options.h"

typedef struct CfgValues CfgValues;

/* One repository side: the main one (--repo ...) or the source of copy and
 * init --copy-chunker-params (--from-repo ...). */
typedef struct CfgRepository {
    const char *location;
    const char *passwordFile;
    const char *passwordCommand;
    /* the password file or command was given as an option (not from the
     * environment): it wins over LIFEBOAT_PASSWORD and the other variable */
    bool passwordGiven;
    StorageOptions storage;
} CfgRepository;

/* Parse argv[1..argc). NULL with err on a usage error. A help request
 * (--help, -h, help VERB) and --version parse without validating values:
 * cfgCommand then says cfgCmdHelp or cfgCmdVersion and cfgHelpTopic the
 * command asked about (cfgCmdNone: the list of commands). */
CfgValues *cfgParse(int argc, char **argv, LbError *err);
void cfgValuesFree(CfgValues *cfg);

CfgCommand cfgCommand(const CfgValues *cfg);
CfgCommand cfgHelpTopic(const CfgValues *cfg);
bool cfgHelpAsMarkdown(const CfgValues *cfg); /* hidden: help --markdown */

/* Given on the command line or in the environment (not a default)? */
bool cfgIsSet(const CfgValues *cfg, CfgOptionId id);
bool cfgFlag(const CfgValues *cfg, CfgOptionId id);
int cfgCount(const CfgValues *cfg, CfgOptionId id);
const char *cfgStr(const CfgValues *cfg, CfgOptionId id); /* NULL when unset and no default */
int64_t cfgInt(const CfgValues *cfg, CfgOptionId id);     /* int, size, seconds, time (ns); 0 when unset */
double cfgPercent(const CfgValues *cfg, CfgOptionId id);
RetentionDuration cfgDuration(const CfgValues *cfg, CfgOptionId id);
/* cfgTypeEnum: index into choices (0 when unset without default) */
int cfgEnum(const CfgValues *cfg, CfgOptionId id);
/* cfgTypeList: every item of every occurrence; cfgTypeStrings: every value */
const char *const *cfgList(const CfgValues *cfg, CfgOptionId id, size_t *count);
/* cfgTypeList: each occurrence as given ("a,b"), for filters that AND within
 * one --tag and OR between them */
const char *const *cfgGroups(const CfgValues *cfg, CfgOptionId id, size_t *count);

const CfgRepository *cfgRepository(const CfgValues *cfg, bool source);

/* positional arguments (the verb excluded) and those after "--" */
char *const *cfgArgs(const CfgValues *cfg, size_t *count);
char *const *cfgArgsAfterDashDash(const CfgValues *cfg, size_t *count);

#endif
