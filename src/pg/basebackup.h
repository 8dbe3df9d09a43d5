/*
 * basebackup.h - a physical base backup of a PostgreSQL cluster as one tar
 * stream: `pg_basebackup -D - -Ft -X fetch --checkpoint=fast`.
 *
 * basebackupStart connects with libpq, checks the cluster (no additional
 * tablespaces: only then can pg_basebackup write a single tar), reads the
 * server's clock, and starts pg_basebackup. Its standard output passes
 * through a reader thread that parses the tar on the fly (backup_label,
 * backup_manifest, the end-of-archive blocks) and hands every byte on to the
 * descriptor the caller gives the archiver. basebackupFinish waits for
 * pg_basebackup, checks that the tar was complete, and fills the start and
 * stop LSN, timeline and times from backup_label, the manifest's WAL range
 * and the server.
 *
 * The result is recorded as snapshot metadata ("meta", kind "pg-physical")
 * by basebackupInfoToJson and read back by basebackupInfoFromJson.
 */
#ifndef LIFEBOAT_PG_BASEBACKUP_H
#define LIFEBOAT_PG_BASEBACKUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "pg/pgconn.h"
#include "source/source.h"

#define BASEBACKUP_META_KIND "pg-physical"
#define BASEBACKUP_STREAM_NAME "base.tar"
#define BASEBACKUP_DEFAULT_COMPONENT "database-physical"

typedef struct BasebackupOptions {
    const PgConnInfo *conn;    /* borrowed */
    const char *pgBin;         /* directory of pg_basebackup, NULL = PATH */
    bool spreadCheckpoint;     /* --checkpoint=spread instead of fast */
    bool walNone;              /* -X none: rely on archived WAL only */
    const char *label;         /* backup label, NULL = "lifeboat" */
    const PgConnInfo *primary; /* when conn is a standby: its primary (pg/bbstandby.h), NULL = none */
} BasebackupOptions;

typedef struct BasebackupInfo {
    char serverVersion[64];
    int serverVersionNum;
    uint64_t systemId;
    uint64_t walSegmentSize;
    bool fromStandby;
    char archiveMode[16];
    bool walIncluded; /* -X fetch: WAL to reach consistency is inside the tar */
    uint32_t startTimeline, stopTimeline;
    uint64_t startLsn, stopLsn;
    bool stopFromManifest;   /* stopLsn from the manifest (else the server's position after) */
    int64_t startNs, stopNs; /* the server's clock just before and just after */
    uint64_t nextXidAtStop;  /* first transaction ID not yet started after the backup */
    char label[128];
    bool haveManifest;
    uint64_t tarBytes, tarEntries;
} BasebackupInfo;

typedef struct Basebackup Basebackup;

/* Connect, check and start. On success *streamFd is the descriptor to read
 * the tar from (owned by the Basebackup, closed by basebackupFree). */
Basebackup *basebackupStart(const BasebackupOptions *opts, int *streamFd, LbError *err);

/* The base backup as a backup source (source/stream.h): one file,
 * BASEBACKUP_STREAM_NAME (mode 0600), read from the stream. Borrows bb. */
Source basebackupSource(Basebackup *bb);

/* After the stream was read to its end: wait for pg_basebackup and the tar
 * reader, then fill info. Fails when pg_basebackup failed or the tar is
 * incomplete (no backup_label, no end-of-archive marker). */
bool basebackupFinish(Basebackup *bb, BasebackupInfo *info, LbError *err);

/* Stop everything still running (pg_basebackup gets SIGTERM), close the
 * descriptors and join the reader. NULL is a no-op. */
void basebackupFree(Basebackup *bb);

/* Snapshot metadata: a new JSON object (caller owns the reference). */
json_t *basebackupInfoToJson(const BasebackupInfo *info);
/* Read metadata written by basebackupInfoToJson; LB_ERR_FORMAT when meta is
 * not that of a physical backup. */
bool basebackupInfoFromJson(const json_t *meta, BasebackupInfo *info, LbError *err);

/* Parse the text of a backup_label file (START WAL LOCATION, START
 * TIMELINE, LABEL). Exposed for tests. */
bool basebackupParseLabel(const char *text, size_t len, BasebackupInfo *info, LbError *err);
/* Find the WAL range in (the tail of) a backup manifest: the stop LSN and
 * timeline of its last range. False when there is none. */
bool basebackupParseManifestTail(const char *text, size_t len, uint64_t *stopLsn, uint32_t *stopTimeline);

#endif
