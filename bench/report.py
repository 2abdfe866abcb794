#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""report.py: bench/run.sh's parts -> bench.json, a table, README-table.md
and bench.png (Debian's python3-matplotlib).

    report.py --parts DIR --out DIR

Every figure is a ratio against its anchor measured in the same run: per
round, the two numbers of that round (they ran one after the other), then
the median and [min-max] of those per-round ratios.
"""
import argparse
import glob
import json
import os
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GOAL_MMAP = 0.98          # mmap through the mount vs raw: the same pages
GOAL_PASSTHROUGH = 0.90   # SPEC 3.1: a file without a lease, default mode
GOAL_PTHP = 1.10          # mediated I/O vs passthrough_hp --direct-io --nosplice
GOAL_GATE = 0.02          # lease check: below 2 %
GOAL_NOTIFY_P50 = 100.0   # us
GOAL_NOTIFY_P99 = 1000.0  # us
GOAL_RTT_P99 = 2000.0     # us
GOAL_MEM = 256.0          # B per lease
FLAT = 1.5                # "flat": at most this factor from small to large N
GOAL_HOSTILE_P99 = 50000.0  # us: an innocent user's p99 under attack

# -j2: a file per job; -j2-1file: both jobs on one file, where the kernel's
# per-inode locking of passthrough I/O is what is measured
PSYNC = ["randwrite-4k-j1", "randwrite-4k-j2", "randwrite-4k-j2-1file",
         "randread-4k-j1", "randread-4k-j2", "randread-4k-j2-1file",
         "seqwrite-1M", "seqread-1M"]
MMAP = ["mmap-seqread-1M", "mmap-seqwrite-1M", "mmap-randread-4k",
        "mmap-randwrite-4k"]
TR_NAME = {"devfuse": "/dev/fuse", "uring": "io_uring"}
TRANSPORT_KEY = {"/dev/fuse": "devfuse", "io_uring": "uring"}
HOSTILE_OPS = ["stat", "pread", "pwrite"]
# hostile --attacks: every attack of issue 13, or the reference
HOSTILE_RUN = {"abcdefg": "every attack at once",
               "h": "reference: heavy honest writer"}
# the sections of bench.json, in order, and the goal areas of each
SECTIONS = ["datapath", "gate", "latency", "scale", "hostile"]


def section_of(area):
    if area.startswith(("no-lease", "mediated", "mmap")):
        return "datapath"
    if area.startswith("lease check"):
        return "gate"
    if area.startswith("break latency"):
        return "latency"
    if area.startswith("scale"):
        return "scale"
    return "hostile"


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def paired(res, wl, a, b):
    """Per-round ratios a/b of workload wl: {median, min, max, n}."""
    x = (res or {}).get(wl, {})
    if a not in x or b not in x:
        return None
    ra = dict(zip(x[a]["rounds"], x[a]["samples"]))
    rb = dict(zip(x[b]["rounds"], x[b]["samples"]))
    r = [ra[k] / rb[k] for k in ra if k in rb and rb[k]]
    if not r:
        return None
    return {"median": statistics.median(r), "min": min(r), "max": max(r),
            "n": len(r), "samples": r}


def paired_cpu(res, wl, a, b):
    """Per-round ratios of the daemons' CPU time per I/O, a/b."""
    x = (res or {}).get(wl, {})
    if a not in x or b not in x or "daemon_cpu_us_per_io" not in x[a]:
        return None
    ra = dict(zip(x[a]["rounds"], x[a]["daemon_cpu_us_per_io"]["samples"]))
    rb = dict(zip(x[b]["rounds"], x[b]["daemon_cpu_us_per_io"]["samples"]))
    r = [ra[k] / rb[k] for k in ra if k in rb and rb[k]]
    if not r:
        return None
    return {"median": statistics.median(r), "min": min(r), "max": max(r),
            "n": len(r), "samples": r}


def med(res, wl, t):
    x = (res or {}).get(wl, {}).get(t)
    return None if x is None else x["median"]


def fmt_ratio(r):
    if r is None:
        return "-"
    if r["n"] == 1:
        return "%.2f" % r["median"]
    return "%.2f [%.2f-%.2f]" % (r["median"], r["min"], r["max"])


def fmt_val(v, unit):
    if v is None:
        return "-"
    return "%.1f" % (v / 1000) if unit == "IOPS" else "%.0f" % v


def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "MISSED")


