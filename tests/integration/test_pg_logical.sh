#!/usr/bin/env bash
# test_pg_logical.sh - logical PostgreSQL backups against a real server
# (tests/harness/pg): pgbench tables plus a table with text, bytea, jsonb and
# large objects are dumped with `backup --pg`, restored with
# `restore --pg-target --create` and compared table by table; a database with
# 1% of its rows changed must add under 10% of the first dump's stored size;
# row counts come from the dump's own snapshot even under concurrent writes;
# truncated, damaged and incomplete dumps are refused by verification; a
# failing pg_dump leaves no snapshot and shows its message; a password in the
# connection URL never shows on a command line or in any output.
. "$(dirname "$0")/lib.sh"

REPO=$TMP/repo
PGDIR=$TMP/pg
WRAP=$TMP/wrap

start_pg "$PGDIR" pg_dump pgbench
URL="postgresql://postgres@127.0.0.1:$PGPORT"
REAL_PG_DUMP=$(command -v pg_dump)

sql() { # db sql...: run statements, print unaligned tuples
    local db=$1
    shift
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}
repo_size() { "$LB" -r "${1:-$REPO}" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["repository_size"])'; }
snap_count() { "$LB" -r "$REPO" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
json_field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
latest_meta() { # key: a field of the newest snapshot's meta (JSON)
    "$LB" -r "$REPO" snapshots --json |
        python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[-1]["meta"].get(sys.argv[1])))' "$1"
}
pct() { python3 -c 'import sys; print("%.2f" % (100.0 * float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
mkdir -p "$WRAP"
fake_pg_dump() { # shell code that replaces pg_dump (for everything but --version) when $WRAP is on PATH
    cat >"$WRAP/pg_dump" <<SH
#!/usr/bin/env bash
case " \$* " in *" --version "*) exec "$REAL_PG_DUMP" "\$@" ;; esac
$1
SH
    chmod +x "$WRAP/pg_dump"
}
TABLES="pgbench_accounts pgbench_branches pgbench_tellers pgbench_history docs"
checksums() { # db: one line per table (md5 of its rows in a fixed order), then the large objects
    local db=$1 t
    for t in $TABLES; do
        echo "$t $(sql "$db" -c "SELECT count(*) || ' ' || md5(string_agg(md5(t::text), ',' ORDER BY md5(t::text))) FROM $t t")"
    done
    echo "large-objects $(sql "$db" -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(oid::text || ':' || md5(lo_get(oid)), ',' ORDER BY oid)), '-') FROM pg_largeobject_metadata")"
}

# ---------------------------------------------------------------- the data
check "init repository" new_repo "$REPO"
check "create database app" createdb app
check "pgbench -i -s 2" pgbench -i -s 2 -q app
# 250,000 documents: text, bytea, jsonb; the first 8 carry a 64 KiB large object
cat >"$TMP/docs.sql" <<'SQL'
CREATE TABLE docs (
    id int PRIMARY KEY,
    title text NOT NULL,
    body text NOT NULL,
    payload bytea NOT NULL,
    attrs jsonb NOT NULL,
    attachment oid
);
INSERT INTO docs
SELECT g,
       'document ' || g || CASE WHEN g % 1000 = 0 THEN ' ünïcødé ✓' ELSE '' END,
       md5(g::text) || ' ' || md5((g * 31)::text) || ' ' || md5((g * 17)::text),
       decode(md5((g * 7)::text) || md5((g * 13)::text), 'hex'),
       jsonb_build_object('id', g, 'kind', (ARRAY['invoice', 'order', 'note', 'memo'])[1 + g % 4],
                          'tags', jsonb_build_array('t' || g % 7, 't' || g % 11), 'score', (g * 37) % 1000,
                          'owner', jsonb_build_object('name', 'user' || g % 97, 'key', md5((g * 3)::text))),
       CASE WHEN g <= 8 THEN lo_from_bytea(0, (SELECT decode(string_agg(md5((g * 10000 + k)::text), ''), 'hex')
                                               FROM generate_series(1, 4096) k)) END
