"""nesy: the command line and shared entry points over provers/, retrieval/, synthesis/, logic/."""

__version__ = "0.1.0"
