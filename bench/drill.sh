# shellcheck shell=bash
# bench/drill.sh - helpers for the recovery drill steps, sourced by
# bench/run.sh (the file set) and bench/pg.sh (the database).
#
# drill_timed TF OUT ERR SCRATCH CMD... - run CMD under /usr/bin/time -f
#   '%e %U %S %M' -o TF, its stdout to OUT and stderr to ERR, while a
#   sampler runs `du -sk SCRATCH` once a second; sets DRILL_PEAK_KB to the largest sample (the scratch folder's
#   peak disk use, KiB of allocated blocks) and DRILL_RC to CMD's exit
#   status. The sampler's own `du` runs are not timed.
# drill_fields JSON COMPONENT - from `lifeboat drill --json` output, print
#   "rto restore verify setup bytes passed" of COMPONENT, tab-separated
#   (setup = rto - restore - verify: the scratch target's creation); or
#   nothing when the output holds no such component.

# shellcheck disable=SC2034 # DRILL_RC, DRILL_PEAK_KB: read by the caller
drill_timed() {
    local tf=$1 out=$2 err=$3 scratch=$4 peakf=$1.peak pid spid
    shift 4
    echo 0 >"$peakf"
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$out" 2>"$err" &
    pid=$!
    (
        peak=0
        while kill -0 "$pid" 2>/dev/null; do
            kb=$(du -sk "$scratch" 2>/dev/null | cut -f1)
            if [[ -n $kb ]] && ((kb > peak)); then
                peak=$kb
                echo "$peak" >"$peakf"
            fi
            sleep 1
        done
    ) &
    spid=$!
    DRILL_RC=0
    wait "$pid" || DRILL_RC=$?
    wait "$spid" || true
    DRILL_PEAK_KB=$(cat "$peakf")
}

drill_fields() {
    python3 - "$1" "$2" <<'PY'
import json, sys
try:
    doc = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit(0)
for c in doc.get("components") or []:
    if c.get("name") == sys.argv[2]:
        rto, rs, vs = c.get("rto_seconds") or 0, c.get("restore_seconds") or 0, c.get("verify_seconds") or 0
        print("%.3f\t%.3f\t%.3f\t%.3f\t%d\t%s" % (rto, rs, vs, max(rto - rs - vs, 0), c.get("bytes_restored") or 0,
                                                 "ok" if c.get("passed") else "FAILED: %s" % c.get("error")))
PY
}
