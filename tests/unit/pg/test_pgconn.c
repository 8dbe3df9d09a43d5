/*
 * test_pgconn.c - unit tests for src/pg/pgconn (connection strings, the
 * password's way to child programs, scrubbing our argv, redaction) and
 * src/pg/pgproc (finding and running client programs). No server needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg/pgconn.h"
#include "pg/pgproc.h"

/***********************************************************************************************************************
 * Connection strings
 **********************************************************************************************************************/

static void testUriParse(void **state) {
    (void)state;
    LbError err = {0};
    PgConnInfo *c = pgconnInfoNew("postgresql://alice:s%40cret@db.example:6543/app?sslmode=require", &err);
    assert_non_null(c);
    assert_string_equal(pgconnInfoGet(c, "user"), "alice");
    assert_string_equal(pgconnInfoGet(c, "password"), "s@cret");
    assert_string_equal(pgconnInfoGet(c, "host"), "db.example");
    assert_string_equal(pgconnInfoGet(c, "port"), "6543");
    assert_string_equal(pgconnInfoGet(c, "dbname"), "app");
    assert_string_equal(pgconnInfoGet(c, "sslmode"), "require");
    assert_null(pgconnInfoGet(c, "application_name"));
    assert_true(pgconnInfoHasPassword(c));
    char *child = pgconnInfoChildString(c);
    assert_null(strstr(child, "cret"));
    assert_non_null(strstr(child, "dbname='app'"));
    assert_non_null(strstr(child, "sslmode='require'"));
    char *display = pgconnInfoDisplay(c);
    assert_null(strstr(display, "cret"));
    assert_non_null(strstr(display, "host=db.example"));
    char *db = pgconnInfoDatabase(c);
    assert_string_equal(db, "app");
    free(db);
    free(child);
    free(display);
    pgconnInfoFree(c);
}

static void testKeyValueQuoting(void **state) {
    (void)state;
    LbError err = {0};
    /* libpq's quoting: '...' with \' and \\ as escapes */
    PgConnInfo *c = pgconnInfoNew("host=/run/pg dbname='my db' password='it\\'s \\\\x' user=bob", &err);
    assert_non_null(c);
    assert_string_equal(pgconnInfoGet(c, "dbname"), "my db");
    assert_string_equal(pgconnInfoGet(c, "password"), "it's \\x");
    /* the child string parses back to the same values, minus the password */
    assert_true(pgconnInfoSet(c, "application_name", "a'b\\c"));
    char *child = pgconnInfoChildString(c);
    PgConnInfo *back = pgconnInfoNew(child, &err);
    assert_non_null(back);
    assert_string_equal(pgconnInfoGet(back, "dbname"), "my db");
    assert_string_equal(pgconnInfoGet(back, "application_name"), "a'b\\c");
    assert_string_equal(pgconnInfoGet(back, "user"), "bob");
    assert_null(pgconnInfoGet(back, "password"));
    assert_false(pgconnInfoSet(c, "no_such_keyword", "x"));
    assert_true(pgconnInfoSet(c, "dbname", NULL));
    assert_null(pgconnInfoGet(c, "dbname"));
    PgConnInfo *dup = pgconnInfoDup(c);
    assert_string_equal(pgconnInfoGet(dup, "password"), "it's \\x");
    pgconnInfoFree(dup);
    pgconnInfoFree(back);
    free(child);
    pgconnInfoFree(c);
}

