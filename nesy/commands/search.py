"""``nesy eval minif2f`` and ``nesy eval library`` (the proof-job engine with any generator, on a
benchmark split or on a traced library's theorems in their files' context) and ``nesy train
tactics``. Cheap to import: argparse only; the run functions import the heavy parts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provers.coq.portfolio import COQ_TACTIC_IMPORTS


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
    lib.add_argument("--no-tactic-imports", action="store_true", help=f"do not add '{COQ_TACTIC_IMPORTS}' after a file's prefix")
    _search_arguments(lib, default_out="runs/library")

    t = commands.add(
        "train tactics",
        help="train a tactic model: on a traced library's training split (--data), or on Coq traces of synthetic lemmas",
        run=_run_train_tactics,
        description=(
            "With --data TRACED: train a causal LM (a GPT-2 from a config with a BPE tokenizer trained on the data, or "
            "--init PATH to fine-tune a checkpoint) on every (state, tactic) of the split's training part, each state "
            "preceded by the top --premises premises accessible at its theorem (ReProver's input; --no-retrieval: the "
            "state alone), optionally mixed with synthesized pairs (--pairs FILE --pairs-ratio R). Training theorems "
            "that are val/test theorems (by name or statement) stop it before training. Resumes from its last "
            "checkpoint; reports top-1/top-k tactic accuracy on the validation part. Without --data: generate true Coq "
            "lemmas from templates, trace intros/split/closing steps, and train a tiny GPT-2 on them. Either way the "
            "model is saved with save_pretrained and loads with --generator hf:DIR (hf:DIR,premises=TRACED with retrieval)."
        ),
    )
    t.add_argument("--data", type=Path, default=None, help="a traced dataset (nesy trace --out): train on its --split's training part")
    t.add_argument("--out", type=Path, default=None, help="model directory (default: ~/.cache/nesy/models/tactic-traced with --data, else tactic-gpt-tiny)")
    t.add_argument("--split", default="random", choices=("random", "novel_premises"), help="--data: the split whose train part is trained on and whose val part is reported")
    t.add_argument("--no-retrieval", action="store_true", help="--data: train on the state alone (the ablation; the model then reads no premises)")
    t.add_argument("--retriever", default="bm25", type=_retriever_spec, help="--data: how premises are retrieved: bm25, dense (pretrained MiniLM) or dense:PATH (a nesy train retriever checkpoint); use the same with hf:DIR,premises= when proving")
    t.add_argument("--premises", type=int, default=8, metavar="N", help="--data: premises retrieved per state (those that fit the input are kept)")
    t.add_argument("--premise-drop", type=float, default=0.5, metavar="P", help="--data: leave each premise out with probability P while training (ReProver's p_drop)")
    t.add_argument("--pairs", type=Path, default=None, help="(state, tactic) JSONL (nesy synth alchemy's pairs.jsonl): with --data, synthesized pairs mixed in; without, trained on instead of tracing lemmas")
    t.add_argument("--pairs-ratio", type=float, default=None, metavar="R", help="--data --pairs: R synthesized pairs per traced pair (default: all of the file)")
    t.add_argument("--drop-overlap", action="store_true", help="--data: leave out training theorems whose statement is a val/test theorem's (instead of stopping)")
    t.add_argument("--init", type=Path, default=None, help="--data: fine-tune this causal LM directory (save_pretrained, with its tokenizer) instead of a GPT-2 from a config")
    t.add_argument("--minutes", type=float, default=None, help="--data: stop after this much training (rerun the same command to continue)")
    t.add_argument("--k", type=int, default=8, help="--data: tactics per validation state for the top-k accuracy (beam search)")
    t.add_argument("--val-limit", type=int, default=300, help="--data: validation pairs in the accuracy report (a seeded sample; 0: no report)")
    t.add_argument("--checkpoint-every", type=int, default=200, help="--data: steps between checkpoints")
    t.add_argument("--threads", type=int, default=1, help="--data: torch threads")
    t.add_argument("--lemmas", type=int, default=None, help="synthetic lemmas to trace (default 200; not with --data)")
    t.add_argument("--builtin", action="store_true", help="also trace nesy's built-in problem set (not with --data)")
    t.add_argument("--steps", type=int, default=None, help="training steps (default 300; with --data 1200)")
    t.add_argument("--layers", type=int, default=None, help="GPT-2 layers (default 2; with --data 3)")
    t.add_argument("--heads", type=int, default=4)
    t.add_argument("--dim", type=int, default=None, help="GPT-2 width (default 64; with --data 192)")
    t.add_argument("--vocab", type=int, default=None, help="BPE vocabulary (default 800; with --data 4000)")
    t.add_argument("--positions", type=int, default=512, help="GPT-2 context length in tokens")
    t.add_argument("--lr", type=float, default=None, help="learning rate (default 2e-3; with --data 1e-3)")
    t.add_argument("--workers", type=int, default=2, help="Coq processes tracing in parallel")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch", type=int, default=None, help="batch size (default 8; with --data 16)")
    t.add_argument("--max-input-chars", type=int, default=None, help="goal text kept per example (and at generation time; default 400, with --data 2000)")
    t.add_argument("--max-new-tokens", type=int, default=64, help="--data: tokens left for the tactic after the input (and at proving time)")


def _retriever_spec(value: str) -> str:
    """argparse type of ``--retriever``: bm25, dense or dense:PATH."""
    from retrieval.errors import UnknownNameError
    from retrieval.registry import parse_retriever_spec

    try:
        parse_retriever_spec(value)
    except UnknownNameError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return value


def _search_arguments(e, default_out: str) -> None:
    """The options of every evaluation job (search, generator, workers, output, warm starts, check)."""
    e.add_argument("--generator", action="append", default=None, help="generator spec (repeat to compare several in one run): portfolio | hf:PATH_OR_NAME[,premises=TRACED_DIR[,n=N]] (with premises=: ReProver's input, N retrieved premises then the state) | openai:URL[#MODEL] | premises:TRACED_DIR | knn:TRACED_DIR | A*0.5+B*0.5")
    e.add_argument("--search", default="best-first", choices=("best-first", "sample", "portfolio"), help="portfolio: the backend's automation tactics in turn (nesy prove's search)")
    e.add_argument("--attempts", type=int, default=1, help="independent attempts per theorem (samples for --search sample; searches for best-first)")
    e.add_argument("--decoding", default=None, choices=("beam", "sample"), help="model decoding (default: beam for best-first with one attempt, else sample)")
    e.add_argument("--temperature", type=float, default=1.0)
    e.add_argument("--k", type=int, default=8, help="tactics asked of the generator per expansion / per draw")
    e.add_argument("--time", type=float, default=60.0, help="seconds per attempt (model + prover)")
    e.add_argument("--expansions", type=int, default=100, help="node expansions per best-first search")
    e.add_argument("--max-depth", type=int, default=30)
    e.add_argument("--widen", type=int, default=3, metavar="N", help="best-first: when every open node is expanded before the budget runs out, double k and expand them again, up to N times (only new tactics run; 0: stop at the first exhaustion)")
    e.add_argument("--tactic-timeout", type=float, default=5.0, help="seconds per tactic")
    e.add_argument("--max-new-tokens", type=int, default=64)
    e.add_argument("--api", choices=("auto", "completions", "chat"), default="auto", help="openai: generators: which API to use (auto: legacy completions if the server has them, else chat)")
    e.add_argument("--request-timeout", type=float, default=60.0, help="openai: generators: time limit of one HTTP request, seconds")
    e.add_argument("--concurrency", type=int, default=4, help="openai: generators: requests in flight at once, per worker")
    e.add_argument("--retriever", default="bm25", type=_retriever_spec, help="premises:, knn: and hf:...,premises= generators: how premises / training goal states are searched: bm25, dense (pretrained MiniLM) or dense:PATH (a nesy train retriever checkpoint)")
    e.add_argument("--workers", type=int, default=1, help="parallel prover workers (Ray actors when > 1)")
    e.add_argument("--address", default=None, help="Ray cluster to join (default: start a local one when --workers > 1)")
    e.add_argument("--ray", action="store_true", help="use Ray even for one worker")
    e.add_argument("--retries", type=int, default=2, help="times a theorem is retried after its actor dies")
    e.add_argument("--limit", type=int, default=None, help="only the first N theorems (miniF2F: sorted by name; library: in the dataset's order)")
    e.add_argument("--names", default=None, help="only these theorems (comma-separated)")
    e.add_argument("--sample", type=int, default=None, metavar="N", help="a fixed random sample of N theorems (drawn with --seed, kept in the dataset's order; before --limit)")
    e.add_argument("--out", type=Path, default=Path(default_out), help="output directory (one subdirectory per generator)")
    e.add_argument("--fresh", action="store_true", help="discard earlier results instead of resuming")
    e.add_argument("--no-check", action="store_true", help="skip the kernel check (proofs then are not counted as verified)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--no-warm", action="store_true", help="Coq: a fresh process per theorem instead of reusing warm ones with the header loaded")
    e.add_argument("--warm-budget", type=float, default=2048.0, metavar="MIB", help="Coq: resident memory of each worker's idle warm processes (default 2048)")
    e.add_argument("--closers", action="store_true", help="best-first: also try the automation portfolio (with --hammer: CoqHammer too) on every expanded node, besides the generator's k tactics")
    e.add_argument("--hammer", action="store_true", help="Coq: import CoqHammer and add sauto/hauto and hammer (external ATPs, up to 30 s a call; as a closer, tried on the initial state only) to the portfolio")
    e.add_argument("--check-timeout", type=float, default=120.0, help="seconds per prover run of the kernel check")


_TRACED_ONLY = ("no_retrieval", "drop_overlap", "init", "minutes", "pairs_ratio")


def _pick(value, default):
    """An option left unset (None) takes the trainer's own default (they differ with --data)."""
    return default if value is None else value


