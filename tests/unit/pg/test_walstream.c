/*
 * test_walstream.c - unit tests for wal-stream without a server: streamed
 * partial names, the spool uploader (completed segments stored and removed,
 * a growing partial stored under a new name each time and the shorter ones
 * deleted, all of them deleted once the segment is complete), wal-fetch's
 * fallback to the longest streamed partial (pg-check's verdicts on
 * replication slots are in test_pg_physical.c). The end-to-end path (RPO 0 against a real server) is
 * tests/integration/test_pg_wal_stream.sh.
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

#include "pg/wal.h"
#include "pg/walstream.h"
#include "repo/repo.h"
#include "storage/mem/mem.h"

#define SEG (16u << 20)

static Repo *newRepo(void) {
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    Repo *repo = repoInit(storageMemNew(), "pw", &opts, &err);
    if (repo == NULL)
        fail_msg("repoInit: %s", err.msg);
    return repo;
}

/* A segment of segment number seg (timeline 1) holding used bytes of WAL
 * (a long header, then a pattern), zero-padded as pg_receivewal writes it. */
static uint8_t *makeSegment(uint32_t seg, size_t used) {
    uint8_t *d = lbXcalloc(1, SEG);
    uint16_t magic = 0xD110, info = 0x0002;
    uint32_t tli = 1, segSize = SEG, blck = 8192;
    uint64_t pageAddr = (uint64_t)seg * SEG, sysid = UINT64_C(7311234567890123456);
    memcpy(d, &magic, 2);
    memcpy(d + 2, &info, 2);
    memcpy(d + 4, &tli, 4);
    memcpy(d + 8, &pageAddr, 8);
    memcpy(d + 24, &sysid, 8);
    memcpy(d + 32, &segSize, 4);
    memcpy(d + 36, &blck, 4);
    for (size_t i = 40; i < used; i++)
        d[i] = (uint8_t)(i * 31 + 7) | 1;
    return d;
}

static void writeFile(const char *dir, const char *name, const uint8_t *d, size_t len) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, len, f), len);
    fclose(f);
}

static bool exists(Repo *repo, const char *name) {
    char obj[128];
    StorageInfo si;
    LbError err = {0};
    snprintf(obj, sizeof(obj), "wal/%s", name);
    assert_true(storageStat(repoStorage(repo), obj, &si, &err));
    return si.exists;
}

