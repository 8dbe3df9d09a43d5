#!/usr/bin/env bash
# test_pg_wal_copy.sh - `copy` takes the WAL of physical base backups along,
# so a second repository can do point-in-time recovery on its own.
#
# A real PostgreSQL server archives into repository A; a base backup; two
# batches of rows with a recorded time between them; copy A -> B (another
# password, so other keys: every WAL object is re-encrypted). A PITR from B
# alone to that time gives the same rows as from A. More WAL (a third
# batch); a second copy transfers exactly the segments B lacks (counted from
# the listings) and skips the others. A different object under a name B
# holds is refused, naming it, and left alone. A copy job of the
# configuration file (`lifeboat run`) takes new segments along too. Then A is deleted and a PITR
# from B to a time after the third batch has all three batches.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_wal_lib.sh"

A=$TMP/repo-a
B=$TMP/repo-b
PWA=$TMP/pass-a
PWB=$TMP/pass-b

echo "password-of-a" >"$PWA"
echo "password-of-b" >"$PWB"
chmod 644 "$PWA" "$PWB"
unset LIFEBOAT_PASSWORD
LIFEBOAT_NEW_PASSWORD_FILE=$PWA "$LB" -r "$A" init --kdf-n 1024 -q && LIFEBOAT_NEW_PASSWORD_FILE=$PWB "$LB" -r "$B" init --kdf-n 1024 -q &&
    ok "init repositories A and B (two passwords)" || fail "init repositories A and B"
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$A" "$B"
lb_a() { LIFEBOAT_REPOSITORY=$A LIFEBOAT_PASSWORD_FILE=$PWA "$LB" "$@"; }
lb_b() { LIFEBOAT_REPOSITORY=$B LIFEBOAT_PASSWORD_FILE=$PWB "$LB" "$@"; }
copy_ab() { LIFEBOAT_FROM_PASSWORD_FILE=$PWA lb_b copy --from-repo "$A" "$@"; }

pg_start_archiving "$TMP/pg" "LIFEBOAT_REPOSITORY=$A LIFEBOAT_PASSWORD_FILE=$PWA $LB wal-push %p"
ok "start PostgreSQL archiving into A"
# restore_to REPO-FN DIR TIME: PITR into DIR on a free port, started; prints the rows
restore_to() {
    local fn=$1 dir=$2 t=$3 port
    port=$(freeport)
    cleanup_hooks+=("[ -f '$dir/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$dir' -m immediate -w stop >/dev/null 2>&1")
    if ! $fn restore --pg-physical --to-time "$t" --pg-data "$dir" --pg-port "$port" "${PGUSER_OPT[@]}" \
        --pg-bin "$PG_BIN" --start --start-timeout 120 >"$TMP/restore.out" 2>&1; then
        sed 's/^/#   /' "$TMP/restore.out" | tail -20
        echo "restore failed"
        return 1
    fi
    batch_rows "$port"
    stop_dir "$dir"
}
# the timeline-1 segments in repository $1 from segment $2 on
segments() { ls "$1/wal" | grep -E '^00000001[0-9A-F]{16}$' | sort | awk -v f="${2:-0}" '$0 >= f'; }

# ------------------------------------------------------ base backup + rows
sql "CREATE TABLE batches (batch int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())" >/dev/null
check_rc 0 "backup --pg-physical into A" lb_a backup --pg-physical --pg-bin "$PG_BIN" -q
sql "INSERT INTO batches (batch) SELECT 1 FROM generate_series(1, 100)" >/dev/null
sql "SELECT pg_sleep(1.1)" >/dev/null
T1=$(sql "SELECT now()")
sql "SELECT pg_sleep(1.1)" >/dev/null
sql "INSERT INTO batches (batch) SELECT 2 FROM generate_series(1, 100)" >/dev/null
switch_wait && ok "WAL after the backup archived into A" || fail "WAL after the backup archived into A"

# ------------------------------------------------------------ first copy
check_rc 0 "copy A -> B (first)" copy_ab --json
cp "$TMP/.out" "$TMP/copy1.json"
# the server reads B as its own user; copy ran as this one
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$B"
c1=$(jfield "$TMP/copy1.json" wal segments_copied 2>/dev/null)
f1=$(jfield "$TMP/copy1.json" wal files_copied 2>/dev/null)
# the backup's first segment: the name of its .backup file starts with it
FIRST=$(ls "$A/wal" | grep '\.backup$' | head -1 | cut -c1-24)
nA=$(segments "$A" "$FIRST" | wc -l)
nB=$(segments "$B" | wc -l)
note "first copy: $c1 segment(s), $f1 history/backup file(s); A holds $nA timeline-1 segments, B $nB"
if [ "$(jfield "$TMP/copy1.json" snapshots_copied)" = 1 ] && [ "$c1" = "$nB" ] && [ "$nB" = "$nA" ] && [ "$c1" -ge 2 ]; then
    ok "the snapshot and every contiguous segment from the backup's start were copied ($c1)"
else
    fail "the snapshot and every contiguous segment from the backup's start were copied"
    sed 's/^/#   /' "$TMP/copy1.json"
fi
if ls "$B/wal" | grep -q '\.backup$' && [ "$f1" -ge 1 ]; then ok "the .backup file was copied"; else fail "the .backup file was copied"; fi
seg=$(segments "$B" | head -1)
if ! cmp -s "$A/wal/$seg" "$B/wal/$seg" && lb_a wal-fetch "$seg" "$TMP/sa" && lb_b wal-fetch "$seg" "$TMP/sb" &&
    cmp -s "$TMP/sa" "$TMP/sb"; then
    ok "a copied segment is re-encrypted under B's keys and fetches identical from B"
