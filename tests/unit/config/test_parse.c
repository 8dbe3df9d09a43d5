/*
 * test_parse.c - unit tests for src/config (the option table and parser).
 *
 * The table: every option and verb is well formed, no verb sees two options
 * with one short form, every default parses. The parser: each value type
 * (flag, count, string, strings, list, int with range and "unlimited",
 * size, percent, duration, time, enum), repeated options, --x=v, -xV and
 * bundled flags, "--", global options before and after the verb, variants
 * chosen after parsing, environment and defaults, the --from- side of
 * repository options, help requests, and the messages for unknown options,
 * missing and bad values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/help.h"
#include "config/parse.h"

/* parse a NULL-terminated list of arguments (argv[0] added) */
static CfgValues *parseV(LbError *err, const char *first, va_list ap) {
    static char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"lifeboat";
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    argv[argc] = NULL;
    return cfgParse(argc, argv, err);
}

static CfgValues *parse(const char *first, ...) {
    va_list ap;
    va_start(ap, first);
    LbError err = {0};
    CfgValues *cfg = parseV(&err, first, ap);
    va_end(ap);
    if (cfg == NULL)
        fail_msg("unexpected error: %s", err.msg);
    return cfg;
}

/* expect a usage error whose message holds want */
static void parseFails(const char *want, const char *first, ...) {
    va_list ap;
    va_start(ap, first);
    LbError err = {0};
    CfgValues *cfg = parseV(&err, first, ap);
    va_end(ap);
    if (cfg != NULL) {
        cfgValuesFree(cfg);
        fail_msg("parsed, but wanted the error '%s'", want);
    }
    assert_int_equal(err.code, LB_ERR_ARGS);
    if (strstr(err.msg, want) == NULL)
        fail_msg("message '%s' lacks '%s'", err.msg, want);
}

/* --target is restore's DIR|s3: and recover's repeatable COMPONENT=TARGET */
static void testSameNamePerVerb(void **state) {
    (void)state;
    CfgValues *cfg = parse("restore", "latest", "--target", "/tmp/x", NULL);
    assert_string_equal(cfgStr(cfg, cfgOptTarget), "/tmp/x");
    assert_false(cfgIsSet(cfg, cfgOptRecoverTarget));
    cfgValuesFree(cfg);
    cfg = parse("recover", "full", "--target", "a=/x", "-t", "b=/y", NULL);
    size_t n = 0;
    const char *const *t = cfgList(cfg, cfgOptRecoverTarget, &n);
    assert_int_equal(n, 2);
    assert_string_equal(t[0], "a=/x");
    assert_string_equal(t[1], "b=/y");
    assert_false(cfgIsSet(cfg, cfgOptTarget));
    cfgValuesFree(cfg);
    parseFails("unknown option", "snapshots", "--target", "/tmp/x", NULL);
    parseFails("expected 'latest', a time", "snapshots", "--at", "tomorrow", NULL);
    cfg = parse("snapshots", "--at", "-2h", NULL);
    cfgValuesFree(cfg);
}

static void testTableWellFormed(void **state) {
    (void)state;
    for (int i = 0; i < CFG_OPTION_COUNT; i++) {
        const CfgOption *o = &cfgOptionTable[i];
        assert_non_null(o->name);
        assert_non_null(o->help);
        bool from = false;
        CfgOptionId first = cfgOptionFind(o->name, strlen(o->name), &from);
        assert_false(from);
        if (first != i) {
            /* a name declared twice (restore's and recover's --target): no
             * verb takes both, so the parser's choice by verb is never ambiguous */
            assert_int_equal(o->scope, cfgScopeCommand);
            assert_int_equal(cfgOptionTable[first].scope, cfgScopeCommand);
            assert_true((o->commands & cfgOptionTable[first].commands) == 0);
        }
        if (o->type == cfgTypeEnum)
            assert_non_null(o->choices);
        if (o->scope == cfgScopeCommand)
            assert_true(o->commands != 0);
        if (o->storageField)
            assert_int_equal(o->scope, cfgScopeRepository);
    }
    /* within every verb, a short form names one option */
    for (int k = 0; k < CFG_COMMAND_COUNT; k++)
        for (int i = 0; i < CFG_OPTION_COUNT; i++)
            for (int j = i + 1; j < CFG_OPTION_COUNT; j++) {
                char a = cfgOptionTable[i].shortName, b = cfgOptionTable[j].shortName;
                if (a && a == b && cfgOptionAccepted((CfgOptionId)i, (CfgCommand)k, false) &&
                    cfgOptionAccepted((CfgOptionId)j, (CfgCommand)k, false))
                    fail_msg("-%c is both --%s and --%s in %s", a, cfgOptionTable[i].name, cfgOptionTable[j].name,
                             cfgCommandTable[k].name);
            }
    /* each variant's selector is an option it takes */
    for (int k = 0; k < CFG_COMMAND_COUNT; k++)
        if (cfgCommandTable[k].selector != cfgOptNone)
            assert_true(cfgOptionAccepted(cfgCommandTable[k].selector, (CfgCommand)k, false));
}

