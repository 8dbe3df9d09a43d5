/*
 * test_snapshot.c - unit tests for src/snapshot/snapshot (snapshot records,
 * listing and lookup) through a repository on the in-memory storage.
 *
 * Every test gets a fresh repository (repoInit on storageMemNew with a cheap
 * scrypt cost, kdfN = 1024) from the group setup function.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/snapshot.h"
#include "storage/mem/mem.h"

/***********************************************************************************************************************
 * Fixtures and helpers
 **********************************************************************************************************************/

static int setupRepo(void **state) {
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    Repo *repo = repoInit(storageMemNew(), "test password", &opts, &err);
    if (repo == NULL) {
        print_error("repoInit: %s\n", err.msg);
        return -1;
    }
    *state = repo;
    return 0;
}

static int teardownRepo(void **state) {
    repoFree(*state);
    return 0;
}

static LbId idFrom(uint8_t v) {
    LbId id;
    for (int i = 0; i < LB_ID_LEN; i++)
        id.b[i] = (uint8_t)(v ^ (i * 13));
    return id;
}

/* A snapshot with every field set. Caller clears it. */
static void fullSnapshot(Snapshot *s) {
    memset(s, 0, sizeof(*s));
    s->timeNs = 1763906700123456789ll; /* 2025-11-23T14:05:00.123456789Z */
    s->tree = idFrom(1);
    snapshotAddString(&s->paths, &s->pathCount, "/etc");
    snapshotAddString(&s->paths, &s->pathCount, "/home/user/caf\xc3\xa9");
    s->hostname = lbXstrdup("db-host-1");
    s->username = lbXstrdup("postgres");
    s->uid = 26;
    s->gid = 4000000000u;
    snapshotAddString(&s->tags, &s->tagCount, "nightly");
    snapshotAddString(&s->tags, &s->tagCount, "pg");
    s->component = lbXstrdup("postgres/main");
    s->recoveryPoint = lbXstrdup("0/3000158");
    s->hasParent = true;
    s->parent = idFrom(2);
    s->hasOriginal = true;
    s->original = idFrom(3);
    snapshotAddString(&s->excludes, &s->excludeCount, "*.tmp");
    s->chunkProfile = REPO_CHUNK_DUMP;
    s->summary = (SnapshotSummary){
        .filesNew = 1,
        .filesChanged = 2,
        .filesUnmodified = 3,
        .filesUnreadable = 4,
        .dirsNew = 5,
        .dirsChanged = 6,
        .dirsUnmodified = 7,
        .blobsNew = 8,
        .dataAdded = 9000000000ull,
        .dataAddedStored = 10,
        .totalFiles = 11,
        .totalBytes = 1ull << 40,
        .startNs = 1763906690000000001ll,
        .endNs = 1763906700999999999ll,
    };
    json_error_t jerr;
    s->meta =
        json_loads("{\"lsn\":\"0/3000158\",\"timeline\":1,\"dbs\":[\"a\",\"b\"],\"nested\":{\"x\":null}}", 0, &jerr);
    assert_non_null(s->meta);
}

static void assertStrings(char **a, size_t na, char **b, size_t nb) {
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(a[i], b[i]);
}

