#!/usr/bin/env bash
# bench/run.sh - lifeboat beside restic and Borg on one generated data set.
#
# Steps, each tool in turn on identical data:
#   first     first backup of the baseline data set
#   unchanged re-backup of the unchanged data set
#   changed   backup after ~5% of the files (by count) were changed
#   restore   full restore of the latest snapshot (verified afterwards, untimed)
#   check     repository check reading all data
#   drill     (lifeboat and restic) a recovery drill of the latest data:
#             `lifeboat drill data --config F --json` on a configuration file
#             written into the work directory (a `files` component on the
#             data set, the bench's repository, a password file; the
#             snapshot is an untimed `backup --component data` of the same
#             data), scratch folder under BENCH_DIR/work/drill-tmp (TMPDIR);
#             its rto_seconds (scratch setup + restore + verify: every file
#             read back against its blob IDs) beside `restic restore latest
#             --target DIR --verify` (wall time); peak disk of the scratch
#             folder (du -sk once a second) and peak RSS of both
#   prune     (once, after the rounds; lifeboat and restic) forget+prune on a
#             repository with BENCH_PRUNE_SNAPSHOTS snapshots of the data set,
#             1% of the files rewritten between snapshots (bench/churn.py:
#             identical changes for both tools): `lifeboat forget --keep-last
#             10 --prune --json` beside `restic forget --keep-last 10 --prune`
#   s3        (once, at the end; lifeboat and restic) first backup and full
#             restore with the repository on a throw-away Ceph RGW S3 server
#             on 127.0.0.1 (bench/s3.sh, tests/harness/s3/start.sh)
# Every step runs under /usr/bin/time (wall, user, sys, max RSS); the page
# cache is dropped before each step when possible. Results: a table on stdout,
# docs/benchmarks.md and bench/results/latest.json.
#
# Environment:
#   BENCH_SCALE        data set size factor, 1.0 = about 1.5 GiB (default 1.0)
#   BENCH_DIR          work directory, on disk, not tmpfs (default /var/tmp/lifeboat-bench)
#   BENCH_SEED         data set seed (default lifeboat-bench-1)
#   BENCH_TOOLS        tools to run (default "lifeboat restic borg")
#   BENCH_RUNS         rounds of the whole sequence, fresh repositories each;
#                      the report shows medians (default 1)
#   BENCH_DROP_CACHES  auto | 1 | 0: drop the page cache before each step (default auto)
#   BENCH_BORG_ENCRYPTION  borg init --encryption mode (default repokey-blake2)
#   BENCH_KEEP         1: keep repositories and logs in BENCH_DIR/work afterwards
#   BENCH_OUT          Markdown report (default docs/benchmarks.md)
#   BENCH_JSON         raw numbers (default bench/results/latest.json)
#   LIFEBOAT_BIN       lifeboat binary (default build/lifeboat)
#   BENCH_PRUNE        1: run the forget+prune step (default 1); 0: skip it
#   BENCH_PRUNE_SNAPSHOTS  snapshots in the prune step's history (default 100)
#   BENCH_PRUNE_KEEP   --keep-last for the prune step (default 10)
#   BENCH_PRUNE_FRACTION   share of the files rewritten between snapshots (default 0.01)
#   BENCH_MEMLIMIT     1: back the data set up in a 256 MiB memory cgroup (default 1;
#                      bench/memlimit.sh, needs root); 0: skip it
#   BENCH_S3           1: run the S3 step (default 1; needs the ceph packages); 0: skip it
#   BENCH_S3_OBJECTSTORE, BENCH_S3_SIZE  the S3 server's object store (see bench/s3.sh)
#   BENCH_PG           1: run the PostgreSQL step (default 1; bench/pg.sh: pgbench
#                      database, pg_dump/pg_restore and pgBackRest beside lifeboat,
#                      the dump series); 0: skip it
#   BENCH_PG_SCALE, BENCH_PG_DUMPS, BENCH_PG_LOAD_SECONDS, BENCH_PG_LOAD_RATE  see bench/pg.sh (50, 96, 5, 50)
#   BENCH_PG_DRILL     1: the PostgreSQL drills in bench/pg.sh (default 1); 0: skip them
#   BENCH_WAL          1: the WAL step (default 1; bench/wal.sh: archiving under
#                      pgbench load and recovery from S3, lifeboat beside pgBackRest,
#                      about 12 minutes; its section of BENCH_OUT is replaced); 0: skip it
#   BENCH_WAL_*        see bench/wal.sh
#   BENCH_STEPS        the steps of each round, a subset of the default
#                      "first unchanged changed restore check drill" (order
#                      fixed; "first" is required; without "changed" the
#                      data set is not changed)
#   BENCH_REPORT       full: write the whole report (default); drill: only
#                      replace (or add) the "Recovery drills" section of
#                      BENCH_OUT, and write the raw numbers to BENCH_JSON
#                      (default bench/results/drill.json), for a run that
#                      did not do every step
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
BENCH_SCALE=${BENCH_SCALE:-1.0}
BENCH_DIR=${BENCH_DIR:-/var/tmp/lifeboat-bench}
BENCH_SEED=${BENCH_SEED:-lifeboat-bench-1}
BENCH_TOOLS=${BENCH_TOOLS:-lifeboat restic borg}
BENCH_RUNS=${BENCH_RUNS:-1}
BENCH_DROP_CACHES=${BENCH_DROP_CACHES:-auto}
BENCH_BORG_ENCRYPTION=${BENCH_BORG_ENCRYPTION:-repokey-blake2}
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_OUT=${BENCH_OUT:-$root/docs/benchmarks.md}
BENCH_REPORT=${BENCH_REPORT:-full}
if [[ $BENCH_REPORT == drill ]]; then
    BENCH_JSON=${BENCH_JSON:-$root/bench/results/drill.json}
