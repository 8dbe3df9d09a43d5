#!/usr/bin/env bash
# test_roundtrip.sh - a tree holding every kind of metadata lifeboat keeps
# (file sizes, modes incl. setuid/setgid/sticky, owners, nanosecond times,
# symlinks, hard links, xattrs, FIFOs, sparse files, odd names) is backed up
# and restored; a Python stdlib script compares both trees aspect by aspect.
# Also: restore --verify, SNAPSHOT:SUBPATH, --include/--exclude, and restoring
# into a non-empty target (stale file, symlink where a directory goes).
. "$(dirname "$0")/lib.sh"

REPO=${LIFEBOAT_TEST_REPO:-$TMP/repo}
SRC=$TMP/src
ROOT=0
[ "$(id -u)" -eq 0 ] && ROOT=1

check "init repository" new_repo "$REPO"

# ---------------------------------------------------------------- the tree
build_tree() {
    set -e
    mkdir -p "$SRC"
    cd "$SRC"
    : >empty
    printf 'x' >one
    head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >big.bin
    for i in $(seq 1 200); do echo "line $i of a plain text file"; done >text.txt
    mkdir -p d1/d2/d3
    echo deep >d1/d2/d3/deep.txt
    echo mid >d1/d2/mid.txt
    echo top >d1/top.cfg
    chmod 0700 d1
    chmod 0750 d1/d2
    chmod 0705 d1/d2/d3
    # symlinks: to a file, dangling, to a directory, absolute
    ln -s text.txt link-file
    ln -s no/such/target dangling
    ln -s d1 link-dir
    ln -s /etc/hostname link-abs
    # hard links: one inode with 2 names, one with 3 names in two directories
    mkdir hl hl3
    echo "two names" >hl/a
    ln hl/a hl/b
    echo "three names" >hl3/x
    ln hl3/x hl3/y
    ln hl3/x hl/z
    # permission bits
    echo '#!/bin/sh' >suid
    chmod 4755 suid
    echo sgid-file >sgid-file
    chmod 2711 sgid-file
    mkdir sgid-dir sticky-dir
    chmod 2775 sgid-dir
    chmod 1777 sticky-dir
    echo inside >sgid-dir/f
    if [ "$ROOT" -eq 1 ]; then # unreadable to anyone but root
        echo none >mode000
        chmod 000 mode000
    fi
    echo ro >mode444
    chmod 444 mode444
    # owners (root only)
    if [ "$ROOT" -eq 1 ]; then
        echo owned >owned
        chown 1234:5678 owned
        echo owned-suid >owned-suid
        chown 1234:5678 owned-suid
        chmod 6755 owned-suid # chown clears set-id bits: set them after
        echo nobody >nobody-file
        chown nobody:"$(id -gn nobody)" nobody-file
        mkdir owned-dir
        echo x >owned-dir/f
        chown 4321:8765 owned-dir
        ln -s owned owned-link
        chown -h 1234:5678 owned-link
    fi
    # extended attributes: several on one file, a binary value, one on a dir
    echo xattrs >xa
    setfattr -n user.x -v hello xa
    setfattr -n user.second -v "value with spaces" xa
    setfattr -n user.bin -v 0x00ff10fe7f00 xa
    setfattr -n user.empty xa
    setfattr -n user.dir -v on-a-dir d1/d2
    # extended attributes on a symlink and a FIFO: only the trusted.*
    # namespace allows them (root only)
    if [ "$ROOT" -eq 1 ]; then
        ln -s text.txt xattr-link
        setfattr -h -n trusted.lb -v symlink-xattr xattr-link
        mkfifo xattr-fifo
        setfattr -n trusted.lb -v fifo-xattr xattr-fifo
    fi
    # times before 1970 (negative), with and without a fraction of a second
    echo pre >pre1970-frac
    echo pre >pre1970-whole
    mkdir pre1970-dir
    # empty directory, FIFO, sparse file
    mkdir emptydir
    mkfifo fifo
    truncate -s 200M sparse
    printf 'middle' | dd of=sparse bs=1 seek=$((100 * 1024 * 1024)) conv=notrunc status=none
    printf 'end!' | dd of=sparse bs=1 seek=$((200 * 1024 * 1024 - 4)) conv=notrunc status=none
    # names: spaces + unicode, invalid UTF-8, leading dash
    echo unicode >"name with spaces ü € 日本.txt"
    echo bad >"$(printf 'bad-\xff\xfe-name')"
    mkdir "$(printf 'dir-\xc3\x28')"
    echo inbad >"$(printf 'dir-\xc3\x28')/f"
    echo dash >./-dash
    # times: every entry gets an old, distinct time; directories last, deepest first
    local i=0
    while IFS= read -r -d '' p; do
        i=$((i + 1))
        touch -h -d "2019-0$((i % 9 + 1))-1$((i % 10)) 0$((i % 10)):1$((i % 10)):2$((i % 10)).$((100000000 + i * 7919))" "$p"
    done < <(find . -mindepth 1 ! -type d -print0)
    touch -d '2021-03-04 05:06:07.123456789' text.txt
    touch -h -d '2001-02-03 04:05:06.000000001' link-file
    while IFS= read -r -d '' p; do
        i=$((i + 1))
        touch -d "2018-0$((i % 9 + 1))-0$((i % 9 + 1)) 1$((i % 10)):3$((i % 10)):4$((i % 10)).$((200000000 + i * 104729))" "$p"
    done < <(find . -mindepth 1 -depth -type d -print0)
    touch -d '2015-06-07 08:09:10' d1/d2
    touch -d '1960-01-01 00:00:00.5' pre1970-frac
    touch -d '1960-01-01 00:00:00' pre1970-whole
    touch -d '1969-12-31 23:59:59.25' pre1970-dir
}
(build_tree) >"$TMP/build.log" 2>&1 # not under `if`: set -e must stay in force
if [ $? -eq 0 ]; then ok "build the source tree"; else
    fail "build the source tree"; sed 's/^/#   /' "$TMP/build.log" | tail -20; finish; fi
