#!/usr/bin/env bash
# scripts/demo.sh - the main job on an embedded default: back up a sample
# tree into a local repository, change it, back up again, restore, compare;
# then a throwaway PostgreSQL server: a verified logical dump, restored into
# a new database and compared table by table; then the same as a plan in a
# configuration file, run once with `lifeboat run` and shown by `history`.
set -euo pipefail
LB=${1:-build/lifeboat}
LB=$(readlink -f "$LB")
work=$(mktemp -d /tmp/lifeboat-demo.XXXXXX)
root=$(cd "$(dirname "$0")/.." && pwd)
trap '"$root/tests/harness/pg/stop.sh" "$work/pg" >/dev/null 2>&1; rm -rf "$work"' EXIT
export LIFEBOAT_REPOSITORY=$work/repo
export LIFEBOAT_PASSWORD_FILE=$work/password
head -c 24 /dev/urandom | base64 >"$LIFEBOAT_PASSWORD_FILE"
src=$work/data
echo "== sample tree in $src"
mkdir -p "$src"/{docs,logs,bin,empty}
for i in $(seq 1 200); do printf 'document %d\n%s\n' "$i" "$(seq 1 $((i * 20)))" >"$src/docs/doc$i.txt"; done
for i in 1 2 3; do seq 1 200000 | sed "s/^/$(date +%F) INFO request id=/" >"$src/logs/app$i.log"; done
head -c 8000000 /dev/urandom >"$src/bin/blob.bin"
ln -s ../docs/doc1.txt "$src/bin/link"
ln "$src/docs/doc2.txt" "$src/docs/hardlink.txt"
truncate -s 50M "$src/bin/sparse.img"; printf 'tail' >>"$src/bin/sparse.img"
chmod 4755 "$src/bin/blob.bin"
setfattr -n user.demo -v hello "$src/docs/doc3.txt" 2>/dev/null || true
du -sh --apparent-size "$src"
echo "== lifeboat init"
"$LB" init
echo "== first backup"
"$LB" backup "$src" --tag demo --component files
echo "== change 5 files, back up again (unchanged files are not read)"
for i in 1 2 3 4 5; do echo "edit" >>"$src/docs/doc$i.txt"; done
"$LB" backup "$src" --tag demo --component files
echo "== snapshots"
"$LB" snapshots
echo "== diff of the two snapshots"
"$LB" diff "$("$LB" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" latest
echo "== check --read-data"
"$LB" check --read-data
echo "== restore latest and compare with the original"
"$LB" restore latest --target "$work/restore" --verify
if diff -r --no-dereference "$src" "$work/restore$src"; then
    echo "DEMO OK: the restore equals the original ($(find "$src" | wc -l) entries)"
else
    echo "DEMO FAILED: the restore differs from the original" >&2
    exit 1
fi
"$LB" stats

echo
echo "== PostgreSQL: a throwaway server (Debian's postgresql), a verified dump, a restore"
"$root/tests/harness/pg/start.sh" "$work/pg"
. "$work/pg/pg.env"
URL="postgresql://postgres@127.0.0.1:$PGPORT"
createdb app
pgbench -i -s 2 -q app >/dev/null 2>&1
psql -q -d app -c "CREATE TABLE notes (id serial PRIMARY KEY, body jsonb, blob bytea);
                   INSERT INTO notes (body, blob) SELECT jsonb_build_object('n', g), decode(md5(g::text), 'hex')
                   FROM generate_series(1, 5000) g;"
"$LB" backup --pg "$URL/app" --component database --tag demo
"$LB" snapshots --component database
"$LB" restore latest --component database --pg-target "$URL/app_restored" --create --verify
sum() { psql -At -d "$1" -c "SELECT (SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM pgbench_accounts t)
                                  || (SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM notes t)"; }
if [ "$(sum app)" = "$(sum app_restored)" ]; then
    echo "DEMO OK: the restored database equals the original (pgbench_accounts and notes compared row by row)"
else
    echo "DEMO FAILED: the restored database differs" >&2
    exit 1
fi

echo
echo "== the same plan from one configuration file: config check, run, history"
cat >"$work/platform.yaml" <<YAML
# the demo's plan: the sample tree every hour, the database every 15 minutes
state: $work/state
repositories:
  local:
    url: $LIFEBOAT_REPOSITORY
    password_file: $LIFEBOAT_PASSWORD_FILE
components:
  files:
    type: files
    paths: [$src]
    schedule: "0 * * * *"
    retention: {keep_within: 90d}
  database:
    type: postgres
    connection: "$URL/app"
    schedule: "*/15 * * * *"
    retention: {keep_within: 35d, keep_monthly: 12}
jobs:
  daily-full:
    type: backup
    components: [files, database]
    schedule: "0 0 2 * * ?"
YAML
"$LB" config check "$work/platform.yaml"
"$LB" schedule next "0 0 2 * * ?" --count 2
"$LB" run daily-full --config "$work/platform.yaml"
"$LB" history --config "$work/platform.yaml"
if "$LB" history --config "$work/platform.yaml" --json |
    python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if r and all(x["outcome"] == "succeeded" for x in r) else 1)'; then
    echo "DEMO OK: the daily full ran from the configuration file and is in the history"
else
    echo "DEMO FAILED: the run from the configuration file did not succeed" >&2
    exit 1
fi
