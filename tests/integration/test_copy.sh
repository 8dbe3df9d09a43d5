#!/usr/bin/env bash
# test_copy.sh - copy snapshots into a second repository with another
# password.
#
# The source holds 4 snapshots of a changing tree (random binary files and
# text; tags daily/weekly, hosts h1/h2, one with --time). Two targets, each
# with its own password:
#   T1: a plain repository (its own chunker secret: copy re-chunks,
#       "rechunked": true); filled in three steps: --tag weekly, one
#       snapshot by ID (source password from --from-password-command), then
#       everything (source password from LIFEBOAT_FROM_PASSWORD);
#   T2: made with `init --copy-chunker-params --from-repo SRC` (copy moves
#       blobs as they are, "rechunked": false); filled with --host h2, then
#       everything (source password from --from-password-file).
# Checked for both: the filters copy exactly the matching snapshots; a second
# run copies 0 snapshots and stores 0 bytes (and changes no file); `snapshots
# --json` lists the same times, paths, hosts and tags in source and target;
# every copied snapshot restores identical to the source's restore (diff -r)
# and to the state it was taken from; check --read-data passes. Also: a
# backup of the last state into T1 after the copy adds almost nothing (the
# re-chunked data deduplicates against the target's own chunking); T2 has
# exactly the source's data blobs; a wrong source password exits 12; copying
# a repository into itself is refused (also when spelled differently).
#
# Copy during a prune (docs/concurrency.md; the lock is lost): a target
# holds the data of a forgotten copy of snapshot A; a copy of A (deduplicated
# against that data) and of a large B is SIGSTOPped (by a supervisor polling
# every 0.2 ms) as soon as it has uploaded its first pack, as soon as it
# starts writing its index file, or as soon as that file is there (just
# before its commit checks); its lock file is deleted and prune runs,
# deleting that data and the copy's packs; then the copy continues. It must
# either fail with "no snapshot written" and exit 1, or finish; either way
# every snapshot it wrote restores: never exit 0 with a snapshot that does
# not restore. Afterwards the copy runs again, succeeds and restores.
. "$(dirname "$0")/lib.sh"
export TZ=UTC

S=$TMP/src-repo
T1=$TMP/t1
T2=$TMP/t2
SRC=$TMP/src
STATES=$TMP/states
OUT=$TMP/out
mkdir -p "$STATES" "$OUT"
SP=source-pass-1
export LIFEBOAT_FROM_PASSWORD=$SP
echo "target-two-pass" >"$TMP/t2.pass"
echo "$SP" >"$TMP/src.pass"

lb_s() { LIFEBOAT_PASSWORD=$SP "$LB" -r "$S" "$@"; }
lb_t1() { LIFEBOAT_PASSWORD=target-one-pass "$LB" -r "$T1" "$@"; }
lb_t2() { LIFEBOAT_PASSWORD=target-two-pass "$LB" -r "$T2" "$@"; }
jf() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null; }
# listing: time, paths, host, tags of every snapshot (sorted), optionally only those with the given IDs
listing() {
    python3 -c '
import json, sys
snaps = json.load(sys.stdin)
keep = set(sys.argv[1:])
rows = sorted("%s %s %s %s" % (s["time"], ",".join(s["paths"]), s.get("hostname"), ",".join(s.get("tags") or []))
              for s in snaps if not keep or s["id"] in keep)
print("\n".join(rows))' "$@"
}
repo_files() { (cd "$1" && find . -type f ! -path './locks/*' -printf '%p %s\n' | sort); }

LIFEBOAT_PASSWORD=$SP new_repo "$S" || { fail "init source"; finish; }

# ---------------------------------------------------------------- source history
python3 - "$SRC" <<'EOF'
import os, random, sys
src = sys.argv[1]
rnd = random.Random(3)
os.makedirs(os.path.join(src, "bin"))
os.makedirs(os.path.join(src, "txt", "sub"))
for i in range(8):
    with open(os.path.join(src, "bin", "f%d.bin" % i), "wb") as f:
        f.write(os.urandom(rnd.randint(300_000, 3_000_000)))
for i in range(30):
    with open(os.path.join(src, "txt", "sub" if i % 3 else "", "n%02d.txt" % i), "w") as f:
        f.write("".join("line %d of note %d\n" % (j, i) for j in range(rnd.randint(1, 2000))))
