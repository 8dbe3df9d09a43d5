/*
 * test_walretain.c - unit tests for the pure WAL retention plan
 * (src/pg/walretain.c, walRetainPlan and walRetainNeedsHeader): which files
 * under wal/ go, given the kept base backups (system identifier, start
 * timeline and segment, start time) and the files' names and archive times.
 *
 * Segments are 16 MiB; segment k of timeline t is named
 * %08X00000000%08X (t, k). Archive times are small numbers of "ns" so the
 * tables read easily: segment k is archived at k * 100 unless a case says
 * otherwise.
 *
 * walRetainRun on a repository in memory: WAL objects stored with chosen
 * push times, a kept and a forgotten base backup; --dry-run removes nothing,
 * the run removes exactly what the plan says (a .backup file with its
 * segment, an object that is no WAL name never), a second run nothing.
 *
 * Also: the configuration key components.NAME.retention.keep_wal_within is
 * passed to forget like the other keep_* keys (and parses there as
 * seconds), and a bad value is named with its file position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/file.h"
#include "config/parse.h"
#include "crypto/crypto.h"
#include "pg/basebackup.h"
#include "pg/walretain.h"
#include "repo/lock.h"
#include "storage/mem/mem.h"
#include "storage/storage.h"

#define SEG (16u * 1024 * 1024)
#define SYS_A UINT64_C(7000000000000000001)
#define SYS_B UINT64_C(7000000000000000002)
#define NO_WINDOW INT64_MAX

typedef struct Files {
    WalRetainFile f[64];
    char names[64][WAL_NAME_MAX];
    size_t n;
} Files;

/* Add a file by name, archived at pushed (0: header not read), of cluster sys (0: none in its header). */
static WalRetainFile *add(Files *fs, const char *name, int64_t pushed, uint64_t sys) {
    WalRetainFile *f = &fs->f[fs->n];
    snprintf(fs->names[fs->n], WAL_NAME_MAX, "%s", name);
    *f = (WalRetainFile){.name = fs->names[fs->n], .size = 1000, .haveHeader = pushed != 0, .pushedNs = pushed};
    assert_true(walNameParse(name, &f->parsed));
    f->hasSystemId = sys != 0 && f->parsed.kind != WAL_FILE_HISTORY && f->parsed.kind != WAL_FILE_BACKUP;
    f->systemId = f->hasSystemId ? sys : 0;
    fs->n++;
    return f;
}

static void addSeg(Files *fs, uint32_t tli, uint32_t seg, int64_t pushed, uint64_t sys) {
    char name[WAL_NAME_MAX];
    snprintf(name, sizeof(name), "%08X00000000%08X", tli, seg);
    add(fs, name, pushed, sys);
}

static WalRetainVerdict verdictOf(const Files *fs, const char *name) {
    for (size_t i = 0; i < fs->n; i++)
        if (strcmp(fs->f[i].name, name) == 0)
            return fs->f[i].verdict;
    fail_msg("no file %s", name);
    return WAL_RETAIN_KEEP_NO_BACKUP;
}

static size_t deleted(const Files *fs) {
    size_t n = 0;
    for (size_t i = 0; i < fs->n; i++)
        n += fs->f[i].verdict == WAL_RETAIN_DELETE;
    return n;
}

static WalRetainBackup backup(uint64_t sys, uint32_t tli, uint32_t startSeg, int64_t startNs) {
    return (WalRetainBackup){sys, tli, (uint64_t)startSeg * SEG + 0x28, SEG, startNs};
}

/* Segments 1..12 of timeline 1 archived at k*100; kept backups start in
 * segments 5 (at 450) and 10 (at 950). */
static WalRetainPlanInput oneTimeline(Files *fs, WalRetainBackup *b) {
    memset(fs, 0, sizeof(*fs));
    for (uint32_t k = 1; k <= 12; k++)
        addSeg(fs, 1, k, k * 100, SYS_A);
    b[0] = backup(SYS_A, 1, 5, 450);
    b[1] = backup(SYS_A, 1, 10, 950);
    return (WalRetainPlanInput){b, 2, NULL, 0, NO_WINDOW};
}

