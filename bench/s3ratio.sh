#!/usr/bin/env bash
# bench/s3ratio.sh WORKDIR - the S3 / local ratios of issue 15's Done-when 0
# in one run: dump verification, `restore --pg-target` and `copy` of a
# pgbench dump snapshot, each against an S3 repository and a local one
# (servers and environment: bench/pgs3lib.sh; a `pgbench -i -s SCALE`
# database). For every binary of BENCH_BINS and each repository R (local
# directory, S3 bucket):
#   verify    lifeboat -v -r R backup --pg URL: the "verified the stored dump
#             ... in X s" line (the dump read back through pg_restore)
#   restore   lifeboat -r R restore latest --pg-target URL/NEWDB (createdb
#             first, untimed; the row count of pgbench_accounts checked, untimed)
#   copy      lifeboat -r NEWLOCAL copy --from-repo R, into an empty local
#             repository of its own chunker secret (the dump is re-chunked)
#   copy-same the same into one made with `init --copy-chunker-params
#             --from-repo R` (blobs copied as they are cut)
# RUNS rounds (default 3), each local then S3, so load from elsewhere hits
# both alike. In the first round a restore of each copy is checked, untimed,
# and from S3 the GET requests of one more copy of each kind (untimed) are
# counted through the proxy's request log, with the data blobs copied.
# Prints "NAME REPO STEP SECONDS (best of: ...)" per step and repository, the
# best of the rounds, and "NAME ratio STEP S3/LOCAL" of the best figures. The local cache (XDG_CACHE_HOME
# under WORKDIR) is warm for the S3 runs: the backup filled it.
#
# Environment: SCALE (default 50), RUNS (default 3), BENCH_BINS ("NAME=PATH ...", default
# "lifeboat=build/lifeboat"), BENCH_KEEP=1 keeps WORKDIR's servers' files.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
BENCH_NAME=s3ratio BENCH_RM='r-* c-*'
. "$here/pgs3lib.sh"

note "pgbench -i -s $SCALE"
createdb bench
pgbench -i -q -s "$SCALE" bench >"$W/pgbench.log" 2>&1
WANT=$(rows bench)
best() { python3 -c 'import sys; print("%.2f" % min(float(x) for x in sys.argv[1:]))' "$@"; }

RUNS=${RUNS:-3}
n=0
declare -A T # NAME.REPO.STEP -> the seconds of every round, space-separated
# init_copy KIND DST SRC: an empty local repository for a copy of KIND
init_copy() {
    if [[ $1 == copy ]]; then
        "$LB" -r "$2" init --kdf-n 1024 -q
    else
        "$LB" -r "$2" init --kdf-n 1024 --copy-chunker-params --from-repo "$3" -q
    fi
}
for b in $BENCH_BINS; do
    name=${b%%=*} bin=${b#*=}
    cp "$bin" "$W/lifeboat-$name"
    LB=$W/lifeboat-$name
    "$LB" -r "$W/r-$name" init --kdf-n 1024 -q
    "$LB" -r "s3:$S3_ENDPOINT/s3ratio/$name" init --kdf-n 1024 -q
    # rounds alternate local and S3, so load from elsewhere hits both alike
    for round in $(seq 1 "$RUNS"); do
        for where in local s3; do
            n=$((n + 1))
            if [[ $where == local ]]; then R=$W/r-$name; else R=s3:$S3_ENDPOINT/s3ratio/$name; fi
            "$LB" -v -r "$R" backup --pg "$(url bench)" >"$W/backup-$name-$where.log" 2>&1
            v=$(sed -n 's/.*verified the stored dump .* in \([0-9.]*\) s.*/\1/p' "$W/backup-$name-$where.log")
            T[$name.$where.verify]+="${v:-0} "
            createdb "r$n"
            t0=$(date +%s.%N)
            "$LB" -r "$R" restore latest --pg-target "$(url "r$n")" >"$W/restore-$name-$where.log" 2>&1
            T[$name.$where.restore]+="$(secs "$t0" "$(date +%s.%N)") "
            got=$(rows "r$n")
            [[ $got == "$WANT" ]] || note "RESTORE CHECK FAILED: $name $where: $got rows, not $WANT"
            dropdb "r$n"
            # copy into a plain repository (its own chunker secret: the files are
            # re-chunked) and into one made with --copy-chunker-params (blobs kept)
            for kind in copy copy-same; do
                C=$W/c-$name-$where-$kind
                rm -rf "$C"
                init_copy "$kind" "$C" "$R"
                t0=$(date +%s.%N)
                "$LB" -r "$C" copy --from-repo "$R" -q >"$W/$kind-$name-$where.log" 2>&1
                T[$name.$where.$kind]+="$(secs "$t0" "$(date +%s.%N)") "
                [[ $round == 1 ]] || continue
                createdb "k$n"
                "$LB" -r "$C" restore latest --pg-target "$(url "k$n")" >>"$W/$kind-$name-$where.log" 2>&1
                got=$(rows "k$n")
                [[ $got == "$WANT" ]] || note "COPY CHECK FAILED: $name $where $kind: $got rows, not $WANT"
                dropdb "k$n"
                [[ $where == s3 ]] || continue
                # the requests of one more copy from S3, untimed
                rm -rf "$C"
                init_copy "$kind" "$C" "$R"
                : >"$W/proxy.log"
                "$LB" -r "$C" copy --from-repo "s3:http://127.0.0.1:$(cat "$W/proxy.port")/s3ratio/$name" \
                    -q >"$W/$kind-counted-$name.log" 2>&1
                sleep 0.2
                blobs=$("$LB" -r "$C" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["data_blobs"])')
                echo "$name $where $kind-requests $(grep -c '^GET [^ ]*/data/' "$W/proxy.log") pack GETs," \
                    "$(grep -c '^GET ' "$W/proxy.log") GETs in all, $blobs data blobs copied"
            done
        done
    done
    for step in verify restore copy copy-same; do
        for where in local s3; do
            echo "$name $where $step $(best ${T[$name.$where.$step]}) (best of: ${T[$name.$where.$step]% })"
        done
        echo "$name ratio $step $(ratio "$(best ${T[$name.s3.$step]})" "$(best ${T[$name.local.$step]})")"
    done
done
