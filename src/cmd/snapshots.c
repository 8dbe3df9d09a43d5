/* snapshots.c - `lifeboat snapshots`, `ls`, `diff`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "restore/restore.h"
#include "snapshot/snapshot.h"
#include "snapshot/tree.h"

int cmdSnapshots(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    SnapshotFilter f = cliFilter(cfg);
    LbError err = {0};
    Repo *repo = NULL;
    SnapshotList list = {0};
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL || !snapshotLoadAll(repo, &list, &err))
        goto fail;
    json_t *arr = g.json ? json_array() : NULL;
    if (!g.json)
        printf("%-8s  %-19s  %-12s  %-10s  %-12s  %10s  %s\n", "ID", "Time (UTC)", "Host", "Component", "Tags", "Size",
               "Paths");
    size_t shown = 0;
    for (size_t i = 0; i < list.count; i++) {
        Snapshot *s = &list.items[i];
        if (!snapshotMatches(s, &f))
            continue;
        shown++;
        if (g.json) {
            json_array_append_new(arr, snapshotToJson(s, true));
            continue;
        }
        char hex[LB_ID_HEX_LEN + 1], t[32], size[32], tags[128] = "";
        lbIdToHex(&s->id, hex);
        lbFormatTimeShort(s->timeNs, t, sizeof(t));
        cliFormatBytes((double)s->summary.totalBytes, size, sizeof(size));
        for (size_t k = 0; k < s->tagCount; k++) {
            size_t l = strlen(tags);
            snprintf(tags + l, sizeof(tags) - l, "%s%s", k ? "," : "", s->tags[k]);
        }
        printf("%-8.8s  %-19s  %-12s  %-10s  %-12s  %10s  %s\n", hex, t, s->hostname ? s->hostname : "",
               s->component ? s->component : "", tags, size, s->pathCount ? s->paths[0] : "");
        for (size_t k = 1; k < s->pathCount; k++)
            printf("%*s%s\n", 8 + 2 + 19 + 2 + 12 + 2 + 10 + 2 + 12 + 2 + 10 + 2, "", s->paths[k]);
    }
    if (arr)
        cliPrintJson(arr);
    else
        printf("%zu snapshot(s)\n", shown);
    snapshotListFree(&list);
    repoFree(repo);
    return 0;
fail:
    snapshotListFree(&list);
    repoFree(repo);
    return cliFail(&err);
}

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

static void printNode(const GlobalOpts *g, bool longFormat, const char *path, const Node *n) {
    if (g->json) {
        json_t *j = json_object();
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
        cliPrintJson(j);
    } else if (longFormat) {
        char mode[11], t[32];
        modeString(n, mode);
        lbFormatTimeShort(n->mtimeNs, t, sizeof(t));
        printf("%s %8s %8s %12llu %s %s%s%s\n", mode, n->user ? n->user : "?", n->group ? n->group : "?",
               (unsigned long long)n->size, t, path, n->linkTarget ? " -> " : "", n->linkTarget ? n->linkTarget : "");
    } else {
        printf("%s\n", path);
    }
}

static bool listTree(Repo *repo, const GlobalOpts *g, bool longFormat, const LbId *id, const char *prefix,
                     LbError *err) {
    LbBuf plain = {0};
    Tree t = {0};
    bool ok = repoLoadBlob(repo, BLOB_TREE, id, &plain, err) && treeDecode(plain.data, plain.len, &t, err);
    lbBufFree(&plain);
    for (size_t i = 0; ok && i < t.count; i++) {
        char *path = lbXasprintf("%s/%s", prefix, t.nodes[i].name);
        printNode(g, longFormat, path, &t.nodes[i]);
        if (t.nodes[i].type == NODE_DIR)
            ok = listTree(repo, g, longFormat, &t.nodes[i].subtree, path, err);
        free(path);
    }
    treeFree(&t);
    return ok;
}

int cmdLs(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    SnapshotFilter f = cliFilter(cfg);
    bool longFormat = cfgFlag(cfg, cfgOptLong);
    LbError err = {0};
    Repo *repo = NULL;
    Snapshot snap = {0};
    Node top = {0};
    if (args.count < 1 || args.count > 2) {
        lbErr(&err, LB_ERR_ARGS, "ls needs a snapshot (ID or 'latest') and optionally a path inside it");
        goto fail;
    }
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL || !repoLoadIndex(repo, &err) || !snapshotFind(repo, args.positional[0], &f, &snap, &err))
        goto fail;
    const char *path = args.count == 2 ? args.positional[1] : NULL;
    if (!restoreFindPath(repo, &snap, path, &top, &err))
        goto fail;
    char *prefix = lbXstrdup(path && strcmp(path, "/") != 0 ? path : "");
    size_t l = strlen(prefix);
    while (l > 0 && prefix[l - 1] == '/')
        prefix[--l] = '\0';
    bool ok = true;
    if (top.type == NODE_DIR) {
        if (l > 0)
            printNode(&g, longFormat, prefix, &top);
        ok = listTree(repo, &g, longFormat, &top.subtree, prefix, &err);
    } else {
        printNode(&g, longFormat, prefix, &top);
    }
    free(prefix);
    if (!ok)
        goto fail;
    nodeClear(&top);
    snapshotClear(&snap);
    repoFree(repo);
    return 0;
fail:
    nodeClear(&top);
    snapshotClear(&snap);
    repoFree(repo);
    return cliFail(&err);
}

/* ---- diff ---- */

