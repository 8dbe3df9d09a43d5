/* file_args.c - the configuration file's keys as command-line arguments,
 * validated by cfgParse exactly as the same command line would be; an error
 * of cfgParse is mapped back to the key that made the argument (file_int.h). */
#include "config/file_int.h"

#include <stdlib.h>
#include <string.h>

#include "config/parse.h"

void cfgArgAdd(CfgLoad *ld, CfgArgBuild *b, const char *v, const char *shown, yaml_node_t *node, const char *key) {
    b->v = lbXrealloc(b->v, (b->n + 2) * sizeof(char *));
    b->shown = lbXrealloc(b->shown, (b->n + 2) * sizeof(char *));
    b->node = lbXrealloc(b->node, (b->n + 2) * sizeof(yaml_node_t *));
    b->key = lbXrealloc(b->key, (b->n + 2) * sizeof(char *));
    b->v[b->n] = cfgLoadDup(ld, v);
    b->shown[b->n] = cfgLoadDup(ld, shown ? shown : v);
    b->node[b->n] = node;
    b->key[b->n] = cfgLoadDup(ld, key);
    b->n++;
    b->v[b->n] = b->shown[b->n] = NULL;
}

static CfgArgs copyArgs(CfgLoad *ld, char **v, size_t n) {
    char **a = lbXcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        a[i] = v[i];
    return (CfgArgs){(char **)cfgLoadKeep(ld, (char *)a), n};
}

CfgArgs cfgArgsOf(CfgLoad *ld, const CfgArgBuild *b, bool shown) {
    return copyArgs(ld, shown ? b->shown : b->v, b->n);
}

void cfgArgBuildFree(CfgArgBuild *b) {
    free(b->v);
    free(b->shown);
    free(b->node);
    free(b->key);
    memset(b, 0, sizeof(*b));
}

CfgOptionId cfgOptionOfKey(const char *key) {
    char name[64];
    size_t n = strlen(key);
    if (n >= sizeof(name) || strchr(key, '-'))
        return cfgOptNone;
    for (size_t i = 0; i <= n; i++)
        name[i] = key[i] == '_' ? '-' : key[i];
    bool from = false;
    CfgOptionId id = cfgOptionFind(name, n, &from);
    return from ? cfgOptNone : id;
}

bool cfgOptionToArgs(CfgLoad *ld, CfgArgBuild *b, CfgOptionId id, yaml_node_t *val, const char *kp, bool secret) {
    const CfgOption *o = &cfgOptionTable[id];
    char *flag = lbXasprintf("--%s", o->name);
    bool ok = true;
    if (o->type == cfgTypeFlag) {
        CfgScalar s = cfgScalar(ld, val, kp);
        bool on = false;
        if (s.text && !cfgParseBool(s.text, &on))
            cfgLoadError(ld, val, kp, "'%s' is not a boolean (use true or false)", s.text);
        else if (on)
            cfgArgAdd(ld, b, flag, NULL, val, kp);
        ok = s.text && cfgParseBool(s.text, &on);
        free(flag);
        return ok;
    }
    bool many = o->type == cfgTypeStrings || o->type == cfgTypeList;
    size_t count = 1;
    if (val && val->type == YAML_SEQUENCE_NODE) {
        if (!many) {
            cfgLoadError(ld, val, kp, "expected a single value, found a list");
            free(flag);
            return false;
        }
        count = (size_t)(val->data.sequence.items.top - val->data.sequence.items.start);
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item =
            val && val->type == YAML_SEQUENCE_NODE ? cfgNode(ld, val->data.sequence.items.start[i]) : val;
        CfgScalar s = cfgScalar(ld, item, kp);
        if (s.text == NULL) {
            if (cfgIsNull(item))
                cfgLoadError(ld, item, kp, "a value is required");
            ok = false;
            continue;
        }
        char *arg = lbXasprintf("%s=%s", flag, s.text);
        bool hide = (o->flags & CFG_OPT_SECRET_VALUE) || (secret && s.fromEnv);
        char *shown = hide ? lbXasprintf("%s=<redacted>", flag) : NULL;
        cfgArgAdd(ld, b, arg, shown, item, kp);
        free(arg);
        free(shown);
    }
    free(flag);
    return ok;
}

