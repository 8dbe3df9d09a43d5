#!/usr/bin/env python3
"""bench/churn.py - deterministic small changes between the snapshots of the
forget+prune benchmark (bench/run.sh, BENCH_PRUNE).

  churn.py DIR --seed S --round N [--fraction 0.01]

Rewrites FRACTION of the files under DIR (by count, at least one), chosen
from the sorted file list by a generator seeded with (seed, round); the new
bytes depend only on (seed, round, path), so every tool sees the same
history. Text files get a few lines replaced, logs (*.log) get ~16 KiB of
lines appended, binaries (*.bin) get a 64 KiB region overwritten with
incompressible bytes. Every change writes a new file and renames it over the
old one, so a hard-linked copy of the baseline (cp -al) is never modified.
Prints a JSON summary.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import sys


def rng_for(seed, *parts):
    h = hashlib.sha256(("%s|" % seed + "|".join(str(p) for p in parts)).encode()).digest()
    return random.Random(int.from_bytes(h, "big"))


def words(r, n):
    return " ".join("".join(r.choices("etaoinshrdlcumwfgypbvkxjqz", k=r.randint(2, 9))) for _ in range(n))


def replace_with(path, data=None, copy_and=None):
    tmp = path + ".churn-tmp"
    if data is not None:
        with open(tmp, "wb") as f:
            f.write(data)
    else:
        shutil.copyfile(path, tmp)
        with open(tmp, "r+b") as f:
            copy_and(f)
    shutil.copymode(path, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--seed", required=True)
    ap.add_argument("--round", type=int, required=True)
    ap.add_argument("--fraction", type=float, default=0.01)
    a = ap.parse_args()

    files = []
    for d, dirs, names in os.walk(a.dir):
        dirs.sort()
        for n in sorted(names):
            files.append(os.path.relpath(os.path.join(d, n), a.dir))
    files.sort()
    r = rng_for(a.seed, "churn", a.round)
    k = min(len(files), max(1, round(a.fraction * len(files))))
    picked = r.sample(files, k)
    summary = {"round": a.round, "files": len(files), "changed": k, "text": 0, "logs": 0, "bin": 0, "bytes_written": 0}
    for rel in sorted(picked):
        path = os.path.join(a.dir, rel)
        rr = rng_for(a.seed, "churn-file", a.round, rel)
        if rel.endswith(".log"):
            extra = "".join("churn round %d line %d: %s\n" % (a.round, i, words(rr, 8)) for i in range(300)).encode()
            extra = extra[:16384]

            def append(f, extra=extra):
                f.seek(0, os.SEEK_END)
                f.write(extra)

            replace_with(path, copy_and=append)
            summary["logs"] += 1
            summary["bytes_written"] += len(extra)
        elif rel.endswith(".bin"):
            size = os.path.getsize(path)
            n = min(size, 64 << 10)
            off = rr.randrange(0, max(1, size - n + 1))
            block = rr.randbytes(n)

            def overwrite(f, off=off, block=block):
                f.seek(off)
                f.write(block)

            replace_with(path, copy_and=overwrite)
            summary["bin"] += 1
            summary["bytes_written"] += n
        else:
            with open(path, "rb") as f:
                lines = f.read().split(b"\n")
            at = rr.randrange(0, len(lines))
            new = [words(rr, rr.randint(1, 12)).encode() for _ in range(rr.randint(1, 6))]
            lines[at:at + rr.randint(0, 3)] = new
            data = b"\n".join(lines)
            replace_with(path, data=data)
            summary["text"] += 1
            summary["bytes_written"] += len(data)
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
