#!/usr/bin/env bash
# bench/scale.sh - `make bench-scale`: lifeboat beside restic and Borg on
# millions of small files, and lifeboat on a bucket of a million objects
# (issue 15, Done-when 1). Not part of `make test` or `make bench`.
#
# Two sizes of the same kind of tree (bench/scalegen.py: BENCH_SCALE_SMALL and
# BENCH_SCALE_FILES small files, 100 to a leaf directory, three levels of
# directories above them, sizes 0..BENCH_SCALE_MAX_SIZE bytes, fixed seed),
# one after the other (the smaller is deleted before the larger is made).
# For each size and each tool, on fresh repositories:
#   first      first backup of the tree
#   unchanged  re-backup of the unchanged tree
#   changed    backup after BENCH_SCALE_CHANGE of the files changed (a third
#              rewritten, a third removed, a third added; same for every tool)
#   restore    full restore of the latest snapshot into a scratch folder
#              (verified with diff -r afterwards, untimed; then deleted)
#   check      `lifeboat check`, `restic check`, `borg check` (no data reads)
#   prune      forget all but the last snapshot and prune: `lifeboat forget
#              --keep-last 1 --prune`, `restic forget --keep-last 1 --prune`,
#              `borg prune --keep-last 1` followed by `borg compact`
# Then the bucket (lifeboat only: restic and Borg cannot read a bucket): a
# throw-away Ceph RGW (tests/harness/s3/start.sh, bluestore) on 127.0.0.1,
# BENCH_SCALE_OBJECTS objects PUT into one bucket with the tree's layout
# (bench/scalegen.py fill, many connections), then `lifeboat backup
# s3:ENDPOINT/BUCKET` into a local repository, with the same steps as the
# trees: first, unchanged, changed (BENCH_SCALE_CHANGE of the objects
# rewritten, deleted or added: bench/scalegen.py change-bucket), restore into
# a scratch folder (the number of files checked), check, prune.
# Every step runs under /usr/bin/time (wall, user, sys, max RSS). The report
# (bench/scalereport.py) replaces the "## Scale" section of BENCH_OUT (the
# other sections are kept) and writes the raw numbers to BENCH_SCALE_JSON.
# A tool left out of BENCH_SCALE_TOOLS, and the bucket when
# BENCH_SCALE_OBJECTS=0, keep the figures of the run BENCH_SCALE_JSON holds
# when it had the same trees (sizes, seed, change), marked as carried over
# with that run's date: the hours of a full run can be split into parts.
# BENCH_SCALE_TREES=0 runs the bucket alone and carries every tool's figures
# of the trees.
# The work folder is deleted and the S3 server stopped at the end, on failure
# and on Ctrl-C too.
#
# Environment:
#   BENCH_SCALE_FILES     files of the large tree (default 2000000)
#   BENCH_SCALE_SMALL     files of the small tree (default 200000; 0 skips it)
#   BENCH_SCALE_OBJECTS   objects in the bucket (default 1000000; 0 skips the bucket)
#   BENCH_SCALE_TREES     1: run the trees (default); 0: only the bucket (lifeboat), the
#                         trees' figures of every tool carried from BENCH_SCALE_JSON
#   BENCH_SCALE_MAX_SIZE  largest file / object in bytes (default 2048; sizes are uniform
#                         in 0..MAX: it is about counts, not bytes)
#   BENCH_SCALE_CHANGE    share of the files changed before the third backup (default 0.01)
#   BENCH_SCALE_SEED      seed of the trees, the changes and the objects (default lifeboat-scale-1)
#   BENCH_SCALE_TOOLS     tools (default "lifeboat restic borg")
#   BENCH_SCALE_TMP       parent of the work folder (default /var/tmp; on disk, not tmpfs)
#   BENCH_SCALE_VERIFY    1: diff -r every restore against the tree (default 1; untimed)
#   BENCH_SCALE_JOBS      parallel PUT connections filling the bucket (default 32)
#   BENCH_S3_OBJECTSTORE  bluestore (default: a sparse file in the work folder, about 16 KiB
#                         of disk per small object) or memstore (RAM: about 41 KiB per
#                         small object, 40 GiB for a million: only for small buckets)
#   BENCH_S3_SIZE         capacity of the object store (default: BENCH_SCALE_OBJECTS x 32 KiB, at least 4G)
#   BENCH_DROP_CACHES     auto | 1 | 0: drop the page cache before each step (default auto)
#   BENCH_BORG_ENCRYPTION borg init --encryption (default repokey-blake2)
#   BENCH_KEEP            1: keep the work folder (and stop the S3 server without deleting it)
#   BENCH_OUT             Markdown report (default docs/benchmarks.md)
#   BENCH_SCALE_JSON      raw numbers (default bench/results/scale.json)
#   LIFEBOAT_BIN          lifeboat binary (default build/lifeboat; a private copy is run)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
BENCH_SCALE_FILES=${BENCH_SCALE_FILES:-2000000}
BENCH_SCALE_SMALL=${BENCH_SCALE_SMALL:-200000}
BENCH_SCALE_OBJECTS=${BENCH_SCALE_OBJECTS:-1000000}
BENCH_SCALE_TREES=${BENCH_SCALE_TREES:-1}
BENCH_SCALE_MAX_SIZE=${BENCH_SCALE_MAX_SIZE:-2048}
BENCH_SCALE_CHANGE=${BENCH_SCALE_CHANGE:-0.01}
BENCH_SCALE_SEED=${BENCH_SCALE_SEED:-lifeboat-scale-1}
BENCH_SCALE_TOOLS=${BENCH_SCALE_TOOLS:-lifeboat restic borg}
BENCH_SCALE_TMP=${BENCH_SCALE_TMP:-/var/tmp}
BENCH_SCALE_VERIFY=${BENCH_SCALE_VERIFY:-1}
BENCH_SCALE_JOBS=${BENCH_SCALE_JOBS:-32}
BENCH_S3_OBJECTSTORE=${BENCH_S3_OBJECTSTORE:-bluestore}
BENCH_DROP_CACHES=${BENCH_DROP_CACHES:-auto}
BENCH_BORG_ENCRYPTION=${BENCH_BORG_ENCRYPTION:-repokey-blake2}
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_OUT=${BENCH_OUT:-$root/docs/benchmarks.md}
BENCH_SCALE_JSON=${BENCH_SCALE_JSON:-$root/bench/results/scale.json}
LIFEBOAT_BIN=${LIFEBOAT_BIN:-$root/build/lifeboat}
PASSWORD=lifeboat-bench-password

