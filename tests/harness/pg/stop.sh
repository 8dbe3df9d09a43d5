#!/usr/bin/env bash
# tests/harness/pg/stop.sh DIR [--rm] - stop the server started by start.sh
# (fast shutdown); idempotent; --rm also deletes DIR.
set -u
DIR=${1:?usage: stop.sh DIR [--rm]}
[ -f "$DIR/pg.env" ] && . "$DIR/pg.env"
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -f "$DIR/data/postmaster.pid" ]; then
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1
    else
        "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1
    fi
fi
[ "${2:-}" = --rm ] && rm -rf "$DIR"
exit 0
