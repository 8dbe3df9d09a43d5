#!/usr/bin/env bash
# test_bucket.sh - an S3 bucket as a backup source and as a restore target,
# against a real S3 server (Ceph RGW, started by tests/harness/s3/start.sh on
# 127.0.0.1). The objects are written and read back with boto3
# (tests/harness/s3/bucketdata.py), an S3 client independent of lifeboat's.
#
#   1. a source bucket with 2,500 objects under "uploads/" (three over 20 MiB,
#      two of them multipart uploads; content types, Cache-Control,
#      Content-Disposition and user metadata; nested prefixes; awkward keys:
#      space, '+', unicode, "a//b", a trailing '/', '%', a key that is also a
#      "directory", a leading '/'), plus objects outside the prefix;
#   2. backup: every object under the prefix (three ListObjectsV2 pages), not
#      one more; escaped names in the tree; the snapshot records s3://BUCKET/PREFIX;
#   3. restore into an empty bucket (multipart for the big objects): the two
#      listings match key, size, content type, metadata and content (MD5);
#   4. a second restore leaves what is already there alone; --dry-run --delete
#      lists what would change and changes nothing; --delete removes the
#      extra objects under the prefix (and nothing outside it) and repairs a
#      modified one;
#   5. a second backup of the unchanged bucket sends no GET and no HEAD for
#      any object (counted in RGW's access log); a changed and a new object
#      are the only ones read by the third;
#   6. a subtree restored under another prefix, a restore into a directory,
#      and no secret in any output.
# Without the Ceph packages or boto3 (make deps installs both) every check is skipped.
. "$(dirname "$0")/lib.sh"

HARNESS=$(cd "$(dirname "$0")/../harness/s3" && pwd)
PY="$HARNESS/bucketdata.py"
OUT=$TMP/out # every output of every command, searched for the secret at the end
mkdir -p "$OUT"
now() { date +%s.%N; }
elapsed() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
T_START=$(now)

for c in ceph-mon ceph-osd radosgw radosgw-admin; do
    if ! command -v "$c" >/dev/null 2>&1; then
        skip "bucket tests: $c is not installed (make deps installs the ceph packages)"
        finish
    fi
done
if ! python3 -c 'import boto3' >/dev/null 2>&1; then
    skip "bucket tests: python3 cannot import boto3 (make deps installs python3-boto3)"
    finish
fi

# ---------------------------------------------------------------- the server
S3DIR=$TMP/s3
SECRET="S3cr3t-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
cleanup_hooks+=("'$HARNESS/stop.sh' '$S3DIR' --rm >/dev/null 2>&1")
t0=$(now)
if S3_ACCESS_KEY=lifeboat-bucket-ak S3_SECRET_KEY=$SECRET "$HARNESS/start.sh" "$S3DIR" >"$OUT/start.out" 2>"$OUT/start.err"; then
    ok "start the S3 server (Ceph RGW) in $(elapsed "$t0" "$(now)") s"
else
    fail "start the S3 server (Ceph RGW)"
    sed 's/^/#   /' "$OUT/start.err" | tail -30
    finish
fi
. "$S3DIR/s3.env"
export S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION LIFEBOAT_TEST_FAULTS
export LIFEBOAT_S3_REGION=us-east-1
RGWLOG=$S3DIR/log/client.rgw.gw.log
SRC="s3:$S3_ENDPOINT/src/uploads/"
DST="s3:$S3_ENDPOINT/dst/uploads/"
REPO=$TMP/repo # local: the only S3 traffic is the bucket's

# mark NAME: a request the access log will show; waits for it there and
# prints its line number (RGW writes the log asynchronously)
mark() {
    python3 "$PY" marker src "$1"
    local n
    for _ in $(seq 1 100); do
        n=$(grep -n "lifeboat-test-marker-$1 " "$RGWLOG" | head -1 | cut -d: -f1)
        [ -n "$n" ] && { echo "$n"; return; }
        sleep 0.1
    done
    echo 0
}
# requests FROM TO METHOD: object requests (not listings) on bucket src between two marks
requests() { sed -n "$(($1 + 1)),$(($2 - 1))p" "$RGWLOG" | grep -c "\"$3 /src/[^? ]"; }
listings() { sed -n "$(($1 + 1)),$(($2 - 1))p" "$RGWLOG" | grep -c '"GET /src/?[^ ]*list-type=2'; }
json_field() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])[sys.argv[1]])' "$1"; }

# ---------------------------------------------------------------- 1. the source bucket
t0=$(now)
if python3 "$PY" gen src uploads/ >"$OUT/gen.out" 2>&1; then
    ok "source bucket: 2,500 objects under uploads/ written with boto3 in $(elapsed "$t0" "$(now)") s"
