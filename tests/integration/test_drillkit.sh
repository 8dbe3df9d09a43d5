#!/usr/bin/env bash
# test_drillkit.sh - src/drill's scratch PostgreSQL servers and database
# verification, driven by tests/harness/lifeboat-drillkit: a scratch server
# starts and answers on its Unix socket; pgverify passes on matching row
# counts (names with dots and quotes included) and fails naming the table
# on a different count, a missing table and an extra one; a failing SQL
# check fails quoting it; pg_amcheck runs and passes; after a normal exit
# and after SIGTERM, SIGINT and SIGHUP sent while the server runs, no
# process of the scratch folder (postmaster and its children) remains and
# the folder is gone; a link out of the folder is not followed by the
# cleanup and a read-only folder inside is removed; as root, the folder's
# parents must be searchable by the server's user.
. "$(dirname "$0")/lib.sh"

K=${LIFEBOAT_BUILD_DIR:-$(dirname "$LB")}/tests/harness/lifeboat-drillkit
if [ ! -x "$K" ]; then
    fail "lifeboat-drillkit is not built ($K)"
    finish
fi
if ! BIN=$("$K" bin-dir 0 2>"$TMP/bin.err"); then
    skip "no PostgreSQL server programs: $(cat "$TMP/bin.err")"
    finish
fi
unset PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE TMPDIR

want=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ "$BIN" = "$want" ]; then ok "bin-dir 0 is the newest installed major ($BIN)"; else fail "bin-dir 0 gave '$BIN', not '$want'"; fi
check_rc 1 "bin-dir 99 fails" "$K" bin-dir 99
if last_output | grep -q "PostgreSQL 99 server programs are not installed.*apt-get install postgresql-99"; then
    ok "the error names the version and the Debian package"
else
    fail "the error names the version and the Debian package"; last_output | sed 's/^/#   /'
fi

cat >"$TMP/setup.sql" <<'SQL'
CREATE TABLE users (id int PRIMARY KEY, name text);
INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 42) g;
CREATE INDEX users_name ON users (name);
CREATE SCHEMA "my.schema";
CREATE TABLE "my.schema"."we""ird.t" (x int);
INSERT INTO "my.schema"."we""ird.t" VALUES (1), (2);
CREATE TABLE orders (id int);
SQL
# the keys as pg_dump's meta writes them: quote_ident(schema).quote_ident(table)
meta() { # users-rows [extra "key": rows pairs]
    printf '{"row_counts": "exact", "tables": {"public.users": %s, "\\"my.schema\\".\\"we\\"\\"ird.t\\"": 2, "public.orders": 0%s}}\n' "$1" "${2:-}"
}
meta 42 >"$TMP/meta-ok.json"
meta 41 >"$TMP/meta-count.json"
meta 42 ', "public.invoices": 7' >"$TMP/meta-missing.json"
printf '{"row_counts": "exact", "tables": {"public.users": 42, "public.orders": 0}}\n' >"$TMP/meta-extra.json"
printf '{"row_counts": "estimate", "tables": {"public.users": 40, "\\"my.schema\\".\\"we\\"\\"ird.t\\"": null, "public.orders": 0}}\n' >"$TMP/meta-estimate.json"

field() { sed -n "s/^$1=//p" "$2" | head -n 1; }
alive() { # pid: a live process (not a zombie)
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null | tr -d ' ')
    [ -n "$st" ] && [ "${st:0:1}" != Z ]
}
# gone DIR PIDS...: no process names DIR, none of PIDS lives, DIR does not exist
gone() {
    local dir=$1 p
    shift
    if pgrep -f "$dir" >/dev/null; then echo "processes of $dir remain: $(pgrep -af "$dir")"; return 1; fi
    for p in "$@"; do
        if alive "$p"; then echo "process $p remains: $(ps -o pid,user,cmd -p "$p" | tail -n 1)"; return 1; fi
    done
    if [ -e "$dir" ]; then echo "$dir remains: $(ls -la "$dir")"; return 1; fi
}
# check_gone "what" OUTPUT-FILE [PIDS...]
check_gone() {
    local what=$1 out=$2 dir
    shift 2
    dir=$(field dir "$out")
    if [ -z "$dir" ]; then fail "$what: no scratch folder was printed"; return; fi
    if msg=$(gone "$dir" "$@"); then ok "$what: no process and no folder remain"; else fail "$what: $msg"; fi
}

