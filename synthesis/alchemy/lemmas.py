"""Which lemmas can mutate a theorem: shapes read from the premise corpus, and the pruning that
runs before any prover call.

Alchemy tried every theorem of Mathlib against every target (about 1,750 CPU-seconds per
verified variant). nesy prunes first, with no prover involved:

1. **Shape.** A premise's statement (its ``code`` in the traced corpus) is cut into binders,
   antecedents and conclusion. A *rewrite* lemma concludes ``l = r`` or ``l <-> r``; any lemma
   with at least one antecedent can be *applied* to a hypothesis.
2. **Symbols.** The constants and notation symbols of the side that must match (``l`` for a
   left-to-right rewrite, ``r`` for right-to-left, the conclusion for apply), its bound variables
   left out, must all occur in the target (the goal's conclusion or one hypothesis). A side with
   no symbol at all (a bare variable) matches everything and is dropped: the rewrites it allows
   are not mutations a reader would recognise; so is a side that is one constant (rewriting from
   ``false`` would turn every ``false`` into, say, ``Nat.even 1``).
3. **Retrieval.** What is left is ranked by the BM25 score of the lemma against the target
   (:class:`retrieval.retrievers.BM25Retriever`), and only the ``max_candidates`` best per
   target and mode are tried in the prover.

Only premises accessible at the theorem's place count (ReProver's rule,
:meth:`retrieval.corpus.PremiseCorpus.accessible_indices`): imported, or earlier in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

_IDENT = re.compile(r"[A-Za-z_][\w']*(?:\.[A-Za-z_][\w']*)*")
_OPERATOR = re.compile(r"[-+*/<>=~\\&|^!@#$%?:;]+")
_TOKEN = re.compile(rf"{_IDENT.pattern}|\d+|{_OPERATOR.pattern}|[()\[\]{{}},`]")
_KEYWORDS = frozenset({
    "forall", "exists", "exists2", "fun", "fix", "cofix", "match", "with", "end", "let", "in", "if", "then", "else",
    "return", "as", "Type", "Prop", "Set", "SProp", "_",
})
# Operators that are structure, not symbols a lemma can match on.
_STRUCTURAL = frozenset({":", ",", "->", ":=", "=>", "|", ";", "%", "@", "'", "`"})
REWRITE_RELATIONS = ("=", "<->", "==")  # "==": setoid equalities, which rewrite rewrites too


@dataclass(frozen=True)
class LemmaShape:
    """What the pruning needs of one premise (see the module doc)."""

    index: int  # in the corpus
    antecedents: int  # implications before the conclusion
    conclusion: str
    lhs: str | None = None  # the two sides of a rewrite lemma (None: not a rewrite lemma)
    rhs: str | None = None
    lhs_symbols: frozenset[str] = frozenset()
    rhs_symbols: frozenset[str] = frozenset()
    conclusion_symbols: frozenset[str] = frozenset()

    @property
    def rewrites(self) -> bool:
        return self.lhs is not None


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def symbols(text: str, bound: frozenset[str] | set[str] = frozenset()) -> frozenset[str]:
    """Constants (last component of a qualified name) and notation symbols of ``text``, without
    the names in ``bound``, keywords, numerals (they print as notations of several types) and
    punctuation."""
    out = set()
    for tok in tokens(text):
        if _IDENT.fullmatch(tok):
            if tok in bound or tok in _KEYWORDS:
                continue
            out.add(tok.rsplit(".", 1)[-1])
        elif _OPERATOR.fullmatch(tok) and tok not in _STRUCTURAL:
            out.add(tok)
    return frozenset(out)


def split_top(text: str, sep: str) -> list[str]:
    """``text`` cut at every ``sep`` outside brackets (``sep`` a word-like or symbolic token)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            before = text[i - 1] if i else " "
            after = text[i + len(sep)] if i + len(sep) < len(text) else " "
            symbolic = not sep[0].isalnum()
            ok = (not _OPERATOR.fullmatch(before + sep[0]) and not _OPERATOR.fullmatch(sep[-1] + after)) if symbolic else \
                 (not (before.isalnum() or before in "_'") and not (after.isalnum() or after in "_'"))
            if ok:
                parts.append(text[start:i])
                start = i + len(sep)
                i = start
                continue
        i += 1
    parts.append(text[start:])
    return parts


