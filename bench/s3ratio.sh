#!/usr/bin/env bash
# bench/s3ratio.sh WORKDIR - the S3 / local ratios of issue 15's Done-when 0
# in one run: dump verification, `restore --pg-target` and `copy` of a
# pgbench dump snapshot, each against an S3 repository (a throw-away Ceph
# RGW, tests/harness/s3, memstore) and a local one, both on 127.0.0.1, with a
# throw-away PostgreSQL server (tests/harness/pg) holding `pgbench -i -s SCALE`.
# For every binary of BENCH_BINS and each repository R (local directory, S3
# bucket):
#   verify    lifeboat -v -r R backup --pg URL: the "verified the stored dump
#             ... in X s" line (the dump read back through pg_restore)
#   restore   lifeboat -r R restore latest --pg-target URL/NEWDB (createdb
#             first, untimed; the row count of pgbench_accounts checked, untimed)
#   copy      lifeboat -r NEWLOCAL copy --from-repo R, into an empty local
#             repository of its own chunker secret (the dump is re-chunked)
#   copy-same the same into one made with `init --copy-chunker-params
#             --from-repo R` (blobs copied as they are cut)
# (a restore of each copy checked, untimed) and, from S3, the GET requests
# of one more copy of each kind (untimed) through tests/harness/s3/faultproxy.py
# with no faults and its request log, with the repository's data blob count. Prints "NAME REPO STEP SECONDS" per
# step, then "NAME ratio STEP S3/LOCAL" per step. The local cache
# (XDG_CACHE_HOME under WORKDIR) is warm for the S3 runs: the backup filled it.
#
# Environment: SCALE (default 50), BENCH_BINS ("NAME=PATH ...", default
# "lifeboat=build/lifeboat"), BENCH_KEEP=1 keeps WORKDIR's servers' files.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
W=${1:?usage: bench/s3ratio.sh WORKDIR}
SCALE=${SCALE:-50}
BENCH_BINS=${BENCH_BINS:-lifeboat=$root/build/lifeboat}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
rm -rf "$W"
mkdir -p "$W"
W=$(readlink -f "$W")
note() { echo "bench s3ratio: $*" >&2; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() {
    set +e
    bash "$root/tests/harness/pg/stop.sh" "$W/pg" >/dev/null 2>&1
    "$root/tests/harness/s3/stop.sh" "$W/s3" --rm >/dev/null 2>&1
    [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$W/pg" "$W/r-"* "$W/c-"*
}
trap cleanup EXIT
bash "$root/tests/harness/pg/start.sh" "$W/pg" "$PORT" >"$W/pg.start.log" 2>&1 || {
    cat "$W/pg.start.log" >&2
    exit 1
}
S3_ACCESS_KEY=bench-ak S3_SECRET_KEY=bench-sk "$root/tests/harness/s3/start.sh" "$W/s3" >"$W/s3.start.log" 2>&1 || {
    tail -20 "$W/s3.start.log" >&2
    exit 1
}
. "$W/pg/pg.env"
. "$W/s3/s3.env"
export PGHOST PGPORT PGUSER PATH=$PG_BIN:$PATH
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY LIFEBOAT_S3_REGION=$S3_REGION
unset AWS_SESSION_TOKEN AWS_PROFILE LIFEBOAT_REPOSITORY LIFEBOAT_FROM_REPOSITORY LIFEBOAT_TEST_FAULTS
export LIFEBOAT_PASSWORD=bench-s3ratio LIFEBOAT_FROM_PASSWORD=bench-s3ratio XDG_CACHE_HOME=$W/cache
python3 "$root/tests/harness/s3/faultproxy.py" --upstream "${S3_ENDPOINT#http://}" --every 1000000000 \
    --log "$W/proxy.log" --port-file "$W/proxy.port" >"$W/proxy.out" 2>&1 &
PROXY_PID=$!
trap 'kill $PROXY_PID 2>/dev/null; cleanup' EXIT
url() { echo "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$1"; }
rows() { psql -X -q -A -t -d "$1" -c "SELECT count(*) FROM pgbench_accounts"; }
secs() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
ratio() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }

note "pgbench -i -s $SCALE"
createdb bench
pgbench -i -q -s "$SCALE" bench >"$W/pgbench.log" 2>&1
WANT=$(rows bench)

n=0
declare -A T
for b in $BENCH_BINS; do
    name=${b%%=*} bin=${b#*=}
    cp "$bin" "$W/lifeboat-$name"
    LB=$W/lifeboat-$name
    for where in local s3; do
        n=$((n + 1))
        if [[ $where == local ]]; then R=$W/r-$name; else R=s3:$S3_ENDPOINT/s3ratio/$name; fi
        "$LB" -r "$R" init --kdf-n 1024 -q
        "$LB" -v -r "$R" backup --pg "$(url bench)" >"$W/backup-$name-$where.log" 2>&1
        v=$(sed -n 's/.*verified the stored dump .* in \([0-9.]*\) s.*/\1/p' "$W/backup-$name-$where.log")
        T[$name.$where.verify]=${v:-0}
        echo "$name $where verify ${v:-?}"
        createdb "r$n"
        t0=$(date +%s.%N)
        "$LB" -r "$R" restore latest --pg-target "$(url "r$n")" >"$W/restore-$name-$where.log" 2>&1
        T[$name.$where.restore]=$(secs "$t0" "$(date +%s.%N)")
        echo "$name $where restore ${T[$name.$where.restore]}"
        got=$(rows "r$n")
        [[ $got == "$WANT" ]] || note "RESTORE CHECK FAILED: $name $where: $got rows, not $WANT"
        dropdb "r$n"
        # copy into a plain repository (its own chunker secret: the files are
        # re-chunked) and into one made with --copy-chunker-params (blobs kept)
        for kind in copy copy-same; do
            C=$W/c-$name-$where-$kind
            if [[ $kind == copy ]]; then
                "$LB" -r "$C" init --kdf-n 1024 -q
            else
                "$LB" -r "$C" init --kdf-n 1024 --copy-chunker-params --from-repo "$R" -q
            fi
            t0=$(date +%s.%N)
            "$LB" -r "$C" copy --from-repo "$R" -q >"$W/$kind-$name-$where.log" 2>&1
            T[$name.$where.$kind]=$(secs "$t0" "$(date +%s.%N)")
            echo "$name $where $kind ${T[$name.$where.$kind]}"
            createdb "k$n"
            "$LB" -r "$C" restore latest --pg-target "$(url "k$n")" >>"$W/$kind-$name-$where.log" 2>&1
            got=$(rows "k$n")
            [[ $got == "$WANT" ]] || note "COPY CHECK FAILED: $name $where $kind: $got rows, not $WANT"
            dropdb "k$n"
            rm -rf "$C"
            [[ $where == s3 ]] || continue
            # the requests of one more copy from S3, untimed
            if [[ $kind == copy ]]; then
                "$LB" -r "$C" init --kdf-n 1024 -q
            else
                "$LB" -r "$C" init --kdf-n 1024 --copy-chunker-params --from-repo "$R" -q
            fi
            : >"$W/proxy.log"
            "$LB" -r "$C" copy --from-repo "s3:http://127.0.0.1:$(cat "$W/proxy.port")/s3ratio/$name" \
                -q >"$W/$kind-counted-$name.log" 2>&1
            sleep 0.2
            blobs=$("$LB" -r "$R" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["data_blobs"])')
            echo "$name $where $kind-requests $(grep -c '^GET [^ ]*/data/' "$W/proxy.log") pack GETs," \
                "$(grep -c '^GET ' "$W/proxy.log") GETs in all, $blobs data blobs in the repository"
            rm -rf "$C"
        done
    done
    for step in verify restore copy copy-same; do
        echo "$name ratio $step $(ratio "${T[$name.s3.$step]}" "${T[$name.local.$step]}")"
    done
done
