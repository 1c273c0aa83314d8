"""Delexicalisation for the trained translator: content words become numbered placeholders in
the source, symbol names in the target are written in terms of those placeholders, and the
decoded output is relexicalised from the sentence's own words.

A *content word* is any word (``[A-Za-z0-9]+``) of the sentence whose lower-cased form is not a
function word. Function words are learned from the training pairs (``learn_function_words``):
a word seen at least ``min_count`` times that is part of a symbol name of the paired formula in
fewer than ``max_share`` of its sentences ("is", "the", "if", "someone", ...). Content words are
numbered by first occurrence (the same word, case ignored, gets the same number) and written
``<i>``; the article "the" is kept (``keep_articles``, the default of models trained since it
was added) or left out (older models), as ``delex.json`` says::

    If the bald eagle visits Gary then Gary is red.
    If the <0> <1> <2> <3> then <3> is <4>.      (articles kept)
    If <0> <1> <2> <3> then <3> is <4>.          (articles left out)

In the target every symbol name (predicate, function, constant: found with
``logic.syntax.signature``) is rewritten part by part: the whole name, or else each piece of it
(split at ``_``, at lower-to-upper case changes and at letter/digit changes), that equals a
content word up to case and a plural ``s``/``es`` becomes a placeholder with its modifiers --
``^`` capitalise, ``,`` lower-case, ``+s``/``+es`` append, ``-s``/``-es`` strip::

    ((visits(bald_eagle, Gary) ...      ->  ((<2>(<0>_<1>, <3>) ...
    all x.(Dog(x) -> Bark(x))  [All dogs bark.]  ->  all x.(<0^-s>(x) -> <1^>(x))

Pieces that match no content word stay literal (the model writes them). ``relexicalise``
substitutes the sentence's words back; a placeholder the sentence does not have is a
``ParseError`` (so repaired decoding re-samples it).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from logic.errors import ParseError
from logic.parsing import parse
from logic.syntax import signature

WORD = re.compile(r"[A-Za-z0-9]+")
PIECE = re.compile(r"_|[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
PLACEHOLDER = re.compile(r"<(\d+)(\^|,)?([+-](?:es|s))?>")
SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SUFFIXES = ("", "+s", "-s", "+es", "-es")
ARTICLES = frozenset({"the"})


def content_words(sentence: str, function_words: frozenset[str]) -> list[str]:
    """The sentence's distinct content words (first spelling kept), in order of first occurrence."""
    seen: dict[str, str] = {}
    for w in WORD.findall(sentence):
        if w.lower() not in function_words and w.lower() not in seen:
            seen[w.lower()] = w
    return list(seen.values())


def delexicalise_source(sentence: str, function_words: frozenset[str], keep_articles: bool = False) -> tuple[str, list[str]]:
    """The sentence with content word i written ``<i>``, and the content words. The article "the"
    is left out unless ``keep_articles`` (left out, "Bob is big." and "The bear is big." share one
    template, but "The bald eagle chases the cat." and "The lion chases the bald eagle." become
    the same ``<0> <1> <2> <3>.``; kept, it marks where each name starts)."""
    words = content_words(sentence, function_words)
    index = {w.lower(): i for i, w in enumerate(words)}

    def sub(m: re.Match) -> str:
        w = m.group(0)
        i = index.get(w.lower())
        if i is None:
            return "" if w.lower() in ARTICLES and not keep_articles else w
        return f"<{i}>"

    return re.sub(r"\s+", " ", WORD.sub(sub, sentence)).strip(), words


def placeholder_tokens(count: int = 32) -> list[str]:
    """Every placeholder spelling for the first ``count`` content words, each made one token of
    a trained translator's vocabulary (``<0>``, ``<0^>``, ``<0,-s>``, ...): a small model then
    reads and writes a placeholder as one symbol instead of assembling ``<``, digits and ``>``."""
    return [f"<{i}{case}{suffix}>" for i in range(count) for case in ("", "^", ",") for suffix in SUFFIXES]


def _apply(word: str, case: str, suffix: str) -> str:
    if suffix.startswith("+"):
        word = word + suffix[1:]
    elif suffix.startswith("-"):
        word = word[: -len(suffix) + 1] if word.lower().endswith(suffix[1:]) and len(word) > len(suffix) else word
    if case == "^":
        return word[:1].upper() + word[1:]
    if case == ",":
        return word.lower()
    return word


def _placeholder_for(piece: str, words: Sequence[str]) -> str | None:
    """The placeholder spelling ``piece`` from one of ``words`` (simplest modifiers first)."""
    for suffix in SUFFIXES:
        for i, w in enumerate(words):
            for case in ("", "^", ","):
                if _apply(w, case, suffix) == piece:
                    return f"<{i}{case}{suffix}>"
    return None


def _delex_name(name: str, words: Sequence[str]) -> str:
    whole = _placeholder_for(name, words)
    if whole is not None:
        return whole
    pieces = PIECE.findall(name)
    if "".join(pieces) != name:
        return name
    return "".join(p if p == "_" else (_placeholder_for(p, words) or p) for p in pieces)


def delexicalise_target(formula_text: str, words: Sequence[str]) -> str:
    """Rewrite the symbol names of a formula (nesy syntax) in terms of ``words``' placeholders."""
    names = {s.name for s in signature([parse(formula_text)])}
    if not names or not words:
        return formula_text
    mapping = {n: _delex_name(n, words) for n in names}
    return SYMBOL.sub(lambda m: mapping.get(m.group(0), m.group(0)), formula_text)


def relexicalise(text: str, words: Sequence[str]) -> str:
    """Substitute the sentence's words for the placeholders of a decoded formula."""

    def sub(m: re.Match) -> str:
        i = int(m.group(1))
        if i >= len(words):
            raise ParseError(text, m.start(), f"a placeholder below <{len(words)}> (the sentence's content words)", m.group(0))
        return _apply(words[i], m.group(2) or "", m.group(3) or "")

    return PLACEHOLDER.sub(sub, text)


def learn_function_words(pairs: Iterable[tuple[str, str]], *, min_count: int = 5, max_share: float = 0.5) -> frozenset[str]:
    """Words that are seldom part of a symbol name of their sentence's formula (see module doc).
    ``pairs`` are (sentence without prefix, formula text that parses)."""
    seen: Counter[str] = Counter()
    used: Counter[str] = Counter()
    for sentence, target in pairs:
        names = [s.name for s in signature([parse(target)])]
        pieces = {p.lower() for n in names for p in [n, *PIECE.findall(n)] if p != "_"}
        for w in {w.lower() for w in WORD.findall(sentence)}:
            seen[w] += 1
            forms = {w, w + "s", w + "es", w[:-1] if w.endswith("s") else w, w[:-2] if w.endswith("es") else w}
            if forms & pieces:
                used[w] += 1
    return frozenset(w for w, n in seen.items() if n >= min_count and used[w] < max_share * n)
