/*
 * test_alert.c - the alerts' pure logic (monitor/alert.h, alert_sched.h) and
 * the notification bodies (monitor/notify.h): one alert per condition until
 * it clears, reminders, one "recovered"; the conditions of a recorded run
 * and of the facts; the Slack, webhook and email bodies; the state file;
 * the deadline of the daemon's repository scan (monitor/serve.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "monitor/alert.h"
#include "monitor/alert_sched.h"
#include "monitor/facts.h"
#include "monitor/notify.h"
#include "monitor/serve.h"

static char dir[64];

static const AlertCondition failing = {.kind = alertFailure,
                                       .subject = "nightly",
                                       .active = true,
                                       .component = "database",
                                       .job = "nightly",
                                       .host = "db1",
                                       .summary = "nightly failed on db1",
                                       .error = "pg_dump: connection refused"};

static void testOnePerCondition(void **state) {
    (void)state;
    AlertState st = {0};
    AlertCondition c = failing;
    int64_t t = 1000000;
    assert_int_equal(alertDecide(&st, "chat", 3600, &c, t), alertFire);
    /* the retries of the slot, and later runs failing again: nothing */
    assert_int_equal(alertDecide(&st, "chat", 3600, &c, t + 1000), alertNothing);
    assert_int_equal(alertDecide(&st, "chat", 3600, &c, t + 3599999), alertNothing);
    /* remind_every passed */
    assert_int_equal(alertDecide(&st, "chat", 3600, &c, t + 3600000), alertRemind);
    assert_int_equal(alertDecide(&st, "chat", 3600, &c, t + 3600001), alertNothing);
    assert_int_equal(st.count, 1);
    assert_int_equal(st.entries[0].sent, 2);
    assert_int_equal(st.entries[0].sinceMs, t);
    /* another notification, another subject: their own alerts */
    assert_int_equal(alertDecide(&st, "mail", 0, &c, t + 5000000), alertFire);
    assert_int_equal(alertDecide(&st, "mail", 0, &c, t + 99000000), alertNothing); /* 0: no reminders */
    AlertCondition other = c;
    other.subject = "hourly";
    assert_int_equal(alertDecide(&st, "chat", 3600, &other, t), alertFire);
    /* it clears: one resolution, then nothing */
    c.active = false;
    assert_int_equal(alertDecide(&st, "chat", 3600, &c, t + 4000000), alertResolved);
    assert_int_equal(alertDecide(&st, "chat", 3600, &c, t + 4000001), alertNothing);
    assert_int_equal(st.count, 2);
    /* a success without a failure before it: nothing */
    AlertCondition fresh = c;
    fresh.subject = "weekly";
    assert_int_equal(alertDecide(&st, "chat", 3600, &fresh, t), alertNothing);
    /* and it can fire again */
    c.active = true;
    assert_int_equal(alertDecide(&st, "chat", 3600, &c, t + 5000000), alertFire);
    alertStateClear(&st);
}

static void testMessages(void **state) {
    (void)state;
    NotifyMessage m;
    char buf[2048];
    alertMessage(&failing, alertFire, 0, 1000, &m, buf, sizeof(buf));
    assert_string_equal(m.event, "failure");
    assert_string_equal(m.state, "firing");
    assert_string_equal(m.severity, "critical");
    assert_string_equal(m.subject, "nightly failed on db1");
    assert_string_equal(m.error, "pg_dump: connection refused");
    assert_non_null(strstr(m.action, "lifeboat history --job nightly"));
    alertMessage(&failing, alertRemind, 1796313600000, 1796320800000, &m, buf, sizeof(buf));
    assert_string_equal(m.subject, "Reminder: nightly failed on db1 (firing since 2026-12-03 16:00 UTC)");
    AlertCondition ok = failing;
    ok.active = false;
    ok.summary = "nightly succeeded on db1";
    alertMessage(&ok, alertResolved, 0, 1000, &m, buf, sizeof(buf));
    assert_string_equal(m.event, "recovered");
    assert_string_equal(m.state, "resolved");
    assert_string_equal(m.subject, "Recovered: nightly succeeded on db1");
    assert_null(m.error);
    ok.kind = alertRpo;
    alertMessage(&ok, alertResolved, 0, 1000, &m, buf, sizeof(buf));
    assert_string_equal(m.event, "rpo");
    assert_true(strncmp(m.subject, "Resolved: ", 10) == 0);
}

