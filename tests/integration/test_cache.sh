#!/usr/bin/env bash
# test_cache.sh - the local cache of an S3 repository's snapshot and index
# objects (src/storage/wrap/cache.c, src/repo/cache.c), with the requests
# counted: lifeboat talks to the S3 server (Ceph RGW, tests/harness/s3)
# through tests/harness/s3/faultproxy.py with no faults, which logs every
# request ("METHOD PATH").
#
#   1. an unchanged re-backup of a 20,000-file tree with a warm cache issues
#      fewer than GET_MAX GET requests (LISTs included), none of them for a
#      snapshot, index or pack object (the parent's trees come from the
#      packs of trees the cache keeps);
#   2. `snapshots` reads no snapshot object from S3 (one LIST of snapshots/);
#   3. with the cache deleted the re-backup still succeeds and the cache is
#      rebuilt;
#   4. a corrupt cached copy is detected (warning), refetched and rewritten;
#   5. check reads the repository, not the cache; LIFEBOAT_NO_CACHE=1 and --no-cache
#      writes no cache; a snapshot forgotten elsewhere
#      leaves the cache at the next listing.
# Without the Ceph packages every check is skipped.
. "$(dirname "$0")/lib.sh"

HARNESS=$(cd "$(dirname "$0")/../harness/s3" && pwd)
GET_MAX=${GET_MAX:-10}
OUT=$TMP/out
mkdir -p "$OUT"
for c in ceph-mon ceph-osd radosgw radosgw-admin; do
    if ! command -v "$c" >/dev/null 2>&1; then
        skip "cache tests: $c is not installed (make deps installs the ceph packages)"
        finish
    fi
done

S3DIR=$TMP/s3
cleanup_hooks+=("'$HARNESS/stop.sh' '$S3DIR' --rm >/dev/null 2>&1")
if ! S3_ACCESS_KEY=lifeboat-cache-ak S3_SECRET_KEY=lifeboat-cache-sk "$HARNESS/start.sh" "$S3DIR" \
    >"$OUT/start.out" 2>"$OUT/start.err"; then
    fail "start the S3 server (Ceph RGW)"
    sed 's/^/#   /' "$OUT/start.err" | tail -30
    finish
fi
. "$S3DIR/s3.env"
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY LIFEBOAT_S3_REGION=$S3_REGION
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION LIFEBOAT_TEST_FAULTS

LOG=$TMP/proxy.log
python3 "$HARNESS/faultproxy.py" --upstream "${S3_ENDPOINT#http://}" --every 1000000000 --log "$LOG" \
    --port-file "$TMP/proxy.port" >"$OUT/proxy.out" 2>&1 &
PROXY_PID=$!
cleanup_hooks+=("kill $PROXY_PID 2>/dev/null")
for _ in $(seq 1 50); do [ -s "$TMP/proxy.port" ] && break; sleep 0.1; done
R="s3:http://127.0.0.1:$(cat "$TMP/proxy.port")/lifeboat/cache"

# requests of one command: run it, print its GETs by kind into $OUT/NAME.req
counted() {
    local name=$1
    shift
    : >"$LOG"
    "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
    local rc=$?
    sleep 0.2 # the proxy logs a request when it arrives: nothing is in flight now
    cp "$LOG" "$OUT/$name.req"
    return $rc
}
gets() { grep -c '^GET ' "$OUT/$1.req"; }
gets_of() { grep -c "^GET [^ ]*/$2/" "$OUT/$1.req"; }
# "N kind" per kind of GET: list:DIR (ListObjectsV2 of DIR/), config, keys, snapshots, index, data
summary() {
    grep '^GET ' "$OUT/$1.req" | sed -E 's|^GET [^ ]*list-type=2[^ ]*prefix=[^&]*%2F([a-z]+)%2F.*|list:\1|;
        s|^GET /[^/]+/[^/]+/([a-z]+)/.*|\1|; s|^GET /[^/]+/[^/]+/config.*|config|' | sort | uniq -c | tr -s ' \n' ' '
}

