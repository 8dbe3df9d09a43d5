/*
 * archiver.c - run sources into one snapshot: the sink sources call
 * (source/source.h), the chunking of file contents into the blob saver, and
 * the one tree builder.
 *
 * Trees stream: a directory the source has left is encoded (and freed) as
 * soon as the saver's workers have written the chunk IDs of its files, the
 * source has settled every file it added (read, unchanged or dropped: the
 * bucket reads its objects after it lists them) and its subdirectories are
 * encoded. Left directories wait in a FIFO (the walk leaves them in post-
 * order, children first); when the FIFO holds more than leftEntriesMax
 * entries the walk waits for its head. So memory holds the directories on
 * the current path, the ones a source keeps open to come back to
 * (sourceSinkKeep) and a bounded number of left ones, never the whole tree.
 * What is still open when the sources are done is encoded bottom-up at the
 * end. The chain of directories a source is in is a stack of levels, each
 * with the parent snapshot's tree of the same directory, loaded when the
 * directory is entered and freed when it is left.
 *
 * All state lives in one SourceSink per run: two runs in one process (the
 * daemon) share nothing.
 */
#include "archiver/archiver.h"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "repo/saver.h"

#define READ_BUF_SIZE (16u * 1024u * 1024u)
#define SLOT_BLOCKS 48
/* entries of left directories waiting for their chunks before the walk waits */
#define LEFT_ENTRIES_MAX_DEFAULT 65536u

/* The chunk IDs of one file, in order. Block k holds 2^k IDs, so the
 * pointers handed to the saver stay valid while the list grows. Zero-init;
 * read or free only after saverWait (workers may still be writing). */
typedef struct Slots {
    LbId *blocks[SLOT_BLOCKS];
    size_t count;
} Slots;

/* A chunker of the repository's profile feeding the saver, with its read
 * buffer; used by the walking thread only. */
typedef struct ChunkFeed {
    const Chunker *chunker;
    BlobSaver *saver;
    uint8_t *buf;
    size_t bufSize; /* at least twice the largest chunk */
} ChunkFeed;

typedef struct ADir ADir;

typedef struct AEntry {
    Node node;
    Slots *slots;          /* the chunk IDs of a read, NULL: none */
    bool dropped;          /* left out of the tree (unreadable) */
    bool settled;          /* not a file, or a file read, unchanged or dropped */
    unsigned char counted; /* 1 + the SourceFileState a read counted in the summary, 0: none */
    ADir *dir;             /* a directory not encoded yet (then freed: NULL) */
    bool hasParentTree;
    LbId parentSubtree;
} AEntry;

struct ADir {
    AEntry *entries;
    size_t count, cap;
    unsigned features;   /* SourceFeature bits of the source that made it */
    ADir *up;            /* the directory holding this one (NULL: the root) */
    size_t upIndex;      /* this one's entry in up */
    atomic_long pending; /* chunks of its files still with the saver */
    size_t unsettled;    /* files added and not settled yet */
    size_t openDirs;     /* subdirectories not encoded yet */
    bool kept;           /* a source may come back: encoded at the end */
    bool left;           /* in the FIFO of left directories */
    ADir *nextLeft;
};

/* One open directory: levels[0] is the root. */
typedef struct ALevel {
    ADir *dir;
    Tree parent; /* the parent snapshot's tree of this directory (empty: none) */
} ALevel;

typedef struct NameCache {
    uint32_t id;
    char *name;
} NameCache;

struct SourceSink {
    Repo *repo;
    const ArchiverOptions *opts;
    const Source *source; /* the one being walked */
    BlobSaver *saver;
    ChunkFeed chunker;
    ArchiverResult *result;
    ADir *root;
    ALevel *levels;
    size_t depth, levelCap;
    NameCache *users, *groups;
    size_t userCount, groupCount;
    ADir *leftHead, *leftTail; /* left directories, oldest first */
    size_t leftEntries;        /* entries they hold */
    ArchiverProgress progress;
    double lastProgress;
    bool cancelled; /* opts->cancel was seen set */
    /* the chunk IDs of reads given up (sourceSinkRetry): the saver's
     * workers may still write into them, so they are freed after it */
    Slots **discarded;
    size_t discardedCount;
};

