#!/usr/bin/env bash
# test_pg_standby.sh - base backups from a streaming standby, with the
# primary for what a standby cannot do.
#
# A primary archives into the repository; a standby streams from it
# (pg_basebackup -R). backup --pg-physical --pg STANDBY --pg-primary PRIMARY
# takes the base backup from the standby (the snapshot records
# from_standby), calls pg_switch_wal() on the primary and waits until the
# backup's last segment is archived (it is in the repository when backup
# returns). Rows after it with a recorded time; a PITR to that time from the
# repository holds the rows up to it and not the later ones. Refused with a
# clear error: --wal-method none from a standby without --pg-primary, and a
# --pg-primary that names a standby; a backup whose last segment is not
# archived within --archive-wait (the primary's archive_command fails)
# fails naming it and writes no snapshot. components.NAME.primary in the
# configuration file reaches the backup's arguments.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_wal_lib.sh"

SB=$TMP/standby
pg_repo_archiving "$TMP/repo" "$TMP/pg"
ok "start the primary, archiving into the repository"
PRIMARY="host=$PGHOST port=$PGPORT user=postgres dbname=postgres"
sbsql() { "$PG_BIN/psql" -X -q -A -t -h "$SB/run" -p "$SBPORT" -d postgres -c "$1"; }

# ------------------------------------------------------- a streaming standby
SBPORT=$(freeport)
mkdir -p "$SB/run"
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$SB"
if as_pg "$PG_BIN/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U postgres -D "$SB/data" -R -X stream -c fast \
    >"$TMP/sb.log" 2>&1; then
    cat >>"$SB/data/postgresql.conf" <<CONF
port = $SBPORT
unix_socket_directories = '$SB/run'
CONF
    cleanup_hooks+=("[ -f '$SB/data/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$SB/data' -m immediate -w stop >/dev/null 2>&1")
    as_pg "$PG_BIN/pg_ctl" -D "$SB/data" -l "$SB/server.log" -w -t 60 start >>"$TMP/sb.log" 2>&1
fi
if [ "$(sbsql "SELECT pg_is_in_recovery()" 2>/dev/null)" = t ]; then ok "start a streaming standby"; else
    fail "start a streaming standby"
    sed 's/^/#   /' "$TMP/sb.log" | tail -20
    finish
fi
STANDBY="host=$SB/run port=$SBPORT user=postgres dbname=postgres"
# wait until the standby replayed everything the primary wrote so far
caught_up() {
    local want i
    want=$(sql "SELECT pg_current_wal_insert_lsn()")
    for i in $(seq 1 150); do
        [ "$(sbsql "SELECT pg_last_wal_replay_lsn() >= '$want'::pg_lsn")" = t ] && return 0
        sleep 0.2
    done
    return 1
}

# ------------------------------------------------- the backup from the standby
sql "CREATE TABLE batches (batch int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())" >/dev/null
sql "INSERT INTO batches (batch) SELECT 1 FROM generate_series(1, 100)" >/dev/null
caught_up && ok "the standby replayed the first rows" || fail "the standby replayed the first rows"

check_rc 1 "--wal-method none from a standby without --pg-primary is refused" \
    "$LB" backup --pg-physical --pg "$STANDBY" --wal-method none --pg-bin "$PG_BIN"
grep -q "without --pg-primary" "$TMP/.out" && grep -q "cannot switch WAL" "$TMP/.out" && ok "... saying why" ||
    { fail "... saying why"; sed 's/^/#   /' "$TMP/.out"; }
check_rc 1 "a --pg-primary that is a standby is refused" \
    "$LB" backup --pg-physical --pg "$STANDBY" --pg-primary "$STANDBY" --pg-bin "$PG_BIN"
grep -q "names a server in recovery" "$TMP/.out" && ok "... saying why" || { fail "... saying why"; sed 's/^/#   /' "$TMP/.out"; }
[ -z "$(ls "$REPO/snapshots" 2>/dev/null)" ] && ok "no snapshot written by the refused backups" || fail "no snapshot written by the refused backups"

check_rc 0 "backup --pg-physical --pg STANDBY --pg-primary PRIMARY --wal-method none" \
    "$LB" backup --pg-physical --pg "$STANDBY" --pg-primary "$PRIMARY" --wal-method none --pg-bin "$PG_BIN" --json
