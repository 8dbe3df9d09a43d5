/* pg_physical.c - placeholder until the PostgreSQL work lands. */
#include "cmd/cli.h"

static int notYet(void) {
    LbError err = {0};
    lbErr(&err, LB_ERR_ARGS, "PostgreSQL physical backup is not available in this build");
    return cliFail(&err);
}
#define NOT_YET(fn)                                                                                                    \
    int fn(int argc, char **argv) {                                                                                    \
        (void)argc;                                                                                                    \
        (void)argv;                                                                                                    \
        return notYet();                                                                                               \
    }
NOT_YET(cmdBackupPgPhysical)
NOT_YET(cmdRestorePgPhysical)
NOT_YET(cmdWalPush)
NOT_YET(cmdWalFetch)
NOT_YET(cmdPgCheck)
