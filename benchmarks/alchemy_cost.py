"""CPU-seconds per verified mutated theorem (``nesy synth alchemy``) on a fixed stdlib slice, beside
its ablations, in one run.

Three runs of the same job on the same files, one after the other, each a fresh ``nesy synth
alchemy`` process whose CPU time is read with everything it started (the prover processes
included: ``getrusage(RUSAGE_CHILDREN)`` of this process around the child):

- ``nesy``: the default (candidates pruned by symbols and BM25, variants run in the warm
  environment, one batch kernel check per stretch);
- ``no pruning``: the same number of candidates per target, drawn at random from every
  shape-eligible accessible lemma (what pruning buys: hits per prover call);
- and, on a sample of the verified variants of the ``nesy`` run, **one kernel check per variant**
  (a fresh coqc run each, the file's prefix compiled each time: Alchemy's verification done one
  theorem at a time) against the batch's cost per variant.

Alchemy's own figure, for scale: about 1,750 CPU-seconds per verified theorem (rw: 14 days on
4,096 cores for 2.83M verified variants). The target here is at most 2.

Usage: python benchmarks/alchemy_cost.py [--files GLOB ...] [--limit N] [--sample K]
Needs the traced stdlib (``nesy trace``; ``~/.cache/nesy/traced/coq-stdlib``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthesis.alchemy.standalone import children_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = ("Arith/Between.v", "Arith/PeanoNat.v", "Bool/Bool.v", "Lists/ListDec.v")


def run_job(files: list[str], limit: int | None, out: Path, extra: list[str]) -> tuple[dict, float, float]:
    cmd = [sys.executable, "-m", "nesy", "synth", "alchemy", "--library", "stdlib", "--out", str(out), "--fresh", "--no-progress"]
    for f in files:
        cmd += ["--files", f]
    if limit:
        cmd += ["--limit", str(limit)]
    cmd += extra
    cpu0, t0 = children_cpu_seconds(), time.monotonic()
    proc = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True)
    cpu, wall = children_cpu_seconds() - cpu0, time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"nesy synth alchemy failed:\n{proc.stderr[-2000:]}")
    return json.loads((out / "summary.json").read_text()), cpu, wall


def single_checks(out: Path, k: int, seed: int) -> tuple[list[float], float, int]:
    """CPU seconds of one fresh kernel check per variant, for ``k`` verified variants; and the
    batch's cost per verified variant in the same run (wall seconds of its coqc, Print
    Assumptions and coqchk runs: one core each)."""
    from synthesis.alchemy.standalone import check_sample

    results = check_sample(out, k, seed)
    batch_s = verified = 0
    for line in (out / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        batch_s += (row.get("batch") or {}).get("seconds", 0.0)
        verified += sum(1 for v in row.get("variants", []) if v.get("verified"))
    return [r.cpu_s for r in results], batch_s / max(verified, 1), sum(not r.ok for r in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", action="append", default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--sample", type=int, default=8, help="variants checked one at a time")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    files = args.files or list(DEFAULT_FILES)
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for label, extra in (("nesy", []), ("no pruning", ["--no-prune"])):
            summary, cpu, wall = run_job(files, args.limit, Path(tmp) / label.replace(" ", "-"), extra)
            runs[label] = (summary, cpu, wall)
        costs, batch_per_variant, failed = single_checks(Path(tmp) / "nesy", args.sample, args.seed)
    print(f"slice: {', '.join(files)}" + (f" (first {args.limit} theorems)" if args.limit else ""))
    print(f"{'run':<12} {'theorems':>8} {'tried':>7} {'hits':>6} {'hits/try':>9} {'verified':>9} {'CPU s':>8} {'wall s':>8} {'CPU s/verified':>15}")
    for label, (s, cpu, wall) in runs.items():
        tried = sum(c["tried"] for c in s["per_mode"].values())
        hits = sum(c["hits"] for c in s["per_mode"].values())
        per = cpu / s["verified"] if s["verified"] else float("inf")
        print(f"{label:<12} {s['theorems_mutated']:>8} {tried:>7} {hits:>6} {hits / max(tried, 1):>9.3f} {s['verified']:>9} {cpu:>8.1f} {wall:>8.1f} {per:>15.3f}")
    s_nesy, cpu_nesy, _ = runs["nesy"]
    s_np, cpu_np, _ = runs["no pruning"]
    if s_nesy["verified"] and s_np["verified"]:
        print(f"pruning: {(cpu_np / s_np['verified']) / (cpu_nesy / s_nesy['verified']):.1f}x less CPU per verified variant")
    if costs:
        med = statistics.median(costs)
        print(f"one fresh kernel check per variant ({len(costs)} variants, {failed} failed): median {med:.2f} CPU-s; "
              f"the batch: {batch_per_variant:.3f} s per variant ({med / max(batch_per_variant, 1e-9):.0f}x less)")
    if s_nesy["verified"]:
        print(f"nesy: {cpu_nesy / s_nesy['verified']:.3f} CPU-s per verified variant (target <= 2; Alchemy ~1,750)")


if __name__ == "__main__":
    main()