static char *writeFile(const char *name, const char *text) {
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* the configuration file name holding text, loaded */
static CfgFile *loadText(const char *name, const char *text) {
    char *path = writeFile(name, text);
    char *messages = NULL;
    LbError err = {0};
    CfgFile *f = cfgFileLoad(path, &messages, &err);
    if (f == NULL)
        fail_msg("%s\n%s", err.msg, messages ? messages : "");
    free(messages);
    free(path);
    return f;
}

static CfgFile *loadCfg(void) {
    char *text = NULL;
    assert_true(asprintf(&text,
                         "state: %s/state\nhost: platform\n"
                         "repositories:\n  main:\n    url: /tmp/x\n    password_command: echo pw\n"
                         "components:\n  app:\n    type: command\n    command: [true]\n    filename: a\n"
                         "    host: app-host\n"
                         "jobs:\n  dr:\n    type: drill\n    components: [app]\n"
                         "notifications:\n  chat:\n    type: slack\n    url_file: %s/url\n"
                         "  ops:\n    type: email\n    smtp_url: smtp://127.0.0.1:2525\n    from: lb@example.org\n"
                         "    to: [a@example.org, b@example.org]\n    events: [failure, report]\n"
                         "    remind_every: 0\n",
                         dir, dir) > 0);
    CfgFile *f = loadText("alert.yaml", text);
    free(text);
    return f;
}

static void testConfigAndWants(void **state) {
    (void)state;
    CfgFile *f = loadCfg();
    assert_int_equal(f->notificationCount, 2);
    const CfgNotification *chat = &f->notifications[0], *ops = &f->notifications[1];
    assert_int_equal(chat->kind, cfgNotifySlack);
    assert_int_equal(chat->remindEvery, 4 * 3600);
    assert_int_equal(chat->timeout, 10);
    assert_int_equal(chat->retries, 3);
    assert_true(notifyWants(chat, "failure"));
    assert_true(notifyWants(chat, "recovered"));
    assert_true(notifyWants(chat, "rpo"));
    assert_false(notifyWants(chat, "report")); /* the default: all but the report */
    assert_int_equal(ops->kind, cfgNotifyEmail);
    assert_int_equal(ops->toCount, 2);
    assert_int_equal(ops->remindEvery, 0);
    assert_true(notifyWants(ops, "report"));
    assert_false(notifyWants(ops, "recovered"));
    cfgFileFree(f);
}

/* An smtp_url with credentials in it is refused without echoing it: the
 * password reached the error (and the daemon's log on a reload). */
static void testSmtpUrlSecretNotEchoed(void **state) {
    (void)state;
    char *text = NULL;
    assert_true(asprintf(&text,
                         "state: %s/state\nrepositories:\n  main:\n    url: /tmp/x\n    password_command: echo pw\n"
                         "notifications:\n  ops:\n    type: email\n"
                         "    smtp_url: smtp://alice:s3cret-pw@127.0.0.1:2525\n    from: lb@example.org\n"
                         "    to: [a@example.org]\n",
                         dir) > 0);
    char *path = writeFile("smtp-secret.yaml", text);
    free(text);
    char *messages = NULL;
    LbError err = {0};
    CfgFile *f = cfgFileLoad(path, &messages, &err);
    assert_null(f);
    char all[8192];
    snprintf(all, sizeof(all), "%s\n%s", err.msg, messages ? messages : "");
    assert_non_null(strstr(all, "smtp_url"));
    assert_null(strstr(all, "s3cret-pw"));
    free(messages);
    free(path);
}

static void testConditionsOfRun(void **state) {
    (void)state;
    CfgFile *f = loadCfg();
    AlertCondition c[4];
    char buf[1024];
    HistRun row = {.runId = "app@x", .job = "app", .component = "app", .outcome = histFailed, .error = "exit 3"};
    assert_int_equal(alertConditionsOfRun(f, &row, c, buf, sizeof(buf)), 1);
    assert_int_equal(c[0].kind, alertFailure);
    assert_true(c[0].active);
    assert_string_equal(c[0].subject, "app");
    assert_string_equal(c[0].host, "app-host");
    assert_string_equal(c[0].error, "exit 3");
    assert_string_equal(c[0].summary, "app failed on app-host");
    row.outcome = histTimedOut;
    row.error = NULL;
    assert_int_equal(alertConditionsOfRun(f, &row, c, buf, sizeof(buf)), 1);
    assert_non_null(strstr(c[0].error, "timeout"));
    row.outcome = histSucceeded;
    assert_int_equal(alertConditionsOfRun(f, &row, c, buf, sizeof(buf)), 3);
    for (int i = 0; i < 3; i++)
        assert_false(c[i].active);
    assert_int_equal(c[0].kind, alertFailure);
    row.outcome = histSkipped;
    assert_int_equal(alertConditionsOfRun(f, &row, c, buf, sizeof(buf)), 1);
    assert_int_equal(c[0].kind, alertSkipped);
    assert_true(c[0].active);
    row.outcome = histMissed;
    assert_int_equal(alertConditionsOfRun(f, &row, c, buf, sizeof(buf)), 1);
    assert_int_equal(c[0].kind, alertMissed);
    row.outcome = histCancelled;
    assert_int_equal(alertConditionsOfRun(f, &row, c, buf, sizeof(buf)), 0);
    /* a drill job's failure is a drill alert; the configuration's host */
    HistRun drill = {.runId = "dr@x", .job = "dr", .outcome = histFailed, .error = "RTO over"};
    assert_int_equal(alertConditionsOfRun(f, &drill, c, buf, sizeof(buf)), 1);
    assert_int_equal(c[0].kind, alertDrill);
    assert_string_equal(c[0].host, "platform");
    cfgFileFree(f);
}

static void testConditionsOfFacts(void **state) {
    (void)state;
    int64_t now = 1796313600000;
    MonComponent comps[2] = {{.name = (char *)"database",
                              .repository = (char *)"main",
                              .rpoObjective = 10,
                              .rtoObjective = 300,
                              .schedule = (char *)"*/15 * * * *",
                              .expectedIntervalSeconds = 900,
                              .scanned = true,
                              .newestSnapshotNs = (now - 3600 * 1000) * 1000000,
                              .newestRestorableNs = (now - 3600 * 1000) * 1000000,
                              .runs = {.lastRunMs = now - 3600 * 1000},
                              .drilled = true,
                              .lastDrillPassed = true,
                              .lastDrillRtoSeconds = 420},
                             {.name = (char *)"uploads",
                              .repository = (char *)"main",
                              .rpoObjective = 86400,
                              .rtoObjective = -1,
                              .expectedIntervalSeconds = 86400,
                              .scanned = true,
                              .newestSnapshotNs = (now - 60 * 1000) * 1000000,
                              .newestRestorableNs = (now - 60 * 1000) * 1000000,
                              .runs = {.lastRunMs = now - 60 * 1000}}};
    MonRepository repos[1] = {{.name = (char *)"main",
                               .scan = {.repository = (char *)"main",
                                        .scannedAtMs = now - 1000,
                                        .ok = false,
                                        .error = (char *)"unable to open repository 'main': wrong password"}}};
    MonJob jobs[1] = {{.name = (char *)"daily-full",
                       .expectedIntervalSeconds = 86400,
                       .runs = {.lastRunMs = now - 3 * 86400 * 1000}}};
    MonFacts facts = {.nowMs = now,
                      .jobs = jobs,
                      .jobCount = 1,
                      .host = (char *)"db1",
                      .components = comps,
                      .componentCount = 2,
                      .repositories = repos,
                      .repositoryCount = 1};
    AlertCondition c[16];
    char(*bufs)[512] = calloc(16, 512);
    size_t n = alertConditionsOfFacts(&facts, 0, c, bufs, 16);
    bool rpo = false, stale = false, drill = false, repo = false, uploadsRpo = false, jobStale = false;
    for (size_t i = 0; i < n; i++) {
        if (c[i].kind == alertRpo && strcmp(c[i].subject, "database") == 0) {
            rpo = c[i].active;
            assert_string_equal(c[i].summary, "database: achieved RPO 1h 0m is over its objective 10s");
        }
        if (c[i].kind == alertRpo && strcmp(c[i].subject, "uploads") == 0)
            uploadsRpo = c[i].active;
        if (c[i].kind == alertStale && strcmp(c[i].subject, "database") == 0) {
            stale = c[i].active; /* 1 h > 2 x 15 min */
            assert_string_equal(c[i].summary, "database has not run for 1h 0m (expected every 15m 0s)");
        }
        if (c[i].kind == alertStale && strcmp(c[i].subject, "daily-full") == 0) {
            jobStale = c[i].active;
            assert_string_equal(c[i].summary, "daily-full has not run for 3d 0h (expected every 1d 0h)");
        }
        /* uploads runs only within jobs: no stale alert of its own */
        if (c[i].kind == alertStale && strcmp(c[i].subject, "uploads") == 0)
            fail_msg("a stale alert for a component without a schedule");
        if (c[i].kind == alertDrill) {
            drill = c[i].active; /* 420 s > 300 s */
            assert_non_null(strstr(c[i].summary, "over its RTO objective 5m 0s"));
        }
        if (c[i].kind == alertRepository) {
            repo = c[i].active;
            assert_string_equal(c[i].error, "unable to open repository 'main': wrong password");
        }
    }
    assert_true(rpo);
    assert_false(uploadsRpo);
    assert_true(stale);
    assert_true(drill);
    assert_true(repo);
    assert_true(jobStale);
    /* nothing restorable at all is a breach too */
    comps[1].newestRestorableNs = 0;
    n = alertConditionsOfFacts(&facts, 0, c, bufs, 16);
    for (size_t i = 0; i < n; i++)
        if (c[i].kind == alertRpo && strcmp(c[i].subject, "uploads") == 0)
            assert_true(c[i].active);
    /* a scheduled job that never ran: judged from when the daemon started */
    jobs[0].runs.lastRunMs = 0;
    bool seen = false;
    n = alertConditionsOfFacts(&facts, 0, c, bufs, 16);
    for (size_t i = 0; i < n; i++)
        seen = seen || (c[i].kind == alertStale && strcmp(c[i].subject, "daily-full") == 0);
    assert_false(seen); /* since unknown: not judged */
    n = alertConditionsOfFacts(&facts, now - 86400 * 1000, c, bufs, 16);
    for (size_t i = 0; i < n; i++)
        if (c[i].kind == alertStale && strcmp(c[i].subject, "daily-full") == 0) {
            seen = true;
            assert_false(c[i].active); /* 1 day < 2 x 1 day */
        }
    assert_true(seen);
    seen = false;
    n = alertConditionsOfFacts(&facts, now - 3 * 86400 * 1000, c, bufs, 16);
    for (size_t i = 0; i < n; i++)
        if (c[i].kind == alertStale && strcmp(c[i].subject, "daily-full") == 0) {
            seen = c[i].active;
            assert_string_equal(
                c[i].summary, "daily-full has never run in the 3d 0h the daemon has watched it (expected every 1d 0h)");
        }
    assert_true(seen);
    free(bufs);
}

static const NotifyMessage msg = {.event = "failure",
                                  .severity = "critical",
                                  .state = "firing",
                                  .subject = "nightly failed on db1",
                                  .text = "nightly failed on db1",
                                  .component = "database",
                                  .job = "nightly",
                                  .host = "db1",
                                  .error = "pg_dump: connection refused",
                                  .action = "Check the database",
                                  .timeMs = 1796313600000};

static void testSlack(void **state) {
    (void)state;
    char *s = notifySlackJson(&msg);
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "text")), "nightly failed on db1");
    json_t *blocks = json_object_get(o, "blocks");
    assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 0), "type")), "header");
    json_t *fields = json_object_get(json_array_get(blocks, json_array_size(blocks) - 1), "fields");
    assert_true(json_array_size(fields) >= 6);
    char all[4096] = "";
    for (size_t i = 0; i < json_array_size(fields); i++) {
        strncat(all, json_string_value(json_object_get(json_array_get(fields, i), "text")), 500);
        strcat(all, "|");
    }
    assert_non_null(strstr(all, "*Component*\ndatabase|"));
    assert_non_null(strstr(all, "*Job*\nnightly|"));
    assert_non_null(strstr(all, "*Host*\ndb1|"));
    assert_non_null(strstr(all, "*What happened*\nfailure (firing)|"));
    assert_non_null(strstr(all, "pg_dump: connection refused"));
    assert_non_null(strstr(all, "*What to do first*\nCheck the database|"));
    json_decref(o);
    free(s);
}