touch -d '2017-01-01 00:00:00.5' "$SRC" # the backed-up directory itself

# ---------------------------------------------------------------- comparer
cat >"$TMP/cmp.py" <<'PY'
# cmp.py SRC DST [sparse]: compare two trees; print "RESULT aspect n_mismatches"
# lines and "DETAIL aspect ..." lines for the first mismatches of each aspect.
import hashlib, os, stat, sys

src, dst = os.fsencode(sys.argv[1]), os.fsencode(sys.argv[2])
aspects = ["entries", "type", "mode", "uid", "gid", "size", "mtime_file", "mtime_dir",
           "mtime_symlink", "mtime_other", "mtime_pre1970", "symlink_target", "xattrs", "xattrs_symlink_fifo",
           "content", "hardlinks", "sparse"]
bad = {a: [] for a in aspects}


def walk(root):
    out = {}
    def rec(rel):
        p = os.path.join(root, rel) if rel else root
        for de in sorted(os.scandir(p), key=lambda d: d.name):
            r = os.path.join(rel, de.name) if rel else de.name
            out[r] = os.lstat(os.path.join(root, r))
            if stat.S_ISDIR(out[r].st_mode):
                rec(r)
    rec(b"")
    return out


def xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    return {n: os.getxattr(path, n, follow_symlinks=False) for n in names}


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def kind(m):
    for f, n in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo")):
        if f(m):
            return n
    return "other"


def note(a, rel, what):
    bad[a].append("%s: %s" % (os.fsdecode(rel), what))


S, D = walk(src), walk(dst)
if set(S) != set(D):
    for r in sorted(set(S) - set(D)):
        note("entries", r, "missing from restore")
    for r in sorted(set(D) - set(S)):
        note("entries", r, "extra in restore")
