/*
 * fuzz_tar.c - the tar reader of base backups (src/pg/basebackup.c).
 *
 * The reader (tarFeed, tarHeader) is static in basebackup.c and only
 * reached through basebackupStart, which runs pg_basebackup: this file
 * includes basebackup.c to call it directly (its other functions come
 * along; the library's copy is then not linked).
 *
 * Input: a byte that sets the slice size, then the tar stream, fed in
 * slices of that size as the reader thread sees pipe reads. Then what
 * basebackupFinish does with the result: backup_label through
 * basebackupParseLabel, backup_manifest through basebackupParseManifestTail.
 */
#include "pg/basebackup.c"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    size_t slice = 1 + (size_t)data[0] * 4;
    TarScan t;
    memset(&t, 0, sizeof(t));
    for (size_t at = 1; at < size; at += slice)
        tarFeed(&t, data + at, size - at < slice ? size - at : slice);
    if (t.label.len > LABEL_MAX || t.manifest.len > 2 * MANIFEST_KEEP)
        abort();
    BasebackupInfo info;
    memset(&info, 0, sizeof(info));
    LbError err = {0};
    if (!t.bad && t.ended && t.label.len > 0)
        basebackupParseLabel((const char *)t.label.data, t.label.len, &info, &err);
    if (t.manifest.len > 0)
        basebackupParseManifestTail((const char *)t.manifest.data, t.manifest.len, &info.stopLsn, &info.stopTimeline);
    lbBufFree(&t.label);
    lbBufFree(&t.manifest);
    return 0;
}
