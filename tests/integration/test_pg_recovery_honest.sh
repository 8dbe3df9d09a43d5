#!/usr/bin/env bash
# test_pg_recovery_honest.sh - restore --pg-physical tells the truth about
# what recovery can reach, and the restore_command it writes works alone.
#
# A real PostgreSQL server archives into a local repository; a base backup
# and no WAL after it: restore --to-latest exits 3 naming the point it could
# reach (an LSN and segment) and writes nothing; with --allow-partial it
# exits 0. Rows and two more segments: restore --to-latest without --start,
# then the printed `pg_ctl -D DIR start`, as the server's user with a bare
# environment (no LIFEBOAT_*, no PG*), recovers every row. A restore_command
# that cannot deliver a segment in the middle of the chain (--restore-command
# refusing one name) makes recovery end early: with --start the restore
# exits 3 naming the LSN the server stopped at. A segment missing from the
# repository with later ones present: exit 3 naming it. A restore_command
# that cannot work for the server's user (wal/ unreadable to it) is found
# before anything is written (exit 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_wal_lib.sh"

pg_repo_archiving "$TMP/repo" "$TMP/pg"
ok "start PostgreSQL archiving into the repository"
# restored servers must not archive into the repository (a new timeline there
# would be followed by later restores)
NOARCH=(--pg-set archive_mode=off)
rows_at() { "$PG_BIN/psql" -X -A -t -h 127.0.0.1 -p "$1" -d postgres -c "SELECT count(*) FROM t" 2>&1; }

# ------------------------------------------- a base backup, no WAL after it
sql "CREATE TABLE t (i int)" >/dev/null
sql "INSERT INTO t SELECT generate_series(1, 10)" >/dev/null
check_rc 0 "backup --pg-physical" "$LB" backup --pg-physical --pg-bin "$PG_BIN" --json
stopseg=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["pg"]; print(d["stop_lsn"])' "$TMP/.out")
stopwal=$(sql "SELECT pg_walfile_name('$stopseg')")
wait_archived "$stopwal" && ok "the backup's last segment $stopwal is archived" || fail "the backup's last segment $stopwal is archived"

check_rc 3 "restore --to-latest with no WAL after the backup exits 3" \
    "$LB" restore --pg-physical --to-latest --pg-data "$TMP/r1" "${PGUSER_OPT[@]}"
if grep -q "can only reach LSN [0-9A-F]*/[0-9A-F]* (the end of segment $stopwal" "$TMP/.out" &&
    grep -q "no WAL after the end of base backup" "$TMP/.out" && [ ! -e "$TMP/r1" ]; then
    ok "... naming the point it reaches (LSN, segment), and nothing written"
else
    fail "... naming the point it reaches, and nothing written"
    sed 's/^/#   /' "$TMP/.out"
fi
check_rc 3 "the default target (latest) too" "$LB" restore --pg-physical --pg-data "$TMP/r1" "${PGUSER_OPT[@]}"
check_rc 3 "--json: exit 3 too" "$LB" restore --pg-physical --pg-data "$TMP/r1" "${PGUSER_OPT[@]}" --json
grep -q '"incomplete"' "$TMP/.out" && ok "... with the error kind 'incomplete'" || { fail "... with the error kind 'incomplete'"; sed 's/^/#   /' "$TMP/.out"; }
P1=$(freeport)
cleanup_hooks+=("stop_dir '$TMP/r1'")
check_rc 0 "--allow-partial: exit 0, and the server recovers to the end of the backup" \
    "$LB" restore --pg-physical --to-latest --allow-partial --pg-data "$TMP/r1" --pg-port "$P1" "${PGUSER_OPT[@]}" \
    "${NOARCH[@]}" --pg-bin "$PG_BIN" --start --start-timeout 120
grep -q "warning: recovery can only reach LSN" "$TMP/.out" && ok "... with a warning naming the point" || { fail "... with a warning naming the point"; sed 's/^/#   /' "$TMP/.out"; }
[ "$(rows_at "$P1")" = 10 ] && ok "... holding the backup's rows" || fail "... holding the backup's rows ($(rows_at "$P1"))"
stop_dir "$TMP/r1"

# ------------------------ more WAL; the printed command alone recovers it
sql "INSERT INTO t SELECT generate_series(11, 20)" >/dev/null
switch_wait && sql "INSERT INTO t SELECT generate_series(21, 30)" >/dev/null && switch_wait &&
    sql "CREATE TABLE nudge AS SELECT 1" >/dev/null && switch_wait && ok "three more segments archived" || fail "three more segments archived"
