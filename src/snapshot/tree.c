/* tree.c - node helpers and the JSON tree codec (jansson). */
#include "snapshot/tree.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *const typeNames[] = {"file", "dir", "symlink", "chardev", "blockdev", "fifo", "socket"};

const char *nodeTypeName(NodeType type) {
    return (unsigned)type < sizeof(typeNames) / sizeof(typeNames[0]) ? typeNames[type] : "unknown";
}

void nodeClear(Node *n) {
    free(n->name);
    free(n->user);
    free(n->group);
    free(n->linkTarget);
    free(n->content);
    for (size_t i = 0; i < n->xattrCount; i++) {
        free(n->xattrs[i].name);
        free(n->xattrs[i].value);
    }
    free(n->xattrs);
    memset(n, 0, sizeof(*n));
}

static char *dupOrNull(const char *s) {
    return s ? lbXstrdup(s) : NULL;
}

void nodeCopy(Node *dst, const Node *src) {
    *dst = *src;
    dst->name = dupOrNull(src->name);
    dst->user = dupOrNull(src->user);
    dst->group = dupOrNull(src->group);
    dst->linkTarget = dupOrNull(src->linkTarget);
    if (src->contentCount) {
        dst->content = lbXmalloc(src->contentCount * sizeof(LbId));
        memcpy(dst->content, src->content, src->contentCount * sizeof(LbId));
    }
    dst->xattrs = NULL;
    dst->xattrCount = 0;
    nodeCopyXattrs(dst, src);
}

void nodeCopyXattrs(Node *dst, const Node *src) {
    if (src->xattrCount == 0)
        return;
    dst->xattrs = lbXcalloc(src->xattrCount, sizeof(Xattr));
    for (size_t i = 0; i < src->xattrCount; i++) {
        dst->xattrs[i].name = lbXstrdup(src->xattrs[i].name);
        dst->xattrs[i].len = src->xattrs[i].len;
        dst->xattrs[i].value = lbXmalloc(src->xattrs[i].len ? src->xattrs[i].len : 1);
        memcpy(dst->xattrs[i].value, src->xattrs[i].value, src->xattrs[i].len);
    }
    dst->xattrCount = src->xattrCount;
}

Node *treeAppend(Tree *t) {
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->nodes = lbXrealloc(t->nodes, t->cap * sizeof(Node));
    }
    Node *n = &t->nodes[t->count++];
    memset(n, 0, sizeof(*n));
    return n;
}

static int nodeCmp(const void *a, const void *b) {
    return strcmp(((const Node *)a)->name, ((const Node *)b)->name);
}

void treeSort(Tree *t) {
    if (t->count > 1)
        qsort(t->nodes, t->count, sizeof(Node), nodeCmp);
}

void treeFree(Tree *t) {
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->count; i++)
        nodeClear(&t->nodes[i]);
    free(t->nodes);
    t->nodes = NULL;
    t->count = t->cap = 0;
}