else
    BENCH_JSON=${BENCH_JSON:-$root/bench/results/latest.json}
fi
LIFEBOAT_BIN=${LIFEBOAT_BIN:-$root/build/lifeboat}
BENCH_PRUNE=${BENCH_PRUNE:-1}
BENCH_PRUNE_SNAPSHOTS=${BENCH_PRUNE_SNAPSHOTS:-100}
BENCH_PRUNE_KEEP=${BENCH_PRUNE_KEEP:-10}
BENCH_PRUNE_FRACTION=${BENCH_PRUNE_FRACTION:-0.01}
BENCH_S3=${BENCH_S3:-1}
BENCH_PG=${BENCH_PG:-1}
BENCH_WAL=${BENCH_WAL:-1}
BENCH_STEPS=${BENCH_STEPS:-first unchanged changed restore check drill}

die() {
    echo "bench: error: $*" >&2
    exit 1
}
note() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- checks

[[ $BENCH_SCALE =~ ^[0-9]*\.?[0-9]+$ ]] || die "BENCH_SCALE must be a positive number, not '$BENCH_SCALE'"
[[ $BENCH_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$BENCH_RUNS'"
[[ $BENCH_PRUNE == 0 || $BENCH_PRUNE == 1 ]] || die "BENCH_PRUNE must be 0 or 1, not '$BENCH_PRUNE'"
[[ $BENCH_S3 == 0 || $BENCH_S3 == 1 ]] || die "BENCH_S3 must be 0 or 1, not '$BENCH_S3'"
[[ $BENCH_PG == 0 || $BENCH_PG == 1 ]] || die "BENCH_PG must be 0 or 1, not '$BENCH_PG'"
[[ $BENCH_PRUNE_SNAPSHOTS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PRUNE_SNAPSHOTS must be a positive integer"
[[ $BENCH_PRUNE_KEEP =~ ^[1-9][0-9]*$ ]] || die "BENCH_PRUNE_KEEP must be a positive integer"
[[ $BENCH_PRUNE_FRACTION =~ ^0*\.[0-9]+$|^1(\.0*)?$ ]] || die "BENCH_PRUNE_FRACTION must be a number from 0 to 1"
for t in $BENCH_TOOLS; do
    case $t in lifeboat | restic | borg) ;; *) die "unknown tool '$t' in BENCH_TOOLS" ;; esac
done
for s in $BENCH_STEPS; do
    case $s in first | unchanged | changed | restore | check | drill) ;; *) die "unknown step '$s' in BENCH_STEPS" ;; esac
