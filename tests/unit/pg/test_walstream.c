/*
 * test_walstream.c - unit tests for wal-stream without a server: streamed
 * partial names, the spool uploader (completed segments stored and removed,
 * a growing partial stored under a new name each time and the shorter ones
 * deleted, all of them deleted once the segment is complete), wal-fetch's
 * fallback to the longest streamed partial, and pg-check's verdicts on
 * replication slots. The end-to-end path (RPO 0 against a real server) is
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

#include "pg/archcheck.h"
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

static void baseReport(ArchcheckReport *r) {
    memset(r, 0, sizeof(*r));
    r->serverVersion = lbXstrdup("15.4");
    r->archiveMode = lbXstrdup("on");
    r->archiveCommand = lbXstrdup("lifeboat wal-push %p");
    r->archiveLibrary = lbXstrdup("");
    r->lastArchivedWal = lbXstrdup("000000010000000000000005");
    r->lastFailedWal = lbXstrdup("");
    r->currentWal = lbXstrdup("000000010000000000000006");
    r->archivedCount = 5;
    r->nowNs = INT64_C(1795000000000000000);
    r->lastArchivedNs = r->nowNs - INT64_C(10000000000);
    r->maxSlotWalKeepMb = 51200;
}

static void addSlot(ArchcheckReport *r, const char *name, bool active, int64_t lag, const char *walStatus) {
    r->slots = lbXrealloc(r->slots, (r->slotCount + 1) * sizeof(ArchcheckSlot));
    r->slots[r->slotCount++] = (ArchcheckSlot){
        lbXstrdup(name), lbXstrdup("physical"), lbXstrdup("0/5000000"), lbXstrdup(walStatus), active, true, lag};
}

static bool hasReason(const ArchcheckReport *r, const char *text) {
    for (size_t i = 0; i < r->reasonCount; i++)
        if (strstr(r->reasons[i], text))
            return true;
    return false;
}

static void testSlotVerdicts(void **state) {
    (void)state;
    ArchcheckLimits l = {ARCHCHECK_DEFAULT_MAX_AGE, ARCHCHECK_DEFAULT_MAX_READY, ARCHCHECK_DEFAULT_MAX_LAG_BYTES,
                         ARCHCHECK_DEFAULT_MAX_LAG_SECONDS, "lifeboat"};
    ArchcheckReport r;
    /* streaming, little lag: OK */
    baseReport(&r);
    addSlot(&r, "lifeboat", true, 4096, "reserved");
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_OK);
    json_t *j = archcheckToJson(&r);
    assert_int_equal(json_array_size(json_object_get(j, "replication_slots")), 1);
    json_decref(j);
    archcheckReportClear(&r);
    /* the stream is down: FAILING */
    baseReport(&r);
    addSlot(&r, "lifeboat", false, 4096, "reserved");
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_FAILING);
    assert_true(hasReason(&r, "'lifeboat' is inactive"));
    archcheckReportClear(&r);
    /* lagging: WARNING; another slot inactive and large: WARNING */
    baseReport(&r);
    addSlot(&r, "lifeboat", true, INT64_C(1) << 30, "extended");
    addSlot(&r, "old_replica", false, INT64_C(1) << 31, "extended");
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_WARNING);
    assert_true(hasReason(&r, "'lifeboat' (active) holds 1073741824 bytes"));
    assert_true(hasReason(&r, "'old_replica' (inactive) holds 2147483648 bytes"));
    archcheckReportClear(&r);
    /* WAL lost: FAILING; no limit on slots: WARNING */
    baseReport(&r);
    r.maxSlotWalKeepMb = -1;
    addSlot(&r, "lifeboat", true, 0, "lost");
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_FAILING);
    assert_true(hasReason(&r, "lost WAL"));
    assert_true(hasReason(&r, "max_slot_wal_keep_size is -1"));
    archcheckReportClear(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testNames),
        cmocka_unit_test(testUploader),
        cmocka_unit_test(testSlotVerdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
