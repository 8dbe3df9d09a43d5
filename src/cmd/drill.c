/* drill.c - `lifeboat drill [COMPONENT...] [--at TIME|POINT]`: recover
 * components of the configuration file into scratch targets that are
 * always removed, verify them, and measure the achieved RTO and RPO against
 * the objectives (docs/commands.md#drill).
 *
 * The scratch targets (drill/scratch.h): a throwaway PostgreSQL server per
 * logical database (the newest installed server, which reads any older
 * dump), a data directory per physical one (replayed and started with the
 * server programs of the backup's own major version), a folder per files,
 * command or bucket component (or the bucket component's recovery.scratch
 * prefix). The restores are the same `lifeboat restore` commands recover
 * runs (cmd/recover.h); their process groups are watched, so SIGINT or
 * SIGTERM leaves no server, process or folder behind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/un.h>
#include <string.h>
#include <yaml.h>

#include "cmd/recover.h"
#include "common/timeutil.h"
#include "drill/pgverify.h"
#include "drill/report.h"
#include "drill/scratch.h"
#include "pg/basebackup.h"
#include "pg/pitr.h"
#include "state/history.h"

typedef struct DrillItem {
    ScratchPg *pg;
    char *binDir;
    double setupSeconds; /* making its scratch target (initdb and start of a server) */
    bool broken;         /* restore or verification failed (not only an objective) */
} DrillItem;

static void watchPid(void *ctx, pid_t pgid, bool started) {
    if (started)
        scratchSetWatchPgid(ctx, pgid);
    else
        scratchSetUnwatchPgid(ctx, pgid);
}

static int metaMajor(const Snapshot *snap) {
    json_t *n = json_object_get(snap->meta, "server_version_num");
    if (json_is_integer(n))
        return (int)(json_integer_value(n) / 10000);
    BasebackupInfo info;
    LbError ignored = {0};
    if (snap->meta && basebackupInfoFromJson(snap->meta, &info, &ignored))
        return info.serverVersionNum / 10000;
    return 0;
}

/* Point the item at a scratch target and say how to restore into it. */
static bool prepare(ScratchSet *set, RecoverItem *it, DrillItem *d, LbError *err) {
    const char *name = it->comp->name;
    char sub[300];
    switch (it->comp->type) {
    case cfgCompPostgres: {
        /* the newest installed server: it reads dumps of every older one */
        d->binDir = scratchPgBinDir(0, err);
        if (d->binDir == NULL)
            return false;
        d->pg = scratchPgStart(set, 0, err);
        if (d->pg == NULL)
            return false;
        it->target = scratchPgConnString(d->pg, "lifeboat_drill");
        it->createDb = true;
        cliArgvAddf(&it->extra, "--pg-bin=%s", d->binDir);
        return true;
    }
    case cfgCompPostgresPhysical: {
        int major = metaMajor(&it->snap);
        d->binDir = scratchPgBinDir(major, err);
        if (d->binDir == NULL)
            return false;
        snprintf(sub, sizeof(sub), "pgdata-%s", name);
        it->target = scratchSetPath(set, sub);
        /* created now, owned by the server's user, so that cleanup knows it
         * even when the restore fails after starting the server */
        PitrOwner owner;
        if (!pitrOwnerResolve(NULL, &owner, err) || !pitrPrepareDir(it->target, &owner, err))
            return false;
        /* the socket in a short folder of its own: a Unix socket's path
         * holds 107 bytes at most, and the data directory's may be longer */
        static unsigned sockets;
        snprintf(sub, sizeof(sub), "s%u", ++sockets);
        char *sock = scratchSetPath(set, sub);
        struct sockaddr_un sun;
        bool fits = strlen(sock) + sizeof("/.s.PGSQL.65535") <= sizeof(sun.sun_path);
        if (!fits)
            lbErr(err, LB_ERR_ARGS,
                  "unable to start a scratch server with its socket in '%s': the path is too long for a Unix socket "
                  "(%zu bytes at most). HINT: Set TMPDIR to a shorter directory, such as /tmp.",
                  sock, sizeof(sun.sun_path) - 1);
        if (fits && pitrPrepareDir(sock, &owner, err))
            d->pg = scratchPgAdopt(set, it->target, d->binDir, SCRATCH_PG_PORT, sock, err);
        if (d->pg)
            cliArgvAddf(&it->extra, "--pg-set=unix_socket_directories=%s", sock);
        free(sock);
        if (d->pg == NULL)
            return false;
        cliArgvAdd(&it->extra, "--start");
        cliArgvAddf(&it->extra, "--pg-bin=%s", d->binDir);
        cliArgvAddf(&it->extra, "--pg-port=%d", SCRATCH_PG_PORT);
        cliArgvAdd(&it->extra, "--pg-set=listen_addresses=");
        cliArgvAdd(&it->extra, "--pg-set=archive_mode=off");
        cliArgvAdd(&it->extra, "--pg-set=fsync=off");
        return true;
    }
    case cfgCompBucket:
        if (it->comp->recoveryScratch) {
            it->target = lbXstrdup(it->comp->recoveryScratch);
            it->clean = true; /* objects left from an earlier drill go */
            it->notEmpty = true;
            return true;
        }
        __attribute__((fallthrough)); /* a folder */
    default:
        snprintf(sub, sizeof(sub), "%s-%s", it->comp->typeName, name);
        it->target = scratchSetPath(set, sub);
        return true;
    }
}

