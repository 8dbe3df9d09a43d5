/* forget.c - retention grouping and snapshot deletion (see forget.h). */
#include "maint/forget.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "storage/storage.h"

static void appendField(LbBuf *b, const char *label, char *const *values, size_t count) {
    if (b->len)
        lbBufAppendStr(b, " ");
    lbBufAppendStr(b, label);
    lbBufAppendStr(b, "=");
    for (size_t i = 0; i < count; i++) {
        lbBufAppendStr(b, i ? "," : "");
        lbBufAppendStr(b, values[i] ? values[i] : "");
    }
}

char *forgetGroupKey(unsigned groupBy, const Snapshot *s) {
    LbBuf b = {0};
    if (groupBy & FORGET_BY_HOST)
        appendField(&b, "host", &s->hostname, 1);
    if (groupBy & FORGET_BY_COMPONENT)
        appendField(&b, "component", &s->component, 1);
    if (groupBy & FORGET_BY_PATHS)
        appendField(&b, "paths", s->paths, s->pathCount);
    if (groupBy & FORGET_BY_TAGS)
        appendField(&b, "tags", s->tags, s->tagCount);
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

/* Named snapshots: forget exactly those. */
static bool decideNames(Repo *repo, const ForgetOptions *o, ForgetResult *r, LbError *err) {
    for (size_t i = 0; i < r->list.count; i++)
        r->decisions[i].keep = true;
    for (size_t k = 0; k < o->nameCount; k++) {
        LbId id;
        if (!repoFindId(repo, "snapshots", o->names[k], &id, err))
            return false;
        for (size_t i = 0; i < r->list.count; i++)
            if (lbIdEqual(&r->list.items[i].id, &id))
                r->decisions[i].keep = false;
    }
    return true;
}

/* The policy over the selected snapshots, group by group; keys[i] is the
 * group key of list item i (NULL: outside the filter, kept). */
static bool decidePolicy(const ForgetOptions *o, ForgetResult *r, char **keys, LbError *err) {
    size_t n = 0, count = r->list.count;
    RetentionItem *items = lbXcalloc(count + 1, sizeof(RetentionItem));
    size_t *which = lbXcalloc(count + 1, sizeof(size_t));
    RetentionDecision *dec = lbXcalloc(count + 1, sizeof(RetentionDecision));
    for (size_t i = 0; i < count; i++) {
        const Snapshot *s = &r->list.items[i];
        r->decisions[i].keep = true;
        if (!snapshotMatches(s, &o->filter))
            continue;
        keys[i] = forgetGroupKey(o->groupBy, s);
        items[n] = (RetentionItem){s->timeNs, keys[i], (const char *const *)s->tags, s->tagCount};
        which[n++] = i;
    }
    bool ok = retentionApply(&o->policy, items, n, o->nowNs ? o->nowNs : lbNowNs(), dec, err);
    for (size_t k = 0; ok && k < n; k++)
        r->decisions[which[k]] = dec[k];
    free(items);
    free(which);
    free(dec);
    return ok;
}

static int cmpGroup(const void *a, const void *b) {
    return strcmp(((const ForgetGroup *)a)->key, ((const ForgetGroup *)b)->key);
}

/* Collect the groups (sorted by key), members newest first. */
static void collectGroups(ForgetResult *r, char **keys) {
    size_t count = r->list.count;
    r->groups = lbXcalloc(count + 1, sizeof(ForgetGroup));
    for (size_t i = count; i-- > 0;) {
        if (r->byPolicy && keys[i] == NULL)
            continue;
        const char *key = r->byPolicy ? keys[i] : "";
        ForgetGroup *g = NULL;
        for (size_t q = 0; q < r->groupCount && g == NULL; q++)
            if (strcmp(r->groups[q].key, key) == 0)
                g = &r->groups[q];
        if (g == NULL) {
            g = &r->groups[r->groupCount++];
            g->key = lbXstrdup(key);
            g->keep = lbXcalloc(count, sizeof(size_t));
            g->remove = lbXcalloc(count, sizeof(size_t));
        }
        if (r->decisions[i].keep)
            g->keep[g->keepCount++] = i;
        else
            g->remove[g->removeCount++] = i;
        r->removed += !r->decisions[i].keep;
    }
    qsort(r->groups, r->groupCount, sizeof(ForgetGroup), cmpGroup);
}

static bool removeForgotten(Repo *repo, const ForgetResult *r, LbError *err) {
    for (size_t i = 0; i < r->list.count; i++) {
        if (r->decisions[i].keep)
            continue;
        char hex[LB_ID_HEX_LEN + 1], name[80];
        lbIdToHex(&r->list.items[i].id, hex);
        snprintf(name, sizeof(name), "snapshots/%s", hex);
        if (!storageRemove(repoStorage(repo), name, err))
            return false;
        lbLogInfo("removed snapshot %.8s", hex);
    }
    return true;
}

bool forgetOptionsCheck(const ForgetOptions *o, LbError *err) {
    if (o->nameCount > 0)
        return true;
    if (retentionPolicyEmpty(&o->policy))
        return lbErr(err, LB_ERR_ARGS,
                     "no policy given: use --keep-* options (forget will not remove every snapshot), "
                     "or name the snapshots to forget");
    return retentionPolicyCheck(&o->policy, err);
}

bool forgetRun(Repo *repo, RepoLock *lock, const ForgetOptions *o, ForgetResult *out, LbError *err) {
    *out = (ForgetResult){.byPolicy = o->nameCount == 0};
    if (lock == NULL)
        return lbErr(err, LB_ERR_ARGS, "forget needs an exclusive lock on the repository");
    if (!forgetOptionsCheck(o, err))
        return false;
    if (!snapshotLoadAll(repo, &out->list, err))
        return false;
    out->decisions = lbXcalloc(out->list.count + 1, sizeof(RetentionDecision));
    char **keys = lbXcalloc(out->list.count + 1, sizeof(char *));
    bool ok = out->byPolicy ? decidePolicy(o, out, keys, err) : decideNames(repo, o, out, err);
    if (ok)
        collectGroups(out, keys);
    for (size_t i = 0; i < out->list.count; i++)
        free(keys[i]);
    free(keys);
    return ok && (o->dryRun || removeForgotten(repo, out, err));
}

void forgetResultClear(ForgetResult *r) {
    for (size_t q = 0; q < r->groupCount; q++) {
        free(r->groups[q].key);
        free(r->groups[q].keep);
        free(r->groups[q].remove);
    }
    free(r->groups);
    free(r->decisions);
    snapshotListFree(&r->list);
    *r = (ForgetResult){0};
}
