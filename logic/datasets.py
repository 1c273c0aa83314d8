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

Validation: every loader checks each record's shape (types of ``context``, ``question``,
``answer``/``label``, ``premises``, the AllenAI ``questions``) before any problem is evaluated and
raises ``DataError`` naming the file, the record and the field; a file that is not UTF-8 or not
JSON is a ``DataError`` too. A ``context`` may be a string (split into sentences) or a list of
sentence strings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from logic.errors import DataError, UnknownBackendError
from logic.solvers.base import Answer
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
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    stripped = text.lstrip()
    try:
        if stripped.startswith("["):
            rows = json.loads(text)
        else:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise DataError(f"{path} is neither a JSON list nor JSON lines: {exc}") from exc
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON list of records or JSON lines, got a JSON {type(rows).__name__}")
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise DataError(f"{path} record {i}: every record must be a JSON object, got {type(r).__name__}")
    return rows


def _question_statement(question: str) -> str:
    """Logic-LM questions read "Based on ... true, false, or unknown? The bear is big."."""
    return question.rsplit("?", 1)[-1].strip() if "?" in question else question.strip()


def _field(row: dict, key: str, path: Path, index: int | str):
    if key not in row:
        raise DataError(f"{path} record {index}: missing field {key!r}")
    return row[key]


def _text(row: dict, key: str, path: Path, index: int | str) -> str:
    """A field that must be a non-empty string."""
    value = _field(row, key, path, index)
    if not isinstance(value, str):
        raise DataError(f"{path} record {index}: field {key!r} must be a string, got {_describe(value)}")
    if not value.strip():
        raise DataError(f"{path} record {index}: field {key!r} is empty")
    return value


def _sentences(row: dict, key: str, path: Path, index: int | str) -> tuple[str, ...]:
    """A context: one string (split into sentences) or a list of sentence strings."""
    value = _field(row, key, path, index)
    if isinstance(value, str):
        return tuple(split_sentences(value))
    if isinstance(value, list):
        for j, item in enumerate(value):
            if not isinstance(item, str):
                raise DataError(f"{path} record {index}: {key}[{j}] must be a string, got {_describe(item)}")
        return tuple(item.strip() for item in value if item.strip())
    raise DataError(f"{path} record {index}: field {key!r} must be a string or a list of strings, got {_describe(value)}")


def _describe(value: object) -> str:
    if value is None:
        return "null"
    shown = json.dumps(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{type(value).__name__} {shown}"


def _label(value: object, table: dict[str, Answer], what: str, path: Path, index: int | str) -> Answer:
    key = value.lower() if isinstance(value, str) and table is _WORD else value
    if isinstance(value, bool) and table is _WORD:
        key = str(value).lower()  # AllenAI answers are JSON true/false
    if not isinstance(key, str) or key not in table:
        choices = ", ".join(sorted({k for k in table}))
        raise DataError(f"{path} record {index}: {what} must be one of {choices}, got {_describe(value)}")
    return table[key]


def load_proofwriter(path: str | Path, split: str | None = None) -> list[Problem]:
    file = resolve("proofwriter", path, split)
    rows = _read_json_or_jsonl(file)
    out: list[Problem] = []
    for i, row in enumerate(rows):
        if "theory" in row and "questions" in row:  # original AllenAI format
            context = _sentences(row, "theory", file, i)
            questions = row["questions"]
            if isinstance(questions, dict):
                items = list(questions.items())
            elif isinstance(questions, list):
                items = [(q.get("id", str(j)) if isinstance(q, dict) else str(j), q) for j, q in enumerate(questions)]
            else:
                raise DataError(f"{file} record {i}: field 'questions' must be a list or an object, got {_describe(questions)}")
            for qid, q in items:
                where = f"{i} question {qid}"
                if not isinstance(q, dict):
                    raise DataError(f"{file} record {where}: a question must be an object with 'question' and 'answer', got {_describe(q)}")
                label = _label(_field(q, "answer", file, where), _WORD, "answer", file, where)
                depth = q.get("QDep")
                out.append(
                    Problem(
                        f"{row.get('id', i)}_{qid}",
                        "proofwriter",
                        context,
                        _text(q, "question", file, where).strip(),
                        label,
                        depth=depth if isinstance(depth, int) and not isinstance(depth, bool) else None,
                    )
                )
            continue
        out.append(_logic_lm_problem(row, file, i, "proofwriter"))
    return out


def _logic_lm_problem(row: dict, file: Path, i: int, dataset: str, letters: tuple[str, ...] = ("A", "B", "C")) -> Problem:
    """A record in Logic-LM's JSON format (context, question, answer letter A/B/C)."""
    table = {k: v for k, v in _LETTER.items() if k in letters}
    answer = _label(_field(row, "answer", file, i), table, "answer", file, i)
    return Problem(
        str(row.get("id", i)),
        dataset,
        _sentences(row, "context", file, i),
        _question_statement(_text(row, "question", file, i)),
        answer,
    )


def load_folio(path: str | Path, split: str | None = None) -> list[Problem]:
    file = resolve("folio", path, split)
    rows = _read_json_or_jsonl(file)
    out: list[Problem] = []
    for i, row in enumerate(rows):
        if "premises" in row:  # original FOLIO
            label = _label(_field(row, "label", file, i), _WORD, "label", file, i)
            premises_fol = row.get("premises-FOL")
            if premises_fol is not None and not (isinstance(premises_fol, list) and all(isinstance(p, str) for p in premises_fol)):
                raise DataError(f"{file} record {i}: field 'premises-FOL' must be a list of strings, got {_describe(premises_fol)}")
            conclusion_fol = row.get("conclusion-FOL")
            if conclusion_fol is not None and not isinstance(conclusion_fol, str):
                raise DataError(f"{file} record {i}: field 'conclusion-FOL' must be a string, got {_describe(conclusion_fol)}")
            out.append(
                Problem(
                    str(row.get("id", f"folio_{i}")),
                    "folio",
                    _sentences(row, "premises", file, i),
                    _text(row, "conclusion", file, i).strip(),
                    label,
                    premises_fol=tuple(premises_fol) if premises_fol is not None else None,
                    conclusion_fol=conclusion_fol,
                )
            )
        else:  # Logic-LM format
            out.append(_logic_lm_problem(row, file, i, "folio"))
    return out


def load_prontoqa(path: str | Path, split: str | None = None) -> list[Problem]:
    file = resolve("prontoqa", path, split)
    rows = _read_json_or_jsonl(file)
    return [_logic_lm_problem(row, file, i, "prontoqa", letters=("A", "B")) for i, row in enumerate(rows)]


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
