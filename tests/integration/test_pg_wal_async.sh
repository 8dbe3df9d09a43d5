#!/usr/bin/env bash
# test_pg_wal_async.sh - wal-push --async (a spool's one background pusher)
# and wal-fetch --prefetch (a spool's one background prefetcher) against a
# real PostgreSQL server (tests/harness/pg).
#
# The server archives with archive_command = lifeboat wal-push --async
# --spool DIR. About 20 segments are written; midway the pusher is killed
# with SIGKILL, and later the repository refuses writes for a moment (the
# pusher's error fails the calls; PostgreSQL retries). Checked: every
# segment is archived (pg_stat_archiver), never
# acknowledged before it is in the repository (each .done file has its
# object), no marker is left behind, at most one pusher runs at any time
# (sampled), a fresh pusher took over after the kill, the pusher exits after
# its idle time; a pusher that cannot open the repository leaves its error
# for the next call, which fails with it. Then a recovery with
# restore_command = lifeboat wal-fetch --prefetch 8 --spool DIR2 recovers
# every row, and its segments came from the prefetcher.
. "$(dirname "$0")/lib.sh"

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    skip "PostgreSQL server binaries are not installed"
    finish
fi
HARNESS=$(cd "$(dirname "$0")/../harness/pg" && pwd)
PGDIR=$TMP/pg
REPO=$TMP/repo
PW=$TMP/password
SPOOL=$TMP/spool
RUNAS=""
[ "$(id -u)" = 0 ] && RUNAS=postgres
as_pg() { if [ -n "$RUNAS" ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }
IDLE=3

echo "$LIFEBOAT_PASSWORD" >"$PW"
chmod 644 "$PW"
check "init repository" new_repo "$REPO"
unset LIFEBOAT_PASSWORD
export LIFEBOAT_PASSWORD_FILE=$PW LIFEBOAT_REPOSITORY=$REPO
mkdir -m 700 "$SPOOL"
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$REPO" "$SPOOL"

ARCHIVE="LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$PW $LB wal-push -v --async --ahead 4 --async-idle $IDLE --spool $SPOOL %p"
if ! PG_ARCHIVE_COMMAND=$ARCHIVE PG_EXTRA_CONF="max_wal_size = 64MB
min_wal_size = 32MB" bash "$HARNESS/start.sh" "$PGDIR" >"$TMP/start.log" 2>&1; then
    fail "start PostgreSQL"
    sed 's/^/#   /' "$TMP/start.log" | tail -20
    finish
fi
cleanup_hooks+=("bash '$HARNESS/stop.sh' '$PGDIR'")
cleanup_hooks+=("for p in \$(pgrep -x lb-wal-pusher; pgrep -x lb-wal-prefetch); do grep -qs '$TMP' /proc/\$p/environ && kill \$p; done")
ok "start PostgreSQL with archive_command = lifeboat wal-push --async"
. "$PGDIR/pg.env"
sql() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
archived() { sql "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"; }
wait_archived() {
    local want=$1 i got
    for i in $(seq 1 300); do
        got=$(archived)
        [ -n "$got" ] && [[ ! "$got" < "$want" ]] && return 0
        sleep 0.2
    done
    return 1
}
# our pushers only (other tests may run their own): by the spool in their environment
pushers() {
    local p n=0
    for p in $(pgrep -x lb-wal-pusher); do grep -qs "$SPOOL" "/proc/$p/cmdline" && n=$((n + 1)); done
    echo $n
}
pusher_pid() {
    local p
    for p in $(pgrep -x lb-wal-pusher); do grep -qs "$SPOOL" "/proc/$p/cmdline" && echo "$p"; done
}

# sample the number of pushers every 0.1 s, and every .done file against the
# repository (a segment acknowledged to PostgreSQL must be in it)
(
    while [ ! -e "$TMP/stop-sampling" ]; do
        echo "$(pushers)" >>"$TMP/pushers.txt"
        for f in "$PGDATA"/pg_wal/archive_status/*.done; do
            [ -e "$f" ] || continue
            n=$(basename "$f" .done)
            [ -e "$REPO/wal/$n" ] || echo "$n" >>"$TMP/early.txt"
        done
        sleep 0.1
    done
) &
SAMPLER=$!

check "backup --pg-physical (base backup)" "$LB" backup --pg-physical --pg-bin "$PG_BIN" --wal-method none
sql "CREATE TABLE t (id int, pad text)" >/dev/null
t0=$(date +%s.%N)
for i in $(seq 1 20); do
    sql "INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g" >/dev/null
    sql "SELECT pg_switch_wal()" >/dev/null
    if [ "$i" = 13 ]; then
        # the repository refuses writes for a while: the pusher's errors reach
        # PostgreSQL through the calls, which fail, and PostgreSQL retries
        chmod 555 "$REPO/wal"
        for j in $(seq 1 50); do [ -s "$SPOOL/error" ] || [ "$(sql "SELECT failed_count FROM pg_stat_archiver")" != 0 ] && break; sleep 0.1; done
        sleep 1.5
        chmod 755 "$REPO/wal"
    fi
    if [ "$i" = 10 ]; then
        victim=$(pusher_pid | head -n 1)
        if [ -n "$victim" ]; then
            kill -9 "$victim"
            ok "SIGKILL the running pusher ($victim) midway"
        else
            fail "a pusher runs midway to be killed"
        fi
    fi
done
last=$(sql "SELECT pg_walfile_name(pg_current_wal_lsn() - 1)")
sql "SELECT pg_switch_wal()" >/dev/null
if wait_archived "$last"; then
    ok "pg_stat_archiver shows $last archived through wal-push --async"
else
    fail "pg_stat_archiver shows $last archived (last: $(archived))"
    tail -n 20 "$PGDIR/server.log" | sed 's/^/#   /'
    tail -n 20 "$SPOOL/pusher.log" | sed 's/^/#   /'
fi
secs=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)")
segs=$(ls "$REPO/wal" | grep -c '^[0-9A-F]\{24\}$')
note "$segs segments archived in $secs s (load and archiving together)"
failed=$(sql "SELECT failed_count FROM pg_stat_archiver")
if [ "$failed" -gt 0 ] && grep -q "background pusher: unable to archive" "$PGDIR/server.log"; then
    ok "while the repository refused writes, archive_command failed with the pusher's error ($failed failed calls) and PostgreSQL retried until all was archived"
else
    fail "the pusher's error reached PostgreSQL (failed_count $failed)"
    grep -i "archive" "$PGDIR/server.log" | tail -n 5 | sed 's/^/#   /'
fi
[ "$segs" -ge 20 ] && ok "at least 20 segments are in the repository ($segs)" || fail "at least 20 segments are in the repository ($segs)"

sleep 0.5
touch "$TMP/stop-sampling"
wait "$SAMPLER"
max=$(sort -n "$TMP/pushers.txt" | tail -n 1)
[ "$max" = 1 ] && ok "one pusher at a time ($(wc -l <"$TMP/pushers.txt") samples, max $max)" ||
    fail "one pusher at a time (max $max)"
if [ ! -s "$TMP/early.txt" ]; then
    ok "no segment was acknowledged (.done) before its object was in the repository"
else fail "segments acknowledged before they were in the repository: $(sort -u "$TMP/early.txt" | tr '\n' ' ')"; fi
starts=$(grep -c "pusher [0-9]* started" "$SPOOL/pusher.log")
[ "$starts" -ge 2 ] && ok "a fresh pusher took over after the SIGKILL ($starts pushers started)" ||
    fail "a fresh pusher took over after the SIGKILL ($starts started)"
grep -q "archived by the background pusher" "$PGDIR/server.log" &&
    ok "archive_command acknowledged from the pusher's markers" || fail "archive_command acknowledged from the pusher's markers"
# every marker is consumed by PostgreSQL's call for its file; the pusher may
# be ahead of the archiver (a file PostgreSQL marked ready after $last), so
# wait for the archiver, then count only markers of files PostgreSQL has
# already archived (.done): one of those would be an acknowledgement that
# did not go through its marker
for i in $(seq 1 150); do
    [ -z "$(find "$SPOOL" -name '*.ok' -print -quit)" ] && break
    sleep 0.1
done
stale=""
for m in $(find "$SPOOL" -name '*.ok'); do
    f=$(basename "$m" .ok)
    [ -e "$PGDATA/pg_wal/archive_status/$f.ready" ] || stale="$stale $f"
done
left=$(find "$SPOOL" -name '*.ok' | wc -l)
[ -z "$stale" ] && ok "every marker of an archived file was consumed ($left of files still waiting for the archiver)" ||
    fail "every marker of an archived file was consumed (left:$stale)"

for i in $(seq 1 $((IDLE * 10 + 50))); do [ "$(pushers)" = 0 ] && break; sleep 0.1; done
if [ "$(pushers)" = 0 ] && grep -q "exits after $IDLE s idle" "$SPOOL/pusher.log"; then
    ok "the pusher exits after $IDLE s without work"
else fail "the pusher exits after $IDLE s without work ($(pushers) running)"; fi
if ls -l /proc/$$/fd >/dev/null 2>&1 && ! grep -q "password" "$SPOOL/pusher.log" && ! grep -qF "$(cat "$PW")" "$SPOOL/pusher.log"; then
    ok "the pusher's log holds no password"
else fail "the pusher's log holds no password"; fi

# ---------------------------------------------- an error of the pusher
# a pusher that cannot open the repository (wrong password): its error is
# the next call's failure
FAKE=$TMP/fakewal
ESPOOL=$TMP/espool
mkdir -p "$FAKE/archive_status"
mkdir -m 700 "$ESPOOL"
"$LB" wal-fetch "$last" "$FAKE/$last"
touch "$FAKE/archive_status/$last.ready"
echo wrong-password >"$TMP/wrongpw"
LIFEBOAT_PASSWORD_FILE=$TMP/wrongpw "$LB" wal-push --async --async-wait 20 --spool "$ESPOOL" "$FAKE/$last" >"$TMP/err.out" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -q "background pusher" "$TMP/err.out"; then
    ok "the pusher's error (wrong password) is reported by the call, which fails (exit $rc)"
else
    fail "the pusher's error is reported by the call (exit $rc)"
    sed 's/^/#   /' "$TMP/err.out"
fi
[ ! -e "$ESPOOL/error" ] && ok "the reported error file is removed" || fail "the reported error file is removed"

# ---------------------------------------------- recovery with --prefetch
rows=$(sql "SELECT count(*) FROM t")
FSPOOL=$TMP/fspool
mkdir -m 700 "$FSPOOL"
[ -n "$RUNAS" ] && chown "$RUNAS": "$FSPOOL"
PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
R1=$TMP/restored
[ -n "$RUNAS" ] && PGUSER_OPT=(--pg-user "$RUNAS") || PGUSER_OPT=()
cleanup_hooks+=("[ -f '$R1/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$R1' -m immediate -w stop >/dev/null 2>&1")
RESTORE="LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$PW $LB wal-fetch -v --prefetch 8 --async-idle $IDLE --spool $FSPOOL %f %p"
t0=$(date +%s.%N)
check_rc 0 "restore --pg-physical --to-latest --start with restore_command = wal-fetch --prefetch 8" \
    "$LB" restore --pg-physical --to-latest --pg-data "$R1" --pg-port "$PORT2" "${PGUSER_OPT[@]}" --pg-bin "$PG_BIN" \
    --restore-command "$RESTORE" --start --start-timeout 120
note "recovery in $(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$(date +%s.%N)") s"
got=$("$PG_BIN/psql" -X -A -t -p "$PORT2" -d postgres -c "SELECT count(*) FROM t" 2>&1)
[ "$got" = "$rows" ] && ok "the recovered server holds every row ($got)" || fail "the recovered server holds every row ($got, wanted $rows)"
used=$(grep -c "from the prefetch spool" "$R1/lifeboat-recovery.log")
[ "$used" -ge 15 ] && ok "restore_command used $used prefetched segments" || {
    fail "restore_command used prefetched segments ($used)"
    tail -n 20 "$R1/lifeboat-recovery.log" | sed 's/^/#   /'
}
starts=$(grep -c "prefetcher [0-9]* started" "$FSPOOL/prefetch.log")
[ "$starts" -ge 1 ] && ok "a background prefetcher served them ($starts started)" || fail "a background prefetcher served them"
as_pg "$PG_BIN/pg_ctl" -D "$R1" -m fast -w stop >/dev/null 2>&1
# the background processes write their own logs (a sanitizer build reports there)
if grep -l "AddressSanitizer\|LeakSanitizer\|runtime error" "$SPOOL/pusher.log" "$FSPOOL/prefetch.log" \
    "$ESPOOL/pusher.log" "$PGDIR/server.log" "$R1/lifeboat-recovery.log" 2>/dev/null; then
    fail "no sanitizer report in the logs of the calls, the pusher and the prefetcher"
else ok "no sanitizer report in the logs of the calls, the pusher and the prefetcher"; fi
finish
