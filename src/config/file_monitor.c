/* file_monitor.c - the configuration file's `monitoring:` section
 * (config/file.h CfgMonitoring; docs/monitoring.md, docs/configuration.md). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/file_int.h"

#define REFRESH_DEFAULT 300
#define REFRESH_MIN 10

static const char *const monitoringKeys[] = {"listen", "token_file", "textfile", "refresh", NULL};

bool cfgListenParse(const char *listen, char *host, size_t hostSize, int *port, bool *loopback) {
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || colon[1] == '\0')
        return false;
    const char *h = listen;
    size_t hlen = (size_t)(colon - listen);
    if (h[0] == '[') { /* [IPv6]:PORT */
        if (hlen < 3 || h[hlen - 1] != ']')
            return false;
        h++;
        hlen -= 2;
    }
    if (hlen + 1 > hostSize)
        return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 1 || p > 65535)
        return false;
    *port = (int)p;
    unsigned char addr[16];
    if (strcmp(host, "localhost") == 0)
        *loopback = true;
    else if (listen[0] != '[' && inet_pton(AF_INET, host, addr) == 1)
        *loopback = addr[0] == 127;
    else if (listen[0] == '[' && inet_pton(AF_INET6, host, addr) == 1) {
        static const unsigned char one[16] = {[15] = 1};
        *loopback = memcmp(addr, one, 16) == 0;
    } else
        return false;
    return true;
}

void cfgLoadMonitoring(CfgLoad *ld, yaml_node_t *node) {
    CfgMonitoring *m = &ld->file->monitoring;
    m->refresh = REFRESH_DEFAULT;
    if (node == NULL || !cfgIsMap(ld, node, "monitoring") || cfgIsNull(node))
        return;
    m->line = (int)node->start_mark.line + 1;
    cfgCheckKeys(ld, node, "monitoring", monitoringKeys, NULL, NULL);
    CfgScalar listen = cfgGetStr(ld, node, "listen", "monitoring", false);
    CfgScalar token = cfgGetStr(ld, node, "token_file", "monitoring", false);
    CfgScalar textfile = cfgGetStr(ld, node, "textfile", "monitoring", false);
    if (token.text != NULL) {
        if (token.text[0] != '/')
            cfgLoadError(ld, token.node, "monitoring.token_file", "'%s' is not an absolute path", token.text);
        m->tokenFile = cfgLoadDup(ld, token.text);
    }
    if (listen.text != NULL) {
        char host[256];
        int port = 0;
        bool loopback = false;
        if (!cfgListenParse(listen.text, host, sizeof(host), &port, &loopback))
            cfgLoadError(ld, listen.node, "monitoring.listen",
                         "'%s' is not HOST:PORT with an IP address or localhost (127.0.0.1:9188, [::1]:9188)",
                         listen.text);
        else if (!loopback && token.text == NULL)
            cfgLoadError(ld, listen.node, "monitoring.listen",
                         "'%s' is not a loopback address: set token_file too, so that scrapes must carry its "
                         "bearer token",
                         listen.text);
        m->listen = cfgLoadDup(ld, listen.text);
    }
    if (textfile.text != NULL) {
        size_t n = strlen(textfile.text);
        if (textfile.text[0] != '/')
            cfgLoadError(ld, textfile.node, "monitoring.textfile", "'%s' is not an absolute path", textfile.text);
        else if (n < 6 || strcmp(textfile.text + n - 5, ".prom") != 0)
            cfgLoadError(ld, textfile.node, "monitoring.textfile",
                         "'%s' does not end in .prom (node_exporter's textfile collector reads only those)",
                         textfile.text);
        m->textfile = cfgLoadDup(ld, textfile.text);
    }
    int64_t refresh;
    if (cfgGetSeconds(ld, node, "refresh", "monitoring", &refresh)) {
        if (refresh < REFRESH_MIN)
            cfgLoadError(ld, cfgGet(ld, node, "refresh"), "monitoring.refresh",
                         "%llds is too short: repositories are scanned at most every %ds", (long long)refresh,
                         REFRESH_MIN);
        else
            m->refresh = refresh;
    }
}
