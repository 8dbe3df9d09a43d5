/* recover_exec.c - run the restores of a recovery set and report them
 * (cmd/recover.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/recover.h"
#include "common/timeutil.h"
#include "ui/table.h"

/* ---- emptying a target folder (--clean) ---- */

static const char *emptyRoot;
static int emptyErrno;

static int removeEntry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    if (ftw->level == 0)
        return 0;
    if (remove(path) != 0) {
        emptyErrno = errno;
        emptyRoot = path;
        return 1;
    }
    return 0;
}

/* Remove everything inside dir (never following a symlink), keeping dir. */
static bool emptyDir(const char *dir, LbError *err) {
    struct stat st;
    if (lstat(dir, &st) != 0)
        return errno == ENOENT ? true : lbErrSys(err, "unable to read '%s'", dir);
    if (!S_ISDIR(st.st_mode))
        return lbErr(err, LB_ERR_ARGS, "target '%s' is not a directory", dir);
    emptyErrno = 0;
    if (nftw(dir, removeEntry, 32, FTW_DEPTH | FTW_PHYS) != 0) {
        errno = emptyErrno ? emptyErrno : errno;
        return lbErrSys(err, "unable to empty '%s' (at '%s')", dir, emptyRoot ? emptyRoot : dir);
    }
    return true;
}

/* The missing parents of a data directory, mode 0755: the server's user
 * (postgres, when lifeboat runs as root) must pass through them. */
static bool makeParents(const char *path, char **error) {
    char *p = lbXstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            *error = lbXasprintf("unable to create '%s': %s", p, strerror(errno));
            free(p);
            return false;
        }
        *s = '/';
    }
    free(p);
    return true;
}

/* ---- the restore command of an item ---- */

static void buildArgv(const RecoverItem *it, const RecoverRunOptions *o, CliArgv *a) {
    char hex[LB_ID_HEX_LEN + 1];
    lbIdToHex(&it->snap.id, hex);
    cliArgvAdd(a, "lifeboat");
    cliArgvAdd(a, "restore");
    cliArgvAddAll(a, &it->repo->args);
    cliArgvAdd(a, "--json");
    switch (it->comp->type) {
    case cfgCompPostgres:
        cliArgvAdd(a, hex);
        cliArgvAddf(a, "--pg-target=%s", it->target);
        if (it->createDb)
            cliArgvAdd(a, "--create");
        if ((o->clean || it->clean) && it->notEmpty)
            cliArgvAdd(a, "--clean");
        if (o->verify)
            cliArgvAdd(a, "--verify");
        break;
    case cfgCompPostgresPhysical:
        cliArgvAdd(a, "--pg-physical");
        cliArgvAdd(a, hex);
        cliArgvAddf(a, "--pg-data=%s", it->target);
        if (it->choice.replay == RECOVER_REPLAY_TIME) {
            char t[48];
            lbFormatTimeNs(it->choice.asOfNs, t, sizeof(t));
            cliArgvAddf(a, "--to-time=%s", t);
        } else if (it->choice.replay == RECOVER_REPLAY_LATEST) {
            cliArgvAdd(a, "--to-latest");
        } else {
            cliArgvAdd(a, "--to-immediate");
        }
        if (it->comp->recoveryStart)
            cliArgvAdd(a, "--start");
        if (it->comp->recoveryPort)
            cliArgvAddf(a, "--pg-port=%lld", (long long)it->comp->recoveryPort);
        break;
    default:
        cliArgvAdd(a, hex);
        cliArgvAddf(a, "--target=%s", it->target);
        if (strncmp(it->target, "s3:", 3) == 0) {
            if (o->clean || it->clean)
                cliArgvAdd(a, "--delete");
        } else if (o->verify) {
            cliArgvAdd(a, "--verify");
        }
        break;
    }
    for (int i = 0; i < it->extra.n; i++)
        cliArgvAdd(a, it->extra.v[i]);
}

typedef struct Child {
    pid_t pid;
    int mem;
    double start;
} Child;