die() {
    echo "bench-scale: error: $*" >&2
    exit 1
}
note() { echo "bench-scale: $(date -u +%H:%M:%S) $*" >&2; }
isint() { [[ $1 =~ ^[0-9]+$ ]]; }

# ---------------------------------------------------------------- checks

if ! isint "$BENCH_SCALE_FILES" || ((BENCH_SCALE_FILES == 0)); then die "BENCH_SCALE_FILES must be a positive integer"; fi
isint "$BENCH_SCALE_SMALL" || die "BENCH_SCALE_SMALL must be an integer (0 skips the small tree)"
isint "$BENCH_SCALE_OBJECTS" || die "BENCH_SCALE_OBJECTS must be an integer (0 skips the bucket)"
isint "$BENCH_SCALE_MAX_SIZE" || die "BENCH_SCALE_MAX_SIZE must be an integer"
if ! isint "$BENCH_SCALE_JOBS" || ((BENCH_SCALE_JOBS == 0)); then die "BENCH_SCALE_JOBS must be a positive integer"; fi
((BENCH_SCALE_SMALL < BENCH_SCALE_FILES)) || die "BENCH_SCALE_SMALL must be below BENCH_SCALE_FILES"
[[ $BENCH_SCALE_CHANGE =~ ^0*\.[0-9]+$ ]] || die "BENCH_SCALE_CHANGE must be a number between 0 and 1"
[[ $BENCH_SCALE_VERIFY == 0 || $BENCH_SCALE_VERIFY == 1 ]] || die "BENCH_SCALE_VERIFY must be 0 or 1"
[[ $BENCH_SCALE_TREES == 0 || $BENCH_SCALE_TREES == 1 ]] || die "BENCH_SCALE_TREES must be 0 or 1"
if ((BENCH_SCALE_TREES == 0)); then
    ((BENCH_SCALE_OBJECTS > 0)) || die "BENCH_SCALE_TREES=0 with BENCH_SCALE_OBJECTS=0 leaves nothing to run"
    BENCH_SCALE_TOOLS=lifeboat # the bucket is lifeboat's alone; the trees' figures are carried
