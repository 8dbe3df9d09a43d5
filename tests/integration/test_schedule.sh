#!/usr/bin/env bash
# test_schedule.sh - `lifeboat schedule next`: every row of the shared cron
# vectors (../shared/vectors/cron/cases.tsv; sources in cases.sources.tsv)
# through the command line, daylight saving in Europe/Berlin and
# America/New_York, --json, and the error exits.
. "$(dirname "$0")/lib.sh"
VECTORS=${LIFEBOAT_VECTORS:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/vectors}/cron/cases.tsv

# next EXPR START WANT [--timezone TZ]: the fire times after START are WANT
# (comma-separated), asked for as many as WANT lists
next() {
    local expr=$1 start=$2 want=$3
    shift 3
    local k got
    k=$(awk -F, '{print NF}' <<<"$want")
    got=$("$LB" schedule next "$expr" --after "$start" --count "$k" "$@" 2>&1 | paste -sd, -)
    if [ "$got" = "$want" ]; then
        ok "'$expr' after $start $*"
    else
        fail "'$expr' after $start $*"
        note "  want $want"
        note "  got  $got"
    fi
}

if [ -r "$VECTORS" ]; then ok "the vectors are at $VECTORS"; else fail "the vectors are at $VECTORS"; fi
rows=0
while IFS=$'\t' read -r expr flavour start want; do
    [ "$expr" = expr ] && continue
    rows=$((rows + 1))
    next "$expr" "$start" "$want"
done <"$VECTORS"
if [ "$rows" -ge 60 ]; then ok "$rows vector rows"; else fail "only $rows vector rows"; fi

# daylight saving (as cron.h: a gap time fires at the change, an overlap time
# once, an interval schedule keeps its interval)
next "30 2 * * *" 2026-03-28T12:00:00Z 2026-03-29T01:00:00Z,2026-03-30T00:30:00Z --timezone Europe/Berlin
next "0 30 2 * * ?" 2026-10-24T12:00:00Z 2026-10-25T00:30:00Z,2026-10-26T01:30:00Z --timezone Europe/Berlin
next "*/15 * * * *" 2026-10-25T00:30:00Z 2026-10-25T00:45:00Z,2026-10-25T01:00:00Z,2026-10-25T01:15:00Z \
    --timezone Europe/Berlin
next "0 */30 * * * ?" 2026-03-29T00:00:00Z 2026-03-29T00:30:00Z,2026-03-29T01:00:00Z,2026-03-29T01:30:00Z \
    --timezone Europe/Berlin
next "30 2 * * *" 2026-03-07T12:00:00Z 2026-03-08T07:00:00Z,2026-03-09T06:30:00Z --timezone America/New_York
next "30 1 * * *" 2026-10-31T12:00:00Z 2026-11-01T05:30:00Z,2026-11-02T06:30:00Z --timezone America/New_York
next "*/15 * * * *" 2026-11-01T05:30:00Z 2026-11-01T05:45:00Z,2026-11-01T06:00:00Z,2026-11-01T06:15:00Z \
    --timezone America/New_York

# fewer than --count when the schedule ends; none at all
next "0 0 0 1 1 ? 2027" 2026-01-01T00:00:00Z 2027-01-01T00:00:00Z
out=$("$LB" schedule next "0 0 30 2 ?" --after 2026-01-01T00:00:00Z 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "an impossible date prints nothing"; else fail "an impossible date (exit $rc): $out"; fi

# --json: one array; the default --count is 5; --after defaults to now
out=$("$LB" schedule next "0 0 1 * *" --after "2026-01-15 00:00:00" --json)
if [ "$out" = '["2026-02-01T00:00:00Z","2026-03-01T00:00:00Z","2026-04-01T00:00:00Z","2026-05-01T00:00:00Z","2026-06-01T00:00:00Z"]' ]; then
    ok "--json prints one array of five"
else
    fail "--json prints one array of five: $out"
fi
now=$(date -u +%s)
first=$("$LB" schedule next "* * * * *" --count 1)
t=$(date -u -d "$first" +%s)
if [ "$t" -gt "$now" ] && [ "$t" -le $((now + 61)) ]; then ok "--after defaults to now"; else fail "--after defaults to now: $first"; fi

# errors exit 1 and name the expression and the field
check_rc 1 "a bad field exits 1" "$LB" schedule next "0 0 32 * *"
if last_output | grep -qx "lifeboat: schedule: '0 0 32 \* \*': field 3 (day of month) '32': out of range 1-31"; then
    ok "... naming the field"
else
    fail "... naming the field"; last_output | sed 's/^/#   /'
fi
check_rc 1 "four fields exit 1" "$LB" schedule next "* * * *"
if last_output | grep -q "expected 5 fields (Vixie) or 6-7 (Quartz), got 4"; then ok "... saying so"; else
    fail "... saying so"; last_output | sed 's/^/#   /'; fi
check_rc 1 "an unknown zone exits 1" "$LB" schedule next "* * * * *" --timezone Mars/Olympus_Mons
if last_output | grep -q "unknown time zone 'Mars/Olympus_Mons'"; then ok "... naming it"; else
    fail "... naming it"; last_output | sed 's/^/#   /'; fi
check_rc 1 "a path as zone exits 1" "$LB" schedule next "* * * * *" --timezone ../../../etc/passwd
check_rc 1 "without 'next' exits 1" "$LB" schedule "* * * * *"
out=$("$LB" schedule next "* * *" --json 2>/dev/null)
if grep -q '"exit_code": *1' <<<"$out" || grep -q '"exit_code":1' <<<"$out"; then ok "--json errors are an error object"; else
    fail "--json errors are an error object: $out"; fi
finish
