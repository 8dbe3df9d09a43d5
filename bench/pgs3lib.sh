# bench/pgs3lib.sh - sourced by bench/streamread.sh and bench/s3ratio.sh
# (set BENCH_NAME and BENCH_RM first): a throw-away PostgreSQL server
# (tests/harness/pg) and a throw-away Ceph RGW (tests/harness/s3, memstore),
# both on 127.0.0.1 under WORKDIR ($1, made afresh; W after this), their
# settings exported (PG*, AWS_* keys, LIFEBOAT_PASSWORD and
# LIFEBOAT_FROM_PASSWORD, XDG_CACHE_HOME=$W/cache), and the harness's proxy
# (tests/harness/s3/faultproxy.py, no faults) in front of RGW, on the port
# in $W/proxy.port, logging each request to $W/proxy.log. Everything is
# stopped on exit, and BENCH_RM (paths below W) removed unless BENCH_KEEP=1.
# Helpers: note MSG, url DB, rows DB (pgbench_accounts), secs T0 T1, ratio A B.
# Environment: SCALE (default 50), BENCH_BINS ("NAME=PATH ...", default
# "lifeboat=build/lifeboat"), PG_BIN.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=${1:?usage: bench/$BENCH_NAME.sh WORKDIR}
SCALE=${SCALE:-50}
BENCH_BINS=${BENCH_BINS:-lifeboat=$root/build/lifeboat}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
rm -rf "$W"
mkdir -p "$W"
W=$(readlink -f "$W")
note() { echo "bench $BENCH_NAME: $*" >&2; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() {
    set +e
    [[ -z ${PROXY_PID:-} ]] || kill "$PROXY_PID" 2>/dev/null
    bash "$root/tests/harness/pg/stop.sh" "$W/pg" >/dev/null 2>&1
    "$root/tests/harness/s3/stop.sh" "$W/s3" --rm >/dev/null 2>&1
    if [[ ${BENCH_KEEP:-0} != 1 ]]; then
        local parts p
        set -f
        parts=($BENCH_RM)
        set +f
        for p in pg "${parts[@]}"; do rm -rf "${W:?}/"$p; done # globs below W
    fi
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
export LIFEBOAT_PASSWORD=bench-$BENCH_NAME LIFEBOAT_FROM_PASSWORD=bench-$BENCH_NAME XDG_CACHE_HOME=$W/cache
python3 "$root/tests/harness/s3/faultproxy.py" --upstream "${S3_ENDPOINT#http://}" --every 1000000000 \
    --log "$W/proxy.log" --port-file "$W/proxy.port" >"$W/proxy.out" 2>&1 &
PROXY_PID=$!
url() { echo "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$1"; }
rows() { psql -X -q -A -t -d "$1" -c "SELECT count(*) FROM pgbench_accounts"; }
secs() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
ratio() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
