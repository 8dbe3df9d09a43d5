/* basebackup.c - pg_basebackup as one tar stream, parsed on its way to the archiver. */
#include "pg/basebackup.h"
#include "pg/bbstandby.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "pg/pgproc.h"
#include "pg/wal.h"
#include "source/stream.h"

#define TAR_BLOCK 512
#define COPY_BUF (1024 * 1024)
#define LABEL_MAX (64 * 1024)
/* keep at most this much of the manifest: its WAL range is at the end */
#define MANIFEST_KEEP (4 * 1024 * 1024)

/* Incremental tar parser: fed arbitrary slices of the stream. */
typedef struct TarScan {
    uint8_t header[TAR_BLOCK];
    size_t headerFill;
    uint64_t dataLeft; /* bytes of the current member's data still to come */
    uint64_t padLeft;  /* padding after it */
    LbBuf *capture;    /* where the current member's data goes, or NULL */
    int zeroBlocks;    /* consecutive all-zero header blocks */
    bool ended;        /* saw the two zero blocks that end an archive */
    bool bad;          /* a header with a wrong checksum */
    uint64_t entries;
    LbBuf label, manifest;
} TarScan;

struct Basebackup {
    PgConn *conn;
    PgProc *proc;
    BasebackupInfo info;
    int pgOut;           /* read end of pg_basebackup's stdout (reader thread) */
    int streamRead;      /* read end handed to the archiver */
    int streamWrite;     /* write end, owned by the reader thread while it runs */
    SourceStream stream; /* base.tar read from streamRead */
    StreamSource source;
    pthread_t reader;
    bool readerRunning;
    TarScan scan;
    uint64_t bytes;
    int readErrno, writeErrno;
};

/* ---- tar ---- */

Source basebackupSource(Basebackup *bb) {
    return streamSourceSource(&bb->source);
}

static uint64_t tarNumber(const uint8_t *p, size_t n) {
    if (p[0] & 0x80) { /* base-256, as pg_basebackup writes sizes over 8 GiB */
        uint64_t v = p[0] & 0x7f;
        for (size_t i = 1; i < n; i++)
            v = (v << 8) | p[i];
        return v;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n && p[i]; i++) {
        if (p[i] == ' ')
            continue;
        if (p[i] < '0' || p[i] > '7')
            break;
        v = v * 8 + (uint64_t)(p[i] - '0');
    }
    return v;
}

