/*
 * hooks.h - the test harness's storage hooks (tests only).
 *
 * harnessStorageInstall registers, through storageTestHooksSet, the "mem:"
 * scheme (storageMemNew: each open is a new, empty store) and, when
 * LIFEBOAT_TEST_FAULTS is set, the fault injector (storage/wrap/fault.h)
 * between every S3 driver and its retry wrapper. LIFEBOAT_TEST_FAULTS is
 * read at each open, so a malformed value fails that open with
 * LB_ERR_ARGS. The test binary build/tests/harness/lifeboat-test (src/main.c
 * plus the harness) installs them before main through a constructor in
 * hooks.c; unit tests that link hooks.c get the same.
 */
#ifndef LIFEBOAT_HARNESS_STORAGE_HOOKS_H
#define LIFEBOAT_HARNESS_STORAGE_HOOKS_H

void harnessStorageInstall(void);

#endif
