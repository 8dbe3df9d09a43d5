/* parse.c - argv and environment -> typed option values (see parse.h). */
#include "config/parse.h"
#include "config/storage_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/timeutil.h"

typedef enum CfgSource { cfgSourceNone, cfgSourceDefault, cfgSourceEnv, cfgSourceArg } CfgSource;

typedef struct CfgValue {
    CfgSource source;
    const char *str; /* the last value as given */
    int64_t num;
    double real;
    RetentionDuration dur;
    const char **items, **groups;
    size_t itemCount, groupCount;
} CfgValue;

struct CfgValues {
    CfgCommand command, helpTopic;
    bool markdown;
    CfgValue side[2][CFG_OPTION_COUNT]; /* [0] main, [1] the --from- side */
    CfgRepository repo[2];
    char **args, **after;
    size_t argCount, afterCount;
    char **owned; /* split list items */
    size_t ownedCount;
};

/* one option as found on the command line */
typedef struct CfgHit {
    CfgOptionId id;
    bool from;
    const char *value;
} CfgHit;

typedef struct CfgScan {
    CfgValues *cfg;
    CfgCommand verb;
    bool help, version;
    CfgHit *hits;
    size_t hitCount;
} CfgScan;

/* "<verb>: option '--x'<what>: <reason>"; returns false */
static bool optionError(LbError *err, CfgCommand cmd, CfgOptionId id, bool from, const char *what, const char *reason) {
    char verb[64] = "", label[64];
    if (cmd != cfgCmdNone)
        cfgCommandLabel(cmd, verb, sizeof(verb) - 2);
    strcat(verb, cmd != cfgCmdNone ? ": " : "");
    cfgOptionLabel(id, from, label, sizeof(label));
    return lbErr(err, LB_ERR_ARGS, "%soption '%s'%s: %s", verb, label, what, reason);
}

/* ---- values ---- */

static void push(const char ***arr, size_t *n, const char *s) {
    *arr = lbXrealloc(*arr, (*n + 1) * sizeof(char *));
    (*arr)[(*n)++] = s;
}

static bool choiceIndex(const char *const *choices, const char *v, size_t len, int *out) {
    for (int i = 0; choices[i]; i++)
        if (strlen(choices[i]) == len && strncmp(choices[i], v, len) == 0) {
            *out = i;
            return true;
        }
    return false;
}

static bool choicesError(const CfgOption *o, LbError *err) {
    char list[256] = "";
    for (int i = 0; o->choices[i]; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "", o->choices[i]);
    }
    return lbErr(err, LB_ERR_ARGS, "expected one of %s", list);
}

static bool convertList(CfgValues *cfg, const CfgOption *o, const char *v, CfgValue *val, LbError *err) {
    push(&val->groups, &val->groupCount, v);
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, ",");
        int idx;
        if (n > 0 && o->choices && !choiceIndex(o->choices, p, n, &idx))
            return choicesError(o, err);
        if (n > 0) {
            char *item = lbXasprintf("%.*s", (int)n, p);
            cfg->owned = lbXrealloc(cfg->owned, (cfg->ownedCount + 1) * sizeof(char *));
            cfg->owned[cfg->ownedCount++] = item;
            push(&val->items, &val->itemCount, item);
        }
        p += n + (p[n] == ',');
    }
    return true;
}

static bool convertInt(const CfgOption *o, const char *v, CfgValue *val, LbError *err) {
    if ((o->flags & CFG_OPT_UNLIMITED) && (strcmp(v, "unlimited") == 0 || strcmp(v, "-1") == 0)) {
        val->num = -1;
        return true;
    }
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < o->min || n > o->max) {
        if (o->max == INT64_MAX)
            return lbErr(err, LB_ERR_ARGS, "expected a whole number of at least %lld", (long long)o->min);
        return lbErr(err, LB_ERR_ARGS, "expected a whole number from %lld to %lld%s", (long long)o->min,
                     (long long)o->max, (o->flags & CFG_OPT_UNLIMITED) ? " or unlimited" : "");
    }
    val->num = n;
    return true;
}

