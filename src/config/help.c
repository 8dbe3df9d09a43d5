/* help.c - help text and docs/commands.md option tables from the option table. */
#include "config/help.h"

#include <stdbool.h>
#include <string.h>

#define HELP_COLUMN 32

/* "-H, --host H" / "    --from-repo LOCATION" */
static void optionSynopsis(CfgOptionId id, bool from, bool markdown, char *buf, size_t size) {
    const CfgOption *o = &cfgOptionTable[id];
    char shortForm[8] = "";
    if (o->shortName && !from)
        snprintf(shortForm, sizeof(shortForm), "-%c, ", o->shortName);
    else if (!markdown)
        snprintf(shortForm, sizeof(shortForm), "    ");
    snprintf(buf, size, "%s--%s%s%s%s", shortForm, from ? "from-" : "", o->name, o->valueName ? " " : "",
             o->valueName ? o->valueName : "");
}

static bool shown(CfgOptionId id) {
    return !(cfgOptionTable[id].flags & CFG_OPT_HIDDEN);
}

/* the option's environment variable on cmd (NULL: none, or one that
 * applies where the option records while cmd selects) */
static const char *rowEnv(CfgOptionId id, CfgCommand cmd, bool from, char *buf, size_t size) {
    const CfgOption *o = &cfgOptionTable[id];
    if ((o->flags & CFG_OPT_ENV_RECORD) && cfgOptionHelp(id, cmd) == o->helpSelect)
        return NULL;
    return cfgOptionEnv(id, from, buf, size);
}

static void textRow(FILE *out, CfgCommand cmd, CfgOptionId id, bool from) {
    const CfgOption *o = &cfgOptionTable[id];
    char syn[128], env[80];
    optionSynopsis(id, from, false, syn, sizeof(syn));
    const char *envName = rowEnv(id, cmd, from, env, sizeof(env));
    if (strlen(syn) + 2 >= HELP_COLUMN - 1)
        fprintf(out, "  %s\n%*s", syn, HELP_COLUMN, "");
    else
        fprintf(out, "  %-*s", HELP_COLUMN - 2, syn);
    fprintf(out, "%s", cfgOptionHelp(id, cmd));
    if (o->defaultValue)
        fprintf(out, " (default: %s)", o->defaultValue);
    if (envName)
        fprintf(out, " [env %s]", envName);
    fprintf(out, "\n");
}

static bool isGlobal(CfgOptionId id) {
    return cfgOptionTable[id].scope != cfgScopeCommand;
}

static void globalRows(FILE *out) {
    for (int i = 0; i < CFG_OPTION_COUNT; i++)
        if (isGlobal((CfgOptionId)i) && shown((CfgOptionId)i))
            textRow(out, cfgCmdNone, (CfgOptionId)i, false);
}

