#!/usr/bin/env python3
"""bench/scalereport.py --work W --md FILE --json FILE

Render the work folder of bench/scale.sh (meta.env, scale.tsv, phases.tsv,
verify.tsv, small|full.tree.json, small|full|bucket.change.json, fill.json,
bucket.snapshots.json) as the "## Scale (issue 15)" section of FILE (the
section is replaced, or added before "## Restore verification"; every other
section is kept) and the raw numbers as JSON.
"""

import argparse
import json
import os

from report import splice_section

TITLE = "## Scale (issue 15)"
STEPS = ["first", "unchanged", "changed", "restore", "check", "prune"]
TOOLS = ["lifeboat", "restic", "borg"]
# the scale: what `make bench-scale` runs without knobs
DEFAULT = {"files": 2000000, "small": 200000, "objects": 1000000}


def load(work):
    meta = {}
    for line in open(os.path.join(work, "meta.env")):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            meta[k] = v
    res = {}  # label -> tool -> step -> row
    for line in open(os.path.join(work, "scale.tsv")):
        f = line.rstrip("\n").split("\t")
        if len(f) < 8:
            continue
        label, tool, step = f[:3]
        wall, user, sys_, rss, repo = float(f[3]), float(f[4]), float(f[5]), int(f[6]), int(f[7])
        res.setdefault(label, {}).setdefault(tool, {})[step] = {
            "wall_s": wall, "cpu_s": round(user + sys_, 2), "peak_rss_kib": rss, "repo_bytes": repo}
    phases = []
    for line in open(os.path.join(work, "phases.tsv")):
        f = line.rstrip("\n").split("\t")
        if len(f) == 3:
            phases.append({"label": f[0], "phase": f[1], "seconds": float(f[2])})
    verify = []
    for line in open(os.path.join(work, "verify.tsv")):
        f = line.rstrip("\n").split("\t")
        if len(f) == 3:
            verify.append({"label": f[0], "tool": f[1], "status": f[2]})

    def js(name):
        p = os.path.join(work, name)
        try:
            return json.load(open(p)) if os.path.exists(p) else None
        except ValueError:
            return None

    trees = {l: js("%s.tree.json" % l) for l in ("small", "full")}
    changes = {l: js("%s.change.json" % l) for l in ("small", "full", "bucket")}
    return meta, res, phases, verify, trees, changes, js("fill.json"), js("bucket.snapshots.json")


# what must match for an earlier run's figures to stand beside this run's
SAME_TREES = ("files", "small", "max_size", "change", "seed")


def carry(meta, res, verify, changes, trees, phases, old):
    """Take over from the earlier run (the JSON this run replaces) what this one did not run: a tool missing
    from BENCH_SCALE_TOOLS, every tool's figures of the trees when BENCH_SCALE_TREES=0, and the bucket when
    BENCH_SCALE_OBJECTS=0, when that run had the same trees (sizes, seed, change), so that a full
    `make bench-scale` can be run in parts. Marks what was taken in meta["carried"] ({what: date of the run that
    measured it}; a tool's name stands for its figures of the trees); returns the earlier run's fill record or
    None."""
    carried = {}
    meta["carried"] = carried
    if not old:
        return None
    om, ores = old.get("meta", {}), old.get("results", {})
    if any(str(om.get(k)) != str(meta.get(k)) for k in SAME_TREES):
        return None
    was = om.get("carried") or {}
    tools = meta.get("tools", "").split()
    if meta.get("trees") == "0":
        # no tree was run: take them whole, with what describes them
        tools = []
        for l in ("small", "full"):
            if l in ores:
                res[l] = ores[l]
                trees[l] = (old.get("trees") or {}).get(l)
                changes[l] = (old.get("changes") or {}).get(l)
        phases += [p for p in old.get("phases", []) if p.get("label") in ("small", "full")]
    for t in TOOLS:
        if t in tools or not all(t in ores.get(l, {}) for l in ("small", "full") if l in res):
            continue
        took = False
        for l in ("small", "full"):
            if l in res and t in ores.get(l, {}):
                res[l][t] = ores[l][t]
                took = True
        if took:
            carried[t] = was.get(t, om.get("date", "?"))
            tools.append(t)
            if "version_" + t in om and "version_" + t not in meta:
                meta["version_" + t] = om["version_" + t]
            verify += [v for v in old.get("verify", []) if v.get("tool") == t and v.get("label") in ("small", "full")
                       and v.get("label") in res]
    meta["tools"] = " ".join(t for t in TOOLS if t in tools or t in meta.get("tools", "").split())
    fill = None
    if int(meta.get("objects", "0")) == 0 and "bucket" in ores and int(om.get("objects", "0") or 0) > 0:
        res["bucket"] = ores["bucket"]
        meta["objects"] = om["objects"]
        changes["bucket"] = (old.get("changes") or {}).get("bucket")
        verify += [v for v in old.get("verify", []) if v.get("label") == "bucket"]
        carried["bucket"] = was.get("bucket", om.get("date", "?"))
        fill = old.get("fill")
    return fill


