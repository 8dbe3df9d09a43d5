/* sched.c - the verbs of the configuration file's plan: run, daemon, history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/monitor_scan.h"
#include "common/timeutil.h"
#include "config/file.h"
#include "monitor/alert_sched.h"
#include "monitor/serve.h"
#include "sched/loop.h"
#include "sched/streams.h"
#include "sched/work.h"
#include "state/history.h"
#include "ui/table.h"

CfgFile *cliLoadConfig(const CfgValues *cfg, const GlobalOpts *g) {
    const char *path = cfgStr(cfg, cfgOptConfig);
    char *messages = NULL;
    LbError err = {0};
    CfgFile *file = cfgFileLoad(path, &messages, &err);
    if (file == NULL) {
        if (messages && messages[0])
            fprintf(stderr, "%s%s", messages, messages[strlen(messages) - 1] == '\n' ? "" : "\n");
        cliFailJson(g, &err);
    }
    free(messages);
    return file;
}

static void printRuns(const GlobalOpts *g, const HistRows *rows) {
    if (g->json) {
        json_t *j = histRowsJson(rows);
        cliPrintJson(j);
        return;
    }
    UiTable *t = uiTableNew();
    uiTableColumn(t, "Run", UI_ALIGN_LEFT);
    uiTableColumn(t, "Try", UI_ALIGN_RIGHT);
    uiTableColumn(t, "Trigger", UI_ALIGN_LEFT);
    uiTableColumn(t, "Started", UI_ALIGN_LEFT);
    uiTableColumn(t, "Duration", UI_ALIGN_RIGHT);
    uiTableColumn(t, "Outcome", UI_ALIGN_LEFT);
    uiTableColumn(t, "Added", UI_ALIGN_RIGHT);
    uiTableColumn(t, "Snapshot / error", UI_ALIGN_LEFT);
    for (size_t i = 0; i < rows->count; i++) {
        const HistRun *r = &rows->rows[i];
        char started[40] = "-", dur[32] = "-", added[32] = "-";
        if (r->startedAt)
            lbFormatTimeShort(r->startedAt * 1000000, started, sizeof(started));
        if (r->startedAt && r->endedAt)
            jobFormatDuration((double)(r->endedAt - r->startedAt) / 1000.0, dur, sizeof(dur));
        if (r->bytesAdded >= 0)
            jobFormatBytes((double)r->bytesAdded, added, sizeof(added));
        uiTableCell(t, r->runId);
        uiTableCellf(t, "%d", r->attempt);
        uiTableCell(t, r->trigger);
        uiTableCell(t, started);
        uiTableCell(t, dur);
        uiTableCell(t, histOutcomeName(r->outcome));
        uiTableCell(t, added);
        if (r->error)
            uiTableCell(t, r->error);
        else {
            char ids[512];
            schedShortIds(r->snapshotId, ids, sizeof(ids));
            uiTableCell(t, ids);
        }
    }
    uiTablePrint(t, stdout);
    uiTableFree(t);
}

int cmdRun(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs a = cliArgs(cfg);
    LbError err = {0};
    if (a.count == 0) {
        lbErr(&err, LB_ERR_ARGS, "run: name a component or job of the configuration file");
        return cliFailJson(&g, &err);
    }
    CfgFile *file = cliLoadConfig(cfg, &g);
    if (file == NULL)
        return 1;
    SchedLoopOptions opts = {.configPath = cfgStr(cfg, cfgOptConfig),
                             .dispatch = cliMain,
                             .once = true,
                             .jsonLog = cfgEnum(cfg, cfgOptLogFormat) == 1};
    AlertSched *alerts = alertSchedNew(false); /* the manual runs alert too */
    opts.hooks[opts.hookCount++] = alertSchedHooks(alerts);
    int64_t startMs = lbNowNs() / 1000000 - 1;
    char *stateDir = strdup(file->stateDir);
    SchedLoop *loop = stateDir ? schedLoopNew(file, &opts, &err) : NULL;
    if (loop == NULL) {
        if (stateDir == NULL)
            cfgFileFree(file);
        free(stateDir);
        alertSchedFree(alerts);
        return cliFailJson(&g, &err);
    }
    for (size_t i = 0; i < a.count; i++)
        if (!schedLoopRunNow(loop, a.positional[i], &err)) {
            schedLoopFree(loop);
            free(stateDir);
            alertSchedFree(alerts);
            return cliFailJson(&g, &err);
        }
    int rc = schedLoopRun(loop);
    schedLoopFree(loop);
    alertSchedFree(alerts);
    /* monitoring.textfile: the metrics after the runs, for node_exporter */
    CfgFile *again = cliLoadConfig(cfg, &g);
    if (again != NULL && !monitorTextfileWrite(again, &err))
        fprintf(stderr, "lifeboat: %s\n", err.msg);
    cfgFileFree(again);
    lbErrorClear(&err);
    /* what was recorded, as `history` shows it */
    Hist *hist = histOpen(stateDir, &err);
    HistRows *rows = NULL;
    HistQuery q = {.jobs = (const char *const *)a.positional, .jobCount = a.count, .sinceMs = startMs};
    if (hist && histList(hist, &q, &rows, &err)) {
        if (!g.quiet || g.json)
            printRuns(&g, rows);
    } else {
        fprintf(stderr, "lifeboat: %s\n", err.msg);
    }
    histRowsFree(rows);
    histFree(hist);
    free(stateDir);
    return rc;
}

/* The daemon's repository refresh, in its child process: scan, save each
 * scan (no history here: SQLite must not be used across a fork; the
 * listener records the size samples when the child is done). */
static void daemonScan(const CfgFile *file, int64_t nowMs) {
    monitorScansFree(monitorScanAll(file, NULL, true, nowMs), file->repositoryCount);
}

