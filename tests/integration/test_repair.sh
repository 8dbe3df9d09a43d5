#!/usr/bin/env bash
# test_repair.sh - repair index rebuilds the index from the packs' headers;
# repair snapshots drops what a lost pack held and keeps everything else.
#
# Three backups of a changing tree of random files (4 KB to 3 MB, several
# packs), each state kept as a copy.
#
# Checked:
#   - with every index file deleted, repair index rewrites the index (JSON
#     counts), every snapshot restores byte for byte, check --read-data passes;
#   - a pack whose header cannot be read (truncated) is named in the report,
#     left out, and repair index exits 3 (on a copy of the repository);
#   - after a data pack holding a chosen file is deleted: repair index and
#     repair snapshots with --dry-run change no object of the repository (and
#     the dry run of repair snapshots lists the chosen file); repair index
#     drops the pack; repair snapshots writes one "repaired" snapshot (with
#     "original" = the old ID) per snapshot that lost something, lists the
#     chosen file; every repaired snapshot restores every file it still
#     names byte for byte, and what it names plus what was listed lost is
#     exactly the state; the originals are kept; after forgetting them by ID
#     check --read-data passes;
#   - a second repair snapshots changes nothing; an unknown subcommand is a
#     usage error naming it.
. "$(dirname "$0")/lib.sh"

CRAFT=$(dirname "$LB")/tests/harness/lb-craft
R=$TMP/repo
SRC=$TMP/src
OUT=$TMP/out
mkdir -p "$OUT"
new_repo "$R" || { fail "init repository"; finish; }

repo_files() { (cd "$1" && find . -type f ! -path './locks/*' -printf '%p %s\n' | sort); }
jf() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null; }

ID=()
for k in 0 1 2; do
    python3 - "$SRC" "$k" <<'PY'
import os, random, sys
src, k = sys.argv[1], int(sys.argv[2])
rnd = random.Random(100 + k)
for d in ("bin", "txt", "deep/er/still"):
    os.makedirs(os.path.join(src, d), exist_ok=True)
for i in range(4):  # each round adds binary files, so every backup writes data packs
    with open(os.path.join(src, "bin", "r%d-f%d" % (k, i)), "wb") as f:
        f.write(rnd.randbytes(rnd.randint(4096, 3 << 20)))
with open(os.path.join(src, "txt", "note%d.txt" % k), "w") as f:
    f.write("round %d\n" % k * 50)
with open(os.path.join(src, "deep/er/still", "leaf"), "w") as f:
    f.write("leaf %d\n" % k)
PY
    mkdir -p "$TMP/state$k" && cp -a "$SRC/." "$TMP/state$k/"
    "$LB" -r "$R" backup "$SRC" --json >"$OUT/b$k.json" 2>"$OUT/b$k.err" || fail "backup $k: $(head -3 "$OUT/b$k.err")"
    ID[k]=$(tail -1 "$OUT/b$k.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshot_id"])')
done
note "snapshots ${ID[*]}; $(find "$R/data" -type f | wc -l) packs"

restore_cmp() { # repo id state-number: restore and compare with the state
    local t=$TMP/restore
    rm -rf "$t"
    "$LB" -r "$1" restore "$2" --target "$t" -q >"$OUT/r.out" 2>&1 || { echo "# restore failed: $(head -3 "$OUT/r.out")"; return 1; }
    diff -r "$TMP/state$3" "$t$SRC" >"$OUT/r.diff" 2>&1 || { echo "# diff: $(head -3 "$OUT/r.diff")"; return 1; }
    rm -rf "$t"
}