static bool tarChecksumOk(const uint8_t *h) {
    uint64_t want = tarNumber(h + 148, 8), sum = 0;
    for (int i = 0; i < TAR_BLOCK; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == want;
}

static void tarHeader(TarScan *t) {
    const uint8_t *h = t->header;
    bool zero = true;
    for (int i = 0; i < TAR_BLOCK && zero; i++)
        zero = h[i] == 0;
    if (zero) {
        if (++t->zeroBlocks >= 2)
            t->ended = true;
        return;
    }
    t->zeroBlocks = 0;
    if (t->ended || !tarChecksumOk(h)) {
        t->bad = true;
        return;
    }
    char name[101];
    memcpy(name, h, 100);
    name[100] = '\0';
    const char *base = strncmp(name, "./", 2) == 0 ? name + 2 : name;
    uint64_t size = tarNumber(h + 124, 12);
    char type = (char)h[156];
    t->entries++;
    t->dataLeft = size;
    t->padLeft = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
    t->capture = NULL;
    if (type == '0' || type == '\0') {
        if (strcmp(base, "backup_label") == 0) {
            t->capture = &t->label;
            t->label.len = 0;
        } else if (strcmp(base, "backup_manifest") == 0) {
            t->capture = &t->manifest;
            t->manifest.len = 0;
        }
    }
}

static void tarFeed(TarScan *t, const uint8_t *p, size_t n) {
    while (n > 0) {
        if (t->dataLeft > 0) {
            size_t k = t->dataLeft < n ? (size_t)t->dataLeft : n;
            if (t->capture == &t->label && t->label.len + k <= LABEL_MAX) {
                lbBufAppend(&t->label, p, k);
            } else if (t->capture == &t->manifest) {
                lbBufAppend(&t->manifest, p, k);
                if (t->manifest.len > 2 * MANIFEST_KEEP) {
                    memmove(t->manifest.data, t->manifest.data + t->manifest.len - MANIFEST_KEEP, MANIFEST_KEEP);
                    t->manifest.len = MANIFEST_KEEP;
                }
            }
            t->dataLeft -= k;
            p += k;
            n -= k;
            continue;
        }
        if (t->padLeft > 0) {
            size_t k = t->padLeft < n ? (size_t)t->padLeft : n;
            t->padLeft -= k;
            p += k;
            n -= k;
            continue;
        }
        size_t k = TAR_BLOCK - t->headerFill;
        if (k > n)
            k = n;
        memcpy(t->header + t->headerFill, p, k);
        t->headerFill += k;
        p += k;
        n -= k;
        if (t->headerFill == TAR_BLOCK) {
            t->headerFill = 0;
            tarHeader(t);
        }
    }
}

/* ---- the reader thread: pg_basebackup -> tar scan -> archiver ---- */

static bool writeAll(int fd, const uint8_t *p, size_t n, int *errnoOut) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            *errnoOut = errno;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void *readerMain(void *arg) {
    Basebackup *bb = arg;
    uint8_t *buf = lbXmalloc(COPY_BUF);
    for (;;) {
        ssize_t r = read(bb->pgOut, buf, COPY_BUF);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            bb->readErrno = errno;
            break;
        }
        if (r == 0)
            break;
        tarFeed(&bb->scan, buf, (size_t)r);
        bb->bytes += (uint64_t)r;
        if (!writeAll(bb->streamWrite, buf, (size_t)r, &bb->writeErrno))
            break; /* the archiver stopped reading: pg_basebackup gets EPIPE via our closed pipe */
    }
    free(buf);
    /* closing both ends tells the archiver "end of stream" and pg_basebackup
     * "nobody reads any more" */
    close(bb->streamWrite);
    bb->streamWrite = -1;
    close(bb->pgOut);
    bb->pgOut = -1;
    return NULL;
}

/* ---- backup_label and backup_manifest ---- */

static const char *lineValue(const char *text, size_t len, const char *key, char *out, size_t n) {
    size_t kl = strlen(key);
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if ((size_t)(le - p) > kl && memcmp(p, key, kl) == 0) {
            const char *v = p + kl;
            while (v < le && *v == ' ')
                v++;
            size_t vl = (size_t)(le - v);
            if (vl >= n)
                vl = n - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return out;
        }
        p = nl ? nl + 1 : end;
    }
    return NULL;
}

bool basebackupParseLabel(const char *text, size_t len, BasebackupInfo *info, LbError *err) {
    char v[256];
    if (lineValue(text, len, "START WAL LOCATION:", v, sizeof(v)) == NULL)
        return lbErr(err, LB_ERR_FORMAT, "backup_label has no START WAL LOCATION");
    v[strcspn(v, " ")] = '\0';
    if (!walLsnParse(v, &info->startLsn))
        return lbErr(err, LB_ERR_FORMAT, "backup_label has an invalid START WAL LOCATION '%s'", v);
    if (lineValue(text, len, "START TIMELINE:", v, sizeof(v)) == NULL)
        return lbErr(err, LB_ERR_FORMAT, "backup_label has no START TIMELINE");
    info->startTimeline = (uint32_t)strtoul(v, NULL, 10);
    if (info->startTimeline == 0)
        return lbErr(err, LB_ERR_FORMAT, "backup_label has an invalid START TIMELINE '%s'", v);
    if (lineValue(text, len, "LABEL:", v, sizeof(v)) != NULL)
        snprintf(info->label, sizeof(info->label), "%.127s", v);
    if (lineValue(text, len, "BACKUP FROM:", v, sizeof(v)) != NULL)
        info->fromStandby = strcmp(v, "standby") == 0;
    return true;
}