for r in sorted(set(S) & set(D)):
    s, d = S[r], D[r]
    sp, dp = os.path.join(src, r), os.path.join(dst, r)
    k = kind(s.st_mode)
    if kind(d.st_mode) != k:
        note("type", r, "%s -> %s" % (k, kind(d.st_mode)))
        continue
    if s.st_mode != d.st_mode:
        note("mode", r, "%o -> %o" % (s.st_mode, d.st_mode))
    if s.st_uid != d.st_uid:
        note("uid", r, "%d -> %d" % (s.st_uid, d.st_uid))
    if s.st_gid != d.st_gid:
        note("gid", r, "%d -> %d" % (s.st_gid, d.st_gid))
    if k in ("file", "symlink") and s.st_size != d.st_size:
        note("size", r, "%d -> %d" % (s.st_size, d.st_size))
    aspect = {"file": "mtime_file", "dir": "mtime_dir", "symlink": "mtime_symlink"}.get(k, "mtime_other")
    if s.st_mtime_ns < 0:
        aspect = "mtime_pre1970"
    if s.st_mtime_ns != d.st_mtime_ns:
        note(aspect, r, "%d -> %d" % (s.st_mtime_ns, d.st_mtime_ns))
    if k == "symlink" and os.readlink(sp) != os.readlink(dp):
        note("symlink_target", r, "%r -> %r" % (os.readlink(sp), os.readlink(dp)))
    xs, xd = xattrs(sp), xattrs(dp)
    if xs != xd:
        note("xattrs" if k in ("file", "dir") else "xattrs_symlink_fifo", r, "%r -> %r" % (xs, xd))
    if k == "file":
        if digest(sp) != digest(dp):
            note("content", r, "content differs")
        if r.endswith(b"sparse") and d.st_blocks * 512 >= 1 << 20:
            note("sparse", r, "restored file allocates %d bytes for %d (the source allocates %d)" % (
                d.st_blocks * 512, d.st_size, s.st_blocks * 512))

# hard links: the groups of names sharing an inode must be the same
def groups(t):
    g = {}
    for r, s in t.items():
        if stat.S_ISREG(s.st_mode):
            g.setdefault((s.st_dev, s.st_ino), set()).add(r)
    return {frozenset(v) for v in g.values() if len(v) > 1}
gs, gd = groups(S), groups(D)
if gs != gd:
    bad["hardlinks"].append("source groups %s, restored groups %s" % (
        sorted(sorted(map(os.fsdecode, x)) for x in gs), sorted(sorted(map(os.fsdecode, x)) for x in gd)))

print("ENTRIES %d" % len(S))
for a in aspects:
    print("RESULT %s %d" % (a, len(bad[a])))
    for line in bad[a][:8]:
        print("DETAIL %s %s" % (a, line))
PY

# the source must hold what the test claims to cover (guards against a setup
# that silently produced less)
cat >"$TMP/coverage.py" <<'PY'
import os, stat, sys
root = os.fsencode(sys.argv[1])
kinds = set()
for dirpath, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(dirpath, n)
        s = os.lstat(p)
        m = s.st_mode
        if stat.S_ISLNK(m): kinds.add("symlink")
        if stat.S_ISFIFO(m): kinds.add("fifo")
        if stat.S_ISREG(m) and s.st_nlink == 3: kinds.add("3links")
        if stat.S_ISREG(m) and s.st_nlink == 2: kinds.add("2links")
        if m & stat.S_ISUID: kinds.add("setuid")
        if stat.S_ISDIR(m) and m & stat.S_ISGID: kinds.add("setgid-dir")
        if stat.S_ISDIR(m) and m & stat.S_ISVTX: kinds.add("sticky")
        if s.st_mtime_ns % 1000000000 == 123456789: kinds.add("ns-mtime")
        if stat.S_ISREG(m) and s.st_size > 100 << 20 and s.st_blocks * 512 < 1 << 20: kinds.add("sparse")
        if not stat.S_ISLNK(m) and b"user.bin" in [os.fsencode(x) for x in os.listxattr(p, follow_symlinks=False)]: kinds.add("xattr")
        try: n.decode("utf-8")
        except UnicodeDecodeError: kinds.add("bad-utf8")
        if s.st_uid == 1234: kinds.add("owner")
        if s.st_mtime_ns < 0 and s.st_mtime_ns % 1000000000: kinds.add("pre1970")
        if (stat.S_ISLNK(m) or stat.S_ISFIFO(m)) and os.listxattr(p, follow_symlinks=False): kinds.add("xattr-special")