static bool convertPercent(const CfgOption *o, const char *v, CfgValue *val, LbError *err) {
    char *end = NULL;
    double p = strtod(v, &end);
    bool nonzero = (o->flags & CFG_OPT_NONZERO) != 0;
    if (end == v || (*end != '\0' && strcmp(end, "%") != 0) || p < 0 || p > 100 || (nonzero && p <= 0))
        return lbErr(err, LB_ERR_ARGS, "expected a percentage from %s to 100, such as 10%%",
                     nonzero ? "more than 0" : "0");
    val->real = p;
    return true;
}

static bool convertFlag(const char *v, CfgValue *val, LbError *err) {
    if (v == NULL || strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
        strcasecmp(v, "on") == 0)
        val->num = 1;
    else if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
             strcasecmp(v, "off") == 0)
        val->num = 0;
    else
        return lbErr(err, LB_ERR_ARGS, "expected 1 or 0 (true or false)");
    return true;
}

/* Convert v (NULL for a flag given on the command line) into val; on failure
 * err holds the reason only. */
static bool convert(CfgValues *cfg, const CfgOption *o, const char *v, CfgValue *val, LbError *err) {
    bool ok = true;
    uint64_t size = 0;
    int idx = 0;
    switch (o->type) {
    case cfgTypeFlag:
        ok = convertFlag(v, val, err);
        break;
    case cfgTypeCount:
        val->num++;
        break;
    case cfgTypeString:
        break;
    case cfgTypeStrings:
        push(&val->items, &val->itemCount, v);
        break;
    case cfgTypeList:
        ok = convertList(cfg, o, v, val, err);
        break;
    case cfgTypeInt:
        ok = convertInt(o, v, val, err);
        break;
    case cfgTypeSize:
        ok = lbParseSize(v, &size) && size <= INT64_MAX;
        if (!ok)
            lbErr(err, LB_ERR_ARGS, "expected a size such as 500M or 2G");
        val->num = (int64_t)size;
        break;
    case cfgTypePercent:
        ok = convertPercent(o, v, val, err);
        break;
    case cfgTypeDuration:
        ok = retentionParseDuration(v, &val->dur, err);
        break;
    case cfgTypeSeconds:
        ok = lbParseSeconds(v, &val->num);
        if (!ok)
            lbErr(err, LB_ERR_ARGS, "'%s' is not a duration (use 30s, 5m, 1h30m, 2d)", v);
        break;
    case cfgTypeTime:
        ok = lbParseTime(v, &val->num);
        if (!ok)
            lbErr(err, LB_ERR_ARGS, "expected 'YYYY-MM-DD HH:MM:SS' (UTC) or RFC 3339");
        break;
    case cfgTypeEnum:
        ok = choiceIndex(o->choices, v, strlen(v), &idx);
        if (!ok)
            choicesError(o, err);
        val->num = idx;
        break;
    }
    if (ok && o->check && v)
        ok = o->check(v, err);
    val->str = v;
    return ok;
}

/* ---- scanning argv ---- */

/* Does the verb (any variant) take option id? */
static bool verbTakes(CfgCommand verb, CfgOptionId id, bool from) {
    for (int k = 0; k < CFG_COMMAND_COUNT; k++)
        if (strcmp(cfgCommandTable[k].name, cfgCommandTable[verb].name) == 0 &&
            cfgOptionAccepted(id, (CfgCommand)k, from))
            return true;
    return false;
}

/* The option with this short name that the verb (any variant) takes; before
 * the verb, the global and repository ones. */
static CfgOptionId findShort(CfgCommand verb, char c) {
    for (int i = 0; i < CFG_OPTION_COUNT; i++) {
        const CfgOption *o = &cfgOptionTable[i];
        if (o->shortName != c)
            continue;
        if (verb == cfgCmdNone) {
            if (o->scope != cfgScopeCommand)
                return (CfgOptionId)i;
            continue;
        }
        if (verbTakes(verb, (CfgOptionId)i, false))
            return (CfgOptionId)i;
    }
    return cfgOptNone;
}

static bool takesValue(CfgOptionId id) {
    CfgType t = cfgOptionTable[id].type;
    return t != cfgTypeFlag && t != cfgTypeCount;
}

