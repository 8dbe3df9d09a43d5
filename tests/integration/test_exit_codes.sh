#!/usr/bin/env bash
# test_exit_codes.sh - documented exit codes and messages, and password hygiene.
#
# Wrong password -> 12 via LIFEBOAT_PASSWORD, LIFEBOAT_PASSWORD_FILE and
# LIFEBOAT_PASSWORD_COMMAND, never echoing either password; missing
# repository -> 10 naming the path; no repository at all -> 10; a held lock
# -> 11 naming host, PID and age; a stale lock of a killed process is
# ignored and removed by `unlock`; a missing backup path fails naming it. The
# password never shows in `ps` or /proc/PID/cmdline of a running backup.
. "$(dirname "$0")/lib.sh"

R=$TMP/repo
PW='S3cret-Pa55-XYZZY'
BAD='Wr0ng-Guess-PLUGH'
export LIFEBOAT_PASSWORD=$PW
new_repo "$R" || { fail "init repository"; finish; }
echo "$PW" >"$TMP/pw.right"
echo "$BAD" >"$TMP/pw.wrong"
chmod 600 "$TMP/pw.right" "$TMP/pw.wrong"
HOST=$(hostname)

# no_secret FILE WHAT: neither password appears in FILE
no_secret() {
    if grep -qF -e "$PW" -e "$BAD" "$1"; then
        fail "$2: output does not contain a password"
        sed 's/^/#   /' "$1" | head -5
    else
        ok "$2: output does not contain a password"
    fi
}

# run_pw MODE VALUE CMD...: run lifeboat with the password supplied by MODE
# (env, file, command); output to $TMP/o, exit code in $rc
run_pw() {
    local mode=$1 value=$2
    shift 2
    case $mode in
    env) env LIFEBOAT_PASSWORD="$value" "$LB" "$@" >"$TMP/o" 2>&1 ;;
    file) env -u LIFEBOAT_PASSWORD LIFEBOAT_PASSWORD_FILE="$value" "$LB" "$@" >"$TMP/o" 2>&1 ;;
    command) env -u LIFEBOAT_PASSWORD LIFEBOAT_PASSWORD_COMMAND="$value" "$LB" "$@" >"$TMP/o" 2>&1 ;;
    esac
    rc=$?
}

# json_error RC CODE DESC GOT FILE: exit GOT is RC and FILE (stdout) is exactly
# the error object {"message_type":"error","code":CODE,"exit_code":RC,"message":...}
json_error() {
    if [ "$4" -eq "$1" ] && python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j == {"message_type": "error", "code": sys.argv[2], "exit_code": int(sys.argv[3]), "message": j["message"]}, j
assert j["message"]
' "$5" "$2" "$1" 2>/dev/null; then ok "$3: exit $1 and the JSON error object ($2)"; else
        fail "$3: exit $1 and the JSON error object ($2) (exit $4)"; sed 's/^/#   /' "$5" | head -5; fi
}

# ---- under --json an error is a JSON object on stdout ----
"$LB" -r "$TMP/nowhere" snapshots --json >"$TMP/o.json" 2>/dev/null
json_error 10 no-repository "snapshots --json on a missing repository" "$?" "$TMP/o.json"
env LIFEBOAT_PASSWORD="$BAD" "$LB" -r "$R" key list --json >"$TMP/o.json" 2>/dev/null
json_error 12 wrong-password "key list --json with a wrong password" "$?" "$TMP/o.json"
no_secret "$TMP/o.json" "key list --json wrong password"
"$LB" -r "$R" diff latest --json >"$TMP/o.json" 2>/dev/null
json_error 1 usage "diff --json with one snapshot" "$?" "$TMP/o.json"

# ---- wrong password -> 12, through each source ----
for mode in env file command; do
    case $mode in
    env) bad=$BAD good=$PW ;;
    file) bad=$TMP/pw.wrong good=$TMP/pw.right ;;
    command) bad="cat $TMP/pw.wrong" good="cat $TMP/pw.right" ;;
    esac
    run_pw "$mode" "$bad" -r "$R" snapshots
    if [ "$rc" -eq 12 ]; then ok "$mode: wrong password exits 12"; else fail "$mode: wrong password exits 12 (exit $rc)"; sed 's/^/#   /' "$TMP/o"; fi
    if grep -qiE 'wrong password|password is wrong|password.*(incorrect|does not)' "$TMP/o"; then
        ok "$mode: the message says the password is wrong"
    else
        fail "$mode: the message says the password is wrong"
        sed 's/^/#   /' "$TMP/o"
    fi
    no_secret "$TMP/o" "$mode wrong password"
    run_pw "$mode" "$good" -r "$R" snapshots
    if [ "$rc" -eq 0 ]; then ok "$mode: the right password opens the repository"; else fail "$mode: the right password opens the repository (exit $rc)"; sed 's/^/#   /' "$TMP/o"; fi
    no_secret "$TMP/o" "$mode right password"
done
# a wrong password with -v (more logging) still echoes nothing
run_pw env "$BAD" -r "$R" -v -v snapshots
no_secret "$TMP/o" "verbose wrong password"

