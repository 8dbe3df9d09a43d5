/*
 * scan_file.c - a repository's scan (monitor/facts.h MonScan) as JSON and
 * in STATE/monitor/scan-NAME.json, written atomically; the atomic file
 * writer the textfile shares (monWriteFileAtomic).
 *
 * The document: {"version": 1, "repository": NAME, "scanned_at_ms": MS,
 * "ok": BOOL, "error": TEXT|null, "size_bytes", "packs", "snapshots",
 * "oldest_lock_ns", "newest_wal_ns", "newest_wal", "components": [{
 * "component", "snapshots", "newest_ns", "newest_read_ns", "newest_bytes",
 * "physical", "wal_window", "wal_first_ns", "wal_newest_ns",
 * "wal_last_segment"}]}. Times are integers (Unix ms or ns) so that a load
 * gives back exactly what was saved.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monitor/facts.h"

#define SCAN_VERSION 1

void monScanClear(MonScan *scan) {
    if (scan == NULL)
        return;
    free(scan->repository);
    free(scan->error);
    for (size_t i = 0; i < scan->componentCount; i++)
        free(scan->components[i].component);
    free(scan->components);
    memset(scan, 0, sizeof(*scan));
}

const MonScanComponent *monScanComponent(const MonScan *scan, const char *component) {
    for (size_t i = 0; scan != NULL && component != NULL && i < scan->componentCount; i++)
        if (scan->components[i].component && strcmp(scan->components[i].component, component) == 0)
            return &scan->components[i];
    return NULL;
}

static json_t *strOrNull(const char *s) {
    return s == NULL ? json_null() : json_string(s);
}

json_t *monScanToJson(const MonScan *scan) {
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(SCAN_VERSION));
    json_object_set_new(o, "repository", strOrNull(scan->repository));
    json_object_set_new(o, "scanned_at_ms", json_integer(scan->scannedAtMs));
    json_object_set_new(o, "ok", json_boolean(scan->ok));
    json_object_set_new(o, "error", strOrNull(scan->error));
    json_object_set_new(o, "size_bytes", json_integer((json_int_t)scan->sizeBytes));
    json_object_set_new(o, "packs", json_integer((json_int_t)scan->packs));
    json_object_set_new(o, "snapshots", json_integer((json_int_t)scan->snapshots));
    json_object_set_new(o, "oldest_lock_ns", json_integer(scan->oldestLockNs));
    json_object_set_new(o, "newest_wal_ns", json_integer(scan->newestWalNs));
    json_object_set_new(o, "newest_wal", json_string(scan->newestWal));
    json_t *a = json_array();
    for (size_t i = 0; i < scan->componentCount; i++) {
        const MonScanComponent *c = &scan->components[i];
        json_t *e = json_object();
        json_object_set_new(e, "component", strOrNull(c->component));
        json_object_set_new(e, "snapshots", json_integer((json_int_t)c->snapshots));
        json_object_set_new(e, "newest_ns", json_integer(c->newestNs));
        json_object_set_new(e, "newest_read_ns", json_integer(c->newestReadNs));
        json_object_set_new(e, "newest_bytes", json_integer((json_int_t)c->newestBytes));
        json_object_set_new(e, "physical", json_boolean(c->physical));
        json_object_set_new(e, "wal_window", json_boolean(c->walWindow));
        json_object_set_new(e, "wal_first_ns", json_integer(c->walFirstNs));
        json_object_set_new(e, "wal_newest_ns", json_integer(c->walNewestNs));
        json_object_set_new(e, "wal_last_segment", json_string(c->walLastSegment));
        json_array_append_new(a, e);
    }
    json_object_set_new(o, "components", a);
    return o;
}

static int64_t getInt(const json_t *o, const char *key) {
    return json_integer_value(json_object_get(o, key));
}

static char *getStrDup(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? strdup(s) : NULL;
}

static void getStrInto(const json_t *o, const char *key, char *out, size_t size) {
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(out, size, "%s", s ? s : "");
}

bool monScanFromJson(const json_t *doc, MonScan *out, LbError *err) {
    memset(out, 0, sizeof(*out));
    const json_t *comps = json_object_get(doc, "components");
    if (!json_is_object(doc) || getInt(doc, "version") != SCAN_VERSION ||
        !json_is_string(json_object_get(doc, "repository")) || !json_is_array(comps))
        return lbErr(err, LB_ERR_FORMAT, "unable to read a repository scan: not a version %d scan document",
                     SCAN_VERSION);
    out->repository = getStrDup(doc, "repository");
    out->scannedAtMs = getInt(doc, "scanned_at_ms");
    out->ok = json_is_true(json_object_get(doc, "ok"));
    out->error = getStrDup(doc, "error");
    out->sizeBytes = (uint64_t)getInt(doc, "size_bytes");
    out->packs = (uint64_t)getInt(doc, "packs");
    out->snapshots = (uint64_t)getInt(doc, "snapshots");
    out->oldestLockNs = getInt(doc, "oldest_lock_ns");
    out->newestWalNs = getInt(doc, "newest_wal_ns");
    getStrInto(doc, "newest_wal", out->newestWal, sizeof(out->newestWal));
    size_t n = json_array_size(comps);
    out->components = n ? calloc(n, sizeof(*out->components)) : NULL;
    if (n && out->components == NULL) {
        monScanClear(out);
        return lbErr(err, LB_ERR_MEMORY, "unable to read a repository scan: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(comps, i);
        MonScanComponent *c = &out->components[out->componentCount++];
        c->component = getStrDup(e, "component");
        c->snapshots = (uint64_t)getInt(e, "snapshots");
        c->newestNs = getInt(e, "newest_ns");
        c->newestReadNs = getInt(e, "newest_read_ns");
        c->newestBytes = (uint64_t)getInt(e, "newest_bytes");
        c->physical = json_is_true(json_object_get(e, "physical"));
        c->walWindow = json_is_true(json_object_get(e, "wal_window"));
        c->walFirstNs = getInt(e, "wal_first_ns");
        c->walNewestNs = getInt(e, "wal_newest_ns");
        getStrInto(e, "wal_last_segment", c->walLastSegment, sizeof(c->walLastSegment));
    }
    return true;
}

bool monScanCopy(const MonScan *scan, MonScan *out, LbError *err) {
    json_t *doc = monScanToJson(scan);
    bool ok = monScanFromJson(doc, out, err);
    json_decref(doc);
    return ok;
}

static bool fsyncDir(const char *path) {
    char *copy = strdup(path);
    if (copy == NULL)
        return false;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

bool monWriteFileAtomic(const char *path, const char *data, size_t len, mode_t mode, LbError *err) {
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
        return lbErr(err, LB_ERR_MEMORY, "unable to write '%s': out of memory", path);
    int fd = mkstemp(tmp);
    bool ok = fd >= 0;
    const char *step = "create";
    if (ok && fchmod(fd, mode) != 0) {
        ok = false;
        step = "set the mode of";
    }
    for (size_t done = 0; ok && done < len;) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            ok = false;
            step = "write";
        } else
            done += (size_t)w;
    }
    if (ok && fsync(fd) != 0) {
        ok = false;
        step = "sync";
    }
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        saved = errno;
        ok = false;
        step = "close";
    }
    if (ok && rename(tmp, path) != 0) {
        saved = errno;
        ok = false;
        step = "rename";
    }
    if (ok)
        fsyncDir(path);
    else {
        if (fd >= 0)
            unlink(tmp);
        lbErr(err, LB_ERR_IO, "unable to %s '%s': %s", step, path, strerror(saved));
    }
    free(tmp);
    return ok;
}

/* STATE/monitor/scan-NAME.json; NULL when out of memory. */
static char *scanPath(const char *stateDir, const char *repository) {
    char *p = NULL;
    return asprintf(&p, "%s/monitor/scan-%s.json", stateDir, repository) < 0 ? NULL : p;
}

