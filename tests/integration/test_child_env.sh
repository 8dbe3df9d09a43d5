#!/usr/bin/env bash
# test_child_env.sh - issue 10 item 7: no child program lifeboat starts gets
# a secret of lifeboat's in its environment, and no message shows one.
# With LIFEBOAT_PASSWORD, LIFEBOAT_FROM_PASSWORD, LIFEBOAT_NEW_PASSWORD,
# AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN set to distinctive values,
# backup --pg (pg_dump, pg_dumpall), restore --pg-target --create --globals (pg_restore,
# psql), backup --pg-physical (pg_basebackup), restore --pg-physical --start
# (tar, pg_ctl), backup --stdin-from-command and a password command run
# through wrappers first on PATH that copy their own /proc/PID/environ to a
# file and then exec the real program; the restored server's postmaster is
# read from /proc too. Checked: no child saw a LIFEBOAT_ secret; the
# PostgreSQL programs and tar saw no S3 secret either; pg_ctl (its server's
# restore_command runs lifeboat wal-fetch), the user's command and the
# password command keep the AWS_ variables (documented: `aws s3 cp ... -` and
# `aws secretsmanager ...` need them); PGPASSWORD still reaches the PostgreSQL
# programs; no stdout or stderr of these runs holds a secret.
. "$(dirname "$0")/lib.sh"

HARNESS=$(cd "$(dirname "$0")/../harness/pg" && pwd)
REPO=$TMP/repo
PGDIR=$TMP/pg
WRAP=$TMP/wrap
ENVS=$TMP/envs
OUT=$TMP/out

if ! command -v pg_dump >/dev/null; then
    skip "PostgreSQL client programs are not installed"
    finish
fi