static bool startChild(RecoverItem *it, const RecoverRunOptions *o, Child *ch) {
    ch->pid = -1;
    ch->mem = memfd_create("lifeboat-recover", MFD_CLOEXEC);
    if (ch->mem < 0) {
        it->error = lbXasprintf("unable to create a memory file: %s", strerror(errno));
        return false;
    }
    bool dir = it->comp->type != cfgCompPostgres && strncmp(it->target, "s3:", 3) != 0;
    if (it->comp->type == cfgCompPostgresPhysical && !makeParents(it->target, &it->error))
        return false;
    if ((o->clean || it->clean) && dir && it->notEmpty) {
        LbError err = {0};
        if (it->serverOnIt || !emptyDir(it->target, &err)) {
            it->error = it->serverOnIt
                            ? lbXasprintf("'%s' holds postmaster.pid: stop the server running on it first", it->target)
                            : lbXasprintf("%s", err.msg);
            return false;
        }
    }
    CliArgv a = {0};
    buildArgv(it, o, &a);
    fflush(NULL);
    ch->start = lbMonotonicSeconds();
    ch->pid = fork();
    if (ch->pid == 0) {
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        dup2(ch->mem, STDOUT_FILENO);
        /* a drill blocks these in every thread (drill/scratch.h's guard):
         * the restore must die of them */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        int rc = cliMain(a.n, a.v);
        fflush(NULL);
        _exit(rc & 0xff);
    }
    cliArgvFree(&a);
    if (ch->pid < 0) {
        it->error = lbXasprintf("unable to fork: %s", strerror(errno));
        return false;
    }
    setpgid(ch->pid, ch->pid);
    if (o->pids)
        o->pids(o->pidsCtx, ch->pid, true);
    return true;
}

/* The last JSON object the child printed. */
static json_t *lastJson(int mem) {
    struct stat st;
    if (fstat(mem, &st) != 0 || st.st_size == 0)
        return NULL;
    char *text = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mem, 0);
    if (text == MAP_FAILED)
        return NULL;
    json_t *last = NULL;
    size_t start = 0, len = (size_t)st.st_size;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n')
            continue;
        if (i > start && text[start] == '{') {
            json_t *j = json_loadb(text + start, i - start, 0, NULL);
            if (j) {
                json_decref(last);
                last = j;
            }
        }
        start = i + 1;
    }
    munmap(text, (size_t)st.st_size);
    return last;
}

static uint64_t firstInt(const json_t *o, const char *const *keys) {
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(o, keys[i]);
        if (json_is_integer(v))
            return (uint64_t)json_integer_value(v);
    }
    return 0;
}

static void finishChild(RecoverItem *it, const RecoverRunOptions *o, Child *ch, int status) {
    static const char *const byteKeys[] = {"bytes_restored", "dump_size", "base_backup_bytes", "bytes_uploaded", NULL};
    it->ran = true;
    it->seconds = lbMonotonicSeconds() - ch->start;
    it->exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    it->output = lastJson(ch->mem);
    close(ch->mem);
    ch->mem = -1;
    if (o->pids)
        o->pids(o->pidsCtx, ch->pid, false);
    it->ok = it->exitCode == 0;
    it->bytes = firstInt(it->output, byteKeys);
    it->verified = it->ok && (json_object_get(it->output, "files_verified") ||
                              json_integer_value(json_object_get(it->output, "tables_verified")) > 0 ||
                              json_is_true(json_object_get(it->output, "started")));
    const char *msg = json_string_value(json_object_get(it->output, "message"));
    json_t *damaged = json_object_get(it->output, "damaged");
    if (!it->ok && msg)
        it->error = lbXstrdup(msg);
    else if (!it->ok && json_array_size(damaged))
        it->error = lbXasprintf("%zu damaged file(s) (listed by the restore above)", json_array_size(damaged));
    else if (!it->ok)
        it->error = lbXasprintf("restore exited with %d", it->exitCode);
}

static void progressLine(const RecoverRunOptions *o, const RecoverItem *it, bool start) {
    if (!o->progress)
        return;
    char hex[LB_ID_HEX_LEN + 1], size[32], secs[32];
    lbIdToHex(&it->snap.id, hex);
    if (start) {
        cliFormatBytes((double)it->snap.summary.totalBytes, size, sizeof(size));
        fprintf(stderr, "%s: restoring snapshot %.8s (%s) into %s\n", it->comp->name, hex, size, it->target);
        return;
    }
    cliFormatDuration(it->seconds, secs, sizeof(secs));
    if (it->ok) {
        cliFormatBytes((double)it->bytes, size, sizeof(size));
        fprintf(stderr, "%s: done in %s (%s)\n", it->comp->name, secs, size);
    } else {
        fprintf(stderr, "%s: failed after %s: %s\n", it->comp->name, secs, it->error ? it->error : "");
    }
}

