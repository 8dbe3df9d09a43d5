/* forget.c - `lifeboat forget`: options and printing; the work is
 * maint/forget.c (and maint/prune.c with --prune). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "cmd/walret.h"
#include "common/timeutil.h"
#include "maint/forget.h"
#include "maint/prune.h"
#include "pg/basebackup.h"
#include "ui/table.h"

static ForgetOptions forgetOptions(const CfgValues *cfg) {
    CliArgs args = cliArgs(cfg);
    ForgetOptions o = {
        .filter = cliFilter(cfg),
        .names = (const char *const *)args.positional,
        .nameCount = args.count,
        .dryRun = cfgFlag(cfg, cfgOptDryRun),
    };
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
    static const char *const names[] = {"host", "component", "paths", "tags"};
    size_t n = 0;
    const char *const *by = cfgList(cfg, cfgOptGroupBy, &n);
    for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < 4; k++)
            if (strcmp(by[i], names[k]) == 0)
                o.groupBy |= 1u << k;
    return o;
}

/* The kept (keep) or removed snapshots of one group as a JSON array. */
static json_t *passJson(const ForgetOptions *o, const ForgetResult *r, const size_t *which, size_t n, bool keep) {
    json_t *arr = json_array();
    for (size_t k = 0; k < n; k++) {
        json_t *js = snapshotToJson(&r->list.items[which[k]], true);
        if (keep && r->byPolicy) {
            char reasons[512];
            retentionReasonString(&o->policy, &r->decisions[which[k]], reasons, sizeof(reasons));
            json_object_set_new(js, "reasons", json_string(reasons));
        }
        json_array_append_new(arr, js);
    }
    return arr;
}

static json_t *forgetJson(const ForgetOptions *o, const ForgetResult *r) {
    json_t *j = json_object(), *groups = json_array();
    json_object_set_new(j, "message_type", json_string("forget"));
    json_object_set_new(j, "dry_run", json_boolean(o->dryRun));
    json_object_set_new(j, "removed", json_integer((json_int_t)r->removed));
    for (size_t q = 0; q < r->groupCount; q++) {
        const ForgetGroup *gr = &r->groups[q];
        json_t *jg = json_object();
        json_object_set_new(jg, "group", json_string(gr->key));
        json_object_set_new(jg, "keep", passJson(o, r, gr->keep, gr->keepCount, true));
        json_object_set_new(jg, "remove", passJson(o, r, gr->remove, gr->removeCount, false));
        json_array_append_new(groups, jg);
    }
    json_object_set_new(j, "groups", groups);
    return j;
}

/* "keep:" or "remove:" and one row per snapshot: ID, time, host, reasons. */
static void passText(const ForgetOptions *o, const ForgetResult *r, const size_t *which, size_t n, bool keep) {
    if (n == 0)
        return;
    printf("%s:\n", keep ? "keep" : (o->dryRun ? "would remove" : "remove"));
    UiTable *t = uiTableNew();
    uiTableSetHeader(t, false);
    for (int c = 0; c < 5; c++)
        uiTableColumn(t, "", UI_ALIGN_LEFT);
    for (size_t k = 0; k < n; k++) {
        const Snapshot *s = &r->list.items[which[k]];
        char hex[LB_ID_HEX_LEN + 1], time[32], reasons[512] = "";
        lbIdToHex(&s->id, hex);
        lbFormatTimeShort(s->timeNs, time, sizeof(time));
        if (keep && r->byPolicy)
            retentionReasonString(&o->policy, &r->decisions[which[k]], reasons, sizeof(reasons));
        uiTableCell(t, ""); /* the indent */
        uiTableCellf(t, "%.8s", hex);
        uiTableCell(t, time);
        uiTableCell(t, s->hostname);
        uiTableCell(t, reasons);
    }
    uiTablePrint(t, stdout);
    uiTableFree(t);
}

