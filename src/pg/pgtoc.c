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
    size_t *byId; /* indexes of entries, sorted by id */
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

static const PgToc *sortToc; /* qsort has no context argument */
static int cmpById(const void *a, const void *b) {
    int x = sortToc->entries[*(const size_t *)a].id, y = sortToc->entries[*(const size_t *)b].id;
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
    toc->byId = lbXmalloc((toc->count ? toc->count : 1) * sizeof(size_t));
    for (size_t i = 0; i < toc->count; i++)
        toc->byId[i] = i;
    sortToc = toc;
    qsort(toc->byId, toc->count, sizeof(size_t), cmpById);
    sortToc = NULL;
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
        int v = toc->entries[toc->byId[mid]].id;
        if (v == id)
            return (long)toc->byId[mid];
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

/* p after s as pg_restore prints it (newlines as spaces), or NULL. */
static const char *matchPart(const char *p, const char *s) {
    for (; *s; s++, p++)
        if (*p != ((*s == '\n' || *s == '\r') ? ' ' : *s))
            return NULL;
    return p;
}

/* The length of "A B" (or "A" when b is NULL) at the start of rest,
 * followed by a space or the end; 0 when it is not there. */
static size_t prefixLen(const char *rest, const char *a, const char *b) {
    const char *p = matchPart(rest, a);
    if (p && b)
        p = *p == ' ' ? matchPart(p + 1, b) : NULL;
    if (p == NULL || (*p != ' ' && *p != '\0'))
        return 0;
    return (size_t)(p - rest);
}

typedef struct Best {
    size_t len;
    const char *schema, *name;
} Best;

/* Keep (schema, name) in best when "A B" (or "A") starts rest and is longer than best's. */
static void consider(Best *best, const char *rest, const char *a, const char *b, const char *schema, const char *name) {
    size_t n = prefixLen(rest, a, b);
    if (n > best->len)
        *best = (Best){n, schema, name};
}

/* The table a TABLE entry is: the longest name known that fits. */
static Best entryTable(const TocEntry *e, const PgTocRequest *req) {
    Best best = {0};
    const PgTocName *lists[] = {req->known, req->tables};
    size_t counts[] = {req->knownCount, req->tableCount};
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            const PgTocName *n = &lists[l][i];
            consider(&best, e->rest, n->schema, n->name, n->schema, n->name);
        }
    return best;
}

/* The schema of an entry (for a SCHEMA entry: the one it creates). */
static const char *entrySchema(const TocEntry *e, const PgTocRequest *req) {
    if (e->type == NULL)
        return NULL;
    bool isSchema = strcmp(e->type, "SCHEMA") == 0;
    Best best = {0};
    const PgTocName *lists[] = {req->known, req->tables, req->schemas};
    size_t counts[] = {req->knownCount, req->tableCount, req->schemaCount};
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++) {
            const char *s = lists[l][i].schema;
            consider(&best, e->rest, isSchema ? "-" : s, isSchema ? s : NULL, s, NULL);
        }
    return best.schema;
}