const Node *treeFind(const Tree *t, const char *name) {
    size_t lo = 0, hi = t->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(t->nodes[mid].name, name);
        if (c == 0)
            return &t->nodes[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

bool treeNameIsSafe(const char *name) {
    return name != NULL && name[0] != '\0' && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
           strchr(name, '/') == NULL;
}

static void setText(json_t *o, const char *key, const char *hexKey, const char *s) {
    json_t *v = json_string(s);
    if (v != NULL) {
        json_object_set_new(o, key, v);
        return;
    }
    size_t n = strlen(s);
    char *hex = lbXmalloc(n * 2 + 1);
    lbHexEncode((const uint8_t *)s, n, hex);
    json_object_set_new(o, hexKey, json_string(hex));
    free(hex);
}

static char *getText(json_t *o, const char *key, const char *hexKey) {
    const char *s = json_string_value(json_object_get(o, key));
    if (s != NULL)
        return lbXstrdup(s);
    s = json_string_value(json_object_get(o, hexKey));
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    char *out = lbXmalloc(n / 2 + 1);
    if (n % 2 || !lbHexDecode(s, n, (uint8_t *)out) || memchr(out, 0, n / 2) != NULL) {
        free(out);
        return NULL;
    }
    out[n / 2] = '\0';
    return out;
}

void treeEncode(const Tree *t, LbBuf *out) {
    json_t *root = json_object();
    json_t *arr = json_array();
    for (size_t i = 0; i < t->count; i++) {
        const Node *n = &t->nodes[i];
        json_t *o = json_object();
        setText(o, "name", "name_hex", n->name);
        json_object_set_new(o, "type", json_string(nodeTypeName(n->type)));
        json_object_set_new(o, "mode", json_integer(n->mode));
        json_object_set_new(o, "uid", json_integer(n->uid));
        json_object_set_new(o, "gid", json_integer(n->gid));
        if (n->user)
            setText(o, "user", "user_hex", n->user);
        if (n->group)
            setText(o, "group", "group_hex", n->group);
        json_object_set_new(o, "mtime_ns", json_integer(n->mtimeNs));
        json_object_set_new(o, "ctime_ns", json_integer(n->ctimeNs));
        json_object_set_new(o, "inode", json_integer((json_int_t)n->inode));
        json_object_set_new(o, "device", json_integer((json_int_t)n->device));
        json_object_set_new(o, "links", json_integer((json_int_t)n->links));
        if (n->type == NODE_FILE) {
            json_object_set_new(o, "size", json_integer((json_int_t)n->size));
            json_t *c = json_array();
            for (size_t k = 0; k < n->contentCount; k++) {
                char hex[LB_ID_HEX_LEN + 1];
                lbIdToHex(&n->content[k], hex);
                json_array_append_new(c, json_string(hex));
            }
            json_object_set_new(o, "content", c);
        } else if (n->type == NODE_DIR) {
            char hex[LB_ID_HEX_LEN + 1];
            lbIdToHex(&n->subtree, hex);
            json_object_set_new(o, "subtree", json_string(hex));
        } else if (n->type == NODE_SYMLINK) {
            setText(o, "target", "target_hex", n->linkTarget ? n->linkTarget : "");
        } else if (n->type == NODE_CHARDEV || n->type == NODE_BLOCKDEV) {
            json_object_set_new(o, "rdev", json_integer((json_int_t)n->rdev));
        }
        if (n->xattrCount) {
            json_t *xa = json_array();
            for (size_t k = 0; k < n->xattrCount; k++) {
                json_t *x = json_object();
                setText(x, "name", "name_hex", n->xattrs[k].name);
                char *hex = lbXmalloc(n->xattrs[k].len * 2 + 1);
                lbHexEncode(n->xattrs[k].value, n->xattrs[k].len, hex);
                json_object_set_new(x, "value_hex", json_string(hex));
                free(hex);
                json_array_append_new(xa, x);
            }
            json_object_set_new(o, "xattrs", xa);
        }
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "nodes", arr);
    char *text = json_dumps(root, JSON_COMPACT);
    lbBufAppendStr(out, text);
    lbBufAppend(out, "\n", 1);
    free(text);
    json_decref(root);
}

static bool parseType(const char *s, NodeType *out) {
    for (size_t i = 0; s && i < sizeof(typeNames) / sizeof(typeNames[0]); i++)
        if (strcmp(s, typeNames[i]) == 0) {
            *out = (NodeType)i;
            return true;
        }
    return false;
}

static uint64_t getU64(json_t *o, const char *key) {
    return (uint64_t)json_integer_value(json_object_get(o, key));
}

bool treeDecode(const uint8_t *data, size_t len, Tree *t, LbError *err) {
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, len, 0, &jerr);
    if (root == NULL)
        return lbErr(err, LB_ERR_CORRUPT, "tree is not valid JSON: %s", jerr.text);
    json_t *arr = json_object_get(root, "nodes");
    bool ok = false;
    if (!json_is_array(arr)) {
        lbErr(err, LB_ERR_CORRUPT, "tree has no 'nodes' array");
        goto cleanup;
    }
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        Node *n = treeAppend(t);
        n->name = getText(o, "name", "name_hex");
        char shown[256];
        if (!treeNameIsSafe(n->name)) {
            lbErr(err, LB_ERR_UNSAFE_PATH, "tree holds an unsafe name '%s' (empty, '.', '..' or containing '/')",
                  lbPrintable(n->name, shown, sizeof(shown)));
            goto cleanup;
        }
        if (t->count > 1 && strcmp(t->nodes[t->count - 2].name, n->name) >= 0) {
            lbErr(err, LB_ERR_UNSAFE_PATH, "tree holds the name '%s' twice or out of order",
                  lbPrintable(n->name, shown, sizeof(shown)));
            goto cleanup;
        }
        if (!parseType(json_string_value(json_object_get(o, "type")), &n->type)) {
            lbErr(err, LB_ERR_CORRUPT, "tree node '%s' has an unknown type", n->name);
            goto cleanup;
        }
        n->mode = (uint32_t)getU64(o, "mode") & 07777;
        n->uid = (uint32_t)getU64(o, "uid");
        n->gid = (uint32_t)getU64(o, "gid");
        n->user = getText(o, "user", "user_hex");
        n->group = getText(o, "group", "group_hex");
        n->mtimeNs = (int64_t)getU64(o, "mtime_ns");
        n->ctimeNs = (int64_t)getU64(o, "ctime_ns");
        n->inode = getU64(o, "inode");
        n->device = getU64(o, "device");
        n->links = getU64(o, "links");
        n->size = getU64(o, "size");
        n->rdev = getU64(o, "rdev");
        if (n->type == NODE_FILE) {
            json_t *c = json_object_get(o, "content");
            size_t k;
            json_t *v;
            n->contentCount = json_array_size(c);
            n->content = n->contentCount ? lbXmalloc(n->contentCount * sizeof(LbId)) : NULL;
            json_array_foreach(c, k, v) {
                const char *hex = json_string_value(v);
                if (hex == NULL || !lbIdFromHex(hex, &n->content[k])) {
                    lbErr(err, LB_ERR_CORRUPT, "tree node '%s' has an invalid content ID", n->name);
                    goto cleanup;
                }
            }
        } else if (n->type == NODE_DIR) {
            const char *hex = json_string_value(json_object_get(o, "subtree"));
            if (hex == NULL || !lbIdFromHex(hex, &n->subtree)) {
                lbErr(err, LB_ERR_CORRUPT, "tree node '%s' has an invalid subtree ID", n->name);
                goto cleanup;
            }
        } else if (n->type == NODE_SYMLINK) {
            n->linkTarget = getText(o, "target", "target_hex");
            if (n->linkTarget == NULL) {
                lbErr(err, LB_ERR_CORRUPT, "symlink '%s' has no target", n->name);
                goto cleanup;
            }
        }
        json_t *xa = json_object_get(o, "xattrs");
        if (json_array_size(xa)) {
            n->xattrs = lbXcalloc(json_array_size(xa), sizeof(Xattr));
            size_t k;
            json_t *x;
            json_array_foreach(xa, k, x) {
                char *name = getText(x, "name", "name_hex");
                const char *hex = json_string_value(json_object_get(x, "value_hex"));
                if (name == NULL || hex == NULL || strlen(hex) % 2) {
                    free(name);
                    lbErr(err, LB_ERR_CORRUPT, "tree node '%s' has an invalid xattr", n->name);
                    goto cleanup;
                }
                Xattr *xv = &n->xattrs[n->xattrCount++];
                xv->name = name;
                xv->len = strlen(hex) / 2;
                xv->value = lbXmalloc(xv->len ? xv->len : 1);
                if (!lbHexDecode(hex, xv->len * 2, xv->value)) {
                    lbErr(err, LB_ERR_CORRUPT, "tree node '%s' has an invalid xattr value", n->name);
                    goto cleanup;
                }
            }
        }
    }
    ok = true;
cleanup:
    json_decref(root);
    if (!ok)
        treeFree(t);
    return ok;
}

size_t treePathDepth(const char *path) {
    size_t depth = 0;
    for (const char *p = path; *p; p++)
        depth += *p == '/';
    return depth;
}

bool treeDepthCheck(size_t depth, const char *path, LbError *err) {
    if (depth <= TREE_DEPTH_MAX)
        return true;
    if (path[0] == '\0')
        return lbErr(err, LB_ERR_FORMAT, "unable to read a tree nested deeper than %d directories (the limit)",
                     TREE_DEPTH_MAX);
    char shown[256];
    lbPrintable(path, shown, sizeof(shown));
    return lbErr(err, LB_ERR_FORMAT, "unable to read directory '%s': nested deeper than %d directories (the limit)",
                 shown, TREE_DEPTH_MAX);
}
