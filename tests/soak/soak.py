#!/usr/bin/env python3
"""soak.py - the crash soak behind `make soak` (docs/testing.md, "Soak").

Kills lifeboat with SIGKILL at many kill points, over a local repository and
(--s3 1) an S3 repository (Ceph RGW, tests/harness/s3/start.sh) reached
through the HTTP fault proxy (tests/harness/s3/faultproxy.py: 503, 500, 429,
cut bodies, connection resets, slow answers), and after each kill checks that
nothing that was reported saved is lost.

Operations killed, in turn: backup (files), forget --keep-last K --prune,
prune (after a forget) and copy (into a second repository of the same kind).
Kill points (tests/harness/killer.py) are by time (a few ms, and fractions of
the operation's measured duration) and by repository events: for a local
repository files appearing or vanishing (pack, index and snapshot temporary
files, new packs and index files, packs or snapshots deleted), for S3 the
Nth PUT or DELETE of a data, index or snapshot object reaching the proxy.

After each kill point:
  1. `unlock` of the repository written;
  2. `check --read-data` of it (every round, or --read-data-subset P% with a
     full --read-data every --full-every rounds and at the end);
  3. the same operation again, which must complete (exit 0);
  4. every snapshot that a command reported as saved (exit 0: backup's
     snapshot_id, and for copy every source snapshot present when it
     started) is still listed, unless a forget's policy was allowed to remove
     it; every snapshot listed restores byte-identical to the state of the
     tree it was taken from (hard-linked copies of each state). Of the copy
     repository's snapshots, those not restored before are restored every
     round, 10 others at random every --full-every rounds, all at the end.
Verification (unlock, check, list, restore) goes to the S3 server directly,
not through the proxy: a fault there would only blur a real failure.

A kill that comes too late (the command had exited already) is retried on
fresh work (a new change of the tree, or a new preparation), with time points
20 % earlier, up to three attempts in all. Counts kill points (landed on a
running process / too late at every attempt; late attempts separately), snapshots verified, snapshots lost, check failures, restore
mismatches, failed next operations, faults injected by kind; prints a summary
line and writes the figures as JSON (--json). Exit 0 when nothing was lost
and nothing failed.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "harness"))
import killer  # noqa: E402  (tests/harness/killer.py, shared with test_crash.sh)

KEEP = 4  # forget --keep-last


def log(msg):
    print(msg, flush=True)


class Soak:
    def __init__(self, a):
        self.a = a
        self.lb = a.lb
        self.tmp = tempfile.mkdtemp(prefix="lifeboat-soak.")
        self.src = os.path.join(self.tmp, "src")
        self.states_dir = os.path.join(self.tmp, "states")
        os.makedirs(self.states_dir)
        self.rnd = random.Random(a.seed)  # the plan of kill points
        self.vrnd = random.Random(a.seed + 1)  # the sample of copies restored again
        self.env = dict(os.environ)
        self.env["LIFEBOAT_PASSWORD"] = "soak-password-123"
        self.env["LIFEBOAT_FROM_PASSWORD"] = "soak-password-123"
        self.env["LIFEBOAT_RETRY_BASE_MS"] = "20"
        for k in ("LIFEBOAT_PASSWORD_FILE", "LIFEBOAT_PASSWORD_COMMAND", "LIFEBOAT_REPOSITORY",
                  "LIFEBOAT_FROM_REPOSITORY", "LIFEBOAT_TEST_FAULTS"):
            self.env.pop(k, None)
        self.nstate = 0
        self.nmut = 0
        self.state_of = {}  # snapshot id -> state directory (primary repository)
        self.c = dict(points=0, landed=0, too_late=0, attempts_too_late=0, op_errors=0, snapshots_verified=0,
                      restores=0, snapshots_lost=0, check_failures=0, restore_mismatches=0,
                      next_op_failures=0, checks_full=0, checks_subset=0, by_op={}, by_point={})
        self.problems = []
        self.faults = {}
        self.proxy = None
        self.s3dir = None
        self.t0 = time.monotonic()
        self.budget = a.seconds  # seconds from t0 the current phase may start points in
        self.phases = []

    # ------------------------------------------------------------ helpers
    def run(self, args, repo=None, stdin=None):
        cmd = [self.lb] + (["-r", repo] if repo else []) + args
        p = subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def problem(self, what):
        self.problems.append(what)
        log("# PROBLEM: " + what)

    def snapshots(self, repo):
        rc, out, err = self.run(["snapshots", "--json"], repo)
        if rc != 0:
            raise RuntimeError("snapshots of %s failed: %s" % (repo, err.strip()[:300]))
        return json.loads(out or "[]")

    def time_left(self):
        return self.a.seconds <= 0 or time.monotonic() - self.t0 < self.budget

    # ------------------------------------------------------------ the tree
    def make_tree(self):
        rnd = random.Random(self.a.seed)
        os.makedirs(os.path.join(self.src, "big"))
        for i in range(3):
            with open(os.path.join(self.src, "big", "r%d.bin" % i), "wb") as f:
                f.write(os.urandom(self.a.mb * 1000 * 1000 // 3))
        for d in range(4):
            p = os.path.join(self.src, "text", "d%d" % d)
            os.makedirs(p)
            for k in range(12):
                with open(os.path.join(p, "n%02d.txt" % k), "w") as f:
                    f.write("".join("dir %d note %d line %d\n" % (d, k, j) for j in range(rnd.randint(1, 300))))

    def mutate(self):
        """Change the tree; every change writes a new inode (os.replace), so
        hard-linked copies of earlier states keep their contents."""
        self.nmut += 1
        n, rnd = self.nmut, random.Random(self.a.seed * 100003 + self.nmut)

        def put(path, data):
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)

        big = sorted(os.listdir(os.path.join(self.src, "big")))
        size = self.a.mb * 1000 * 1000 // 3
        put(os.path.join(self.src, "big", big[n % len(big)]), os.urandom(rnd.randint(size // 2, size)))
        tdir = os.path.join(self.src, "text", "d%d" % (n % 4))
        notes = sorted(os.listdir(tdir))
        for name in rnd.sample(notes, min(3, len(notes))):
            p = os.path.join(tdir, name)
            put(p, open(p, "rb").read() + ("change %d\n" % n).encode())
        if len(notes) > 6:
            os.remove(os.path.join(tdir, notes[rnd.randrange(len(notes))]))
        put(os.path.join(tdir, "new-%04d.txt" % n), ("added by change %d\n" % n).encode() * 40)

    def save_state(self):
        self.nstate += 1
        d = os.path.join(self.states_dir, str(self.nstate))
        subprocess.run(["cp", "-al", self.src, d], check=True)
        return d

    # ------------------------------------------------------------ verification
    def restore_same(self, repo, sid, state):
        t = os.path.join(self.tmp, "restore")
        shutil.rmtree(t, ignore_errors=True)
        rc, _, err = self.run(["restore", sid, "--target", t, "-q"], repo)
        self.c["restores"] += 1
        if rc != 0:
            shutil.rmtree(t, ignore_errors=True)
            return "restore exit %d: %s" % (rc, err.strip()[:300])
        d = subprocess.run(["diff", "-r", "--no-dereference", state, t + self.src],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        shutil.rmtree(t, ignore_errors=True)
        if d.returncode != 0:
            return "differs from its state: " + d.stdout.decode("utf-8", "replace")[:300]
        return None

    def unlock_check(self, repo, label, full):
        rc, _, err = self.run(["unlock"], repo)
        if rc != 0:
            self.problem("%s: unlock exit %d: %s" % (label, rc, err.strip()[:200]))
        if full:
            args = ["check", "--read-data"]
            self.c["checks_full"] += 1
        else:
            args = ["check", "--read-data-subset", "%d%%" % self.a.subset]
            self.c["checks_subset"] += 1
        rc, out, err = self.run(args + ["-q"], repo)
        if rc != 0:
            self.c["check_failures"] += 1
            self.problem("%s: %s exit %d: %s" % (label, " ".join(args), rc, (err + out).strip()[:600]))
            return False
        return True

    # ------------------------------------------------------------ one phase
    def phase(self, name, repo, vrepo, dst, vdst, watch_src, watch_dst, npoints):
        """Kill points against repo (verification through vrepo) and copies
        into dst (vdst). watch_*: what killer.py polls (a directory or the
        proxy log) and the text of the req: modes."""
        log("# phase %s: %d kill points, repository %s" % (name, npoints, repo))
        self.phases.append(name)
        for r in (repo, dst):
            rc, _, err = self.run(["init", "--kdf-n", "1024", "-q"], r)
            if rc != 0:
                raise RuntimeError("init %s failed: %s" % (r, err.strip()))
        expected = set()  # reported saved, in the primary repository
        forgettable = set()  # a forget's policy may have removed these
        copy_expected = set()  # originals whose copy must be in dst
        copied = {}  # dst snapshot id -> original id, verified at least once
        durations = {}  # op -> measured seconds of an uninterrupted run

        def points_for(op):
            if watch_src[0] == "req":
                sp, dp = watch_src[1], watch_dst[1]
                ev = {
                    "backup": [("req:PUT:%sdata/" % sp, 1), ("req:PUT:%sdata/" % sp, 2),
                               ("req:PUT:%sindex/" % sp, 1), ("req:PUT:%ssnapshots/" % sp, 1),
                               ("req:PUT:%slocks/" % sp, 1)],
                    "forget-prune": [("req:DELETE:%ssnapshots/" % sp, 1), ("req:DELETE:%sdata/" % sp, 1),
                                     ("req:PUT:%sindex/" % sp, 1), ("req:DELETE:%sindex/" % sp, 1)],
                    "prune": [("req:DELETE:%sdata/" % sp, 1), ("req:PUT:%sindex/" % sp, 1),
                              ("req:DELETE:%sindex/" % sp, 1), ("req:PUT:%sdata/" % sp, 1)],
                    "copy": [("req:PUT:%sdata/" % dp, 1), ("req:PUT:%sindex/" % dp, 1),
                             ("req:PUT:%ssnapshots/" % dp, 1), ("req:GET:%sdata/" % sp, 1)],
                }[op]
            else:
                ev = {
                    "backup": [("packtmp", 1), ("pack", 1), ("indextmp", 1), ("index", 1), ("snaptmp", 1)],
                    "forget-prune": [("snapgone", 1), ("gone", 1), ("indextmp", 1), ("index", 1), ("packtmp", 1)],
                    "prune": [("gone", 1), ("indextmp", 1), ("index", 1), ("packtmp", 1)],
                    "copy": [("packtmp", 1), ("pack", 1), ("indextmp", 1), ("index", 1), ("snaptmp", 1)],
                }[op]
            return ev + [("time", 0.01), ("frac", 0.25), ("frac", 0.5), ("frac", 0.8)]

        ops = ["backup", "forget-prune", "backup", "copy", "backup", "prune"]
        plan = []
        cursor = {op: 0 for op in ops}
        shuffled = {op: self.rnd.sample(points_for(op), len(points_for(op))) for op in ops}
        for i in range(npoints):
            op = ops[i % len(ops)]
            pts = shuffled[op]
            plan.append((op, pts[cursor[op] % len(pts)]))
            cursor[op] += 1

        def backup_ok(label):
            """An uninterrupted backup; its snapshot joins expected."""
            state = self.save_state()
            t = time.monotonic()
            rc, out, err = self.run(["backup", self.src, "--json"], repo)
            durations["backup"] = time.monotonic() - t
            if rc != 0:
                return rc, err
            sid = json.loads(out.strip().splitlines()[-1])["snapshot_id"]
            self.state_of[sid] = state
            expected.add(sid)
            return 0, ""

        def adopt_new(state):
            """Snapshots listed but not known (a killed backup that committed) map to state."""
            for s in self.snapshots(vrepo):
                if s["id"] not in self.state_of:
                    self.state_of[s["id"]] = state

        def forget_set():
            snaps = sorted(self.snapshots(vrepo), key=lambda s: s["time"])
            return {s["id"] for s in snaps[:-KEEP]} if len(snaps) > KEEP else set()

        rc, err = backup_ok("first backup")
        if rc != 0:
            raise RuntimeError("first backup failed: " + err)
        for i, (op, (mode, value)) in enumerate(plan):
            if not self.time_left():
                log("# time budget of %ds spent: stopping before point %d of phase %s" % (self.a.seconds, i + 1, name))
                break
            full = (i + 1) % self.a.full_every == 0 or self.a.subset >= 100
            label = "%s point %d %s %s %g" % (name, i + 1, op, mode, value)
            # ---- prepare
            for attempt in (1, 2, 3):  # a kill that comes too late is retried on fresh work
                target, vtarget = repo, vrepo
                if op == "backup":
                    self.mutate()
                    state = self.save_state()
                    cmd = ["backup", self.src, "--json"]
                elif op in ("forget-prune", "prune"):
                    for _ in range(KEEP + 2):
                        if len(self.snapshots(vrepo)) >= KEEP + 2:
                            break
                        self.mutate()
                        rc, err = backup_ok(label)
                        if rc != 0:
                            self.c["op_errors"] += 1
                            log("# %s: preparing backup exit %d: %s" % (label, rc, err.strip()[:200]))
                    fs = forget_set()
                    forgettable |= fs
                    if op == "prune":
                        rc, _, err = self.run(["forget", "--keep-last", str(KEEP)], repo)
                        if rc != 0:
                            self.c["op_errors"] += 1
                            log("# %s: forget exit %d: %s" % (label, rc, err.strip()[:200]))
                        cmd = ["prune"]
                    else:
                        cmd = ["forget", "--keep-last", str(KEEP), "--prune"]
                    state = None
                else:  # copy: something new to copy first
                    self.mutate()
                    rc, err = backup_ok(label)
                    if rc != 0:
                        self.c["op_errors"] += 1
                    src_now = {s["id"] for s in self.snapshots(vrepo)}
                    target, vtarget = dst, vdst
                    cmd = ["copy", "--from-repo", repo]
                    state = None
                # ---- the kill
                if mode == "frac":
                    d = durations.get(op, durations["backup"])
                    kmode, kvalue = "time", round(max(0.005, value * d * 0.8 ** (attempt - 1)), 3)
                else:
                    kmode, kvalue = mode, value
                watch = watch_dst[2] if op == "copy" else watch_src[2]
                outf = os.path.join(self.tmp, "op.out")
                with open(outf, "wb") as fo:
                    t = time.monotonic()
                    landed, rc, secs, what = killer.kill_at(watch, kmode, kvalue, [self.lb, "-r", target] + cmd,
                                                            env=self.env, stdout=fo)
                if not landed:
                    self.c["attempts_too_late"] += 1
                    durations[op] = secs if op not in durations else (durations[op] + secs) / 2
                    if rc != 0:
                        self.c["op_errors"] += 1
                out = open(outf, "rb").read().decode("utf-8", "replace")
                if not landed and rc == 0:
                    if op == "backup":
                        sid = json.loads(out.strip().splitlines()[-1])["snapshot_id"]
                        self.state_of[sid] = state
                        expected.add(sid)
                    elif op == "copy":
                        copy_expected |= src_now
                if landed:
                    break
                if op == "backup":
                    adopt_new(state)  # a failed attempt may have committed before the next change
            self.c["points"] += 1
            self.c["by_op"][op] = self.c["by_op"].get(op, 0) + 1
            shown = mode.replace(watch_src[1] or "\0", "src:").replace(watch_dst[1] or "\0", "dst:")
            pk = "%s %s %s" % (name, op, shown if mode != "frac" else "time-fraction")
            bp = self.c["by_point"].setdefault(pk, [0, 0])
            bp[0] += 1
            if landed:
                self.c["landed"] += 1
                bp[1] += 1
            else:
                self.c["too_late"] += 1
            if self.a.sabotage and i == 0 and watch_src[0] == "dir":
                self.sabotage(repo)
            result = ("killed %.3fs" % secs) if landed else ("exited %d after %.3fs (too late)" % (rc, secs))
            if attempt > 1:
                result += ", attempt %d" % attempt
            # ---- after the kill: unlock, check, the same operation again
            ok = self.unlock_check(vtarget, label, full)
            if op == "backup":
                adopt_new(state)
                t = time.monotonic()
                rc2, out2, err2 = self.run(cmd, repo)
                if rc2 == 0:
                    durations["backup"] = (durations.get("backup", secs) + time.monotonic() - t) / 2
                    sid = json.loads(out2.strip().splitlines()[-1])["snapshot_id"]
                    self.state_of[sid] = state
                    expected.add(sid)
            else:
                t = time.monotonic()
                rc2, out2, err2 = self.run(cmd, target)
                if rc2 == 0:
                    durations[op] = (durations.get(op, secs) + time.monotonic() - t) / 2
                    if op == "copy":
                        copy_expected |= src_now
            if rc2 != 0:
                self.c["next_op_failures"] += 1
                self.problem("%s: the next %s exit %d: %s" % (label, op, rc2, err2.strip()[:300]))
            # ---- every snapshot reported saved is there and restores
            listed = {s["id"] for s in self.snapshots(vrepo)}
            for sid in sorted(expected - listed):
                if sid in forgettable:
                    expected.discard(sid)
                else:
                    self.c["snapshots_lost"] += 1
                    self.problem("%s: snapshot %s was reported saved and is gone" % (label, sid[:8]))
                    expected.discard(sid)
            nver = 0
            for sid in sorted(listed):
                st = self.state_of.get(sid)
                if st is None:
                    self.problem("%s: snapshot %s of no known state" % (label, sid[:8]))
                    continue
                bad = self.restore_same(vrepo, sid, st)
                nver += 1
                if bad:
                    self.c["restore_mismatches"] += 1
                    self.problem("%s: snapshot %s: %s" % (label, sid[:8], bad))
            nver += self.verify_copies(vdst, copy_expected, copied, label, "sample" if full else "new")
            self.c["snapshots_verified"] += nver
            log("# %s: %s (%s); check %s; next %s; %d snapshot(s) restored" % (
                label, result, what, "ok" if ok else "FAILED", "ok" if rc2 == 0 else "FAILED", nver))
        # ---- the end of the phase: full check of both, every snapshot once more
        self.unlock_check(vrepo, name + " final", True)
        self.unlock_check(vdst, name + " final copy", True)
        self.c["snapshots_verified"] += self.verify_copies(vdst, copy_expected, copied, name + " final", "all")

    def sabotage(self, repo):
        """--sabotage: delete the largest pack behind lifeboat's back, so the
        soak must report check failures and lost data (proves it can fail)."""
        packs = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(repo, "data")) for f in fs]
        victim = max(packs, key=os.path.getsize)
        os.remove(victim)
        log("# sabotage: deleted " + victim)

    def verify_copies(self, vdst, copy_expected, copied, label, which):
        """Every expected original has its copy in vdst; the copies restore
        like their originals: which is "new" (those not restored before),
        "sample" (the new ones and up to 10 others, at random: keeps the
        cost of a long run linear) or "all"."""
        n = 0
        dsnaps = self.snapshots(vdst)
        have = {s.get("original") for s in dsnaps}
        for orig in sorted(copy_expected - have):
            self.c["snapshots_lost"] += 1
            self.problem("%s: the copy of %s was reported saved and is gone" % (label, orig[:8]))
            copy_expected.discard(orig)
        old = [s["id"] for s in dsnaps if s["id"] in copied]
        again = set(old if which == "all" else self.vrnd.sample(old, min(10, len(old))) if which == "sample" else [])
        for s in dsnaps:
            if s["id"] in copied and s["id"] not in again:
                continue
            st = self.state_of.get(s.get("original"))
            if st is None:
                self.problem("%s: copy %s of unknown original" % (label, s["id"][:8]))
                continue
            bad = self.restore_same(vdst, s["id"], st)
            copied[s["id"]] = s.get("original")
            n += 1
            if bad:
                self.c["restore_mismatches"] += 1
                self.problem("%s: copy %s: %s" % (label, s["id"][:8], bad))
        return n

    # ------------------------------------------------------------ S3
    def start_s3(self):
        h = os.path.join(HERE, "..", "harness", "s3")
        self.s3dir = os.path.join(self.tmp, "s3")
        p = subprocess.run([os.path.join(h, "start.sh"), self.s3dir], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise RuntimeError("unable to start the S3 server: " + p.stderr.decode()[-800:])
        s3 = {}
        for line in open(os.path.join(self.s3dir, "s3.env")):
            k, _, v = line.strip().partition("=")
            s3[k] = v
        self.env["AWS_ACCESS_KEY_ID"] = s3["S3_ACCESS_KEY"]
        self.env["AWS_SECRET_ACCESS_KEY"] = s3["S3_SECRET_KEY"]
        self.env["LIFEBOAT_S3_REGION"] = "us-east-1"
        for k in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
            self.env.pop(k, None)
        self.proxy_log = os.path.join(self.tmp, "proxy.log")
        port_file = os.path.join(self.tmp, "proxy.port")
        self.proxy_err = open(os.path.join(self.tmp, "proxy.err"), "w")
        self.proxy = subprocess.Popen(
            [sys.executable, os.path.join(h, "faultproxy.py"), "--upstream", s3["S3_ENDPOINT"][len("http://"):],
             "--every", str(self.a.fault_every), "--delay", "0.3", "--kinds", self.a.fault_kinds,
             "--log", self.proxy_log, "--port-file", port_file], stdout=self.proxy_err, stderr=self.proxy_err)
        for _ in range(100):
            if os.path.exists(port_file):
                break
            time.sleep(0.1)
        self.port_file = port_file
        return "s3:" + s3["S3_ENDPOINT"], "s3:http://127.0.0.1:" + open(port_file).read().strip()

    def stop_s3(self):
        if self.proxy:
            self.proxy.send_signal(signal.SIGTERM)
            self.proxy.wait()
            try:
                line = open(self.port_file + ".stats").read().split()
                for kv in line:
                    k, _, v = kv.partition("=")
                    if k not in ("requests", "faults"):
                        self.faults[k] = int(v)
                    else:
                        self.faults["_" + k] = int(v)
            except OSError:
                pass
            self.proxy = None
        if self.s3dir:
            subprocess.run([os.path.join(HERE, "..", "harness", "s3", "stop.sh"), self.s3dir],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.s3dir = None

    # ------------------------------------------------------------ all
    def main(self):
        a = self.a
        self.make_tree()
        nlocal = a.points if not a.s3 else (a.points + 1) // 2
        try:
            L, L2 = os.path.join(self.tmp, "repo"), os.path.join(self.tmp, "copy")
            if a.s3:
                self.budget = a.seconds / 2  # the local phase leaves half the budget to S3
            self.phase("local", L, L, L2, L2, ("dir", "", L), ("dir", "", L2), nlocal)
            self.budget = a.seconds
            if a.s3 and self.time_left():
                direct, proxied = self.start_s3()
                self.phase("s3", proxied + "/soak/repo", direct + "/soak/repo",
                           proxied + "/soak/copy", direct + "/soak/copy",
                           ("req", "/soak/repo/", self.proxy_log), ("req", "/soak/copy/", self.proxy_log),
                           a.points - nlocal)
            elif a.s3:
                log("# time budget spent: the S3 phase did not run")
        except Exception as e:  # a harness failure is reported, not hidden
            self.problem("harness: %s: %s" % (type(e).__name__, e))
        finally:
            self.stop_s3()
        return self.report()

    def report(self):
        c, a = self.c, self.a
        secs = time.monotonic() - self.t0
        faults = {k: v for k, v in self.faults.items() if not k.startswith("_")}
        fig = dict(c, seconds=round(secs, 1), seed=a.seed, points_requested=a.points, s3=bool(a.s3),
                   phases=self.phases, mb=a.mb, full_every=a.full_every, subset_percent=a.subset, fault_every=a.fault_every,
                   proxy_requests=self.faults.get("_requests", 0), faults_injected=faults,
                   problems=self.problems[:50], passed=not self.problems)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(fig, f, indent=1, sort_keys=True)
        fk = " ".join("%s=%d" % kv for kv in sorted(faults.items())) or "none"
        log("soak: %d kill points (%d landed on a running process, %d too late) in %.0fs, seed %d, %s; "
            "%d snapshot restores verified, %d snapshots lost, %d check failures, %d restore mismatches, "
            "%d failed next operations; S3 faults injected: %s; %s" % (
                c["points"], c["landed"], c["too_late"], secs, a.seed, "+".join(self.phases) or "nothing",
                c["snapshots_verified"], c["snapshots_lost"], c["check_failures"], c["restore_mismatches"],
                c["next_op_failures"], fk, "PASS" if not self.problems else "FAIL (%d problems)" % len(self.problems)))
        if not a.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            log("# kept " + self.tmp)
        return 0 if not self.problems else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lb", required=True, help="the lifeboat binary")
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=0, help="time budget (0: none)")
    ap.add_argument("--s3", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mb", type=int, default=6, help="size of the tree's big files in MB")
    ap.add_argument("--full-every", type=int, default=10, help="full check --read-data every N points")
    ap.add_argument("--subset", type=int, default=20, help="check --read-data-subset PERCENT in between")
    ap.add_argument("--fault-every", type=int, default=5, help="the proxy breaks every Nth request")
    ap.add_argument("--fault-kinds", default="503,cut,500,slow,429,reset")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--sabotage", action="store_true",
                    help="delete a pack of the local repository after the first kill (the soak must FAIL)")
    a = ap.parse_args()
    sys.exit(Soak(a).main())


if __name__ == "__main__":
    main()
