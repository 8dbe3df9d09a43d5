/*
 * walret.h - the WAL retention pass of `forget` and `prune`
 * (--keep-wal-within): its options and its text output. The work is
 * pg/walretain.c.
 */
#ifndef LIFEBOAT_CMD_WALRET_H
#define LIFEBOAT_CMD_WALRET_H

#include <stdbool.h>

#include "config/parse.h"
#include "pg/walretain.h"

/* Fill *out from --keep-wal-within and --dry-run; false when
 * --keep-wal-within was not given (no WAL pass). */
bool cliWalRetainOptions(const CfgValues *cfg, WalRetainOptions *out);

/* The WAL pass as text: a summary line, and with --dry-run the names. */
void cliWalRetainPrint(const WalRetainOptions *o, const WalRetainResult *r);

#endif
