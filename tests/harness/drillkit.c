/*
 * drillkit.c - lifeboat-drillkit: drive src/drill's scratch servers and
 * database verification from tests/integration/test_drillkit.sh.
 *
 * usage: lifeboat-drillkit bin-dir MAJOR
 *            print scratchPgBinDir(MAJOR) (0 = the newest), or its error
 *        lifeboat-drillkit scratch-pg [options]
 *            a scratch set with signal guard, one scratch server; prints
 *            "dir=FOLDER", "data=DATADIR", "pid=POSTMASTER", "conn=STRING"
 *            as soon as each is known (stdout flushed), then:
 *   --parent DIR       the set's parent folder (default: $TMPDIR or /tmp)
 *   --db NAME          create database NAME; the rest works in it
 *   --sql FILE         run FILE's statements in the database
 *   --meta FILE        verify row counts against this snapshot meta (JSON)
 *   --check SQL        an SQL check (repeatable)
 *   --amcheck          run pg_amcheck (on the database)
 *   --amcheck-all      run pg_amcheck --all (every database)
 *   --symlink NAME=TO  create the symbolic link FOLDER/NAME -> TO
 *   --readonly NAME    create FOLDER/NAME/file, then make FOLDER/NAME mode 0555
 *   --run CMD          after the scratch server started, run `sh -c CMD` with
 *                      SCRATCH_DIR=FOLDER in its environment
 *   --adopt NAME       adopt the server CMD started in FOLDER/NAME the way
 *                      tests/harness/pg/start.sh lays it out (data/, run/,
 *                      pg.env with PGPORT and PG_BIN); prints "adopted=PID"
 *   --wait-for FILE    before verifying, print "waiting" and wait (up to
 *                      five minutes) until FILE exists (a test damages the
 *                      database meanwhile)
 *   --stop             after verifying, scratchPgStop the server; prints
 *                      "stopped"
 *   --sleep SECONDS    print "sleeping" and sleep (to be sent a signal)
 *   Then frees the set. Each verification line is printed as "PASS: ..."
 *   or "FAIL: ...", then "verify: passed" or "verify: failed: MESSAGE".
 * Exit status: 0 ok, 2 verification failed, 1 any other error; on a signal,
 * 128 + its number (the guard's).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "drill/pgverify.h"
#include "drill/scratch.h"
#include "pg/pgconn.h"
#include "pg/wal.h"

static int usage(void) {
    fprintf(stderr, "usage: lifeboat-drillkit bin-dir MAJOR | scratch-pg [--parent DIR] [--db NAME] [--sql FILE] "
                    "[--meta FILE] [--check SQL]... [--amcheck] [--amcheck-all] [--symlink NAME=TO] [--readonly NAME] "
                    "[--run CMD] [--adopt NAME] [--wait-for FILE] [--stop] [--sleep SECONDS]\n");
    return 1;
}

static bool runSql(const char *conninfo, const char *sql, LbError *err) {
    PgConnInfo *info = pgconnInfoNew(conninfo, err);
    if (info == NULL)
        return false;
    PgConn *c = pgconnOpen(info, err);
    bool ok = c != NULL && pgconnExec(c, sql, err);
    pgconnClose(c);
    pgconnInfoFree(info);
    return ok;
}

/* A whole file as a string (walReadFile reads any regular file); NULL with err. */
static char *readFile(const char *path, LbError *err) {
    LbBuf b = {0};
    if (!walReadFile(path, &b, err)) {
        lbBufFree(&b);
        return NULL;
    }
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

typedef struct Args {
    const char *parent, *db, *sqlFile, *metaFile, *symlink, *readonly, *run, *adopt, *waitFor;
    const char *checks[32];
    size_t checkCount;
    bool amcheck, amcheckAll, stop;
    int sleepSeconds;
} Args;

static bool parseArgs(int argc, char **argv, Args *a) {
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        bool hasValue = i + 1 < argc;
        if (strcmp(o, "--amcheck") == 0)
            a->amcheck = true;
        else if (strcmp(o, "--amcheck-all") == 0)
            a->amcheck = a->amcheckAll = true;
        else if (strcmp(o, "--stop") == 0)
            a->stop = true;
        else if (!hasValue)
            return false;
        else if (strcmp(o, "--parent") == 0)
            a->parent = argv[++i];
        else if (strcmp(o, "--db") == 0)
            a->db = argv[++i];
        else if (strcmp(o, "--sql") == 0)
            a->sqlFile = argv[++i];
        else if (strcmp(o, "--meta") == 0)
            a->metaFile = argv[++i];
        else if (strcmp(o, "--symlink") == 0)
            a->symlink = argv[++i];
        else if (strcmp(o, "--readonly") == 0)
            a->readonly = argv[++i];
        else if (strcmp(o, "--wait-for") == 0)
            a->waitFor = argv[++i];
        else if (strcmp(o, "--run") == 0)
            a->run = argv[++i];
        else if (strcmp(o, "--adopt") == 0)
            a->adopt = argv[++i];
        else if (strcmp(o, "--sleep") == 0)
            a->sleepSeconds = atoi(argv[++i]);
        else if (strcmp(o, "--check") == 0 && a->checkCount < 32)
            a->checks[a->checkCount++] = argv[++i];
        else
            return false;
    }
    return true;
}

