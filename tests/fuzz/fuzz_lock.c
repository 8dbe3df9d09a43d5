/*
 * fuzz_lock.c - lock objects (locks/<id>: sealed JSON with time,
 * exclusive, hostname, username, pid), read by every lock acquisition and
 * by `unlock` (repoLockRemoveStale) in the fixture repository.
 *
 * Input: a mode byte, then
 *   0: the lock's JSON plaintext, stored by the target (repoSaveUnpacked);
 *   1: the stored lock object itself, put under its SHA-256 name.
 * Then repoLockRemoveStale reads it (a lock naming this host and a pid
 * that does not exist is stale; kill(pid, 0) only probes).
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/id.h"
#include "crypto/crypto.h"
#include "fuzz.h"
#include "repo/lock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || data[0] > 1)
        return 0;
    Repo *repo = fuzzRepo();
    LbError err = {0};
    LbId id;
    if (data[0] == 0) {
        if (!repoSaveUnpacked(repo, "locks", data + 1, size - 1, &id, &err))
            abort();
    } else {
        cryptoSha256(data + 1, size - 1, &id);
    }
    char hex[LB_ID_HEX_LEN + 1], name[96];
    lbIdToHex(&id, hex);
    snprintf(name, sizeof(name), "locks/%s", hex);
    if (data[0] == 1 && !storagePut(repoStorage(repo), name, data + 1, size - 1, &err))
        abort();
    size_t removed = 0;
    repoLockRemoveStale(repo, false, &removed, &err);
    storageRemove(repoStorage(repo), name, &err);
    return 0;
}
