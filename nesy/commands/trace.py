"""``nesy trace``: trace a Coq library into a dataset in the LeanDojo Benchmark layout.

Cheap to import (argparse only); the tracer is imported inside the run function.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUT = "~/.cache/nesy/traced/coq-stdlib"


def register(commands) -> None:
    p = commands.add(
        "trace",
        help="trace a Coq library (default: the Debian standard library) into a retrieval dataset",
        run=_run_trace,
        description=(
            "Replay every proof of a Coq library through coqidetop and write a dataset in LeanDojo "
            "Benchmark's layout: corpus.jsonl (premises per file with full name, statement, position, "
            "imports) and random/ and novel_premises/ train/val/test.json (theorems with tactics, goal "
            "states before and after, premises used). Without PATH, traces Coq's standard library "
            "installed by Debian (/usr/lib/ocaml/coq/theories, logical name Coq). Files run in "
            "parallel on Ray; a file that fails is recorded in errors.jsonl and the run goes on; "
            "rerunning with the same --out resumes."
        ),
    )
    p.add_argument("path", nargs="?", type=Path, default=None,
                   help="directory of .v files (default: the Coq standard library)")
    p.add_argument("-R", dest="logical", metavar="NAME", default=None,
                   help="logical name of PATH, as coqc -R PATH NAME (default: the -R/-Q lines of PATH/_CoqProject, "
                        "else the directory's name)")
    p.add_argument("--out", type=Path, default=None, help=f"output directory (default for the stdlib: {DEFAULT_OUT})")
    p.add_argument("--workers", type=int, default=2, help="files traced in parallel (1: no Ray)")
    p.add_argument("--address", default=None, help="Ray cluster address to join (default: start a local one)")
    p.add_argument("--sentence-timeout", type=float, default=300.0, help="seconds per sentence before its file fails")
    p.add_argument("--retry-failed", action="store_true", help="trace again the files that failed in an earlier run")
    p.add_argument("--limit", type=int, default=None, help="only the first N files (sorted by path)")
    p.add_argument("--only", action="append", default=[], metavar="REL_PATH",
                   help="only this file (relative to PATH; repeatable)")
    p.add_argument("--with-deps", action="store_true",
                   help="with --only: also every file of the library those files require (coqdep)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random and novel_premises splits")
    p.add_argument("--val-fraction", type=float, default=0.05)
    p.add_argument("--test-fraction", type=float, default=0.05)
    p.add_argument("--warm", action="store_true",
                   help="replay files on a warm pool that keeps each traced file's states (a file traced again by "
                        "the pool starts at its first changed sentence; the files of one run never share a process, "
                        "so one run gains nothing; Ray workers, --workers > 1, never use the pool)")
    p.add_argument("--warm-budget", type=float, default=2048.0, metavar="MIB",
                   help="resident memory of the idle warm processes together")
    p.add_argument("--url", default="", help="source repository URL recorded with each theorem")
    p.add_argument("--commit", default="", help="source commit recorded with each theorem")


def _run_trace(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nesy.errors import UsageError
    from provers.tracing.config import Library, TraceConfig, stdlib
    from provers.tracing.driver import run_trace

    if args.path is None:
        if args.logical:
            raise UsageError("-R needs a PATH (the standard library's logical name is fixed: Coq)")
        library = stdlib()
        out = Path(args.out or DEFAULT_OUT).expanduser()
    else:
        root = args.path.expanduser()
        if not root.exists():
            raise UsageError(f"{root}: no such directory")
        if root.resolve() == stdlib().root.resolve():
            library = stdlib()
        else:
            library = Library.from_directory(root, args.logical)
        if args.out is None:
            raise UsageError("--out is required when PATH is given (the dataset directory to write)")
        out = args.out.expanduser()
    if args.warm_budget < 0:
        raise UsageError("--warm-budget must be at least 0 MiB")
    try:
        config = TraceConfig(
            library=library, out=out, workers=args.workers, address=args.address,
            sentence_timeout_s=args.sentence_timeout, retry_failed=args.retry_failed, limit=args.limit,
            only=tuple(args.only), with_deps=args.with_deps, seed=args.seed, val_fraction=args.val_fraction,
            test_fraction=args.test_fraction, url=args.url, commit=args.commit,
            warm=args.warm, warm_budget_mib=args.warm_budget,
        )
        from retrieval.splits import SplitConfig

        SplitConfig(seed=args.seed, val_fraction=args.val_fraction, test_fraction=args.test_fraction)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc

    bar = None
    counts = {"failed": 0, "tactics": 0}
    compiled = {"n": 0}

    def on_compile(rel: str, error: str | None) -> None:
        compiled["n"] += 1
        if error:
            print(f"nesy trace: compile: {rel}: {error[:300]}", file=sys.stderr)

    def on_start(total: int, done: int) -> None:
        nonlocal bar
        print(f"nesy trace: {total} files of {library.root} -> {out}/ ({done} from an earlier run, "
              f"{config.workers} worker(s))", file=sys.stderr)
        bar = tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)

    def on_file(o) -> None:
        counts["failed"] += o.error is not None
        counts["tactics"] += o.tactics
        if bar is not None:
            bar.update(1)
            bar.set_postfix(tactics=counts["tactics"], failed=counts["failed"], refresh=False)
        if o.error and not o.cached:
            tqdm.write(f"nesy trace: failed: {o.error[:300]}", file=sys.stderr)

    try:
        result = run_trace(config, on_start=on_start, on_file=on_file, on_compile=on_compile)
    finally:
        if bar is not None:
            bar.close()
    print((out / "summary.md").read_text(encoding="utf-8"))
    print(f"dataset: {out}  errors: {out / 'errors.jsonl'}  per-file traces: {out / 'traces'}/")
    return 0 if result.files > len(result.failed) else 1
