/* dispatch.c - argv -> option model -> verb (cliMain); main.c and the
 * scheduler's runs (sched/work.h) go through it, so a scheduled run is the
 * same command line a user could type. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cli.h"
#include "config/help.h"
#include "config/parse.h"

typedef int (*CmdRun)(const CfgValues *cfg);

/* every verb and variant of config/option.h */
static const CmdRun commands[CFG_COMMAND_COUNT] = {
    [cfgCmdInit] = cmdInit,
    [cfgCmdBackup] = cmdBackup,
    [cfgCmdBackupPgPhysical] = cmdBackupPgPhysical,
    [cfgCmdBackupPg] = cmdBackupPgLogical,
    [cfgCmdSnapshots] = cmdSnapshots,
    [cfgCmdLs] = cmdLs,
    [cfgCmdDiff] = cmdDiff,
    [cfgCmdRestore] = cmdRestore,
    [cfgCmdRestorePgPhysical] = cmdRestorePgPhysical,
    [cfgCmdRestorePg] = cmdRestorePgLogical,
    [cfgCmdCheck] = cmdCheck,
    [cfgCmdCopy] = cmdCopy,
    [cfgCmdForget] = cmdForget,
    [cfgCmdPrune] = cmdPrune,
    [cfgCmdWalPush] = cmdWalPush,
    [cfgCmdWalFetch] = cmdWalFetch,
    [cfgCmdPgCheck] = cmdPgCheck,
    [cfgCmdWalStream] = cmdWalStream,
    [cfgCmdUnlock] = cmdUnlock,
    [cfgCmdStats] = cmdStats,
    [cfgCmdKey] = cmdKey,
    [cfgCmdRepair] = cmdRepair,
    [cfgCmdConfig] = cmdConfig,
    [cfgCmdSchedule] = cmdSchedule,
    [cfgCmdRun] = cmdRun,
    [cfgCmdDaemon] = cmdDaemon,
    [cfgCmdHistory] = cmdHistory,
    [cfgCmdPoints] = cmdPoints,
    [cfgCmdRecover] = cmdRecover,
    [cfgCmdDrill] = cmdDrill,
    [cfgCmdMetrics] = cmdMetrics,
    [cfgCmdReport] = cmdReport,
};

static int help(const CfgValues *cfg) {
    CfgCommand topic = cfgHelpTopic(cfg);
    if (cfgHelpAsMarkdown(cfg))
        cfgHelpMarkdown(stdout, topic);
    else if (topic == cfgCmdNone)
        cfgHelpCommands(stdout);
    else
        cfgHelpCommand(stdout, topic);
    return 0;
}

int cliMain(int argc, char **argv) {
    LbError err = {0};
    CfgValues *cfg = cfgParse(argc, argv, &err);
    if (cfg == NULL) {
        fprintf(stderr, "lifeboat: %s\n", err.msg);
        return lbErrorExitCode(err.code);
    }
    int rc;
    CfgCommand cmd = cfgCommand(cfg);
    if (cfgFlag(cfg, cfgOptNoCache)) /* repo/cache.h reads it, here and in every run a daemon forks */
        setenv("LIFEBOAT_NO_CACHE", "1", 1);
    if (cfgIsSet(cfg, cfgOptMaxMemory)) { /* common/membudget.h reads it, here and in a daemon's runs */
        char bytes[32];
        snprintf(bytes, sizeof(bytes), "%lld", (long long)cfgInt(cfg, cfgOptMaxMemory));
        setenv("LIFEBOAT_MAX_MEMORY", bytes, 1);
    }
    if (cmd == cfgCmdHelp) {
        rc = help(cfg);
    } else if (cmd == cfgCmdVersion) {
        printf("lifeboat %s\n", LIFEBOAT_VERSION);
        rc = 0;
    } else if (commands[cmd] == NULL) {
        fprintf(stderr, "lifeboat: %s: not available in this build\n", cfgCommandTable[cmd].name);
        rc = 1;
    } else {
        rc = commands[cmd](cfg);
    }
    cfgValuesFree(cfg);
    return rc;
}