def _run_train_tactics(args: argparse.Namespace) -> int:
    from nesy.errors import UsageError

    if args.data is not None:
        return _run_train_traced(args)
    given = [name for name in _TRACED_ONLY if getattr(args, name) not in (None, False)]
    if given:
        raise UsageError(f"--{given[0].replace('_', '-')} needs --data TRACED")
    return _run_train_synthetic(args)


def _run_train_traced(args: argparse.Namespace) -> int:
    """``nesy train tactics --data TRACED``: provers.generators.traced_training with a progress bar."""
    from tqdm import tqdm

    from nesy.errors import UsageError
    from provers.generators.traced_training import (
        TracedTrainConfig,
        default_traced_model_dir,
        train_traced,
    )

    if args.lemmas is not None or args.builtin:
        raise UsageError("--lemmas and --builtin trace synthetic lemmas; with --data the pairs come from the traced dataset")
    defaults = TracedTrainConfig(data=args.data, out=Path("."))
    config = TracedTrainConfig(
        data=args.data, out=args.out or default_traced_model_dir(), split=args.split, retrieval=not args.no_retrieval,
        retriever=args.retriever, num_premises=args.premises, premise_drop=args.premise_drop, pairs=args.pairs,
        pairs_ratio=args.pairs_ratio, drop_overlap=args.drop_overlap, init=args.init,
        vocab_size=_pick(args.vocab, defaults.vocab_size), n_layer=_pick(args.layers, defaults.n_layer), n_head=args.heads,
        n_embd=_pick(args.dim, defaults.n_embd), n_positions=args.positions, max_new_tokens=args.max_new_tokens,
        max_input_chars=_pick(args.max_input_chars, defaults.max_input_chars), steps=_pick(args.steps, defaults.steps),
        minutes=args.minutes, batch_size=_pick(args.batch, defaults.batch_size), lr=_pick(args.lr, defaults.lr), seed=args.seed,
        checkpoint_every=args.checkpoint_every, top_k=args.k, val_limit=args.val_limit, threads=args.threads,
    )
    bars: dict[str, tqdm] = {}

    def on_retrieval(done: int, total: int) -> None:
        bar = bars.get("retrieval")
        if bar is None:
            bar = bars["retrieval"] = tqdm(total=total, desc="retrieval", unit="state", file=sys.stderr)
        bar.update(done - bar.n)

    def on_step(step: int, total: int, loss: float) -> None:
        bar = bars.get("training")
        if bar is None:
            bar = bars["training"] = tqdm(total=total, initial=step - 1, desc="training", unit="step", file=sys.stderr)
        bar.update(1)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss:.3f}")

    def progress(message: str) -> None:
        print(f"nesy train tactics: {message}", file=sys.stderr)

    try:
        report = train_traced(config, progress=progress, on_step=on_step, on_retrieval=on_retrieval)
    finally:
        for bar in bars.values():
            bar.close()
    c = report.counts
    synthesized = f"{c['synthesized_pairs']} synthesized" + (f" of {c['synthesized_pairs_in_file']} in {config.pairs}" if config.pairs else "")
    dropped = f", {c['overlap_dropped_theorems']} val/test twins dropped" if c["overlap_dropped_theorems"] else ""
    print(f"trained on {c['pairs']} pairs ({c['traced_pairs']} traced from {c['train_theorems']} theorems of {config.split}/train, "
          f"{synthesized}{dropped}): {report.parameters:,} parameters, step {report.steps}/{report.total_steps}, "
          f"loss {report.final_loss:.3f}, {report.train_seconds:.0f}s training -> {report.out}")
    if not report.finished:
        print(f"stopped before the last step: rerun the same command to continue from step {report.steps}")
        return 0
    acc = report.accuracy
    if acc.get("pairs"):
        k = acc["k"]
        print(f"validation ({config.split}/val, {acc['pairs']} pairs): top-1 {acc['top1']:.3f}, top-{k} {acc[f'top{k}']:.3f}")
    spec = f"hf:{report.out}" + (f",premises={Path(config.data).expanduser()}" if config.retrieval else "")
    print(f"use it with: nesy eval library --data {config.data} --split {config.split} --generator {spec}"
          f"{' --retriever ' + config.retriever if config.retrieval and config.retriever != 'bm25' else ''}")
    return 0


