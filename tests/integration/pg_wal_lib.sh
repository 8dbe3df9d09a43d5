# tests/integration/pg_wal_lib.sh - helpers for the tests that run a real
# PostgreSQL server archiving into a repository (sourced after lib.sh).
#
# Sets PG_BIN (skips the test without the server binaries), RUNAS (postgres
# when root), PGUSER_OPT (--pg-user for restore) and defines:
#   as_pg CMD...          run as the server's user
#   freeport              a free TCP port on 127.0.0.1
#   jfield FILE KEY...    a field of a JSON file
#   pg_start_archiving DIR ARCHIVE_COMMAND
#                         start a server in DIR (tests/harness/pg) that archives
#                         with ARCHIVE_COMMAND, stopped at exit; sources its
#                         pg.env (finish on failure)
#   pg_repo_archiving REPO DIR
#                         a repository REPO whose password is in the file
#                         $TMP/password (readable by the server's user, and
#                         exported with REPO as LIFEBOAT_PASSWORD_FILE /
#                         LIFEBOAT_REPOSITORY; REPO and PW are set), and a
#                         server in DIR archiving into it
#   sql SQL               run SQL on that server (no output but the result)
#   wait_archived SEG     until pg_stat_archiver archived SEG or later
#   switch_wait           pg_switch_wal() and wait until the segment is archived
#   stop_dir DIR          stop a restored server in DIR (fast)
#   batch_rows PORT       "B:COUNT " per batch of table batches on 127.0.0.1:PORT

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    skip "PostgreSQL server binaries are not installed"
    finish
fi
PG_HARNESS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../harness/pg" && pwd)
RUNAS=""
[ "$(id -u)" = 0 ] && RUNAS=postgres
[ -n "$RUNAS" ] && PGUSER_OPT=(--pg-user "$RUNAS") || PGUSER_OPT=()

as_pg() { if [ -n "$RUNAS" ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
jfield() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [d := d[k] for k in sys.argv[2:]]; print(d)' "$@"; }

pg_start_archiving() {
    local dir=$1 archive=$2
    if ! PG_ARCHIVE_COMMAND=$archive bash "$PG_HARNESS/start.sh" "$dir" >"$TMP/pg-start.log" 2>&1; then
        fail "start PostgreSQL"
        tail -20 "$TMP/pg-start.log" | sed 's/^/#   /'
        finish
    fi
    cleanup_hooks+=("bash '$PG_HARNESS/stop.sh' '$dir'")
    . "$dir/pg.env"
}
pg_repo_archiving() {
    REPO=$1 PW=$TMP/password
    echo "$LIFEBOAT_PASSWORD" >"$PW"
    chmod 644 "$PW"
    check "init repository" new_repo "$REPO"
    unset LIFEBOAT_PASSWORD
    export LIFEBOAT_PASSWORD_FILE=$PW LIFEBOAT_REPOSITORY=$REPO
    [ -n "$RUNAS" ] && chown -R "$RUNAS": "$REPO"
    pg_start_archiving "$2" "LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$PW $LB wal-push %p"
}
sql() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
wait_archived() {
    local want=$1 i got
    for i in $(seq 1 150); do
        got=$(sql "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        [ -n "$got" ] && [[ ! "$got" < "$want" ]] && return 0
        sleep 0.2
    done
    return 1
}
# (pg_switch_wal() returns the end of the segment it closed, plus one: its
# file name is that segment's, also when nothing was written since the last
# switch; pg_current_wal_lsn() could lag behind unflushed commits)
switch_wait() {
    local last
    last=$(sql "SELECT pg_walfile_name(pg_switch_wal())")
    wait_archived "$last"
}
stop_dir() { [ -f "$1/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1; }
batch_rows() {
    "$PG_BIN/psql" -X -A -t -h 127.0.0.1 -p "$1" -d postgres \
        -c "SELECT batch || ':' || count(*) FROM batches GROUP BY batch ORDER BY batch" 2>&1 | tr '\n' ' '
}
# start_printed PORT PRINTED: run the printed "pg_ctl -D ... start" as the
# server's user with a bare environment, then wait until it left recovery
start_printed() {
    local port=$1 printed=$2 i
    as_pg env -i PATH=/usr/bin:/bin HOME=/ sh -c "cd / && $PG_BIN/$printed -w -t 120" >"$TMP/pgctl.out" 2>&1
    for i in $(seq 1 150); do
        [ "$("$PG_BIN/psql" -X -A -t -h 127.0.0.1 -p "$port" -d postgres -c "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && return 0
        sleep 0.2
    done
    return 1
}
