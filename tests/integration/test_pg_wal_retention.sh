#!/usr/bin/env bash
# test_pg_wal_retention.sh - WAL retention (forget/prune --keep-wal-within)
# against a real PostgreSQL server (tests/harness/pg) archiving through
# `lifeboat wal-push` into a local repository.
#
# Five base backups with WAL between them (pg_switch_wal, each segment
# waited for in pg_stat_archiver), a 4-second pause with no WAL after the
# third. Then:
#   - forget --keep-last 2 --keep-wal-within D --dry-run lists exactly what
#     the real run removes and removes nothing;
#   - forget --keep-last 2 --keep-wal-within D, with D reaching back into the
#     pause (measured from the newest segment's archive time): removed are
#     exactly the files archived before the pause (checked against listings
#     of wal/ before and after, by name and file time), nothing else; the
#     JSON counts (files, bytes) match the listings;
#   - prune --keep-wal-within 0 (no window): removes exactly the remaining
#     files before the fourth backup's start segment, keeps every file from
#     it on; a second prune removes nothing;
#   - both kept base backups recover (restore --pg-physical --start) to their
#     end (--to-immediate) and to a time inside the window after each, with
#     the rows committed by then; the last recovery promotes and archives
#     00000002.history into the repository, which a later forget keeps;
#   - points and snapshots show the recoverable window.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_archive.sh"
PGDIR=$TMP/pg
REPO=$TMP/repo
PW=$TMP/password
# listing FILE: "name mtime size" of every file under wal/
listing() { (cd "$REPO/wal" && find . -maxdepth 1 -type f ! -name '.*' -printf '%f %T@ %s\n' | sort) >"$1"; }

pg_repo "$REPO" "$PW"
pg_start "$PGDIR" "LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$PW $LB wal-push %p" "" \
    "start PostgreSQL 15 with archive_command = lifeboat wal-push"
# switch_wal: end the current segment and wait until it is in the repository
switch_wal() { switch_wait || { fail "segment $SWITCHED archived (last: $(archived))"; return 1; }; }
rows() { sql "SELECT count(*) FROM t"; }

# ------------------------------------------------ five backups, WAL between
sql "CREATE TABLE t (batch int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())" >/dev/null
backups_ok=0
for i in 1 2 3 4 5; do
    sql "INSERT INTO t (batch) SELECT ${i}1 FROM generate_series(1, 50)" >/dev/null && switch_wal
    sql "INSERT INTO t (batch) SELECT ${i}2 FROM generate_series(1, 50)" >/dev/null && switch_wal
    if "$LB" backup --pg-physical --pg-bin "$PG_BIN" --json >"$TMP/b$i.json" 2>&1; then
        backups_ok=$((backups_ok + 1))
    else
        sed 's/^/#   /' "$TMP/b$i.json" | tail -5
    fi
    eval "ROWS_B$i=$(rows)"
    sql "INSERT INTO t (batch) SELECT ${i}3 FROM generate_series(1, 50)" >/dev/null && switch_wal
    if [ "$i" = 3 ]; then
        END3=$(now)
        sleep 4 # no WAL is archived in this pause: the window will start inside it
    fi
    if [ "$i" -ge 4 ]; then
        # a commit, its time, another commit: a target inside the window after backup i
        sql "INSERT INTO t (batch) SELECT ${i}4 FROM generate_series(1, 50)" >/dev/null
        eval "ROWS_T$i=$(rows)"
        sql "SELECT pg_sleep(1.1)" >/dev/null
        eval "T$i='$(sql "SELECT now()")'"
        sql "SELECT pg_sleep(0.2)" >/dev/null
        sql "INSERT INTO t (batch) SELECT ${i}5 FROM generate_series(1, 50)" >/dev/null && switch_wal
    fi
done
sql "INSERT INTO t (batch) SELECT 99 FROM generate_series(1, 10)" >/dev/null && switch_wal
[ "$backups_ok" = 5 ] && ok "five base backups with WAL between them" || fail "five base backups ($backups_ok)"
note "rows at the backups' ends: $ROWS_B1 $ROWS_B2 $ROWS_B3 $ROWS_B4 $ROWS_B5; at T4 $ROWS_T4, at T5 $ROWS_T5"

