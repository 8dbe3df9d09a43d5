/* repair.c - lifeboat repair index | snapshots (maint/repair.h). */
#include <stdio.h>
#include <string.h>

#include "cmd/cli.h"

int cmdRepair(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    LbError err = {0};
    lbErr(&err, LB_ERR_ARGS, "repair: not available yet");
    return cliFailJson(&g, &err);
}
