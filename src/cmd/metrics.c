/* metrics.c - `lifeboat metrics` and the textfile `lifeboat run` writes
 * (cmd/monitor_scan.h; docs/monitoring.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/monitor_scan.h"
#include "common/timeutil.h"
#include "monitor/metrics.h"

char *monitorMetricsText(const CfgFile *file, bool scan, bool daemon, LbError *err) {
    Hist *hist = histOpen(file->stateDir, err);
    if (hist == NULL)
        return NULL;
    int64_t nowMs = lbNowNs() / 1000000;
    MonScan *scans = scan ? monitorScanAll(file, hist, true, nowMs) : monitorScansLoad(file);
    char *text = NULL;
    MonFacts *facts = scans ? monFactsCollect(file, hist, scans, file->repositoryCount, nowMs, err) : NULL;
    if (scans == NULL)
        lbErr(err, LB_ERR_MEMORY, "unable to scan the repositories: out of memory");
    if (facts != NULL && (text = monMetricsText(facts, daemon)) == NULL)
        lbErr(err, LB_ERR_MEMORY, "unable to write the metrics: out of memory");
    monFactsFree(facts);
    monitorScansFree(scans, file->repositoryCount);
    histFree(hist);
    return text;
}

bool monitorTextfileWrite(const CfgFile *file, LbError *err) {
    if (file->monitoring.textfile == NULL)
        return true;
    char *text = monitorMetricsText(file, true, false, err);
    bool ok = text != NULL && monWriteFileAtomic(file->monitoring.textfile, text, strlen(text), 0644, err);
    free(text);
    if (!ok)
        lbErrorWrap(err, "unable to write the metrics textfile '%s'", file->monitoring.textfile);
    return ok;
}

int cmdMetrics(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    LbError err = {0};
    CfgFile *file = cliLoadConfig(cfg, &g);
    if (file == NULL)
        return 1;
    char *text = monitorMetricsText(file, !cfgFlag(cfg, cfgOptNoScan), false, &err);
    if (text != NULL)
        fputs(text, stdout);
    free(text);
    cfgFileFree(file);
    return cliExit(&g, text != NULL, &err);
}
