/* pitr_window.c - the point-in-time recovery window in `points` and
 * `snapshots` (cmd/pitr_window.h). */
#include "cmd/pitr_window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/timeutil.h"
#include "pg/walwindow.h"
#include "recover/plan.h"

static json_t *timeJson(int64_t ns) {
    char t[40];
    lbFormatTimeNs(ns, t, sizeof(t));
    return json_string(t);
}

/* The distinct components of the physical snapshots matching filter
 * (borrowed strings; "" for none). */
static const char **physicalComponents(const SnapshotList *list, const SnapshotFilter *filter, size_t *count) {
    const char **names = lbXmalloc((list->count + 1) * sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < list->count; i++) {
        const Snapshot *s = &list->items[i];
        if (!recoverIsPhysical(s) || (filter && !snapshotMatches(s, filter)))
            continue;
        const char *c = s->component ? s->component : "";
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(names[k], c) == 0;
        if (!seen)
            names[n++] = c;
    }
    *count = n;
    return names;
}

bool cliPitrWindows(Repo *repo, const SnapshotList *list, const SnapshotFilter *filter, json_t *out, LbError *err) {
    size_t n;
    const char **names = physicalComponents(list, filter, &n);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        SnapshotFilter f = {.component = names[i][0] ? names[i] : NULL, .host = filter ? filter->host : NULL};
        WalWindow w;
        ok = walWindowCompute(repo, list, &f, &w, err);
        if (!ok)
            break;
        json_t *o = json_pack("{s:s, s:b}", "component", names[i], "available", w.available);
        if (w.available) {
            char a[LB_ID_HEX_LEN + 1], b[LB_ID_HEX_LEN + 1];
            lbIdToHex(&w.oldestBackup, a);
            lbIdToHex(&w.newestBackup, b);
            json_object_set_new(o, "first", timeJson(w.firstNs));
            json_object_set_new(o, "newest", timeJson(w.newestNs));
            json_object_set_new(o, "timeline", json_integer(w.timeline));
            json_object_set_new(o, "segments", json_integer((json_int_t)w.segments));
            json_object_set_new(o, "first_segment", json_string(w.firstSegment));
            json_object_set_new(o, "last_segment", json_string(w.lastSegment));
            json_object_set_new(o, "base_backups", json_integer((json_int_t)w.backups));
            json_object_set_new(o, "oldest_backup", json_string(a));
            json_object_set_new(o, "newest_backup", json_string(b));
        }
        json_array_append_new(out, o);
    }
    free(names);
    return ok;
}

void cliPitrWindowsPrint(const json_t *windows) {
    size_t i;
    json_t *p;
    json_array_foreach(windows, i, p) {
        const char *c = json_string_value(json_object_get(p, "component"));
        if (json_is_true(json_object_get(p, "available")))
            printf("point-in-time recovery of %s: from %s to %s (%lld WAL segments, %lld base backups)\n", c,
                   json_string_value(json_object_get(p, "first")), json_string_value(json_object_get(p, "newest")),
                   (long long)json_integer_value(json_object_get(p, "segments")),
                   (long long)json_integer_value(json_object_get(p, "base_backups")));
        else
            printf("point-in-time recovery of %s: not possible (the newest base backup's WAL is not archived)\n", c);
    }
}
