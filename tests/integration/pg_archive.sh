# pg_archive.sh - shared by the tests of physical PostgreSQL backups (sourced
# after lib.sh): an encrypted repository whose password the server's user
# reads from a file, and a throwaway server (tests/harness/pg) archiving into
# it through `lifeboat wal-push`.
#
#   PG_BIN, HARNESS, RUNAS      the server binaries, the harness, the server's user (root runs it as postgres)
#   as_pg CMD...                run as the server's user
#   now, elapsed T0 T1, jfield FILE KEY...
#   pg_repo REPO PW             init REPO, the password in file PW (mode 644); exports
#                               LIFEBOAT_REPOSITORY and LIFEBOAT_PASSWORD_FILE
#   pg_start DIR ARCHIVE [EXTRA_CONF] [WHAT]
#                               start the server with archive_command ARCHIVE (an "ok"
#                               line WHAT), stop it at exit; then sql, archived and
#                               wait_archived SEGMENT are defined
#   switch_wait                 pg_switch_wal() and wait until the segment it ended
#                               (then in SWITCHED) is archived
#   freeport                    a free TCP port on 127.0.0.1
# Without the server binaries the test is skipped. pg_wal_lib.sh adds the
# helpers of the tests that restore and start servers.

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    skip "PostgreSQL server binaries are not installed"
    finish
fi
HARNESS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../harness/pg" && pwd)
RUNAS=""
[ "$(id -u)" = 0 ] && RUNAS=postgres
as_pg() { if [ -n "$RUNAS" ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }
now() { date +%s.%N; }
elapsed() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
jfield() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [d := d[k] for k in sys.argv[2:]]; print(d)' "$@"; }

pg_repo() {
    local repo=$1 pw=$2
    # the password travels as a file the server's user can read: never as a value
    echo "$LIFEBOAT_PASSWORD" >"$pw"
    chmod 644 "$pw"
    check "init repository" new_repo "$repo"
    unset LIFEBOAT_PASSWORD
    export LIFEBOAT_PASSWORD_FILE=$pw LIFEBOAT_REPOSITORY=$repo
    [ -n "$RUNAS" ] && chown -R "$RUNAS": "$repo"
}

pg_start() {
    local dir=$1 archive=$2 extra=${3:-} what=${4:-start PostgreSQL with archive_command = lifeboat wal-push}
    if ! PG_ARCHIVE_COMMAND=$archive PG_EXTRA_CONF=$extra bash "$HARNESS/start.sh" "$dir" >"$TMP/start.log" 2>&1; then
        fail "start PostgreSQL"
        sed 's/^/#   /' "$TMP/start.log" | tail -20
        finish
    fi
    cleanup_hooks+=("bash '$HARNESS/stop.sh' '$dir'")
    ok "$what"
    . "$dir/pg.env"
}

sql() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
archived() { sql "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"; }
# wait_archived SEGMENT: until pg_stat_archiver has archived it (or later)
wait_archived() {
    local want=$1 i got
    for i in $(seq 1 150); do
        got=$(archived)
        [ -n "$got" ] && [[ ! "$got" < "$want" ]] && return 0
        sleep 0.2
    done
    return 1
}
# The segment is named from pg_switch_wal's own result (the end of the
# segment it completed, also when nothing was written since the last
# switch): with synchronous_commit = off (the harness), the write position
# before the switch may still sit at the start of the segment, where
# pg_walfile_name(pg_current_wal_lsn()) names the previous one, already archived.
# SWITCHED is set to the segment's name.
switch_wait() {
    SWITCHED=$(sql "SELECT pg_walfile_name(pg_switch_wal())")
    wait_archived "$SWITCHED"
}
