"""``nesy eval proofwriter|folio|prontoqa``: translator + prover pipelines on logic benchmarks.

Cheap to import (argparse only); the library is imported inside the run function.
"""

from __future__ import annotations

import argparse

DATASETS = {
    "proofwriter": "ProofWriter (OWA depth-5 as in Logic-LM, or the original JSONL)",
    "folio": "FOLIO (original JSONL with gold FOL, or Logic-LM's JSON)",
    "prontoqa": "ProntoQA (Logic-LM's JSON)",
}


def register(commands) -> None:
    _register_train(commands)
    for name, what in DATASETS.items():
        p = commands.add(
            f"eval {name}",
            help=f"translate {what} to first-order logic and prove it (LINC-style)",
            run=_run_eval,
        )
        p.set_defaults(dataset=name)
        p.add_argument("--data", required=True, help="data file or a directory to search (e.g. ../shared/data/" + name + ")")
        p.add_argument("--split", default=None, help="split to look for when --data is a directory (default: test/validation/dev)")
        p.add_argument("--translator", default="rule", help="rule (controlled English), hf:PATH (hf:default = SmolLM2-135M-Instruct) or openai:URL[#MODEL] (docs/models.md)")
        p.add_argument("--mode", choices=("nl", "gold"), default="nl", help="gold: use FOLIO's own FOL instead of a translator")
        p.add_argument("--prover", default="prover9", help="prover9, z3 or eprover")
        p.add_argument("--agreement", action="store_true", help="run both prover9 and z3 on every problem and list disagreements")
        p.add_argument("--samples", "-k", type=int, default=None, help="LLM samples per problem, majority-voted (default 5 for LLMs; rule/gold use 1)")
        p.add_argument("--timeout", type=float, default=10.0, help="prover budget per problem, seconds (wall clock)")
        p.add_argument("--limit", type=int, default=None, help="evaluate only the first N problems (after --offset)")
        p.add_argument("--offset", type=int, default=0, help="skip the first N problems")
        p.add_argument("--negation", choices=("auto", "classical", "literal"), default="auto", help="controlled-English negation: literal = ProofWriter's forward-only semantics (auto: literal for ProofWriter+rule)")
        p.add_argument("--out", default=None, help="per-example JSONL (default: runs/logic/<dataset>-<translator>-<prover>.jsonl); a rerun resumes it")
        p.add_argument("--fresh", action="store_true", help="start --out over instead of resuming it")
        p.add_argument("--retries", type=int, default=3, help="trained translator (hf:DIR from nesy train translator): re-samples of a sentence whose formula does not parse")
        p.add_argument("--prompt", default=None, help="few-shot prompt file for LLM translators (default: the built-in one)")
        p.add_argument("--temperature", type=float, default=0.8, help="LLM sampling temperature")
        p.add_argument("--max-new-tokens", type=int, default=384, help="LLM completion length limit")
        p.add_argument("--model-name", default=None, help="older spelling of openai:URL#MODEL: the model to ask an openai: server for")
        p.add_argument("--api", choices=("auto", "completions", "chat"), default="auto", help="openai: which API to use (auto: legacy completions if the server has them, else chat)")
        p.add_argument("--request-timeout", type=float, default=120.0, help="openai: time limit of one HTTP request, seconds")
        p.add_argument("--concurrency", type=int, default=4, help="openai: requests in flight at once")
        p.add_argument("--threads", type=int, default=None, help="torch CPU threads for hf: models")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _register_train(commands) -> None:
    p = commands.add(
        "train translator",
        help="train the offline NL->FOL translator (small T5 + BPE tokenizer) on FOLIO train and distilled ProofWriter/NLSat sentences",
        run=_run_train,
    )
    p.add_argument("--out", required=True, help="model directory (Hugging Face format; use with --translator hf:DIR); a rerun resumes")
    p.add_argument("--folio", default=None, help="FOLIO directory (train split trained on, validation held out)")
    p.add_argument("--proofwriter", default=None, help="ProofWriter directory (train split distilled, dev/test held out)")
    p.add_argument("--nlsat", action="append", default=[], help="an NLSat output directory to distil (repeatable)")
    p.add_argument("--epochs", type=float, default=6.0)
    p.add_argument("--minutes", type=float, default=None, help="stop after this many minutes of training (rerun to continue)")
    p.add_argument("--max-rule-pairs", type=int, default=None, help="at most this many distilled sentence pairs")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--vocab-size", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-delex", action="store_true", help="train on the sentences as written (no content-word placeholders)")
    p.add_argument("--drop-articles", action="store_true", help="delexicalised source without \"the\" (the models trained before it was kept)")
    p.add_argument("--arch", default="bart", choices=("bart", "t5"), help="model built from a config: bart (absolute positions; default) or t5 (the earlier models)")
    p.add_argument("--augment", type=int, default=1, help="fresh-vocabulary copies of each ProofWriter/NLSat training story (0: none; default 1)")
    p.add_argument("--no-progress", action="store_true")


