"""Loaders for ProofWriter, FOLIO and ProntoQA: any path the user gives, several formats.

All loaders return a list of ``Problem`` (frozen). Accepted inputs:

ProofWriter
    * Logic-LM's preprocessed JSON list (``data/ProofWriter/{train,dev,test}.json``: ``id``,
      ``context``, ``question``, ``options``, ``answer`` in A/B/C);
    * the original AllenAI JSONL (``meta-test.jsonl`` style: ``theory``, ``questions`` with
      ``question``, ``answer`` true/false/"Unknown" and ``QDep``), which carries proof depths.
FOLIO
    * the original JSONL (``folio-validation.jsonl``: ``premises``, ``premises-FOL``,
      ``conclusion``, ``conclusion-FOL``, ``label``);
    * Logic-LM's JSON list (``data/FOLIO/dev.json``; no FOL, so no gold mode).
ProntoQA
    * Logic-LM's JSON list (``data/ProntoQA/dev.json``; A = True, B = False).

A directory is searched (recursively) for the file of the requested split.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from logic.errors import DataError, UnknownBackendError
from logic.provers.base import Answer
from logic.translate.controlled import split_sentences


@dataclass(frozen=True)
class Problem:
    id: str
    dataset: str
    context: tuple[str, ...]  # premise sentences
    question: str  # the statement whose truth is asked
    label: Answer
    premises_fol: tuple[str, ...] | None = None  # FOLIO's gold FOL strings (unparsed)
    conclusion_fol: str | None = None
    depth: int | None = None  # proof depth when the data says (original ProofWriter)


_LETTER = {"A": Answer.TRUE, "B": Answer.FALSE, "C": Answer.UNKNOWN}
_WORD = {"true": Answer.TRUE, "false": Answer.FALSE, "unknown": Answer.UNKNOWN, "uncertain": Answer.UNKNOWN}

SPLIT_FILES = {
    "proofwriter": {"test": ["test.json", "meta-test.jsonl"], "dev": ["dev.json", "meta-dev.jsonl"], "train": ["train.json", "meta-train.jsonl"]},
    "folio": {"validation": ["folio-validation.jsonl", "dev.json"], "dev": ["folio-validation.jsonl", "dev.json"], "train": ["folio-train.jsonl", "train.json"]},
    "prontoqa": {"dev": ["dev.json"], "test": ["dev.json"]},
}
DEFAULT_SPLIT = {"proofwriter": "test", "folio": "validation", "prontoqa": "dev"}


def resolve(dataset: str, path: str | Path, split: str | None = None) -> Path:
    """The data file for ``dataset``: ``path`` itself if it is a file, else a search below it."""
    p = Path(path).expanduser()
    if p.is_file():
        return p
    if not p.is_dir():
        raise DataError(f"{dataset} data path {str(p)!r} does not exist")
    split = split or DEFAULT_SPLIT[dataset]
    names = SPLIT_FILES[dataset].get(split)
    if names is None:
        raise DataError(f"unknown {dataset} split {split!r}; choose one of {', '.join(SPLIT_FILES[dataset])}")
    for name in names:
        hits = sorted(p.rglob(name))
        if hits:
            return hits[0]
    raise DataError(f"no {dataset} {split} file ({' or '.join(names)}) found under {p}")


def _read_json_or_jsonl(path: Path) -> list[dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is neither a JSON list nor JSON lines: {exc}") from exc
    if not all(isinstance(r, dict) for r in rows):
        raise DataError(f"{path}: every record must be a JSON object")
    return rows


def _question_statement(question: str) -> str:
    """Logic-LM questions read "Based on ... true, false, or unknown? The bear is big."."""
    return question.rsplit("?", 1)[-1].strip() if "?" in question else question.strip()


def _field(row: dict, key: str, path: Path, index: int):
    if key not in row:
        raise DataError(f"{path} record {index}: missing field {key!r}")
    return row[key]


def load_proofwriter(path: str | Path, split: str | None = None) -> list[Problem]:
    file = resolve("proofwriter", path, split)
    rows = _read_json_or_jsonl(file)
    out: list[Problem] = []
    for i, row in enumerate(rows):
        if "theory" in row and "questions" in row:  # original AllenAI format
            context = tuple(split_sentences(row["theory"]))
            questions = row["questions"]
            items = questions.items() if isinstance(questions, dict) else ((q.get("id", str(j)), q) for j, q in enumerate(questions))
            for qid, q in items:
                label = _WORD.get(str(q.get("answer")).lower())
                if label is None:
                    raise DataError(f"{file} record {i} question {qid}: unknown answer {q.get('answer')!r}")
                depth = q.get("QDep")
                out.append(Problem(f"{row.get('id', i)}_{qid}", "proofwriter", context, q["question"], label, depth=int(depth) if isinstance(depth, int) else None))
            continue
        out.append(_logic_lm_problem(row, file, i, "proofwriter"))
    return out


def _logic_lm_problem(row: dict, file: Path, i: int, dataset: str) -> Problem:
    """A record in Logic-LM's JSON format (context, question, answer letter A/B/C)."""
    answer = _field(row, "answer", file, i)
    if answer not in _LETTER:
        raise DataError(f"{file} record {i}: answer must be A, B or C, got {answer!r}")
    return Problem(
        str(row.get("id", i)),
        dataset,
        tuple(split_sentences(_field(row, "context", file, i))),
        _question_statement(_field(row, "question", file, i)),
        _LETTER[answer],
    )


def load_folio(path: str | Path, split: str | None = None) -> list[Problem]:
    file = resolve("folio", path, split)
    rows = _read_json_or_jsonl(file)
    out: list[Problem] = []
    for i, row in enumerate(rows):
        if "premises" in row:  # original FOLIO
            label = _WORD.get(str(_field(row, "label", file, i)).lower())
            if label is None:
                raise DataError(f"{file} record {i}: unknown label {row['label']!r}")
            premises = row["premises"]
            out.append(
                Problem(
                    str(row.get("id", f"folio_{i}")),
                    "folio",
                    tuple(p.strip() for p in premises),
                    str(_field(row, "conclusion", file, i)).strip(),
                    label,
                    premises_fol=tuple(row["premises-FOL"]) if "premises-FOL" in row else None,
                    conclusion_fol=row.get("conclusion-FOL"),
                )
            )
        else:  # Logic-LM format
            out.append(_logic_lm_problem(row, file, i, "folio"))
    return out


def load_prontoqa(path: str | Path, split: str | None = None) -> list[Problem]:
    file = resolve("prontoqa", path, split)
    rows = _read_json_or_jsonl(file)
    out: list[Problem] = []
    for i, row in enumerate(rows):
        answer = _field(row, "answer", file, i)
        if answer not in ("A", "B"):
            raise DataError(f"{file} record {i}: answer must be A or B, got {answer!r}")
        out.append(
            Problem(
                str(row.get("id", i)),
                "prontoqa",
                tuple(split_sentences(_field(row, "context", file, i))),
                _question_statement(_field(row, "question", file, i)),
                _LETTER[answer],
            )
        )
    return out


LOADERS: dict[str, Callable[..., list[Problem]]] = {
    "proofwriter": load_proofwriter,
    "folio": load_folio,
    "prontoqa": load_prontoqa,
}


def load(dataset: str, path: str | Path, split: str | None = None) -> list[Problem]:
    if dataset not in LOADERS:
        raise UnknownBackendError(f"unknown dataset {dataset!r}; choose one of {', '.join(sorted(LOADERS))}")
    problems = LOADERS[dataset](path, split)
    if not problems:
        raise DataError(f"no {dataset} problems found in {path}")
    return problems
