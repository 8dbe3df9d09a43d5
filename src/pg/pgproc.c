/* pgproc.c - child processes for the PostgreSQL client programs. */
#include "pg/pgproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/childenv.h"
#include "crypto/crypto.h"

extern char **environ;

#define PGPROC_STDERR_MAX (64 * 1024)

struct PgProc {
    char *name;    /* argv[0] (owned) */
    char *secret;  /* masked in stderr (owned, may be NULL) */
    pid_t pid;     /* -1 once reaped */
    int status;    /* waitpid status once reaped */
    int errFd;     /* memfd holding the child's stderr */
    char *errText; /* read after the child ended (owned) */
};

static bool isExecutable(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *pgprocFind(const char *binDir, const char *name, LbError *err) {
    if (binDir && binDir[0]) {
        char *p = lbXasprintf("%s/%s", binDir, name);
        if (isExecutable(p))
            return p;
        free(p);
        lbErr(err, LB_ERR_NOT_FOUND, "unable to find '%s' in '%s' (given with --pg-bin)", name, binDir);
        return NULL;
    }
    if (strchr(name, '/'))
        return lbXstrdup(name);
    const char *path = getenv("PATH");
    if (path == NULL || path[0] == '\0')
        path = "/usr/local/bin:/usr/bin:/bin";
    char *copy = lbXstrdup(path), *save = NULL;
    char *found = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
        char *p = lbXasprintf("%s/%s", dir[0] ? dir : ".", name);
        if (isExecutable(p))
            found = p;
        else
            free(p);
    }
    free(copy);
    if (found == NULL)
        lbErr(err, LB_ERR_NOT_FOUND,
              "unable to find '%s' on PATH. HINT: Install the PostgreSQL client programs (Debian: apt-get install "
              "postgresql-client) or name their directory with --pg-bin.",
              name);
    return found;
}

/* Make fd the child's descriptor target (clearing close-on-exec). Runs in
 * the child between fork and exec: async-signal-safe calls only. */
static void childDup(int fd, int target) {
    if (fd == target)
        fcntl(fd, F_SETFD, 0);
    else
        dup2(fd, target);
}

PgProc *pgprocStart(const char *path, char *const *argv, const PgProcOptions *opts, LbError *err) {
    int devnull = -1, errFd = -1;
    PgProc *proc = NULL;
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) {
        lbErrSys(err, "unable to open '/dev/null'");
        goto cleanup;
    }
    errFd = memfd_create("lifeboat-child-stderr", MFD_CLOEXEC);
    if (errFd < 0) {
        lbErrSys(err, "unable to capture the output of '%s'", argv[0]);
        goto cleanup;
    }
    int inFd = opts->stdinFd > 0 ? opts->stdinFd : devnull;
    int outFd = opts->stdoutFd > 0 ? opts->stdoutFd : devnull;
    char *const *envp = opts->envp ? opts->envp : environ;
    pid_t pid = fork();
    if (pid < 0) {
        lbErrSys(err, "unable to start '%s'", argv[0]);
        goto cleanup;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        childDup(inFd, STDIN_FILENO);
        childDup(outFd, STDOUT_FILENO);
        childDup(errFd, STDERR_FILENO);
        close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        if (opts->keepFd > 2)
            fcntl(opts->keepFd, F_SETFD, 0);
        /* the child's copy of the array: the parent's stays as it was */
        lbChildEnvScrub((char **)envp, opts->envFlags);
        execve(path, argv, envp);
        static const char msg[] = "unable to run the program\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
        (void)w;
        _exit(127);
    }
    proc = lbXcalloc(1, sizeof(*proc));
    proc->name = lbXstrdup(argv[0]);
    proc->secret = opts->secret && opts->secret[0] ? lbXstrdup(opts->secret) : NULL;
    proc->pid = pid;
    proc->errFd = errFd;
    errFd = -1;
cleanup:
    if (devnull >= 0)
        close(devnull);
    if (errFd >= 0)
        close(errFd);
    return proc;
}

/* Read the tail of the captured stderr into proc->errText. */
static void readStderr(PgProc *proc) {
    free(proc->errText);
    proc->errText = NULL;
    struct stat st;
    off_t size = fstat(proc->errFd, &st) == 0 ? st.st_size : 0;
    off_t from = size > PGPROC_STDERR_MAX ? size - PGPROC_STDERR_MAX : 0;
    size_t len = (size_t)(size - from);
    char *text = lbXmalloc(len + 1);
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(proc->errFd, text + got, len - got, from + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    text[got] = '\0';
    while (got > 0 && (text[got - 1] == '\n' || text[got - 1] == '\r'))
        text[--got] = '\0';
    if (proc->secret) {
        LbBuf b = {0};
        size_t sl = strlen(proc->secret);
        const char *p = text;
        for (const char *hit; (hit = strstr(p, proc->secret)) != NULL; p = hit + sl) {
            lbBufAppend(&b, p, (size_t)(hit - p));
            lbBufAppendStr(&b, "<redacted>");
        }
        lbBufAppendStr(&b, p);
        lbBufAppend(&b, "", 1);
        free(text);
        text = (char *)lbBufTake(&b, NULL);
    }
    proc->errText = text;
}

bool pgprocWait(PgProc *proc, LbError *err) {
    if (proc->pid > 0) {
        int status = 0;
        while (waitpid(proc->pid, &status, 0) < 0) {
            if (errno != EINTR) {
                status = 0x7f00; /* unknown: treat as exit status 127 */
                break;
            }
        }
        proc->status = status;
        proc->pid = -1;
        readStderr(proc);
    }
    int st = proc->status;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return true;
    /* the tail of stderr is where a program says why it stopped */
    const char *text = proc->errText ? proc->errText : "";
    size_t tl = strlen(text);
    const char *tail = tl > 700 ? text + tl - 700 : text;
    if (WIFEXITED(st))
        return lbErr(err, LB_ERR_COMMAND, "%s failed (exit status %d)%s%s%s", proc->name, WEXITSTATUS(st),
                     tl ? ": " : "", tail != text ? "..." : "", tail);
    return lbErr(err, LB_ERR_COMMAND, "%s was killed by signal %d%s%s%s", proc->name, WTERMSIG(st), tl ? ": " : "",
                 tail != text ? "..." : "", tail);
}

const char *pgprocStderr(PgProc *proc) {
    return proc->errText ? proc->errText : "";
}

pid_t pgprocPid(const PgProc *proc) {
    return proc->pid;
}

void pgprocFree(PgProc *proc) {
    if (proc == NULL)
        return;
    if (proc->pid > 0) {
        kill(proc->pid, SIGTERM);
        while (waitpid(proc->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    close(proc->errFd);
    free(proc->name);
    if (proc->secret) {
        cryptoWipe(proc->secret, strlen(proc->secret));
        free(proc->secret);
    }
    free(proc->errText);
    free(proc);
}
