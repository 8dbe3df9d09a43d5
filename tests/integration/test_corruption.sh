#!/usr/bin/env bash
# test_corruption.sh - one flipped byte in a pack is found, named, and
# contained.
#
# Back up ~60 MB of random files (several 16 MiB packs). In three rounds, each
# on a fresh copy of the repository, flip one byte of the largest pack inside
# its blob region (near the start, in the middle, near the end of the last
# blob). Then: `check --read-data` exits non-zero and names a blob ID and a
# file of the tree; `restore` exits non-zero, lists the damaged files, and
# every file it does not list is restored byte-identical. A fourth round
# flips a byte of the pack's sealed header (blobs intact). Then a whole
# pack is deleted: plain `check` reports it missing, restore salvages the rest.
# Finally one index file is damaged: check names it once and checks the rest,
# prune refuses, the snapshot whose blobs other index files name restores.
. "$(dirname "$0")/lib.sh"

R=$TMP/repo
SRC=$TMP/src
new_repo "$R" || { fail "init repository"; finish; }

# ---- source: 24 random files of 200 KB - 3 MB (~60 MB) and small text files ----
python3 - "$SRC" <<'EOF'
import os, random, sys
src = sys.argv[1]
rnd = random.Random(20240601)
total = 0
for i in range(24):
    d = os.path.join(src, "big" if i % 2 else "data", "sub%d" % (i % 3))
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(200_000, 3_000_000) if i % 4 else rnd.randint(2_500_000, 4_000_000)
    with open(os.path.join(d, "f%02d.bin" % i), "wb") as f:
        f.write(os.urandom(size))
    total += size
os.makedirs(os.path.join(src, "text"), exist_ok=True)
for i in range(30):
    with open(os.path.join(src, "text", "note%02d.txt" % i), "w") as f:
        f.write(("line %d of note %d\n" % (i, i)) * (i * 10 + 1))
print("# source: %d bytes" % total)
EOF
check "backup of ~60 MB" "$LB" -r "$R" backup "$SRC" -q
npacks=$(find "$R/data" -type f | wc -l)
if [ "$npacks" -ge 3 ]; then ok "backup wrote several packs ($npacks)"; else fail "backup wrote several packs ($npacks)"; fi
check "check --read-data passes before any damage" "$LB" -r "$R" check --read-data

# the largest pack: filled to the target size by data blobs alone
pack_rel=$(cd "$R" && find data -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
short=${pack_rel##*/}
short=${short:0:8}
note "damaging $pack_rel ($(stat -c %s "$R/$pack_rel") bytes)"

# blob_end PACK: where the blobs end (pack = blobs || sealed header || u32le len)
blob_end() {
    python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
print(len(d) - 4 - struct.unpack("<I", d[-4:])[0])' "$1"
}
# flip PACK OFFSET: invert one byte
flip() {
    python3 -c '
import sys
p, off = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0xFF]))' "$1" "$2"
}

# compare_rest TARGET DAMAGEDLIST: every source file not in DAMAGEDLIST is
# restored byte-identical; prints the paths that differ
compare_rest() {
    local target=$1 list=$2 f bad=0
    while IFS= read -r -d '' f; do
        grep -qxF "$f" "$list" && continue
        if ! cmp -s "$f" "$target$f"; then
            echo "# differs or missing: $f"
            bad=$((bad + 1))
        fi
    done < <(find "$SRC" -type f -print0)
    [ "$bad" -eq 0 ]
}

