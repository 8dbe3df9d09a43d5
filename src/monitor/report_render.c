/*
 * report_render.c - the report as text (one screen per component), markdown
 * and JSON (the fields are documented in docs/monitoring.md); the HTML page
 * is in report_html.c.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "job/report.h"
#include "monitor/report_int.h"

void monFormatWhenNs(int64_t ns, char *out, size_t n) {
    if (ns <= 0) {
        snprintf(out, n, "never");
        return;
    }
    char t[40];
    lbFormatTimeShort(ns, t, sizeof(t));
    t[16] = '\0'; /* "2026-12-03 05:45" */
    snprintf(out, n, "%s UTC", t);
}

void monFormatRpo(const MonReportComponent *c, char *out, size_t n) {
    char got[32], obj[32];
    if (c->rpoAchieved < 0)
        snprintf(got, sizeof(got), "%s", c->scanned ? "nothing restorable" : "unknown (not scanned)");
    else
        monFormatSpan(c->rpoAchieved, got, sizeof(got));
    if (c->rpoObjective >= 0) {
        monFormatSpan((double)c->rpoObjective, obj, sizeof(obj));
        snprintf(out, n, "%s (objective %s%s)", got, obj, c->rpoAchieved > (double)c->rpoObjective ? ", over" : "");
    } else {
        snprintf(out, n, "%s (no objective)", got);
    }
}

void monFormatDrill(const MonReportComponent *c, char *out, size_t n) {
    if (!c->drilled) {
        snprintf(out, n, "never drilled");
        return;
    }
    char when[40], rto[32], obj[32];
    monFormatWhenNs(c->lastDrillMs * 1000000, when, sizeof(when));
    monFormatSpan(c->lastDrillRtoSeconds, rto, sizeof(rto));
    if (c->rtoObjective > 0) {
        monFormatSpan((double)c->rtoObjective, obj, sizeof(obj));
        snprintf(out, n, "%s: %s, RTO %s (objective %s, %.0f%%)", when, c->lastDrillPassed ? "passed" : "FAILED", rto,
                 obj, 100.0 * c->lastDrillRtoSeconds / (double)c->rtoObjective);
    } else {
        snprintf(out, n, "%s: %s, RTO %s (no objective)", when, c->lastDrillPassed ? "passed" : "FAILED", rto);
    }
}

static const MonReportRepository *reportRepo(const MonReport *r, const char *name) {
    for (size_t i = 0; name && i < r->repositoryCount; i++)
        if (strcmp(r->repositories[i].name, name) == 0)
            return &r->repositories[i];
    return NULL;
}

static void formatSize(const MonReportRepository *rr, const char *period, char *out, size_t n) {
    if (rr == NULL || !rr->scanned) {
        snprintf(out, n, "not scanned");
        return;
    }
    if (!rr->ok) {
        snprintf(out, n, "cannot be opened");
        return;
    }
    char size[32], grew[32], added[32];
    jobFormatBytes((double)rr->sizeBytes, size, sizeof(size));
    int w = snprintf(out, n, "%s", size);
    if (rr->growthKnown && w >= 0 && (size_t)w < n) {
        jobFormatBytes((double)(rr->growthBytes < 0 ? -rr->growthBytes : rr->growthBytes), grew, sizeof(grew));
        w += snprintf(out + w, n - (size_t)w, ", %s%s in %s", rr->growthBytes < 0 ? "-" : "+", grew, period);
    }
    if (rr->addedBytes >= 0 && w >= 0 && (size_t)w < n) {
        jobFormatBytes((double)rr->addedBytes, added, sizeof(added));
        snprintf(out + w, n - (size_t)w, " (backups added %s)", added);
    }
}

/* the lines of one component: label, value (text and markdown share them) */
typedef struct Line {
    const char *label;
    char value[512];
} Line;

