/* report.c - the drill result model and its JSON, text and HTML renderings (see report.h). */
#include "drill/report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/timeutil.h"
#include "job/report.h"
#include "storage/local/local.h"
#include "ui/table.h"

/* ---- the model ---- */

DrillResult *drillResultNew(const char *id, const char *at) {
    DrillResult *r = lbXcalloc(1, sizeof(*r));
    r->id = lbXstrdup(id ? id : "drill");
    r->at = lbXstrdup(at ? at : "latest");
    r->passed = true;
    return r;
}

static void componentClear(DrillComponentResult *c) {
    free(c->name);
    free(c->type);
    free(c->snapshotId);
    for (size_t i = 0; i < c->checkCount; i++)
        free(c->checks[i].text);
    free(c->checks);
    free(c->error);
    free(c->missed);
}

void drillResultFree(DrillResult *r) {
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->componentCount; i++)
        componentClear(&r->components[i]);
    free(r->components);
    if (r->consistency) {
        free(r->consistency->query);
        free(r->consistency->component);
        for (size_t i = 0; i < r->consistency->exampleCount; i++)
            free(r->consistency->examples[i]);
        free(r->consistency->examples);
        free(r->consistency);
    }
    free(r->id);
    free(r->at);
    free(r->recoveryPoint);
    free(r);
}

DrillComponentResult *drillResultAddComponent(DrillResult *r, const char *name, const char *type) {
    r->components = lbXrealloc(r->components, (r->componentCount + 1) * sizeof(*r->components));
    DrillComponentResult *c = &r->components[r->componentCount++];
    memset(c, 0, sizeof(*c));
    c->name = lbXstrdup(name);
    c->type = lbXstrdup(type);
    c->rpoSeconds = -1;
    c->rtoObjective = -1;
    c->rpoObjective = -1;
    c->passed = true;
    return c;
}

void drillComponentAddCheck(DrillComponentResult *c, bool passed, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = lbXvasprintf(fmt, ap);
    va_end(ap);
    c->checks = lbXrealloc(c->checks, (c->checkCount + 1) * sizeof(*c->checks));
    c->checks[c->checkCount++] = (DrillCheck){.text = text, .passed = passed};
    if (!passed)
        c->passed = false;
}

/* Append msg (consumed) to c->error, "; "-separated. */
static void componentFailTake(DrillComponentResult *c, char *msg) {
    c->passed = false;
    if (c->error == NULL) {
        c->error = msg;
        return;
    }
    char *joined = lbXasprintf("%s; %s", c->error, msg);
    free(c->error);
    free(msg);
    c->error = joined;
}

void drillComponentFail(DrillComponentResult *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = lbXvasprintf(fmt, ap);
    va_end(ap);
    componentFailTake(c, msg);
}

void drillComponentCompare(DrillComponentResult *c) {
    bool rto = c->rtoObjective >= 0 && c->totalSeconds > (double)c->rtoObjective;
    bool rpo = c->rpoObjective >= 0 && c->rpoSeconds >= 0 && c->rpoSeconds > (double)c->rpoObjective;
    free(c->missed);
    c->missed = rto && rpo ? lbXstrdup("rto,rpo") : rto ? lbXstrdup("rto") : rpo ? lbXstrdup("rpo") : NULL;
    char got[32], want[32];
    if (rto) {
        drillFormatSeconds(c->totalSeconds, got, sizeof(got));
        drillFormatSeconds((double)c->rtoObjective, want, sizeof(want));
        drillComponentFail(c, "RTO objective missed: recovered in %s, the objective is %s", got, want);
    }
    if (rpo) {
        drillFormatSeconds(c->rpoSeconds, got, sizeof(got));
        drillFormatSeconds((double)c->rpoObjective, want, sizeof(want));
        drillComponentFail(c, "RPO objective missed: the newest restorable data is %s old, the objective is %s", got,
                           want);
    }
}

DrillConsistency *drillResultConsistency(DrillResult *r) {
    if (r->consistency == NULL) {
        r->consistency = lbXcalloc(1, sizeof(*r->consistency));
        r->consistency->passed = true;
    }
    return r->consistency;
}

void drillResultFinish(DrillResult *r) {
    r->passed = r->componentCount > 0 || r->consistency != NULL;
    for (size_t i = 0; i < r->componentCount; i++)
        if (!r->components[i].passed)
            r->passed = false;
    if (r->consistency && !r->consistency->passed)
        r->passed = false;
}

