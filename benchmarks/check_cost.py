"""Cost of the fail-closed kernel check per proof, beside the check it replaced, in one run.

The proofs are found first by nesy's portfolio on the built-in problem set (kernel check off);
then each proof is checked, interleaved so that machine noise hits every variant alike, by:

- ``before``: the check nesy had before the soundness work — one ``coqc`` run on header,
  statement and proof, one ``coqc`` run of ``Print Assumptions`` on the theorem (re-implemented
  here as it was, for the comparison only);
- ``fail-closed``: today's check without the coqchk re-check (the statement restated and
  compared as terms, ``coqc -time`` sentence boundaries, the fail-closed assumption report);
- ``fail-closed + coqchk``: today's default.

Prints the median and p90 seconds per proof and the ratios to ``before``.

Usage: python benchmarks/check_cost.py [--limit N] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from provers.coq.check import CheckConfig, check_proof
from provers.coq.files import load_problem_set
from provers.coq.sentences import check_tactic
from nesyrun.pool import Task
from provers.evaluation.job import ProofWorker, prove_preset
from provers.evaluation.rows import Status

BUILTIN = Path(__file__).resolve().parent.parent / "provers" / "data" / "problems"


def before_check(theorem, sentences: list[str]) -> bool:
    """The pre-fix check: compile header + statement + proof, then Print Assumptions on the theorem."""
    header = "\n".join(x for x in (theorem.header, theorem.prelude) if x)
    text = f"{header}\n\n{theorem.statement}\nProof.\n" + "\n".join(sentences) + "\nQed.\n"
    with tempfile.TemporaryDirectory(prefix="nesy-bench-") as tmp:
        d = Path(tmp)
        (d / "P.v").write_text(text)
        ok = subprocess.run(["coqc", "-q", "-R", ".", "NesyCheck", "P.v"], cwd=d, capture_output=True).returncode == 0
        if not ok:
            return False
        (d / "C.v").write_text(f"Require NesyCheck.P.\nPrint Assumptions NesyCheck.P.{theorem.name}.\n")
        return subprocess.run(["coqc", "-q", "-R", ".", "NesyCheck", "C.v"], cwd=d, capture_output=True).returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=12, help="proofs to time (first found on the built-in set)")
    ap.add_argument("--rounds", type=int, default=2, help="checks of each proof by each variant")
    args = ap.parse_args()
    if not shutil.which("coqchk"):
        raise SystemExit("coqchk not found: install Coq")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    config = prove_preset(tactic_timeout_s=5, theorem_budget_s=30, check=False, warm=False)
    worker = ProofWorker(config)
    proofs = []
    for problem in load_problem_set(BUILTIN):
        row = worker.run(Task(problem.name, problem))
        if row["status"] == Status.UNCHECKED.value and row["proof"]:
            theorem = config.prepare(problem.theorem)
            proofs.append((theorem, [s for t in row["proof"] for s in check_tactic(t).sentences]))
        if len(proofs) >= args.limit:
            break
    worker.close()
    print(f"{len(proofs)} proofs found by the portfolio on the built-in set")
    variants = {
        "before": lambda t, s: before_check(t, s),
        "fail-closed": lambda t, s: check_proof(t, s, config=CheckConfig(recheck=False)).ok,
        "fail-closed + coqchk": lambda t, s: check_proof(t, s, config=CheckConfig(recheck=True)).ok,
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    verdicts: dict[str, int] = {k: 0 for k in variants}
    order = list(variants)
    for r in range(args.rounds):
        for i, (theorem, sentences) in enumerate(proofs):
            k = (r + i) % len(order)
            for name in order[k:] + order[:k]:
                t0 = time.perf_counter()
                ok = variants[name](theorem, sentences)
                times[name].append(time.perf_counter() - t0)
                verdicts[name] += ok
    base = statistics.median(times["before"])
    print("\n| check | accepted | median s/proof | p90 s/proof | median / before |\n|---|---:|---:|---:|---:|")
    for name, ts in times.items():
        ts = sorted(ts)
        p90 = ts[min(len(ts) - 1, int(0.9 * len(ts)))]
        print(f"| {name} | {verdicts[name]}/{len(ts)} | {statistics.median(ts):.2f} | {p90:.2f} | {statistics.median(ts) / base:.2f} |")


if __name__ == "__main__":
    main()
