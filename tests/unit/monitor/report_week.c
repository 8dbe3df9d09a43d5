/*
 * report_week.c - a simulated week of a configuration file's plan, for
 * `lifeboat report` (tests/integration/test_report.sh, docs/monitoring.md):
 *
 *   report_week CONFIG [DAYS]
 *
 * writes into the file's state directory, for the last DAYS days (7) up to
 * now: a history row for every slot of every scheduled component and job
 * (from their cron expressions), with durations and bytes added by type and
 * a few failures and a skipped run chosen by a fixed seed; the drills of
 * each drill job's slots (database RTO 3 min, other components 9 min);
 * hourly size samples of every repository; and a saved scan of every
 * repository (STATE/monitor/scan-NAME.json) as the daemon keeps them, so
 * that `lifeboat report --config CONFIG --no-scan` reports on that week.
 * Nothing is backed up: the figures are made up, the code paths are real.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "config/file.h"
#include "monitor/facts.h"
#include "sched/cron.h"
#include "state/history.h"

static uint32_t seed = 12345;

static uint32_t rnd(void) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) & 0xffffff;
}

static void die(const char *what, const LbError *err) {
    fprintf(stderr, "report_week: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

typedef struct Figures {
    double seconds;
    int64_t bytes;
} Figures;

static Figures figuresOf(const CfgFile *cfg, const char *name) {
    const CfgComponent *c = cfgFileComponent(cfg, name);
    const CfgJob *j = c ? NULL : cfgFileJob(cfg, name);
    double jitter = 0.8 + (double)(rnd() % 400) / 1000.0;
    if (c && c->type == cfgCompPostgres)
        return (Figures){42 * jitter, (int64_t)(18e6 * jitter)};
    if (c && c->type == cfgCompBucket)
        return (Figures){95 * jitter, (int64_t)(35e6 * jitter)};
    if (c)
        return (Figures){12 * jitter, (int64_t)(2e6 * jitter)};
    if (j && j->type == cfgJobBackup)
        return (Figures){1260 * jitter, (int64_t)(1.4e9 * jitter)};
    if (j && j->type == cfgJobPrune)
        return (Figures){300 * jitter, -1};
    if (j && j->type == cfgJobCheck)
        return (Figures){1800 * jitter, -1};
    if (j && j->type == cfgJobDrill)
        return (Figures){720 * jitter, -1};
    return (Figures){3 * jitter, -1};
}

static void record(Hist *h, const char *job, const char *component, int64_t slot, HistOutcome o, Figures f,
                   const char *error) {
    char runId[160], when[48];
    lbFormatTimeNs(slot * 1000000000LL, when, sizeof(when));
    memcpy(when + 19, "Z", 2);
    snprintf(runId, sizeof(runId), "%s@%s", job, when);
    bool notStarted = o == histSkipped || o == histMissed;
    HistRun r = {.runId = runId,
                 .job = job,
                 .component = component,
                 .trigger = "schedule",
                 .scheduledAt = slot,
                 .startedAt = notStarted ? 0 : slot * 1000 + 150,
                 .endedAt = notStarted ? slot * 1000 : 0,
                 .outcome = notStarted ? o : histRunning,
                 .attempt = 1,
                 .exitCode = -1,
                 .bytesAdded = -1,
                 .error = notStarted ? error : NULL};
    LbError err = {0};
    bool claimed = false;
    int64_t id = 0;
    if (!histClaim(h, &r, &claimed, &id, &err) || !claimed)
        die("unable to claim a run", &err);
    if (!notStarted && !histFinish(h, id, o, slot * 1000 + 150 + (int64_t)(f.seconds * 1000),
                                   o == histSucceeded ? 0 : 1, o == histSucceeded ? f.bytes : -1,
                                   o == histSucceeded && f.bytes > 0 ? f.bytes * 20 : -1, NULL, error, &err))
        die("unable to finish a run", &err);
}

typedef struct Newest {
    int64_t okStartMs, okEndMs;
    uint64_t count;
    int64_t added;
} Newest;

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: report_week CONFIG [DAYS]\n");
        return 2;
    }
    int days = argc > 2 ? atoi(argv[2]) : 7;
    char *messages = NULL;
    LbError err = {0};
    CfgFile *cfg = cfgFileLoad(argv[1], &messages, &err);
    if (cfg == NULL) {
        fprintf(stderr, "%s", messages ? messages : "");
        die("unable to load the configuration", &err);
    }
    Hist *h = histOpen(cfg->stateDir, &err);
    if (h == NULL)
        die("unable to open the history", &err);
    /* The schedules run on a timeline shifted so that now is always 10 min
     * past one of its hours: the newest hourly and quarter-hourly runs are
     * then 10 min old whatever the time of day the test runs at (without
     * the shift, just after a full hour the hourly run of that hour would
     * not exist yet and the report's verdicts would change). */
    int64_t now = lbNowNs() / 1000000000LL;
    int64_t vnow = now / 3600 * 3600 + 600, off = now - vnow, start = vnow - (int64_t)days * 86400;
    size_t n = cfg->componentCount + cfg->jobCount;
    Newest *newest = calloc(n, sizeof(*newest));
    for (size_t i = 0; i < n; i++) {
        bool isComp = i < cfg->componentCount;
        const char *name = isComp ? cfg->components[i].name : cfg->jobs[i - cfg->componentCount].name;
        const CfgRunPolicy *run = isComp ? &cfg->components[i].run : &cfg->jobs[i - cfg->componentCount].run;
        const CfgJob *job = isComp ? NULL : &cfg->jobs[i - cfg->componentCount];
        if (run->schedule == NULL)
            continue;
        CronSchedule *cron = cronParse(run->schedule, run->timezone, &err);
        if (cron == NULL)
            die(name, &err);
        int64_t slot = start;
        unsigned k = 0;
        while (cronNext(cron, slot, &slot) && slot < vnow - 120) {
            int64_t at = slot + off; /* on the real clock */
            k++;
            Figures f = figuresOf(cfg, name);
            HistOutcome o = histSucceeded;
            const char *error = NULL;
            /* the fixed mishaps of the week: a dump that lost its server,
             * an hour skipped behind a slow bucket listing */
            if (isComp && cfg->components[i].type == cfgCompPostgres && k == 230) {
                o = histFailed;
                error = "pg_dump: error: connection to server failed: server closed the connection unexpectedly";
            } else if (isComp && cfg->components[i].type == cfgCompBucket && k == 100) {
                o = histSkipped;
                error = "the previous run still held the job";
            }
            record(h, name, isComp ? name : NULL, at, o, f, error);
            if (o == histSucceeded) {
                newest[i].okStartMs = at * 1000 + 150;
                newest[i].okEndMs = at * 1000 + 150 + (int64_t)(f.seconds * 1000);
                newest[i].count++;
                newest[i].added += f.bytes > 0 ? f.bytes : 0;
            }
            if (job && job->type == cfgJobDrill && o == histSucceeded) {
                HistDrillRow rows[16];
                char drillId[64];
                snprintf(drillId, sizeof(drillId), "drill-%lld", (long long)at);
                size_t m = 0;
                for (size_t c = 0; c < job->componentCount && m < 16; c++) {
                    const CfgComponent *cc = cfgFileComponent(cfg, job->components[c]);
                    double rto = cc && cc->type == cfgCompPostgres ? 180 : 540;
                    rows[m++] = (HistDrillRow){.drillId = drillId,
                                               .component = job->components[c],
                                               .type = cc ? cc->typeName : "files",
                                               .startedAt = at * 1000,
                                               .endedAt = at * 1000 + (int64_t)rto * 1000,
                                               .recoveredAsOf = at * 1000 - 600000,
                                               .rtoSeconds = rto,
                                               .rpoSeconds = 600,
                                               .rtoObjective = cc ? cc->rto : -1,
                                               .rpoObjective = cc ? cc->rpo : -1,
                                               .passed = true};
                }
                if (!histRecordDrill(h, rows, m, &err))
                    die("unable to record a drill", &err);
            }
        }
        cronFree(cron);
    }
    /* the repositories: hourly size samples and the last scan */
    for (size_t r = 0; r < cfg->repositoryCount; r++) {
        const CfgFileRepository *repo = &cfg->repositories[r];
        MonScan s = {.repository = (char *)repo->name, .scannedAtMs = now * 1000 - 60000, .ok = true};
        MonScanComponent comps[32];
        uint64_t total = 0;
        int64_t added = 0;
        for (size_t c = 0; c < cfg->componentCount && s.componentCount < 32; c++) {
            const CfgComponent *cc = &cfg->components[c];
            bool here = strcmp(cc->repository, repo->name) == 0;
            int64_t okStart = here ? newest[c].okStartMs : 0, okEnd = here ? newest[c].okEndMs : 0;
            uint64_t count = here ? newest[c].count : 0;
            for (size_t j = 0; j < cfg->jobCount; j++) {
                const CfgJob *job = &cfg->jobs[j];
                bool listed = false;
                for (size_t x = 0; x < job->componentCount; x++)
                    listed = listed || strcmp(job->components[x], cc->name) == 0;
                if (job->type != cfgJobBackup || !listed)
                    continue;
                Newest *nj = &newest[cfg->componentCount + j];
                bool into = here || (job->copyTo && strcmp(job->copyTo, repo->name) == 0);
                if (!into)
                    continue;
                count += nj->count;
                if (nj->okEndMs > okEnd) {
                    okStart = nj->okStartMs;
                    okEnd = nj->okEndMs;
                }
            }
            if (count == 0)
                continue;
            MonScanComponent *sc = &comps[s.componentCount++];
            *sc = (MonScanComponent){.component = (char *)cc->name,
                                     .snapshots = count + 30 * 24,
                                     .newestNs = okEnd * 1000000,
                                     .newestReadNs = okStart * 1000000,
                                     .newestBytes = 4ULL << 30,
                                     .physical = cc->type == cfgCompPostgresPhysical};
            if (sc->physical && here) {
                sc->walWindow = true;
                sc->walFirstNs = (now - 35LL * 86400) * 1000000000LL;
                sc->walNewestNs = (now - 40) * 1000000000LL;
                snprintf(sc->walLastSegment, sizeof(sc->walLastSegment), "00000001000004A2000000%02X",
                         (unsigned)(now / 60 % 256));
                snprintf(s.newestWal, sizeof(s.newestWal), "%s", sc->walLastSegment);
                s.newestWalNs = sc->walNewestNs;
            }
            s.snapshots += sc->snapshots;
            total += (uint64_t)count * 50000000ULL;
            added += here ? newest[c].added : 0;
        }
        s.components = comps;
        s.sizeBytes = total + (uint64_t)added;
        s.packs = s.sizeBytes / (16 << 20);
        if (!monScanSave(cfg->stateDir, &s, &err))
            die("unable to save a scan", &err);
        for (int64_t t = start; t <= now; t += 3600) {
            uint64_t size =
                s.sizeBytes - (uint64_t)((double)(now - t) / (double)(now - start) * (double)s.sizeBytes * 0.05);
            if (!histRecordScan(h, repo->name, t * 1000, size, s.snapshots, &err))
                die("unable to record a size sample", &err);
        }
    }
    free(newest);
    histFree(h);
    cfgFileFree(cfg);
    free(messages);
    return 0;
}