/* Does every document of the file parse as YAML? */
static bool yamlParses(const char *path, char *why, size_t n) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, n, "unable to open '%s'", path);
        return false;
    }
    yaml_parser_t p;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    bool ok = true, done = false;
    while (ok && !done) {
        yaml_event_t e;
        ok = yaml_parser_parse(&p, &e) != 0;
        if (!ok) {
            snprintf(why, n, "line %zu: %s", p.problem_mark.line + 1, p.problem ? p.problem : "invalid YAML");
            break;
        }
        done = e.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&e);
    }
    yaml_parser_delete(&p);
    fclose(f);
    return ok;
}

static bool endsWith(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void verifyDatabase(const RecoverItem *it, const DrillItem *d, DrillComponentResult *c) {
    char *conn = it->comp->type == cfgCompPostgres ? lbXstrdup(it->target) : scratchPgConnString(d->pg, "postgres");
    PgVerifyOptions o = {.conninfo = conn,
                         .binDir = d->binDir,
                         .meta = it->comp->type == cfgCompPostgres ? it->snap.meta : NULL,
                         .checks = it->comp->verifySql,
                         .checkCount = it->comp->verifySqlCount,
                         .amcheck = true,
                         .amcheckAll = it->comp->type == cfgCompPostgresPhysical};
    PgVerifyResult r = {0};
    LbError err = {0};
    bool ok = pgverifyRun(&o, &r, &err);
    for (size_t i = 0; i < r.lineCount; i++)
        drillComponentAddCheck(c, r.lines[i].passed, "%s", r.lines[i].text);
    if (!ok)
        drillComponentFail(c, "verification failed: %s", err.msg);
    pgverifyResultClear(&r);
    free(conn);
}

static void verifyFiles(const RecoverItem *it, DrillComponentResult *c) {
    json_t *fv = json_object_get(it->output, "files_verified");
    if (json_is_integer(fv))
        drillComponentAddCheck(c, true, "content: %lld file(s) read back and matched to the snapshot's blob IDs",
                               (long long)json_integer_value(fv));
    else if (json_object_get(it->output, "bytes_uploaded")) {
        long long up = json_integer_value(json_object_get(it->output, "objects_uploaded")),
                  same = json_integer_value(json_object_get(it->output, "objects_unchanged"));
        bool ok = (uint64_t)(up + same) == it->snap.summary.totalFiles;
        drillComponentAddCheck(c, ok,
                               "objects: %lld uploaded, %lld already there with the snapshot's size and ETag, %llu in "
                               "the snapshot (an s3: scratch is not read back; a folder scratch is)",
                               up, same, (unsigned long long)it->snap.summary.totalFiles);
    } else
        drillComponentAddCheck(c, false, "content: not verified");
    if (it->comp->type != cfgCompCommand)
        return;
    /* a command's output that is YAML (kubectl get -o yaml) must parse */
    for (size_t i = 0; i < it->comp->backupArgs.n; i++) {
        const char *a = it->comp->backupArgs.v[i];
        const char *fn = strncmp(a, "--stdin-filename=", 17) == 0 ? a + 17 : NULL;
        if (fn == NULL && strcmp(a, "--stdin-filename") == 0 && i + 1 < it->comp->backupArgs.n)
            fn = it->comp->backupArgs.v[i + 1];
        if (fn == NULL || !(endsWith(fn, ".yaml") || endsWith(fn, ".yml")))
            continue;
        char *path = lbXasprintf("%s/%s", it->target, fn[0] == '/' ? fn + 1 : fn), why[256] = "";
        bool ok = yamlParses(path, why, sizeof(why));
        drillComponentAddCheck(c, ok, "%s: %s", fn, ok ? "parses as YAML" : why);
        free(path);
        break;
    }
}

/* The consistency check (the first one configured among the drilled
 * components) into the report. */
static void checkConsistency(RecoverSet *set, DrillItem *items, DrillResult *res) {
    for (size_t i = 0; i < set->count; i++)
        if (set->items[i].comp->type == cfgCompPostgresPhysical && items[i].pg)
            set->items[i].checkConn = scratchPgConnString(items[i].pg, "postgres");
    json_t *checks = json_array();
    LbError err = {0};
    recoverConsistency(set, checks, NULL, &err);
    json_t *o = json_array_get(checks, 0);
    if (o) {
        DrillConsistency *dc = drillResultConsistency(res);
        dc->query = lbXstrdup(json_string_value(json_object_get(o, "query")));
        dc->component = lbXstrdup(json_string_value(json_object_get(o, "bucket")));
        dc->keysReferenced = (uint64_t)json_integer_value(json_object_get(o, "referenced"));
        dc->keysMissing = (uint64_t)json_integer_value(json_object_get(o, "missing"));
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(o, "examples"), k, e) {
            if (dc->exampleCount >= DRILL_CONSISTENCY_EXAMPLES)
                break;
            dc->examples = lbXrealloc(dc->examples, (dc->exampleCount + 1) * sizeof(char *));
            dc->examples[dc->exampleCount++] = lbXstrdup(json_string_value(e));
        }
        const char *why = json_string_value(json_object_get(o, "error"));
        dc->passed = why == NULL && json_object_get(o, "missing") && dc->keysMissing == 0;
        if (why)
            fprintf(stderr, "lifeboat: drill: consistency check: %s\n", why);
    }
    json_decref(checks);
}

