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

Warm starts (``pool=``, a :class:`provers.coq.pool.WarmPool`). Every call the tracer makes for a
sentence (``Add``, ``Goal``, the ``Locate``/``Print Module`` queries) goes through a
:class:`_Channel` that records it with coqidetop's answer, per sentence, on the pool's lease of the
process, next to the Coq state after the sentence. The process goes back to the pool when the
file is done (at its last good sentence after a Coq error; killed after a time-out, a crash or an
unreadable answer). Tracing a text whose first sentences such a process already ran (the same
file again, after an edit further down, or on a retry) takes that process back with one
``Edit_at`` to the state after the last shared sentence, and the tracer's own logic runs over the
recorded answers for those sentences instead of asking Coq again: the calls it makes are the
same calls (same sentences, same state ids, same queries, in the same order), so the trace is
the one a fresh process gives, and a call that differs from the record (which would be a bug) is
caught and the file is traced again on a fresh process. Processes are keyed by their command
line, which names the file (``-topfile``), so two different files never share one: Coq fixes a
document's module name when the process starts.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from provers.coq import xmlproto
from provers.coq.pool import Lease, WarmPool
from provers.coq.process import CallTimedOut, CoqProcess, ProcessDied, ProcessHung
from provers.coq.sentences import SELECTOR, SentenceError, split_sentences
from provers.errors import EnvInitError
from provers.protocol import EnvConfig, Goal
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


class _Diverged(Exception):
    """The tracer asked for something other than what was recorded for a reused sentence."""


