#!/usr/bin/env bash
# test_report.sh - `lifeboat report` (issue 13) on examples/platform.yaml
# after a simulated week (report_week writes the history, drills, size
# samples and the repositories' saved scans): every format (text one section
# per component; JSON fields; HTML self-contained with its DOM hooks;
# markdown), --since, --send, the report job, and pg_stat_archiver read from
# a real PostgreSQL server whose archive_command fails.
. "$(dirname "$0")/lib.sh"

WEEK=$(dirname "$LB")/tests/unit/monitor/report_week
[ -x "$WEEK" ] || { fail "report_week is built ($WEEK)"; finish; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CFG=$TMP/platform.yaml
# the example with local repositories, a state folder of its own and the
# physical component's server at a socket that does not exist
sed -e "s|^state: .*|state: $TMP/state|" \
    -e "s|url: s3:zbinnovation-backups/lifeboat|url: $TMP/main|" \
    -e "s|url: s3:zbinnovation-backups-dr/lifeboat|url: $TMP/dr|" \
    -e "s|password_command: aws.*|password_command: echo demo|" \
    -e "s|connection: host=zbinnovation-db[^ ]*|connection: host=$TMP/nosocket|" \
    "$ROOT/examples/platform.yaml" >"$CFG"
check "a simulated week is written" "$WEEK" "$CFG" 7
COMPONENTS="database database-base uploads cluster config logs"

check "report --no-scan (text) exits 0" "$LB" report --config "$CFG" --no-scan
last_output >"$TMP/report.txt"
sed 's/^/#   /' "$TMP/report.txt"
grep -q "^Health: WARNING (0 critical, 2 warning)" "$TMP/report.txt" && ok "text: the health line" || fail "text: the health line"
missing=""
for c in $COMPONENTS; do grep -q "^$c (" "$TMP/report.txt" || missing="$missing $c"; done
[ -z "$missing" ] && ok "text: a section per component" || fail "text: sections missing:$missing"
# the recommendations' texts, one a line (the text form wraps them)
recs() { "$LB" report --config "$CFG" --no-scan --format json |
    python3 -c 'import json, sys; [print(r["text"]) for r in json.load(sys.stdin)["recommendations"]]'; }
recs >"$TMP/recs.txt"
grep -q "^database: its RPO objective is 0 s but its schedule runs every 15 min" "$TMP/recs.txt" &&
    ok "the RPO objective the schedule cannot give" || fail "the RPO objective advice"
grep -q "^uploads: the last drill (.*) recovered it in 9 min, 90% of its RTO objective of 10 min" "$TMP/recs.txt" &&
    ok "the drill RTO near its objective" || fail "the drill RTO advice"
[ "$(awk '{ if (length($0) > 100) n++ } END { print n + 0 }' "$TMP/report.txt")" -eq 0 ] &&
    ok "text: no line wider than 100 columns" || fail "text: a line wider than 100 columns"
grep -q "server not reached" "$TMP/report.txt" && ok "text: an unreachable server is said so" ||
    fail "text: the unreachable server"
# one screen per component: a section (with its recommendations) fits in 24 lines
awk '/^[a-z-]+ \(/{if(n>24)bad=1;n=0} /^Repositories$/{if(n>24)bad=1;n=0} {n++} END{exit bad}' "$TMP/report.txt" &&
    ok "text: every component fits on one screen" || fail "text: a component section is too long"

check "report --since 7d" "$LB" report --config "$CFG" --no-scan --since 7d
last_output | grep -q "runs .* in 7 d: .*, 1 failed" && ok "--since 7d counts the week's failed dump" ||
    fail "--since 7d: the failure is not counted"

check "report --format json" "$LB" report --config "$CFG" --no-scan --format json
last_output >"$TMP/report.json"
if python3 - "$TMP/report.json" $COMPONENTS <<'EOF'; then ok "json: documented fields of every component"; else fail "json: fields"; fi
import json, sys
d = json.load(open(sys.argv[1]))
names = [c["name"] for c in d["components"]]
assert names == sys.argv[2:], names
assert d["health"] == "warning" and len(d["recommendations"]) == 2
for c in d["components"]:
    for k in ("type", "repository", "health", "period", "last_success", "rpo", "snapshots", "drill", "copy", "charts"):
        assert k in c, (c["name"], k)
    assert c["rpo"]["achieved_seconds"] is not None, c["name"]
    assert len(c["charts"]["duration_seconds"]) > 0, c["name"]
    assert len(c["charts"]["rpo_achieved_seconds"]) >= 6, c["name"]
for r in d["recommendations"]:
    assert set(r) == {"kind", "severity", "component", "job", "repository", "text"}, r
EOF

check "report --format html" "$LB" report --config "$CFG" --no-scan --format html
last_output >"$TMP/report.html"
if grep -Eqi 'https?://|src=|<link|<script|@import|url\(' "$TMP/report.html"; then
    fail "html: an external reference"
else
    ok "html: self-contained"
fi
missing=""
for c in $COMPONENTS; do
    grep -q "data-component=\"$c\" data-health=\"\(ok\|warning\|critical\)\"" "$TMP/report.html" || missing="$missing $c"
done
[ -z "$missing" ] && ok "html: data-component and data-health of every component" || fail "html: hooks missing:$missing"
[ "$(grep -o 'class="rpo-achieved"' "$TMP/report.html" | wc -l)" -eq 6 ] && ok "html: an rpo-achieved per component" ||
    fail "html: rpo-achieved count"
[ "$(grep -o '<svg' "$TMP/report.html" | wc -l)" -eq 18 ] && ok "html: three charts per component" ||
    fail "html: charts"

check "report --format markdown" "$LB" report --config "$CFG" --no-scan --format markdown
last_output | grep -q "^## uploads (bucket): warning" && ok "markdown: a section per component" || fail "markdown"

# --send: the example's notifications replaced by a Slack webhook (events:
# report) and a JSON webhook (alerts only) on a local receiver
HARNESS=$(cd "$(dirname "$0")/../harness/notify" && pwd)
python3 "$HARNESS/receiver.py" "$TMP/recv.port" "$TMP/recv.log" ok >"$TMP/recv.out" 2>&1 &
cleanup_hooks+=("kill $! 2>/dev/null")
for _ in $(seq 50); do [ -s "$TMP/recv.port" ] && break; sleep 0.1; done
printf 'http://127.0.0.1:%s/slack/REPORTSECRET\n' "$(cat "$TMP/recv.port")" >"$TMP/slack-url"
printf 'http://127.0.0.1:%s/hook/ALERTSECRET\n' "$(cat "$TMP/recv.port")" >"$TMP/hook-url"
SEND_CFG=$TMP/send.yaml
python3 - "$CFG" "$SEND_CFG" "$TMP" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"\nnotifications:.*?(?=\n\S|\Z)", "", text, flags=re.S)
text += """
notifications:
  team-slack:
    type: slack
    url_file: %s/slack-url
    events: [report]
  alerts-only:
    type: webhook
    url_file: %s/hook-url
""" % (sys.argv[3], sys.argv[3])
open(sys.argv[2], "w").write(text)
PY
"$LB" report --config "$SEND_CFG" --no-scan --send >/dev/null 2>"$TMP/send.err"
rc=$?
[ $rc -eq 0 ] && grep -q "sent through 1 notification" "$TMP/send.err" && ok "--send sends the report" ||
    fail "--send (exit $rc): $(cat "$TMP/send.err")"
