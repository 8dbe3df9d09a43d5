#!/usr/bin/env bash
# test_concurrency.sh - backup and prune at the same time, in several
# interleavings; afterwards every snapshot restores and check --read-data
# passes (docs/concurrency.md).
#
# The repository holds snapshots of a changing tree and of a stream (a
# `--stdin-from-command` backup whose producer sends a first part, then
# waits for a go-ahead file before sending 2 MB more: the backup's upload
# phase lasts as long as the test wants, and no interleaving depends on the
# machine's speed; where a pack must be uploaded before the pause, the first
# part is 16 + 17 x cores + 8 MiB, else 8 MiB). Before every round the tree
# changes and is backed up, and `forget --keep-last 2` drops old snapshots,
# so prune has packs to delete (and repack).
#
#   (a) prune first, the stream backup starts while prune holds its lock:
#       prune SIGSTOPped as soon as its lock file appears, and as soon as its
#       new index file appears (it is about to delete, or deleting): the
#       backup must exit 11 naming prune's PID and write nothing, prune then
#       completes; and once without stopping (a plain race: each may win,
#       neither may break anything);
#   (b) the stream backup first, prune while it runs: as soon as the
#       backup's lock appears, after its first pack is uploaded, after the
#       producer sent its first part: prune must exit 11 naming the backup's
#       PID, and the backup completes;
#   (c) prune right after the backup finished (immediately; after another
#       forget; after another tree backup): both succeed;
#   (d) lock loss (what steps 3-4 of docs/concurrency.md defend against):
#       the backup's lock file is deleted while it runs, and prune runs
#       during the backup and proceeds. The backup must then either finish
#       with a complete snapshot or fail with "no snapshot written" and write
#       nothing. Three timings: the stream repeats a just-forgotten
#       snapshot's data, which prune deletes (d1); prune runs before the
#       producer sent anything (d2); prune runs after the backup uploaded its
#       first pack (d3).
#
# After each round `check` passes; at the end every snapshot in the
# repository is restored and compared with what it was taken from, and
# `check --read-data` passes.
. "$(dirname "$0")/lib.sh"
export TZ=UTC

R=$TMP/repo
SRC=$TMP/src
STATES=$TMP/states
DATA=$TMP/data # stream parts
OUT=$TMP/out
mkdir -p "$STATES" "$DATA" "$OUT"
new_repo "$R" || { fail "init repository"; finish; }
bgpids=()
# on the way out: let a waiting producer finish (it gives up after 60 s anyway), wake and end our processes
cleanup_hooks+=(': >"$OUT/go1"; : >"$OUT/go2"; for p in "${bgpids[@]+"${bgpids[@]}"}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done')

jf() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null; }
snap_ids() { "$LB" -r "$R" snapshots --json | python3 -c 'import json,sys; [print(s["id"]) for s in json.load(sys.stdin)]'; }
nsnaps() { snap_ids | wc -l; }
# objects only: local storage writes each one to a ".tmp-*" name first
data_packs() { find "$R/data" -type f ! -name '.*' | wc -l; }
nlocks() { find "$R/locks" -type f ! -name '.*' | wc -l; }
now() { date +%s%N; }
# wait_until CMD...: poll (5 ms) until CMD succeeds; false after 20 s
wait_until() {
    local end=$(($(now) + 20000000000))
    until "$@"; do
        [ "$(now)" -gt "$end" ] && return 1
        sleep 0.005
    done
}
has_lock() { [ "$(nlocks)" -gt 0 ]; }
packs_above() { [ "$(data_packs)" -gt "$1" ]; }

declare -A EXPECT # snapshot ID -> "tree DIR" or "stream SHA256"
declare -A SPART  # stream snapshot ID -> its first part
last_stream=
nstate=0

python3 - "$SRC" <<'EOF'
import os, random, sys
src = sys.argv[1]
rnd = random.Random(5)
os.makedirs(src)
for i in range(8):
    with open(os.path.join(src, "f%02d.bin" % i), "wb") as f:
        f.write(os.urandom(rnd.randint(500_000, 2_000_000)))
EOF
mutate() { # round
    python3 - "$SRC" "$1" <<'EOF'
import os, random, sys
src, r = sys.argv[1], int(sys.argv[2])
rnd = random.Random(r)
for name in rnd.sample(sorted(os.listdir(src)), 2):
    p = os.path.join(src, name)
    with open(p + ".tmp", "wb") as f:
        f.write(os.urandom(rnd.randint(500_000, 2_000_000)))
    os.replace(p + ".tmp", p)
EOF
}

