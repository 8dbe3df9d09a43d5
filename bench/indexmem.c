/*
 * indexmem.c - micro-benchmark of the in-memory blob index (src/index):
 * insert N random IDs, look up the N present ones, then N absent ones, and
 * report ns per operation and the memory the index holds per blob.
 *
 * Build and run (see docs/memory.md):
 *   bench/indexmem.sh (builds it, runs 1 and 10 million blobs, best of 3)
 *   cc -O2 -Isrc bench/indexmem.c build/liblifeboat.a -o build/indexmem
 *   /usr/bin/time -v build/indexmem 10000000
 * Times are CPU time and include making each ID (a few ns, printed as idgen).
 * IDs are regenerated from a seed instead of being kept, so the figures are
 * the index's own: heap bytes (mallinfo2) plus the bytes of its mapped
 * temporary file (LIFEBOAT_INDEX_MMAP_BLOBS, docs/memory.md) when it uses one.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "index/index.h"

static uint64_t benchRand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void benchId(uint64_t *s, LbId *id) {
    for (int i = 0; i < LB_ID_LEN; i += 8) {
        uint64_t v = benchRand(s);
        memcpy(id->b + i, &v, 8);
    }
}

/* CPU time, not wall time: the figures stay comparable on a shared machine
 * (the benchmark is single-threaded; page faults count as system time). */
static double benchNow(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident anonymous and file-backed KiB now (/proc/self/status): mapped
 * index blocks count as file-backed, which the kernel can write back and
 * drop under pressure. */
static void benchRss(long *anonKib, long *fileKib) {
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");
    *anonKib = *fileKib = -1;
    while (f && fgets(line, sizeof(line), f)) {
        sscanf(line, "RssAnon: %ld", anonKib);
        sscanf(line, "RssFile: %ld", fileKib);
    }
    if (f)
        fclose(f);
}

static size_t benchHeap(void) {
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    size_t heap0 = benchHeap();
    Index *ix = indexNew();
    for (uint32_t p = 0; p <= n / 1000; p++) {
        LbId pid;
        memset(&pid, 0, sizeof(pid));
        memcpy(pid.b, &p, sizeof(p));
        pid.b[31] = 1;
        indexAddPack(ix, &pid);
    }
    uint64_t seed = 1;
    double t0 = benchNow();
    for (size_t i = 0; i < n; i++) {
        PackEntry e = {.type = BLOB_DATA, .offset = (uint32_t)i, .length = 4000, .rawLength = 8000};
        benchId(&seed, &e.id);
        indexAdd(ix, (uint32_t)(i / 1000), &e);
    }
    double t1 = benchNow();
    size_t heap1 = benchHeap();
    seed = 1;
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        LbId id;
        IndexLoc loc;
        benchId(&seed, &id);
        found += indexLookup(ix, &id, BLOB_DATA, &loc) && loc.offset == (uint32_t)i;
    }
    double t2 = benchNow();
    /* present ones again, n / 10 in random order: the worst case for records
     * read back from the index's file (docs/memory.md); the i-th ID is made
     * from the seed advanced by 4 i steps (4 draws per ID) */
    size_t randomCount = n / 10 ? n / 10 : 1, randomFound = 0;
    uint64_t pick = 12345;
    double tr0 = benchNow();
    for (size_t k = 0; k < randomCount; k++) {
        size_t i = (size_t)(benchRand(&pick) % n);
        uint64_t s = 1 + (uint64_t)i * 4 * 0x9e3779b97f4a7c15ull;
        LbId id;
        IndexLoc loc;
        benchId(&s, &id);
        randomFound += indexLookup(ix, &id, BLOB_DATA, &loc) && loc.offset == (uint32_t)i;
    }
    double tr1 = benchNow();
    seed = 2;
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) {
        LbId id;
        benchId(&seed, &id);
        wrong += indexHas(ix, &id, BLOB_DATA);
    }
    double t3 = benchNow() - (tr1 - tr0);
    /* the cost of making the IDs, included in the figures above */
    seed = 3;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++) {
        LbId id;
        benchId(&seed, &id);
        sink ^= id.b[0];
    }
    double t4 = benchNow();
    double gen = (t4 - t3) / (double)n * 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long anonKib, fileKib;
    benchRss(&anonKib, &fileKib);
    printf("blobs %zu  found %zu  false %zu\n", n, found, wrong);
    printf("insert  %6.1f ns/op\n", (t1 - t0) / (double)n * 1e9);
    printf("present %6.1f ns/op\n", (t2 - t1) / (double)n * 1e9);
    printf("absent  %6.1f ns/op\n", (t3 - t2) / (double)n * 1e9);
    printf("random  %6.1f ns/op (present, in random order)\n", (tr1 - tr0) / (double)randomCount * 1e9);
    printf("idgen   %6.1f ns/op (making the ID, included above)\n", gen);
    printf("heap    %6.1f bytes/blob (%zu bytes)\n", (double)(heap1 - heap0) / (double)n, heap1 - heap0);
    printf("maxrss  %6.1f bytes/blob (%ld KiB)\n", (double)ru.ru_maxrss * 1024.0 / (double)n, ru.ru_maxrss);
    printf("rss     anon %.1f bytes/blob, file %.1f bytes/blob (now)\n", (double)anonKib * 1024.0 / (double)n,
           (double)fileKib * 1024.0 / (double)n);
    indexFree(ix);
    return found == n && wrong == 0 && randomFound == randomCount ? 0 : 1;
}