static void testInvalidAndRefused(void **state) {
    (void)state;
    LbError err = {0};
    assert_null(pgconnInfoNew("host=x password=Hunter2Secret bogus_keyword=1", &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    assert_null(strstr(err.msg, "Hunter2Secret"));
    lbErrorClear(&err);
    assert_null(pgconnInfoNew("postgresql://u@h/db?sslpassword=KeyPass", &err));
    assert_non_null(strstr(err.msg, "sslpassword"));
    assert_null(strstr(err.msg, "KeyPass"));
    lbErrorClear(&err);
    PgConnInfo *c = pgconnInfoNew("", &err); /* the environment alone */
    assert_non_null(c);
    assert_false(pgconnInfoHasPassword(c));
    char *display = pgconnInfoDisplay(c);
    assert_string_equal(display, "(the PG* environment)");
    free(display);
    pgconnInfoFree(c);
    c = pgconnInfoNew(NULL, &err);
    assert_non_null(c);
    pgconnInfoFree(c);
}

/* libpq's parse errors quote the bad part of the string, which may be the
 * password (issue 10: "invalid percent-encoded token: "Pg%ZZsecret"", the
 * whole URI for a bad host): no message may carry it. */
static void testParseErrorsHideSecrets(void **state) {
    (void)state;
    static const char *const bad[] = {
        "postgresql://u:Pg%ZZsecret@h/db",
        "postgresql://u:secret@[bad/db",
        "host=h password=secret bogus",
        "host=h nosuch=secret",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        LbError err = {0};
        assert_null(pgconnInfoNew(bad[i], &err));
        assert_int_equal(err.code, LB_ERR_ARGS);
        assert_non_null(strstr(err.msg, "invalid PostgreSQL connection string"));
        if (strstr(err.msg, "secret") != NULL)
            fail_msg("'%s' gave '%s'", bad[i], err.msg);
    }
    /* the separators libpq quotes are kept: the message still says what is wrong */
    LbError err = {0};
    assert_null(pgconnInfoNew("host=h password=secret bogus", &err));
    assert_non_null(strstr(err.msg, "missing \"=\""));
}

static void testDatabaseFallback(void **state) {
    (void)state;
    LbError err = {0};
    PgConnInfo *c = pgconnInfoNew("user=carol", &err);
    setenv("PGDATABASE", "fromenv", 1);
    char *db = pgconnInfoDatabase(c);
    assert_string_equal(db, "fromenv");
    free(db);
    unsetenv("PGDATABASE");
    db = pgconnInfoDatabase(c);
    assert_string_equal(db, "carol");
    free(db);
    pgconnInfoFree(c);
}

/***********************************************************************************************************************
 * Passwords: environment, redaction, argv scrubbing
 **********************************************************************************************************************/

static const char *envValue(char **env, const char *name) {
    size_t n = strlen(name);
    const char *found = NULL;
    for (size_t i = 0; env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=') {
            assert_null(found); /* at most once */
            found = env[i] + n + 1;
        }
    return found;
}

static void testChildEnv(void **state) {
    (void)state;
    LbError err = {0};
    setenv("PGPASSWORD", "old-one", 1);
    setenv("LB_TEST_KEEP", "kept", 1);
    PgConnInfo *c = pgconnInfoNew("postgresql://u:pw1@h/db", &err);
    char **env = pgconnInfoChildEnv(c);
    assert_string_equal(envValue(env, "PGPASSWORD"), "pw1");
    assert_string_equal(envValue(env, "LB_TEST_KEEP"), "kept");
    pgconnEnvFree(env);
    pgconnInfoFree(c);
    /* no password in the string: the environment's PGPASSWORD is inherited */
    c = pgconnInfoNew("host=h", &err);
    env = pgconnInfoChildEnv(c);
    assert_string_equal(envValue(env, "PGPASSWORD"), "old-one");
    pgconnEnvFree(env);
    pgconnInfoFree(c);
    unsetenv("PGPASSWORD");
    unsetenv("LB_TEST_KEEP");
    pgconnEnvFree(NULL);
}

static void testRedact(void **state) {
    (void)state;
    LbError err = {0};
    PgConnInfo *c = pgconnInfoNew("password=topsecret host=h", &err);
    char *r = pgconnRedact(c, "a topsecret b topsecrettopsecret");
    assert_string_equal(r, "a <redacted> b <redacted><redacted>");
    free(r);
    pgconnInfoFree(c);
    c = pgconnInfoNew("host=h", &err);
    r = pgconnRedact(c, "nothing to hide");
    assert_string_equal(r, "nothing to hide");
    free(r);
    pgconnInfoFree(c);
}

static void expectScrub(const char *in, const char *want) {
    char *arg = strdup(in);
    pgconnScrubArg(arg);
    if (strcmp(arg, want) != 0)
        print_error("scrub '%s': got '%s' want '%s'\n", in, arg, want);
    assert_string_equal(arg, want);
    free(arg);
}

static void testScrubArg(void **state) {
    (void)state;
    expectScrub("postgresql://alice:pw@host:5432/db", "postgresql://alice:**@host:5432/db");
    expectScrub("postgres://alice:p%40ss@h1:1,h2:2/db?sslmode=require",
                "postgres://alice:******@h1:1,h2:2/db?sslmode=require");
    expectScrub("postgresql://alice@host/db?sslmode=disable&password=xyz&application_name=a",
                "postgresql://alice@host/db?sslmode=disable&password=***&application_name=a");
    expectScrub("postgresql://host/db", "postgresql://host/db");
    expectScrub("postgresql://alice@host/db", "postgresql://alice@host/db");
    expectScrub("host=h password=abc dbname=d", "host=h password=*** dbname=d");
    expectScrub("host=h password = 'a b\\'c' dbname=d", "host=h password = '******' dbname=d");
    expectScrub("password=last", "password=****");
    expectScrub("passwordx=keep password=x", "passwordx=keep password=*");
    expectScrub("", "");
    pgconnScrubArg(NULL);
}

/***********************************************************************************************************************
 * Child programs
 **********************************************************************************************************************/

static void testFind(void **state) {
    (void)state;
    LbError err = {0};
    char *p = pgprocFind(NULL, "sh", &err);
    assert_non_null(p);
    assert_true(p[0] == '/');
    free(p);
    p = pgprocFind("/bin", "sh", &err);
    assert_string_equal(p, "/bin/sh");
    free(p);
    assert_null(pgprocFind("/nonexistent-dir", "pg_dump", &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "--pg-bin"));
    lbErrorClear(&err);
    assert_null(pgprocFind(NULL, "lifeboat-no-such-program-xyz", &err));
    assert_non_null(strstr(err.msg, "HINT"));
}

static void testRun(void **state) {
    (void)state;
    LbError err = {0};
    char tmpl[] = "/tmp/lifeboat-test-pgproc-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    unlink(tmpl);
    char *ok[] = {"sh", "-c", "echo out; echo 'a warning' >&2", NULL};
    PgProc *p = pgprocStartP("/bin/sh", ok, &err, .stdoutFd = fd);
    assert_non_null(p);
    assert_true(pgprocWait(p, &err));
    assert_string_equal(pgprocStderr(p), "a warning");
    assert_true(pgprocPid(p) < 0);
    pgprocFree(p);
    char buf[16] = {0};
    assert_int_equal(pread(fd, buf, sizeof(buf) - 1, 0), 4);
    assert_string_equal(buf, "out\n");
    close(fd);

    char *bad[] = {"pg_fake", "-c", "echo 'pg_fake: error: password Sekr3t rejected' >&2; exit 3", NULL};
    p = pgprocStartP("/bin/sh", bad, &err, .secret = "Sekr3t");
    assert_non_null(p);
    assert_false(pgprocWait(p, &err));
    assert_int_equal(err.code, LB_ERR_COMMAND);
    assert_non_null(strstr(err.msg, "pg_fake failed (exit status 3): pg_fake: error: password <redacted> rejected"));
    assert_null(strstr(err.msg, "Sekr3t"));
    assert_false(pgprocWait(p, &err)); /* waiting again gives the same answer */
    pgprocFree(p);

    /* freed while still running: terminated and reaped */
    char *slow[] = {"sleep", "-c", "exec sleep 30", NULL};
    p = pgprocStartP("/bin/sh", slow, &err);
    assert_non_null(p);
    assert_true(pgprocPid(p) > 0);
    pgprocFree(p);
    pgprocFree(NULL);

    /* the environment given is the child's whole environment */
    char *envp[] = {"LB_ONLY=yes", NULL};
    char *show[] = {"sh", "-c", "[ \"$LB_ONLY\" = yes ] && [ -z \"$HOME\" ]", NULL};
    p = pgprocStartP("/bin/sh", show, &err, .envp = envp);
    assert_true(pgprocWait(p, &err));
    pgprocFree(p);

    /* stdin from a pipe */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char *cat[] = {"sh", "-c", "read line; [ \"$line\" = hello ]", NULL};
    p = pgprocStartP("/bin/sh", cat, &err, .stdinFd = fds[0]);
    close(fds[0]);
    assert_int_equal(write(fds[1], "hello\n", 6), 6);
    close(fds[1]);
    assert_true(pgprocWait(p, &err));
    pgprocFree(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testUriParse),
        cmocka_unit_test(testKeyValueQuoting),
        cmocka_unit_test(testInvalidAndRefused),
        cmocka_unit_test(testParseErrorsHideSecrets),
        cmocka_unit_test(testDatabaseFallback),
        cmocka_unit_test(testChildEnv),
        cmocka_unit_test(testRedact),
        cmocka_unit_test(testScrubArg),
        cmocka_unit_test(testFind),
        cmocka_unit_test(testRun),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
