/* report.c - `lifeboat report` (issue 13; being built). */
#include <stdio.h>

#include "cmd/cli.h"

int cmdReport(const CfgValues *cfg) {
    (void)cfg;
    fprintf(stderr, "lifeboat: report: not available in this build\n");
    return 1;
}