/* the reason of a cfgParse error about arg (after "option '--x' value 'v': ") */
static const char *reasonOf(const char *msg, const char *labelEnd, const char *value) {
    const char *p = labelEnd + 1; /* past the closing quote */
    if (strncmp(p, " value '", 8) == 0) {
        size_t vl = value ? strlen(value) : 0;
        p += 8 + (vl > 120 ? 120 : vl) + 1;
    }
    if (strncmp(p, ": ", 2) == 0)
        return p + 2;
    return msg;
}

void cfgArgsValidate(CfgLoad *ld, const CfgArgs *pre, const char *verb, CfgArgBuild *b, yaml_node_t *where,
                     const char *wherePath) {
    for (int round = 0; round < 64; round++) {
        size_t n = 0, preN = pre ? pre->n : 0;
        char **argv = lbXcalloc(preN + b->n + 3, sizeof(char *));
        argv[n++] = (char *)"lifeboat";
        for (size_t i = 0; i < preN; i++)
            argv[n++] = pre->v[i];
        argv[n++] = (char *)verb;
        for (size_t i = 0; i < b->n; i++)
            argv[n++] = b->v[i];
        LbError err = {0};
        CfgValues *cfg = cfgParse((int)n, argv, &err);
        free(argv);
        if (cfg) {
            cfgValuesFree(cfg);
            return;
        }
        /* which argument: "option '--NAME'" */
        const char *at = strstr(err.msg, "option '--");
        size_t hitIndex = b->n;
        const char *labelEnd = NULL;
        if (at) {
            const char *label = at + 8;
            labelEnd = strchr(label, '\'');
            size_t ll = labelEnd ? (size_t)(labelEnd - label) : 0;
            for (size_t i = 0; labelEnd && i < b->n && hitIndex == b->n; i++)
                if (strncmp(b->v[i], label, ll) == 0 && (b->v[i][ll] == '=' || b->v[i][ll] == '\0'))
                    hitIndex = i;
        }
        if (hitIndex == b->n) {
            cfgLoadError(ld, where, wherePath, "%s", err.msg);
            return;
        }
        const char *eq = strchr(b->v[hitIndex], '=');
        size_t drop = 1;
        const char *value = eq ? eq + 1 : NULL;
        if (eq == NULL && hitIndex + 1 < b->n && b->node[hitIndex + 1] == b->node[hitIndex]) {
            value = b->v[hitIndex + 1];
            drop = 2;
        }
        bool from = false;
        CfgOptionId id = cfgOptionFind(at + 10, (size_t)(labelEnd - at - 10), &from);
        const char *reason = reasonOf(err.msg, labelEnd, value);
        bool secret = id != cfgOptNone && (cfgOptionTable[id].flags & CFG_OPT_SECRET_VALUE);
        if (id != cfgOptNone && cfgOptionTable[id].type == cfgTypeDuration && value)
            cfgLoadError(ld, b->node[hitIndex], b->key[hitIndex], "'%s' is not a duration (use 35d, 12h, 90m)", value);
        else if (value && !secret && strstr(reason, value) == NULL)
            cfgLoadError(ld, b->node[hitIndex], b->key[hitIndex], "'%s': %s", value, reason);
        else
            cfgLoadError(ld, b->node[hitIndex], b->key[hitIndex], "%s", reason);
        /* drop it and parse again: every error of the vector at once */
        size_t rest = b->n - hitIndex - drop;
        memmove(b->v + hitIndex, b->v + hitIndex + drop, (rest + 1) * sizeof(char *));
        memmove(b->shown + hitIndex, b->shown + hitIndex + drop, (rest + 1) * sizeof(char *));
        memmove(b->node + hitIndex, b->node + hitIndex + drop, rest * sizeof(yaml_node_t *));
        memmove(b->key + hitIndex, b->key + hitIndex + drop, rest * sizeof(char *));
        b->n -= drop;
    }
}
