"""Import TensorFlow without its C++ start-up lines reaching the user.

On import TensorFlow's C++ side writes lines such as ``port.cc:153] oneDNN custom operations are on ...`` (on
CPUs where oneDNN is on by default), ``cpu_feature_guard.cc] This TensorFlow binary is optimized ...`` and, on a
machine without a CUDA driver, ``cudart_stub.cc] Could not find cuda drivers`` / ``failed call to cuInit``.
They come from absl logging before it is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does not reach all of them,
and which of them appear depends on the host. Every entry point (``vidpred``, the demo, the golden command, the
paper scripts) imports TensorFlow through :func:`import_tensorflow_quietly` before anything else, so a user sees
the same output on every machine. Only the start-up lines are dropped; everything else written meanwhile is kept.

This module imports nothing heavy: the commands use it before deciding whether TensorFlow is needed at all.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

# The C++ log prefix: severity letter, MMDD, time, thread id, file:line].
_CPP_LOG = r"^[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-]+:\d+\] "
START_UP_NOISE = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    # Every INFO line written while TensorFlow loads is start-up chatter (oneDNN, CPU features, CUDA lookup).
    + r"|" + _CPP_LOG.replace("[IWE]", "I")
    # The second line of cpu_feature_guard's message has no log prefix.
    + r"|^To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags"
    # The warnings and errors of the GPU lookup on a machine without a CUDA driver.
    + r"|" + _CPP_LOG + r"(?:.*Could not find cuda drivers|.*failed call to cuInit|.*(?:NUMA|kernel driver))")


def quiet_tensorflow() -> None:
    """Hide TensorFlow's C++ INFO lines, which would bury a command's own output (call before importing TF)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
    """Import TensorFlow and let it look for GPUs (where the driver messages come from) with the start-up lines
    kept off the terminal; a no-op when TensorFlow is already imported."""
    quiet_tensorflow()
    if "tensorflow" in sys.modules:
        return
    with start_up_noise_filtered():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
