/*
 * fault.h - a fault-injecting Storage wrapper. TEST ONLY.
 *
 * The harness's storage hooks (tests/harness/storage/hooks.h) put it between
 * the retry wrapper and the S3 driver when LIFEBOAT_TEST_FAULTS is set, e.g. LIFEBOAT_TEST_FAULTS="every=5": every
 * 5th operation (counted over all threads) then fails in one of the ways a
 * network and a busy server fail, in turn:
 *   1. refused before it reaches the driver: "HTTP 503 SlowDown";
 *   2. cut: the operation runs (a put is stored, a remove done), then the
 *      answer is "lost": a get's bytes are dropped as if the connection
 *      closed mid-body, a list stops after half of its names;
 *   3. refused before it reaches the driver: "HTTP 500 InternalError";
 *   4. delayed by delay_ms (default 300), then run normally.
 * Failures 1-3 are LB_ERR_TRANSIENT, so the retry wrapper must get every
 * operation through and nothing may be lost. Options, comma-separated:
 * every=N (N >= 2), delay_ms=N, first=N (skip the first N operations, so a
 * test can let init through). When freed, it logs one warning line with
 * the number of faults injected. It never belongs in production.
 */
#ifndef LIFEBOAT_HARNESS_STORAGE_WRAP_FAULT_H
#define LIFEBOAT_HARNESS_STORAGE_WRAP_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/storage.h"

typedef struct FaultOptions {
    unsigned every;   /* inject into every Nth operation (0: never) */
    unsigned delayMs; /* the delay fault's length */
    unsigned first;   /* operations let through before counting starts */
} FaultOptions;

/* Parse a LIFEBOAT_TEST_FAULTS value. Fails with LB_ERR_ARGS. */
bool faultOptionsParse(const char *spec, FaultOptions *opts, LbError *err);

/* Wrap inner, taking ownership of it. The wrapper reports inner's driver
 * name and location. */
Storage *storageFaultNew(Storage *inner, const FaultOptions *opts);

#endif