void drillFormatSeconds(double s, char *out, size_t n) {
    if (s < 0) {
        snprintf(out, n, "-");
        return;
    }
    if (s < 60) {
        snprintf(out, n, "%.1f s", s);
        return;
    }
    long t = (long)(s + 0.5);
    if (t < 3600)
        snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else if (t < 86400)
        snprintf(out, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else
        snprintf(out, n, "%ldd%02ldh", t / 86400, t / 3600 % 24);
}

/* ---- JSON ---- */

static json_t *jsonStrOrNull(const char *s) {
    return s ? json_string(s) : json_null();
}

static json_t *jsonTime(int64_t ns) {
    if (ns == 0)
        return json_null();
    char buf[48];
    lbFormatTimeNs(ns, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *jsonSecondsOrNull(int64_t s) {
    return s >= 0 ? json_integer((json_int_t)s) : json_null();
}

static json_t *componentJson(const DrillComponentResult *c) {
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "type", json_string(c->type));
    json_object_set_new(o, "snapshot_id", jsonStrOrNull(c->snapshotId));
    json_object_set_new(o, "snapshot_time", jsonTime(c->snapshotNs));
    json_object_set_new(o, "recovered_as_of", jsonTime(c->recoveredNs));
    json_object_set_new(o, "bytes_restored", json_integer((json_int_t)c->bytes));
    json_object_set_new(o, "restore_seconds", json_real(c->restoreSeconds));
    json_object_set_new(o, "verify_seconds", json_real(c->verifySeconds));
    json_object_set_new(o, "rto_seconds", json_real(c->totalSeconds));
    json_object_set_new(o, "rpo_seconds", c->rpoSeconds >= 0 ? json_real(c->rpoSeconds) : json_null());
    json_object_set_new(o, "rto_objective_seconds", jsonSecondsOrNull(c->rtoObjective));
    json_object_set_new(o, "rpo_objective_seconds", jsonSecondsOrNull(c->rpoObjective));
    json_object_set_new(o, "passed", json_boolean(c->passed));
    json_t *checks = json_array();
    for (size_t i = 0; i < c->checkCount; i++) {
        json_t *k = json_object();
        json_object_set_new(k, "passed", json_boolean(c->checks[i].passed));
        json_object_set_new(k, "text", json_string(c->checks[i].text));
        json_array_append_new(checks, k);
    }
    json_object_set_new(o, "checks", checks);
    json_object_set_new(o, "error", jsonStrOrNull(c->error));
    json_object_set_new(o, "missed_objective", jsonStrOrNull(c->missed));
    return o;
}

json_t *drillResultToJson(const DrillResult *r) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "start_time", jsonTime(r->startNs));
    json_object_set_new(o, "end_time", jsonTime(r->endNs));
    json_object_set_new(o, "duration_seconds",
                        json_real(r->endNs > r->startNs ? (double)(r->endNs - r->startNs) / 1e9 : 0.0));
    json_object_set_new(o, "at", json_string(r->at));
    json_object_set_new(o, "recovery_point", jsonStrOrNull(r->recoveryPoint));
    json_object_set_new(o, "passed", json_boolean(r->passed));
    json_t *comps = json_array();
    for (size_t i = 0; i < r->componentCount; i++)
        json_array_append_new(comps, componentJson(&r->components[i]));
    json_object_set_new(o, "components", comps);
    if (r->consistency) {
        const DrillConsistency *k = r->consistency;
        json_t *c = json_object();
        json_object_set_new(c, "query", jsonStrOrNull(k->query));
        json_object_set_new(c, "component", jsonStrOrNull(k->component));
        json_object_set_new(c, "keys_referenced", json_integer((json_int_t)k->keysReferenced));
        json_object_set_new(c, "keys_missing", json_integer((json_int_t)k->keysMissing));
        json_t *ex = json_array();
        for (size_t i = 0; i < k->exampleCount; i++)
            json_array_append_new(ex, json_string(k->examples[i]));
        json_object_set_new(c, "missing_examples", ex);
        json_object_set_new(c, "passed", json_boolean(k->passed));
        json_object_set_new(o, "consistency", c);
    } else {
        json_object_set_new(o, "consistency", json_null());
    }
    return o;
}

/* ---- shared pieces of text and HTML ---- */

/* "4.3 s / 5m00s", "4.3 s / -" */
static void achievedVsObjective(double achieved, int64_t objective, char *out, size_t n) {
    char a[24], o[24];
    drillFormatSeconds(achieved, a, sizeof(a));
    drillFormatSeconds((double)objective, o, sizeof(o));
    snprintf(out, n, "%s / %s", a, o);
}

static void shortTime(int64_t ns, char *out, size_t n) {
    if (ns == 0)
        snprintf(out, n, "-");
    else
        lbFormatTimeShort(ns, out, n);
}