static void waitOne(RecoverSet *set, const RecoverRunOptions *o, Child *children) {
    int status;
    pid_t pid;
    do
        pid = waitpid(-1, &status, 0);
    while (pid < 0 && errno == EINTR);
    for (size_t i = 0; pid > 0 && i < set->count; i++)
        if (children[i].pid == pid) {
            finishChild(&set->items[i], o, &children[i], status);
            children[i].pid = -1;
            progressLine(o, &set->items[i], false);
        }
}

bool recoverSetRun(RecoverSet *set, const RecoverRunOptions *o) {
    Child *children = lbXmalloc((set->count + 1) * sizeof(Child));
    size_t running = 0;
    bool ok = true;
    for (size_t i = 0; i < set->count; i++) {
        children[i] = (Child){.pid = -1, .mem = -1};
        RecoverItem *it = &set->items[i];
        bool db = recoverIsDatabase(it->comp);
        /* the databases one after the other, before everything else */
        while (running > 0 && (db || (i > 0 && recoverIsDatabase(set->items[i - 1].comp)))) {
            waitOne(set, o, children);
            running--;
        }
        if (it->skip)
            continue;
        progressLine(o, it, true);
        if (!startChild(it, o, &children[i])) {
            it->ran = true;
            it->ok = false;
            if (children[i].mem >= 0)
                close(children[i].mem);
            progressLine(o, it, false);
            continue;
        }
        running++;
    }
    while (running > 0) {
        waitOne(set, o, children);
        running--;
    }
    for (size_t i = 0; i < set->count; i++)
        ok = ok && set->items[i].ok;
    free(children);
    return ok;
}

json_t *recoverResultJson(const RecoverSet *set) {
    json_t *arr = json_array();
    for (size_t i = 0; i < set->count; i++) {
        const RecoverItem *it = &set->items[i];
        char hex[LB_ID_HEX_LEN + 1], asOf[48];
        lbIdToHex(&it->snap.id, hex);
        lbFormatTimeNs(it->choice.asOfNs, asOf, sizeof(asOf));
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:s, s:I, s:f, s:b, s:b, s:i}", "component", it->comp->name, "snapshot_id", hex,
                      "recovered_as_of", asOf, "target", it->target ? it->target : "", "bytes", (json_int_t)it->bytes,
                      "seconds", it->seconds, "verified", it->verified, "ok", it->ok, "exit_code", it->exitCode);
        if (it->error)
            json_object_set_new(o, "error", json_string(it->error));
        json_array_append_new(arr, o);
    }
    return json_pack("{s:s, s:o}", "message_type", "summary", "components", arr);
}

void recoverResultPrint(const RecoverSet *set, FILE *out) {
    UiTable *t = uiTableNew();
    static const char *const heads[] = {"Component", "Snapshot", "Recovered as of", "Bytes",
                                        "Duration",  "Verified", "Result"};
    for (int c = 0; c < 7; c++)
        uiTableColumn(t, heads[c], c == 3 || c == 4 ? UI_ALIGN_RIGHT : UI_ALIGN_LEFT);
    for (size_t i = 0; i < set->count; i++) {
        const RecoverItem *it = &set->items[i];
        char hex[LB_ID_HEX_LEN + 1], asOf[32], size[32], secs[32];
        lbIdToHex(&it->snap.id, hex);
        lbFormatTimeShort(it->choice.asOfNs, asOf, sizeof(asOf));
        cliFormatBytes((double)it->bytes, size, sizeof(size));
        cliFormatDuration(it->seconds, secs, sizeof(secs));
        uiTableCell(t, it->comp->name);
        uiTableCellf(t, "%.8s", hex);
        uiTableCell(t, asOf);
        uiTableCell(t, size);
        uiTableCell(t, secs);
        uiTableCell(t, it->verified ? "yes" : "no");
        uiTableCell(t, it->ok ? "ok" : "FAILED");
    }
    uiTablePrint(t, out);
    uiTableFree(t);
    for (size_t i = 0; i < set->count; i++)
        if (!set->items[i].ok)
            fprintf(out, "%s: %s\n", set->items[i].comp->name, set->items[i].error ? set->items[i].error : "failed");
}
