/* job.c - what every job shares: its environment on the thread, progress, the new snapshot's fields. */
#include "job/job.h"

#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/timeutil.h"

void jobRunBegin(JobRun *run, const JobEnv *env, const char *stream) {
    static const JobEnv none = {0};
    *run = (JobRun){.env = env ? env : &none, .start = lbMonotonicSeconds(), .stream = stream};
    run->previousLog = run->env->log ? lbLogSinkSet(run->env->log) : lbLogSinkGet();
}

void jobRunEnd(JobRun *run) {
    lbLogSinkSet(run->previousLog);
}

double jobRunSeconds(const JobRun *run) {
    return lbMonotonicSeconds() - run->start;
}

void jobRunArchiverProgress(void *ctx, const ArchiverProgress *p) {
    JobRun *run = ctx;
    JobProgress jp = {
        .stream = run->stream,
        .filesDone = p->filesDone,
        .bytesDone = p->bytesDone,
        .filesTotal = p->filesTotal,
        .bytesTotal = p->bytesTotal,
        .elapsed = jobRunSeconds(run),
    };
    run->env->progress(run->env->progressCtx, &jp);
}

void jobRunArchiverOptions(JobRun *run, ArchiverOptions *ao) {
    ao->progress = run->env->progress ? jobRunArchiverProgress : NULL;
    ao->progressCtx = run;
    ao->cancel = run->env->cancel;
}

const char *jobHostname(const char *host, char *buf, size_t n) {
    if (host != NULL)
        return host;
    snprintf(buf, n, "unknown");
    gethostname(buf, n - 1);
    buf[n - 1] = '\0';
    return buf;
}

void jobSnapshotFill(Snapshot *snap, const ArchiverResult *res, const JobLabels *l) {
    char here[256];
    snap->timeNs = l->timeNs ? l->timeNs : res->summary.startNs;
    snap->tree = res->tree;
    snap->summary = res->summary;
    for (size_t i = 0; i < res->pathCount; i++)
        snapshotAddString(&snap->paths, &snap->pathCount, res->paths[i]);
    snap->hostname = lbXstrdup(jobHostname(l->host, here, sizeof(here)));
    struct passwd pwBuf, *pw = NULL;
    char pwText[1024];
    getpwuid_r(getuid(), &pwBuf, pwText, sizeof(pwText), &pw);
    snap->username = lbXstrdup(pw ? pw->pw_name : "unknown");
    snap->uid = getuid();
    snap->gid = getgid();
    for (size_t i = 0; i < l->tagCount; i++)
        snapshotAddString(&snap->tags, &snap->tagCount, l->tags[i]);
    if (l->component)
        snap->component = lbXstrdup(l->component);
    if (l->recoveryPoint)
        snap->recoveryPoint = lbXstrdup(l->recoveryPoint);
}
