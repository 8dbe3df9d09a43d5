/* cli.c - global options, passwords, repository opening and output helpers. */
#include "cmd/cli.h"
#include "common/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/childenv.h"
#include "common/log.h"
#include "config/storage_env.h"
#include "crypto/crypto.h"
#include "job/report.h"
#include "storage/storage.h"

extern char **environ;

/* --retry-lock, for every repository this process opens; --no-lock */
static int64_t retryLockSeconds;
static bool noLock;

bool cliNoLock(void) {
    return noLock;
}

GlobalOpts cliGlobals(const CfgValues *cfg) {
    retryLockSeconds = cfgInt(cfg, cfgOptRetryLock);
    noLock = cfgFlag(cfg, cfgOptNoLock);
    const CfgRepository *r = cfgRepository(cfg, false);
    GlobalOpts g = {
        .repo = r->location,
        .passwordFile = r->passwordFile,
        .passwordCommand = r->passwordCommand,
        .passwordGiven = r->passwordGiven,
        .storage = &r->storage,
        .json = cfgFlag(cfg, cfgOptJson),
        .quiet = cfgFlag(cfg, cfgOptQuiet) || cfgFlag(cfg, cfgOptJson),
        .verbose = cfgCount(cfg, cfgOptVerbose),
    };
    lbLogSetLevel(g.verbose >= 2 ? LB_LOG_DEBUG : g.verbose == 1 ? LB_LOG_INFO : LB_LOG_WARN);
    return g;
}

CliArgs cliArgs(const CfgValues *cfg) {
    CliArgs a;
    a.positional = cfgArgs(cfg, &a.count);
    a.afterDashDash = cfgArgsAfterDashDash(cfg, &a.afterCount);
    return a;
}

void cliAtFilter(const char *at, SnapshotFilter *f) {
    int64_t ns;
    if (at == NULL)
        return;
    if (strchr(at, '@'))
        f->recoveryPoint = at;
    else if (lbParseAt(at, lbNowNs(), &ns) && ns != INT64_MAX)
        f->atNs = ns;
}

SnapshotFilter cliFilter(const CfgValues *cfg) {
    SnapshotFilter f = {.host = cfgStr(cfg, cfgOptHost), .component = cfgStr(cfg, cfgOptComponent)};
    f.tagGroups = cfgGroups(cfg, cfgOptTag, &f.tagGroupCount);
    f.recoveryPoint = cfgStr(cfg, cfgOptRecoveryPoint);
    cliAtFilter(cfgStr(cfg, cfgOptAt), &f);
    return f;
}

static void stripNewline(char *s) {
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

static bool readPasswordFile(const char *path, char **out, LbError *err) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return lbErrSys(err, "unable to read password file '%s'", path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    fclose(f);
    if (n < 0) {
        free(line);
        return lbErr(err, LB_ERR_ARGS, "password file '%s' is empty", path);
    }
    stripNewline(line);
    *out = line;
    return true;
}

/* popen without our secrets in the command's environment (it prints the
 * password: it never needs it; S3 keys stay for `aws secretsmanager ...`).
 * NULL with errno set when it cannot be started; *pid is the shell's. */
static FILE *startPasswordCommand(const char *cmd, pid_t *pid) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return NULL;
    fflush(NULL);
    *pid = fork();
    if (*pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        lbChildEnvScrub(environ, LB_CHILD_ENV_KEEP_S3);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int saved = errno;
    close(fds[1]);
    FILE *p = *pid > 0 ? fdopen(fds[0], "r") : NULL;
    if (p == NULL) {
        saved = errno;
        close(fds[0]);
        if (*pid > 0)
            while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
                ;
    }
    errno = saved;
    return p;
}

static bool runPasswordCommand(const char *cmd, char **out, LbError *err) {
    pid_t pid = -1;
    FILE *p = startPasswordCommand(cmd, &pid);
    if (p == NULL)
        return lbErrSys(err, "unable to run the password command");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, p);
    /* drain so the command never blocks on a full pipe */
    char sink[256];
    while (fread(sink, 1, sizeof(sink), p) > 0)
        ;
    fclose(p);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            status = -1;
            break;
        }
    }
    if (status != 0 || n < 0) {
        if (line)
            cryptoWipe(line, cap);
        free(line);
        return lbErr(err, LB_ERR_ARGS, "the password command failed (exit status %d) or printed nothing",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    stripNewline(line);
    *out = line;
    return true;
}

static bool promptPassword(const char *prompt, char **out, LbError *err) {
    FILE *tty = fopen("/dev/tty", "r+");
    if (tty == NULL)
        return lbErr(err, LB_ERR_ARGS,
                     "no password given: set LIFEBOAT_PASSWORD_FILE or LIFEBOAT_PASSWORD_COMMAND, or run on a "
                     "terminal");
    fprintf(tty, "%s", prompt);
    fflush(tty);
    struct termios old, quiet;
    int fd = fileno(tty);
    bool restored = tcgetattr(fd, &old) == 0;
    if (restored) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, tty);
    if (restored)
        tcsetattr(fd, TCSAFLUSH, &old);
    fprintf(tty, "\n");
    fclose(tty);
    if (n < 0) {
        free(line);
        return lbErr(err, LB_ERR_ARGS, "no password entered");
    }
    stripNewline(line);
    *out = line;
    return true;
}

