/* forget.c - `lifeboat forget`: apply a retention policy, optionally prune. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/timeutil.h"
#include "maint/prune.h"
#include "retention/policy.h"
#include "snapshot/snapshot.h"

typedef struct ForgetCli {
    RetentionPolicy policy;
    bool byHost, byComponent, byPaths, byTags;
    SnapshotFilter f;
    bool dryRun, prune;
    PruneOptions pruneOpts;
} ForgetCli;

static ForgetCli forgetOptions(const CfgValues *cfg) {
    ForgetCli o = {.f = cliFilter(cfg), .dryRun = cfgFlag(cfg, cfgOptDryRun), .prune = cfgFlag(cfg, cfgOptPrune)};
    RetentionPolicy *p = &o.policy;
    p->keepLast = (int)cfgInt(cfg, cfgOptKeepLast);
    p->keepHourly = (int)cfgInt(cfg, cfgOptKeepHourly);
    p->keepDaily = (int)cfgInt(cfg, cfgOptKeepDaily);
    p->keepWeekly = (int)cfgInt(cfg, cfgOptKeepWeekly);
    p->keepMonthly = (int)cfgInt(cfg, cfgOptKeepMonthly);
    p->keepYearly = (int)cfgInt(cfg, cfgOptKeepYearly);
    p->within = cfgDuration(cfg, cfgOptKeepWithin);
    p->withinHourly = cfgDuration(cfg, cfgOptKeepWithinHourly);
    p->withinDaily = cfgDuration(cfg, cfgOptKeepWithinDaily);
    p->withinWeekly = cfgDuration(cfg, cfgOptKeepWithinWeekly);
    p->withinMonthly = cfgDuration(cfg, cfgOptKeepWithinMonthly);
    p->withinYearly = cfgDuration(cfg, cfgOptKeepWithinYearly);
    p->keepTags = cfgGroups(cfg, cfgOptKeepTag, &p->keepTagCount);
    size_t n = 0;
    const char *const *by = cfgList(cfg, cfgOptGroupBy, &n);
    for (size_t i = 0; i < n; i++) {
        o.byHost = o.byHost || strcmp(by[i], "host") == 0;
        o.byComponent = o.byComponent || strcmp(by[i], "component") == 0;
        o.byPaths = o.byPaths || strcmp(by[i], "paths") == 0;
        o.byTags = o.byTags || strcmp(by[i], "tags") == 0;
    }
    cliPruneOptions(cfg, &o.pruneOpts);
    return o;
}

/* The group key: the chosen fields, each labelled, so different fields never collide. */
static char *groupKey(const ForgetCli *o, const Snapshot *s) {
    LbBuf b = {0};
    if (o->byHost) {
        lbBufAppendStr(&b, "host=");
        lbBufAppendStr(&b, s->hostname ? s->hostname : "");
        lbBufAppendStr(&b, " ");
    }
    if (o->byComponent) {
        lbBufAppendStr(&b, "component=");
        lbBufAppendStr(&b, s->component ? s->component : "");
        lbBufAppendStr(&b, " ");
    }
    if (o->byPaths) {
        lbBufAppendStr(&b, "paths=");
        for (size_t i = 0; i < s->pathCount; i++) {
            lbBufAppendStr(&b, i ? "," : "");
            lbBufAppendStr(&b, s->paths[i]);
        }
        lbBufAppendStr(&b, " ");
    }
    if (o->byTags) {
        lbBufAppendStr(&b, "tags=");
        for (size_t i = 0; i < s->tagCount; i++) {
            lbBufAppendStr(&b, i ? "," : "");
            lbBufAppendStr(&b, s->tags[i]);
        }
        lbBufAppendStr(&b, " ");
    }
    if (b.len && b.data[b.len - 1] == ' ')
        b.len--;
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

static int cmpStr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What forget decided, for the report. */
typedef struct ForgetReport {
    const GlobalOpts *g;
    const ForgetCli *o;
    const SnapshotList *list;
    const RetentionDecision *dec; /* per snapshot of list */
    char **keys;                  /* group key of which[k]; NULL: explicit snapshots */
    const size_t *which;          /* the snapshots considered (indexes into list) */
    size_t n;
    bool byPolicy;
} ForgetReport;

/* The kept (pass 0) or removed (pass 1) snapshots of one group, newest
 * first: printed, or appended to arr. Returns how many. */
static size_t reportPass(const ForgetReport *r, const char *group, bool keepPass, json_t *arr) {
    size_t shown = 0;
    for (size_t k = r->n; k-- > 0;) {
        size_t i = r->which[k];
        if (strcmp(r->keys ? r->keys[k] : "", group) != 0 || r->dec[i].keep != keepPass)
            continue;
        const Snapshot *s = &r->list->items[i];
        char reasons[512] = "";
        if (keepPass && r->keys)
            retentionReasonString(&r->o->policy, &r->dec[i], reasons, sizeof(reasons));
        if (arr) {
            json_t *js = snapshotToJson(s, true);
            if (keepPass && r->keys)
                json_object_set_new(js, "reasons", json_string(reasons));
            json_array_append_new(arr, js);
        } else if (!r->g->quiet) {
            if (shown == 0)
                printf("%s:\n", keepPass ? "keep" : (r->o->dryRun ? "would remove" : "remove"));
            char hex[LB_ID_HEX_LEN + 1], t[32];
            lbIdToHex(&s->id, hex);
            lbFormatTimeShort(s->timeNs, t, sizeof(t));
            printf("  %.8s  %s  %-12s %s\n", hex, t, s->hostname ? s->hostname : "", reasons);
        }
        shown++;
    }
    return shown;
}

/* Report the decisions group by group (groups sorted): printed, or with
 * --json an array in *out (caller prints it). Returns how many snapshots go. */
static size_t forgetReport(const ForgetReport *r, json_t **out) {
    char **groups = lbXcalloc(r->n + 1, sizeof(char *));
    size_t groupCount = 0, removeCount = 0;
    for (size_t k = 0; k < r->n; k++) {
        const char *key = r->keys ? r->keys[k] : "";
        bool seen = false;
        for (size_t q = 0; q < groupCount && !seen; q++)
            seen = strcmp(groups[q], key) == 0;
        if (!seen)
            groups[groupCount++] = (char *)key;
    }
    qsort(groups, groupCount, sizeof(char *), cmpStr);
    *out = r->g->json ? json_array() : NULL;
    if (!r->g->json && !r->g->quiet && r->byPolicy) {
        char desc[512];
        retentionPolicyFormat(&r->o->policy, desc, sizeof(desc));
        printf("policy: %s\n", desc);
    }
    for (size_t q = 0; q < groupCount; q++) {
        json_t *jg = NULL, *jk = NULL, *jr = NULL;
        if (*out) {
            jg = json_object();
            json_object_set_new(jg, "group", json_string(groups[q]));
            jk = json_array();
            jr = json_array();
        } else if (!r->g->quiet && groups[q][0]) {
            printf("\nsnapshots for %s:\n", groups[q]);
        }
        reportPass(r, groups[q], true, jk);
        removeCount += reportPass(r, groups[q], false, jr);
        if (*out) {
            json_object_set_new(jg, "keep", jk);
            json_object_set_new(jg, "remove", jr);
            json_array_append_new(*out, jg);
        }
    }
    free(groups);
    return removeCount;
}

int cmdForget(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    ForgetCli o = forgetOptions(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    Repo *repo = NULL;
    RepoLock *lock = NULL;
    SnapshotList list = {0};
    RetentionItem *items = NULL;
    RetentionDecision *dec = NULL;
    char **keys = NULL;
    size_t *which = NULL, n = 0;
    int rc = 1;
    double start = lbMonotonicSeconds();
    if (args.count == 0 && retentionPolicyEmpty(&o.policy)) {
        lbErr(&err, LB_ERR_ARGS,
              "no policy given: use --keep-* options (forget will not remove every snapshot), "
              "or name the snapshots to forget");
        goto fail;
    }
    if (args.count == 0 && !retentionPolicyCheck(&o.policy, &err))
        goto fail;
    repo = cliOpenRepo(&g, &err);
    if (repo == NULL)
        goto fail;
    lock = repoLockAcquire(repo, true, &err);
    if (lock == NULL || !snapshotLoadAll(repo, &list, &err))
        goto fail;
    dec = lbXcalloc(list.count + 1, sizeof(RetentionDecision));
    if (args.count > 0) {
        /* explicit snapshots: forget exactly those */
        for (size_t i = 0; i < list.count; i++)
            dec[i].keep = true;
        for (size_t k = 0; k < args.count; k++) {
            LbId id;
            if (!repoFindId(repo, "snapshots", args.positional[k], &id, &err))
                goto fail;
            for (size_t i = 0; i < list.count; i++)
                if (lbIdEqual(&list.items[i].id, &id))
                    dec[i].keep = false;
        }
        which = lbXcalloc(list.count + 1, sizeof(size_t));
        for (size_t i = 0; i < list.count; i++)
            which[n++] = i;
    } else {
        items = lbXcalloc(list.count + 1, sizeof(RetentionItem));
        keys = lbXcalloc(list.count + 1, sizeof(char *));
        which = lbXcalloc(list.count + 1, sizeof(size_t));
        for (size_t i = 0; i < list.count; i++) {
            Snapshot *s = &list.items[i];
            if (!snapshotMatches(s, &o.f))
                continue;
            keys[n] = groupKey(&o, s);
            items[n] = (RetentionItem){s->timeNs, keys[n], (const char *const *)s->tags, s->tagCount};
            which[n++] = i;
        }
        RetentionDecision *tmp = lbXcalloc(n + 1, sizeof(RetentionDecision));
        if (!retentionApply(&o.policy, items, n, lbNowNs(), tmp, &err)) {
            free(tmp);
            goto fail;
        }
        for (size_t k = 0; k < n; k++)
            dec[which[k]] = tmp[k];
        for (size_t i = 0; i < list.count; i++) /* snapshots outside the filter are not touched */
            if (!snapshotMatches(&list.items[i], &o.f))
                dec[i].keep = true;
        free(tmp);
    }

    ForgetReport rep = {&g, &o, &list, dec, keys, which, n, args.count == 0};
    json_t *out = NULL;
    size_t removeCount = forgetReport(&rep, &out);
    if (!o.dryRun) {
        for (size_t i = 0; i < list.count; i++) {
            if (dec[i].keep)
                continue;
            char hex[LB_ID_HEX_LEN + 1], name[80];
            lbIdToHex(&list.items[i].id, hex);
            snprintf(name, sizeof(name), "snapshots/%s", hex);
            if (!storageRemove(repoStorage(repo), name, &err))
                goto fail;
        }
    }
    if (out)
        cliPrintJson(out);
    else if (!g.quiet)
        printf("\n%s %zu snapshot(s)\n", o.dryRun ? "would remove" : "removed", removeCount);
    if (o.prune) {
        PruneResult r;
        o.pruneOpts.dryRun = o.dryRun;
        if (!pruneRun(repo, lock, &o.pruneOpts, &r, &err))
            goto fail;
        prunePrintResult(&g, &o.pruneOpts, &r, lbMonotonicSeconds() - start);
    }
    rc = 0;
    goto done;
fail:
    rc = cliFail(&err);
done:
    if (keys)
        for (size_t k = 0; k < n; k++)
            free(keys[k]);
    free(keys);
    free(items);
    free(which);
    free(dec);
    snapshotListFree(&list);
    repoLockRelease(lock);
    repoFree(repo);
    return rc;
}
