"""Warm Coq processes: start a theorem in milliseconds instead of reloading its header.

Almost all of the time to enter a theorem through a fresh ``coqidetop`` goes into its header
(``Require Import Reals`` alone is most of a second). A :class:`WarmPool` keeps idle processes
whose document holds a header, with the Coq state id after every sentence of it:

* a theorem whose header an idle process holds starts there: ``Add`` statement, ``Proof.``,
  ``Goal`` (the process was moved back to its header's state when it was returned);
* a theorem whose header shares a leading run of sentences with an idle process's header (the
  n-th theorem of a file and the m-th, for instance, or two miniF2F headers that both start with
  ``Require Import Reals.``) starts with ``Edit_at`` to the state after the shared sentences, then
  only the rest of its header is added and run. Going back in a file is one ``Edit_at``; going
  forward runs the sentences in between (Coq drops the states after the one it goes back to);
* any other theorem takes a fresh process, which joins the pool when its environment is done.

Processes are shared only between theorems started with the same command line. A library
theorem in its file's context (:mod:`provers.coq.library`) is started with ``-topfile FILE``, so
the pool holds one process per file: the Coq state after every sentence of the longest prefix
of that file replayed so far, and the file's n-th theorem starts there with one ``Edit_at`` to
the state before its declaration plus the ``Add`` of its statement (``nesy eval library`` takes
a file's theorems from the last to the first so that every start after the first goes back).

No leaks between theorems. ``Edit_at`` restores Coq's whole summary state (global environment,
options, scopes, notations, loaded libraries, Ltac definitions, hints, plugin grammar), so a
theorem started on a reused process sees what a fresh process with the same header sees;
``tests/test_provers_pool.py`` checks goal text, options, notations, names, ``Print
Assumptions``, ``Require`` and ``Set`` after the header. What is not rolled back: the OCaml heap
(a process that loaded more libraries stays bigger, which the memory budget sees) and micromega's
certificate cache (``lia``/``nia``/``psatz`` answer a repeated problem faster, same answer).
Proofs are still kernel-checked by a fresh ``coqc`` (:mod:`provers.coq.check`).

A process that misbehaved never comes back: one that died, ignored an interrupt, timed out
while its header or statement ran, or did not answer the ``Edit_at`` back to its header is
killed instead of pooled. Memory: after each return the resident size of every idle process is
measured and the least recently used ones are closed until the total is within the budget.

Tracing (:mod:`provers.tracing.replay`) takes processes with :meth:`WarmPool.resume`: it runs the
file's sentences itself and gives the process back with the state after each one and, in
:attr:`Lease.notes`, coqidetop's answers to every call it made for it, so that the same file
traced again starts at its first changed sentence.

One pool per worker process; it is thread-safe (``nesy prove`` shares one between its threads).
Use it as a context manager, or call :meth:`WarmPool.close`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from provers.coq import xmlproto
from provers.coq.process import CallTimedOut, CoqProcess, ProcessDied, ProcessHung
from provers.coq.sentences import SentenceError, split_sentences
from provers.errors import EnvInitError
from provers.protocol import EnvConfig

MIB = 1 << 20
DEFAULT_BUDGET_MIB = 2048  # about six processes with Reals loaded (317 MiB each)


@dataclass
class Lease:
    """A process lent out by a :class:`WarmPool` with its header loaded.

    ``sid`` is the Coq state id after the header (where the statement goes). Give it back with
    :meth:`WarmPool.release`; set ``broken`` first if the process must not be reused.
    """

    proc: CoqProcess
    key: tuple
    header: str  # the header text whose sentences are loaded (a prefix of it after a failure)
    ends: list[int]  # end offset in ``header`` of each loaded sentence
    sids: list[int]  # Coq state ids: sids[0] after Init, sids[i] after sentence i
    # What the user of the process recorded about each loaded sentence, aligned with ``ends``
    # (None: nothing; the header loader records nothing). Tracing keeps coqidetop's answers for
    # each sentence there, so that a later trace of the same text needs no replay of it.
    notes: list = field(default_factory=list)
    how: str = "fresh"  # fresh | warm (same header) | prefix (shared leading sentences)
    reused_sentences: int = 0
    broken: bool = False
    last_used: float = field(default_factory=time.monotonic)
    rss: int = 0

    @property
    def sid(self) -> int:
        return self.sids[-1]


@dataclass
class PoolStats:
    fresh: int = 0  # theorems that started a new process
    warm: int = 0  # theorems that found their header loaded
    prefix: int = 0  # theorems that reused the leading sentences of another header
    evicted: int = 0  # idle processes closed to stay within the budget
    discarded: int = 0  # processes that misbehaved (or failed to go back) and were killed
    header_failures: int = 0  # headers that did not load (the process kept its good prefix)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class WarmPool:
    """Idle ``coqidetop`` processes keyed by header; see the module documentation.

    ``budget_mib`` bounds the resident memory of the idle processes together; ``min_shared``
    is the number of leading header sentences two headers must share for a process to be
    reused across them (below it a fresh process starts, which keeps processes small).
    """

    def __init__(self, budget_mib: float = DEFAULT_BUDGET_MIB, *, min_shared: int = 1) -> None:
        if budget_mib < 0:
            raise ValueError(f"the warm pool's memory budget must be >= 0 MiB, not {budget_mib}")
        self.budget_bytes = int(budget_mib * MIB)
        self.min_shared = max(1, min_shared)
        self.stats = PoolStats()
        self._idle: list[Lease] = []
        self._lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------------ public

    def acquire(self, header: str, config: EnvConfig, name: str = "theorem") -> Lease:
        """A process whose document ends with ``header`` run (its state: :attr:`Lease.sid`).

        Raises :class:`EnvInitError` when the header does not load (naming ``name``).
        """
        key = _key(config)
        with self._lock:
            if self._closed:
                raise EnvInitError("the warm pool is closed")
            lease, keep = self._take(key, header)
        if lease is None:
            return self._fresh(key, header, config, name)
        try:
            return self._extend(lease, keep, header, config, name)
        except EnvInitError:
            raise
        except BaseException:
            lease.proc.kill()
            raise

    def release(self, lease: Lease) -> None:
        """Take a process back: move it to its header's state and keep it, or kill it."""
        proc = lease.proc
        if lease.broken or self._closed or not proc.alive() or not lease.sids:
            self._discard(lease)
            return
        if not _went_back(proc, lease.sid, 10.0):
            self._discard(lease)
            return
        lease.rss = proc.rss_bytes()
        lease.last_used = time.monotonic()
        with self._lock:
            if self._closed:
                proc.close()
                return
            self._idle.append(lease)
            evict = self._over_budget()
        for old in evict:
            old.proc.close()

    def resume(self, text: str, config: EnvConfig, name: str = "file") -> Lease:
        """A process to run the sentences of ``text`` in, for a caller that adds them itself.

        An idle process (same command line) whose first recorded sentences (those with a note)
        begin ``text`` is moved back with one ``Edit_at`` to the state after the last of them:
        :attr:`Lease.reused_sentences` of ``text`` are loaded there, with their notes. Any idle
        process of that command line will do (even one sharing no sentence: its ``Init`` state
        is kept); otherwise a fresh process, with nothing loaded, is started. The caller runs the
        rest, appends each sentence's end offset in ``text``, state id and note to
        ``ends``/``sids``/``notes``, sets ``header`` to ``text[:ends[-1]]``, and gives the
        process back with :meth:`release` (``broken`` set if it misbehaved). Tracing
        (:mod:`provers.tracing.replay`) uses this. Raises :class:`EnvInitError` when no process
        starts.
        """
        key = _key(config)
        while True:
            with self._lock:
                if self._closed:
                    raise EnvInitError("the warm pool is closed")
                lease, keep = self._take(key, text, minimum=0, recorded=True)
            if lease is None:
                return self._fresh(key, "", config, name)
            if not lease.proc.alive():
                self._discard(lease)
                continue
            exact = keep == len(lease.ends) and _nothing_after(text, lease.ends[-1] if lease.ends else 0)
            if keep < len(lease.ends):
                if not _went_back(lease.proc, lease.sids[keep], config.start_timeout_s):
                    self._discard(lease)
                    continue
                _truncate(lease, keep)
            self._reused(lease, keep, exact)
            return lease

    def idle(self) -> list[tuple[str, int]]:
        """(header, resident bytes) of each idle process, least recently used first."""
        with self._lock:
            return [(lease.header, lease.rss) for lease in sorted(self._idle, key=lambda x: x.last_used)]

    def idle_bytes(self) -> int:
        with self._lock:
            return sum(lease.rss for lease in self._idle)

    def close(self) -> None:
        """Close every idle process; leases still out are killed when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for lease in idle:
            lease.proc.close()

    def __enter__(self) -> WarmPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _take(self, key: tuple, header: str, minimum: int | None = None,
              recorded: bool = False) -> tuple[Lease | None, int]:
        """Under the lock: remove and return the best idle process and how many sentences it keeps.

        ``minimum``: the fewest shared sentences worth reusing (default ``min_shared``);
        ``recorded``: count only the leading sentences with a note (see :meth:`resume`).
        """
        minimum = self.min_shared if minimum is None else minimum
        best: Lease | None = None
        best_keep, best_exact = 0, False
        for lease in self._idle:
            if lease.key != key:
                continue
            keep = _shared_sentences(lease.header, lease.ends, header)
            if recorded:
                keep = min(keep, _recorded(lease))
            if keep < minimum and lease.ends:  # a process with nothing loaded suits any header
                continue
            exact = keep == len(lease.ends) and lease.header == header
            score = (exact, keep, lease.last_used)
            if best is None or score > (best_exact, best_keep, best.last_used):
                best, best_keep, best_exact = lease, keep, exact
        if best is not None:
            self._idle.remove(best)
        return best, best_keep

    def _fresh(self, key: tuple, header: str, config: EnvConfig, name: str) -> Lease:
        workdir = str(config.workdir) if config.workdir else None
        try:
            proc = CoqProcess(config.extra_args, cwd=workdir)
        except OSError as exc:
            raise EnvInitError(f"cannot start coqidetop: {exc}") from exc
        try:
            ans = proc.call(xmlproto.call_init(), config.start_timeout_s)
            if not ans.good:
                raise EnvInitError(f"coqidetop Init failed: {ans.error}")
            lease = Lease(proc, key, "", [], [xmlproto.state_id_of(ans.payload)])
        except EnvInitError:
            proc.kill()
            raise
        except (ProcessDied, ProcessHung, CallTimedOut) as exc:
            proc.kill()
            raise EnvInitError(f"starting coqidetop: {exc}") from exc
        except BaseException:
            proc.kill()
            raise
        with self._lock:
            self.stats.fresh += 1
        try:
            return self._load(lease, 0, header, config, name)
        except EnvInitError:
            raise  # the header did not load: _load kept the process (its good prefix) or killed it
        except (ProcessDied, ProcessHung, CallTimedOut) as exc:
            proc.kill()
            raise EnvInitError(f"elaborating the header of {name}: {exc}") from exc
        except BaseException:
            proc.kill()
            raise

    def _reused(self, lease: Lease, keep: int, exact: bool) -> None:
        """Count a reuse (the exact state, or a shared prefix of ``keep`` sentences) and mark the lease."""
        with self._lock:
            if exact:
                self.stats.warm += 1
            else:
                self.stats.prefix += 1
        lease.how = "warm" if exact else "prefix"
        lease.reused_sentences = keep
        lease.broken = False

    def _extend(self, lease: Lease, keep: int, header: str, config: EnvConfig, name: str) -> Lease:
        exact = keep == len(lease.ends) and lease.header == header
        self._reused(lease, keep, exact)
        if exact:
            return lease  # already at the header's state (released there)
        if keep < len(lease.ends):
            try:
                ans = lease.proc.call(xmlproto.call_edit_at(lease.sids[keep]), config.start_timeout_s)
            except (ProcessDied, ProcessHung, CallTimedOut) as exc:
                lease.proc.kill()
                raise EnvInitError(f"going back to a shared header state for {name}: {exc}") from exc
            if not ans.good or not _is_new_tip(ans):
                lease.proc.kill()
                with self._lock:
                    self.stats.discarded += 1
                return self._fresh(lease.key, header, config, name)
            _truncate(lease, keep)
        try:
            return self._load(lease, keep, header, config, name)
        except (ProcessDied, ProcessHung, CallTimedOut) as exc:
            lease.proc.kill()
            raise EnvInitError(f"elaborating the header of {name}: {exc}") from exc

    def _load(self, lease: Lease, keep: int, header: str, config: EnvConfig, name: str) -> Lease:
        """Add and run the sentences of ``header`` after the first ``keep`` (already loaded).

        On a sentence that does not parse or run, the process goes back to the last state that
        ran well and into the pool (if anything is loaded there), and EnvInitError is raised.
        """
        offset = lease.ends[keep - 1] if keep else 0
        try:
            rest = split_sentences(header[offset:])
        except SentenceError as exc:
            self._put_back_or_kill(lease)
            raise EnvInitError(f"{name}: {exc}") from exc
        if not rest:
            lease.header = header
            return lease
        what = f"elaborating the header of {name}"
        sid = lease.sid
        new_ends: list[int] = []
        new_sids: list[int] = []
        try:
            for s in rest:
                ans = lease.proc.call(xmlproto.call_add(s.text, sid), config.start_timeout_s)
                if not ans.good:
                    raise _HeaderFailed(f"{what}: cannot parse {s.text[:80]!r}: {ans.error}")
                sid = ans.new_state_id()
                new_ends.append(offset + s.start + len(s.text))
                new_sids.append(sid)
            ans = lease.proc.call(xmlproto.call_status(True), config.start_timeout_s)
            if not ans.good:
                # Coq names the last state that ran well: the sentences up to it stay usable.
                good = new_sids.index(ans.fail_state) + 1 if ans.fail_state in new_sids else 0
                del new_ends[good:], new_sids[good:]
                raise _HeaderFailed(f"{what}: {ans.error}")
        except _HeaderFailed as exc:
            with self._lock:
                self.stats.header_failures += 1
            lease.ends.extend(new_ends)
            lease.sids.extend(new_sids)
            lease.notes.extend([None] * len(new_ends))
            lease.header = header[: lease.ends[-1]] if lease.ends else ""
            self._back_to_good_prefix(lease, config)
            raise EnvInitError(str(exc)) from None
        lease.ends.extend(new_ends)
        lease.sids.extend(new_sids)
        lease.notes.extend([None] * len(new_ends))
        lease.header = header
        return lease

    def _back_to_good_prefix(self, lease: Lease, config: EnvConfig) -> None:
        """After a header that failed to load: keep the process at its last good state, if any."""
        if not lease.ends:
            lease.proc.kill()
            return
        if not _went_back(lease.proc, lease.sid, min(config.start_timeout_s, 10.0)):
            lease.proc.kill()
            return
        self._put_back_or_kill(lease, moved=True)

    def _put_back_or_kill(self, lease: Lease, moved: bool = False) -> None:
        if not lease.ends:
            lease.proc.kill()
            return
        if moved:
            lease.rss = lease.proc.rss_bytes()
            lease.last_used = time.monotonic()
            with self._lock:
                if not self._closed:
                    self._idle.append(lease)
                    evict = self._over_budget()
                else:
                    evict = [lease]
            for old in evict:
                old.proc.close()
        else:
            self.release(lease)

    def _over_budget(self) -> list[Lease]:
        """Under the lock: remove least recently used idle processes until within the budget."""
        out = []
        self._idle.sort(key=lambda x: x.last_used)
        while self._idle and sum(x.rss for x in self._idle) > self.budget_bytes:
            out.append(self._idle.pop(0))
            self.stats.evicted += 1
        return out

    def _discard(self, lease: Lease) -> None:
        with self._lock:
            self.stats.discarded += 1
        lease.proc.kill()


class _HeaderFailed(Exception):
    pass


def _key(config: EnvConfig) -> tuple:
    """Processes are shared only between theorems started with the same command line and directory."""
    return (tuple(config.extra_args), str(config.workdir) if config.workdir else None)


def _truncate(lease: Lease, keep: int) -> None:
    """Forget the loaded sentences after the first ``keep`` (Coq dropped their states)."""
    del lease.ends[keep:]
    del lease.sids[keep + 1 :]
    del lease.notes[keep:]
    lease.header = lease.header[: lease.ends[-1]] if lease.ends else ""


def _nothing_after(text: str, offset: int) -> bool:
    """``text`` has no sentence after ``offset`` (only white space and comments)."""
    try:
        return not split_sentences(text[offset:])
    except SentenceError:
        return False


def _recorded(lease: Lease) -> int:
    """How many leading loaded sentences have a note."""
    for i, note in enumerate(lease.notes):
        if note is None:
            return i
    return min(len(lease.notes), len(lease.ends))


def _went_back(proc, sid: int, timeout_s: float) -> bool:
    """``Edit_at`` state ``sid`` and whether the process is there, as the document's new tip
    (False too when it died, hung or answered nonsense: the caller drops it)."""
    try:
        ans = proc.call(xmlproto.call_edit_at(sid), timeout_s)
    except (ProcessDied, ProcessHung, CallTimedOut, xmlproto.ProtocolError, OSError):
        return False
    return ans.good and _is_new_tip(ans)


def _is_new_tip(answer: xmlproto.Answer) -> bool:
    """``Edit_at`` answered ``in_l`` (the document now ends there), not a focus inside a proof."""
    payload = answer.payload
    return payload is None or payload.get("val") != "in_r"


def _common_prefix_len(a: str, b: str) -> int:
    if b.startswith(a):
        return len(a)
    if a.startswith(b):
        return len(b)
    lo, hi = 0, min(len(a), len(b))  # a[:lo] == b[:lo], a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _shared_sentences(loaded: str, ends: list[int], header: str) -> int:
    """How many of the loaded sentences (ending at ``ends`` in ``loaded``) start ``header`` too."""
    if not ends:
        return 0
    n = _common_prefix_len(loaded, header)
    if n == len(loaded) and n == len(header):
        return len(ends)
    k = 0
    # A sentence counts when it lies inside the common prefix and also ends there in ``header``
    # (the character after it is shared, or is white space or the end of ``header``).
    lo, hi = 0, len(ends)
    while lo < hi:  # the number of sentences with end <= n
        mid = (lo + hi) // 2
        if ends[mid] <= n:
            lo = mid + 1
        else:
            hi = mid
    k = lo
    if k and ends[k - 1] == n and n < len(header) and not header[n].isspace():
        k -= 1
    return k
