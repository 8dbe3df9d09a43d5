/*
 * pg.h - the PostgreSQL backup jobs: a logical backup (pg_dump, verified
 * before the snapshot is written; pg/pgdump.h) and a physical base backup
 * (pg_basebackup's tar as one stream; pg/basebackup.h). Each runs like a
 * file backup (job/job.h): lock, archive, commit, and a report with its own
 * rows and JSON fields.
 */
#ifndef LIFEBOAT_JOB_PG_H
#define LIFEBOAT_JOB_PG_H

#include "job/job.h"
#include "pg/pgconn.h"
#include "pg/pgdump.h"

typedef struct JobPgLogical {
    const PgConnInfo *conn; /* the database to dump (borrowed) */
    const char *binDir;     /* where pg_dump & co. live; NULL = PATH */
    PgDumpCountMode countMode;
    bool noGlobals;
    JobLabels labels;
} JobPgLogical;

/* Report rows Database, Dump, Verified, Added; JSON database,
 * server_version, dump_size, globals_size, tables, verified, the data
 * counters and meta. pg_dump's warnings are logged. The cancel flag is not
 * seen (pg_dump runs to its end). */
bool jobPgLogicalRun(Repo *repo, const JobPgLogical *spec, const JobEnv *env, JobReport *report);

typedef struct JobPgPhysical {
    const PgConnInfo *conn;    /* the server (borrowed) */
    const PgConnInfo *primary; /* conn is a standby: its primary (borrowed; NULL: none; pg/bbstandby.h) */
    int archiveWaitSeconds;    /* with primary: the wait for the last segment (0: the default) */
    const char *pgBin;         /* directory of pg_basebackup, NULL = PATH */
    const char *label;         /* NULL: "lifeboat <time>" */
    bool spreadCheckpoint, walNone;
    JobLabels labels; /* component NULL: BASEBACKUP_DEFAULT_COMPONENT */
} JobPgPhysical;

/* Report rows "Base backup" and Tar; JSON the data counters and pg (the
 * snapshot's metadata). The parent is the latest base backup of the same
 * host and component. */
bool jobPgPhysicalRun(Repo *repo, const JobPgPhysical *spec, const JobEnv *env, JobReport *report);

#endif