static size_t componentLines(const MonReport *r, const MonReportComponent *c, const char *period, Line *lines) {
    size_t n = 0;
    char a[64], b[64], cc[64];
    lines[n].label = "runs";
    if (c->runs == 0) {
        snprintf(lines[n++].value, sizeof(lines[0].value), "none in the last %s", period);
    } else {
        char added[96] = "";
        if (c->bytesAdded >= 0) {
            jobFormatBytes((double)c->bytesAdded, a, sizeof(a));
            snprintf(added, sizeof(added), "; %s added", a);
        }
        snprintf(lines[n++].value, sizeof(lines[0].value), "%u in %s: %u succeeded, %u failed, %u not started%s",
                 c->runs, period, c->successes, c->failures, c->notStarted, added);
    }
    lines[n].label = "last success";
    monFormatWhenNs(c->lastSuccessMs * 1000000, a, sizeof(a));
    if (c->lastSuccessMs > 0)
        monFormatSpan((double)(r->nowMs - c->lastSuccessMs) / 1000.0, b, sizeof(b));
    if (c->expectedIntervalSeconds > 0)
        monFormatSpan((double)c->expectedIntervalSeconds, cc, sizeof(cc));
    snprintf(lines[n++].value, sizeof(lines[0].value), "%s%s%s%s%s%s", a, c->lastSuccessMs > 0 ? " (" : "",
             c->lastSuccessMs > 0 ? b : "", c->lastSuccessMs > 0 ? " ago)" : "",
             c->expectedIntervalSeconds > 0 ? ", expected every " : ", no schedule",
             c->expectedIntervalSeconds > 0 ? cc : "");
    lines[n].label = "achieved RPO";
    monFormatRpo(c, lines[n++].value, sizeof(lines[0].value));
    lines[n].label = "newest restorable";
    monFormatWhenNs(c->newestRestorableNs, a, sizeof(a));
    snprintf(lines[n++].value, sizeof(lines[0].value), "%s%s", a,
             c->newestRestorableNs <= 0 ? ""
             : c->restorableFromWal     ? " (WAL archive)"
                                        : " (snapshot)");
    lines[n].label = "snapshots";
    if (c->scanned)
        snprintf(lines[n++].value, sizeof(lines[0].value), "%llu", (unsigned long long)c->snapshots);
    else
        snprintf(lines[n++].value, sizeof(lines[0].value), "not scanned");
    lines[n].label = "last drill";
    monFormatDrill(c, lines[n++].value, sizeof(lines[0].value));
    if (c->physical || c->walNewestNs > 0 || c->archiverKnown) {
        lines[n].label = "WAL archive";
        monFormatWhenNs(c->walNewestNs, a, sizeof(a));
        if (c->walLastSegment[0])
            snprintf(lines[n++].value, sizeof(lines[0].value), "%s archived %s", c->walLastSegment, a);
        else
            snprintf(lines[n++].value, sizeof(lines[0].value), "no segment in the repository");
        lines[n].label = "pg_stat_archiver";
        if (!c->archiverKnown) {
            snprintf(lines[n++].value, sizeof(lines[0].value), "server not reached");
        } else if (c->archiveFailed == 0) {
            snprintf(lines[n++].value, sizeof(lines[0].value), "no failure");
        } else {
            monFormatWhenNs(c->archiveLastFailedNs, a, sizeof(a));
            monFormatWhenNs(c->archiveLastArchivedNs, b, sizeof(b));
            snprintf(lines[n++].value, sizeof(lines[0].value), "%llu %s, the last %s; last archived %s",
                     (unsigned long long)c->archiveFailed, c->archiveFailed == 1 ? "failure" : "failures", a, b);
        }
    }
    if (c->copyRepository) {
        lines[n].label = "copy";
        monFormatWhenNs(c->copyNewestNs, a, sizeof(a));
        snprintf(lines[n++].value, sizeof(lines[0].value), "repository %s, newest copy %s", c->copyRepository, a);
    }
    lines[n].label = "repository";
    formatSize(reportRepo(r, c->repository), period, b, sizeof(b));
    snprintf(lines[n++].value, sizeof(lines[0].value), "%s: %s", c->repository ? c->repository : "?", b);
    return n;
}