# 1. a verification that passes
check_rc 0 "a scratch server starts; verification passes with matching counts, a check and pg_amcheck" \
    "$K" scratch-pg --db app --sql "$TMP/setup.sql" --meta "$TMP/meta-ok.json" \
    --check 'SELECT count(*) FROM users' --amcheck
last_output >"$TMP/ok.out"
for line in "PASS: tables: 3 in the restored database, 3 in the snapshot" \
    "PASS: rows: 3 tables match the snapshot (44 rows, exact counts)" \
    "PASS: check 'SELECT count(*) FROM users': 42" \
    "PASS: pg_amcheck: no corruption" "verify: passed"; do
    if grep -qF "$line" "$TMP/ok.out"; then ok "prints '$line'"; else fail "prints '$line'"; sed 's/^/#   /' "$TMP/ok.out"; fi
done
check_gone "after a normal exit" "$TMP/ok.out"

# 2. failures name the table or quote the check
vfail() { # description file-to-match meta-file check...
    local d=$1 match=$2 m=$3
    shift 3
    local args=(scratch-pg --db app --sql "$TMP/setup.sql")
    [ -n "$m" ] && args+=(--meta "$m")
    for c in "$@"; do args+=(--check "$c"); done
    "$K" "${args[@]}" >"$TMP/v.out" 2>&1
    local rc=$?
    if [ "$rc" -eq 2 ] && grep -qF "$match" "$TMP/v.out" && grep -q "^verify: failed" "$TMP/v.out"; then
        ok "$d"
    else
        fail "$d (exit $rc)"; sed 's/^/#   /' "$TMP/v.out"
    fi
    check_gone "after a failed verification" "$TMP/v.out"
}
vfail "a different row count fails naming the table" "FAIL: rows: table public.users has 42 rows, the snapshot 41" \
    "$TMP/meta-count.json"
vfail "a missing table fails naming it" "FAIL: rows: table public.invoices is missing from the restored database" \
    "$TMP/meta-missing.json"
vfail "a table beyond the snapshot's fails naming it" \
    'FAIL: tables: my.schema.we"ird.t is in the restored database but not in the snapshot' "$TMP/meta-extra.json"
vfail "a failing SQL check fails quoting it and its value" \
    "FAIL: check 'SELECT count(*) = 0 FROM users' failed: f" "" 'SELECT count(*) = 0 FROM users'
vfail "an SQL check that errors fails quoting the query and the error" \
    "FAIL: check 'SELECT count(*) FROM nosuchtable' failed: " "" 'SELECT count(*) FROM nosuchtable'
vfail "an SQL check returning zero fails" "FAIL: check 'SELECT 0' failed: 0" "" 'SELECT 0' 'SELECT 1'
check_rc 0 "estimated counts are reported, not compared" "$K" scratch-pg --db app --sql "$TMP/setup.sql" \
    --meta "$TMP/meta-estimate.json"
if last_output | grep -qF "PASS: rows: 44 in 3 tables; the snapshot holds estimates (40), not compared"; then
    ok "the estimate line gives both totals"
else
    fail "the estimate line gives both totals"; last_output | sed 's/^/#   /'
fi
last_output >"$TMP/estimate.out"
check_gone "after the estimate run" "$TMP/estimate.out"

# 3. signals while the server runs
start_sleeping() { # output-file [more options]: start the tool in the background, wait until its server runs
    local out=$1
    shift
    set -m # job control: a background job would otherwise ignore SIGINT
    "$K" scratch-pg --db app --sql "$TMP/setup.sql" "$@" --sleep 120 >"$out" 2>&1 &
    KPID=$!
    set +m
    for _ in $(seq 1 600); do
        grep -q '^sleeping' "$out" && return 0
        alive "$KPID" || return 1
        sleep 0.1
    done
    return 1
}
check_rc 0 "pg_amcheck --all checks every database and passes" "$K" scratch-pg --db app --sql "$TMP/setup.sql" --amcheck-all
last_output >"$TMP/all.out"
if grep -q "^PASS: pg_amcheck: no corruption" "$TMP/all.out"; then ok "pg_amcheck --all: no corruption"; else fail "pg_amcheck --all: no corruption"; sed 's/^/#   /' "$TMP/all.out"; fi
check_gone "after pg_amcheck --all" "$TMP/all.out"

