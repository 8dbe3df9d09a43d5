#!/usr/bin/env python3
"""bench/report.py - turn bench/run.sh's raw numbers into docs/benchmarks.md,
bench/results/latest.json and a table on stdout.

Reads from --work: results.tsv (tool step wall user sys rss_kb repo_bytes),
meta.env, dataset.json, change.json, verify.tsv, and, when the forget+prune
step ran, prune.tsv (tool wall user sys rss_kb inblocks repo_before
repo_after snaps_before snaps_after bytes_read_reported check
startup_inblocks) and
prune-churn.jsonl (bench/churn.py's summaries).
"""

import argparse
import json
import os
import statistics
import sys

STEPS = [
    ("first", "first backup"),
    ("unchanged", "unchanged re-backup"),
    ("changed", "backup after 5% change"),
    ("restore", "full restore"),
    ("check", "check with data read"),
]
BACKUP_STEPS = ("first", "unchanged", "changed")
TOOLS = ["lifeboat", "restic", "borg"]
TOOL_NAMES = {"lifeboat": "lifeboat", "restic": "restic", "borg": "Borg"}
# Done-when targets: lifeboat / restic wall time per step.
WALL_TARGETS = {"first": 0.30, "unchanged": 0.25, "changed": 0.40, "restore": 0.30, "check": 0.30}
KIND_TEXT = {
    "text": "small text files (1-40 KB, nested directories)",
    "logs": "large log-like files (templated lines, compressible)",
    "bin": "incompressible binaries (AES-CTR keystream)",
}
MiB = 1024 * 1024


