#!/usr/bin/env bash
# bench/s3.sh [OUT_TSV] - lifeboat beside restic with the repository on a real
# S3 server: a throw-away Ceph RADOS Gateway on 127.0.0.1 started by
# tests/harness/s3/start.sh (stopped again on exit, whatever happens).
#
# For each tool (lifeboat and restic; Borg speaks no S3), in a bucket of its
# own: init (untimed), a timed first backup of BENCH_DIR/data, a timed full
# restore of that snapshot into a fresh directory (verified with diff -r,
# untimed). Every timed step runs under /usr/bin/time -f '%e %U %S %M'.
# Writes one line per tool and step to OUT_TSV (default BENCH_DIR/work/s3.tsv):
#   tool step wall user sys rss_kb bucket_bytes bucket_objects verify
# (bucket_* from `radosgw-admin bucket stats` after the step; verify is "ok"
# or what differed, restore lines only) plus "#key=value" lines describing the
# server. bench/report.py renders it as the "S3" section of docs/benchmarks.md.
# Exit status: 0, 2 when a restore differed from the data set (the numbers
# are still written), 1 on any other failure.
#
# Called by bench/run.sh (BENCH_S3=1, the default) after the data set exists;
# it can also run on its own once bench/run.sh generated the data set:
#   BENCH_SCALE=0.05 bench/s3.sh /tmp/s3.tsv
#
# Environment (bench/run.sh passes its own values):
#   BENCH_DIR          work directory holding data/ (default /var/tmp/lifeboat-bench)
#   BENCH_TOOLS        tools; lifeboat and restic are run here (default "lifeboat restic")
#   LIFEBOAT_BIN       lifeboat binary (default build/lifeboat)
#   BENCH_CACHE_MODE   cold: drop the page cache before each timed step; warm: read
#                      the data set once before each backup (default: cold when
#                      /proc/sys/vm/drop_caches is writable)
#   BENCH_KEEP         1: keep the server directory, logs and restores
#   BENCH_S3_OBJECTSTORE   memstore (RAM, default) or bluestore (sparse file)
#   BENCH_S3_SIZE      capacity of the object store (default: 4 x the data set, at least 4G);
#                      memstore only uses RAM for what is stored (about 2 x the data set here)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
harness=$root/tests/harness/s3
BENCH_DIR=${BENCH_DIR:-/var/tmp/lifeboat-bench}
BENCH_TOOLS=${BENCH_TOOLS:-lifeboat restic}
LIFEBOAT_BIN=${LIFEBOAT_BIN:-$root/build/lifeboat}
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_S3_OBJECTSTORE=${BENCH_S3_OBJECTSTORE:-memstore}
DATA=$BENCH_DIR/data
OUT=${1:-$BENCH_DIR/work/s3.tsv}
S=$(dirname "$OUT")/s3
PASSWORD=lifeboat-bench-password

die() {
    echo "bench-s3: error: $*" >&2
    exit 1
}
note() { echo "bench-s3: $*" >&2; }

tools=()
for t in $BENCH_TOOLS; do
    case $t in lifeboat | restic) tools+=("$t") ;; esac
done
((${#tools[@]} > 0)) || { note "neither lifeboat nor restic in BENCH_TOOLS; nothing to do"; exit 0; }
[[ -d $DATA ]] || die "no data set in $DATA (bench/run.sh generates it)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing"
for c in ceph-mon ceph-osd radosgw radosgw-admin; do
    command -v "$c" >/dev/null || die "$c is missing (make deps installs the ceph packages; BENCH_S3=0 skips this step)"
done
for t in "${tools[@]}"; do
    case $t in
    lifeboat) [[ -x $LIFEBOAT_BIN ]] || die "lifeboat binary '$LIFEBOAT_BIN' not found" ;;
    restic) command -v restic >/dev/null || die "restic is missing" ;;
    esac
done
case $BENCH_S3_OBJECTSTORE in memstore | bluestore) ;; *) die "BENCH_S3_OBJECTSTORE must be memstore or bluestore" ;; esac

data_bytes=$(du -sb "$DATA" | cut -f1)
if [[ -z ${BENCH_S3_SIZE:-} ]]; then
    g=$(((data_bytes * 4 + (1 << 30) - 1) >> 30))
    ((g >= 4)) || g=4
    BENCH_S3_SIZE=${g}G
fi

if [[ -z ${BENCH_CACHE_MODE:-} ]]; then
    if sync && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then BENCH_CACHE_MODE=cold; else BENCH_CACHE_MODE=warm; fi
fi
drop_caches() {
    sync
    if [[ $BENCH_CACHE_MODE == cold ]]; then echo 3 >/proc/sys/vm/drop_caches; fi
}

rm -rf "$S"
mkdir -p "$S/logs"
LOGS=$S/logs
CL=$S/cluster

