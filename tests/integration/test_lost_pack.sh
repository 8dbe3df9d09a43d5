#!/usr/bin/env bash
# test_lost_pack.sh - issue 10 item 2, "after one pack is lost, every later
# backup exits 0 and is unrestorable": with a data pack deleted, a backup
# (plain or --force) writes no snapshot and names the missing pack; `check`
# names the snapshots and files that used it (without --read-data too);
# after `repair index` the next plain backup reads the affected files again
# and stores the lost blobs, and its snapshot restores byte for byte. Item 3:
# one changed byte in an index file stops backup, prune and stats with a hint
# to `repair index`, which rebuilds the index from the packs; then all work.
. "$(dirname "$0")/lib.sh"

REPO=$TMP/repo
SRC=$TMP/src
CRAFT=$(dirname "$LB")/tests/harness/lb-craft
mkdir -p "$SRC"
for i in 1 2 3 4; do head -c $((i * 700000)) /dev/urandom >"$SRC/f$i"; done
new_repo "$REPO"
check "first backup" "$LB" -r "$REPO" backup "$SRC" -q
snaps_before=$("$LB" -r "$REPO" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')

# the pack holding f3's first blob
first=$("$LB" -r "$REPO" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
pack=$("$CRAFT" "$REPO" locate "$first" "$SRC/f3" | cut -d' ' -f1)
[ -f "$REPO/$pack" ] && ok "located f3's pack ($pack)" || fail "locate f3's pack: '$pack'"
rm -f "$REPO/$pack"

check_rc 1 "backup --force with a pack lost writes no snapshot" "$LB" -r "$REPO" backup --force "$SRC"
grep -q "no snapshot written" "$TMP/.out" && grep -q "missing from the repository" "$TMP/.out" &&
    ok "... and says which pack is missing" || fail "... message: $(last_output | tail -c 300)"
check_rc 1 "a plain backup (unchanged files) writes no snapshot either" "$LB" -r "$REPO" backup "$SRC"
n=$("$LB" -r "$REPO" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" -eq "$snaps_before" ] && ok "no unrestorable snapshot was saved" || fail "$n snapshots, $snaps_before before"

check_rc 1 "check finds the lost pack" "$LB" -r "$REPO" check
grep -q "snapshot ${first:0:8}: file '$SRC/f3' is damaged" "$TMP/.out" &&
    ok "... and names the snapshot and the file that used it" || fail "... names: $(last_output | tail -c 400)"

if "$LB" -r "$REPO" repair index >"$TMP/repair.out" 2>&1; then
    ok "repair index"
    check "the next plain backup stores the lost data again" "$LB" -r "$REPO" backup "$SRC"
    check "... its snapshot restores" "$LB" -r "$REPO" restore latest --target "$TMP/out" --verify
    diff -r "$SRC" "$TMP/out$SRC" >/dev/null && ok "... byte for byte" || fail "... byte for byte"
else
    fail "repair index: $(tail -c 300 "$TMP/repair.out")"
fi

# item 3: a damaged index file
f=$(ls "$REPO"/index/* | head -n 1)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$f"
check_rc 1 "a backup with a damaged index file stops" "$LB" -r "$REPO" backup "$SRC"
grep -q "repair index" "$TMP/.out" && ok "... pointing to repair index" || fail "... hint: $(last_output | tail -c 300)"
check "repair index rebuilds it from the packs" "$LB" -r "$REPO" repair index
check "then backup works" "$LB" -r "$REPO" backup "$SRC"
check "and stats" "$LB" -r "$REPO" stats
check "and prune" "$LB" -r "$REPO" prune
check "and the latest snapshot restores" "$LB" -r "$REPO" restore latest --target "$TMP/out2" --verify
diff -r "$SRC" "$TMP/out2$SRC" >/dev/null && ok "... byte for byte" || fail "... byte for byte"
finish
