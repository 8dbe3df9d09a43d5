/*
 * pgtoc.h - a custom-format dump's table of contents, as `pg_restore --list
 * --verbose` prints it, and the choice of the entries that restore some
 * tables or schemas (`restore --pg-target --table/--schema`, written to a
 * `pg_restore --use-list` file).
 *
 * An entry line is "ID; CATALOG-OID OID TYPE SCHEMA TAG OWNER" (names with
 * newlines turned into spaces, so a name with a space is ambiguous on its
 * own); with --verbose a line ";\tdepends on: ID ..." follows it. The
 * selection works on dump IDs and dependencies, so names are read only to
 * find the chosen tables and schemas: a name is matched against the names
 * the caller knows (the snapshot's table list and the requested names), the
 * longest match winning ("public" "a b" rather than "public" "a" for
 * "public a b postgres").
 *
 * What a chosen table brings (entries that depend on it, transitively):
 * TABLE DATA, DEFAULT, CONSTRAINT, CHECK CONSTRAINT, FK CONSTRAINT, INDEX,
 * INDEX ATTACH, TRIGGER, RULE, ROW SECURITY, POLICY, STATISTICS, COMMENT,
 * SECURITY LABEL, ACL, the sequences it owns (SEQUENCE, SEQUENCE OWNED BY,
 * SEQUENCE SET), its partitions or inheritance children (TABLE, TABLE
 * ATTACH). A chosen schema brings every entry whose schema it is. An entry
 * that needs a relation (table, view, index, constraint) that is not
 * restored is left out and reported (a foreign key to another table, a
 * partition's ATTACH to a parent not restored), unless the target has that
 * table already (restoring a dropped table into the live database brings
 * back the foreign keys of the tables that refer to it). Other things an entry needs
 * (functions called by triggers or defaults, types, extensions, sequences
 * not owned by the table) are expected to exist in the target. A schema the
 * target lacks is created from its SCHEMA entry.
 */
#ifndef LIFEBOAT_PG_PGTOC_H
#define LIFEBOAT_PG_PGTOC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

typedef struct PgToc PgToc;

/* Parse a listing (copied). Never fails: lines that are not entries are
 * skipped. Free with pgtocFree (NULL is a no-op). */
PgToc *pgtocNew(const char *listing);
void pgtocFree(PgToc *toc);
size_t pgtocCount(const PgToc *toc);

/* A schema-qualified name as the catalog has it (no quotes). */
typedef struct PgTocName {
    char *schema, *name; /* owned; name NULL for a schema alone */
} PgTocName;

/* Parse "SCHEMA.TABLE" (qualified) or "SCHEMA": a part in double quotes is
 * taken literally ("" for a quote; the way quote_ident writes names, so the
 * snapshot's table keys parse too), an unquoted part exactly as written
 * (case-sensitive; no dot in it). LB_ERR_ARGS when text is not that. */
bool pgtocNameParse(const char *text, bool qualified, PgTocName *out, LbError *err);
void pgtocNameClear(PgTocName *name);

typedef struct PgTocRequest {
    const PgTocName *tables; /* --table (borrowed) */
    size_t tableCount;
    const PgTocName *schemas; /* --schema (name NULL) */
    size_t schemaCount;
    const PgTocName *known; /* every table the snapshot lists, to tell names with spaces apart */
    size_t knownCount;
    char *const *targetSchemas; /* the schemas the target has; their SCHEMA entries are not restored */
    size_t targetSchemaCount;
    const PgTocName *targetTables; /* the tables the target has: an entry may need them */
    size_t targetTableCount;
    const char *dumpName; /* for messages: "snapshot 1a2b3c4d's dump" */
} PgTocRequest;

typedef struct PgTocSelection {
    LbBuf list;      /* the --use-list file: the chosen entry lines in TOC order, NUL-terminated */
    size_t selected; /* entries chosen */
    char *leftOut;   /* one line per entry left out and why (owned, NULL when none) */
} PgTocSelection;

/* Choose the entries of req (see above). LB_ERR_NOT_FOUND naming the first
 * table or schema no entry matches ("table 'public.x' is not in snapshot
 * 1a2b3c4d's dump"). The listing must come from --list --verbose (without
 * the dependency lines only the named tables and schemas would be chosen). */
bool pgtocSelect(const PgToc *toc, const PgTocRequest *req, PgTocSelection *out, LbError *err);
void pgtocSelectionClear(PgTocSelection *sel);

#endif
