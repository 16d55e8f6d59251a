"""What the subcommands share: the usage-error exit code and one-line error reporting."""

from __future__ import annotations

import argparse
import os
import pathlib
import sys

USAGE_ERROR = 2


def repo_root() -> pathlib.Path:
    """The source checkout the package runs from (scripts/ and flags/ live there, not in the package)."""
    return pathlib.Path(__file__).resolve().parent.parent.parent


def report_error(prog: str, message: str, code: int = USAGE_ERROR) -> int:
    """Print ``prog: error: message`` to stderr and return ``code`` (the exit status)."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def quiet_tensorflow() -> None:
    """Hide TensorFlow's C++ INFO lines, which would bury the command's own output (before TF is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class Parser(argparse.ArgumentParser):
    """argparse with the subcommand's full name as ``prog`` and exit code 2 for usage errors (argparse's own)."""

    def __init__(self, prog: str, description: str, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(prog=prog, description=description, **kwargs)
