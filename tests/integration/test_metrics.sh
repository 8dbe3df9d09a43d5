#!/usr/bin/env bash
# test_metrics.sh - the Prometheus metrics (issue 13, Done-when 1), against a
# real PostgreSQL server (tests/harness/pg) whose WAL is archived through
# `lifeboat wal-push`:
#
#   a history of known runs: a files component twice succeeded, a command
#   that fails, a slow command whose second run is skipped (Forbid), a base
#   backup of the physical component, a drill of the files component; then
#   WAL switched and archived after the base backup.
#
#   - `lifeboat metrics` passes `promtool check metrics`, and its values are
#     the known ones: run counts by outcome, last success timestamps equal
#     to the history's end times, the newest restorable instant of the
#     physical component equal to the WAL window's newest segment (`points`)
#     and later than its base backup, the achieved RPO from it; a repository
#     that cannot be opened gives lifeboat_repository_up 0; no secret
#   - monitoring.textfile is written by `lifeboat run`, atomically (no
#     temporary file left), with the same families
#   - the daemon serves GET /metrics on 127.0.0.1 (promtool accepts it, the
#     heartbeat is there), 404 elsewhere, 401 without the bearer token;
#     its repository refresh records a size sample
#   - the shipped alert rules pass `promtool check rules` and their unit
#     tests (deploy/prometheus/lifeboat-rules.test.yml)
# Without PostgreSQL or promtool the test is skipped.
. "$(dirname "$0")/lib.sh"

command -v promtool >/dev/null || { skip "promtool (Debian package prometheus) is not installed"; finish; }
command -v curl >/dev/null || { skip "curl is not installed"; finish; }
PGH=$(cd "$(dirname "$0")/../harness/pg" && pwd)
command -v pg_basebackup >/dev/null || [ -n "$(ls /usr/lib/postgresql/*/bin/pg_basebackup 2>/dev/null)" ] ||
    { skip "PostgreSQL is not installed"; finish; }

REPO=$TMP/repo
PW=$TMP/password
CFG=$TMP/platform.yaml
TOKEN=$TMP/token
RUNAS=""
[ "$(id -u)" = 0 ] && RUNAS=postgres
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
value() { # value FILE 'metric{labels}' -> the sample's value ("" when absent)
    awk -v k="$2" 'index($0, k" ") == 1 { print $2 }' "$1"
}

SECRET=$LIFEBOAT_PASSWORD
echo "$LIFEBOAT_PASSWORD" >"$PW"
chmod 644 "$PW"
check "init repository" new_repo "$REPO"
unset LIFEBOAT_PASSWORD
export LIFEBOAT_PASSWORD_FILE=$PW
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$REPO"
ARCHIVE="LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$PW $LB wal-push %p"
PGDIR=$TMP/pg
if ! PG_ARCHIVE_COMMAND=$ARCHIVE bash "$PGH/start.sh" "$PGDIR" >"$TMP/pg.log" 2>&1; then
    skip "unable to start PostgreSQL: $(tail -n 3 "$TMP/pg.log" | tr '\n' ' ')"
    finish
fi
cleanup_hooks+=("bash '$PGH/stop.sh' '$PGDIR'")
. "$PGDIR/pg.env"
unset PGDATABASE PGPASSWORD PGSERVICE
sql() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
ok "PostgreSQL with archive_command = lifeboat wal-push"

RULES=$(cd "$(dirname "$0")/../../deploy/prometheus" && pwd)
check "promtool check rules accepts deploy/prometheus/lifeboat-rules.yml" promtool check rules "$RULES/lifeboat-rules.yml"
check "promtool test rules: the alerts fire on the series they are for, and only then" \
    sh -c "cd '$RULES' && promtool test rules lifeboat-rules.test.yml"

mkdir -p "$TMP/data" "$TMP/textfile" "$TMP/drilltmp"
chmod 711 "$TMP" "$TMP/drilltmp"
echo "hello" >"$TMP/data/a.txt"
echo "metrics-bearer-token" >"$TOKEN"
PORT=$(freeport)
cat >"$CFG" <<EOF
name: platform
state: $TMP/state
defaults:
  catch_up: false
  retries: 0
