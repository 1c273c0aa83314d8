"""The one pool every nesy job runs on: Ray actors, threads, or the same code in this process.

Used by proof search and evaluation (``nesy prove``, ``nesy eval minif2f|library``), tracing
(``nesy trace``) and synthesis (``nesy synth nlsat``). The pieces:

* A **worker** is any object with ``run(task) -> dict`` (one JSON row for the task; it must not
  raise for the task's own trouble) and ``close()``. It is built in its process by a picklable
  zero-argument **factory**; each worker owns its environments and its generator (a model is
  loaded once per actor, a prover process per theorem).
* :class:`ResultLog` streams rows to a JSONL file as they finish, one row per task name: on a
  rerun the names already there are skipped (resume), and a row for a name already written is
  never written again (so a retried task cannot appear twice).
* :func:`run_pool` dispatches tasks as workers free up. With ``workers == 1`` and no ``address``
  it runs the worker in this process (no Ray); otherwise each worker is a Ray actor (joining the
  cluster at ``address``, or the running/local one). If an actor dies (killed, out of memory),
  its task goes back to the queue for another, fresh actor, up to ``max_retries`` times; after
  that the task gets an error row. The job goes on either way.

* ``PoolConfig.executor = "threads"`` runs ``workers`` workers as threads of this process: right
  for workers whose work happens in child processes (a prover), where the GIL costs nothing and
  a worker's warm processes can be shared; no Ray needed.
* :func:`map_unordered` is the stateless form for a function over items (tracing a file,
  generating a bucket): results in completion order, in-process or as Ray tasks, a crashed task
  reported as its exception.

A task's row always carries ``name``; the pool adds ``attempt`` (1 + retries used).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nesyrun.errors import RunConfigError, WorkerStartError
from nesyrun.extras import require

EXECUTORS = ("auto", "local", "threads", "ray")


class Worker(Protocol):
    def run(self, task: Any) -> dict: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Task:
    """One unit of work: ``name`` is its stable id in the results file; ``payload`` is pickled to the worker."""

    name: str
    payload: Any


@dataclass(frozen=True)
class PoolConfig:
    """``workers``: parallel workers; ``address``: a Ray cluster to join (``"auto"`` too);
    ``use_ray``: force Ray even for one worker; ``executor``: ``auto`` (Ray for several workers
    or an address, else in-process), ``local``, ``threads`` or ``ray``; ``max_retries``:
    re-dispatches of a task whose actor died; ``cpus_per_worker``: Ray resources each actor claims."""

    workers: int = 1
    address: str | None = None
    use_ray: bool = False
    max_retries: int = 2
    cpus_per_worker: float = 1.0
    executor: str = "auto"

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise RunConfigError(f"workers must be at least 1, got {self.workers}")
        if self.max_retries < 0:
            raise RunConfigError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.executor not in EXECUTORS:
            raise RunConfigError(f"executor must be one of {', '.join(EXECUTORS)}, not {self.executor!r}")
        if self.executor in ("local", "threads") and (self.address is not None or self.use_ray):
            raise RunConfigError(f"executor {self.executor!r} runs in this process: it cannot join a Ray cluster")

    @property
    def kind(self) -> str:
        """What runs the workers: ``local``, ``threads`` or ``ray``."""
        if self.executor != "auto":
            return "local" if self.executor == "threads" and self.workers == 1 else self.executor
        return "ray" if (self.use_ray or self.workers > 1 or self.address is not None) else "local"

    @property
    def ray(self) -> bool:
        return self.kind == "ray"


@dataclass(frozen=True)
class PoolStats:
    """What happened: tasks done by this call, skipped (already in the log), retried, and timings.

    ``start_s`` is the time to bring the workers up; ``run_s`` the time from the first dispatch
    to the last row (what throughput should be measured on).
    """

    done: int
    skipped: int
    retries: int
    actor_deaths: int
    start_s: float
    run_s: float
    backend: str  # "local" or "ray"


class ResultLog:
    """Append-only JSONL of rows keyed by ``name`` (see the module doc). Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._repair_tail()
        self.names = {r["name"] for r in self.rows()}

    def _repair_tail(self) -> None:
        if self.path.exists():
            data = self.path.read_bytes()
            if data and not data.endswith(b"\n"):  # a torn line from a killed run
                cut = data.rfind(b"\n")
                self.path.write_bytes(data[: cut + 1] if cut >= 0 else b"")

    def rows(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("name"), str):
                out.append(row)
        return out

    def write(self, row: dict) -> bool:
        """Append ``row`` unless its name is already there; return whether it was written."""
        with self._lock:
            if row["name"] in self.names:
                return False
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                fh.flush()
            self.names.add(row["name"])
            return True


