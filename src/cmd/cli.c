/* cli.c - option parsing, passwords, repository opening and output helpers. */
#include "cmd/cli.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/log.h"
#include "config/storage_env.h"
#include "crypto/crypto.h"
#include "storage/storage.h"

enum {
    G_REPO = 1000,
    G_PASSWORD_FILE,
    G_PASSWORD_COMMAND,
    G_JSON,
    G_QUIET,
    G_VERBOSE,
    G_STORAGE = 1100, /* + CliStorageFlag */
};

static const CliOption globalOptions[] = {
    {"repo", 'r', true, G_REPO},
    {"password-file", 'p', true, G_PASSWORD_FILE},
    {"password-command", 0, true, G_PASSWORD_COMMAND},
    {"json", 0, false, G_JSON},
    {"quiet", 'q', false, G_QUIET},
    {"verbose", 'v', false, G_VERBOSE},
    {"s3-path-style", 0, false, G_STORAGE + CLI_S3_PATH_STYLE},
    {"s3-region", 0, true, G_STORAGE + CLI_S3_REGION},
    {"s3-sse", 0, true, G_STORAGE + CLI_S3_SSE},
    {"s3-sse-kms-key-id", 0, true, G_STORAGE + CLI_S3_SSE_KMS},
    {"s3-storage-class", 0, true, G_STORAGE + CLI_S3_STORAGE_CLASS},
    {"cacert", 0, true, G_STORAGE + CLI_CACERT},
    {"insecure-tls", 0, false, G_STORAGE + CLI_INSECURE_TLS},
    {"s3-profile", 0, true, G_STORAGE + CLI_S3_PROFILE},
    {"s3-credentials-file", 0, true, G_STORAGE + CLI_S3_CREDENTIALS_FILE},
    {"s3-config-file", 0, true, G_STORAGE + CLI_S3_CONFIG_FILE},
    {NULL, 0, false, 0},
};

static const CliOption *findLong(const CliOption *opts, const char *name, size_t len) {
    for (const CliOption *o = opts; o && o->longName; o++)
        if (strlen(o->longName) == len && strncmp(o->longName, name, len) == 0)
            return o;
    return NULL;
}

static const CliOption *findShort(const CliOption *opts, char c) {
    for (const CliOption *o = opts; o && o->longName; o++)
        if (o->shortName == c)
            return o;
    return NULL;
}

void cliStorageFlagApply(StorageOptions *s, CliStorageFlag flag, const char *value) {
    StorageS3Options *s3 = &s->s3;
    switch (flag) {
    case CLI_S3_PATH_STYLE:
        s3->pathStyle = true;
        break;
    case CLI_S3_REGION:
        s3->region = value;
        break;
    case CLI_S3_SSE:
        s3->sse = value;
        break;
    case CLI_S3_SSE_KMS:
        s3->sseKmsKeyId = value;
        break;
    case CLI_S3_STORAGE_CLASS:
        s3->storageClass = value;
        break;
    case CLI_CACERT:
        s3->caBundle = value;
        break;
    case CLI_INSECURE_TLS:
        s3->insecureTls = true;
        break;
    case CLI_S3_PROFILE:
        s3->profile = value;
        break;
    case CLI_S3_CREDENTIALS_FILE:
        s3->credentialsFile = value;
        break;
    case CLI_S3_CONFIG_FILE:
        s3->configFile = value;
        break;
    }
    if (flag == CLI_S3_PROFILE || flag == CLI_S3_CREDENTIALS_FILE || flag == CLI_S3_CONFIG_FILE)
        s3->accessKeyId = s3->secretAccessKey = s3->sessionToken = NULL; /* the profile asked for wins */
}