#define TEXT_WIDTH 100

/* prefix then text, word-wrapped at TEXT_WIDTH columns, continuation lines
 * indented by the prefix's width */
static void wrapped(LbBuf *b, const char *prefix, const char *text) {
    size_t indent = strlen(prefix), col = indent;
    lbBufAppendStr(b, prefix);
    const char *p = text;
    while (*p) {
        size_t word = strcspn(p, " ");
        if (col > indent && col + 1 + word > TEXT_WIDTH) {
            lbBufAppendStr(b, "\n");
            for (size_t i = 0; i < indent; i++)
                lbBufAppend(b, " ", 1);
            col = indent;
        } else if (col > indent) {
            lbBufAppend(b, " ", 1);
            col++;
        }
        lbBufAppend(b, p, word);
        col += word;
        p += word;
        while (*p == ' ')
            p++;
    }
    lbBufAppendStr(b, "\n");
}

static void textHeader(const MonReport *r, LbBuf *b, const char *period, bool markdown) {
    char when[40];
    monFormatWhenNs(r->nowMs * 1000000, when, sizeof(when));
    unsigned crit = 0, warn = 0;
    for (size_t i = 0; i < r->recCount; i++)
        r->recs[i].severity == monHealthCritical ? crit++ : warn++;
    lbBufPrintf(b, "%slifeboat report: %s on %s, %s, the last %s\n\n", markdown ? "# " : "", r->configName, r->host,
                when, period);
    lbBufPrintf(b, "%s%s%s (%u critical, %u warning)\n", markdown ? "**Health: " : "Health: ",
                r->health == monHealthOk        ? "OK"
                : r->health == monHealthWarning ? "WARNING"
                                                : "CRITICAL",
                markdown ? "**" : "", crit, warn);
    if (r->recCount)
        lbBufPrintf(b, "\n%sRecommendations\n%s", markdown ? "## " : "", markdown ? "\n" : "");
    for (size_t i = 0; i < r->recCount; i++) {
        const char *sev = r->recs[i].severity == monHealthCritical ? "critical" : "warning";
        if (markdown) {
            lbBufPrintf(b, "- **%s** %s\n", sev, r->recs[i].text);
        } else {
            char prefix[32];
            snprintf(prefix, sizeof(prefix), "  %-10s ", sev);
            wrapped(b, prefix, r->recs[i].text);
        }
    }
}

