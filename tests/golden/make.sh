#!/usr/bin/env bash
# tests/golden/make.sh [SET] - write a golden set: a repository written by
# today's binary, frozen with what restoring it must give. Run by hand, as
# root, only when the repository format gets a new version (SET, default v1,
# is the new set's directory: tests/golden/v2 for format version 2). It
# refuses to touch an existing set: old sets are never rewritten, so every
# later binary must still read them (tests/integration/test_golden.sh).
#
# What it writes into tests/golden/SET/ (see tests/golden/README.md):
#   repo/                 one repository (scrypt N=1024, files chunks 4K/16K/64K,
#                         dump chunks 2K/8K/32K) holding
#                         - component files: two snapshots of a tree with every kind
#                           of metadata (tests/golden/golden.py tree), the second
#                           after some changes;
#                         - component database: a logical dump of the database shop;
#                         - component database-physical: a base backup, and wal/
#                           with the WAL archived by archive_command = wal-push,
#                           including transactions after the base backup;
#                         - component uploads: a bucket snapshot of s3://golden-uploads/site
#                           from the harness's Ceph RGW;
#                         and two key files (password, password2).
#   password, password2   the two passwords (test data)
#   expected/             files-1.jsonl, files-2.jsonl (manifests of what each file
#                         snapshot restores to), shop.out and ledger.out (query
#                         output of sql/*-queries.sql on the source servers),
#                         bucket.json (the objects), snapshots.json (the snapshot list)
#   sql/                  the SQL that made the databases and the queries
#
# Reproducible as far as it can be: the tree, the SQL, the objects, the
# snapshot times of file, dump and bucket snapshots and every expected output
# are fixed; object names and bytes differ on every run (random nonces, keys
# and the server clock of the physical backup).
#
# Needs: build/lifeboat (or LIFEBOAT_BIN), PostgreSQL and Ceph RGW from
# Debian's packages (the test harness starts them), python3 with boto3,
# root (device nodes, owners, trusted.* xattrs). The source tree lives at
# the fixed path /tmp/lifeboat-golden/files, which the snapshots record.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LB=${LIFEBOAT_BIN:-$ROOT/build/lifeboat}
SET=${1:-v1}
OUT=$ROOT/tests/golden/$SET
WORK=/tmp/lifeboat-golden
GOLDEN="python3 $ROOT/tests/golden/golden.py"
PGH=$ROOT/tests/harness/pg
S3H=$ROOT/tests/harness/s3
say() { echo "[make.sh] $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "make.sh: run as root (device nodes, owners, trusted.* xattrs)" >&2; exit 1; }
[ -x "$LB" ] || { echo "make.sh: no binary at $LB (make build)" >&2; exit 1; }
[ -e "$OUT/repo" ] && { echo "make.sh: $OUT/repo exists: a golden set is never rewritten; make a new one (e.g. $0 v2)" >&2; exit 1; }
[ -e "$WORK" ] && { echo "make.sh: $WORK exists (left by an earlier run?); remove it first" >&2; exit 1; }
mkdir -p "$OUT/expected" "$OUT/sql" "$WORK"
chmod 755 "$WORK"
cleanup() {
    bash "$PGH/stop.sh" "$WORK/pg" >/dev/null 2>&1 || true
    "$S3H/stop.sh" "$WORK/s3" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# the SQL of this set (v1's is committed; a new set starts from a copy)
[ -f "$OUT/sql/shop.sql" ] || cp "$ROOT/tests/golden/v1/sql/"*.sql "$OUT/sql/"
[ -f "$OUT/password" ] || echo "golden-$SET-first-password" >"$OUT/password"
[ -f "$OUT/password2" ] || echo "golden-$SET-second-password" >"$OUT/password2"
cp "$OUT/password" "$WORK/password" # readable by the server's user, for wal-push
chmod 644 "$WORK/password"
REPO=$WORK/repo
export LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$WORK/password
unset LIFEBOAT_PASSWORD LIFEBOAT_PASSWORD_COMMAND
COMMON=(--host golden --tag golden)

say "init, second key"
LIFEBOAT_NEW_PASSWORD_FILE=$OUT/password "$LB" init --kdf-n 1024 --chunk-size 4K,16K,64K --dump-chunk-size 2K,8K,32K
"$LB" key add --new-password-file "$OUT/password2"

say "files: two snapshots"
$GOLDEN tree "$WORK/files" 1
$GOLDEN manifest "$WORK/files" "$OUT/expected/files-1.jsonl"
"$LB" backup "$WORK/files" --component files --time "2026-01-02 00:00:00" "${COMMON[@]}"
$GOLDEN tree "$WORK/files" 2
$GOLDEN manifest "$WORK/files" "$OUT/expected/files-2.jsonl"
"$LB" backup "$WORK/files" --component files --time "2026-01-03 00:00:00" "${COMMON[@]}"

say "PostgreSQL: logical dump, base backup, WAL"
bash "$PGH/start.sh" "$WORK/pg"
. "$WORK/pg/pg.env"
psql() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
# wait_archived SEGMENT: until pg_stat_archiver has archived it (or a later one)
wait_archived() {
    for _ in $(seq 1 150); do
        got=$(psql -d postgres -A -t -c "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
        [ -n "$got" ] && [[ ! "$got" < "$1" ]] && return 0
        sleep 0.2
    done
    echo "make.sh: $1 was not archived" >&2
    exit 1
}
psql -d postgres -f "$OUT/sql/shop.sql"
"$LB" backup --pg "dbname=shop" --pg-bin "$PG_BIN" --component database --time "2026-01-04 00:00:00" "${COMMON[@]}"
psql -d shop -A -t -f "$OUT/sql/shop-queries.sql" >"$OUT/expected/shop.out"
psql -d postgres -f "$OUT/sql/ledger.sql"
# archive into the repository from here on: the WAL of initdb and of the
# data loaded so far (1.5 MB stored) is older than the base backup and is
# left to the harness's archive_command (/bin/true)
first=$(psql -d postgres -A -t -c "SELECT pg_walfile_name(pg_switch_wal())")
wait_archived "$first"
chown -R postgres: "$REPO" # wal-push runs as the server's user
psql -d postgres -c "ALTER SYSTEM SET archive_command = 'LIFEBOAT_REPOSITORY=$REPO LIFEBOAT_PASSWORD_FILE=$WORK/password $LB wal-push %p'"
psql -d postgres -A -t -c "SELECT pg_reload_conf()" >/dev/null
"$LB" backup --pg-physical --pg-bin "$PG_BIN" "${COMMON[@]}"
# after the base backup: only the archived WAL has these
psql -d postgres -c "INSERT INTO ledger (batch, amount, memo) SELECT 2, g * 2.25, 'after the base backup ' || g FROM generate_series(1, 300) g"
psql -d postgres -c "UPDATE ledger SET memo = memo || ' (updated)' WHERE id % 50 = 0"
psql -d postgres -c "DELETE FROM ledger WHERE id % 97 = 0"
psql -d postgres -c "INSERT INTO ledger (batch, amount, memo) VALUES (3, 0.01, 'the last row ✓')"
last=$(psql -d postgres -A -t -c "SELECT pg_walfile_name(pg_switch_wal())")
wait_archived "$last"
[ -e "$REPO/wal/$last" ] || { echo "make.sh: $last is not in the repository" >&2; exit 1; }
psql -d postgres -A -t -f "$OUT/sql/ledger-queries.sql" >"$OUT/expected/ledger.out"
bash "$PGH/stop.sh" "$WORK/pg"
chown -R root: "$REPO"

say "bucket snapshot"
"$S3H/start.sh" "$WORK/s3" >/dev/null
. "$WORK/s3/s3.env"
export S3_ENDPOINT AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY LIFEBOAT_S3_REGION=us-east-1
$GOLDEN bucket-fill golden-uploads
$GOLDEN bucket-describe golden-uploads site/ "$OUT/expected/bucket.json"
"$LB" backup "s3:$S3_ENDPOINT/golden-uploads/site/" --component uploads --time "2026-01-05 00:00:00" "${COMMON[@]}"
"$S3H/stop.sh" "$WORK/s3" >/dev/null

say "snapshot list, check, self-test of the file restores"
"$LB" snapshots --json | python3 -c '
import json, sys
keep = ("id", "time", "component", "paths", "tags", "hostname", "tree")
json.dump([{k: s.get(k) for k in keep} for s in json.load(sys.stdin)], sys.stdout, indent=1, sort_keys=True)
print()' >"$OUT/expected/snapshots.json"
"$LB" check --read-data
for n in 1 2; do
    id=$(python3 -c 'import json,sys; print([s["id"] for s in json.load(open(sys.argv[1])) if s["component"] == "files"][int(sys.argv[2]) - 1])' \
        "$OUT/expected/snapshots.json" "$n")
    "$LB" restore "$id:$WORK/files" --target "$WORK/restored-$n" -q
    $GOLDEN compare "$OUT/expected/files-$n.jsonl" "$WORK/restored-$n"
done
rm -rf "$REPO/locks"
cp -a "$REPO" "$OUT/repo"
chown -R "${SUDO_UID:-0}:${SUDO_GID:-0}" "$OUT"
chmod -R u+w,a+rX "$OUT" # as a git checkout would have it (the repository's own modes are 0600/0700)
rm -rf "$WORK"
say "done: $(du -sh "$OUT" | cut -f1) in $OUT"