bool monScanSave(const char *stateDir, const MonScan *scan, LbError *err) {
    char *dir = NULL, *path = scanPath(stateDir, scan->repository);
    if (path == NULL || asprintf(&dir, "%s/monitor", stateDir) < 0) {
        free(path);
        return lbErr(err, LB_ERR_MEMORY, "unable to save a repository scan: out of memory");
    }
    bool ok = true;
    if (mkdir(stateDir, 0700) != 0 && errno != EEXIST)
        ok = lbErr(err, LB_ERR_IO, "unable to create state directory '%s': %s", stateDir, strerror(errno));
    else if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        ok = lbErr(err, LB_ERR_IO, "unable to create directory '%s': %s", dir, strerror(errno));
    if (ok) {
        json_t *doc = monScanToJson(scan);
        char *text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        ok = text != NULL ? monWriteFileAtomic(path, text, strlen(text), 0600, err)
                          : lbErr(err, LB_ERR_MEMORY, "unable to save a repository scan: out of memory");
        free(text);
    }
    free(dir);
    free(path);
    return ok;
}

bool monScanLoad(const char *stateDir, const char *repository, MonScan *out, bool *found, LbError *err) {
    memset(out, 0, sizeof(*out));
    *found = false;
    char *path = scanPath(stateDir, repository);
    if (path == NULL)
        return lbErr(err, LB_ERR_MEMORY, "unable to load a repository scan: out of memory");
    bool ok = true;
    if (access(path, F_OK) == 0) {
        json_error_t jerr;
        json_t *doc = json_load_file(path, 0, &jerr);
        if (doc == NULL)
            ok = lbErr(err, LB_ERR_FORMAT, "unable to read repository scan '%s': %s", path, jerr.text);
        else if (!(ok = monScanFromJson(doc, out, err)))
            lbErrorWrap(err, "unable to read repository scan '%s'", path);
        else
            *found = true;
        json_decref(doc);
    } else if (errno != ENOENT)
        ok = lbErr(err, LB_ERR_IO, "unable to read repository scan '%s': %s", path, strerror(errno));
    free(path);
    return ok;
}