static bool isHelpArg(const char *a) {
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Record id; fetch its value from inline (after '=' or the short letter) or
 * the next argument. */
static bool hit(CfgScan *s, CfgOptionId id, bool from, const char *inlineValue, int argc, char **argv, int *i,
                LbError *err) {
    if (id == cfgOptHelp) {
        s->help = true;
        return true;
    }
    if (id == cfgOptVersion) {
        s->version = true;
        return true;
    }
    const char *value = NULL;
    if (!takesValue(id)) {
        if (inlineValue)
            return optionError(err, s->verb, id, from, "", "takes no value");
    } else if (inlineValue) {
        value = inlineValue;
    } else if (*i + 1 < argc && isHelpArg(argv[*i + 1])) {
        s->help = true; /* "backup --pg --help": the help of backup --pg */
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        return optionError(err, s->verb, id, from, "", "needs a value");
    }
    s->hits = lbXrealloc(s->hits, (s->hitCount + 1) * sizeof(CfgHit)); /* "-vvv" is three */
    s->hits[s->hitCount++] = (CfgHit){id, from, value};
    return true;
}

static bool unknownOption(CfgCommand verb, const char *label, size_t len, LbError *err) {
    char v[64];
    if (verb == cfgCmdNone)
        return lbErr(err, LB_ERR_ARGS, "option '%.*s': unknown option (see 'lifeboat --help')", (int)len, label);
    cfgCommandLabel(verb, v, sizeof(v));
    return lbErr(err, LB_ERR_ARGS, "%s: option '%.*s': unknown option (see 'lifeboat %s --help')", v, (int)len, label,
                 cfgCommandTable[verb].name);
}

/* The option of this long name; when two share a name (restore's and
 * recover's --target), the one the verb takes. */
static CfgOptionId findLong(CfgCommand verb, const char *name, size_t len, bool *from) {
    CfgOptionId id = cfgOptionFind(name, len, from);
    if (id == cfgOptNone || *from || verb == cfgCmdNone || verbTakes(verb, id, false))
        return id;
    for (int i = id + 1; i < CFG_OPTION_COUNT; i++)
        if (strlen(cfgOptionTable[i].name) == len && strncmp(cfgOptionTable[i].name, name, len) == 0 &&
            verbTakes(verb, (CfgOptionId)i, false))
            return (CfgOptionId)i;
    return id;
}

static bool scanLong(CfgScan *s, int argc, char **argv, int *i, LbError *err) {
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    bool from = false;
    CfgOptionId id = findLong(s->verb, name, len, &from);
    if (id == cfgOptNone)
        return unknownOption(s->verb, argv[*i], len + 2, err);
    return hit(s, id, from, eq ? eq + 1 : NULL, argc, argv, i, err);
}

/* -x, bundled flags (-vv, -qx), -xVALUE, -x VALUE */
static bool scanShort(CfgScan *s, int argc, char **argv, int *i, LbError *err) {
    const char *a = argv[*i];
    for (size_t j = 1; a[j]; j++) {
        CfgOptionId id = findShort(s->verb, a[j]);
        char label[3] = {'-', a[j], '\0'};
        if (id == cfgOptNone)
            return unknownOption(s->verb, label, 2, err);
        if (takesValue(id))
            return hit(s, id, false, a[j + 1] ? a + j + 1 : NULL, argc, argv, i, err);
        if (!hit(s, id, false, NULL, argc, argv, i, err))
            return false;
    }
    return true;
}

/* help [--markdown] [VERB [--SELECTOR]] */
static bool scanHelpArgs(CfgValues *cfg, int argc, char **argv, int at, LbError *err) {
    cfg->command = cfgCmdHelp;
    for (int i = at; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--markdown") == 0) {
            cfg->markdown = true;
        } else if (isHelpArg(a)) {
            if (cfg->helpTopic == cfgCmdNone)
                cfg->helpTopic = cfgCmdHelp;
        } else if (cfg->helpTopic == cfgCmdNone && a[0] != '-') {
            cfg->helpTopic = cfgCommandFind(a);
            if (cfg->helpTopic == cfgCmdNone)
                return lbErr(err, LB_ERR_ARGS, "help: unknown command '%s' (see 'lifeboat --help')", a);
        } else if (cfg->helpTopic != cfgCmdNone && strncmp(a, "--", 2) == 0) {
            CfgCommand variant = cfgCmdNone;
            for (int k = 0; k < CFG_COMMAND_COUNT; k++)
                if (strcmp(cfgCommandTable[k].name, cfgCommandTable[cfg->helpTopic].name) == 0 &&
                    cfgCommandTable[k].selector != cfgOptNone &&
                    strcmp(cfgOptionTable[cfgCommandTable[k].selector].name, a + 2) == 0)
                    variant = (CfgCommand)k;
            if (variant == cfgCmdNone)
                return lbErr(err, LB_ERR_ARGS, "help: '%s' is not a variant of '%s'", a,
                             cfgCommandTable[cfg->helpTopic].name);
            cfg->helpTopic = variant;
        } else {
            return lbErr(err, LB_ERR_ARGS, "help: unexpected argument '%s'", a);
        }
    }
    return true;
}

