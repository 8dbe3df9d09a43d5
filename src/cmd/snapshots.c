/* snapshots.c - `lifeboat snapshots`, `ls`, `diff`: options and printing;
 * the tree walk is snapshot/walk.c, the diff snapshot/diff.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cli.h"
#include "cmd/pitr_window.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "restore/restore.h"
#include "snapshot/diff.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"
#include "snapshot/walk.h"
#include "ui/table.h"

/* One snapshot as a table row; further paths on rows of their own. */
static void snapshotRow(UiTable *t, const Snapshot *s) {
    char hex[LB_ID_HEX_LEN + 1], time[32], size[32];
    lbIdToHex(&s->id, hex);
    lbFormatTimeShort(s->timeNs, time, sizeof(time));
    cliFormatBytes((double)s->summary.totalBytes, size, sizeof(size));
    LbBuf tags = {0};
    for (size_t k = 0; k < s->tagCount; k++) {
        lbBufAppendStr(&tags, k ? "," : "");
        lbBufAppendStr(&tags, s->tags[k]);
    }
    lbBufAppend(&tags, "", 1);
    uiTableCellf(t, "%.8s", hex);
    uiTableCell(t, time);
    uiTableCell(t, s->hostname);
    uiTableCell(t, s->component);
    uiTableCell(t, (const char *)tags.data);
    uiTableCell(t, size);
    uiTableCell(t, s->pathCount ? s->paths[0] : "");
    lbBufFree(&tags);
    for (size_t k = 1; k < s->pathCount; k++) {
        for (int c = 0; c < 6; c++)
            uiTableCell(t, "");
        uiTableCell(t, s->paths[k]);
    }
}

