/* report.c - JobReport: one job's outcome as text rows and one JSON object. */
#include "job/report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/jsonutil.h"

#define JOB_LABEL_WIDTH 13

typedef struct JobRow {
    char *label;
    char *text;
} JobRow;

struct JobReport {
    char *kind;
    JobRow *rows;
    size_t rowCount;
    json_t *json; /* the summary fields, in the order set */
    char **warnings;
    size_t warningCount;
    char **changed; /* paths of files changed while they were read */
    size_t changedCount;
    bool incomplete;
    bool hasSnapshot;
    LbId snapshot;
    bool failed;
    LbError error;
    double seconds;
};

JobReport *jobReportNew(const char *kind) {
    JobReport *r = lbXcalloc(1, sizeof(*r));
    r->kind = lbXstrdup(kind);
    r->json = json_object();
    json_object_set_new(r->json, "message_type", json_string("summary"));
    return r;
}

void jobReportFree(JobReport *r) {
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->rowCount; i++) {
        free(r->rows[i].label);
        free(r->rows[i].text);
    }
    free(r->rows);
    for (size_t i = 0; i < r->warningCount; i++)
        free(r->warnings[i]);
    free(r->warnings);
    for (size_t i = 0; i < r->changedCount; i++)
        free(r->changed[i]);
    free(r->changed);
    json_decref(r->json);
    free(r->kind);
    free(r);
}

const char *jobReportKind(const JobReport *r) {
    return r->kind;
}

void jobReportSetSnapshot(JobReport *r, const LbId *id, const char *component, const char *recoveryPoint) {
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(id, hex);
    r->snapshot = *id;
    r->hasSnapshot = true;
    json_object_set_new(r->json, "snapshot_id", json_string(hex));
    if (component)
        json_object_set_new(r->json, "component", json_string(component));
    if (recoveryPoint)
        json_object_set_new(r->json, "recovery_point", json_string(recoveryPoint));
}

bool jobReportHasSnapshot(const JobReport *r) {
    return r->hasSnapshot;
}

static void setCount(JobReport *r, const char *key, uint64_t v) {
    json_object_set_new(r->json, key, json_integer((json_int_t)v));
}

void jobReportSetBackupSummary(JobReport *r, const SnapshotSummary *s, double seconds) {
    static const struct {
        const char *key;
        size_t offset;
    } counts[] = {
        {"files_new", offsetof(SnapshotSummary, filesNew)},
        {"files_changed", offsetof(SnapshotSummary, filesChanged)},
        {"files_unmodified", offsetof(SnapshotSummary, filesUnmodified)},
        {"files_unreadable", offsetof(SnapshotSummary, filesUnreadable)},
        {"dirs_new", offsetof(SnapshotSummary, dirsNew)},
        {"dirs_changed", offsetof(SnapshotSummary, dirsChanged)},
        {"dirs_unmodified", offsetof(SnapshotSummary, dirsUnmodified)},
        {"data_blobs_new", offsetof(SnapshotSummary, blobsNew)},
        {"tree_blobs_new", offsetof(SnapshotSummary, treeBlobsNew)},
        {"data_added", offsetof(SnapshotSummary, dataAdded)},
        {"data_added_stored", offsetof(SnapshotSummary, dataAddedStored)},
        {"total_files_processed", offsetof(SnapshotSummary, totalFiles)},
        {"total_bytes_processed", offsetof(SnapshotSummary, totalBytes)},
    };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
        setCount(r, counts[i].key, *(const uint64_t *)((const char *)s + counts[i].offset));
    jobReportSetSeconds(r, seconds);
    char added[32], stored[32], total[32], dur[32];
    jobFormatBytes((double)s->dataAdded, added, sizeof(added));
    jobFormatBytes((double)s->dataAddedStored, stored, sizeof(stored));
    jobFormatBytes((double)s->totalBytes, total, sizeof(total));
    jobFormatDuration(seconds, dur, sizeof(dur));
    jobReportRow(r, "Files", "%llu new, %llu changed, %llu unmodified", (unsigned long long)s->filesNew,
                 (unsigned long long)s->filesChanged, (unsigned long long)s->filesUnmodified);
    jobReportRow(r, "Dirs", "%llu new, %llu changed, %llu unmodified", (unsigned long long)s->dirsNew,
                 (unsigned long long)s->dirsChanged, (unsigned long long)s->dirsUnmodified);
    jobReportRow(r, "Added", "%s (%s stored)", added, stored);
    jobReportRow(r, "Processed", "%llu files, %s in %s", (unsigned long long)s->totalFiles, total, dur);
}

void jobReportSetSeconds(JobReport *r, double seconds) {
    r->seconds = seconds;
    json_object_set_new(r->json, "total_duration", json_real(seconds));
}

double jobReportSeconds(const JobReport *r) {
    return r->seconds;
}

void jobReportRow(JobReport *r, const char *label, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = lbXvasprintf(fmt, ap);
    va_end(ap);
    r->rows = lbXrealloc(r->rows, (r->rowCount + 1) * sizeof(*r->rows));
    r->rows[r->rowCount].label = lbXstrdup(label);
    r->rows[r->rowCount].text = text;
    r->rowCount++;
}

