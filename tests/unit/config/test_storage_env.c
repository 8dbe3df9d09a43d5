/*
 * test_storage_env.c - cfgStorageOptionsFromEnv (src/config/storage_env.c):
 * every variable lands in its field, empty counts as unset, the region
 * falls back LIFEBOAT_S3_REGION > AWS_REGION > AWS_DEFAULT_REGION, sizes
 * take K/M/G, malformed sizes and thread counts fail naming the variable
 * (without the secret), malformed retry values are ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "config/storage_env.h"

/* Every variable cfgStorageOptionsFromEnv reads, cleared before each test. */
static const char *const testVars[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "HOME",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "LIFEBOAT_S3_REGION",
    "LIFEBOAT_S3_PATH_STYLE",
    "LIFEBOAT_S3_INSECURE_TLS",
    "LIFEBOAT_S3_SSE",
    "LIFEBOAT_S3_SSE_KMS_KEY_ID",
    "LIFEBOAT_S3_STORAGE_CLASS",
    "LIFEBOAT_S3_CA_BUNDLE",
    "LIFEBOAT_S3_MULTIPART_THRESHOLD",
    "LIFEBOAT_S3_PART_SIZE",
    "LIFEBOAT_S3_PART_THREADS",
    "LIFEBOAT_RETRY_ATTEMPTS",
    "LIFEBOAT_RETRY_BASE_MS",
    "LIFEBOAT_RETRY_MAX_MS",
};

static int testClearEnv(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(testVars) / sizeof(testVars[0]); i++)
        unsetenv(testVars[i]);
    return 0;
}

static StorageOptions testRead(void) {
    StorageOptions o;
    memset(&o, 0x5a, sizeof(o)); /* every field must be set */
    LbError err = {0};
    if (!cfgStorageOptionsFromEnv(&o, &err))
        fail_msg("cfgStorageOptionsFromEnv: %s", err.msg);
    return o;
}

static void testEmptyEnvironment(void **state) {
    (void)state;
    StorageOptions o = testRead();
    StorageOptions zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(&o, &zero, sizeof(o));
}

