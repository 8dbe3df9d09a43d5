#!/usr/bin/env python3
"""bench/report.py - turn bench/run.sh's raw numbers into docs/benchmarks.md,
bench/results/latest.json and a table on stdout.

Reads from --work: results.tsv (tool step wall user sys rss_kb repo_bytes),
meta.env, dataset.json, change.json, verify.tsv, and, when the forget+prune
step ran, prune.tsv (tool wall user sys rss_kb inblocks repo_before
repo_after snaps_before snaps_after bytes_read_reported check
startup_inblocks) and
prune-churn.jsonl (bench/churn.py's summaries), and, when the S3 step ran
(bench/s3.sh), s3.tsv ("#key=value" lines, then tool step wall user sys
rss_kb bucket_bytes bucket_objects verify), and, when the PostgreSQL step ran
(bench/pg.sh), pg.tsv (step wall user sys rss_kb bytes) and pg.env, and,
when the drill step ran, drill.tsv (round tool wall user sys rss_kb rto
restore verify setup bytes scratch_peak_kb status; bench/drill.sh) and the
drill_* keys of pg.env.

--only drill writes only the "Recovery drills" section: it replaces that
section of the existing --md file (or adds it before "Restore
verification"), and --json gets the drill numbers alone.
"""

import argparse
import json
import os
import re
import shlex
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


