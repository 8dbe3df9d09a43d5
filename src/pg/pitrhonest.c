/* pitrhonest.c - reachable recovery point and a self-sufficient restore_command (pg/pitrhonest.h). */
#include "pg/pitrhonest.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "storage/storage.h"

/* ---- the chain in the repository ---- */

typedef struct StreamedPartial {
    uint64_t seg;
    uint32_t bytes;
    char name[WAL_NAME_MAX];
} StreamedPartial;

typedef struct SegList {
    uint32_t timeline;
    uint64_t perLog;
    uint64_t *segs;
    size_t count, cap;
    StreamedPartial *partials; /* wal-stream's <segment>.<bytes>.partial of the timeline */
    size_t partialCount;
} SegList;

static bool collectSeg(void *ctx, const char *name, uint64_t size) {
    (void)size;
    SegList *l = ctx;
    const char *slash = strrchr(name, '/');
    WalName w;
    const char *base = slash ? slash + 1 : name;
    if (!walNameParse(base, &w) || w.timeline != l->timeline)
        return true;
    if (w.kind == WAL_FILE_PARTIAL && w.streamedBytes > 0 && strlen(base) < WAL_NAME_MAX) {
        l->partials = lbXrealloc(l->partials, (l->partialCount + 1) * sizeof(StreamedPartial));
        StreamedPartial *p = &l->partials[l->partialCount++];
        p->seg = (uint64_t)w.log * l->perLog + w.seg;
        p->bytes = w.streamedBytes;
        snprintf(p->name, sizeof(p->name), "%s", base);
        return true;
    }
    if (w.kind != WAL_FILE_SEGMENT)
        return true;
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->segs = lbXrealloc(l->segs, l->cap * sizeof(uint64_t));
    }
    l->segs[l->count++] = (uint64_t)w.log * l->perLog + w.seg;
    return true;
}

static int cmpU64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool hasSeg(const SegList *l, uint64_t seg) {
    return l->count > 0 && bsearch(&seg, l->segs, l->count, sizeof(uint64_t), cmpU64) != NULL;
}

/* The longest streamed partial of seg; NULL when none. */
static const StreamedPartial *streamedPartial(const SegList *l, uint64_t seg) {
    const StreamedPartial *best = NULL;
    for (size_t i = 0; i < l->partialCount; i++)
        if (l->partials[i].seg == seg && (best == NULL || l->partials[i].bytes > best->bytes))
            best = &l->partials[i];
    return best;
}

bool pitrReachCompute(Repo *repo, const BasebackupInfo *in, PitrReach *r, LbError *err) {
    memset(r, 0, sizeof(*r));
    uint64_t ss = in->walSegmentSize ? in->walSegmentSize : (16u << 20);
    uint32_t tli = in->stopTimeline ? in->stopTimeline : in->startTimeline;
    SegList l = {.timeline = tli, .perLog = UINT64_C(0x100000000) / ss};
    if (!storageList(repoStorage(repo), WAL_DIR "/", collectSeg, &l, err)) {
        free(l.segs);
        free(l.partials);
        return lbErrorWrap(err, "unable to list the archived WAL");
    }
    if (l.count)
        qsort(l.segs, l.count, sizeof(uint64_t), cmpU64);
    uint64_t start = in->startLsn / ss, stop = (in->stopLsn ? in->stopLsn - 1 : 0) / ss;
    /* the chain from the backup's first segment (the tar may carry the
     * backup's own WAL: then the chain starts after it) */
    uint64_t last = start;
    bool any = hasSeg(&l, start);
    if (!any && in->walIncluded) {
        last = stop;
        any = hasSeg(&l, stop + 1);
        if (any)
            last = stop + 1;
    }
    while (any && hasSeg(&l, last + 1))
        last++;
    if (!any)
        last = stop; /* only what the tar carries */
    r->segments = any ? last - start + 1 : 0;
    r->lastSegStart = last * ss;
    r->reachLsn = any ? (last + 1) * ss : in->stopLsn;
    walSegmentName(tli, last * ss, ss, r->lastSegment, sizeof(r->lastSegment));
    r->gap = l.count > 0 && l.segs[l.count - 1] > last && l.segs[l.count - 1] > stop;
    if (r->gap)
        walSegmentName(tli, (last + 1) * ss, ss, r->missing, sizeof(r->missing));
    r->partial = r->gap || !any || last <= stop;
    /* wal-stream's newest WAL: a streamed partial of the segment after the
     * chain carries it on (wal-fetch serves it as that segment) */
    const StreamedPartial *sp =
        r->gap ? NULL : streamedPartial(&l, any ? last + 1 : (in->walIncluded ? stop + 1 : start));
    if (sp) {
        any = true;
        r->segments = sp->seg - start + 1;
        r->lastSegStart = sp->seg * ss;
        r->reachLsn = sp->seg * ss + sp->bytes;
        snprintf(r->lastSegment, sizeof(r->lastSegment), "%s", sp->name);
        r->partial = sp->seg * ss + sp->bytes < in->stopLsn;
    }
    if (any) {
        WalHeader h;
        bool exists = false;
        if (!walReadHeader(repo, r->lastSegment, &exists, &h, err)) {
            free(l.segs);
            free(l.partials);
            return false;
        }
        r->reachNs = exists ? h.timeNs : 0;
        snprintf(r->probe, sizeof(r->probe), "%s", r->lastSegment);
    } else {
        r->reachNs = in->stopNs;
        if (l.count) /* any archived segment of the timeline will do to try restore_command */
            walSegmentName(tli, l.segs[l.count - 1] * ss, ss, r->probe, sizeof(r->probe));
    }
    free(l.segs);
    free(l.partials);
    return true;
}

