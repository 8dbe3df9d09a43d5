/*
 * test_pg_physical.c - unit tests for the physical PostgreSQL modules that
 * need no server: WAL names, LSNs and segment headers, wal/ objects (push,
 * idempotency, refusal, fetch, damage) on the in-memory storage, the wal-push
 * spool, backup_label and manifest parsing, snapshot metadata, the choice of
 * a base backup for a recovery target, configuration quoting, and pg-check's
 * verdicts. The end-to-end paths run against a real server in
 * tests/integration/test_pg_physical.sh.
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
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "common/timeutil.h"
#include "crypto/crypto.h"
#include "pg/archcheck.h"
#include "pg/basebackup.h"
#include "pg/pitr.h"
#include "pg/wal.h"
#include "pg/walspool.h"
#include "repo/repo.h"
#include "storage/mem/mem.h"

#include "walseg.h"

/* ---- names, LSNs, segment headers ---- */

static void testNames(void **state) {
    (void)state;
    WalName n;
    assert_true(walNameParse("000000010000000000000003", &n));
    assert_int_equal(n.kind, WAL_FILE_SEGMENT);
    assert_int_equal(n.timeline, 1);
    assert_int_equal(n.seg, 3);
    assert_true(walNameParse("0000000A00000002000000FF.partial", &n));
    assert_int_equal(n.kind, WAL_FILE_PARTIAL);
    assert_int_equal(n.timeline, 10);
    assert_int_equal(n.log, 2);
    assert_int_equal(n.seg, 255);
    assert_true(walNameParse("00000002.history", &n));
    assert_int_equal(n.kind, WAL_FILE_HISTORY);
    assert_int_equal(n.timeline, 2);
    assert_true(walNameParse("000000010000000000000003.00000028.backup", &n));
    assert_int_equal(n.kind, WAL_FILE_BACKUP);
    const char *bad[] = {"",
                         "00000001000000000000000",
                         "0000000100000000000000033",
                         "000000010000000000000003.",
                         "000000010000000000000003.part",
                         "00000001000000000000000a",
                         "000000000000000000000003",
                         "00000000.history",
                         "0000002.history",
                         "00000002.History",
                         "../00000002.history",
                         "000000010000000000000003.0000002.backup",
                         "000000010000000000000003.00000028.backupx",
                         "x00000010000000000000003",
                         "RECOVERYXLOG"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(walNameParse(bad[i], &n));
}

static void testLsn(void **state) {
    (void)state;
    uint64_t l;
    char t[32];
    assert_true(walLsnParse("0/3000028", &l));
    assert_true(l == 0x3000028);
    assert_true(walLsnParse("1A/ff", &l));
    assert_true(l == ((UINT64_C(0x1A) << 32) | 0xff));
    walLsnFormat(l, t, sizeof(t));
    assert_string_equal(t, "1A/FF");
    walLsnFormat(0, t, sizeof(t));
    assert_string_equal(t, "0/0");
    assert_false(walLsnParse("", &l));
    assert_false(walLsnParse("/1", &l));
    assert_false(walLsnParse("1/", &l));
    assert_false(walLsnParse("12345", &l));
    assert_false(walLsnParse("0/1/2", &l));
    assert_false(walLsnParse("G/1", &l));
    assert_false(walLsnParse("123456789/1", &l));
    walSegmentName(1, 0x3000028, SEG, t, sizeof(t));
    assert_string_equal(t, "000000010000000000000003");
    walSegmentName(2, UINT64_C(0x100000000), SEG, t, sizeof(t));
    assert_string_equal(t, "000000020000000100000000");
    walSegmentName(1, UINT64_C(0x1FFFFFFFF), SEG, t, sizeof(t));
    assert_string_equal(t, "0000000100000001000000FF");
    walSegmentName(3, UINT64_C(0x2C0000000), 1u << 30, t, sizeof(t));
    assert_string_equal(t, "000000030000000200000003");
}

static void testSegmentCheck(void **state) {
    (void)state;
    LbError err = {0};
    WalName n;
    WalSegmentInfo si;
    uint8_t *d = makeSegment(1, 2, 7, 1);
    assert_true(walNameParse("000000010000000200000007", &n));
    assert_true(walSegmentCheck(&n, d, SEG, &si, &err));
    assert_true(si.systemId == UINT64_C(7311234567890123456));
    assert_int_equal(si.segmentSize, SEG);
    /* the name says another position, timeline or size */
    assert_true(walNameParse("000000010000000200000008", &n));
    assert_false(walSegmentCheck(&n, d, SEG, &si, &err));
    assert_non_null(strstr(err.msg, "its name says"));
    assert_true(walNameParse("000000020000000200000007", &n));
    assert_false(walSegmentCheck(&n, d, SEG, &si, &err));
    assert_non_null(strstr(err.msg, "timeline"));
    assert_true(walNameParse("000000010000000200000007", &n));
    assert_false(walSegmentCheck(&n, d, SEG - 8192, &si, &err));
    assert_false(walSegmentCheck(&n, d, 20, &si, &err));
    d[2] = 0; /* no long header */
    assert_false(walSegmentCheck(&n, d, SEG, &si, &err));
    assert_int_equal(err.code, LB_ERR_FORMAT);
    free(d);
}

/* ---- wal/ objects ---- */

static void testPushFetch(void **state) {
    (void)state;
    Repo *repo = newRepo();
    LbError err = {0};
    WalPushResult r;
    WalHeader h;
    LbBuf out = {0};
    uint8_t *a = makeSegment(1, 0, 3, 1), *b = makeSegment(1, 0, 3, 2);
    const char *name = "000000010000000000000003";

    assert_true(walPush(repo, name, a, SEG, &r, &err));
    assert_int_equal(r.outcome, WAL_PUSH_STORED);
    assert_true(r.storedBytes > 0 && r.storedBytes < SEG); /* compressed */
    StorageInfo si;
    assert_true(storageStat(repoStorage(repo), "wal/000000010000000000000003", &si, &err));
    assert_true(si.exists);
    assert_int_equal(si.size, r.storedBytes);
    StorageStats before, after;
    storageGetStats(repoStorage(repo), &before);

    /* the same file again: success, nothing written */
    assert_true(walPush(repo, name, a, SEG, &r, &err));
    assert_int_equal(r.outcome, WAL_PUSH_IDENTICAL);
    storageGetStats(repoStorage(repo), &after);
    assert_int_equal(after.puts, before.puts);
    assert_true(after.bytesRead - before.bytesRead <= 1024); /* the header only */

    /* another file under the same name: refused, the stored one untouched */
    assert_false(walPush(repo, name, b, SEG, &r, &err));
    assert_int_equal(err.code, LB_ERR_EXISTS);
    assert_non_null(strstr(err.msg, "different file"));
    assert_true(walFetch(repo, name, &out, &h, &err));
    assert_int_equal(out.len, SEG);
    assert_memory_equal(out.data, a, SEG);
    assert_string_equal(h.name, name);
    assert_true(h.hasSystemId);
    assert_true(h.size == SEG);

    /* header alone */
    bool exists = false;
    assert_true(walReadHeader(repo, name, &exists, &h, &err));
    assert_true(exists);
    assert_true(walReadHeader(repo, "000000010000000000000004", &exists, &h, &err));
    assert_false(exists);

    /* missing: not found, nothing appended */
    out.len = 0;
    assert_false(walFetch(repo, "000000010000000000000004", &out, &h, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    assert_int_equal(out.len, 0);

    /* a segment whose header contradicts its name is refused */
    assert_false(walPush(repo, "000000010000000000000005", a, SEG, &r, &err));
    assert_int_equal(err.code, LB_ERR_FORMAT);
    /* text files are not checked as segments */
    const char *hist = "1\t0/3000000\tno recovery target specified\n";
    assert_true(walPush(repo, "00000002.history", (const uint8_t *)hist, strlen(hist), &r, &err));
    out.len = 0;
    assert_true(walFetch(repo, "00000002.history", &out, &h, &err));
    assert_int_equal(out.len, strlen(hist));
    assert_memory_equal(out.data, hist, strlen(hist));
    /* names that are not WAL files */
    assert_false(walPush(repo, "../config", (const uint8_t *)"x", 1, &r, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    assert_false(walFetch(repo, "../config", &out, &h, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);

    lbBufFree(&out);
    free(a);
    free(b);
    repoFree(repo);
}

static void testDamage(void **state) {
    (void)state;
    Repo *repo = newRepo();
    Storage *st = repoStorage(repo);
    LbError err = {0};
    WalPushResult r;
    WalHeader h;
    LbBuf stored = {0}, out = {0};
    uint8_t *a = makeSegment(1, 0, 3, 1);
    assert_true(walPush(repo, "000000010000000000000003", a, SEG, &r, &err));
    assert_true(storageGet(st, "wal/000000010000000000000003", 0, 0, &stored, &err));

    /* a copy under another name is detected by the name in the sealed header */
    assert_true(storagePut(st, "wal/000000010000000000000009", stored.data, stored.len, &err));
    assert_false(walFetch(repo, "000000010000000000000009", &out, &h, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "holds"));
    assert_false(walPush(repo, "000000010000000000000009", a, SEG, &r, &err));

    /* a flipped byte in the body fails authentication */
    stored.data[stored.len - 40] ^= 1;
    assert_true(storagePut(st, "wal/000000010000000000000003", stored.data, stored.len, &err));
    assert_false(walFetch(repo, "000000010000000000000003", &out, &h, &err));
    assert_int_equal(out.len, 0);
    /* a flipped byte in the header too, for push as well */
    stored.data[stored.len - 40] ^= 1;
    stored.data[10] ^= 1;
    assert_true(storagePut(st, "wal/000000010000000000000003", stored.data, stored.len, &err));
    assert_false(walFetch(repo, "000000010000000000000003", &out, &h, &err));
    assert_false(walPush(repo, "000000010000000000000003", a, SEG, &r, &err));
    /* truncated and absurd header lengths */
    assert_true(storagePut(st, "wal/000000010000000000000003", stored.data, 3, &err));
    assert_false(walFetch(repo, "000000010000000000000003", &out, &h, &err));
    uint8_t huge[8] = {0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0};
    assert_true(storagePut(st, "wal/000000010000000000000003", huge, sizeof(huge), &err));
    assert_false(walFetch(repo, "000000010000000000000003", &out, &h, &err));
    bool exists;
    assert_false(walReadHeader(repo, "000000010000000000000003", &exists, &h, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);

    lbBufFree(&stored);
    lbBufFree(&out);
    free(a);
    repoFree(repo);
}

/* A header longer than the first ranged GET (fields a later writer may add)
 * is read with a second GET. */
static void testLongHeader(void **state) {
    (void)state;
    Repo *repo = newRepo();
    LbError err = {0};
    const char *content = "1\t0/3000000\tno recovery target specified\n";
    LbId sha;
    cryptoSha256((const uint8_t *)content, strlen(content), &sha);
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&sha, hex);
    char pad[3000];
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    char *json = lbXasprintf("{\"version\":1,\"name\":\"00000002.history\",\"size\":%zu,\"sha256\":\"%s\","
                             "\"future\":\"%s\"}",
                             strlen(content), hex, pad);
    LbBuf stored = {0}, framed = {0}, out = {0};
    uint8_t len[4] = {0};
    lbBufAppend(&stored, len, 4);
    assert_true(cryptoSeal(repoKeys(repo)->metaKey, (const uint8_t *)json, strlen(json), &stored, &err));
    lbPutU32(stored.data, (uint32_t)(stored.len - 4));
    uint8_t flag = 0;
    lbBufAppend(&framed, &flag, 1);
    lbBufAppend(&framed, content, strlen(content));
    assert_true(cryptoSeal(repoKeys(repo)->dataKey, framed.data, framed.len, &stored, &err));
    assert_true(storagePut(repoStorage(repo), "wal/00000002.history", stored.data, stored.len, &err));
    WalHeader h;
    bool exists = false;
    assert_true(walReadHeader(repo, "00000002.history", &exists, &h, &err));
    assert_true(exists);
    assert_true(h.size == strlen(content));
    assert_true(walFetch(repo, "00000002.history", &out, &h, &err));
    assert_int_equal(out.len, strlen(content));
    WalPushResult r;
    assert_true(walPush(repo, "00000002.history", (const uint8_t *)content, strlen(content), &r, &err));
    assert_int_equal(r.outcome, WAL_PUSH_IDENTICAL);
    free(json);
    lbBufFree(&stored);
    lbBufFree(&framed);
    lbBufFree(&out);
    repoFree(repo);
}

/* ---- the wal-push spool ---- */

static char *tempDir(void) {
    char tmpl[] = "/tmp/lifeboat-unit-pg.XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return lbXstrdup(d);
}

static void rmTree(const char *dir) {
    char *cmd = lbXasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void touch(const char *path) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
}

static void testSpool(void **state) {
    (void)state;
    char *root = tempDir();
    char *spool = lbXasprintf("%s/spool", root);
    LbError err = {0};
    LbId sha, other;
    cryptoSha256((const uint8_t *)"a", 1, &sha);
    cryptoSha256((const uint8_t *)"b", 1, &other);
    bool hit = true;
    assert_true(walspoolOpen(spool, &err));
    struct stat st;
    assert_int_equal(stat(spool, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    /* no marker: miss */
    assert_true(walspoolConsume(spool, "repo", "000000010000000000000003", 1, &sha, &hit, &err));
    assert_false(hit);
    /* marker matches: hit, used up */
    assert_true(walspoolMark(spool, "repo", "000000010000000000000003", 1, &sha, &err));
    assert_true(walspoolConsume(spool, "repo", "000000010000000000000003", 1, &sha, &hit, &err));
    assert_true(hit);
    assert_true(walspoolConsume(spool, "repo", "000000010000000000000003", 1, &sha, &hit, &err));
    assert_false(hit);
    /* other content, size or repository: miss, and the marker is gone */
    const struct {
        const char *repo;
        uint64_t size;
        const LbId *sha;
    } miss[] = {{"repo", 1, &other}, {"repo", 2, &sha}, {"elsewhere", 1, &sha}};
    for (size_t i = 0; i < 3; i++) {
        assert_true(walspoolMark(spool, "repo", "000000010000000000000004", 1, &sha, &err));
        assert_true(
            walspoolConsume(spool, miss[i].repo, "000000010000000000000004", miss[i].size, miss[i].sha, &hit, &err));
        assert_false(hit);
        char *m = lbXasprintf("%s/000000010000000000000004.ok", spool);
        assert_int_not_equal(access(m, F_OK), 0);
        free(m);
    }
    /* an old marker does not answer, and prune removes old ones */
    assert_true(walspoolMark(spool, "repo", "000000010000000000000005", 1, &sha, &err));
    char *m5 = lbXasprintf("%s/000000010000000000000005.ok", spool);
    struct utimbuf old = {time(NULL) - 2 * WALSPOOL_MARKER_MAX_AGE, time(NULL) - 2 * WALSPOOL_MARKER_MAX_AGE};
    assert_int_equal(utime(m5, &old), 0);
    assert_true(walspoolConsume(spool, "repo", "000000010000000000000005", 1, &sha, &hit, &err));
    assert_false(hit);
    assert_true(walspoolMark(spool, "repo", "000000010000000000000006", 1, &sha, &err));
    assert_true(walspoolMark(spool, "repo", "000000010000000000000007", 1, &sha, &err));
    char *m6 = lbXasprintf("%s/000000010000000000000006.ok", spool);
    char *m7 = lbXasprintf("%s/000000010000000000000007.ok", spool);
    assert_int_equal(utime(m6, &old), 0);
    walspoolPrune(spool, WALSPOOL_MARKER_MAX_AGE);
    assert_int_not_equal(access(m6, F_OK), 0);
    assert_int_equal(access(m7, F_OK), 0);

    /* ready files: history first, then in order; skip the one asked for,
     * those with a marker and names that are not WAL files; at most max */
    char *wal = lbXasprintf("%s/pg_wal", root);
    char *status = lbXasprintf("%s/archive_status", wal);
    assert_int_equal(mkdir(wal, 0700), 0);
    assert_int_equal(mkdir(status, 0700), 0);
    const char *ready[] = {"000000010000000000000009", "000000010000000000000008", "00000002.history",
                           "000000010000000000000007", "000000010000000000000003", "junk"};
    for (size_t i = 0; i < 6; i++) {
        char *p = lbXasprintf("%s/%s.ready", status, ready[i]);
        touch(p);
        free(p);
    }
    char *done = lbXasprintf("%s/00000001000000000000000A.done", status);
    touch(done);
    char **names = NULL;
    size_t n = 0;
    assert_true(walspoolReady(wal, spool, "000000010000000000000003", 10, &names, &n, &err));
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "00000002.history");
    assert_string_equal(names[1], "000000010000000000000008");
    assert_string_equal(names[2], "000000010000000000000009");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    assert_true(walspoolReady(wal, spool, "000000010000000000000003", 2, &names, &n, &err));
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    char *nowhere = lbXasprintf("%s/none", root);
    assert_false(walspoolReady(nowhere, spool, "x", 2, &names, &n, &err));

    /* a spool others can write is refused */
    assert_int_equal(chmod(spool, 0777), 0);
    assert_false(walspoolOpen(spool, &err));

    free(nowhere);
    free(done);
    free(wal);
    free(status);
    free(m5);
    free(m6);
    free(m7);
    rmTree(root);
    free(spool);
    free(root);
}

static void testPushAll(void **state) {
    (void)state;
    Repo *repo = newRepo();
    char *root = tempDir();
    WalspoolItem items[4] = {0};
    char *paths[4];
    const char *names[4] = {"000000010000000000000003", "000000010000000000000004", "000000010000000000000005",
                            "000000010000000000000006"};
    for (int i = 0; i < 4; i++) {
        paths[i] = lbXasprintf("%s/%s", root, names[i]);
        uint8_t *d = makeSegment(1, 0, 3 + (uint32_t)i, (uint32_t)i);
        if (i == 3)
            d[8] ^= 1; /* contradicts its name */
        FILE *f = fopen(paths[i], "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(d, 1, SEG, f), SEG);
        fclose(f);
        free(d);
        items[i].path = paths[i];
        items[i].name = names[i];
    }
    assert_int_equal(walspoolPushAll(repo, items, 4, 2, NULL, NULL), 3);
    for (int i = 0; i < 3; i++) {
        assert_true(items[i].ok);
        assert_false(items[i].identical);
        assert_true(items[i].size == SEG);
    }
    assert_false(items[3].ok);
    assert_int_equal(items[3].err.code, LB_ERR_FORMAT);
    assert_int_equal(walspoolPushAll(repo, items, 3, 3, NULL, NULL), 3);
    assert_true(items[0].identical && items[1].identical && items[2].identical);
    for (int i = 0; i < 4; i++)
        free(paths[i]);
    rmTree(root);
    free(root);
    repoFree(repo);
}

/* ---- backup_label, manifest, metadata ---- */

static void testLabelManifest(void **state) {
    (void)state;
    LbError err = {0};
    BasebackupInfo in = {0};
    const char *label = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n"
                        "CHECKPOINT LOCATION: 0/2000060\n"
                        "BACKUP METHOD: streamed\n"
                        "BACKUP FROM: standby\n"
                        "START TIME: 2026-11-23 23:27:37 UTC\n"
                        "LABEL: lifeboat 2026-11-23 23:27:37\n"
                        "START TIMELINE: 3\n";
    assert_true(basebackupParseLabel(label, strlen(label), &in, &err));
    assert_true(in.startLsn == 0x2000028);
    assert_int_equal(in.startTimeline, 3);
    assert_true(in.fromStandby);
    assert_string_equal(in.label, "lifeboat 2026-11-23 23:27:37");
    assert_false(basebackupParseLabel("LABEL: x\n", 9, &in, &err));
    const char *noTli = "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n";
    assert_false(basebackupParseLabel(noTli, strlen(noTli), &in, &err));

    const char *manifest =
        "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n"
        "{ \"Path\": \"WAL-Ranges\", \"Size\": 1 }\n],\n"
        "\"WAL-Ranges\": [\n{ \"Timeline\": 2, \"Start-LSN\": \"0/2000028\", \"End-LSN\": \"0/2FFFFF0\" },\n"
        "{ \"Timeline\": 3, \"Start-LSN\": \"0/3000000\", \"End-LSN\": \"0/3000100\" }\n],\n"
        "\"Manifest-Checksum\": \"abc\"}\n";
    uint64_t stop = 0;
    uint32_t tli = 0;
    assert_true(basebackupParseManifestTail(manifest, strlen(manifest), &stop, &tli));
    assert_true(stop == 0x3000100);
    assert_int_equal(tli, 3);
    const char *tail = manifest + 60; /* only the tail was kept */
    assert_true(basebackupParseManifestTail(tail, strlen(tail), &stop, &tli));
    assert_false(basebackupParseManifestTail("{}", 2, &stop, &tli));
    assert_false(basebackupParseManifestTail("\"WAL-Ranges\": [", 15, &stop, &tli));

    in.serverVersionNum = 150018;
    snprintf(in.serverVersion, sizeof(in.serverVersion), "15.18");
    in.systemId = UINT64_C(18446744073709551000);
    in.walSegmentSize = SEG;
    in.stopLsn = 0x3000100;
    in.stopTimeline = 3;
    in.stopFromManifest = true;
    in.startNs = INT64_C(1795000000123456789);
    in.stopNs = in.startNs + 1000000000;
    in.nextXidAtStop = 745;
    in.walIncluded = true;
    in.haveManifest = true;
    in.tarBytes = 123;
    in.tarEntries = 7;
    json_t *j = basebackupInfoToJson(&in);
    assert_string_equal(json_string_value(json_object_get(j, "start_wal")), "000000030000000000000002");
    assert_string_equal(json_string_value(json_object_get(j, "stop_wal")), "000000030000000000000003");
    BasebackupInfo back;
    assert_true(basebackupInfoFromJson(j, &back, &err));
    assert_true(back.startLsn == in.startLsn && back.stopLsn == in.stopLsn);
    assert_true(back.startNs == in.startNs && back.stopNs == in.stopNs);
    assert_true(back.systemId == in.systemId && back.nextXidAtStop == 745);
    assert_int_equal(back.startTimeline, 3);
    assert_true(back.stopFromManifest && back.walIncluded && back.fromStandby);
    json_object_set_new(j, "kind", json_string("pg-logical"));
    assert_false(basebackupInfoFromJson(j, &back, &err));
    json_decref(j);
}

/* ---- choosing a base backup ---- */

static void addBackup(SnapshotList *l, const char *component, int64_t stopSec, uint64_t stopLsn, uint64_t nextXid) {
    l->items = lbXrealloc(l->items, (l->count + 1) * sizeof(Snapshot));
    Snapshot *s = &l->items[l->count++];
    memset(s, 0, sizeof(*s));
    s->timeNs = (stopSec - 1) * INT64_C(1000000000);
    s->component = lbXstrdup(component);
    s->hostname = lbXstrdup("db1");
    s->id.b[0] = (uint8_t)l->count;
    BasebackupInfo in = {0};
    snprintf(in.serverVersion, sizeof(in.serverVersion), "15");
    in.startLsn = stopLsn - 0x100;
    in.stopLsn = stopLsn;
    in.startTimeline = in.stopTimeline = 1;
    in.walSegmentSize = SEG;
    in.startNs = s->timeNs;
    in.stopNs = stopSec * INT64_C(1000000000);
    in.nextXidAtStop = nextXid;
    s->meta = basebackupInfoToJson(&in);
}

static void testChoose(void **state) {
    (void)state;
    SnapshotList l = {0};
    addBackup(&l, BASEBACKUP_DEFAULT_COMPONENT, 1000, 0x2000100, 700);
    addBackup(&l, "database", 1500, 0x2800100, 750); /* another component */
    addBackup(&l, BASEBACKUP_DEFAULT_COMPONENT, 2000, 0x3000100, 800);
    addBackup(&l, BASEBACKUP_DEFAULT_COMPONENT, 3000, 0x4000100, 900);
    SnapshotFilter f = {.component = BASEBACKUP_DEFAULT_COMPONENT};
    BasebackupInfo in;
    size_t at = 99;
    LbError err = {0};
    PitrTarget t = {.kind = PITR_TARGET_TIME, .timeNs = INT64_C(2500) * 1000000000};
    assert_true(pitrChoose(&l, &f, &t, &at, &in, &err));
    assert_int_equal(at, 2);
    t.timeNs = INT64_C(2000) * 1000000000; /* exactly the stop: usable */
    assert_true(pitrChoose(&l, &f, &t, &at, &in, &err));
    assert_int_equal(at, 2);
    t.timeNs = INT64_C(999) * 1000000000;
    assert_false(pitrChoose(&l, &f, &t, &at, &in, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "oldest of 3"));
    t = (PitrTarget){.kind = PITR_TARGET_LSN, .lsn = 0x3FFFFFF};
    assert_true(pitrChoose(&l, &f, &t, &at, &in, &err));
    assert_int_equal(at, 2);
    t = (PitrTarget){.kind = PITR_TARGET_XID, .xid = 899};
    assert_true(pitrChoose(&l, &f, &t, &at, &in, &err));
    assert_int_equal(at, 2);
    t = (PitrTarget){.kind = PITR_TARGET_LATEST};
    assert_true(pitrChoose(&l, &f, &t, &at, &in, &err));
    assert_int_equal(at, 3);
    t = (PitrTarget){.kind = PITR_TARGET_IMMEDIATE};
    assert_true(pitrChoose(&l, &f, &t, &at, &in, &err));
    assert_int_equal(at, 3);
    /* the other component's backup is chosen only under its own name */
    SnapshotFilter g = {.component = "database"};
    t = (PitrTarget){.kind = PITR_TARGET_LATEST};
    assert_true(pitrChoose(&l, &g, &t, &at, &in, &err));
    assert_int_equal(at, 1);
    SnapshotFilter none = {.component = "nothing"};
    assert_false(pitrChoose(&l, &none, &t, &at, &in, &err));
    assert_non_null(strstr(err.msg, "no physical PostgreSQL backup"));
    /* a given snapshot that ends after the target is refused */
    t = (PitrTarget){.kind = PITR_TARGET_TIME, .timeNs = INT64_C(2500) * 1000000000};
    assert_false(pitrCheckSnapshot(&l.items[3], &t, &in, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    assert_true(pitrCheckSnapshot(&l.items[0], &t, &in, &err));
    snapshotListFree(&l);
}

static void testQuoting(void **state) {
    (void)state;
    char *q = pitrConfQuote("a'b\\c");
    assert_string_equal(q, "'a''b\\\\c'");
    free(q);
    q = pitrShellQuote("it's");
    assert_string_equal(q, "'it'\\''s'");
    free(q);
    char *rc = pitrRestoreCommand("/usr/bin/lifeboat", "/srv/my repo", "/etc/pw", NULL);
    assert_string_equal(rc, "LIFEBOAT_REPOSITORY='/srv/my repo' LIFEBOAT_PASSWORD_FILE='/etc/pw' "
                            "'/usr/bin/lifeboat' wal-fetch %f \"%p\"");
    free(rc);
    rc = pitrRestoreCommand("/lb", "s3:bucket/x", NULL, "pass show lb");
    assert_string_equal(rc, "LIFEBOAT_REPOSITORY='s3:bucket/x' LIFEBOAT_PASSWORD_COMMAND='pass show lb' '/lb' "
                            "wal-fetch %f \"%p\"");
    free(rc);
    PitrAction a;
    assert_true(pitrActionParse("pause", &a));
    assert_int_equal(a, PITR_ACTION_PAUSE);
    assert_false(pitrActionParse("resume", &a));
}

static void testWriteConfig(void **state) {
    (void)state;
    char *root = tempDir();
    char *label = lbXasprintf("%s/backup_label", root), *autoConf = lbXasprintf("%s/postgresql.auto.conf", root);
    FILE *f = fopen(autoConf, "w");
    assert_non_null(f);
    fputs("# Do not edit this file manually!\nwork_mem = '8MB'\nrestore_command = 'old'\n"
          "recovery_target_xid = '5'\n",
          f);
    fclose(f);
    PitrOwner owner = {0};
    LbError err = {0};
    PitrTarget t = {.kind = PITR_TARGET_TIME, .timeNs = INT64_C(1795000000123456789), .exclusive = true};
    const char *settings[] = {"archive_mode=off"};
    PitrConfig cfg = {.restoreCommand = "lb wal-fetch %f \"%p\"",
                      .target = &t,
                      .port = 5499,
                      .settings = settings,
                      .settingCount = 1,
                      .comment = "test"};
    assert_false(pitrWriteConfig(root, &cfg, &owner, &err)); /* no backup_label: not a base backup */
    touch(label);
    assert_true(pitrWriteConfig(root, &cfg, &owner, &err));
    f = fopen(autoConf, "r");
    assert_non_null(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "work_mem = '8MB'\n"));
    assert_non_null(strstr(text, "# (disabled by lifeboat restore) restore_command = 'old'"));
    assert_non_null(strstr(text, "# (disabled by lifeboat restore) recovery_target_xid = '5'"));
    assert_non_null(strstr(text, "restore_command = 'lb wal-fetch %f \"%p\"'\n"));
    assert_non_null(strstr(text, "recovery_target_time = '2026-11-18 "));
    assert_non_null(strstr(text, ".123456+00'\n"));
    assert_non_null(strstr(text, "recovery_target_inclusive = 'off'\n"));
    assert_non_null(strstr(text, "recovery_target_action = 'promote'\n"));
    assert_non_null(strstr(text, "port = '5499'\n"));
    assert_non_null(strstr(text, "archive_mode = 'off'\n"));
    char *sig = lbXasprintf("%s/recovery.signal", root);
    assert_int_equal(access(sig, F_OK), 0);
    free(sig);
    free(label);
    free(autoConf);
    rmTree(root);
    free(root);
}

/* ---- pg-check verdicts ---- */

static void baseReport(ArchcheckReport *r) {
    memset(r, 0, sizeof(*r));
    r->serverVersion = lbXstrdup("15");
    r->archiveMode = lbXstrdup("on");
    r->archiveCommand = lbXstrdup("LIFEBOAT_PASSWORD_FILE=/pw lifeboat wal-push %p");
    r->archiveLibrary = lbXstrdup("");
    r->lastArchivedWal = lbXstrdup("000000010000000000000005");
    r->lastFailedWal = lbXstrdup("");
    r->currentWal = lbXstrdup("000000010000000000000006");
    r->archivedCount = 5;
    r->nowNs = INT64_C(1795000000000000000);
    r->lastArchivedNs = r->nowNs - INT64_C(10000000000);
    r->readyCount = 0;
}

static bool hasReason(const ArchcheckReport *r, const char *text) {
    for (size_t i = 0; i < r->reasonCount; i++)
        if (strstr(r->reasons[i], text))
            return true;
    return false;
}

static void testVerdicts(void **state) {
    (void)state;
    ArchcheckLimits l = {ARCHCHECK_DEFAULT_MAX_AGE, ARCHCHECK_DEFAULT_MAX_READY, ARCHCHECK_DEFAULT_MAX_LAG_BYTES,
                         ARCHCHECK_DEFAULT_MAX_LAG_SECONDS};
    ArchcheckReport r;

    baseReport(&r);
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_OK);
    assert_int_equal(r.reasonCount, 0);
    json_t *j = archcheckToJson(&r);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "OK");
    json_decref(j);
    archcheckReportClear(&r);

    baseReport(&r);
    free(r.archiveMode);
    r.archiveMode = lbXstrdup("off");
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_FAILING);
    assert_true(hasReason(&r, "archive_mode is 'off'"));
    archcheckReportClear(&r);

    baseReport(&r);
    free(r.archiveCommand);
    r.archiveCommand = lbXstrdup("");
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_FAILING);
    archcheckReportClear(&r);

    /* the last attempt failed */
    baseReport(&r);
    r.failedCount = 3;
    free(r.lastFailedWal);
    r.lastFailedWal = lbXstrdup("000000010000000000000006");
    r.lastFailedNs = r.nowNs - INT64_C(1000000000);
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_FAILING);
    assert_true(hasReason(&r, "last attempt to archive 000000010000000000000006 failed"));
    archcheckReportClear(&r);

    /* failures, but archiving worked since */
    baseReport(&r);
    r.failedCount = 3;
    free(r.lastFailedWal);
    r.lastFailedWal = lbXstrdup("000000010000000000000004");
    r.lastFailedNs = r.lastArchivedNs - INT64_C(1000000000);
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_WARNING);
    assert_true(hasReason(&r, "worked since"));
    archcheckReportClear(&r);

    /* not lifeboat; nothing archived yet */
    baseReport(&r);
    free(r.archiveCommand);
    r.archiveCommand = lbXstrdup("cp %p /mnt/%f");
    r.archivedCount = 0;
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_WARNING);
    assert_int_equal(r.reasonCount, 2);
    archcheckReportClear(&r);

    /* stuck: files wait, nothing archived for longer than max-age */
    baseReport(&r);
    r.readyCount = 3;
    r.lastArchivedNs = r.nowNs - INT64_C(7200) * 1000000000;
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_FAILING);
    archcheckReportClear(&r);
    /* idle: nothing waits, an old last archive is fine */
    baseReport(&r);
    r.lastArchivedNs = r.nowNs - INT64_C(7200) * 1000000000;
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_OK);
    archcheckReportClear(&r);
    /* a backlog */
    baseReport(&r);
    r.readyCount = 40;
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_WARNING);
    archcheckReportClear(&r);

    /* the repository misses the last archived file */
    baseReport(&r);
    r.repoChecked = true;
    r.repoHasLast = false;
    r.repoLocation = lbXstrdup("/srv/repo");
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_FAILING);
    assert_true(hasReason(&r, "not in the repository"));
    archcheckReportClear(&r);

    /* standbys: lagging, not streaming */
    baseReport(&r);
    r.standbys = lbXcalloc(2, sizeof(ArchcheckStandby));
    r.standbyCount = 2;
    r.standbys[0] = (ArchcheckStandby){lbXstrdup("s1"),
                                       lbXstrdup("10.0.0.2"),
                                       lbXstrdup("streaming"),
                                       lbXstrdup("async"),
                                       true,
                                       INT64_C(1) << 30,
                                       false,
                                       0};
    r.standbys[1] = (ArchcheckStandby){
        lbXstrdup("s2"), lbXstrdup("10.0.0.3"), lbXstrdup("catchup"), lbXstrdup("async"), false, 0, false, 0};
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_WARNING);
    assert_true(hasReason(&r, "replays 1073741824 bytes behind"));
    assert_true(hasReason(&r, "not streaming"));
    j = archcheckToJson(&r);
    assert_int_equal(json_array_size(json_object_get(j, "standbys")), 2);
    json_decref(j);
    archcheckReportClear(&r);
}