/* Has the run been cancelled? One relaxed load while it has not. */
static bool runCancelled(SourceSink *s) {
    if (!s->cancelled && s->opts->cancel != NULL && atomic_load_explicit(s->opts->cancel, memory_order_relaxed))
        s->cancelled = true;
    return s->cancelled;
}

/***********************************************************************************************************************
 * Chunking: a byte stream is cut by the repository's chunker and each chunk
 * queued into the saver; its workers write the chunk IDs into the file's
 * slots as they finish, so the reader never waits for them
 **********************************************************************************************************************/

static LbId *slotAt(Slots *s, size_t i) {
    size_t k = 0;
    while (((size_t)2 << k) - 1 <= i)
        k++;
    size_t base = ((size_t)1 << k) - 1;
    if (s->blocks[k] == NULL)
        s->blocks[k] = lbXcalloc((size_t)1 << k, sizeof(LbId));
    return &s->blocks[k][i - base];
}

static void slotsFree(Slots *s) {
    if (s == NULL)
        return;
    for (int k = 0; k < SLOT_BLOCKS; k++)
        free(s->blocks[k]);
    free(s);
}

/* Once the saver wrote every ID: move them into node->content, freeing s. */
static void slotsTake(Slots *s, Node *n) {
    n->contentCount = s->count;
    n->content = s->count ? lbXmalloc(s->count * sizeof(LbId)) : NULL;
    for (size_t i = 0; i < s->count; i++)
        n->content[i] = *slotAt(s, i);
    slotsFree(s);
}

static void chunkFeedInit(ChunkFeed *c, Repo *repo, BlobSaver *saver, RepoChunkProfile profile) {
    c->chunker = repoChunker(repo, profile);
    c->saver = saver;
    size_t maxSize = chunkerParams(c->chunker)->maxSize;
    c->bufSize = READ_BUF_SIZE >= 2 * maxSize ? READ_BUF_SIZE : 2 * maxSize;
    c->buf = lbXmalloc(c->bufSize);
}

/* Read a stream to its end through read, cut it into chunks and queue them;
 * their IDs land in slots, and *pending counts them until they do. *bytesRead is what was read. On a read failure
 * returns false with *why: the chunks queued so far stay harmlessly
 * unreferenced, and slots must still be cleared after saverWait. */
static bool chunkStream(ChunkFeed *c, SourceReadFn readFn, void *readCtx, Slots *slots, atomic_long *pending,
                        uint64_t *bytesRead, const char **why) {
    const Chunker *ch = c->chunker;
    size_t start = 0, end = 0;
    bool eof = false;
    *bytesRead = 0;
    for (;;) {
        /* cut while the buffer holds a whole chunk: chunkerNext answers 0
         * when the rest may still grow into a longer one */
        size_t n = start < end ? chunkerNext(ch, c->buf + start, end - start, eof) : 0;
        if (n == 0) {
            if (eof)
                return true;
            /* only the unfinished tail moves to the front (the buffer holds
             * at least two maximal chunks, so a whole one always fits) */
            if (start > 0) {
                memmove(c->buf, c->buf + start, end - start);
                end -= start;
                start = 0;
            }
            while (!eof && end < c->bufSize) {
                ssize_t r = readFn(readCtx, c->buf + end, c->bufSize - end, why);
                if (r < 0)
                    return false;
                if (r == 0)
                    eof = true;
                end += (size_t)r;
                *bytesRead += (uint64_t)r;
            }
            continue;
        }
        uint8_t *copy = lbXmalloc(n);
        memcpy(copy, c->buf + start, n);
        LbId *slot = slotAt(slots, slots->count++);
        atomic_fetch_add(pending, 1);
        saverSubmitTake(c->saver, BLOB_DATA, copy, n, slot, pending);
        start += n;
    }
}

/***********************************************************************************************************************
 * The tree being built
 **********************************************************************************************************************/

static AEntry *dirAppend(ADir *d) {
    if (d->count == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->entries = lbXrealloc(d->entries, d->cap * sizeof(AEntry));
    }
    AEntry *e = &d->entries[d->count++];
    memset(e, 0, sizeof(*e));
    e->settled = true;
    return e;
}

static ADir *dirNew(ADir *up, size_t upIndex, unsigned features) {
    ADir *d = lbXcalloc(1, sizeof(ADir));
    d->up = up;
    d->upIndex = upIndex;
    d->features = features;
    atomic_init(&d->pending, 0);
    if (up != NULL)
        up->openDirs++;
    return d;
}