print(" ".join(sorted(kinds)))
PY
want="2links 3links bad-utf8 fifo ns-mtime pre1970 setgid-dir setuid sparse sticky symlink xattr"
[ "$ROOT" -eq 1 ] && want="2links 3links bad-utf8 fifo ns-mtime owner pre1970 setgid-dir setuid sparse sticky symlink xattr xattr-special"
got=$(python3 "$TMP/coverage.py" "$SRC" 2>&1)
if [ "$got" = "$want" ]; then ok "source tree holds every metadata kind"; else
    fail "source tree holds every metadata kind"; note "want: $want"; note "got:  $got"; fi

# compare SRC against DIR, one check per aspect; LABEL prefixes descriptions
compare_trees() { # label dir
    local label=$1 dir=$2 out=$TMP/cmp.out a n want
    if ! python3 "$TMP/cmp.py" "$SRC" "$dir" >"$out" 2>&1; then
        fail "$label: comparer ran"; sed 's/^/#   /' "$out" | tail -20; return
    fi
    n=$(sed -n 's/^ENTRIES //p' "$out")
    want=$(find "$SRC" -mindepth 1 | wc -l) # no name in the tree holds a newline
    if [ "${n:-0}" -eq "$want" ] && [ "$want" -ge 35 ]; then ok "$label: compared all $n entries"; else
        fail "$label: compared ${n:-0} entries (the tree has $want)"; fi
    for a in entries type mode uid gid size mtime_file mtime_dir mtime_symlink mtime_other mtime_pre1970 \
        symlink_target xattrs xattrs_symlink_fifo content hardlinks sparse; do
        if [ "$ROOT" -eq 0 ] && [ "$a" = xattrs_symlink_fifo ]; then
            skip "$label: $a identical (trusted.* xattrs need root)"
            continue
        fi
        if [ "$ROOT" -eq 0 ] && { [ "$a" = uid ] || [ "$a" = gid ]; }; then
            skip "$label: $a identical (needs root)"
            continue
        fi
        n=$(sed -n "s/^RESULT $a //p" "$out")
        if [ "$n" = 0 ]; then ok "$label: $a identical"; else
            fail "$label: $a identical (${n:-?} differences)"; grep "^DETAIL $a " "$out" | sed 's/^DETAIL /#   /'; fi
    done
}

# ---------------------------------------------------------------- backup + full restore
check "backup the tree" "$LB" -r "$REPO" backup "$SRC" -q
check "check --read-data after backup" "$LB" -r "$REPO" check --read-data -q
R1=$TMP/r1
check "restore latest" "$LB" -r "$REPO" restore latest --target "$R1" -q
compare_trees "full restore" "$R1$SRC"

# the path leading to the backed-up directory is restored too
if [ -d "$R1$TMP" ] && [ "$(stat -c %a "$R1$TMP")" = "$(stat -c %a "$TMP")" ]; then
    ok "parent directories of the backed-up path restored with their modes"
else fail "parent directories of the backed-up path restored with their modes"; fi

# ---------------------------------------------------------------- --verify
R2=$TMP/r2
check_rc 0 "restore --verify succeeds" "$LB" -r "$REPO" restore latest --target "$R2" --verify
if grep -qE '^verified [1-9][0-9]* files' "$TMP/.out"; then ok "restore --verify reports verified files"; else
    fail "restore --verify reports verified files"; last_output | sed 's/^/#   /'; fi
if cmp -s "$SRC/big.bin" "$R2$SRC/big.bin" && cmp -s "$SRC/sparse" "$R2$SRC/sparse"; then
    ok "restore --verify: content matches"; else fail "restore --verify: content matches"; fi