void cfgHelpCommands(FILE *out) {
    fprintf(out, "usage: lifeboat [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
    for (int k = 0; k < CFG_COMMAND_COUNT; k++) {
        if (k == cfgCmdVersion)
            continue;
        char label[64];
        cfgCommandLabel((CfgCommand)k, label, sizeof(label));
        fprintf(out, "  %-22s %s\n", label, cfgCommandTable[k].summary);
    }
    fprintf(out, "\nglobal options (before or after the command):\n");
    globalRows(out);
    fprintf(out, "\n'lifeboat COMMAND --help' shows the options of a command. The password comes from\n"
                 "LIFEBOAT_PASSWORD_FILE, LIFEBOAT_PASSWORD_COMMAND, LIFEBOAT_PASSWORD or a prompt.\n"
                 "exit codes: 0 ok, 1 error, 3 incomplete, 10 no repository, 11 locked, 12 wrong password\n");
}

void cfgHelpCommand(FILE *out, CfgCommand cmd) {
    const CfgCommandInfo *c = &cfgCommandTable[cmd];
    char label[64];
    cfgCommandLabel(cmd, label, sizeof(label));
    fprintf(out, "usage: lifeboat %s %s\n\n%s\n", c->name, c->usage, c->summary);
    bool any = false;
    for (int i = 0; i < CFG_OPTION_COUNT; i++) {
        if (isGlobal((CfgOptionId)i) || !shown((CfgOptionId)i) || !cfgOptionAccepted((CfgOptionId)i, cmd, false))
            continue;
        if (!any)
            fprintf(out, "\noptions:\n");
        any = true;
        textRow(out, cmd, (CfgOptionId)i, false);
    }
    if (c->sourceRepo) {
        fprintf(out, "\nsource repository options:\n");
        for (int i = 0; i < CFG_OPTION_COUNT; i++)
            if (cfgOptionAccepted((CfgOptionId)i, cmd, true))
                textRow(out, cmd, (CfgOptionId)i, true);
    }
    bool variants = false;
    for (int k = 0; k < CFG_COMMAND_COUNT; k++) {
        if (k == (int)cmd || strcmp(cfgCommandTable[k].name, c->name) != 0)
            continue;
        char other[64];
        cfgCommandLabel((CfgCommand)k, other, sizeof(other));
        fprintf(out, "%s  lifeboat help %s\n", variants ? "" : "\nother forms of this command:\n", other);
        variants = true;
    }
    fprintf(out, "\nglobal options:\n");
    globalRows(out);
}

void cfgHelpId(CfgCommand cmd, char *buf, size_t size) {
    if (cmd == cfgCmdNone) {
        snprintf(buf, size, "global");
        return;
    }
    cfgCommandLabel(cmd, buf, size); /* "backup --pg" -> "backup-pg" */
    char *sep = strstr(buf, " --");
    if (sep) {
        memmove(sep + 1, sep + 3, strlen(sep + 3) + 1);
        *sep = '-';
    }
}

/* text with '|' escaped for a markdown table cell */
static void cell(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
}

static void markdownRow(FILE *out, CfgCommand cmd, CfgOptionId id, bool from) {
    const CfgOption *o = &cfgOptionTable[id];
    char syn[128], env[80];
    optionSynopsis(id, from, true, syn, sizeof(syn));
    const char *envName = rowEnv(id, cmd, from, env, sizeof(env));
    fprintf(out, "| `");
    cell(out, syn);
    fprintf(out, "` | ");
    if (envName)
        fprintf(out, "`%s`", envName);
    fprintf(out, " | ");
    cell(out, cfgOptionHelp(id, cmd));
    if (o->defaultValue) {
        fprintf(out, " (default: `");
        cell(out, o->defaultValue);
        fprintf(out, "`)");
    }
    if (o->fileKey && cfgOptionHelp(id, cmd) != o->helpSelect) /* the key records; a filter has none */
        fprintf(out, "; configuration file: `%s`", o->fileKey);
    fprintf(out, " |\n");
}

static void markdownTable(FILE *out, CfgCommand cmd) {
    char id[64];
    cfgHelpId(cmd, id, sizeof(id));
    fprintf(out, "<!-- options:%s -->\n| option | environment | meaning |\n|---|---|---|\n", id);
    for (int i = 0; i < CFG_OPTION_COUNT; i++) {
        if (!shown((CfgOptionId)i))
            continue;
        if (cmd == cfgCmdNone ? isGlobal((CfgOptionId)i)
                              : !isGlobal((CfgOptionId)i) && cfgOptionAccepted((CfgOptionId)i, cmd, false))
            markdownRow(out, cmd, (CfgOptionId)i, false);
    }
    for (int i = 0; cmd != cfgCmdNone && i < CFG_OPTION_COUNT; i++)
        if (cfgOptionAccepted((CfgOptionId)i, cmd, true))
            markdownRow(out, cmd, (CfgOptionId)i, true);
    fprintf(out, "<!-- /options:%s -->\n", id);
}

static const char *typeName(CfgType t) {
    static const char *const names[] = {
        [cfgTypeFlag] = "boolean", [cfgTypeCount] = "count",        [cfgTypeString] = "string",
        [cfgTypeStrings] = "list", [cfgTypeList] = "list",          [cfgTypeInt] = "integer",
        [cfgTypeSize] = "size",    [cfgTypePercent] = "percentage", [cfgTypeDuration] = "retention duration",
        [cfgTypeTime] = "time",    [cfgTypeEnum] = "choice",        [cfgTypeSeconds] = "duration",
    };
    return names[t];
}

/* the configuration file's keys that mirror an option, in table order */
static void markdownFileKeys(FILE *out) {
    fprintf(out, "<!-- keys:file -->\n| key | type | option | meaning |\n|---|---|---|---|\n");
    for (int i = 0; i < CFG_OPTION_COUNT; i++) {
        const CfgOption *o = &cfgOptionTable[i];
        if (o->fileKey == NULL)
            continue;
        fprintf(out, "| `%s` | %s | `--%s` | ", o->fileKey, typeName(o->type), o->name);
        cell(out, o->help);
        if (o->defaultValue) {
            fprintf(out, " (default: `");
            cell(out, o->defaultValue);
            fprintf(out, "`)");
        }
        fprintf(out, " |\n");
    }
    fprintf(out, "<!-- /keys:file -->\n");
}

void cfgHelpMarkdown(FILE *out, CfgCommand cmd) {
    if (cmd != cfgCmdNone) {
        markdownTable(out, cmd);
        return;
    }
    markdownFileKeys(out);
    markdownTable(out, cfgCmdNone);
    for (int k = 0; k < CFG_COMMAND_COUNT; k++)
        if (k != cfgCmdHelp && k != cfgCmdVersion && k != cfgCmdStats)
            markdownTable(out, (CfgCommand)k);
}
