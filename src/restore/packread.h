/*
 * packread.h - read blobs by pack, not blob by blob: the blobs wanted are
 * grouped by pack and sorted by offset, neighbours (gaps of at most
 * PACK_READ_GAP_MAX unneeded bytes) become one ranged GET of at most
 * PACK_READ_SPAN_MAX stored bytes, and several reads are in flight at once.
 * On an object store every request is a round trip: reading a 489 MiB dump
 * this way is 62 requests instead of 6,172.
 *
 * Two users: restoreFileStream (restore/stream.c) plans a file batch by
 * batch with packReadPlan and fetches with packReadFetch from its own
 * workers (it must emit in order); copy (maint/copy.c) hands a set of blobs
 * to packReadBlobs, which reads them in pack order with its own workers.
 */
#ifndef LIFEBOAT_RESTORE_PACKREAD_H
#define LIFEBOAT_RESTORE_PACKREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo/repo.h"

#define PACK_READ_WORKERS_MAX 8
#define PACK_READ_SPAN_MAX (2u * 1024u * 1024u) /* stored bytes per ranged read */
#define PACK_READ_GAP_MAX (256u * 1024u)        /* unneeded bytes read rather than a new request */

/* A blob's place in the repository and its position in the caller's list. */
typedef struct PackReadKey {
    uint32_t pack, offset;
    size_t pos;
} PackReadKey;

/* One ranged read: keys [from, to) of the sorted keys, bytes [lo, hi) of their pack. */
typedef struct PackRead {
    size_t from, to;
    uint64_t lo, hi;
} PackRead;

/* Called for each blob read, with pos its position in the caller's list and
 * plain its plaintext (borrowed for the call). False (err set) stops the read. */
typedef bool (*PackReadBlobFn)(void *ctx, size_t pos, const uint8_t *plain, size_t len, LbError *err);

/* Fill keys[i] = {locs[i].pack, locs[i].offset, i} for i < n, sort them by
 * pack and offset and coalesce neighbours into reads (room for n); returns
 * the number of reads. */
size_t packReadPlan(const IndexLoc *locs, PackReadKey *keys, size_t n, PackRead *reads);

/* Fetch one read's range (stored and plain are the caller's scratch buffers)
 * and decode each of its blobs (ID ids[pos], place locs[pos]: decrypt,
 * decompress, check the ID), calling fn for each in pack order. False with
 * err set on a failed request, a short range, a damaged blob (named) or fn's
 * failure. Touches nothing shared: several threads may call it at once. */
bool packReadFetch(Repo *repo, const LbId *ids, const IndexLoc *locs, const PackReadKey *keys, const PackRead *read,
                   LbBuf *stored, LbBuf *plain, PackReadBlobFn fn, void *ctx, LbError *err);

/* Workers for reading repo: one per core on a local disk (decoding is the
 * work), PACK_READ_WORKERS_MAX on an object store (each request waits a
 * round trip). */
size_t packReadWorkers(Repo *repo);

/* Read the blobs ids[0, count) of type (a blob listed twice is read twice)
 * by pack: all of them are planned at once (about 64 bytes per blob: the
 * caller bounds count), then packReadWorkers threads fetch and decode the
 * reads. fn is called once per blob, in no particular order, from those
 * threads but never two calls at once. False with err set when a blob is
 * not in the index (nothing read), on the first failed read or fn failure
 * (the reads in flight finish, none starts). Memory: per worker one range
 * (<= max(PACK_READ_SPAN_MAX, largest blob)) and one plaintext blob. */
bool packReadBlobs(Repo *repo, BlobType type, const LbId *ids, size_t count, PackReadBlobFn fn, void *ctx,
                   LbError *err);

#endif