FROM generate_series(1, 250000) g;
SQL
check "load docs (text, bytea, jsonb, large objects)" sql app -f "$TMP/docs.sql"
check "create role app_reader (a global object)" sql postgres -c "CREATE ROLE app_reader NOLOGIN"
checksums app >"$TMP/sum-source"
if grep -q '^docs 250000 ' "$TMP/sum-source" && grep -q '^large-objects 8 ' "$TMP/sum-source"; then
    ok "source has 250000 docs and 8 large objects"
else
    fail "source has 250000 docs and 8 large objects"
    sed 's/^/#   /' "$TMP/sum-source"
fi

# ---------------------------------------------------------------- backup 1
size0=$(repo_size)
check_rc 0 "backup --pg URL --component database" "$LB" -r "$REPO" --json backup --pg "$URL/app" --component database
last_output >"$TMP/b1.json"
size1=$(repo_size)
first_stored=$(json_field "$TMP/b1.json" data_added_stored)
dump_size=$(json_field "$TMP/b1.json" dump_size)
note "first dump: $dump_size bytes, $first_stored bytes stored, repository grew by $((size1 - size0))"
check "one snapshot, component database" test "$("$LB" -r "$REPO" snapshots --component database --json |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1
check "the snapshot records the dump chunk profile" test "$("$LB" -r "$REPO" snapshots --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[-1].get("chunker"))')" = dump
check "snapshot holds dump.pgcustom and globals.sql" \
    bash -c "'$LB' -r '$REPO' ls latest | grep -qx '/dump.pgcustom' && '$LB' -r '$REPO' ls latest | grep -qx '/globals.sql'"
"$LB" -r "$REPO" snapshots --json >"$TMP/snaps.json"
if python3 - "$TMP/snaps.json" "$PGPORT" <<'PY'; then ok "snapshot meta: version, database, format, sizes, exact row counts"; else fail "snapshot meta: version, database, format, sizes, exact row counts"; fi
import json, sys
m = json.load(open(sys.argv[1]))[-1]["meta"]
want = {"public.pgbench_accounts": 200000, "public.pgbench_branches": 2, "public.pgbench_tellers": 20,
        "public.pgbench_history": 0, "public.docs": 250000}
problems = []
if m.get("type") != "postgresql-logical": problems.append("type")
if m.get("format") != "custom": problems.append("format")
if m.get("database") != "app": problems.append("database")
if not str(m.get("server_version", "")).startswith("15"): problems.append("server_version")
if not str(m.get("tool", "")).startswith("pg_dump (PostgreSQL)"): problems.append("tool")
if not m.get("dump_size", 0) > 50_000_000: problems.append("dump_size")
if not m.get("globals_size", 0) > 0: problems.append("globals_size")
if m.get("row_counts") != "exact" or m.get("row_counts_snapshot") != "dump": problems.append("row_counts")
if m.get("tables") != want: problems.append("tables %r" % m.get("tables"))
if m.get("verified") is not True: problems.append("verified")
if m.get("port") != sys.argv[2]: problems.append("port")
if problems:
    print("# meta problems:", problems)
    sys.exit(1)
PY
check "stored dump is byte-identical when restored as a file" \
    bash -c "'$LB' -r '$REPO' restore latest --target '$TMP/files' -q && test \$(stat -c %s '$TMP/files/dump.pgcustom') = $dump_size && pg_restore --list '$TMP/files/dump.pgcustom' | grep -q 'TABLE DATA public docs'"
check "globals.sql holds the roles" grep -q 'CREATE ROLE app_reader;' "$TMP/files/globals.sql"
rm -rf "$TMP/files"

# ---------------------------------------------------------------- restore
check_rc 0 "restore latest --pg-target URL/app_copy --create --verify" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/app_copy" --create --verify
grep -q 'verified the row counts of 5 tables' "$TMP/.out" && ok "restore verified 5 tables' row counts" ||
    fail "restore verified 5 tables' row counts"
checksums app_copy >"$TMP/sum-copy"
if diff "$TMP/sum-source" "$TMP/sum-copy" >"$TMP/sum-diff"; then
    ok "restored data identical, table by table and large objects"
else
    fail "restored data identical, table by table and large objects"
    sed 's/^/#   /' "$TMP/sum-diff"
