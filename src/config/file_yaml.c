/* file_yaml.c - YAML nodes, messages (and their order) and typed values of the configuration
 * file (see file_int.h). */
#include "config/file_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/timeutil.h"
#include "config/option.h"

static void keyPath(char *out, size_t size, const char *path, const char *key) {
    int n = snprintf(out, size, "%s%s%s", path, *path ? "." : "", key);
    if (n < 0 || (size_t)n >= size)
        memcpy(out + size - 4, "...", 4);
}

/* the key whose value node is (NULL for the root and list items) */
static const yaml_node_t *keyOf(CfgLoad *ld, const yaml_node_t *node) {
    for (yaml_node_t *m = ld->doc.nodes.start; m < ld->doc.nodes.top; m++) {
        if (m->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
            if (yaml_document_get_node(&ld->doc, p->value) == node)
                return yaml_document_get_node(&ld->doc, p->key);
    }
    return NULL;
}

void cfgLoadError(CfgLoad *ld, const yaml_node_t *node, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *reason = lbXvasprintf(fmt, ap);
    va_end(ap);
    if (node && node->type != YAML_SCALAR_NODE) {
        /* a map or list starts at its first item: name the key that holds it */
        const yaml_node_t *key = keyOf(ld, node);
        node = key ? key : node;
    }
    size_t line = node ? node->start_mark.line + 1 : 1, col = node ? node->start_mark.column + 1 : 1;
    char *m =
        lbXasprintf("%s:%zu:%zu: %s%s%s\n", ld->path, line, col, path ? path : "", path && *path ? ": " : "", reason);
    lbBufAppendStr(&ld->msgs, m);
    free(m);
    free(reason);
    ld->errors++;
}

char *cfgLoadKeep(CfgLoad *ld, char *s) {
    CfgFile *f = ld->file;
    f->owned = lbXrealloc(f->owned, (f->ownedCount + 1) * sizeof(void *));
    f->owned[f->ownedCount++] = s;
    return s;
}

char *cfgLoadDup(CfgLoad *ld, const char *s) {
    return s ? cfgLoadKeep(ld, lbXstrdup(s)) : NULL;
}

yaml_node_t *cfgNode(CfgLoad *ld, int index) {
    return yaml_document_get_node(&ld->doc, index);
}

bool cfgIsNull(const yaml_node_t *n) {
    if (n == NULL)
        return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

static const char *kindName(const yaml_node_t *n) {
    return n->type == YAML_MAPPING_NODE ? "a map" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a single value";
}

bool cfgIsMap(CfgLoad *ld, yaml_node_t *n, const char *path) {
    if (cfgIsNull(n) || n->type == YAML_MAPPING_NODE)
        return true;
    cfgLoadError(ld, n, path, "expected a map of keys, found %s", kindName(n));
    return false;
}

/* ---- keys ---- */

static size_t distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

const char *cfgClosest(const char *key, const char *const *candidates, size_t n) {
    const char *best = NULL;
    size_t bestD = 99, len = strlen(key);
    for (size_t i = 0; i < n; i++) {
        size_t d = distance(key, candidates[i]);
        if (d < bestD) {
            bestD = d;
            best = candidates[i];
        }
    }
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    return bestD <= limit ? best : NULL;
}

/* key names that would put a secret in the file */
static bool secretKey(const char *k) {
    static const char *const words[] = {"password",    "passwd",  "secret", "token", "secret_access_key",
                                        "private_key", "api_key", "apikey", NULL};
    if (strcmp(k, "password_file") == 0 || strcmp(k, "password_command") == 0)
        return false;
    for (int i = 0; words[i]; i++) {
        size_t lw = strlen(words[i]), lk = strlen(k);
        if (lk >= lw && strcasecmp(k + lk - lw, words[i]) == 0)
            return true;
    }
    return false;
}

void cfgCheckKeys(CfgLoad *ld, yaml_node_t *map, const char *path, const char *const *known, CfgKeyFilter extra,
                  void *ctx) {
    if (cfgIsNull(map) || map->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cfgNode(ld, p->key);
        char kp[512];
        if (k->type != YAML_SCALAR_NODE) {
            cfgLoadError(ld, k, path, "a key must be a single value, found %s", kindName(k));
            continue;
        }
        const char *name = (const char *)k->data.scalar.value;
        keyPath(kp, sizeof(kp), path, name);
        bool dup = false;
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p && !dup; q++) {
            yaml_node_t *k2 = cfgNode(ld, q->key);
            if (k2->type == YAML_SCALAR_NODE && strcmp((const char *)k2->data.scalar.value, name) == 0) {
                cfgLoadError(ld, k, kp, "duplicate key (first at line %zu)", k2->start_mark.line + 1);
                dup = true;
            }
        }
        if (dup)
            continue;
        bool ok = false;
        size_t n = 0;
        for (; known && known[n]; n++)
            ok = ok || strcmp(known[n], name) == 0;
        if (ok || (extra && extra(ctx, name)) || (known == NULL && extra == NULL)) /* a map of names */
            continue;
        if (secretKey(name)) {
            cfgLoadError(ld, k, kp,
                         "a secret does not belong in the file: HINT: Use password_file or password_command for a "
                         "repository, PGPASSFILE or a ${NAME} environment reference for a database, the AWS "
                         "credentials file or environment for S3.");
            continue;
        }
        /* candidates: the known keys and the option keys extra accepts */
        const char **cand = lbXcalloc(n + CFG_OPTION_COUNT + 1, sizeof(char *));
        char names[CFG_OPTION_COUNT][48];
        size_t c = 0;
        for (size_t i = 0; i < n; i++)
            cand[c++] = known[i];
        for (int i = 0; extra && i < CFG_OPTION_COUNT; i++) {
            snprintf(names[i], sizeof(names[i]), "%s", cfgOptionTable[i].name);
            for (char *s = names[i]; *s; s++)
                *s = *s == '-' ? '_' : *s;
            if (extra(ctx, names[i]))
                cand[c++] = names[i];
        }
        const char *near = cfgClosest(name, cand, c);
        if (near)
            cfgLoadError(ld, k, kp, "unknown key (did you mean '%s'?)", near);
        else
            cfgLoadError(ld, k, kp, "unknown key");
        free(cand);
    }
}

yaml_node_t *cfgGet(CfgLoad *ld, yaml_node_t *map, const char *key) {
    if (map == NULL || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = cfgNode(ld, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return cfgNode(ld, p->value);
    }
    return NULL;
}

/* ---- values ---- */

/* ${NAME} from the environment, $$ a literal $; NULL (reported) when a
 * variable is not set or a reference is malformed */
static char *expand(CfgLoad *ld, yaml_node_t *n, const char *path, const char *v, bool *fromEnv) {
    LbBuf b = {0};
    for (const char *p = v; *p; p++) {
        if (p[0] == '$' && p[1] == '$') {
            lbBufAppend(&b, "$", 1);
            p++;
        } else if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            size_t len = end ? (size_t)(end - p - 2) : 0;
            if (end == NULL || len == 0 ||
                strspn(p + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789") < len) {
                cfgLoadError(ld, n, path, "malformed ${NAME} reference (write $$ for a literal $)");
                lbBufFree(&b);
                return NULL;
            }
            char name[256];
            snprintf(name, sizeof(name), "%.*s", (int)len, p + 2);
            const char *e = getenv(name);
            if (e == NULL) {
                cfgLoadError(ld, n, path, "${%s} is not set in the environment", name);
                lbBufFree(&b);
                return NULL;
            }
            lbBufAppendStr(&b, e);
            *fromEnv = true;
            p = end;
        } else {
            lbBufAppend(&b, p, 1);
        }
    }
    lbBufAppend(&b, "", 1);
    size_t len;
    return (char *)lbBufTake(&b, &len);
}

CfgScalar cfgScalar(CfgLoad *ld, yaml_node_t *n, const char *path) {
    CfgScalar s = {.node = n};
    if (cfgIsNull(n))
        return s;
    if (n->type != YAML_SCALAR_NODE) {
        cfgLoadError(ld, n, path, "expected a single value, found %s", kindName(n));
        return s;
    }
    char *v = expand(ld, n, path, (const char *)n->data.scalar.value, &s.fromEnv);
    s.text = v ? cfgLoadKeep(ld, v) : NULL;
    return s;
}

CfgScalar cfgGetStr(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, bool required) {
    char kp[512];
    keyPath(kp, sizeof(kp), path, key);
    yaml_node_t *n = cfgGet(ld, map, key);
    if (required && cfgIsNull(n))
        cfgLoadError(ld, n ? n : map, required && n == NULL ? path : kp, n ? "a value is required" : "missing key '%s'",
                     key);
    return cfgScalar(ld, n, kp);
}

/* the scalar of key in map, with its key path in kp */
static CfgScalar valueOf(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, char *kp, size_t size) {
    keyPath(kp, size, path, key);
    return cfgScalar(ld, cfgGet(ld, map, key), kp);
}

bool cfgParseBool(const char *s, bool *out) {
    static const char *const yes[] = {"true", "yes", "on", NULL}, *const no[] = {"false", "no", "off", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return true;
        }
    return false;
}

bool cfgGetBool(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, bool *out) {
    char kp[512];
    CfgScalar s = valueOf(ld, map, key, path, kp, sizeof(kp));
    if (s.text == NULL)
        return false;
    if (!cfgParseBool(s.text, out)) {
        cfgLoadError(ld, s.node, kp, "'%s' is not a boolean (use true or false)", s.text);
        return false;
    }
    return true;
}

bool cfgGetInt(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, int64_t min, int64_t max,
               int64_t *out) {
    char kp[512];
    CfgScalar s = valueOf(ld, map, key, path, kp, sizeof(kp));
    if (s.text == NULL)
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s.text, &end, 10);
    if (errno != 0 || end == s.text || *end != '\0' || v < min || v > max) {
        cfgLoadError(ld, s.node, kp, "'%s' is not a whole number from %lld to %lld", s.text, (long long)min,
                     (long long)max);
        return false;
    }
    *out = v;
    return true;
}

bool cfgGetSeconds(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, int64_t *out) {
    char kp[512];
    CfgScalar s = valueOf(ld, map, key, path, kp, sizeof(kp));
    if (s.text == NULL)
        return false;
    if (!lbParseSeconds(s.text, out)) {
        cfgLoadError(ld, s.node, kp, "'%s' is not a duration (use 35d, 12h, 90m)", s.text);
        return false;
    }
    return true;
}

bool cfgGetList(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, bool required,
                const char *const **out, size_t *n, CfgScalar **items) {
    char kp[512];
    keyPath(kp, sizeof(kp), path, key);
    yaml_node_t *node = cfgGet(ld, map, key);
    *out = NULL;
    *n = 0;
    if (items)
        *items = NULL;
    if (cfgIsNull(node)) {
        if (required)
            cfgLoadError(ld, node ? node : map, node ? kp : path, node ? "a list is required" : "missing key '%s'",
                         key);
        return false;
    }
    if (node->type != YAML_SEQUENCE_NODE) {
        cfgLoadError(ld, node, kp, "expected a list, found %s", kindName(node));
        return false;
    }
    size_t count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    const char **v = lbXcalloc(count + 1, sizeof(char *));
    CfgScalar *sc = lbXcalloc(count + 1, sizeof(CfgScalar));
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        char ip[540];
        if (snprintf(ip, sizeof(ip), "%s[%zu]", kp, i) >= (int)sizeof(ip))
            memcpy(ip + sizeof(ip) - 4, "...", 4);
        sc[i] = cfgScalar(ld, cfgNode(ld, node->data.sequence.items.start[i]), ip);
        if (sc[i].text == NULL) {
            if (cfgIsNull(sc[i].node))
                cfgLoadError(ld, sc[i].node, ip, "empty list item");
            ok = false;
        }
        v[i] = sc[i].text;
    }
    if (required && count == 0) {
        cfgLoadError(ld, node, kp, "the list must not be empty");
        ok = false;
    }
    *out = (const char *const *)cfgLoadKeep(ld, (char *)v);
    *n = count;
    if (items)
        *items = (CfgScalar *)cfgLoadKeep(ld, (char *)sc);
    else
        free(sc);
    return ok;
}

