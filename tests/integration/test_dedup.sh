#!/usr/bin/env bash
# test_dedup.sh - deduplication at scale. A reproducible ~1 GiB tree (two
# 400 MiB random files + ~200 MiB of small text-like files) is backed up;
# a second backup of the unchanged tree must grow the repository by under
# 1 MiB; after overwriting 100 KB in the middle of each large file (200 KB in
# all) a third backup must grow it by about the changed chunks (under 12 MB).
. "$(dirname "$0")/lib.sh"

REPO=$TMP/repo
SRC=$TMP/src
OUT=$TMP/out # command outputs: creating files in $TMP itself would change
             # $TMP's mtime, which the snapshots record for the path to $SRC
MiB=$((1024 * 1024))
mkdir -p "$OUT"

stream() { # seed bytes: reproducible pseudo-random bytes
    openssl enc -aes-128-ctr -pass "pass:$1" -nosalt </dev/zero 2>/dev/null | head -c "$2"
}
stat_field() { # key: a field of `stats --json`
    "$LB" -r "$REPO" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
repo_size() { stat_field repository_size; } # bytes of every repository file
ancestors() { stat -c '%n %y %z %a %u %g' / /tmp "$TMP"; }
du_size() { du -sb "$REPO" | cut -f1; }
json_field() { # file key
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null
}
now() { date +%s.%N; }
elapsed() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }

check "init repository" new_repo "$REPO"

