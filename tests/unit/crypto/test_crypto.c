/*
 * test_crypto.c - unit tests for src/crypto: known-answer vectors for SHA-256,
 * HMAC-SHA-256, AES-256-GCM and scrypt; sealing round trips and tamper
 * refusal; the gear derivation pinned to its documented construction; and
 * two threads using the per-thread contexts at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/crypto.h"

/* Deterministic filler so failures reproduce (xorshift64*). */
static void fillPattern(uint8_t *p, size_t len, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        p[i] = (uint8_t)((x * 0x2545F4914F6CDD1Dull) >> 56);
    }
}

static void hexToBytes(const char *hex, uint8_t *out, size_t len) {
    assert_int_equal(strlen(hex), len * 2);
    assert_true(lbHexDecode(hex, len * 2, out));
}

static void assertIdHex(const LbId *id, const char *hex) {
    char got[LB_ID_HEX_LEN + 1];
    lbIdToHex(id, got);
    assert_string_equal(got, hex);
}

static const uint8_t keyA[CRYPTO_KEY_LEN] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                             17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t keyB[CRYPTO_KEY_LEN] = {0xff, 2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                             17,   18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t keyC[CRYPTO_KEY_LEN] = {0x33};

/* FIPS 180-2 appendix B.1 ("abc") and the well-known digest of "". */
static void testSha256KnownAnswers(void **state) {
    (void)state;
    LbId id;
    cryptoSha256((const uint8_t *)"abc", 3, &id);
    assertIdHex(&id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    cryptoSha256(NULL, 0, &id);
    assertIdHex(&id, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* The cached context must restart cleanly: same input, same answer. */
    cryptoSha256((const uint8_t *)"abc", 3, &id);
    assertIdHex(&id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* SHA-256 of a large buffer agrees with OpenSSL's one-shot EVP_Digest. */
static void testSha256MatchesOneShot(void **state) {
    (void)state;
    size_t len = 1 << 20;
    uint8_t *data = malloc(len);
    fillPattern(data, len, 7);
    LbId got, want;
    unsigned int wantLen = 0;
    assert_int_equal(EVP_Digest(data, len, want.b, &wantLen, EVP_sha256(), NULL), 1);
    cryptoSha256(data, len, &got);
    assert_true(lbIdEqual(&got, &want));
    free(data);
}

/*
 * RFC 4231 section 4, test cases 1, 2 and 4. Their keys are 20, 4 and 25
 * bytes; HMAC pads any key shorter than the 64-byte SHA-256 block with zero
 * bytes, so the key zero-padded to 32 bytes gives exactly the same MAC, and
 * the vectors test cryptoHmacId itself.
 */
static void testHmacRfc4231(void **state) {
    (void)state;
    uint8_t key[CRYPTO_KEY_LEN];
    LbId id;

    memset(key, 0, sizeof(key));
    memset(key, 0x0b, 20);
    cryptoHmacId(key, (const uint8_t *)"Hi There", 8, &id);
    assertIdHex(&id, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");

    memset(key, 0, sizeof(key));
    memcpy(key, "Jefe", 4);
    const char *msg2 = "what do ya want for nothing?";
    cryptoHmacId(key, (const uint8_t *)msg2, strlen(msg2), &id);
    assertIdHex(&id, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");

    memset(key, 0, sizeof(key));
    for (int i = 0; i < 25; i++)
        key[i] = (uint8_t)(i + 1);
    uint8_t msg4[50];
    memset(msg4, 0xcd, sizeof(msg4));
    cryptoHmacId(key, msg4, sizeof(msg4), &id);
    assertIdHex(&id, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");

    /* Case 1 again after the key changed: the cached context re-keys. */
    memset(key, 0, sizeof(key));
    memset(key, 0x0b, 20);
    cryptoHmacId(key, (const uint8_t *)"Hi There", 8, &id);
    assertIdHex(&id, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

/* cryptoHmacId equals OpenSSL's one-shot HMAC() with a full 32-byte key, for
 * several sizes, repeated calls (cached key) and alternating keys. */
static void testHmacMatchesOneShot(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 63, 64, 65, 4096, 1 << 20};
    size_t maxLen = 1 << 20;
    uint8_t *data = malloc(maxLen);
    fillPattern(data, maxLen, 11);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int round = 0; round < 2; round++) {
            const uint8_t *key = round == 0 ? keyA : keyB;
            uint8_t want[32];
            unsigned int wantLen = 0;
            assert_non_null(HMAC(EVP_sha256(), key, CRYPTO_KEY_LEN, data, sizes[i], want, &wantLen));
            assert_int_equal(wantLen, 32);
            LbId got;
            cryptoHmacId(key, data, sizes[i], &got);
            assert_memory_equal(got.b, want, 32);
            cryptoHmacId(key, data, sizes[i], &got);
            assert_memory_equal(got.b, want, 32);
        }
    }
    LbId a, b;
    cryptoHmacId(keyA, data, 100, &a);
    cryptoHmacId(keyB, data, 100, &b);
    assert_false(lbIdEqual(&a, &b));
    free(data);
}

/* Seal then open gives back the plaintext, for sizes around the AES block. */
static void testSealOpenRoundTrip(void **state) {
    (void)state;
    static const size_t sizes[] = {0, 1, 15, 16, 17, 4097, 1 << 20};
    LbError err = {0};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t len = sizes[i];
        uint8_t *plain = malloc(len ? len : 1);
        fillPattern(plain, len, len + 1);
        LbBuf sealed = {0}, opened = {0};
        assert_true(cryptoSeal(keyA, plain, len, &sealed, &err));
        assert_int_equal(sealed.len, len + CRYPTO_OVERHEAD);
        if (len >= 16) /* ciphertext is not the plaintext */
            assert_memory_not_equal(sealed.data + CRYPTO_NONCE_LEN, plain, 16);
        assert_true(cryptoOpen(keyA, sealed.data, sealed.len, &opened, &err));
        assert_int_equal(opened.len, len);
        if (len > 0)
            assert_memory_equal(opened.data, plain, len);
        lbBufFree(&sealed);
        lbBufFree(&opened);
        free(plain);
    }
}

/* cryptoSeal and cryptoOpen append after what out already holds. */
static void testSealOpenAppend(void **state) {
    (void)state;
    LbError err = {0};
    LbBuf sealed = {0}, opened = {0};
    lbBufAppend(&sealed, "head", 4);
    lbBufAppend(&opened, "prefix", 6);
    assert_true(cryptoSeal(keyA, (const uint8_t *)"hello world", 11, &sealed, &err));
    assert_int_equal(sealed.len, 4 + 11 + CRYPTO_OVERHEAD);
    assert_memory_equal(sealed.data, "head", 4);
    assert_true(cryptoOpen(keyA, sealed.data + 4, sealed.len - 4, &opened, &err));
    assert_int_equal(opened.len, 6 + 11);
    assert_memory_equal(opened.data, "prefixhello world", 17);
    lbBufFree(&sealed);
    lbBufFree(&opened);
}

/* cryptoSealTo writes exactly len + CRYPTO_OVERHEAD bytes and no more. */
static void testSealToExactSize(void **state) {
    (void)state;
    LbError err = {0};
    uint8_t plain[100];
    uint8_t dst[100 + CRYPTO_OVERHEAD + 8];
    fillPattern(plain, sizeof(plain), 3);
    memset(dst, 0xa5, sizeof(dst));
    assert_true(cryptoSealTo(keyA, plain, sizeof(plain), dst, &err));
    for (size_t i = sizeof(plain) + CRYPTO_OVERHEAD; i < sizeof(dst); i++)
        assert_int_equal(dst[i], 0xa5);
    LbBuf opened = {0};
    assert_true(cryptoOpen(keyA, dst, sizeof(plain) + CRYPTO_OVERHEAD, &opened, &err));
    assert_memory_equal(opened.data, plain, sizeof(plain));
    lbBufFree(&opened);
}

/* Known answers from the GCM specification (McGrew & Viega, "The Galois/Counter
 * Mode of Operation", test cases 13, 14 and 15: AES-256, 96-bit IV, no AAD),
 * laid out as nonce || ciphertext || tag and opened. */
static void testOpenGcmKnownAnswers(void **state) {
    (void)state;
    LbError err = {0};
    uint8_t key[CRYPTO_KEY_LEN];
    uint8_t sealed[12 + 64 + 16];
    LbBuf out = {0};

    memset(key, 0, sizeof(key));
    memset(sealed, 0, 12);
    hexToBytes("530f8afbc74536b9a963b4f1c4cb738b", sealed + 12, 16);
    assert_true(cryptoOpen(key, sealed, 28, &out, &err));
    assert_int_equal(out.len, 0);

    hexToBytes("cea7403d4d606b6e074ec5d3baf39d18", sealed + 12, 16);
    hexToBytes("d0d1c8a799996bf0265b98b5d48ab919", sealed + 28, 16);
    assert_true(cryptoOpen(key, sealed, 44, &out, &err));
    uint8_t zeros[16] = {0};
    assert_int_equal(out.len, 16);
    assert_memory_equal(out.data, zeros, 16);

    hexToBytes("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", key, 32);
    hexToBytes("cafebabefacedbaddecaf888", sealed, 12);
    hexToBytes("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
               "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
               sealed + 12, 64);
    hexToBytes("b094dac5d93471bdec1a502270e3cc6c", sealed + 76, 16);
    uint8_t plain[64];
    hexToBytes("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
               "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
               plain, 64);
    lbBufClear(&out);
    assert_true(cryptoOpen(key, sealed, sizeof(sealed), &out, &err));
    assert_int_equal(out.len, 64);
    assert_memory_equal(out.data, plain, 64);
    lbBufFree(&out);
}

/* Flipping any single bit anywhere (nonce, ciphertext or tag) is refused with
 * LB_ERR_CRYPTO and leaves out exactly as it was. */
static void testTamperRefused(void **state) {
    (void)state;
    LbError err = {0};
    uint8_t plain[40];
    fillPattern(plain, sizeof(plain), 5);
    LbBuf sealed = {0};
    assert_true(cryptoSeal(keyA, plain, sizeof(plain), &sealed, &err));

    LbBuf out = {0};
    lbBufAppend(&out, "keep", 4);
    int refused = 0;
    for (size_t byte = 0; byte < sealed.len; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            sealed.data[byte] ^= (uint8_t)(1u << bit);
            lbErrorClear(&err);
            bool ok = cryptoOpen(keyA, sealed.data, sealed.len, &out, &err);
            sealed.data[byte] ^= (uint8_t)(1u << bit);
            assert_false(ok);
            assert_int_equal(err.code, LB_ERR_CRYPTO);
            assert_int_equal(out.len, 4);
            assert_memory_equal(out.data, "keep", 4);
            refused++;
        }
    }
    assert_int_equal(refused, (int)(sizeof(plain) + CRYPTO_OVERHEAD) * 8);
    assert_non_null(strstr(err.msg, "authentication failed"));
    /* Untouched, it still opens. */
    assert_true(cryptoOpen(keyA, sealed.data, sealed.len, &out, &err));
    assert_int_equal(out.len, 4 + sizeof(plain));
    lbBufFree(&sealed);
    lbBufFree(&out);
}

/* The wrong key is refused; a truncated or too-short input is refused. */
static void testWrongKeyAndShortInput(void **state) {
    (void)state;
    LbError err = {0};
    LbBuf sealed = {0}, out = {0};
    assert_true(cryptoSeal(keyA, (const uint8_t *)"secret", 6, &sealed, &err));
    assert_false(cryptoOpen(keyB, sealed.data, sealed.len, &out, &err));
    assert_int_equal(err.code, LB_ERR_CRYPTO);
    assert_string_equal(err.msg, "unable to decrypt: authentication failed (wrong key or corrupted data)");
    assert_int_equal(out.len, 0);

    /* Dropping the last byte shifts the tag: authentication fails. */
    assert_false(cryptoOpen(keyA, sealed.data, sealed.len - 1, &out, &err));
    assert_int_equal(err.code, LB_ERR_CRYPTO);
    assert_int_equal(out.len, 0);

    /* Shorter than nonce + tag cannot be sealed data at all. */
    assert_false(cryptoOpen(keyA, sealed.data, CRYPTO_OVERHEAD - 1, &out, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_false(cryptoOpen(keyA, sealed.data, 0, &out, &err));
    assert_int_equal(err.code, LB_ERR_CORRUPT);
    assert_int_equal(out.len, 0);

    assert_true(cryptoOpen(keyA, sealed.data, sealed.len, &out, &err));
    assert_memory_equal(out.data, "secret", 6);
    lbBufFree(&sealed);
    lbBufFree(&out);
}

/* Two seals of the same plaintext differ (fresh nonce each time). */
static void testSealNonceFresh(void **state) {
    (void)state;
    LbError err = {0};
    LbBuf a = {0}, b = {0};
    assert_true(cryptoSeal(keyA, (const uint8_t *)"same plaintext", 14, &a, &err));
    assert_true(cryptoSeal(keyA, (const uint8_t *)"same plaintext", 14, &b, &err));
    assert_int_equal(a.len, b.len);
    assert_memory_not_equal(a.data, b.data, CRYPTO_NONCE_LEN);
    assert_memory_not_equal(a.data + CRYPTO_NONCE_LEN, b.data + CRYPTO_NONCE_LEN, 14 + CRYPTO_TAG_LEN);
    lbBufFree(&a);
    lbBufFree(&b);
}

/* More keys in turn than the per-thread cache holds: each seal opens only
 * under its own key, whatever was cached before. */
static void testManyKeysInterleaved(void **state) {
    (void)state;
    const uint8_t *keys[] = {keyA, keyB, keyC};
    LbError err = {0};
    LbBuf sealed[3] = {{0}};
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 3; k++) {
            lbBufClear(&sealed[k]);
            uint8_t msg[32];
            fillPattern(msg, sizeof(msg), (uint64_t)(round * 3 + k));
            assert_true(cryptoSeal(keys[k], msg, sizeof(msg), &sealed[k], &err));
        }
        for (int k = 2; k >= 0; k--) {
            uint8_t msg[32];
            fillPattern(msg, sizeof(msg), (uint64_t)(round * 3 + k));
            LbBuf out = {0};
            assert_true(cryptoOpen(keys[k], sealed[k].data, sealed[k].len, &out, &err));
            assert_memory_equal(out.data, msg, sizeof(msg));
            assert_false(cryptoOpen(keys[(k + 1) % 3], sealed[k].data, sealed[k].len, &out, &err));
            assert_int_equal(out.len, sizeof(msg));
            lbBufFree(&out);
        }
    }
    for (int k = 0; k < 3; k++)
        lbBufFree(&sealed[k]);
}

/* RFC 7914 section 12, second vector: scrypt("password", "NaCl", N=1024, r=8,
 * p=16); with a 32-byte output we get the first 32 bytes of its 64. */
static void testScryptRfc7914(void **state) {
    (void)state;
    LbError err = {0};
    uint8_t key[CRYPTO_KEY_LEN], want[CRYPTO_KEY_LEN];
    hexToBytes("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162", want, 32);
    assert_true(cryptoScrypt("password", 8, (const uint8_t *)"NaCl", 4, 1024, 8, 16, key, &err));
    assert_memory_equal(key, want, 32);
}

/* The production cost (N=2^17, r=8: 128 MiB) is above OpenSSL's default 32 MiB
 * memory limit; it must work. */
static void testScryptProductionCost(void **state) {
    (void)state;
    LbError err = {0};
    uint8_t a[CRYPTO_KEY_LEN], b[CRYPTO_KEY_LEN];
    const uint8_t salt[16] = {9};
    assert_true(cryptoScrypt("correct horse", 13, salt, sizeof(salt), (uint64_t)1 << 17, 8, 1, a, &err));
    assert_true(cryptoScrypt("correct horsf", 13, salt, sizeof(salt), (uint64_t)1 << 17, 8, 1, b, &err));
    assert_memory_not_equal(a, b, 32);
}

/* Bad parameters fail with LB_ERR_CRYPTO and a message without the password. */
static void testScryptBadParams(void **state) {
    (void)state;
    LbError err = {0};
    uint8_t key[CRYPTO_KEY_LEN];
    const char *pw = "hunter2-very-secret";
    assert_false(cryptoScrypt(pw, strlen(pw), (const uint8_t *)"salt", 4, 1000, 8, 1, key, &err));
    assert_int_equal(err.code, LB_ERR_CRYPTO);
    assert_non_null(strstr(err.msg, "N=1000"));
    assert_null(strstr(err.msg, "hunter2"));
    assert_false(cryptoScrypt(pw, strlen(pw), (const uint8_t *)"salt", 4, 1024, 0, 1, key, &err));
    assert_int_equal(err.code, LB_ERR_CRYPTO);
    assert_false(cryptoScrypt(pw, strlen(pw), (const uint8_t *)"salt", 4, 1024, 8, 0, key, &err));
    assert_int_equal(err.code, LB_ERR_CRYPTO);
    /* 2^24 * 8 * 128 bytes = 16 GiB: refused before anything is allocated. */
    assert_false(cryptoScrypt(pw, strlen(pw), (const uint8_t *)"salt", 4, (uint64_t)1 << 24, 8, 1, key, &err));
    assert_int_equal(err.code, LB_ERR_CRYPTO);
    assert_non_null(strstr(err.msg, "limit"));
    assert_null(strstr(err.msg, "hunter2"));
}

/* The gear table follows docs/gear-derivation.md: values for the secret
 * 00 01 .. 1f were computed independently (Python hmac + hashlib). */
static void testDeriveGearGolden(void **state) {
    (void)state;
    uint8_t secret[CRYPTO_KEY_LEN];
    for (int i = 0; i < CRYPTO_KEY_LEN; i++)
        secret[i] = (uint8_t)i;
    uint64_t gear[256];
    cryptoDeriveGear(secret, gear);
    assert_int_equal(gear[0], 0xd4c9af300ef43fb1ull);
    assert_int_equal(gear[1], 0xcfc9ebc47b417a7eull);
    assert_int_equal(gear[2], 0x0179cec099ab043aull);
    assert_int_equal(gear[3], 0xc8bf2834a58f3b7aull);
    assert_int_equal(gear[128], 0x9fe88211be0de5c7ull);
    assert_int_equal(gear[255], 0x4883c379795ef052ull);
}

/* Same secret, same table; another secret, a different table. */
static void testDeriveGearDeterministic(void **state) {
    (void)state;
    uint64_t g1[256], g2[256], g3[256];
    cryptoDeriveGear(keyA, g1);
    cryptoDeriveGear(keyA, g2);
    assert_memory_equal(g1, g2, sizeof(g1));
    cryptoDeriveGear(keyB, g3);
    int same = 0;
    for (int i = 0; i < 256; i++)
        same += g1[i] == g3[i];
    assert_int_equal(same, 0);
    /* Entries are distinct (a table of repeated values would be useless). */
    for (int i = 0; i < 256; i++)
        for (int j = i + 1; j < 256; j++)
            assert_true(g1[i] != g1[j]);
    /* Deriving with keyA did not disturb an HMAC keyed with keyA. */
    uint8_t want[32];
    unsigned int wantLen = 0;
    assert_non_null(HMAC(EVP_sha256(), keyA, CRYPTO_KEY_LEN, (const uint8_t *)"x", 1, want, &wantLen));
    LbId id;
    cryptoHmacId(keyA, (const uint8_t *)"x", 1, &id);
    assert_memory_equal(id.b, want, 32);
}

static void testRandomAndWipe(void **state) {
    (void)state;
    LbError err = {0};
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    assert_true(cryptoRandom(a, sizeof(a), &err));
    assert_true(cryptoRandom(b, sizeof(b), &err));
    assert_memory_not_equal(a, zero, 32);
    assert_memory_not_equal(a, b, 32);
    assert_true(cryptoRandom(NULL, 0, &err));
    cryptoWipe(a, sizeof(a));
    assert_memory_equal(a, zero, 32);
    cryptoWipe(NULL, 0);
}

typedef struct ThreadJob {
    const uint8_t *key;
    uint64_t seed;
    int failures;
} ThreadJob;

/* Seal, open, tamper and HMAC in a loop; count anything wrong (cmocka's
 * asserts are not thread-safe, so the main thread checks the count). */
static void *threadWorker(void *arg) {
    ThreadJob *job = arg;
    size_t len = 64 * 1024 + 3;
    uint8_t *plain = malloc(len);
    LbError err = {0};
    for (int i = 0; i < 100; i++) {
        fillPattern(plain, len, job->seed + (uint64_t)i);
        LbBuf sealed = {0}, out = {0};
        if (!cryptoSeal(job->key, plain, len, &sealed, &err) ||
            !cryptoOpen(job->key, sealed.data, sealed.len, &out, &err) || out.len != len ||
            memcmp(out.data, plain, len) != 0)
            job->failures++;
        sealed.data[sealed.len / 2] ^= 1;
        if (cryptoOpen(job->key, sealed.data, sealed.len, &out, &err) || out.len != len)
            job->failures++;
        uint8_t want[32];
        unsigned int wantLen = 0;
        LbId id;
        HMAC(EVP_sha256(), job->key, CRYPTO_KEY_LEN, plain, len, want, &wantLen);
        cryptoHmacId(job->key, plain, len, &id);
        if (memcmp(id.b, want, 32) != 0)
            job->failures++;
        lbBufFree(&sealed);
        lbBufFree(&out);
    }
    free(plain);
    return NULL;
}

static void testTwoThreads(void **state) {
    (void)state;
    ThreadJob jobs[2] = {{keyA, 100, 0}, {keyB, 200, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, threadWorker, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(jobs[0].failures, 0);
    assert_int_equal(jobs[1].failures, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testSha256KnownAnswers),
        cmocka_unit_test(testSha256MatchesOneShot),
        cmocka_unit_test(testHmacRfc4231),
        cmocka_unit_test(testHmacMatchesOneShot),
        cmocka_unit_test(testSealOpenRoundTrip),
        cmocka_unit_test(testSealOpenAppend),
        cmocka_unit_test(testSealToExactSize),
        cmocka_unit_test(testOpenGcmKnownAnswers),
        cmocka_unit_test(testTamperRefused),
        cmocka_unit_test(testWrongKeyAndShortInput),
        cmocka_unit_test(testSealNonceFresh),
        cmocka_unit_test(testManyKeysInterleaved),
        cmocka_unit_test(testScryptRfc7914),
        cmocka_unit_test(testScryptProductionCost),
        cmocka_unit_test(testScryptBadParams),
        cmocka_unit_test(testDeriveGearGolden),
        cmocka_unit_test(testDeriveGearDeterministic),
        cmocka_unit_test(testRandomAndWipe),
        cmocka_unit_test(testTwoThreads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
