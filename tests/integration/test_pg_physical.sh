#!/usr/bin/env bash
# test_pg_physical.sh - PostgreSQL physical backups, WAL archiving and PITR
# against a real PostgreSQL server (tests/harness/pg).
#
# A server archives its WAL with archive_command = 'lifeboat wal-push %p'
# into an encrypted repository (password from a file, as the server's user).
# Two base backups (the second must deduplicate unchanged relation files);
# three batches of rows with recorded times between them; a restore to a time
# between batch 2 and 3 into a new data directory on another port, started
# by lifeboat, must hold exactly batches 1 and 2. wal-push of the same
# segment twice succeeds, a different file under an archived name is
# refused, a segment whose header contradicts its name is refused, wal-fetch
# of a missing file exits exactly 1 and of an archived one returns the same
# bytes; a repository error exits 126 (PostgreSQL then stops recovery rather
# than ending it early). pg-check gives its verdict. wal-push throughput is
# measured on 50 distinct 16 MiB segments (a note, not an assertion).
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/pg_archive.sh"
PGDIR=$TMP/pg
REPO=$TMP/repo
PW=$TMP/password
pg_repo "$REPO" "$PW"

# --ahead: each call also pushes the next ready files; PostgreSQL's calls for
# those are answered from the spool (-v logs both into the server log)
PGSPOOL=$TMP/pgspool
mkdir -m 700 "$PGSPOOL"
[ -n "$RUNAS" ] && chown "$RUNAS": "$PGSPOOL"
pg_start "$PGDIR" "LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$PW $LB wal-push -v --ahead 4 --spool $PGSPOOL %p" \
    "max_wal_size = 256MB" "start PostgreSQL with archive_command = lifeboat wal-push --ahead 4"

# ------------------------------------------------------------- base backups
t0=$(now)
"$PG_BIN/pgbench" -q -i -s 3 postgres >"$TMP/pgbench.log" 2>&1 || { fail "pgbench -i"; sed 's/^/#   /' "$TMP/pgbench.log"; }
note "pgbench -i -s 3 in $(elapsed "$t0" "$(now)") s"

