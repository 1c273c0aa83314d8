"""CLI for proof search: ``nesy eval minif2f``, ``nesy eval library`` and ``nesy train tactics``.

Registered from :func:`provers.cli.register`. Cheap to import: argparse only; the run functions
import the heavy parts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(commands) -> None:
    e = commands.add(
        "eval minif2f",
        help="evaluate a prover (search + generator) on miniF2F (Coq or Lean)",
        run=_run_eval_minif2f,
        description=(
            "Run best-first search or whole-proof sampling with a tactic generator on every theorem of a "
            "miniF2F split, on one process or a pool of Ray actors. Every proof counted passes a fresh kernel "
            "check. Writes results.jsonl (one row per theorem, resumable), summary.json/summary.md and "
            "coverage.png (pass@k against samples, with the exponentiated power-law fit)."
        ),
    )
    e.add_argument("--backend", default="coq", help="proof backend: coq or lean")
    e.add_argument("--split", default="valid", choices=("valid", "test"))
    e.add_argument("--data", type=Path, default=None, help="miniF2F checkout: minif2f-rocq (valid/*.v) or minif2f-lean4 (MiniF2F/Valid/*.lean); default: ../shared/data/minif2f-{rocq,lean4} beside the checkout")
    _search_arguments(e, default_out="runs/minif2f")
    e.add_argument("--lean-repo", default=None, help="Lean: URL of the traced miniF2F repository (LeanDojo)")
    e.add_argument("--lean-commit", default=None, help="Lean: commit of --lean-repo")

    lib = commands.add(
        "eval library",
        help="evaluate a prover on the theorems of a traced Coq library, each in its file's context",
        run=_run_eval_library,
        description=(
            "Prove the theorems of a split of a dataset written by nesy trace, each started at its place in its "
            "source file (everything before it in force, it and what follows invisible), with the same job engine, "
            "rows, resume, summary and plot as nesy eval minif2f. Every proof counted passes the kernel check in the "
            "file's context (the file's prefix, the statement and the proof compiled under a private name, then "
            "Print Assumptions with the allow-list and coqchk). Theorems that cannot start there (Program "
            "obligations, a changed file, ...) are error rows with the reason."
        ),
    )
    lib.add_argument("--data", type=Path, required=True, help="a traced dataset directory (nesy trace --out)")
    lib.add_argument("--split", default="random", choices=("random", "novel_premises"))
    lib.add_argument("--part", default="test", choices=("train", "val", "test"))
    lib.add_argument("--no-tactic-imports", action="store_true", help="do not add 'From Coq Require Import Lia Lra Psatz.' after a file's prefix")
    _search_arguments(lib, default_out="runs/library")

    t = commands.add(
        "train tactics",
        help="train a small tactic model on Coq traces of synthetic lemmas (for tests and baselines)",
        run=_run_train_tactics,
        description=(
            "Generate true Coq lemmas from templates, trace intros/split/closing steps with Coq, and train a "
            "tiny GPT-2 (byte-level BPE tokenizer trained here too) on (state -> tactic) pairs. The model is "
            "saved with save_pretrained and loads with --generator hf:DIR."
        ),
    )
    t.add_argument("--out", type=Path, default=None, help="model directory (default: ~/.cache/nesy/models/tactic-gpt-tiny)")
    t.add_argument("--lemmas", type=int, default=200, help="synthetic lemmas to trace")
    t.add_argument("--builtin", action="store_true", help="also trace nesy's built-in problem set")
    t.add_argument("--steps", type=int, default=300)
    t.add_argument("--layers", type=int, default=2)
    t.add_argument("--dim", type=int, default=64)
    t.add_argument("--workers", type=int, default=2, help="Coq processes tracing in parallel")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--max-input-chars", type=int, default=400, help="goal text kept per example (and at generation time)")
    t.add_argument("--pairs", type=Path, default=None, help="reuse (state, tactic) pairs from this JSONL (as written to DIR/pairs.jsonl) instead of tracing")


def _search_arguments(e, default_out: str) -> None:
    """The options of every evaluation job (search, generator, workers, output, warm starts)."""
    e.add_argument("--generator", action="append", default=None, help="generator spec (repeat to compare several in one run): portfolio | hf:PATH_OR_NAME | openai:URL[#MODEL] | A*0.5+B*0.5")
    e.add_argument("--search", default="best-first", choices=("best-first", "sample"))
    e.add_argument("--attempts", type=int, default=1, help="independent attempts per theorem (samples for --search sample; searches for best-first)")
    e.add_argument("--decoding", default=None, choices=("beam", "sample"), help="model decoding (default: beam for best-first with one attempt, else sample)")
    e.add_argument("--temperature", type=float, default=1.0)
    e.add_argument("--k", type=int, default=8, help="tactics asked of the generator per expansion / per draw")
    e.add_argument("--time", type=float, default=60.0, help="seconds per attempt (model + prover)")
    e.add_argument("--expansions", type=int, default=100, help="node expansions per best-first search")
    e.add_argument("--max-depth", type=int, default=30)
    e.add_argument("--tactic-timeout", type=float, default=5.0, help="seconds per tactic")
    e.add_argument("--max-new-tokens", type=int, default=64)
    e.add_argument("--api", choices=("auto", "completions", "chat"), default="auto", help="openai: generators: which API to use (auto: legacy completions if the server has them, else chat)")
    e.add_argument("--request-timeout", type=float, default=60.0, help="openai: generators: time limit of one HTTP request, seconds")
    e.add_argument("--concurrency", type=int, default=4, help="openai: generators: requests in flight at once, per worker")
    e.add_argument("--workers", type=int, default=1, help="parallel prover workers (Ray actors when > 1)")
    e.add_argument("--address", default=None, help="Ray cluster to join (default: start a local one when --workers > 1)")
    e.add_argument("--ray", action="store_true", help="use Ray even for one worker")
    e.add_argument("--retries", type=int, default=2, help="times a theorem is retried after its actor dies")
    e.add_argument("--limit", type=int, default=None, help="only the first N theorems (miniF2F: sorted by name; library: in the dataset's order)")
    e.add_argument("--names", default=None, help="only these theorems (comma-separated)")
    e.add_argument("--out", type=Path, default=Path(default_out), help="output directory (one subdirectory per generator)")
    e.add_argument("--fresh", action="store_true", help="discard earlier results instead of resuming")
    e.add_argument("--no-check", action="store_true", help="skip the kernel check (proofs then are not counted as verified)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--no-warm", action="store_true", help="Coq: a fresh process per theorem instead of reusing warm ones with the header loaded")
    e.add_argument("--warm-budget", type=float, default=2048.0, metavar="MIB", help="Coq: resident memory of each worker's idle warm processes (default 2048)")


def _run_train_tactics(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nesy.errors import UsageError
    from provers.generators.training import TrainConfig, collect_pairs, default_model_dir, read_pairs, synthetic_lemmas, train_tactic_model, write_pairs

    if args.lemmas < 1 or args.steps < 1:
        raise UsageError("--lemmas and --steps must be at least 1")
    out = args.out or default_model_dir()
    if args.pairs:
        pairs = read_pairs(args.pairs)
        theorems = []
    else:
        theorems = synthetic_lemmas(args.lemmas, seed=args.seed)
        if args.builtin:
            from provers.cli import builtin_problems
            from provers.coq.files import load_problem_set

            theorems += [p.theorem for p in load_problem_set(builtin_problems()) if p.theorem is not None]
        bar = tqdm(total=len(theorems), desc="tracing", unit="lemma", file=sys.stderr)
        pairs = collect_pairs(theorems, workers=args.workers, on_progress=lambda n: bar.update(1))
        bar.close()
        write_pairs(pairs, Path(out).expanduser() / "pairs.jsonl")
    config = TrainConfig(steps=args.steps, n_layer=args.layers, n_embd=args.dim, seed=args.seed, batch_size=args.batch, max_input_chars=args.max_input_chars)
    bar = tqdm(total=config.steps, desc="training", unit="step", file=sys.stderr)

    def on_step(step: int, loss: float) -> None:
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{loss:.3f}")

    report = train_tactic_model(pairs, out, config, on_step=on_step)
    bar.close()
    print(f"trained on {report.pairs} pairs{f' from {len(theorems)} theorems' if theorems else ''}: {report.parameters:,} parameters, "
          f"{report.steps} steps, final loss {report.final_loss:.3f}, {report.seconds:.0f}s -> {report.out_dir}")
    print(f"use it with: nesy eval minif2f --generator hf:{report.out_dir}")
    return 0


def _run_eval_minif2f(args: argparse.Namespace) -> int:
    from provers.evaluation.command import run_eval_minif2f

    return run_eval_minif2f(args)


def _run_eval_library(args: argparse.Namespace) -> int:
    from provers.evaluation.command import run_eval_library

    return run_eval_library(args)
