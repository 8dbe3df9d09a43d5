/* pgtoc.c - parse pg_restore --list --verbose and choose the entries of some tables or schemas (pg/pgtoc.h). */
#include "pg/pgtoc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ parsing */

/* pg_dump's entry types (te->desc); the longest one that fits is taken,
 * so "TABLE DATA" wins over "TABLE". */
static const char *const tocTypes[] = {"ACCESS METHOD",
                                       "ACL",
                                       "AGGREGATE",
                                       "BLOB",
                                       "BLOB METADATA",
                                       "BLOBS",
                                       "CAST",
                                       "CHECK CONSTRAINT",
                                       "COLLATION",
                                       "COMMENT",
                                       "CONSTRAINT",
                                       "CONVERSION",
                                       "DATABASE",
                                       "DATABASE PROPERTIES",
                                       "DEFAULT",
                                       "DEFAULT ACL",
                                       "DOMAIN",
                                       "ENCODING",
                                       "EVENT TRIGGER",
                                       "EXTENSION",
                                       "FK CONSTRAINT",
                                       "FOREIGN DATA WRAPPER",
                                       "FOREIGN SERVER",
                                       "FOREIGN TABLE",
                                       "FUNCTION",
                                       "INDEX",
                                       "INDEX ATTACH",
                                       "LARGE OBJECT",
                                       "MATERIALIZED VIEW",
                                       "MATERIALIZED VIEW DATA",
                                       "OPERATOR",
                                       "OPERATOR CLASS",
                                       "OPERATOR FAMILY",
                                       "POLICY",
                                       "PROCEDURAL LANGUAGE",
                                       "PROCEDURE",
                                       "PUBLICATION",
                                       "PUBLICATION TABLE",
                                       "PUBLICATION TABLES IN SCHEMA",
                                       "ROW SECURITY",
                                       "RULE",
                                       "SCHEMA",
                                       "SEARCHPATH",
                                       "SECURITY LABEL",
                                       "SEQUENCE",
                                       "SEQUENCE OWNED BY",
                                       "SEQUENCE SET",
                                       "SERVER",
                                       "SHELL TYPE",
                                       "STATISTICS",
                                       "STATISTICS DATA",
                                       "STDSTRINGS",
                                       "SUBSCRIPTION",
                                       "SUBSCRIPTION TABLE",
                                       "TABLE",
                                       "TABLE ATTACH",
                                       "TABLE DATA",
                                       "TEXT SEARCH CONFIGURATION",
                                       "TEXT SEARCH DICTIONARY",
                                       "TEXT SEARCH PARSER",
                                       "TEXT SEARCH TEMPLATE",
                                       "TRANSFORM",
                                       "TRIGGER",
                                       "TYPE",
                                       "USER MAPPING",
                                       "VIEW",
                                       NULL};

/* what a chosen table brings along (entries depending on it) */
static const char *const ownedTypes[] = {"TABLE DATA",
                                         "DEFAULT",
                                         "CONSTRAINT",
                                         "CHECK CONSTRAINT",
                                         "FK CONSTRAINT",
                                         "INDEX",
                                         "INDEX ATTACH",
                                         "TRIGGER",
                                         "RULE",
                                         "ROW SECURITY",
                                         "POLICY",
                                         "STATISTICS",
                                         "COMMENT",
                                         "SECURITY LABEL",
                                         "ACL",
                                         "SEQUENCE",
                                         "SEQUENCE OWNED BY",
                                         "SEQUENCE SET",
                                         "TABLE",
                                         "TABLE ATTACH",
                                         NULL};

/* what an entry cannot do without: restored with it, or it is left out */
static const char *const relationTypes[] = {"TABLE",      "FOREIGN TABLE",    "VIEW",          "MATERIALIZED VIEW",
                                            "CONSTRAINT", "CHECK CONSTRAINT", "FK CONSTRAINT", "INDEX",
                                            NULL};

/* pg_restore handles these itself; listed so that the list is complete */
static const char *const settingTypes[] = {"ENCODING", "STDSTRINGS", "SEARCHPATH", NULL};

typedef struct TocEntry {
    int id;
    const char *line; /* the entry line (in PgToc.text) */
    const char *type; /* one of tocTypes, NULL when unknown */
    const char *rest; /* after the type: "SCHEMA TAG OWNER"; "" when the type is unknown */
    int *deps;
    size_t depCount;
} TocEntry;