repositories:
  main:
    url: $REPO
    default: true
    password_file: $PW
  gone:
    url: $TMP/no-such-repo
    password_file: $PW
components:
  base:
    type: postgres-physical
    connection: "host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
    wal_method: none
    schedule: "0 3 1 1 *"
    objectives: {rpo: 1h, rto: 10m}
  files:
    type: files
    paths: [$TMP/data]
    schedule: "0 4 1 1 *"
    objectives: {rpo: 1d, rto: 5m}
    recovery:
      target: $TMP/rec/files
  failing:
    type: command
    command: [sh, -c, "echo broken >&2; exit 3"]
    filename: out.txt
  slow:
    type: command
    command: [sh, -c, "sleep 4; echo done"]
    filename: slow.txt
monitoring:
  listen: 127.0.0.1:$PORT
  token_file: $TOKEN
  textfile: $TMP/textfile/lifeboat.prom
  refresh: 10s
EOF
check "config check" "$LB" config check --config "$CFG"

# ------------------------------------------------------------ the history
check "run files (1)" "$LB" run files --config "$CFG"
check "run files (2)" "$LB" run files --config "$CFG"
check_rc 1 "run failing fails" "$LB" run failing --config "$CFG"
"$LB" run slow --config "$CFG" >"$TMP/slow1.out" 2>&1 &
SLOW=$!
sleep 1.5
check_rc 11 "a second run of slow while the first runs is skipped (exit 11)" "$LB" run slow --config "$CFG"
wait "$SLOW" && ok "the first run of slow succeeded" || fail "the first run of slow: $(cat "$TMP/slow1.out")"
sql -d postgres -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g" || fail "create a table"
check "run base (a base backup)" "$LB" run base --config "$CFG"
sql -d postgres -c "INSERT INTO t SELECT g FROM generate_series(1, 1000) g" || fail "insert"
T_SWITCH=$(date +%s)
sql -d postgres -c "SELECT pg_switch_wal()" >/dev/null || fail "switch WAL"
# wait until the switched segment is archived
for _ in $(seq 1 100); do
    [ "$(sql -d postgres -c "SELECT archived_count > 0 AND last_archived_time >= to_timestamp($T_SWITCH) FROM pg_stat_archiver")" = t ] && break
    sleep 0.2
done
check "drill of the files component" "$LB" drill files --config "$CFG"

# ------------------------------------------------------------ lifeboat metrics
check "lifeboat metrics" "$LB" metrics --config "$CFG"
last_output >"$TMP/metrics.txt"
check "promtool check metrics accepts lifeboat metrics" promtool check metrics <"$TMP/metrics.txt"
"$LB" history --config "$CFG" --json >"$TMP/history.json" || fail "history --json"
"$LB" points --config "$CFG" --json >"$TMP/points.json" 2>/dev/null || fail "points --json"