else fail "a copied segment is re-encrypted under B's keys and fetches identical from B"; fi
check_rc 0 "copy A -> B again (text)" copy_ab
grep -q "WAL: copied 0 segment(s), skipped $c1 already there" "$TMP/.out" && ok "... copies no WAL and says so" ||
    { fail "... copies no WAL and says so"; sed 's/^/#   /' "$TMP/.out"; }

# ------------------------------------------------------ PITR: A versus B
rowsA=$(restore_to lb_a "$TMP/ra" "$T1")
rowsB=$(restore_to lb_b "$TMP/rb" "$T1")
note "rows at T1 from A: $rowsA; from B: $rowsB"
[ "$rowsA" = "1:100 " ] && ok "PITR from A to T1 holds batch 1 only" || fail "PITR from A to T1 holds batch 1 only ($rowsA)"
[ "$rowsB" = "$rowsA" ] && ok "PITR from B alone gives the same rows as from A" || fail "PITR from B alone gives the same rows as from A ($rowsB)"
grep -q "$B" "$TMP/rb/postgresql.auto.conf" && ! grep -q "$A" "$TMP/rb/postgresql.auto.conf" &&
    ok "the server restored from B fetches its WAL from B" || fail "the server restored from B fetches its WAL from B"

# ------------------------------------------- more WAL: an incremental copy
sql "INSERT INTO batches (batch) SELECT 3 FROM generate_series(1, 100)" >/dev/null
sql "SELECT pg_sleep(1.1)" >/dev/null
T3=$(sql "SELECT now()")
sql "SELECT pg_sleep(1.1)" >/dev/null
sql "CREATE TABLE after_t3 AS SELECT 1" >/dev/null
switch_wait && sql "CREATE TABLE nudge AS SELECT 1" >/dev/null && switch_wait && ok "more WAL archived into A" || fail "more WAL archived into A"
expect=$(comm -23 <(segments "$A" "$FIRST") <(segments "$B") | wc -l)
check_rc 0 "copy A -> B (second)" copy_ab --json
cp "$TMP/.out" "$TMP/copy2.json"
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$B"
c2=$(jfield "$TMP/copy2.json" wal segments_copied 2>/dev/null)
s2=$(jfield "$TMP/copy2.json" wal segments_skipped 2>/dev/null)
note "second copy: $c2 segment(s) copied, $s2 skipped; B lacked $expect"
if [ "$c2" = "$expect" ] && [ "$c2" -ge 2 ] && [ "$s2" = "$c1" ] && [ "$(jfield "$TMP/copy2.json" snapshots_copied)" = 0 ]; then
    ok "the second copy transfers only the $expect new segments and skips the $c1 already there"
else
    fail "the second copy transfers only the new segments"
    sed 's/^/#   /' "$TMP/copy2.json"
fi
[ "$(segments "$B")" = "$(segments "$A" "$FIRST")" ] && ok "B now holds A's timeline-1 segments from the backup's start on" ||
    fail "B now holds A's timeline-1 segments from the backup's start on"

# ------------------------------ a copy job of the configuration file
sql "INSERT INTO batches (batch) SELECT 4 FROM generate_series(1, 100)" >/dev/null
switch_wait && ok "a fourth batch archived" || fail "a fourth batch archived"
cat >"$TMP/lifeboat.yaml" <<EOF
repositories:
  a:
    url: $A
    password_file: $PWA
    default: true
  b:
    url: $B
    password_file: $PWB
jobs:
  dr:
    type: copy
    repository: a
    to: b
EOF
expect=$(comm -23 <(segments "$A" "$FIRST") <(segments "$B") | wc -l)
check_rc 0 "lifeboat run dr (a copy job)" "$LB" run dr --config "$TMP/lifeboat.yaml"
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$B"
[ "$expect" -ge 1 ] && [ "$(segments "$B")" = "$(segments "$A" "$FIRST")" ] &&
    ok "the copy job took the $expect new segment(s) along" || { fail "the copy job took the new segments along ($expect)"; sed "s/^/#   /" "$TMP/.out"; }

# ------------------------------------- a different object under a held name
bk=$(ls "$B/wal" | grep '\.backup$' | head -1)
cp -p "$B/wal/$bk" "$TMP/bk.saved"
rm -f "$B/wal/$bk"
mkdir -p "$TMP/fake" && echo "not the backup history" >"$TMP/fake/$bk"
lb_b wal-push "$TMP/fake/$bk" >/dev/null 2>&1
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$B"
cp -p "$B/wal/$bk" "$TMP/bk.fake"
check_rc 1 "copy refuses when B holds a different file under a WAL name" copy_ab
grep -q "unable to copy WAL file '$bk'" "$TMP/.out" && grep -q "different file of that name" "$TMP/.out" &&
    ok "... naming the file" || { fail "... naming the file"; sed 's/^/#   /' "$TMP/.out"; }
cmp -s "$B/wal/$bk" "$TMP/bk.fake" && ok "... and leaves it alone" || fail "... and leaves it alone"
cp -p "$TMP/bk.saved" "$B/wal/$bk"

# --------------------------------------------------- B alone, A deleted
bash "$HARNESS/stop.sh" "$TMP/pg" >/dev/null 2>&1
rm -rf "$A"
rows3=$(restore_to lb_b "$TMP/rb3" "$T3")
[ "$rows3" = "1:100 2:100 3:100 " ] && ok "with A deleted, PITR from B to a time after batch 3 holds all three batches" ||
    fail "with A deleted, PITR from B to a time after batch 3 holds all three batches ($rows3)"

finish
