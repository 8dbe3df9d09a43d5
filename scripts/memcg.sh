# scripts/memcg.sh - a memory cgroup for a run (sourced by
# tests/integration/test_memory_limit.sh and bench/memlimit.sh).
#
#   memcg_make LIMIT_BYTES   make one (v1 memory.limit_in_bytes, or v2
#                            memory.max; swap limited too) in $MEMCG;
#                            false when impossible (not root, no memory
#                            controller we may write to)
#   memcg_run CMD...         run CMD as a member of it; CMD's exit code
#   memcg_oom_kills          how many processes its OOM killer killed
#   memcg_peak_mib           its peak usage (page cache included), MiB
#   memcg_remove             remove it (after its processes ended)
MEMCG=""

memcg_make() {
    local limit=$1 rel
    [ "$(id -u)" = 0 ] || return 1
    rel=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
    if [ -n "$rel" ] && [ -d "/sys/fs/cgroup/memory$rel" ]; then
        MEMCG=/sys/fs/cgroup/memory${rel%/}/lifeboat-$$-$RANDOM
        mkdir "$MEMCG" 2>/dev/null || { MEMCG=""; return 1; }
        echo "$limit" >"$MEMCG/memory.limit_in_bytes" || return 1
        if [ -f "$MEMCG/memory.memsw.limit_in_bytes" ]; then
            echo "$limit" >"$MEMCG/memory.memsw.limit_in_bytes" 2>/dev/null
        fi
        return 0
    fi
    if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
        grep -qw memory /sys/fs/cgroup/cgroup.subtree_control ||
            echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
        MEMCG=/sys/fs/cgroup/lifeboat-$$-$RANDOM
        mkdir "$MEMCG" 2>/dev/null || { MEMCG=""; return 1; }
        echo "$limit" >"$MEMCG/memory.max" || return 1
        if [ -f "$MEMCG/memory.swap.max" ]; then echo 0 >"$MEMCG/memory.swap.max" 2>/dev/null; fi
        return 0
    fi
    return 1
}

memcg_run() {
    bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' memcg_run "$MEMCG" "$@"
}

memcg_oom_kills() {
    if [ -f "$MEMCG/memory.oom_control" ]; then
        awk '$1 == "oom_kill" {print $2}' "$MEMCG/memory.oom_control"
    else
        awk '$1 == "oom_kill" {print $2}' "$MEMCG/memory.events"
    fi
}

memcg_peak_mib() {
    local f=$MEMCG/memory.max_usage_in_bytes
    [ -f "$f" ] || f=$MEMCG/memory.peak
    if [ -f "$f" ]; then echo $(($(cat "$f") / 1048576)); else echo "?"; fi
}

memcg_remove() {
    if [ -n "$MEMCG" ] && [ -d "$MEMCG" ]; then rmdir "$MEMCG" 2>/dev/null; fi
    MEMCG=""
    true
}