def statement_type(code: str, name: str) -> tuple[str, frozenset[str]] | None:
    """The type a premise's ``code`` states, and the names its binders bind; None if unreadable.

    ``code`` is a declaration (``Lemma n binders : T.``, ``Definition n : T := t.``) or, for a
    member brought in by ``Include``, ``n : T``.
    """
    text = " ".join(code.split())
    short = name.rsplit(".", 1)[-1]
    m = re.search(rf"(?<![\w'.]){re.escape(short)}(?![\w'])", text)
    if m is None:
        return None
    rest = text[m.end():]
    parts = split_top(rest, ":")
    # the first top-level colon not part of ':=' or '::' (handled by _split_top's symbolic check)
    if len(parts) < 2:
        return None
    binders, body = parts[0], ":".join(parts[1:])
    body = split_top(body, ":=")[0].strip().rstrip(".").strip()
    bound = set(re.findall(r"[A-Za-z_][\w']*", re.sub(r":[^()\[\]{}]*", " ", binders)))
    return body, frozenset(bound)


def _strip_quantifiers(body: str, bound: set[str]) -> str:
    """``forall x y : T, P`` -> ``P`` (binders recorded in ``bound``), repeatedly."""
    while True:
        s = body.strip()
        if not s.startswith("forall ") and not s.startswith("forall("):
            return s
        pieces = split_top(s[len("forall"):], ",")
        if len(pieces) < 2:
            return s
        head = pieces[0]
        bound.update(re.findall(r"[A-Za-z_][\w']*", re.sub(r":[^()\[\]{}]*", " ", head)))
        body = ",".join(pieces[1:])


def shape_of(index: int, code: str, name: str) -> LemmaShape | None:
    """The :class:`LemmaShape` of a premise, or None when its statement cannot be read."""
    read = statement_type(code, name)
    if read is None:
        return None
    body, binders = read
    bound = set(binders)
    antecedents = 0
    while True:
        body = _strip_quantifiers(body, bound)
        arrows = split_top(body, "->")
        if len(arrows) == 1:
            break
        antecedents += len(arrows) - 1
        body = arrows[-1]
    conclusion = _unparen(body.strip())
    for head in re.findall(r"\b(?:exists2?|fun|forall)\s+([^,]*?)(?:,|=>)", conclusion):  # binders inside the conclusion
        bound.update(re.findall(r"[A-Za-z_][\w']*", re.sub(r":[^()\[\]{}]*", " ", head)))
    bound_f = frozenset(bound)
    lhs = rhs = None
    for rel in REWRITE_RELATIONS:
        sides = split_top(conclusion, rel)
        if len(sides) == 2 and sides[0].strip() and sides[1].strip():
            lhs, rhs = sides[0].strip(), sides[1].strip()
            break
    return LemmaShape(
        index=index, antecedents=antecedents, conclusion=conclusion, lhs=lhs, rhs=rhs,
        lhs_symbols=symbols(lhs, bound_f) if lhs else frozenset(),
        rhs_symbols=symbols(rhs, bound_f) if rhs else frozenset(),
        conclusion_symbols=symbols(conclusion, bound_f),
    )


def _atomic(side: str | None) -> bool:
    """A side that is one constant (``false``, ``nil``): rewriting from it would expand every
    occurrence of that constant (``false`` into ``Nat.even 1``), which is no variant a reader
    would recognise."""
    return side is not None and len(tokens(_unparen(side))) == 1


