# tests/integration/lib.sh - helpers for integration scripts (sourced).
# Each check prints one TAP line: "ok N - what" or "not ok N - what".
# A script sources this, then calls ok/fail/check/... and ends with `finish`.
set -u
LB=${LIFEBOAT_BIN:?set LIFEBOAT_BIN (tests/run does)}
# the same lifeboat plus the test harness's storage hooks (the mem: scheme and
# the LIFEBOAT_TEST_FAULTS fault injector): only for the checks that need them
LB_TEST=${LIFEBOAT_TEST_BIN:-$(dirname "$LB")/tests/harness/lifeboat-test}
_n=0
_failed=0
TMP=$(mktemp -d /tmp/lifeboat-test.XXXXXX)
cleanup_hooks=()
_cleanup() {
    for h in "${cleanup_hooks[@]+"${cleanup_hooks[@]}"}"; do eval "$h" || true; done
    chmod -R u+rwx "$TMP" 2>/dev/null
    rm -rf "$TMP"
}
trap _cleanup EXIT
export LIFEBOAT_PASSWORD=test-password-123
# the local cache of remote repositories (repo/cache.h) stays inside TMP
export XDG_CACHE_HOME=$TMP/cache
unset LIFEBOAT_NO_CACHE LIFEBOAT_CACHE_MAX
unset LIFEBOAT_PASSWORD_FILE LIFEBOAT_PASSWORD_COMMAND LIFEBOAT_REPOSITORY

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
fail() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
skip() { _n=$((_n + 1)); echo "ok $_n - $* # SKIP"; }
note() { echo "# $*"; }
# check "description" command...: ok when the command exits 0
check() { local d=$1; shift; if "$@" >"$TMP/.out" 2>&1; then ok "$d"; else fail "$d"; sed 's/^/#   /' "$TMP/.out" | head -20; fi; }
# check_rc N "description" command...: ok when the command exits with N
check_rc() { local want=$1 d=$2; shift 2; "$@" >"$TMP/.out" 2>&1; local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$d"; else fail "$d (exit $rc, wanted $want)"; sed 's/^/#   /' "$TMP/.out" | head -20; fi; }
# last_output: what the last check/check_rc printed
last_output() { cat "$TMP/.out"; }
# new_repo DIR: init a repository quickly (cheap scrypt for tests)
new_repo() { "$LB" -r "$1" init --kdf-n 1024 -q; }
finish() { [ "$_failed" -eq 0 ]; exit $?; }
# start_pg DIR PROGRAM...: a throwaway PostgreSQL server in DIR (tests/harness/pg),
# stopped at exit, its PG* variables exported (pg.env); without the programs
# named, or when the server does not start, the test is skipped
start_pg() {
    local dir=$1 p harness
    shift
    harness=$(cd "$(dirname "${BASH_SOURCE[0]}")/../harness/pg" && pwd)
    for p in "$@"; do
        command -v "$p" >/dev/null || { skip "PostgreSQL programs ($*) are not installed"; finish; }
    done
    if ! "$harness/start.sh" "$dir" >"$TMP/pg-start.log" 2>&1; then
        skip "unable to start a PostgreSQL server: $(tail -n 3 "$TMP/pg-start.log" | tr '\n' ' ')"
        finish
    fi
    cleanup_hooks+=("'$harness/stop.sh' '$dir'")
    . "$dir/pg.env"
    unset PGDATABASE PGPASSWORD PGSERVICE PGCLIENTENCODING
}