fi
check "restored database keeps encoding" test "$(sql postgres -c "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'app_copy'")" = UTF8
check_rc 1 "restore --create into an existing database fails" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/app_copy" --create
grep -q 'already exists' "$TMP/.out" && ok "... saying the database already exists" || fail "... saying the database already exists"
check_rc 0 "restore --clean over the restored database, --jobs 2 (temporary file)" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/app_copy" --clean --jobs 2 --verify
checksums app_copy >"$TMP/sum-copy2"
check "data identical after --clean --jobs 2" diff "$TMP/sum-source" "$TMP/sum-copy2"
check "no temporary dump left behind" bash -c "! ls \${TMPDIR:-/tmp}/lifeboat-pgrestore-* 2>/dev/null | grep -q ."
check_rc 1 "restore into a missing database without --create fails" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/no_such_db"
grep -q 'no_such_db' "$TMP/.out" && ok "... with pg_restore's message" || fail "... with pg_restore's message"

# ---------------------------------------------------------------- 1% change
# the newest 1% of the rows of both big tables change (3,250 of 450,022 rows)
check "change 1% of the rows" sql app \
    -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid > 198000" \
    -c "UPDATE docs SET attrs = jsonb_set(attrs, '{score}', '-1') WHERE id > 247500"
check_rc 0 "second backup" "$LB" -r "$REPO" --json backup --pg "$URL/app" --component database
size2=$(repo_size)
added=$((size2 - size1))
ratio=$(pct "$added" "$first_stored")
note "1% of rows changed: the second dump added $added bytes to the repository = $ratio% of the first dump's $first_stored stored bytes"
if [ "$added" -lt $((first_stored / 10)) ]; then ok "second dump adds < 10% of the first's stored size ($ratio%)"; else
    fail "second dump adds < 10% of the first's stored size ($ratio%)"; fi

# for the record: 1% of rows changed all over the table (every 100th row)
sql app -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0" \
    -c "UPDATE docs SET attrs = jsonb_set(attrs, '{score}', '-2') WHERE id % 100 = 0" >/dev/null
"$LB" -r "$REPO" -q backup --pg "$URL/app" --component database
size3=$(repo_size)
note "1% of rows changed, scattered (every 100th row): added $((size3 - size2)) bytes = $(pct $((size3 - size2)) "$first_stored")% (a 32 KiB chunk holds ~300 rows: nearly every chunk holds a changed row)"
"$LB" -r "$REPO" -q backup --pg "$URL/app" --component database
size4=$(repo_size)
note "unchanged database: added $((size4 - size3)) bytes = $(pct $((size4 - size3)) "$first_stored")% (the first chunk holds the dump's timestamp)"

# ---------------------------------------------------------------- dump chunk profile, copy
# A repository whose dumps are cut like files (1 MiB chunks). copy re-chunks
# the first dump into it; restored from there it is still the source's data.
BIG=$TMP/repo-1m
check "init --dump-chunk-size 512K,1M,8M" "$LB" -r "$BIG" init --kdf-n 1024 -q --dump-chunk-size 512K,1M,8M
first_id=$(json_field "$TMP/b1.json" snapshot_id)
check_rc 0 "copy the first dump into it" env LIFEBOAT_FROM_PASSWORD="$LIFEBOAT_PASSWORD" \
    "$LB" -r "$BIG" --json copy --from-repo "$REPO" "$first_id"
last_output | grep -q '"rechunked": *true' && ok "... chunked again (the dump profiles differ)" ||
    { fail "... chunked again (the dump profiles differ)"; last_output | sed 's/^/#   /'; }
check "the copy keeps the dump profile" test "$("$LB" -r "$BIG" snapshots --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)[-1].get("chunker"))')" = dump
check_rc 0 "check --read-data on the copy" "$LB" -r "$BIG" check --read-data
check_rc 0 "restore the copied dump --create" "$LB" -r "$BIG" restore latest --pg-target "$URL/app_copy3" --create
checksums app_copy3 >"$TMP/sum-copy3"
check "the copied dump restores the source's data" diff "$TMP/sum-source" "$TMP/sum-copy3"
sql postgres -c "DROP DATABASE app_copy3" >/dev/null
# A light scattered change (every 1000th row: 450 rows) costs far less with
# 32 KiB dump chunks than with 1 MiB ones. (Offset 7: the rows updated above,
# aid % 100 = 0, now sit together at the end of their tables.)
"$LB" -r "$BIG" -q backup --pg "$URL/app" --component database
"$LB" -r "$REPO" -q backup --pg "$URL/app" --component database
big1=$(repo_size "$BIG")
small1=$(repo_size)
sql app -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 1000 = 7" \
    -c "UPDATE docs SET attrs = jsonb_set(attrs, '{score}', '-3') WHERE id % 1000 = 7" >/dev/null
