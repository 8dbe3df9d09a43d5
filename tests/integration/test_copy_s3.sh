#!/usr/bin/env bash
# test_copy_s3.sh - copy between repositories with different S3 credentials,
# on a real S3 server (Ceph RGW, tests/harness/s3/start.sh, started once).
#
# Two RGW users with their own access keys: user A owns bucket "bucket-a",
# user B owns "bucket-b". Their keys are in one credentials file with two
# profiles (userA, userB); no AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY is
# set, so every key comes from a profile named on the command line (the
# S3 flags go after the verb: src/main.c only knows the older ones before it):
#   1. local -> S3 (bucket-a, --s3-profile userA);
#   2. S3 -> S3: -r bucket-b --s3-profile userB copy --from-repo bucket-a
#      --from-s3-profile userA, both sides' settings on one command line;
#   3. S3 -> local (--from-s3-profile userB), re-chunked, through
#      tests/harness/s3/faultproxy.py (no faults, a request log): at most half
#      as many GETs of data/ as data blobs copied (the files of one blob read
#      by pack; one request per blob before);
#   4. S3 -> local into a repository with the source's chunker (init
#      --copy-chunker-params: blobs copied as they are cut), requests
#      counted the same way; then that local repository -> S3 again;
# after each copy: check --read-data and a restore identical to the source
# data. Refused, exit 1, one line naming the bucket: a source opened with the
# other user's profile; user A reading bucket B; a profile that does not
# exist; a source that would need the main side's --s3-profile (the source
# side starts from the environment, not from the main side's flags). No
# secret key appears in any output.
# Without the Ceph packages (make deps installs them) every check is skipped.
. "$(dirname "$0")/lib.sh"

HARNESS=$(cd "$(dirname "$0")/../harness/s3" && pwd)
OUT=$TMP/out # every output of every command, searched for the secrets at the end
mkdir -p "$OUT"
now() { date +%s.%N; }
elapsed() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }

for c in ceph-mon ceph-osd radosgw radosgw-admin; do
    if ! command -v "$c" >/dev/null 2>&1; then
        skip "copy between S3 users: $c is not installed (make deps installs the ceph packages)"
        finish
    fi
done

# ---------------------------------------------------------------- the server and two users
S3DIR=$TMP/s3
SECRET_A="S3cr3tA-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
SECRET_B="S3cr3tB-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
cleanup_hooks+=("'$HARNESS/stop.sh' '$S3DIR' --rm >/dev/null 2>&1")
t0=$(now)
if S3_ACCESS_KEY=lifeboat-user-a S3_SECRET_KEY=$SECRET_A S3_UID=usera "$HARNESS/start.sh" "$S3DIR" \
    >"$OUT/start.out" 2>"$OUT/start.err"; then
    ok "start the S3 server (Ceph RGW) in $(elapsed "$t0" "$(now)") s"
else
    fail "start the S3 server (Ceph RGW)"
    sed 's/^/#   /' "$OUT/start.err" | tail -30
    finish
fi
. "$S3DIR/s3.env"
check "create the second RGW user (user B, its own keys)" timeout 60 radosgw-admin -c "$S3DIR/ceph.conf" \
    user create --uid=userb --display-name=userb --access-key=lifeboat-user-b --secret-key="$SECRET_B"

CREDS=$TMP/aws/credentials
mkdir -p "$TMP/aws"
(umask 077 && printf '[userA]\naws_access_key_id = %s\naws_secret_access_key = %s\n\n[userB]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
    "$S3_ACCESS_KEY" "$S3_SECRET_KEY" lifeboat-user-b "$SECRET_B" >"$CREDS")
# no key in the environment, no ~/.aws to fall back on
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
unset AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE LIFEBOAT_TEST_FAULTS LIFEBOAT_FROM_REPOSITORY
export HOME=$TMP/nohome LIFEBOAT_S3_REGION=us-east-1 LIFEBOAT_FROM_PASSWORD=$LIFEBOAT_PASSWORD
A="s3:$S3_ENDPOINT/bucket-a/repo"
B="s3:$S3_ENDPOINT/bucket-b/repo"
ASA=(--s3-credentials-file "$CREDS" --s3-profile userA)
ASB=(--s3-credentials-file "$CREDS" --s3-profile userB)

# ---------------------------------------------------------------- source data, local repository
SRC=$TMP/src
mkdir -p "$SRC/docs" "$SRC/bin"
openssl enc -aes-128-ctr -pass pass:copy-s3 -nosalt </dev/zero 2>/dev/null | head -c $((6 * 1024 * 1024)) >"$SRC/bin/blob"
for i in $(seq 1 40); do seq "$i" 3000 >"$SRC/docs/f$i.txt"; done
# many chunks in few packs: what reading by pack is about
openssl enc -aes-128-ctr -pass pass:copy-s3-big -nosalt </dev/zero 2>/dev/null | head -c $((24 * 1024 * 1024)) >"$SRC/bin/big"
L=$TMP/local
check "init and back up into a local repository" bash -c "$(printf '%q ' "$LB") -r '$L' init --kdf-n 1024 -q &&
    $(printf '%q ' "$LB") -r '$L' backup '$SRC' -q"

