"""Evaluate a translator + prover pipeline on ProofWriter, FOLIO or ProntoQA.

For every problem: the translator yields one or more readings (k LLM samples, or one from the
controlled-English parser, or FOLIO's gold FOL); each reading goes through every configured
prover; the first prover's answers are majority-voted (failed readings excluded, as in LINC).
A problem with no answer gets the error stage of its most frequent failure.

Output: one JSON line per problem (written and flushed as it is done, so an interrupted run
keeps what it computed; a rerun with the same ``output`` appends and skips the problems whose ids
are already there, unless ``fresh``) and an ``EvalSummary``: accuracy overall and by proof depth, confusion
matrix, errors by stage, and, with two provers, the problems on which they disagree.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from logic.datasets import Problem, load
from logic.errors import DataError, LogicError, ParseError, TranslationError
from logic.parsing import parse
from logic.solvers import get_prover
from logic.solvers.base import Answer, EntailmentResult, ErrorStage
from logic.translate.llm import LLMConfig, LLMTranslator, Translation, TranslationFailure

ANSWERS = (Answer.TRUE, Answer.FALSE, Answer.UNKNOWN)


@dataclass(frozen=True)
class LogicEvalConfig:
    dataset: str  # proofwriter | folio | prontoqa
    data: Path
    split: str | None = None
    translator: str = "rule"  # rule | gold | hf:PATH | openai:URL
    provers: tuple[str, ...] = ("prover9",)  # two names = agreement mode
    timeout_s: float = 10.0  # per prover call (both directions together)
    limit: int | None = None
    offset: int = 0
    negation: str = "auto"  # classical | literal | auto (literal for ProofWriter + rule)
    output: Path | None = None  # JSONL, one line per problem
    llm: LLMConfig = field(default_factory=LLMConfig)
    progress: bool = True
    fresh: bool = False  # True: discard an existing output file instead of resuming it
    retries: int = 3  # trained seq2seq translator: re-samples of a sentence whose output does not parse

    def negation_mode(self) -> str:
        if self.negation != "auto":
            return self.negation
        return "literal" if self.dataset == "proofwriter" and self.translator == "rule" else "classical"


@dataclass(frozen=True)
class ProblemResult:
    id: str
    label: Answer
    prediction: Answer | None
    error: ErrorStage | None
    error_message: str
    depth: int | None
    votes: dict[str, int]
    prover_answers: dict[str, list[str | None]]  # per prover, per reading: answer value or "error:<stage>"
    elapsed_s: float

    @property
    def correct(self) -> bool:
        return self.prediction is self.label


@dataclass(frozen=True)
class EvalSummary:
    dataset: str
    translator: str
    provers: tuple[str, ...]
    n: int
    correct: int
    by_depth: dict[str, tuple[int, int]]  # depth bucket -> (correct, total)
    confusion: dict[str, dict[str, int]]  # gold -> predicted ("error" for no answer) -> count
    errors_by_stage: dict[str, int]
    per_prover_correct: dict[str, int]
    disagreements: list[dict]  # agreement mode: problems where the provers' votes differ
    median_time_s: float
    output: str | None

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


# ----------------------------------------------------------------------------------- readings


class RuleReader:
    """The controlled-English translator as a one-reading translator."""

    name = "rule"

    def __init__(self, negation: str) -> None:
        self.negation = negation

    def translate(self, problem: Problem) -> list[Translation | TranslationFailure]:
        from logic.translate.controlled import complement, translate_problem

        try:
            premises, conclusion = translate_problem(problem.context, problem.question, negation=self.negation)
            refutation = complement(conclusion) if self.negation == "literal" else None
        except LogicError as exc:  # TranslationError, a formula too deep, ...: one error row
            return [TranslationFailure(ErrorStage.TRANSLATION, str(exc))]
        return [Translation(tuple(premises), conclusion, refutation)]


class GoldReader:
    """FOLIO's own premises-FOL / conclusion-FOL (measures the prover side alone)."""

    name = "gold"

    def translate(self, problem: Problem) -> list[Translation | TranslationFailure]:
        if problem.premises_fol is None or problem.conclusion_fol is None:
            return [TranslationFailure(ErrorStage.TRANSLATION, "this record has no gold FOL (use FOLIO's original JSONL)")]
        try:
            premises = tuple(parse(f) for f in problem.premises_fol)
            conclusion = parse(problem.conclusion_fol)
        except ParseError as exc:
            return [TranslationFailure(ErrorStage.PARSE, str(exc))]
        return [Translation(premises, conclusion)]


