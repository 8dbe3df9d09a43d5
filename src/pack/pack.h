/*
 * pack.h - pack files: many sealed blobs followed by a sealed header.
 *
 * Layout (docs/repository-format.md):
 *   blob_1 || ... || blob_n || seal(metaKey, header) || u32le len(seal(header))
 *   header = "LBPK" || u8 version(1) || u32le n || n × entry
 *   entry  = u8 type || u8 flags || u32le storedLength || u32le rawLength || id[32]
 * Offsets are implied: blob k starts where blob k-1 ends. flags bit 0 means
 * the blob's plaintext is a zstd frame of rawLength bytes.
 */
#ifndef LIFEBOAT_PACK_PACK_H
#define LIFEBOAT_PACK_PACK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/id.h"

typedef enum { BLOB_DATA = 0, BLOB_TREE = 1 } BlobType;

#define PACK_FLAG_COMPRESSED 1u
#define PACK_ENTRY_SIZE 42
#define PACK_TARGET_SIZE (16u * 1024u * 1024u)

typedef struct PackEntry {
    LbId id;
    uint8_t type;
    uint8_t flags;
    uint32_t offset;
    uint32_t length;    /* stored (sealed) length */
    uint32_t rawLength; /* plaintext length after decompression */
} PackEntry;

/* An open pack being filled. Owns its buffer and entry list. */
typedef struct PackWriter PackWriter;

PackWriter *packWriterNew(void);
void packWriterFree(PackWriter *pw);
size_t packWriterSize(const PackWriter *pw);
size_t packWriterCount(const PackWriter *pw);
/* Reserve room for a sealed blob of sealedLen bytes and return where to write
 * it; then call packWriterCommit with its metadata. */
uint8_t *packWriterReserve(PackWriter *pw, size_t sealedLen);
void packWriterCommit(PackWriter *pw, const LbId *id, BlobType type, uint8_t flags, uint32_t sealedLen,
                      uint32_t rawLength);
/* Append the sealed header and trailer; on success the pack bytes and entries
 * are handed out (caller owns *data and *entries, frees both with free()). The
 * writer is reset and can be reused. */
bool packWriterFinish(PackWriter *pw, const uint8_t metaKey[32], uint8_t **data, size_t *len, PackEntry **entries,
                      size_t *count, LbError *err);

/* Spool the writer's next pack (it is empty) into fd (borrowed, written
 * from its current position): committed blobs go to the file as they come
 * and into a running SHA-256, so the pack never sits in memory whole. */
void packWriterSpool(PackWriter *pw, int fd);
bool packWriterSpooling(const PackWriter *pw);
/* Finish a spooled pack: append the sealed header and trailer to the file;
 * *packId is the SHA-256 of the file's bytes, *len their count; the entries
 * are handed out (caller frees). The writer is reset to memory mode (fd is
 * the caller's to commit or remove). False on a write error of any blob. */
bool packWriterFinishSpool(PackWriter *pw, const uint8_t metaKey[32], LbId *packId, uint64_t *len, PackEntry **entries,
                           size_t *count, LbError *err);
/* Parse the header of a whole pack held in memory. Caller frees *entries. */
bool packReadHeader(const uint8_t *pack, size_t len, const uint8_t metaKey[32], PackEntry **entries, size_t *count,
                    LbError *err);

#endif
