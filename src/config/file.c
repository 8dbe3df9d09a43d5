/* file.c - the configuration file: schema, defaults and cross-references
 * (see file.h; YAML helpers in file_yaml.c, keys as arguments in
 * file_args.c, config show in file_show.c). */
#include "config/file_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched/cron.h"

#define PATH_MAX_KEY 512

static const char *const topKeys[] = {"name",       "host", "state",         "defaults",   "repositories",
                                      "components", "jobs", "notifications", "monitoring", NULL};
static const char *const policyKeys[] = {"schedule",
                                         "timezone",
                                         "concurrency_policy",
                                         "starting_deadline",
                                         "retries",
                                         "backoff",
                                         "backoff_max",
                                         "timeout",
                                         "kill_after",
                                         "catch_up",
                                         "successful_history_limit",
                                         "failed_history_limit",
                                         "history_max_age",
                                         NULL};
static const char *const repoKeys[] = {"url", "default", "password_file", "password_command", "s3", NULL};
static const char *const compTypes[] = {"postgres", "postgres-physical", "files", "bucket", "command", NULL};
static const char *const jobTypes[] = {"backup", "copy", "forget", "prune", "check", "drill", "report", NULL};
static const char *const concurrencyNames[] = {"Forbid", "Allow", "Replace", NULL};

/* the keys of a component or job beyond the run policy (per type) */
static const char *const compKeys[] = {"type",     "repository",  "host",    "tags",   "retention", "objectives",
                                       "recovery", "connection",  "paths",   "bucket", "command",   "filename",
                                       "verify",   "consistency", "primary", NULL};
/* issue 14: wal-stream run by the daemon (postgres-physical) */
static const char *const streamKeys[] = {"stream", "slot", NULL};
static const char *const jobKeys[] = {"type", "components", "copy_to", "repository", "to", NULL};

static int indexOf(const char *const *list, const char *s) {
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return i;
    return -1;
}

/* known = a ∪ b (NULL-terminated, static storage of at most 48) */
static const char *const *joinKeys(const char **buf, const char *const *a, const char *const *b) {
    size_t n = 0;
    for (size_t i = 0; a[i]; i++)
        buf[n++] = a[i];
    for (size_t i = 0; b && b[i]; i++)
        buf[n++] = b[i];
    buf[n] = NULL;
    return buf;
}

static void keyPath(char *out, const char *path, const char *key) {
    int n = snprintf(out, PATH_MAX_KEY, "%s%s%s", path, *path ? "." : "", key);
    if (n < 0 || n >= PATH_MAX_KEY)
        memcpy(out + PATH_MAX_KEY - 4, "...", 4); /* names are short: only a hostile file gets here */
}

static bool validName(const char *s) {
    return *s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == strlen(s);
}

/* `type:` of a component or job: its index in types, -1 when missing or
 * unknown (reported) */
static int readType(CfgLoad *ld, yaml_node_t *map, const char *path, const char *const *types, const char *what,
                    CfgScalar *type) {
    char kp[PATH_MAX_KEY], list[160] = "";
    *type = cfgGetStr(ld, map, "type", path, true);
    int t = type->text ? indexOf(types, type->text) : -1;
    if (type->text == NULL || t >= 0)
        return t;
    for (int i = 0; types[i]; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof(list) - l, "%s%s", i == 0 ? "" : types[i + 1] ? ", " : " or ", types[i]);
    }
    keyPath(kp, path, "type");
    cfgLoadError(ld, type->node, kp, "'%s' is not a %s type (use %s)", type->text, what, list);
    return -1;
}

/* ---- run policy ---- */

static const CfgRunPolicy policyDefaults = {
    .timezone = "UTC",
    .concurrency = cfgConcurrencyForbid,
    .retries = 2,
    .backoff = 30,
    .backoffMax = 600,
    .killAfter = 30,
    .catchUp = true,
    .successfulHistoryLimit = -1,
    .failedHistoryLimit = -1,
    .historyMaxAge = 400 * 86400,
};

static void readPolicy(CfgLoad *ld, yaml_node_t *map, const char *path, const CfgRunPolicy *base, CfgRunPolicy *out) {
    *out = *base;
    char kp[PATH_MAX_KEY];
    CfgScalar tz = cfgGetStr(ld, map, "timezone", path, false);
    bool tzOk = true;
    if (tz.text) {
        LbError e = {0};
        keyPath(kp, path, "timezone");
        tzOk = cronTimezoneValid(tz.text, &e);
        if (!tzOk)
            cfgLoadError(ld, tz.node, kp, "%s", e.msg);
        else
            out->timezone = tz.text;
    }
    CfgScalar sch = cfgGetStr(ld, map, "schedule", path, false);
    if (sch.text) {
        LbError e = {0};
        keyPath(kp, path, "schedule");
        CronSchedule *c = cronParse(sch.text, tzOk ? out->timezone : NULL, &e);
        int64_t next;
        if (c == NULL)
            cfgLoadError(ld, sch.node, kp, "'%s' is not a cron expression: %s", sch.text, e.msg);
        else if (!cronNext(c, (int64_t)time(NULL), &next))
            cfgLoadError(ld, sch.node, kp, "'%s' never fires (a year in the past, or a date that does not exist)",
                         sch.text);
        else
            out->schedule = sch.text;
        cronFree(c);
    }
    CfgScalar cp = cfgGetStr(ld, map, "concurrency_policy", path, false);
    if (cp.text) {
        int i = indexOf(concurrencyNames, cp.text);
        keyPath(kp, path, "concurrency_policy");
        if (i < 0)
            cfgLoadError(ld, cp.node, kp, "'%s' is not a concurrency policy (use Forbid, Allow or Replace)", cp.text);
        else
            out->concurrency = (CfgConcurrency)i;
    }
    int64_t v;
    cfgGetSeconds(ld, map, "starting_deadline", path, &out->startingDeadline);
    if (cfgGetInt(ld, map, "retries", path, 0, 100, &v))
        out->retries = (int)v;
    cfgGetSeconds(ld, map, "backoff", path, &out->backoff);
    cfgGetSeconds(ld, map, "backoff_max", path, &out->backoffMax);
    cfgGetSeconds(ld, map, "timeout", path, &out->timeout);
    cfgGetSeconds(ld, map, "kill_after", path, &out->killAfter);
    cfgGetBool(ld, map, "catch_up", path, &out->catchUp);
    if (cfgGetInt(ld, map, "successful_history_limit", path, -1, 1000000, &v))
        out->successfulHistoryLimit = (int)v;
    if (cfgGetInt(ld, map, "failed_history_limit", path, -1, 1000000, &v))
        out->failedHistoryLimit = (int)v;
    cfgGetSeconds(ld, map, "history_max_age", path, &out->historyMaxAge);
}

