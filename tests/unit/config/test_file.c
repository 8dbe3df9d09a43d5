/*
 * test_file.c - unit tests for the configuration file (src/config/file.c).
 *
 * Broken files: each case is a small file with one mistake, marked "#<" on
 * the line the error must name; the test asserts the message names the
 * file, that exact line, the key path and the reason. A file with three
 * mistakes reports all three. examples/platform.yaml loads, and every
 * argument vector it makes (backup, retention, jobs) parses with cfgParse
 * for its verb. config show redacts secrets from the environment.
 * LIFEBOAT_HOST sets the host a backup records, never a filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/file.h"
#include "config/parse.h"

static char dir[64];

#define REPO                                                                                                           \
    "repositories:\n"                                                                                                  \
    "  main:\n"                                                                                                        \
    "    url: /tmp/lifeboat-test-repo\n"                                                                               \
    "    password_command: echo pw\n"
#define DB                                                                                                             \
    "components:\n"                                                                                                    \
    "  db:\n"                                                                                                          \
    "    type: postgres\n"                                                                                             \
    "    connection: dbname=app\n"

typedef struct BrokenCase {
    const char *name;
    const char *text;
    const char *key;    /* the key path in the message ("" when none) */
    const char *reason; /* a part of the reason */
} BrokenCase;

