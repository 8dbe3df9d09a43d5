#!/usr/bin/env bash
# bench/pg.sh WORKDIR - the PostgreSQL step of the benchmark (bench/run.sh
# calls it; it also runs on its own). A throwaway PostgreSQL server
# (tests/harness/pg/start.sh) with a pgbench database, then, each timed under
# /usr/bin/time after a page cache drop:
#   plain_dump      pg_dump -Fc -f FILE                      (local file)
#   plain_restore   pg_restore -d NEWDB FILE                 (createdb first, untimed)
#   lb_backup       lifeboat backup --pg URL --component database
#   lb_restore      lifeboat restore latest --component database --pg-target URL/NEWDB (createdb first, untimed)
#   pgbr_backup     pgbackrest backup --type=full            (zstd, process-max 2)
#   pgbr_restore    pgbackrest restore --pg1-path=NEWDIR
#   lbphys_backup   lifeboat backup --pg-physical
#   lbphys_restore  lifeboat restore --pg-physical --to-immediate --pg-data NEWDIR
#                   (not started; its repository has no WAL: the server archives to pgBackRest)
# then the recovery drills (BENCH_PG_DRILL=1), each beside its plain recovery:
#   pgbr_recover    pgbackrest restore --pg1-path=NEWDIR && pg_ctl start -w (own
#                   port and socket, archive_mode=off), then until
#                   pg_is_in_recovery() is false (both instants in pg.env)
#   plain_recover   createdb NEWDB && pg_restore -d NEWDB FILE   (the plain_dump file)
#   lbdrill_db      lifeboat drill db --config F --json           (logical component)
#   lbdrill_phys    lifeboat drill db-physical --config F --json  (base backup with
#                   --wal-method none, WAL from archive_command = lifeboat wal-push)
# (F: a configuration file written here; TMPDIR a short folder of WORKDIR; the
# scratch folder's peak disk use sampled once a second, pg.env drill_*),
# and the dump series: BENCH_PG_DUMPS times `pgbench -R RATE -T S -c 2` (a
# light, rate-limited load: about RATE x S transactions, each updating one
# random pgbench_accounts row) then `lifeboat backup --pg` into a fresh
# repository; its growth is the series' stored size. Writes WORKDIR/pg.tsv (step wall user sys rss_kb bytes) and
# WORKDIR/pg.env (key=value) for bench/report.py; logs in WORKDIR/logs.
# Exit 2: the numbers are written but a restore did not verify.
#
# Environment:
#   BENCH_PG_SCALE         pgbench -i scale (default 50, about 750 MB)
#   BENCH_PG_DUMPS         dumps in the series (default 96; 0: no series)
#   BENCH_PG_DRILL         1: the recovery drills (default 1); 0: skip them
#   BENCH_PG_LOAD_SECONDS  pgbench -T before each dump of the series (default 5)
#   BENCH_PG_LOAD_RATE     pgbench -R (transactions per second) of that load (default 50)
#   BENCH_PG_CACHE         cold | warm | auto: drop the page cache before each step (default auto)
#   BENCH_KEEP             1: keep repositories, dumps and the server's directory
#   LIFEBOAT_BIN           lifeboat binary (default build/lifeboat)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
W=${1:?usage: bench/pg.sh WORKDIR}
BENCH_PG_SCALE=${BENCH_PG_SCALE:-50}
BENCH_PG_DUMPS=${BENCH_PG_DUMPS:-96}
BENCH_PG_DRILL=${BENCH_PG_DRILL:-1}
BENCH_PG_LOAD_SECONDS=${BENCH_PG_LOAD_SECONDS:-5}
BENCH_PG_LOAD_RATE=${BENCH_PG_LOAD_RATE:-50}
BENCH_PG_CACHE=${BENCH_PG_CACHE:-auto}
BENCH_KEEP=${BENCH_KEEP:-0}
LIFEBOAT_BIN=${LIFEBOAT_BIN:-$root/build/lifeboat}
HARNESS=$root/tests/harness/pg

