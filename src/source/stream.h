/*
 * stream.h - byte streams as a backup source: stdin, a command's output,
 * pg_dump's output, pg_basebackup's tar. Each stream is read to its end and
 * stored as one regular file at the top of the snapshot, owned by the
 * current user, with the time of the backup as its mtime and ctime.
 *
 * A stream cannot be read twice: a read error fails the backup.
 */
#ifndef LIFEBOAT_SOURCE_STREAM_H
#define LIFEBOAT_SOURCE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "source/source.h"

/* A byte stream stored as one regular file at the top of the snapshot. */
typedef struct SourceStream {
    const char *name; /* a plain file name, unique in the source */
    int fd;           /* read to its end; not closed */
    uint32_t mode;    /* permission bits recorded, 0 = 0644 */
} SourceStream;

/* The streams of one source (borrowed; they must outlive the run). */
typedef struct StreamSource {
    const SourceStream *streams;
    size_t count;
} StreamSource;

/* The source view for the archiver (borrows src). Its check fails
 * (LB_ERR_ARGS) on a name that is not a plain file name or is given twice;
 * its walk fails (LB_ERR_IO) when a stream cannot be read. */
Source streamSourceSource(const StreamSource *src);

#endif