static void dirFree(ADir *d) {
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->count; i++) {
        AEntry *e = &d->entries[i];
        nodeClear(&e->node);
        slotsFree(e->slots);
        dirFree(e->dir);
    }
    free(d->entries);
    free(d);
}

static AEntry *dirFind(ADir *d, const char *name) {
    for (size_t i = 0; i < d->count; i++)
        if (!d->entries[i].dropped && strcmp(d->entries[i].node.name, name) == 0)
            return &d->entries[i];
    return NULL;
}

static bool loadTree(SourceSink *s, const LbId *id, Tree *t) {
    LbBuf plain = {0};
    LbError err = {0};
    bool ok = repoLoadBlob(s->repo, BLOB_TREE, id, &plain, &err) && treeDecode(plain.data, plain.len, t, &err);
    lbBufFree(&plain);
    if (!ok) {
        lbLogWarn("unable to load parent tree (reading everything below it): %s", err.msg);
        treeFree(t);
    }
    return ok;
}

static ALevel *current(SourceSink *s) {
    return &s->levels[s->depth - 1];
}

/* Push e (a directory entry of the current directory) as the new current
 * level, with the parent snapshot's tree of it. */
static void pushLevel(SourceSink *s, AEntry *e) {
    if (s->depth == s->levelCap) {
        s->levelCap *= 2;
        s->levels = lbXrealloc(s->levels, s->levelCap * sizeof(ALevel));
    }
    ALevel *l = &s->levels[s->depth++];
    memset(l, 0, sizeof(*l));
    l->dir = e->dir;
    if (e->hasParentTree)
        loadTree(s, &e->parentSubtree, &l->parent);
}

void sourceSinkEnter(SourceSink *s, Node *node) {
    ALevel *up = current(s);
    const Node *pn = treeFind(&up->parent, node->name);
    AEntry *e = dirAppend(up->dir);
    e->node = *node; /* taken */
    memset(node, 0, sizeof(*node));
    e->node.type = NODE_DIR;
    e->dir = dirNew(up->dir, up->dir->count - 1, s->source ? s->source->interface->features : 0);
    if (pn != NULL && pn->type == NODE_DIR) {
        e->hasParentTree = true;
        e->parentSubtree = pn->subtree;
    }
    pushLevel(s, e);
}

bool sourceSinkReenter(SourceSink *s, const char *name) {
    AEntry *e = dirFind(current(s)->dir, name);
    if (e == NULL || e->dir == NULL || e->dir->left)
        return false; /* not a directory, or one encoded already (not kept) */
    pushLevel(s, e);
    return true;
}

void sourceSinkKeep(SourceSink *s) {
    current(s)->dir->kept = true;
}

Node *sourceSinkNode(SourceSink *s, SourceRef ref) {
    (void)s;
    return &((ADir *)ref.dir)->entries[ref.index].node;
}

static void finishLeft(SourceSink *s);

void sourceSinkLeave(SourceSink *s) {
    if (s->depth <= 1)
        return;
    ALevel *l = &s->levels[--s->depth];
    treeFree(&l->parent);
    ADir *d = l->dir;
    memset(l, 0, sizeof(*l));
    if (d->kept)
        return;
    d->left = true;
    if (s->leftTail != NULL)
        s->leftTail->nextLeft = d;
    else
        s->leftHead = d;
    s->leftTail = d;
    s->leftEntries += d->count;
    finishLeft(s);
}

const Node *sourceSinkParent(SourceSink *s, const char *name) {
    const Node *pn = treeFind(&current(s)->parent, name);
    /* a parent file whose data left the index (a lost pack dropped by
     * 'repair index') is no parent: the file is read and stored again */
    if (pn != NULL && pn->type == NODE_FILE && repoIndexLoaded(s->repo)) {
        for (size_t k = 0; k < pn->contentCount; k++)
            if (!indexHas(repoIndex(s->repo), &pn->content[k], BLOB_DATA))
                return NULL;
    }
    return pn;
}

bool sourceSinkHas(SourceSink *s, const char *name) {
    return dirFind(current(s)->dir, name) != NULL;
}

bool sourceSinkForce(const SourceSink *s) {
    return s->opts->force;
}