bool basebackupParseManifestTail(const char *text, size_t len, uint64_t *stopLsn, uint32_t *stopTimeline) {
    /* "WAL-Ranges": [ {"Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100"} ],
     * near the end of the manifest: wrap that member in braces and parse it */
    static const char key[] = "\"WAL-Ranges\"";
    const char *at = NULL;
    for (const char *p = text; p + sizeof(key) - 1 <= text + len;) {
        const char *hit = memmem(p, (size_t)(text + len - p), key, sizeof(key) - 1);
        if (hit == NULL)
            break;
        at = hit;
        p = hit + 1;
    }
    if (at == NULL)
        return false;
    const char *close = memchr(at, ']', (size_t)(text + len - at));
    if (close == NULL)
        return false;
    LbBuf b = {0};
    lbBufAppendStr(&b, "{");
    lbBufAppend(&b, at, (size_t)(close - at + 1));
    lbBufAppendStr(&b, "}");
    json_t *o = json_loadb((const char *)b.data, b.len, 0, NULL);
    lbBufFree(&b);
    json_t *ranges = json_object_get(o, "WAL-Ranges");
    bool ok = false;
    size_t n = json_array_size(ranges);
    if (n > 0) {
        json_t *last = json_array_get(ranges, n - 1);
        const char *end = json_string_value(json_object_get(last, "End-LSN"));
        json_t *tli = json_object_get(last, "Timeline");
        if (end && walLsnParse(end, stopLsn) && json_is_integer(tli)) {
            *stopTimeline = (uint32_t)json_integer_value(tli);
            ok = true;
        }
    }
    json_decref(o);
    return ok;
}

/* ---- server queries ---- */

static bool queryRow(PgConn *conn, const char *sql, int nCols, char **vals, LbError *err) {
    PGresult *res = pgconnQuery(conn, sql, 0, NULL, err);
    if (res == NULL)
        return false;
    bool ok = PQntuples(res) == 1 && PQnfields(res) >= nCols;
    if (!ok)
        lbErr(err, LB_ERR_GENERIC, "unexpected result from PostgreSQL");
    for (int i = 0; ok && i < nCols; i++)
        vals[i] = lbXstrdup(PQgetisnull(res, 0, i) ? "" : PQgetvalue(res, 0, i));
    PQclear(res);
    return ok;
}

static void freeRow(char **vals, int n) {
    for (int i = 0; i < n; i++) {
        free(vals[i]);
        vals[i] = NULL;
    }
}

static bool serverBefore(Basebackup *bb, bool walNone, LbError *err) {
    enum { NCOL = 8 };
    char *v[NCOL] = {0};
    bool ok = false;
    if (pgconnServerVersionNum(bb->conn) < 100000) {
        lbErr(err, LB_ERR_GENERIC, "unable to take a base backup: PostgreSQL %s is too old (10 or newer is needed)",
              pgconnServerVersion(bb->conn));
        goto cleanup;
    }
    if (!queryRow(bb->conn,
                  "SELECT (SELECT system_identifier FROM pg_control_system())::text,"
                  " (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'),"
                  " (SELECT unit FROM pg_settings WHERE name = 'wal_segment_size'),"
                  " pg_is_in_recovery()::text, current_setting('archive_mode'),"
                  " (SELECT count(*) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global'))::text,"
                  " (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text,"
                  " (SELECT timeline_id FROM pg_control_checkpoint())::text",
                  NCOL, v, err)) {
        lbErrorWrap(err, "unable to take a base backup");
        goto cleanup;
    }
    BasebackupInfo *in = &bb->info;
    snprintf(in->serverVersion, sizeof(in->serverVersion), "%s", pgconnServerVersion(bb->conn));
    in->serverVersionNum = pgconnServerVersionNum(bb->conn);
    in->systemId = strtoull(v[0], NULL, 10);
    in->walSegmentSize = strtoull(v[1], NULL, 10);
    if (strcmp(v[2], "8kB") == 0) /* PostgreSQL 10 reports it in WAL blocks */
        in->walSegmentSize *= 8192;
    if (in->walSegmentSize == 0)
        in->walSegmentSize = 16u << 20;
    in->fromStandby = strcmp(v[3], "true") == 0;
    snprintf(in->archiveMode, sizeof(in->archiveMode), "%s", v[4]);
    long spaces = strtol(v[5], NULL, 10);
    in->startNs = strtoll(v[6], NULL, 10) * 1000;
    in->startTimeline = (uint32_t)strtoul(v[7], NULL, 10);
    if (spaces > 0) {
        lbErr(err, LB_ERR_GENERIC,
              "unable to take a base backup: the cluster has %ld tablespace(s) besides pg_default and pg_global, "
              "and pg_basebackup can stream only a single tablespace as one tar. HINT: Move them into the data "
              "directory's default tablespace, or back them up with pg_basebackup -Ft into a directory and "
              "'lifeboat backup DIR'.",
              spaces);
        goto cleanup;
    }
    if (strcmp(in->archiveMode, "off") == 0) {
        if (walNone) {
            lbErr(err, LB_ERR_ARGS,
                  "unable to take a base backup with --wal-method none: archive_mode is off, so the WAL it needs "
                  "would be nowhere");
            goto cleanup;
        }
        lbLogWarn("archive_mode is off: this base backup restores only to its own end; point-in-time recovery "
                  "needs archive_mode = on and archive_command = 'lifeboat wal-push %%p'");
    }
    ok = true;
cleanup:
    freeRow(v, NCOL);
    return ok;
}

