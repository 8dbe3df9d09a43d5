/*
 * pgverify.h - verify a restored PostgreSQL database against the facts its
 * logical snapshot recorded, for drills.
 *
 * Three kinds of checks, each optional:
 *   rows       for every table of the snapshot's meta `tables`
 *              ({"schema.table": rows}, the key written by quote_ident, see
 *              pg/pgdump.h), `SELECT count(*) FROM ONLY schema.table` in the
 *              restored database. With `row_counts` "exact" every count must
 *              match; with "estimate" the counts are reported, not compared.
 *              A table of the snapshot that is missing fails, and so does a
 *              table the restored database has beyond the snapshot's (the
 *              same kinds of tables the backup counts).
 *   amcheck    `pg_amcheck --heapallindexed --install-missing` on the
 *              database (or on every database with amcheckAll): heap pages
 *              and B-tree indexes, every heap tuple found in its indexes.
 *              --install-missing creates the amcheck extension first (the
 *              restored database is scratch, so adding it changes nothing
 *              that matters).
 *   checks     SQL queries that return one row with one column; one passes
 *              when the value is true or a non-zero number.
 *
 * The connection string may hold a password: it is used for our own
 * connection, given to pg_amcheck only in PGPASSWORD, and never printed
 * (messages show pgconnInfoDisplay, pg_amcheck's output is masked).
 *
 * Ownership: the options are borrowed; the result owns its lines and
 * message (pgverifyResultClear).
 */
#ifndef LIFEBOAT_DRILL_PGVERIFY_H
#define LIFEBOAT_DRILL_PGVERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef struct PgVerifyOptions {
    const char *conninfo;      /* the restored database (libpq string or URI) */
    const char *binDir;        /* where pg_amcheck is; NULL = PATH */
    const json_t *meta;        /* the logical snapshot's meta; NULL = no row counts */
    const char *const *checks; /* SQL checks */
    size_t checkCount;
    bool amcheck;    /* run pg_amcheck */
    bool amcheckAll; /* pg_amcheck --all (every database of the server) instead of the one */
} PgVerifyOptions;

/* One line of what was checked, e.g. "rows: 20 tables match the snapshot". */
typedef struct PgVerifyLine {
    bool passed;
    char *text;
} PgVerifyLine;

typedef struct PgVerifyResult {
    bool passed;
    size_t tablesExpected;   /* in the snapshot's meta */
    size_t tablesFound;      /* in the restored database */
    size_t tablesMatched;    /* exact count equal (estimates: present) */
    size_t tablesMismatched; /* exact count different */
    size_t tablesMissing;    /* in the snapshot, not in the database */
    size_t tablesExtra;      /* in the database, not in the snapshot */
    bool countsExact;
    bool amcheckRun, amcheckPassed;
    size_t checksRun, checksFailed;
    PgVerifyLine *lines;
    size_t lineCount;
} PgVerifyResult;

/* Run the checks opts asks for. True when every one passed; otherwise err
 * says what failed first (and how many failed) or why the checks could not
 * run (the connection, pg_amcheck missing); result holds a line per check
 * done either way. */
bool pgverifyRun(const PgVerifyOptions *opts, PgVerifyResult *result, LbError *err);
void pgverifyResultClear(PgVerifyResult *result);

/* Split a meta key written by quote_ident(schema) || '.' ||
 * quote_ident(table) ("public.users", "\"My.Schema\".\"t\"\"x\"") into the
 * two names, unquoted (caller frees both). False for anything else. */
bool pgverifySplitKey(const char *key, char **schema, char **table);

#endif
