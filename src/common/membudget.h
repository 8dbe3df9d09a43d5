/*
 * membudget.h - how much memory a run may use, and how many CPUs it plans
 * threads for.
 *
 * The budget (bytes) sizes the backup pipeline's buffers: the saver's
 * workers each fill a pack of up to 20 MiB, so their number is what the
 * budget allows after the queue, the read buffer and the packs being
 * uploaded (repo/saver.c). It is, in this order:
 *   LIFEBOAT_MAX_MEMORY (set by --max-memory; lbParseSize syntax),
 *   half the memory limit of the process's cgroup (v2 memory.max or v1
 *   memory.limit_in_bytes, the smallest on the way up to the root), so a
 *   backup in a container sized 256 MiB plans for 128 MiB and leaves the
 *   rest to the index, the trees and the page cache,
 *   MEMBUDGET_DEFAULT otherwise.
 * The CPUs: LIFEBOAT_CPUS when set (a whole number >= 1), else the online
 * CPUs.
 */
#ifndef LIFEBOAT_COMMON_MEMBUDGET_H
#define LIFEBOAT_COMMON_MEMBUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define MEMBUDGET_DEFAULT (1024ull * 1024 * 1024)
/* the least budget a backup plans for: one worker, one upload */
#define MEMBUDGET_MIN (64ull * 1024 * 1024)

/* The budget in bytes (see above); never below MEMBUDGET_MIN. */
uint64_t lbMemoryBudget(void);
/* The memory limit of this process's cgroup, or 0 when there is none. */
uint64_t lbCgroupMemoryLimit(void);
/* The CPUs to plan threads for (>= 1). */
int lbCpuCount(void);
/* Is s a valid LIFEBOAT_MAX_MEMORY value (a size of at least MEMBUDGET_MIN)? */
bool lbMemoryBudgetValid(const char *s);
/* Give the heap's free memory back to the kernel (glibc's malloc_trim):
 * each thread allocates from an arena of its own, and freed memory stays
 * there otherwise. Called by long runs at points where much was just freed
 * (the saver after each index file, the index after loading). */
void lbMemTrim(void);

#endif
