#!/usr/bin/env bash
# bench/memlimit.sh WORKDIR DATA - issue 15: a backup of the bench set in a
# container limited to 256 MiB completes. Makes a memory cgroup of 256 MiB
# (scripts/memcg.sh; needs root) and backs DATA up in it with lifeboat's
# default budget (half the cgroup's limit), planning for the machine's CPUs
# and for 32 CPUs (LIFEBOAT_CPUS=32), each into a new repository that
# `check` then reads. Writes WORKDIR/memlimit/memlimit.md, a Markdown section
# "## Backup in a 256 MiB memory cgroup", and splices it into BENCH_OUT when
# set. Exit 1 when a backup did not complete or its check failed; 0 with a
# note when no cgroup can be made here.
set -u
here=$(cd "$(dirname "$0")" && pwd)
W=$1
DATA=$2
LIFEBOAT_BIN=${LIFEBOAT_BIN:?}
BENCH_OUT=${BENCH_OUT:-}
P=$W/memlimit
mkdir -p "$P"
. "$here/../scripts/memcg.sh"
note() { echo "bench: $*" >&2; }
LIMIT=$((256 * 1024 * 1024))
export LIFEBOAT_PASSWORD=${LIFEBOAT_PASSWORD:-bench-password}
trap 'memcg_remove; rm -rf "$P"/repo-*' EXIT

md=$P/memlimit.md
{
    echo "## Backup in a 256 MiB memory cgroup"
    echo
    echo "\`bench/memlimit.sh\`: the bench set ($(du -sh "$DATA" | cut -f1)) backed up by lifeboat inside a memory"
    echo "cgroup limited to 256 MiB (swap included), with the default memory budget (half the cgroup's limit:"
    echo "2 workers, 1 upload; docs/configuration.md, \"Memory\"), into a new local repository, then \`check\`."
    echo "Peak RSS is the process's (/usr/bin/time); the cgroup's peak counts the page cache too."
    echo
} >"$md"
failed=0
if ! memcg_make "$LIMIT"; then
    echo "Not measured: no memory cgroup could be made on this machine (needs root and cgroup v1 or v2 memory)." >>"$md"
    note "memlimit: no memory cgroup here, skipped"
else
    memcg_remove
    echo "| CPUs planned for | exit | wall (s) | peak RSS (MiB) | cgroup peak (MiB) | OOM kills | check |" >>"$md"
    echo "|---|---|---|---|---|---|---|" >>"$md"
    for cpus in "" 32; do
        memcg_make "$LIMIT" || { note "memlimit: cannot make the cgroup again"; failed=1; break; }
        repo=$P/repo-${cpus:-default}
        "$LIFEBOAT_BIN" -r "$repo" init -q >"$P/init.log" 2>&1 || { note "memlimit: init failed"; failed=1; break; }
        note "memlimit: backup in 256 MiB, CPUs ${cpus:-$(nproc)} ..."
        rc=0
        LIFEBOAT_CPUS=$cpus memcg_run /usr/bin/time -f '%e %M' -o "$P/time" \
            "$LIFEBOAT_BIN" -r "$repo" backup -q "$DATA" >"$P/backup-${cpus:-default}.log" 2>&1 || rc=$?
        read -r wall rss < <(tail -n 1 "$P/time")
        kills=$(memcg_oom_kills)
        peak=$(memcg_peak_mib)
        memcg_remove
        chk=ok
        if ((rc == 0)); then
            "$LIFEBOAT_BIN" -r "$repo" check >"$P/check.log" 2>&1 || chk=FAILED
        else
            chk="-"
            failed=1
        fi
        [[ $chk == FAILED ]] && failed=1
        echo "| ${cpus:-$(nproc) (this machine)} | $rc | $wall | $((rss / 1024)) | $peak | ${kills:-?} | $chk |" >>"$md"
        note "memlimit: exit $rc wall ${wall}s rss $((rss / 1024)) MiB cgroup peak $peak MiB oom kills ${kills:-?} check $chk"
        rm -rf "$repo"
    done
fi
cat "$md"
if [[ -n $BENCH_OUT ]]; then
    python3 "$here/splice.py" "$BENCH_OUT" "$md"
fi
exit $failed
