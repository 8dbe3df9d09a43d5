#!/usr/bin/env python3
"""golden.py - the file-tree, manifest and bucket side of the golden
repositories (tests/golden/make.sh writes them, tests/integration/
test_golden.sh reads them). TEST ONLY.

  tree DIR STAGE           build (STAGE 1) or change (STAGE 2) the source tree in DIR
  manifest DIR OUT         write the manifest of DIR (see below) to OUT
  compare EXPECTED DIR     compare DIR with the manifest EXPECTED; prints the
                           differences, exits 1 if there are any. As non-root,
                           what only root can restore (owners, device nodes,
                           trusted.* xattrs) is left out of the comparison
  bucket-fill BUCKET       write the golden objects into BUCKET (boto3)
  bucket-describe BUCKET PREFIX OUT
                           describe the objects under PREFIX (JSON list)
  bucket-compare EXPECTED BUCKET PREFIX
                           compare the objects under PREFIX with EXPECTED
  bucket-dir EXPECTED DIR  compare a bucket snapshot restored into DIR with
                           EXPECTED: names unescaped back into keys, sizes, SHA-256

A manifest is JSON lines, one entry per path below DIR (DIR itself is "."),
sorted by path (as bytes). Keys: path, type (file, dir, symlink, fifo,
chardev, blockdev), mode (octal string, st_mode & 07777), uid, gid, mtime_ns,
size and sha256 (files), holes (files: fewer blocks allocated than the size
needs), link (hard links: the first path of the group), target (symlinks),
rdev ("major,minor"), xattrs ({name: hex value}), acl_access and acl_default
(the POSIX ACLs decoded from their xattrs, getfacl's short text).
Paths and link targets that are not UTF-8 are written with Python's
surrogateescape (JSON "\\udcXX" escapes).
"""
import hashlib
import json
import os
import random
import socket
import stat
import sys

MiB = 1024 * 1024
ROOT_ONLY_XATTR = "trusted."


def words(seed, nbytes):
    """Deterministic, compressible text with enough variety for content-defined chunking."""
    r = random.Random(seed)
    vocab = ["lifeboat", "golden", "chunk", "pack", "index", "tree", "snapshot", "blob",
             "restore", "backup", "wal", "segment", "bucket", "object", "key", "nonce"]
    out = []
    n = 0
    line = 0
    while n < nbytes:
        s = "%06d %s\n" % (line, " ".join(r.choice(vocab) for _ in range(r.randrange(3, 14))))
        out.append(s)
        n += len(s)
        line += 1
    return "".join(out).encode()[:nbytes]


def acl_bytes(entries):
    """POSIX ACL xattr value (version 2): entries of (tag, perm, id)."""
    b = (2).to_bytes(4, "little")
    for tag, perm, ident in sorted(entries, key=lambda e: (e[0], e[2])):
        b += tag.to_bytes(2, "little") + perm.to_bytes(2, "little") + ident.to_bytes(4, "little")
    return b


USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 1, 2, 4, 8, 0x10, 0x20
NOID = 0xFFFFFFFF


def acl_text(value):
    """getfacl --numeric short text of an ACL xattr value."""
    names = {USER_OBJ: "user", USER: "user", GROUP_OBJ: "group", GROUP: "group", MASK: "mask", OTHER: "other"}
    if int.from_bytes(value[:4], "little") != 2:
        return "unknown ACL version"
    parts = []
    for off in range(4, len(value), 8):
        tag = int.from_bytes(value[off:off + 2], "little")
        perm = int.from_bytes(value[off + 2:off + 4], "little")
        ident = int.from_bytes(value[off + 4:off + 8], "little")
        who = str(ident) if tag in (USER, GROUP) else ""
        rwx = ("r" if perm & 4 else "-") + ("w" if perm & 2 else "-") + ("x" if perm & 1 else "-")
        parts.append("%s:%s:%s" % (names.get(tag, "tag%d" % tag), who, rwx))
    return ",".join(parts)


# ------------------------------------------------------------------ the tree
def settime(p, ns):
    os.utime(p, ns=(ns, ns), follow_symlinks=False)


