/*
 * fuzz_pg_label.c - what a physical backup records: backup_label text,
 * the WAL range at the end of backup_manifest, and the snapshot metadata
 * of a physical backup (basebackupInfoFromJson, also used by PITR).
 *
 * Input: a mode byte, then
 *   0: backup_label text (basebackupParseLabel);
 *   1: backup_manifest text (basebackupParseManifestTail);
 *   2: snapshot "meta" JSON (basebackupInfoFromJson), then the stop
 *      segment's name as `pg-restore` computes it (src/cmd/pg_physical.c);
 *      metadata with a valid segment size must also write back
 *      (basebackupInfoToJson) to JSON that reads the same.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pg/basebackup.h"
#include "pg/wal.h"

static void meta(const uint8_t *data, size_t size) {
    json_t *o = json_loadb((const char *)data, size, 0, NULL);
    BasebackupInfo info, again;
    memset(&info, 0, sizeof(info));
    memset(&again, 0, sizeof(again));
    LbError err = {0};
    if (o != NULL && basebackupInfoFromJson(o, &info, &err)) {
        char stopWal[32];
        walSegmentName(info.stopTimeline ? info.stopTimeline : info.startTimeline, info.stopLsn ? info.stopLsn - 1 : 0,
                       info.walSegmentSize ? info.walSegmentSize : (16u << 20), stopWal, sizeof(stopWal));
        uint64_t ss = info.walSegmentSize;
        if (ss < (1u << 20) || ss > (1u << 30) || (ss & (ss - 1)) != 0) {
            json_decref(o);
            return;
        }
        json_t *back = basebackupInfoToJson(&info);
        if (!basebackupInfoFromJson(back, &again, &err))
            abort();
        if (again.startLsn != info.startLsn || again.stopLsn != info.stopLsn ||
            again.startTimeline != info.startTimeline || again.systemId != info.systemId)
            abort();
        json_decref(back);
    }
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    BasebackupInfo info;
    memset(&info, 0, sizeof(info));
    LbError err = {0};
    if (data[0] == 0) {
        basebackupParseLabel((const char *)data + 1, size - 1, &info, &err);
    } else if (data[0] == 1) {
        basebackupParseManifestTail((const char *)data + 1, size - 1, &info.stopLsn, &info.stopTimeline);
    } else if (data[0] == 2) {
        meta(data + 1, size - 1);
    }
    return 0;
}