SourceRef sourceSinkAdd(SourceSink *s, Node *node) {
    ADir *dir = current(s)->dir;
    AEntry *e = dirAppend(dir);
    e->node = *node; /* taken */
    memset(node, 0, sizeof(*node));
    if (e->node.type == NODE_FILE) {
        s->progress.filesDone++;
        e->settled = false;
        dir->unsettled++;
    }
    return (SourceRef){dir, dir->count - 1};
}

static AEntry *entryOf(SourceRef ref) {
    return &((ADir *)ref.dir)->entries[ref.index];
}

/* The source is done with ref's file (or, unsettled, will read it again). */
static void settle(SourceRef ref, bool settled) {
    AEntry *e = entryOf(ref);
    if (e->settled == settled)
        return;
    e->settled = settled;
    if (settled)
        ((ADir *)ref.dir)->unsettled--;
    else
        ((ADir *)ref.dir)->unsettled++;
}

/* A source's reader, counting bytes for the progress line. */
typedef struct SinkReader {
    SourceReadFn read;
    void *ctx;
    SourceSink *sink;
} SinkReader;

static ssize_t sinkRead(void *ctx, uint8_t *buf, size_t cap, const char **why) {
    SinkReader *r = ctx;
    if (runCancelled(r->sink)) {
        *why = "cancelled";
        return -1;
    }
    ssize_t n = r->read(r->ctx, buf, cap, why);
    if (n > 0)
        r->sink->progress.bytesDone += (uint64_t)n;
    return n;
}

bool sourceSinkRead(SourceSink *s, SourceRef ref, SourceReadFn read, void *readCtx, SourceFileState state,
                    uint64_t *bytesRead, const char **why) {
    AEntry *e = entryOf(ref);
    SinkReader r = {read, readCtx, s};
    uint64_t got = 0;
    if (e->slots == NULL)
        e->slots = lbXcalloc(1, sizeof(Slots));
    bool ok = chunkStream(&s->chunker, sinkRead, &r, e->slots, &((ADir *)ref.dir)->pending, &got, why);
    if (bytesRead != NULL)
        *bytesRead = got;
    if (!ok)
        return false;
    e = entryOf(ref);
    e->node.size = got; /* what was read is what the snapshot holds */
    e->counted = (unsigned char)(1 + state);
    settle(ref, true);
    SnapshotSummary *sum = &s->result->summary;
    if (state == SOURCE_FILE_CHANGED)
        sum->filesChanged++;
    else
        sum->filesNew++;
    sum->totalFiles++;
    sum->totalBytes += got;
    return true;
}

void sourceSinkRetry(SourceSink *s, SourceRef ref) {
    AEntry *e = entryOf(ref);
    if (e->slots != NULL) {
        /* the workers' pointers into the blocks stay valid until the end */
        s->discarded = lbXrealloc(s->discarded, (s->discardedCount + 1) * sizeof(Slots *));
        s->discarded[s->discardedCount++] = e->slots;
        e->slots = NULL;
    }
    settle(ref, false);
    if (e->counted != 0) {
        SnapshotSummary *sum = &s->result->summary;
        if (e->counted == 1 + SOURCE_FILE_CHANGED)
            sum->filesChanged--;
        else
            sum->filesNew--;
        sum->totalFiles--;
        sum->totalBytes -= e->node.size;
        s->progress.bytesDone -= e->node.size;
        e->counted = 0;
    }
}

void sourceSinkChanged(SourceSink *s, const char *path) {
    if (s->cancelled)
        return; /* the run fails anyway */
    ArchiverResult *r = s->result;
    r->changed = lbXrealloc(r->changed, (r->changedCount + 1) * sizeof(char *));
    r->changed[r->changedCount++] = lbXstrdup(path);
    char *shown = lbPrintableDup(path);
    lbLogWarn("file '%s' changed while it was read, twice: the snapshot holds the second read, which may mix old and "
              "new bytes",
              shown);
    free(shown);
}

void sourceSinkUnchanged(SourceSink *s, SourceRef ref, const Node *pn) {
    Node *n = &entryOf(ref)->node;
    n->contentCount = pn->contentCount;
    if (n->contentCount > 0) {
        n->content = lbXmalloc(n->contentCount * sizeof(LbId));
        memcpy(n->content, pn->content, n->contentCount * sizeof(LbId));
    }
    settle(ref, true);
    SnapshotSummary *sum = &s->result->summary;
    sum->filesUnmodified++;
    sum->totalFiles++;
    sum->totalBytes += n->size;
    s->progress.bytesDone += n->size;
}

