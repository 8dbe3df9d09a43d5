/* drill.c - lifeboat drill (work in progress). */
#include <stdio.h>

#include "cmd/cli.h"

int cmdDrill(const CfgValues *cfg) {
    (void)cfg;
    fprintf(stderr, "lifeboat: drill: not available in this version\n");
    return 1;
}
