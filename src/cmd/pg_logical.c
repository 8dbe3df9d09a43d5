/* pg_logical.c - placeholder until the PostgreSQL work lands. */
#include "cmd/cli.h"

static int notYet(void) {
    LbError err = {0};
    lbErr(&err, LB_ERR_ARGS, "PostgreSQL logical backup is not available in this build");
    return cliFail(&err);
}
int cmdBackupPgLogical(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return notYet();
}
int cmdRestorePgLogical(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return notYet();
}