/* ---- repositories ---- */

/* the repository-scoped option whose fileKey is repositories.NAME.<sub> */
static CfgOptionId repoOption(const char *sub) {
    char want[128];
    snprintf(want, sizeof(want), "repositories.NAME.%s", sub);
    for (int i = 0; i < CFG_OPTION_COUNT; i++)
        if (cfgOptionTable[i].scope == cfgScopeRepository && cfgOptionTable[i].fileKey &&
            strcmp(cfgOptionTable[i].fileKey, want) == 0)
            return (CfgOptionId)i;
    return cfgOptNone;
}

static bool s3Key(void *ctx, const char *key) {
    (void)ctx;
    char sub[96];
    snprintf(sub, sizeof(sub), "s3.%s", key);
    return repoOption(sub) != cfgOptNone;
}

static void addRepoArg(CfgLoad *ld, CfgArgBuild *main, CfgArgBuild *from, CfgOptionId id, yaml_node_t *val,
                       const char *kp, bool secret) {
    size_t before = main->n;
    cfgOptionToArgs(ld, main, id, val, kp, secret);
    for (size_t i = before; i < main->n; i++) {
        char *f = lbXasprintf("--from-%s", main->v[i] + 2);
        char *fs = lbXasprintf("--from-%s", main->shown[i] + 2);
        cfgArgAdd(ld, from, f, fs, main->node[i], main->key[i]);
        free(f);
        free(fs);
    }
}

static void readRepository(CfgLoad *ld, yaml_node_t *key, yaml_node_t *map, CfgFileRepository *r, int *defaults) {
    char path[PATH_MAX_KEY], kp[PATH_MAX_KEY];
    snprintf(path, sizeof(path), "repositories.%s", r->name);
    r->line = (int)key->start_mark.line + 1;
    if (!cfgIsMap(ld, map, path))
        return;
    cfgCheckKeys(ld, map, path, repoKeys, NULL, NULL);
    CfgArgBuild b = {0}, f = {0};
    yaml_node_t *url = cfgGet(ld, map, "url");
    keyPath(kp, path, "url");
    if (cfgIsNull(url))
        cfgLoadError(ld, url ? url : key, url ? kp : path, url ? "a value is required" : "missing key 'url'");
    else
        addRepoArg(ld, &b, &f, cfgOptRepo, url, kp, false);
    bool def = false;
    if (cfgGetBool(ld, map, "default", path, &def) && def) {
        r->isDefault = true;
        (*defaults)++;
    }
    yaml_node_t *pf = cfgGet(ld, map, "password_file"), *pc = cfgGet(ld, map, "password_command");
    if (pf && pc) {
        keyPath(kp, path, "password_command");
        cfgLoadError(ld, pc, kp, "give password_file or password_command, not both");
    } else if (pf) {
        keyPath(kp, path, "password_file");
        CfgScalar s = cfgScalar(ld, pf, kp);
        if (s.text && access(s.text, R_OK) != 0)
            cfgLoadError(ld, pf, kp, "unable to read password file '%s': %s", s.text, strerror(errno));
        else if (s.text)
            addRepoArg(ld, &b, &f, cfgOptPasswordFile, pf, kp, false);
        else if (cfgIsNull(pf))
            cfgLoadError(ld, pf, kp, "a value is required");
    } else if (pc) {
        keyPath(kp, path, "password_command");
        if (cfgIsNull(pc))
            cfgLoadError(ld, pc, kp, "a value is required");
        else
            addRepoArg(ld, &b, &f, cfgOptPasswordCommand, pc, kp, true);
    } else {
        cfgLoadError(ld, key, path, "missing key 'password_file' or 'password_command'");
    }
    yaml_node_t *s3 = cfgGet(ld, map, "s3");
    keyPath(kp, path, "s3");
    if (cfgIsMap(ld, s3, kp) && s3 && s3->type == YAML_MAPPING_NODE) {
        cfgCheckKeys(ld, s3, kp, NULL, s3Key, NULL);
        for (yaml_node_pair_t *p = s3->data.mapping.pairs.start; p < s3->data.mapping.pairs.top; p++) {
            yaml_node_t *k = cfgNode(ld, p->key);
            if (k->type != YAML_SCALAR_NODE || !s3Key(NULL, (const char *)k->data.scalar.value))
                continue;
            char sub[96], skp[PATH_MAX_KEY];
            snprintf(sub, sizeof(sub), "s3.%s", (const char *)k->data.scalar.value);
            keyPath(skp, path, sub);
            addRepoArg(ld, &b, &f, repoOption(sub), cfgNode(ld, p->value), skp, true);
        }
    }
    /* every value as cfgParse reads it (snapshots takes the repository's options) */
    cfgArgsValidate(ld, NULL, "snapshots", &b, key, path);
    r->args = cfgArgsOf(ld, &b, false);
    r->shown = cfgArgsOf(ld, &b, true);
    r->fromArgs = cfgArgsOf(ld, &f, false);
    cfgArgBuildFree(&b);
    cfgArgBuildFree(&f);
}

