/*
 * test_forget.c - unit tests for src/maint/forget.c (forgetRun) on
 * repositories built in memory (fixture.h): grouping by host and component,
 * the policy applied per group, snapshots outside the filter untouched,
 * named snapshots forgotten exactly, dry runs removing nothing, the group
 * keys, and the refusals (no policy, no lock, unknown name).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#include "maint/forget.h"
#include "repo/lock.h"
#include "snapshot/snapshot.h"

#define T0 1700000000000000000ll
#define HOUR 3600000000000ll

/* Five backups: h1/db at T0, T0+1h, T0+2h; h2/db at T0+3h; h1/files at T0+4h. */
typedef struct Five {
    Repo *repo;
    RepoLock *lock;
    FixBackup b[5];
} Five;

static Five *fiveNew(void) {
    Five *f = lbXcalloc(1, sizeof(*f));
    f->repo = fixRepoNew();
    static const char *const hosts[] = {"h1", "h1", "h1", "h2", "h1"};
    static const char *const comps[] = {"db", "db", "db", "db", "files"};
    static const char *const tags[] = {"b0", "b1", "b2", "b3", "b4"};
    for (int i = 0; i < 5; i++) {
        f->b[i] = (FixBackup){.tag = tags[i],
                              .files = {{"u", {80u + (uint64_t)i}, 1}},
                              .fileCount = 1,
                              .host = hosts[i],
                              .component = comps[i]};
        fixBackup(f->repo, &f->b[i], T0 + i * HOUR);
    }
    LbError err = {0};
    f->lock = repoLockAcquire(f->repo, true, &err);
    assert_non_null(f->lock);
    return f;
}

static void fiveFree(Five *f) {
    repoLockRelease(f->lock);
    repoFree(f->repo);
    free(f);
}

/* Which of the five snapshots are still in the repository, as "01234" with
 * '-' for a removed one. */
static void present(Five *f, char out[6]) {
    SnapshotList l = {0};
    LbError err = {0};
    assert_true(snapshotLoadAll(f->repo, &l, &err));
    for (int i = 0; i < 5; i++) {
        out[i] = '-';
        for (size_t k = 0; k < l.count; k++)
            if (lbIdEqual(&l.items[k].id, &f->b[i].snapshot))
                out[i] = (char)('0' + i);
    }
    out[5] = '\0';
    snapshotListFree(&l);
}

static void test_keep_last_per_host_and_component(void **state) {
    (void)state;
    Five *f = fiveNew();
    ForgetOptions o = {.policy = {.keepLast = 1}, .groupBy = FORGET_BY_HOST | FORGET_BY_COMPONENT};
    ForgetResult r;
    LbError err = {0};
    assert_true(forgetRun(f->repo, f->lock, &o, &r, &err));
    assert_int_equal(r.removed, 2);
    assert_true(r.byPolicy);
    assert_int_equal(r.groupCount, 3);
    /* sorted by key */
    assert_string_equal(r.groups[0].key, "host=h1 component=db");
    assert_string_equal(r.groups[1].key, "host=h1 component=files");
    assert_string_equal(r.groups[2].key, "host=h2 component=db");
    /* h1/db keeps its newest, removes the two before it, newest first */
    assert_int_equal(r.groups[0].keepCount, 1);
    assert_int_equal(r.groups[0].removeCount, 2);
    assert_true(lbIdEqual(&r.list.items[r.groups[0].keep[0]].id, &f->b[2].snapshot));
    assert_true(lbIdEqual(&r.list.items[r.groups[0].remove[0]].id, &f->b[1].snapshot));
    assert_true(lbIdEqual(&r.list.items[r.groups[0].remove[1]].id, &f->b[0].snapshot));
    assert_true(r.decisions[r.groups[0].keep[0]].reasons & RETENTION_KEEP_LAST);
    forgetResultClear(&r);
    char p[6];
    present(f, p);
    assert_string_equal(p, "--234");
    fiveFree(f);
}