static void forgetText(const ForgetOptions *o, const ForgetResult *r) {
    if (r->byPolicy) {
        char desc[512];
        retentionPolicyFormat(&o->policy, desc, sizeof(desc));
        printf("policy: %s\n", desc);
    }
    for (size_t q = 0; q < r->groupCount; q++) {
        const ForgetGroup *gr = &r->groups[q];
        if (gr->key[0])
            printf("\nsnapshots for %s:\n", gr->key);
        passText(o, r, gr->keep, gr->keepCount, true);
        passText(o, r, gr->remove, gr->removeCount, false);
    }
    printf("\n%s %zu snapshot(s)\n", o->dryRun ? "would remove" : "removed", r->removed);
}

/* The WAL pass after the snapshots: over the clusters (system identifiers)
 * of the physical base backups the filter selected, kept or forgotten, with
 * every snapshot still kept protecting its WAL. Nothing to do without one. */
static bool forgetWal(Repo *repo, RepoLock *lock, const ForgetOptions *o, const ForgetResult *res, WalRetainOptions *wo,
                      WalRetainResult *wr, LbError *err) {
    size_t n = res->list.count, ids = 0;
    bool *kept = lbXcalloc(n + 1, sizeof(bool));
    uint64_t *systemIds = lbXcalloc(n + 1, sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) {
        const Snapshot *s = &res->list.items[i];
        BasebackupInfo in;
        LbError ignored = {0};
        kept[i] = res->decisions[i].keep;
        if (!snapshotMatches(s, &o->filter) || s->meta == NULL || !basebackupInfoFromJson(s->meta, &in, &ignored))
            continue;
        bool seen = false;
        for (size_t k = 0; k < ids && !seen; k++)
            seen = systemIds[k] == in.systemId;
        if (!seen)
            systemIds[ids++] = in.systemId;
    }
    wo->systemIds = systemIds;
    wo->systemIdCount = ids;
    bool ok = ids == 0 || walRetainRun(repo, lock, &res->list, kept, wo, wr, err);
    wo->systemIds = NULL;
    wo->systemIdCount = 0;
    free(kept);
    free(systemIds);
    return ok;
}

int cmdForget(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    ForgetOptions o = forgetOptions(cfg);
    bool prune = cfgFlag(cfg, cfgOptPrune);
    PruneOptions po;
    cliPruneOptions(cfg, &po);
    LbError err = {0};
    CliRepo r = {0};
    ForgetResult res = {0};
    PruneResult pr;
    WalRetainOptions wo;
    WalRetainResult wr = {0};
    bool wal = cliWalRetainOptions(cfg, &wo);
    double start = lbMonotonicSeconds();
    if (wal && o.nameCount == 0 && retentionPolicyEmpty(&o.policy)) {
        lbErr(&err, LB_ERR_ARGS,
              "--keep-wal-within is not a snapshot policy: add --keep-* options (the WAL pass keeps what the kept "
              "base backups need). HINT: To remove only WAL, use 'lifeboat prune --keep-wal-within D'.");
        return cliExit(&g, false, &err);
    }
    bool ok = forgetOptionsCheck(&o, &err) && cliRepoOpen(&g, CLI_LOCK_EXCLUSIVE, &r, &err) &&
              forgetRun(r.repo, r.lock, &o, &res, &err);
    if (ok && !g.json && !g.quiet)
        forgetText(&o, &res);
    ok = ok && (!wal || forgetWal(r.repo, r.lock, &o, &res, &wo, &wr, &err));
    if (ok && wal && !g.json && !g.quiet)
        cliWalRetainPrint(&wo, &wr);
    ok = ok && (!prune || pruneRun(r.repo, r.lock, &po, &pr, &err));
    if (ok && g.json) {
        json_t *j = forgetJson(&o, &res);
        if (wal)
            json_object_set_new(j, "wal", walRetainResultJson(&wo, &wr));
        if (prune)
            json_object_set_new(j, "prune", pruneResultJson(&po, &pr, lbMonotonicSeconds() - start));
        cliPrintJson(j);
    } else if (ok && prune && !g.quiet) {
        prunePrintText(&po, &pr);
    }
    walRetainResultClear(&wr);
    forgetResultClear(&res);
    cliRepoClose(&r);
    return cliExit(&g, ok, &err);
}