SRC=$TMP/src
python3 - "$SRC" <<'EOF'
import os, sys
root = sys.argv[1]
for d in range(200):
    p = os.path.join(root, "d%03d" % (d // 20), "e%03d" % d)
    os.makedirs(p)
    for f in range(100):
        with open(os.path.join(p, "f%03d" % f), "w") as fh:
            fh.write("file %d %d\n" % (d, f))
EOF
CACHE=$XDG_CACHE_HOME/lifeboat
check "init an S3 repository through the counting proxy" new_repo "$R"
check "first backup of 20,000 files" counted first "$LB" -r "$R" backup "$SRC" -q
ID=$(ls "$CACHE" 2>/dev/null | head -n 1)
if [ -n "$ID" ] && [ "$(ls "$CACHE/$ID/snapshots" | wc -l)" = 1 ] && [ "$(ls "$CACHE/$ID/index" | wc -l)" -ge 1 ]; then
    ok "the backup left its snapshot and index objects in \$XDG_CACHE_HOME/lifeboat/<id>/"
else
    fail "the backup left its snapshot and index objects in the cache (cache: $(find "$CACHE" | head))"
fi

if counted warm "$LB" -r "$R" backup "$SRC" -q && [ "$(gets warm)" -lt "$GET_MAX" ] &&
    [ "$(gets_of warm snapshots)" = 0 ] && [ "$(gets_of warm index)" = 0 ] && [ "$(gets_of warm data)" = 0 ]; then
    ok "unchanged re-backup with a warm cache: $(gets warm) GETs (< $GET_MAX; by kind: $(summary warm))"
else
    fail "unchanged re-backup with a warm cache: $(gets warm) GETs, wanted < $GET_MAX (by kind: $(summary warm))"
    sed 's/^/#   /' "$OUT/warm.err" | tail -5
fi
if counted snaps "$LB" -r "$R" snapshots && [ "$(gets_of snaps snapshots)" = 0 ] &&
    [ "$(grep -c '^GET .*list-type=2.*prefix=[^&]*%2Fsnapshots%2F' "$OUT/snaps.req")" = 1 ] &&
    [ "$(grep -c '^[0-9a-f]\{8\} ' "$OUT/snaps.out")" = 2 ]; then
    ok "snapshots with a warm cache: one LIST of snapshots/, no snapshot object read ($(gets snaps) GETs)"
else
    fail "snapshots with a warm cache ($(summary snaps))"
    sed 's/^/#   /' "$OUT/snaps.out" | head -5
fi

rm -rf "$CACHE"
if counted cold "$LB" -r "$R" backup "$SRC" -q && [ "$(gets_of cold snapshots)" -ge 1 ] &&
    [ "$(ls "$CACHE/$ID/snapshots" | wc -l)" = 3 ]; then
    ok "cache deleted: the re-backup succeeds ($(gets cold) GETs) and the cache is rebuilt"
else
    fail "cache deleted: re-backup and rebuilt cache ($(summary cold); $(find "$CACHE" 2>/dev/null | wc -l) files)"
    sed 's/^/#   /' "$OUT/cold.err" | tail -5
fi

f=$(ls "$CACHE/$ID/snapshots/" | head -n 1)
printf 'garbage' | dd of="$CACHE/$ID/snapshots/$f" bs=1 seek=10 conv=notrunc 2>/dev/null
if counted corrupt "$LB" -r "$R" snapshots && grep -q "does not match its name" "$OUT/corrupt.err" &&
    [ "$(gets_of corrupt snapshots)" = 1 ] && [ "$(sha256sum <"$CACHE/$ID/snapshots/$f" | cut -c1-64)" = "$f" ] &&
    [ "$(grep -c '^[0-9a-f]\{8\} ' "$OUT/corrupt.out")" = 3 ]; then
    ok "a corrupt cached snapshot is detected, read again from S3 and rewritten"
else
    fail "a corrupt cached snapshot is detected and refetched ($(summary corrupt))"
    sed 's/^/#   /' "$OUT/corrupt.err" | head -5
fi

if counted check "$LB" -r "$R" check -q && [ "$(gets_of check snapshots)" = 3 ] && [ "$(gets_of check index)" -ge 1 ]; then
    ok "check reads the repository's snapshot and index objects, not the cached copies"
else
    fail "check reads the repository, not the cache ($(summary check))"
fi

mv "$CACHE" "$TMP/cache-kept"
if LIFEBOAT_NO_CACHE=1 "$LB" -r "$R" snapshots -q >/dev/null 2>&1 && [ ! -e "$CACHE" ]; then
    ok "LIFEBOAT_NO_CACHE=1: no cache written"
else
    fail "LIFEBOAT_NO_CACHE=1: no cache written"
fi
if "$LB" -r "$R" snapshots --no-cache -q >/dev/null 2>&1 && [ ! -e "$CACHE" ]; then
    ok "--no-cache: no cache written"
else
    fail "--no-cache: no cache written"
fi
if "$LB" -r "$R" snapshots -q >/dev/null 2>&1 && [ -d "$CACHE/$ID/snapshots" ]; then
    ok "... and without it the same command writes the cache"
else
    fail "... and without it the same command writes the cache"
fi
rm -rf "$CACHE"
mv "$TMP/cache-kept" "$CACHE"
# another host (no cache) forgets a snapshot: this host's copy goes at its next listing
victim=$(ls "$CACHE/$ID/snapshots/" | head -n 1)
check "forget one snapshot without the cache" env LIFEBOAT_NO_CACHE=1 "$LB" -r "$R" forget "${victim:0:8}" -q
if "$LB" -r "$R" snapshots -q >/dev/null 2>&1 && [ ! -e "$CACHE/$ID/snapshots/$victim" ] &&
    [ "$(ls "$CACHE/$ID/snapshots" | wc -l)" = 2 ]; then
    ok "a snapshot gone from the repository leaves the cache at the next listing"
else
    fail "a snapshot gone from the repository leaves the cache ($(ls "$CACHE/$ID/snapshots" | wc -l) copies)"
fi
finish
