/*
 * test_pg_walcopy.c - unit tests for the WAL that copy takes along
 * (src/maint/copywal.c) and for what a restore to the latest point can
 * reach (src/pg/pitrhonest.c pitrReachCompute, pitrS3Environment), on
 * repositories in memory.
 *
 * A source holds segments 2..6 and 8 of timeline 1, a .backup file and
 * 00000002.history; a base backup starts in segment 3 and ends in 4. The
 * copy takes 3..6 (not 2: before the backup; not 8: after a gap) and the
 * .backup file, each readable with the target's keys and equal to the
 * source's; again: nothing copied, all skipped; with 7 added: exactly 7
 * and 8. A different file under a name the target holds fails naming it;
 * a backup whose own segments are missing is counted. The reach: a gap
 * (7 missing) is partial naming 7; 3..8 is whole; only 3 and 4 (no WAL
 * after the backup) is partial.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "maint/copywal.h"
#include "pg/pitrhonest.h"
#include "pg/wal.h"
#include "storage/storage.h"
#include "walseg.h"

static void push(Repo *repo, uint32_t seg, uint32_t seed) {
    char name[32];
    snprintf(name, sizeof(name), "%08X%08X%08X", 1u, 0u, seg);
    uint8_t *d = makeSegment(1, 0, seg, seed);
    WalPushResult r;
    LbError err = {0};
    if (!walPush(repo, name, d, SEG, &r, &err))
        fail_msg("walPush %s: %s", name, err.msg);
    free(d);
}

static void pushFile(Repo *repo, const char *name, const char *text) {
    WalPushResult r;
    LbError err = {0};
    if (!walPush(repo, name, (const uint8_t *)text, strlen(text), &r, &err))
        fail_msg("walPush %s: %s", name, err.msg);
}

/* The backup: starts at 0/3000028 (segment 3), ends at 0/4000100 (segment 4). */
static BasebackupInfo backupInfo(void) {
    BasebackupInfo b = {.walSegmentSize = SEG, .startTimeline = 1, .stopTimeline = 1};
    b.startLsn = 3ull * SEG + 0x28;
    b.stopLsn = 4ull * SEG + 0x100;
    b.stopNs = 1700000000000000000ll;
    return b;
}

static bool has(Repo *repo, const char *name) {
    bool exists = false;
    WalHeader h;
    LbError err = {0};
    assert_true(walReadHeader(repo, name, &exists, &h, &err));
    return exists;
}

static void testCopyWal(void **state) {
    (void)state;
    Repo *src = newRepo(), *dst = newRepo();
    for (uint32_t s = 2; s <= 6; s++)
        push(src, s, s);
    push(src, 8, 8);
    pushFile(src, "000000010000000000000003.00000028.backup", "START WAL LOCATION: 0/3000028\n");
    pushFile(src, "00000002.history", "1\t0/9000000\tno recovery target specified\n");
    BasebackupInfo b = backupInfo();
    CopyWalResult r = {0};
    LbError err = {0};
    assert_true(copyWalRun(src, dst, &b, 1, &r, &err));
    assert_int_equal(r.segmentsCopied, 4);
    assert_int_equal(r.segmentsSkipped, 0);
    assert_int_equal(r.filesCopied, 1); /* the .backup file; 00000002.history is of a later timeline */
    assert_int_equal(r.segmentsMissing, 0);
    assert_true(r.bytesStored > 0);
    assert_false(has(dst, "000000010000000000000002"));
    assert_false(has(dst, "000000010000000000000008"));
    assert_false(has(dst, "00000002.history"));
    /* the target's copy opens with its own keys and holds the same bytes */
    LbBuf a = {0}, c = {0};
    WalHeader ha, hc;
    assert_true(walFetch(src, "000000010000000000000005", &a, &ha, &err));
    assert_true(walFetch(dst, "000000010000000000000005", &c, &hc, &err));
    assert_int_equal(a.len, c.len);
    assert_memory_equal(a.data, c.data, a.len);
    assert_true(ha.timeNs == hc.timeNs); /* the archive time is kept */
    lbBufFree(&a);
    lbBufFree(&c);

    /* again: everything is there */
    memset(&r, 0, sizeof(r));
    assert_true(copyWalRun(src, dst, &b, 1, &r, &err));
    assert_int_equal(r.segmentsCopied, 0);
    assert_int_equal(r.segmentsSkipped, 4);
    assert_int_equal(r.filesSkipped, 1);
    assert_int_equal(r.bytesStored, 0);

    /* the gap filled: the chain goes on to 8, and only 7 and 8 are new */
    push(src, 7, 7);
    memset(&r, 0, sizeof(r));
    assert_true(copyWalRun(src, dst, &b, 1, &r, &err));
    assert_int_equal(r.segmentsCopied, 2);
    assert_int_equal(r.segmentsSkipped, 4);
    assert_true(has(dst, "000000010000000000000008"));

    /* a different file under a name the target holds: refused, by name */
    push(src, 9, 9);
    push(dst, 9, 99);
    memset(&r, 0, sizeof(r));
    assert_false(copyWalRun(src, dst, &b, 1, &r, &err));
    assert_int_equal(err.code, LB_ERR_EXISTS);
    assert_non_null(strstr(err.msg, "'000000010000000000000009'"));
    assert_non_null(strstr(err.msg, "different file of that name"));

    /* a backup whose own WAL the source lacks (segments 20..21) */
    BasebackupInfo lost = b;
    lost.startLsn = 20ull * SEG;
    lost.stopLsn = 21ull * SEG + 8;
    memset(&r, 0, sizeof(r));
    err = (LbError){0};
    assert_true(copyWalRun(src, dst, &lost, 1, &r, &err));
    assert_int_equal(r.segmentsMissing, 2);
    assert_string_equal(r.firstMissing, "000000010000000000000014");

    /* no backup: nothing listed, nothing done */
    memset(&r, 0, sizeof(r));
    assert_true(copyWalRun(src, dst, NULL, 0, &r, &err));
    assert_int_equal(r.segmentsCopied + r.segmentsSkipped, 0);
    repoFree(src);
    repoFree(dst);
}

