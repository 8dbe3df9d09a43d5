/* work.c - one run of a component or job: its command lines (see work.h). */
#include "sched/work.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"

#define ARGV_MAX 4096

typedef struct Argv {
    char *v[ARGV_MAX + 1];
    int n;
    bool overflow;
    char retryLock[48];
} Argv;

/* How long a step waits for another process's repository lock (a prune
 * waits for a backup to finish, and the other way round, instead of failing
 * as "locked"): the run's timeout, else an hour. Set by schedWork. */
static int64_t lockWaitSeconds = 3600;

static void argvAdd(Argv *a, const char *s) {
    if (a->n >= ARGV_MAX) {
        a->overflow = true;
        return;
    }
    a->v[a->n++] = (char *)s;
    a->v[a->n] = NULL;
}

static void argvAddAll(Argv *a, const CfgArgs *args) {
    for (size_t i = 0; i < args->n; i++)
        argvAdd(a, args->v[i]);
}

/* "lifeboat VERB REPOSITORY-OPTIONS --json --retry-lock=N" */
static void argvStart(Argv *a, const char *verb, const CfgArgs *repoArgs) {
    a->n = 0;
    a->overflow = false;
    argvAdd(a, "lifeboat");
    argvAdd(a, verb);
    argvAddAll(a, repoArgs);
    argvAdd(a, "--json");
    snprintf(a->retryLock, sizeof(a->retryLock), "--retry-lock=%llds", (long long)lockWaitSeconds);
    argvAdd(a, a->retryLock);
}

/* Record the first failure (and the worst exit code). */
static void failStep(SchedResult *res, int exitCode, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void failStep(SchedResult *res, int exitCode, const char *fmt, ...) {
    res->outcome = histFailed;
    if (exitCode > res->exitCode)
        res->exitCode = exitCode;
    if (res->error[0] != '\0')
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof(res->error), fmt, ap);
    va_end(ap);
}

/* Run argv through dispatch with stdout captured; the last JSON object it
 * printed is returned (new reference; NULL when none) with the exit code. */
static json_t *runStep(SchedDispatch dispatch, Argv *a, int *exitCode) {
    json_t *doc = NULL;
    *exitCode = 1;
    int mem = memfd_create("lifeboat-step", MFD_CLOEXEC);
    if (mem < 0)
        return NULL;
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    if (saved < 0 || dup2(mem, STDOUT_FILENO) < 0) {
        if (saved >= 0)
            close(saved);
        close(mem);
        return NULL;
    }
    *exitCode = dispatch(a->n, a->v);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    off_t size = lseek(mem, 0, SEEK_END);
    if (size > 0 && size < 64 * 1024 * 1024) {
        char *text = malloc((size_t)size + 1);
        if (text && pread(mem, text, (size_t)size, 0) == size) {
            text[size] = '\0';
            /* one document, or JSON Lines: the last line that is an object */
            char *save = NULL;
            for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                json_t *j = json_loads(line, 0, NULL);
                if (j && json_is_object(j)) {
                    json_decref(doc);
                    doc = j;
                } else {
                    json_decref(j);
                }
            }
        }
        free(text);
    }
    close(mem);
    return doc;
}

/* Run one step; on failure record its error message. Returns the document
 * (caller decrefs) when the step succeeded, else NULL. */
static json_t *step(SchedDispatch dispatch, Argv *a, const char *what, SchedResult *res) {
    if (a->overflow) {
        failStep(res, 1, "%s: too many arguments", what);
        return NULL;
    }
    int rc;
    json_t *doc = runStep(dispatch, a, &rc);
    if (rc != 0) {
        const char *msg = doc ? json_string_value(json_object_get(doc, "message")) : NULL;
        if (msg)
            failStep(res, rc, "%s: %s", what, msg);
        else /* refused before the verb ran (its options): the message is on stderr only */
            failStep(res, rc, "%s: exited with code %d (the message is in the log)", what, rc);
        json_decref(doc);
        return NULL;
    }
    if (doc == NULL)
        doc = json_object();
    return doc;
}

static void addSnapshot(SchedResult *res, json_t *doc) {
    const char *id = json_string_value(json_object_get(doc, "snapshot_id"));
    json_t *added = json_object_get(doc, "data_added"), *processed = json_object_get(doc, "total_bytes_processed");
    if (json_is_integer(added))
        res->bytesAdded = (res->bytesAdded < 0 ? 0 : res->bytesAdded) + (int64_t)json_integer_value(added);
    if (json_is_integer(processed))
        res->bytesProcessed =
            (res->bytesProcessed < 0 ? 0 : res->bytesProcessed) + (int64_t)json_integer_value(processed);
    if (id == NULL)
        return;
    size_t len = strlen(res->snapshotIds);
    snprintf(res->snapshotIds + len, sizeof(res->snapshotIds) - len, "%s%s", len ? "," : "", id);
}

static const CfgFileRepository *repoOf(const CfgFile *cfg, const char *name, SchedResult *res) {
    const CfgFileRepository *r = cfgFileRepository(cfg, name);
    if (r == NULL)
        failStep(res, 1, "no repository '%s' in the configuration", name ? name : "(default)");
    return r;
}

