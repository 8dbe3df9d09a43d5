/*
 * test_concurrent.c - two backup jobs at once, on two threads of one
 * process, into the same (local) repository: both snapshots must restore
 * byte for byte, check --read-data must find nothing, and each job's log
 * lines and progress calls must reach only its own environment. Also: a
 * cancelled job writes no snapshot.
 *
 * The two source trees share one large file, so both jobs store the same
 * blobs at the same time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "job/job.h"
#include "maint/check.h"
#include "repo/repo.h"
#include "restore/restore.h"
#include "snapshot/snapshot.h"
#include "storage/local/local.h"

#define PASSWORD "concurrent-test"

/* ---- a log sink that keeps its lines ---- */

typedef struct Capture {
    pthread_mutex_t mu; /* the job's worker threads log too */
    char **lines;
    size_t count;
} Capture;

static void captureWrite(void *ctx, LbLogLevel level, const char *line) {
    (void)level;
    Capture *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->lines = lbXrealloc(c->lines, (c->count + 1) * sizeof(char *));
    c->lines[c->count++] = lbXstrdup(line);
    pthread_mutex_unlock(&c->mu);
}

static void captureFree(Capture *c) {
    for (size_t i = 0; i < c->count; i++)
        free(c->lines[i]);
    free(c->lines);
    pthread_mutex_destroy(&c->mu);
}

/* ---- files ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint8_t nextByte(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 32);
}

static void writeFile(const char *path, size_t size, uint64_t seed) {
    uint64_t saved = rng;
    rng = seed | 1;
    uint8_t *data = lbXmalloc(size + 1);
    for (size_t i = 0; i < size; i++)
        data[i] = nextByte();
    rng = saved;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
    free(data);
}

/* A tree of about 120 files in 6 directories, different per seed, plus one
 * 3 MiB file the same in every tree. */
static void makeTree(const char *root, uint64_t seed) {
    assert_int_equal(mkdir(root, 0755), 0);
    for (int d = 0; d < 6; d++) {
        char *dir = lbXasprintf("%s/dir%d", root, d);
        assert_int_equal(mkdir(dir, 0755), 0);
        for (int f = 0; f < 20; f++) {
            char *path = lbXasprintf("%s/file%02d", dir, f);
            size_t size = (size_t)((seed * 7919 + (uint64_t)(d * 20 + f) * 104729) % (96 * 1024));
            writeFile(path, size, seed * 1000 + (uint64_t)(d * 20 + f));
            free(path);
        }
        free(dir);
    }
    char *shared = lbXasprintf("%s/shared.bin", root);
    writeFile(shared, 3u << 20, 42);
    free(shared);
    char *empty = lbXasprintf("%s/empty", root);
    writeFile(empty, 0, 1);
    free(empty);
}

static int removeEntry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void removeTree(const char *path) {
    nftw(path, removeEntry, 16, FTW_DEPTH | FTW_PHYS);
}

static bool sameFileContent(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa != NULL && fb != NULL;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb)
            same = false;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static int cmpStr(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* The names in dir, sorted; *count of them. */
static char **listDir(const char *dir, size_t *count) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    char **names = NULL;
    *count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        names = lbXrealloc(names, (*count + 1) * sizeof(char *));
        names[(*count)++] = lbXstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, *count, sizeof(char *), cmpStr);
    return names;
}

/* Do the trees at a and b hold the same names and bytes? Counts the
 * regular files compared. */
static bool sameTree(const char *a, const char *b, size_t *files) {
    size_t na, nb;
    char **la = listDir(a, &na), **lb = listDir(b, &nb);
    bool same = na == nb;
    for (size_t i = 0; same && i < na; i++) {
        same = strcmp(la[i], lb[i]) == 0;
        char *pa = lbXasprintf("%s/%s", a, la[i]), *pb = lbXasprintf("%s/%s", b, lb[i]);
        struct stat sa, sb;
        same = same && lstat(pa, &sa) == 0 && lstat(pb, &sb) == 0 && (sa.st_mode & S_IFMT) == (sb.st_mode & S_IFMT);
        if (same && S_ISDIR(sa.st_mode))
            same = sameTree(pa, pb, files);
        else if (same && S_ISREG(sa.st_mode)) {
            same = sa.st_size == sb.st_size && sameFileContent(pa, pb);
            (*files)++;
        }
        if (!same)
            print_error("differs: '%s' and '%s'\n", pa, pb);
        free(pa);
        free(pb);
    }
    for (size_t i = 0; i < na; i++)
        free(la[i]);
    for (size_t i = 0; i < nb; i++)
        free(lb[i]);
    free(la);
    free(lb);
    return same;
}