static void readRepositories(CfgLoad *ld, yaml_node_t *map) {
    CfgFile *file = ld->file;
    if (!cfgIsMap(ld, map, "repositories"))
        return;
    if (cfgIsNull(map) || map->data.mapping.pairs.top == map->data.mapping.pairs.start) {
        cfgLoadError(ld, map, "repositories", "at least one repository is required");
        return;
    }
    cfgCheckKeys(ld, map, "repositories", NULL, NULL, NULL); /* duplicates only: names are free */
    size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    file->repositories = (CfgFileRepository *)cfgLoadKeep(ld, lbXcalloc(n + 1, sizeof(CfgFileRepository)));
    int defaults = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];
        yaml_node_t *k = cfgNode(ld, p->key);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        CfgFileRepository *r = &file->repositories[file->repositoryCount++];
        r->name = (const char *)k->data.scalar.value;
        if (!validName(r->name))
            cfgLoadError(ld, k, "repositories", "'%s' is not a valid name (letters, digits, '_', '.', '-')", r->name);
        readRepository(ld, k, cfgNode(ld, p->value), r, &defaults);
    }
    if (file->repositoryCount == 1)
        file->repositories[0].isDefault = true;
    else if (defaults == 0)
        cfgLoadError(ld, map, "repositories", "no default repository: mark one with 'default: true'");
    else if (defaults > 1)
        cfgLoadError(ld, map, "repositories", "%d repositories say 'default: true': exactly one may", defaults);
}

static const CfgFileRepository *repoRef(CfgLoad *ld, CfgScalar s, const char *kp) {
    if (s.text == NULL)
        return cfgFileRepository(ld->file, NULL);
    const CfgFileRepository *r = cfgFileRepository(ld->file, s.text);
    if (r == NULL)
        cfgLoadError(ld, s.node, kp, "unknown repository '%s'", s.text);
    return r;
}

/* ---- components ---- */

typedef struct OptFilter {
    CfgCommand cmd;
    bool retention;
    bool job; /* a copy job may select snapshots by tag, host, component */
} OptFilter;

/* options set by the loader itself, never by a key of their own name */
static bool reservedOption(CfgOptionId id) {
    static const CfgOptionId ids[] = {cfgOptTag,
                                      cfgOptHost,
                                      cfgOptComponent,
                                      cfgOptTime,
                                      cfgOptRecoveryPoint,
                                      cfgOptStdin,
                                      cfgOptStdinFromCommand,
                                      cfgOptStdinFilename,
                                      cfgOptPg,
                                      cfgOptPgPhysical,
                                      cfgOptParent,
                                      cfgOptConfig,
                                      cfgOptHelp};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (ids[i] == id)
            return true;
    return false;
}

/* a key naming an option of f->cmd (retention: a --keep-* option of forget) */
static bool optionKey(void *ctx, const char *key) {
    const OptFilter *f = ctx;
    CfgOptionId id = cfgOptionOfKey(key);
    /* a copy job may select what it copies; forget runs name the component and host themselves */
    bool selects = f->job && f->cmd == cfgCmdCopy && (id == cfgOptTag || id == cfgOptHost || id == cfgOptComponent);
    if (id == cfgOptNone || cfgOptionTable[id].scope != cfgScopeCommand || (reservedOption(id) && !selects) ||
        (cfgOptionTable[id].flags & CFG_OPT_HIDDEN))
        return false;
    bool keep = strncmp(key, "keep_", 5) == 0;
    if (f->retention)
        return keep && cfgOptionAccepted(id, cfgCmdForget, false);
    if (!f->job && f->cmd != cfgCmdNone) /* a component: any backup variant's (other variants' are refused later) */
        return !keep && (cfgOptionAccepted(id, cfgCmdBackup, false) || cfgOptionAccepted(id, cfgCmdBackupPg, false) ||
                         cfgOptionAccepted(id, cfgCmdBackupPgPhysical, false));
    return !keep && f->cmd != cfgCmdNone && cfgOptionAccepted(id, f->cmd, false);
}

/* an option of another backup variant than the component's */
static bool otherVariant(CfgLoad *ld, const OptFilter *f, yaml_node_t *key, const char *kp, CfgOptionId id) {
    if (f->job || f->retention || cfgOptionAccepted(id, f->cmd, false))
        return false;
    static const CfgCommand variants[] = {cfgCmdBackup, cfgCmdBackupPg, cfgCmdBackupPgPhysical};
    static const char *const types[] = {"files, bucket or command", "postgres", "postgres-physical"};
    for (size_t i = 0; i < 3; i++)
        if (cfgOptionAccepted(id, variants[i], false)) {
            cfgLoadError(ld, key, kp, "not a key of this component's type (it applies to %s components)", types[i]);
            break;
        }
    return true;
}

static void addOptionKeys(CfgLoad *ld, CfgArgBuild *b, yaml_node_t *map, const char *path, OptFilter *f) {
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cfgNode(ld, p->key);
        if (k->type != YAML_SCALAR_NODE || !optionKey(f, (const char *)k->data.scalar.value))
            continue;
        char kp[PATH_MAX_KEY];
        keyPath(kp, path, (const char *)k->data.scalar.value);
        CfgOptionId id = cfgOptionOfKey((const char *)k->data.scalar.value);
        if (!otherVariant(ld, f, k, kp, id))
            cfgOptionToArgs(ld, b, id, cfgNode(ld, p->value), kp, true);
    }
}

