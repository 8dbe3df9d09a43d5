/*
 * test_source.c - the file and stream sources through the archiver, into an
 * in-memory repository: what they yield (names, chains of parent
 * directories, content), what their checks refuse, and the file source's
 * unchanged answer against a parent snapshot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archiver/archiver.h"
#include "source/command.h"
#include "source/files.h"
#include "source/stream.h"
#include "storage/mem/mem.h"

#include "../archiver/archtest.h"

/* Descend from tree id along the names in path ("a/b/c"); fills *out with
 * the tree holding the last name and returns its node. */
static const Node *findPath(Repo *repo, const LbId *root, const char *path, Tree *out) {
    char *copy = lbXstrdup(path);
    char *save = NULL;
    LbId id = *root;
    const Node *n = NULL;
    for (char *c = strtok_r(copy, "/", &save); c != NULL; c = strtok_r(NULL, "/", &save)) {
        treeFree(out);
        loadTree(repo, &id, out);
        n = treeFind(out, c);
        assert_non_null(n);
        id = n->subtree;
    }
    free(copy);
    return n;
}

/* path has the same subtree in the trees a and b. */
static void assertSameSubtree(Repo *repo, const LbId *a, const LbId *b, const char *path) {
    Tree ta = {0}, tb = {0};
    const Node *na = findPath(repo, a, path, &ta);
    const Node *nb = findPath(repo, b, path, &tb);
    assert_true(lbIdEqual(&na->subtree, &nb->subtree));
    treeFree(&ta);
    treeFree(&tb);
}