/* ---- one job on its own thread ---- */

typedef struct Worker {
    const char *repoPath;
    char *tree;
    const char *component;
    pthread_barrier_t *start;
    Capture capture;
    LbLogSink sink;
    atomic_bool cancel;
    size_t progressCalls;
    pthread_t thread; /* as created */
    pthread_t self;   /* as the job's thread sees itself, for the progress calls */
    bool progressOffThread;
    JobReport *report;
    bool opened, ran;
    LbError openErr;
} Worker;

static void onProgress(void *ctx, const JobProgress *p) {
    Worker *w = ctx;
    (void)p;
    w->progressCalls++;
    if (!pthread_equal(pthread_self(), w->self))
        w->progressOffThread = true;
}

/* Open the repository (its own handle, as a second process would), wait for
 * the other worker, run the backup. No cmocka asserts off the main thread. */
static void *workerMain(void *arg) {
    Worker *w = arg;
    w->self = pthread_self();
    Storage *st = storageLocalNew(w->repoPath, &w->openErr);
    Repo *repo = st ? repoOpen(st, PASSWORD, &w->openErr) : NULL;
    w->opened = repo != NULL;
    if (w->start)
        pthread_barrier_wait(w->start);
    if (repo == NULL)
        return NULL;
    const char *paths[] = {w->tree};
    JobBackup spec = {
        .kind = JOB_SOURCE_FILES,
        .paths = paths,
        .pathCount = 1,
        .labels = {.host = "concurrent-host", .component = w->component},
    };
    JobEnv env = {.log = &w->sink, .progress = onProgress, .progressCtx = w, .cancel = &w->cancel};
    w->ran = jobBackupRun(repo, &spec, &env, w->report);
    repoFree(repo);
    return NULL;
}

static void workerInit(Worker *w, const char *repoPath, const char *base, const char *name, const char *component) {
    memset(w, 0, sizeof(*w));
    w->repoPath = repoPath;
    w->tree = lbXasprintf("%s/%s", base, name);
    w->component = component;
    pthread_mutex_init(&w->capture.mu, NULL);
    w->sink = (LbLogSink){.write = captureWrite, .ctx = &w->capture, .level = LB_LOG_INFO};
    atomic_init(&w->cancel, false);
    w->report = jobReportNew("backup");
}

static void workerFree(Worker *w) {
    captureFree(&w->capture);
    jobReportFree(w->report);
    free(w->tree);
}

/* Did every line w logged name its own tree, and none the other's? */
static void assertOwnLines(const Worker *w, const Worker *other) {
    assert_true(w->capture.count >= 2); /* "backing up ..." and "snapshot ... saved" */
    bool named = false;
    for (size_t i = 0; i < w->capture.count; i++) {
        if (strstr(w->capture.lines[i], w->tree) != NULL)
            named = true;
        if (strstr(w->capture.lines[i], other->tree) != NULL)
            fail_msg("job of '%s' logged a line of the other job: %s", w->tree, w->capture.lines[i]);
    }
    assert_true(named);
}

typedef struct Fixture {
    char *base;
    char *repoPath;
} Fixture;

static int setup(void **state) {
    Fixture *fx = lbXcalloc(1, sizeof(Fixture));
    char tmpl[] = "/tmp/lb-concurrent-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    fx->base = lbXstrdup(tmpl);
    fx->repoPath = lbXasprintf("%s/repo", fx->base);
    LbError err = {0};
    Storage *st = storageLocalNew(fx->repoPath, &err);
    assert_non_null(st);
    RepoInitOptions opts = {.kdfN = 1024};
    Repo *repo = repoInit(st, PASSWORD, &opts, &err);
    if (repo == NULL)
        fail_msg("repoInit: %s", err.msg);
    repoFree(repo);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    Fixture *fx = *state;
    removeTree(fx->base);
    free(fx->base);
    free(fx->repoPath);
    free(fx);
    return 0;
}

static Repo *openRepo(const Fixture *fx) {
    LbError err = {0};
    Storage *st = storageLocalNew(fx->repoPath, &err);
    assert_non_null(st);
    Repo *repo = repoOpen(st, PASSWORD, &err);
    if (repo == NULL)
        fail_msg("repoOpen: %s", err.msg);
    assert_true(repoLoadIndex(repo, &err));
    return repo;
}

