#!/usr/bin/env bash
# test_pg_wal_stream.sh - RPO 0 through synchronous WAL streaming
# (lifeboat wal-stream), against real PostgreSQL servers (tests/harness/pg).
#
# Scenario "stream": a server archives through `lifeboat wal-push` and
# streams through `lifeboat wal-stream` (pg_receivewal --synchronous, slot
# "lifeboat"), named in synchronous_standby_names with synchronous_commit =
# on. After a base backup, a row with a unique value is committed; at once
# the server is stopped with `pg_ctl -m immediate` and its data directory
# deleted; wal-stream gets SIGTERM (it uploads the partial segment and exits
# 0); restore --pg-physical --to-latest --start into a new data directory
# must hold the row. pg-check reports the slot; wal-fetch serves the
# streamed partial for a segment that is not in the repository.
#
# Scenario "archive": the same without streaming: the row is lost (the
# segment holding it was never complete, so never archived); the test
# asserts that too and prints what was lost.
. "$(dirname "$0")/lib.sh"

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_receivewal" ]; then
    skip "PostgreSQL server binaries (initdb, pg_receivewal) are not installed"
    finish
fi
HARNESS=$(cd "$(dirname "$0")/../harness/pg" && pwd)
PW=$TMP/password
RUNAS=""
[ "$(id -u)" = 0 ] && RUNAS=postgres
as_pg() { if [ -n "$RUNAS" ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }
[ -n "$RUNAS" ] && PGUSER_OPT=(--pg-user "$RUNAS") || PGUSER_OPT=()
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
echo "$LIFEBOAT_PASSWORD" >"$PW"
chmod 644 "$PW"
unset LIFEBOAT_PASSWORD
export LIFEBOAT_PASSWORD_FILE=$PW

# daemon_stream NAME REPO: the daemon runs the stream of a `stream: true`
# component; its metrics show it connected with the slot's lag; SIGTERM
# stops it (and the stream: the slot goes inactive)
daemon_stream() {
    local name=$1 repo=$2 cfg=$TMP/$1-daemon.yaml state=$TMP/$1-state i d_pid rc=0
    cat >"$cfg" <<EOF
name: stream-test
state: $state
repositories:
  main:
    url: $repo
    password_file: $PW
components:
  db:
    type: postgres-physical
    pg_bin: $PG_BIN
    stream: true
    slot: lifeboat
EOF
    check "$name: config check accepts stream: true" "$LB" config check "$cfg"
    "$LB" daemon --config "$cfg" >"$TMP/$name-daemon.log" 2>&1 &
    d_pid=$!
    cleanup_hooks+=("kill $d_pid 2>/dev/null; wait $d_pid 2>/dev/null")
    local up=""
    for i in $(seq 1 100); do
        "$LB" metrics --config "$cfg" >"$TMP/$name-metrics.txt" 2>/dev/null
        up=$(grep '^lifeboat_wal_stream_connected{component="db"' "$TMP/$name-metrics.txt" | awk '{print $2}')
        [ "$up" = 1 ] && grep -q '^lifeboat_wal_stream_lag_bytes{component="db"' "$TMP/$name-metrics.txt" && break
        sleep 0.2
    done
    if [ "$up" = 1 ] && grep -q '^lifeboat_wal_stream_lag_bytes{component="db"' "$TMP/$name-metrics.txt"; then
        ok "$name: the daemon runs the component's wal-stream: metrics show it connected, with the slot's lag"
        grep '^lifeboat_wal_stream' "$TMP/$name-metrics.txt" | sed 's/^/#   /'
    else
        fail "$name: the daemon runs the component's wal-stream (connected: '$up')"
        sed 's/^/#   daemon: /' "$TMP/$name-daemon.log" | tail -10
    fi
    kill -TERM "$d_pid"
    wait "$d_pid" || rc=$?
    local active
    active=$(sql "SELECT active FROM pg_replication_slots WHERE slot_name = 'lifeboat'")
    if [ "$rc" = 0 ] && [ "$active" = f ]; then ok "$name: daemon stop ends its stream (exit 0, slot inactive)"; else
        fail "$name: daemon stop ends its stream (exit $rc, slot active '$active')"
        sed 's/^/#   daemon: /' "$TMP/$name-daemon.log" | tail -10
    fi
}

# scenario NAME STREAM(0|1): prints the restored value (or nothing) into $TMP/NAME.restored
scenario() {
    local name=$1 stream=$2 repo=$TMP/$1-repo pgdir=$TMP/$1-pg spool=$TMP/$1-spool
    local restored=$TMP/$1-restored value ws_pid="" i
    check "$name: init repository" new_repo "$repo"
    [ -n "$RUNAS" ] && chown -R "$RUNAS": "$repo"
    export LIFEBOAT_REPOSITORY=$repo
    local archive="LIFEBOAT_REPOSITORY=$repo LIFEBOAT_PASSWORD_FILE=$PW $LB wal-push %p"
    if ! PG_ARCHIVE_COMMAND=$archive PG_EXTRA_CONF="synchronous_commit = on
max_replication_slots = 4
max_slot_wal_keep_size = 1GB" bash "$HARNESS/start.sh" "$pgdir" >"$TMP/$name-start.log" 2>&1; then
        fail "$name: start PostgreSQL"
        sed 's/^/#   /' "$TMP/$name-start.log" | tail -20
        return
    fi
    cleanup_hooks+=("bash '$HARNESS/stop.sh' '$pgdir'")
    . "$pgdir/pg.env"
    unset PGDATABASE PGPASSWORD PGSERVICE PGCLIENTENCODING
    sql() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
    sql "CREATE TABLE t (v text)" || fail "$name: create table"
    if [ "$stream" = 1 ]; then
        daemon_stream "$name" "$repo"
        "$LB" wal-stream --pg "" --spool "$spool" --pg-bin "$PG_BIN" -v >"$TMP/$name-stream.log" 2>&1 &
        ws_pid=$!
        cleanup_hooks+=("kill $ws_pid 2>/dev/null; wait $ws_pid 2>/dev/null")
        sql "ALTER SYSTEM SET synchronous_standby_names = 'lifeboat'" && sql "SELECT pg_reload_conf()" >/dev/null
        local state=""
        for i in $(seq 1 150); do
            state=$(sql "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'lifeboat' AND state = 'streaming'")
            [ "$state" = sync ] && break
            sleep 0.2
        done
        if [ "$state" = sync ]; then ok "$name: pg_stat_replication shows lifeboat's stream as sync"; else
            fail "$name: pg_stat_replication shows lifeboat's stream as sync (got '$state')"
            sed 's/^/#   /' "$TMP/$name-stream.log" | tail -20
        fi
        "$LB" pg-check --pg "" >"$TMP/.out" 2>&1
        if grep -q "slot: *lifeboat (physical, active" "$TMP/.out"; then ok "$name: pg-check lists slot lifeboat as active"; else
            fail "$name: pg-check lists slot lifeboat as active"
            sed 's/^/#   /' "$TMP/.out" | tail -20
        fi
    fi
    if [ "$stream" = 0 ]; then
        # an inactive wal-stream slot: the stream is down, pg-check fails
        sql "SELECT pg_create_physical_replication_slot('lifeboat', true)" >/dev/null
        check_rc 1 "$name: pg-check with an inactive slot 'lifeboat' exits 1" "$LB" pg-check --pg ""
        grep -q "FAILING: wal-stream's replication slot 'lifeboat' is inactive" "$TMP/.out" &&
            ok "$name: pg-check says the stream's slot is inactive" || fail "$name: pg-check says the stream's slot is inactive"
        sql "SELECT pg_drop_replication_slot('lifeboat')" >/dev/null
    fi
    check_rc 0 "$name: base backup" "$LB" backup --pg-physical --pg-bin "$PG_BIN"
    value="row-$name-$RANDOM$RANDOM"
    echo "$value" >"$TMP/$name.value"
    # the commit returns: with the stream sync, its WAL is in lifeboat's spool
    sql "INSERT INTO t VALUES ('$value')" || fail "$name: commit the last row"
    as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || fail "$name: pg_ctl -m immediate stop"
    rm -rf "$PGDATA"
    ok "$name: committed '$value', stopped the primary (immediate) and deleted its data directory"
    if [ -n "$ws_pid" ]; then
        kill -TERM "$ws_pid"
        local rc=0
        wait "$ws_pid" || rc=$?
        if [ "$rc" = 0 ]; then ok "$name: wal-stream stops on SIGTERM with exit 0"; else
            fail "$name: wal-stream stops on SIGTERM with exit 0 (exit $rc)"
        fi
        sed 's/^/#   stream: /' "$TMP/$name-stream.log" | tail -12
        grep -q "Sanitizer\|runtime error" "$TMP/$name-stream.log" "$TMP/$name-daemon.log" &&
            fail "$name: sanitizer reports in the stream's or the daemon's log"
        # the segment holding the row is only a streamed partial: wal-fetch serves it
        local part seg
        part=$(ls "$repo/wal" | grep -E '^[0-9A-F]{24}\.[0-9A-F]{8}\.partial$' | sort | tail -n 1)
        seg=${part:0:24}
        if [ -n "$part" ] && [ ! -e "$repo/wal/$seg" ]; then
            ok "$name: the current segment is in the repository as a streamed partial ($part)"
            check_rc 0 "$name: wal-fetch serves the partial as $seg" "$LB" wal-fetch "$seg" "$TMP/$name-fetched"
            [ "$(stat -c %s "$TMP/$name-fetched" 2>/dev/null)" = 16777216 ] && ok "$name: served file has the segment size" ||
                fail "$name: served file has the segment size"
        else
            fail "$name: the current segment is in the repository as a streamed partial"
            ls "$repo/wal" | sed 's/^/#   /'
        fi
        # the recovery window ends at the streamed partial
        "$LB" points --json >"$TMP/$name-points.json" 2>&1
        if grep -q "\"last_segment\": *\"$part\"" "$TMP/$name-points.json"; then
            ok "$name: points: the recovery window ends at the streamed partial"
        else
            fail "$name: points: the recovery window ends at the streamed partial ($part)"
            sed 's/^/#   /' "$TMP/$name-points.json" | head -20
        fi
        # only the partial stays (a restarted wal-stream resumes from it): it is in the repository
        if ls "$spool/recv" | grep -qvE '^[0-9A-F]{24}\.partial$'; then
            fail "$name: no completed segment is left in the spool (holds: $(ls "$spool/recv" | tr '\n' ' '))"
        else
            ok "$name: no completed segment is left in the spool"
        fi
    fi
    # wal-stream ran as root: the server's user reads the repository for restore_command
    [ -n "$RUNAS" ] && chown -R "$RUNAS": "$repo"
    if [ "$stream" = 1 ]; then
        recover_latest "$name" "$repo" "$restored"
        # the second region: copy takes the streamed partial along, and the
        # copy alone recovers the last row too
        local copy=$TMP/$name-copy
        check "$name: init the copy repository" new_repo "$copy"
        check_rc 0 "$name: copy to a second repository" env LIFEBOAT_FROM_PASSWORD_FILE="$PW" \
            "$LB" -r "$copy" copy --from-repo "$repo"
        [ -e "$copy/wal/$part" ] && ok "$name: the copy holds the streamed partial $part" ||
            fail "$name: the copy holds the streamed partial $part"
        [ -n "$RUNAS" ] && chown -R "$RUNAS": "$copy"
        LIFEBOAT_REPOSITORY=$copy recover_latest "$name-copy" "$copy" "$TMP/$name-copy-restored"
    else
        # only the end of the base backup is reachable: an honest restore says so
        check_rc 3 "$name: restore --to-latest without the last segment exits 3 (incomplete)" "$LB" restore \
            --pg-physical --to-latest --pg-data "$TMP/$name-refused" "${PGUSER_OPT[@]}" --pg-bin "$PG_BIN"
        [ ! -e "$TMP/$name-refused/PG_VERSION" ] && ok "$name: ... and wrote no data directory" ||
            fail "$name: ... and wrote no data directory"
        recover_latest "$name" "$repo" "$restored" --allow-partial
    fi
}

# recover_latest NAME REPO DIR [--allow-partial]: restore REPO's newest base
# backup to the latest point into DIR on a free port (archiving off: it must
# not write to the repository), started; DIR's rows in $TMP/NAME.restored
recover_latest() {
    local name=$1 repo=$2 restored=$3 port
    shift 3
    port=$(free_port)
    cleanup_hooks+=("[ -f '$restored/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$restored' -m immediate -w stop >/dev/null 2>&1")
    check_rc 0 "$name: restore --pg-physical --to-latest --start $*" env LIFEBOAT_REPOSITORY="$repo" "$LB" restore \
        --pg-physical --to-latest "$@" --pg-data "$restored" --pg-port "$port" "${PGUSER_OPT[@]}" --pg-bin "$PG_BIN" \
        --pg-set "archive_mode=off" --start --start-timeout 90
    "$PG_BIN/psql" -X -q -A -t -h "$PGHOST" -p "$port" -d postgres -c "SELECT v FROM t" >"$TMP/$name.restored" 2>&1 ||
        fail "$name: query the restored server"
    as_pg "$PG_BIN/pg_ctl" -D "$restored" -m fast -w stop >/dev/null 2>&1
}

# ------------------------------------------------------------------ stream
scenario stream 1
if grep -qx "$(cat "$TMP/stream.value")" "$TMP/stream.restored"; then
    ok "stream: the last committed row is in the recovered cluster (RPO 0)"
else
    fail "stream: the last committed row is in the recovered cluster (RPO 0)"
    sed 's/^/#   /' "$TMP/stream.restored"
fi
if grep -qx "$(cat "$TMP/stream.value")" "$TMP/stream-copy.restored"; then
    ok "stream: ... and in the cluster recovered from the copy (the second region)"
else
    fail "stream: ... and in the cluster recovered from the copy (the second region)"
    sed 's/^/#   /' "$TMP/stream-copy.restored"
fi

# ----------------------------------------------------------------- archive
scenario archive 0
if grep -qx "$(cat "$TMP/archive.value")" "$TMP/archive.restored"; then
    fail "archive only: the last committed row is lost (it was recovered: the test did not show the loss)"
else
    ok "archive only: the last committed row is lost"
    note "archive only lost the committed row '$(cat "$TMP/archive.value")': its segment was never complete, so never archived; streaming kept it"
fi
finish
