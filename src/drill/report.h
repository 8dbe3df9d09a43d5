/*
 * report.h - the result of a DR drill and its three renderings: JSON (the
 * record the history and the monitoring read), a text table for the
 * terminal, and one self-contained HTML page (inline CSS, no script, no
 * external resource) to mail or archive.
 *
 * A drill recovers each component into scratch targets and measures, per
 * component, the restore and verify times (their sum is the achieved RTO)
 * and the achieved RPO (the age, at drill time, of the newest instant the
 * component could be recovered to), then compares them with the component's
 * objectives. The JSON field names are stable; docs/commands.md, "drill
 * report fields", lists them.
 *
 * Ownership: a DrillResult owns everything it points to (strings, the
 * component array, each component's check lines, the consistency section);
 * drillResultFree frees it all, NULL is a no-op. Fill one with
 * drillResultNew, drillResultAddComponent and the setters below, or directly
 * (every string field is a malloc'ed string or NULL).
 */
#ifndef LIFEBOAT_DRILL_REPORT_H
#define LIFEBOAT_DRILL_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"

/* One line of what a component's verification did ("rows: 20 tables match
 * the snapshot", "pg_amcheck: no corruption"). */
typedef struct DrillCheck {
    char *text;
    bool passed;
} DrillCheck;

typedef struct DrillComponentResult {
    char *name;          /* the component ("database", "uploads", ...) */
    char *type;          /* "postgres", "postgres-physical", "files", "bucket", "command" */
    char *snapshotId;    /* hex; NULL when no snapshot was found */
    int64_t snapshotNs;  /* the snapshot's time; 0 = unknown */
    int64_t recoveredNs; /* the instant the data was recovered as of; 0 = unknown */
    uint64_t bytes;      /* bytes restored */
    double restoreSeconds;
    double verifySeconds;
    double totalSeconds;  /* restore + verify (+ scratch setup): the achieved RTO */
    double rpoSeconds;    /* age at drill time of the newest restorable instant; < 0 = unknown */
    int64_t rtoObjective; /* seconds; -1 = not set */
    int64_t rpoObjective; /* seconds; -1 = not set */
    bool passed;
    DrillCheck *checks;
    size_t checkCount;
    char *error;  /* why it failed; NULL when passed */
    char *missed; /* "rto", "rpo", "rto,rpo" or NULL: the objective(s) missed */
} DrillComponentResult;

/* The cross-component check: the keys the recovered database references
 * against the recovered bucket's objects. */
#define DRILL_CONSISTENCY_EXAMPLES 20
typedef struct DrillConsistency {
    char *query;     /* the SQL listing the referenced keys */
    char *component; /* the bucket component compared with */
    uint64_t keysReferenced;
    uint64_t keysMissing;
    char **examples; /* up to DRILL_CONSISTENCY_EXAMPLES missing keys */
    size_t exampleCount;
    bool passed;
} DrillConsistency;

typedef struct DrillResult {
    char *id; /* [A-Za-z0-9._-]: names the report files */
    int64_t startNs, endNs;
    char *at;            /* the --at text ("latest" when not given) */
    char *recoveryPoint; /* the recovery point drilled, or NULL */
    DrillComponentResult *components;
    size_t componentCount;
    bool passed;
    DrillConsistency *consistency; /* NULL when not configured */
} DrillResult;

/* A new, empty result (passed = true until a component fails) with a copy
 * of id and at (NULL = "latest"). */
DrillResult *drillResultNew(const char *id, const char *at);
void drillResultFree(DrillResult *result);

/* Append a component with name and type copied, objectives -1, RPO
 * unknown, passed; the pointer stays valid until the next add. */
DrillComponentResult *drillResultAddComponent(DrillResult *result, const char *name, const char *type);
/* Append a check line (copied) to c; a failed check fails the component. */
void drillComponentAddCheck(DrillComponentResult *c, bool passed, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fail c with the message (copied; the first failure's message is kept). */
void drillComponentFail(DrillComponentResult *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Compare c's achieved RTO and RPO with its objectives: sets missed and,
 * when one is missed, fails c with a message naming the objective. */
void drillComponentCompare(DrillComponentResult *c);
/* The consistency section (created empty on first call). */
DrillConsistency *drillResultConsistency(DrillResult *result);
/* Recompute result->passed from the components and the consistency check
 * (a drill that covered nothing does not pass). */
void drillResultFinish(DrillResult *result);

/* "0.4 s", "12.3 s", "4m05s", "2h10m", "3d04h" for tables. */
void drillFormatSeconds(double seconds, char *out, size_t n);

/* The JSON record (new reference). */
json_t *drillResultToJson(const DrillResult *result);
/* The text report: a table of the components, then the failures. */
bool drillReportText(const DrillResult *result, FILE *out, LbError *err);
/* The HTML page: every text escaped, pass/fail coloured. */
bool drillReportHtml(const DrillResult *result, FILE *out, LbError *err);
/* Write STATE/drills/ID.json, ID.txt and ID.html (each through a temporary
 * file, fsync and rename; the directory is created with mode 0700, the files
 * 0600). Fails when the id is not a valid file name. */
bool drillReportSave(const DrillResult *result, const char *stateDir, LbError *err);

#endif