/* A connection string with a password written into it (not from ${NAME}). */
static bool literalPassword(const char *raw) {
    const char *scheme = strstr(raw, "://");
    if (scheme) {
        const char *at = strchr(scheme + 3, '@'), *slash = strchr(scheme + 3, '/');
        const char *colon = strchr(scheme + 3, ':');
        if (at && (slash == NULL || at < slash) && colon && colon < at && strncmp(colon + 1, "${", 2) != 0)
            return true;
    }
    for (const char *p = raw; (p = strstr(p, "password")) != NULL; p += 8) {
        const char *q = p + 8;
        while (*q == ' ')
            q++;
        if (*q == '=') {
            q++;
            while (*q == ' ' || *q == '\'')
                q++;
            if (strncmp(q, "${", 2) != 0)
                return true;
        }
    }
    return false;
}

/* A connection string key (connection, primary) as FLAG VALUE: refused
 * when it holds a literal password. */
static void connectionArgs(CfgLoad *ld, yaml_node_t *map, const char *path, const char *key, const char *flag,
                           bool required, CfgArgBuild *b) {
    char kp[PATH_MAX_KEY];
    keyPath(kp, path, key);
    CfgScalar s = cfgGetStr(ld, map, key, path, required);
    yaml_node_t *n = cfgGet(ld, map, key);
    if (s.text && n && literalPassword((const char *)n->data.scalar.value)) {
        cfgLoadError(ld, n, kp,
                     "a password in the connection string: HINT: Use a password file (PGPASSFILE, ~/.pgpass), "
                     "the libpq environment (PGPASSWORD from a secret) or a ${NAME} reference.");
    } else if (s.text) {
        cfgArgAdd(ld, b, flag, NULL, n, kp);
        cfgArgAdd(ld, b, s.text, s.fromEnv ? "<redacted>" : NULL, n, kp);
    }
}

/* components.NAME.primary: the primary of a postgres-physical component
 * whose connection names a standby (--pg-primary) */
static void primaryArgs(CfgLoad *ld, const CfgComponent *c, yaml_node_t *map, const char *path, CfgArgBuild *b) {
    yaml_node_t *n = cfgGet(ld, map, "primary");
    if (n == NULL)
        return;
    if (c->type == cfgCompPostgresPhysical) {
        connectionArgs(ld, map, path, "primary", "--pg-primary", false, b);
        return;
    }
    char kp[PATH_MAX_KEY];
    keyPath(kp, path, "primary");
    cfgLoadError(ld, n, kp, "only a postgres-physical component has a primary");
}

static void sourceArgs(CfgLoad *ld, CfgComponent *c, yaml_node_t *map, const char *path, CfgArgBuild *b,
                       CfgArgBuild *tail) {
    char kp[PATH_MAX_KEY];
    primaryArgs(ld, c, map, path, b);
    if (c->type == cfgCompPostgres || c->type == cfgCompPostgresPhysical) {
        if (c->type == cfgCompPostgresPhysical)
            cfgArgAdd(ld, b, "--pg-physical", NULL, NULL, path);
        connectionArgs(ld, map, path, "connection", "--pg", c->type == cfgCompPostgres, b);
    } else if (c->type == cfgCompFiles) {
        const char *const *paths;
        size_t n;
        if (cfgGetList(ld, map, "paths", path, true, &paths, &n, NULL)) {
            cfgArgAdd(ld, tail, "--", NULL, NULL, path);
            keyPath(kp, path, "paths");
            for (size_t i = 0; i < n; i++)
                cfgArgAdd(ld, tail, paths[i], NULL, cfgGet(ld, map, "paths"), kp);
        }
    } else if (c->type == cfgCompBucket) {
        CfgScalar s = cfgGetStr(ld, map, "bucket", path, true);
        keyPath(kp, path, "bucket");
        if (s.text && strncmp(s.text, "s3:", 3) != 0)
            cfgLoadError(ld, s.node, kp, "'%s' is not a bucket (use s3:BUCKET[/PREFIX] or s3:https://HOST/BUCKET)",
                         s.text);
        else if (s.text) {
            cfgArgAdd(ld, tail, "--", NULL, NULL, path);
            cfgArgAdd(ld, tail, s.text, NULL, s.node, kp);
        }
    } else {
        const char *const *argv;
        size_t n;
        CfgScalar *items;
        cfgArgAdd(ld, b, "--stdin-from-command", NULL, NULL, path);
        CfgScalar fn = cfgGetStr(ld, map, "filename", path, false);
        if (fn.text) {
            char *a = lbXasprintf("--stdin-filename=%s", fn.text);
            keyPath(kp, path, "filename");
            cfgArgAdd(ld, b, a, NULL, fn.node, kp);
            free(a);
        }
        if (cfgGetList(ld, map, "command", path, true, &argv, &n, &items)) {
            cfgArgAdd(ld, tail, "--", NULL, NULL, path);
            keyPath(kp, path, "command");
            for (size_t i = 0; i < n; i++)
                cfgArgAdd(ld, tail, argv[i], items[i].fromEnv ? "<redacted>" : NULL, items[i].node, kp);
        }
    }
    /* source keys of other types are mistakes */
    static const char *const srcKeys[] = {"connection", "paths", "bucket", "command", "filename", NULL};
    static const CfgComponentType owner[] = {cfgCompPostgres, cfgCompFiles, cfgCompBucket, cfgCompCommand,
                                             cfgCompCommand};
    for (int i = 0; srcKeys[i]; i++) {
        yaml_node_t *n = cfgGet(ld, map, srcKeys[i]);
        bool mine = owner[i] == c->type || (i == 0 && c->type == cfgCompPostgresPhysical);
        if (n && !mine) {
            keyPath(kp, path, srcKeys[i]);
            cfgLoadError(ld, n, kp, "not a key of a '%s' component", c->typeName);
        }
    }
}