/* every default parses: a verb that takes every option with one */
static void testDefaults(void **state) {
    (void)state;
    CfgValues *cfg = parse("init", NULL);
    assert_int_equal(cfgInt(cfg, cfgOptCompression), 3);
    assert_int_equal(cfgInt(cfg, cfgOptKdfN), 32768);
    assert_false(cfgIsSet(cfg, cfgOptCompression)); /* a default is not "given" */
    cfgValuesFree(cfg);
    cfg = parse("forget", NULL);
    size_t n = 0;
    const char *const *by = cfgList(cfg, cfgOptGroupBy, &n);
    assert_int_equal(n, 3);
    assert_string_equal(by[2], "paths");
    assert_true(cfgPercent(cfg, cfgOptMaxUnused) == 5.0);
    cfgValuesFree(cfg);
    for (int k = 0; k < CFG_COMMAND_COUNT; k++) {
        if (k == cfgCmdHelp || k == cfgCmdVersion || cfgCommandTable[k].selector != cfgOptNone)
            continue;
        LbError err = {0};
        char *argv[] = {(char *)"lifeboat", (char *)cfgCommandTable[k].name, NULL};
        cfg = cfgParse(2, argv, &err);
        if (cfg == NULL)
            fail_msg("%s: %s", cfgCommandTable[k].name, err.msg);
        assert_int_equal(cfgCommand(cfg), k);
        cfgValuesFree(cfg);
    }
}

static void testTypes(void **state) {
    (void)state;
    CfgValues *cfg = parse("-vvvvvvvv", "stats", NULL); /* more options than arguments */
    assert_int_equal(cfgCount(cfg, cfgOptVerbose), 8);
    cfgValuesFree(cfg);
    cfg = parse("-vv", "forget", "--keep-last", "unlimited", "--keep-daily=7", "-w", "4", "--keep-within", "1y6m",
                "--max-repack-size", "2G", "--max-unused", "10%", "--dry-run", "-v", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdForget);
    assert_int_equal(cfgCount(cfg, cfgOptVerbose), 3);
    assert_int_equal(cfgInt(cfg, cfgOptKeepLast), -1);
    assert_int_equal(cfgInt(cfg, cfgOptKeepDaily), 7);
    assert_int_equal(cfgInt(cfg, cfgOptKeepWeekly), 4);
    RetentionDuration d = cfgDuration(cfg, cfgOptKeepWithin);
    assert_int_equal(d.years, 1);
    assert_int_equal(d.months, 6);
    assert_int_equal(cfgInt(cfg, cfgOptMaxRepackSize), INT64_C(2) << 30);
    assert_true(cfgPercent(cfg, cfgOptMaxUnused) == 10.0);
    assert_true(cfgFlag(cfg, cfgOptDryRun));
    assert_false(cfgFlag(cfg, cfgOptPrune));
    cfgValuesFree(cfg);

    cfg = parse("backup", "--time", "2020-01-02 03:04:05", "/x", NULL);
    assert_int_equal(cfgInt(cfg, cfgOptTime), INT64_C(1577934245) * 1000000000);
    cfgValuesFree(cfg);

    cfg = parse("backup", "--pg-physical", "--checkpoint", "spread", "--wal-method=none", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdBackupPgPhysical);
    assert_int_equal(cfgEnum(cfg, cfgOptCheckpoint), 1);
    assert_int_equal(cfgEnum(cfg, cfgOptWalMethod), 1);
    cfgValuesFree(cfg);

    cfg = parse("check", "--read-data-subset", "2.5", NULL);
    assert_true(cfgPercent(cfg, cfgOptReadDataSubset) == 2.5);
    cfgValuesFree(cfg);
}