static char *renderText(const MonReport *r, bool markdown) {
    LbBuf b = {0};
    char period[32];
    monFormatSpan((double)(r->nowMs - r->sinceMs) / 1000.0, period, sizeof(period));
    textHeader(r, &b, period, markdown);
    Line lines[12];
    for (size_t i = 0; i < r->componentCount; i++) {
        const MonReportComponent *c = &r->components[i];
        size_t n = componentLines(r, c, period, lines);
        if (markdown) {
            lbBufPrintf(&b, "\n## %s (%s): %s\n\n| | |\n|---|---|\n", c->name, monTypeName(c->type),
                        monHealthName(c->health));
            for (size_t l = 0; l < n; l++)
                lbBufPrintf(&b, "| %s | %s |\n", lines[l].label, lines[l].value);
        } else {
            char head[128];
            snprintf(head, sizeof(head), "%s (%s)", c->name, monTypeName(c->type));
            lbBufPrintf(&b, "\n%-60s %s\n", head, monHealthName(c->health));
            for (size_t l = 0; l < n; l++)
                lbBufPrintf(&b, "  %-18s %s\n", lines[l].label, lines[l].value);
            for (size_t k = 0; k < r->recCount; k++) {
                const MonRecommendation *rec = &r->recs[k];
                if (rec->component && strcmp(rec->component, c->name) == 0)
                    wrapped(&b, "  ! ", rec->text);
            }
        }
    }
    lbBufPrintf(&b, markdown ? "\n## Repositories\n\n| repository | state | size | snapshots |\n|---|---|---|---|\n"
                             : "\nRepositories\n");
    for (size_t i = 0; i < r->repositoryCount; i++) {
        const MonReportRepository *rr = &r->repositories[i];
        char size[160];
        formatSize(rr, period, size, sizeof(size));
        const char *state = !rr->scanned ? "not scanned" : rr->ok ? "ok" : "unreadable";
        if (markdown)
            lbBufPrintf(&b, "| %s | %s | %s | %llu |\n", rr->name, state, size, (unsigned long long)rr->snapshots);
        else if (rr->scanned && rr->ok) /* formatSize says "not scanned", "cannot be opened" */
            lbBufPrintf(&b, "  %-18s %s, %llu snapshots\n", rr->name, size, (unsigned long long)rr->snapshots);
        else
            lbBufPrintf(&b, "  %-18s %s\n", rr->name, size);
    }
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

/* ---- JSON ---- */

static json_t *jsonTimeNs(int64_t ns) {
    if (ns <= 0)
        return json_null();
    char t[48];
    lbFormatTimeNs(ns, t, sizeof(t));
    return json_string(t);
}

static json_t *jsonSeries(const MonSeries *s) {
    json_t *a = json_array();
    for (size_t i = 0; i < s->count; i++)
        json_array_append_new(a, json_pack("[I,f]", (json_int_t)s->atMs[i], s->value[i]));
    return a;
}

static json_t *jsonObjective(int64_t seconds) {
    return seconds >= 0 ? json_integer(seconds) : json_null();
}

static json_t *jsonStr(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *componentJson(const MonReportComponent *c) {
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "type", json_string(monTypeName(c->type)));
    json_object_set_new(o, "repository", jsonStr(c->repository));
    json_object_set_new(o, "health", json_string(monHealthName(c->health)));
    json_object_set_new(o, "period",
                        json_pack("{s:i,s:i,s:i,s:i,s:o}", "runs", (int)c->runs, "succeeded", (int)c->successes,
                                  "failed", (int)c->failures, "not_started", (int)c->notStarted, "bytes_added",
                                  c->bytesAdded >= 0 ? json_integer(c->bytesAdded) : json_null()));
    json_object_set_new(o, "last_success", jsonTimeNs(c->lastSuccessMs * 1000000));
    json_object_set_new(o, "expected_interval_seconds",
                        c->expectedIntervalSeconds > 0 ? json_integer(c->expectedIntervalSeconds) : json_null());
    json_object_set_new(o, "rpo",
                        json_pack("{s:o,s:o,s:o,s:b}", "achieved_seconds",
                                  c->rpoAchieved >= 0 ? json_real(c->rpoAchieved) : json_null(), "objective_seconds",
                                  jsonObjective(c->rpoObjective), "newest_restorable",
                                  jsonTimeNs(c->newestRestorableNs), "from_wal", c->restorableFromWal));
    json_object_set_new(o, "snapshots", c->scanned ? json_integer((json_int_t)c->snapshots) : json_null());
    json_object_set_new(o, "drill",
                        c->drilled ? json_pack("{s:o,s:b,s:f,s:o}", "at", jsonTimeNs(c->lastDrillMs * 1000000),
                                               "passed", c->lastDrillPassed, "rto_seconds", c->lastDrillRtoSeconds,
                                               "rto_objective_seconds", jsonObjective(c->rtoObjective))
                                   : json_null());
    if (!c->drilled)
        json_object_set_new(o, "rto_objective_seconds", jsonObjective(c->rtoObjective));
    if (c->physical || c->walNewestNs > 0 || c->archiverKnown) {
        json_t *wal =
            json_pack("{s:o,s:o}", "last_segment", c->walLastSegment[0] ? json_string(c->walLastSegment) : json_null(),
                      "last_archived", jsonTimeNs(c->walNewestNs));
        json_object_set_new(wal, "archiver",
                            c->archiverKnown ? json_pack("{s:I,s:o,s:o}", "failed_count", (json_int_t)c->archiveFailed,
                                                         "last_failed", jsonTimeNs(c->archiveLastFailedNs),
                                                         "last_archived", jsonTimeNs(c->archiveLastArchivedNs))
                                             : json_null());
        json_object_set_new(o, "wal", wal);
    }
    json_object_set_new(o, "copy",
                        c->copyRepository ? json_pack("{s:s,s:o}", "repository", c->copyRepository, "newest",
                                                      jsonTimeNs(c->copyNewestNs))
                                          : json_null());
    json_object_set_new(o, "charts",
                        json_pack("{s:o,s:o,s:o}", "duration_seconds", jsonSeries(&c->duration), "bytes_added",
                                  jsonSeries(&c->added), "rpo_achieved_seconds", jsonSeries(&c->rpo)));
    return o;
}

static char *renderJson(const MonReport *r) {
    json_t *doc = json_object();
    json_object_set_new(doc, "config", json_string(r->configName));
    json_object_set_new(doc, "host", json_string(r->host));
    json_object_set_new(doc, "generated_at", jsonTimeNs(r->nowMs * 1000000));
    json_object_set_new(doc, "since", jsonTimeNs(r->sinceMs * 1000000));
    json_object_set_new(doc, "health", json_string(monHealthName(r->health)));
    json_t *reasons = json_array(), *recs = json_array(), *comps = json_array(), *repos = json_array();
    for (size_t i = 0; i < r->recCount; i++) {
        const MonRecommendation *rec = &r->recs[i];
        json_array_append_new(reasons, json_string(rec->text));
        json_array_append_new(recs,
                              json_pack("{s:s,s:s,s:o,s:o,s:o,s:s}", "kind", monRecKindName(rec->kind), "severity",
                                        monHealthName(rec->severity), "component", jsonStr(rec->component), "job",
                                        jsonStr(rec->job), "repository", jsonStr(rec->repository), "text", rec->text));
    }
    for (size_t i = 0; i < r->componentCount; i++)
        json_array_append_new(comps, componentJson(&r->components[i]));
    for (size_t i = 0; i < r->repositoryCount; i++) {
        const MonReportRepository *rr = &r->repositories[i];
        json_array_append_new(
            repos, json_pack("{s:s,s:b,s:b,s:o,s:o,s:o,s:o,s:o,s:o}", "name", rr->name, "scanned", rr->scanned, "ok",
                             rr->ok, "error", jsonStr(rr->error), "size_bytes",
                             rr->scanned && rr->ok ? json_integer((json_int_t)rr->sizeBytes) : json_null(), "snapshots",
                             rr->scanned && rr->ok ? json_integer((json_int_t)rr->snapshots) : json_null(),
                             "growth_bytes", rr->growthKnown ? json_integer(rr->growthBytes) : json_null(),
                             "added_bytes", rr->addedBytes >= 0 ? json_integer(rr->addedBytes) : json_null(),
                             "oldest_lock", jsonTimeNs(rr->oldestLockNs)));
    }
    json_object_set_new(doc, "reasons", reasons);
    json_object_set_new(doc, "recommendations", recs);
    json_object_set_new(doc, "components", comps);
    json_object_set_new(doc, "repositories", repos);
    char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return s;
}

char *monReportRender(const MonReport *r, MonReportFormat fmt) {
    switch (fmt) {
    case monReportText:
        return renderText(r, false);
    case monReportMarkdown:
        return renderText(r, true);
    case monReportJson:
        return renderJson(r);
    case monReportHtml:
        return monReportRenderHtml(r);
    }
    return NULL;
}
