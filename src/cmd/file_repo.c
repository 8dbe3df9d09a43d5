/* file_repo.c - a repository of the configuration file, opened without a
 * lock (cmd/file_repo.h). */
#include "cmd/file_repo.h"

#include <string.h>

bool cliRepoOptionsParse(CliRepoOptions *ro, const CfgFileRepository *repo, LbError *err) {
    memset(ro, 0, sizeof(*ro));
    cliArgvAdd(&ro->argv, "lifeboat");
    cliArgvAdd(&ro->argv, "snapshots");
    cliArgvAddAll(&ro->argv, &repo->args);
    ro->values = cfgParse(ro->argv.n, ro->argv.v, err);
    if (ro->values)
        ro->repo = cfgRepository(ro->values, false);
    return ro->values != NULL;
}

void cliRepoOptionsFree(CliRepoOptions *ro) {
    cfgValuesFree(ro->values);
    cliArgvFree(&ro->argv);
}

bool cliFileRepoOpen(CliFileRepo *o, const CfgFileRepository *repo, LbError *err) {
    memset(o, 0, sizeof(*o));
    o->repo = repo;
    if (!cliRepoOptionsParse(&o->options, repo, err))
        return false;
    const CfgRepository *r = o->options.repo;
    GlobalOpts g = {.repo = r->location,
                    .passwordFile = r->passwordFile,
                    .passwordCommand = r->passwordCommand,
                    .passwordGiven = r->passwordGiven,
                    .storage = &r->storage};
    return cliRepoOpen(&g, CLI_LOCK_NONE, &o->r, err) && snapshotLoadAll(o->r.repo, &o->list, err);
}

void cliFileRepoClose(CliFileRepo *o) {
    snapshotListFree(&o->list);
    cliRepoClose(&o->r);
    cliRepoOptionsFree(&o->options);
}