static bool serverAfter(Basebackup *bb, LbError *err) {
    enum { NCOL = 4 };
    char *v[NCOL] = {0};
    BasebackupInfo *in = &bb->info;
    bool ok = queryRow(bb->conn,
                       "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text,"
                       " txid_snapshot_xmax(txid_current_snapshot())::text,"
                       " CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text"
                       " ELSE pg_current_wal_lsn()::text END,"
                       " (SELECT timeline_id FROM pg_control_checkpoint())::text",
                       NCOL, v, err);
    if (!ok) {
        lbErrorWrap(err, "unable to read the end of the base backup from the server");
        goto cleanup;
    }
    in->stopNs = strtoll(v[0], NULL, 10) * 1000;
    in->nextXidAtStop = strtoull(v[1], NULL, 10);
    if (!in->stopFromManifest) {
        uint64_t lsn = 0;
        if (!walLsnParse(v[2], &lsn)) {
            ok = lbErr(err, LB_ERR_GENERIC, "unable to read the server's WAL position '%s'", v[2]);
            goto cleanup;
        }
        /* an upper bound of the backup's end: safe for choosing a backup */
        in->stopLsn = lsn;
        in->stopTimeline = (uint32_t)strtoul(v[3], NULL, 10);
    }
cleanup:
    freeRow(v, NCOL);
    return ok;
}

/* A standby: its primary must be given for --wal-method none (else the
 * backup's last segment is archived only when the primary fills it). */
static bool standbyBefore(Basebackup *bb, const BasebackupOptions *opts, LbError *err) {
    if (!bb->info.fromStandby) {
        if (opts->primary)
            lbLogWarn("--pg-primary is not needed: --pg names a primary, which switches and archives WAL itself");
        return true;
    }
    if (opts->primary)
        return bbStandbyCheckPrimary(opts->primary, &bb->info, err);
    if (opts->walNone)
        return lbErr(err, LB_ERR_ARGS,
                     "unable to take a base backup with --wal-method none from a standby without --pg-primary: a "
                     "standby cannot switch WAL, so the backup's last segment would be archived only when the "
                     "primary fills it, and the backup would not restore until then. HINT: Give --pg-primary "
                     "CONNINFO (pg_switch_wal() is called there and lifeboat waits until the segment is archived).");
    lbLogWarn("backup from a standby without --pg-primary: its last WAL segment is archived only when the primary "
              "finishes it, so point-in-time recovery past its end waits until then");
    return true;
}

/* ---- start / finish ---- */

