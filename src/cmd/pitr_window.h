/*
 * pitr_window.h - the window of point-in-time recovery of each physical
 * PostgreSQL component (pg/walwindow.h), as `points` and `snapshots` show
 * it: a JSON array (one object per component) and its text lines.
 */
#ifndef LIFEBOAT_CMD_PITR_WINDOW_H
#define LIFEBOAT_CMD_PITR_WINDOW_H

#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "repo/repo.h"
#include "snapshot/snapshot.h"

/* Append to out (a JSON array) the window of each component that has a
 * physical snapshot in list matching filter (NULL: every one). */
bool cliPitrWindows(Repo *repo, const SnapshotList *list, const SnapshotFilter *filter, json_t *out, LbError *err);

/* One line per element of windows (as cliPitrWindows made them). */
void cliPitrWindowsPrint(const json_t *windows);

#endif
