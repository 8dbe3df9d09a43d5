#!/usr/bin/env bash
# test_source_compat.sh - the trees a file backup writes do not depend on the
# build: the same tree backed up by another lifeboat binary
# (LIFEBOAT_COMPARE_BIN, e.g. one built before a change to the archiver or
# the sources) and by this one into one repository gets the same root tree
# ID, first and unchanged backups alike. Skipped without
# LIFEBOAT_COMPARE_BIN. The root tree records the path down to the source
# (/, /tmp, ...): when another process changes those between the two
# backups, the pair is tried again (at most 3 times).
. "$(dirname "$0")/lib.sh"

REPO=$TMP/repo
SRC=$TMP/src
OUT=$TMP/out
OTHER=${LIFEBOAT_COMPARE_BIN:-}
if [ -z "$OTHER" ] || [ ! -x "$OTHER" ]; then
    skip "same trees as LIFEBOAT_COMPARE_BIN (not set)"
    finish
fi
mkdir -p "$OUT"
check "init repository" new_repo "$REPO"

# a tree with every kind of entry the file source yields
mkdir -p "$SRC/a/b/c" "$SRC/empty" "$SRC/odd names"
head -c 5000000 /dev/urandom >"$SRC/a/big.bin"
seq 1 20000 >"$SRC/a/b/c/numbers.txt"
: >"$SRC/a/empty-file"
echo hello >"$SRC/odd names/with space"
echo raw >"$SRC/odd names/$(printf 'latin1-\xe9')"
ln -s ../a/big.bin "$SRC/odd names/link"
ln "$SRC/a/b/c/numbers.txt" "$SRC/a/hardlink.txt"
mkfifo "$SRC/fifo"
chmod 0700 "$SRC/a/b"
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.lifeboat", b"test")' "$SRC/a/empty-file" 2>/dev/null ||
    note "no user xattrs on this file system"

ancestors() { stat -c '%n %y %z %a %u %g' / /tmp "$TMP"; }
last_tree() {
    "$LB" -r "$REPO" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["tree"])'
}

# pair WHAT ARGS...: back up with the other binary, then with this one
pair() {
    local what=$1 try t1 t2 before after
    shift
    for try in 1 2 3; do
        before=$(ancestors)
        "$OTHER" -r "$REPO" backup "$@" "$SRC" >"$OUT/other.log" 2>&1 || { fail "$what: other binary failed"; return; }
        t1=$(last_tree)
        "$LB" -r "$REPO" backup "$@" "$SRC" >"$OUT/this.log" 2>&1 || { fail "$what: this binary failed"; return; }
        t2=$(last_tree)
        after=$(ancestors)
        if [ "$t1" = "$t2" ]; then ok "$what: same root tree ($t1)"; return; fi
        if [ "$before" = "$after" ]; then fail "$what: root trees differ ($t1 vs $t2)"; return; fi
        note "the path to \$SRC changed meanwhile: trying again"
    done
    skip "$what: the path to \$SRC kept changing"
}

pair "first backup, every file read" --force
pair "unchanged backup, files taken from the parent"
pair "with an exclude pattern" --exclude '*.txt' --force
finish