static void testRanges(void **state) {
    (void)state;
    parseFails("init: option '--compression' value '20': expected a whole number from 1 to 19", "init", "--compression",
               "20", NULL);
    parseFails("value '0': expected a whole number from 1 to 19", "init", "--compression=0", NULL);
    parseFails("value '3x'", "init", "--compression", "3x", NULL);
    parseFails("init: option '--kdf-n' value '3000': a power of two >= 1024", "init", "--kdf-n", "3000", NULL);
    parseFails("init: option '--kdf-n' value '1000': expected a whole number from 1024", "init", "--kdf-n", "1000",
               NULL);
    parseFails("value '-2': expected a whole number from 0 to 1000000000 or unlimited", "forget", "--keep-last", "-2",
               NULL);
    parseFails("option '--max-unused' value '101': expected a percentage", "prune", "--max-unused", "101", NULL);
    parseFails("option '--read-data-subset' value '0%': expected a percentage from more than 0", "check",
               "--read-data-subset", "0%", NULL);
    parseFails("option '--max-repack-size' value 'lots': expected a size", "prune", "--max-repack-size", "lots", NULL);
    parseFails("option '--time' value 'yesterday': expected", "backup", "--time", "yesterday", "/x", NULL);
    parseFails("option '--keep-within' value '3q'", "forget", "--keep-within", "3q", NULL);
    parseFails("option '--pg-port' value '70000': expected a whole number from 1 to 65535", "restore", "--pg-physical",
               "--pg-port", "70000", NULL);
    parseFails("option '--to-lsn' value 'x': expected an LSN", "restore", "--pg-physical", "--to-lsn", "x", NULL);
    parseFails("option '--pg-set' value 'a b=1': bad parameter name", "restore", "--pg-physical", "--pg-set", "a b=1",
               NULL);
    parseFails("option '--group-by' value 'host,day': expected one of host, component, paths, tags", "forget",
               "--group-by", "host,day", NULL);
    parseFails("option '--chunk-size' value '1K,2K': expected MIN,AVG,MAX", "init", "--chunk-size", "1K,2K", NULL);
}

static void testLists(void **state) {
    (void)state;
    CfgValues *cfg = parse("snapshots", "--tag", "a,b", "--tag=c", "--tag", "", NULL);
    size_t n = 0;
    const char *const *items = cfgList(cfg, cfgOptTag, &n);
    assert_int_equal(n, 3);
    assert_string_equal(items[0], "a");
    assert_string_equal(items[1], "b");
    assert_string_equal(items[2], "c");
    const char *const *groups = cfgGroups(cfg, cfgOptTag, &n);
    assert_int_equal(n, 3);
    assert_string_equal(groups[0], "a,b");
    assert_string_equal(groups[1], "c");
    assert_string_equal(groups[2], "");
    cfgValuesFree(cfg);
    /* patterns are not split at commas; repeated values accumulate */
    cfg = parse("backup", "-e", "*.{a,b}", "--exclude=x", "/p", NULL);
    items = cfgList(cfg, cfgOptExclude, &n);
    assert_int_equal(n, 2);
    assert_string_equal(items[0], "*.{a,b}");
    assert_string_equal(items[1], "x");
    cfgValuesFree(cfg);
    /* a string option given twice: the last one wins */
    cfg = parse("snapshots", "--host", "a", "-H", "b", NULL);
    assert_string_equal(cfgStr(cfg, cfgOptHost), "b");
    cfgValuesFree(cfg);
    /* --group-by '' is one group of everything */
    cfg = parse("forget", "--group-by", "", NULL);
    cfgList(cfg, cfgOptGroupBy, &n);
    assert_int_equal(n, 0);
    cfgValuesFree(cfg);
}

static void testForms(void **state) {
    (void)state;
    /* globals before and after the verb, -xVALUE, bundled flags */
    CfgValues *cfg = parse("-r/repo", "--json", "ls", "-lq", "latest", "-Hhost1", "/dir", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdLs);
    assert_string_equal(cfgRepository(cfg, false)->location, "/repo");
    assert_true(cfgFlag(cfg, cfgOptJson));
    assert_true(cfgFlag(cfg, cfgOptLong));
    assert_true(cfgFlag(cfg, cfgOptQuiet));
    assert_string_equal(cfgStr(cfg, cfgOptHost), "host1");
    size_t n = 0;
    char *const *args = cfgArgs(cfg, &n);
    assert_int_equal(n, 2);
    assert_string_equal(args[0], "latest");
    assert_string_equal(args[1], "/dir");
    cfgValuesFree(cfg);
    /* a value that looks like an option, after a value-taking option */
    cfg = parse("backup", "--exclude", "-x", "/p", NULL);
    assert_false(cfgFlag(cfg, cfgOptOneFileSystem));
    cfgValuesFree(cfg);
    /* the same short form means what the verb's option says */
    cfg = parse("restore", "latest", "--pg-target", "dbname=x", "-x", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdRestorePg);
    assert_true(cfgFlag(cfg, cfgOptNoAcl));
    cfgValuesFree(cfg);
}