# verify NAME REPO [FLAGS...]: check --read-data and a restore compared with SRC
verify() {
    local name=$1 repo=$2 dir
    shift 2
    dir=$TMP/restore-$name
    check "$name: check --read-data" "$LB" -r "$repo" check --read-data -q "$@"
    if "$LB" -r "$repo" restore latest --target "$dir" -q "$@" >"$OUT/$name-restore.out" 2>"$OUT/$name-restore.err" &&
        diff -r "$SRC" "$dir$SRC" >/dev/null; then
        ok "$name: the restore equals the source data"
    else
        fail "$name: the restore equals the source data"; sed 's/^/#   /' "$OUT/$name-restore.err" | head -5
    fi
    rm -rf "$dir"
}
# refused NAME PATTERN ARGS...: exit 1, one line on stderr matching PATTERN
refused() {
    local name=$1 pat=$2 rc lines
    shift 2
    "$LB" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
    rc=$?
    lines=$(grep -c . "$OUT/$name.err")
    if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] && grep -qE "$pat" "$OUT/$name.err"; then
        ok "$name: exit 1: $(cat "$OUT/$name.err")"
    else
        fail "$name (exit $rc, $lines lines, wanted /$pat/)"; sed 's/^/#   /' "$OUT/$name.err" | head -5
    fi
}

# ---------------------------------------------------------------- 1. local -> S3 (user A)
t0=$(now)
check "init bucket-a as user A (profile from --s3-profile)" "$LB" -r "$A" init "${ASA[@]}" --kdf-n 1024 -q
if "$LB" -r "$A" copy "${ASA[@]}" --from-repo "$L" >"$OUT/copy1.out" 2>"$OUT/copy1.err"; then
    ok "copy local -> bucket-a ($(elapsed "$t0" "$(now)") s): $(tail -1 "$OUT/copy1.out")"
else
    fail "copy local -> bucket-a"; sed 's/^/#   /' "$OUT/copy1.err" | head -5
fi
verify local-to-a "$A" "${ASA[@]}"

# ---------------------------------------------------------------- 2. S3 (user A) -> S3 (user B)
# the credentials file from the environment, the profiles per side on the command line
export AWS_SHARED_CREDENTIALS_FILE=$CREDS
check "init bucket-b as user B" "$LB" -r "$B" init --s3-profile userB --kdf-n 1024 -q
t0=$(now)
if "$LB" -r "$B" copy --s3-profile userB --from-repo "$A" --from-s3-profile userA \
    >"$OUT/copy2.out" 2>"$OUT/copy2.err"; then
    ok "copy bucket-a (user A) -> bucket-b (user B) in one command ($(elapsed "$t0" "$(now)") s): $(tail -1 "$OUT/copy2.out")"
else
    fail "copy bucket-a (user A) -> bucket-b (user B) in one command"; sed 's/^/#   /' "$OUT/copy2.err" | head -5