/* The links and read-only folders the cleanup must cope with. */
static bool plant(ScratchSet *set, const Args *a, LbError *err) {
    if (a->symlink) {
        const char *eq = strchr(a->symlink, '=');
        if (eq == NULL)
            return lbErr(err, LB_ERR_ARGS, "--symlink wants NAME=TO");
        char *name = lbXasprintf("%.*s", (int)(eq - a->symlink), a->symlink);
        char *path = scratchSetPath(set, name);
        int rc = symlink(eq + 1, path);
        free(name);
        free(path);
        if (rc != 0)
            return lbErrSys(err, "unable to create the link");
    }
    if (a->readonly) {
        char *dir = NULL;
        if (!scratchSetMkdir(set, a->readonly, &dir, err))
            return false;
        char *file = lbXasprintf("%s/file", dir);
        FILE *f = fopen(file, "w");
        bool ok = f != NULL && fputs("x\n", f) >= 0 && fclose(f) == 0 && chmod(dir, 0555) == 0;
        free(file);
        free(dir);
        if (!ok)
            return lbErrSys(err, "unable to create the read-only folder");
    }
    return true;
}

/* FOLDER/NAME/pg.env's value of VAR ("export VAR=value"); caller frees. */
static char *envValue(const char *envFile, const char *var) {
    LbError ignored = {0};
    char *text = readFile(envFile, &ignored);
    char *want = lbXasprintf("export %s=", var), *value = NULL;
    char *at = text ? strstr(text, want) : NULL;
    if (at) {
        at += strlen(want);
        value = lbXasprintf("%.*s", (int)strcspn(at, "\n"), at);
    }
    free(want);
    free(text);
    return value;
}

/* --run, then --adopt. */
static bool runAndAdopt(ScratchSet *set, const Args *a, LbError *err) {
    if (a->run) {
        setenv("SCRATCH_DIR", scratchSetDir(set), 1);
        fflush(stdout);
        if (system(a->run) != 0)
            return lbErr(err, LB_ERR_COMMAND, "--run command failed");
    }
    if (a->adopt == NULL)
        return true;
    char *base = scratchSetPath(set, a->adopt);
    char *envFile = lbXasprintf("%s/pg.env", base), *data = lbXasprintf("%s/data", base);
    char *sock = lbXasprintf("%s/run", base);
    char *port = envValue(envFile, "PGPORT"), *bin = envValue(envFile, "PG_BIN");
    ScratchPg *pg = NULL;
    if (port && bin)
        pg = scratchPgAdopt(set, data, bin, atoi(port), sock, err);
    else
        lbErr(err, LB_ERR_NOT_FOUND, "no PGPORT and PG_BIN in '%s'", envFile);
    if (pg)
        printf("adopted=%d\n", (int)scratchPgPid(pg));
    free(base);
    free(envFile);
    free(data);
    free(sock);
    free(port);
    free(bin);
    return pg != NULL;
}