Basebackup *basebackupStart(const BasebackupOptions *opts, int *streamFd, LbError *err) {
    Basebackup *bb = lbXcalloc(1, sizeof(*bb));
    bb->pgOut = bb->streamRead = bb->streamWrite = -1;
    char *path = NULL, *connStr = NULL, **env = NULL;
    int outPipe[2] = {-1, -1}, streamPipe[2] = {-1, -1};
    bool ok = false;
    bb->conn = pgconnOpen(opts->conn, err);
    if (bb->conn == NULL || !serverBefore(bb, opts->walNone, err) || !standbyBefore(bb, opts, err))
        goto cleanup;
    path = pgprocFind(opts->pgBin, "pg_basebackup", err);
    if (path == NULL)
        goto cleanup;
    if (pipe2(outPipe, O_CLOEXEC) != 0 || pipe2(streamPipe, O_CLOEXEC) != 0) {
        lbErrSys(err, "unable to create a pipe");
        goto cleanup;
    }
    /* 1 MiB pipes: fewer wake-ups between pg_basebackup, the tar reader and
     * the chunker (the default 64 KiB stays if the system refuses) */
    (void)fcntl(outPipe[1], F_SETPIPE_SZ, 1024 * 1024);
    (void)fcntl(streamPipe[1], F_SETPIPE_SZ, 1024 * 1024);
    connStr = pgconnInfoChildString(opts->conn);
    env = pgconnInfoChildEnv(opts->conn);
    char label[160];
    snprintf(label, sizeof(label), "%s", opts->label ? opts->label : "lifeboat");
    char *argv[16];
    int n = 0;
    argv[n++] = "pg_basebackup";
    argv[n++] = "-D";
    argv[n++] = "-";
    argv[n++] = "-Ft";
    argv[n++] = opts->walNone ? "-Xnone" : "-Xfetch";
    argv[n++] = opts->spreadCheckpoint ? "--checkpoint=spread" : "--checkpoint=fast";
    argv[n++] = "--no-password";
    argv[n++] = "-l";
    argv[n++] = label;
    if (connStr[0]) {
        argv[n++] = "-d";
        argv[n++] = connStr;
    }
    argv[n] = NULL;
    bb->info.walIncluded = !opts->walNone;
    bb->proc = pgprocStartP(path, argv, err, .stdoutFd = outPipe[1], .envp = env,
                            .secret = pgconnInfoGet(opts->conn, "password"));
    if (bb->proc == NULL)
        goto cleanup;
    close(outPipe[1]);
    outPipe[1] = -1;
    bb->pgOut = outPipe[0];
    outPipe[0] = -1;
    bb->streamRead = streamPipe[0];
    bb->streamWrite = streamPipe[1];
    streamPipe[0] = streamPipe[1] = -1;
    if (pthread_create(&bb->reader, NULL, readerMain, bb) != 0) {
        lbErr(err, LB_ERR_GENERIC, "unable to start a thread");
        goto cleanup;
    }
    bb->readerRunning = true;
    *streamFd = bb->streamRead;
    bb->stream = (SourceStream){.name = BASEBACKUP_STREAM_NAME, .fd = bb->streamRead, .mode = 0600};
    bb->source = (StreamSource){.streams = &bb->stream, .count = 1};
    ok = true;
cleanup:
    for (int i = 0; i < 2; i++) {
        if (outPipe[i] >= 0)
            close(outPipe[i]);
        if (streamPipe[i] >= 0)
            close(streamPipe[i]);
    }
    free(path);
    free(connStr);
    if (env)
        pgconnEnvFree(env);
    if (!ok) {
        basebackupFree(bb);
        bb = NULL;
    }
    return bb;
}