struct PgToc {
    char *text;
    TocEntry *entries;
    size_t count;
    struct IdIndex {
        int id;
        size_t index;
    } * byId; /* sorted by id */
};

static bool typeIn(const char *type, const char *const *set) {
    for (size_t i = 0; type && set[i]; i++)
        if (strcmp(type, set[i]) == 0)
            return true;
    return false;
}

/* The number at *p; false when there is none. */
static bool readInt(const char **p, long *out) {
    char *end;
    if (**p < '0' || **p > '9')
        return false;
    *out = strtol(*p, &end, 10);
    *p = end;
    return true;
}

static void parseEntry(PgToc *toc, char *line) {
    const char *p = line;
    long id, catalog, oid;
    if (!readInt(&p, &id) || strncmp(p, "; ", 2) != 0)
        return;
    p += 2;
    if (!readInt(&p, &catalog) || *p++ != ' ' || !readInt(&p, &oid) || *p++ != ' ')
        return;
    TocEntry e = {.id = (int)id, .line = line, .rest = ""};
    size_t best = 0;
    for (size_t i = 0; tocTypes[i]; i++) {
        size_t n = strlen(tocTypes[i]);
        if (n > best && strncmp(p, tocTypes[i], n) == 0 && (p[n] == ' ' || p[n] == '\0')) {
            best = n;
            e.type = tocTypes[i];
            e.rest = p[n] == ' ' ? p + n + 1 : p + n;
        }
    }
    toc->entries = lbXrealloc(toc->entries, (toc->count + 1) * sizeof(TocEntry));
    toc->entries[toc->count++] = e;
}

static void parseDeps(PgToc *toc, const char *p) {
    if (toc->count == 0)
        return;
    TocEntry *e = &toc->entries[toc->count - 1];
    long id;
    for (;;) {
        while (*p == ' ')
            p++;
        if (!readInt(&p, &id))
            break;
        e->deps = lbXrealloc(e->deps, (e->depCount + 1) * sizeof(int));
        e->deps[e->depCount++] = (int)id;
    }
}

static int cmpById(const void *a, const void *b) {
    int x = ((const struct IdIndex *)a)->id, y = ((const struct IdIndex *)b)->id;
    return (x > y) - (x < y);
}

PgToc *pgtocNew(const char *listing) {
    PgToc *toc = lbXcalloc(1, sizeof(PgToc));
    toc->text = lbXstrdup(listing ? listing : "");
    static const char depends[] = ";\tdepends on:";
    char *save = NULL;
    for (char *line = strtok_r(toc->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, depends, sizeof(depends) - 1) == 0)
            parseDeps(toc, line + sizeof(depends) - 1);
        else if (line[0] >= '0' && line[0] <= '9')
            parseEntry(toc, line);
    }
    toc->byId = lbXmalloc((toc->count ? toc->count : 1) * sizeof(struct IdIndex));
    for (size_t i = 0; i < toc->count; i++)
        toc->byId[i] = (struct IdIndex){toc->entries[i].id, i};
    qsort(toc->byId, toc->count, sizeof(struct IdIndex), cmpById);
    return toc;
}

void pgtocFree(PgToc *toc) {
    if (toc == NULL)
        return;
    for (size_t i = 0; i < toc->count; i++)
        free(toc->entries[i].deps);
    free(toc->entries);
    free(toc->byId);
    free(toc->text);
    free(toc);
}

size_t pgtocCount(const PgToc *toc) {
    return toc->count;
}

