"""``nesy prove`` and ``nesy check`` (and, as they land, the other proof-side commands)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def builtin_problems() -> Path:
    return Path(__file__).resolve().parent / "data" / "problems"


def register(commands) -> None:
    p = commands.add(
        "prove",
        help="try an automation portfolio on every theorem of a problem set",
        run=_run_prove,
        description=(
            "Try an automation portfolio (lia, nia, lra, nra, field, ring, psatz, intuition, ...) on every "
            "theorem of a problem set: a directory of .v files with one theorem each (miniF2F-rocq layout), "
            "or one file. Each proof found is kernel-checked by a fresh coqc run before it counts. "
            "Without PATH, runs nesy's built-in problem set."
        ),
    )
    p.add_argument("path", nargs="?", type=Path, default=None, help="problem set directory or .v file (default: built-in set)")
    p.add_argument("--out", type=Path, default=Path("runs/prove"), help="output directory (results.jsonl, summary.md, proofs/)")
    p.add_argument("--backend", default="coq", help="proof backend (coq; lean needs nesy[lean] and a toolchain)")
    p.add_argument("--tactic-timeout", type=float, default=10.0, help="seconds per tactic")
    p.add_argument("--budget", type=float, default=60.0, help="seconds per theorem")
    p.add_argument("--workers", type=int, default=2, help="theorems proved in parallel")
    p.add_argument("--tactics", default=None, help="portfolio as tactics separated by ';;' (default: built-in portfolio)")
    p.add_argument("--hammer", action="store_true", help="also try CoqHammer's sauto/hauto (needs libcoq-hammer)")
    p.add_argument("--no-tactic-imports", action="store_true", help="do not add 'From Coq Require Import Lia Lra Psatz.' after each header")
    p.add_argument("--limit", type=int, default=None, help="only the first N theorems (sorted by file name)")
    p.add_argument("--fresh", action="store_true", help="discard earlier results in --out instead of resuming")
    p.add_argument("--no-check", action="store_true", help="skip the fresh kernel check (proofs found are then reported as 'unchecked', never as proved)")
    p.add_argument("--check-timeout", type=float, default=120.0, help="seconds per Coq run of the kernel check")
    p.add_argument("--no-warm", action="store_true", help="Coq: a fresh process per theorem instead of reusing warm ones with the header loaded")
    p.add_argument("--warm-budget", type=float, default=2048.0, metavar="MIB", help="Coq: resident memory of the idle warm processes together (default 2048)")

    c = commands.add(
        "check",
        help="kernel-check a Coq proof file (fresh coqc + coqchk, fail-closed assumption report)",
        run=_run_check,
        description=(
            "Kernel-check Coq proof files. With --problem, each proof file must be its problem file with only the "
            "proof changed, and Coq confirms (as terms) that the proved constant has the problem's statement as its "
            "type. Without --problem, a whole file is checked for soundness only: every constant it defines rests on "
            "allowed axioms, but which statement it proves is not compared with anything."
        ),
    )
    c.add_argument("files", nargs="+", type=Path, help=".v files to check")
    c.add_argument("--problem", type=Path, default=None,
                   help="the problem file (one proof file) or a directory of problem files named like the proof files")
    c.add_argument("--allow-axiom", action="append", default=[], help="also allow this axiom (as Print Assumptions prints it)")
    c.add_argument("--timeout", type=float, default=300.0, help="seconds per Coq run")
    c.add_argument("--memory-mb", type=int, default=8192, help="memory limit per Coq run")
    c.add_argument("--no-recheck", action="store_true", help="skip the independent coqchk re-check")
    __import__("provers.cli_search").cli_search.register(commands)  # nesy eval minif2f, nesy train tactics
    __import__("provers.cli_trace").cli_trace.register(commands)  # nesy trace


def _run_prove(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nesy.errors import UsageError
    from provers.coq.files import load_problem_set
    from provers.prove import ProveConfig, Status, done_names, run_job, summarize, summary_markdown
    from provers.registry import canonical_name

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.tactic_timeout <= 0 or args.budget <= 0:
        raise UsageError("--tactic-timeout and --budget must be positive")
    if args.warm_budget < 0:
        raise UsageError("--warm-budget must be at least 0 MiB")
    backend = canonical_name(args.backend)
    tactics = tuple(t.strip() for t in args.tactics.split(";;") if t.strip()) if args.tactics else ()
    config = ProveConfig(
        backend=backend,
        tactics=tactics,
        tactic_timeout_s=args.tactic_timeout,
        theorem_budget_s=args.budget,
        workers=args.workers,
        hammer=args.hammer,
        tactic_imports=not args.no_tactic_imports,
        check=not args.no_check,
        check_timeout_s=args.check_timeout,
        warm=not args.no_warm,
        warm_budget_mib=args.warm_budget,
    )
    path = args.path or builtin_problems()
    problems = load_problem_set(path)
    if args.limit is not None:
        problems = problems[: args.limit]
    out: Path = args.out
    if args.fresh and (out / "results.jsonl").exists():
        (out / "results.jsonl").unlink()
        for f in (out / "proofs").glob("*.v"):
            f.unlink()
    print(f"nesy prove: {len(problems)} theorems from {path} -> {out}/ ({len(config.portfolio())} tactics, "
          f"{config.tactic_timeout_s:g}s/tactic, {config.theorem_budget_s:g}s/theorem, {config.workers} workers, "
          f"{'warm starts' if config.warm else 'cold starts'})", file=sys.stderr)
    counts = {"proved": 0, "failed": 0, "other": 0}
    bar = tqdm(total=len(problems), unit="thm", file=sys.stderr, dynamic_ncols=True)

    def on_record(rec) -> None:
        key = "proved" if rec.status is Status.PROVED else "failed" if rec.status is Status.FAILED else "other"
        counts[key] += 1
        bar.update(1)
        bar.set_postfix(proved=counts["proved"], failed=counts["failed"], other=counts["other"])

    already = len(done_names(out / "results.jsonl") & {p.name for p in problems})
    if already:
        bar.update(already)
        bar.set_postfix_str(f"resumed: {already} already done")
    rows = run_job(problems, config, out, on_record=on_record)
    bar.close()
    names = {p.name for p in problems}
    rows = [r for r in rows if r["name"] in names]
    summary = summarize(rows)
    text = summary_markdown(summary, f"nesy prove on {path}")
    (out / "summary.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"results: {out / 'results.jsonl'}  proofs: {out / 'proofs'}/  summary: {out / 'summary.md'}")
    return 0


def _run_check(args: argparse.Namespace) -> int:
    from nesy.errors import UsageError
    from provers.coq.check import REALS_AXIOMS, CheckConfig, check_file

    if args.timeout <= 0 or args.memory_mb <= 0:
        raise UsageError("--timeout and --memory-mb must be positive")
    config = CheckConfig(timeout_s=args.timeout, memory_mb=args.memory_mb, allowed_axioms=REALS_AXIOMS | frozenset(args.allow_axiom),
                         recheck=not args.no_recheck)
    problem: Path | None = args.problem
    if problem is not None:
        if not problem.exists():
            raise UsageError(f"--problem {problem}: no such file or directory")
        if problem.is_file() and len(args.files) != 1:
            raise UsageError("--problem FILE takes exactly one proof file; give a directory of problems for several")
    else:
        print("nesy check: no --problem given: checking soundness only, not which statement is proved", file=sys.stderr)
    bad = 0
    for f in args.files:
        prob = None if problem is None else problem if problem.is_file() else problem / f.name
        if prob is not None and not prob.is_file():
            print(f"FAIL {f}: no problem file {prob}")
            bad += 1
            continue
        result = check_file(f, problem=prob, config=config)
        mark = "OK  " if result.ok else "FAIL"
        print(f"{mark} {f}: {result.message}")
        bad += not result.ok
    return 1 if bad else 0
