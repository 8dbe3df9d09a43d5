/*
 * test_membudget.c - the memory budget (common/membudget.h) and how the
 * saver plans its threads from it (saverPlan, repo/saver.h): a container of
 * 256 MiB (budget 128 MiB) gets 2 workers and 1 upload whatever the CPUs;
 * the default budget keeps one worker per CPU on a small machine; the least
 * budget still runs one of each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "common/membudget.h"
#include "repo/saver.h"

#define MIB (1024ull * 1024)

static void plan(uint64_t budget, int cpus, int wantUploads, int *workers, int *uploads) {
    *workers = 0;
    *uploads = wantUploads;
    saverPlan(budget, cpus, workers, uploads);
}

static void testPlan(void **state) {
    (void)state;
    int w, u;
    plan(128 * MIB, 32, 1, &w, &u); /* 256 MiB container, local repository */
    assert_int_equal(w, 2);
    assert_int_equal(u, 1);
    plan(128 * MIB, 32, 3, &w, &u); /* ... S3: uploads shrink first */
    assert_int_equal(w, 2);
    assert_int_equal(u, 1);
    plan(MEMBUDGET_DEFAULT, 2, 3, &w, &u); /* this machine: unchanged */
    assert_int_equal(w, 2);
    assert_int_equal(u, 3);
    plan(MEMBUDGET_DEFAULT, 64, 1, &w, &u); /* 64 CPUs in 1 GiB: bounded */
    assert_true(w >= 8 && w < 64);
    assert_true(32 * MIB + (uint64_t)(w + u + 1) * 20 * MIB <= MEMBUDGET_DEFAULT);
    plan(MEMBUDGET_MIN, 8, 3, &w, &u); /* the least: one of each */
    assert_int_equal(w, 1);
    assert_int_equal(u, 1);
    w = 5; /* an explicit worker count stays */
    u = 1;
    saverPlan(128 * MIB, 32, &w, &u);
    assert_int_equal(w, 5);
}

static void testBudgetFromEnv(void **state) {
    (void)state;
    setenv("LIFEBOAT_MAX_MEMORY", "300M", 1);
    assert_int_equal(lbMemoryBudget(), 300 * MIB);
    setenv("LIFEBOAT_MAX_MEMORY", "1k", 1); /* below the least: the least */
    assert_int_equal(lbMemoryBudget(), MEMBUDGET_MIN);
    unsetenv("LIFEBOAT_MAX_MEMORY");
    uint64_t limit = lbCgroupMemoryLimit();
    assert_int_equal(lbMemoryBudget(),
                     limit ? (limit / 2 < MEMBUDGET_MIN ? MEMBUDGET_MIN : limit / 2) : MEMBUDGET_DEFAULT);
    assert_true(lbMemoryBudgetValid("64M"));
    assert_false(lbMemoryBudgetValid("63M"));
    assert_false(lbMemoryBudgetValid("lots"));
    setenv("LIFEBOAT_CPUS", "32", 1);
    assert_int_equal(lbCpuCount(), 32);
    setenv("LIFEBOAT_CPUS", "0", 1); /* not a count: the online CPUs */
    assert_true(lbCpuCount() >= 1);
    unsetenv("LIFEBOAT_CPUS");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testPlan),
        cmocka_unit_test(testBudgetFromEnv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