/* ---- messages ---- */

/* libyaml's problem as FILE:LINE:COL: reason */
void cfgYamlError(CfgLoad *ld, yaml_parser_t *p) {
    const char *problem = p->problem ? p->problem : "unreadable YAML";
    yaml_mark_t m = p->problem_mark;
    char context[160] = "";
    if (p->context)
        snprintf(context, sizeof(context), " (%s at line %zu)", p->context, p->context_mark.line + 1);
    char *line = lbXasprintf("%s:%zu:%zu: %s%s\n", ld->path, m.line + 1, m.column + 1, problem, context);
    lbBufAppendStr(&ld->msgs, line);
    free(line);
    ld->errors++;
}

/* the column of the first tab in a line's indentation, or 0 */
size_t cfgTabIndent(const char *text, size_t *lineOut) {
    size_t line = 1;
    for (const char *p = text; *p;) {
        const char *q = p;
        while (*q == ' ' || *q == '\t') {
            if (*q == '\t') {
                *lineOut = line;
                return (size_t)(q - p) + 1;
            }
            q++;
        }
        p = strchr(p, '\n');
        if (p == NULL)
            break;
        p++;
        line++;
    }
    return 0;
}

/* "FILE:LINE:COL: ..." -> LINE * 2^20 + COL (after the file's name) */
static long messagePosition(const char *m, size_t skip) {
    char *end;
    long line = strtol(m + skip + 1, &end, 10);
    long col = *end == ':' ? strtol(end + 1, NULL, 10) : 0;
    /* a file name with digits and colons can make these anything: clamp */
    line = line < 0 ? 0 : line > (1L << 40) ? (1L << 40) : line;
    col = col < 0 ? 0 : col >= (1L << 20) ? (1L << 20) - 1 : col;
    return line * (1L << 20) + col;
}

typedef struct SortedMessage {
    long position;
    size_t order;
    char *text;
} SortedMessage;

static int compareMessages(const void *a, const void *b) {
    const SortedMessage *x = a, *y = b;
    if (x->position != y->position)
        return x->position < y->position ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* the messages in the order of the file */
void cfgSortMessages(LbBuf *msgs, size_t pathLen) {
    lbBufAppend(msgs, "", 1);
    size_t len, n = 0;
    char *all = (char *)lbBufTake(msgs, &len);
    SortedMessage *v = NULL;
    for (char *line = all, *next; *line; line = next) {
        next = strchr(line, '\n');
        *next++ = '\0';
        v = lbXrealloc(v, (n + 1) * sizeof(SortedMessage));
        v[n] = (SortedMessage){messagePosition(line, pathLen), n, line};
        n++;
    }
    qsort(v, n, sizeof(SortedMessage), compareMessages);
    for (size_t i = 0; i < n; i++) {
        lbBufAppendStr(msgs, v[i].text);
        lbBufAppend(msgs, "\n", 1);
    }
    free(v);
    free(all);
}
