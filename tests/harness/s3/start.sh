#!/bin/bash
# tests/harness/s3/start.sh DIR [PORT]
#
# The test harness's S3 server: a throw-away, single-node Ceph cluster (1 mon,
# 1 osd, no mgr) plus a RADOS Gateway serving S3 on http://127.0.0.1:PORT, with
# every file (config, mon store, osd store, logs, sockets, pid files) inside
# DIR. Everything binds to 127.0.0.1 only. Adapted from the recipe in the
# shared S3 notes (start-ceph-rgw.sh); stop it with tests/harness/s3/stop.sh.
#
# Needs (Debian 12, ceph 16.2), as root (the Makefile's DEBS install them):
#   apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common curl uuid-runtime
# Without PORT a free one is picked in 20000-39999 (PORT and PORT+1 free).
# Ports used, all on 127.0.0.1: PORT (S3), PORT+1 (mon, msgr2), and 4 free
# ports in PORT+10..PORT+60 (osd).
# DIR must not contain spaces. A new, empty (or absent) DIR per cluster.
#
# Environment knobs:
#   CEPH_OBJECTSTORE=memstore|bluestore  (default memstore: RAM-backed, fastest)
#   CEPH_MEMSTORE_SIZE=4G                (capacity the memstore OSD reports; RAM is
#                                         only used for what is actually stored)
#   CEPH_BLUESTORE_SIZE=4G               (sparse file DIR/osd/ceph-0.block)
#   CEPH_WITH_MGR=0|1                    (default 0: RGW does not need a mgr)
#   CEPH_MON_PORT=...                    (default PORT+1; msgr2 only)
#   S3_ACCESS_KEY / S3_SECRET_KEY        (default test-access-key / test-secret-key)
#   S3_UID                               (default testuser)
#   S3_TCP_NODELAY=0|1                   (default 0; 1: RGW sends without Nagle's delay:
#                                         otherwise an answer's body waits ~40 ms for
#                                         the client's delayed ACK of its headers)
#
# On success prints "READY endpoint=http://127.0.0.1:PORT seconds=N" (never
# the secret key), writes DIR/s3.env (S3_ENDPOINT, S3_ACCESS_KEY,
# S3_SECRET_KEY, S3_REGION; mode 0600) and exits 0, leaving ceph-mon,
# ceph-osd and radosgw running in the background.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 DIR [PORT]" >&2
    exit 2
fi
DIR=$1
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ $# -eq 2 ]; then
    PORT=$2
else
    PORT=
    for _ in $(seq 1 50); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 20000))
        if port_free "$p" && port_free $((p + 1)); then PORT=$p; break; fi
    done
    if [ -z "$PORT" ]; then echo "start.sh: no free port found" >&2; exit 1; fi
fi
MON_PORT=${CEPH_MON_PORT:-$((PORT + 1))}
OBJECTSTORE=${CEPH_OBJECTSTORE:-memstore}
BLUESTORE_SIZE=${CEPH_BLUESTORE_SIZE:-4G}
MEMSTORE_SIZE=${CEPH_MEMSTORE_SIZE:-4G}
WITH_MGR=${CEPH_WITH_MGR:-0}
ACCESS_KEY=${S3_ACCESS_KEY:-test-access-key}
SECRET_KEY=${S3_SECRET_KEY:-test-secret-key}
S3_UID=${S3_UID:-testuser}
# ms ports for osd/mgr: keep them away from PORT/MON_PORT
MS_PORT_MIN=${CEPH_MS_PORT_MIN:-$((PORT + 10))}
MS_PORT_MAX=${CEPH_MS_PORT_MAX:-$((PORT + 60))}

