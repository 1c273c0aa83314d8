"""``nesy prove``: try an automation portfolio on every theorem of a problem set.

For each theorem: start an environment, run each portfolio tactic on the initial state (each
bounded by the per-tactic timeout, the whole theorem by its budget), and at the first
``ProofFinished`` kernel-check the proof with a fresh prover (:mod:`provers.verify`). Results
stream to ``results.jsonl`` (one row per theorem, appended as each finishes; a rerun skips
theorems already there) and each proof is written to ``proofs/<name>.v``, a complete file that
``nesy check`` accepts. Theorems run in parallel threads. With Coq, the threads share one warm
pool (:mod:`provers.coq.pool`): a theorem whose header an idle process has loaded starts there in
milliseconds instead of reloading it, and theorems are taken grouped by header so that this
happens often (``warm=False``: a fresh process per theorem, in name order).
"""

from __future__ import annotations

import enum
import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from provers.coq.check import proof_file_text
from provers.coq.files import ProblemFile
from provers.errors import EnvError, EnvInitError, InputError
from provers.portfolio import COQ_TACTIC_IMPORTS, HAMMER_IMPORT, default_portfolio
from provers.protocol import EnvConfig, ProofFinished, ProofGivenUp, TacticError, TacticState, Theorem
from provers.registry import canonical_name, get_backend
from provers.verify import verify_proof


class Status(str, enum.Enum):
    PROVED = "proved"  # found and accepted by the fresh kernel check
    FAILED = "failed"  # no portfolio tactic closed the goal within the budget
    NOT_ELABORATED = "not_elaborated"  # the statement itself does not elaborate on this prover
    CHECK_FAILED = "check_failed"  # the session said finished but the kernel check refused it
    UNCHECKED = "unchecked"  # the session said finished, the kernel check was turned off: not counted
    ERROR = "error"  # unreadable input or a prover crash that did not recover


@dataclass(frozen=True)
class ProveConfig:
    backend: str = "coq"
    tactics: tuple[str, ...] = ()  # empty: the backend's default portfolio
    tactic_timeout_s: float = 10.0
    theorem_budget_s: float = 60.0
    workers: int = 1
    hammer: bool = False  # Coq: add CoqHammer's sauto/hauto (imports Hammer.Tactics)
    tactic_imports: bool = True  # Coq: add COQ_TACTIC_IMPORTS after each problem's header
    check: bool = True
    check_timeout_s: float = 120.0
    extra_args: tuple[str, ...] = ()
    warm: bool = True  # Coq: reuse processes that have the header loaded (provers.coq.pool)
    warm_budget_mib: float = 2048.0  # resident memory of the idle warm processes together

    def portfolio(self) -> tuple[str, ...]:
        return self.tactics or default_portfolio(canonical_name(self.backend), hammer=self.hammer)


@dataclass(frozen=True)
class Attempt:
    tactic: str
    outcome: str  # proved | failed | timeout | refused | gave_up | open | crash
    seconds: float
    message: str = ""


@dataclass(frozen=True)
class ProveRecord:
    name: str
    file: str
    status: Status
    proof: list[str] | None = None
    seconds: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)
    message: str = ""
    check: str = ""
    start: str = ""  # how the prover process was obtained: cold | fresh | warm | prefix (Coq)
    start_s: float | None = None  # seconds to enter the theorem (process, header, statement)

    def to_json(self) -> dict:
        d = asdict(self)
        d["status"] = self.status.value
        d["tactics_tried"] = len(self.attempts)
        return d


def prepare_theorem(theorem: Theorem, config: ProveConfig) -> Theorem:
    """The theorem with the imports its portfolio needs added after its own header (Coq)."""
    if canonical_name(config.backend) != "coq":
        return theorem
    extra = [COQ_TACTIC_IMPORTS] if config.tactic_imports else []
    if config.hammer:
        extra.append(HAMMER_IMPORT)
    extra = [s for s in extra if s not in theorem.header and s not in theorem.prelude]
    if not extra:
        return theorem
    return Theorem(**{**asdict(theorem), "prelude": "\n".join([theorem.prelude, *extra]).strip()})


def new_warm_pool(config: ProveConfig):
    """The warm pool for a job with ``config`` (None when warm starts are off or not Coq)."""
    if not config.warm or canonical_name(config.backend) != "coq":
        return None
    from provers.coq.pool import WarmPool

    return WarmPool(config.warm_budget_mib)


