/* plan.c - the snapshot and instant a component recovers to (recover/plan.h). */
#include "recover/plan.h"

#include <string.h>

#include "common/timeutil.h"
#include "pg/basebackup.h"

bool recoverAtParse(const char *text, int64_t nowNs, RecoverAt *at, LbError *err) {
    memset(at, 0, sizeof(*at));
    if (text == NULL || strcmp(text, "latest") == 0)
        return true;
    if (strchr(text, '@')) {
        at->kind = RECOVER_AT_POINT;
        at->point = text;
        return true;
    }
    int64_t ns;
    if (!lbParseAt(text, nowNs, &ns))
        return lbErr(err, LB_ERR_ARGS, "--at '%s': not a time, a span before now (-2h) or a recovery point ID", text);
    if (ns != INT64_MAX) {
        at->kind = RECOVER_AT_TIME;
        at->ns = ns;
    }
    return true;
}

bool recoverIsPhysical(const Snapshot *snap) {
    BasebackupInfo info;
    LbError ignored = {0};
    return snap->meta && basebackupInfoFromJson(snap->meta, &info, &ignored);
}

int64_t recoverReadTimeNs(const Snapshot *snap) {
    BasebackupInfo info;
    LbError ignored = {0};
    if (snap->meta && basebackupInfoFromJson(snap->meta, &info, &ignored) && info.stopNs)
        return info.stopNs;
    return snap->timeNs;
}

static bool notFound(const SnapshotFilter *f, const RecoverAt *at, LbError *err) {
    const char *name = f && f->component ? f->component : "(any)";
    if (at->kind == RECOVER_AT_POINT)
        return lbErr(err, LB_ERR_NOT_FOUND, "component '%s' has no snapshot in recovery point '%s'", name, at->point);
    if (at->kind == RECOVER_AT_TIME) {
        char t[40];
        lbFormatTimeNs(at->ns, t, sizeof(t));
        return lbErr(err, LB_ERR_NOT_FOUND, "component '%s' has no snapshot taken at or before %s", name, t);
    }
    return lbErr(err, LB_ERR_NOT_FOUND, "component '%s' has no snapshot", name);
}

bool recoverChoose(const SnapshotList *list, const SnapshotFilter *filter, const WalWindow *w, const RecoverAt *at,
                   int64_t nowNs, RecoverChoice *c, LbError *err) {
    memset(c, 0, sizeof(*c));
    bool wal = w && w->available;
    int64_t wanted = at->kind == RECOVER_AT_TIME ? at->ns : nowNs;
    /* a physical backup with WAL replays to the instant wanted, or to the
     * end of the archive: the base backup is the newest that ends before it */
    if (wal && at->kind != RECOVER_AT_POINT && (at->kind == RECOVER_AT_LATEST || at->ns >= w->firstNs)) {
        int64_t target = at->kind == RECOVER_AT_LATEST || at->ns > w->newestNs ? w->newestNs : at->ns;
        for (size_t i = list->count; i-- > 0;) {
            const Snapshot *s = &list->items[i];
            if (!snapshotMatches(s, filter) || !recoverIsPhysical(s) || recoverReadTimeNs(s) > target)
                continue;
            c->index = i;
            c->readNs = recoverReadTimeNs(s);
            c->asOfNs = target;
            c->replay =
                at->kind == RECOVER_AT_TIME && at->ns <= w->newestNs ? RECOVER_REPLAY_TIME : RECOVER_REPLAY_LATEST;
            c->lossNs = wanted > target ? wanted - target : 0;
            return true;
        }
    }
    for (size_t i = list->count; i-- > 0;) {
        const Snapshot *s = &list->items[i];
        if (!snapshotMatches(s, filter))
            continue;
        if (at->kind == RECOVER_AT_POINT && (s->recoveryPoint == NULL || strcmp(s->recoveryPoint, at->point) != 0))
            continue;
        int64_t read = recoverReadTimeNs(s);
        if (at->kind == RECOVER_AT_TIME && read > at->ns)
            continue;
        c->index = i;
        c->readNs = read;
        c->asOfNs = read;
        c->replay = recoverIsPhysical(s) ? RECOVER_REPLAY_IMMEDIATE : RECOVER_REPLAY_NONE;
        c->lossNs = at->kind == RECOVER_AT_POINT ? 0 : (wanted > read ? wanted - read : 0);
        return true;
    }
    return notFound(filter, at, err);
}