fi
verify a-to-b "$B" --s3-profile userB
n_a=$("$LB" -r "$A" snapshots --s3-profile userA --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
n_b=$("$LB" -r "$B" snapshots --s3-profile userB --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
if [ "$n_a" = 1 ] && [ "$n_b" = 1 ]; then ok "one snapshot on each side"; else fail "one snapshot on each side ($n_a, $n_b)"; fi

# a profile named on the command line wins over a key pair in the environment
# (user A's here: without --s3-profile they are refused on bucket-b)
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
check "--s3-profile userB wins over user A's keys in AWS_ACCESS_KEY_ID" "$LB" -r "$B" snapshots --s3-profile userB -q
refused "user A's keys from the environment on bucket-b" "bucket-b.*(AccessDenied|403)" -r "$B" snapshots -q
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

# ---------------------------------------------------------------- refusals
refused "source with user B's profile" "bucket-a.*(AccessDenied|403)" \
    -r "$B" copy --s3-profile userB --from-repo "$A" --from-s3-profile userB
refused "user A reads bucket-b" "bucket-b.*(AccessDenied|403)" -r "$B" snapshots --s3-profile userA
refused "a profile that does not exist" "unable to find S3 credentials for bucket 'bucket-a'.*profile 'nobody'" \
    -r "$A" snapshots --s3-profile nobody
unset AWS_SHARED_CREDENTIALS_FILE
refused "the source does not inherit the main side's --s3-profile" \
    "unable to find S3 credentials for bucket 'bucket-a'.*profile 'default'" \
    -r "$B" copy "${ASB[@]}" --from-repo "$A"
# nothing reached bucket-b from the refused copies: still one snapshot
n_b=$("$LB" -r "$B" snapshots "${ASB[@]}" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
if [ "$n_b" = 1 ]; then ok "bucket-b unchanged by the refused commands"; else fail "bucket-b unchanged ($n_b snapshots)"; fi

# ---------------------------------------------------------------- the proxy that counts requests
LOG=$TMP/proxy.log
python3 "$HARNESS/faultproxy.py" --upstream "${S3_ENDPOINT#http://}" --every 1000000000 --log "$LOG" \
    --port-file "$TMP/proxy.port" >"$OUT/proxy.out" 2>&1 &
PROXY_PID=$!
cleanup_hooks+=("kill $PROXY_PID 2>/dev/null")
for _ in $(seq 1 50); do [ -s "$TMP/proxy.port" ] && break; sleep 0.1; done
P="s3:http://127.0.0.1:$(cat "$TMP/proxy.port")/bucket-b/repo" # bucket-b through the proxy
# data_gets_ok NAME REPO: the GETs of data/ of the last command (in $LOG) at
# most half the data blobs REPO (the copy's target) holds, and those >= 20
data_gets_ok() {
    sleep 0.2 # the proxy logs a request when it arrives: nothing is in flight now
    cp "$LOG" "$OUT/$1.req"
    local gets blobs
    gets=$(grep -c '^GET [^ ]*/data/' "$OUT/$1.req")
    blobs=$("$LB" -r "$2" stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["data_blobs"])')
    if [ "$gets" -gt 0 ] && [ "$blobs" -ge 20 ] && [ $((gets * 2)) -le "$blobs" ]; then
        ok "$1: read by pack: $gets GETs of data/ for $blobs data blobs ($(grep -c '^GET ' "$OUT/$1.req") GETs in all)"
    else
        fail "$1: read by pack: $gets GETs of data/ for $blobs data blobs (wanted at most half, >= 20 blobs)"
        grep '^GET ' "$OUT/$1.req" | sed 's/^/#   /'
    fi
}

# ---------------------------------------------------------------- 3. S3 (user B) -> local
L2=$TMP/local2
check "init a second local repository" "$LB" -r "$L2" init --kdf-n 1024 -q
t0=$(now)
FROM_B=(--from-s3-credentials-file "$CREDS" --from-s3-profile userB)
: >"$LOG"
if "$LB" -r "$L2" copy --from-repo "$P" "${FROM_B[@]}" >"$OUT/copy3.out" 2>"$OUT/copy3.err"; then
    ok "copy bucket-b (user B) -> local ($(elapsed "$t0" "$(now)") s): $(tail -1 "$OUT/copy3.out")"
else
    fail "copy bucket-b (user B) -> local"; sed 's/^/#   /' "$OUT/copy3.err" | head -5
fi
data_gets_ok "copy bucket-b -> local, re-chunked" "$L2"
verify b-to-local "$L2"

# ---------------------------------------------------------------- 4. S3 -> local with the same chunker, and back to S3
L3=$TMP/local3
check "init a local repository with bucket-b's chunker (--copy-chunker-params)" \
    "$LB" -r "$L3" init --kdf-n 1024 --copy-chunker-params --from-repo "$B" "${FROM_B[@]}" -q
: >"$LOG"
if "$LB" -r "$L3" copy --from-repo "$P" "${FROM_B[@]}" --json >"$OUT/copy4.json" 2>"$OUT/copy4.err" &&
    [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rechunked"])' "$OUT/copy4.json")" = False ]; then
    ok "copy bucket-b -> local with the same chunker (not re-chunked)"
else
    fail "copy bucket-b -> local with the same chunker"; sed 's/^/#   /' "$OUT/copy4.err" | head -5
fi
data_gets_ok "copy bucket-b -> local, same chunker" "$L3"
verify same-chunker-to-local "$L3"
C="s3:$S3_ENDPOINT/bucket-b/back"
check "init bucket-b/back with local3's chunker" \
    "$LB" -r "$C" init "${ASB[@]}" --kdf-n 1024 --copy-chunker-params --from-repo "$L3" -q
t0=$(now)
if "$LB" -r "$C" copy "${ASB[@]}" --from-repo "$L3" >"$OUT/copy5.out" 2>"$OUT/copy5.err"; then
    ok "copy local3 -> bucket-b/back ($(elapsed "$t0" "$(now)") s): $(tail -1 "$OUT/copy5.out")"
else
    fail "copy local3 -> bucket-b/back"; sed 's/^/#   /' "$OUT/copy5.err" | head -5
fi
verify back-to-s3 "$C" "${ASB[@]}"

leaks=$(grep -rlF -e "$SECRET_A" -e "$SECRET_B" "$OUT" "$TMP/.out" 2>/dev/null)
if [ -z "$leaks" ]; then ok "no secret key in any output ($(ls "$OUT" | wc -l) files)"; else fail "a secret key appears in: $leaks"; fi

finish
