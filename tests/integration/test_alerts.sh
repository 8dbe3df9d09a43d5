#!/usr/bin/env bash
# test_alerts.sh - alerts (issue 13, Done-when 2) against a local HTTP
# receiver and a local SMTP sink (tests/harness/notify): a failing job sends
# exactly one Slack-format alert naming component, job, host and error (the
# retries of its slot and a second failing run send no more); the next
# success sends one "recovered"; the email arrives with its headers; an RPO
# breach with no job running is alerted by the daemon on its own clock; the
# secret URL is in no log line, history, `config show`, argv or the
# environment of a run; an endpoint that never answers delays no backup.
. "$(dirname "$0")/lib.sh"

HARNESS=$(cd "$(dirname "$0")/../harness/notify" && pwd)
REPO=$TMP/repo
CFG=$TMP/platform.yaml
REQ=$TMP/requests.log
DEAD=$TMP/dead.log

# start_server NAME SCRIPT ARGS...: in the background, its port in $TMP/NAME.port
start_server() {
    local name=$1
    shift
    python3 "$@" >"$TMP/$name.out" 2>&1 &
    echo $! >"$TMP/$name.pid"
    cleanup_hooks+=("kill $! 2>/dev/null")
    for _ in $(seq 50); do [ -s "$TMP/$name.port" ] && return 0; sleep 0.1; done
    return 1
}
start_server http "$HARNESS/receiver.py" "$TMP/http.port" "$REQ" ok || fail "the HTTP receiver starts"
start_server hang "$HARNESS/receiver.py" "$TMP/hang.port" "$DEAD" hang || fail "the hanging receiver starts"
start_server smtp "$HARNESS/smtpsink.py" "$TMP/smtp.port" "$TMP/mail" || fail "the SMTP sink starts"
HTTP=$(cat "$TMP/http.port") HANG=$(cat "$TMP/hang.port") SMTP=$(cat "$TMP/smtp.port")

# the secrets: the Slack URL in a file, the webhook URL and the SMTP password
# in the environment
TOKEN=T0SECRET/B0SECRET/xoxSLACKSECRETTOKEN
printf 'http://127.0.0.1:%s/slack/%s\n' "$HTTP" "$TOKEN" >"$TMP/slack-url"
chmod 600 "$TMP/slack-url"
export ALERT_HOOK_URL="http://127.0.0.1:$HANG/dead/HOOKSECRETTOKEN"
export ALERT_SMTP_PASSWORD=SMTPSECRETPASSWORD
new_repo "$REPO" || fail "init"
printf '%s\n' "$LIFEBOAT_PASSWORD" >"$TMP/pass"
mkdir -p "$TMP/docs" && echo "handbook" >"$TMP/docs/a.txt"

cat >"$CFG" <<EOF
name: platform
host: web-1
state: $TMP/state
repositories:
  main:
    url: $REPO
    password_file: $TMP/pass
components:
  app:
    type: command
    command: [sh, -c, "env >'$TMP/run-env'; if [ -e '$TMP/fail' ]; then echo 'disk full' >&2; exit 3; fi; echo data"]
    filename: app.txt
    retries: 1
    backoff: 1s
  quick:
    type: command
    command: [sh, -c, "echo quick"]
    filename: quick.txt
    retries: 0
  docs:
    type: files
    paths: [$TMP/docs]
    objectives:
      rpo: 10s
notifications:
  chat:
    type: slack
    url_file: $TMP/slack-url
  mail:
    type: email
    smtp_url: smtp://127.0.0.1:$SMTP
    from: lifeboat@example.org
    to: [ops@example.org, dba@example.org]
    username: lifeboat
    password_env: ALERT_SMTP_PASSWORD
    events: [failure, recovered]
  dead:
    type: webhook
    url_env: ALERT_HOOK_URL
    events: [failure]
    timeout: 2s
    retries: 1
EOF

