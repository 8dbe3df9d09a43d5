/* recover.c - lifeboat recover (work in progress). */
#include <stdio.h>

#include "cmd/cli.h"

int cmdRecover(const CfgValues *cfg) {
    (void)cfg;
    fprintf(stderr, "lifeboat: recover: not available in this version\n");
    return 1;
}
