"""What every proof-job command shares on top of the engine: ``--fresh``, the progress bar
(resumed rows counted in), and the summary (:func:`provers.evaluation.job.run_proof_job`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def run_with_progress(problems, config, out: Path, pool, *, fresh: bool = False, desc: str = "") -> dict:
    """Run one proof job into ``out`` with a progress bar; return its summary (also in ``out/summary.json``)."""
    from tqdm import tqdm

    from nesyrun.pool import ResultLog
    from provers.evaluation.job import run_proof_job
    from provers.evaluation.rows import Status

    if fresh:
        for stale in (out / "results.jsonl", out / "summary.json"):
            stale.unlink(missing_ok=True)
        shutil.rmtree(out / "proofs", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"proved": 0, "failed": 0, "other": 0}
    bar = tqdm(total=len(problems), unit="thm", file=sys.stderr, dynamic_ncols=True, desc=desc[:30] or None)

    def on_row(row: dict) -> None:
        key = "proved" if row["status"] == Status.PROVED.value else "failed" if row["status"] == Status.FAILED.value else "other"
        counts[key] += 1
        bar.update(1)
        bar.set_postfix(proved=counts["proved"], failed=counts["failed"], other=counts["other"], remaining=bar.total - bar.n)

    already = len(ResultLog(out / "results.jsonl").names & {p.name for p in problems})
    if already:
        bar.update(already)
        bar.set_postfix_str(f"resumed: {already} already done")
    try:
        _, summary = run_proof_job(problems, config, out, pool, on_row=on_row)
    finally:
        bar.close()
    return summary