# ---------------------------------------------------------------- SNAPSHOT:SUBPATH
R3=$TMP/r3
check "restore latest:SUBDIR" "$LB" -r "$REPO" restore "latest:$SRC/d1/d2" --target "$R3" -q
# the directory's contents land directly in the target
got=$(cd "$R3" 2>/dev/null && find . | LC_ALL=C sort | tr '\n' ' ')
want=". ./d3 ./d3/deep.txt ./mid.txt "
if [ "$got" = "$want" ]; then ok "restore latest:SUBDIR restores just that subtree"; else
    fail "restore latest:SUBDIR restores just that subtree"; note "want: $want"; note "got:  $got"; fi
if [ "$(cat "$R3/d3/deep.txt" 2>/dev/null)" = deep ] && [ "$(stat -c %a "$R3/d3" 2>/dev/null)" = 705 ] &&
    [ "$(stat -c %Y "$R3/d3")" = "$(stat -c %Y "$SRC/d1/d2/d3")" ]; then
    ok "restore latest:SUBDIR keeps content, mode and mtime"; else fail "restore latest:SUBDIR keeps content, mode and mtime"; fi
R3f=$TMP/r3f
check "restore latest:FILE" "$LB" -r "$REPO" restore "latest:$SRC/xa" --target "$R3f" -q
got=$(cd "$R3f" 2>/dev/null && find . | LC_ALL=C sort | tr '\n' ' ')
if [ "$got" = ". ./xa " ] && cmp -s "$SRC/xa" "$R3f/xa" &&
    [ "$(getfattr --absolute-names -e hex -n user.bin "$R3f/xa" 2>/dev/null | sed -n 's/^user.bin=//p')" = 0x00ff10fe7f00 ]; then
    ok "restore latest:FILE restores the file under its own name with its xattrs"
else fail "restore latest:FILE restores the file under its own name with its xattrs"; note "got: $got"; fi
check_rc 1 "restore latest:/no/such/path fails" "$LB" -r "$REPO" restore "latest:$SRC/no/such" --target "$TMP/r3x"

# ---------------------------------------------------------------- --include / --exclude
R4=$TMP/r4
check "restore --include '*.txt'" "$LB" -r "$REPO" restore latest --target "$R4" --include '*.txt' -q
got=$(cd "$R4$SRC" 2>/dev/null && find . ! -type d | LC_ALL=C sort | tr '\n' ' ')
want="./d1/d2/d3/deep.txt ./d1/d2/mid.txt ./name with spaces ü € 日本.txt ./text.txt "
if [ "$got" = "$want" ]; then ok "--include '*.txt' restores exactly the .txt files"; else
    fail "--include '*.txt' restores exactly the .txt files"; note "want: $want"; note "got:  $got"; fi
R5=$TMP/r5
check "restore --include DIR (absolute)" "$LB" -r "$REPO" restore latest --target "$R5" --include "$SRC/hl3" -q
got=$(cd "$R5$SRC" 2>/dev/null && find . | LC_ALL=C sort | tr '\n' ' ')
want=". ./hl3 ./hl3/x ./hl3/y "
if [ "$got" = "$want" ]; then ok "--include DIR restores the directory and everything below it"; else
    fail "--include DIR restores the directory and everything below it"; note "want: $want"; note "got:  $got"; fi
if [ "$(stat -c %i "$R5$SRC/hl3/x" 2>/dev/null)" = "$(stat -c %i "$R5$SRC/hl3/y" 2>/dev/null)" ] &&
    [ "$(stat -c %h "$R5$SRC/hl3/x")" = 2 ]; then
    ok "--include DIR: hard links inside the subset stay linked"; else fail "--include DIR: hard links inside the subset stay linked"; fi
R6=$TMP/r6
check "restore --exclude" "$LB" -r "$REPO" restore latest --target "$R6" --exclude big.bin --exclude sparse \
    --exclude "$SRC/d1" --exclude 'hl*' -q