/* A body longer than Slack's section limit is cut at a character's start
 * and ends in "..." (it was cut at 2,047 bytes, inside a character, and
 * the section was lost). */
static void testSlackLongBody(void **state) {
    (void)state;
    char body[6001];
    for (size_t i = 0; i < 3000; i++)
        memcpy(body + 2 * i, "\xc3\xa9", 2); /* e acute */
    body[6000] = '\0';
    NotifyMessage m = msg;
    m.text = body;
    char *s = notifySlackJson(&m);
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);
    assert_non_null(o);
    json_t *section = json_array_get(json_object_get(o, "blocks"), 1);
    const char *t = json_string_value(json_object_get(json_object_get(section, "text"), "text"));
    assert_non_null(t);
    size_t n = strlen(t);
    assert_true(n > 2900 && n < 2990);
    assert_string_equal(t + n - 3, "...");
    json_decref(o);
    free(s);
}

static void testWebhook(void **state) {
    (void)state;
    char *s = notifyWebhookJson(&msg);
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
    static const char *const keys[] = {"event", "severity", "state", "component", "job",
                                       "host",  "summary",  "error", "action",    "time"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_true(json_is_string(json_object_get(o, keys[i])));
    assert_true(json_is_null(json_object_get(o, "repository")));
    assert_string_equal(json_string_value(json_object_get(o, "time")), "2026-12-03T16:00:00Z");
    assert_string_equal(json_string_value(json_object_get(o, "state")), "firing");
    json_decref(o);
    free(s);
    /* an error quoting a file name that is not UTF-8 keeps its field (and
     * the Slack message stays whole) */
    NotifyMessage m = msg;
    m.error = "unable to read '/data/caf\xe9.txt': Permission denied";
    m.subject = "backup failed: caf\xe9";
    s = notifyWebhookJson(&m);
    o = json_loads(s, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "error")),
                        "unable to read '/data/caf\xef\xbf\xbd.txt': Permission denied");
    json_decref(o);
    free(s);
    s = notifySlackJson(&m);
    assert_non_null(s);
    o = json_loads(s, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "text")), "backup failed: caf\xef\xbf\xbd");
    json_decref(o);
    free(s);
}