void pitrReachDescribe(const PitrReach *r, char *out, size_t n) {
    char lsn[32], when[48] = "";
    walLsnFormat(r->reachLsn, lsn, sizeof(lsn));
    if (r->reachNs)
        lbFormatTimeShort(r->reachNs, when, sizeof(when));
    snprintf(out, n, "LSN %s (the end of segment %s%s%s%s)", lsn, r->lastSegment, r->reachNs ? ", archived " : "", when,
             r->reachNs ? " UTC" : "");
}

/* ---- what the server reached ---- */

bool pitrReachedByServer(const char *dataDir, uint64_t *lsn, char *lastCommit, size_t n) {
    lastCommit[0] = '\0';
    char *walDir = lbXasprintf("%s/pg_wal", dataDir);
    DIR *d = opendir(walDir);
    uint32_t newest = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            WalName w;
            if (walNameParse(e->d_name, &w) && w.kind == WAL_FILE_HISTORY && w.timeline > newest)
                newest = w.timeline;
        }
        closedir(d);
    }
    bool found = false;
    if (newest) {
        /* the last line: "<parent timeline>\t<switch LSN>\t<reason>" */
        char *path = lbXasprintf("%s/%08" PRIX32 ".history", walDir, newest);
        FILE *f = fopen(path, "r");
        char line[512];
        while (f && fgets(line, sizeof(line), f)) {
            char lsnText[32];
            unsigned parent;
            if (line[0] != '#' && sscanf(line, "%u %31s", &parent, lsnText) == 2 && walLsnParse(lsnText, lsn))
                found = true;
        }
        if (f)
            fclose(f);
        free(path);
    }
    free(walDir);
    char *logPath = lbXasprintf("%s/lifeboat-recovery.log", dataDir);
    FILE *log = fopen(logPath, "r");
    char line[1024];
    static const char mark[] = "last completed transaction was at log time ";
    while (log && fgets(line, sizeof(line), log)) {
        char *p = strstr(line, mark);
        if (p) {
            snprintf(lastCommit, n, "%s", p + sizeof(mark) - 1);
            lastCommit[strcspn(lastCommit, "\r\n")] = '\0';
        }
    }
    if (log)
        fclose(log);
    free(logPath);
    return found;
}

/* ---- restore_command ---- */

static void assign(LbBuf *b, const char *name, const char *value) {
    char *q = pitrShellQuote(value);
    lbBufAppendStr(b, name);
    lbBufAppendStr(b, "=");
    lbBufAppendStr(b, q);
    lbBufAppendStr(b, " ");
    free(q);
}

/* An absolute, readable file: path, or the default under home. Caller frees. */
static char *existingFile(const char *path, const char *home, const char *dflt) {
    char *p = path ? lbXstrdup(path) : home ? lbXasprintf("%s/%s", home, dflt) : NULL;
    if (p == NULL || access(p, R_OK) != 0) {
        free(p);
        return NULL;
    }
    char *abs = realpath(p, NULL);
    free(p);
    return abs;
}

