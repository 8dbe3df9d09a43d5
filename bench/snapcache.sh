#!/usr/bin/env bash
# bench/snapcache.sh WORKDIR - `lifeboat snapshots` against an S3 repository
# holding N snapshots (default 1000, of one tiny file), with the local cache
# of snapshot and index objects cold (deleted) and warm (issue 15, Done-when
# 0). A throw-away Ceph RGW (tests/harness/s3, memstore) on 127.0.0.1.
# Prints "snapshots N cold|warm|nocache SECONDS" lines (each the best of 3).
#
# Environment: N (default 1000), LIFEBOAT_BIN (default build/lifeboat).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
W=${1:?usage: bench/snapcache.sh WORKDIR}
N=${N:-1000}
LB=${LIFEBOAT_BIN:-$root/build/lifeboat}
rm -rf "$W"
mkdir -p "$W"
W=$(readlink -f "$W")
cp "$LB" "$W/lifeboat"
LB=$W/lifeboat
trap '"$root/tests/harness/s3/stop.sh" "$W/s3" --rm >/dev/null 2>&1' EXIT
S3_ACCESS_KEY=bench-ak S3_SECRET_KEY=bench-sk "$root/tests/harness/s3/start.sh" "$W/s3" >"$W/s3.start.log" 2>&1 || {
    tail -20 "$W/s3.start.log" >&2
    exit 1
}
. "$W/s3/s3.env"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY LIFEBOAT_S3_REGION=$S3_REGION
unset AWS_SESSION_TOKEN AWS_PROFILE LIFEBOAT_REPOSITORY LIFEBOAT_TEST_FAULTS LIFEBOAT_NO_CACHE
export LIFEBOAT_PASSWORD=bench-snapcache XDG_CACHE_HOME=$W/cache
R=s3:$S3_ENDPOINT/snapcache/repo
"$LB" -r "$R" init --kdf-n 1024 -q
echo tiny >"$W/tiny"
for ((i = 1; i <= N; i++)); do "$LB" -r "$R" backup "$W/tiny" -q; done
[[ $("$LB" -r "$R" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') == "$N" ]]
best() { # best of 3 wall times of "$@" (after $PRE, untimed)
    local b=""
    for _ in 1 2 3; do
        eval "${PRE:-:}"
        local t0 t1
        t0=$(date +%s.%N)
        "$@" >/dev/null
        t1=$(date +%s.%N)
        b=$(python3 -c 'import sys; a=float(sys.argv[2])-float(sys.argv[1]); b=sys.argv[3]; print("%.2f" % (a if not b or a < float(b) else float(b)))' "$t0" "$t1" "$b")
    done
    echo "$b"
}
echo "snapshots $N cold $(PRE='rm -rf "$W/cache"' best "$LB" -r "$R" snapshots)"
echo "snapshots $N warm $(best "$LB" -r "$R" snapshots)"
echo "snapshots $N nocache $(LIFEBOAT_NO_CACHE=1 best "$LB" -r "$R" snapshots)"
