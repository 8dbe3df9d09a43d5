/*
 * report_int.h - what the report's renderers share (monitor/report_render.c,
 * monitor/report_html.c); not part of the report's interface.
 */
#ifndef LIFEBOAT_MONITOR_REPORT_INT_H
#define LIFEBOAT_MONITOR_REPORT_INT_H

#include "common/buf.h"
#include "monitor/report.h"

/* "2026-12-03 05:45 UTC"; "never" for 0 */
void monFormatWhenNs(int64_t ns, char *out, size_t n);
/* "15 min (objective 15 min)", "none restorable", ...: the achieved RPO cell */
void monFormatRpo(const MonReportComponent *c, char *out, size_t n);
/* "2 min (objective 5 min, 40%)" or "never drilled" */
void monFormatDrill(const MonReportComponent *c, char *out, size_t n);
/* the self-contained HTML page (report_html.c); caller frees */
char *monReportRenderHtml(const MonReport *r);

#endif
