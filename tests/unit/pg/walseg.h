/*
 * walseg.h - WAL segments and repositories for the src/pg unit tests: a new
 * repository on the in-memory storage, and a 16 MiB segment whose long page
 * header matches its name (so walPush accepts it). Static: include it in
 * one test file each.
 */
#ifndef LIFEBOAT_TESTS_UNIT_PG_WALSEG_H
#define LIFEBOAT_TESTS_UNIT_PG_WALSEG_H

#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "repo/repo.h"
#include "storage/mem/mem.h"

#define SEG (16u << 20)

static Repo *newRepo(void) {
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    Repo *repo = repoInit(storageMemNew(), "pw", &opts, &err);
    if (repo == NULL)
        fail_msg("repoInit: %s", err.msg);
    return repo;
}

/* A segment whose long page header matches name (tli/log/seg), filled with
 * a pattern derived from seed. Caller frees. */
static uint8_t *makeSegment(uint32_t tli, uint32_t log, uint32_t seg, uint32_t seed) {
    uint8_t *d = lbXcalloc(1, SEG);
    uint16_t magic = 0xD110, info = 0x0002 | 0x0004;
    uint64_t pageAddr = ((uint64_t)log * (UINT64_C(0x100000000) / SEG) + seg) * SEG;
    uint64_t sysid = UINT64_C(7311234567890123456);
    uint32_t segSize = SEG, blck = 8192;
    memcpy(d, &magic, 2);
    memcpy(d + 2, &info, 2);
    memcpy(d + 4, &tli, 4);
    memcpy(d + 8, &pageAddr, 8);
    memcpy(d + 24, &sysid, 8);
    memcpy(d + 32, &segSize, 4);
    memcpy(d + 36, &blck, 4);
    for (size_t i = 64; i < SEG / 4; i += 4)
        memcpy(d + i, &(uint32_t){(uint32_t)i * 2654435761u ^ seed}, 4);
    return d;
}

#endif