def warm_order(items: list, theorem_of=lambda p: p.theorem) -> list:
    """``items`` grouped by header (sorted by header text, stable): with warm starts a worker then
    meets the same header, or one sharing its first sentences, in a row. Results do not depend on
    the order; unreadable items (no theorem) come first."""
    return sorted(items, key=lambda p: (theorem_of(p).header if theorem_of(p) is not None else ""))


def prove_theorem(problem: ProblemFile, config: ProveConfig, pool=None) -> ProveRecord:
    """Run the portfolio on one problem. Never raises for a problem's own trouble.

    ``pool``: a :class:`provers.coq.pool.WarmPool` to start the Coq environment on (or None).
    """
    start = time.monotonic()
    if problem.theorem is None:
        return ProveRecord(problem.name, str(problem.path), Status.ERROR, message=problem.error or "unreadable")
    theorem = prepare_theorem(problem.theorem, config)
    env_config = EnvConfig(tactic_timeout_s=config.tactic_timeout_s, extra_args=config.extra_args)
    attempts: list[Attempt] = []
    backend = get_backend(config.backend)
    env_obj = backend(theorem, env_config, pool=pool) if pool is not None else backend(theorem, env_config)
    started: dict = {}
    try:
        with env_obj as (env, init):
            started = {"start": getattr(env, "warm_start", "cold"), "start_s": round(time.monotonic() - start, 4)}
            for tactic in config.portfolio():
                if time.monotonic() - start > config.theorem_budget_s:
                    break
                t0 = time.monotonic()
                try:
                    result = env.run_tac(init, tactic)
                except EnvError as exc:
                    attempts.append(Attempt(tactic, "crash", time.monotonic() - t0, str(exc)[:300]))
                    continue
                dt = time.monotonic() - t0
                match result:
                    case ProofFinished():
                        proof = env.proof_of(result)
                        attempts.append(Attempt(tactic, "proved", dt))
                        return _finish(problem, theorem, proof, attempts, start, config, started)
                    case TacticError(message=m, kind=k):
                        attempts.append(Attempt(tactic, k.value, dt, m[:300]))
                    case ProofGivenUp():
                        attempts.append(Attempt(tactic, "gave_up", dt))
                    case TacticState():
                        attempts.append(Attempt(tactic, "open", dt, f"{result.num_goals} goal(s) left"))
    except EnvInitError as exc:
        return ProveRecord(theorem.name, str(problem.path), Status.NOT_ELABORATED, None, time.monotonic() - start, attempts, str(exc)[:1000], **started)
    except (EnvError, InputError) as exc:
        return ProveRecord(theorem.name, str(problem.path), Status.ERROR, None, time.monotonic() - start, attempts, str(exc)[:1000], **started)
    return ProveRecord(theorem.name, str(problem.path), Status.FAILED, None, time.monotonic() - start, attempts, **started)


def _finish(problem: ProblemFile, theorem: Theorem, proof: list[str], attempts: list[Attempt], start: float, config: ProveConfig, started: dict) -> ProveRecord:
    if not config.check:
        return ProveRecord(theorem.name, str(problem.path), Status.UNCHECKED, proof, time.monotonic() - start, attempts, check="not checked (--no-check)", **started)
    verdict = verify_proof(config.backend, theorem, proof, timeout_s=config.check_timeout_s)
    status = Status.PROVED if verdict.ok else Status.CHECK_FAILED
    return ProveRecord(theorem.name, str(problem.path), status, proof, time.monotonic() - start, attempts, check=verdict.message, **started)


# ---------------------------------------------------------------------- the job