"$LB" -r "$BIG" -q backup --pg "$URL/app" --component database
"$LB" -r "$REPO" -q backup --pg "$URL/app" --component database
big_added=$(($(repo_size "$BIG") - big1))
small_added=$(($(repo_size) - small1))
note "0.1% of rows changed, scattered: 32 KiB dump chunks added $small_added bytes ($(pct "$small_added" "$first_stored")%), 1 MiB chunks $big_added bytes"
if [ "$small_added" -lt $((big_added / 2)) ]; then ok "32 KiB dump chunks store a scattered change in under half of what 1 MiB chunks do"; else
    fail "32 KiB dump chunks store a scattered change in under half of what 1 MiB chunks do ($small_added vs $big_added bytes)"; fi

# ---------------------------------------------------------------- consistency under writes
# pgbench writes (updates accounts, inserts history) during the whole backup:
# the row counts must describe exactly the data in the dump
pgbench -n -c 2 -T 600 app >"$TMP/pgbench.log" 2>&1 &
bench_pid=$!
cleanup_hooks+=("kill $bench_pid 2>/dev/null")
sleep 1
check_rc 0 "backup while pgbench writes" "$LB" -r "$REPO" backup --pg "$URL/app" --tag busy
sleep 0.5
kill "$bench_pid" 2>/dev/null
wait "$bench_pid" 2>/dev/null
history=$(latest_meta tables | python3 -c 'import json,sys; print(json.load(sys.stdin)["public.pgbench_history"])')
note "pgbench_history rows in the dump's snapshot: $history; in the database after pgbench stopped: $(sql app -c 'SELECT count(*) FROM pgbench_history')"
check "pgbench wrote during the backup" test "$history" -gt 0
check_rc 0 "restore the busy snapshot --verify (counts match the restored data exactly)" \
    "$LB" -r "$REPO" restore latest --tag busy --pg-target "$URL/app_busy" --create --verify
check "restored history count equals the snapshot's" test "$(sql app_busy -c 'SELECT count(*) FROM pgbench_history')" = "$history"

# Counting must not lock a table before pg_dump holds its own locks: an
# ALTER TABLE arriving meanwhile would queue behind our lock, pg_dump's LOCK
# TABLE behind the ALTER, and our transaction lasts until pg_dump is done. A
# pg_dump that starts 3 s late leaves room for the ALTER.
fake_pg_dump "sleep 3; exec \"$REAL_PG_DUMP\" \"\$@\""
(env PATH="$WRAP:$PATH" timeout 120 "$LB" -r "$REPO" backup --pg "$URL/app" --tag slow >"$TMP/slow.out" 2>&1
    echo $? >"$TMP/slow.rc") &
slow_pid=$!
sleep 1.5
check "ALTER TABLE while pg_dump starts is not blocked by the row counting" \
    sql app -c "SET lock_timeout = '5s'" -c "ALTER TABLE pgbench_branches ADD COLUMN note text"
wait "$slow_pid"
check "... and that backup succeeds" test "$(cat "$TMP/slow.rc")" = 0

# ---------------------------------------------------------------- estimate mode
check_rc 0 "backup --pg-count-rows=estimate" "$LB" -r "$REPO" backup --pg "$URL/app" --pg-count-rows=estimate --tag estimate
check "estimate mode records reltuples" test "$(latest_meta row_counts)" = '"estimate"'

# ---------------------------------------------------------------- failures: no snapshot
before=$(snap_count)
check_rc 1 "backup of a missing database fails" "$LB" -r "$REPO" backup --pg "$URL/no_such_db"
grep -q 'database "no_such_db" does not exist' "$TMP/.out" && ok "... with the server's message" ||
    { fail "... with the server's message"; sed 's/^/#   /' "$TMP/.out"; }