static void testEmail(void **state) {
    (void)state;
    CfgFile *f = loadCfg();
    NotifyMessage m = msg;
    m.subject = "Sicherung fehlgeschlagen: Datenbank \xc3\xbc";
    char *s = notifyEmailText(&f->notifications[1], &m, 1796313600000);
    assert_non_null(strstr(s, "Date: Thu, 03 Dec 2026 16:00:00 +0000\r\n"));
    assert_non_null(strstr(s, "From: <lb@example.org>\r\n"));
    assert_non_null(strstr(s, "To: <a@example.org>, <b@example.org>\r\n"));
    assert_non_null(strstr(s, "Message-ID: <1796313600000."));
    assert_non_null(strstr(s, "@example.org>\r\n"));
    assert_non_null(strstr(s, "Subject: =?UTF-8?B?"));
    assert_non_null(strstr(s, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(s, "\r\n\r\n")); /* headers, then the body */
    assert_non_null(strstr(s, "Error: pg_dump: connection refused\r\n"));
    for (const char *p = strchr(s, '\n'); p; p = strchr(p + 1, '\n'))
        assert_int_equal(p[-1], '\r'); /* CRLF only */
    free(s);
    /* long lines: no line above 998 octets, encoded words of at most 75
     * characters, no UTF-8 character split */
    char subject[1201], error[3001];
    for (size_t i = 0; i < 600; i += 2)
        memcpy(subject + i, "\xc3\xbc", 2); /* 300 x u-umlaut */
    memset(subject + 600, 'x', 600);
    subject[1200] = '\0';
    memset(error, 'e', 3000);
    memcpy(error + 989, "\xc3\xa4", 2); /* a character across the break */
    error[3000] = '\0';
    m.subject = subject;
    m.error = error;
    s = notifyEmailText(&f->notifications[1], &m, 1796313600000);
    size_t longest = 0, words = 0;
    for (const char *p = s; *p;) {
        const char *e = strstr(p, "\r\n");
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > longest)
            longest = len;
        for (const char *w = p; (w = strstr(w, "=?UTF-8?B?")) && w < p + len; w++) {
            const char *we = strstr(w, "?=");
            assert_non_null(we);
            assert_true(we + 2 - w <= 75);
            words++;
        }
        p = e ? e + 2 : p + len;
    }
    assert_true(longest <= 998);
    assert_true(words >= 1200 / 45);
    assert_non_null(strstr(s, "\xc3\xa4")); /* the character survived whole */
    free(s);
    m.error = msg.error;
    m.html = "<p>report</p>";
    s = notifyEmailText(&f->notifications[1], &m, 1796313600000);
    assert_non_null(strstr(s, "Content-Type: multipart/alternative; boundary="));
    assert_non_null(strstr(s, "Content-Type: text/html; charset=utf-8"));
    free(s);
    cfgFileFree(f);
}

