/*
 * report_collect.c - monReportCollect: the report's inputs read from the
 * history (the facts, the rows of the period and of the charts' 30 days, the
 * repositories' size samples) around the pure monReportBuild; shared by
 * `lifeboat report` (cmd/report.c) and the daemon's status page.
 */
#include <stdlib.h>

#include "common/buf.h"
#include "monitor/report.h"

#define SAMPLE_LOOKBACK_MS (2LL * 86400 * 1000) /* a size sample before the period: its growth's base */

MonReport *monReportCollect(const CfgFile *cfg, Hist *hist, const MonScan *scans, size_t scanCount,
                            const MonReportArchiver *archivers, size_t archiverCount, int64_t nowMs, int64_t sinceMs,
                            LbError *err) {
    MonFacts *facts = NULL;
    HistRows *period = NULL, *month = NULL;
    MonSizeSample *sizes = NULL;
    size_t sizeCount = 0;
    MonReport *report = NULL;
    if ((facts = monFactsCollect(cfg, hist, scans, scanCount, nowMs, err)) == NULL)
        goto cleanup;
    HistQuery qPeriod = {.sinceMs = sinceMs};
    HistQuery qMonth = {.sinceMs = nowMs - (int64_t)MON_REPORT_CHART_DAYS * 86400 * 1000};
    if (!histList(hist, &qPeriod, &period, err) || !histList(hist, &qMonth, &month, err))
        goto cleanup;
    for (size_t i = 0; i < cfg->repositoryCount; i++) {
        HistScan *samples = NULL;
        size_t n = 0;
        const char *name = cfg->repositories[i].name;
        if (!histListScans(hist, name, sinceMs - SAMPLE_LOOKBACK_MS, &samples, &n, err))
            goto cleanup;
        sizes = lbXrealloc(sizes, (sizeCount + n + 1) * sizeof(*sizes));
        for (size_t k = 0; k < n; k++)
            sizes[sizeCount++] =
                (MonSizeSample){.repository = name, .atMs = samples[k].atMs, .bytes = samples[k].sizeBytes};
        free(samples);
    }
    MonReportInputs in = {.cfg = cfg,
                          .periodRows = period,
                          .chartRows = month,
                          .archivers = archivers,
                          .archiverCount = archiverCount,
                          .sizes = sizes,
                          .sizeCount = sizeCount};
    report = monReportBuild(facts, &in, sinceMs);
cleanup:
    free(sizes);
    histRowsFree(period);
    histRowsFree(month);
    monFactsFree(facts);
    return report;
}
