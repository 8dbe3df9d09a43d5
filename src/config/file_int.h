/*
 * file_int.h - what the parts of the configuration file loader share
 * (file.c: the schema; file_yaml.c: YAML nodes, messages, typed values;
 * file_show.c: config show). Not a public interface.
 */
#ifndef LIFEBOAT_CONFIG_FILE_INT_H
#define LIFEBOAT_CONFIG_FILE_INT_H

#include <yaml.h>

#include "common/buf.h"
#include "config/file.h"
#include "config/option.h"

/* The loader's state: the document, the messages so far, and everything the
 * CfgFile will own. */
typedef struct CfgLoad {
    const char *path;
    yaml_document_t doc;
    LbBuf msgs;
    int errors;
    CfgFile *file;
} CfgLoad;

/* A value read from the file: the text after ${NAME} expansion, whether an
 * expansion happened (a secret then stays out of config show). */
typedef struct CfgScalar {
    const char *text; /* NULL: absent, null or invalid */
    bool fromEnv;
    yaml_node_t *node;
} CfgScalar;

/* "FILE:LINE:COL: PATH: reason" for node (the file's start when NULL). */
void cfgLoadError(CfgLoad *ld, const yaml_node_t *node, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* ownership: the string or block belongs to ld->file from now on */
char *cfgLoadKeep(CfgLoad *ld, char *s);
char *cfgLoadDup(CfgLoad *ld, const char *s);

yaml_node_t *cfgNode(CfgLoad *ld, int index);
bool cfgIsNull(const yaml_node_t *n);
/* node is a map (a null or absent node is an empty one); else an error */
bool cfgIsMap(CfgLoad *ld, yaml_node_t *n, const char *path);
/* Check the keys of map: each a scalar, none twice, none a secret's name,
 * each in known or accepted by extra(ctx, key); errors otherwise (with the
 * closest known key as a suggestion). */
typedef bool (*CfgKeyFilter)(void *ctx, const char *key);
void cfgCheckKeys(CfgLoad *ld, yaml_node_t *map, const char *path, const char *const *known, CfgKeyFilter extra,
                  void *ctx);
/* The value node of key in map (NULL when absent). */
yaml_node_t *cfgGet(CfgLoad *ld, yaml_node_t *map, const char *key);

/* A scalar value, ${NAME} expanded. text NULL when absent or null (or on an
 * error, reported). required: absence is an error. */
CfgScalar cfgScalar(CfgLoad *ld, yaml_node_t *n, const char *path);
CfgScalar cfgGetStr(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, bool required);
/* true/yes/on or false/no/off (any case); false when s is neither */
bool cfgParseBool(const char *s, bool *out);
bool cfgGetBool(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, bool *out);
bool cfgGetInt(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, int64_t min, int64_t max,
               int64_t *out);
/* seconds-granular duration: 90s 5m 1h 2d 1w and their combinations */
bool cfgGetSeconds(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, int64_t *out);
/* A list of scalars (a single scalar is refused: lists are written as lists).
 * *out NULL-terminated, owned by the file; count in *n. */
bool cfgGetList(CfgLoad *ld, yaml_node_t *map, const char *key, const char *path, bool required,
                const char *const **out, size_t *n, CfgScalar **items);

/* libyaml's problem as "FILE:LINE:COL: reason (context at line N)" */
void cfgYamlError(CfgLoad *ld, yaml_parser_t *parser);
/* the column of the first tab in a line's indentation (its line in *line), or 0 */
size_t cfgTabIndent(const char *text, size_t *line);
/* msgs ("FILE:LINE:COL: ..." lines; the file's name pathLen long) in the order of the file */
void cfgSortMessages(LbBuf *msgs, size_t pathLen);

/* The closest of candidates to key (NULL when none is close). */
const char *cfgClosest(const char *key, const char *const *candidates, size_t n);

/* ---- keys as arguments (file_args.c) ---- */

/* An argument vector in the making: each argument with the node and key
 * path that made it, and its form for config show. */
typedef struct CfgArgBuild {
    char **v, **shown;
    yaml_node_t **node;
    char **key;
    size_t n;
} CfgArgBuild;

void cfgArgAdd(CfgLoad *ld, CfgArgBuild *b, const char *v, const char *shown, yaml_node_t *node, const char *key);
CfgArgs cfgArgsOf(CfgLoad *ld, const CfgArgBuild *b, bool shown);
void cfgArgBuildFree(CfgArgBuild *b);
/* The option a file key names (keep_within: --keep-within); cfgOptNone. */
CfgOptionId cfgOptionOfKey(const char *key);
/* val (a value, or a list for a repeatable option) as --NAME=VALUE
 * arguments; a flag is added when true. secret: a value from ${NAME} is
 * redacted in config show. */
bool cfgOptionToArgs(CfgLoad *ld, CfgArgBuild *b, CfgOptionId id, yaml_node_t *val, const char *kp, bool secret);
/* cfgParse ["lifeboat", pre..., verb, b...]; each error is reported at the
 * key of the argument it names (that argument is then dropped and the rest
 * parsed again), an error naming none at where. */
void cfgArgsValidate(CfgLoad *ld, const CfgArgs *pre, const char *verb, CfgArgBuild *b, yaml_node_t *where,
                     const char *wherePath);

/* monitoring: (file_monitor.c) and notifications: (file_notify.c) into
 * ld->file; node NULL when the key is absent. */
void cfgLoadMonitoring(CfgLoad *ld, yaml_node_t *node);
void cfgLoadNotifications(CfgLoad *ld, yaml_node_t *node);

#endif
