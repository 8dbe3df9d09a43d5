/*
 * report.c - `lifeboat report --config FILE [--since 24h] [--format
 * text|json|html|markdown] [--no-scan] [--send]`: the daily report
 * (monitor/report.h) on stdout, gathered here: the facts (monitor/facts.h)
 * from the history and the repositories' scans (cmd/monitor_scan.h: afresh,
 * or with --no-scan the daemon's last ones), the history rows of the
 * period and of the last 30 days (charts), the repositories' size samples,
 * and pg_stat_archiver of each physical component's server when it answers
 * within a few seconds (absent otherwise: the report says "server not
 * reached").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/monitor_scan.h"
#include "common/buf.h"
#include "common/timeutil.h"
#include "config/file.h"
#include "monitor/facts.h"
#include "monitor/notify.h"
#include "monitor/report.h"
#include "pg/archcheck.h"
#include "pg/pgconn.h"
#include "state/history.h"

#define REPORT_CONNECT_TIMEOUT "3"

/* pg_stat_archiver of a physical component's server; false when it cannot
 * be reached in REPORT_CONNECT_TIMEOUT seconds (best effort: the report
 * goes on without it). */
static bool archiverOf(const CfgComponent *c, ArchcheckReport *out) {
    const char *conninfo = NULL;
    for (size_t i = 0; i + 1 < c->backupArgs.n; i++)
        if (strcmp(c->backupArgs.v[i], "--pg") == 0)
            conninfo = c->backupArgs.v[i + 1];
    LbError err = {0};
    PgConnInfo *ci = pgconnInfoNew(conninfo, &err);
    PgConn *conn = NULL;
    bool ok = false;
    if (ci == NULL)
        goto cleanup;
    if (pgconnInfoGet(ci, "connect_timeout") == NULL)
        pgconnInfoSet(ci, "connect_timeout", REPORT_CONNECT_TIMEOUT);
    conn = pgconnOpen(ci, &err);
    ok = conn != NULL && archcheckCollect(conn, out, &err);
cleanup:
    if (!ok) {
        archcheckReportClear(out);
        lbLog(LB_LOG_DEBUG, "report: %s: pg_stat_archiver not read: %s", c->name, err.msg);
    }
    pgconnClose(conn);
    pgconnInfoFree(ci);
    return ok;
}

/* --send: the report through every notification that receives the event
 * "report" (as text, markdown for Slack, HTML for email). None that does is
 * a warning, not a failure; a notification that fails is (exit 1). */
static bool sendReport(const CfgFile *file, const MonReport *report, LbError *err) {
    size_t critical = 0, warning = 0;
    for (size_t i = 0; i < report->recCount; i++) {
        critical += report->recs[i].severity == monHealthCritical;
        warning += report->recs[i].severity == monHealthWarning;
    }
    char subject[512];
    snprintf(subject, sizeof(subject), "lifeboat report: %s: %s (%zu critical, %zu warning)", report->configName,
             monHealthName(report->health), critical, warning);
    char *text = monReportRender(report, monReportText), *md = monReportRender(report, monReportMarkdown),
         *html = monReportRender(report, monReportHtml);
    NotifyMessage m = {.event = "report",
                       .severity = report->health == monHealthCritical  ? "critical"
                                   : report->health == monHealthWarning ? "warning"
                                                                        : "info",
                       .subject = subject,
                       .text = text,
                       .markdown = md,
                       .html = html,
                       .host = report->host,
                       .timeMs = report->nowMs};
    size_t sent = 0;
    notifySecretsTake(file);
    bool ok = text && md && html;
    if (!ok)
        lbErr(err, LB_ERR_MEMORY, "unable to render the report: out of memory");
    else if (!notifySendAll(file, &m, &sent, err)) {
        if (err->code == LB_ERR_NOT_FOUND) {
            fprintf(stderr, "lifeboat: report: warning: no notification receives the report (add 'report' to the "
                            "events of one in notifications:); it was printed only\n");
            lbErrorClear(err);
        } else
            ok = false;
    } else
        fprintf(stderr, "lifeboat: report: sent through %zu notification(s)\n", sent);
    free(text);
    free(md);
    free(html);
    return ok;
}

int cmdReport(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    LbError err = {0};
    MonReportFormat fmt = monReportText;
    if (g.json && !cfgIsSet(cfg, cfgOptFormat))
        fmt = monReportJson; /* --json alone; an explicit --format wins */
    else if (!monReportFormatParse(cfgStr(cfg, cfgOptFormat), &fmt)) {
        lbErr(&err, LB_ERR_ARGS, "unknown report format '%s' (use text, json, html or markdown)",
              cfgStr(cfg, cfgOptFormat));
        return cliFailJson(&g, &err);
    }
    CfgFile *file = cliLoadConfig(cfg, &g);
    if (file == NULL)
        return 1;
    int64_t nowMs = lbNowNs() / 1000000;
    int64_t sinceMs = nowMs - cfgInt(cfg, cfgOptPeriod) * 1000;
    Hist *hist = NULL;
    MonScan *scans = NULL;
    ArchcheckReport *arch = lbXcalloc(file->componentCount + 1, sizeof(*arch));
    MonReportArchiver *archivers = lbXcalloc(file->componentCount + 1, sizeof(*archivers));
    size_t archiverCount = 0;
    MonReport *report = NULL;
    char *text = NULL;
    bool ok = false;

    if ((hist = histOpen(file->stateDir, &err)) == NULL)
        goto cleanup;
    /* afresh (recorded as a size sample and saved, as the daemon's), or the
     * daemon's last ones */
    scans = cfgFlag(cfg, cfgOptNoScan) ? monitorScansLoad(file) : monitorScanAll(file, hist, true, nowMs);
    for (size_t i = 0; i < file->componentCount; i++) {
        const CfgComponent *c = &file->components[i];
        if (c->type == cfgCompPostgresPhysical && archiverOf(c, &arch[i]))
            archivers[archiverCount++] = (MonReportArchiver){.component = c->name, .report = &arch[i]};
    }
    report = monReportCollect(file, hist, scans, file->repositoryCount, archivers, archiverCount, nowMs, sinceMs, &err);
    if (report == NULL)
        goto cleanup;
    text = monReportRender(report, fmt);
    if (text == NULL) {
        lbErr(&err, LB_ERR_MEMORY, "unable to render the report: out of memory");
        goto cleanup;
    }
    fputs(text, stdout);
    if (text[0] && text[strlen(text) - 1] != '\n')
        fputc('\n', stdout);
    ok = !cfgFlag(cfg, cfgOptSend) || sendReport(file, report, &err);
cleanup:
    free(text);
    monReportFree(report);
    for (size_t i = 0; i < file->componentCount; i++)
        archcheckReportClear(&arch[i]);
    free(arch);
    free(archivers);
    if (scans)
        monitorScansFree(scans, file->repositoryCount);
    histFree(hist);
    cfgFileFree(file);
    return cliExit(&g, ok, &err);
}