static bool applyGlobal(GlobalOpts *g, int id, const char *value) {
    switch (id) {
    case G_REPO:
        g->repo = value;
        return true;
    case G_PASSWORD_FILE:
        g->passwordFile = value;
        return true;
    case G_PASSWORD_COMMAND:
        g->passwordCommand = value;
        return true;
    case G_JSON:
        g->json = true;
        return true;
    case G_QUIET:
        g->quiet = true;
        return true;
    case G_VERBOSE:
        g->verbose++;
        return true;
    default:
        if (id > G_STORAGE && id <= G_STORAGE + CLI_S3_CONFIG_FILE) {
            cliStorageFlagApply(&g->storage, (CliStorageFlag)(id - G_STORAGE), value);
            return true;
        }
    }
    return false;
}

bool cliParse(int argc, char **argv, const CliOption *opts, CliOptionCb cb, void *ctx, GlobalOpts *g, CliArgs *args,
              LbError *err) {
    memset(args, 0, sizeof(*args));
    if (!cfgStorageOptionsFromEnv(&g->storage, err))
        return false;
    args->positional = lbXcalloc((size_t)argc + 1, sizeof(char *));
    args->afterDashDash = lbXcalloc((size_t)argc + 1, sizeof(char *));
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            for (int k = i + 1; k < argc; k++)
                args->afterDashDash[args->afterCount++] = argv[k];
            break;
        }
        const CliOption *o = NULL;
        const char *value = NULL;
        char label[128];
        if (strncmp(a, "--", 2) == 0) {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = findLong(globalOptions, name, len);
            if (o == NULL)
                o = findLong(opts, name, len);
            snprintf(label, sizeof(label), "--%.*s", (int)len, name);
            if (o == NULL)
                return lbErr(err, LB_ERR_ARGS, "unknown option '%s' for '%s'", label, argv[0]);
            if (eq) {
                if (!o->hasArg)
                    return lbErr(err, LB_ERR_ARGS, "option '%s' takes no value", label);
                value = eq + 1;
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            o = findShort(globalOptions, a[1]);
            if (o == NULL)
                o = findShort(opts, a[1]);
            snprintf(label, sizeof(label), "-%c", a[1]);
            if (o == NULL)
                return lbErr(err, LB_ERR_ARGS, "unknown option '%s' for '%s'", label, argv[0]);
            if (a[2] != '\0') {
                if (!o->hasArg)
                    return lbErr(err, LB_ERR_ARGS, "option '%s' takes no value", label);
                value = a + 2;
            }
        } else {
            args->positional[args->count++] = a;
            continue;
        }
        if (o->hasArg && value == NULL) {
            if (i + 1 >= argc)
                return lbErr(err, LB_ERR_ARGS, "option '%s' needs a value", label);
            value = argv[++i];
        }
        if (applyGlobal(g, o->id, value))
            continue;
        if (!cb(ctx, o->id, value, err))
            return false;
    }
    if (g->repo == NULL)
        g->repo = getenv("LIFEBOAT_REPOSITORY");
    if (g->json)
        g->quiet = true;
    lbLogSetLevel(g->verbose >= 2 ? LB_LOG_DEBUG : g->verbose == 1 ? LB_LOG_INFO : LB_LOG_WARN);
    return true;
}

