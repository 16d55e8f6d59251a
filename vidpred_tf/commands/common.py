"""What the subcommands share: the usage-error exit code and one-line error reporting."""

from __future__ import annotations

import inspect
import pathlib
import sys
from typing import Callable, Sequence

from vidpred_tf.errors import USAGE_ERROR, report  # noqa: F401

# Re-exported: the subcommands import TensorFlow through these.
from vidpred_tf.quiet import import_tensorflow_quietly, quiet_tensorflow, start_up_noise_filtered  # noqa: F401


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


def run_absl_main(main: Callable, argv: Sequence[str], prog: str) -> int:
    """Run the absl ``main`` of a paper's entry point in this process, with ``argv`` (no program name) parsed by
    the flags its module defines, the originals' spaced booleans accepted and one-line errors
    (:func:`vidpred_tf.cli.run`). ``--help`` shows that module's docstring and flags (absl alone would show
    those of ``__main__``, the dispatcher)."""
    from absl import flags

    from vidpred_tf import cli

    module = inspect.getmodule(main)
    if any(arg in ("-h", "--help", "--helpshort", "--helpfull") for arg in argv):
        print(f"usage: {prog} [--flag=value ...]\n\n{(module.__doc__ or '').strip()}\n\nflags:")
        print(flags.FLAGS.module_help(module))
        return 0

    def parse(args):
        remaining = cli.parse_flags(args)
        import_tensorflow_quietly()  # after the flags parsed: a usage error comes at once
        return remaining

    try:
        cli.run(main, prog=prog, argv=[prog, *argv], flags_parser=parse)
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    return 0
