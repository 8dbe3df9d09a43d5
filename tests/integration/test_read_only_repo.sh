#!/usr/bin/env bash
# test_read_only_repo.sh - issue 10 item 4, "no restore from a read-only or
# full repository": a repository on a read-only mount and one on a full disk
# can still be listed, restored, checked and copied from (each read without a
# lock, with a warning); writing into them fails clearly; --no-lock reads a
# repository without even trying to store a lock. Needs bind mounts and tmpfs
# (root); skipped where they are not allowed.
. "$(dirname "$0")/lib.sh"

REPO=$TMP/repo
SRC=$TMP/src
mkdir -p "$SRC/d"
for i in $(seq 1 40); do head -c $((i * 3000)) /dev/urandom >"$SRC/d/f$i"; done
new_repo "$REPO"
check "backup" "$LB" -r "$REPO" backup "$SRC" -q

RO=$TMP/ro
mkdir -p "$RO"
if ! mount --bind "$REPO" "$RO" 2>/dev/null || ! mount -o remount,ro,bind "$RO" 2>/dev/null; then
    umount "$RO" 2>/dev/null
    skip "bind mounts are not allowed here (need root)"
    finish
fi
cleanup_hooks+=("umount '$RO'")
if touch "$RO/probe" 2>/dev/null; then
    fail "the read-only mount is writable"
    finish
fi

check "snapshots from a read-only repository" "$LB" -r "$RO" snapshots
check "restore from a read-only repository" "$LB" -r "$RO" restore latest --target "$TMP/out1" --verify
grep -q "not writable here, reading it without one" "$TMP/.out" && ok "... with a warning that it reads without a lock" ||
    fail "... with a warning that it reads without a lock: $(last_output)"
diff -r "$SRC" "$TMP/out1$SRC" >/dev/null && ok "... byte for byte" || fail "... byte for byte"
check "check --read-data of a read-only repository" "$LB" -r "$RO" check --read-data
new_repo "$TMP/copy"
check "copy --from-repo a read-only repository" env LIFEBOAT_FROM_PASSWORD="$LIFEBOAT_PASSWORD" "$LB" -r "$TMP/copy" copy --from-repo "$RO"
check "... and the copy restores" "$LB" -r "$TMP/copy" restore latest --target "$TMP/out2"
diff -r "$SRC" "$TMP/out2$SRC" >/dev/null && ok "... byte for byte" || fail "... byte for byte"
check_rc 1 "a backup into a read-only repository fails" "$LB" -r "$RO" backup "$SRC"
grep -qi "read-only file system" "$TMP/.out" && ok "... naming the cause" || fail "... naming the cause: $(last_output)"

# a full disk: the repository on a small tmpfs filled to the last byte
FULL=$TMP/full
mkdir -p "$FULL"
if mount -t tmpfs -o size=8m tmpfs "$FULL" 2>/dev/null; then
    cleanup_hooks+=("umount '$FULL'")
    cp -a "$REPO/." "$FULL/"
    dd if=/dev/zero of="$FULL/filler" bs=64k 2>/dev/null
    check "restore from a repository on a full disk" "$LB" -r "$FULL" restore latest --target "$TMP/out3"
    diff -r "$SRC" "$TMP/out3$SRC" >/dev/null && ok "... byte for byte" || fail "... byte for byte"
    check "check of a repository on a full disk" "$LB" -r "$FULL" check
else
    skip "tmpfs mounts are not allowed here"
fi

# --no-lock reads without trying to store a lock: on the read-only mount it
# has nothing to warn about, where the plain restore above warned
check "restore --no-lock from the read-only repository" "$LB" -r "$RO" restore latest --no-lock --target "$TMP/out4"
grep -q "not writable" "$TMP/.out" && fail "... it still tried to store a lock" || ok "... without trying to store a lock"
diff -r "$SRC" "$TMP/out4$SRC" >/dev/null && ok "... byte for byte" || fail "... byte for byte"
check_rc 1 "--no-lock is refused by a verb that writes" "$LB" -r "$REPO" backup --no-lock "$SRC"
finish