static bool sameStrings(char *const *a, size_t an, char *const *b, size_t bn) {
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

static bool sameOptString(const char *a, const char *b) {
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* With --at, snapshots lists the snapshot current at that time of each
 * group (host, component, paths): is there a newer matching one in the
 * group of list->items[i]? (The list is sorted oldest first.) */
static bool supersededAt(const SnapshotList *list, size_t i, const SnapshotFilter *f) {
    const Snapshot *s = &list->items[i];
    for (size_t k = i + 1; k < list->count; k++) {
        const Snapshot *n = &list->items[k];
        if (snapshotMatches(n, f) && sameOptString(s->hostname, n->hostname) &&
            sameOptString(s->component, n->component) && sameStrings(s->paths, s->pathCount, n->paths, n->pathCount))
            return true;
    }
    return false;
}

/* Below the table: the point-in-time recovery window of each physical
 * component shown (the JSON array stays a plain list of snapshots: `points
 * --json` carries the windows). A repository error there is only a warning. */
static void windowsPrint(Repo *repo, const SnapshotList *list, const SnapshotFilter *f) {
    json_t *w = json_array();
    LbError err = {0};
    if (cliPitrWindows(repo, list, f, w, &err))
        cliPitrWindowsPrint(w);
    else
        lbLogWarn("unable to compute the point-in-time recovery window: %s", err.msg);
    json_decref(w);
}

static void snapshotsPrint(Repo *repo, const GlobalOpts *g, const SnapshotList *list, const SnapshotFilter *f) {
    json_t *arr = json_array();
    UiTable *t = uiTableNew();
    static const char *const heads[] = {"ID", "Time (UTC)", "Host", "Component", "Tags", "Size", "Paths"};
    for (int c = 0; c < 7; c++)
        uiTableColumn(t, heads[c], c == 5 ? UI_ALIGN_RIGHT : UI_ALIGN_LEFT);
    size_t shown = 0;
    for (size_t i = 0; i < list->count; i++) {
        if (!snapshotMatches(&list->items[i], f) || (f->atNs && supersededAt(list, i, f)))
            continue;
        shown++;
        json_array_append_new(arr, snapshotToJson(&list->items[i], true));
        snapshotRow(t, &list->items[i]);
    }
    if (g->json) {
        cliPrintJson(arr);
        arr = NULL;
    } else {
        uiTablePrint(t, stdout);
        printf("%zu snapshot(s)\n", shown);
        if (!f->atNs)
            windowsPrint(repo, list, f);
    }
    json_decref(arr);
    uiTableFree(t);
}

int cmdSnapshots(const CfgValues *cfg) {
    CliVerb v = cliVerb(cfg);
    CliRepo r;
    SnapshotList list = {0};
    bool ok = cliRepoOpen(&v.g, CLI_LOCK_NONE, &r, &v.err) && snapshotLoadAll(r.repo, &list, &v.err);
    if (ok)
        snapshotsPrint(r.repo, &v.g, &list, &v.filter);
    snapshotListFree(&list);
    cliRepoClose(&r);
    return cliExit(&v.g, ok, &v.err);
}

/* ---- ls ---- */

static void modeString(const Node *n, char *out) {
    const char *types = "-dlcbps";
    out[0] = types[n->type];
    const char *rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        out[1 + i] = (n->mode & (1u << (8 - i))) ? rwx[i] : '-';
    if (n->mode & 04000)
        out[3] = (n->mode & 0100) ? 's' : 'S';
    if (n->mode & 02000)
        out[6] = (n->mode & 010) ? 's' : 'S';
    if (n->mode & 01000)
        out[9] = (n->mode & 01) ? 't' : 'T';
    out[10] = '\0';
}

/* ls -l prints its rows in blocks of this many, each block's columns sized
 * to its content: memory stays flat in the size of the snapshot. */
#define LS_TABLE_ROWS 1000

typedef struct LsPrinter {
    const GlobalOpts *g;
    UiTable *table; /* ls -l: the rows of the current block */
} LsPrinter;

static UiTable *lsTableNew(void) {
    UiTable *t = uiTableNew();
    uiTableSetHeader(t, false);
    for (int c = 0; c < 6; c++)
        uiTableColumn(t, "", c == 3 ? UI_ALIGN_RIGHT : UI_ALIGN_LEFT);
    return t;
}

static json_t *nodeJson(const char *path, const Node *n) {
    json_t *j = json_object();
    json_object_set_new(j, "message_type", json_string("node"));
    json_object_set_new(j, "path", json_string(path));
    json_object_set_new(j, "type", json_string(nodeTypeName(n->type)));
    json_object_set_new(j, "mode", json_integer(n->mode));
    json_object_set_new(j, "uid", json_integer(n->uid));
    json_object_set_new(j, "gid", json_integer(n->gid));
    json_object_set_new(j, "size", json_integer((json_int_t)n->size));
    char t[48];
    lbFormatTimeNs(n->mtimeNs, t, sizeof(t));
    json_object_set_new(j, "mtime", json_string(t));
    if (n->linkTarget)
        json_object_set_new(j, "target", json_string(n->linkTarget));
    return j;
}

static bool lsNode(void *ctx, const char *path, const Node *n, LbError *err) {
    (void)err;
    LsPrinter *p = ctx;
    if (p->g->json) {
        cliPrintJson(nodeJson(path, n));
    } else if (p->table) {
        char mode[11], t[32];
        modeString(n, mode);
        lbFormatTimeShort(n->mtimeNs, t, sizeof(t));
        uiTableCell(p->table, mode);
        uiTableCell(p->table, n->user ? n->user : "?");
        uiTableCell(p->table, n->group ? n->group : "?");
        uiTableCellf(p->table, "%llu", (unsigned long long)n->size);
        uiTableCell(p->table, t);
        uiTableCellf(p->table, "%s%s%s", path, n->linkTarget ? " -> " : "", n->linkTarget ? n->linkTarget : "");
        if (uiTableRowCount(p->table) >= LS_TABLE_ROWS) {
            uiTablePrint(p->table, stdout);
            uiTableFree(p->table);
            p->table = lsTableNew();
        }
    } else {
        char *shown = lbPrintableDup(path);
        printf("%s\n", shown);
        free(shown);
    }
    return true;
}

/* List path (NULL: the root) of snap and everything below it. */
static bool lsPath(Repo *repo, const Snapshot *snap, const char *path, LsPrinter *p, LbError *err) {
    Node top = {0};
    if (!restoreFindPath(repo, snap, path, &top, err)) {
        nodeClear(&top);
        return false;
    }
    char *prefix = lbXstrdup(path && strcmp(path, "/") != 0 ? path : "");
    size_t l = strlen(prefix);
    while (l > 0 && prefix[l - 1] == '/')
        prefix[--l] = '\0';
    bool ok = true;
    if (top.type != NODE_DIR || l > 0)
        ok = lsNode(p, prefix, &top, err);
    if (ok && top.type == NODE_DIR)
        ok = treeWalk(repo, &top.subtree, prefix, lsNode, p, err);
    free(prefix);
    nodeClear(&top);
    return ok;
}

int cmdLs(const CfgValues *cfg) {
    CliVerb v = cliVerb(cfg);
    LsPrinter p = {&v.g, NULL};
    CliRepo r = {0};
    Snapshot snap = {0};
    bool ok = false;
    if (v.args.count < 1 || v.args.count > 2)
        lbErr(&v.err, LB_ERR_ARGS, "ls needs a snapshot (ID or 'latest') and optionally a path inside it");
    else
        ok = cliRepoOpenForReading(&v.g, CLI_LOCK_NONE, &r, &v.err) &&
             snapshotFind(r.repo, v.args.positional[0], &v.filter, &snap, &v.err);
    if (ok && cfgFlag(cfg, cfgOptLong) && !v.g.json)
        p.table = lsTableNew();
    ok = ok && lsPath(r.repo, &snap, v.args.count == 2 ? v.args.positional[1] : NULL, &p, &v.err);
    if (ok && p.table)
        uiTablePrint(p.table, stdout);
    uiTableFree(p.table);
    snapshotClear(&snap);
    cliRepoClose(&r);
    return cliExit(&v.g, ok, &v.err);
}

/* ---- diff ---- */

static bool diffPrint(void *ctx, DiffChange change, const char *path, const Node *node, LbError *err) {
    (void)node;
    (void)err;
    const GlobalOpts *g = ctx;
    if (g->json) {
        json_t *j = json_object();
        char w[2] = {(char)change, 0};
        json_object_set_new(j, "message_type", json_string("change"));
        json_object_set_new(j, "modifier", json_string(w));
        json_object_set_new(j, "path", json_string(path));
        cliPrintJson(j);
    } else {
        char *shown = lbPrintableDup(path);
        printf("%c    %s\n", (char)change, shown);
        free(shown);
    }
    return true;
}

static void diffSummary(const GlobalOpts *g, const DiffStats *st) {
    if (g->json) {
        json_t *j = json_object();
        json_object_set_new(j, "message_type", json_string("statistics"));
        json_object_set_new(j, "added", json_integer((json_int_t)st->added));
        json_object_set_new(j, "removed", json_integer((json_int_t)st->removed));
        json_object_set_new(j, "modified", json_integer((json_int_t)st->modified));
        json_object_set_new(j, "metadata", json_integer((json_int_t)st->metadata));
        cliPrintJson(j);
    } else {
        printf("\n%llu added, %llu removed, %llu modified, %llu metadata changed\n", (unsigned long long)st->added,
               (unsigned long long)st->removed, (unsigned long long)st->modified, (unsigned long long)st->metadata);
    }
}

int cmdDiff(const CfgValues *cfg) {
    CliVerb v = cliVerb(cfg);
    CliRepo r = {0};
    Snapshot a = {0}, b = {0};
    DiffStats st;
    bool ok = v.args.count == 2;
    if (!ok)
        lbErr(&v.err, LB_ERR_ARGS, "diff needs two snapshots");
    ok = ok && cliRepoOpenForReading(&v.g, CLI_LOCK_NONE, &r, &v.err) &&
         snapshotFind(r.repo, v.args.positional[0], &v.filter, &a, &v.err) &&
         snapshotFind(r.repo, v.args.positional[1], &v.filter, &b, &v.err) &&
         diffTrees(r.repo, &a.tree, &b.tree, diffPrint, &v.g, &st, &v.err);
    if (ok)
        diffSummary(&v.g, &st);
    snapshotClear(&a);
    snapshotClear(&b);
    cliRepoClose(&r);
    return cliExit(&v.g, ok, &v.err);
}
