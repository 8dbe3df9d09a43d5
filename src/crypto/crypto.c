/*
 * crypto.c - every use of OpenSSL in lifeboat: SHA-256, HMAC-SHA-256 blob
 * IDs, AES-256-GCM sealing, scrypt, randomness, gear derivation and wiping.
 *
 * Hot-path calls (hash, HMAC, seal, open) run on contexts cached per thread:
 * a digest context, an HMAC context that remembers its key, and a small set
 * of AES-256-GCM contexts that keep their key schedule, so that a call only
 * sets a new nonce. The algorithms are fetched once per process. Per-thread
 * state is freed by a pthread key destructor when a thread exits, and for the
 * thread that calls exit() by an atexit handler. Cached keys are wiped when
 * their state is freed.
 *
 * Internal OpenSSL failures in functions that cannot report an error (hashes,
 * gear derivation) mean the library is unusable (out of memory, or a broken
 * provider configuration): like allocation failure (lbXmalloc), they abort.
 */
#include "crypto/crypto.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

/* Number of AES-GCM contexts kept per thread, each keyed with a different
 * key: enough for the data and metadata keys to alternate without re-keying. */
#define CRYPTO_CIPHER_SLOTS 2

/* Largest slice handed to one EVP update call (their lengths are int). */
#define CRYPTO_UPDATE_MAX ((size_t)1 << 30)

/* GCM limit on one message: 2^39 - 256 bits of plaintext. */
#define CRYPTO_GCM_MAX_PLAIN ((((uint64_t)1 << 39) - 256) / 8)

/* Memory that one scrypt derivation may use; N=2^20, r=8 needs 1 GiB. */
#define CRYPTO_SCRYPT_MAX_MEM ((uint64_t)2 << 30)

/* Gear derivation label (part of the on-disk format, see cryptoDeriveGear). */
#define CRYPTO_GEAR_LABEL "lifeboat gear v1"
#define CRYPTO_GEAR_LABEL_LEN 16

typedef struct CryptoCipherSlot {
    EVP_CIPHER_CTX *ctx;
    bool keyed;
    uint64_t lastUse;
    uint8_t key[CRYPTO_KEY_LEN];
} CryptoCipherSlot;

typedef struct CryptoThread {
    EVP_MD_CTX *md;
    EVP_MAC_CTX *mac;
    bool macKeyed;
    uint8_t macKey[CRYPTO_KEY_LEN];
    uint64_t useCounter;
    CryptoCipherSlot cipher[CRYPTO_CIPHER_SLOTS];
} CryptoThread;

static pthread_once_t cryptoOnce = PTHREAD_ONCE_INIT;
static pthread_key_t cryptoThreadKey;
static EVP_MD *cryptoSha256Md;
static EVP_MAC *cryptoHmacMac;
static EVP_CIPHER *cryptoGcmCipher;
static _Thread_local CryptoThread *cryptoThread;

/* Print a message and abort: used only where OpenSSL itself is unusable. */
static void cryptoFatal(const char *what) {
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    fprintf(stderr, "lifeboat: fatal: unable to %s: %s\n", what, reason ? reason : "openssl error");
    abort();
}

/* Take the most recent OpenSSL error reason for a message and empty the
 * thread's OpenSSL error queue so that it cannot confuse a later check. */
static const char *cryptoErrorReason(void) {
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return reason ? reason : "openssl error";
}

