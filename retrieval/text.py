"""How premises and goal states are turned into text and tokens for the retrievers.

One place, versioned: :data:`TEXT_FORMAT` is part of every embedding-cache key, so changing the
serialisation never reuses embeddings computed from the old one.
"""

from __future__ import annotations

import re

from retrieval.dataset import MARK_END, MARK_START, Premise

TEXT_FORMAT = "premise-text-v1"
QUERY_FORMAT = "goal-first-v1"  # how query_text serialises a goal state
RAW_QUERY_FORMAT = "raw"  # the state as Coq prints it: what checkpoints trained before goal-first-v1 read

# words (dotted/primed names kept whole), single brackets and separators, runs of other symbols
_TOKEN = re.compile(r"\w+(?:['.]\w+)*|[()\[\]{},;]|[^\w\s()\[\]{},;]+", re.UNICODE)
_SUBWORD = re.compile(r"[._']+")
# Layout and punctuation, not content: never BM25 terms (in statements or in goal states).
_PUNCTUATION = frozenset("( ) [ ] { } , ; . : := | _ @ ' ` \" ..".split())
SEPARATOR_LINE = re.compile(r"^\s*={4,}\s*$")  # the goal separator line of a Coq state
UNFOCUSED_LINE = re.compile(r"^\s*\((?:unfocused|shelved|given up) goals: \d+\)\s*$")
_HYP_NAMES = re.compile(r"^([A-Za-z_][\w']*(?:\s*,\s*[A-Za-z_][\w']*)*)\s*(?=:=?\s)")


def premise_text(p: Premise) -> str:
    """The statement, prefixed by the full name when the statement does not mention it."""
    short = p.full_name.rsplit(".", 1)[-1]
    return p.code if short and short in p.code else f"{p.full_name} : {p.code}"


def strip_marks(state: str) -> str:
    """A goal state without the ``<a>``/``</a>`` premise marks of annotated text."""
    return state.replace(MARK_START, "").replace(MARK_END, "")


def query_text_as(query_format: str, state: str) -> str:
    """``state`` as a query in ``query_format`` (a trained checkpoint is queried as it was trained)."""
    if query_format == RAW_QUERY_FORMAT:
        return strip_marks(state)
    if query_format == QUERY_FORMAT:
        return query_text(state)
    raise ValueError(f"unknown query format {query_format!r} (known: {QUERY_FORMAT}, {RAW_QUERY_FORMAT})")


def query_text(state: str) -> str:
    """A goal state as a dense encoder's query: the first goal's conclusion first, then its
    hypotheses, then the conclusions of the other goals.

    An encoder reads a fixed number of tokens (128 by default) and most stdlib states are longer
    (median about 400 WordPiece tokens, 78% over 128 on the ``novel_premises`` test part), so a
    state read in Coq's order loses its goal -- what a premise must match -- to the cut. The
    separator line (28 ``=`` tokens) and ``(unfocused goals: N)`` headers are layout and dropped.
    Marks are removed. The format is :data:`QUERY_FORMAT`, recorded in every trained checkpoint.
    """
    goals: list[tuple[list[str], list[str]]] = []  # (hypothesis lines, conclusion lines)
    hyps: list[str] = []
    concl: list[str] | None = None
    for line in strip_marks(state).splitlines():
        if UNFOCUSED_LINE.match(line):
            continue
        if SEPARATOR_LINE.match(line):
            concl = []
            continue
        if concl is None:
            if line.strip():
                hyps.append(line.strip())
        elif not line.strip():
            goals.append((hyps, concl))
            hyps, concl = [], None
        else:
            concl.append(line.strip())
    if concl is not None:
        goals.append((hyps, concl))
    elif hyps:  # no separator at all: not a printed Coq state; keep the text as it is
        return "\n".join(hyps)
    if not goals:
        return ""
    first_hyps, first_concl = goals[0]
    parts = [" ".join(first_concl), *first_hyps, *(" ".join(c) for _, c in goals[1:])]
    return "\n".join(p for p in parts if p)


def bm25_tokens(text: str) -> list[str]:
    """Lower-cased word and symbol tokens; a dotted or snake_case name also yields its parts.

    ``Nat.add_zero`` gives ``nat.add_zero``, ``nat``, ``add``, ``zero``, so a goal mentioning
    ``add`` can match a premise named ``Nat.add_zero``. A run of symbols is one token (``<=``,
    ``->``, ``++``); brackets, commas, colons and periods are layout and give none.
    """
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower()):
        if tok in _PUNCTUATION:
            continue
        out.append(tok)
        if len(tok) > 1 and ("." in tok or "_" in tok or "'" in tok) and tok[0].isalnum():
            out.extend(part for part in _SUBWORD.split(tok) if part)
    return out


def bm25_query_tokens(state: str) -> list[str]:
    """BM25 terms of a goal state, read as a careful user would write the query.

    The separator line (``============================``, which would otherwise be 28 ``=``
    query terms dominating every score) and the ``(unfocused goals: N)`` header are layout, and
    the names of hypotheses (``H, H0 : ...``, ``x := t : T``) are arbitrary: none of them are
    terms. The hypotheses' types and the goals are tokenized like statements (:func:`bm25_tokens`).
    """
    lines = []
    for line in strip_marks(state).splitlines():
        if SEPARATOR_LINE.match(line) or UNFOCUSED_LINE.match(line):
            continue
        lines.append(_HYP_NAMES.sub("", line, count=1) if line[:1].strip() else line)
    return bm25_tokens("\n".join(lines))
