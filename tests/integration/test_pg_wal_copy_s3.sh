#!/usr/bin/env bash
# test_pg_wal_copy_s3.sh - WAL copied into an S3 repository (the second
# region), and a point-in-time recovery from it started by the printed
# command alone.
#
# A real PostgreSQL server archives into a local repository A; a base
# backup; rows with a recorded time. copy A -> B, B on a real S3 server
# (Ceph RGW, tests/harness/s3) with its keys in a credentials file under a
# profile (no key in the environment): the segments go along; a second copy
# transfers none. restore --pg-physical from B without --start writes a
# restore_command that names the credentials file, the profile and the
# region but holds no secret; `pg_ctl start` as printed, as the server's
# user with a bare environment, recovers the rows up to the time. A restore
# whose S3 keys exist only in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY is
# refused (exit 1) with a hint, writing nothing, and no output holds the
# secret key.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_wal_lib.sh"

for c in ceph-mon ceph-osd radosgw radosgw-admin; do
    if ! command -v "$c" >/dev/null 2>&1; then
        skip "S3 server: $c is not installed (make deps installs the ceph packages)"
        finish
    fi
done
S3H=$(cd "$(dirname "$0")/../harness/s3" && pwd)

# ----------------------------------------------------------- the S3 server
S3DIR=$TMP/s3
SECRET="S3cr3tDR-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
cleanup_hooks+=("'$S3H/stop.sh' '$S3DIR' --rm >/dev/null 2>&1")
if S3_ACCESS_KEY=lifeboat-dr S3_SECRET_KEY=$SECRET S3_UID=dr "$S3H/start.sh" "$S3DIR" >"$TMP/s3.out" 2>&1; then
    ok "start the S3 server (Ceph RGW)"
else
    fail "start the S3 server (Ceph RGW)"
    tail -20 "$TMP/s3.out" | sed 's/^/#   /'
    finish
fi
. "$S3DIR/s3.env"
# the keys in a credentials file the server's user can read; none in the environment
mkdir -p "$TMP/aws"
printf '[dr]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >"$TMP/aws/credentials"
chmod 755 "$TMP/aws" && chmod 644 "$TMP/aws/credentials"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
unset AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE LIFEBOAT_TEST_FAULTS
export HOME=$TMP/nohome LIFEBOAT_S3_REGION=us-east-1
S3O=(--s3-credentials-file "$TMP/aws/credentials" --s3-profile dr)

# ------------------------------------------------ repositories and server
A=$TMP/repo-a
B="s3:$S3_ENDPOINT/dr-bucket/repo"
PWA=$TMP/pass-a
PWB=$TMP/pass-b
echo "password-of-a" >"$PWA"
echo "password-of-b" >"$PWB"
chmod 644 "$PWA" "$PWB"
unset LIFEBOAT_PASSWORD
check "init A (local)" env LIFEBOAT_NEW_PASSWORD_FILE="$PWA" "$LB" -r "$A" init --kdf-n 1024 -q
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$A"
check "init B in the S3 bucket" env LIFEBOAT_NEW_PASSWORD_FILE="$PWB" "$LB" -r "$B" init "${S3O[@]}" --kdf-n 1024 -q
lb_a() { LIFEBOAT_REPOSITORY=$A LIFEBOAT_PASSWORD_FILE=$PWA "$LB" "$@"; }
lb_b() { LIFEBOAT_PASSWORD_FILE=$PWB "$LB" -r "$B" "$@"; }

pg_start_archiving "$TMP/pg" "LIFEBOAT_REPOSITORY=$A LIFEBOAT_PASSWORD_FILE=$PWA $LB wal-push %p"
ok "start PostgreSQL archiving into A (local)"

sql "CREATE TABLE batches (batch int NOT NULL)" >/dev/null
check_rc 0 "backup --pg-physical into A" lb_a backup --pg-physical --pg-bin "$PG_BIN" -q
sql "INSERT INTO batches SELECT 1 FROM generate_series(1, 100)" >/dev/null
sql "SELECT pg_sleep(1.1)" >/dev/null
T1=$(sql "SELECT now()")
sql "SELECT pg_sleep(1.1)" >/dev/null
sql "INSERT INTO batches SELECT 2 FROM generate_series(1, 100)" >/dev/null
switch_wait && ok "WAL after the backup archived into A" || fail "WAL after the backup archived into A"