static void writeFile(const char *dir, const char *name, const char *data) {
    char *p = lbXasprintf("%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(data, f);
    fclose(f);
    free(p);
}

static int rmVisit(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

/* ---- files ---- */

static void testFiles(void **state) {
    (void)state;
    char tmpl[] = "/tmp/lb-source-XXXXXX";
    char *root = mkdtemp(tmpl);
    assert_non_null(root);
    char *sub = lbXasprintf("%s/sub", root);
    assert_int_equal(mkdir(sub, 0750), 0);
    writeFile(root, "one", "first file");
    writeFile(sub, "two", "second file");
    writeFile(sub, "skip.tmp", "excluded");
    char *link = lbXasprintf("%s/link", root);
    assert_int_equal(symlink("one", link), 0);

    Repo *repo = newRepo();
    /* the same path twice and a path below it: one copy of each */
    const char *paths[] = {root, sub, root};
    const char *excludes[] = {"*.tmp"};
    FileSourceOptions fo = {.paths = paths, .pathCount = 3, .excludes = excludes, .excludeCount = 1};
    FileSource *fs = fileSourceNew(&fo);
    Source src = fileSourceSource(fs);
    ArchiverOptions ao = {.sources = &src, .sourceCount = 1};
    ArchiverResult res = {0};
    LbError err = {0};
    assert_true(archiverRun(repo, &ao, &res, &err));
    assert_int_equal(res.pathCount, 3);
    assert_string_equal(res.paths[0], root);
    assert_int_equal(res.summary.totalFiles, 2);
    assert_int_equal(res.summary.filesNew, 2);

    Tree t = {0};
    /* "/tmp/lb-source-X" is stored as tmp/lb-source-X */
    const Node *n = findPath(repo, &res.tree, root + 1, &t);
    assert_int_equal(n->type, NODE_DIR);
    Tree top = {0};
    loadTree(repo, &n->subtree, &top);
    assert_int_equal(top.count, 3);
    assert_string_equal(top.nodes[0].name, "link");
    assert_string_equal(top.nodes[0].linkTarget, "one");
    assertContent(repo, &top.nodes[1], "first file", 10);
    assert_string_equal(top.nodes[2].name, "sub");
    assert_int_equal(top.nodes[2].mode, 0750);
    Tree below = {0};
    loadTree(repo, &top.nodes[2].subtree, &below);
    assert_int_equal(below.count, 1); /* skip.tmp excluded */
    assertContent(repo, &below.nodes[0], "second file", 11);

    /* unchanged files are not read again; the tree is the same */
    Snapshot parent = {.tree = res.tree};
    ArchiverOptions again = {.sources = &src, .sourceCount = 1, .parent = &parent};
    ArchiverResult res2 = {0};
    assert_true(archiverRun(repo, &again, &res2, &err));
    /* (the trees above root record /tmp, which others may change meanwhile) */
    assertSameSubtree(repo, &res.tree, &res2.tree, root + 1);
    assert_int_equal(res2.summary.filesUnmodified, 2);
    assert_int_equal(res2.summary.blobsNew, 0);
    /* ... unless forced: read again, same tree */
    ArchiverResult res3 = {0};
    again.force = true;
    assert_true(archiverRun(repo, &again, &res3, &err));
    assertSameSubtree(repo, &res.tree, &res3.tree, root + 1);
    assert_int_equal(res3.summary.filesUnmodified, 0);
    assert_int_equal(res3.summary.filesChanged, 2);

    treeFree(&below);
    treeFree(&top);
    treeFree(&t);
    archiverResultClear(&res);
    archiverResultClear(&res2);
    archiverResultClear(&res3);
    fileSourceFree(fs);
    repoFree(repo);
    nftw(root, rmVisit, 8, FTW_DEPTH | FTW_PHYS);
    free(sub);
    free(link);
}

/* A missing path fails the check before anything is stored; a path below
 * a file fails the walk. */
static void testFilesMissing(void **state) {
    (void)state;
    Repo *repo = newRepo();
    const char *paths[] = {"/nonexistent/lifeboat-test"};
    FileSourceOptions fo = {.paths = paths, .pathCount = 1};
    FileSource *fs = fileSourceNew(&fo);
    Source src = fileSourceSource(fs);
    ArchiverOptions ao = {.sources = &src, .sourceCount = 1};
    ArchiverResult res = {0};
    LbError err = {0};
    assert_false(archiverRun(repo, &ao, &res, &err));
    assert_non_null(strstr(err.msg, "unable to back up '/nonexistent/lifeboat-test'"));
    archiverResultClear(&res);
    fileSourceFree(fs);
    fileSourceFree(NULL);
    repoFree(repo);
}

/* Two file backups at once in one process (the daemon's case), each with
 * a progress line: each run's totals count its own files only (the
 * scanner's counters belong to the run, not to the process). */
typedef struct FileJob {
    char dir[32];
    int files;
    ArchiverProgress last;
    bool ok;
} FileJob;

static void onProgress(void *ctx, const ArchiverProgress *p) {
    FileJob *j = ctx;
    j->last = *p;
}

static void *fileJobMain(void *arg) {
    FileJob *j = arg;
    Repo *repo = newRepo();
    const char *paths[] = {j->dir};
    FileSourceOptions fo = {.paths = paths, .pathCount = 1};
    FileSource *fs = fileSourceNew(&fo);
    Source src = fileSourceSource(fs);
    ArchiverOptions ao = {.sources = &src, .sourceCount = 1, .progress = onProgress, .progressCtx = j};
    ArchiverResult res = {0};
    LbError err = {0};
    j->ok = archiverRun(repo, &ao, &res, &err) && res.summary.totalFiles == (uint64_t)j->files;
    archiverResultClear(&res);
    fileSourceFree(fs);
    repoFree(repo);
    return NULL;
}

static void testFilesTwoRunsAtOnce(void **state) {
    (void)state;
    FileJob jobs[2] = {{.files = 40}, {.files = 3}};
    for (int i = 0; i < 2; i++) {
        strcpy(jobs[i].dir, "/tmp/lb-source-XXXXXX");
        assert_non_null(mkdtemp(jobs[i].dir));
        for (int f = 0; f < jobs[i].files; f++) {
            char name[16];
            snprintf(name, sizeof(name), "f%d", f);
            writeFile(jobs[i].dir, name, "0123456789");
        }
    }
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fileJobMain, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_true(jobs[i].ok);
        assert_int_equal(jobs[i].last.filesDone, jobs[i].files);
        /* the scanner may be stopped early, never count another run's files */
        assert_true(jobs[i].last.filesTotal <= (uint64_t)jobs[i].files);
        assert_true(jobs[i].last.bytesTotal <= 10u * (uint64_t)jobs[i].files);
        nftw(jobs[i].dir, rmVisit, 8, FTW_DEPTH | FTW_PHYS);
    }
}

/* ---- streams ---- */

static int memfdWith(const char *data, size_t len) {
    char tmpl[] = "/tmp/lb-stream-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    unlink(tmpl);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static void testStreams(void **state) {
    (void)state;
    Repo *repo = newRepo();
    size_t bigLen = 3u << 20; /* several chunks */
    char *big = lbXmalloc(bigLen);
    for (size_t i = 0; i < bigLen; i++)
        big[i] = (char)((i * 2654435761u) >> 13);
    SourceStream streams[2] = {{.name = "dump", .fd = memfdWith(big, bigLen), .mode = 0600},
                               {.name = "globals.sql", .fd = memfdWith("", 0)}};
    StreamSource ss = {.streams = streams, .count = 2};
    Source src = streamSourceSource(&ss);
    ArchiverOptions ao = {.sources = &src, .sourceCount = 1, .chunkProfile = REPO_CHUNK_DUMP};
    ArchiverResult res = {0};
    LbError err = {0};
    assert_true(archiverRun(repo, &ao, &res, &err));
    assert_int_equal(res.pathCount, 2);
    assert_string_equal(res.paths[0], "/dump");
    assert_string_equal(res.paths[1], "/globals.sql");
    Tree t = {0};
    loadTree(repo, &res.tree, &t);
    assert_int_equal(t.count, 2);
    assert_string_equal(t.nodes[0].name, "dump");
    assert_int_equal(t.nodes[0].mode, 0600);
    assert_int_equal(t.nodes[0].uid, getuid());
    assertContent(repo, &t.nodes[0], big, bigLen);
    assert_true(t.nodes[0].contentCount > 1);
    assert_int_equal(t.nodes[1].mode, 0644);
    assertContent(repo, &t.nodes[1], "", 0);
    treeFree(&t);
    archiverResultClear(&res);
    close(streams[0].fd);
    close(streams[1].fd);
    free(big);
    repoFree(repo);
}

/* Names that are not plain file names, or twice the same, are refused; a
 * stream that cannot be read fails the backup. */
static void testStreamsRefused(void **state) {
    (void)state;
    Repo *repo = newRepo();
    const char *bad[] = {"a/b", "..", ""};
    for (size_t i = 0; i < 3; i++) {
        SourceStream s = {.name = bad[i], .fd = -1};
        StreamSource ss = {.streams = &s, .count = 1};
        Source src = streamSourceSource(&ss);
        ArchiverOptions ao = {.sources = &src, .sourceCount = 1};
        ArchiverResult res = {0};
        LbError err = {0};
        assert_false(archiverRun(repo, &ao, &res, &err));
        assert_int_equal(err.code, LB_ERR_ARGS);
        archiverResultClear(&res);
    }
    SourceStream twice[2] = {{.name = "x", .fd = -1}, {.name = "x", .fd = -1}};
    StreamSource ss = {.streams = twice, .count = 2};
    Source src = streamSourceSource(&ss);
    ArchiverOptions ao = {.sources = &src, .sourceCount = 1};
    ArchiverResult res = {0};
    LbError err = {0};
    assert_false(archiverRun(repo, &ao, &res, &err));
    assert_string_equal(err.msg, "two streams are named 'x'");
    archiverResultClear(&res);
    SourceStream closed = {.name = "gone", .fd = 987};
    ss = (StreamSource){.streams = &closed, .count = 1};
    src = streamSourceSource(&ss);
    ao = (ArchiverOptions){.sources = &src, .sourceCount = 1};
    assert_false(archiverRun(repo, &ao, &res, &err));
    assert_int_equal(err.code, LB_ERR_IO);
    assert_non_null(strstr(err.msg, "unable to read stream: gone: "));
    archiverResultClear(&res);
    repoFree(repo);
}

/* ---- command ---- */

/* Run argv as a command source; returns the run's result (err filled). */
static bool runCommand(Repo *repo, char *const *argv, ArchiverResult *res, LbError *err) {
    CommandSource *cs = commandSourceNew(argv, "out.txt");
    Source src = commandSourceSource(cs);
    ArchiverOptions ao = {.sources = &src, .sourceCount = 1};
    bool ok = archiverRun(repo, &ao, res, err);
    commandSourceFree(cs);
    return ok;
}

/* The output is stored as one file; the command sees no password of ours;
 * a status other than 0, or a signal, fails the run. */
static void testCommand(void **state) {
    (void)state;
    Repo *repo = newRepo();
    setenv("LIFEBOAT_PASSWORD", "not-for-the-command", 1);
    char *const echo[] = {"sh", "-c", "printf '%s' \"${LIFEBOAT_PASSWORD-none}\"", NULL};
    ArchiverResult res = {0};
    LbError err = {0};
    assert_true(runCommand(repo, echo, &res, &err));
    unsetenv("LIFEBOAT_PASSWORD");
    Tree t = {0};
    loadTree(repo, &res.tree, &t);
    assert_int_equal(t.count, 1);
    assert_string_equal(t.nodes[0].name, "out.txt");
    assertContent(repo, &t.nodes[0], "none", 4);
    assert_string_equal(res.paths[0], "/out.txt");
    treeFree(&t);
    archiverResultClear(&res);

    char *const exit3[] = {"sh", "-c", "echo partial; exit 3", NULL};
    assert_false(runCommand(repo, exit3, &res, &err));
    assert_int_equal(err.code, LB_ERR_COMMAND);
    assert_string_equal(err.msg, "command 'sh' exited with status 3: no snapshot was written");
    archiverResultClear(&res);
    char *const killed[] = {"sh", "-c", "echo partial; kill -9 $$", NULL};
    assert_false(runCommand(repo, killed, &res, &err));
    assert_string_equal(err.msg, "command 'sh' was killed by signal 9: no snapshot was written");
    archiverResultClear(&res);
    char *const missing[] = {"/nonexistent/lifeboat-cmd", NULL};
    assert_false(runCommand(repo, missing, &res, &err));
    assert_non_null(strstr(err.msg, "exited with status 127"));
    archiverResultClear(&res);
    repoFree(repo);
}

/* Two sources in one run share one tree: streams beside a file path. */
static void testTwoSources(void **state) {
    (void)state;
    Repo *repo = newRepo();
    char tmpl[] = "/tmp/lb-source-XXXXXX";
    char *root = mkdtemp(tmpl);
    writeFile(root, "f", "file");
    const char *paths[] = {root};
    FileSourceOptions fo = {.paths = paths, .pathCount = 1};
    FileSource *fs = fileSourceNew(&fo);
    SourceStream s = {.name = "out", .fd = memfdWith("stream", 6)};
    StreamSource ss = {.streams = &s, .count = 1};
    Source srcs[2] = {streamSourceSource(&ss), fileSourceSource(fs)};
    ArchiverOptions ao = {.sources = srcs, .sourceCount = 2};
    ArchiverResult res = {0};
    LbError err = {0};
    assert_true(archiverRun(repo, &ao, &res, &err));
    Tree t = {0};
    loadTree(repo, &res.tree, &t);
    assert_int_equal(t.count, 2);
    assert_string_equal(t.nodes[0].name, "out");
    assert_string_equal(t.nodes[1].name, "tmp");
    assert_int_equal(res.summary.totalFiles, 2);
    treeFree(&t);
    archiverResultClear(&res);
    fileSourceFree(fs);
    close(s.fd);
    repoFree(repo);
    nftw(root, rmVisit, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(testFiles),
        cmocka_unit_test(testFilesMissing),
        cmocka_unit_test(testStreams),
        cmocka_unit_test(testStreamsRefused),
        cmocka_unit_test(testTwoSources),
        cmocka_unit_test(testCommand),
        cmocka_unit_test(testFilesTwoRunsAtOnce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
