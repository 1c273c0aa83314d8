"""The one row record of every proof job, its statuses, and the one summary of a results file.

``nesy prove``, ``nesy eval minif2f`` (and every job on :func:`provers.evaluation.job.run_proof_job`)
write one :class:`ProofRow` per theorem to ``results.jsonl``; everything that reads results reads
these fields.

Statuses: ``proved`` (a proof passed the fresh kernel check), ``failed`` (none within the
budget), ``not_elaborated`` (the statement does not elaborate on this prover: reported, not counted
as a prover failure), ``check_failed`` (proofs were found but the kernel check refused them all),
``unchecked`` (found with the check turned off: never counted as proved), ``error`` (unreadable
input, generator failure, prover crash that did not recover).
"""

from __future__ import annotations

import enum
import statistics
from dataclasses import asdict, dataclass, fields

from provers.evaluation.metrics import coverage_curve, fit_power_law


class Status(str, enum.Enum):
    PROVED = "proved"
    FAILED = "failed"
    NOT_ELABORATED = "not_elaborated"
    CHECK_FAILED = "check_failed"
    UNCHECKED = "unchecked"
    ERROR = "error"


@dataclass(frozen=True)
class ProofRow:
    """One theorem's outcome. Times in seconds; ``start`` says how the prover process was obtained
    (``cold``, or a warm pool's ``fresh`` | ``warm`` | ``prefix``), ``start_s`` how long entering
    the theorem took. ``tried`` lists each closer tried (the ``portfolio`` search)."""

    name: str
    file: str
    status: Status
    generator: str = ""
    search: str = ""
    proof: tuple[str, ...] | None = None
    check: str = ""  # the kernel check's verdict on ``proof``
    message: str = ""
    wall_s: float = 0.0
    start: str = ""
    start_s: float | None = None
    worker_pid: int | None = None
    attempts: int = 1  # independent searches / samples asked for
    samples: int = 0
    correct: int = 0
    successes: tuple[bool, ...] = ()
    nodes_total: int = 0
    nodes_expanded: int = 0
    nodes_to_proof: int | None = None
    widenings: int = 0  # best-first: times k was doubled after the frontier emptied (summed over attempts)
    tactics_run: int = 0
    model_s: float = 0.0
    env_s: float = 0.0
    check_s: float = 0.0
    stop_reasons: tuple[str, ...] = ()
    tried: tuple[dict, ...] = ()

    def to_json(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        for key in ("proof", "successes", "stop_reasons", "tried"):
            if d[key] is not None:
                d[key] = list(d[key])
        return d

    @classmethod
    def from_json(cls, row: dict) -> ProofRow:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in known}
        values["status"] = Status(values["status"])
        for key in ("proof", "successes", "stop_reasons", "tried"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


def error_row(name: str, file: str, message: str, *, generator: str = "", search: str = "") -> dict:
    return ProofRow(name, file, Status.ERROR, generator=generator, search=search, message=message[:1000]).to_json()


def summarize(rows: list[dict], attempts: int = 1) -> dict:
    """Counts, pass rate, pass@k (unbiased, k = 1..attempts) with its power-law fit, time and
    nodes per proved theorem, how theorems were entered, and which proofs were found how often."""
    counts = {s.value: 0 for s in Status}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    elaborated = [r for r in rows if r["status"] not in (Status.NOT_ELABORATED.value, Status.ERROR.value)]
    proved = [r for r in rows if r["status"] == Status.PROVED.value]
    # A theorem whose sampling stopped early (time budget) counts its missing samples as failures.
    pairs = [(attempts, min(attempts, int(r.get("correct", 0)))) for r in elaborated]
    curve = coverage_curve(pairs, attempts) if elaborated else []
    fit = fit_power_law(list(range(1, attempts + 1)), curve) if curve else None

    def stat(values: list[float]) -> dict | None:
        return {"mean": statistics.fmean(values), "median": statistics.median(values)} if values else None

    by_proof: dict[str, int] = {}
    for r in proved:
        if r.get("proof"):
            key = " ".join(r["proof"])
            by_proof[key] = by_proof.get(key, 0) + 1
    starts: dict[str, int] = {}
    for r in rows:
        if r.get("start"):
            starts[r["start"]] = starts.get(r["start"], 0) + 1
    start_times = [r["start_s"] for r in rows if r.get("start_s") is not None]
    return {
        "total": len(rows),
        "counts": counts,
        "elaborated": len(elaborated),
        "proved": len(proved),
        "pass_rate": len(proved) / len(elaborated) if elaborated else 0.0,
        "pass_rate_all": len(proved) / len(rows) if rows else 0.0,
        "pass_at_k": {str(k): v for k, v in enumerate(curve, start=1)},
        "power_law_fit": asdict(fit) if fit else None,
        "seconds_per_proved": stat([r["wall_s"] for r in proved]),
        "nodes_per_proved": stat([r["nodes_to_proof"] for r in proved if r.get("nodes_to_proof") is not None]),
        "model_s_total": sum(r.get("model_s", 0.0) for r in rows),
        "env_s_total": sum(r.get("env_s", 0.0) for r in rows),
        "check_s_total": sum(r.get("check_s", 0.0) for r in rows),
        "wall_s_total": sum(r.get("wall_s", 0.0) for r in rows),
        "by_proof": dict(sorted(by_proof.items(), key=lambda kv: -kv[1])),
        "starts": starts,
        "start_s_median": statistics.median(start_times) if start_times else None,
        "start_s_total": sum(start_times),
    }


def summary_markdown(results: dict[str, dict], title: str) -> str:
    """One table comparing the summaries of several runs (``label -> summary``); for a single run,
    also how theorems were entered and the proofs found."""
    lines = [
        f"# {title}",
        "",
        "| generator | theorems | elaborated | proved | failed | check failed | not elaborated | errors | pass rate | pass@1 | s/proved (mean) | nodes/proved (mean) | model s | prover s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, s in results.items():
        c = s["counts"]
        spp = f"{s['seconds_per_proved']['mean']:.1f}" if s["seconds_per_proved"] else "-"
        npp = f"{s['nodes_per_proved']['mean']:.1f}" if s["nodes_per_proved"] else "-"
        p1 = s["pass_at_k"].get("1")
        lines.append(
            f"| `{label}` | {s['total']} | {s['elaborated']} | {s['proved']} | {c['failed']} | {c['check_failed']} | {c['not_elaborated']} | {c['error']} "
            f"| {100 * s['pass_rate']:.1f}% | {100 * p1:.1f}% | {spp} | {npp} | {s['model_s_total']:.0f} | {s['env_s_total']:.0f} |"
            if p1 is not None
            else f"| `{label}` | {s['total']} | 0 | 0 | - | - | {c['not_elaborated']} | {c['error']} | - | - | - | - | - | - |"
        )
    for label, s in results.items():
        if s["counts"].get("unchecked"):
            lines += ["", f"`{label}`: {s['counts']['unchecked']} proofs were found but not kernel-checked (--no-check): they are not counted as proved."]
        if len(s["pass_at_k"]) > 1:
            ks = list(s["pass_at_k"])
            lines += ["", f"pass@k for `{label}`: " + ", ".join(f"k={k}: {100 * s['pass_at_k'][k]:.1f}%" for k in ks)]
            if s["power_law_fit"]:
                f = s["power_law_fit"]
                lines.append(f"fit: coverage ≈ exp({f['a']:.4f} · k^{f['b']:.4f}) ({f['points']} points)")
    if len(results) == 1:
        (s,) = results.values()
        if s.get("starts"):
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(s["starts"].items()))
            lines += ["", f"Entering a theorem (process, header, statement): {kinds}; median {1e3 * s['start_s_median']:.1f} ms, "
                          f"{s['start_s_total']:.1f} s in all. Kernel checks: {s['check_s_total']:.1f} s in all."]
        if s.get("by_proof"):
            lines += ["", "| proof | theorems |", "|---|---:|"]
            lines += [f"| `{k}` | {v} |" for k, v in s["by_proof"].items()]
    lines.append("")
    return "\n".join(lines)