P2=$(freeport)
cleanup_hooks+=("stop_dir '$TMP/r2'")
check_rc 0 "restore --to-latest without --start" "$LB" restore --pg-physical --to-latest --pg-data "$TMP/r2" \
    --pg-port "$P2" "${PGUSER_OPT[@]}" "${NOARCH[@]}"
cp "$TMP/.out" "$TMP/r2.out"
printed=$(grep -A1 "Start the server" "$TMP/r2.out" | tail -1 | sed 's/^ *//')
if [[ "$printed" == "pg_ctl -D $TMP/r2 -l "* ]]; then ok "it prints the command to start the server"; else fail "it prints the command to start the server ($printed)"; sed 's/^/#   /' "$TMP/r2.out"; fi
grep -q "The archived WAL reaches LSN" "$TMP/r2.out" && ok "... and the point the archived WAL reaches" || fail "... and the point the archived WAL reaches"
if grep -q "restore_command = " "$TMP/r2/postgresql.auto.conf" && ! grep -qF "$(cat "$PW")" "$TMP/r2/postgresql.auto.conf"; then
    ok "restore_command is written, without the password"
else fail "restore_command is written, without the password"; fi
# as the server's user, with a bare environment: nothing from this shell
start_printed "$P2" "$printed"
n=$(rows_at "$P2")
[ "$n" = 30 ] && ok "pg_ctl start as printed (bare environment) recovers every row" ||
    { fail "pg_ctl start as printed (bare environment) recovers every row ($n)"; sed 's/^/#   /' "$TMP/pgctl.out"; tail -n 15 "$TMP/r2/"*.log 2>/dev/null | sed 's/^/#   /'; }
stop_dir "$TMP/r2"

# ------------------- recovery that ends early is found after --start
segs=$(ls "$REPO/wal" | grep -E '^00000001[0-9A-F]{16}$' | sort | awk -v s="$stopwal" '$0 > s')
middle=$(echo "$segs" | head -1)
note "segments after the backup: $(echo $segs)"
RC="test %f != $middle && LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$PW $LB wal-fetch %f %p"
P3=$(freeport)
cleanup_hooks+=("stop_dir '$TMP/r3'")
check_rc 3 "a restore_command that cannot deliver $middle: --to-latest --start exits 3" \
    "$LB" restore --pg-physical --to-latest --pg-data "$TMP/r3" --pg-port "$P3" "${PGUSER_OPT[@]}" "${NOARCH[@]}" \
    --restore-command "$RC" --pg-bin "$PG_BIN" --start --start-timeout 120
grep -q "recovery ended at LSN [0-9A-F]*/[0-9A-F]*.*before the archived WAL's newest segment" "$TMP/.out" &&
    ok "... naming the LSN the server stopped at" || { fail "... naming the LSN the server stopped at"; sed 's/^/#   /' "$TMP/.out"; }
stop_dir "$TMP/r3"

# ----------------------------------------- a segment missing in the chain
mv "$REPO/wal/$middle" "$TMP/middle.saved"
check_rc 3 "a segment missing between the backup and later ones: exit 3" \
    "$LB" restore --pg-physical --to-latest --pg-data "$TMP/r4" "${PGUSER_OPT[@]}"
grep -q "segment $middle is missing" "$TMP/.out" && [ ! -e "$TMP/r4" ] && ok "... naming it, nothing written" ||
    { fail "... naming it, nothing written"; sed 's/^/#   /' "$TMP/.out"; }
mv "$TMP/middle.saved" "$REPO/wal/$middle"

# ---------------------------- a restore_command that cannot work is caught
if [ -n "$RUNAS" ]; then
    chown root: "$REPO/wal" && chmod 700 "$REPO/wal"
    check_rc 1 "a restore_command the server's user cannot run is refused before anything is written" \
        "$LB" restore --pg-physical --to-latest --pg-data "$TMP/r5" "${PGUSER_OPT[@]}"
    grep -q "restore_command written for the server does not work" "$TMP/.out" && [ ! -e "$TMP/r5" ] &&
        ok "... saying so, with the command's own message" || { fail "... saying so"; sed 's/^/#   /' "$TMP/.out"; }
    chown "$RUNAS": "$REPO/wal" && chmod 755 "$REPO/wal"
else
    skip "not root: the server runs as this user"
fi

finish