static void readRetention(CfgLoad *ld, CfgComponent *c, yaml_node_t *map, const char *path) {
    char kp[PATH_MAX_KEY];
    keyPath(kp, path, "retention");
    yaml_node_t *r = cfgGet(ld, map, "retention");
    if (!cfgIsMap(ld, r, kp))
        return;
    OptFilter f = {cfgCmdForget, true};
    cfgCheckKeys(ld, r, kp, NULL, optionKey, &f);
    CfgArgBuild b = {0};
    addOptionKeys(ld, &b, r, kp, &f);
    cfgArgsValidate(ld, NULL, "forget", &b, r, kp);
    c->retentionArgs = cfgArgsOf(ld, &b, false);
    cfgArgBuildFree(&b);
}

static void readObjectives(CfgLoad *ld, CfgComponent *c, yaml_node_t *map, const char *path) {
    char kp[PATH_MAX_KEY];
    c->rpo = c->rto = -1;
    keyPath(kp, path, "objectives");
    yaml_node_t *o = cfgGet(ld, map, "objectives");
    if (cfgIsMap(ld, o, kp)) {
        static const char *const keys[] = {"rpo", "rto", NULL};
        cfgCheckKeys(ld, o, kp, keys, NULL, NULL);
        cfgGetSeconds(ld, o, "rpo", kp, &c->rpo);
        cfgGetSeconds(ld, o, "rto", kp, &c->rto);
    }
    keyPath(kp, path, "recovery");
    yaml_node_t *r = cfgGet(ld, map, "recovery");
    if (cfgIsMap(ld, r, kp)) {
        static const char *const keys[] = {"target", "start", "port", "scratch", NULL};
        cfgCheckKeys(ld, r, kp, keys, NULL, NULL);
        c->recoveryTarget = cfgGetStr(ld, r, "target", kp, false).text;
        cfgGetBool(ld, r, "start", kp, &c->recoveryStart);
        cfgGetInt(ld, r, "port", kp, 1, 65535, &c->recoveryPort);
        CfgScalar scratch = cfgGetStr(ld, r, "scratch", kp, false);
        c->recoveryScratch = scratch.text;
        if (scratch.text && strncmp(scratch.text, "s3:", 3) != 0)
            cfgLoadError(ld, scratch.node, kp, "scratch: expected an s3: location (a bucket or prefix for drills)");
    }
    bool isPg = c->type == cfgCompPostgres || c->type == cfgCompPostgresPhysical;
    keyPath(kp, path, "verify");
    yaml_node_t *v = cfgGet(ld, map, "verify");
    if (v && !isPg)
        cfgLoadError(ld, v, kp, "only a postgres or postgres-physical component has SQL checks");
    else if (cfgIsMap(ld, v, kp)) {
        static const char *const keys[] = {"sql", NULL};
        cfgCheckKeys(ld, v, kp, keys, NULL, NULL);
        cfgGetList(ld, v, "sql", kp, false, &c->verifySql, &c->verifySqlCount, NULL);
    }
    keyPath(kp, path, "consistency");
    yaml_node_t *k = cfgGet(ld, map, "consistency");
    if (k && !isPg)
        cfgLoadError(ld, k, kp, "only a postgres or postgres-physical component has a consistency check");
    else if (k && cfgIsMap(ld, k, kp)) {
        static const char *const keys[] = {"query", "bucket", NULL};
        cfgCheckKeys(ld, k, kp, keys, NULL, NULL);
        c->consistencyQuery = cfgGetStr(ld, k, "query", kp, true).text;
        c->consistencyBucket = cfgGetStr(ld, k, "bucket", kp, true).text;
        c->consistencyNode = cfgGet(ld, k, "bucket");
    }
}

/* stream: true and slot: (issue 14) */
static void readStream(CfgLoad *ld, CfgComponent *c, yaml_node_t *map, const char *path) {
    char kp[PATH_MAX_KEY];
    cfgGetBool(ld, map, "stream", path, &c->stream);
    CfgScalar slot = cfgGetStr(ld, map, "slot", path, false);
    c->streamSlot = slot.text;
    yaml_node_t *n = cfgGet(ld, map, "stream");
    keyPath(kp, path, "stream");
    if (n && c->type != cfgCompPostgresPhysical)
        cfgLoadError(ld, n, kp, "only a postgres-physical component streams its WAL");
    keyPath(kp, path, "slot");
    if (slot.node && !c->stream)
        cfgLoadError(ld, slot.node, kp, "slot: only with stream: true");
}