fi
case $BENCH_S3_OBJECTSTORE in memstore | bluestore) ;; *) die "BENCH_S3_OBJECTSTORE must be memstore or bluestore" ;; esac
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package 'time'; 'make bench-scale' installs it)"
for c in python3 diff find du df; do command -v "$c" >/dev/null || die "'$c' is missing"; done
for t in $BENCH_SCALE_TOOLS; do
    case $t in
    lifeboat) [[ -x $LIFEBOAT_BIN ]] || die "lifeboat binary '$LIFEBOAT_BIN' not found (run 'make build' or set LIFEBOAT_BIN)" ;;
    restic) command -v restic >/dev/null || die "restic is missing (Debian package 'restic')" ;;
    borg) command -v borg >/dev/null || die "borg is missing (Debian package 'borgbackup')" ;;
    *) die "unknown tool '$t' in BENCH_SCALE_TOOLS" ;;
    esac
done
if ((BENCH_SCALE_OBJECTS > 0)); then
    [[ " $BENCH_SCALE_TOOLS " == *" lifeboat "* ]] || die "the bucket part needs lifeboat in BENCH_SCALE_TOOLS (or BENCH_SCALE_OBJECTS=0)"
    for c in ceph-mon ceph-osd radosgw radosgw-admin; do
        command -v "$c" >/dev/null || die "$c is missing (make deps installs the ceph packages; BENCH_SCALE_OBJECTS=0 skips the bucket)"
    done
fi
if [[ -z ${BENCH_S3_SIZE:-} ]]; then
    g=$(((BENCH_SCALE_OBJECTS * 32768 + (1 << 30) - 1) >> 30))
    ((g >= 4)) || g=4
    BENCH_S3_SIZE=${g}G
fi

# Disk: the tree and one restore of it at a time (a block per non-empty file
# and an inode each), the three repositories (about the content plus 400
# bytes of metadata per file); the trees are gone when the bucket part runs:
# a bluestore object store (about 16 KiB a small object, measured) and
# lifeboat's repository of the bucket.
mkdir -p "$BENCH_SCALE_TMP"
blk=$(stat -f -c %S "$BENCH_SCALE_TMP")
per_file=$(((BENCH_SCALE_MAX_SIZE / 2 + blk - 1) / blk * blk + 256))
need=$((BENCH_SCALE_FILES * (2 * per_file + 3 * (BENCH_SCALE_MAX_SIZE / 2 + 400))))
need_bucket=$((BENCH_SCALE_OBJECTS * (BENCH_SCALE_MAX_SIZE / 2 + 400)))
if [[ $BENCH_S3_OBJECTSTORE == bluestore ]]; then need_bucket=$((need_bucket + BENCH_SCALE_OBJECTS * 20480)); fi
((need_bucket < need && BENCH_SCALE_TREES == 1)) || need=$need_bucket
free=$(($(df -P -k "$BENCH_SCALE_TMP" | awk 'NR == 2 {print $4}') * 1024))
((free > need)) || die "$BENCH_SCALE_TMP has $((free >> 30)) GiB free, the run needs about $((need >> 30)) GiB (set BENCH_SCALE_TMP)"
ifree=$(df -P -i "$BENCH_SCALE_TMP" | awk 'NR == 2 {print $4}')
if [[ $ifree =~ ^[0-9]+$ ]] && ((ifree > 0 && ifree < BENCH_SCALE_FILES * 21 / 10 + 100000)); then
    die "$BENCH_SCALE_TMP has $ifree free inodes, the run needs about $((BENCH_SCALE_FILES * 21 / 10 + 100000))"