def _run_train_synthetic(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from nesy.errors import UsageError
    from provers.generators.training import TrainConfig, collect_pairs, default_model_dir, read_pairs, synthetic_lemmas, train_tactic_model, write_pairs

    d = TrainConfig()
    args.lemmas = _pick(args.lemmas, 200)
    args.steps = _pick(args.steps, d.steps)
    if args.lemmas < 1 or args.steps < 1:
        raise UsageError("--lemmas and --steps must be at least 1")
    out = args.out or default_model_dir()
    if args.pairs:
        pairs = read_pairs(args.pairs)
        theorems = []
    else:
        theorems = synthetic_lemmas(args.lemmas, seed=args.seed)
        if args.builtin:
            from provers.coq.files import load_problem_set
            from provers.evaluation.data import builtin_problems

            theorems += [p.theorem for p in load_problem_set(builtin_problems()) if p.theorem is not None]
        bar = tqdm(total=len(theorems), desc="tracing", unit="lemma", file=sys.stderr)
        pairs = collect_pairs(theorems, workers=args.workers, on_progress=lambda n: bar.update(1))
        bar.close()
        write_pairs(pairs, Path(out).expanduser() / "pairs.jsonl")
    config = TrainConfig(steps=args.steps, n_layer=_pick(args.layers, d.n_layer), n_head=args.heads, n_embd=_pick(args.dim, d.n_embd),
                         vocab_size=_pick(args.vocab, d.vocab_size), n_positions=args.positions, lr=_pick(args.lr, d.lr), seed=args.seed,
                         batch_size=_pick(args.batch, d.batch_size), max_input_chars=_pick(args.max_input_chars, d.max_input_chars))
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


def _label_dir(spec: str) -> str:
    """A directory name for a generator spec: readable and stable (hashlib, never hash())."""
    import hashlib
    import re

    if spec.startswith("hf:"):  # the model's directory name (and whether it reads retrieved premises)
        model, _, options = spec.partition(",")
        spec_text = model.split("/")[-1] + ("+premises" if "premises=" in options else "")
    else:
        spec_text = spec
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", spec_text)[:40].strip("_")
    return f"{readable or 'gen'}-{hashlib.sha1(spec.encode()).hexdigest()[:8]}"


def _check_search_args(args: argparse.Namespace) -> None:
    from nesy.errors import UsageError
    from provers.search.result import MAX_WIDEN

    if args.workers < 1 or args.attempts < 1 or args.k < 1 or args.expansions < 1:
        raise UsageError("--workers, --attempts, --k and --expansions must be at least 1")
    if not 0 <= args.widen <= MAX_WIDEN:
        raise UsageError(f"--widen must be between 0 and {MAX_WIDEN} (doublings of --k), not {args.widen}")
    if not (args.time > 0 and args.tactic_timeout > 0 and args.request_timeout > 0 and args.check_timeout > 0):
        raise UsageError("--time, --tactic-timeout, --request-timeout and --check-timeout must be positive")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.warm_budget < 0:
        raise UsageError("--warm-budget must be at least 0 MiB")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    if args.sample is not None and args.sample < 1:
        raise UsageError("--sample must be at least 1")


def _select(problems: list, args: argparse.Namespace, where: str) -> list:
    from nesy.errors import UsageError

    if args.names:
        wanted = [n.strip() for n in args.names.split(",") if n.strip()]
        unknown = sorted(set(wanted) - {p.name for p in problems})
        if unknown:
            raise UsageError(f"--names: not in {where}: {', '.join(unknown[:10])}")
        problems = [p for p in problems if p.name in set(wanted)]
    if args.sample is not None and args.sample < len(problems):
        import random

        keep = set(random.Random(args.seed).sample(range(len(problems)), args.sample))
        problems = [p for i, p in enumerate(problems) if i in keep]
    if args.limit is not None:
        problems = problems[: args.limit]
    return problems


def _run_eval_minif2f(args: argparse.Namespace) -> int:
    from provers.evaluation.data import default_data_dir, load_minif2f
    from provers.registry import canonical_name

    _check_search_args(args)
    backend = canonical_name(args.backend)
    data = args.data or default_data_dir(backend)
    problems = load_minif2f(data, args.split, backend=backend, lean_repo=args.lean_repo, lean_commit=args.lean_commit)
    problems = _select(problems, args, f"the {args.split} split")
    return _run_job(args, problems, backend, f"miniF2F {args.split}", f"{args.split}, {data}", "nesy eval minif2f")


def _run_eval_library(args: argparse.Namespace) -> int:
    """``nesy eval library``: the theorems of a traced library's split, each in its file's context."""
    from provers.evaluation.data import load_library

    _check_search_args(args)
    problems = load_library(args.data, args.split, args.part, tactic_imports=not args.no_tactic_imports, hammer=args.hammer)
    problems = _select(problems, args, f"{args.split}/{args.part}")
    return _run_job(args, problems, "coq", f"library {args.data.name} {args.split}/{args.part}",
                    f"{args.split}/{args.part}, {args.data}", "nesy eval library")


def _run_job(args: argparse.Namespace, problems: list, backend: str, title: str, where: str, command: str) -> int:
    """Run every generator spec of ``args`` on ``problems``: one job engine for every problem source."""
    from dataclasses import replace

    from nesy.jobs import run_with_progress
    from nesyrun.pool import PoolConfig
    from provers.evaluation.job import ProofJobConfig, with_generator
    from provers.evaluation.metrics import plot_coverage
    from provers.evaluation.rows import summary_markdown
    from provers.generators.base import GeneratorConfig
    from provers.generators.registry import check_endpoints
    from provers.search.result import SearchBudget

    specs = args.generator or ["portfolio"]
    decoding = args.decoding or ("beam" if args.search == "best-first" and args.attempts == 1 else "sample")
    budget = SearchBudget(time_s=args.time, max_expansions=args.expansions, num_candidates=args.k, max_depth=args.max_depth, tactic_timeout_s=args.tactic_timeout,
                          widen=args.widen)
    gen_config = GeneratorConfig(spec=specs[0], decoding=decoding, temperature=args.temperature, max_new_tokens=args.max_new_tokens, seed=args.seed, backend=backend,
                                 request_timeout_s=args.request_timeout, api=args.api, max_concurrency=args.concurrency,
                                 retriever=args.retriever, retrieval_split=args.split if args.split in ("random", "novel_premises") else "random")  # knn: remembers that split's train part
    base = ProofJobConfig(backend=backend, search=args.search, attempts=args.attempts, budget=budget, generator=gen_config, check=not args.no_check,
                          check_timeout_s=args.check_timeout, hammer=args.hammer, closers=args.closers, warm=not args.no_warm, warm_budget_mib=args.warm_budget)
    pool = PoolConfig(workers=args.workers, address=args.address, use_ray=args.ray, max_retries=args.retries)
    for spec in specs:
        check_endpoints(replace(gen_config, spec=spec))  # a missing server or model: one error, now
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    summaries: dict[str, dict] = {}
    curves: dict[str, list[float]] = {}
    for spec in specs:
        config = with_generator(base, spec)
        sub = out / _label_dir(spec)
        print(f"{command}: {len(problems)} theorems ({where}) | generator {spec} | {args.search} x{args.attempts} "
              f"| k={budget.num_candidates}, {budget.time_s:g}s/attempt, {budget.max_expansions} expansions, {budget.tactic_timeout_s:g}s/tactic{f', widen x{budget.widen}' if budget.widen else ''} "
              f"| {pool.workers} worker(s){' on Ray' if pool.ray else ''} -> {sub}/", file=sys.stderr)
        summary = run_with_progress(problems, config, sub, pool, fresh=args.fresh, desc=spec)
        summaries[spec] = summary
        curves[spec] = [summary["pass_at_k"][str(k)] for k in range(1, args.attempts + 1)] if summary["pass_at_k"] else []
    text = summary_markdown(summaries, f"{title} ({backend}, {args.search}, {len(problems)} theorems)")
    (out / "summary.md").write_text(text, encoding="utf-8")
    fits = plot_coverage({k: v for k, v in curves.items() if v}, str(out / "coverage.png"), f"{title}: coverage vs samples")
    print(text)
    for label, fit in fits.items():
        if fit is None and args.attempts > 1:
            print(f"(no power-law fit for {label}: needs at least 2 values of k with 0 < coverage < 1)")
    print(f"results: {out}/*/results.jsonl  summary: {out / 'summary.md'}  plot: {out / 'coverage.png'}")
    return 0