static bool inList(char *const *list, size_t count, const char *s) {
    for (size_t i = 0; i < count; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------ selection */

enum { ENTRY_OUT = 0, ENTRY_CANDIDATE, ENTRY_IN };

/* Mark the SCHEMA entry of schema in (unless the target has it). Returns
 * whether the dump has one. */
static bool takeSchemaEntry(const PgToc *toc, const PgTocRequest *req, const char *schema, uint8_t *state) {
    bool found = false;
    for (size_t i = 0; i < toc->count; i++) {
        const TocEntry *e = &toc->entries[i];
        if (e->type && strcmp(e->type, "SCHEMA") == 0) {
            const char *s = entrySchema(e, req);
            if (s && strcmp(s, schema) == 0) {
                found = true;
                if (!inList(req->targetSchemas, req->targetSchemaCount, schema))
                    state[i] = ENTRY_IN;
            }
        }
    }
    return found;
}

/* Does e follow a chosen entry it depends on (see pgtoc.h)? */
static bool pulledIn(const PgToc *toc, const TocEntry *e, const uint8_t *state) {
    if (!typeIn(e->type, ownedTypes))
        return false;
    for (size_t d = 0; d < e->depCount; d++) {
        long j = findId(toc, e->deps[d]);
        if (j < 0 || state[j] != ENTRY_IN)
            continue;
        const char *on = toc->entries[j].type;
        if (on && strcmp(on, "SCHEMA") == 0) { /* of a schema only its comment and privileges */
            if (typeIn(e->type, (const char *const[]){"COMMENT", "ACL", "SECURITY LABEL", NULL}))
                return true;
        } else if (strcmp(e->type, "TABLE") != 0 || (on && strcmp(on, "TABLE") == 0)) {
            return true; /* a table follows only its parent */
        }
    }
    return false;
}

static bool inTarget(const PgTocRequest *req, Best b) {
    for (size_t i = 0; b.len > 0 && i < req->targetTableCount; i++)
        if (strcmp(req->targetTables[i].schema, b.schema) == 0 && strcmp(req->targetTables[i].name, b.name) == 0)
            return true;
    return false;
}

/* The first relation e depends on that is neither chosen nor in the
 * target, or -1. A constraint or index not chosen counts as in the target
 * when its table is (depth limits that look-up to one level). */
static long missingRelation(const PgToc *toc, const PgTocRequest *req, const TocEntry *e, const uint8_t *state,
                            int depth) {
    for (size_t d = 0; d < e->depCount; d++) {
        long j = findId(toc, e->deps[d]);
        if (j < 0 || state[j] == ENTRY_IN || !typeIn(toc->entries[j].type, relationTypes))
            continue;
        const TocEntry *on = &toc->entries[j];
        if (strcmp(on->type, "TABLE") == 0 && inTarget(req, entryTable(on, req)))
            continue;
        if (depth == 0 && !typeIn(on->type, (const char *const[]){"TABLE", "VIEW", "MATERIALIZED VIEW", NULL}) &&
            missingRelation(toc, req, on, state, 1) < 0)
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

bool pgtocSelect(const PgToc *toc, const PgTocRequest *req, PgTocSelection *out, LbError *err) {
    memset(out, 0, sizeof(*out));
    uint8_t *state = lbXcalloc(toc->count ? toc->count : 1, 1);
    bool ok = false;
    for (size_t t = 0; t < req->tableCount; t++) {
        const PgTocName *want = &req->tables[t];
        bool found = false;
        for (size_t i = 0; i < toc->count; i++) {
            const TocEntry *e = &toc->entries[i];
            if (e->type == NULL || strcmp(e->type, "TABLE") != 0)
                continue;
            Best b = entryTable(e, req);
            if (b.len > 0 && strcmp(b.schema, want->schema) == 0 && strcmp(b.name, want->name) == 0) {
                state[i] = ENTRY_IN;
                found = true;
            }
        }
        if (!found) {
            lbErr(err, LB_ERR_NOT_FOUND, "table '%s.%s' is not in %s", want->schema, want->name, req->dumpName);
            goto cleanup;
        }
        takeSchemaEntry(toc, req, want->schema, state);
    }
    for (size_t s = 0; s < req->schemaCount; s++) {
        const char *want = req->schemas[s].schema;
        bool found = takeSchemaEntry(toc, req, want, state);
        for (size_t i = 0; i < toc->count; i++) {
            const TocEntry *e = &toc->entries[i];
            if (e->type == NULL || strcmp(e->type, "SCHEMA") == 0 || state[i] == ENTRY_IN)
                continue;
            const char *es = entrySchema(e, req);
            if (es && strcmp(es, want) == 0) {
                state[i] = ENTRY_CANDIDATE;
                found = true;
            }
        }
        if (!found) {
            lbErr(err, LB_ERR_NOT_FOUND, "schema '%s' is not in %s", want, req->dumpName);
            goto cleanup;
        }
    }
    for (size_t i = 0; i < toc->count; i++)
        if (typeIn(toc->entries[i].type, settingTypes))
            state[i] = ENTRY_IN;

    /* take every candidate whose relations are taken, until nothing changes */
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < toc->count; i++) {
            const TocEntry *e = &toc->entries[i];
            if (state[i] == ENTRY_IN)
                continue;
            if (state[i] == ENTRY_OUT && pulledIn(toc, e, state))
                state[i] = ENTRY_CANDIDATE;
            if (state[i] == ENTRY_CANDIDATE && missingRelation(toc, req, e, state, 0) < 0) {
                state[i] = ENTRY_IN;
                changed = true;
            }
        }
    }
    LbBuf left = {0};
    for (size_t i = 0; i < toc->count; i++) {
        const TocEntry *e = &toc->entries[i];
        if (state[i] == ENTRY_IN) {
            lbBufAppendStr(&out->list, e->line);
            lbBufAppend(&out->list, "\n", 1);
            out->selected++;
        } else if (state[i] == ENTRY_CANDIDATE) {
            long j = missingRelation(toc, req, e, state, 0);
            char *what = describe(e), *needs = j >= 0 ? describe(&toc->entries[j]) : lbXstrdup("?");
            char *line =
                lbXasprintf("%sleft out %s: it needs %s, which is neither restored nor in the target", left.len ? "\n" : "", what, needs);
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
    ok = true;
cleanup:
    if (!ok)
        pgtocSelectionClear(out);
    free(state);
    return ok;
}

void pgtocSelectionClear(PgTocSelection *sel) {
    lbBufFree(&sel->list);
    free(sel->leftOut);
    memset(sel, 0, sizeof(*sel));
}
