"""What a Coq sentence declares, where names live (modules, sections), and what a tactic names.

Everything here is syntactic and works on one sentence at a time; :mod:`provers.tracing.replay`
runs the sentences through Coq, which has the last word (a sentence we misread still runs).

* :func:`declared` — the global names a vernacular sentence introduces, with their kind and the
  span of text that states each (a constructor's clause, a record field, the whole sentence).
* :class:`Scopes` — the stack of open modules and sections; a name declared inside ``Module M``
  of file ``Lib.F`` is ``Lib.F.M.name``; sections add nothing (Coq discharges them at ``End``).
* :func:`identifiers` — the (possibly qualified) identifiers a tactic names, with offsets, outside
  comments and strings; which of them are constants is decided by Coq's ``Locate``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from provers.coq.files import THEOREM_KEYWORDS as COQ_THEOREM_KEYWORDS
from provers.coq.sentences import _skip_comment, _skip_string

THEOREM_KEYWORDS = frozenset(COQ_THEOREM_KEYWORDS)
DEFINITION_KEYWORDS = frozenset("Definition Fixpoint CoFixpoint Let Function Instance Scheme".split())
AXIOM_KEYWORDS = frozenset("Axiom Axioms Conjecture Conjectures Parameter Parameters".split())
INDUCTIVE_KEYWORDS = frozenset("Inductive CoInductive Variant".split())
RECORD_KEYWORDS = frozenset("Record Structure Class".split())

_MODIFIERS = re.compile(
    r"^(?:\s*#\[[^\]]*\]|\s*(?:Local|Global|Polymorphic|Monomorphic|Program|Private|Cumulative|"
    r"NonCumulative|Template|Unset\s+Universe\s+Polymorphism)\b)*\s*"
)
_IDENT = r"[A-Za-z_\u00C0-\uFFFF][\w'\u00C0-\uFFFF]*"
_IDENT_RE = re.compile(_IDENT)
_QUALID_RE = re.compile(rf"(?<![\w'.]){_IDENT}(?:\.{_IDENT})*")


def blank_comments(text: str) -> str:
    """``text`` with comments and string contents replaced by spaces (offsets and newlines kept)."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        if text.startswith("(*", i):
            j = _skip_comment(text, i)
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        elif text[i] == '"':
            j = _skip_string(text, i)
            for k in range(i + 1, j - 1):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        else:
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class Declared:
    """A global name a sentence introduces: ``name`` (short), its ``kind`` (the keyword, or
    ``Constructor``/``Field``), and the offsets ``start..end`` in the sentence of the text that
    states it (``code``)."""

    name: str
    kind: str
    start: int
    end: int
    code: str


def head(sentence: str) -> tuple[str, int]:
    """The first keyword of a sentence after attributes and modifiers, and its offset."""
    m = _MODIFIERS.match(sentence)
    rest_at = m.end() if m else 0
    k = _IDENT_RE.match(sentence, rest_at)
    return (k.group(0), rest_at) if k else ("", rest_at)


def declared(sentence: str) -> list[Declared]:
    """The global names a vernacular sentence declares (empty for anything else).

    ``sentence`` is the sentence as written; comments are ignored. Section-local names
    (``Variable``, ``Hypothesis``, ``Context``) and anonymous instances are not global names.
    """
    text = blank_comments(sentence)
    kw, at = head(text)
    after = at + len(kw)
    if kw in THEOREM_KEYWORDS or kw in DEFINITION_KEYWORDS:
        if kw == "Scheme":
            return _scheme(sentence, text, after)
        return _mutual(sentence, text, kw, after)
    if kw in AXIOM_KEYWORDS:
        return _axioms(sentence, text, kw, after)
    if kw in INDUCTIVE_KEYWORDS:
        return _inductive(sentence, text, kw, after)
    if kw in RECORD_KEYWORDS:
        return _record(sentence, text, kw, after)
    return []


def _name_at(text: str, pos: int) -> re.Match | None:
    return re.compile(r"\s*(" + _IDENT + r")").match(text, pos)


def _clean(code: str) -> str:
    return re.sub(r"[ \t]+\n", "\n", blank_comments(code)).strip()


def _mutual(sentence: str, text: str, kw: str, after: int) -> list[Declared]:
    out = []
    for block_start, block_end in _split_top(text, after, len(text), words=("with",)):
        m = _name_at(text, block_start)
        if m and m.group(1) not in ("with",):
            if kw == "Instance" and text[m.end(1):].lstrip().startswith(":") and m.group(1) == "":
                continue
            out.append(Declared(m.group(1), kw, 0, len(sentence), _clean(sentence)))
    if kw == "Instance" and out and re.match(r"\s*:", text[after:]):
        return []  # "Instance : C." is anonymous
    return out


def _scheme(sentence: str, text: str, after: int) -> list[Declared]:
    out = []
    for a, b in _split_top(text, after, len(text), words=("with",)):
        m = re.compile(r"\s*(?:(?:Equality|Boolean\s+Equality)\s+for\s+)?(" + _IDENT + r")\s*:=").match(text, a)
        if m:
            out.append(Declared(m.group(1), "Scheme", 0, len(sentence), _clean(sentence)))
    return out


def _axioms(sentence: str, text: str, kw: str, after: int) -> list[Declared]:
    body = text[after:]
    names: list[str] = []
    if body.lstrip().startswith("("):  # Parameters (a b : T) (c : U).
        for grp in re.finditer(r"\(([^():]*):", body):
            names.extend(_IDENT_RE.findall(grp.group(1)))
    else:
        colon = _find_top(text, after, len(text), ":")
        if colon < 0:
            return []
        names = _IDENT_RE.findall(text[after:colon])
    return [Declared(n, kw, 0, len(sentence), _clean(sentence)) for n in names]


def _inductive(sentence: str, text: str, kw: str, after: int) -> list[Declared]:
    out = []
    end = _find_word_top(text, after, len(text), "where")
    end = len(text) if end < 0 else end
    for a, b in _split_top(text, after, end, words=("with",)):
        m = _name_at(text, a)
        if not m:
            continue
        out.append(Declared(m.group(1), kw, 0, len(sentence), _clean(sentence)))
        defn = _find_top(text, m.end(), b, ":=")
        if defn < 0:
            continue
        for ca, cb in _split_top(text, defn + 2, b, bars=True):
            cm = _name_at(text, ca)
            if cm and text[ca:cb].strip():
                out.append(Declared(cm.group(1), "Constructor", cm.start(1), cb, _clean(sentence[cm.start(1):cb])))
    return out


def _record(sentence: str, text: str, kw: str, after: int) -> list[Declared]:
    m = _name_at(text, after)
    if not m:
        return []
    name = m.group(1)
    out = [Declared(name, kw, 0, len(sentence), _clean(sentence))]
    defn = _find_top(text, m.end(), len(text), ":=")
    if defn < 0:
        return out
    brace = text.find("{", defn)
    if brace < 0:  # Class C := f : T.  (a definitional class: one field)
        fm = _name_at(text, defn + 2)
        if fm:
            out.append(Declared(fm.group(1), "Field", fm.start(1), len(text.rstrip().rstrip(".")),
                                _clean(sentence[fm.start(1):].rstrip().rstrip("."))))
        return out
    ctor = _name_at(text, defn + 2)
    ctor_name = ctor.group(1) if ctor and ctor.end(1) <= brace else f"Build_{name}"
    out.append(Declared(ctor_name, "Constructor", 0, len(sentence), _clean(sentence)))
    close = _matching(text, brace)
    for fa, fb in _split_top(text, brace + 1, close, sep=";"):
        seg = text[fa:fb]
        fm = re.compile(r"\s*(?:#\[[^\]]*\]\s*)?(" + _IDENT + r")").match(seg)
        if fm and re.match(r"\s*(?::>?|:=|\(|" + _IDENT + ")", seg[fm.end(1):]):
            s = fa + fm.start(1)
            out.append(Declared(fm.group(1), "Field", s, fb, _clean(sentence[s:fb])))
    return out


# ------------------------------------------------------------------ top-level scanning

_OPEN, _CLOSE = "([{", ")]}"


def _split_top(text: str, a: int, b: int, *, words: tuple[str, ...] = (), bars: bool = False,
               sep: str | None = None) -> list[tuple[int, int]]:
    """Cut ``text[a:b]`` at top level (outside brackets) at the given words, at ``|`` (not
    ``||``), or at ``sep``; returns the pieces' offsets."""
    pieces, depth, start, i = [], 0, a, a
    while i < b:
        c = text[i]
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth = max(0, depth - 1)
        elif words and c.isalpha() and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_'.")) and depth > 0:
            m = _IDENT_RE.match(text, i)
            if m and m.group(0) == "match":
                depth += 1
            elif m and m.group(0) == "end":
                depth -= 1
            i = m.end() if m else i + 1
            continue
        elif depth == 0:
            if bars and c == "|" and text[i:i + 2] != "||" and text[i - 1:i] != "|":
                pieces.append((start, i))
                start = i + 1
            elif sep is not None and c == sep:
                pieces.append((start, i))
                start = i + 1
            elif words and (c.isalpha()) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_'.")):
                m = _IDENT_RE.match(text, i)
                if m and m.group(0) == "match":  # "match ... with ... end" nests
                    depth += 1
                elif m and m.group(0) == "end" and depth > 0:
                    depth -= 1
                elif m and m.group(0) in words:
                    pieces.append((start, i))
                    start = m.end()
                    i = m.end()
                    continue
                if m:
                    i = m.end()
                    continue
        i += 1
    pieces.append((start, b))
    if bars:
        end = pieces[-1][1]
        # the trailing '.' of the sentence is no part of the last clause
        last_a, last_b = pieces[-1]
        seg = text[last_a:last_b].rstrip()
        if seg.endswith("."):
            pieces[-1] = (last_a, last_a + len(seg) - 1)
        del end
    return [(x, y) for x, y in pieces if text[x:y].strip()]


def has_top_level_assign(text: str) -> bool:
    """Whether ``text`` holds a ``:=`` outside brackets: a declaration's body, where
    ``(Ro:=Qops)`` only names an implicit argument (``Instance Qri : (Ring (Ro:=Qops)).``)."""
    return any(x > 0 and text[x - 1] == ":" and text[x] == "=" for x, _ in _split_top(text, 0, len(text), sep=":"))


def _find_top(text: str, a: int, b: int, token: str) -> int:
    """Offset of the first top-level ``token`` in ``text[a:b]`` (``:`` not part of ``:=``/``::``)."""
    depth, i = 0, a
    while i < b:
        c = text[i]
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and text.startswith(token, i):
            if token == ":" and text[i + 1:i + 2] in ("=", ":", ">") or token == ":" and text[i - 1:i] == ":":
                i += 2
                continue
            return i
        i += 1
    return -1


_WITH_CLAUSE = re.compile(r"\bwith\s+(?:Definition|Module)\s+[A-Za-z_][\w'.]*\s*$")


def _defines_module(rest: str) -> bool:
    """Whether what follows ``Module M`` defines it (``:= N``) rather than opening it.

    A ``:=`` of a ``with Module E := X`` / ``with Definition t := u`` constraint is not a
    definition: ``Module PositiveMap <: S with Module E := Bits.`` opens an interactive module.
    """
    at = 0
    while True:
        i = _find_top(rest, at, len(rest), ":=")
        if i < 0:
            return False
        if not _WITH_CLAUSE.search(rest[:i]):
            return True
        at = i + 2


def _find_word_top(text: str, a: int, b: int, word: str) -> int:
    for x, _ in _split_top(text, a, b, words=(word,))[1:2]:
        return x - len(word) - 1 if x > a else -1
    return -1


def _matching(text: str, i: int) -> int:
    depth = 0
    for j in range(i, len(text)):
        if text[j] in _OPEN:
            depth += 1
        elif text[j] in _CLOSE:
            depth -= 1
            if depth == 0:
                return j
    return len(text)


# ------------------------------------------------------------------ scopes


@dataclass(frozen=True)
class Scope:
    kind: str  # "Module", "Module Type" or "Section"
    name: str
    functor: bool = False  # a module with parameters: its names are internal to the functor
    # the parameters: (name, names of the module types in its type, as written), in order
    params: tuple[tuple[str, tuple[str, ...]], ...] = ()


_MODULE_RE = re.compile(
    rf"^(Module)\s+(?:(Type)\s+)?(?:(?:Import|Export)\s+)?({_IDENT})(.*)$", re.DOTALL
)


class Scopes:
    """The open modules and sections of a file being replayed, and the names that follow."""

    def __init__(self, file_module: str) -> None:
        self.file_module = file_module
        self.stack: list[Scope] = []
        self.last: Scope | None = None  # the scope the last "close"/"define" was about

    def prefix(self) -> str:
        """The path a name declared now gets: the file's module, then open modules."""
        mods = [s.name for s in self.stack if s.kind != "Section"]
        return ".".join([self.file_module, *mods]) if self.file_module else ".".join(mods)

    def full_name(self, short: str) -> str:
        p = self.prefix()
        return f"{p}.{short}" if p else short

    def normalize(self, located: str) -> str:
        """The name a located object keeps after open sections close.

        Inside ``Section S`` Coq's ``Locate`` names a constant of that section ``F.S.c``; when the
        section closes it becomes ``F.c``, the name other files use. Open sections are dropped.
        """
        if not any(s.kind == "Section" for s in self.stack):
            return located
        for k in range(len(self.stack), 0, -1):
            with_sections = ".".join([self.file_module, *(s.name for s in self.stack[:k])])
            if located.startswith(with_sections + "."):
                kept = [self.file_module, *(s.name for s in self.stack[:k] if s.kind != "Section")]
                return ".".join(p for p in kept if p) + located[len(with_sections):]
        return located

    def in_module_type_or_functor(self) -> bool:
        return any(s.kind == "Module Type" or s.functor for s in self.stack)

    def update(self, sentence: str) -> tuple[str, str | None]:
        """Follow ``Section``/``Module``/``End``; returns what happened and the module's (or
        module type's) full name where one was defined or closed: ``("open"|"close"|"define"|"",
        name)``; :attr:`last` is then its :class:`Scope` (kind, functor or not, parameters)."""
        text = blank_comments(sentence).strip().rstrip(".").strip()
        kw, at = head(text)
        body = text[at:]
        if kw == "Section":
            m = _name_at(body, len("Section"))
            if m:
                self.stack.append(Scope("Section", m.group(1)))
                return "open", None
        elif kw == "Module":
            m = _MODULE_RE.match(body)
            if m:
                kind = "Module Type" if m.group(2) else "Module"
                name, rest = m.group(3), m.group(4)
                functor = rest.lstrip().startswith("(")
                scope = Scope(kind, name, functor, _params(rest))
                if _defines_module(rest):
                    self.last = scope
                    return "define", self.full_name(name)
                self.stack.append(scope)
                return "open", None
        elif kw == "End":
            m = _name_at(body, len("End"))
            if m:
                name = m.group(1)
                for k in range(len(self.stack) - 1, -1, -1):
                    if self.stack[k].name == name:
                        closing = self.stack[k]
                        del self.stack[k:]
                        if closing.kind == "Section":
                            return "close", None
                        self.last = closing
                        return "close", self.full_name(name)
        return "", None

    def in_section(self) -> bool:
        return any(s.kind == "Section" for s in self.stack)

    def innermost_module(self) -> Scope | None:
        return next((s for s in reversed(self.stack) if s.kind != "Section"), None)

    def parameter(self, name: str) -> tuple[str, ...] | None:
        """The module types (as written) of the innermost open functor parameter ``name``."""
        for s in reversed(self.stack):
            for p, types in s.params:
                if p == name:
                    return types
        return None

    def in_module_type_or_functor_below(self, k: int) -> bool:
        return any(s.kind == "Module Type" or s.functor for s in self.stack[:k])


_PARAM_RE = re.compile(rf"\(\s*(?:(?:Import|Export)\s+)?((?:{_IDENT}\s+)*{_IDENT})\s*:\s*([^()]*?)\s*\)")


def _params(rest: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Functor parameters of ``(P Q : T <+ U) (R : V)``: each name with the module types named."""
    out = []
    at = 0
    while True:
        m = _PARAM_RE.match(rest, at)
        if m is None:
            m2 = re.compile(r"\s*").match(rest, at)
            if m2 and rest[m2.end():m2.end() + 1] == "(" and _PARAM_RE.match(rest, m2.end()):
                at = m2.end()
                continue
            break
        types = tuple(t.group(0) for part in m.group(2).split("<+")
                      for t in [re.compile(rf"\s*!?\s*({_IDENT}(?:\.{_IDENT})*)").match(part)] if t)
        types = tuple(re.sub(r"^[\s!]+", "", t) for t in types)
        for n in m.group(1).split():
            out.append((n, types))
        at = m.end()
    return tuple(out)


# ------------------------------------------------------------------ tactics


@dataclass(frozen=True)
class Ident:
    """An identifier of a tactic: its text (possibly qualified, without ``@``) and offsets."""

    text: str
    start: int
    end: int


# Words of Ltac syntax and common tactic names: never constants, not worth a Locate each.
TACTIC_WORDS = frozenset(
    """apply eapply rewrite erewrite intros intro in as with at by using eqn fun forall exists let
    match end return if then else destruct edestruct induction elim case simpl simple unfold fold
    auto eauto trivial reflexivity symmetry transitivity assumption exact eexact split left right
    constructor econstructor exists eexists inversion inversion_clear subst clear clearbody
    generalize dependent revert specialize pose set assert cut change pattern red hnf compute cbv
    cbn lazy vm_compute native_compute omega lia lra nia nra ring field tauto intuition firstorder
    congruence f_equal discriminate injection contradiction exfalso absurd now try repeat do
    progress first solve idtac fail admit give_up all only goal into on lapply replace remember
    case_eq decide equality setoid_rewrite easy assert_by refine unshelve shelve cycle swap
    rename move after before top bottom of type Type Prop Set true false proof""".split()
)


_BINDER_RE = re.compile(r"\s*:=")

# Tacticals after which the next word is a tactic's name, never a term.
_TACTICALS = frozenset("try repeat progress now solve first abstract once exactly_once time timeout do "
                       "tryif then else by intuition dintuition".split())
# Words after which a tactic follows wherever they stand ("rewrite H by order", "intuition order").
_TACTIC_ARGUMENT = frozenset("by intuition dintuition".split())
# Tactics whose "with a b" names hint databases, not terms ("autorewrite with order").
_HINT_TACTICS = frozenset("auto eauto trivial autorewrite autounfold typeclasses info_auto info_eauto "
                          "debug firstorder intuition dintuition autoapply".split())
# Tactics whose "(H : T)" argument names a new hypothesis.
_ASSERTS = frozenset("assert eassert enough eenough".split())
_TOKEN_RE = re.compile(rf"(?P<id>{_IDENT}(?:\.{_IDENT})*)|(?P<num>\d+)|(?P<p>\|\||:=|=>|->|<-|[;\[\]|(){{}}:,%?@!.=<>+*-])")


def _tokens(text: str) -> list[tuple[str, str, int, int]]:
    """``(kind, text, start, end)`` tokens of ``text``: ``id``, ``num`` or punctuation ``p``."""
    out = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup or "p"
        if kind == "id" and m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_'"):
            continue
        out.append((kind, m.group(0), m.start(), m.end()))
    return out


def _matching_token(toks, i: int) -> int:
    """Index of the bracket closing ``toks[i]`` (or the last token)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j][1]
        if toks[j][0] == "p" and t in pairs:
            depth += 1
        elif toks[j][0] == "p" and t in pairs.values():
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def _pattern_names(toks, i: int, j: int, out: set[int]) -> None:
    """Mark the identifiers of an intro pattern ``toks[i:j]`` as binders (not after ``%``)."""
    for k in range(i, j):
        if toks[k][0] == "id" and not (k > 0 and toks[k - 1][1] == "%"):
            out.add(k)


def _analyse(text: str):
    """Tokens of a tactic, the token indices in tactic-name position, and the binder indices.

    Tactic-name position: the start (after a goal selector), after ``;``, ``||``, a tactical
    (``try``, ``now``, ``do 2``, ...), and after ``[``/``|`` of a tactic list (``t; [a | b]``,
    ``first [a | b]``). Binders: names a tactic introduces (``intros a b``, ``as [n Eq]``,
    ``eqn:E``, ``into H``, ``assert (H : _)``, ``fix f``, ``(x := t)``) and names bound in terms
    (``fun x =>``, ``forall x,``, ``exists x,`` inside a term).
    """
    toks = _tokens(text)
    heads: set[int] = set()
    binders: set[int] = set()
    n = len(toks)
    # a goal selector "2:", "all:", "1,2:", "[G]:", "!:" at the very start
    start = 0
    m = re.match(SELECTOR_RE, text)
    if m:
        while start < n and toks[start][2] < m.end():
            start += 1
    lists: list[bool] = []  # open brackets: True for a tactic list
    expect_head = True
    last_head = ""
    i = start
    while i < n:
        kind, t, _, _ = toks[i]
        if kind == "p":
            if t in ("[", "(", "{"):
                tactic_list = t == "[" and (expect_head or (i > 0 and toks[i - 1][1] in (";", "solve", "first", "tryif")))
                lists.append(tactic_list)
                expect_head = tactic_list or (t == "(" and expect_head)  # "try (order; auto)"
            elif t in ("]", ")", "}"):
                if lists:
                    lists.pop()
                expect_head = False
            elif t in (";", "||"):
                expect_head = True
            elif t == "|" and lists and lists[-1]:
                expect_head = True
            elif t == ">" and expect_head:
                pass  # "[> a | b ]"
            else:
                expect_head = False
            i += 1
            continue
        if kind == "num":
            i += 1
            continue
        if expect_head:
            heads.add(i)
            last_head = t
            expect_head = t in _TACTICALS
            if t in ("intros", "intro", "eintros"):
                j = i + 1
                while j < n and toks[j][1] not in (";", "||") and not (toks[j][1] in ("]", "|") and lists and lists[-1]):
                    if toks[j][1] == "until":
                        break
                    j += 1
                _pattern_names(toks, i + 1, j, binders)
            elif t in ("fix", "cofix") and i + 1 < n and toks[i + 1][0] == "id":
                binders.add(i + 1)
            elif t in _ASSERTS and i + 2 < n and toks[i + 1][1] == "(" and toks[i + 2][0] == "id" \
                    and i + 3 < n and toks[i + 3][1] == ":":
                binders.add(i + 2)
            i += 1
            continue
        if t in _TACTIC_ARGUMENT:
            expect_head = True
            i += 1
            continue
        if t == "with" and last_head in _HINT_TACTICS:
            j = i + 1
            while j < n and toks[j][0] == "id" and toks[j][1] not in ("using", "in", "by"):
                heads.add(j)  # a hint database's name: not a term
                j += 1
            i = j
            continue
        if t == "as" and i + 1 < n:
            j = i + 1
            if toks[j][1] == "?" and j + 1 < n:
                j += 1
            if toks[j][1] in ("[", "("):
                k = _matching_token(toks, j)
                _pattern_names(toks, j, k, binders)
            elif toks[j][0] == "id":
                binders.add(j)
        elif t in ("eqn", "into") and i + 1 < n:
            j = i + 1 + (toks[i + 1][1] == ":")
            if j < n and toks[j][0] == "id":
                binders.add(j)
        elif t in ("fun", "forall", "exists", "exists2"):
            stop = "=>" if t == "fun" else ","
            j = i + 1
            while j < n and toks[j][1] != stop and toks[j][1] not in (";", "."):
                if toks[j][1] == "(":
                    k = _matching_token(toks, j)
                    c = next((x for x in range(j, k) if toks[x][1] == ":"), k)
                    binders.update(x for x in range(j + 1, c) if toks[x][0] == "id")
                    j = k + 1
                    continue
                if toks[j][1] == ":":
                    j = next((x for x in range(j, n) if toks[x][1] == stop), n)
                    break
                if toks[j][0] == "id":
                    binders.add(j)
                j += 1
        i += 1
    return toks, heads, binders


SELECTOR_RE = r"\s*(?:all|\d+(?:\s*[-,]\s*\d+)*|\[[^\]]*\]|!|par)\s*:(?!=)"


def identifiers(tactic: str) -> list[Ident]:
    """The qualified identifiers of a tactic that may denote global terms, in order.

    Skipped: comments and strings, Ltac keywords and common tactic names, any word in
    tactic-name position (``order.``, ``try Nat.order``: a tactic, even where a constant has that
    name too), and names the tactic binds itself (intro patterns, ``eqn:``, ``assert (H : _)``,
    ``(x := t)``, ``fun``/``forall`` binders: every occurrence of such a name, since it shadows
    the global one).
    """
    text = blank_comments(tactic)
    toks, heads, binders = _analyse(text)
    bound = {toks[k][1] for k in binders}
    out = []
    for k, (kind, word, a, b) in enumerate(toks):
        if kind != "id" or k in heads or word in bound or word in TACTIC_WORDS:
            continue
        if _BINDER_RE.match(text, b):  # (x := t): a binder name
            continue
        out.append(Ident(word, a, b))
    return out