/* Restore the snapshot of w's report and compare it with w's tree. */
static void assertRestores(Repo *repo, const Fixture *fx, const Worker *w, const char *name) {
    json_t *j = jobReportJson(w->report);
    const char *id = json_string_value(json_object_get(j, "snapshot_id"));
    assert_non_null(id);
    LbError err = {0};
    Snapshot snap = {0};
    if (!snapshotFind(repo, id, NULL, &snap, &err))
        fail_msg("snapshotFind %s: %s", id, err.msg);
    assert_string_equal(snap.component, w->component);
    assert_int_equal(snap.pathCount, 1);
    assert_string_equal(snap.paths[0], w->tree);
    char *target = lbXasprintf("%s/restore-%s", fx->base, name);
    RestoreOptions ro = {.target = target, .verify = true};
    RestoreResult rr = {0};
    if (!restoreRun(repo, &snap, &ro, &rr, &err))
        fail_msg("restore of %s: %s", id, err.msg);
    assert_int_equal(rr.damagedCount, 0);
    char *restored = lbXasprintf("%s%s", target, w->tree); /* the snapshot keeps the absolute path */
    size_t files = 0;
    assert_true(sameTree(w->tree, restored, &files));
    assert_int_equal(files, 6 * 20 + 2);
    restoreResultClear(&rr);
    snapshotClear(&snap);
    free(restored);
    free(target);
    json_decref(j);
}

static void testTwoJobsAtOnce(void **state) {
    Fixture *fx = *state;
    Worker w[2];
    workerInit(&w[0], fx->repoPath, fx->base, "tree-a", "files-a");
    workerInit(&w[1], fx->repoPath, fx->base, "tree-b", "files-b");
    makeTree(w[0].tree, 1);
    makeTree(w[1].tree, 2);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    for (int i = 0; i < 2; i++) {
        w[i].start = &start;
        assert_int_equal(pthread_create(&w[i].thread, NULL, workerMain, &w[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(w[i].thread, NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < 2; i++) {
        if (!w[i].opened)
            fail_msg("open: %s", w[i].openErr.msg);
        if (!w[i].ran)
            fail_msg("job %d: %s", i, jobReportError(w[i].report)->msg);
        assert_int_equal(jobReportExitCode(w[i].report), 0);
        assert_true(w[i].progressCalls >= 1);
        assert_false(w[i].progressOffThread);
    }
    assertOwnLines(&w[0], &w[1]);
    assertOwnLines(&w[1], &w[0]);

    Repo *repo = openRepo(fx);
    LbError err = {0};
    SnapshotList list;
    assert_true(snapshotLoadAll(repo, &list, &err));
    assert_int_equal(list.count, 2);
    snapshotListFree(&list);
    assertRestores(repo, fx, &w[0], "a");
    assertRestores(repo, fx, &w[1], "b");
    CheckOptions co = {.readData = true, .subsetPercent = 100};
    CheckResult cr = {0};
    assert_true(checkRun(repo, &co, &cr, &err));
    for (size_t i = 0; i < cr.errorCount; i++)
        print_error("check: %s\n", cr.errors[i]);
    assert_int_equal(cr.errorCount, 0);
    assert_int_equal(cr.snapshots, 2);
    checkResultClear(&cr);
    repoFree(repo);
    for (int i = 0; i < 2; i++)
        workerFree(&w[i]);
}

/* A job whose cancel flag is set stops before its commit: no snapshot. */
static void testCancelledJobWritesNothing(void **state) {
    Fixture *fx = *state;
    Worker w;
    workerInit(&w, fx->repoPath, fx->base, "tree-c", "files-c");
    makeTree(w.tree, 3);
    atomic_store(&w.cancel, true);
    workerMain(&w);
    assert_true(w.opened);
    assert_false(w.ran);
    assert_true(jobReportFailed(w.report));
    assert_int_equal(jobReportError(w.report)->code, LB_ERR_NOT_COMMITTED);
    assert_int_not_equal(jobReportExitCode(w.report), 0);
    Repo *repo = openRepo(fx);
    LbError err = {0};
    SnapshotList list;
    assert_true(snapshotLoadAll(repo, &list, &err));
    for (size_t i = 0; i < list.count; i++)
        assert_true(list.items[i].component == NULL || strcmp(list.items[i].component, "files-c") != 0);
    snapshotListFree(&list);
    repoFree(repo);
    workerFree(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(testTwoJobsAtOnce, setup, teardown),
        cmocka_unit_test_setup_teardown(testCancelledJobWritesNothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