/* The index of the entry with dump ID id, or -1. */
static long findId(const PgToc *toc, int id) {
    size_t lo = 0, hi = toc->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int v = toc->byId[mid].id;
        if (v == id)
            return (long)toc->byId[mid].index;
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* ------------------------------------------------------------ names */

/* One part of a name at *p: quoted ("" for a quote) or up to a dot. */
static bool parsePart(const char **p, char **out) {
    LbBuf b = {0};
    const char *s = *p;
    if (*s == '"') {
        for (s++;; s++) {
            if (*s == '\0') {
                lbBufFree(&b);
                return false;
            }
            if (*s == '"' && s[1] != '"')
                break;
            if (*s == '"')
                s++;
            lbBufAppend(&b, s, 1);
        }
        s++;
    } else {
        while (*s && *s != '.')
            lbBufAppend(&b, s++, 1);
    }
    if (b.len == 0) {
        lbBufFree(&b);
        return false;
    }
    lbBufAppend(&b, "", 1);
    *out = (char *)lbBufTake(&b, NULL);
    *p = s;
    return true;
}

bool pgtocNameParse(const char *text, bool qualified, PgTocName *out, LbError *err) {
    memset(out, 0, sizeof(*out));
    const char *p = text;
    bool ok;
    if (!qualified && text[0] != '"') { /* a schema: all of it */
        ok = text[0] != '\0';
        if (ok)
            out->schema = lbXstrdup(text);
    } else {
        ok = parsePart(&p, &out->schema);
        if (ok && qualified)
            ok = *p++ == '.' && parsePart(&p, &out->name);
        ok = ok && *p == '\0';
    }
    if (!ok) {
        pgtocNameClear(out);
        return lbErr(err, LB_ERR_ARGS,
                     qualified ? "'%s' is not SCHEMA.TABLE (write a name that holds a dot or a quote in double "
                                 "quotes: '\"my.schema\".\"Table\"')"
                               : "'%s' is not a schema name (an unbalanced double quote?)",
                     text);
    }
    return true;
}

void pgtocNameClear(PgTocName *name) {
    free(name->schema);
    free(name->name);
    memset(name, 0, sizeof(*name));
}

/* The table (schema, name) a TABLE entry names, len the length of "SCHEMA NAME" in its line (0: unknown). */
typedef struct Best {
    size_t len;
    const char *schema, *name;
} Best;

static bool inList(char *const *list, size_t count, const char *s) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------ selection */

enum { ENTRY_OUT = 0, ENTRY_CANDIDATE, ENTRY_IN };

/* One selection: what each entry names, worked out once. */
typedef struct Ctx {
    const PgToc *toc;
    const PgTocRequest *req;
    uint8_t *state;        /* ENTRY_* per entry */
    const char **schemaOf; /* per entry: its schema (a SCHEMA entry: the one it creates); NULL when unknown */
    Best *tableOf;         /* per TABLE entry: the table it is (len 0: unknown) */
    bool *inTarget;        /* per TABLE entry: the target has that table */
} Ctx;

/* Names as pg_restore prints them ("SCHEMA NAME" or "SCHEMA", newlines as
 * spaces), sorted, for finding the longest one a listed entry starts with. */
typedef struct Key {
    char *text;
    const char *schema, *name;
} Key;
typedef struct Keys {
    Key *items;
    size_t count;
} Keys;

static void keysAdd(Keys *k, const char *schema, const char *name) {
    char *t = name ? lbXasprintf("%s %s", schema, name) : lbXstrdup(schema);
    for (char *p = t; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    k->items = lbXrealloc(k->items, (k->count + 1) * sizeof(Key));
    k->items[k->count++] = (Key){t, schema, name};
}

static int cmpKey(const void *a, const void *b) {
    return strcmp(((const Key *)a)->text, ((const Key *)b)->text);
}

static void keysSort(Keys *k) {
    if (k->count > 0)
        qsort(k->items, k->count, sizeof(Key), cmpKey);
}

static void keysFree(Keys *k) {
    for (size_t i = 0; i < k->count; i++)
        free(k->items[i].text);
    free(k->items);
}

/* The longest key that rest starts with, followed by a space or the end
 * (only the splits at spaces are looked up). NULL when none. */
static const Key *keysLongest(const Keys *k, const char *rest) {
    size_t len = strlen(rest);
    for (size_t l = len; l > 0; l--) {
        if (l < len && rest[l] != ' ')
            continue;
        size_t lo = 0, hi = k->count;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            const char *t = k->items[mid].text;
            int c = strncmp(t, rest, l);
            if (c == 0 && t[l] != '\0')
                c = 1;
            if (c == 0)
                return &k->items[mid];
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return NULL;
}

/* Work out each entry's schema and each TABLE entry's table: the longest
 * known name that fits. */
static void ctxInit(Ctx *c, const PgToc *toc, const PgTocRequest *req) {
    size_t n = toc->count ? toc->count : 1;
    *c = (Ctx){.toc = toc,
               .req = req,
               .state = lbXcalloc(n, 1),
               .schemaOf = lbXcalloc(n, sizeof(char *)),
               .tableOf = lbXcalloc(n, sizeof(Best)),
               .inTarget = lbXcalloc(n, sizeof(bool))};
    Keys schemas = {0}, tables = {0}, target = {0};
    const PgTocName *lists[] = {req->known, req->tables, req->schemas};
    size_t counts[] = {req->knownCount, req->tableCount, req->schemaCount};
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            keysAdd(&schemas, lists[l][i].schema, NULL);
            if (l < 2)
                keysAdd(&tables, lists[l][i].schema, lists[l][i].name);
        }
    for (size_t i = 0; i < req->targetTableCount; i++)
        keysAdd(&target, req->targetTables[i].schema, req->targetTables[i].name);
    keysSort(&schemas);
    keysSort(&tables);
    keysSort(&target);
    for (size_t i = 0; i < toc->count; i++) {
        const TocEntry *e = &toc->entries[i];
        if (e->type == NULL)
            continue;
        bool isSchema = strcmp(e->type, "SCHEMA") == 0;
        if (isSchema && strncmp(e->rest, "- ", 2) != 0)
            continue;
        const Key *k = keysLongest(&schemas, isSchema ? e->rest + 2 : e->rest);
        c->schemaOf[i] = k ? k->schema : NULL;
        if (strcmp(e->type, "TABLE") != 0 || (k = keysLongest(&tables, e->rest)) == NULL)
            continue;
        c->tableOf[i] = (Best){strlen(k->text), k->schema, k->name};
        /* the target's names are exact: look the whole key up */
        const Key *t = keysLongest(&target, k->text);
        c->inTarget[i] = t && strcmp(t->text, k->text) == 0;
    }
    keysFree(&schemas);
    keysFree(&tables);
    keysFree(&target);
}

static void ctxFree(Ctx *c) {
    free(c->state);
    free(c->schemaOf);
    free(c->tableOf);
    free(c->inTarget);
}

/* Mark the SCHEMA entry of schema in (unless the target has it). Returns
 * whether the dump has one. */
static bool takeSchemaEntry(Ctx *c, const char *schema) {
    bool found = false;
    for (size_t i = 0; i < c->toc->count; i++) {
        const TocEntry *e = &c->toc->entries[i];
        if (e->type && strcmp(e->type, "SCHEMA") == 0 && c->schemaOf[i] && strcmp(c->schemaOf[i], schema) == 0) {
            found = true;
            if (!inList(c->req->targetSchemas, c->req->targetSchemaCount, schema))
                c->state[i] = ENTRY_IN;
        }
    }
    return found;
}

/* Does e follow a chosen entry it depends on (see pgtoc.h)? */
static bool pulledIn(const Ctx *c, const TocEntry *e) {
    if (!typeIn(e->type, ownedTypes))
        return false;
    for (size_t d = 0; d < e->depCount; d++) {
        long j = findId(c->toc, e->deps[d]);
        if (j < 0 || c->state[j] != ENTRY_IN)
            continue;
        const char *on = c->toc->entries[j].type;
        if (on && strcmp(on, "SCHEMA") == 0) { /* of a schema only its comment and privileges */
            if (typeIn(e->type, (const char *const[]){"COMMENT", "ACL", "SECURITY LABEL", NULL}))
                return true;
        } else if (strcmp(e->type, "TABLE") != 0 || (on && strcmp(on, "TABLE") == 0)) {
            return true; /* a table follows only its parent */
        }
    }
    return false;
}

/* The first relation e depends on that is neither chosen nor in the
 * target, or -1. A constraint or index not chosen counts as in the target
 * when its table is (depth limits that look-up to one level). */
static long missingRelation(const Ctx *c, const TocEntry *e, int depth) {
    for (size_t d = 0; d < e->depCount; d++) {
        long j = findId(c->toc, e->deps[d]);
        if (j < 0 || c->state[j] == ENTRY_IN || !typeIn(c->toc->entries[j].type, relationTypes) || c->inTarget[j])
            continue;
        const TocEntry *on = &c->toc->entries[j];
        if (depth == 0 && !typeIn(on->type, (const char *const[]){"TABLE", "VIEW", "MATERIALIZED VIEW", NULL}) &&
            missingRelation(c, on, 1) < 0)
            continue;
        return j;
    }
    return -1;
}

/* "TYPE SCHEMA TAG" of an entry for messages (the owner, the last word, dropped). */
static char *describe(const TocEntry *e) {
    const char *start = e->type ? e->type : e->line;
    char *s = e->type ? lbXasprintf("%s %s", e->type, e->rest) : lbXstrdup(start);
    char *sp = strrchr(s, ' ');
    if (sp && e->type && sp > s + strlen(e->type))
        *sp = '\0';
    return s;
}

/* Mark the explicitly chosen entries: the tables (and their schemas), the
 * schemas' entries (candidates), the settings. */
static bool chooseNamed(Ctx *c, LbError *err) {
    const PgTocRequest *req = c->req;
    const PgToc *toc = c->toc;
    for (size_t t = 0; t < req->tableCount; t++) {
        const PgTocName *want = &req->tables[t];
        bool found = false;
        for (size_t i = 0; i < toc->count; i++) {
            const Best *b = &c->tableOf[i];
            if (b->len > 0 && strcmp(b->schema, want->schema) == 0 && strcmp(b->name, want->name) == 0) {
                c->state[i] = ENTRY_IN;
                found = true;
            }
        }
        if (!found)
            return lbErr(err, LB_ERR_NOT_FOUND, "table '%s.%s' is not in %s", want->schema, want->name, req->dumpName);
        takeSchemaEntry(c, want->schema);
    }
    for (size_t s = 0; s < req->schemaCount; s++) {
        const char *want = req->schemas[s].schema;
        bool found = takeSchemaEntry(c, want);
        for (size_t i = 0; i < toc->count; i++) {
            const TocEntry *e = &toc->entries[i];
            if (strcmp(e->type ? e->type : "SCHEMA", "SCHEMA") == 0 || c->state[i] == ENTRY_IN)
                continue;
            if (c->schemaOf[i] && strcmp(c->schemaOf[i], want) == 0) {
                c->state[i] = ENTRY_CANDIDATE;
                found = true;
            }
        }
        if (!found)
            return lbErr(err, LB_ERR_NOT_FOUND, "schema '%s' is not in %s", want, req->dumpName);
    }
    for (size_t i = 0; i < toc->count; i++)
        if (typeIn(toc->entries[i].type, settingTypes))
            c->state[i] = ENTRY_IN;
    return true;
}

bool pgtocSelect(const PgToc *toc, const PgTocRequest *req, PgTocSelection *out, LbError *err) {
    memset(out, 0, sizeof(*out));
    Ctx c;
    ctxInit(&c, toc, req);
    if (!chooseNamed(&c, err)) {
        ctxFree(&c);
        return false;
    }
    /* take every candidate whose relations are taken, until nothing changes */
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < toc->count; i++) {
            const TocEntry *e = &toc->entries[i];
            if (c.state[i] == ENTRY_IN)
                continue;
            if (c.state[i] == ENTRY_OUT && pulledIn(&c, e))
                c.state[i] = ENTRY_CANDIDATE;
            if (c.state[i] == ENTRY_CANDIDATE && missingRelation(&c, e, 0) < 0) {
                c.state[i] = ENTRY_IN;
                changed = true;
            }
        }
    }
    LbBuf left = {0};
    for (size_t i = 0; i < toc->count; i++) {
        const TocEntry *e = &toc->entries[i];
        if (c.state[i] == ENTRY_IN) {
            lbBufAppendStr(&out->list, e->line);
            lbBufAppend(&out->list, "\n", 1);
            out->selected++;
        } else if (c.state[i] == ENTRY_CANDIDATE) {
            long j = missingRelation(&c, e, 0);
            char *what = describe(e), *needs = j >= 0 ? describe(&toc->entries[j]) : lbXstrdup("?");
            char *line = lbXasprintf("%sleft out %s: it needs %s, which is neither restored nor in the target",
                                     left.len ? "\n" : "", what, needs);
            lbBufAppendStr(&left, line);
            free(line);
            free(what);
            free(needs);
        }
    }
    lbBufAppend(&out->list, "", 1);
    out->list.len--;
    if (left.len) {
        lbBufAppend(&left, "", 1);
        out->leftOut = (char *)lbBufTake(&left, NULL);
    }
    ctxFree(&c);
    return true;
}

void pgtocSelectionClear(PgTocSelection *sel) {
    lbBufFree(&sel->list);
    free(sel->leftOut);
    memset(sel, 0, sizeof(*sel));
}