def write(p, data):
    with open(p, "wb") as f:
        f.write(data)


T0 = 1767225600 * 10**9  # 2026-01-01T00:00:00Z


def tree_stage1(d):
    j = lambda *a: os.path.join(d, *a)  # noqa: E731
    os.makedirs(d)
    write(j(b"empty"), b"")
    write(j(b"small.txt"), b"hello golden\n")
    write(j(b"multi.txt"), words(1, 420 * 1024))  # several chunks at 16K/64K/256K
    write(j(b"deleteme.txt"), b"only in the first snapshot\n")
    # sparse: data, a 1 MiB hole, data, a trailing hole
    with open(j(b"sparse.img"), "wb") as f:
        f.write(words(2, 8192))
        f.seek(MiB + 8192)
        f.write(b"after the hole\n")
        f.truncate(2 * MiB)
    os.makedirs(j(b"sub"))
    write(j(b"hard-a"), b"one inode, two names\n")
    os.link(j(b"hard-a"), j(b"sub", b"hard-b"))
    os.symlink(b"small.txt", j(b"link-rel"))
    os.symlink(b"/etc/hostname", j(b"link-abs"))
    os.symlink(b"../does/not/exist", j(b"sub", b"link-dangling"))
    os.symlink(b"target-\xff-not-utf8", j(b"link-not-utf8"))
    os.mkfifo(j(b"fifo"), 0o640)
    os.mknod(j(b"dev-char"), stat.S_IFCHR | 0o620, os.makedev(1, 3))
    os.mknod(j(b"dev-block"), stat.S_IFBLK | 0o660, os.makedev(7, 200))
    s = socket.socket(socket.AF_UNIX)
    s.bind(j(b"socket"))  # recorded, never restored
    s.close()
    # modes
    for name, mode in [(b"setuid", 0o4755), (b"setgid", 0o2750), (b"private", 0o600),
                       (b"readonly", 0o444), (b"nothing", 0o000), (b"exec", 0o755)]:
        write(j(name), b"mode %o\n" % mode)
        os.chmod(j(name), mode)
    os.makedirs(j(b"sticky"))
    os.chmod(j(b"sticky"), 0o1777)
    os.makedirs(j(b"private-dir"))
    write(j(b"private-dir", b"inside"), b"inside a 0700 directory\n")
    os.chmod(j(b"private-dir"), 0o700)
    os.makedirs(j(b"empty-dir"))
    # owners (numeric ids with no names on most systems); chown clears set-id bits,
    # so the mode comes after
    write(j(b"owned"), b"owned by 1234:5678\n")
    os.chown(j(b"owned"), 1234, 5678)
    write(j(b"owned-setgid"), b"owned by 4321:8765, setgid\n")
    os.chown(j(b"owned-setgid"), 4321, 8765)
    os.chmod(j(b"owned-setgid"), 0o2755)
    os.lchown(j(b"link-rel"), 1234, 5678)
    # extended attributes and ACLs
    write(j(b"xattrs.txt"), b"a file with extended attributes\n")
    x = j(b"xattrs.txt")
    os.setxattr(x, "user.comment", "golden \u00fcn\u00efc\u00f8d\u00e9".encode())
    os.setxattr(x, "user.binary", b"\x00\x01\xfe\xff")
    os.setxattr(x, "user.empty", b"")
    os.setxattr(x, "trusted.golden", b"root only")
    os.setxattr(j(b"sub"), "user.dir", b"on a directory")
    write(j(b"acl.txt"), b"a file with an access ACL\n")
    os.setxattr(j(b"acl.txt"), "system.posix_acl_access",
                acl_bytes([(USER_OBJ, 6, NOID), (USER, 4, 1234), (GROUP_OBJ, 4, NOID),
                           (GROUP, 6, 5678), (MASK, 6, NOID), (OTHER, 0, NOID)]))
    os.makedirs(j(b"acl-dir"))
    os.setxattr(j(b"acl-dir"), "system.posix_acl_default",
                acl_bytes([(USER_OBJ, 7, NOID), (USER, 5, 1234), (GROUP_OBJ, 5, NOID),
                           (MASK, 5, NOID), (OTHER, 0, NOID)]))
    # names
    os.makedirs(j("名前 with spaces".encode()))
    write(j("名前 with spaces".encode(), "ünïcödé file.txt".encode()), "ütf-8 content\n".encode())
    write(j(b"latin1-\xe9.txt"), b"a name that is not UTF-8\n")
    write(j(b"-leading-dash"), b"dash\n")
    write(j(b"tab\tand\nnewline"), b"control characters in a name\n")
    deep = j(b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h")
    os.makedirs(deep)
    write(os.path.join(deep, b"deep.txt"), b"eight levels down\n")
    set_times(d, 1)


def tree_stage2(d):
    j = lambda *a: os.path.join(d, *a)  # noqa: E731
    write(j(b"small.txt"), b"hello golden, second version\n")
    m = words(1, 420 * 1024)
    write(j(b"multi.txt"), m[:200 * 1024] + b"inserted in the middle for the second snapshot\n" + m[200 * 1024:])
    os.unlink(j(b"deleteme.txt"))
    write(j(b"new-in-2.txt"), b"only in the second snapshot\n")
    os.chmod(j(b"exec"), 0o700)
    os.setxattr(j(b"xattrs.txt"), "user.comment", b"changed in the second snapshot")
    set_times(d, 2, only=[b"small.txt", b"multi.txt", b"new-in-2.txt", b"exec", b"xattrs.txt", b"."])


def set_times(d, stage, only=None):
    """Fixed mtimes: every entry (or those in only) gets T0 + a per-path offset
    (some with nanoseconds, one before 1970, one after 2038); directories last,
    deepest first."""
    special = {b"small.txt": 123456789, b"multi.txt": 987654321}
    entries = []
    for top, dirs, files in os.walk(d):
        for n in files + dirs:
            entries.append(os.path.join(top, n))
    entries.append(d)
    for i, p in enumerate(sorted(entries, key=lambda p: (os.path.isdir(p) and not os.path.islink(p), -p.count(b"/"), p))):
        rel = os.path.relpath(p, d)
        if only is not None and rel not in only:
            continue
        ns = T0 + stage * 86400 * 10**9 + i * 10**9 + special.get(rel, 0)
        if rel == b"readonly":
            ns = -1500000000  # 1969-12-31T23:59:58.5Z
        if rel == b"nothing":
            ns = 4102444800 * 10**9 + 42  # 2100-01-01
        settime(p, ns)


# ------------------------------------------------------------------ manifests
def sha256_file(p):
    h = hashlib.sha256()
    mode = os.lstat(p).st_mode & 0o7777
    unreadable = os.geteuid() != 0 and not mode & 0o400
    if unreadable:  # a mode 0000 file of our own (chmod keeps the mtime)
        os.chmod(p, mode | 0o400)
    try:
        with open(p, "rb") as f:
            for b in iter(lambda: f.read(MiB), b""):
                h.update(b)
    finally:
        if unreadable:
            os.chmod(p, mode)
    return h.hexdigest()


TYPES = [(stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
         (stat.S_ISCHR, "chardev"), (stat.S_ISBLK, "blockdev"), (stat.S_ISSOCK, "socket")]


def manifest(d):
    d = os.fsencode(d)
    paths = [d]
    for top, dirs, files in os.walk(d):
        paths += [os.path.join(top, n) for n in dirs + files]
    out = []
    first_of_inode = {}
    for p in sorted(paths):
        st = os.lstat(p)
        rel = os.fsdecode(os.path.relpath(p, d))
        e = {"path": rel}
        e["type"] = next(name for f, name in TYPES if f(st.st_mode))
        if e["type"] == "socket":
            continue  # restore skips sockets, like tar
        e["mode"] = "%04o" % (st.st_mode & 0o7777)
        e["uid"], e["gid"] = st.st_uid, st.st_gid
        e["mtime_ns"] = st.st_mtime_ns
        if e["type"] == "file":
            e["size"] = st.st_size
            e["sha256"] = sha256_file(p)
            e["holes"] = st.st_blocks * 512 < st.st_size
            if st.st_nlink > 1:
                e["link"] = first_of_inode.setdefault((st.st_dev, st.st_ino), rel)
        if e["type"] == "symlink":
            e["target"] = os.fsdecode(os.readlink(p))
        if e["type"] in ("chardev", "blockdev"):
            e["rdev"] = "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        x = {}
        for n in os.listxattr(p, follow_symlinks=False):
            v = os.getxattr(p, n, follow_symlinks=False)
            x[n] = v.hex()
            if n == "system.posix_acl_access":
                e["acl_access"] = acl_text(v)
            if n == "system.posix_acl_default":
                e["acl_default"] = acl_text(v)
        e["xattrs"] = dict(sorted(x.items()))
        out.append(e)
    return out


def write_manifest(d, outp):
    with open(outp, "w") as f:
        for e in manifest(d):
            f.write(json.dumps(e, sort_keys=True) + "\n")


def load_manifest(p):
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


def root_only(e):
    """Drop what only root can restore."""
    if e["type"] in ("chardev", "blockdev"):
        return None
    e = dict(e)
    e.pop("uid", None)
    e.pop("gid", None)
    e["xattrs"] = {k: v for k, v in e["xattrs"].items() if not k.startswith(ROOT_ONLY_XATTR)}
    return e


def compare(expected_path, d):
    want = load_manifest(expected_path)
    got = manifest(d)
    if os.geteuid() != 0:
        want = [e for e in map(root_only, want) if e]
        got = [e for e in map(root_only, got) if e]
    # the restore target itself is not part of the snapshot's tree
    want = {e["path"]: e for e in want if e["path"] != "."}
    got = {e["path"]: e for e in got if e["path"] != "."}
    diffs = []
    for p in sorted(set(want) | set(got)):
        if p not in got:
            diffs.append("missing: %r" % p)
        elif p not in want:
            diffs.append("unexpected: %r" % p)
        elif want[p] != got[p]:
            keys = sorted(k for k in set(want[p]) | set(got[p]) if want[p].get(k) != got[p].get(k))
            diffs.append("%r: %s" % (p, ", ".join("%s %r != %r" % (k, got[p].get(k), want[p].get(k)) for k in keys)))
    for line in diffs:
        print(line)
    print("%d entries compared, %d differences" % (len(want), len(diffs)))
    return 1 if diffs else 0


# ------------------------------------------------------------------ buckets
def s3client():
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "harness", "s3"))
    import bucketdata  # noqa: E402  (tests/harness/s3: boto3 client for the harness's RGW)
    return bucketdata.client()