static void testDashDash(void **state) {
    (void)state;
    /* after "--": positional arguments */
    CfgValues *cfg = parse("backup", "-q", "--", "--tag", "-x", NULL);
    size_t n = 0, after = 0;
    char *const *args = cfgArgs(cfg, &n);
    cfgArgsAfterDashDash(cfg, &after);
    assert_int_equal(n, 2);
    assert_int_equal(after, 0);
    assert_string_equal(args[0], "--tag");
    assert_string_equal(args[1], "-x");
    assert_false(cfgFlag(cfg, cfgOptOneFileSystem));
    cfgValuesFree(cfg);
    /* ... or the command line of --stdin-from-command */
    cfg = parse("backup", "--stdin-from-command", "--", "sh", "-c", "echo", NULL);
    cfgArgs(cfg, &n);
    char *const *cmd = cfgArgsAfterDashDash(cfg, &after);
    assert_int_equal(n, 0);
    assert_int_equal(after, 3);
    assert_string_equal(cmd[1], "-c");
    assert_null(cmd[3]);
    cfgValuesFree(cfg);
}

static void testVariants(void **state) {
    (void)state;
    CfgValues *cfg = parse("backup", "--pg", "", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdBackupPg);
    assert_string_equal(cfgStr(cfg, cfgOptPg), "");
    cfgValuesFree(cfg);
    cfg = parse("backup", "--pg", "dbname=x", "--pg-physical", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdBackupPgPhysical);
    cfgValuesFree(cfg);
    cfg = parse("restore", "--pg-physical", "--pg-data", "/d", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdRestorePgPhysical);
    cfgValuesFree(cfg);
    cfg = parse("restore", "latest", "--target", "/d", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdRestore);
    cfgValuesFree(cfg);
    parseFails("backup --pg: option '--exclude': does not apply to 'backup --pg' (it is an option of 'backup')",
               "backup", "--pg", "x", "--exclude", "y", NULL);
    parseFails("backup: option '--label': does not apply to 'backup' (it is an option of 'backup --pg-physical')",
               "backup", "/p", "--label", "l", NULL);
    parseFails("restore --pg-target: option '--target': does not apply", "restore", "s", "--pg-target", "x", "--target",
               "/d", NULL);
    parseFails("restore --pg-physical: option '--pg-target': does not apply", "restore", "--pg-physical", "--pg-target",
               "x", NULL);
}

static void testErrors(void **state) {
    (void)state;
    parseFails("snapshots: option '--nope': unknown option (see 'lifeboat snapshots --help')", "snapshots", "--nope",
               NULL);
    parseFails("snapshots: option '-Z': unknown option", "snapshots", "-Z", NULL);
    parseFails("option '--tag': unknown option", "init", "--tag", "x", NULL);
    parseFails("option '--nope': unknown option (see 'lifeboat --help')", "--nope", "snapshots", NULL);
    parseFails("restore: option '--target': needs a value", "restore", "latest", "--target", NULL);
    parseFails("backup: option '--force': takes no value", "backup", "--force=1", "/p", NULL);
    parseFails("unknown command 'bakup'", "bakup", NULL);
    parseFails("no command given", "-q", NULL);
    parseFails("option '--from-repo': unknown option", "backup", "--from-repo", "x", "/p", NULL);
    /* values that may hold a password are never echoed */
    assert_true(cfgOptionTable[cfgOptPg].flags & CFG_OPT_SECRET_VALUE);
    assert_true(cfgOptionTable[cfgOptPgTarget].flags & CFG_OPT_SECRET_VALUE);
}

static void testEnvironment(void **state) {
    (void)state;
    setenv("LIFEBOAT_REPOSITORY", "/from-env", 1);
    setenv("LIFEBOAT_FROM_REPOSITORY", "/source-env", 1);
    setenv("LIFEBOAT_S3_REGION", "eu-west-3", 1);
    CfgValues *cfg = parse("copy", "--from-password-file", "/pw", "--s3-path-style", NULL);
    const CfgRepository *main = cfgRepository(cfg, false), *src = cfgRepository(cfg, true);
    assert_string_equal(main->location, "/from-env");
    assert_string_equal(main->storage.s3.region, "eu-west-3");
    assert_true(main->storage.s3.pathStyle);
    assert_string_equal(src->location, "/source-env");
    assert_string_equal(src->passwordFile, "/pw");
    assert_null(src->storage.s3.region);
    cfgValuesFree(cfg);
    /* the command line wins over the environment */
    cfg = parse("-r", "/flag", "copy", "--from-s3-region", "us-east-2", NULL);
    assert_string_equal(cfgRepository(cfg, false)->location, "/flag");
    assert_string_equal(cfgRepository(cfg, true)->storage.s3.region, "us-east-2");
    cfgValuesFree(cfg);
    setenv("LIFEBOAT_S3_PATH_STYLE", "TRUE", 1);
    setenv("LIFEBOAT_S3_REGION", "", 1); /* empty: unset */
    cfg = parse("stats", NULL);
    assert_true(cfgRepository(cfg, false)->storage.s3.pathStyle);
    assert_null(cfgRepository(cfg, false)->storage.s3.region);
    cfgValuesFree(cfg);
    setenv("LIFEBOAT_S3_PATH_STYLE", "maybe", 1);
    parseFails("option '--s3-path-style' (from LIFEBOAT_S3_PATH_STYLE) value 'maybe': expected 1 or 0 (true or false)",
               "stats", NULL);
    unsetenv("LIFEBOAT_S3_PATH_STYLE");
    unsetenv("LIFEBOAT_REPOSITORY");
    unsetenv("LIFEBOAT_FROM_REPOSITORY");
    unsetenv("LIFEBOAT_S3_REGION");
}