typedef struct DiffStats {
    uint64_t added, removed, changed, metadata;
} DiffStats;

static bool sameContent(const Node *a, const Node *b) {
    if (a->type != b->type)
        return false;
    if (a->type == NODE_FILE)
        return a->contentCount == b->contentCount &&
               (a->contentCount == 0 || memcmp(a->content, b->content, a->contentCount * sizeof(LbId)) == 0);
    if (a->type == NODE_SYMLINK)
        return strcmp(a->linkTarget, b->linkTarget) == 0;
    return true;
}

static bool sameMeta(const Node *a, const Node *b) {
    return a->mode == b->mode && a->uid == b->uid && a->gid == b->gid && a->mtimeNs == b->mtimeNs;
}

static bool diffTrees(Repo *repo, const GlobalOpts *g, const LbId *a, const LbId *b, const char *prefix, DiffStats *st,
                      LbError *err);

static void report(const GlobalOpts *g, char what, const char *path, DiffStats *st) {
    if (what == '+')
        st->added++;
    else if (what == '-')
        st->removed++;
    else if (what == 'M')
        st->changed++;
    else
        st->metadata++;
    if (g->json) {
        json_t *j = json_object();
        char w[2] = {what, 0};
        json_object_set_new(j, "modifier", json_string(w));
        json_object_set_new(j, "path", json_string(path));
        cliPrintJson(j);
    } else {
        printf("%c    %s\n", what, path);
    }
}

static bool reportAll(Repo *repo, const GlobalOpts *g, char what, const Node *n, const char *path, DiffStats *st,
                      LbError *err) {
    report(g, what, path, st);
    if (n->type != NODE_DIR)
        return true;
    LbId zero = {{0}};
    return what == '+' ? diffTrees(repo, g, &zero, &n->subtree, path, st, err)
                       : diffTrees(repo, g, &n->subtree, &zero, path, st, err);
}

static bool diffTrees(Repo *repo, const GlobalOpts *g, const LbId *a, const LbId *b, const char *prefix, DiffStats *st,
                      LbError *err) {
    if (lbIdEqual(a, b))
        return true;
    Tree ta = {0}, tb = {0};
    LbBuf p = {0};
    bool ok = true;
    if (!lbIdIsZero(a))
        ok = repoLoadBlob(repo, BLOB_TREE, a, &p, err) && treeDecode(p.data, p.len, &ta, err);
    lbBufClear(&p);
    if (ok && !lbIdIsZero(b))
        ok = repoLoadBlob(repo, BLOB_TREE, b, &p, err) && treeDecode(p.data, p.len, &tb, err);
    lbBufFree(&p);
    size_t i = 0, k = 0;
    while (ok && (i < ta.count || k < tb.count)) {
        int c = i >= ta.count ? 1 : k >= tb.count ? -1 : strcmp(ta.nodes[i].name, tb.nodes[k].name);
        const Node *na = c <= 0 ? &ta.nodes[i] : NULL, *nb = c >= 0 ? &tb.nodes[k] : NULL;
        char *path = lbXasprintf("%s/%s", prefix, (na ? na : nb)->name);
        if (c < 0) {
            ok = reportAll(repo, g, '-', na, path, st, err);
            i++;
        } else if (c > 0) {
            ok = reportAll(repo, g, '+', nb, path, st, err);
            k++;
        } else {
            if (na->type != nb->type) {
                ok = reportAll(repo, g, '-', na, path, st, err) && reportAll(repo, g, '+', nb, path, st, err);
            } else if (na->type == NODE_DIR) {
                if (!sameMeta(na, nb))
                    report(g, 'U', path, st);
                ok = diffTrees(repo, g, &na->subtree, &nb->subtree, path, st, err);
            } else if (!sameContent(na, nb)) {
                report(g, 'M', path, st);
            } else if (!sameMeta(na, nb)) {
                report(g, 'U', path, st);
            }
            i++;
            k++;
        }
        free(path);
    }
    treeFree(&ta);
    treeFree(&tb);
    return ok;
}

int cmdDiff(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    SnapshotFilter f = cliFilter(cfg);
    LbError err = {0};
    Repo *repo = NULL;
    Snapshot a = {0}, b = {0};
    if (args.count != 2) {
        lbErr(&err, LB_ERR_ARGS, "diff needs two snapshots");
        goto fail;
    }
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL || !repoLoadIndex(repo, &err) || !snapshotFind(repo, args.positional[0], &f, &a, &err) ||
        !snapshotFind(repo, args.positional[1], &f, &b, &err))
        goto fail;
    DiffStats st = {0};
    if (!diffTrees(repo, &g, &a.tree, &b.tree, "", &st, &err))
        goto fail;
    if (!g.json)
        printf("\n%llu added, %llu removed, %llu modified, %llu metadata changed\n", (unsigned long long)st.added,
               (unsigned long long)st.removed, (unsigned long long)st.changed, (unsigned long long)st.metadata);
    snapshotClear(&a);
    snapshotClear(&b);
    repoFree(repo);
    return 0;
fail:
    snapshotClear(&a);
    snapshotClear(&b);
    repoFree(repo);
    return cliFail(&err);
}