/* backup of one component; the new snapshot's ID in id (empty when none) */
static bool backupComponent(const CfgFile *cfg, const CfgComponent *c, const char *recoveryPoint,
                            SchedDispatch dispatch, SchedResult *res, char *id, size_t idSize) {
    id[0] = '\0';
    const CfgFileRepository *repo = repoOf(cfg, c->repository, res);
    if (repo == NULL)
        return false;
    Argv a;
    argvStart(&a, "backup", &repo->args);
    if (recoveryPoint) {
        argvAdd(&a, "--recovery-point");
        argvAdd(&a, recoveryPoint);
    }
    argvAddAll(&a, &c->backupArgs);
    char what[300];
    snprintf(what, sizeof(what), "backup of %s", c->name);
    json_t *doc = step(dispatch, &a, what, res);
    if (doc == NULL)
        return false;
    addSnapshot(res, doc);
    const char *s = json_string_value(json_object_get(doc, "snapshot_id"));
    if (s)
        snprintf(id, idSize, "%s", s);
    json_decref(doc);
    return true;
}

static bool copySnapshots(const CfgFile *cfg, const char *from, const char *to, const char *const *ids, size_t n,
                          const CfgArgs *extra, SchedDispatch dispatch, SchedResult *res) {
    const CfgFileRepository *src = repoOf(cfg, from, res), *dst = repoOf(cfg, to, res);
    if (src == NULL || dst == NULL)
        return false;
    Argv a;
    argvStart(&a, "copy", &dst->args);
    argvAddAll(&a, &src->fromArgs);
    if (extra)
        argvAddAll(&a, extra);
    for (size_t i = 0; i < n; i++)
        argvAdd(&a, ids[i]);
    char what[300];
    snprintf(what, sizeof(what), "copy to %s", to);
    json_t *doc = step(dispatch, &a, what, res);
    json_decref(doc);
    return doc != NULL;
}

static void runBackupJob(const CfgFile *cfg, const CfgJob *job, const char *runId, SchedDispatch dispatch,
                         SchedResult *res) {
    char ids[64][80];
    const CfgComponent *comps[64];
    size_t n = 0;
    if (job->componentCount > 64) {
        failStep(res, 1, "a backup job takes at most 64 components");
        return;
    }
    /* every component, even after one failed: the others are still worth having */
    for (size_t i = 0; i < job->componentCount; i++) {
        const CfgComponent *c = cfgFileComponent(cfg, job->components[i]);
        if (c == NULL) {
            failStep(res, 1, "no component '%s' in the configuration", job->components[i]);
            continue;
        }
        if (backupComponent(cfg, c, runId, dispatch, res, ids[n], sizeof(ids[n])) && ids[n][0]) {
            comps[n] = c;
            n++;
        }
    }
    if (job->copyTo == NULL || res->outcome == histFailed)
        return;
    for (size_t i = 0; i < n; i++) {
        const char *one[1] = {ids[i]};
        copySnapshots(cfg, comps[i]->repository, job->copyTo, one, 1, NULL, dispatch, res);
    }
}

/* forget by each component's retention; the components of the job, or every
 * component of the job's repository */
static void runForget(const CfgFile *cfg, const CfgJob *job, bool pruneAfter, SchedDispatch dispatch,
                      SchedResult *res) {
    const CfgFileRepository *repo = repoOf(cfg, job->repository, res);
    if (repo == NULL)
        return;
    for (size_t i = 0; i < cfg->componentCount; i++) {
        const CfgComponent *c = &cfg->components[i];
        bool listed = job->componentCount == 0;
        for (size_t k = 0; k < job->componentCount; k++)
            listed |= strcmp(job->components[k], c->name) == 0;
        const CfgFileRepository *own = cfgFileRepository(cfg, c->repository);
        if (!listed || own != repo || c->retentionArgs.n == 0)
            continue;
        Argv a;
        argvStart(&a, "forget", &repo->args);
        argvAdd(&a, "--component");
        argvAdd(&a, c->name);
        argvAdd(&a, "--host");
        argvAdd(&a, c->host);
        argvAddAll(&a, &c->retentionArgs);
        if (!pruneAfter)
            argvAddAll(&a, &job->args);
        char what[300];
        snprintf(what, sizeof(what), "forget of %s", c->name);
        json_decref(step(dispatch, &a, what, res));
    }
    if (!pruneAfter || res->outcome == histFailed)
        return;
    Argv a;
    argvStart(&a, "prune", &repo->args);
    argvAddAll(&a, &job->args);
    json_decref(step(dispatch, &a, "prune", res));
}

static void runCheck(const CfgFile *cfg, const CfgJob *job, SchedDispatch dispatch, SchedResult *res) {
    const CfgFileRepository *repo = repoOf(cfg, job->repository, res);
    if (repo == NULL)
        return;
    Argv a;
    argvStart(&a, "check", &repo->args);
    argvAddAll(&a, &job->args);
    json_decref(step(dispatch, &a, "check", res));
}

/* lifeboat drill COMPONENT... --config FILE: the drill records its report
 * and history rows itself */
