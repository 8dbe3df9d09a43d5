/* metrics.c - `lifeboat metrics` (issue 13; being built). */
#include <stdio.h>

#include "cmd/cli.h"

int cmdMetrics(const CfgValues *cfg) {
    (void)cfg;
    fprintf(stderr, "lifeboat: metrics: not available in this build\n");
    return 1;
}