void cliArgsFree(CliArgs *args) {
    free(args->positional);
    free(args->afterDashDash);
    memset(args, 0, sizeof(*args));
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

static bool runPasswordCommand(const char *cmd, char **out, LbError *err) {
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return lbErrSys(err, "unable to run the password command");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, p);
    /* drain so the command never blocks on a full pipe */
    char sink[256];
    while (fread(sink, 1, sizeof(sink), p) > 0)
        ;
    int status = pclose(p);
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
static bool passwordFrom(const char *envPrefix, const char *file, const char *cmd, const char *prompt, char **out,
                         LbError *err) {
    char name[64];
    snprintf(name, sizeof(name), "%s_PASSWORD", envPrefix);
    const char *env = getenv(name);
    if (env != NULL) {
        *out = lbXstrdup(env);
        return true;
    }
    snprintf(name, sizeof(name), "%s_PASSWORD_FILE", envPrefix);
    if (file == NULL)
        file = getenv(name);
    if (file != NULL)
        return readPasswordFile(file, out, err);
    snprintf(name, sizeof(name), "%s_PASSWORD_COMMAND", envPrefix);
    if (cmd == NULL)
        cmd = getenv(name);
    if (cmd != NULL)
        return runPasswordCommand(cmd, out, err);
    return promptPassword(prompt, out, err);
}

bool cliPassword(const GlobalOpts *g, char **out, LbError *err) {
    return passwordFrom("LIFEBOAT", g->passwordFile, g->passwordCommand, "enter password for repository: ", out, err);
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

static Repo *openWith(const char *location, const StorageOptions *storage, const char *envPrefix, const char *file,
                      const char *cmd, const char *prompt, LbError *err) {
    Storage *st = storageOpen(location, storage, err);
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
    if (!passwordFrom(envPrefix, file, cmd, prompt, &password, err)) {
        storageFree(st);
        return NULL;
    }
    Repo *repo = repoOpen(st, password, err);
    cliPasswordFree(password);
    return repo;
}

Repo *cliOpenRepo(const GlobalOpts *g, LbError *err) {
    return openWith(g->repo, &g->storage, "LIFEBOAT", g->passwordFile, g->passwordCommand,
                    "enter password for repository: ", err);
}

Repo *cliOpenSourceRepo(const char *location, const StorageOptions *storage, const char *file, const char *cmd,
                        LbError *err) {
    if (location == NULL)
        location = getenv("LIFEBOAT_FROM_REPOSITORY");
    if (location == NULL) {
        lbErr(err, LB_ERR_NO_REPO, "no source repository given: use --from-repo or set LIFEBOAT_FROM_REPOSITORY");
        return NULL;
    }
    StorageOptions fromEnv;
    if (storage == NULL) {
        if (!cfgStorageOptionsFromEnv(&fromEnv, err))
            return NULL;
        storage = &fromEnv;
    }
    return openWith(location, storage, "LIFEBOAT_FROM", file, cmd, "enter password for the source repository: ", err);
}

int cliFail(const LbError *err) {
    cliProgressDone();
    fprintf(stderr, "lifeboat: %s\n", err->msg);
    return lbErrorExitCode(err->code);
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

static bool progressActive = false;
static bool progressOn = false;

bool cliProgressEnabled(const GlobalOpts *g) {
    progressOn = !g->quiet && !g->json && isatty(STDERR_FILENO);
    return progressOn;
}

void cliProgressLine(const char *fmt, ...) {
    if (!progressOn)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    progressActive = true;
}

void cliProgressDone(void) {
    if (progressActive) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
        progressActive = false;
    }
}

void cliFormatBytes(double b, char *out, size_t n) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (b >= 1024 && u < 5) {
        b /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, n, "%.0f %s", b, units[u]);
    else
        snprintf(out, n, "%.2f %s", b, units[u]);
}

void cliFormatDuration(double s, char *out, size_t n) {
    if (s < 0)
        s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, n, "%ld:%02ld", t / 60, t % 60);
}

void cliSnapshotFill(Snapshot *snap, const ArchiverResult *res, int64_t timeNs, const char *host, char *const *tags,
                     size_t tagCount, const char *component, const char *recoveryPoint) {
    char here[256] = "unknown";
    if (host == NULL) {
        gethostname(here, sizeof(here) - 1);
        host = here;
    }
    snap->timeNs = timeNs ? timeNs : res->summary.startNs;
    snap->tree = res->tree;
    for (size_t i = 0; i < res->pathCount; i++)
        snapshotAddString(&snap->paths, &snap->pathCount, res->paths[i]);
    snap->hostname = lbXstrdup(host);
    struct passwd *pw = getpwuid(getuid());
    snap->username = lbXstrdup(pw ? pw->pw_name : "unknown");
    snap->uid = getuid();
    snap->gid = getgid();
    for (size_t i = 0; i < tagCount; i++)
        snapshotAddString(&snap->tags, &snap->tagCount, tags[i]);
    if (component)
        snap->component = lbXstrdup(component);
    if (recoveryPoint)
        snap->recoveryPoint = lbXstrdup(recoveryPoint);
}