static void fillComponent(const RecoverSet *set, const RecoverItem *it, DrillComponentResult *c) {
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&it->snap.id, hex);
    c->snapshotId = lbXstrdup(hex);
    c->snapshotNs = it->snap.timeNs;
    c->recoveredNs = it->choice.asOfNs;
    c->bytes = it->bytes;
    c->restoreSeconds = it->seconds;
    c->rpoSeconds = (double)(set->nowNs - it->choice.asOfNs) / 1e9;
    c->rtoObjective = it->comp->rto;
    c->rpoObjective = it->comp->rpo;
}

static void recordHistory(const CfgFile *file, const DrillResult *res) {
    LbError err = {0};
    HistDrillRow *rows = calloc(res->componentCount + 1, sizeof(HistDrillRow));
    for (size_t i = 0; i < res->componentCount; i++) {
        const DrillComponentResult *c = &res->components[i];
        rows[i] = (HistDrillRow){.drillId = res->id,
                                 .component = c->name,
                                 .type = c->type,
                                 .snapshotId = c->snapshotId,
                                 .missed = c->missed,
                                 .error = c->error,
                                 .startedAt = res->startNs / 1000000,
                                 .endedAt = res->endNs / 1000000,
                                 .recoveredAsOf = c->recoveredNs / 1000000,
                                 .bytes = c->bytes,
                                 .restoreSeconds = c->restoreSeconds,
                                 .verifySeconds = c->verifySeconds,
                                 .rtoSeconds = c->totalSeconds,
                                 .rpoSeconds = c->rpoSeconds,
                                 .rtoObjective = c->rtoObjective,
                                 .rpoObjective = c->rpoObjective,
                                 .passed = c->passed};
    }
    Hist *h = histOpen(file->stateDir, &err);
    if (h == NULL || !histRecordDrill(h, rows, res->componentCount, &err))
        fprintf(stderr, "lifeboat: drill: warning: not recorded in the history: %s\n", err.msg);
    histFree(h);
    free(rows);
}

static bool printReport(const GlobalOpts *g, int format, const DrillResult *res) {
    LbError err = {0};
    bool ok = true;
    if (g->json)
        cliPrintJson(drillResultToJson(res));
    else if (format == 1) {
        json_t *j = drillResultToJson(res);
        ok = json_dumpf(j, stdout, JSON_INDENT(2)) == 0;
        fputc('\n', stdout);
        json_decref(j);
    } else if (format == 2)
        ok = drillReportHtml(res, stdout, &err);
    else if (!g->quiet)
        ok = drillReportText(res, stdout, &err);
    if (ok && (fflush(stdout) != 0 || ferror(stdout)))
        ok = lbErr(&err, LB_ERR_IO, "unable to write the report to stdout: %s", strerror(errno));
    if (!ok)
        fprintf(stderr, "lifeboat: drill: %s\n", err.msg);
    return ok;
}

