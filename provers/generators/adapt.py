"""Fitting a remembered tactic to a new goal: the names of its hypotheses.

A tactic copied from a training state (``knn:``) names that state's hypotheses: ``apply H0``,
``rewrite IHn``, ``destruct H as [x Hx]``, ``lia`` needs none. In the new state the hypothesis
the tactic needs is often there under another name (``H1`` for ``H0``, ``IHl`` for ``IHn``), and
the verbatim copy fails with "The variable H0 was not found". Tactician has the same problem and
copies verbatim; here the names are mapped first.

The correspondence is built from the two local contexts (the hypotheses of each state's first
goal), in order: a source hypothesis corresponds to the first unclaimed target hypothesis whose
type, with the source names mapped so far replaced by their targets, is the same text (so
``n : nat`` / ``H : n <= m`` maps onto ``a : nat`` / ``Hab : a <= b`` name by name). A hypothesis
that keeps its name and type keeps its name. Then every local name the tactic uses is renamed
simultaneously; when a name the tactic uses is not in the new context and has no counterpart,
the tactic cannot be fitted (:func:`fit_tactic` returns None).

Everything here is text: a renamed tactic is still hostile input, vetted and run by the
environment like any other, and a wrong guess costs one failed tactic.
"""

from __future__ import annotations

import functools
import re

from retrieval.text import SEPARATOR_LINE, UNFOCUSED_LINE

_HYP = re.compile(r"^([A-Za-z_][\w']*(?:\s*,\s*[A-Za-z_][\w']*)*)\s*(:=?)\s(.*)$")
# an identifier that is not part of a qualified name (``Nat.add``, ``H.1``) nor of a longer word,
# nor the parameter name of a named argument (``with (m := x)``: ``m`` is the lemma's, not a local)
_IDENT = re.compile(r"(?<![\w'.])([A-Za-z_][\w']*)(?![\w']|\.[\w']|\s*:=)")


@functools.lru_cache(maxsize=8192)
def hypotheses(state: str) -> tuple[tuple[str, str], ...]:
    """``(name, type)`` of the first goal's hypotheses, in order (``a, b : T`` gives two; a
    definition ``x := t : T`` keeps ``:= t : T`` as its type text); whitespace collapsed.
    Cached: a search asks for the same states again and again."""
    out: list[tuple[list[str], list[str]]] = []
    for line in state.splitlines():
        if SEPARATOR_LINE.match(line):
            break
        if UNFOCUSED_LINE.match(line) or not line.strip():
            continue
        m = _HYP.match(line) if not line[:1].isspace() else None
        if m:
            names = [n.strip() for n in m.group(1).split(",")]
            typ = (":= " if m.group(2) == ":=" else "") + m.group(3)
            out.append((names, [typ]))
        elif out:  # a type printed over several lines
            out[-1][1].append(line.strip())
    return tuple((n, " ".join(" ".join(t).split())) for names, t in out for n in names)


def _rename(text: str, mapping: dict[str, str]) -> str:
    if not mapping:
        return text
    return _IDENT.sub(lambda m: mapping.get(m.group(1), m.group(1)), text)


def correspondence(source, target) -> dict[str, str]:
    """Source hypothesis name -> target hypothesis name, as the module docstring says."""
    mapping: dict[str, str] = {}
    target_type = dict(target)
    # names that keep their name and type as printed are not offered to other hypotheses
    claimed: set[str] = {n for n, t in source if target_type.get(n) == t}
    for name, typ in source:
        want = _rename(typ, mapping)
        if target_type.get(name) == want and name not in mapping.values():
            mapping[name] = name
            claimed.add(name)
            continue
        for cand, ctyp in target:
            if cand not in claimed and ctyp == want:
                mapping[name] = cand
                claimed.add(cand)
                break
    return mapping


def fit_tactic(tactic: str, source_state: str, target_state: str) -> str | None:
    """``tactic``, run on ``source_state``, with its hypothesis names fitted to ``target_state``.

    The tactic itself when it needs no change; None when a name it uses is a source hypothesis
    that the target lacks and that has no counterpart there.
    """
    src = hypotheses(source_state)
    if not src:
        return tactic
    src_names = {n for n, _ in src}
    idents = _IDENT.findall(tactic)
    used = [n for n in dict.fromkeys(idents) if n in src_names]
    if not used:
        return tactic
    tgt = hypotheses(target_state)
    tgt_names = {n for n, _ in tgt}
    mapping = correspondence(src, tgt)
    rename: dict[str, str] = {}
    for n in used:
        if n in mapping:
            if mapping[n] != n:
                rename[n] = mapping[n]
        elif n not in tgt_names:
            return None
    if not rename:
        return tactic
    # a target name the tactic already uses for something else (a binder, a name kept as it
    # is) would be captured by the renaming
    kept = {n for n in idents if n not in rename}
    if kept & set(rename.values()):
        return None
    return _rename(tactic, rename)
