/*
 * notify.h - delivering a message through a configured notification
 * (config/file.h CfgNotification; docs/monitoring.md "Alerts"): a
 * Slack-compatible incoming webhook (`text` plus Block Kit `blocks`), a
 * generic JSON webhook (schema version 1), or email through SMTP, all with
 * libcurl.
 *
 * Secrets: a webhook's URL and an SMTP password are read when sending, from
 * the file or environment variable the configuration names (or from the copy
 * notifySecretsTake made). They never reach a log line, an error message
 * (libcurl's own messages can hold the URL: errors here are written from the
 * notification's name and libcurl's error code only), argv, or the
 * environment of children: notifySecretsTake moves the environment variables
 * out of the process's environment.
 *
 * notifySend blocks (each attempt up to the notification's timeout, retries
 * with jittered exponential back-off); the scheduler uses notifySpawn, which
 * sends from a detached grandchild so that a slow or dead endpoint delays no
 * run and no loop.
 */
#ifndef LIFEBOAT_MONITOR_NOTIFY_H
#define LIFEBOAT_MONITOR_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "config/file.h"

/* What to send. Every string is borrowed; NULL when it does not apply. */
typedef struct NotifyMessage {
    const char *event;    /* failure, recovered, missed, skipped, rpo, stale, drill, repository, report */
    const char *severity; /* critical, warning, info */
    const char *state;    /* firing, resolved (alerts); NULL for a report */
    const char *subject;  /* one line: the summary */
    const char *text;     /* the body as plain text */
    const char *markdown; /* optional: the body for Slack (mrkdwn); text when NULL */
    const char *html;     /* optional: an HTML alternative for email */
    const char *component, *job, *repository, *host;
    const char *error;  /* what went wrong (never a secret) */
    const char *action; /* what to do first */
    int64_t timeMs;     /* when it happened (Unix ms) */
} NotifyMessage;

/* Does n receive event? (events NULL: every event but report) */
bool notifyWants(const CfgNotification *n, const char *event);

/* The bodies, for tests and for notifySend (caller frees). */
char *notifySlackJson(const NotifyMessage *m);
char *notifyWebhookJson(const NotifyMessage *m);
/* An RFC 5322 message (CRLF line ends, dot-stuffing left to libcurl). */
char *notifyEmailText(const CfgNotification *n, const NotifyMessage *m, int64_t nowMs);

/* Send m through n, retrying. Errors name the notification, never its URL or
 * credentials: "unable to send notification 'NAME': REASON". */
/* Is the server of an smtp:// or smtps:// URL this machine (127.0.0.0/8,
 * [::1], localhost)? Elsewhere, a password is only ever sent over TLS
 * (smtps://, or a STARTTLS the server must offer). */
bool notifySmtpLoopback(const char *url);
bool notifySend(const CfgNotification *n, const NotifyMessage *m, LbError *err);

/* Send m, blocking, through every notification of cfg that wants m->event
 * (the daily report: event "report", state NULL, subject, text, and
 * optionally markdown for Slack and html for email). *sent: how many took
 * it. Each failure is logged on stderr; false (err: the first failure) when
 * any failed, LB_ERR_NOT_FOUND when no notification wants the event. */
bool notifySendAll(const CfgFile *cfg, const NotifyMessage *m, size_t *sent, LbError *err);

/* Read the environment variables the notifications of cfg name (url_env,
 * password_env) into this process's memory and remove them from its
 * environment, so that no child inherits them. Call again after a reload; a
 * variable taken before keeps its value. */
void notifySecretsTake(const CfgFile *cfg);

/* Send each of msgs[i] through notifications[i] from a detached process (a
 * grandchild: the caller's waitpid(-1) never sees it) and return at once.
 * Failures are logged by the sender on stderr, naming the notification. */
bool notifySpawn(const CfgNotification *const *notifications, const NotifyMessage *msgs, size_t count, LbError *err);

#endif