fi
fstype=$(stat -f -c %T "$BENCH_SCALE_TMP")
[[ $fstype != tmpfs && $fstype != ramfs ]] || note "WARNING: $BENCH_SCALE_TMP is on $fstype: the trees and repositories live in RAM"

W=$(mktemp -d "$BENCH_SCALE_TMP/lifeboat-scale.XXXXXX")
LOGS=$W/logs
CL=$W/s3
mkdir -p "$LOGS"
RESULTS=$W/scale.tsv
: >"$RESULTS"
: >"$W/phases.tsv"
: >"$W/verify.tsv"

cleanup() {
    local rc=$?
    set +e
    if [[ -f $CL/ceph.conf ]]; then
        note "stopping the S3 server"
        if [[ $BENCH_KEEP == 1 ]]; then
            "$root/tests/harness/s3/stop.sh" "$CL" >/dev/null 2>&1
        else
            "$root/tests/harness/s3/stop.sh" "$CL" --rm >/dev/null 2>&1
        fi
    fi
    if [[ $BENCH_KEEP == 1 ]]; then
        note "kept the work folder $W"
    else
        rm -rf "$W"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# the binary under test is a private copy: a rebuild during the run (hours)
# must neither change nor break it
cp "$LIFEBOAT_BIN" "$W/lifeboat" 2>/dev/null || true
LB=$W/lifeboat

cache_mode=warm
case $BENCH_DROP_CACHES in
auto | 1)
    if sync && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
        cache_mode=cold
    elif [[ $BENCH_DROP_CACHES == 1 ]]; then
        die "cannot write /proc/sys/vm/drop_caches (needs root); set BENCH_DROP_CACHES=0"
    fi
    ;;
0) ;;
*) die "BENCH_DROP_CACHES must be auto, 1 or 0" ;;
esac
drop_caches() {
    sync
    if [[ $cache_mode == cold ]]; then echo 3 >/proc/sys/vm/drop_caches; fi
}

export LIFEBOAT_PASSWORD=$PASSWORD RESTIC_PASSWORD=$PASSWORD BORG_PASSPHRASE=$PASSWORD
export RESTIC_CACHE_DIR=$W/cache-restic BORG_BASE_DIR=$W/borg-home XDG_CACHE_HOME=$W/cache
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
unset LIFEBOAT_REPOSITORY RESTIC_REPOSITORY BORG_REPO LIFEBOAT_TEST_FAULTS LIFEBOAT_NO_CACHE

{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "mem_gib=$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)"
    echo "fstype=$fstype"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "cache=$cache_mode"
    echo "files=$BENCH_SCALE_FILES"
    echo "small=$BENCH_SCALE_SMALL"
    echo "objects=$BENCH_SCALE_OBJECTS"
    echo "trees=$BENCH_SCALE_TREES"
    echo "max_size=$BENCH_SCALE_MAX_SIZE"
    echo "change=$BENCH_SCALE_CHANGE"
    echo "seed=$BENCH_SCALE_SEED"
    echo "tools=$BENCH_SCALE_TOOLS"
    echo "objectstore=$BENCH_S3_OBJECTSTORE $BENCH_S3_SIZE"
    echo "disk_estimate_gib=$((need >> 30))"
    for t in $BENCH_SCALE_TOOLS; do
        case $t in
        lifeboat) echo "version_lifeboat=$("$LB" --version 2>/dev/null | head -n1) (tree $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown))" ;;
        restic) echo "version_restic=$(restic version | head -n1)" ;;
        borg) echo "version_borg=$(borg --version)" ;;
        esac
    done
} >"$W/meta.env"

# ------------------------------------------------------------- measuring

