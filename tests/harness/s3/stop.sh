#!/bin/bash
# tests/harness/s3/stop.sh DIR [--rm]
#
# Stops the daemons that tests/harness/s3/start.sh DIR started (adapted from
# the shared S3 notes' stop-ceph-rgw.sh) (radosgw, then ceph-osd,
# ceph-mgr, ceph-mon), by the PIDs in DIR/run/*.pid only, and only after
# checking that each PID is still a ceph daemon started with DIR/ceph.conf.
# SIGTERM first, SIGKILL after CEPH_STOP_TIMEOUT seconds (default 15).
# With --rm, deletes DIR afterwards.
set -uo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 DIR [--rm]" >&2
    exit 2
fi
DIR=$1
RM=${2:-}
TIMEOUT=${CEPH_STOP_TIMEOUT:-15}
[ -d "$DIR" ] || { echo "s3-stop: $DIR does not exist" >&2; exit 0; }
DIR=$(cd "$DIR" && pwd)
CONF=$DIR/ceph.conf
rc=0

ours() { # ours PID -> 0 if PID is a ceph daemon of this DIR
    local pid=$1 cmd
    [ -r "/proc/$pid/cmdline" ] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
    case "$cmd" in
        *ceph-mon*"$CONF"* | *ceph-osd*"$CONF"* | *ceph-mgr*"$CONF"* | *radosgw*"$CONF"*) return 0 ;;
    esac
    return 1
}

stop_one() { # stop_one NAME (pid file DIR/run/NAME.pid)
    local name=$1 pidf=$DIR/run/$1.pid pid i
    [ -f "$pidf" ] || return 0
    pid=$(cat "$pidf" 2>/dev/null)
    if [ -z "$pid" ] || ! ours "$pid"; then
        rm -f "$pidf"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < TIMEOUT * 10; i++)); do
        ours "$pid" || { rm -f "$pidf"; echo "stopped $name (pid $pid)"; return 0; }
        sleep 0.1
    done
    echo "s3-stop: $name (pid $pid) ignored SIGTERM for ${TIMEOUT}s, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        ours "$pid" || { rm -f "$pidf"; return 0; }
        sleep 0.1
    done
    echo "s3-stop: $name (pid $pid) still alive" >&2
    rc=1
}

stop_one client.rgw.gw
for f in "$DIR"/run/osd.*.pid; do [ -f "$f" ] && stop_one "$(basename "$f" .pid)"; done
for f in "$DIR"/run/mgr.*.pid; do [ -f "$f" ] && stop_one "$(basename "$f" .pid)"; done
for f in "$DIR"/run/mon.*.pid; do [ -f "$f" ] && stop_one "$(basename "$f" .pid)"; done

if [ "$RM" = --rm ] && [ $rc = 0 ]; then
    rm -rf "$DIR"
fi
exit $rc
