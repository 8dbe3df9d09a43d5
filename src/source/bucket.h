/*
 * bucket.h - an S3 bucket (or a prefix of one) as a backup source, and the
 * mapping between object keys and tree names that the restore target
 * (restore/bucket_target.h) reverses.
 *
 * `lifeboat backup s3:https://HOST/BUCKET/PREFIX/` lists every object under
 * "PREFIX/" and stores it as a file of the snapshot: the key's '/'-separated
 * segments (after "PREFIX/") become directories and the last one the file,
 * each escaped into a safe tree name (bucketNameEscape). The file node
 * carries the size, mtime_ns = Last-Modified, and the object's ETag and
 * metadata headers as xattrs (bucketHeaderToXattr). Object bodies are read
 * with ranged GETs of BUCKET_RANGE_SIZE fed straight into the chunker; the
 * metadata headers come with the first GET's answer (no HEAD). Several
 * objects are fetched at once, ahead of the chunking, in listing order. An
 * object whose key, size, ETag and Last-Modified equal the parent
 * snapshot's node is not read at all (no GET, no HEAD): its content list and
 * xattrs are taken from the parent.
 *
 * Ownership: a BucketSource owns its S3 client (credentials are wiped when
 * it is freed); strings returned by the getters are owned by it.
 * Nothing here prints the secret key or the session token.
 */
#ifndef LIFEBOAT_SOURCE_BUCKET_H
#define LIFEBOAT_SOURCE_BUCKET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"
#include "source/source.h"
#include "storage/options.h"

/* The bytes asked for by one ranged GET. */
#define BUCKET_RANGE_SIZE (8u << 20)

/* Snapshot meta "type" of a bucket snapshot: its names are escaped keys. */
#define BUCKET_META_TYPE "s3-bucket"

/* The xattr holding an object's ETag (without quotes). */
#define BUCKET_XATTR_ETAG "s3.etag"

/* Is arg a bucket location ("s3:...") rather than a path? */
bool bucketSourceIsLocation(const char *arg);

typedef struct BucketSource BucketSource;

/* Parse location (s3:https://HOST[:PORT]/BUCKET[/PREFIX][/] or
 * s3:BUCKET[/PREFIX] for AWS), with the storage settings given (the S3
 * part: region, path style, CA bundle, credentials, ... as for
 * repositories; the retry part for bucketRetryAgain; NULL: defaults, no
 * credentials), and find the credentials. No request is sent. Fails with
 * LB_ERR_ARGS or LB_ERR_AUTH. Free with bucketSourceFree (NULL is a no-op). */
BucketSource *bucketSourceNew(const char *location, const StorageOptions *opts, LbError *err);
void bucketSourceFree(BucketSource *src);

/* The path recorded in the snapshot: "s3://BUCKET" or "s3://BUCKET/PREFIX"
 * (no endpoint, no credentials). */
const char *bucketSourcePath(const BucketSource *src);

/* The source view for the archiver (borrows src): it lists every object
 * and yields it as a file (source/source.h). Objects that cannot be read
 * (access denied, changed while being read) are reported unreadable and
 * skipped; an object deleted between the listing and its GET is left out.
 * Its walk fails on a listing error. The snapshot's meta is
 * bucketSourceMeta. Back up a bucket as the only source of a run. */
Source bucketSourceSource(BucketSource *src);

/* The snapshot's meta for the last run: {"type":"s3-bucket", "endpoint",
 * "bucket", "prefix", "objects", "bytes", "key_escaping"}. New reference. */
json_t *bucketSourceMeta(const BucketSource *src);

/* ---- key segments <-> tree names ----
 * A segment that is a safe tree name and holds no '%' is its own name.
 * Otherwise '%' becomes "%25", the empty segment (from "a//b" or a key
 * ending in '/') becomes "%", "." becomes "%2E" and ".." "%2E%2E". A file
 * whose name is also a directory's (objects "a" and "a/b") gets a '%'
 * appended ("a%"): no escaped name ends in a lone '%' otherwise. */

/* The tree name of a key segment (len bytes, no '/'). Caller frees. */
char *bucketNameEscape(const char *segment, size_t len);

/* Append the key segment of a tree name to out (no NUL added). A trailing
 * '%' marking a file that shares a directory's name is dropped. */
void bucketNameUnescape(const char *name, LbBuf *out);

/* Object header ("content-type", "x-amz-meta-owner") to xattr name
 * ("s3.content-type", "s3.meta.owner") and back; bucketXattrToHeader gives
 * NULL for xattrs that are not object headers (s3.etag, foreign ones).
 * Callers free. */
char *bucketHeaderToXattr(const char *header);
char *bucketXattrToHeader(const char *xattr);

/* Retry helper around S3 calls: after a failure in err, wait and return
 * true when another attempt is worth it (a transient error and attempts
 * left under retry, as for storage; NULL: the defaults); *attempt counts
 * retries, start it at 0. Logs a warning per retry. */
bool bucketRetryAgain(const StorageRetryOptions *retry, int *attempt, const LbError *err);

#endif