int cmdDrill(const CfgValues *cfg) {
    GlobalOpts g = cliGlobals(cfg);
    CliArgs args = cliArgs(cfg);
    LbError err = {0};
    int rc = 1;
    /* first: the signal guard must exist before any thread does */
    ScratchSet *set = scratchSetNew(NULL, &err);
    if (set == NULL || !scratchSetGuardSignals(set, &err)) {
        scratchSetFree(set);
        return cliFailJson(&g, &err);
    }
    CfgFile *file = cliLoadConfig(cfg, &g);
    RecoverSet rs = {0};
    DrillItem *items = NULL;
    DrillResult *res = NULL;
    if (file == NULL)
        goto out;
    char **all = NULL;
    size_t n = args.count;
    char *const *names = args.positional;
    if (n == 0) { /* every component of the file */
        all = lbXmalloc((file->componentCount + 1) * sizeof(char *));
        for (size_t i = 0; i < file->componentCount; i++)
            all[i] = (char *)file->components[i].name;
        n = file->componentCount;
        names = all;
    }
    const char *at = cfgStr(cfg, cfgOptAt);
    bool built = recoverSetBuild(file, names, n, at, &rs, &err);
    free(all);
    if (!built) {
        rc = cliFailJson(&g, &err);
        goto out;
    }
    char id[64], when[40];
    lbFormatTimeNs(rs.nowNs, when, sizeof(when));
    snprintf(id, sizeof(id), "drill-%.4s%.2s%.2sT%.2s%.2s%.2sZ", when, when + 5, when + 8, when + 11, when + 14,
             when + 17);
    res = drillResultNew(id, at);
    res->startNs = rs.nowNs;
    if (rs.at.kind == RECOVER_AT_POINT)
        res->recoveryPoint = lbXstrdup(rs.at.point);
    items = calloc(rs.count, sizeof(DrillItem));
    bool prepared = true;
    for (size_t i = 0; i < rs.count; i++) {
        RecoverItem *it = &rs.items[i];
        DrillComponentResult *c = drillResultAddComponent(res, it->comp->name, it->comp->typeName);
        fillComponent(&rs, it, c);
        double t0 = lbMonotonicSeconds();
        bool ready = prepare(set, it, &items[i], &err);
        items[i].setupSeconds = lbMonotonicSeconds() - t0;
        if (!ready) {
            drillComponentFail(c, "scratch target: %s", err.msg);
            lbErrorClear(&err);
            it->skip = true;
            items[i].broken = true;
            prepared = false;
        }
    }
    {
        if (!g.quiet && !g.json)
            fprintf(stderr, "drill %s: %zu component(s) into %s\n", id, rs.count, scratchSetDir(set));
        recoverSetRun(&rs, &(RecoverRunOptions){
                               .verify = true, .progress = !g.quiet && !g.json, .pids = watchPid, .pidsCtx = set});
        for (size_t i = 0; i < rs.count; i++) {
            RecoverItem *it = &rs.items[i];
            DrillComponentResult *c = &res->components[i];
            c->bytes = it->bytes;
            c->restoreSeconds = it->seconds;
            if (it->skip)
                continue;
            if (!it->ok) {
                drillComponentFail(c, "restore failed: %s", it->error ? it->error : "");
                items[i].broken = true;
                continue;
            }
            double t0 = lbMonotonicSeconds();
            if (recoverIsDatabase(it->comp))
                verifyDatabase(it, &items[i], c);
            else
                verifyFiles(it, c);
            c->verifySeconds = lbMonotonicSeconds() - t0;
            /* the achieved RTO: a real recovery needs its target too */
            c->totalSeconds = items[i].setupSeconds + c->restoreSeconds + c->verifySeconds;
            if (items[i].setupSeconds >= 0.05)
                drillComponentAddCheck(c, true, "scratch target ready in %.1f s (counted in the RTO)",
                                       items[i].setupSeconds);
            items[i].broken = !c->passed;
            drillComponentCompare(c);
        }
        checkConsistency(&rs, items, res);
    }
    res->endNs = lbNowNs();
    drillResultFinish(res);
    if (!drillReportSave(res, file->stateDir, &err)) {
        fprintf(stderr, "lifeboat: drill: %s\n", err.msg);
        lbErrorClear(&err);
    }
    recordHistory(file, res);
    bool printed = printReport(&g, cfgEnum(cfg, cfgOptReport), res);
    /* 0 passed; 4 everything recovered and verified but an objective missed; 1 otherwise (also when the
     * report could not be printed) */
    rc = printed ? 0 : 1;
    if (!res->passed && printed) {
        rc = prepared && (res->consistency == NULL || res->consistency->passed) ? 4 : 1;
        for (size_t i = 0; i < rs.count; i++)
            if (items[i].broken)
                rc = 1;
    }
out:
    for (size_t i = 0; items && i < rs.count; i++)
        free(items[i].binDir);
    free(items);
    recoverSetFree(&rs);
    drillResultFree(res);
    cfgFileFree(file);
    scratchSetFree(set);
    return rc;
}
