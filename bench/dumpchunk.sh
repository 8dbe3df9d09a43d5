#!/usr/bin/env bash
# bench/dumpchunk.sh WORKDIR - how the dump chunk size decides what a dump of
# a database under light load adds to the repository (how the dump profile's
# 8K,32K,128K default was chosen). A throw-away PostgreSQL server
# (tests/harness/pg) with a pgbench database; one repository per size in
# SIZES; ROUNDS times: `pgbench -n $LOAD -c 2`, then one `lifeboat backup
# --pg` into every repository. Prints, per round and size, the repository's
# growth and the stored bytes of the new blobs.
#
# Environment: SCALE (pgbench -s, default 10), ROUNDS (6), LOAD (pgbench
# options, default "-R 50 -T 5"), SIZES (init --dump-chunk-size values,
# default "512K,1M,8M 16K,64K,256K 8K,32K,128K 4K,16K,64K"), LIFEBOAT_BIN.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
W=${1:?usage: bench/dumpchunk.sh WORKDIR}
LB=${LIFEBOAT_BIN:-$root/build/lifeboat}
SCALE=${SCALE:-10}
ROUNDS=${ROUNDS:-6}
LOAD=${LOAD:-"-R 50 -T 5"}
SIZES=${SIZES:-"512K,1M,8M 16K,64K,256K 8K,32K,128K 4K,16K,64K"}
H=$root/tests/harness/pg
rm -rf "$W"
mkdir -p "$W"
W=$(readlink -f "$W")
cp "$LB" "$W/lifeboat"
LB=$W/lifeboat
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bash "$H/start.sh" "$W/srv" "$PORT" >"$W/start.log" 2>&1 || { cat "$W/start.log" >&2; exit 1; }
trap 'bash "$H/stop.sh" "$W/srv"' EXIT
. "$W/srv/pg.env"
export PGHOST PGPORT PGUSER
PATH=$PG_BIN:$PATH
createdb bench
pgbench -i -q -s "$SCALE" bench >"$W/init.log" 2>&1
echo lifeboat-dumpchunk >"$W/pw"
export LIFEBOAT_PASSWORD_FILE=$W/pw LIFEBOAT_NEW_PASSWORD_FILE=$W/pw
for s in $SIZES; do "$LB" -r "$W/r-$s" init --kdf-n 1024 -q --dump-chunk-size "$s"; done
pg_dump -Fc -f "$W/plain.dump" bench
echo "pgbench scale $SCALE; one pg_dump -Fc: $(stat -c %s "$W/plain.dump") bytes"
size() { "$LB" -r "$1" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["repository_size"])'; }
for ((i = 0; i <= ROUNDS; i++)); do
    # shellcheck disable=SC2086
    ((i == 0)) || echo "load: $(pgbench -n $LOAD -c 2 bench 2>&1 | grep -o 'actually processed: [0-9]*')"
    line="round $i:"
    for s in $SIZES; do
        b=$(size "$W/r-$s")
        "$LB" -r "$W/r-$s" --json backup --pg "host=$PGHOST port=$PGPORT user=$PGUSER dbname=bench" >"$W/out.json"
        d=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data_added_stored"])' "$W/out.json")
        line="$line  $s: +$(($(size "$W/r-$s") - b)) (blobs $d)"
    done
    echo "$line"
done
