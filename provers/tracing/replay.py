"""Replaying one ``.v`` file through coqidetop and recording everything the dataset needs.

Every sentence of the file is added in order (``Add``) and executed with ``Goal``, which also
says whether a proof is open and what its goals are. So the tracer needs no syntactic guess about
where proofs start or end:

* no proof open and ``Goal`` returns goals: the sentence opened a proof (``Lemma``, ``Definition
  ... .`` without body, ``Instance``, ``Goal``, ``Next Obligation``);
* a proof open and goals returned: the sentence ran inside the proof; if it is a tactic (not a
  bullet, a brace or a capitalised vernacular such as ``Proof``/``Show``), it is recorded with
  the focused goals before and after it and the names it uses (:mod:`provers.tracing.locate`);
* a proof open and no goals: the sentence closed it (``Qed``, ``Defined``, ``Admitted``, ...).

Declarations outside proofs become premises with the full name :class:`~provers.tracing.syntax.Scopes`
gives them. Modules closed or defined in the file are listed with ``Print Module`` so that
members they get by ``Include`` or functor application (``Nat.add_comm`` lives in
``Coq.Arith.PeanoNat.Nat`` but is stated in an abstract functor) are premises too. The imports
are the libraries loaded at the end of the file (``Print Libraries``): all of them, not just the
direct ones, which makes no difference to accessibility.

The first sentence that fails (parse error, Coq error, time limit, crash) stops the file; the
result carries a :class:`FileError` naming the sentence, and what was traced before it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from provers.coq import xmlproto
from provers.coq.process import CallTimedOut, CoqProcess, ProcessDied, ProcessHung
from provers.coq.sentences import SELECTOR, SentenceError, split_sentences
from provers.protocol import Goal
from provers.tracing.config import Library
from provers.tracing.locate import TERM_KINDS, LocateCache
from provers.tracing.records import (
    FileError,
    FilePremise,
    FileStats,
    FileTrace,
    TacticRecord,
    TheoremRecord,
    UsedName,
)
from provers.tracing.syntax import Scopes, blank_comments, declared, head, identifiers

NO_GOALS = "no goals"
_CLOSERS_KEPT = ("Qed", "Defined", "Save")


class _Stop(Exception):
    def __init__(self, error: FileError) -> None:
        super().__init__(error.message)
        self.error = error


def render_state(goals: xmlproto.Goals) -> str:
    """The state as the environment renders it (:meth:`xmlproto.Goals.text`), or ``no goals``.

    One rendering for traces and for proving: the focused goals, then the goals hidden by
    bullets, braces or the shelf, counted and shown (``(unfocused goals: N)``).
    """
    text = goals.text()
    return text if text else NO_GOALS


def is_tactic(sentence: str) -> bool:
    """A proof sentence worth recording: not a bullet/brace, not a (capitalised) vernacular."""
    body = blank_comments(sentence).strip()
    if not body or set(body) <= set("-+*{} "):
        return False
    body = re.sub("^" + SELECTOR, "", body)
    if body in ("{", "}"):
        return False
    word = re.match(r"[A-Za-z_][\w']*", body)
    if word and body[word.end():word.end() + 1] == "." and re.match(r"[A-Za-z_]", body[word.end() + 1:word.end() + 2]):
        return True  # a qualified name first ("Nat.order.", "Z.swap_greater."): a tactic, no command is qualified
    return not (word and word.group(0)[0].isupper())


@dataclass
class _OpenProof:
    index: int
    start: int  # offset of the opening sentence
    sentence: str
    names: list  # Declared of the opener
    state: str
    hyps: frozenset[str]
    tactics: list = field(default_factory=list)


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def pos(self, offset: int) -> tuple[int, int]:
        import bisect

        k = bisect.bisect_right(self.starts, offset) - 1
        return k + 1, offset - self.starts[k] + 1


class FileReplayer:
    """Replays one file of a :class:`Library` (one coqidetop process, closed at the end)."""

    def __init__(self, library: Library, rel_path: str, key: str = "", sentence_timeout_s: float = 300.0,
                 start_timeout_s: float = 120.0) -> None:
        self.library = library
        self.rel_path = rel_path
        self.key = key
        self.sentence_timeout_s = sentence_timeout_s
        self.start_timeout_s = start_timeout_s
        self.module = library.module_name(rel_path)

    def run(self) -> FileTrace:
        t0 = time.monotonic()
        self._premises: list[FilePremise] = []
        self._known: set[str] = set()
        self._theorems: list[TheoremRecord] = []
        self._imports: tuple[str, ...] = ()
        self._done = 0
        self._total = 0
        self._peak = 0
        self._cache: LocateCache | None = None
        error: FileError | None = None
        proc: CoqProcess | None = None
        try:
            text = self._read()
            try:
                sentences = split_sentences(text, allow_trailing=False)
            except SentenceError as exc:
                raise _Stop(FileError(f"cannot cut the file into sentences: {exc}")) from exc
            self._total = len(sentences)
            try:
                proc = CoqProcess(self.library.args_for(self.rel_path))
            except OSError as exc:
                raise _Stop(FileError(f"cannot start coqidetop: {exc}")) from exc
            self._replay(proc, text, sentences)
        except _Stop as stop:
            error = stop.error
        finally:
            if proc is not None:
                self._peak = max(self._peak, proc.rss_bytes())
                proc.close()
        cache = self._cache
        return FileTrace(
            path=self.rel_path,
            module=self.module,
            key=self.key,
            imports=self._imports,
            premises=tuple(self._premises),
            theorems=tuple(self._theorems),
            error=error,
            stats=FileStats(
                sentences=self._done,
                sentences_total=self._total,
                seconds=round(time.monotonic() - t0, 3),
                locate_queries=cache.queries if cache else 0,
                locate_hits=cache.hits if cache else 0,
                peak_rss_bytes=self._peak,
            ),
        )

    # ------------------------------------------------------------------ internals

    def _read(self) -> str:
        path = self.library.root / self.rel_path
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise _Stop(FileError(f"cannot read the file: {exc}")) from exc
        except UnicodeDecodeError as exc:
            raise _Stop(FileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})")) from exc

    def _replay(self, proc: CoqProcess, text: str, sentences) -> None:
        lines = _Lines(text)
        current = {"index": None, "sentence": "", "offset": 0}

        def fail(message: str) -> _Stop:
            i = current["index"]
            line, col = lines.pos(current["offset"]) if i is not None else (None, None)
            return _Stop(FileError(message, i, line, col, current["sentence"]))

        def call(xml: str, timeout: float) -> xmlproto.Answer:
            try:
                return proc.call(xml, timeout)
            except CallTimedOut as exc:
                raise fail(f"timed out after {timeout:g}s") from exc
            except (ProcessDied, ProcessHung) as exc:
                raise fail(str(exc)) from exc
            except xmlproto.ProtocolError as exc:
                raise fail(f"unreadable answer from coqidetop: {exc}") from exc

        ans = call(xmlproto.call_init(), self.start_timeout_s)
        if not ans.good:
            raise fail(f"coqidetop Init failed: {ans.error}")
        sid = xmlproto.state_id_of(ans.payload)

        def query(q: str) -> str:
            a = call(xmlproto.call_query(q, sid), self.sentence_timeout_s)
            return "\n".join(a.notices) if a.good else ""

        self._cache = cache = LocateCache(query)
        scopes = Scopes(self.module)
        self._events: dict[int, list] = {}  # id(module scope) -> [("decl", short) | ("incl", start, end)]
        self._param_types: dict[tuple[int, str], tuple[str, ...]] = {}  # (id(scope), param) -> module types

        def note(event: tuple) -> None:
            m = scopes.innermost_module()
            if m is not None:
                self._events.setdefault(id(m), []).append(event)

        proof: _OpenProof | None = None
        for i, s in enumerate(sentences):
            current.update(index=i, sentence=s.text, offset=s.start)
            ans = call(xmlproto.call_add(s.text, sid), self.sentence_timeout_s)
            if not ans.good:
                raise fail(_clean(ans.error))
            sid = xmlproto.parse_add(ans.payload)
            ans = call(xmlproto.call_goal(), self.sentence_timeout_s)
            if not ans.good:
                raise fail(_clean(ans.error))
            goals = xmlproto.parse_goals(ans.payload)
            self._done = i + 1
            end = s.start + len(s.text)
            if proof is None:
                if goals is not None:
                    names = declared(s.text)
                    proof = _OpenProof(i, s.start, s.text, names, render_state(goals), _hyp_names(goals.focused))
                    continue
                decls = declared(s.text)
                if decls:
                    for d in decls:
                        cache.forget(d.name)
                        if d.kind == "Let" and scopes.in_section():
                            continue  # section-local: gone when the section closes, no global premise
                        self._add_premise(scopes.full_name(d.name), d.kind, d.code,
                                          lines.pos(s.start + d.start), lines.pos(s.start + d.end))
                        note(("decl", d.name))
                    continue
                cache.clear()
                if head(blank_comments(s.text))[0] == "Include":
                    note(("incl", lines.pos(s.start), lines.pos(end)))
                    continue
                event, module = scopes.update(s.text)
                if event == "open" and scopes.stack and scopes.stack[-1].params:
                    opened = scopes.stack[-1]
                    for pname, types in opened.params:
                        self._param_types[(id(opened), pname)] = tuple(
                            full for t in types for full in [_module_type_name(query(f"Locate Module {t}."))] if full)
                if module and event in ("close", "define"):
                    closed = scopes.last
                    printer = "Print Module Type" if closed is not None and closed.kind == "Module Type" else "Print Module"
                    events = self._events.pop(id(closed), []) if event == "close" else []
                    for key in [k for k in self._param_types if k[0] == id(closed)]:
                        del self._param_types[key]  # ids of closed scopes may be reused
                    self._module_members(query(f"{printer} {module}."), module, events,
                                         (lines.pos(s.start), lines.pos(end)))
            elif goals is None:  # the sentence closed the proof
                closer = head(blank_comments(s.text))[0]
                kept = closer in _CLOSERS_KEPT or closer == "Proof"
                local = bool(proof.names) and proof.names[0].kind == "Let" and scopes.in_section()
                for d in proof.names:
                    full = scopes.full_name(d.name)
                    if closer != "Abort" and not local:
                        self._add_premise(full, d.kind, d.code, lines.pos(proof.start + d.start), lines.pos(end))
                        note(("decl", d.name))
                    cache.forget(d.name)
                if kept and proof.names and proof.tactics and not local:
                    d = proof.names[0]
                    self._theorems.append(TheoremRecord(
                        full_name=scopes.full_name(d.name), kind=d.kind, statement=d.code,
                        start=lines.pos(proof.start), end=lines.pos(end), tactics=tuple(proof.tactics),
                    ))
                if len(self._theorems) % 20 == 0:
                    self._peak = max(self._peak, proc.rss_bytes())
                proof = None
            else:
                after = render_state(goals)
                after_hyps = _hyp_names(goals.focused)
                if is_tactic(s.text):
                    used = []
                    for ident in identifiers(s.text):
                        # a hypothesis before the tactic, or one it introduces, shadows a global
                        if ident.text in proof.hyps or ident.text in after_hyps:
                            continue
                        loc = cache.resolve(ident.text)
                        if loc is not None and loc.kind in TERM_KINDS:
                            full = scopes.normalize(loc.full_name)
                            used.append(UsedName(ident.text, ident.start, ident.end, full, loc.kind,
                                                 self._parameter_field(scopes, full)))
                    proof.tactics.append(TacticRecord(s.text, proof.state, after, tuple(used)))
                proof.state = after
                proof.hyps = after_hyps
        if proof is not None:
            raise fail("the file ends inside a proof")
        current.update(index=None, sentence="")
        self._imports = tuple(
            name for name in (ln.strip() for ln in query("Print Libraries.").splitlines()[1:])
            if name and " " not in name and name != self.module and not name.endswith(":")
        )

    def _add_premise(self, full: str, kind: str, code: str, start, end) -> None:
        if full in self._known:
            return
        self._known.add(full)
        self._premises.append(FilePremise(full, kind, code, start, end))

    def _parameter_field(self, scopes: Scopes, full: str) -> tuple[str, ...]:
        """For ``P.x`` with ``P`` a parameter of an open functor: ``T.x`` for each module type
        ``T`` of ``P`` (the declaration the field stands for); else ``()``."""
        first, _, rest = full.partition(".")
        if not rest:
            return ()
        for s in reversed(scopes.stack):
            types = self._param_types.get((id(s), first))
            if types is not None:
                return tuple(f"{t}.{rest}" for t in types)
        return ()

    def _module_members(self, printed: str, module: str, events: list, span) -> None:
        """Add the constants of a closed/defined module or module type that the file does not
        state itself (members it got by ``Include``, functor application, ``<+``).

        ``Print Module`` lists members in declaration order; a member that is not one of the
        file's own declarations sits between two of them, so it came from the last ``Include``
        before the next declaration, and is dated there (an ``Include`` cannot be inside a
        proof, so this is exact for accessibility). Members with no ``Include`` to date them
        (``Module M := F X.``, ``<+`` in the header) are dated at ``span`` (the sentence that
        closed or defined the module)."""
        cursor = -1
        for name, kind, code in parse_print_module(printed):
            j = next((k for k in range(cursor + 1, len(events)) if events[k] == ("decl", name)), None)
            if j is not None:
                cursor = j
                continue
            k, last = cursor + 1, None
            while k < len(events) and events[k][0] != "decl":
                if events[k][0] == "incl":
                    last = k
                k += 1
            start, end = (events[last][1], events[last][2]) if last is not None else span
            self._add_premise(f"{module}.{name}", "Included", code, start, end)


def _module_type_name(located: str) -> str:
    """The full name in ``Locate Module T`` output (``Module Type Coq.X.T`` / ``ModType X.T``)."""
    for ln in located.splitlines():
        m = re.match(r"\s*(?:Module\s+Type|ModType|Module)\s+(\S+)", ln)
        if m:
            return m.group(1)
    return ""


def _hyp_names(goals: tuple[Goal, ...]) -> frozenset[str]:
    return frozenset(n for g in goals for h in g.hypotheses for n in h.names)


_ITEM_RE = re.compile(r"^(Parameter|Definition|Axiom)\s+([^\s:]+)\s*:\s*(.*?)\.?$", re.DOTALL)
_STRUCT_WORDS = re.compile(r"(?<![\w'.])(Struct|Sig|End)(?![\w'])")
_ITEM_START = re.compile(r"(?<![\w'.])(Parameter|Definition|Axiom|Inductive|CoInductive|Module|Record|Class|Instance)\s")


def parse_print_module(printed: str) -> list[tuple[str, str, str]]:
    """``(name, keyword, "name : type")`` of the top-level constants in ``Print Module`` output.

    Works for modules (``:= Struct ... End``), functors (``Functor (P:T) Struct ... End``) and
    module types (``Sig ... End``, ``Funsig (P:T) Sig ... End``), printed over many lines or on
    one; items of nested modules are skipped.
    """
    text = " ".join(printed.split())
    words = list(_STRUCT_WORDS.finditer(text))
    if not words or words[0].group(1) == "End":
        return []
    body_start = words[0].end()
    # the top-level body runs to the End matching the first Struct/Sig
    depth, body_end, nested = 0, len(text), []
    for w in words:
        if w.group(1) in ("Struct", "Sig"):
            depth += 1
            if depth == 2:
                nested.append([w.start(), None])
        else:
            depth -= 1
            if depth == 1 and nested and nested[-1][1] is None:
                nested[-1][1] = w.end()
            if depth == 0:
                body_end = w.start()
                break
    body = text[body_start:body_end]
    blank = list(body)
    for x, y in nested:  # blank nested structures (their items are not members of this one)
        for k in range(x - body_start, min(y - body_start, len(blank)) if y else len(blank)):
            blank[k] = " "
    flat = "".join(blank)
    starts = [m.start() for m in _ITEM_START.finditer(flat)]
    out = []
    for k, st in enumerate(starts):
        item = flat[st: starts[k + 1] if k + 1 < len(starts) else len(flat)].strip()
        item = " ".join(item.split())
        m = _ITEM_RE.match(item)
        if m:
            out.append((m.group(2), m.group(1), f"{m.group(2)} : {m.group(3).strip()}"))
    return out


def _clean(message: str) -> str:
    text = re.sub(r"\s+", " ", message).strip() or "Coq reported an error without a message"
    return text if len(text) <= 2000 else text[:1000] + " [...] " + text[-900:]


def replay_file(library: Library, rel_path: str, key: str = "", sentence_timeout_s: float = 300.0) -> FileTrace:
    """Replay ``rel_path`` of ``library``; never raises for a bad file (see :class:`FileTrace`)."""
    return FileReplayer(library, rel_path, key, sentence_timeout_s).run()