else
    fail "source bucket written with boto3"; tail -20 "$OUT/gen.out" | sed 's/^/#   /'
    finish
fi
python3 "$PY" describe src uploads/ "$TMP/src.json" >"$OUT/describe-src.out" 2>&1
check "new_repo (local repository)" new_repo "$REPO"

# ---------------------------------------------------------------- 2. backup
m0=$(mark b1-start)
t0=$(now)
"$LB" -r "$REPO" backup "$SRC" --component uploads --json >"$OUT/b1.out" 2>"$OUT/b1.err"
rc=$?
m1=$(mark b1-end)
gets1=$(requests "$m0" "$m1" GET)
heads1=$(requests "$m0" "$m1" HEAD)
lists1=$(listings "$m0" "$m1")
if [ "$rc" -eq 0 ] && [ "$(json_field files_new <"$OUT/b1.out")" = 2500 ] &&
    [ "$(json_field total_files_processed <"$OUT/b1.out")" = 2500 ]; then
    ok "backup of the bucket: 2,500 new objects in $(elapsed "$t0" "$(now)") s ($gets1 GETs, $heads1 HEADs, $lists1 list pages)"
else
    fail "backup of the bucket (exit $rc)"; tail -5 "$OUT/b1.out" "$OUT/b1.err" | sed 's/^/#   /'
fi
if [ "$gets1" -ge 2500 ] && [ "$lists1" -ge 3 ]; then
    ok "the access log sees the first backup read every object and page through the listing"
else
    fail "the access log sees the first backup ($gets1 GETs, $lists1 list pages): the GET count below would mean nothing"
fi
"$LB" -r "$REPO" snapshots --json >"$OUT/snapshots.json" 2>&1
if python3 - "$OUT/snapshots.json" "$S3_ENDPOINT" <<'EOF'; then ok "the snapshot records path s3://src/uploads, component uploads, endpoint, bucket and prefix"; else fail "snapshot paths and meta"; fi
import json, sys
s = json.load(open(sys.argv[1]))[-1]
m = s["meta"]
assert s["paths"] == ["s3://src/uploads"], s["paths"]
assert s["component"] == "uploads"
assert m["type"] == "s3-bucket" and m["endpoint"] == sys.argv[2] and m["bucket"] == "src" and m["prefix"] == "uploads", m
assert m["objects"] == 2500, m
EOF
"$LB" -r "$REPO" ls latest >"$OUT/ls.out" 2>&1
missing=""
for p in "/awkward/a/%/b" "/awkward/folder/%" "/awkward/100%25.txt" "/awkward/%252E%252E" "/awkward/both%" \
    "/awkward/both/child.txt" "/%/leading-slash" "/awkward/with space.txt" "/awkward/plus+sign.txt" \
    "/awkward/ünïcødé-文件.txt" "/big/multipart-33MiB.bin" "/root.txt"; do
    grep -qxF -- "$p" "$OUT/ls.out" || missing="$missing '$p'"
done
if [ -z "$missing" ] && ! grep -q 'elsewhere\|sibling' "$OUT/ls.out"; then
    ok "tree names: '/' segments are directories, awkward segments percent-escaped, nothing outside the prefix"
else
    fail "tree names (missing:$missing)"; grep awkward "$OUT/ls.out" | head -20 | sed 's/^/#   /'
fi

# ---------------------------------------------------------------- 3. restore into an empty bucket
t0=$(now)
if LIFEBOAT_S3_MULTIPART_THRESHOLD=16M LIFEBOAT_S3_PART_SIZE=8M "$LB" -r "$REPO" restore latest --target "$DST" \
    --json >"$OUT/r1.out" 2>"$OUT/r1.err" && [ "$(json_field objects_uploaded <"$OUT/r1.out")" = 2500 ]; then
    ok "restore into an empty bucket: 2,500 objects uploaded in $(elapsed "$t0" "$(now)") s"
else
    fail "restore into an empty bucket"; tail -5 "$OUT/r1.out" "$OUT/r1.err" | sed 's/^/#   /'
fi
compare() { # what: describe dst and compare with the source
    python3 "$PY" describe dst uploads/ "$TMP/dst.json" >"$OUT/describe-dst.out" 2>&1
    if cmp -s "$TMP/src.json" "$TMP/dst.json"; then
        ok "$1: key, size, content type, cache control, disposition, metadata and MD5 of all $(cat "$OUT/describe-dst.out") objects match"
    else
        fail "$1: the listings differ"
        diff <(python3 -m json.tool "$TMP/src.json") <(python3 -m json.tool "$TMP/dst.json") | head -20 | sed 's/^/#   /'
    fi
}
compare "restored bucket = source bucket"
multipart=$(python3 - <<'EOF'
import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1")
print(sum(1 for o in s3.list_objects_v2(Bucket="dst", Prefix="uploads/big/")["Contents"] if "-" in o["ETag"]))
EOF
)
if [ "$multipart" = 3 ]; then ok "the three objects over 20 MiB went up as multipart uploads"; else
    fail "the three objects over 20 MiB went up as multipart uploads ($multipart did)"; fi

