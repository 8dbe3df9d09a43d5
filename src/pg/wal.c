/* wal.c - WAL files in the repository: names, segment headers, push, fetch. */
#include "pg/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "compress/compress.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

#define XLP_LONG_HEADER 0x0002
/* the first GET of a header: enough for any header this code writes */
#define WAL_HEADER_PROBE 1024
/* a sealed header larger than this is not one of ours */
#define WAL_HEADER_MAX (64 * 1024)

static bool isUpperHex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

static uint32_t hex32(const char *s) {
    char tmp[9];
    memcpy(tmp, s, 8);
    tmp[8] = '\0';
    return (uint32_t)strtoul(tmp, NULL, 16);
}

bool walNameParse(const char *name, WalName *out) {
    size_t n = strlen(name);
    memset(out, 0, sizeof(*out));
    if (n == 16 && isUpperHex(name, 8) && strcmp(name + 8, ".history") == 0) {
        out->kind = WAL_FILE_HISTORY;
        out->timeline = hex32(name);
        return out->timeline != 0;
    }
    if (n < 24 || !isUpperHex(name, 24))
        return false;
    out->timeline = hex32(name);
    out->log = hex32(name + 8);
    out->seg = hex32(name + 16);
    if (out->timeline == 0)
        return false;
    if (n == 24) {
        out->kind = WAL_FILE_SEGMENT;
        return true;
    }
    if (strcmp(name + 24, ".partial") == 0) {
        out->kind = WAL_FILE_PARTIAL;
        return true;
    }
    /* a streamed partial (wal-stream): <segment>.<8 hex: bytes of WAL>.partial */
    if (n == 24 + 1 + 8 + 8 && name[24] == '.' && isUpperHex(name + 25, 8) && strcmp(name + 33, ".partial") == 0) {
        out->kind = WAL_FILE_PARTIAL;
        out->streamedBytes = hex32(name + 25);
        return out->streamedBytes > 0;
    }
    if (n == 24 + 1 + 8 + 7 && name[24] == '.' && isUpperHex(name + 25, 8) && strcmp(name + 33, ".backup") == 0) {
        out->kind = WAL_FILE_BACKUP;
        return true;
    }
    return false;
}

bool walSegmentCheck(const WalName *name, const uint8_t *data, size_t len, WalSegmentInfo *info, LbError *err) {
    /* XLogLongPageHeaderData in the server's byte order (that of this host:
     * WAL is only restored on the architecture that wrote it) */
    uint16_t magic, flags;
    memset(info, 0, sizeof(*info));
    if (len < WAL_LONG_HEADER_SIZE)
        return lbErr(err, LB_ERR_FORMAT, "not a WAL segment: %zu bytes is too short", len);
    memcpy(&magic, data, 2);
    memcpy(&flags, data + 2, 2);
    memcpy(&info->timeline, data + 4, 4);
    memcpy(&info->pageAddr, data + 8, 8);
    memcpy(&info->systemId, data + 24, 8);
    memcpy(&info->segmentSize, data + 32, 4);
    memcpy(&info->blockSize, data + 36, 4);
    uint32_t ss = info->segmentSize;
    if (!(flags & XLP_LONG_HEADER) || ss < (1u << 20) || ss > (1u << 30) || (ss & (ss - 1)) != 0)
        return lbErr(err, LB_ERR_FORMAT, "not a WAL segment: its first page has no valid long header (magic 0x%04X)",
                     magic);
    if (len != ss)
        return lbErr(err, LB_ERR_FORMAT, "not a complete WAL segment: %zu bytes, the segment size is %" PRIu32, len,
                     ss);
    if (info->timeline != name->timeline)
        return lbErr(err, LB_ERR_FORMAT, "WAL segment belongs to timeline %" PRIu32 ", its name says %" PRIu32,
                     info->timeline, name->timeline);
    uint64_t perLog = UINT64_C(0x100000000) / ss;
    if (name->seg >= perLog)
        return lbErr(err, LB_ERR_FORMAT, "invalid WAL segment name for a segment size of %" PRIu32, ss);
    uint64_t expect = ((uint64_t)name->log * perLog + name->seg) * ss;
    if (info->pageAddr != expect) {
        char have[32], want[32];
        walLsnFormat(info->pageAddr, have, sizeof(have));
        walLsnFormat(expect, want, sizeof(want));
        return lbErr(err, LB_ERR_FORMAT, "WAL segment starts at %s, its name says %s", have, want);
    }
    return true;
}

