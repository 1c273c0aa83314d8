"""The ``nesy`` command line: one entry point over provers/, retrieval/, synthesis/ and logic/.

Every ``argparse`` line lives here, in :mod:`nesy.commands`: one module per area exposing
``register(commands: Commands)``. The packages below never import ``nesy`` (import-linter
contracts in pyproject.toml). Command modules must be cheap to import (argparse set-up only):
heavy work and heavy imports happen inside the ``run`` functions they register.

A ``run`` function takes the parsed ``argparse.Namespace`` and returns an exit code. Library
errors meant for the user (bad input, missing extra, unknown backend) are subclasses of one of the
packages' base errors; the CLI prints them as ``nesy: error: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

# Command modules. Order decides the order in ``nesy --help``.
COMMAND_MODULES = (
    "nesy.commands.prove",  # nesy prove, nesy check
    "nesy.commands.search",  # nesy eval minif2f, nesy train tactics
    "nesy.commands.iterate",  # nesy iterate
    "nesy.commands.trace",  # nesy trace
    "nesy.commands.retrieval",  # nesy index, retrieve, train retriever, eval retrieval
    "nesy.commands.synthesis",  # nesy synth nlsat
    "nesy.commands.logic",  # nesy eval proofwriter|folio|prontoqa, nesy train translator
)

# Subcommand groups shared by several packages (``nesy eval minif2f``, ``nesy eval folio``, ...).
GROUPS = {
    "eval": "evaluate a prover, reasoner or retriever on a benchmark",
    "synth": "generate synthetic data",
    "train": "train a model",
}

RunFn = Callable[[argparse.Namespace], int]


class Commands:
    """Where packages add their subcommands: ``commands.add("eval folio", help=...)``."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self._top = parser.add_subparsers(dest="command", metavar="COMMAND")
        self._groups: dict[str, argparse._SubParsersAction] = {}

    def add(self, path: str, *, help: str, run: RunFn, description: str | None = None) -> argparse.ArgumentParser:
        words = path.split()
        if len(words) == 1:
            sub = self._top
        elif len(words) == 2 and words[0] in GROUPS:
            sub = self._group(words[0])
        else:
            raise ValueError(f"bad command path {path!r}: use NAME or one of {sorted(GROUPS)} + NAME")
        parser = sub.add_parser(
            words[-1],
            help=help,
            description=description or help,
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        parser.set_defaults(_run=run)
        return parser

    def _group(self, name: str) -> argparse._SubParsersAction:
        if name not in self._groups:
            group = self._top.add_parser(name, help=GROUPS[name], description=GROUPS[name])
            self._groups[name] = group.add_subparsers(dest=f"{name}_command", metavar="WHAT")
            group.set_defaults(_group_parser=group)
        return self._groups[name]


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that carry a message for the user rather than a bug: printed without traceback."""
    types: list[type[BaseException]] = []
    for module_name, attr in (
        ("provers.errors", "ProverError"),
        ("retrieval.errors", "RetrievalError"),
        ("synthesis.errors", "SynthesisError"),
        ("logic.errors", "LogicError"),
        ("nesyrun.errors", "RunError"),
        ("nesyrun.openai_client", "EndpointError"),
        ("nesy.errors", "UsageError"),
    ):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        exc = getattr(module, attr, None)
        if isinstance(exc, type) and issubclass(exc, BaseException):
            types.append(exc)
    return tuple(types)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nesy",
        description="nesy: neurosymbolic theorem proving and logical reasoning.",
    )
    from nesy import __version__

    parser.add_argument("--version", action="version", version=f"nesy {__version__}")
    commands = Commands(parser)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        group = getattr(args, "_group_parser", None)
        (group or parser).print_help(sys.stderr)
        return 2
    errors = user_error_types()
    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        print("nesy: interrupted", file=sys.stderr)
        return 130
    except errors as exc:  # type: ignore[misc]
        print(f"nesy: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
