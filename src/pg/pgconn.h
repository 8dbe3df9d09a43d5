/*
 * pgconn.h - libpq connection helper shared by the PostgreSQL commands.
 *
 * A PgConnInfo is a parsed connection string: key=value pairs or a
 * postgresql:// URI (libpq's PQconninfoParse, so every keyword libpq knows
 * works). Keywords the string leaves out follow libpq's usual rules: the PG*
 * environment variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD,
 * PGPASSFILE, PGSSLMODE, ...), then the built-in defaults.
 *
 * Secrets: a password given in the string is held apart. It is used for our
 * own connections, handed to child programs (pg_dump, pg_basebackup, ...)
 * only through PGPASSWORD in their environment (pgconnInfoChildEnv), never on
 * a command line (pgconnInfoChildString leaves it out), and never printed:
 * pgconnInfoDisplay omits it and pgconnRedact masks it in text that came from
 * elsewhere (a child's stderr). pgconnScrubArg hides it in our own argv so it
 * does not stay visible in `ps`.
 *
 * "sslpassword" is refused: no environment variable carries it, so a child
 * could only get it on its command line.
 */
#ifndef LIFEBOAT_PG_PGCONN_H
#define LIFEBOAT_PG_PGCONN_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "common/error.h"

typedef struct PgConnInfo PgConnInfo;
typedef struct PgConn PgConn;

/* Parse conninfo (NULL or "" = the environment alone). Fails with
 * LB_ERR_ARGS and libpq's reason (never the string itself, which may hold a
 * password). Free with pgconnInfoFree. */
PgConnInfo *pgconnInfoNew(const char *conninfo, LbError *err);
void pgconnInfoFree(PgConnInfo *info);
/* Deep copy. */
PgConnInfo *pgconnInfoDup(const PgConnInfo *info);

/* The value given for keyword in the string (the password included), or
 * NULL when the string does not set it (the environment is not consulted).
 * Borrowed: valid until the keyword is set again or info is freed. */
const char *pgconnInfoGet(const PgConnInfo *info, const char *keyword);
/* Set keyword (copied); value NULL removes it. Returns false for a keyword
 * libpq does not know. */
bool pgconnInfoSet(PgConnInfo *info, const char *keyword, const char *value);
bool pgconnInfoHasPassword(const PgConnInfo *info);

/* The database the connection goes to: dbname from the string, else
 * PGDATABASE, else the user name (PGUSER or the login name), as libpq
 * resolves it. Caller frees; NULL when it cannot be determined. */
char *pgconnInfoDatabase(const PgConnInfo *info);

/* A key='value' connection string for a child program's --dbname: every
 * keyword given, except the password. Caller frees. */
char *pgconnInfoChildString(const PgConnInfo *info);
/* The same keywords for messages, e.g. "host=/run/pg port=5432 dbname=app"
 * (never the password). Caller frees. */
char *pgconnInfoDisplay(const PgConnInfo *info);
/* The environment for a child program: a NULL-terminated copy of this
 * process's environment with PGPASSWORD set to the string's password when it
 * has one. Free with pgconnEnvFree (which wipes the password). */
char **pgconnInfoChildEnv(const PgConnInfo *info);
void pgconnEnvFree(char **env);

/* Copy of text with every occurrence of the password replaced by
 * "<redacted>" (a plain copy when there is no password). Caller frees. */
char *pgconnRedact(const PgConnInfo *info, const char *text);

/* Overwrite, in place, the password inside a command-line argument holding a
 * connection string (URI user:PASSWORD@, ?password=, or password=...) with
 * '*', so that `ps` no longer shows it. Call after parsing a copy. */
void pgconnScrubArg(char *arg);

/* Connect (synchronously). The application name defaults to "lifeboat" and
 * the connect timeout to 30 s when neither the string nor PGCONNECT_TIMEOUT
 * sets one. Fails with libpq's message. Free with pgconnClose. */
PgConn *pgconnOpen(const PgConnInfo *info, LbError *err);
void pgconnClose(PgConn *conn);
/* The libpq connection, for calls this module does not wrap (borrowed). */
PGconn *pgconnRaw(PgConn *conn);

/* Server version as a number (150018) and as the server reports it
 * ("15.18 (Debian 15.18-0+deb12u1)", borrowed). */
int pgconnServerVersionNum(const PgConn *conn);
const char *pgconnServerVersion(const PgConn *conn);
bool pgconnIsSuperuser(const PgConn *conn);

/* Run a statement that returns no rows (BEGIN, SET, CREATE DATABASE ...). */
bool pgconnExec(PgConn *conn, const char *sql, LbError *err);
/* Run a query with optional text parameters ($1, $2, ...) that returns rows.
 * Caller PQclear()s the result; NULL with err (the server's message) on
 * failure. */
PGresult *pgconnQuery(PgConn *conn, const char *sql, int nParams, const char *const *params, LbError *err);
/* First column of the first row as a string (caller frees); NULL with err on
 * failure, on no row, or on an SQL NULL. */
char *pgconnQueryValue(PgConn *conn, const char *sql, LbError *err);

/* Quote an identifier / literal for SQL text (libpq's escaping). Caller frees. */
char *pgconnQuoteIdent(PgConn *conn, const char *name);
char *pgconnQuoteLiteral(PgConn *conn, const char *value);

#endif