def _run_train(args: argparse.Namespace) -> int:
    import math
    import sys
    from pathlib import Path

    from logic.errors import LogicError
    from logic.translate.seq2seq import TrainConfig, train_translator

    if args.folio is None and args.proofwriter is None and not args.nlsat:
        raise LogicError("give training data: --folio and/or --proofwriter (and optionally --nlsat)")
    for name in ("epochs", "lr"):
        value = getattr(args, name)
        if not math.isfinite(value) or value <= 0:
            raise LogicError(f"--{name} must be a positive finite number, got {value}")
    if args.minutes is not None and (not math.isfinite(args.minutes) or args.minutes <= 0):
        raise LogicError(f"--minutes must be a positive finite number, got {args.minutes}")
    if args.augment < 0:
        raise LogicError(f"--augment must be >= 0, got {args.augment}")
    for name in ("batch_size", "d_model", "layers", "vocab_size"):
        if getattr(args, name) < 1:
            raise LogicError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.d_model % 4:
        raise LogicError(f"--d-model must be a multiple of 4 (4 attention heads), got {args.d_model}")
    config = TrainConfig(
        out=Path(args.out),
        folio=Path(args.folio) if args.folio else None,
        proofwriter=Path(args.proofwriter) if args.proofwriter else None,
        nlsat=tuple(Path(d) for d in args.nlsat),
        max_rule_pairs=args.max_rule_pairs,
        vocab_size=args.vocab_size,
        d_model=args.d_model,
        layers=args.layers,
        batch_size=args.batch_size,
        lr=args.lr,
        epochs=args.epochs,
        minutes=args.minutes,
        seed=args.seed,
        threads=args.threads,
        delex=not args.no_delex,
        keep_articles=not args.drop_articles,
        augment=args.augment,
        arch=args.arch,
    )
    report = train_translator(config, progress=None if args.no_progress else (lambda msg: print(msg, file=sys.stderr, flush=True)))
    state = "finished" if report.finished else "stopped early (rerun the same command to continue)"
    print(
        f"translator: {report.pairs} training pairs, {report.steps}/{report.total_steps} steps ({report.epochs_done:.2f} epochs), "
        f"loss {report.final_loss:.4f}, {report.train_seconds:.0f} s of training in total; {state}\n"
        f"use it with: nesy eval proofwriter --translator hf:{report.out} --samples 5"
    )
    return 0


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)[:40].strip("_") or "x"


def _run_eval(args: argparse.Namespace) -> int:
    import math
    import sys
    from pathlib import Path

    from logic.errors import LogicError
    from logic.evaluation import LogicEvalConfig, format_summary, run_eval
    from logic.translate.llm import LLMConfig

    translator = "gold" if args.mode == "gold" else args.translator
    if args.mode == "gold" and args.translator != "rule":
        raise LogicError("--mode gold uses the dataset's FOL; do not combine it with --translator")
    provers = ("prover9", "z3") if args.agreement else (args.prover,)
    is_llm = translator.startswith(("hf:", "openai:"))
    samples = args.samples if args.samples is not None else (5 if is_llm else 1)
    if samples < 1:
        raise LogicError(f"--samples must be >= 1, got {samples}")
    if samples != 1 and not is_llm:
        raise LogicError(f"--samples {samples} only applies to LLM translators (hf:PATH, openai:URL)")
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise LogicError(f"--timeout must be a positive finite number of seconds, got {args.timeout}")
    if not math.isfinite(args.request_timeout) or args.request_timeout <= 0 or args.concurrency < 1:
        raise LogicError(f"--request-timeout must be positive and --concurrency at least 1, got {args.request_timeout} and {args.concurrency}")
    if args.model_name is not None and not translator.startswith("openai:"):
        raise LogicError("--model-name only applies to openai: translators (spell it openai:URL#MODEL)")
    out = Path(args.out) if args.out else Path("runs") / "logic" / f"{args.dataset}-{_slug(translator)}-{'-'.join(provers)}.jsonl"
    config = LogicEvalConfig(
        dataset=args.dataset,
        data=Path(args.data),
        split=args.split,
        translator=translator,
        provers=provers,
        timeout_s=args.timeout,
        limit=args.limit,
        offset=args.offset,
        negation=args.negation,
        output=out,
        llm=LLMConfig(
            spec=translator if is_llm else "hf:default",
            samples=samples,
            temperature=args.temperature,
            max_new_tokens=args.max_new_tokens,
            seed=args.seed,
            prompt=Path(args.prompt) if args.prompt else None,
            model_name=args.model_name,
            request_timeout_s=args.request_timeout,
            api=args.api,
            max_concurrency=args.concurrency,
            threads=args.threads,
        ),
        progress=not args.no_progress,
        fresh=args.fresh,
        retries=args.retries,
    )
    summary = run_eval(config)
    print(format_summary(summary), file=sys.stdout)
    return 0