# phase LABEL NAME SECONDS - time spent outside the measured steps (for the
# duration estimate of the report)
# since T0 - seconds since T0 (date +%s.%N)
since() { python3 -c 'import sys, time; print(round(time.time() - float(sys.argv[1]), 2))' "$1"; }
phase() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$W/phases.tsv"; }

# measure LABEL TOOL STEP REPO CMD... - run CMD under /usr/bin/time after
# dropping the cache; append "label tool step wall user sys rss_kb
# repo_bytes" to RESULTS. The max RSS is the largest process's (borg prune +
# compact: the larger of the two).
measure() {
    local label=$1 tool=$2 step=$3 repo=$4
    shift 4
    local tf=$W/time.$label.$tool.$step log=$LOGS/$label.$tool.$step.log rc=0
    drop_caches
    note "$label $tool $step ..."
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$log" 2>&1 || rc=$?
    if ((rc != 0)) && ! [[ $tool == borg && $rc == 1 ]]; then
        echo "bench-scale: FAILED: $label $tool $step exited with $rc: $*" >&2
        tail -n 25 "$log" >&2
        exit 1
    fi
    ((rc == 0)) || note "WARNING: borg $step ended with warnings (exit 1); see $log"
    local wall user sys rss size
    read -r wall user sys rss < <(tail -n 1 "$tf")
    size=$(du -sb "$repo" | cut -f1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$tool" "$step" "$wall" "$user" "$sys" "$rss" "$size" >>"$RESULTS"
    note "$label $tool $step: wall ${wall}s cpu $(python3 -c "print(round($user+$sys,2))")s rss $((rss / 1024)) MiB repo $((size / 1048576)) MiB"
}

gen() { python3 "$here/scalegen.py" "$@" --seed "$BENCH_SCALE_SEED" --max-size "$BENCH_SCALE_MAX_SIZE"; }

tool_init() {
    case $1 in
    lifeboat) "$LB" -r "$2" init ;;
    restic) restic -r "$2" init --repository-version 2 ;;
    borg) borg init --encryption="$BENCH_BORG_ENCRYPTION" "$2" ;;
    esac >"$LOGS/$3.$1.init.log" 2>&1 || {
        tail -n 25 "$LOGS/$3.$1.init.log" >&2
        die "$1 init failed"
    }
}

