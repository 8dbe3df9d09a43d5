#!/usr/bin/env bash
# test_crash.sh - a backup killed with SIGKILL at any moment harms nothing.
#
# A tree of random files (1-20 MB) and many small text files is backed up.
# Each round changes the tree (two big files get ~16 MB of new random
# content, small files are edited, added, removed), so the next backup has
# chunks to read and packs, an index and a snapshot to write, and runs that
# backup under a small driver (tests/harness/killer.py) that SIGKILLs it at one of 12 kill
# points: by time (10 ms, 50 ms, 15%..75% of a measured backup) and by event,
# polled every millisecond in the repository: a pack's temporary file appears
# (pack mid-write), the first new pack is durable (index not yet written),
# the index's temporary file appears, the index is durable (snapshot not yet
# written), the snapshot's temporary file appears.
#
# After each kill: `unlock` succeeds and leaves no lock, `check --read-data`
# exits 0 (notes about unreferenced packs are fine), a backup of the same
# state completes, and every snapshot taken so far restores byte-identical to
# the state it was taken from (hard-linked copies of each state; edits always
# replace files, so old copies keep their contents).
#
# A kill that comes too late (the backup already finished) is retried with a
# fresh change (time points: with a shorter delay), up to twice; the
# finished backup's snapshot joins the states to restore.
#
# LB_CRASH_MB sets the size of the tree's big files (default 30: restoring
# every snapshot after every kill grows quadratically; 150 MB takes minutes).
# The small files are kept to 150: each costs a file creation per restore.
. "$(dirname "$0")/lib.sh"

R=$TMP/repo
SRC=$TMP/src
STATES=$TMP/states
MB=${LB_CRASH_MB:-30}
mkdir -p "$STATES"
new_repo "$R" || { fail "init repository"; finish; }

python3 - "$SRC" "$MB" <<'EOF'
import os, random, sys
src, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
os.makedirs(os.path.join(src, "big"))
total, i = 0, 0
while total < mb * 1000 * 1000:
    size = max(1_000_000, min(rnd.randint(1_000_000, 20_000_000), mb * 1000 * 1000 - total))
    with open(os.path.join(src, "big", "r%02d.bin" % i), "wb") as f:
        f.write(os.urandom(size))
    total, i = total + size, i + 1
for d in range(10):
    p = os.path.join(src, "text", "d%d" % d)
    os.makedirs(p)
    for k in range(15):
        with open(os.path.join(p, "n%02d.txt" % k), "w") as f:
            f.write("".join("dir %d note %d line %d\n" % (d, k, j) for j in range(rnd.randint(1, 400))))
print("# tree: %d big files, %d bytes, 150 small files" % (i, total))
EOF

# mutate N: change the tree; every change writes a new inode (os.replace),
# so hard-linked copies of earlier states keep their contents
mutate() {
    python3 - "$SRC" "$1" <<'EOF'
import os, random, sys
src, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1000 + n)
def put(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
big = sorted(os.listdir(os.path.join(src, "big")))
for k in range(2):
    name = big[(2 * n + k) % len(big)]
    put(os.path.join(src, "big", name), os.urandom(rnd.randint(7_000_000, 9_000_000)))
tdir = os.path.join(src, "text", "d%d" % (n % 10))
notes = sorted(os.listdir(tdir))
for name in rnd.sample(notes, 3):
    p = os.path.join(tdir, name)
    put(p, open(p, "rb").read() + ("change %d\n" % n).encode())
os.remove(os.path.join(tdir, notes[-1]))
put(os.path.join(tdir, "new-%03d.txt" % n), ("added by change %d\n" % n).encode() * 50)
EOF
}

# the shared kill-point driver (tests/harness/killer.py, also used by the soak):
# killer.py REPO MODE VALUE -- CMD... runs CMD, SIGKILLs it at the kill point
# (time S, packtmp N, pack N, indextmp N, index N, snaptmp N) and prints
# "killed SECONDS WHAT" or, when CMD finished first, "exited CODE SECONDS WHAT"
KILLER=$(cd "$(dirname "$0")/../harness" && pwd)/killer.py

declare -A state_of # snapshot ID -> state directory
nstates=0
# record_state: copy the tree's current state (hard links) and map every
# snapshot not yet mapped to it
record_state() {
    nstates=$((nstates + 1))
    cp -al "$SRC" "$STATES/$nstates"
    local id
    for id in $("$LB" -r "$R" snapshots --json | python3 -c 'import json,sys; [print(s["id"]) for s in json.load(sys.stdin)]'); do
        [ -n "${state_of[$id]:-}" ] || state_of[$id]=$STATES/$nstates
    done
}