static bool scan(CfgScan *s, int argc, char **argv, LbError *err) {
    CfgValues *cfg = s->cfg;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (int k = i + 1; k < argc; k++)
                cfg->after[cfg->afterCount++] = argv[k];
            return true;
        }
        bool ok = true;
        if (strncmp(a, "--", 2) == 0) {
            ok = scanLong(s, argc, argv, &i, err);
        } else if (a[0] == '-' && a[1] != '\0') {
            ok = scanShort(s, argc, argv, &i, err);
        } else if (s->verb == cfgCmdNone) {
            s->verb = cfgCommandFind(a);
            if (s->verb == cfgCmdNone)
                return lbErr(err, LB_ERR_ARGS, "unknown command '%s' (see 'lifeboat --help')", a);
            if (s->verb == cfgCmdHelp)
                return scanHelpArgs(cfg, argc, argv, i + 1, err);
        } else {
            cfg->args[cfg->argCount++] = argv[i];
        }
        if (!ok)
            return false;
    }
    return true;
}

/* ---- after scanning ---- */

static bool given(const CfgScan *s, CfgOptionId id) {
    for (size_t i = 0; i < s->hitCount; i++)
        if (s->hits[i].id == id && !s->hits[i].from)
            return true;
    return false;
}

/* The variant of the verb whose selector was given, else the plain verb. */
static CfgCommand chooseVariant(const CfgScan *s) {
    for (int k = 0; k < CFG_COMMAND_COUNT; k++) {
        const CfgCommandInfo *c = &cfgCommandTable[k];
        if (c->selector != cfgOptNone && strcmp(c->name, cfgCommandTable[s->verb].name) == 0 && given(s, c->selector))
            return (CfgCommand)k;
    }
    return s->verb;
}

static bool checkAccepted(const CfgScan *s, CfgCommand cmd, const CfgHit *h, LbError *err) {
    if (cfgOptionAccepted(h->id, cmd, h->from))
        return true;
    for (int k = 0; k < CFG_COMMAND_COUNT; k++) {
        if (k == (int)cmd || strcmp(cfgCommandTable[k].name, cfgCommandTable[cmd].name) != 0 ||
            !cfgOptionAccepted(h->id, (CfgCommand)k, h->from))
            continue;
        char mine[64], other[64], why[200];
        cfgCommandLabel(cmd, mine, sizeof(mine));
        cfgCommandLabel((CfgCommand)k, other, sizeof(other));
        snprintf(why, sizeof(why), "does not apply to '%s' (it is an option of '%s')", mine, other);
        return optionError(err, cmd, h->id, h->from, "", why);
    }
    (void)s;
    char why[160];
    snprintf(why, sizeof(why), "unknown option (see 'lifeboat %s --help')", cfgCommandTable[cmd].name);
    return optionError(err, cmd, h->id, h->from, "", why);
}

/* Convert v into the option's value; a failure names the option (and the
 * value unless it may hold a secret; envName when it came from there). */
static bool setValue(CfgValues *cfg, CfgOptionId id, bool from, const char *v, CfgSource src, const char *envName,
                     LbError *err) {
    const CfgOption *o = &cfgOptionTable[id];
    CfgValue *val = &cfg->side[from][id];
    LbError why = {0};
    if (!convert(cfg, o, v, val, &why)) {
        char what[256];
        bool shown = v && !(o->flags & CFG_OPT_SECRET_VALUE);
        snprintf(what, sizeof(what), "%s%s%s%s%.120s%s", envName ? " (from " : "", envName ? envName : "",
                 envName ? ")" : "", shown ? " value '" : "", shown ? v : "", shown ? "'" : "");
        return optionError(err, cfg->command, id, from, what, why.msg);
    }
    val->source = src;
    return true;
}

