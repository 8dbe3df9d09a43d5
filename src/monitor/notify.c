/* notify.c - Slack, webhook and email delivery with libcurl (see notify.h). */
#include "monitor/notify.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/childenv.h"
#include "common/jsonutil.h"
#include "common/timeutil.h"

#define NOTIFY_SECRET_MAX 8192
#define NOTIFY_BACKOFF_MAX_MS 30000

bool notifyWants(const CfgNotification *n, const char *event) {
    if (n->events == NULL)
        return strcmp(event, "report") != 0;
    for (size_t i = 0; i < n->eventCount; i++)
        if (n->events[i] && strcmp(n->events[i], event) == 0)
            return true;
    return false;
}

/* ---- bodies ---- */

static void notifyTime(int64_t ms, char *out, size_t n) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void notifySetStr(json_t *o, const char *key, const char *v) {
    json_object_set_new(o, key, lbJsonStringLossy(v)); /* outside text: invalid UTF-8 must not drop the field */
}

char *notifyWebhookJson(const NotifyMessage *m) {
    char when[40];
    notifyTime(m->timeMs, when, sizeof(when));
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(1));
    notifySetStr(o, "event", m->event);
    notifySetStr(o, "severity", m->severity);
    notifySetStr(o, "state", m->state);
    notifySetStr(o, "component", m->component);
    notifySetStr(o, "job", m->job);
    notifySetStr(o, "repository", m->repository);
    notifySetStr(o, "host", m->host);
    notifySetStr(o, "summary", m->subject);
    notifySetStr(o, "error", m->error);
    notifySetStr(o, "action", m->action);
    notifySetStr(o, "time", when);
    notifySetStr(o, "text", m->text);
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    return s;
}

/* Slack's limits: a header 150 characters, a field 2,000 */
static json_t *notifySlackText(const char *type, const char *s, size_t max) {
    char *cut = NULL;
    size_t n = strlen(s);
    if (n >= max) {
        n = max - 4;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) /* not inside a UTF-8 sequence */
            n--;
        cut = lbXasprintf("%.*s...", (int)n, s);
        s = cut;
    }
    json_t *o = json_pack("{s:s, s:o}", "type", type, "text", lbJsonStringLossy(s));
    free(cut);
    return o;
}

static void notifySlackField(json_t *fields, const char *label, const char *value, bool code) {
    if (value == NULL || !*value)
        return;
    char *s = lbXasprintf(code ? "*%s*\n```%s```" : "*%s*\n%s", label, value);
    json_array_append_new(fields, notifySlackText("mrkdwn", s, 1990));
    free(s);
}

char *notifySlackJson(const NotifyMessage *m) {
    json_t *blocks = json_array(), *fields = json_array();
    json_array_append_new(
        blocks, json_pack("{s:s, s:o}", "type", "header", "text", notifySlackText("plain_text", m->subject, 150)));
    const char *body = m->markdown ? m->markdown : m->text;
    if (body && *body && strcmp(body, m->subject) != 0)
        json_array_append_new(
            blocks, json_pack("{s:s, s:o}", "type", "section", "text", notifySlackText("mrkdwn", body, 2990)));
    char what[160] = "";
    if (m->state)
        snprintf(what, sizeof(what), "%s (%s)", m->event, m->state);
    notifySlackField(fields, "Component", m->component, false);
    notifySlackField(fields, "Job", m->job, false);
    notifySlackField(fields, "Repository", m->repository, false);
    notifySlackField(fields, "Host", m->host, false);
    notifySlackField(fields, "What happened", *what ? what : m->event, false);
    notifySlackField(fields, "Error", m->error, true);
    notifySlackField(fields, "What to do first", m->action, false);
    if (json_array_size(fields))
        json_array_append_new(blocks, json_pack("{s:s, s:o}", "type", "section", "fields", fields));
    else
        json_decref(fields);
    json_t *o = json_pack("{s:o, s:o}", "text", lbJsonStringLossy(m->subject), "blocks", blocks);
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    return s;
}

/* RFC 5322 keeps lines under 998 octets and RFC 2047 encoded words
 * under 75 characters: limits of what a header or body line carries. */
