#!/usr/bin/env bash
# test_escaped_names.sh - issue 10's "escaped names in all human output":
# names with terminal control sequences (ESC, BEL) in the backed-up tree
# show as \xHH in every human output (snapshots, ls, ls -l, diff, the
# warning list of a backup), never as raw control bytes; --json keeps the
# exact names (JSON escapes them itself).
. "$(dirname "$0")/lib.sh"

REPO=$TMP/repo
new_repo "$REPO"
DIR=$TMP/$(printf 'src\033[2J')
NAME=$(printf 'evil\033]0;owned\007name')
mkdir -p "$DIR"
echo one >"$DIR/$NAME"
check "backup of names with control characters" "$LB" -r "$REPO" backup "$DIR" -q
echo two >>"$DIR/$NAME"
check "second backup" "$LB" -r "$REPO" backup "$DIR" -q
first=$("$LB" -r "$REPO" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

raw() { # description command...: ok when the output holds no ESC or BEL byte and shows \x1b
    local d=$1
    shift
    "$@" >"$TMP/.out" 2>&1
    if LC_ALL=C grep -q $'[\033\007]' "$TMP/.out"; then
        fail "$d: raw control bytes in the output"
    elif grep -qF '\x1b' "$TMP/.out"; then
        ok "$d: names escaped"
    else
        fail "$d: the name is missing: $(head -c 300 "$TMP/.out")"
    fi
}
raw "snapshots" "$LB" -r "$REPO" snapshots
raw "ls" "$LB" -r "$REPO" ls latest
raw "ls -l" "$LB" -r "$REPO" ls -l latest
raw "diff" "$LB" -r "$REPO" diff "$first" latest
"$LB" -r "$REPO" ls latest --json | python3 -c '
import json, sys
names = [json.loads(l)["path"] for l in sys.stdin if l.strip()]
sys.exit(0 if any(n.endswith("evil\x1b]0;owned\x07name") for n in names) else 1)' &&
    ok "ls --json keeps the exact name" || fail "ls --json keeps the exact name"
finish