/* replication slots: wal-stream's and others */
static void addSlot(ArchcheckReport *r, const char *name, bool active, int64_t lag, const char *walStatus) {
    r->slots = lbXrealloc(r->slots, (r->slotCount + 1) * sizeof(ArchcheckSlot));
    r->slots[r->slotCount++] = (ArchcheckSlot){
        lbXstrdup(name), lbXstrdup("physical"), lbXstrdup("0/5000000"), lbXstrdup(walStatus), active, true, lag};
}

static void testSlotVerdicts(void **state) {
    (void)state;
    ArchcheckLimits l = {ARCHCHECK_DEFAULT_MAX_AGE, ARCHCHECK_DEFAULT_MAX_READY, ARCHCHECK_DEFAULT_MAX_LAG_BYTES,
                         ARCHCHECK_DEFAULT_MAX_LAG_SECONDS, "lifeboat"};
    ArchcheckReport r;
    /* streaming, little lag: OK */
    baseReport(&r);
    r.maxSlotWalKeepMb = 51200;
    addSlot(&r, "lifeboat", true, 4096, "reserved");
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_OK);
    json_t *j = archcheckToJson(&r);
    assert_int_equal(json_array_size(json_object_get(j, "replication_slots")), 1);
    json_decref(j);
    archcheckReportClear(&r);
    /* the stream is down: FAILING */
    baseReport(&r);
    r.maxSlotWalKeepMb = 51200;
    addSlot(&r, "lifeboat", false, 4096, "reserved");
    archcheckJudge(&r, &l);
    assert_int_equal(r.verdict, ARCHCHECK_FAILING);
    assert_true(hasReason(&r, "'lifeboat' is inactive"));
    archcheckReportClear(&r);
    /* lagging: WARNING; another slot inactive and large: WARNING */
    baseReport(&r);
    r.maxSlotWalKeepMb = 51200;
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
        cmocka_unit_test(testNames),     cmocka_unit_test(testLsn),          cmocka_unit_test(testSegmentCheck),
        cmocka_unit_test(testPushFetch), cmocka_unit_test(testDamage),       cmocka_unit_test(testLongHeader),
        cmocka_unit_test(testSpool),     cmocka_unit_test(testPushAll),      cmocka_unit_test(testLabelManifest),
        cmocka_unit_test(testChoose),    cmocka_unit_test(testQuoting),      cmocka_unit_test(testWriteConfig),
        cmocka_unit_test(testVerdicts),  cmocka_unit_test(testSlotVerdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
