/* main.c - lifeboat: argv -> verb, error -> documented exit code. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "cmd/cli.h"

typedef struct Verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} Verb;

static const Verb verbs[] = {
    {"init", cmdInit, "create a repository"},
    {"backup", cmdBackup, "back up paths, standard input or a command's output"},
    {"snapshots", cmdSnapshots, "list snapshots"},
    {"ls", cmdLs, "list the files of a snapshot"},
    {"diff", cmdDiff, "show what changed between two snapshots"},
    {"restore", cmdRestore, "restore a snapshot into a directory"},
    {"check", cmdCheck, "verify the repository (--read-data reads every pack)"},
    {"copy", cmdCopy, "copy snapshots from another repository (--from-repo)"},
    {"forget", cmdForget, "remove snapshots by a retention policy (--keep-*), optionally --prune"},
    {"prune", cmdPrune, "remove data no snapshot references"},
    {"wal-push", cmdWalPush, "archive_command: store a WAL segment (wal-push %p)"},
    {"wal-fetch", cmdWalFetch, "restore_command: fetch a WAL segment (wal-fetch %f %p)"},
    {"pg-check", cmdPgCheck, "report whether PostgreSQL WAL archiving works"},
    {"unlock", cmdUnlock, "remove stale locks"},
    {"stats", cmdStats, "show repository statistics"},
    {"key", cmdKey, "manage passwords: key add | list | remove ID | passwd"},
    {NULL, NULL, NULL},
};

/* Does argv hold option name (as "--name" or "--name=...")? */
static bool hasOption(int argc, char **argv, const char *name) {
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strncmp(argv[i], name, n) == 0 && (argv[i][n] == '\0' || argv[i][n] == '='))
            return true;
    }
    return false;
}

/* backup and restore of PostgreSQL are verbs of their own behind the same names */
static int (*pgVariant(const char *verb, int argc, char **argv))(int, char **) {
    if (strcmp(verb, "backup") == 0) {
        if (hasOption(argc, argv, "--pg-physical"))
            return cmdBackupPgPhysical;
        if (hasOption(argc, argv, "--pg"))
            return cmdBackupPgLogical;
    } else if (strcmp(verb, "restore") == 0) {
        if (hasOption(argc, argv, "--pg-physical"))
            return cmdRestorePgPhysical;
        if (hasOption(argc, argv, "--pg-target"))
            return cmdRestorePgLogical;
    }
    return NULL;
}

static void usage(FILE *out) {
    fprintf(out, "usage: lifeboat [-r REPO] COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
    for (const Verb *v = verbs; v->name; v++)
        fprintf(out, "  %-10s %s\n", v->name, v->help);
    fprintf(out, "\nrepository: -r/--repo or LIFEBOAT_REPOSITORY; password: LIFEBOAT_PASSWORD_FILE,\n"
                 "LIFEBOAT_PASSWORD_COMMAND, LIFEBOAT_PASSWORD or a prompt. See docs/commands.md.\n"
                 "exit codes: 0 ok, 1 error, 3 incomplete, 10 no repository, 11 locked, 12 wrong password\n");
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    /* Chunks and packs are 0.5-16 MiB buffers allocated and freed at a high
     * rate. Keep them on the heap instead of fresh mmaps so their pages are
     * reused rather than faulted in and zeroed by the kernel each time
     * (profiled: 17% of a backup's time was clear_page). */
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    /* the verb is the first argument that is not an option or a global option's value */
    int verbAt = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-r") == 0 || strcmp(a, "--repo") == 0 || strcmp(a, "-p") == 0 ||
            strcmp(a, "--password-file") == 0 || strcmp(a, "--password-command") == 0 ||
            strcmp(a, "--s3-region") == 0 || strcmp(a, "--s3-sse") == 0 || strcmp(a, "--s3-sse-kms-key-id") == 0 ||
            strcmp(a, "--s3-storage-class") == 0 || strcmp(a, "--cacert") == 0) {
            i++;
            continue;
        }
        if (a[0] == '-')
            continue;
        verbAt = i;
        break;
    }
    if (verbAt == 0) {
        for (int i = 1; i < argc; i++) {
            if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "version") == 0) {
                printf("lifeboat %s\n", LIFEBOAT_VERSION);
                return 0;
            }
            if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                usage(stdout);
                return 0;
            }
        }
        usage(stderr);
        return 1;
    }
    if (strcmp(argv[verbAt], "version") == 0) {
        printf("lifeboat %s\n", LIFEBOAT_VERSION);
        return 0;
    }
    if (strcmp(argv[verbAt], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (const Verb *v = verbs; v->name; v++) {
        if (strcmp(v->name, argv[verbAt]) == 0) {
            /* move the verb to the front: the verb's parser sees argv[0] = verb */
            char *verb = argv[verbAt];
            for (int i = verbAt; i > 1; i--)
                argv[i] = argv[i - 1];
            argv[1] = verb;
            int (*run)(int, char **) = pgVariant(verb, argc - 1, argv + 1);
            return (run ? run : v->run)(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "lifeboat: unknown command '%s'\n", argv[verbAt]);
    usage(stderr);
    return 1;
}