cp "$TMP/.out" "$TMP/b.json"
if [ "$(jfield "$TMP/b.json" pg from_standby 2>/dev/null)" = True ]; then ok "the snapshot records from_standby"; else
    fail "the snapshot records from_standby"
    sed 's/^/#   /' "$TMP/b.json"
fi
stop=$(jfield "$TMP/b.json" pg stop_lsn 2>/dev/null)
# the segment holding the backup's last byte
stopseg=$(sql "SELECT pg_walfile_name('$stop'::pg_lsn - 1)")
[ -e "$REPO/wal/$stopseg" ] && ok "the backup's last segment $stopseg was archived (by the primary) before backup returned" ||
    fail "the backup's last segment $stopseg was archived before backup returned ($(ls "$REPO/wal" | tr '\n' ' '))"

# ----------------------------------------------------------------- PITR
sql "INSERT INTO batches (batch) SELECT 2 FROM generate_series(1, 100)" >/dev/null
sql "SELECT pg_sleep(1.1)" >/dev/null
T=$(sql "SELECT now()")
sql "SELECT pg_sleep(1.1)" >/dev/null
sql "INSERT INTO batches (batch) SELECT 3 FROM generate_series(1, 100)" >/dev/null
switch_wait && ok "WAL after the backup archived" || fail "WAL after the backup archived"
P2=$(freeport)
cleanup_hooks+=("[ -f '$TMP/r/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$TMP/r' -m immediate -w stop >/dev/null 2>&1")
check_rc 0 "restore --pg-physical --to-time T of the standby's backup, started" \
    "$LB" restore --pg-physical --to-time "$T" --pg-data "$TMP/r" --pg-port "$P2" "${PGUSER_OPT[@]}" \
    --pg-set archive_mode=off --pg-bin "$PG_BIN" --start --start-timeout 120
rows=$(batch_rows "$P2")
[ "$rows" = "1:100 2:100 " ] && ok "the restored server holds batches 1 and 2, not 3" || fail "the restored server holds batches 1 and 2, not 3 ($rows)"
[ -f "$TMP/r/standby.signal" ] && fail "the restored cluster is not left a standby (standby.signal)" || ok "the restored cluster is not left a standby"
stop_dir "$TMP/r"

# ------------------------------- the primary does not archive: bounded wait
sql "ALTER SYSTEM SET archive_command = 'false'" >/dev/null && sql "SELECT pg_reload_conf()" >/dev/null
nsnap=$(ls "$REPO/snapshots" | wc -l)
sql "INSERT INTO batches (batch) SELECT 5 FROM generate_series(1, 10)" >/dev/null
caught_up
check_rc 1 "a backup whose last segment is not archived within --archive-wait fails" \
    "$LB" backup --pg-physical --pg "$STANDBY" --pg-primary "$PRIMARY" --archive-wait 3 --pg-bin "$PG_BIN"
grep -q "was not archived into the repository within 3 s after pg_switch_wal() on the primary; no snapshot written" "$TMP/.out" &&
    [ "$(ls "$REPO/snapshots" | wc -l)" = "$nsnap" ] && ok "... naming the segment, and no snapshot written" ||
    { fail "... naming the segment, and no snapshot written"; sed 's/^/#   /' "$TMP/.out"; }
sql "ALTER SYSTEM RESET archive_command" >/dev/null && sql "SELECT pg_reload_conf()" >/dev/null

# ------------------------------------------- the configuration file's primary
cat >"$TMP/lifeboat.yaml" <<EOF
repositories:
  main:
    url: $REPO
    password_file: $PW
components:
  db:
    type: postgres-physical
    repository: main
    connection: "$STANDBY"
    primary: "$PRIMARY"
EOF
check_rc 0 "config show with components.db.primary" "$LB" config show "$TMP/lifeboat.yaml"
grep -A1 -- '"--pg-primary"' "$TMP/.out" | grep -qF "$PRIMARY" && ok "... which reaches the backup's arguments as --pg-primary" ||
    { fail "... which reaches the backup's arguments as --pg-primary"; sed 's/^/#   /' "$TMP/.out"; }

finish
