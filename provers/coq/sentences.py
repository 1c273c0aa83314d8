"""Splitting Coq text into sentences, and deciding which sentences a tactic may contain.

A tactic string comes from a model and is untrusted. It may hold several sentences
(``intros. lia.``) and bullets (``- lia.``); each sentence is checked before anything reaches Coq:
vernacular commands (``Qed``, ``Admitted``, ``Axiom``, ``Require``, ``Set``, ...) are refused,
and ``admit``/``give_up`` mark the attempt as given up.

Coq's lexical rules that matter here: a sentence ends at a ``.`` followed by white space or the
end of the text; ``(* ... *)`` comments nest; ``"..."`` strings escape ``"`` by doubling it; a
bullet (a run of ``-``, ``+`` or ``*``) and the braces ``{``/``}`` are sentences of their own at
the start of a sentence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from provers.errors import InputError


class SentenceError(InputError):
    """Text that cannot be cut into complete sentences (an unclosed comment or string, say)."""


@dataclass(frozen=True)
class Sentence:
    text: str  # the sentence, comments kept, surrounding white space stripped
    start: int  # offset in the original text


_BULLET_CHARS = "-+*"


def split_sentences(text: str, *, allow_trailing: bool = False) -> list[Sentence]:
    """Cut ``text`` into sentences.

    Raises :class:`SentenceError` on an unterminated comment or string, or (unless
    ``allow_trailing``) on text after the last full stop that is not white space or comments.
    """
    out: list[Sentence] = []
    i, n = 0, len(text)
    start: int | None = None  # start of the current sentence, None between sentences
    while i < n:
        c = text[i]
        if text.startswith("(*", i):
            i = _skip_comment(text, i)
            continue
        if start is None:
            if c.isspace():
                i += 1
                continue
            if c in _BULLET_CHARS:
                j = i
                while j < n and text[j] == c:
                    j += 1
                out.append(Sentence(text[i:j], i))
                i = j
                continue
            if c in "{}":
                out.append(Sentence(c, i))
                i += 1
                continue
            start = i
        if c == '"':
            i = _skip_string(text, i)
            continue
        if c == "{" and _SELECTOR_BRACE_RE.fullmatch(_blank_comments(text[start:i])):
            out.append(Sentence(text[start : i + 1].strip(), start))  # goal selector + brace: "2: {"
            start = None
            i += 1
            continue
        if c == "." and (i + 1 == n or text[i + 1].isspace()) and not (i > 0 and text[i - 1] == "."):
            out.append(Sentence(text[start : i + 1].strip(), start))
            start = None
            i += 1
            continue
        if c == "." and i + 1 < n and text[i + 1] == "." and i + 2 < n and text[i + 2] == ".":
            if i + 3 == n or text[i + 3].isspace():
                # "tac..." ends a sentence too: the tactic followed by the "Proof with" tactic
                out.append(Sentence(text[start : i + 3].strip(), start))
                start = None
                i += 3
                continue
            i += 3  # "..." ellipsis inside a tactic
            continue
        i += 1
    if start is not None:
        rest = text[start:].strip()
        if not allow_trailing:
            raise SentenceError(f"sentence not terminated by '.': {rest[:80]!r}")
        out.append(Sentence(rest, start))
    return out


# A goal selector ("2:", "1-3, 5:", "[H]:", "all:", "!:", "par:"). Before a brace it ends a sentence
# ("2: {"); Coq reads comments as blanks, so that prefix is matched with its comments blanked out
# ("1 (**) : {" is a selector too).
SELECTOR = r"\s*(?:all|\d+(?:\s*[-,]\s*\d+)*|\[[^\]]*\]|!|par)\s*:\s*"
_SELECTOR_BRACE_RE = re.compile(SELECTOR)


def is_bullet_or_brace(text: str) -> bool:
    """A sentence that is only a bullet (``-``, ``++``, ``***``) or a brace."""
    return text in ("{", "}") or (bool(text) and set(text) <= set(_BULLET_CHARS))


def _blank_comments(text: str) -> str:
    """``text`` with each comment replaced by one space (unterminated comments left as they are)."""
    try:
        return strip_comments(text)
    except SentenceError:
        return text


def _skip_comment(text: str, i: int) -> int:
    depth, j, n = 0, i, len(text)
    while j < n:
        if text.startswith("(*", j):
            depth += 1
            j += 2
        elif text.startswith("*)", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        elif text[j] == '"':
            j = _skip_string(text, j)
        else:
            j += 1
    raise SentenceError(f"unterminated comment starting at offset {i}")


def _skip_string(text: str, i: int) -> int:
    j, n = i + 1, len(text)
    while j < n:
        if text[j] == '"':
            if j + 1 < n and text[j + 1] == '"':
                j += 2
                continue
            return j + 1
        j += 1
    raise SentenceError(f"unterminated string starting at offset {i}")


def strip_comments(sentence: str) -> str:
    """The sentence without its comments (strings kept)."""
    out, i, n = [], 0, len(sentence)
    while i < n:
        if sentence.startswith("(*", i):
            i = _skip_comment(sentence, i)
            out.append(" ")
        elif sentence[i] == '"':
            j = _skip_string(sentence, i)
            out.append(sentence[i:j])
            i = j
        else:
            out.append(sentence[i])
            i += 1
    return "".join(out).strip()


# Vernacular commands that could end, fake or change a proof, or touch the system. Any sentence
# whose first word starts with a capital letter is refused too (Coq's vernacular is capitalised,
# its tactics are not); this list only gives the common ones a precise message.
DANGEROUS_VERNACULAR = frozenset(
    """Admitted Abort Axiom Axioms Parameter Parameters Conjecture Hypothesis Hypotheses Variable
    Variables Context Qed Defined Save Proof Require Import Export Load Redirect Drop Set Unset
    Extraction Recursive Separate Declare Add Remove Reset Back BackTo Undo Restart Focus Unfocus
    Unshelve Show Timeout Time Fail Succeed Instructions Profile Local Global Program Theorem Lemma
    Definition Fixpoint CoFixpoint Example Fact Remark Corollary Proposition Instance Existing
    Module Section End Ltac Ltac2 Tactic Notation Infix Reserved Hint Opaque Transparent Strategy
    Obligation Obligations Next Solve Goal Print Check Search About Locate Compute Eval Cd Pwd
    Inductive CoInductive Record Structure Class Canonical Coercion Arguments Implicit Generalizable
    Open Close Bind Delimit Scheme Combined Register Primitive Typeclasses Guarded""".split()
)

GIVE_UP_TACTICS = ("admit", "give_up")

_GIVE_UP_RE = re.compile(r"(?<![\w'.])(admit|give_up)(?![\w'])")
_SELECTOR_RE = re.compile(SELECTOR)


@dataclass(frozen=True)
class TacticCheck:
    """The verdict on one tactic string: ``sentences`` to run, or why not."""

    sentences: tuple[str, ...]
    refused: str | None = None  # a message: the tactic must not run
    gives_up: bool = False  # uses admit/give_up: the attempt counts as given up


@lru_cache(maxsize=1 << 16)
def check_tactic(tactic: str) -> TacticCheck:
    """Split an untrusted tactic string into sentences and vet each one.

    A tactic string without a final full stop is taken as one sentence (``lia`` means ``lia.``).
    The sentences returned have their comments removed: they are what the environment sends to
    Coq and what the proof file holds, so a comment can never make nesy and Coq disagree on where
    a sentence ends (``1 (**) : { Unset Guard Checking.`` is a selector, then a refused command).
    Each returned sentence is checked to split back into exactly itself.

    The verdict is a pure function of the string, so it is memoised: search sends the same
    tactics (a portfolio, a model's favourites) to state after state.
    """
    if "\x00" in tactic:
        return TacticCheck((), refused="tactic contains a NUL byte")
    odd = _odd_character(tactic)
    if odd:
        return TacticCheck((), refused=f"refused: tactic contains {odd}")
    stripped = tactic.strip()
    if not stripped:
        return TacticCheck((), refused="empty tactic")
    try:
        sentences = split_sentences(stripped, allow_trailing=True)
    except SentenceError as exc:
        return TacticCheck((), refused=f"malformed tactic: {exc}")
    texts: list[str] = []
    gives_up = False
    for s in sentences:
        try:
            body = strip_comments(s.text)
        except SentenceError as exc:
            return TacticCheck((), refused=f"malformed tactic: {exc}")
        if not body:
            continue
        text = body if body.endswith((".", "{")) or is_bullet_or_brace(body) else body + "."
        reason = _vernacular_reason(body)
        if reason:
            return TacticCheck((), refused=reason)
        try:
            again = [x.text for x in split_sentences(text, allow_trailing=False)]
        except SentenceError:
            again = []
        if again != [text]:
            return TacticCheck((), refused=f"refused: ambiguous sentence boundaries in {text[:60]!r}")
        if _GIVE_UP_RE.search(_without_strings(body)):
            gives_up = True
        texts.append(text)
    if not texts:
        return TacticCheck((), refused="tactic has no sentence (only comments)")
    return TacticCheck(tuple(texts), gives_up=gives_up)


def _odd_character(text: str) -> str | None:
    """A character Coq's lexer and Python may read differently (control or non-ASCII blank)."""
    for ch in text:
        if ch in "\t\n\r ":
            continue
        if ord(ch) < 32 or ord(ch) == 127:
            return f"the control character {ch!r}"
        if ord(ch) > 127 and (ch.isspace() or unicodedata.category(ch) in ("Zs", "Zl", "Zp", "Cc", "Cf")):
            return f"the non-ASCII blank or format character U+{ord(ch):04X}"
    return None


def _without_strings(text: str) -> str:
    return re.sub(r'"(?:[^"]|"")*"', '""', text)


def _vernacular_reason(body: str) -> str | None:
    if is_bullet_or_brace(body):
        return None
    rest = body
    while True:  # "1: 2: tac" is a parse error in Coq, but never let a second selector hide a word
        m = _SELECTOR_RE.match(rest)
        if not m or not m.group(0):
            break
        rest = rest[m.end():]
    if rest.startswith("#["):
        return f"refused: attributes are vernacular, not tactics: {body[:60]!r}"
    match = re.match(r"[A-Za-z_][\w']*", rest)
    if not match:
        if rest.startswith(("{", "(", "[")) or rest[:1] in "-+*":
            return None
        return f"refused: not a tactic: {body[:60]!r}"
    word = match.group(0)
    if word in DANGEROUS_VERNACULAR:
        return f"refused: the vernacular command {word!r} is not allowed in a tactic"
    if word[0].isupper():
        return f"refused: {word!r} looks like a vernacular command (tactics start with a lower-case word)"
    return None