class LLMReader:
    def __init__(self, dataset: str, config: LLMConfig) -> None:
        self.inner = LLMTranslator(dataset, config)
        self.name = self.inner.name

    def translate(self, problem: Problem) -> list[Translation | TranslationFailure]:
        try:
            return self.inner.translate(problem.context, problem.question)
        except LogicError as exc:  # one failed request must not end the run
            return [TranslationFailure(ErrorStage.TRANSLATION, str(exc))]


class Seq2SeqReader:
    """The translator trained by ``nesy train translator`` (``hf:DIR`` holding a seq2seq model)."""

    def __init__(self, dataset: str, path: str, config: LogicEvalConfig) -> None:
        from logic.translate.seq2seq import Seq2SeqTranslator

        llm = config.llm
        self.inner = Seq2SeqTranslator(
            path, dataset, samples=llm.samples, temperature=llm.temperature, retries=config.retries, seed=llm.seed,
            threads=llm.threads, max_new_tokens=min(llm.max_new_tokens, 192),
        )
        self.name = self.inner.name

    def translate(self, problem: Problem) -> list[Translation | TranslationFailure]:
        try:
            return self.inner.translate(problem.context, problem.question)
        except LogicError as exc:
            return [TranslationFailure(ErrorStage.TRANSLATION, str(exc))]


def _hf_reader(config: LogicEvalConfig):
    spec = config.translator
    if spec != "hf:default":
        from logic.translate.seq2seq import is_seq2seq_dir

        if is_seq2seq_dir(spec[3:]):  # a translator trained by `nesy train translator`
            return Seq2SeqReader(config.dataset, str(Path(spec[3:]).expanduser()), config)
    return LLMReader(config.dataset, config.llm)  # a causal LM, prompted LINC-style


def _gold_reader(config: LogicEvalConfig):
    if config.dataset != "folio":
        raise LogicError("--mode gold needs FOLIO (the only dataset with gold FOL)")
    return GoldReader()


# The translators by spec kind (``KIND`` or ``KIND:ARGUMENT``). Adding one: a reader class with
# ``name`` and ``translate(problem)``, and one line here.
TRANSLATORS: dict[str, tuple[str, object]] = {
    "rule": ("the controlled-English parser (synthetic datasets)", lambda config: RuleReader(config.negation_mode())),
    "gold": ("FOLIO's gold FOL annotations", _gold_reader),
    "hf": ("hf:PATH: a translator trained by nesy, or a causal LM prompted LINC-style (hf:default: SmolLM2)", _hf_reader),
    "openai": ("openai:URL[#MODEL]: any OpenAI-compatible server, prompted LINC-style", lambda config: LLMReader(config.dataset, config.llm)),
}


def make_reader(config: LogicEvalConfig):
    """The translator named by ``config.translator`` (see :data:`TRANSLATORS`)."""
    spec = config.translator
    kind, colon, _ = spec.partition(":")
    takes_argument = kind in ("hf", "openai")  # hf:PATH, openai:URL; rule and gold take none
    if kind not in TRANSLATORS or bool(colon) != takes_argument:
        known = ", ".join(f"{k}:..." if k in ("hf", "openai") else k for k in TRANSLATORS)
        raise LogicError(f"unknown translator {spec!r}: use {known}")
    return TRANSLATORS[kind][1](config)


# ------------------------------------------------------------------------------------- depth


def label_depth(problem: Problem) -> int | None:
    """The proof depth of the gold answer (ProofWriter only): from the data when given, else
    recomputed by forward chaining on the literal-mode translation. None for Unknown labels."""
    if problem.depth is not None:
        return problem.depth
    if problem.dataset != "proofwriter" or problem.label is Answer.UNKNOWN:
        return None
    from logic.depth import proof_depth
    from logic.translate.controlled import complement, translate_problem

    try:
        premises, conclusion = translate_problem(problem.context, problem.question, negation="literal")
        goal = conclusion if problem.label is Answer.TRUE else complement(conclusion)
    except TranslationError:
        return None
    return proof_depth(premises, [goal])  # type: ignore[list-item]