done
[[ " $BENCH_STEPS " == *" first "* ]] || die "BENCH_STEPS must include 'first' (the other steps need a repository)"
[[ $BENCH_REPORT == full || $BENCH_REPORT == drill ]] || die "BENCH_REPORT must be full or drill, not '$BENCH_REPORT'"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package 'time'; 'make bench' installs it)"
for c in python3 openssl du diff find; do
    command -v "$c" >/dev/null || die "'$c' is missing"
done
for t in $BENCH_TOOLS; do
    case $t in
    lifeboat)
        [[ -x $LIFEBOAT_BIN ]] || die "lifeboat binary '$LIFEBOAT_BIN' not found (run 'make build' or set LIFEBOAT_BIN)"
        LIFEBOAT_BIN=$(readlink -f "$LIFEBOAT_BIN")
        ;;
    restic) command -v restic >/dev/null || die "restic is missing (Debian package 'restic'; 'make bench' installs it)" ;;
    borg) command -v borg >/dev/null || die "borg is missing (Debian package 'borgbackup'; 'make bench' installs it)" ;;
    esac
done

mkdir -p "$BENCH_DIR"
BENCH_DIR=$(readlink -f "$BENCH_DIR")
fstype=$(stat -f -c %T "$BENCH_DIR")
if [[ $fstype == tmpfs || $fstype == ramfs ]]; then
    note "WARNING: $BENCH_DIR is on $fstype; the data set, three repositories and a restore live in RAM"
    note "         set BENCH_DIR to a directory on disk for meaningful numbers"
fi

DATA=$BENCH_DIR/data
W=$BENCH_DIR/work
LOGS=$W/logs
RESULTS=$W/results.tsv
PASSWORD=lifeboat-bench-password

gen() { python3 "$here/gen.py" "$1" --dir "$BENCH_DIR" --seed "$BENCH_SEED" --scale "$BENCH_SCALE"; }

cleanup() {
    local rc=$?
    set +e
    if [[ -f $BENCH_DIR/state.json ]] && grep -q '"changed"\|"changing"' "$BENCH_DIR/state.json"; then
        note "restoring the baseline data set"
        gen revert
    fi
    if [[ $BENCH_KEEP != 1 ]]; then
        rm -rf "$W/repo-"* "$W/restore-"* "$W/cache-"* "$W/borg-home" "$W/prune-data" "$W/drill-tmp"
    fi
    exit $rc
}
trap cleanup EXIT

# -------------------------------------------------------------- data set

gen ensure
rm -rf "$W"
mkdir -p "$W" "$LOGS"
# the binary under test is a private copy: a rebuild during the run (minutes
# to an hour) must neither change nor break it
LIFEBOAT_SRC_BIN=$LIFEBOAT_BIN
if [[ -x $LIFEBOAT_BIN ]]; then
    cp "$LIFEBOAT_BIN" "$W/lifeboat"
    LIFEBOAT_BIN=$W/lifeboat
fi
gen describe >"$W/dataset.json"
: >"$RESULTS"
: >"$W/verify.tsv"
rm -f "$W/prune.tsv" "$W/drill.tsv"

# ------------------------------------------------------------ page cache

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
note "page cache: $cache_mode$([[ $cache_mode == cold ]] && echo ' (dropped before every step)' || echo ' (not dropped; data read once before each first backup)')"

drop_caches() {
    sync
    if [[ $cache_mode == cold ]]; then
        echo 3 >/proc/sys/vm/drop_caches
    fi
}

warm_up() {
    find "$DATA" -type f -print0 | xargs -0 cat >/dev/null
}

# ------------------------------------------------------------- measuring