/* Free one thread's contexts and wipe its cached keys; NULL is a no-op. */
static void cryptoThreadFree(void *p) {
    CryptoThread *t = p;
    if (t == NULL)
        return;
    if (cryptoThread == t)
        cryptoThread = NULL;
    EVP_MD_CTX_free(t->md);
    EVP_MAC_CTX_free(t->mac);
    for (int i = 0; i < CRYPTO_CIPHER_SLOTS; i++)
        EVP_CIPHER_CTX_free(t->cipher[i].ctx);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

/* atexit: free the exiting thread's contexts (pthread key destructors do not
 * run for the thread that calls exit()). The fetched algorithms stay: other
 * threads may still be running, and static pointers keep them reachable. */
static void cryptoAtExit(void) {
    CryptoThread *t = cryptoThread;
    if (t == NULL)
        return;
    pthread_setspecific(cryptoThreadKey, NULL);
    cryptoThreadFree(t);
}

/* Once per process: fetch the algorithms and set up per-thread cleanup. The
 * atexit handler is registered after OpenSSL's own (OPENSSL_init_crypto
 * registers it), so it runs before OpenSSL cleans up. Aborts on failure. */
static void cryptoGlobalInit(void) {
    if (!OPENSSL_init_crypto(0, NULL))
        cryptoFatal("initialize openssl");
    cryptoSha256Md = EVP_MD_fetch(NULL, "SHA256", NULL);
    cryptoHmacMac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    cryptoGcmCipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (cryptoSha256Md == NULL || cryptoHmacMac == NULL || cryptoGcmCipher == NULL)
        cryptoFatal("fetch SHA256, HMAC or AES-256-GCM from openssl");
    if (pthread_key_create(&cryptoThreadKey, cryptoThreadFree) != 0)
        cryptoFatal("create thread key");
    atexit(cryptoAtExit);
}

/* The calling thread's cached contexts, created on first use. Aborts if
 * OpenSSL cannot allocate them. */
static CryptoThread *cryptoThreadGet(void) {
    CryptoThread *t = cryptoThread;
    if (t != NULL)
        return t;
    pthread_once(&cryptoOnce, cryptoGlobalInit);
    t = lbXcalloc(1, sizeof(*t));
    t->md = EVP_MD_CTX_new();
    t->mac = EVP_MAC_CTX_new(cryptoHmacMac);
    if (t->md == NULL || t->mac == NULL)
        cryptoFatal("allocate hash contexts");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_CTX_set_params(t->mac, params))
        cryptoFatal("configure HMAC-SHA-256");
    for (int i = 0; i < CRYPTO_CIPHER_SLOTS; i++) {
        t->cipher[i].ctx = EVP_CIPHER_CTX_new();
        if (t->cipher[i].ctx == NULL)
            cryptoFatal("allocate cipher context");
    }
    if (pthread_setspecific(cryptoThreadKey, t) != 0)
        cryptoFatal("register thread state");
    cryptoThread = t;
    return t;
}

/* SHA-256 on the thread's digest context. Aborts on OpenSSL failure. */
void cryptoSha256(const uint8_t *data, size_t len, LbId *out) {
    CryptoThread *t = cryptoThreadGet();
    unsigned int outLen = 0;
    if (!EVP_DigestInit_ex2(t->md, cryptoSha256Md, NULL) || (len > 0 && !EVP_DigestUpdate(t->md, data, len)) ||
        !EVP_DigestFinal_ex(t->md, out->b, &outLen) || outLen != LB_ID_LEN)
        cryptoFatal("compute SHA-256");
}

struct CryptoSha256 {
    EVP_MD_CTX *md;
};

CryptoSha256 *cryptoSha256New(void) {
    pthread_once(&cryptoOnce, cryptoGlobalInit);
    CryptoSha256 *h = lbXcalloc(1, sizeof(CryptoSha256));
    h->md = EVP_MD_CTX_new();
    if (h->md == NULL || !EVP_DigestInit_ex2(h->md, cryptoSha256Md, NULL))
        cryptoFatal("start SHA-256");
    return h;
}

void cryptoSha256Update(CryptoSha256 *h, const uint8_t *data, size_t len) {
    if (len > 0 && !EVP_DigestUpdate(h->md, data, len))
        cryptoFatal("compute SHA-256");
}

void cryptoSha256Final(CryptoSha256 *h, LbId *out) {
    unsigned int outLen = 0;
    if (!EVP_DigestFinal_ex(h->md, out->b, &outLen) || outLen != LB_ID_LEN)
        cryptoFatal("compute SHA-256");
    EVP_MD_CTX_free(h->md);
    free(h);
}

/* Key the thread's HMAC context with key unless it already holds it, then
 * start a new message. Aborts on OpenSSL failure. */