L='job="files",component="files",type="files"'
[ "$(value "$TMP/metrics.txt" "lifeboat_job_runs_total{$L,outcome=\"succeeded\"}")" = 2 ] &&
    ok "files: 2 succeeded runs" || fail "files succeeded: $(grep "runs_total{$L" "$TMP/metrics.txt")"
[ "$(value "$TMP/metrics.txt" "lifeboat_job_runs_total{$L,outcome=\"failed\"}")" = 0 ] &&
    ok "files: 0 failed runs" || fail "files failed: $(grep "runs_total{$L" "$TMP/metrics.txt")"
want=$(python3 -c '
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["job"] == "files" and r["outcome"] == "succeeded"]
print(sum(r["bytes_processed"] or 0 for r in rows))' "$TMP/history.json")
got=$(grep "^lifeboat_job_processed_bytes_total{$L" "$TMP/metrics.txt" | awk '{ s += $2 } END { printf "%d", s }')
[ "$want" -gt 0 ] && [ "$got" = "$want" ] && ok "files: processed bytes $got, the sum of the runs' bytes_processed" ||
    fail "files processed bytes: metric '$got', history '$want'"
F='job="failing",component="failing",type="command"'
[ "$(value "$TMP/metrics.txt" "lifeboat_job_runs_total{$F,outcome=\"failed\"}")" = 1 ] &&
    [ "$(value "$TMP/metrics.txt" "lifeboat_job_last_run_status{$F,outcome=\"failed\"}")" = 1 ] &&
    [ "$(value "$TMP/metrics.txt" "lifeboat_job_consecutive_failures{$F}")" = 1 ] &&
    [ "$(value "$TMP/metrics.txt" "lifeboat_job_last_success_timestamp_seconds{$F}")" = 0 ] &&
    ok "failing: 1 failed run, its last status failed, never succeeded" || fail "failing: $(grep "$F" "$TMP/metrics.txt")"
S='job="slow",component="slow",type="command"'
[ "$(value "$TMP/metrics.txt" "lifeboat_job_runs_total{$S,outcome=\"skipped\"}")" = 1 ] &&
    [ "$(value "$TMP/metrics.txt" "lifeboat_job_runs_total{$S,outcome=\"succeeded\"}")" = 1 ] &&
    [ "$(value "$TMP/metrics.txt" "lifeboat_job_run_duration_seconds_count{$S}")" = 1 ] &&
    [ "$(value "$TMP/metrics.txt" "lifeboat_job_run_duration_seconds_bucket{$S,le=\"1\"}")" = 0 ] &&
    [ "$(value "$TMP/metrics.txt" "lifeboat_job_run_duration_seconds_bucket{$S,le=\"5\"}")" = 1 ] &&
    ok "slow: 1 succeeded (in the 5 s bucket), 1 skipped (no duration)" || fail "slow: $(grep "$S" "$TMP/metrics.txt" | head -20)"

python3 - "$TMP/metrics.txt" "$TMP/history.json" <<'PY' && ok "last success and last run timestamps are the history's end times" || fail "timestamps differ from the history"
import json, sys, datetime, re
metrics = {}
for line in open(sys.argv[1]):
    if not line.startswith("#"):
        k, v = line.rsplit(" ", 1)
        metrics[k] = float(v)
rows = json.load(open(sys.argv[2]))
def ts(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
bad = 0
for comp in ("files", "slow", "failing", "base"):
    mine = [r for r in rows if r["job"] == comp]
    ok_ends = [ts(r["ended_at"]) for r in mine if r["outcome"] == "succeeded"]
    ends = [ts(r["ended_at"]) for r in mine if r["ended_at"]]
    lab = f'job="{comp}",component="{comp}",type="{"physical" if comp == "base" else "files" if comp == "files" else "command"}"'
    got_s = metrics[f"lifeboat_job_last_success_timestamp_seconds{{{lab}}}"]
    got_r = metrics[f"lifeboat_job_last_run_timestamp_seconds{{{lab}}}"]
    want_s = max(ok_ends) if ok_ends else 0
    if abs(got_s - want_s) > 0.0015 or abs(got_r - max(ends)) > 0.0015:
        print(comp, got_s, want_s, got_r, max(ends), file=sys.stderr)
        bad += 1
sys.exit(bad)
PY

python3 - "$TMP/metrics.txt" "$TMP/points.json" "$T_SWITCH" <<'PY' && ok "base: newest restorable = the WAL window's last segment (after the base backup, after the switch); achieved RPO from it" || fail "base RPO: $(grep 'component="base"' "$TMP/metrics.txt" | grep -v '^#')"
import json, sys, datetime, time
metrics = {}
for line in open(sys.argv[1]):
    if not line.startswith("#"):
        k, v = line.rsplit(" ", 1)
        metrics[k] = float(v)
pitr = [p for p in json.load(open(sys.argv[2]))["pitr"] if p["component"] == "base"][0]
def ts(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
L = 'component="base",type="physical",repository="main"'
restorable = metrics[f"lifeboat_component_newest_restorable_timestamp_seconds{{{L}}}"]
snapshot = metrics[f"lifeboat_component_newest_snapshot_timestamp_seconds{{{L}}}"]
wal = metrics['lifeboat_wal_last_archived_timestamp_seconds{component="base",type="wal",repository="main"}']
rpo = metrics[f"lifeboat_rpo_achieved_seconds{{{L}}}"]
scan = metrics['lifeboat_repository_scan_timestamp_seconds{repository="main"}']
assert pitr["available"], pitr
assert abs(restorable - ts(pitr["newest"])) < 0.0015, (restorable, pitr)
assert abs(wal - restorable) < 0.0015, (wal, restorable)
assert restorable > snapshot, (restorable, snapshot)
assert restorable >= int(sys.argv[3]) - 1, (restorable, sys.argv[3])
assert abs(rpo - (scan - restorable)) < 0.5, (rpo, scan, restorable)
assert metrics[f"lifeboat_rpo_objective_seconds{{{L}}}"] == 3600
assert metrics[f"lifeboat_rto_objective_seconds{{{L}}}"] == 600
assert metrics['lifeboat_wal_archive_lag_seconds{component="base",type="wal",repository="main"}'] >= 0
PY

D='component="files",type="files"'
[ "$(value "$TMP/metrics.txt" "lifeboat_drill_success{$D}")" = 1 ] &&
    [ -n "$(value "$TMP/metrics.txt" "lifeboat_drill_rto_seconds{$D}")" ] &&
    [ -n "$(value "$TMP/metrics.txt" "lifeboat_drill_last_timestamp_seconds{$D}")" ] &&
    ok "files: the drill passed, its RTO is there" || fail "drill: $(grep lifeboat_drill_ "$TMP/metrics.txt" | grep -v '^#')"
[ "$(value "$TMP/metrics.txt" 'lifeboat_component_snapshots{component="files",type="files",repository="main"}')" = 2 ] &&
    [ "$(value "$TMP/metrics.txt" 'lifeboat_repository_up{repository="main"}')" = 1 ] &&
    [ "$(value "$TMP/metrics.txt" 'lifeboat_repository_up{repository="gone"}')" = 0 ] &&
    [ "$(value "$TMP/metrics.txt" 'lifeboat_job_expected_interval_seconds{job="files",component="files",type="files"}')" = 31536000 ] &&
    ok "snapshot count, repository up (1 main, 0 gone), expected interval" ||
    fail "repository figures: $(grep -E 'repository_up|component_snapshots|expected_interval' "$TMP/metrics.txt" | grep -v '^#')"
python3 - "$TMP/metrics.txt" <<'PY' && ok "labels are job, component, type, repository, outcome, le (version on build_info) only" || fail "unexpected labels"
import re, sys
allowed = {"job", "component", "type", "repository", "outcome", "le"}
for line in open(sys.argv[1]):
    if line.startswith("#") or "{" not in line:
        continue
    name = line.split("{")[0]
    keys = set(re.findall(r'(\w+)="', line.split("}")[0]))
    extra = keys - allowed - ({"version"} if name == "lifeboat_build_info" else set())
    if extra:
        print(line, extra, file=sys.stderr); sys.exit(1)
PY
! grep -qF -e "$SECRET" -e metrics-bearer-token "$TMP/metrics.txt" && ok "no secret in the metrics" || fail "a secret in the metrics"

# ------------------------------------------------------------ the textfile
[ -s "$TMP/textfile/lifeboat.prom" ] && ok "lifeboat run wrote monitoring.textfile" || fail "no textfile"
check "promtool check metrics accepts the textfile" promtool check metrics <"$TMP/textfile/lifeboat.prom"
[ "$(ls -A "$TMP/textfile")" = lifeboat.prom ] && ok "... and left no temporary file" || fail "textfile dir: $(ls -A "$TMP/textfile")"
[ "$(value "$TMP/textfile/lifeboat.prom" "lifeboat_job_runs_total{$L,outcome=\"succeeded\"}")" = 2 ] &&
    ok "... with the same run counts" || fail "textfile counts: $(grep "runs_total{$L" "$TMP/textfile/lifeboat.prom")"

# a repository out of reach (its password_command never returns) bounds the
# textfile's fresh scan by monitoring.refresh: `lifeboat run` still ends
new_repo "$TMP/stuckrepo" || fail "init the stuck repository"
python3 - "$CFG" "$TMP/stuck.yaml" "$TMP" <<'PY'
import sys
text = open(sys.argv[1]).read()
text = text.replace("repositories:\n", "repositories:\n  stuck:\n    url: %s/stuckrepo\n    password_command: sleep 300\n" % sys.argv[3], 1)
text = text.replace("textfile: %s/textfile/lifeboat.prom" % sys.argv[3], "textfile: %s/textfile/stuck.prom" % sys.argv[3])
open(sys.argv[2], "w").write(text)
PY
t0=$(date +%s)
env -u LIFEBOAT_PASSWORD "$LB" run files --config "$TMP/stuck.yaml" >"$TMP/stuck.out" 2>&1
rc=$? took=$(($(date +%s) - t0))
[ "$rc" -eq 0 ] && [ "$took" -lt 40 ] && ok "a repository out of reach delays lifeboat run by at most monitoring.refresh (took $took s)" ||
    fail "run with a stuck repository: exit $rc after $took s: $(tail -3 "$TMP/stuck.out")"
grep -q "did not end within 10 s" "$TMP/stuck.out" && [ -s "$TMP/textfile/stuck.prom" ] &&
    ok "... it says so, and the textfile is written from the last saved scans" ||
    fail "... warning/textfile: $(tail -3 "$TMP/stuck.out")"
pgrep -f "^sleep 300" >/dev/null && fail "the scan's password_command was left running" ||
    ok "... and the scan's process group is gone"

# ------------------------------------------------------------ the daemon
"$LB" daemon --config "$CFG" >"$TMP/daemon.log" 2>&1 &
DAEMON=$!
cleanup_hooks+=("kill $DAEMON 2>/dev/null")
for _ in $(seq 1 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics" && break
    sleep 0.2
done
AUTH="Authorization: Bearer metrics-bearer-token"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")
[ "$code" = 401 ] && ok "the daemon refuses /metrics without the bearer token (401)" || fail "without the token: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong" "http://127.0.0.1:$PORT/metrics")
[ "$code" = 401 ] && ok "... and with a wrong one" || fail "with a wrong token: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "$AUTH" "http://127.0.0.1:$PORT/nothing")
[ "$code" = 404 ] && ok "404 for another path" || fail "another path: $code"
# the first refresh runs at start; wait for its size sample
for _ in $(seq 1 50); do
    n=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from scans').fetchone()[0])" "$TMP/state/history.db" 2>/dev/null)
    [ "${n:-0}" -ge 3 ] && break
    sleep 0.2
done
[ "${n:-0}" -ge 3 ] && ok "the daemon's refresh recorded a size sample ($n in all)" || fail "size samples: $n; $(cat "$TMP/daemon.log")"
curl -s -H "$AUTH" -D "$TMP/headers" "http://127.0.0.1:$PORT/metrics" >"$TMP/daemon.txt"
grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/headers" && ok "GET /metrics: Content-Type text/plain; version=0.0.4" ||
    fail "headers: $(cat "$TMP/headers")"
check "promtool check metrics accepts the daemon's /metrics" promtool check metrics <"$TMP/daemon.txt"
hb=$(value "$TMP/daemon.txt" "lifeboat_daemon_heartbeat_timestamp_seconds")
python3 -c "import sys,time; sys.exit(0 if abs(float(sys.argv[1]) - time.time()) < 30 else 1)" "${hb:-0}" &&
    ok "the daemon's heartbeat is now" || fail "heartbeat: $hb"
[ "$(value "$TMP/daemon.txt" "lifeboat_job_runs_total{$F,outcome=\"failed\"}")" = 1 ] &&
    [ "$(value "$TMP/daemon.txt" 'lifeboat_repository_up{repository="gone"}')" = 0 ] &&
    [ -n "$(value "$TMP/daemon.txt" 'lifeboat_rpo_achieved_seconds{component="base",type="physical",repository="main"}')" ] &&
    ok "the daemon's values: run counts, repository up, achieved RPO from its scan" ||
    fail "daemon values: $(grep -E 'failing|repository_up|rpo_achieved' "$TMP/daemon.txt" | grep -v '^#' | head)"
kill "$DAEMON" && wait "$DAEMON" 2>/dev/null
! grep -qF -e "$SECRET" -e metrics-bearer-token "$TMP/daemon.log" && ok "no secret in the daemon's log" ||
    fail "a secret in the daemon's log"

finish
