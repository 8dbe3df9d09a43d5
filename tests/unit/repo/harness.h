/*
 * harness.h - helpers shared by the unit tests of src/repo: a "borrowing"
 * storage driver and a capture of the logger's output.
 *
 * A Repo owns its Storage and frees it, so to open one store several times
 * (as several processes would) each Repo gets a thin borrowing driver that
 * forwards to a shared Storage and frees nothing. The driver can make
 * operations on names under a prefix fail, or make puts under a prefix
 * "succeed" while storing nothing (an object lost behind the writer's back).
 */
#ifndef LIFEBOAT_TESTS_UNIT_REPO_HARNESS_H
#define LIFEBOAT_TESTS_UNIT_REPO_HARNESS_H

#include <stdio.h>

#include "storage/storage.h"

/* Names with these prefixes fail with LB_ERR_IO for that operation (NULL =
 * never); puts of names with prefix drop report success and store nothing.
 * A test may change them while a Repo uses the driver. */
typedef struct Faults {
    const char *put, *get, *list, *remove, *stat;
    const char *drop;
} Faults;

/* A borrowing driver over inner (which the caller keeps and frees); puts of
 * names starting with failPutPrefix fail (NULL = none). */
Storage *borrow(Storage *inner, const char *failPutPrefix);
/* A borrowing driver whose faults the test controls through *faults. */
Storage *borrowFaulty(Storage *inner, Faults *faults);

/* Capture what is written to stderr (the logger's output) between begin and
 * end; end returns it NUL-terminated (caller frees). */
typedef struct Capture {
    int saved;
    FILE *file;
} Capture;
void captureBegin(Capture *c);
char *captureEnd(Capture *c);

#endif