end=$(blob_end "$R/$pack_rel")
size=$(stat -c %s "$R/$pack_rel")
rounds=("start:100" "middle:$((end / 2))" "end:$((end - 100))")
for round in "${rounds[@]}"; do
    name=${round%%:*} off=${round#*:}
    C=$TMP/repo-$name
    cp -a "$R" "$C"
    flip "$C/$pack_rel" "$off"
    note "round $name: flipped byte $off of $size (blobs end at $end)"

    "$LB" -r "$C" check >"$TMP/plain.out" 2>&1
    note "round $name: check without --read-data exits $? (it does not read pack contents)"

    "$LB" -r "$C" check --read-data >"$TMP/check.out" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then ok "$name: check --read-data exits non-zero ($rc)"; else fail "$name: check --read-data exits non-zero (exit 0)"; fi
    if grep -qE '[0-9a-f]{64}' "$TMP/check.out"; then
        ok "$name: check names the damaged blob by ID"
    else
        fail "$name: check names the damaged blob by ID"
        sed 's/^/#   /' "$TMP/check.out" | head
    fi
    grep -oE "file '$SRC/[^']*'" "$TMP/check.out" | sed "s/^file '//; s/'\$//" | sort -u >"$TMP/check.files"
    if [ -s "$TMP/check.files" ] && xargs -d '\n' -a "$TMP/check.files" ls >/dev/null 2>&1; then
        ok "$name: check names the file(s) the blob belongs to ($(wc -l <"$TMP/check.files"))"
    else
        fail "$name: check names the file(s) the blob belongs to"
        sed 's/^/#   /' "$TMP/check.out" | head
    fi

    T=$TMP/restore-$name
    "$LB" -r "$C" restore latest --target "$T" >"$TMP/restore.out" 2>"$TMP/restore.err"
    rc=$?
    if [ "$rc" -ne 0 ]; then ok "$name: restore exits non-zero ($rc)"; else fail "$name: restore exits non-zero (exit 0)"; fi
    grep -oE "^  $SRC/.*" "$TMP/restore.err" | sed 's/^  //' | sort -u >"$TMP/damaged"
    if [ -s "$TMP/damaged" ]; then
        ok "$name: restore lists the damaged file(s) on stderr ($(tr '\n' ' ' <"$TMP/damaged"))"
    else
        fail "$name: restore lists the damaged file(s) on stderr"
        sed 's/^/#   /' "$TMP/restore.err" | head
    fi
    check "$name: restore lists the same files as check" cmp "$TMP/damaged" "$TMP/check.files"
    check "$name: every file not listed is restored byte-identical" compare_rest "$T" "$TMP/damaged"
    # each listed file really is damaged (not a false alarm): it differs from the source
    falsealarm=""
    while IFS= read -r f; do cmp -s "$f" "$T$f" && falsealarm+=" $f"; done <"$TMP/damaged"
    if [ -z "$falsealarm" ]; then ok "$name: every listed file really differs"; else fail "$name: listed but intact:$falsealarm"; fi
    rm -rf "$C" "$T"
done

# ---- one chosen data blob (located through the index by lb-craft) ----
CRAFT=${LIFEBOAT_BUILD_DIR:-}/tests/harness/lb-craft
if [ -x "$CRAFT" ]; then
    victim=$SRC/data/sub0/f00.bin
    read -r vpack voff vlen vtype vid < <("$CRAFT" "$R" locate latest "$victim")
    C=$TMP/repo-chosen
    cp -a "$R" "$C"
    flip "$C/$vpack" $((voff + vlen / 2))
    note "chosen: flipped the middle of $vtype blob ${vid:0:8} of $victim"
    "$LB" -r "$C" check --read-data >"$TMP/check.out" 2>&1
    rc=$?
    grep -oE "file '$SRC/[^']*'" "$TMP/check.out" | sed "s/^file '//; s/'\$//" | sort -u >"$TMP/check.files"
    if [ "$rc" -ne 0 ] && grep -q "$vid" "$TMP/check.out" && [ "$(cat "$TMP/check.files")" = "$victim" ]; then
        ok "chosen: check --read-data names blob ${vid:0:8} and exactly its file"
    else
        fail "chosen: check --read-data names blob ${vid:0:8} and exactly its file (exit $rc)"
        sed 's/^/#   /' "$TMP/check.out" | head
    fi
    T=$TMP/restore-chosen
    "$LB" -r "$C" restore latest --target "$T" >"$TMP/restore.out" 2>"$TMP/restore.err"
    rc=$?
    grep -oE "^  $SRC/.*" "$TMP/restore.err" | sed 's/^  //' | sort -u >"$TMP/damaged"
    if [ "$rc" -ne 0 ] && [ "$(cat "$TMP/damaged")" = "$victim" ]; then
        ok "chosen: restore exits non-zero ($rc) listing exactly $victim"
    else
        fail "chosen: restore exits non-zero listing exactly $victim (exit $rc)"
        sed 's/^/#   /' "$TMP/restore.err" | head
    fi
    check "chosen: every other file is restored byte-identical" compare_rest "$T" "$TMP/damaged"
    rm -rf "$C" "$T"

    # ---- the tree blob of one leaf directory ----
    leaf=$SRC/text
    read -r tpack toff tlen ttype tid < <("$CRAFT" "$R" locate latest "$leaf")
    C=$TMP/repo-tree
    cp -a "$R" "$C"
    flip "$C/$tpack" $((toff + tlen / 2))
    note "tree: flipped the middle of $ttype blob ${tid:0:8} (directory $leaf)"
    "$LB" -r "$C" check --read-data >"$TMP/check.out" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] && grep -q "$tid" "$TMP/check.out" && grep -qF "'$leaf'" "$TMP/check.out"; then
        ok "tree: check --read-data names tree blob ${tid:0:8} and the directory $leaf"
    else
        fail "tree: check --read-data names tree blob ${tid:0:8} and the directory (exit $rc)"
        sed 's/^/#   /' "$TMP/check.out" | head
    fi
    T=$TMP/restore-tree
    "$LB" -r "$C" restore latest --target "$T" >"$TMP/restore.out" 2>"$TMP/restore.err"
    rc=$?
    if [ "$rc" -ne 0 ] && grep -qF "$leaf" "$TMP/restore.err"; then
        ok "tree: restore exits non-zero ($rc) naming $leaf"
    else
        fail "tree: restore exits non-zero naming $leaf (exit $rc)"
        sed 's/^/#   /' "$TMP/restore.err" | head
    fi
    # everything outside the unreadable directory is intact and must come back
    find "$leaf" -type f | sort >"$TMP/lost"
    check "tree: every file outside $leaf is restored byte-identical" compare_rest "$T" "$TMP/lost"
    rm -rf "$C" "$T"