# the kept backups (the two newest) and the fourth's start segment
"$LB" snapshots --json >"$TMP/snaps.json"
# START4T: the fourth backup's start time (epoch seconds, the server's clock).
# Rule 3 (src/pg/walretain.h) keeps what was archived after it, such as the
# segment the backup's own start switched when a background record (running
# transactions, every 15 s) had landed in it after our last switch.
read -r B4 B5 START4 START4T <<<"$(python3 - "$TMP/snaps.json" <<'EOF'
import calendar, json, sys, time
l = [s for s in json.load(open(sys.argv[1])) if s.get("meta", {}).get("kind") == "pg-physical"]
l.sort(key=lambda s: s["time"])
hi, lo = (int(x, 16) for x in l[3]["meta"]["start_lsn"].split("/"))
seg = ((hi << 32) | lo) // (16 * 1024 * 1024)
whole, frac = l[3]["meta"]["start_time"].rstrip("Z").split(".")
t = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)
print(l[3]["id"], l[4]["id"], "%08X%08X%08X" % (l[3]["meta"]["timeline"], seg // 256, seg % 256), "%.6f" % t)
EOF
)"
note "kept: ${B4:0:8} (starts in $START4 at $START4T) and ${B5:0:8}"

# the window: from the newest segment's archive time (its file's time, a few
# ms after the push time in its header) back to the middle of the pause
NEWEST=$(cd "$REPO/wal" && ls | grep -E '^[0-9A-F]{24}$' | sort | tail -n 1)
WINDOW=$(python3 -c 'import os,sys; print(int(round(os.path.getmtime(sys.argv[1]) - (float(sys.argv[2]) + 2))))' \
    "$REPO/wal/$NEWEST" "$END3")
CUT=$(python3 -c 'import sys; print(float(sys.argv[1]) + 2)' "$END3")
note "--keep-wal-within ${WINDOW}s: the window starts about 2 s into the pause"

# --------------------------------------------------------------- dry run
listing "$TMP/before.txt"
check_rc 0 "forget --keep-last 2 --keep-wal-within --dry-run" "$LB" forget --keep-last 2 --keep-wal-within "${WINDOW}s" \
    --dry-run --json
cp "$TMP/.out" "$TMP/dry.json"
"$LB" forget --keep-last 2 --keep-wal-within "${WINDOW}s" --dry-run >"$TMP/dry.txt" 2>&1
listing "$TMP/dry-after.txt"
if cmp -s "$TMP/before.txt" "$TMP/dry-after.txt" && [ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <"$TMP/snaps.json")" = \
    "$("$LB" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" ]; then
    ok "--dry-run removes no WAL and no snapshot"
else fail "--dry-run removes no WAL and no snapshot"; fi

# ------------------------------------------------ forget with the window
check_rc 0 "forget --keep-last 2 --keep-wal-within ${WINDOW}s" "$LB" forget --keep-last 2 --keep-wal-within "${WINDOW}s" --json
cp "$TMP/.out" "$TMP/forget.json"
listing "$TMP/after1.txt"
python3 - "$TMP/before.txt" "$TMP/after1.txt" "$TMP/forget.json" "$TMP/dry.json" "$CUT" "$START4" "$START4T" \
    >"$TMP/check1.txt" <<'EOF'
import json, sys
def load(p):
    return {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(p)}
before, after = load(sys.argv[1]), load(sys.argv[2])
res, dry = json.load(open(sys.argv[3]))["wal"], json.load(open(sys.argv[4]))["wal"]
cut, start4, start4t = float(sys.argv[5]), sys.argv[6], float(sys.argv[7])
gone = sorted(set(before) - set(after))
expect = sorted(n for n, (t, _) in before.items() if t < cut)
kept_window = sorted(n for n, (t, _) in before.items() if cut <= t < start4t and n[:24] < start4)
problems = []
if not expect: problems.append("nothing was archived before the pause")
if gone != expect: problems.append("removed %s, expected %s" % (gone, expect))
if set(after) - set(before): problems.append("new files %s" % sorted(set(after) - set(before)))
if res["files_removed"] != len(gone): problems.append("files_removed %d" % res["files_removed"])
if res["bytes_removed"] != sum(before[n][1] for n in gone): problems.append("bytes_removed %d" % res["bytes_removed"])
if sorted(res["removed"]) != gone or sorted(dry["removed"]) != gone: problems.append("the removed lists differ")
if not kept_window: problems.append("no file before the 4th backup's start was archived inside the window")
if any(n not in after for n in kept_window): problems.append("a file inside the window is gone")
print("%d %d %d" % (len(gone), len(kept_window), res["kept_for_window"]))
for p in problems: print(p)
EOF
read -r GONE1 KEPTW KEPTW_JSON <"$TMP/check1.txt"
if [ "$(wc -l <"$TMP/check1.txt")" = 1 ]; then
    ok "forget removed exactly the $GONE1 WAL files archived before the window, kept the $KEPTW before backup 4 inside it (counts and bytes in --json match)"
else
    fail "forget removed exactly the WAL archived before the window"
    sed 's/^/#   /' "$TMP/check1.txt"
fi
if [ "$(grep -c '^would remove wal/' "$TMP/dry.txt")" = "$GONE1" ] &&
    grep -q "^WAL: would remove $GONE1 of $(wc -l <"$TMP/before.txt") file(s), .*; kept $KEPTW archived in the window" "$TMP/dry.txt"; then
    ok "the text of --dry-run lists the $GONE1 files and counts them"
else
    fail "the text of --dry-run lists the $GONE1 files and counts them"
    grep -v '^would remove' "$TMP/dry.txt" | sed 's/^/#   /' | tail -5
fi
[ "$KEPTW_JSON" = "$KEPTW" ] && ok "--json kept_for_window = $KEPTW" || fail "--json kept_for_window $KEPTW_JSON, expected $KEPTW"
n=$("$LB" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 2 ] && ok "forget kept 2 of 5 base backups" || fail "forget kept 2 of 5 base backups ($n)"

# ------------------------------------------------- prune, without window
check_rc 0 "prune --keep-wal-within 0" "$LB" prune --keep-wal-within 0 --json
cp "$TMP/.out" "$TMP/prune.json"
listing "$TMP/after2.txt"
python3 - "$TMP/after1.txt" "$TMP/after2.txt" "$TMP/prune.json" "$START4" "$START4T" >"$TMP/check2.txt" <<'EOF'
import json, sys
def load(p):
    return {l.split()[0]: (float(l.split()[1]), int(l.split()[2])) for l in open(p)}
before, after = load(sys.argv[1]), load(sys.argv[2])
res, start4, start4t = json.load(open(sys.argv[3]))["wal"], sys.argv[4], float(sys.argv[5])
gone = sorted(set(before) - set(after))
# before backup 4's start segment and archived before it started (rule 3 keeps the rest)
old = lambda n: n[:24] < start4 and not n.endswith(".history") and before[n][0] < start4t
expect = sorted(n for n in before if old(n))
problems = []
if gone != expect: problems.append("removed %s, expected %s" % (gone, expect))
if any(old(n) for n in after): problems.append("WAL before backup 4's start left")
if any(n not in after for n in before if not old(n)): problems.append("a file archived after backup 4 started is gone")
if not any(n[:24] == start4 for n in after): problems.append("backup 4's start segment is gone")
if res["files_removed"] != len(gone) or res["bytes_removed"] != sum(before[n][1] for n in gone):
    problems.append("counts %d/%d" % (res["files_removed"], res["bytes_removed"]))
print("%d %d" % (len(gone), len(after)))
for p in problems: print(p)
EOF
read -r GONE2 LEFT <"$TMP/check2.txt"
if [ "$(wc -l <"$TMP/check2.txt")" = 1 ]; then
    ok "prune removed exactly the $GONE2 files before backup 4's start segment $START4; all $LEFT from it on are there"
else
    fail "prune removed exactly the WAL before backup 4's start"
    sed 's/^/#   /' "$TMP/check2.txt"
fi
check_rc 0 "prune --keep-wal-within 0 again" "$LB" prune --keep-wal-within 0 --json
listing "$TMP/after3.txt"
if [ "$(jfield "$TMP/.out" wal files_removed)" = 0 ] && cmp -s "$TMP/after2.txt" "$TMP/after3.txt"; then
    ok "a second run removes nothing"
else fail "a second run removes nothing"; fi
check_rc 0 "prune without --keep-wal-within" "$LB" prune
listing "$TMP/after4.txt"
cmp -s "$TMP/after2.txt" "$TMP/after4.txt" && ok "prune without --keep-wal-within leaves wal/ alone" ||
    fail "prune without --keep-wal-within leaves wal/ alone"

# --------------------------------------------------- the window is shown
"$LB" points >"$TMP/points.txt" 2>&1
"$LB" snapshots >"$TMP/snapshots.txt" 2>&1
if grep -q "point-in-time recovery of database-physical: from .* to .*2 base backups" "$TMP/points.txt" &&
    grep -q "point-in-time recovery of database-physical: from .* to " "$TMP/snapshots.txt"; then
    ok "points and snapshots show the recoverable window"
else
    fail "points and snapshots show the recoverable window"
    sed 's/^/#   /' "$TMP/points.txt" "$TMP/snapshots.txt" | tail -8
fi

# ------------------------------------------- every kept backup recovers
[ -n "$RUNAS" ] && PGUSER_OPT=(--pg-user "$RUNAS") || PGUSER_OPT=()
# recover NAME WANT-ROWS ARCHIVE(on/off) ARGS...: restore, start, count, stop
recover() {
    local name=$1 want=$2 archive=$3 port dir got
    shift 3
    port=$(freeport)
    dir=$TMP/r-$name
    cleanup_hooks+=("[ -f '$dir/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$dir' -m immediate -w stop >/dev/null 2>&1")
    local set=()
    [ "$archive" = off ] && set=(--pg-set archive_mode=off)
    if "$LB" restore --pg-physical --pg-data "$dir" --pg-port "$port" "${PGUSER_OPT[@]}" --pg-bin "$PG_BIN" \
        "${set[@]}" --start --start-timeout 60 "$@" >"$TMP/r-$name.out" 2>&1; then
        got=$("$PG_BIN/psql" -X -A -t -p "$port" -d postgres -c "SELECT count(*) FROM t" 2>&1)
        [ "$got" = "$want" ] && ok "$name: recovered, $want rows" || fail "$name: $want rows expected, got $got"
    else
        fail "$name: restore --pg-physical $*"
        sed 's/^/#   /' "$TMP/r-$name.out" | tail -15
    fi
    as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1
}
recover "backup-4-end" "$ROWS_B4" off "$B4" --to-immediate
recover "backup-5-end" "$ROWS_B5" off "$B5" --to-immediate
recover "backup-4-to-T4" "$ROWS_T4" off "$B4" --to-time "$T4"
recover "backup-5-to-T5" "$ROWS_T5" on "$B5" --to-time "$T5"

# the promoted server archived its timeline's history: a later run keeps it
for i in $(seq 1 50); do [ -f "$REPO/wal/00000002.history" ] && break; sleep 0.1; done
if [ -f "$REPO/wal/00000002.history" ]; then
    listing "$TMP/before5.txt"
    check_rc 0 "forget --keep-last 2 --keep-wal-within 0 after the promotion" "$LB" forget --keep-last 2 --keep-wal-within 0 --json
    listing "$TMP/after5.txt"
    if [ "$(jfield "$TMP/.out" wal files_removed)" = 0 ] && cmp -s "$TMP/before5.txt" "$TMP/after5.txt"; then
        ok "00000002.history and the new timeline's files are kept (nothing removed)"
    else
        fail "00000002.history and the new timeline's files are kept"
        diff "$TMP/before5.txt" "$TMP/after5.txt" | sed 's/^/#   /'
    fi
else
    fail "the promoted server archived 00000002.history"
fi
finish