static void readComponent(CfgLoad *ld, yaml_node_t *key, yaml_node_t *map, CfgComponent *c,
                          const CfgRunPolicy *defaults) {
    char path[PATH_MAX_KEY], kp[PATH_MAX_KEY];
    snprintf(path, sizeof(path), "components.%s", c->name);
    c->line = (int)key->start_mark.line + 1;
    c->rpo = c->rto = -1;
    c->run = *defaults;
    if (!cfgIsMap(ld, map, path))
        return;
    CfgScalar type;
    int t = readType(ld, map, path, compTypes, "component", &type);
    c->type = t < 0 ? cfgCompFiles : (CfgComponentType)t;
    c->typeName = type.text ? type.text : "files";
    CfgCommand cmd = cfgCmdBackup;
    cfgComponentVerb(c, &cmd);
    OptFilter f = {t < 0 ? cfgCmdNone : cmd, false};
    const char *known[48], *known2[48];
    cfgCheckKeys(ld, map, path, joinKeys(known2, joinKeys(known, compKeys, policyKeys), streamKeys), optionKey, &f);
    keyPath(kp, path, "repository");
    const CfgFileRepository *repo = repoRef(ld, cfgGetStr(ld, map, "repository", path, false), kp);
    c->repository = repo ? repo->name : NULL;
    CfgScalar host = cfgGetStr(ld, map, "host", path, false);
    c->host = host.text ? host.text : ld->file->host;
    cfgGetList(ld, map, "tags", path, false, (const char *const **)&c->tags, &c->tagCount, NULL);
    readPolicy(ld, map, path, defaults, &c->run);
    readRetention(ld, c, map, path);
    readObjectives(ld, c, map, path);
    readStream(ld, c, map, path);
    if (t < 0)
        return;
    CfgArgBuild b = {0}, tail = {0};
    sourceArgs(ld, c, map, path, &b, &tail);
    cfgArgAdd(ld, &b, "--component", NULL, key, path);
    cfgArgAdd(ld, &b, c->name, NULL, key, path);
    cfgArgAdd(ld, &b, "--host", NULL, host.node ? host.node : key, path);
    cfgArgAdd(ld, &b, c->host, NULL, host.node ? host.node : key, path);
    for (size_t i = 0; i < c->tagCount; i++) {
        if (c->tags[i] == NULL)
            continue;
        keyPath(kp, path, "tags");
        cfgArgAdd(ld, &b, "--tag", NULL, cfgGet(ld, map, "tags"), kp);
        cfgArgAdd(ld, &b, c->tags[i], NULL, cfgGet(ld, map, "tags"), kp);
    }
    addOptionKeys(ld, &b, map, path, &f);
    for (size_t i = 0; i < tail.n; i++)
        cfgArgAdd(ld, &b, tail.v[i], tail.shown[i], tail.node[i], tail.key[i]);
    cfgArgsValidate(ld, repo ? &repo->args : NULL, "backup", &b, key, path);
    c->backupArgs = cfgArgsOf(ld, &b, false);
    c->backupShown = cfgArgsOf(ld, &b, true);
    cfgArgBuildFree(&b);
    cfgArgBuildFree(&tail);
}

/* ---- jobs ---- */

static void componentRefs(CfgLoad *ld, CfgJob *j, yaml_node_t *map, const char *path, bool required) {
    CfgScalar *items = NULL;
    char kp[PATH_MAX_KEY];
    keyPath(kp, path, "components");
    cfgGetList(ld, map, "components", path, required, (const char *const **)&j->components, &j->componentCount, &items);
    for (size_t i = 0; i < j->componentCount; i++)
        if (items[i].text && cfgFileComponent(ld->file, items[i].text) == NULL)
            cfgLoadError(ld, items[i].node, kp, "unknown component '%s'", items[i].text);
}

static void readJob(CfgLoad *ld, yaml_node_t *key, yaml_node_t *map, CfgJob *j, const CfgRunPolicy *defaults) {
    char path[PATH_MAX_KEY], kp[PATH_MAX_KEY];
    snprintf(path, sizeof(path), "jobs.%s", j->name);
    j->line = (int)key->start_mark.line + 1;
    j->run = *defaults;
    if (!cfgIsMap(ld, map, path))
        return;
    CfgScalar type;
    int t = readType(ld, map, path, jobTypes, "job", &type);
    j->type = t < 0 ? cfgJobReport : (CfgJobType)t;
    j->typeName = type.text ? type.text : "report";
    CfgCommand cmd = cfgCmdNone;
    const char *verb = t < 0 ? NULL : cfgJobVerb(j, &cmd);
    if (j->type == cfgJobBackup)
        verb = NULL, cmd = cfgCmdNone; /* a backup job runs its components' backups */
    OptFilter f = {cmd, false, true};
    const char *known[48];
    cfgCheckKeys(ld, map, path, joinKeys(known, jobKeys, policyKeys), optionKey, &f);
    readPolicy(ld, map, path, defaults, &j->run);
    componentRefs(ld, j, map, path, j->type == cfgJobBackup);
    /* keys that belong to other job types */
    static const char *const only[] = {"copy_to", "to", NULL};
    static const CfgJobType onlyType[] = {cfgJobBackup, cfgJobCopy};
    for (int i = 0; only[i]; i++) {
        yaml_node_t *n = cfgGet(ld, map, only[i]);
        if (n && j->type != onlyType[i] && t >= 0) {
            keyPath(kp, path, only[i]);
            cfgLoadError(ld, n, kp, "not a key of a '%s' job", j->typeName);
        }
    }
    bool lists = j->type != cfgJobCopy && j->type != cfgJobCheck;
    bool names = j->type == cfgJobCopy || j->type == cfgJobForget || j->type == cfgJobPrune || j->type == cfgJobCheck;
    static const char *const other[] = {"components", "repository"};
    for (int i = 0; i < 2 && t >= 0; i++) {
        yaml_node_t *n = cfgGet(ld, map, other[i]);
        if (n && !(i == 0 ? lists : names)) {
            keyPath(kp, path, other[i]);
            cfgLoadError(ld, n, kp, "not a key of a '%s' job", j->typeName);
        }
    }
    keyPath(kp, path, "repository");
    const CfgFileRepository *repo = repoRef(ld, cfgGetStr(ld, map, "repository", path, false), kp);
    j->repository = repo ? repo->name : NULL;
    const CfgFileRepository *target = NULL;
    if (j->type == cfgJobCopy) {
        keyPath(kp, path, "to");
        CfgScalar to = cfgGetStr(ld, map, "to", path, true);
        target = to.text ? repoRef(ld, to, kp) : NULL;
        j->to = target ? target->name : NULL;
        if (target && repo && target == repo)
            cfgLoadError(ld, to.node, kp, "copies from '%s' to itself", repo->name);
    }
    if (j->type == cfgJobBackup && cfgGet(ld, map, "copy_to")) {
        keyPath(kp, path, "copy_to");
        CfgScalar ct = cfgGetStr(ld, map, "copy_to", path, true);
        const CfgFileRepository *r = ct.text ? repoRef(ld, ct, kp) : NULL;
        j->copyTo = r ? r->name : NULL;
        for (size_t i = 0; r && i < j->componentCount; i++) {
            const CfgComponent *c = j->components[i] ? cfgFileComponent(ld->file, j->components[i]) : NULL;
            if (c && c->repository && strcmp(c->repository, r->name) == 0)
                cfgLoadError(ld, ct.node, kp, "component '%s' is backed up into '%s' already", c->name, r->name);
        }
    }
    CfgArgBuild b = {0};
    addOptionKeys(ld, &b, map, path, &f);
    if (verb && j->type == cfgJobCopy && repo && target) {
        /* lifeboat TARGET-ARGS copy FROM-ARGS ARGS */
        CfgArgBuild all = {0};
        for (size_t i = 0; i < repo->fromArgs.n; i++)
            cfgArgAdd(ld, &all, repo->fromArgs.v[i], NULL, key, path);
        for (size_t i = 0; i < b.n; i++)
            cfgArgAdd(ld, &all, b.v[i], b.shown[i], b.node[i], b.key[i]);
        cfgArgsValidate(ld, &target->args, verb, &all, key, path);
        cfgArgBuildFree(&all);
    } else if (verb && repo) {
        cfgArgsValidate(ld, &repo->args, verb, &b, key, path);
    }
    j->args = cfgArgsOf(ld, &b, false);
    cfgArgBuildFree(&b);
}

