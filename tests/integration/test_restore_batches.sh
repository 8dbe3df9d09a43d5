#!/usr/bin/env bash
# test_restore_batches.sh - issue 15, "restore: the plan is built per pack
# group, not for the whole snapshot at once": a directory restore is written
# in batches (restore/restore.h). LIFEBOAT_RESTORE_BATCH=ENTRIES[:BYTES]
# forces tiny batches, so one restore spans many of them: hard links whose
# entries fall in different batches, nested directories whose contents end
# batches later than they start (their mtimes and modes are applied after),
# a sparse file, symlinks, xattrs, --include and --verify must come out
# byte- and metadata-identical to the source and to a one-batch restore;
# LIFEBOAT_RESTORE_TREE_CACHE=1 makes the writing pass decode every tree
# again instead of taking the validating pass's.
. "$(dirname "$0")/lib.sh"

expect_eq() { # description want got
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1"; note "want: $2"; note "got:  $3"; fi
}

REPO=$TMP/repo
SRC=$TMP/src
new_repo "$REPO"

# a tree of 8 x 6 directories of 5 files, hard links between far-apart
# directories, a sparse file, symlinks, a read-only directory with contents
mkdir -p "$SRC"
for d in 1 2 3 4 5 6 7 8; do
    for e in a b c d e f; do
        mkdir -p "$SRC/d$d/$e"
        for f in 1 2 3 4 5; do
            printf 'file %s %s %s\n' "$d" "$e" "$f" >"$SRC/d$d/$e/f$f"
            head -c $((d * 300 + f * 17)) /dev/urandom >>"$SRC/d$d/$e/f$f"
        done
        touch -d "2020-0$d-1$f 12:3$d:00" "$SRC/d$d/$e/f1"
    done
done
ln "$SRC/d1/a/f1" "$SRC/d8/f/link-to-d1a-f1"
ln "$SRC/d1/a/f1" "$SRC/d5/c/second-link"
ln "$SRC/d2/b/f2" "$SRC/d7/a/link-to-d2b-f2"
truncate -s 8M "$SRC/d4/sparse"
printf 'middle' | dd of="$SRC/d4/sparse" bs=1 seek=4194304 conv=notrunc 2>/dev/null
printf 'end' | dd of="$SRC/d4/sparse" bs=1 seek=8388000 conv=notrunc 2>/dev/null
ln -s ../d1/a/f1 "$SRC/d3/sym"
ln -s /nonexistent/target "$SRC/d6/dangling"
chmod 0750 "$SRC/d2/c"
chmod 4755 "$SRC/d3/a/f3"
have_xattr=0
if setfattr -n user.lifeboat -v batch "$SRC/d6/b/f4" 2>/dev/null; then have_xattr=1; fi
chmod 0555 "$SRC/d5/e"
# directory mtimes last, deepest first, all distinct
i=0
for d in $(cd "$SRC" && find . -mindepth 1 -type d | sort -r); do
    i=$((i + 1))
    touch -h -d "2021-01-01 00:00:00 + $i hours" "$SRC/$d"
done
check "backup" "$LB" -r "$REPO" backup -q "$SRC"

# sorted listing of what a restore must keep: type, mode, owner, mtime, size,
# link count, symlink target (the top directory itself excluded)
meta() { (cd "$1" && find . -mindepth 1 -printf '%p %y %M %U %G %T@ %s %n %l\n' | sort); }
# the groups of paths that share an inode
inodes() { (cd "$1" && find . -type f -links +1 -printf '%i %p\n' | sort -k2 | awk '{g[$1]=g[$1] " " $2} END {for (i in g) print g[i]}' | sort); }
same_tree() { # description restored
    local d=$1 out=$2/$SRC
    if diff -r --no-dereference "$SRC" "$out" >"$TMP/diff.out" 2>&1; then
        ok "$d: the same bytes"; else fail "$d: the same bytes"; head -5 "$TMP/diff.out" | sed 's/^/#   /'; fi
    if diff <(meta "$SRC") <(meta "$out") >"$TMP/meta.out"; then
        ok "$d: the same modes, owners, mtimes, sizes, link counts"; else
        fail "$d: the same modes, owners, mtimes, sizes, link counts"; head -8 "$TMP/meta.out" | sed 's/^/#   /'; fi
    if [ "$(inodes "$SRC")" == "$(inodes "$out")" ] && [ -n "$(inodes "$out")" ]; then
        ok "$d: hard links share their inodes"; else
        fail "$d: hard links share their inodes"; inodes "$out" | sed 's/^/#   /'; fi
    local blocks
    blocks=$(stat -c %b "$out/d4/sparse")
    if [ "$blocks" -lt 1024 ]; then ok "$d: the sparse file stays sparse ($blocks blocks)"; else
        fail "$d: the sparse file stays sparse ($blocks blocks of 512 bytes for 8 MiB)"; fi
    if [ "$have_xattr" -eq 1 ]; then
        if [ "$(getfattr --only-values -n user.lifeboat "$out/d6/b/f4" 2>/dev/null)" == "batch" ]; then
            ok "$d: xattrs"; else fail "$d: xattrs"; fi
    fi
}

