"""What replaying one file yields (:class:`FileTrace`), as frozen records with a JSON form.

Positions are 1-based ``(line, column)`` pairs, as in the dataset layout. A tactic's names are
recorded with Coq's resolution (:class:`UsedName`); whether each is a premise of the corpus is
decided when the dataset is assembled, once every file's premises are known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Pos = tuple[int, int]


@dataclass(frozen=True)
class FilePremise:
    """A global name the file declares: full name, kind, the text stating it, its span."""

    full_name: str
    kind: str
    code: str
    start: Pos
    end: Pos


@dataclass(frozen=True)
class UsedName:
    """An identifier a tactic names that Coq resolves to a term: offsets in the tactic text."""

    text: str
    start: int
    end: int
    full_name: str
    kind: str
    # Other full names the object may be a premise under, tried in order when ``full_name`` is
    # not a premise of the corpus: a functor parameter's field ``P.x`` is the field ``x`` of the
    # parameter's module type(s) (see :mod:`provers.tracing.replay`).
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class TacticRecord:
    tactic: str
    state_before: str
    state_after: str
    used: tuple[UsedName, ...]


@dataclass(frozen=True)
class TheoremRecord:
    """A named proof closed by ``Qed``/``Defined`` (not ``Admitted``/``Abort``)."""

    full_name: str
    kind: str
    statement: str
    start: Pos
    end: Pos
    tactics: tuple[TacticRecord, ...]


@dataclass(frozen=True)
class FileError:
    """Why a file stopped: the sentence (index, position, text) and Coq's or our message."""

    message: str
    sentence_index: int | None = None
    line: int | None = None
    column: int | None = None
    sentence: str = ""

    def describe(self, path: str) -> str:
        where = f"{path}:{self.line}:{self.column}" if self.line is not None else path
        what = f" in sentence #{self.sentence_index} {self.sentence[:120]!r}" if self.sentence else ""
        return f"{where}{what}: {self.message}"


@dataclass(frozen=True)
class FileStats:
    sentences: int = 0
    sentences_total: int = 0
    seconds: float = 0.0
    locate_queries: int = 0
    locate_hits: int = 0
    peak_rss_bytes: int = 0


@dataclass(frozen=True)
class FileTrace:
    """One file: what it declares, its traced proofs, what it loads, and an error if it stopped.

    A file with an ``error`` keeps what was traced before the failing sentence.
    """

    path: str
    module: str
    key: str
    imports: tuple[str, ...]
    premises: tuple[FilePremise, ...]
    theorems: tuple[TheoremRecord, ...]
    error: FileError | None
    stats: FileStats

    @property
    def num_tactics(self) -> int:
        return sum(len(t.tactics) for t in self.theorems)


# ------------------------------------------------------------------ JSON


def trace_to_json(t: FileTrace) -> dict[str, Any]:
    return {
        "path": t.path,
        "module": t.module,
        "key": t.key,
        "imports": list(t.imports),
        "premises": [[p.full_name, p.kind, p.code, list(p.start), list(p.end)] for p in t.premises],
        "theorems": [
            {
                "full_name": th.full_name,
                "kind": th.kind,
                "statement": th.statement,
                "start": list(th.start),
                "end": list(th.end),
                "tactics": [
                    [tac.tactic, tac.state_before, tac.state_after,
                     [[u.text, u.start, u.end, u.full_name, u.kind, *([list(u.alternatives)] if u.alternatives else [])]
                      for u in tac.used]]
                    for tac in th.tactics
                ],
            }
            for th in t.theorems
        ],
        "error": None if t.error is None else {
            "message": t.error.message, "sentence_index": t.error.sentence_index,
            "line": t.error.line, "column": t.error.column, "sentence": t.error.sentence,
        },
        "stats": vars(t.stats) if not hasattr(t.stats, "__dataclass_fields__") else {
            k: getattr(t.stats, k) for k in t.stats.__dataclass_fields__
        },
    }


def trace_from_json(d: dict[str, Any]) -> FileTrace:
    """Inverse of :func:`trace_to_json`; raises KeyError/TypeError/ValueError on malformed data."""
    err = d["error"]
    return FileTrace(
        path=d["path"],
        module=d["module"],
        key=d["key"],
        imports=tuple(d["imports"]),
        premises=tuple(FilePremise(n, k, c, (s[0], s[1]), (e[0], e[1])) for n, k, c, s, e in d["premises"]),
        theorems=tuple(
            TheoremRecord(
                full_name=th["full_name"],
                kind=th["kind"],
                statement=th["statement"],
                start=tuple(th["start"]),
                end=tuple(th["end"]),
                tactics=tuple(
                    TacticRecord(tac, before, after, tuple(UsedName(*u[:5], tuple(u[5]) if len(u) > 5 else ()) for u in used))
                    for tac, before, after, used in th["tactics"]
                ),
            )
            for th in d["theorems"]
        ),
        error=None if err is None else FileError(**err),
        stats=FileStats(**d["stats"]),
    )
