/* file_notify.c - the configuration file's `notifications:` section
 * (config/file.h CfgNotification; docs/monitoring.md "Alerts"). A webhook's
 * URL and an SMTP password are secrets: the file names where they are (a file
 * or an environment variable), never the value itself. */
#include "config/file_int.h"

#include <string.h>

#include "common/buf.h"

#define NOTIFY_KEY_MAX 512

static const char *const notifyKinds[] = {"slack", "webhook", "email", NULL};
static const char *const notifyEvents[] = {"failure", "recovered", "missed",     "skipped", "rpo",
                                           "stale",   "drill",     "repository", "report",  NULL};
static const char *const notifyKeys[] = {
    "type", "events", "remind_every", "timeout",       "retries",      "url_file", "url_env",  "smtp_url",
    "from", "to",     "username",     "password_file", "password_env", "url",      "password", NULL};

static void notifyKeyPath(char *out, const char *path, const char *key) {
    int n = snprintf(out, NOTIFY_KEY_MAX, "%s.%s", path, key);
    if (n < 0 || n >= NOTIFY_KEY_MAX)
        memcpy(out + NOTIFY_KEY_MAX - 4, "...", 4);
}

static bool notifyKnown(const char *const *list, const char *s) {
    for (size_t i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* A secret's place: KEY_file (a readable file) or KEY_env (a variable's
 * name). A literal (KEY itself) is refused with a hint. */
static void notifySecret(CfgLoad *ld, yaml_node_t *map, const char *path, const char *key, bool required,
                         const char **file, const char **env) {
    char fk[64], ek[64], kp[NOTIFY_KEY_MAX];
    snprintf(fk, sizeof(fk), "%s_file", key);
    snprintf(ek, sizeof(ek), "%s_env", key);
    yaml_node_t *lit = cfgGet(ld, map, key), *fn = cfgGet(ld, map, fk), *en = cfgGet(ld, map, ek);
    if (lit) {
        notifyKeyPath(kp, path, key);
        cfgLoadError(ld, lit, kp,
                     "the %s is a secret and does not belong in the file: HINT: Put it in a file readable only by "
                     "lifeboat and name it with %s, or in an environment variable named by %s.",
                     key, fk, ek);
        return;
    }
    if (fn && en) {
        notifyKeyPath(kp, path, ek);
        cfgLoadError(ld, en, kp, "give %s or %s, not both", fk, ek);
        return;
    }
    if (fn) {
        /* read when sending, not here: a secret may be mounted after the
         * configuration is checked */
        CfgScalar s = cfgGetStr(ld, map, fk, path, true);
        *file = s.text;
    } else if (en) {
        CfgScalar s = cfgGetStr(ld, map, ek, path, true);
        notifyKeyPath(kp, path, ek);
        if (s.text && (!*s.text || strspn(s.text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
                                       strlen(s.text)))
            cfgLoadError(ld, en, kp, "'%s' is not an environment variable's name", s.text);
        *env = s.text;
    } else if (required) {
        cfgLoadError(ld, map, path, "missing key '%s' or '%s'", fk, ek);
    }
}

/* smtp://HOST:PORT or smtps://HOST:PORT, nothing else in it */
static bool notifySmtpUrlValid(const char *u) {
    const char *h = strncmp(u, "smtp://", 7) == 0 ? u + 7 : strncmp(u, "smtps://", 8) == 0 ? u + 8 : NULL;
    if (h == NULL || *h == '\0' || strchr(h, '@') || strchr(h, '?'))
        return false;
    const char *colon = strrchr(h, ':'), *slash = strchr(h, '/');
    if (slash && slash[1] != '\0')
        return false;
    if (colon == NULL || colon == h)
        return true; /* the scheme's port */
    char *end;
    long port = strtol(colon + 1, &end, 10);
    return port > 0 && port < 65536 && (*end == '\0' || *end == '/');
}

static bool notifyAddress(const char *s) {
    const char *at = strchr(s, '@');
    return at && at != s && at[1] && strpbrk(s, " \t\r\n<>,;\"") == NULL;
}

static void notifyLoadOne(CfgLoad *ld, CfgNotification *n, yaml_node_t *key, yaml_node_t *map, const char *path) {
    char kp[NOTIFY_KEY_MAX];
    n->name = (const char *)key->data.scalar.value;
    n->line = (int)key->start_mark.line + 1;
    n->remindEvery = 4 * 3600;
    n->timeout = 10;
    n->retries = 3;
    if (!cfgIsMap(ld, map, path))
        return;
    cfgCheckKeys(ld, map, path, notifyKeys, NULL, NULL);
    CfgScalar type = cfgGetStr(ld, map, "type", path, true);
    if (type.text) {
        int k = -1;
        for (int i = 0; notifyKinds[i]; i++)
            if (strcmp(notifyKinds[i], type.text) == 0)
                k = i;
        if (k < 0) {
            notifyKeyPath(kp, path, "type");
            cfgLoadError(ld, type.node, kp, "unknown type '%s' (use slack, webhook or email)", type.text);
        } else {
            n->kind = (CfgNotifyKind)k;
            n->kindName = notifyKinds[k];
        }
    }
    CfgScalar *items = NULL;
    if (cfgGetList(ld, map, "events", path, false, &n->events, &n->eventCount, &items)) {
        notifyKeyPath(kp, path, "events");
        for (size_t i = 0; i < n->eventCount; i++)
            if (n->events[i] && !notifyKnown(notifyEvents, n->events[i]))
                cfgLoadError(ld, items[i].node, kp,
                             "unknown event '%s' (use failure, recovered, missed, skipped, rpo, stale, drill, "
                             "repository, report)",
                             n->events[i]);
    }
    if (cfgGetSeconds(ld, map, "remind_every", path, &n->remindEvery) && n->remindEvery < 0)
        n->remindEvery = 0;
    if (cfgGetSeconds(ld, map, "timeout", path, &n->timeout) && (n->timeout < 1 || n->timeout > 600)) {
        notifyKeyPath(kp, path, "timeout");
        cfgLoadError(ld, cfgGet(ld, map, "timeout"), kp, "must be between 1s and 10m");
    }
    int64_t v;
    if (cfgGetInt(ld, map, "retries", path, 0, 10, &v))
        n->retries = (int)v;
    if (n->kindName == NULL)
        return;
    static const char *const webKeys[] = {"url_file", "url_env", "url", NULL};
    static const char *const mailKeys[] = {"smtp_url",      "from",         "to",       "username",
                                           "password_file", "password_env", "password", NULL};
    const char *const *other = n->kind == cfgNotifyEmail ? webKeys : mailKeys;
    for (size_t i = 0; other[i]; i++) {
        yaml_node_t *o = cfgGet(ld, map, other[i]);
        if (o) {
            notifyKeyPath(kp, path, other[i]);
            cfgLoadError(ld, o, kp, "not a key of a %s notification", n->kindName);
        }
    }
    if (n->kind != cfgNotifyEmail) {
        notifySecret(ld, map, path, "url", true, &n->urlFile, &n->urlEnv);
        return;
    }
    CfgScalar s = cfgGetStr(ld, map, "smtp_url", path, true);
    if (s.text && !notifySmtpUrlValid(s.text)) {
        notifyKeyPath(kp, path, "smtp_url");
        /* not echoed: what is refused may hold credentials (smtp://USER:PASSWORD@HOST) */
        cfgLoadError(ld, s.node, kp,
                     "is not smtp://HOST:PORT or smtps://HOST:PORT (credentials go in username and password_file or "
                     "password_env, not in the URL)");
    }
    n->smtpUrl = s.text;
    s = cfgGetStr(ld, map, "from", path, true);
    if (s.text && !notifyAddress(s.text)) {
        notifyKeyPath(kp, path, "from");
        cfgLoadError(ld, s.node, kp, "'%s' is not an email address", s.text);
    }
    n->from = s.text;
    if (cfgGetList(ld, map, "to", path, true, &n->to, &n->toCount, &items)) {
        notifyKeyPath(kp, path, "to");
        for (size_t i = 0; i < n->toCount; i++)
            if (n->to[i] && !notifyAddress(n->to[i]))
                cfgLoadError(ld, items[i].node, kp, "'%s' is not an email address", n->to[i]);
    }
    n->username = cfgGetStr(ld, map, "username", path, false).text;
    notifySecret(ld, map, path, "password", false, &n->passwordFile, &n->passwordEnv);
    if ((n->passwordFile || n->passwordEnv) && n->username == NULL)
        cfgLoadError(ld, map, path, "a password without a username: add 'username'");
}

void cfgLoadNotifications(CfgLoad *ld, yaml_node_t *node) {
    if (node == NULL || cfgIsNull(node) || !cfgIsMap(ld, node, "notifications"))
        return;
    size_t count = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    CfgFile *f = ld->file;
    f->notifications = (CfgNotification *)cfgLoadKeep(ld, lbXcalloc(count + 1, sizeof(CfgNotification)));
    cfgCheckKeys(ld, node, "notifications", NULL, NULL, NULL);
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cfgNode(ld, p->key);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        const char *name = (const char *)k->data.scalar.value;
        char path[NOTIFY_KEY_MAX];
        notifyKeyPath(path, "notifications", name);
        if (!*name ||
            strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != strlen(name)) {
            cfgLoadError(ld, k, path, "a name of letters, digits, '_', '.' and '-' only");
            continue;
        }
        notifyLoadOne(ld, &f->notifications[f->notificationCount++], k, cfgNode(ld, p->value), path);
    }
}
