/*
 * fuzz.h - what the fuzz targets share: a repository with fixed keys on the
 * in-memory storage, sealing under those keys, and splitting an input.
 *
 * Every target defines LLVMFuzzerTestOneInput. Built with -Dfuzz=true it is
 * linked with libFuzzer (-fsanitize=fuzzer); in every build it is also
 * linked with replay.c into test_fuzz_<name>, which feeds each file of
 * tests/fuzz/corpus/<name>/ and tests/fuzz/crashes/<name>/ to it once.
 *
 * The keys are fixed (SHA-256 of a label), so seeds that hold sealed objects
 * (tests/fuzz/gen_seeds.c writes them) open in every run. A target that
 * decodes a sealed object usually takes the plaintext from the fuzzer and
 * seals it itself: the fuzzer cannot forge AES-GCM, so bytes it invents are
 * only ever seen by the decoder through this.
 *
 * Ownership: fuzzRepo's repository lives for the whole process.
 */
#ifndef LIFEBOAT_TESTS_FUZZ_FUZZ_H
#define LIFEBOAT_TESTS_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "repo/repo.h"
#include "storage/storage.h"

#define FUZZ_PASSWORD "fuzz"
/* scrypt N of the fixture's key file: cheap, so repoOpen costs microseconds */
#define FUZZ_KDF_N 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed data, metadata and ID keys of every fixture repository. */
const RepoKeys *fuzzKeys(void);

/* Append seal(key, plain) to out; aborts on failure (it cannot fail). */
void fuzzSeal(const uint8_t key[32], const uint8_t *plain, size_t len, LbBuf *out);

/* The fixture's key file (JSON, opened by FUZZ_PASSWORD) into out. */
void fuzzKeyFile(LbBuf *out);
/* The fixture's config plaintext (JSON) into out. */
void fuzzConfigJson(LbBuf *out);
/* The stored form of an unpacked object: seal(metaKey, 0x00 || plain). */
void fuzzSealUnpacked(const uint8_t *plain, size_t len, LbBuf *out);

/* Write the fixture's key file ("keys/<sha256>") and, when withConfig, its
 * config into storage. Aborts on failure. */
void fuzzWriteRepo(Storage *storage, bool withConfig);

/* A repository opened on a fresh in-memory storage holding the fixture
 * (borrowed: it lives until the process ends). */
Repo *fuzzRepo(void);

/* A NUL-terminated copy of data (the caller frees it). */
char *fuzzCString(const uint8_t *data, size_t len);

/* Split data at its first max-1 NUL bytes into at most max parts (the last
 * part keeps any further NULs); returns the number of parts. */
size_t fuzzSplit(const uint8_t *data, size_t len, const uint8_t **parts, size_t *lens, size_t max);

#endif