static void testNoBackupKeepsAll(void **state) {
    (void)state;
    Files fs;
    WalRetainBackup b[2];
    WalRetainPlanInput in = oneTimeline(&fs, b);
    in.backupCount = 0;
    walRetainPlan(&in, fs.f, fs.n);
    for (size_t i = 0; i < fs.n; i++) {
        assert_int_equal(fs.f[i].verdict, WAL_RETAIN_KEEP_NO_BACKUP);
        assert_false(walRetainNeedsHeader(&in, &fs.f[i].parsed));
    }
}

static void testBeforeOldestBackup(void **state) {
    (void)state;
    Files fs;
    WalRetainBackup b[2];
    WalRetainPlanInput in = oneTimeline(&fs, b);
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(deleted(&fs), 4);
    for (uint32_t k = 1; k <= 12; k++) {
        char name[32];
        snprintf(name, sizeof(name), "00000001%08X%08X", 0, k);
        assert_int_equal(verdictOf(&fs, name), k < 5 ? WAL_RETAIN_DELETE : WAL_RETAIN_KEEP_NEEDED);
        assert_int_equal(walRetainNeedsHeader(&in, &fs.f[k - 1].parsed), k < 5);
    }
    /* the order of the backups does not matter */
    WalRetainBackup swapped[2] = {b[1], b[0]};
    in.backups = swapped;
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(deleted(&fs), 4);
    /* only the newer backup kept: everything before segment 10 archived before 950 */
    in.backups = &b[1];
    in.backupCount = 1;
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(deleted(&fs), 9);
    assert_int_equal(verdictOf(&fs, "00000001000000000000000A"), WAL_RETAIN_KEEP_NEEDED);
}

static void testWindow(void **state) {
    (void)state;
    Files fs;
    WalRetainBackup b[2];
    WalRetainPlanInput in = oneTimeline(&fs, b);
    in.windowStartNs = 300; /* archived at or after 300 is in the window */
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(verdictOf(&fs, "000000010000000000000001"), WAL_RETAIN_DELETE);
    assert_int_equal(verdictOf(&fs, "000000010000000000000002"), WAL_RETAIN_DELETE);
    assert_int_equal(verdictOf(&fs, "000000010000000000000003"), WAL_RETAIN_KEEP_WINDOW);
    assert_int_equal(verdictOf(&fs, "000000010000000000000004"), WAL_RETAIN_KEEP_WINDOW);
    assert_int_equal(verdictOf(&fs, "000000010000000000000005"), WAL_RETAIN_KEEP_NEEDED);
    assert_int_equal(deleted(&fs), 2);
    /* a window reaching back past everything keeps everything */
    in.windowStartNs = 0;
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(deleted(&fs), 0);
}

static void testRecentAndUnknownTimes(void **state) {
    (void)state;
    Files fs;
    WalRetainBackup b[2];
    WalRetainPlanInput in = oneTimeline(&fs, b);
    fs.f[2].pushedNs = 460;     /* segment 3 archived late, after the oldest kept backup started at 450 */
    fs.f[1].haveHeader = false; /* segment 2: header not read (gone meanwhile) */
    fs.f[1].pushedNs = 0;
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(verdictOf(&fs, "000000010000000000000003"), WAL_RETAIN_KEEP_RECENT);
    assert_int_equal(verdictOf(&fs, "000000010000000000000002"), WAL_RETAIN_KEEP_RECENT);
    assert_int_equal(deleted(&fs), 2);
}

