#!/usr/bin/env python3
"""bench/scalegen.py - the data of `make bench-scale` (bench/scale.sh).

  scalegen.py tree DIR --files N [--seed S] [--max-size B] [--per-dir P] [--depth D]
      N small files in a nested tree under DIR (created; must not exist):
      P files per leaf directory, D levels of directories above them (the
      fan-out of each level chosen so that the leaves hold N files), file i
      of size uniform in 0..B bytes of pseudo-random (incompressible) content.
      Same seed and arguments, same tree, byte for byte.
  scalegen.py change DIR --files N [--seed S] [--fraction F] [--max-size B]
      change F of the N files (default 0.01): a third rewritten (new content
      and size), a third removed, a third added (new names in existing leaf
      directories). Deterministic for one seed.
  scalegen.py change-bucket --endpoint URL --bucket B --objects N [--seed S] [--fraction F] [--max-size B]
      the same kind of change on the bucket filled by `fill`: F of the N
      objects, a third rewritten, a third deleted, a third added.
  scalegen.py fill --endpoint URL --bucket B --objects N [--seed S] [--max-size B] [--jobs J]
      create bucket B on the S3 server at URL (path style) and PUT N objects
      with the same layout as `tree` (keys d../d../d../f...), J connections in
      parallel (processes x threads). Credentials from AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY, region from AWS_DEFAULT_REGION (SigV4, standard
      library only: no boto3 needed, and much lighter per request).

Each command prints one JSON object (counts, bytes, seconds) on stdout.
"""

import argparse
import datetime
import functools
import hashlib
import hmac
import http.client
import json
import math
import multiprocessing
import os
import random
import sys
import threading
import time
import urllib.parse


@functools.lru_cache(maxsize=None)
def layout(n, per_dir, depth):
    """(fan-out per level, digits) so that depth levels of fan-out k hold ceil(n / per_dir) leaves."""
    leaves = max(1, -(-n // per_dir))
    k = max(2, math.ceil(leaves ** (1.0 / depth) - 1e-9))
    while k**depth < leaves:
        k += 1
    return k, len(str(k - 1))


def rel_path(i, n, per_dir, depth):
    """Relative path of file i of n: d<a>/d<b>/d<c>/f<i>."""
    k, w = layout(n, per_dir, depth)
    leaf = i // per_dir
    parts = []
    for _ in range(depth):
        parts.append("d%0*d" % (w, leaf % k))
        leaf //= k
    parts.reverse()
    return "/".join(parts) + "/f%08d" % i


def write_file(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if data:
            os.write(fd, data)
    finally:
        os.close(fd)


def cmd_tree(a):
    t0 = time.time()
    if os.path.exists(a.dir):
        sys.exit("scalegen: %s exists already" % a.dir)
    rng = random.Random("%s/tree" % a.seed)
    made, total, dirs = set(), 0, 0
    for i in range(a.files):
        rel = rel_path(i, a.files, a.per_dir, a.depth)
        d = os.path.join(a.dir, os.path.dirname(rel))
        if d not in made:
            os.makedirs(d, exist_ok=True)
            made.add(d)
            dirs += 1
        size = rng.randint(0, a.max_size)
        write_file(os.path.join(a.dir, rel), rng.randbytes(size))
        total += size
    json.dump({"files": a.files, "leaf_dirs": dirs, "bytes": total, "seconds": round(time.time() - t0, 2)}, sys.stdout)
    print()


def plan_change(n, fraction, rng, a):
    """The change of F of n entries: (rewrites, removals, additions); rewrites
    and additions are (relative path, new content), removals paths."""
    k = max(3, round(n * fraction))
    picked = rng.sample(range(n), k)
    third = k // 3
    path = lambda i: rel_path(i, n, a.per_dir, a.depth)
    rewrite = [(path(i), rng.randbytes(rng.randint(0, a.max_size))) for i in picked[:third]]
    remove = [path(i) for i in picked[third : 2 * third]]
    add = [(os.path.dirname(path(i)) + "/n%08d" % j, rng.randbytes(rng.randint(0, a.max_size))) for j, i in enumerate(picked[2 * third :])]
    return rewrite, remove, add


def cmd_change(a):
    t0 = time.time()
    rewrite, remove, add = plan_change(a.files, a.fraction, random.Random("%s/change" % a.seed), a)
    for rel, body in rewrite + add:
        write_file(os.path.join(a.dir, rel), body)
    for rel in remove:
        os.unlink(os.path.join(a.dir, rel))
    json.dump({"changed": len(rewrite) + len(remove) + len(add), "rewritten": len(rewrite), "removed": len(remove),
               "added": len(add), "seconds": round(time.time() - t0, 2)}, sys.stdout)
    print()


# ------------------------------------------------------------------ S3 fill


class S3:
    """A minimal path-style S3 client (SigV4) on one keep-alive connection."""

    def __init__(self, endpoint, region, ak, sk):
        u = urllib.parse.urlsplit(endpoint)
        self.scheme, self.host = u.scheme, u.netloc
        self.region, self.ak, self.sk = region, ak, sk
        self.conn = None

    def _connect(self):
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        self.conn = cls(self.host, timeout=120)

    def _sign(self, method, path, body):
        now = datetime.datetime.now(datetime.timezone.utc)
        amzdate, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest()
        headers = {"host": self.host, "x-amz-content-sha256": payload, "x-amz-date": amzdate}
        signed = ";".join(sorted(headers))
        canon = "\n".join([method, path, "", "".join("%s:%s\n" % (h, headers[h]) for h in sorted(headers)), signed, payload])
        scope = "%s/%s/s3/aws4_request" % (day, self.region)
        sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(canon.encode()).hexdigest()])
        key = ("AWS4" + self.sk).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (self.ak, scope, signed, sig)
        headers["Content-Length"] = str(len(body))
        return headers

    def request(self, method, path, body=b""):
        path = urllib.parse.quote(path, safe="/-_.~")
        for attempt in range(5):
            try:
                if self.conn is None:
                    self._connect()
                self.conn.request(method, path, body=body, headers=self._sign(method, path, body))
                r = self.conn.getresponse()
                data = r.read()
                if r.status >= 500:
                    raise OSError("HTTP %d" % r.status)
                return r.status, data
            except (OSError, http.client.HTTPException) as e:
                self.conn = None
                if attempt == 4:
                    raise RuntimeError("unable to %s '%s': %s" % (method, path, e))
                time.sleep(0.2 * (attempt + 1))


def s3_from_env(endpoint):
    return S3(endpoint, os.environ.get("AWS_DEFAULT_REGION", "us-east-1"), os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])


