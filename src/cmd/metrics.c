/* metrics.c - `lifeboat metrics` and the textfile `lifeboat run` writes
 * (cmd/monitor_scan.h; docs/monitoring.md). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/monitor_scan.h"
#include "common/timeutil.h"
#include "monitor/metrics.h"

char *monitorMetricsText(const CfgFile *file, bool scan, bool daemon, LbError *err) {
    Hist *hist = histOpen(file->stateDir, err);
    if (hist == NULL)
        return NULL;
    int64_t nowMs = lbNowNs() / 1000000;
    MonScan *scans = scan ? monitorScanAll(file, hist, true, nowMs) : monitorScansLoad(file);
    char *text = NULL;
    MonFacts *facts = scans ? monFactsCollect(file, hist, scans, file->repositoryCount, nowMs, err) : NULL;
    if (scans == NULL)
        lbErr(err, LB_ERR_MEMORY, "unable to scan the repositories: out of memory");
    if (facts != NULL && (text = monMetricsText(facts, daemon)) == NULL)
        lbErr(err, LB_ERR_MEMORY, "unable to write the metrics: out of memory");
    monFactsFree(facts);
    monitorScansFree(scans, file->repositoryCount);
    histFree(hist);
    return text;
}

/* Scan the repositories afresh and save the scans (STATE/monitor/), in a
 * child of its own process group given at most monitoring.refresh:
 * an unreachable repository or a password_command that never returns must
 * not keep `lifeboat run` from ending. On time: true; late (the group is
 * killed) or failed: false, and the last saved scans serve. */
static bool scanBounded(const CfgFile *file) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        setpgid(0, 0);
        LbError err = {0};
        Hist *hist = histOpen(file->stateDir, &err);
        MonScan *scans = hist ? monitorScanAll(file, hist, true, lbNowNs() / 1000000) : NULL;
        _exit(scans != NULL ? 0 : 1);
    }
    setpgid(pid, pid);
    int64_t deadline = lbNowNs() / 1000000 + file->monitoring.refresh * 1000LL;
    int status = 0;
    for (;;) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (got < 0 && errno != EINTR)
            return false;
        if (lbNowNs() / 1000000 >= deadline) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            fprintf(stderr,
                    "lifeboat: warning: the repository scan for the metrics textfile did not end within %lld s "
                    "(monitoring.refresh; a repository out of reach?); the textfile has the last saved scans\n",
                    (long long)file->monitoring.refresh);
            return false;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

bool monitorTextfileWrite(const CfgFile *file, LbError *err) {
    if (file->monitoring.textfile == NULL)
        return true;
    scanBounded(file);
    char *text = monitorMetricsText(file, false, false, err);
    bool ok = text != NULL && monWriteFileAtomic(file->monitoring.textfile, text, strlen(text), 0644, err);
    free(text);
    if (!ok)
        lbErrorWrap(err, "unable to write the metrics textfile '%s'", file->monitoring.textfile);
    return ok;
}

int cmdMetrics(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    LbError err = {0};
    CfgFile *file = cliLoadConfig(cfg, &g);
    if (file == NULL)
        return 1;
    char *text = monitorMetricsText(file, !cfgFlag(cfg, cfgOptNoScan), false, &err);
    if (text != NULL)
        fputs(text, stdout);
    free(text);
    cfgFileFree(file);
    return cliExit(&g, text != NULL, &err);
}