static void testSmtpLoopback(void **state) {
    (void)state;
    assert_true(notifySmtpLoopback("smtp://127.0.0.1:2525"));
    assert_true(notifySmtpLoopback("smtp://localhost"));
    assert_true(notifySmtpLoopback("smtp://[::1]:25"));
    assert_false(notifySmtpLoopback("smtp://mail.example.org:587"));
    assert_false(notifySmtpLoopback("smtp://127.example.org"));
    assert_false(notifySmtpLoopback("smtp://10.0.0.1"));
    assert_false(notifySmtpLoopback("not a url"));
}

static void testStateFile(void **state) {
    (void)state;
    char *sd = NULL;
    assert_true(asprintf(&sd, "%s/state", dir) > 0);
    char *md = NULL;
    assert_true(asprintf(&md, "%s/monitor", sd) > 0);
    mkdir(sd, 0700);
    mkdir(md, 0700);
    AlertState st = {0}, back = {0};
    LbError err = {0};
    assert_true(alertStateLoad(sd, &back, &err)); /* none yet */
    assert_int_equal(back.count, 0);
    AlertCondition c = failing;
    alertDecide(&st, "chat", 60, &c, 5000);
    c.kind = alertRpo;
    c.subject = "database";
    alertDecide(&st, "mail", 60, &c, 6000);
    assert_true(alertStateSave(sd, &st, &err));
    assert_true(alertStateLoad(sd, &back, &err));
    assert_int_equal(back.count, 2);
    assert_string_equal(back.entries[1].notification, "mail");
    assert_int_equal(back.entries[1].kind, alertRpo);
    assert_string_equal(back.entries[1].subject, "database");
    assert_int_equal(back.entries[1].sinceMs, 6000);
    /* the loaded state goes on deciding: still firing, nothing new */
    assert_int_equal(alertDecide(&back, "mail", 60, &c, 7000), alertNothing);
    /* the run conditions firing (not the fact ones) come back for the
     * daemon's clock, with what they said, and are reminded */
    AlertCondition again[4];
    assert_int_equal(alertConditionsOfState(&back, again, 4), 1);
    assert_int_equal(again[0].kind, alertFailure);
    assert_true(again[0].active);
    assert_string_equal(again[0].summary, "nightly failed on db1");
    assert_string_equal(again[0].error, "pg_dump: connection refused");
    assert_string_equal(again[0].host, "db1");
    assert_int_equal(alertDecide(&back, "chat", 60, &again[0], 5000 + 59999), alertNothing);
    assert_int_equal(alertDecide(&back, "chat", 60, &again[0], 5000 + 60000), alertRemind);
    alertStateClear(&st);
    alertStateClear(&back);
    free(sd);
    free(md);
}