def run_pool(
    tasks: Iterable[Task],
    factory: Callable[[], Worker],
    config: PoolConfig,
    log: ResultLog,
    *,
    on_row: Callable[[dict], None] | None = None,
    error_row: Callable[[Task, str], dict] | None = None,
) -> PoolStats:
    """Run every task whose name is not in ``log``; stream rows to it; see the module doc.

    ``on_row`` sees each row after it is written (progress bars, tests). ``error_row`` builds the
    row of a task that could not finish (its actor died too often, or the worker raised); the
    default is ``{"name": ..., "status": "error", "message": ...}``. Raises
    :class:`WorkerStartError` when the workers cannot be built at all.
    """
    all_tasks = list(tasks)
    names = [t.name for t in all_tasks]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[:5]
        raise RunConfigError(f"task names must be unique; repeated: {', '.join(dup)}")
    todo = [t for t in all_tasks if t.name not in log.names]
    skipped = len(all_tasks) - len(todo)
    make_error = error_row or (lambda task, msg: {"name": task.name, "status": "error", "message": msg})

    def emit(row: dict) -> None:
        if log.write(row) and on_row:
            on_row(row)

    if not todo:
        return PoolStats(0, skipped, 0, 0, 0.0, 0.0, config.kind)
    if config.kind == "local":
        return _run_local(todo, factory, emit, make_error, skipped)
    if config.kind == "threads":
        return _run_threads(todo, factory, config.workers, emit, make_error, skipped)
    return _run_ray(todo, factory, config, emit, make_error, skipped)


def _build(factory: Callable[[], Worker]) -> Worker:
    try:
        return factory()
    except Exception as exc:  # noqa: BLE001 - a broken worker set-up is the job's error, said clearly
        if type(exc).__module__.split(".")[0] in ("nesyrun", "provers", "retrieval", "synthesis", "logic"):
            raise  # already a typed error with a message for the user
        raise WorkerStartError(f"could not start the worker: {exc!r}") from exc


def _run_local(todo: list[Task], factory: Callable[[], Worker], emit, make_error, skipped: int) -> PoolStats:
    t0 = time.monotonic()
    worker = _build(factory)
    start_s = time.monotonic() - t0
    t1 = time.monotonic()
    try:
        for task in todo:
            try:
                row = worker.run(task)
            except Exception as exc:  # noqa: BLE001 - one task's bug must not stop the job
                row = make_error(task, f"worker raised {exc!r}")
            row = {**row, "name": task.name, "attempt": 1}
            emit(row)
    finally:
        worker.close()
    return PoolStats(len(todo), skipped, 0, 0, start_s, time.monotonic() - t1, "local")


def _run_threads(todo: list[Task], factory: Callable[[], Worker], workers: int, emit, make_error, skipped: int) -> PoolStats:
    """``workers`` threads, each with its own worker, taking tasks from one queue in order."""
    t0 = time.monotonic()
    built = [_build(factory) for _ in range(min(workers, len(todo)))]
    start_s = time.monotonic() - t0
    queue: deque[Task] = deque(todo)
    lock = threading.Lock()

    def loop(worker: Worker) -> None:
        while True:
            with lock:
                if not queue:
                    return
                task = queue.popleft()
            try:
                row = worker.run(task)
            except Exception as exc:  # noqa: BLE001 - one task's bug must not stop the job
                row = make_error(task, f"worker raised {exc!r}")
            emit({**row, "name": task.name, "attempt": 1})

    t1 = time.monotonic()
    threads = [threading.Thread(target=loop, args=(w,), name=f"nesy-worker-{i}", daemon=True) for i, w in enumerate(built)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.5)  # short joins keep Ctrl-C responsive
    finally:
        with lock:
            queue.clear()  # on Ctrl-C: the threads finish their current task and stop
        for t in threads:
            t.join()
        for w in built:
            w.close()
    return PoolStats(len(todo), skipped, 0, 0, start_s, time.monotonic() - t1, "threads")


class _ActorShell:
    """The Ray actor: builds the worker in its own process and forwards ``run``."""

    def __init__(self, factory: Callable[[], Worker]) -> None:
        self.error: str | None = None
        self.worker: Worker | None = None
        try:
            self.worker = factory()
        except Exception as exc:  # noqa: BLE001 - reported through ready(), not as a dead actor
            self.error = f"{type(exc).__name__}: {exc}"

    def ready(self) -> tuple[int, str | None]:
        import os

        return os.getpid(), self.error

    def run(self, task: Task) -> dict:
        if self.worker is None:
            raise RuntimeError(self.error or "worker not built")
        return self.worker.run(task)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


