"""Resolving the identifiers a tactic names to full names, with Coq's own ``Locate``.

``Locate q`` lists every object whose full path ends with ``q``, each with the shortest name that
refers to it in the current context when that differs from ``q``. ``q`` refers to the object
whose shortest name is a suffix of ``q`` (``add_comm`` does not refer to ``Nat.add_comm`` unless
``Nat`` is imported; ``Nat.add_comm`` refers to it even then). That is exact: the name the
tactic wrote is resolved in the environment the tactic ran in, as Coq resolves it.

A round trip per identifier is cheap (about 0.1-1 ms) but identifiers repeat, so answers are
cached: a name's resolution can change only when the global environment changes, so the cache is
cleared by the replayer after every sentence outside a proof except declarations, and for a
declaration only the entries ending with the declared short name are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Kinds of objects that are premises (terms with a statement); Ltac, notations, modules are not.
TERM_KINDS = frozenset({"Constant", "Inductive", "Constructor"})

_ENTRY_RE = re.compile(r"^(\w+)\s+(\S+)(?:\s*\(shorter name to refer to it in current context is (\S+)\))?\s*$")


@dataclass(frozen=True)
class Located:
    """What a name refers to: the object's kind (``Constant``, ``Inductive``, ``Constructor``,
    ``Ltac``, ``Notation``, ...) and its full name."""

    kind: str
    full_name: str


def parse_locate(query: str, output: str) -> Located | None:
    """The object ``query`` refers to according to ``Locate query``'s output, or None.

    Entries span one or two lines (the "shorter name" remark may wrap); ``No object ...`` and
    output without an entry whose shortest name is a suffix of ``query`` give None.
    """
    text = re.sub(r"\s*\n\s+\(shorter", " (shorter", output.strip())
    best: tuple[int, Located] | None = None
    qparts = query.split(".")
    for line in text.splitlines():
        m = _ENTRY_RE.match(line.strip())
        if not m:
            continue
        kind, full, shorter = m.group(1), m.group(2), m.group(3)
        short = shorter or query
        sparts = short.split(".")
        if qparts[-len(sparts):] != sparts:
            continue
        if best is None or len(sparts) > best[0]:
            best = (len(sparts), Located(kind, full))
    return best[1] if best else None


class LocateCache:
    """Identifier -> :class:`Located` (or None), asking ``query`` only for names not cached."""

    def __init__(self, query: Callable[[str], str]) -> None:
        self._query = query
        self._cache: dict[str, Located | None] = {}
        self.queries = 0
        self.hits = 0

    def resolve(self, name: str) -> Located | None:
        if name in self._cache:
            self.hits += 1
            return self._cache[name]
        self.queries += 1
        found = parse_locate(name, self._query(f"Locate {name}."))
        self._cache[name] = found
        return found

    def clear(self) -> None:
        self._cache.clear()

    def forget(self, short_name: str) -> None:
        """Drop the entries a new declaration ``short_name`` may shadow."""
        for key in [k for k in self._cache if k == short_name or k.endswith("." + short_name)]:
            del self._cache[key]