def done_names(results_path: Path) -> set[str]:
    """Names already in a results file (for resuming); tolerates a torn last line."""
    names: set[str] = set()
    if not results_path.exists():
        return names
    for line in results_path.read_text(encoding="utf-8").splitlines():
        try:
            names.add(json.loads(line)["name"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return names


def read_results(results_path: Path) -> list[dict]:
    rows = []
    for line in results_path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def run_job(
    problems: Iterable[ProblemFile],
    config: ProveConfig,
    out_dir: Path,
    *,
    on_record: Callable[[ProveRecord], None] | None = None,
) -> list[dict]:
    """Prove every problem not already in ``out_dir/results.jsonl``; return all rows of the file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / "results.jsonl"
    proofs = out_dir / "proofs"
    proofs.mkdir(exist_ok=True)
    _repair_tail(results)
    done = done_names(results)
    todo = [p for p in problems if p.name not in done]
    lock = threading.Lock()

    def record(rec: ProveRecord, theorem: Theorem | None) -> None:
        with lock:
            if rec.status is Status.PROVED and rec.proof is not None and theorem is not None:
                proof_path = proofs / f"{rec.name}.v"
                proof_path.write_text(proof_file_text(prepare_theorem(theorem, config), _sentences(config, rec.proof)), encoding="utf-8")
            with results.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec.to_json(), ensure_ascii=False) + "\n")
                fh.flush()
            if on_record:
                on_record(rec)

    warm = new_warm_pool(config)
    if warm is not None:
        todo = warm_order(todo)
    try:
        if config.workers <= 1:
            for p in todo:
                record(prove_theorem(p, config, warm), p.theorem)
        else:
            with ThreadPoolExecutor(max_workers=config.workers) as pool:
                futures = {pool.submit(prove_theorem, p, config, warm): p for p in todo}
                for fut in as_completed(futures):
                    p = futures[fut]
                    try:
                        rec = fut.result()
                    except Exception as exc:  # noqa: BLE001 - one theorem's bug must not stop the job
                        rec = ProveRecord(p.name, str(p.path), Status.ERROR, message=f"internal error: {exc!r}")
                    record(rec, p.theorem)
    finally:
        if warm is not None:
            warm.close()
    return read_results(results)


def _sentences(config: ProveConfig, proof: list[str]) -> list[str]:
    if canonical_name(config.backend) != "coq":
        return proof
    from provers.coq.sentences import check_tactic

    return [s for t in proof for s in check_tactic(t).sentences]


def _repair_tail(path: Path) -> None:
    """Drop a torn last line left by a killed run, so appends start on a fresh line."""
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n")
        path.write_bytes(data[: cut + 1] if cut >= 0 else b"")


def summarize(rows: list[dict]) -> dict:
    counts: dict[str, int] = {s.value: 0 for s in Status}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    total = len(rows)
    attempted = total - counts[Status.NOT_ELABORATED.value] - counts[Status.ERROR.value]
    proved = counts[Status.PROVED.value]
    by_tactic: dict[str, int] = {}
    for r in rows:
        if r["status"] == Status.PROVED.value and r.get("proof"):
            key = " ".join(r["proof"])
            by_tactic[key] = by_tactic.get(key, 0) + 1
    proved_times = sorted(r["seconds"] for r in rows if r["status"] == Status.PROVED.value)
    starts: dict[str, int] = {}
    for r in rows:
        if r.get("start"):
            starts[r["start"]] = starts.get(r["start"], 0) + 1
    start_times = sorted(r["start_s"] for r in rows if r.get("start_s") is not None)
    return {
        "total": total,
        "counts": counts,
        "attempted": attempted,
        "proved": proved,
        "pass_rate": proved / attempted if attempted else 0.0,
        "pass_rate_all": proved / total if total else 0.0,
        "by_tactic": dict(sorted(by_tactic.items(), key=lambda kv: -kv[1])),
        "median_seconds_proved": proved_times[len(proved_times) // 2] if proved_times else None,
        "starts": starts,  # how each theorem's prover process was obtained (cold | fresh | warm | prefix)
        "start_s_median": start_times[len(start_times) // 2] if start_times else None,
        "start_s_total": sum(start_times),
    }


def summary_markdown(summary: dict, title: str = "nesy prove") -> str:
    c = summary["counts"]
    lines = [
        f"# {title}",
        "",
        "| theorems | elaborated | proved | failed | check failed | not elaborated | errors | pass rate (of elaborated) | pass rate (of all) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary['total']} | {summary['attempted']} | {summary['proved']} | {c['failed']} | {c['check_failed']} | {c['not_elaborated']} | {c['error']} | {100 * summary['pass_rate']:.1f}% | {100 * summary['pass_rate_all']:.1f}% |",
        "",
    ]
    if c.get("unchecked"):
        lines += [f"{c['unchecked']} proofs were found but not kernel-checked (--no-check): they are not counted as proved.", ""]
    if summary.get("starts"):
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(summary["starts"].items()))
        lines += [f"Entering a theorem (process, header, statement): {kinds}; median {1e3 * summary['start_s_median']:.1f} ms, "
                  f"{summary['start_s_total']:.1f} s in all.", ""]
    if summary["by_tactic"]:
        lines += ["| proof | theorems |", "|---|---:|"]
        lines += [f"| `{k}` | {v} |" for k, v in summary["by_tactic"].items()]
        lines.append("")
    return "\n".join(lines)