def run_threads(endpoint, items, threads, fn):
    """fn(client, item) for every item, on `threads` connections; fn returns
    bytes sent or raises. Returns the bytes sent; exits on the first error."""
    lock, total, errors = threading.Lock(), [0], []

    def run(mine):
        c, n = s3_from_env(endpoint), 0
        try:
            for it in mine:
                n += fn(c, it)
        except RuntimeError as e:
            errors.append(str(e))
        with lock:
            total[0] += n

    ts = [threading.Thread(target=run, args=(items[t::threads],)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit("scalegen: " + errors[0])
    return total[0]


def checked(c, method, key, bucket, body=b""):
    st, data = c.request(method, "/%s/%s" % (bucket, key), body)
    if st not in (200, 204):
        raise RuntimeError("unable to %s '%s': HTTP %d %s" % (method, key, st, data[:200]))
    return len(body)


def fill_worker(args):
    """PUT the objects i = first, first + step, ... < n with `threads` connections; returns bytes."""
    a, first, step = args

    def put(c, i):
        # per-object generator: any split over workers gives the same bucket
        rng = random.Random("%s/object/%d" % (a.seed, i))
        return checked(c, "PUT", rel_path(i, a.objects, a.per_dir, a.depth), a.bucket, rng.randbytes(rng.randint(0, a.max_size)))

    return run_threads(a.endpoint, list(range(first, a.objects, step)), a.threads, put)


def cmd_fill(a):
    t0 = time.time()
    st, data = s3_from_env(a.endpoint).request("PUT", "/%s" % a.bucket)
    if st not in (200, 409):
        sys.exit("scalegen: unable to create bucket '%s': HTTP %d %s" % (a.bucket, st, data[:200]))
    procs = max(1, a.jobs // a.threads)
    with multiprocessing.Pool(procs) as p:
        total = sum(p.map(fill_worker, [(a, w, procs) for w in range(procs)]))
    secs = time.time() - t0
    json.dump({"objects": a.objects, "bytes": total, "seconds": round(secs, 2), "per_second": round(a.objects / secs, 1) if secs else 0}, sys.stdout)
    print()


def cmd_change_bucket(a):
    """The `change` of a tree, on the bucket: rewrite, delete, add (16 connections)."""
    t0 = time.time()
    rewrite, remove, add = plan_change(a.objects, a.fraction, random.Random("%s/bucket-change" % a.seed), a)
    ops = [("PUT", k, b) for k, b in rewrite + add] + [("DELETE", k, b"") for k in remove]
    run_threads(a.endpoint, ops, 16, lambda c, op: checked(c, op[0], op[1], a.bucket, op[2]))
    json.dump({"changed": len(ops), "rewritten": len(rewrite), "removed": len(remove), "added": len(add),
               "objects_after": a.objects - len(remove) + len(add), "seconds": round(time.time() - t0, 2)}, sys.stdout)
    print()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(s, count):
        s.add_argument(count, type=int, required=True)
        s.add_argument("--seed", default="lifeboat-scale-1")
        s.add_argument("--max-size", type=int, default=2048)
        s.add_argument("--per-dir", type=int, default=100)
        s.add_argument("--depth", type=int, default=3)

    s = sub.add_parser("tree")
    s.add_argument("dir")
    common(s, "--files")
    s = sub.add_parser("change")
    s.add_argument("dir")
    common(s, "--files")
    s.add_argument("--fraction", type=float, default=0.01)
    s = sub.add_parser("fill")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--bucket", required=True)
    s.add_argument("--jobs", type=int, default=32)
    s.add_argument("--threads", type=int, default=16)
    common(s, "--objects")
    s = sub.add_parser("change-bucket")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--bucket", required=True)
    s.add_argument("--fraction", type=float, default=0.01)
    common(s, "--objects")
    a = p.parse_args()
    {"tree": cmd_tree, "change": cmd_change, "fill": cmd_fill, "change-bucket": cmd_change_bucket}[a.cmd](a)


if __name__ == "__main__":
    main()
