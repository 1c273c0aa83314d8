"""``nesy prove`` and ``nesy check``.

``nesy prove`` is a preset of the one proof-job engine (:func:`provers.evaluation.job.run_proof_job`):
the backend's automation portfolio tried in turn on each theorem, the first kernel-checked proof
wins; threads in this process share one warm pool (``--address``/``--ray``: Ray actors instead).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provers.coq.portfolio import COQ_TACTIC_IMPORTS


def builtin_problems() -> Path:
    from provers.evaluation.data import builtin_problems as path

    return path()


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
    p.add_argument("--workers", type=int, default=2, help="theorems proved in parallel (threads of this process sharing one warm pool)")
    p.add_argument("--address", default=None, help="run the workers as actors of this Ray cluster instead (needs nesy[dist])")
    p.add_argument("--ray", action="store_true", help="run the workers as Ray actors on this machine (needs nesy[dist])")
    p.add_argument("--tactics", default=None, help="portfolio as tactics separated by ';;' (default: built-in portfolio)")
    p.add_argument("--hammer", action="store_true", help="also try CoqHammer: sauto/hauto, then hammer (premise selection, the E prover, reconstruction; the proof records the reconstruction tactic). Needs libcoq-hammer and eprover")
    p.add_argument("--no-tactic-imports", action="store_true", help=f"do not add '{COQ_TACTIC_IMPORTS}' after each header")
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


def _run_prove(args: argparse.Namespace) -> int:
    from nesy.errors import UsageError
    from nesy.jobs import run_with_progress
    from nesyrun.pool import PoolConfig
    from provers.evaluation.job import prove_preset
    from provers.evaluation.rows import summary_markdown
    from provers.registry import load_backend

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.tactic_timeout <= 0 or args.budget <= 0:
        raise UsageError("--tactic-timeout and --budget must be positive")
    if args.warm_budget < 0:
        raise UsageError("--warm-budget must be at least 0 MiB")
    if not args.check_timeout > 0:
        raise UsageError("--check-timeout must be positive")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    backend = load_backend(args.backend)
    tactics = tuple(t.strip() for t in args.tactics.split(";;") if t.strip()) if args.tactics else ()
    config = prove_preset(
        backend=backend.name, tactics=tactics, tactic_timeout_s=args.tactic_timeout, theorem_budget_s=args.budget,
        hammer=args.hammer, tactic_imports=not args.no_tactic_imports, check=not args.no_check,
        check_timeout_s=args.check_timeout, warm=not args.no_warm, warm_budget_mib=args.warm_budget,
    )
    path = args.path or builtin_problems()
    problems = backend.load_problems(path)
    if args.limit is not None:
        problems = problems[: args.limit]
    out: Path = args.out
    executor = "auto" if (args.address or args.ray) else "threads"
    pool = PoolConfig(workers=args.workers, address=args.address, use_ray=args.ray, executor=executor)
    print(f"nesy prove: {len(problems)} theorems from {path} -> {out}/ ({len(config.portfolio_tactics())} tactics, "
          f"{args.tactic_timeout:g}s/tactic, {args.budget:g}s/theorem, {args.workers} workers, "
          f"{'warm starts' if config.warm else 'cold starts'})", file=sys.stderr)
    summary = run_with_progress(problems, config, out, pool, fresh=args.fresh, desc="prove")
    text = summary_markdown({config.label: summary}, f"nesy prove on {path}")
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
