/* file_monitor.c - the configuration file's `monitoring:` section
 * (config/file.h CfgMonitoring; docs/monitoring.md). */
#include "config/file_int.h"

void cfgLoadMonitoring(CfgLoad *ld, yaml_node_t *node) {
    ld->file->monitoring.refresh = 300;
    if (node && !cfgIsNull(node) &&
        !(node->type == YAML_MAPPING_NODE && node->data.mapping.pairs.top == node->data.mapping.pairs.start))
        cfgLoadError(ld, node, "monitoring", "not available in this version");
}