def _unparen(text: str) -> str:
    while text.startswith("(") and text.endswith(")") and len(split_top(text[1:-1], ")")) == 1 and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += c in "([{"
        depth -= c in ")]}"
        if depth < 0:
            return False
    return depth == 0


# Eliminators Coq generates for an inductive type: "applying" one to a hypothesis asks for its
# induction hypotheses, which no reader would call a variant of the theorem.
_ELIMINATOR = re.compile(r"_(?:ind|sind|rec|rect)$")

_PROOF_KINDS = frozenset({"Lemma", "Theorem", "Corollary", "Proposition", "Fact", "Remark", "Property", "Included", "Definition", "Instance", "Constructor"})


class LemmaTable:
    """The shapes of every premise of a corpus, built once per worker, and the pruning."""

    def __init__(self, corpus) -> None:
        self.corpus = corpus
        self.shapes: list[LemmaShape | None] = []
        for i, p in enumerate(corpus.premises):
            usable = (p.kind or "Lemma") in _PROOF_KINDS and not _ELIMINATOR.search(p.full_name)
            shape = shape_of(i, p.code, p.full_name) if usable else None
            self.shapes.append(shape)
        self._bm25 = None

    @property
    def bm25(self):
        if self._bm25 is None:
            from retrieval.retrievers import BM25Retriever

            self._bm25 = BM25Retriever(self.corpus)
        return self._bm25

    def candidates(self, target: str, accessible: np.ndarray, mode: str, limit: int, allowed=None, *,
                   prune: bool = True) -> tuple[list[tuple[int, str]], dict]:
        """The lemmas worth trying on ``target``: ``(corpus index, direction)`` best first, at most
        ``limit``, and the counts at each pruning stage.

        ``mode`` is ``rw`` (direction ``->`` or ``<-``) or ``apply`` (direction ``""``);
        ``accessible`` the corpus indices accessible at the theorem; ``allowed`` an optional
        predicate on the index (lemmas an evaluation split keeps for itself are left out)."""
        have = symbols(target)
        passed: list[tuple[int, str]] = []
        considered = 0
        for i in accessible:
            i = int(i)
            shape = self.shapes[i]
            if shape is None or (allowed is not None and not allowed(i)):
                continue
            if mode == "rw":
                if not shape.rewrites:
                    continue
                considered += 1
                if shape.lhs_symbols and shape.lhs_symbols <= have and not _atomic(shape.lhs):
                    passed.append((i, "->"))
                if shape.rhs_symbols and shape.rhs_symbols <= have and not _atomic(shape.rhs):
                    passed.append((i, "<-"))
            else:
                if shape.antecedents < 1:
                    continue
                considered += 1
                if shape.conclusion_symbols and shape.conclusion_symbols <= have:
                    passed.append((i, ""))
        counts = {"lemmas": considered, "symbol_matches": len(passed)}
        if not prune:  # the ablation: as many candidates, drawn at random from every shape-eligible lemma
            import random
            import zlib

            pool = []
            for i in accessible:
                shape = self.shapes[int(i)]
                if shape is None or (allowed is not None and not allowed(int(i))):
                    continue
                if mode == "rw" and shape.rewrites:
                    pool += [(int(i), "->"), (int(i), "<-")]
                elif mode == "apply" and shape.antecedents >= 1:
                    pool.append((int(i), ""))
            rng = random.Random(zlib.crc32(target.encode()))
            passed = rng.sample(pool, min(limit, len(pool)))
            counts["tried"] = len(passed)
            return passed, counts
        if len(passed) > limit:
            scores = self.bm25.scores(target)
            order = sorted(range(len(passed)), key=lambda j: (-scores[passed[j][0]], j))
            passed = [passed[j] for j in order[:limit]]
        counts["tried"] = len(passed)
        return passed, counts


__all__ = ["LemmaShape", "LemmaTable", "shape_of", "statement_type", "symbols", "tokens"]
