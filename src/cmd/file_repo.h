/*
 * file_repo.h - a repository of the configuration file opened as its
 * components' commands open it (the same options, parsed by cfgParse),
 * without a lock: recover and drill (cmd/recover_plan.c) and the
 * monitoring's scan (cmd/monitor_scan.c).
 *
 * Ownership: both structs own what they hold; the Free/Close calls release
 * it (also after a failed parse or open).
 */
#ifndef LIFEBOAT_CMD_FILE_REPO_H
#define LIFEBOAT_CMD_FILE_REPO_H

#include "cmd/cli.h"
#include "config/file.h"

/* A repository's options of the file, parsed as its commands parse them. */
typedef struct CliRepoOptions {
    CliArgv argv; /* values point into it */
    CfgValues *values;
    const CfgRepository *repo; /* location, password source, S3 settings (in values) */
} CliRepoOptions;

bool cliRepoOptionsParse(CliRepoOptions *ro, const CfgFileRepository *repo, LbError *err);
void cliRepoOptionsFree(CliRepoOptions *ro);

/* One repository of the file, opened once, its snapshots loaded. */
typedef struct CliFileRepo {
    const CfgFileRepository *repo;
    CliRepoOptions options;
    CliRepo r;
    SnapshotList list;
} CliFileRepo;

/* Open repo without a lock and load its snapshots; on failure *o holds
 * what was opened (cliFileRepoClose frees it either way). */
bool cliFileRepoOpen(CliFileRepo *o, const CfgFileRepository *repo, LbError *err);
void cliFileRepoClose(CliFileRepo *o);

#endif
