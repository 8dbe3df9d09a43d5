/*
 * alert.h - alerts: conditions that fire and resolve, one alert per
 * condition and notification until it clears, reminders at the
 * notification's remind_every (docs/monitoring.md "Alerts").
 *
 * A condition is a kind and a subject (a job, a component or a repository):
 *   failure     the last run of a job failed or timed out; resolved by its
 *               next success, which sends one "recovered"
 *   missed      a scheduled run was missed (starting deadline passed)
 *   skipped     a scheduled run was skipped (the previous one held the job)
 *   rpo         a component's achieved RPO is over its objective
 *   stale       a scheduled job or component has not run for twice its
 *               expected interval
 *   drill       a component's last drill failed or missed its RTO objective
 *   repository  the last scan could not open a repository
 *
 * The decision (alertDecide) is pure: the state of one notification's
 * alerts, a condition's present truth and the time in, what to send out.
 * The state lives in STATE/monitor/alerts.json, read and rewritten under an
 * flock (STATE/monitor/alerts.lock) by whoever observes (the daemon, `lifeboat
 * run`), atomically (temporary file, fsync, rename).
 */
#ifndef LIFEBOAT_MONITOR_ALERT_H
#define LIFEBOAT_MONITOR_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "config/file.h"
#include "monitor/notify.h"
#include "state/history.h"

typedef enum AlertKind {
    alertFailure,
    alertMissed,
    alertSkipped,
    alertRpo,
    alertStale,
    alertDrill,
    alertRepository,
    ALERT_KIND_COUNT
} AlertKind;

const char *alertKindName(AlertKind kind); /* "failure", ... (the event of its firing alerts) */

/* A condition's present truth, with what its message says. Strings borrowed. */
typedef struct AlertCondition {
    AlertKind kind;
    const char *subject; /* the job, component or repository it is about */
    bool active;         /* the condition holds now */
    const char *component, *job, *repository, *host;
    const char *summary; /* one line, e.g. "job nightly failed on db1" */
    const char *error;   /* NULL when none */
    const char *action;  /* what to do first; NULL: the kind's default */
} AlertCondition;

/* One firing alert of one notification. */
typedef struct AlertEntry {
    char *notification;
    AlertKind kind;
    char *subject;
    int64_t sinceMs, lastSentMs;
    unsigned sent; /* messages sent: the first and the reminders */
    /* what the condition said when it fired (for the reminders; NULL: none) */
    char *summary, *error, *component, *job, *repository, *host;
} AlertEntry;

typedef struct AlertState {
    AlertEntry *entries;
    size_t count;
} AlertState;

void alertStateClear(AlertState *st);

typedef enum AlertDecision {
    alertNothing,
    alertFire,     /* the condition began: send */
    alertRemind,   /* still firing, remind_every passed: send again */
    alertResolved, /* it cleared: send once (failure: "recovered") */
} AlertDecision;

/* Pure: what notification (with remind_every seconds; 0: no reminders) sends
 * for c at nowMs, st updated to match. */
AlertDecision alertDecide(AlertState *st, const char *notification, int64_t remindEverySeconds, const AlertCondition *c,
                          int64_t nowMs);

/* The firing conditions of st's run kinds (failure, missed, skipped: no
 * fact shows them again until the next run) as active conditions, one per
 * kind and subject, into out (capacity max; returns how many; strings
 * borrowed from st): observed on the daemon's clock, they are reminded. */
size_t alertConditionsOfState(const AlertState *st, AlertCondition *out, size_t max);

/* The message for a decision (not alertNothing). Strings point into c, st's
 * entry or buf (size at least 1024); *event is the event name notifyWants
 * takes ("recovered" for a resolved failure). */
void alertMessage(const AlertCondition *c, AlertDecision d, int64_t sinceMs, int64_t nowMs, NotifyMessage *m, char *buf,
                  size_t size);

/* The kind's default "what to do first" for subject (into buf). */
const char *alertDefaultAction(AlertKind kind, const char *subject, char *buf, size_t size);

/* The conditions a recorded run changes (at most 4; returns how many), in
 * out; strings borrowed from row, cfg, or buf (size at least 1024). */
size_t alertConditionsOfRun(const CfgFile *cfg, const HistRun *row, AlertCondition *out, char *buf, size_t size);

/* ---- the state file ---- */

/* Load (none yet: an empty state) and save STATE/monitor/alerts.json. */
bool alertStateLoad(const char *stateDir, AlertState *st, LbError *err);
bool alertStateSave(const char *stateDir, const AlertState *st, LbError *err);

/* Observe conds for every notification of cfg at nowMs: under the state's
 * lock, decide, record, and send what is due with notifySpawn (never
 * waiting for an endpoint). *sent (optional): messages handed to the sender. */
bool alertObserve(const CfgFile *cfg, const AlertCondition *conds, size_t count, int64_t nowMs, size_t *sent,
                  LbError *err);

#endif