/* ---- the file ---- */

static bool namesOf(CfgLoad *ld, yaml_node_t *map, const char *what) {
    if (!cfgIsMap(ld, map, what) || cfgIsNull(map))
        return false;
    cfgCheckKeys(ld, map, what, NULL, NULL, NULL);
    return true;
}

static void readFile(CfgLoad *ld, yaml_node_t *root) {
    CfgFile *f = ld->file;
    if (root == NULL || cfgIsNull(root)) {
        cfgLoadError(ld, root, "", "the file is empty");
        return;
    }
    if (!cfgIsMap(ld, root, ""))
        return;
    cfgCheckKeys(ld, root, "", topKeys, NULL, NULL);
    CfgScalar name = cfgGetStr(ld, root, "name", "", false);
    if (name.text)
        f->name = name.text;
    if (!validName(f->name))
        cfgLoadError(ld, name.node, "name", "'%s' is not a valid name (letters, digits, '_', '.', '-')", f->name);
    CfgScalar host = cfgGetStr(ld, root, "host", "", false);
    f->host = host.text ? host.text : f->name;
    CfgScalar state = cfgGetStr(ld, root, "state", "", false);
    f->stateDir = state.text ? state.text : "/var/lib/lifeboat";
    cfgLoadMonitoring(ld, cfgGet(ld, root, "monitoring"));       /* file_monitor.c */
    cfgLoadNotifications(ld, cfgGet(ld, root, "notifications")); /* file_notify.c */
    CfgRunPolicy defaults;
    yaml_node_t *dm = cfgGet(ld, root, "defaults");
    if (cfgIsMap(ld, dm, "defaults"))
        cfgCheckKeys(ld, dm, "defaults", policyKeys, NULL, NULL);
    readPolicy(ld, dm && dm->type == YAML_MAPPING_NODE ? dm : NULL, "defaults", &policyDefaults, &defaults);
    if (defaults.schedule) {
        cfgLoadError(ld, cfgGet(ld, dm, "schedule"), "defaults.schedule", "a schedule is per component or job");
        defaults.schedule = NULL;
    }
    readRepositories(ld, cfgGet(ld, root, "repositories"));

    yaml_node_t *cm = cfgGet(ld, root, "components");
    yaml_node_t *jm = cfgGet(ld, root, "jobs");
    size_t nc = namesOf(ld, cm, "components") ? (size_t)(cm->data.mapping.pairs.top - cm->data.mapping.pairs.start) : 0;
    size_t nj = namesOf(ld, jm, "jobs") ? (size_t)(jm->data.mapping.pairs.top - jm->data.mapping.pairs.start) : 0;
    f->components = (CfgComponent *)cfgLoadKeep(ld, lbXcalloc(nc + 1, sizeof(CfgComponent)));
    f->jobs = (CfgJob *)cfgLoadKeep(ld, lbXcalloc(nj + 1, sizeof(CfgJob)));
    for (size_t i = 0; i < nc; i++) {
        yaml_node_t *k = cfgNode(ld, cm->data.mapping.pairs.start[i].key);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        CfgComponent *c = &f->components[f->componentCount++];
        c->name = (const char *)k->data.scalar.value;
        if (!validName(c->name))
            cfgLoadError(ld, k, "components", "'%s' is not a valid name (letters, digits, '_', '.', '-')", c->name);
    }
    for (size_t i = 0; i < f->componentCount; i++)
        readComponent(ld, cfgNode(ld, cm->data.mapping.pairs.start[i].key),
                      cfgNode(ld, cm->data.mapping.pairs.start[i].value), &f->components[i], &defaults);
    for (size_t i = 0; i < f->componentCount; i++) {
        CfgComponent *c = &f->components[i];
        const CfgComponent *b = c->consistencyBucket ? cfgFileComponent(f, c->consistencyBucket) : NULL;
        char kp[PATH_MAX_KEY];
        snprintf(kp, sizeof(kp), "components.%s.consistency.bucket", c->name);
        if (c->consistencyBucket && (b == NULL || b->type != cfgCompBucket))
            cfgLoadError(ld, c->consistencyNode, kp, "'%s' is not a bucket component", c->consistencyBucket);
    }
    for (size_t i = 0; i < nj; i++) {
        yaml_node_t *k = cfgNode(ld, jm->data.mapping.pairs.start[i].key);
        if (k->type != YAML_SCALAR_NODE)
            continue;
        CfgJob *j = &f->jobs[f->jobCount++];
        j->name = (const char *)k->data.scalar.value;
        char kp[PATH_MAX_KEY];
        snprintf(kp, sizeof(kp), "jobs.%s", j->name);
        if (!validName(j->name))
            cfgLoadError(ld, k, "jobs", "'%s' is not a valid name (letters, digits, '_', '.', '-')", j->name);
        const CfgComponent *clash = cfgFileComponent(f, j->name);
        if (clash)
            cfgLoadError(ld, k, kp, "a component has the same name (line %d): `lifeboat run %s` must name one",
                         clash->line, j->name);
        readJob(ld, k, cfgNode(ld, jm->data.mapping.pairs.start[i].value), j, &defaults);
    }
}