static void testReach(void **state) {
    (void)state;
    Repo *repo = newRepo();
    BasebackupInfo b = backupInfo();
    PitrReach r;
    LbError err = {0};
    push(repo, 3, 3);
    push(repo, 4, 4);
    /* nothing after the backup's end */
    assert_true(pitrReachCompute(repo, &b, &r, &err));
    assert_true(r.partial);
    assert_false(r.gap);
    assert_string_equal(r.lastSegment, "000000010000000000000004");
    assert_true(r.reachLsn == 5ull * SEG);
    assert_string_equal(r.probe, "000000010000000000000004");
    /* a gap: 5, 6, then 8 */
    push(repo, 5, 5);
    push(repo, 6, 6);
    push(repo, 8, 8);
    assert_true(pitrReachCompute(repo, &b, &r, &err));
    assert_true(r.partial);
    assert_true(r.gap);
    assert_string_equal(r.missing, "000000010000000000000007");
    assert_string_equal(r.lastSegment, "000000010000000000000006");
    char text[192];
    pitrReachDescribe(&r, text, sizeof(text));
    assert_non_null(strstr(text, "LSN 0/7000000 (the end of segment 000000010000000000000006, archived "));
    /* whole */
    push(repo, 7, 7);
    assert_true(pitrReachCompute(repo, &b, &r, &err));
    assert_false(r.partial);
    assert_int_equal(r.segments, 6);
    assert_true(r.lastSegStart == 8ull * SEG);
    repoFree(repo);
}

static void testS3Environment(void **state) {
    (void)state;
    LbBuf b = {0};
    LbError err = {0};
    StorageOptions so = {0};
    /* a local repository needs nothing */
    assert_true(pitrS3Environment("/srv/repo", &so, &b, &err));
    assert_int_equal(b.len, 0);
    /* keys only as values: refused, and the message holds no secret */
    so.s3.accessKeyId = "AKIDEXAMPLE";
    so.s3.secretAccessKey = "very-secret-key";
    assert_false(pitrS3Environment("s3:https://h/b", &so, &b, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    assert_null(strstr(err.msg, "very-secret-key"));
    /* a credentials file: named, with the other settings; never the key */
    so.s3.credentialsFile = "/etc/hostname";
    so.s3.profile = "dr";
    so.s3.region = "eu-west-1";
    so.s3.pathStyle = true;
    err = (LbError){0};
    assert_true(pitrS3Environment("s3:https://h/b", &so, &b, &err));
    lbBufAppend(&b, "", 1);
    const char *t = (const char *)b.data;
    assert_non_null(strstr(t, "AWS_SHARED_CREDENTIALS_FILE='/etc/hostname' "));
    assert_non_null(strstr(t, "AWS_PROFILE='dr' "));
    assert_non_null(strstr(t, "LIFEBOAT_S3_REGION='eu-west-1' "));
    assert_non_null(strstr(t, "LIFEBOAT_S3_PATH_STYLE='1' "));
    assert_null(strstr(t, "very-secret-key"));
    assert_null(strstr(t, "AKIDEXAMPLE"));
    lbBufFree(&b);
    /* a credentials file that cannot be read */
    so.s3.credentialsFile = "/nonexistent/credentials";
    assert_false(pitrS3Environment("s3:https://h/b", &so, &b, &err));
    assert_non_null(strstr(err.msg, "/nonexistent/credentials"));
    lbBufFree(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testCopyWal),
        cmocka_unit_test(testReach),
        cmocka_unit_test(testS3Environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
