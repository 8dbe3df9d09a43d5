/*
 * s3_xml.h - the expat helpers: a streaming parser calling back with each element's path and text, XML escaping, and S3
 * error documents.
 *
 * Part of the S3 driver; only its files include this (through s3_internal.h).
 */
#ifndef LIFEBOAT_STORAGE_S3_S3_XML_H
#define LIFEBOAT_STORAGE_S3_S3_XML_H

#include "storage/s3/s3_internal.h"

/* Called at the end of every element with its path from the root
 * ("ListBucketResult/Contents/Key") and its text content. */
typedef void (*S3XmlEndCb)(void *ctx, const char *path, const char *text, size_t textLen);

/* XML-escape s into out. */
void s3XmlEscapeAppend(LbBuf *out, const char *s);

/* Parse an XML document, calling cb at each element's end. Returns false for
 * a malformed document (nothing is recorded: the caller words the error). */
bool s3XmlParse(const uint8_t *data, size_t len, S3XmlEndCb cb, void *ctx);

/* The error document in resp's body, if any (fields stay empty otherwise). */
void s3ParseError(const S3Response *resp, S3ErrorInfo *e);

#endif