int cmdDaemon(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    LbError err = {0};
    CfgFile *file = cliLoadConfig(cfg, &g);
    if (file == NULL)
        return 1;
    SchedLoopOptions opts = {.configPath = cfgStr(cfg, cfgOptConfig),
                             .dispatch = cliMain,
                             .jsonLog = cfgEnum(cfg, cfgOptLogFormat) == 1,
                             .gracePeriodMs = cfgInt(cfg, cfgOptGracePeriod) * 1000};
    /* the monitoring: metrics listener and repository refresh (monitor/serve.h) */
    MonServe *serve = monServeNew(daemonScan);
    if (serve == NULL) {
        cfgFileFree(file);
        lbErr(&err, LB_ERR_MEMORY, "unable to start the daemon: out of memory");
        return cliFailJson(&g, &err);
    }
    opts.hooks[opts.hookCount++] = monServeHooks(serve);
    AlertSched *alerts = alertSchedNew(true); /* runs and the daemon's own clock */
    opts.hooks[opts.hookCount++] = alertSchedHooks(alerts);
    SchedStreams *streams = schedStreamsNew(cliMain); /* stream: true components (wal-stream) */
    opts.hooks[opts.hookCount++] = schedStreamsHooks(streams);
    SchedLoop *loop = schedLoopNew(file, &opts, &err);
    if (loop == NULL || !monServeConfigure(serve, file, &err)) {
        schedLoopFree(loop);
        monServeFree(serve);
        alertSchedFree(alerts);
        schedStreamsFree(streams);
        return cliFailJson(&g, &err);
    }
    int rc = schedLoopRun(loop);
    schedStreamsFree(streams); /* each stream uploads what it holds */
    schedLoopFree(loop);
    monServeFree(serve);
    alertSchedFree(alerts);
    return rc;
}

/* history --drills: a row per drilled component (--job names components) */
static bool printDrills(const GlobalOpts *g, Hist *hist, int64_t sinceMs, const char *const *only, size_t onlyCount,
                        LbError *err) {
    json_t *all = NULL;
    if (!histListDrills(hist, sinceMs, &all, err))
        return false;
    json_t *rows = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r) {
        bool keep = onlyCount == 0;
        for (size_t k = 0; k < onlyCount && !keep; k++)
            keep = strcmp(only[k], json_string_value(json_object_get(r, "component"))) == 0;
        if (keep)
            json_array_append(rows, r);
    }
    json_decref(all);
    if (g->json) {
        cliPrintJson(rows);
        return true;
    }
    UiTable *t = uiTableNew();
    static const char *const heads[] = {"Drill",         "Component", "Snapshot",      "RTO",
                                        "RTO objective", "RPO",       "RPO objective", "Result"};
    for (int c = 0; c < 8; c++)
        uiTableColumn(t, heads[c], c >= 3 && c <= 6 ? UI_ALIGN_RIGHT : UI_ALIGN_LEFT);
    json_array_foreach(rows, i, r) {
        char rto[32], rpo[32], rtoObj[32] = "-", rpoObj[32] = "-";
        cliFormatDuration(json_real_value(json_object_get(r, "rto_seconds")), rto, sizeof(rto));
        cliFormatDuration(json_real_value(json_object_get(r, "rpo_seconds")), rpo, sizeof(rpo));
        json_int_t ro = json_integer_value(json_object_get(r, "rto_objective")),
                   po = json_integer_value(json_object_get(r, "rpo_objective"));
        if (ro >= 0)
            cliFormatDuration((double)ro, rtoObj, sizeof(rtoObj));
        if (po >= 0)
            cliFormatDuration((double)po, rpoObj, sizeof(rpoObj));
        const char *snap = json_string_value(json_object_get(r, "snapshot_id"));
        const char *missed = json_string_value(json_object_get(r, "missed"));
        uiTableCell(t, json_string_value(json_object_get(r, "drill_id")));
        uiTableCell(t, json_string_value(json_object_get(r, "component")));
        uiTableCellf(t, "%.8s", snap ? snap : "");
        uiTableCell(t, rto);
        uiTableCell(t, rtoObj);
        uiTableCell(t, rpo);
        uiTableCell(t, rpoObj);
        if (json_is_true(json_object_get(r, "passed")))
            uiTableCell(t, "passed");
        else
            uiTableCellf(t, "failed%s%s", missed ? ": missed " : "", missed ? missed : "");
    }
    uiTablePrint(t, stdout);
    uiTableFree(t);
    printf("%zu drilled component(s)\n", json_array_size(rows));
    json_decref(rows);
    return true;
}

int cmdHistory(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    LbError err = {0};
    CfgFile *file = cliLoadConfig(cfg, &g);
    if (file == NULL)
        return 1;
    Hist *hist = histOpen(file->stateDir, &err);
    HistRows *rows = NULL;
    size_t jobCount = 0;
    const char *const *jobs = cfgList(cfg, cfgOptJob, &jobCount);
    HistQuery q = {.jobs = jobCount ? jobs : NULL,
                   .jobCount = jobCount,
                   .sinceMs = cfgIsSet(cfg, cfgOptSince) ? cfgInt(cfg, cfgOptSince) / 1000000 : 0};
    bool ok = hist != NULL;
    if (ok && cfgFlag(cfg, cfgOptDrills))
        ok = printDrills(&g, hist, q.sinceMs, jobs, jobCount, &err);
    else if (ok && (ok = histList(hist, &q, &rows, &err)))
        printRuns(&g, rows);
    histRowsFree(rows);
    histFree(hist);
    cfgFileFree(file);
    return cliExit(&g, ok, &err);
}