# pg_amcheck fails, quoting its report, on a table whose page was damaged
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
out=$TMP/damaged.out
rm -f "$TMP/go"
"$K" scratch-pg --db app --sql "$TMP/setup.sql" --amcheck --wait-for "$TMP/go" >"$out" 2>&1 &
KPID=$!
for _ in $(seq 1 600); do grep -q '^waiting' "$out" && break; sleep 0.1; done
data=$(field data "$out")
conn=$(field conn "$out")
rel=$(psql -X -At -d "$conn" -c "SELECT pg_relation_filepath('users')" 2>&1)
# the line pointers after the 24-byte page header: the header stays valid, so
# the server reads the page, and only a check such as amcheck notices. Each
# becomes a normal item (flags 1) at offset 32752, beyond the 8 KiB page.
if as_pg "$BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null &&
    python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(24); f.write(b"\xf0\xff\x20\x00" * 16)' "$data/$rel" &&
    as_pg "$BIN/pg_ctl" -D "$data" -l "$(dirname "$data")/server.log" -w start >/dev/null; then
    ok "damaged the first page of table users ($rel)"
else
    fail "damaged the first page of table users ($rel)"
fi
touch "$TMP/go"
wait "$KPID"
rc=$?
if [ "$rc" -eq 2 ] && grep -q '^FAIL: pg_amcheck: .*public.users' "$out" && grep -q '^verify: failed: verification failed: pg_amcheck' "$out"; then
    ok "pg_amcheck fails on the damaged table, quoting its report"
else
    fail "pg_amcheck fails on the damaged table, quoting its report (exit $rc)"; sed 's/^/#   /' "$out"
fi
check_gone "after a failed pg_amcheck" "$out"

# scratchPgStop: the server is gone before the set is freed
out=$TMP/stop.out
if start_sleeping "$out" --stop; then
    pid=$(field pid "$out")
    if grep -q '^stopped' "$out" && ! alive "$pid"; then ok "scratchPgStop stops the server"; else fail "scratchPgStop stops the server"; sed 's/^/#   /' "$out"; fi
    kill -TERM "$KPID"
    wait "$KPID"
    check_gone "after scratchPgStop and SIGTERM" "$out" "$pid"
else
    fail "the server for scratchPgStop did not start"; sed 's/^/#   /' "$out"
    kill -KILL "$KPID" 2>/dev/null
fi

for sig in TERM INT HUP; do
    out=$TMP/sig-$sig.out
    if ! start_sleeping "$out"; then
        fail "SIG$sig: the scratch server did not start"; sed 's/^/#   /' "$out"
        kill -KILL "$KPID" 2>/dev/null
        continue
    fi
    pid=$(field pid "$out")
    conn=$(field conn "$out")
    kids=$(pgrep -P "$pid" | tr '\n' ' ')
    if [ "$sig" = TERM ]; then
        if [ "$(psql -X -At -d "$conn" -c 'SELECT count(*) FROM users' 2>&1)" = 42 ]; then
            ok "the scratch server answers on its socket"
        else
            fail "the scratch server answers on its socket"
        fi
        if [ -z "$(psql -X -At -d "$conn" -c "SELECT setting FROM pg_settings WHERE name = 'listen_addresses'")" ]; then
            ok "the scratch server listens on no TCP address"
        else
            fail "the scratch server listens on no TCP address"
        fi
    fi
    if alive "$pid" && [ -n "$kids" ]; then ok "SIG$sig: the postmaster $pid and its children run"; else fail "SIG$sig: the postmaster $pid and its children run"; fi
    kill -"$sig" "$KPID"
    wait "$KPID"
    rc=$?
    want=$((128 + $(kill -l "$sig")))
    if [ "$rc" -eq "$want" ]; then ok "SIG$sig: exit status $want"; else fail "SIG$sig: exit status $rc, wanted $want"; sed 's/^/#   /' "$out"; fi
    # shellcheck disable=SC2086
    check_gone "SIG$sig" "$out" "$pid" $kids
