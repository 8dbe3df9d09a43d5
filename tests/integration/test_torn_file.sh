#!/usr/bin/env bash
# test_torn_file.sh - issue 10 item 8: a file changed while it is read is
# not stored torn without a word.
#
# A file whose inode, size, mtime or ctime differ after its read (or whose
# read did not end at its size) is read once more from the start; if it
# changed again, the second read is stored, the path is named on stderr and
# in the --json summary's "changed" list, and the backup exits 3.
#   (a) a 64 MiB file rewritten continuously by a background writer: exit 3,
#       listed on stderr and in "changed";
#   (b) a file truncated while it is read, on both reads: exit 3, listed;
#   (c) a file rewritten once during its first read: read again, stored
#       whole as the new version (restored byte for byte, not a mix), exit 0;
#   (d) an untouched tree: exit 0, no warning, "changed" empty.
# (b) and (c) change the file at an exact point of its read through the test
# harness binary's read hook (LIFEBOAT_TEST_AFTER_READ, run by lifeboat-test
# after each read of a file's bytes, the backup waiting for it): no timing.
. "$(dirname "$0")/lib.sh"

MIB=1048576
R=$TMP/repo
new_repo "$R" || { fail "init repository"; finish; }

jq_py() { # python expression over the JSON on stdin, bound to `j`
    python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$@"
}
expect_eq() { # description want got
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1"; note "want: $2"; note "got:  $3"; fi
}
# backup NAME DIR [env...]: back DIR up with lifeboat-test --json; exit code
# in $rc, stdout in $TMP/NAME.json, stderr in $TMP/NAME.err
backup() {
    local name=$1 dir=$2
    shift 2
    env "$@" "$LB_TEST" -r "$R" backup "$dir" --json >"$TMP/$name.json" 2>"$TMP/$name.err"
    rc=$?
}
# changed NAME: the "changed" list of backup NAME's JSON summary, space-separated
changed() { jq_py '" ".join(j.get("changed", ["<no changed field>"]))' <"$TMP/$1.json" 2>&1; }
# warned NAME PATH: stderr of backup NAME names PATH as changed
warned() {
    if grep -qF "warning: file '$2' changed while it was read, twice" "$TMP/$1.err"; then
        ok "$1: stderr names $2 as changed"
    else
        fail "$1: stderr names $2 as changed"
        sed 's/^/#   /' "$TMP/$1.err" | head -10
    fi
}
# the two versions of a file, 48 MiB each, and a 64 MiB pair for the writer
head -c $((48 * MIB)) /dev/urandom >"$TMP/A48"
head -c $((48 * MIB)) /dev/urandom >"$TMP/B48"
head -c $((64 * MIB)) /dev/urandom >"$TMP/A64"
head -c $((64 * MIB)) /dev/urandom >"$TMP/B64"

# ---------------------------------------------------------------- (d) untouched
mkdir -p "$TMP/d/sub"
cp "$TMP/A48" "$TMP/d/big"
echo small >"$TMP/d/sub/small"
backup d "$TMP/d"
expect_eq "(d) an untouched tree: exit 0" 0 "$rc"
expect_eq "(d) an untouched tree: \"changed\" is empty" "" "$(changed d)"
if grep -q "changed" "$TMP/d.err"; then fail "(d) an untouched tree: no warning"; sed 's/^/#   /' "$TMP/d.err" | head -5
else ok "(d) an untouched tree: no warning"; fi

# ---------------------------------------------------------------- (a) continuous writer
mkdir -p "$TMP/a"
F=$TMP/a/live
cp "$TMP/A64" "$F"
# rewrites F in place, alternating the two versions, until killed; the first
# whole pass is done before the backup starts
(
    while :; do
        dd if="$TMP/B64" of="$F" bs=1M conv=notrunc status=none
        touch "$TMP/a.pass"
        dd if="$TMP/A64" of="$F" bs=1M conv=notrunc status=none
    done
) &
WRITER=$!
cleanup_hooks+=("kill $WRITER")
while [ ! -e "$TMP/a.pass" ] && kill -0 "$WRITER" 2>/dev/null; do sleep 0.05; done # waits for a file, not a time
backup a "$TMP/a"
kill "$WRITER"
wait "$WRITER" 2>/dev/null
expect_eq "(a) a file rewritten throughout the backup: exit 3" 3 "$rc"
expect_eq "(a) it is listed in \"changed\"" "$F" "$(changed a)"
warned a "$F"