def tsv_rows(work, name):
    """The tab-separated fields of each non-empty line of WORK/NAME, or None when it does not exist."""
    p = os.path.join(work, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def load_prune(work):
    """The forget+prune step's numbers, or None when it did not run."""
    lines = tsv_rows(work, "prune.tsv")
    if lines is None:
        return None
    tools = {}
    for f_ in lines:
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


S3_STEPS = [("first", "first backup"), ("restore", "full restore")]


def load_s3(work):
    """The S3 step's numbers (bench/s3.sh), or None when it did not run."""
    p = os.path.join(work, "s3.tsv")
    if not os.path.exists(p):
        return None
    info, tools = {}, {}
    with open(p) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                k, _, v = line[1:].partition("=")
                info[k] = v
                continue
            if not line.strip():
                continue
            f_ = line.split("\t")
            tool, step, wall, user, sys_, rss, bbytes, objs = f_[:8]
            verify = f_[8] if len(f_) > 8 else ""
            tools.setdefault(tool, {})[step] = {
                "wall_s": float(wall),
                "user_s": float(user),
                "sys_s": float(sys_),
                "cpu_s": round(float(user) + float(sys_), 2),
                "peak_rss_kib": int(rss),
                "bucket_bytes": int(bbytes) if bbytes.isdigit() else None,
                "bucket_objects": int(objs) if objs.isdigit() else None,
            }
            if step == "restore":
                tools[tool][step]["verify"] = verify
    if not tools:
        return None
    ratios = {}
    lb, rs = tools.get("lifeboat", {}), tools.get("restic", {})
    for step, _ in S3_STEPS:
        if step in lb and step in rs:
            ratios[step] = {k: ratio(lb[step][k], rs[step][k]) for k in ("wall_s", "cpu_s", "peak_rss_kib")}
            if step == "first":
                ratios[step]["bucket_bytes"] = ratio(lb[step]["bucket_bytes"], rs[step]["bucket_bytes"])
    return {"server": info, "tools": tools, "ratios": ratios}


def s3_markdown(s3, meta):
    out = []
    w = out.append
    info = s3["server"]
    w("## S3 (Ceph RGW on 127.0.0.1)")
    w("")
    w("The same data set backed up to and restored from a real S3 server: a single-node Ceph cluster (%s,"
      " object store %s) with the RADOS Gateway on 127.0.0.1, started by `tests/harness/s3/start.sh` for this"
      " step (`bench/s3.sh`) and stopped afterwards. Each tool gets a bucket of its own:"
      " `init` (untimed), the first backup of the data set (`s3:http://127.0.0.1:PORT/BUCKET/repo`,"
      " credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), then a full restore of that snapshot into"
      " an empty directory, compared with the data set (`diff -r`, untimed). restic: `init --repository-version 2`,"
      " cache in the work directory, fresh for this step. Page cache: %s. Bucket size: `radosgw-admin bucket"
      " stats` (size_actual, objects) after the step. Server and clients share the machine, so every figure"
      " includes contention with the server." % (info.get("ceph", "Ceph"), info.get("objectstore", "?"),
                                                 info.get("cache", meta.get("cache", "?"))))
    w("")
    w("| step | tool | wall s | CPU s | peak RSS MiB | bucket MiB | objects |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for step, label in S3_STEPS:
        for t in TOOLS:
            s = s3["tools"].get(t, {}).get(step)
            if not s:
                continue
            bb = "" if s["bucket_bytes"] is None else "%.1f" % (s["bucket_bytes"] / MiB)
            ob = "" if s["bucket_objects"] is None else "%d" % s["bucket_objects"]
            w("| %s | %s | %.2f | %.2f | %.1f | %s | %s |" % (label, TOOL_NAMES[t], s["wall_s"], s["cpu_s"],
                                                           s["peak_rss_kib"] / 1024, bb, ob))
    w("")
    if s3["ratios"]:
        w("lifeboat/restic on S3 (below 1: lifeboat is faster / smaller):")
        w("")
        w("| step | wall | CPU | peak RSS | bucket size |")
        w("|---|---:|---:|---:|---:|")
        for step, label in S3_STEPS:
            r = s3["ratios"].get(step)
            if r:
                w("| %s | %s | %s | %s | %s |" % (label, fmt_ratio(r["wall_s"]), fmt_ratio(r["cpu_s"]),
                                                  fmt_ratio(r["peak_rss_kib"]),
                                                  fmt_ratio(r.get("bucket_bytes")) if "bucket_bytes" in r else ""))
        w("")
    ver = []
    for t in TOOLS:
        s = s3["tools"].get(t, {}).get("restore")
        if s:
            v = s.get("verify") or "not run"
            ver.append("%s %s" % (TOOL_NAMES[t], "ok" if v == "ok" else "**FAILED** - " + v))
    if ver:
        w("Restore from S3 verified: %s." % "; ".join(ver))
        w("")
    return out


PG_STEPS = [
    ("plain_dump", "logical backup", "pg_dump -Fc"),
    ("lb_backup", "logical backup", "lifeboat"),
    ("plain_restore", "logical restore", "pg_restore"),
    ("lb_restore", "logical restore", "lifeboat"),
    ("pgbr_backup", "physical backup", "pgBackRest"),
    ("lbphys_backup", "physical backup", "lifeboat"),
    ("pgbr_restore", "physical restore", "pgBackRest"),
    ("lbphys_restore", "physical restore", "lifeboat"),
]
# (label, lifeboat step, reference step, target): lifeboat / reference wall time
PG_TARGETS = [
    ("logical backup vs `pg_dump -Fc` to a file", "lb_backup", "plain_dump", 1.0),
    ("logical restore vs `pg_restore` from a file", "lb_restore", "plain_restore", 1.1),
    ("physical backup vs pgBackRest", "lbphys_backup", "pgbr_backup", 0.8),
    ("physical restore vs pgBackRest", "lbphys_restore", "pgbr_restore", 1.0),
]
PG_SERIES_TARGET = 5.0


def load_pg(work):
    """The PostgreSQL step's numbers (bench/pg.sh: pg.tsv, pg.env), or None when it did not run."""
    p = os.path.join(work, "pg.tsv")
    if not os.path.exists(p):
        return None
    steps, info = {}, {}
    with open(p) as f:
        for line in f:
            if not line.strip():
                continue
            step, wall, user, sys_, rss, size = line.rstrip("\n").split("\t")[:6]
            steps[step] = {
                "wall_s": float(wall),
                "user_s": float(user),
                "sys_s": float(sys_),
                "cpu_s": round(float(user) + float(sys_), 2),
                "peak_rss_kib": int(rss),
                "bytes": int(size) if size.isdigit() else None,
            }
    p = os.path.join(work, "pg.env")
    if os.path.exists(p):
        with open(p) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                if k:
                    info[k] = v
    targets = []
    for label, lb, ref, target in PG_TARGETS:
        a, b = steps.get(lb), steps.get(ref)
        targets.append({"what": label, "lifeboat": lb, "reference": ref, "target": target,
                        "ratio": ratio(a["wall_s"] if a else None, b["wall_s"] if b else None)})
    series = None
    if info.get("series_bytes"):
        n, sb, pb = int(info["series_dumps"]), int(info["series_bytes"]), int(info["plain_dump_bytes"])
        series = {"dumps": n, "stored_bytes": sb, "plain_dump_bytes": pb, "plain_dumps_bytes": n * pb,
                  "ratio_to_one_dump": ratio(sb, pb), "ratio_to_n_dumps": ratio(sb, n * pb),
                  "target": PG_SERIES_TARGET}
    return {"info": info, "steps": steps, "targets": targets, "series": series}


def pg_markdown(pg):
    out = []
    w = out.append
    info, steps = pg["info"], pg["steps"]
    scale = int(info.get("scale", "0") or 0)
    db = int(info.get("db_bytes", "0") or 0)
    w("## PostgreSQL")
    w("")
    w("A throw-away PostgreSQL server (`tests/harness/pg/start.sh`; %s) with a database made by `pgbench -i -s %d`"
      " (%.0f MiB; the whole cluster %.0f MiB), started by `bench/pg.sh` for this step, on the same machine."
      " Each step is timed as above (page cache: %s). Logical: `pg_dump -Fc -f FILE` to a local file and"
      " `pg_restore -d NEWDB FILE` (database created first, untimed) beside `lifeboat backup --pg URL --component"
      " database` (pg_dump streamed into the repository, then read back and verified) and `lifeboat restore latest"
      " --component database --pg-target URL` (into a database created beforehand, untimed, as for pg_restore). Physical: %s (`compress-type=zst`, `process-max=2`,"
      " `start-fast=y`, as the server's user, archive_command `pgbackrest archive-push`) `backup --type=full`"
      " and `restore --pg1-path=NEWDIR` beside `lifeboat backup --pg-physical` and `lifeboat restore --pg-physical"
      " --to-immediate --pg-data NEWDIR` (extracted and configured for recovery to the end of the base backup,"
      " since the server archives its WAL to pgBackRest, not started; pgBackRest's restore is not started either)."
      " Every restore was checked (untimed): a logical one holds all %s `pgbench_accounts` rows, a physical one"
      " is a data directory with `PG_VERSION` and `global/pg_control`."
      % (info.get("version_postgresql", "?").split(" on ")[0], scale, db / MiB,
         int(info.get("cluster_bytes", "0") or 0) / MiB, info.get("cache", "?"),
         info.get("version_pgbackrest", "pgBackRest"), info.get("accounts", "?")))
    if scale != 50:
        w("")
        w("> **Reduced scale.** BENCH_PG_SCALE=%d, not the reference 50 (about 750 MB): fixed costs dominate." % scale)
    w("")
    w("| step | tool | wall s | CPU s | peak RSS MiB | size MiB |")
    w("|---|---|---:|---:|---:|---:|")
    for step, label, tool in PG_STEPS:
        s = steps.get(step)
        if not s:
            continue
        size = "" if s["bytes"] is None else "%.1f" % (s["bytes"] / MiB)
        w("| %s | %s | %.2f | %.2f | %.1f | %s |" % (label, tool, s["wall_s"], s["cpu_s"], s["peak_rss_kib"] / 1024,
                                                    size))
    w("")
    w("Size: the dump file (`pg_dump -Fc`), the repository (lifeboat), pgBackRest's `backup/` directory (its"
      " whole repository with the WAL archive: %.1f MiB), the restored data directory (physical restores)."
      % (int(info.get("pgbr_repo_bytes", "0") or 0) / MiB))
    w("")
    w("| target (wall time) | lifeboat / reference | target | |")
    w("|---|---:|---:|---|")
    for t in pg["targets"]:
        w("| %s | %s | <= %.2f | %s |" % (t["what"], fmt_ratio(t["ratio"]), t["target"], mark(t["ratio"], t["target"])))
    se = pg["series"]
    if se:
        w("| %d dumps stored vs one plain `pg_dump -Fc` (size) | %s | <= %.2f | %s |"
          % (se["dumps"], fmt_ratio(se["ratio_to_one_dump"]), se["target"],
             mark(se["ratio_to_one_dump"], se["target"])))
        w("")
        tx = int(info.get("series_tx", "0") or 0)
        rows = int(info.get("accounts", "0") or 0)
        per = tx / se["dumps"] if se["dumps"] else 0
        w("Dump series: %d times `pgbench -n -R %s -T %s -c 2` (a light, rate-limited load: %d transactions in"
          " all, %.0f between two dumps, each updating one random `pgbench_accounts` row, %.4f%% of its %d rows)"
          " then `lifeboat backup --pg` into a fresh repository, %s s in all. The repository grew by %.1f MiB: %s of"
          " one plain `pg_dump -Fc` (%.1f MiB, taken before the series; %.1f MiB after it), %s of %d plain dumps"
          " (%.1f MiB)." % (se["dumps"], info.get("series_load_rate", "?"), info.get("series_load_s", "?"), tx, per,
                            100.0 * per / rows if rows else 0, rows,
                            info.get("series_s", "?"), se["stored_bytes"] / MiB,
                            fmt_ratio(se["ratio_to_one_dump"]) + "x", se["plain_dump_bytes"] / MiB,
                            int(info.get("plain_dump_end_bytes", "0") or 0) / MiB,
                            fmt_ratio(se["ratio_to_n_dumps"]) + "x", se["dumps"], se["plain_dumps_bytes"] / MiB))
    w("")
    ver = ["%s %s" % (k[len("verify_"):], v if v == "ok" else "**FAILED** - " + v)
           for k, v in sorted(info.items()) if k.startswith("verify_")]
    if ver:
        w("Restores checked: %s." % "; ".join(ver))
        w("")
    return out


DRILL_TITLE = "## Recovery drills"


def load_drill(work):
    """The file set's drill step (drill.tsv), or None when it did not run: per tool the median over the rounds."""
    lines = tsv_rows(work, "drill.tsv")
    if lines is None:
        return None
    rows = {}
    for v in lines:
        rows.setdefault(v[1], []).append({
            "round": int(v[0]), "wall_s": float(v[2]), "cpu_s": round(float(v[3]) + float(v[4]), 2),
            "peak_rss_kib": int(v[5]), "rto_s": float(v[6]), "restore_s": float(v[7]), "verify_s": float(v[8]),
            "setup_s": float(v[9]), "bytes": int(v[10]), "scratch_peak_kib": int(v[11]), "status": v[12]})
    out = {}
    for tool, rs in rows.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "cpu_s", "rto_s", "restore_s", "verify_s",
                                                                  "setup_s", "bytes")}
        med["peak_rss_kib"] = max(r["peak_rss_kib"] for r in rs)
        med["scratch_peak_kib"] = max(r["scratch_peak_kib"] for r in rs)
        bad = [r["status"] for r in rs if r["status"] != "ok"]
        med["status"] = "; ".join(bad) if bad else "ok"
        med["rounds"] = rs
        out[tool] = med
    return out


