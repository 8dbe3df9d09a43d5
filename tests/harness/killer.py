#!/usr/bin/env python3
"""killer.py - run a command and SIGKILL it at a kill point (TEST ONLY).

Shared by tests/integration/test_crash.sh (as a program) and the crash soak
tests/soak/soak.py (as a module: kill_at()).

usage: killer.py WATCH MODE VALUE -- CMD...
Runs CMD, SIGKILLs it at the kill point and prints "killed SECONDS WHAT" or,
when CMD finished first, "exited CODE SECONDS WHAT". WATCH is a local
repository directory, or for the req: modes the request log of
tests/harness/s3/faultproxy.py (--log). Modes:
  time S          S seconds after the start
  packtmp N       when the Nth distinct temporary file under data/ is seen
  pack N          when N new pack files exist
  gone N          when N pack files that existed at the start are gone (prune)
  snapgone N      when N snapshot files that existed at the start are gone (forget)
  indextmp N      when N new temporary files are seen at once in index/
  index N         when N new index files exist
  snaptmp N       when N new temporary files are seen at once in snapshots/
  indexgone N     when N index files that existed at the start are gone
                  (prune, repair index)
  waltmp N        when N new temporary files are seen at once in wal/ (wal-push)
  wal N           when N new files exist in wal/ (wal-push)
  req:M:TEXT N    when the Nth new request with method M (GET, PUT, DELETE, ...)
                  whose path contains TEXT reaches the proxy (the request is then
                  in flight: the kill lands mid-upload or mid-delete)
The repository (or the log) is polled every millisecond. Temporary files left
behind by earlier kills are ignored.
"""
import os
import subprocess
import sys
import time


def scan(repo, sub):
    """(final paths, temporary paths) under repo/sub, descending into subdirs."""
    final, tmp = set(), set()

    def walk(d):
        try:
            with os.scandir(d) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        walk(e.path)
                    elif e.name.startswith(".tmp-"):
                        tmp.add(e.path)
                    else:
                        final.add(e.path)
        except FileNotFoundError:
            pass

    walk(os.path.join(repo, sub))
    return final, tmp


class ReqLog:
    """New lines of the fault proxy's request log ("METHOD PATH" each)."""

    def __init__(self, path):
        self.path = path
        try:
            self.offset = os.path.getsize(path)
        except OSError:
            self.offset = 0
        self.partial = b""
        self.lines = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        self.offset += len(data)
        data = self.partial + data
        *done, self.partial = data.split(b"\n")
        self.lines.extend(x.decode("utf-8", "replace") for x in done)

    def count(self, method, text):
        return sum(1 for x in self.lines if x.startswith(method + " ") and text in x)


def kill_at(watch, mode, value, cmd, env=None, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
    """Run cmd, kill it at the point (mode, value) watched in watch.

    Returns (killed, rc, seconds, what): killed is True when the SIGKILL hit
    the running command, rc its exit code (-9 when killed)."""
    value = float(value)
    req = mode.startswith("req:")
    if req:
        _, method, text = mode.split(":", 2)
    logged = req or os.path.isfile(watch)  # a proxy's request log, not a repository
    if logged:
        log = ReqLog(watch)
    else:
        packs0, index0, snaps0 = scan(watch, "data")[0], scan(watch, "index")[0], scan(watch, "snapshots")[0]
        wal0 = scan(watch, "wal")[0] if mode in ("wal", "waltmp") else set()
        # temporary files left by earlier kills do not count
        stale = scan(watch, "data")[1] | scan(watch, "index")[1] | scan(watch, "snapshots")[1]
        if mode in ("wal", "waltmp"):
            stale |= scan(watch, "wal")[1]
    seen_tmp = set()
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env)
    while proc.poll() is None:
        now = time.monotonic() - start
        if mode == "time":
            hit = now >= value
        elif req:
            log.poll()
            hit = log.count(method, text) >= value
        elif mode in ("packtmp", "pack", "gone"):
            final, tmp = scan(watch, "data")
            seen_tmp |= tmp - stale
            if mode == "packtmp":
                hit = len(seen_tmp) >= value
            elif mode == "pack":
                hit = len(final - packs0) >= value
            else:
                hit = len(packs0 - final) >= value
        elif mode == "indextmp":
            hit = len(scan(watch, "index")[1] - stale) >= value
        elif mode == "index":
            hit = len(scan(watch, "index")[0] - index0) >= value
        elif mode == "snaptmp":
            hit = len(scan(watch, "snapshots")[1] - stale) >= value
        elif mode == "snapgone":
            hit = len(snaps0 - scan(watch, "snapshots")[0]) >= value
        elif mode == "indexgone":
            hit = len(index0 - scan(watch, "index")[0]) >= value
        elif mode == "waltmp":
            hit = len(scan(watch, "wal")[1] - stale) >= value
        elif mode == "wal":
            hit = len(scan(watch, "wal")[0] - wal0) >= value
        else:
            proc.kill()
            proc.wait()
            raise ValueError("killer.py: unknown mode " + mode)
        if hit:
            proc.kill()  # a process that exited meanwhile is a zombie: the kill is a no-op
            break
        time.sleep(0.001 if mode != "time" else min(0.001, max(0.0, value - now)))
    rc = proc.wait()
    now = time.monotonic() - start
    if logged:
        log.poll()
        what = "%d request(s) seen" % len(log.lines)
    else:
        what = "%d new pack(s), %d new index file(s)" % (
            len(scan(watch, "data")[0] - packs0), len(scan(watch, "index")[0] - index0))
    return rc == -9, rc, now, what


def main():
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        sys.exit("usage: killer.py WATCH MODE VALUE -- CMD...")
    killed, rc, now, what = kill_at(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[5:])
    if killed:
        print("killed %.3f %s" % (now, what))
    else:
        print("exited %d %.3f %s" % (rc, now, what))


if __name__ == "__main__":
    main()