# ---------------------------------------------------------------- the tree
t0=$(now)
mkdir -p "$SRC/big" "$SRC/small"
stream big-one $((400 * MiB)) >"$SRC/big/one.bin"
stream big-two $((400 * MiB)) >"$SRC/big/two.bin"
# ~200 MiB of base64 text (compressible to about 3/4) cut into 300 files of
# varying sizes spread over 10 directories
stream small $((170 * MiB)) | base64 -w 76 | python3 -c '
import os, random, sys
rng = random.Random(20240501)
root = sys.argv[1]
n = 0
while n < 300:
    size = rng.randint(1024, 1400 * 1024)
    data = sys.stdin.buffer.read(size)
    if not data:
        break
    d = os.path.join(root, "d%02d" % (n % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%03d.txt" % n), "wb") as f:
        f.write(data)
    n += 1
' "$SRC/small"
nfiles=$(find "$SRC" -type f | wc -l)
total=$(du -sb --apparent-size "$SRC" | cut -f1)
note "generated $nfiles files, $total bytes in $(elapsed "$t0" "$(now)") s"
if [ "$nfiles" -eq 302 ] && [ "$total" -ge $((990 * MiB)) ]; then ok "generated ~1 GiB in 302 files"; else
    fail "generated ~1 GiB in 302 files ($nfiles files, $total bytes)"; fi

# ---------------------------------------------------------------- first backup
s0=$(repo_size)
anc_before=$(ancestors)
t0=$(now)
"$LB" -r "$REPO" backup "$SRC" --json >"$OUT/b1.json" 2>"$OUT/b1.err"
rc=$?
t1=$(now)
s1=$(repo_size)
note "first backup: $(elapsed "$t0" "$t1") s, repository $s0 -> $s1 bytes (+$((s1 - s0))), du -sb $(du_size)"
if [ "$rc" -eq 0 ]; then ok "first backup"; else fail "first backup (exit $rc)"; sed 's/^/#   /' "$OUT/b1.err" | head; fi
files_new=$(json_field "$OUT/b1.json" files_new)
if [ "$files_new" = "$nfiles" ]; then ok "first backup: files_new = $nfiles"; else fail "first backup: files_new = ${files_new:-?}, want $nfiles"; fi
# data_blobs_new counts data blobs (docs/commands.md), not tree blobs: after
# the first backup it equals the index's data blob count
v="$(json_field "$OUT/b1.json" data_blobs_new) $(stat_field data_blobs)"
if [ "${v% *}" = "${v#* }" ]; then ok "first backup: data_blobs_new = data blobs in the index (${v% *})"; else
    fail "first backup: data_blobs_new = data blobs in the index (data_blobs_new ${v% *}, index ${v#* })"; fi
# random data does not compress: the repository holds at least the 800 MiB of
# random bytes plus the compressed text, and no more than the input + 2%
if [ "$((s1 - s0))" -ge $((800 * MiB)) ] && [ "$((s1 - s0))" -le $((total + total / 50)) ]; then
    ok "first backup stores between 800 MiB and the input size + 2%"
else fail "first backup stores between 800 MiB and the input size + 2% (stored $((s1 - s0)) for $total)"; fi

# ---------------------------------------------------------------- unchanged second backup
blobs1=$(stat_field data_blobs)
t0=$(now)
"$LB" -r "$REPO" backup "$SRC" --json >"$OUT/b2.json" 2>"$OUT/b2.err"
rc=$?
t1=$(now)
s2=$(repo_size)
secs=$(elapsed "$t0" "$t1")
note "unchanged backup: $secs s, repository $s1 -> $s2 bytes (+$((s2 - s1))), du -sb $(du_size)"
if [ "$rc" -eq 0 ]; then ok "second (unchanged) backup"; else fail "second (unchanged) backup (exit $rc)"; sed 's/^/#   /' "$OUT/b2.err" | head; fi
if [ "$((s2 - s1))" -lt "$MiB" ]; then ok "unchanged backup grows the repository by under 1 MiB (+$((s2 - s1)) bytes)"; else
    fail "unchanged backup grows the repository by under 1 MiB (+$((s2 - s1)) bytes)"; fi
v=$(json_field "$OUT/b2.json" files_unmodified)
if [ "$v" = "$nfiles" ]; then ok "unchanged backup: files_unmodified = $nfiles"; else fail "unchanged backup: files_unmodified = ${v:-?}, want $nfiles"; fi
anc_after=$(ancestors)
v=$(json_field "$OUT/b2.json" data_added)
if [ "$anc_before" = "$anc_after" ]; then
    if [ "$v" = 0 ]; then ok "unchanged backup: data_added = 0"; else fail "unchanged backup: data_added = ${v:-?}, want 0"; fi
else
    # something else created a file in /tmp meanwhile: the trees recording
    # the path down to $SRC change, nothing else may
    note "changed between the backups: $(diff <(echo "$anc_before") <(echo "$anc_after") | sed -n 's/^> \([^ ]*\) .*/\1/p' | tr '\n' ' ')"
    note "so new tree blobs for the path to \$SRC are expected"
    if [ -n "$v" ] && [ "$v" -lt 16384 ]; then ok "unchanged backup: data_added = $v (< 16 KiB, ancestor trees only)"; else
        fail "unchanged backup: data_added = ${v:-?}, want < 16 KiB (ancestor trees only)"; fi
fi
v=$(stat_field data_blobs)
if [ "$v" = "$blobs1" ]; then ok "unchanged backup: no new data blob in the index ($v)"; else
    fail "unchanged backup: data blobs in the index $blobs1 -> $v"; fi
v="$(json_field "$OUT/b2.json" dirs_new) $(json_field "$OUT/b2.json" dirs_unmodified)"
if [ "${v% *}" = 0 ] && [ "${v#* }" -ge 13 ]; then ok "unchanged backup: no new dir, the 13 dirs of the tree unmodified ($v)"; else
    fail "unchanged backup: dirs_new dirs_unmodified = $v, want 0 and >= 13"; fi
v="$(json_field "$OUT/b2.json" files_new) $(json_field "$OUT/b2.json" files_changed)"
if [ "$v" = "0 0" ]; then ok "unchanged backup: no new or changed files"; else fail "unchanged backup: files_new files_changed = $v, want 0 0"; fi
if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 5 else 1)' "$secs"; then
    ok "unchanged backup is fast ($secs s < 5 s)"; else fail "unchanged backup is fast ($secs s, want < 5 s)"; fi
# the unchanged snapshot has the same root tree as the first (when nothing
# on the path to $SRC changed meanwhile)
trees=$("$LB" -r "$REPO" snapshots --json | python3 -c 'import json,sys; print(" ".join(s["tree"] for s in json.load(sys.stdin)))')
set -- $trees
if [ "$anc_before" != "$anc_after" ]; then skip "unchanged backup: same root tree as the first (/tmp changed meanwhile)"
elif [ "$#" -eq 2 ] && [ "$1" = "$2" ]; then ok "unchanged backup: same root tree as the first"
else fail "unchanged backup: same root tree as the first ($trees)"; fi

# ---------------------------------------------------------------- 200 KB of edits
stream edit-one 102400 | dd of="$SRC/big/one.bin" bs=1024 seek=$((200 * 1024)) conv=notrunc status=none
stream edit-two 102400 | dd of="$SRC/big/two.bin" bs=1024 seek=$((150 * 1024 + 3)) conv=notrunc status=none
t0=$(now)
"$LB" -r "$REPO" backup "$SRC" --json >"$OUT/b3.json" 2>"$OUT/b3.err"
rc=$?
t1=$(now)
s3=$(repo_size)
added=$(json_field "$OUT/b3.json" data_added)
note "edited backup: $(elapsed "$t0" "$t1") s, repository $s2 -> $s3 bytes (+$((s3 - s2))), data_added $added, du -sb $(du_size)"
if [ "$rc" -eq 0 ]; then ok "third backup after 200 KB of edits"; else fail "third backup after 200 KB of edits (exit $rc)"; sed 's/^/#   /' "$OUT/b3.err" | head; fi
grow=$((s3 - s2))
if [ "$grow" -ge 204800 ] && [ "$grow" -lt $((12 * 1000 * 1000)) ]; then
    ok "edited backup grows the repository by the changed chunks: 200 KB <= +$grow bytes < 12 MB"
else fail "edited backup grows the repository by the changed chunks: +$grow bytes, want 200 KB .. 12 MB"; fi
v="$(json_field "$OUT/b3.json" files_changed) $(json_field "$OUT/b3.json" files_unmodified) $(json_field "$OUT/b3.json" files_new)"
if [ "$v" = "2 $((nfiles - 2)) 0" ]; then ok "edited backup: 2 files changed, the rest unmodified"; else
    fail "edited backup: files_changed files_unmodified files_new = $v, want 2 $((nfiles - 2)) 0"; fi

# ---------------------------------------------------------------- restore the edited files
R=$TMP/restore
check "restore the edited files" "$LB" -r "$REPO" restore latest --target "$R" --include "$SRC/big" -q
if cmp "$SRC/big/one.bin" "$R$SRC/big/one.bin" && cmp "$SRC/big/two.bin" "$R$SRC/big/two.bin"; then
    ok "restored edited files are identical to the source"; else fail "restored edited files are identical to the source"; fi
got=$(cd "$R$SRC" && find . | LC_ALL=C sort | tr '\n' ' ')
if [ "$got" = ". ./big ./big/one.bin ./big/two.bin " ]; then ok "--include restored only the big files"; else
    fail "--include restored only the big files ($got)"; fi
rm -rf "$R"
# the first snapshot still restores the unedited content
first=$("$LB" -r "$REPO" snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
check "restore the first snapshot's big/one.bin" "$LB" -r "$REPO" restore "$first:$SRC/big/one.bin" --target "$R" -q
if stream big-one $((400 * MiB)) | cmp - "$R/one.bin"; then ok "first snapshot still holds the original content"; else
    fail "first snapshot still holds the original content"; fi

finish
