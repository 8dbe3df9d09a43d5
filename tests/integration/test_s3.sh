#!/usr/bin/env bash
# test_s3.sh - lifeboat against a real S3 server: Ceph RADOS Gateway from
# Debian's packages, started by the harness (tests/harness/s3/start.sh) on
# 127.0.0.1 on a free port in a temporary folder, stopped at the end.
#
#   1. the storage conformance suite (tests/unit/storage/test_storage) on S3,
#      plainly and through the fault injector, plus the 200 MiB multipart
#      object round trip;
#   2. the repository round trip test (test_roundtrip.sh) run on an S3
#      repository: init, backup, snapshots, check --read-data, restore;
#   3. a 200 MiB file backed up with multipart uploads (8 MiB threshold)
#      and restored byte for byte;
#   4. a 300 MiB backup through the fault injector (LIFEBOAT_TEST_FAULTS,
#      run by the harness's lifeboat-test, not by lifeboat itself:
#      every 5th storage operation fails, is cut or delayed), then
#      check --read-data and a restore: nothing lost;
#      The same through an HTTP proxy that breaks every 5th request
#      (tests/harness/s3/faultproxy.py), so the driver's own handling of
#      5xx answers and connections cut mid-body is exercised;
#   5. wrong / missing credentials: one line, non-zero exit, and the secret
#      key appears in no output of this whole script.
# Without the Ceph packages (make test installs them) every check is skipped.
. "$(dirname "$0")/lib.sh"

