/* alert.c - alert conditions, the pure decision and the state file (see
 * alert.h). */
#include "monitor/alert.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "monitor/facts.h"

static const char *const alertKindNames[ALERT_KIND_COUNT] = {"failure", "missed", "skipped",   "rpo",
                                                             "stale",   "drill",  "repository"};

const char *alertKindName(AlertKind kind) {
    return kind < ALERT_KIND_COUNT ? alertKindNames[kind] : "unknown";
}

static void alertEntryFree(AlertEntry *e) {
    free(e->notification);
    free(e->subject);
    free(e->summary);
    free(e->error);
    free(e->component);
    free(e->job);
    free(e->repository);
    free(e->host);
}

static char *alertDup(const char *s) {
    return s ? lbXstrdup(s) : NULL;
}

void alertStateClear(AlertState *st) {
    for (size_t i = 0; i < st->count; i++)
        alertEntryFree(&st->entries[i]);
    free(st->entries);
    st->entries = NULL;
    st->count = 0;
}

static AlertEntry *alertFind(AlertState *st, const char *notification, AlertKind kind, const char *subject) {
    for (size_t i = 0; i < st->count; i++) {
        AlertEntry *e = &st->entries[i];
        if (e->kind == kind && strcmp(e->notification, notification) == 0 && strcmp(e->subject, subject) == 0)
            return e;
    }
    return NULL;
}

AlertDecision alertDecide(AlertState *st, const char *notification, int64_t remindEverySeconds, const AlertCondition *c,
                          int64_t nowMs) {
    AlertEntry *e = alertFind(st, notification, c->kind, c->subject);
    if (c->active && e == NULL) {
        st->entries = lbXrealloc(st->entries, (st->count + 1) * sizeof(AlertEntry));
        st->entries[st->count++] = (AlertEntry){.notification = lbXstrdup(notification),
                                                .kind = c->kind,
                                                .subject = lbXstrdup(c->subject),
                                                .sinceMs = nowMs,
                                                .lastSentMs = nowMs,
                                                .sent = 1,
                                                .summary = alertDup(c->summary),
                                                .error = alertDup(c->error),
                                                .component = alertDup(c->component),
                                                .job = alertDup(c->job),
                                                .repository = alertDup(c->repository),
                                                .host = alertDup(c->host)};
        return alertFire;
    }
    if (c->active) {
        if (remindEverySeconds > 0 && nowMs - e->lastSentMs >= remindEverySeconds * 1000) {
            e->lastSentMs = nowMs;
            e->sent++;
            return alertRemind;
        }
        return alertNothing;
    }
    if (e == NULL)
        return alertNothing;
    alertEntryFree(e);
    *e = st->entries[--st->count];
    return alertResolved;
}

size_t alertConditionsOfState(const AlertState *st, AlertCondition *out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < st->count && n < max; i++) {
        const AlertEntry *e = &st->entries[i];
        if (e->kind != alertFailure && e->kind != alertMissed && e->kind != alertSkipped)
            continue;
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = out[j].kind == e->kind && strcmp(out[j].subject, e->subject) == 0;
        if (!seen)
            out[n++] = (AlertCondition){.kind = e->kind,
                                        .subject = e->subject,
                                        .active = true,
                                        .component = e->component,
                                        .job = e->job,
                                        .repository = e->repository,
                                        .host = e->host,
                                        .summary = e->summary ? e->summary : e->subject,
                                        .error = e->error};
    }
    return n;
}

