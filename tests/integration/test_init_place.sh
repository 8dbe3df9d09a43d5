#!/usr/bin/env bash
# test_init_place.sh - issue 10 item 9: "init into a non-empty directory and
# a later prune deletes the user's own .tmp-* files". init refuses a
# directory that holds anything (naming it); prune removes only the
# temporary files the local driver itself names (".tmp-" and 16 hex digits),
# never a user's ".tmp-notes".
. "$(dirname "$0")/lib.sh"

mkdir -p "$TMP/used"
echo mine >"$TMP/used/notes.txt"
check_rc 1 "init into a non-empty directory is refused" "$LB" -r "$TMP/used" init --kdf-n 1024
grep -q "not empty (it holds 'notes.txt')" "$TMP/.out" && ok "... naming what is there" || fail "... message: $(last_output)"
[ ! -e "$TMP/used/config" ] && [ "$(ls -A "$TMP/used")" = notes.txt ] && ok "... and writes nothing" || fail "... wrote: $(ls -A "$TMP/used")"

REPO=$TMP/repo
new_repo "$REPO"
mkdir -p "$TMP/src" && echo data >"$TMP/src/f"
check "backup" "$LB" -r "$REPO" backup "$TMP/src" -q
echo keep >"$REPO/.tmp-notes"
echo keep >"$REPO/data/.tmp-0123"
echo stale >"$REPO/data/.tmp-0123456789abcdef"
check "prune" "$LB" -r "$REPO" prune
[ -f "$REPO/.tmp-notes" ] && [ -f "$REPO/data/.tmp-0123" ] && ok "prune keeps a user's .tmp-* files" ||
    fail "prune removed a user's .tmp-* file"
[ ! -e "$REPO/data/.tmp-0123456789abcdef" ] && ok "... and removes the driver's own temporary file" ||
    fail "... the driver's temporary file is still there"
finish
