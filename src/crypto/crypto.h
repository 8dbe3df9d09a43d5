/*
 * crypto.h - every use of OpenSSL in lifeboat: SHA-256 object names,
 * HMAC-SHA-256 blob IDs, AES-256-GCM sealing, scrypt, randomness, gear
 * table derivation, and wiping secrets.
 *
 * Sealed format: nonce (12 random bytes) || ciphertext || GCM tag (16).
 * Functions are thread-safe; contexts are cached per thread internally so
 * hot-path calls do not allocate.
 */
#ifndef LIFEBOAT_CRYPTO_CRYPTO_H
#define LIFEBOAT_CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/id.h"

#define CRYPTO_KEY_LEN 32
#define CRYPTO_NONCE_LEN 12
#define CRYPTO_TAG_LEN 16
#define CRYPTO_OVERHEAD (CRYPTO_NONCE_LEN + CRYPTO_TAG_LEN)

/* SHA-256 of data (object names). */
void cryptoSha256(const uint8_t *data, size_t len, LbId *out);
/* SHA-256 of a message given in pieces: cryptoSha256New, any number of
 * cryptoSha256Update, then cryptoSha256Final, which frees the context. */
typedef struct CryptoSha256 CryptoSha256;
CryptoSha256 *cryptoSha256New(void);
void cryptoSha256Update(CryptoSha256 *h, const uint8_t *data, size_t len);
void cryptoSha256Final(CryptoSha256 *h, LbId *out);

/* HMAC-SHA-256 of data under key (blob IDs). */
void cryptoHmacId(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *data, size_t len, LbId *out);

/* Encrypt plain with AES-256-GCM under key with a fresh random nonce and
 * append nonce||ciphertext||tag (len + CRYPTO_OVERHEAD bytes) to out. */
bool cryptoSeal(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *plain, size_t len, LbBuf *out, LbError *err);

/* Same, writing into dst, which must hold len + CRYPTO_OVERHEAD bytes. */
bool cryptoSealTo(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *plain, size_t len, uint8_t *dst, LbError *err);

/* Verify and decrypt; append the plaintext (len - CRYPTO_OVERHEAD bytes) to
 * out. A wrong key or any modified byte fails with LB_ERR_CRYPTO and appends
 * nothing. */
bool cryptoOpen(const uint8_t key[CRYPTO_KEY_LEN], const uint8_t *sealed, size_t len, LbBuf *out, LbError *err);

/* Cryptographically secure random bytes. */
bool cryptoRandom(uint8_t *out, size_t len, LbError *err);

/* scrypt(password, salt, N, r, p) -> 32-byte key. */
bool cryptoScrypt(const char *password, size_t passwordLen, const uint8_t *salt, size_t saltLen, uint64_t n, uint32_t r,
                  uint32_t p, uint8_t out[CRYPTO_KEY_LEN], LbError *err);

/* Derive a FastCDC gear table from a repository secret (deterministic:
 * AES-256-CTR keystream, or HMAC in counter mode, over the secret). */
void cryptoDeriveGear(const uint8_t secret[CRYPTO_KEY_LEN], uint64_t gear[256]);

/* Overwrite memory holding secrets so the compiler cannot elide it. */
void cryptoWipe(void *p, size_t len);

#endif
