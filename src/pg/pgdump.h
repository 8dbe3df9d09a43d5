/*
 * pgdump.h - logical backups of one PostgreSQL database: pg_dump in custom
 * format streamed into the repository, verified with pg_restore before the
 * snapshot is written, and restored with pg_restore.
 *
 * Backup (pgdumpBackup):
 *   1. Connect with libpq and open a REPEATABLE READ, READ ONLY transaction;
 *      export its snapshot (pg_export_snapshot) and list the user tables in it.
 *   2. pg_dumpall --globals-only (roles, tablespaces) into memory.
 *   3. pg_dump --format=custom --compress=0 --snapshot=ID: its stdout goes
 *      through a pipe straight into the chunker (no temporary file), so
 *      consecutive dumps of a database that changed a little share most
 *      chunks. Meanwhile a thread counts the rows of every table in the same
 *      transaction, so the counts describe exactly the data in the dump; it
 *      starts once pg_dump holds its table locks (seen in pg_locks), so that
 *      no ALTER TABLE can queue between our lock and pg_dump's.
 *   4. Verification: the stored dump is streamed back out of the repository
 *      into `pg_restore --list` (its table of contents must list a TABLE and
 *      a TABLE DATA entry for every table counted) and into
 *      `pg_restore --file=/dev/null` (which reads every data block, so a
 *      truncated or damaged dump fails).
 *   The packs, trees and index are written; the snapshot is left to the
 *   caller, who writes it only when this succeeded.
 *
 * Stored files: dump.pgcustom (pg_dump's output) and globals.sql.
 * Snapshot meta (see docs/commands.md): type "postgresql-logical", tool,
 * server_version, database, format "custom", dump_size, globals_size,
 * row_counts ("exact" or "estimate"), tables {"schema.table": rows}, ...
 *
 * Passwords: see pg/pgconn.h; none reaches a command line or a message.
 */
#ifndef LIFEBOAT_PG_PGDUMP_H
#define LIFEBOAT_PG_PGDUMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "archiver/archiver.h"
#include "common/buf.h"
#include "pg/pgconn.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"

#define PGDUMP_DUMP_FILE "dump.pgcustom"
#define PGDUMP_GLOBALS_FILE "globals.sql"
#define PGDUMP_META_TYPE "postgresql-logical"

/* FROM and WHERE of the tables a logical backup counts (and a drill's
 * verification counts again): ordinary tables, partitions included, outside
 * the system schemas, not temporary, not members of an extension; c is
 * pg_class, n pg_namespace. */
#define PGDUMP_COUNTED_TABLES_FROM                                                                                     \
    " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                             \
    " WHERE c.relkind = 'r' AND c.relpersistence <> 't'"                                                               \
    " AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"                                                   \
    " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = "                                         \
    "'pg_catalog.pg_class'::pg_catalog.regclass"                                                                       \
    " AND d.objid = c.oid AND d.deptype = 'e')"

typedef enum {
    PGDUMP_COUNT_EXACT = 0, /* COPY lines per table in the stored dump (read back by the verification) */
    PGDUMP_COUNT_ESTIMATE,  /* pg_class.reltuples (as of the last VACUUM/ANALYZE) */
} PgDumpCountMode;

typedef struct PgDumpOptions {
    const PgConnInfo *conn; /* the database to dump (borrowed) */
    const char *binDir;     /* where pg_dump & co. live; NULL = PATH */
    PgDumpCountMode countMode;
    bool noGlobals; /* skip pg_dumpall --globals-only */
    ArchiverProgressCb progress;
    void *progressCtx;
} PgDumpOptions;

typedef struct PgDumpResult {
    ArchiverResult archive; /* tree, summary, paths of the stored files */
    json_t *meta;           /* snapshot metadata (owned reference) */
    char *warnings;         /* what pg_dumpall/pg_dump printed when they succeeded (owned, may be NULL; kept on
                               failure too) */
} PgDumpResult;