def load(work):
    runs = {}
    with open(os.path.join(work, "results.tsv")) as f:
        for line in f:
            if not line.strip():
                continue
            rnd, tool, step, wall, user, sys_, rss, repo = line.rstrip("\n").split("\t")
            runs.setdefault(tool, {}).setdefault(step, []).append({
                "round": int(rnd),
                "wall_s": float(wall),
                "user_s": float(user),
                "sys_s": float(sys_),
                "cpu_s": round(float(user) + float(sys_), 2),
                "peak_rss_kib": int(rss),
                "repo_bytes": int(repo),
            })
    # One value per tool and step: the median over the rounds (peak RSS: the maximum).
    res = {}
    for tool, steps in runs.items():
        for step, rs in steps.items():
            res.setdefault(tool, {})[step] = {
                "wall_s": statistics.median(r["wall_s"] for r in rs),
                "user_s": statistics.median(r["user_s"] for r in rs),
                "sys_s": statistics.median(r["sys_s"] for r in rs),
                "cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 2),
                "peak_rss_kib": max(r["peak_rss_kib"] for r in rs),
                "repo_bytes": int(statistics.median(r["repo_bytes"] for r in rs)),
                "wall_s_runs": [r["wall_s"] for r in rs],
                "rounds": rs,
            }
    meta = {}
    with open(os.path.join(work, "meta.env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            if k:
                meta[k] = v
    with open(os.path.join(work, "dataset.json")) as f:
        dataset = json.load(f)
    change = {}
    p = os.path.join(work, "change.json")
    if os.path.exists(p):
        with open(p) as f:
            change = json.load(f)
    verify = {}
    p = os.path.join(work, "verify.tsv")
    if os.path.exists(p):
        with open(p) as f:
            for line in f:
                if line.strip():
                    rnd, tool, status = line.rstrip("\n").split("\t", 2)
                    verify.setdefault(tool, []).append(status if status == "ok" else "round %s: %s" % (rnd, status))
    verify = {t: ("ok" if all(v == "ok" for v in vs) else "; ".join(v for v in vs if v != "ok"))
              + (" (%d rounds)" % len(vs) if len(vs) > 1 else "")
              for t, vs in verify.items()}
    return res, meta, dataset, change, verify


def load_prune(work):
    """The forget+prune step's numbers, or None when it did not run."""
    p = os.path.join(work, "prune.tsv")
    if not os.path.exists(p):
        return None
    tools = {}
    with open(p) as f:
        for line in f:
            if not line.strip():
                continue
            f_ = line.rstrip("\n").split("\t")
            tool, wall, user, sys_, rss, inb, before, after, sb, sa, reported, check = f_[:12]
            startup = int(f_[12]) if len(f_) > 12 and f_[12] else 0
            tools[tool] = {
                "wall_s": float(wall),
                "user_s": float(user),
                "sys_s": float(sys_),
                "cpu_s": round(float(user) + float(sys_), 2),
                "peak_rss_kib": int(rss),
                "disk_read_bytes": int(inb) * 512,
                "startup_read_bytes": startup * 512,
                "disk_read_net_bytes": max(0, int(inb) - startup) * 512,
                "repo_bytes_before": int(before),
                "repo_bytes_after": int(after),
                "snapshots_before": int(sb),
                "snapshots_after": int(sa),
                "bytes_read_reported": int(reported) if reported else None,
                "check": check,
            }
    churn = {"rounds": 0, "files_changed": 0, "bytes_written": 0}
    p = os.path.join(work, "prune-churn.jsonl")
    if os.path.exists(p):
        with open(p) as f:
            for line in f:
                if line.strip():
                    c = json.loads(line)
                    churn["rounds"] += 1
                    churn["files_changed"] += c["changed"]
                    churn["bytes_written"] += c["bytes_written"]
                    churn["files"] = c["files"]
    ratios = {}
    lb, rs = tools.get("lifeboat"), tools.get("restic")
    if lb and rs:
        for k in ("wall_s", "cpu_s", "peak_rss_kib", "disk_read_bytes", "disk_read_net_bytes", "repo_bytes_after"):
            ratios[k] = ratio(lb[k], rs[k])
    return {"tools": tools, "churn": churn, "ratios": ratios}


def prune_markdown(prune, meta):
    out = []
    w = out.append
    n, keep = meta.get("prune_snapshots", "?"), meta.get("prune_keep", "?")
    frac = float(meta.get("prune_fraction", "0.01"))
    ch = prune["churn"]
    w("## forget + prune")
    w("")
    w("A repository per tool with %s snapshots of the data set; between snapshots %g%% of the files (by count;"
      " %d of %s) are rewritten by `bench/churn.py` (text files: a few lines replaced; logs: 16 KiB appended;"
      " binaries: a 64 KiB region overwritten), identically for both tools: %d files and %.1f MiB written over"
      " the history, which took %s s to build (untimed). Then, timed, with the page cache dropped first:"
      % (n, 100 * frac, ch.get("files_changed", 0) // max(1, ch.get("rounds", 1)), ch.get("files", "?"),
         ch.get("files_changed", 0), ch.get("bytes_written", 0) / MiB, meta.get("prune_history_s", "?")))
    w("")
    w("- lifeboat: `forget --keep-last %s --prune --json`" % keep)
    w("- restic: `forget --keep-last %s --prune` (cache in the work directory, as above)" % keep)
    w("")
    w("Disk read is `/usr/bin/time`'s `%I` (512-byte blocks the process read from the block device: the"
      " repository, restic's cache, the binary and its libraries; meaningful only with a cold page cache);"
      " \"net\" subtracts what `lifeboat --version` / `restic version` read after a cache drop (start-up)."
      " lifeboat also counts the bytes it downloaded from the repository itself (`bytes_read` in its JSON"
      " output). \"check after\": the tool's own `check` (no data read) after the step.")
    w("")
    w("| tool | wall s | CPU s | peak RSS MiB | disk read MiB | net of start-up | read (own count) MiB"
      " | repo MiB before -> after | snapshots | check after |")
    w("|---|---:|---:|---:|---:|---:|---:|---|---|---|")
    for t in TOOLS:
        s = prune["tools"].get(t)
        if not s:
            continue
        rep = "n/a" if s["bytes_read_reported"] is None else "%.1f" % (s["bytes_read_reported"] / MiB)
        w("| %s | %.2f | %.2f | %.1f | %.1f | %.1f | %s | %.1f -> %.1f | %d -> %d | %s |" % (
            TOOL_NAMES[t], s["wall_s"], s["cpu_s"], s["peak_rss_kib"] / 1024, s["disk_read_bytes"] / MiB,
            s["disk_read_net_bytes"] / MiB, rep,
            s["repo_bytes_before"] / MiB, s["repo_bytes_after"] / MiB, s["snapshots_before"],
            s["snapshots_after"], s["check"]))
    w("")
    r = prune["ratios"]
    if r:
        w("lifeboat/restic: wall %s, CPU %s, peak RSS %s, disk read %s (net of start-up %s), repository after %s."
          % (fmt_ratio(r.get("wall_s")), fmt_ratio(r.get("cpu_s")), fmt_ratio(r.get("peak_rss_kib")),
             fmt_ratio(r.get("disk_read_bytes")), fmt_ratio(r.get("disk_read_net_bytes")),
             fmt_ratio(r.get("repo_bytes_after"))))
        w("")
    lb = prune["tools"].get("lifeboat")
    if lb and lb["bytes_read_reported"] is None:
        w("lifeboat's own read count is n/a: its `forget --prune --json` output did not include prune's summary.")
        w("")
    return out


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "n/a" if r is None else "%.2f" % r


def mark(r, target):
    if r is None:
        return "n/a"
    return "pass" if r <= target else "**MISS**"


def peak_rss(res, tool):
    steps = res.get(tool, {})
    return max((s["peak_rss_kib"] for s in steps.values()), default=None)


def final_repo(res, tool):
    steps = res.get(tool, {})
    for st in ("changed", "unchanged", "first"):
        if st in steps:
            return steps[st]["repo_bytes"]
    return None


def compute_ratios(res):
    rows = []
    lb = res.get("lifeboat", {})
    for step, label in STEPS:
        if step not in lb:
            continue
        row = {"step": step, "metric": "wall", "target": WALL_TARGETS[step]}
        for other in ("restic", "borg"):
            o = res.get(other, {}).get(step)
            row[other] = ratio(lb[step]["wall_s"], o["wall_s"] if o else None)
        rows.append(row)
    for step, label in STEPS:
        if step not in lb:
            continue
        row = {"step": step, "metric": "peak_rss", "target": 1.0}
        for other in ("restic", "borg"):
            o = res.get(other, {}).get(step)
            row[other] = ratio(lb[step]["peak_rss_kib"], o["peak_rss_kib"] if o else None)
        rows.append(row)
    row = {"step": "all", "metric": "peak_rss", "target": 1.0}
    for other in ("restic", "borg"):
        row[other] = ratio(peak_rss(res, "lifeboat"), peak_rss(res, other))
    rows.append(row)
    row = {"step": "final", "metric": "repo_size", "target": 1.0}
    for other in ("restic", "borg"):
        row[other] = ratio(final_repo(res, "lifeboat"), final_repo(res, other))
    rows.append(row)
    return rows


def markdown(res, meta, dataset, change, verify, ratios, prune=None):
    tools = [t for t in TOOLS if t in res]
    step_label = dict(STEPS)
    out = []
    w = out.append
    scale = float(meta.get("scale", "1"))
    w("# Benchmarks")
    w("")
    w("lifeboat beside restic and Borg on the same generated data set, written by `make bench`")
    w("(`bench/run.sh`). Run on %s at scale %g (%.0f MiB)." % (meta.get("date", "?"), scale, dataset["bytes"] / MiB))
    failed = [TOOL_NAMES.get(t, t) for t, v in verify.items() if not v.startswith("ok")]
    if failed:
        w("")
        w("> **Restore verification FAILED for %s** - see the end of this page." % ", ".join(failed))
    if scale != 1.0:
        w("")
        w("> **Reduced scale.** BENCH_SCALE=%g: a quick run, not the reference 1.5 GiB run. Fixed costs"
          " (process start, repository opening, index loading) weigh more at this size." % scale)
    w("")
    w("## How to reproduce")
    w("")
    w("```sh")
    w("make bench                                 # installs restic, borgbackup, time; builds; runs bench/run.sh")
    w("BENCH_SCALE=0.05 make bench                # quick run on ~75 MiB instead of ~1.5 GiB")
    w("BENCH_DIR=/srv/scratch/lb-bench make bench # work directory (default /var/tmp/lifeboat-bench; not tmpfs)")
    w("```")
    w("")
    w("The data set is generated once per seed and scale (`bench/gen.py`, BENCH_SEED) and kept in BENCH_DIR/data;"
      " a full run needs about 4x its size free there. Other knobs: BENCH_TOOLS, BENCH_DROP_CACHES (auto/1/0),"
      " BENCH_BORG_ENCRYPTION, BENCH_KEEP=1, LIFEBOAT_BIN; the forget+prune step: BENCH_PRUNE=0 skips it,"
      " BENCH_PRUNE_SNAPSHOTS (100), BENCH_PRUNE_KEEP (10), BENCH_PRUNE_FRACTION (0.01)."
      " Raw numbers: `bench/results/latest.json`.")
    w("")
    w("## Machine")
    w("")
    w("- CPU: %s x %s" % (meta.get("nproc", "?"), meta.get("cpu", "?")))
    w("- Kernel: %s; RAM: %s GiB; BENCH_DIR file system: %s" % (meta.get("kernel", "?"), meta.get("mem_gib", "?"),
                                                                 meta.get("fstype", "?")))
    w("- Load average at start / end: %s / %s" % (meta.get("loadavg_start", "?"), meta.get("loadavg_end", "?")))
    if meta.get("cache") == "cold":
        w("- Page cache: **cold** - dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`) before every timed step")
    else:
        w("- Page cache: **warm** - could not be dropped; the data set was read once before each tool's first"
          " backup, so every tool starts from the same cache state")
    w("")
    w("## Tools and settings")
    w("")
    w("All repositories are local, encrypted and compressed; passwords come from the environment.")
    w("")
    if "lifeboat" in tools:
        w("- %s: `init`, `backup DIR`, `restore latest --target T`, `check --read-data`" % meta.get("version_lifeboat"))
    if "restic" in tools:
        w("- %s: `init --repository-version 2` (compression auto), `backup DIR`, `restore latest --target T`,"
          " `check --read-data`; cache in the work directory, not counted in the repository size"
          % meta.get("version_restic"))
    if "borg" in tools:
        w("- %s: `init --encryption=%s`, `create --compression zstd,3 REPO::NAME DIR`, `extract` inside T,"
          " `check --verify-data`" % (meta.get("version_borg"), meta.get("borg_encryption")))
    w("")
    runs = int(meta.get("runs", "1"))
    if runs > 1:
        w("Each of the %d rounds starts from fresh repositories; the tables show the median over the rounds"
          " (peak RSS: the maximum), and the wall column lists every round." % runs)
        w("")
    w("Each step runs under `/usr/bin/time -f '%e %U %S %M'`: wall seconds, CPU = user + system seconds, peak RSS"
      " of the process. Repository size is `du -sb` after the step. Every restore was compared with the data set"
      " (`diff -r`, untimed).")
    w("")
    w("## Data set")
    w("")
    w("Seed `%s`, scale %g: %d files in %d directories, %.1f MiB." % (dataset["seed"], dataset["scale"],
                                                                       dataset["files"], dataset["dirs"],
                                                                       dataset["bytes"] / MiB))
    w("")
    w("| kind | files | MiB | share | contents |")
    w("|---|---:|---:|---:|---|")
    for kind in ("text", "logs", "bin"):
        k = dataset["kinds"].get(kind)
        if k:
            w("| %s | %d | %.1f | %.0f%% | %s |" % (kind, k["files"], k["bytes"] / MiB,
                                                   100.0 * k["bytes"] / dataset["bytes"], KIND_TEXT[kind]))
    w("")
    if change:
        w("The 5%% change (%d of %d files): %d text files edited, %d added, %d deleted; %d logs grown by 2%%;"
          " %d binaries with a region rewritten." % (
              change.get("files_touched", 0), change.get("baseline_files", 0), change.get("edit_text", 0),
              change.get("add_text", 0), change.get("delete_text", 0), change.get("append_logs", 0),
              change.get("rewrite_bins", 0)))
        w("")
    w("## Results")
    w("")
    w("| step | tool | wall s | CPU s | peak RSS MiB | repo MiB |")
    w("|---|---|---:|---:|---:|---:|")
    for step, label in STEPS:
        for t in tools:
            s = res[t].get(step)
            if not s:
                continue
            repo = "%.1f" % (s["repo_bytes"] / MiB) if step in BACKUP_STEPS else ""
            wall = "%.2f" % s["wall_s"]
            if len(s["wall_s_runs"]) > 1:
                wall += " (%s)" % " ".join("%.2f" % x for x in s["wall_s_runs"])
            w("| %s | %s | %s | %.2f | %.1f | %s |" % (label, TOOL_NAMES[t], wall, s["cpu_s"],
                                                     s["peak_rss_kib"] / 1024, repo))
    w("")
    w("## lifeboat relative to restic and Borg")
    w("")
    w("Ratios below 1 mean lifeboat is faster / smaller. Targets (Done-when) apply to lifeboat/restic.")
    w("")
    w("| step | metric | lifeboat/restic | target | | lifeboat/Borg |")
    w("|---|---|---:|---:|---|---:|")
    for r in ratios:
        if r["metric"] == "peak_rss" and r["step"] != "all":
            continue
        if r["metric"] == "wall":
            label, metric = step_label[r["step"]], "wall time"
        elif r["metric"] == "peak_rss":
            label, metric = "all steps", "peak RSS (max)"
        else:
            label, metric = "after last backup", "repository size"
        w("| %s | %s | %s | <= %.2f | %s | %s |" % (label, metric, fmt_ratio(r.get("restic")), r["target"],
                                                   mark(r.get("restic"), r["target"]), fmt_ratio(r.get("borg"))))
    w("")
    w("Peak RSS per step, lifeboat/restic: " + ", ".join(
        "%s %s" % (step_label[r["step"]], fmt_ratio(r.get("restic")))
        for r in ratios if r["metric"] == "peak_rss" and r["step"] != "all") + ".")
    w("")
    if prune:
        out.extend(prune_markdown(prune, meta))
    w("## Restore verification")
    w("")
    for t in tools:
        v = verify.get(t, "not run")
        w("- %s: %s" % (TOOL_NAMES[t], v if v.startswith("ok") else "**FAILED** - " + v))
    w("")
    w("Whole run (timed steps, verification and cache drops): %s s." % meta.get("elapsed_s", "?"))
    w("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    res, meta, dataset, change, verify = load(a.work)
    ratios = compute_ratios(res)
    prune = load_prune(a.work)
    md = markdown(res, meta, dataset, change, verify, ratios, prune)
    with open(a.md, "w") as f:
        f.write(md)
    doc = {
        "meta": meta,
        "dataset": dataset,
        "change": change,
        "results": res,
        "ratios": ratios,
        "wall_targets_vs_restic": WALL_TARGETS,
        "verify": verify,
    }
    if prune:
        doc["prune"] = prune
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