static EVP_MAC_CTX *cryptoHmacBegin(CryptoThread *t, const uint8_t key[CRYPTO_KEY_LEN]) {
    if (t->macKeyed && CRYPTO_memcmp(t->macKey, key, CRYPTO_KEY_LEN) == 0) {
        /* A NULL key restarts with the key already set (its pads are kept). */
        if (!EVP_MAC_init(t->mac, NULL, 0, NULL))
            cryptoFatal("restart HMAC-SHA-256");
        return t->mac;
    }
    t->macKeyed = false;
    if (!EVP_MAC_init(t->mac, key, CRYPTO_KEY_LEN, NULL))
        cryptoFatal("key HMAC-SHA-256");
    memcpy(t->macKey, key, CRYPTO_KEY_LEN);
    t->macKeyed = true;
    return t->mac;
}

/* Finish an HMAC-SHA-256 into out. Aborts on OpenSSL failure. */
static void cryptoHmacEnd(EVP_MAC_CTX *mac, uint8_t out[LB_ID_LEN]) {
    size_t outLen = 0;
    if (!EVP_MAC_final(mac, out, &outLen, LB_ID_LEN) || outLen != LB_ID_LEN)
        cryptoFatal("finish HMAC-SHA-256");
}

/* HMAC-SHA-256 on the thread's cached context (re-keyed only when key
 * changes). Aborts on OpenSSL failure. */
void cryptoHmacId(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *data, size_t len, LbId *out) {
    EVP_MAC_CTX *mac = cryptoHmacBegin(cryptoThreadGet(), key);
    if (len > 0 && !EVP_MAC_update(mac, data, len))
        cryptoFatal("compute HMAC-SHA-256");
    cryptoHmacEnd(mac, out->b);
}

/* An AES-256-GCM context holding key's schedule: a slot already keyed with
 * key, or else the least recently used slot, re-keyed. On failure returns NULL
 * and leaves the slot unkeyed. */
static EVP_CIPHER_CTX *cryptoCipherGet(CryptoThread *t, const uint8_t key[CRYPTO_KEY_LEN], int enc) {
    CryptoCipherSlot *slot = &t->cipher[0];
    for (int i = 0; i < CRYPTO_CIPHER_SLOTS; i++) {
        CryptoCipherSlot *s = &t->cipher[i];
        if (s->keyed && CRYPTO_memcmp(s->key, key, CRYPTO_KEY_LEN) == 0) {
            s->lastUse = ++t->useCounter;
            return s->ctx;
        }
        if (s->lastUse < slot->lastUse) /* unkeyed slots have lastUse 0 */
            slot = s;
    }
    slot->keyed = false;
    slot->lastUse = 0;
    if (!EVP_CipherInit_ex2(slot->ctx, cryptoGcmCipher, key, NULL, enc, NULL))
        return NULL;
    memcpy(slot->key, key, CRYPTO_KEY_LEN);
    slot->keyed = true;
    slot->lastUse = ++t->useCounter;
    return slot->ctx;
}

/* Run data through the cipher in slices EVP accepts; GCM is a stream mode, so
 * output length equals input length. False on OpenSSL failure. */
static bool cryptoCipherUpdate(EVP_CIPHER_CTX *ctx, const uint8_t *in, size_t len, uint8_t *out) {
    while (len > 0) {
        size_t n = len < CRYPTO_UPDATE_MAX ? len : CRYPTO_UPDATE_MAX;
        int outLen = 0;
        if (!EVP_CipherUpdate(ctx, out, &outLen, in, (int)n) || (size_t)outLen != n)
            return false;
        in += n;
        out += n;
        len -= n;
    }
    return true;
}

/* nonce || ciphertext || tag into dst. On failure (no randomness, OpenSSL
 * error, message too long for GCM) returns LB_ERR_CRYPTO; dst may then hold
 * partial output that must not be used. */