const char *alertDefaultAction(AlertKind kind, const char *subject, char *buf, size_t size) {
    switch (kind) {
    case alertFailure:
        snprintf(buf, size,
                 "Read the error, then `lifeboat history --job %s` for the earlier attempts; fix the cause and run "
                 "`lifeboat run %s` to confirm.",
                 subject, subject);
        break;
    case alertMissed:
        snprintf(buf, size,
                 "Check that the daemon was running and the host was up at the scheduled time (`lifeboat history "
                 "--job %s`); run `lifeboat run %s` if the gap matters.",
                 subject, subject);
        break;
    case alertSkipped:
        snprintf(buf, size,
                 "The previous run still held the job: look for a hung run (`lifeboat history --job %s`) and check "
                 "that the schedule leaves time for a run to finish.",
                 subject);
        break;
    case alertRpo:
        snprintf(buf, size,
                 "Run a backup now (`lifeboat run %s`), then find why the newest restorable point is old: failing "
                 "runs, a stopped schedule, WAL archiving (`lifeboat metrics`).",
                 subject);
        break;
    case alertStale:
        snprintf(buf, size,
                 "Check that the daemon runs and the schedule still lists %s (`lifeboat schedule`); run `lifeboat "
                 "run %s`.",
                 subject, subject);
        break;
    case alertDrill:
        snprintf(buf, size,
                 "Read the drill's result (`lifeboat history --drills`), fix the restore path or the objective, and "
                 "run the drill again.");
        break;
    case alertRepository:
        snprintf(buf, size,
                 "Check the repository's storage, network and credentials: `lifeboat snapshots` against repository "
                 "%s shows the error.",
                 subject);
        break;
    default:
        snprintf(buf, size, "Read the error.");
    }
    return buf;
}

