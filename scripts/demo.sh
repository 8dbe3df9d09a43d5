#!/usr/bin/env bash
# scripts/demo.sh - the main job on an embedded default: back up a sample
# tree into a local repository, change it, back up again, restore, compare.
set -euo pipefail
LB=${1:-build/lifeboat}
LB=$(readlink -f "$LB")
work=$(mktemp -d /tmp/lifeboat-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
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
