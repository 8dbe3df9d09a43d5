#!/usr/bin/env bash
# test_memory_limit.sh - issue 15: a backup in a small container is not
# OOM-killed. The backup pipeline sizes its buffers from a memory budget
# (common/membudget.h): --max-memory / LIFEBOAT_MAX_MEMORY, else half the
# cgroup's memory limit. The test makes a memory cgroup of 256 MiB (v1
# memory.limit_in_bytes, or v2 memory.max; skipped when neither can be made,
# e.g. not root) and runs backups of 400 MiB of incompressible data and 20,000
# small files in it, planning for 32 CPUs (LIFEBOAT_CPUS=32: one worker per
# CPU would fill 32 packs of up to 20 MiB at once). The packs are kept in
# memory (LIFEBOAT_NO_SPOOL=1), as they are for an S3 repository: a local
# repository spools them to disk and would not show what the budget bounds.
#   (a) control: with a budget of 4G (more than the cgroup has) the backup is
#       killed by the cgroup's OOM killer - the limit is real;
#   (b) with the default budget (half the limit) it completes, no OOM kill,
#       and the snapshot restores byte for byte;
#   (c) --max-memory below 64M is refused, naming the option.
. "$(dirname "$0")/lib.sh"

# under AddressSanitizer the memory is not the program's (shadow memory, a
# quarantine of freed blocks, red zones): the normal build's pass runs this
if ldd "$LB" 2>/dev/null | grep -q 'libasan'; then
    skip "a backup in a 256 MiB memory cgroup (this lifeboat is built with AddressSanitizer, whose own memory does not fit)"
    finish
fi

. "$(dirname "$0")/../../scripts/memcg.sh"
LIMIT=$((256 * 1024 * 1024))
cleanup_hooks+=(memcg_remove)

if ! memcg_make "$LIMIT"; then
    skip "a backup in a 256 MiB memory cgroup (cannot make a memory cgroup here: needs root and cgroup v1 or v2 memory)"
    finish
fi
note "cgroup: $MEMCG"

D=$TMP/data
mkdir -p "$D/small"
head -c $((400 * 1048576)) /dev/urandom >"$D/big.bin"
python3 - "$D/small" <<'EOF'
import os, random, sys
random.seed(15)
root = sys.argv[1]
for i in range(20000):
    d = os.path.join(root, "d%02d" % (i % 40))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(random.randbytes(random.randint(0, 3000)))
EOF

# (a) control: a budget above the limit, 32 workers: killed
R1=$TMP/repo1
new_repo "$R1" || { fail "init repository"; finish; }
LIFEBOAT_NO_SPOOL=1 LIFEBOAT_CPUS=32 LIFEBOAT_MAX_MEMORY=4G memcg_run "$LB" -r "$R1" backup -q "$D" >"$TMP/a.out" 2>&1
rc=$?
kills=$(memcg_oom_kills)
if [ "$rc" -ne 0 ] && [ "${kills:-0}" -gt 0 ]; then
    ok "control: with --max-memory above the cgroup's limit the backup is OOM-killed (exit $rc, peak $(memcg_peak_mib) MiB)"
else
    fail "control: with --max-memory 4G in 256 MiB the backup was not OOM-killed (exit $rc, oom_kill ${kills:-?})"
fi
# a fresh cgroup for the real run (counters start at zero)
memcg_remove
memcg_make "$LIMIT" || { fail "make the cgroup again"; finish; }

# (b) the default budget: half the cgroup's limit
R=$TMP/repo
new_repo "$R" || { fail "init repository"; finish; }
LIFEBOAT_NO_SPOOL=1 LIFEBOAT_CPUS=32 memcg_run /usr/bin/time -f 'peak RSS %M KB' -o "$TMP/b.rss" "$LB" -r "$R" backup -q "$D" >"$TMP/b.out" 2>&1
rc=$?
kills=$(memcg_oom_kills)
if [ "$rc" -eq 0 ] && [ "${kills:-0}" -eq 0 ]; then
    ok "backup of 420 MiB in a 256 MiB cgroup with 32 CPUs completes ($(cat "$TMP/b.rss"); the cgroup's peak with the page cache $(memcg_peak_mib) MiB; no OOM kill)"
else
    fail "backup in a 256 MiB cgroup: exit $rc, oom_kill ${kills:-?}"
    sed 's/^/#   /' "$TMP/b.out" | head -10
fi
mkdir -p "$TMP/restore"
if "$LB" -r "$R" restore -q latest --target "$TMP/restore" >"$TMP/r.out" 2>&1 &&
    diff -r "$D" "$TMP/restore$D" >/dev/null; then
    ok "the snapshot made in the cgroup restores byte for byte"
else
    fail "restore of the snapshot made in the cgroup"
    sed 's/^/#   /' "$TMP/r.out" | head -10
fi

# (c) a budget too small to plan for is refused, naming the option
check_rc 1 "--max-memory 10M is refused" "$LB" --max-memory 10M -r "$R" snapshots
if last_output | grep -q "max-memory"; then ok "the error names --max-memory"; else fail "the error names --max-memory"; fi
finish