# ---------------------------------------------------------------- 4. resync, dry run, delete
"$LB" -r "$REPO" restore latest --target "$DST" --json >"$OUT/r2.out" 2>"$OUT/r2.err"
up=$(json_field objects_uploaded <"$OUT/r2.out")
same=$(json_field objects_unchanged <"$OUT/r2.out")
# an object uploaded in parts of another size than the source's has another
# ETag: those (some of the three big ones) are uploaded again
if [ "$same" -ge 2497 ] && [ $((same + up)) = 2500 ]; then
    ok "restore again: $same objects already there are left alone, $up big one(s) with a multipart ETag uploaded again"
else
    fail "restore again ($same unchanged, $up uploaded)"; tail -3 "$OUT/r2.err" | sed 's/^/#   /'
fi
python3 "$PY" put dst "uploads/extra one.txt" extra
python3 "$PY" put dst "uploads/users/u01/extra/deep.bin" extra
python3 "$PY" put dst "uploads/awkward/a//b/extra" extra
python3 "$PY" put dst "outside-the-prefix.txt" keep
python3 "$PY" put dst "uploads-sibling/keep.txt" keep
python3 "$PY" put dst "uploads/root.txt" "modified in the target" text/plain
"$LB" -r "$REPO" restore latest --target "$DST" --delete --dry-run >"$OUT/dry.out" 2>"$OUT/dry.err"
rc=$?
want="delete uploads/awkward/a//b/extra
delete uploads/extra one.txt
delete uploads/users/u01/extra/deep.bin
upload uploads/root.txt"
got=$(grep -E '^(upload|delete) ' "$OUT/dry.out" | grep -v '^upload uploads/big/' | sort)
if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
    ok "--dry-run --delete lists the 3 extra objects and the modified one: $(tail -1 "$OUT/dry.out")"
else
    fail "--dry-run --delete lists the changes (exit $rc)"; sed 's/^/#   /' "$OUT/dry.out" "$OUT/dry.err" | head -20
fi
n=$(python3 "$PY" count dst "")
if [ "$n" = 2505 ] && [ "$(python3 "$PY" cat dst uploads/root.txt)" = "modified in the target" ]; then
    ok "--dry-run changed nothing ($n objects in the target, the modified one still modified)"
else
    fail "--dry-run changed nothing ($n objects in the target)"
fi
"$LB" -r "$REPO" restore latest --target "$DST" --delete --json >"$OUT/r3.out" 2>"$OUT/r3.err"
if [ "$(json_field objects_deleted <"$OUT/r3.out")" = 3 ]; then ok "--delete removed the 3 extra objects"; else
    fail "--delete removed the 3 extra objects"; tail -3 "$OUT/r3.out" "$OUT/r3.err" | sed 's/^/#   /'; fi
compare "after --delete, restored bucket = source bucket"
n=$(python3 "$PY" count dst "")
if [ "$n" = 2502 ]; then ok "objects outside the prefix were kept"; else fail "objects outside the prefix were kept ($n objects)"; fi

# ---------------------------------------------------------------- 5. incremental backups
m0=$(mark b2-start)
t0=$(now)
"$LB" -r "$REPO" backup "$SRC" --component uploads --json >"$OUT/b2.out" 2>"$OUT/b2.err"
rc=$?
secs=$(elapsed "$t0" "$(now)")
m1=$(mark b2-end)
gets2=$(requests "$m0" "$m1" GET)
heads2=$(requests "$m0" "$m1" HEAD)
if [ "$rc" -eq 0 ] && [ "$(json_field files_unmodified <"$OUT/b2.out")" = 2500 ] &&
    [ "$(json_field data_blobs_new <"$OUT/b2.out")" = 0 ]; then
    ok "second backup of the unchanged bucket: 2,500 objects unmodified, no new data, $secs s"
else
    fail "second backup of the unchanged bucket (exit $rc)"; tail -3 "$OUT/b2.out" "$OUT/b2.err" | sed 's/^/#   /'
fi
if [ "$gets2" = 0 ] && [ "$heads2" = 0 ]; then
    ok "second backup downloaded no object: 0 GETs and 0 HEADs of objects in the access log ($(listings "$m0" "$m1") list pages)"
