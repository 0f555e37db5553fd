#!/usr/bin/env python3
"""compare.py: rlzero's transformer throughput against the PyTorch CPU reference, measured in
the same run with the same model sizes and thread count. Standard library only.

Runs bench/bench_transformer (built with `make bench`), reads the sizes, vocabulary, sequence
length and batches it used from its output, runs bench/torch_ref.py with exactly those, and
prints one table: workload, rlzero tokens/s, pytorch tokens/s, ratio, and whether the
project's goals hold (training >= 1.5x, sampling >= 3x faster than PyTorch).

The training rows compare like with like: bench_transformer times forward + backward, so the
ratio uses PyTorch's forward + backward; PyTorch's figure with the AdamW step is shown beside
it. The sampling rows compare rlzero's KV-cache decode of whole sequences against PyTorch's
KV-cache sampling (a short prompt, then temperature-1 sampling up to the same length).

usage: compare.py [--threads N] [--seconds S] [--bin PATH] [--python PY]
Threads default to OMP_NUM_THREADS (else 1); both programs run with OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS set to it. Exits 0 whether or not the goals are met: it is a figure.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GOAL = {"train": 1.5, "sample": 3.0}


def run_c(binary, seconds, env):
    """The C benchmark's rows: {(dim, layers, heads): {"train": x, "decode": {batch: x}}}
    plus its vocab, T and training batch, parsed from its table (or JSON lines if it has
    them)."""
    out = subprocess.run([binary, "%g" % seconds], env=env, stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    sys.stderr.write(out)
    meta, rows, batches, ceiling = {}, {}, [], False
    for line in out.splitlines():
        if line.startswith("fp32 ceilings"):
            ceiling = True
            continue
        if line.startswith("{"):  # JSON lines, should the benchmark grow them
            r = json.loads(line)
            key = (r["dim"], r["layers"], r["heads"])
            row = rows.setdefault(key, {"train": None, "decode": {}})
            for k in ("vocab", "T", "train_batch"):
                if k in r:
                    meta[k] = r[k]
            if r["name"].startswith("train"):
                row["train"] = r["tokens_per_s"]
            else:
                row["decode"][r["batch"]] = r["tokens_per_s"]
            continue
        m = re.search(r"V (\d+), T (\d+), training batch (\d+)", line)
        if m:
            meta = {"vocab": int(m[1]), "T": int(m[2]), "train_batch": int(m[3])}
            continue
        if re.search(r"decode b=", line):
            batches = [int(b) for b in re.findall(r"decode b=(\d+)", line)]
            continue
        m = re.match(r"\s*C(\d+) L(\d+) NH(\d+)\s+\S+\s+(.*)$", line)
        if m:
            nums = [None if v == "-" else float(v) for v in m[4].split()]
            if len(nums) != 1 + len(batches):
                raise ValueError("unexpected bench_transformer row: %r" % line)
            key = (int(m[1]), int(m[2]), int(m[3]))
            if ceiling:  # the fp32 ceilings of rows already read
                if key in rows:
                    rows[key]["ceiling"] = {"train": nums[0],
                                            "decode": dict(zip(batches, nums[1:]))}
                continue
            rows[key] = {"train": nums[0], "decode": dict(zip(batches, nums[1:]))}
    if not rows or set(meta) != {"vocab", "T", "train_batch"}:
        raise ValueError("could not read bench_transformer's output:\n" + out)
    return meta, rows


def find_python(explicit):
    """The first interpreter that can import torch: --python, $PYTHON, this one, python3,
    then the system's (a distribution's python3-torch lives beside the system python)."""
    cands = [explicit] if explicit else []
    cands += [os.environ.get("PYTHON"), sys.executable, "python3", "/usr/bin/python3"]
    for py in cands:
        if not py:
            continue
        try:
            r = subprocess.run([py, "-c", "import torch; print(torch.__version__)"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               universal_newlines=True)
        except OSError:
            continue
        if r.returncode == 0:
            return py, r.stdout.strip()
        if explicit:
            break
    return None, None


def run_torch(py, meta, rows, seconds, repeats, env):
    """PyTorch's records keyed like run_c's rows, or None when torch_ref.py skipped (77)."""
    sizes = ",".join("%dx%dx%d" % k for k in rows)
    batches = sorted({b for r in rows.values() for b in r["decode"]})
    cmd = [py, os.path.join(HERE, "torch_ref.py"), "--seconds", "%g" % seconds,
           "--repeats", str(repeats),
           "--sizes", sizes, "--vocab", str(meta["vocab"]), "--context", str(meta["T"]),
           "--train-batch", str(meta["train_batch"]), "--batches",
           ",".join(str(b) for b in batches)]
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, universal_newlines=True)
    if p.returncode == 77:
        return None
    if p.returncode != 0:
        raise RuntimeError("torch_ref.py failed with status %d" % p.returncode)
    sys.stderr.write(p.stdout)
    res = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        if "tokens_per_s" not in r:
            continue
        key = (r["dim"], r["layers"], r["heads"])
        res.setdefault(key, {"decode": {}})
        if r["name"] == "sample":
            res[key]["decode"][r["batch"]] = r["tokens_per_s"]
        else:
            res[key][r["name"]] = r["tokens_per_s"]
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int,
                    default=int(os.environ.get("OMP_NUM_THREADS", "1").split(",")[0] or 1))
    ap.add_argument("--seconds", type=float, default=1.0,
                    help="timed seconds per measurement, for both programs")
    ap.add_argument("--repeats", type=int, default=3,
                    help="PyTorch's timed repeats (median); a sampling repeat is at least one "
                         "whole generation")
    ap.add_argument("--bin", default=None,
                    help="the bench_transformer binary (default: bench/bench_transformer "
                         "of the current build directory, made if missing)")
    ap.add_argument("--python", default=None, help="interpreter with torch for torch_ref.py")
    a = ap.parse_args()

    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads))
    binary = a.bin or os.path.join("bench", "bench_transformer")
    if not os.path.exists(binary) and a.bin is None and os.path.exists("Makefile"):
        subprocess.run(["make", "bench/bench_transformer"], check=True)
    if not os.path.exists(binary):
        sys.exit("compare.py: %s not found: run `make bench` in the build directory first"
                 % binary)

    meta, c = run_c(binary, a.seconds, env)
    py, version = find_python(a.python)
    t = run_torch(py, meta, c, a.seconds, a.repeats, env) if py else None

    print("rlzero vs %s (CPU), %d thread(s), V %d, T %d, training batch %d x %d"
          % ("PyTorch " + version if t is not None else "PyTorch (not installed)", a.threads, meta["vocab"], meta["T"], meta["train_batch"],
             meta["T"]))
    hdr = "%-14s %-22s %14s %14s %8s %9s  %s" % ("model", "workload", "rlzero tok/s",
                                                  "pytorch tok/s", "ratio", "ceiling", "goal")
    print(hdr)
    print("-" * len(hdr))
    for key, row in c.items():
        name = "C%d L%d NH%d" % key
        tr = t.get(key) if t else None
        cl = row.get("ceiling", {"train": None, "decode": {}})
        lines = [("train fwd+bwd", "train", row["train"], tr and tr.get("train_fwdbwd"),
                  cl["train"])]
        lines += [("sample b=%d" % b, "sample", v, tr and tr["decode"].get(b),
                   cl["decode"].get(b)) for b, v in sorted(row["decode"].items())]
        for work, kind, mine, theirs, top in lines:
            if t is None or not theirs:
                why = "pytorch not installed: skipped" if t is None else "no pytorch figure"
                print("%-14s %-22s %14.0f %14s %8s %9s  %s" % (name, work, mine, "-", "-", "-",
                                                               why))
                continue
            ratio = mine / theirs
            ok = "met" if ratio >= GOAL[kind] else "NOT met"
            reach = top / theirs if top else None
            if ratio < GOAL[kind] and reach is not None and reach < GOAL[kind]:
                ok += ", beyond the fp32 ceiling"
            print("%-14s %-22s %14.0f %14.0f %7.2fx %9s  >= %.1fx %s"
                  % (name, work, mine, theirs, ratio,
                     "%.2fx" % reach if reach is not None else "-", GOAL[kind], ok))
        if tr and tr.get("train_step"):
            print("%-14s %-22s %14s %14.0f %8s %9s  %s" % (name, "(train fwd+bwd+AdamW)", "-",
                                                           tr["train_step"], "-", "-",
                                                           "pytorch only, for reference"))
    if t is not None:
        print("ceiling: bench_transformer's fp32 ceiling for the workload on this machine over "
              "pytorch's figure,\nabout the most fp32 kernels could make of the ratio (the "
              "products at sgemm's rate, see bench_transformer.c)")
    if t is None:
        print("pytorch not installed: skipped (install python3-torch, or pass --python)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
