"""The ``nesy`` subcommands, one module per area (see :mod:`nesy.cli`). Only argparse and the
glue from arguments to library calls lives here; the work is done by the packages."""