# ------------------------------------------------------------------------------------ running


def _vote(results: Sequence[EntailmentResult]) -> Answer | None:
    counts = Counter(r.answer for r in results if r.answer is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(a for a in ANSWERS if counts.get(a) == best)


def evaluate_problem(problem: Problem, reader, provers: Sequence, timeout_s: float) -> tuple[ProblemResult, dict]:
    start = time.perf_counter()
    readings = reader.translate(problem)
    per_prover: dict[str, list[EntailmentResult]] = {p.name: [] for p in provers}
    samples: list[dict] = []
    failures: Counter[ErrorStage] = Counter()
    messages: dict[ErrorStage, str] = {}
    for reading in readings:
        if isinstance(reading, TranslationFailure):
            failures[reading.stage] += 1
            messages.setdefault(reading.stage, reading.message)
            samples.append({"error": reading.stage.value, "message": reading.message, "raw": reading.raw})
            continue
        sample: dict = {
            "premises": [str(f) for f in reading.premises],
            "conclusion": str(reading.conclusion),
            "answers": {},
        }
        if reading.raw is not None:
            sample["raw"] = reading.raw
        for prover in provers:
            try:
                result = prover.entails(reading.premises, reading.conclusion, timeout_s=timeout_s, refutation=reading.refutation)
            except LogicError as exc:  # a broken prover is contained: recorded, the run goes on
                result = EntailmentResult.failed(ErrorStage.PROVER_CRASH, str(exc), prover=prover.name, timeout_s=timeout_s)
            per_prover[prover.name].append(result)
            sample["answers"][prover.name] = {
                "answer": result.answer.value if result.answer else None,
                "error": result.error.value if result.error else None,
                "message": result.message or None,
                "elapsed_s": round(result.elapsed_s, 4),
            }
        samples.append(sample)
    first = provers[0].name
    prediction = _vote(per_prover[first])
    for r in per_prover[first]:
        if r.error is not None:
            failures[r.error] += 1
            messages.setdefault(r.error, r.message)
    error = None if prediction is not None else (failures.most_common(1)[0][0] if failures else ErrorStage.TRANSLATION)
    votes = Counter(r.answer.value for r in per_prover[first] if r.answer is not None)
    result = ProblemResult(
        id=problem.id,
        label=problem.label,
        prediction=prediction,
        error=error,
        error_message=messages.get(error, "") if error else "",
        depth=label_depth(problem),
        votes=dict(votes),
        prover_answers={name: [r.answer.value if r.answer else f"error:{r.error.value}" for r in rs] for name, rs in per_prover.items()},
        elapsed_s=time.perf_counter() - start,
    )
    record = {
        "id": problem.id,
        "dataset": problem.dataset,
        "label": problem.label.value,
        "prediction": prediction.value if prediction else None,
        "correct": result.correct,
        "error": error.value if error else None,
        "error_message": result.error_message or None,
        "depth": result.depth,
        "votes": result.votes,
        "prover_predictions": {name: (v.value if (v := _vote(rs)) else None) for name, rs in per_prover.items()},
        "samples": samples,
        "elapsed_s": round(result.elapsed_s, 4),
    }
    return result, record


def check_config(config: LogicEvalConfig) -> None:
    """Reject impossible settings before anything is loaded or written."""
    if isinstance(config.timeout_s, bool) or not isinstance(config.timeout_s, (int, float)) or not math.isfinite(config.timeout_s) or config.timeout_s <= 0:
        raise LogicError(f"--timeout must be a positive finite number of seconds, got {config.timeout_s!r}")
    if config.offset < 0:
        raise LogicError(f"--offset must be >= 0, got {config.offset}")
    if config.limit is not None and config.limit < 1:
        raise LogicError(f"--limit must be >= 1, got {config.limit}")
    if config.retries < 0:
        raise LogicError(f"--retries must be >= 0, got {config.retries}")
    if not config.provers:
        raise LogicError("at least one prover is needed")


def _record_problem_fields(config: LogicEvalConfig) -> dict:
    fields: dict = {"translator": config.translator, "provers": list(config.provers)}
    model = model_fingerprint(config.translator)
    if model is not None:
        fields["model"] = model
    return fields


def model_fingerprint(spec: str) -> str | None:
    """For ``hf:DIR``: a short digest of the model files' names, sizes and modification times, so
    that a resumed ``--out`` never mixes answers of two different models saved at one path."""
    if not spec.startswith("hf:") or spec == "hf:default":
        return None
    root = Path(spec[3:]).expanduser()
    if not root.is_dir():
        return None
    import hashlib

    h = hashlib.sha256()
    for f in sorted(root.iterdir()):
        if f.is_file() and (f.suffix in (".safetensors", ".bin") or f.name == "config.json"):
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def read_results(path: Path, config: LogicEvalConfig) -> list[dict]:
    """Records already in ``path`` (for resuming). A last line cut off by an interruption is
    dropped (the file is rewritten without it, atomically); records of another dataset,
    translator or prover set are refused, so a rerun never mixes two experiments."""
    if not path.exists():
        return []
    if not path.is_file():
        raise DataError(f"--out {path} exists and is not a file")
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot resume from --out {path}: {exc}; use another --out or --fresh") from None
    records: list[dict] = []
    lines = text.splitlines()
    broken = 0
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if lineno == len(lines):  # an interrupted write: recompute that problem
                broken += 1
                continue
            raise DataError(f"cannot resume from --out {path}: line {lineno} is not JSON; use another --out or --fresh") from None
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str) or "label" not in rec or "prediction" not in rec:
            raise DataError(f"cannot resume from --out {path}: line {lineno} is not a result record; use another --out or --fresh")
        if rec.get("dataset") != config.dataset:
            raise DataError(f"--out {path} holds {rec.get('dataset')!r} results, not {config.dataset!r}; use another --out or --fresh")
        for key, want in _record_problem_fields(config).items():
            if key in rec and rec[key] != want:
                raise DataError(f"--out {path} holds results with {key} {rec[key]!r}, this run uses {want!r}; use another --out or --fresh")
        records.append(rec)
    if broken:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        os.replace(tmp, path)
    return records