else
    fail "second backup downloaded no object ($gets2 GETs, $heads2 HEADs)"
    sed -n "$m0,${m1}p" "$RGWLOG" | grep -E '"(GET|HEAD) /src/[^? ]' | head -5 | sed 's/^/#   /'
fi
python3 "$PY" put src "uploads/root.txt" "changed at the source" text/plain
python3 "$PY" put src "uploads/users/u07/new.txt" "a new object" text/plain
m0=$(mark b3-start)
"$LB" -r "$REPO" backup "$SRC" --component uploads --json >"$OUT/b3.out" 2>"$OUT/b3.err"
m1=$(mark b3-end)
gets3=$(requests "$m0" "$m1" GET)
if [ "$(json_field files_changed <"$OUT/b3.out")" = 1 ] && [ "$(json_field files_new <"$OUT/b3.out")" = 1 ] &&
    [ "$(json_field files_unmodified <"$OUT/b3.out")" = 2499 ] && [ "$gets3" = 2 ]; then
    ok "third backup: 1 changed and 1 new object, the only 2 GETs"
else
    fail "third backup: 1 changed and 1 new object ($gets3 GETs)"; tail -2 "$OUT/b3.out" | sed 's/^/#   /'
fi

# ---------------------------------------------------------------- 6. subtree, directory, secrets
"$LB" -r "$REPO" restore "latest:/awkward" --target "s3:$S3_ENDPOINT/sub/x" -q >"$OUT/sub.out" 2>&1
python3 "$PY" describe sub x/ "$TMP/sub.json" >/dev/null 2>&1
if python3 - "$TMP/src.json" "$TMP/sub.json" <<'EOF'; then ok "SNAPSHOT:/awkward restored under another prefix: the same keys below it"; else fail "subtree restore"; sed 's/^/#   /' "$OUT/sub.out"; fi
import json, sys
src = {k[len("awkward/"):]: v for k, v in json.load(open(sys.argv[1])).items() if k.startswith("awkward/")}
sub = json.load(open(sys.argv[2]))
assert src == sub, (sorted(set(src) ^ set(sub)))
EOF
if "$LB" -r "$REPO" restore latest --target "$TMP/dir" -q >"$OUT/dir.out" 2>&1 &&
    [ "$(find "$TMP/dir" -type f | wc -l)" = 2501 ] &&
    [ "$(md5sum <"$TMP/dir/big/single-21MiB.bin" | cut -d' ' -f1)" = "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["big/single-21MiB.bin"][3])' "$TMP/src.json")" ]; then
    ok "a bucket snapshot restores into a directory too (escaped names, same content)"
else
    fail "a bucket snapshot restores into a directory"; sed 's/^/#   /' "$OUT/dir.out" | head -5
fi
rm -rf "$TMP/dir"
check_rc 1 "a bucket source is backed up on its own" "$LB" -r "$REPO" backup "$SRC" "$TMP" -q
check_rc 1 "backup of a missing bucket fails (no empty snapshot)" "$LB" -r "$REPO" backup "s3:$S3_ENDPOINT/no-such-bucket/x" -q
cp "$TMP/.out" "$OUT/missing.out"
WRONG="Wr0ng-$(head -c 12 /dev/urandom | base64 | tr -d '/+=')"
check_rc 1 "backup with a wrong secret key fails" env AWS_SECRET_ACCESS_KEY="$WRONG" "$LB" -r "$REPO" backup "$SRC" -q
cp "$TMP/.out" "$OUT/wrong.out"
if grep -q 'rejected the credentials' "$OUT/wrong.out" && [ "$(wc -l <"$OUT/wrong.out")" -le 2 ]; then
    ok "the wrong key is reported in one line: $(head -1 "$OUT/wrong.out" | cut -c1-150)"
else
    fail "the wrong key is reported in one line"; sed 's/^/#   /' "$OUT/wrong.out" | head -5
fi
check_rc 1 "--delete needs an s3: target" "$LB" -r "$REPO" restore latest --target "$TMP/x" --delete
# issue 10 item 9: a sub-path with --delete into a bucket's root would delete
# every other object of the bucket; refused, and nothing is deleted
check_rc 1 "a sub-path with --delete into a bucket's root is refused" \
    "$LB" -r "$REPO" restore "latest:/docs" --target "s3:$S3_ENDPOINT/dst/" --delete
grep -q "would be deleted" "$TMP/.out" && ok "... saying why" || fail "... message: $(last_output | tail -c 300)"
cp "$TMP/.out" "$OUT/last-check.out"
if grep -rqF -e "$SECRET" -e "$WRONG" "$OUT" 2>/dev/null; then
    fail "the secret key appears in an output"
else
    ok "the secret key appears in no output"
fi
note "total $(elapsed "$T_START" "$(now)") s"
finish
