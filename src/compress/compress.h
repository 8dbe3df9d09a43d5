/*
 * compress.h - zstd compression for blobs: compress only where it pays.
 *
 * Per-thread zstd contexts are created on first use and reused, so hot-path
 * calls do not allocate contexts. Thread-safe.
 */
#ifndef LIFEBOAT_COMPRESS_COMPRESS_H
#define LIFEBOAT_COMPRESS_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

#define COMPRESS_DEFAULT_LEVEL 3

/* Try to compress in[0..len) at level. If the result is smaller than len
 * (worth it: at least 1/32 smaller), append the zstd frame to out and return
 * true; otherwise append nothing and return false. Data that looks
 * incompressible is detected cheaply (a sample is tried first) so that
 * random data costs little more than a copy. Never fails (an internal zstd
 * error is treated as "not worth it"). */
bool compressMaybe(const uint8_t *in, size_t len, int level, LbBuf *out);

/* Decompress one zstd frame whose decompressed size must be exactly rawLen;
 * append rawLen bytes to out. LB_ERR_CORRUPT on any mismatch or zstd error. */
bool compressDecompress(const uint8_t *in, size_t len, size_t rawLen, LbBuf *out, LbError *err);

#endif