# measure TOOL STEP REPO CMD... - run CMD under /usr/bin/time after dropping
# the cache; append "tool step wall user sys rss_kb repo_bytes" to RESULTS.
measure() {
    local tool=$1 step=$2 repo=$3
    shift 3
    local tf=$W/time.$tool.$step log=$LOGS/$tool.$step.log rc=0
    drop_caches
    note "$tool $step ..."
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
        if [[ $tool == borg && $rc == 1 ]]; then
            note "WARNING: borg $step ended with warnings (exit 1); see $log"
        else
            echo "bench: FAILED: $tool $step exited with $rc: $*" >&2
            echo "----- last lines of $log:" >&2
            tail -n 25 "$log" >&2
            exit 1
        fi
    fi
    local wall user sys rss
    read -r wall user sys rss < <(tail -n 1 "$tf")
    local size
    size=$(du -sb "$repo" | cut -f1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$tool" "$step" "$wall" "$user" "$sys" "$rss" "$size" >>"$RESULTS"
    note "$tool $step: wall ${wall}s cpu $(python3 -c "print(round($user+$sys,2))")s rss $((rss / 1024)) MiB repo $((size / 1048576)) MiB"
}

repo_of() { echo "$W/repo-$1"; }

export LIFEBOAT_PASSWORD=$PASSWORD RESTIC_PASSWORD=$PASSWORD BORG_PASSPHRASE=$PASSWORD
export RESTIC_CACHE_DIR=$W/cache-restic BORG_BASE_DIR=$W/borg-home
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes

tool_init() {
    local repo
    repo=$(repo_of "$1")
    case $1 in
    lifeboat) "$LIFEBOAT_BIN" -r "$repo" init ;;
    restic) restic -r "$repo" init --repository-version 2 ;;
    borg) borg init --encryption="$BENCH_BORG_ENCRYPTION" "$repo" ;;
    esac >"$LOGS/$1.init.log" 2>&1 || {
        tail -n 25 "$LOGS/$1.init.log" >&2
        die "$1 init failed"
    }
}

# tool_backup TOOL STEP N
tool_backup() {
    local repo
    repo=$(repo_of "$1")
    case $1 in
    lifeboat) measure "$1" "$2" "$repo" "$LIFEBOAT_BIN" -r "$repo" backup "$DATA" ;;
    restic) measure "$1" "$2" "$repo" restic -r "$repo" backup "$DATA" ;;
    borg) measure "$1" "$2" "$repo" borg create --compression zstd,3 "$repo::b$3" "$DATA" ;;
    esac
}

# tool_restore TOOL TARGET LAST_N
tool_restore() {
    local repo
    repo=$(repo_of "$1")
    mkdir -p "$2"
    case $1 in
    lifeboat) measure "$1" restore "$repo" "$LIFEBOAT_BIN" -r "$repo" restore latest --target "$2" ;;
    restic) measure "$1" restore "$repo" restic -r "$repo" restore latest --target "$2" ;;
    borg) measure "$1" restore "$repo" env -C "$2" borg extract "$repo::b$3" ;;
    esac
}

tool_check() {
    local repo
    repo=$(repo_of "$1")
    case $1 in
    lifeboat) measure "$1" check "$repo" "$LIFEBOAT_BIN" -r "$repo" check --read-data ;;
    restic) measure "$1" check "$repo" restic -r "$repo" check --read-data ;;
    borg) measure "$1" check "$repo" borg check --verify-data "$repo" ;;
    esac
}

# verify TOOL TARGET - the restored tree must equal the data set (untimed).
verify_failed=0
verify() {
    local got=$2$DATA status=ok
    if [[ ! -d $got ]]; then
        status="missing: $got not created"
    elif ! diff -r -q --no-dereference "$DATA" "$got" >"$LOGS/$1.verify.log" 2>&1; then
        status="differs: $(wc -l <"$LOGS/$1.verify.log") differences, first: $(head -n 1 "$LOGS/$1.verify.log")"
    fi
    printf '%s\t%s\t%s\n' "$round" "$1" "$status" >>"$W/verify.tsv"
    if [[ $status != ok ]]; then
        verify_failed=1
        echo "bench: RESTORE VERIFICATION FAILED for $1: $status" >&2
    else
        note "$1 restore verified: equals the data set"
    fi
}

# ----------------------------------------------------------------- meta

