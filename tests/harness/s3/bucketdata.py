#!/usr/bin/env python3
"""bucketdata.py - the S3 side of tests/integration/test_bucket.sh, with boto3
(a client independent of lifeboat's): fill a source bucket, describe a bucket
prefix, add/modify/delete objects, and put a marker request into the
server's access log. TEST ONLY.

Credentials and endpoint come from S3_ENDPOINT, AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY. Nothing here prints them.

  gen BUCKET PREFIX               2,500 objects under PREFIX (see below)
  describe BUCKET PREFIX OUT      JSON {relative key: [size, content type, metadata,
                                  md5 of the body, cache control, disposition]}
  put BUCKET KEY TEXT [CTYPE]     one small object
  delete BUCKET KEY...
  marker BUCKET NAME              a HEAD of a missing key (shows in the access log)
  count BUCKET PREFIX             number of objects under PREFIX
  cat BUCKET KEY                  print an object's body
  mkbucket BUCKET                 create a bucket (an existing one is fine)
"""
import concurrent.futures
import hashlib
import io
import json
import os
import random
import sys

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

MiB = 1024 * 1024


def client():
    kw = dict(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 8})
    try:  # newer botocore: no flexible checksums / aws-chunked bodies (Ceph 16 predates them)
        cfg = Config(request_checksum_calculation="when_required", response_checksum_validation="when_required", **kw)
    except TypeError:
        cfg = Config(**kw)
    return boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1", config=cfg)


def data(seed, size):
    return random.Random(seed).randbytes(size)


def plan():
    """(relative key, size, content type or None, metadata, multipart?) for 2,500 objects."""
    types = ["text/plain", "image/png", "application/json", "image/jpeg; charset=binary", None]
    objs = []
    awkward = [
        ("awkward/with space.txt", 100, "text/plain", {"note": "space"}),
        ("awkward/plus+sign.txt", 101, "text/plain", {}),
        ("awkward/\u00fcn\u00efc\u00f8d\u00e9-\u6587\u4ef6.txt", 102, "text/plain; charset=utf-8", {"lang": "zh"}),
        ("awkward/a//b", 103, None, {}),
        ("awkward/folder/", 0, "application/x-directory", {}),
        ("awkward/100%.txt", 104, "text/plain", {}),
        ("awkward/%2E%2E", 105, None, {}),
        ("awkward/both", 106, "text/plain", {"kind": "file-and-dir"}),
        ("awkward/both/child.txt", 107, "text/plain", {}),
        ("awkward/tilde~and=equals&amp.txt", 108, "text/plain", {}),
        ("/leading-slash", 109, None, {}),
        ("awkward/empty.bin", 0, "application/octet-stream", {"empty": "yes"}),
        ("root.txt", 110, "text/plain", {"Mixed-Case": "Value With Spaces"}),
    ]
    for k, size, ct, meta in awkward:
        objs.append((k, size, ct, meta, False))
    big = [
        ("big/single-21MiB.bin", 21 * MiB + 17, "application/octet-stream", {"big": "single"}, False),
        ("big/multipart-25MiB.bin", 25 * MiB + 5, "video/mp4", {"big": "multipart"}, True),
        ("big/multipart-33MiB.bin", 33 * MiB, None, {}, True),
    ]
    objs += big
    medium = [("medium/m%02d.bin" % i, 100 * 1024 * (i + 1), "application/zip", {}, False) for i in range(12)]
    objs += medium
    i = 0
    while len(objs) < 2500:
        ct = types[i % len(types)]
        meta = {"owner": "user%d" % (i % 50), "index": str(i)} if i % 3 == 0 else {}
        if i % 7 == 0:
            meta["cache"] = "x"
        size = random.Random(i).randrange(0, 20000)
        objs.append(("users/u%02d/%s/file-%04d.txt" % (i % 50, "docs" if i % 2 else "img", i), size, ct, meta, False))
        i += 1
    return objs


def gen(bucket, prefix):
    s3 = client()
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    mp = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)

    def one(o):
        k, size, ct, meta, multipart = o
        body = data(k, size)
        extra = {"Metadata": meta}
        if ct:
            extra["ContentType"] = ct
        if k.startswith("big/single"):
            extra["CacheControl"] = "max-age=3600"
            extra["ContentDisposition"] = 'attachment; filename="big.bin"'
        if multipart:
            s3.upload_fileobj(io.BytesIO(body), bucket, prefix + k, ExtraArgs=extra, Config=mp)
        else:
            s3.put_object(Bucket=bucket, Key=prefix + k, Body=body, **extra)

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(one, plan()))
    # objects outside the prefix, which a backup of the prefix must leave out
    s3.put_object(Bucket=bucket, Key="elsewhere.txt", Body=b"not under the prefix")
    s3.put_object(Bucket=bucket, Key=prefix.rstrip("/") + "-sibling/x.txt", Body=b"a sibling prefix")


def list_keys(s3, bucket, prefix):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def describe(bucket, prefix, out):
    s3 = client()
    keys = list_keys(s3, bucket, prefix)

    def one(k):
        r = s3.get_object(Bucket=bucket, Key=k)
        body = r["Body"].read()
        return k[len(prefix):], [
            r["ContentLength"],
            r.get("ContentType"),
            r.get("Metadata", {}),
            hashlib.md5(body).hexdigest(),
            r.get("CacheControl"),
            r.get("ContentDisposition"),
        ]

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        d = dict(ex.map(one, keys))
    with open(out, "w") as f:
        json.dump(d, f, sort_keys=True, indent=0)
    print(len(d))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen":
        gen(*args)
    elif cmd == "describe":
        describe(*args)
    elif cmd == "put":
        extra = {"ContentType": args[3]} if len(args) > 3 else {}
        client().put_object(Bucket=args[0], Key=args[1], Body=args[2].encode(), **extra)
    elif cmd == "delete":
        s3 = client()
        for k in args[1:]:
            s3.delete_object(Bucket=args[0], Key=k)
    elif cmd == "marker":
        s3 = client()
        try:
            s3.head_object(Bucket=args[0], Key="lifeboat-test-marker-" + args[1])
        except Exception:
            pass
    elif cmd == "cat":
        sys.stdout.buffer.write(client().get_object(Bucket=args[0], Key=args[1])["Body"].read())
    elif cmd == "mkbucket":
        s3 = client()
        try:
            s3.create_bucket(Bucket=args[0])
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
    elif cmd == "count":
        print(len(list_keys(client(), args[0], args[1])))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