/* The password sources in order: an explicit value, a file, a command, a
 * prompt; envPrefix is "LIFEBOAT" or "LIFEBOAT_FROM". */
/* The password: from file or cmd when given as an option (given), else
 * PREFIX_PASSWORD, else file or cmd (from PREFIX_PASSWORD_FILE,
 * PREFIX_PASSWORD_COMMAND), else a prompt. */
static bool passwordFrom(const char *envPrefix, const char *file, const char *cmd, bool given, const char *prompt,
                         char **out, LbError *err) {
    char name[64];
    snprintf(name, sizeof(name), "%s_PASSWORD", envPrefix);
    const char *env = given ? NULL : getenv(name);
    if (env != NULL) {
        *out = lbXstrdup(env);
        return true;
    }
    snprintf(name, sizeof(name), "%s_PASSWORD_FILE", envPrefix);
    if (file == NULL && !given)
        file = getenv(name);
    if (file != NULL)
        return readPasswordFile(file, out, err);
    snprintf(name, sizeof(name), "%s_PASSWORD_COMMAND", envPrefix);
    if (cmd == NULL && !given)
        cmd = getenv(name);
    if (cmd != NULL)
        return runPasswordCommand(cmd, out, err);
    return promptPassword(prompt, out, err);
}

bool cliPassword(const GlobalOpts *g, char **out, LbError *err) {
    return passwordFrom("LIFEBOAT", g->passwordFile, g->passwordCommand, g->passwordGiven,
                        "enter password for repository: ", out, err);
}

bool cliNewPassword(const GlobalOpts *g, const char *newPasswordFile, bool fallBackToCurrent, char **out,
                    LbError *err) {
    const char *file = newPasswordFile ? newPasswordFile : getenv("LIFEBOAT_NEW_PASSWORD_FILE");
    if (file != NULL)
        return readPasswordFile(file, out, err);
    if (fallBackToCurrent && (getenv("LIFEBOAT_PASSWORD") || g->passwordFile || getenv("LIFEBOAT_PASSWORD_FILE") ||
                              g->passwordCommand || getenv("LIFEBOAT_PASSWORD_COMMAND")))
        return cliPassword(g, out, err);
    char *a = NULL, *b = NULL;
    if (!promptPassword("enter new password: ", &a, err))
        return false;
    if (!promptPassword("enter the new password again: ", &b, err)) {
        cliPasswordFree(a);
        return false;
    }
    bool same = strcmp(a, b) == 0;
    cliPasswordFree(b);
    if (!same) {
        cliPasswordFree(a);
        return lbErr(err, LB_ERR_ARGS, "the two passwords differ");
    }
    if (a[0] == '\0') {
        cliPasswordFree(a);
        return lbErr(err, LB_ERR_ARGS, "an empty password is not allowed");
    }
    *out = a;
    return true;
}

void cliPasswordFree(char *password) {
    if (password == NULL)
        return;
    cryptoWipe(password, strlen(password));
    free(password);
}

Storage *cliOpenStorage(const char *location, const StorageOptions *opts, LbError *err) {
    return storageOpen(location, opts, err);
}