# tree_backup: back up the tree and remember its state
tree_backup() {
    nstate=$((nstate + 1))
    cp -al "$SRC" "$STATES/$nstate"
    "$LB" -r "$R" backup "$SRC" --json >"$OUT/tb.json" 2>"$OUT/tb.err" || { sed 's/^/#   /' "$OUT/tb.err" | head -3; return 1; }
    EXPECT[$(jf "$OUT/tb.json" snapshot_id)]="tree $STATES/$nstate"
}

# new_parts ROUND [big]: the stream of a round is $DATA/ROUND.a (8 MiB), a
# pause, $DATA/ROUND.b (2 MB). "big": $DATA/ROUND.a is large enough that at
# least one 16 MiB pack is uploaded before the pause, although the backup
# holds back up to 16 MiB it has read (its read buffer) and every saver
# worker (one per core) fills a pack of its own: 16 + 17 x cores + 8 MiB.
new_parts() {
    local mib=8
    [ "${2:-}" = big ] && mib=$((16 + 17 * $(nproc) + 8))
    head -c $((mib * 1024 * 1024)) /dev/urandom >"$DATA/$1.a"
    head -c 2000000 /dev/urandom >"$DATA/$1.b"
}
# stream_backup_bg A B [hold]: start the stream backup in the background
# ($bpid: its subshell; exit code in $OUT/sb.rc). The producer waits for
# $OUT/go1 (created here unless "hold" is given), sends A, creates
# $OUT/sent-a, waits for $OUT/go2 (see `go`), sends B; it gives up (exit 9:
# the backup then fails) after waiting 60 s.
stream_backup_bg() {
    cat "$1" "$2" | sha256sum | cut -d' ' -f1 >"$OUT/sb.sha"
    sb_a=$1
    rm -f "$OUT/sb.rc" "$OUT/go1" "$OUT/go2" "$OUT/sent-a"
    [ "${3:-}" = hold ] || : >"$OUT/go1"
    (
        "$LB" -r "$R" backup --stdin-from-command --stdin-filename stream.bin --json -- \
            sh -c 'w() { n=0; while [ ! -e "$1" ]; do sleep 0.02; n=$((n + 1)); [ $n -lt 3000 ] || exit 9; done; }
                  w "$3"; cat "$1"; : >"$5"; w "$4"; cat "$2"' \
            sh "$1" "$2" "$OUT/go1" "$OUT/go2" "$OUT/sent-a" >"$OUT/sb.json" 2>"$OUT/sb.err"
        echo $? >"$OUT/sb.rc.tmp"
        mv "$OUT/sb.rc.tmp" "$OUT/sb.rc"
    ) &
    bpid=$!
    bgpids+=("$bpid")
    bstart=$(now)
}
go() { : >"$OUT/go1"; : >"$OUT/go2"; }
since_backup() { echo "$((($(now) - bstart) / 1000000))ms"; }
# PID of the backup itself (the subshell's child)
backup_pid() { pgrep -P "$bpid" -x lifeboat | head -1; }
# stream_wait: wait for the stream backup; record its snapshot; its exit code goes to $brc
stream_wait() {
    wait "$bpid" 2>/dev/null
    brc=$(cat "$OUT/sb.rc" 2>/dev/null || echo 255)
    if [ "$brc" -eq 0 ]; then
        local id
        id=$(jf "$OUT/sb.json" snapshot_id)
        EXPECT[$id]="stream $(cat "$OUT/sb.sha")"
        SPART[$id]=$sb_a
        last_stream=$id
    fi
}
# prune_bg_stopping WHEN: start prune in the background (under a small
# Python supervisor that polls every 0.2 ms) and SIGSTOP it as soon as
#   lock  - its lock file appears (before it has read anything),
#   index - an index file that was not there before appears (prune has
#           written its new index and is about to delete, or deleting),
#   never - not at all.
# Sets $ppid (prune's PID) and $pstate (stopped / running / finished: done
# before it could be stopped); prune's exit code ends up in $OUT/pr.rc.
prune_bg_stopping() {
    rm -f "$OUT/pr.state" "$OUT/pr.rc"
    python3 - "$LB" "$R" "$OUT" "$1" <<'EOF' &
import os, signal, subprocess, sys, time
lb, repo, out, when = sys.argv[1:5]
watch = {"lock": "locks", "index": "index"}.get(when)
def names():  # objects only, not the ".tmp-*" files they are written to first
    return {n for n in os.listdir(os.path.join(repo, watch)) if not n.startswith(".")}
before = names() if watch else set()
p = subprocess.Popen([lb, "-r", repo, "prune", "--json"],
                     stdout=open(os.path.join(out, "pr.json"), "w"), stderr=open(os.path.join(out, "pr.err"), "w"))
state = "running"
end = time.time() + 20
while watch and time.time() < end:
    if names() - before:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGSTOP)
            state = "stopped"
        else:
            state = "finished"
        break
    if p.poll() is not None:
        state = "finished"
        break
    time.sleep(0.0002)
