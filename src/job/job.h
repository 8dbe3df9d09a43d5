/*
 * job.h - a job: one backup of one component into one repository, run with
 * an environment (log sink, progress callback, cancel flag) and described
 * afterwards by a JobReport (job/report.h).
 *
 * The cmd layer turns options into a job spec, opens the repository, runs
 * the job and prints its report; the scheduler daemon does the same without
 * the printing. A job keeps all of its state in its spec, its run and its
 * report: two jobs may run at once in one process, on two threads, into the
 * same repository (the repository's locks and commit path order them).
 *
 * Ownership: specs and environments are borrowed for the run; the report is
 * the caller's (jobReportNew/jobReportFree) and is filled by the run.
 */
#ifndef LIFEBOAT_JOB_JOB_H
#define LIFEBOAT_JOB_JOB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "archiver/archiver.h"
#include "common/log.h"
#include "job/report.h"
#include "repo/repo.h"
#include "storage/options.h"

/* Where a running job is, for a progress line. */
typedef struct JobProgress {
    const char *stream; /* NULL for files (with totals); else "pg_dump", "base backup" */
    uint64_t filesDone, bytesDone;
    uint64_t filesTotal, bytesTotal; /* 0 while unknown */
    double elapsed;                  /* seconds since the job started */
} JobProgress;

/* Called on the job's thread a few times a second at most. */
typedef void (*JobProgressFn)(void *ctx, const JobProgress *progress);

/* What a job runs with; every member may be NULL. */
typedef struct JobEnv {
    const LbLogSink *log; /* installed on the job's thread for the run (and
                             on the threads it starts), restored after */
    JobProgressFn progress;
    void *progressCtx;
    const atomic_bool *cancel; /* set (by another thread) to stop the job
                                  between files/chunks: it then fails with
                                  LB_ERR_NOT_COMMITTED and writes no snapshot */
} JobEnv;

/* What every backup job records in its snapshot beside the data. */
typedef struct JobLabels {
    const char *host;        /* NULL: this machine's name */
    int64_t timeNs;          /* 0: the start of the run */
    const char *component;   /* may be NULL */
    const char *const *tags; /* may be NULL */
    size_t tagCount;
    const char *recoveryPoint; /* may be NULL */
} JobLabels;

/* What a file backup reads. */
typedef enum {
    JOB_SOURCE_FILES,   /* paths, with excludes and one-file-system */
    JOB_SOURCE_STREAM,  /* one byte stream (standard input) named streamName */
    JOB_SOURCE_COMMAND, /* a command's standard output named streamName */
    JOB_SOURCE_BUCKET,  /* an S3 bucket (paths[0], "s3:...") */
} JobSourceKind;

/* A backup of files, a stream, a command's output or a bucket. */
typedef struct JobBackup {
    JobSourceKind kind;
    const char *const *paths; /* files: the paths; bucket: its location */
    size_t pathCount;
    const char *const *excludes;
    size_t excludeCount;
    bool oneFileSystem;
    const char *streamName; /* stream and command */
    int streamFd;           /* stream */
    char *const *command;   /* command: NULL-terminated argv */
    const StorageOptions *bucketStorage;
    bool force;         /* read every file even when unchanged */
    const char *parent; /* a snapshot ID; NULL: the latest of the same host, component and paths */
    JobLabels labels;
} JobBackup;

/* Run a backup job into repo (opened, index not needed): lock, archive,
 * commit the snapshot. The report gets the snapshot, the backup summary and
 * one incomplete warning per unreadable file; on failure jobReportFail with
 * the error, and false. */
bool jobBackupRun(Repo *repo, const JobBackup *spec, const JobEnv *env, JobReport *report);

/* ---- for the job implementations under src/job/ ---- */

/* A job's run: the environment installed on this thread, the start time. */
typedef struct JobRun {
    const JobEnv *env;
    const LbLogSink *previousLog;
    double start;
    const char *stream; /* progress: JobProgress.stream */
} JobRun;

/* Install env (may be NULL) on this thread; jobRunEnd restores what was
 * there. */
void jobRunBegin(JobRun *run, const JobEnv *env, const char *stream);
void jobRunEnd(JobRun *run);
double jobRunSeconds(const JobRun *run);

/* The archiver's options for a run: progress through the env's callback
 * (ctx: run), and its cancel flag. */
void jobRunArchiverOptions(JobRun *run, ArchiverOptions *ao);
/* An ArchiverProgressCb forwarding to the env (ctx: JobRun *). */
void jobRunArchiverProgress(void *ctx, const ArchiverProgress *p);

/* What every backup job records the same way in its new snapshot: the
 * labels (the time, or the start of the archiver run when 0; the host, or
 * this machine's name), the tree, paths and summary of res, the user. */
void jobSnapshotFill(Snapshot *snap, const ArchiverResult *res, const JobLabels *labels);

/* host, or this machine's name into buf. */
const char *jobHostname(const char *host, char *buf, size_t n);

#endif