static void test_one_group_and_dry_run(void **state) {
    (void)state;
    Five *f = fiveNew();
    ForgetOptions o = {.policy = {.keepLast = 2}, .dryRun = true};
    ForgetResult r;
    LbError err = {0};
    assert_true(forgetRun(f->repo, f->lock, &o, &r, &err));
    assert_int_equal(r.groupCount, 1);
    assert_string_equal(r.groups[0].key, "");
    assert_int_equal(r.removed, 3);
    forgetResultClear(&r);
    char p[6];
    present(f, p);
    assert_string_equal(p, "01234"); /* dry run: nothing removed */
    o.dryRun = false;
    assert_true(forgetRun(f->repo, f->lock, &o, &r, &err));
    forgetResultClear(&r);
    present(f, p);
    assert_string_equal(p, "---34");
    fiveFree(f);
}

static void test_filter_leaves_the_rest(void **state) {
    (void)state;
    Five *f = fiveNew();
    ForgetOptions o = {.policy = {.keepLast = 1}, .filter = {.host = "h1", .component = "db"}};
    ForgetResult r;
    LbError err = {0};
    assert_true(forgetRun(f->repo, f->lock, &o, &r, &err));
    assert_int_equal(r.groupCount, 1);
    assert_int_equal(r.groups[0].keepCount + r.groups[0].removeCount, 3); /* only the selected ones */
    forgetResultClear(&r);
    char p[6];
    present(f, p);
    assert_string_equal(p, "--234");
    fiveFree(f);
}

static void test_named_snapshots(void **state) {
    (void)state;
    Five *f = fiveNew();
    char hex1[65], hex3[65];
    fixHex(&f->b[1].snapshot, hex1);
    fixHex(&f->b[3].snapshot, hex3);
    hex1[10] = '\0'; /* a prefix names it too */
    const char *names[] = {hex1, hex3};
    ForgetOptions o = {.names = names, .nameCount = 2};
    ForgetResult r;
    LbError err = {0};
    assert_true(forgetRun(f->repo, f->lock, &o, &r, &err));
    assert_false(r.byPolicy);
    assert_int_equal(r.removed, 2);
    assert_int_equal(r.groupCount, 1);
    assert_int_equal(r.groups[0].keepCount, 3);
    forgetResultClear(&r);
    char p[6];
    present(f, p);
    assert_string_equal(p, "0-2-4");
    /* a name that matches nothing fails and removes nothing */
    const char *missing[] = {"ffffffffffff"};
    o = (ForgetOptions){.names = missing, .nameCount = 1};
    assert_false(forgetRun(f->repo, f->lock, &o, &r, &err));
    forgetResultClear(&r);
    present(f, p);
    assert_string_equal(p, "0-2-4");
    fiveFree(f);
}

static void test_refusals(void **state) {
    (void)state;
    Five *f = fiveNew();
    ForgetOptions o = {0};
    ForgetResult r;
    LbError err = {0};
    assert_false(forgetRun(f->repo, f->lock, &o, &r, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    assert_non_null(strstr(err.msg, "no policy"));
    forgetResultClear(&r);
    o.policy.keepLast = 1;
    err = (LbError){0};
    assert_false(forgetRun(f->repo, NULL, &o, &r, &err));
    assert_int_equal(err.code, LB_ERR_ARGS);
    forgetResultClear(&r);
    char p[6];
    present(f, p);
    assert_string_equal(p, "01234");
    fiveFree(f);
}

static void test_group_key(void **state) {
    (void)state;
    Snapshot s = {0};
    s.hostname = lbXstrdup("h");
    snapshotAddString(&s.paths, &s.pathCount, "/a");
    snapshotAddString(&s.paths, &s.pathCount, "/b");
    snapshotAddString(&s.tags, &s.tagCount, "x");
    char *k = forgetGroupKey(FORGET_BY_HOST | FORGET_BY_COMPONENT | FORGET_BY_PATHS | FORGET_BY_TAGS, &s);
    assert_string_equal(k, "host=h component= paths=/a,/b tags=x");
    free(k);
    k = forgetGroupKey(0, &s);
    assert_string_equal(k, "");
    free(k);
    k = forgetGroupKey(FORGET_BY_TAGS, &s);
    assert_string_equal(k, "tags=x");
    free(k);
    snapshotClear(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_last_per_host_and_component),
        cmocka_unit_test(test_one_group_and_dry_run),
        cmocka_unit_test(test_filter_leaves_the_rest),
        cmocka_unit_test(test_named_snapshots),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_group_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
