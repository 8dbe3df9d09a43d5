#!/usr/bin/env bash
# test_golden.sh - today's binary must still read every golden repository in
# tests/golden/v*/ (frozen repositories written by an earlier binary; see
# tests/golden/README.md). For each set, on a copy (the committed tree is
# checksummed before and after and must not change):
#   1. both passwords open it: snapshots --json equals expected/snapshots.json,
#      key list shows the two keys, each password its own; a wrong one exits 12;
#   2. check --read-data finds no error;
#   3. every file snapshot restores (--verify) to exactly its manifest
#      (expected/files-N.jsonl: types, modes, owners, mtimes, sizes, SHA-256,
#      hard links, holes, symlink targets, device numbers, xattrs, ACLs);
#   4. the logical dump restores (--create --globals --verify) into a scratch
#      PostgreSQL and sql/shop-queries.sql prints expected/shop.out;
#   5. the physical backup restores with WAL replayed from the repository
#      (wal-fetch), the server starts, and sql/ledger-queries.sql prints
#      expected/ledger.out, which holds rows written after the base backup;
#   6. the bucket snapshot restores into a directory (keys, sizes, SHA-256)
#      and into an RGW bucket (plus content type, headers, user metadata);
#   7. it can fail: one flipped byte in a pack makes check --read-data fail,
#      one in a WAL object makes wal-fetch exit 126.
# Checks needing a server skip (# SKIP) only when its packages are missing;
# the physical restore is not started when the installed PostgreSQL major
# version differs from the one that wrote the set.
. "$(dirname "$0")/lib.sh"

GOLDEN=$(cd "$(dirname "$0")/../golden" && pwd)
GPY=(python3 "$GOLDEN/golden.py")
PGH=$(cd "$(dirname "$0")/../harness/pg" && pwd)
S3H=$(cd "$(dirname "$0")/../harness/s3" && pwd)
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
unset LIFEBOAT_PASSWORD
RUNAS=""
[ "$(id -u)" = 0 ] && RUNAS=postgres
as_pg() { if [ -n "$RUNAS" ]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }
chmod 711 "$TMP" # the server's user reaches the repository copy for wal-fetch
now() { date +%s.%N; }
T_START=$(now)
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
treesum() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1); }
# snap SET COMPONENT N: the ID of the Nth snapshot (oldest first) of a component
snap() { python3 -c 'import json,sys; print([s["id"] for s in json.load(open(sys.argv[1])) if s["component"] == sys.argv[2]][int(sys.argv[3]) - 1])' \
    "$1/expected/snapshots.json" "$2" "$3"; }
snapfield() { python3 -c 'import json,sys; print([s for s in json.load(open(sys.argv[1])) if s["id"] == sys.argv[2]][0][sys.argv[3]][0])' \
    "$1/expected/snapshots.json" "$2" "$3"; }

# one scratch PostgreSQL for the logical restores of every set
PGDIR=$TMP/pg
pg_started=""
start_pg() {
    [ -n "$pg_started" ] && return 0
    if bash "$PGH/start.sh" "$PGDIR" >"$TMP/pgstart.log" 2>&1; then
        cleanup_hooks+=("bash '$PGH/stop.sh' '$PGDIR'")
        pg_started=yes
        return 0
    fi
    sed 's/^/#   /' "$TMP/pgstart.log" | tail -20
    return 1
}
# one RGW for the bucket restores of every set
S3DIR=$TMP/s3
s3_started=""
start_s3() {
    [ -n "$s3_started" ] && return 0
    cleanup_hooks+=("'$S3H/stop.sh' '$S3DIR' --rm >/dev/null 2>&1")
    if "$S3H/start.sh" "$S3DIR" >"$TMP/s3start.log" 2>&1; then
        s3_started=yes
        return 0
    fi
    sed 's/^/#   /' "$TMP/s3start.log" | tail -20
    return 1
}
have_s3() {
    for c in ceph-mon ceph-osd radosgw radosgw-admin; do command -v "$c" >/dev/null 2>&1 || return 1; done
    python3 -c 'import boto3' >/dev/null 2>&1
}

