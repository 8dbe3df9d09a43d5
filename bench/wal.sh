#!/usr/bin/env bash
# bench/wal.sh WORKDIR - WAL throughput and WAL prefetch, lifeboat beside
# pgBackRest (issue 14, Done-when 1 and 5). bench/run.sh calls it
# (BENCH_WAL=1); it also runs on its own: `nice -n 10 bench/wal.sh /var/tmp/walbench`.
#
# 1. Archiving under load, for each target (local repository, then the S3
#    server: Ceph RGW from tests/harness/s3, given a TLS endpoint here because
#    pgBackRest only speaks HTTPS to S3) and each tool:
#      lifeboat    archive_command = lifeboat wal-push --async --ahead P --spool DIR %p
#      pgbackrest  archive_command = pgbackrest archive-push %p, archive-async=y,
#                  process-max=P (archive-push), zst level 3, aes-256-cbc
#    a fresh PostgreSQL server (tests/harness/pg: fsync off, synchronous_commit
#    off; here max_wal_size 64MB, min_wal_size 32MB, checkpoint_timeout 30s so
#    checkpoints and full-page images come often), pgbench -i -s SCALE (not
#    measured, archived before the load starts), then `pgbench -c CLIENTS -j 2
#    -T SECONDS` unthrottled while pg_stat_archiver is sampled every second:
#    the segment being written (pg_current_wal_lsn) against last_archived_wal.
#    Lag = segments finished but not yet archived. After the load, the drain:
#    pg_switch_wal() and the time until that segment is archived.
# 2. Recovery from S3 (FETCH consecutive segments of each tool's archive,
#    about FETCH x 16 MiB): restore_command as PostgreSQL calls it, one
#    segment at a time, in a loop; each call's file is then removed, as
#    recovery does. lifeboat wal-fetch with and without --prefetch 32 --spool;
#    pgbackrest archive-get with and without archive-async
#    (archive-get-queue-max 1GiB, process-max P).
# Writes WORKDIR/wal/wal.tsv, WORKDIR/wal/wal.md (a Markdown section) and,
# with BENCH_OUT, replaces the section "## WAL archiving and prefetch" of that
# file with it. Logs in WORKDIR/wal/logs.
#
# Environment:
#   BENCH_WAL_SECONDS   pgbench -T per configuration and load (default 120: with the two loads, four minutes of pgbench per tool and target)
#   BENCH_WAL_CLIENTS   pgbench -c (default 8)
#   BENCH_WAL_SCALE     pgbench -i -s (default 10)
#   BENCH_WAL_PARALLEL  parallel pushes/fetches of both tools (default 4)
#   BENCH_WAL_TARGETS   "local s3" (default)
#   BENCH_WAL_TOOLS     "lifeboat pgbackrest" (default)
#   BENCH_WAL_FETCH     segments in the recovery step (default 128; 0: skip)
#   BENCH_WAL_LOADS     "tpcb insert" (default): pgbench's TPC-B-like script with
#                       BENCH_WAL_CLIENTS clients, then bulk inserts (4 clients,
#                       2,000 rows of 72 bytes per transaction): the most WAL per
#                       second pgbench makes here
#   BENCH_OUT           Markdown file to splice the section into (default: none)
#   LIFEBOAT_BIN        lifeboat binary (default build/lifeboat)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
W=${1:?usage: bench/wal.sh WORKDIR}
SECONDS_LOAD=${BENCH_WAL_SECONDS:-120}
CLIENTS=${BENCH_WAL_CLIENTS:-8}
SCALE=${BENCH_WAL_SCALE:-10}
PAR=${BENCH_WAL_PARALLEL:-4}
TARGETS=${BENCH_WAL_TARGETS:-local s3}
TOOLS=${BENCH_WAL_TOOLS:-lifeboat pgbackrest}
FETCH=${BENCH_WAL_FETCH:-128}
LOADS=${BENCH_WAL_LOADS:-tpcb insert}
BENCH_OUT=${BENCH_OUT:-}
LIFEBOAT_BIN=${LIFEBOAT_BIN:-$root/build/lifeboat}
PGH=$root/tests/harness/pg
S3H=$root/tests/harness/s3
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}