void sourceSinkUnreadable(SourceSink *s, const char *path, const char *reason) {
    if (s->cancelled)
        return; /* the run fails anyway */
    ArchiverResult *r = s->result;
    r->unreadable = lbXrealloc(r->unreadable, (r->unreadableCount + 1) * sizeof(char *));
    r->unreadable[r->unreadableCount++] = lbXasprintf("%s: %s", path, reason);
    r->summary.filesUnreadable++;
    char *shown = lbPrintableDup(path);
    lbLogWarn("unable to read '%s': %s", shown, reason);
    free(shown);
}

void sourceSinkDrop(SourceSink *s, SourceRef ref, const char *path, const char *reason) {
    AEntry *e = entryOf(ref);
    e->dropped = true; /* its slots are freed once the saver is done with them */
    settle(ref, true);
    if (reason != NULL)
        sourceSinkUnreadable(s, path, reason);
}

void sourceSinkAddPath(SourceSink *s, const char *path) {
    ArchiverResult *r = s->result;
    r->paths = lbXrealloc(r->paths, (r->pathCount + 1) * sizeof(char *));
    r->paths[r->pathCount++] = lbXstrdup(path);
}

static const char *cachedName(NameCache **cache, size_t *count, uint32_t id, bool user) {
    for (size_t i = 0; i < *count; i++)
        if ((*cache)[i].id == id)
            return (*cache)[i].name;
    char *name = NULL;
    char text[4096]; /* the _r lookups: runs may go on in several threads */
    if (user) {
        struct passwd pwBuf, *pw = NULL;
        if (getpwuid_r(id, &pwBuf, text, sizeof(text), &pw) == 0 && pw)
            name = lbXstrdup(pw->pw_name);
    } else {
        struct group grBuf, *gr = NULL;
        if (getgrgid_r(id, &grBuf, text, sizeof(text), &gr) == 0 && gr)
            name = lbXstrdup(gr->gr_name);
    }
    *cache = lbXrealloc(*cache, (*count + 1) * sizeof(NameCache));
    (*cache)[*count] = (NameCache){id, name};
    (*count)++;
    return name;
}

void sourceSinkSetOwner(SourceSink *s, Node *n, uint32_t uid, uint32_t gid) {
    n->uid = uid;
    n->gid = gid;
    const char *u = cachedName(&s->users, &s->userCount, uid, true);
    const char *g = cachedName(&s->groups, &s->groupCount, gid, false);
    n->user = u ? lbXstrdup(u) : NULL;
    n->group = g ? lbXstrdup(g) : NULL;
}

static void reportProgress(SourceSink *s, const char *path, bool force) {
    if (s->opts->progress == NULL)
        return;
    double now = lbMonotonicSeconds();
    if (!force && now - s->lastProgress < 0.2)
        return;
    s->lastProgress = now;
    s->progress.currentPath = path;
    const SourceInterface *si = s->source ? s->source->interface : NULL;
    if (si != NULL && si->totals != NULL) {
        si->totals(s->source->driver, &s->progress.filesTotal, &s->progress.bytesTotal);
    } else if (si != NULL && (si->features & SOURCE_FEATURE_TOTALS_SO_FAR)) {
        s->progress.filesTotal = s->progress.filesDone;
        s->progress.bytesTotal = s->progress.bytesDone;
    }
    s->opts->progress(s->opts->progressCtx, &s->progress);
}

void sourceSinkProgress(SourceSink *s, const char *path) {
    reportProgress(s, path, false);
}

bool sourceSinkWantsProgress(const SourceSink *s) {
    return s->opts->progress != NULL;
}

bool sourceSinkFailed(SourceSink *s) {
    return runCancelled(s) || saverFailed(s->saver);
}

bool sourceSinkCancelled(SourceSink *s) {
    return runCancelled(s);
}

/***********************************************************************************************************************
 * Trees, bottom-up: a directory as soon as it is complete, the rest at the end
 **********************************************************************************************************************/

/* Encode dir, whose subdirectories are all encoded and whose files' chunk
 * IDs are all written, and queue its tree blob; *id gets its ID and *newest
 * the newest mtime below it. The entries are moved out. */