# restore_all: restore every snapshot and compare it with its state
restore_all() {
    local id bad=0 n=0 t=$TMP/restore
    for id in "${!state_of[@]}"; do
        n=$((n + 1))
        rm -rf "$t"
        if ! "$LB" -r "$R" restore "$id" --target "$t" -q >"$TMP/r.out" 2>&1; then
            echo "# restore ${id:0:8} failed: $(head -3 "$TMP/r.out")"
            bad=$((bad + 1))
        elif ! diff -r --no-dereference "${state_of[$id]}" "$t$SRC" >"$TMP/r.diff" 2>&1; then
            echo "# snapshot ${id:0:8} differs from state ${state_of[$id]##*/}: $(head -3 "$TMP/r.diff")"
            bad=$((bad + 1))
        fi
    done
    rm -rf "$t"
    echo "# restored and compared $n snapshot(s)"
    [ "$bad" -eq 0 ] && [ "$n" -gt 0 ]
}

# ---- first backup, then one timed backup of a round's worth of changes ----
check "initial backup" "$LB" -r "$R" backup "$SRC" -q
record_state
mutate 0
t0=$(date +%s.%N)
check "timed backup of one round's changes" "$LB" -r "$R" backup "$SRC" -q
t1=$(date +%s.%N)
record_state
D=$(python3 -c "print(round(max(0.05, $t1 - $t0), 3))")
note "one round's backup takes ${D}s"

# ---- 12 kill points: by time, and by what the backup is writing ----
points=("time 0.01" "time 0.05" "frac 0.15" "frac 0.3" "frac 0.45" "frac 0.6" "frac 0.75"
    "packtmp 1" "pack 1" "indextmp 1" "index 1" "snaptmp 1")
landed=0
round=0
mut=0 # every backup attempt gets a fresh change
for point in "${points[@]}"; do
    round=$((round + 1))
    read -r mode value <<<"$point"
    for attempt in 1 2 3; do
        if [ "$mode" = frac ]; then
            kmode=time kvalue=$(python3 -c "print(round($value * $D * 0.8 ** ($attempt - 1), 3))")
        else
            kmode=$mode kvalue=$value
        fi
        mut=$((mut + 1))
        mutate "$mut"
        result=$(python3 "$KILLER" "$R" "$kmode" "$kvalue" -- "$LB" -r "$R" backup "$SRC" -q)
        if [[ $result == killed* ]]; then
            landed=$((landed + 1))
            note "round $round ($kmode $kvalue): $result"
            break
        fi
        note "round $round ($kmode $kvalue): not landed, attempt $attempt: $result"
        record_state # the backup finished: its snapshot is a state like any other
    done

    check "round $round: unlock after the kill" "$LB" -r "$R" unlock
    # a kill during the lock's own write can leave a .tmp- file: not a lock
    # (lifeboat never lists it; prune removes it), so only lock objects count
    if [ -z "$(ls -A "$R/locks" | grep -v '^\.tmp-')" ]; then ok "round $round: no lock is left"; else
        fail "round $round: no lock is left"; ls -A "$R/locks" | sed 's/^/#   /'; fi
    "$LB" -r "$R" check --read-data >"$TMP/check.out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        ok "round $round: check --read-data passes"
    else
        fail "round $round: check --read-data passes (exit $rc)"
        sed 's/^/#   /' "$TMP/check.out" | head
    fi
    t0=$(date +%s.%N)
    check "round $round: the next backup completes" "$LB" -r "$R" backup "$SRC" -q
    t1=$(date +%s.%N)
    # after a kill that landed, this backup redid the same work: track its duration
    [[ $result == killed* ]] && D=$(python3 -c "print(round(max(0.05, ($D + $t1 - $t0) / 2), 3))")
    record_state
    check "round $round: every snapshot so far restores byte-identical" restore_all
done

note "$landed of ${#points[@]} kill points landed while the backup was running"
if [ "$landed" -ge 10 ]; then
    ok "at least 10 kills landed mid-backup ($landed)"
else
    fail "at least 10 kills landed mid-backup ($landed)"
fi
"$LB" -r "$R" check >"$TMP/check.out" 2>&1
note "final check: $(grep -c 'not referenced' "$TMP/check.out") unreferenced pack(s) noted;" \
    "$(find "$R" -name '.tmp-*' | wc -l) temporary file(s) left in the repository"
finish