static void testBackupAndPartialFollow(void **state) {
    (void)state;
    Files fs;
    WalRetainBackup b[2];
    WalRetainPlanInput in = oneTimeline(&fs, b);
    add(&fs, "000000010000000000000002.00000028.backup", 250, 0);
    add(&fs, "000000010000000000000005.00000028.backup", 560, 0);
    add(&fs, "00000001000000000000000D.00000060.backup", 150, 0); /* its segment is not stored: judged as it */
    add(&fs, "000000010000000000000003.partial", 310, SYS_A);
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(verdictOf(&fs, "000000010000000000000002.00000028.backup"), WAL_RETAIN_DELETE);
    assert_int_equal(verdictOf(&fs, "000000010000000000000005.00000028.backup"), WAL_RETAIN_KEEP_NEEDED);
    assert_int_equal(verdictOf(&fs, "00000001000000000000000D.00000060.backup"), WAL_RETAIN_KEEP_NEEDED);
    assert_int_equal(verdictOf(&fs, "000000010000000000000003.partial"), WAL_RETAIN_DELETE);
    /* a .backup file follows its segment even where its own time would keep it */
    fs.f[12].pushedNs = 900;
    in.windowStartNs = 240; /* segment 2 (200) goes, its .backup (at 900) follows it */
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(verdictOf(&fs, "000000010000000000000002"), WAL_RETAIN_DELETE);
    assert_int_equal(verdictOf(&fs, "000000010000000000000002.00000028.backup"), WAL_RETAIN_DELETE);
}

/* Timeline 1 to segment 8, a promotion there: timeline 2 from segment 8. */
static void twoTimelines(Files *fs) {
    memset(fs, 0, sizeof(*fs));
    for (uint32_t k = 1; k <= 7; k++)
        addSeg(fs, 1, k, k * 100, SYS_A);
    add(fs, "000000010000000000000008.partial", 800, SYS_A);
    add(fs, "00000002.history", 805, 0);
    for (uint32_t k = 8; k <= 12; k++)
        addSeg(fs, 2, k, k * 100 + 10, SYS_A);
    add(fs, "00000003.history", 50, 0); /* an abandoned branch nothing is on */
}

static void testTimelines(void **state) {
    (void)state;
    Files fs;
    twoTimelines(&fs);
    /* a backup on timeline 1 (segment 5) recovers across onto timeline 2 */
    WalRetainBackup b1 = backup(SYS_A, 1, 5, 450);
    WalRetainPlanInput in = {&b1, 1, NULL, 0, NO_WINDOW};
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(verdictOf(&fs, "000000010000000000000004"), WAL_RETAIN_DELETE);
    assert_int_equal(verdictOf(&fs, "000000010000000000000008.partial"), WAL_RETAIN_KEEP_NEEDED);
    assert_int_equal(verdictOf(&fs, "000000020000000000000008"), WAL_RETAIN_KEEP_NEEDED);
    assert_int_equal(verdictOf(&fs, "00000002.history"), WAL_RETAIN_KEEP_NEEDED);
    assert_int_equal(verdictOf(&fs, "00000003.history"), WAL_RETAIN_DELETE);
    assert_int_equal(deleted(&fs), 5);
    /* only a backup on timeline 2 (segment 10, at 1005): timeline 1 is not its
     * history beyond the switch, and before its start nothing is needed */
    WalRetainBackup b2 = backup(SYS_A, 2, 10, 1005);
    in.backups = &b2;
    walRetainPlan(&in, fs.f, fs.n);
    for (uint32_t k = 1; k <= 7; k++) {
        char name[32];
        snprintf(name, sizeof(name), "00000001%08X%08X", 0, k);
        assert_int_equal(verdictOf(&fs, name), WAL_RETAIN_DELETE);
    }
    assert_int_equal(verdictOf(&fs, "000000010000000000000008.partial"), WAL_RETAIN_DELETE);
    assert_int_equal(verdictOf(&fs, "000000020000000000000009"), WAL_RETAIN_DELETE);
    assert_int_equal(verdictOf(&fs, "00000002000000000000000A"), WAL_RETAIN_KEEP_NEEDED);
    assert_int_equal(verdictOf(&fs, "00000002.history"), WAL_RETAIN_KEEP_NEEDED);
    assert_false(walRetainNeedsHeader(&in, &fs.f[8].parsed)); /* 00000002.history */
    /* a history file is kept while a kept segment is on its timeline or later */
    Files only;
    memset(&only, 0, sizeof(only));
    add(&only, "00000002.history", 100, 0);
    addSeg(&only, 2, 3, 200, SYS_A);
    addSeg(&only, 3, 9, 300, SYS_A);
    WalRetainBackup b0 = backup(SYS_A, 1, 2, 1000); /* timeline 1, before both */
    in.backups = &b0;
    walRetainPlan(&in, only.f, only.n);
    assert_int_equal(verdictOf(&only, "000000020000000000000003"), WAL_RETAIN_KEEP_NEEDED);
    assert_int_equal(verdictOf(&only, "00000002.history"), WAL_RETAIN_KEEP_NEEDED);
}