PREFIX = "site/"


def bucket_plan():
    """(key, body, put arguments, multipart?)"""
    page = b"<!doctype html><title>golden</title><p>hello</p>\n"
    return [
        (PREFIX + "index.html", page, {"ContentType": "text/html; charset=utf-8", "CacheControl": "max-age=60",
                                       "Metadata": {"author": "golden"}}, False),
        (PREFIX + "img/logo.png", random.Random(3).randbytes(3000),
         {"ContentType": "image/png", "ContentDisposition": 'attachment; filename="logo.png"',
          "Metadata": {"width": "64", "height": "64"}}, False),
        (PREFIX + "docs/ünïcödé name +plus.txt", "ütf-8 body\n".encode(),
         {"ContentType": "text/plain; charset=utf-8", "ContentLanguage": "de"}, False),
        (PREFIX + "a//b", b"an empty key segment\n", {}, False),
        (PREFIX + "folder/", b"", {"ContentType": "application/x-directory"}, False),
        (PREFIX + "100%.txt", b"a percent sign\n", {"ContentType": "text/plain"}, False),
        (PREFIX + "x", b"x is a file and a directory\n", {"Metadata": {"kind": "file-and-dir"}}, False),
        (PREFIX + "x/y", b"below x\n", {"ContentType": "text/plain"}, False),
        (PREFIX + "empty.bin", b"", {"ContentType": "application/octet-stream", "Metadata": {"empty": "yes"}}, False),
        (PREFIX + "big/multipart.bin", (words(4, 40000) * 132)[:5 * MiB + 10000],
         {"ContentType": "application/octet-stream", "Metadata": {"upload": "multipart"}}, True),
        ("outside.txt", b"outside the prefix: not in the snapshot\n", {}, False),
    ]


