#!/usr/bin/env bash
# test_prune.sh - forget and prune keep exactly what the policy keeps, and
# give the space back.
#
# A tree of random binary files (0.5-3 MB each, ~25 MB) changes between 12
# backups recorded under times spread over four months (every round replaces
# two files, adds one, removes one and edits a small text file: ~55 MB of
# churn in all; round 5 only adds a 6 MB file that round 6 removes, so whole
# packs become unused). Each state is kept as a hard-linked copy (changes
# always replace files, so old copies keep their contents) plus a sha256
# manifest.
#
# Checked:
#   - forget without a policy refuses (exit 1, says why) and removes nothing;
#   - forget --dry-run --json names exactly the snapshots the policy drops and
#     removes nothing; forget removes exactly those (times via snapshots --json);
#   - prune --dry-run changes no file of the repository and predicts what
#     prune then does; prune frees space; a second prune changes nothing;
#   - check --read-data passes; every kept snapshot restores byte for byte
#     (manifest and diff -r against the saved state);
#   - the pruned repository is within 10% of a fresh repository holding only
#     the kept states (du -sb);
#   - --max-repack-size limits repacking (on a copy of the repository);
#   - forget ID removes exactly that snapshot (by short ID);
#   - packs left by a backup SIGKILLed mid-upload are removed by prune
#     (packs_unreferenced > 0), and so is the temporary file of the pack it
#     was writing when killed; the dead backup's lock does not block prune;
#     check --read-data passes afterwards;
#   - forget --keep-last 1 --prune --json: one run, and its JSON output
#     carries prune's summary too (bytes_read, ...).
. "$(dirname "$0")/lib.sh"
export TZ=UTC

R=$TMP/repo
SRC=$TMP/src
STATES=$TMP/states
OUT=$TMP/out
mkdir -p "$STATES" "$OUT"
new_repo "$R" || { fail "init repository"; finish; }

jf() { # file key: a field of a JSON object
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null
}
snap_times() { # repo: sorted snapshot times, one per line
    "$LB" -r "$1" snapshots --json | python3 -c 'import json,sys; [print(s["time"]) for s in sorted(json.load(sys.stdin), key=lambda s: s["time"])]'
}
repo_files() { # repo: every object with its size (locks left out)
    (cd "$1" && find . -type f ! -path './locks/*' -printf '%p %s\n' | sort)
}
du_b() { du -sb "$1" | cut -f1; }
pack_names() { find "$1/data" -type f ! -name '.*' -printf '%f\n' | sort; } # not the .tmp-* files objects are written to first
data_packs() { pack_names "$1" | wc -l; }

# ---------------------------------------------------------------- the history
python3 - "$SRC" <<'EOF'
import os, random, sys
src = sys.argv[1]
rnd = random.Random(11)
os.makedirs(os.path.join(src, "bin"))
os.makedirs(os.path.join(src, "txt"))
for i in range(14):
    with open(os.path.join(src, "bin", "f%02d.bin" % i), "wb") as f:
        f.write(os.urandom(rnd.randint(500_000, 3_000_000)))
for i in range(20):
    with open(os.path.join(src, "txt", "n%02d.txt" % i), "w") as f:
        f.write("".join("note %d line %d\n" % (i, j) for j in range(rnd.randint(5, 500))))
EOF