#define EMAIL_LINE_MAX 990
#define EMAIL_WORD_BYTES 45 /* bytes per encoded word: 60 base64 characters */

/* A header value: as it is when short printable ASCII; otherwise RFC 2047
 * encoded words of whole UTF-8 characters, folded one per line. */
static void notifyHeaderValue(LbBuf *b, const char *v) {
    bool ascii = true;
    size_t n = strlen(v);
    for (const char *p = v; *p; p++)
        ascii = ascii && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f;
    if (ascii && n <= EMAIL_LINE_MAX - 16) {
        lbBufAppendStr(b, v);
        return;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t start = 0; start < n;) {
        size_t end = start + EMAIL_WORD_BYTES < n ? start + EMAIL_WORD_BYTES : n;
        while (end < n && end > start + 1 && ((unsigned char)v[end] & 0xC0) == 0x80)
            end--; /* never split a character */
        lbBufAppendStr(b, start ? "\r\n =?UTF-8?B?" : "=?UTF-8?B?");
        for (size_t i = start; i < end; i += 3) {
            unsigned v0 = (unsigned char)v[i], v1 = i + 1 < end ? (unsigned char)v[i + 1] : 0,
                     v2 = i + 2 < end ? (unsigned char)v[i + 2] : 0;
            char q[4] = {b64[v0 >> 2], b64[((v0 & 3) << 4) | (v1 >> 4)],
                         i + 1 < end ? b64[((v1 & 15) << 2) | (v2 >> 6)] : '=', i + 2 < end ? b64[v2 & 63] : '='};
            lbBufAppend(b, q, 4);
        }
        lbBufAppendStr(b, "?=");
        start = end;
    }
}

/* text with bare LF as CRLF, and lines longer than a mail line may be
 * broken (between UTF-8 characters) */
static void notifyCrlf(LbBuf *b, const char *s) {
    size_t col = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '\n') {
            if (p == s || p[-1] != '\r')
                lbBufAppend(b, "\r", 1);
            col = 0;
        } else if (col >= EMAIL_LINE_MAX && ((unsigned char)*p & 0xC0) != 0x80 && *p != '\r') {
            lbBufAppend(b, "\r\n", 2);
            col = 0;
        }
        lbBufAppend(b, p, 1);
        col = *p == '\n' ? 0 : col + 1;
    }
    if (*s && s[strlen(s) - 1] != '\n')
        lbBufAppend(b, "\r\n", 2);
}

static void notifyPlainBody(LbBuf *b, const NotifyMessage *m) {
    if (m->text && *m->text && strcmp(m->text, m->subject) != 0) {
        notifyCrlf(b, m->text);
        lbBufAppendStr(b, "\r\n");
    }
    const struct {
        const char *label, *value;
    } f[] = {{"What happened", m->event},   {"State", m->state},
             {"Component", m->component},   {"Job", m->job},
             {"Repository", m->repository}, {"Host", m->host},
             {"Error", m->error},           {"What to do first", m->action}};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i].value && *f[i].value) {
            char *line = lbXasprintf("%s: %s\n", f[i].label, f[i].value);
            notifyCrlf(b, line);
            free(line);
        }
}