static void encodeDir(SourceSink *s, ADir *dir, LbId *id, int64_t *newest) {
    Tree t = {0};
    *newest = 0;
    for (size_t i = 0; i < dir->count; i++) {
        AEntry *e = &dir->entries[i];
        if (e->dropped) {
            slotsFree(e->slots);
            e->slots = NULL;
            nodeClear(&e->node);
            continue;
        }
        if (e->slots != NULL) {
            slotsTake(e->slots, &e->node);
            e->slots = NULL;
        }
        if (e->node.mtimeNs > *newest)
            *newest = e->node.mtimeNs;
        Node *n = treeAppend(&t);
        *n = e->node; /* moved: the entry no longer owns it */
        memset(&e->node, 0, sizeof(e->node));
    }
    treeSort(&t);
    if (dir->features & SOURCE_FEATURE_MARK_FILE_DIR) {
        bool renamed = false;
        for (size_t i = 1; i < t.count; i++) {
            if (strcmp(t.nodes[i - 1].name, t.nodes[i].name) != 0)
                continue;
            Node *file = t.nodes[i - 1].type == NODE_FILE ? &t.nodes[i - 1] : &t.nodes[i];
            char *marked = lbXasprintf("%s%%", file->name);
            free(file->name);
            file->name = marked;
            renamed = true;
        }
        if (renamed)
            treeSort(&t);
    }
    LbBuf json = {0};
    treeEncode(&t, &json);
    repoBlobId(s->repo, json.data, json.len, id);
    size_t len;
    uint8_t *data = lbBufTake(&json, &len);
    /* the ID is known already; the saver only stores the blob */
    saverSubmitTake(s->saver, BLOB_TREE, data, len, NULL, NULL);
    treeFree(&t);
}

/* Encode the subdirectory of entry e (complete) into e and free it. */
static void finishSubdir(SourceSink *s, AEntry *e) {
    ADir *d = e->dir;
    int64_t below;
    encodeDir(s, d, &e->node.subtree, &below);
    if (d->features & SOURCE_FEATURE_DIR_TIME_NEWEST)
        e->node.mtimeNs = e->node.ctimeNs = below;
    SnapshotSummary *sum = &s->result->summary;
    if (!e->hasParentTree)
        sum->dirsNew++;
    else if (lbIdEqual(&e->parentSubtree, &e->node.subtree))
        sum->dirsUnmodified++;
    else
        sum->dirsChanged++;
    if (d->up != NULL)
        d->up->openDirs--;
    e->dir = NULL;
    dirFree(d); /* its entries were moved out */
}

static bool leftComplete(const ADir *d) {
    return d->unsettled == 0 && d->openDirs == 0 && atomic_load(&d->pending) == 0;
}

/* Encode the left directories at the head of the FIFO that are complete.
 * When the FIFO holds too many entries, wait for the head's chunks (unless
 * the source still has files of it to settle: only the walk can). */
static void finishLeft(SourceSink *s) {
    while (s->leftHead != NULL && !saverFailed(s->saver)) {
        ADir *d = s->leftHead;
        if (!leftComplete(d)) {
            size_t max = s->opts->leftEntriesMax ? s->opts->leftEntriesMax : LEFT_ENTRIES_MAX_DEFAULT;
            if (s->leftEntries <= max || d->unsettled != 0 || d->openDirs != 0)
                return;
            while (atomic_load(&d->pending) != 0 && !saverFailed(s->saver))
                nanosleep(&(struct timespec){0, 200000}, NULL);
            continue;
        }
        s->leftHead = d->nextLeft;
        if (s->leftHead == NULL)
            s->leftTail = NULL;
        s->leftEntries -= d->count;
        finishSubdir(s, &d->up->entries[d->upIndex]);
    }
}

/* At the end (every chunk written): encode what is still open below dir,
 * deepest first. */
static void finishOpen(SourceSink *s, ADir *dir) {
    for (size_t i = 0; i < dir->count; i++) {
        AEntry *e = &dir->entries[i];
        if (e->dir == NULL)
            continue;
        finishOpen(s, e->dir);
        finishSubdir(s, e);
    }
}

/***********************************************************************************************************************
 * Run
 **********************************************************************************************************************/

