/* s3_driver.c - the Storage members (put, get, list, remove, stat) over the client, and storageS3New. */
#include "storage/s3/s3_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static bool s3Stat(void *driver, const char *name, StorageInfo *info, LbError *err) {
    S3Client *c = driver;
    info->exists = false;
    info->size = 0;
    if (!storageNameCheck(name, err))
        return false;
    char *key = s3Key(c, name);
    bool ok = s3Head(c, key, "stat", info, NULL, err);
    free(key);
    return ok;
}

static bool s3Get(void *driver, const char *name, uint64_t offset, uint64_t length, LbBuf *out, LbError *err) {
    S3Client *c = driver;
    if (!storageNameCheck(name, err))
        return false;
    char *key = s3Key(c, name);
    bool ok = s3GetKey(c, key, offset, length, out, NULL, err);
    free(key);
    return ok;
}

/* Delete name; a missing object or bucket is success. */
static bool s3Remove(void *driver, const char *name, LbError *err) {
    S3Client *c = driver;
    if (!storageNameCheck(name, err))
        return false;
    char *key = s3Key(c, name);
    S3Request req = {.method = "DELETE", .key = key};
    S3Response resp;
    bool ok = s3Perform(c, &req, &resp);
    if (!ok)
        s3Fail(c, err, "remove", key, &resp);
    else if (!s3Is2xx(resp.status) && resp.status != 404)
        ok = s3Fail(c, err, "remove", key, &resp);
    s3ResponseFree(&resp);
    free(key);
    return ok;
}

typedef struct S3NameLister {
    const char *keyPrefix;
    size_t strip;
    StorageListCb cb;
    void *ctx;
} S3NameLister;

/* keys that are not valid object names (foreign objects under the prefix)
 * are skipped */
static bool s3ListName(void *ctx, S3ObjectEntry *e) {
    S3NameLister *l = ctx;
    if (strlen(e->key) < l->strip || strncmp(e->key, l->keyPrefix, strlen(l->keyPrefix)) != 0)
        return true;
    const char *name = e->key + l->strip;
    return !storageNameValid(name) || l->cb(l->ctx, name, e->size);
}

/* Call cb for every object whose name starts with prefix (s3ListKeys). A
 * missing bucket is an empty list. */
static bool s3List(void *driver, const char *prefix, StorageListCb cb, void *ctx, LbError *err) {
    S3Client *c = driver;
    if (!storagePrefixValid(prefix))
        return lbErr(err, LB_ERR_ARGS, "unable to list prefix '%s': not a relative path of [A-Za-z0-9._-] segments",
                     prefix ? prefix : "(null)");
    char *keyPrefix = c->prefix[0] ? lbXasprintf("%s/%s", c->prefix, prefix) : lbXstrdup(prefix);
    S3NameLister l = {keyPrefix, c->prefix[0] ? strlen(c->prefix) + 1 : 0, cb, ctx};
    bool ok = s3ListKeys(c, keyPrefix, NULL, true, s3ListName, &l, err);
    free(keyPrefix);
    return ok;
}

static bool s3Put(void *driver, const char *name, const uint8_t *data, size_t len, LbError *err) {
    S3Client *c = driver;
    if (!storageNameCheck(name, err))
        return false;
    char *key = s3Key(c, name);
    S3PutSource src = {.data = data, .len = len};
    bool ok = s3PutKey(c, key, &src, err);
    free(key);
    return ok;
}

static void s3DriverFree(void *driver) {
    s3ClientFree(driver);
}

static const StorageInterface s3Interface = {
    .name = "s3",
    .put = s3Put,
    .get = s3Get,
    .list = s3List,
    .remove = s3Remove,
    .stat = s3Stat,
    .free = s3DriverFree,
};

Storage *storageS3New(const char *location, const StorageS3Options *opts, LbError *err) {
    S3Client *c = s3ClientNew(location, opts, err);
    if (c == NULL)
        return NULL;
    return storageNewDriver(&s3Interface, c, location);
}
