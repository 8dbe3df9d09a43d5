/* cache.c - the local cache's place and bound, from the environment (repo/cache.h). */
#include "repo/cache.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "storage/wrap/cache.h"

Storage *repoCacheWrap(Storage *storage, const char *repoId) {
    /* remote drivers only: not a local disk, nor the test harness's mem */
    if (strcmp(storageDriverName(storage), "s3") != 0 || strspn(repoId, "0123456789abcdef") != strlen(repoId))
        return storage; /* the ID becomes a path: hex only */
    const char *off = getenv("LIFEBOAT_NO_CACHE");
    if (off != NULL && off[0] != '\0' && strcmp(off, "0") != 0)
        return storage;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char *dir = NULL;
    if (xdg != NULL && xdg[0] == '/') /* the XDG rule: a relative path is ignored */
        dir = lbXasprintf("%s/lifeboat/%s", xdg, repoId);
    else if (home != NULL && home[0] == '/')
        dir = lbXasprintf("%s/.cache/lifeboat/%s", home, repoId);
    if (dir == NULL)
        return storage;
    StorageCacheOptions opts = {.dir = dir};
    const char *max = getenv("LIFEBOAT_CACHE_MAX");
    if (max != NULL && max[0] != '\0' && !lbParseSize(max, &opts.maxBytes)) {
        lbLogWarn("LIFEBOAT_CACHE_MAX '%s' is not a size (e.g. 512M, 2G): using the default", max);
        opts.maxBytes = 0;
    }
    Storage *wrapped = storageCacheNew(storage, &opts);
    free(dir);
    return wrapped;
}