char *notifyEmailText(const CfgNotification *n, const NotifyMessage *m, int64_t nowMs) {
    LbBuf b = {0};
    char date[64], host[128] = "localhost";
    time_t t = (time_t)(nowMs / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    gethostname(host, sizeof(host) - 1);
    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        rnd = (uint64_t)nowMs * 2654435761u ^ (uint64_t)getpid();
    lbBufPrintf(&b, "Date: %s\r\nFrom: <%s>\r\nTo: ", date, n->from);
    for (size_t i = 0; i < n->toCount; i++)
        lbBufPrintf(&b, "%s<%s>", i ? ", " : "", n->to[i]);
    lbBufPrintf(&b, "\r\nMessage-ID: <%lld.%016llx.lifeboat@%s>\r\nSubject: ", (long long)nowMs,
                (unsigned long long)rnd, strchr(n->from, '@') + 1);
    notifyHeaderValue(&b, m->subject);
    lbBufAppendStr(&b, "\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n");
    if (m->event)
        lbBufPrintf(&b, "X-Lifeboat-Event: %s%s%s\r\n", m->event, m->state ? "; state=" : "", m->state ? m->state : "");
    if (m->html) {
        char boundary[64];
        snprintf(boundary, sizeof(boundary), "lifeboat-%016llx", (unsigned long long)rnd);
        lbBufPrintf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary);
        lbBufPrintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
                    boundary);
        notifyPlainBody(&b, m);
        lbBufPrintf(&b, "--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
                    boundary);
        notifyCrlf(&b, m->html);
        lbBufPrintf(&b, "--%s--\r\n", boundary);
    } else {
        lbBufAppendStr(&b, "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        notifyPlainBody(&b, m);
    }
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

/* ---- secrets ---- */

typedef struct NotifySecretVar {
    char *name, *value;
} NotifySecretVar;

static NotifySecretVar *notifyVars;
static size_t notifyVarCount;

static const char *notifyVar(const char *name) {
    for (size_t i = 0; i < notifyVarCount; i++)
        if (strcmp(notifyVars[i].name, name) == 0)
            return notifyVars[i].value;
    return NULL;
}

static void notifyTakeVar(const char *name) {
    const char *v = name ? getenv(name) : NULL;
    if (v == NULL)
        return;
    for (size_t i = 0; i < notifyVarCount; i++)
        if (strcmp(notifyVars[i].name, name) == 0) {
            free(notifyVars[i].value);
            notifyVars[i].value = lbXstrdup(v);
            unsetenv(name);
            return;
        }
    notifyVars = lbXrealloc(notifyVars, (notifyVarCount + 1) * sizeof(*notifyVars));
    notifyVars[notifyVarCount].name = lbXstrdup(name);
    notifyVars[notifyVarCount++].value = lbXstrdup(v);
    unsetenv(name);
}

void notifySecretsTake(const CfgFile *cfg) {
    for (size_t i = 0; i < cfg->notificationCount; i++) {
        notifyTakeVar(cfg->notifications[i].urlEnv);
        notifyTakeVar(cfg->notifications[i].passwordEnv);
    }
}

/* The secret of file or env into out (trailing white space dropped). The
 * error names what, never the value. */
static bool notifyReadSecret(const CfgNotification *n, const char *what, const char *file, const char *env, char *out,
                             size_t size, LbError *err) {
    out[0] = '\0';
    if (file) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return lbErrSys(err, "unable to send notification '%s': unable to read %s file '%s'", n->name, what, file);
        ssize_t got = read(fd, out, size - 1);
        int e = errno;
        close(fd);
        if (got < 0) {
            errno = e;
            return lbErrSys(err, "unable to send notification '%s': unable to read %s file '%s'", n->name, what, file);
        }
        out[got] = '\0';
    } else if (env) {
        const char *v = notifyVar(env);
        if (v == NULL)
            v = getenv(env);
        if (v == NULL)
            return lbErr(err, LB_ERR_ARGS, "unable to send notification '%s': the environment variable %s is not set",
                         n->name, env);
        snprintf(out, size, "%s", v);
    }
    size_t len = strlen(out);
    while (len > 0 && strchr(" \t\r\n", out[len - 1]))
        out[--len] = '\0';
    return true;
}

/* ---- sending ---- */

typedef struct NotifyUpload {
    const char *data;
    size_t len, at;
} NotifyUpload;

static size_t notifyRead(char *buf, size_t size, size_t nitems, void *ctx) {
    NotifyUpload *u = ctx;
    size_t n = size * nitems;
    if (n > u->len - u->at)
        n = u->len - u->at;
    memcpy(buf, u->data + u->at, n);
    u->at += n;
    return n;
}

static size_t notifyDiscard(char *ptr, size_t size, size_t nmemb, void *ctx) {
    (void)ptr;
    (void)ctx;
    return size * nmemb;
}