bool walLsnParse(const char *text, uint64_t *lsn) {
    const char *slash = strchr(text, '/');
    if (slash == NULL || slash == text || slash - text > 8 || slash[1] == '\0' || strlen(slash + 1) > 8)
        return false;
    for (const char *p = text; *p; p++)
        if (p != slash && !((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F') || (*p >= 'a' && *p <= 'f')))
            return false;
    uint64_t hi = strtoull(text, NULL, 16), lo = strtoull(slash + 1, NULL, 16);
    *lsn = (hi << 32) | lo;
    return true;
}

void walLsnFormat(uint64_t lsn, char *out, size_t n) {
    snprintf(out, n, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

void walSegmentName(uint32_t tli, uint64_t lsn, uint64_t segmentSize, char *out, size_t n) {
    uint64_t segNo = lsn / segmentSize;
    uint64_t perLog = UINT64_C(0x100000000) / segmentSize;
    snprintf(out, n, "%08" PRIX32 "%08" PRIX32 "%08" PRIX32, tli, (uint32_t)(segNo / perLog),
             (uint32_t)(segNo % perLog));
}

/* ---- the stored object ---- */

static void objectName(const char *name, char *out, size_t n) {
    snprintf(out, n, WAL_DIR "/%s", name);
}

static json_t *headerToJson(const WalHeader *h) {
    char sha[LB_ID_HEX_LEN + 1], when[48];
    lbIdToHex(&h->sha256, sha);
    lbFormatTimeNs(h->timeNs, when, sizeof(when));
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(WAL_HEADER_VERSION));
    json_object_set_new(o, "name", json_string(h->name));
    json_object_set_new(o, "size", json_integer((json_int_t)h->size));
    json_object_set_new(o, "sha256", json_string(sha));
    json_object_set_new(o, "time", json_string(when));
    if (h->hostname[0])
        json_object_set_new(o, "hostname", json_string(h->hostname));
    if (h->hasSystemId) {
        char sys[32];
        snprintf(sys, sizeof(sys), "%" PRIu64, h->systemId);
        json_object_set_new(o, "system_identifier", json_string(sys));
    }
    return o;
}

/* Decode the plaintext header of the object stored as objName. */
static bool headerFromJson(const uint8_t *text, size_t len, const char *objName, WalHeader *h, LbError *err) {
    json_error_t jerr;
    json_t *o = json_loadb((const char *)text, len, 0, &jerr);
    bool ok = false;
    memset(h, 0, sizeof(*h));
    if (o == NULL || !json_is_object(o)) {
        lbErr(err, LB_ERR_FORMAT, "unable to read '%s': its header is not JSON", objName);
        goto cleanup;
    }
    json_t *version = json_object_get(o, "version");
    const char *name = json_string_value(json_object_get(o, "name"));
    json_t *size = json_object_get(o, "size");
    const char *sha = json_string_value(json_object_get(o, "sha256"));
    const char *when = json_string_value(json_object_get(o, "time"));
    const char *host = json_string_value(json_object_get(o, "hostname"));
    const char *sys = json_string_value(json_object_get(o, "system_identifier"));
    if (!json_is_integer(version) || json_integer_value(version) != WAL_HEADER_VERSION) {
        lbErr(err, LB_ERR_FORMAT, "unable to read '%s': unknown header version", objName);
        goto cleanup;
    }
    if (name == NULL || strlen(name) >= sizeof(h->name) || !json_is_integer(size) || json_integer_value(size) < 0 ||
        sha == NULL || !lbIdFromHex(sha, &h->sha256)) {
        lbErr(err, LB_ERR_FORMAT, "unable to read '%s': its header misses name, size or sha256", objName);
        goto cleanup;
    }
    snprintf(h->name, sizeof(h->name), "%s", name);
    h->size = (uint64_t)json_integer_value(size);
    if (when == NULL || !lbParseTime(when, &h->timeNs))
        h->timeNs = 0;
    if (host)
        snprintf(h->hostname, sizeof(h->hostname), "%s", host);
    if (sys) {
        char *end = NULL;
        h->systemId = strtoull(sys, &end, 10);
        h->hasSystemId = end != sys && *end == '\0';
    }
    ok = true;
cleanup:
    json_decref(o);
    return ok;
}

bool walEncode(Repo *repo, const WalHeader *header, const uint8_t *data, size_t len, LbBuf *stored, LbError *err) {
    const RepoKeys *keys = repoKeys(repo);
    LbBuf framed = {0};
    bool ok = false;
    json_t *hj = headerToJson(header);
    char *htext = json_dumps(hj, JSON_COMPACT);
    json_decref(hj);
    if (htext == NULL) {
        lbErr(err, LB_ERR_MEMORY, "unable to encode a WAL header");
        goto cleanup;
    }
    /* u32le H || seal(meta, header) */
    size_t at = stored->len;
    uint8_t lenField[4] = {0};
    lbBufAppend(stored, lenField, sizeof(lenField));
    if (!cryptoSeal(keys->metaKey, (const uint8_t *)htext, strlen(htext), stored, err))
        goto cleanup;
    lbPutU32(stored->data + at, (uint32_t)(stored->len - at - 4));
    /* seal(data, framed): framing as for unpacked objects */
    uint8_t head[5] = {1, 0, 0, 0, 0};
    lbPutU32(head + 1, (uint32_t)len);
    lbBufAppend(&framed, head, sizeof(head));
    if (len > UINT32_MAX || !compressMaybe(data, len, repoCompressionLevel(repo), &framed)) {
        framed.len = 0;
        head[0] = 0;
        lbBufAppend(&framed, head, 1);
        lbBufAppend(&framed, data, len);
    }
    if (!cryptoSeal(keys->dataKey, framed.data, framed.len, stored, err))
        goto cleanup;
    ok = true;
cleanup:
    free(htext);
    lbBufFree(&framed);
    return ok;
}

/* Split stored bytes into the header (decoded into h) and the offset of the
 * sealed body. stored may be only a prefix of the object: *need is then set
 * to the number of bytes the header needs and true returned with
 * *complete = false. */
static bool decodeHeader(Repo *repo, const char *objName, const uint8_t *stored, size_t len, WalHeader *h,
                         size_t *bodyAt, bool *complete, LbError *err) {
    *complete = false;
    if (len < 4)
        return lbErr(err, LB_ERR_CORRUPT, "object '%s' is damaged: it is too short", objName);
    uint32_t hlen = lbGetU32(stored);
    if (hlen < CRYPTO_OVERHEAD || hlen > WAL_HEADER_MAX)
        return lbErr(err, LB_ERR_CORRUPT, "object '%s' is damaged: invalid header length %" PRIu32, objName, hlen);
    *bodyAt = 4 + (size_t)hlen;
    if (len < *bodyAt)
        return true;
    LbBuf plain = {0};
    bool ok = cryptoOpen(repoKeys(repo)->metaKey, stored + 4, hlen, &plain, err) &&
              headerFromJson(plain.data, plain.len, objName, h, err);
    lbBufFree(&plain);
    if (!ok)
        return lbErrorWrap(err, "unable to read the header of '%s'", objName);
    *complete = true;
    return true;
}

bool walReadHeader(Repo *repo, const char *name, bool *exists, WalHeader *header, LbError *err) {
    char obj[WAL_NAME_MAX + 8];
    objectName(name, obj, sizeof(obj));
    StorageInfo info;
    LbBuf stored = {0};
    bool ok = false, complete = false;
    size_t bodyAt = 0;
    *exists = false;
    if (!storageStat(repoStorage(repo), obj, &info, err))
        goto cleanup;
    if (!info.exists) {
        ok = true;
        goto cleanup;
    }
    *exists = true;
    uint64_t probe = info.size < WAL_HEADER_PROBE ? info.size : WAL_HEADER_PROBE;
    if (!storageGet(repoStorage(repo), obj, 0, probe, &stored, err) ||
        !decodeHeader(repo, obj, stored.data, stored.len, header, &bodyAt, &complete, err))
        goto cleanup;
    if (!complete) {
        if (bodyAt > info.size) {
            lbErr(err, LB_ERR_CORRUPT, "object '%s' is damaged: it is shorter than its header", obj);
            goto cleanup;
        }
        if (!storageGet(repoStorage(repo), obj, stored.len, bodyAt - stored.len, &stored, err) ||
            !decodeHeader(repo, obj, stored.data, stored.len, header, &bodyAt, &complete, err))
            goto cleanup;
    }
    if (strcmp(header->name, name) != 0) {
        lbErr(err, LB_ERR_CORRUPT, "object '%s' is damaged: it holds '%s'", obj, header->name);
        goto cleanup;
    }
    ok = true;
cleanup:
    lbBufFree(&stored);
    return ok;
}

/* walPush; replace: an existing object with other content is overwritten
 * (an atomic put) instead of refused. */
static bool pushMode(Repo *repo, const char *name, const uint8_t *data, size_t len, bool replace, WalPushResult *result,
                     LbError *err) {
    WalName wn;
    WalHeader h = {0}, old = {0};
    LbBuf stored = {0};
    bool ok = false, exists = false;
    char obj[WAL_NAME_MAX + 8];
    memset(result, 0, sizeof(*result));
    if (!walNameParse(name, &wn)) {
        lbErr(err, LB_ERR_ARGS,
              "unable to archive '%s': not the name of a WAL segment, .partial, .history or .backup file", name);
        goto cleanup;
    }
    objectName(name, obj, sizeof(obj));
    snprintf(h.name, sizeof(h.name), "%s", name);
    h.size = len;
    h.timeNs = lbNowNs();
    gethostname(h.hostname, sizeof(h.hostname) - 1);
    if (wn.kind == WAL_FILE_SEGMENT || wn.kind == WAL_FILE_PARTIAL) {
        WalSegmentInfo si;
        if (!walSegmentCheck(&wn, data, len, &si, err)) {
            lbErrorWrap(err, "unable to archive '%s'", name);
            goto cleanup;
        }
        h.hasSystemId = true;
        h.systemId = si.systemId;
    }
    cryptoSha256(data, len, &h.sha256);
    result->sha256 = h.sha256;
    if (!walReadHeader(repo, name, &exists, &old, err))
        goto cleanup;
    if (exists && !(replace && !(old.size == h.size && lbIdEqual(&old.sha256, &h.sha256)))) {
        if (old.size == h.size && lbIdEqual(&old.sha256, &h.sha256)) {
            result->outcome = WAL_PUSH_IDENTICAL;
            ok = true;
            goto cleanup;
        }
        char oldSha[LB_ID_HEX_LEN + 1], newSha[LB_ID_HEX_LEN + 1], when[48] = "unknown time";
        lbIdToHex(&old.sha256, oldSha);
        lbIdToHex(&h.sha256, newSha);
        if (old.timeNs)
            lbFormatTimeShort(old.timeNs, when, sizeof(when));
        if (old.hasSystemId && h.hasSystemId && old.systemId != h.systemId)
            lbErr(err, LB_ERR_EXISTS,
                  "unable to archive '%s': the repository already holds a file of that name from another cluster "
                  "(system identifier %" PRIu64 ", this one is %" PRIu64 "), archived %s from host '%s'. HINT: "
                  "each PostgreSQL cluster needs its own repository for WAL.",
                  name, old.systemId, h.systemId, when, old.hostname);
        else
            lbErr(err, LB_ERR_EXISTS,
                  "unable to archive '%s': the repository already holds a different file of that name (%" PRIu64
                  " bytes, sha256 %.16s..., archived %s from host '%s'; this one: %zu bytes, sha256 %.16s...); "
                  "refusing to overwrite it",
                  name, old.size, oldSha, when, old.hostname, len, newSha);
        goto cleanup;
    }
    if (!walEncode(repo, &h, data, len, &stored, err) ||
        !storagePut(repoStorage(repo), obj, stored.data, stored.len, err))
        goto cleanup;
    result->outcome = WAL_PUSH_STORED;
    result->storedBytes = stored.len;
    ok = true;
cleanup:
    lbBufFree(&stored);
    return ok;
}

bool walPush(Repo *repo, const char *name, const uint8_t *data, size_t len, WalPushResult *result, LbError *err) {
    return pushMode(repo, name, data, len, false, result, err);
}

bool walPushStreamedPartial(Repo *repo, const char *name, const uint8_t *data, size_t len, WalPushResult *result,
                            LbError *err) {
    WalName wn;
    if (!walNameParse(name, &wn) || wn.kind != WAL_FILE_PARTIAL || wn.streamedBytes == 0)
        return lbErr(err, LB_ERR_ARGS, "unable to store '%s': not the name of a streamed partial", name);
    return pushMode(repo, name, data, len, true, result, err);
}

bool walFetch(Repo *repo, const char *name, LbBuf *out, WalHeader *header, LbError *err) {
    char obj[WAL_NAME_MAX + 8];
    LbBuf stored = {0}, framed = {0};
    bool ok = false, complete = false;
    size_t bodyAt = 0, outStart = out->len;
    WalName wn;
    if (!walNameParse(name, &wn))
        return lbErr(err, LB_ERR_ARGS, "unable to fetch '%s': not the name of a WAL file", name);
    objectName(name, obj, sizeof(obj));
    StorageInfo info;
    if (!storageStat(repoStorage(repo), obj, &info, err))
        goto cleanup;
    if (!info.exists) {
        lbErr(err, LB_ERR_NOT_FOUND, "'%s' is not in the repository", name);
        goto cleanup;
    }
    if (!storageGet(repoStorage(repo), obj, 0, 0, &stored, err)) {
        if (err->code == LB_ERR_NOT_FOUND)
            lbErr(err, LB_ERR_NOT_FOUND, "'%s' is not in the repository", name);
        goto cleanup;
    }
    if (!decodeHeader(repo, obj, stored.data, stored.len, header, &bodyAt, &complete, err))
        goto cleanup;
    if (!complete) {
        lbErr(err, LB_ERR_CORRUPT, "object '%s' is damaged: it is shorter than its header", obj);
        goto cleanup;
    }
    if (strcmp(header->name, name) != 0) {
        lbErr(err, LB_ERR_CORRUPT, "object '%s' is damaged: it holds '%s'", obj, header->name);
        goto cleanup;
    }
    if (!cryptoOpen(repoKeys(repo)->dataKey, stored.data + bodyAt, stored.len - bodyAt, &framed, err)) {
        lbErrorWrap(err, "object '%s' is damaged", obj);
        goto cleanup;
    }
    if (framed.len >= 1 && framed.data[0] == 0) {
        lbBufAppend(out, framed.data + 1, framed.len - 1);
    } else if (framed.len >= 5 && framed.data[0] == 1) {
        if (!compressDecompress(framed.data + 5, framed.len - 5, lbGetU32(framed.data + 1), out, err)) {
            lbErrorWrap(err, "object '%s' is damaged", obj);
            goto cleanup;
        }
    } else {
        lbErr(err, LB_ERR_FORMAT, "object '%s' has an unknown framing", obj);
        goto cleanup;
    }
    LbId sha;
    /* an empty file leaves out->data NULL: no pointer arithmetic on it */
    cryptoSha256(out->len > outStart ? out->data + outStart : (const uint8_t *)"", out->len - outStart, &sha);
    if (out->len - outStart != header->size || !lbIdEqual(&sha, &header->sha256)) {
        lbErr(err, LB_ERR_CORRUPT, "object '%s' is damaged: its content does not match its checksum", obj);
        goto cleanup;
    }
    ok = true;
cleanup:
    if (!ok)
        out->len = outStart;
    lbBufFree(&stored);
    lbBufFree(&framed);
    return ok;
}

bool walReadFile(const char *path, LbBuf *out, LbError *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lbErrSys(err, "unable to read '%s'", path);
    struct stat st;
    bool ok = false;
    if (fstat(fd, &st) != 0) {
        lbErrSys(err, "unable to read '%s'", path);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        lbErr(err, LB_ERR_ARGS, "unable to read '%s': not a regular file", path);
        goto cleanup;
    }
    /* the expected size exactly (a power of two for segments), then
     * whatever a growing file still holds */
    lbBufReserve(out, (size_t)st.st_size);
    for (;;) {
        uint8_t extra[8192];
        bool room = out->cap > out->len;
        ssize_t r = room ? read(fd, out->data + out->len, out->cap - out->len) : read(fd, extra, sizeof(extra));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            lbErrSys(err, "unable to read '%s'", path);
            goto cleanup;
        }
        if (r == 0)
            break;
        if (room)
            out->len += (size_t)r;
        else
            lbBufAppend(out, extra, (size_t)r);
    }
    ok = true;
cleanup:
    close(fd);
    return ok;
}