static void testEveryVariable(void **state) {
    (void)state;
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SECRET", 1);
    setenv("AWS_SESSION_TOKEN", "TOKEN", 1);
    setenv("AWS_PROFILE", "prof", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/c/credentials", 1);
    setenv("AWS_CONFIG_FILE", "/c/config", 1);
    setenv("HOME", "/home/u", 1);
    setenv("LIFEBOAT_S3_PATH_STYLE", "1", 1);
    setenv("LIFEBOAT_S3_INSECURE_TLS", "yes", 1);
    setenv("LIFEBOAT_S3_SSE", "aws:kms", 1);
    setenv("LIFEBOAT_S3_SSE_KMS_KEY_ID", "key-1", 1);
    setenv("LIFEBOAT_S3_STORAGE_CLASS", "STANDARD_IA", 1);
    setenv("LIFEBOAT_S3_CA_BUNDLE", "/etc/ca.pem", 1);
    setenv("LIFEBOAT_S3_MULTIPART_THRESHOLD", "8M", 1);
    setenv("LIFEBOAT_S3_PART_SIZE", "5242880", 1);
    setenv("LIFEBOAT_S3_PART_THREADS", "16", 1);
    setenv("LIFEBOAT_RETRY_ATTEMPTS", "3", 1);
    setenv("LIFEBOAT_RETRY_BASE_MS", "20", 1);
    setenv("LIFEBOAT_RETRY_MAX_MS", "400", 1);
    StorageOptions o = testRead();
    assert_string_equal(o.s3.accessKeyId, "AKID");
    assert_string_equal(o.s3.secretAccessKey, "SECRET");
    assert_string_equal(o.s3.sessionToken, "TOKEN");
    assert_string_equal(o.s3.profile, "prof");
    assert_string_equal(o.s3.credentialsFile, "/c/credentials");
    assert_string_equal(o.s3.configFile, "/c/config");
    assert_string_equal(o.s3.home, "/home/u");
    assert_true(o.s3.pathStyle);
    assert_true(o.s3.insecureTls);
    assert_string_equal(o.s3.sse, "aws:kms");
    assert_string_equal(o.s3.sseKmsKeyId, "key-1");
    assert_string_equal(o.s3.storageClass, "STANDARD_IA");
    assert_string_equal(o.s3.caBundle, "/etc/ca.pem");
    assert_int_equal(o.s3.multipartThreshold, 8u << 20);
    assert_int_equal(o.s3.partSize, 5u << 20);
    assert_int_equal(o.s3.partThreads, 16);
    assert_null(o.s3.region);
    assert_int_equal(o.retry.maxAttempts, 3);
    assert_int_equal(o.retry.baseDelayMs, 20);
    assert_int_equal(o.retry.maxDelayMs, 400);
}

static void testFlagsAndEmpty(void **state) {
    (void)state;
    setenv("LIFEBOAT_S3_PATH_STYLE", "0", 1);
    setenv("LIFEBOAT_S3_INSECURE_TLS", "TRUE", 1);
    setenv("AWS_ACCESS_KEY_ID", "", 1);
    setenv("LIFEBOAT_S3_SSE", "", 1);
    setenv("LIFEBOAT_S3_PART_SIZE", "", 1);
    StorageOptions o = testRead();
    assert_false(o.s3.pathStyle);
    assert_true(o.s3.insecureTls);
    assert_null(o.s3.accessKeyId);
    assert_null(o.s3.sse);
    assert_int_equal(o.s3.partSize, 0);
}

static void testRegionOrder(void **state) {
    (void)state;
    setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
    assert_string_equal(testRead().s3.region, "eu-central-1");
    setenv("AWS_REGION", "eu-west-1", 1);
    assert_string_equal(testRead().s3.region, "eu-west-1");
    setenv("LIFEBOAT_S3_REGION", "us-west-2", 1);
    assert_string_equal(testRead().s3.region, "us-west-2");
}

/* The same messages as before the move (the S3 driver's s3OptionsFromEnv). */
static void testMalformed(void **state) {
    (void)state;
    static const struct {
        const char *name, *value, *message;
    } bad[] = {
        {"LIFEBOAT_S3_PART_SIZE", "16Q",
         "invalid LIFEBOAT_S3_PART_SIZE '16Q': a size in bytes, optionally with K, M or G"},
        {"LIFEBOAT_S3_MULTIPART_THRESHOLD", "lots",
         "invalid LIFEBOAT_S3_MULTIPART_THRESHOLD 'lots': a size in bytes, optionally with K, M or G"},
        {"LIFEBOAT_S3_PART_THREADS", "17", "invalid LIFEBOAT_S3_PART_THREADS '17': a number from 1 to 16"},
        {"LIFEBOAT_S3_PART_THREADS", "0", "invalid LIFEBOAT_S3_PART_THREADS '0': a number from 1 to 16"},
        {"LIFEBOAT_S3_PART_THREADS", "4x", "invalid LIFEBOAT_S3_PART_THREADS '4x': a number from 1 to 16"},
    };
    setenv("AWS_SECRET_ACCESS_KEY", "Sup3rS3cret", 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv(bad[i].name, bad[i].value, 1);
        StorageOptions o;
        LbError err = {0};
        assert_false(cfgStorageOptionsFromEnv(&o, &err));
        assert_int_equal(err.code, LB_ERR_ARGS);
        assert_string_equal(err.msg, bad[i].message);
        assert_null(strstr(err.msg, "Sup3rS3cret"));
        unsetenv(bad[i].name);
    }
}

/* Retry values out of range are ignored (the default applies), as always;
 * 0 ms still means no wait (1 ms, since 0 in StorageRetryOptions is "the
 * default"). */
static void testRetryValues(void **state) {
    (void)state;
    setenv("LIFEBOAT_RETRY_ATTEMPTS", "0", 1);
    setenv("LIFEBOAT_RETRY_BASE_MS", "-5", 1);
    setenv("LIFEBOAT_RETRY_MAX_MS", "soon", 1);
    StorageOptions o = testRead();
    assert_int_equal(o.retry.maxAttempts, 0);
    assert_int_equal(o.retry.baseDelayMs, 0);
    assert_int_equal(o.retry.maxDelayMs, 0);
    setenv("LIFEBOAT_RETRY_ATTEMPTS", "101", 1);
    setenv("LIFEBOAT_RETRY_BASE_MS", "0", 1);
    setenv("LIFEBOAT_RETRY_MAX_MS", "0", 1);
    o = testRead();
    assert_int_equal(o.retry.maxAttempts, 0);
    assert_int_equal(o.retry.baseDelayMs, 1);
    assert_int_equal(o.retry.maxDelayMs, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(testEmptyEnvironment, testClearEnv),
        cmocka_unit_test_setup(testEveryVariable, testClearEnv),
        cmocka_unit_test_setup(testFlagsAndEmpty, testClearEnv),
        cmocka_unit_test_setup(testRegionOrder, testClearEnv),
        cmocka_unit_test_setup(testMalformed, testClearEnv),
        cmocka_unit_test_setup(testRetryValues, testClearEnv),
    };
    return cmocka_run_group_tests_name("config-storage-env", tests, NULL, NULL);
}
