/*
 * childenv.h - what of lifeboat's environment a child program never gets.
 *
 * Every program lifeboat starts (pg_dump, pg_dumpall, pg_restore, psql,
 * pg_basebackup, pg_ctl, tar, the --stdin-from-command command, the password
 * command) runs with lifeboat's environment minus its secrets:
 *
 *   always removed   every LIFEBOAT_ variable whose name holds PASSWORD,
 *                    SECRET or TOKEN (LIFEBOAT_PASSWORD, LIFEBOAT_FROM_PASSWORD,
 *                    LIFEBOAT_NEW_PASSWORD, ...), except those ending in _FILE
 *                    or _COMMAND: they name where a secret is, not the secret
 *   S3 secrets       AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, removed
 *                    unless LB_CHILD_ENV_KEEP_S3 is given: for a program that
 *                    may reach S3 on the user's behalf (a user's command such
 *                    as `aws s3 cp ... -`, a password command such as
 *                    `aws secretsmanager ...`, and pg_ctl, whose server runs
 *                    `lifeboat wal-fetch` against the repository)
 *
 * Everything else stays, PGPASSWORD and PGPASSFILE included (libpq's own
 * variables, the user's choice for the PostgreSQL programs).
 */
#ifndef LIFEBOAT_COMMON_CHILDENV_H
#define LIFEBOAT_COMMON_CHILDENV_H

#include <stdbool.h>
#include <stddef.h>

typedef enum LbChildEnvFlags {
    LB_CHILD_ENV_STRICT = 0,     /* remove lifeboat's secrets and the S3 secrets */
    LB_CHILD_ENV_KEEP_S3 = 0x1u, /* keep AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN */
} LbChildEnvFlags;

/* Is the "NAME=value" entry (or a bare NAME) one a child must not get? */
bool lbChildEnvIsSecret(const char *entry, unsigned flags);

/* Remove, in place, every entry lbChildEnvIsSecret names from the
 * NULL-terminated env (the order of the rest is kept); returns how many
 * entries remain. Allocates nothing and calls nothing that is not
 * async-signal-safe, so it runs in the child between fork and exec, on
 * `environ` or on an envp array the child is about to pass to execve (the
 * child's copy: the parent's is not changed). */
size_t lbChildEnvScrub(char **env, unsigned flags);

/* In a forked child: close every file descriptor from 3 up except keep
 * (-1: none), however high (close_range, else a loop up to the limit), so
 * no socket, database or lock of the parent lives on in the child. */
void lbChildCloseFds(int keep);

#endif