bool cryptoSealTo(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *plain, size_t len, uint8_t *dst, LbError *err) {
    if ((uint64_t)len > CRYPTO_GCM_MAX_PLAIN)
        return lbErr(err, LB_ERR_CRYPTO, "unable to encrypt: %zu bytes is more than AES-GCM allows in one message",
                     len);
    CryptoThread *t = cryptoThreadGet();
    uint8_t *nonce = dst;
    uint8_t *body = dst + CRYPTO_NONCE_LEN;
    uint8_t *tag = body + len;
    int finalLen = 0;

    if (RAND_bytes(nonce, CRYPTO_NONCE_LEN) != 1)
        return lbErr(err, LB_ERR_CRYPTO, "unable to encrypt: no random nonce: %s", cryptoErrorReason());
    EVP_CIPHER_CTX *ctx = cryptoCipherGet(t, key, 1);
    if (ctx == NULL || !EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, 1, NULL) ||
        !cryptoCipherUpdate(ctx, plain, len, body) || !EVP_CipherFinal_ex(ctx, tag, &finalLen) || finalLen != 0 ||
        !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, tag))
        return lbErr(err, LB_ERR_CRYPTO, "unable to encrypt: %s", cryptoErrorReason());
    return true;
}

/* Seal into out's spare capacity; on failure out->len is unchanged. */
bool cryptoSeal(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *plain, size_t len, LbBuf *out, LbError *err) {
    if (len > SIZE_MAX - CRYPTO_OVERHEAD)
        return lbErr(err, LB_ERR_CRYPTO, "unable to encrypt: %zu bytes is too large", len);
    lbBufReserve(out, len + CRYPTO_OVERHEAD);
    if (!cryptoSealTo(key, plain, len, out->data + out->len, err))
        return false;
    out->len += len + CRYPTO_OVERHEAD;
    return true;
}

/* Decrypt into the spare capacity of out and only then count the bytes as
 * appended: on failure out->len is unchanged and the unauthenticated output
 * is wiped. sealed must not point into out (out may be reallocated). */
bool cryptoOpen(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *sealed, size_t len, LbBuf *out, LbError *err) {
    if (len < CRYPTO_OVERHEAD)
        return lbErr(err, LB_ERR_CORRUPT,
                     "unable to decrypt: sealed data is %zu bytes, shorter than the %d bytes of nonce and tag", len,
                     CRYPTO_OVERHEAD);
    size_t plainLen = len - CRYPTO_OVERHEAD;
    if ((uint64_t)plainLen > CRYPTO_GCM_MAX_PLAIN)
        return lbErr(err, LB_ERR_CORRUPT, "unable to decrypt: %zu bytes is more than AES-GCM allows in one message",
                     len);
    CryptoThread *t = cryptoThreadGet();
    const uint8_t *nonce = sealed;
    const uint8_t *body = sealed + CRYPTO_NONCE_LEN;
    uint8_t tag[CRYPTO_TAG_LEN];
    uint8_t finalOut[16];
    int finalLen = 0;

    memcpy(tag, body + plainLen, CRYPTO_TAG_LEN);
    lbBufReserve(out, plainLen);
    uint8_t *dst = plainLen > 0 ? out->data + out->len : NULL;

    EVP_CIPHER_CTX *ctx = cryptoCipherGet(t, key, 0);
    if (ctx == NULL || !EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, 0, NULL) ||
        !cryptoCipherUpdate(ctx, body, plainLen, dst) ||
        !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN, tag)) {
        if (dst != NULL)
            OPENSSL_cleanse(dst, plainLen);
        return lbErr(err, LB_ERR_CRYPTO, "unable to decrypt: %s", cryptoErrorReason());
    }
    if (EVP_CipherFinal_ex(ctx, finalOut, &finalLen) <= 0 || finalLen != 0) {
        if (dst != NULL)
            OPENSSL_cleanse(dst, plainLen);
        ERR_clear_error();
        return lbErr(err, LB_ERR_CRYPTO, "unable to decrypt: authentication failed (wrong key or corrupted data)");
    }
    out->len += plainLen;
    return true;
}

/* RAND_bytes in slices it accepts; LB_ERR_CRYPTO if the generator fails. */
bool cryptoRandom(uint8_t *out, size_t len, LbError *err) {
    while (len > 0) {
        size_t n = len < CRYPTO_UPDATE_MAX ? len : CRYPTO_UPDATE_MAX;
        if (RAND_bytes(out, (int)n) != 1)
            return lbErr(err, LB_ERR_CRYPTO, "unable to generate random bytes: %s", cryptoErrorReason());
        out += n;
        len -= n;
    }
    return true;
}

/* Validate the parameters first so that the message says what is wrong (and
 * how much memory they would take) rather than OpenSSL's terse reason. The
 * password never appears in a message. On failure out is wiped. */