def mib(kib):
    return "%.0f" % (kib / 1024.0)


def ratio(a, b):
    return None if a is None or not b else a / b


def fr(r):
    return "n/a" if r is None else "%.2f" % r


def get(res, label, tool, step, key):
    return res.get(label, {}).get(tool, {}).get(step, {}).get(key)


def peak(res, label, tool):
    v = [s["peak_rss_kib"] for s in res.get(label, {}).get(tool, {}).values()]
    return max(v) if v else None


def disk_gib(files, max_size, blk=4096):
    """bench/scale.sh's disk estimate: tree + one restore + three repositories."""
    per_file = (max_size // 2 + blk - 1) // blk * blk + 256
    return files * (2 * per_file + 3 * (max_size // 2 + 400)) / 2**30


def size_table(res, label, tools, n):
    o = ["", "### %s tree: %s files" % ("Small" if label == "small" else "Large", "{:,}".format(n)), ""]
    others = [t for t in tools if t != "lifeboat"]
    head = ["step"] + ["%s s" % t for t in tools] + ["%s RSS MiB" % t for t in tools]
    if "lifeboat" in tools:
        head += ["lifeboat/%s time" % t for t in others] + ["lifeboat/%s RSS" % t for t in others]
    o.append("| " + " | ".join(head) + " |")
    o.append("|" + "---|" * len(head))
    for st in STEPS:
        row = [st]
        row += ["%.1f" % get(res, label, t, st, "wall_s") if get(res, label, t, st, "wall_s") is not None else "" for t in tools]
        row += [mib(get(res, label, t, st, "peak_rss_kib")) if get(res, label, t, st, "peak_rss_kib") is not None else "" for t in tools]
        if "lifeboat" in tools:
            row += [fr(ratio(get(res, label, "lifeboat", st, "wall_s"), get(res, label, t, st, "wall_s"))) for t in others]
            row += [fr(ratio(get(res, label, "lifeboat", st, "peak_rss_kib"), get(res, label, t, st, "peak_rss_kib"))) for t in others]
        o.append("| " + " | ".join(row) + " |")
    repo = ["repository after prune, MiB"] + [
        "%.0f" % (get(res, label, t, "prune", "repo_bytes") / 2**20) if get(res, label, t, "prune", "repo_bytes") is not None else ""
        for t in tools]
    o.append("")
    o.append("Repository size after the prune step (MiB): " + ", ".join("%s %s" % (t, v) for t, v in zip(tools, repo[1:])) + ".")
    return o


def markdown(meta, res, phases, verify, trees, changes, fill, snaps):
    tools = [t for t in TOOLS if t in meta.get("tools", "").split()]
    files, small, objects = int(meta["files"]), int(meta["small"]), int(meta["objects"])
    max_size = int(meta["max_size"])
    o = [TITLE, ""]
    o.append("Written by `bench/scale.sh` (`make bench-scale`) on %s; the steps, tools and knobs are described in"
             " the script's header. Small files of 0 to %d bytes (pseudo-random content), 100 to a leaf directory,"
             " three levels of directories above them (`bench/scalegen.py`, seed `%s`); the \"changed\" backup follows"
             " a change of %s %% of the files (a third rewritten, a third removed, a third added). Restores are checked with"
             " `diff -r` (untimed). `check` reads no data (`lifeboat check`, `restic check`, `borg check`); `prune` is"
             " `forget --keep-last 1 --prune` (Borg: `prune --keep-last 1` then `compact`) on the three snapshots."
             % (meta.get("date", "?"), max_size, meta.get("seed", "?"), "%g" % (100 * float(meta.get("change", "0")))))
    o.append("")
    o.append("Run it with `make bench-scale` (installs restic, Borg and time, builds, runs `bench/scale.sh`; hours, see"
             " \"Duration and disk\" below). Knobs: BENCH_SCALE_FILES (2000000), BENCH_SCALE_SMALL (200000),"
             " BENCH_SCALE_OBJECTS (1000000; 0 skips the bucket), BENCH_SCALE_TREES (1; 0 runs the bucket alone),"
             " BENCH_SCALE_MAX_SIZE (2048), BENCH_SCALE_CHANGE"
             " (0.01), BENCH_SCALE_TOOLS, BENCH_SCALE_TMP (/var/tmp), BENCH_SCALE_VERIFY, BENCH_S3_OBJECTSTORE"
             " (bluestore), BENCH_DROP_CACHES, BENCH_KEEP; a quick check of the script:"
             " `BENCH_SCALE_FILES=20000 BENCH_SCALE_SMALL=2000 BENCH_SCALE_OBJECTS=5000 bench/scale.sh` (3 minutes)."
             " Raw numbers: `bench/results/scale.json`. The hours can be split: a tool left out of"
             " BENCH_SCALE_TOOLS, the trees with BENCH_SCALE_TREES=0 and the bucket with BENCH_SCALE_OBJECTS=0 keep"
             " their figures from the previous run of the same trees, marked as carried over.")
    o.append("")
    carried = meta.get("carried") or {}
    if carried:
        o.append("Carried over from an earlier run of the same trees (seed, sizes and change), which this run did not"
                 " repeat: " + "; ".join("%s (run of %s)" % ("the bucket" if k == "bucket" else k + " on the trees", v)
                                         for k, v in carried.items()) + ". Everything else is from this run.")
        o.append("")
    reduced = (files, small) != (DEFAULT["files"], DEFAULT["small"]) or objects not in (0, DEFAULT["objects"])
    if not reduced and objects == 0:
        o.append("**The trees at the issue's scale (200,000 and 2,000,000 files); the bucket part was not run"
                 " (BENCH_SCALE_OBJECTS=0).**")
        o.append("")
    if reduced:
        o.append("**Validation run at a reduced scale: %s and %s files, %s bucket objects** instead of the issue's"
                 " 200,000 and 2,000,000 files and 1,000,000 objects. These figures only show that the benchmark"
                 " runs end to end; at this size start-up costs dominate and they say nothing about memory at scale."
                 " The issue's figures come from a full `make bench-scale` (see \"Duration and disk\" below)."
                 % ("{:,}".format(small), "{:,}".format(files), "{:,}".format(objects)))
        o.append("")
    o.append("Machine: %s CPUs (%s), %s GiB RAM, shared with other work (load average %s at the start, %s at the end);"
             " page cache %s; work folder on %s."
             % (meta.get("nproc", "?"), meta.get("cpu", "?"), meta.get("mem_gib", "?"), meta.get("loadavg_start", "?"),
                meta.get("loadavg_end", "?"),
                "dropped before every step" if meta.get("cache") == "cold" else "warm (not dropped)", meta.get("fstype", "?")))
    o.append("Versions: " + "; ".join(meta["version_" + t] for t in tools if "version_" + t in meta) + ".")

    labels = [l for l in ("small", "full") if l in res]
    for l in labels:
        o += size_table(res, l, tools, small if l == "small" else files)
        tr, ch = trees.get(l), changes.get(l)
        if tr:
            o.append("The tree: %s files in %s leaf directories, %.1f MiB of content; generated in %.0f s."
                     % ("{:,}".format(tr["files"]), "{:,}".format(tr["leaf_dirs"]), tr["bytes"] / 2**20, tr["seconds"]))
        if ch:
            o.append("The change: %d rewritten, %d removed, %d added." % (ch["rewritten"], ch["removed"], ch["added"]))

    if "small" in res and "full" in res:
        o += ["", "### Peak RSS from the small to the large tree", ""]
        head = ["step"]
        for t in tools:
            head += ["%s small MiB" % t, "%s large MiB" % t, "%s growth" % t]
        o.append("| " + " | ".join(head) + " |")
        o.append("|" + "---|" * len(head))
        for st in STEPS + ["peak of all steps"]:
            row = [st]
            for t in tools:
                if st in STEPS:
                    a, b = get(res, "small", t, st, "peak_rss_kib"), get(res, "full", t, st, "peak_rss_kib")
                else:
                    a, b = peak(res, "small", t), peak(res, "full", t)
                row += [mib(a) if a else "", mib(b) if b else "", fr(ratio(b, a))]
            o.append("| " + " | ".join(row) + " |")
        o.append("")
        if "lifeboat" in tools:
            g = ratio(peak(res, "full", "lifeboat"), peak(res, "small", "lifeboat"))
            line = "Issue 15, Done-when 1: lifeboat's peak RSS grows %s× from %s to %s files (target below 2×: %s)" % (
                fr(g), "{:,}".format(small), "{:,}".format(files), "n/a" if g is None else ("pass" if g < 2 else "**MISS**"))
            if "restic" in tools:
                below = [st for st in STEPS if (get(res, "full", "lifeboat", st, "peak_rss_kib") or 0)
                         < (get(res, "full", "restic", st, "peak_rss_kib") or 0)]
                lp, rp = peak(res, "full", "lifeboat"), peak(res, "full", "restic")
                line += "; at %s files its peak is %s MiB against restic's %s MiB (target below: %s), and below restic's in %d of %d steps" % (
                    "{:,}".format(files), mib(lp), mib(rp), "pass" if lp < rp else "**MISS**", len(below), len(STEPS))
            o.append(line + ".")
            if reduced:
                o.append("(At this reduced scale the verdicts mean little: see above.)")

    if "bucket" in res:
        o += ["", "### Bucket: %s objects on the S3 server (lifeboat only)" % "{:,}".format(objects), ""]
        o.append("The same steps on a bucket (`lifeboat backup s3:ENDPOINT/BUCKET` into a local repository; the"
                 " restore writes the objects as files into a folder). restic and Borg cannot read a bucket.")
        o.append("")
        o.append("| step | wall s | objects/s | CPU s | peak RSS MiB | repository MiB |")
        o.append("|---|---|---|---|---|---|")
        for st in STEPS:
            r = res["bucket"].get("lifeboat", {}).get(st)
            if r:
                o.append("| %s | %.1f | %.0f | %.1f | %s | %.1f |" % (
                    st, r["wall_s"], objects / r["wall_s"] if r["wall_s"] else 0, r["cpu_s"], mib(r["peak_rss_kib"]), r["repo_bytes"] / 2**20))
        o.append("")
        if fill:
            o.append("The bucket was filled by `bench/scalegen.py fill` (%s PUTs, %.1f MiB) in %.0f s (%.0f objects/s);"
                     " Ceph RGW (%s) on the same two cores, its OSD at %s MiB RSS afterwards."
                     % ("{:,}".format(fill["objects"]), fill["bytes"] / 2**20, fill["seconds"], fill["per_second"],
                        meta.get("objectstore", "?"), mib(int(meta.get("osd_rss_kib_after_fill", "0")))))
        ch = changes.get("bucket")
        if ch:
            o.append("The change: %d objects rewritten, %d deleted, %d added (%s objects after it)."
                     % (ch["rewritten"], ch["removed"], ch["added"], "{:,}".format(ch["objects_after"])))
        if snaps:
            s = snaps[-1] if isinstance(snaps, list) and snaps else {}
            m = s.get("meta", {}) if isinstance(s, dict) else {}
            if m.get("objects") is not None:
                o.append("The changed backup's snapshot records %s objects." % "{:,}".format(int(m["objects"])))

    # duration and disk, extrapolated linearly from this run's largest tree
    o += ["", "### Duration and disk", ""]
    el = int(meta.get("elapsed_s", "0"))
    o.append("This run took %d min %d s in all." % (el // 60, el % 60))
    tot = {p["label"]: p["seconds"] for p in phases if p["phase"] == "total"}
    start = sum(p["seconds"] for p in phases if p["label"] == "bucket" and p["phase"] == "s3-start")
    if "small" in tot and files > small:
        # two points: a fixed cost (start-ups, inits) plus a cost per file
        per = max(0.0, (tot.get("full", 0) - tot["small"]) / (files - small))
        fixed = max(0.0, tot["small"] - per * small)
        est_tree = 2 * fixed + per * (DEFAULT["files"] + DEFAULT["small"])
        how = "a fixed %.0f s per tree plus %.2f ms per file, fitted to the two trees' totals (%.0f s for %s files, %.0f s for %s)" % (
            fixed, 1000 * per, tot["small"], "{:,}".format(small), tot.get("full", 0), "{:,}".format(files))
    else:
        est_tree = tot.get("full", 0) / files * (DEFAULT["files"] + DEFAULT["small"])
        how = "%.0f s for %s files, scaled linearly" % (tot.get("full", 0), "{:,}".format(files))
    est_bucket = 0.0
    if objects and "bucket" in tot:
        est_bucket = start + (tot["bucket"] - start) / objects * DEFAULT["objects"]
    bucket_how = "not run here"
    if "bucket" in tot:
        bucket_how = "about %.1f hours (%.0f s for %s objects after the server's start, scaled linearly)" % (
            est_bucket / 3600, tot["bucket"] - start, "{:,}".format(objects))
    ran = [t for t in meta.get("tools", "").split() if t not in carried]
    if meta.get("trees") == "0":
        note = (" The trees were not run here (BENCH_SCALE_TREES=0): their part comes from the run whose figures"
                " are carried over, and covers only the tools that run ran.")
    elif carried:
        note = (" This covers only the tools this run ran (%s): the others add their own time"
                " (restic took about as long as lifeboat on the large tree, Borg longer)." % ", ".join(ran))
    else:
        note = ""
    o.append("Estimated duration of a full `make bench-scale` on this machine, extrapolated from this run: the trees"
             " about %.1f hours (%s), the bucket %s, %.1f hours in all, with %s page cache and the load of this run."
             " Only a rough figure: a tool whose time or memory grows faster than its number of files takes longer%s."
             % (est_tree / 3600, how, bucket_how, (est_tree + est_bucket) / 3600,
                "a cold (dropped)" if meta.get("cache") == "cold" else "a warm",
                "" if meta.get("cache") == "cold" else ", and dropping the page cache before every step (BENCH_DROP_CACHES, as a"
                " full run as root does by default) adds the disk reads")
             + note)
    o.append("Disk: about %.0f GiB free under BENCH_SCALE_TMP at 2,000,000 files of 0 to %d bytes (the tree, one"
             " restore and three repositories; the script refuses to start with less) and 4.3 million free inodes."
             % (disk_gib(DEFAULT["files"], max_size), max_size))
    osd = int(meta.get("osd_rss_kib_after_fill", "0") or 0)
    sdisk = int(meta.get("s3_disk_kib_after_fill", "0") or 0)
    if objects and meta.get("objectstore", "").startswith("bluestore") and sdisk:
        o.append("The bucket lives in a bluestore object store (a sparse file in the work folder): %s MiB on disk for"
                 " %s objects after the fill, so roughly %.0f GiB for 1,000,000 (the trees are deleted before it is"
                 " made). memstore (BENCH_S3_OBJECTSTORE=memstore) is faster but keeps about 41 KiB of RAM per small"
                 " object (measured: OSD RSS 0.86 GiB for 20,000, 1.9 GiB for 60,000), 40 GiB for a million."
                 % (mib(sdisk), "{:,}".format(objects), sdisk / objects * DEFAULT["objects"] / 2**20))
    elif objects and osd:
        o.append("The bucket lives in the memstore object store, i.e. in RAM: this run's OSD held %s MiB for %s objects"
                 " (a base of about 45 MiB included), so roughly %.0f GiB for 1,000,000: use bluestore (the default)"
                 " at that scale." % (mib(osd), "{:,}".format(objects), osd / objects * DEFAULT["objects"] / 2**20))
    bad = [v for v in verify if v["status"] != "ok"]
    o.append("")
    if verify:
        o.append("Restores verified: %d of %d equal to their tree%s." % (
            len(verify) - len(bad), len(verify), "" if not bad else "; FAILED: " + "; ".join("%s %s: %s" % (v["label"], v["tool"], v["status"]) for v in bad)))
    else:
        o.append("Restores were not verified (BENCH_SCALE_VERIFY=0).")
    o.append("")
    return o


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--work", required=True)
    p.add_argument("--md", required=True)
    p.add_argument("--json", required=True)
    a = p.parse_args()
    meta, res, phases, verify, trees, changes, fill, snaps = load(a.work)
    old = None
    if os.path.exists(a.json):
        try:
            old = json.load(open(a.json))
        except ValueError:
            old = None
    old_fill = carry(meta, res, verify, changes, trees, phases, old)
    fill = fill or old_fill
    section = markdown(meta, res, phases, verify, trees, changes, fill, snaps)
    print("\n".join(section))
    splice_section(a.md, section, TITLE)
    with open(a.json, "w") as f:
        json.dump({"meta": meta, "results": res, "phases": phases, "verify": verify, "trees": trees,
                   "changes": changes, "fill": fill}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
