/* list.c - object listings of a repository: IDs of a folder, packs with
 * their sizes, an ID from a unique prefix (repo/repo.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo/repo.h"

typedef struct IdList {
    LbId *ids;
    size_t count, cap;
} IdList;

static bool collectId(void *ctx, const char *name, uint64_t size) {
    (void)size;
    IdList *l = ctx;
    const char *slash = strrchr(name, '/');
    LbId id;
    if (!lbIdFromHex(slash ? slash + 1 : name, &id))
        return true;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->ids = lbXrealloc(l->ids, l->cap * sizeof(LbId));
    }
    l->ids[l->count++] = id;
    return true;
}

bool repoListIds(Repo *repo, const char *dir, LbId **ids, size_t *count, LbError *err) {
    IdList l = {0};
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%s/", dir);
    if (!storageList(repoStorage(repo), prefix, collectId, &l, err)) {
        free(l.ids);
        return false;
    }
    *ids = l.ids;
    *count = l.count;
    return true;
}

static bool collectPack(void *ctx, const char *name, uint64_t size) {
    RepoPackList *l = ctx;
    const char *slash = strrchr(name, '/');
    LbId id;
    if (!lbIdFromHex(slash ? slash + 1 : name, &id))
        return true;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->items = lbXrealloc(l->items, l->cap * sizeof(*l->items));
    }
    l->items[l->count].id = id;
    l->items[l->count++].size = size;
    return true;
}

static int cmpPack(const void *a, const void *b) {
    return lbIdCompare(&((const struct RepoPack *)a)->id, &((const struct RepoPack *)b)->id);
}

bool repoListPacks(Repo *repo, RepoPackList *list, LbError *err) {
    memset(list, 0, sizeof(*list));
    if (!storageList(repoStorage(repo), "data/", collectPack, list, err)) {
        free(list->items);
        memset(list, 0, sizeof(*list));
        return false;
    }
    if (list->count > 1)
        qsort(list->items, list->count, sizeof(*list->items), cmpPack);
    return true;
}

const struct RepoPack *repoPackFind(const RepoPackList *list, const LbId *id) {
    struct RepoPack key = {.id = *id};
    return list->count ? bsearch(&key, list->items, list->count, sizeof(key), cmpPack) : NULL;
}

bool repoFindId(Repo *repo, const char *dir, const char *prefix, LbId *id, LbError *err) {
    LbId *ids = NULL;
    size_t n = 0;
    if (!repoListIds(repo, dir, &ids, &n, err))
        return false;
    size_t plen = strlen(prefix), found = 0;
    for (size_t i = 0; i < n; i++) {
        char hex[LB_ID_HEX_LEN + 1];
        lbIdToHex(&ids[i], hex);
        if (plen > 0 && strncmp(hex, prefix, plen) == 0) {
            if (found++ == 0)
                *id = ids[i];
        }
    }
    free(ids);
    if (found == 0)
        return lbErr(err, LB_ERR_NOT_FOUND, "no %s object matches '%s'", dir, prefix);
    if (found > 1)
        return lbErr(err, LB_ERR_ARGS, "'%s' matches %zu %s objects: give more characters", prefix, found, dir);
    return true;
}