# ---- missing repository -> 10 ----
"$LB" -r "$TMP/nope" snapshots >"$TMP/o" 2>&1
rc=$?
if [ "$rc" -eq 10 ] && grep -qF "$TMP/nope" "$TMP/o"; then
    ok "missing repository exits 10 naming the path"
else
    fail "missing repository exits 10 naming the path (exit $rc)"
    sed 's/^/#   /' "$TMP/o"
fi
LIFEBOAT_REPOSITORY=$TMP/nope2 "$LB" snapshots >"$TMP/o" 2>&1
rc=$?
if [ "$rc" -eq 10 ] && grep -qF "$TMP/nope2" "$TMP/o"; then
    ok "missing repository from LIFEBOAT_REPOSITORY exits 10 naming the path"
else
    fail "missing repository from LIFEBOAT_REPOSITORY exits 10 naming the path (exit $rc)"
    sed 's/^/#   /' "$TMP/o"
fi
mkdir "$TMP/empty-dir"
check_rc 10 "an existing directory without a repository exits 10" "$LB" -r "$TMP/empty-dir" snapshots
check_rc 10 "no repository given at all exits 10" "$LB" snapshots
if grep -qiE 'repo' "$TMP/.out"; then ok "no repository: the message says how to name one"; else fail "no repository: the message says how to name one"; fi
check_rc 10 "restore from a missing repository exits 10" "$LB" -r "$TMP/nope" restore latest --target "$TMP/t"
if [ ! -e "$TMP/t" ]; then ok "restore from a missing repository creates no target"; else fail "restore from a missing repository creates no target"; fi

# ---- backup of a missing path ----
echo data >"$TMP/present"
"$LB" -r "$R" backup "$TMP/does-not-exist" >"$TMP/o" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ] && grep -qF "$TMP/does-not-exist" "$TMP/o"; then
    ok "backup of a missing path fails ($rc) naming the path"
else
    fail "backup of a missing path fails naming the path (exit $rc)"
    sed 's/^/#   /' "$TMP/o"
fi
"$LB" -r "$R" backup "$TMP/present" "$TMP/also-missing" >"$TMP/o" 2>&1
rc=$?
if [ "$rc" -ne 0 ] && grep -qF "$TMP/also-missing" "$TMP/o"; then
    ok "backup of a present and a missing path fails ($rc) naming the missing one"
else
    fail "backup of a present and a missing path fails naming the missing one (exit $rc)"
    sed 's/^/#   /' "$TMP/o"
fi
n=$("$LB" -r "$R" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
if [ "$n" = 0 ]; then ok "failed backups wrote no snapshot"; else fail "failed backups wrote no snapshot ($n snapshots)"; fi
if [ -z "$(ls -A "$R/locks" 2>/dev/null)" ]; then ok "failed backups left no lock"; else fail "failed backups left no lock"; fi

# ---- the password never shows in the process list ----
# wait_child PID: print the PID of PID's child (the --stdin-from-command process)
wait_child() {
    local c
    for _ in $(seq 50); do
        c=$(pgrep -P "$1" | head -1)
        [ -n "$c" ] && { echo "$c"; return 0; }
        sleep 0.1
    done
    return 1
}
for mode in file command; do
    case $mode in
    file) src=(LIFEBOAT_PASSWORD_FILE="$TMP/pw.right") ;;
    command) src=(LIFEBOAT_PASSWORD_COMMAND="cat $TMP/pw.right") ;;
    esac
    env -u LIFEBOAT_PASSWORD "${src[@]}" "$LB" -r "$R" backup -q --stdin-from-command -- sleep 3 \
        >"$TMP/bg.out" 2>&1 &
    bg=$!
    child=$(wait_child "$bg")
    ps -eo pid,args >"$TMP/ps"
    if [ -n "$child" ] && grep -q "^ *$bg " "$TMP/ps"; then
        ok "$mode: the backup is running while we look ($bg, child $child)"
    else
        fail "$mode: the backup is running while we look"
    fi
    tr '\0' ' ' <"/proc/$bg/cmdline" >"$TMP/cmdline" 2>/dev/null
    [ -n "$child" ] && tr '\0' ' ' <"/proc/$child/cmdline" >>"$TMP/cmdline" 2>/dev/null
    cat "$TMP/ps" >>"$TMP/cmdline"
    if grep -qF "$PW" "$TMP/cmdline"; then
        fail "$mode: the password is not in ps or /proc/PID/cmdline"
    else
        ok "$mode: the password is not in ps or /proc/PID/cmdline"
    fi
    if [ -n "$child" ] && tr '\0' '\n' <"/proc/$child/environ" 2>/dev/null | grep -qF "$PW"; then
        fail "$mode: the password is not in the command's environment"
    else
        ok "$mode: the password is not in the command's environment"
    fi
    wait "$bg"
    rc=$?
    if [ "$rc" -eq 0 ]; then ok "$mode: background backup succeeded"; else fail "$mode: background backup succeeded (exit $rc)"; sed 's/^/#   /' "$TMP/bg.out"; fi
    no_secret "$TMP/bg.out" "$mode background backup"