# wait_for COUNT FILE [PATTERN]: until FILE has COUNT lines matching PATTERN (10 s)
lines() { [ -f "$2" ] && grep -c -- "$1" "$2" || echo 0; }
wait_for() {
    local want=$1 file=$2 pat=${3:-.}
    for _ in $(seq 100); do [ "$(lines "$pat" "$file")" -ge "$want" ] && return 0; sleep 0.1; done
    return 1
}
# wait_files COUNT: until the SMTP sink holds COUNT messages (10 s)
wait_files() {
    for _ in $(seq 100); do [ "$(ls "$TMP/mail"/*.eml 2>/dev/null | wc -l)" -ge "$1" ] && return 0; sleep 0.1; done
    return 1
}

# ---- a failing job: one alert, whatever the retries ----
touch "$TMP/fail"
"$LB" run app --config "$CFG" >"$TMP/run1.out" 2>"$TMP/run1.err"
grep -q "attempt 2 failed" "$TMP/run1.err" && ok "the failing job ran twice (its retry)" || fail "retry: $(cat "$TMP/run1.err")"
wait_for 1 "$REQ" '"/slack/' || fail "no Slack request arrived"
"$LB" run app --config "$CFG" >>"$TMP/run1.out" 2>>"$TMP/run1.err" # a second failing run
sleep 3
[ "$(lines '"/slack/' "$REQ")" -eq 1 ] && ok "exactly one Slack alert for the failing job (2 runs, 4 attempts)" ||
    fail "Slack requests: $(cat "$REQ")"
python3 - "$REQ" <<'PY' && ok "the Slack alert has text and blocks naming component, job, host and error" || fail "Slack payload: $(head -1 "$REQ")"
import json, sys
req = [json.loads(l) for l in open(sys.argv[1]) if '"/slack/' in l][0]
assert req["content_type"].startswith("application/json"), req
body = json.loads(req["body"])
assert body["text"] == "app failed on web-1", body["text"]
blocks = body["blocks"]
assert blocks[0]["type"] == "header" and blocks[0]["text"]["type"] == "plain_text", blocks[0]
fields = {f["text"].split("\n", 1)[0].strip("*"): f["text"].split("\n", 1)[1] for f in blocks[-1]["fields"]}
assert fields["Component"] == "app", fields
assert fields["Job"] == "app", fields
assert fields["Host"] == "web-1", fields
assert "exited with status 3" in fields["Error"], fields
assert fields["What happened"] == "failure (firing)", fields
assert "lifeboat run app" in fields["What to do first"], fields
PY

# ---- the email ----
wait_files 1 || true
n=$(ls "$TMP/mail"/*.eml 2>/dev/null | wc -l)
[ "$n" -eq 1 ] && ok "exactly one email arrived at the SMTP sink" || fail "emails: $n"
python3 - "$TMP/mail/001.eml" "$TMP/mail/001.json" <<'PY' && ok "the email: RFC 5322 headers, the envelope, SMTP authentication" || fail "email: $(cat "$TMP/mail/001.eml" "$TMP/mail/001.json")"
import email, email.policy, json, sys
raw = open(sys.argv[1], "rb").read()
assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""), "bare LF"
m = email.message_from_bytes(raw, policy=email.policy.default)
env = json.load(open(sys.argv[2]))
assert m["From"] == "lifeboat@example.org", m["From"]
assert "ops@example.org" in m["To"] and "dba@example.org" in m["To"], m["To"]
assert m["Subject"] == "app failed on web-1", m["Subject"]
assert email.utils.parsedate_to_datetime(m["Date"]) is not None
assert m["Message-ID"].startswith("<") and m["Message-ID"].endswith("@example.org>"), m["Message-ID"]
assert m.get_content_type() == "text/plain"
body = m.get_content()
assert "Component: app" in body and "Host: web-1" in body and "exited with status 3" in body, body
assert env["from"] == "<lifeboat@example.org>" and sorted(env["to"]) == ["<dba@example.org>", "<ops@example.org>"], env
assert env["user"] == "lifeboat", env
PY

# ---- the next success: one "recovered" ----
rm -f "$TMP/fail"
"$LB" run app --config "$CFG" >"$TMP/run2.out" 2>"$TMP/run2.err" || fail "the job succeeds again: $(cat "$TMP/run2.err")"
wait_for 2 "$REQ" '"/slack/' || true
"$LB" run app --config "$CFG" >/dev/null 2>>"$TMP/run2.err" # another success: nothing more
sleep 2
[ "$(lines '"/slack/' "$REQ")" -eq 2 ] && ok "the next success sends one more Slack message, no more after it" ||
    fail "Slack requests: $(cat "$REQ")"
tail -n 1 "$REQ" | grep -q 'Recovered: app succeeded on web-1' && tail -n 1 "$REQ" | grep -q 'recovered (resolved)' &&
    ok "... and it is the \"recovered\"" || fail "recovered: $(tail -n 1 "$REQ")"
wait_files 2 || true
[ "$(ls "$TMP/mail"/*.eml | wc -l)" -eq 2 ] && grep -q '^Subject: Recovered: app' "$TMP/mail/002.eml" &&
    ok "the email notification gets the recovery too" || fail "emails: $(ls "$TMP/mail")"

# ---- an endpoint that never answers delays no backup ----
# (dead: webhook on a server that reads the request and never answers,
# timeout 2s, 1 retry: a blocking sender would hold the run >= 4 s)
[ "$(lines '"/dead/' "$DEAD")" -ge 1 ] && ok "the never-answering endpoint got the failure alert" ||
    fail "dead endpoint requests: $(cat "$DEAD" 2>/dev/null)"
sed -i 's|command: \[sh, -c, "echo quick"\]|command: [sh, -c, "echo quick; exit 4"]|' "$CFG"
t0=$(date +%s%N)
"$LB" run quick --config "$CFG" >/dev/null 2>"$TMP/quick.err"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
argv_of_cfg() { # the argv of every process of this configuration (the senders among them)
    for p in $(pgrep -f -- "--config $CFG"); do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null; echo; done
}
argv_of_cfg >"$TMP/cmdlines"
senders=$(grep -c . "$TMP/cmdlines")
wait_for 2 "$DEAD" '"/dead/' || true
[ "$(lines '"/dead/' "$DEAD")" -ge 2 ] && [ "$ms" -lt 2000 ] &&
    ok "a failing run alerting a dead endpoint (timeout 2s) took $ms ms ($senders sender still waiting)" ||
    fail "run took $ms ms; dead endpoint requests $(lines '"/dead/' "$DEAD")"
sleep 5 # the sender gives up after its timeouts: its error names the notification only
note "the sender's error: $(grep "notification 'dead'" "$TMP/quick.err")"
grep -q "unable to send notification 'dead': .*Timeout\|unable to send notification 'dead'.*timeout" "$TMP/quick.err" &&
    ok "the sender reports the timeout, naming the notification" || fail "sender: $(cat "$TMP/quick.err")"

# ---- the daemon: an RPO breach with no job running ----
"$LB" run docs --config "$CFG" >/dev/null 2>&1 || fail "run docs"
sleep 11 # the snapshot is now older than the 10 s objective
before=$(lines '"/slack/' "$REQ")
runs_before=$("$LB" history --config "$CFG" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
# reminders: every 5 s for chat; the daemon checks at least every refresh (10 s)
sed -i 's|^    url_file: \(.*\)$|    url_file: \1\n    remind_every: 5s|' "$CFG"
printf 'monitoring:\n  refresh: 10s\n' >>"$CFG"
"$LB" config check "$CFG" >/dev/null || fail "the configuration with reminders: $("$LB" config check "$CFG" 2>&1)"
"$LB" daemon --config "$CFG" >"$TMP/daemon.out" 2>"$TMP/daemon.err" &
DPID=$!
cleanup_hooks+=("kill $DPID 2>/dev/null")
# the daemon scans the repository at start (monitoring.refresh, in a child)
# and checks the facts as soon as the scan is saved
wait_for $((before + 1)) "$REQ" '"/slack/' || true
[ -s "$TMP/state/monitor/scan-main.json" ] && ok "the daemon saved its scan of the repository" ||
    fail "no scan: $(cat "$TMP/daemon.err")"
# the RPO alert among the messages since the daemon started: quick's failure
# reminder (remind_every, the daemon's clock) may come before or after it
rpo_alert() { grep '"/slack/' "$REQ" | tail -n +$((before + 1)) | grep -v 'Reminder: ' | grep 'docs: achieved RPO'; }
for _ in $(seq 200); do rpo_alert >/dev/null && break; sleep 0.1; done
rpo_alert | grep -q 'docs: achieved RPO [0-9]*s is over its objective 10s' &&
    ok "the daemon alerts the RPO breach of docs with no job running" || fail "RPO alert: $(tail -n 2 "$REQ")"
rpo_alert | grep -q '\\"rpo (firing)\\"\|rpo (firing)' && ok "... as an rpo alert" ||
    fail "rpo kind: $(rpo_alert)"
# the condition still holds: a reminder at the next check, 5 s or more later
for _ in $(seq 250); do grep -q 'Reminder: docs: achieved RPO' "$REQ" && break; sleep 0.1; done
grep '"/slack/' "$REQ" | grep -q 'Reminder: docs: achieved RPO [0-9]*s is over its objective 10s (firing since' &&
    ok "the daemon reminds of the RPO breach while it holds" || fail "reminder: $(tail -n 2 "$REQ")"
# quick's failure (from `lifeboat run` above) still fires: its reminder comes
# from the daemon's clock too, with what the failure said
for _ in $(seq 100); do grep -q 'Reminder: quick failed on web-1' "$REQ" && break; sleep 0.1; done
grep '"/slack/' "$REQ" | grep 'Reminder: quick failed on web-1 (firing since' | grep -q 'exited with status 4' &&
    ok "the daemon reminds of a run's failure that still fires, with its error" ||
    fail "failure reminder: $(grep -c Reminder "$REQ") reminders"
[ "$(grep -c 'docs: achieved RPO' "$REQ")" -eq 2 ] && ok "... once per remind_every, not once per check" ||
    fail "RPO messages: $(grep -c 'docs: achieved RPO' "$REQ")"
runs_after=$("$LB" history --config "$CFG" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$runs_before" = "$runs_after" ] && ok "no run was started meanwhile ($runs_after runs)" || fail "runs: $runs_before -> $runs_after"

# ---- the secrets stay secret ----
argv_of_cfg >>"$TMP/cmdlines" # the daemon now
"$LB" history --config "$CFG" >"$TMP/history.out" 2>&1
"$LB" config show --config "$CFG" >"$TMP/show.out" 2>&1
leaks=""
for f in "$TMP/daemon.err" "$TMP/daemon.out" "$TMP/run1.err" "$TMP/run1.out" "$TMP/run2.err" "$TMP/quick.err" \
    "$TMP/history.out" "$TMP/show.out" "$TMP/cmdlines" "$TMP/run-env" "$TMP/state/monitor/alerts.json"; do
    grep -q -e "SLACKSECRETTOKEN" -e "HOOKSECRETTOKEN" -e "SMTPSECRETPASSWORD" "$f" && leaks="$leaks $f"
done
[ -z "$leaks" ] && ok "no secret in the logs, history, config show, argv ($(grep -c . "$TMP/cmdlines") processes) or a run's environment" ||
    fail "secrets in:$leaks"
grep -q 'url_file: "'"$TMP"'/slack-url"' "$TMP/show.out" && grep -q 'password_env: "ALERT_SMTP_PASSWORD"' "$TMP/show.out" &&
    ok "config show names where the secrets are" || fail "config show: $(grep -A8 '^notifications' "$TMP/show.out")"
[ -s "$TMP/run-env" ] && ok "(the run's environment was captured)" || fail "no run environment captured"

# ---- a literal URL is refused ----
sed 's|    url_file: .*|    url: http://127.0.0.1/slack/LITERAL|' "$CFG" >"$TMP/literal.yaml"
check_rc 1 "a literal webhook URL in the file is refused" "$LB" config check "$TMP/literal.yaml"
last_output | grep -q "notifications.chat.url: the url is a secret .*HINT: .*url_file" && ok "... with a hint" ||
    fail "message: $(last_output)"
! last_output | grep -q LITERAL && ok "... without printing it" || fail "it printed the URL: $(last_output)"

kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null
# (under SANITIZE=1: no report from the daemon, the runs or the senders)
! grep -l 'Sanitizer\|runtime error' "$TMP"/*.err >"$TMP/san.out" && ok "no sanitizer report in any log" ||
    fail "sanitizer reports in: $(cat "$TMP/san.out")"
finish