os.symlink("bin/f0.bin", os.path.join(src, "link"))
EOF
mutate() {
    python3 - "$SRC" "$1" <<'EOF'
import os, random, sys
src, r = sys.argv[1], int(sys.argv[2])
rnd = random.Random(r)
b = os.path.join(src, "bin")
for name in rnd.sample(sorted(os.listdir(b)), 2):
    with open(os.path.join(b, name) + ".tmp", "wb") as f:
        f.write(os.urandom(rnd.randint(300_000, 3_000_000)))
    os.replace(os.path.join(b, name) + ".tmp", os.path.join(b, name))
p = os.path.join(src, "txt", "n%02d.txt" % (3 * r))
with open(p + ".tmp", "w") as f:
    f.write(open(p).read() + "changed in round %d\n" % r)
os.replace(p + ".tmp", p)
EOF
}
declare -a ID
declare -A STATE_OF
bad=0
k=0
for spec in "daily h1" "weekly h1" "daily h2" "weekly h1 2025-06-01 12:00:00"; do
    k=$((k + 1))
    set -- $spec
    [ "$k" -gt 1 ] && mutate "$k"
    args=(--tag "$1" --host "$2")
    [ $# -gt 2 ] && args+=(--time "$3 $4")
    if lb_s backup "$SRC" "${args[@]}" --json >"$OUT/b$k.json" 2>"$OUT/b$k.err"; then
        ID[$k]=$(jf "$OUT/b$k.json" snapshot_id)
        cp -al "$SRC" "$STATES/$k"
        STATE_OF[${ID[$k]}]=$STATES/$k
    else
        bad=$((bad + 1)); sed 's/^/#   /' "$OUT/b$k.err" | head -3
    fi
done
if [ "$bad" -eq 0 ]; then ok "source: 4 snapshots (tags daily/weekly, hosts h1/h2)"; else fail "source: 4 snapshots ($bad backups failed)"; fi

# restore_same TARGETFN SNAPSHOT-ID: the target's copy of the source snapshot
# (same time, paths, host) restores identical to the source's restore and to
# the saved state
restore_same() {
    local tfn=$1 sid=$2 tid
    tid=$("$tfn" snapshots --json | python3 -c '
import json, sys
want = json.loads(sys.argv[1])
for s in json.load(sys.stdin):
    if (s["time"], s["paths"], s.get("hostname")) == (want["time"], want["paths"], want.get("hostname")):
        print(s["id"]); break' "$(lb_s snapshots --json | python3 -c 'import json,sys; print(json.dumps([s for s in json.load(sys.stdin) if s["id"] == sys.argv[1]][0]))' "$sid")")
    [ -n "$tid" ] || { echo "no copy of ${sid:0:8} in the target"; return 1; }
    rm -rf "$TMP/rs" "$TMP/rt"
    lb_s restore "$sid" --target "$TMP/rs" -q || return 1
    "$tfn" restore "$tid" --target "$TMP/rt" -q || return 1
    diff -r --no-dereference "$TMP/rs" "$TMP/rt" || return 1
    diff -r --no-dereference "${STATE_OF[$sid]}" "$TMP/rt$SRC" || return 1
    rm -rf "$TMP/rs" "$TMP/rt"
}

# ---------------------------------------------------------------- T1: plain target
LIFEBOAT_PASSWORD=target-one-pass new_repo "$T1" || fail "init T1"
lb_t1 copy --from-repo "$S" --tag weekly --json >"$OUT/c1.json" 2>"$OUT/c1.err"
rc=$?
note "T1 copy --tag weekly: $(cat "$OUT/c1.json")"
if [ "$rc" -eq 0 ] && [ "$(jf "$OUT/c1.json" snapshots_copied)" = 2 ] && [ "$(jf "$OUT/c1.json" rechunked)" = True ]; then
    ok "T1: copy --tag weekly copies 2 snapshots, rechunked"; else
    fail "T1: copy --tag weekly copies 2 snapshots, rechunked (exit $rc)"; sed 's/^/#   /' "$OUT/c1.err" | head -3; fi
if [ "$(lb_t1 snapshots --json | listing)" = "$(lb_s snapshots --json | listing "${ID[2]}" "${ID[4]}")" ]; then
    ok "T1 holds exactly the weekly snapshots (times, paths, hosts, tags)"; else fail "T1 holds exactly the weekly snapshots"; fi

lb_t1 copy --from-repo "$S" --from-password-command "echo $SP" "${ID[3]:0:8}" --json >"$OUT/c2.json" 2>"$OUT/c2.err"
rc=$?
if [ "$rc" -eq 0 ] && [ "$(jf "$OUT/c2.json" snapshots_copied)" = 1 ]; then ok "T1: copy ID (password command) copies that one snapshot"; else
    fail "T1: copy ID copies that one snapshot (exit $rc)"; sed 's/^/#   /' "$OUT/c2.err" | head -3; fi
if [ "$(lb_t1 snapshots --json | listing)" = "$(lb_s snapshots --json | listing "${ID[2]}" "${ID[3]}" "${ID[4]}")" ]; then
    ok "T1 now holds the weekly ones and that one"; else fail "T1 now holds the weekly ones and that one"; fi

lb_t1 copy --from-repo "$S" --json >"$OUT/c3.json" 2>"$OUT/c3.err"
rc=$?
note "T1 copy (all): $(cat "$OUT/c3.json")"
if [ "$rc" -eq 0 ] && [ "$(jf "$OUT/c3.json" snapshots_copied)/$(jf "$OUT/c3.json" snapshots_skipped)" = 1/3 ]; then
    ok "T1: copy of everything copies the 1 missing snapshot, skips 3"; else
    fail "T1: copy of everything copies 1, skips 3 (exit $rc, $(jf "$OUT/c3.json" snapshots_copied)/$(jf "$OUT/c3.json" snapshots_skipped))"; sed 's/^/#   /' "$OUT/c3.err" | head -3; fi

before=$(repo_files "$T1")
lb_t1 copy --from-repo "$S" --json >"$OUT/c4.json" 2>"$OUT/c4.err"
rc=$?
note "T1 second run: $(cat "$OUT/c4.json")"
v="$(jf "$OUT/c4.json" snapshots_copied)/$(jf "$OUT/c4.json" bytes_stored)/$(jf "$OUT/c4.json" snapshots_skipped)"
if [ "$rc" -eq 0 ] && [ "$v" = 0/0/4 ] && [ "$before" = "$(repo_files "$T1")" ]; then
    ok "T1: a second run copies 0 snapshots, stores 0 bytes, changes no file"; else
    fail "T1: a second run copies 0 snapshots, 0 bytes (exit $rc, copied/bytes_stored/skipped $v)"; fi
if [ "$(lb_t1 snapshots --json | listing)" = "$(lb_s snapshots --json | listing)" ]; then
    ok "T1 and the source list the same snapshot times, paths, hosts, tags"; else
    fail "T1 and the source list the same snapshots"; diff <(lb_s snapshots --json | listing) <(lb_t1 snapshots --json | listing) | sed 's/^/#   /'; fi
for k in 1 2 3 4; do
    check "T1: snapshot #$k restores identical to the source's" restore_same lb_t1 "${ID[$k]}"
done
check "T1: check --read-data" lb_t1 check --read-data

# the copied data is chunked like T1's own backups: backing up the last state
# into T1 directly finds (nearly) every chunk already there
rm -rf "$SRC"
cp -al "$STATES/4" "$SRC"
lb_t1 backup "$SRC" --host h9 --json >"$OUT/t1b.json" 2>"$OUT/t1b.err"
added=$(jf "$OUT/t1b.json" data_added)
total=$(jf "$OUT/t1b.json" total_bytes_processed)
note "T1: backup of the last state after the copy: data_added $added of $total bytes"
if [ -n "$added" ] && [ "$added" -lt $((total / 50)) ]; then ok "T1: a backup of copied data adds under 2% (re-chunked data deduplicates)"; else
    fail "T1: a backup of copied data adds under 2% (data_added ${added:-?} of ${total:-?})"; fi

# ---------------------------------------------------------------- T2: same chunker as the source
check "T2: init --copy-chunker-params --from-repo SRC (source password from LIFEBOAT_FROM_PASSWORD)" \
    env LIFEBOAT_PASSWORD=target-two-pass "$LB" -r "$T2" init --kdf-n 1024 --copy-chunker-params --from-repo "$S" -q
lb_t2 copy --from-repo "$S" --from-password-file "$TMP/src.pass" --host h2 --json >"$OUT/d1.json" 2>"$OUT/d1.err"
rc=$?
note "T2 copy --host h2: $(cat "$OUT/d1.json")"
if [ "$rc" -eq 0 ] && [ "$(jf "$OUT/d1.json" snapshots_copied)" = 1 ] && [ "$(jf "$OUT/d1.json" rechunked)" = False ]; then
    ok "T2: copy --host h2 copies 1 snapshot, not rechunked"; else
    fail "T2: copy --host h2 copies 1 snapshot, not rechunked (exit $rc)"; sed 's/^/#   /' "$OUT/d1.err" | head -5; fi
if [ "$(lb_t2 snapshots --json | listing)" = "$(lb_s snapshots --json | listing "${ID[3]}")" ]; then
    ok "T2 holds exactly the h2 snapshot"; else fail "T2 holds exactly the h2 snapshot"; fi
lb_t2 copy --from-repo "$S" --from-password-file "$TMP/src.pass" --json >"$OUT/d2.json" 2>"$OUT/d2.err"
rc=$?
note "T2 copy (all): $(cat "$OUT/d2.json")"
if [ "$rc" -eq 0 ] && [ "$(jf "$OUT/d2.json" snapshots_copied)/$(jf "$OUT/d2.json" snapshots_skipped)" = 3/1 ]; then
    ok "T2: copy of everything copies 3, skips 1"; else fail "T2: copy of everything copies 3, skips 1 (exit $rc)"; sed 's/^/#   /' "$OUT/d2.err" | head -3; fi
before=$(repo_files "$T2")
lb_t2 copy --from-repo "$S" --from-password-file "$TMP/src.pass" --json >"$OUT/d3.json" 2>"$OUT/d3.err"
rc=$?
v="$(jf "$OUT/d3.json" snapshots_copied)/$(jf "$OUT/d3.json" bytes_stored)/$(jf "$OUT/d3.json" snapshots_skipped)"
if [ "$rc" -eq 0 ] && [ "$v" = 0/0/4 ] && [ "$before" = "$(repo_files "$T2")" ]; then
    ok "T2: a second run copies 0 snapshots, stores 0 bytes, changes no file"; else
    fail "T2: a second run copies 0 snapshots, 0 bytes (exit $rc, copied/bytes_stored/skipped $v)"; fi
if [ "$(lb_t2 snapshots --json | listing)" = "$(lb_s snapshots --json | listing)" ]; then
    ok "T2 and the source list the same snapshot times, paths, hosts, tags"; else
    fail "T2 and the source list the same snapshots"; diff <(lb_s snapshots --json | listing) <(lb_t2 snapshots --json | listing) | sed 's/^/#   /'; fi
v="$(lb_s stats --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["data_blobs"], j["raw_data_size"])')"
w="$(lb_t2 stats --json | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["data_blobs"], j["raw_data_size"])')"
if [ "$v" = "$w" ]; then ok "T2 has exactly the source's data blobs ($v)"; else fail "T2 has exactly the source's data blobs (source $v, T2 $w)"; fi
for k in 1 2 3 4; do
    check "T2: snapshot #$k restores identical to the source's" restore_same lb_t2 "${ID[$k]}"
done
check "T2: check --read-data" lb_t2 check --read-data
check "source: check --read-data (copy only read it)" lb_s check --read-data

# ---------------------------------------------------------------- refusals
LIFEBOAT_FROM_PASSWORD=wrong-password lb_t1 copy --from-repo "$S" >"$OUT/w.out" 2>&1
rc=$?
if [ "$rc" -eq 12 ]; then ok "wrong source password: exit 12 ($(head -1 "$OUT/w.out"))"; else fail "wrong source password: exit 12 (exit $rc)"; sed 's/^/#   /' "$OUT/w.out" | head -3; fi
LIFEBOAT_PASSWORD=wrong-password "$LB" -r "$T1" copy --from-repo "$S" >"$OUT/w2.out" 2>&1
rc=$?
if [ "$rc" -eq 12 ]; then ok "wrong target password: exit 12"; else fail "wrong target password: exit 12 (exit $rc)"; fi
n0=$(lb_s snapshots --json | listing)
LIFEBOAT_FROM_PASSWORD=$SP lb_s copy --from-repo "$S" >"$OUT/same.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -qi "same repository" "$OUT/same.out"; then ok "copy into the same repository is refused (exit $rc: $(head -1 "$OUT/same.out"))"; else
    fail "copy into the same repository is refused (exit $rc)"; sed 's/^/#   /' "$OUT/same.out" | head -3; fi
LIFEBOAT_FROM_PASSWORD=$SP lb_s copy --from-repo "local:$S/" >"$OUT/same2.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -qi "same repository" "$OUT/same2.out"; then ok "... also when spelled local:PATH/"; else
    fail "copy into the same repository spelled local:PATH/ is refused (exit $rc)"; sed 's/^/#   /' "$OUT/same2.out" | head -3; fi
if [ "$(lb_s snapshots --json | listing)" = "$n0" ]; then ok "the refused copies changed no snapshot"; else fail "the refused copies changed no snapshot"; fi
# ---------------------------------------------------------------- copy during a prune (lock lost)
CS=$TMP/cs # source: A (4 MB), then B (large enough that a pack is uploaded long before the copy ends)
lb_cs() { LIFEBOAT_PASSWORD=$SP "$LB" -r "$CS" "$@"; }
LIFEBOAT_PASSWORD=$SP new_repo "$CS" || fail "init the copy-during-prune source"
mkdir -p "$TMP/pa" "$TMP/pb"
head -c 4000000 /dev/urandom >"$TMP/pa/a.bin"
# every saver worker (one per core) fills a 16 MiB pack of its own: 16 + 17 x cores + 8 MiB
head -c $(((16 + 17 * $(nproc) + 8) * 1024 * 1024)) /dev/urandom >"$TMP/pb/b.bin"
lb_cs backup "$TMP/pa" --json >"$OUT/pa.json" 2>"$OUT/pa.err" && lb_cs backup "$TMP/pb" --json >"$OUT/pb.json" 2>"$OUT/pb.err" ||
    fail "source snapshots A and B"
idA=$(jf "$OUT/pa.json" snapshot_id)
TP=target-three-pass
# ids_of TARGET: the snapshot IDs of a target
ids_of() { LIFEBOAT_PASSWORD=$TP "$LB" -r "$1" snapshots --json | python3 -c 'import json,sys; [print(s["id"]) for s in json.load(sys.stdin)]'; }
# copy_stopping TARGET WHEN: start `copy` of everything in $CS into TARGET (under a
# Python supervisor that polls every 0.2 ms) and SIGSTOP it as soon as
#   pack       - a pack that was not there before appears under data/,
#   index-tmp  - anything new appears in index/ (the copy is writing its index file),
#   index      - a new index file appears (the copy is about to write its snapshots).
# Sets $cpid (the copy's PID) and $cstate (stopped / finished: done before it could
# be stopped); the copy's exit code ends up in $OUT/cp.rc.
copy_stopping() {
    rm -f "$OUT/cp.state" "$OUT/cp.rc"
    LIFEBOAT_PASSWORD=$TP python3 - "$LB" "$1" "$CS" "$OUT" "$2" <<'EOF' &
import os, signal, subprocess, sys, time
lb, repo, src, out, when = sys.argv[1:6]
def names():
    if when.startswith("index"):
        d = os.path.join(repo, "index")
        return {n for n in (os.listdir(d) if os.path.isdir(d) else []) if when == "index-tmp" or n[0] != "."}
    found = set()
    for root, dirs, files in os.walk(os.path.join(repo, "data")):
        found.update(f for f in files if not f.startswith("."))
    return found
before = names()
p = subprocess.Popen([lb, "-r", repo, "copy", "--from-repo", src, "--json"],
                     stdout=open(os.path.join(out, "cp.json"), "w"), stderr=open(os.path.join(out, "cp.err"), "w"))
state = "finished"
end = time.time() + 60
while time.time() < end and p.poll() is None:
    if names() - before:
        os.kill(p.pid, signal.SIGSTOP)
        state = "stopped"
        break
    time.sleep(0.0002)
with open(os.path.join(out, "cp.state.tmp"), "w") as f:
    f.write("%d %s\n" % (p.pid, state))
os.rename(os.path.join(out, "cp.state.tmp"), os.path.join(out, "cp.state"))
rc = p.wait()
with open(os.path.join(out, "cp.rc.tmp"), "w") as f:
    f.write("%d\n" % rc)
os.rename(os.path.join(out, "cp.rc.tmp"), os.path.join(out, "cp.rc"))
EOF
    cpy=$!
    local n=0
    until [ -f "$OUT/cp.state" ] || [ $n -ge 3000 ]; do sleep 0.02; n=$((n + 1)); done
    read -r cpid cstate <"$OUT/cp.state"
    cleanup_hooks+=("kill -CONT $cpid 2>/dev/null; kill $cpid 2>/dev/null")
}
# all_restore TARGET: every snapshot of the target restores identical to the folder it was taken from
all_restore() {
    local id p bad=0
    for id in $(ids_of "$1"); do
        p=$(LIFEBOAT_PASSWORD=$TP "$LB" -r "$1" snapshots --json |
            python3 -c 'import json,sys; print([s for s in json.load(sys.stdin) if s["id"] == sys.argv[1]][0]["paths"][0])' "$id")
        rm -rf "$TMP/rc"
        if ! LIFEBOAT_PASSWORD=$TP "$LB" -r "$1" restore "$id" --target "$TMP/rc" -q >"$OUT/rc.out" 2>&1 ||
            ! diff -r "$p" "$TMP/rc$p" >/dev/null 2>&1; then
            echo "# ${id:0:8} ($p) does not restore: $(head -1 "$OUT/rc.out")"
            bad=$((bad + 1))
        fi
        rm -rf "$TMP/rc"
    done
    [ "$bad" -eq 0 ]
}
for when in pack index-tmp index; do
    CT=$TMP/ct-$when
    lb_ct() { LIFEBOAT_PASSWORD=$TP "$LB" -r "$CT" "$@"; }
    LIFEBOAT_PASSWORD=$TP new_repo "$CT" || fail "($when) init target"
    # the target holds A's data, but no snapshot: a forgotten copy of A
    lb_ct copy --from-repo "$CS" "${idA:0:8}" -q >"$OUT/ca.out" 2>&1 && lb_ct forget "$(ids_of "$CT")" -q >>"$OUT/ca.out" 2>&1 ||
        { fail "($when) copy A, then forget it"; sed 's/^/#   /' "$OUT/ca.out" | head -3; }
    copy_stopping "$CT" "$when"
    if [ "$cstate" = stopped ]; then
        rm -f "$CT"/locks/* # the lock is lost
        lb_ct prune --json >"$OUT/cpr.json" 2>"$OUT/cpr.err"
        prc=$?
        kill -CONT "$cpid"
        note "($when) copy stopped; prune exit $prc: $(cat "$OUT/cpr.json")"
        if [ "$prc" -eq 0 ]; then ok "($when) prune ran while the copy was stopped (lock lost)"; else
            fail "($when) prune ran while the copy was stopped (exit $prc)"; sed 's/^/#   /' "$OUT/cpr.err" | head -3; fi
    else
        note "($when) the copy finished before it could be stopped: a plain run this time"
    fi
    wait "$cpy"
    crc=$(cat "$OUT/cp.rc" 2>/dev/null || echo 255)
    note "($when) copy exit $crc: $(grep -v '^$' "$OUT/cp.err" | tail -1)"
    # (a copy writes its snapshots one by one: one written before the prune may stay, and must restore)
    if [ "$crc" -eq 1 ] && grep -q "no snapshot written" "$OUT/cp.err" && [ "$(ids_of "$CT" | wc -l)" -lt 2 ] && all_restore "$CT"; then
        ok "($when) the copy failed with 'no snapshot written', exit 1 ($(ids_of "$CT" | wc -l) snapshot(s) written before, restoring)"
    elif [ "$crc" -eq 0 ] && [ "$(ids_of "$CT" | wc -l)" -eq 2 ] && all_restore "$CT"; then
        ok "($when) the copy finished and both copied snapshots restore"
    else
        fail "($when) the copy either fails with 'no snapshot written' (exit 1) or finishes, and what it wrote restores (exit $crc, $(ids_of "$CT" | wc -l) snapshots)"
        sed 's/^/#   /' "$OUT/cp.err" | head -3
    fi
    lb_ct unlock -q >/dev/null 2>&1
    lb_ct copy --from-repo "$CS" -q >"$OUT/cagain.out" 2>&1
    crc=$?
    if [ "$crc" -eq 0 ] && [ "$(ids_of "$CT" | wc -l)" -eq 2 ] && all_restore "$CT"; then ok "($when) copy again: both snapshots restore"; else
        fail "($when) copy again: both snapshots restore (exit $crc)"; sed 's/^/#   /' "$OUT/cagain.out" | head -3; fi
    check "($when) check --read-data of the target" lb_ct check --read-data
done
finish