void jobReportLine(JobReport *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = lbXvasprintf(fmt, ap);
    va_end(ap);
    r->rows = lbXrealloc(r->rows, (r->rowCount + 1) * sizeof(*r->rows));
    r->rows[r->rowCount].label = NULL;
    r->rows[r->rowCount].text = text;
    r->rowCount++;
}

void jobReportJsonSet(JobReport *r, const char *key, json_t *value) {
    json_object_set_new(r->json, key, value);
}

void jobReportWarning(JobReport *r, bool incomplete, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *text = lbXvasprintf(fmt, ap);
    va_end(ap);
    r->warnings = lbXrealloc(r->warnings, (r->warningCount + 1) * sizeof(char *));
    r->warnings[r->warningCount++] = text;
    r->incomplete = r->incomplete || incomplete;
}

void jobReportChanged(JobReport *r, const char *path) {
    r->changed = lbXrealloc(r->changed, (r->changedCount + 1) * sizeof(char *));
    r->changed[r->changedCount++] = lbXstrdup(path);
    r->incomplete = true;
}

size_t jobReportWarningCount(const JobReport *r) {
    return r->warningCount;
}

void jobReportFail(JobReport *r, const LbError *err) {
    r->failed = true;
    r->error = *err;
}

bool jobReportFailed(const JobReport *r) {
    return r->failed;
}

const LbError *jobReportError(const JobReport *r) {
    return r->failed ? &r->error : NULL;
}

int jobReportExitCode(const JobReport *r) {
    if (r->failed)
        return lbErrorExitCode(r->error.code);
    return r->incomplete ? lbErrorExitCode(LB_ERR_INCOMPLETE) : 0;
}

json_t *jobErrorJson(const LbError *err) {
    json_t *o = json_object();
    json_object_set_new(o, "message_type", json_string("error"));
    json_object_set_new(o, "code", json_string(lbErrorName(err->code)));
    json_object_set_new(o, "exit_code", json_integer(lbErrorExitCode(err->code)));
    json_object_set_new(o, "message", json_string(err->msg));
    return o;
}

json_t *jobReportJson(const JobReport *r) {
    if (r->failed)
        return jobErrorJson(&r->error);
    json_t *o = json_deep_copy(r->json);
    if (r->warningCount > 0 || strcmp(r->kind, "backup") == 0) {
        json_t *w = lbJsonStrings(r->warnings, r->warningCount);
        /* a file backup has always called them "unreadable" */
        json_object_set_new(o, strcmp(r->kind, "backup") == 0 ? "unreadable" : "warnings", w);
    }
    if (r->changedCount > 0 || strcmp(r->kind, "backup") == 0)
        json_object_set_new(o, "changed", lbJsonStrings(r->changed, r->changedCount));
    return o;
}

void jobReportPrintText(const JobReport *r, FILE *out, FILE *warnOut) {
    if (r->failed)
        return;
    for (size_t i = 0; out != NULL && i < r->rowCount; i++) {
        if (r->rows[i].label == NULL) {
            fprintf(out, "%s\n", r->rows[i].text);
            continue;
        }
        char label[64];
        snprintf(label, sizeof(label), "%s:", r->rows[i].label);
        fprintf(out, "%-*s%s\n", JOB_LABEL_WIDTH, label, r->rows[i].text);
    }
    if (r->changedCount > 0 && out != NULL)
        fprintf(out, "%-*s%zu file(s) while being read, listed below\n", JOB_LABEL_WIDTH, "Changed:", r->changedCount);
    char hex[LB_ID_HEX_LEN + 1];
    if (r->hasSnapshot && out != NULL) {
        lbIdToHex(&r->snapshot, hex);
        fprintf(out, "snapshot %.8s saved\n", hex);
    }
    if (r->warningCount > 0 && warnOut != NULL) {
        if (r->hasSnapshot)
            fprintf(warnOut, "lifeboat: snapshot saved, but %zu file(s) could not be read:\n", r->warningCount);
        else
            fprintf(warnOut, "lifeboat: %zu warning(s):\n", r->warningCount);
        for (size_t i = 0; i < r->warningCount; i++) {
            char *shown = lbPrintableDup(r->warnings[i]);
            fprintf(warnOut, "  %s\n", shown);
            free(shown);
        }
    }
    if (r->changedCount > 0 && warnOut != NULL) {
        fprintf(warnOut,
                "lifeboat: %zu file(s) changed while they were read, twice; their copies may mix old and new "
                "bytes:\n",
                r->changedCount);
        for (size_t i = 0; i < r->changedCount; i++) {
            char *shown = lbPrintableDup(r->changed[i]);
            fprintf(warnOut, "  %s\n", shown);
            free(shown);
        }
    }
}

void jobFormatBytes(double b, char *out, size_t n) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (b >= 1024 && u < 5) {
        b /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, n, "%.0f %s", b, units[u]);
    else
        snprintf(out, n, "%.2f %s", b, units[u]);
}

void jobFormatDuration(double s, char *out, size_t n) {
    if (s < 0)
        s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}
