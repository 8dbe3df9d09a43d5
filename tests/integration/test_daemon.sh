#!/usr/bin/env bash
# test_daemon.sh - the scheduler daemon in real time, about 25 seconds
# (issue 11, Done-when 3): a job every second (`* * * * * ?`), one that
# overruns its interval (the next slot is skipped and recorded), one that fails
# twice and then succeeds (three attempts recorded), one that times out, a
# SIGHUP with a broken file (the old schedule keeps running), a SIGTERM during
# a run (it finishes within the grace period). The history afterwards must
# hold exactly the rows these imply. Also: one daemon per state directory,
# and an idle daemon uses no CPU.
. "$(dirname "$0")/lib.sh"

REPO=$TMP/repo
STATE=$TMP/state
CFG=$TMP/lifeboat.yaml
printf 'daemon-test-password\n' >"$TMP/pass"
chmod 600 "$TMP/pass"
unset LIFEBOAT_PASSWORD
LIFEBOAT_PASSWORD_FILE=$TMP/pass "$LB" -r "$REPO" init --kdf-n 1024 -q || fail "init"

write_config() {
    cat >"$CFG" <<EOF
# the daemon test's plan
name: daemon-test
state: $STATE
repositories:
  local:
    url: $REPO
    password_file: $TMP/pass
components:
  tick:
    type: command
    command: [sh, -c, "echo tick"]
    filename: tick.txt
    schedule: "* * * * * ?"
    retries: 0
  slow:
    type: command
    command: [sh, -c, "sleep 4; echo slow"]
    filename: slow.txt
    schedule: "*/3 * * * * ?"
    retries: 0
  flaky:
    type: command
    command: [sh, -c, "n=\$(cat $TMP/count 2>/dev/null || echo 0); n=\$((n+1)); echo \$n >$TMP/count; test \$n -ge 3 && echo ok"]
    filename: flaky.txt
    schedule: "*/10 * * * * ?"
    retries: 2
    backoff: 1s
  hang:
    type: command
    command: [sleep, "30"]
    filename: hang.txt
    schedule: "*/10 * * * * ?"
    timeout: 2s
    kill_after: 1s
    retries: 0
  replaced:
    type: command
    command: [sh, -c, "sleep 3; echo replaced"]
    filename: replaced.txt
    schedule: "*/2 * * * * ?"
    concurrency_policy: Replace
    retries: 0
EOF
}
write_config
check "the test configuration is valid" "$LB" config check "$CFG"

history_json() { "$LB" history --config "$CFG" --json; }
# count ROWS-FILTER: python expression over r (a history row) -> number of rows
count() { history_json | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin) if $1))"; }
wait_for() { # seconds python-filter: until count(filter) > 0
    local deadline=$((SECONDS + $1))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(count "$2" 2>/dev/null || echo 0)" -gt 0 ] && return 0
        sleep 0.3
    done
    return 1
}

"$LB" daemon --config "$CFG" --grace-period 10 --log-format json 2>"$TMP/daemon.log" &
DPID=$!
cleanup_hooks+=("kill -9 $DPID 2>/dev/null")

if wait_for 8 "r['job'] == 'tick' and r['outcome'] == 'succeeded'"; then ok "a job every second runs"; else
    fail "a job every second runs"
    sed 's/^/#   /' "$TMP/daemon.log" | tail -20
fi

check_rc 11 "a second daemon on the same state directory is refused" "$LB" daemon --config "$CFG"
grep -q "another daemon (pid $DPID)" "$TMP/.out" && ok "... naming the first one's pid" || fail "second daemon message: $(last_output)"

# SIGHUP with a broken file: the old schedule keeps running
cp "$CFG" "$TMP/good.yaml"
printf 'components:\n  tick:\n    type: command\n    schedule: "not a cron"\n    bogus_key: 1\n' >"$CFG"
HUP_MS=$(date +%s%3N)
kill -HUP $DPID
sleep 3
if grep -q "reload of '$CFG' failed" "$TMP/daemon.log"; then ok "a broken file on SIGHUP is reported"; else
    fail "a broken file on SIGHUP is reported"
fi
grep -q "bogus_key" "$TMP/daemon.log" && ok "... with each error of the file" || fail "... with each error of the file"
cp "$TMP/good.yaml" "$CFG" # `history` reads the state directory from it
# a valid reload: a component added to the file starts running
cat >>"$CFG" <<EOF
  added:
    type: command
    command: [sh, -c, "echo added"]
    filename: added.txt
    schedule: "* * * * * ?"
    retries: 0
EOF
kill -HUP $DPID
wait_for 5 "r['job'] == 'added' and r['outcome'] == 'succeeded'" && ok "SIGHUP with a valid file: a new component runs" ||
    fail "SIGHUP with a valid file: a new component runs"
after=$(count "r['job'] == 'tick' and r['started_at'] and r['started_at'] > '$(date -u -d @$((HUP_MS / 1000)) +%Y-%m-%dT%H:%M:%S)'")
[ "$after" -ge 2 ] && ok "the old schedule keeps running after the failed reload ($after runs)" ||
    fail "the old schedule keeps running after the failed reload ($after runs)"