static void assertSnapshotEqual(const Snapshot *a, const Snapshot *b) {
    assert_memory_equal(a->id.b, b->id.b, LB_ID_LEN);
    assert_true(a->timeNs == b->timeNs);
    assert_memory_equal(a->tree.b, b->tree.b, LB_ID_LEN);
    assertStrings(a->paths, a->pathCount, b->paths, b->pathCount);
    assert_string_equal(a->hostname, b->hostname);
    assert_string_equal(a->username, b->username);
    assert_int_equal(a->uid, b->uid);
    assert_int_equal(a->gid, b->gid);
    assertStrings(a->tags, a->tagCount, b->tags, b->tagCount);
    if (a->component == NULL || b->component == NULL)
        assert_ptr_equal(a->component, b->component);
    else
        assert_string_equal(a->component, b->component);
    if (a->recoveryPoint == NULL || b->recoveryPoint == NULL)
        assert_ptr_equal(a->recoveryPoint, b->recoveryPoint);
    else
        assert_string_equal(a->recoveryPoint, b->recoveryPoint);
    assert_int_equal(a->hasParent, b->hasParent);
    if (a->hasParent)
        assert_memory_equal(a->parent.b, b->parent.b, LB_ID_LEN);
    assert_int_equal(a->hasOriginal, b->hasOriginal);
    if (a->hasOriginal)
        assert_memory_equal(a->original.b, b->original.b, LB_ID_LEN);
    assertStrings(a->excludes, a->excludeCount, b->excludes, b->excludeCount);
    assert_int_equal(a->chunkProfile, b->chunkProfile);
    assert_memory_equal(&a->summary, &b->summary, sizeof(SnapshotSummary));
    if (a->meta == NULL || b->meta == NULL)
        assert_ptr_equal(a->meta, b->meta);
    else
        assert_true(json_equal(a->meta, b->meta));
}

/* Save a small snapshot with the given time, host, component and tag. */
static LbId saveSimple(Repo *repo, int64_t timeNs, const char *host, const char *component, const char *tag,
                       const char *path) {
    Snapshot s = {0};
    s.timeNs = timeNs;
    s.tree = idFrom((uint8_t)timeNs);
    s.hostname = lbXstrdup(host);
    s.username = lbXstrdup("u");
    if (component)
        s.component = lbXstrdup(component);
    if (tag)
        snapshotAddString(&s.tags, &s.tagCount, tag);
    snapshotAddString(&s.paths, &s.pathCount, path);
    LbError err = {0};
    assert_true(snapshotSave(repo, &s, &err));
    LbId id = s.id;
    snapshotClear(&s);
    return id;
}

#define SEC 1000000000ll
#define T0 (1700000000 * SEC)

/***********************************************************************************************************************
 * Save and load
 **********************************************************************************************************************/

/* Every field survives save + load; the ID is the object's name. */
static void testSaveLoadAllFields(void **state) {
    Repo *repo = *state;
    Snapshot s;
    fullSnapshot(&s);
    LbError err = {0};
    assert_true(lbIdIsZero(&s.id));
    assert_true(snapshotSave(repo, &s, &err));
    assert_false(lbIdIsZero(&s.id));

    char hex[LB_ID_HEX_LEN + 1], name[80];
    lbIdToHex(&s.id, hex);
    snprintf(name, sizeof(name), "snapshots/%s", hex);
    StorageInfo info;
    assert_true(storageStat(repoStorage(repo), name, &info, &err));
    assert_true(info.exists);

    Snapshot back;
    assert_true(snapshotLoad(repo, &s.id, &back, &err));
    assertSnapshotEqual(&s, &back);
    snapshotClear(&back);
    assert_null(back.paths);
    assert_null(back.meta);
    snapshotClear(&s);
}

/* Optional fields left unset stay unset; hostname/username come back as "". */
static void testSaveLoadMinimal(void **state) {
    Repo *repo = *state;
    Snapshot s = {0};
    s.timeNs = -5 * SEC + 1; /* before 1970 */
    s.tree = idFrom(7);
    LbError err = {0};
    assert_true(snapshotSave(repo, &s, &err));
    Snapshot back;
    assert_true(snapshotLoad(repo, &s.id, &back, &err));
    assert_true(back.timeNs == s.timeNs);
    assert_memory_equal(back.tree.b, s.tree.b, LB_ID_LEN);
    assert_int_equal(back.pathCount, 0);
    assert_int_equal(back.tagCount, 0);
    assert_int_equal(back.excludeCount, 0);
    assert_null(back.component);
    assert_null(back.recoveryPoint);
    assert_false(back.hasParent);
    assert_false(back.hasOriginal);
    assert_int_equal(back.chunkProfile, REPO_CHUNK_FILES);
    assert_null(back.meta);
    assert_string_equal(back.hostname, "");
    assert_string_equal(back.username, "");
    snapshotClear(&back);
    snapshotClear(&s);
}