# one batch (the defaults) and batches of 3 entries or 4 KiB
LIFEBOAT_RESTORE_BATCH= "$LB" -r "$REPO" -vv restore latest --target "$TMP/one" >"$TMP/one.log" 2>&1
rc=$?
n1=$(grep -c 'restore batch:' "$TMP/one.log")
if [ "$rc" -eq 0 ] && [ "$n1" -eq 1 ]; then ok "default limits: one batch"; else
    fail "default limits: one batch (exit $rc, $n1 batches)"; tail -5 "$TMP/one.log" | sed 's/^/#   /'; fi
same_tree "one batch" "$TMP/one"

LIFEBOAT_RESTORE_BATCH=3:4096 "$LB" -r "$REPO" -vv restore latest --verify --target "$TMP/many" >"$TMP/many.log" 2>&1
rc=$?
n=$(grep -c 'restore batch:' "$TMP/many.log")
if [ "$rc" -eq 0 ] && [ "$n" -gt 100 ]; then ok "LIFEBOAT_RESTORE_BATCH=3:4096: $n batches, exit 0"; else
    fail "LIFEBOAT_RESTORE_BATCH=3:4096: exit $rc, $n batches"; tail -5 "$TMP/many.log" | sed 's/^/#   /'; fi
same_tree "many batches" "$TMP/many"
nfiles=$(cd "$SRC" && find . -type f -links 1 | wc -l)
nfirst=$(cd "$SRC" && find . -type f -links +1 -printf '%i\n' | sort -u | wc -l)
expect_eq "--verify across batches: every file read back once" "verified $((nfiles + nfirst)) files" \
    "$(grep -o 'verified [0-9]* files' "$TMP/many.log")"
if diff <(meta "$TMP/one") <(meta "$TMP/many") >/dev/null; then ok "many batches = one batch"; else fail "many batches = one batch"; fi

# the trees of the validating pass are kept for the writing pass up to
# LIFEBOAT_RESTORE_TREE_CACHE bytes: none kept (every tree decoded twice) and
# only the first few kept must restore the same
for cache in 1 20000; do
    check "LIFEBOAT_RESTORE_TREE_CACHE=$cache, batches of 5" env LIFEBOAT_RESTORE_TREE_CACHE=$cache \
        LIFEBOAT_RESTORE_BATCH=5 "$LB" -r "$REPO" restore latest --target "$TMP/cache$cache"
    same_tree "tree cache of $cache bytes" "$TMP/cache$cache"
done

# a batch of one entry: every directory is carried over to the next batch
check "LIFEBOAT_RESTORE_BATCH=1" env LIFEBOAT_RESTORE_BATCH=1 "$LB" -r "$REPO" restore latest --target "$TMP/single"
same_tree "batches of one entry" "$TMP/single"

# --include across batches: only the included file and the directories above
# it (which are created in an earlier batch than the file)
LIFEBOAT_RESTORE_BATCH=2 "$LB" -r "$REPO" restore latest --include "$SRC/d7/a/link-to-d2b-f2" \
    --include "$SRC/d8/f" --target "$TMP/inc" >"$TMP/inc.log" 2>&1
got=$(cd "$TMP/inc/$SRC" && find . -type f | sort | tr '\n' ' ')
want=$(cd "$SRC" && find ./d7/a/link-to-d2b-f2 ./d8/f -type f | sort | tr '\n' ' ')
expect_eq "--include in batches of 2: only the included files" "$want" "$got"
if cmp -s "$SRC/d8/f/link-to-d1a-f1" "$TMP/inc/$SRC/d8/f/link-to-d1a-f1" &&
    [ "$(stat -c %Y "$SRC/d8/f")" == "$(stat -c %Y "$TMP/inc/$SRC/d8/f")" ]; then
    ok "--include in batches: content and the directory's mtime"; else
    fail "--include in batches: content and the directory's mtime"; fi

# a damaged file is reported once, and the restore exits 3, in batches too
pack=$(cd "$REPO" && find data -type f | head -n 1)
LIFEBOAT_RESTORE_BATCH=4 "$LB" -r "$REPO" restore latest --target "$TMP/inplace" >/dev/null 2>&1
check_rc 0 "a second restore over the first, in batches" env LIFEBOAT_RESTORE_BATCH=4 "$LB" -r "$REPO" restore latest --target "$TMP/inplace"
same_tree "over an earlier restore" "$TMP/inplace"
chmod u+w "$REPO/$pack"
printf 'garbage!' | dd of="$REPO/$pack" bs=1 seek=100 conv=notrunc 2>/dev/null
check_rc 3 "a damaged pack: exit 3 in batches" env LIFEBOAT_RESTORE_BATCH=3 "$LB" -r "$REPO" restore latest --target "$TMP/dmg"
finish