def _open_output(path: Path, fresh: bool):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w" if fresh else "a", encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot write --out {path}: {exc.strerror or exc}") from None


def run_eval(config: LogicEvalConfig) -> EvalSummary:
    """Run the whole evaluation; writes ``config.output`` (JSONL) when given, resuming it."""
    check_config(config)
    problems = load(config.dataset, config.data, config.split)
    total = len(problems)
    if config.offset >= total:
        raise DataError(f"--offset {config.offset} is past the end: {config.data} has {total} {config.dataset} problems")
    problems = problems[config.offset :]
    if config.limit is not None:
        problems = problems[: config.limit]
    seen: set[str] = set()
    for p in problems:
        if p.id in seen:
            raise DataError(f"{config.data}: problem id {p.id!r} occurs twice (results are keyed by id)")
        seen.add(p.id)
    if config.translator == "gold" and all(p.premises_fol is None for p in problems):
        raise DataError(f"{config.data} has no gold FOL (premises-FOL); gold mode needs FOLIO's original JSONL, e.g. folio-validation.jsonl")
    done: dict[str, dict] = {}
    if config.output is not None and not config.fresh:
        done = {rec["id"]: rec for rec in read_results(config.output, config) if rec["id"] in seen}
    out = _open_output(config.output, config.fresh) if config.output is not None else None
    try:
        provers = [get_prover(name) for name in config.provers]
        reader = make_reader(config)
        from tqdm import tqdm

        todo = [p for p in problems if p.id not in done]
        bar = tqdm(todo, desc=f"{config.dataset} {reader.name}", unit="problem", disable=not config.progress, dynamic_ncols=True)
        if done:
            bar.write(f"resuming {config.output}: {len(done)} of {len(problems)} problems already done")
        correct = sum(rec["prediction"] == rec["label"] for rec in done.values())
        count = len(done)
        for problem in bar:
            _, record = evaluate_problem(problem, reader, provers, config.timeout_s)
            record.update(_record_problem_fields(config))
            done[problem.id] = record
            count += 1
            correct += record["correct"]
            bar.set_postfix(acc=f"{correct / count:.3f}")
            if out is not None:
                out.write(json.dumps(record) + "\n")
                out.flush()
    finally:
        if out is not None:
            out.close()
    records = [done[p.id] for p in problems if p.id in done]
    return summarise_records(config.dataset, config.translator, tuple(config.provers), records, str(config.output) if config.output else None)