with open(os.path.join(out, "pr.state.tmp"), "w") as f:
    f.write("%d %s\n" % (p.pid, state))
os.rename(os.path.join(out, "pr.state.tmp"), os.path.join(out, "pr.state"))
rc = p.wait()
with open(os.path.join(out, "pr.rc.tmp"), "w") as f:
    f.write("%d\n" % rc)
os.rename(os.path.join(out, "pr.rc.tmp"), os.path.join(out, "pr.rc"))
EOF
    pypid=$!
    bgpids+=("$pypid")
    wait_until test -f "$OUT/pr.state"
    read -r ppid pstate <"$OUT/pr.state"
    bgpids+=("$ppid")
}

# prep ROUND [big]: change the tree, back it up, forget down to the last 2
# per group, make the round's stream
prep() {
    mutate "$1"
    tree_backup || return 1
    "$LB" -r "$R" forget --keep-last 2 -q >"$OUT/fg.out" 2>&1 || { sed 's/^/#   /' "$OUT/fg.out" | head -3; return 1; }
    new_parts "$@"
}

# ---------------------------------------------------------------- history
round=0
for k in 1 2 3; do
    round=$((round + 1))
    mutate "$round"
    tree_backup
    new_parts "$round"
    stream_backup_bg "$DATA/$round.a" "$DATA/$round.b"
    go
    stream_wait
    [ "$brc" -eq 0 ] || fail "history: stream backup $k"
done
if [ "$(nsnaps)" -eq 6 ]; then ok "history: 3 tree and 3 stream snapshots"; else fail "history: 3 tree and 3 stream snapshots ($(nsnaps))"; fi

# ---------------------------------------------------------------- (a) prune first
for mode in stop-at-lock stop-at-new-index race; do
    round=$((round + 1))
    prep "$round" || fail "(a $mode) prep"
    n0=$(nsnaps)
    case $mode in
    stop-at-lock) prune_bg_stopping lock ;;
    stop-at-new-index) prune_bg_stopping index ;;
    race) prune_bg_stopping never ;;
    esac
    if [ "$mode" != race ] && [ "$pstate" != stopped ]; then
        note "(a $mode) prune was $pstate before it could be stopped: a plain race this time"
        mode=race
    fi
    stream_backup_bg "$DATA/$round.a" "$DATA/$round.b"
    go
    stream_wait
    kill -CONT "$ppid" 2>/dev/null
    wait "$pypid"
    prc=$(cat "$OUT/pr.rc")
    note "(a $mode) prune exit $prc, backup exit $brc: $(head -1 "$OUT/sb.err")"
    if [ "$mode" != race ]; then
        if [ "$brc" -eq 11 ] && grep -q "PID $ppid " "$OUT/sb.err" && [ "$(nsnaps)" -eq "$n0" ]; then
            ok "(a $mode) backup during prune exits 11 naming prune's PID, writes nothing"; else
            fail "(a $mode) backup during prune exits 11 naming prune's PID, writes nothing (exit $brc, snapshots $n0 -> $(nsnaps))"; sed 's/^/#   /' "$OUT/sb.err" | head -3; fi
        if [ "$prc" -eq 0 ]; then ok "(a $mode) prune completes"; else fail "(a $mode) prune completes (exit $prc)"; sed 's/^/#   /' "$OUT/pr.err" | head -3; fi
    else
        if { [ "$brc" -eq 0 ] || { [ "$brc" -eq 11 ] && [ "$(nsnaps)" -eq "$n0" ]; }; } && { [ "$prc" -eq 0 ] || [ "$prc" -eq 11 ]; }; then
            ok "(a race) backup exit $brc, prune exit $prc (each 0, or 11 with nothing written)"; else
            fail "(a race) backup exit $brc, prune exit $prc"; sed 's/^/#   /' "$OUT/sb.err" "$OUT/pr.err" | head -6; fi
    fi
    check "(a $mode) check" "$LB" -r "$R" check; note "t=${SECONDS}s"
