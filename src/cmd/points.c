/* points.c - lifeboat points (work in progress). */
#include <stdio.h>

#include "cmd/cli.h"

int cmdPoints(const CfgValues *cfg) {
    (void)cfg;
    fprintf(stderr, "lifeboat: points: not available in this version\n");
    return 1;
}
