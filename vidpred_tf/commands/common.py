"""What the subcommands share: the usage-error exit code and one-line error reporting."""

from __future__ import annotations

import argparse
import pathlib

# Re-exported: the subcommands import TensorFlow through these.
from vidpred_tf.quiet import import_tensorflow_quietly, quiet_tensorflow, start_up_noise_filtered  # noqa: F401

from vidpred_tf.errors import USAGE_ERROR, report  # noqa: F401


def repo_root() -> pathlib.Path:
    """The source checkout the package runs from (scripts/ and flags/ live there, not in the package)."""
    return pathlib.Path(__file__).resolve().parent.parent.parent


def report_error(prog: str, message: str, code: int = USAGE_ERROR) -> int:
    """Print ``prog: error: message`` to stderr and return ``code`` (the exit status)."""
    return report(prog, message, code)


def output_dir_problem(path) -> "str | None":
    """Why ``--output_dir path`` cannot take outputs (it is a file, or lies under one), else ``None``; checked
    before the slow work so that the run does not fail at its very end."""
    path = pathlib.Path(path)
    for place in (path, *path.parents):
        if place.exists():
            return None if place.is_dir() else f"--output_dir {path}: {place} is a file, not a directory"
    return None


class Parser(argparse.ArgumentParser):
    """argparse with the subcommand's full name as ``prog`` and exit code 2 for usage errors (argparse's own)."""

    def __init__(self, prog: str, description: str, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(prog=prog, description=description, **kwargs)
