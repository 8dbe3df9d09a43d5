/*
 * fuzz_s3_http.c - the response headers of an S3 server, read by the
 * driver's libcurl header callback (src/storage/s3/s3_http.c): status
 * lines, Content-Length, Content-Range, ETag, x-amz-bucket-region,
 * Last-Modified (an HTTP date) and object metadata headers.
 *
 * The callback is static in s3_http.c and only reached through a request
 * to a server: this file includes s3_http.c to call it directly (the
 * library's copy is then not linked).
 *
 * Input: header lines separated by '\n', each handed to the callback as
 * libcurl does (with its line end), for a GET of an object into a buffer.
 */
#include "storage/s3/s3_http.c"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    S3Response resp;
    memset(&resp, 0, sizeof(resp));
    LbBuf out = {0};
    S3ObjectInfo info;
    memset(&info, 0, sizeof(info));
    resp.out = &out;
    resp.info = &info;
    size_t at = 0;
    while (at < size) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) + 1 : size - at;
        char *line = fuzzCString(data + at, len); /* libcurl's buffer is not NUL-terminated: ASan sees overreads */
        if (s3HeaderCb(line, 1, len, &resp) != len)
            abort();
        free(line);
        at += len;
    }
    s3ObjectInfoClear(&info);
    lbBufFree(&out);
    s3ResponseFree(&resp);
    return 0;
}
