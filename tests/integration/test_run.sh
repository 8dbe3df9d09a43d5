#!/usr/bin/env bash
# test_run.sh - `lifeboat run` from a configuration file against a real
# PostgreSQL server (tests/harness/pg) (issue 11, Done-when 5): `run
# database` writes a verified snapshot with the component's stable host
# identity and one history row; `history --json` is valid JSON; a second `run`
# of a job the first still holds is skipped by the Forbid policy (exit 11)
# and recorded; an unknown name and a broken file run nothing.
. "$(dirname "$0")/lib.sh"

HARNESS=$(cd "$(dirname "$0")/../harness/pg" && pwd)
REPO=$TMP/repo
PGDIR=$TMP/pg
CFG=$TMP/platform.yaml

if ! command -v pg_dump >/dev/null; then
    skip "PostgreSQL client programs are not installed"
    check_rc 1 "--retry-lock takes a duration" "$LB" -r "$REPO" --retry-lock 5x snapshots
grep -q "'5x' is not a duration" "$TMP/.out" && ok "... and says so" || fail "... and says so: $(last_output)"
finish
fi
if ! "$HARNESS/start.sh" "$PGDIR" >"$TMP/pg-start.log" 2>&1; then
    skip "unable to start a PostgreSQL server: $(tail -n 3 "$TMP/pg-start.log" | tr '\n' ' ')"
    check_rc 1 "--retry-lock takes a duration" "$LB" -r "$REPO" --retry-lock 5x snapshots
grep -q "'5x' is not a duration" "$TMP/.out" && ok "... and says so" || fail "... and says so: $(last_output)"
finish
fi
cleanup_hooks+=("'$HARNESS/stop.sh' '$PGDIR'")
. "$PGDIR/pg.env"
unset PGDATABASE PGPASSWORD PGSERVICE
unset LIFEBOAT_PASSWORD
printf 'run-test-password\n' >"$TMP/pass"
LIFEBOAT_PASSWORD_FILE=$TMP/pass "$LB" -r "$REPO" init --kdf-n 1024 -q || fail "init"
createdb app && psql -X -q -d app -c "CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g" ||
    fail "create the test database"

cat >"$CFG" <<EOF
# lifeboat run against a real PostgreSQL
state: $TMP/state
repositories:
  main:
    url: $REPO
    password_file: $TMP/pass
components:
  database:
    type: postgres
    connection: "postgresql://postgres@127.0.0.1:$PGPORT/app"
    tags: [db]
    retention:
      keep_last: 3
  slow:
    type: command
    command: [sh, -c, "sleep 3; echo done"]
    filename: slow.txt
    retries: 0
EOF

check "run database" "$LB" run database --config "$CFG"
grep -q "succeeded" "$TMP/.out" && ok "... prints the run's outcome" || fail "... prints the run's outcome: $(last_output)"
export LIFEBOAT_PASSWORD_FILE=$TMP/pass
"$LB" -r "$REPO" snapshots --json >"$TMP/snaps.json"
python3 - "$TMP/snaps.json" <<'PY' && ok "the snapshot carries the component, the configuration's host and the tags" || fail "snapshot fields: $(cat "$TMP/snaps.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s) == 1, s
assert s[0]["component"] == "database", s[0]
assert s[0]["hostname"] == "platform", s[0]
assert "db" in s[0]["tags"], s[0]
PY
check "the snapshot passes check --read-data" "$LB" -r "$REPO" check --read-data
check "and restores into a new database" "$LB" -r "$REPO" restore latest --pg-target "postgresql://postgres@127.0.0.1:$PGPORT/copy" --create
n=$(psql -X -At -d copy -c "SELECT count(*) FROM orders" 2>/dev/null)
[ "$n" = 5000 ] && ok "... with every row" || fail "... restored $n rows"

check "history --json" "$LB" history --config "$CFG" --json
last_output >"$TMP/hist.json"
python3 - "$TMP/hist.json" "$TMP/snaps.json" <<'PY' && ok "history: one valid JSON row for the run, with its snapshot" || fail "history rows: $(cat "$TMP/hist.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
snap = json.load(open(sys.argv[2]))[0]
assert len(rows) == 1, rows
r = rows[0]
assert r["job"] == "database" and r["component"] == "database", r
assert r["outcome"] == "succeeded" and r["attempt"] == 1 and r["trigger"] == "manual", r
assert r["snapshot_id"] == snap["id"], (r["snapshot_id"], snap["id"])
assert r["bytes_added"] > 0 and r["exit_code"] == 0, r
assert r["run_id"].startswith("database@manual-"), r
PY

# a second run while the first holds the job: Forbid skips it, recorded
LIFEBOAT_CONFIG=$CFG "$LB" run slow >"$TMP/first.out" 2>&1 &
FIRST=$!
for _ in $(seq 50); do
    "$LB" history --config "$CFG" --json --job slow 2>/dev/null | grep -q '"running"' && break
    sleep 0.1
done
check_rc 11 "a second run of a held job is skipped (exit 11)" env LIFEBOAT_CONFIG="$CFG" "$LB" run slow
grep -q "Forbid" "$TMP/.out" && ok "... saying why" || fail "... saying why: $(last_output)"
wait $FIRST && ok "the first run succeeds" || fail "the first run: $(cat "$TMP/first.out")"
"$LB" history --config "$CFG" --json --job slow >"$TMP/slow.json"
python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert sorted(r["outcome"] for r in rows) == ["skipped", "succeeded"], rows
' "$TMP/slow.json" && ok "both runs are recorded: one succeeded, one skipped" || fail "slow rows: $(cat "$TMP/slow.json")"

check_rc 1 "an unknown name runs nothing" "$LB" run nosuch --config "$CFG"
grep -q "nosuch" "$TMP/.out" && ok "... and names it" || fail "... and names it: $(last_output)"
printf 'components:\n  database:\n    type: postgress\n' >"$TMP/broken.yaml"
check_rc 1 "a broken configuration file runs nothing" "$LB" run database --config "$TMP/broken.yaml"
grep -q "broken.yaml:3" "$TMP/.out" && ok "... and names the file and line" || fail "... names file and line: $(last_output)"
check_rc 1 "--retry-lock takes a duration" "$LB" -r "$REPO" --retry-lock 5x snapshots
grep -q "'5x' is not a duration" "$TMP/.out" && ok "... and says so" || fail "... and says so: $(last_output)"
finish