{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel=$(uname -sr)"
    echo "mem_gib=$(awk '/MemTotal/ {printf "%.1f", $2/1048576}' /proc/meminfo)"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "fstype=$fstype"
    echo "cache=$cache_mode"
    echo "scale=$BENCH_SCALE"
    echo "seed=$BENCH_SEED"
    echo "borg_encryption=$BENCH_BORG_ENCRYPTION"
    echo "runs=$BENCH_RUNS"
    echo "prune=$BENCH_PRUNE"
    echo "s3=$BENCH_S3"
    echo "steps=$BENCH_STEPS"
    echo "knobs=$(env | grep '^BENCH_' | sort | tr '\n' ' ' | sed 's/ $//')"
    for t in $BENCH_TOOLS; do
        case $t in
        lifeboat) echo "version_lifeboat=$("$LIFEBOAT_BIN" --version 2>/dev/null | head -n1) (tree $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown), $LIFEBOAT_SRC_BIN)" ;;
        restic) echo "version_restic=$(restic version | head -n1)" ;;
        borg) echo "version_borg=$(borg --version)" ;;
        esac
    done
} >"$W/meta.env"

# ----------------------------------------------------------------- steps

note "data set: $(python3 -c "import json;d=json.load(open('$W/dataset.json'));print('%d files, %.1f MiB' % (d['files'], d['bytes']/2**20))") in $DATA"
t_start=$(date +%s)

# ----------------------------------------------------------------- drill

. "$here/drill.sh"

# drill_files TOOL - the drill step (lifeboat, restic; Borg has no drill):
# append "round tool wall user sys rss_kb rto restore verify setup bytes
# scratch_peak_kb status" to drill.tsv (restic: rto = restore = wall).
drill_files() {
    local t=$1 repo scratch=$W/drill-tmp tf=$W/time.$1.drill out=$LOGS/$1.drill.out err=$LOGS/$1.drill.log
    local wall user sys rss fields rto rs vs setup bytes status
    repo=$(repo_of "$t")
    rm -rf "$scratch"
    mkdir -p "$scratch"
    case $t in
    lifeboat)
        printf '%s\n' "$PASSWORD" >"$W/drill-password"
        chmod 600 "$W/drill-password"
        cat >"$W/drill.yaml" <<YAML
# written by bench/run.sh: the drill step's configuration
name: lifeboat-bench
host: lifeboat-bench
state: $W/drill-state
repositories:
  bench:
    url: $repo
    password_file: $W/drill-password
components:
  data:
    type: files
    paths: [$DATA]
YAML
        # the component's snapshot: the same data as the tools' latest (untimed)
        "$LIFEBOAT_BIN" -r "$repo" backup --component data --host lifeboat-bench "$DATA" \
            >"$LOGS/$t.drill-backup.log" 2>&1 || die "lifeboat backup --component data failed; see $LOGS/$t.drill-backup.log"
        drop_caches
        note "$t drill ..."
        drill_timed "$tf" "$out" "$err" "$scratch" env -u LIFEBOAT_PASSWORD TMPDIR="$scratch" \
            "$LIFEBOAT_BIN" drill data --config "$W/drill.yaml" --json
        ;;
    restic)
        drop_caches
        note "$t restore --verify (drill) ..."
        drill_timed "$tf" "$out" "$err" "$scratch" restic -r "$repo" restore latest --target "$scratch/restore" --verify
        ;;
    *) return 0 ;;
    esac
    read -r wall user sys rss < <(tail -n 1 "$tf")
    if [[ $t == lifeboat ]]; then
        fields=$(drill_fields "$out" data)
        [[ -n $fields ]] || fields=$(printf '0\t0\t0\t0\t0\tFAILED: no drill report (exit %s)' "$DRILL_RC")
        IFS=$'\t' read -r rto rs vs setup bytes status <<<"$fields"
        ((DRILL_RC == 0)) || [[ $status != ok ]] || status="FAILED: exit $DRILL_RC"
    else
        rto=$wall rs=$wall vs=0 setup=0 status=ok
        bytes=$(du -sb "$scratch/restore" | cut -f1)
        ((DRILL_RC == 0)) || status="FAILED: exit $DRILL_RC"
    fi
    rm -rf "$scratch"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$t" "$wall" "$user" "$sys" "$rss" \
        "$rto" "$rs" "$vs" "$setup" "$bytes" "$DRILL_PEAK_KB" "$status" >>"$W/drill.tsv"
    note "$t drill: wall ${wall}s rto ${rto}s (restore ${rs}s verify ${vs}s) rss $((rss / 1024)) MiB scratch peak $((DRILL_PEAK_KB / 1024)) MiB: $status"
    if [[ $status != ok ]]; then
        drill_failed=1
        echo "bench: DRILL FAILED for $t: $status (see $out and $err)" >&2
    fi
}
drill_failed=0

