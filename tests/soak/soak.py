#!/usr/bin/env python3
"""soak.py - the crash soak behind `make soak` (docs/testing.md, "Soak").

Kills lifeboat with SIGKILL at many kill points, over a local repository and
(--s3 1) an S3 repository (Ceph RGW, tests/harness/s3/start.sh) reached
through the HTTP fault proxy (tests/harness/s3/faultproxy.py: 503, 500, 429,
cut bodies, connection resets, slow answers), and after each kill checks that
nothing that was reported saved is lost.

Operations killed, in turn: backup (files), forget --keep-last K --prune,
wal-push (a synthetic WAL segment), prune (after a forget), copy (into a
second repository of the same kind), repair index (every other time after
deleting every index file) and repair snapshots (after deleting the pack of a
file of an old snapshot and a repair index).
Kill points (tests/harness/killer.py) are by time (a few ms, and fractions of
the operation's measured duration) and by repository events: for a local
repository files appearing or vanishing (pack, index, snapshot and WAL
temporary files, new packs, index and WAL files, packs, index files or
snapshots deleted), for S3 the Nth request of a method on a data, index,
snapshot, lock or WAL object reaching the proxy.

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
     round, 10 others at random every --full-every rounds, all at the end;
  5. every WAL segment whose wal-push exited 0 is fetched (wal-fetch) and
     compared by SHA-256: the new ones every round, 10 others at random
     every --full-every rounds, all at the end of the phase.
After a repair index whose index files were deleted, the check (2) runs
after the repair index again (3): before it the repository lacks its index
by design. repair snapshots: the killed run and the run again (3) must
leave every snapshot that lost a file rewritten (tag "repaired", original
kept and still listed); the repaired ones restore to their state less what
the dry run before the kill listed as lost; then the originals are
forgotten by ID and the check (2) must pass.
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
import calendar
import hashlib
import json
import os
import random
import shutil
import signal
import struct
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



def snap_time_ns(s):
    """A snapshot's time (RFC 3339, UTC) in nanoseconds."""
    base, _, frac = s["time"].rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 10**9 + int((frac + "0" * 9)[:9])

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
        # every backup started: (wall clock ns just before it started, its tree's
        # state), so that a snapshot a killed backup committed is matched to the
        # state of the backup that wrote it, by the snapshot's own time, whenever
        # it shows up (through the fault proxy a killed client's last PUT may
        # reach the server after the kill)
        self.backups_started = []
        self.c = dict(points=0, landed=0, too_late=0, attempts_too_late=0, op_errors=0, snapshots_verified=0,
                      restores=0, snapshots_lost=0, adopted_by_content=0, check_failures=0, restore_mismatches=0,
                      next_op_failures=0, checks_full=0, checks_subset=0, by_op={}, by_point={})
        self.problems = []
        self.faults = {}
        self.proxy = None
        self.s3dir = None
        self.t0 = time.monotonic()
        self.budget = a.seconds  # seconds from t0 the current phase may start points in
        self.phases = []
        self.craft = os.path.join(os.path.dirname(os.path.abspath(a.lb)), "tests", "harness", "lb-craft")
        self.wal_dir = os.path.join(self.tmp, "wal")
        os.makedirs(self.wal_dir)
        self.c.update(wal_pushed=0, wal_fetches=0, wal_lost=0, index_deleted=0, packs_deleted=0,
                      snapshots_repaired=0, repaired_verified=0, seconds_by_step={})
        self.repaired_state = {}  # original id -> state directory of its repaired snapshot
        self.step_t = None
        self.wal_bad = set()  # segments pushed (exit 0) that did not fetch back identical

    def step(self, name):
        """Time accounting (the JSON's seconds_by_step): the time since the
        last call goes to the step named then; call with None to close."""
        now = time.monotonic()
        if self.step_t is not None:
            k, t = self.step_t
            sb = self.c["seconds_by_step"]
            sb[k] = round(sb.get(k, 0.0) + now - t, 3)
        self.step_t = (name, now) if name else None

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

    # ------------------------------------------------------------ repository objects
    def objects(self, vrepo, sub):
        """Names ("index/ab..", "data/ab/cd..") of the objects under sub/ of
        the repository, read directly (local directory, or S3 with boto3)."""
        if not vrepo.startswith("s3:"):
            out = []
            for d, _, fs in os.walk(os.path.join(vrepo, sub)):
                out += [os.path.relpath(os.path.join(d, f), vrepo) for f in fs if not f.startswith(".tmp-")]
            return sorted(out)
        bucket, prefix = self.s3_where(vrepo)
        names, tok = [], None
        while True:
            kw = dict(Bucket=bucket, Prefix=prefix + sub + "/")
            if tok:
                kw["ContinuationToken"] = tok
            r = self.s3.list_objects_v2(**kw)
            names += [o["Key"][len(prefix):] for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                return sorted(names)
            tok = r["NextContinuationToken"]

    def remove_objects(self, vrepo, names):
        for n in names:
            if vrepo.startswith("s3:"):
                bucket, prefix = self.s3_where(vrepo)
                self.s3.delete_object(Bucket=bucket, Key=prefix + n)
            else:
                os.remove(os.path.join(vrepo, n))

    @staticmethod
    def s3_where(vrepo):
        path = vrepo.split("//", 1)[1].split("/", 1)[1]  # s3:http://host:port/BUCKET/PREFIX
        bucket, _, prefix = path.partition("/")
        return bucket, prefix.rstrip("/") + "/"

    # ------------------------------------------------------------ WAL
    def wal_segment(self, n):
        """A synthetic WAL segment n of timeline 1: a long page header that
        names it (what wal-push checks), 256 KiB of random bytes, zeros."""
        ss = self.a.wal_mb << 20
        per_log = (1 << 32) // ss
        name = "%08X%08X%08X" % (1, n // per_log, n % per_log)
        # XLogLongPageHeaderData: magic, info (XLP_LONG_HEADER), timeline,
        # page address, rem_len, padding, system identifier, segment size, block size
        hdr = struct.pack("<HHIQI4xQII", 0xD116, 0x0002, 1, n * ss, 0, 7300000000000000000 + self.a.seed, ss, 8192)
        path = os.path.join(self.wal_dir, name)
        with open(path, "wb") as f:
            f.write(hdr)
            f.write(os.urandom(256 * 1024))
            f.truncate(ss)
        with open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        return name, path, sha

    def verify_wal(self, vrepo, pushed, fetched, label, which):
        """Every segment whose wal-push exited 0 fetches byte-identical:
        which is "new" (not fetched before), "sample" (the new ones and 10
        others at random: wal/ objects are written once and nothing else
        touches them) or "all"."""
        n = 0
        old = sorted(x for x in pushed if x in fetched)
        again = set(old if which == "all" else self.vrnd.sample(old, min(10, len(old))) if which == "sample" else [])
        for name, sha in sorted(pushed.items()):
            if name in fetched and name not in again:
                continue
            p = subprocess.run([self.lb, "-r", vrepo, "wal-fetch", name, "-"], env=self.env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            self.c["wal_fetches"] += 1
            n += 1
            fetched.add(name)
            if p.returncode != 0:
                self.wal_bad.add(name)
                self.problem("%s: WAL segment %s was pushed (exit 0); wal-fetch exit %d: %s" % (
                    label, name, p.returncode, p.stderr.decode("utf-8", "replace").strip()[:300]))
            elif hashlib.sha256(p.stdout).hexdigest() != sha:
                self.wal_bad.add(name)
                self.problem("%s: WAL segment %s fetched with different contents" % (label, name))
        self.c["wal_lost"] = len(self.wal_bad)
        return n

    # ------------------------------------------------------------ one phase
    def phase(self, name, repo, vrepo, dst, vdst, watch_src, watch_dst, npoints):
        """Kill points against repo (verification through vrepo) and copies
        into dst (vdst). watch_*: what killer.py polls (a directory or the
        proxy log) and the text of the req: modes."""
        log("# phase %s: %d kill points, repository %s" % (name, npoints, repo))
        self.phases.append(name)
        self.step(name + ":init")
        for r in (repo, dst):
            rc, _, err = self.run(["init", "--kdf-n", "1024", "-q"], r)
            if rc != 0:
                raise RuntimeError("init %s failed: %s" % (r, err.strip()))
        expected = set()  # reported saved, in the primary repository
        forgettable = set()  # a forget's policy may have removed these
        copy_expected = set()  # originals whose copy must be in dst
        copied = {}  # dst snapshot id -> original id, verified at least once
        durations = {}  # op -> measured seconds of an uninterrupted run
        pushed = {}  # WAL segment name -> SHA-256, wal-push exited 0
        fetched = set()  # segments fetched and compared at least once
        nseg = [0]
        occurrence = {}  # op -> how many points of it so far (repair index: every other one damaged)

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
                    "wal-push": [("req:PUT:%swal/" % sp, 1), ("req:HEAD:%swal/" % sp, 1)],
                    "repair-index": [("req:GET:%sdata/" % sp, 1), ("req:GET:%sdata/" % sp, 3),
                                     ("req:PUT:%sindex/" % sp, 1), ("req:DELETE:%sindex/" % sp, 1),
                                     ("req:PUT:%slocks/" % sp, 1)],
                    "repair-snapshots": [("req:PUT:%sdata/" % sp, 1), ("req:PUT:%sindex/" % sp, 1),
                                         ("req:PUT:%ssnapshots/" % sp, 1), ("req:PUT:%slocks/" % sp, 1)],
                }[op]
            else:
                ev = {
                    "backup": [("packtmp", 1), ("pack", 1), ("indextmp", 1), ("index", 1), ("snaptmp", 1)],
                    "forget-prune": [("snapgone", 1), ("gone", 1), ("indextmp", 1), ("index", 1), ("packtmp", 1)],
                    "prune": [("gone", 1), ("indextmp", 1), ("index", 1), ("packtmp", 1)],
                    "copy": [("packtmp", 1), ("pack", 1), ("indextmp", 1), ("index", 1), ("snaptmp", 1)],
                    "wal-push": [("waltmp", 1), ("wal", 1)],
                    "repair-index": [("indextmp", 1), ("index", 1), ("indexgone", 1)],
                    "repair-snapshots": [("packtmp", 1), ("pack", 1), ("indextmp", 1), ("index", 1),
                                         ("snaptmp", 1)],
                }[op]
            return ev + [("time", 0.01), ("frac", 0.25), ("frac", 0.5), ("frac", 0.8)]

        ops = ["backup", "forget-prune", "wal-push", "backup", "copy", "repair-index", "backup", "prune",
               "wal-push", "repair-snapshots"]
        plan = []
        cursor = {op: 0 for op in ops}
        shuffled = {op: self.rnd.sample(points_for(op), len(points_for(op))) for op in ops}
        for i in range(npoints):
            op = ops[i % len(ops)]
            pts = shuffled[op]
            plan.append((op, pts[cursor[op] % len(pts)]))
            cursor[op] += 1

        def backup_ok(label, via=None):
            """An uninterrupted backup; its snapshot joins expected."""
            state = self.save_state()
            self.backups_started.append((time.time_ns(), state))
            t = time.monotonic()
            rc, out, err = self.run(["backup", self.src, "--json"], via or repo)
            if via is None:
                durations["backup"] = time.monotonic() - t
            if rc != 0:
                return rc, err
            sid = json.loads(out.strip().splitlines()[-1])["snapshot_id"]
            self.state_of[sid] = state
            expected.add(sid)
            return 0, ""

        snap_ns = snap_time_ns

        def adopt_new(snaps=None):
            """Snapshots listed but not known (a killed backup that committed)
            map to the state of the newest backup started before the
            snapshot's time (a backup stamps its snapshot when it starts).
            snaps: a listing already made (the same one the caller goes on
            with, so a late PUT cannot land between the two)."""
            for s in snaps if snaps is not None else self.snapshots(vrepo):
                if s["id"] in self.state_of or s.get("original"):
                    continue
                t = snap_ns(s)
                before = [st for (ns, st) in self.backups_started if ns <= t]
                if before:
                    self.state_of[s["id"]] = before[-1]

        def forget_set():
            snaps = sorted(self.snapshots(vrepo), key=lambda s: s["time"])
            return {s["id"] for s in snaps[:-KEEP]} if len(snaps) > KEEP else set()

        def enough_snapshots(label):
            """At least KEEP + 2 snapshots (preparation: straight to the
            server, not through the proxy: it is not under test)."""
            for _ in range(KEEP + 2):
                if len(self.snapshots(vrepo)) >= KEEP + 2:
                    break
                self.mutate()
                rc, err = backup_ok(label, vrepo)
                if rc != 0:
                    self.c["op_errors"] += 1
                    log("# %s: preparing backup exit %d: %s" % (label, rc, err.strip()[:200]))

        lost = {}  # repair snapshots: original id -> [removed entries] (the dry run's list)

        def victim(fs):
            """Delete the pack of a big file of the oldest snapshot in fs that
            is no repaired one; False when there is none."""
            snaps = sorted(self.snapshots(vrepo), key=lambda s: s["time"])
            packs = set(self.objects(vrepo, "data"))
            for s in snaps:
                if s["id"] not in fs or s["id"] in lost or "repaired" in (s.get("tags") or []):
                    continue
                for f in sorted(os.listdir(os.path.join(self.state_of[s["id"]], "big"))):
                    p = subprocess.run([self.craft, vrepo, "locate", s["id"], os.path.join(self.src, "big", f)],
                                       env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    pack = p.stdout.decode().split(" ")[0] if p.returncode == 0 else ""
                    if pack in packs:
                        self.remove_objects(vrepo, [pack])
                        self.c["packs_deleted"] += 1
                        return True
            return False

        def lose_a_pack(label):
            """Delete the pack holding a big file of the oldest snapshot the
            retention may forget that lost nothing yet, then repair index (so
            repair snapshots sees the loss) and record the dry run's list."""
            for again in (False, True):
                if again:  # the old ones are all repaired ones: forget them, back up anew
                    forgettable.update(forget_set())
                    self.run(["forget", "--keep-last", str(KEEP), "-q"], vrepo)
                enough_snapshots(label)
                if victim(forget_set()):
                    break
            else:
                log("# %s: no pack of an old snapshot to lose" % label)
            rc, out, err = self.run(["repair", "index", "-q"], vrepo)
            if rc != 0:
                self.problem("%s: repair index after the pack was deleted: exit %d: %s" % (label, rc, err.strip()[:300]))
            rc, out, err = self.run(["repair", "snapshots", "--dry-run", "--json"], vrepo)
            if rc != 0:
                self.problem("%s: repair snapshots --dry-run exit %d: %s" % (label, rc, err.strip()[:300]))
                return
            for s in json.loads(out)["snapshots"]:
                lost[s["original"]] = s["removed"]

        def repair_settle(label):
            """After repair snapshots: every snapshot that lost something has
            its repaired one, the originals are still listed; the repaired
            ones map to their state less the lost files; the originals are
            then forgotten by ID (the repository is whole again)."""
            snaps = self.snapshots(vrepo)
            ids = {s["id"] for s in snaps}
            done = {}
            for s in snaps:
                if "repaired" in (s.get("tags") or []) and s.get("original") in lost:
                    done[s["original"]] = s["id"]
            for orig, removed in sorted(lost.items()):
                if orig not in ids:
                    self.c["snapshots_lost"] += 1
                    self.problem("%s: the original %s of a repair is gone" % (label, orig[:8]))
                if orig not in done:
                    self.problem("%s: snapshot %s lost files and has no repaired snapshot" % (label, orig[:8]))
                    continue
                rid = done[orig]
                if rid not in self.state_of:
                    st = self.save_repaired(self.state_of[orig], removed)
                    self.state_of[rid] = st
                    self.repaired_state[orig] = st
                    self.c["snapshots_repaired"] += 1
                expected.add(rid)
                if orig in forgettable:
                    forgettable.add(rid)
            gone = sorted(o for o in lost if o in ids)
            if gone:
                rc, _, err = self.run(["forget", "-q"] + gone, vrepo)
                if rc != 0:
                    self.problem("%s: forget of the repaired originals exit %d: %s" % (label, rc, err.strip()[:300]))
            for o in gone:
                expected.discard(o)
            lost.clear()

        self.step(name + ":first backup")
        rc, err = backup_ok("first backup")
        if rc != 0:
            raise RuntimeError("first backup failed: " + err)
        for i, (op, (mode, value)) in enumerate(plan):
            if not self.time_left():
                log("# time budget of %ds spent: stopping before point %d of phase %s" % (self.a.seconds, i + 1, name))
                break
            full = (i + 1) % self.a.full_every == 0 or self.a.subset >= 100
            label = "%s point %d %s %s %g" % (name, i + 1, op, mode, value)
            occurrence[op] = occurrence.get(op, 0) + 1
            check_late = False  # the check comes after the operation again (repair)
            # ---- prepare
            for attempt in (1, 2, 3):  # a kill that comes too late is retried on fresh work
                self.step(name + ":prepare")
                target, vtarget = repo, vrepo
                if op == "backup":
                    self.mutate()
                    state = self.save_state()
                    cmd = ["backup", self.src, "--json"]
                elif op in ("forget-prune", "prune"):
                    enough_snapshots(label)
                    fs = forget_set()
                    forgettable |= fs
                    if op == "prune":
                        rc, _, err = self.run(["forget", "--keep-last", str(KEEP)], vrepo)
                        if rc != 0:
                            self.c["op_errors"] += 1
                            log("# %s: forget exit %d: %s" % (label, rc, err.strip()[:200]))
                        cmd = ["prune"]
                    else:
                        cmd = ["forget", "--keep-last", str(KEEP), "--prune"]
                    state = None
                elif op == "wal-push":
                    nseg[0] += 1
                    seg, segpath, segsha = self.wal_segment(nseg[0])
                    cmd = ["wal-push", segpath]
                    state = None
                elif op == "repair-index":
                    # every other time every index file is deleted first (not for the kill
                    # points at an old index file's deletion: there is none then)
                    check_late = occurrence[op] % 2 == 0 and mode != "indexgone" and "DELETE" not in mode
                    if check_late:
                        idx = self.objects(vrepo, "index")
                        self.remove_objects(vrepo, idx)
                        self.c["index_deleted"] += len(idx)
                    cmd = ["repair", "index"]
                    state = None
                elif op == "repair-snapshots":
                    check_late = True  # the originals miss blobs until they are forgotten
                    lose_a_pack(label)
                    cmd = ["repair", "snapshots"]
                    state = None
                else:  # copy: something new to copy first
                    self.mutate()
                    rc, err = backup_ok(label, vrepo)
                    if rc != 0:
                        self.c["op_errors"] += 1
                    src_now = {s.get("original") or s["id"] for s in self.snapshots(vrepo)}
                    target, vtarget = dst, vdst
                    cmd = ["copy", "--from-repo", repo]
                    state = None
                # ---- the kill
                self.step(name + ":kill")
                if mode == "frac":
                    d = durations.get(op, durations["backup"])
                    kmode, kvalue = "time", round(max(0.005, value * d * 0.8 ** (attempt - 1)), 3)
                else:
                    kmode, kvalue = mode, value
                watch = watch_dst[2] if op == "copy" else watch_src[2]
                outf = os.path.join(self.tmp, "op.out")
                if op == "backup":
                    self.backups_started.append((time.time_ns(), state))
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
                    elif op == "wal-push":
                        pushed[seg] = segsha
                if landed:
                    break
                self.step(name + ":prepare")
                if op == "backup":
                    adopt_new()  # a failed attempt may have committed before the next change
                elif op == "repair-snapshots":
                    if rc != 0:
                        self.run(["unlock"], vrepo)
                        self.run(cmd, vrepo)
                    repair_settle(label)
                elif op == "repair-index" and rc != 0:
                    self.run(["unlock"], vrepo)
                    self.run(cmd, vrepo)
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
            if self.a.sabotage == "pack" and i == 0 and watch_src[0] == "dir":
                self.sabotage(repo)
            result = ("killed %.3fs" % secs) if landed else ("exited %d after %.3fs (too late)" % (rc, secs))
            if attempt > 1:
                result += ", attempt %d" % attempt
            # ---- after the kill: unlock, check, the same operation again
            if check_late:
                self.step(name + ":unlock")
                rc, _, err = self.run(["unlock"], vtarget)
                if rc != 0:
                    self.problem("%s: unlock exit %d: %s" % (label, rc, err.strip()[:200]))
            else:
                self.step(name + ":check")
                ok = self.unlock_check(vtarget, label, full)
            self.step(name + ":next")
            if op == "backup":
                adopt_new()
                self.backups_started.append((time.time_ns(), state))
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
                    elif op == "wal-push":
                        pushed[seg] = segsha
                        if self.a.sabotage == "wal" and watch_src[0] == "dir":
                            os.remove(os.path.join(repo, "wal", seg))
                            log("# sabotage: deleted wal/" + seg)
                            self.a.sabotage = None
            if rc2 != 0:
                self.c["next_op_failures"] += 1
                self.problem("%s: the next %s exit %d: %s" % (label, op, rc2, err2.strip()[:300]))
            if op == "repair-snapshots":
                self.step(name + ":repair settle")
                repair_settle(label)
            if check_late:
                self.step(name + ":check")
                ok = self.unlock_check(vtarget, label, full)
            # ---- every snapshot reported saved is there and restores
            self.step(name + ":restore")
            snaps_now = self.snapshots(vrepo)
            adopt_new(snaps_now)  # what a killed backup's last request committed after the kill
            listed = {s["id"] for s in snaps_now}
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
                    st = self.attribute(vrepo, sid, label)
                if st is None:
                    continue
                bad = self.restore_same(vrepo, sid, st)
                nver += 1
                if bad:
                    self.c["restore_mismatches"] += 1
                    self.problem("%s: snapshot %s: %s" % (label, sid[:8], bad))
            self.step(name + ":restore copies")
            nver += self.verify_copies(vdst, copy_expected, copied, label, "sample" if full else "new")
            self.c["snapshots_verified"] += nver
            self.step(name + ":wal-fetch")
            nwal = self.verify_wal(vrepo, pushed, fetched, label, "sample" if full else "new")
            if op == "wal-push" and rc2 == 0 and os.path.exists(segpath):
                os.remove(segpath)
            log("# %s: %s (%s); check %s; next %s; %d snapshot(s) restored%s" % (
                label, result, what, "ok" if ok else "FAILED", "ok" if rc2 == 0 else "FAILED", nver,
                ", %d WAL segment(s) fetched" % nwal if nwal else ""))
        # ---- the end of the phase: full check of both, every snapshot once more
        self.step(name + ":final")
        self.unlock_check(vrepo, name + " final", True)
        self.unlock_check(vdst, name + " final copy", True)
        self.c["snapshots_verified"] += self.verify_copies(vdst, copy_expected, copied, name + " final", "all")
        self.verify_wal(vrepo, pushed, fetched, name + " final", "all")
        self.c["wal_pushed"] += len(pushed)
        self.step(None)

    def attribute(self, repo, sid, label):
        """A listed snapshot adopt_new could not map: log everything known
        about it, then try the states of the backups started before it
        (newest first). A match is adopted (its content is a state the
        source had when a backup started); no match is a problem."""
        snap = next((s for s in self.snapshots(repo) if s["id"] == sid), None)
        if snap is None:
            return None
        t = snap_time_ns(snap)
        near = [(ns - t) / 1e9 for (ns, _) in self.backups_started[-4:]]
        log("# unattributed %s: time %s tags %s original %s parent %s; "
            "the last backup starts relative to it: %s s" % (
                sid[:8], snap["time"], snap.get("tags"), (snap.get("original") or "-")[:8],
                (snap.get("parent") or "-")[:8], ", ".join("%+.3f" % d for d in near)))
        tried = 0
        for ns, st in reversed(self.backups_started):
            if st is None or tried >= 6:
                continue
            tried += 1
            if self.restore_same(repo, sid, st) is None:
                self.c["adopted_by_content"] += 1
                log("# unattributed %s: matches the state of the backup started %+.3f s from its time" % (
                    sid[:8], (ns - t) / 1e9))
                self.state_of[sid] = st
                return st
        self.problem("%s: snapshot %s of no known state (none of the last %d backup states match)" % (
            label, sid[:8], tried))
        return None

    def save_repaired(self, state, removed):
        """A copy of state (hard links) less what repair snapshots removed:
        files deleted, directories emptied."""
        self.nstate += 1
        d = os.path.join(self.states_dir, "%d-repaired" % self.nstate)
        subprocess.run(["cp", "-al", state, d], check=True)
        for r in removed:
            p = d + r["path"][len(self.src):]
            if r["type"] == "dir":
                shutil.rmtree(p, ignore_errors=True)
                os.makedirs(p, exist_ok=True)
            elif os.path.lexists(p):
                os.remove(p)
        return d

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
            orig = s.get("original")
            st = self.repaired_state.get(orig) if "repaired" in (s.get("tags") or []) else self.state_of.get(orig)
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
        env = dict(os.environ, S3_TCP_NODELAY="1")  # no 40 ms delayed-ACK stall per answer
        for attempt in (1, 2):  # a port taken meanwhile by another cluster: once more, on other ports
            shutil.rmtree(self.s3dir, ignore_errors=True)
            p = subprocess.run([os.path.join(h, "start.sh"), self.s3dir], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
            if p.returncode == 0:
                break
            subprocess.run([os.path.join(h, "stop.sh"), self.s3dir], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
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
        # boto3 (tests/harness/s3/bucketdata.py) for what the soak does behind lifeboat's
        # back: listing and deleting index files and packs
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            os.environ.pop(k, None)
            if k in self.env:
                os.environ[k] = self.env[k]
        os.environ["S3_ENDPOINT"] = s3["S3_ENDPOINT"]
        sys.path.insert(0, h)
        import bucketdata  # noqa: E402
        self.s3 = bucketdata.client()
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
        self.nlocal = 0
        if not a.s3:
            nlocal = a.points
        elif a.s3_points is None:
            nlocal = (a.points + 1) // 2
        else:
            nlocal = max(0, a.points - a.s3_points)
        self.nlocal = nlocal
        try:
            L, L2 = os.path.join(self.tmp, "repo"), os.path.join(self.tmp, "copy")
            if a.s3:  # the local phase leaves the S3 phase its share of the budget (an S3 point costs ~5 local ones)
                ns3 = a.points - nlocal
                self.budget = a.seconds * nlocal / (nlocal + 5 * ns3) if ns3 else a.seconds
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
                   s3_points_requested=a.points - self.nlocal, wal_mb=a.wal_mb,
                   phases=self.phases, mb=a.mb, full_every=a.full_every, subset_percent=a.subset, fault_every=a.fault_every,
                   proxy_requests=self.faults.get("_requests", 0), faults_injected=faults,
                   problems=self.problems[:50], passed=not self.problems)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(fig, f, indent=1, sort_keys=True)
        fk = " ".join("%s=%d" % kv for kv in sorted(faults.items())) or "none"
        log("soak: %d kill points (%d landed on a running process, %d too late) in %.0fs, seed %d, %s; "
            "%d snapshot restores verified, %d snapshots lost, %d check failures, %d restore mismatches, "
            "%d failed next operations; %d WAL segments pushed, %d fetches, %d lost; %d snapshots repaired; "
            "S3 faults injected: %s; %s" % (
                c["points"], c["landed"], c["too_late"], secs, a.seed, "+".join(self.phases) or "nothing",
                c["snapshots_verified"], c["snapshots_lost"], c["check_failures"], c["restore_mismatches"],
                c["next_op_failures"], c["wal_pushed"], c["wal_fetches"], c["wal_lost"], c["snapshots_repaired"], fk, "PASS" if not self.problems else "FAIL (%d problems)" % len(self.problems)))
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
    ap.add_argument("--s3-points", type=int, default=None,
                    help="how many of the --points run against S3 (default: half; with --s3 1)")
    ap.add_argument("--wal-mb", type=int, default=16, choices=[1, 2, 4, 8, 16, 32, 64],
                    help="size of the synthetic WAL segments in MiB")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mb", type=int, default=6, help="size of the tree's big files in MB")
    ap.add_argument("--full-every", type=int, default=10, help="full check --read-data every N points")
    ap.add_argument("--subset", type=int, default=20, help="check --read-data-subset PERCENT in between")
    ap.add_argument("--fault-every", type=int, default=5, help="the proxy breaks every Nth request")
    ap.add_argument("--fault-kinds", default="503,cut,500,slow,429,reset")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--sabotage", nargs="?", const="pack", choices=["pack", "wal"],
                    help="pack (the default): delete a pack of the local repository after the first kill; "
                    "wal: delete the first WAL segment pushed to it (the soak must FAIL)")
    a = ap.parse_args()
    sys.exit(Soak(a).main())


if __name__ == "__main__":
    main()
