/*
 * report.h - what one job did, rendered to text and JSON in one place.
 *
 * A JobReport is filled while a job (a backup of a component, a copy, a
 * prune, ...) runs and printed once at its end: as human text (a block of
 * "Label:       text" rows and a closing line such as "snapshot 1a2b3c4d
 * saved") or as one JSON object ({"message_type":"summary", ...} or, for a
 * failed job, {"message_type":"error","code":...,"exit_code":...,
 * "message":...}). The scheduler keeps the same object as the job's history
 * record, so what a person reads, what --json prints and what the daemon
 * records never drift apart.
 *
 * Ownership: jobReportNew returns a report the caller frees with
 * jobReportFree (NULL is a no-op). Strings passed in are copied; json values
 * passed to jobReportJsonSet are taken (the report owns the reference).
 * Not thread-safe: one report belongs to one job.
 */
#ifndef LIFEBOAT_JOB_REPORT_H
#define LIFEBOAT_JOB_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/error.h"
#include "common/id.h"
#include "snapshot/snapshot.h"

typedef struct JobReport JobReport;

/* A report for a job of the given kind ("backup", "copy", ...). */
JobReport *jobReportNew(const char *kind);
void jobReportFree(JobReport *report);

const char *jobReportKind(const JobReport *report);

/* The snapshot the job saved: printed as "snapshot <8 hex> saved" and as
 * "snapshot_id". component and recoveryPoint may be NULL. */
void jobReportSetSnapshot(JobReport *report, const LbId *id, const char *component, const char *recoveryPoint);
bool jobReportHasSnapshot(const JobReport *report);

/* The backup counters of summary, as the rows "Files:", "Dirs:", "Added:",
 * "Processed:" and their JSON fields (files_new, ..., total_bytes_processed).
 * seconds is the job's wall time. */
void jobReportSetBackupSummary(JobReport *report, const SnapshotSummary *summary, double seconds);

/* Wall time of the job in seconds ("total_duration"). */
void jobReportSetSeconds(JobReport *report, double seconds);
double jobReportSeconds(const JobReport *report);

/* Append a human row "Label:" padded to 13 columns, then the text. */
void jobReportRow(JobReport *report, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Append a free line of human text (no label), in order with the rows. */
void jobReportLine(JobReport *report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set a JSON field of the summary object; takes the reference of value. */
void jobReportJsonSet(JobReport *report, const char *key, json_t *value);

/* Something that did not stop the job but must be seen (an unreadable
 * file): listed on stderr after the text, and in "warnings" (and, for a
 * backup, "unreadable") in JSON. Makes the exit code 3 (incomplete) when
 * incomplete is true. */
void jobReportWarning(JobReport *report, bool incomplete, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A file that changed while it was read, and again while it was read a
 * second time (path copied): listed on stderr after the text and in
 * "changed" in JSON (present, maybe empty, for every backup). Makes the
 * exit code 3 (incomplete). */
void jobReportChanged(JobReport *report, const char *path);
size_t jobReportWarningCount(const JobReport *report);

/* The job failed with err (copied). */
void jobReportFail(JobReport *report, const LbError *err);
bool jobReportFailed(const JobReport *report);
const LbError *jobReportError(const JobReport *report);

/* 0, 3 when a warning made the job incomplete, else the failure's code. */
int jobReportExitCode(const JobReport *report);

/* The whole report as one JSON object (new reference): the error object
 * for a failed job, else the summary. */
json_t *jobReportJson(const JobReport *report);

/* Human text: the rows and the closing line to out (nothing for a failed
 * job or a NULL out, as under --quiet); warnings to warnOut ("lifeboat: snapshot saved, but N file(s) could
 * not be read:" and one indented line each). */
void jobReportPrintText(const JobReport *report, FILE *out, FILE *warnOut);

/* One JSON error object for err: {"message_type":"error","code":NAME,
 * "exit_code":N,"message":TEXT}. New reference. */
json_t *jobErrorJson(const LbError *err);

/* Human byte counts and durations, as every report prints them
 * ("1.50 MiB", "0:42", "1:02:03"). */
void jobFormatBytes(double bytes, char *out, size_t n);
void jobFormatDuration(double seconds, char *out, size_t n);

#endif
