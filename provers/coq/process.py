"""One ``coqidetop.opt`` process spoken to over its XML protocol.

The process runs in a session of its own so that the whole tree can be killed. A call that
takes longer than its limit is interrupted with SIGINT (coqidetop then answers "User interrupt"
and stays usable); if it still does not answer within ``grace_s``, the process is killed and
:class:`ProcessHung` is raised. A process that dies raises :class:`ProcessDied`.
"""

from __future__ import annotations

import ctypes
import os
import resource
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass

from provers.coq import xmlproto
from provers.errors import MissingDependencyError

COQIDETOP_NAMES = ("coqidetop.opt", "coqidetop")


_PR_SET_PDEATHSIG = 1
_libc = None


def _die_with_parent(parent_pid: int) -> None:
    """In a freshly forked child: ask the kernel to SIGKILL it when its parent dies.

    The process runs in a session of its own (so that its whole tree can be killed), which
    also cuts it off from a terminal's hang-up; without this, a ``nesy`` killed by SIGKILL or
    ``timeout`` would leave coqidetop running at full CPU. If the parent is already gone when
    this runs (it died between fork and here), the child exits at once.
    """
    if _libc is None:  # pragma: no cover - not Linux: best effort only
        return
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


@dataclass(frozen=True)
class Limits:
    """Resource limits for a child process (0 = no limit)."""

    memory_mb: int = 0  # address space (RLIMIT_AS)
    cpu_s: int = 0  # CPU seconds (RLIMIT_CPU)
    file_mb: int = 0  # largest file it may write (RLIMIT_FSIZE)


def child_setup(limits: Limits | None = None):
    """A ``preexec_fn``: die with this process, then apply ``limits``.

    libc is loaded here, in the parent: the child of a threaded program must not load libraries.
    """
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.prctl  # noqa: B018 - fails on systems without prctl
        except (OSError, AttributeError):  # pragma: no cover - not Linux
            _libc = None
    parent = os.getpid()

    def setup() -> None:
        _die_with_parent(parent)
        if limits is None:
            return
        for res, value in ((resource.RLIMIT_AS, limits.memory_mb * 2**20), (resource.RLIMIT_CPU, limits.cpu_s), (resource.RLIMIT_FSIZE, limits.file_mb * 2**20)):
            if value > 0:
                resource.setrlimit(res, (value, value))

    return setup


def private_tempdir(kind: str) -> str:
    """A fresh private directory ``nesy-<kind>-<pid>-*`` under the temporary directory.

    The owner's pid is in the name so that directories left by a process that was killed
    (SIGKILL leaves no chance to clean up) are found and removed by the next nesy process:
    see :func:`sweep_stale_tempdirs`.
    """
    sweep_stale_tempdirs()
    return tempfile.mkdtemp(prefix=f"nesy-{kind}-{os.getpid()}-")


_swept = False


def sweep_stale_tempdirs() -> int:
    """Remove ``nesy-*-<pid>-*`` temporary directories whose owning process is gone (once per process)."""
    global _swept
    if _swept:
        return 0
    _swept = True
    removed = 0
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return 0
    for name in names:
        parts = name.split("-")
        if len(parts) < 4 or parts[0] != "nesy" or not parts[2].isdigit():
            continue
        pid = int(parts[2])
        if pid == os.getpid() or os.path.exists(f"/proc/{pid}"):
            continue
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        removed += 1
    return removed


def run_confined(cmd: list[str], cwd: str, timeout_s: float, limits: Limits | None = None) -> tuple[int | None, str]:
    """Run ``cmd`` in ``cwd`` in its own session, killed (whole group) at ``timeout_s`` or with us.

    Returns ``(exit status, stdout + stderr)``; the status is None when the time limit was hit.
    """
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=child_setup(limits),
    )
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, _ = proc.communicate()
        return None, out.decode("utf-8", "replace")
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    return proc.returncode, out.decode("utf-8", "replace")


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group that ``proc`` leads (it was started in a session of its own)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


class ProcessDied(Exception):
    """The process exited (or closed its pipes) during a call."""


class ProcessHung(Exception):
    """The process ignored an interrupt and was killed."""


class CallTimedOut(Exception):
    """The call was interrupted at its time limit; the process is fine.

    ``answers`` holds what was read (for a batch: one answer per call, the interrupted one a
    failure).
    """

    def __init__(self, answers: object = ()) -> None:
        self.answers = list(answers) if isinstance(answers, list) else []
        super().__init__(answers if isinstance(answers, str) else "interrupted at the time limit")


COQ_INSTALL_HINT = "install Coq (Debian: apt-get install -y coq libcoq-stdlib)"


def coq_tool(*names: str) -> str:
    """The path of the first of ``names`` (``coqc``, ``coqchk``, ``coqdep``, ...) on PATH, or
    :class:`MissingDependencyError` saying how to install Coq. The one place nesy looks for Coq."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise MissingDependencyError(f"{names[0]} not found on PATH: {COQ_INSTALL_HINT}")


def find_coqidetop() -> str:
    return coq_tool(*COQIDETOP_NAMES)


_PATH_FLAGS = ("-R", "-Q", "-I", "-include", "-load-vernac-source", "-l", "-topfile")


def absolute_path_args(args: tuple[str, ...]) -> tuple[str, ...]:
    """Make the directory/file argument of Coq's path flags absolute (the process runs elsewhere)."""
    out = list(args)
    for i, a in enumerate(out[:-1]):
        if a in _PATH_FLAGS and not os.path.isabs(out[i + 1]):
            out[i + 1] = os.path.abspath(out[i + 1])
    return tuple(out)