# mutate ROUND: replace two binary files, add one, remove one, edit a note;
# every change writes a new inode (os.replace)
mutate() {
    python3 - "$SRC" "$1" <<'EOF'
import os, random, sys
src, r = sys.argv[1], int(sys.argv[2])
rnd = random.Random(100 + r)
def put(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
b = os.path.join(src, "bin")
if r == 5:  # only a short-lived file: backup #5's data packs hold nothing else
    put(os.path.join(src, "short-lived.bin"), os.urandom(6_000_000))
    sys.exit(0)
if r == 6:
    os.remove(os.path.join(src, "short-lived.bin"))
names = sorted(os.listdir(b))
for name in rnd.sample(names, 2):
    put(os.path.join(b, name), os.urandom(rnd.randint(500_000, 3_000_000)))
put(os.path.join(b, "g%02d.bin" % r), os.urandom(rnd.randint(500_000, 3_000_000)))
os.remove(os.path.join(b, rnd.choice(names)))
p = os.path.join(src, "txt", "n%02d.txt" % (r % 20))
put(p, open(p, "rb").read() + ("edited in round %d\n" % r).encode())
EOF
}

TIMES=("" # 1-based
    "2024-01-05 10:00:00" "2024-01-20 10:00:00" "2024-02-03 10:00:00" "2024-02-17 10:00:00"
    "2024-03-02 10:00:00" "2024-03-16 10:00:00" "2024-03-30 10:00:00" "2024-04-10 10:00:00"
    "2024-04-10 18:00:00" "2024-04-11 09:00:00" "2024-04-12 09:00:00" "2024-04-12 21:00:00")
# policy: --keep-last 2 --keep-daily 3 --keep-monthly 2 --keep-tag keep
#   last 2: #12 #11; daily 3: #12 (04-12) #10 (04-11) #9 (04-10, newest of that
#   day: not #8); monthly 2: #12 (April) #7 (March); tag keep: #2
POLICY=(--keep-last 2 --keep-daily 3 --keep-monthly 2 --keep-tag keep)
KEPT=(2 7 9 10 11 12)
REMOVED=(1 3 4 5 6 8)
iso() { echo "${1/ /T}.000000000Z"; }

declare -a ID
bad=0
for k in $(seq 1 12); do
    [ "$k" -gt 1 ] && mutate "$k"
    tags=(--tag auto)
    [ "$k" -eq 2 ] && tags=(--tag keep)
    if "$LB" -r "$R" backup "$SRC" --time "${TIMES[$k]}" "${tags[@]}" --json >"$OUT/b$k.json" 2>"$OUT/b$k.err"; then
        ID[$k]=$(jf "$OUT/b$k.json" snapshot_id)
    else
        bad=$((bad + 1))
        sed 's/^/#   /' "$OUT/b$k.err" | head -5
    fi
    cp -al "$SRC" "$STATES/$k"
    (cd "$SRC" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$STATES/$k.sha256"
done
if [ "$bad" -eq 0 ]; then ok "12 backups with --time spread over four months"; else fail "12 backups ($bad failed)"; fi
size_full=$(du_b "$R")
churn=$(python3 -c 'import json,sys; print(sum(json.load(open(f))["data_added"] for f in sys.argv[1:]))' "$OUT"/b*.json)
note "history: $(wc -l <"$STATES/12.sha256") files in the last state, $churn bytes of data added over 12 backups, repository $size_full bytes"

# ---------------------------------------------------------------- forget
want_all=$(for k in $(seq 1 12); do iso "${TIMES[$k]}"; done | sort)
want_kept=$(for k in "${KEPT[@]}"; do iso "${TIMES[$k]}"; done | sort)
want_removed=$(for k in "${REMOVED[@]}"; do iso "${TIMES[$k]}"; done | sort)

"$LB" -r "$R" forget >"$OUT/nopol.out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q "no policy" "$OUT/nopol.out"; then ok "forget without a policy refuses (exit 1: $(head -1 "$OUT/nopol.out"))"; else
    fail "forget without a policy refuses (exit $rc)"; sed 's/^/#   /' "$OUT/nopol.out" | head -5; fi
if [ "$(snap_times "$R")" = "$want_all" ]; then ok "forget without a policy removed nothing"; else fail "forget without a policy removed nothing"; fi

"$LB" -r "$R" forget "${POLICY[@]}" --dry-run --json >"$OUT/dry.json" 2>"$OUT/dry.err"
rc=$?
got=$(python3 -c 'import json,sys; print("\n".join(sorted(s["time"] for g in json.load(open(sys.argv[1]))["groups"] for s in g["remove"])))' "$OUT/dry.json" 2>/dev/null)
if [ "$rc" -eq 0 ] && [ "$got" = "$want_removed" ]; then ok "forget --dry-run --json names exactly the snapshots the policy drops"; else
    fail "forget --dry-run --json names exactly the snapshots the policy drops (exit $rc)"; echo "$got" | sed 's/^/#   got /'; fi
if [ "$(snap_times "$R")" = "$want_all" ]; then ok "forget --dry-run removed nothing"; else fail "forget --dry-run removed nothing"; fi

check "forget ${POLICY[*]}" "$LB" -r "$R" forget "${POLICY[@]}"
got=$(snap_times "$R")
if [ "$got" = "$want_kept" ]; then ok "forget kept exactly #${KEPT[*]}"; else
    fail "forget kept exactly #${KEPT[*]}"; echo "$got" | sed 's/^/#   kept /'; fi
size_forgotten=$(du_b "$R")

# ---------------------------------------------------------------- prune --dry-run
before=$(repo_files "$R")
"$LB" -r "$R" prune --dry-run --json >"$OUT/pdry.json" 2>"$OUT/pdry.err"
rc=$?
after=$(repo_files "$R")
if [ "$rc" -eq 0 ] && [ "$before" = "$after" ] && [ "$(du_b "$R")" = "$size_forgotten" ]; then
    ok "prune --dry-run changes nothing (same files, sizes, du)"; else
    fail "prune --dry-run changes nothing (exit $rc)"; diff <(echo "$before") <(echo "$after") | head -5 | sed 's/^/#   /'; fi
dry_del=$(jf "$OUT/pdry.json" packs_deleted)
dry_rep=$(jf "$OUT/pdry.json" packs_repacked)
dry_reprb=$(jf "$OUT/pdry.json" bytes_repacked)
note "prune --dry-run: $(cat "$OUT/pdry.json")"
if [ "${dry_del:-0}" -ge 2 ] && [ "${dry_rep:-0}" -ge 2 ]; then ok "prune has work: $dry_del packs to delete, $dry_rep to repack"; else
    fail "prune has work: at least 2 packs to delete (${dry_del:-?}) and 2 to repack (${dry_rep:-?})"; fi
cp -a "$R" "$TMP/repo2" # for --max-repack-size below

# ---------------------------------------------------------------- prune
"$LB" -r "$R" prune --json >"$OUT/p1.json" 2>"$OUT/p1.err"
rc=$?
if [ "$rc" -eq 0 ]; then ok "prune"; else fail "prune (exit $rc)"; sed 's/^/#   /' "$OUT/p1.err" | head -5; fi
note "prune: $(cat "$OUT/p1.json")"
v="$(jf "$OUT/p1.json" packs_deleted)/$(jf "$OUT/p1.json" packs_repacked)"
if [ "$v" = "$dry_del/$dry_rep" ]; then ok "prune deleted and repacked what --dry-run predicted ($v)"; else
    fail "prune deleted and repacked what --dry-run predicted (dry run $dry_del/$dry_rep, prune $v)"; fi
size_pruned=$(du_b "$R")
note "repository: $size_full bytes with 12 snapshots, $size_pruned after forget + prune"
v=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(int(j["bytes_unused_after"] <= 0.05 * j["bytes_used"] + 1))' "$OUT/p1.json" 2>/dev/null)
if [ "$v" = 1 ]; then ok "unused space after prune is at most 5% of used"; else fail "unused space after prune is at most 5% of used"; fi
if [ "$size_pruned" -lt "$size_forgotten" ]; then ok "prune shrank the repository"; else fail "prune shrank the repository ($size_forgotten -> $size_pruned)"; fi
if [ "$(snap_times "$R")" = "$want_kept" ]; then ok "prune kept every snapshot"; else fail "prune kept every snapshot"; fi

before=$(repo_files "$R")
"$LB" -r "$R" prune --json >"$OUT/p2.json" 2>"$OUT/p2.err"
rc=$?
after=$(repo_files "$R")
v="$(jf "$OUT/p2.json" packs_deleted)/$(jf "$OUT/p2.json" packs_repacked)/$(jf "$OUT/p2.json" packs_unreferenced)/$(jf "$OUT/p2.json" bytes_deleted)"
if [ "$rc" -eq 0 ] && [ "$v" = "0/0/0/0" ] && [ "$before" = "$after" ]; then ok "a second prune deletes nothing and changes no file"; else
    fail "a second prune deletes nothing and changes no file (exit $rc, deleted/repacked/unreferenced/bytes $v)"; fi

check "check --read-data after forget + prune" "$LB" -r "$R" check --read-data

# ---------------------------------------------------------------- restore kept
restore_cmp() { # repo id state-number: restore and compare with the state
    local t=$TMP/restore
    rm -rf "$t"
    "$LB" -r "$1" restore "$2" --target "$t" -q >"$OUT/r.out" 2>&1 || { echo "# restore failed: $(head -3 "$OUT/r.out")"; return 1; }
    (cd "$t$SRC" && sha256sum -c --quiet "$STATES/$3.sha256") >"$OUT/r.sum" 2>&1 || { echo "# manifest mismatch: $(head -3 "$OUT/r.sum")"; return 1; }
    diff -r "$STATES/$3" "$t$SRC" >"$OUT/r.diff" 2>&1 || { echo "# diff: $(head -3 "$OUT/r.diff")"; return 1; }
    rm -rf "$t"
}
for k in "${KEPT[@]}"; do
    check "kept snapshot #$k (${TIMES[$k]}) restores byte for byte" restore_cmp "$R" "${ID[$k]}" "$k"
done

# ---------------------------------------------------------------- fresh repository of the kept states
F=$TMP/fresh
new_repo "$F"
bad=0
for k in "${KEPT[@]}"; do
    rm -rf "$SRC"
    cp -al "$STATES/$k" "$SRC"
    "$LB" -r "$F" backup "$SRC" --time "${TIMES[$k]}" -q >"$OUT/f.out" 2>&1 || bad=$((bad + 1))
done
if [ "$bad" -eq 0 ]; then ok "fresh repository with only the ${#KEPT[@]} kept states"; else fail "fresh repository with only the kept states ($bad backups failed)"; fi
size_fresh=$(du_b "$F")
note "du -sb: pruned repository $size_pruned bytes, fresh repository $size_fresh bytes ($(python3 -c "print('%+.2f%%' % (100.0 * ($size_pruned - $size_fresh) / $size_fresh))"))"
v=$(python3 -c "print(int(abs($size_pruned - $size_fresh) <= 0.10 * $size_fresh))")
if [ "$v" = 1 ]; then ok "pruned repository within 10% of the fresh one"; else fail "pruned repository within 10% of the fresh one ($size_pruned vs $size_fresh)"; fi

# ---------------------------------------------------------------- --max-repack-size
R2=$TMP/repo2
limit=$((dry_reprb / 2))
"$LB" -r "$R2" prune --max-repack-size "$limit" --json >"$OUT/lim.json" 2>"$OUT/lim.err"
rc=$?
note "prune --max-repack-size $limit: $(cat "$OUT/lim.json")"
lrep=$(jf "$OUT/lim.json" packs_repacked)
lrepb=$(jf "$OUT/lim.json" bytes_repacked)
if [ "$rc" -eq 0 ] && [ -n "$lrep" ] && [ "$lrep" -lt "$dry_rep" ] && [ "$lrepb" -le "$limit" ]; then
    ok "--max-repack-size $limit: $lrep of $dry_rep packs repacked, $lrepb bytes copied"; else
    fail "--max-repack-size $limit limits repacking (exit $rc, packs_repacked ${lrep:-?} of $dry_rep, bytes_repacked ${lrepb:-?})"; fi
if [ "$(jf "$OUT/lim.json" packs_deleted)" = "$dry_del" ]; then ok "--max-repack-size still deletes every unused pack"; else
    fail "--max-repack-size still deletes every unused pack ($(jf "$OUT/lim.json" packs_deleted) of $dry_del)"; fi
check "check --read-data after a limited prune" "$LB" -r "$R2" check --read-data
check "latest snapshot restores after a limited prune" restore_cmp "$R2" "${ID[12]}" 12
rm -rf "$R2"

# ---------------------------------------------------------------- forget ID
short=${ID[10]:0:8}
check "forget $short (one snapshot by short ID)" "$LB" -r "$R" forget "$short"
want=$(for k in "${KEPT[@]}"; do [ "$k" -ne 10 ] && iso "${TIMES[$k]}"; done | sort)
if [ "$(snap_times "$R")" = "$want" ]; then ok "forget ID removed exactly that snapshot"; else
    fail "forget ID removed exactly that snapshot"; snap_times "$R" | sed 's/^/#   /'; fi

# ---------------------------------------------------------------- prune after a killed backup
pack_names "$R" >"$OUT/packs0"
packs0=$(data_packs "$R")
nsnap=$(snap_times "$R" | wc -l)
mkfifo "$TMP/fifo"
# enough that a 16 MiB pack is uploaded although the backup holds back up to
# 16 MiB it has read and each saver worker (one per core) fills its own pack
python3 -c '
import os, sys, time
with open(sys.argv[1], "wb") as f:
    f.write(os.urandom(int(sys.argv[2]) * 1024 * 1024))
    f.flush()
    time.sleep(60)
' "$TMP/fifo" $((16 + 17 * $(nproc) + 8)) &
prod=$!
"$LB" -r "$R" backup --stdin --stdin-filename big.bin -q <"$TMP/fifo" >"$OUT/k.out" 2>&1 &
bpid=$!
cleanup_hooks+=("kill $prod $bpid 2>/dev/null")
# SIGKILL the backup once it has uploaded a pack, preferably while it is
# writing another one (a ".tmp-*" file: a data pack spools into one in the
# repository's root, other objects are written to one next to their name,
# then renamed); poll every millisecond
caught=$(python3 - "$R/data" "$bpid" "$packs0" <<'EOF'
import os, signal, sys, time
d, pid, packs0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def scan():
    packs = 0
    tmps = sum(1 for n in os.listdir(os.path.dirname(d)) if n.startswith(".tmp"))
    for sub in os.listdir(d):
        try:
            names = os.listdir(os.path.join(d, sub))
        except OSError:
            continue
        for n in names:
            if n.startswith("."):
                tmps += 1
            else:
                packs += 1
    return packs, tmps
caught, end = "nothing", time.time() + 20
while time.time() < end:
    p, t = scan()
    if p > packs0 and t > 0:
        caught = "while writing a pack"
        break
    time.sleep(0.001)
if caught == "nothing" and scan()[0] > packs0:
    caught = "after its packs were written"
os.kill(pid, signal.SIGKILL)
print(caught)
EOF
)
note "backup killed: $caught"
wait "$bpid" 2>/dev/null
rc=$?
kill "$prod" 2>/dev/null
wait "$prod" 2>/dev/null
packs1=$(data_packs "$R")
comm -13 "$OUT/packs0" <(pack_names "$R") >"$OUT/killed-packs" # the killed backup's packs
note "temporary files left by the killed backup: $(find "$R" -type f -name '.tmp*' | wc -l)"
if [ "$rc" -eq 137 ] && [ "$packs1" -gt "$packs0" ]; then ok "backup SIGKILLed mid-upload ($((packs1 - packs0)) pack(s) written)"; else
    fail "backup SIGKILLed mid-upload (exit $rc, packs $packs0 -> $packs1)"; fi
if [ "$(snap_times "$R" | wc -l)" -eq "$nsnap" ]; then ok "the killed backup wrote no snapshot"; else fail "the killed backup wrote no snapshot"; fi
"$LB" -r "$R" prune --json >"$OUT/pk.json" 2>"$OUT/pk.err"
rc=$?
note "prune after the kill: $(cat "$OUT/pk.json")"
unref=$(jf "$OUT/pk.json" packs_unreferenced)
if [ "$rc" -eq 0 ] && [ "${unref:-0}" -gt 0 ]; then ok "prune (the dead backup's lock does not block it) removes its packs: packs_unreferenced $unref"; else
    fail "prune removes the killed backup's packs (exit $rc, packs_unreferenced ${unref:-?})"; sed 's/^/#   /' "$OUT/pk.err" | head -5; fi
packs2=$(data_packs "$R")
tmps=$(find "$R/data" "$R" -maxdepth 1 -type f -name '.tmp*' | wc -l)
tmps=$((tmps + $(find "$R/data" -mindepth 2 -type f -name '.*' | wc -l)))
if [ "$caught" != "while writing a pack" ]; then skip "prune removes the temporary file of the pack the killed backup was writing (not caught mid-write this time)"
elif [ "$tmps" -eq 0 ]; then ok "prune removes the temporary file of the pack the killed backup was writing"; else
    fail "prune removes the temporary file of the pack the killed backup was writing ($tmps .tmp-* file(s) left in the repository: nothing else removes them)"; fi
left=$(comm -12 "$OUT/killed-packs" <(pack_names "$R") | wc -l)
if [ "$left" -eq 0 ] && [ -s "$OUT/killed-packs" ]; then ok "none of the killed backup's $(wc -l <"$OUT/killed-packs") pack(s) is left (packs: $packs0 -> $packs1 -> $packs2)"; else
    fail "none of the killed backup's packs is left ($left of $(wc -l <"$OUT/killed-packs") still there)"; fi
"$LB" -r "$R" check --read-data >"$OUT/ck.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && ! grep -qi "unreferenced\|not referenced\|no index" "$OUT/ck.out"; then ok "check --read-data passes with nothing unreferenced left"; else
    fail "check --read-data passes with nothing unreferenced left (exit $rc)"; sed 's/^/#   /' "$OUT/ck.out" | head -5; fi
check "latest snapshot still restores byte for byte" restore_cmp "$R" "${ID[12]}" 12

# ---------------------------------------------------------------- forget --prune --json
# one run, one lock: the JSON output must carry prune's figures too (bytes_read, ...)
"$LB" -r "$R" forget --keep-last 1 --prune --json >"$OUT/fp.json" 2>"$OUT/fp.err"
rc=$?
if [ "$rc" -eq 0 ] && [ "$(snap_times "$R")" = "$(iso "${TIMES[12]}")" ]; then ok "forget --keep-last 1 --prune keeps only #12"; else
    fail "forget --keep-last 1 --prune keeps only #12 (exit $rc)"; sed 's/^/#   /' "$OUT/fp.err" | head -5; fi
if grep -q '"message_type": *"prune"' "$OUT/fp.json" && grep -q '"bytes_read"' "$OUT/fp.json"; then
    ok "forget --prune --json prints prune's summary (bytes_read, packs_deleted, ...)"; else
    fail "forget --prune --json prints prune's summary (bytes_read, packs_deleted, ...): output has only forget's groups"; fi
check "check --read-data after forget --prune" "$LB" -r "$R" check --read-data
check "#12 restores byte for byte after forget --prune" restore_cmp "$R" "${ID[12]}" 12
finish
