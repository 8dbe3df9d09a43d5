#!/usr/bin/env bash
# tests/fuzz/make-seeds.sh [BUILD] - rewrite the seed corpora
# tests/fuzz/corpus/<target>/ (the tests never run this).
#
# Binary seeds come from a real repository: gen_seeds writes the fuzz
# fixture's key file and config (fixed keys, password "fuzz") into a new
# folder, build/lifeboat backs up a small tree into it twice and archives a
# WAL history file, and gen_seeds extracts every object and its plaintext.
# Text seeds (tar streams, backup_label, S3 answers, SigV4 fields, times,
# sizes) are written here. Existing corpora are replaced.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
LB=$PWD/$BUILD/lifeboat
GEN=$PWD/$BUILD/tests/fuzz/gen_seeds
CORPUS=$PWD/tests/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for t in pack blob index tree snapshot unpacked config keyfile lock wal tar pg_label s3_xml s3_http sigv4 time size; do
    rm -rf "${CORPUS:?}/$t"
    mkdir -p "$CORPUS/$t"
done

# ---- a repository written by lifeboat under the fixture's keys ----
"$GEN" init "$work/repo"
export LIFEBOAT_PASSWORD=fuzz
src=$work/src
mkdir -p "$src/dir/sub"
printf 'hello lifeboat\n' >"$src/a.txt"
printf 'x%.0s' $(seq 1 300) >"$src/dir/b.bin"
ln -s ../a.txt "$src/dir/link"
printf 'odd name\n' >"$src/dir/sub/$(printf 'n\xe9e')"
mkfifo "$src/fifo"
"$LB" -r "$work/repo" backup -q --tag fuzz "$src"
printf 'changed\n' >>"$src/a.txt"
"$LB" -r "$work/repo" backup -q --tag fuzz "$src"
printf '1\t0/3000000\tno recovery target specified\n' >"$work/00000002.history"
"$LB" -r "$work/repo" wal-push "$work/00000002.history" >/dev/null
"$GEN" extract "$work/repo" "$CORPUS"

# ---- text seeds ----
seed() { # target name mode(-: none) text
    local f=$CORPUS/$1/$2
    if [ "$3" = - ]; then printf '%s' "$4" >"$f"; else { printf "\\x$3"; printf '%s' "$4"; } >"$f"; fi
}
label='START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
CHECKPOINT LOCATION: 0/2000060
BACKUP METHOD: streamed
BACKUP FROM: primary
START TIME: 2026-12-03 07:00:00 UTC
LABEL: lifeboat
START TIMELINE: 1
'
manifest='{ "PostgreSQL-Backup-Manifest-Version": 1,
"Files": [
{ "Path": "backup_label", "Size": 225, "Last-Modified": "2026-12-03 07:00:00 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "c8d1b4a6" }
],
"WAL-Ranges": [
{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }
],
"Manifest-Checksum": "0d3f0e4b1c8a7e6d5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e"}
'
seed pg_label label 00 "$label"
seed pg_label manifest 01 "$manifest"
seed pg_label meta 02 '{"kind":"pg-physical","stream":"base.tar","format":"tar","server_version":"15.5","server_version_num":150005,"system_identifier":"7311223344556677889","wal_segment_size":16777216,"from_standby":false,"archive_mode":"on","wal_included":true,"timeline":1,"stop_timeline":1,"start_lsn":"0/2000028","stop_lsn":"0/2000100","start_wal":"000000010000000000000002","stop_wal":"000000010000000000000002","stop_lsn_source":"manifest","start_time":"2026-12-03T07:00:00.000000000Z","stop_time":"2026-12-03T07:00:01.500000000Z","next_xid_at_stop":"742","label":"lifeboat","manifest":true,"tar_bytes":40960,"tar_entries":5}'

# base backup tars as pg_basebackup writes them (ustar, 512-byte records)
pg=$work/pgdata
mkdir -p "$pg/global" "$pg/pg_wal"
printf '%s' "$label" >"$pg/backup_label"
printf '%s' "$manifest" >"$pg/backup_manifest"
printf 'PG_VERSION 15\n' >"$pg/PG_VERSION"
printf '\1\2\3' >"$pg/global/pg_control"
(cd "$pg" && tar --format=ustar -b 1 -cf "$work/base.tar" PG_VERSION backup_label global pg_wal backup_manifest)
(cd "$pg" && tar --format=gnu -b 1 -cf "$work/label-only.tar" ./backup_label)
{ printf '\x00'; cat "$work/base.tar"; } >"$CORPUS/tar/base-bytes"
{ printf '\x7f'; cat "$work/base.tar"; } >"$CORPUS/tar/base-slices"
{ printf '\x00'; cat "$work/label-only.tar"; } >"$CORPUS/tar/gnu-label"

