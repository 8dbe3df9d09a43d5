/*
 * run.h - one entry point for every kind of job: a JobSpec names the kind
 * and carries its settings, jobRun runs it. The command line builds one spec
 * per verb (src/cmd/), the scheduler will build them from the configuration
 * file; both run them the same way and get the same JobReport.
 *
 * Ownership: the spec and everything it points to are borrowed for the run.
 */
#ifndef LIFEBOAT_JOB_RUN_H
#define LIFEBOAT_JOB_RUN_H

#include <stdbool.h>

#include "job/job.h"
#include "job/pg.h"
#include "job/report.h"

typedef enum JobKind {
    JOB_BACKUP,      /* files, a stream, a command's output or a bucket (job.h) */
    JOB_PG_LOGICAL,  /* pg_dump of one database (pg.h) */
    JOB_PG_PHYSICAL, /* a base backup (pg.h) */
} JobKind;

typedef struct JobSpec {
    JobKind kind;
    union {
        JobBackup backup;
        JobPgLogical pgLogical;
        JobPgPhysical pgPhysical;
    };
} JobSpec;

/* The report kind of a job ("backup", "pg-logical-backup", "pg-physical-backup"). */
const char *jobKindName(JobKind kind);

/* Run spec on repo (opened, index not loaded) with env; the outcome is in
 * report (jobReportFailed, jobReportExitCode). Returns true when the job's
 * snapshot was saved. */
bool jobRun(Repo *repo, const JobSpec *spec, const JobEnv *env, JobReport *report);

#endif