has_step() { [[ " $BENCH_STEPS " == *" $1 "* ]]; }

one_round() {
    local t target
    rm -rf "$W/repo-"* "$W/restore-"* "$W/cache-"* "$W/borg-home"
    for t in $BENCH_TOOLS; do
        tool_init "$t"
        if [[ $cache_mode == warm ]]; then warm_up; fi
        tool_backup "$t" first 1
        if has_step unchanged; then tool_backup "$t" unchanged 2; fi
    done

    if has_step changed; then
        note "changing ~5% of the files"
        gen change >"$W/change.json"

        for t in $BENCH_TOOLS; do
            tool_backup "$t" changed 3
        done
    fi

    for t in $BENCH_TOOLS; do
        if has_step restore; then
            target=$W/restore-$t
            rm -rf "$target"
            tool_restore "$t" "$target" "$(has_step changed && echo 3 || { has_step unchanged && echo 2 || echo 1; })"
            verify "$t" "$target"
            rm -rf "$target"
        fi
        if has_step check; then tool_check "$t"; fi
    done
    if has_step drill; then
        for t in $BENCH_TOOLS; do
            drill_files "$t"
        done
    fi
    if has_step changed; then gen revert; fi
}

for ((round = 1; round <= BENCH_RUNS; round++)); do
    if ((BENCH_RUNS > 1)); then note "round $round of $BENCH_RUNS"; fi
    one_round
done

# ------------------------------------------------------- forget + prune

# count_snapshots TOOL REPO
count_snapshots() {
    case $1 in
    lifeboat) "$LIFEBOAT_BIN" -r "$2" snapshots --json ;;
    restic) restic -r "$2" snapshots --json ;;
    esac | python3 -c 'import json,sys; print(len(json.load(sys.stdin) or []))'
}

# measure_prune TOOL: time forget --keep-last N --prune on the tool's history;
# append "tool wall user sys rss_kb inblocks repo_before repo_after
# snaps_before snaps_after bytes_read_reported check startup_inblocks" to
# prune.tsv. inblocks: /usr/bin/time %I, 512-byte blocks the process tree
# read from the block device (everything prune read from the repository, its
# cache and its binary, when the page cache was dropped first);
# startup_inblocks: the same for `TOOL version` after a cache drop (binary
# and libraries), to subtract.
measure_prune() {
    local t=$1 repo=$W/repo-prune-$1 tf=$W/time.$1.prune log=$LOGS/$1.prune.log rc=0
    local before after sb sa reported="" status=ok startup=0
    local -a cmd ver
    case $t in
    lifeboat) cmd=("$LIFEBOAT_BIN" -r "$repo" forget --keep-last "$BENCH_PRUNE_KEEP" --prune --json) ;;
    restic) cmd=(restic -r "$repo" forget --keep-last "$BENCH_PRUNE_KEEP" --prune) ;;
    esac
    case $t in
    lifeboat) ver=("$LIFEBOAT_BIN" --version) ;;
    restic) ver=(restic version) ;;
    esac
    drop_caches
    /usr/bin/time -f '%I' -o "$tf.startup" "${ver[@]}" >/dev/null 2>&1 && startup=$(tail -n 1 "$tf.startup")
    before=$(du -sb "$repo" | cut -f1)
    sb=$(count_snapshots "$t" "$repo")
    drop_caches
    note "$t forget --keep-last $BENCH_PRUNE_KEEP --prune ..."
    /usr/bin/time -f '%e %U %S %M %I' -o "$tf" "${cmd[@]}" >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
        echo "bench: FAILED: $t forget --prune exited with $rc: ${cmd[*]}" >&2
        tail -n 25 "$log" >&2
        exit 1
    fi
    local wall user sys rss inb
    read -r wall user sys rss inb < <(tail -n 1 "$tf")
    after=$(du -sb "$repo" | cut -f1)
    sa=$(count_snapshots "$t" "$repo")
    if [[ $t == lifeboat ]]; then
        # prune's own count of the bytes it downloaded, when the JSON output carries it
        reported=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        j = json.loads(line)
    except ValueError:
        continue
    for o in (j if isinstance(j, list) else [j]):
        if isinstance(o, dict) and "bytes_read" in o:
            print(o["bytes_read"]); sys.exit()
        if isinstance(o, dict) and isinstance(o.get("prune"), dict) and "bytes_read" in o["prune"]:
            print(o["prune"]["bytes_read"]); sys.exit()' "$log")
        "$LIFEBOAT_BIN" -r "$repo" check >"$LOGS/$t.prune-check.log" 2>&1 || status="FAILED (see $LOGS/$t.prune-check.log)"
    else
        restic -r "$repo" check >"$LOGS/$t.prune-check.log" 2>&1 || status="FAILED (see $LOGS/$t.prune-check.log)"
    fi
    [[ $sa == "$BENCH_PRUNE_KEEP" ]] || status="$status; $sa snapshots left, not $BENCH_PRUNE_KEEP"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$wall" "$user" "$sys" "$rss" "$inb" \
        "$before" "$after" "$sb" "$sa" "$reported" "$status" "$startup" >>"$W/prune.tsv"
    note "$t forget+prune: wall ${wall}s cpu $(python3 -c "print(round($user+$sys,2))")s rss $((rss / 1024)) MiB" \
        "disk read $((inb / 2048)) MiB (start-up $((startup / 2048)) MiB)${reported:+ (reported: $((reported / 1048576)) MiB)} repo $((before / 1048576)) -> $((after / 1048576)) MiB," \
        "snapshots $sb -> $sa, check: $status"
    [[ $status == ok ]] || prune_failed=1
}

