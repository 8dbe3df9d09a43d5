#!/usr/bin/env bash
# test_recover.sh - recovery points, `recover` and `drill` across components
# (issue 12, Done-when 1, 2, 3 and 5), against a real PostgreSQL server
# (tests/harness/pg: logical dumps, and a base backup with its WAL archived
# through `lifeboat wal-push`) and the real S3 server (tests/harness/s3,
# Ceph RGW: a bucket of uploads), plus a command's output (a YAML file) and a
# folder of configuration, all in one configuration file:
#
#   three runs of the backup job `full`, with changes between them; T_MID
#   lies between the second and the third, T_P (between two logical dumps)
#   after a row committed after T_MID and before a row committed after T_P.
#   Before the third run two objects that rows of the database refer to are
#   deleted from the bucket.
#
#   - points: three recovery points of five components, and the PITR window
#   - recover full --at T_MID --dry-run: the plan, nothing written
#   - recover full --at T_MID: every component as at the second run
#     (database table by table, the recovered server started from the base
#     backup and WAL replayed to T_MID, bucket objects and contents, the
#     command's file, `diff -r` of the folder); a non-empty target is refused
#     without --clean and left as it was
#   - recover partial --at T_P: the server replayed to T_P holds the row
#     committed before T_P and not the one after
#   - the consistency check names exactly the two deleted keys
#   - drill: passes, reports RTO and RPO per component; an RTO objective of
#     1 s fails naming it; with one byte of a pack of the database snapshot
#     damaged it fails naming the component and the blob and leaves no
#     scratch server, process or folder behind
# Without PostgreSQL, the Ceph packages or boto3 the test is skipped.
. "$(dirname "$0")/lib.sh"

PGH=$(cd "$(dirname "$0")/../harness/pg" && pwd)
S3H=$(cd "$(dirname "$0")/../harness/s3" && pwd)
PY="$S3H/bucketdata.py"
for c in pg_dump ceph-mon ceph-osd radosgw; do
    command -v "$c" >/dev/null 2>&1 || { skip "recover tests: $c is not installed"; finish; }
done
python3 -c 'import boto3' >/dev/null 2>&1 || { skip "recover tests: python3 cannot import boto3"; finish; }

