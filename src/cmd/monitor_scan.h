/*
 * monitor_scan.h - the monitoring's repository scan (monitor/facts.h
 * MonScan): each repository of the configuration file opened without a
 * lock, read for its snapshots (the newest per component, its read time),
 * the WAL window of physical components, packs, locks and the newest WAL
 * segment. A repository that cannot be opened gives ok false with the error
 * (which names the repository's location, never a secret).
 *
 * The metrics' text for `lifeboat metrics` and the textfile is built here
 * too (cmd/metrics.c).
 *
 * Ownership: the arrays returned are the caller's (monitorScansFree).
 */
#ifndef LIFEBOAT_CMD_MONITOR_SCAN_H
#define LIFEBOAT_CMD_MONITOR_SCAN_H

#include "config/file.h"
#include "monitor/facts.h"
#include "state/history.h"

/* Scan repo of cfg into *out (cleared first) at nowMs. Never fails. */
void monitorScanRepository(const CfgFile *cfg, const CfgFileRepository *repo, int64_t nowMs, MonScan *out);

/* Scan every repository of cfg (cfg->repositoryCount scans in the file's
 * order). hist (may be NULL) receives a size sample of each scan that
 * succeeded; save: each scan is also written to STATE/monitor/ (failures to
 * save are reported on stderr). */
MonScan *monitorScanAll(const CfgFile *cfg, Hist *hist, bool save, int64_t nowMs);

/* The last saved scan of each repository of cfg (cfg->repositoryCount;
 * scannedAtMs 0 for one never saved or unreadable, reported on stderr). */
MonScan *monitorScansLoad(const CfgFile *cfg);

void monitorScansFree(MonScan *scans, size_t count);

/* The metrics of file (monitor/metrics.h) from its history and either a
 * fresh scan of every repository (scan: recorded and saved as the daemon's
 * are) or the last saved scans; NULL with err on failure (cmd/metrics.c). */
char *monitorMetricsText(const CfgFile *file, bool scan, bool daemon, LbError *err);

/* When monitoring.textfile is set: scan the repositories afresh in a child
 * given at most monitoring.refresh (then killed: the last saved scans
 * serve), and write the metrics to it atomically (for node_exporter's
 * textfile collector). True when it is not set. */
bool monitorTextfileWrite(const CfgFile *file, LbError *err);

#endif