done

# ---------------------------------------------------------------- (b) backup first, prune during it
for mode in at-backup-lock after-first-pack after-part-1-sent; do
    round=$((round + 1))
    size=; [ "$mode" = after-first-pack ] && size=big
    prep "$round" "$size" || fail "(b $mode) prep"
    packs0=$(data_packs)
    stream_backup_bg "$DATA/$round.a" "$DATA/$round.b"
    case $mode in
    at-backup-lock) wait_until has_lock ;;
    after-first-pack) wait_until packs_above "$packs0" ;;
    after-part-1-sent) wait_until test -e "$OUT/sent-a"; sleep 0.3 ;;
    esac
    lbpid=$(backup_pid)
    t1=$(since_backup)
    "$LB" -r "$R" prune --json >"$OUT/pr.json" 2>"$OUT/pr.err"
    prc=$?
    t2=$(since_backup)
    running=$([ -f "$OUT/sb.rc" ] && echo no || echo yes)
    go
    stream_wait
    note "(b $mode) prune ran from $t1 to $t2 after the backup started (done at $(since_backup)): exit $prc (backup still running: $running), backup exit $brc: $(head -1 "$OUT/pr.err")"
    if [ "$running" = yes ] && [ "$prc" -eq 11 ] && grep -q "PID $lbpid " "$OUT/pr.err"; then
        ok "(b $mode) prune during the backup exits 11 naming the backup's PID"; else
        fail "(b $mode) prune during the backup exits 11 naming the backup's PID $lbpid (exit $prc, backup running: $running)"; sed 's/^/#   /' "$OUT/pr.err" | head -3; fi
    if [ "$brc" -eq 0 ]; then ok "(b $mode) the backup completes"; else fail "(b $mode) the backup completes (exit $brc)"; sed 's/^/#   /' "$OUT/sb.err" | head -3; fi
    check "(b $mode) check" "$LB" -r "$R" check; note "t=${SECONDS}s"
done

# ---------------------------------------------------------------- (c) prune after the backup
for mode in immediately after-forget after-tree-backup; do
    round=$((round + 1))
    prep "$round" || fail "(c $mode) prep"
    stream_backup_bg "$DATA/$round.a" "$DATA/$round.b"
    go
    stream_wait
    case $mode in
    after-forget) "$LB" -r "$R" forget --keep-last 2 -q ;;
    after-tree-backup) mutate "$round$round"; tree_backup ;;
    esac
    "$LB" -r "$R" prune --json >"$OUT/pr.json" 2>"$OUT/pr.err"
    prc=$?
    note "(c $mode) backup exit $brc, prune: $(cat "$OUT/pr.json")"
    if [ "$brc" -eq 0 ] && [ "$prc" -eq 0 ]; then ok "(c $mode) backup, then prune: both succeed"; else
        fail "(c $mode) backup, then prune: both succeed (backup $brc, prune $prc)"; sed 's/^/#   /' "$OUT/pr.err" | head -3; fi
    check "(c $mode) check" "$LB" -r "$R" check; note "t=${SECONDS}s"
done

