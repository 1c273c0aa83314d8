"""Start a real ``transformers serve`` (transformers' own OpenAI-compatible server) on a loopback
port, for the test suite and the benchmarks: ``with transformers_serve(model_dir) as server: ...``.

The server is pinned to one model (``transformers serve MODEL``), loads it before it answers, and
listens on ``127.0.0.1`` only (loopback addresses only: this is for tests and local benchmarks, not
for exposing a model). The process and everything it started are killed when the ``with`` block
ends, also when start-up fails half way. Its output goes to a log file whose tail is quoted in the
error when it does not come up.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nesyrun.openai_client import EndpointError


class ServerStartError(EndpointError):
    """``transformers serve`` is not installed, exited, or did not answer in time."""


@dataclass(frozen=True)
class ServedModel:
    url: str  # API base, e.g. http://127.0.0.1:40123/v1
    model: str  # the model name the server answers to
    pid: int
    log: Path

    @property
    def spec(self) -> str:
        """``URL#MODEL``: what ``openai:`` generator and translator specs take."""
        return f"{self.url}#{self.model}"


def serving_available() -> str | None:
    """None when ``transformers serve`` can run here, else the reason it cannot."""
    try:
        from transformers.utils.import_utils import is_serve_available
    except ImportError:
        return "transformers is not installed: pip install 'nesy[serve]'"
    if not is_serve_available():
        return "transformers[serving] (fastapi, uvicorn, openai) is not installed: pip install 'nesy[serve]'"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _check_loopback(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ServerStartError(f"refusing to serve on {host!r}: only loopback addresses (127.0.0.1, ::1, localhost)")


@contextlib.contextmanager
def transformers_serve(
    model: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    start_timeout_s: float = 180.0,
    threads: int | None = None,
    sampling: bool = True,
    log_dir: Path | None = None,
) -> Iterator[ServedModel]:
    """Run ``transformers serve MODEL --host HOST --port PORT --device cpu`` for the ``with`` block.

    ``model`` is a local model directory (``save_pretrained`` layout); the hub is never contacted.
    ``threads`` caps torch's CPU threads in the server (``OMP_NUM_THREADS``).

    ``transformers serve`` samples only when the model's ``generation_config.json`` says
    ``do_sample: true`` (a request's ``temperature`` does not switch sampling on; 0 switches it
    off); otherwise every "sample" is the greedy completion. With ``sampling`` (the default) the
    server is given a copy of the directory -- links to the same weight files, and that one
    setting added -- so the served model samples as the in-process ``hf:`` generator does."""
    _check_loopback(host)
    reason = serving_available()
    if reason:
        raise ServerStartError(reason)
    source = Path(model).expanduser()
    if not (source / "config.json").is_file():
        raise ServerStartError(f"{source} is not a model directory (no config.json)")
    port = port or free_port(host)
    log_root = Path(tempfile.mkdtemp(prefix="nesy-serve-", dir=log_dir))
    log = log_root / "server.log"
    model = str(_sampling_copy(source, log_root / source.name) if sampling else source)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", model, "--host", host, "--port", str(port), "--device", "cpu", "--log-level", "warning"]
    url = f"http://{host}:{port}/v1" if ":" not in host else f"http://[{host}]:{port}/v1"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        _wait_until_up(process, url, model, log, start_timeout_s)
        yield ServedModel(url, model, process.pid, log)
    finally:
        _kill_group(process)
        if log_dir is None:
            shutil.rmtree(log_root, ignore_errors=True)


def _sampling_copy(source: Path, target: Path) -> Path:
    """``target``: links to every file of ``source`` but ``generation_config.json``, which is
    rewritten with ``do_sample: true``."""
    target.mkdir(parents=True)
    for item in source.iterdir():
        if item.name != "generation_config.json":
            (target / item.name).symlink_to(item.resolve())
    config_file = source / "generation_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    config["do_sample"] = True
    (target / "generation_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return target


def _wait_until_up(process: subprocess.Popen, url: str, model: str, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise ServerStartError(f"transformers serve exited with status {process.returncode} before answering:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url + "/models", timeout=5) as response:  # noqa: S310 - loopback
                ids = [m.get("id") for m in json.loads(response.read()).get("data", [])]
            if model in ids:
                return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise ServerStartError(f"transformers serve did not answer at {url} within {timeout_s:g} s:\n{_tail(log)}")
        time.sleep(0.5)


def _kill_group(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