t0=$(now)
check_rc 0 "backup --pg-physical (first base backup)" "$LB" backup --pg-physical --pg-bin "$PG_BIN" --json
cp "$TMP/.out" "$TMP/b1.json"
note "first base backup in $(elapsed "$t0" "$(now)") s"
if [ "$(jfield "$TMP/b1.json" pg kind 2>/dev/null)" = pg-physical ] &&
    [ "$(jfield "$TMP/b1.json" pg stop_lsn_source)" = manifest ] &&
    [ "$(jfield "$TMP/b1.json" pg timeline)" = 1 ] &&
    [[ "$(jfield "$TMP/b1.json" pg start_lsn)" == */* ]]; then
    ok "the snapshot records start/stop LSN (from backup_label and the manifest), timeline and times"
else
    fail "the snapshot records start/stop LSN, timeline and times"
    sed 's/^/#   /' "$TMP/b1.json"
fi
snaps=$("$LB" snapshots --component database-physical --json | python3 -c 'import json,sys; l=json.load(sys.stdin); print(len(l), l[0]["paths"][0], l[0]["meta"]["kind"])')
if [ "$snaps" = "1 /base.tar pg-physical" ]; then ok "component database-physical holds /base.tar"; else fail "component database-physical holds /base.tar ($snaps)"; fi

sql "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 100" >/dev/null
t0=$(now)
check_rc 0 "backup --pg-physical (second base backup)" "$LB" backup --pg-physical --pg-bin "$PG_BIN" --json
cp "$TMP/.out" "$TMP/b2.json"
tar2=$(jfield "$TMP/b2.json" pg tar_bytes)
added2=$(jfield "$TMP/b2.json" data_added)
stored1=$(jfield "$TMP/b1.json" data_added_stored)
stored2=$(jfield "$TMP/b2.json" data_added_stored)
note "second base backup in $(elapsed "$t0" "$(now)") s: tar $tar2 bytes, new plaintext $added2 bytes, stored $stored2 bytes (first backup stored $stored1)"
# unchanged relation files deduplicate; what is new is mostly the WAL segment
# the backup carries (16 MiB) and the chunks around pages that changed (the
# update, hint bits, the visibility map): 20-36% of the tar in practice,
# against 100% without deduplication
if [ "$added2" -lt $((tar2 * 6 / 10)) ]; then
    ok "a re-backup deduplicates unchanged relation files (new data $((added2 * 100 / tar2))% of the tar)"
else
    fail "a re-backup deduplicates unchanged relation files (new $added2 of $tar2 bytes, stored $stored2 vs $stored1)"
fi

# ------------------------------------------------- three batches, with times
sql "CREATE TABLE batches (batch int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())" >/dev/null
sql "INSERT INTO batches (batch) SELECT 1 FROM generate_series(1, 100)" >/dev/null
sql "SELECT pg_sleep(1.1)" >/dev/null
T1=$(sql "SELECT now()")
sql "INSERT INTO batches (batch) SELECT 2 FROM generate_series(1, 100)" >/dev/null
sql "SELECT pg_sleep(1.1)" >/dev/null
T2=$(sql "SELECT now()")
sql "SELECT pg_sleep(1.1)" >/dev/null
sql "INSERT INTO batches (batch) SELECT 3 FROM generate_series(1, 100)" >/dev/null
# a commit after the target must be archived for recovery to know it got there
note "T1=$T1 T2=$T2"
switch_wait
rc=$?
last=$SWITCHED
if [ "$rc" -eq 0 ]; then ok "pg_stat_archiver shows $last archived through lifeboat wal-push"; else
    fail "pg_stat_archiver shows $last archived (last: $(archived))"
    sql "SELECT * FROM pg_stat_archiver" | sed 's/^/#   /'
    tail -n 20 "$PGDIR/server.log" | sed 's/^/#   /'
fi
if [ -n "$RUNAS" ]; then
    owner=$(stat -c %U "$REPO/wal/$last" 2>/dev/null)
    if [ "$owner" = "$RUNAS" ]; then ok "wal-push ran as the server's user ($RUNAS)"; else fail "wal-push ran as the server's user ($owner)"; fi
fi

if grep -q "archived ahead (spool marker matches)" "$PGDIR/server.log"; then
    ok "the server's archive_command was answered from the spool for files pushed ahead"
else
    skip "no file was pushed ahead (PostgreSQL never had two files ready at once)"
fi

# ------------------------------------------------------------------ pg-check
check_rc 0 "pg-check: verdict OK on the archiving server (exit 0)" "$LB" pg-check
if grep -q "verdict: *OK" "$TMP/.out" && grep -q "repository: *holds $last" "$TMP/.out"; then
    ok "pg-check names the verdict and finds the last archived segment in the repository"
else
    fail "pg-check names the verdict and finds the last archived segment in the repository"
    sed 's/^/#   /' "$TMP/.out"
fi
"$LB" pg-check --json >"$TMP/check.json" 2>&1
if [ "$(jfield "$TMP/check.json" verdict)" = OK ] && [ "$(jfield "$TMP/check.json" failed_count)" = 0 ]; then
    ok "pg-check --json: verdict OK, failed_count 0"
else fail "pg-check --json: verdict OK, failed_count 0"; sed 's/^/#   /' "$TMP/check.json"; fi

# ------------------------------------------------ point-in-time recovery
PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
R1=$TMP/restored
[ -n "$RUNAS" ] && PGUSER_OPT=(--pg-user "$RUNAS") || PGUSER_OPT=()
cleanup_hooks+=("[ -f '$R1/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$R1' -m immediate -w stop >/dev/null 2>&1")
t0=$(now)
check_rc 0 "restore --pg-physical --to-time T2 --start" "$LB" restore --pg-physical --to-time "$T2" --pg-data "$R1" \
    --pg-port "$PORT2" "${PGUSER_OPT[@]}" --pg-bin "$PG_BIN" --start --start-timeout 120
note "PITR restore + recovery in $(elapsed "$t0" "$(now)") s"
sed 's/^/# restore: /' "$TMP/.out"
rows=$("$PG_BIN/psql" -X -A -t -p "$PORT2" -d postgres -c "SELECT batch || ':' || count(*) FROM batches GROUP BY batch ORDER BY batch" 2>&1 | tr '\n' ' ')
if [ "$rows" = "1:100 2:100 " ]; then ok "the restored server holds exactly batches 1 and 2"; else fail "the restored server holds exactly batches 1 and 2 (got: $rows)"; fi
inrec=$("$PG_BIN/psql" -X -A -t -p "$PORT2" -d postgres -c "SELECT pg_is_in_recovery()" 2>&1)
if [ "$inrec" = f ]; then ok "recovery finished and the server was promoted"; else fail "recovery finished ($inrec)"; fi
if grep -q "recovery_target_time = '" "$R1/postgresql.auto.conf" && grep -q "wal-fetch %f" "$R1/postgresql.auto.conf" &&
    ! grep -qF "$(cat "$PW")" "$R1/postgresql.auto.conf"; then
    ok "postgresql.auto.conf has restore_command and recovery_target_time, and no password"
else fail "postgresql.auto.conf has restore_command and recovery_target_time, and no password"; fi
[ "$(stat -c %a "$R1")" = 700 ] && ok "the data directory is mode 0700" || fail "the data directory is mode 0700 ($(stat -c %a "$R1"))"
if [ -n "$RUNAS" ]; then
    [ "$(stat -c %U "$R1/PG_VERSION")" = "$RUNAS" ] && ok "restored files belong to $RUNAS" || fail "restored files belong to $RUNAS"
fi
as_pg "$PG_BIN/pg_ctl" -D "$R1" -m fast -w stop >/dev/null 2>&1

# the restored server (timeline 2) archived its history file through the same repository
if "$LB" wal-fetch 00000002.history "$TMP/tl2.history" 2>/dev/null && grep -q "before" "$TMP/tl2.history"; then
    ok "the new timeline's 00000002.history was archived and fetches back"
else
    skip "00000002.history not archived (yet) by the restored server"
fi

check_rc 1 "restore into a non-empty data directory is refused" "$LB" restore --pg-physical --to-latest --pg-data "$R1" "${PGUSER_OPT[@]}"
check_rc 1 "restore to a time before every base backup is refused" "$LB" restore --pg-physical \
    --to-time "2000-01-01 00:00:00" --pg-data "$TMP/never" "${PGUSER_OPT[@]}"
if grep -q "no physical backup ends before" "$TMP/.out" && [ ! -e "$TMP/never" ]; then ok "... with a reason, and nothing written"; else
    fail "... with a reason, and nothing written"; sed 's/^/#   /' "$TMP/.out"; fi
if [ -n "$RUNAS" ]; then
    chmod 600 "$PW"
    check_rc 1 "restore checks that $RUNAS can read the password file before writing anything" \
        "$LB" restore --pg-physical --to-latest --pg-data "$TMP/unreadable" "${PGUSER_OPT[@]}"
    grep -q "cannot read '$PW'" "$TMP/.out" && [ ! -e "$TMP/unreadable" ] && ok "... naming the file" ||
        { fail "... naming the file"; sed 's/^/#   /' "$TMP/.out"; }
    chmod 644 "$PW"
fi
env -u LIFEBOAT_PASSWORD_FILE LIFEBOAT_PASSWORD="$(cat "$PW")" "$LB" restore --pg-physical --to-latest --pg-data "$TMP/nopw" "${PGUSER_OPT[@]}" >"$TMP/o" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -q "never writes a password" "$TMP/o"; then ok "restore refuses to write restore_command without a password file or command"; else
    fail "restore refuses to write restore_command without a password file or command (exit $rc)"; sed 's/^/#   /' "$TMP/o"; fi

# ------------------------------------------------------- wal-push / wal-fetch
SEG=000000010000000000000002
check_rc 0 "wal-fetch an archived segment" "$LB" wal-fetch "$SEG" "$TMP/fetched"
size=$(stat -c %s "$TMP/fetched" 2>/dev/null)
[ "$size" = 16777216 ] && ok "fetched segment is 16 MiB" || fail "fetched segment is 16 MiB ($size)"
note "$SEG (written by pgbench -i) is stored compressed and encrypted as $(stat -c %s "$REPO/wal/$SEG") bytes"
mkdir -p "$TMP/seg"
cp "$TMP/fetched" "$TMP/seg/$SEG"
check_rc 0 "wal-push of the same segment again succeeds (idempotent)" "$LB" wal-push "$TMP/seg/$SEG" --json
grep -q '"outcome":"identical"' "$TMP/.out" && ok "... recognised as identical, nothing written" || fail "... recognised as identical"
check_rc 0 "wal-push of the same segment a third time succeeds" "$LB" wal-push "$TMP/seg/$SEG"
check_rc 0 "wal-fetch again" "$LB" wal-fetch "$SEG" "$TMP/fetched2"
cmp -s "$TMP/fetched" "$TMP/fetched2" && ok "wal-fetch returns byte-identical content" || fail "wal-fetch returns byte-identical content"
mkdir -p "$TMP/other"
cp "$TMP/fetched" "$TMP/other/$SEG"
printf 'X' | dd of="$TMP/other/$SEG" bs=1 seek=4000000 conv=notrunc 2>/dev/null
before=$(stat -c '%s %Y' "$REPO/wal/$SEG")
check_rc 1 "wal-push of a different segment under an archived name is refused" "$LB" wal-push "$TMP/other/$SEG"
grep -q "different file of that name" "$TMP/.out" && ok "... saying why" || { fail "... saying why"; sed 's/^/#   /' "$TMP/.out"; }
[ "$(stat -c '%s %Y' "$REPO/wal/$SEG")" = "$before" ] && ok "... and the archived segment is untouched" || fail "... and the archived segment is untouched"
"$LB" wal-fetch "$SEG" "$TMP/fetched3" && cmp -s "$TMP/fetched" "$TMP/fetched3" && ok "the archived segment still fetches unchanged" || fail "the archived segment still fetches unchanged"
cp "$TMP/fetched" "$TMP/other/0000000100000000000000F0"
check_rc 1 "wal-push of a segment whose header contradicts its name is refused" "$LB" wal-push "$TMP/other/0000000100000000000000F0"
check_rc 1 "wal-push of a file that is not a WAL file name is refused" "$LB" wal-push "$TMP/fetched"
check_rc 1 "wal-fetch of a missing segment exits 1" "$LB" wal-fetch 0000000100000000000000FE "$TMP/missing"
[ ! -e "$TMP/missing" ] && ok "... and writes nothing" || fail "... and writes nothing"
check_rc 1 "wal-fetch of a missing history file exits 1" "$LB" wal-fetch 00000009.history "$TMP/missing"
echo wrong-password >"$TMP/pw.wrong"
check_rc 126 "wal-fetch with a wrong password exits 126 (recovery stops instead of ending early)" \
    env LIFEBOAT_PASSWORD_FILE="$TMP/pw.wrong" "$LB" wal-fetch "$SEG" "$TMP/x"
check_rc 1 "wal-fetch --retry-errors exits 1 on the same error (for standbys)" \
    env LIFEBOAT_PASSWORD_FILE="$TMP/pw.wrong" "$LB" wal-fetch --retry-errors "$SEG" "$TMP/x"
check_rc 126 "wal-fetch from a missing repository exits 126" env LIFEBOAT_REPOSITORY="$TMP/nothing" "$LB" wal-fetch "$SEG" "$TMP/x"

# ---------------------------------------- other commands leave wal/ alone
nwal=$(ls "$REPO/wal" | wc -l)
check_rc 0 "check passes on a repository with wal/ objects" "$LB" check
check_rc 0 "forget --keep-last 1 --prune" "$LB" forget --keep-last 1 --prune
[ "$(ls "$REPO/wal" | wc -l)" = "$nwal" ] && ok "prune leaves the $nwal wal/ objects alone" || fail "prune leaves the wal/ objects alone"
check_rc 0 "check after prune" "$LB" check --read-data

# ----------------------------------------------------- a tablespace is refused
mkdir -p "$TMP/ts" && [ -n "$RUNAS" ] && chown "$RUNAS" "$TMP/ts"
if sql "CREATE TABLESPACE extra LOCATION '$TMP/ts'" >/dev/null 2>&1; then
    check_rc 1 "backup --pg-physical refuses a cluster with an extra tablespace" "$LB" backup --pg-physical --pg-bin "$PG_BIN"
    grep -q "tablespace" "$TMP/.out" && ok "... naming the reason" || fail "... naming the reason"
    sql "DROP TABLESPACE extra" >/dev/null
fi

# ------------------------------------------------- pg-check on a broken setup
sql "ALTER SYSTEM SET archive_command = 'false'" >/dev/null && sql "SELECT pg_reload_conf()" >/dev/null
sql "SELECT pg_switch_wal()" >/dev/null
sql "CREATE TABLE nudge AS SELECT 1" >/dev/null
sql "SELECT pg_switch_wal()" >/dev/null
for i in $(seq 1 50); do [ "$(sql "SELECT failed_count > 0 FROM pg_stat_archiver")" = t ] && break; sleep 0.2; done
check_rc 1 "pg-check: FAILING when archive_command fails (exit 1)" "$LB" pg-check
grep -q "verdict: *FAILING" "$TMP/.out" && grep -q "last attempt to archive" "$TMP/.out" && ok "... with the reason" ||
    { fail "... with the reason"; sed 's/^/#   /' "$TMP/.out"; }
sql "ALTER SYSTEM RESET archive_command" >/dev/null && sql "SELECT pg_reload_conf()" >/dev/null

# ---------------------------------------------------------- wal-push throughput
# 50 distinct segments: the real segment with its page address rewritten, in
# a directory laid out like pg_wal (archive_status/*.ready) for --ahead
TP=$TMP/tp
mkdir -p "$TP/pg_wal/archive_status"
python3 - "$TMP/fetched" "$TP/pg_wal" <<'EOF2'
import struct, sys
src = open(sys.argv[1], 'rb').read()
seg = 16 << 20
for i in range(1, 51):
    name = '%08X%08X%08X' % (1, 2, i)
    data = bytearray(src)
    struct.pack_into('<Q', data, 8, (2 * ((1 << 32) // seg) + i) * seg)  # xlp_pageaddr
    open('%s/%s' % (sys.argv[2], name), 'wb').write(data)
    open('%s/archive_status/%s.ready' % (sys.argv[2], name), 'w').close()
EOF2
segs=$(ls "$TP"/pg_wal/0* | head -50)
"$LB" -r "$TP/repo" init --kdf-n 1024 -q
t0=$(now)
pushed=0
for f in $segs; do "$LB" -r "$TP/repo" wal-push "$f" && pushed=$((pushed + 1)); done
secs=$(elapsed "$t0" "$(now)")
rate() { python3 -c "print('%.1f' % ($1 / max(float('$2'), 1e-3)))"; }
[ "$pushed" -eq 50 ] && ok "wal-push of 50 distinct segments" || fail "wal-push of 50 distinct segments ($pushed pushed)"
note "wal-push throughput: 50 x 16 MiB in $secs s = $(rate 50 "$secs") segments/s (scrypt N=1024, one process per segment)"
LIFEBOAT_NEW_PASSWORD_FILE=$PW "$LB" -r "$TP/repo2" init -q
t0=$(now)
for f in $(echo "$segs" | head -10); do "$LB" -r "$TP/repo2" wal-push "$f"; done
secs=$(elapsed "$t0" "$(now)")
note "default scrypt N=32768: 10 segments in $secs s = $(rate 10 "$secs") segments/s"

# --ahead: one call pushes the next ready files too; PostgreSQL's calls for
# them are answered from spool markers without opening the repository
LIFEBOAT_NEW_PASSWORD_FILE=$PW "$LB" -r "$TP/repo3" init -q
SPOOL=$TMP/spool
first=$(echo "$segs" | head -1)
check_rc 0 "wal-push --ahead 4 --spool" "$LB" -r "$TP/repo3" wal-push --ahead 4 --spool "$SPOOL" --json "$first"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pushed_ahead"])' "$TMP/.out")" = 4 ] &&
    [ "$(ls "$SPOOL" | wc -l)" = 4 ] && ok "... pushed 4 more ready segments and left 4 markers" ||
    { fail "... pushed 4 more ready segments and left 4 markers"; sed 's/^/#   /' "$TMP/.out"; ls "$SPOOL" | sed 's/^/#   /'; }
mv "$TP/pg_wal/archive_status/$(basename "$first").ready" "$TP/pg_wal/archive_status/$(basename "$first").done"
second=$(echo "$segs" | sed -n 2p)
third=$(echo "$segs" | sed -n 3p)
check_rc 0 "the next call is acknowledged from its marker, without the repository (wrong password given)" \
    env LIFEBOAT_PASSWORD_FILE="$TMP/pw.wrong" "$LB" -r "$TP/repo3" wal-push --ahead 4 --spool "$SPOOL" --json "$second"
grep -q '"outcome":"spooled"' "$TMP/.out" && [ ! -e "$SPOOL/$(basename "$second").ok" ] && ok "... and its marker is used up" ||
    fail "... and its marker is used up"
printf 'Y' | dd of="$third" bs=1 seek=5000000 conv=notrunc 2>/dev/null
check_rc 1 "a file changed after it was pushed ahead does not match its marker and is refused" \
    "$LB" -r "$TP/repo3" wal-push --ahead 4 --spool "$SPOOL" "$third"
rm -rf "$SPOOL" "$TP/repo3"
python3 - "$TP/pg_wal" <<'EOF2'
import os, sys
st = sys.argv[1] + '/archive_status'
for f in os.listdir(st):
    if f.endswith('.done'):
        os.rename(st + '/' + f, st + '/' + f[:-5] + '.ready')
EOF2
LIFEBOAT_NEW_PASSWORD_FILE=$PW "$LB" -r "$TP/repo3" init -q
# restore the third segment's original bytes: rewrite its page address again
python3 - "$TMP/fetched" "$third" <<'EOF2'
import struct, sys
data = bytearray(open(sys.argv[1], 'rb').read())
seg = 16 << 20
struct.pack_into('<Q', data, 8, (2 * ((1 << 32) // seg) + 3) * seg)
open(sys.argv[2], 'wb').write(data)
EOF2
t0=$(now)
pushed=0
for f in $segs; do
    "$LB" -r "$TP/repo3" wal-push --ahead 8 --spool "$SPOOL" "$f" && pushed=$((pushed + 1))
    n=$(basename "$f")
    mv "$TP/pg_wal/archive_status/$n.ready" "$TP/pg_wal/archive_status/$n.done" # as PostgreSQL does
done
secs=$(elapsed "$t0" "$(now)")
stored=$(ls "$TP/repo3/wal" | wc -l)
[ "$pushed" -eq 50 ] && [ "$stored" -eq 50 ] && ok "wal-push --ahead 8: 50 segments acknowledged, 50 in the repository" ||
    fail "wal-push --ahead 8: 50 segments acknowledged, 50 in the repository ($pushed, $stored)"
note "default scrypt N=32768 with --ahead 8: 50 segments in $secs s = $(rate 50 "$secs") segments/s"
rm -rf "$TP"

finish
