/*
 * check.h - repository verification.
 *
 * Structure: every index file loads, every pack the index names exists,
 * every snapshot loads, every tree of every snapshot loads and every blob it
 * references is indexed. An unreadable index or snapshot file is one error
 * naming it; every other one is still loaded and checked (the index is
 * reloaded from storage with RepoLoadOptions.skipDamaged). With readData, every pack (or a random
 * subset of them) is downloaded, its SHA-256 compared with its name, its
 * header compared with the index, and every blob decrypted, decompressed and
 * checked against its ID; damaged blobs are traced to the files using them.
 */
#ifndef LIFEBOAT_MAINT_CHECK_H
#define LIFEBOAT_MAINT_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "repo/repo.h"

typedef struct CheckOptions {
    bool readData;
    double subsetPercent; /* 0 < x <= 100 when readData; 100 = all */
    void (*progress)(void *ctx, uint64_t packsDone, uint64_t packsTotal, uint64_t bytesDone);
    void *progressCtx;
} CheckOptions;

typedef struct CheckResult {
    char **errors; /* one line per problem (owned) */
    size_t errorCount;
    char **notes; /* harmless findings, e.g. unreferenced packs (owned) */
    size_t noteCount;
    uint64_t packs, packsRead, blobs, snapshots, trees, bytesRead;
} CheckResult;

/* Returns false only when the check itself could not run (err); problems
 * found in the repository are listed in result->errors. */
bool checkRun(Repo *repo, const CheckOptions *opts, CheckResult *result, LbError *err);
void checkResultClear(CheckResult *result);

/* The result as the JSON object `check --json` prints ("ok", counters,
 * "errors" and "notes" arrays); new reference. */
json_t *checkResultJson(const CheckResult *result);

#endif