python3 - "$TMP/recv.log" <<'PY' && ok "... once, to the notification that receives 'report', as Slack text and blocks" ||
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["path"] for r in reqs] == ["/slack/REPORTSECRET"], [r["path"] for r in reqs]
body = json.loads(reqs[0]["body"])
assert "lifeboat report: platform: warning (0 critical, 2 warning)" in body["text"], body["text"][:200]
assert body["blocks"], body
PY
    fail "... receiver: $(head -c 600 "$TMP/recv.log")"
grep -q "REPORTSECRET\|ALERTSECRET" "$TMP/send.err" && fail "a webhook URL reached stderr" ||
    ok "the webhook URLs are not in the output"
check_rc 1 "an unknown --format is refused" "$LB" report --config "$CFG" --no-scan --format pdf

check "the report job runs (lifeboat run report)" "$LB" run report --config "$SEND_CFG"
[ "$(grep -c '/slack/REPORTSECRET' "$TMP/recv.log")" -eq 2 ] && ok "... and sends the report (a second one arrived)" ||
    fail "... report job: $(grep -c slack "$TMP/recv.log") requests"
"$LB" history --config "$SEND_CFG" --job report --json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
assert rows[-1]["outcome"] == "succeeded" and "manual" in rows[-1]["run_id"], rows[-1]' &&
    ok "the report job is recorded as succeeded" || fail "the report job's history"