SECRET_PW=Repo-Pw-7f3a9c1e
SECRET_FROM=From-Pw-2b8d4e6f
SECRET_NEW=New-Pw-9e1c5a3b
SECRET_AWS=Aws-Secret-5d7f1b9a
SECRET_TOKEN=Aws-Token-3c6e8a2d
SECRETS="$SECRET_PW $SECRET_FROM $SECRET_NEW $SECRET_AWS $SECRET_TOKEN"
LB_SECRETS="$SECRET_PW $SECRET_FROM $SECRET_NEW"
export LIFEBOAT_PASSWORD=$SECRET_PW
RUNAS=""
[ "$(id -u)" = 0 ] && RUNAS=postgres
as_pg() { if [ -n "$RUNAS" ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }

# the server archives through lifeboat (the password as a file its user reads)
PW=$TMP/password
echo "$SECRET_PW" >"$PW"
chmod 644 "$PW"
check "init repository" new_repo "$REPO"
[ -n "$RUNAS" ] && chown -R "$RUNAS": "$REPO"
ARCHIVE="LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$PW $LB wal-push %p"
if ! PG_ARCHIVE_COMMAND=$ARCHIVE "$HARNESS/start.sh" "$PGDIR" >"$TMP/pg-start.log" 2>&1; then
    skip "unable to start a PostgreSQL server: $(tail -n 3 "$TMP/pg-start.log" | tr '\n' ' ')"
    finish
fi
cleanup_hooks+=("'$HARNESS/stop.sh' '$PGDIR'")
. "$PGDIR/pg.env"
unset PGDATABASE PGSERVICE PGCLIENTENCODING
URL="postgresql://postgres@127.0.0.1:$PGPORT"

export LIFEBOAT_FROM_PASSWORD=$SECRET_FROM LIFEBOAT_NEW_PASSWORD=$SECRET_NEW
export AWS_SECRET_ACCESS_KEY=$SECRET_AWS AWS_SESSION_TOKEN=$SECRET_TOKEN AWS_ACCESS_KEY_ID=AKIDCHILDENVTEST
# trust authentication ignores it; it must still reach libpq's programs
export PGPASSWORD=pg-password-for-libpq

mkdir -p "$WRAP" "$ENVS" "$OUT"
chmod 755 "$WRAP"
chmod 1777 "$ENVS" # pg_ctl runs as the server's user
# wrap NAME REAL: NAME on PATH copies its environment to $ENVS/NAME.PID, then runs REAL
wrap() {
    cat >"$WRAP/$1" <<SH
#!/bin/sh
cat /proc/\$\$/environ >"$ENVS/$1.\$\$"
exec "$2" "\$@"
SH
    chmod +x "$WRAP/$1"
}
for t in pg_dump pg_dumpall pg_restore psql pg_basebackup pg_ctl tar; do
    real=$(command -v "$t" || true)
    [ -x "$PG_BIN/$t" ] && real=$PG_BIN/$t
    wrap "$t" "$real"
done
# the user's command for --stdin-from-command, and a password command
cat >"$WRAP/dump-data" <<SH
#!/bin/sh
cat /proc/\$\$/environ >"$ENVS/dump-data.\$\$"
echo "some data"
SH
cat >"$WRAP/print-password" <<SH
#!/bin/sh
cat /proc/\$\$/environ >"$ENVS/print-password.\$\$"
echo "$SECRET_PW"
SH
chmod +x "$WRAP/dump-data" "$WRAP/print-password"
export PATH="$WRAP:$PATH"

# run NAME CMD...: run, stdout and stderr into $OUT/NAME.{out,err}; ok when it exits 0
run() {
    local name=$1
    shift
    if "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; then ok "$name"; else
        fail "$name (exit $?)"
        sed 's/^/#   /' "$OUT/$name.err" | head -20
    fi
}
# seen PROG: the environment files of PROG's runs (one NAME=value a line)
seen() { local f; for f in "$ENVS/$1".*; do [ -e "$f" ] && tr '\0' '\n' <"$f"; done; }
# child_check PROG FORBIDDEN... : PROG ran, and saw none of the values
child_check() {
    local prog=$1 v hits=""
    shift
    if ! ls "$ENVS/$prog".* >/dev/null 2>&1; then
        fail "$prog ran through its wrapper"
        return
    fi
    for v in "$@"; do seen "$prog" | grep -qF "$v" && hits="$hits $(seen "$prog" | grep -F "$v" | cut -d= -f1 | sort -u | tr '\n' ' ')"; done
    if [ -z "$hits" ]; then ok "$prog got no secret in its environment"; else fail "$prog saw:$hits"; fi
}
has_var() { # PROG NAME=value: PROG saw exactly this entry
    if seen "$1" | grep -qxF "$2"; then ok "$1 got ${2%%=*}"; else fail "$1 got ${2%%=*}"; fi
}

if ! psql -X -q -d postgres -c "CREATE DATABASE app" >/dev/null ||
    ! psql -X -q -d app -c "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 500) g" >/dev/null; then
    fail "create the test database"
fi
rm -f "$ENVS"/* # the setup's own psql is not lifeboat's child

run "backup --pg (pg_dump, pg_dumpall)" "$LB" -r "$REPO" backup --pg "$URL/app"
run "restore --pg-target --create --globals (pg_restore, psql)" \
    "$LB" -r "$REPO" restore latest --pg-target "$URL/app_copy" --create --globals
run "backup --pg-physical (pg_basebackup)" "$LB" -r "$REPO" backup --pg-physical --pg "$URL"
PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
R1=$TMP/restored
[ -n "$RUNAS" ] && PGUSER_OPT=(--pg-user "$RUNAS") || PGUSER_OPT=()
cleanup_hooks+=("[ -f '$R1/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$R1' -m immediate -w stop >/dev/null 2>&1")
# --allow-partial: no WAL follows the backup, so the latest point is its end
run "restore --pg-physical --to-latest --start (tar, pg_ctl)" "$LB" -r "$REPO" restore --pg-physical --to-latest \
    --allow-partial --pg-data "$R1" --pg-port "$PORT2" "${PGUSER_OPT[@]}" --password-file "$PW" --start --start-timeout 120
# the restored server itself (started by pg_ctl, it runs restore_command): a
# program its backend starts inherits its environment (the postmaster's own
# /proc/PID/environ holds its process title instead)
"$PG_BIN/psql" -X -q -p "$PORT2" -d postgres \
    -c "COPY (SELECT 1) TO PROGRAM 'cat /proc/self/environ >$ENVS/postmaster.1'" >"$OUT/server-env.out" 2>&1
as_pg "$PG_BIN/pg_ctl" -D "$R1" -m fast -w stop >/dev/null 2>&1
run "backup --stdin-from-command" "$LB" -r "$REPO" backup --stdin-filename data --stdin-from-command -- dump-data
# the password command runs only when no password is in the environment
run "backup with --password-command" env -u LIFEBOAT_PASSWORD \
    "$LB" -r "$REPO" backup --password-command print-password --stdin-filename data2 --stdin-from-command -- dump-data
check "init a second repository" new_repo "$TMP/repo2"
run "copy with LIFEBOAT_PASSWORD set and a --from-password-command" env -u LIFEBOAT_FROM_PASSWORD \
    "$LB" -r "$TMP/repo2" copy --from-repo "$REPO" --from-password-command print-password

for p in pg_dump pg_dumpall pg_restore psql pg_basebackup; do
    # shellcheck disable=SC2086
    child_check "$p" $SECRETS
    has_var "$p" "PGPASSWORD=$PGPASSWORD"
done
# shellcheck disable=SC2086
child_check tar $SECRETS
for p in pg_ctl postmaster; do
    # shellcheck disable=SC2086
    child_check "$p" $LB_SECRETS
    has_var "$p" "AWS_SECRET_ACCESS_KEY=$SECRET_AWS"
done
# shellcheck disable=SC2086
child_check dump-data $LB_SECRETS
# shellcheck disable=SC2086
child_check print-password $LB_SECRETS
for p in dump-data print-password; do
    has_var "$p" "AWS_SECRET_ACCESS_KEY=$SECRET_AWS"
    has_var "$p" "AWS_SESSION_TOKEN=$SECRET_TOKEN"
done
has_var print-password "PGPASSWORD=$PGPASSWORD"

# every message of every run above (the password command prints the
# repository password on purpose: into a pipe, never into lifeboat's output)
leaks=""
for v in $SECRETS; do
    f=$(grep -lF "$v" "$OUT"/* 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ')
    [ -n "$f" ] && leaks="$leaks $v in $f"
done
if [ -z "$leaks" ]; then ok "no stdout or stderr of these runs holds a secret ($(find "$OUT" -type f | wc -l) files)"; else
    fail "secrets in output:$leaks"
fi
finish
