/*
 * test_childenv.c - lbChildEnvScrub: which variables a child program never
 * gets (common/childenv.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "common/childenv.h"

static void testSecretNames(void **state) {
    (void)state;
    static const char *secret[] = {
        "LIFEBOAT_PASSWORD=x",          "LIFEBOAT_FROM_PASSWORD=x", "LIFEBOAT_NEW_PASSWORD=x",
        "LIFEBOAT_FROM_NEW_PASSWORD=x", "LIFEBOAT_S3_SECRET=x",     "LIFEBOAT_WEBHOOK_TOKEN=x",
        "LIFEBOAT_PASSWORD=",           "LIFEBOAT_PASSWORD",        "AWS_SECRET_ACCESS_KEY=x",
        "AWS_SESSION_TOKEN=x",
    };
    static const char *kept[] = {
        "LIFEBOAT_PASSWORD_FILE=/etc/pw",
        "LIFEBOAT_PASSWORD_COMMAND=pass show lb",
        "LIFEBOAT_FROM_PASSWORD_FILE=/p",
        "LIFEBOAT_REPOSITORY=/srv/repo",
        "LIFEBOAT_S3_REGION=eu-west-1",
        "PGPASSWORD=x",
        "PGPASSFILE=/p",
        "AWS_ACCESS_KEY_ID=AKID",
        "AWS_SECRET_ACCESS_KEYS=x",
        "AWS_SESSION_TOKE=x",
        "MY_LIFEBOAT_PASSWORD=x",
        "PATH=/usr/bin",
        "X=LIFEBOAT_PASSWORD=x",
        "",
    };
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        if (!lbChildEnvIsSecret(secret[i], LB_CHILD_ENV_STRICT))
            fail_msg("'%s' is kept", secret[i]);
    }
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        if (lbChildEnvIsSecret(kept[i], LB_CHILD_ENV_STRICT))
            fail_msg("'%s' is removed", kept[i]);
    }
    /* KEEP_S3 keeps the AWS keys, never lifeboat's own */
    assert_false(lbChildEnvIsSecret("AWS_SECRET_ACCESS_KEY=x", LB_CHILD_ENV_KEEP_S3));
    assert_false(lbChildEnvIsSecret("AWS_SESSION_TOKEN=x", LB_CHILD_ENV_KEEP_S3));
    assert_true(lbChildEnvIsSecret("LIFEBOAT_PASSWORD=x", LB_CHILD_ENV_KEEP_S3));
}

static void testScrubInPlace(void **state) {
    (void)state;
    char *env[] = {"LIFEBOAT_PASSWORD=a", "HOME=/root",    "AWS_SECRET_ACCESS_KEY=b", "LIFEBOAT_FROM_PASSWORD=c",
                   "PGPASSWORD=d",        "PATH=/usr/bin", "AWS_SESSION_TOKEN=e",     NULL};
    char *copy[sizeof(env) / sizeof(env[0])];
    memcpy(copy, env, sizeof(env));
    assert_int_equal(lbChildEnvScrub(copy, LB_CHILD_ENV_KEEP_S3), 5);
    assert_string_equal(copy[0], "HOME=/root");
    assert_string_equal(copy[1], "AWS_SECRET_ACCESS_KEY=b");
    assert_string_equal(copy[2], "PGPASSWORD=d");
    assert_string_equal(copy[3], "PATH=/usr/bin");
    assert_string_equal(copy[4], "AWS_SESSION_TOKEN=e");
    assert_null(copy[5]);
    memcpy(copy, env, sizeof(env));
    assert_int_equal(lbChildEnvScrub(copy, LB_CHILD_ENV_STRICT), 3);
    assert_string_equal(copy[0], "HOME=/root");
    assert_string_equal(copy[1], "PGPASSWORD=d");
    assert_string_equal(copy[2], "PATH=/usr/bin");
    assert_null(copy[3]);
    char *empty[] = {NULL};
    assert_int_equal(lbChildEnvScrub(empty, LB_CHILD_ENV_STRICT), 0);
    assert_int_equal(lbChildEnvScrub(NULL, LB_CHILD_ENV_STRICT), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testSecretNames),
        cmocka_unit_test(testScrubInPlace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