def import_ray() -> Any:
    return require("ray", "dist", what="runs on several workers")


def ensure_ray(address: str | None, workers: int, cpus_per_worker: float = 1.0) -> tuple[Any, bool]:
    """Connect to ``address``, reuse a running Ray, or start a local one. Returns ``(ray, started)``."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    try:
        if address:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        else:
            import os

            cpus = max(int(workers * cpus_per_worker + 0.999), os.cpu_count() or 1)
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise WorkerStartError(f"could not connect to {where}: {exc}") from exc
    return ray, True


def _run_ray(todo: list[Task], factory: Callable[[], Worker], config: PoolConfig, emit, make_error, skipped: int) -> PoolStats:
    ray, started = ensure_ray(config.address, config.workers, config.cpus_per_worker)
    from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

    remote_cls = ray.remote(num_cpus=config.cpus_per_worker, max_restarts=0, max_task_retries=0)(_ActorShell)
    actors: list[Any] = []
    t0 = time.monotonic()

    def new_actor() -> Any:
        actor = remote_cls.remote(factory)
        try:
            _, error = ray.get(actor.ready.remote())
        except RayActorError as exc:
            raise WorkerStartError(f"a Ray actor died while starting: {exc}") from exc
        if error is not None:
            ray.kill(actor, no_restart=True)
            raise WorkerStartError(f"could not start a worker: {error}")
        actors.append(actor)
        return actor

    retries = deaths = 0
    try:
        idle = deque(new_actor() for _ in range(min(config.workers, len(todo))))
        start_s = time.monotonic() - t0
        t1 = time.monotonic()
        queue: deque[tuple[Task, int]] = deque((t, 0) for t in todo)
        pending: dict[Any, tuple[Any, Task, int]] = {}
        while queue or pending:
            while idle and queue:
                actor = idle.popleft()
                task, failures = queue.popleft()
                pending[actor.run.remote(task)] = (actor, task, failures)
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                actor, task, failures = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except RayActorError as exc:
                    deaths += 1
                    ray.kill(actor, no_restart=True)
                    if failures + 1 > config.max_retries:
                        emit({**make_error(task, f"worker died {failures + 1} times on this theorem; last: {str(exc).splitlines()[0][:300]}"), "name": task.name, "attempt": failures + 1})
                    else:
                        retries += 1
                        queue.appendleft((task, failures + 1))
                    idle.append(new_actor())
                    continue
                except (RayTaskError, GetTimeoutError) as exc:
                    cause = getattr(exc, "cause", None) or exc
                    row = make_error(task, f"worker raised {cause!r}"[:500])
                row = {**row, "name": task.name, "attempt": failures + 1}
                emit(row)
                idle.append(actor)
        run_s = time.monotonic() - t1
    finally:
        # Let each worker close what it holds (warm prover processes) before its actor is killed.
        closing = []
        for actor in actors:
            try:
                closing.append(actor.close.remote())
            except Exception:  # noqa: BLE001 - already dead
                pass
        try:
            ray.wait(closing, num_returns=len(closing), timeout=30)
        except Exception:  # noqa: BLE001 - best effort: the kill below ends them anyway
            pass
        for actor in actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already dead
                pass
        if started:
            ray.shutdown()
    return PoolStats(len(todo), skipped, retries, deaths, start_s, run_s, "ray")


def map_unordered(
    fn: Callable[..., Any],
    items: Iterable[Any],
    *,
    args: tuple = (),
    workers: int = 1,
    address: str | None = None,
    retries: int = 0,
) -> Iterator[tuple[Any, Any]]:
    """``(item, fn(*args, item))`` for every item, in completion order.

    One worker and no address: in this process, in order (an exception propagates: the caller's
    bug). Otherwise Ray tasks (``args`` are put in the object store once); a task that crashes
    after ``retries`` retries yields ``(item, exception)`` instead of a result, and the others
    go on. Ctrl-C cancels what is still running.
    """
    todo = list(items)
    if workers < 1:
        raise RunConfigError(f"workers must be at least 1, got {workers}")
    if not todo:
        return
    if workers == 1 and address is None:
        for item in todo:
            yield item, fn(*args, item)
        return
    ray, started = ensure_ray(address, workers)
    pending: dict = {}
    try:
        remote = ray.remote(num_cpus=1, max_retries=retries)(fn)
        refs = [ray.put(a) for a in args]
        for item in todo:
            pending[remote.remote(*refs, item)] = item
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                item = pending.pop(ref)
                try:
                    yield item, ray.get(ref)
                except ray.exceptions.RayError as exc:
                    yield item, exc
    finally:
        for ref in pending:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - already finished
                pass
        if started:
            ray.shutdown()