# ------------------------------------------------- (a) every index file deleted
cp -a "$R" "$TMP/damaged"
rm -f "$R"/index/*
"$LB" -r "$R" repair index --json >"$OUT/ri.json" 2>"$OUT/ri.err"
rc=$?
npacks=$(find "$R/data" -type f ! -name '.*' | wc -l)
if [ "$rc" -eq 0 ] && [ "$(jf "$OUT/ri.json" packs_read)" = "$npacks" ] && [ "$(jf "$OUT/ri.json" packs_damaged)" = 0 ] &&
    [ "$(jf "$OUT/ri.json" index_files_written)" -ge 1 ] && [ "$(ls "$R/index" | wc -l)" = "$(jf "$OUT/ri.json" index_files_written)" ]; then
    ok "repair index with every index file deleted reads all $npacks packs and writes the index"
else
    fail "repair index (exit $rc): $(cat "$OUT/ri.json" "$OUT/ri.err" | head -5)"
fi
for k in 0 1 2; do
    check "snapshot $k restores byte for byte after repair index" restore_cmp "$R" "${ID[k]}" "$k"
done
check "check --read-data passes after repair index" "$LB" -r "$R" check --read-data

# ------------------------------------------------- a pack whose header is damaged
victim=$(find "$TMP/damaged/data" -type f ! -name '.*' | head -1)
truncate -s -10 "$victim"
check_rc 3 "repair index exits 3 when a pack header cannot be read" "$LB" -r "$TMP/damaged" repair index
if last_output | grep -q "$(basename "$victim")"; then ok "the damaged pack is named"; else fail "damaged pack not named: $(last_output | head -3)"; fi

# ------------------------------------------------- (b) a data pack deleted
loc=$("$CRAFT" "$R" locate "${ID[1]}" "$SRC/bin/r1-f0" 2>"$OUT/loc.err")
pack=${loc%% *}
if [ -n "$pack" ] && [ -f "$R/$pack" ]; then ok "located the pack of bin/r1-f0 ($pack)"; else fail "locate: $loc $(cat "$OUT/loc.err")"; fi
rm -f "$R/$pack"

# (c) dry runs change nothing
repo_files "$R" >"$OUT/before"
check "repair index --dry-run" "$LB" -r "$R" repair index --dry-run
repo_files "$R" >"$OUT/after"
check "repair index --dry-run changes no object" cmp "$OUT/before" "$OUT/after"

check "repair index after a pack was deleted" "$LB" -r "$R" repair index
repo_files "$R" >"$OUT/before"
check "repair snapshots --dry-run" "$LB" -r "$R" repair snapshots --dry-run
if last_output | grep -q "removed file $SRC/bin/r1-f0"; then ok "the dry run lists bin/r1-f0"; else fail "dry run: $(last_output | head -5)"; fi
repo_files "$R" >"$OUT/after"
check "repair snapshots --dry-run changes no object" cmp "$OUT/before" "$OUT/after"

"$LB" -r "$R" repair snapshots --json >"$OUT/rs.json" 2>"$OUT/rs.err"
rc=$?
[ "$rc" -eq 0 ] && ok "repair snapshots" || fail "repair snapshots (exit $rc): $(head -3 "$OUT/rs.err")"
python3 - "$OUT/rs.json" "$SRC/bin/r1-f0" >"$OUT/rs.map" 2>"$OUT/rs.py" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["message_type"] == "repair_snapshots" and j["snapshots_checked"] == 3, j
assert j["snapshots_repaired"] == len(j["snapshots"]) >= 2, j  # snapshots 1 and 2 hold r1-f0
lost = [l["path"] for s in j["snapshots"] for l in s["removed"]]
assert sys.argv[2] in lost, lost
for s in j["snapshots"]:
    print(s["original"], s["id"], " ".join(l["path"] for l in s["removed"]))
PY
[ $? -eq 0 ] && ok "repair snapshots --json lists bin/r1-f0 and a new snapshot per damaged one" || fail "json: $(cat "$OUT/rs.py" | tail -3)"

repaired_cmp() { # original new state lost...: the new snapshot is the state minus the lost files
    local orig=$1 new=$2 k=$3 t=$TMP/restore
    shift 3
    rm -rf "$t" "$TMP/expect" && cp -a "$TMP/state$k" "$TMP/expect"
    for p in "$@"; do rm -rf "$TMP/expect${p#$SRC}"; done
    "$LB" -r "$R" restore "$new" --target "$t" -q >"$OUT/r.out" 2>&1 || { echo "# restore failed: $(head -3 "$OUT/r.out")"; return 1; }
    diff -r "$TMP/expect" "$t$SRC" >"$OUT/r.diff" 2>&1 || { echo "# diff: $(head -3 "$OUT/r.diff")"; return 1; }
    "$LB" -r "$R" snapshots --json >"$OUT/s.json" || return 1
    python3 - "$OUT/s.json" "$orig" "$new" <<'PY' || return 1
import json, sys
snaps = {s["id"]: s for s in json.load(open(sys.argv[1]))}
o, n = sys.argv[2], sys.argv[3]
assert o in snaps, "original gone"
assert "repaired" in snaps[n].get("tags", []), snaps[n]
assert snaps[n].get("original") == o, snaps[n]
assert snaps[n]["paths"] == snaps[o]["paths"] and snaps[n]["hostname"] == snaps[o]["hostname"]
PY
    rm -rf "$t"
}
while read -r orig new lost; do
    k=-1
    for i in 0 1 2; do [ "${ID[i]}" = "$orig" ] && k=$i; done
    # shellcheck disable=SC2086
    check "repaired snapshot of ${orig:0:8} restores every other file byte for byte, keeps the original" repaired_cmp "$orig" "$new" "$k" $lost
done <"$OUT/rs.map"
check "snapshot 0 (nothing lost) still restores byte for byte" restore_cmp "$R" "${ID[0]}" 0

repo_files "$R" >"$OUT/before"
check "a second repair snapshots" "$LB" -r "$R" repair snapshots
repo_files "$R" >"$OUT/after"
check "a second repair snapshots changes nothing" cmp "$OUT/before" "$OUT/after"

for orig in $(cut -d' ' -f1 "$OUT/rs.map"); do "$LB" -r "$R" forget "$orig" -q || fail "forget $orig"; done
check "check --read-data passes once the originals are forgotten" "$LB" -r "$R" check --read-data

check_rc 1 "repair index --forget is a usage error" "$LB" -r "$R" repair index --forget
check_rc 1 "repair with an unknown subcommand is a usage error" "$LB" -r "$R" repair everything
if last_output | grep -q "everything"; then ok "the usage error names it"; else fail "usage error: $(last_output)"; fi
finish
