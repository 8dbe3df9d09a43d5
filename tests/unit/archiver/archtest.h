/*
 * archtest.h - helpers shared by the archiver and source unit tests (cmocka,
 * include after <cmocka.h>): an in-memory repository, and reading back the
 * trees and file contents a run stored, and a reader of bytes in memory.
 */
#ifndef LIFEBOAT_TESTS_UNIT_ARCHIVER_ARCHTEST_H
#define LIFEBOAT_TESTS_UNIT_ARCHIVER_ARCHTEST_H

#include <string.h>

#include "archiver/archiver.h"
#include "storage/mem/mem.h"

/* A new repository in memory (cheap scrypt), index loaded. */
static Repo *newRepo(void) {
    LbError err = {0};
    RepoInitOptions opts = {.kdfN = 1024};
    Repo *repo = repoInit(storageMemNew(), "pw", &opts, &err);
    assert_non_null(repo);
    assert_true(repoLoadIndex(repo, &err));
    return repo;
}

/* A SourceReadFn over bytes in memory (a source's file content). */
typedef struct MemReader {
    const char *data;
    size_t pos, len;
} MemReader;

static inline ssize_t memRead(void *ctx, uint8_t *buf, size_t cap, const char **why) {
    (void)why;
    MemReader *m = ctx;
    size_t n = m->len - m->pos < cap ? m->len - m->pos : cap;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

/* Load and decode the tree blob id into t. */
static void loadTree(Repo *repo, const LbId *id, Tree *t) {
    LbBuf plain = {0};
    LbError err = {0};
    assert_true(repoLoadBlob(repo, BLOB_TREE, id, &plain, &err));
    assert_true(treeDecode(plain.data, plain.len, t, &err));
    lbBufFree(&plain);
}

/* The file node n holds exactly want (len bytes), size included. */
static void assertContent(Repo *repo, const Node *n, const char *want, size_t len) {
    LbBuf all = {0};
    for (size_t i = 0; i < n->contentCount; i++) {
        LbBuf part = {0};
        LbError err = {0};
        assert_true(repoLoadBlob(repo, BLOB_DATA, &n->content[i], &part, &err));
        lbBufAppend(&all, part.data, part.len);
        lbBufFree(&part);
    }
    assert_int_equal(all.len, len);
    assert_memory_equal(all.data, want, len);
    assert_int_equal(n->size, len);
    lbBufFree(&all);
}

#endif
