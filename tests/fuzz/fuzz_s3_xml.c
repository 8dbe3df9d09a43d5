/*
 * fuzz_s3_xml.c - the XML answers of an S3 server, parsed by the driver
 * (src/storage/s3/): ListObjectsV2 pages, error documents, DeleteObjects
 * results, ListMultipartUploads pages and InitiateMultipartUpload results.
 *
 * The callbacks that read each answer are static in s3_list.c,
 * s3_object.c and s3_multipart.c and only reached through requests to a
 * server: this file includes those three files to call them directly
 * (the library's copies are then not linked).
 *
 * Input: a mode byte, then the response body:
 *   0: a ListObjectsV2 page, read as s3ListKeys does (keys url-decoded,
 *      the continuation token encoded into the next query);
 *   1: an error document (s3ParseError, s3NoSuchBucket on a 404);
 *   2: a DeleteObjects result;  3: a ListMultipartUploads page;
 *   4: an InitiateMultipartUpload result.
 */
#include "storage/s3/s3_list.c"
#include "storage/s3/s3_multipart.c"
#include "storage/s3/s3_object.c"

#include "fuzz.h"

static void listPage(const uint8_t *data, size_t size) {
    S3ObjectPage page = {0};
    if (s3XmlParse(data, size, s3ObjectXmlCb, &page) && page.sawRoot) {
        for (size_t i = 0; i < page.count; i++) {
            size_t before = strlen(page.entries[i].key);
            if (page.urlEncoded)
                s3UrlDecodeInPlace(page.entries[i].key);
            if (strlen(page.entries[i].key) > before || page.entries[i].etag == NULL)
                abort();
        }
        if (page.token != NULL) {
            LbBuf q = {0};
            sigv4UriEncodeAppend(&q, page.token, strlen(page.token), false);
            lbBufFree(&q);
        }
    }
    s3ObjectPageFree(&page);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    if (data[0] == 0) {
        listPage(body, len);
    } else if (data[0] == 1) {
        S3Response resp;
        memset(&resp, 0, sizeof(resp));
        resp.status = 404;
        lbBufAppend(&resp.body, body, len);
        S3ErrorInfo e;
        s3ParseError(&resp, &e);
        if (strnlen(e.code, sizeof(e.code)) == sizeof(e.code) ||
            strnlen(e.message, sizeof(e.message)) == sizeof(e.message))
            abort();
        (void)s3NoSuchBucket(&resp);
        lbBufFree(&resp.body);
    } else if (data[0] == 2) {
        S3DeleteXml x;
        memset(&x, 0, sizeof(x));
        (void)s3XmlParse(body, len, s3DeleteXmlCb, &x);
        free(x.failedKey);
        free(x.curKey);
    } else if (data[0] == 3) {
        S3UploadsXml x = {0};
        (void)s3XmlParse(body, len, s3UploadsXmlCb, &x);
        free(x.nextKey);
        free(x.nextUpload);
    } else if (data[0] == 4) {
        S3InitXml x = {0};
        (void)s3XmlParse(body, len, s3InitXmlCb, &x);
        free(x.uploadId);
    }
    return 0;
}
