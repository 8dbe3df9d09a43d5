#!/usr/bin/env bash
# test_deep_trees.sh - issue 10 item 5, "a tree about 1,900 directories deep
# crashes the backup; hand-crafted snapshots 10,000 levels deep crash check,
# 100,000 crash ls and restore": trees nest at most 1000 directories
# (TREE_DEPTH_MAX, docs/repository-format.md). A snapshot crafted 100,000
# levels deep makes every reader fail with an error naming the limit, never a
# crash; one exactly at the limit works everywhere; a backup of a directory
# tree 10,000 deep stores the first 1000 levels, reports the rest and exits 3.
. "$(dirname "$0")/lib.sh"

CRAFT=$(dirname "$LB")/tests/harness/lb-craft
REPO=$TMP/repo
new_repo "$REPO"

# rc < 128: an exit, not a signal
no_crash() { # description command...
    local d=$1
    shift
    "$@" >"$TMP/.out" 2>&1
    local rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -lt 128 ] && grep -q "nested deeper than 1000 directories" "$TMP/.out"; then
        ok "$d: exit $rc naming the limit"
    else
        fail "$d: exit $rc"
        tail -c 400 "$TMP/.out" | sed 's/^/#   /'
    fi
}

deep=$("$CRAFT" "$REPO" deep 100000) || fail "craft a snapshot 100,000 levels deep"
no_crash "ls -R of a snapshot 100,000 levels deep" "$LB" -r "$REPO" ls -R "$deep"
no_crash "check" "$LB" -r "$REPO" check
no_crash "check --read-data" "$LB" -r "$REPO" check --read-data
no_crash "restore" "$LB" -r "$REPO" restore "$deep" --target "$TMP/out"
new_repo "$TMP/copy"
no_crash "copy" env LIFEBOAT_FROM_PASSWORD="$LIFEBOAT_PASSWORD" "$LB" -r "$TMP/copy" copy --from-repo "$REPO"
no_crash "prune" "$LB" -r "$REPO" prune
ok_tree=$("$CRAFT" "$REPO" deep 1000 | tail -n 1)
no_crash "diff against a snapshot at the limit" "$LB" -r "$REPO" diff "$deep" "$ok_tree"
check "forget the deep snapshot" "$LB" -r "$REPO" forget "$deep"

# exactly at the limit: every command works
check "ls -R at the limit" "$LB" -r "$REPO" ls -R "$ok_tree"
check "check --read-data at the limit" "$LB" -r "$REPO" check --read-data
check "restore at the limit" "$LB" -r "$REPO" restore "$ok_tree" --target "$TMP/out1000"
[ "$(find "$TMP/out1000" -name bottom | wc -l)" -eq 1 ] && ok "... down to the bottom file" || fail "... down to the bottom file"
check "prune at the limit" "$LB" -r "$REPO" prune

# a real directory tree 10,000 levels deep
python3 - "$TMP/src" <<'PY'
import os, sys
os.makedirs(sys.argv[1])
os.chdir(sys.argv[1])
open("top.txt", "w").write("top\n")
for i in range(10000):
    os.mkdir("d")
    os.chdir("d")
    if i == 500:
        open("middle.txt", "w").write("middle\n")
open("bottom.txt", "w").write("bottom\n")
PY
check_rc 3 "backup of a tree 10,000 directories deep: exit 3" "$LB" -r "$REPO" backup "$TMP/src"
grep -q "1000 directories" "$TMP/.out" && ok "... naming the depth limit" || fail "... naming the depth limit: $(last_output | tail -c 300)"
check "... the snapshot passes check" "$LB" -r "$REPO" check --read-data
check "... and restores" "$LB" -r "$REPO" restore latest --target "$TMP/out-src"
[ -n "$(find "$TMP/out-src" -name middle.txt)" ] && [ -n "$(find "$TMP/out-src" -name top.txt)" ] &&
    ok "... with what is above the limit" || fail "... with what is above the limit"
finish