/* Environment, then defaults, for what the command line left unset. */
static bool fillUnset(CfgValues *cfg, LbError *err) {
    for (int side = 0; side < 2; side++) {
        for (int i = 0; i < CFG_OPTION_COUNT; i++) {
            const CfgOption *o = &cfgOptionTable[i];
            if (!cfgOptionAccepted((CfgOptionId)i, cfg->command, side) || cfg->side[side][i].source != cfgSourceNone)
                continue;
            char buf[80];
            const char *env = cfgOptionEnv((CfgOptionId)i, side, buf, sizeof(buf));
            const char *v = env ? getenv(env) : NULL;
            if (v && v[0] == '\0') /* an empty variable is an unset one */
                v = NULL;
            if ((o->flags & CFG_OPT_ENV_RECORD) && cfgOptionHelp((CfgOptionId)i, cfg->command) == o->helpSelect)
                v = NULL; /* LIFEBOAT_HOST names what a backup records, never a filter */
            if (v && !setValue(cfg, (CfgOptionId)i, side, v, cfgSourceEnv, env, err))
                return false;
            if (!v && o->defaultValue &&
                !setValue(cfg, (CfgOptionId)i, side, o->defaultValue, cfgSourceDefault, NULL, err))
                return false;
        }
    }
    return true;
}

/* Each side's storage settings start from the environment
 * (cfgStorageOptionsFromEnv: credentials, region, multipart, retries); the
 * table's options, from the command line or their own variables, override
 * them. A profile or credential file named on the command line wins over an
 * access key pair in the environment, as with the AWS CLI. */
static bool fillRepositories(CfgValues *cfg, LbError *err) {
    for (int side = 0; side < 2; side++) {
        CfgRepository *r = &cfg->repo[side];
        const CfgValue *v = cfg->side[side];
        r->location = v[cfgOptRepo].str;
        r->passwordFile = v[cfgOptPasswordFile].str;
        r->passwordCommand = v[cfgOptPasswordCommand].str;
        /* an option beats the environment: --password-command (a
         * configuration file's password_command) is not overridden by a
         * LIFEBOAT_PASSWORD_FILE the process happens to have, nor the
         * reverse; LIFEBOAT_PASSWORD yields to either (cli.c) */
        bool fileArg = v[cfgOptPasswordFile].source == cfgSourceArg,
             cmdArg = v[cfgOptPasswordCommand].source == cfgSourceArg;
        if (cmdArg && !fileArg)
            r->passwordFile = NULL;
        if (fileArg && !cmdArg)
            r->passwordCommand = NULL;
        r->passwordGiven = fileArg || cmdArg;
        if (!cfgStorageOptionsFromEnv(&r->storage, err))
            return false;
        for (int i = 0; i < CFG_OPTION_COUNT; i++) {
            const CfgOption *o = &cfgOptionTable[i];
            if (o->storageField == 0)
                continue;
            char *field = (char *)&r->storage + o->storageField - 1;
            if (side == 1 && o->env != NULL) {
                /* the source has its own LIFEBOAT_FROM_* variables: the
                 * main repository's LIFEBOAT_S3_* do not apply to it */
                if (o->type == cfgTypeFlag)
                    *(bool *)field = false;
                else
                    *(const char **)field = NULL;
            }
            if (v[i].source == cfgSourceNone)
                continue;
            if (o->type == cfgTypeFlag)
                *(bool *)field = v[i].num != 0;
            else
                *(const char **)field = v[i].str;
        }
        if (side == 1 && r->storage.s3.region == NULL)
            r->storage.s3.region = cfgAwsRegionFromEnv();
        if (v[cfgOptS3Profile].source == cfgSourceArg || v[cfgOptS3CredentialsFile].source == cfgSourceArg ||
            v[cfgOptS3ConfigFile].source == cfgSourceArg)
            r->storage.s3.accessKeyId = r->storage.s3.secretAccessKey = r->storage.s3.sessionToken = NULL;
    }
    return true;
}