# pg_dump itself fails: a role that may not read one table
sql postgres -c "CREATE ROLE limited LOGIN" >/dev/null
check "create database with an unreadable table" createdb -O postgres locked
sql locked -c "CREATE TABLE open_t (x int); INSERT INTO open_t VALUES (1), (2); GRANT SELECT ON open_t TO limited; CREATE TABLE secret (x int)" >/dev/null
check_rc 1 "pg_dump failing (permission denied) fails the backup" \
    "$LB" -r "$REPO" backup --pg "postgresql://limited@127.0.0.1:$PGPORT/locked"
grep -q 'pg_dump: error: .*permission denied for table secret' "$TMP/.out" && ok "... with pg_dump's own message" ||
    { fail "... with pg_dump's own message"; sed 's/^/#   /' "$TMP/.out"; }
grep -q 'no snapshot was written' "$TMP/.out" && ok "... saying no snapshot was written" || fail "... saying no snapshot was written"
sql locked -c "DROP TABLE secret" >/dev/null
check_rc 0 "a non-superuser can back up what it may read (globals without role passwords)" \
    "$LB" -r "$REPO" backup --pg "postgresql://limited@127.0.0.1:$PGPORT/locked" --tag limited
check "non-superuser snapshot: role_passwords false" test "$(latest_meta role_passwords)" = false
before=$(snap_count)

# a fake pg_dump earlier on PATH damages the real one's output
fake_pg_dump "\"$REAL_PG_DUMP\" \"\$@\" | head -c -5000"
check_rc 1 "truncated dump (last 5000 bytes cut) is refused" env PATH="$WRAP:$PATH" "$LB" -r "$REPO" backup --pg "$URL/app"
grep -q 'verification failed' "$TMP/.out" && ok "... verification failed" || { fail "... verification failed"; sed 's/^/#   /' "$TMP/.out"; }
fake_pg_dump "\"$REAL_PG_DUMP\" \"\$@\" | python3 -c 'import sys; d = bytearray(sys.stdin.buffer.read()); d[0:5] = b\"XXXXX\"; sys.stdout.buffer.write(d)'"
check_rc 1 "dump with a damaged header is refused" env PATH="$WRAP:$PATH" "$LB" -r "$REPO" backup --pg "$URL/app"
grep -q 'verification failed' "$TMP/.out" && ok "... verification failed" || { fail "... verification failed"; sed 's/^/#   /' "$TMP/.out"; }
fake_pg_dump "exec \"$REAL_PG_DUMP\" \"\$@\" --exclude-table-data=docs"
check_rc 1 "dump without one table's data is refused" env PATH="$WRAP:$PATH" "$LB" -r "$REPO" backup --pg "$URL/app"
grep -q 'verification failed: .*TABLE DATA public.docs' "$TMP/.out" && ok "... naming the missing TABLE DATA" ||
    { fail "... naming the missing TABLE DATA"; sed 's/^/#   /' "$TMP/.out"; }
fake_pg_dump "echo 'pg_dump: error: simulated failure' >&2; exit 1"
check_rc 1 "pg_dump exiting 1 fails the backup" env PATH="$WRAP:$PATH" "$LB" -r "$REPO" backup --pg "$URL/app"
grep -q 'simulated failure' "$TMP/.out" && ok "... with pg_dump's message" || fail "... with pg_dump's message"
check "--pg-bin names the programs' directory" bash -c "'$LB' -r '$REPO' backup --pg '$URL/app' --pg-bin '$WRAP' 2>&1 | grep -q 'unable to find .pg_dumpall. in'"
check "no snapshot was written by any failed backup" test "$(snap_count)" = "$before"

# ---------------------------------------------------------------- globals
first_id=$(json_field "$TMP/b1.json" snapshot_id)
check "drop role app_reader" sql postgres -c "DROP ROLE app_reader"
check_rc 0 "restore the first snapshot with --globals (roles first) into a new database" \
    "$LB" -r "$REPO" restore "${first_id:0:8}" --pg-target "host=$PGHOST port=$PGPORT dbname=app_globals" --create --globals
