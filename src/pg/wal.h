/*
 * wal.h - PostgreSQL WAL files in the repository (`wal/<file name>`).
 *
 * `lifeboat wal-push %p` (archive_command) stores each file PostgreSQL
 * archives: WAL segments, `.partial` segments, timeline `.history` files and
 * `.backup` history files. `lifeboat wal-fetch %f %p` (restore_command) reads
 * them back. A file is one object under a fixed name, so a fetch is one GET
 * and a push one STAT (plus one PUT), with no listing and no lock:
 *
 *   wal/<name> = u32le H || seal(metadata key, header JSON)   (H bytes)
 *                        || seal(data key, framed content)
 *   framed     = 0x00 || content | 0x01 || u32le length || zstd frame
 *
 * The header names the file, its size and its SHA-256, so a retried push of
 * the same file is recognised from the header alone (a ranged GET of a few
 * hundred bytes) and a different file under a name already stored is
 * refused. The name inside the sealed header is checked on fetch, so an
 * object renamed in the storage is detected. docs/repository-format.md
 * documents the format.
 *
 * Ownership: buffers passed in are borrowed; LbBuf outputs are appended to
 * and owned by the caller.
 */
#ifndef LIFEBOAT_PG_WAL_H
#define LIFEBOAT_PG_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/id.h"
#include "repo/repo.h"

#define WAL_DIR "wal"
#define WAL_NAME_MAX 64
#define WAL_HEADER_VERSION 1
/* XLogLongPageHeaderData, as written at the start of every segment */
#define WAL_LONG_HEADER_SIZE 40

typedef enum {
    WAL_FILE_SEGMENT = 0, /* 000000010000000000000003 */
    WAL_FILE_PARTIAL,     /* 000000010000000000000003.partial, or streamed: ...0003.00A3F2C0.partial */
    WAL_FILE_HISTORY,     /* 00000002.history */
    WAL_FILE_BACKUP,      /* 000000010000000000000003.00000028.backup */
} WalFileKind;

/* A parsed WAL file name. log/seg are the two 8-digit halves of a segment
 * name (segment number = log * (4 GiB / segment size) + seg). */
typedef struct WalName {
    WalFileKind kind;
    uint32_t timeline;
    uint32_t log, seg;      /* segments, partials and backup files */
    uint32_t streamedBytes; /* streamed partials (wal-stream): bytes of WAL they hold; 0 otherwise */
} WalName;

/* Parse a file name PostgreSQL archives; false for anything else (so a
 * name can never hold '/', '..' or other surprises). */
bool walNameParse(const char *name, WalName *out);

/* The sealed header of a stored WAL file. */
typedef struct WalHeader {
    char name[WAL_NAME_MAX];
    uint64_t size;
    LbId sha256;
    int64_t timeNs;   /* when it was pushed */
    bool hasSystemId; /* segments: the cluster's system identifier */
    uint64_t systemId;
    char hostname[128];
} WalHeader;

/* What the first page of a segment says about itself. */
typedef struct WalSegmentInfo {
    uint32_t timeline;
    uint64_t pageAddr;
    uint64_t systemId;
    uint32_t segmentSize;
    uint32_t blockSize;
} WalSegmentInfo;

/* Read the long page header at the start of a segment (or .partial) and
 * check it against the file name and size: LB_ERR_FORMAT when the file is
 * not the segment its name says (wrong timeline, wrong position, a size that
 * is not the segment size). */
bool walSegmentCheck(const WalName *name, const uint8_t *data, size_t len, WalSegmentInfo *info, LbError *err);

typedef enum {
    WAL_PUSH_STORED = 0, /* a new object was written */
    WAL_PUSH_IDENTICAL,  /* the same file was already stored: nothing written */
} WalPushOutcome;

typedef struct WalPushResult {
    WalPushOutcome outcome;
    uint64_t storedBytes; /* size of the object written (0 when identical) */
    LbId sha256;          /* of the content */
} WalPushResult;

/* Store data as wal/<name> unless that object exists. An existing object
 * with the same size and SHA-256 is success (WAL_PUSH_IDENTICAL); one with
 * other content fails with LB_ERR_EXISTS and is left untouched. The object
 * is durable when this returns true (storagePut). Segments are checked with
 * walSegmentCheck first. */
bool walPush(Repo *repo, const char *name, const uint8_t *data, size_t len, WalPushResult *result, LbError *err);

/* walPush for a streamed partial (wal-stream, pg/walstream.h), the one
 * object under wal/ that may be rewritten: an existing object of that name
 * with other content (a read of the growing file that raced a write) is
 * replaced by an atomic put. */
bool walPushStreamedPartial(Repo *repo, const char *name, const uint8_t *data, size_t len, WalPushResult *result,
                            LbError *err);

/* Read the header of wal/<name>: *exists false (and true returned) when the
 * object is missing. */
bool walReadHeader(Repo *repo, const char *name, bool *exists, WalHeader *header, LbError *err);

/* Fetch wal/<name> and append its content to out after checking it against
 * the sealed header (name, size, SHA-256). LB_ERR_NOT_FOUND when missing,
 * LB_ERR_CORRUPT / LB_ERR_CRYPTO when damaged. */
bool walFetch(Repo *repo, const char *name, LbBuf *out, WalHeader *header, LbError *err);

/* Encode / decode a stored object (exposed for tests and tools). */
bool walEncode(Repo *repo, const WalHeader *header, const uint8_t *data, size_t len, LbBuf *stored, LbError *err);

/* Read a whole regular file (a WAL segment, 16 MiB by default) into out. */
bool walReadFile(const char *path, LbBuf *out, LbError *err);

/* LSNs in PostgreSQL's text form "X/X" (hex). */
bool walLsnParse(const char *text, uint64_t *lsn);
void walLsnFormat(uint64_t lsn, char *out, size_t n);
/* Segment file name holding lsn on timeline tli: out holds >= 25 bytes. */
void walSegmentName(uint32_t tli, uint64_t lsn, uint64_t segmentSize, char *out, size_t n);

#endif
