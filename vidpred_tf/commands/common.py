"""What the subcommands share: the usage-error exit code and one-line error reporting."""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import re
import sys
import tempfile

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


# Lines TensorFlow's C++ side prints on a machine without a GPU driver while it is imported and looks for GPUs.
# They come from absl logging before it is initialised, so TF_CPP_MIN_LOG_LEVEL does not reach them.
START_UP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|cudart_stub\.cc:\d+\] Could not find cuda drivers"
    r"|cuda_platform\.cc:\d+\] failed call to cuInit"
    r"|cuda_executor\.cc:\d+\] .*(?:NUMA|kernel driver)")


@contextlib.contextmanager
def start_up_noise_filtered():
    """Within the block, what is written to file descriptor 2 (C++ included) is held back; afterwards every line
    but :data:`START_UP_NOISE` goes to stderr, in order."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = [line for line in held.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if not START_UP_NOISE.search(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and let it look for GPUs (where the driver messages come from) with the start-up noise
    of a machine without CUDA kept off the terminal; a no-op when TensorFlow is already imported."""
    quiet_tensorflow()
    if "tensorflow" in sys.modules:
        return
    with start_up_noise_filtered():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")


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