bool pitrS3Environment(const char *location, const StorageOptions *so, LbBuf *out, LbError *err) {
    if (strncmp(location, "s3:", 3) != 0 || so == NULL)
        return true;
    const StorageS3Options *s3 = &so->s3;
    char *creds = existingFile(s3->credentialsFile, s3->home, ".aws/credentials");
    char *conf = existingFile(s3->configFile, s3->home, ".aws/config");
    bool ok = false;
    if (creds == NULL && s3->credentialsFile) {
        lbErr(err, LB_ERR_ARGS, "unable to write restore_command: cannot read the S3 credentials file '%s'",
              s3->credentialsFile);
        goto cleanup;
    }
    if (creds == NULL && (s3->accessKeyId || s3->secretAccessKey || s3->sessionToken)) {
        lbErr(err, LB_ERR_ARGS,
              "unable to write restore_command: the S3 credentials are known only as values "
              "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), and lifeboat never writes a secret into the server's "
              "configuration. HINT: Put them in a credentials file readable by the server's user and give "
              "--s3-credentials-file FILE (or AWS_SHARED_CREDENTIALS_FILE), or write your own with "
              "--restore-command.");
        goto cleanup;
    }
    if (creds)
        assign(out, "AWS_SHARED_CREDENTIALS_FILE", creds);
    if (conf)
        assign(out, "AWS_CONFIG_FILE", conf);
    if (s3->profile)
        assign(out, "AWS_PROFILE", s3->profile);
    if (s3->region)
        assign(out, "LIFEBOAT_S3_REGION", s3->region);
    if (s3->pathStyle)
        assign(out, "LIFEBOAT_S3_PATH_STYLE", "1");
    if (s3->caBundle) {
        char *ca = realpath(s3->caBundle, NULL);
        assign(out, "LIFEBOAT_S3_CA_BUNDLE", ca ? ca : s3->caBundle);
        free(ca);
    }
    if (s3->insecureTls)
        assign(out, "LIFEBOAT_S3_INSECURE_TLS", "1");
    ok = true;
cleanup:
    free(creds);
    free(conf);
    return ok;
}

/* restore_command with %f, %p, %r and %% filled as PostgreSQL does. Caller frees. */
static char *fillCommand(const char *cmd, const char *name, const char *path) {
    LbBuf b = {0};
    for (const char *p = cmd; *p; p++) {
        if (p[0] == '%' && (p[1] == 'f' || p[1] == 'r')) {
            lbBufAppendStr(&b, name);
            p++;
        } else if (p[0] == '%' && p[1] == 'p') {
            lbBufAppendStr(&b, path);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            lbBufAppend(&b, "%", 1);
            p++;
        } else {
            lbBufAppend(&b, p, 1);
        }
    }
    lbBufAppend(&b, "", 1);
    return (char *)lbBufTake(&b, NULL);
}

bool pitrRestoreCommandTry(const char *restoreCommand, const PitrOwner *owner, const char *name, LbError *err) {
    char dir[] = "/tmp/lifeboat-restore-check.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return lbErrSys(err, "unable to create a folder to try restore_command in");
    char *walDir = lbXasprintf("%s/pg_wal", dir), *target = lbXasprintf("%s/RECOVERYXLOG", walDir);
    char *cmd = fillCommand(restoreCommand, name, "pg_wal/RECOVERYXLOG");
    struct passwd *pw = getpwuid(owner->change ? owner->uid : geteuid());
    char *home = lbXasprintf("HOME=%s", pw ? pw->pw_dir : "/");
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", home, "LANG=C.UTF-8", NULL};
    int fds[2] = {-1, -1};
    bool ok = false;
    if (mkdir(walDir, 0700) != 0 ||
        (owner->change && (chown(dir, owner->uid, owner->gid) != 0 || chown(walDir, owner->uid, owner->gid) != 0))) {
        lbErrSys(err, "unable to prepare '%s' to try restore_command", dir);
        goto cleanup;
    }
    pid_t pid = pitrForkPiped(fds, "run restore_command", err);
    if (pid < 0)
        goto cleanup;
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        if (!pitrChildBecome(owner) || chdir(dir) != 0)
            _exit(125);
        execle("/bin/sh", "sh", "-c", cmd, (char *)NULL, envp);
        _exit(127);
    }
    close(fds[1]);
    fds[1] = -1;
    char out[1024];
    size_t got = 0;
    int status = pitrChildCollect(pid, fds[0], out, sizeof(out), &got);
    while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == '\r'))
        out[--got] = '\0';
    struct stat st;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || stat(target, &st) != 0 || st.st_size == 0) {
        lbErr(err, LB_ERR_ARGS,
              "the restore_command written for the server does not work: run as user '%s' for '%s' it %s%s%s. "
              "HINT: The server runs it with its own environment: it must name the repository, a password file "
              "or command and, for S3, a credentials file the server's user can read.",
              owner->change ? owner->name : (pw ? pw->pw_name : "?"), name,
              WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "delivered nothing" : "failed", got ? ": " : "", out);
        goto cleanup;
    }
    ok = true;
cleanup:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    unlink(target);
    rmdir(walDir);
    rmdir(dir);
    free(walDir);
    free(target);
    free(cmd);
    free(home);
    return ok;
}