static void runDrill(const CfgFile *cfg, const CfgJob *job, SchedDispatch dispatch, SchedResult *res) {
    Argv a;
    CfgArgs none = {0};
    argvStart(&a, "drill", &none);
    argvAdd(&a, "--config");
    argvAdd(&a, cfg->path);
    for (size_t i = 0; i < job->componentCount; i++)
        argvAdd(&a, job->components[i]);
    json_decref(step(dispatch, &a, "drill", res));
}

/* lifeboat report --config FILE --send: the report of the default period,
 * sent through the notifications that receive "report" (its text is the
 * step's output) */
static void runReport(const CfgFile *cfg, SchedDispatch dispatch, SchedResult *res) {
    Argv a;
    CfgArgs none = {0};
    argvStart(&a, "report", &none);
    argvAdd(&a, "--config");
    argvAdd(&a, cfg->path);
    argvAdd(&a, "--format=text");
    argvAdd(&a, "--send");
    json_decref(step(dispatch, &a, "report", res));
}

void schedWork(const CfgFile *cfg, const char *name, const char *runId, SchedDispatch dispatch, SchedResult *res) {
    memset(res, 0, sizeof(*res));
    res->outcome = histSucceeded;
    res->bytesAdded = -1;
    res->bytesProcessed = -1;
    const CfgComponent *c = cfgFileComponent(cfg, name);
    const CfgJob *job = c ? NULL : cfgFileJob(cfg, name);
    const CfgRunPolicy *policy = c ? &c->run : job ? &job->run : NULL;
    lockWaitSeconds = policy && policy->timeout > 0 ? policy->timeout : 3600;
    if (c != NULL) {
        char id[80];
        backupComponent(cfg, c, NULL, dispatch, res, id, sizeof(id));
        return;
    }
    if (job == NULL) {
        failStep(res, 1, "no component or job '%s' in %s", name, cfg->path);
        return;
    }
    switch (job->type) {
    case cfgJobBackup:
        runBackupJob(cfg, job, runId, dispatch, res);
        break;
    case cfgJobCopy:
        copySnapshots(cfg, job->repository, job->to, NULL, 0, &job->args, dispatch, res);
        break;
    case cfgJobForget:
        runForget(cfg, job, false, dispatch, res);
        break;
    case cfgJobPrune:
        runForget(cfg, job, true, dispatch, res);
        break;
    case cfgJobCheck:
        runCheck(cfg, job, dispatch, res);
        break;
    case cfgJobDrill:
        runDrill(cfg, job, dispatch, res);
        break;
    case cfgJobReport:
        runReport(cfg, dispatch, res);
        break;
    }
}

void schedShortIds(const char *ids, char *out, size_t size) {
    size_t n = 0;
    out[0] = '\0';
    for (const char *p = ids; p && *p;) {
        size_t len = strcspn(p, ",");
        int w = snprintf(out + n, size - n, "%s%.*s", n ? "," : "", (int)(len < 8 ? len : 8), p);
        if (w < 0 || (size_t)w >= size - n) {
            out[n] = '\0'; /* whole IDs only */
            break;
        }
        n += (size_t)w;
        p += len + (p[len] == ',');
    }
}

bool schedResultEncode(const SchedResult *res, char *out, size_t size) {
    json_t *j = json_object();
    json_object_set_new(j, "outcome", json_string(histOutcomeName(res->outcome)));
    json_object_set_new(j, "exit_code", json_integer(res->exitCode));
    json_object_set_new(j, "bytes_added", json_integer(res->bytesAdded));
    json_object_set_new(j, "bytes_processed", json_integer(res->bytesProcessed));
    json_object_set_new(j, "snapshot_ids", json_string(res->snapshotIds));
    json_object_set_new(j, "error", json_string(res->error));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    bool ok = s && strlen(s) + 2 <= size;
    if (ok)
        snprintf(out, size, "%s\n", s);
    free(s);
    return ok;
}

bool schedResultDecode(const char *line, SchedResult *res) {
    memset(res, 0, sizeof(*res));
    json_t *j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
    if (j == NULL)
        return false;
    const char *outcome = json_string_value(json_object_get(j, "outcome"));
    bool ok = outcome != NULL;
    res->outcome = histFailed;
    for (int o = 0; ok && o < HIST_OUTCOME_COUNT; o++)
        if (strcmp(outcome, histOutcomeName((HistOutcome)o)) == 0)
            res->outcome = (HistOutcome)o;
    res->exitCode = (int)json_integer_value(json_object_get(j, "exit_code"));
    res->bytesAdded = json_integer_value(json_object_get(j, "bytes_added"));
    json_t *processed = json_object_get(j, "bytes_processed");
    res->bytesProcessed = json_is_integer(processed) ? json_integer_value(processed) : -1;
    const char *s = json_string_value(json_object_get(j, "snapshot_ids"));
    snprintf(res->snapshotIds, sizeof(res->snapshotIds), "%s", s ? s : "");
    s = json_string_value(json_object_get(j, "error"));
    snprintf(res->error, sizeof(res->error), "%s", s ? s : "");
    json_decref(j);
    return ok;
}