die() {
    echo "bench wal: error: $*" >&2
    exit 1
}
note() { echo "bench wal: $*" >&2; }
[[ -x $PG_BIN/initdb ]] || die "PostgreSQL server binaries are missing"
[[ -x $LIFEBOAT_BIN ]] || die "lifeboat binary '$LIFEBOAT_BIN' not found"
command -v pgbackrest >/dev/null || die "pgbackrest is missing"

mkdir -p "$W"
W=$(readlink -f "$W")
P=$W/wal
rm -rf "$P"
mkdir -p "$P/logs"
LOGS=$P/logs
TSV=$P/wal.tsv
cp "$(readlink -f "$LIFEBOAT_BIN")" "$P/lifeboat"
LB=$P/lifeboat
chmod 755 "$W" "$P"
RUNAS=""
[[ $(id -u) == 0 ]] && RUNAS=postgres
as_pg() { if [[ -n $RUNAS ]]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }
own() { [[ -z $RUNAS ]] || chown -R "$RUNAS": "$@"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

S3DIR=$P/s3
SERVERS=()
cleanup() {
    local rc=$? s
    set +e
    for s in "${SERVERS[@]+"${SERVERS[@]}"}"; do bash "$PGH/stop.sh" "$s" >/dev/null 2>&1; done
    # our background pushers and prefetchers, and pgBackRest's async processes:
    # by this run's folder in their command line
    for s in $(pgrep -x lb-wal-pusher; pgrep -x lb-wal-prefetch; pgrep -x pgbackrest); do
        grep -qs "$P/" "/proc/$s/cmdline" && kill "$s"
    done
    [[ -d $S3DIR ]] && "$S3H/stop.sh" "$S3DIR" >/dev/null 2>&1
    [[ ${BENCH_KEEP:-0} == 1 ]] || rm -rf "$P/run"
    exit $rc
}
trap cleanup EXIT

PW=$P/password
echo "lifeboat-wal-bench-password" >"$PW"
chmod 644 "$PW" # the server's user reads it (a bench: in production 0600 owned by postgres)
PGBR_CIPHER=pgbackrest-wal-bench-passphrase

# ------------------------------------------------------------------ S3 server
S3_TLS=""
if [[ " $TARGETS " == *" s3 "* ]]; then
    note "starting the S3 server (Ceph RGW)"
    S3_ACCESS_KEY=walbench S3_SECRET_KEY="walbench-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" \
        CEPH_OBJECTSTORE=${BENCH_WAL_S3_OBJECTSTORE:-memstore} CEPH_MEMSTORE_SIZE=${BENCH_WAL_S3_SIZE:-16G} \
        "$S3H/start.sh" "$S3DIR" >"$LOGS/s3.start.log" 2>&1 || {
        tail -n 20 "$LOGS/s3.start.log" >&2
        die "could not start the S3 server"
    }
    . "$S3DIR/s3.env"
    chmod 755 "$S3DIR"
    # pgBackRest speaks HTTPS only: a self-signed certificate and a TLS
    # endpoint beside the plain one; both tools use the TLS one
    TLSPORT=$(freeport)
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$S3DIR/tls.key" -out "$S3DIR/tls.crt" -days 2 \
        -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$LOGS/tls.log" 2>&1
    chmod 644 "$S3DIR/tls.crt"
    sed -i "s|^rgw frontends = beast endpoint=127.0.0.1:[0-9]*|& ssl_endpoint=127.0.0.1:$TLSPORT ssl_certificate=$S3DIR/tls.crt ssl_private_key=$S3DIR/tls.key|" "$S3DIR/ceph.conf"
    rgwpid=$(cat "$S3DIR/run/client.rgw.gw.pid")
    kill "$rgwpid"
    for i in $(seq 1 100); do kill -0 "$rgwpid" 2>/dev/null || break; sleep 0.1; done
    timeout 60 radosgw -c "$S3DIR/ceph.conf" -n client.rgw.gw >>"$LOGS/s3.start.log" 2>&1 || die "radosgw did not restart"
    for i in $(seq 1 100); do curl -sk -o /dev/null -m 2 "https://127.0.0.1:$TLSPORT/" && break; sleep 0.2; done
    curl -sk -o /dev/null -m 2 "https://127.0.0.1:$TLSPORT/" || die "radosgw does not answer on its TLS endpoint"
    S3_TLS=https://127.0.0.1:$TLSPORT
    CREDS=$P/aws-credentials
    printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$CREDS"
    chmod 644 "$CREDS" # read by the server's user (a bench; in production 0600)
    mkbucket() {
        local empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        curl -sk -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
            -H "x-amz-content-sha256: $empty" "$S3_TLS/$1" >/dev/null
    }
    mkbucket lbwal
    mkbucket pgbrwal
    note "S3 server up, TLS endpoint $S3_TLS"
fi
lbenv() { # the environment lifeboat gets for a target (never a secret inline)
    echo "LIFEBOAT_PASSWORD_FILE=$PW"
    if [[ $1 == s3 ]]; then
        echo "LIFEBOAT_REPOSITORY=s3:$S3_TLS/lbwal/repo AWS_SHARED_CREDENTIALS_FILE=$CREDS"
        echo "LIFEBOAT_S3_REGION=us-east-1 LIFEBOAT_S3_CA_BUNDLE=$S3DIR/tls.crt"
    else
        echo "LIFEBOAT_REPOSITORY=$P/run/lifeboat-local/repo"
    fi
}
pgbr_conf() { # pgbr_conf TARGET DIR SRV PORT: write DIR/pgbackrest.conf
    local t=$1 d=$2 srv=$3 port=$4
    {
        echo "[global]"
        if [[ $t == s3 ]]; then
            echo "repo1-type=s3"
            echo "repo1-path=/repo"
            echo "repo1-s3-bucket=pgbrwal"
            echo "repo1-s3-endpoint=localhost" # pgBackRest matches the name, not an IP, to the certificate
            echo "repo1-storage-port=$TLSPORT"
            echo "repo1-s3-uri-style=path"
            echo "repo1-s3-region=us-east-1"
            echo "repo1-s3-key=$S3_ACCESS_KEY"
            echo "repo1-s3-key-secret=$S3_SECRET_KEY"
            echo "repo1-storage-ca-file=$S3DIR/tls.crt"
        else
            echo "repo1-path=$d/repo"
        fi
        echo "repo1-cipher-type=aes-256-cbc"
        echo "repo1-cipher-pass=$PGBR_CIPHER"
        echo "compress-type=zst"
        echo "compress-level=3"
        echo "archive-async=y"
        echo "spool-path=$d/spool"
        echo "log-path=$d/log"
        echo "lock-path=$d/lock"
        echo "log-level-console=warn"
        echo "log-level-file=info"
        echo "[global:archive-push]"
        echo "process-max=$PAR"
        echo "[global:archive-get]"
        echo "process-max=$PAR"
        echo "archive-get-queue-max=1GiB"
        echo "[bench]"
        echo "pg1-path=$srv/data"
        echo "pg1-socket-path=$srv/run"
        echo "pg1-port=$port"
    } >"$d/pgbackrest.conf"
    chmod 640 "$d/pgbackrest.conf"
    own "$d"
}

printf 'kind\ttool\ttarget\tkey\tvalue\n' >"$TSV"
put() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$TSV"; }

# segment number of a WAL file name (16 MiB segments)
segno() { python3 -c 'import sys; n=sys.argv[1]; print(int(n[8:16],16)*256+int(n[16:24],16))' "$1"; }
segname() { python3 -c 'import sys; s=int(sys.argv[1]); print("00000001%08X%08X" % (s//256, s%256))' "$1"; }

# ------------------------------------------------------------ 1. archiving
# switch_wait: end the current segment and wait until it is archived (psql_ of the caller)
switch_wait() {
    local sw i
    sw=$(psql_ -d postgres -c "SELECT pg_walfile_name(pg_switch_wal())")
    for i in $(seq 1 6000); do
        [[ ! "$(psql_ -d postgres -c "SELECT coalesce(last_archived_wal, '0') FROM pg_stat_archiver")" < "$sw" ]] && return 0
        sleep 0.1
    done
    return 1
}
field() { awk -F'\t' -v a="$1" -v b="$2" -v k="$3" '$1=="push" && $2==a && $3==b && $4==k {print $5}' "$TSV"; }
# measure_load TOOL TARGET LOAD DIR SRV PORT: one pgbench run with the archiver sampled
measure_load() {
    local tool=$1 t=$2 load=$3 d=$4 srv=$5 port=$6
    local samples=$d/samples-$load.txt args=()
    rm -f "$d/stop"
    case $load in
    tpcb) args=(-c "$CLIENTS" -j 2) ;;
    insert) # bulk inserts: the most WAL per second pgbench makes here
        psql_ -d bench -c "DROP TABLE IF EXISTS wal_load; CREATE TABLE wal_load (id int, pad text)" >/dev/null
        echo "INSERT INTO wal_load SELECT g, md5(g::text) || md5(random()::text) FROM generate_series(1, 2000) g;" >"$d/insert.sql"
        args=(-c 4 -j 2 -n -f "$d/insert.sql") ;;
    *) die "unknown load '$load' (tpcb, insert)" ;;
    esac
    note "$tool $t: $load load ${SECONDS_LOAD}s (pgbench ${args[*]})"
    (
        while [[ ! -e $d/stop ]]; do
            psql_ -d postgres -F ' ' -c "SELECT extract(epoch from clock_timestamp()), pg_walfile_name(pg_current_wal_lsn()), coalesce(last_archived_wal, '-'), archived_count, failed_count FROM pg_stat_archiver" >>"$samples" 2>/dev/null
            sleep 1
        done
    ) &
    local sampler=$!
    local t0 t1 t2
    t0=$(now)
    "$PG_BIN/pgbench" -h "$srv/run" -p "$port" -U postgres "${args[@]}" -T "$SECONDS_LOAD" bench >"$LOGS/$tool-$t-$load.pgbench.log" 2>&1
    t1=$(now)
    switch_wait || note "$tool $t $load: the last segment was not archived within 10 minutes"
    t2=$(now)
    touch "$d/stop"
    wait "$sampler"
    local tps
    tps=$(grep -o 'tps = [0-9.]*' "$LOGS/$tool-$t-$load.pgbench.log" | head -n 1 | cut -d' ' -f3)
    python3 - "$samples" "$t0" "$t1" "$t2" "$tool" "$t:$load" "$tps" >>"$TSV" <<'PY'