static const BrokenCase cases[] = {
    {"misspelt key", REPO DB "    schedul: '* * * * *' #<\n", "components.db.schedul", "did you mean 'schedule'"},
    {"misspelt top-level key", REPO "componets: {} #<\n", "componets", "did you mean 'components'"},
    {"list expected", REPO DB "    tags: db #<\n", "components.db.tags", "expected a list"},
    {"map where a list belongs", REPO "components:\n  files:\n    type: files\n    paths: #<\n      a: b\n",
     "components.files.paths", "expected a list"},
    {"value expected", REPO DB "    host: [a, b] #<\n", "components.db.host", "expected a single value"},
    {"bad duration", REPO DB "    timeout: 35x #<\n", "components.db.timeout",
     "'35x' is not a duration (use 35d, 12h, 90m)"},
    {"bad retention duration", REPO DB "    retention:\n      keep_within: 35x #<\n",
     "components.db.retention.keep_within", "'35x' is not a duration (use 35d, 12h, 90m)"},
    {"bad keep count", REPO DB "    retention:\n      keep_monthly: many #<\n", "components.db.retention.keep_monthly",
     "whole number"},
    {"unknown retention key", REPO DB "    retention:\n      keep_montly: 12 #<\n",
     "components.db.retention.keep_montly", "did you mean 'keep_monthly'"},
    {"bad cron", REPO DB "    schedule: '61 * * * *' #<\n", "components.db.schedule", "is not a cron expression"},
    {"schedule that never fires", REPO DB "    schedule: '0 0 0 1 1 ? 1999' #<\n", "components.db.schedule",
     "never fires"},
    {"bad timezone", REPO DB "    timezone: Mars/Olympus_Mons #<\n", "components.db.timezone", "Mars/Olympus_Mons"},
    {"bad boolean", REPO DB "    catch_up: maybe #<\n", "components.db.catch_up", "not a boolean"},
    {"negative retries", REPO DB "    retries: -1 #<\n", "components.db.retries", "whole number from 0"},
    {"bad concurrency policy", REPO DB "    concurrency_policy: Sometimes #<\n", "components.db.concurrency_policy",
     "Forbid, Allow or Replace"},
    {"unknown type", REPO "components:\n  db:\n    type: mysql #<\n", "components.db.type", "not a component type"},
    {"missing required key", REPO "components:\n  files: #<\n    type: files\n", "components.files",
     "missing key 'paths'"},
    {"missing url", "repositories:\n  main: #<\n    password_command: echo pw\n", "repositories.main",
     "missing key 'url'"},
    {"unknown repository", REPO DB "    repository: offsite #<\n", "components.db.repository",
     "unknown repository 'offsite'"},
    {"unknown component", REPO DB "jobs:\n  nightly:\n    type: backup\n    components: [db, web] #<\n",
     "jobs.nightly.components", "unknown component 'web'"},
    {"literal password", "repositories:\n  main:\n    url: /tmp/r\n    password: hunter2 #<\n",
     "repositories.main.password", "password_file or password_command"},
    {"literal S3 secret key", REPO "    s3:\n      secret_access_key: abc #<\n",
     "repositories.main.s3.secret_access_key", "a secret does not belong in the file"},
    {"password in a connection URI",
     REPO "components:\n  db:\n    type: postgres\n    connection: postgresql://app:hunter2@db/app #<\n",
     "components.db.connection", "PGPASSFILE"},
    {"password in a conninfo",
     REPO "components:\n  db:\n    type: postgres\n    connection: host=db password=hunter2 #<\n",
     "components.db.connection", "a password in the connection string"},
    {"tab indentation", REPO DB "\tschedule: '* * * * *' #<\n", "", "tab"},
    {"duplicate key", REPO DB "    type: files #<\n", "components.db.type", "duplicate key (first at line 7)"},
    {"missing password file",
     "repositories:\n  main:\n    url: /tmp/r\n    password_file: /nonexistent/lifeboat-pw #<\n",
     "repositories.main.password_file", "unable to read password file"},
    {"two defaults",
     "repositories: #<\n  a:\n    url: /tmp/a\n    default: true\n    password_command: x\n  b:\n    url: /tmp/b\n"
     "    default: true\n    password_command: x\n",
     "repositories", "exactly one may"},
    {"no default",
     "repositories: #<\n  a:\n    url: /tmp/a\n    password_command: x\n  b:\n    url: /tmp/b\n"
     "    password_command: x\n",
     "repositories", "no default repository"},
    {"undefined variable",
     REPO "components:\n  db:\n    type: postgres\n    connection: ${LIFEBOAT_TEST_UNSET_VAR} #<\n",
     "components.db.connection", "${LIFEBOAT_TEST_UNSET_VAR} is not set"},
    {"name clash", REPO DB "jobs:\n  db: #<\n    type: check\n", "jobs.db", "a component has the same name"},
    {"bad size", REPO "jobs:\n  tidy:\n    type: prune\n    max_repack_size: 12Q #<\n", "jobs.tidy.max_repack_size",
     "'12Q'"},
    {"bad percentage", REPO "jobs:\n  verify:\n    type: check\n    read_data_subset: 150% #<\n",
     "jobs.verify.read_data_subset", "percentage"},
    {"option of another verb", REPO "jobs:\n  verify:\n    type: check\n    max_unused: 5% #<\n",
     "jobs.verify.max_unused", "unknown key"},
    {"selection on a forget job", REPO "jobs:\n  tidy:\n    type: forget\n    host: web1 #<\n", "jobs.tidy.host",
     "unknown key"},
    {"copy_to its own repository",
     REPO DB "jobs:\n  full:\n    type: backup\n    components: [db]\n    copy_to: main #<\n", "jobs.full.copy_to",
     "component 'db' is backed up into 'main' already"},
    {"key of another job type",
     REPO "jobs:\n  nightly:\n    type: backup\n    components: []\n    repository: main #<\n",
     "jobs.nightly.repository", "not a key of a 'backup' job"},
    {"copy without target", REPO "jobs:\n  offsite: #<\n    type: copy\n", "jobs.offsite", "missing key 'to'"},
    {"source key of another type", REPO DB "    paths: [/etc] #<\n", "components.db.paths",
     "not a key of a 'postgres' component"},
    {"option of another backup form", REPO DB "    wal_method: none #<\n", "components.db.wal_method",
     "it applies to postgres-physical components"},
    {"bad choice", REPO DB "    pg_count_rows: fast #<\n", "components.db.pg_count_rows",
     "'fast': expected one of exact"},
    {"bad bucket", REPO "components:\n  up:\n    type: bucket\n    bucket: uploads #<\n", "components.up.bucket",
     "not a bucket"},
    {"bad name", REPO "components:\n  'my db': #<\n    type: postgres\n    connection: ''\n", "components",
     "not a valid name"},
    {"YAML syntax error", REPO DB "    host: a: b #<\n", "", "mapping values are not allowed"},
    {"notification URL literal",
     REPO DB "notifications:\n  chat:\n    type: slack\n    url: https://hooks.example/x #<\n",
     "notifications.chat.url", "the url is a secret and does not belong in the file: HINT:"},
    {"notification SMTP URL",
     REPO DB "notifications:\n  m:\n    type: email\n    smtp_url: http://x:25 #<\n"
             "    from: a@b.c\n    to: [d@e.f]\n",
     "notifications.m.smtp_url", "is not smtp://HOST:PORT or smtps://HOST:PORT"},
    {"notification event",
     REPO DB "notifications:\n  h:\n    type: webhook\n    url_env: H\n    events: [failure, "
             "boom] #<\n",
     "notifications.h.events", "unknown event 'boom'"},
    {"monitoring listen not loopback", REPO DB "monitoring:\n  listen: 0.0.0.0:9188 #<\n", "monitoring.listen",
     "set token_file too"},
    {"monitoring listen malformed", REPO DB "monitoring:\n  listen: example.org:http #<\n", "monitoring.listen",
     "is not HOST:PORT"},
    {"monitoring textfile relative", REPO DB "monitoring:\n  textfile: out.prom #<\n", "monitoring.textfile",
     "not an absolute path"},
    {"monitoring textfile not .prom", REPO DB "monitoring:\n  textfile: /tmp/out.txt #<\n", "monitoring.textfile",
     "does not end in .prom"},
    {"monitoring refresh too short", REPO DB "monitoring:\n  refresh: 5s #<\n", "monitoring.refresh", "too short"},
    {"monitoring unknown key", REPO DB "monitoring:\n  listen_on: x #<\n", "monitoring.listen_on", "unknown key"},
    {"schedule in defaults", REPO "defaults:\n  schedule: '* * * * *' #<\n" DB, "defaults.schedule",
     "per component or job"},
    {"bad objective", REPO DB "    objectives:\n      rpo: soon #<\n", "components.db.objectives.rpo",
     "is not a duration"},
    {"consistency with a non-bucket", REPO DB "    consistency:\n      query: SELECT k FROM t\n      bucket: db #<\n",
     "components.db.consistency.bucket", "'db' is not a bucket component"},
    {"consistency without query", REPO DB "    consistency: #<\n      bucket: db\n", "components.db.consistency",
     "missing key 'query'"},
    {"SQL checks on files",
     REPO "components:\n  etc:\n    type: files\n    paths: [/etc]\n    verify: #<\n      sql: [x]\n",
     "components.etc.verify", "only a postgres or postgres-physical component"},
    {"scratch not s3",
     REPO "components:\n  up:\n    type: bucket\n    bucket: s3:b/p\n    recovery:\n      scratch: /tmp #<\n",
     "components.up.recovery", "expected an s3: location"},
    {"bad recovery port", REPO DB "    recovery:\n      port: 70000 #<\n", "components.db.recovery.port",
     "from 1 to 65535"},
    /* issue 14: stream: true (wal-stream run by the daemon) */
    {"stream on files", REPO "components:\n  etc:\n    type: files\n    paths: [/etc]\n    stream: true #<\n",
     "components.etc.stream", "only a postgres-physical component streams"},
    {"slot without stream", REPO "components:\n  pg:\n    type: postgres-physical\n    slot: s #<\n",
     "components.pg.slot", "only with stream: true"},
};