bool basebackupFinish(Basebackup *bb, BasebackupInfo *info, LbError *err) {
    bool ok = false;
    if (bb->readerRunning) {
        pthread_join(bb->reader, NULL);
        bb->readerRunning = false;
    }
    if (!pgprocWait(bb->proc, err)) {
        lbErrorWrap(err, "unable to take a base backup");
        goto cleanup;
    }
    if (bb->readErrno) {
        errno = bb->readErrno;
        lbErrSys(err, "unable to read the output of pg_basebackup");
        goto cleanup;
    }
    if (bb->writeErrno) {
        errno = bb->writeErrno;
        lbErrSys(err, "unable to pass the base backup on");
        goto cleanup;
    }
    TarScan *t = &bb->scan;
    if (t->bad || !t->ended || t->dataLeft > 0 || t->label.len == 0) {
        lbErr(err, LB_ERR_FORMAT,
              "unable to take a base backup: the tar from pg_basebackup is incomplete or damaged (%s)",
              t->bad              ? "a damaged header"
              : t->label.len == 0 ? "no backup_label"
                                  : "no end-of-archive marker");
        goto cleanup;
    }
    BasebackupInfo *in = &bb->info;
    in->tarBytes = bb->bytes;
    in->tarEntries = t->entries;
    if (!basebackupParseLabel((const char *)t->label.data, t->label.len, in, err)) {
        lbErrorWrap(err, "unable to read the base backup's start");
        goto cleanup;
    }
    in->haveManifest = t->manifest.len > 0;
    if (in->haveManifest)
        in->stopFromManifest = basebackupParseManifestTail((const char *)t->manifest.data, t->manifest.len,
                                                           &in->stopLsn, &in->stopTimeline);
    if (!serverAfter(bb, err))
        goto cleanup;
    *info = *in;
    ok = true;
cleanup:
    return ok;
}

void basebackupFree(Basebackup *bb) {
    if (bb == NULL)
        return;
    /* unblock the reader: it fails writing to a pipe nobody reads, and
     * reading from a pg_basebackup that is gone */
    if (bb->streamRead >= 0)
        close(bb->streamRead);
    if (bb->readerRunning && bb->proc && pgprocPid(bb->proc) > 0)
        kill(pgprocPid(bb->proc), SIGTERM);
    if (bb->readerRunning)
        pthread_join(bb->reader, NULL);
    if (bb->pgOut >= 0)
        close(bb->pgOut);
    if (bb->streamWrite >= 0)
        close(bb->streamWrite);
    pgprocFree(bb->proc);
    pgconnClose(bb->conn);
    lbBufFree(&bb->scan.label);
    lbBufFree(&bb->scan.manifest);
    free(bb);
}

/* ---- snapshot metadata ---- */

static void setLsn(json_t *o, const char *key, uint64_t lsn) {
    char t[32];
    walLsnFormat(lsn, t, sizeof(t));
    json_object_set_new(o, key, json_string(t));
}

static void setTime(json_t *o, const char *key, int64_t ns) {
    char t[48];
    lbFormatTimeNs(ns, t, sizeof(t));
    json_object_set_new(o, key, json_string(t));
}

static void setU64Text(json_t *o, const char *key, uint64_t v) {
    char t[32];
    snprintf(t, sizeof(t), "%" PRIu64, v);
    json_object_set_new(o, key, json_string(t));
}

json_t *basebackupInfoToJson(const BasebackupInfo *in) {
    json_t *o = json_object();
    char wal[32];
    json_object_set_new(o, "kind", json_string(BASEBACKUP_META_KIND));
    json_object_set_new(o, "stream", json_string(BASEBACKUP_STREAM_NAME));
    json_object_set_new(o, "format", json_string("tar"));
    json_object_set_new(o, "server_version", json_string(in->serverVersion));
    json_object_set_new(o, "server_version_num", json_integer(in->serverVersionNum));
    setU64Text(o, "system_identifier", in->systemId);
    json_object_set_new(o, "wal_segment_size", json_integer((json_int_t)in->walSegmentSize));
    json_object_set_new(o, "from_standby", json_boolean(in->fromStandby));
    json_object_set_new(o, "archive_mode", json_string(in->archiveMode));
    json_object_set_new(o, "wal_included", json_boolean(in->walIncluded));
    json_object_set_new(o, "timeline", json_integer(in->startTimeline));
    json_object_set_new(o, "stop_timeline", json_integer(in->stopTimeline));
    setLsn(o, "start_lsn", in->startLsn);
    setLsn(o, "stop_lsn", in->stopLsn);
    walSegmentName(in->startTimeline, in->startLsn, in->walSegmentSize, wal, sizeof(wal));
    json_object_set_new(o, "start_wal", json_string(wal));
    /* the segment holding the last byte of the backup's WAL */
    walSegmentName(in->stopTimeline, in->stopLsn > 0 ? in->stopLsn - 1 : 0, in->walSegmentSize, wal, sizeof(wal));
    json_object_set_new(o, "stop_wal", json_string(wal));
    json_object_set_new(o, "stop_lsn_source", json_string(in->stopFromManifest ? "manifest" : "server"));
    setTime(o, "start_time", in->startNs);
    setTime(o, "stop_time", in->stopNs);
    setU64Text(o, "next_xid_at_stop", in->nextXidAtStop);
    json_object_set_new(o, "label", json_string(in->label));
    json_object_set_new(o, "manifest", json_boolean(in->haveManifest));
    json_object_set_new(o, "tar_bytes", json_integer((json_int_t)in->tarBytes));
    json_object_set_new(o, "tar_entries", json_integer((json_int_t)in->tarEntries));
    return o;
}