class _Channel:
    """The tracer's calls to one coqidetop process, sentence by sentence.

    Without a lease every call goes to the process. With a pool's lease, the first
    ``lease.reused_sentences`` sentences are answered from ``lease.notes`` (what the process
    answered when it ran them: ``[(call, answer), ...]`` per sentence), and every later sentence
    that runs to its end is appended to the lease (end offset, state id, its calls and answers).
    """

    def __init__(self, proc: CoqProcess, text: str, sentences, lease: Lease | None = None) -> None:
        self.proc = proc
        self.text = text
        self.sentences = sentences
        self.lease = lease
        self.reused = lease.reused_sentences if lease is not None else 0
        self.broken = False  # the process timed out, died or answered something unreadable
        self._index: int | None = None
        self._sid: int | None = None
        self._replay: list | None = None  # recorded calls still to answer for this sentence
        self._record: list | None = None  # calls made live for this sentence

    def sentence(self, index: int | None) -> None:
        """The calls that follow are made for sentence ``index`` (None: after the last one)."""
        self._commit()
        self._index = index
        self._sid = None
        self._replay = self._record = None
        if index is None or self.lease is None:
            return
        if index < self.reused:
            self._replay = list(self.lease.notes[index])
        else:
            self._record = []

    def added(self, sid: int) -> None:
        """The current sentence's ``Add`` gave state ``sid`` (and it is good so far)."""
        self._sid = sid

    def call(self, xml: str, timeout: float) -> xmlproto.Answer:
        if self._replay is not None:
            if not self._replay or self._replay[0][0] != xml:
                raise _Diverged(f"sentence #{self._index}: {xml[:200]}")
            return self._replay.pop(0)[1]
        try:
            ans = self.proc.call(xml, timeout)
        except (CallTimedOut, ProcessDied, ProcessHung, xmlproto.ProtocolError):
            self.broken = True
            raise
        if self._record is not None:
            self._record.append((xml, ans))
        return ans

    def _commit(self) -> None:
        """The current sentence ran to its end: check its replay or keep its record."""
        i, lease = self._index, self.lease
        if i is None or lease is None or self._sid is None:
            return
        if self._replay is not None:
            if self._replay or lease.sids[i + 1] != self._sid:
                raise _Diverged(f"sentence #{i}: the record has other calls or another state")
            return
        s = self.sentences[i]
        lease.ends.append(s.start + len(s.text))
        lease.sids.append(self._sid)
        lease.notes.append(self._record)
        lease.header = self.text[: lease.ends[-1]]


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
    """Replays one file of a :class:`Library` (one coqidetop process, closed at the end, or
    taken from and given back to ``pool``: see the module documentation).

    ``source`` is the text to trace instead of the file's bytes on disk (an edited version of
    the file, traced under the file's name and options).
    """

    def __init__(self, library: Library, rel_path: str, key: str = "", sentence_timeout_s: float = 300.0,
                 start_timeout_s: float = 120.0, *, pool: WarmPool | None = None,
                 source: str | None = None) -> None:
        self.library = library
        self.rel_path = rel_path
        self.key = key
        self.sentence_timeout_s = sentence_timeout_s
        self.start_timeout_s = start_timeout_s
        self.module = library.module_name(rel_path)
        self.pool = pool
        self.source = source
        self.start = ""  # how the process was had: cold | the pool's fresh | warm | prefix
        self.reused_sentences = 0  # sentences answered from a pooled process's record
        self.start_seconds = 0.0  # from the start of run() to the first sentence run live
        self.sentence_clock: list[float] = []  # seconds from the start of run() to each sentence's start

    def run(self) -> FileTrace:
        if self.pool is None:
            return self._run(None)
        try:
            return self._run(self.pool)
        except _Diverged:
            return self._run(None)  # a bug in the record's use; a fresh process is always right

    def _run(self, pool: WarmPool | None) -> FileTrace:
        t0 = time.monotonic()
        self._premises: list[FilePremise] = []
        self._known: set[str] = set()
        self._theorems: list[TheoremRecord] = []
        self._imports: tuple[str, ...] = ()
        self._done = 0
        self._total = 0
        self._peak = 0
        self._cache: LocateCache | None = None
        self._t0 = t0
        self.start, self.reused_sentences, self.start_seconds = "cold", 0, 0.0
        self.sentence_clock = []
        error: FileError | None = None
        proc: CoqProcess | None = None
        lease: Lease | None = None
        channel: _Channel | None = None
        try:
            text = self._read()
            try:
                sentences = split_sentences(text, allow_trailing=False)
            except SentenceError as exc:
                raise _Stop(FileError(f"cannot cut the file into sentences: {exc}")) from exc
            self._total = len(sentences)
            args = self.library.args_for(self.rel_path)
            if pool is not None:
                config = EnvConfig(start_timeout_s=self.start_timeout_s, extra_args=args)
                try:
                    lease = pool.resume(text, config, self.rel_path)
                except EnvInitError as exc:
                    raise _Stop(FileError(str(exc))) from exc
                proc = lease.proc
                self.start, self.reused_sentences = lease.how, lease.reused_sentences
            else:
                try:
                    proc = CoqProcess(args)
                except OSError as exc:
                    raise _Stop(FileError(f"cannot start coqidetop: {exc}")) from exc
            channel = _Channel(proc, text, sentences, lease)
            self._replay(channel, text, sentences)
        except _Stop as stop:
            error = stop.error
        except BaseException:
            if lease is not None:
                lease.broken = True
            raise
        finally:
            if proc is not None:
                self._peak = max(self._peak, proc.rss_bytes())
                if lease is None:
                    proc.close()
                else:
                    lease.broken = lease.broken or (channel is not None and channel.broken)
                    pool.release(lease)  # at its last good sentence, or killed
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
        if self.source is not None:
            return self.source
        path = self.library.root / self.rel_path
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise _Stop(FileError(f"cannot read the file: {exc}")) from exc
        except UnicodeDecodeError as exc:
            raise _Stop(FileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})")) from exc

    def _replay(self, channel: _Channel, text: str, sentences) -> None:
        proc = channel.proc
        lines = _Lines(text)
        current = {"index": None, "sentence": "", "offset": 0}

        def fail(message: str) -> _Stop:
            i = current["index"]
            line, col = lines.pos(current["offset"]) if i is not None else (None, None)
            return _Stop(FileError(message, i, line, col, current["sentence"]))

        def call(xml: str, timeout: float) -> xmlproto.Answer:
            try:
                return channel.call(xml, timeout)
            except CallTimedOut as exc:
                raise fail(f"timed out after {timeout:g}s") from exc
            except (ProcessDied, ProcessHung) as exc:
                raise fail(str(exc)) from exc
            except xmlproto.ProtocolError as exc:
                raise fail(f"unreadable answer from coqidetop: {exc}") from exc

        if channel.lease is not None:
            sid = channel.lease.sids[0]  # the pool ran Init
        else:
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
            channel.sentence(i)
            self.sentence_clock.append(time.monotonic() - self._t0)
            if i == channel.reused:
                self.start_seconds = round(self.sentence_clock[-1], 4)
            ans = call(xmlproto.call_add(s.text, sid), self.sentence_timeout_s)
            if not ans.good:
                raise fail(_clean(ans.error))
            sid = xmlproto.parse_add(ans.payload)
            ans = call(xmlproto.call_goal(), self.sentence_timeout_s)
            if not ans.good:
                raise fail(_clean(ans.error))
            channel.added(sid)
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
        channel.sentence(None)
        if channel.reused >= len(sentences):  # every sentence came from the record
            self.start_seconds = round(time.monotonic() - self._t0, 4)
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


def replay_file(library: Library, rel_path: str, key: str = "", sentence_timeout_s: float = 300.0,
                pool: WarmPool | None = None) -> FileTrace:
    """Replay ``rel_path`` of ``library`` (on ``pool``'s processes when given); never raises for a
    bad file (see :class:`FileTrace`)."""
    return FileReplayer(library, rel_path, key, sentence_timeout_s, pool=pool).run()
