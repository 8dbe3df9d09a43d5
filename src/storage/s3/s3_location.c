/* s3_location.c - locations and keys: parse "s3:..." into endpoint, bucket and prefix; object keys under the prefix. */
#include "storage/s3/s3_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"

/***********************************************************************************************************************
 * Names (the same rules as the local driver: tests on any driver catch names
 * that would fail on another)
 **********************************************************************************************************************/

/* The full key of name under the client's prefix; the caller frees it. */
char *s3Key(const S3Client *c, const char *name) {
    if (c->prefix[0] == '\0')
        return lbXstrdup(name);
    return lbXasprintf("%s/%s", c->prefix, name);
}

/***********************************************************************************************************************
 * Location
 **********************************************************************************************************************/

bool s3HostIsIp(const char *host) {
    if (host[0] == '[')
        return true; /* IPv6 literal */
    if (strcasecmp(host, "localhost") == 0)
        return true;
    for (const char *p = host; *p; p++)
        if (!(isdigit((unsigned char)*p) || *p == '.'))
            return false;
    return true;
}

static bool s3BucketValid(const char *b) {
    size_t len = strlen(b);
    if (len < 3 || len > 255)
        return false;
    for (const char *p = b; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_'))
            return false;
    return true;
}

/* Parse "s3:https://HOST[:PORT]/BUCKET[/PREFIX]" or "s3:BUCKET[/PREFIX]" into
 * c (scheme, host, hostPort, bucket, prefix). Fails with LB_ERR_ARGS. */
bool s3ParseLocation(S3Client *c, const char *location, LbError *err) {
    if (strncmp(location, "s3:", 3) != 0)
        return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': not an s3: location", location);
    const char *rest = location + 3;
    const char *path;
    if (strncmp(rest, "https://", 8) == 0 || strncmp(rest, "http://", 7) == 0) {
        bool tls = rest[4] == 's';
        c->scheme = lbXstrdup(tls ? "https" : "http");
        const char *hostStart = rest + (tls ? 8 : 7);
        const char *slash = strchr(hostStart, '/');
        if (slash == NULL || slash == hostStart)
            return lbErr(err, LB_ERR_ARGS,
                         "unable to open repository '%s': expected s3:%s://HOST[:PORT]/BUCKET[/PREFIX]", location,
                         c->scheme);
        c->hostPort = s3Dup(hostStart, (size_t)(slash - hostStart));
        if (strchr(c->hostPort, '@') != NULL)
            return lbErr(err, LB_ERR_ARGS,
                         "unable to open s3 repository: credentials in the URL are not supported (the location "
                         "is not repeated here so as not to print them; use AWS_ACCESS_KEY_ID and "
                         "AWS_SECRET_ACCESS_KEY)");
        /* host without the port: "[v6]:port" or "name:port" */
        const char *hp = c->hostPort;
        const char *portColon = NULL;
        if (hp[0] == '[') {
            const char *close = strchr(hp, ']');
            if (close == NULL)
                return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': bad IPv6 address", location);
            if (close[1] == ':')
                portColon = close + 1;
            else if (close[1] != '\0')
                return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': bad IPv6 address", location);
        } else {
            portColon = strchr(hp, ':');
        }
        if (portColon != NULL) {
            char *end = NULL;
            long port = strtol(portColon + 1, &end, 10);
            if (*end != '\0' || port < 1 || port > 65535)
                return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': bad port", location);
            c->host = s3Dup(hp, (size_t)(portColon - hp));
        } else {
            c->host = lbXstrdup(hp);
        }
        path = slash + 1;
    } else {
        c->scheme = lbXstrdup("https");
        c->host = NULL; /* filled from the region once it is known */
        path = rest;
    }
    const char *slash = strchr(path, '/');
    c->bucket = slash ? s3Dup(path, (size_t)(slash - path)) : lbXstrdup(path);
    if (!s3BucketValid(c->bucket))
        return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': '%s' is not a valid bucket name", location,
                     c->bucket);
    const char *prefix = slash ? slash + 1 : "";
    while (*prefix == '/')
        prefix++;
    size_t plen = strlen(prefix);
    while (plen > 0 && prefix[plen - 1] == '/')
        plen--;
    c->prefix = s3Dup(prefix, plen);
    if (strstr(c->prefix, "//") != NULL)
        return lbErr(err, LB_ERR_ARGS, "unable to open repository '%s': empty folder name in the prefix", location);
    return true;
}
