/* file_show.c - config show: the effective configuration as YAML, every
 * default filled in and every secret redacted (see file.h). */
#include "config/file_int.h"

#include <string.h>

/* a YAML double-quoted scalar */
static void quoted(FILE *out, const char *s) {
    fputc('"', out);
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if ((unsigned char)*p < 0x20)
            fprintf(out, "\\x%02x", (unsigned char)*p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* 1h30m, 2w, 0s */
static void duration(FILE *out, const char *indent, const char *key, int64_t s) {
    static const struct {
        int64_t seconds;
        char unit;
    } units[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    fprintf(out, "%s%s: ", indent, key);
    if (s == 0)
        fputs("0s", out);
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (s >= units[i].seconds) {
            fprintf(out, "%lld%c", (long long)(s / units[i].seconds), units[i].unit);
            s %= units[i].seconds;
        }
    fputc('\n', out);
}

static void policy(FILE *out, const char *in, const CfgRunPolicy *p) {
    static const char *const conc[] = {"Forbid", "Allow", "Replace"};
    fprintf(out, "%sschedule: ", in);
    if (p->schedule)
        quoted(out, p->schedule);
    else
        fputs("null", out);
    fprintf(out, "\n%stimezone: %s\n%sconcurrency_policy: %s\n", in, p->timezone, in, conc[p->concurrency]);
    duration(out, in, "starting_deadline", p->startingDeadline);
    fprintf(out, "%sretries: %d\n", in, p->retries);
    duration(out, in, "backoff", p->backoff);
    duration(out, in, "backoff_max", p->backoffMax);
    duration(out, in, "timeout", p->timeout);
    duration(out, in, "kill_after", p->killAfter);
    fprintf(out, "%scatch_up: %s\n", in, p->catchUp ? "true" : "false");
    fprintf(out, "%ssuccessful_history_limit: %d\n%sfailed_history_limit: %d\n", in, p->successfulHistoryLimit, in,
            p->failedHistoryLimit);
    duration(out, in, "history_max_age", p->historyMaxAge);
}

/* an argument vector, one item a line */
static void args(FILE *out, const char *in, const char *key, const CfgArgs *a) {
    fprintf(out, "%s%s:%s\n", in, key, a->n ? "" : " []");
    for (size_t i = 0; i < a->n; i++) {
        fprintf(out, "%s  - ", in);
        quoted(out, a->v[i]);
        fputc('\n', out);
    }
}

static void list(FILE *out, const char *in, const char *key, const char *const *v, size_t n) {
    fprintf(out, "%s%s: [", in, key);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", out);
        quoted(out, v[i] ? v[i] : "");
    }
    fputs("]\n", out);
}

/* notifications: where each secret comes from, never its value */
static void notifications(FILE *out, const CfgFile *f) {
    fputs(f->notificationCount ? "notifications:\n" : "notifications: {}\n", out);
    for (size_t i = 0; i < f->notificationCount; i++) {
        const CfgNotification *n = &f->notifications[i];
        fprintf(out, "  %s:\n    type: %s\n", n->name, n->kindName ? n->kindName : "");
        if (n->events)
            list(out, "    ", "events", n->events, n->eventCount);
        else
            fputs("    events: [failure, recovered, missed, skipped, rpo, stale, drill, repository]\n", out);
        duration(out, "    ", "remind_every", n->remindEvery);
        duration(out, "    ", "timeout", n->timeout);
        fprintf(out, "    retries: %d\n", n->retries);
        const struct {
            const char *key, *value;
        } kv[] = {{"url_file", n->urlFile},        {"url_env", n->urlEnv},
                  {"smtp_url", n->smtpUrl},        {"from", n->from},
                  {"username", n->username},       {"password_file", n->passwordFile},
                  {"password_env", n->passwordEnv}};
        for (size_t k = 0; k < sizeof(kv) / sizeof(kv[0]); k++)
            if (kv[k].value) {
                fprintf(out, "    %s: ", kv[k].key);
                quoted(out, kv[k].value);
                fputc('\n', out);
            }
        if (n->kind == cfgNotifyEmail)
            list(out, "    ", "to", n->to, n->toCount);
    }
}

/* monitoring: every key, null when not set */
static void monitoringShow(FILE *out, const CfgMonitoring *m) {
    const char *keys[] = {"listen", "token_file", "textfile"};
    const char *values[] = {m->listen, m->tokenFile, m->textfile};
    fputs("monitoring:\n", out);
    for (size_t i = 0; i < 3; i++) {
        fprintf(out, "  %s: ", keys[i]);
        if (values[i])
            quoted(out, values[i]);
        else
            fputs("null", out);
        fputc('\n', out);
    }
    duration(out, "  ", "refresh", m->refresh);
}

bool cfgFileShow(const CfgFile *f, FILE *out, LbError *err) {
    fputs("name: ", out);
    quoted(out, f->name);
    fputs("\nhost: ", out);
    quoted(out, f->host);
    fputs("\nstate: ", out);
    quoted(out, f->stateDir);
    fputs("\nrepositories:\n", out);
    for (size_t i = 0; i < f->repositoryCount; i++) {
        const CfgFileRepository *r = &f->repositories[i];
        fprintf(out, "  %s:\n    default: %s\n", r->name, r->isDefault ? "true" : "false");
        args(out, "    ", "arguments", &r->shown);
    }
    fputs("components:\n", out);
    for (size_t i = 0; i < f->componentCount; i++) {
        const CfgComponent *c = &f->components[i];
        fprintf(out, "  %s:\n    type: %s\n    repository: %s\n    host: ", c->name, c->typeName, c->repository);
        quoted(out, c->host);
        fputc('\n', out);
        list(out, "    ", "tags", c->tags, c->tagCount);
        args(out, "    ", "backup", &c->backupShown);
        args(out, "    ", "retention", &c->retentionArgs);
        fputs("    objectives:\n", out);
        if (c->rpo >= 0)
            duration(out, "      ", "rpo", c->rpo);
        if (c->rto >= 0)
            duration(out, "      ", "rto", c->rto);
        if (c->recoveryTarget || c->recoveryStart || c->recoveryPort || c->recoveryScratch) {
            fputs("    recovery:\n", out);
            if (c->recoveryTarget) {
                fputs("      target: ", out);
                quoted(out, c->recoveryTarget);
                fputc('\n', out);
            }
            if (c->recoveryStart)
                fputs("      start: true\n", out);
            if (c->recoveryPort)
                fprintf(out, "      port: %lld\n", (long long)c->recoveryPort);
            if (c->recoveryScratch) {
                fputs("      scratch: ", out);
                quoted(out, c->recoveryScratch);
                fputc('\n', out);
            }
        }
        if (c->verifySqlCount) {
            fputs("    verify:\n", out);
            list(out, "      ", "sql", c->verifySql, c->verifySqlCount);
        }
        if (c->consistencyQuery) {
            fputs("    consistency:\n      query: ", out);
            quoted(out, c->consistencyQuery);
            fputs("\n      bucket: ", out);
            quoted(out, c->consistencyBucket);
            fputc('\n', out);
        }
        policy(out, "    ", &c->run);
    }
    fputs("jobs:\n", out);
    for (size_t i = 0; i < f->jobCount; i++) {
        const CfgJob *j = &f->jobs[i];
        fprintf(out, "  %s:\n    type: %s\n", j->name, j->typeName);
        list(out, "    ", "components", j->components, j->componentCount);
        if (j->repository)
            fprintf(out, "    repository: %s\n", j->repository);
        if (j->to)
            fprintf(out, "    to: %s\n", j->to);
        if (j->copyTo)
            fprintf(out, "    copy_to: %s\n", j->copyTo);
        args(out, "    ", "arguments", &j->args);
        policy(out, "    ", &j->run);
    }
    monitoringShow(out, &f->monitoring);
    notifications(out, f);
    if (ferror(out) || fflush(out) != 0)
        return lbErrSys(err, "unable to write the configuration");
    return true;
}
