#!/usr/bin/env bash
# bench/streamread.sh WORKDIR - how fast a stored dump is read back from an
# S3 repository compared with a local one (issue 15, Done-when 0): a
# throw-away PostgreSQL server (tests/harness/pg) with a `pgbench -i -s SCALE`
# database and a throw-away Ceph RGW (tests/harness/s3, memstore), both on
# 127.0.0.1. For every binary of BENCH_BINS and each repository (local
# directory, S3 bucket):
#   backup    lifeboat -v backup --pg URL      (the dump is streamed in, then
#             read back through pg_restore: the "verify" column is that read
#             back, from the -v line "verified the stored dump ... in X s")
#   restore   lifeboat restore latest --pg-target URL/NEWDB (createdb first,
#             untimed; the row count of pgbench_accounts checked, untimed)
#   restore-requests  (S3 only) the GET requests of one more, untimed
#             `restore --pg-target`, through tests/harness/s3/faultproxy.py
#             with no faults and its request log
#   filerestore  the uncompressed dump (pg_dump -Fc -Z0) backed up as a file,
#             then timed: lifeboat restore latest --target DIR (the directory
#             restore, planned by pack: a reference for what S3 costs here)
# and, once, plain `pg_restore -d NEWDB FILE` of a `pg_dump -Fc` file.
# Prints one line per binary, repository and step: "NAME REPO STEP SECONDS".
#
# Environment: SCALE (default 50), BENCH_BINS ("NAME=PATH ...", default
# "lifeboat=build/lifeboat"), BENCH_KEEP=1 keeps WORKDIR's servers' files.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
BENCH_NAME=streamread BENCH_RM='r-* out raw'
. "$here/pgs3lib.sh"

note "pgbench -i -s $SCALE"
createdb bench
pgbench -i -q -s "$SCALE" bench >"$W/pgbench.log" 2>&1
WANT=$(rows bench)
pg_dump -Fc -f "$W/plain.dump" bench
mkdir -p "$W/raw"
pg_dump -Fc -Z0 -f "$W/raw/dump" bench
note "dump: $(stat -c %s "$W/plain.dump") bytes, $WANT accounts"
createdb plain
t0=$(date +%s.%N)
pg_restore -d plain "$W/plain.dump"
echo "pg_restore file restore $(secs "$t0" "$(date +%s.%N)")"
dropdb plain

n=0
for b in $BENCH_BINS; do
    name=${b%%=*} bin=${b#*=}
    cp "$bin" "$W/lifeboat-$name"
    for where in local s3; do
        n=$((n + 1))
        if [[ $where == local ]]; then R=$W/r-$name; else R=s3:$S3_ENDPOINT/streamread/$name; fi
        "$W/lifeboat-$name" -r "$R" init --kdf-n 1024 -q
        t0=$(date +%s.%N)
        "$W/lifeboat-$name" -v -r "$R" backup --pg "$(url bench)" >"$W/backup-$name-$where.log" 2>&1
        echo "$name $where backup $(secs "$t0" "$(date +%s.%N)")"
        v=$(sed -n 's/.*verified the stored dump .* in \([0-9.]*\) s.*/\1/p' "$W/backup-$name-$where.log")
        echo "$name $where verify ${v:-?}"
        createdb "r$n"
        t0=$(date +%s.%N)
        "$W/lifeboat-$name" -r "$R" restore latest --pg-target "$(url "r$n")" >"$W/restore-$name-$where.log" 2>&1
        echo "$name $where restore $(secs "$t0" "$(date +%s.%N)")"
        got=$(rows "r$n")
        [[ $got == "$WANT" ]] || note "RESTORE CHECK FAILED: $name $where: $got rows, not $WANT"
        dropdb "r$n"
        if [[ $where == s3 ]]; then
            createdb "c$n"
            : >"$W/proxy.log"
            "$W/lifeboat-$name" -r "s3:http://127.0.0.1:$(cat "$W/proxy.port")/streamread/$name" restore latest \
                --pg-target "$(url "c$n")" >"$W/counted-$name.log" 2>&1
            sleep 0.2
            echo "$name $where restore-requests $(grep -c '^GET [^ ]*/data/' "$W/proxy.log") pack GETs, $(grep -c '^GET ' "$W/proxy.log") GETs in all"
            dropdb "c$n"
        fi
        # the reference: the same bytes as a file, restored into a directory (pack-planned)
        "$W/lifeboat-$name" -r "$R" backup "$W/raw" -q
        rm -rf "$W/out"
        t0=$(date +%s.%N)
        "$W/lifeboat-$name" -r "$R" restore latest --target "$W/out" -q
        echo "$name $where filerestore $(secs "$t0" "$(date +%s.%N)")"
        cmp -s "$W/raw/dump" "$W/out$W/raw/dump" || note "FILE RESTORE DIFFERS: $name $where"
    done
done
