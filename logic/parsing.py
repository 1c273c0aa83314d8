"""Parse first-order formulas written in nesy/NLTK/Prover9 style or in FOLIO's Unicode style.

Accepted notation (both styles may be mixed in one string):

==============  ==========================================
negation        ``-``  ``¬``  ``~``
and / or        ``&``  ``∧``   /   ``|``  ``∨``
implication     ``->`` ``→``  ``=>``
equivalence     ``<->`` ``↔`` ``⟷`` ``<=>``
exclusive or    ``<~>`` ``⊕``
quantifiers     ``all x.F``  ``all x y.F``  ``all x (F)``  ``forall x.F``  ``∀x F``  (``exists``/``∃``)
equality        ``a = b``  ``a != b``  ``a ≠ b``
==============  ==========================================

Precedence, tightest first: negation, ``&``, ``|``, exclusive or, ``->`` (right-associative),
``<->``. ``&``, ``|``, xor and ``<->`` associate to the left. A quantifier's body extends as far
to the right as possible (NLTK's convention).

A name in term position is a variable when an enclosing quantifier binds it, otherwise a
constant. Names are normalised to ``[A-Za-z_][A-Za-z0-9_]*`` so that every backend can print
them: accents are dropped (``Świątek`` -> ``Swiatek``), apostrophes and inner dots become ``_``
(FOLIO writes ``Companies’Stocks``, ``y42.3billion``), a leading digit gets an ``n`` prefix.

Errors are ``logic.errors.ParseError`` with the 0-based position and what was expected there.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from logic.errors import ParseError
from logic.syntax import And, Const, Eq, Exists, Forall, Formula, Func, Iff, Implies, Not, Or, Pred, Term, Var, Xor

MAX_DEPTH = 200  # nesting limit: deeper input is a ParseError, never a RecursionError

_NOT = {"-", "¬", "~"}
_AND = {"&", "∧"}
_OR = {"|", "∨"}
_XOR = {"<~>", "⊕"}
_IMP = {"->", "→", "=>"}
_IFF = {"<->", "↔", "⟷", "<=>"}
_EQ = {"="}
_NEQ = {"!=", "≠"}
_FORALL = {"∀"}
_EXISTS = {"∃"}
_FORALL_WORDS = {"all", "forall"}
_EXISTS_WORDS = {"exists"}
# longest first, so that "<->" wins over "<~>"... and "->" over "-"
_OPERATORS = sorted(
    {"(", ")", ",", ".", *(_NOT | _AND | _OR | _XOR | _IMP | _IFF | _EQ | _NEQ | _FORALL | _EXISTS)},
    key=len,
    reverse=True,
)
_APOSTROPHES = {"'", "’", "‘"}
_TRANSLIT = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d", "Đ": "D", "æ": "ae", "Æ": "AE", "œ": "oe"}


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "op" or "end"
    text: str  # normalised name, or the operator as written
    pos: int  # 0-based offset in the input


def normalise_name(raw: str) -> str:
    """Map a raw name (possibly Unicode, with apostrophes) to an ASCII identifier."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", raw):
        if unicodedata.combining(ch):
            continue
        if ch.isascii() and (ch.isalnum() or ch == "_"):
            out.append(ch)
        elif ch in _TRANSLIT:
            out.append(_TRANSLIT[ch])
        elif ch in _APOSTROPHES or ch == ".":
            out.append("_")
        else:
            out.append(f"u{ord(ch):04x}")
    name = "".join(out) or "_"
    return "n" + name if name[0].isdigit() else name


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into name and operator tokens, ending with an ``end`` token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if _is_name_char(ch):
            start = i
            while i < n:
                c = text[i]
                if _is_name_char(c):
                    i += 1
                elif c in _APOSTROPHES and i + 1 < n and _is_name_char(text[i + 1]):
                    i += 1  # Companies’Stocks
                elif c == "." and text[i - 1].isdigit() and i + 1 < n and text[i + 1].isdigit():
                    i += 1  # y42.3billion
                else:
                    break
            tokens.append(Token("name", normalise_name(text[start:i]), start))
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(Token("op", op, i))
                i += len(op)
                break
        else:
            raise ParseError(text, i, "a name, '(', a connective or a quantifier", ch)
    tokens.append(Token("end", "", n))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.bound: list[str] = []
        self.depth = 0

    # -- helpers ------------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def fail(self, expected: str) -> ParseError:
        t = self.tok
        return ParseError(self.text, t.pos, expected, t.text if t.kind != "end" else None)

    def accept(self, ops: set[str] | str) -> bool:
        ops = {ops} if isinstance(ops, str) else ops
        if self.tok.kind == "op" and self.tok.text in ops:
            self.i += 1
            return True
        return False

    def expect(self, op: str, expected: str | None = None) -> None:
        if not self.accept(op):
            raise self.fail(expected or repr(op))

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"at most {MAX_DEPTH} levels of nesting")

    # -- grammar ------------------------------------------------------------------------------
    def formula(self) -> Formula:
        self.enter()
        try:
            left = self.implication()
            while self.accept(_IFF):
                left = Iff(left, self.implication())
            return left
        finally:
            self.depth -= 1

    def implication(self) -> Formula:
        left = self.xor()
        if self.accept(_IMP):
            self.enter()
            try:
                return Implies(left, self.implication())
            finally:
                self.depth -= 1
        return left

    def xor(self) -> Formula:
        left = self.disjunction()
        while self.accept(_XOR):
            left = Xor(left, self.disjunction())
        return left

    def disjunction(self) -> Formula:
        left = self.conjunction()
        while self.accept(_OR):
            left = Or(left, self.conjunction())
        return left

    def conjunction(self) -> Formula:
        left = self.unary()
        while self.accept(_AND):
            left = And(left, self.unary())
        return left

    def unary(self) -> Formula:
        self.enter()
        try:
            if self.accept(_NOT):
                return Not(self.unary())
            if self.tok.kind == "op" and self.tok.text in _FORALL | _EXISTS:
                universal = self.tok.text in _FORALL
                self.i += 1
                return self.quantified(universal)
            if self.tok.kind == "name" and self.tok.text in _FORALL_WORDS | _EXISTS_WORDS and self.peek().kind == "name":
                universal = self.tok.text in _FORALL_WORDS
                self.i += 1
                return self.quantified(universal)
            if self.accept("("):
                inner = self.formula()
                self.expect(")", "')' or a connective")
                return inner
            if self.tok.kind == "name":
                return self.atom()
            raise self.fail("a formula (name, '(', negation or quantifier)")
        finally:
            self.depth -= 1

    def quantified(self, universal: bool) -> Formula:
        if self.tok.kind != "name":
            raise self.fail("a variable after the quantifier")
        names = [self.tok.text]
        self.i += 1
        # NLTK's "all x y z.F": extra variables only when the run of names ends in '.'
        j = self.i
        while self.tokens[j].kind == "name":
            j += 1
        if j > self.i and self.tokens[j].kind == "op" and self.tokens[j].text == ".":
            names.extend(t.text for t in self.tokens[self.i : j])
            self.i = j
        self.accept(".")
        self.bound.extend(names)
        try:
            body = self.formula()
        finally:
            del self.bound[len(self.bound) - len(names) :]
        for name in reversed(names):
            body = Forall(Var(name), body) if universal else Exists(Var(name), body)
        return body

    def atom(self) -> Formula:
        start = self.tok
        name = start.text
        self.i += 1
        args: tuple[Term, ...] = ()
        if self.accept("("):
            args = self.term_list()
        if self.tok.kind == "op" and self.tok.text in _EQ | _NEQ:
            negated = self.tok.text in _NEQ
            self.i += 1
            left = self.make_term(name, args)
            eq = Eq(left, self.term())
            return Not(eq) if negated else eq
        return Pred(name, args)

    def term_list(self) -> tuple[Term, ...]:
        args = [self.term()]
        while self.accept(","):
            args.append(self.term())
        self.expect(")", "',' or ')' after an argument")
        return tuple(args)

    def term(self) -> Term:
        self.enter()
        try:
            if self.tok.kind != "name":
                raise self.fail("a term (variable, constant or function application)")
            name = self.tok.text
            self.i += 1
            args: tuple[Term, ...] = ()
            if self.accept("("):
                args = self.term_list()
            return self.make_term(name, args)
        finally:
            self.depth -= 1

    def make_term(self, name: str, args: tuple[Term, ...]) -> Term:
        if args:
            return Func(name, args)
        return Var(name) if name in self.bound else Const(name)


def parse(text: str) -> Formula:
    """Parse one formula; raise ``ParseError`` (position + what was expected) when malformed."""
    if not isinstance(text, str):
        raise ParseError(repr(text), 0, "a string", type(text).__name__)
    parser = _Parser(text)
    if parser.tok.kind == "end":
        raise parser.fail("a formula")
    result = parser.formula()
    if parser.tok.kind != "end":
        raise parser.fail("end of formula or a connective")
    return result