bool archiverRun(Repo *repo, const ArchiverOptions *opts, ArchiverResult *result, LbError *err) {
    memset(result, 0, sizeof(*result));
    SourceSink s = {.repo = repo, .opts = opts, .result = result};
    result->summary.startNs = lbNowNs();
    s.root = dirNew(NULL, 0, 0);
    s.levelCap = 16;
    s.levels = lbXcalloc(s.levelCap, sizeof(ALevel));
    s.levels[0].dir = s.root;
    s.depth = 1;
    bool ok = false;
    if (opts->parent != NULL)
        loadTree(&s, &opts->parent->tree, &s.levels[0].parent);
    /* check every source first: a missing path fails the backup before any work */
    for (size_t i = 0; i < opts->sourceCount; i++) {
        const Source *src = &opts->sources[i];
        if (src->interface->check != NULL && !src->interface->check(src->driver, err))
            goto cleanup;
        s.root->features |= src->interface->features;
    }
    s.saver = saverNew(repo, 0);
    chunkFeedInit(&s.chunker, repo, s.saver, opts->chunkProfile);
    for (size_t i = 0; i < opts->sourceCount; i++) {
        s.source = &opts->sources[i];
        bool walked = s.source->interface->walk(s.source->driver, &s, err);
        while (s.depth > 1)
            sourceSinkLeave(&s);
        if (runCancelled(&s)) {
            lbErr(err, LB_ERR_NOT_COMMITTED, "backup cancelled: no snapshot written");
            goto cleanup;
        }
        if (!walked) {
            if (saverFailed(s.saver))
                saverFinish(s.saver, err); /* the reason the walk stopped */
            goto cleanup;
        }
    }
    reportProgress(&s, NULL, true);
    saverWait(s.saver);
    if (saverFailed(s.saver)) {
        saverFinish(s.saver, err);
        goto cleanup;
    }
    s.leftHead = s.leftTail = NULL; /* all complete now: encoded with the rest */
    finishOpen(&s, s.root);
    int64_t newest;
    encodeDir(&s, s.root, &result->tree, &newest);
    if (!saverFinish(s.saver, err))
        goto cleanup;
    SaverStats ss;
    saverGetStats(s.saver, &ss);
    result->newPacks = saverNewPackIds(s.saver, &result->newPackCount);
    result->summary.blobsNew = ss.blobsNew - ss.treeBlobsNew;
    result->summary.treeBlobsNew = ss.treeBlobsNew;
    result->summary.dataAdded = ss.rawNew;
    result->summary.dataAddedStored = ss.storedNew;
    result->summary.endNs = lbNowNs();
    ok = true;
cleanup:
    while (s.depth > 0)
        treeFree(&s.levels[--s.depth].parent);
    free(s.levels);
    saverFree(s.saver); /* waits for the workers before the slots go */
    free(s.chunker.buf);
    dirFree(s.root);
    for (size_t i = 0; i < s.discardedCount; i++)
        slotsFree(s.discarded[i]);
    free(s.discarded);
    for (size_t i = 0; i < s.userCount; i++)
        free(s.users[i].name);
    for (size_t i = 0; i < s.groupCount; i++)
        free(s.groups[i].name);
    free(s.users);
    free(s.groups);
    return ok;
}

void archiverResultClear(ArchiverResult *r) {
    for (size_t i = 0; i < r->pathCount; i++)
        free(r->paths[i]);
    free(r->paths);
    for (size_t i = 0; i < r->unreadableCount; i++)
        free(r->unreadable[i]);
    free(r->unreadable);
    for (size_t i = 0; i < r->changedCount; i++)
        free(r->changed[i]);
    free(r->changed);
    free(r->newPacks);
    memset(r, 0, sizeof(*r));
}

char *archiverAbsPath(const char *path) {
    char *joined;
    if (path[0] == '/') {
        joined = lbXstrdup(path);
    } else {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return lbXstrdup(path);
        joined = lbXasprintf("%s/%s", cwd, path);
    }
    /* collapse "//", "/./" and "/../" lexically */
    char *out = lbXmalloc(strlen(joined) + 2);
    size_t len = 0;
    const char *p = joined;
    while (*p) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0 || (n == 1 && s[0] == '.'))
            continue;
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
            continue;
        }
        out[len++] = '/';
        memcpy(out + len, s, n);
        len += n;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    free(joined);
    return out;
}