import sys
path, t0, t1, t2, tool, target, tps = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
def segno(n): return int(n[8:16], 16) * 256 + int(n[16:24], 16)
rows = []
for line in open(path):
    f = line.split()
    if len(f) != 5 or f[2] == '-':
        continue
    rows.append((float(f[0]), segno(f[1]), segno(f[2]), int(f[3]), int(f[4])))
load = [r for r in rows if t0 <= r[0] <= t1]
lags = [max(0, r[1] - r[2] - 1) for r in load]
dur = t1 - t0
gen = (load[-1][1] - load[0][1]) if len(load) > 1 else 0
arch = (load[-1][3] - load[0][3]) if len(load) > 1 else 0
span = (load[-1][0] - load[0][0]) if len(load) > 1 else 1
out = {
    "tps": "%.0f" % float(tps) if tps else "", "seconds": "%.1f" % dur, "samples": len(load),
    "generated_seg_s": "%.2f" % (gen / span), "archived_seg_s": "%.2f" % (arch / span),
    "lag_max": max(lags) if lags else "", "lag_avg": "%.2f" % (sum(lags) / len(lags)) if lags else "",
    "drain_s": "%.1f" % (t2 - t1), "failed": (load[-1][4] - load[0][4]) if len(load) > 1 else 0,
    "first": "%08X%08X%08X" % (1, rows[0][2] // 256, rows[0][2] % 256) if rows else "",
    "last": "%08X%08X%08X" % (1, rows[-1][2] // 256, rows[-1][2] % 256) if rows else "",
}
for k, v in out.items():
    print("push\t%s\t%s\t%s\t%s" % (tool, target, k, v))
PY
    note "$tool $t $load: $(awk -F'\t' -v a="$tool" -v b="$t:$load" '$1=="push" && $2==a && $3==b {printf "%s=%s ", $4, $5}' "$TSV")"
}
declare -A FIRST LAST # per tool-target: first and last segment archived under load
run_push() {
    local tool=$1 t=$2 d=$P/run/$tool-$t srv port arch sql env
    d=$P/run/$tool-$t
    srv=$d/server
    port=$(freeport)
    rm -rf "$d"
    mkdir -p "$d/spool" "$d/log" "$d/lock"
    chmod 700 "$d/spool"
    if [[ $tool == lifeboat ]]; then
        env=$(lbenv "$t" | tr '\n' ' ')
        [[ $t == local ]] && mkdir -p "$P/run/lifeboat-local"
        # default key derivation (scrypt N=32768): what a real repository costs per open
        env $env "$LB" init -q >"$LOGS/$tool-$t.init.log" 2>&1 || { cat "$LOGS/$tool-$t.init.log" >&2; die "lifeboat init ($t)"; }
        [[ $t == local ]] && own "$P/run/lifeboat-local"
        arch="env $env $LB wal-push --async --ahead $PAR --spool $d/spool %p"
    else
        pgbr_conf "$t" "$d" "$srv" "$port"
        arch="pgbackrest --config=$d/pgbackrest.conf --stanza=bench archive-push %p"
    fi
    own "$d"
    SERVERS+=("$srv")
    PG_ARCHIVE_COMMAND=$arch PG_EXTRA_CONF="max_wal_size = 64MB
min_wal_size = 32MB
checkpoint_timeout = 30s
max_connections = 40" bash "$PGH/start.sh" "$srv" "$port" >"$LOGS/$tool-$t.pgstart.log" 2>&1 || {
        cat "$LOGS/$tool-$t.pgstart.log" >&2
        die "could not start PostgreSQL for $tool ($t)"
    }
    if [[ $tool == pgbackrest ]]; then
        as_pg pgbackrest --config="$d/pgbackrest.conf" --stanza=bench stanza-create >"$LOGS/$tool-$t.stanza.log" 2>&1 || {
            cat "$LOGS/$tool-$t.stanza.log" >&2
            die "pgbackrest stanza-create ($t)"
        }
    fi
    psql_() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$srv/run" -p "$port" -U postgres "$@"; }
    "$PG_BIN/createdb" -h "$srv/run" -p "$port" -U postgres bench
    "$PG_BIN/pgbench" -h "$srv/run" -p "$port" -U postgres -i -q -s "$SCALE" bench >"$LOGS/$tool-$t.init-pgbench.log" 2>&1
    # everything so far archived before the load starts
    switch_wait || die "$tool $t: pgbench -i's WAL was not archived within 10 minutes"
    local load first=""
    for load in $LOADS; do
        measure_load "$tool" "$t" "$load" "$d" "$srv" "$port"
        [[ -n $first ]] || first=$(field "$tool" "$t:$load" first)
        FIRST[$tool-$t]=$first
        LAST[$tool-$t]=$(field "$tool" "$t:$load" last)
    done
    bash "$PGH/stop.sh" "$srv" >/dev/null 2>&1
    if [[ $tool == lifeboat ]]; then cp "$d/spool/pusher.log" "$LOGS/$tool-$t.pusher.log" 2>/dev/null || true; fi
    if [[ $tool == pgbackrest ]]; then cp -r "$d/log" "$LOGS/$tool-$t.pgbackrest-log" 2>/dev/null || true; fi
}