static void resultWord(const DrillComponentResult *c, char *out, size_t n) {
    if (c->passed)
        snprintf(out, n, "ok");
    else if (c->missed)
        snprintf(out, n, "FAILED (%s)", c->missed);
    else
        snprintf(out, n, "FAILED");
}

/* The first 12 hex digits of a snapshot ID (as the other tables show). */
static void shortId(const char *id, char *out, size_t n) {
    snprintf(out, n, "%.12s", id ? id : "-");
}

/* ---- text ---- */

bool drillReportText(const DrillResult *r, FILE *out, LbError *err) {
    char start[48], took[32];
    shortTime(r->startNs, start, sizeof(start));
    drillFormatSeconds(r->endNs > r->startNs ? (double)(r->endNs - r->startNs) / 1e9 : 0.0, took, sizeof(took));
    char *id = lbPrintableDup(r->id), *at = lbPrintableDup(r->at);
    char *rp = r->recoveryPoint ? lbPrintableDup(r->recoveryPoint) : NULL;
    fprintf(out, "drill %s: %s\n", id, r->passed ? "PASSED" : "FAILED");
    fprintf(out, "started %s UTC, took %s, recovering as of %s%s%s\n\n", start, took, at, rp ? ", recovery point " : "",
            rp ? rp : "");
    free(id);
    free(at);
    free(rp);

    UiTable *t = uiTableNew();
    const char *heads[] = {"component", "type",   "snapshot", "as of", "bytes",
                           "restore",   "verify", "RTO",      "RPO",   "result"};
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
        uiTableColumn(t, heads[i], i >= 4 && i <= 6 ? UI_ALIGN_RIGHT : UI_ALIGN_LEFT);
    for (size_t i = 0; i < r->componentCount; i++) {
        const DrillComponentResult *c = &r->components[i];
        char buf[64];
        uiTableCell(t, c->name);
        uiTableCell(t, c->type);
        shortId(c->snapshotId, buf, sizeof(buf));
        uiTableCell(t, buf);
        shortTime(c->recoveredNs, buf, sizeof(buf));
        uiTableCell(t, buf);
        jobFormatBytes((double)c->bytes, buf, sizeof(buf));
        uiTableCell(t, buf);
        drillFormatSeconds(c->restoreSeconds, buf, sizeof(buf));
        uiTableCell(t, buf);
        drillFormatSeconds(c->verifySeconds, buf, sizeof(buf));
        uiTableCell(t, buf);
        achievedVsObjective(c->totalSeconds, c->rtoObjective, buf, sizeof(buf));
        uiTableCell(t, buf);
        achievedVsObjective(c->rpoSeconds, c->rpoObjective, buf, sizeof(buf));
        uiTableCell(t, buf);
        resultWord(c, buf, sizeof(buf));
        uiTableCell(t, buf);
    }
    uiTablePrint(t, out);
    uiTableFree(t);
    fprintf(out, "(RTO and RPO: achieved / objective)\n");

    bool anyCheck = false;
    for (size_t i = 0; i < r->componentCount; i++)
        anyCheck = anyCheck || r->components[i].checkCount > 0;
    if (anyCheck) {
        fprintf(out, "\nchecks:\n");
        for (size_t i = 0; i < r->componentCount; i++) {
            const DrillComponentResult *c = &r->components[i];
            char *name = lbPrintableDup(c->name);
            for (size_t j = 0; j < c->checkCount; j++) {
                char *text = lbPrintableDup(c->checks[j].text);
                fprintf(out, "  %-4s %s: %s\n", c->checks[j].passed ? "ok" : "FAIL", name, text);
                free(text);
            }
            free(name);
        }
    }
    if (r->consistency) {
        const DrillConsistency *k = r->consistency;
        char *q = lbPrintableDup(k->query ? k->query : "");
        char *comp = lbPrintableDup(k->component ? k->component : "");
        fprintf(out, "\nconsistency: %s: %llu keys referenced by '%s', %llu missing from %s\n",
                k->passed ? "ok" : "FAILED", (unsigned long long)k->keysReferenced, q,
                (unsigned long long)k->keysMissing, comp);
        for (size_t i = 0; i < k->exampleCount; i++) {
            char *key = lbPrintableDup(k->examples[i]);
            fprintf(out, "  missing: %s\n", key);
            free(key);
        }
        free(q);
        free(comp);
    }
    bool anyFailure = false;
    for (size_t i = 0; i < r->componentCount; i++) {
        const DrillComponentResult *c = &r->components[i];
        if (c->passed)
            continue;
        if (!anyFailure)
            fprintf(out, "\nfailures:\n");
        anyFailure = true;
        char *name = lbPrintableDup(c->name);
        char *msg = lbPrintableDup(c->error ? c->error : "a check failed");
        fprintf(out, "  %s: %s\n", name, msg);
        free(name);
        free(msg);
    }
    if (fflush(out) != 0 || ferror(out))
        return lbErrSys(err, "unable to write the drill report");
    return true;
}