/* Dump, store and verify (see above) into repo, which has its index loaded
 * and a lock held. On failure nothing refers to the stored data (prune
 * removes it) and err says why: the client program's own message for a
 * failed pg_dump/pg_dumpall, "verification failed: ..." for a dump that does
 * not read back. */
bool pgdumpBackup(Repo *repo, const PgDumpOptions *opts, PgDumpResult *result, LbError *err);
void pgdumpResultClear(PgDumpResult *result);

/* One table the table of contents must list. */
typedef struct PgDumpTable {
    char *schema, *name, *owner; /* as the catalog has them */
} PgDumpTable;

/* Stream the stored file node into `pg_restore --list` and a full
 * `pg_restore` pass; require both to succeed and the TOC to list TABLE and
 * TABLE DATA for every one of tables. With rows (tableCount entries), the
 * full pass's SQL is read back and rows[i] set to the number of COPY lines
 * of the table whose quoted name is keys[i] ("schema"."name" as
 * quote_ident writes it); a table without data fails. *tocEntries receives
 * the number of TOC entries. Errors start with "verification failed: ". */
bool pgdumpVerify(Repo *repo, const Node *dump, const char *binDir, const PgDumpTable *tables, size_t tableCount,
                  char *const *keys, int64_t *rows, size_t *tocEntries, LbError *err);

/* Stream the stored file node into `pg_restore --list --verbose` (the table
 * of contents with each entry's dependencies, see pg/pgtoc.h); its output,
 * NUL-terminated, replaces listing's content. */
bool pgdumpListToc(Repo *repo, const Node *dump, const char *binDir, LbBuf *listing, LbError *err);

typedef struct PgRestoreOptions {
    const PgConnInfo *target; /* the database to restore into (borrowed) */
    const char *binDir;
    bool create;  /* CREATE DATABASE the target first (fails if it exists) */
    bool clean;   /* pg_restore --clean --if-exists */
    bool globals; /* run globals.sql with psql first (roles, tablespaces) */
    bool noOwner; /* pg_restore --no-owner */
    bool noAcl;   /* pg_restore --no-acl */
    bool verify;  /* compare row counts with the snapshot's (exact counts only) */
    int jobs;     /* > 1: parallel pg_restore from a temporary file */
    /* restore only these tables ("SCHEMA.TABLE") and schemas, through a
     * `pg_restore --use-list` file (pg/pgtoc.h); borrowed */
    const char *const *tables;
    size_t tableCount;
    const char *const *schemas;
    size_t schemaCount;
} PgRestoreOptions;

typedef struct PgRestoreResult {
    uint64_t dumpBytes;
    size_t tablesVerified;
    size_t tocEntries, tocSelected; /* with tables or schemas: entries in the dump, entries restored */
    char *warnings; /* what psql/pg_restore printed when they succeeded, or all pg_restore printed when it
                       failed with more than its error message quotes (owned, may be NULL) */
} PgRestoreResult;

/* Restore a logical PostgreSQL snapshot into opts->target. Fails with the
 * program's own message when psql or pg_restore fails. With tables or
 * schemas, a name the dump lacks fails (LB_ERR_NOT_FOUND) before anything is
 * written, and the entries left out (a foreign key to a table not restored)
 * are listed in the warnings. */
bool pgdumpRestore(Repo *repo, const Snapshot *snap, const PgRestoreOptions *opts, PgRestoreResult *result,
                   LbError *err);
void pgdumpRestoreResultClear(PgRestoreResult *result);

/* The snapshot ref names ("latest": the newest logical PostgreSQL snapshot
 * matching filter; an ID: that snapshot, as snapshotFind). LB_ERR_NOT_FOUND
 * when no logical snapshot matches 'latest'. */
bool pgdumpFindSnapshot(Repo *repo, const char *ref, const SnapshotFilter *filter, Snapshot *out, LbError *err);

/* Is snap a logical PostgreSQL backup (meta type postgresql-logical)? */
bool pgdumpIsLogicalSnapshot(const Snapshot *snap);

#endif