# one_size LABEL N - the tree of N files through every step and tool
one_size() {
    local label=$1 n=$2 t repo target t0 st
    local data=$W/$label/data t_label
    t_label=$(date +%s.%N)
    mkdir -p "$W/$label"
    note "$label: generating $n files in $data"
    t0=$(date +%s.%N)
    gen tree "$data" --files "$n" >"$W/$label.tree.json"
    phase "$label" generate "$(since "$t0")"
    note "$label: $(cat "$W/$label.tree.json")"
    for t in $BENCH_SCALE_TOOLS; do
        repo=$W/$label/repo-$t
        tool_init "$t" "$repo" "$label"
        case $t in
        lifeboat) for st in first unchanged; do measure "$label" "$t" "$st" "$repo" "$LB" -r "$repo" backup -q "$data"; done ;;
        restic) for st in first unchanged; do measure "$label" "$t" "$st" "$repo" restic -r "$repo" backup -q "$data"; done ;;
        borg)
            measure "$label" "$t" first "$repo" borg create --compression zstd,3 "$repo::b1" "$data"
            measure "$label" "$t" unchanged "$repo" borg create --compression zstd,3 "$repo::b2" "$data"
            ;;
        esac
    done
    t0=$(date +%s.%N)
    gen change "$data" --files "$n" --fraction "$BENCH_SCALE_CHANGE" >"$W/$label.change.json"
    phase "$label" change "$(since "$t0")"
    note "$label: changed $(cat "$W/$label.change.json")"
    for t in $BENCH_SCALE_TOOLS; do
        repo=$W/$label/repo-$t
        case $t in
        lifeboat) measure "$label" "$t" changed "$repo" "$LB" -r "$repo" backup -q "$data" ;;
        restic) measure "$label" "$t" changed "$repo" restic -r "$repo" backup -q "$data" ;;
        borg) measure "$label" "$t" changed "$repo" borg create --compression zstd,3 "$repo::b3" "$data" ;;
        esac
    done
    for t in $BENCH_SCALE_TOOLS; do
        repo=$W/$label/repo-$t
        target=$W/$label/restore-$t
        mkdir -p "$target"
        case $t in
        lifeboat) measure "$label" "$t" restore "$repo" "$LB" -r "$repo" restore latest --target "$target" ;;
        restic) measure "$label" "$t" restore "$repo" restic -r "$repo" restore latest --target "$target" ;;
        borg) measure "$label" "$t" restore "$repo" env -C "$target" borg extract "$repo::b3" ;;
        esac
        if [[ $BENCH_SCALE_VERIFY == 1 ]]; then
            t0=$(date +%s.%N)
            local status=ok
            if [[ ! -d $target$data ]]; then
                status="missing: $target$data not created"
            elif ! diff -r -q --no-dereference "$data" "$target$data" >"$LOGS/$label.$t.verify.log" 2>&1; then
                status="differs: $(wc -l <"$LOGS/$label.$t.verify.log") differences, first: $(head -n 1 "$LOGS/$label.$t.verify.log")"
            fi
            printf '%s\t%s\t%s\n' "$label" "$t" "$status" >>"$W/verify.tsv"
            phase "$label" verify "$(since "$t0")"
            if [[ $status == ok ]]; then note "$label $t restore verified"; else echo "bench-scale: RESTORE VERIFICATION FAILED: $label $t: $status" >&2; fi
        fi
        rm -rf "$target"
        case $t in
        lifeboat) measure "$label" "$t" check "$repo" "$LB" -r "$repo" check ;;
        restic) measure "$label" "$t" check "$repo" restic -r "$repo" check ;;
        borg) measure "$label" "$t" check "$repo" borg check "$repo" ;;
        esac
        # shellcheck disable=SC2016 # $1 is expanded by the sh of the borg line
        case $t in
        lifeboat) measure "$label" "$t" prune "$repo" "$LB" -r "$repo" forget --keep-last 1 --prune ;;
        restic) measure "$label" "$t" prune "$repo" restic -r "$repo" forget --keep-last 1 --prune ;;
        borg) measure "$label" "$t" prune "$repo" sh -c 'borg prune --keep-last 1 "$1" && borg compact "$1"' borg-prune "$repo" ;;
        esac
    done
    t0=$(date +%s.%N)
    rm -rf "${W:?}/$label" "$W/cache-restic" "$W/borg-home" "$W/cache"
    phase "$label" cleanup "$(since "$t0")"
    phase "$label" total "$(since "$t_label")"
}

# ---------------------------------------------------------------- the trees

t_start=$(date +%s)
if ((BENCH_SCALE_TREES == 1)); then
    if ((BENCH_SCALE_SMALL > 0)); then one_size small "$BENCH_SCALE_SMALL"; fi
    one_size full "$BENCH_SCALE_FILES"
fi

# ---------------------------------------------------------------- the bucket

