/* points.c - `lifeboat points`: the recovery points of a repository (the
 * snapshots one backup job took together), the skew between their
 * components, and the window of point-in-time recovery of each physical
 * PostgreSQL component, from the WAL actually in the repository. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "config/file.h"
#include "cmd/pitr_window.h"
#include "recover/plan.h"
#include "ui/table.h"

/* points --config F (without -r): the same verb on the file's default repository */
static int onConfigRepository(const CfgValues *cfg, const GlobalOpts *g) {
    CfgFile *file = cliLoadConfig(cfg, g);
    if (file == NULL)
        return 1;
    const CfgFileRepository *repo = cfgFileRepository(file, NULL);
    CliArgv a = {0};
    cliArgvAdd(&a, "lifeboat");
    cliArgvAdd(&a, "points");
    cliArgvAddAll(&a, &repo->args);
    if (g->json)
        cliArgvAdd(&a, "--json");
    if (cfgStr(cfg, cfgOptAt))
        cliArgvAddf(&a, "--at=%s", cfgStr(cfg, cfgOptAt));
    int rc = cliMain(a.n, a.v);
    cliArgvFree(&a);
    cfgFileFree(file);
    return rc;
}

static int cmpStr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct recovery points of list, sorted (borrowed strings). */
static const char **pointIds(const SnapshotList *list, size_t *count) {
    const char **ids = lbXmalloc((list->count + 1) * sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i].recoveryPoint)
            ids[n++] = list->items[i].recoveryPoint;
    qsort(ids, n, sizeof(char *), cmpStr);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(ids[u - 1], ids[i]) != 0)
            ids[u++] = ids[i];
    *count = u;
    return ids;
}

static json_t *timeJson(int64_t ns) {
    char t[40];
    lbFormatTimeNs(ns, t, sizeof(t));
    return json_string(t);
}

/* One recovery point: its snapshots (the newest per component), read times and skew. */
static json_t *pointJson(const SnapshotList *list, const char *id, int64_t *firstNs) {
    json_t *comps = json_array();
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = list->count; i-- > 0;) {
        const Snapshot *s = &list->items[i];
        if (s->recoveryPoint == NULL || strcmp(s->recoveryPoint, id) != 0)
            continue;
        bool seen = false;
        for (size_t k = 0; k < json_array_size(comps) && !seen; k++) {
            const char *c = json_string_value(json_object_get(json_array_get(comps, k), "component"));
            seen = c && s->component && strcmp(c, s->component) == 0;
        }
        if (seen)
            continue;
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&s->id, hex);
        int64_t read = recoverReadTimeNs(s);
        lo = read < lo ? read : lo;
        hi = read > hi ? read : hi;
        json_array_append_new(comps, json_pack("{s:s?, s:s, s:o, s:s}", "component", s->component, "snapshot_id", hex,
                                               "read_time", timeJson(read), "kind",
                                               recoverIsPhysical(s) ? "pg-physical" : "snapshot"));
    }
    *firstNs = lo;
    return json_pack("{s:s, s:o, s:f, s:o}", "id", id, "time", timeJson(lo), "skew_seconds", (double)(hi - lo) / 1e9,
                     "components", comps);
}

/* "2026-12-01T02:00:01.000000000Z" as "2026-12-01 02:00:01" */
static void cellTime(UiTable *t, const char *rfc) {
    if (rfc == NULL || strlen(rfc) < 19) {
        uiTableCell(t, rfc ? rfc : "");
        return;
    }
    uiTableCellf(t, "%.10s %.8s", rfc, rfc + 11);
}

static void printText(const json_t *doc) {
    UiTable *t = uiTableNew();
    static const char *const heads[] = {"Recovery point", "Time (UTC)", "Skew", "Component", "Snapshot", "Read (UTC)"};
    for (int c = 0; c < 6; c++)
        uiTableColumn(t, heads[c], c == 2 ? UI_ALIGN_RIGHT : UI_ALIGN_LEFT);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(doc, "points"), i, p) {
        json_t *comps = json_object_get(p, "components");
        size_t k;
        json_t *c;
        json_array_foreach(comps, k, c) {
            char skew[32] = "";
            if (k == 0)
                cliFormatDuration(json_real_value(json_object_get(p, "skew_seconds")), skew, sizeof(skew));
            uiTableCell(t, k == 0 ? json_string_value(json_object_get(p, "id")) : "");
            cellTime(t, k == 0 ? json_string_value(json_object_get(p, "time")) : "");
            uiTableCell(t, skew);
            uiTableCell(t, json_string_value(json_object_get(c, "component")));
            uiTableCellf(t, "%.8s", json_string_value(json_object_get(c, "snapshot_id")));
            cellTime(t, json_string_value(json_object_get(c, "read_time")));
        }
    }
    uiTablePrint(t, stdout);
    uiTableFree(t);
    printf("%zu recovery point(s)\n", json_array_size(json_object_get(doc, "points")));
    cliPitrWindowsPrint(json_object_get(doc, "pitr"));
}

int cmdPoints(const CfgValues *cfg) {
    CliVerb v = cliVerb(cfg);
    if (v.g.repo == NULL && cfgIsSet(cfg, cfgOptConfig))
        return onConfigRepository(cfg, &v.g);
    CliRepo r;
    SnapshotList list = {0};
    json_t *doc = NULL;
    bool ok = cliRepoOpen(&v.g, CLI_LOCK_NONE, &r, &v.err) && snapshotLoadAll(r.repo, &list, &v.err);
    if (ok) {
        size_t n;
        const char **ids = pointIds(&list, &n);
        json_t *points = json_array(), *pitr = json_array();
        for (size_t i = 0; i < n; i++) {
            int64_t first;
            json_t *p = pointJson(&list, ids[i], &first);
            if (v.filter.atNs && first > v.filter.atNs)
                json_decref(p);
            else
                json_array_append_new(points, p);
        }
        free(ids);
        doc = json_pack("{s:o, s:o}", "points", points, "pitr", pitr);
        ok = cliPitrWindows(r.repo, &list, NULL, pitr, &v.err);
    }
    if (ok && v.g.json)
        cliPrintJson(json_incref(doc));
    else if (ok && !v.g.quiet)
        printText(doc);
    json_decref(doc);
    snapshotListFree(&list);
    cliRepoClose(&r);
    return cliExit(&v.g, ok, &v.err);
}
