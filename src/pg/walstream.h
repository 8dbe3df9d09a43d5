/*
 * walstream.h - `lifeboat wal-stream`: WAL received over the replication
 * protocol as it is written, for RPO 0 (docs/postgresql.md, "Tier 3").
 *
 * pg_receivewal --synchronous runs as a supervised child, reading through a
 * physical replication slot (created if missing) into the spool's recv/
 * directory. It fsyncs what it receives and only then reports the flush
 * position to the server, so a server that names the stream in
 * synchronous_standby_names (application_name: the slot name, unless the
 * connection string sets one) returns from COMMIT only once the commit's WAL
 * is durable in the spool. The spool is therefore part of the repository's
 * guarantee: it must be on durable storage, and losing it loses the WAL not
 * yet uploaded.
 *
 * The uploader (walstream_spool.c) stores each completed segment as
 * wal/<segment> (the wal-push object, walPush: same format, same
 * idempotency) and removes it from the spool once durable there. The
 * segment being written (<segment>.partial in recv/, zero-padded to the
 * segment size by pg_receivewal) is stored as a streamed partial,
 * wal/<segment>.<8 hex digits: bytes of WAL it holds>.partial, about once a
 * second while it grows and at once when the stream stops. A longer
 * partial gets a new name, and the shorter ones of the same segment are
 * deleted after it is durable; all of them are deleted once the complete
 * segment is stored. Only a partial whose read raced a write (same byte
 * count, other bytes) is rewritten in place (walPushStreamedPartial: one
 * atomic put).
 *
 * Recovery (walstreamFetch, for wal-fetch) serves the longest streamed
 * partial of a segment that is not in the repository as that segment: replay
 * then reaches the end of the streamed WAL, finds the zeros after it, and
 * ends there.
 *
 * Ownership: options and the repository are borrowed.
 */
#ifndef LIFEBOAT_PG_WALSTREAM_H
#define LIFEBOAT_PG_WALSTREAM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "pg/pgconn.h"
#include "pg/wal.h"
#include "repo/repo.h"

#define WALSTREAM_RECV_DIR "recv"
#define WALSTREAM_STATUS_FILE "status.json"
/* the uploader re-stores a growing partial at most this often */
#define WALSTREAM_PARTIAL_INTERVAL 1.0

/* ---- the uploader (walstream_spool.c) ---- */

typedef struct WalstreamSpool WalstreamSpool;

/* recvDir is pg_receivewal's directory (borrowed, must outlive the result). */
WalstreamSpool *walstreamSpoolNew(Repo *repo, const char *recvDir);
void walstreamSpoolFree(WalstreamSpool *spool);

/* Upload every completed segment (in order) and remove each from the spool
 * once durable in the repository, then the newest partial when it changed
 * (force: at once; otherwise at most every WALSTREAM_PARTIAL_INTERVAL).
 * final: the receiver has stopped, so partials of segments already complete
 * in the repository are removed from the spool too. */
bool walstreamSpoolUpload(WalstreamSpool *spool, bool force, bool final, LbError *err);

/* What the uploader did so far. */
typedef struct WalstreamSpoolStats {
    uint64_t segments, partials; /* objects stored (or found identical) */
    char lastSegment[WAL_NAME_MAX], lastPartial[WAL_NAME_MAX];
} WalstreamSpoolStats;
void walstreamSpoolStats(const WalstreamSpool *spool, WalstreamSpoolStats *stats);

/* <segment>.<bytes>.partial (out may be segment) */
void walstreamPartialName(const char *segment, uint32_t bytes, char *out, size_t n);

/* The longest streamed partial of segment in the repository: *found false
 * when there is none. */
bool walstreamNewestPartial(Repo *repo, const char *segment, bool *found, char *out, size_t n, LbError *err);

/* walFetch, and for a segment that is not in the repository its longest
 * streamed partial instead (LB_ERR_NOT_FOUND when neither is). */
bool walstreamFetch(Repo *repo, const char *name, LbBuf *out, WalHeader *header, LbError *err);

/* ---- the receiver (walstream.c) ---- */

typedef struct WalstreamOptions {
    const PgConnInfo *conn;      /* the primary (a replication connection is made from it) */
    const char *spool;           /* the spool directory: recv/, status.json, lock */
    const char *slot;            /* physical replication slot, created if missing */
    const char *pgBin;           /* where pg_receivewal is; NULL: PATH */
    volatile sig_atomic_t *stop; /* set (by a signal handler) to stop */
} WalstreamOptions;

/* Upload the spool's leftovers, then receive and upload until *stop is set,
 * restarting pg_receivewal with a backoff when it exits (the server went
 * away); on stop, end pg_receivewal and upload what remains, the partial
 * included. Fails only when the spool or the repository cannot be used. */
bool walstreamRun(Repo *repo, const WalstreamOptions *opts, LbError *err);

/* The status wal-stream keeps in SPOOL/status.json (for the daemon's
 * metrics): connected, the slot's lag behind pg_current_wal_lsn(). */
typedef struct WalstreamStatus {
    bool connected;
    bool hasLag;
    int64_t lagBytes;
    int64_t updatedNs;
    char slot[64];
} WalstreamStatus;
bool walstreamStatusRead(const char *spool, WalstreamStatus *status, LbError *err);
/* The spool of a component the daemon streams: STATE/wal-stream/NAME
 * (caller frees). */
char *walstreamDaemonSpool(const char *stateDir, const char *component);

#endif