def bucket_fill(bucket):
    import io
    from boto3.s3.transfer import TransferConfig
    s3 = s3client()
    s3.create_bucket(Bucket=bucket)
    for key, body, extra, multipart in bucket_plan():
        if multipart:
            cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
            s3.upload_fileobj(io.BytesIO(body), bucket, key, ExtraArgs=extra, Config=cfg)
        else:
            s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)


def bucket_describe(bucket, prefix):
    s3 = s3client()
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            r = s3.get_object(Bucket=bucket, Key=o["Key"])
            body = r["Body"].read()
            out.append({"key": o["Key"][len(prefix):], "size": len(body), "sha256": hashlib.sha256(body).hexdigest(),
                        "etag": r["ETag"].strip('"'), "content_type": r.get("ContentType"),
                        "cache_control": r.get("CacheControl"), "content_disposition": r.get("ContentDisposition"),
                        "content_language": r.get("ContentLanguage"), "metadata": r.get("Metadata", {})})
    return sorted(out, key=lambda o: o["key"].encode())


def bucket_compare(expected, bucket, prefix):
    want = json.load(open(expected))
    got = bucket_describe(bucket, prefix)
    # a multipart ETag ("...-N") depends on the part sizes, and a restore
    # uploads small objects in one PUT: such ETags are not compared
    multipart = {o["key"] for o in want if "-" in o["etag"]}
    for o in want + got:
        if o["key"] in multipart:
            o["etag"] = "multipart upload"
    return report_list(want, got)


