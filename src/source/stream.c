/* stream.c - byte streams as a backup source (see stream.h). */
#include "source/stream.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"

static bool streamCheck(void *driver, LbError *err) {
    const StreamSource *src = driver;
    for (size_t i = 0; i < src->count; i++) {
        const char *name = src->streams[i].name;
        for (size_t k = 0; k < i; k++)
            if (strcmp(src->streams[k].name, name) == 0)
                return lbErr(err, LB_ERR_ARGS, "two streams are named '%s'", name);
        if (!treeNameIsSafe(name))
            return lbErr(err, LB_ERR_ARGS, "invalid stream name '%s': it must be a plain file name", name);
    }
    return true;
}

static bool streamWalk(void *driver, SourceSink *sink, LbError *err) {
    const StreamSource *src = driver;
    for (size_t i = 0; i < src->count; i++) {
        const SourceStream *st = &src->streams[i];
        Node n = {0};
        n.name = lbXstrdup(st->name);
        n.type = NODE_FILE;
        n.mode = st->mode ? st->mode : 0644;
        sourceSinkSetOwner(sink, &n, getuid(), getgid());
        n.mtimeNs = n.ctimeNs = lbNowNs();
        n.links = 1;
        SourceRef ref = sourceSinkAdd(sink, &n);
        int fd = st->fd;
        const char *why = NULL;
        if (!sourceSinkRead(sink, ref, sourceFdRead, &fd, SOURCE_FILE_NEW, NULL, &why)) {
            sourceSinkDrop(sink, ref, st->name, why);
            return lbErr(err, LB_ERR_IO, "unable to read stream: %s: %s", st->name, why);
        }
        char *path = lbXasprintf("/%s", st->name);
        sourceSinkAddPath(sink, path);
        free(path);
    }
    return true;
}

static const SourceInterface streamSourceInterface = {
    .name = "stream",
    .check = streamCheck,
    .walk = streamWalk,
};

Source streamSourceSource(const StreamSource *src) {
    return (Source){&streamSourceInterface, (void *)src};
}