done

# a server something else started inside the folder (as the point-in-time
# restore does), adopted: the cleanup stops it too
HARNESS=$(cd "$(dirname "$0")/../harness/pg" && pwd)
out=$TMP/adopt.out
if start_sleeping "$out" --run "'$HARNESS/start.sh' \"\$SCRATCH_DIR/manual\" >/dev/null" --adopt manual; then
    pid=$(field pid "$out")
    adopted=$(field adopted "$out")
    kids="$(pgrep -P "$pid" | tr '\n' ' ') $(pgrep -P "$adopted" | tr '\n' ' ')"
    if alive "$adopted" && [ "$adopted" != "$pid" ]; then ok "an adopted server runs beside the scratch server"; else fail "an adopted server runs beside the scratch server"; sed 's/^/#   /' "$out"; fi
    kill -TERM "$KPID"
    wait "$KPID"
    rc=$?
    if [ "$rc" -eq 143 ]; then ok "SIGTERM with an adopted server: exit status 143"; else fail "SIGTERM with an adopted server: exit status $rc"; fi
    # shellcheck disable=SC2086
    check_gone "SIGTERM with an adopted server" "$out" "$pid" "$adopted" $kids
else
    fail "the adopted server did not start"; sed 's/^/#   /' "$out"
    kill -KILL "$KPID" 2>/dev/null
fi

# 4. the cleanup never follows a link out of the folder; read-only folders go too
mkdir -p "$TMP/outside"
echo keep >"$TMP/outside/precious"
check_rc 0 "a run with a link out of the folder and a read-only folder" \
    "$K" scratch-pg --symlink "escape=$TMP/outside" --readonly "ro/sub"
last_output >"$TMP/link.out"
check_gone "with a link and a read-only folder" "$TMP/link.out"
if [ "$(cat "$TMP/outside/precious" 2>/dev/null)" = keep ]; then ok "the link's target is untouched"; else fail "the link's target is untouched"; fi

# 5. as root: the server's user must be able to enter the folder; as
# another user the server runs as that user, and a read-only folder (which
# only root could empty as it is) is removed too
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && runuser -u postgres -- test -x "$K"; then
    (cd / && runuser -u postgres -- "$K" scratch-pg --readonly ro/sub --amcheck) >"$TMP/user.out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && grep -q "PASS: pg_amcheck" "$TMP/user.out"; then ok "as user postgres: a scratch server starts and verifies"; else fail "as user postgres (exit $rc)"; sed 's/^/#   /' "$TMP/user.out"; fi
    check_gone "as user postgres, with a read-only folder" "$TMP/user.out"
else
    skip "as another user: needs root, a postgres user and a build it can run"
fi
if [ "$(id -u)" = 0 ]; then
    mkdir -p "$TMP/closed/parent"
    chmod 711 "$TMP" # the test's own folder: searchable, so that the closed one is the first refused
    chmod 700 "$TMP/closed"
    check_rc 1 "as root, a parent the server's user cannot enter is refused" "$K" scratch-pg --parent "$TMP/closed/parent"
    if last_output | grep -qF "user 'postgres' cannot enter '$TMP/closed'"; then ok "the error names the directory"; else fail "the error names the directory"; last_output | sed 's/^/#   /'; fi
    if [ -z "$(ls -A "$TMP/closed/parent")" ]; then ok "and leaves nothing behind"; else fail "and leaves nothing behind"; fi
    TMPDIR=$TMP/closed/parent check_rc 0 "as root, a TMPDIR the server's user cannot enter gives way to /tmp" "$K" scratch-pg
    last_output >"$TMP/tmpdir.out"
    if [ "$(field dir "$TMP/tmpdir.out" | cut -c1-20)" = /tmp/lifeboat-drill. ]; then ok "the folder was made in /tmp"; else fail "the folder was made in /tmp"; last_output | sed 's/^/#   /'; fi
    check_gone "after the TMPDIR run" "$TMP/tmpdir.out"
else
    skip "root-only checks of the folder's parents"
fi
finish