else
    skip "lb-craft not built: chosen-blob rounds skipped"
fi

# ---- a flipped byte in the pack header (all blobs intact) ----
C=$TMP/repo-header
cp -a "$R" "$C"
flip "$C/$pack_rel" $((size - 20))
"$LB" -r "$C" check --read-data >"$TMP/check.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q "pack $short" "$TMP/check.out"; then
    ok "header: check --read-data exits non-zero ($rc) naming pack $short"
else
    fail "header: check --read-data exits non-zero naming pack $short (exit $rc)"
    sed 's/^/#   /' "$TMP/check.out" | head
fi
T=$TMP/restore-header
check "header: restore still succeeds (blobs are read through the index)" "$LB" -r "$C" restore latest --target "$T"
: >"$TMP/none"
check "header: every file is restored byte-identical" compare_rest "$T" "$TMP/none"
rm -rf "$C" "$T"

# ---- a whole pack deleted ----
C=$TMP/repo-missing
cp -a "$R" "$C"
rm "$C/$pack_rel"
"$LB" -r "$C" check >"$TMP/check.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -q "$short.*missing" "$TMP/check.out"; then
    ok "missing pack: check exits non-zero ($rc) and reports pack $short missing"
else
    fail "missing pack: check exits non-zero and reports pack $short missing (exit $rc)"
    sed 's/^/#   /' "$TMP/check.out" | head
fi
T=$TMP/restore-missing
"$LB" -r "$C" restore latest --target "$T" >"$TMP/restore.out" 2>"$TMP/restore.err"
rc=$?
grep -oE "^  $SRC/.*" "$TMP/restore.err" | sed 's/^  //' | sort -u >"$TMP/damaged"
if [ "$rc" -ne 0 ] && [ -s "$TMP/damaged" ]; then
    ok "missing pack: restore exits non-zero ($rc) listing $(wc -l <"$TMP/damaged") damaged file(s)"
else
    fail "missing pack: restore exits non-zero listing damaged files (exit $rc)"
    sed 's/^/#   /' "$TMP/restore.err" | head
fi
check "missing pack: every file not listed is restored byte-identical" compare_rest "$T" "$TMP/damaged"
"$LB" -r "$C" check --read-data >"$TMP/check.out" 2>&1
rc=$?
grep -oE "file '$SRC/[^']*'" "$TMP/check.out" | sed "s/^file '//; s/'\$//" | sort -u >"$TMP/check.files"
if [ "$rc" -ne 0 ] && cmp -s "$TMP/check.files" "$TMP/damaged"; then
    ok "missing pack: check --read-data names the same files restore lists"
else
    fail "missing pack: check --read-data names the same files restore lists (exit $rc)"
    diff "$TMP/check.files" "$TMP/damaged" | sed 's/^/#   /' | head
fi