static char *writeFile(const char *name, const char *text) {
    char *path = NULL;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* the line marked "#<" (1-based) */
static int markedLine(const char *text) {
    const char *m = strstr(text, "#<");
    assert_non_null(m);
    int line = 1;
    for (const char *p = text; p < m; p++)
        line += *p == '\n';
    return line;
}

static void testBroken(void **state) {
    const BrokenCase *c = *state;
    char *path = writeFile("broken.yaml", c->text);
    char *messages = NULL;
    LbError err = {0};
    CfgFile *f = cfgFileLoad(path, &messages, &err);
    if (f != NULL)
        fail_msg("%s: loaded, but wanted an error", c->name);
    assert_int_equal(err.code, LB_ERR_ARGS);
    assert_non_null(messages);
    char where[256], key[256];
    snprintf(where, sizeof(where), "%s:%d:", path, markedLine(c->text));
    snprintf(key, sizeof(key), ": %s: ", c->key);
    bool found = false;
    for (char *line = strtok(messages, "\n"); line && !found; line = strtok(NULL, "\n"))
        found = strncmp(line, where, strlen(where)) == 0 && (!*c->key || strstr(line, key)) &&
                strstr(line, c->reason) != NULL;
    if (!found)
        fail_msg("%s: no message '%s...%s...%s' in:\n%s", c->name, where, key, c->reason, messages);
    free(messages);
    free(path);
}

static void testAllErrorsAtOnce(void **state) {
    (void)state;
    char *path = writeFile("three.yaml", REPO DB "    timeout: 35x\n"
                                                 "    retention:\n      keep_within: 1q\n"
                                                 "jobs:\n  j:\n    type: backup\n    components: [nope]\n");
    char *messages = NULL;
    LbError err = {0};
    assert_null(cfgFileLoad(path, &messages, &err));
    int lines = 0;
    for (const char *p = messages; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(messages, ":9:14: components.db.timeout: '35x' is not a duration"));
    assert_non_null(strstr(messages, ":11:20: components.db.retention.keep_within: '1q' is not a duration"));
    assert_non_null(strstr(messages, ":15:18: jobs.j.components: unknown component 'nope'"));
    assert_non_null(strstr(err.msg, "3 errors"));
    free(messages);
    free(path);
}

static CfgFile *loadOk(const char *path) {
    char *messages = NULL;
    LbError err = {0};
    CfgFile *f = cfgFileLoad(path, &messages, &err);
    if (f == NULL)
        fail_msg("%s: %s\n%s", path, err.msg, messages ? messages : "");
    return f;
}

/* cfgParse ["lifeboat", pre..., verb, args...] must succeed as cmd */
static void parsesAs(const CfgArgs *pre, const char *verb, const CfgArgs *args, CfgCommand cmd) {
    char *argv[256];
    int n = 0;
    argv[n++] = (char *)"lifeboat";
    for (size_t i = 0; pre && i < pre->n; i++)
        argv[n++] = pre->v[i];
    argv[n++] = (char *)verb;
    for (size_t i = 0; i < args->n; i++)
        argv[n++] = args->v[i];
    assert_null(args->v[args->n]);
    LbError err = {0};
    CfgValues *cfg = cfgParse(n, argv, &err);
    if (cfg == NULL)
        fail_msg("%s: %s", verb, err.msg);
    assert_int_equal(cfgCommand(cfg), cmd);
    cfgValuesFree(cfg);
}

/* monitoring: the values loaded, and listen's forms */
static void testMonitoring(void **state) {
    (void)state;
    CfgFile *f = loadOk(LB_SOURCE_ROOT "/examples/platform.yaml");
    assert_string_equal(f->monitoring.listen, "127.0.0.1:9188");
    assert_null(f->monitoring.tokenFile);
    assert_null(f->monitoring.textfile);
    assert_int_equal(f->monitoring.refresh, 300);
    cfgFileFree(f);
    char *path = writeFile("mon.yaml", REPO DB "monitoring:\n  listen: '[::]:9188'\n  token_file: /etc/t\n"
                                               "  textfile: /var/lib/node/lifeboat.prom\n  refresh: 30s\n");
    f = loadOk(path);
    assert_string_equal(f->monitoring.listen, "[::]:9188");
    assert_string_equal(f->monitoring.tokenFile, "/etc/t");
    assert_string_equal(f->monitoring.textfile, "/var/lib/node/lifeboat.prom");
    assert_int_equal(f->monitoring.refresh, 30);
    cfgFileFree(f);
    free(path);
    path = writeFile("nomon.yaml", REPO DB);
    f = loadOk(path);
    assert_null(f->monitoring.listen);
    assert_int_equal(f->monitoring.refresh, 300);
    cfgFileFree(f);
    free(path);

    static const struct {
        const char *listen, *host;
        int port;
        bool loopback;
    } good[] = {
        {"127.0.0.1:9188", "127.0.0.1", 9188, true}, {"127.5.0.1:1", "127.5.0.1", 1, true},
        {"localhost:80", "localhost", 80, true},     {"[::1]:9188", "::1", 9188, true},
        {"0.0.0.0:9188", "0.0.0.0", 9188, false},    {"[::]:65535", "::", 65535, false},
        {"10.1.2.3:9188", "10.1.2.3", 9188, false},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char host[64];
        int port = 0;
        bool loopback = !good[i].loopback;
        assert_true(cfgListenParse(good[i].listen, host, sizeof(host), &port, &loopback));
        assert_string_equal(host, good[i].host);
        assert_int_equal(port, good[i].port);
        assert_true(loopback == good[i].loopback);
    }
    static const char *const bad[] = {
        "9188",           ":9188",          "127.0.0.1:", "127.0.0.1:0",    "127.0.0.1:65536",
        "127.0.0.1:http", "example.org:80", "::1:9188",   "[127.0.0.1]:80", "[::1:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char host[64];
        int port;
        bool loopback;
        if (cfgListenParse(bad[i], host, sizeof(host), &port, &loopback))
            fail_msg("'%s' was accepted", bad[i]);
    }
}

static void testExample(void **state) {
    (void)state;
    CfgFile *f = loadOk(LB_SOURCE_ROOT "/examples/platform.yaml");
    assert_string_equal(f->name, "platform");
    assert_int_equal(f->repositoryCount, 2);
    assert_int_equal(f->componentCount, 6);
    assert_int_equal(f->jobCount, 5);
    assert_string_equal(cfgFileRepository(f, NULL)->name, "main");
    const CfgComponent *db = cfgFileComponent(f, "database");
    assert_non_null(db);
    assert_int_equal(db->type, cfgCompPostgres);
    assert_string_equal(db->run.schedule, "*/15 * * * *");
    assert_int_equal(db->rpo, 0);
    assert_int_equal(db->rto, 300);
    assert_string_equal(db->host, "platform");
    assert_string_equal(db->backupArgs.v[0], "--pg");
    assert_int_equal(db->retentionArgs.n, 3);
    assert_string_equal(db->retentionArgs.v[0], "--keep-within=35d");
    assert_null(cfgFileComponent(f, "database-base")->run.schedule);
    assert_int_equal(cfgFileComponent(f, "uploads")->rpo, 3600);
    const CfgJob *full = cfgFileJob(f, "daily-full");
    assert_string_equal(full->run.schedule, "0 0 2 * * ?");
    assert_int_equal(full->componentCount, 5);
    assert_string_equal(full->copyTo, "dr");
    assert_string_equal(cfgFileJob(f, "drill")->run.schedule, "0 3 * * 0");
    assert_string_equal(cfgFileJob(f, "report")->run.schedule, "0 0 6 * * ?");
    for (size_t i = 0; i < f->componentCount; i++) {
        const CfgComponent *c = &f->components[i];
        CfgCommand cmd;
        const char *verb = cfgComponentVerb(c, &cmd);
        parsesAs(&cfgFileRepository(f, c->repository)->args, verb, &c->backupArgs, cmd);
        parsesAs(&cfgFileRepository(f, c->repository)->args, "forget", &c->retentionArgs, cfgCmdForget);
    }
    for (size_t i = 0; i < f->jobCount; i++) {
        const CfgJob *j = &f->jobs[i];
        CfgCommand cmd;
        const char *verb = cfgJobVerb(j, &cmd);
        if (verb && j->type != cfgJobBackup)
            parsesAs(&cfgFileRepository(f, j->repository)->args, verb, &j->args, cmd);
    }
    cfgFileFree(f);
}

/* a file of every component type; def: more keys of repository r, repo2: a
 * second repository, job: more keys of the copy job */
static char *typesText(const char *pw, const char *def, const char *repo2, const char *job) {
    char *text = NULL;
    assert_true(asprintf(&text,
                         "name: shop\nhost: shop-prod\n"
                         "defaults:\n  retries: 5\n  timezone: Europe/Berlin\n"
                         "repositories:\n  r:\n    url: /tmp/r\n    password_file: %s\n%s"
                         "    s3:\n      region: eu-west-1\n      path_style: true\n%s"
                         "components:\n"
                         "  files:\n    type: files\n    paths: [/etc, -odd]\n    exclude: ['*.tmp', '*.bak']\n"
                         "    one_file_system: true\n    retries: 1\n    host: web1\n"
                         "  dump:\n    type: command\n    command: [sh, -c, 'echo $$HOME']\n    filename: out.txt\n"
                         "  phys:\n    type: postgres-physical\n    wal_method: none\n"
                         "  bucket:\n    type: bucket\n    bucket: s3:uploads/x\n"
                         "jobs:\n  copy:\n    type: copy\n    to: r2\n%s",
                         pw, def, repo2, job) > 0);
    return text;
}

static void testDefaultsAndTypes(void **state) {
    (void)state;
    char *pw = writeFile("pw", "secret\n");
    char *text = NULL;
    text = typesText(pw, "", "", "    components: []\n");
    /* a copy to a repository that does not exist: one error */
    char *path = writeFile("types.yaml", text);
    char *messages = NULL;
    LbError err = {0};
    assert_null(cfgFileLoad(path, &messages, &err));
    assert_non_null(strstr(messages, "jobs.copy.to: unknown repository 'r2'"));
    assert_non_null(strstr(messages, "jobs.copy.components: not a key of a 'copy' job"));
    free(messages);
    free(text);
    const char *r2 = "  r2:\n    url: /tmp/r2\n    default: false\n    password_command: echo x\n";
    text = typesText(pw, "", r2, "    host: web1\n");
    free(path);
    path = writeFile("types.yaml", text);
    /* two repositories and neither default: r is not marked either */
    assert_null(cfgFileLoad(path, &messages, &err));
    assert_non_null(strstr(messages, "no default repository"));
    free(messages);
    char *fixed = typesText(pw, "    default: true\n", r2, "    host: web1\n");
    free(path);
    path = writeFile("types.yaml", fixed);
    CfgFile *f = loadOk(path);
    assert_string_equal(f->name, "shop");
    const CfgFileRepository *r = cfgFileRepository(f, NULL);
    assert_string_equal(r->name, "r");
    assert_string_equal(r->args.v[0], "--repo=/tmp/r");
    assert_non_null(strstr(r->fromArgs.v[0], "--from-repo=/tmp/r"));
    const CfgComponent *c = cfgFileComponent(f, "files");
    assert_string_equal(c->host, "web1");
    assert_int_equal(c->run.retries, 1);
    assert_string_equal(c->run.timezone, "Europe/Berlin");
    assert_int_equal(c->run.backoff, 30);
    assert_int_equal(c->run.historyMaxAge, 400 * 86400);
    assert_true(c->run.catchUp);
    assert_int_equal(c->run.concurrency, cfgConcurrencyForbid);
    assert_string_equal(c->backupArgs.v[c->backupArgs.n - 1], "-odd"); /* after "--": a path, not an option */
    parsesAs(&r->args, "backup", &c->backupArgs, cfgCmdBackup);
    const CfgComponent *d = cfgFileComponent(f, "dump");
    assert_string_equal(d->host, "shop-prod");
    assert_int_equal(d->run.retries, 5);
    assert_string_equal(d->backupArgs.v[d->backupArgs.n - 1], "echo $HOME");
    parsesAs(&r->args, "backup", &d->backupArgs, cfgCmdBackup);
    parsesAs(&r->args, "backup", &cfgFileComponent(f, "phys")->backupArgs, cfgCmdBackupPgPhysical);
    parsesAs(&r->args, "backup", &cfgFileComponent(f, "bucket")->backupArgs, cfgCmdBackup);
    const CfgJob *j = cfgFileJob(f, "copy");
    assert_string_equal(j->repository, "r");
    assert_string_equal(j->to, "r2");
    assert_string_equal(j->args.v[0], "--host=web1");
    cfgFileFree(f);
    free(fixed);
    free(text);
    free(path);
    unlink(pw);
    free(pw);
}

static void testShowRedacts(void **state) {
    (void)state;
    setenv("LIFEBOAT_TEST_PGURL", "postgresql://app:S3cretPw@db/app", 1);
    setenv("LIFEBOAT_TEST_TOKEN", "T0kenValue", 1);
    char *path = writeFile("show.yaml", "repositories:\n  main:\n    url: /tmp/r\n"
                                        "    password_command: vault read ${LIFEBOAT_TEST_TOKEN}\n"
                                        "components:\n  db:\n    type: postgres\n"
                                        "    connection: ${LIFEBOAT_TEST_PGURL}\n");
    CfgFile *f = loadOk(path);
    /* the real value reaches the arguments ... */
    assert_string_equal(cfgFileComponent(f, "db")->backupArgs.v[1], "postgresql://app:S3cretPw@db/app");
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    LbError err = {0};
    assert_true(cfgFileShow(f, out, &err));
    fclose(out);
    /* ... never config show */
    assert_null(strstr(buf, "S3cretPw"));
    assert_null(strstr(buf, "T0kenValue"));
    assert_non_null(strstr(buf, "<redacted>"));
    assert_non_null(strstr(buf, "retries: 2"));
    free(buf);
    cfgFileFree(f);
    free(path);
    unsetenv("LIFEBOAT_TEST_PGURL");
    unsetenv("LIFEBOAT_TEST_TOKEN");
}

/* LIFEBOAT_HOST: what a backup records, never a snapshot filter */
static void testHostEnvironment(void **state) {
    (void)state;
    setenv("LIFEBOAT_HOST", "platform", 1);
    char *backup[] = {"lifeboat", "-r", "/tmp/r", "backup", "/etc", NULL};
    char *selecting[] = {"lifeboat", "-r", "/tmp/r", "snapshots", NULL};
    char *given[] = {"lifeboat", "-r", "/tmp/r", "backup", "--host", "web1", "/etc", NULL};
    LbError err = {0};
    CfgValues *cfg = cfgParse(5, backup, &err);
    assert_non_null(cfg);
    assert_string_equal(cfgStr(cfg, cfgOptHost), "platform");
    cfgValuesFree(cfg);
    cfg = cfgParse(4, selecting, &err);
    assert_non_null(cfg);
    assert_null(cfgStr(cfg, cfgOptHost));
    cfgValuesFree(cfg);
    cfg = cfgParse(7, given, &err);
    assert_non_null(cfg);
    assert_string_equal(cfgStr(cfg, cfgOptHost), "web1");
    cfgValuesFree(cfg);
    unsetenv("LIFEBOAT_HOST");
}

static void testUnreadable(void **state) {
    (void)state;
    char *messages = NULL;
    LbError err = {0};
    assert_null(cfgFileLoad("/nonexistent/lifeboat.yaml", &messages, &err));
    assert_int_not_equal(err.code, LB_ERR_ARGS); /* unreadable, not invalid */
    assert_int_equal(lbErrorExitCode(err.code), 1);
    assert_non_null(strstr(messages, "/nonexistent/lifeboat.yaml"));
    free(messages);
}

int main(void) {
    snprintf(dir, sizeof(dir), "/tmp/lifeboat-test-file-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    size_t n = sizeof(cases) / sizeof(cases[0]);
    struct CMUnitTest *tests = calloc(n + 7, sizeof(struct CMUnitTest));
    for (size_t i = 0; i < n; i++)
        tests[i] = (struct CMUnitTest){cases[i].name, testBroken, NULL, NULL, (void *)&cases[i]};
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(testAllErrorsAtOnce);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(testExample);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(testMonitoring);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(testDefaultsAndTypes);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(testShowRedacts);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(testHostEnvironment);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(testUnreadable);
    int rc = _cmocka_run_group_tests("config_file", tests, n, NULL, NULL);
    free(tests);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
