/*
 * metrics.h - the monitoring facts (monitor/facts.h) as Prometheus metrics
 * in the text exposition format 0.0.4: one code path for the daemon's
 * GET /metrics, `lifeboat metrics` and the textfile `lifeboat run` writes
 * for node_exporter's textfile collector. docs/monitoring.md lists every
 * metric.
 *
 * Names follow Prometheus's rules: base units (seconds, bytes), `_total`
 * only on counters, times as `_timestamp_seconds` gauges. Labels are
 * job, component, type, repository and outcome (lifeboat_build_info also
 * carries version), so the cardinality is bounded by the configuration:
 * never a snapshot ID, an error text or a time. Label values are escaped.
 */
#ifndef LIFEBOAT_MONITOR_METRICS_H
#define LIFEBOAT_MONITOR_METRICS_H

#include <stdbool.h>

#include "monitor/facts.h"

#define MON_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The metrics text (malloc'd, NUL-terminated; NULL only when out of
 * memory). daemon: also the daemon's heartbeat. */
char *monMetricsText(const MonFacts *facts, bool daemon);

#endif