static CURLcode notifyCurlInit(void) {
    static int done;
    static CURLcode rc;
    if (!done) {
        rc = curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
    return rc;
}

/* One attempt. *permanent: retrying cannot help (a 4xx other than 408/429). */

/* Is the server of an smtp:// or smtps:// URL this machine (127.0.0.0/8,
 * ::1, localhost)? A password sent there never crosses the network. */
bool notifySmtpLoopback(const char *url) {
    CURLU *u = curl_url();
    char *host = NULL;
    bool loop = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        struct in_addr a;
        loop = strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
               (inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127);
    }
    curl_free(host);
    curl_url_cleanup(u);
    return loop;
}
static bool notifyAttempt(const CfgNotification *n, const char *url, const char *password, const char *body,
                          bool *permanent, LbError *err) {
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL, *rcpt = NULL;
    bool ok = false;
    *permanent = false;
    if (h == NULL)
        return lbErr(err, LB_ERR_MEMORY, "out of memory");
    NotifyUpload up = {body, strlen(body), 0};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(n->timeout * 1000));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(n->timeout * 1000));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, notifyDiscard);
    if (n->kind == cfgNotifyEmail) {
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        /* STARTTLS when offered; required when a password would cross the
         * network (an SMTP server elsewhere than this machine) */
        bool mustTls = password && *password && !notifySmtpLoopback(url);
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)(mustTls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
        char from[512];
        snprintf(from, sizeof(from), "<%s>", n->from);
        curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
        for (size_t i = 0; i < n->toCount; i++) {
            char to[512];
            snprintf(to, sizeof(to), "<%s>", n->to[i]);
            rcpt = curl_slist_append(rcpt, to);
        }
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
        if (n->username)
            curl_easy_setopt(h, CURLOPT_USERNAME, n->username);
        if (password && *password)
            curl_easy_setopt(h, CURLOPT_PASSWORD, password);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, notifyRead);
        curl_easy_setopt(h, CURLOPT_READDATA, &up);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
    } else {
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        hdr = curl_slist_append(hdr, "Content-Type: application/json; charset=utf-8");
        hdr = curl_slist_append(hdr, "User-Agent: lifeboat");
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)up.len);
    }
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        /* curl_easy_strerror names the problem, never the URL */
        lbErr(err, rc == CURLE_LOGIN_DENIED ? LB_ERR_AUTH : LB_ERR_TRANSIENT, "%s%s", curl_easy_strerror(rc),
              rc == CURLE_OPERATION_TIMEDOUT ? " (after the notification's timeout)" : "");
        *permanent = rc == CURLE_LOGIN_DENIED || rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL;
    } else if (n->kind != cfgNotifyEmail && (status < 200 || status > 299)) {
        lbErr(err, LB_ERR_TRANSIENT, "the endpoint answered HTTP %ld", status);
        *permanent = status >= 400 && status < 500 && status != 408 && status != 429;
    } else {
        ok = true;
    }
    curl_slist_free_all(hdr);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    return ok;
}