die() {
    echo "bench pg: error: $*" >&2
    exit 1
}
note() { echo "bench pg: $*" >&2; }

[[ $BENCH_PG_SCALE =~ ^[1-9][0-9]*$ ]] || die "BENCH_PG_SCALE must be a positive integer"
[[ $BENCH_PG_DUMPS =~ ^[0-9]+$ ]] || die "BENCH_PG_DUMPS must be a non-negative integer"
[[ $BENCH_PG_DRILL == 0 || $BENCH_PG_DRILL == 1 ]] || die "BENCH_PG_DRILL must be 0 or 1"
[[ $BENCH_PG_LOAD_SECONDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PG_LOAD_SECONDS must be a positive integer"
[[ $BENCH_PG_LOAD_RATE =~ ^[1-9][0-9]*$ ]] || die "BENCH_PG_LOAD_RATE must be a positive integer"
[[ -x $LIFEBOAT_BIN ]] || die "lifeboat binary '$LIFEBOAT_BIN' not found"
LIFEBOAT_BIN=$(readlink -f "$LIFEBOAT_BIN")
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[[ -n $PG_BIN && -x $PG_BIN/initdb ]] || die "PostgreSQL server binaries are missing (Debian package 'postgresql')"
command -v pgbackrest >/dev/null || die "pgbackrest is missing (Debian package 'pgbackrest'; 'make bench' installs it)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package 'time')"

mkdir -p "$W/logs"
W=$(readlink -f "$W")
LOGS=$W/logs
P=$W/pg-bench # everything of this step: server, repositories, dumps, restores
TSV=$W/pg.tsv
ENV=$W/pg.env
rm -rf "$P"
mkdir -p "$P"
cp "$LIFEBOAT_BIN" "$P/lifeboat" # a rebuild during the run must not touch the binary under test
LIFEBOAT_BIN=$P/lifeboat
: >"$TSV"
: >"$ENV"

RUNAS=""
[[ $(id -u) == 0 ]] && RUNAS=postgres
as_pg() { if [[ -n $RUNAS ]]; then runuser -u "$RUNAS" -- "$@"; else "$@"; fi; }

cleanup() {
    local rc=$?
    set +e
    bash "$HARNESS/stop.sh" "$P/server"
    if [[ -f $P/recover-pgbackrest/postmaster.pid ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$P/recover-pgbackrest" -m immediate stop >/dev/null 2>&1
    fi
    if [[ $BENCH_KEEP != 1 ]]; then rm -rf "$P"; fi
    exit $rc
}
trap cleanup EXIT

# ------------------------------------------------------------ page cache

case $BENCH_PG_CACHE in
auto) if sync && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then BENCH_PG_CACHE=cold; else BENCH_PG_CACHE=warm; fi ;;
cold | warm) ;;
*) die "BENCH_PG_CACHE must be cold, warm or auto" ;;
esac
drop_caches() {
    sync
    if [[ $BENCH_PG_CACHE == cold ]]; then echo 3 >/proc/sys/vm/drop_caches; fi
}

# measure STEP SIZE_PATH CMD... - time CMD; append "step wall user sys rss_kb
# bytes" to pg.tsv, bytes = du -sb SIZE_PATH afterwards ("" for none).
measure() {
    local step=$1 sizep=$2 tf=$P/time.$1 log=$LOGS/pg.$1.log rc=0 size=""
    shift 2
    drop_caches
    note "$step ..."
    /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@" >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
        echo "bench pg: FAILED: $step exited with $rc: $*" >&2
        tail -n 25 "$log" >&2
        exit 1
    fi
    local wall user sys rss
    read -r wall user sys rss < <(tail -n 1 "$tf")
    [[ -n $sizep ]] && size=$(du -sb "$sizep" | cut -f1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$step" "$wall" "$user" "$sys" "$rss" "$size" >>"$TSV"
    note "$step: wall ${wall}s rss $((rss / 1024)) MiB${size:+ size $((size / 1048576)) MiB}"
}

# ------------------------------------------------------------- server

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SRV=$P/server
STANZA=bench
PGBR_CONF=$P/pgbackrest.conf
mkdir -p "$P/repo-pgbackrest" "$P/pgbackrest-log" "$P/pgbackrest-lock"
cat >"$PGBR_CONF" <<CONF
[global]
repo1-path=$P/repo-pgbackrest
compress-type=zst
process-max=2
start-fast=y
log-path=$P/pgbackrest-log
lock-path=$P/pgbackrest-lock
log-level-console=info
log-level-file=info

[$STANZA]
pg1-path=$SRV/data
pg1-socket-path=$SRV/run
pg1-port=$PORT
CONF
chmod 644 "$PGBR_CONF"
[[ -n $RUNAS ]] && chown -R "$RUNAS": "$P/repo-pgbackrest" "$P/pgbackrest-log" "$P/pgbackrest-lock"
PGBR=(pgbackrest --config="$PGBR_CONF" --stanza="$STANZA")
[[ -n $RUNAS ]] && PGBR=(runuser -u "$RUNAS" -- "${PGBR[@]}") # pgBackRest runs as the server's user

note "starting PostgreSQL (archive_command: pgbackrest archive-push)"
PG_ARCHIVE_COMMAND="pgbackrest --config=$PGBR_CONF --stanza=$STANZA archive-push %p" \
    PG_EXTRA_CONF="max_wal_size = 1GB" \
    bash "$HARNESS/start.sh" "$SRV" "$PORT" >"$LOGS/pg.start.log" 2>&1 || {
    cat "$LOGS/pg.start.log" >&2
    die "could not start PostgreSQL"
}
. "$SRV/pg.env"
export PGHOST PGPORT PGUSER
# PostgreSQL's programs come from PATH (not --pg-bin): lifeboat starts
# pg_dumpall as argv[0] "pg_dumpall", which then looks for pg_dump beside the
# first pg_dumpall on PATH (Debian's pg_wrapper in /usr/bin: not found)
export PATH=$PG_BIN:$PATH
unset PGDATA PGDATABASE
psql_() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
url() { echo "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$1"; }

"${PGBR[@]}" stanza-create >"$LOGS/pg.pgbackrest-stanza-create.log" 2>&1 || {
    tail -n 20 "$LOGS/pg.pgbackrest-stanza-create.log" >&2
    die "pgbackrest stanza-create failed"
}

note "pgbench -i -s $BENCH_PG_SCALE"
"$PG_BIN/createdb" bench
t0=$(date +%s)
"$PG_BIN/pgbench" -i -q -s "$BENCH_PG_SCALE" bench >"$LOGS/pg.pgbench-init.log" 2>&1 || {
    tail -n 20 "$LOGS/pg.pgbench-init.log" >&2
    die "pgbench -i failed"
}
psql_ -d bench -c "VACUUM ANALYZE" >/dev/null
psql_ -d postgres -c "CHECKPOINT" >/dev/null
ROWS=$(psql_ -d bench -c "SELECT count(*) FROM pgbench_accounts")
{
    echo "scale=$BENCH_PG_SCALE"
    echo "init_s=$(($(date +%s) - t0))"
    echo "db_bytes=$(psql_ -d bench -c "SELECT pg_database_size('bench')")"
    echo "cluster_bytes=$(du -sb "$SRV/data" | cut -f1)"
    echo "accounts=$ROWS"
    echo "cache=$BENCH_PG_CACHE"
    echo "version_postgresql=$(psql_ -d postgres -c 'SELECT version()')"
    echo "version_pgbackrest=$(pgbackrest version)"
    echo "version_lifeboat=$("$LIFEBOAT_BIN" --version 2>/dev/null | head -n1)"
} >>"$ENV"

# verify_db STEP DB: pgbench_accounts rows in DB must equal the original's
verify_db() {
    local got
    got=$(psql_ -d "$2" -c "SELECT count(*) FROM pgbench_accounts" 2>&1) || got="error: $got"
    if [[ $got == "$ROWS" ]]; then echo "verify_$1=ok" >>"$ENV"; else
        echo "verify_$1=FAILED: $got rows, not $ROWS" >>"$ENV"
        note "RESTORE VERIFICATION FAILED for $1: $got rows, not $ROWS"
    fi
}
# verify_datadir STEP DIR: a restored data directory looks like a cluster (not started)
verify_datadir() {
    if [[ -f $2/PG_VERSION && -d $2/base && -f $2/global/pg_control ]]; then echo "verify_$1=ok" >>"$ENV"; else
        echo "verify_$1=FAILED: $2 holds no cluster" >>"$ENV"
        note "RESTORE VERIFICATION FAILED for $1: $2 holds no cluster"
    fi
}

# ------------------------------------------------------ plain pg_dump

measure plain_dump "$P/plain.dump" "$PG_BIN/pg_dump" -Fc -f "$P/plain.dump" -d bench
"$PG_BIN/createdb" plainrestore
measure plain_restore "" "$PG_BIN/pg_restore" -d plainrestore "$P/plain.dump"
verify_db plain_restore plainrestore
"$PG_BIN/dropdb" plainrestore
PLAIN_BYTES=$(stat -c %s "$P/plain.dump")

# ----------------------------------------------------- lifeboat logical

echo lifeboat-bench-password >"$P/password"
chmod 644 "$P/password" # the physical restore checks that the server's user can read it
unset LIFEBOAT_PASSWORD
export LIFEBOAT_PASSWORD_FILE=$P/password
LB=$LIFEBOAT_BIN
"$LB" -r "$P/repo-lifeboat" init >"$LOGS/pg.lb-init.log" 2>&1 || die "lifeboat init failed"
measure lb_backup "$P/repo-lifeboat" "$LB" -r "$P/repo-lifeboat" backup --pg "$(url bench)" --component database
# like pg_restore above: into a database created beforehand, untimed
"$PG_BIN/createdb" lbrestore
measure lb_restore "" "$LB" -r "$P/repo-lifeboat" restore latest --component database \
    --pg-target "$(url lbrestore)"
verify_db lb_restore lbrestore
"$PG_BIN/dropdb" lbrestore

# ------------------------------------------------------------ pgBackRest

# size: the backup itself (repo/backup/); the repository also holds the WAL
# archive, which lifeboat's physical repository does not (recorded apart)
measure pgbr_backup "$P/repo-pgbackrest/backup" "${PGBR[@]}" backup --type=full
echo "pgbr_repo_bytes=$(du -sb "$P/repo-pgbackrest" | cut -f1)" >>"$ENV"
mkdir -m 700 "$P/restore-pgbackrest"
[[ -n $RUNAS ]] && chown "$RUNAS": "$P/restore-pgbackrest"
measure pgbr_restore "$P/restore-pgbackrest" "${PGBR[@]}" restore --pg1-path="$P/restore-pgbackrest"
verify_datadir pgbr_restore "$P/restore-pgbackrest"
rm -rf "$P/restore-pgbackrest"

# ---------------------------------------------------- lifeboat physical

"$LB" -r "$P/repo-lifeboat-physical" init >"$LOGS/pg.lbphys-init.log" 2>&1 || die "lifeboat init failed"
# restore checks that the server's user can read the repository's config
[[ -n $RUNAS ]] && chown -R "$RUNAS": "$P/repo-lifeboat-physical"
measure lbphys_backup "$P/repo-lifeboat-physical" "$LB" -r "$P/repo-lifeboat-physical" backup --pg-physical
PGUSER_OPT=()
[[ -n $RUNAS ]] && PGUSER_OPT=(--pg-user "$RUNAS")
measure lbphys_restore "$P/restore-lifeboat" "$LB" -r "$P/repo-lifeboat-physical" restore --pg-physical \
    --to-immediate --pg-data "$P/restore-lifeboat" "${PGUSER_OPT[@]}"
verify_datadir lbphys_restore "$P/restore-lifeboat"
rm -rf "$P/restore-lifeboat"

# ------------------------------------------------------- recovery drills

if [[ $BENCH_PG_DRILL == 1 ]]; then
    . "$here/drill.sh"

    # pgBackRest: restore, start, accept connections, end of recovery
    R=$P/recover-pgbackrest
    PORT2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -m 700 "$R"
    [[ -n $RUNAS ]] && chown "$RUNAS": "$R"
    # runs as the server's user; its last two lines (into the step's log) are the instants
    cat >"$P/pgbr-recover.sh" <<SCRIPT
set -e
t0=\$(date +%s.%N)
pgbackrest --config="$PGBR_CONF" --stanza="$STANZA" restore --pg1-path="$R"
"$PG_BIN/pg_ctl" -D "$R" -l "$P/pgbackrest-log/recover-server.log" -w -t 3600 \\
    -o "-p $PORT2 -k $R -c listen_addresses='' -c archive_mode=off" start
t1=\$(date +%s.%N)
until [ "\$("$PG_BIN/psql" -X -A -t -h "$R" -p $PORT2 -U $PGUSER -d postgres -c 'SELECT pg_is_in_recovery()')" = f ]; do
    sleep 0.1
done
t2=\$(date +%s.%N)
awk -v a="\$t0" -v b="\$t1" -v c="\$t2" 'BEGIN { printf "pgbr_recover_accepting_s=%.2f\\npgbr_recover_promoted_s=%.2f\\n", b - a, c - a }'
SCRIPT
    chmod 755 "$P/pgbr-recover.sh"
    recover_cmd=(bash "$P/pgbr-recover.sh")
    [[ -n $RUNAS ]] && recover_cmd=(runuser -u "$RUNAS" -- "${recover_cmd[@]}")
    measure pgbr_recover "$R" "${recover_cmd[@]}"
    grep '^pgbr_recover_' "$LOGS/pg.pgbr_recover.log" >>"$ENV"
    PGHOST=$R PGPORT=$PORT2 verify_db pgbr_recover bench
    as_pg "$PG_BIN/pg_ctl" -D "$R" -m fast stop >/dev/null
    rm -rf "$R"

    # plain logical recovery: a new database and pg_restore of the custom-format dump
    # (after pgBackRest's: the WAL of this restore is not for its recovery to replay)
    measure plain_recover "" bash -c '"$1/createdb" plainrecover && "$1/pg_restore" -d plainrecover "$2"' \
        _ "$PG_BIN" "$P/plain.dump"
    verify_db plain_recover plainrecover
    echo "plain_recover_db_bytes=$(psql_ -d postgres -c "SELECT pg_database_size('plainrecover')")" >>"$ENV"
    "$PG_BIN/dropdb" plainrecover

    # lifeboat: one repository for both components, WAL archived into it from now on
    D=$P/repo-lifeboat-drill
    "$LB" -r "$D" init >"$LOGS/pg.drill-init.log" 2>&1 || die "lifeboat init (drill) failed"
    [[ -n $RUNAS ]] && chown -R "$RUNAS": "$D"
    psql_ -d postgres -c "ALTER SYSTEM SET archive_command = 'LIFEBOAT_REPOSITORY=$D LIFEBOAT_PASSWORD_FILE=$P/password $LB wal-push %p'" \
        -c "SELECT pg_reload_conf()" >/dev/null
    # switch_archived: write a little WAL, switch segments and wait until
    # archive_command has archived the finished one
    switch_archived() {
        local seg i
        psql_ -d postgres -c "SELECT pg_logical_emit_message(false, 'lifeboat-bench', 'switch')" >/dev/null
        seg=$(psql_ -d postgres -c "SELECT pg_walfile_name(pg_switch_wal())")
        for ((i = 0; i < 120; i++)); do
            [[ $(psql_ -d postgres -c "SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver") == t ]] && return 0
            sleep 0.5
        done
        die "archive_command lifeboat wal-push did not archive $seg in 60 s: $(psql_ -d postgres -c 'SELECT * FROM pg_stat_archiver')"
    }
    # archiving into lifeboat must work before a --wal-method none backup waits for it
    switch_archived
    cat >"$P/drill.yaml" <<YAML
# written by bench/pg.sh: the drill steps' configuration
name: lifeboat-bench-pg
host: lifeboat-bench
state: $P/drill-state
repositories:
  bench:
    url: $D
    password_file: $P/password
components:
  db:
    type: postgres
    connection: "$(url bench)"
  db-physical:
    type: postgres-physical
    connection: "host=$PGHOST port=$PGPORT user=$PGUSER"
    wal_method: none
YAML
    # the snapshots (untimed; they were timed above as lb_backup and lbphys_backup)
    "$LB" -r "$D" backup --pg "$(url bench)" --component db --host lifeboat-bench >"$LOGS/pg.drill-backup-db.log" 2>&1 ||
        die "lifeboat backup --component db failed; see $LOGS/pg.drill-backup-db.log"
    "$LB" -r "$D" backup --pg-physical --wal-method none --component db-physical --host lifeboat-bench \
        >"$LOGS/pg.drill-backup-phys.log" 2>&1 || die "lifeboat backup --pg-physical --wal-method none failed; see $LOGS/pg.drill-backup-phys.log"
    # a live server goes on writing: WAL past the backup's end is archived, so
    # the drill's recovery to the latest point reaches beyond the backup
    # (with none, restore stops with exit 3 unless --allow-partial)
    switch_archived

    # the physical drill's server has its socket in its data directory,
    # SCRATCH/lifeboat-drill.XXXXXX/pgdata-db-physical: a short SCRATCH, since a
    # socket path has at most 107 bytes (lifeboat does not check this itself)
    sock="$P/dt/lifeboat-drill.XXXXXX/pgdata-db-physical/.s.PGSQL.5432"
    ((${#sock} <= 107)) || die "the drill's socket path '$sock' is longer than 107 bytes: use a shorter BENCH_DIR"

    # drill STEP COMPONENT: time `lifeboat drill COMPONENT`; pg.tsv gets the
    # wall time (bytes: restored), pg.env drill_STEP_* the report's figures
    drill() {
        local step=$1 comp=$2 scratch=$P/dt wall user sys rss rto rs vs setup bytes status fields
        rm -rf "$scratch"
        mkdir -p "$scratch"
        drop_caches
        note "$step (lifeboat drill $comp) ..."
        drill_timed "$P/time.$step" "$LOGS/pg.$step.out" "$LOGS/pg.$step.log" "$scratch" \
            env TMPDIR="$scratch" "$LB" drill "$comp" --config "$P/drill.yaml" --json
        read -r wall user sys rss < <(tail -n 1 "$P/time.$step")
        fields=$(drill_fields "$LOGS/pg.$step.out" "$comp")
        [[ -n $fields ]] || fields=$(printf '0\t0\t0\t0\t0\tFAILED: no drill report (exit %s)' "$DRILL_RC")
        IFS=$'\t' read -r rto rs vs setup bytes status <<<"$fields"
        ((DRILL_RC == 0)) || [[ $status != ok ]] || status="FAILED: exit $DRILL_RC"
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$step" "$wall" "$user" "$sys" "$rss" "$bytes" >>"$TSV"
        {
            echo "drill_${step}_rto=$rto"
            echo "drill_${step}_restore=$rs"
            echo "drill_${step}_verify=$vs"
            echo "drill_${step}_setup=$setup"
            echo "drill_${step}_peak_kb=$DRILL_PEAK_KB"
            echo "drill_${step}_checks=$(python3 -c 'import json,sys
try: d=json.load(open(sys.argv[1]))
except Exception: sys.exit()
print(" | ".join(k["text"] for c in d["components"] for k in c.get("checks") or []))' "$LOGS/pg.$step.out")"
            if [[ $status == ok ]]; then echo "verify_$step=ok"; else echo "verify_$step=$status"; fi
        } >>"$ENV"
        note "$step: wall ${wall}s rto ${rto}s (setup ${setup}s restore ${rs}s verify ${vs}s) rss $((rss / 1024)) MiB scratch peak $((DRILL_PEAK_KB / 1024)) MiB: $status"
        [[ $status == ok ]] || note "DRILL FAILED: $step: $status (see $LOGS/pg.$step.out, $LOGS/pg.$step.log)"
        rm -rf "$scratch"
    }
    drill lbdrill_db db
    drill lbdrill_phys db-physical
fi

# ---------------------------------------------------------- dump series

if ((BENCH_PG_DUMPS > 0)); then
    note "dump series: $BENCH_PG_DUMPS x (pgbench -R $BENCH_PG_LOAD_RATE -T $BENCH_PG_LOAD_SECONDS -c 2; lifeboat backup --pg)"
    S=$P/repo-lifeboat-series
    "$LB" -r "$S" init >"$LOGS/pg.series-init.log" 2>&1 || die "lifeboat init failed"
    before=$(du -sb "$S" | cut -f1)
    t0=$(date +%s)
    for ((i = 1; i <= BENCH_PG_DUMPS; i++)); do
        "$PG_BIN/pgbench" -n -R "$BENCH_PG_LOAD_RATE" -T "$BENCH_PG_LOAD_SECONDS" -c 2 bench >>"$LOGS/pg.series-load.log" 2>&1 ||
            die "pgbench load $i failed; see $LOGS/pg.series-load.log"
        "$LB" -r "$S" backup --pg "$(url bench)" --component database >>"$LOGS/pg.series-backup.log" 2>&1 ||
            die "series backup $i failed; see $LOGS/pg.series-backup.log"
        if ((i % 10 == 0)); then note "  $i of $BENCH_PG_DUMPS dumps ($(($(date +%s) - t0)) s)"; fi
    done
    after=$(du -sb "$S" | cut -f1)
    # one plain dump at the end of the series, for scale (the database grew: pgbench_history)
    "$PG_BIN/pg_dump" -Fc -f "$P/plain-end.dump" -d bench
    {
        echo "series_dumps=$BENCH_PG_DUMPS"
        echo "series_load_s=$BENCH_PG_LOAD_SECONDS"
        echo "series_load_rate=$BENCH_PG_LOAD_RATE"
        echo "series_tx=$(grep -o 'number of transactions actually processed: [0-9]*' "$LOGS/pg.series-load.log" | awk '{s += $NF} END {print s + 0}')"
        echo "series_s=$(($(date +%s) - t0))"
        echo "series_bytes=$((after - before))"
        echo "series_snapshots=$("$LB" -r "$S" snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin) or []))')"
        echo "plain_dump_bytes=$PLAIN_BYTES"
        echo "plain_dump_end_bytes=$(stat -c %s "$P/plain-end.dump")"
        echo "series_tps=$(grep -o 'tps = [0-9.]*' "$LOGS/pg.series-load.log" | tail -n 1 | cut -d' ' -f3 | xargs -r printf '%.0f')"
    } >>"$ENV"
    note "series: $BENCH_PG_DUMPS dumps stored in $(((after - before) / 1048576)) MiB; one plain dump $((PLAIN_BYTES / 1048576)) MiB"
else
    echo "plain_dump_bytes=$PLAIN_BYTES" >>"$ENV"
fi

if grep -q '^verify_.*=FAILED' "$ENV"; then
    exit 2 # numbers written; a restore did not verify: reported, then run.sh fails
fi