CfgFile *cfgFileLoad(const char *path, char **messages, LbError *err) {
    if (messages)
        *messages = NULL;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        lbErrSys(err, "unable to read configuration file '%s'", path);
        if (messages)
            *messages = lbXasprintf("%s\n", err->msg);
        return NULL;
    }
    LbBuf text = {0};
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        lbBufAppend(&text, chunk, got);
    lbBufAppend(&text, "", 1);
    fclose(fp);
    CfgLoad ld = {.path = path};
    ld.file = lbXcalloc(1, sizeof(CfgFile));
    ld.file->path = cfgLoadDup(&ld, path);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char *name = cfgLoadDup(&ld, base);
    if (strchr(name, '.'))
        *strchr(name, '.') = '\0';
    ld.file->name = name;
    size_t tabLine = 0, tabCol = cfgTabIndent((const char *)text.data, &tabLine);
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, text.data, text.len - 1);
    bool parsed = yaml_parser_load(&parser, &ld.doc) != 0;
    if (!parsed && tabCol && tabLine == parser.problem_mark.line + 1) {
        char *m = lbXasprintf("%s:%zu:%zu: a tab in the indentation: indent with spaces\n", path, tabLine, tabCol);
        lbBufAppendStr(&ld.msgs, m);
        free(m);
        ld.errors++;
    } else if (!parsed) {
        cfgYamlError(&ld, &parser);
    } else {
        readFile(&ld, yaml_document_get_root_node(&ld.doc));
    }
    yaml_parser_delete(&parser);
    if (parsed) {
        /* keep the scalars the file points into: copy them out of the document */
        for (yaml_node_t *n = ld.doc.nodes.start; n < ld.doc.nodes.top; n++)
            if (n->type == YAML_SCALAR_NODE) {
                cfgLoadKeep(&ld, (char *)n->data.scalar.value);
                n->data.scalar.value = NULL;
            }
        yaml_document_delete(&ld.doc);
    }
    lbBufFree(&text);
    if (ld.errors > 0) {
        cfgSortMessages(&ld.msgs, strlen(path));
        lbErr(err, LB_ERR_ARGS, "%s: %d error%s in the configuration file", path, ld.errors, ld.errors == 1 ? "" : "s");
        lbBufAppend(&ld.msgs, "", 1);
        size_t len;
        char *m = (char *)lbBufTake(&ld.msgs, &len);
        if (messages)
            *messages = m;
        else
            free(m);
        cfgFileFree(ld.file);
        return NULL;
    }
    lbBufFree(&ld.msgs);
    return ld.file;
}

void cfgFileFree(CfgFile *file) {
    if (file == NULL)
        return;
    for (size_t i = 0; i < file->ownedCount; i++)
        free(file->owned[i]);
    free(file->owned);
    free(file);
}

const CfgFileRepository *cfgFileRepository(const CfgFile *file, const char *name) {
    for (size_t i = 0; i < file->repositoryCount; i++)
        if (name ? strcmp(file->repositories[i].name, name) == 0 : file->repositories[i].isDefault)
            return &file->repositories[i];
    return NULL;
}

const CfgComponent *cfgFileComponent(const CfgFile *file, const char *name) {
    for (size_t i = 0; i < file->componentCount; i++)
        if (strcmp(file->components[i].name, name) == 0)
            return &file->components[i];
    return NULL;
}

const CfgJob *cfgFileJob(const CfgFile *file, const char *name) {
    for (size_t i = 0; i < file->jobCount; i++)
        if (strcmp(file->jobs[i].name, name) == 0)
            return &file->jobs[i];
    return NULL;
}

const char *cfgComponentVerb(const CfgComponent *c, CfgCommand *cmd) {
    *cmd = c->type == cfgCompPostgres           ? cfgCmdBackupPg
           : c->type == cfgCompPostgresPhysical ? cfgCmdBackupPgPhysical
                                                : cfgCmdBackup;
    return "backup";
}

const char *cfgJobVerb(const CfgJob *j, CfgCommand *cmd) {
    static const CfgCommand cmds[] = {cfgCmdBackup, cfgCmdCopy, cfgCmdForget, cfgCmdPrune,
                                      cfgCmdCheck,  cfgCmdNone, cfgCmdNone};
    *cmd = cmds[j->type];
    return *cmd == cfgCmdNone ? NULL : cfgCommandTable[*cmd].name;
}