# S3 answers (the shapes of the AWS S3 API reference)
seed s3_xml list 00 '<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>repo/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken><Contents><Key>repo/data/ab/a%2Bb+c%E2%9C%93</Key><LastModified>2026-12-03T07:00:00.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>4096</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>repo/config</Key><LastModified>2026-12-03T07:00:01.000Z</LastModified><ETag>"5d41402abc4b2a76b9719d911017c592-2"</ETag><Size>312</Size></Contents></ListBucketResult>'
seed s3_xml list-empty 00 '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>'
seed s3_xml error 01 '<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>bucket</BucketName><RequestId>tx0000000000000001</RequestId><HostId>1a2b-default</HostId></Error>'
seed s3_xml error-region 01 '<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region us-east-1 is wrong; expecting eu-west-1</Message><Region>eu-west-1</Region></Error>'
seed s3_xml delete 02 '<?xml version="1.0" encoding="UTF-8"?><DeleteResult><Deleted><Key>repo/locks/a</Key></Deleted><Error><Key>repo/locks/b</Key><Code>NoSuchKey</Code><Message>gone</Message></Error><Error><Key>repo/locks/c</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>'
seed s3_xml uploads 03 '<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>bucket</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>repo/data/ab/x</NextKeyMarker><NextUploadIdMarker>2~abc</NextUploadIdMarker><IsTruncated>true</IsTruncated><Upload><Key>repo/data/ab/x</Key><UploadId>2~abc</UploadId><Initiated>2026-12-03T07:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>'
seed s3_xml initiate 04 '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bucket</Bucket><Key>repo/data/ab/x</Key><UploadId>2~iCw_lDY8VoNQ1VqX0</UploadId></InitiateMultipartUploadResult>'

# blobs: type || flags || u32le raw length || plaintext (or zstd frame)
{ printf '\x00\x00\x0f\x00\x00\x00'; printf 'hello lifeboat\n'; } >"$CORPUS/blob/data-plain"
{ printf '\x01\x01\x2c\x01\x00\x00'; printf 'x%.0s' $(seq 1 300) | zstd -q -c; } >"$CORPUS/blob/tree-zstd"
{ printf '\x00\x01\x2c\x01\x00\x00'; printf 'x%.0s' $(seq 1 300) | zstd -q -c --no-content-size; } >"$CORPUS/blob/data-zstd-nosize"

# S3 response headers, one per line as libcurl passes them
printf 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 206 Partial Content\r\nContent-Length: 4096\r\nContent-Range: bytes 0-4095/1048576\r\nETag: "9b2cf535f27731c974343645a3985328"\r\nLast-Modified: Thu, 03 Dec 2026 07:00:00 GMT\r\nx-amz-meta-owner: fuzz\r\nContent-Type: application/octet-stream\r\nCache-Control: no-cache\r\n\r\n' >"$CORPUS/s3_http/get-range"
printf 'HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-west-1\r\nContent-Length: 0\r\n\r\n' >"$CORPUS/s3_http/redirect"
printf 'HTTP/1.1 200 OK\r\ncontent-length: 12\r\ncontent-range: bytes */12\r\nx-amz-meta-a:  spaced\tvalue \r\nContent-Disposition: attachment; filename="a b"\r\n\r\n' >"$CORPUS/s3_http/head"

# SigV4: method NUL path NUL query NUL (header NUL value)...
nul() { local IFS=$'\x01'; printf '%s' "$*" | tr '\001' '\000'; }
nul GET /bucket/repo/config 'list-type=2&prefix=repo%2F&encoding-type=url' host 127.0.0.1:7480 x-amz-date 20261203T070000Z x-amz-content-sha256 UNSIGNED-PAYLOAD >"$CORPUS/sigv4/list"
nul GET '/example/../a//b/./c%20d' 'Param2=value2&Param1=value1&a=%2B&b' Host example.amazonaws.com My-Header1 '  value1  with   spaces ' my-header1 value2 >"$CORPUS/sigv4/generic"
nul PUT '/bucket/data/ab/a%2Bb' 'partNumber=1&uploadId=2~abc' host s3.amazonaws.com content-md5 'XrY7u+Ae7tCTyyK7j1rNww==' >"$CORPUS/sigv4/part"

# times and sizes
seed time rfc3339 - '2026-11-23T14:05:00.123456789Z'
seed time offset - '2026-11-23T14:05:00+02:00'
seed time short - '2026-11-23 14:05'
seed time date - '2026-02-28'
seed time frac - '1999-12-31t23:59:59.5-0130'
seed size plain - '123'
seed size frac - '1.5G'
seed size mib - '16MiB'
seed size mb - '8MB'
seed size kb - '64k'
seed size tb - '2T'

# WAL names, LSNs and a segment header (modes 2 and 3 of fuzz_wal)
seed wal name-segment 02 '000000010000000000000003'
seed wal name-partial 02 '000000010000000000000003.partial'
seed wal name-backup 02 '000000010000000000000003.00000028.backup'
seed wal lsn 02 '16/B374D848'
{ printf '\x03'; printf '000000010000000000000002\0'
  printf '\x10\xd1\x06\x00\x01\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00'
  printf '\x00\x00\x00\x00\x00\x00\x00\x00\x79\x5a\x2b\x3c\x4d\x5e\x6f\x65'
  printf '\x00\x00\x00\x01\x00\x20\x00\x00'; } >"$CORPUS/wal/segment-header"

du -sh "$CORPUS"
for t in "$CORPUS"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) seeds, $(du -sk "$t" | cut -f1) KiB"; done
