/*
 * compress.c - zstd compression for blobs: compress only where it pays.
 *
 * Each thread keeps one ZSTD_CCtx and one ZSTD_DCtx, created on first use and
 * freed by a pthread key destructor when the thread exits (and, for the thread
 * that calls exit(), by an atexit handler).
 *
 * Incompressible data (already compressed files, encrypted data, media) is
 * common in backups and zstd on it is pure waste, so inputs larger than
 * COMPRESS_SAMPLE_MIN are first judged on a sample: COMPRESS_SAMPLE_SLICES
 * slices of COMPRESS_SAMPLE_SLICE bytes spread evenly through the input,
 * compressed at level 1. Unless the sample shrinks by at least 1/64, the whole
 * input is not tried. The sample is lenient (1/64 against the final 1/32)
 * because short slices hide matches a full compression would find.
 */
#include "compress/compress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#define COMPRESS_SAMPLE_MIN (64 * 1024)
#define COMPRESS_SAMPLE_SLICES 8
#define COMPRESS_SAMPLE_SLICE (4 * 1024)
#define COMPRESS_UNSIZED_STEP (1u << 20) /* output step for frames without a size */
#define COMPRESS_SAMPLE_LEN (COMPRESS_SAMPLE_SLICES * COMPRESS_SAMPLE_SLICE)
#define COMPRESS_SAMPLE_LEVEL 1

typedef struct CompressThread {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    uint8_t *sample;    /* COMPRESS_SAMPLE_LEN bytes gathered from the input */
    uint8_t *sampleOut; /* ZSTD_compressBound(COMPRESS_SAMPLE_LEN) bytes */
} CompressThread;

static pthread_once_t compressOnce = PTHREAD_ONCE_INIT;
static pthread_key_t compressThreadKey;
static _Thread_local CompressThread *compressThread;

/* Free one thread's contexts and buffers; NULL is a no-op. */
static void compressThreadFree(void *p) {
    CompressThread *t = p;
    if (t == NULL)
        return;
    if (compressThread == t)
        compressThread = NULL;
    ZSTD_freeCCtx(t->cctx);
    ZSTD_freeDCtx(t->dctx);
    free(t->sample);
    free(t->sampleOut);
    free(t);
}

/* atexit: pthread key destructors do not run for the thread calling exit(). */
static void compressAtExit(void) {
    CompressThread *t = compressThread;
    if (t == NULL)
        return;
    pthread_setspecific(compressThreadKey, NULL);
    compressThreadFree(t);
}

/* Once per process: the thread key and the atexit handler. Aborts on failure. */
static void compressGlobalInit(void) {
    if (pthread_key_create(&compressThreadKey, compressThreadFree) != 0) {
        fprintf(stderr, "lifeboat: fatal: unable to create thread key for compression\n");
        abort();
    }
    atexit(compressAtExit);
}

/* The calling thread's contexts, created on first use. Aborts when zstd
 * cannot allocate them, like lbXmalloc. */
static CompressThread *compressThreadGet(void) {
    CompressThread *t = compressThread;
    if (t != NULL)
        return t;
    pthread_once(&compressOnce, compressGlobalInit);
    t = lbXcalloc(1, sizeof(*t));
    t->cctx = ZSTD_createCCtx();
    t->dctx = ZSTD_createDCtx();
    if (t->cctx == NULL || t->dctx == NULL || pthread_setspecific(compressThreadKey, t) != 0) {
        fprintf(stderr, "lifeboat: fatal: unable to create zstd contexts\n");
        abort();
    }
    compressThread = t;
    return t;
}

/* True when a sample of in[0..len) compresses by at least 1/64 at level 1.
 * A zstd error counts as "does not compress". */
static bool compressSampleShrinks(CompressThread *t, const uint8_t *in, size_t len) {
    if (t->sample == NULL) {
        t->sample = lbXmalloc(COMPRESS_SAMPLE_LEN);
        t->sampleOut = lbXmalloc(ZSTD_compressBound(COMPRESS_SAMPLE_LEN));
    }
    size_t step = (len - COMPRESS_SAMPLE_SLICE) / (COMPRESS_SAMPLE_SLICES - 1);
    for (size_t i = 0; i < COMPRESS_SAMPLE_SLICES; i++)
        memcpy(t->sample + i * COMPRESS_SAMPLE_SLICE, in + i * step, COMPRESS_SAMPLE_SLICE);
    size_t n = ZSTD_compressCCtx(t->cctx, t->sampleOut, ZSTD_compressBound(COMPRESS_SAMPLE_LEN), t->sample,
                                 COMPRESS_SAMPLE_LEN, COMPRESS_SAMPLE_LEVEL);
    return !ZSTD_isError(n) && n <= COMPRESS_SAMPLE_LEN - COMPRESS_SAMPLE_LEN / 64;
}