for t in $TARGETS; do
    for tool in $TOOLS; do run_push "$tool" "$t"; done
done

# ------------------------------------------------------- 2. recovery from S3
run_fetch() { # run_fetch TOOL MODE: restore_command loop over FETCH segments
    local tool=$1 mode=$2 d=$P/run/$tool-s3 r first n i t0 t1 rc=0 env
    r=$P/run/fetch-$tool-$mode
    rm -rf "$r"
    mkdir -p "$r/pg_wal" "$r/spool"
    chmod 700 "$r/spool"
    own "$r"
    first=$(segno "${FIRST[$tool-s3]}")
    env=$(lbenv s3 | tr '\n' ' ')
    # fresh caches of the server side: nothing of it stays in the page cache
    sync
    { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null || true
    t0=$(now)
    for ((i = 1; i <= FETCH; i++)); do
        n=$(segname $((first + i)))
        case $tool-$mode in
        lifeboat-sync) as_pg env $env "$LB" wal-fetch "$n" "$r/pg_wal/RECOVERYXLOG" ;;
        lifeboat-prefetch) as_pg env $env "$LB" wal-fetch --prefetch 32 --spool "$r/spool" "$n" "$r/pg_wal/RECOVERYXLOG" ;;
        pgbackrest-sync) as_pg pgbackrest --config="$d/pgbackrest.conf" --stanza=bench --no-archive-async archive-get "$n" "$r/pg_wal/RECOVERYXLOG" ;;
        pgbackrest-prefetch) as_pg pgbackrest --config="$d/pgbackrest.conf" --stanza=bench --spool-path="$r/spool" archive-get "$n" "$r/pg_wal/RECOVERYXLOG" ;;
        esac >>"$LOGS/fetch-$tool-$mode.log" 2>&1 || { rc=$?; break; }
        [[ $(stat -c %s "$r/pg_wal/RECOVERYXLOG") == 16777216 ]] || { rc=99; break; }
        rm -f "$r/pg_wal/RECOVERYXLOG"
    done
    t1=$(now)
    local secs
    secs=$(python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1")
    put fetch "$tool" "$mode" segments "$((i - 1))"
    put fetch "$tool" "$mode" seconds "$secs"
    put fetch "$tool" "$mode" rc "$rc"
    note "fetch $tool $mode: $((i - 1)) segments in $secs s (rc $rc)"
    # the background fetchers of this run (pgBackRest's async archive-get too)
    for s in $(pgrep -x lb-wal-prefetch; pgrep -x pgbackrest); do grep -qs "$r/" "/proc/$s/cmdline" && kill "$s"; done
}
if ((FETCH > 0)) && [[ " $TARGETS " == *" s3 "* ]]; then
    for tool in $TOOLS; do
        have=$(($(segno "${LAST[$tool-s3]}") - $(segno "${FIRST[$tool-s3]}")))
        if ((have < FETCH)); then
            note "$tool: only $have segments archived under load: the recovery step fetches those"
            FETCH=$have
        fi
    done
    for tool in $TOOLS; do
        run_fetch "$tool" sync
        run_fetch "$tool" prefetch
    done