static void testNames(void **state) {
    (void)state;
    WalName n;
    char name[WAL_NAME_MAX];
    walstreamPartialName("000000010000000000000003", 0xA0, name, sizeof(name));
    assert_string_equal(name, "000000010000000000000003.000000A0.partial");
    assert_true(walNameParse(name, &n));
    assert_int_equal(n.kind, WAL_FILE_PARTIAL);
    assert_int_equal(n.streamedBytes, 0xA0);
    assert_int_equal(n.seg, 3);
    assert_true(walNameParse("000000010000000000000003.partial", &n));
    assert_int_equal(n.streamedBytes, 0); /* PostgreSQL's own partial */
    const char *bad[] = {"000000010000000000000003.00000000.partial", "000000010000000000000003.000000a0.partial",
                         "000000010000000000000003.000000A.partial", "000000010000000000000003.000000A0.partia"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(walNameParse(bad[i], &n));
}

static void testUploader(void **state) {
    (void)state;
    Repo *repo = newRepo();
    LbError err = {0};
    char dir[] = "/tmp/lifeboat-walstream-XXXXXX";
    assert_non_null(mkdtemp(dir));
    WalstreamSpool *sp = walstreamSpoolNew(repo, dir);
    const char *s3 = "000000010000000000000003";

    /* a completed segment and the partial of the next one */
    uint8_t *full = makeSegment(2, SEG);
    uint8_t *p1 = makeSegment(3, 1000);
    writeFile(dir, "000000010000000000000002", full, SEG);
    writeFile(dir, "000000010000000000000003.partial", p1, SEG);
    assert_true(walstreamSpoolUpload(sp, true, false, &err));
    assert_true(exists(repo, "000000010000000000000002"));
    char path[512];
    snprintf(path, sizeof(path), "%s/000000010000000000000002", dir);
    assert_int_equal(access(path, F_OK), -1); /* durable in the repository: gone from the spool */
    assert_true(exists(repo, "000000010000000000000003.000003E8.partial"));

    /* recovery asks for segment 3: the partial is served as it */
    LbBuf out = {0};
    WalHeader h;
    assert_true(walstreamFetch(repo, s3, &out, &h, &err));
    assert_int_equal(out.len, SEG);
    assert_memory_equal(out.data, p1, SEG);
    out.len = 0;
    /* a segment with neither: not found */
    assert_false(walstreamFetch(repo, "000000010000000000000004", &out, &h, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);

    /* the partial grows: a new object, the shorter one deleted */
    uint8_t *p2 = makeSegment(3, 5000);
    writeFile(dir, "000000010000000000000003.partial", p2, SEG);
    assert_true(walstreamSpoolUpload(sp, true, false, &err));
    assert_true(exists(repo, "000000010000000000000003.00001388.partial"));
    assert_false(exists(repo, "000000010000000000000003.000003E8.partial"));
    char newest[WAL_NAME_MAX];
    bool found = false;
    assert_true(walstreamNewestPartial(repo, s3, &found, newest, sizeof(newest), &err));
    assert_true(found);
    assert_string_equal(newest, "000000010000000000000003.00001388.partial");
    assert_true(walstreamFetch(repo, s3, &out, &h, &err));
    assert_memory_equal(out.data, p2, SEG);
    out.len = 0;
    /* a read that raced a write stored a hole: the same byte count with other
     * bytes replaces it (walPush alone refuses that) */
    uint8_t *p2b = lbXcalloc(1, SEG);
    memcpy(p2b, p2, SEG);
    p2b[2000] ^= 0xFF;
    WalPushResult pr;
    assert_false(walPush(repo, "000000010000000000000003.00001388.partial", p2b, SEG, &pr, &err));
    assert_int_equal(err.code, LB_ERR_EXISTS);
    writeFile(dir, "000000010000000000000003.partial", p2b, SEG);
    assert_true(walstreamSpoolUpload(sp, true, false, &err));
    assert_true(walstreamFetch(repo, s3, &out, &h, &err));
    assert_memory_equal(out.data, p2b, SEG);
    out.len = 0;
    free(p2b);
    /* unchanged: nothing stored again */
    WalstreamSpoolStats st;
    walstreamSpoolStats(sp, &st);
    uint64_t partials = st.partials;
    assert_true(walstreamSpoolUpload(sp, false, false, &err));
    walstreamSpoolStats(sp, &st);
    assert_int_equal(st.partials, partials);

    /* the segment completes: stored, its partials deleted; final: the spool is empty */
    uint8_t *c3 = makeSegment(3, SEG);
    snprintf(path, sizeof(path), "%s/000000010000000000000003.partial", dir);
    unlink(path);
    writeFile(dir, s3, c3, SEG);
    assert_true(walstreamSpoolUpload(sp, true, true, &err));
    assert_true(exists(repo, s3));
    assert_false(exists(repo, "000000010000000000000003.00001388.partial"));
    assert_true(walstreamFetch(repo, s3, &out, &h, &err));
    assert_memory_equal(out.data, c3, SEG);
    walstreamSpoolStats(sp, &st);
    assert_int_equal(st.segments, 2);
    assert_string_equal(st.lastSegment, s3);

    lbBufFree(&out);
    free(full);
    free(p1);
    free(p2);
    free(c3);
    walstreamSpoolFree(sp);
    rmdir(dir);
    repoFree(repo);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testNames),
        cmocka_unit_test(testUploader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
