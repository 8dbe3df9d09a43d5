/*
 * fuzz_config.c - the repository config object, read by repoOpen.
 *
 * Input: a mode byte, then
 *   0: the config's JSON plaintext, stored by the target (unpacked framing,
 *      sealed under the fixture's metadata key);
 *   1: the stored config object itself.
 * Each input gets a fresh in-memory storage holding the fixture's key file
 * and this config; repoOpen reads both.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "storage/mem/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || data[0] > 1)
        return 0;
    Storage *storage = storageMemNew();
    fuzzWriteRepo(storage, false);
    LbBuf stored = {0};
    LbError err = {0};
    if (data[0] == 0)
        fuzzSealUnpacked(data + 1, size - 1, &stored);
    else
        lbBufAppend(&stored, data + 1, size - 1);
    if (!storagePut(storage, "config", stored.data, stored.len, &err))
        abort();
    lbBufFree(&stored);
    Repo *repo = repoOpen(storage, FUZZ_PASSWORD, &err); /* takes storage */
    if (repo != NULL) {
        for (int p = 0; p < REPO_CHUNK_PROFILES; p++) {
            if (repoChunker(repo, (RepoChunkProfile)p) == NULL)
                abort();
        }
    }
    repoFree(repo);
    return 0;
}
