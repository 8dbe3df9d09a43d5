/*
 * fuzz_snapshot.c - snapshot records (snapshotLoad) in the fixture
 * repository.
 *
 * Input: a mode byte, then
 *   0: the snapshot's JSON plaintext, stored by the target as an unpacked
 *      object (repoSaveUnpacked) and read back with snapshotLoad;
 *   1: the stored object itself (framing and seal under the fixture's
 *      metadata key), put under its SHA-256 name and loaded.
 * A loaded snapshot is turned back into JSON (snapshotToJson), as
 * `snapshots --json` does.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/crypto.h"
#include "fuzz.h"
#include "snapshot/snapshot.h"

static void load(Repo *repo, const LbId *id) {
    Snapshot snap;
    LbError err = {0};
    if (snapshotLoad(repo, id, &snap, &err)) {
        json_t *o = snapshotToJson(&snap, true);
        free(json_dumps(o, JSON_COMPACT));
        json_decref(o);
        snapshotClear(&snap);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || data[0] > 1)
        return 0;
    Repo *repo = fuzzRepo();
    LbError err = {0};
    LbId id;
    if (data[0] == 0) {
        if (!repoSaveUnpacked(repo, "snapshots", data + 1, size - 1, &id, &err))
            abort();
    } else {
        cryptoSha256(data + 1, size - 1, &id);
        char hex[LB_ID_HEX_LEN + 1], name[96];
        lbIdToHex(&id, hex);
        snprintf(name, sizeof(name), "snapshots/%s", hex);
        if (!storagePut(repoStorage(repo), name, data + 1, size - 1, &err))
            abort();
    }
    load(repo, &id);
    char hex[LB_ID_HEX_LEN + 1], name[96];
    lbIdToHex(&id, hex);
    snprintf(name, sizeof(name), "snapshots/%s", hex);
    storageRemove(repoStorage(repo), name, &err);
    return 0;
}