/* snapshotToJson carries the ID (and an 8-character short ID) only when asked. */
static void testToJson(void **state) {
    (void)state;
    Snapshot s;
    fullSnapshot(&s);
    s.id = idFrom(0x5a);
    json_t *with = snapshotToJson(&s, true);
    json_t *without = snapshotToJson(&s, false);
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&s.id, hex);
    assert_string_equal(json_string_value(json_object_get(with, "id")), hex);
    assert_int_equal(strlen(json_string_value(json_object_get(with, "short_id"))), 8);
    assert_memory_equal(json_string_value(json_object_get(with, "short_id")), hex, 8);
    assert_null(json_object_get(without, "id"));
    assert_string_equal(json_string_value(json_object_get(without, "time")), "2025-11-23T14:05:00.123456789Z");
    assert_string_equal(json_string_value(json_object_get(without, "component")), "postgres/main");
    assert_true(json_equal(json_object_get(without, "meta"), s.meta));
    json_decref(with);
    json_decref(without);
    snapshotClear(&s);
}

/* A missing snapshot is NOT_FOUND; stored objects that are not snapshots
 * (invalid JSON, no time, no tree) are CORRUPT and name the snapshot. */
static void testLoadErrors(void **state) {
    Repo *repo = *state;
    LbError err = {0};
    Snapshot s;
    LbId missing = idFrom(0x77);
    assert_false(snapshotLoad(repo, &missing, &s, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);

    static const char *const bad[] = {
        "not json",
        "{\"tree\":\""
        "0000000000000000000000000000000000000000000000000000000000000000"
        "\"}",
        "{\"time\":\"2026-01-01T00:00:00Z\"}",
        "{\"time\":\"yesterday\",\"tree\":\""
        "0000000000000000000000000000000000000000000000000000000000000000"
        "\"}",
        "{\"time\":\"2026-01-01T00:00:00Z\",\"tree\":\"abcd\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        LbId id;
        assert_true(repoSaveUnpacked(repo, "snapshots", (const uint8_t *)bad[i], strlen(bad[i]), &id, &err));
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&id, hex);
        lbErrorClear(&err);
        memset(&s, 0xa5, sizeof(s));
        assert_false(snapshotLoad(repo, &id, &s, &err));
        assert_int_equal(err.code, LB_ERR_CORRUPT);
        char shortId[9];
        memcpy(shortId, hex, 8);
        shortId[8] = '\0';
        assert_non_null(strstr(err.msg, shortId));
        /* nothing left allocated in s (a clear on it is safe) */
        assert_null(s.paths);
        assert_null(s.hostname);
        snapshotClear(&s);
    }

    /* one unreadable snapshot fails the whole listing */
    SnapshotList list;
    assert_false(snapshotLoadAll(repo, &list, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
}

/* A snapshot chunked with a profile this lifeboat does not know is refused
 * (LB_ERR_FORMAT: written by a newer version), never read with the wrong
 * chunker; "files" is the default and may be written out. */
static void testChunkProfile(void **state) {
    Repo *repo = *state;
    static const char head[] = "{\"time\":\"2026-01-01T00:00:00Z\",\"tree\":\""
                               "0000000000000000000000000000000000000000000000000000000000000000\",";
    char text[512];
    LbId id;
    LbError err = {0};
    Snapshot s;
    snprintf(text, sizeof(text), "%s\"chunker\":\"rows\"}", head);
    assert_true(repoSaveUnpacked(repo, "snapshots", (const uint8_t *)text, strlen(text), &id, &err));
    assert_false(snapshotLoad(repo, &id, &s, &err));
    assert_int_equal(err.code, LB_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "'rows'"));
    lbErrorClear(&err);
    snprintf(text, sizeof(text), "%s\"chunker\":\"files\"}", head);
    assert_true(repoSaveUnpacked(repo, "snapshots", (const uint8_t *)text, strlen(text), &id, &err));
    assert_true(snapshotLoad(repo, &id, &s, &err));
    assert_int_equal(s.chunkProfile, REPO_CHUNK_FILES);
    snapshotClear(&s);
    snprintf(text, sizeof(text), "%s\"chunker\":\"dump\"}", head);
    assert_true(repoSaveUnpacked(repo, "snapshots", (const uint8_t *)text, strlen(text), &id, &err));
    assert_true(snapshotLoad(repo, &id, &s, &err));
    assert_int_equal(s.chunkProfile, REPO_CHUNK_DUMP);
    json_t *j = snapshotToJson(&s, false);
    assert_string_equal(json_string_value(json_object_get(j, "chunker")), "dump");
    json_decref(j);
    s.chunkProfile = REPO_CHUNK_FILES; /* the default is not written */
    j = snapshotToJson(&s, false);
    assert_null(json_object_get(j, "chunker"));
    json_decref(j);
    snapshotClear(&s);
}

/* A stored snapshot whose bytes were altered is refused. */
static void testLoadTampered(void **state) {
    Repo *repo = *state;
    LbId id = saveSimple(repo, T0, "h", NULL, NULL, "/p");
    char hex[LB_ID_HEX_LEN + 1], name[80];
    lbIdToHex(&id, hex);
    snprintf(name, sizeof(name), "snapshots/%s", hex);
    LbBuf stored = {0};
    LbError err = {0};
    assert_true(storageGet(repoStorage(repo), name, 0, 0, &stored, &err));
    stored.data[stored.len / 2] ^= 0x10;
    assert_true(storagePut(repoStorage(repo), name, stored.data, stored.len, &err));
    lbBufFree(&stored);
    Snapshot s;
    assert_false(snapshotLoad(repo, &id, &s, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
}

/***********************************************************************************************************************
 * Listing and lookup
 **********************************************************************************************************************/

/* snapshotLoadAll returns every snapshot, oldest first, whatever the order
 * they were saved in (and their IDs' order). */
static void testLoadAllSorted(void **state) {
    Repo *repo = *state;
    SnapshotList list;
    LbError err = {0};
    assert_true(snapshotLoadAll(repo, &list, &err));
    assert_int_equal(list.count, 0);
    snapshotListFree(&list);

    static const int order[] = {5, 1, 9, 3, 7, 0, 8, 2, 6, 4};
    LbId ids[10];
    for (int i = 0; i < 10; i++)
        ids[order[i]] = saveSimple(repo, T0 + order[i] * SEC - 500000000, "h", NULL, NULL, "/p");
    assert_true(snapshotLoadAll(repo, &list, &err));
    assert_int_equal(list.count, 10);
    for (size_t i = 0; i < list.count; i++) {
        assert_true(list.items[i].timeNs == T0 + (int64_t)i * SEC - 500000000);
        assert_memory_equal(list.items[i].id.b, ids[i].b, LB_ID_LEN);
    }
    snapshotListFree(&list);
    assert_null(list.items);
    assert_int_equal(list.count, 0);
}

/* "latest" is the newest snapshot that matches every filter given. */
static void testFindLatestFilters(void **state) {
    Repo *repo = *state;
    LbError err = {0};
    Snapshot s;
    assert_false(snapshotFind(repo, "latest", NULL, &s, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);

    LbId a1 = saveSimple(repo, T0 + 1 * SEC, "alpha", "pg", "daily", "/data");
    LbId b1 = saveSimple(repo, T0 + 2 * SEC, "beta", "files", "daily", "/srv");
    LbId a2 = saveSimple(repo, T0 + 3 * SEC, "alpha", "files", "weekly", "/srv");
    LbId b2 = saveSimple(repo, T0 + 4 * SEC, "beta", "pg", NULL, "/data");
    LbId a0 = saveSimple(repo, T0 + 0 * SEC, "alpha", NULL, "daily", "/data");

    struct {
        SnapshotFilter filter;
        const LbId *want; /* NULL = no match */
    } cases[] = {
        {{0}, &b2},
        {{.host = "alpha"}, &a2},
        {{.host = "beta"}, &b2},
        {{.host = "gamma"}, NULL},
        {{.component = "pg"}, &b2},
        {{.component = "files"}, &a2},
        {{.component = "pg", .host = "alpha"}, &a1},
        {{.component = "none"}, NULL},
        {{.tags = (const char *const[]){"daily"}, .tagCount = 1}, &b1},
        {{.tags = (const char *const[]){"daily"}, .tagCount = 1, .host = "alpha"}, &a1},
        {{.tags = (const char *const[]){"weekly"}, .tagCount = 1}, &a2},
        {{.tags = (const char *const[]){"daily", "weekly"}, .tagCount = 2}, NULL},
        {{.paths = (const char *const[]){"/data"}, .pathCount = 1}, &b2},
        {{.paths = (const char *const[]){"/srv"}, .pathCount = 1}, &a2},
        {{.paths = (const char *const[]){"/data"}, .pathCount = 1, .host = "alpha"}, &a1},
        {{.paths = (const char *const[]){"/data", "/srv"}, .pathCount = 2}, NULL},
        {{.paths = (const char *const[]){"/dat"}, .pathCount = 1}, NULL},
    };
    (void)a0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lbErrorClear(&err);
        bool ok = snapshotFind(repo, "latest", &cases[i].filter, &s, &err);
        if (cases[i].want == NULL) {
            assert_false(ok);
            assert_int_equal(err.code, LB_ERR_NOT_FOUND);
            assert_non_null(strstr(err.msg, "latest"));
            continue;
        }
        if (!ok)
            print_error("case %zu: %s\n", i, err.msg);
        assert_true(ok);
        assert_memory_equal(s.id.b, cases[i].want->b, LB_ID_LEN);
        snapshotClear(&s);
    }
    /* no filter at all */
    assert_true(snapshotFind(repo, "latest", NULL, &s, &err));
    assert_memory_equal(s.id.b, b2.b, LB_ID_LEN);
    assert_string_equal(s.hostname, "beta");
    snapshotClear(&s);
}

/* snapshotMatches on its own: NULL filter and an empty filter match all;
 * a host or component filter never matches a snapshot without one. */
static void testMatches(void **state) {
    (void)state;
    Snapshot s = {0};
    assert_true(snapshotMatches(&s, NULL));
    SnapshotFilter empty = {0};
    assert_true(snapshotMatches(&s, &empty));
    SnapshotFilter host = {.host = "h"};
    assert_false(snapshotMatches(&s, &host));
    SnapshotFilter comp = {.component = "c"};
    assert_false(snapshotMatches(&s, &comp));
    const char *const tags[] = {"t"};
    SnapshotFilter tag = {.tags = tags, .tagCount = 1};
    assert_false(snapshotMatches(&s, &tag));
    snapshotAddString(&s.tags, &s.tagCount, "x");
    snapshotAddString(&s.tags, &s.tagCount, "t");
    assert_true(snapshotMatches(&s, &tag));
    s.hostname = lbXstrdup("h");
    assert_true(snapshotMatches(&s, &host));
    snapshotClear(&s);
}

/* Tag groups (--tag a,b --tag c): every tag of one group, any group; an
 * empty group selects untagged snapshots; empty items are ignored. */
static void testMatchesTagGroups(void **state) {
    (void)state;
    Snapshot s = {0};
    const char *const ab[] = {"a,b"}, *const ac[] = {"a,c"}, *const acOrB[] = {"a,c", "b"}, *const untagged[] = {""};
    const char *const loose[] = {",a,,b,"}, *const prefix[] = {"a,bb"};
    SnapshotFilter f = {.tagGroups = untagged, .tagGroupCount = 1};
    assert_true(snapshotMatches(&s, &f));
    snapshotAddString(&s.tags, &s.tagCount, "a");
    snapshotAddString(&s.tags, &s.tagCount, "b");
    assert_false(snapshotMatches(&s, &f));
    f.tagGroups = ab;
    assert_true(snapshotMatches(&s, &f));
    f.tagGroups = ac;
    assert_false(snapshotMatches(&s, &f));
    f.tagGroups = prefix; /* "b" is not "bb" */
    assert_false(snapshotMatches(&s, &f));
    f.tagGroups = loose;
    assert_true(snapshotMatches(&s, &f));
    f.tagGroups = acOrB;
    f.tagGroupCount = 2;
    assert_true(snapshotMatches(&s, &f));
    snapshotClear(&s);
}

/* An ID prefix finds the one snapshot it names; a prefix shared by two is
 * LB_ERR_ARGS; a prefix of none (and the empty prefix) is NOT_FOUND. */
static void testFindByPrefix(void **state) {
    Repo *repo = *state;
    enum { N = 17 }; /* 17 IDs: two must share their first hex digit */
    LbId ids[N];
    char hex[N][LB_ID_HEX_LEN + 1];
    for (int i = 0; i < N; i++) {
        ids[i] = saveSimple(repo, T0 + i * SEC, "h", NULL, NULL, "/p");
        lbIdToHex(&ids[i], hex[i]);
    }
    LbError err = {0};
    Snapshot s;

    /* full ID and an 8-digit prefix of each */
    for (int i = 0; i < N; i++) {
        assert_true(snapshotFind(repo, hex[i], NULL, &s, &err));
        assert_memory_equal(s.id.b, ids[i].b, LB_ID_LEN);
        assert_true(s.timeNs == T0 + i * SEC);
        snapshotClear(&s);
        char prefix[9];
        memcpy(prefix, hex[i], 8);
        prefix[8] = '\0';
        assert_true(snapshotFind(repo, prefix, NULL, &s, &err));
        assert_memory_equal(s.id.b, ids[i].b, LB_ID_LEN);
        snapshotClear(&s);
    }

    /* the longest common prefix of two IDs is ambiguous; one more digit is not */
    int x = -1, y = -1;
    size_t common = 0;
    for (int i = 0; i < N; i++)
        for (int k = i + 1; k < N; k++) {
            size_t c = 0;
            while (hex[i][c] == hex[k][c])
                c++;
            if (c > common) {
                common = c;
                x = i;
                y = k;
            }
        }
    assert_true(common >= 1);
    char amb[LB_ID_HEX_LEN + 1];
    memcpy(amb, hex[x], common);
    amb[common] = '\0';
    lbErrorClear(&err);
    assert_false(snapshotFind(repo, amb, NULL, &s, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    assert_non_null(strstr(err.msg, amb));
    memcpy(amb, hex[y], common + 1);
    amb[common + 1] = '\0';
    assert_true(snapshotFind(repo, amb, NULL, &s, &err));
    assert_memory_equal(s.id.b, ids[y].b, LB_ID_LEN);
    snapshotClear(&s);

    /* a prefix of none: flip the last digit of a full ID */
    char none[LB_ID_HEX_LEN + 1];
    memcpy(none, hex[0], sizeof(none));
    none[63] = none[63] == '0' ? '1' : '0';
    lbErrorClear(&err);
    assert_false(snapshotFind(repo, none, NULL, &s, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    lbErrorClear(&err);
    assert_false(snapshotFind(repo, "", NULL, &s, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
    lbErrorClear(&err);
    assert_false(snapshotFind(repo, "not-hex", NULL, &s, &err));
    assert_int_equal(err.code, LB_ERR_NOT_FOUND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(testSaveLoadAllFields, setupRepo, teardownRepo),
        cmocka_unit_test_setup_teardown(testSaveLoadMinimal, setupRepo, teardownRepo),
        cmocka_unit_test(testToJson),
        cmocka_unit_test_setup_teardown(testLoadErrors, setupRepo, teardownRepo),
        cmocka_unit_test_setup_teardown(testLoadTampered, setupRepo, teardownRepo),
        cmocka_unit_test_setup_teardown(testChunkProfile, setupRepo, teardownRepo),
        cmocka_unit_test_setup_teardown(testLoadAllSorted, setupRepo, teardownRepo),
        cmocka_unit_test_setup_teardown(testFindLatestFilters, setupRepo, teardownRepo),
        cmocka_unit_test(testMatches),
        cmocka_unit_test(testMatchesTagGroups),
        cmocka_unit_test_setup_teardown(testFindByPrefix, setupRepo, teardownRepo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