grep -q 'role "postgres" already exists' "$TMP/.out" && ok "psql's errors for existing roles are shown as warnings" ||
    fail "psql's errors for existing roles are shown as warnings"
check "role app_reader is back" test "$(sql postgres -c "SELECT count(*) FROM pg_roles WHERE rolname = 'app_reader'")" = 1
checksums app_globals >"$TMP/sum-globals"
check "data identical in the --globals restore" diff "$TMP/sum-source" "$TMP/sum-globals"

# ---------------------------------------------------------------- exact counts, quoted names
# Row counts are the COPY lines of the stored dump: names that need quoting
# are matched as pg_dump writes them, and a value with a newline in it is
# still one row (COPY escapes it).
sql postgres -c "CREATE DATABASE quoted" >/dev/null
sql quoted -c 'CREATE TABLE "Mixed ""Case"" t" (v text)' \
    -c "INSERT INTO \"Mixed \"\"Case\"\" t\" SELECT 'line' || chr(10) || g FROM generate_series(1, 7) g" \
    -c 'CREATE SCHEMA "select"' -c 'CREATE TABLE "select".x (i int)' \
    -c 'INSERT INTO "select".x SELECT generate_series(1, 3)' -c 'CREATE TABLE empty (i int)' >/dev/null
check_rc 0 "backup of a database with quoted table names" "$LB" -r "$REPO" backup --pg "$URL/quoted" --component quoted
got=$("$LB" -r "$REPO" snapshots --component quoted --json |
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[-1]["meta"]["tables"], sort_keys=True))')
expect='{"\"select\".x": 3, "public.\"Mixed \"\"Case\"\" t\"": 7, "public.empty": 0}'
if [ "$got" = "$expect" ]; then ok "exact counts under quoted names, a newline inside a value, an empty table"; else
    fail "exact counts under quoted names, a newline inside a value, an empty table"; note "want: $expect"; note "got:  $got"; fi

# ---------------------------------------------------------------- passwords
PW='Pw-s3cret-XyZ42'
sql postgres -c "ALTER USER postgres PASSWORD '$PW'" >/dev/null
PWURL="postgresql://postgres:$PW@127.0.0.1:$PGPORT"
fake_pg_dump "printf '%s\n' \"\$*\" >'$TMP/pg_dump.args'; [ \"\$PGPASSWORD\" = '$PW' ] && echo env-ok >>'$TMP/pg_dump.args'; exec \"$REAL_PG_DUMP\" \"\$@\""
PATH="$WRAP:$PATH" "$LB" -r "$REPO" backup --pg "$PWURL/app" --tag password >"$TMP/pw.out" 2>&1 &
lb_pid=$!
: >"$TMP/ps.log"
sleep 0.2
while kill -0 "$lb_pid" 2>/dev/null; do
    ps -eo args >>"$TMP/ps.log"
    sleep 0.05
done
wait "$lb_pid"
check "backup with a password in the URL" test $? -eq 0
check "the process list showed lifeboat and pg_dump" bash -c "grep -q 'lifeboat.*backup --pg' '$TMP/ps.log' && grep -q 'pg_dump.*--snapshot' '$TMP/ps.log'"
check "the password never showed in the process list" bash -c "! grep -q -- '$PW' '$TMP/ps.log'"
check "pg_dump got the password in PGPASSWORD, not its arguments" \
    bash -c "grep -qx env-ok '$TMP/pg_dump.args' && ! grep -q -- '$PW' '$TMP/pg_dump.args'"
check "the password is not in the backup's output" bash -c "! grep -q -- '$PW' '$TMP/pw.out'"
check "the password is not in the snapshot" bash -c "! '$LB' -r '$REPO' snapshots --json | grep -q -- '$PW'"
check_rc 1 "failing backup with a password in the URL" "$LB" -r "$REPO" backup --pg "$PWURL/no_such_db"
check "the password is not in the error" bash -c "! grep -q -- '$PW' '$TMP/.out'"
check_rc 1 "failing restore with a password in the URL" "$LB" -r "$REPO" restore latest --pg-target "$PWURL/no_such_db"
check "the password is not in the restore error" bash -c "! grep -q -- '$PW' '$TMP/.out'"

finish
