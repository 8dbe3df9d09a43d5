#!/usr/bin/env bash
# tests/harness/pg/start.sh DIR [PORT] - start a throwaway PostgreSQL server
# from Debian's packages in DIR: initdb, a Unix socket in DIR/run, a free TCP
# port on 127.0.0.1, archive_mode=on. Writes DIR/pg.env (PGHOST, PGPORT,
# PGUSER, PGDATA, PG_BIN, PG_RUNAS) and prints "READY port=PORT".
# As root the server runs as the 'postgres' user (PostgreSQL refuses root).
# Knobs: PG_ARCHIVE_COMMAND (default: archiving on, command '/bin/true'),
# PG_EXTRA_CONF (lines appended to postgresql.conf).
set -euo pipefail
DIR=${1:?usage: start.sh DIR [PORT]}
PORT=${2:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PG_BIN/initdb" ] || { echo "missing: PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }
[ -e "$DIR/data/PG_VERSION" ] && { echo "refusing: $DIR already holds a cluster" >&2; exit 1; }
mkdir -p "$DIR/data" "$DIR/run"
DIR=$(readlink -f "$DIR")
RUNAS=""
if [ "$(id -u)" = 0 ]; then
    RUNAS=postgres
    chown -R postgres: "$DIR"
    chmod 755 "$DIR"
    # the server user must be able to reach DIR (test dirs are often 0700)
    p=$(dirname "$DIR")
    while [ "$p" != / ]; do
        runuser -u postgres -- test -x "$p" || chmod o+x "$p"
        p=$(dirname "$p")
    done
fi
as_pg() { if [ -n "$RUNAS" ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }
as_pg "$PG_BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-locale >"$DIR/initdb.log" 2>&1 ||
    { cat "$DIR/initdb.log" >&2; exit 1; }
cat >>"$DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR/run'
wal_level = replica
archive_mode = on
archive_command = '${PG_ARCHIVE_COMMAND:-/bin/true}'
archive_timeout = 0
max_wal_senders = 4
fsync = off
synchronous_commit = off
full_page_writes = on
shared_buffers = 64MB
max_connections = 30
logging_collector = off
log_min_messages = warning
${PG_EXTRA_CONF:-}
CONF
as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >/dev/null ||
    { tail -n 30 "$DIR/server.log" >&2; exit 1; }
cat >"$DIR/pg.env" <<ENV
export PGHOST=$DIR/run
export PGPORT=$PORT
export PGUSER=postgres
export PGDATA=$DIR/data
export PG_BIN=$PG_BIN
export PG_RUNAS=$RUNAS
ENV
echo "READY port=$PORT dir=$DIR"