sets=("$GOLDEN"/v*/)
[ -d "${sets[0]}" ] || { fail "no golden set in $GOLDEN"; finish; }

for SETDIR in "${sets[@]}"; do
    SETDIR=${SETDIR%/}
    S=$(basename "$SETDIR")
    W=$TMP/$S
    before=$(treesum "$SETDIR")
    mkdir -p "$W"
    if ! cp -r "$SETDIR/repo" "$SETDIR/password" "$SETDIR/password2" "$W/" 2>"$W/err"; then
        fail "$S: copy the set to a temporary directory"
        sed 's/^/#   /' "$W/err"
        continue
    fi
    chmod -R u+w,a+rX "$W"
    export LIFEBOAT_REPOSITORY=$W/repo LIFEBOAT_PASSWORD_FILE=$W/password
    note "golden set $S"

    # ---------------------------------------------------------- 1. open it
    for pw in password password2; do
        LIFEBOAT_PASSWORD_FILE=$W/$pw "$LB" snapshots --json >"$W/snapshots-$pw.json" 2>"$W/err"
        rc=$?
        if [ "$rc" -eq 0 ] && python3 - "$W/snapshots-$pw.json" "$SETDIR/expected/snapshots.json" <<'EOF'; then
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
got = [{k: s.get(k) for k in want[0]} for s in got]
if got != want:
    for g, w in zip(got, want):
        if g != w:
            print("#   got  %s\n#   want %s" % (g, w))
    sys.exit(1)
EOF
            ok "$S: $pw opens the repository; snapshots --json lists the $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$SETDIR/expected/snapshots.json") expected snapshots"
        else
            fail "$S: $pw opens the repository; snapshots --json lists the expected snapshots (exit $rc)"
            sed 's/^/#   /' "$W/err" | head -5
        fi
        LIFEBOAT_PASSWORD_FILE=$W/$pw "$LB" key list --json >"$W/keys-$pw.json" 2>&1
    done
    if python3 - "$W/keys-password.json" "$W/keys-password2.json" "$W/repo/keys" <<'EOF'; then
