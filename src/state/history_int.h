/*
 * history_int.h - what the files of the run history (history.c,
 * history_stats.c) share: the handle and the SQLite helpers. Not for users
 * of state/history.h.
 */
#ifndef LIFEBOAT_STATE_HISTORY_INT_H
#define LIFEBOAT_STATE_HISTORY_INT_H

#include <sqlite3.h>

#include "state/history.h"

struct Hist {
    sqlite3 *db;
    char *path;
    bool busy; /* the last SQLite error was SQLITE_BUSY or SQLITE_LOCKED */
};

/* An SQLite failure as LB_ERR_IO: "unable to <what> in history database
 * 'PATH': reason" (what NULL: while opening). Returns false. */
bool histDbErr(Hist *hist, LbError *err, const char *what);
bool histExec(Hist *hist, const char *sql, const char *what, LbError *err);
/* NULL (err filled) when sql does not compile. */
sqlite3_stmt *histPrepare(Hist *hist, const char *sql, const char *what, LbError *err);
void histBindText(sqlite3_stmt *st, int i, const char *s); /* NULL binds NULL */

/* The public calls hold the connection's (recursive) mutex for their whole
 * work, so threads sharing one Hist do not interleave inside a transaction
 * or read another call's error message. */
#define HIST_LOCKED(call)                                                                                              \
    do {                                                                                                               \
        sqlite3_mutex_enter(sqlite3_db_mutex(hist->db));                                                               \
        bool ok_ = (call);                                                                                             \
        sqlite3_mutex_leave(sqlite3_db_mutex(hist->db));                                                               \
        return ok_;                                                                                                    \
    } while (0)

/* history_stats.c: create the version 3 tables (counters, scans) and seed
 * the counters from the ended rows present; within the caller's transaction. */
bool histStatsSchema(Hist *hist, LbError *err);
/* Add the ended row rowId to its counters; within the caller's transaction. */
bool histStatsCount(Hist *hist, int64_t rowId, LbError *err);

#endif