static Repo *openWith(const char *location, const StorageOptions *opts, const char *envPrefix, const char *file,
                      const char *cmd, bool given, const char *prompt, LbError *err) {
    Storage *st = cliOpenStorage(location, opts, err);
    if (st == NULL)
        return NULL;
    StorageInfo info;
    if (!storageStat(st, "config", &info, err)) {
        storageFree(st);
        return NULL;
    }
    if (!info.exists) {
        lbErr(err, LB_ERR_NO_REPO, "unable to open repository '%s': no repository found there (run 'lifeboat init')",
              location);
        storageFree(st);
        return NULL;
    }
    char *password = NULL;
    if (!passwordFrom(envPrefix, file, cmd, given, prompt, &password, err)) {
        storageFree(st);
        return NULL;
    }
    Repo *repo = repoOpen(st, password, err);
    cliPasswordFree(password);
    if (repo)
        repoSetLockWait(repo, retryLockSeconds);
    return repo;
}

Repo *cliOpenRepo(const GlobalOpts *g, LbError *err) {
    return openWith(g->repo, g->storage, "LIFEBOAT", g->passwordFile, g->passwordCommand, g->passwordGiven,
                    "enter password for repository: ", err);
}

Repo *cliOpenSourceRepo(const CfgValues *cfg, LbError *err) {
    const CfgRepository *r = cfgRepository(cfg, true);
    if (r->location == NULL) {
        lbErr(err, LB_ERR_NO_REPO, "no source repository given: use --from-repo or set LIFEBOAT_FROM_REPOSITORY");
        return NULL;
    }
    return openWith(r->location, &r->storage, "LIFEBOAT_FROM", r->passwordFile, r->passwordCommand, r->passwordGiven,
                    "enter password for the source repository: ", err);
}

/* "lifeboat: <msg>" on stderr; the exit code. (A verb clears its progress
 * line, cliProgressFree, before it reports.) */
static int cliFailText(const LbError *err) {
    fprintf(stderr, "lifeboat: %s\n", err->msg);
    return lbErrorExitCode(err->code);
}

CliVerb cliVerb(const CfgValues *cfg) {
    return (CliVerb){.g = cliGlobals(cfg), .args = cliArgs(cfg), .filter = cliFilter(cfg)};
}

int cliFailJsonWith(const GlobalOpts *g, const LbError *err, const char *key, json_t *value) {
    int rc = cliFailText(err);
    if (g->json) {
        json_t *doc = jobErrorJson(err);
        if (key)
            json_object_set(doc, key, value);
        cliPrintJson(doc);
        fflush(stdout);
    }
    json_decref(value);
    return rc;
}

int cliFailJson(const GlobalOpts *g, const LbError *err) {
    return cliFailJsonWith(g, err, NULL, NULL);
}

int cliExit(const GlobalOpts *g, bool ok, const LbError *err) {
    return ok ? 0 : cliFailJson(g, err);
}

bool cliRepoOpen(const GlobalOpts *g, CliLock lock, CliRepo *out, LbError *err) {
    *out = (CliRepo){0};
    out->repo = cliOpenRepo(g, err);
    if (out->repo == NULL)
        return false;
    if (lock == CLI_LOCK_READ_SHARED || lock == CLI_LOCK_READ_EXCLUSIVE)
        return repoLockForReading(out->repo, lock == CLI_LOCK_READ_EXCLUSIVE, noLock, &out->lock, err);
    if (lock != CLI_LOCK_NONE)
        out->lock = repoLockAcquire(out->repo, lock == CLI_LOCK_EXCLUSIVE, err);
    return lock == CLI_LOCK_NONE || out->lock != NULL;
}

bool cliRepoOpenForReading(const GlobalOpts *g, CliLock lock, CliRepo *out, LbError *err) {
    /* a damaged index file is skipped with a warning: only blobs nothing
     * else names are missing, and reading one of those fails naming it */
    return cliRepoOpen(g, lock, out, err) && repoLoadIndexP(out->repo, err, .skipDamaged = true);
}

void cliRepoClose(CliRepo *r) {
    repoLockRelease(r->lock);
    repoFree(r->repo);
    *r = (CliRepo){0};
}

void cliPrintJson(json_t *value) {
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        free(text);
    }
    json_decref(value);
}

/* A progress line on stderr: redrawn in place, cut to the terminal's width
 * (a wrapped line could not be redrawn). */
struct CliProgress {
    bool active; /* a line is shown */
};

CliProgress *cliProgressNew(const GlobalOpts *g) {
    if (g->quiet || g->json || !isatty(STDERR_FILENO))
        return NULL;
    return lbXcalloc(1, sizeof(CliProgress));
}