HARNESS=$(cd "$(dirname "$0")/../harness/s3" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${LIFEBOAT_BUILD_DIR:-$ROOT/build}
SUITE=$BUILD_DIR/tests/unit/storage/test_storage
OUT=$TMP/out # every output of every command, searched for the secret at the end
mkdir -p "$OUT"
MiB=$((1024 * 1024))
now() { date +%s.%N; }
elapsed() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
stream() { # seed bytes: reproducible pseudo-random bytes
    openssl enc -aes-128-ctr -pass "pass:$1" -nosalt </dev/zero 2>/dev/null | head -c "$2"
}

for c in ceph-mon ceph-osd radosgw radosgw-admin; do
    if ! command -v "$c" >/dev/null 2>&1; then
        skip "S3 tests: $c is not installed (make deps installs the ceph packages)"
        finish
    fi
done

# ---------------------------------------------------------------- start the server
S3DIR=$TMP/s3
# a secret nobody would print by accident, so that finding it means a leak
SECRET="S3cr3t-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
cleanup_hooks+=("'$HARNESS/stop.sh' '$S3DIR' --rm >/dev/null 2>&1")
t0=$(now)
if S3_ACCESS_KEY=lifeboat-test-ak S3_SECRET_KEY=$SECRET "$HARNESS/start.sh" "$S3DIR" >"$OUT/start.out" 2>"$OUT/start.err"; then
    ok "start the S3 server (Ceph RGW) in $(elapsed "$t0" "$(now)") s: $(cat "$OUT/start.out")"
else
    fail "start the S3 server (Ceph RGW)"
    sed 's/^/#   /' "$OUT/start.err" | tail -30
    finish
fi
. "$S3DIR/s3.env"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION LIFEBOAT_TEST_FAULTS
export LIFEBOAT_S3_REGION=us-east-1
BASE="s3:$S3_ENDPOINT"

# s3_list_etags PREFIX: the ETags of the objects under PREFIX in the bucket
# "lifeboat" (curl's own SigV4; its query signing needs '/' encoded)
s3_list_etags() { # prefix
    local empty=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    curl -s --aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
        -H "x-amz-content-sha256: $empty" "$S3_ENDPOINT/lifeboat?list-type=2&prefix=${1//\//%2F}" |
        grep -o '<ETag>[^<]*</ETag>' | sed 's/<[^>]*>//g; s/&quot;//g; s/"//g'
}

# ---------------------------------------------------------------- 1. conformance suite
if [ -x "$SUITE" ]; then
    t0=$(now)
    S3_TEST_ONLY=1 S3_TEST_BIG=1 S3_TEST_ENDPOINT=$S3_ENDPOINT S3_TEST_ACCESS_KEY=$S3_ACCESS_KEY \
        S3_TEST_SECRET_KEY=$S3_SECRET_KEY S3_TEST_BUCKET=lifeboat-suite CMOCKA_MESSAGE_OUTPUT=TAP \
        "$SUITE" >"$OUT/suite.out" 2>"$OUT/suite.err"
    rc=$?
    n=$(grep -c '^ok ' "$OUT/suite.out")
    grep -E '^not ok' "$OUT/suite.out" | sed 's/^/#   /'
    if [ "$rc" -eq 0 ] && [ "$n" -ge 20 ]; then
        ok "storage conformance suite on S3: $n tests passed in $(elapsed "$t0" "$(now)") s"
    else
        fail "storage conformance suite on S3 (exit $rc, $n passed)"
        grep -E 'ERROR|not ok|LINE' "$OUT/suite.out" "$OUT/suite.err" | head -30 | sed 's/^/#   /'
    fi
    # again, every 3rd storage operation failing, cut or delayed, behind the retry wrapper
    t0=$(now)
    LIFEBOAT_TEST_FAULTS=every=3,delay_ms=50 LIFEBOAT_RETRY_BASE_MS=20 S3_TEST_ONLY=1 \
        S3_TEST_ENDPOINT=$S3_ENDPOINT S3_TEST_ACCESS_KEY=$S3_ACCESS_KEY S3_TEST_SECRET_KEY=$S3_SECRET_KEY \
        S3_TEST_BUCKET=lifeboat-suite CMOCKA_MESSAGE_OUTPUT=TAP "$SUITE" >"$OUT/suite-faults.out" 2>"$OUT/suite-faults.err"
    rc=$?
    n=$(grep -c '^ok ' "$OUT/suite-faults.out")
    if [ "$rc" -eq 0 ] && [ "$n" -ge 19 ]; then
        ok "storage conformance suite on S3 through the fault injector: $n tests passed in $(elapsed "$t0" "$(now)") s"
    else
        fail "storage conformance suite on S3 through the fault injector (exit $rc, $n passed)"
        grep -E 'ERROR|not ok|LINE' "$OUT/suite-faults.out" "$OUT/suite-faults.err" | head -30 | sed 's/^/#   /'
    fi
else
    fail "storage conformance suite: $SUITE not built"
fi

# ---------------------------------------------------------------- 2. repository round trip on S3
# The same test as for a local repository, with the repository in S3.
RT=$ROOT/tests/integration/test_roundtrip.sh
if grep -q 'LIFEBOAT_TEST_REPO' "$RT"; then
    cp "$RT" "$TMP/roundtrip.sh"
else
    # until test_roundtrip.sh reads LIFEBOAT_TEST_REPO itself
    sed 's|^REPO=\$TMP/repo$|REPO=${LIFEBOAT_TEST_REPO:-$TMP/repo}|' "$RT" >"$TMP/roundtrip.sh"
fi
cp "$ROOT/tests/integration/lib.sh" "$TMP/lib.sh"
# results: "ok|not ok - description" without the numbers
tap_results() { sed -n 's/^\(not ok\|ok\) [0-9]* - /\1 - /p' "$1"; }
if grep -q 'LIFEBOAT_TEST_REPO' "$TMP/roundtrip.sh"; then
    t0=$(now)
    bash "$TMP/roundtrip.sh" >"$OUT/roundtrip-local.out" 2>&1
    tl=$(elapsed "$t0" "$(now)")
    t0=$(now)
    LIFEBOAT_TEST_REPO="$BASE/lifeboat/roundtrip" bash "$TMP/roundtrip.sh" >"$OUT/roundtrip.out" 2>&1
    ts=$(elapsed "$t0" "$(now)")
    p=$(grep -c '^ok ' "$OUT/roundtrip.out")
    f=$(grep -c '^not ok ' "$OUT/roundtrip.out")
    if [ "$p" -ge 30 ] && diff <(tap_results "$OUT/roundtrip-local.out") <(tap_results "$OUT/roundtrip.out") >"$OUT/roundtrip.diff"; then
        ok "test_roundtrip.sh gives the same $((p + f)) results on S3 as on a local repository (S3 $ts s, local $tl s)"
    else
        fail "test_roundtrip.sh gives the same results on S3 as on a local repository ($p passed, $f failed on S3)"
        sed 's/^/#   /' "$OUT/roundtrip.diff" | head -20
    fi
    if [ "$f" -gt 0 ]; then
        note "test_roundtrip.sh fails $f checks on S3 and locally alike (not an S3 matter; see integration/test_roundtrip):"
        grep '^not ok' "$OUT/roundtrip.out" | sed 's/^/#   /'
    fi
else
    fail "test_roundtrip.sh on an S3 repository: cannot point it at S3 (REPO line changed?)"
fi

# a few repository commands directly, with their output checked
R="$BASE/lifeboat/cmds"
SRC=$TMP/src-small
mkdir -p "$SRC/d"
stream small $((3 * MiB)) >"$SRC/d/file.bin"
echo hello >"$SRC/hello.txt"
check "init an S3 repository" new_repo "$R"
check_rc 1 "init again refuses" "$LB" -r "$R" init --kdf-n 1024 -q
check "backup into S3" "$LB" -r "$R" backup "$SRC" -q
check "second backup into S3" "$LB" -r "$R" backup "$SRC" -q
"$LB" -r "$R" snapshots >"$OUT/snapshots.out" 2>&1
if grep -q '2 snapshot(s)' "$OUT/snapshots.out"; then ok "snapshots lists both"; else
    fail "snapshots lists both"; sed 's/^/#   /' "$OUT/snapshots.out"; fi
check "check --read-data on S3" "$LB" -r "$R" check --read-data
check "restore from S3" "$LB" -r "$R" restore latest --target "$TMP/r-small" -q
if diff -r "$SRC" "$TMP/r-small$SRC" >/dev/null; then ok "restored tree equals the source"; else fail "restored tree equals the source"; fi
check_rc 10 "a missing S3 repository is 'no repository' (exit 10)" "$LB" -r "$BASE/lifeboat/nothing-here" snapshots

# ---------------------------------------------------------------- 3. 200 MiB by multipart
R="$BASE/lifeboat/multipart"
BIG=$TMP/big
mkdir -p "$BIG"
stream big200 $((200 * MiB)) >"$BIG/file200.bin"
check "init the multipart repository" new_repo "$R"
t0=$(now)
if LIFEBOAT_S3_MULTIPART_THRESHOLD=8M LIFEBOAT_S3_PART_SIZE=5M "$LB" -r "$R" backup "$BIG" -q >"$OUT/mp-backup.out" 2>&1; then
    ok "backup of a 200 MiB file with multipart uploads ($(elapsed "$t0" "$(now)") s)"
else
    fail "backup of a 200 MiB file with multipart uploads"; sed 's/^/#   /' "$OUT/mp-backup.out" | tail -10
fi
etags=$(s3_list_etags multipart/data/)
multi=$(echo "$etags" | grep -c -- '-[0-9]*$')
total=$(echo "$etags" | grep -c .)
if [ "$multi" -ge 10 ]; then ok "packs went up as multipart uploads ($multi of $total packs have a multipart ETag)"; else
    fail "packs went up as multipart uploads ($multi of $total)"; fi
t0=$(now)
if "$LB" -r "$R" restore latest --target "$TMP/r-mp" -q >"$OUT/mp-restore.out" 2>&1 &&
    cmp "$BIG/file200.bin" "$TMP/r-mp$BIG/file200.bin"; then
    ok "the 200 MiB file comes back byte for byte ($(elapsed "$t0" "$(now)") s)"
else
    fail "the 200 MiB file comes back byte for byte"; sed 's/^/#   /' "$OUT/mp-restore.out" | tail -10
fi
rm -rf "$BIG" "$TMP/r-mp"

# ---------------------------------------------------------------- 4. 300 MiB through the fault injector
R="$BASE/lifeboat/faults"
FSRC=$TMP/fsrc
mkdir -p "$FSRC/a" "$FSRC/b"
stream faults-one $((200 * MiB)) >"$FSRC/a/one.bin"
stream faults-two $((60 * MiB)) >"$FSRC/b/two.bin"
stream faults-txt $((30 * MiB)) | base64 -w 76 | head -c $((40 * MiB)) >"$FSRC/b/text.txt"
check "init the fault-injection repository" new_repo "$R"
export LIFEBOAT_TEST_FAULTS=every=5,delay_ms=200 LIFEBOAT_RETRY_BASE_MS=50
t0=$(now)
if "$LB_TEST" -r "$R" backup "$FSRC" -q >"$OUT/f-backup.out" 2>"$OUT/f-backup.err"; then
    secs=$(elapsed "$t0" "$(now)")
    ok "300 MiB backup through the fault injector completes ($secs s)"
else
    fail "300 MiB backup through the fault injector completes"; tail -10 "$OUT/f-backup.err" | sed 's/^/#   /'
fi
retries=$(grep -c 'retrying in' "$OUT/f-backup.err")
injected=$(sed -n 's/.*injected \([0-9]*\) faults into \([0-9]*\).*/\1 of \2/p' "$OUT/f-backup.err" | tail -1)
if [ "$retries" -ge 5 ]; then ok "faults were injected and retried ($injected storage operations; $retries retries logged)"; else
    fail "faults were injected and retried ($retries retries)"; fi
if grep 'retrying in' "$OUT/f-backup.err" | awk '{print $2, $3}' | sort | uniq -d | grep -q .; then
    note "some object was retried more than once (two faults in a row): allowed"
fi
t0=$(now)
if "$LB_TEST" -r "$R" check --read-data >"$OUT/f-check.out" 2>"$OUT/f-check.err"; then
    ok "check --read-data through the fault injector passes ($(elapsed "$t0" "$(now)") s): $(tail -1 "$OUT/f-check.out")"
else
    fail "check --read-data through the fault injector passes"; tail -10 "$OUT/f-check.err" | sed 's/^/#   /'
fi
t0=$(now)
if "$LB_TEST" -r "$R" restore latest --target "$TMP/r-f" -q >"$OUT/f-restore.out" 2>"$OUT/f-restore.err" &&
    diff -r "$FSRC" "$TMP/r-f$FSRC" >/dev/null; then
    ok "restore through the fault injector: nothing lost ($(elapsed "$t0" "$(now)") s)"
else
    fail "restore through the fault injector: nothing lost"; tail -10 "$OUT/f-restore.err" | sed 's/^/#   /'
fi
unset LIFEBOAT_TEST_FAULTS LIFEBOAT_RETRY_BASE_MS
# the fault injector lives in the test harness only: lifeboat itself does
# not read LIFEBOAT_TEST_FAULTS, lifeboat-test refuses a malformed value
check "lifeboat ignores LIFEBOAT_TEST_FAULTS (no fault injector in the product)" \
    env LIFEBOAT_TEST_FAULTS=every=nonsense "$LB" -r "$R" snapshots -q
check_rc 1 "lifeboat-test refuses a malformed LIFEBOAT_TEST_FAULTS" \
    env LIFEBOAT_TEST_FAULTS=every=nonsense "$LB_TEST" -r "$R" snapshots -q
check "check --read-data without faults agrees" "$LB" -r "$R" check --read-data -q
rm -rf "$TMP/r-f"

# the same at the HTTP level: a proxy on 127.0.0.1 answers every 5th request
# with 503 or 500, cuts it mid-body, or delays it (tests/harness/s3/faultproxy.py)
python3 "$HARNESS/faultproxy.py" --upstream "${S3_ENDPOINT#http://}" --every 5 --delay 0.3 \
    --port-file "$TMP/proxy.port" >"$OUT/proxy.out" 2>&1 &
PROXY_PID=$!
cleanup_hooks+=("kill $PROXY_PID 2>/dev/null")
for _ in $(seq 1 50); do [ -s "$TMP/proxy.port" ] && break; sleep 0.1; done
if [ -s "$TMP/proxy.port" ]; then
    R="s3:http://127.0.0.1:$(cat "$TMP/proxy.port")/lifeboat/proxy"
    export LIFEBOAT_RETRY_BASE_MS=50
    check "init through the HTTP fault proxy" new_repo "$R"
    t0=$(now)
    if "$LB" -r "$R" backup "$FSRC/b" -q >"$OUT/p-backup.out" 2>"$OUT/p-backup.err" &&
        "$LB" -r "$R" check --read-data -q >"$OUT/p-check.out" 2>"$OUT/p-check.err" &&
        "$LB" -r "$R" restore latest --target "$TMP/r-p" -q >"$OUT/p-restore.out" 2>"$OUT/p-restore.err" &&
        diff -r "$FSRC/b" "$TMP/r-p$FSRC/b" >/dev/null; then
        ok "100 MiB backup, check --read-data and restore through the HTTP fault proxy ($(elapsed "$t0" "$(now)") s)"
    else
        fail "100 MiB backup, check --read-data and restore through the HTTP fault proxy"
        tail -5 "$OUT"/p-*.err | sed 's/^/#   /'
    fi
    unset LIFEBOAT_RETRY_BASE_MS
    kill "$PROXY_PID" 2>/dev/null
    wait "$PROXY_PID" 2>/dev/null
    cut=$(cat "$OUT"/p-*.err | grep -c 'transfer closed\|Empty reply\|Connection reset\|Recv failure')
    http=$(cat "$OUT"/p-*.err | grep -c 'HTTP 50[03]')
    if [ "$cut" -ge 1 ] && [ "$http" -ge 1 ]; then
        ok "the proxy's cuts and 5xx answers were retried ($(cat "$TMP/proxy.port.stats" 2>/dev/null); $cut cut, $http 5xx retries logged)"
    else
        fail "the proxy's cuts and 5xx answers were retried ($cut cut, $http 5xx)"
    fi
else
    fail "start the HTTP fault proxy"; sed 's/^/#   /' "$OUT/proxy.out"
fi
rm -rf "$FSRC" "$TMP/r-p"

# ---------------------------------------------------------------- 5. credentials
R="$BASE/lifeboat/cmds"
WRONG="Wr0ng-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
one_line_error() { # description file-with-stderr rc pattern
    local d=$1 f=$2 rc=$3 pat=$4 lines
    lines=$(grep -c . "$f")
    if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] && grep -qE "$pat" "$f"; then # 1: error, not a crash
        ok "$d: exit $rc, one line: $(cat "$f")"
    else
        fail "$d (exit $rc, $lines lines)"; sed 's/^/#   /' "$f" | head -10
    fi
}
AWS_SECRET_ACCESS_KEY=$WRONG "$LB" -r "$R" snapshots >"$OUT/wrong-secret.out" 2>"$OUT/wrong-secret.err"
one_line_error "wrong secret key" "$OUT/wrong-secret.err" $? 'rejected the credentials.*SignatureDoesNotMatch'
AWS_SECRET_ACCESS_KEY=$WRONG "$LB" -r "$R" backup "$SRC" >"$OUT/wrong-secret2.out" 2>"$OUT/wrong-secret2.err"
one_line_error "wrong secret key on backup" "$OUT/wrong-secret2.err" $? 'SignatureDoesNotMatch'
AWS_ACCESS_KEY_ID=no-such-key "$LB" -r "$R" snapshots >"$OUT/wrong-ak.out" 2>"$OUT/wrong-ak.err"
one_line_error "unknown access key" "$OUT/wrong-ak.err" $? 'InvalidAccessKeyId'
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$TMP/nohome" "$LB" -r "$R" snapshots \
    >"$OUT/no-creds.out" 2>"$OUT/no-creds.err"
one_line_error "no credentials" "$OUT/no-creds.err" $? 'unable to find S3 credentials'
# credentials from a profile file
mkdir -p "$TMP/home/.aws"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY" \
    >"$TMP/home/.aws/credentials"
chmod 600 "$TMP/home/.aws/credentials"
check "credentials from ~/.aws/credentials" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$TMP/home" \
    "$LB" -r "$R" snapshots
leaks=$(grep -rlF -e "$SECRET" -e "$WRONG" "$OUT" 2>/dev/null)
if [ -z "$leaks" ]; then ok "neither secret key appears in any output ($(ls "$OUT" | wc -l) files)"; else
    fail "a secret key appears in: $leaks"; fi
if grep -qF -e "$SECRET" -e "$WRONG" "$TMP/.out" 2>/dev/null; then fail "a secret key appears in a check's output"; fi

finish