def pg_drills(pg):
    """The PostgreSQL drills (pg.env drill_*, pg.tsv), each beside its plain recovery, or []."""
    if not pg:
        return []
    info, steps = pg["info"], pg["steps"]
    out = []
    for step, comp, kind, ref, ref_label, size_key in (
            ("lbdrill_db", "db", "postgres (logical dump)", "plain_recover",
             "`createdb` + `pg_restore -d NEWDB` of the `pg_dump -Fc` file", "db_bytes"),
            ("lbdrill_phys", "db-physical", "postgres-physical (base backup + WAL)", "pgbr_recover",
             "`pgbackrest restore` + `pg_ctl start -w` + end of recovery", "lbphys_restore")):
        if ("drill_%s_rto" % step) not in info:
            continue
        d = {k: float(info.get("drill_%s_%s" % (step, k), "0") or 0) for k in ("rto", "restore", "verify", "setup")}
        st, rf = steps.get(step, {}), steps.get(ref)
        out.append({
            "step": step, "component": comp, "kind": kind, "rto_s": d["rto"], "restore_s": d["restore"],
            "verify_s": d["verify"], "setup_s": d["setup"], "wall_s": st.get("wall_s"),
            "peak_rss_kib": st.get("peak_rss_kib"), "bytes_restored": st.get("bytes"),
            "scratch_peak_kib": int(info.get("drill_%s_peak_kb" % step, "0") or 0),
            "size_bytes": int(info.get(size_key, "0") or 0) if size_key in info
            else (steps.get(size_key) or {}).get("bytes") or 0, "size_what": size_key,
            "checks": info.get("drill_%s_checks" % step, ""), "status": info.get("verify_" + step, "?"),
            "reference": ref, "reference_label": ref_label, "reference_wall_s": rf["wall_s"] if rf else None,
            "ratio": ratio(d["rto"], rf["wall_s"] if rf else None)})
    return out


