/* snapshot.c - snapshot record codec and lookup. */
#include "snapshot/snapshot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonutil.h"
#include "common/log.h"
#include "common/timeutil.h"

void snapshotAddString(char ***arr, size_t *count, const char *s) {
    *arr = lbXrealloc(*arr, (*count + 1) * sizeof(char *));
    (*arr)[(*count)++] = lbXstrdup(s);
}

static void freeStrings(char **arr, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(arr[i]);
    free(arr);
}

void snapshotClear(Snapshot *s) {
    freeStrings(s->paths, s->pathCount);
    freeStrings(s->tags, s->tagCount);
    freeStrings(s->excludes, s->excludeCount);
    free(s->hostname);
    free(s->username);
    free(s->component);
    free(s->recoveryPoint);
    json_decref(s->meta);
    memset(s, 0, sizeof(*s));
}

void snapshotListFree(SnapshotList *l) {
    for (size_t i = 0; i < l->count; i++)
        snapshotClear(&l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static void readStrings(json_t *a, char ***arr, size_t *n) {
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (json_is_string(v))
            snapshotAddString(arr, n, json_string_value(v));
    }
}

json_t *snapshotToJson(const Snapshot *s, bool withId) {
    json_t *o = json_object();
    char buf[LB_ID_HEX_LEN + 1], tbuf[48];
    if (withId) {
        lbIdToHex(&s->id, buf);
        json_object_set_new(o, "id", json_string(buf));
        json_object_set_new(o, "short_id", json_stringn(buf, 8));
    }
    lbFormatTimeNs(s->timeNs, tbuf, sizeof(tbuf));
    json_object_set_new(o, "time", json_string(tbuf));
    lbIdToHex(&s->tree, buf);
    json_object_set_new(o, "tree", json_string(buf));
    json_object_set_new(o, "paths", lbJsonStrings(s->paths, s->pathCount));
    json_object_set_new(o, "hostname", json_string(s->hostname ? s->hostname : ""));
    json_object_set_new(o, "username", json_string(s->username ? s->username : ""));
    json_object_set_new(o, "uid", json_integer(s->uid));
    json_object_set_new(o, "gid", json_integer(s->gid));
    json_object_set_new(o, "tags", lbJsonStrings(s->tags, s->tagCount));
    if (s->component)
        json_object_set_new(o, "component", json_string(s->component));
    if (s->recoveryPoint)
        json_object_set_new(o, "recovery_point", json_string(s->recoveryPoint));
    if (s->hasParent) {
        lbIdToHex(&s->parent, buf);
        json_object_set_new(o, "parent", json_string(buf));
    }
    if (s->hasOriginal) {
        lbIdToHex(&s->original, buf);
        json_object_set_new(o, "original", json_string(buf));
    }
    if (s->excludeCount)
        json_object_set_new(o, "excludes", lbJsonStrings(s->excludes, s->excludeCount));
    if (s->chunkProfile != REPO_CHUNK_FILES)
        json_object_set_new(o, "chunker", json_string(repoChunkProfileName(s->chunkProfile)));
    const SnapshotSummary *m = &s->summary;
    json_t *sum = json_object();
    json_object_set_new(sum, "files_new", json_integer((json_int_t)m->filesNew));
    json_object_set_new(sum, "files_changed", json_integer((json_int_t)m->filesChanged));
    json_object_set_new(sum, "files_unmodified", json_integer((json_int_t)m->filesUnmodified));
    json_object_set_new(sum, "files_unreadable", json_integer((json_int_t)m->filesUnreadable));
    json_object_set_new(sum, "dirs_new", json_integer((json_int_t)m->dirsNew));
    json_object_set_new(sum, "dirs_changed", json_integer((json_int_t)m->dirsChanged));
    json_object_set_new(sum, "dirs_unmodified", json_integer((json_int_t)m->dirsUnmodified));
    json_object_set_new(sum, "blobs_new", json_integer((json_int_t)m->blobsNew));
    json_object_set_new(sum, "tree_blobs_new", json_integer((json_int_t)m->treeBlobsNew));
    json_object_set_new(sum, "data_added", json_integer((json_int_t)m->dataAdded));
    json_object_set_new(sum, "data_added_stored", json_integer((json_int_t)m->dataAddedStored));
    json_object_set_new(sum, "total_files", json_integer((json_int_t)m->totalFiles));
    json_object_set_new(sum, "total_bytes", json_integer((json_int_t)m->totalBytes));
    lbFormatTimeNs(m->startNs, tbuf, sizeof(tbuf));
    json_object_set_new(sum, "backup_start", json_string(tbuf));
    lbFormatTimeNs(m->endNs, tbuf, sizeof(tbuf));
    json_object_set_new(sum, "backup_end", json_string(tbuf));
    json_object_set_new(o, "summary", sum);
    if (s->meta)
        json_object_set(o, "meta", s->meta);
    return o;
}

static uint64_t u64(json_t *o, const char *k) {
    return (uint64_t)json_integer_value(json_object_get(o, k));
}

static bool snapshotFromJson(json_t *o, Snapshot *s, LbError *err) {
    const char *t = json_string_value(json_object_get(o, "time"));
    const char *tree = json_string_value(json_object_get(o, "tree"));
    if (t == NULL || !lbParseTime(t, &s->timeNs) || tree == NULL || !lbIdFromHex(tree, &s->tree))
        return lbErr(err, LB_ERR_CORRUPT, "snapshot lacks a valid time or tree");
    readStrings(json_object_get(o, "paths"), &s->paths, &s->pathCount);
    readStrings(json_object_get(o, "tags"), &s->tags, &s->tagCount);
    readStrings(json_object_get(o, "excludes"), &s->excludes, &s->excludeCount);
    const char *v;
    if ((v = json_string_value(json_object_get(o, "hostname"))))
        s->hostname = lbXstrdup(v);
    if ((v = json_string_value(json_object_get(o, "username"))))
        s->username = lbXstrdup(v);
    if ((v = json_string_value(json_object_get(o, "component"))))
        s->component = lbXstrdup(v);
    if ((v = json_string_value(json_object_get(o, "recovery_point"))))
        s->recoveryPoint = lbXstrdup(v);
    if ((v = json_string_value(json_object_get(o, "parent"))))
        s->hasParent = lbIdFromHex(v, &s->parent);
    if ((v = json_string_value(json_object_get(o, "original"))))
        s->hasOriginal = lbIdFromHex(v, &s->original);
    if ((v = json_string_value(json_object_get(o, "chunker")))) {
        if (strcmp(v, repoChunkProfileName(REPO_CHUNK_DUMP)) == 0)
            s->chunkProfile = REPO_CHUNK_DUMP;
        else if (strcmp(v, repoChunkProfileName(REPO_CHUNK_FILES)) != 0)
            return lbErr(err, LB_ERR_FORMAT, "snapshot names an unknown chunker profile '%s'", v);
    }
    s->uid = (uint32_t)u64(o, "uid");
    s->gid = (uint32_t)u64(o, "gid");
    json_t *sum = json_object_get(o, "summary");
    SnapshotSummary *m = &s->summary;
    m->filesNew = u64(sum, "files_new");
    m->filesChanged = u64(sum, "files_changed");
    m->filesUnmodified = u64(sum, "files_unmodified");
    m->filesUnreadable = u64(sum, "files_unreadable");
    m->dirsNew = u64(sum, "dirs_new");
    m->dirsChanged = u64(sum, "dirs_changed");
    m->dirsUnmodified = u64(sum, "dirs_unmodified");
    m->blobsNew = u64(sum, "blobs_new");
    m->treeBlobsNew = u64(sum, "tree_blobs_new");
    m->dataAdded = u64(sum, "data_added");
    m->dataAddedStored = u64(sum, "data_added_stored");
    m->totalFiles = u64(sum, "total_files");
    m->totalBytes = u64(sum, "total_bytes");
    if ((v = json_string_value(json_object_get(sum, "backup_start"))))
        lbParseTime(v, &m->startNs);
    if ((v = json_string_value(json_object_get(sum, "backup_end"))))
        lbParseTime(v, &m->endNs);
    json_t *meta = json_object_get(o, "meta");
    if (meta)
        s->meta = json_incref(meta);
    return true;
}

bool snapshotSave(Repo *repo, Snapshot *s, LbError *err) {
    json_t *o = snapshotToJson(s, false);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    bool ok = repoSaveUnpacked(repo, "snapshots", (const uint8_t *)text, strlen(text), &s->id, err);
    free(text);
    return ok;
}

bool snapshotLoad(Repo *repo, const LbId *id, Snapshot *s, LbError *err) {
    LbBuf plain = {0};
    memset(s, 0, sizeof(*s));
    if (!repoLoadUnpacked(repo, "snapshots", id, &plain, err)) {
        lbBufFree(&plain);
        return false;
    }
    json_error_t jerr;
    json_t *o = json_loadb((const char *)plain.data, plain.len, 0, &jerr);
    lbBufFree(&plain);
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(id, hex);
    if (o == NULL)
        return lbErr(err, LB_ERR_CORRUPT, "snapshot %.8s is not valid JSON: %s", hex, jerr.text);
    bool ok = snapshotFromJson(o, s, err);
    json_decref(o);
    if (!ok) {
        snapshotClear(s);
        return lbErrorWrap(err, "unable to read snapshot %.8s", hex);
    }
    s->id = *id;
    return true;
}

static int byTime(const void *a, const void *b) {
    const Snapshot *x = a, *y = b;
    if (x->timeNs != y->timeNs)
        return x->timeNs < y->timeNs ? -1 : 1;
    return lbIdCompare(&x->id, &y->id);
}

/* Snapshots loaded at once by snapshotLoadAllOpt: each load from an object
 * store is a round trip (about 46 ms against the test S3 server), so 1,000
 * snapshots read one after the other with a cold cache took 46 s. */
#define SNAPSHOT_LOAD_THREADS 8

typedef struct LoadAll {
    Repo *repo;
    const LbId *ids;
    size_t n;
    Snapshot *items; /* by position in ids */
    LbError **errs;  /* NULL: loaded; else the failure (owned) */
    atomic_size_t next;
    const LbLogSink *log;
} LoadAll;

static void *loadWorker(void *arg) {
    LoadAll *l = arg;
    lbLogSinkSet(l->log);
    for (size_t i; (i = atomic_fetch_add(&l->next, 1)) < l->n;) {
        LbError e = {0};
        if (!snapshotLoad(l->repo, &l->ids[i], &l->items[i], &e)) {
            l->errs[i] = lbXmalloc(sizeof(LbError));
            *l->errs[i] = e;
        }
    }
    return NULL;
}

bool snapshotLoadAllOpt(Repo *repo, SnapshotList *list, const RepoLoadOptions *opts, LbError *err) {
    LbId *ids = NULL;
    size_t n = 0;
    memset(list, 0, sizeof(*list));
    if (!repoListIds(repo, "snapshots", &ids, &n, err))
        return false;
    LoadAll l = {.repo = repo, .ids = ids, .n = n, .log = lbLogSinkGet()};
    l.items = lbXcalloc(n ? n : 1, sizeof(Snapshot));
    l.errs = lbXcalloc(n ? n : 1, sizeof(LbError *));
    atomic_init(&l.next, 0);
    pthread_t threads[SNAPSHOT_LOAD_THREADS];
    size_t started = 0;
    while (started < SNAPSHOT_LOAD_THREADS && started + 1 < n &&
           pthread_create(&threads[started], NULL, loadWorker, &l) == 0)
        started++;
    loadWorker(&l); /* this thread too (alone for one snapshot) */
    lbLogSinkSet(l.log);
    for (size_t t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    /* in listing order, as one by one: the first failure fails the load */
    list->items = l.items;
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        if (l.errs[i] == NULL) {
            if (ok)
                list->items[list->count++] = l.items[i];
            else
                snapshotClear(&l.items[i]);
        } else if (ok && opts->skipDamaged) {
            repoLoadSkip(opts, &ids[i], l.errs[i]->msg, "that snapshot is left out");
        } else if (ok) {
            if (err != NULL)
                *err = *l.errs[i];
            ok = false;
        }
        free(l.errs[i]);
    }
    free(l.errs);
    free(ids);
    if (!ok) {
        snapshotListFree(list);
        return false;
    }
    qsort(list->items, list->count, sizeof(Snapshot), byTime);
    return true;
}

bool snapshotLoadAll(Repo *repo, SnapshotList *list, LbError *err) {
    return snapshotLoadAllOpt(repo, list, &(RepoLoadOptions){0}, err);
}

static bool hasTag(const Snapshot *s, const char *tag, size_t len) {
    for (size_t k = 0; k < s->tagCount; k++)
        if (strlen(s->tags[k]) == len && strncmp(s->tags[k], tag, len) == 0)
            return true;
    return false;
}

/* every tag of the comma-separated group; an empty group: no tags at all */
static bool matchesTagGroup(const Snapshot *s, const char *group) {
    bool any = false;
    for (const char *p = group; *p;) {
        size_t n = strcspn(p, ",");
        if (n > 0 && !hasTag(s, p, n))
            return false;
        any = any || n > 0;
        p += n + (p[n] == ',');
    }
    return any || s->tagCount == 0;
}

bool snapshotMatches(const Snapshot *s, const SnapshotFilter *f) {
    if (f == NULL)
        return true;
    if (f->host && (s->hostname == NULL || strcmp(f->host, s->hostname) != 0))
        return false;
    if (f->component && (s->component == NULL || strcmp(f->component, s->component) != 0))
        return false;
    if (f->atNs && s->timeNs > f->atNs)
        return false;
    if (f->recoveryPoint && (s->recoveryPoint == NULL || strcmp(f->recoveryPoint, s->recoveryPoint) != 0))
        return false;
    for (size_t i = 0; i < f->tagCount; i++) {
        bool found = false;
        for (size_t k = 0; k < s->tagCount && !found; k++)
            found = strcmp(s->tags[k], f->tags[i]) == 0;
        if (!found)
            return false;
    }
    bool groupMatched = f->tagGroupCount == 0;
    for (size_t i = 0; i < f->tagGroupCount && !groupMatched; i++)
        groupMatched = matchesTagGroup(s, f->tagGroups[i]);
    if (!groupMatched)
        return false;
    if (f->pathCount) {
        if (f->pathCount != s->pathCount)
            return false;
        for (size_t i = 0; i < f->pathCount; i++)
            if (strcmp(f->paths[i], s->paths[i]) != 0)
                return false;
    }
    return true;
}

bool snapshotFind(Repo *repo, const char *ref, const SnapshotFilter *filter, Snapshot *out, LbError *err) {
    if (strcmp(ref, "latest") == 0) {
        SnapshotList list;
        if (!snapshotLoadAll(repo, &list, err))
            return false;
        for (size_t i = list.count; i-- > 0;) {
            if (snapshotMatches(&list.items[i], filter)) {
                *out = list.items[i];
                memset(&list.items[i], 0, sizeof(Snapshot));
                snapshotListFree(&list);
                return true;
            }
        }
        snapshotListFree(&list);
        return lbErr(err, LB_ERR_NOT_FOUND, "no snapshot matches 'latest'%s",
                     filter && (filter->host || filter->component || filter->tagCount || filter->tagGroupCount ||
                                filter->atNs || filter->recoveryPoint)
                         ? " with the given filters"
                         : "");
    }
    LbId id;
    if (!repoFindId(repo, "snapshots", ref, &id, err))
        return false;
    return snapshotLoad(repo, &id, out, err);
}