/* The terminal's width in columns, 80 when unknown. */
static size_t terminalColumns(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

static void progressDraw(CliProgress *p, const char *fmt, va_list ap) {
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t width = terminalColumns();
    /* one column spare: writing the last one wraps on many terminals */
    size_t max = width > 1 ? width - 1 : 1;
    if (strlen(line) > max)
        line[max < sizeof(line) ? max : sizeof(line) - 1] = '\0';
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    p->active = true;
}

void cliProgressShow(CliProgress *p, const char *fmt, ...) {
    if (p == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    progressDraw(p, fmt, ap);
    va_end(ap);
}

void cliProgressClear(CliProgress *p) {
    if (p != NULL && p->active) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
        p->active = false;
    }
}

void cliProgressFree(CliProgress *p) {
    cliProgressClear(p);
    free(p);
}

void cliProgressJob(void *ctx, const JobProgress *jp) {
    CliProgress *p = ctx;
    if (p == NULL)
        return;
    char bytes[32], total[32], rate[32], elapsed[32], eta[32] = "?";
    double r = jp->elapsed > 0 ? (double)jp->bytesDone / jp->elapsed : 0;
    cliFormatBytes((double)jp->bytesDone, bytes, sizeof(bytes));
    cliFormatBytes(r, rate, sizeof(rate));
    cliFormatDuration(jp->elapsed, elapsed, sizeof(elapsed));
    if (jp->stream != NULL) { /* a stream's size is not known ahead */
        cliProgressShow(p, "[%s] %s: %s  %s/s", elapsed, jp->stream, bytes, rate);
        return;
    }
    cliFormatBytes((double)jp->bytesTotal, total, sizeof(total));
    if (jp->bytesTotal > jp->bytesDone && r > 0)
        cliFormatDuration((double)(jp->bytesTotal - jp->bytesDone) / r, eta, sizeof(eta));
    else if (jp->bytesTotal > 0)
        snprintf(eta, sizeof(eta), "0:00");
    cliProgressShow(p, "[%s] %llu / %llu files  %s / %s  %s/s  ETA %s", elapsed, (unsigned long long)jp->filesDone,
                    (unsigned long long)jp->filesTotal, bytes, total, rate, eta);
}

JobLabels cliJobLabels(const CfgValues *cfg) {
    JobLabels l = {
        .host = cfgStr(cfg, cfgOptHost),
        .timeNs = cfgInt(cfg, cfgOptTime),
        .component = cfgStr(cfg, cfgOptComponent),
        .recoveryPoint = cfgStr(cfg, cfgOptRecoveryPoint),
    };
    l.tags = cfgList(cfg, cfgOptTag, &l.tagCount);
    return l;
}

bool cliConnInfo(PgConnInfo **out, const char *value, const char *option, LbError *err) {
    PgConnInfo *info = pgconnInfoNew(value, err);
    pgconnScrubArg((char *)value);
    if (info == NULL)
        return lbErrorWrap(err, "invalid %s", option);
    pgconnInfoFree(*out);
    *out = info;
    return true;
}

void cliPrintReport(const GlobalOpts *g, const JobReport *report) {
    if (g->json)
        cliPrintJson(jobReportJson(report));
    else
        jobReportPrintText(report, g->quiet ? NULL : stdout, stderr);
}

int cliRunJob(const GlobalOpts *g, const JobSpec *spec) {
    LbError err = {0};
    Repo *repo = cliOpenRepo(g, &err);
    if (repo == NULL)
        return cliFailJson(g, &err);
    JobReport *report = jobReportNew(jobKindName(spec->kind));
    CliProgress *progress = cliProgressNew(g);
    JobEnv env = {.progress = progress ? cliProgressJob : NULL, .progressCtx = progress};
    jobRun(repo, spec, &env, report);
    cliProgressFree(progress);
    int rc = jobReportExitCode(report);
    if (jobReportFailed(report)) {
        rc = cliFailJson(g, jobReportError(report));
    } else {
        cliPrintReport(g, report);
    }
    jobReportFree(report);
    repoFree(repo);
    return rc;
}

/* the same units as every job report (job/report.h) */
void cliFormatBytes(double b, char *out, size_t n) {
    jobFormatBytes(b, out, n);
}

void cliFormatDuration(double s, char *out, size_t n) {
    jobFormatDuration(s, out, n);
}