static void notifySleepMs(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

bool notifySend(const CfgNotification *n, const NotifyMessage *m, LbError *err) {
    char *url = calloc(1, NOTIFY_SECRET_MAX), *password = calloc(1, NOTIFY_SECRET_MAX), *body = NULL;
    bool ok = false;
    if (m->subject == NULL || m->event == NULL) {
        lbErr(err, LB_ERR_ARGS, "unable to send notification '%s': a message needs an event and a subject", n->name);
        goto cleanup;
    }
    if (url == NULL || password == NULL) {
        lbErr(err, LB_ERR_MEMORY, "unable to send notification '%s': out of memory", n->name);
        goto cleanup;
    }
    if (notifyCurlInit() != CURLE_OK) {
        lbErr(err, LB_ERR_GENERIC, "unable to send notification '%s': libcurl did not initialise", n->name);
        goto cleanup;
    }
    if (n->kind == cfgNotifyEmail) {
        snprintf(url, NOTIFY_SECRET_MAX, "%s", n->smtpUrl);
        if (!notifyReadSecret(n, "password", n->passwordFile, n->passwordEnv, password, NOTIFY_SECRET_MAX, err))
            goto cleanup;
        body = notifyEmailText(n, m, lbNowNs() / 1000000);
    } else {
        if (!notifyReadSecret(n, "url", n->urlFile, n->urlEnv, url, NOTIFY_SECRET_MAX, err))
            goto cleanup;
        if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
            lbErr(err, LB_ERR_ARGS, "unable to send notification '%s': its URL is not an http:// or https:// URL",
                  n->name);
            goto cleanup;
        }
        body = n->kind == cfgNotifySlack ? notifySlackJson(m) : notifyWebhookJson(m);
    }
    if (body == NULL) {
        lbErr(err, LB_ERR_MEMORY, "unable to send notification '%s': unable to build the message", n->name);
        goto cleanup;
    }
    int64_t delay = 1000;
    for (int attempt = 0;; attempt++) {
        bool permanent = false;
        LbError e = {0};
        if (notifyAttempt(n, url, password, body, &permanent, &e)) {
            ok = true;
            break;
        }
        if (permanent || attempt >= n->retries) {
            char tries[32] = "";
            if (attempt > 0)
                snprintf(tries, sizeof(tries), " (%d attempts)", attempt + 1);
            lbErr(err, e.code, "unable to send notification '%s'%s: %s", n->name, tries, e.msg);
            break;
        }
        uint32_t r = 0;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
            r = (uint32_t)getpid();
        notifySleepMs(delay / 2 + (int64_t)(r % (uint32_t)(delay / 2 + 1))); /* jitter: [d/2, d] */
        delay = delay * 2 > NOTIFY_BACKOFF_MAX_MS ? NOTIFY_BACKOFF_MAX_MS : delay * 2;
    }
cleanup:
    if (url)
        explicit_bzero(url, NOTIFY_SECRET_MAX);
    if (password)
        explicit_bzero(password, NOTIFY_SECRET_MAX);
    free(url);
    free(password);
    free(body);
    return ok;
}

bool notifySendAll(const CfgFile *cfg, const NotifyMessage *m, size_t *sent, LbError *err) {
    size_t wanted = 0, ok = 0;
    for (size_t i = 0; i < cfg->notificationCount; i++) {
        const CfgNotification *n = &cfg->notifications[i];
        if (!notifyWants(n, m->event))
            continue;
        wanted++;
        LbError e = {0};
        if (notifySend(n, m, &e)) {
            ok++;
            continue;
        }
        fprintf(stderr, "lifeboat: %s\n", e.msg);
        if (ok + 1 == wanted && err)
            *err = e; /* the first failure */
    }
    if (sent)
        *sent = ok;
    if (wanted == 0)
        return lbErr(err, LB_ERR_NOT_FOUND, "no notification of '%s' receives the event '%s'", cfg->path, m->event);
    return ok == wanted;
}

/* ---- sending from a detached process ---- */

static void notifySender(const CfgNotification *const *ns, const NotifyMessage *msgs, size_t count) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the daemon blocks its signals for its signalfd */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_IGN);
    /* no descriptor of the parent stays open here (daemon.lock, run pipes, the history) */
    /* stdout to /dev/null (a pipe reading lifeboat's output sees its end when
     * lifeboat ends); stderr stays, for the sender's errors */
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    lbChildCloseFds(-1);
    int64_t budget = 0;
    for (size_t i = 0; i < count; i++)
        budget += (ns[i]->retries + 1) * (ns[i]->timeout + NOTIFY_BACKOFF_MAX_MS / 1000);
    alarm((unsigned)(budget + 10)); /* a hard stop whatever happens */
    for (size_t i = 0; i < count; i++) {
        LbError err = {0};
        if (!notifySend(ns[i], &msgs[i], &err))
            fprintf(stderr, "lifeboat: %s\n", err.msg);
    }
}

bool notifySpawn(const CfgNotification *const *notifications, const NotifyMessage *msgs, size_t count, LbError *err) {
    if (count == 0)
        return true;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return lbErrSys(err, "unable to start the notification sender");
    if (pid == 0) {
        setsid();
        pid_t g = fork();
        if (g == 0) {
            notifySender(notifications, msgs, count);
            _exit(0);
        }
        _exit(g < 0 ? 1 : 0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return lbErr(err, LB_ERR_GENERIC, "unable to start the notification sender");
    return true;
}
