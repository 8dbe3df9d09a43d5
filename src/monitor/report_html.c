/*
 * report_html.c - the report as one self-contained HTML page: inline CSS,
 * inline SVG charts over the last 30 days (run duration, bytes added per
 * run, achieved RPO at each day's end), no script and no external reference
 * (no URL, no src=), so it can be mailed, saved or served as is.
 *
 * Stable DOM hooks (tests and users' scrapers rely on them): the page's
 * health in <body data-health>; each component in an element with
 * data-component="NAME" and data-health="ok|warning|critical", its achieved
 * RPO in an element of class "rpo-achieved" (data-seconds holds the number;
 * empty when unknown); each recommendation in an <li> with data-kind and
 * data-severity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job/report.h"
#include "monitor/report_int.h"

static void esc(LbBuf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            lbBufAppendStr(b, "&lt;");
            break;
        case '>':
            lbBufAppendStr(b, "&gt;");
            break;
        case '&':
            lbBufAppendStr(b, "&amp;");
            break;
        case '"':
            lbBufAppendStr(b, "&quot;");
            break;
        case '\'':
            lbBufAppendStr(b, "&#39;");
            break;
        default:
            lbBufAppend(b, s, 1);
        }
    }
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}"
    "h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:0}"
    ".badge{display:inline-block;padding:.1em .6em;border-radius:.8em;color:#fff;font-weight:600;font-size:.85em}"
    ".badge.ok{background:#2e7d32}.badge.warning{background:#ef6c00}.badge.critical{background:#c62828}"
    "section.component{background:#fff;border:1px solid #ddd;border-left:6px solid #2e7d32;border-radius:4px;"
    "padding:.8em 1em;margin:1em 0}"
    "section.component.warning{border-left-color:#ef6c00}section.component.critical{border-left-color:#c62828}"
    "table{border-collapse:collapse}td,th{padding:.15em .8em .15em 0;text-align:left;vertical-align:top}"
    "th{font-weight:500;color:#555;white-space:nowrap}"
    "ul.recs li{margin:.3em 0}.charts{display:flex;flex-wrap:wrap;gap:1em;margin-top:.6em}"
    "figure{margin:0;width:320px}figcaption{font-size:.8em;color:#555}svg{background:#f4f6f8;border:1px solid #e0e0e0}"
    ".muted{color:#777}";

static void fmtValue(double v, int unit, char *out, size_t n) {
    if (unit == 1)
        jobFormatBytes(v, out, n);
    else
        monFormatSpan(v, out, n);
}

/* one chart: x over the last 30 days, y from 0 to the largest value (or the
 * objective line when higher); bars (bytes) or points joined by a line */
typedef enum ChartStyle { chartLine, chartBars, chartDots } ChartStyle;

static void chart(LbBuf *b, const MonReport *r, const MonSeries *s, const char *title, int unit, ChartStyle style,
                  double objective) {
    const int w = 320, h = 110, left = 4, top = 14, ph = h - top - 14;
    int64_t x0 = r->nowMs - (int64_t)MON_REPORT_CHART_DAYS * 86400 * 1000, x1 = r->nowMs;
    double max = objective > 0 ? objective : 0;
    for (size_t i = 0; i < s->count; i++)
        if (s->value[i] > max)
            max = s->value[i];
    char maxText[32] = "";
    if (max > 0)
        fmtValue(max, unit, maxText, sizeof(maxText));
    lbBufPrintf(b, "<figure><svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", w, h, w, h);
    lbBufPrintf(b, "<text x=\"%d\" y=\"11\" font-size=\"10\" fill=\"#555\">max %s</text>", left,
                max > 0 ? maxText : "-");
    lbBufPrintf(b, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#555\">30 d ago</text>", left, h - 3);
    lbBufPrintf(b, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#555\" text-anchor=\"end\">now</text>", w - 4,
                h - 3);
    if (s->count == 0) {
        lbBufPrintf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#999\" text-anchor=\"middle\">no data</text>",
                    w / 2, top + ph / 2);
    } else {
        double sx = (double)(w - 2 * left) / (double)(x1 - x0), sy = max > 0 ? (double)ph / max : 0;
        if (objective > 0) {
            double y = top + ph - objective * sy;
            lbBufPrintf(b,
                        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#c62828\" stroke-dasharray=\"4 3\">"
                        "<title>objective</title></line>",
                        left, y, w - left, y);
        }
        if (style == chartLine)
            lbBufAppendStr(b, "<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.5\" points=\"");
        for (size_t i = 0; i < s->count; i++) {
            double x = left + (double)(s->atMs[i] - x0) * sx, y = top + ph - s->value[i] * sy;
            if (x < left)
                x = left;
            if (style == chartBars)
                lbBufPrintf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"2\" height=\"%.1f\" fill=\"#1565c0\"/>", x, y,
                            top + ph - y);
            else if (style == chartDots)
                lbBufPrintf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.6\" fill=\"#1565c0\"/>", x, y);
            else
                lbBufPrintf(b, "%s%.1f,%.1f", i ? " " : "", x, y);
        }
        if (style == chartLine)
            lbBufAppendStr(b, "\"/>");
    }
    lbBufAppendStr(b, "</svg><figcaption>");
    esc(b, title);
    lbBufAppendStr(b, "</figcaption></figure>");
}