got=$(cd "$R6$SRC" 2>/dev/null && find . -mindepth 1 -maxdepth 1 | LC_ALL=C sort | tr '\n' ' ')
want=$(cd "$SRC" && find . -mindepth 1 -maxdepth 1 ! -name big.bin ! -name sparse ! -name d1 ! -name 'hl*' | LC_ALL=C sort | tr '\n' ' ')
if [ "$got" = "$want" ] && [ -n "$got" ]; then ok "--exclude leaves out exactly the excluded entries"; else
    fail "--exclude leaves out exactly the excluded entries"; note "want: $want"; note "got:  $got"; fi
if [ -f "$R6$SRC/text.txt" ] && [ ! -e "$R6$SRC/link-dir/top.cfg" ] && cmp -s "$SRC/text.txt" "$R6$SRC/text.txt"; then
    ok "--exclude keeps the rest intact"; else fail "--exclude keeps the rest intact"; fi

# ---------------------------------------------------------------- non-empty target
R7=$TMP/r7
OUTSIDE=$TMP/outside
mkdir -p "$R7$SRC" "$OUTSIDE"
echo sentinel >"$OUTSIDE/sentinel"
touch -d '2010-01-01' "$OUTSIDE/sentinel" "$OUTSIDE"
echo "stale content that is longer than the snapshot's version of this file, stale stale stale" >"$R7$SRC/one"
for i in $(seq 1 300); do echo "stale $i"; done >"$R7$SRC/text.txt"
ln -s "$OUTSIDE" "$R7$SRC/d1"           # a symlink where the snapshot has a directory
echo "file where a dir goes" >"$R7$SRC/emptydir"
mkdir "$R7$SRC/link-file"               # a directory where the snapshot has a symlink
echo keep >"$R7$SRC/not-in-snapshot"    # unrelated files are left alone
echo "hard-link victim" >"$OUTSIDE/hl-victim"
ln "$OUTSIDE/hl-victim" "$R7$SRC/mode444" # a hard link to a file outside, at a restored file's path
echo "symlink victim" >"$OUTSIDE/sl-victim"
ln -s "$OUTSIDE/sl-victim" "$R7$SRC/empty" # a symlink to a file outside, at a restored file's path
touch -d '2010-01-01' "$OUTSIDE/hl-victim" "$OUTSIDE/sl-victim" "$OUTSIDE"
outside_before=$(cd "$OUTSIDE" && find . -printf '%p %s %T@ %m\n' | sort; cat hl-victim sl-victim)
check "restore into a non-empty target" "$LB" -r "$REPO" restore latest --target "$R7" -q
if [ -d "$R7$SRC/d1" ] && [ ! -L "$R7$SRC/d1" ] && [ -f "$R7$SRC/d1/d2/d3/deep.txt" ]; then
    ok "non-empty target: pre-existing symlink replaced by the directory"; else
    fail "non-empty target: pre-existing symlink replaced by the directory"; ls -la "$R7$SRC" | sed 's/^/#   /' | head -5; fi
outside_after=$(cd "$OUTSIDE" && find . -printf '%p %s %T@ %m\n' | sort; cat hl-victim sl-victim)
if [ "$outside_before" = "$outside_after" ]; then ok "non-empty target: nothing written through a symlink or hard link"; else
    fail "non-empty target: nothing written through a symlink or hard link"; note "before: $outside_before"; note "after: $outside_after"; fi
if cmp -s "$SRC/one" "$R7$SRC/one" && cmp -s "$SRC/text.txt" "$R7$SRC/text.txt"; then
    ok "non-empty target: stale files replaced by the snapshot's content"; else
    fail "non-empty target: stale files replaced by the snapshot's content"; fi
if [ -d "$R7$SRC/emptydir" ] && [ -L "$R7$SRC/link-file" ]; then
    ok "non-empty target: file->dir and dir->symlink replaced"; else
    fail "non-empty target: file->dir and dir->symlink replaced"; ls -la "$R7$SRC" | sed 's/^/#   /' | head -40; fi
if [ "$(cat "$R7$SRC/not-in-snapshot" 2>/dev/null)" = keep ]; then ok "non-empty target: unrelated file kept"; else
    fail "non-empty target: unrelated file kept"; fi
rm -f "$R7$SRC/not-in-snapshot"
compare_trees "restore over non-empty target" "$R7$SRC"

finish