static int verify(const char *conn, const char *binDir, const Args *a) {
    json_t *meta = NULL;
    if (a->metaFile) {
        json_error_t je;
        meta = json_load_file(a->metaFile, 0, &je);
        if (meta == NULL) {
            fprintf(stderr, "lifeboat-drillkit: %s: %s\n", a->metaFile, je.text);
            return 1;
        }
    }
    PgVerifyOptions o = {.conninfo = conn,
                         .binDir = binDir,
                         .meta = meta,
                         .checks = a->checks,
                         .checkCount = a->checkCount,
                         .amcheck = a->amcheck,
                         .amcheckAll = a->amcheckAll};
    PgVerifyResult r;
    LbError err = {0};
    bool ok = pgverifyRun(&o, &r, &err);
    for (size_t i = 0; i < r.lineCount; i++)
        printf("%s: %s\n", r.lines[i].passed ? "PASS" : "FAIL", r.lines[i].text);
    if (ok)
        printf("verify: passed\n");
    else
        printf("verify: failed: %s\n", err.msg);
    pgverifyResultClear(&r);
    json_decref(meta);
    return ok ? 0 : 2;
}

static int scratchPg(int argc, char **argv) {
    Args a = {0};
    if (!parseArgs(argc, argv, &a))
        return usage();
    LbError err = {0};
    int rc = 1;
    char *conn = NULL;
    ScratchSet *set = scratchSetNew(a.parent, &err);
    if (set == NULL || !scratchSetGuardSignals(set, &err))
        goto cleanup;
    printf("dir=%s\n", scratchSetDir(set));
    fflush(stdout);
    if (!plant(set, &a, &err))
        goto cleanup;
    ScratchPg *pg = scratchPgStart(set, 0, &err);
    if (pg == NULL)
        goto cleanup;
    conn = scratchPgConnString(pg, "postgres");
    printf("data=%s\npid=%d\n", scratchPgDataDir(pg), (int)scratchPgPid(pg));
    if (a.db) {
        char *sql = lbXasprintf("CREATE DATABASE \"%s\"", a.db);
        bool ok = runSql(conn, sql, &err);
        free(sql);
        if (!ok)
            goto cleanup;
        free(conn);
        conn = scratchPgConnString(pg, a.db);
    }
    printf("conn=%s\n", conn);
    fflush(stdout);
    if (a.sqlFile) {
        char *sql = readFile(a.sqlFile, &err);
        bool ok = sql != NULL && runSql(conn, sql, &err);
        free(sql);
        if (!ok)
            goto cleanup;
    }
    if (!runAndAdopt(set, &a, &err))
        goto cleanup;
    if (a.waitFor) {
        printf("waiting\n");
        fflush(stdout);
        for (int i = 0; i < 3000 && access(a.waitFor, F_OK) != 0; i++)
            usleep(100000);
    }
    rc = 0;
    if (a.metaFile || a.checkCount > 0 || a.amcheck)
        rc = verify(conn, scratchPgBinPath(pg), &a);
    if (a.stop) {
        if (!scratchPgStop(pg, &err)) {
            rc = 1;
            goto cleanup;
        }
        printf("stopped\n");
        fflush(stdout);
    }
    if (a.sleepSeconds > 0) {
        printf("sleeping\n");
        fflush(stdout);
        sleep((unsigned)a.sleepSeconds);
    }
cleanup:
    if (rc == 1 && err.msg[0])
        fprintf(stderr, "lifeboat-drillkit: %s\n", err.msg);
    free(conn);
    scratchSetFree(set);
    return rc;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "bin-dir") == 0) {
        LbError err = {0};
        char *dir = scratchPgBinDir(atoi(argv[2]), &err);
        if (dir == NULL) {
            fprintf(stderr, "lifeboat-drillkit: %s\n", err.msg);
            return 1;
        }
        printf("%s\n", dir);
        free(dir);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "scratch-pg") == 0)
        return scratchPg(argc, argv);
    return usage();
}
