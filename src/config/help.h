/*
 * help.h - help text and documentation generated from the option table.
 *
 * `lifeboat --help` lists the verbs and their variants; `lifeboat VERB
 * --help` (or -h, or `lifeboat help VERB [--VARIANT]`) prints the usage and
 * exactly the options that variant takes, the global ones apart. The
 * hidden `lifeboat help --markdown` prints the option tables of
 * docs/commands.md, each between <!-- options:ID --> markers
 * (scripts/gen-command-docs.py puts them into the file).
 */
#ifndef LIFEBOAT_CONFIG_HELP_H
#define LIFEBOAT_CONFIG_HELP_H

#include <stdio.h>

#include "config/option.h"

/* usage line, the verbs and variants, the global options */
void cfgHelpCommands(FILE *out);
/* usage, summary and options of one verb or variant */
void cfgHelpCommand(FILE *out, CfgCommand cmd);
/* markdown option tables: of cmd, or (cfgCmdNone) of every command and the
 * global options, each between its markers */
void cfgHelpMarkdown(FILE *out, CfgCommand cmd);
/* "backup-pg-physical": the marker ID of a command ("global" for cfgCmdNone) */
void cfgHelpId(CfgCommand cmd, char *buf, size_t size);

#endif
