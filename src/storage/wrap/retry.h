/*
 * retry.h - a Storage that retries another Storage's transient failures.
 *
 * Drivers never retry (style rule 10: retry wraps a Storage from outside).
 * This wrapper repeats an operation that failed with LB_ERR_TRANSIENT (5xx,
 * 429, SlowDown, RequestTimeout, connection resets and timeouts, as the
 * driver classified them), waiting with exponential back-off and jitter
 * between attempts, up to a bounded number of attempts. Each retry is logged
 * once, as a warning naming the operation, the object and the error. Every
 * other failure (not found, bad name, refused credentials, corrupt range,
 * ...) is returned at once, unchanged.
 *
 * Every operation of the interface is safe to repeat: put overwrites, remove
 * of a missing object succeeds, get restores out->len before trying again.
 * A list that fails part-way is restarted, and names already passed to the
 * callback are not passed again (the wrapper remembers a 64-bit hash of each
 * name delivered during that list call).
 */
#ifndef LIFEBOAT_STORAGE_WRAP_RETRY_H
#define LIFEBOAT_STORAGE_WRAP_RETRY_H

#include <stdbool.h>

#include "storage/options.h"
#include "storage/storage.h"

/* A test's replacement for sleeping between attempts. */
typedef void (*RetrySleepFn)(void *ctx, unsigned ms);

/* opts with the defaults filled in: a 0 field (every field when opts is
 * NULL) becomes 6 attempts, 250 ms, 10000 ms. */
StorageRetryOptions retryOptionsResolve(const StorageRetryOptions *opts);

/* Wrap inner, taking ownership of it (freed with the wrapper). opts may be
 * NULL (defaults) and is copied. The wrapper reports inner's driver name and
 * location. */
Storage *storageRetryNew(Storage *inner, const StorageRetryOptions *opts);

/* Tests: storageRetryNew, with sleepFn(sleepCtx, ms) called instead of
 * sleeping. */
Storage *storageRetryNewSleep(Storage *inner, const StorageRetryOptions *opts, RetrySleepFn sleepFn, void *sleepCtx);

/* True when err is worth another attempt. */
bool retryIsTransient(const LbError *err);

/* The wait before retry number attempt (1 for the first retry), in ms:
 * half the capped exponential delay plus a random share of the other half
 * ("equal jitter"). rnd is a uniformly random 64-bit number; opts as
 * retryOptionsResolve returns them. */
unsigned retryDelayMs(const StorageRetryOptions *opts, int attempt, uint64_t rnd);

#endif