/* a send that fails names the notification, never the URL */
static void testSendErrors(void **state) {
    (void)state;
    char *urlPath = writeFile("url", "http://127.0.0.1:1/hooks/SECRETPATH\n");
    char *text = NULL;
    assert_true(asprintf(&text,
                         "state: %s/state\nrepositories:\n  main:\n    url: /tmp/x\n    password_command: echo pw\n"
                         "notifications:\n  chat:\n    type: slack\n    url_file: %s\n    retries: 1\n"
                         "    timeout: 2s\n    events: [report]\n",
                         dir, urlPath) > 0);
    CfgFile *f = loadText("send.yaml", text);
    LbError err = {0};
    NotifyMessage m = {.event = "report", .severity = "info", .subject = "daily report", .text = "all ok"};
    size_t sent = 99;
    assert_false(notifySendAll(f, &m, &sent, &err));
    assert_int_equal(sent, 0);
    assert_non_null(strstr(err.msg, "unable to send notification 'chat' (2 attempts): "));
    assert_null(strstr(err.msg, "SECRETPATH"));
    assert_null(strstr(err.msg, "127.0.0.1"));
    m.event = "failure"; /* nobody receives it */
    assert_false(notifySendAll(f, &m, &sent, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    cfgFileFree(f);
    free(text);
    free(urlPath);
}

/* the scan of the daemon's child: it does not end while the test runs
 * (bounded, so that a failed test leaves no process behind for long) */
static void scanHangs(const CfgFile *cfg, int64_t nowMs) {
    (void)cfg;
    (void)nowMs;
    sleep(30);
}

/* monitor/serve.c: with nothing else to wake the loop (no job due, no
 * listener), its wait ended when the scan that hangs was started, not by
 * the scan's kill deadline: the scan was never killed, no other ran. */
static void testHungScanWakes(void **state) {
    (void)state;
    char *text = NULL;
    assert_true(asprintf(&text,
                         "state: %s/state\nrepositories:\n  main:\n    url: /tmp/x\n    password_command: echo pw\n"
                         "components:\n  app:\n    type: command\n    command: [true]\n    filename: a\n",
                         dir) > 0);
    CfgFile *cfg = loadText("serve.yaml", text);
    free(text);
    MonServe *s = monServeNew(scanHangs);
    assert_non_null(s);
    LbError err = {0};
    assert_true(monServeConfigure(s, cfg, &err));
    const SchedHooks *h = monServeHooks(s);
    struct pollfd fds[4];
    int64_t now = lbNowNs() / 1000000, wake = INT64_MAX;
    size_t n = h->prepareWait(h->ctx, fds, 4, now, &wake);
    monServeFree(s); /* SIGTERM to the scan */
    int status = 0;
    assert_true(wait(&status) > 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(n, 1); /* the scan's pipe */
    /* the deadline: twice the refresh (5m), at least 10 minutes */
    assert_true(wake <= now + 600 * 1000 + 5000);
    cfgFileFree(cfg);
}

int main(void) {
    snprintf(dir, sizeof(dir), "/tmp/lifeboat-test-alert-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testOnePerCondition),
        cmocka_unit_test(testMessages),
        cmocka_unit_test(testConfigAndWants),
        cmocka_unit_test(testConditionsOfRun),
        cmocka_unit_test(testConditionsOfFacts),
        cmocka_unit_test(testSlack),
        cmocka_unit_test(testSlackLongBody),
        cmocka_unit_test(testWebhook),
        cmocka_unit_test(testEmail),
        cmocka_unit_test(testSmtpLoopback),
        cmocka_unit_test(testStateFile),
        cmocka_unit_test(testSendErrors),
        cmocka_unit_test(testHungScanWakes),
        cmocka_unit_test(testSmtpUrlSecretNotEchoed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