/* ---- HTML ---- */

/* Write s HTML-escaped; control characters (user data may hold any) are
 * shown as \xHH, as in the text report. */
static void htmlText(FILE *out, const char *s) {
    char *p = lbPrintableDup(s ? s : "");
    for (const char *c = p; *c; c++) {
        switch (*c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            fputc(*c, out);
        }
    }
    free(p);
}

static const char HTML_STYLE[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#222}"
    "h1 .pass,h1 .fail{font-size:.8em;padding:.1em .5em;border-radius:.3em;color:#fff}"
    "h1 .pass{background:#2e7d32}h1 .fail{background:#c62828}"
    "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    "th{background:#f0f0f0}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.pass td.result{background:#e8f5e9;color:#1b5e20}tr.fail td.result{background:#ffebee;color:#b71c1c}"
    "td.miss{background:#ffebee;color:#b71c1c;font-weight:bold}.obj{color:#777}"
    "li.pass::marker{color:#2e7d32}li.fail{color:#b71c1c}code{font-family:monospace}";

static void htmlObjectiveCell(FILE *out, double achieved, int64_t objective, bool missed) {
    char a[32], o[32];
    drillFormatSeconds(achieved, a, sizeof(a));
    drillFormatSeconds((double)objective, o, sizeof(o));
    fprintf(out, "<td class=\"num%s\">%s <span class=\"obj\">/ %s</span></td>", missed ? " miss" : "", a, o);
}

static void htmlCell(FILE *out, const char *cls, const char *text) {
    fprintf(out, "<td%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    htmlText(out, text);
    fputs("</td>", out);
}

static void htmlComponentRow(FILE *out, const DrillComponentResult *c) {
    char buf[64];
    fprintf(out, "<tr class=\"%s\">", c->passed ? "pass" : "fail");
    htmlCell(out, NULL, c->name);
    htmlCell(out, NULL, c->type);
    fputs("<td><code title=\"", out);
    htmlText(out, c->snapshotId ? c->snapshotId : "");
    fputs("\">", out);
    shortId(c->snapshotId, buf, sizeof(buf));
    htmlText(out, buf);
    fputs("</code></td>", out);
    shortTime(c->recoveredNs, buf, sizeof(buf));
    htmlCell(out, NULL, buf);
    jobFormatBytes((double)c->bytes, buf, sizeof(buf));
    htmlCell(out, "num", buf);
    drillFormatSeconds(c->restoreSeconds, buf, sizeof(buf));
    htmlCell(out, "num", buf);
    drillFormatSeconds(c->verifySeconds, buf, sizeof(buf));
    htmlCell(out, "num", buf);
    htmlObjectiveCell(out, c->totalSeconds, c->rtoObjective, c->missed && strstr(c->missed, "rto"));
    htmlObjectiveCell(out, c->rpoSeconds, c->rpoObjective, c->missed && strstr(c->missed, "rpo"));
    resultWord(c, buf, sizeof(buf));
    htmlCell(out, "result", buf);
    fputs("</tr>\n", out);
}

bool drillReportHtml(const DrillResult *r, FILE *out, LbError *err) {
    char start[48], took[32];
    shortTime(r->startNs, start, sizeof(start));
    drillFormatSeconds(r->endNs > r->startNs ? (double)(r->endNs - r->startNs) / 1e9 : 0.0, took, sizeof(took));
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>lifeboat drill ", out);
    htmlText(out, r->id);
    fprintf(out, ": %s</title>\n<style>%s</style>\n</head>\n<body>\n<h1>Drill ", r->passed ? "passed" : "FAILED",
            HTML_STYLE);
    htmlText(out, r->id);
    fprintf(out, " <span class=\"%s\">%s</span></h1>\n", r->passed ? "pass" : "fail", r->passed ? "passed" : "FAILED");
    fprintf(out, "<p>Started %s UTC, took %s, recovering as of ", start, took);
    htmlText(out, r->at);
    if (r->recoveryPoint) {
        fputs(", recovery point <code>", out);
        htmlText(out, r->recoveryPoint);
        fputs("</code>", out);
    }
    fputs(".</p>\n<table>\n<tr><th>component</th><th>type</th><th>snapshot</th><th>as of (UTC)</th><th>bytes</th>"
          "<th>restore</th><th>verify</th><th>RTO achieved / objective</th><th>RPO achieved / objective</th>"
          "<th>result</th></tr>\n",
          out);
    for (size_t i = 0; i < r->componentCount; i++)
        htmlComponentRow(out, &r->components[i]);
    fputs("</table>\n", out);

    bool anyFailure = false;
    for (size_t i = 0; i < r->componentCount; i++)
        anyFailure = anyFailure || !r->components[i].passed;
    if (anyFailure) {
        fputs("<h2>Failures</h2>\n<ul>\n", out);
        for (size_t i = 0; i < r->componentCount; i++) {
            const DrillComponentResult *c = &r->components[i];
            if (c->passed)
                continue;
            fputs("<li class=\"fail\"><b>", out);
            htmlText(out, c->name);
            fputs("</b>: ", out);
            htmlText(out, c->error ? c->error : "a check failed");
            fputs("</li>\n", out);
        }
        fputs("</ul>\n", out);
    }
    for (size_t i = 0; i < r->componentCount; i++) {
        const DrillComponentResult *c = &r->components[i];
        if (c->checkCount == 0)
            continue;
        fputs("<h2>Checks of ", out);
        htmlText(out, c->name);
        fputs("</h2>\n<ul>\n", out);
        for (size_t j = 0; j < c->checkCount; j++) {
            fprintf(out, "<li class=\"%s\">%s: ", c->checks[j].passed ? "pass" : "fail",
                    c->checks[j].passed ? "ok" : "FAILED");
            htmlText(out, c->checks[j].text);
            fputs("</li>\n", out);
        }
        fputs("</ul>\n", out);
    }
    if (r->consistency) {
        const DrillConsistency *k = r->consistency;
        fprintf(out, "<h2>Consistency <span class=\"obj\">(%s)</span></h2>\n<p>", k->passed ? "passed" : "FAILED");
        fprintf(out, "%llu keys referenced by <code>", (unsigned long long)k->keysReferenced);
        htmlText(out, k->query);
        fprintf(out, "</code>, %llu missing from ", (unsigned long long)k->keysMissing);
        htmlText(out, k->component);
        fputs(".</p>\n", out);
        if (k->exampleCount > 0) {
            fputs("<ul>\n", out);
            for (size_t i = 0; i < k->exampleCount; i++) {
                fputs("<li class=\"fail\"><code>", out);
                htmlText(out, k->examples[i]);
                fputs("</code></li>\n", out);
            }
            fputs("</ul>\n", out);
        }
    }
    fputs("</body>\n</html>\n", out);
    if (fflush(out) != 0 || ferror(out))
        return lbErrSys(err, "unable to write the drill report");
    return true;
}

/* ---- saving ---- */

typedef bool (*RenderFn)(const DrillResult *r, FILE *out, LbError *err);

static bool renderJson(const DrillResult *r, FILE *out, LbError *err) {
    json_t *j = drillResultToJson(r);
    int rc = json_dumpf(j, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (rc != 0 || fputc('\n', out) == EOF || fflush(out) != 0)
        return lbErrSys(err, "unable to write the drill report");
    return true;
}

/* Render into memory and store STATE/drills/ID.EXT through the local
 * storage driver (temporary file, fsync, rename, directory fsync). */
static bool saveOne(Storage *st, const DrillResult *r, const char *ext, RenderFn render, LbError *err) {
    char *data = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&data, &len);
    if (mem == NULL)
        return lbErrSys(err, "unable to render the drill report");
    bool ok = render(r, mem, err);
    fclose(mem);
    char *name = lbXasprintf("drills/%s.%s", r->id, ext);
    ok = ok && storagePut(st, name, (const uint8_t *)data, len, err);
    free(name);
    free(data);
    return ok;
}

bool drillReportSave(const DrillResult *r, const char *stateDir, LbError *err) {
    if (r->id == NULL || strchr(r->id, '/') || !storageSegmentValid(r->id, strlen(r->id)))
        return lbErr(err, LB_ERR_ARGS, "unable to save drill report '%s': not a valid file name",
                     r->id ? r->id : "(null)");
    Storage *st = storageLocalNew(stateDir, err);
    if (st == NULL)
        return lbErrorWrap(err, "unable to save the drill report");
    bool ok = saveOne(st, r, "json", renderJson, err) && saveOne(st, r, "txt", drillReportText, err) &&
              saveOne(st, r, "html", drillReportHtml, err);
    storageFree(st);
    if (!ok)
        return lbErrorWrap(err, "unable to save the drill report in '%s/drills'", stateDir);
    return true;
}