class CoqProcess:
    """A running coqidetop. Not thread-safe: one call at a time.

    Without ``cwd`` the process runs in a private temporary directory, removed when it is
    killed: tactics such as ``lia``/``nia``/``psatz`` write cache files (``.lia.cache``...) into the
    working directory, and a user's directory is no place for them.
    """

    def __init__(self, extra_args: tuple[str, ...] = (), cwd: str | None = None, grace_s: float = 5.0) -> None:
        self.grace_s = grace_s
        exe = find_coqidetop()
        self._own_dir = private_tempdir("coq") if cwd is None else None
        self._stderr = tempfile.TemporaryFile()
        try:
            self.proc = self._spawn(exe, extra_args, cwd)
        except BaseException:
            self._stderr.close()
            if self._own_dir:
                shutil.rmtree(self._own_dir, ignore_errors=True)
            raise
        self._buf = b""
        self._fd = self.proc.stdout.fileno()
        self.calls = 0

    def _spawn(self, exe: str, extra_args: tuple[str, ...], cwd: str | None) -> subprocess.Popen:
        return subprocess.Popen(
            [exe, "-main-channel", "stdfds", "-async-proofs", "off", *absolute_path_args(extra_args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd or self._own_dir,
            start_new_session=True,
            preexec_fn=child_setup(),
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, xml: str, timeout_s: float | None = None) -> xmlproto.Answer:
        """Send one call and wait for its answer (see the module doc for time limits)."""
        try:
            return self.call_many([xml], timeout_s)[0]
        except CallTimedOut as exc:
            raise CallTimedOut(exc.answers[0].error if exc.answers else "interrupted") from None

    def call_many(self, xmls: list[str], timeout_s: float | None = None) -> list[xmlproto.Answer]:
        """Send several calls at once (pipelined) and read their answers, in order.

        coqidetop reads calls one after the other from its input, so writing them together saves
        a round trip (and a wake-up of each process) per call. ``timeout_s`` bounds the whole
        batch; at the limit the running call is interrupted and, once every answer is read,
        :class:`CallTimedOut` is raised carrying them (``.answers``).
        """
        self.calls += len(xmls)
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write("".join(xmls).encode("utf-8"))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise ProcessDied(self._death_note()) from exc
        answers: list[xmlproto.Answer] = []
        interrupted = False
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        scanned = 0  # bytes of the buffer already searched for an answer's end
        while True:
            end = xmlproto.find_answer_end(self._buf, max(0, scanned - 8))
            if end >= 0:
                chunk, self._buf = self._buf[:end], self._buf[end:]
                scanned = 0
                answers.append(xmlproto.parse_answer(chunk))
                if len(answers) == len(xmls):
                    if interrupted:
                        raise CallTimedOut(answers)
                    return answers
                continue
            scanned = len(self._buf)
            wait = 1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            ready = self._read(min(wait, 1.0))
            if ready:
                continue
            if deadline is not None and time.monotonic() >= deadline:
                if interrupted:
                    self.kill()
                    raise ProcessHung(f"coqidetop ignored an interrupt for {self.grace_s:.0f}s and was killed")
                self._signal(signal.SIGINT)
                interrupted = True
                deadline = time.monotonic() + self.grace_s

    def _read(self, wait: float) -> bool:
        fd = self._fd
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            if not self.alive():
                raise ProcessDied(self._death_note())
            return False
        data = os.read(fd, 1 << 16)
        if not data:
            self.proc.wait(timeout=5)
            raise ProcessDied(self._death_note())
        self._buf += data
        return True

    def _death_note(self) -> str:
        code = self.proc.poll()
        try:
            self._stderr.seek(0)
            err = self._stderr.read().decode("utf-8", "replace").strip()[-500:]
        except (OSError, ValueError):
            err = ""
        how = f"exit status {code}" if code is not None and code >= 0 else f"signal {-code}" if code else "closed its output"
        return f"coqidetop died ({how})" + (f": {err}" if err else "")

    def _signal(self, sig: int) -> None:
        try:
            os.kill(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def rss_bytes(self) -> int:
        """Resident memory of the process (Linux /proc), 0 if unknown."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def kill(self) -> None:
        """Kill the whole process group and reap it. Safe to call twice."""
        if self.proc.poll() is None:
            _kill_group(self.proc)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - the kernel did not reap it
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass
        self._stderr.close()
        if self._own_dir:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    def close(self) -> None:
        """Ask coqidetop to quit, then make sure the whole tree is gone."""
        if self.alive():
            try:
                self.call(xmlproto.call_quit(), timeout_s=2.0)
            except (ProcessDied, ProcessHung, CallTimedOut, xmlproto.ProtocolError, OSError):
                pass
        self.kill()