bool cryptoScrypt(const char *password, size_t passwordLen, const uint8_t *salt, size_t saltLen, uint64_t n, uint32_t r,
                  uint32_t p, uint8_t out[CRYPTO_KEY_LEN], LbError *err) {
    OPENSSL_cleanse(out, CRYPTO_KEY_LEN);
    if (n < 2 || (n & (n - 1)) != 0 || r == 0 || p == 0)
        return lbErr(err, LB_ERR_CRYPTO,
                     "unable to derive key: invalid scrypt parameters N=%llu r=%u p=%u (N must be a power of two "
                     "greater than 1, r and p at least 1)",
                     (unsigned long long)n, r, p);
    /* OpenSSL's own accounting: B = 128*r*p bytes, V = 128*r*(N+2) bytes. */
    uint64_t perN = (uint64_t)128 * r;
    uint64_t mem = 0;
    if (n > (CRYPTO_SCRYPT_MAX_MEM / perN) || (uint64_t)p > CRYPTO_SCRYPT_MAX_MEM / perN ||
        (mem = perN * (n + 2) + perN * p) > CRYPTO_SCRYPT_MAX_MEM)
        return lbErr(err, LB_ERR_CRYPTO,
                     "unable to derive key: scrypt parameters N=%llu r=%u p=%u need more than the %llu MiB limit",
                     (unsigned long long)n, r, p, (unsigned long long)(CRYPTO_SCRYPT_MAX_MEM >> 20));
    if (!EVP_PBE_scrypt(password, passwordLen, salt, saltLen, n, r, p, mem + ((uint64_t)1 << 20), out,
                        CRYPTO_KEY_LEN)) {
        OPENSSL_cleanse(out, CRYPTO_KEY_LEN);
        return lbErr(err, LB_ERR_CRYPTO, "unable to derive key with scrypt (N=%llu r=%u p=%u): %s",
                     (unsigned long long)n, r, p, cryptoErrorReason());
    }
    return true;
}

/*
 * Gear table derivation (part of the repository format; docs/gear-derivation.md):
 *
 *   for j = 0 .. 63:
 *       block_j = HMAC-SHA-256(key = secret (32 bytes),
 *                              msg = "lifeboat gear v1" (16 ASCII bytes, no NUL) || BE32(j))
 *       for k = 0 .. 3:
 *           gear[4*j + k] = LE64(block_j[8*k .. 8*k + 8))
 *
 * BE32(j) is j as 4 bytes, most significant first; LE64 reads 8 bytes as an
 * unsigned integer, least significant first. Aborts on OpenSSL failure.
 */
void cryptoDeriveGear(const uint8_t secret[CRYPTO_KEY_LEN], uint64_t gear[256]) {
    CryptoThread *t = cryptoThreadGet();
    uint8_t msg[CRYPTO_GEAR_LABEL_LEN + 4];
    uint8_t block[LB_ID_LEN];

    memcpy(msg, CRYPTO_GEAR_LABEL, CRYPTO_GEAR_LABEL_LEN);
    for (uint32_t j = 0; j < 64; j++) {
        msg[CRYPTO_GEAR_LABEL_LEN + 0] = (uint8_t)(j >> 24);
        msg[CRYPTO_GEAR_LABEL_LEN + 1] = (uint8_t)(j >> 16);
        msg[CRYPTO_GEAR_LABEL_LEN + 2] = (uint8_t)(j >> 8);
        msg[CRYPTO_GEAR_LABEL_LEN + 3] = (uint8_t)j;
        EVP_MAC_CTX *mac = cryptoHmacBegin(t, secret);
        if (!EVP_MAC_update(mac, msg, sizeof(msg)))
            cryptoFatal("derive gear table");
        cryptoHmacEnd(mac, block);
        for (int k = 0; k < 4; k++)
            gear[4 * j + (uint32_t)k] = lbGetU64(block + 8 * k);
    }
    OPENSSL_cleanse(block, sizeof(block));
}

/* OPENSSL_cleanse, which the compiler cannot remove; NULL is a no-op. */
void cryptoWipe(void *p, size_t len) {
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}