/* A password source given as an option is not overridden by one in the
 * environment: a configuration file's password_command (passed as
 * --password-command) wins over a LIFEBOAT_PASSWORD_FILE the daemon has. */
static void testPasswordOptionBeatsEnvironment(void **state) {
    (void)state;
    setenv("LIFEBOAT_PASSWORD_FILE", "/env-pw", 1);
    CfgValues *cfg = parse("snapshots", "--password-command", "pass show main", NULL);
    const CfgRepository *r = cfgRepository(cfg, false);
    assert_null(r->passwordFile);
    assert_string_equal(r->passwordCommand, "pass show main");
    assert_true(r->passwordGiven);
    cfgValuesFree(cfg);
    /* from the environment only: as before */
    cfg = parse("snapshots", NULL);
    r = cfgRepository(cfg, false);
    assert_string_equal(r->passwordFile, "/env-pw");
    assert_false(r->passwordGiven);
    cfgValuesFree(cfg);
    unsetenv("LIFEBOAT_PASSWORD_FILE");
    setenv("LIFEBOAT_PASSWORD_COMMAND", "echo env", 1);
    cfg = parse("snapshots", "--password-file", "/opt-pw", NULL);
    r = cfgRepository(cfg, false);
    assert_string_equal(r->passwordFile, "/opt-pw");
    assert_null(r->passwordCommand);
    cfgValuesFree(cfg);
    unsetenv("LIFEBOAT_PASSWORD_COMMAND");
}

static void testHelp(void **state) {
    (void)state;
    CfgValues *cfg = parse("backup", "--pg", "--help", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdHelp);
    assert_int_equal(cfgHelpTopic(cfg), cfgCmdBackupPg);
    cfgValuesFree(cfg);
    cfg = parse("help", "restore", "--pg-physical", NULL);
    assert_int_equal(cfgHelpTopic(cfg), cfgCmdRestorePgPhysical);
    cfgValuesFree(cfg);
    /* help does not validate values */
    cfg = parse("init", "--compression", "99", "-h", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdHelp);
    assert_int_equal(cfgHelpTopic(cfg), cfgCmdInit);
    cfgValuesFree(cfg);
    cfg = parse("--help", NULL);
    assert_int_equal(cfgHelpTopic(cfg), cfgCmdNone);
    cfgValuesFree(cfg);
    cfg = parse("--version", NULL);
    assert_int_equal(cfgCommand(cfg), cfgCmdVersion);
    cfgValuesFree(cfg);
    parseFails("help: '--pg' is not a variant of 'init'", "help", "init", "--pg", NULL);
    /* the help of a variant lists its options and no other variant's */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cfgHelpCommand(f, cfgCmdBackupPg);
    fclose(f);
    assert_non_null(strstr(text, "--pg-count-rows"));
    assert_non_null(strstr(text, "--tag T[,T2]"));
    assert_null(strstr(text, "--exclude"));
    assert_null(strstr(text, "--label"));
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testTableWellFormed),
        cmocka_unit_test(testSameNamePerVerb),
        cmocka_unit_test(testDefaults),
        cmocka_unit_test(testTypes),
        cmocka_unit_test(testRanges),
        cmocka_unit_test(testLists),
        cmocka_unit_test(testForms),
        cmocka_unit_test(testDashDash),
        cmocka_unit_test(testVariants),
        cmocka_unit_test(testErrors),
        cmocka_unit_test(testEnvironment),
        cmocka_unit_test(testPasswordOptionBeatsEnvironment),
        cmocka_unit_test(testHelp),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
