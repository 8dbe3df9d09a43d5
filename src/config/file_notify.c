/* file_notify.c - the configuration file's `notifications:` section
 * (config/file.h CfgNotification; docs/monitoring.md). */
#include "config/file_int.h"

void cfgLoadNotifications(CfgLoad *ld, yaml_node_t *node) {
    if (node && !cfgIsNull(node) &&
        !(node->type == YAML_MAPPING_NODE && node->data.mapping.pairs.top == node->data.mapping.pairs.start))
        cfgLoadError(ld, node, "notifications", "not available in this version");
}