cleanup() {
    local rc=$?
    set +e
    if [[ -f $CL/ceph.conf ]]; then
        note "stopping the S3 server"
        if [[ $BENCH_KEEP == 1 ]]; then
            "$harness/stop.sh" "$CL" >/dev/null
        else
            "$harness/stop.sh" "$CL" --rm >/dev/null
        fi
    fi
    if [[ $BENCH_KEEP != 1 ]]; then rm -rf "$S/restore-"* "$S/cache-"*; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note "starting Ceph RGW ($BENCH_S3_OBJECTSTORE, $BENCH_S3_SIZE) in $CL"
CEPH_OBJECTSTORE=$BENCH_S3_OBJECTSTORE CEPH_MEMSTORE_SIZE=$BENCH_S3_SIZE CEPH_BLUESTORE_SIZE=$BENCH_S3_SIZE \
    S3_ACCESS_KEY=lifeboat-bench-ak S3_SECRET_KEY=lifeboat-bench-sk \
    "$harness/start.sh" "$CL" >"$LOGS/start.out" 2>"$LOGS/start.err" || {
    tail -n 30 "$LOGS/start.err" >&2
    die "the S3 server did not start (logs in $LOGS)"
}
note "$(cat "$LOGS/start.out")"
# shellcheck disable=SC1091
. "$CL/s3.env"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_DEFAULT_REGION=$S3_REGION
export LIFEBOAT_S3_REGION=$S3_REGION
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION LIFEBOAT_TEST_FAULTS LIFEBOAT_REPOSITORY RESTIC_REPOSITORY
export LIFEBOAT_PASSWORD=$PASSWORD RESTIC_PASSWORD=$PASSWORD

repo_of() {
    case $1 in
    lifeboat) echo "s3:$S3_ENDPOINT/bench-lifeboat/repo" ;;
    restic) echo "s3:$S3_ENDPOINT/bench-restic/repo" ;;
    esac
}

# bucket_usage TOOL: "bytes objects" stored in the tool's bucket
bucket_usage() {
    radosgw-admin -c "$CL/ceph.conf" bucket stats --bucket="bench-$1" 2>/dev/null | python3 -c '
import json, sys
try:
    u = json.load(sys.stdin).get("usage", {})
except ValueError:
    print("- -"); sys.exit()
print(sum(v.get("size_actual", v.get("size", 0)) for v in u.values()),
      sum(v.get("num_objects", 0) for v in u.values()))' || echo "- -"
}

# measure TOOL STEP CMD... - run CMD under /usr/bin/time; sets row to
# "tool step wall user sys rss_kb bucket_bytes bucket_objects"
measure() {
    local tool=$1 step=$2 tf=$S/time.$1.$2 log=$LOGS/$1.$2.log rc=0
    shift 2
    drop_caches
    note "$tool $step (S3) ..."
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
        tail -n 25 "$log" >&2
        die "$tool $step on S3 exited with $rc: $*"
    fi
    local wall user sys rss bytes objs
    read -r wall user sys rss < <(tail -n 1 "$tf")
    read -r bytes objs < <(bucket_usage "$tool")
    row=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$tool" "$step" "$wall" "$user" "$sys" "$rss" "$bytes" "$objs")
    note "$tool $step (S3): wall ${wall}s cpu $(python3 -c "print(round($user+$sys,2))")s rss $((rss / 1024)) MiB bucket $bytes bytes"
}

mkdir -p "$(dirname "$OUT")"
{
    echo "#objectstore=$BENCH_S3_OBJECTSTORE"
    echo "#objectstore_size=$BENCH_S3_SIZE"
    echo "#ceph=$(ceph --version 2>/dev/null | sed 's/ (.*//')"
    echo "#cache=$BENCH_CACHE_MODE"
    echo "#data_bytes=$data_bytes"
} >"$OUT"
export RESTIC_CACHE_DIR=$S/cache-restic
verify_failed=0

for t in "${tools[@]}"; do
    repo=$(repo_of "$t")
    case $t in
    lifeboat) "$LIFEBOAT_BIN" -r "$repo" init ;;
    restic) restic -r "$repo" init --repository-version 2 ;;
    esac >"$LOGS/$t.init.log" 2>&1 || {
        tail -n 25 "$LOGS/$t.init.log" >&2
        die "$t init on S3 failed"
    }
    if [[ $BENCH_CACHE_MODE == warm ]]; then find "$DATA" -type f -print0 | xargs -0 cat >/dev/null; fi
    case $t in
    lifeboat) measure "$t" first "$LIFEBOAT_BIN" -r "$repo" backup "$DATA" ;;
    restic) measure "$t" first restic -r "$repo" backup "$DATA" ;;
    esac
    printf '%s\t\n' "$row" >>"$OUT"

    target=$S/restore-$t
    rm -rf "$target"
    mkdir -p "$target"
    case $t in
    lifeboat) measure "$t" restore "$LIFEBOAT_BIN" -r "$repo" restore latest --target "$target" ;;
    restic) measure "$t" restore restic -r "$repo" restore latest --target "$target" ;;
    esac
    status=ok
    if [[ ! -d $target$DATA ]]; then
        status="missing: $target$DATA not created"
    elif ! diff -r -q --no-dereference "$DATA" "$target$DATA" >"$LOGS/$t.verify.log" 2>&1; then
        status="differs: $(wc -l <"$LOGS/$t.verify.log") differences, first: $(head -n 1 "$LOGS/$t.verify.log")"
    fi
    printf '%s\t%s\n' "$row" "${status//$'\t'/ }" >>"$OUT"
    if [[ $status == ok ]]; then
        note "$t restore from S3 verified: equals the data set"
    else
        verify_failed=1
        echo "bench-s3: RESTORE VERIFICATION FAILED for $t: $status" >&2
    fi
    rm -rf "$target"
done
note "wrote $OUT"
# exit 2: every step ran, but a restore did not equal the data set
if ((verify_failed)); then exit 2; fi