def unescape(name):
    if len(name) > 1 and name.endswith("%"):
        name = name[:-1]
    if name == "%":
        return b""
    raw = os.fsencode(name)
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25 and i + 3 <= len(raw) and all(c in b"0123456789abcdefABCDEF" for c in raw[i + 1:i + 3]):
            out += bytes.fromhex(raw[i + 1:i + 3].decode())
            i += 3
        else:
            out += raw[i:i + 1]
            i += 1
    return bytes(out)


def bucket_dir(expected, d):
    """A bucket snapshot restored into a directory: names are the escaped key segments."""
    want = [{"key": o["key"], "size": o["size"], "sha256": o["sha256"]} for o in json.load(open(expected))]
    got = []
    for top, dirs, files in os.walk(os.fsencode(d)):
        for n in files:
            p = os.path.join(top, n)
            rel = os.path.relpath(p, os.fsencode(d)).split(b"/")
            key = b"/".join(unescape(os.fsdecode(s)) for s in rel)
            got.append({"key": key.decode(), "size": os.path.getsize(p), "sha256": sha256_file(p)})
    return report_list(want, sorted(got, key=lambda o: o["key"].encode()))


def report_list(want, got):
    w = {o["key"]: o for o in want}
    g = {o["key"]: o for o in got}
    diffs = []
    for k in sorted(set(w) | set(g)):
        if w.get(k) != g.get(k):
            diffs.append("%r: got %s, want %s" % (k, json.dumps(g.get(k), sort_keys=True), json.dumps(w.get(k), sort_keys=True)))
    for line in diffs:
        print(line)
    print("%d objects compared, %d differences" % (len(w), len(diffs)))
    return 1 if diffs else 0


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "tree":
        {"1": tree_stage1, "2": tree_stage2}[a[1]](os.fsencode(a[0]))
    elif cmd == "manifest":
        write_manifest(a[0], a[1])
    elif cmd == "compare":
        sys.exit(compare(a[0], a[1]))
    elif cmd == "bucket-fill":
        bucket_fill(a[0])
    elif cmd == "bucket-describe":
        with open(a[2], "w") as f:
            json.dump(bucket_describe(a[0], a[1]), f, sort_keys=True, indent=1, ensure_ascii=False)
            f.write("\n")
    elif cmd == "bucket-compare":
        sys.exit(bucket_compare(a[0], a[1], a[2]))
    elif cmd == "bucket-dir":
        sys.exit(bucket_dir(a[0], a[1]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
