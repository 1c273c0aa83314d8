"""How premises and goal states are turned into text and tokens for the retrievers.

One place, versioned: :data:`TEXT_FORMAT` is part of every embedding-cache key, so changing the
serialisation never reuses embeddings computed from the old one.
"""

from __future__ import annotations

import re

from retrieval.dataset import MARK_END, MARK_START, Premise

TEXT_FORMAT = "premise-text-v1"

_TOKEN = re.compile(r"\w+(?:['.]\w+)*|[^\w\s]", re.UNICODE)
_SUBWORD = re.compile(r"[._']+")


def premise_text(p: Premise) -> str:
    """The statement, prefixed by the full name when the statement does not mention it."""
    short = p.full_name.rsplit(".", 1)[-1]
    return p.code if short and short in p.code else f"{p.full_name} : {p.code}"


def query_text(state: str) -> str:
    """A goal state as a query (any ``<a>``/``</a>`` marks removed)."""
    return state.replace(MARK_START, "").replace(MARK_END, "")


def bm25_tokens(text: str) -> list[str]:
    """Lower-cased word and symbol tokens; a dotted or snake_case name also yields its parts.

    ``Nat.add_zero`` gives ``nat.add_zero``, ``nat``, ``add``, ``zero``, so a goal mentioning
    ``add`` can match a premise named ``Nat.add_zero``.
    """
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower()):
        out.append(tok)
        if len(tok) > 1 and ("." in tok or "_" in tok or "'" in tok):
            out.extend(part for part in _SUBWORD.split(tok) if part)
    return out
