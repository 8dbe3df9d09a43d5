# tests/integration/pg_wal_lib.sh - helpers for the tests that run a real
# PostgreSQL server archiving into a repository, then restore it and start
# the restored servers (sourced after lib.sh). Builds on pg_archive.sh (PG_BIN,
# RUNAS, as_pg, freeport, jfield, sql, wait_archived, switch_wait; skips the
# test without the server binaries) and adds:
#   PGUSER_OPT            --pg-user for restore (when root)
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
#   stop_dir DIR          stop a restored server in DIR (fast)
#   batch_rows PORT       "B:COUNT " per batch of table batches on 127.0.0.1:PORT
#   start_printed PORT PRINTED
#                         run a printed "pg_ctl -D ... start", wait for promotion

. "$(dirname "${BASH_SOURCE[0]}")/pg_archive.sh"
[ -n "$RUNAS" ] && PGUSER_OPT=(--pg-user "$RUNAS") || PGUSER_OPT=()

pg_start_archiving() { pg_start "$1" "$2" "" "start PostgreSQL archiving through lifeboat wal-push"; }
pg_repo_archiving() {
    REPO=$1 PW=$TMP/password
    pg_repo "$REPO" "$PW"
    pg_start_archiving "$2" "LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$PW $LB wal-push %p"
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