# ---------------------------------------------------------------- (d) lock lost: prune runs during the backup
# the backup's stream for d1 starts with a forgotten stream snapshot's content
for mode in dedup-on-deleted-data before-upload after-first-pack; do
    round=$((round + 1))
    size=; [ "$mode" = after-first-pack ] && size=big
    prep "$round" "$size" || fail "(d $mode) prep"
    packs0=$(data_packs)
    n0=$(nsnaps)
    case $mode in
    dedup-on-deleted-data) # stream = the newest stream snapshot's first part; that snapshot is forgotten
        cp "${SPART[$last_stream]}" "$DATA/$round.a"
        "$LB" -r "$R" forget "$last_stream" -q || fail "(d $mode) forget ${last_stream:0:8}"
        n0=$(nsnaps)
        stream_backup_bg "$DATA/$round.a" "$DATA/$round.b"
        wait_until test -e "$OUT/sent-a" ;;
    before-upload)
        stream_backup_bg "$DATA/$round.a" "$DATA/$round.b" hold
        wait_until has_lock ;;
    after-first-pack)
        stream_backup_bg "$DATA/$round.a" "$DATA/$round.b"
        wait_until packs_above "$packs0" ;;
    esac
    # the lock is lost: delete the backup's lock file, then prune proceeds
    rm -f "$R"/locks/*
    "$LB" -r "$R" prune --json >"$OUT/pr.json" 2>"$OUT/pr.err"
    prc=$?
    running=$([ -f "$OUT/sb.rc" ] && echo no || echo yes)
    go
    stream_wait
    note "(d $mode) prune exit $prc (backup still running: $running): $(cat "$OUT/pr.json")"
    note "(d $mode) backup exit $brc: $(grep -v '^$' "$OUT/sb.err" | tail -2 | tr '\n' ' ')"
    if [ "$prc" -eq 0 ] && [ "$running" = yes ]; then ok "(d $mode) prune ran during the backup (lock lost)"; else
        fail "(d $mode) prune ran during the backup (exit $prc, backup running: $running)"; sed 's/^/#   /' "$OUT/pr.err" | head -3; fi
    if [ "$brc" -eq 0 ]; then
        id=$(jf "$OUT/sb.json" snapshot_id)
        rm -rf "$TMP/r"
        if "$LB" -r "$R" restore "$id" --target "$TMP/r" -q >"$OUT/r.out" 2>&1 &&
            [ "$(sha256sum <"$TMP/r/stream.bin" | cut -d' ' -f1)" = "$(cat "$OUT/sb.sha")" ]; then
            ok "(d $mode) the backup finished with a complete snapshot"; else
            fail "(d $mode) the backup wrote snapshot ${id:0:8} but it does not restore: $(head -2 "$OUT/r.out" | tr '\n' ' ')"; fi
        rm -rf "$TMP/r"
    elif grep -q "no snapshot written" "$OUT/sb.err" && [ "$(nsnaps)" -eq "$n0" ]; then
        ok "(d $mode) the backup failed without writing a snapshot (exit $brc)"
    else
        fail "(d $mode) the backup either completes or fails with 'no snapshot written' (exit $brc, snapshots $n0 -> $(nsnaps))"
        sed 's/^/#   /' "$OUT/sb.err" | head -3
    fi
    "$LB" -r "$R" unlock -q >/dev/null 2>&1
    check "(d $mode) check" "$LB" -r "$R" check; note "t=${SECONDS}s"
done

# ---------------------------------------------------------------- every snapshot
bad=0 n=0 unknown=0
for id in $(snap_ids); do
    n=$((n + 1))
    e=${EXPECT[$id]:-}
    if [ -z "$e" ]; then
        echo "# snapshot ${id:0:8} was not written by a backup that reported success"
        unknown=$((unknown + 1))
        continue
    fi
    rm -rf "$TMP/r"
    if ! "$LB" -r "$R" restore "$id" --target "$TMP/r" -q >"$OUT/r.out" 2>&1; then
        echo "# restore ${id:0:8} failed: $(head -2 "$OUT/r.out" | tr '\n' ' ')"
        bad=$((bad + 1))
    elif [ "${e%% *}" = tree ]; then
        diff -r "${e#* }" "$TMP/r$SRC" >/dev/null 2>&1 || { echo "# snapshot ${id:0:8} differs from ${e#* }"; bad=$((bad + 1)); }
    else
        [ "$(sha256sum <"$TMP/r/stream.bin" | cut -d' ' -f1)" = "${e#* }" ] || { echo "# stream snapshot ${id:0:8} differs"; bad=$((bad + 1)); }
    fi
done
rm -rf "$TMP/r"
if [ "$unknown" -eq 0 ]; then ok "every snapshot in the repository comes from a backup that reported success"; else
    fail "every snapshot comes from a backup that reported success ($unknown unknown)"; fi
if [ "$bad" -eq 0 ] && [ "$n" -gt 0 ]; then ok "all $n snapshots restore byte for byte"; else fail "all $n snapshots restore byte for byte ($bad failed)"; fi
check "check --read-data at the end" "$LB" -r "$R" check --read-data
finish