# ---- a damaged index file ----
# After a second backup there are two index files, one per snapshot; the one
# that sorts first is damaged (a loader that stops at the first bad file then
# has no index at all). check names it (one error), still checks both
# snapshots and loads the other file: the only other error is the root tree
# of the snapshot whose index file is damaged. prune refuses naming it and
# changes nothing. The other snapshot still restores; this one fails clearly.
C=$TMP/repo-index
cp -a "$R" "$C"
snap1=$(ls "$C/snapshots")
ls "$C/index" >"$TMP/index.before"
SRC2=$TMP/src2
mkdir -p "$SRC2"
head -c 300000 /dev/urandom >"$SRC2/other.bin"
check "damaged index: a second backup" "$LB" -r "$C" backup "$SRC2" -q
snap2=$(ls "$C/snapshots" | grep -vx "$snap1")
index2=$(ls "$C/index" | sort | comm -13 <(sort "$TMP/index.before") -)
damaged=$(ls "$C/index" | sort | head -1)
if [ "$damaged" = "$index2" ]; then
    good_snap=$snap1 good_src=$SRC bad_snap=$snap2
else
    good_snap=$snap2 good_src=$SRC2 bad_snap=$snap1
fi
if [ "$(ls "$C/index" | wc -l)" -eq 2 ] && [ -n "$snap2" ] && [ -n "$index2" ]; then
    flip "$C/index/$damaged" 40
    note "damaged index file ${damaged:0:8} (of snapshot ${bad_snap:0:8}); snapshot ${good_snap:0:8} is intact"
    "$LB" -r "$C" check --json >"$TMP/check.json" 2>"$TMP/check.err"
    rc=$?
    verdict=$(python3 - "$TMP/check.json" "$damaged" <<'EOF2'
import json, sys
j = json.load(open(sys.argv[1]))
idx = [e for e in j["errors"] if e.startswith("index:")]
other = [e for e in j["errors"] if not e.startswith("index:")]
bad = []
if len(idx) != 1 or sys.argv[2] not in idx[0]:
    bad.append("index errors: %r" % idx)
if j["snapshots"] != 2:
    bad.append("snapshots checked: %d" % j["snapshots"])
if len(other) != 1 or "('/')" not in other[0]:
    bad.append("other errors (want the one root tree): %r" % other[:4])
print("; ".join(bad) or "ok")
EOF2
)
    if [ "$rc" -eq 1 ] && [ "$verdict" = ok ]; then
        ok "damaged index: check exits 1, names ${damaged:0:8} once, loads the other index file, checks both snapshots"
    else
        fail "damaged index: check exits 1, names the file once, loads the rest, checks both snapshots (exit $rc: $verdict)"
        sed 's/^/#   /' "$TMP/check.json" "$TMP/check.err" | head -20
    fi
    (cd "$C" && find . -path ./locks -prune -o -type f -printf '%p %s\n' | sort) >"$TMP/listing.before"
    "$LB" -r "$C" prune >"$TMP/prune.out" 2>&1
    rc=$?
    (cd "$C" && find . -path ./locks -prune -o -type f -printf '%p %s\n' | sort) >"$TMP/listing.after"
    if [ "$rc" -ne 0 ] && grep -q "$damaged" "$TMP/prune.out" && cmp -s "$TMP/listing.before" "$TMP/listing.after"; then
        ok "damaged index: prune refuses (exit $rc) naming the file, and changes nothing"
    else
        fail "damaged index: prune refuses naming the file and changes nothing (exit $rc)"
        sed 's/^/#   /' "$TMP/prune.out" | head
    fi
    T=$TMP/restore-index
    "$LB" -r "$C" restore "$good_snap" --target "$T" >"$TMP/restore-good.out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ] && grep -q "warning:.*$damaged" "$TMP/restore-good.out"; then
        ok "damaged index: the other snapshot still restores, with a warning naming ${damaged:0:8}"
    else
        fail "damaged index: the other snapshot still restores, with a warning naming the file (exit $rc)"
        sed 's/^/#   /' "$TMP/restore-good.out" | head
    fi
    check "damaged index: every file of it is byte-identical" diff -r "$good_src" "$T$good_src"
    "$LB" -r "$C" restore "$bad_snap" --target "$TMP/restore-index2" >"$TMP/restore.out" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] && grep -qE "$damaged|not in the index" "$TMP/restore.out"; then
        ok "damaged index: restoring its snapshot fails clearly (exit $rc)"
    else
        fail "damaged index: restoring its snapshot fails clearly (exit $rc)"
        sed 's/^/#   /' "$TMP/restore.out" | head
    fi
    rm -rf "$C" "$T" "$TMP/restore-index2"
else
    fail "damaged index: the second backup wrote one snapshot and one index file"
fi

finish
