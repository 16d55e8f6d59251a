"""Command-line helpers shared by the paper scripts."""

from __future__ import annotations

import functools
import os
import sys
from typing import Callable, List, Optional, Sequence

from absl import app, flags

_BOOLEAN_WORDS = ("true", "false", "t", "f", "1", "0")


def rewrite_spaced_booleans(argv: Sequence[str], flag_values: flags.FlagValues = flags.FLAGS) -> List[str]:
    """``--bool_flag True`` -> ``--bool_flag=True`` for the boolean flags of ``flag_values``.

    The original TF1 scripts pass booleans as two words (``--layer_norm True``); absl reads ``--layer_norm``
    alone as True and leaves the word behind as a positional argument, so ``--flag False`` silently meant True.
    Reading the pair as one assignment is what the scripts' authors meant.
    """
    rewritten, index = [argv[0]] if argv else [], 1
    while index < len(argv):
        arg = argv[index]
        name = arg[2:] if arg.startswith("--") and "=" not in arg else None
        if (name and name in flag_values and flag_values[name].boolean and index + 1 < len(argv)
                and argv[index + 1].lower() in _BOOLEAN_WORDS):
            rewritten.append(f"--{name}={argv[index + 1]}")
            index += 2
            continue
        rewritten.append(arg)
        index += 1
    return rewritten


def parse_flags(argv: Sequence[str]) -> List[str]:
    """``flags_parser`` for ``absl.app.run`` that accepts the originals' spaced booleans.

    A bad flag value ends the program with absl's one-line message (``FATAL Flags parsing error: ...``), not a
    traceback, as absl's own parser does.
    """
    try:
        return flags.FLAGS(rewrite_spaced_booleans(list(argv)))
    except flags.Error as error:
        sys.stderr.write(f"FATAL Flags parsing error: {error}\nPass --helpshort or --helpfull to see help on flags.\n")
        sys.exit(1)


def _fault_types() -> tuple:
    """The errors a run reports in one line: faults of training (diverged numbers, damaged checkpoints), damaged
    data files and bad input. Only looked up once TensorFlow is loaded (nothing raises them before)."""
    if "tensorflow" not in sys.modules:
        return ()
    from vidpred_tf.data.tfrecord import CorruptRecordError
    from vidpred_tf.inference import InputError
    from vidpred_tf.training import TRAINING_FAULTS

    return (*TRAINING_FAULTS, CorruptRecordError, InputError)


def one_line_errors(main: Callable, prog: Optional[str] = None) -> Callable:
    """Wrap an absl ``main`` so that its errors end the program in one line on stderr, ``PROG: error: MESSAGE``:

    * ``app.UsageError`` (a bad flag value found by ``main``): the message with a pointer to ``--help``, instead of
      absl's ~140 lines of flag help printed before it; exit code 1 (the error's ``exitcode``);
    * the training faults (``vidpred_tf.training.TRAINING_FAULTS``: non-finite weights or losses, damaged
      checkpoints), a damaged TFRecord file (``CorruptRecordError``) and bad input (``InputError``): the message
      alone, no traceback; exit code 1.
    """
    @functools.wraps(main)
    def wrapped(argv):
        name = prog or os.path.basename(argv[0] if argv else sys.argv[0])
        try:
            return main(argv)
        except app.UsageError as error:
            sys.stderr.write(f"{name}: error: {_one_line(error)} (see {name} --help)\n")
            sys.stderr.flush()
            sys.exit(error.exitcode or 1)
        except Exception as error:  # noqa: BLE001 - re-raised unless it is a reported fault
            if isinstance(error, _fault_types()):
                sys.stdout.flush()
                sys.stderr.write(f"{name}: error: {_one_line(error)}\n")
                sys.stderr.flush()
                sys.exit(1)
            raise

    return wrapped


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def run_script(main: Callable, prog: Optional[str] = None) -> None:
    """``absl.app.run`` of a paper script: the originals' spaced booleans (``parse_flags``) and one-line errors
    (``one_line_errors``)."""
    app.run(one_line_errors(main, prog), flags_parser=parse_flags)