# a fresh scan of real repositories: one backed up, one never initialized
mkdir -p "$TMP/data" && echo "key: value" >"$TMP/data/app.yml"
cat >"$TMP/small.yaml" <<EOF
name: small
state: $TMP/small-state
repositories:
  main:
    url: $TMP/small-main
    default: true
    password_command: echo small-password
  offsite:
    url: $TMP/small-offsite
    password_command: echo small-password
components:
  config:
    type: files
    paths: [$TMP/data]
    schedule: "*/5 * * * *"
    objectives:
      rpo: 1h
jobs:
  copy:
    type: copy
    repository: main
    to: offsite
    schedule: "0 * * * *"
EOF
LIFEBOAT_PASSWORD=small-password "$LB" -r "$TMP/small-main" init --kdf-n 1024 -q
check "a backup of the small plan" env -u LIFEBOAT_PASSWORD "$LB" run config --config "$TMP/small.yaml"
check "report scans afresh" env -u LIFEBOAT_PASSWORD "$LB" report --config "$TMP/small.yaml" --format json
last_output >"$TMP/small.json"
if python3 - "$TMP/small.json" <<'EOF'; then ok "the fresh scan's figures"; else fail "the fresh scan's figures"; fi
import json, sys
d = json.load(open(sys.argv[1]))
c = d["components"][0]
assert c["snapshots"] == 1, c
assert 0 <= c["rpo"]["achieved_seconds"] < 120, c["rpo"]
assert c["period"]["succeeded"] == 1 and c["health"] == "ok", c
main, off = d["repositories"]
assert main["ok"] and main["size_bytes"] > 0 and main["snapshots"] == 1, main
assert not off["ok"] and off["error"], off
assert d["health"] == "critical"
assert [r["kind"] for r in d["recommendations"]] == ["repository-unreadable"], d["recommendations"]
EOF
[ -f "$TMP/small-state/monitor/scan-main.json" ] && ok "the scan is saved for --no-scan" || fail "the saved scan"

# pg_stat_archiver from a real server whose archive_command fails
export PG_ARCHIVE_COMMAND=/bin/false
start_pg "$TMP/pg" initdb pg_ctl psql
sed -i "s|connection: host=$TMP/nosocket.*|connection: host=$PGHOST port=$PGPORT dbname=postgres|" "$CFG"
psql -q -d postgres -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g" -c "SELECT pg_switch_wal()" \
    >/dev/null 2>&1
for _ in $(seq 1 50); do
    [ "$(psql -Atq -d postgres -c 'SELECT failed_count FROM pg_stat_archiver')" -gt 0 ] 2>/dev/null && break
    sleep 0.2
done
check "report with the server reachable" "$LB" report --config "$CFG" --no-scan
last_output >"$TMP/report-pg.txt"
grep -q "^Health: CRITICAL" "$TMP/report-pg.txt" && ok "archive failures make the health critical" ||
    fail "archive failures: the health"
recs >"$TMP/recs-pg.txt"
grep -q "^database-base: archive_command is failing: [1-9][0-9]* failures\? in pg_stat_archiver, the last [0-9]* s ago (segment [0-9A-F]\{24\}), nothing archived yet" \
    "$TMP/recs-pg.txt" && ok "the archive_command recommendation with its numbers" ||
    { fail "the archive_command recommendation"; sed 's/^/#   /' "$TMP/recs-pg.txt" | head -12; }
grep -q "^  pg_stat_archiver   [1-9][0-9]* failures\?, the last 20" "$TMP/report-pg.txt" &&
    ok "the component shows pg_stat_archiver's failures" || fail "the pg_stat_archiver line"
finish