class Report:
    def __init__(self, parts):
        self.parts = parts
        self.fio = load(os.path.join(parts, "fio.json"))
        # the mmap workloads: their own part, or (older runs) fio's
        self.mmap = load(os.path.join(parts, "mmap.json")) or self.fio
        self.gate = load(os.path.join(parts, "gate.json"))
        self.sb = load(os.path.join(parts, "sandbox.json"))
        self.sc = load(os.path.join(parts, "seccomp.json"))
        self.lat = {}
        for p in sorted(glob.glob(os.path.join(parts, "latency-*.json"))):
            key = os.path.basename(p)[len("latency-"):-len(".json")]
            self.lat[key] = load(p)
        self.scale = []
        sp = os.path.join(parts, "scale.jsonl")
        if os.path.exists(sp):
            with open(sp) as f:
                dec = json.JSONDecoder()
                text = f.read()
                i = 0
                while i < len(text):
                    while i < len(text) and text[i].isspace():
                        i += 1
                    if i >= len(text):
                        break
                    obj, i = dec.raw_decode(text, i)
                    self.scale.append(obj)
        self.hostile_runs = []
        for p in sorted(glob.glob(os.path.join(parts, "hostile-*.jsonl"))):
            with open(p) as f:
                lines = [json.loads(ln) for ln in f if ln.strip()]
            summary = [x for x in lines if x.get("summary")]
            if summary:
                self.hostile_runs.append({"file": os.path.basename(p),
                                          "summary": summary[-1],
                                          "ops": [x for x in lines
                                                  if "op" in x]})
        self.metas = []
        for p in sorted(glob.glob(os.path.join(parts, "meta.*.json"))):
            self.metas.append(load(p))
        self.goals = []

    def goal(self, area, what, value, goal, ok):
        self.goals.append({"area": area, "figure": what, "value": value,
                           "goal": goal, "verdict": verdict(ok)})

    # ---- data path ----
    def datapath(self):
        if not self.fio and not self.mmap:
            return None
        res = self.fio["results"] if self.fio else {}
        units = {w["name"]: w["unit"]
                 for w in (self.fio or {}).get("workloads", [])}
        rows = []
        for b in (self.fio or {}).get("meta", {}).get("backings", []):
            for wl in PSYNC:
                if wl not in res:
                    continue
                raw = f"{b}:raw"
                row = {"workload": wl, "backing": b, "unit": units[wl],
                       "raw": med(res, wl, raw),
                       "leased": med(res, wl, f"{b}:mdfs-uring") or
                       med(res, wl, f"{b}:mdfs-devfuse"),
                       "leased_over_raw":
                       paired(res, wl, f"{b}:mdfs-uring", raw) or
                       paired(res, wl, f"{b}:mdfs-devfuse", raw)}
                for tr in ("devfuse", "uring"):
                    a, p = f"{b}:mdfsall-{tr}", f"{b}:pthp-{tr}"
                    row[f"all_{tr}"] = med(res, wl, a)
                    row[f"pthp_{tr}"] = med(res, wl, p)
                    row[f"all_over_pthp_{tr}"] = paired(res, wl, a, p)
                    row[f"all_over_raw_{tr}"] = paired(res, wl, a, raw)
                    row[f"pthp_over_raw_{tr}"] = paired(res, wl, p, raw)
                rows.append(row)
                r = row["leased_over_raw"]
                if r:
                    self.goal("no-lease file, default mode (SPEC 3.1)" +
                              (", 2 jobs on one file"
                               if wl.endswith("-1file") else ""),
                              f"{wl} {b}: mount/raw", r["median"],
                              f">= {GOAL_PASSTHROUGH}",
                              r["median"] >= GOAL_PASSTHROUGH)
                for tr in ("devfuse", "uring"):
                    r = row[f"all_over_pthp_{tr}"]
                    if r:
                        self.goal("mediated (mediate=all) vs passthrough_hp",
                                  f"{wl} {b} {TR_NAME[tr]}: mdfs/pthp",
                                  r["median"], f">= {GOAL_PTHP}",
                                  r["median"] >= GOAL_PTHP)
        mm = []
        res = self.mmap["results"] if self.mmap else {}
        for b in (self.mmap or {}).get("meta", {}).get("backings", []):
            for wl in MMAP:
                if wl not in res:
                    continue
                raw = f"{b}:raw"
                row = {"workload": wl, "backing": b, "raw": med(res, wl, raw),
                       "leased": med(res, wl, f"{b}:mdfs-uring"),
                       "leased_over_raw":
                       paired(res, wl, f"{b}:mdfs-uring", raw),
                       "all": med(res, wl, f"{b}:mdfsall-uring"),
                       "all_over_raw":
                       paired(res, wl, f"{b}:mdfsall-uring", raw)}
                mm.append(row)
                for k, name in (("leased_over_raw", "no lease"),
                                ("all_over_raw", "mediated open")):
                    r = row[k]
                    if r:
                        self.goal("mmap bandwidth, mount vs raw",
                                  f"{wl} {b} ({name}): mount/raw",
                                  r["median"], f">= {GOAL_MMAP}",
                                  r["median"] >= GOAL_MMAP)
        out = {"psync": rows, "mmap": mm, "anomalies": [],
               "foreign_cpu_pct": []}
        for k, part in (("fio", self.fio), ("mmap", self.mmap)):
            if not part or (k == "mmap" and part is self.fio):
                continue
            out[k + "_run"] = {"rounds": part["meta"]["repeat"],
                      "runtime_s": part["meta"]["runtime_s"],
                      "file_size": part["meta"]["file_size"],
                      "loadavg_per_round": part["meta"]["loadavg_per_round"],
                      "elapsed_s": part["meta"]["elapsed_s"]}
            out["anomalies"] += part["anomalies"]
            out["foreign_cpu_pct"] += [
                f for w in part["results"].values() for t in w.values()
                for f in t["foreign_cpu_pct"]]
        out["foreign_cpu_pct"].sort()
        if "mmap_run" not in out and "fio_run" in out:
            out["mmap_run"] = out["fio_run"]
        return out

    # ---- lease check ----
    def gatecost(self):
        if not self.gate:
            return None
        res = self.gate["results"]
        wl = "randwrite-4k-j1"
        tg = list(self.gate["targets"])
        gate = next(t for t in tg if ":mdfsall-" in t and "." not in t)
        nogate = next(t for t in tg if ":nogate-" in t)
        twin = next((t for t in tg if ":mdfsall-" in t and "." in t), None)
        r = paired(res, wl, gate, nogate)
        aa = paired(res, wl, gate, twin) if twin else None
        out = {"workload": wl, "transport": self.gate["targets"][gate]
               ["transport"], "rounds": self.gate["meta"]["repeat"],
               "runtime_s": self.gate["meta"]["runtime_s"],
               "gate_iops": res[wl][gate], "nogate_iops": res[wl][nogate],
               "twin_iops": res[wl].get(twin) if twin else None,
               "gate_over_nogate": r, "aa_gate_over_twin": aa,
               "cpu_gate_over_nogate": paired_cpu(res, wl, gate, nogate),
               "cpu_aa_gate_over_twin":
               paired_cpu(res, wl, gate, twin) if twin else None,
               "anomalies": self.gate["anomalies"]}
        if r:
            diff = r["median"] - 1
            # noise: the spread of the per-round ratios (IQR-ish: half the
            # distance between the 25th and 75th percentile), and the A/A
            qs = sorted(r["samples"])
            q1 = qs[len(qs) // 4]
            q3 = qs[(3 * len(qs)) // 4]
            noise = (q3 - q1) / 2
            out["difference"] = diff
            out["noise_half_iqr"] = noise
            if aa:
                out["aa_difference"] = aa["median"] - 1
            self.goal("lease check on the write path",
                      "4k pwrite, with check / without", r["median"],
                      f"|1 - x| < {GOAL_GATE} (noise: half IQR "
                      f"{noise:.3f}, A/A {aa['median'] - 1 if aa else 0:+.3f})",
                      abs(diff) < GOAL_GATE)
        return out

    # ---- sandbox (seccomp filter, mount namespace) ----
    def syscallcost(self):
        if not self.sc:
            return []
        rows = []
        for call, v in self.sc["ns"].items():
            d = [f - n for f, n in zip(v["filter"], v["none"])]
            rows.append({"call": call, "rounds": self.sc["rounds"],
                         "none_ns": statistics.median(v["none"]),
                         "filter_ns": statistics.median(v["filter"]),
                         "added_ns": {"median": statistics.median(d),
                                      "min": min(d), "max": max(d)}})
        return rows

    def sandboxcost(self):
        if not self.sb:
            return {"rows": [], "syscalls": self.syscallcost(),
                    "anomalies": []} if self.sc else None
        res = self.sb["results"]
        tg = self.sb["targets"]
        rows = []
        for on in [t for t in tg if ":mdfsall-" in t and "." not in t]:
            tr = on.split(":mdfsall-", 1)[1]
            off = on.replace(":mdfsall-", ":nosandbox-")
            twin = on + ".2"
            for wl in ("randwrite-4k-j1", "randread-4k-j1"):
                r = paired(res, wl, on, off)
                if not r:
                    continue
                aa = paired(res, wl, on, twin) if twin in tg else None
                rows.append({"workload": wl, "transport": tr,
                             "on_iops": res[wl][on], "off_iops": res[wl][off],
                             "on_over_off": r, "aa_on_over_twin": aa,
                             "cpu_on_over_off":
                             paired_cpu(res, wl, on, off)})
                self.goal("sandbox on the data path",
                          f"{wl} {TR_NAME[tr]}: sandbox on / off",
                          r["median"],
                          f"|1 - x| < {GOAL_GATE} (A/A "
                          f"{aa['median'] - 1 if aa else 0:+.3f})",
                          abs(r["median"] - 1) < GOAL_GATE)
        return {"rows": rows, "syscalls": self.syscallcost(),
                "rounds": self.sb["meta"]["repeat"],
                "runtime_s": self.sb["meta"]["runtime_s"],
                "anomalies": self.sb["anomalies"]}

    # ---- break latency ----
    def latency(self):
        rows = []
        for key, d in sorted(self.lat.items()):
            if not d:
                continue
            b, tr = key.split("-", 1)
            rows.append({"backing": b, "transport": tr, **d})
            n, t = d["notify"], d["roundtrip"]
            self.goal("break latency", f"{b} {TR_NAME[tr]}: notify p50 (us)",
                      n["p50"], f"< {GOAL_NOTIFY_P50:.0f}",
                      n["p50"] < GOAL_NOTIFY_P50)
            self.goal("break latency", f"{b} {TR_NAME[tr]}: notify p99 (us)",
                      n["p99"], f"< {GOAL_NOTIFY_P99:.0f}",
                      n["p99"] < GOAL_NOTIFY_P99)
            self.goal("break latency",
                      f"{b} {TR_NAME[tr]}: round trip p99 (us)",
                      t["p99"], f"< {GOAL_RTT_P99:.0f}",
                      t["p99"] < GOAL_RTT_P99)
        return rows

    # ---- scale ----
    def scaling(self):
        rows = [s for s in self.scale]
        series = {}
        for s in rows:
            if "skipped" in s:
                continue
            series.setdefault((s["layout"], s["hold"]), []).append(s)
        for (layout, hold), pts in series.items():
            pts.sort(key=lambda s: s["n"])
            name = ("one file" if layout == "one" else "across files") + \
                (", held by open files" if hold == "fd" else
                 ", held by a mapping")
            lo, hi = pts[0], pts[-1]
            if hi["n"] > lo["n"]:
                for key, label in (("join_us", "join an ongoing break, p50"),
                                   ("write_held_us",
                                    "write to a no-lease file, p50"),
                                   ("write_breaking_us",
                                    "write to a no-lease file during the "
                                    "break, p50")):
                    a, z = lo[key]["p50"], hi[key]["p50"]
                    self.goal("scale: flat cost",
                              f"{name}: {label}, n={lo['n']} -> {hi['n']} "
                              f"({a:.1f} -> {z:.1f} us)", z / a,
                              f"<= {FLAT}x", z / a <= FLAT)
            big = [p for p in pts if p["n"] >= 1000]
            if len(big) >= 2 and layout == "one":
                key = "notified_per_lease_us" if hold == "fd" else \
                      "start_per_lease_us"
                a, z = big[0][key], big[-1][key]
                self.goal("scale: flat cost",
                          f"{name}: break start per lease, n={big[0]['n']} -> "
                          f"{big[-1]['n']} ({a:.2f} -> {z:.2f} us)", z / a,
                          f"<= {FLAT}x", z / a <= FLAT)
            for p in big:
                self.goal("scale: memory", f"{name}: n={p['n']} (B/lease)",
                          p["mem_per_lease_B"], f"<= {GOAL_MEM:.0f}",
                          p["mem_per_lease_B"] <= GOAL_MEM)
        return rows

    # ---- hostile neighbour ----
    def hostile(self):
        rows = []
        for run in self.hostile_runs:
            sm = run["summary"]
            tr = TRANSPORT_KEY.get(sm["transport"], sm["transport"])
            attacks = sm.get("attacks", "abcdefg")
            ops = {(x["phase"], x["op"]): x for x in run["ops"]}
            for op in HOSTILE_OPS:
                q, a = ops.get(("quiet", op)), ops.get(("attacked", op))
                if not q or not a or not q["stats"] or not a["stats"]:
                    continue
                rows.append({"transport": tr, "attacks": attacks, "op": op,
                             "mediate": sm["mediate"],
                             "quiet": q["stats"], "attacked": a["stats"],
                             "quiet_p99_per_round": q["p99_per_round"],
                             "attacked_p99_per_round": a["p99_per_round"]})
                if attacks != "abcdefg":
                    continue
                # every round: the innocent's loop waits for each answer,
                # so a slow round has few samples and weighs little in
                # the pooled figure
                p99 = max(a["p99_per_round"])
                self.goal("hostile neighbour: innocent p99, attacked",
                          f"{TR_NAME.get(tr, tr)} {op}: p99 of the worst "
                          f"round (ms), all rounds "
                          f"{a['stats']['p99'] / 1000:.1f}, quiet "
                          f"{q['stats']['p99'] / 1000:.2f}", p99 / 1000,
                          f"< {GOAL_HOSTILE_P99 / 1000:.0f}",
                          p99 < GOAL_HOSTILE_P99)
        if not rows:
            return None
        return {"rows": rows,
                "runs": [dict(r["summary"], file=r["file"])
                         for r in self.hostile_runs]}

    def build(self, old=None):
        self.data = {
            "meta": self.metas[0] if self.metas else {},
            "reruns": self.metas[1:],
            "datapath": self.datapath(),
            "gate": self.gatecost(),
            "sandbox": self.sandboxcost(),
            "latency": self.latency(),
            "scale": self.scaling(),
            "hostile": self.hostile(),
        }
        # --only on a fresh checkout: parts/ are not kept, bench.json is;
        # what this run did not measure is taken from there, and said so
        carried = {}
        for key in SECTIONS:
            if not self.data[key] and old and old.get(key):
                self.data[key] = old[key]
                # the run that measured it: old's, or older still
                carried[key] = old.get("carried", {}).get(key) or \
                    old.get("meta", {})
                self.goals += [g for g in old.get("goals", [])
                               if section_of(g["area"]) == key]
        if carried:
            self.data["carried"] = carried
        self.goals.sort(key=lambda g: SECTIONS.index(section_of(g["area"])))
        self.data["goals"] = self.goals
        return self.data


# ------------------------------------------------------------------ text --

def md_table(head, rows):
    cell = lambda c: str(c).replace("|", "\\|")
    out = ["| " + " | ".join(cell(c) for c in head) + " |",
           "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def text_table(head, rows):
    cols = list(zip(*([head] + [[str(c) for c in r] for r in rows])))
    w = [max(len(c) for c in col) for col in cols]
    line = lambda r: "  ".join(str(c).ljust(w[i]) for i, c in enumerate(r))
    return "\n".join([line(head), line(["-" * x for x in w])] +
                     [line(r) for r in rows])


def sections(d):
    """[(title, note, head, rows)] for both renderings."""
    out = []
    dp = d["datapath"]
    if dp:
        head = ["workload", "fs", "raw", "no lease", "/raw",
                "mediated /dev/fuse", "pthp /dev/fuse", "/pthp",
                "mediated io_uring", "pthp io_uring", "/pthp"]
        rows = []
        for r in dp["psync"]:
            u = r["unit"]
            rows.append([r["workload"], r["backing"], fmt_val(r["raw"], u),
                         fmt_val(r["leased"], u),
                         fmt_ratio(r["leased_over_raw"]),
                         fmt_val(r["all_devfuse"], u),
                         fmt_val(r["pthp_devfuse"], u),
                         fmt_ratio(r["all_over_pthp_devfuse"]),
                         fmt_val(r["all_uring"], u),
                         fmt_val(r["pthp_uring"], u),
                         fmt_ratio(r["all_over_pthp_uring"])])
        fr = dp.get("fio_run", {})
        out.append(("Data path (fio psync)",
                    f"4k rows in kIOPS, 1M rows in MiB/s: medians of "
                    f"{fr.get('rounds')} interleaved rounds of "
                    f"{fr.get('runtime_s')} s; "
                    "ratios: median [min-max] of the per-round ratios. "
                    "\"no lease\": default mode (mediate=leased), a file "
                    "without a lease (goal >= 0.9x raw); \"mediated\": "
                    "mediate=all vs passthrough_hp --direct-io --nosplice on the same "
                    "transport (goal >= 1.1x). Reads open O_RDWR; fio jobs "
                    "pinned one per CPU, each on a file of its own; "
                    "-1file: both jobs on one file.",
                    head, rows))
        head = ["workload", "fs", "raw MiB/s", "no lease", "/raw",
                "mediated open", "/raw"]
        rows = [[r["workload"], r["backing"], fmt_val(r["raw"], "MiB/s"),
                 fmt_val(r["leased"], "MiB/s"), fmt_ratio(r["leased_over_raw"]),
                 fmt_val(r["all"], "MiB/s"), fmt_ratio(r["all_over_raw"])]
                for r in dp["mmap"]]
        mr = dp.get("mmap_run", {})
        out.append(("mmap (fio mmap engine)",
                    "bandwidth through the mount vs the raw backing file, "
                    f"medians of {mr.get('rounds')} interleaved rounds of "
                    f"{mr.get('runtime_s')} s; \"no lease\": default mode; "
                    "\"mediated open\": mediate=all, the file opened O_RDWR "
                    "(goal >= 0.98x: the same pages)", head, rows))
    g = d["gate"]
    if g:
        head = ["daemon", "4k pwrite kIOPS median [min-max]", "IOPS ratio",
                "daemon CPU us/write", "CPU ratio"]
        fmt = lambda v: "%.1f [%.1f-%.1f]" % (v["median"] / 1000,
                                             v["min"] / 1000, v["max"] / 1000)
        cpu = lambda v: "%.2f" % v["daemon_cpu_us_per_io"]["median"] \
            if v and "daemon_cpu_us_per_io" in v else "-"
        rows = [["with the lease check", fmt(g["gate_iops"]), "1",
                 cpu(g["gate_iops"]), "1"],
                ["-Dlease_gate=false", fmt(g["nogate_iops"]),
                 "with/without " + fmt_ratio(g["gate_over_nogate"]),
                 cpu(g["nogate_iops"]),
                 "with/without " + fmt_ratio(g["cpu_gate_over_nogate"])]]
        if g.get("twin_iops"):
            rows.append(["with the check, second mount (A/A)",
                         fmt(g["twin_iops"]),
                         "A/A " + fmt_ratio(g["aa_gate_over_twin"]),
                         cpu(g["twin_iops"]),
                         "A/A " + fmt_ratio(g["cpu_aa_gate_over_twin"])])
        out.append(("Lease check on the write path",
                    f"mediate=all, {g['transport']}, tmpfs, fio 4k randwrite "
                    f"1 job, {g['rounds']} interleaved rounds of "
                    f"{g['runtime_s']} s (goal: difference < 2 %, below the "
                    "noise)", head, rows))
    sb = d.get("sandbox")
    if sb and sb["rows"]:
        head = ["workload", "transport", "sandbox on kIOPS", "off kIOPS",
                "on/off", "A/A", "daemon CPU on/off"]
        rows = [[r["workload"], TR_NAME[r["transport"]],
                 "%.1f" % (r["on_iops"]["median"] / 1000),
                 "%.1f" % (r["off_iops"]["median"] / 1000),
                 fmt_ratio(r["on_over_off"]), fmt_ratio(r["aa_on_over_twin"]),
                 fmt_ratio(r["cpu_on_over_off"])] for r in sb["rows"]]
        out.append(("Sandbox on the data path",
                    "mediate=all (every 4k psync write and read reaches the "
                    f"daemon), tmpfs, {sb['rounds']} interleaved rounds of "
                    f"{sb['runtime_s']} s: sandbox=auto (seccomp filter, "
                    "mount namespace) vs sandbox=off; ratios: median "
                    "[min-max] of the per-round ratios (goal: difference "
                    f"< {GOAL_GATE * 100:.0f} %)", head, rows))
    if sb and sb.get("syscalls"):
        head = ["system call", "ns without", "ns with the filter",
                "added ns median [min-max]"]
        rows = [[r["call"], "%.0f" % r["none_ns"], "%.0f" % r["filter_ns"],
                 "%.0f [%.0f-%.0f]" % (r["added_ns"]["median"],
                                       r["added_ns"]["min"],
                                       r["added_ns"]["max"])]
                for r in sb["syscalls"]]
        out.append(("The seccomp filter per system call",
                    "bench/seccomp_cost: the daemon's filter (fuse/syscalls.c)"
                    " in a child, a bare child beside it, "
                    f"{sb['syscalls'][0]['rounds']} alternating rounds, one "
                    "CPU; ioctl is the one call whose verdict depends on its "
                    "arguments", head, rows))
    if d["latency"]:
        head = ["fs", "transport", "breaks", "notify p50", "p99", "max",
                "round trip p50", "p99", "max"]
        rows = [[r["backing"], TR_NAME[r["transport"]], r["count"],
                 "%.0f" % r["notify"]["p50"], "%.0f" % r["notify"]["p99"],
                 "%.0f" % r["notify"]["max"], "%.0f" % r["roundtrip"]["p50"],
                 "%.0f" % r["roundtrip"]["p99"],
                 "%.0f" % r["roundtrip"]["max"]] for r in d["latency"]]
        out.append(("Break latency (us)",
                    "notify: breaker's pwrite -> holder's POLLPRI; round "
                    "trip: -> the breaker's pwrite returns, the holder having "
                    "unmapped and unleased (goals: notify p50 < 100, p99 < "
                    "1000; round trip p99 < 2000)", head, rows))
    if d["scale"]:
        head = ["leases", "held by", "n", "acquire us", "break start us",
                "per lease", "all told us", "join p50", "write p50 held",
                "breaking", "B/lease", "B/open", "B/poll"]
        rows = []
        for s in d["scale"]:
            lay = "one file" if s["layout"] == "one" else "across files"
            hold = "open files" if s["hold"] == "fd" else "a mapping"
            if "skipped" in s:
                rows.append([lay, hold, s["n"], "skipped: " + s["skipped"]] +
                            [""] * 9)
                continue
            big = s["n"] >= 1000
            mem = lambda k: "%.0f" % s[k] if big else "-"
            rows.append([lay, hold, s["n"], "%.1f" % s["acquire_us"],
                         "%.0f" % s["start_us"],
                         "%.2f" % s["start_per_lease_us"],
                         "%.0f" % s["notified_us"] if s["hold"] == "fd"
                         else "-",
                         "%.1f" % s["join_us"]["p50"],
                         "%.1f" % s["write_held_us"]["p50"],
                         "%.1f" % s["write_breaking_us"]["p50"],
                         mem("mem_per_lease_B"),
                         mem("mem_per_open_B") if s["hold"] == "fd" else "-",
                         mem("mem_per_poll_B") if s["hold"] == "fd" else "-"])
        out.append(("Scale",
                    "mediate=all, io_uring, tmpfs, lease_break_time=60; a "
                    "fresh daemon per row; times are medians of the rows' "
                    "repetitions. break start: an O_NONBLOCK pwrite that "
                    "starts the break (returns EAGAIN); all told: until the "
                    "oldest lease's holder polls POLLPRI; join: another "
                    "O_NONBLOCK pwrite on the breaking file; write: 4 KiB "
                    "pwrite to a file with no lease; memory: daemon RssAnon "
                    "per lease, per open file, per poll handle (first "
                    "repetition)", head, rows))
    h = d.get("hostile")
    if h:
        head = ["transport", "attacker", "op", "quiet p50", "p99", "max",
                "n", "attacked p50", "p99", "p99 per round", "max", "n"]
        us = lambda v: "%.0f" % v
        rows = []
        for r in h["rows"]:
            q, a = r["quiet"], r["attacked"]
            pr = r["attacked_p99_per_round"]
            rows.append([TR_NAME.get(r["transport"], r["transport"]),
                         HOSTILE_RUN.get(r["attacks"], r["attacks"]),
                         r["op"], us(q["p50"]), us(q["p99"]), us(q["max"]),
                         q["n"], us(a["p50"]), us(a["p99"]),
                         "%.0f-%.0f" % (min(pr), max(pr)), us(a["max"]),
                         a["n"]])
        run = h["runs"][0]
        out.append(("Hostile neighbour (us)",
                    "uid 1001's stat (forced to the daemon), 4 KiB pread "
                    "and pwrite on its own file without a lease, from a "
                    f"thread on each CPU, mediate={run['mediate']}, ext4, "
                    "lease_break_time=1; quiet and attacked rounds "
                    f"interleaved, {run['rounds']} of {run['attack_s']:.0f} "
                    "s each; attacker uid 1000: every attack of issue 13 at "
                    "once (bench/README.md), or, for reference, 96 threads "
                    "writing 1 MiB into a file of its own without a lease; "
                    "p99 of all rounds' samples, and of each round's (goal: "
                    f"attacked p99 < {GOAL_HOSTILE_P99 / 1000:.0f} ms in "
                    "every round)", head, rows))
    if d["goals"]:
        head = ["area", "figure", "value", "goal", "verdict"]
        rows = [[g["area"], g["figure"],
                 "%.3f" % g["value"] if isinstance(g["value"], float)
                 else g["value"], g["goal"], g["verdict"]] for g in d["goals"]]
        out.append(("Goals", "", head, rows))
    return out


def machine(d):
    m = d["meta"]
    if not m:
        return ""
    s = (f"{m['cpu']} ({m['nproc']} CPUs), {m['memory']}, Linux "
         f"{m['kernel']}, libfuse {m['libfuse']}, {m['fio']}, mapdirectfs "
         f"{m['commit']}; {m['date'][:10]}; load average before "
         f"{m['loadavg_before']}, after {m['loadavg_after']}; "
         f"{m['elapsed_s']} s")
    if m.get("quick"):
        s += " (--quick)"
    if m.get("failed_parts"):
        s += "; FAILED: " + ", ".join(m["failed_parts"])
    for r in d["reruns"]:
        s += (f"; rerun of {r['parts_run']} on {r['date'][:16]}, load "
              f"{r['loadavg_before']} -> {r['loadavg_after']}")
    # sections this run did not measure, by the run that did
    runs = {}
    for key, f in d.get("carried", {}).items():
        runs.setdefault(json.dumps(f, sort_keys=True), []).append(key)
    for f, keys in runs.items():
        f = json.loads(f)
        s += (f"; {', '.join(keys)}: from the run of "
              f"{f.get('date', '?')[:10]} on {f.get('cpu', '?')}, Linux "
              f"{f.get('kernel', '?')} (mapdirectfs "
              f"{f.get('commit', '?')}, load average before "
              f"{f.get('loadavg_before', '?')}, after "
              f"{f.get('loadavg_after', '?')}; {f.get('elapsed_s', '?')} s)")
    return s


def render_text(d):
    out = ["", "mapdirectfs benchmarks: " + machine(d)]
    for title, note, head, rows in sections(d):
        out += ["", f"== {title}", note, "", text_table(head, rows)] if note \
            else ["", f"== {title}", "", text_table(head, rows)]
    head, rows = goal_summary(d)
    out += ["", "== Goals, by area", "", text_table(head, rows)]
    an = []
    if d["datapath"]:
        an += d["datapath"]["anomalies"]
    if d["gate"]:
        an += d["gate"]["anomalies"]
    if d.get("sandbox"):
        an += d["sandbox"]["anomalies"]
    if an:
        out += ["", f"{len(an)} anomalies (fio-compare), e.g.:"] + \
            ["  " + a for a in an[:10]]
    return "\n".join(out) + "\n"


AREA_GOAL = {
    "no-lease file, default mode (SPEC 3.1)": ">= 0.9x raw",
    "mediated (mediate=all) vs passthrough_hp": ">= 1.1x passthrough_hp",
    "mmap bandwidth, mount vs raw": ">= 0.98x raw",
    "lease check on the write path": "difference < 2 %, below the noise",
    "break latency": "notify p50 < 100 us, p99 < 1 ms; round trip p99 < 2 ms",
    "scale: flat cost": "<= 1.5x from the smallest to the largest n",
    "scale: memory": "<= 256 B per lease",
    "hostile neighbour: innocent p99, attacked": "< 50 ms in every round",
}


def goal_summary(d):
    """One row per area: how many figures met the goal, which missed."""
    areas = {}
    for g in d["goals"]:
        areas.setdefault(g["area"], []).append(g)
    rows = []
    for area, gs in areas.items():
        met = sum(g["verdict"] == "met" for g in gs)
        missed = [g for g in gs if g["verdict"] == "MISSED"]
        if not missed:
            what = "-"
        elif len(missed) <= 3:
            what = "; ".join(f"{g['figure']}: {g['value']:.2f}"
                             for g in missed)
        else:
            v = [g["value"] for g in missed]
            what = f"{len(missed)} figures, from {min(v):.2f} to {max(v):.2f}"
        rows.append([area, AREA_GOAL.get(area, gs[0]["goal"]),
                     f"{met}/{len(gs)}", what])
    return ["area", "goal", "met", "missed"], rows


def render_md(d):
    out = ["Measured on " + machine(d) + ".", ""]
    head, rows = goal_summary(d)
    out += ["#### Goals", "",
            "Every figure and its verdict: `bench/results/bench.json` "
            "(`goals`) and `bench/results/bench.txt`.", "",
            md_table(head, rows), ""]
    for title, note, head, rows in sections(d):
        if title == "Goals":
            continue
        out += [f"#### {title}", ""]
        if note:
            out += [note, ""]
        out += [md_table(head, rows), ""]
    out += ["![benchmarks](bench/results/bench.png)", ""]
    return "\n".join(out)


# ------------------------------------------------------------------ plot --

def plot(d, path):
    rows = 3 if d.get("hostile") else 2
    fig, axes = plt.subplots(rows, 4, figsize=(22, 5 * rows))
    dp = d["datapath"]

    def bars(ax, groups, goal, title):
        # groups: [(label, [(name, ratio-dict)])]
        names = []
        for _, items in groups:
            for n, _ in items:
                if n not in names:
                    names.append(n)
        width = 0.8 / max(1, len(groups))
        for gi, (label, items) in enumerate(groups):
            m = dict(items)
            xs, ys, lo, hi = [], [], [], []
            for i, n in enumerate(names):
                r = m.get(n)
                if not r:
                    continue
                xs.append(i + (gi - (len(groups) - 1) / 2) * width)
                ys.append(r["median"])
                lo.append(r["median"] - r["min"])
                hi.append(r["max"] - r["median"])
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=label)
        for g, style in goal:
            ax.axhline(g, color="k", ls=style, lw=1)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(axis="y", alpha=0.3)

    if dp:
        groups = []
        for b in ("tmpfs", "ext4"):
            groups.append((f"no lease / raw ({b})",
                           [(r["workload"], r["leased_over_raw"])
                            for r in dp["psync"] if r["backing"] == b]))
        bars(axes[0][0], groups, [(GOAL_PASSTHROUGH, "--"), (1, ":")],
             "default mode, file without a lease: mount / raw (goal 0.9)")
        groups = []
        for b in ("tmpfs", "ext4"):
            for tr in ("devfuse", "uring"):
                groups.append((f"{TR_NAME[tr]} {b}",
                               [(r["workload"], r[f"all_over_pthp_{tr}"])
                                for r in dp["psync"] if r["backing"] == b]))
        bars(axes[0][1], groups, [(GOAL_PTHP, "--"), (1, ":")],
             "mediated (mediate=all) / passthrough_hp --direct-io --nosplice (goal 1.1)")
        groups = []
        for b in ("tmpfs", "ext4"):
            for k, lab in (("leased_over_raw", "no lease"),
                           ("all_over_raw", "mediated open")):
                groups.append((f"{lab} {b}", [(r["workload"], r[k])
                                              for r in dp["mmap"]
                                              if r["backing"] == b]))
        bars(axes[0][2], groups, [(GOAL_MMAP, "--"), (1, ":")],
             "mmap bandwidth: mount / raw (goal 0.98)")
        # a round slowed by ext4 writeback can reach 2x: clip, say so
        axes[0][2].set_ylim(0.8, 1.2)
        axes[0][2].set_ylabel("(error bars clipped at 1.2)", fontsize=7)

    ax = axes[0][3]
    g = d["gate"]
    if g and g["gate_over_nogate"]:
        r = g["gate_over_nogate"]["samples"]
        ax.plot(range(1, len(r) + 1), r, "o-", ms=4,
                label="with check / -Dlease_gate=false")
        if g["aa_gate_over_twin"]:
            aa = g["aa_gate_over_twin"]["samples"]
            ax.plot(range(1, len(aa) + 1), aa, "x--", ms=5,
                    label="with check / with check (A/A)")
        for y in (1 - GOAL_GATE, 1 + GOAL_GATE):
            ax.axhline(y, color="k", ls=":", lw=1)
        ax.set_xlabel("round")
        ax.set_ylabel("4k pwrite IOPS ratio")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    ax.set_title("lease check on the write path: per-round ratio "
                 "(goal within 2 %)", fontsize=10)

    ax = axes[1][0]
    for r in d["latency"]:
        sp = os.path.join(d["_parts"],
                          f"latency-{r['backing']}-{r['transport']}.samples")
        if not os.path.exists(sp):
            continue
        with open(sp) as f:
            rows = [list(map(float, ln.split())) for ln in f if ln.strip()]
        for col, ls, lab in ((0, "-", "notify"), (1, "--", "round trip")):
            v = sorted(x[col] for x in rows)
            y = [(i + 1) / len(v) for i in range(len(v))]
            ax.plot(v, y, ls=ls, lw=1,
                    label=f"{lab} {r['backing']} {TR_NAME[r['transport']]}")
    ax.set_xscale("log")
    for g in (GOAL_NOTIFY_P50, GOAL_NOTIFY_P99, GOAL_RTT_P99):
        ax.axvline(g, color="k", ls=":", lw=1)
    ax.set_xlabel("us")
    ax.set_ylabel("fraction of breaks")
    ax.set_title("break latency CDF (goals: notify p50 100, p99 1000; "
                 "round trip p99 2000 us)", fontsize=10)
    # no samples where the figures were carried over from an earlier run
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    elif d["latency"]:
        ax.text(0.5, 0.5, "samples not kept: figures from an earlier run\n"
                "(table, bench.json)", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)
    ax.grid(alpha=0.3)

    ax = axes[1][1]
    series = {}
    for s in d["scale"]:
        if "skipped" not in s:
            series.setdefault((s["layout"], s["hold"]), []).append(s)
    for (lay, hold), pts in sorted(series.items()):
        pts.sort(key=lambda s: s["n"])
        ns = [p["n"] for p in pts]
        lab = f"{lay}/{hold}"
        ax.plot(ns, [p["join_us"]["p50"] for p in pts], "o-",
                label=f"join a break, p50, {lab}")
        ax.plot(ns, [p["write_breaking_us"]["p50"] for p in pts], "s--",
                label=f"write elsewhere, p50, {lab}")
    ax.set_xscale("log")
    ax.set_ylim(0, max(10, ax.get_ylim()[1]))
    ax.set_xlabel("leases")
    ax.set_ylabel("us")
    ax.set_title("scale: cost per breaker (flat is the goal)", fontsize=10)
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)

    ax = axes[1][3]
    for (lay, hold), pts in sorted(series.items()):
        if lay != "one":
            continue
        key = "notified_per_lease_us" if hold == "fd" else \
              "start_per_lease_us"
        what = "until all told" if hold == "fd" else "start call"
        ax.plot([p["n"] for p in pts], [p[key] for p in pts], "^-",
                label=f"one file, held by "
                      f"{'open files' if hold == 'fd' else 'a mapping'}: "
                      f"{what}")
        ax.plot([p["n"] for p in pts], [p["cpu_per_lease_us"] for p in pts],
                "v:", label=f"daemon CPU, {lay}/{hold}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("leases on the file")
    ax.set_ylabel("us per lease")
    ax.set_title("scale: break start per lease (flat is the goal)",
                 fontsize=10)
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)

    ax = axes[1][2]
    for (lay, hold), pts in sorted(series.items()):
        pts = [p for p in pts if p["n"] >= 1000]
        if pts:
            ax.plot([p["n"] for p in pts],
                    [p["mem_per_lease_B"] for p in pts], "o-",
                    label=f"{lay}/{hold}")
    ax.axhline(GOAL_MEM, color="k", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("leases")
    ax.set_ylabel("daemon RssAnon per lease (B)")
    ax.set_ylim(0, max(400, ax.get_ylim()[1]))
    ax.set_title("daemon memory per lease (goal 256 B)", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)

    if rows == 3:
        plot_hostile(d, axes[2])
    m = d["meta"]
    fig.suptitle(f"mapdirectfs {m.get('commit', '?')}: {m.get('cpu', '?')} "
                 f"x {m.get('nproc', '?')}, Linux {m.get('kernel', '?')}, "
                 f"libfuse {m.get('libfuse', '?')}, "
                 f"{m.get('date', '?')[:10]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def plot_hostile(d, axes):
    """CDF of the innocent's stat, quiet and attacked; p99 bars."""
    ax = axes[0]
    for tr in ("devfuse", "uring"):
        for run, lab in (("all", "every attack"), ("ref", "heavy writer")):
            sp = os.path.join(d["_parts"], f"hostile-{tr}-{run}.samples")
            if not os.path.exists(sp):
                continue
            v = {"quiet": [], "attacked": []}
            with open(sp) as f:
                for ln in f:
                    ph, op, us = ln.split()
                    if op == "stat":
                        v[ph].append(float(us))
            for ph, ls in (("quiet", ":"), ("attacked", "-")):
                if run == "ref" and ph == "quiet":
                    continue
                x = sorted(v[ph])
                if x:
                    ax.plot(x, [(i + 1) / len(x) for i in range(len(x))],
                            ls=ls if run == "all" else "--", lw=1,
                            label=f"{TR_NAME[tr]} {ph}"
                            f"{', ' + lab if ph == 'attacked' else ''}")
    ax.axvline(GOAL_HOSTILE_P99, color="k", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("us")
    ax.set_ylabel("fraction of stats")
    ax.set_title("innocent uid's stat: CDF, quiet / attacked (goal p99 < "
                 "50 ms)", fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)

    ax = axes[1]
    rows = [r for r in d["hostile"]["rows"]]
    names = [f"{TR_NAME.get(r['transport'], r['transport'])} {r['op']}"
             for r in rows if r["attacks"] == "abcdefg"]
    for k, (lab, attacks, phase) in enumerate((
            ("quiet", "abcdefg", "quiet"),
            ("every attack", "abcdefg", "attacked"),
            ("heavy writer (reference)", "h", "attacked"))):
        ys, lo, hi = [], [], []
        for n in names:
            tr, op = n.rsplit(" ", 1)
            r = next((r for r in rows if r["attacks"] == attacks and
                      TR_NAME.get(r["transport"]) == tr and r["op"] == op),
                     None)
            y = r[phase]["p99"] if r else 0
            # the range of the rounds' own p99, where attacked
            pr = r[phase + "_p99_per_round"] if r and phase == "attacked" \
                else [y]
            ys.append(y)
            lo.append(max(0, y - min(pr)))
            hi.append(max(0, max(pr) - y))
        ax.bar([i + (k - 1) * 0.27 for i in range(len(names))], ys, 0.27,
               yerr=[lo, hi], capsize=2, label=lab)
    ax.axhline(GOAL_HOSTILE_P99, color="k", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("p99 (us)")
    ax.set_title("innocent's p99 (error bars: each round's; goal 50 ms)",
                 fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    for ax in axes[2:]:
        ax.axis("off")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    d = Report(a.parts).build(load(os.path.join(a.out, "bench.json")))
    d["_parts"] = a.parts
    text = render_text(d)
    sys.stdout.write(text)
    with open(os.path.join(a.out, "bench.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "README-table.md"), "w") as f:
        f.write(render_md(d))
    plot(d, os.path.join(a.out, "bench.png"))
    d.pop("_parts")
    with open(os.path.join(a.out, "bench.json"), "w") as f:
        json.dump(d, f, indent=1)
        f.write("\n")
    missed = [g for g in d["goals"] if g["verdict"] == "MISSED"]
    print(f"\n{len(d['goals'])} goals, {len(missed)} missed; "
          f"{os.path.join(a.out, 'bench.json')}, bench.png, README-table.md")


if __name__ == "__main__":
    main()
