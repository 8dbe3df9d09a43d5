/* s3_xml.c - the expat helpers: a streaming parser calling back with each element's path and text, XML escaping, and S3
 * error documents. */
#include "storage/s3/s3_internal.h"

#include <stdio.h>
#include <string.h>

#include "common/buf.h"

/* XML-escape s into out. */
void s3XmlEscapeAppend(LbBuf *out, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&':
            lbBufAppendStr(out, "&amp;");
            break;
        case '<':
            lbBufAppendStr(out, "&lt;");
            break;
        case '>':
            lbBufAppendStr(out, "&gt;");
            break;
        case '"':
            lbBufAppendStr(out, "&quot;");
            break;
        case '\'':
            lbBufAppendStr(out, "&apos;");
            break;
        default:
            lbBufAppend(out, s, 1);
        }
    }
}

/***********************************************************************************************************************
 * XML (expat): the few documents S3 answers with
 **********************************************************************************************************************/

typedef struct S3XmlState {
    LbBuf path; /* NUL-terminated element path */
    LbBuf text; /* text of the innermost element */
    S3XmlEndCb cb;
    void *ctx;
} S3XmlState;

static void XMLCALL s3XmlStart(void *userData, const XML_Char *name, const XML_Char **atts) {
    (void)atts;
    S3XmlState *st = userData;
    if (st->path.len > 0) {
        st->path.data[st->path.len - 1] = '/'; /* the NUL becomes the separator */
    }
    lbBufAppendStr(&st->path, name);
    lbBufAppend(&st->path, "", 1);
    lbBufClear(&st->text);
}

static void XMLCALL s3XmlEnd(void *userData, const XML_Char *name) {
    (void)name;
    S3XmlState *st = userData;
    lbBufAppend(&st->text, "", 1);
    st->cb(st->ctx, (const char *)st->path.data, (const char *)st->text.data, st->text.len - 1);
    lbBufClear(&st->text);
    /* pop the last element */
    char *p = (char *)st->path.data;
    char *slash = strrchr(p, '/');
    if (slash != NULL) {
        *slash = '\0';
        st->path.len = (size_t)(slash - p) + 1;
    } else {
        p[0] = '\0';
        st->path.len = 0;
    }
}

static void XMLCALL s3XmlChars(void *userData, const XML_Char *s, int len) {
    S3XmlState *st = userData;
    if (len > 0 && st->text.len + (size_t)len < S3_SMALL_BODY_MAX)
        lbBufAppend(&st->text, s, (size_t)len);
}

/* Parse an XML document, calling cb at each element's end. Returns false for
 * a malformed document (nothing is recorded: the caller words the error). */
bool s3XmlParse(const uint8_t *data, size_t len, S3XmlEndCb cb, void *ctx) {
    XML_Parser p = XML_ParserCreate("UTF-8");
    if (p == NULL)
        return false;
    S3XmlState st = {.cb = cb, .ctx = ctx};
    XML_SetUserData(p, &st);
    XML_SetElementHandler(p, s3XmlStart, s3XmlEnd);
    XML_SetCharacterDataHandler(p, s3XmlChars);
    bool ok = len <= (size_t)INT32_MAX && XML_Parse(p, (const char *)data, (int)len, 1) == XML_STATUS_OK;
    XML_ParserFree(p);
    lbBufFree(&st.path);
    lbBufFree(&st.text);
    return ok;
}

static void s3ErrorXmlCb(void *ctx, const char *path, const char *text, size_t len) {
    S3ErrorInfo *e = ctx;
    if (strcmp(path, "Error/Code") == 0)
        s3CopyText(e->code, sizeof(e->code), text, len);
    else if (strcmp(path, "Error/Message") == 0)
        s3CopyText(e->message, sizeof(e->message), text, len);
    else if (strcmp(path, "Error/Region") == 0)
        s3CopyText(e->region, sizeof(e->region), text, len);
}

/* The error document in resp's body, if any (fields stay empty otherwise). */
void s3ParseError(const S3Response *resp, S3ErrorInfo *e) {
    memset(e, 0, sizeof(*e));
    if (resp->body.len > 0)
        (void)s3XmlParse(resp->body.data, resp->body.len, s3ErrorXmlCb, e);
    if (e->region[0] == '\0' && resp->bucketRegion[0] != '\0')
        snprintf(e->region, sizeof(e->region), "%s", resp->bucketRegion);
}