prune_failed=0
prune_phase() {
    local t i tools=() pdata=$W/prune-data t0
    for t in $BENCH_TOOLS; do
        case $t in lifeboat | restic) tools+=("$t") ;; esac
    done
    ((${#tools[@]} > 0)) || return 0
    note "forget+prune: building $BENCH_PRUNE_SNAPSHOTS snapshots per tool ($BENCH_PRUNE_FRACTION of the files rewritten between them)"
    rm -rf "$pdata" "$W/repo-prune-"*
    cp -al "$DATA" "$pdata" # churn.py replaces files, never writes into them: the baseline stays intact
    : >"$W/prune-churn.jsonl"
    for t in "${tools[@]}"; do
        case $t in
        lifeboat) "$LIFEBOAT_BIN" -r "$W/repo-prune-$t" init ;;
        restic) restic -r "$W/repo-prune-$t" init --repository-version 2 ;;
        esac >"$LOGS/$t.prune-init.log" 2>&1 || die "$t init (prune step) failed; see $LOGS/$t.prune-init.log"
    done
    t0=$(date +%s)
    for ((i = 1; i <= BENCH_PRUNE_SNAPSHOTS; i++)); do
        if ((i > 1)); then
            python3 "$here/churn.py" "$pdata" --seed "$BENCH_SEED" --round "$i" --fraction "$BENCH_PRUNE_FRACTION" \
                >>"$W/prune-churn.jsonl" || die "churn.py failed"
        fi
        for t in "${tools[@]}"; do
            case $t in
            lifeboat) "$LIFEBOAT_BIN" -r "$W/repo-prune-$t" backup -q "$pdata" ;;
            restic) restic -r "$W/repo-prune-$t" backup -q "$pdata" ;;
            esac >>"$LOGS/$t.prune-history.log" 2>&1 || die "$t backup $i of the prune history failed; see $LOGS/$t.prune-history.log"
        done
        if ((i % 10 == 0)); then note "  $i of $BENCH_PRUNE_SNAPSHOTS snapshots ($(($(date +%s) - t0)) s)"; fi
    done
    echo "prune_history_s=$(($(date +%s) - t0))" >>"$W/meta.env"
    echo "prune_snapshots=$BENCH_PRUNE_SNAPSHOTS" >>"$W/meta.env"
    echo "prune_keep=$BENCH_PRUNE_KEEP" >>"$W/meta.env"
    echo "prune_fraction=$BENCH_PRUNE_FRACTION" >>"$W/meta.env"
    for t in "${tools[@]}"; do
        measure_prune "$t"
    done
    if [[ $BENCH_KEEP != 1 ]]; then rm -rf "$pdata" "$W/repo-prune-"*; fi
}