static void testClusters(void **state) {
    (void)state;
    Files fs;
    memset(&fs, 0, sizeof(fs));
    for (uint32_t k = 1; k <= 6; k++)
        addSeg(&fs, 1, k, k * 100, SYS_A);
    for (uint32_t k = 1; k <= 6; k++)
        addSeg(&fs, 5, k, k * 100, SYS_B); /* another cluster, own names */
    add(&fs, "00000001.history", 10, 0);
    /* only cluster A has a kept backup: B's WAL stays */
    WalRetainBackup b[2] = {backup(SYS_A, 1, 4, 350), backup(SYS_B, 5, 2, 150)};
    WalRetainPlanInput in = {b, 1, NULL, 0, NO_WINDOW};
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(deleted(&fs), 3);
    assert_int_equal(verdictOf(&fs, "000000050000000000000001"), WAL_RETAIN_KEEP_NO_BACKUP);
    assert_true(walRetainNeedsHeader(&in, &fs.f[6].parsed)); /* by name it could be A's */
    /* both kept; the run may touch only A: B's files and the shared history stay */
    uint64_t onlyA = SYS_A;
    in.backupCount = 2;
    in.systemIds = &onlyA;
    in.systemIdCount = 1;
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(deleted(&fs), 3);
    assert_int_equal(verdictOf(&fs, "000000050000000000000001"), WAL_RETAIN_KEEP_NO_BACKUP);
    assert_int_equal(verdictOf(&fs, "00000001.history"), WAL_RETAIN_KEEP_NO_BACKUP);
    /* every cluster: B's segment 1 goes too */
    in.systemIdCount = 0;
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(verdictOf(&fs, "000000050000000000000001"), WAL_RETAIN_DELETE);
    assert_int_equal(deleted(&fs), 4);
    /* a kept backup whose metadata has no system identifier protects every cluster's WAL */
    WalRetainBackup unknown[2] = {backup(SYS_A, 1, 4, 350), backup(0, 1, 1, 50)};
    in.backups = unknown;
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(deleted(&fs), 0);
}

/* walRetainBackups: kept physical snapshots only; one whose metadata cannot
 * be read protects every file */
static void testBackupsFromSnapshots(void **state) {
    (void)state;
    BasebackupInfo info = {.systemId = SYS_A,
                           .walSegmentSize = SEG,
                           .startTimeline = 1,
                           .stopTimeline = 1,
                           .startLsn = 5 * (uint64_t)SEG + 0x28,
                           .stopLsn = 6 * (uint64_t)SEG,
                           .startNs = 450,
                           .stopNs = 500};
    Snapshot items[4];
    memset(items, 0, sizeof(items));
    items[0].meta = basebackupInfoToJson(&info);
    items[1].meta = json_pack("{s:s}", "kind", "pg-dump");
    items[2].meta = basebackupInfoToJson(&info); /* forgotten below */
    items[3].meta = NULL;
    SnapshotList list = {items, 4};
    bool kept[4] = {true, true, false, true};
    size_t n;
    WalRetainBackup *b = walRetainBackups(&list, kept, &n);
    assert_int_equal(n, 1);
    assert_true(b[0].systemId == SYS_A && b[0].timeline == 1 && b[0].startLsn == info.startLsn && b[0].startNs == 450);
    free(b);
    json_decref(items[2].meta);
    items[2].meta = json_pack("{s:s}", "kind", BASEBACKUP_META_KIND); /* unreadable */
    kept[2] = true;
    b = walRetainBackups(&list, kept, &n);
    assert_int_equal(n, 2);
    Files fs;
    WalRetainBackup ignored[2];
    oneTimeline(&fs, ignored);
    WalRetainPlanInput in = {b, n, NULL, 0, NO_WINDOW};
    walRetainPlan(&in, fs.f, fs.n);
    assert_int_equal(deleted(&fs), 0);
    free(b);
    for (int i = 0; i < 4; i++)
        json_decref(items[i].meta);
}