/* Compresses straight into out's spare capacity and counts the bytes only
 * when the result is at least 1/32 smaller than the input. */
bool compressMaybe(const uint8_t *in, size_t len, int level, LbBuf *out) {
    if (len == 0)
        return false;
    CompressThread *t = compressThreadGet();
    if (len > COMPRESS_SAMPLE_MIN && !compressSampleShrinks(t, in, len))
        return false;
    size_t bound = ZSTD_compressBound(len);
    if (ZSTD_isError(bound))
        return false;
    lbBufReserve(out, bound);
    size_t n = ZSTD_compressCCtx(t->cctx, out->data + out->len, bound, in, len, level);
    if (ZSTD_isError(n) || n > len - len / 32)
        return false;
    out->len += n;
    return true;
}

/* A frame that does not record its size (not written by lifeboat, whose
 * single-shot compression records it): stream it out in steps, so that
 * rawLen, which comes from the index and may be damaged, is a limit and not
 * an allocation; more or fewer bytes than rawLen is corruption. */
static bool compressDecompressUnsized(CompressThread *t, const uint8_t *in, size_t len, size_t rawLen, LbBuf *out,
                                      LbError *err) {
    size_t before = out->len;
    ZSTD_DCtx_reset(t->dctx, ZSTD_reset_session_only);
    ZSTD_inBuffer src = {in, len, 0};
    for (;;) {
        size_t produced = out->len - before;
        size_t left = rawLen - produced;
        /* one byte more than may come: a frame longer than rawLen shows */
        size_t step = (left < COMPRESS_UNSIZED_STEP ? left : COMPRESS_UNSIZED_STEP) + 1;
        lbBufReserve(out, step);
        ZSTD_outBuffer dst = {out->data + out->len, step, 0};
        size_t r = ZSTD_decompressStream(t->dctx, &dst, &src);
        if (ZSTD_isError(r)) {
            ZSTD_DCtx_reset(t->dctx, ZSTD_reset_session_only);
            out->len = before;
            return lbErr(err, LB_ERR_CORRUPT, "unable to decompress blob: %s", ZSTD_getErrorName(r));
        }
        out->len += dst.pos;
        if (out->len - before > rawLen || (r != 0 && dst.pos == 0 && src.pos == src.size)) {
            ZSTD_DCtx_reset(t->dctx, ZSTD_reset_session_only);
            size_t got = out->len - before;
            out->len = before;
            return lbErr(err, LB_ERR_CORRUPT, "unable to decompress blob: %s, expected %zu bytes",
                         got > rawLen ? "the frame holds more" : "the frame ends early", rawLen);
        }
        if (r == 0)
            break;
    }
    if (out->len - before != rawLen) {
        size_t got = out->len - before;
        out->len = before;
        return lbErr(err, LB_ERR_CORRUPT, "unable to decompress blob: got %zu bytes, expected %zu", got, rawLen);
    }
    return true;
}

/* Checks that in is exactly one frame whose declared size (when the frame
 * declares one) is rawLen before allocating, then that decompression yields
 * exactly rawLen bytes. On failure nothing is counted as appended to out. */
bool compressDecompress(const uint8_t *in, size_t len, size_t rawLen, LbBuf *out, LbError *err) {
    unsigned long long declared = ZSTD_getFrameContentSize(in, len);
    if (declared == ZSTD_CONTENTSIZE_ERROR)
        return lbErr(err, LB_ERR_CORRUPT, "unable to decompress blob: not a zstd frame");
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != (unsigned long long)rawLen)
        return lbErr(err, LB_ERR_CORRUPT, "unable to decompress blob: frame holds %llu bytes, expected %zu", declared,
                     rawLen);
    size_t frameLen = ZSTD_findFrameCompressedSize(in, len);
    if (ZSTD_isError(frameLen))
        return lbErr(err, LB_ERR_CORRUPT, "unable to decompress blob: %s", ZSTD_getErrorName(frameLen));
    if (frameLen != len)
        return lbErr(err, LB_ERR_CORRUPT, "unable to decompress blob: %zu bytes follow the zstd frame", len - frameLen);

    CompressThread *t = compressThreadGet();
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN)
        return compressDecompressUnsized(t, in, len, rawLen, out, err);
    lbBufReserve(out, rawLen);
    uint8_t *dst = rawLen > 0 ? out->data + out->len : NULL;
    size_t n = ZSTD_decompressDCtx(t->dctx, dst, rawLen, in, len);
    if (ZSTD_isError(n)) {
        ZSTD_DCtx_reset(t->dctx, ZSTD_reset_session_only);
        return lbErr(err, LB_ERR_CORRUPT, "unable to decompress blob: %s", ZSTD_getErrorName(n));
    }
    if (n != rawLen)
        return lbErr(err, LB_ERR_CORRUPT, "unable to decompress blob: got %zu bytes, expected %zu", n, rawLen);
    out->len += n;
    return true;
}