# ---------------------------------------------------------------- (b) truncated while read
mkdir -p "$TMP/b"
F=$TMP/b/shrinking
cp "$TMP/A48" "$F"
# after the first 16 MiB of each read: cut 8 MiB off the end (48 -> 40 on
# the first read, 40 -> 32 on the second)
HOOK='[ "$1" = "'$F'" ] && [ "$2" -ge '$((16 * MIB))' ] && [ ! -e "'$TMP'/b.cut$3" ] && { : >"'$TMP'/b.cut$3"; truncate -s -8M "$1"; }; exit 0'
backup b "$TMP/b" LIFEBOAT_TEST_AFTER_READ="$HOOK"
expect_eq "(b) the hook cut the file on both reads" "yes yes" \
    "$([ -e "$TMP/b.cut1" ] && echo yes || echo no) $([ -e "$TMP/b.cut2" ] && echo yes || echo no)"
expect_eq "(b) a file truncated while it is read: exit 3" 3 "$rc"
expect_eq "(b) it is listed in \"changed\"" "$F" "$(changed b)"
warned b "$F"
expect_eq "(b) the snapshot holds what the second read got (32 MiB)" $((32 * MIB)) \
    "$("$LB" -r "$R" ls latest "$F" --json 2>&1 | python3 -c '
import json, sys
for line in sys.stdin:
    try: o = json.loads(line)
    except ValueError: continue
    for n in (o if isinstance(o, list) else [o]):
        if isinstance(n, dict) and n.get("path") == sys.argv[1]: print(n.get("size"))' "$F")"

# ---------------------------------------------------------------- (c) changed once
mkdir -p "$TMP/c"
F=$TMP/c/rewritten
cp "$TMP/A48" "$F"
# after the first 16 MiB of the first read: rewrite the file in place with
# version B (the first read then gets A's first 16 MiB and B's rest)
HOOK='[ "$1" = "'$F'" ] && [ "$2" -ge '$((16 * MIB))' ] && [ ! -e "'$TMP'/c.done" ] && { : >"'$TMP'/c.done"; dd if="'$TMP/B48'" of="$1" bs=1M conv=notrunc status=none; }; exit 0'
backup c "$TMP/c" LIFEBOAT_TEST_AFTER_READ="$HOOK"
expect_eq "(c) the hook rewrote the file during its read" yes "$([ -e "$TMP/c.done" ] && echo yes || echo no)"
expect_eq "(c) a file changed once while read: exit 0" 0 "$rc"
expect_eq "(c) \"changed\" is empty" "" "$(changed c)"
if grep -q "changed while it was read, twice" "$TMP/c.err"; then fail "(c) no warning"; sed 's/^/#   /' "$TMP/c.err" | head -5
else ok "(c) no warning"; fi
rm -rf "$TMP/c.restore"
check "(c) restore" "$LB" -r "$R" restore latest --target "$TMP/c.restore" -q
G=$TMP/c.restore$F
if cmp -s "$G" "$TMP/B48"; then
    ok "(c) the restored file is version B, byte for byte"
elif cmp -s "$G" "$TMP/A48"; then
    fail "(c) the restored file is version B, byte for byte (it is A, read before the change)"
else
    fail "(c) the restored file is version B, byte for byte (a mix: $(cmp "$G" "$TMP/B48" 2>&1 | head -1))"
fi
check "(c) check --read-data after the re-read (the first read's blobs are unreferenced)" \
    "$LB" -r "$R" check --read-data

finish
