"""Command-line helpers shared by the paper scripts."""

from __future__ import annotations

import argparse
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

    A bad flag value ends the program with one line, ``PROG: error: MESSAGE (see PROG --help)``, and exit status
    2, the package's usage error (absl's own parser prints ``FATAL Flags parsing error`` and exits with 1).
    """
    from vidpred_tf.errors import USAGE_ERROR, report

    try:
        return flags.FLAGS(rewrite_spaced_booleans(list(argv)))
    except flags.Error as error:
        prog = os.path.basename(argv[0]) if argv else "vidpred"
        sys.exit(report(prog, f"{error} (see {prog} --help)", USAGE_ERROR))


def _fault_types() -> tuple:
    """The faults of a run that end it in one line without being the user's input: diverged numbers and damaged
    checkpoints. Only looked up once TensorFlow is loaded (nothing raises them before)."""
    if "tensorflow" not in sys.modules:
        return ()
    from vidpred_tf.training import TRAINING_FAULTS

    return tuple(TRAINING_FAULTS)


def _user_error_types() -> tuple:
    """Errors that are the user's input even where they do not derive from ``InputError``: a damaged data file."""
    if "tensorflow" not in sys.modules:
        return ()
    from vidpred_tf.data.tfrecord import CorruptRecordError

    return (CorruptRecordError,)


def one_line_errors(main: Callable, prog: Optional[str] = None) -> Callable:
    """Wrap an absl ``main`` so that what is not a bug ends the program in one line on stderr, ``PROG: error:
    MESSAGE``, with no traceback (the package's one handler; the ``vidpred`` commands use the same messages):

    * ``app.UsageError`` (a bad flag value found by ``main``): the message with a pointer to ``--help``, instead of
      absl's ~140 lines of flag help printed before it; exit status 2;
    * bad input (:func:`vidpred_tf.errors.user_error_message`: ``InputError``, a missing file, a full disk) and a
      damaged data file (``CorruptRecordError``): exit status 2;
    * the training faults (``vidpred_tf.training.TRAINING_FAULTS``: non-finite weights or losses, damaged
      checkpoints): exit status 1.
    Anything else is a bug and keeps its traceback.
    """
    from vidpred_tf.errors import USAGE_ERROR, report, user_error_message

    @functools.wraps(main)
    def wrapped(argv):
        name = prog or os.path.basename(argv[0] if argv else sys.argv[0])
        try:
            return main(argv)
        except app.UsageError as error:
            sys.exit(report(name, f"{error} (see {name} --help)", USAGE_ERROR))
        except Exception as error:  # noqa: BLE001 - re-raised unless it is reported
            message = user_error_message(error)
            if message is None and isinstance(error, _user_error_types()):
                message = str(error)
            if message is not None:
                sys.exit(report(name, message, USAGE_ERROR))
            if isinstance(error, _fault_types()):
                sys.exit(report(name, str(error), 1))
            raise

    return wrapped


def run(main: Callable, prog: Optional[str] = None, argv: Optional[Sequence[str]] = None,
        flags_parser: Callable = parse_flags) -> None:
    """``absl.app.run(main)`` for the package's scripts: the originals' spaced booleans (:func:`parse_flags`) and
    one-line errors (:func:`one_line_errors`). ``prog`` defaults to the script's file name, ``argv`` to
    ``sys.argv``."""
    app.run(one_line_errors(main, prog), argv=None if argv is None else list(argv), flags_parser=flags_parser)


class Parser(argparse.ArgumentParser):
    """argparse with the subcommand's full name as ``prog`` and exit code 2 for usage errors (argparse's own)."""

    def __init__(self, prog: str, description: str, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(prog=prog, description=description, **kwargs)