import json, os, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ids = sorted(os.listdir(sys.argv[3]))
cur = lambda l: [k["id"] for k in l if k["current"]]  # noqa: E731
assert sorted(k["id"] for k in a) == ids == sorted(k["id"] for k in b) and len(ids) == 2, (a, b, ids)
assert len(cur(a)) == 1 and len(cur(b)) == 1 and cur(a) != cur(b), (a, b)
EOF
        ok "$S: key list shows the two key files, each password its own"
    else
        fail "$S: key list shows the two key files, each password its own"
        sed 's/^/#   /' "$W/keys-password.json" "$W/keys-password2.json" | head -10
    fi
    echo "not-the-password" >"$W/wrong"
    check_rc 12 "$S: a wrong password exits 12" env LIFEBOAT_PASSWORD_FILE="$W/wrong" "$LB" snapshots

    # ---------------------------------------------------------- 2. check
    check_rc 0 "$S: check --read-data finds no error" "$LB" check --read-data

    # ---------------------------------------------------------- 3. files
    for n in $(seq 1 9); do
        [ -f "$SETDIR/expected/files-$n.jsonl" ] || break
        id=$(snap "$SETDIR" files "$n")
        path=$(snapfield "$SETDIR" "$id" paths)
        pw=password
        [ $((n % 2)) = 0 ] && pw=password2
        check_rc 0 "$S: restore --verify of file snapshot $n (${id:0:8}, with $pw)" \
            env LIFEBOAT_PASSWORD_FILE="$W/$pw" "$LB" restore "$id:$path" --target "$W/files-$n" --verify
        if "${GPY[@]}" compare "$SETDIR/expected/files-$n.jsonl" "$W/files-$n" >"$W/cmp" 2>&1; then
            ok "$S: file snapshot $n restores to its manifest ($(tail -1 "$W/cmp"))"
        else
            fail "$S: file snapshot $n restores to its manifest"
            sed 's/^/#   /' "$W/cmp" | head -20
        fi
    done

    # ---------------------------------------------------------- 4. logical dump
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
        skip "$S: logical and physical restores: PostgreSQL server binaries are not installed"
    else
        if start_pg; then
            . "$PGDIR/pg.env"
                id=$(snap "$SETDIR" database 1)
                db=shop_$S
                check_rc 0 "$S: restore the logical dump --create --globals --verify into a scratch server" \
                    "$LB" restore "$id" --pg-target "dbname=$db" --create --globals --verify --pg-bin "$PG_BIN"
                "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -f "$SETDIR/sql/shop-queries.sql" >"$W/shop.out" 2>&1
                if diff "$SETDIR/expected/shop.out" "$W/shop.out" >"$W/diff"; then
                    ok "$S: the restored database answers sql/shop-queries.sql exactly as expected/shop.out"
                else
                    fail "$S: the restored database answers sql/shop-queries.sql exactly as expected/shop.out"
                    sed 's/^/#   /' "$W/diff" | head -20
                fi
        else
            fail "$S: start a scratch PostgreSQL"
        fi

        # ------------------------------------------------------ 5. physical + WAL
        id=$(snap "$SETDIR" database-physical 1)
        want=$(python3 -c 'import json,sys; print(int([s for s in json.load(sys.stdin) if s["id"] == sys.argv[1]][0]["meta"]["server_version_num"]) // 10000)' \
            "$id" <"$W/snapshots-password.json")
        have=$("$PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')
        PD=$W/pgdata
        PORT2=$(freeport)
        mkdir -p "$W/pgrun"
        [ -n "$RUNAS" ] && chown "$RUNAS": "$W/pgrun"
        opts=(--pg-data "$PD" --to-latest --pg-port "$PORT2" --pg-bin "$PG_BIN"
            --pg-set archive_mode=off --pg-set "unix_socket_directories=$W/pgrun")
        [ -n "$RUNAS" ] && opts+=(--pg-user "$RUNAS")
        if [ "$want" != "$have" ]; then
            check_rc 0 "$S: restore --pg-physical (not started: the set was written by PostgreSQL $want, $have is installed)" \
                "$LB" restore --pg-physical "$id" "${opts[@]}"
            skip "$S: WAL replay and query check need PostgreSQL $want (installed: $have)"
        else
            cleanup_hooks+=("[ -f '$PD/postmaster.pid' ] && as_pg '$PG_BIN/pg_ctl' -D '$PD' -m immediate -w stop >/dev/null 2>&1")
            check_rc 0 "$S: restore --pg-physical --to-latest --start replays the archived WAL and promotes" \
                "$LB" restore --pg-physical "$id" "${opts[@]}" --start --start-timeout 60
            "$PG_BIN/psql" -X -q -A -t -h "$W/pgrun" -p "$PORT2" -U postgres -d postgres \
                -f "$SETDIR/sql/ledger-queries.sql" >"$W/ledger.out" 2>&1
            if diff "$SETDIR/expected/ledger.out" "$W/ledger.out" >"$W/diff"; then
                ok "$S: the recovered cluster answers sql/ledger-queries.sql exactly as expected/ledger.out"
            else
                fail "$S: the recovered cluster answers sql/ledger-queries.sql exactly as expected/ledger.out"
                sed 's/^/#   /' "$W/diff" | head -20
            fi
            # the rows written after the base backup came from wal/ through wal-fetch
            stop_wal=$(python3 -c 'import json,sys; print([s for s in json.load(sys.stdin) if s["id"] == sys.argv[1]][0]["meta"]["stop_wal"])' \
                "$id" <"$W/snapshots-password.json")
            later=$(cd "$W/repo/wal" && ls | grep -E '^[0-9A-F]{24}$' | LC_ALL=C sort | awk -v s="$stop_wal" '$0 > s' | head -1)
            if [ -n "$later" ] && grep -q "restored log file \"$later\" from archive" "$PD"/log/* "$PD"/*.log 2>/dev/null; then
                ok "$S: recovery fetched $later (after the base backup) from the repository"
            else
                fail "$S: recovery fetched a segment after the base backup (${later:-none}) from the repository"
                cat "$PD"/*.log 2>/dev/null | tail -20 | sed 's/^/#   /'
            fi
            as_pg "$PG_BIN/pg_ctl" -D "$PD" -m fast -w stop >/dev/null 2>&1
        fi
        seg=$(cd "$W/repo/wal" && ls | grep -E '^[0-9A-F]{24}$' | LC_ALL=C sort | tail -1)
        check_rc 0 "$S: wal-fetch $seg" "$LB" wal-fetch "$seg" "$W/seg"
        check_rc 1 "$S: wal-fetch of a name not archived exits 1" "$LB" wal-fetch 0000000100000000000000FF "$W/seg-missing"
    fi

    # ---------------------------------------------------------- 6. bucket
    id=$(snap "$SETDIR" uploads 1)
    check_rc 0 "$S: restore the bucket snapshot into a directory" "$LB" restore "$id" --target "$W/bucket"
    if "${GPY[@]}" bucket-dir "$SETDIR/expected/bucket.json" "$W/bucket" >"$W/cmp" 2>&1; then
        ok "$S: the directory holds every object: unescaped keys, sizes, SHA-256 ($(tail -1 "$W/cmp"))"
    else
        fail "$S: the directory holds every object: unescaped keys, sizes, SHA-256"
        sed 's/^/#   /' "$W/cmp" | head -20
    fi
    if ! have_s3; then
        skip "$S: bucket restore into RGW: the ceph packages or python3-boto3 are missing (make deps)"
    elif start_s3; then
            . "$S3DIR/s3.env"
            export S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY LIFEBOAT_S3_REGION=us-east-1
            unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
            check_rc 0 "$S: restore the bucket snapshot into an RGW bucket" \
                "$LB" restore "$id" --target "s3:$S3_ENDPOINT/restored-$S/site/"
            if "${GPY[@]}" bucket-compare "$SETDIR/expected/bucket.json" "restored-$S" site/ >"$W/cmp" 2>&1; then
                ok "$S: the bucket holds every object with its content type, headers and user metadata ($(tail -1 "$W/cmp"))"
            else
                fail "$S: the bucket holds every object with its content type, headers and user metadata"
                sed 's/^/#   /' "$W/cmp" | head -20
            fi
    else
        fail "$S: start the S3 server (Ceph RGW)"
    fi

    # ---------------------------------------------------------- 7. it can fail
    B=$W/broken
    cp -r "$W/repo" "$B"
    pack=$(find "$B/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
    python3 - "$pack" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 3] ^= 0x01
open(p, "wb").write(b)
EOF
    check_rc 1 "$S: one flipped byte in the largest pack: check --read-data fails" env LIFEBOAT_REPOSITORY="$B" "$LB" check --read-data
    walobj=$(cd "$B/wal" && ls | grep -E '^[0-9A-F]{24}$' | LC_ALL=C sort | tail -1)
    python3 - "$B/wal/$walobj" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-20] ^= 0x80
open(p, "wb").write(b)
EOF
    check_rc 126 "$S: one flipped byte in wal/$walobj: wal-fetch exits 126" env LIFEBOAT_REPOSITORY="$B" "$LB" wal-fetch "$walobj" "$W/seg-broken"

    after=$(treesum "$SETDIR")
    if [ "$before" = "$after" ]; then ok "$S: the committed golden set is unchanged (sha256 of its files)"; else
        fail "$S: the committed golden set is unchanged ($before before, $after after)"; fi
done
note "run time $(python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$T_START" "$(now)") s"
finish