def drill_markdown(fd, pg, res, meta, dataset):
    """The "Recovery drills" section: lifeboat drill's achieved RTO beside the plain recoveries, and what a drill needs."""
    out = []
    w = out.append
    pgd = pg_drills(pg)
    info = pg["info"] if pg else {}
    w(DRILL_TITLE)
    w("")
    w("`lifeboat drill COMPONENT --config FILE --json` (docs/commands.md#drill) recovers a component into a scratch"
      " target it creates and removes, verifies it, and reports the achieved RTO: `rto_seconds` = scratch setup +"
      " `restore_seconds` + `verify_seconds`. Below it stands beside the plain recovery of the same data by the"
      " other tools, timed the same way (`/usr/bin/time`, page cache %s). **A drill includes verification, a plain"
      " restore mostly does not**: the drill of files reads every restored file back against the snapshot's blob"
      " IDs (inside the restore, `restore --verify`, so its `verify_seconds` is near zero); a database drill counts"
      " the rows of every table against the counts recorded at backup time and runs `pg_amcheck --heapallindexed`"
      " (physical: on every database). Neither `pg_restore` nor the pgBackRest recovery is followed here by a"
      " check of the recovered data (no row counts, no amcheck); restic reads the restored files back with"
      " `--verify`, which is used here." % meta.get("cache", "?"))
    w("")
    knobs = meta.get("knobs") or "BENCH_RUNS=%s BENCH_PRUNE=%s BENCH_S3=%s" % (
        meta.get("runs", "?"), meta.get("prune", "?"), meta.get("s3", "?"))
    # "K=V K2=V2 ..." as `env` printed it: split before each BENCH_ name, quote the values for a shell
    knobs = " ".join("%s=%s" % (k, shlex.quote(v)) for k, _, v in (
        kv.strip().partition("=") for kv in re.split(r"\s(?=BENCH_[A-Z0-9_]*=)", knobs)))
    w("This section comes from a run on %s (load average at start %s, the machine shared with other work) of"
      " `%s bench/run.sh`" % (meta.get("date", "?"), meta.get("loadavg_start", "?"), knobs)
      + ": steps `%s`, tools `%s`, file set at scale %g (%.0f MiB)%s." % (
          meta.get("steps", "?"), " ".join(t for t in TOOLS if t in res), float(meta.get("scale", "1")),
          dataset["bytes"] / MiB,
          ", pgbench scale %s (database %.0f MiB, cluster %.0f MiB)" % (
              info.get("scale", "?"), int(info.get("db_bytes", "0") or 0) / MiB,
              int(info.get("cluster_bytes", "0") or 0) / MiB) if pgd else ""))
    w("")
    if fd:
        lb, rs = fd.get("lifeboat"), fd.get("restic")
        plain = res.get("restic", {}).get("restore")
        w("### The file set")
        w("")
        w("Configuration: one `files` component `data` on the data set, the bench's lifeboat repository with a"
          " `password_file`; its snapshot is an untimed `backup --component data` of the data the tools' latest"
          " snapshots hold. Scratch folder: `TMPDIR` under the work directory (on disk).")
        w("")
        w("| tool | command | RTO s | setup s | restore s | verify s | wall s | CPU s | peak RSS MiB | scratch peak MiB |"
          " restored MiB | result |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for t, cmd in (("lifeboat", "`lifeboat drill data --config F --json`"),
                       ("restic", "`restic restore latest --target DIR --verify`")):
            d = fd.get(t)
            if d:
                w("| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %s |" % (
                    TOOL_NAMES[t], cmd, d["rto_s"], d["setup_s"], d["restore_s"], d["verify_s"], d["wall_s"],
                    d["cpu_s"], d["peak_rss_kib"] / 1024, d["scratch_peak_kib"] / 1024, d["bytes"] / MiB,
                    d["status"] if d["status"] == "ok" else "**" + d["status"] + "**"))
        w("")
        if lb and rs:
            w("lifeboat drill RTO / `restic restore --verify`: **%s**%s. restic's RTO is its wall time (restore and"
              " verification). lifeboat's wall time adds opening the configuration and repository, the report and"
              " removing the scratch folder." % (
                  fmt_ratio(ratio(lb["rto_s"], rs["rto_s"])),
                  "; / plain `restic restore latest` (the restore step above, %.2f s, no verification): %s"
                  % (plain["wall_s"], fmt_ratio(ratio(lb["rto_s"], plain["wall_s"]))) if plain else ""))
            w("")
        if int(meta.get("runs", "1")) == 1:
            w("One round on a machine shared with other work: single wall times vary from run to run, so read the"
              " ratios as approximate (`BENCH_RUNS=3` gives medians).")
            w("")
    if pgd:
        w("### PostgreSQL")
        w("")
        w("Configuration: components `db` (`type: postgres`, the pgbench database) and `db-physical` (`type:"
          " postgres-physical`, `wal_method: none`) in one repository; `archive_command` is switched to `lifeboat"
          " wal-push` before their untimed backups. Logical: the drill initdb's and starts a scratch server (setup),"
          " restores the dump into it, counts rows and runs `pg_amcheck`. Physical: it restores the base backup,"
          " replays the archived WAL to its end and starts the server, then `pg_amcheck`. Beside them: %s, and the"
          " pgBackRest backup of the PostgreSQL step restored into a new directory and started on its own port and"
          " socket with `archive_mode=off` (timed until `pg_is_in_recovery()` is false: accepting connections"
          " after %s s, recovery ended after %s s; `pg_ctl start -w` alone returns once connections are accepted)."
          % (pgd[0]["reference_label"] if pgd[0]["step"] == "lbdrill_db" else "`createdb` + `pg_restore`",
             info.get("pgbr_recover_accepting_s", "?"), info.get("pgbr_recover_promoted_s", "?")))
        w("")
        w("| component | lifeboat drill RTO s | setup s | restore s | verify s | drill wall s | reference |"
          " reference s | RTO / reference | restore / reference | result |")
        w("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|")
        for d in pgd:
            w("| %s | %.2f | %.2f | %.2f | %.2f | %s | %s | %s | **%s** | %s | %s |" % (
                d["kind"], d["rto_s"], d["setup_s"], d["restore_s"], d["verify_s"],
                "%.2f" % d["wall_s"] if d["wall_s"] is not None else "?", d["reference_label"],
                "%.2f" % d["reference_wall_s"] if d["reference_wall_s"] is not None else "n/a",
                fmt_ratio(d["ratio"]), fmt_ratio(ratio(d["restore_s"], d["reference_wall_s"])),
                d["status"] if d["status"] == "ok" else "**" + d["status"] + "**"))
        w("")
        w("RTO / reference compares the verified recovery with an unverified one; restore / reference leaves out the"
          " drill's scratch setup and verification (for the physical drill its restore includes the server start"
          " and the WAL replay, as the reference does).")
        w("")
        for d in pgd:
            if d["checks"]:
                w("- %s checks: %s" % (d["component"], d["checks"]))
        w("")
    w("### What a drill needs")
    w("")
    w("Measured in this run. Disk: the peak of the scratch folder (`du -sk` of `TMPDIR` once a second during the"
      " drill: allocated blocks, so a peak shorter than a second can be missed). Memory: the peak RSS"
      " `/usr/bin/time` reports for the drill, the largest of lifeboat and the processes it waits for (restore,"
      " `pg_restore`, `initdb`, `pg_amcheck`); a scratch PostgreSQL server runs detached and is not in it (it"
      " runs with PostgreSQL's defaults, `shared_buffers` 128 MB, plus `fsync = off`). Time: the RTO per GiB of"
      " the data.")
    w("")
    w("| kind | data | size MiB | scratch peak MiB | peak / size | peak RSS MiB | RTO s | RTO s per GiB |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    rows = []
    if fd and fd.get("lifeboat"):
        d = fd["lifeboat"]
        rows.append(("files", "the file set (restored bytes)", d["bytes"], d["scratch_peak_kib"], d["peak_rss_kib"],
                     d["rto_s"]))
    for d in pgd:
        rows.append((d["kind"], "the database (`pg_database_size`)" if d["size_what"] == "db_bytes"
                     else "the restored data directory (`lifeboat restore --pg-physical`, `du`)", d["size_bytes"], d["scratch_peak_kib"],
                     d["peak_rss_kib"] or 0, d["rto_s"]))
    for kind, what, size, peak, rss, rto in rows:
        w("| %s | %s | %.1f | %.1f | %s | %.1f | %.2f | %s |" % (
            kind, what, size / MiB, peak / 1024, fmt_ratio(ratio(peak * 1024, size)), rss / 1024, rto,
            "%.1f" % (rto / (size / 2**30)) if size else "n/a"))
    w("")
    w("A files drill needs the restored data once on disk (the scratch folder) and no more; a logical database"
      " drill needs the restored database in a scratch cluster (initdb's own files and the WAL written by the"
      " restore come on top); a physical drill needs the restored data directory plus the WAL replayed into it."
      " The issue's bound, less than three times the database's size in temporary disk, is the `peak / size`"
      " column.")
    w("")
    return out


def sections(text):
    """(title, lines) of each "## " section of a Markdown text, in order."""
    out, cur = [], None
    for line in text.split("\n"):
        if line.startswith("## "):
            cur = (line, [line])
            out.append(cur)
        elif cur is not None:
            cur[1].append(line)
    return out


def keep_other_sections(md_path, md):
    """md plus every "## " section of the file at md_path that md does not
    produce (notes written by hand, sections other bench steps splice in),
    in their order: a full run must not erase them."""
    if not os.path.exists(md_path):
        return md
    titles = {t for t, _ in sections(md)}
    extra = [lines for t, lines in sections(open(md_path).read()) if t not in titles]
    if not extra:
        return md
    return md.rstrip("\n") + "\n\n" + "\n".join("\n".join(l).rstrip("\n") + "\n" for l in extra)


def splice_section(md_path, section, title=DRILL_TITLE):
    """Replace the section titled title of md_path (or add it before "## Restore verification").
    Also used by bench/scalereport.py."""
    text = open(md_path).read() if os.path.exists(md_path) else ""
    lines = text.split("\n")
    if title in lines:
        a = lines.index(title)
        b = next((i for i in range(a + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[a:b] = section
    elif "## Restore verification" in lines:
        a = lines.index("## Restore verification")
        lines[a:a] = section
    else:
        lines += [""] + section
    with open(md_path, "w") as f:
        f.write("\n".join(lines))


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


def markdown(res, meta, dataset, change, verify, ratios, prune=None, s3=None, pg=None, fd=None):
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
      " BENCH_PRUNE_SNAPSHOTS (100), BENCH_PRUNE_KEEP (10), BENCH_PRUNE_FRACTION (0.01); the S3 step:"
      " BENCH_S3=0 skips it, BENCH_S3_OBJECTSTORE (memstore/bluestore), BENCH_S3_SIZE; the PostgreSQL step:"
      " BENCH_PG=0 skips it, BENCH_PG_SCALE (50), BENCH_PG_DUMPS (96), BENCH_PG_LOAD_SECONDS (5), BENCH_PG_LOAD_RATE (50);"
      " the recovery drills: BENCH_PG_DRILL=0 skips the PostgreSQL ones, BENCH_STEPS (default `first unchanged"
      " changed restore check drill`) runs a subset of the file set's steps, BENCH_REPORT=drill then updates only"
      " the \"Recovery drills\" section of this page (raw numbers: `bench/results/drill.json`)."
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
    if s3:
        out.extend(s3_markdown(s3, meta))
    if pg:
        out.extend(pg_markdown(pg))
    if fd or pg_drills(pg):
        out.extend(drill_markdown(fd, pg, res, meta, dataset))
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
    ap.add_argument("--only", choices=("full", "drill"), default="full")
    a = ap.parse_args()
    res, meta, dataset, change, verify = load(a.work)
    ratios = compute_ratios(res)
    prune = load_prune(a.work)
    s3 = load_s3(a.work)
    pg = load_pg(a.work)
    fd = load_drill(a.work)
    if a.only == "drill":
        section = drill_markdown(fd, pg, res, meta, dataset)
        splice_section(a.md, section)
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "dataset": dataset, "files": fd, "pg": pg_drills(pg),
                       "pg_info": pg["info"] if pg else None, "results": res}, f, indent=2, sort_keys=True)
            f.write("\n")
        sys.stdout.write("\n".join(section) + "\n")
        return 0
    md = keep_other_sections(a.md, markdown(res, meta, dataset, change, verify, ratios, prune, s3, pg, fd))
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
    if s3:
        doc["s3"] = s3
    if pg:
        doc["pg"] = pg
    if fd:
        doc["drill_files"] = fd
    if pg_drills(pg):
        doc["drill_pg"] = pg_drills(pg)
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