/* Store wal/NAME as wal-push would, pushed at seconds (seconds since the epoch). */
static void storeWal(Repo *repo, const char *name, int64_t seconds, uint64_t sys) {
    WalHeader h = {.size = 3, .timeNs = seconds * INT64_C(1000000000), .hasSystemId = sys != 0, .systemId = sys};
    snprintf(h.name, sizeof(h.name), "%s", name);
    cryptoSha256((const uint8_t *)"abc", 3, &h.sha256);
    LbBuf stored = {0};
    LbError err = {0};
    char obj[80];
    snprintf(obj, sizeof(obj), "wal/%s", name);
    assert_true(walEncode(repo, &h, (const uint8_t *)"abc", 3, &stored, &err));
    assert_true(storagePut(repoStorage(repo), obj, stored.data, stored.len, &err));
    lbBufFree(&stored);
}

static bool stored(Repo *repo, const char *name) {
    StorageInfo info;
    LbError err = {0};
    assert_true(storageStat(repoStorage(repo), name, &info, &err));
    return info.exists;
}

static void testRun(void **state) {
    (void)state;
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    Repo *repo = repoInit(storageMemNew(), "pw", &opts, &err);
    assert_non_null(repo);
    for (uint32_t k = 1; k <= 8; k++) {
        char name[32];
        snprintf(name, sizeof(name), "00000001%08X%08X", 0, k);
        storeWal(repo, name, 1000000 + k * 100, SYS_A);
    }
    storeWal(repo, "000000010000000000000002.00000028.backup", 1000210, 0);
    storeWal(repo, "00000002.history", 1000050, 0); /* nothing is on timeline 2: it may go */
    assert_true(storagePut(repoStorage(repo), "wal/not-a-wal-name", (const uint8_t *)"x", 1, &err));
    /* kept: a backup starting in segment 5 at 1000450; forgotten: one in segment 2 */
    BasebackupInfo info = {.systemId = SYS_A,
                           .walSegmentSize = SEG,
                           .startTimeline = 1,
                           .stopTimeline = 1,
                           .startLsn = 5 * (uint64_t)SEG + 0x28,
                           .stopLsn = 6 * (uint64_t)SEG,
                           .startNs = INT64_C(1000450) * 1000000000,
                           .stopNs = INT64_C(1000460) * 1000000000};
    Snapshot items[2];
    memset(items, 0, sizeof(items));
    items[1].meta = basebackupInfoToJson(&info);
    info.startLsn = 2 * (uint64_t)SEG;
    items[0].meta = basebackupInfoToJson(&info);
    SnapshotList list = {items, 2};
    bool kept[2] = {false, true};
    WalRetainOptions o = {.windowSeconds = 550, .dryRun = true}; /* newest at 1000800: window from 1000250 */
    WalRetainResult r;
    assert_false(walRetainRun(repo, NULL, &list, kept, &o, &r, &err)); /* no lock, no run */
    walRetainResultClear(&r);
    RepoLock *lock = repoLockAcquire(repo, true, &err);
    assert_non_null(lock);
    assert_true(walRetainRun(repo, lock, &list, kept, &o, &r, &err));
    const char *const expect[] = {"000000010000000000000001", "000000010000000000000002",
                                  "000000010000000000000002.00000028.backup", "00000002.history"};
    assert_int_equal(r.deletedCount, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(r.deleted[i], expect[i]);
    assert_int_equal(r.filesListed, 10);
    assert_int_equal(r.filesDeleted, 4);
    assert_int_equal(r.segments, 2);
    assert_int_equal(r.backupFiles, 1);
    assert_int_equal(r.histories, 1);
    assert_int_equal(r.keptWindow, 2);
    assert_int_equal(r.backupsKept, 1);
    assert_true(r.windowStartNs == INT64_C(1000250) * 1000000000);
    assert_true(stored(repo, "wal/000000010000000000000001")); /* dry run */
    walRetainResultClear(&r);
    o.dryRun = false;
    assert_true(walRetainRun(repo, lock, &list, kept, &o, &r, &err));
    assert_int_equal(r.filesDeleted, 4);
    for (size_t i = 0; i < 4; i++) {
        char obj[80];
        snprintf(obj, sizeof(obj), "wal/%s", expect[i]);
        assert_false(stored(repo, obj));
    }
    assert_true(stored(repo, "wal/000000010000000000000003"));
    assert_true(stored(repo, "wal/000000010000000000000005"));
    assert_true(stored(repo, "wal/not-a-wal-name"));
    walRetainResultClear(&r);
    assert_true(walRetainRun(repo, lock, &list, kept, &o, &r, &err));
    assert_int_equal(r.filesDeleted, 0);
    walRetainResultClear(&r);
    /* no window: segments 3 and 4 go; no backup kept: nothing goes */
    kept[1] = false;
    o.windowSeconds = 0;
    assert_true(walRetainRun(repo, lock, &list, kept, &o, &r, &err));
    assert_int_equal(r.filesDeleted, 0);
    assert_int_equal(r.backupsKept, 0);
    walRetainResultClear(&r);
    kept[1] = true;
    assert_true(walRetainRun(repo, lock, &list, kept, &o, &r, &err));
    assert_int_equal(r.filesDeleted, 2);
    assert_false(stored(repo, "wal/000000010000000000000004"));
    walRetainResultClear(&r);
    repoLockRelease(lock);
    json_decref(items[0].meta);
    json_decref(items[1].meta);
    repoFree(repo);
}

static void writeText(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#define CONFIG_HEAD                                                                                                    \
    "repositories:\n  main:\n    url: /tmp/lifeboat-test-repo\n    password_command: echo pw\n"                        \
    "components:\n  db:\n    type: postgres-physical\n    connection: dbname=app\n    retention:\n"

static void testConfigKey(void **state) {
    (void)state;
    char dir[] = "/tmp/test_walretain.XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    writeText(path, CONFIG_HEAD "      keep_last: 3\n      keep_wal_within: 36h\n");
    char *messages = NULL;
    LbError err = {0};
    CfgFile *f = cfgFileLoad(path, &messages, &err);
    if (f == NULL)
        fail_msg("%s\n%s", err.msg, messages ? messages : "");
    const CfgComponent *c = cfgFileComponent(f, "db");
    assert_int_equal(c->retentionArgs.n, 2);
    assert_string_equal(c->retentionArgs.v[1], "--keep-wal-within=36h");
    char *argv[] = {"lifeboat", "-r", "/tmp/x", "forget", c->retentionArgs.v[0], c->retentionArgs.v[1]};
    CfgValues *cfg = cfgParse(6, argv, &err);
    assert_non_null(cfg);
    assert_true(cfgIsSet(cfg, cfgOptKeepWalWithin));
    assert_int_equal(cfgInt(cfg, cfgOptKeepWalWithin), 36 * 3600);
    cfgValuesFree(cfg);
    cfgFileFree(f);
    free(messages);
    messages = NULL;
    writeText(path, CONFIG_HEAD "      keep_last: 3\n      keep_wal_within: 1y\n");
    assert_null(cfgFileLoad(path, &messages, &err));
    assert_non_null(messages);
    assert_non_null(strstr(messages, ":11:24: components.db.retention.keep_wal_within: '1y' is not a duration"));
    free(messages);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testNoBackupKeepsAll),
        cmocka_unit_test(testBeforeOldestBackup),
        cmocka_unit_test(testWindow),
        cmocka_unit_test(testRecentAndUnknownTimes),
        cmocka_unit_test(testBackupAndPartialFollow),
        cmocka_unit_test(testTimelines),
        cmocka_unit_test(testClusters),
        cmocka_unit_test(testConfigKey),
        cmocka_unit_test(testBackupsFromSnapshots),
        cmocka_unit_test(testRun),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