fi

# ------------------------------------------------------------------ report
python3 - "$TSV" "$P/wal.md" "$SECONDS_LOAD" "$CLIENTS" "$SCALE" "$PAR" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys, collections
tsv, md, secs, clients, scale, par, cpus, load = sys.argv[1:]
v = collections.defaultdict(dict)
for line in open(tsv).read().splitlines()[1:]:
    kind, tool, target, key, value = line.split("\t")
    v[(kind, tool, target)][key] = value
o = ["## WAL archiving and prefetch", ""]
o.append("Written by `bench/wal.sh` (issue 14). pgbench -c %s -j 2 -T %s on a scale-%s database, unthrottled,"
         " max_wal_size 64MB, checkpoint_timeout 30s, synchronous_commit off; %s parallel pushes/fetches for"
         " both tools; %s CPUs shared with other jobs (load average at the end %s): absolute figures move"
         " from run to run, the comparison is what counts. Lag = finished segments not yet archived, sampled"
         " each second from pg_stat_archiver." % (clients, secs, scale, par, cpus, load))
o.append("")
o.append("| target, load | tool | tps | WAL written seg/s | archived seg/s | lag max | lag avg | drain after load (s) | failed calls |")
o.append("|---|---|---|---|---|---|---|---|---|")
for (kind, tool, target), d in v.items():
    if kind != "push":
        continue
    o.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (target.replace(":", " "), tool, d.get("tps"), d.get("generated_seg_s"),
             d.get("archived_seg_s"), d.get("lag_max"), d.get("lag_avg"), d.get("drain_s"), d.get("failed")))
fetch = [(k, d) for k, d in v.items() if k[0] == "fetch"]
if fetch:
    o.append("")
    o.append("Recovery from the S3 server: restore_command called once per segment, in order, as PostgreSQL does"
             " (each file removed after the call).")
    o.append("")
    o.append("| tool | mode | segments | seconds | MiB/s | exit |")
    o.append("|---|---|---|---|---|---|")
    for (kind, tool, mode), d in fetch:
        s, n = float(d["seconds"]), int(d["segments"])
        o.append("| %s | %s | %d | %.1f | %.0f | %s |" % (tool, mode, n, s, n * 16 / s if s else 0, d["rc"]))
open(md, "w").write("\n".join(o) + "\n")
PY
cat "$P/wal.md"
if [[ -n $BENCH_OUT ]]; then
    python3 "$(dirname "$0")/splice.py" "$BENCH_OUT" "$P/wal.md"
    note "wrote the WAL section of $BENCH_OUT"
fi