if ((BENCH_SCALE_OBJECTS > 0)); then
    note "starting Ceph RGW ($BENCH_S3_OBJECTSTORE, $BENCH_S3_SIZE) in $CL"
    t0=$(date +%s.%N)
    t_bucket=$t0
    CEPH_OBJECTSTORE=$BENCH_S3_OBJECTSTORE CEPH_MEMSTORE_SIZE=$BENCH_S3_SIZE CEPH_BLUESTORE_SIZE=$BENCH_S3_SIZE \
        S3_ACCESS_KEY=lifeboat-scale-ak S3_SECRET_KEY=lifeboat-scale-sk S3_TCP_NODELAY=1 \
        "$root/tests/harness/s3/start.sh" "$CL" >"$LOGS/s3.start.out" 2>"$LOGS/s3.start.err" || {
        tail -n 30 "$LOGS/s3.start.err" >&2
        die "the S3 server did not start (BENCH_SCALE_OBJECTS=0 skips the bucket)"
    }
    phase bucket s3-start "$(since "$t0")"
    # shellcheck disable=SC1091
    . "$CL/s3.env"
    export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY AWS_DEFAULT_REGION=$S3_REGION
    export LIFEBOAT_S3_REGION=$S3_REGION
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION
    note "filling bucket bench-scale with $BENCH_SCALE_OBJECTS objects ($BENCH_SCALE_JOBS connections)"
    gen fill --endpoint "$S3_ENDPOINT" --bucket bench-scale --objects "$BENCH_SCALE_OBJECTS" \
        --jobs "$BENCH_SCALE_JOBS" --threads $((BENCH_SCALE_JOBS < 16 ? BENCH_SCALE_JOBS : 16)) >"$W/fill.json" ||
        die "filling the bucket failed"
    note "bucket: $(cat "$W/fill.json")"
    phase bucket fill "$(python3 -c "import json; print(json.load(open('$W/fill.json'))['seconds'])")"
    osd_rss=$(for p in $(pgrep -f "ceph-osd -c $CL/ceph.conf"); do ps -o rss= -p "$p"; done | awk '{s += $1} END {print s + 0}')
    echo "osd_rss_kib_after_fill=$osd_rss" >>"$W/meta.env"
    echo "s3_disk_kib_after_fill=$(du -sk "$CL" | cut -f1)" >>"$W/meta.env"
    repo=$W/bucket/repo-lifeboat
    mkdir -p "$W/bucket"
    tool_init lifeboat "$repo" bucket
    for st in first unchanged; do
        measure bucket lifeboat "$st" "$repo" "$LB" -r "$repo" backup -q "s3:$S3_ENDPOINT/bench-scale"
    done
    t0=$(date +%s.%N)
    gen change-bucket --endpoint "$S3_ENDPOINT" --bucket bench-scale --objects "$BENCH_SCALE_OBJECTS" \
        --fraction "$BENCH_SCALE_CHANGE" >"$W/bucket.change.json" || die "changing the bucket failed"
    phase bucket change "$(since "$t0")"
    note "bucket: changed $(cat "$W/bucket.change.json")"
    measure bucket lifeboat changed "$repo" "$LB" -r "$repo" backup -q "s3:$S3_ENDPOINT/bench-scale"
    "$LB" -r "$repo" snapshots --json >"$W/bucket.snapshots.json" 2>"$LOGS/bucket.snapshots.log" || true
    target=$W/bucket/restore
    mkdir -p "$target"
    measure bucket lifeboat restore "$repo" "$LB" -r "$repo" restore latest --target "$target"
    if [[ $BENCH_SCALE_VERIFY == 1 ]]; then
        # a bucket restored into a folder: one file per object (contents are
        # checked by the restore's own hashes; the count is checked here)
        want=$(python3 -c "import json; print(json.load(open('$W/bucket.change.json'))['objects_after'])")
        got=$(find "$target" -type f | wc -l)
        if [[ $got == "$want" ]]; then status=ok; else status="differs: $got files restored, $want objects in the bucket"; fi
        printf 'bucket\tlifeboat\t%s\n' "$status" >>"$W/verify.tsv"
        note "bucket restore: $status"
    fi
    rm -rf "$target"
    measure bucket lifeboat check "$repo" "$LB" -r "$repo" check
    measure bucket lifeboat prune "$repo" "$LB" -r "$repo" forget --keep-last 1 --prune
    phase bucket total "$(since "$t_bucket")"
fi

echo "elapsed_s=$(($(date +%s) - t_start))" >>"$W/meta.env"
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$W/meta.env"
mkdir -p "$(dirname "$BENCH_SCALE_JSON")" "$(dirname "$BENCH_OUT")"
python3 "$here/scalereport.py" --work "$W" --md "$BENCH_OUT" --json "$BENCH_SCALE_JSON"
note "wrote the Scale section of $BENCH_OUT and $BENCH_SCALE_JSON"
if grep -qv $'\tok$' "$W/verify.tsv"; then
    die "a restore did not equal its tree (see above)"
fi
