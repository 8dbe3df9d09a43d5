#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD SECONDS [TARGET...] - run each libFuzzer target
# (default: all) for SECONDS on its corpus; `make fuzz` calls it.
#
# libFuzzer reads tests/fuzz/corpus/<t>/ and writes what it finds new to
# BUILD/fuzz-corpus/<t>/ (the checked-in seeds stay as they are: copy an
# input over by hand when it is worth keeping). A crash, leak, timeout or
# out-of-memory input lands in BUILD/fuzz-crashes/<t>/; keep it as
# tests/fuzz/crashes/<t>/<name> (and list it in tests/fuzz/known-bugs until
# it is fixed) so that test_fuzz_<t> replays it. Exits 1 when any target
# found something.
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:?usage: run.sh BUILD SECONDS [TARGET...]}
SECONDS_EACH=${2:?usage: run.sh BUILD SECONDS [TARGET...]}
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        t=$(basename "$f" .c)
        targets+=("${t#fuzz_}")
    done
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/tests/fuzz/ubsan.supp}
found=()
for t in "${targets[@]}"; do
    exe=$BUILD/tests/fuzz/fuzz_$t
    if [ ! -x "$exe" ]; then
        echo "no fuzzer $exe (configure with -Dfuzz=true)" >&2
        exit 2
    fi
    work=$BUILD/fuzz-corpus/$t crashes=$BUILD/fuzz-crashes/$t
    mkdir -p "$work" "$crashes"
    log=$BUILD/fuzz-$t.log
    nice -n 15 "$exe" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        printf 'fuzz_%-10s ok      %10s runs in %ss  %s\n' "$t" "${execs:-?}" "$SECONDS_EACH" "$cov"
    else
        found+=("$t")
        printf 'fuzz_%-10s FOUND   %10s runs  %s (exit %d; log %s)\n' "$t" "${execs:-?}" "$cov" "$rc" "$log"
        grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -5 | sed 's/^/    /'
    fi
done
if [ ${#found[@]} -gt 0 ]; then
    echo "found inputs to look at in: ${found[*]} ($BUILD/fuzz-crashes/)"
    exit 1
fi