CfgValues *cfgParse(int argc, char **argv, LbError *err) {
    CfgValues *cfg = lbXcalloc(1, sizeof(CfgValues));
    cfg->command = cfg->helpTopic = cfgCmdNone;
    cfg->args = lbXcalloc((size_t)argc + 1, sizeof(char *));
    cfg->after = lbXcalloc((size_t)argc + 1, sizeof(char *));
    CfgScan s = {.cfg = cfg, .verb = cfgCmdNone};
    bool ok = scan(&s, argc, argv, err);
    if (!ok || cfg->command == cfgCmdHelp)
        goto done;
    if (s.help) {
        cfg->command = cfgCmdHelp;
        cfg->helpTopic = s.verb == cfgCmdNone ? cfgCmdNone : chooseVariant(&s);
        goto done;
    }
    if (s.version || s.verb == cfgCmdVersion) {
        cfg->command = cfgCmdVersion;
        goto done;
    }
    if (s.verb == cfgCmdNone) {
        ok = lbErr(err, LB_ERR_ARGS, "no command given (see 'lifeboat --help')");
        goto done;
    }
    cfg->command = chooseVariant(&s);
    for (size_t i = 0; ok && i < s.hitCount; i++)
        ok = checkAccepted(&s, cfg->command, &s.hits[i], err) &&
             setValue(cfg, s.hits[i].id, s.hits[i].from, s.hits[i].value, cfgSourceArg, NULL, err);
    if (ok && !cfgFlag(cfg, cfgOptStdinFromCommand)) {
        /* "--" ends the options: what follows is positional, unless it is
         * the command line of backup --stdin-from-command */
        for (size_t i = 0; i < cfg->afterCount; i++)
            cfg->args[cfg->argCount++] = cfg->after[i];
        cfg->afterCount = 0;
    }
    ok = ok && fillUnset(cfg, err) && fillRepositories(cfg, err);
done:
    free(s.hits);
    if (!ok) {
        cfgValuesFree(cfg);
        return NULL;
    }
    return cfg;
}

void cfgValuesFree(CfgValues *cfg) {
    if (cfg == NULL)
        return;
    for (int side = 0; side < 2; side++)
        for (int i = 0; i < CFG_OPTION_COUNT; i++) {
            free(cfg->side[side][i].items);
            free(cfg->side[side][i].groups);
        }
    for (size_t i = 0; i < cfg->ownedCount; i++)
        free(cfg->owned[i]);
    free(cfg->owned);
    free(cfg->args);
    free(cfg->after);
    free(cfg);
}

/* ---- getters ---- */

CfgCommand cfgCommand(const CfgValues *cfg) {
    return cfg->command;
}

CfgCommand cfgHelpTopic(const CfgValues *cfg) {
    return cfg->helpTopic;
}

bool cfgHelpAsMarkdown(const CfgValues *cfg) {
    return cfg->markdown;
}

bool cfgIsSet(const CfgValues *cfg, CfgOptionId id) {
    return cfg->side[0][id].source == cfgSourceArg || cfg->side[0][id].source == cfgSourceEnv;
}

bool cfgFlag(const CfgValues *cfg, CfgOptionId id) {
    return cfg->side[0][id].num != 0;
}

int cfgCount(const CfgValues *cfg, CfgOptionId id) {
    return (int)cfg->side[0][id].num;
}

const char *cfgStr(const CfgValues *cfg, CfgOptionId id) {
    return cfg->side[0][id].str;
}

int64_t cfgInt(const CfgValues *cfg, CfgOptionId id) {
    return cfg->side[0][id].num;
}

double cfgPercent(const CfgValues *cfg, CfgOptionId id) {
    return cfg->side[0][id].real;
}

RetentionDuration cfgDuration(const CfgValues *cfg, CfgOptionId id) {
    return cfg->side[0][id].dur;
}

int cfgEnum(const CfgValues *cfg, CfgOptionId id) {
    return (int)cfg->side[0][id].num;
}

const char *const *cfgList(const CfgValues *cfg, CfgOptionId id, size_t *count) {
    *count = cfg->side[0][id].itemCount;
    return cfg->side[0][id].items;
}

const char *const *cfgGroups(const CfgValues *cfg, CfgOptionId id, size_t *count) {
    *count = cfg->side[0][id].groupCount;
    return cfg->side[0][id].groups;
}

const CfgRepository *cfgRepository(const CfgValues *cfg, bool source) {
    return &cfg->repo[source ? 1 : 0];
}

char *const *cfgArgs(const CfgValues *cfg, size_t *count) {
    *count = cfg->argCount;
    return cfg->args;
}

char *const *cfgArgsAfterDashDash(const CfgValues *cfg, size_t *count) {
    *count = cfg->afterCount;
    return cfg->after;
}