wait_for 20 "r['job'] == 'flaky' and r['attempt'] == 3" && ok "the flaky job reached its third attempt" ||
    fail "the flaky job reached its third attempt"
wait_for 15 "r['job'] == 'hang' and r['outcome'] == 'timed-out'" && ok "the hanging job timed out" ||
    fail "the hanging job timed out"

wait_for 12 "r['job'] == 'slow' and r['outcome'] == 'skipped'" && ok "the slot that falls due during an overrun is skipped" ||
    fail "the slot that falls due during an overrun is skipped"

# SIGTERM while `slow` runs: it may finish within the grace period
wait_for 10 "r['job'] == 'slow' and r['outcome'] == 'running'" || fail "slow never ran"
kill -TERM $DPID
t0=$SECONDS
wait $DPID
rc=$?
[ "$rc" -eq 0 ] && ok "SIGTERM: the daemon exits 0" || fail "SIGTERM: the daemon exits 0 (got $rc)"
[ $((SECONDS - t0)) -le 10 ] && ok "... within the grace period ($((SECONDS - t0)) s)" || fail "... took $((SECONDS - t0)) s"
grep -q '"event":"run-start"' "$TMP/daemon.log" && grep -q '"event":"run-end"' "$TMP/daemon.log" &&
    ok "one JSON line per run start and end" || fail "one JSON line per run start and end"
grep -q "daemon-test-password" "$TMP/daemon.log" && fail "the password is in the log" || ok "no secret in the log"