def summarise(config: LogicEvalConfig, results: Sequence[ProblemResult], records: Sequence[dict]) -> EvalSummary:
    del results  # the records carry everything the summary needs
    return summarise_records(
        config.dataset, config.translator, tuple(config.provers), records, str(config.output) if config.output else None
    )


def summarise_records(dataset: str, translator: str, provers: tuple[str, ...], records: Sequence[dict], output: str | None = None) -> EvalSummary:
    """Summary from per-example JSONL records (also for merging shards run with
    ``--offset``/``--limit``: load their lines and call this)."""
    by_depth: dict[str, list[int]] = {}
    confusion: dict[str, dict[str, int]] = {a.value: {b.value: 0 for b in ANSWERS} | {"error": 0} for a in ANSWERS}
    errors: Counter[str] = Counter()
    per_prover: dict[str, int] = {name: 0 for name in provers}
    disagreements: list[dict] = []
    for rec in records:
        label, pred = rec["label"], rec["prediction"]
        depth = rec.get("depth")
        bucket = str(depth) if depth is not None else ("none" if label == Answer.UNKNOWN.value else "n/a")
        cell = by_depth.setdefault(bucket, [0, 0])
        cell[0] += pred == label
        cell[1] += 1
        confusion[label][pred if pred else "error"] += 1
        if rec.get("error"):
            errors[rec["error"]] += 1
        preds = rec.get("prover_predictions", {})
        for name in provers:
            per_prover[name] += preds.get(name) == label
        if len(provers) > 1 and len({preds.get(n) for n in provers}) > 1:
            disagreements.append({"id": rec["id"], "label": label, **{n: preds.get(n) for n in provers}})
    return EvalSummary(
        dataset=dataset,
        translator=translator,
        provers=provers,
        n=len(records),
        correct=sum(rec["prediction"] == rec["label"] for rec in records),
        by_depth={k: (v[0], v[1]) for k, v in sorted(by_depth.items())},
        confusion=confusion,
        errors_by_stage=dict(errors),
        per_prover_correct=per_prover,
        disagreements=disagreements,
        median_time_s=statistics.median(rec["elapsed_s"] for rec in records) if records else 0.0,
        output=output,
    )


def format_summary(s: EvalSummary) -> str:
    """A short human-readable report of a summary."""
    lines = [
        f"{s.dataset}: translator={s.translator} prover(s)={','.join(s.provers)}",
        f"accuracy {s.correct}/{s.n} = {100 * s.accuracy:.2f}%   (median {s.median_time_s:.3f}s per problem)",
    ]
    if any(k.isdigit() for k in s.by_depth):
        lines.append("by depth: " + "  ".join(f"{k}: {c}/{n} ({100 * c / n:.1f}%)" for k, (c, n) in s.by_depth.items()))
    lines.append("confusion (rows gold, columns predicted):")
    cols = [a.value for a in ANSWERS] + ["error"]
    lines.append("            " + "".join(f"{c:>9}" for c in cols))
    for gold, row in s.confusion.items():
        if sum(row.values()):
            lines.append(f"  {gold:>9} " + "".join(f"{row[c]:>9}" for c in cols))
    lines.append("errors by stage: " + (", ".join(f"{k}={v}" for k, v in sorted(s.errors_by_stage.items())) or "none"))
    if len(s.provers) > 1:
        lines.append("per prover: " + ", ".join(f"{n} {c}/{s.n}" for n, c in s.per_prover_correct.items()))
        lines.append(f"disagreements: {len(s.disagreements)}")
        for d in s.disagreements[:20]:
            lines.append("  " + " ".join(f"{k}={v}" for k, v in d.items()))
        if len(s.disagreements) > 20:
            lines.append(f"  ... {len(s.disagreements) - 20} more in the JSONL")
    if s.output:
        lines.append(f"per-example results: {s.output}")
    return "\n".join(lines)