# ------------------------------------------------------------- copy to S3
check_rc 0 "copy A -> B (S3)" env LIFEBOAT_FROM_PASSWORD_FILE="$PWA" LIFEBOAT_PASSWORD_FILE="$PWB" \
    "$LB" -r "$B" copy "${S3O[@]}" --from-repo "$A" --json
c1=$(jfield "$TMP/.out" wal segments_copied 2>/dev/null)
[ -n "$c1" ] && [ "$c1" -ge 2 ] && ok "the WAL went along ($c1 segments)" || { fail "the WAL went along"; sed 's/^/#   /' "$TMP/.out"; }
check_rc 0 "copy A -> B again" env LIFEBOAT_FROM_PASSWORD_FILE="$PWA" LIFEBOAT_PASSWORD_FILE="$PWB" \
    "$LB" -r "$B" copy "${S3O[@]}" --from-repo "$A" --json
[ "$(jfield "$TMP/.out" wal segments_copied 2>/dev/null)" = 0 ] && [ "$(jfield "$TMP/.out" wal segments_skipped 2>/dev/null)" = "$c1" ] &&
    ok "... transfers no segment, skips $c1" || { fail "... transfers no segment"; sed 's/^/#   /' "$TMP/.out"; }

# ------------------------------------- restore from S3, started by the printed command
P=$(freeport)
R=$TMP/r
cleanup_hooks+=("[ -f '$R/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$R' -m immediate -w stop >/dev/null 2>&1")
check_rc 0 "restore --pg-physical --to-time T1 from B (S3), without --start" lb_b restore --pg-physical "${S3O[@]}" \
    --to-time "$T1" --pg-data "$R" --pg-port "$P" "${PGUSER_OPT[@]}" --pg-set archive_mode=off
cp "$TMP/.out" "$TMP/restore.out"
conf=$(grep "^restore_command" "$R/postgresql.auto.conf" 2>/dev/null)
note "$conf"
conf=${conf//\'\'/\'} # postgresql.conf doubles the quotes inside its value
if [[ "$conf" == *"AWS_SHARED_CREDENTIALS_FILE='$TMP/aws/credentials'"* && "$conf" == *"AWS_PROFILE='dr'"* &&
    "$conf" == *"LIFEBOAT_S3_REGION='us-east-1'"* && "$conf" == *"$B"* ]]; then
    ok "restore_command names the repository, the credentials file, the profile and the region"
else fail "restore_command names the repository, the credentials file, the profile and the region"; fi
printed=$(grep -A1 "Start the server" "$TMP/restore.out" | tail -1 | sed 's/^ *//')
start_printed "$P" "$printed"
rows=$(batch_rows "$P")
[ "$rows" = "1:100 " ] && ok "pg_ctl start as printed (bare environment) recovers from S3 to T1" ||
    { fail "pg_ctl start as printed (bare environment) recovers from S3 to T1 ($rows)"; tail -n 15 "$R/lifeboat-recovery.log" 2>/dev/null | sed 's/^/#   /'; }
stop_dir "$R"

# ------------------------------------------------- keys only as values: refused
check_rc 1 "a restore whose S3 keys exist only in the environment is refused" \
    env AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" LIFEBOAT_PASSWORD_FILE="$PWB" \
    "$LB" -r "$B" restore --pg-physical --to-time "$T1" --pg-data "$TMP/r2" "${PGUSER_OPT[@]}"
grep -q "known only as values" "$TMP/.out" && grep -q "credentials file" "$TMP/.out" && [ ! -e "$TMP/r2" ] &&
    ok "... with a hint, nothing written" || { fail "... with a hint, nothing written"; sed 's/^/#   /' "$TMP/.out"; }
if grep -rqF "$S3_SECRET_KEY" "$TMP/.out" "$TMP/restore.out" "$R/postgresql.auto.conf" 2>/dev/null; then
    fail "no output and no configuration holds the secret key"
else ok "no output and no configuration holds the secret key"; fi

finish