static void row(LbBuf *b, const char *label, const char *cls, const char *value) {
    lbBufPrintf(b, "<tr><th>%s</th><td%s%s%s>", label, cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    esc(b, value);
    lbBufAppendStr(b, "</td></tr>");
}

static void component(LbBuf *b, const MonReport *r, const MonReportComponent *c, const char *period) {
    const char *health = monHealthName(c->health);
    lbBufAppendStr(b, "<section class=\"component ");
    lbBufAppendStr(b, health);
    lbBufAppendStr(b, "\" data-component=\"");
    esc(b, c->name);
    lbBufPrintf(b, "\" data-health=\"%s\"><h2>", health);
    esc(b, c->name);
    lbBufPrintf(b, " <span class=\"muted\">(%s", monTypeName(c->type));
    if (c->repository) {
        lbBufAppendStr(b, ", repository ");
        esc(b, c->repository);
    }
    lbBufPrintf(b, ")</span> <span class=\"badge health %s\">%s</span></h2><table>", health, health);
    char v[512], a[64], w[64];
    snprintf(v, sizeof(v), "%u: %u succeeded, %u failed, %u not started", c->runs, c->successes, c->failures,
             c->notStarted);
    if (c->bytesAdded >= 0) {
        jobFormatBytes((double)c->bytesAdded, a, sizeof(a));
        size_t len = strlen(v);
        snprintf(v + len, sizeof(v) - len, "; %s added", a);
    }
    char label[64];
    snprintf(label, sizeof(label), "runs (%s)", period);
    row(b, label, "runs", v);
    monFormatWhenNs(c->lastSuccessMs * 1000000, a, sizeof(a));
    if (c->expectedIntervalSeconds > 0) {
        monFormatSpan((double)c->expectedIntervalSeconds, w, sizeof(w));
        snprintf(v, sizeof(v), "%s, expected every %s", a, w);
    } else {
        snprintf(v, sizeof(v), "%s, no schedule", a);
    }
    row(b, "last success", "last-success", v);
    /* the achieved RPO: a hook of its own, with the number in data-seconds */
    if (c->rpoAchieved >= 0)
        monFormatSpan(c->rpoAchieved, a, sizeof(a));
    else
        snprintf(a, sizeof(a), "%s", c->scanned ? "nothing restorable" : "unknown");
    lbBufPrintf(b, "<tr><th>achieved RPO</th><td><span class=\"rpo-achieved\" data-seconds=\"");
    if (c->rpoAchieved >= 0)
        lbBufPrintf(b, "%.0f", c->rpoAchieved);
    lbBufAppendStr(b, "\">");
    esc(b, a);
    lbBufAppendStr(b, "</span>");
    if (c->rpoObjective >= 0) {
        monFormatSpan((double)c->rpoObjective, w, sizeof(w));
        lbBufPrintf(b, " <span class=\"rpo-objective\" data-seconds=\"%lld\">(objective %s)</span>",
                    (long long)c->rpoObjective, w);
    }
    lbBufAppendStr(b, "</td></tr>");
    monFormatWhenNs(c->newestRestorableNs, a, sizeof(a));
    snprintf(v, sizeof(v), "%s%s", a,
             c->newestRestorableNs <= 0 ? ""
             : c->restorableFromWal     ? " (WAL archive)"
                                        : " (snapshot)");
    row(b, "newest restorable", "newest-restorable", v);
    snprintf(v, sizeof(v), "%llu", (unsigned long long)c->snapshots);
    row(b, "snapshots", "snapshots", c->scanned ? v : "not scanned");
    monFormatDrill(c, v, sizeof(v));
    row(b, "last drill", "drill", v);
    if (c->physical || c->walNewestNs > 0 || c->archiverKnown) {
        monFormatWhenNs(c->walNewestNs, a, sizeof(a));
        snprintf(v, sizeof(v), "last segment %s, archived %s", c->walLastSegment[0] ? c->walLastSegment : "none", a);
        if (c->archiverKnown) {
            size_t len = strlen(v);
            snprintf(v + len, sizeof(v) - len, "; pg_stat_archiver: %llu failures",
                     (unsigned long long)c->archiveFailed);
        }
        row(b, "WAL archive", "wal", v);
    }
    if (c->copyRepository) {
        monFormatWhenNs(c->copyNewestNs, a, sizeof(a));
        snprintf(v, sizeof(v), "repository %s, newest copy %s", c->copyRepository, a);
        row(b, "copy", "copy", v);
    }
    lbBufAppendStr(b, "</table>");
    bool any = false;
    for (size_t i = 0; i < r->recCount; i++) {
        const MonRecommendation *rec = &r->recs[i];
        if (rec->component == NULL || strcmp(rec->component, c->name) != 0)
            continue;
        if (!any)
            lbBufAppendStr(b, "<ul class=\"recs\">");
        any = true;
        lbBufPrintf(b, "<li data-kind=\"%s\" data-severity=\"%s\"><span class=\"badge %s\">%s</span> ",
                    monRecKindName(rec->kind), monHealthName(rec->severity), monHealthName(rec->severity),
                    monHealthName(rec->severity));
        esc(b, rec->text);
        lbBufAppendStr(b, "</li>");
    }
    if (any)
        lbBufAppendStr(b, "</ul>");
    lbBufAppendStr(b, "<div class=\"charts\">");
    chart(b, r, &c->duration, "run duration", 0, chartDots, 0);
    chart(b, r, &c->added, "bytes added per run", 1, chartBars, 0);
    chart(b, r, &c->rpo, "achieved RPO at each day's end, from the history (dashed: objective)", 0, chartLine,
          c->rpoObjective > 0 ? (double)c->rpoObjective : 0);
    lbBufAppendStr(b, "</div></section>");
}

char *monReportRenderHtml(const MonReport *r) {
    LbBuf b = {0};
    char when[40], period[32];
    monFormatWhenNs(r->nowMs * 1000000, when, sizeof(when));
    monFormatSpan((double)(r->nowMs - r->sinceMs) / 1000.0, period, sizeof(period));
    const char *health = monHealthName(r->health);
    lbBufAppendStr(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>lifeboat: ");
    esc(&b, r->configName);
    lbBufPrintf(&b, " %s</title><style>%s</style></head><body class=\"%s\" data-health=\"%s\"><h1>lifeboat: ", health,
                css, health, health);
    esc(&b, r->configName);
    lbBufPrintf(&b, " <span class=\"badge health %s\">%s</span></h1><p class=\"muted\">", health, health);
    esc(&b, r->host);
    lbBufPrintf(&b, ", %s, the last %s</p>", when, period);
    if (r->recCount) {
        lbBufAppendStr(&b, "<h2>Recommendations</h2><ul class=\"recs\" id=\"recommendations\">");
        for (size_t i = 0; i < r->recCount; i++) {
            const MonRecommendation *rec = &r->recs[i];
            const char *sev = monHealthName(rec->severity);
            lbBufPrintf(&b, "<li data-kind=\"%s\" data-severity=\"%s\"><span class=\"badge %s\">%s</span> ",
                        monRecKindName(rec->kind), sev, sev, sev);
            esc(&b, rec->text);
            lbBufAppendStr(&b, "</li>");
        }
        lbBufAppendStr(&b, "</ul>");
    } else {
        lbBufAppendStr(&b,
                       "<p id=\"recommendations\">No recommendation: every component is within its objectives.</p>");
    }
    for (size_t i = 0; i < r->componentCount; i++)
        component(&b, r, &r->components[i], period);
    lbBufAppendStr(&b, "<h2>Repositories</h2><table class=\"repositories\"><tr><th>repository</th><th>state</th>"
                       "<th>size</th><th>growth</th><th>snapshots</th></tr>");
    for (size_t i = 0; i < r->repositoryCount; i++) {
        const MonReportRepository *rr = &r->repositories[i];
        char size[32] = "-", grew[32] = "-";
        if (rr->scanned && rr->ok)
            jobFormatBytes((double)rr->sizeBytes, size, sizeof(size));
        if (rr->growthKnown) {
            jobFormatBytes((double)(rr->growthBytes < 0 ? -rr->growthBytes : rr->growthBytes), grew + 1,
                           sizeof(grew) - 1);
            grew[0] = rr->growthBytes < 0 ? '-' : '+';
        }
        lbBufAppendStr(&b, "<tr data-repository=\"");
        esc(&b, rr->name);
        lbBufAppendStr(&b, "\"><td>");
        esc(&b, rr->name);
        lbBufAppendStr(&b, "</td><td>");
        esc(&b, !rr->scanned ? "not scanned" : rr->ok ? "ok" : rr->error ? rr->error : "unreadable");
        lbBufPrintf(&b, "</td><td>%s</td><td>%s</td><td>%llu</td></tr>", size, grew, (unsigned long long)rr->snapshots);
    }
    lbBufAppendStr(&b, "</table></body></html>\n");
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}
