/* run.c - jobRun: a JobSpec to the run function of its kind. */
#include "job/run.h"

const char *jobKindName(JobKind kind) {
    switch (kind) {
    case JOB_BACKUP:
        return "backup";
    case JOB_PG_LOGICAL:
        return "pg-logical-backup";
    case JOB_PG_PHYSICAL:
        return "pg-physical-backup";
    }
    return "job";
}

bool jobRun(Repo *repo, const JobSpec *spec, const JobEnv *env, JobReport *report) {
    switch (spec->kind) {
    case JOB_BACKUP:
        return jobBackupRun(repo, &spec->backup, env, report);
    case JOB_PG_LOGICAL:
        return jobPgLogicalRun(repo, &spec->pgLogical, env, report);
    case JOB_PG_PHYSICAL:
        return jobPgPhysicalRun(repo, &spec->pgPhysical, env, report);
    }
    LbError err = {0};
    lbErr(&err, LB_ERR_GENERIC, "unknown job kind %d", (int)spec->kind);
    jobReportFail(report, &err);
    return false;
}
