"""Theorems per hour with 1 and 2 Ray workers on the same slice of miniF2F-rocq valid, in one run.

Both runs use the same local Ray instance, the same generator (the automation portfolio),
the same budgets and the same theorems; each starts from an empty results file. Throughput is
measured from the first dispatch to the last row (actor start-up is printed apart). The machine's
load average is printed before and after: other jobs on the same cores skew the ratio.

    .venv/bin/python benchmarks/search_scaling.py --limit 16
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "minif2f-rocq")
    ap.add_argument("--split", default="valid")
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--limit", type=int, default=16, help="theorems in the slice")
    ap.add_argument("--generator", default="portfolio:intros; lia;;intros; lra;;intros; ring;;intros; field;;intros; nia")
    ap.add_argument("--tactic-timeout", type=float, default=3.0)
    ap.add_argument("--time", type=float, default=30.0)
    args = ap.parse_args()

    import ray

    from nesyrun.pool import PoolConfig, ResultLog, Task, run_pool
    from provers.evaluation.data import load_minif2f
    from provers.evaluation.job import ProofJobConfig, ProofWorker
    from provers.generators.base import GeneratorConfig
    from provers.search.result import SearchBudget

    problems = load_minif2f(args.data, args.split)[args.offset : args.offset + args.limit]
    config = ProofJobConfig(
        budget=SearchBudget(time_s=args.time, num_candidates=8, tactic_timeout_s=args.tactic_timeout),
        generator=GeneratorConfig(spec=args.generator),
        check=True,
    )
    print(f"slice: {len(problems)} theorems of {args.data.name}/{args.split} from #{args.offset}; generator {args.generator}; "
          f"{args.tactic_timeout:g}s/tactic, {args.time:g}s/theorem; cpus={os.cpu_count()}")
    print(f"load average before: {os.getloadavg()}")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    results = {}
    try:
        for workers in (1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                log = ResultLog(Path(tmp) / "r.jsonl")
                stats = run_pool([Task(p.name, p) for p in problems], partial(ProofWorker, config), PoolConfig(workers=workers, use_ray=True), log)
                rows = log.rows()
            proved = sum(r["status"] == "proved" for r in rows)
            timeouts = sum((r.get("stop_reasons") or [""])[0] == "time" for r in rows)
            tph = len(rows) / stats.run_s * 3600
            results[workers] = tph
            print(f"{workers} worker(s): {len(rows)} theorems in {stats.run_s:.1f}s (+{stats.start_s:.1f}s actor start) "
                  f"-> {tph:.0f} theorems/hour; proved {proved}, hit the time budget {timeouts}; load now {os.getloadavg()[0]:.2f}")
    finally:
        ray.shutdown()
    print(f"load average after: {os.getloadavg()}")
    print(f"ratio 2 workers / 1 worker: {results[2] / results[1]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
