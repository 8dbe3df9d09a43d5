/*
 * command.h - a command's standard output as a backup source: the command
 * is started when the source is walked, its output stored as one file at
 * the top of the snapshot (as a stream, source/stream.h), and it must exit
 * with status 0 for the walk to succeed. The command inherits lifeboat's
 * environment without LIFEBOAT_PASSWORD and LIFEBOAT_FROM_PASSWORD, and its
 * standard error.
 *
 * Ownership: argv and name are borrowed and must outlive the source.
 */
#ifndef LIFEBOAT_SOURCE_COMMAND_H
#define LIFEBOAT_SOURCE_COMMAND_H

#include "source/source.h"

typedef struct CommandSource CommandSource;

/* argv: NULL-terminated, argv[0] looked up in PATH; name: the file name of
 * the output in the snapshot. Nothing is started yet. Free with
 * commandSourceFree (NULL is a no-op), which stops a command still running
 * (SIGTERM). */
CommandSource *commandSourceNew(char *const *argv, const char *name);
void commandSourceFree(CommandSource *src);

/* The source view for the archiver (borrows src). Its walk fails with
 * LB_ERR_COMMAND when the command exits with a status other than 0 or is
 * killed, with the stream's errors otherwise. */
Source commandSourceSource(CommandSource *src);

#endif
