"""Errors of the CLI layer itself."""


class UsageError(Exception):
    """A command-line argument that makes no sense; printed to the user without a traceback."""