void alertMessage(const AlertCondition *c, AlertDecision d, int64_t sinceMs, int64_t nowMs, NotifyMessage *m, char *buf,
                  size_t size) {
    size_t half = size / 2;
    char since[32] = "";
    time_t t = (time_t)(sinceMs / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(since, sizeof(since), "%Y-%m-%d %H:%M UTC", &tm);
    *m = (NotifyMessage){.event = alertKindName(c->kind),
                         .severity = c->kind == alertMissed || c->kind == alertSkipped ? "warning" : "critical",
                         .state = d == alertResolved ? "resolved" : "firing",
                         .component = c->component,
                         .job = c->job,
                         .repository = c->repository,
                         .host = c->host,
                         .error = c->error,
                         .action = c->action ? c->action : alertDefaultAction(c->kind, c->subject, buf + half, half),
                         .timeMs = nowMs};
    switch (d) {
    case alertRemind:
        snprintf(buf, half, "Reminder: %s (firing since %s)", c->summary, since);
        break;
    case alertResolved:
        m->severity = "info";
        m->error = NULL;
        if (c->kind == alertFailure) {
            m->event = "recovered";
            snprintf(buf, half, "Recovered: %s", c->summary);
            m->action = "Nothing: the job succeeded again.";
        } else {
            snprintf(buf, half, "Resolved: %s", c->summary);
            m->action = "Nothing: the condition cleared.";
        }
        break;
    default:
        snprintf(buf, half, "%s", c->summary);
    }
    m->subject = buf;
    m->text = buf;
}

size_t alertConditionsOfRun(const CfgFile *cfg, const HistRun *row, AlertCondition *out, char *buf, size_t size) {
    const CfgComponent *comp = row->component ? cfgFileComponent(cfg, row->component) : cfgFileComponent(cfg, row->job);
    const CfgJob *job = cfgFileJob(cfg, row->job);
    const char *host = comp && comp->host ? comp->host : cfg->host;
    const char *component = row->component ? row->component : comp ? comp->name : NULL;
    AlertKind failKind = job && job->type == cfgJobDrill ? alertDrill : alertFailure;
    AlertCondition base = {.subject = row->job, .component = component, .job = row->job, .host = host};
    size_t n = 0;
    switch (row->outcome) {
    case histSucceeded:
        snprintf(buf, size, "%s succeeded on %s", row->job, host ? host : "?");
        base.summary = buf;
        out[n] = base;
        out[n++].kind = failKind;
        out[n] = base;
        out[n++].kind = alertMissed;
        out[n] = base;
        out[n++].kind = alertSkipped;
        break;
    case histFailed:
    case histTimedOut:
        snprintf(buf, size, "%s %s on %s", row->job, row->outcome == histFailed ? "failed" : "timed out",
                 host ? host : "?");
        base.summary = buf;
        base.kind = failKind;
        base.active = true;
        base.error = row->error                     ? row->error
                     : row->outcome == histTimedOut ? "the run was terminated after its timeout"
                                                    : "the run failed without an error message";
        out[n++] = base;
        break;
    case histSkipped:
    case histMissed:
        snprintf(buf, size, "%s %s a scheduled run on %s", row->job, row->outcome == histSkipped ? "skipped" : "missed",
                 host ? host : "?");
        base.summary = buf;
        base.kind = row->outcome == histSkipped ? alertSkipped : alertMissed;
        base.active = true;
        base.error = row->error;
        out[n++] = base;
        break;
    default:
        break;
    }
    return n;
}

/* ---- the state file ---- */

static char *alertPath(const char *stateDir, const char *name) {
    return lbXasprintf("%s/monitor/%s", stateDir, name);
}

bool alertStateLoad(const char *stateDir, AlertState *st, LbError *err) {
    alertStateClear(st);
    char *path = alertPath(stateDir, "alerts.json");
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    bool ok = false;
    if (doc == NULL) {
        if (access(path, F_OK) != 0 && errno == ENOENT)
            ok = true;
        else
            lbErr(err, LB_ERR_FORMAT, "unable to read alert state '%s': %s", path, je.text);
        goto cleanup;
    }
    json_t *alerts = json_object_get(doc, "alerts"), *a;
    size_t i;
    if (!json_is_array(alerts)) {
        lbErr(err, LB_ERR_FORMAT, "unable to read alert state '%s': no 'alerts' list", path);
        goto cleanup;
    }
    json_array_foreach(alerts, i, a) {
        const char *n = json_string_value(json_object_get(a, "notification"));
        const char *k = json_string_value(json_object_get(a, "kind"));
        const char *s = json_string_value(json_object_get(a, "subject"));
        int kind = -1;
        for (int j = 0; k && j < ALERT_KIND_COUNT; j++)
            if (strcmp(alertKindNames[j], k) == 0)
                kind = j;
        if (n == NULL || s == NULL || kind < 0)
            continue; /* an entry of a later version: dropped */
        st->entries = lbXrealloc(st->entries, (st->count + 1) * sizeof(AlertEntry));
        st->entries[st->count++] = (AlertEntry){
            .notification = lbXstrdup(n),
            .kind = (AlertKind)kind,
            .subject = lbXstrdup(s),
            .sinceMs = json_integer_value(json_object_get(a, "since_ms")),
            .lastSentMs = json_integer_value(json_object_get(a, "last_sent_ms")),
            .sent = (unsigned)json_integer_value(json_object_get(a, "sent")),
            .summary = alertDup(json_string_value(json_object_get(a, "summary"))),
            .error = alertDup(json_string_value(json_object_get(a, "error"))),
            .component = alertDup(json_string_value(json_object_get(a, "component"))),
            .job = alertDup(json_string_value(json_object_get(a, "job"))),
            .repository = alertDup(json_string_value(json_object_get(a, "repository"))),
            .host = alertDup(json_string_value(json_object_get(a, "host"))),
        };
    }
    ok = true;
cleanup:
    json_decref(doc);
    free(path);
    return ok;
}

bool alertStateSave(const char *stateDir, const AlertState *st, LbError *err) {
    char *path = alertPath(stateDir, "alerts.json");
    json_t *alerts = json_array();
    for (size_t i = 0; i < st->count; i++) {
        const AlertEntry *e = &st->entries[i];
        json_t *a = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "notification", e->notification, "kind",
                              alertKindName(e->kind), "subject", e->subject, "since_ms", (json_int_t)e->sinceMs,
                              "last_sent_ms", (json_int_t)e->lastSentMs, "sent", (json_int_t)e->sent);
        const struct {
            const char *key, *value;
        } opt[] = {{"summary", e->summary}, {"error", e->error},           {"component", e->component},
                   {"job", e->job},         {"repository", e->repository}, {"host", e->host}};
        for (size_t k = 0; k < sizeof(opt) / sizeof(opt[0]); k++)
            if (opt[k].value)
                json_object_set_new(a, opt[k].key, json_string(opt[k].value));
        json_array_append_new(alerts, a);
    }
    json_t *doc = json_pack("{s:i, s:o}", "version", 1, "alerts", alerts);
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
    bool ok = text && monWriteFileAtomic(path, text, strlen(text), 0600, err);
    free(text);
    json_decref(doc);
    free(path);
    return ok;
}