# the history holds exactly the expected rows
history_json >"$TMP/history.json"
python3 - "$TMP/history.json" <<'PY' >"$TMP/verdict" 2>&1
import json, sys, collections, datetime
rows = json.load(open(sys.argv[1]))
def slot(r):
    return datetime.datetime.strptime(r["run_id"].split("@")[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
problems = []
by = collections.defaultdict(list)
for r in rows:
    by[r["job"]].append(r)
    if r["outcome"] == "running":
        problems.append("row left running: %s" % r["run_id"])
# tick: one succeeded row per second, no gap and no duplicate
tick = sorted(by["tick"], key=slot)
slots = [slot(r) for r in tick]
if len(set(slots)) != len(slots):
    problems.append("tick: a slot ran twice")
if slots and slots != [slots[0] + i for i in range(len(slots))]:
    problems.append("tick: slots are not consecutive seconds")
def ts(v):  # "YYYY-mm-ddTHH:MM:SS.nnnnnnnnnZ" -> Unix seconds
    head, frac = v.rstrip("Z").split(".")
    return datetime.datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp() + float("0." + frac)
def overrun(r):  # a skip is right when the run before it still ran at its slot
    at = slot(r)
    return (r["outcome"] == "skipped" and "Forbid" in (r["error"] or "") and
            any(p["outcome"] == "succeeded" and ts(p["started_at"]) < at + 1 and ts(p["ended_at"]) > at for p in tick if slot(p) < at))
# a loaded machine can stretch a run past its one second: the next slot is
# then skipped (Forbid), which is only right if that run still ran then
bad = [(r["run_id"], r["attempt"], r["outcome"], r["error"]) for r in tick
       if (r["outcome"] != "succeeded" or r["attempt"] != 1) and not overrun(r)]
if sum(1 for r in tick if r["outcome"] == "succeeded") < len(tick) // 2:
    problems.append("tick: fewer than half the slots ran")
if bad:
    problems.append("tick: not every row succeeded on its first attempt: %s" % bad)
# slow: one row per 3-second slot; a slot that falls due during a run is skipped
slow = sorted(by["slow"], key=slot)
ss = [slot(r) for r in slow]
if ss != [ss[0] + 3 * i for i in range(len(ss))]:
    problems.append("slow: a slot has no row or two rows: %s" % [r["run_id"] for r in slow])
for prev, cur in zip(slow, slow[1:]):
    if prev["outcome"] == "succeeded" and cur["outcome"] != "skipped":
        problems.append("slow: %s ran while %s still ran" % (cur["run_id"], prev["run_id"]))
    if prev["outcome"] == "skipped" and cur["outcome"] != "succeeded":
        problems.append("slow: %s did not run after a skip" % cur["run_id"])
if not any(r["outcome"] == "skipped" and "Forbid" in (r["error"] or "") for r in slow):
    problems.append("slow: no skipped row naming the Forbid policy")
# flaky: its first slot has three attempts: failed, failed, succeeded
flaky = sorted(by["flaky"], key=lambda r: (slot(r), r["attempt"]))
first = [r for r in flaky if r["run_id"] == flaky[0]["run_id"]] if flaky else []
if [(r["attempt"], r["outcome"], r["trigger"]) for r in first] != [(1, "failed", "schedule"), (2, "failed", "retry"), (3, "succeeded", "retry")]:
    problems.append("flaky: first slot rows are %s" % [(r["attempt"], r["outcome"], r["trigger"]) for r in first])
if any(r["outcome"] != "succeeded" for r in flaky if r["run_id"] != flaky[0]["run_id"]):
    problems.append("flaky: a later slot did not succeed at once")
# hang: every row timed out after its 2 s, one attempt each (retries: 0)
hang = by["hang"]
if not hang or any(r["outcome"] != "timed-out" or r["attempt"] != 1 for r in hang):
    problems.append("hang: rows %s" % [(r["run_id"], r["outcome"]) for r in hang])
for r in hang:
    if not (2.0 <= r["duration_seconds"] < 4.5):
        problems.append("hang: %s lasted %.1f s" % (r["run_id"], r["duration_seconds"]))
# replaced: every run but the last is cancelled by the next slot's run
rep = sorted(by["replaced"], key=slot)
if len(rep) < 2:
    problems.append("replaced: only %d rows" % len(rep))
for r in rep[:-1]:
    if r["outcome"] != "cancelled" or "replaced" not in (r["error"] or ""):
        problems.append("replaced: %s ended %s (%s)" % (r["run_id"], r["outcome"], r["error"]))
rs = [slot(r) for r in rep]
if rs != [rs[0] + 2 * i for i in range(len(rs))]:
    problems.append("replaced: a slot has no row or two rows")
# the run that SIGTERM caught finished normally
if slow and slow[-1]["outcome"] != "succeeded" and slow[-1]["outcome"] != "skipped":
    problems.append("slow: the last run ended %s" % slow[-1]["outcome"])
succeeded_with_snapshot = all(r["snapshot_id"] for r in rows if r["outcome"] == "succeeded")
if not succeeded_with_snapshot:
    problems.append("a succeeded row has no snapshot ID")
print("\n".join(problems) if problems else "ok: %d rows (%s)" % (len(rows), ", ".join("%s %d" % (k, len(v)) for k, v in sorted(by.items()))))
sys.exit(1 if problems else 0)
PY
if [ $? -eq 0 ]; then ok "the history holds exactly the expected rows: $(cat "$TMP/verdict")"; else
    fail "the history holds exactly the expected rows"
    sed 's/^/#   /' "$TMP/verdict"
fi
n_snap=$(LIFEBOAT_PASSWORD_FILE=$TMP/pass "$LB" -r "$REPO" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
n_ok=$(python3 -c 'import json,sys; print(sum(1 for r in json.load(open(sys.argv[1])) if r["outcome"] == "succeeded"))' "$TMP/history.json")
[ "$n_snap" -eq "$n_ok" ] && ok "one snapshot per succeeded run ($n_snap)" || fail "snapshots $n_snap, succeeded runs $n_ok"

# a restart after downtime: one catch-up run per job that missed a slot,
# for its newest missed slot, not one per slot
sleep 3
"$LB" daemon --config "$CFG" --grace-period 10 2>"$TMP/restart.log" &
RPID=$!
cleanup_hooks+=("kill -9 $RPID 2>/dev/null")
sleep 1.5
kill -TERM $RPID
wait $RPID
history_json >"$TMP/after.json"
python3 - "$TMP/history.json" "$TMP/after.json" <<'PY' >"$TMP/verdict" 2>&1
import json, sys
before = {r["id"] for r in json.load(open(sys.argv[1]))}
rows = [r for r in json.load(open(sys.argv[2])) if r["id"] not in before and r["job"] == "tick"]
catch = [r for r in rows if r["trigger"] == "catch-up"]
assert len(catch) == 1, "tick catch-up rows: %s" % [(r["run_id"], r["trigger"]) for r in rows]
later = [r for r in rows if r["trigger"] == "schedule"]
assert all(r["run_id"] > catch[0]["run_id"] for r in later), "a scheduled run before the catch-up"
print("catch-up %s, then %d scheduled" % (catch[0]["run_id"], len(later)))
PY
if [ $? -eq 0 ]; then ok "restart after downtime: one catch-up run ($(cat "$TMP/verdict"))"; else
    fail "restart after downtime: one catch-up run"
    sed 's/^/#   /' "$TMP/verdict"
fi

# idle: nothing due for a year, the daemon sleeps (no polling)
cat >"$TMP/idle.yaml" <<EOF
state: $TMP/idle-state
repositories:
  local: {url: $REPO, password_file: $TMP/pass}
components:
  yearly:
    type: command
    command: [true]
    schedule: "0 0 1 1 *"
EOF
"$LB" daemon --config "$TMP/idle.yaml" 2>"$TMP/idle.log" &
IPID=$!
cleanup_hooks+=("kill -9 $IPID 2>/dev/null")
sleep 1
t1=$(awk '{print $14 + $15}' /proc/$IPID/stat)
sleep 5
t2=$(awk '{print $14 + $15}' /proc/$IPID/stat)
[ $((t2 - t1)) -le 1 ] && ok "an idle daemon uses no CPU ($((t2 - t1)) ticks in 5 s)" ||
    fail "an idle daemon used $((t2 - t1)) ticks in 5 s"
kill -TERM $IPID
wait $IPID
finish