T0=$(date +%s.%N)
elapsed() { awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{printf "%.2f", a-b}'; }
log() { echo "[s3-start $(elapsed)s] $*" >&2; }
HERE=$(cd "$(dirname "$0")" && pwd)
STARTED=0
die() {
    log "ERROR: $*"
    if [ "$STARTED" = 1 ]; then "$HERE/stop.sh" "$DIR" >&2 || true; fi
    for f in "$DIR"/log/*.log; do
        [ -f "$f" ] || continue
        echo "----- tail $f" >&2
        tail -n 20 "$f" >&2
    done
    exit 1
}

missing=""
for c in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen curl numfmt sha256sum; do
    command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
[ "$WITH_MGR" = 1 ] && ! command -v ceph-mgr >/dev/null 2>&1 && missing="$missing ceph-mgr"
[ -z "$missing" ] || die "missing:$missing (apt-get install -y ceph-mon ceph-osd radosgw ceph-common curl uuid-runtime)"
case "$DIR" in *[[:space:]]*) die "DIR must not contain spaces (ceph.conf paths)";; esac

for p in "$PORT" "$MON_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        die "port 127.0.0.1:$p is already in use (PORT=$PORT, mon port=$MON_PORT)"
    fi
done

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ -e "$DIR/ceph.conf" ]; then
    die "$DIR already holds a cluster (ceph.conf exists); run tests/harness/s3/stop.sh $DIR and use an empty DIR"
fi
mkdir -p "$DIR"/{mon,osd,mgr,log,run,crash,tmp}
STARTED=1

FSID=$(uuidgen)
CONF=$DIR/ceph.conf
export CEPH_CONF=$CONF
# never let a client wander off to /etc/ceph
export CEPH_ARGS="--conf $CONF"

cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr1 = false
ms bind msgr2 = true
ms bind port min = $MS_PORT_MIN
ms bind port max = $MS_PORT_MAX

auth cluster required = none
auth service required = none
auth client required = none
# radosgw defaults to ms_mon_client_mode=secure + auth_client_required=cephx;
# with auth none that makes it fail with "get_initial_auth_request returned -13"
ms mon client mode = crc
ms client mode = crc
ms mon service mode = crc
ms service mode = crc
ms cluster mode = crc
client mount timeout = 30

run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
crash dir = $DIR/crash
keyring = $DIR/keyring
log to stderr = false
err to stderr = true
log to syslog = false
mon cluster log to syslog = false

osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
# must stay below osd failsafe full ratio (0.97)
mon osd full ratio = 0.96
mon osd backfillfull ratio = 0.95
mon osd nearfull ratio = 0.94
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false

[mon]
# every osdmap change (pool create, app enable) otherwise waits ~1 s
paxos propose interval = 0.05
paxos min wait = 0.01
mon data = $DIR/mon/\$cluster-\$id

[mgr]
mgr data = $DIR/mgr/\$cluster-\$id
mgr initial modules =

[osd]
osd data = $DIR/osd/\$cluster-\$id
osd objectstore = $OBJECTSTORE
osd journal size = 100
osd class load list = *
osd class default list = *
memstore device bytes = $(numfmt --from=iec "$MEMSTORE_SIZE")
bluestore block path = $DIR/osd/\$cluster-\$id.block
bluestore block create = true
bluestore block size = $(numfmt --from=iec "$BLUESTORE_SIZE")
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mount = false
bluestore cache size = 268435456
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2

[client.rgw.gw]
auth client required = none
ms mon client mode = crc
rgw frontends = beast endpoint=127.0.0.1:$PORT$([ "${S3_TCP_NODELAY:-0}" = 1 ] && echo " tcp_nodelay=1")
rgw thread pool size = 32
rgw data = $DIR/rgw
rgw enable usage log = false
rgw dns name = localhost
EOF

# A keyring is only needed because some mkfs paths insist on one; auth is "none".
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$DIR/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null

monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/tmp/monmap" >/dev/null \
    || die "monmaptool failed"
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/tmp/monmap" --keyring "$DIR/keyring" \
    >"$DIR/log/mkfs-mon.out" 2>&1 || die "ceph-mon --mkfs failed"
ceph-mon -c "$CONF" -i a >"$DIR/log/mon.out" 2>&1 || die "ceph-mon failed to start"
log "mon started"

# wait for quorum
for _ in $(seq 1 100); do
    if timeout 10 ceph -c "$CONF" --connect-timeout 5 mon stat >/dev/null 2>&1; then break; fi
    sleep 0.2
done
timeout 10 ceph -c "$CONF" --connect-timeout 5 mon stat >/dev/null 2>&1 || die "mon did not answer"
log "mon answers"

if [ "$WITH_MGR" = 1 ]; then
    mkdir -p "$DIR/mgr/ceph-x"
    ceph-mgr -c "$CONF" -i x >"$DIR/log/mgr.out" 2>&1 || die "ceph-mgr failed to start"
    log "mgr started"
fi

OSD_UUID=$(uuidgen)
OSD_ID=$(timeout 30 ceph -c "$CONF" osd new "$OSD_UUID") || die "ceph osd new failed"
[ "$OSD_ID" = 0 ] || die "unexpected osd id '$OSD_ID'"
mkdir -p "$DIR/osd/ceph-0"
ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$OSD_UUID" >"$DIR/log/mkfs-osd.out" 2>&1 \
    || die "ceph-osd --mkfs failed (see $DIR/log/mkfs-osd.out)"
log "osd mkfs done ($OBJECTSTORE)"
ceph-osd -c "$CONF" -i 0 >"$DIR/log/osd.out" 2>&1 || die "ceph-osd failed to start"
log "osd started"

for _ in $(seq 1 150); do
    if timeout 10 ceph -c "$CONF" osd dump 2>/dev/null | grep -q '^osd.0 up'; then break; fi
    sleep 0.2
done
timeout 10 ceph -c "$CONF" osd dump 2>/dev/null | grep -q '^osd.0 up' || die "osd.0 not up"
log "osd.0 up"

timeout 60 radosgw -c "$CONF" -n client.rgw.gw >"$DIR/log/rgw.out" 2>&1 || die "radosgw failed to start"
log "radosgw started"

for _ in $(seq 1 300); do
    if curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/"; then break; fi
    sleep 0.2
done
curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/" || die "radosgw does not answer on 127.0.0.1:$PORT"
log "radosgw answers HTTP"

timeout 60 radosgw-admin -c "$CONF" user create --uid="$S3_UID" --display-name="$S3_UID" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$DIR/log/user-create.json" 2>"$DIR/log/user-create.err" \
    || die "radosgw-admin user create failed"
log "user $S3_UID created"

# warm-up: a signed S3 round trip (also makes RGW create its bucket pools now,
# not on the first test's CreateBucket)
if [ "${CEPH_WARMUP:-1}" = 1 ]; then
WARM="http://127.0.0.1:$PORT/warmup-$(date +%s%N)"
# curl 7.88's --aws-sigv4 does not send x-amz-content-sha256 itself; S3 needs it
EMPTY_SHA=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
WARM_SHA=$(printf warm | sha256sum | cut -d' ' -f1)
SIG=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" -H "x-amz-content-sha256: $EMPTY_SHA")
code=$(curl -s -o "$DIR/log/warmup.out" -w '%{http_code}' -m 60 -X PUT "${SIG[@]}" "$WARM") || true
[ "$code" = 200 ] || die "warm-up CreateBucket answered HTTP $code: $(cat "$DIR/log/warmup.out")"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 60 -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H "x-amz-content-sha256: $WARM_SHA" --data-binary warm "$WARM/obj") || true
[ "$code" = 200 ] || die "warm-up PutObject answered HTTP $code"
curl -s -o /dev/null -m 60 -X DELETE "${SIG[@]}" "$WARM/obj" || true
curl -s -o /dev/null -m 60 -X DELETE "${SIG[@]}" "$WARM" || true
log "warm-up bucket/object round trip ok"
fi

(umask 077 && cat >"$DIR/s3.env") <<EOF
S3_ENDPOINT=http://127.0.0.1:$PORT
S3_ACCESS_KEY=$ACCESS_KEY
S3_SECRET_KEY=$SECRET_KEY
S3_REGION=us-east-1
EOF
echo "READY endpoint=http://127.0.0.1:$PORT seconds=$(elapsed)"