/* STATE/monitor (0700) and its lock, held exclusively; -1 on error */
static int alertLock(const char *stateDir, LbError *err) {
    char *dir = alertPath(stateDir, ""), *path = alertPath(stateDir, "alerts.lock");
    int fd = -1;
    if (mkdir(stateDir, 0700) != 0 && errno != EEXIST)
        lbErrSys(err, "unable to create state directory '%s'", stateDir);
    else if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        lbErrSys(err, "unable to create directory '%s'", dir);
    else if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        lbErrSys(err, "unable to open lock '%s'", path);
    else if (flock(fd, LOCK_EX) != 0) {
        lbErrSys(err, "unable to lock '%s'", path);
        close(fd);
        fd = -1;
    }
    free(dir);
    free(path);
    return fd;
}

bool alertObserve(const CfgFile *cfg, const AlertCondition *conds, size_t count, int64_t nowMs, size_t *sent,
                  LbError *err) {
    if (sent)
        *sent = 0;
    if (cfg->notificationCount == 0 || count == 0)
        return true;
    int fd = alertLock(cfg->stateDir, err);
    if (fd < 0)
        return false;
    AlertState st = {0};
    size_t max = cfg->notificationCount * count, n = 0;
    NotifyMessage *msgs = lbXcalloc(max, sizeof(NotifyMessage));
    const CfgNotification **targets = lbXcalloc(max, sizeof(CfgNotification *));
    char **bufs = lbXcalloc(max, sizeof(char *));
    LbError loadErr = {0};
    if (!alertStateLoad(cfg->stateDir, &st, &loadErr)) /* damaged: start afresh rather than go silent */
        fprintf(stderr, "lifeboat: alerts: %s (starting with no firing alert)\n", loadErr.msg);
    bool ok = true;
    for (size_t i = 0; ok && i < cfg->notificationCount; i++) {
        const CfgNotification *nt = &cfg->notifications[i];
        for (size_t j = 0; j < count; j++) {
            int64_t since = 0;
            AlertEntry *e = alertFind(&st, nt->name, conds[j].kind, conds[j].subject);
            if (e)
                since = e->sinceMs;
            AlertDecision d = alertDecide(&st, nt->name, nt->remindEvery, &conds[j], nowMs);
            if (d == alertNothing)
                continue;
            bufs[n] = lbXmalloc(2048);
            alertMessage(&conds[j], d, since ? since : nowMs, nowMs, &msgs[n], bufs[n], 2048);
            if (!notifyWants(nt, msgs[n].event)) {
                free(bufs[n]);
                bufs[n] = NULL;
                continue;
            }
            targets[n++] = nt;
        }
    }
    if (ok)
        ok = alertStateSave(cfg->stateDir, &st, err);
    close(fd); /* the decisions are recorded: the lock's work is done */
    if (ok && n)
        ok = notifySpawn(targets, msgs, n, err);
    if (ok && sent)
        *sent = n;
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(targets);
    free(msgs);
    alertStateClear(&st);
    return ok;
}