if [[ $BENCH_PRUNE == 1 ]]; then
    prune_phase
fi

# ----------------------------------------------------------- PostgreSQL

pg_failed=0
if [[ $BENCH_PG == 1 ]]; then
    pg_rc=0
    BENCH_PG_CACHE=$cache_mode BENCH_KEEP=$BENCH_KEEP BENCH_PG_DRILL=${BENCH_PG_DRILL:-1} LIFEBOAT_BIN=$LIFEBOAT_BIN "$here/pg.sh" "$W" || pg_rc=$?
    case $pg_rc in
    0) ;;
    2) pg_failed=1 ;; # numbers written; a restore did not verify: reported, then fail below
    *) die "the PostgreSQL step failed (exit $pg_rc; logs in $LOGS/pg.*; BENCH_PG=0 skips it)" ;;
    esac
fi

# ------------------------------------------------------------------- S3

s3_failed=0
if [[ $BENCH_S3 == 1 ]]; then
    s3_rc=0
    BENCH_DIR=$BENCH_DIR BENCH_TOOLS=$BENCH_TOOLS LIFEBOAT_BIN=$LIFEBOAT_BIN BENCH_CACHE_MODE=$cache_mode \
        BENCH_KEEP=$BENCH_KEEP "$here/s3.sh" "$W/s3.tsv" || s3_rc=$?
    case $s3_rc in
    0) ;;
    2) s3_failed=1 ;; # numbers written; a restore differed: reported, then fail below
    *) die "the S3 step failed (exit $s3_rc; logs in $W/s3/logs; BENCH_S3=0 skips it)" ;;
    esac
fi

echo "elapsed_s=$(($(date +%s) - t_start))" >>"$W/meta.env"
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$W/meta.env"

mkdir -p "$(dirname "$BENCH_JSON")" "$(dirname "$BENCH_OUT")"
python3 "$here/report.py" --work "$W" --md "$BENCH_OUT" --json "$BENCH_JSON" --only "$BENCH_REPORT"
note "wrote $BENCH_OUT and $BENCH_JSON (logs in $LOGS)"

# ------------------------------------------------- WAL archiving and prefetch
# after the report: it replaces its own section of BENCH_OUT
if [[ $BENCH_WAL == 1 ]]; then
    BENCH_OUT=$BENCH_OUT BENCH_KEEP=$BENCH_KEEP LIFEBOAT_BIN=$LIFEBOAT_BIN "$here/wal.sh" "$W" ||
        die "the WAL step failed (logs in $W/wal/logs; BENCH_WAL=0 skips it)"
fi

# ------------------------------------------- a backup in a 256 MiB cgroup
if [[ ${BENCH_MEMLIMIT:-1} == 1 ]]; then
    BENCH_OUT=$BENCH_OUT LIFEBOAT_BIN=$LIFEBOAT_BIN "$here/memlimit.sh" "$W" "$DATA" ||
        die "a backup in a 256 MiB memory cgroup did not complete (logs in $W/memlimit; BENCH_MEMLIMIT=0 skips it)"
fi

if ((verify_failed)); then
    die "at least one restore did not equal the data set (see above and $W/verify.tsv)"
fi
if ((drill_failed)); then
    die "a recovery drill failed (see above and $W/drill.tsv)"
fi
if ((pg_failed)); then
    die "a PostgreSQL restore did not verify (see $W/pg.env and $LOGS/pg.*)"
fi
if ((s3_failed)); then
    die "a restore from the S3 server did not equal the data set (see $W/s3.tsv and $W/s3/logs)"
fi
if ((prune_failed)); then
    die "a repository failed its check after forget+prune, or kept the wrong number of snapshots (see above)"
fi
