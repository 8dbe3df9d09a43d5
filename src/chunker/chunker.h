/*
 * chunker.h - FastCDC content-defined chunking (normalized chunking, the
 * 2020 "rolling two bytes" variant as in the FastCDC paper and fastcdc-rs
 * v2020) over caller buffers. No I/O, no allocation after chunkerNew.
 *
 * The gear table is a parameter: repositories derive it from a secret
 * (cryptoDeriveGear) so chunk boundaries do not leak content; the reference
 * table (chunkerReferenceGear) reproduces the published vectors.
 */
#ifndef LIFEBOAT_CHUNKER_CHUNKER_H
#define LIFEBOAT_CHUNKER_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct ChunkerParams {
    uint32_t minSize;       /* >= 64 */
    uint32_t avgSize;       /* power of two not required; min <= avg <= max */
    uint32_t maxSize;       /* <= 64 MiB */
    uint32_t normalization; /* 0..3, FastCDC normalization level (default 1) */
} ChunkerParams;

/* Repository defaults: 512 KiB / 1 MiB / 8 MiB, normalization 1. */
#define CHUNKER_DEFAULT_MIN (512u * 1024u)
#define CHUNKER_DEFAULT_AVG (1024u * 1024u)
#define CHUNKER_DEFAULT_MAX (8u * 1024u * 1024u)
#define CHUNKER_DEFAULT_NORMALIZATION 1u

typedef struct Chunker Chunker;

/* Validate params (LB_ERR_FORMAT naming the bad field) and build a chunker
 * using a copy of gear. Free with chunkerFree (NULL is a no-op). */
/* Check min <= avg <= max within the supported range; LB_ERR_FORMAT naming
 * the parameter otherwise. */
bool chunkerParamsValid(const ChunkerParams *params, LbError *err);

Chunker *chunkerNew(const ChunkerParams *params, const uint64_t gear[256], LbError *err);
void chunkerFree(Chunker *chunker);
const ChunkerParams *chunkerParams(const Chunker *chunker);

/* Find the next cut point in data[0..len). Returns the chunk length (> 0)
 * when a boundary is found, or when len >= maxSize (cut at maxSize), or when
 * eof is true (the rest, up to a boundary). Returns 0 only when more data is
 * needed (len < maxSize and !eof) or len == 0. Stateless between calls: the
 * caller passes the unconsumed bytes starting at the chunk start again. */
size_t chunkerNext(const Chunker *chunker, const uint8_t *data, size_t len, bool eof);

/* The published 64-bit GEAR table of fastcdc-rs v2020 (reference mode). */
void chunkerReferenceGear(uint64_t gear[256]);

#endif