REPO=$TMP/repo
PW=$TMP/password
CFG=$TMP/platform.yaml
DRILLTMP=$TMP/drilltmp
RUNAS=""
[ "$(id -u)" = 0 ] && RUNAS=postgres
as_pg() { if [ -n "$RUNAS" ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
stamp() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }

# ------------------------------------------------------------ the servers
S3DIR=$TMP/s3
cleanup_hooks+=("'$S3H/stop.sh' '$S3DIR' --rm >/dev/null 2>&1")
if ! S3_ACCESS_KEY=lifeboat-recover-ak S3_SECRET_KEY="rec-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')" \
    "$S3H/start.sh" "$S3DIR" >"$TMP/s3.out" 2>"$TMP/s3.err"; then
    fail "start the S3 server"
    tail -20 "$TMP/s3.err" | sed 's/^/#   /'
    finish
fi
. "$S3DIR/s3.env"
export S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY LIFEBOAT_S3_REGION=us-east-1
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
python3 "$PY" mkbucket uploads && python3 "$PY" mkbucket recovered || fail "create the buckets"

echo "$LIFEBOAT_PASSWORD" >"$PW"
chmod 644 "$PW"
check "init repository" new_repo "$REPO"
unset LIFEBOAT_PASSWORD
export LIFEBOAT_PASSWORD_FILE=$PW
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$REPO"
ARCHIVE="LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$PW $LB wal-push %p"
PGDIR=$TMP/pg
if ! PG_ARCHIVE_COMMAND=$ARCHIVE bash "$PGH/start.sh" "$PGDIR" >"$TMP/pg.log" 2>&1; then
    fail "start PostgreSQL"
    tail -20 "$TMP/pg.log" | sed 's/^/#   /'
    finish
fi
cleanup_hooks+=("bash '$PGH/stop.sh' '$PGDIR'")
. "$PGDIR/pg.env"
unset PGDATABASE PGPASSWORD PGSERVICE
ok "PostgreSQL with archive_command = lifeboat wal-push, and the S3 server"
sql() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
PORT2=$(freeport)
mkdir -p "$DRILLTMP" "$TMP/appconf"
chmod 711 "$TMP" "$DRILLTMP"

cat >"$CFG" <<EOF
name: platform
state: $TMP/state
repositories:
  main:
    url: $REPO
    password_file: $PW
components:
  database:
    type: postgres
    connection: "postgresql://postgres@127.0.0.1:$PGPORT/app"
    objectives: {rpo: 1d, rto: 10m}
    verify:
      sql: ["SELECT count(*) FROM uploads"]
    consistency:
      query: "SELECT storage_key FROM uploads"
      bucket: uploads
    recovery:
      target: "postgresql://postgres@127.0.0.1:$PGPORT/app_recovered"
  database-base:
    type: postgres-physical
    connection: "host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
    wal_method: none
    objectives: {rpo: 1d, rto: 10m}
    recovery:
      target: $TMP/rec/pgdata
      start: true
      port: $PORT2
  uploads:
    type: bucket
    bucket: "s3:$S3_ENDPOINT/uploads/files/"
    objectives: {rpo: 1d, rto: 10m}
    recovery:
      target: "s3:$S3_ENDPOINT/recovered/files/"
      scratch: "s3:$S3_ENDPOINT/recovered/drill/"
  cluster:
    type: command
    command: [cat, $TMP/cluster.yaml]
    filename: cluster.yaml
    recovery:
      target: $TMP/rec/cluster
  config:
    type: files
    paths: [$TMP/appconf]
    recovery:
      target: $TMP/rec/config
jobs:
  full:
    type: backup
    components: [database, database-base, uploads, cluster, config]
  weekly-drill:
    type: drill
    components: [cluster, config]
EOF
check "config check" "$LB" config check --config "$CFG"

# ------------------------------------------------------------ three runs
"$PG_BIN/createdb" app
sql -d app -c "CREATE TABLE uploads (id serial PRIMARY KEY, storage_key text NOT NULL UNIQUE, note text);
               CREATE TABLE events (id serial PRIMARY KEY, round int NOT NULL, what text);" || fail "create tables"
round() { # N: objects k<N>1..k<N>3, their rows, an event, the folder and the YAML file
    local n=$1
    for i in 1 2 3; do python3 "$PY" put uploads "files/k$n$i" "object $n$i"; done
    sql -d app -c "INSERT INTO uploads (storage_key, note) VALUES ('k${n}1', 'r$n'), ('k${n}2', 'r$n'), ('k${n}3', 'r$n');
                   INSERT INTO events (round, what) VALUES ($n, 'round $n');"
    echo "setting = $n" >"$TMP/appconf/app.conf"
    echo "round $n" >"$TMP/appconf/round-$n.conf"
    printf 'apiVersion: v1\nkind: List\nitems:\n' >"$TMP/cluster.yaml"
    for r in $(seq 1 "$n"); do printf '  - {kind: ConfigMap, name: round-%s}\n' "$r" >>"$TMP/cluster.yaml"; done
}
round 1
check "run full (1)" "$LB" run full --config "$CFG"
round 2
python3 "$PY" put uploads files/k11 "object 11, changed"
check "run full (2)" "$LB" run full --config "$CFG"
# the state at the second run
for t in uploads events; do sql -d app -c "COPY (SELECT * FROM $t ORDER BY id) TO STDOUT" >"$TMP/s2.$t"; done
python3 "$PY" describe uploads files/ "$TMP/s2.bucket" >/dev/null
cp -a "$TMP/appconf" "$TMP/s2.appconf"
cp "$TMP/cluster.yaml" "$TMP/s2.cluster.yaml"
sleep 1.2
T_MID=$(stamp)
sleep 1.2
sql -d app -c "INSERT INTO events (round, what) VALUES (3, 'before T_P')"
sleep 1.2
T_P=$(stamp)
sleep 1.2
sql -d app -c "INSERT INTO events (round, what) VALUES (4, 'after T_P')"
round 3
python3 "$PY" delete uploads files/k12 files/k22 # their rows stay
check "run full (3)" "$LB" run full --config "$CFG"
SEG=$(sql -d postgres -c "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 150); do
    [ "$(sql -d postgres -c "SELECT coalesce(last_archived_wal, '') >= '$SEG' FROM pg_stat_archiver")" = t ] && break
    sleep 0.2
done

# ------------------------------------------------------------ points
check "points --config --json" "$LB" points --config "$CFG" --json
last_output >"$TMP/points.json"
python3 - "$TMP/points.json" "$T_MID" <<'PY' && ok "points: 3 recovery points of 5 components each, skew given, a PITR window reaching past T_MID" || fail "points: $(head -c 600 "$TMP/points.json")"
import json, sys
d = json.load(open(sys.argv[1]))
p = d["points"]
assert len(p) == 3, p
for x in p:
    assert sorted(c["component"] for c in x["components"]) == ["cluster", "config", "database", "database-base", "uploads"], x
    assert x["skew_seconds"] >= 0
w = [x for x in d["pitr"] if x["component"] == "database-base"][0]
assert w["available"], w
assert w["first"] < sys.argv[2] < w["newest"], (w, sys.argv[2])
PY
check "points (text)" "$LB" points --config "$CFG"
grep -q "point-in-time recovery of database-base: from" "$TMP/.out" && ok "... names the PITR window" || fail "... names the PITR window: $(last_output | tail -3)"
DB2=$("$LB" -r "$REPO" snapshots --json --component database --at "$T_MID" | python3 -c 'import json,sys; s=json.load(sys.stdin); assert len(s)==1, s; print(s[0]["id"])')
[ -n "$DB2" ] && ok "snapshots --at T_MID lists the database snapshot of the second run" || fail "snapshots --at T_MID"

# ------------------------------------------------------------ drills
export TMPDIR=$DRILLTMP
check "drill --at T_MID (every component)" "$LB" drill --config "$CFG" --at "$T_MID" --json
last_output >"$TMP/drill.json"
python3 - "$TMP/drill.json" <<'PY' && ok "drill passed: RTO and RPO measured for every component, within the objectives" || fail "drill report: $(head -c 1500 "$TMP/drill.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["passed"] is True, d
comps = {c["name"]: c for c in d["components"]}
assert sorted(comps) == ["cluster", "config", "database", "database-base", "uploads"], comps
for c in comps.values():
    assert c["passed"] is True, c
    assert c["rto_seconds"] > 0 and c["rpo_seconds"] >= 0, c
    assert c["restore_seconds"] > 0, c
assert comps["database"]["rto_objective_seconds"] == 600, comps["database"]
assert d["consistency"]["keys_missing"] == 0 and d["consistency"]["keys_referenced"] == 6, d.get("consistency")
assert any("objects: " in k["text"] for k in comps["uploads"]["checks"]), comps["uploads"]
PY
[ "$(python3 "$PY" count recovered drill/)" = 6 ] && ok "the bucket was drilled into its recovery.scratch prefix" || fail "scratch prefix holds $(python3 "$PY" count recovered drill/) objects"
check "history --drills" "$LB" history --config "$CFG" --drills --json
last_output | python3 -c "
import json, sys
rows = json.load(sys.stdin)
assert sorted(r['component'] for r in rows) == ['cluster', 'config', 'database', 'database-base', 'uploads'], rows
assert all(r['passed'] and r['rto_seconds'] > 0 for r in rows), rows
" && ok "... a row per drilled component, with its RTO" || fail "history --drills: $(last_output | head -c 600)"
ls "$TMP/state/drills/"*.html >/dev/null 2>&1 && grep -q "<html" "$TMP/state/drills/"*.html &&
    ok "the drill wrote its report (JSON, text, HTML) under the state folder" || fail "drill report files: $(ls "$TMP/state/drills" 2>&1)"
[ -z "$(ls -A "$DRILLTMP")" ] && ok "no scratch folder remains after the drill" || fail "scratch left: $(ls -A "$DRILLTMP")"

check "a drill job runs through the scheduler's run" "$LB" run weekly-drill --config "$CFG"
grep -q "succeeded" "$TMP/.out" && ok "... and succeeds" || fail "... and succeeds: $(last_output)"
[ "$(ls "$TMP/state/drills/"*.json | wc -l)" -ge 2 ] && ok "... writing its report" || fail "... writing its report"

# a newer dump, then one byte of a pack that holds its data
# enough rows that recovering them takes longer than a second (an RTO objective of 1 s below)
sql -d app -c "INSERT INTO events (round, what) SELECT 5, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 800000) g"
find "$REPO/data" -type f | sort >"$TMP/packs.before"
check "run database" "$LB" run database --config "$CFG"
find "$REPO/data" -type f | sort >"$TMP/packs.after"

sed 's/rto: 10m}/rto: 1s}/' "$CFG" >"$TMP/strict.yaml"
check_rc 4 "drill with an RTO objective of 1 s fails on that objective (exit 4)" "$LB" drill database --config "$TMP/strict.yaml" --json
last_output | python3 -c "
import json, sys
d = json.load(sys.stdin)
missed = [c['name'] for c in d['components'] if c['missed_objective'] == 'rto']
print('# achieved RTO: ' + ', '.join('%s %.2f s' % (c['name'], c['rto_seconds']) for c in d['components']))
assert missed and all(c['error'] and 'RTO objective missed' in c['error'] for c in d['components'] if c['name'] in missed), d
assert all(c['passed'] or c['missed_objective'] for c in d['components']), d
" && ok "... naming the component and the objective" || fail "... naming the component and the objective: $(last_output | head -c 800)"


PACK=$(comm -13 "$TMP/packs.before" "$TMP/packs.after" | xargs ls -S | head -1)
cp -p "$PACK" "$TMP/pack.saved"
python3 - "$PACK" <<'PY'
import os, sys
p = sys.argv[1]
n = os.path.getsize(p)
with open(p, "r+b") as f:
    f.seek(n // 3)
    b = f.read(1)
    f.seek(n // 3)
    f.write(bytes([b[0] ^ 0x55]))
PY
check_rc 1 "drill with a damaged pack of the database snapshot fails" "$LB" drill database --config "$CFG"
last_output >"$TMP/damaged.out"
grep -q "database" "$TMP/damaged.out" && grep -Eq "blob [0-9a-f]{8}" "$TMP/damaged.out" &&
    ok "... naming the database component and the damaged blob" || fail "... naming component and blob: $(tail -5 "$TMP/damaged.out")"
[ -z "$(ls -A "$DRILLTMP")" ] && ok "... and no scratch folder remains" || fail "scratch left: $(ls -A "$DRILLTMP")"
if pgrep -f "$DRILLTMP/lifeboat-drill" >/dev/null; then fail "... a scratch process remains: $(pgrep -af "$DRILLTMP/lifeboat-drill")"; else ok "... and no scratch server or process remains"; fi
cp -p "$TMP/pack.saved" "$PACK"

# a long TMPDIR: the physical drill's socket has a short folder of its own
# (TMPDIR of 60 bytes: its data directory's socket path would have 117, over
# the 107 a Unix socket takes)
LONGTMP=$TMP/$(printf 'x%.0s' $(seq 1 $((60 - ${#TMP} - 1))))
mkdir -m 711 "$LONGTMP"
check "a physical drill with TMPDIR of ${#LONGTMP} bytes" env TMPDIR="$LONGTMP" "$LB" drill database-base --config "$CFG"
[ -z "$(ls -A "$LONGTMP")" ] && ok "... leaves nothing there" || fail "... left $(ls -A "$LONGTMP")"

# SIGTERM in the middle of a drill: the guard stops the scratch server and removes everything
"$LB" drill database --config "$CFG" >"$TMP/term.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do pgrep -f "$DRILLTMP/lifeboat-drill.*postgres|postgres.*$DRILLTMP" >/dev/null && break; sleep 0.05; done
sleep 0.3
kill -TERM $pid
wait $pid
rc=$?
[ $rc = 143 ] && ok "a drill stopped by SIGTERM exits 143" || fail "a drill stopped by SIGTERM exits 143 (exit $rc): $(tail -3 "$TMP/term.out")"
sleep 0.5
if [ -z "$(ls -A "$DRILLTMP")" ] && ! pgrep -f "$DRILLTMP" >/dev/null; then ok "... leaving no scratch server, process or folder"
else fail "... left: $(ls -A "$DRILLTMP") $(pgrep -af "$DRILLTMP")"; fi

unset TMPDIR
# ------------------------------------------------------------ recover --dry-run
check "recover full --at T_MID --dry-run" "$LB" recover full --config "$CFG" --at "$T_MID" --dry-run
grep -q "database-base" "$TMP/.out" && grep -q "(WAL)" "$TMP/.out" && ok "... prints the plan (the database replayed from WAL)" ||
    fail "... prints the plan: $(last_output)"
untouched() {
    [ ! -e "$TMP/rec" ] && [ "$(python3 "$PY" count recovered files/)" = 0 ] &&
        [ -z "$(sql -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'app_recovered'")" ]
}
untouched && ok "... and changes nothing (no folder, no object, no database)" || fail "the dry run changed something"
check "recover --dry-run --json" "$LB" recover full --config "$CFG" --at "$T_MID" --dry-run --json
last_output | python3 -c "
import json, sys
d = json.load(sys.stdin)
c = {x['component']: x for x in d['components']}
assert c['database']['snapshot_id'] == '$DB2', c['database']
assert c['database-base']['wal_replay'] == 'to-time', c['database-base']
assert c['database-base']['data_loss_seconds'] == 0, c['database-base']
assert c['database']['data_loss_seconds'] > 2, c['database']
" && ok "... as JSON: the database's second dump, the base backup replayed to T_MID with no data loss" || fail "dry-run JSON: $(last_output | head -c 800)"

# ------------------------------------------------------------ recover full --at T_MID
cleanup_hooks+=("[ -f '$TMP/rec/pgdata/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$TMP/rec/pgdata' -m immediate -w stop >/dev/null 2>&1")
check "recover full --at T_MID" "$LB" recover full --config "$CFG" --at "$T_MID" --yes
last_output >"$TMP/recover.out"
same=1
for t in uploads events; do
    sql -d app_recovered -c "COPY (SELECT * FROM $t ORDER BY id) TO STDOUT" >"$TMP/r.$t" && cmp -s "$TMP/s2.$t" "$TMP/r.$t" || same=0
done
[ $same = 1 ] && ok "database: every table as at the second run" || fail "database tables differ from the second run"
same=1
for t in uploads events; do
    sql -h 127.0.0.1 -p "$PORT2" -U postgres -d app -c "COPY (SELECT * FROM $t ORDER BY id) TO STDOUT" >"$TMP/p.$t" && cmp -s "$TMP/s2.$t" "$TMP/p.$t" || same=0
done
[ $same = 1 ] && ok "database-base: the server replayed to T_MID holds every table as at the second run" ||
    fail "database-base at T_MID differs: $(diff "$TMP/s2.events" "$TMP/p.events" | head -5)"
as_pg "$PG_BIN/pg_ctl" -D "$TMP/rec/pgdata" -m fast -w stop >/dev/null 2>&1
python3 "$PY" describe recovered files/ "$TMP/r.bucket" >/dev/null
python3 - "$TMP/s2.bucket" "$TMP/r.bucket" <<'PY' && ok "uploads: the bucket's objects and contents as at the second run" || fail "bucket differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
assert all(a[k][3] == b[k][3] for k in a), "content"
PY
cmp -s "$TMP/s2.cluster.yaml" "$TMP/rec/cluster/cluster.yaml" && ok "cluster: the command's output as at the second run" || fail "cluster.yaml differs: $(ls -R "$TMP/rec/cluster" | head)"
diff -r "$TMP/s2.appconf" "$TMP/rec/config$TMP/appconf" >"$TMP/diff.out" 2>&1 && ok "config: diff -r finds no difference" || fail "config differs: $(head -5 "$TMP/diff.out")"
grep -q "missing" "$TMP/recover.out" && grep -q "0 missing" "$TMP/recover.out" && ok "the consistency check of the second run finds every referenced object" || fail "consistency at T_MID: $(grep consistency "$TMP/recover.out")"

touch "$TMP/rec/config/marker"
check_rc 1 "recover into a target that is not empty is refused without --clean" "$LB" recover config --config "$CFG" --at "$T_MID" --yes
grep -q "not empty" "$TMP/.out" && [ -e "$TMP/rec/config/marker" ] && ok "... saying so, and the target is left as it was" || fail "... $(last_output)"
"$LB" recover config --config "$CFG" --at "$T_MID" --dry-run --json >"$TMP/refused.json" 2>/dev/null
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["message_type"] == "error" and "not empty" in d["message"], d
assert [c["component"] for c in d["plan"]] == ["config"], d["plan"]
' "$TMP/refused.json" 2>"$TMP/refused.err" && ok "... with --dry-run --json the error document still carries the plan" ||
    fail "... refused --json: $(head -c 400 "$TMP/refused.json") $(tail -2 "$TMP/refused.err")"

# ------------------------------------------------------------ recover partial --at T_P
cleanup_hooks+=("[ -f '$TMP/rec/pgdata-p/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$TMP/rec/pgdata-p' -m immediate -w stop >/dev/null 2>&1")
check "recover partial --at T_P" "$LB" recover partial --config "$CFG" --at "$T_P" --yes \
    --target "database=postgresql://postgres@127.0.0.1:$PGPORT/app_p" --target "database-base=$TMP/rec/pgdata-p"
rows=$(sql -h 127.0.0.1 -p "$PORT2" -U postgres -d app -c "SELECT string_agg(what, ',' ORDER BY id) FROM events WHERE round >= 3")
[ "$rows" = "before T_P" ] && ok "PITR to T_P: the row committed before T_P is there, the one after is not" || fail "PITR to T_P: rows '$rows'"
as_pg "$PG_BIN/pg_ctl" -D "$TMP/rec/pgdata-p" -m fast -w stop >/dev/null 2>&1

# ------------------------------------------------------------ consistency, latest
check_rc 3 "recover database uploads (latest): the consistency check fails (exit 3)" "$LB" recover database uploads --config "$CFG" --yes --json \
    --target "database=postgresql://postgres@127.0.0.1:$PGPORT/app_latest" --target "uploads=s3:$S3_ENDPOINT/recovered/latest/"
last_output | tail -1 | python3 -c "
import json, sys
d = json.load(sys.stdin)
c = d['consistency'][0]
assert c['missing'] == 2 and sorted(c['examples']) == ['k12', 'k22'], c
" && ok "... naming exactly the two deleted keys" || fail "consistency: $(last_output | tail -c 600)"

finish