static bool getLsn(const json_t *o, const char *key, uint64_t *out) {
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL && walLsnParse(s, out);
}

static bool getTime(const json_t *o, const char *key, int64_t *out) {
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL && lbParseTime(s, out);
}

static uint64_t getU64Text(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strtoull(s, NULL, 10) : 0;
}

bool basebackupInfoFromJson(const json_t *meta, BasebackupInfo *in, LbError *err) {
    memset(in, 0, sizeof(*in));
    const char *kind = json_string_value(json_object_get(meta, "kind"));
    if (kind == NULL || strcmp(kind, BASEBACKUP_META_KIND) != 0)
        return lbErr(err, LB_ERR_FORMAT, "not a physical PostgreSQL backup");
    if (!getLsn(meta, "start_lsn", &in->startLsn) || !getLsn(meta, "stop_lsn", &in->stopLsn) ||
        !getTime(meta, "start_time", &in->startNs) || !getTime(meta, "stop_time", &in->stopNs))
        return lbErr(err, LB_ERR_FORMAT, "physical backup metadata misses its start or stop");
    const char *v = json_string_value(json_object_get(meta, "server_version"));
    snprintf(in->serverVersion, sizeof(in->serverVersion), "%s", v ? v : "");
    in->serverVersionNum = (int)json_integer_value(json_object_get(meta, "server_version_num"));
    in->systemId = getU64Text(meta, "system_identifier");
    in->walSegmentSize = (uint64_t)json_integer_value(json_object_get(meta, "wal_segment_size"));
    /* PostgreSQL's segment size is a power of two from 1 MiB to 1 GiB (0:
     * not recorded, the default 16 MiB applies); anything else would make
     * every WAL name computed from it wrong (or divide by zero) */
    uint64_t ss = in->walSegmentSize;
    if (ss != 0 && (ss < (UINT64_C(1) << 20) || ss > (UINT64_C(1) << 30) || (ss & (ss - 1)) != 0))
        return lbErr(err, LB_ERR_FORMAT, "physical backup metadata has an invalid wal_segment_size %" PRIu64, ss);
    in->fromStandby = json_is_true(json_object_get(meta, "from_standby"));
    v = json_string_value(json_object_get(meta, "archive_mode"));
    snprintf(in->archiveMode, sizeof(in->archiveMode), "%s", v ? v : "");
    in->walIncluded = json_is_true(json_object_get(meta, "wal_included"));
    in->startTimeline = (uint32_t)json_integer_value(json_object_get(meta, "timeline"));
    in->stopTimeline = (uint32_t)json_integer_value(json_object_get(meta, "stop_timeline"));
    v = json_string_value(json_object_get(meta, "stop_lsn_source"));
    in->stopFromManifest = v != NULL && strcmp(v, "manifest") == 0;
    in->nextXidAtStop = getU64Text(meta, "next_xid_at_stop");
    v = json_string_value(json_object_get(meta, "label"));
    snprintf(in->label, sizeof(in->label), "%s", v ? v : "");
    in->haveManifest = json_is_true(json_object_get(meta, "manifest"));
    in->tarBytes = (uint64_t)json_integer_value(json_object_get(meta, "tar_bytes"));
    in->tarEntries = (uint64_t)json_integer_value(json_object_get(meta, "tar_entries"));
    return true;
}