done
# with LIFEBOAT_PASSWORD the value is in lifeboat's own environment (the
# user's choice); note whether the child command inherits it
"$LB" -r "$R" backup -q --stdin-from-command -- sleep 2 >/dev/null 2>&1 &
bg=$!
child=$(wait_child "$bg")
if [ -n "$child" ] && tr '\0' '\n' <"/proc/$child/environ" 2>/dev/null | grep -qF "$PW"; then
    note "LIFEBOAT_PASSWORD is inherited by the --stdin-from-command child (visible in /proc/$child/environ)"
fi
wait "$bg"

# ---- a held lock -> 11 with host, PID and age ----
"$LB" -r "$R" backup -q --stdin-from-command -- sleep 5 >"$TMP/bg.out" 2>&1 &
bg=$!
wait_child "$bg" >/dev/null
sleep 1.2
"$LB" -r "$R" check >"$TMP/o" 2>&1
rc=$?
if [ "$rc" -eq 11 ]; then ok "check while a backup holds a lock exits 11"; else fail "check while a backup holds a lock exits 11 (exit $rc)"; sed 's/^/#   /' "$TMP/o"; fi
"$LB" -r "$R" check --json >"$TMP/o.json" 2>/dev/null
json_error 11 locked "check --json while a backup holds a lock" "$?" "$TMP/o.json"
if grep -qF "'$HOST'" "$TMP/o"; then ok "lock message names the host ($HOST)"; else fail "lock message names the host ($HOST)"; sed 's/^/#   /' "$TMP/o"; fi
if grep -qw "$bg" "$TMP/o"; then ok "lock message names the holder's PID ($bg)"; else fail "lock message names the holder's PID ($bg)"; sed 's/^/#   /' "$TMP/o"; fi
if grep -qE '[0-9]+(s|m[0-9]+s|h[0-9]+m)( ago|\b)' "$TMP/o" && grep -qiE 'ago|age|old' "$TMP/o"; then
    ok "lock message gives the lock's age"
else
    fail "lock message gives the lock's age"
    sed 's/^/#   /' "$TMP/o"
fi
check "a second backup (shared lock) runs alongside" "$LB" -r "$R" backup -q --stdin-from-command -- echo hi
wait "$bg"
rc=$?
if [ "$rc" -eq 0 ]; then ok "the lock holder finished normally"; else fail "the lock holder finished normally (exit $rc)"; fi
check "after the holder finished, check succeeds" "$LB" -r "$R" check
if [ -z "$(ls -A "$R/locks")" ]; then ok "no lock is left behind"; else fail "no lock is left behind"; ls "$R/locks" | sed 's/^/#   /'; fi

# ---- a stale lock of a killed process ----
# kill_backup: start a backup, SIGKILL lifeboat (not its command), reap both
kill_backup() {
    "$LB" -r "$R" backup -q --stdin-from-command -- sleep 30 >/dev/null 2>&1 &
    local bg=$! child
    child=$(wait_child "$bg")
    kill -KILL "$bg"
    { wait "$bg"; } 2>/dev/null
    [ -n "$child" ] && kill "$child" 2>/dev/null # the orphaned sleep
}
kill_backup
nlocks=$(ls -A "$R/locks" | wc -l)
if [ "$nlocks" -eq 1 ]; then ok "SIGKILL leaves the backup's lock behind"; else fail "SIGKILL leaves the backup's lock behind ($nlocks locks)"; fi
check "unlock succeeds" "$LB" -r "$R" unlock
if grep -qE 'removed 1 ' "$TMP/.out"; then ok "unlock reports one removed lock"; else fail "unlock reports one removed lock"; sed 's/^/#   /' "$TMP/.out"; fi
if [ -z "$(ls -A "$R/locks")" ]; then ok "unlock emptied locks/"; else fail "unlock emptied locks/"; fi

kill_backup
nlocks=$(ls -A "$R/locks" | wc -l)
if [ "$nlocks" -eq 1 ]; then ok "a second SIGKILL leaves a lock behind"; else fail "a second SIGKILL leaves a lock behind ($nlocks locks)"; fi
check "check ignores the stale lock of a dead process on this host" "$LB" -r "$R" check
[ -z "$(ls -A "$R/locks")" ] && note "check removed the stale lock itself"
check "unlock after check succeeds" "$LB" -r "$R" unlock
if [ -z "$(ls -A "$R/locks")" ]; then ok "no lock is left after check and unlock"; else fail "no lock is left after check and unlock"; fi

# unlock leaves a live lock alone (without --remove-all)
"$LB" -r "$R" backup -q --stdin-from-command -- sleep 3 >/dev/null 2>&1 &
bg=$!
wait_child "$bg" >/dev/null
check "unlock while a live backup runs succeeds" "$LB" -r "$R" unlock
if [ "$(ls -A "$R/locks" | wc -l)" -eq 1 ]; then ok "unlock kept the live lock"; else fail "unlock kept the live lock"; fi
if wait "$bg"; then ok "the live backup finished normally"; else fail "the live backup finished normally"; fi

finish
